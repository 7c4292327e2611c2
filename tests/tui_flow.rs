//! Flow tests: key strings drive `update` (through `app::step`, which runs the effects inline
//! against a temporary store) and the state and store are checked. No terminal.

mod common;

use common::{keys, press};
use leadq::domain::{Kind, Outcome, Stage};
use leadq::service::{LeadService, Local, Settings};
use leadq::store::Store;
use leadq::tui::app::{start_state, step};
use leadq::tui::msg::Msg;
use leadq::tui::state::{Prompt, Screen, State, View};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

const NOW: i64 = 1_795_860_000_000; // 2026-11-22T10:00:00Z

fn service_with_demo(count: usize) -> Local {
    let settings = Settings {
        fixed_now: Some(NOW),
        user: "alice".into(),
        ..Settings::default()
    };
    let s = Local::new(Store::temporary().unwrap(), settings).unwrap();
    s.demo(count, 7).unwrap();
    s
}

#[test]
fn c_1_enter_enter_logs_a_connected_call_on_the_selected_lead() {
    let service = service_with_demo(60);
    let mut state = start_state(&service);
    assert_eq!(state.screen, Screen::Queue);
    press(&service, &mut state, "j");
    let id = state.selected_lead().unwrap().lead.id;
    let before = service.show(id).unwrap().timeline.len();
    press(&service, &mut state, "c 1 <enter> <enter>");
    assert!(state.prompt.is_none(), "both prompts were skipped");
    let d = service.show(id).unwrap();
    assert!(d.timeline.len() > before);
    let call = d.timeline.iter().find(|i| i.kind == Kind::Call).unwrap();
    assert_eq!(call.outcome, Some(Outcome::Connected));
    assert_eq!(call.at, NOW);
    assert_eq!(call.author, "alice");
    let flash = state.flash.as_ref().unwrap();
    assert!(
        flash.text.contains(&format!("#{id}")),
        "the change is shown: {}",
        flash.text
    );
}

#[test]
fn a_typed_note_and_follow_up_amend_the_logged_call_and_undo_takes_all_back() {
    let service = service_with_demo(30);
    let mut state = start_state(&service);
    let id = state.selected_lead().unwrap().lead.id;
    let lead_before = service.show(id).unwrap();
    press(
        &service,
        &mut state,
        "c 3 left <space> a <space> message <enter> t",
    );
    let d = service.show(id).unwrap();
    let call = &d
        .timeline
        .iter()
        .find(|i| i.kind == Kind::Call && i.at == NOW)
        .unwrap();
    assert_eq!(call.outcome, Some(Outcome::Voicemail));
    assert_eq!(call.note.as_deref(), Some("left a message"));
    assert_eq!(
        d.view.lead.next_action,
        Some(NOW + 23 * 3_600_000),
        "tomorrow 09:00 UTC"
    );
    press(&service, &mut state, "u");
    let after_undo = service.show(id).unwrap();
    assert_eq!(after_undo.timeline, lead_before.timeline);
    assert_eq!(after_undo.view.lead, lead_before.view.lead);
}

#[test]
fn lost_needs_a_reason_picked_by_digit() {
    let service = service_with_demo(30);
    let mut state = start_state(&service);
    let id = state.selected_lead().unwrap().lead.id;
    press(&service, &mut state, "l");
    assert!(matches!(state.prompt, Some(Prompt::Pick { .. })));
    press(&service, &mut state, "2");
    let d = service.show(id).unwrap();
    assert_eq!(d.view.lead.stage, Stage::Lost);
    assert_eq!(
        d.view.lead.lost_reason,
        Some(leadq::domain::LostReason::Competitor)
    );
    assert!(
        state.rows.iter().all(|r| r.lead.id != id),
        "a lost lead leaves the queue"
    );
}

