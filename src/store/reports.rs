//! The reports' sums (`domain::report`): one row of counters per measure, local day, owner,
//! source and tag, in the tree `reports`. Each write takes away the part the lead's record and
//! timeline added before and adds the part they add after, in the same write; the rows are
//! counted again from every lead and timeline by `rebuild_reports` (with the other derived
//! data) and checked against such a count by `verify_reports`.

use std::collections::{BTreeMap, HashMap};

use super::write::Batches;
use super::{LeadWrite, Store, StoreError, TimelineKey, Trees};
use super::{codec, keys};
use crate::domain::report::{self, Cell, Contribution, Counters, Measure};
use crate::domain::{Interaction, Lead};

/// The report rows by their keys, as a recount makes them.
type Rows = BTreeMap<Vec<u8>, Counters>;

/// Leads per write when the rows are written anew.
const REBUILD_BATCH: usize = 256;

/// What of a lead the reports read besides its timeline.
fn signature(
    l: &Lead,
) -> (
    &Option<String>,
    &Option<String>,
    &Vec<String>,
    crate::domain::Stage,
    i64,
) {
    (&l.owner, &l.source, &l.tags, l.stage, l.created)
}

impl Trees {
    /// Stages what write `w` does to the report rows. `appended`: the keys the write's new
    /// timeline entries got, in order. A write that leaves the timeline and what the reports
    /// read of the lead alone (a rescore, a snooze) costs nothing here.
    pub(super) fn stage_reports(
        &self,
        b: &mut Batches,
        w: &LeadWrite,
        appended: &[TimelineKey],
    ) -> Result<(), StoreError> {
        let gone = w.gone.is_some();
        let id = match (&w.before, gone) {
            (Some(l), true) => l.id,
            _ => w.after.id,
        };
        let touched = gone
            || !w.append.is_empty()
            || !w.remove.is_empty()
            || w.before
                .as_ref()
                .is_none_or(|l| signature(l) != signature(&w.after));
        if !touched {
            return Ok(());
        }
        // The timeline as the writes staged so far leave it.
        let timeline = match b.report_timelines.remove(&id) {
            Some(t) => t,
            None if w.before.is_some() => self.timeline(id)?,
            None => Vec::new(),
        };
        let before = match &w.before {
            Some(l) => {
                report::contribution(l, &timeline.iter().map(|(_, i)| i).collect::<Vec<_>>())
            }
            None => Contribution::new(),
        };
        let mut after_timeline = timeline;
        after_timeline.retain(|(k, _)| !w.remove.iter().any(|r| r.at == k.at && r.seq == k.seq));
        let after = if gone {
            Contribution::new()
        } else {
            let keys = &appended[appended.len().saturating_sub(w.append.len())..];
            after_timeline.extend(keys.iter().copied().zip(w.append.iter().cloned()));
            report::contribution(
                &w.after,
                &after_timeline.iter().map(|(_, i)| i).collect::<Vec<_>>(),
            )
        };
        for (cell, counters) in report::difference(&before, &after) {
            let row = b.report_deltas.entry(cell.encode()).or_default();
            for (i, n) in counters {
                *row.entry(i).or_default() += n;
            }
        }
        if !gone {
            b.report_timelines.insert(id, after_timeline);
        }
        Ok(())
    }

    /// Turns the staged report changes into the rows they leave.
    pub(super) fn stage_report_rows(
        &self,
        b: &mut Batches,
        carry: &mut super::derived::Carry,
    ) -> Result<(), StoreError> {
        for (key, delta) in std::mem::take(&mut b.report_deltas) {
            let mut row = match carry.reports.get(&key) {
                Some(row) => row.clone(),
                None => match self.reports.get(&key)? {
                    Some(v) => read_row(&v)?,
                    None => Counters::new(),
                },
            };
            for (i, n) in delta {
                *row.entry(i).or_default() += n;
            }
            row.retain(|_, n| *n > 0);
            if row.is_empty() {
                b.reports.remove(key.as_slice());
            } else {
                b.reports
                    .insert(key.as_slice(), report::encode_counters(&row));
            }
            carry.reports.insert(key, row);
        }
        b.report_timelines.clear();
        Ok(())
    }

