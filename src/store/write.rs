//! Staging and applying writes. A write is staged (read, encoded, counted) before anything is
//! changed, so an error there leaves the store as it was; an error once it is being applied
//! may have left part of it in sled's memory, which `Store::writing` must never serve.

use std::sync::atomic::{AtomicU64, Ordering};

use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

use super::health::Counts;
use super::ops::Ops;
use super::{
    LEAD_FORMAT, LeadWrite, META_NEXT_ID, META_NEXT_SEQ, META_RULES, StoreError, TimelineKey,
    Trees, codec, keys, timeline,
};
use crate::domain::Interaction;

/// How a write failed: before it changed anything, or while it was being applied.
pub(super) enum Failure {
    Before(StoreError),
    During(StoreError),
}

impl From<sled::Error> for Failure {
    /// A sled error met while staging (a read, an id) changed nothing.
    fn from(e: sled::Error) -> Failure {
        Failure::Before(e.into())
    }
}

impl From<StoreError> for Failure {
    /// Errors of staging (reading what a write changes) come before anything is applied.
    fn from(e: StoreError) -> Failure {
        Failure::Before(e)
    }
}

/// The changes of a write, per tree, and what it does to the counts.
#[derive(Default)]
pub(super) struct Batches {
    pub meta: Ops,
    pub leads: Ops,
    pub timeline: Ops,
    pub by_email: Ops,
    pub by_phone: Ops,
    pub by_rank: Ops,
    pub by_followup: Ops,
    pub tallies: Ops,
    pub by_change: Ops,
    pub by_wait: Ops,
    pub by_response: Ops,
    pub tags: Ops,
    pub by_tag: Ops,
    pub tag_tallies: Ops,
    pub reports: Ops,
    /// How the write moves the report rows (turned into `reports` at the end).
    pub report_deltas: std::collections::BTreeMap<Vec<u8>, crate::domain::report::Counters>,
    /// Each lead's timeline as the writes staged so far leave it (for the reports).
    pub report_timelines:
        std::collections::HashMap<crate::domain::LeadId, Vec<(TimelineKey, Interaction)>>,
    pub not_dupes: Ops,
    pub merged: Ops,
    pub erased: Ops,
    /// How many leads carry each tag, moved by the write (turned into `tags` at the end).
    pub tag_deltas: std::collections::BTreeMap<Vec<u8>, i64>,
    /// How many leads of each tag have each tally, moved by the write (turned into
    /// `tag_tallies` at the end).
    pub tag_tally_deltas: std::collections::BTreeMap<Vec<u8>, i64>,
    /// How the write moves the kept counts, by tally (turned into `tallies` at the end).
    pub tally_deltas: std::collections::BTreeMap<Vec<u8>, i64>,
    /// The kept counts once the write is applied.
    pub tallies_after: Option<super::derived::TallyMap>,
    /// Timeline changes, staged into `timeline` before the batches are applied.
    pub edits: timeline::TimelineEdits,
    /// The counts once the write is applied.
    pub counts: Counts,
}

impl Trees {
    /// Stages and applies `writes` as one transaction, without flushing.
    pub(super) fn commit_unflushed(
        &mut self,
        writes: &[LeadWrite],
        rules_fingerprint: Option<u64>,
        ids: &AtomicU64,
    ) -> Result<Vec<TimelineKey>, Failure> {
        self.commit_unflushed_with(writes, rules_fingerprint, ids, &[])
    }

    /// As `commit_unflushed`, with meta entries written in the same transaction.
    pub(super) fn commit_unflushed_with(
        &mut self,
        writes: &[LeadWrite],
        rules_fingerprint: Option<u64>,
        ids: &AtomicU64,
        meta: &[(Vec<u8>, Vec<u8>)],
    ) -> Result<Vec<TimelineKey>, Failure> {
        let (mut b, appended) = self.stage(
            writes,
            rules_fingerprint,
            ids,
            self.counts,
            &self.tally_counts,
            &mut super::derived::Carry::default(),
        )?;
        for (k, v) in meta {
            b.meta.insert(k.as_slice(), v.as_slice());
        }
        let counts = b.counts;
        let tallies = b.tallies_after.take();
        self.apply(&b).map_err(Failure::During)?;
        self.counts = counts;
        if let Some(t) = tallies {
            self.tally_counts = t;
        }
        Ok(appended)
    }

