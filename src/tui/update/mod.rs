//! `update(&mut State, Msg) -> Vec<Effect>`: every transition of the TUI, with no terminal and
//! no store, so flows are testable by feeding keys.

use ratatui::crossterm::event::{KeyEvent, KeyEventKind};

mod edit;
mod waiting;
pub use waiting::age;
mod prompt;
mod search;

pub use edit::complete_tag;

pub use prompt::pick_options;
use prompt::{ask, pick, prompt_key, remember_subject};
use search::{clear_search, search_key, start_search};

use super::action::Action;
use super::msg::{Done, Effect, Msg};
use super::presence;
use super::state::{Ask, Flash, Pick, Prompt, Screen, State, UndoEntry, View};
use crate::domain::time::{local_day, parse_when};
use crate::domain::{Kind, LostReason, NewLead, Stage};
use crate::service::LogEntry;

/// How many rows the first, quick answer of a view load holds.
pub const FIRST_PAGE: usize = 200;

pub fn update(s: &mut State, msg: Msg) -> Vec<Effect> {
    let mut fx = transition(s, msg);
    // Whatever the message, the others hear when what this user is doing changed.
    fx.extend(presence::sync(s));
    fx
}

fn transition(s: &mut State, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Key(k) => key(s, k),
        Msg::Action(a) if s.prompt.is_none() => action(s, a),
        Msg::Action(_) | Msg::Resized => vec![],
        Msg::ClickRow(line) => {
            if s.screen == Screen::Queue && s.prompt.is_none() && !s.help {
                let page = s.page.max(1);
                let at = s.window_start + s.selected;
                let n = (at - at % page + line).checked_sub(s.window_start);
                if let Some(n) = n.filter(|&n| n < s.visible_len()) {
                    s.selected = n;
                }
            }
            vec![]
        }
        Msg::Tick(now) => tick(s, now),
        Msg::ViewLoaded {
            generation,
            rows,
            offset,
            total,
            generation_read,
            stats,
        } => {
            if generation != s.view_generation {
                return vec![];
            }
            if let Some(st) = stats {
                set_stats(s, st);
                s.stats_generation = generation_read;
            }
            let mut fx = view_loaded(s, generation, rows, offset, total);
            if s.loading {
                // The window is asked for again (its selected lead went elsewhere).
                return fx;
            }
            s.page_generation = generation_read;
            // What changed since the page was read, heard while it was on its way (the
            // counts took it when it came).
            let recent = std::mem::take(&mut s.recent);
            let held = s.stats_generation;
            s.stats_generation = u64::MAX;
            fx.extend(deltas(s, recent));
            s.stats_generation = held;
            fx
        }
        Msg::SourcesLoaded(sources) => {
            s.sources = sources;
            vec![]
        }
        Msg::DetailLoaded(d) => {
            if s.screen == Screen::Lead
                && s.detail
                    .as_ref()
                    .is_none_or(|old| old.view.lead.id == d.view.lead.id)
            {
                s.detail = Some(*d);
            }
            vec![]
        }
        Msg::SearchDone { generation, found } => {
            if generation == s.search.generation && !s.search.query.trim().is_empty() {
                let keep = s.search.follow.take();
                let crate::service::Found { rows, hits } = *found;
                s.search.hits = Some(
                    (0..rows.len())
                        .map(|row| crate::domain::search::Match { row, rank: 0 })
                        .collect(),
                );
                s.search.count = hits;
                s.rows = rows;
                s.search.pending = false;
                if let Some(id) = keep {
                    select_lead(s, id);
                }
                s.selected = s.selected.min(s.visible_len().saturating_sub(1));
            }
            vec![]
        }
        Msg::Done(done) => done_msg(s, *done),
        Msg::LoadFailed(generation, text) => {
            if generation == s.view_generation {
                s.loading = false;
                s.flash(text.clone(), true);
                s.load_error = Some(text);
            }
            vec![]
        }
        Msg::Failed(text) => {
            s.flash(text, true);
            s.loading = false;
            vec![]
        }
        Msg::EditRefused(text) => {
            if !edit::refused(s, text.clone()) {
                s.flash(text, true);
            }
            vec![]
        }
        Msg::ReportLoaded(r) => {
            if s.screen == Screen::Reports {
                match r {
                    Ok(r) => {
                        let leads = r.leads().len();
                        s.report_at = s
                            .report_at
                            .filter(|_| leads > 0)
                            .map(|at| at.min(leads - 1));
                        s.report = Some(r);
                        s.report_failed = None;
                    }
                    // Asked for figures that are not the user's (a rep naming a colleague):
                    // told so, and back to their own.
                    Err(e) if s.report_owner.is_some() => {
                        s.flash(e, true);
                        s.report_owner = None;
                        return vec![load_report(s)];
                    }
                    Err(e) => {
                        s.report = None;
                        s.report_failed = Some(e.clone());
                        s.flash(e, true);
                    }
                }
            }
            vec![]
        }
        Msg::DupesLoaded(list) => {
            if s.screen == Screen::Dupes {
                s.dupes_at = s.dupes_at.min(list.len().saturating_sub(1));
                s.dupes = Some(list);
            }
            vec![]
        }
        Msg::TagsLoaded(tags) => {
            if let Some(Prompt::Text {
                what: Ask::Tags(in_use) | Ask::FilterTag(in_use),
                ..
            }) = &mut s.prompt
            {
                in_use.clone_from(&tags);
            }
            s.tags = tags;
            vec![]
        }
        Msg::WaitingLoaded(list, away) => {
            s.away = away.contains(&s.user);
            waiting::loaded(s, list)
        }
        Msg::AwayNow(away) => {
            s.away = away.contains(&s.user);
            s.flash(
                if s.away {
                    "away: new web leads go to the rest of the team (B again when back)"
                } else {
                    "back: new web leads come to you again"
                },
                false,
            );
            vec![]
        }
        Msg::StoreChanged => reload_all(s),
        Msg::Deltas(list) => {
            let mut fx = deltas(s, list);
            fx.extend(waiting::changed(s));
            fx
        }
        Msg::Presence(others) => {
            s.presence = others;
            vec![]
        }
        Msg::Connection(problem) => connection(s, problem),
    }
}

