//! Team mode end to end: a real `leadq serve` process on a temporary store, and its clients as
//! `Client`s in this process, as `leadq` commands, as raw sockets that misbehave, as a TUI in a
//! pseudo-terminal, and (when the machine lets the test create Unix users) as other Unix users.
//!
//! Every run is deterministic: a fixed clock (`LEADQ_NOW`), UTC, and private HOME and XDG
//! folders in a temporary folder. Nothing sleeps for a guessed time: waits poll a condition or
//! a channel with a bound. Every server a test starts is stopped by the test (SIGTERM, SIGKILL
//! or its idle exit); should a test fail half-way, its `Home` kills any server still running
//! for its folder, and servers also carry an idle exit, so none outlives the run.

mod common;

use common::home::{BIN, Home};
use common::server::{LIMIT, POLL, servers_under, wait_until};
use common::team::{MANAGER, OUTSIDER, REP1, REP2, STRANGER, TeamSetup, require_team_users};

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Barrier, Mutex};
use std::time::Instant;

use leadq::domain::{Kind, LeadId, NewLead, Outcome, Stage};
use leadq::remote::client::Client;
use leadq::remote::protocol::{Hello, PROTOCOL, Welcome, read_frame, write_frame};
use leadq::remote::server::socket_path;
use leadq::service::{ANY_LEAD, Change, LeadService, LogEntry, PRESENCE_CHANGED, Query};
use portable_pty::{CommandBuilder, PtySize, native_pty_system};

fn lead(name: &str, email: &str) -> NewLead {
    NewLead {
        name: name.into(),
        email: Some(email.into()),
        ..NewLead::default()
    }
}

fn note(text: &str) -> LogEntry {
    LogEntry {
        kind: Kind::Note,
        outcome: None,
        note: Some(text.into()),
        at: None,
        next_action: None,
        duration_secs: None,
    }
}

/// The notes on a lead's timeline, oldest first.
fn notes(client: &Client, id: LeadId) -> Vec<String> {
    let mut timeline = client.show(id).expect("show").timeline;
    timeline.reverse();
    timeline
        .into_iter()
        .filter(|i| i.kind == Kind::Note)
        .map(|i| i.note.unwrap_or_default())
        .collect()
}

impl Home {
    fn client(&self) -> Client {
        Client::connect(&self.store(), false).expect("connect to the server")
    }
}

/// Counts the lead ids a subscription delivers (presence pings aside) until `enough` holds or
/// `LIMIT` passes, then takes whatever else is already waiting.
fn collect_events(
    rx: &Receiver<LeadId>,
    enough: impl Fn(&HashMap<LeadId, usize>) -> bool,
) -> HashMap<LeadId, usize> {
    let mut counts = HashMap::new();
    let deadline = Instant::now() + LIMIT;
    while !enough(&counts) {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(PRESENCE_CHANGED) => {}
            Ok(id) => *counts.entry(id).or_insert(0) += 1,
            Err(_) => break,
        }
    }
    for id in rx.try_iter().filter(|id| *id != PRESENCE_CHANGED) {
        *counts.entry(id).or_insert(0) += 1;
    }
    counts
}

/// A subscriber hears of the changes to the leads of the window it holds (and of those that
/// move its numbers): this one holds a window of every lead, so it hears of each change.
fn hold_everything(client: &Client) {
    let all = Query {
        all: true,
        ..Query::default()
    };
    client
        .page(&all, leadq::service::Window::rows(0, 100_000))
        .expect("a window of every lead");
}

fn covers(got: &HashMap<LeadId, usize>, want: &HashMap<LeadId, usize>) -> bool {
    want.iter()
        .all(|(id, n)| got.get(id).copied().unwrap_or(0) >= *n)
}

// ---------------------------------------------------------------------------------------------
// Several clients at once

/// What one client asked for in the concurrent test.
enum Op {
    Note(LeadId, String),
    Assign(LeadId, String),
    Stage(LeadId, Stage),
}

impl Op {
    fn lead(&self) -> LeadId {
        match self {
            Op::Note(id, _) | Op::Assign(id, _) | Op::Stage(id, _) => *id,
        }
    }

    fn run(&self, c: &Client) -> Result<Change, String> {
        let r = match self {
            Op::Note(id, text) => c.log(*id, note(text)),
            Op::Assign(id, owner) => c.assign(*id, Some(owner.clone())),
            Op::Stage(id, stage) => c.set_stage(*id, *stage, None),
        };
        r.map_err(|e| e.to_string())
    }
}

