//! Derived data kept with every write: the one place where what is counted or indexed from the
//! leads changes in the same write as the leads, is rebuilt from them by a full scan
//! (`rebuild_derived`: after a cut-short bulk write or rescore, a migration, `leadq doctor
//! --recount`), and is checked against such a recount (`verify_derived`).
//!
//! Kept here:
//! - `tallies`: how many leads there are of each `Tally` (class, temperature, stage, owner,
//!   source), as their records stand. Header counts and view totals are sums over them.
//! - `by_change`: each lead filed under the moment time alone changes its tally or its score
//!   (`tally::next_change`). Counts and views as of a later moment recount only the leads
//!   filed before it; the minute tick rewrites them so the list stays short.
//! - `by_wait`: each waiting lead (snoozed, or a nurture lead before its revisit date) under
//!   the moment it stops waiting, so the follow-ups due today can count the leads whose wait
//!   ends later today without reading every lead that changes today.
//! - `by_rank`: the queue index (`keys::rank`): each lead under its class and its score as its
//!   record stands, with its tally, so that a view reads a page from either end of it.
//! - `tags`: how many leads of each owner (or of the pool) carry each tag, so that a rep's
//!   completion offers the tags of the leads they may see.
//! - `by_tag` and `tag_tallies`: the queue index and the kept counts by tally of each tag
//!   (`keys::tag_prefix` before a rank key or a tally), so that a view of one tag reads its
//!   page and its total as the queue's are read, not the tag's every lead.
//! - `by_email`, `by_phone`: the dedupe keys (a normalised e-mail; a phone's digits with the
//!   country code, `Store::use_country_code`), each naming its lead. Where two leads hold one
//!   key (an import told not to merge), the later lead's id is filed, as the writes file it.
//!
//! A lead's entries are functions of its record (and, for the moment, of the rules' decay and
//! thresholds, which are set with `Store::use_rules`: other rules rebuild `by_change`).

use std::collections::BTreeMap;
use std::sync::Arc;

use super::write::Batches;
use super::{Store, StoreError, Trees, codec, keys};
use crate::domain::dedupe;
use crate::domain::scoring::Rules;
use crate::domain::tally::{self, Tally};
use crate::domain::{Lead, LeadId, Millis};

/// How many leads have each tally, by its bytes.
pub type TallyMap = BTreeMap<Vec<u8>, u64>;

/// When a web lead waiting for its first touch has it due (None: not such a lead).
fn response_due(lead: &Lead) -> Option<Millis> {
    lead.awaiting().then_some(lead.response_due).flatten()
}

/// The entries of an index, key and value, in key order.
type Filed = Vec<(Vec<u8>, Vec<u8>)>;

/// What a recount finds: the tallies, the index of coming changes, the queue index.
struct Recount {
    tallies: TallyMap,
    changes: Filed,
    waits: Filed,
    /// Web leads waiting for a first touch, by when it is due.
    responses: Filed,
    ranks: Filed,
    emails: Filed,
    /// The phone index, when the store knows its country code.
    phones: Option<Filed>,
    tags: TallyMap,
    members: Members,
    tag_tallies: TallyMap,
}

/// Each tag's queue index (as many entries as the queue's own, for a lead with one tag) as a
/// recount has it: every entry, to write; or, to check the kept index, only how the kept
/// index differs, found by looking each entry up (a check holds no copy of it in memory).
enum Members {
    Collect(Filed),
    Check {
        /// Entries the leads make, those the kept index lacks, and those it holds with
        /// another value.
        expected: usize,
        missing: usize,
        wrong: usize,
    },
}

impl Members {
    /// The entries collected (none, for a check).
    fn filed(self) -> Filed {
        match self {
            Members::Collect(filed) => filed,
            Members::Check { .. } => Vec::new(),
        }
    }
}

/// The counts a staged write leaves in the trees whose entries it reads and writes back
/// (`tags`, `tag_tallies`, `reports`), for a bulk write's next chunk, staged before the last
/// one has landed. Zero or empty: the entry goes.
#[derive(Default)]
pub(super) struct Carry {
    tags: std::collections::HashMap<Vec<u8>, u64>,
    tag_tallies: std::collections::HashMap<Vec<u8>, u64>,
    pub(super) reports: std::collections::HashMap<Vec<u8>, crate::domain::report::Counters>,
}

/// How a problem with the derived data starts (`Problem::rebuildable`).
pub(super) const DERIVED: &str = "derived data: ";

