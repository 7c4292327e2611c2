//! Themes and keymaps as data: every shipped file loads cleanly, a bad user file gets a message
//! naming the file, line and problem and the app falls back without touching the file, NO_COLOR
//! gives a colourless screen, and the help screen lists every binding.

mod common;

use common::{keys, press};
use std::path::{Path, PathBuf};

use leadq::domain::{Stage, Temperature};
use leadq::service::{LeadService, Local, Settings};
use leadq::store::Store;
use leadq::tui::action::Action;
use leadq::tui::app::start_state;
use leadq::tui::keymap::{DEFAULT_KEYMAP, Keymap, Mode};
use leadq::tui::state::State;
use leadq::tui::theme::{self, Theme, ThemeError};
use leadq::tui::{choose_theme, load_keymap, views};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::{Color, Modifier};

const NOW: i64 = 1_795_860_000_000; // 2026-11-22T10:00:00Z

fn fixture(path: &str) -> (PathBuf, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path);
    let text = std::fs::read_to_string(&path).unwrap();
    (path, text)
}

fn service(demo: usize) -> Local {
    let settings = Settings {
        fixed_now: Some(NOW),
        user: "alice".into(),
        ..Settings::default()
    };
    let s = Local::new(Store::temporary().unwrap(), settings).unwrap();
    if demo > 0 {
        s.demo(demo, 1).unwrap();
    }
    s
}

fn key(spec: &str) -> KeyEvent {
    let mut k = keys(spec);
    assert_eq!(k.len(), 1, "{spec} is one key");
    k.remove(0)
}

fn ctrl(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
}

fn draw(state: &State, theme: &Theme, width: u16, height: u16) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| views::render(f, state, theme)).unwrap();
    terminal.backend().buffer().clone()
}

fn screen_text(buf: &Buffer) -> String {
    let area = buf.area;
    let mut out = String::new();
    for y in 0..area.height {
        for x in 0..area.width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

fn parse_error(fixture_path: &str) -> ThemeError {
    let (_, text) = fixture(fixture_path);
    Theme::parse(&text, "office.toml", &|_| None).unwrap_err()
}

/// The roles the views ask the theme for by name, read from their source so a typo in a view
/// (which would silently fall back to `text`) fails here.
fn roles_used_by_views() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/tui/views");
    let mut roles = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let source = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for piece in source.split("style(\"").skip(1) {
            let role = piece.split('"').next().unwrap().to_string();
            if !roles.contains(&role) {
                roles.push(role);
            }
        }
    }
    // Roles reached through `text()`, `temperature()` and a variable (score points).
    roles.extend(["text", "hot", "warm", "cold", "positive", "negative"].map(String::from));
    roles.extend(Stage::ALL.iter().map(|s| format!("stage_{}", s.name())));
    roles.sort();
    roles.dedup();
    roles
}

