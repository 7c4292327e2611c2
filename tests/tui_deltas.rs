//! The TUI on a server, kept by deltas: a write is applied to the rows on show (the lead's
//! row comes with the delta), the selection stays on its lead wherever a change sends it,
//! and what the rep sees is the view's rows where the window says it stands.

mod common;

use common::press;
use leadq::domain::{Kind, Outcome};
use leadq::remote::client::Client;
use leadq::service::{LeadService, LogEntry, Window};
use leadq::tui::app::{start_state, step};
use leadq::tui::msg::Msg;
use leadq::tui::state::State;

/// Hands the TUI every delta the server has sent for the writes made so far.
fn catch_up(client: &Client, state: &mut State) {
    client.settle().expect("settle");
    let deltas = client.take_deltas().expect("a server sends deltas");
    step(client, state, Msg::Deltas(deltas));
}

/// The rows on show are the view's rows where the window says it starts.
fn check_rows(client: &Client, state: &State, what: &str) {
    let query = state.query();
    let whole: Vec<u64> = client
        .page(&query, Window::rows(0, usize::MAX))
        .expect("the view")
        .rows
        .iter()
        .map(|v| v.lead.id)
        .collect();
    let shown: Vec<u64> = state.rows.iter().map(|v| v.lead.id).collect();
    let start = state.window_start.min(whole.len());
    let end = (start + shown.len()).min(whole.len());
    assert_eq!(shown, whole[start..end], "{what}");
    assert_eq!(state.total, whole.len(), "the view's total, {what}");
}

fn call() -> LogEntry {
    LogEntry {
        kind: Kind::Call,
        outcome: Some(Outcome::Connected),
        note: None,
        at: None,
        next_action: None,
        duration_secs: None,
    }
}

#[test]
fn a_colleagues_changes_patch_the_rows_on_show_and_the_selection_keeps_its_lead() {
    let home = common::home::Home::new();
    assert!(home.run(&["demo", "--count", "3000"]).status.success());
    let server = home.server();
    let client = Client::connect(&home.store(), false).expect("connect");
    let other = Client::connect(&home.store(), false).expect("a second client");
    drop(client.subscribe());
    let mut state = start_state(&client);
    press(&client, &mut state, "A j j j");
    let selected = state.selected_lead().expect("a row").lead.id;
    check_rows(&client, &state, "at the start");
    // A colleague calls leads on show, above and below the selection.
    let on_show: Vec<u64> = state.rows.iter().take(12).map(|v| v.lead.id).collect();
    for (n, id) in on_show
        .iter()
        .enumerate()
        .filter(|(_, id)| **id != selected)
    {
        other.log(*id, call()).expect("the colleague's call");
        catch_up(&client, &mut state);
        check_rows(&client, &state, &format!("after the colleague's call {n}"));
        assert_eq!(
            state.selected_lead().map(|v| v.lead.id),
            Some(selected),
            "the selection stayed on its lead"
        );
    }
    // A call of the rep's own sends the first lead of the view (untouched longest among the
    // best scores) after the others of its score: its row moves and the selection with it.
    press(&client, &mut state, "g");
    let first = state.selected_lead().expect("a row").lead.id;
    press(&client, &mut state, "c 1 <enter> <enter>");
    catch_up(&client, &mut state);
    assert_eq!(
        state.selected_lead().map(|v| v.lead.id),
        Some(first),
        "the selection followed the lead it called"
    );
    assert!(state.selected > 0, "the called lead moved down the queue");
    check_rows(&client, &state, "after the rep's own call");
    press(&client, &mut state, "g j j j");
    let selected = state.selected_lead().expect("a row").lead.id;
    // The same lead changed by the colleague shows its new row at once.
    other
        .log(selected, call())
        .expect("the colleague calls it too");
    catch_up(&client, &mut state);
    let row = state.selected_lead().expect("still selected");
    assert_eq!(row.lead.id, selected);
    let fresh = client.show(selected).expect("show").view;
    assert_eq!(
        row.lead.last_touch, fresh.lead.last_touch,
        "the row is the lead as it is"
    );
    check_rows(&client, &state, "after the colleague's call on it");
    drop((client, other));
    server.stop();
}

/// The rep's own call sends the selected lead out of the window while the reload that follows
/// every write is on its way, and the delta comes first: the selection still follows the lead
/// (as on a 1M store, where the window of 200 rows is a sliver of the hot leads at 100).
#[test]
fn the_selection_follows_a_lead_the_reps_own_call_sends_out_of_the_window() {
    use leadq::tui::app::run_effects;
    use leadq::tui::msg::Effect;
    use leadq::tui::update::update;
    use leadq::tui::workers::Inline;
    let home = common::home::Home::new();
    assert!(home.run(&["demo", "--count", "3000"]).status.success());
    let server = home.server();
    let client = Client::connect(&home.store(), false).expect("connect");
    drop(client.subscribe());
    let mut state = start_state(&client);
    // A small window, so that the call (which sends the lead after the others of its score)
    // moves it out.
    state.rows_wanted = 8;
    press(&client, &mut state, "A g j");
    state.rows_wanted = 8;
    let fx = leadq::tui::update::reload(&mut state);
    let (tx, rx) = std::sync::mpsc::channel();
    let inline = Inline {
        service: &client,
        tx,
    };
    let mut inbox = Vec::new();
    run_effects(&client, &inline, fx, &mut inbox);
    for m in inbox.drain(..).chain(rx.try_iter().collect::<Vec<_>>()) {
        step(&client, &mut state, m);
    }
    assert_eq!(state.rows.len(), 8);
    let lead = state.selected_lead().expect("a row").lead.id;
    // `c 1` and the follow-up skipped: the write runs, its Done asks for the window again...
    let mut pending: Vec<Effect> = Vec::new();
    for key in common::keys("c 1 <enter>") {
        let fx = update(&mut state, Msg::Key(key));
        run_effects(&client, &inline, fx, &mut inbox);
        for m in inbox.drain(..) {
            pending.extend(update(&mut state, m));
        }
    }
    assert!(
        pending.iter().any(|e| matches!(e, Effect::LoadView { .. })),
        "the write asks for the window again: {pending:?}"
    );
    // ...and the delta arrives before that window does.
    client.settle().expect("settle");
    let deltas = client.take_deltas().expect("deltas");
    pending.extend(update(&mut state, Msg::Deltas(deltas)));
    run_effects(&client, &inline, pending, &mut inbox);
    for m in inbox.drain(..).chain(rx.try_iter().collect::<Vec<_>>()) {
        step(&client, &mut state, m);
    }
    assert_eq!(
        state.selected_lead().map(|v| v.lead.id),
        Some(lead),
        "the selection followed the lead out of the window"
    );
    assert!(
        state.window_start > 0,
        "the window moved to where the lead went"
    );
    drop(client);
    server.stop();
}