/// Entries per write when derived data is rebuilt.
const REBUILD_BATCH: usize = 256;

/// The meta entry that names the rules `by_change` was filed with.
const META_CHANGE_RULES: &[u8] = b"change_rules";

/// The meta entry that names the country code `by_phone` was filed with.
const META_COUNTRY_CODE: &[u8] = b"country_code";

impl Trees {
    /// Stages what a lead's write does to the derived data: its tally moves, its moment of
    /// change is filed again.
    pub(super) fn stage_derived(&self, b: &mut Batches, before: Option<&Lead>, after: &Lead) {
        let old = before.map(Tally::of);
        let new = Tally::of(after);
        if old.as_ref() != Some(&new) {
            if let Some(o) = old {
                *b.tally_deltas.entry(o.encode()).or_default() -= 1;
            }
            *b.tally_deltas.entry(new.encode()).or_default() += 1;
        }
        let was = before.and_then(|l| tally::next_change(&self.rules, l));
        let will = tally::next_change(&self.rules, after);
        if was != will {
            if let Some(at) = was {
                b.by_change.remove(&keys::followup(at, after.id));
            }
            if let Some(at) = will {
                b.by_change.insert(&keys::followup(at, after.id), &[]);
            }
        }
        let old: Vec<Vec<u8>> = before.map_or_else(Vec::new, tag_keys);
        let new = tag_keys(after);
        for k in &new {
            if !old.contains(k) {
                *b.tag_deltas.entry(k.clone()).or_default() += 1;
            }
        }
        for k in old {
            if !new.contains(&k) {
                *b.tag_deltas.entry(k).or_default() -= 1;
            }
        }
        // Each tag's queue index and counts, as the queue's own.
        let new_rank = self.rank_key(after);
        let new_tally = Tally::of(after).encode();
        let new_tags = tag_prefixes(after);
        if let Some(before) = before {
            let old_rank = self.rank_key(before);
            let old_tally = Tally::of(before).encode();
            for p in tag_prefixes(before) {
                if old_rank != new_rank || !new_tags.contains(&p) {
                    b.by_tag.remove(keys::tagged(&p, &old_rank));
                }
                *b.tag_tally_deltas
                    .entry(keys::tagged(&p, &old_tally))
                    .or_default() -= 1;
            }
        }
        let value = Trees::rank_value(after);
        for p in &new_tags {
            b.by_tag
                .insert(keys::tagged(p, &new_rank), value.as_slice());
            *b.tag_tally_deltas
                .entry(keys::tagged(p, &new_tally))
                .or_default() += 1;
        }
        let was = before.and_then(tally::wait_ends);
        let will = tally::wait_ends(after);
        if was != will {
            if let Some(at) = was {
                b.by_wait.remove(&keys::followup(at, after.id));
            }
            if let Some(at) = will {
                b.by_wait.insert(&keys::followup(at, after.id), &[]);
            }
        }
        let was = before.and_then(response_due);
        let will = response_due(after);
        if was != will {
            if let Some(at) = was {
                b.by_response.remove(&keys::followup(at, after.id));
            }
            if let Some(at) = will {
                b.by_response.insert(&keys::followup(at, after.id), &[]);
            }
        }
    }

    /// Stages what a lead leaving the store does to the derived data: its tally, moment of
    /// change, wait and tags go.
    pub(super) fn stage_derived_gone(&self, b: &mut Batches, before: &Lead) {
        *b.tally_deltas
            .entry(Tally::of(before).encode())
            .or_default() -= 1;
        if let Some(at) = tally::next_change(&self.rules, before) {
            b.by_change.remove(&keys::followup(at, before.id));
        }
        if let Some(at) = tally::wait_ends(before) {
            b.by_wait.remove(&keys::followup(at, before.id));
        }
        if let Some(at) = response_due(before) {
            b.by_response.remove(&keys::followup(at, before.id));
        }
        for k in tag_keys(before) {
            *b.tag_deltas.entry(k).or_default() -= 1;
        }
        let rank = self.rank_key(before);
        let tally = Tally::of(before).encode();
        for p in tag_prefixes(before) {
            b.by_tag.remove(keys::tagged(&p, &rank));
            *b.tag_tally_deltas
                .entry(keys::tagged(&p, &tally))
                .or_default() -= 1;
        }
    }

