//! Render snapshots: every screen drawn into a `TestBackend` at 80x24 (the smallest supported
//! terminal) and 140x40, from states driven by keys through `app::step` over a demo store with
//! a fixed clock. The snapshots are the screen as text; colours that carry meaning (search
//! hits) are checked by style.

mod common;

use common::press;
use leadq::domain::{Kind, NewLead};
use leadq::service::{LeadService, Local, LogEntry, Settings};
use leadq::store::Store;
use leadq::tui::app::{start_state, step};
use leadq::tui::msg::Msg;
use leadq::tui::state::{Prompt, Screen, State};
use leadq::tui::theme::Theme;
use leadq::tui::views;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

const NOW: i64 = 1_795_860_000_000; // 2026-11-22T10:00:00Z

const SIZES: [(u16, u16); 2] = [(80, 24), (140, 40)];

fn service() -> Local {
    let settings = Settings {
        fixed_now: Some(NOW),
        user: "alice".into(),
        ..Settings::default()
    };
    Local::new(Store::temporary().unwrap(), settings).unwrap()
}

/// The store the app's own "load demo" gives: 200 leads, seed 1.
fn demo_service() -> Local {
    let s = service();
    s.demo(200, 1).unwrap();
    s
}

/// A fresh app over `service` after typing `spec`.
fn after(service: &Local, spec: &str) -> State {
    let mut state = start_state(service);
    press(service, &mut state, spec);
    state
}

fn draw(state: &State, width: u16, height: u16) -> Buffer {
    let theme = Theme::default_theme();
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| views::render(f, state, &theme)).unwrap();
    terminal.backend().buffer().clone()
}

/// The screen as lines of symbols (the cell after a wide character is skipped), with trailing
/// blanks cut so the snapshot files survive editors.
fn screen(buf: &Buffer) -> String {
    let mut lines = Vec::new();
    for y in 0..buf.area.height {
        let mut line = String::new();
        let mut skip = 0;
        for x in 0..buf.area.width {
            let symbol = buf[(x, y)].symbol();
            if skip > 0 {
                skip -= 1;
                continue;
            }
            skip = unicode_width::UnicodeWidthStr::width(symbol).saturating_sub(1);
            line.push_str(symbol);
        }
        lines.push(line.trim_end().to_string());
    }
    lines.join("\n")
}

/// How many follow-ups are due today depends on where the local day ends, so the header's
/// count is checked against the state here and masked (same width) in the snapshot.
fn mask_due_count(text: &str, state: &State) -> String {
    let due = format!("due {}", state.stats.due_today);
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    if lines[0].contains(" · due ") {
        assert!(
            lines[0].ends_with(&due),
            "the header shows the due count: {}",
            lines[0]
        );
        let masked = format!("due {}", "#".repeat(due.len() - 4));
        lines[0] = format!("{}{masked}", &lines[0][..lines[0].len() - due.len()]);
    }
    lines.join("\n")
}

/// Snapshots the state at both sizes and returns the two screens for further checks.
fn snapshot(name: &str, state: &State) -> Vec<(Buffer, String)> {
    SIZES
        .iter()
        .map(|&(w, h)| {
            let buf = draw(state, w, h);
            let text = screen(&buf);
            insta::assert_snapshot!(format!("{name}_{w}x{h}"), mask_due_count(&text, state));
            (buf, text)
        })
        .collect()
}

fn status_line(text: &str) -> &str {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len() - 2]
}

fn footer_line(text: &str) -> &str {
    text.lines().last().unwrap()
}

#[test]
fn welcome_on_an_empty_store() {
    let s = service();
    let state = start_state(&s);
    assert_eq!(state.screen, Screen::Welcome);
    for (_, text) in snapshot("welcome", &state) {
        assert!(text.contains("Welcome to leadq"));
        assert!(text.contains("d  load 200 demo leads"), "{text}");
    }
}

#[test]
fn queue_hot_view() {
    let s = demo_service();
    let state = start_state(&s);
    assert!(state.rows.len() > 5, "the demo has hot leads");
    for (buf, text) in snapshot("queue_hot", &state) {
        let top = state.rows[0].lead.name.clone();
        assert!(
            text.lines().nth(2).unwrap().contains(&top),
            "the hottest lead is first:\n{text}"
        );
        // The first row is selected, across the whole width.
        assert!((0..buf.area.width).all(|x| buf[(x, 2)].modifier.contains(Modifier::REVERSED)));
    }
}

