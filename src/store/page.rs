//! A page of a view, read from the queue index: work that grows with the page and with how far
//! into the view it starts (from whichever end is nearer), not with the store.
//!
//! The index files each lead under its class and its score as its record stands, exact until
//! the lead's moment of change (`tally::next_change`). The leads whose moment has come (the
//! minute tick rewrites them: a short list) are read and placed where they are now; every
//! other lead is where the index says. A view's total comes from the kept counts.

use std::cmp::Ordering;
use std::collections::HashSet;

use super::{Store, StoreError, keys};
use crate::domain::tally::{Class, Facts};
use crate::domain::{Lead, LeadId, Millis};

/// Which leads a view shows.
pub struct ViewSpec<'a> {
    /// The classes it shows.
    pub classes: &'a [Class],
    /// No lead it shows scores below this (a temperature's lowest score): the index is read
    /// from there.
    pub floor: u8,
    /// Whether a lead, as it stands now, is in the view (owner, source, stage, temperature,
    /// who may see it, today's queue). None: every lead of the classes.
    pub matches: Option<&'a dyn Fn(&Facts) -> bool>,
    /// The kept counts cannot say how many leads the view has: they are counted in the index.
    pub counted: bool,
    /// Of the waiting leads the view shows only those whose wait ends by this moment
    /// (today's queue: the end of today): they are read from the index of waits and placed
    /// by hand, not looked for among every waiting lead.
    pub waits_by: Option<Millis>,
    /// Only the leads of this tag: read from the tag's own queue index and counts.
    pub tag: Option<&'a str>,
}

impl ViewSpec<'_> {
    fn shows(&self, facts: &Facts) -> bool {
        self.classes.contains(&facts.tally.class) && self.matches.is_none_or(|m| m(facts))
    }
}

/// Rows `offset..offset + limit` of a view, in queue order, and how many leads it has.
#[derive(Debug, Clone)]
pub struct Page {
    pub leads: Vec<Lead>,
    pub total: u64,
    /// Where the rows start (the offset asked for, or the last page's start if it was past
    /// the end).
    pub offset: u64,
    /// The store's generation the page was read at: it holds every write up to it, no later.
    pub generation: u64,
}

/// A place in the queue's order across classes: a rank key without its class.
pub type Place = [u8; keys::RANK_KEY - 1];

/// Where `lead` stands as of `now`: its facts (class, temperature, owner...) and its place in
/// the queue's order. What a page read now would file it under.
pub fn standing(rules: &crate::domain::scoring::Rules, lead: &Lead, now: Millis) -> (Facts, Place) {
    let facts = Facts::at(rules, lead, now);
    let key = keys::rank(
        facts.tally.class as u8,
        lead.score.score(rules, now.max(lead.score.at)),
        keys::fine_fit(lead.score.fit),
        lead.waiting_since(),
        lead.id,
    );
    let mut p = [0u8; keys::RANK_KEY - 1];
    p.copy_from_slice(&key[1..]);
    (facts, p)
}

fn place(key: &[u8]) -> Option<Place> {
    key.get(1..)?.try_into().ok()
}

/// Which rows of a view to read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    pub offset: u64,
    pub limit: usize,
    /// A lead to keep in the window: if it is in the view, the window starts a quarter of its
    /// length above it, wherever it is now, instead of at `offset` (which says from which end
    /// to look for it).
    pub focus: Option<LeadId>,
    /// The window starts at the first row with this place or a later one, and that row is at
    /// `offset` (the caller knows: it held the window). Read from there, the page costs its
    /// rows only, however deep in the view it is.
    pub from: Option<Place>,
}

/// Places a stream keeps: from `lo` (inclusive) to `hi` (exclusive).
#[derive(Clone, Copy, Default)]
struct Bounds {
    lo: Option<Place>,
    hi: Option<Place>,
}

impl Bounds {
    fn has(&self, p: &Place) -> bool {
        self.lo.is_none_or(|lo| *p >= lo) && self.hi.is_none_or(|hi| *p < hi)
    }
}