    /// The batches that make `writes` (on top of `counts`), and the timeline entries they
    /// append. Reads the store; changes nothing.
    pub(super) fn stage(
        &self,
        writes: &[LeadWrite],
        rules_fingerprint: Option<u64>,
        ids: &AtomicU64,
        counts: Counts,
        tallies: &super::derived::TallyMap,
        carry: &mut super::derived::Carry,
    ) -> Result<(Batches, Vec<TimelineKey>), StoreError> {
        let mut b = Batches {
            counts: Counts {
                generation: counts.generation + 1,
                ..counts
            },
            ..Batches::default()
        };
        let mut appended = Vec::new();
        for w in writes {
            self.stage_write(&mut b, w, &mut appended)?;
        }
        let removed = std::mem::take(&mut b.edits).stage(&mut b.timeline);
        b.counts.interactions = b.counts.interactions.saturating_sub(removed);
        b.meta
            .insert(META_NEXT_ID, &ids.load(Ordering::SeqCst).to_be_bytes());
        b.meta.insert(
            META_NEXT_SEQ,
            &self.seq.load(Ordering::SeqCst).to_be_bytes(),
        );
        if let Some(fp) = rules_fingerprint {
            b.meta.insert(META_RULES, &fp.to_be_bytes());
        }
        let (key, value) = b.counts.meta_entry();
        b.meta.insert(key, &value);
        self.stage_tallies(&mut b, tallies);
        self.stage_tags(&mut b, carry)?;
        self.stage_report_rows(&mut b, carry)?;
        Ok((b, appended))
    }

    fn stage_write(
        &self,
        b: &mut Batches,
        w: &LeadWrite,
        appended: &mut Vec<TimelineKey>,
    ) -> Result<(), StoreError> {
        if let Some(gone) = &w.gone {
            return self.stage_gone(b, w, gone);
        }
        let id = w.after.id;
        b.leads
            .insert(&keys::id(id), codec::encode(LEAD_FORMAT, &w.after));
        if w.before.is_none() {
            b.counts.leads += 1;
            // A lead merged away and brought back (the merge undone) names itself again.
            b.merged.remove(&keys::id(id));
        }
        if let Some(e) = &w.unkeys.email
            && w.keys.email.as_ref() != Some(e)
            && self.find_email(e)? == Some(id)
        {
            b.by_email.remove(e.as_bytes());
        }
        if let Some(p) = &w.unkeys.phone
            && w.keys.phone.as_ref() != Some(p)
            && self.find_phone(p)? == Some(id)
        {
            b.by_phone.remove(p.as_bytes());
        }
        if let Some(e) = &w.keys.email {
            b.by_email.insert(e.as_bytes(), &keys::id(id));
        }
        if let Some(p) = &w.keys.phone {
            b.by_phone.insert(p.as_bytes(), &keys::id(id));
        }
        if let Some(old) = &w.before {
            b.by_rank.remove(&self.rank_key(old));
            if let Some(at) = old.next_action {
                b.by_followup.remove(&keys::followup(at, id));
            }
        }
        b.by_rank
            .insert(&self.rank_key(&w.after), Trees::rank_value(&w.after));
        if let Some(at) = w.after.next_action {
            b.by_followup.insert(&keys::followup(at, id), &[]);
        }
        self.stage_derived(b, w.before.as_ref(), &w.after);
        for i in &w.append {
            let seq = self.seq.fetch_add(1, Ordering::SeqCst);
            b.edits.append(
                self,
                id,
                w.before.is_none(),
                (i.at, seq, super::Store::encode_interaction(i)),
            )?;
            b.counts.interactions += 1;
            appended.push(TimelineKey {
                lead: id,
                at: i.at,
                seq,
            });
        }
        for k in &w.remove {
            b.edits.remove(self, k)?;
        }
        self.stage_reports(b, w, appended)
    }

    /// A lead leaving the store: its record, its index entries and derived data, the dedupe
    /// keys named in `unkeys` (those still naming it), its timeline entries named in `remove`.
    fn stage_gone(
        &self,
        b: &mut Batches,
        w: &LeadWrite,
        gone: &super::Gone,
    ) -> Result<(), StoreError> {
        let Some(old) = &w.before else {
            return Err(StoreError::Corrupt {
                what: "write",
                reason: "a lead leaving the store without its record".into(),
            });
        };
        let id = old.id;
        b.leads.remove(&keys::id(id));
        b.counts.leads = b.counts.leads.saturating_sub(1);
        if let Some(e) = &w.unkeys.email
            && self.find_email(e)? == Some(id)
        {
            b.by_email.remove(e.as_bytes());
        }
        if let Some(p) = &w.unkeys.phone
            && self.find_phone(p)? == Some(id)
        {
            b.by_phone.remove(p.as_bytes());
        }
        b.by_rank.remove(&self.rank_key(old));
        if let Some(at) = old.next_action {
            b.by_followup.remove(&keys::followup(at, id));
        }
        self.stage_derived_gone(b, old);
        match gone {
            super::Gone::MergedInto(keep) => b.merged.insert(&keys::id(id), &keys::id(*keep)),
            super::Gone::Erased { by, at } => {
                b.erased
                    .insert(&keys::id(id), format!("{by}\t{at}").as_bytes());
                b.meta.insert(super::META_REWRITE_DUE, &[1u8]);
            }
        }
        for k in &w.remove {
            b.edits.remove(self, k)?;
        }
        self.stage_reports(b, w, &[])
    }

