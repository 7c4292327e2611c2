//! sled + bincode behind typed methods. The only module that names sled or bincode.
//!
//! Two promises shape this module. Nothing acknowledged is lost: every commit is flushed
//! before it returns, and a store that is not what leadq last wrote (damaged bytes, a
//! rolled-back file) is refused on open rather than served (`health`). Nothing that failed is
//! seen: readers and writers meet at one gate, a writer holding it while its write is applied
//! and flushed, so a reader sees a write whole or not at all; a write that fails half-way
//! (a full disk) closes the store until it is reopened from disk, where the failed write
//! never was (`Store::recover`).

mod backup;
mod bulk;
mod codec;
mod derived;
mod error;
mod gate;
mod health;
pub mod keys;
mod migrate;
mod ops;
mod page;
mod remembered;
mod reports;
mod rescore;
mod timeline;
mod write;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use gate::{Guarded, State};
use parking_lot::{Mutex, RwLock};
use sled::Tree;

pub use backup::{BackupTarget, SNAPSHOT_DIR, newest_snapshot, snapshots};
pub use bulk::CHUNK_LEADS;
pub use codec::{INTERACTION_FORMAT, LEAD_FORMAT};
pub use error::StoreError;
pub use health::{Counts, Problem};
pub use health::{free_space, seal_path};
pub use page::{Page, Place, ViewSpec, Window, standing};
pub use remembered::Remembered;
pub use timeline::{CHUNK_ENTRIES, TIMELINE_FORMAT};

use crate::domain::lead::DedupeKeys;
use crate::domain::model::Model;
use crate::domain::{Interaction, Lead, LeadId, Millis};

/// The schema this leadq writes. A store with a higher one is refused; a lower one is migrated
/// on open (after an automatic snapshot). 2: rank keys carry the queue's tie-break (waiting
/// since), see `keys::rank`, and timelines are stored in chunks (`timeline`). 3: the meta tree
/// keeps a generation and the counts, changed in the same write as what they count. 4: rank
/// keys order ties of one score by fit (the learned chance, when a model is active). 5: kept
/// counts by tally and an index of the moments leads change with time alone (`derived`). 6: the
/// tallies count follow-ups by local day, the index keeps when a waiting lead stops waiting.
/// 7: the queue index files leads by class and exact score, with their tally. 8: waits have
/// an index of their own (`derived`). 9: the index of coming changes holds when an open lead
/// goes stale (today's queue takes a hot one in then). 10: the kept counts say which open leads
/// are stale or never touched, so that today's queue is counted from them.
pub const SCHEMA_VERSION: u32 = 15;

/// sled's page cache, bounded: its default of 1 GiB would let every client on a shared server
/// grow to a gigabyte.
pub const DEFAULT_CACHE_BYTES: u64 = 64 * 1024 * 1024;

const META_SCHEMA: &[u8] = b"schema";
/// Set by an erase: the store files still hold old versions of what was erased until the
/// store is rewritten.
pub(crate) const META_REWRITE_DUE: &[u8] = b"rewrite_due";
const META_NEXT_ID: &[u8] = b"next_lead_id";
const META_RULES: &[u8] = b"rules";
/// The learned model: the last one trained, used or not.
const META_MODEL: &[u8] = b"model";
/// The next timeline sequence number: kept by leadq (not sled's id generator, which starts
/// again in a store rebuilt from a backup), so every entry appended later has a greater one.
const META_NEXT_SEQ: &[u8] = b"next_seq";
/// Who is away and where each routing rule's rotation stands (`domain::routing::State`).
const META_ROUTING: &[u8] = b"routing";

/// Keep this much free on a store's disk by default.
pub const DEFAULT_MIN_FREE: u64 = 32 * 1024 * 1024;

/// About how many bytes `writes` put on disk: their leads and interactions encoded.
fn size_of(writes: &[LeadWrite]) -> u64 {
    writes
        .iter()
        .map(|w| 512 + 160 * w.append.len() as u64 + w.after.attributes.len() as u64 * 64)
        .sum::<u64>()
        + 4096
}

