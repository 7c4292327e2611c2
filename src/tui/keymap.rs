//! Keys as data: an embedded default `keymap.toml`, the user's `keymap.toml` merged over it key
//! by key. `resolve` is a pure lookup; `keys_for` is the reverse map that feeds the help screen
//! and the footer, so neither can drift from the bindings.

use std::collections::BTreeMap;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::Action;

pub const DEFAULT_KEYMAP: &str = include_str!("keymap.toml");

/// Where a key is pressed. `Global` bindings apply in every mode that does not bind the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mode {
    Global,
    Queue,
    Lead,
    Welcome,
    Help,
    Dupes,
    Reports,
}

impl Mode {
    const ALL: [Mode; 7] = [
        Mode::Global,
        Mode::Queue,
        Mode::Lead,
        Mode::Welcome,
        Mode::Help,
        Mode::Dupes,
        Mode::Reports,
    ];

    fn section(self) -> &'static str {
        match self {
            Mode::Global => "global",
            Mode::Queue => "queue",
            Mode::Lead => "lead",
            Mode::Welcome => "welcome",
            Mode::Help => "help",
            Mode::Dupes => "dupes",
            Mode::Reports => "reports",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Keymap {
    bindings: BTreeMap<(Mode, String), Action>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: line {line}: {message}")]
pub struct KeymapError {
    pub origin: String,
    pub line: usize,
    pub message: String,
}

impl Keymap {
    pub fn defaults() -> Keymap {
        let mut k = Keymap {
            bindings: BTreeMap::new(),
        };
        k.merge(DEFAULT_KEYMAP, "built-in keymap")
            .expect("built-in keymap is valid");
        k
    }

    /// The defaults with a user's file merged over them.
    pub fn with_overrides(text: &str, origin: &str) -> Result<Keymap, KeymapError> {
        let mut k = Keymap::defaults();
        k.merge(text, origin)?;
        Ok(k)
    }

    fn merge(&mut self, text: &str, origin: &str) -> Result<(), KeymapError> {
        let err = |line: usize, message: String| KeymapError {
            origin: origin.to_string(),
            line,
            message,
        };
        let table: toml::Table = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(1, |s| line_at(text, s.start));
            err(line, e.message().trim().to_string())
        })?;
        for (section, entries) in table {
            let line = || key_line(text, &[&section]);
            let Some(mode) = Mode::ALL.into_iter().find(|m| m.section() == section) else {
                return Err(err(
                    line(),
                    format!(
                        "unknown section [{section}]; use global, queue, lead, welcome or help"
                    ),
                ));
            };
            let Some(entries) = entries.as_table() else {
                return Err(err(
                    line(),
                    format!("[{section}] must be a table of \"key\" = \"action\""),
                ));
            };
            for (key, value) in entries {
                let line = || key_line(text, &[&section, key]);
                let canonical = canonical_key(key)
                    .ok_or_else(|| err(line(), format!("unknown key {key:?}")))?;
                let Some(name) = value.as_str() else {
                    return Err(err(
                        line(),
                        format!("the action for {key:?} must be a string"),
                    ));
                };
                if name == "none" {
                    self.bindings.remove(&(mode, canonical));
                    continue;
                }
                let action: Action =
                    Action::deserialize(toml::Value::String(name.to_string()).into_deserializer())
                        .map_err(|_| {
                            err(line(), format!("unknown action {name:?} for key {key:?}"))
                        })?;
                self.bindings.insert((mode, canonical), action);
            }
        }
        Ok(())
    }

    /// The action a key means in a mode (falling back to the global bindings).
    pub fn resolve(&self, mode: Mode, key: &KeyEvent) -> Option<Action> {
        let name = key_name(key)?;
        self.bindings
            .get(&(mode, name.clone()))
            .or_else(|| self.bindings.get(&(Mode::Global, name)))
            .copied()
            // Over the help screen only quitting reaches through; an undo behind it would act
            // on a list the rep cannot see.
            .filter(|a| {
                mode != Mode::Help
                    || self
                        .bindings
                        .contains_key(&(Mode::Help, key_name(key).unwrap_or_default()))
                    || *a == Action::Quit
            })
    }

    /// Every key bound to `action` in `mode` (including global ones), for help and hints.
    pub fn keys_for(&self, mode: Mode, action: Action) -> Vec<String> {
        let mut keys: Vec<String> = self
            .bindings
            .iter()
            .filter(|((m, _), a)| {
                (*m == mode
                    || (*m == Mode::Global && (mode != Mode::Help || action == Action::Quit)))
                    && **a == action
            })
            .map(|((_, k), _)| k.clone())
            .collect();
        // Plain keys first, then short names: the footer shows `q`, not `ctrl-c`.
        keys.sort_by_key(|k| {
            (
                k.starts_with("ctrl-") || k.starts_with("alt-"),
                k.chars().count() > 1,
                k.len(),
            )
        });
        keys.dedup();
        keys
    }

    /// All bindings of a mode, grouped by action, in the order of `Action::ALL`.
    pub fn help_entries(&self, mode: Mode) -> Vec<(Vec<String>, Action)> {
        Action::ALL
            .into_iter()
            .map(|a| (self.keys_for(mode, a), a))
            .filter(|(keys, _)| !keys.is_empty())
            .collect()
    }
}

use serde::Deserialize;
use serde::de::IntoDeserializer;

fn line_at(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The line of the key at `path` (a section, then a key in it), from the parser's own spans:
/// a comment or another section naming the same key cannot mislead it, and bare and quoted
/// keys are found alike.
pub(super) fn key_line(text: &str, path: &[&str]) -> usize {
    let Ok(doc) = toml::de::DeTable::parse(text) else {
        return 1;
    };
    let mut table = doc.get_ref();
    let mut start = 0;
    for (i, name) in path.iter().enumerate() {
        let Some((k, v)) = table.iter().find(|(k, _)| k.get_ref() == name) else {
            return 1;
        };
        start = k.span().start;
        match v.get_ref() {
            toml::de::DeValue::Table(t) => table = t,
            _ if i + 1 < path.len() => return 1,
            _ => {}
        }
    }
    line_at(text, start)
}

const NAMED: [&str; 15] = [
    "enter",
    "esc",
    "tab",
    "backspace",
    "up",
    "down",
    "left",
    "right",
    "pgup",
    "pgdn",
    "home",
    "end",
    "space",
    "delete",
    "backtab",
];

/// The one spelling of a key in a keymap file: `ctrl-x`, `alt-x`, `J`, `enter` ...
fn canonical_key(key: &str) -> Option<String> {
    let (prefix, rest) = match key {
        k if k.len() > 5 && k.starts_with("ctrl-") => ("ctrl-", &k[5..]),
        k if k.len() > 4 && k.starts_with("alt-") => ("alt-", &k[4..]),
        k => ("", k),
    };
    let base = if rest.chars().count() == 1 {
        rest.to_string()
    } else {
        let lower = rest.to_ascii_lowercase();
        let lower = match lower.as_str() {
            "escape" => "esc".to_string(),
            "return" => "enter".to_string(),
            "pagedown" => "pgdn".to_string(),
            "pageup" => "pgup".to_string(),
            _ => lower,
        };
        NAMED.contains(&lower.as_str()).then_some(lower)?
    };
    Some(format!("{prefix}{base}"))
}

/// The keymap spelling of a key press.
pub fn key_name(key: &KeyEvent) -> Option<String> {
    let base = match key.code {
        KeyCode::Char(' ') => "space".to_string(),
        KeyCode::Char(c) => c.to_string(),
        KeyCode::Enter => "enter".into(),
        KeyCode::Esc => "esc".into(),
        KeyCode::Tab => "tab".into(),
        KeyCode::BackTab => "backtab".into(),
        KeyCode::Backspace => "backspace".into(),
        KeyCode::Delete => "delete".into(),
        KeyCode::Up => "up".into(),
        KeyCode::Down => "down".into(),
        KeyCode::Left => "left".into(),
        KeyCode::Right => "right".into(),
        KeyCode::PageUp => "pgup".into(),
        KeyCode::PageDown => "pgdn".into(),
        KeyCode::Home => "home".into(),
        KeyCode::End => "end".into(),
        _ => return None,
    };
    let prefix = if key.modifiers.contains(KeyModifiers::CONTROL) {
        "ctrl-"
    } else if key.modifiers.contains(KeyModifiers::ALT) {
        "alt-"
    } else {
        ""
    };
    Some(format!("{prefix}{base}"))
}