fn theme_file_roles(text: &str) -> Vec<String> {
    let table: toml::Table = toml::from_str(text).unwrap();
    table
        .get("roles")
        .and_then(|r| r.as_table())
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

// ---- themes ---------------------------------------------------------------------------------

#[test]
fn every_built_in_theme_loads_without_a_warning() {
    assert_eq!(theme::BUILT_IN.len(), 4);
    for (name, _) in theme::BUILT_IN {
        let (theme, warning) = Theme::load(name, None);
        assert_eq!(warning, None, "theme {name}");
        assert_eq!(theme.name, name);
        assert_eq!(Some(&theme), Theme::built_in(name).as_ref());
    }
}

#[test]
fn every_role_the_views_use_is_a_known_role_set_by_default_and_mono() {
    let used = roles_used_by_views();
    assert!(used.len() >= 20, "found the views' roles: {used:?}");
    for role in &used {
        assert!(
            theme::ROLES.contains(&role.as_str()),
            "views use unknown role {role:?}"
        );
    }
    for t in [Temperature::Cold, Temperature::Warm, Temperature::Hot] {
        assert!(used.contains(&t.name().to_string()));
    }
    // The two stand-alone themes say what every role looks like; the others inherit default.
    for name in ["default", "mono"] {
        let text = theme::BUILT_IN.iter().find(|(n, _)| *n == name).unwrap().1;
        let defined = theme_file_roles(text);
        for role in &used {
            assert!(
                defined.contains(role),
                "theme {name} leaves role {role} to fall back to text"
            );
        }
    }
}

#[test]
fn the_default_theme_distinguishes_what_a_rep_must_tell_apart() {
    let t = Theme::default_theme();
    let hot = t.temperature(Temperature::Hot);
    assert_ne!(hot, t.temperature(Temperature::Warm));
    assert_ne!(
        t.temperature(Temperature::Warm),
        t.temperature(Temperature::Cold)
    );
    assert_ne!(hot, t.text());
    assert!(
        t.style("selection")
            .add_modifier
            .contains(Modifier::REVERSED)
    );
    assert_ne!(t.style("match"), t.text());
    assert_eq!(t.style("error").fg, Some(Color::Red));
}

#[test]
fn a_theme_with_a_syntax_error_names_the_line() {
    assert_eq!(
        parse_error("themes/syntax_error.toml").to_string(),
        "office.toml: line 6: string values must be quoted, expected literal string"
    );
}

#[test]
fn an_unknown_role_is_named_on_its_own_line() {
    let e = parse_error("themes/unknown_role.toml");
    assert_eq!(
        e.to_string(),
        format!(
            "office.toml: line 7: unknown role \"selected\"; roles are: {}",
            theme::ROLES.join(", ")
        )
    );
}

#[test]
fn an_unknown_modifier_is_named_on_its_line() {
    let e = parse_error("themes/unknown_modifier.toml");
    assert_eq!(
        e.to_string(),
        "office.toml: line 7: unknown modifier \"blink\"; \
         use bold, dim, italic, underlined, reversed, crossed_out"
    );
}

#[test]
fn a_bad_colour_is_named_on_its_line() {
    let e = parse_error("themes/bad_colour.toml");
    assert_eq!(e.to_string(), "office.toml: line 7: Failed to parse Colors");
}

#[test]
fn inheriting_an_unknown_theme_is_an_error_on_the_inherits_line() {
    let e = parse_error("themes/unknown_parent.toml");
    assert_eq!(
        e.to_string(),
        "office.toml: line 3: inherits unknown theme \"solarized\""
    );
}

#[test]
fn a_bad_user_theme_falls_back_to_default_with_a_warning_and_is_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    for fixture_name in [
        "syntax_error",
        "unknown_role",
        "unknown_modifier",
        "bad_colour",
        "unknown_parent",
    ] {
        let (_, text) = fixture(&format!("themes/{fixture_name}.toml"));
        let path = dir.path().join("office.toml");
        std::fs::write(&path, &text).unwrap();
        let (theme, warning) = Theme::load("office", Some(dir.path()));
        assert_eq!(theme, Theme::default_theme(), "{fixture_name}");
        let expected = Theme::parse(&text, &path.display().to_string(), &|_| None).unwrap_err();
        assert_eq!(
            warning.as_deref(),
            Some(format!("{expected}; using the default theme").as_str()),
            "{fixture_name}"
        );
        let warning = warning.unwrap();
        assert!(
            warning.starts_with(&format!("{}: line ", path.display())),
            "{warning}"
        );
        assert_eq!(
            std::fs::read(&path).unwrap(),
            text.as_bytes(),
            "{fixture_name} is never rewritten"
        );
    }
}