#[test]
fn queue_all_view_filtered_by_stage() {
    let s = demo_service();
    let state = after(&s, "A S 2");
    assert!(state.stage_filter.is_some());
    assert!(!state.rows.is_empty());
    assert!(
        state
            .rows
            .iter()
            .all(|r| Some(r.lead.stage) == state.stage_filter)
    );
    for (_, text) in snapshot("queue_all_stage_contacted", &state) {
        assert!(
            text.lines().next().unwrap().contains("stage:contacted"),
            "{text}"
        );
    }
}

#[test]
fn queue_with_a_search_highlights_the_matched_characters() {
    let s = demo_service();
    let state = after(&s, "A / an");
    assert!(state.search.editing);
    let hits = state.search.hits.as_ref().unwrap();
    assert!(!hits.is_empty());
    for (buf, text) in snapshot("queue_search", &state) {
        assert!(status_line(&text).starts_with(" / an▏"), "{text}");
        let highlighted: Vec<&str> = buf
            .content()
            .iter()
            .filter(|c| c.fg == Color::Yellow && c.modifier.contains(Modifier::UNDERLINED))
            .map(|c| c.symbol())
            .collect();
        assert!(highlighted.len() >= 2, "matched characters are highlighted");
        for symbol in highlighted {
            assert!(
                ["a", "n"].contains(&symbol.to_lowercase().as_str()),
                "{symbol:?} highlighted"
            );
        }
    }
}

#[test]
fn lead_view() {
    let s = demo_service();
    let state = after(&s, "<enter>");
    let d = state.detail.as_ref().unwrap();
    for (_, text) in snapshot("lead", &state) {
        assert!(
            text.contains(&format!("#{} {}", d.view.lead.id, d.view.lead.name)),
            "{text}"
        );
        assert!(text.contains(&format!("Timeline ({})", d.timeline.len())));
    }
}

#[test]
fn lead_view_after_logging_a_call_shows_the_change() {
    let s = demo_service();
    let state = after(&s, "<enter> c 1 <enter> <enter>");
    assert_eq!(state.screen, Screen::Lead);
    assert!(state.prompt.is_none());
    let d = state.detail.as_ref().unwrap();
    let flash = state.flash.as_ref().unwrap();
    assert!(!flash.error, "{}", flash.text);
    for (_, text) in snapshot("lead_after_call", &state) {
        assert_eq!(status_line(&text), format!(" {}", flash.text));
        assert!(
            flash
                .text
                .starts_with(&format!("#{} {}", d.view.lead.id, d.view.lead.name))
        );
        assert!(
            text.contains("call connected"),
            "the call is on the timeline:\n{text}"
        );
    }
}

#[test]
fn help_overlay() {
    let s = demo_service();
    let state = after(&s, "?");
    for (_, text) in snapshot("help", &state) {
        assert!(text.contains("Keys: queue (esc closes"), "{text}");
        assert!(text.contains(" q, ctrl-c         quit"), "{text}");
    }
}

#[test]
fn call_outcome_picker() {
    let s = demo_service();
    let state = after(&s, "c");
    for (_, text) in snapshot("pick_call_outcome", &state) {
        assert!(footer_line(&text).contains("1 connected"), "{text}");
    }
}

#[test]
fn email_outcome_picker() {
    let s = demo_service();
    let state = after(&s, "e");
    for (_, text) in snapshot("pick_email_outcome", &state) {
        assert!(footer_line(&text).contains("1 sent"), "{text}");
    }
}

#[test]
fn note_prompt_with_typed_text() {
    let s = demo_service();
    let state = after(&s, "c 1 asked <space> for <space> pricing");
    for (_, text) in snapshot("prompt_note", &state) {
        assert!(
            footer_line(&text).contains(" > asked for pricing▏"),
            "{text}"
        );
    }
}

#[test]
fn next_follow_up_prompt() {
    let s = demo_service();
    let state = after(&s, "c 1 <enter> fri");
    for (_, text) in snapshot("prompt_next", &state) {
        assert!(footer_line(&text).contains(" > fri▏"), "{text}");
    }
}