/// The connection's state, polled: when it comes back the view may be stale (changes made
/// meanwhile were never pushed), so everything is reloaded.
fn connection(s: &mut State, problem: Option<String>) -> Vec<Effect> {
    let was = std::mem::replace(&mut s.connection, problem);
    if was.is_some() && s.connection.is_none() {
        s.flash("reconnected to the leadq server", false);
        return reload_all(s);
    }
    vec![]
}

fn tick(s: &mut State, now: i64) -> Vec<Effect> {
    let new_day = local_day(now) != local_day(s.now);
    s.now = now;
    if s.flash.as_ref().is_some_and(|f| f.until <= now) {
        s.flash = None;
    }
    // Scores decay as time passes: the store brings each lead up to now when its score or
    // its wait changes (the minute tick), and that change comes here like any other. Only a
    // new day changes what is due with no change to any lead.
    if new_day {
        return reload_all(s);
    }
    let mut fx: Vec<Effect> = waiting::tick(s).into_iter().collect();
    if s.screen == Screen::Reports {
        s.report_age += 1;
        if s.report_age >= REPORT_EVERY {
            fx.push(load_report(s));
        }
    }
    fx
}

/// Seconds between two readings of the report on show.
const REPORT_EVERY: u32 = 5;

fn set_stats(s: &mut State, stats: crate::service::Stats) {
    if stats.leads == 0 {
        s.screen = Screen::Welcome;
    } else if s.screen == Screen::Welcome {
        s.screen = Screen::Queue;
    }
    s.stats = stats;
}