    /// Turns the staged tally changes into the counts they leave (on top of `base`), written
    /// to the `tallies` tree; the counts after are kept in the batches.
    pub(super) fn stage_tallies(&self, b: &mut Batches, base: &TallyMap) {
        let mut after = base.clone();
        for (key, delta) in std::mem::take(&mut b.tally_deltas) {
            if delta == 0 {
                continue;
            }
            let n = after.get(&key).copied().unwrap_or(0);
            let n = n.saturating_add_signed(delta);
            if n == 0 {
                after.remove(&key);
                b.tallies.remove(key);
            } else {
                after.insert(key.clone(), n);
                b.tallies.insert(key, &n.to_be_bytes());
            }
        }
        b.tallies_after = Some(after);
    }

    /// Turns the staged tag changes into the counts they leave in the `tags` tree.
    pub(super) fn stage_tags(&self, b: &mut Batches, carry: &mut Carry) -> Result<(), StoreError> {
        let deltas = [
            (
                std::mem::take(&mut b.tag_deltas),
                &self.tags,
                &mut b.tags,
                &mut carry.tags,
            ),
            (
                std::mem::take(&mut b.tag_tally_deltas),
                &self.tag_tallies,
                &mut b.tag_tallies,
                &mut carry.tag_tallies,
            ),
        ];
        for (deltas, tree, ops, carried) in deltas {
            for (key, delta) in deltas {
                if delta == 0 {
                    continue;
                }
                let n = match carried.get(&key) {
                    Some(n) => *n,
                    None => match tree.get(&key)? {
                        Some(v) => count(&v)?,
                        None => 0,
                    },
                };
                let n = n.saturating_add_signed(delta);
                match n {
                    0 => ops.remove(key.as_slice()),
                    n => ops.insert(key.as_slice(), &n.to_be_bytes()),
                }
                carried.insert(key, n);
            }
        }
        Ok(())
    }

    /// A lead's entries in `by_tag` and its part in `tag_tallies`, for a recount.
    fn count_tags(
        &self,
        lead: &Lead,
        members: &mut Members,
        tag_tallies: &mut TallyMap,
    ) -> Result<(), StoreError> {
        let prefixes = tag_prefixes(lead);
        if prefixes.is_empty() {
            return Ok(());
        }
        let rank = self.rank_key(lead);
        let value = Trees::rank_value(lead);
        let tally = Tally::of(lead).encode();
        for p in prefixes {
            let key = keys::tagged(&p, &rank);
            match members {
                Members::Collect(filed) => filed.push((key, value.clone())),
                Members::Check {
                    expected,
                    missing,
                    wrong,
                } => {
                    *expected += 1;
                    match self.by_tag.get(&key)? {
                        None => *missing += 1,
                        Some(v) if v.as_ref() != value.as_slice() => *wrong += 1,
                        Some(_) => {}
                    }
                }
            }
            *tag_tallies.entry(keys::tagged(&p, &tally)).or_default() += 1;
        }
        Ok(())
    }

    /// Writes the `tags`, `by_tag` and `tag_tallies` trees anew.
    fn write_tags(
        &self,
        tags: &TallyMap,
        members: &Filed,
        tag_tallies: &TallyMap,
    ) -> Result<(), StoreError> {
        for (tree, counts) in [(&self.tags, tags), (&self.tag_tallies, tag_tallies)] {
            tree.clear()?;
            for chunk in counts.iter().collect::<Vec<_>>().chunks(REBUILD_BATCH) {
                let mut batch = sled::Batch::default();
                for (k, n) in chunk {
                    batch.insert(k.as_slice(), &n.to_be_bytes());
                }
                tree.apply_batch(batch)?;
            }
        }
        self.by_tag.clear()?;
        for chunk in members.chunks(REBUILD_BATCH) {
            let mut batch = sled::Batch::default();
            for (k, v) in chunk {
                batch.insert(k.as_slice(), v.as_slice());
            }
            self.by_tag.apply_batch(batch)?;
        }
        Ok(())
    }

    /// Reads the country code the phone index was filed with (on open).
    pub(super) fn load_country_code(&mut self) -> Result<(), StoreError> {
        self.country_code = self
            .meta
            .get(META_COUNTRY_CODE)?
            .map(|v| String::from_utf8_lossy(&v).into_owned());
        Ok(())
    }

