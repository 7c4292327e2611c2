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

/// What a view filters a lead on, as its record stands: the part of a row every search
/// reads, so kept apart and small (24 bytes; a day that is not there is `NO_DAY`).
#[derive(Debug, Clone, Copy)]
struct Filter {
    class: Class,
    temperature: Temperature,
    stage: Stage,
    stale: bool,
    untouched: bool,
    /// Interned (`Finder::names`).
    owner: u32,
    source: u32,
    /// The lead's tags, as a set interned (`Finder::tag_sets`).
    tags: u32,
    due_day: i32,
}

/// A lead's row: its filter, its place in the queue (what a page of hits is ordered by; the
/// lead's id is its end) and its last touch and end of wait (today's queue alone reads them;
/// a time that is not there is `NONE`). The finder keeps each part in an array of its own.
#[derive(Debug, Clone)]
struct Row {
    filter: Filter,
    place: Place,
    times: [Millis; 2],
}

/// A day or time a row does not have.
const NONE: i64 = i64::MIN;
const NO_DAY: i32 = i32::MIN;

fn unpacked(at: Millis) -> Option<Millis> {
    (at != NONE).then_some(at)
}

fn id_of(place: &Place) -> Option<LeadId> {
    crate::store::keys::read_id(place.get(place.len() - 8..)?)
}

/// Every lead, for searching.
#[derive(Debug, Default)]
pub struct Finder {
    index: SearchIndex,
    /// Each row's parts (`Row`), by row.
    filters: Vec<Filter>,
    places: Vec<Place>,
    times: Vec<[Millis; 2]>,
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
        f.filters.reserve(n);
        f.places.reserve(n);
        f.times.reserve(n);
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
            filter: Filter {
                class: t.class,
                temperature: t.temperature,
                stage: t.stage,
                stale: t.stale,
                untouched: t.untouched,
                owner: self.intern(t.owner.as_deref()),
                source: self.intern(t.source.as_deref()),
                tags: self.intern_tags(&lead.tags),
                due_day: t.due_day.unwrap_or(NO_DAY),
            },
            place,
            times: [
                facts.last_touch.unwrap_or(NONE),
                facts.wait_ends.unwrap_or(NONE),
            ],
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

    /// Row `slot` (the next one, or one kept already) is `row`.
    fn keep(&mut self, slot: usize, row: Row) {
        if slot == self.filters.len() {
            self.filters.push(row.filter);
            self.places.push(row.place);
            self.times.push(row.times);
        } else {
            self.filters[slot] = row.filter;
            self.places[slot] = row.place;
            self.times[slot] = row.times;
        }
    }

    /// The lead as written now.
    pub fn put(&mut self, s: &Local, lead: &Lead) {
        let row = self.row(s, lead, lead.score.at);
        let slot = match self.slot(lead.id) {
            Some(slot) => {
                self.index.set(slot, lead);
                self.keep(slot, row);
                slot
            }
            None => {
                let (Ok(at), Ok(slot)) =
                    (usize::try_from(lead.id), u32::try_from(self.filters.len()))
                else {
                    return;
                };
                if at >= self.slots.len() {
                    self.slots.resize(at + 1, NO_SLOT);
                }
                self.slots[at] = slot;
                self.index.push(lead);
                self.keep(slot as usize, row);
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
        // A row's parts: of the lead as placed now if its moment has come, else as kept.
        // Most searches meet no such lead: no lookup per row then. Only the parts read are.
        let parts = |slot: usize| -> Option<(&Filter, &Place, &[Millis; 2])> {
            if !moved.is_empty()
                && let Some(r) = moved.get(&slot)
            {
                return Some((&r.filter, &r.place, &r.times));
            }
            Some((
                self.filters.get(slot)?,
                self.places.get(slot)?,
                self.times.get(slot)?,
            ))
        };
        let shows = |f: &Filter, times: &[Millis; 2]| {
            classes.contains(&f.class)
                && q.temperature.is_none_or(|t| t == f.temperature)
                && q.stage.is_none_or(|st| st == f.stage)
                && owner_ok.get(f.owner as usize).copied().unwrap_or(false)
                && source_ok.get(f.source as usize).copied().unwrap_or(false)
                && tags_ok
                    .as_ref()
                    .is_none_or(|ok| ok.get(f.tags as usize).copied().unwrap_or(false))
                && (!q.today
                    || today.has(&Facts {
                        tally: crate::domain::tally::Tally {
                            class: f.class,
                            temperature: f.temperature,
                            stage: f.stage,
                            owner: None,
                            source: None,
                            due_day: (f.due_day != NO_DAY).then_some(f.due_day),
                            stale: f.stale,
                            untouched: f.untouched,
                        },
                        last_touch: unpacked(times[0]),
                        wait_ends: unpacked(times[1]),
                    }))
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
            parts(slot).is_some_and(|(f, _, times)| shows(f, times))
        });
        let matched: Vec<u32> = hits.iter().map(|h| h.row as u32).collect();
        self.last
            .insert(s.who.user.clone(), (q.clone(), text.to_string(), matched));
        let count = hits.len();
        // The best `limit`: the best class of match first, then the view's order.
        let place = |h: &crate::domain::search::Match| parts(h.row).map(|(_, place, _)| *place);
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
        let mut best: Vec<(std::cmp::Reverse<u32>, Place)> = hits
            .iter()
            .filter(|h| h.rank > cut)
            .filter_map(|h| Some((std::cmp::Reverse(h.rank), place(h)?)))
            .collect();
        // Places are unique (each ends with its lead's id): the page's end is cut by them.
        let mut at_cut: Vec<Place> = hits
            .iter()
            .filter(|h| h.rank == cut)
            .filter_map(place)
            .collect();
        let room = limit.saturating_sub(best.len());
        if at_cut.len() > room {
            at_cut.select_nth_unstable(room);
            at_cut.truncate(room);
        }
        best.extend(at_cut.into_iter().map(|p| (std::cmp::Reverse(cut), p)));
        best.sort_unstable();
        let ids: Vec<LeadId> = best.iter().filter_map(|(_, place)| id_of(place)).collect();
        let mut rows = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(lead) = s.store.lead(id)? {
                rows.push(s.view(lead, now));
            }
        }
        Ok(Found { rows, hits: count })
    }
}
