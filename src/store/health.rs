//! Knowing that a store is what leadq wrote. The meta tree keeps a generation (one per commit)
//! and the counts, changed in the same write as what they count; the seal file beside sled's
//! files (`leadq.seal`) keeps the generation and counts leadq last committed. On open, a store
//! whose generation is behind its seal, whose records are gone while its meta says otherwise,
//! or that sled cannot read, is refused with what is wrong and how to recover. `verify`
//! recounts everything (doctor, and the server once it has started).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{StoreError, Trees, codec, keys};

const META_COUNTS: &[u8] = b"counts";
const SEAL_FILE: &str = "leadq.seal";
pub(super) const SEAL_FILE_NAME: &str = SEAL_FILE;
const SEAL_MAGIC: &[u8; 8] = b"LEADQSL1";
const SEAL_LEN: usize = 8 + 3 * 8 + 8;

/// The generation (commits so far) and what the store holds, as of the last commit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub generation: u64,
    pub leads: u64,
    pub interactions: u64,
}

impl Counts {
    fn encode(self) -> [u8; 24] {
        let mut out = [0u8; 24];
        out[..8].copy_from_slice(&self.generation.to_be_bytes());
        out[8..16].copy_from_slice(&self.leads.to_be_bytes());
        out[16..].copy_from_slice(&self.interactions.to_be_bytes());
        out
    }

    fn decode(bytes: &[u8]) -> Option<Counts> {
        let n = |i: usize| Some(u64::from_be_bytes(bytes.get(i..i + 8)?.try_into().ok()?));
        Some(Counts {
            generation: n(0)?,
            leads: n(8)?,
            interactions: n(16)?,
        })
    }

    /// The meta entry that keeps these counts.
    pub(super) fn meta_entry(self) -> (&'static [u8], [u8; 24]) {
        (META_COUNTS, self.encode())
    }
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// The seal file: what leadq last committed, kept outside sled so that a sled file rolled
/// back or emptied by damage cannot take it along.
pub(super) struct Seal {
    file: File,
    last: Option<Counts>,
}

impl Seal {
    pub fn open(store: &Path) -> std::io::Result<Seal> {
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(store.join(SEAL_FILE))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        let last = (bytes.len() == SEAL_LEN
            && &bytes[..8] == SEAL_MAGIC
            && fnv(&bytes[..SEAL_LEN - 8]).to_be_bytes() == bytes[SEAL_LEN - 8..])
            .then(|| Counts::decode(&bytes[8..]))
            .flatten();
        Ok(Seal { file, last })
    }

    pub fn last(&self) -> Option<Counts> {
        self.last
    }

    /// Overwrites the seal in place: a few bytes, no new block, so even a full disk takes it.
    /// Not flushed: after a power cut it may lag the store (accepted), never lead it.
    pub fn record(&mut self, counts: Counts) {
        if self.last == Some(counts) {
            return;
        }
        let mut bytes = Vec::with_capacity(SEAL_LEN);
        bytes.extend_from_slice(SEAL_MAGIC);
        bytes.extend_from_slice(&counts.encode());
        bytes.extend_from_slice(&fnv(&bytes).to_be_bytes());
        let written = self
            .file
            .seek(SeekFrom::Start(0))
            .and_then(|_| self.file.write_all(&bytes));
        if written.is_ok() {
            self.last = Some(counts);
        }
    }
}

/// A damage found on open, in the store error callers see.
pub(super) fn damaged(path: &Path, what: String) -> StoreError {
    StoreError::Damaged {
        path: path.to_path_buf(),
        what,
        snapshot: super::backup::newest_snapshot(path),
    }
}

/// An error opening sled's files or reading its trees on open: sled's "corrupted data" means
/// its files are damaged.
pub(super) fn damaged_on_open(path: &Path, e: StoreError) -> StoreError {
    match e {
        StoreError::Sled(sled::Error::Corruption { .. }) | StoreError::Corrupt { .. } => {
            damaged(path, format!("its files cannot be read ({})", plain(&e)))
        }
        other => other,
    }
}

/// sled's message without its empty backtrace.
pub(super) fn plain(e: &StoreError) -> String {
    let s = match e {
        StoreError::Sled(inner) => inner.to_string(),
        other => other.to_string(),
    };
    s.split(" backtrace")
        .next()
        .unwrap_or(&s)
        .trim()
        .to_string()
}

/// Why a write failed part-way, for people: a full disk is named as such, with where.
pub(super) fn failure_reason(path: &Path, e: &StoreError) -> String {
    if is_disk_full(e) {
        format!(
            "the disk holding {} is full (no space left on device); free some space and leadq \
             reopens the store by itself, as it is on disk",
            path.display()
        )
    } else {
        format!("a write to {} failed ({})", path.display(), plain(e))
    }
}

fn is_disk_full(e: &StoreError) -> bool {
    let io = match e {
        StoreError::Sled(sled::Error::Io(io)) => io,
        StoreError::Open { error, .. } | StoreError::File { error, .. } => error,
        _ => return false,
    };
    // ENOSPC, and EDQUOT (a quota is as full as a disk).
    io.kind() == std::io::ErrorKind::StorageFull || matches!(io.raw_os_error(), Some(28 | 122))
}

/// The free space on the disk holding `path`.
pub fn free_space(path: &Path) -> Option<u64> {
    let st = nix::sys::statvfs::statvfs(path).ok()?;
    Some(st.blocks_available() as u64 * st.fragment_size() as u64)
}

/// A problem `verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem(pub String);

const COUNTS_DIFFER: &str = "its meta data counts";

impl Problem {
    /// Whether this is only the kept counts differing from a recount: what writes during a
    /// pass also cause, unlike a missing index entry.
    pub fn counts_only(&self) -> bool {
        self.0.starts_with(COUNTS_DIFFER)
    }