type Stream<'a> = Box<dyn Iterator<Item = Result<(Place, LeadId), StoreError>> + 'a>;

impl Store {
    /// One page of the view `spec` as of `now`: one read, so a write is in it whole or not at
    /// all. An offset past the end gives the last page.
    pub fn page(
        &self,
        now: Millis,
        spec: &ViewSpec<'_>,
        window: Window,
    ) -> Result<Page, StoreError> {
        let t = self.read()?;
        let r = (|| {
            let counted = spec.counted;
            // The classes read from the queue index (the waiting leads of a view that takes
            // only those whose wait ends soon are placed by hand).
            let streamed: Vec<Class> = spec
                .classes
                .iter()
                .copied()
                .filter(|&c| spec.waits_by.is_none() || c != Class::Waiting)
                .collect();
            let mut total: u64 = if counted {
                0
            } else {
                t.counts_at(now, spec.tag)?
                    .into_iter()
                    .filter(|(tally, _)| {
                        streamed.contains(&tally.class)
                            && spec.matches.is_none_or(|m| {
                                m(&Facts {
                                    tally: tally.clone(),
                                    last_touch: None,
                                    wait_ends: None,
                                })
                            })
                    })
                    .map(|(_, n)| n)
                    .sum()
            };
            // The leads whose moment has come, where they are now.
            let due = super::derived::changes_until_in(&t, now)?;
            let stale: HashSet<LeadId> = due.iter().copied().collect();
            let carries = |lead: &Lead| spec.tag.is_none_or(|tag| lead.has_tag(tag));
            let place_now = |lead: &Lead| -> Option<Place> {
                let (facts, p) = standing(&t.rules, lead, now);
                (carries(lead) && spec.shows(&facts)).then_some(p)
            };
            let mut moved: Vec<(Place, LeadId)> = Vec::new();
            let mut placed_waiting = 0u64;
            let mut place_by_hand = |lead: &Lead, moved: &mut Vec<(Place, LeadId)>| {
                let (facts, p) = standing(&t.rules, lead, now);
                if carries(lead) && spec.shows(&facts) {
                    moved.push((p, lead.id));
                    if spec.waits_by.is_some() && facts.tally.class == Class::Waiting {
                        placed_waiting += 1;
                    }
                }
            };
            for &id in &due {
                let Some(lead) = t.lead(id)? else { continue };
                place_by_hand(&lead, &mut moved);
            }
            if let Some(by) = spec.waits_by
                && spec.classes.contains(&Class::Waiting)
            {
                let from = keys::followup(now.saturating_add(1), 0);
                let to = keys::followup(by.saturating_add(1), 0);
                for item in t.by_wait.range(from..to) {
                    let (k, _) = item?;
                    let Some((_, id)) = keys::read_followup(&k) else {
                        return Err(unreadable());
                    };
                    if stale.contains(&id) {
                        continue;
                    }
                    let Some(lead) = t.lead(id)? else { continue };
                    place_by_hand(&lead, &mut moved);
                }
            }
            if !counted {
                total += placed_waiting;
            }
            moved.sort_unstable();
            moved.dedup();
            // The queue index, or the tag's own.
            let (index, prefix) = match spec.tag {
                Some(tag) => (&t.by_tag, keys::tag_prefix(tag)),
                None => (&t.by_rank, Vec::new()),
            };
            let bounded = |from_top: bool, bounds: Bounds| -> Vec<Stream<'_>> {
                let mut out: Vec<Stream<'_>> = Vec::new();
                for &class in &streamed {
                    out.push(segment(
                        index, &prefix, class, spec, &stale, from_top, bounds,
                    ));
                }
                let mut moved: Vec<_> = moved
                    .iter()
                    .filter(|(p, _)| bounds.has(p))
                    .copied()
                    .collect();
                if !from_top {
                    moved.reverse();
                }
                out.push(Box::new(moved.into_iter().map(Ok)));
                out
            };
            let streams = |from_top: bool| bounded(from_top, Bounds::default());
            let read = |ids: Vec<LeadId>| -> Result<Vec<Lead>, StoreError> {
                let mut leads = Vec::with_capacity(ids.len());
                for id in ids {
                    leads.extend(t.lead(id)?);
                }
                Ok(leads)
            };
            // A window held, read again from its first row's place.
            if let (Some(from), false, None) = (window.from, counted, window.focus) {
                let limit = window
                    .limit
                    .min(usize::try_from(total).unwrap_or(usize::MAX));
                let after = Bounds {
                    lo: Some(from),
                    hi: None,
                };
                let mut ids = Vec::with_capacity(limit);
                for item in Merge::new(bounded(true, after), true)?.take(limit) {
                    ids.push(item?.1);
                }
                let mut offset = window.offset.min(total);
                // Near the view's end, the rows before it fill the window.
                let need = ((limit - ids.len()) as u64).min(offset);
                if need > 0 {
                    let before = Bounds {
                        lo: None,
                        hi: Some(from),
                    };
                    let mut back = Vec::new();
                    for item in Merge::new(bounded(false, before), false)?
                        .take(usize::try_from(need).unwrap_or(usize::MAX))
                    {
                        back.push(item?.1);
                    }
                    offset -= back.len() as u64;
                    back.reverse();
                    back.extend(ids);
                    ids = back;
                }
                return Ok(Page {
                    leads: read(ids)?,
                    total,
                    offset,
                    generation: t.counts.generation,
                });
            }
            // A view the kept counts cannot count is read whole (its ids only), once.
            let mut all_ids: Option<Vec<LeadId>> = None;
            if counted {
                let ids = Merge::new(streams(true), true)?
                    .map(|r| r.map(|(_, id)| id))
                    .collect::<Result<Vec<_>, _>>()?;
                total = ids.len() as u64;
                all_ids = Some(ids);
            }
            let limit = window
                .limit
                .min(usize::try_from(total).unwrap_or(usize::MAX));
            let mut offset = window.offset;
            // Where the focus lead is now: counted from the end the offset is nearer.
            if let (Some(focus), Some(ids)) = (window.focus, &all_ids) {
                if let Some(at) = ids.iter().position(|&id| id == focus) {
                    offset = (at as u64).saturating_sub(limit as u64 / 4);
                }
            } else if let Some(focus) = window.focus
                && let Some(lead) = t.lead(focus)?
                && let Some(at) = place_now(&lead)
            {
                let from_top = offset <= total.saturating_sub(offset);
                let mut counted = 0u64;
                for item in Merge::new(streams(from_top), from_top)? {
                    let (p, _) = item?;
                    if (from_top && p >= at) || (!from_top && p <= at) {
                        break;
                    }
                    counted += 1;
                }
                let position = if from_top {
                    counted
                } else {
                    total.saturating_sub(counted + 1)
                };
                offset = position.saturating_sub(limit as u64 / 4);
            }
            let offset = offset.min(total.saturating_sub(limit as u64));
            let from_top = offset <= total.saturating_sub(offset + limit as u64);
            let skip = if from_top {
                offset
            } else {
                total - offset - limit as u64
            };
            let mut ids = Vec::with_capacity(limit);
            if let Some(all) = &all_ids {
                let start = usize::try_from(offset).unwrap_or(usize::MAX).min(all.len());
                ids.extend(all[start..].iter().take(limit).rev().copied());
                if from_top {
                    ids.reverse();
                }
            } else {
                for item in Merge::new(streams(from_top), from_top)?
                    .skip(usize::try_from(skip).unwrap_or(usize::MAX))
                    .take(limit)
                {
                    ids.push(item?.1);
                }
            }
            let mut leads = Vec::with_capacity(ids.len());
            for id in ids {
                leads.extend(t.lead(id)?);
            }
            if !from_top {
                leads.reverse();
            }
            Ok(Page {
                leads,
                total,
                offset,
                generation: t.counts.generation,
            })
        })();
        self.seen(r)
    }
}

