//! The web leads' clock in the TUI: a rep told of a lead just routed to them (N opens it),
//! Today's queue opening with the leads still waiting, their age and clock in the queue's
//! columns, a manager's banner once one is overdue, and `B` taking a rep out of the routing.

mod common;

use common::press;
use leadq::domain::routing::Rules;
use leadq::domain::{Millis, NewLead};
use leadq::service::{Identity, LeadService, Local, Role, Settings};
use leadq::store::Store;
use leadq::tui::app::{start_state, step};
use leadq::tui::msg::Msg;
use leadq::tui::state::{Screen, State};
use leadq::tui::theme::Theme;
use leadq::tui::views;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const NOW: Millis = 1_795_860_000_000; // 2026-11-22T10:00:00Z
const MIN: Millis = 60_000;

fn service() -> Local {
    let rules = Rules::parse(
        "[[rule]]\nname = \"web\"\nsource = [\"web-form\"]\nteam = [\"alice\"]\ntarget_minutes = 5\n",
    )
    .unwrap();
    let s = Local::new(
        Store::temporary().unwrap(),
        Settings {
            fixed_now: Some(NOW),
            routing: rules,
            ..Settings::default()
        },
    )
    .unwrap();
    s.demo(40, 3).unwrap();
    s
}

fn as_user(s: &Local, user: &str, role: Role) -> Local {
    s.session(Identity {
        user: user.into(),
        role,
    })
}

fn post(s: &Local, name: &str) -> u64 {
    as_user(s, "intake:web-form", Role::Manager)
        .add_inbound(NewLead {
            name: name.into(),
            email: Some(format!(
                "{}@x.example",
                name.to_lowercase().replace(' ', ".")
            )),
            source: Some("web-form".into()),
            ..NewLead::default()
        })
        .unwrap()
        .added
        .id
}

fn screen(state: &State) -> String {
    let theme = Theme::default_theme();
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
    terminal.draw(|f| views::render(f, state, &theme)).unwrap();
    let buf = terminal.backend().buffer().clone();
    (0..30)
        .map(|y| (0..100).map(|x| buf[(x, y)].symbol()).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Seconds pass on the TUI's clock (the service's stays where it is).
fn seconds(s: &Local, state: &mut State, from: Millis, n: i64) {
    for i in 1..=n {
        step(s, state, Msg::Tick(from + i * 1000));
    }
}

#[test]
fn a_rep_is_told_of_a_web_lead_routed_to_them_and_n_opens_it() {
    let s = service();
    let alice = as_user(&s, "alice", Role::Rep);
    let mut state = start_state(&alice);
    assert_eq!(state.banner, None);
    let id = post(&s, "Wendy Web");
    // The change reaches the TUI (in this process: as a change of the store).
    step(&alice, &mut state, Msg::StoreChanged);
    let text = screen(&state);
    assert!(
        text.contains("N opens your new web lead: Wendy Web (web-form, 0m)"),
        "{text}"
    );
    // Today's queue opens with it, its clock running.
    press(&alice, &mut state, "T");
    let text = screen(&state);
    let strip = text.lines().nth(1).unwrap_or_default();
    assert!(
        strip.contains("waiting   0m  due in 5m  -> alice  Wendy Web (web-form)"),
        "{text}"
    );
    press(&alice, &mut state, "N");
    assert_eq!(state.screen, Screen::Lead);
    assert_eq!(state.open_lead, Some(id));
    assert_eq!(state.banner, None, "told once");
    let card = screen(&state);
    assert!(card.contains("never · waited 0m · due in 5m"), "{card}");
    // Told once: reading again does not bring the banner back.
    press(&alice, &mut state, "<esc>");
    seconds(&alice, &mut state, NOW + 1000, 6);
    assert_eq!(state.banner, None);
}

#[test]
fn a_manager_sees_overdue_web_leads_in_a_banner_and_the_queue_marks_them_late() {
    let s = service();
    post(&s, "Otto Overdue");
    let boss = as_user(&s, "boss", Role::Manager);
    let mut state = start_state(&boss);
    press(&boss, &mut state, "A");
    assert_eq!(state.banner, None, "not overdue yet");
    // Seven minutes on the TUI's clock: two past its target.
    seconds(&boss, &mut state, NOW + 7 * MIN, 5);
    let text = screen(&state);
    assert!(
        text.contains(
            "N opens the longest overdue of 1 web lead: Otto Overdue (web-form, 7m) with alice"
        ),
        "{text}"
    );
    let row = text
        .lines()
        .find(|l| l.contains("Otto Overdue"))
        .expect("its row");
    assert!(row.contains("LATE 2m") && row.contains(" 7m "), "{row}");
    // A call stops its clock: no more banner.
    press(&boss, &mut state, "N");
    press(&boss, &mut state, "c 1 <enter>");
    seconds(&boss, &mut state, NOW + 8 * MIN, 5);
    assert_eq!(state.banner, None, "{}", screen(&state));
}

#[test]
fn b_takes_a_rep_out_of_the_routing_and_back() {
    let s = service();
    let alice = as_user(&s, "alice", Role::Rep);
    let mut state = start_state(&alice);
    press(&alice, &mut state, "B");
    assert!(state.away);
    assert!(screen(&state).lines().next().unwrap().contains(" away"));
    let list = alice
        .away(&leadq::service::AwayRequest {
            user: None,
            away: None,
        })
        .unwrap();
    assert_eq!(
        list.iter().map(|(u, _)| u.as_str()).collect::<Vec<_>>(),
        ["alice"]
    );
    // Away, she gets no new lead: it waits in the pool.
    let id = post(&s, "Pool Paul");
    assert_eq!(s.show(id).unwrap().view.lead.owner, None);
    press(&alice, &mut state, "B");
    assert!(!state.away);
}