/// The trees of an open store, and what the store knows of itself. A clone shares the trees
/// (sled's handles are shared) and copies the counts.
#[derive(Clone)]
pub(crate) struct Trees {
    db: sled::Db,
    meta: Tree,
    leads: Tree,
    timeline: Tree,
    by_email: Tree,
    by_phone: Tree,
    by_rank: Tree,
    by_followup: Tree,
    /// Derived data (`derived`): the kept counts by tally, and the index of coming changes.
    tallies: Tree,
    by_change: Tree,
    /// Each waiting lead under the moment it stops waiting.
    by_wait: Tree,
    /// Each web lead waiting for its first touch under when that touch is due.
    by_response: Tree,
    /// How many leads carry each tag.
    tags: Tree,
    /// The reports' sums (`reports`).
    reports: Tree,
    /// The queue index of each tag: its leads under their rank keys (`keys::tag_prefix`).
    by_tag: Tree,
    /// How many leads of each tag have each tally.
    tag_tallies: Tree,
    /// Pairs of leads a manager said are not one person (`leadq dupes --not`): (a, b), a < b,
    /// to who said so and when.
    not_dupes: Tree,
    /// Leads merged away: id to the id of the lead they joined.
    merged: Tree,
    /// Leads erased: id to who erased it and when (no personal data).
    erased: Tree,
    /// The kept counts as last committed (also in `tallies`).
    tally_counts: derived::TallyMap,
    /// The rules the index of coming changes is filed with (`Store::use_rules`).
    rules: Arc<crate::domain::Rules>,
    /// The default country code phones are filed with (`Store::use_country_code`), as the
    /// store's meta records it; None for a store from before it was recorded, whose phone
    /// index is then taken as written (the start-up check sees whether it holds).
    country_code: Option<String>,
    /// The generation and counts as last committed (also in `meta`).
    counts: Counts,
    /// The counts as of the last flush: what the seal may say leadq wrote. A write not yet
    /// flushed (a chunk of a rescore) is lost to a kill -9, and the seal must not claim it.
    durable: Arc<Mutex<Counts>>,
    /// While a snapshot is being copied: the keys changed meanwhile, by tree (`backup`).
    dirty: Arc<Mutex<Option<backup::Dirty>>>,
    /// The next timeline sequence number (`META_NEXT_SEQ`).
    seq: Arc<AtomicU64>,
}

pub struct Store {
    path: PathBuf,
    cache_bytes: u64,
    temporary: bool,
    state: RwLock<State>,
    next_id: AtomicU64,
    /// The seal file: what leadq last wrote, outside sled (none for a temporary store).
    seal: Option<Mutex<health::Seal>>,
    /// Damage found while the store was open (a check, a read): from then on nothing is
    /// served. A lock of its own, so that a reader holding the gate can record it.
    damage: Mutex<Option<String>>,
    /// Bytes to keep free on the store's disk (`room_for`).
    min_free: AtomicU64,
    /// Shared with the trees (and kept across a reopen): the keys changed during a snapshot.
    dirty: Arc<Mutex<Option<backup::Dirty>>>,
    /// One backup at a time.
    backup_lock: Mutex<()>,
}

/// One lead's part of a write: its new state, its state before (to move its index entries;
/// none for a new lead, which has no timeline yet), its dedupe keys and the interactions to
/// append to its timeline.
#[derive(Debug, Clone)]
pub struct LeadWrite {
    pub before: Option<Lead>,
    pub after: Lead,
    pub keys: DedupeKeys,
    /// Dedupe keys the lead no longer has (an edit, or its undo): each is dropped if it
    /// still names this lead and is not among `keys`.
    pub unkeys: DedupeKeys,
    /// The lead leaves the store (`before` is what it was; `after` is ignored): its record,
    /// index entries and derived data go, its timeline entries named in `remove` go too.
    pub gone: Option<Gone>,
    pub append: Vec<Interaction>,
    /// Timeline entries to take back (undo), by their key.
    pub remove: Vec<TimelineKey>,
}

/// Why a lead leaves the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gone {
    /// Joined into this lead (`merge`): its id keeps naming the survivor.
    MergedInto(LeadId),
    /// Erased on request (`erase`): an audit entry keeps who and when, nothing of the person.
    /// The store files keep old versions until the store is rewritten (`Store::rewrite`).
    Erased { by: String, at: Millis },
}