    /// Every lead's part, counted from the leads and their timelines (both read in id order,
    /// side by side).
    fn recount_reports(&self) -> Result<Rows, StoreError> {
        let mut rows: HashMap<Cell, Counters> = HashMap::new();
        let mut chunks = self.timeline.iter().peekable();
        for v in self.leads.iter().values() {
            let lead: Lead = codec::decode_lead(&v?)?;
            let mut timeline: Vec<Interaction> = Vec::new();
            let id = keys::id(lead.id);
            // Chunks of leads that are not there (none should be) are passed over.
            while let Some(Ok((k, _))) = chunks.peek() {
                if k.get(..8).is_some_and(|p| p < &id[..]) {
                    chunks.next();
                } else {
                    break;
                }
            }
            while let Some(Ok((k, _))) = chunks.peek() {
                if k.get(..8) != Some(&id[..]) {
                    break;
                }
                let Some(Ok((_, chunk))) = chunks.next() else {
                    break;
                };
                for record in super::timeline::records(&chunk)? {
                    timeline.push(codec::decode_interaction(&record)?);
                }
            }
            if let Some(Err(_)) = chunks.peek()
                && let Some(Err(e)) = chunks.next()
            {
                return Err(e.into());
            }
            for (cell, counters) in
                report::contribution(&lead, &timeline.iter().collect::<Vec<_>>())
            {
                let row = rows.entry(cell).or_default();
                for (i, n) in counters {
                    *row.entry(i).or_default() += n;
                }
            }
        }
        // As kept: a counter of nothing is no counter (a close at score 0 adds 0).
        Ok(rows
            .into_iter()
            .filter_map(|(c, mut r)| {
                r.retain(|_, n| *n != 0);
                (!r.is_empty()).then(|| (c.encode(), r))
            })
            .collect())
    }

    /// Writes the report rows anew from a recount (not flushed).
    pub(super) fn rebuild_reports(&self) -> Result<(), StoreError> {
        let rows = self.recount_reports()?;
        self.reports.clear()?;
        let rows: Vec<_> = rows.into_iter().collect();
        for chunk in rows.chunks(REBUILD_BATCH) {
            let mut batch = sled::Batch::default();
            for (k, r) in chunk {
                batch.insert(k.as_slice(), report::encode_counters(r));
            }
            self.reports.apply_batch(batch)?;
        }
        Ok(())
    }

    /// How the kept rows differ from a recount (empty: not at all).
    pub(super) fn verify_reports(&self) -> Result<Option<String>, StoreError> {
        let want = self.recount_reports()?;
        let mut kept = Rows::new();
        for item in self.reports.iter() {
            let (k, v) = item?;
            kept.insert(k.to_vec(), read_row(&v)?);
        }
        if kept == want {
            return Ok(None);
        }
        let differ = want
            .keys()
            .chain(kept.keys())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .filter(|k| want.get(*k) != kept.get(*k))
            .count();
        Ok(Some(format!(
            "{}the reports' sums differ from a recount in {differ} of their {} rows",
            super::derived::DERIVED,
            want.len().max(kept.len())
        )))
    }

    /// The rows of `measure` for the local days `from..=to` (of `tag`, or of every lead),
    /// one read.
    pub(super) fn report_rows(
        &self,
        measure: Measure,
        from: i32,
        to: i32,
        tag: &str,
    ) -> Result<Vec<(Cell, Counters)>, StoreError> {
        let start = Cell::day_start(measure, from);
        let end = match to.checked_add(1) {
            Some(next) => Cell::day_start(measure, next),
            None => vec![measure as u8 + 1],
        };
        let tag = tag.trim().to_lowercase();
        let mut out = Vec::new();
        for item in self.reports.range(start..end) {
            let (k, v) = item?;
            let cell = Cell::decode(&k).ok_or_else(|| unreadable("a key"))?;
            if cell.tag == tag {
                out.push((cell, read_row(&v)?));
            }
        }
        Ok(out)
    }
}

fn read_row(v: &[u8]) -> Result<Counters, StoreError> {
    report::decode_counters(v).ok_or_else(|| unreadable("a row"))
}

fn unreadable(what: &str) -> StoreError {
    StoreError::Corrupt {
        what: "reports",
        reason: format!("{what} leadq cannot read"),
    }
}

impl Store {
    /// The first local day a measure has a row for.
    pub fn first_report_day(&self, measure: Measure) -> Result<Option<i32>, StoreError> {
        let t = self.read()?;
        let r = (|| {
            let start = Cell::day_start(measure, i32::MIN);
            let Some(item) = t.reports.range(start..).next() else {
                return Ok(None);
            };
            let (k, _) = item?;
            Ok(Cell::decode(&k)
                .filter(|c| c.measure == measure)
                .map(|c| c.day))
        })();
        self.seen(r)
    }

    /// The report rows of `measure` for local days `from..=to`, of the leads carrying `tag`
    /// (None: of every lead).
    pub fn report_rows(
        &self,
        measure: Measure,
        from: i32,
        to: i32,
        tag: Option<&str>,
    ) -> Result<Vec<(Cell, Counters)>, StoreError> {
        let t = self.read()?;
        let r = t.report_rows(measure, from, to, tag.unwrap_or(""));
        self.seen(r)
    }

    /// Takes away every row of `measure`, as a store from before the measure was kept
    /// lacks them (for tests of the migration that adds it).
    #[doc(hidden)]
    pub fn drop_report_rows_for_test(&self, measure: Measure) -> Result<(), StoreError> {
        self.writing(0, |t, _| {
            let drop = || -> Result<(), StoreError> {
                let start = Cell::day_start(measure, i32::MIN);
                for k in t.reports.range(start..).keys() {
                    let k = k?;
                    if k.first() != Some(&(measure as u8)) {
                        break;
                    }
                    t.reports.remove(k)?;
                }
                t.flush()
            };
            drop().map_err(super::write::Failure::During)
        })
    }
}