/// Changes pushed by the server: the window moves its numbers, or is read again when a
/// change is in it; an open lead whose card changed is read again. While a search is on, a
/// change to one of its rows, or to what the view holds, searches again.
fn deltas(s: &mut State, list: Vec<crate::service::Delta>) -> Vec<Effect> {
    use crate::service::Apply;
    use crate::service::watch::{apply, count};
    let mut fx = Vec::new();
    let (mut again, mut search_again) = (false, false);
    let leads_before = s.stats.leads;
    let searching = !s.search.query.trim().is_empty();
    if s.screen == Screen::Reports && !list.is_empty() {
        fx.push(load_report(s));
    }
    for d in list {
        if let (Screen::Lead, Some(open)) = (s.screen, &s.detail)
            && open.view.lead.id == d.id
            && !fx.contains(&Effect::LoadDetail(d.id))
        {
            fx.push(Effect::LoadDetail(d.id));
        }
        count(&d, s.stats_generation, &mut s.stats);
        if searching {
            search_again |= d.touched || d.total != 0 || s.rows.iter().any(|v| v.lead.id == d.id);
            continue;
        }
        let keep = s.selected_lead().map(|v| v.lead.id);
        let applied = apply(
            &d,
            s.page_generation,
            &mut s.window_start,
            &mut s.total,
            &mut s.rows,
            |v| v.clone(),
        );
        again |= applied == Apply::Reload;
        if applied == Apply::Moved {
            if !s.loading {
                s.window_wanted = s.window_start;
            }
            s.complete = s.window_start == 0 && s.rows.len() >= s.total;
            // The selection stays on its lead; one that left the window is followed there.
            if let Some(id) = keep {
                if s.rows.iter().any(|v| v.lead.id == id) {
                    select_lead(s, id);
                } else {
                    s.following = Some(id);
                    again = true;
                }
            }
            s.selected = s.selected.min(s.visible_len().saturating_sub(1));
        }
        if s.loading && s.recent.len() < 10_000 {
            s.recent.push(d);
        }
    }
    if (leads_before == 0) != (s.stats.leads == 0) {
        let st = s.stats.clone();
        set_stats(s, st);
    }
    if search_again && !s.search.pending {
        s.search.follow = s.selected_lead().map(|v| v.lead.id);
        fx.extend(start_search(s));
    }
    if again && !s.loading {
        // The window held, read again where it stands now (from its first row: a server
        // keeps where that is, so the read costs the rows, not how deep they are), or
        // around the selected lead where it went.
        for mut e in reload(s) {
            if let Effect::LoadView { window, .. } = &mut e {
                window.again = window.focus.is_none();
            }
            fx.push(e);
        }
    }
    fx
}

/// Reloads the view, and the open lead.
pub fn reload_all(s: &mut State) -> Vec<Effect> {
    let mut fx = reload(s);
    if let (Screen::Lead, Some(d)) = (s.screen, &s.detail) {
        fx.push(Effect::LoadDetail(d.view.lead.id));
    }
    if s.screen == Screen::Dupes {
        fx.push(Effect::LoadDupes);
    }
    if s.screen == Screen::Reports {
        fx.push(load_report(s));
    }
    fx.push(waiting::load(s));
    fx
}

/// The report asked for now: its kind and period, narrowed by the queue's source and tag
/// filters.
pub(super) fn load_report(s: &mut State) -> Effect {
    s.report_age = 0;
    Effect::LoadReport(crate::service::ReportRequest {
        kind: s.report_kind,
        days: s.report_days,
        from: None,
        to: None,
        source: s.source_filter.clone(),
        owner: s.report_owner.clone(),
        tag: s.tag_filter.clone(),
    })
}

/// Loads the view again: the window the rep is in (the first for another view or filter), or
/// the whole view while a search looks at it.
pub fn reload(s: &mut State) -> Vec<Effect> {
    if !s.search.query.trim().is_empty() {
        // A search shows its best matches, searched where the leads are: search again.
        s.search.follow = s.selected_lead().map(|v| v.lead.id);
        return start_search(s);
    }
    let query = s.query();
    if s.rows_query.as_ref() != Some(&query) {
        s.rows_wanted = FIRST_PAGE;
        s.window_wanted = 0;
        s.land = None;
        s.rows_query = Some(query.clone());
    }
    let (offset, limit) = (s.window_wanted, s.rows_wanted);
    // The lead a window left behind is looked for wherever it is now (`view_loaded`); a
    // plain reload reads the window where it is, which costs only its rows.
    let focus = s.following.filter(|_| offset == s.window_start);
    // Asked once for the window around it: if it is not there either, it left the view.
    s.asked = focus;
    s.view_generation += 1;
    s.recent.clear();
    s.loading = true;
    vec![Effect::LoadView {
        generation: s.view_generation,
        query,
        window: crate::service::Window {
            offset,
            limit,
            focus,
            ..Default::default()
        },
    }]
}

