//! Writes too big for one sled transaction. A transaction keeps every page version it replaces
//! until it commits (2.5 GB of memory for a 100k-row import, and more time freeing it than
//! writing), so a big write goes in chunks. A journal, flushed before the first chunk, keeps
//! the whole all-or-nothing: if the process dies part-way, the next open takes back every part
//! that landed, and an error part-way takes them back at once.
//!
//! Since the journal gives the atomicity, a chunk is not a transaction either: each tree takes
//! its batch on its own (a sled transaction reads every key before writing it, which made the
//! import a quarter slower). The journal names every key the write adds, so taking it back
//! does not depend on which trees' batches landed.

use std::sync::atomic::AtomicU64;

use serde::{Deserialize, Serialize};

use super::derived::TallyMap;
use super::health::Counts;
use super::write::{Batches, Failure};
use super::{LeadWrite, Store, StoreError, Trees, codec, keys};
use crate::domain::{Lead, LeadId};

/// Where the journal of a bulk write in progress is kept: a tree of its own, since sled writes
/// a tree's whole node at every change, and in `meta` (where older leadq kept it) the journal
/// of a 100k-row import (6 MB) was written again with every chunk's counts.
const JOURNAL_TREE: &str = "journal";
const PENDING: &[u8] = b"pending_bulk_write";
/// Where a leadq before schema 3 kept the journal.
const META_PENDING: &[u8] = PENDING;
/// 2: each lead's part names the rank and follow-up keys the write adds. 3: the counts
/// before the write, to put back with it.
const JOURNAL_FORMAT: u8 = 3;

/// Leads per chunk: big enough that the per-transaction cost is small, small enough that a
/// chunk's page versions stay a few MB.
pub const CHUNK_LEADS: usize = 1_000;

/// How to take a bulk write back.
#[derive(Serialize, Deserialize)]
struct Journal {
    /// Timeline sequence numbers are increasing: every entry the write appends has a greater one.
    seq_fence: u64,
    leads: Vec<Undo>,
    /// The generation and counts before the write.
    counts: Counts,
}

/// The journal as leadq wrote it in format 2 (no counts: they are recounted on rollback).
#[derive(Deserialize)]
struct JournalV2 {
    seq_fence: u64,
    leads: Vec<Undo>,
}

/// One lead's part: its state before (none for a new lead) and the index keys the write adds.
#[derive(Serialize, Deserialize)]
struct Undo {
    id: LeadId,
    before: Option<Lead>,
    new_email: Option<String>,
    new_phone: Option<String>,
    new_rank: Vec<u8>,
    new_followup: Option<Vec<u8>>,
}

/// The journal as leadq wrote it before format 2 (chunks were transactions then).
#[derive(Deserialize)]
struct JournalV1 {
    seq_fence: u64,
    leads: Vec<UndoV1>,
}

#[derive(Deserialize)]
struct UndoV1 {
    id: LeadId,
    before: Option<Lead>,
    new_email: Option<String>,
    new_phone: Option<String>,
}

impl Store {
    /// Whether `commit` takes the chunked, journaled path. Writes that take timeline entries
    /// back (undo) are never bulk: the journal could not restore what they remove.
    pub(super) fn is_bulk(writes: &[LeadWrite]) -> bool {
        writes.len() > CHUNK_LEADS && writes.iter().all(|w| w.remove.is_empty())
    }

    /// Test hook: a bulk `commit` that stops after `chunks` chunks and the index keys of the
    /// next one, flushed, as if the process had died there. The next open must take it back.
    #[doc(hidden)]
    pub fn commit_interrupted(
        &self,
        writes: &[LeadWrite],
        rules_fingerprint: Option<u64>,
        chunks: usize,
    ) -> Result<(), StoreError> {
        self.writing(0, |t, ids| {
            t.commit_bulk(writes, rules_fingerprint, Some(chunks), ids)
        })
    }
}