#[test]
fn views_switch_with_one_key_and_search_filters_as_you_type() {
    let service = service_with_demo(200);
    let mut state = start_state(&service);
    press(&service, &mut state, "A");
    assert_eq!(state.view, View::All);
    let all = state.rows.len();
    press(&service, &mut state, "H");
    assert!(state.rows.len() < all);
    assert!(
        state
            .rows
            .iter()
            .all(|r| r.temperature == leadq::domain::Temperature::Hot)
    );
    press(&service, &mut state, "A / an");
    let hits = state.search.hits.clone().unwrap();
    assert!(!hits.is_empty() && hits.len() < all);
    // Names starting with the query come first, hottest first.
    let first = &state.rows[state.visible_row(0).unwrap()];
    assert!(
        first.lead.name.to_lowercase().starts_with("an"),
        "{first:?}"
    );
    let starts: Vec<u8> = (0..hits.len())
        .map(|n| &state.rows[state.visible_row(n).unwrap()])
        .map(|r| r.lead.name.to_lowercase().starts_with("an") as u8)
        .collect();
    assert!(starts.windows(2).all(|w| w[0] >= w[1]), "{starts:?}");
    // Esc typed just before a key arrives as Alt+key: it is not typed into the query.
    let alt_slash = KeyEvent::new(KeyCode::Char('/'), KeyModifiers::ALT);
    step(&service, &mut state, Msg::Key(alt_slash));
    assert_eq!(state.search.query, "an");
    press(&service, &mut state, "n <space> a");
    let narrowed = state.search.hits.clone().unwrap();
    assert!(narrowed.len() <= hits.len());
    press(&service, &mut state, "<esc>");
    assert!(state.search.hits.is_none());
    assert_eq!(state.visible_len(), all);
}

#[test]
fn today_is_due_follow_ups_stale_hot_leads_and_untouched_new_leads() {
    use leadq::domain::Temperature;
    let service = service_with_demo(300);
    let mut state = start_state(&service);
    press(&service, &mut state, "T");
    assert_eq!(state.view, View::Today);
    assert!(!state.rows.is_empty());
    let end_of_today = leadq::domain::time::end_of_local_day(NOW);
    let stale = NOW - 3 * leadq::domain::time::DAY_MS;
    let mut kinds = [0; 3];
    for r in &state.rows {
        let l = &r.lead;
        let due = l.next_action.is_some_and(|t| t < end_of_today);
        let hot_stale = r.temperature == Temperature::Hot && l.last_touch.is_none_or(|t| t < stale);
        let fresh = l.stage == Stage::New && l.last_touch.is_none();
        assert!(
            due || hot_stale || fresh,
            "#{} does not belong in today's queue",
            l.id
        );
        kinds[0] += usize::from(due);
        kinds[1] += usize::from(hot_stale);
        kinds[2] += usize::from(fresh);
    }
    assert!(
        kinds.iter().all(|&k| k > 0),
        "all three reasons occur in 300 demo leads: {kinds:?}"
    );
    // And nothing that qualifies is missing: compare with every open lead.
    let all = service.export().unwrap();
    let expected = all
        .iter()
        .filter(|v| v.lead.stage.is_open() && !v.lead.is_snoozed(NOW))
        .filter(|v| {
            !(v.lead.stage == Stage::Nurture && v.lead.next_action.is_some_and(|t| t > NOW))
        })
        .filter(|v| {
            let l = &v.lead;
            l.next_action.is_some_and(|t| t < end_of_today)
                || (v.temperature == Temperature::Hot && l.last_touch.is_none_or(|t| t < stale))
                || (l.stage == Stage::New && l.last_touch.is_none())
        })
        .count();
    assert_eq!(state.rows.len(), expected);
}

#[test]
fn a_nurture_lead_waits_for_its_revisit_date() {
    let service = service_with_demo(300);
    let mut state = start_state(&service);
    press(&service, &mut state, "A");
    assert!(
        state
            .rows
            .iter()
            .all(|r| !(r.lead.stage == Stage::Nurture
                && r.lead.next_action.is_some_and(|t| t > NOW))),
        "nurture leads with a future revisit date are not in the queue"
    );
}