    /// The kept tallies as the `tallies` tree holds them.
    fn read_tallies(&self) -> Result<TallyMap, StoreError> {
        let mut map = TallyMap::new();
        for item in self.tallies.iter() {
            let (k, v) = item?;
            let n = v
                .as_ref()
                .try_into()
                .ok()
                .map(u64::from_be_bytes)
                .ok_or_else(|| StoreError::Corrupt {
                    what: "kept counts",
                    reason: format!("a count of {} bytes", v.len()),
                })?;
            map.insert(k.to_vec(), n);
        }
        Ok(map)
    }

    /// Reads the kept tallies (on open).
    pub(super) fn load_tallies(&mut self) -> Result<(), StoreError> {
        self.tally_counts = self.read_tallies()?;
        Ok(())
    }

    /// The tallies, moments of change and queue index entries of every lead, by a full scan.
    /// `check`: the tags' queue index is checked as the scan goes, not collected.
    fn recount_derived(&self, check: bool) -> Result<Recount, StoreError> {
        let mut tallies = TallyMap::new();
        let mut tags = TallyMap::new();
        let mut members = if check {
            Members::Check {
                expected: 0,
                missing: 0,
                wrong: 0,
            }
        } else {
            Members::Collect(Vec::new())
        };
        let mut tag_tallies = TallyMap::new();
        let mut changes = Vec::new();
        let mut waits = Vec::new();
        let mut responses = Vec::new();
        let mut ranks = Vec::with_capacity(self.leads.len());
        let mut emails = BTreeMap::new();
        let mut phones = BTreeMap::new();
        for v in self.leads.iter().values() {
            let lead: Lead = codec::decode_lead(&v?)?;
            // In id order: a later lead's key replaces an earlier one's.
            let id = keys::id(lead.id).to_vec();
            if let Some(e) = &lead.email {
                emails.insert(dedupe::normalize_email(e).into_bytes(), id.clone());
            }
            if let Some(p) = lead.phone.as_deref()
                && let Some(code) = &self.country_code
                && let Ok(p) = dedupe::normalize_phone(p, code)
            {
                phones.insert(p.into_bytes(), id);
            }
            for k in tag_keys(&lead) {
                *tags.entry(k).or_default() += 1;
            }
            self.count_tags(&lead, &mut members, &mut tag_tallies)?;
            ranks.push((self.rank_key(&lead).to_vec(), Trees::rank_value(&lead)));
            *tallies.entry(Tally::of(&lead).encode()).or_default() += 1;
            if let Some(at) = tally::next_change(&self.rules, &lead) {
                changes.push((keys::followup(at, lead.id).to_vec(), Vec::new()));
            }
            if let Some(at) = tally::wait_ends(&lead) {
                waits.push((keys::followup(at, lead.id).to_vec(), Vec::new()));
            }
            if let Some(at) = response_due(&lead) {
                responses.push((keys::followup(at, lead.id).to_vec(), Vec::new()));
            }
        }
        changes.sort_unstable();
        waits.sort_unstable();
        responses.sort_unstable();
        ranks.sort_unstable();
        if let Members::Collect(filed) = &mut members {
            filed.sort_unstable();
        }
        Ok(Recount {
            tallies,
            changes,
            waits,
            responses,
            ranks,
            emails: emails.into_iter().collect(),
            phones: self
                .country_code
                .is_some()
                .then(|| phones.into_iter().collect()),
            tags,
            members,
            tag_tallies,
        })
    }

    /// Rebuilds the derived data from the leads (not flushed).
    pub(super) fn rebuild_derived(&mut self) -> Result<(), StoreError> {
        let Recount {
            tallies: map,
            changes,
            waits,
            responses,
            ranks,
            emails,
            phones,
            tags,
            members,
            tag_tallies,
        } = self.recount_derived(false)?;
        let members = members.filed();
        self.tallies.clear()?;
        self.by_change.clear()?;
        self.by_wait.clear()?;
        self.by_response.clear()?;
        self.by_rank.clear()?;
        self.write_tags(&tags, &members, &tag_tallies)?;
        self.by_email.clear()?;
        // Without a known country code the phone index stays as written.
        let phones = match phones {
            Some(p) => {
                self.by_phone.clear()?;
                p
            }
            None => Vec::new(),
        };
        let mut batch = sled::Batch::default();
        for (k, n) in &map {
            batch.insert(k.as_slice(), &n.to_be_bytes());
        }
        self.tallies.apply_batch(batch)?;
        for (tree, entries) in [
            (&self.by_change, &changes),
            (&self.by_wait, &waits),
            (&self.by_response, &responses),
            (&self.by_rank, &ranks),
            (&self.by_email, &emails),
            (&self.by_phone, &phones),
        ] {
            // Small batches: sled holds a batch's pages as it applies it, and its memory grows
            // faster than the batch (a million leads in batches of 50,000 peaked at 6 GB; in
            // batches of 256, under 800 MB, and sooner done).
            for chunk in entries.chunks(REBUILD_BATCH) {
                let mut batch = sled::Batch::default();
                for (k, v) in chunk {
                    batch.insert(k.as_slice(), v.as_slice());
                }
                tree.apply_batch(batch)?;
            }
        }
        self.rebuild_reports()?;
        self.meta
            .insert(META_CHANGE_RULES, &change_rules(&self.rules).to_be_bytes())?;
        self.tally_counts = map;
        Ok(())
    }

