//! The one synchronous loop: draw, wait for a key or a message, `update`, run the effects.
//! Slow work (loading a view of 100k leads, searching it) runs on worker threads that report
//! back on a channel, so the loop never blocks on it.

use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Duration, Instant};

use anyhow::Result;
use ratatui::crossterm::event::{self, Event};

use super::keymap::Keymap;
use super::msg::{Done, Effect, Msg};
use super::state::State;
use super::theme::Theme;
use super::update::{self, reload_all};
use super::views;
use super::workers::{Background, Inline, SearchJob, Workers};
use crate::service::{ANY_LEAD, LeadService, PRESENCE_CHANGED};

pub struct Options {
    pub theme: Theme,
    pub keymap: Keymap,
    /// Problems with the user's theme or keymap files, shown at start-up.
    pub warnings: Vec<String>,
    pub mouse: bool,
    /// Ring the bell when a web lead is routed to this user.
    pub bell: bool,
}

pub fn run(service: Arc<dyn LeadService + Send + Sync>, opts: Options) -> Result<()> {
    let mut guard = super::terminal::TerminalGuard::new(opts.mouse)?;
    let (tx, rx) = mpsc::channel::<Msg>();
    let workers = Workers::start(Arc::clone(&service), tx.clone());
    spawn_input(tx.clone());
    spawn_changes(Arc::clone(&service), tx);
    let mut state = State::new(service.identity().user, opts.keymap, service.now());
    state.manager = service.identity().role == crate::service::Role::Manager;
    state.bell = opts.bell;
    if !opts.warnings.is_empty() {
        state.flash = Some(update::sticky(opts.warnings.join("; "), state.now));
    }
    let mut pending: Vec<Effect> = reload_all(&mut state);
    // The sources (a scan of every lead, ~200 ms at 100k, for the source picker only) are
    // asked for once the first view load is queued: the loader works in order, and the first
    // page of the queue must not wait behind them (benches/README.md, start-up).
    let mut sources_asked = false;
    let mut last_tick = Instant::now();
    while !state.quit && !guard.stopped() {
        let mut inbox: Vec<Msg> = Vec::new();
        run_effects(
            &*service,
            &workers,
            std::mem::take(&mut pending),
            &mut inbox,
        );
        if !std::mem::replace(&mut sources_asked, true) {
            workers.sources();
        }
        for msg in inbox.drain(..) {
            pending.extend(update::update(&mut state, msg));
        }
        if !pending.is_empty() {
            continue;
        }
        let size = match guard.terminal.size() {
            Ok(size) => size,
            Err(_) if hung_up() => break,
            Err(e) => return Err(e.into()),
        };
        state.page = views::page_rows(size.height);
        state.too_small = size.width < views::MIN_WIDTH || size.height < views::MIN_HEIGHT;
        if let Err(e) = guard
            .terminal
            .draw(|f| views::render(f, &state, &opts.theme))
        {
            if hung_up() {
                break;
            }
            return Err(e.into());
        }
        for msg in wait(&rx, Duration::from_millis(250)) {
            pending.extend(update::update(&mut state, msg));
            // A key's writes land before the next key is read: a note typed ahead of the call
            // it amends must find that call logged, not the one before it.
            while !pending.is_empty() {
                run_effects(
                    &*service,
                    &workers,
                    std::mem::take(&mut pending),
                    &mut inbox,
                );
                for msg in inbox.drain(..) {
                    pending.extend(update::update(&mut state, msg));
                }
            }
        }
        if last_tick.elapsed() >= Duration::from_secs(1) {
            last_tick = Instant::now();
            pending.extend(update::update(&mut state, Msg::Tick(service.now())));
            let problem = service.connection_problem();
            pending.extend(update::update(&mut state, Msg::Connection(problem)));
        }
    }
    drop(guard);
    Ok(())
}

/// After a hang-up (a dropped SSH session) every use of the terminal fails, sometimes before
/// the loop sees the SIGHUP flag, and stdout is no longer a terminal: the user has gone, which
/// ends the loop as SIGHUP does rather than as an error.
fn hung_up() -> bool {
    !std::io::IsTerminal::is_terminal(&std::io::stdout())
}

/// Reads the terminal on its own thread. crossterm spins on a closed terminal (a dropped SSH
/// session reads end-of-file forever), so the loop must never sit inside it: the loop waits on
/// the channel and sees the SIGHUP flag within a quarter second.
fn spawn_input(tx: Sender<Msg>) {
    std::thread::spawn(move || {
        loop {
            let mut msgs = Vec::new();
            match event::read() {
                Ok(e) => push_event(e, &mut msgs),
                Err(_) => return,
            }
            for m in msgs {
                if tx.send(m).is_err() {
                    return;
                }
            }
        }
    });
}