impl Trees {
    /// As `commit`, in chunks behind a journal. `stop_after` is a test hook: stop after that
    /// many chunks as a crash would, leaving the journal for the next open.
    pub(super) fn commit_bulk(
        &mut self,
        writes: &[LeadWrite],
        rules_fingerprint: Option<u64>,
        stop_after: Option<usize>,
        ids: &AtomicU64,
    ) -> Result<(), Failure> {
        let journal = Journal {
            // Every entry in the store has a lower sequence number than the next one; every
            // entry this write appends, a higher one.
            seq_fence: self
                .seq
                .load(std::sync::atomic::Ordering::SeqCst)
                .saturating_sub(1),
            leads: writes
                .iter()
                .map(|w| self.undo_for(w))
                .collect::<Result<_, _>>()?,
            counts: self.counts,
        };
        let during = |e: StoreError| Failure::During(e);
        let journal_tree = self.db.open_tree(JOURNAL_TREE)?;
        journal_tree
            .insert(PENDING, codec::encode(JOURNAL_FORMAT, &journal))
            .map_err(|e| during(e.into()))?;
        self.flush().map_err(during)?;
        let chunks = writes
            .chunks(CHUNK_LEADS)
            .take(stop_after.unwrap_or(usize::MAX));
        let written = self.apply_chunks(chunks, rules_fingerprint, ids);
        if let Some(landed) = stop_after {
            (self.counts, self.tally_counts) = written.map_err(during)?;
            // As a crash mid-chunk may leave it: of the next chunk, the index keys landed and
            // the lead records and timelines did not (they are written on two threads).
            if let Some(torn) = writes.chunks(CHUNK_LEADS).nth(landed) {
                let (b, _) = self.stage(
                    torn,
                    rules_fingerprint,
                    ids,
                    self.counts,
                    &self.tally_counts,
                    &mut super::derived::Carry::default(),
                )?;
                let apply = || -> sled::Result<()> {
                    b.by_rank.apply_each(&self.by_rank)?;
                    b.by_email.apply_each(&self.by_email)?;
                    b.by_phone.apply_each(&self.by_phone)?;
                    b.by_followup.apply_each(&self.by_followup)
                };
                apply().map_err(|e| during(e.into()))?;
            }
            return self.flush().map_err(during);
        }
        match written {
            Ok((counts, tallies)) => {
                self.counts = counts;
                self.tally_counts = tallies;
                self.flush().map_err(during)?;
                journal_tree.remove(PENDING).map_err(|e| during(e.into()))?;
                self.flush().map_err(during)
            }
            Err(e) => {
                // Best effort: if this fails too, the store is reopened from disk, where the
                // journal takes the chunks back.
                if self.roll_back(&journal, true).is_ok() {
                    self.counts = journal.counts;
                }
                Err(during(e))
            }
        }
    }