/// A class's segment of the queue index, from its top or its bottom, without the leads whose
/// moment has come (`stale`: placed by hand) or that the view does not show.
fn segment<'a>(
    tree: &'a sled::Tree,
    prefix: &[u8],
    class: Class,
    spec: &'a ViewSpec<'_>,
    stale: &'a HashSet<LeadId>,
    from_top: bool,
    bounds: Bounds,
) -> Stream<'a> {
    let c = class as u8;
    let key = |p: Place| {
        let mut k = Vec::with_capacity(prefix.len() + keys::RANK_KEY);
        k.extend_from_slice(prefix);
        k.push(c);
        k.extend_from_slice(&p);
        k
    };
    let mut start = keys::tagged(prefix, &[c]);
    let mut end = if spec.floor > 0 {
        keys::tagged(prefix, &keys::rank_from(c, spec.floor - 1))
    } else {
        keys::tagged(prefix, &[c + 1])
    };
    let skip = prefix.len();
    if let Some(lo) = bounds.lo {
        start = start.max(key(lo));
    }
    if let Some(hi) = bounds.hi {
        end = end.min(key(hi));
    }
    if start >= end {
        return Box::new(std::iter::empty());
    }
    let range = tree.range(start.as_slice()..end.as_slice());
    let range: Box<dyn Iterator<Item = sled::Result<(sled::IVec, sled::IVec)>>> = if from_top {
        Box::new(range)
    } else {
        Box::new(range.rev())
    };
    Box::new(range.filter_map(move |item| {
        let (k, v) = match item {
            Ok(kv) => kv,
            Err(e) => return Some(Err(e.into())),
        };
        let Some(k) = k.get(skip..) else {
            return Some(Err(unreadable()));
        };
        let Some((_, _, _, _, id)) = keys::read_rank(k) else {
            return Some(Err(unreadable()));
        };
        if stale.contains(&id) {
            return None;
        }
        if let Some(m) = spec.matches {
            match Facts::decode(&v) {
                Some(facts) if m(&facts) => {}
                Some(_) => return None,
                None => return Some(Err(unreadable())),
            }
        }
        Some(place(k).map(|p| (p, id)).ok_or_else(unreadable))
    }))
}

