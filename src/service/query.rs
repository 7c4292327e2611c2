//! The queue as of now. A view is read a page at a time from the queue index (`Store::page`),
//! which files each lead under its class and exact score: the work grows with the page asked
//! for and how far into the view it starts, not with the store. Today's queue and the
//! follow-ups due today are gathered from the follow-up index and the leads instead.

use std::cmp::Reverse;

use super::LeadService;
use super::local::Local;
use super::types::{LeadView, OwnerFilter, Query, ServiceError, Stats, ViewPage, Window};
use crate::domain::Stage;
use crate::domain::tally::{Class, Facts, Tally};
use crate::domain::time::end_of_local_day;
use crate::store::keys::fine_fit;
use crate::store::{Place, ViewSpec};

use crate::domain::{Lead, Millis, Temperature};

/// Queue order: score descending, then the finer number (the fit: the learned chance when a
/// model is active), then the lead that has waited longest for a touch, then id.
type Rank = (u8, u16, Reverse<Millis>, Reverse<u64>);

fn rank(v: &LeadView) -> Rank {
    (
        v.score,
        fine_fit(v.lead.score.fit),
        Reverse(v.lead.waiting_since()),
        Reverse(v.lead.id),
    )
}

/// Whether a lead belongs in the list. A follow-up due today shows even if its snooze ends
/// later today (`snooze_ends_by`).
fn matches_lead(q: &Query, lead: &Lead, now: Millis, snooze_ends_by: Millis) -> bool {
    let waiting = snooze_ends_by.max(now);
    // A nurture lead is waiting for its revisit date just as a snoozed one waits for its own.
    let snoozed = lead.snoozed_until.is_some_and(|t| t > waiting)
        || (lead.stage == Stage::Nurture && lead.next_action.is_some_and(|t| t > waiting));
    if !q.all && q.stage.is_none() && (!lead.stage.is_open() || snoozed) {
        return false;
    }
    if q.stage.is_some_and(|s| s != lead.stage) {
        return false;
    }
    match (&q.owner, &lead.owner) {
        (None, _) | (Some(OwnerFilter::Unassigned), None) => {}
        (Some(OwnerFilter::User(want)), Some(has)) if want.eq_ignore_ascii_case(has) => {}
        _ => return false,
    }
    if let Some(src) = &q.source
        && !lead
            .source
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case(src))
    {
        return false;
    }
    has_tag(q, lead)
}

/// Whether `lead` carries the tag the view shows (any lead, when it shows no tag).
fn has_tag(q: &Query, lead: &Lead) -> bool {
    q.tag.as_deref().is_none_or(|want| lead.has_tag(want))
}

pub fn list(s: &Local, q: &Query) -> Result<Vec<LeadView>, ServiceError> {
    Ok(page(s, q, Window::rows(0, q.limit.unwrap_or(usize::MAX)))?.rows)
}

/// Rows `offset..offset + limit` of the view `q` stands for (its own limit aside), and the
/// view's total.
pub fn page(s: &Local, q: &Query, window: Window) -> Result<ViewPage, ServiceError> {
    let now = s.now();
    let Window {
        offset,
        limit,
        focus,
        from,
        ..
    } = window;
    if q.due_today {
        let mut out = due_today(s, q, now)?;
        out.sort_by_key(|v| Reverse(rank(v)));
        let total = out.len();
        let at = focus.and_then(|id| out.iter().position(|v| v.lead.id == id));
        let offset = at.map_or(offset, |at| at.saturating_sub(limit / 4));
        let offset = offset.min(total.saturating_sub(limit.min(total)));
        let rows = out.into_iter().skip(offset).take(limit).collect();
        return Ok(ViewPage {
            rows,
            total,
            offset,
            ..ViewPage::default()
        });
    }
    let classes = classes(q);
    let thresholds = &s.rules().temperature;
    let floor = match q.temperature {
        Some(Temperature::Hot) => thresholds.lowest_hot(),
        Some(Temperature::Warm) => thresholds.lowest_warm(),
        _ => 0,
    };
    let today = Today::new(now);
    let matches = |f: &Facts| matches_tally(s, q, &f.tally) && (!q.today || today.has(f));
    let spec = ViewSpec {
        classes,
        floor,
        matches: (!s.sees_all() || filters(q) || q.today)
            .then_some(&matches as &dyn Fn(&Facts) -> bool),
        counted: false,
        waits_by: q.today.then_some(today.end),
        tag: q.tag.as_deref(),
    };
    let window = crate::store::Window {
        offset: offset as u64,
        limit,
        focus,
        from,
    };
    let found = s.store.page(now, &spec, window)?;
    Ok(ViewPage {
        rows: found.leads.into_iter().map(|l| s.view(l, now)).collect(),
        total: usize::try_from(found.total).unwrap_or(usize::MAX),
        offset: usize::try_from(found.offset).unwrap_or(usize::MAX),
        generation: found.generation,
        stats: None,
    })
}

/// The classes of lead a view shows.
pub(super) fn classes(q: &Query) -> &'static [Class] {
    match q.stage {
        _ if q.today => &[Class::Active, Class::Waiting],
        Some(st) if st.is_open() => &[Class::Active, Class::Waiting],
        Some(_) => &[Class::Closed],
        None if q.all => &Class::ALL,
        None => &[Class::Active],
    }
}