/// Where an interaction sits in a timeline; `seq` makes two entries at one instant distinct.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TimelineKey {
    pub lead: LeadId,
    pub at: Millis,
    pub seq: u64,
}

impl Store {
    /// Opens (creating if needed) the store in the folder `path`, private to its owner. A
    /// store that is not what leadq last wrote is refused (`StoreError::Damaged`).
    pub fn open(path: &Path, cache_bytes: u64) -> Result<Store, StoreError> {
        create_private_dir(path).map_err(|error| StoreError::Open {
            path: path.into(),
            error,
        })?;
        ops::arm_fault_injection();
        let seal = health::Seal::open(path).map_err(|error| StoreError::Open {
            path: path.into(),
            error,
        })?;
        let dirty = Arc::new(Mutex::new(None));
        let trees = Self::open_trees(path, cache_bytes, &seal, &dirty)?;
        let store = Store {
            path: path.to_path_buf(),
            cache_bytes,
            temporary: false,
            next_id: AtomicU64::new(trees.next_id()?),
            state: RwLock::new(State::Open(Box::new(trees))),
            seal: Some(Mutex::new(seal)),
            damage: Mutex::new(None),
            min_free: AtomicU64::new(DEFAULT_MIN_FREE),
            dirty,
            backup_lock: Mutex::new(()),
        };
        store.write_seal();
        Ok(store)
    }