/// The system events of one outcome on a lead's timeline, oldest first, as (from, to) pairs of
/// their "[owner ]from -> to" notes.
fn transitions(client: &Client, id: LeadId, outcome: Outcome) -> Vec<(String, String)> {
    let mut timeline = client.show(id).expect("show").timeline;
    timeline.reverse();
    timeline
        .into_iter()
        .filter(|i| i.outcome == Some(outcome))
        .map(|i| {
            let text = i.note.unwrap_or_default();
            let text = text.strip_prefix("owner ").unwrap_or(&text);
            let (from, to) = text.split_once(" -> ").expect("a from -> to note");
            (from.to_string(), to.to_string())
        })
        .collect()
}

/// Each transition starts where the previous one ended: no change was applied over a stale
/// copy of the lead.
fn assert_chain(what: &str, chain: &[(String, String)], first: &str, last: &str) {
    assert!(!chain.is_empty(), "no {what} changes on the timeline");
    assert_eq!(chain[0].0, first, "the first {what} change: {chain:?}");
    for w in chain.windows(2) {
        assert_eq!(w[0].1, w[1].0, "{what} changes out of order: {chain:?}");
    }
    assert_eq!(
        chain[chain.len() - 1].1,
        last,
        "the last {what} change: {chain:?}"
    );
}

#[test]
fn eight_clients_writing_at_once_lose_nothing_and_each_hears_every_change() {
    const CLIENTS: usize = 8;
    const WRITES: usize = 25;
    const STAGES: [Stage; 4] = [
        Stage::Contacted,
        Stage::Qualified,
        Stage::Opportunity,
        Stage::Nurture,
    ];
    let home = Home::new();
    let server = home.server();
    let admin = home.client();
    let before = admin.subscribe();
    hold_everything(&admin);
    let leads: Vec<LeadId> = (0..4)
        .map(|k| {
            let l = lead(&format!("Shared {k}"), &format!("shared{k}@x.example"));
            admin.add(l).expect("add").id
        })
        .collect();
    // Once the adds have been fanned out, no late event of theirs can reach the clients below.
    let added: HashMap<LeadId, usize> = leads.iter().map(|id| (*id, 1)).collect();
    let seen = collect_events(&before, |c| covers(c, &added));
    assert!(
        covers(&seen, &added),
        "the adds were not announced: {seen:?}"
    );

    // Three leads take notes from everyone; the fourth takes owner and stage changes.
    let (noted, managed) = (&leads[..3], leads[3]);
    let plan: Vec<Vec<Op>> = (0..CLIENTS)
        .map(|i| {
            (0..WRITES)
                .map(|j| match (j % 5, i % 2) {
                    (4, 0) => Op::Assign(managed, format!("rep{i}-{j}")),
                    (4, _) => Op::Stage(managed, STAGES[(i + j) % STAGES.len()]),
                    _ => Op::Note(noted[(i + j) % noted.len()], format!("c{i}-n{j}")),
                })
                .collect()
        })
        .collect();
    let clients: Vec<Client> = (0..CLIENTS).map(|_| home.client()).collect();
    let events: Vec<Receiver<LeadId>> = clients.iter().map(Client::subscribe).collect();
    clients.iter().for_each(hold_everything);
    let barrier = Barrier::new(CLIENTS);
    let results: Vec<Vec<Result<Change, String>>> = std::thread::scope(|s| {
        let writers: Vec<_> = clients
            .iter()
            .zip(&plan)
            .map(|(c, ops)| {
                let barrier = &barrier;
                s.spawn(move || {
                    barrier.wait();
                    ops.iter().map(|op| op.run(c)).collect::<Vec<_>>()
                })
            })
            .collect();
        writers
            .into_iter()
            .map(|w| w.join().expect("a writer thread"))
            .collect()
    });

    let ops: Vec<(&Op, &Result<Change, String>)> = plan
        .iter()
        .flatten()
        .zip(results.iter().flatten())
        .collect();
    let failed: Vec<_> = ops.iter().filter_map(|(_, r)| r.as_ref().err()).collect();
    assert!(failed.is_empty(), "writes refused: {failed:?}");

    // Every note is on its lead's timeline once: two clients on one lead both land.
    for id in noted {
        let mut want: Vec<String> = ops
            .iter()
            .filter_map(|(op, _)| match op {
                Op::Note(l, text) if l == id => Some(text.clone()),
                _ => None,
            })
            .collect();
        let mut got = notes(&admin, *id);
        want.sort();
        got.sort();
        assert_eq!(got, want, "the notes on lead {id}");
    }

    // Owner and stage changes were applied one after another, each on the result of the last.
    let detail = admin.show(managed).expect("show").view.lead;
    let owners = transitions(&admin, managed, Outcome::OwnerChanged);
    let owner = detail.owner.clone().expect("an owner");
    assert_chain("owner", &owners, "(unassigned)", &owner);
    let mut assigned: Vec<&str> = ops
        .iter()
        .filter_map(|(op, _)| match op {
            Op::Assign(_, o) => Some(o.as_str()),
            _ => None,
        })
        .collect();
    let mut landed: Vec<&str> = owners.iter().map(|(_, to)| to.as_str()).collect();
    assigned.sort();
    landed.sort();
    assert_eq!(landed, assigned, "every assignment is on the timeline once");
    let stages = transitions(&admin, managed, Outcome::StageChanged);
    assert_chain("stage", &stages, "new", detail.stage.name());
    let moved = ops
        .iter()
        .filter(|(op, r)| {
            let change = r.as_ref().expect("checked above");
            if let Op::Stage(_, s) = op {
                assert_eq!(change.stage_after, *s, "a stage change not applied");
            }
            matches!(op, Op::Stage(..)) && change.stage_before != change.stage_after
        })
        .count();
    assert_eq!(stages.len(), moved, "one stage event per stage that moved");

    // Every client heard of every change (all of them may see every lead here).
    let mut want: HashMap<LeadId, usize> = HashMap::new();
    for (op, _) in &ops {
        *want.entry(op.lead()).or_insert(0) += 1;
    }
    for (i, rx) in events.iter().enumerate() {
        let got = collect_events(rx, |c| covers(c, &want));
        assert_eq!(
            got, want,
            "the changes client {i} heard of (lead id: count)"
        );
    }
    drop((clients, admin));
    server.stop();
}

