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
use super::types::{Delta, LeadView, Query, ViewPage};
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
    /// How many rows the client asked for.
    limit: usize,
    /// Its rows, in order, with their places: the client's rows, patched as the client
    /// patches them.
    rows: Vec<(Place, LeadId)>,
}

/// How a delta patches a window's rows.
struct Patch {
    from: Option<usize>,
    to: Option<usize>,
    drop_last: bool,
}

impl Watch {
    /// The window `page` of view `query`, read by session `s` asking for `limit` rows.
    pub fn new(s: &Local, query: &Query, page: &ViewPage, limit: usize) -> Watch {
        let now = s.now();
        Watch {
            query: query.clone(),
            page: page.generation,
            at: now,
            offset: page.offset as u64,
            total: page.total as u64,
            limit,
            rows: page
                .rows
                .iter()
                .map(|v| (crate::store::standing(s.rules(), &v.lead, now).1, v.lead.id))
                .collect(),
        }
    }

    fn ends(&self) -> Option<(Place, Place)> {
        Some((self.rows.first()?.0, self.rows.last()?.0))
    }

    /// Whether a row filed at `p` shows in the window: between its first and last rows, or
    /// beyond an end of the window that is the view's end too.
    fn holds(&self, p: &Place) -> bool {
        match self.ends() {
            None => true,
            Some((first, last)) => {
                (*p >= first || self.offset == 0)
                    && (*p <= last || self.offset + self.rows.len() as u64 >= self.total)
            }
        }
    }

    /// Moves the window by a write: `was` and `is` are the lead's places in the view before
    /// and after (None: not in it). A lead that stays out of the window moves its offset and
    /// total; one in it before or after patches its rows (the client is sent the row); a
    /// window left too short to show is read again.
    fn follow(&mut self, id: LeadId, was: Option<Place>, is: Option<Place>, d: &mut Delta) -> bool {
        d.window = self.page;
        if self.query.due_today {
            // The follow-ups due today have an order of their own: read again.
            d.touched = was.is_some() || is.is_some() || self.rows.iter().any(|(_, i)| *i == id);
            return false;
        }
        let inside = self.rows.iter().position(|(_, i)| *i == id);
        let fits = is.filter(|p| self.holds(p));
        let first = self.ends().map(|(f, _)| f);
        let above = |p: &Option<Place>, in_window: bool| match (p, first) {
            (Some(p), Some(first)) if !in_window => i64::from(*p < first),
            _ => 0,
        };
        let above = above(&is, fits.is_some()) - above(&was, inside.is_some());
        let total = i64::from(is.is_some()) - i64::from(was.is_some());
        self.offset = self.offset.saturating_add_signed(above);
        self.total = self.total.saturating_add_signed(total);
        d.above = above;
        d.total = total;
        if inside.is_none() && fits.is_none() {
            return false;
        }
        let mut patch = Patch {
            from: inside,
            to: None,
            drop_last: false,
        };
        if let Some(i) = inside {
            self.rows.remove(i);
        }
        if let Some(p) = fits {
            let at = self.rows.partition_point(|(q, _)| *q < p);
            self.rows.insert(at, (p, id));
            patch.to = Some(at);
        }
        if self.rows.len() > self.limit {
            self.rows.pop();
            patch.drop_last = true;
            if patch.to == Some(self.rows.len()) {
                patch.to = None;
            }
        }
        // A window a removal left short (or empty) while the view has rows past it is read
        // again, to be whole.
        let short = self.rows.len() < self.limit.div_ceil(2)
            && self.offset + (self.rows.len() as u64) < self.total;
        if short || (self.rows.is_empty() && self.total > 0) {
            d.touched = true;
            return false;
        }
        d.from = patch.from.and_then(|i| u32::try_from(i).ok());
        d.to = patch.to.and_then(|i| u32::try_from(i).ok());
        d.drop_last = patch.drop_last;
        d.to.is_some()
    }

    /// Where the window of view `query` held stands now, to read it again: its offset, and
    /// the place its first row had (None: another view, or an empty window).
    pub fn resume(&self, query: &Query) -> Option<(usize, Place)> {
        // A window at the top is read from the top (as cheap, and a lead may have arrived
        // above its old first row).
        if *query != self.query || self.query.due_today || self.offset == 0 {
            return None;
        }
        let (first, _) = self.ends()?;
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
        if w.follow(m.id, was, is, &mut d)
            && let Some(lead) = after
        {
            d.row = Some(Box::new(s.view(lead.clone(), now)));
        }
    }
    Some(d)
}

impl Delta {
    /// Whether the delta changes anything but the lead's own card.
    pub fn moves_anything(&self) -> bool {
        self.touched
            || self.from.is_some()
            || self.to.is_some()
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

/// Applies a delta to a client's window (`offset`, `total` and its `rows`, each made from a
/// lead's row by `make`), read at generation `page`.
pub fn apply<R>(
    d: &Delta,
    page: u64,
    offset: &mut usize,
    total: &mut usize,
    rows: &mut Vec<R>,
    make: impl FnOnce(&LeadView) -> R,
) -> Apply {
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
    if let Some(i) = d.from {
        let i = i as usize;
        if i >= rows.len() {
            return Apply::Reload;
        }
        rows.remove(i);
    }
    if let (Some(i), Some(row)) = (d.to, &d.row) {
        let i = i as usize;
        if i > rows.len() {
            return Apply::Reload;
        }
        rows.insert(i, make(row));
    }
    if d.drop_last {
        rows.pop();
    }
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
