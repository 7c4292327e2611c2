//! Web leads waiting for a first touch: read when the TUI starts, after changes (at most once
//! a second) and every few seconds (a lead goes overdue with no change); the banner says what
//! matters to this user, and `N` opens its lead.
//!
//! A rep is told of each web lead routed to them, once (with the bell if they asked for it);
//! a manager is told while any is overdue, the longest waiting first.

use super::super::msg::Effect;
use super::super::state::State;
use crate::domain::sanitize::for_display;
use crate::service::Awaiting;

/// Seconds between readings with no change heard (a lead goes overdue by the clock alone).
const EVERY: u32 = 5;

pub(super) fn load(s: &mut State) -> Effect {
    s.waiting_age = 0;
    s.waiting_stale = false;
    Effect::LoadWaiting
}

/// A change was heard: read them again now, unless they were read this very second.
pub(super) fn changed(s: &mut State) -> Option<Effect> {
    if s.waiting_age == 0 {
        s.waiting_stale = true;
        return None;
    }
    Some(load(s))
}

/// A second passed.
pub(super) fn tick(s: &mut State) -> Option<Effect> {
    s.waiting_age += 1;
    (s.waiting_stale || s.waiting_age >= EVERY).then(|| load(s))
}

/// How long ago `at` was, as the queue says ages ("4m").
pub fn age(now: i64, at: i64) -> String {
    let m = (now - at).max(0) / 60_000;
    match m {
        m if m < 60 => format!("{m}m"),
        m if m < 48 * 60 => format!("{}h", m / 60),
        m => format!("{}d", m / (24 * 60)),
    }
}

fn line(a: &Awaiting, now: i64) -> String {
    format!(
        "{} ({}, {})",
        for_display(&a.name),
        for_display(a.source.as_deref().unwrap_or("no source")),
        age(now, a.arrived)
    )
}

pub(super) fn loaded(s: &mut State, list: Vec<Awaiting>) -> Vec<Effect> {
    let now = s.now;
    let mine_new: Vec<&Awaiting> = list
        .iter()
        .filter(|a| a.owner.as_deref() == Some(s.user.as_str()) && !s.waiting_told.contains(&a.id))
        .collect();
    let mut fx = Vec::new();
    s.banner = if let Some(newest) = mine_new.last() {
        if s.bell {
            fx.push(Effect::Bell);
        }
        Some((
            format!("N opens your new web lead: {}", line(newest, now)),
            newest.id,
        ))
    } else if s.manager {
        let overdue: Vec<&Awaiting> = list.iter().filter(|a| a.due < now).collect();
        overdue.first().map(|oldest| {
            let whose = oldest
                .owner
                .as_deref()
                .map_or("the pool".into(), for_display);
            (
                format!(
                    "N opens the longest overdue of {} web lead{}: {} with {whose}",
                    overdue.len(),
                    if overdue.len() == 1 { "" } else { "s" },
                    line(oldest, now)
                ),
                oldest.id,
            )
        })
    } else {
        // A rep's earlier news stays while that lead still waits.
        s.banner
            .take()
            .filter(|(_, id)| list.iter().any(|a| a.id == *id))
    };
    s.waiting_told.extend(mine_new.iter().map(|a| a.id));
    s.waiting = list;
    fx
}