// ---------------------------------------------------------------------------------------------
// SIGKILL during a stream of writes

#[test]
fn writes_acknowledged_before_a_sigkill_of_the_server_are_there_after_a_restart() {
    const WRITERS: usize = 3;
    /// How many acknowledgements each round waits for before the kill: from "at once" to "deep
    /// into the stream".
    const KILL_AFTER: [usize; 5] = [0, 5, 23, 1, 40];
    let home = Home::new();
    let mut server = home.server();
    let targets: Vec<LeadId> = {
        let c = home.client();
        let ids = (0..2).map(|k| {
            let l = lead(&format!("Target {k}"), &format!("target{k}@x.example"));
            c.add(l).expect("add").id
        });
        ids.collect()
    };
    // Per round and writer: how many of its notes were acknowledged.
    let mut acked: Vec<Vec<usize>> = Vec::new();
    for (round, kill_after) in KILL_AFTER.into_iter().enumerate() {
        let clients: Vec<Client> = (0..WRITERS).map(|_| home.client()).collect();
        let total = AtomicUsize::new(0);
        let counts: Vec<usize> = std::thread::scope(|s| {
            let writers: Vec<_> = clients
                .iter()
                .enumerate()
                .map(|(w, c)| {
                    let (total, target) = (&total, targets[w % targets.len()]);
                    s.spawn(move || {
                        // Writes until the server is gone; counts those it acknowledged.
                        let mut k = 0;
                        while c.log(target, note(&format!("r{round}-w{w}-{k}"))).is_ok() {
                            k += 1;
                            total.fetch_add(1, Ordering::SeqCst);
                        }
                        k
                    })
                })
                .collect();
            wait_until(&format!("{kill_after} acknowledged writes"), || {
                total.load(Ordering::SeqCst) >= kill_after
            });
            server.kill9();
            writers
                .into_iter()
                .map(|w| w.join().expect("a writer thread"))
                .collect()
        });
        acked.push(counts);
        server = home.server();
        check_acknowledged(&home.client(), &targets, &acked, WRITERS);
    }
    eprintln!("writes acknowledged before each kill, per writer: {acked:?}");
    let total: usize = acked.iter().flatten().sum();
    assert!(total >= KILL_AFTER.iter().sum::<usize>(), "{acked:?}");
    server.stop();
}