mod presence {
    //! Presence and the connection, at the flow level: what `update` tells the server, how the
    //! others' presence lands in the state, and the question before logging on a lead someone
    //! else is on. (Two TUIs of one Unix user never see each other's presence, so this cannot
    //! be shown end to end; tests/e2e_team.rs covers the live changes.)

    use super::*;
    use leadq::domain::LeadId;
    use leadq::service::{Activity, Presence};
    use leadq::tui::app::run_effects;
    use leadq::tui::msg::Effect;
    use leadq::tui::update::update;
    use leadq::tui::workers::Inline;

    type Told = Option<(LeadId, Activity)>;

    /// Presses keys as `press` does, and returns what each key's `update` told the server.
    fn told(service: &Local, state: &mut State, spec: &str) -> Vec<Told> {
        let mut out = Vec::new();
        for k in keys(spec) {
            let effects = update(state, Msg::Key(k));
            out.extend(effects.iter().filter_map(|e| match e {
                Effect::Presence(p) => Some(*p),
                _ => None,
            }));
            let (tx, rx) = std::sync::mpsc::channel();
            let inline = Inline { service, tx };
            let mut inbox = Vec::new();
            run_effects(service, &inline, effects, &mut inbox);
            inbox.extend(rx.try_iter());
            for m in inbox {
                step(service, state, m);
            }
        }
        out
    }

    fn on(user: &str, lead: LeadId, activity: Activity) -> Presence {
        Presence {
            user: user.into(),
            lead,
            activity,
        }
    }

    #[test]
    fn the_server_hears_what_the_rep_is_doing_and_nothing_more() {
        use Activity::{Logging, Viewing};
        let service = service_with_demo(60);
        let mut state = start_state(&service);
        assert_eq!(state.my_presence, None, "the queue tells nothing");
        let id = state.selected_lead().unwrap().lead.id;
        assert_eq!(told(&service, &mut state, "<enter>"), [Some((id, Viewing))]);
        assert_eq!(told(&service, &mut state, "c"), [Some((id, Logging))]);
        // The outcome, the note and the follow-up are all one touch being logged.
        assert_eq!(told(&service, &mut state, "1 <enter>"), []);
        assert!(matches!(state.prompt, Some(Prompt::Text { .. })));
        assert_eq!(told(&service, &mut state, "<enter>"), [Some((id, Viewing))]);
        assert_eq!(
            told(&service, &mut state, "j k"),
            [],
            "scrolling tells nothing"
        );
        assert_eq!(told(&service, &mut state, "<esc>"), [None]);
        // In the queue: logging on the selected lead, then nothing once cancelled.
        let id = state.selected_lead().unwrap().lead.id;
        assert_eq!(told(&service, &mut state, "e"), [Some((id, Logging))]);
        assert_eq!(told(&service, &mut state, "<esc>"), [None]);
        assert_eq!(told(&service, &mut state, "n"), [Some((id, Logging))]);
        assert_eq!(
            told(&service, &mut state, "<esc> s"),
            [None],
            "a stage is no touch"
        );
        assert_eq!(state.my_presence, None);
    }

    #[test]
    fn others_presence_is_kept_without_a_reload() {
        let service = service_with_demo(30);
        let mut state = start_state(&service);
        let id = state.selected_lead().unwrap().lead.id;
        let generation = state.view_generation;
        let effects = update(
            &mut state,
            Msg::Presence(vec![
                on("bob", id, Activity::Viewing),
                on("bob", id, Activity::Logging),
                on("alice", id, Activity::Viewing),
            ]),
        );
        assert!(effects.is_empty(), "nothing to load: {effects:?}");
        assert_eq!(state.view_generation, generation);
        assert_eq!(
            leadq::tui::presence::others_on(&state, id),
            [("bob".to_string(), Activity::Logging)],
            "one entry per colleague, logging first, never oneself"
        );
        step(&service, &mut state, Msg::Presence(Vec::new()));
        assert!(leadq::tui::presence::others_on(&state, id).is_empty());
    }

