//! Helpers the TUI test files share: typing key strings into `update` through `app::step`.
#![allow(dead_code)]

pub mod home;
pub mod server;
pub mod team;

use leadq::service::LeadService;
use leadq::tui::app::step;
use leadq::tui::msg::Msg;
use leadq::tui::state::State;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Parses "j j c 1 <enter> hello <esc>": space-separated tokens; `<name>` is a named key,
/// `<space>` a space, anything else is typed character by character.
pub fn keys(spec: &str) -> Vec<KeyEvent> {
    let mut out = Vec::new();
    for token in spec.split(' ').filter(|t| !t.is_empty()) {
        let named = match token {
            "<enter>" => Some(KeyCode::Enter),
            "<esc>" => Some(KeyCode::Esc),
            "<down>" => Some(KeyCode::Down),
            "<up>" => Some(KeyCode::Up),
            "<bs>" => Some(KeyCode::Backspace),
            "<space>" => Some(KeyCode::Char(' ')),
            "<tab>" => Some(KeyCode::Tab),
            "<backtab>" => Some(KeyCode::BackTab),
            "<ctrl-u>" => {
                out.push(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
                continue;
            }
            _ => None,
        };
        match named {
            Some(code) => out.push(KeyEvent::new(code, KeyModifiers::NONE)),
            None => out.extend(
                token
                    .chars()
                    .map(|c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
            ),
        }
    }
    out
}

/// Types `spec` into the app, running every effect it leads to.
pub fn press(service: &dyn LeadService, state: &mut State, spec: &str) {
    for k in keys(spec) {
        step(service, state, Msg::Key(k));
    }
}

/// Splits a command line on spaces; 'single quotes' keep spaces and may be empty.
pub fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut word, mut quoted, mut started) = (String::new(), false, false);
    for c in line.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                started = true;
            }
            ' ' if !quoted => {
                if started {
                    out.push(std::mem::take(&mut word));
                }
                started = false;
            }
            c => {
                word.push(c);
                started = true;
            }
        }
    }
    assert!(!quoted, "unbalanced quote in {line:?}");
    if started {
        out.push(word);
    }
    out
}