    /// Opens sled and the trees, checks them against the seal, migrates and recovers.
    fn open_trees(
        path: &Path,
        cache_bytes: u64,
        seal: &health::Seal,
        dirty: &Arc<Mutex<Option<backup::Dirty>>>,
    ) -> Result<Trees, StoreError> {
        // A process that just finished with the store may hold its lock for a moment more (sled
        // releases it when its flusher stops): wait a little before calling it in use.
        let deadline = Instant::now() + Duration::from_millis(1500);
        let db = loop {
            match sled::Config::new()
                .path(path)
                .cache_capacity(cache_bytes)
                .mode(sled::Mode::LowSpace)
                .open()
                .map_err(|e| open_error(path, e))
            {
                Err(StoreError::InUse(_)) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(25));
                }
                other => break other?,
            }
        };
        let ready = || -> Result<Trees, StoreError> {
            let mut trees = Trees::new(db, Arc::clone(dirty))?;
            trees.check_on_open(path, seal.last())?;
            let migrated = trees.prepare(path)?;
            trees.recover_bulk()?;
            trees.recover_rescore()?;
            trees.load_tallies()?;
            trees.load_country_code()?;
            let counted = trees.load_seq()?;
            if migrated || counted {
                trees.db.flush()?;
            }
            *trees.durable.lock() = trees.counts;
            Ok(trees)
        };
        ready().map_err(|e| health::damaged_on_open(path, e))
    }

    /// A store that lives in memory and vanishes when dropped (tests, benchmarks).
    pub fn temporary() -> Result<Store, StoreError> {
        let db = sled::Config::new().temporary(true).open()?;
        let dirty = Arc::new(Mutex::new(None));
        let mut trees = Trees::new(db, Arc::clone(&dirty))?;
        trees.prepare(Path::new("(temporary)"))?;
        trees.load_seq()?;
        Ok(Store {
            path: PathBuf::from("(temporary)"),
            cache_bytes: 0,
            temporary: true,
            next_id: AtomicU64::new(trees.next_id()?),
            state: RwLock::new(State::Open(Box::new(trees))),
            seal: None,
            damage: Mutex::new(None),
            min_free: AtomicU64::new(0),
            dirty,
            backup_lock: Mutex::new(()),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn schema_version(&self) -> Result<u32, StoreError> {
        Ok(self.read()?.schema()?.unwrap_or(0))
    }

    /// Hands out the next lead id. Ids are reserved in memory and persisted with the write that
    /// uses them; one process owns a store, so no other writer can take the same id.
    pub fn reserve_id(&self) -> LeadId {
        self.next_id.fetch_add(1, Ordering::SeqCst)
    }

    pub fn lead(&self, id: LeadId) -> Result<Option<Lead>, StoreError> {
        let r = self.read()?.lead(id);
        self.seen(r)
    }

    /// How many leads there are, as kept with every write (no scan).
    pub fn lead_count(&self) -> Result<usize, StoreError> {
        Ok(self.counts()?.leads as usize)
    }

    /// How many interactions there are, as kept with every write (no scan).
    pub fn interaction_count(&self) -> Result<usize, StoreError> {
        Ok(self.counts()?.interactions as usize)
    }

    /// The generation (commits so far) and the counts.
    pub fn counts(&self) -> Result<Counts, StoreError> {
        Ok(self.read()?.counts)
    }

    /// Runs `f` (which reads the store) with no write between its reads, and says the
    /// generation its answer holds: every write up to it, no later.
    pub fn reading<T, E>(&self, f: impl FnOnce() -> Result<T, E>) -> Result<(T, u64), E>
    where
        E: From<StoreError>,
    {
        let t = self.read()?;
        let generation = t.counts.generation;
        let out = f()?;
        drop(t);
        Ok((out, generation))
    }

    /// The store's generation: how many writes it has committed.
    pub fn generation(&self) -> Result<u64, StoreError> {
        Ok(self.read()?.counts.generation)
    }

    pub fn find_email(&self, normalized: &str) -> Result<Option<LeadId>, StoreError> {
        self.read()?.find_email(normalized)
    }

    pub fn find_phone(&self, normalized: &str) -> Result<Option<LeadId>, StoreError> {
        self.read()?.find_phone(normalized)
    }

    /// The lead already known under any of these keys (e-mail first).
    pub fn find_duplicate(&self, keys: &DedupeKeys) -> Result<Option<LeadId>, StoreError> {
        let r = self.read()?.find_duplicate(keys);
        self.seen(r)
    }

    /// Lead ids in the queue index's order (class by class, each from its top), with the
    /// score each is filed under.
    pub fn ranked(&self) -> Box<dyn Iterator<Item = Result<(u8, LeadId), StoreError>> + '_> {
        let t = match self.read() {
            Ok(t) => t,
            Err(e) => return Box::new(std::iter::once(Err(e))),
        };
        let it = t.by_rank.iter().keys().map(|k| {
            let k = k?;
            let (_, score, _, _, id) = keys::read_rank(&k).ok_or(StoreError::Corrupt {
                what: "queue index",
                reason: "a key leadq cannot read".into(),
            })?;
            Ok((score, id))
        });
        Box::new(Guarded { _gate: t, it }.map(|r| self.seen(r)))
    }

    /// Leads with a next action at or before `until`, earliest first.
    pub fn followups_until(
        &self,
        until: Millis,
    ) -> Box<dyn Iterator<Item = Result<(Millis, LeadId), StoreError>> + '_> {
        let t = match self.read() {
            Ok(t) => t,
            Err(e) => return Box::new(std::iter::once(Err(e))),
        };
        let it = t
            .by_followup
            .range(..keys::time(until.saturating_add(1)))
            .keys()
            .map(|k| {
                let k = k?;
                keys::read_followup(&k).ok_or(StoreError::Corrupt {
                    what: "follow-up index",
                    reason: "short key".into(),
                })
            });
        Box::new(Guarded { _gate: t, it }.map(|r| self.seen(r)))
    }

    /// Every lead, in id order.
    pub fn leads(&self) -> Box<dyn Iterator<Item = Result<Lead, StoreError>> + '_> {
        let t = match self.read() {
            Ok(t) => t,
            Err(e) => return Box::new(std::iter::once(Err(e))),
        };
        let it = t.leads.iter().values().map(|v| codec::decode_lead(&v?));
        Box::new(Guarded { _gate: t, it }.map(|r| self.seen(r)))
    }

    /// Up to `limit` leads in id order, from the first after `after` (from the first lead
    /// when None): a scan in pieces, each read whole under the gate.
    pub fn leads_after(
        &self,
        after: Option<LeadId>,
        limit: usize,
    ) -> Result<Vec<Lead>, StoreError> {
        let Some(from) = after.map_or(Some(0), |id| id.checked_add(1)) else {
            return Ok(Vec::new());
        };
        let t = self.read()?;
        let bytes = t
            .leads
            .range(keys::id(from)..)
            .values()
            .take(limit)
            .collect::<Result<Vec<_>, _>>();
        drop(t);
        let r = bytes.map_err(StoreError::from).and_then(|bytes| {
            crate::par::flat_map(bytes, 256, |v| std::iter::once(codec::decode_lead(&v)))
                .into_iter()
                .collect()
        });
        self.seen(r)
    }

    /// A lead's timeline, oldest first.
    pub fn timeline(&self, id: LeadId) -> Result<Vec<(TimelineKey, Interaction)>, StoreError> {
        let r = self.read()?.timeline(id);
        self.seen(r)
    }

    /// One timeline entry by its key.
    pub fn interaction(&self, key: TimelineKey) -> Result<Option<Interaction>, StoreError> {
        Ok(self
            .timeline(key.lead)?
            .into_iter()
            .find(|(k, _)| *k == key)
            .map(|(_, i)| i))
    }

    /// The last model trained, if any.
    pub fn model(&self) -> Result<Option<Model>, StoreError> {
        let r = self.read()?.meta.get(META_MODEL).map_err(StoreError::from);
        match self.seen(r)? {
            None => Ok(None),
            Some(v) => {
                let m = codec::decode("model", codec::MODEL_FORMAT, &v);
                self.seen(m).map(Some)
            }
        }
    }

    /// Keeps `model` as the store's model, flushed.
    pub fn put_model(&self, model: &Model) -> Result<(), StoreError> {
        let bytes = codec::encode(codec::MODEL_FORMAT, model);
        self.writing(bytes.len() as u64 + 4096, |t, _| {
            t.meta
                .insert(META_MODEL, bytes.as_slice())
                .map_err(|e| write::Failure::During(e.into()))?;
            t.flush().map_err(write::Failure::During)
        })
    }

    pub fn encode_model(model: &Model) -> Vec<u8> {
        codec::encode(codec::MODEL_FORMAT, model)
    }

    pub fn decode_model(bytes: &[u8]) -> Result<Model, StoreError> {
        codec::decode("model", codec::MODEL_FORMAT, bytes)
    }

    pub fn rules_fingerprint(&self) -> Result<Option<u64>, StoreError> {
        let r = self.read()?.meta.get(META_RULES).map_err(StoreError::from);
        Ok(self.seen(r)?.and_then(|v| keys::read_id(&v)))
    }

    /// Writes a set of lead changes all or nothing, then flushes: when this returns Ok the
    /// change survives a crash. A small set is one transaction across every tree it touches;
    /// a big one (an import) goes in chunks behind a journal (see `bulk`). Readers see it
    /// whole or not at all.
    pub fn commit(
        &self,
        writes: &[LeadWrite],
        rules_fingerprint: Option<u64>,
    ) -> Result<Vec<TimelineKey>, StoreError> {
        self.writing(size_of(writes), |t, ids| {
            if Self::is_bulk(writes) {
                // Bulk writes (imports) are never undone entry by entry: no keys to hand back.
                t.commit_bulk(writes, rules_fingerprint, None, ids)?;
                return Ok(Vec::new());
            }
            let keys = t.commit_unflushed(writes, rules_fingerprint, ids)?;
            t.flush().map_err(write::Failure::During)?;
            Ok(keys)
        })
    }

    /// As `commit` (one lead or a few, not an import), with the routing state the writes
    /// move kept in the same transaction: a crash keeps both or neither.
    pub fn commit_routed(
        &self,
        writes: &[LeadWrite],
        rules_fingerprint: Option<u64>,
        routing: &crate::domain::routing::State,
        remembered: Option<(&str, Remembered)>,
    ) -> Result<Vec<TimelineKey>, StoreError> {
        let state = codec::encode(codec::ROUTING_FORMAT, routing);
        self.writing(size_of(writes) + state.len() as u64, |t, ids| {
            let mut extra = vec![(META_ROUTING.to_vec(), state.clone())];
            extra.extend(remembered.map(|(key, r)| r.entry(key)));
            let keys = t.commit_unflushed_with(writes, rules_fingerprint, ids, &extra)?;
            t.flush().map_err(write::Failure::During)?;
            Ok(keys)
        })
    }

    /// Keeps the routing state alone (a rep away or back), flushed.
    pub fn put_routing_state(
        &self,
        state: &crate::domain::routing::State,
    ) -> Result<(), StoreError> {
        let bytes = codec::encode(codec::ROUTING_FORMAT, state);
        self.writing(bytes.len() as u64 + 4096, |t, _| {
            t.meta
                .insert(META_ROUTING, bytes.as_slice())
                .map_err(|e| write::Failure::During(e.into()))?;
            t.flush().map_err(write::Failure::During)
        })
    }

    /// The web leads waiting for their first touch, soonest due first: (due, lead).
    pub fn awaiting_responses(&self) -> Result<Vec<(Millis, LeadId)>, StoreError> {
        let t = self.read()?;
        let r = (|| {
            let mut out = Vec::new();
            for k in t.by_response.iter().keys() {
                if let Some(entry) = keys::read_followup(&k?) {
                    out.push(entry);
                }
            }
            Ok(out)
        })();
        self.seen(r)
    }

    /// Who is away and where the routing rotations stand.
    pub fn routing_state(&self) -> Result<crate::domain::routing::State, StoreError> {
        let r = self
            .read()?
            .meta
            .get(META_ROUTING)
            .map_err(StoreError::from);
        match self.seen(r)? {
            None => Ok(crate::domain::routing::State::default()),
            Some(v) => {
                let s = codec::decode("routing state", codec::ROUTING_FORMAT, &v);
                self.seen(s)
            }
        }
    }

    /// As `commit`, without the flush: for bulk loads that flush once at the end.
    pub fn commit_unflushed(
        &self,
        writes: &[LeadWrite],
        rules_fingerprint: Option<u64>,
    ) -> Result<Vec<TimelineKey>, StoreError> {
        self.writing(size_of(writes), |t, ids| {
            t.commit_unflushed(writes, rules_fingerprint, ids)
        })
    }

    /// Replaces one timeline entry in place (a note added to the call just logged), flushed.
    pub fn rewrite_interaction(&self, key: TimelineKey, i: &Interaction) -> Result<(), StoreError> {
        self.writing(4096, |t, _| t.rewrite_interaction(key, i))
    }

    /// Who erased lead `id` and when ("ann\t1795176000000"), if it was erased.
    pub fn erased(&self, id: LeadId) -> Result<Option<(String, Millis)>, StoreError> {
        let t = self.read()?;
        let r = t.erased.get(keys::id(id)).map_err(StoreError::from);
        Ok(self.seen(r)?.and_then(|v| {
            let text = String::from_utf8_lossy(&v).into_owned();
            let (who, at) = text.split_once('\t')?;
            Some((who.to_string(), at.parse().ok()?))
        }))
    }

    /// Whether an erase asks for the store files to be rewritten (`rewrite`).
    pub fn rewrite_due(&self) -> Result<bool, StoreError> {
        let t = self.read()?;
        let r = t.meta.get(META_REWRITE_DUE).map_err(StoreError::from);
        Ok(self.seen(r)?.is_some())
    }

    /// The lead that lead `id` was merged into, if it was (the last of a chain of merges).
    pub fn merged_into(&self, id: LeadId) -> Result<Option<LeadId>, StoreError> {
        let t = self.read()?;
        let mut at = id;
        let mut found = None;
        // A chain is as long as the merges made one after another; a loop cannot be written
        // (a lead merged away is gone), but a damaged tree is not followed forever.
        for _ in 0..64 {
            let r = t.merged.get(keys::id(at)).map_err(StoreError::from);
            match self.seen(r)?.and_then(|v| keys::read_id(&v)) {
                Some(next) => {
                    found = Some(next);
                    at = next;
                }
                None => break,
            }
        }
        Ok(found)
    }

    /// Records that leads `a` and `b` are not one person (`by`, at `at`), so that the
    /// duplicate finder no longer offers the pair.
    pub fn mark_not_dupes(
        &self,
        a: LeadId,
        b: LeadId,
        by: &str,
        at: Millis,
    ) -> Result<(), StoreError> {
        let key = keys::pair(a, b);
        let value = format!("{by}\t{at}");
        self.writing(4096, |t, _| t.mark_not_dupes(&key, value.as_bytes()))
    }

    /// The pairs marked as not one person, each (smaller id, larger id).
    pub fn not_dupes(&self) -> Result<std::collections::HashSet<(LeadId, LeadId)>, StoreError> {
        let t = self.read()?;
        let mut out = std::collections::HashSet::new();
        for k in t.not_dupes.iter().keys() {
            let k = self.seen(k.map_err(StoreError::from))?;
            if let Some(p) = keys::read_pair(&k) {
                out.insert(p);
            }
        }
        Ok(out)
    }

    pub fn flush(&self) -> Result<(), StoreError> {
        self.writing(0, |t, _| t.flush().map_err(write::Failure::During))
    }

    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(self.read()?.db.size_on_disk()?)
    }

    /// Recounts everything the meta tree keeps and checks the indexes against the leads: the
    /// problems found (none: the store is as leadq wrote it). A scan of the whole store.
    ///
    /// Writers are not held back: the check reads a copy of the tree handles. A pass that
    /// finds nothing wrong but counts that moved stands (writes meanwhile cannot hide a lost
    /// lead: its index entries would point at nothing); one that finds more stands only if no
    /// write landed during it (the generation is read at both ends with the gate, so no write
    /// is in flight then), else it is repeated; after a few, one last pass holds writers back.
    pub fn verify(&self) -> Result<Vec<Problem>, StoreError> {
        for _ in 0..4 {
            let trees = self.read()?.clone();
            let before = trees.counts.generation;
            let r = trees.verify();
            let after = self.read()?.counts.generation;
            drop(trees);
            if after == before {
                return self.seen(r);
            }
            // Writes during the pass move the counts under it: they are checked by an exact
            // pass only; the indexes stand on their own.
            if r.as_ref().is_ok_and(|p| p.iter().all(Problem::counts_only)) {
                return Ok(Vec::new());
            }
        }
        let r = self.read()?.verify();
        self.seen(r)
    }

    /// The raw encoding of a record, for golden-bytes tests of the stored format.
    pub fn encode_lead(lead: &Lead) -> Vec<u8> {
        codec::encode(LEAD_FORMAT, lead)
    }

    pub fn encode_interaction(i: &Interaction) -> Vec<u8> {
        codec::encode(INTERACTION_FORMAT, i)
    }

    /// An interaction as stored, of any format this leadq reads.
    pub fn decode_interaction(bytes: &[u8]) -> Result<Interaction, StoreError> {
        codec::decode_interaction(bytes)
    }

    /// A timeline chunk as stored: (at, seq, interaction) entries.
    pub fn encode_timeline_chunk(entries: &[(Millis, u64, Interaction)]) -> Vec<u8> {
        let entries: Vec<_> = entries
            .iter()
            .map(|(at, seq, i)| (*at, *seq, Self::encode_interaction(i)))
            .collect();
        codec::encode(TIMELINE_FORMAT, &entries)
    }

    pub fn decode_lead(bytes: &[u8]) -> Result<Lead, StoreError> {
        codec::decode_lead(bytes)
    }

    /// Writes the schema version as-is (tests of the newer-store refusal and of migrations).
    pub fn force_schema_version(&self, version: u32) -> Result<(), StoreError> {
        self.writing(0, |t, _| {
            t.meta
                .insert(META_SCHEMA, &version.to_be_bytes())
                .map_err(|e| write::Failure::During(e.into()))?;
            t.flush().map_err(write::Failure::During)
        })
    }
}