    /// Notes the keys a write changes, while a snapshot is being copied (`backup`): they are
    /// copied again, as they are once it ends.
    fn note_changes(&self, b: &Batches) {
        let mut dirty = self.dirty.lock();
        let Some(d) = dirty.as_mut() else { return };
        for (tree, ops) in [
            ("leads", &b.leads),
            ("timelines", &b.timeline),
            ("by_email", &b.by_email),
            ("by_phone", &b.by_phone),
            ("by_rank", &b.by_rank),
            ("by_followup", &b.by_followup),
            ("tallies", &b.tallies),
            ("by_change", &b.by_change),
            ("by_wait", &b.by_wait),
            ("by_response", &b.by_response),
            ("tags", &b.tags),
            ("by_tag", &b.by_tag),
            ("tag_tallies", &b.tag_tallies),
            ("reports", &b.reports),
            ("not_dupes", &b.not_dupes),
            ("merged", &b.merged),
            ("erased", &b.erased),
        ] {
            let keys = d.entry(tree).or_default();
            keys.extend(ops.keys().map(|k| k.to_vec()));
        }
    }

    /// Applies staged batches as one transaction across every tree.
    pub(super) fn apply(&self, b: &Batches) -> Result<(), StoreError> {
        self.note_changes(b);
        let trees = [
            &self.meta,
            &self.leads,
            &self.timeline,
            &self.by_email,
            &self.by_phone,
            &self.by_rank,
            &self.by_followup,
            &self.tallies,
            &self.by_change,
            &self.by_wait,
            &self.by_response,
            &self.tags,
            &self.by_tag,
            &self.tag_tallies,
            &self.reports,
            &self.not_dupes,
            &self.merged,
            &self.erased,
        ];
        let batches = [
            b.meta.to_batch(),
            b.leads.to_batch(),
            b.timeline.to_batch(),
            b.by_email.to_batch(),
            b.by_phone.to_batch(),
            b.by_rank.to_batch(),
            b.by_followup.to_batch(),
            b.tallies.to_batch(),
            b.by_change.to_batch(),
            b.by_wait.to_batch(),
            b.by_response.to_batch(),
            b.tags.to_batch(),
            b.by_tag.to_batch(),
            b.tag_tallies.to_batch(),
            b.reports.to_batch(),
            b.not_dupes.to_batch(),
            b.merged.to_batch(),
            b.erased.to_batch(),
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

    /// Applies staged changes key by key, two trees at a time: not atomic at all. Only for
    /// bulk writes, whose journal takes back any part that landed.
    pub(super) fn apply_untransacted(&self, b: Batches) -> Result<(), StoreError> {
        self.note_changes(&b);
        let Batches {
            meta,
            leads,
            timeline,
            by_email,
            by_phone,
            by_rank,
            by_followup,
            tallies,
            by_change,
            by_wait,
            by_response,
            tags,
            by_tag,
            tag_tallies,
            reports,
            ..
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
                .and_then(|()| by_change.apply_each(&self.by_change))
                .and_then(|()| by_wait.apply_each(&self.by_wait))
                .and_then(|()| by_response.apply_each(&self.by_response))
                .and_then(|()| tallies.apply_each(&self.tallies))
                .and_then(|()| tags.apply_each(&self.tags))
                .and_then(|()| by_tag.apply_each(&self.by_tag))
                .and_then(|()| tag_tallies.apply_each(&self.tag_tallies))
                .and_then(|()| reports.apply_each(&self.reports))
                .and_then(|()| meta.apply_each(&self.meta));
            let records = records.join().expect("a store writer thread panicked");
            records.and(indexes)
        })?;
        Ok(())
    }

    /// Records a pair as not one person, flushed.
    pub(super) fn mark_not_dupes(&mut self, key: &[u8], value: &[u8]) -> Result<(), Failure> {
        self.counts.generation += 1;
        let (k, v) = self.counts.meta_entry();
        let mut meta = Ops::default();
        meta.insert(k, &v);
        let mut not_dupes = Ops::default();
        not_dupes.insert(key, value);
        let b = Batches {
            meta,
            not_dupes,
            ..Batches::default()
        };
        self.apply(&b).and_then(|()| self.flush()).map_err(|e| {
            self.counts.generation -= 1;
            Failure::During(e)
        })
    }

    /// Replaces one timeline entry in place (a note added to the call just logged), flushed.
    pub(super) fn rewrite_interaction(
        &mut self,
        key: TimelineKey,
        i: &Interaction,
    ) -> Result<(), Failure> {
        let mut edits = timeline::TimelineEdits::default();
        if !edits.replace(self, &key, super::Store::encode_interaction(i))? {
            return Err(Failure::Before(StoreError::Corrupt {
                what: "timeline entry",
                reason: "it no longer exists".into(),
            }));
        }
        let mut ops = Ops::default();
        edits.stage(&mut ops);
        self.counts.generation += 1;
        let (key, value) = self.counts.meta_entry();
        let mut meta = Ops::default();
        meta.insert(key, &value);
        let b = super::write::Batches {
            meta,
            timeline: ops,
            ..Batches::default()
        };
        let applied = self.apply(&b).and_then(|()| self.flush());
        applied.map_err(|e| {
            self.counts.generation -= 1;
            Failure::During(e)
        })
    }
}