/// Forwards the service's change stream into the loop's channel. A change of the store is a
/// reload; a change of who is on what only brings the new presence (reloading the view for
/// every lead a colleague opens would be wasted work); either may be news of the connection.
fn spawn_changes(service: Arc<dyn LeadService + Send + Sync>, tx: Sender<Msg>) {
    let changes = service.subscribe();
    std::thread::spawn(move || {
        while let Ok(first) = changes.recv() {
            // Many changes in a burst (an import) are one reload.
            let (mut store, mut presence, mut many) = (false, false, false);
            for id in std::iter::once(first).chain(changes.try_iter()) {
                if id == PRESENCE_CHANGED {
                    presence = true;
                } else {
                    store = true;
                    many |= id == ANY_LEAD;
                }
            }
            let mut msgs = Vec::new();
            if presence {
                msgs.push(Msg::Presence(service.presence()));
            }
            msgs.push(Msg::Connection(service.connection_problem()));
            if store {
                // A server says what each change means for the window shown; a store in
                // this process does not: the window is read again.
                match service.take_deltas() {
                    Some(list) if !many => msgs.push(Msg::Deltas(list)),
                    _ => msgs.push(Msg::StoreChanged),
                }
            }
            if msgs.into_iter().any(|m| tx.send(m).is_err()) {
                return;
            }
        }
    });
}

/// Waits up to `timeout` for a message, then takes every message already waiting, so typing
/// stays ahead of drawing. Several store changes in one batch are one reload.
fn wait(rx: &Receiver<Msg>, timeout: Duration) -> Vec<Msg> {
    let mut msgs = Vec::new();
    if let Ok(m) = rx.recv_timeout(timeout) {
        msgs.push(m);
        msgs.extend(rx.try_iter());
    }
    let mut seen_change = false;
    msgs.retain(|m| {
        let change = matches!(m, Msg::StoreChanged);
        let keep = !(change && seen_change);
        seen_change |= change;
        keep
    });
    msgs
}

fn push_event(e: Event, msgs: &mut Vec<Msg>) {
    use ratatui::crossterm::event::{MouseButton, MouseEventKind};
    match e {
        Event::Key(k) => msgs.push(Msg::Key(k)),
        Event::Mouse(m) => match m.kind {
            MouseEventKind::ScrollDown => msgs.push(Msg::Action(super::action::Action::Down)),
            MouseEventKind::ScrollUp => msgs.push(Msg::Action(super::action::Action::Up)),
            // The list starts under the header line and the column titles.
            MouseEventKind::Down(MouseButton::Left) if m.row >= 2 => {
                msgs.push(Msg::ClickRow(usize::from(m.row - 2)));
            }
            _ => {}
        },
        Event::Resize(..) => msgs.push(Msg::Resized),
        _ => {}
    }
}

fn failed(e: impl std::fmt::Display) -> Msg {
    Msg::Failed(e.to_string())
}