#[test]
fn next_follow_up_prompt_with_a_bad_date() {
    let s = demo_service();
    let state = after(&s, "c 1 <enter> someday <enter>");
    let Some(Prompt::Text {
        error: Some(error), ..
    }) = &state.prompt
    else {
        panic!("the prompt stays open with an error: {:?}", state.prompt)
    };
    assert!(error.contains("\"someday\""), "{error}");
    let screens = snapshot("prompt_next_error", &state);
    let (_, wide) = &screens[1];
    assert!(
        footer_line(wide).contains("someday▏  cannot read \"someday\""),
        "{wide}"
    );
}

#[test]
fn lost_reason_picker() {
    let s = demo_service();
    let state = after(&s, "l");
    for (_, text) in snapshot("pick_lost_reason", &state) {
        assert!(text.contains("was lost because"), "{text}");
        assert!(footer_line(&text).contains("1 price"), "{text}");
    }
}

#[test]
fn a_terminal_below_80x24_says_it_is_too_small() {
    let s = demo_service();
    let mut state = start_state(&s);
    // As the app does before each draw.
    state.too_small = true;
    for (w, h) in [(79, 24), (80, 23), (40, 10)] {
        let text = screen(&draw(&state, w, h));
        insta::assert_snapshot!(format!("too_small_{w}x{h}"), text);
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            flat.contains(&format!(
                "too small for leadq: it needs 80x24, this one is {w}x{h}"
            )),
            "{text}"
        );
    }
}

const EVIL_NAME: &str = "Evil\u{1b}]0;pwned\u{7}\u{1b}[2J\u{202E}Name";

fn evil_service() -> (Local, u64) {
    let s = service();
    let lead = NewLead {
        name: EVIL_NAME.into(),
        email: Some("evil@example.com".into()),
        company: Some("\u{202E}Corp\u{1b}[31m Inc\u{2066}".into()),
        source: Some("web\u{1b}[5mform".into()),
        tags: vec!["vip\u{200F}".into(), "x\u{2066}31m".into()],
        attributes: [(
            "city\u{1b}[1m".to_string(),
            "Ber\u{202D}lin\r\nX".to_string(),
        )]
        .into(),
        ..NewLead::default()
    };
    let id = s.add(lead).unwrap().id;
    let note = LogEntry {
        kind: Kind::Note,
        outcome: None,
        note: Some("call back\u{1b}[8m hidden\u{1b}[0m\u{7}\ttab\u{202E}txt".into()),
        at: Some(NOW - 3_600_000),
        next_action: None,
        duration_secs: None,
    };
    s.log(id, note).unwrap();
    (s, id)
}

fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn assert_neutralised(buf: &Buffer) {
    for (i, cell) in buf.content().iter().enumerate() {
        assert!(
            !cell.symbol().chars().any(is_unsafe),
            "cell {i} holds {:?}, which could drive the terminal",
            cell.symbol()
        );
    }
}

#[test]
fn a_hostile_name_is_neutralised_in_the_queue_lead_view_and_messages() {
    let (s, id) = evil_service();
    let queue = after(&s, "A");
    assert_eq!(queue.rows.len(), 1);
    let screens = snapshot("evil_queue", &queue);
    for (buf, text) in &screens {
        assert_neutralised(buf);
        assert!(text.contains("Evil\u{FFFD}]0;pwned\u{FFFD}"), "{text}");
    }
    let (_, wide) = &screens[1];
    assert!(
        wide.contains("Evil\u{FFFD}]0;pwned\u{FFFD}\u{FFFD}[2J\u{FFFD}Name"),
        "{wide}"
    );
    let lead = after(&s, "A <enter> c 1 <enter> <enter>");
    assert_eq!(lead.detail.as_ref().unwrap().view.lead.id, id);
    let screens = snapshot("evil_lead_after_call", &lead);
    for (buf, text) in &screens {
        assert_neutralised(buf);
        assert!(
            status_line(text).contains(&format!("#{id} Evil\u{FFFD}]0;pwned")),
            "{text}"
        );
        assert!(text.contains("call back\u{FFFD}["), "{text}");
    }
    let (_, wide) = &screens[1];
    assert!(
        wide.contains("call back\u{FFFD}[8m hidden\u{FFFD}[0m\u{FFFD} tab\u{FFFD}txt"),
        "{wide}"
    );
    let search = after(&s, "A / evil");
    for (buf, _) in snapshot("evil_search", &search) {
        assert_neutralised(&buf);
    }
}

