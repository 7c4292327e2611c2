//! One client cannot stall the others or fill the server's memory: a subscriber that stops
//! reading, clients that declare huge frames and stall, and a user who opens connection after
//! connection, against a live server. The bound stated here: while they misbehave, another
//! client's 1000 round trips, with the change event each one causes, take under 10 seconds in
//! all (before, once the stalled reader's socket was full, each event waited out its 10 s write
//! timeout in turn).

mod common;

use common::home::Home;
use common::server::LIMIT;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use leadq::domain::Kind;
use leadq::remote::client::Client;
use leadq::remote::protocol::{
    ClientFrame, Hello, PROTOCOL, Request, ServerFrame, Welcome, encode_frame, read_frame,
    write_frame,
};
use leadq::service::{Delta, LeadService, LogEntry, Query, Window};

const BOUND: Duration = Duration::from_secs(10);

/// A connection past the handshake, or the server's refusal.
fn connect(home: &Home) -> Result<UnixStream, String> {
    let mut s = UnixStream::connect(home.socket()).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(LIMIT)).unwrap();
    // A server that refuses the connection may say so and close before the hello is written:
    // the refusal is still there to read, so a failed write is not the answer.
    let wrote = write_frame(
        &mut s,
        &Hello {
            protocol: PROTOCOL,
            version: "raw".into(),
        },
    );
    let welcome = read_frame::<Welcome>(&mut s);
    if let (Err(e), Err(_)) = (&wrote, &welcome) {
        return Err(e.to_string());
    }
    match welcome.map_err(|e| e.to_string())? {
        Welcome::Accepted { .. } => Ok(s),
        Welcome::Refused { reason } => Err(reason),
    }
}

/// Bytes waiting to be read on `s`.
fn unread(s: &UnixStream) -> usize {
    use std::os::fd::AsRawFd;
    let mut n: nix::libc::c_int = 0;
    // SAFETY: FIONREAD writes one int through the pointer, which lives for the call.
    let r = unsafe { nix::libc::ioctl(s.as_raw_fd(), nix::libc::FIONREAD, &mut n) };
    assert_eq!(r, 0, "FIONREAD");
    n as usize
}

fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap()
}

fn all_leads() -> Query {
    Query {
        all: true,
        ..Query::default()
    }
}