/// Runs effects: loads and searches go to the workers, writes are done here (each is one
/// flushed transaction of a few milliseconds) and their results come back as messages.
pub fn run_effects(
    service: &dyn LeadService,
    workers: &dyn Background,
    effects: Vec<Effect>,
    inbox: &mut Vec<Msg>,
) {
    for effect in effects {
        let msg = match effect {
            Effect::LoadView {
                generation,
                query,
                window,
            } => {
                workers.load(generation, query, window);
                continue;
            }
            Effect::Search {
                generation,
                text,
                view,
            } => {
                workers.search(SearchJob {
                    generation,
                    text,
                    view,
                });
                continue;
            }
            Effect::Presence(doing) => {
                workers.presence(doing);
                continue;
            }
            Effect::LoadDetail(id) => match service.show(id) {
                Ok(d) => Msg::DetailLoaded(Box::new(d)),
                Err(e) => failed(e),
            },
            Effect::Log { lead, entry } => match service.log(lead, entry) {
                Ok(change) => match change.action {
                    Some(action) => Msg::done(Done::Logged { change, action }),
                    None => failed("the interaction was not recorded"),
                },
                Err(e) => failed(e),
            },
            Effect::Annotate { action, note } => match service.annotate(action, note) {
                Ok(()) => Msg::done(Done::Annotated),
                Err(e) => failed(e),
            },
            Effect::SetNext { lead, at, join } => changed(service.set_next(lead, at), join),
            Effect::SetStage {
                lead,
                stage,
                reason,
            } => changed(service.set_stage(lead, stage, reason), false),
            Effect::Won(lead) => changed(service.won(lead, None), false),
            Effect::Snooze { lead, until } => changed(service.snooze(lead, until), false),
            Effect::Assign { lead, owner } => changed(service.assign(lead, owner), false),
            Effect::Edit { lead, edit } => match service.edit(lead, edit) {
                Ok(change) => changed(Ok(change), false),
                Err(e) => Msg::EditRefused(e.to_string()),
            },
            Effect::Erase(id) => match service.erase(id) {
                Ok(e) => Msg::done(Done::Erased(e.id)),
                Err(e) => failed(e),
            },
            Effect::LoadReport(request) => {
                Msg::ReportLoaded(service.report(&request).map_err(|e| e.to_string()))
            }
            Effect::LoadWaiting => {
                let away = service.away(&crate::service::AwayRequest {
                    user: None,
                    away: None,
                });
                match (service.awaiting(), away) {
                    (Ok(list), Ok(away)) => {
                        Msg::WaitingLoaded(list, away.into_iter().map(|(u, _)| u).collect())
                    }
                    (Err(e), _) | (_, Err(e)) => failed(e),
                }
            }
            Effect::SetAway(away) => match service.away(&crate::service::AwayRequest {
                user: None,
                away: Some(away),
            }) {
                Ok(list) => Msg::AwayNow(list.into_iter().map(|(u, _)| u).collect()),
                Err(e) => failed(e),
            },
            Effect::Bell => {
                use std::io::Write as _;
                let _ = std::io::stdout().write_all(b"\x07");
                let _ = std::io::stdout().flush();
                continue;
            }
            Effect::LoadDupes => match service.dupes(60, 200) {
                Ok(d) => Msg::DupesLoaded(d),
                Err(e) => failed(e),
            },
            Effect::Merge(request) => changed(service.merge(request), false),
            Effect::NotDupes(a, b) => match service.not_dupes(a, b) {
                Ok(()) => Msg::done(Done::NotDupes(a, b)),
                Err(e) => failed(e),
            },
            Effect::LoadTags => match service.tags() {
                Ok(tags) => Msg::TagsLoaded(tags),
                Err(e) => failed(e),
            },
            Effect::Add(draft) => match service.add(draft) {
                Ok(out) => Msg::done(Done::Added {
                    id: out.id,
                    created: out.created,
                    name: out.name,
                }),
                Err(e) => failed(e),
            },
            Effect::Undo { label, actions } => {
                let mut result = Msg::done(Done::Undone {
                    label: label.clone(),
                });
                for action in actions.iter().rev() {
                    if let Err(e) = service.undo(*action) {
                        result = failed(format!("cannot undo {label}: {e}"));
                        break;
                    }
                }
                result
            }
            Effect::LoadDemo => match service.demo(200, 1) {
                Ok(r) => {
                    workers.sources();
                    Msg::done(Done::DemoLoaded { leads: r.leads })
                }
                Err(e) => failed(e),
            },
        };
        inbox.push(msg);
    }
}

fn changed(
    result: Result<crate::service::Change, crate::service::ServiceError>,
    join: bool,
) -> Msg {
    match result {
        Ok(change) => match change.action {
            Some(action) => Msg::done(Done::Changed {
                change,
                action,
                join,
            }),
            None => failed("the change cannot be undone"),
        },
        Err(e) => failed(e),
    }
}

/// Sends a message to the loop from a worker.
pub fn send(tx: &Sender<Msg>, msg: Msg) {
    let _ = tx.send(msg);
}

/// Feeds `msg` to `update` and runs every effect it leads to, inline, until the state is
/// quiet: what the app does for one input, without a terminal or threads. Flow tests and
/// render tests drive the TUI with it.
pub fn step(service: &dyn LeadService, state: &mut State, msg: Msg) {
    let (tx, rx) = mpsc::channel();
    let inline = Inline { service, tx };
    let mut queue = vec![msg];
    while !queue.is_empty() {
        for m in std::mem::take(&mut queue) {
            let effects = update::update(state, m);
            let mut inbox = Vec::new();
            run_effects(service, &inline, effects, &mut inbox);
            queue.extend(inbox);
            queue.extend(rx.try_iter());
        }
    }
}

/// A state for `service`'s user with the default keymap, loaded as the app starts.
pub fn start_state(service: &dyn LeadService) -> State {
    let mut state = State::new(service.identity().user, Keymap::defaults(), service.now());
    state.manager = service.identity().role == crate::service::Role::Manager;
    let (tx, rx) = mpsc::channel();
    let inline = Inline { service, tx };
    inline.sources();
    let effects = reload_all(&mut state);
    let mut inbox = Vec::new();
    run_effects(service, &inline, effects, &mut inbox);
    inbox.extend(rx.try_iter());
    for m in inbox {
        step(service, &mut state, m);
    }
    state
}