/// Moves the selection, and moves the window when the selection nears one of its ends (to the
/// view's end for `G`, its start for `g`).
fn scroll(s: &mut State, delta: isize) -> Vec<Effect> {
    move_by(s, delta);
    // Complete only if the rows on show are the view asked for last (not one switched from).
    let complete = s.complete && s.shown_query == s.rows_query;
    if s.screen != Screen::Queue || s.help || complete || s.search.hits.is_some() {
        return vec![];
    }
    let limit = FIRST_PAGE.max(s.page.saturating_mul(4));
    if s.shown_query != s.rows_query {
        // The view switched to has not arrived: `g` and `G` land once it has.
        if delta >= isize::MAX / 2 || delta <= isize::MIN / 2 {
            s.land = Some(if delta > 0 { usize::MAX } else { 0 });
            s.window_wanted = if delta > 0 { usize::MAX } else { 0 };
            s.rows_wanted = limit;
            return reload(s);
        }
        return vec![];
    }
    if delta >= isize::MAX / 2 {
        s.land = Some(usize::MAX);
        s.window_wanted = usize::MAX;
        s.rows_wanted = limit;
        return reload(s);
    }
    if delta <= isize::MIN / 2 {
        if s.window_start == 0 {
            return vec![];
        }
        s.land = Some(0);
        s.window_wanted = 0;
        s.rows_wanted = limit;
        return reload(s);
    }
    if s.loading {
        return vec![];
    }
    let at = s.window_start + s.selected;
    let margin = s.page.max(1) * 2;
    let end = s.window_start + s.rows.len();
    if at + margin >= end && end < s.total {
        s.window_wanted = at.saturating_sub(limit / 4);
    } else if at < s.window_start + margin && s.window_start > 0 {
        s.window_wanted = at.saturating_sub(limit * 3 / 4);
    } else {
        return vec![];
    }
    s.rows_wanted = limit;
    reload(s)
}

fn view_loaded(
    s: &mut State,
    generation: u64,
    rows: Vec<crate::service::LeadView>,
    offset: usize,
    total: usize,
) -> Vec<Effect> {
    if generation != s.view_generation {
        return vec![];
    }
    if !s.search.query.trim().is_empty() {
        // A search took the rows meanwhile: its matches stay.
        s.loading = false;
        return vec![];
    }
    // The selection follows its lead, wherever the new order puts it: a key pressed next must
    // act on the lead the rep saw selected, never on whatever took its row.
    // The lead being followed (it left the window) comes first: the row under the
    // selection since is another lead.
    let keep = s.following.or_else(|| s.selected_lead().map(|v| v.lead.id));
    let same_view = s.shown_query == s.rows_query;
    let at = s.window_start + s.selected;
    s.loading = false;
    // The selected lead moved out of the window (a change re-sorted the view): keep what is on
    // screen and ask once more for the window around that lead, wherever it went.
    if let Some(id) = keep
        && same_view
        && s.land.is_none()
        && s.search.hits.is_none()
        && s.asked != Some(id)
        && !rows.iter().any(|v| v.lead.id == id)
    {
        s.following = Some(id);
        return reload(s);
    }
    s.following = None;
    s.asked = None;
    s.rows = rows;
    s.load_error = None;
    s.window_start = offset;
    s.window_wanted = offset;
    s.total = total;
    let complete = offset == 0 && s.rows.len() >= total;
    s.complete = complete;
    s.shown_query = s.rows_query.clone();
    // A lead that moved out of the window leaves the selection where it was in the view.
    if same_view && s.search.hits.is_none() {
        s.selected = at.saturating_sub(s.window_start);
    }
    if let Some(id) = keep {
        select_lead(s, id);
    }
    if std::mem::take(&mut s.first_load) && total == 0 && s.view == View::Hot {
        s.flash(
            "no hot leads right now: showing all open leads (H for hot)",
            false,
        );
        return switch_view(s, View::All);
    }
    if let Some(land) = s.land.take() {
        s.selected = land.saturating_sub(s.window_start);
    }
    s.selected = s.selected.min(s.visible_len().saturating_sub(1));
    vec![]
}