#[test]
fn a_user_theme_inherits_default_and_overrides_one_role() {
    let dir = tempfile::tempdir().unwrap();
    let (_, text) = fixture("themes/office.toml");
    std::fs::write(dir.path().join("office.toml"), &text).unwrap();
    let (office, warning) = Theme::load("office", Some(dir.path()));
    assert_eq!(warning, None);
    assert_eq!(office.name, "office");
    let hot = office.temperature(Temperature::Hot);
    assert_eq!(hot.fg, Some(Color::Magenta));
    assert!(
        hot.add_modifier
            .contains(Modifier::BOLD | Modifier::UNDERLINED)
    );
    let default = Theme::default_theme();
    for role in theme::ROLES.iter().filter(|r| **r != "hot") {
        assert_eq!(
            office.style(role),
            default.style(role),
            "{role} is inherited"
        );
    }
    assert_eq!(
        std::fs::read_to_string(dir.path().join("office.toml")).unwrap(),
        text
    );
}

#[test]
fn an_unknown_theme_name_falls_back_to_default_and_lists_the_built_in_ones() {
    let dir = tempfile::tempdir().unwrap();
    let (theme, warning) = Theme::load("solarized", Some(dir.path()));
    assert_eq!(theme, Theme::default_theme());
    assert_eq!(
        warning.as_deref(),
        Some(
            "no theme named \"solarized\" (built in: default, light, high-contrast, mono); \
             using the default theme"
        )
    );
}

#[test]
fn no_color_selects_mono_unless_a_theme_is_named() {
    let mono = Theme::built_in("mono").unwrap();
    assert_eq!(choose_theme(None, true, None), (mono, None));
    assert_eq!(
        choose_theme(None, false, None),
        (Theme::default_theme(), None)
    );
    let light = Theme::built_in("light").unwrap();
    assert_eq!(choose_theme(Some("light"), true, None), (light, None));
}

#[test]
fn choose_theme_finds_a_user_theme_in_the_config_folder() {
    let config = tempfile::tempdir().unwrap();
    std::fs::create_dir(config.path().join("themes")).unwrap();
    let (_, text) = fixture("themes/office.toml");
    std::fs::write(config.path().join("themes/office.toml"), text).unwrap();
    let (theme, warning) = choose_theme(Some("office"), true, Some(config.path()));
    assert_eq!(warning, None);
    assert_eq!(theme.temperature(Temperature::Hot).fg, Some(Color::Magenta));
}

/// Every screen a NO_COLOR user can reach, each drawn with `mono`.
fn mono_screens() -> Vec<(&'static str, State)> {
    let empty = service(0);
    let welcome = start_state(&empty);
    let demo = service(60);
    let mut screens = vec![("welcome", welcome)];
    for (name, spec) in [
        ("queue", ""),
        ("queue all with a stage filter", "A S 1"),
        ("lead", "<enter>"),
        ("lead after a call", "<enter> c 1 <enter> <enter>"),
        ("help", "?"),
        ("lead help", "<enter> ?"),
        ("outcome prompt", "c"),
        ("next prompt", "c 2 <enter> fri"),
        ("error in a prompt", "z someday <enter>"),
        ("search", "A / an"),
        ("search done", "A / an <enter>"),
        ("error flash", "u"),
        ("reports: funnel", "R"),
        ("reports: sources", "R <tab>"),
        ("reports: reps", "R <tab> <tab>"),
        ("reports: speed", "R <tab> <tab> <tab>"),
        (
            "reports: score check, a lead selected",
            "R p p <backtab> <backtab> j",
        ),
        ("reports: day", "R <backtab>"),
    ] {
        let mut state = start_state(&demo);
        press(&demo, &mut state, spec);
        screens.push((name, state));
    }
    screens
}

