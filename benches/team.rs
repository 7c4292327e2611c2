//! Team mode over a real server: a `leadq serve` process that owns a copy of a demo store of
//! 100k leads, and `Client`s in this process talking to it over its socket. Issue 4's targets:
//! a logged interaction round trip (including the flush) p99 under 10 ms, a change reaching
//! another client under 100 ms; also the throughput of 10 concurrent writers and the server's
//! memory with 10 clients.
//!
//! `cargo bench --bench team`; not part of `cargo test`. The demo store is made once with
//! `leadq demo` in `$STORES` (default `/tmp/bench-leadq-stores`, shared with `tui_start`) and
//! copied to a temporary folder for each run, which the writes then grow. `LOGS=` (1000),
//! `WRITERS=` (10), `PER_WRITER=` (200) and `CHANGES=` (300) change the sizes.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use leadq::domain::{Kind, LeadId, Outcome, Temperature};
use leadq::remote::client::Client;
use leadq::service::{LeadService, LogEntry, Query};

const LEADQ: &str = env!("CARGO_BIN_EXE_leadq");
const LEADS: u64 = 100_000;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The environment of every `leadq` this bench runs: nothing from the user's own setup.
fn leadq(home: &Path, store: &Path) -> Command {
    let mut cmd = Command::new(LEADQ);
    cmd.env_clear()
        .env("LEADQ_DB", store)
        .env("TZ", "UTC")
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("USER", "bench")
        .env("LOGNAME", "bench");
    cmd
}

/// The demo store of 100k leads, made on first use, copied to `into`.
fn demo_store(stores: &Path, into: &Path) -> PathBuf {
    let store = stores.join(format!("demo-{LEADS}"));
    if !store.join(".complete").exists() {
        let _ = std::fs::remove_dir_all(&store);
        eprintln!(
            "making a demo store of {LEADS} leads in {}",
            store.display()
        );
        let status = leadq(stores, &store)
            .env("LEADQ_SERVER", "off")
            .env("LEADQ_NOW", "2026-11-22T09:00:00Z")
            .args(["demo", "--count", &LEADS.to_string()])
            .status()
            .expect("leadq demo runs");
        assert!(status.success(), "leadq demo failed");
        std::fs::write(store.join(".complete"), b"").expect("mark the store complete");
    }
    let copy = into.join("store");
    let status = Command::new("cp")
        .arg("-r")
        .arg(&store)
        .arg(&copy)
        .status()
        .expect("cp runs");
    assert!(status.success(), "cannot copy {}", store.display());
    copy
}

/// `leadq serve` in the foreground, once its socket answers.
fn start_server(home: &Path, store: &Path) -> Child {
    let mut child = leadq(home, store)
        .args(["serve", "--foreground", "--idle-exit", "0"])
        .spawn()
        .expect("start leadq serve");
    let start = Instant::now();
    while Client::connect(store, false).is_err() {
        if let Some(status) = child.try_wait().expect("poll the server") {
            panic!("leadq serve exited with {status:?}");
        }
        assert!(start.elapsed() < Duration::from_secs(60), "no server");
        std::thread::sleep(Duration::from_millis(10));
    }
    child
}

/// The server's resident memory now and at its peak, in MiB.
fn memory(pid: u32) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            .map_or(0, |kib| kib / 1024)
    };
    format!("RSS {} MiB (peak {} MiB)", field("VmRSS:"), field("VmHWM:"))
}

fn entry() -> LogEntry {
    LogEntry {
        kind: Kind::Call,
        outcome: Some(Outcome::NoAnswer),
        note: Some("bench".into()),
        at: None,
        next_action: None,
        duration_secs: None,
    }
}

/// The n-th lead to log on: spread over the store, as a team's calls are.
fn lead(n: u64) -> LeadId {
    1 + (n * 7_919) % LEADS
}

