//! sled + bincode behind typed methods. The only module that names sled or bincode.

mod backup;
mod bulk;
mod codec;
mod error;
pub mod keys;
mod ops;
mod timeline;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::{Batch, Transactional, Tree};

use ops::Ops;

pub use bulk::CHUNK_LEADS;
pub use codec::{INTERACTION_FORMAT, LEAD_FORMAT};
pub use error::StoreError;
pub use timeline::{CHUNK_ENTRIES, TIMELINE_FORMAT};

use crate::domain::lead::DedupeKeys;
use crate::domain::{Interaction, Lead, LeadId, Millis};

/// The schema this leadq writes. A store with a higher one is refused; a lower one is migrated
/// on open. 2: rank keys carry the queue's tie-break (waiting since), see `keys::rank`, and
/// timelines are stored in chunks (`timeline`).
pub const SCHEMA_VERSION: u32 = 2;

/// sled's page cache, bounded: its default of 1 GiB would let every client on a shared server
/// grow to a gigabyte.
pub const DEFAULT_CACHE_BYTES: u64 = 64 * 1024 * 1024;

const META_SCHEMA: &[u8] = b"schema";
const META_NEXT_ID: &[u8] = b"next_lead_id";
const META_RULES: &[u8] = b"rules";
/// Schema 1's timeline tree, one key per interaction.
const OLD_TIMELINE: &[u8] = b"timeline";

pub struct Store {
    path: PathBuf,
    db: sled::Db,
    meta: Tree,
    leads: Tree,
    timeline: Tree,
    by_email: Tree,
    by_phone: Tree,
    by_rank: Tree,
    by_followup: Tree,
    next_id: AtomicU64,
}

/// One lead's part of a write: its new state, its state before (to move its index entries;
/// none for a new lead, which has no timeline yet), its dedupe keys and the interactions to
/// append to its timeline.
#[derive(Debug, Clone)]
pub struct LeadWrite {
    pub before: Option<Lead>,
    pub after: Lead,
    pub keys: DedupeKeys,
    pub append: Vec<Interaction>,
    /// Timeline entries to take back (undo), by their key.
    pub remove: Vec<TimelineKey>,
}

/// Where an interaction sits in a timeline; `seq` makes two entries at one instant distinct.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TimelineKey {
    pub lead: LeadId,
    pub at: Millis,
    pub seq: u64,
}

