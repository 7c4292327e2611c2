//! Rescoring the whole store (a new model put to use, a new rules file): every lead's record
//! and rank key are rewritten, and nothing else. That is too big for one transaction and too
//! slow as many (a sled transaction reads every key it writes: 43 µs a lead), so each chunk
//! is applied tree by tree, unflushed, with the gate held (readers see a chunk whole or not at
//! all). A mark, flushed before the first chunk and taken away after the last flush, makes
//! it safe across a crash: a store opened with the mark still there had a rescore cut short,
//! and its rank index and derived data are rebuilt from the lead records. Each record is one
//! key, so whatever mix of old and new scores the records hold, the index then agrees with them.

use super::health::Counts;
use super::write::{Batches, Failure};
use super::{LEAD_FORMAT, LeadWrite, Store, StoreError, Trees, codec, keys};

/// Where the mark is kept: the bulk write's journal tree (never in `meta`, whose counts entry
/// each chunk rewrites).
const MARK_TREE: &str = "journal";
const MARK: &[u8] = b"rescore_in_progress";

impl Store {
    /// Starts a rescore: the mark, flushed.
    pub fn begin_rescore(&self) -> Result<(), StoreError> {
        self.writing(64, |t, _| {
            let during = |e: StoreError| Failure::During(e);
            let marks = t.db.open_tree(MARK_TREE)?;
            marks
                .insert(MARK, &[1u8][..])
                .map_err(|e| during(e.into()))?;
            t.flush().map_err(during)
        })
    }

    /// Rewrites one chunk of leads' scores, unflushed. Every write must be a rescore: a lead
    /// as it was and as it is now, with the same contact keys, timeline and follow-up.
    pub fn rescore_chunk(&self, writes: &[LeadWrite]) -> Result<(), StoreError> {
        if let Some(w) = writes.iter().find(|w| !is_rescore(w)) {
            return Err(StoreError::Corrupt {
                what: "rescore",
                reason: format!("lead {} changes more than its score", w.after.id),
            });
        }
        self.writing(super::size_of(writes), |t, _| {
            let mut b = t.stage_rescore(writes)?;
            let counts = b.counts;
            let tallies = b.tallies_after.take();
            t.apply_untransacted(b).map_err(Failure::During)?;
            t.counts = counts;
            if let Some(tallies) = tallies {
                t.tally_counts = tallies;
            }
            Ok(())
        })
    }

    /// Test hook: a rescore cut short as a crash may leave it: the mark, and of `writes`
    /// the lead records without their rank keys, flushed. The next open must mend the index.
    #[doc(hidden)]
    pub fn rescore_cut_short(&self, writes: &[LeadWrite]) -> Result<(), StoreError> {
        self.begin_rescore()?;
        self.writing(0, |t, _| {
            let b = t.stage_rescore(writes)?;
            b.leads.apply_each(&t.leads)?;
            t.flush().map_err(Failure::During)
        })
    }

    /// Ends a rescore: flushed with the rules' fingerprint, then the mark taken away.
    pub fn end_rescore(&self, rules_fingerprint: Option<u64>) -> Result<(), StoreError> {
        self.writing(64, |t, ids| {
            let during = |e: StoreError| Failure::During(e);
            let (b, _) = t.stage(
                &[],
                rules_fingerprint,
                ids,
                t.counts,
                &t.tally_counts,
                &mut super::derived::Carry::default(),
            )?;
            let counts = b.counts;
            t.apply(&b).map_err(during)?;
            t.counts = counts;
            t.flush().map_err(during)?;
            t.db.open_tree(MARK_TREE)?
                .remove(MARK)
                .map_err(|e| during(e.into()))?;
            t.flush().map_err(during)
        })
    }
}

/// Whether a write only rescores a lead (all a chunk applied without a transaction may do).
fn is_rescore(w: &LeadWrite) -> bool {
    let Some(before) = &w.before else {
        return false;
    };
    w.append.is_empty()
        && w.remove.is_empty()
        && w.keys.email.is_none()
        && w.keys.phone.is_none()
        && before.id == w.after.id
        && before.next_action == w.after.next_action
}

impl Trees {
    /// The changes of a chunk of rescores: each lead's record, and its rank key moved. The
    /// rank keys go out and in sorted (all out before any in: one lead's new key may be its
    /// old), so that sled walks its index in order.
    fn stage_rescore(&self, writes: &[LeadWrite]) -> Result<Batches, StoreError> {
        let mut b = Batches {
            counts: Counts {
                generation: self.counts.generation + 1,
                ..self.counts
            },
            ..Batches::default()
        };
        let mut out = Vec::with_capacity(writes.len());
        let mut into = Vec::with_capacity(writes.len());
        for w in writes {
            b.leads
                .insert(&keys::id(w.after.id), codec::encode(LEAD_FORMAT, &w.after));
            if let Some(before) = &w.before {
                out.push(self.rank_key(before));
            }
            into.push((self.rank_key(&w.after), Trees::rank_value(&w.after)));
            self.stage_derived(&mut b, w.before.as_ref(), &w.after);
        }
        out.sort_unstable();
        into.sort_unstable();
        for k in &out {
            b.by_rank.remove(k);
        }
        for (k, v) in &into {
            b.by_rank.insert(k, v.as_slice());
        }
        let (key, value) = b.counts.meta_entry();
        b.meta.insert(key, &value);
        self.stage_tallies(&mut b, &self.tally_counts);
        // A lead's temperature moves its tag's counts.
        self.stage_tags(&mut b, &mut super::derived::Carry::default())?;
        Ok(b)
    }

    /// On open: a rescore cut short leaves the mark; the rank index is rebuilt from the leads.
    pub(super) fn recover_rescore(&mut self) -> Result<(), StoreError> {
        let marks = self.db.open_tree(MARK_TREE)?;
        if marks.get(MARK)?.is_none() {
            return Ok(());
        }
        self.rebuild_derived()?;
        self.flush()?;
        marks.remove(MARK)?;
        self.flush()
    }
}
