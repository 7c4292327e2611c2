//! The reports screen (`R`), driven by keys through `update` and its effects against a
//! temporary store, and drawn at 80x24 in the mono theme: one key from the queue, tab through
//! the reports, `p` through the periods, live as a colleague closes a deal.

mod common;

use common::press;
use leadq::service::{Identity, LeadService, Local, ReportKind, Role, Settings};
use leadq::store::Store;
use leadq::tui::app::{start_state, step};
use leadq::tui::msg::Msg;
use leadq::tui::state::Screen;
use leadq::tui::theme::Theme;
use leadq::tui::views;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const NOW: i64 = 1_795_860_000_000; // 2026-11-22T10:00:00Z

fn service() -> Local {
    let settings = Settings {
        fixed_now: Some(NOW),
        user: "alice".into(),
        ..Settings::default()
    };
    let s = Local::new(Store::temporary().unwrap(), settings).unwrap();
    s.demo(300, 5).unwrap();
    s
}

fn screen(state: &leadq::tui::state::State) -> String {
    let theme = Theme::built_in("mono").expect("the mono theme");
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    terminal.draw(|f| views::render(f, state, &theme)).unwrap();
    let buf = terminal.backend().buffer().clone();
    (0..24)
        .map(|y| (0..80).map(|x| buf[(x, y)].symbol()).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The count in the row of `label` of the first table on show.
fn figure(state: &leadq::tui::state::State, label: &str) -> u64 {
    let r = state.report.as_ref().expect("a report on show");
    let row = r.tables[0]
        .rows
        .iter()
        .find(|row| row[0].text() == label)
        .unwrap_or_else(|| panic!("no row {label}"));
    row[1].text().parse().expect("a count")
}

#[test]
fn r_opens_the_reports_tab_cycles_them_p_the_period_and_esc_goes_back() {
    let s = service();
    let mut state = start_state(&s);
    press(&s, &mut state, "R");
    assert_eq!(state.screen, Screen::Reports);
    let text = screen(&state);
    assert!(
        text.contains("Funnel: leads that entered each stage"),
        "{text}"
    );
    assert!(text.contains("last 30 days"), "{text}");
    assert!(
        text.contains('█'),
        "bars drawn in block characters:\n{text}"
    );
    assert!(text.contains("esc back"), "the footer:\n{text}");
    let mut seen = vec![state.report_kind];
    for _ in 1..ReportKind::ALL.len() {
        press(&s, &mut state, "<tab>");
        seen.push(state.report.as_ref().expect("loaded").kind);
    }
    assert_eq!(seen, ReportKind::ALL, "tab shows each report in turn");
    assert!(screen(&state).contains("Everyone's day") || screen(&state).contains("'s day"));
    press(&s, &mut state, "<tab> p");
    assert!(screen(&state).contains("last 90 days"));
    press(&s, &mut state, "p");
    let text = screen(&state);
    assert!(text.contains("all time"), "{text}");
    press(&s, &mut state, "<esc>");
    assert_eq!(state.screen, Screen::Queue);
}

#[test]
fn a_colleagues_won_deal_moves_the_numbers_without_a_keypress() {
    let s = service();
    let mut state = start_state(&s);
    press(&s, &mut state, "R");
    let before = figure(&state, "customer");
    // Bob wins a lead still open, in this store, from another session.
    let bob = s.session(Identity {
        user: "bob".into(),
        role: Role::Manager,
    });
    let open = bob
        .list(&Default::default())
        .unwrap()
        .into_iter()
        .find(|v| v.lead.stage == leadq::domain::Stage::Opportunity)
        .expect("an opportunity");
    bob.won(open.lead.id, None).unwrap();
    for _ in 0..5 {
        step(&s, &mut state, Msg::Tick(NOW));
    }
    assert_eq!(
        figure(&state, "customer"),
        before + 1,
        "the funnel counts the new customer"
    );
}

#[test]
fn a_lead_the_score_check_names_opens_with_enter_and_esc_comes_back() {
    let s = service();
    let mut state = start_state(&s);
    press(&s, &mut state, "R p p");
    while state.report_kind != ReportKind::Score {
        press(&s, &mut state, "<tab>");
    }
    let leads = state.report.as_ref().expect("the score check").leads();
    assert!(
        leads.len() >= 2,
        "the demo has surprises to list: {leads:?}"
    );
    // It opens at its top, the score bands in sight and no lead selected.
    let text = screen(&state);
    assert!(
        text.contains("Score check") && !text.contains("> #"),
        "the top of the score check:\n{text}"
    );
    press(&s, &mut state, "j");
    let text = screen(&state);
    assert!(text.contains("> #"), "j selects the first:\n{text}");
    press(&s, &mut state, "k");
    assert!(
        screen(&state).contains("Score check") && state.report_at.is_none(),
        "k above the first goes back to the top"
    );
    press(&s, &mut state, "j j <enter>");
    assert_eq!(state.screen, Screen::Lead);
    assert_eq!(
        state.open_lead,
        Some(leads[1]),
        "the second lead named opens"
    );
    press(&s, &mut state, "<esc>");
    assert_eq!(
        state.screen,
        Screen::Reports,
        "back where it was opened from"
    );
    press(&s, &mut state, "<esc>");
    assert_eq!(state.screen, Screen::Queue);
}

#[test]
fn o_shows_one_reps_figures_and_an_empty_answer_everyones() {
    let s = service();
    let mut state = start_state(&s);
    press(&s, &mut state, "R o");
    assert!(screen(&state).contains("Whose figures"));
    press(&s, &mut state, "b o b <enter>");
    let r = state.report.as_ref().expect("a report");
    assert_eq!(r.owner.as_deref(), Some("bob"));
    assert!(screen(&state).contains(", bob"), "{}", screen(&state));
    press(&s, &mut state, "o <enter>");
    assert_eq!(state.report.as_ref().expect("a report").owner, None);
    assert!(screen(&state).contains("everyone"));
}

/// A rep who asks for a colleague's figures is told no and shown their own again: the
/// reports that follow (the next one, another period) are theirs, not stuck on the last.
#[test]
fn a_rep_refused_a_colleagues_figures_goes_on_with_their_own() {
    let base = service();
    let alice = base.session(Identity {
        user: "alice".into(),
        role: Role::Rep,
    });
    let mut state = start_state(&alice);
    press(&alice, &mut state, "R o b o b <enter>");
    assert!(
        screen(&state).contains("cannot see bob's"),
        "told why:\n{}",
        screen(&state)
    );
    assert_eq!(state.report_owner, None);
    assert_eq!(
        state.report.as_ref().map(|r| r.owner.as_deref()),
        Some(Some("alice")),
        "her own figures"
    );
    press(&alice, &mut state, "<tab> p");
    let r = state.report.as_ref().expect("the next report");
    assert_eq!(
        r.kind,
        ReportKind::Sources,
        "the report on show is the one marked"
    );
    assert_eq!(state.report_days, Some(90));
    assert!(screen(&state).contains("Sources"), "{}", screen(&state));
}
