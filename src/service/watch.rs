//! Changes as deltas: what one write means for one client's window of a view.
//!
//! Every write goes on the change stream as the lead before and after it (`Moved`). The
//! server keeps, for each client, the window of the view it last read (`Watch`: its query,
//! its rows, where they start, the view's total). For each write and each client that may see
//! the lead it works out a `Delta`: whether the window holds the lead before or after (the
//! client reads its window again), else how many rows above the window the write added or
//! took away and how the view's total and the header's counts moved (the client moves its
//! numbers and keeps its rows). A write to a lead far from a window costs that client a
//! frame of a few bytes and a few additions; nothing is read again.
//!
//! Deltas carry the store's generation, as pages do (`ViewPage::generation`): a client skips
//! the deltas its page already holds, and one measured against another page than the one it
//! holds (the window moved meanwhile) is a reload (`apply`).

use std::sync::Arc;

use super::local::{ANY_LEAD, Local};
use super::query::{place_in, share};
use super::types::{Delta, Query, ViewPage};
use crate::domain::{Lead, LeadId, Millis};
use crate::store::Place;

/// A write as the change stream tells it: the lead before and after. `ANY_LEAD` with neither:
/// many leads at once (an import), every client reads again. Another id with neither: the
/// lead's timeline changed and the lead did not (a note added to a call).
#[derive(Debug, Clone)]
pub struct Moved {
    /// Its place on the change stream (`Local::told_so_far`).
    pub seq: u64,
    pub generation: u64,
    pub id: LeadId,
    pub before: Option<Arc<Lead>>,
    pub after: Option<Arc<Lead>>,
}

/// A client's window of a view, as last read and moved by deltas since.
#[derive(Debug, Clone)]
pub struct Watch {
    query: Query,
    /// The generation of the page the window was read at, and its moment: what the client
    /// holds of a lead is where the lead stood then (or at its last change since).
    page: u64,
    at: Millis,
    offset: u64,
    total: u64,
    ids: Vec<LeadId>,
    /// The places of its first and last rows (None: the window is empty).
    ends: Option<(Place, Place)>,
}

impl Watch {
    /// The window `page` of view `query`, read by session `s`.
    pub fn new(s: &Local, query: &Query, page: &ViewPage) -> Watch {
        let now = s.now();
        let place = |l: &Lead| crate::store::standing(s.rules(), l, now).1;
        let ends = match (page.rows.first(), page.rows.last()) {
            (Some(a), Some(b)) => Some((place(&a.lead), place(&b.lead))),
            _ => None,
        };
        Watch {
            query: query.clone(),
            page: page.generation,
            at: now,
            offset: page.offset as u64,
            total: page.total as u64,
            ids: page.rows.iter().map(|v| v.lead.id).collect(),
            ends,
        }
    }

    /// Whether a row filed at `p` shows in the window: between its first and last rows, or
    /// beyond an end of the window that is the view's end too.
    fn holds(&self, p: &Place) -> bool {
        match &self.ends {
            None => true,
            Some((first, last)) => {
                (p >= first || self.offset == 0)
                    && (p <= last || self.offset + self.ids.len() as u64 >= self.total)
            }
        }
    }

    /// Moves the window by a write: `was` and `is` are the lead's places in the view before
    /// and after (None: not in it).
    fn follow(&mut self, id: LeadId, was: Option<Place>, is: Option<Place>, d: &mut Delta) {
        d.window = self.page;
        if self.query.due_today {
            // The follow-ups due today have an order of their own: read again.
            d.touched = was.is_some() || is.is_some() || self.ids.contains(&id);
            return;
        }
        let touched = self.ids.contains(&id) || is.as_ref().is_some_and(|p| self.holds(p));
        // Where the window's first row is now: the rows before it gained or lost this lead
        // (kept for the window's next read too, when the client reads it again).
        let above = |p: &Option<Place>| match (p, &self.ends) {
            (Some(p), Some((first, _))) => i64::from(p < first),
            _ => 0,
        };
        let (mut above, total) = (
            above(&is) - above(&was),
            i64::from(is.is_some()) - i64::from(was.is_some()),
        );
        if touched && self.offset == 0 {
            // A window at the top stays there: a lead arriving above its first row is its
            // new first row.
            above = 0;
        }
        self.offset = self.offset.saturating_add_signed(above);
        self.total = self.total.saturating_add_signed(total);
        if touched {
            d.touched = true;
        } else {
            d.above = above;
            d.total = total;
        }
    }