impl Trees {
    fn new(db: sled::Db, dirty: Arc<Mutex<Option<backup::Dirty>>>) -> Result<Trees, StoreError> {
        let tree = |name: &str| db.open_tree(name);
        Ok(Trees {
            meta: tree("meta")?,
            leads: tree("leads")?,
            timeline: tree("timelines")?,
            by_email: tree("by_email")?,
            by_phone: tree("by_phone")?,
            by_rank: tree("by_rank")?,
            by_followup: tree("by_followup")?,
            tallies: tree("tallies")?,
            by_change: tree("by_change")?,
            by_wait: tree("by_wait")?,
            by_response: tree("by_response")?,
            tags: tree("tags")?,
            by_tag: tree("by_tag")?,
            tag_tallies: tree("tag_tallies")?,
            reports: tree("reports")?,
            not_dupes: tree("not_dupes")?,
            merged: tree("merged")?,
            erased: tree("erased")?,
            tally_counts: derived::TallyMap::new(),
            rules: Arc::new(crate::domain::Rules::defaults()),
            country_code: None,
            counts: Counts::default(),
            durable: Arc::new(Mutex::new(Counts::default())),
            dirty,
            seq: Arc::new(AtomicU64::new(1)),
            db,
        })
    }

    fn next_id(&self) -> Result<LeadId, StoreError> {
        Ok(self
            .meta
            .get(META_NEXT_ID)?
            .and_then(|v| keys::read_id(&v))
            .unwrap_or(1))
    }