/// Moves the selection to lead `id` if it is on display; else it stays where it is.
pub(super) fn select_lead(s: &mut State, id: crate::domain::LeadId) {
    let found = (0..s.visible_len()).find(|&n| {
        s.visible_row(n)
            .and_then(|i| s.rows.get(i))
            .is_some_and(|v| v.lead.id == id)
    });
    if let Some(n) = found {
        s.selected = n;
    }
}

fn done_msg(s: &mut State, done: Done) -> Vec<Effect> {
    match done {
        Done::Logged { change, action } => {
            s.flash(change_text(&change), false);
            patch_row(s, &change);
            s.undo.push(UndoEntry {
                label: format!("{} on {}", change.label, change.name),
                actions: vec![action],
            });
            s.last_logged = Some(action);
        }
        Done::Changed {
            change,
            action,
            join,
        } => {
            // An edit says what it changed: the score rarely moves.
            let text = match (&change.detail, change.label.as_str()) {
                (Some(d), l) if l == "edit" || l.starts_with("merge of") => format!(
                    "#{} {}: {}",
                    change.id,
                    crate::domain::sanitize::for_display(&change.name),
                    crate::domain::sanitize::for_display(d)
                ),
                (None, "edit") => "nothing changed".to_string(),
                _ => change_text(&change),
            };
            s.flash(text, false);
            patch_row(s, &change);
            match s.undo.last_mut() {
                Some(last) if join => last.actions.push(action),
                _ => s.undo.push(UndoEntry {
                    label: format!("{} on {}", change.label, change.name),
                    actions: vec![action],
                }),
            }
        }
        Done::Annotated => {}
        Done::Erased(id) => {
            s.flash(
                format!("#{id} erased for good; an audit entry keeps who and when"),
                false,
            );
            if s.screen == Screen::Lead {
                s.screen = Screen::Queue;
                s.open_lead = None;
                s.detail = None;
            }
        }
        Done::NotDupes(a, b) => s.flash(
            format!("#{a} and #{b} are two people: the pair is not offered again"),
            false,
        ),
        Done::Added { id, created, name } => {
            let how = if created {
                "added"
            } else {
                "merged into the existing lead (same e-mail or phone)"
            };
            s.flash(
                format!(
                    "#{id} {}: {how}",
                    crate::domain::sanitize::for_display(&name)
                ),
                false,
            );
        }
        Done::Undone { label } => s.flash(format!("undone: {label}"), false),
        Done::DemoLoaded { leads } => {
            s.flash(format!("loaded {leads} demo leads"), false);
            s.screen = Screen::Queue;
        }
    }
    reload_all(s)
}

/// Shows a write's effect on the row at once, before the reload arrives.
fn patch_row(s: &mut State, c: &crate::service::Change) {
    if let Some(row) = s.rows.iter_mut().find(|v| v.lead.id == c.id) {
        row.score = c.score_after;
        row.temperature = c.temperature_after;
        row.lead.stage = c.stage_after;
        row.lead.next_action = c.next_action;
        row.lead.owner.clone_from(&c.owner);
    }
}