/// Every acknowledged note is on its lead's timeline once, in the order it was written; of
/// the notes written when the server died, at most the one in flight per writer landed.
fn check_acknowledged(c: &Client, targets: &[LeadId], acked: &[Vec<usize>], writers: usize) {
    let mut on_timeline: HashMap<String, Vec<usize>> = HashMap::new();
    for id in targets {
        for n in notes(c, *id) {
            let (who, k) = n.rsplit_once('-').expect("r<round>-w<writer>-<k>");
            let k: usize = k.parse().expect("a number");
            on_timeline.entry(who.to_string()).or_default().push(k);
        }
    }
    for (round, counts) in acked.iter().enumerate() {
        for (w, acked) in counts.iter().enumerate().take(writers) {
            let got = on_timeline
                .remove(&format!("r{round}-w{w}"))
                .unwrap_or_default();
            let upto: Vec<usize> = (0..got.len()).collect();
            assert_eq!(
                got, upto,
                "round {round} writer {w}: notes lost, doubled or out of order"
            );
            assert!(
                got.len() == *acked || got.len() == acked + 1,
                "round {round} writer {w}: {acked} acknowledged, {} on the timeline",
                got.len()
            );
        }
    }
    assert!(
        on_timeline.is_empty(),
        "notes nobody wrote: {on_timeline:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// The protocol: bad frames and the handshake

/// A raw connection to the server; with `handshake`, past a correct Hello.
fn raw(socket: &Path, handshake: bool) -> UnixStream {
    let mut s = UnixStream::connect(socket).expect("connect");
    s.set_read_timeout(Some(LIMIT)).expect("read timeout");
    if handshake {
        let hello = Hello {
            protocol: PROTOCOL,
            version: "raw".into(),
        };
        write_frame(&mut s, &hello).expect("send hello");
        let welcome: Welcome = read_frame(&mut s).expect("welcome");
        assert!(matches!(welcome, Welcome::Accepted { .. }), "{welcome:?}");
    }
    s
}

/// The server hangs up on `s`: a read ends (rather than waiting for more).
fn assert_hung_up(s: &mut UnixStream, what: &str) {
    let mut buf = [0u8; 64];
    match s.read(&mut buf) {
        Ok(0) => {}
        Ok(n) => panic!("{what}: the server answered {:?}", &buf[..n]),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("{what}: the server kept the connection open ({e})"),
    }
}

/// A length prefix of `len` followed by `body` (which may be shorter, for a cut-short frame).
fn frame(len: u32, body: &[u8]) -> Vec<u8> {
    let mut out = len.to_be_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

fn whole(body: &[u8]) -> Vec<u8> {
    frame(u32::try_from(body.len()).expect("small"), body)
}

#[test]
fn garbage_oversized_and_half_frames_cost_only_their_own_connection() {
    let home = Home::new();
    let mut server = home.server();
    let socket = socket_path(&home.store());
    let id = home
        .client()
        .add(lead("Steady", "steady@x.example"))
        .expect("add")
        .id;
    // (what, bytes, whether the sender then closes its side)
    let cases: Vec<(&str, Vec<u8>, bool)> = vec![
        (
            "text instead of a frame",
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            false,
        ),
        ("length 0xFFFFFFFF", vec![0xFF; 4], false),
        (
            "bytes that are not JSON",
            whole(b"\x00\x01not json \xff"),
            false,
        ),
        (
            "JSON of the wrong message",
            whole(br#"{"protocol":"x"}"#),
            false,
        ),
        ("an empty frame", whole(b""), false),
        (
            "a length of 100, 10 bytes, then the end",
            frame(100, b"0123456789"),
            true,
        ),
    ];
    // A client that stalls half-way through a frame and stays connected holds up nobody.
    let mut stalled = raw(&socket, true);
    stalled
        .write_all(&frame(100, b"0123456789"))
        .expect("write");

    let stop = AtomicBool::new(false);
    let answered = AtomicUsize::new(0);
    let good = home.client();
    std::thread::scope(|s| {
        let writer = s.spawn(|| {
            let mut k = 0;
            while !stop.load(Ordering::SeqCst) {
                let r = good.log(id, note(&format!("good-{k}")));
                r.unwrap_or_else(|e| panic!("the good client's note {k} was refused: {e}"));
                k += 1;
                answered.store(k, Ordering::SeqCst);
            }
        });
        for handshake in [false, true] {
            for (what, bytes, half_close) in &cases {
                let what = format!(
                    "{what} ({} the handshake)",
                    if handshake { "after" } else { "before" }
                );
                let mut bad = raw(&socket, handshake);
                let at_start = answered.load(Ordering::SeqCst);
                bad.write_all(bytes).expect("write");
                if *half_close {
                    bad.shutdown(std::net::Shutdown::Write).expect("half-close");
                }
                assert_hung_up(&mut bad, &what);
                // The same garbage, closed at once by its sender.
                raw(&socket, handshake).write_all(bytes).expect("write");
                wait_until(
                    &format!("the good client to be answered after {what}"),
                    || answered.load(Ordering::SeqCst) > at_start + 1,
                );
            }
        }
        stop.store(true, Ordering::SeqCst);
        writer.join().expect("the good client's thread");
    });
    assert!(server.running(), "the server went down");
    let sent = answered.load(Ordering::SeqCst);
    let want: Vec<String> = (0..sent).map(|k| format!("good-{k}")).collect();
    assert_eq!(notes(&good, id), want, "the good client's notes");
    drop((stalled, good));
    server.stop();
}

#[test]
fn a_client_of_another_protocol_is_refused_with_both_versions_named() {
    let home = Home::new();
    let server = home.server();
    let mut s = UnixStream::connect(socket_path(&home.store())).expect("connect");
    s.set_read_timeout(Some(LIMIT)).expect("read timeout");
    let hello = Hello {
        protocol: 4242,
        version: "9.9.9".into(),
    };
    write_frame(&mut s, &hello).expect("send hello");
    let welcome: Welcome = read_frame(&mut s).expect("an answer");
    let Welcome::Refused { reason } = welcome else {
        panic!("a client of protocol 4242 was let in: {welcome:?}");
    };
    for part in [
        format!("protocol {PROTOCOL}"),
        "4242".to_string(),
        format!("leadq {}", env!("CARGO_PKG_VERSION")),
        "leadq 9.9.9".to_string(),
    ] {
        assert!(reason.contains(&part), "{part:?} not in {reason:?}");
    }
    assert_hung_up(&mut s, "a refused client");
    // A client of the right protocol still gets in.
    let stats = home.client().stats().expect("stats");
    assert_eq!(stats.leads, 0);
    server.stop();
}

// ---------------------------------------------------------------------------------------------
// Zero setup: the TUI starts a server, the CLI uses it, and it goes away by itself

fn nz(n: u16) -> std::num::NonZeroU16 {
    std::num::NonZeroU16::new(n).expect("not zero")
}

/// `leadq` (the TUI) in a pseudo-terminal; killed when dropped if it still runs.
struct Tui {
    screen: Arc<Mutex<vt100::Parser>>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
}

impl Tui {
    fn start(home: &Home, extra_env: &[(&str, &str)]) -> Tui {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows: 24,
                cols: 100,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("open a pty");
        let mut cmd = CommandBuilder::new(BIN);
        cmd.env_clear();
        for (k, v) in home.env() {
            cmd.env(k, v);
        }
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        cmd.env("TERM", "xterm-256color");
        cmd.cwd(home.path());
        let child = pair.slave.spawn_command(cmd).expect("start the TUI");
        drop(pair.slave);
        let screen = Arc::new(Mutex::new(vt100::Parser::new(nz(24), nz(100), 0)));
        let mut reader = pair.master.try_clone_reader().expect("pty reader");
        let shared = Arc::clone(&screen);
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                shared
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .process(&buf[..n]);
            }
        });
        let writer = pair.master.take_writer().expect("pty writer");
        Tui {
            screen,
            writer,
            child,
        }
    }

    fn text(&self) -> String {
        self.screen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .screen()
            .contents()
    }

    fn wait_for(&mut self, text: &str) {
        let start = Instant::now();
        while !self.text().contains(text) {
            let exited = self.child.try_wait().expect("poll the TUI");
            assert!(
                exited.is_none() && start.elapsed() < LIMIT,
                "waited for {text:?} (TUI exited: {exited:?}); the screen:\n{}",
                self.text()
            );
            std::thread::sleep(POLL);
        }
    }

    fn quit(&mut self) {
        self.writer.write_all(b"q").expect("type q");
        self.writer.flush().expect("flush");
        let start = Instant::now();
        while self.child.try_wait().expect("poll the TUI").is_none() {
            assert!(
                start.elapsed() < LIMIT,
                "the TUI did not quit on q; the screen:\n{}",
                self.text()
            );
            std::thread::sleep(POLL);
        }
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[test]
fn the_tui_starts_a_server_that_the_cli_uses_and_that_leaves_when_everyone_has() {
    let home = Home::new();
    let socket = socket_path(&home.store());
    home.cli(&["add", "--name", "Ann Seed", "--email", "ann@seed.example"]);
    assert!(!socket.exists(), "a CLI command left a server behind");

    let mut tui = Tui::start(&home, &[("LEADQ_SERVER_IDLE", "1")]);
    tui.wait_for("Ann Seed");
    wait_until("the server the TUI started", || {
        UnixStream::connect(&socket).is_ok()
    });
    assert_eq!(
        servers_under(home.path()).len(),
        1,
        "one server for the store"
    );
    let watcher = home.client();
    let changes = watcher.subscribe();

    // The store is the server's now: the import can only have gone through it.
    let csv = home.path().join("leads.csv");
    std::fs::write(&csv, "name,email\nZed Imported,zed@import.example\n").expect("csv");
    let out = home.cli(&["import", &csv.display().to_string()]);
    assert!(out.contains("imported"), "{out}");
    let heard = collect_events(&changes, |c| c.contains_key(&ANY_LEAD));
    assert_eq!(
        heard.get(&ANY_LEAD),
        Some(&1),
        "an import is one 'many leads' event: {heard:?}"
    );
    tui.wait_for("Zed Imported");

    tui.quit();
    drop(changes);
    drop(watcher);
    wait_until("the idle server to remove its socket", || !socket.exists());
    wait_until("the idle server to exit", || {
        servers_under(home.path()).is_empty()
    });
    let log = std::fs::read_to_string(home.path().join("state/leadq/server.log")).expect("log");
    assert!(log.contains("exiting: no client for 1s"), "{log}");
}

// ---------------------------------------------------------------------------------------------
// Team mode as real Unix users (the machine must let the test create them)

fn set(ids: &[u64]) -> BTreeSet<u64> {
    ids.iter().copied().collect()
}

#[test]
fn in_a_team_reps_work_their_own_leads_and_the_pool_and_managers_everything() {
    require_team_users!();
    let team = TeamSetup::new();
    let server = team.server();
    for (name, email) in [
        ("Ann Rep1", "ann@t.example"),
        ("Bob Rep2", "bob@t.example"),
        ("Cy Pool", "cy@t.example"),
        ("Dee Pool", "dee@t.example"),
    ] {
        team.ok(MANAGER, &["add", "--name", name, "--email", email]);
    }
    team.ok(MANAGER, &["assign", "1", REP1]);
    team.ok(MANAGER, &["assign", "2", REP2]);
    assert_eq!(
        team.ids(MANAGER, &["list", "--all", "--format", "json"]),
        set(&[1, 2, 3, 4])
    );
    assert_eq!(
        team.ids(REP1, &["list", "--all", "--format", "json"]),
        set(&[1, 3, 4])
    );
    assert_eq!(
        team.ids(REP1, &["export", "--format", "json"]),
        set(&[1, 3, 4])
    );
    assert_eq!(
        team.ids(REP2, &["export", "--format", "json"]),
        set(&[2, 3, 4])
    );

    // Another rep's lead is refused, whatever the rep tries, and stays as it was.
    let before = team.json(MANAGER, &["export", "--format", "json"]);
    let theirs = "#2 belongs to lq_rep2";
    team.refused(REP1, &["show", "2"], theirs);
    team.refused(REP1, &["log", "2", "call", "--note", "sneaky"], theirs);
    team.refused(REP1, &["assign", "2", REP1], theirs);
    team.refused(REP1, &["stage", "2", "qualified"], theirs);
    team.refused(REP1, &["won", "2"], theirs);
    // Giving leads to other people is a manager's job.
    team.refused(REP1, &["assign", "3", REP2], "only a manager");
    team.refused(
        REP1,
        &[
            "serve",
            "--stop",
            "--team",
            &team.dir().display().to_string(),
        ],
        "only a manager",
    );
    assert_eq!(team.json(MANAGER, &["export", "--format", "json"]), before);

    // `doctor` run by a rep names the log of the server that runs (in the state folder of the
    // admin who runs it), not where the rep's own account would log.
    let doctor = team.leadq(REP1, &["doctor"]);
    let report = String::from_utf8_lossy(&doctor.stdout);
    let admin_log = team.home.path().join("state/leadq/server.log");
    assert!(
        report.contains(&format!("server log {}", admin_log.display())),
        "{report}"
    );
    assert!(
        report.contains("from the server's last full check"),
        "a rep hears how old the check is: {report}"
    );

    // A rep takes a lead from the pool; it is theirs alone from then on.
    team.ok(REP1, &["assign", "3", REP1]);
    let cy = team.json(MANAGER, &["show", "3", "--format", "json"]);
    assert_eq!(cy["owner"], REP1);
    let took = (REP1.to_string(), format!("owner (unassigned) -> {REP1}"));
    assert!(team.authors(3).contains(&took), "{:?}", team.authors(3));
    team.refused(REP2, &["show", "3"], "#3 belongs to lq_rep1");

    // Two reps log on one pool lead at the same moment: both land, each under their real name
    // (both say USER=liar).
    let both: Vec<Child> = [(REP1, "from rep1"), (REP2, "from rep2")]
        .into_iter()
        .map(|(user, text)| {
            let mut cmd = team.as_user(user, BIN);
            cmd.arg("--db").arg(team.dir());
            cmd.args(["log", "4", "call", "--outcome", "no-answer", "--note", text]);
            cmd.stdout(Stdio::null()).spawn().expect("start leadq log")
        })
        .collect();
    for mut child in both {
        assert!(
            child.wait().expect("wait").success(),
            "a concurrent log failed"
        );
    }
    team.ok(REP1, &["log", "1", "note", "--note", "mine"]);
    team.ok(MANAGER, &["log", "1", "note", "--note", "the manager's"]);
    let dee = team.authors(4);
    for (user, text) in [(REP1, "from rep1"), (REP2, "from rep2")] {
        assert!(dee.contains(&(user.into(), text.into())), "{dee:?}");
    }
    let ann = team.authors(1);
    assert!(ann.contains(&(REP1.into(), "mine".into())), "{ann:?}");
    assert!(
        ann.contains(&(MANAGER.into(), "the manager's".into())),
        "{ann:?}"
    );
    assert!(
        !ann.iter().chain(&dee).any(|(a, _)| a == "liar"),
        "an author taken from $USER"
    );

    // A manager assigns anything to anyone.
    team.ok(MANAGER, &["assign", "4", REP2]);
    assert_eq!(
        team.ids(REP2, &["export", "--format", "json"]),
        set(&[2, 4])
    );
    assert_eq!(
        team.ids(REP1, &["export", "--format", "json"]),
        set(&[1, 3])
    );

    // People outside the team: in the group but not in the team file, or not even in the group.
    team.refused(OUTSIDER, &["list"], "lq_out1 is not a member of this team");
    team.refused(STRANGER, &["list"], "Permission denied");
    // Members reach the server, not the store's files.
    for entry in std::fs::read_dir(team.dir()).expect("read the team folder") {
        let path = entry.expect("an entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name == "team.toml" || name == "leadq.sock" {
            continue;
        }
        let readable = team
            .as_user(REP1, "/usr/bin/test")
            .arg("-r")
            .arg(&path)
            .status()
            .expect("run test");
        assert!(
            !readable.success(),
            "a rep can read the store's file {}",
            path.display()
        );
    }
    let csv = team.home.path().join("one.csv");
    std::fs::write(&csv, "name,email\nEve New,eve@t.example\n").expect("csv");
    team.refused(
        REP1,
        &["import", &csv.display().to_string()],
        "only a manager",
    );
    drop(server);
}

#[test]
fn in_a_team_the_admin_backs_up_and_stops_the_server_and_a_manager_cannot_write_as_root() {
    require_team_users!();
    let team = TeamSetup::new();
    let mut server = team.server();
    team.ok(
        MANAGER,
        &["add", "--name", "Ann Team", "--email", "ann@t.example"],
    );

    // The server runs as root: a manager must not get it to write where only root may.
    let vault = team.home.path().join("root-only");
    std::fs::create_dir(&vault).expect("mkdir");
    std::fs::set_permissions(&vault, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let target = vault.join("backup.lqb");
    let out = team.leadq(MANAGER, &["backup", &target.display().to_string()]);
    assert!(
        !out.status.success(),
        "a manager had root write {}",
        target.display()
    );
    assert!(
        !target.exists(),
        "a manager had root write {}",
        target.display()
    );
    assert!(
        std::fs::read_dir(&vault).expect("read").next().is_none(),
        "something was written in the root-only folder"
    );

    // The admin who runs the server (root, not a team member) backs up, checks and stops it.
    let dir = team.dir().display().to_string();
    let out = team
        .home
        .cli(&["--db", &dir, "backup", &target.display().to_string()]);
    assert!(out.contains("backed up"), "{out}");
    assert!(target.exists());
    let out = team.home.run(&["--db", &dir, "doctor"]);
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{report}");
    assert!(
        report.contains("a leadq server runs for this store"),
        "{report}"
    );
    team.home.cli(&["serve", "--stop", "--team", &dir]);
    let status = server.wait_exit();
    assert!(status.success(), "{status:?}");
}

#[test]
fn a_private_store_refuses_other_unix_users() {
    require_team_users!();
    let home = Home::new();
    std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o711)).expect("chmod");
    let team = TeamSetup { home };
    let server = team.home.server();
    team.home
        .cli(&["add", "--name", "Ann Private", "--email", "ann@p.example"]);
    let store = team.home.store();
    let socket = socket_path(&store);
    let mode = |p: &Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode(&store), 0o700, "the store folder");
    assert_eq!(mode(&socket), 0o600, "the socket");
    let before = team.home.cli(&["export", "--format", "json"]);
    let other = |args: &[&str]| {
        let mut cmd = team.as_user(REP1, BIN);
        cmd.arg("--db").arg(&store).args(args);
        let out = assert_cmd::Command::from_std(cmd)
            .timeout(LIMIT)
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(1), "another user got in: {out:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };

    // The folder keeps them out; so does the socket alone; so does the server alone.
    let err = other(&["list"]);
    assert!(err.contains("Permission denied"), "{err}");
    std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o711)).expect("chmod");
    let err = other(&["log", "1", "note", "--note", "intruder"]);
    assert!(err.contains("Permission denied"), "{err}");
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    let err = other(&["list"]);
    assert!(
        err.contains("refused: this store is private to tester"),
        "{err}"
    );
    std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    assert_eq!(team.home.cli(&["export", "--format", "json"]), before);
    server.stop();
}