#[test]
fn under_mono_no_cell_has_a_colour() {
    let (mono, _) = choose_theme(None, true, None);
    for (name, state) in mono_screens() {
        for (w, h) in [(80, 24), (140, 40), (60, 20)] {
            let buf = draw(&state, &mono, w, h);
            for (i, cell) in buf.content().iter().enumerate() {
                let (x, y) = (i as u16 % w, i as u16 / w);
                assert_eq!(
                    (cell.fg, cell.bg),
                    (Color::Reset, Color::Reset),
                    "{name} at {w}x{h}: cell ({x}, {y}) {:?} is coloured",
                    cell.symbol()
                );
            }
        }
    }
}

#[test]
fn under_mono_the_selection_and_search_hits_still_show() {
    let (mono, _) = choose_theme(None, true, None);
    let demo = service(60);
    let mut state = start_state(&demo);
    press(&demo, &mut state, "A / an <enter>");
    let buf = draw(&state, &mono, 80, 24);
    let selected_row = 2;
    let reversed = (0..80)
        .filter(|x| {
            buf[(*x, selected_row)]
                .modifier
                .contains(Modifier::REVERSED)
        })
        .count();
    assert_eq!(
        reversed, 80,
        "the selected row is reversed across the screen"
    );
    let underlined = buf
        .content()
        .iter()
        .filter(|c| c.modifier.contains(Modifier::UNDERLINED));
    assert!(underlined.count() > 0, "matched characters are underlined");
}

// ---- keymap ---------------------------------------------------------------------------------

#[test]
fn the_default_keymap_resolves_the_keys_a_newcomer_tries() {
    let k = Keymap::defaults();
    let cases = [
        (Mode::Queue, key("j"), Some(Action::Down)),
        (Mode::Queue, key("<down>"), Some(Action::Down)),
        (Mode::Queue, key("k"), Some(Action::Up)),
        (Mode::Queue, key("<up>"), Some(Action::Up)),
        (Mode::Queue, key("<enter>"), Some(Action::Open)),
        (Mode::Queue, key("/"), Some(Action::Search)),
        (Mode::Queue, key("c"), Some(Action::LogCall)),
        (Mode::Queue, ctrl('d'), Some(Action::PageDown)),
        (Mode::Lead, key("<esc>"), Some(Action::Back)),
        (Mode::Lead, key("<bs>"), Some(Action::Back)),
        (Mode::Lead, key("c"), Some(Action::LogCall)),
        (Mode::Lead, key("<enter>"), None),
        (Mode::Welcome, key("d"), Some(Action::LoadDemo)),
        (Mode::Welcome, key("j"), None),
        (Mode::Help, key("<esc>"), Some(Action::Back)),
        (Mode::Help, key("?"), Some(Action::Back)),
        (Mode::Help, key("j"), Some(Action::Down)),
    ];
    for (mode, k_event, expected) in cases {
        assert_eq!(k.resolve(mode, &k_event), expected, "{mode:?} {k_event:?}");
    }
    for mode in [Mode::Queue, Mode::Lead, Mode::Welcome] {
        assert_eq!(k.resolve(mode, &key("q")), Some(Action::Quit), "{mode:?}");
        assert_eq!(k.resolve(mode, &ctrl('c')), Some(Action::Quit), "{mode:?}");
        assert_eq!(k.resolve(mode, &key("?")), Some(Action::Help), "{mode:?}");
        assert_eq!(k.resolve(mode, &key("u")), Some(Action::Undo), "{mode:?}");
    }
    assert_eq!(k.resolve(Mode::Queue, &key("x")), None);
}

#[test]
fn the_default_keymap_file_loads_with_every_entry_bound() {
    // Every entry of the shipped file is in force: none is shadowed by a later duplicate.
    let k = Keymap::with_overrides(DEFAULT_KEYMAP, "keymap.toml").unwrap();
    assert_eq!(k, Keymap::defaults());
    let table: toml::Table = toml::from_str(DEFAULT_KEYMAP).unwrap();
    let mut count = 0;
    for (section, entries) in &table {
        let mode = mode_of(section);
        for (key_name, action) in entries.as_table().unwrap() {
            let action = action.as_str().unwrap();
            let keys = k
                .help_entries(mode)
                .into_iter()
                .find(|(_, a)| action_name(*a) == action);
            let (keys, _) =
                keys.unwrap_or_else(|| panic!("[{section}] {action} has no help entry"));
            assert!(
                keys.contains(key_name),
                "[{section}] {key_name} missing from {keys:?}"
            );
            count += 1;
        }
    }
    assert!(count > 60, "{count} bindings checked");
}

