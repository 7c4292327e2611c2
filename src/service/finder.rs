//! Search at scale: the search runs where the data is (the server, or this process for a
//! store of one's own), over one view, and answers with the best page and how many leads
//! match, never the whole view.
//!
//! It keeps every lead's search text (`SearchIndex`) and, beside it, what a view filters and
//! orders on: the lead's place in the queue and its class, temperature, stage, owner, source,
//! follow-up day, last touch and wait, as its record stands, exactly as the queue index files
//! it (`Store::page`). Built on the first search (a read of every lead), then kept up to date
//! by each write as it is told (`Local::tell`); a change of many leads at once drops it, to be
//! built again. The leads whose moment of change has come (the minute tick rewrites them) are
//! read and placed as of now, as a page places them.
//!
//! Matching and ranking are `domain::search`'s: every term matches within one field, the best
//! class of match first, then the view's own order. A query that only grew since the same
//! user's last search looks only at that search's hits.

use std::collections::HashMap;

use super::local::Local;
use super::query::{Today, classes};
use super::types::{Found, OwnerFilter, Query, ServiceError};
use crate::domain::search::SearchIndex;
use crate::domain::tally::{Class, Facts};
use crate::domain::{Lead, LeadId, Millis, Stage, Temperature};
use crate::store::Place;

/// What a view filters and orders a lead on, as its record stands.
#[derive(Debug, Clone)]
struct Row {
    id: LeadId,
    place: Place,
    class: Class,
    temperature: Temperature,
    stage: Stage,
    /// Interned (`Finder::names`).
    owner: u32,
    source: u32,
    /// The lead's tags, as a set interned (`Finder::tag_sets`).
    tags: u32,
    due_day: Option<i32>,
    stale: bool,
    untouched: bool,
    last_touch: Option<Millis>,
    wait_ends: Option<Millis>,
}

/// Every lead, for searching.
#[derive(Debug, Default)]
pub struct Finder {
    index: SearchIndex,
    rows: Vec<Row>,
    /// Each lead's row, by id (ids are the store's sequence, so this is dense; `NO_SLOT`: none).
    slots: Vec<u32>,
    /// Owners and sources, each once (0: none).
    names: Vec<Option<String>>,
    name_ids: HashMap<Option<String>, u32>,
    /// Each set of tags some lead carries, once (in lower case, sorted): few, however many
    /// leads.
    tag_sets: Vec<Vec<String>>,
    tag_set_ids: HashMap<Vec<String>, u32>,
    /// The last search of each user: view, text, and the rows it matched (in row order),
    /// with every row written since (it may match now).
    last: HashMap<String, (Query, String, Vec<u32>)>,
}

const NO_SLOT: u32 = u32::MAX;

impl Finder {
    /// Every lead of the store.
    pub fn build(s: &Local) -> Result<Finder, ServiceError> {
        let mut f = Finder::default();
        f.intern(None);
        let n = s.store.lead_count()?;
        f.rows.reserve(n);
        f.index.reserve(n);
        for lead in s.store.leads() {
            f.put(s, &lead?);
        }
        Ok(f)
    }

    fn intern(&mut self, name: Option<&str>) -> u32 {
        let key = name.map(str::to_string);
        if let Some(&id) = self.name_ids.get(&key) {
            return id;
        }
        let id = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        self.names.push(key.clone());
        self.name_ids.insert(key, id);
        id
    }

    fn intern_tags(&mut self, tags: &[String]) -> u32 {
        let mut set: Vec<String> = tags.iter().map(|t| t.trim().to_lowercase()).collect();
        set.sort_unstable();
        set.dedup();
        if let Some(&id) = self.tag_set_ids.get(&set) {
            return id;
        }
        let id = u32::try_from(self.tag_sets.len()).unwrap_or(u32::MAX);
        self.tag_sets.push(set.clone());
        self.tag_set_ids.insert(set, id);
        id
    }

