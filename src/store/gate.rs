//! The gate readers and writers of a store meet at, and what closes it: a write that failed
//! part-way (the store is reopened from disk, where that write never was or whole) or damage
//! found while it was open. Readers see a write whole or not at all.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::{MappedRwLockReadGuard, RwLockReadGuard, RwLockWriteGuard};

use super::{Store, StoreError, Trees, health, write};

/// How soon a closed store is tried again after a failed reopen.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// The room a store needs on its disk to be reopened after a failed write.
const REOPEN_ROOM: u64 = 4 * 1024 * 1024;

/// sled writes a change more than once (its log, then its pages rewritten), and keeps old
/// versions until it reclaims them: a write is counted at this many times its own size.
const WRITE_OVERHEAD: u64 = 4;

/// The gate's state: open, or closed after a failed write. (Damage closes the store through
/// `Store::damage`, which a reader holding the gate can set.)
pub(super) enum State {
    Open(Box<Trees>),
    /// The last write failed part-way (the disk is full): nothing is served until the store
    /// is reopened from disk, which `recover` tries again and again.
    Failed {
        reason: String,
        tried: Instant,
        /// Why the last try to reopen it failed, if one did.
        reopening: Option<String>,
    },
}

thread_local! {
    /// How many read guards this thread holds.
    static READING: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// The gate held for reading (see `Store::read`).
pub(super) struct ReadGuard<'a>(MappedRwLockReadGuard<'a, Trees>);

impl std::ops::Deref for ReadGuard<'_> {
    type Target = Trees;
    fn deref(&self) -> &Trees {
        &self.0
    }
}

impl Drop for ReadGuard<'_> {
    fn drop(&mut self) {
        READING.with(|r| r.set(r.get().saturating_sub(1)));
    }
}

/// An iterator that holds the gate open for reading while it lives.
pub(super) struct Guarded<'a, I> {
    pub(super) _gate: ReadGuard<'a>,
    pub(super) it: I,
}

impl<I: Iterator> Iterator for Guarded<'_, I> {
    type Item = I::Item;
    fn next(&mut self) -> Option<I::Item> {
        self.it.next()
    }
}