/// `#17 Ann Lee  warm -> HOT  +15  new -> contacted`
pub fn change_text(c: &crate::service::Change) -> String {
    let temp = |t: crate::domain::Temperature| match t {
        crate::domain::Temperature::Hot => "HOT".to_string(),
        other => other.name().to_string(),
    };
    let mut parts = vec![format!(
        "#{} {}",
        c.id,
        crate::domain::sanitize::for_display(&c.name)
    )];
    if c.temperature_before == c.temperature_after {
        parts.push(temp(c.temperature_after));
    } else {
        parts.push(format!(
            "{} -> {}",
            temp(c.temperature_before),
            temp(c.temperature_after)
        ));
    }
    let delta = i32::from(c.score_after) - i32::from(c.score_before);
    parts.push(if delta == 0 {
        format!("score {}", c.score_after)
    } else {
        format!("{delta:+} ({})", c.score_after)
    });
    if c.stage_before != c.stage_after {
        parts.push(format!("{} -> {}", c.stage_before, c.stage_after));
    }
    parts.join("  ")
}

fn key(s: &mut State, k: KeyEvent) -> Vec<Effect> {
    if k.kind == KeyEventKind::Release {
        return vec![];
    }
    if s.too_small {
        if s.keymap.resolve(s.mode(), &k) == Some(Action::Quit) {
            s.quit = true;
        }
        return vec![];
    }
    if s.prompt.is_some() {
        return prompt_key(s, k);
    }
    if s.search.editing {
        return search_key(s, k);
    }
    match s.keymap.resolve(s.mode(), &k) {
        Some(a) => action(s, a),
        None => vec![],
    }
}

fn needs_lead(s: &mut State) -> Option<crate::domain::LeadId> {
    let t = s.target();
    if t.is_none() {
        s.flash("no lead selected", true);
    }
    t
}

/// Opens lead `id`'s view; Esc goes back to `from`.
fn open_lead(s: &mut State, id: crate::domain::LeadId, from: Screen) -> Vec<Effect> {
    s.lead_from = from;
    s.screen = Screen::Lead;
    s.open_lead = Some(id);
    s.detail = None;
    s.detail_scroll = 0;
    vec![Effect::LoadDetail(id)]
}

