//! Themes are semantic roles in TOML (`hot`, `selection`, `match` ...), never widget names.
//! Built-in themes come from `themes/` embedded in the binary; user themes from
//! `~/.config/leadq/themes/NAME.toml`. A theme may `inherits = "default"`.

use std::collections::BTreeMap;
use std::path::Path;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

use super::keymap::key_line;
use crate::domain::{Stage, Temperature};

pub const BUILT_IN: [(&str, &str); 4] = [
    ("default", include_str!("../../themes/default.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
    ("mono", include_str!("../../themes/mono.toml")),
];

/// Every role a theme can style; a role a theme leaves out falls back to `text`.
pub const ROLES: [&str; 25] = [
    "text",
    "muted",
    "accent",
    "border",
    "title",
    "selection",
    "match",
    "hot",
    "warm",
    "cold",
    "overdue",
    "positive",
    "negative",
    "error",
    "key",
    "presence",
    "stage_new",
    "stage_contacted",
    "stage_qualified",
    "stage_opportunity",
    "stage_customer",
    "stage_loyal",
    "stage_nurture",
    "stage_lost",
    "header",
];

#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    roles: BTreeMap<String, Style>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    name: Option<String>,
    inherits: Option<String>,
    #[serde(default)]
    roles: BTreeMap<String, RoleSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleSpec {
    fg: Option<Color>,
    bg: Option<Color>,
    #[serde(default)]
    modifiers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: line {line}: {message}")]
pub struct ThemeError {
    pub origin: String,
    pub line: usize,
    pub message: String,
}

fn modifier(name: &str) -> Option<Modifier> {
    Some(match name {
        "bold" => Modifier::BOLD,
        "dim" => Modifier::DIM,
        "italic" => Modifier::ITALIC,
        "underlined" | "underline" => Modifier::UNDERLINED,
        "reversed" | "reverse" => Modifier::REVERSED,
        "crossed_out" | "crossed-out" => Modifier::CROSSED_OUT,
        "slow_blink" => Modifier::SLOW_BLINK,
        _ => return None,
    })
}

impl Theme {
    pub fn built_in(name: &str) -> Option<Theme> {
        let (_, text) = BUILT_IN.iter().find(|(n, _)| *n == name)?;
        Some(
            Theme::parse(text, &format!("built-in theme {name}"), &|_| None)
                .expect("built-in themes are valid"),
        )
    }

    pub fn default_theme() -> Theme {
        Theme::built_in("default").expect("default theme exists")
    }

    /// Parses a theme file. `lookup` finds a parent theme by name for `inherits` (built-ins
    /// are always found).
    pub fn parse(
        text: &str,
        origin: &str,
        lookup: &dyn Fn(&str) -> Option<Theme>,
    ) -> Result<Theme, ThemeError> {
        let err = |line: usize, message: String| ThemeError {
            origin: origin.to_string(),
            line,
            message,
        };
        let file: ThemeFile = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(1, |s| {
                text[..s.start.min(text.len())].matches('\n').count() + 1
            });
            err(line, e.message().trim().to_string())
        })?;
        let mut theme = match &file.inherits {
            Some(parent) => lookup(parent)
                .or_else(|| Theme::built_in(parent))
                .ok_or_else(|| {
                    err(
                        key_line(text, &["inherits"]),
                        format!("inherits unknown theme {parent:?}"),
                    )
                })?,
            None => Theme {
                name: String::new(),
                roles: BTreeMap::new(),
            },
        };
        theme.name = file.name.unwrap_or_else(|| origin.to_string());
        for (role, spec) in file.roles {
            let line = || key_line(text, &["roles", &role]);
            if !ROLES.contains(&role.as_str()) {
                return Err(err(
                    line(),
                    format!("unknown role {role:?}; roles are: {}", ROLES.join(", ")),
                ));
            }
            let mut style = Style::default();
            if let Some(fg) = spec.fg {
                style = style.fg(fg);
            }
            if let Some(bg) = spec.bg {
                style = style.bg(bg);
            }
            for m in &spec.modifiers {
                let Some(m) = modifier(m) else {
                    return Err(err(
                        line(),
                        format!(
                            "unknown modifier {m:?}; use bold, dim, italic, underlined, reversed, crossed_out"
                        ),
                    ));
                };
                style = style.add_modifier(m);
            }
            theme.roles.insert(role, style);
        }
        Ok(theme)
    }

    /// Loads a theme by name: a user theme in `dir` first, then a built-in one. On any problem
    /// it returns the default theme and a warning naming the file, line and fallback.
    pub fn load(name: &str, dir: Option<&Path>) -> (Theme, Option<String>) {
        let user_file = dir
            .map(|d| d.join(format!("{name}.toml")))
            .filter(|p| p.exists());
        if let Some(path) = user_file {
            let lookup = |parent: &str| {
                let p = dir?.join(format!("{parent}.toml"));
                let text = std::fs::read_to_string(&p).ok()?;
                Theme::parse(&text, &p.display().to_string(), &|_| None).ok()
            };
            return match std::fs::read_to_string(&path) {
                Ok(text) => match Theme::parse(&text, &path.display().to_string(), &lookup) {
                    Ok(t) => (t, None),
                    Err(e) => (
                        Theme::default_theme(),
                        Some(format!("{e}; using the default theme")),
                    ),
                },
                Err(e) => (
                    Theme::default_theme(),
                    Some(format!("{}: {e}; using the default theme", path.display())),
                ),
            };
        }
        match Theme::built_in(name) {
            Some(t) => (t, None),
            None => {
                let names: Vec<_> = BUILT_IN.iter().map(|(n, _)| *n).collect();
                (
                    Theme::default_theme(),
                    Some(format!(
                        "no theme named {name:?} (built in: {}); using the default theme",
                        names.join(", ")
                    )),
                )
            }
        }
    }

    /// The style of a role, falling back to `text`.
    pub fn style(&self, role: &str) -> Style {
        self.roles
            .get(role)
            .or_else(|| self.roles.get("text"))
            .copied()
            .unwrap_or_default()
    }

    pub fn text(&self) -> Style {
        self.style("text")
    }

    pub fn temperature(&self, t: Temperature) -> Style {
        self.style(t.name())
    }

    pub fn stage(&self, s: Stage) -> Style {
        self.style(&format!("stage_{}", s.name()))
    }
}