    #[test]
    fn logging_on_a_lead_someone_else_is_on_asks_first() {
        let service = service_with_demo(30);
        let mut state = start_state(&service);
        let id = state.selected_lead().unwrap().lead.id;
        let before = service.show(id).unwrap().timeline.len();
        step(
            &service,
            &mut state,
            Msg::Presence(vec![on("bob", id, Activity::Viewing)]),
        );
        for (key, kind) in [("c", Kind::Call), ("e", Kind::Email), ("m", Kind::Meeting)] {
            press(&service, &mut state, key);
            assert_eq!(
                state.prompt,
                Some(Prompt::Confirm {
                    kind,
                    lead: id,
                    who: "bob".into()
                }),
                "{key} asks first"
            );
            assert_eq!(state.my_presence, None, "not logging until the rep says so");
            // Anything but y leaves the lead to bob.
            press(&service, &mut state, "n");
            assert!(state.prompt.is_none());
        }
        press(&service, &mut state, "c <esc> c j");
        assert!(state.prompt.is_none(), "esc and other keys cancel too");
        assert_eq!(service.show(id).unwrap().timeline.len(), before);
        assert_eq!(
            state.selected_lead().unwrap().lead.id,
            id,
            "j was the answer"
        );

        press(&service, &mut state, "c y");
        assert!(
            matches!(state.prompt, Some(Prompt::Pick { lead: Some(l), .. }) if l == id),
            "y goes on to the outcome"
        );
        press(&service, &mut state, "1 <enter> <enter>");
        let d = service.show(id).unwrap();
        assert!(
            d.timeline.iter().any(|i| i.kind == Kind::Call
                && i.at == NOW
                && i.outcome == Some(leadq::domain::Outcome::Connected)),
            "the call is logged"
        );

        // A lead nobody else is on goes straight to the outcome, as does one only this user
        // (another session of alice's) is on.
        let other = state
            .rows
            .iter()
            .map(|r| r.lead.id)
            .find(|&l| l != id)
            .unwrap();
        step(
            &service,
            &mut state,
            Msg::Presence(vec![
                on("bob", id, Activity::Viewing),
                on("alice", other, Activity::Logging),
            ]),
        );
        while state.selected_lead().unwrap().lead.id != other {
            press(&service, &mut state, "j");
        }
        press(&service, &mut state, "c");
        assert!(matches!(state.prompt, Some(Prompt::Pick { .. })));
    }

    #[test]
    fn the_connection_coming_back_reloads_the_view() {
        let service = service_with_demo(30);
        let mut state = start_state(&service);
        let lost = Some("reconnecting to the leadq server…".to_string());
        assert!(update(&mut state, Msg::Connection(lost.clone())).is_empty());
        assert!(update(&mut state, Msg::Connection(lost.clone())).is_empty());
        assert_eq!(state.connection, lost);
        let effects = update(&mut state, Msg::Connection(None));
        assert!(
            effects.iter().any(|e| matches!(e, Effect::LoadView { .. })),
            "changes made meanwhile were never pushed: reload ({effects:?})"
        );
        assert_eq!(state.connection, None);
        let flash = state.flash.as_ref().unwrap();
        assert_eq!(flash.text, "reconnected to the leadq server");
        // Without a server (in-process) there is never a problem, and no reload either.
        assert!(update(&mut state, Msg::Connection(None)).is_empty());
    }
}