    fn row(&mut self, s: &Local, lead: &Lead, at: Millis) -> Row {
        let (facts, place) = crate::store::standing(s.rules(), lead, at);
        let t = facts.tally;
        Row {
            id: lead.id,
            place,
            class: t.class,
            temperature: t.temperature,
            stage: t.stage,
            owner: self.intern(t.owner.as_deref()),
            source: self.intern(t.source.as_deref()),
            tags: self.intern_tags(&lead.tags),
            due_day: t.due_day,
            stale: t.stale,
            untouched: t.untouched,
            last_touch: facts.last_touch,
            wait_ends: facts.wait_ends,
        }
    }

    /// The row of lead `id`.
    fn slot(&self, id: LeadId) -> Option<usize> {
        let at = usize::try_from(id).ok()?;
        self.slots
            .get(at)
            .filter(|&&slot| slot != NO_SLOT)
            .map(|&slot| slot as usize)
    }

    /// A lead that left the store (merged away): its row matches nothing, and a lead of
    /// that id written again gets a new row.
    pub fn forget(&mut self, id: LeadId) {
        if let Some(slot) = self.slot(id) {
            self.index.clear(slot);
            if let Some(at) = usize::try_from(id).ok().and_then(|i| self.slots.get_mut(i)) {
                *at = NO_SLOT;
            }
        }
    }

    /// The lead as written now.
    pub fn put(&mut self, s: &Local, lead: &Lead) {
        let row = self.row(s, lead, lead.score.at);
        let slot = match self.slot(lead.id) {
            Some(slot) => {
                self.index.set(slot, lead);
                self.rows[slot] = row;
                slot
            }
            None => {
                let (Ok(at), Ok(slot)) = (usize::try_from(lead.id), u32::try_from(self.rows.len()))
                else {
                    return;
                };
                if at >= self.slots.len() {
                    self.slots.resize(at + 1, NO_SLOT);
                }
                self.slots[at] = slot;
                self.index.push(lead);
                self.rows.push(row);
                slot as usize
            }
        };
        // The row may match a longer query now: a narrowed search looks at it again.
        let slot = slot as u32;
        for (_, _, rows) in self.last.values_mut() {
            if let Err(at) = rows.binary_search(&slot) {
                rows.insert(at, slot);
            }
        }
    }