/// The server hangs up on `s` within `LIMIT`.
fn hung_up(s: &mut UnixStream) -> bool {
    s.set_read_timeout(Some(LIMIT)).unwrap();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

#[test]
fn a_stalled_reader_and_stalled_writers_do_not_hold_up_anyone() {
    let home = Home::new();
    home.cli(&["demo", "--count", "3000"]);
    let server = home.server();
    let pid = server.child.id();

    // A subscriber that never reads a byte: its socket fills with change events, and from
    // then on every write to it would block.
    let mut stalled_reader = connect(&home).unwrap();
    write_frame(
        &mut stalled_reader,
        &ClientFrame {
            id: 1,
            request: Request::Subscribe,
        },
    )
    .unwrap();
    // It holds a window of the view with lead 1 in it: each change to lead 1 is news to it.
    write_frame(
        &mut stalled_reader,
        &ClientFrame {
            id: 2,
            request: Request::Page {
                query: all_leads(),
                window: Window {
                    offset: 0,
                    limit: 20,
                    focus: Some(1),
                    ..Window::default()
                },
            },
        },
    )
    .unwrap();
    // Eight clients that declare a frame of 200 MB, send 4 MB of it, and stall.
    let rss_before = rss_kb(pid);
    let mut stalled_writers: Vec<UnixStream> = (0..8)
        .map(|_| {
            let mut s = connect(&home).unwrap();
            s.write_all(&(200u32 * 1024 * 1024).to_be_bytes()).unwrap();
            s.write_all(&vec![b' '; 4 * 1024 * 1024]).unwrap();
            s
        })
        .collect();

    let good = Client::connect(&home.store(), false).unwrap();
    let changes = good.subscribe();
    good.page(
        &all_leads(),
        Window {
            offset: 0,
            limit: 20,
            focus: Some(1),
            ..Window::default()
        },
    )
    .unwrap();
    let note = LogEntry {
        kind: Kind::Note,
        outcome: None,
        note: Some("still here".into()),
        at: None,
        next_action: None,
        duration_secs: None,
    };
    // Each write is answered and the change event it causes reaches this client too, each
    // well within the bound: a client held up behind the stalled ones would wait for good.
    // (How fast the round trips go is a benchmark's matter, not this test's.)
    let start = Instant::now();
    for _ in 0..1000 {
        let sent = Instant::now();
        good.log(1, note.clone()).unwrap();
        loop {
            let left = BOUND.saturating_sub(sent.elapsed());
            match changes.recv_timeout(left) {
                Ok(1) => break,
                Ok(_) => {}
                Err(_) => panic!("a change event took over {BOUND:?} ({:?})", sent.elapsed()),
            }
        }
    }
    eprintln!(
        "1000 round trips with a stalled reader and 8 stalled writers: {:?}",
        start.elapsed()
    );
    // Its socket took only part of the 1000 events: it was full, as meant.
    let event = encode_frame(&ServerFrame::Delta(Box::new(Delta {
        generation: 1000,
        window: 1000,
        id: 1,
        touched: true,
        ..Delta::default()
    })))
    .unwrap()
    .len();
    let waiting = unread(&stalled_reader);
    assert!(
        waiting > 0 && waiting < 1000 * event,
        "the stalled reader's socket holds {waiting} bytes: it never filled"
    );

    // The 1000 round trips themselves grow it by ~110-125 MB (allocator, sled's cache); one
    // stalled frame held whole would add 200 MB more, all eight 1.6 GB.
    let grown_mb = rss_kb(pid).saturating_sub(rss_before) / 1024;
    assert!(
        grown_mb < 200,
        "the server grew by {grown_mb} MB for eight stalled 200 MB frames"
    );
    // A frame once begun must keep coming: the stalled writers are hung up on.
    for s in &mut stalled_writers {
        assert!(hung_up(s), "a stalled writer kept its connection");
    }
    drop(stalled_reader);
    assert!(good.stats().is_ok(), "the server still answers");
    drop(good);
    server.stop();
}

#[test]
fn one_user_cannot_take_every_connection() {
    let home = Home::new();
    home.cli(&["demo", "--count", "10"]);
    let server = home.server();
    let mut held = Vec::new();
    let refusal = loop {
        match connect(&home) {
            Ok(s) => held.push(s),
            Err(reason) => break reason,
        }
        assert!(held.len() <= 64, "no limit on connections");
    };
    assert_eq!(held.len(), 32, "{refusal}");
    assert!(refusal.contains("already has 32 connections"), "{refusal}");
    // Once one is closed, the user gets in again.
    drop(held.pop());
    let start = Instant::now();
    while connect(&home).is_err() {
        assert!(
            start.elapsed() < LIMIT,
            "the closed connection was never counted out"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(held);
    server.stop();
}

/// What a client sends is never a line of the server's log: a version string with line
/// breaks and an escape sequence stays on its own line, neutralised.
#[test]
fn a_client_cannot_forge_lines_of_the_server_log() {
    let home = Home::new();
    let server = home.server();
    let forged = "1.0\n2026-01-01T00:00:00Z [1] shutdown asked by root\u{1b}[2J";
    let mut s = UnixStream::connect(home.socket()).unwrap();
    s.set_read_timeout(Some(LIMIT)).unwrap();
    write_frame(
        &mut s,
        &Hello {
            protocol: PROTOCOL,
            version: forged.into(),
        },
    )
    .unwrap();
    let _: Welcome = read_frame(&mut s).unwrap();
    drop(s);
    server.stop();
    let log = std::fs::read_to_string(home.path().join("state/leadq/server.log")).unwrap();
    assert!(
        log.contains("shutdown asked by root"),
        "the version is logged: {log}"
    );
    assert!(
        !log.lines().any(|l| l.starts_with("2026-01-01T00:00:00Z")),
        "a forged line: {log}"
    );
    assert!(
        !log.contains('\u{1b}'),
        "an escape sequence reached the log"
    );
}

/// Connections count from the first byte: a crowd that never says hello is refused at the
/// door, before it holds any thread.
#[test]
fn connections_that_never_say_hello_count_too() {
    let home = Home::new();
    let server = home.server();
    let mut silent = Vec::new();
    for _ in 0..32 {
        silent.push(UnixStream::connect(home.socket()).unwrap());
    }
    // The 33rd, handshake or not, is told why and closed.
    let refusal = connect(&home).unwrap_err();
    assert!(refusal.contains("already has 32 connections"), "{refusal}");
    drop(silent);
    let start = Instant::now();
    while connect(&home).is_err() {
        assert!(
            start.elapsed() < LIMIT,
            "the silent connections were never counted out"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    server.stop();
}
