//! Search as you type: the query line, and searches that narrow as the query grows.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;

pub(super) fn clear_search(s: &mut State) {
    s.search.query.clear();
    s.search.hits = None;
    s.search.editing = false;
    s.search.pending = false;
    s.search.generation += 1;
    s.search.base = None;
    s.selected = 0;
}

pub(super) fn search_key(s: &mut State, k: KeyEvent) -> Vec<Effect> {
    let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
    // Esc typed just before a key can reach us as Alt+key: not text for the query.
    let alt = k.modifiers.contains(KeyModifiers::ALT);
    match k.code {
        KeyCode::Esc => {
            clear_search(s);
            return vec![];
        }
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
        KeyCode::Char('c') if ctrl => {
            clear_search(s);
            return vec![];
        }
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
    start_search(s, true)
}

/// Starts a search for the current query. When the query only grew since the last answer,
/// the new search looks at the last hits only (every term can only match fewer rows).
pub(super) fn start_search(s: &mut State, may_narrow: bool) -> Vec<Effect> {
    s.search.generation += 1;
    if s.search.query.trim().is_empty() {
        s.search.hits = None;
        s.search.pending = false;
        s.search.base = None;
        return vec![];
    }
    let rows = match (&s.search.base, &s.search.hits) {
        (Some(base), Some(hits))
            if may_narrow && s.search.query.starts_with(base.as_str()) && !s.search.pending =>
        {
            Some(hits.iter().map(|h| h.row).collect())
        }
        _ => None,
    };
    s.search.base = Some(s.search.query.clone());
    s.search.pending = true;
    if !s.complete {
        // The search looks at the whole view: it is loaded first, and the search runs
        // when it arrives (`view_loaded`).
        return super::reload(s);
    }
    vec![Effect::Search {
        generation: s.search.generation,
        query: s.search.query.clone(),
        rows,
    }]
}