/// After `c 1` the queue re-sorts; the selection stays on the lead, wherever it moved, so a
/// second `c 1` logs on the same lead and never on the one that took its row (issue 8).
#[test]
fn the_selection_follows_the_lead_when_the_queue_re_sorts() {
    // More leads than the view's quick first page (200), and a lead below it: a reload's
    // first page does not hold it.
    let service = service_with_demo(600);
    let mut state = start_state(&service);
    press(&service, &mut state, "A");
    // Far enough down that a connected call lifts the lead above others.
    press(&service, &mut state, "G k k k k k");
    let place = |s: &leadq::tui::state::State| s.window_start + s.selected;
    assert!(place(&state) > 200, "{}", place(&state));
    let id = state.selected_lead().unwrap().lead.id;
    let row_before = place(&state);
    let neighbour = state.rows[state.selected - 1].lead.id;
    let calls = |id| {
        service
            .show(id)
            .unwrap()
            .timeline
            .iter()
            .filter(|i| i.kind == Kind::Call && i.at == NOW)
            .count()
    };
    press(&service, &mut state, "c 1 <enter> <enter>");
    assert_eq!(state.selected_lead().unwrap().lead.id, id);
    assert!(
        place(&state) < row_before,
        "the call moved the lead up the queue ({} -> {})",
        row_before,
        place(&state)
    );
    press(&service, &mut state, "c 1 <enter> <enter>");
    assert_eq!(
        calls(id),
        2,
        "both calls landed on the lead the rep saw selected"
    );
    assert_eq!(calls(neighbour), 0);
    assert_eq!(state.selected_lead().unwrap().lead.id, id);
}

/// The same with a search on: the hits are carried to the reloaded rows.
#[test]
fn the_selection_follows_the_lead_in_search_hits_too() {
    let service = service_with_demo(60);
    let mut state = start_state(&service);
    press(&service, &mut state, "A / a <enter> j j j");
    let id = state.selected_lead().unwrap().lead.id;
    press(&service, &mut state, "c 1 <enter> <enter>");
    assert_eq!(state.selected_lead().unwrap().lead.id, id);
    press(&service, &mut state, "c 2 <enter> <enter>");
    let d = service.show(id).unwrap();
    let outcomes: Vec<_> = d
        .timeline
        .iter()
        .filter(|i| i.kind == Kind::Call && i.at == NOW)
        .map(|i| i.outcome)
        .collect();
    assert_eq!(
        outcomes,
        [Some(Outcome::NoAnswer), Some(Outcome::Connected)],
        "both calls on the lead selected in the search"
    );
}

/// A view that cannot be loaded (a damaged store) says why where its rows would be, until a
/// load succeeds; it is never shown as an empty queue.
#[test]
fn a_view_that_cannot_load_says_why_until_one_can() {
    let service = service_with_demo(20);
    let mut state = start_state(&service);
    let generation = state.view_generation;
    step(
        &service,
        &mut state,
        Msg::LoadFailed(generation, "the store at /x is damaged".into()),
    );
    assert_eq!(
        state.load_error.as_deref(),
        Some("the store at /x is damaged")
    );
    press(&service, &mut state, "A");
    assert_eq!(state.load_error, None, "a load that works clears it");
    assert!(!state.rows.is_empty());
}

/// The lead view's timeline scrolls an entry at a time and stops with its oldest entry still
/// on show: `j` held down never leaves an empty pane.
#[test]
fn the_timeline_stops_at_its_oldest_entry() {
    let service = service_with_demo(30);
    let mut state = start_state(&service);
    press(&service, &mut state, "<enter>");
    assert_eq!(state.screen, Screen::Lead);
    let entries = state
        .detail
        .as_ref()
        .expect("the lead's detail")
        .timeline
        .len();
    assert!(entries > 1, "a demo lead has a timeline");
    for _ in 0..entries + 30 {
        press(&service, &mut state, "j");
    }
    assert_eq!(
        state.detail_scroll,
        entries - 1,
        "the oldest entry stays on show"
    );
    press(&service, &mut state, "k");
    assert_eq!(state.detail_scroll, entries - 2);
}