    /// Where the window of view `query` held stands now, to read it again: its offset, and
    /// the place its first row had (None: another view, or an empty window).
    pub fn resume(&self, query: &Query) -> Option<(usize, Place)> {
        // A window at the top is read from the top (as cheap, and a lead may have arrived
        // above its old first row).
        if *query != self.query || self.query.due_today || self.offset == 0 {
            return None;
        }
        let (first, _) = self.ends?;
        Some((usize::try_from(self.offset).unwrap_or(usize::MAX), first))
    }
}

/// What write `m` means for session `s` holding window `watch` (None: no window yet), as of
/// `now`. None: nothing, the lead is not one `s` may see.
pub fn delta(s: &Local, watch: Option<&mut Watch>, m: &Moved, now: Millis) -> Option<Delta> {
    fn seen<'a>(s: &Local, l: &'a Option<Arc<Lead>>) -> Option<&'a Lead> {
        l.as_deref().filter(|l| s.may_see(l))
    }
    let (before, after) = (seen(s, &m.before), seen(s, &m.after));
    if before.is_none() && after.is_none() {
        return None;
    }
    let mut d = Delta {
        generation: m.generation,
        id: m.id,
        leads: i64::from(m.after.is_some()) - i64::from(m.before.is_some()),
        ..Delta::default()
    };
    // The lead as the client holds it: as it stood when its window was read (a lead changed
    // since stands as of that change: `Facts::at` never goes back before a record's moment).
    let then = watch.as_ref().map_or(now, |w| w.at.min(now));
    let zero = [0; 4];
    let was = before.map_or(zero, |l| share(s, l, then));
    let is = after.map_or(zero, |l| share(s, l, now));
    d.hot = is[0] - was[0];
    d.warm = is[1] - was[1];
    d.cold = is[2] - was[2];
    d.due_today = is[3] - was[3];
    if let Some(w) = watch
        && m.generation > w.page
    {
        let place = |l: Option<&Lead>, at| l.and_then(|l| place_in(s, &w.query, l, at));
        let (was, is) = (place(before, then), place(after, now));
        w.follow(m.id, was, is, &mut d);
    }
    Some(d)
}

impl Delta {
    /// Whether the delta changes anything but the lead's own card.
    pub fn moves_anything(&self) -> bool {
        self.touched
            || [
                self.above,
                self.total,
                self.hot,
                self.warm,
                self.cold,
                self.due_today,
                self.leads,
            ]
            .iter()
            .any(|&n| n != 0)
    }
}

/// What a client holding the page of generation `page` does with a delta.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Apply {
    /// The page holds it already.
    Held,
    /// Read the window again (its counts were moved).
    Reload,
    /// Its offset, total and counts were moved; its rows stay.
    Moved,
}

/// Applies a delta to a client's window (`offset`, `total`), read at generation `page`.
pub fn apply(d: &Delta, page: u64, offset: &mut usize, total: &mut usize) -> Apply {
    if d.generation <= page {
        return Apply::Held;
    }
    if d.touched || d.window != page {
        return Apply::Reload;
    }
    let by = |n: &mut usize, by: i64| {
        *n = usize::try_from((*n as i64).saturating_add(by).max(0)).unwrap_or(0);
    };
    by(offset, d.above);
    by(total, d.total);
    Apply::Moved
}

/// Applies a delta to the header's counts, read at generation `read` (each delta is applied
/// once, as it comes: one write of many leads is a delta per lead, of one generation).
pub fn count(d: &Delta, read: u64, stats: &mut super::types::Stats) {
    if d.generation > read {
        stats.moved(d);
    }
}

/// Whether a `Moved` says many leads changed at once.
pub fn is_many(m: &Moved) -> bool {
    m.id == ANY_LEAD
}
