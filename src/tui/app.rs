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
use super::workers::Workers;
use crate::service::{LeadService, Local};

pub struct Options {
    pub theme: Theme,
    pub keymap: Keymap,
    /// Problems with the user's theme or keymap files, shown at start-up.
    pub warnings: Vec<String>,
    pub mouse: bool,
}

pub fn run(service: Arc<Local>, opts: Options) -> Result<()> {
    let mut guard = super::terminal::TerminalGuard::new(opts.mouse)?;
    let (tx, rx) = mpsc::channel::<Msg>();
    let workers = Workers::start(Arc::clone(&service), tx.clone());
    let changes = service.subscribe();
    let mut state = State::new(service.settings().user.clone(), opts.keymap, service.now());
    if !opts.warnings.is_empty() {
        state.flash = Some(update::sticky(opts.warnings.join("; "), state.now));
    }
    let mut pending: Vec<Effect> = reload_all(&mut state);
    workers.sources();
    let mut last_tick = Instant::now();
    while !state.quit && !guard.stopped() {
        let mut inbox: Vec<Msg> = Vec::new();
        run_effects(&service, &workers, &state, std::mem::take(&mut pending), &mut inbox);
        for msg in inbox.drain(..) {
            pending.extend(update::update(&mut state, msg));
        }
        if !pending.is_empty() {
            continue;
        }
        let size = guard.terminal.size()?;
        state.page = views::page_rows(size.height);
        guard.terminal.draw(|f| views::render(f, &state, &opts.theme))?;
        let msgs = wait(&rx, &changes, Duration::from_millis(250))?;
        for msg in msgs {
            pending.extend(update::update(&mut state, msg));
        }
        if last_tick.elapsed() >= Duration::from_secs(1) {
            last_tick = Instant::now();
            pending.extend(update::update(&mut state, Msg::Tick(service.now())));
        }
    }
    drop(guard);
    service.store().flush()?;
    Ok(())
}

/// Waits up to `timeout` for a key, then collects what the workers and the change stream
/// sent meanwhile. Changes are coalesced into one reload.
fn wait(rx: &Receiver<Msg>, changes: &Receiver<u64>, timeout: Duration) -> Result<Vec<Msg>> {
    let mut msgs = Vec::new();
    let deadline = Instant::now() + timeout;
    loop {
        while let Ok(m) = rx.try_recv() {
            msgs.push(m);
        }
        if changes.try_iter().count() > 0 {
            msgs.push(Msg::StoreChanged);
        }
        if !msgs.is_empty() {
            // Keys that are already waiting are taken too, so typing stays ahead of drawing.
            while event::poll(Duration::ZERO)? {
                push_event(event::read()?, &mut msgs);
            }
            return Ok(msgs);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(msgs);
        }
        if event::poll(left.min(Duration::from_millis(20)))? {
            push_event(event::read()?, &mut msgs);
            while event::poll(Duration::ZERO)? {
                push_event(event::read()?, &mut msgs);
            }
            return Ok(msgs);
        }
    }
}

fn push_event(e: Event, msgs: &mut Vec<Msg>) {
    // Any other event (a resize) just redraws, which the loop does after every wait.
    if let Event::Key(k) = e {
        msgs.push(Msg::Key(k));
    }
}

fn failed(e: impl std::fmt::Display) -> Msg {
    Msg::Failed(e.to_string())
}

/// Runs effects: loads and searches go to the workers, writes are done here (each is one
/// flushed transaction of a few milliseconds) and their results come back as messages.
fn run_effects(service: &Local, workers: &Workers, state: &State, effects: Vec<Effect>, inbox: &mut Vec<Msg>) {
    for effect in effects {
        let msg = match effect {
            Effect::LoadView { generation, query, first_page } => {
                workers.load(generation, query, first_page);
                continue;
            }
            Effect::Search { generation, query, rows } => {
                workers.search(generation, query, rows, Arc::clone(&state.index));
                continue;
            }
            Effect::LoadDetail(id) => match service.show(id) {
                Ok(d) => Msg::DetailLoaded(Box::new(d)),
                Err(e) => failed(e),
            },
            Effect::Log { lead, entry } => match service.log(lead, entry) {
                Ok(change) => {
                    let key = change.undo.appended.first().copied();
                    let token = change.undo.clone();
                    match key {
                        Some(key) => Msg::done(Done::Logged { change, token, key }),
                        None => failed("the interaction was not recorded"),
                    }
                }
                Err(e) => failed(e),
            },
            Effect::Annotate { key, note } => match service.annotate(key, note) {
                Ok(()) => Msg::done(Done::Annotated),
                Err(e) => failed(e),
            },
            Effect::SetNext { lead, at, join } => changed(service.set_next(lead, at), join),
            Effect::SetStage { lead, stage, reason } => changed(service.set_stage(lead, stage, reason), false),
            Effect::Won(lead) => changed(service.won(lead, None), false),
            Effect::Snooze { lead, until } => changed(service.snooze(lead, until), false),
            Effect::Assign { lead, owner } => changed(service.assign(lead, owner), false),
            Effect::Add(draft) => match service.add(draft) {
                Ok(out) => Msg::done(Done::Added { id: out.id, created: out.created, name: out.name }),
                Err(e) => failed(e),
            },
            Effect::Undo { label, tokens } => {
                let mut result = Msg::done(Done::Undone { label: label.clone() });
                for token in tokens.iter().rev() {
                    if let Err(e) = service.undo(token) {
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

fn changed(result: Result<crate::service::Change, crate::service::ServiceError>, join: bool) -> Msg {
    match result {
        Ok(change) => {
            let token = change.undo.clone();
            Msg::done(Done::Changed { change, token, join })
        }
        Err(e) => failed(e),
    }
}

/// Sends a message to the loop from a worker.
pub fn send(tx: &Sender<Msg>, msg: Msg) {
    let _ = tx.send(msg);
}
