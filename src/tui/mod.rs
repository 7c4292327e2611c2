//! The triage TUI: the app loop, `Action`s, a pure `update`, the state, keymap and themes as
//! data, the terminal guard, and the views.

pub mod action;
pub mod app;
pub mod keymap;
pub mod msg;
pub mod presence;
pub mod state;
pub mod terminal;
pub mod theme;
pub mod update;
pub mod views;
pub mod workers;

use std::path::Path;
use std::sync::Arc;

use anyhow::Result;

use crate::service::LeadService;
use keymap::Keymap;
use theme::Theme;

/// Picks the theme: an explicit name (flag or config) wins, then NO_COLOR selects `mono`, else
/// `default`. Returns a warning when a file was bad.
pub fn choose_theme(
    explicit: Option<&str>,
    no_color: bool,
    config_dir: Option<&Path>,
) -> (Theme, Option<String>) {
    let name = match explicit {
        Some(n) => n,
        None if no_color => "mono",
        None => "default",
    };
    Theme::load(name, config_dir.map(|d| d.join("themes")).as_deref())
}

/// The default keymap with the user's `keymap.toml` merged over it; a bad file is reported and
/// the defaults used.
pub fn load_keymap(config_dir: Option<&Path>) -> (Keymap, Option<String>) {
    let Some(path) = config_dir
        .map(|d| d.join("keymap.toml"))
        .filter(|p| p.exists())
    else {
        return (Keymap::defaults(), None);
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => match Keymap::with_overrides(&text, &path.display().to_string()) {
            Ok(k) => (k, None),
            Err(e) => (
                Keymap::defaults(),
                Some(format!("{e}; using the default keys")),
            ),
        },
        Err(e) => (
            Keymap::defaults(),
            Some(format!("{}: {e}; using the default keys", path.display())),
        ),
    }
}

pub fn run(
    service: Arc<dyn LeadService + Send + Sync>,
    theme_name: Option<&str>,
    mouse: bool,
    bell: bool,
) -> Result<()> {
    let config_dir = crate::config::config_dir();
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let (theme, theme_warning) = choose_theme(theme_name, no_color, config_dir.as_deref());
    let (keymap, keymap_warning) = load_keymap(config_dir.as_deref());
    let warnings = theme_warning.into_iter().chain(keymap_warning).collect();
    app::run(
        service,
        app::Options {
            theme,
            keymap,
            warnings,
            mouse,
            bell,
        },
    )
}