    /// What differs between the kept derived data and a recount.
    pub(super) fn verify_derived(&self) -> Result<Vec<String>, StoreError> {
        let Recount {
            tallies: map,
            changes,
            waits,
            responses,
            ranks,
            emails,
            phones,
            tags,
            members,
            tag_tallies,
        } = self.recount_derived(true)?;
        let mut out = Vec::new();
        out.extend(self.verify_reports()?);
        if let Members::Check {
            expected,
            missing,
            wrong,
        } = members
        {
            // Every entry the leads make is there as they make it; anything more is extra.
            let kept = self.by_tag.len();
            let extra = kept.saturating_sub(expected - missing);
            let differ = missing + wrong + extra;
            if differ > 0 {
                out.push(format!(
                    "{DERIVED}the index of tags differs from a recount in {differ} entries (it \
                     has {kept})"
                ));
            }
        }
        let kept_tags = read_counts(&self.tags, ..)?;
        if let Some(note) = differ(&kept_tags, &tags, |k| {
            let at = k.iter().position(|&b| b == 0).unwrap_or(k.len());
            let owner = String::from_utf8_lossy(&k[..at]);
            let tag = String::from_utf8_lossy(k.get(at + 1..).unwrap_or_default());
            let owner = if owner.is_empty() {
                "the pool".into()
            } else {
                owner
            };
            format!("tag {tag:?} of {owner}")
        }) {
            out.push(format!(
                "{DERIVED}the counts of tags differ from a recount {note}"
            ));
        }
        let kept = read_counts(&self.tag_tallies, ..)?;
        if let Some(note) = differ(&kept, &tag_tallies, |k| {
            let n = k
                .get(..2)
                .map_or(0, |l| usize::from(u16::from_be_bytes([l[0], l[1]])));
            let tag = String::from_utf8_lossy(k.get(2..2 + n).unwrap_or_default());
            format!("tag {tag:?}")
        }) {
            out.push(format!(
                "{DERIVED}the counts of each tag's leads differ from a recount {note}"
            ));
        }

        let kept = match self.read_tallies() {
            Ok(kept) => kept,
            Err(e) => {
                out.push(format!("{DERIVED}the kept counts cannot be read ({e})"));
                return Ok(out);
            }
        };
        if kept != map {
            let differ = map
                .keys()
                .chain(kept.keys())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .filter(|k| map.get(*k) != kept.get(*k))
                .count();
            out.push(format!(
                "{DERIVED}the kept counts differ from a recount in {differ} of their {} entries",
                map.len().max(kept.len())
            ));
        } else if kept != self.tally_counts {
            out.push(format!(
                "{DERIVED}the counts in memory differ from the kept counts"
            ));
        }
        let mut indexes = vec![
            (&self.by_change, changes, "the index of coming changes"),
            (&self.by_wait, waits, "the index of waits"),
            (
                &self.by_response,
                responses,
                "the index of web leads awaiting a first touch",
            ),
            (&self.by_rank, ranks, "the queue index"),
            (&self.by_email, emails, "the index of e-mails"),
        ];
        if let Some(phones) = phones {
            indexes.push((&self.by_phone, phones, "the index of phones"));
        }
        for (tree, want, name) in indexes {
            let mut differ = 0usize;
            let mut kept = 0usize;
            let mut want = want.into_iter().peekable();
            for item in tree.iter() {
                let (k, v) = item?;
                kept += 1;
                // Both in key order: walk them together.
                loop {
                    match want.peek() {
                        Some((wk, _)) if wk.as_slice() < k.as_ref() => {
                            differ += 1;
                            want.next();
                        }
                        Some((wk, wv)) if wk.as_slice() == k.as_ref() => {
                            differ += usize::from(wv.as_slice() != v.as_ref());
                            want.next();
                            break;
                        }
                        _ => {
                            differ += 1;
                            break;
                        }
                    }
                }
            }
            differ += want.count();
            if differ > 0 {
                out.push(format!(
                    "{DERIVED}{name} differs from a recount in {differ} entries (it has {kept})"
                ));
            }
        }
        Ok(out)
    }