    /// Loads the next timeline sequence number; a store from before it was kept is scanned
    /// once for its highest. Returns whether it had to be found (and was written).
    fn load_seq(&mut self) -> Result<bool, StoreError> {
        if let Some(v) = self
            .meta
            .get(META_NEXT_SEQ)?
            .and_then(|v| keys::read_id(&v))
        {
            self.seq.store(v, Ordering::SeqCst);
            return Ok(false);
        }
        let mut next = self.db.generate_id()?.saturating_add(1);
        for chunk in self.timeline.iter().values() {
            next = next.max(timeline::max_seq(&chunk?)?.saturating_add(1));
        }
        self.seq.store(next, Ordering::SeqCst);
        self.meta.insert(META_NEXT_SEQ, &next.to_be_bytes())?;
        Ok(true)
    }

    fn schema(&self) -> Result<Option<u32>, StoreError> {
        Ok(self
            .meta
            .get(META_SCHEMA)?
            .and_then(|v| v.as_ref().try_into().ok().map(u32::from_be_bytes)))
    }

    fn lead(&self, id: LeadId) -> Result<Option<Lead>, StoreError> {
        self.leads
            .get(keys::id(id))?
            .map(|v| codec::decode_lead(&v))
            .transpose()
    }

    fn find_email(&self, normalized: &str) -> Result<Option<LeadId>, StoreError> {
        Ok(self
            .by_email
            .get(normalized.as_bytes())?
            .and_then(|v| keys::read_id(&v)))
    }