/// The smallest supported terminal still tells a newcomer where every key is.
#[test]
fn the_footer_shows_help_in_80_columns_on_every_screen() {
    let empty = service();
    let demo = demo_service();
    let cases = [
        (&empty, "", "welcome"),
        (&demo, "", "queue"),
        (&demo, "<enter>", "lead"),
    ];
    for (s, spec, name) in cases {
        let state = after(s, spec);
        let text = screen(&draw(&state, 80, 24));
        assert!(
            footer_line(&text).contains("? help"),
            "{name}: {}",
            footer_line(&text)
        );
    }
}

mod presence {
    //! Who else is on a lead (the queue's marker, the lead view's line, the question before
    //! logging) and the connection's trouble, drawn.

    use super::*;
    use leadq::service::{Activity, Presence};

    fn on(user: &str, lead: u64, activity: Activity) -> Presence {
        Presence {
            user: user.into(),
            lead,
            activity,
        }
    }

    /// The cell of the first `symbol` on line `y`.
    fn cell_of<'a>(buf: &'a Buffer, y: u16, symbol: &str) -> &'a ratatui::buffer::Cell {
        (0..buf.area.width)
            .map(|x| &buf[(x, y)])
            .find(|c| c.symbol() == symbol)
            .unwrap_or_else(|| panic!("no {symbol:?} on line {y}"))
    }

    #[test]
    fn queue_rows_others_are_on_show_who_in_the_owner_column() {
        let s = demo_service();
        let mut state = start_state(&s);
        let ids: Vec<u64> = state.rows.iter().take(4).map(|r| r.lead.id).collect();
        let owner_of_third = state.rows[2].lead.owner.clone();
        step(
            &s,
            &mut state,
            Msg::Presence(vec![
                on("bob", ids[1], Activity::Viewing),
                on("carol", ids[3], Activity::Logging),
                on("dan", ids[3], Activity::Viewing),
                on("eve\u{1b}[2J", ids[0], Activity::Viewing),
            ]),
        );
        let presence = Theme::default_theme().style("presence");
        for (buf, text) in snapshot("queue_presence", &state) {
            assert_neutralised(&buf);
            let lines: Vec<&str> = text.lines().collect();
            assert!(lines[3].ends_with(" ● bob"), "{text}");
            assert!(
                lines[5].ends_with(" ● car…+1"),
                "the count survives: {text}"
            );
            assert!(
                lines[4].ends_with(owner_of_third.as_deref().unwrap_or("-")),
                "a row nobody is on keeps its owner: {text}"
            );
            let marker = cell_of(&buf, 3, "●");
            assert_eq!(marker.fg, presence.fg.unwrap(), "the presence role");
            assert!(marker.modifier.contains(Modifier::BOLD));
        }
    }

    #[test]
    fn the_lead_view_says_who_else_is_on_the_lead() {
        let s = demo_service();
        let mut state = after(&s, "<enter>");
        let id = state.open_lead.unwrap();
        step(
            &s,
            &mut state,
            Msg::Presence(vec![
                on("carol", id, Activity::Viewing),
                on("bob", id, Activity::Logging),
                on("dan", id + 1, Activity::Logging),
            ]),
        );
        for (_, text) in snapshot("lead_presence", &state) {
            let lines: Vec<&str> = text.lines().collect();
            // Under the name and score: bob first (by name), then carol; dan is elsewhere.
            assert!(lines[4].contains("● bob is logging on this lead"), "{text}");
            assert!(lines[5].contains("● carol is viewing this lead"), "{text}");
            assert!(!text.contains("dan"), "{text}");
        }
    }

    #[test]
    fn logging_on_a_lead_someone_is_on_asks_first() {
        let s = demo_service();
        let mut state = start_state(&s);
        let lead = state.rows[0].lead.clone();
        step(
            &s,
            &mut state,
            Msg::Presence(vec![on("bob", lead.id, Activity::Viewing)]),
        );
        press(&s, &mut state, "c");
        for (_, text) in snapshot("confirm_presence", &state) {
            assert_eq!(
                status_line(&text),
                format!(
                    " bob is on #{} {} right now. Log anyway?  y/n",
                    lead.id, lead.name
                )
            );
            assert!(
                footer_line(&text).starts_with(" y log the call anyway  n or any other key"),
                "{text}"
            );
        }
    }

    #[test]
    fn a_lost_connection_shows_until_it_is_back_and_errors_go_first() {
        let s = demo_service();
        let mut state = start_state(&s);
        let problem = "reconnecting to the leadq server…";
        step(&s, &mut state, Msg::Connection(Some(problem.into())));
        for (buf, text) in snapshot("reconnecting", &state) {
            assert_eq!(status_line(&text), format!(" {problem}"));
            let y = buf.area.height - 2;
            assert_eq!(cell_of(&buf, y, "r").fg, Color::Red, "in the error role");
        }
        // While a prompt holds the status line the header keeps the problem in sight.
        let mut prompting = state.clone();
        press(&s, &mut prompting, "c");
        let text = screen(&draw(&prompting, 80, 24));
        assert!(
            text.lines().next().unwrap().contains("reconnecting"),
            "{text}"
        );

        // A write that fails meanwhile says why, in place of the standing problem.
        let failed = "the leadq server went away before answering: the last change may not be \
                      saved; check it once leadq has reconnected";
        step(&s, &mut state, Msg::Failed(failed.into()));
        let text = screen(&draw(&state, 140, 40));
        assert!(
            status_line(&text).starts_with(" the leadq server went away before answering"),
            "{text}"
        );

        step(&s, &mut state, Msg::Connection(None));
        let text = screen(&draw(&state, 80, 24));
        assert_eq!(status_line(&text), " reconnected to the leadq server");
    }
}

