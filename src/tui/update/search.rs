//! Search as you type: the query line, and a search per keystroke where the leads are (the
//! server: its best matches over the view and how many match). A query typed over is dropped
//! before it runs; its answer, should it come, is stale and dropped too.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;

/// Ends the search: the window of the view comes back, around the lead selected.
pub(super) fn clear_search(s: &mut State) -> Vec<Effect> {
    let keep = s.selected_lead().map(|v| v.lead.id);
    let was_on = s.search.hits.is_some() || s.search.pending;
    s.search.query.clear();
    s.search.hits = None;
    s.search.editing = false;
    s.search.pending = false;
    s.search.generation += 1;
    s.search.count = 0;
    s.selected = 0;
    if !was_on {
        return vec![];
    }
    // The rows on show are the search's: the window is read again, around the lead the rep
    // chose in the search.
    s.rows.clear();
    s.following = keep;
    s.window_start = s.window_wanted;
    let mut fx = super::reload(s);
    if let Some(Effect::LoadView { window, .. }) = fx.first_mut() {
        window.focus = keep;
    }
    fx
}

pub(super) fn search_key(s: &mut State, k: KeyEvent) -> Vec<Effect> {
    let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
    // Esc typed just before a key can reach us as Alt+key: not text for the query.
    let alt = k.modifiers.contains(KeyModifiers::ALT);
    match k.code {
        KeyCode::Esc => return clear_search(s),
        KeyCode::Enter => {
            s.search.editing = false;
            return vec![];
        }
        KeyCode::Down => {
            move_by(s, 1);
            return vec![];
        }
        KeyCode::Up => {
            move_by(s, -1);
            return vec![];
        }
        KeyCode::Char('c') if ctrl => return clear_search(s),
        KeyCode::Char('u') if ctrl => s.search.query.clear(),
        KeyCode::Backspace => {
            s.search.query.pop();
        }
        KeyCode::Char(c) if !ctrl && !alt => s.search.query.push(c),
        _ => return vec![],
    }
    // A new query starts at its best hit.
    s.selected = 0;
    s.search.follow = None;
    if s.search.query.trim().is_empty() {
        return clear_search(s);
    }
    start_search(s)
}

/// Starts a search for the current query over the current view.
pub(super) fn start_search(s: &mut State) -> Vec<Effect> {
    s.search.generation += 1;
    if s.search.query.trim().is_empty() {
        return vec![];
    }
    s.search.pending = true;
    // A window on its way would take the rows: it is stale now.
    s.view_generation += 1;
    s.loading = false;
    vec![Effect::Search {
        generation: s.search.generation,
        text: s.search.query.clone(),
        view: s.query(),
    }]
}