    fn find_phone(&self, normalized: &str) -> Result<Option<LeadId>, StoreError> {
        Ok(self
            .by_phone
            .get(normalized.as_bytes())?
            .and_then(|v| keys::read_id(&v)))
    }

    fn find_duplicate(&self, keys: &DedupeKeys) -> Result<Option<LeadId>, StoreError> {
        if let Some(e) = &keys.email
            && let Some(id) = self.find_email(e)?
        {
            return Ok(Some(id));
        }
        match &keys.phone {
            Some(p) => self.find_phone(p),
            None => Ok(None),
        }
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        *self.durable.lock() = self.counts;
        Ok(())
    }
}

impl Trees {
    /// A lead's key in the queue index (`keys::rank`): its class and score as its record
    /// stands, under the rules the index is filed with.
    pub(super) fn rank_key(&self, lead: &Lead) -> [u8; keys::RANK_KEY] {
        keys::rank(
            crate::domain::tally::Class::of(lead) as u8,
            crate::domain::tally::filed_score(&self.rules, lead),
            keys::fine_fit(lead.score.fit),
            lead.waiting_since(),
            lead.id,
        )
    }

    /// A lead's value in the queue index: its tally, last touch and wait (`tally::Facts`), so
    /// that a view's filters (owner, source, stage, temperature, today's queue) need not read
    /// the lead.
    pub(super) fn rank_value(lead: &Lead) -> Vec<u8> {
        crate::domain::tally::Facts::of(lead).encode()
    }
}

fn open_error(path: &Path, e: sled::Error) -> StoreError {
    match e {
        sled::Error::Io(io) if io.to_string().contains("could not acquire lock") => {
            StoreError::InUse(path.to_path_buf())
        }
        sled::Error::Io(error) => StoreError::Open {
            path: path.to_path_buf(),
            error,
        },
        other => health::damaged_on_open(path, StoreError::Sled(other)),
    }
}

/// Creates the store folder readable by its owner only: on a shared server other Unix users
/// must not read the team's leads unless let in.
fn create_private_dir(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if path.exists() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
}