// Events in a team: each member hears of the changes they may see.

/// Not a test by itself: the body of the watcher process `Watcher` starts as another Unix user
/// (this test binary, with LEADQ_TEST_WATCH naming a store). It subscribes, prints who the
/// server says it is and every change it hears, and ends when its input closes. Run normally,
/// without that variable, it returns at once.
#[test]
fn watcher_process() {
    let Ok(store) = std::env::var("LEADQ_TEST_WATCH") else {
        return;
    };
    let client = Client::connect(Path::new(&store), false).expect("connect");
    let changes = client.subscribe();
    // It holds a window of every lead it may see: each change to one is news to it.
    hold_everything(&client);
    let who = client.identity();
    println!("WATCH ready {} {}", who.user, who.role.name());
    let (closed_tx, closed) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
        let _ = closed_tx.send(());
    });
    while closed.try_recv().is_err() {
        match changes.recv_timeout(POLL) {
            Ok(PRESENCE_CHANGED) | Err(mpsc::RecvTimeoutError::Timeout) => {}
            Ok(id) => println!("WATCH changed {id}"),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
}

/// A subscribed client running as another Unix user (see `watcher_process`).
struct Watcher {
    child: Child,
    lines: Receiver<String>,
    who: String,
}

impl Watcher {
    fn start(team: &TeamSetup, user: &str) -> Watcher {
        let exe = std::env::current_exe().expect("the test binary");
        let mut cmd = team.as_user(user, &exe.display().to_string());
        cmd.args([
            "--exact",
            "watcher_process",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("LEADQ_TEST_WATCH", team.dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
        let mut child = cmd.spawn().expect("start a watcher");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some((_, said)) = line.split_once("WATCH ") {
                    if tx.send(said.to_string()).is_err() {
                        break;
                    }
                }
            }
        });
        let first = lines.recv_timeout(LIMIT).expect("the watcher to connect");
        let who = first
            .strip_prefix("ready ")
            .expect("ready <user> <role>")
            .to_string();
        Watcher { child, lines, who }
    }

    /// The changes heard until (and without) the first one of `fence`.
    fn until(&self, fence: LeadId) -> Vec<LeadId> {
        let mut heard = Vec::new();
        loop {
            let line = self
                .lines
                .recv_timeout(LIMIT)
                .unwrap_or_else(|_| panic!("{}: no change {fence} (heard {heard:?})", self.who));
            let id: LeadId = line
                .strip_prefix("changed ")
                .and_then(|n| n.parse().ok())
                .expect("changed <id>");
            if id == fence {
                return heard;
            }
            heard.push(id);
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let start = Instant::now();
        while matches!(self.child.try_wait(), Ok(None)) && start.elapsed() < LIMIT {
            std::thread::sleep(POLL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn in_a_team_each_member_hears_of_the_changes_they_may_see() {
    require_team_users!();
    let team = TeamSetup::new();
    let server = team.server();
    for (name, email) in [
        ("Ann Rep1", "ann@t.example"),
        ("Bob Rep2", "bob@t.example"),
        ("Cy Pool", "cy@t.example"),
    ] {
        team.ok(MANAGER, &["add", "--name", name, "--email", email]);
    }
    team.ok(MANAGER, &["assign", "1", REP1]);
    team.ok(MANAGER, &["assign", "2", REP2]);
    let watchers: Vec<Watcher> = [REP1, REP2, MANAGER]
        .iter()
        .map(|u| Watcher::start(&team, u))
        .collect();
    let who: Vec<&str> = watchers.iter().map(|w| w.who.as_str()).collect();
    assert_eq!(
        who,
        ["lq_rep1 rep", "lq_rep2 rep", "lq_mgr1 manager"],
        "identities"
    );
    // A new pool lead is a fence: once a watcher hears of it, it has heard of everything before.
    team.ok(
        MANAGER,
        &["add", "--name", "Fence One", "--email", "f1@t.example"],
    );
    for w in &watchers {
        w.until(4);
    }

    team.ok(MANAGER, &["log", "1", "note", "--note", "on rep1's"]);
    team.ok(MANAGER, &["log", "2", "note", "--note", "on rep2's"]);
    team.ok(MANAGER, &["log", "3", "note", "--note", "on the pool's"]);
    team.ok(REP2, &["log", "2", "call", "--note", "rep2 calls"]);
    // Rep1's lead goes to rep2: rep1 must hear of it too, or their queue keeps showing it.
    team.ok(MANAGER, &["assign", "1", REP2]);
    team.ok(
        MANAGER,
        &["add", "--name", "Fence Two", "--email", "f2@t.example"],
    );

    let sorted = |mut v: Vec<LeadId>| {
        v.sort_unstable();
        v
    };
    let heard: Vec<Vec<LeadId>> = watchers.iter().map(|w| sorted(w.until(5))).collect();
    assert_eq!(
        heard[0],
        [1, 1, 3],
        "what rep1 heard of (never rep2's lead 2)"
    );
    assert_eq!(heard[1], [1, 2, 2, 3], "what rep2 heard of");
    assert_eq!(heard[2], [1, 1, 2, 2, 3], "what the manager heard of");
    drop(watchers);
    server.stop();
}