    /// Whether this is derived data (kept counts, the index of coming changes) differing from
    /// the leads: `Store::recount` rebuilds it, nothing the leads hold is lost.
    pub fn rebuildable(&self) -> bool {
        self.0.starts_with(super::derived::DERIVED)
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Trees {
    /// The counts the meta tree keeps (None: a store from before schema 3, or a new one).
    pub(super) fn stored_counts(&self) -> Result<Option<Counts>, StoreError> {
        Ok(self.meta.get(META_COUNTS)?.and_then(|v| Counts::decode(&v)))
    }

    /// The checks every open makes, each a lookup or two (no scan): the store must hold at
    /// least every commit the seal says leadq made, and records where its meta says there are
    /// some.
    pub(super) fn check_on_open(
        &mut self,
        path: &Path,
        seal: Option<Counts>,
    ) -> Result<(), StoreError> {
        let stored = self.stored_counts()?;
        let schema = self.schema()?;
        let has_leads = !self.leads.is_empty();
        let said = |c: Counts| {
            format!(
                "leadq last wrote change {} with {} leads and {} interactions",
                c.generation, c.leads, c.interactions
            )
        };
        if let Some(seal) = seal.filter(|s| s.generation > 0) {
            match stored {
                None if schema.is_none() => {
                    return Err(damaged(
                        path,
                        format!("its records are gone, though {}", said(seal)),
                    ));
                }
                Some(c) if c.generation < seal.generation => {
                    return Err(damaged(
                        path,
                        format!(
                            "it holds change {} with {} leads, but {}: writes leadq confirmed \
                             are missing",
                            c.generation,
                            c.leads,
                            said(seal)
                        ),
                    ));
                }
                _ => {}
            }
        }
        if schema.is_none() && (has_leads || !self.timeline.is_empty()) {
            return Err(damaged(
                path,
                "it has leads but no schema record: its meta data is gone".into(),
            ));
        }
        if let Some(c) = stored {
            if c.leads > 0 && !has_leads {
                return Err(damaged(
                    path,
                    format!("its meta data counts {} leads but none are there", c.leads),
                ));
            }
            if c.leads == 0 && has_leads {
                return Err(damaged(
                    path,
                    "it has leads its meta data does not count".into(),
                ));
            }
            if has_leads && self.by_rank.is_empty() {
                return Err(damaged(path, "its queue index is gone".into()));
            }
            self.counts = c;
        }
        Ok(())
    }

    /// Counts every lead and interaction, as a migration to schema 3 does once.
    pub(super) fn recount(&self) -> Result<(u64, u64), StoreError> {
        let leads = self.leads.len() as u64;
        let mut interactions = 0u64;
        for chunk in self.timeline.iter().values() {
            interactions += super::timeline::chunk_len(&chunk?)? as u64;
        }
        Ok((leads, interactions))
    }

    /// Recounts everything and checks every index against the leads.
    pub(super) fn verify(&self) -> Result<Vec<Problem>, StoreError> {
        let mut problems = Vec::new();
        let mut say = |s: String| problems.push(Problem(s));
        let mut leads = 0u64;
        let mut followups = 0u64;
        for item in self.leads.iter() {
            let (k, v) = item?;
            leads += 1;
            let lead = match codec::decode_lead(&v) {
                Ok(l) => l,
                Err(e) => {
                    say(format!("lead key {k:?} cannot be read: {e}"));
                    continue;
                }
            };
            if keys::read_id(&k) != Some(lead.id) {
                say(format!("lead #{} is filed under another id", lead.id));
            }
            if let Some(at) = lead.next_action {
                followups += 1;
                if !self.by_followup.contains_key(keys::followup(at, lead.id))? {
                    say(format!(
                        "lead #{}'s follow-up is missing from its index",
                        lead.id
                    ));
                }
            }
        }
        if self.by_followup.len() as u64 != followups {
            say(format!(
                "the follow-up index has {} entries for {followups} follow-ups",
                self.by_followup.len()
            ));
        }
        for p in self.verify_derived()? {
            say(p);
        }
        let (_, interactions) = self.recount()?;
        let c = self.counts;
        if (c.leads, c.interactions) != (leads, interactions) {
            say(format!(
                "{COUNTS_DIFFER} {} leads and {} interactions; there are {leads} and \
                 {interactions}",
                c.leads, c.interactions
            ));
        }
        Ok(problems)
    }
}

/// Where the seal of a store lives (for tests that damage or remove it).
pub fn seal_path(store: &Path) -> PathBuf {
    store.join(SEAL_FILE)
}
