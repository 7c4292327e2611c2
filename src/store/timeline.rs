//! Timelines, stored in chunks of up to `CHUNK_ENTRIES` interactions per key. sled splits a
//! leaf page at 16 keys and opening a store costs time per page, so one key per interaction
//! made a store of 100k leads and ~1M interactions three times slower to open than the same
//! leads with their timelines packed. Each entry keeps its own versioned interaction record.

use std::collections::{BTreeMap, HashSet, btree_map};

use super::ops::Ops;
use super::{StoreError, TimelineKey, Trees, codec, keys};
use crate::domain::{Interaction, LeadId, Millis};

/// Interactions per chunk: a lead's usual timeline is one chunk; appending rewrites only the
/// last chunk, so a very long timeline costs no more to append to.
pub const CHUNK_ENTRIES: usize = 64;
pub const TIMELINE_FORMAT: u8 = 1;

/// One interaction in a chunk: where it sits and its record (`INTERACTION_FORMAT` + bincode).
type Entry = (Millis, u64, Vec<u8>);

fn decode_chunk(bytes: &[u8]) -> Result<Vec<Entry>, StoreError> {
    codec::decode("timeline chunk", TIMELINE_FORMAT, bytes)
}

/// The records of a stored chunk, in the order stored.
pub(super) fn records(bytes: &[u8]) -> Result<Vec<Vec<u8>>, StoreError> {
    Ok(decode_chunk(bytes)?
        .into_iter()
        .map(|(_, _, r)| r)
        .collect())
}

/// The highest sequence number in a stored chunk (0 for an empty one).
pub(super) fn max_seq(bytes: &[u8]) -> Result<u64, StoreError> {
    Ok(decode_chunk(bytes)?
        .iter()
        .map(|(_, seq, _)| *seq)
        .max()
        .unwrap_or(0))
}

/// How many entries a stored chunk holds.
pub(super) fn chunk_len(bytes: &[u8]) -> Result<usize, StoreError> {
    Ok(decode_chunk(bytes)?.len())
}

impl Trees {
    /// A lead's timeline, oldest first: one range scan.
    pub fn timeline(&self, id: LeadId) -> Result<Vec<(TimelineKey, Interaction)>, StoreError> {
        let mut out = Vec::new();
        for chunk in self.timeline.scan_prefix(keys::id(id)).values() {
            for (at, seq, record) in decode_chunk(&chunk?)? {
                let key = TimelineKey { lead: id, at, seq };
                out.push((key, codec::decode_interaction(&record)?));
            }
        }
        out.sort_by_key(|(k, _)| (k.at, k.seq));
        Ok(out)
    }

    /// Schema 1 -> 2: one key per interaction (lead, at, seq) in the tree `timeline` becomes
    /// chunks in `timelines`. The old tree is dropped once the schema version is raised.
    pub(super) fn repack_timeline(&self, old: &sled::Tree) -> Result<(), StoreError> {
        self.timeline.clear()?;
        let mut edits = TimelineEdits::default();
        for item in old.iter() {
            let (k, v) = item?;
            let (Some(lead), Some(at), Some(seq)) = (
                keys::read_id(&k),
                k.get(8..).and_then(keys::read_time),
                k.get(16..).and_then(keys::read_id),
            ) else {
                return Err(StoreError::Corrupt {
                    what: "timeline",
                    reason: "short key".into(),
                });
            };
            edits.append(self, lead, true, (at, seq, v.to_vec()))?;
            if edits.chunks.len() >= 10_000 {
                let mut ops = Ops::default();
                std::mem::take(&mut edits).stage(&mut ops);
                ops.apply_batch(&self.timeline)?;
            }
        }
        let mut ops = Ops::default();
        edits.stage(&mut ops);
        ops.apply_batch(&self.timeline)?;
        Ok(())
    }
}

/// The chunks one write changes, read from the store once and staged as whole values.
#[derive(Default)]
pub(super) struct TimelineEdits {
    /// Chunk key -> its new entries (empty: remove the key) and whether it changed.
    chunks: BTreeMap<[u8; 12], (Vec<Entry>, bool)>,
    /// Leads whose last chunk is in `chunks` (or that have none).
    tail_loaded: HashSet<LeadId>,
    /// Leads whose every chunk is in `chunks`.
    all_loaded: HashSet<LeadId>,
    /// Entries taken out (undo, a rolled-back import).
    removed: u64,
}