    /// The leads of view `q` (as session `s` sees it at `now`) that `text` matches: the best
    /// `limit`, and how many there are.
    pub fn search(
        &mut self,
        s: &Local,
        q: &Query,
        text: &str,
        limit: usize,
        now: Millis,
    ) -> Result<Found, ServiceError> {
        // The leads whose moment has come stand as of now.
        let mut moved: HashMap<usize, Row> = HashMap::new();
        for id in s.store.changes_until(now)? {
            if let (Some(slot), Some(lead)) = (self.slot(id), s.store.lead(id)?) {
                let row = self.row(s, &lead, now);
                moved.insert(slot, row);
            }
        }
        // Which owners and sources the view takes.
        let owner_ok: Vec<bool> = self
            .names
            .iter()
            .map(|n| {
                let n = n.as_deref();
                s.may_see_owner(n)
                    && match (&q.owner, n) {
                        (None, _) | (Some(OwnerFilter::Unassigned), None) => true,
                        (Some(OwnerFilter::User(want)), Some(has)) => {
                            want.eq_ignore_ascii_case(has)
                        }
                        _ => false,
                    }
            })
            .collect();
        let source_ok: Vec<bool> = self
            .names
            .iter()
            .map(|n| {
                q.source.as_ref().is_none_or(|want| {
                    n.as_deref()
                        .is_some_and(|has| has.eq_ignore_ascii_case(want))
                })
            })
            .collect();
        // Which sets of tags the view takes.
        let tags_ok: Option<Vec<bool>> = q.tag.as_ref().map(|want| {
            let want = want.trim().to_lowercase();
            self.tag_sets
                .iter()
                .map(|set| set.contains(&want))
                .collect()
        });
        let classes = classes(q);
        let today = Today::new(now);
        let shows = |r: &Row| {
            classes.contains(&r.class)
                && q.temperature.is_none_or(|t| t == r.temperature)
                && q.stage.is_none_or(|st| st == r.stage)
                && owner_ok.get(r.owner as usize).copied().unwrap_or(false)
                && source_ok.get(r.source as usize).copied().unwrap_or(false)
                && tags_ok
                    .as_ref()
                    .is_none_or(|ok| ok.get(r.tags as usize).copied().unwrap_or(false))
                && (!q.today
                    || today.has(&Facts {
                        tally: crate::domain::tally::Tally {
                            class: r.class,
                            temperature: r.temperature,
                            stage: r.stage,
                            owner: None,
                            source: None,
                            due_day: r.due_day,
                            stale: r.stale,
                            untouched: r.untouched,
                        },
                        last_touch: r.last_touch,
                        wait_ends: r.wait_ends,
                    }))
        };
        // Most searches meet no lead whose moment has come: no lookup per row then.
        let row_of = |slot: usize| {
            if moved.is_empty() {
                self.rows.get(slot)
            } else {
                moved.get(&slot).or_else(|| self.rows.get(slot))
            }
        };
        // A query that only grew looks at the last hits (and the rows written or placed
        // anew since): each term can only match fewer.
        let narrowing = self
            .last
            .get(&s.who.user)
            .filter(|(lq, lt, _)| lq == q && text.starts_with(lt.as_str()) && !lt.trim().is_empty())
            .map(|(_, _, rows)| {
                let mut rows: Vec<usize> = rows.iter().map(|&r| r as usize).collect();
                rows.extend(moved.keys().copied());
                rows.sort_unstable();
                rows.dedup();
                rows
            });
        let hits = self.index.matching(text, narrowing.as_deref(), |slot| {
            row_of(slot).is_some_and(&shows)
        });
        let matched: Vec<u32> = hits.iter().map(|h| h.row as u32).collect();
        self.last
            .insert(s.who.user.clone(), (q.clone(), text.to_string(), matched));
        let count = hits.len();
        // The best `limit`: the best class of match first, then the view's order.
        let key = |h: &crate::domain::search::Match| {
            (std::cmp::Reverse(h.rank), row_of(h.row).map(|r| r.place))
        };
        // Ranks are small numbers: the best are the hits of the highest ranks, and only the
        // rank where the page ends is cut by place (no place is looked up for the others).
        let top = hits.iter().map(|h| h.rank).max().unwrap_or(0) as usize;
        let mut per_rank = vec![0usize; top + 1];
        for h in &hits {
            per_rank[h.rank as usize] += 1;
        }
        let mut cut = 0;
        let mut above = 0;
        for (rank, &n) in per_rank.iter().enumerate().rev().filter(|(_, n)| **n > 0) {
            cut = rank as u32;
            if above + n >= limit {
                break;
            }
            above += n;
        }
        let mut best: Vec<_> = hits.iter().filter(|h| h.rank > cut).copied().collect();
        let mut at_cut: Vec<_> = hits.iter().filter(|h| h.rank == cut).copied().collect();
        let room = limit.saturating_sub(best.len());
        if at_cut.len() > room {
            at_cut.select_nth_unstable_by_key(room, key);
            at_cut.truncate(room);
        }
        best.extend(at_cut);
        best.sort_unstable_by_key(key);
        let ids: Vec<LeadId> = best
            .iter()
            .filter_map(|h| row_of(h.row).map(|r| r.id))
            .collect();
        let mut rows = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(lead) = s.store.lead(id)? {
                rows.push(s.view(lead, now));
            }
        }
        Ok(Found { rows, hits: count })
    }
}