    /// Applies the chunks in order, staging the next chunk on this thread while another thread
    /// writes the last one into sled (two cores: ~10% off an import). Returns the counts and
    /// the kept tallies after.
    fn apply_chunks<'w>(
        &self,
        chunks: impl Iterator<Item = &'w [LeadWrite]>,
        rules_fingerprint: Option<u64>,
        ids: &AtomicU64,
    ) -> Result<(Counts, TallyMap), StoreError> {
        let mut counts = self.counts;
        let mut tallies = self.tally_counts.clone();
        // The counts a chunk leaves in the trees it reads and writes back (tags, each tag's
        // tallies, the reports' sums): the next chunk is staged while this one is still
        // being written, so it starts from them, not from the trees.
        let mut carry = super::derived::Carry::default();
        std::thread::scope(|scope| {
            let mut writing: Option<std::thread::ScopedJoinHandle<Result<(), StoreError>>> = None;
            let wait = |h: std::thread::ScopedJoinHandle<Result<(), StoreError>>| {
                h.join().expect("the store writer thread panicked")
            };
            for chunk in chunks {
                let (mut staged, _) =
                    self.stage(chunk, rules_fingerprint, ids, counts, &tallies, &mut carry)?;
                counts = staged.counts;
                if let Some(t) = staged.tallies_after.take() {
                    tallies = t;
                }
                if let Some(h) = writing.take() {
                    wait(h)?;
                }
                writing = Some(scope.spawn(move || self.apply_untransacted(staged)));
            }
            writing.map_or(Ok(()), wait)
        })?;
        Ok((counts, tallies))
    }

    fn undo_for(&self, w: &LeadWrite) -> Result<Undo, StoreError> {
        let id = w.after.id;
        let new_rank = self.rank_key(&w.after).to_vec();
        let new_followup = w
            .after
            .next_action
            .map(|at| keys::followup(at, id).to_vec());
        if w.before.is_none() {
            // A new lead: nothing pointed to its id before.
            return Ok(Undo {
                id,
                before: None,
                new_email: w.keys.email.clone(),
                new_phone: w.keys.phone.clone(),
                new_rank,
                new_followup,
            });
        }
        let email = match &w.keys.email {
            Some(e) if self.find_email(e)? != Some(id) => Some(e.clone()),
            _ => None,
        };
        let phone = match &w.keys.phone {
            Some(p) if self.find_phone(p)? != Some(id) => Some(p.clone()),
            _ => None,
        };
        Ok(Undo {
            id,
            before: w.before.clone(),
            new_email: email,
            new_phone: phone,
            new_rank,
            new_followup,
        })
    }

    /// On open: takes back a bulk write that a crash interrupted.
    pub(super) fn recover_bulk(&mut self) -> Result<(), StoreError> {
        let journal_tree = self.db.open_tree(JOURNAL_TREE)?;
        let (bytes, in_meta) = match journal_tree.get(PENDING)? {
            Some(b) => (b, false),
            None => match self.meta.get(META_PENDING)? {
                Some(b) => (b, true),
                None => return Ok(()),
            },
        };
        let with_counts = bytes.first() == Some(&JOURNAL_FORMAT);
        let journal = if bytes.first() == Some(&2) {
            let old: JournalV2 = codec::decode("bulk-write journal", 2, &bytes)?;
            Journal {
                seq_fence: old.seq_fence,
                leads: old.leads,
                counts: Counts::default(),
            }
        } else if bytes.first() == Some(&1) {
            let old: JournalV1 = codec::decode("bulk-write journal", 1, &bytes)?;
            Journal {
                seq_fence: old.seq_fence,
                leads: old
                    .leads
                    .into_iter()
                    .map(|u| Undo {
                        id: u.id,
                        before: u.before,
                        new_email: u.new_email,
                        new_phone: u.new_phone,
                        // Chunks were transactions: the lead's current state names its keys.
                        new_rank: Vec::new(),
                        new_followup: None,
                    })
                    .collect(),
                counts: Counts::default(),
            }
        } else {
            codec::decode("bulk-write journal", JOURNAL_FORMAT, &bytes)?
        };
        self.roll_back(&journal, with_counts)?;
        if in_meta {
            self.meta.remove(META_PENDING)?;
        }
        // A journal of an older leadq has no counts: the store is counted once instead.
        self.counts = if with_counts {
            journal.counts
        } else {
            let (leads, interactions) = self.recount()?;
            Counts {
                generation: self.counts.generation + 1,
                leads,
                interactions,
            }
        };
        let (key, value) = self.counts.meta_entry();
        self.meta.insert(key, &value)?;
        self.flush()
    }

    /// Puts every lead of the journal back as it was, with the counts. Idempotent, so a
    /// crash while rolling back is finished on the next open.
    /// `with_counts`: the journal has the counts from before (format 3 on): they go back
    /// with the leads.
    fn roll_back(&mut self, journal: &Journal, with_counts: bool) -> Result<(), StoreError> {
        for chunk in journal.leads.chunks(CHUNK_LEADS) {
            let mut b = Batches::default();
            for u in chunk {
                self.stage_undo(&mut b, u, journal.seq_fence)?;
            }
            std::mem::take(&mut b.edits).stage(&mut b.timeline);
            if with_counts {
                let (key, value) = journal.counts.meta_entry();
                b.meta.insert(key, &value);
            }
            self.apply(&b)?;
        }
        self.flush()?;
        // The kept counts and the index of coming changes followed the chunks that landed:
        // recounted from the leads as they are back.
        self.rebuild_derived()?;
        self.flush()?;
        self.db.open_tree(JOURNAL_TREE)?.remove(PENDING)?;
        self.flush()
    }

    fn stage_undo(&self, b: &mut Batches, u: &Undo, seq_fence: u64) -> Result<(), StoreError> {
        let id = u.id;
        // The keys the write added, whether or not the lead's own record landed.
        if !u.new_rank.is_empty() {
            b.by_rank.remove(u.new_rank.as_slice());
        }
        if let Some(k) = &u.new_followup {
            b.by_followup.remove(k.as_slice());
        }
        if let Some(current) = self.lead(id)? {
            b.by_rank.remove(&self.rank_key(&current));
            if let Some(at) = current.next_action {
                b.by_followup.remove(&keys::followup(at, id));
            }
        }
        match &u.before {
            Some(before) => {
                b.leads
                    .insert(&keys::id(id), codec::encode(super::LEAD_FORMAT, before));
                b.by_rank
                    .insert(&self.rank_key(before), Trees::rank_value(before));
                if let Some(at) = before.next_action {
                    b.by_followup.insert(&keys::followup(at, id), &[]);
                }
            }
            None => b.leads.remove(&keys::id(id)),
        }
        b.edits.retain(self, id, |(_, seq, _)| *seq <= seq_fence)?;
        if let Some(e) = &u.new_email
            && self.find_email(e)? == Some(id)
        {
            b.by_email.remove(e.as_bytes());
        }
        if let Some(p) = &u.new_phone
            && self.find_phone(p)? == Some(id)
        {
            b.by_phone.remove(p.as_bytes());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde::Serialize;

    use super::*;
    use crate::domain::NewLead;
    use crate::domain::lead::DedupeKeys;

    /// Format 1 as an older leadq wrote it (field for field `JournalV1`).
    #[derive(Serialize)]
    struct OldJournal {
        seq_fence: u64,
        leads: Vec<OldUndo>,
    }

    #[derive(Serialize)]
    struct OldUndo {
        id: LeadId,
        before: Option<Lead>,
        new_email: Option<String>,
        new_phone: Option<String>,
    }

    /// A crash of an older leadq part-way through an import leaves a format-1 journal; this
    /// leadq must still take that import back on open, not refuse the store.
    #[test]
    fn a_format_1_journal_from_an_older_leadq_is_still_taken_back() -> Result<(), StoreError> {
        let store = Store::temporary()?;
        let id = store.reserve_id();
        let request = NewLead {
            name: "Ann Lee".into(),
            email: Some("ann@x.example".into()),
            ..NewLead::default()
        };
        let lead = Lead::from_request(id, &request, 0);
        let seq_fence = store.read()?.db.generate_id()?;
        let write = LeadWrite {
            before: None,
            after: lead.clone(),
            keys: DedupeKeys {
                email: lead.email.clone(),
                phone: None,
            },
            unkeys: Default::default(),
            gone: None,
            append: vec![],
            remove: vec![],
        };
        store.commit_unflushed(&[write], None)?;
        let old = OldJournal {
            seq_fence,
            leads: vec![OldUndo {
                id,
                before: None,
                new_email: lead.email.clone(),
                new_phone: None,
            }],
        };
        store
            .read()?
            .meta
            .insert(META_PENDING, codec::encode(1, &old))?;
        assert!(store.lead(id)?.is_some());

        store.writing(0, |t, _| t.recover_bulk().map_err(Failure::During))?;
        assert!(store.lead(id)?.is_none());
        assert_eq!(store.find_email("ann@x.example")?, None);
        assert_eq!(store.ranked().count(), 0);
        assert!(
            store.read()?.meta.get(META_PENDING)?.is_none(),
            "the journal is gone"
        );
        assert_eq!(store.lead_count()?, 0, "the count follows the rollback");
        Ok(())
    }
}
