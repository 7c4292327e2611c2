//! sled + bincode behind typed methods. The only module that names sled or bincode.

mod backup;
mod codec;
mod error;
pub mod keys;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::{Batch, Transactional, Tree};

pub use codec::{INTERACTION_FORMAT, LEAD_FORMAT};
pub use error::StoreError;

use crate::domain::lead::DedupeKeys;
use crate::domain::{Interaction, Lead, LeadId, Millis};

/// The schema this leadq writes. A store with a higher one is refused; a lower one is migrated
/// on open.
pub const SCHEMA_VERSION: u32 = 1;

/// sled's page cache, bounded: its default of 1 GiB would let every client on a shared server
/// grow to a gigabyte.
pub const DEFAULT_CACHE_BYTES: u64 = 64 * 1024 * 1024;

const META_SCHEMA: &[u8] = b"schema";
const META_NEXT_ID: &[u8] = b"next_lead_id";
const META_RULES: &[u8] = b"rules";

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

/// One lead's part of a write: its new state, its state before (to move its index entries),
/// its dedupe keys and the interactions to append to its timeline.
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
        create_private_dir(path).map_err(|source| StoreError::Open {
            path: path.into(),
            source,
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
            timeline: tree("timeline")?,
            by_email: tree("by_email")?,
            by_phone: tree("by_phone")?,
            by_rank: tree("by_rank")?,
            by_followup: tree("by_followup")?,
            next_id: AtomicU64::new(1),
            path,
            db,
        };
        store.check_schema()?;
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
            Some(_) => Ok(()),
        }
    }

    /// Brings an older store up to `SCHEMA_VERSION`, one step at a time. Schema 1 is the first,
    /// so the only older "version" is a store from a pre-release build, which is refused.
    fn migrate(&self, from: u32) -> Result<(), StoreError> {
        Err(StoreError::Corrupt {
            what: "schema version",
            reason: format!("schema {from} predates leadq's first release"),
        })
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

    pub fn lead_count(&self) -> usize {
        self.leads.len()
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

    /// A lead's timeline, oldest first: one range scan.
    pub fn timeline(&self, id: LeadId) -> Result<Vec<(TimelineKey, Interaction)>, StoreError> {
        self.timeline
            .scan_prefix(keys::id(id))
            .map(|item| {
                let (k, v) = item?;
                let key = TimelineKey {
                    lead: id,
                    at: keys::read_time(&k[8..]).unwrap_or_default(),
                    seq: keys::read_id(&k[16..]).unwrap_or_default(),
                };
                Ok((key, codec::decode("interaction", INTERACTION_FORMAT, &v)?))
            })
            .collect()
    }

    pub fn interaction_count(&self) -> usize {
        self.timeline.len()
    }

    /// Lead ids by descending score upper bound, with the bound.
    pub fn ranked(&self) -> impl Iterator<Item = Result<(u8, LeadId), StoreError>> + '_ {
        self.by_rank.iter().keys().map(|k| {
            let k = k?;
            keys::read_rank(&k).ok_or(StoreError::Corrupt {
                what: "rank index",
                reason: "short key".into(),
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

    /// Writes a set of lead changes as one transaction across every tree they touch, then
    /// flushes: when this returns Ok the change survives a crash.
    pub fn commit(
        &self,
        writes: &[LeadWrite],
        rules_fingerprint: Option<u64>,
    ) -> Result<Vec<TimelineKey>, StoreError> {
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
        let mut b = Batches::default();
        let mut appended = Vec::new();
        for w in writes {
            self.stage_write(&mut b, w, &mut appended)?;
        }
        b.meta.insert(
            META_NEXT_ID,
            &self.next_id.load(Ordering::SeqCst).to_be_bytes(),
        );
        if let Some(fp) = rules_fingerprint {
            b.meta.insert(META_RULES, &fp.to_be_bytes());
        }
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
            &b.meta,
            &b.leads,
            &b.timeline,
            &b.by_email,
            &b.by_phone,
            &b.by_rank,
            &b.by_followup,
        ];
        trees[..]
            .transaction(|tx| {
                for (t, batch) in tx.iter().zip(batches) {
                    t.apply_batch(batch)?;
                }
                Ok::<(), ConflictableTransactionError<StoreError>>(())
            })
            .map_err(|e| match e {
                TransactionError::Abort(e) => e,
                TransactionError::Storage(e) => StoreError::Sled(e),
            })?;
        Ok(appended)
    }

    /// Replaces one timeline entry in place (a note added to the call just logged), flushed.
    pub fn rewrite_interaction(&self, key: TimelineKey, i: &Interaction) -> Result<(), StoreError> {
        let k = keys::interaction(key.lead, key.at, key.seq);
        if self.timeline.get(k)?.is_none() {
            return Err(StoreError::Corrupt {
                what: "timeline entry",
                reason: "it no longer exists".into(),
            });
        }
        self.timeline
            .insert(k, codec::encode(INTERACTION_FORMAT, i))?;
        self.flush()
    }

    pub fn interaction(&self, key: TimelineKey) -> Result<Option<Interaction>, StoreError> {
        self.timeline
            .get(keys::interaction(key.lead, key.at, key.seq))?
            .map(|v| codec::decode("interaction", INTERACTION_FORMAT, &v))
            .transpose()
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
            b.by_rank.remove(&keys::rank(old.score.bound, id));
            if let Some(at) = old.next_action {
                b.by_followup.remove(&keys::followup(at, id));
            }
        }
        b.by_rank.insert(&keys::rank(w.after.score.bound, id), &[]);
        if let Some(at) = w.after.next_action {
            b.by_followup.insert(&keys::followup(at, id), &[]);
        }
        for i in &w.append {
            let seq = self.db.generate_id()?;
            b.timeline.insert(
                &keys::interaction(id, i.at, seq),
                codec::encode(INTERACTION_FORMAT, i),
            );
            appended.push(TimelineKey {
                lead: id,
                at: i.at,
                seq,
            });
        }
        for k in &w.remove {
            b.timeline.remove(&keys::interaction(k.lead, k.at, k.seq));
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

    pub fn decode_lead(bytes: &[u8]) -> Result<Lead, StoreError> {
        codec::decode("lead", LEAD_FORMAT, bytes)
    }

    /// Writes the schema version as-is (tests of the newer-store refusal).
    pub fn force_schema_version(&self, version: u32) -> Result<(), StoreError> {
        self.meta.insert(META_SCHEMA, &version.to_be_bytes())?;
        self.flush()
    }
}

#[derive(Default)]
struct Batches {
    meta: Batch,
    leads: Batch,
    timeline: Batch,
    by_email: Batch,
    by_phone: Batch,
    by_rank: Batch,
    by_followup: Batch,
}

fn open_error(path: &Path, e: sled::Error) -> StoreError {
    match e {
        sled::Error::Io(io) if io.to_string().contains("could not acquire lock") => {
            StoreError::InUse(path.to_path_buf())
        }
        sled::Error::Io(source) => StoreError::Open {
            path: path.to_path_buf(),
            source,
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