    /// Files the store's `by_change` with `rules` (a full scan when they differ in what it
    /// depends on from the rules it was filed with).
    fn use_rules(&mut self, rules: Arc<Rules>) -> Result<bool, StoreError> {
        let filed = self
            .meta
            .get(META_CHANGE_RULES)?
            .and_then(|v| v.as_ref().try_into().ok().map(u64::from_be_bytes));
        self.rules = rules;
        if filed == Some(change_rules(&self.rules)) {
            return Ok(false);
        }
        self.rebuild_derived()?;
        self.flush()?;
        Ok(true)
    }
}

/// A fingerprint of what the derived data depends on beyond the leads: the decay and the
/// thresholds (the moments of change) and the time zone (follow-ups are counted by local day).
fn change_rules(rules: &Rules) -> u64 {
    let e = &rules.engagement;
    let t = &rules.temperature;
    let text = format!(
        "{}/{}/{}/{}/{}/{}",
        e.half_life_days, e.min, e.max, t.hot, t.warm, t.hysteresis
    );
    text.bytes()
        .fold(crate::domain::time::zone_fingerprint(), |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
}

impl Store {
    /// Files the moments of change with these rules' decay and thresholds (the service does
    /// this once, on open): a store filed with other rules is refiled, a scan of every lead.
    pub fn use_rules(&self, rules: Arc<Rules>) -> Result<(), StoreError> {
        let filed = {
            let t = self.read()?;
            let r = t.meta.get(META_CHANGE_RULES).map_err(StoreError::from);
            self.seen(r)?
                .and_then(|v| v.as_ref().try_into().ok().map(u64::from_be_bytes))
        };
        if filed == Some(change_rules(&rules)) {
            // Nothing to refile: the rules are set without a write, so that a store on a full
            // disk still opens for reading.
            let mut gate = self.write()?;
            if let super::State::Open(t) = &mut *gate {
                t.rules = rules;
            }
            return Ok(());
        }
        self.writing(0, |t, _| {
            t.use_rules(rules)
                .map(|_| ())
                .map_err(super::write::Failure::During)
        })
    }

    /// Files phones with this default country code (the service does this once, on open).
    /// A store filed with another is refiled (a scan of every lead); one from before the code
    /// was recorded keeps its index as written, and records the code.
    pub fn use_country_code(&self, code: &str) -> Result<(), StoreError> {
        let filed = self.read()?.country_code.clone();
        if filed.as_deref() == Some(code) {
            return Ok(());
        }
        self.writing(0, |t, _| {
            let refile = t.country_code.as_deref().is_some_and(|c| c != code);
            t.country_code = Some(code.to_string());
            t.meta
                .insert(META_COUNTRY_CODE, code.as_bytes())
                .map_err(|e| super::write::Failure::During(e.into()))?;
            if refile {
                t.rebuild_derived().map_err(super::write::Failure::During)?;
            }
            t.flush().map_err(super::write::Failure::During)
        })
    }

    /// The tags in use: each owner's (None: the pool's) tag and how many of their leads
    /// carry it.
    pub fn tags(&self) -> Result<Vec<(Option<String>, String, u64)>, StoreError> {
        let t = self.read()?;
        let kept = self.seen(read_counts(&t.tags, ..))?;
        Ok(kept
            .into_iter()
            .filter_map(|(k, n)| {
                let at = k.iter().position(|&b| b == 0)?;
                let owner = String::from_utf8_lossy(&k[..at]).into_owned();
                let tag = String::from_utf8_lossy(&k[at + 1..]).into_owned();
                Some(((!owner.is_empty()).then_some(owner), tag, n))
            })
            .collect())
    }

    /// How many leads there are of each tally as of `now`: the kept counts, with the leads
    /// whose moment of change has come counted again where they are now. One read: a write
    /// is in it whole or not at all.
    /// How many leads of `tag` (None: of every tag or none) there are of each tally as of
    /// `now`, as `tallies_at` counts them.
    pub fn tallies_of(
        &self,
        now: Millis,
        tag: Option<&str>,
    ) -> Result<BTreeMap<Tally, u64>, StoreError> {
        let t = self.read()?;
        let r = t.counts_at(now, tag);
        self.seen(r)
    }

    pub fn tallies_at(&self, now: Millis) -> Result<BTreeMap<Tally, u64>, StoreError> {
        let t = self.read()?;
        let r = t.counts_at(now, None);
        self.seen(r)
    }

    /// How many open leads `visible` lets one see have a follow-up due by the end of today
    /// (`end`, the first instant after it) and do not wait past it: the kept counts up to
    /// today's local day, and the leads whose wait ends later today (read from the index of
    /// coming changes, which keeps when each stops waiting). As `list --due today` counts.
    /// `tag` narrows to the leads of a tag; `visible` takes an owner and a source.
    pub fn due_by(
        &self,
        now: Millis,
        end: Millis,
        tag: Option<&str>,
        visible: impl Fn(Option<&str>, Option<&str>) -> bool,
    ) -> Result<u64, StoreError> {
        let today = crate::domain::time::local_day(end.saturating_sub(1));
        let mut due = 0u64;
        for (tally, n) in self.tallies_of(now, tag)? {
            if tally.class == tally::Class::Active
                && tally.due_day.is_some_and(|d| d <= today)
                && visible(tally.owner.as_deref(), tally.source.as_deref())
            {
                due += n;
            }
        }
        let t = self.read()?;
        let r = (|| {
            let mut more = 0u64;
            // The leads whose wait ends after now and before the end of today (waiting now,
            // else the kept counts have them).
            let from = keys::followup(now.saturating_add(1), 0);
            for item in t.by_wait.range(from..keys::followup(end, 0)) {
                let (k, _) = item?;
                let Some((_, id)) = keys::read_followup(&k) else {
                    continue;
                };
                let Some(lead) = t.lead(id)? else { continue };
                if lead.stage.is_open()
                    && lead.next_action.is_some_and(|a| a < end)
                    && !tally::waiting(&lead, end.saturating_sub(1))
                    && tag.is_none_or(|t| lead.has_tag(t))
                    && visible(lead.owner.as_deref(), lead.source.as_deref())
                {
                    more += 1;
                }
            }
            Ok(more)
        })();
        Ok(due + self.seen(r)?)
    }

    /// The leads whose moment of change has come by `now`, soonest first.
    pub fn changes_until(&self, now: Millis) -> Result<Vec<LeadId>, StoreError> {
        let t = self.read()?;
        let r = changes_until_in(&t, now);
        self.seen(r)
    }

    /// Rebuilds the kept counts and the index of coming changes from the leads, flushed
    /// (`leadq doctor --recount`). Returns what was wrong before.
    pub fn recount(&self) -> Result<Vec<String>, StoreError> {
        self.writing(0, |t, _| {
            let wrong = t.verify_derived()?;
            t.rebuild_derived()
                .and_then(|()| t.flush())
                .map_err(super::write::Failure::During)?;
            Ok(wrong)
        })
    }
}

impl Store {
    /// Test hook: the kept counts and the index of coming changes as a bug or a lost write
    /// might leave them: one count one too many, one lead's moment of change gone, one
    /// lead's e-mail and tag unfiled, counts of a tag no lead carries.
    #[doc(hidden)]
    pub fn damage_derived_for_test(&self) -> Result<(), StoreError> {
        self.writing(0, |t, _| {
            let damage = || -> Result<(), StoreError> {
                if let Some((k, n)) = t.tally_counts.iter().next() {
                    t.tallies.insert(k.as_slice(), &(n + 1).to_be_bytes())?;
                }
                if let Some(first) = t.by_change.iter().keys().next() {
                    t.by_change.remove(first?)?;
                }
                if let Some(first) = t.by_email.iter().keys().next() {
                    t.by_email.remove(first?)?;
                }
                t.tags.insert(b"nobody\0ghost-tag", &1u64.to_be_bytes())?;
                if let Some(first) = t.by_tag.iter().keys().next() {
                    t.by_tag.remove(first?)?;
                }
                let ghost = keys::tagged(&keys::tag_prefix("ghost-tag"), b"\x01");
                t.tag_tallies.insert(ghost, &1u64.to_be_bytes())?;
                t.flush()
            };
            damage().map_err(super::write::Failure::During)
        })
    }
}

impl Trees {
    /// How many leads (of `tag`, or all) there are of each tally as of `now`: the kept
    /// counts, with the leads whose moment of change has come counted again where they are
    /// now.
    pub(super) fn counts_at(
        &self,
        now: Millis,
        tag: Option<&str>,
    ) -> Result<BTreeMap<Tally, u64>, StoreError> {
        let mut counts: BTreeMap<Tally, i64> = BTreeMap::new();
        let mut add = |k: &[u8], n: u64| -> Result<(), StoreError> {
            let tally = Tally::decode(k).ok_or_else(|| StoreError::Corrupt {
                what: "kept counts",
                reason: "an entry leadq cannot read".into(),
            })?;
            *counts.entry(tally).or_default() += i64::try_from(n).unwrap_or(i64::MAX);
            Ok(())
        };
        match tag {
            None => {
                for (k, n) in &self.tally_counts {
                    add(k, *n)?;
                }
            }
            Some(tag) => {
                let prefix = keys::tag_prefix(tag);
                for item in self.tag_tallies.scan_prefix(&prefix) {
                    let (k, v) = item?;
                    add(&k[prefix.len()..], count(&v)?)?;
                }
            }
        }
        for id in changes_until_in(self, now)? {
            let Some(lead) = self.lead(id)? else { continue };
            if tag.is_some_and(|t| !lead.has_tag(t)) {
                continue;
            }
            let (was, is) = (Tally::of(&lead), Tally::at(&self.rules, &lead, now));
            if was != is {
                *counts.entry(was).or_default() -= 1;
                *counts.entry(is).or_default() += 1;
            }
        }
        Ok(counts
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(t, n)| (t, n as u64))
            .collect())
    }
}