/// A view bigger than a page loads as a window: the rows around the selection, which move
/// with it as the rep scrolls (`j`, `G` to the last row, `g` back to the first), never the
/// whole view; a search loads the whole view (and finds a lead far below the first page).
#[test]
fn a_big_view_loads_as_a_window_that_moves_with_the_selection() {
    use leadq::service::Query;
    use leadq::tui::update::FIRST_PAGE;
    let service = service_with_demo(900);
    let mut state = start_state(&service);
    press(&service, &mut state, "A");
    let whole = service.list(&Query::default()).unwrap();
    assert!(whole.len() > 3 * FIRST_PAGE, "the demo view is big enough");
    assert_eq!(state.rows.len(), FIRST_PAGE, "the first window only");
    assert_eq!(state.total, whole.len(), "the view's total with the window");
    assert!(!state.complete);
    state.page = 20;
    let ids =
        |rows: &[leadq::service::LeadView]| rows.iter().map(|v| v.lead.id).collect::<Vec<_>>();
    let in_order = |state: &leadq::tui::state::State| {
        assert_eq!(
            ids(&state.rows),
            ids(&whole[state.window_start..state.window_start + state.rows.len()]),
            "the window is the view's rows from where it starts, in order"
        );
    };
    for _ in 0..FIRST_PAGE {
        press(&service, &mut state, "j");
    }
    assert_eq!(state.window_start + state.selected, FIRST_PAGE);
    assert_eq!(
        state.selected_lead().map(|v| v.lead.id),
        Some(whole[FIRST_PAGE].lead.id)
    );
    assert!(
        state.window_start > 0,
        "the window moved down with the cursor"
    );
    assert!(
        state.window_start + state.rows.len() > FIRST_PAGE + 20,
        "and holds the rows ahead of it"
    );
    in_order(&state);
    press(&service, &mut state, "G");
    assert_eq!(state.window_start + state.selected, whole.len() - 1);
    assert_eq!(
        state.selected_lead().map(|v| v.lead.id),
        whole.last().map(|v| v.lead.id),
        "G lands on the last row"
    );
    assert!(
        state.rows.len() <= FIRST_PAGE,
        "a window, not the whole view"
    );
    in_order(&state);
    press(&service, &mut state, "k k");
    assert_eq!(state.window_start + state.selected, whole.len() - 3);
    press(&service, &mut state, "g");
    assert_eq!(
        (state.window_start, state.selected),
        (0, 0),
        "g is back at the top"
    );
    in_order(&state);
    // Another view starts again from its first page; a search loads the whole view.
    press(&service, &mut state, "G H A");
    assert_eq!((state.window_start, state.rows.len()), (0, FIRST_PAGE));
    let far = &whole[whole.len() - 1].lead.name;
    press(&service, &mut state, "/");
    for c in far.chars().filter(|c| !c.is_whitespace()).take(12) {
        let spec = c.to_string();
        press(&service, &mut state, &spec);
    }
    let hits = state.search.hits.clone().unwrap_or_default();
    assert!(
        hits.iter()
            .any(|h| state.rows[h.row].lead.id == whole[whole.len() - 1].lead.id),
        "the search found {far:?}, far below the first page"
    );
}

/// `G` pressed while another view is still on show (its load in flight) lands on the last row
/// of the view asked for.
#[test]
fn g_right_after_a_view_switch_reaches_the_new_views_last_row() {
    use leadq::service::Query;
    let service = service_with_demo(900);
    let mut state = start_state(&service);
    let whole = service.list(&Query::default()).unwrap();
    assert!(
        state.complete && state.rows.len() < whole.len(),
        "Hot is whole and smaller"
    );
    // `A`'s load is still in flight (its effects not run) when `G` is pressed.
    let in_flight = leadq::tui::update::update(&mut state, Msg::Key(keys("A")[0]));
    assert!(!in_flight.is_empty());
    press(&service, &mut state, "G");
    assert_eq!(state.total, whole.len(), "the All view");
    assert_eq!(
        state.window_start + state.selected,
        whole.len() - 1,
        "on its last row"
    );
    assert_eq!(
        state.selected_lead().map(|v| v.lead.id),
        whole.last().map(|v| v.lead.id)
    );
}