fn mode_of(section: &str) -> Mode {
    match section {
        "global" => Mode::Global,
        "queue" => Mode::Queue,
        "lead" => Mode::Lead,
        "welcome" => Mode::Welcome,
        "help" => Mode::Help,
        "dupes" => Mode::Dupes,
        "reports" => Mode::Reports,
        other => panic!("unknown section {other}"),
    }
}

/// The keymap-file name of an action (kebab-case of the variant).
fn action_name(a: Action) -> String {
    let debug = format!("{a:?}");
    let mut out = String::new();
    for (i, c) in debug.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('-');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

#[test]
fn a_user_keymap_is_merged_key_by_key() {
    let (_, text) = fixture("keymaps/rebind.toml");
    let k = Keymap::with_overrides(&text, "keymap.toml").unwrap();
    assert_eq!(k.resolve(Mode::Queue, &key("x")), Some(Action::LogCall));
    assert_eq!(
        k.resolve(Mode::Queue, &key("c")),
        Some(Action::LogCall),
        "c still logs a call"
    );
    assert_eq!(
        k.resolve(Mode::Queue, &key("j")),
        Some(Action::Down),
        "other keys untouched"
    );
    assert_eq!(
        k.resolve(Mode::Lead, &key("x")),
        None,
        "only the queue was changed"
    );
    let call = k
        .help_entries(Mode::Queue)
        .into_iter()
        .find(|(_, a)| *a == Action::LogCall);
    assert_eq!(call.unwrap().0, vec!["c".to_string(), "x".to_string()]);
}

#[test]
fn none_unbinds_a_default_key() {
    let (_, text) = fixture("keymaps/unbind.toml");
    let k = Keymap::with_overrides(&text, "keymap.toml").unwrap();
    assert_eq!(k.resolve(Mode::Queue, &key("c")), None);
    assert_eq!(k.resolve(Mode::Queue, &key("x")), Some(Action::LogCall));
    assert_eq!(k.resolve(Mode::Lead, &key("c")), Some(Action::LogCall));
    assert_eq!(
        k.keys_for(Mode::Queue, Action::LogCall),
        vec!["x".to_string()]
    );
}

#[test]
fn a_rebound_key_works_in_the_app_and_shows_in_its_footer_and_help() {
    let demo = service(30);
    let mut state = start_state(&demo);
    let (_, text) = fixture("keymaps/unbind.toml");
    state.keymap = Keymap::with_overrides(&text, "keymap.toml").unwrap();
    press(&demo, &mut state, "c");
    assert_eq!(state.prompt, None, "c is unbound");
    let footer = screen_text(&draw(&state, &Theme::default_theme(), 80, 24));
    let footer = footer.lines().last().unwrap().to_string();
    assert!(footer.contains("x call"), "{footer}");
    assert!(!footer.contains("c call"), "{footer}");
    press(&demo, &mut state, "x");
    assert!(state.prompt.is_some(), "x opens the call outcome picker");
    press(&demo, &mut state, "<esc> ?");
    let help = screen_text(&draw(&state, &Theme::default_theme(), 140, 40));
    let line = help.lines().find(|l| l.contains("log a call")).unwrap();
    assert!(line.contains(" x "), "{line}");
    assert!(!line.contains(" c "), "{line}");
}

fn keymap_error(fixture_path: &str) -> String {
    let (_, text) = fixture(fixture_path);
    Keymap::with_overrides(&text, "keymap.toml")
        .unwrap_err()
        .to_string()
}

#[test]
fn an_unknown_action_is_reported_on_its_line() {
    assert_eq!(
        keymap_error("keymaps/unknown_action.toml"),
        "keymap.toml: line 6: unknown action \"log-cal\" for key \"x\""
    );
}

#[test]
fn a_bare_toml_key_is_reported_on_its_line() {
    assert_eq!(
        keymap_error("keymaps/bare_keys.toml"),
        "keymap.toml: line 4: unknown action \"lgo-email\" for key \"y\""
    );
}

#[test]
fn an_unknown_key_name_is_reported_on_its_line() {
    assert_eq!(
        keymap_error("keymaps/unknown_key.toml"),
        "keymap.toml: line 6: unknown key \"f1\""
    );
}

#[test]
fn an_unknown_section_is_reported_on_its_line() {
    assert_eq!(
        keymap_error("keymaps/unknown_section.toml"),
        "keymap.toml: line 5: unknown section [search]; use global, queue, lead, welcome or help"
    );
}

#[test]
fn a_keymap_syntax_error_is_reported_on_its_line() {
    assert_eq!(
        keymap_error("keymaps/syntax_error.toml"),
        "keymap.toml: line 4: string values must be quoted, expected literal string"
    );
}

#[test]
fn a_bad_user_keymap_falls_back_to_the_defaults_with_a_warning_and_is_left_untouched() {
    let config = tempfile::tempdir().unwrap();
    let path = config.path().join("keymap.toml");
    let (_, text) = fixture("keymaps/unknown_action.toml");
    std::fs::write(&path, &text).unwrap();
    let (k, warning) = load_keymap(Some(config.path()));
    assert_eq!(k, Keymap::defaults());
    assert_eq!(
        warning.unwrap(),
        format!(
            "{}: line 6: unknown action \"log-cal\" for key \"x\"; using the default keys",
            path.display()
        )
    );
    assert_eq!(std::fs::read(&path).unwrap(), text.as_bytes());
    let (_, good) = fixture("keymaps/rebind.toml");
    std::fs::write(&path, good).unwrap();
    let (k, warning) = load_keymap(Some(config.path()));
    assert_eq!(warning, None);
    assert_eq!(k.resolve(Mode::Queue, &key("x")), Some(Action::LogCall));
}

/// The help screen of each mode shows every binding: all of it in a large terminal, the rest
/// by scrolling in 80x24.
#[test]
fn the_help_screen_lists_every_binding_of_the_mode() {
    let demo = service(30);
    for (mode, open) in [(Mode::Queue, "?"), (Mode::Lead, "<enter> ?")] {
        let entries = Keymap::defaults().help_entries(mode);
        assert!(entries.len() > 15, "{mode:?}");
        let mut state = start_state(&demo);
        press(&demo, &mut state, open);
        assert!(state.help);
        let big = screen_text(&draw(&state, &Theme::default_theme(), 140, 40));
        let mut seen_small = String::new();
        for _ in 0..entries.len() {
            seen_small.push_str(&screen_text(&draw(&state, &Theme::default_theme(), 80, 24)));
            press(&demo, &mut state, "j");
        }
        for (keys, action) in &entries {
            let entry = format!(" {:<18}{}", keys.join(", "), action.describe());
            assert!(
                big.contains(&entry),
                "{mode:?}: {entry:?} not on the help screen\n{big}"
            );
            assert!(
                seen_small.contains(&entry),
                "{mode:?}: {entry:?} never shown in 80x24"
            );
        }
        // Every queue binding of the shipped file is among them.
        if mode == Mode::Queue {
            for action in [
                "log-call",
                "view-hot",
                "filter-stage",
                "add-lead",
                "quit",
                "undo",
            ] {
                assert!(
                    entries.iter().any(|(_, a)| action_name(*a) == action),
                    "{action}"
                );
            }
        }
    }
}