/// Where `lead` is in the view `q` of session `s` as of `now`: its place in the view's order,
/// or None when the view does not show it. As `page` files it (not for `due_today`, which
/// has an order of its own).
pub(super) fn place_in(s: &Local, q: &Query, lead: &Lead, now: Millis) -> Option<Place> {
    let (facts, place) = crate::store::standing(s.rules(), lead, now);
    (classes(q).contains(&facts.tally.class)
        && has_tag(q, lead)
        && matches_tally(s, q, &facts.tally)
        && (!q.today || Today::new(now).has(&facts)))
    .then_some(place)
}

/// One lead's part in the header's counts of session `s` as of `now` (hot, warm, cold, due
/// today), as `stats` counts them.
pub(super) fn share(s: &Local, lead: &Lead, now: Millis) -> [i64; 4] {
    let mut out = [0; 4];
    if !s.may_see(lead) {
        return out;
    }
    let t = Tally::at(s.rules(), lead, now);
    if t.class == Class::Active {
        out[match t.temperature {
            Temperature::Hot => 0,
            Temperature::Warm => 1,
            Temperature::Cold => 2,
        }] = 1;
    }
    let end = end_of_local_day(now);
    if lead.stage.is_open()
        && lead.next_action.is_some_and(|a| a < end)
        && !crate::domain::tally::waiting(lead, end - 1)
    {
        out[3] = 1;
    }
    out
}

/// Today's queue: follow-ups due by the end of today (a lead snoozed until before then too),
/// hot leads not touched for `STALE_DAYS`, and new leads never touched (speed to lead): as
/// the kept counts say (`Tally::stale`, `Tally::untouched`), so that they count it.
pub(super) struct Today {
    /// The first instant after today, and today's local day.
    end: Millis,
    day: i32,
}

impl Today {
    pub(super) fn new(now: Millis) -> Today {
        let end = end_of_local_day(now);
        Today {
            end,
            day: crate::domain::time::local_day(end - 1),
        }
    }

    pub(super) fn has(&self, f: &Facts) -> bool {
        let t = &f.tally;
        let due = t.due_day.is_some_and(|d| d <= self.day);
        match t.class {
            Class::Active => {
                due || (t.temperature == Temperature::Hot && t.stale)
                    || (t.stage == Stage::New && t.untouched)
            }
            Class::Waiting => due && f.wait_ends.is_some_and(|w| w <= self.end),
            Class::Closed => false,
        }
    }
}

/// Whether the query filters beyond the classes it shows.
fn filters(q: &Query) -> bool {
    q.temperature.is_some() || q.stage.is_some() || q.owner.is_some() || q.source.is_some()
}

/// Whether a lead whose tally (as of now) is `t` is in the view: `matches_lead` for what a
/// tally holds.
fn matches_tally(s: &Local, q: &Query, t: &Tally) -> bool {
    if q.temperature.is_some_and(|want| want != t.temperature)
        || q.stage.is_some_and(|want| want != t.stage)
        || !s.may_see_owner(t.owner.as_deref())
    {
        return false;
    }
    match (&q.owner, &t.owner) {
        (None, _) | (Some(OwnerFilter::Unassigned), None) => {}
        (Some(OwnerFilter::User(want)), Some(has)) if want.eq_ignore_ascii_case(has) => {}
        _ => return false,
    }
    q.source.as_ref().is_none_or(|src| {
        t.source
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case(src))
    })
}

fn due_today(s: &Local, q: &Query, now: Millis) -> Result<Vec<LeadView>, ServiceError> {
    let mut out = Vec::new();
    let end = end_of_local_day(now) - 1;
    for item in s.store.followups_until(end) {
        let (_, id) = item?;
        let Some(lead) = s.store.lead(id)? else {
            continue;
        };
        if !s.may_see(&lead) {
            continue;
        }
        if matches_lead(q, &lead, now, end) {
            let v = s.view(lead, now);
            if q.temperature.is_none_or(|t| t == v.temperature) {
                out.push(v);
            }
        }
    }
    Ok(out)
}

/// The header's counts: leads and interactions as kept, hot/warm/cold from the kept counts as
/// of now (`Store::tallies_at`: no scan of the leads), due today from the kept counts by local
/// day (`Store::due_by`).
pub fn stats(s: &Local) -> Result<Stats, ServiceError> {
    let now = s.now();
    let mut st = Stats {
        leads: s.store.lead_count()?,
        interactions: s.store.interaction_count()?,
        ..Stats::default()
    };
    for (tally, n) in s.store.tallies_at(now)? {
        if tally.class != Class::Active || !s.may_see_owner(tally.owner.as_deref()) {
            continue;
        }
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        match tally.temperature {
            Temperature::Hot => st.hot += n,
            Temperature::Warm => st.warm += n,
            Temperature::Cold => st.cold += n,
        }
    }
    let due = s
        .store
        .due_by(now, end_of_local_day(now), None, |owner, _| {
            s.may_see_owner(owner)
        })?;
    st.due_today = usize::try_from(due).unwrap_or(usize::MAX);
    Ok(st)
}