/// Performs one named user intention.
pub fn action(s: &mut State, a: Action) -> Vec<Effect> {
    match a {
        Action::Quit => s.quit = true,
        Action::Help => {
            s.help = !s.help;
            s.help_scroll = 0;
        }
        Action::Back => return back(s),
        Action::Down => return scroll(s, 1),
        Action::Up => return scroll(s, -1),
        Action::PageDown => return scroll(s, s.page.max(1) as isize),
        Action::PageUp => return scroll(s, -(s.page.max(1) as isize)),
        Action::Top => return scroll(s, isize::MIN / 2),
        Action::Bottom => return scroll(s, isize::MAX / 2),
        Action::Open if s.screen == Screen::Reports => {
            let leads = s.report.as_ref().map(|r| r.leads()).unwrap_or_default();
            if let Some(&id) = s.report_at.and_then(|at| leads.get(at)) {
                return open_lead(s, id, Screen::Reports);
            }
        }
        Action::Open => {
            if let Some(id) = s.selected_lead().map(|v| v.lead.id) {
                return open_lead(s, id, Screen::Queue);
            }
        }
        Action::ViewHot => return switch_view(s, View::Hot),
        Action::ViewToday => return switch_view(s, View::Today),
        Action::ViewMine => return switch_view(s, View::Mine),
        Action::ViewUnassigned => return switch_view(s, View::Unassigned),
        Action::ViewAll => return switch_view(s, View::All),
        Action::FilterStage => pick(s, Pick::FilterStage, None),
        Action::FilterSource => {
            let sources = s.sources.iter().take(9).cloned().collect();
            pick(s, Pick::FilterSource(sources), None);
        }
        Action::FilterTag => {
            ask(s, Ask::FilterTag(s.tags.clone()), None);
            return vec![Effect::LoadTags];
        }
        Action::Search => {
            s.search.editing = true;
        }
        Action::LogCall | Action::LogEmail | Action::LogMeeting => {
            let kind = match a {
                Action::LogCall => Kind::Call,
                Action::LogEmail => Kind::Email,
                _ => Kind::Meeting,
            };
            if let Some(id) = needs_lead(s) {
                log_touch(s, kind, id);
            }
        }
        Action::LogNote => {
            if let Some(id) = needs_lead(s) {
                ask(s, Ask::NoteOnly, Some(id));
            }
        }
        Action::SetStage => {
            if let Some(id) = needs_lead(s) {
                pick(s, Pick::Stage, Some(id));
            }
        }
        Action::Won => {
            if let Some(id) = needs_lead(s) {
                return vec![Effect::Won(id)];
            }
        }
        Action::Lost => {
            if let Some(id) = needs_lead(s) {
                pick(s, Pick::LostReason, Some(id));
            }
        }
        Action::Snooze => {
            if let Some(id) = needs_lead(s) {
                ask(s, Ask::Snooze, Some(id));
            }
        }
        Action::Assign => {
            if let Some(id) = needs_lead(s) {
                ask(s, Ask::Assign, Some(id));
            }
        }
        Action::EditCard => {
            if let Some(id) = needs_lead(s) {
                edit::open_form(s, id);
            }
        }
        Action::Tag => {
            if let Some(id) = needs_lead(s) {
                edit::open_tags(s, id);
                return vec![Effect::LoadTags];
            }
        }
        Action::Erase => {
            if let Some(id) = needs_lead(s) {
                ask(s, Ask::Erase, Some(id));
            }
        }
        Action::ShowReports => {
            s.screen = Screen::Reports;
            s.report = None;
            s.report_failed = None;
            s.report_scroll = 0;
            s.report_at = None;
            return vec![load_report(s)];
        }
        Action::NextReport | Action::PreviousReport => {
            use crate::service::ReportKind;
            let all = ReportKind::ALL;
            let at = all.iter().position(|k| *k == s.report_kind).unwrap_or(0);
            let step = if a == Action::NextReport {
                1
            } else {
                all.len() - 1
            };
            s.report_kind = all[(at + step) % all.len()];
            s.report_scroll = 0;
            s.report_at = None;
            return vec![load_report(s)];
        }
        Action::ReportOwner => ask(s, Ask::ReportOwner, None),
        Action::OpenWaiting => {
            // The banner's lead, else the web lead waiting longest.
            let id = s
                .banner
                .as_ref()
                .map(|(_, id)| *id)
                .or_else(|| s.waiting.first().map(|a| a.id));
            let Some(id) = id else {
                s.flash("no web lead is waiting for a first touch", false);
                return vec![];
            };
            s.banner = None;
            return open_lead(s, id, Screen::Queue);
        }
        Action::ToggleAway => return vec![Effect::SetAway(!s.away)],
        Action::ReportPeriod => {
            s.report_days = match s.report_days {
                Some(7) => Some(30),
                Some(30) => Some(90),
                Some(_) => None,
                None => Some(7),
            };
            return vec![load_report(s)];
        }
        Action::ShowDupes => {
            s.screen = Screen::Dupes;
            s.dupes = None;
            s.dupes_at = 0;
            return vec![Effect::LoadDupes];
        }
        Action::MergePair => {
            if let Some(p) = s.dupes.as_ref().and_then(|d| d.get(s.dupes_at)) {
                let label = |l: &crate::service::DupeSide| {
                    format!(
                        "#{} {}",
                        l.id,
                        crate::domain::sanitize::for_display(&l.name)
                    )
                };
                let options = vec![label(&p.a), label(&p.b)];
                s.merging = Some(crate::service::MergeRequest {
                    keep: p.a.id,
                    other: p.b.id,
                    ..Default::default()
                });
                pick(s, Pick::MergeKeep(options), None);
            }
        }
        Action::NotTheSame => {
            if let Some(p) = s.dupes.as_ref().and_then(|d| d.get(s.dupes_at)) {
                return vec![Effect::NotDupes(p.a.id, p.b.id)];
            }
        }
        Action::AddLead => {
            s.draft = Some(NewLead::default());
            ask(s, Ask::AddName, None);
        }
        Action::Undo => match s.undo.pop() {
            Some(entry) => {
                return vec![Effect::Undo {
                    label: entry.label,
                    actions: entry.actions,
                }];
            }
            None => s.flash("nothing to undo", true),
        },
        Action::Refresh => return reload_all(s),
        Action::LoadDemo => return vec![Effect::LoadDemo],
    }
    vec![]
}