impl Store {
    /// The trees, for reading. Readers wait for a writer to finish, so they see its write
    /// whole or not at all. A thread's first read also waits behind a writer that is waiting
    /// (so a stream of reads cannot starve writers); a read nested in one the thread already
    /// holds (a scan that looks leads up as it goes) does not, or the two would deadlock.
    pub(super) fn read(&self) -> Result<ReadGuard<'_>, StoreError> {
        self.refuse_if_damaged()?;
        self.recover_if_due();
        let nested = READING.with(|r| r.get() > 0);
        let guard = if nested {
            self.state.read_recursive()
        } else {
            self.state.read()
        };
        match &*guard {
            State::Open(_) => {
                READING.with(|r| r.set(r.get() + 1));
                Ok(ReadGuard(RwLockReadGuard::map(guard, |s| match s {
                    State::Open(t) => &**t,
                    _ => unreachable!("checked above"),
                })))
            }
            other => Err(self.closed_error(other)),
        }
    }

    /// The trees, for writing: every reader waits until the write is applied and flushed.
    pub(super) fn write(&self) -> Result<RwLockWriteGuard<'_, State>, StoreError> {
        self.refuse_if_damaged()?;
        self.recover_if_due();
        let guard = self.state.write();
        match &*guard {
            State::Open(_) => Ok(guard),
            other => Err(self.closed_error(other)),
        }
    }

    /// A read error that means the store's files are damaged (sled's "corrupted data", a
    /// record that does not decode) closes the store and is said as a damage: a store that is
    /// not what leadq wrote is not served, not even the parts that still read.
    pub(super) fn seen<T>(&self, r: Result<T, StoreError>) -> Result<T, StoreError> {
        match r {
            Err(
                e @ (StoreError::Sled(sled::Error::Corruption { .. }) | StoreError::Corrupt { .. }),
            ) => {
                let what = format!("part of it cannot be read ({})", health::plain(&e));
                self.mark_damaged(what.clone());
                Err(health::damaged(&self.path, what))
            }
            other => other,
        }
    }

    fn closed_error(&self, state: &State) -> StoreError {
        match state {
            State::Failed {
                reason, reopening, ..
            } => StoreError::Unavailable {
                path: self.path.clone(),
                reason: match reopening {
                    Some(e) => format!("{reason}; reopening it failed too ({e})"),
                    None => reason.clone(),
                },
            },
            State::Open(_) => unreachable!("an open store is not closed"),
        }
    }

    /// Runs a write with the gate held. An error once the write began to change sled (a full
    /// disk, an I/O error) closes the store: what the failed write left in memory must not be
    /// served, and sled refuses every later write after an I/O error anyway. The store is then
    /// reopened from disk at once, or on a later request once that can succeed.
    pub(super) fn writing<T>(
        &self,
        bytes: u64,
        apply: impl FnOnce(&mut Trees, &AtomicU64) -> Result<T, write::Failure>,
    ) -> Result<T, StoreError> {
        self.room_for(bytes)?;
        let mut guard = self.write()?;
        let State::Open(trees) = &mut *guard else {
            unreachable!("write() checked the store is open")
        };
        let before = trees.counts.generation;
        match apply(trees, &self.next_id) {
            Ok(v) => {
                drop(guard);
                self.write_seal();
                Ok(v)
            }
            Err(write::Failure::Before(e)) => Err(e),
            Err(write::Failure::During(e)) => {
                let reason = health::failure_reason(&self.path, &e);
                // Dropping the trees closes sled, so that it can be opened again from disk.
                *guard = State::Failed {
                    reason: reason.clone(),
                    tried: Instant::now(),
                    reopening: None,
                };
                drop(guard);
                self.recover();
                // Reopened from disk, the store says whether the write got there before the
                // failure: said as it is, so that nobody repeats a saved call.
                let saved = match &*self.state.read_recursive() {
                    State::Open(t) => Some(t.counts.generation > before),
                    _ => None,
                };
                Err(StoreError::WriteFailed {
                    path: self.path.clone(),
                    reason,
                    saved,
                })
            }
        }
    }

    /// Refuses a write of about `bytes` before it starts when the store's disk lacks the room
    /// for it and the reserve (`min_free`): sled must never meet a full disk half-way through
    /// a write, which leaves its log in pieces. The store stays open and readable.
    fn room_for(&self, bytes: u64) -> Result<(), StoreError> {
        if self.temporary {
            return Ok(());
        }
        let need = bytes
            .saturating_mul(WRITE_OVERHEAD)
            .saturating_add(self.min_free.load(Ordering::Relaxed));
        match health::free_space(&self.path) {
            Some(free) if free < need => Err(StoreError::DiskFull {
                path: self.path.clone(),
                free,
                need,
            }),
            _ => Ok(()),
        }
    }

    /// Keeps `bytes` free on the store's disk: a write that would leave less is refused
    /// before it starts (`config.toml`'s `min_free_mb`).
    pub fn set_min_free(&self, bytes: u64) {
        self.min_free.store(bytes, Ordering::Relaxed);
    }

    /// Tries to reopen a store closed by a failed write, if the last try is old enough.
    fn recover_if_due(&self) {
        let due = matches!(&*self.state.read_recursive(),
            State::Failed { tried, .. } if tried.elapsed() >= RETRY_AFTER);
        if due {
            self.recover();
        }
    }

    /// Reopens a store closed by a failed write: sled replays its log up to the last flush,
    /// and an import's journal takes back what of it landed. On success the store is open
    /// again as it was before the failed write; else it stays closed, to be tried again.
    pub fn recover(&self) {
        if self.temporary {
            return;
        }
        let mut guard = self.state.write();
        if !matches!(&*guard, State::Failed { .. }) {
            return;
        }
        // sled writes as it opens (a snapshot of its page table): on a disk still full that
        // would break the files the failed write left whole. Wait for room.
        if health::free_space(&self.path).is_some_and(|f| f < REOPEN_ROOM) {
            if let State::Failed { tried, .. } = &mut *guard {
                *tried = Instant::now();
            }
            return;
        }
        let opened = health::Seal::open(&self.path)
            .map_err(StoreError::from)
            .and_then(|s| Self::open_trees(&self.path, self.cache_bytes, &s, &self.dirty));
        match opened {
            Ok(trees) => {
                if let Ok(next) = trees.next_id() {
                    self.next_id.fetch_max(next, Ordering::SeqCst);
                }
                *guard = State::Open(Box::new(trees));
                drop(guard);
                self.write_seal();
            }
            Err(StoreError::Damaged { what, .. }) => self.mark_damaged(what),
            Err(e) => {
                if let State::Failed {
                    tried, reopening, ..
                } = &mut *guard
                {
                    *tried = Instant::now();
                    *reopening = Some(e.to_string());
                }
            }
        }
    }

    /// Closes the store for good: it was found not to be what leadq wrote (a check after
    /// opening, a read). Every later request is refused with `what`. Takes no gate: a reader
    /// holding it may be the one that found the damage.
    pub fn mark_damaged(&self, what: String) {
        self.damage.lock().get_or_insert(what);
    }

    fn refuse_if_damaged(&self) -> Result<(), StoreError> {
        match &*self.damage.lock() {
            Some(what) => Err(health::damaged(&self.path, what.clone())),
            None => Ok(()),
        }
    }

    /// Records what leadq last wrote and flushed in the seal file (a write of a few bytes, not
    /// flushed: it only ever lags the store, which the open check accepts).
    pub(super) fn write_seal(&self) {
        let Some(seal) = &self.seal else { return };
        let counts = match &*self.state.read_recursive() {
            State::Open(t) => *t.durable.lock(),
            _ => return,
        };
        seal.lock().record(counts);
    }
}