impl TimelineEdits {
    fn load_tail(&mut self, store: &Trees, lead: LeadId) -> Result<(), StoreError> {
        if self.tail_loaded.insert(lead)
            && let Some(item) = store.timeline.scan_prefix(keys::id(lead)).next_back()
        {
            let (k, v) = item?;
            if let btree_map::Entry::Vacant(slot) = self.chunks.entry(chunk_key(&k)?) {
                slot.insert((decode_chunk(&v)?, false));
            }
        }
        Ok(())
    }

    fn load_all(&mut self, store: &Trees, lead: LeadId) -> Result<(), StoreError> {
        if !self.all_loaded.insert(lead) {
            return Ok(());
        }
        for item in store.timeline.scan_prefix(keys::id(lead)) {
            let (k, v) = item?;
            if let btree_map::Entry::Vacant(slot) = self.chunks.entry(chunk_key(&k)?) {
                slot.insert((decode_chunk(&v)?, false));
            }
        }
        self.tail_loaded.insert(lead);
        Ok(())
    }

    fn lead_chunks(
        &mut self,
        lead: LeadId,
    ) -> impl DoubleEndedIterator<Item = (&[u8; 12], &mut (Vec<Entry>, bool))> {
        self.chunks
            .range_mut(keys::timeline_chunk(lead, 0)..=keys::timeline_chunk(lead, u32::MAX))
    }

    /// Adds an entry to the lead's last chunk, or starts a new one. `new_lead`: the lead has
    /// no timeline in the store yet, so there is nothing to read.
    pub(super) fn append(
        &mut self,
        store: &Trees,
        lead: LeadId,
        new_lead: bool,
        entry: Entry,
    ) -> Result<(), StoreError> {
        if !new_lead {
            self.load_tail(store, lead)?;
        }
        let next = match self.lead_chunks(lead).next_back() {
            Some((_, (entries, dirty))) if entries.len() < CHUNK_ENTRIES => {
                entries.push(entry);
                *dirty = true;
                return Ok(());
            }
            Some((key, _)) => keys::read_chunk_number(key).saturating_add(1),
            None => 0,
        };
        self.chunks
            .insert(keys::timeline_chunk(lead, next), (vec![entry], true));
        Ok(())
    }

    /// Replaces the record of one entry; false if there is no such entry.
    pub(super) fn replace(
        &mut self,
        store: &Trees,
        k: &TimelineKey,
        record: Vec<u8>,
    ) -> Result<bool, StoreError> {
        self.load_all(store, k.lead)?;
        for (_, (entries, dirty)) in self.lead_chunks(k.lead) {
            if let Some(e) = entries
                .iter_mut()
                .find(|(at, seq, _)| (*at, *seq) == (k.at, k.seq))
            {
                e.2 = record;
                *dirty = true;
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Takes an entry out; an entry that is not there is no error (undo is idempotent).
    pub(super) fn remove(&mut self, store: &Trees, k: &TimelineKey) -> Result<(), StoreError> {
        self.retain(store, k.lead, |(at, seq, _)| (*at, *seq) != (k.at, k.seq))
    }

    /// Keeps only the lead's entries for which `keep` holds.
    pub(super) fn retain(
        &mut self,
        store: &Trees,
        lead: LeadId,
        mut keep: impl FnMut(&Entry) -> bool,
    ) -> Result<(), StoreError> {
        self.load_all(store, lead)?;
        let mut removed = 0;
        for (_, (entries, dirty)) in self.lead_chunks(lead) {
            let before = entries.len();
            entries.retain(&mut keep);
            *dirty |= entries.len() != before;
            removed += (before - entries.len()) as u64;
        }
        self.removed += removed;
        Ok(())
    }

    /// Every changed chunk into the batch for the timeline tree; returns how many entries
    /// were taken out.
    pub(super) fn stage(self, batch: &mut Ops) -> u64 {
        let removed = self.removed;
        for (key, (entries, dirty)) in self.chunks {
            match (dirty, entries.is_empty()) {
                (false, _) => {}
                (true, true) => batch.remove(&key),
                (true, false) => batch.insert(&key, codec::encode(TIMELINE_FORMAT, &entries)),
            }
        }
        removed
    }
}

fn chunk_key(k: &[u8]) -> Result<[u8; 12], StoreError> {
    k.try_into().map_err(|_| StoreError::Corrupt {
        what: "timeline",
        reason: format!("a chunk key of {} bytes", k.len()),
    })
}