impl Store {
    /// Opens (creating if needed) the store in the folder `path`, private to its owner.
    pub fn open(path: &Path, cache_bytes: u64) -> Result<Store, StoreError> {
        create_private_dir(path).map_err(|error| StoreError::Open {
            path: path.into(),
            error,
        })?;
        // A process that just finished with the store may hold its lock for a moment more (sled
        // releases it when its flusher stops): wait a little before calling it in use.
        let deadline = std::time::Instant::now() + std::time::Duration::from_millis(1500);
        let db = loop {
            match sled::Config::new()
                .path(path)
                .cache_capacity(cache_bytes)
                .mode(sled::Mode::LowSpace)
                .open()
                .map_err(|e| open_error(path, e))
            {
                Err(StoreError::InUse(_)) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(25));
                }
                other => break other?,
            }
        };
        Self::from_db(path.to_path_buf(), db)
    }

    /// A store that lives in memory and vanishes when dropped (tests, benchmarks).
    pub fn temporary() -> Result<Store, StoreError> {
        let db = sled::Config::new().temporary(true).open()?;
        Self::from_db(PathBuf::from("(temporary)"), db)
    }

    fn from_db(path: PathBuf, db: sled::Db) -> Result<Store, StoreError> {
        let tree = |name: &str| db.open_tree(name);
        let store = Store {
            meta: tree("meta")?,
            leads: tree("leads")?,
            timeline: tree("timelines")?,
            by_email: tree("by_email")?,
            by_phone: tree("by_phone")?,
            by_rank: tree("by_rank")?,
            by_followup: tree("by_followup")?,
            next_id: AtomicU64::new(1),
            path,
            db,
        };
        store.check_schema()?;
        store.recover_bulk()?;
        let next = store
            .meta
            .get(META_NEXT_ID)?
            .and_then(|v| keys::read_id(&v))
            .unwrap_or(1);
        store.next_id.store(next, Ordering::SeqCst);
        Ok(store)
    }

    fn check_schema(&self) -> Result<(), StoreError> {
        let found = self
            .meta
            .get(META_SCHEMA)?
            .and_then(|v| v.as_ref().try_into().ok().map(u32::from_be_bytes));
        match found {
            None => {
                self.meta
                    .insert(META_SCHEMA, &SCHEMA_VERSION.to_be_bytes())?;
                self.db.flush()?;
                Ok(())
            }
            Some(v) if v > SCHEMA_VERSION => Err(StoreError::NewerSchema {
                path: self.path.clone(),
                found: v,
                known: SCHEMA_VERSION,
            }),
            Some(v) if v < SCHEMA_VERSION => self.migrate(v),
            Some(_) => self.drop_old_trees(),
        }
    }

    /// Brings an older store up to `SCHEMA_VERSION`, one step at a time. Schema 1 is the first;
    /// an older "version" is a store from a pre-release build, which is refused.
    fn migrate(&self, from: u32) -> Result<(), StoreError> {
        if from < 1 {
            return Err(StoreError::Corrupt {
                what: "schema version",
                reason: format!("schema {from} predates leadq's first release"),
            });
        }
        if from < 2 {
            self.rebuild_rank_index()?;
            if self.has_tree(OLD_TIMELINE) {
                self.repack_timeline(&self.db.open_tree(OLD_TIMELINE)?)?;
            }
        }
        self.meta
            .insert(META_SCHEMA, &SCHEMA_VERSION.to_be_bytes())?;
        self.flush()?;
        self.drop_old_trees()
    }

    fn has_tree(&self, name: &[u8]) -> bool {
        self.db.tree_names().iter().any(|n| n == name)
    }

    /// Trees a migration left behind (dropped after the schema version is raised, so a crash
    /// in between leaves one for the next open).
    fn drop_old_trees(&self) -> Result<(), StoreError> {
        if self.has_tree(OLD_TIMELINE) {
            self.db.drop_tree(OLD_TIMELINE)?;
            self.flush()?;
        }
        Ok(())
    }

    /// Schema 1 -> 2: the rank index is rebuilt from the leads with the new key layout. The
    /// schema version is raised only after, so a crash part-way redoes it on the next open.
    fn rebuild_rank_index(&self) -> Result<(), StoreError> {
        self.by_rank.clear()?;
        let mut batch = Batch::default();
        for lead in self.leads() {
            let lead = lead?;
            batch.insert(&rank_key(&lead), &[]);
        }
        self.by_rank.apply_batch(batch)?;
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn schema_version(&self) -> Result<u32, StoreError> {
        Ok(self
            .meta
            .get(META_SCHEMA)?
            .and_then(|v| v.as_ref().try_into().ok().map(u32::from_be_bytes))
            .unwrap_or(0))
    }

    /// Hands out the next lead id. Ids are reserved in memory and persisted with the write that
    /// uses them; one process owns a store, so no other writer can take the same id.
    pub fn reserve_id(&self) -> LeadId {
        self.next_id.fetch_add(1, Ordering::SeqCst)
    }

    pub fn lead(&self, id: LeadId) -> Result<Option<Lead>, StoreError> {
        self.leads
            .get(keys::id(id))?
            .map(|v| codec::decode("lead", LEAD_FORMAT, &v))
            .transpose()
    }

    /// Counts every lead: a scan of the whole tree. `is_empty` is the cheap question.
    pub fn lead_count(&self) -> usize {
        self.leads.len()
    }

    pub fn is_empty(&self) -> bool {
        self.leads.is_empty()
    }

    pub fn find_email(&self, normalized: &str) -> Result<Option<LeadId>, StoreError> {
        Ok(self
            .by_email
            .get(normalized.as_bytes())?
            .and_then(|v| keys::read_id(&v)))
    }

    pub fn find_phone(&self, normalized: &str) -> Result<Option<LeadId>, StoreError> {
        Ok(self
            .by_phone
            .get(normalized.as_bytes())?
            .and_then(|v| keys::read_id(&v)))
    }

    /// The lead already known under any of these keys (e-mail first).
    pub fn find_duplicate(&self, keys: &DedupeKeys) -> Result<Option<LeadId>, StoreError> {
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

    /// Lead ids by descending score upper bound, with the bound.
    pub fn ranked(&self) -> impl Iterator<Item = Result<(u8, LeadId), StoreError>> + '_ {
        self.rank_entries().map(|e| e.map(|e| (e.bound, e.id)))
    }

    /// The rank index in queue order: descending bound, then longest waiting, then lowest id.
    pub fn rank_entries(&self) -> impl Iterator<Item = Result<RankEntry, StoreError>> + '_ {
        self.by_rank.iter().keys().map(|k| {
            let k = k?;
            let (bound, waiting_since, id) = keys::read_rank(&k).ok_or(StoreError::Corrupt {
                what: "rank index",
                reason: "short key".into(),
            })?;
            Ok(RankEntry {
                bound,
                waiting_since,
                id,
            })
        })
    }

    /// Leads with a next action at or before `until`, earliest first.
    pub fn followups_until(
        &self,
        until: Millis,
    ) -> impl Iterator<Item = Result<(Millis, LeadId), StoreError>> + '_ {
        self.by_followup
            .range(..keys::time(until.saturating_add(1)))
            .keys()
            .map(|k| {
                let k = k?;
                keys::read_followup(&k).ok_or(StoreError::Corrupt {
                    what: "follow-up index",
                    reason: "short key".into(),
                })
            })
    }

    /// Every lead, in id order.
    pub fn leads(&self) -> impl Iterator<Item = Result<Lead, StoreError>> + '_ {
        self.leads
            .iter()
            .values()
            .map(|v| codec::decode("lead", LEAD_FORMAT, &v?))
    }

    pub fn rules_fingerprint(&self) -> Result<Option<u64>, StoreError> {
        Ok(self.meta.get(META_RULES)?.and_then(|v| keys::read_id(&v)))
    }

    /// Writes a set of lead changes all or nothing, then flushes: when this returns Ok the
    /// change survives a crash. A small set is one transaction across every tree it touches;
    /// a big one (an import) goes in chunks behind a journal (see `bulk`).
    pub fn commit(
        &self,
        writes: &[LeadWrite],
        rules_fingerprint: Option<u64>,
    ) -> Result<Vec<TimelineKey>, StoreError> {
        if Self::is_bulk(writes) {
            // Bulk writes (imports) are never undone entry by entry: no keys to hand back.
            self.commit_bulk(writes, rules_fingerprint, None)?;
            return Ok(Vec::new());
        }
        let keys = self.commit_unflushed(writes, rules_fingerprint)?;
        self.flush()?;
        Ok(keys)
    }

    /// As `commit`, without the flush: for bulk loads that flush once at the end.
    pub fn commit_unflushed(
        &self,
        writes: &[LeadWrite],
        rules_fingerprint: Option<u64>,
    ) -> Result<Vec<TimelineKey>, StoreError> {
        let (b, appended) = self.stage(writes, rules_fingerprint)?;
        self.apply(&b)?;
        Ok(appended)
    }

    /// The batches that make `writes`, and the timeline entries they append.
    fn stage(
        &self,
        writes: &[LeadWrite],
        rules_fingerprint: Option<u64>,
    ) -> Result<(Batches, Vec<TimelineKey>), StoreError> {
        let mut b = Batches::default();
        let mut appended = Vec::new();
        for w in writes {
            self.stage_write(&mut b, w, &mut appended)?;
        }
        std::mem::take(&mut b.edits).stage(&mut b.timeline);
        b.meta.insert(
            META_NEXT_ID,
            &self.next_id.load(Ordering::SeqCst).to_be_bytes(),
        );
        if let Some(fp) = rules_fingerprint {
            b.meta.insert(META_RULES, &fp.to_be_bytes());
        }
        Ok((b, appended))
    }

    /// Applies staged changes key by key, two trees at a time: not atomic at all. Only for
    /// bulk writes, whose journal takes back any part that landed.
    fn apply_untransacted(&self, b: Batches) -> Result<(), StoreError> {
        let Batches {
            meta,
            leads,
            timeline,
            by_email,
            by_phone,
            by_rank,
            by_followup,
            edits: _,
        } = b;
        std::thread::scope(|scope| {
            let (phone_a, phone_b) = by_phone.split();
            let records = scope.spawn(move || -> sled::Result<()> {
                leads.apply_each(&self.leads)?;
                timeline.apply_each(&self.timeline)?;
                phone_a.apply_each(&self.by_phone)
            });
            let indexes = by_rank
                .apply_each(&self.by_rank)
                .and_then(|()| by_email.apply_each(&self.by_email))
                .and_then(|()| phone_b.apply_each(&self.by_phone))
                .and_then(|()| by_followup.apply_each(&self.by_followup))
                .and_then(|()| meta.apply_each(&self.meta));
            let records = records.join().expect("a store writer thread panicked");
            records.and(indexes)
        })?;
        Ok(())
    }

    /// Applies staged batches as one transaction across every tree.
    fn apply(&self, b: &Batches) -> Result<(), StoreError> {
        let trees = [
            &self.meta,
            &self.leads,
            &self.timeline,
            &self.by_email,
            &self.by_phone,
            &self.by_rank,
            &self.by_followup,
        ];
        let batches = [
            b.meta.to_batch(),
            b.leads.to_batch(),
            b.timeline.to_batch(),
            b.by_email.to_batch(),
            b.by_phone.to_batch(),
            b.by_rank.to_batch(),
            b.by_followup.to_batch(),
        ];
        trees[..]
            .transaction(|tx| {
                for (t, batch) in tx.iter().zip(&batches) {
                    t.apply_batch(batch)?;
                }
                Ok::<(), ConflictableTransactionError<StoreError>>(())
            })
            .map_err(|e| match e {
                TransactionError::Abort(e) => e,
                TransactionError::Storage(e) => StoreError::Sled(e),
            })
    }

    /// Replaces one timeline entry in place (a note added to the call just logged), flushed.
    pub fn rewrite_interaction(&self, key: TimelineKey, i: &Interaction) -> Result<(), StoreError> {
        let mut edits = timeline::TimelineEdits::default();
        if !edits.replace(self, &key, Self::encode_interaction(i))? {
            return Err(StoreError::Corrupt {
                what: "timeline entry",
                reason: "it no longer exists".into(),
            });
        }
        let mut ops = Ops::default();
        edits.stage(&mut ops);
        ops.apply_batch(&self.timeline)?;
        self.flush()
    }

    /// One timeline entry by its key.
    pub fn interaction(&self, key: TimelineKey) -> Result<Option<Interaction>, StoreError> {
        Ok(self
            .timeline(key.lead)?
            .into_iter()
            .find(|(k, _)| *k == key)
            .map(|(_, i)| i))
    }

    fn stage_write(
        &self,
        b: &mut Batches,
        w: &LeadWrite,
        appended: &mut Vec<TimelineKey>,
    ) -> Result<(), StoreError> {
        let id = w.after.id;
        b.leads
            .insert(&keys::id(id), codec::encode(LEAD_FORMAT, &w.after));
        if let Some(e) = &w.keys.email {
            b.by_email.insert(e.as_bytes(), &keys::id(id));
        }
        if let Some(p) = &w.keys.phone {
            b.by_phone.insert(p.as_bytes(), &keys::id(id));
        }
        if let Some(old) = &w.before {
            b.by_rank.remove(&rank_key(old));
            if let Some(at) = old.next_action {
                b.by_followup.remove(&keys::followup(at, id));
            }
        }
        b.by_rank.insert(&rank_key(&w.after), &[]);
        if let Some(at) = w.after.next_action {
            b.by_followup.insert(&keys::followup(at, id), &[]);
        }
        for i in &w.append {
            let seq = self.db.generate_id()?;
            b.edits.append(
                self,
                id,
                w.before.is_none(),
                (i.at, seq, Self::encode_interaction(i)),
            )?;
            appended.push(TimelineKey {
                lead: id,
                at: i.at,
                seq,
            });
        }
        for k in &w.remove {
            b.edits.remove(self, k)?;
        }
        Ok(())
    }

    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(self.db.size_on_disk()?)
    }

    /// The raw encoding of a record, for golden-bytes tests of the stored format.
    pub fn encode_lead(lead: &Lead) -> Vec<u8> {
        codec::encode(LEAD_FORMAT, lead)
    }

    pub fn encode_interaction(i: &Interaction) -> Vec<u8> {
        codec::encode(INTERACTION_FORMAT, i)
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
        codec::decode("lead", LEAD_FORMAT, bytes)
    }

    /// Writes the schema version as-is (tests of the newer-store refusal).
    pub fn force_schema_version(&self, version: u32) -> Result<(), StoreError> {
        self.meta.insert(META_SCHEMA, &version.to_be_bytes())?;
        self.flush()
    }
}

/// An entry of the rank index: a lead's score upper bound and since when it has waited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RankEntry {
    pub bound: u8,
    pub waiting_since: Millis,
    pub id: LeadId,
}

fn rank_key(lead: &Lead) -> [u8; 17] {
    keys::rank(lead.score.bound, lead.waiting_since(), lead.id)
}

#[derive(Default)]
struct Batches {
    meta: Ops,
    leads: Ops,
    timeline: Ops,
    by_email: Ops,
    by_phone: Ops,
    by_rank: Ops,
    by_followup: Ops,
    /// Timeline changes, staged into `timeline` before the batches are applied.
    edits: timeline::TimelineEdits,
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
        other => StoreError::Sled(other),
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