/// A store with won and lost history and a model trained on it: the plan decides the odds.
fn learned_service() -> Local {
    let s = service();
    let rows: Vec<leadq::domain::NewLead> = (0..400)
        .map(|i| {
            let plan = ["enterprise", "team", "free"][i % 3];
            let won = match plan {
                "enterprise" => i % 5 < 3,
                "team" => i % 5 == 0,
                _ => i % 20 == 1,
            };
            let mut attributes = std::collections::BTreeMap::new();
            attributes.insert("plan".to_string(), plan.to_string());
            leadq::domain::NewLead {
                name: format!("Person {i}"),
                email: Some(format!("p{i}@corp.example")),
                attributes,
                closed: (i < 360).then_some(leadq::domain::Closed { won, at: None }),
                ..leadq::domain::NewLead::default()
            }
        })
        .collect();
    s.import(rows, &leadq::service::ImportOptions::default())
        .unwrap();
    assert!(s.train_model(None).unwrap().active);
    s
}

#[test]
fn the_learned_chance_shows_in_the_queue_and_the_lead_view() {
    let s = learned_service();
    let queue = after(&s, "");
    let lead = after(&s, "<enter>");
    for (w, h) in SIZES {
        let text = screen(&draw(&queue, w, h));
        assert!(text.lines().nth(1).unwrap().contains("WIN"), "{text}");
        assert!(text.contains('%'), "{text}");
        let text = screen(&draw(&lead, w, h));
        assert!(text.contains("chance to win"), "{text}");
        assert!(text.contains("learned from"), "{text}");
        assert!(text.contains("plan: enterprise"), "{text}");
    }
}

#[test]
fn edit_form_over_the_lead_card() {
    let s = demo_service();
    let state = after(&s, "<enter> E <tab>");
    for (_, text) in snapshot("edit_form", &state) {
        assert!(
            text.contains(" > E-mail"),
            "the field at hand is marked:\n{text}"
        );
        assert!(footer_line(&text).starts_with(" E-mail > "), "{text}");
    }
}

/// Each report on its screen (all time, so the demo's history shows), at both sizes: titles,
/// aligned columns (headers on two lines where one is too wide), bars in block characters.
#[test]
fn each_report() {
    let s = demo_service();
    let mut state = after(&s, "R p p");
    assert_eq!(state.report_days, None, "all time");
    for kind in leadq::service::ReportKind::ALL {
        while state.report_kind != kind {
            press(&s, &mut state, "<tab>");
        }
        for (_, text) in snapshot(&format!("report_{}", kind.name()), &state) {
            assert!(text.contains("all time"), "{text}");
            assert!(!text.contains("Counting"), "the report is on show:\n{text}");
        }
    }
    // The score check's leads: j selects the first, marked.
    press(&s, &mut state, "<backtab> j");
    for (_, text) in snapshot("report_score_a_lead_selected", &state) {
        assert!(text.contains("> #"), "{text}");
    }
}