fn connect(store: &Path) -> Client {
    Client::connect(store, false).expect("connect to the server")
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// p50 / p99 / max of some durations.
fn percentiles(mut ds: Vec<Duration>) -> String {
    ds.sort();
    let at = |q: f64| ds[((ds.len() - 1) as f64 * q).round() as usize];
    format!(
        "p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} samples)",
        ms(at(0.5)),
        ms(at(0.9)),
        ms(at(0.99)),
        ms(ds[ds.len() - 1]),
        ds.len()
    )
}

/// One client logging `n` calls one after the other; also a read round trip for comparison.
fn round_trips(store: &Path, n: u64) {
    let c = connect(store);
    for i in 0..50 {
        c.log(lead(i), entry()).expect("log");
    }
    let times: Vec<Duration> = (0..n)
        .map(|i| {
            let t = Instant::now();
            c.log(lead(1_000 + i), entry()).expect("log");
            t.elapsed()
        })
        .collect();
    println!("log round trip, 1 client: {}", percentiles(times));
    let top = Query {
        temperature: Some(Temperature::Hot),
        limit: Some(1),
        ..Query::default()
    };
    let times: Vec<Duration> = (0..n)
        .map(|_| {
            let t = Instant::now();
            c.list(&top).expect("list");
            t.elapsed()
        })
        .collect();
    println!(
        "read round trip (hot top 1), 1 client: {}",
        percentiles(times)
    );
}

/// `writers` clients logging `each` calls at once, on leads of their own.
fn concurrent(store: &Path, writers: u64, each: u64) {
    let clients: Vec<Client> = (0..writers).map(|_| connect(store)).collect();
    let start = Arc::new(Barrier::new(writers as usize + 1));
    let threads: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(w, c)| {
            let start = Arc::clone(&start);
            std::thread::spawn(move || {
                start.wait();
                (0..each)
                    .map(|i| {
                        let t = Instant::now();
                        c.log(lead(50_000 + w as u64 * each + i), entry())
                            .expect("log");
                        t.elapsed()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    start.wait();
    let t = Instant::now();
    let times: Vec<Duration> = threads
        .into_iter()
        .flat_map(|h| h.join().expect("a writer"))
        .collect();
    let wall = t.elapsed();
    println!(
        "{writers} concurrent writers x {each} calls: {:.0} interactions/s ({} in {:.2} s); \
         each log {}",
        times.len() as f64 / wall.as_secs_f64(),
        times.len(),
        wall.as_secs_f64(),
        percentiles(times)
    );
}

/// Client A logs, client B (subscribed) waits for the change: the time from A's request to the
/// moment B's event arrives (taken on a thread of its own, so it may come before A's answer),
/// and A's own round trip.
fn propagation(store: &Path, n: u64) {
    let a = connect(store);
    let b = connect(store);
    let events = b.subscribe();
    // The subscription's own presence news.
    std::thread::sleep(Duration::from_millis(100));
    while events.try_recv().is_ok() {}
    let (tx, arrivals) = std::sync::mpsc::channel();
    let listener = std::thread::spawn(move || {
        while let Ok(id) = events.recv() {
            if tx.send((id, Instant::now())).is_err() {
                return;
            }
        }
    });
    let (mut seen, mut acked) = (Vec::new(), Vec::new());
    for i in 0..n {
        let id = lead(20_000 + i);
        let t = Instant::now();
        a.log(id, entry()).expect("log");
        acked.push(t.elapsed());
        loop {
            let (got, at) = arrivals
                .recv_timeout(Duration::from_secs(10))
                .expect("the change reaches the other client");
            if got == id {
                seen.push(at - t);
                break;
            }
        }
    }
    println!("change seen by another client: {}", percentiles(seen));
    println!(
        "  (the writer's own round trip meanwhile: {})",
        percentiles(acked)
    );
    drop(b);
    let _ = listener.join();
}

/// Ten clients that each open what a TUI opens: the hot queue's first page and whole view,
/// the counts, the sources, the change stream.
fn ten_tuis(store: &Path, pid: u32) -> Vec<Client> {
    let first_page = Query {
        temperature: Some(Temperature::Hot),
        limit: Some(200),
        ..Query::default()
    };
    let whole = Query {
        temperature: Some(Temperature::Hot),
        ..Query::default()
    };
    let clients: Vec<Client> = (0..10).map(|_| connect(store)).collect();
    println!("server with 10 clients connected, idle: {}", memory(pid));
    let t = Instant::now();
    for c in &clients {
        let _ = c.subscribe();
        c.list(&first_page).expect("first page");
        c.list(&whole).expect("whole view");
        c.stats().expect("stats");
        c.sources().expect("sources");
    }
    println!(
        "server after 10 clients each loaded the hot view, counts, sources ({:.1} s): {}",
        t.elapsed().as_secs_f64(),
        memory(pid)
    );
    clients
}

fn main() {
    let stores =
        PathBuf::from(std::env::var("STORES").unwrap_or_else(|_| "/tmp/bench-leadq-stores".into()));
    std::fs::create_dir_all(&stores).expect("the stores folder");
    let work = tempfile::Builder::new()
        .prefix("bench-team.")
        .tempdir_in("/tmp")
        .expect("a temporary folder");
    let store = demo_store(&stores, work.path());
    let home = work.path().join("home");
    println!(
        "# leadq team mode, a server on {LEADS} demo leads, {} cores, load average {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    let mut server = start_server(&home, &store);
    let pid = server.id();
    println!("server just started: {}", memory(pid));
    round_trips(&store, env_or("LOGS", 1_000));
    propagation(&store, env_or("CHANGES", 300));
    let tuis = ten_tuis(&store, pid);
    concurrent(&store, env_or("WRITERS", 10), env_or("PER_WRITER", 200));
    println!(
        "server after the concurrent writers, 10 clients still connected: {}",
        memory(pid)
    );
    drop(tuis);
    connect(&store).shutdown().expect("stop the server");
    let _ = server.wait();
}