fn unreadable() -> StoreError {
    StoreError::Corrupt {
        what: "queue index",
        reason: "an entry leadq cannot read".into(),
    }
}

/// Streams each in order (ascending places from the top, descending from the bottom), merged
/// into one in that order.
struct Merge<'a> {
    streams: Vec<Stream<'a>>,
    heads: Vec<Option<(Place, LeadId)>>,
    ascending: bool,
}

impl<'a> Merge<'a> {
    fn new(mut streams: Vec<Stream<'a>>, ascending: bool) -> Result<Merge<'a>, StoreError> {
        let mut heads = Vec::with_capacity(streams.len());
        for s in &mut streams {
            heads.push(s.next().transpose()?);
        }
        Ok(Merge {
            streams,
            heads,
            ascending,
        })
    }
}

impl Iterator for Merge<'_> {
    type Item = Result<(Place, LeadId), StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut best: Option<usize> = None;
        for (i, h) in self.heads.iter().enumerate() {
            let Some((p, _)) = h else { continue };
            let better = match best.and_then(|b| self.heads[b].as_ref()) {
                None => true,
                Some((bp, _)) => {
                    let o = p.cmp(bp);
                    if self.ascending {
                        o == Ordering::Less
                    } else {
                        o == Ordering::Greater
                    }
                }
            };
            if better {
                best = Some(i);
            }
        }
        let i = best?;
        let head = self.heads[i].take();
        match self.streams[i].next().transpose() {
            Ok(next) => self.heads[i] = next,
            Err(e) => return Some(Err(e)),
        }
        head.map(Ok)
    }
}