pub(super) fn changes_until_in(t: &Trees, now: Millis) -> Result<Vec<LeadId>, StoreError> {
    let mut out = Vec::new();
    for k in t
        .by_change
        .range(..keys::followup(now.saturating_add(1), 0))
    {
        let k = k?.0;
        let (_, id) = keys::read_followup(&k).ok_or_else(|| StoreError::Corrupt {
            what: "index of coming changes",
            reason: "a key leadq cannot read".into(),
        })?;
        out.push(id);
    }
    Ok(out)
}

/// A count as the derived trees hold it.
fn count(v: &[u8]) -> Result<u64, StoreError> {
    v.try_into()
        .ok()
        .map(u64::from_be_bytes)
        .ok_or_else(|| StoreError::Corrupt {
            what: "kept counts",
            reason: format!("a count of {} bytes", v.len()),
        })
}

/// How kept counts differ from a recount: in how many entries, and the first of them
/// (named by `name`) with both figures. None: they do not.
fn differ(kept: &TallyMap, counted: &TallyMap, name: impl Fn(&[u8]) -> String) -> Option<String> {
    let keys: std::collections::BTreeSet<&Vec<u8>> = kept.keys().chain(counted.keys()).collect();
    let off: Vec<&Vec<u8>> = keys
        .into_iter()
        .filter(|k| kept.get(*k) != counted.get(*k))
        .collect();
    let first = off.first()?;
    Some(format!(
        "in {} entries (first, {}: {} kept, {} counted)",
        off.len(),
        crate::domain::sanitize::for_display(&name(first)),
        kept.get(*first).copied().unwrap_or(0),
        counted.get(*first).copied().unwrap_or(0)
    ))
}

/// A lead's tags as `by_tag` and `tag_tallies` file them (`keys::tag_prefix`), each once
/// (two tags that differ only in a case Unicode folds are one).
fn tag_prefixes(lead: &Lead) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = lead.tags.iter().map(|t| keys::tag_prefix(t)).collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The counts a derived tree keeps in `range`, by key.
fn read_counts(
    tree: &sled::Tree,
    range: impl std::ops::RangeBounds<Vec<u8>>,
) -> Result<TallyMap, StoreError> {
    let mut out = TallyMap::new();
    for item in tree.range(range) {
        let (k, v) = item?;
        out.insert(k.to_vec(), count(&v)?);
    }
    Ok(out)
}

/// A lead's entries in the `tags` tree: its owner (empty for the pool), a zero byte, a tag.
fn tag_keys(lead: &Lead) -> Vec<Vec<u8>> {
    let owner = lead.owner.as_deref().unwrap_or("");
    lead.tags
        .iter()
        .map(|t| [owner.as_bytes(), &[0], t.as_bytes()].concat())
        .collect()
}