/// Starts logging a touch: the outcome picker, or first a question when someone else is on
/// the lead right now (two reps must not call one lead at once unawares).
fn log_touch(s: &mut State, kind: Kind, id: crate::domain::LeadId) {
    let others = presence::others_on(s, id);
    if others.is_empty() {
        pick(s, Pick::Outcome(kind), Some(id));
        return;
    }
    remember_subject(s, Some(id));
    s.prompt = Some(Prompt::Confirm {
        kind,
        lead: id,
        who: presence::names(&others),
    });
}

fn back(s: &mut State) -> Vec<Effect> {
    if s.help {
        s.help = false;
    } else if s.screen == Screen::Lead {
        s.screen = s.lead_from;
        s.open_lead = None;
        s.detail = None;
        if s.screen == Screen::Reports {
            return vec![load_report(s)];
        }
    } else if s.screen == Screen::Reports {
        s.screen = Screen::Queue;
        s.report = None;
    } else if s.screen == Screen::Dupes {
        s.screen = Screen::Queue;
        s.dupes = None;
    } else if !s.search.query.is_empty() {
        return clear_search(s);
    }
    vec![]
}

fn move_by(s: &mut State, delta: isize) {
    let clamp = |pos: usize, len: usize| -> usize {
        let p = pos as isize + delta;
        p.clamp(0, len.saturating_sub(1) as isize) as usize
    };
    if s.help {
        // The help box shows about a page of lines; scrolling stops at its last one.
        let lines = s.keymap.help_entries(screen_mode(s.screen)).len() + 3;
        let last = lines.saturating_sub(s.page.saturating_sub(1)) + 1;
        s.help_scroll = clamp(s.help_scroll, last);
    } else if s.screen == Screen::Lead {
        // The timeline scrolls an entry at a time and stops with its oldest entry on show.
        let len = s.detail.as_ref().map_or(0, |d| d.timeline.len());
        s.detail_scroll = clamp(s.detail_scroll, len);
    } else if s.screen == Screen::Dupes {
        let len = s.dupes.as_ref().map_or(0, Vec::len);
        s.dupes_at = clamp(s.dupes_at, len);
    } else if s.screen == Screen::Reports
        && s.report.as_ref().is_some_and(|r| !r.leads().is_empty())
    {
        // A report that names leads moves a selection among them (enter opens one); above
        // the first, none is selected and the report reads from its top.
        let len = s.report.as_ref().map_or(0, |r| r.leads().len());
        let to = s.report_at.map_or(-1, |at| at as isize) + delta;
        s.report_at = (to >= 0).then(|| (to as usize).min(len.saturating_sub(1)));
        if s.report_at.is_none() {
            s.report_scroll = 0;
        }
    } else if s.screen == Screen::Reports {
        // A line at a time, down to where the report's last line is at the bottom.
        let len = s.report.as_ref().map_or(0, |r| {
            r.tables.iter().map(|t| t.rows.len() + 3).sum::<usize>()
        });
        s.report_scroll = clamp(s.report_scroll, len.saturating_sub(s.page).max(1));
    } else {
        s.selected = clamp(s.selected, s.visible_len());
    }
}

fn switch_view(s: &mut State, v: View) -> Vec<Effect> {
    s.view = v;
    s.selected = 0;
    s.screen = if s.screen == Screen::Welcome {
        Screen::Welcome
    } else {
        Screen::Queue
    };
    reload(s)
}

/// A flash that stays until the next message (used by the app for start-up warnings).
pub fn sticky(text: String, now: i64) -> Flash {
    Flash {
        text,
        error: true,
        until: now + 15_000,
    }
}

/// The keymap mode of a screen (what the help screen describes).
pub fn screen_mode(screen: Screen) -> crate::tui::keymap::Mode {
    use crate::tui::keymap::Mode;
    match screen {
        Screen::Welcome => Mode::Welcome,
        Screen::Queue => Mode::Queue,
        Screen::Lead => Mode::Lead,
        Screen::Dupes => Mode::Dupes,
        Screen::Reports => Mode::Reports,
    }
}
