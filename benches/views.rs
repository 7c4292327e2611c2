//! Issue 10's costs that do not need a terminal: the header's counts (`stats`) and the first page
//! of the Hot and All views, on a demo store of 1M leads (`SIZES=` changes it), in process and
//! through a `leadq serve` that owns the store; and the tick that brings decayed leads up to now.
//!
//! `cargo bench --bench views`; the stores are made once with `leadq demo --count N` in
//! `$STORES` (default `/tmp/bench-leadq-stores`, shared with `tui_start`) and copied for the
//! runs that write. `RUNS=` repetitions (default 20); figures are the median and the worst.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use leadq::domain::{Kind, Temperature};
use leadq::remote::client::Client;
use leadq::service::{LeadService, Local, LogEntry, Query, Settings, Window};
use leadq::store::{DEFAULT_CACHE_BYTES, Store};

const NOW: &str = "2026-11-22T09:00:00Z";

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn leadq(home: &Path, store: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_leadq"));
    c.env("LEADQ_DB", store)
        .env("LEADQ_NOW", NOW)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("LEADQ_SERVER", "off");
    c
}

fn demo_store(n: usize) -> PathBuf {
    let dir =
        PathBuf::from(std::env::var("STORES").unwrap_or_else(|_| "/tmp/bench-leadq-stores".into()));
    std::fs::create_dir_all(&dir).expect("stores folder");
    let store = dir.join(format!("demo-{n}"));
    if !store.join("db").exists() {
        eprintln!("making a demo store of {n} leads in {}", store.display());
        let out = leadq(&dir, &store)
            .args(["demo", "--count", &n.to_string()])
            .output()
            .expect("run leadq demo");
        assert!(out.status.success(), "leadq demo failed: {out:?}");
    }
    store
}

/// Median and worst of `runs` timings of `f`, in ms.
fn time(runs: usize, mut f: impl FnMut()) -> (f64, f64) {
    let mut t: Vec<f64> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    t.sort_by(f64::total_cmp);
    (t[t.len() / 2], t[t.len() - 1])
}

fn report(what: &str, (median, worst): (f64, f64)) {
    println!("{what:<58} median {median:>8.1} ms   worst {worst:>8.1} ms");
}

fn hot() -> Query {
    Query {
        temperature: Some(Temperature::Hot),
        limit: Some(60),
        ..Query::default()
    }
}

fn all() -> Query {
    Query {
        limit: Some(60),
        ..Query::default()
    }
}

fn measure(label: &str, s: &dyn LeadService, runs: usize) {
    let st = s.stats().expect("stats");
    println!(
        "{label}: {} leads, hot {} warm {} cold {} due {}",
        st.leads, st.hot, st.warm, st.cold, st.due_today
    );
    // The counts are cached until the next change (or minute): each run follows a change, as
    // the header's reload does.
    let changed = || {
        s.log(1, note()).expect("log a note");
    };
    let mut t: Vec<f64> = (0..runs)
        .map(|_| {
            changed();
            let start = Instant::now();
            s.stats().expect("stats");
            start.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    t.sort_by(f64::total_cmp);
    report(
        &format!("{label}: header counts (stats) after a change"),
        (t[t.len() / 2], t[t.len() - 1]),
    );
    report(
        &format!("{label}: first 60 rows of Hot"),
        time(runs, || {
            s.list(&hot()).expect("hot");
        }),
    );
    report(
        &format!("{label}: first 60 rows of All"),
        time(runs, || {
            s.list(&all()).expect("all");
        }),
    );
    pages(label, s, runs);
}

/// `G`, a jump to the middle, a window kept around a lead far down, and Today's queue.
fn pages(label: &str, s: &dyn LeadService, runs: usize) {
    let unlimited = |q: Query| Query { limit: None, ..q };
    let (hot, all) = (unlimited(hot()), unlimited(all()));
    let total = s.page(&all, Window::rows(0, 1)).expect("all").total;
    report(
        &format!("{label}: G, the last 60 rows of All ({total})"),
        time(runs, || {
            let p = s.page(&all, Window::rows(usize::MAX, 60)).expect("G");
            assert_eq!(p.offset + p.rows.len(), p.total);
        }),
    );
    report(
        &format!("{label}: G, the last 60 rows of Hot"),
        time(runs, || {
            s.page(&hot, Window::rows(usize::MAX, 60)).expect("G");
        }),
    );
    report(
        &format!("{label}: 60 rows a quarter into All (a scrollbar jump)"),
        time(runs.min(5), || {
            s.page(&all, Window::rows(total / 4, 60)).expect("jump");
        }),
    );
    let deep = s
        .page(&all, Window::rows(total - 1000, 1))
        .expect("deep")
        .rows[0]
        .lead
        .id;
    report(
        &format!("{label}: 200 rows around a lead 1000 from the end of All"),
        time(runs, || {
            let w = Window {
                offset: total - 1000,
                limit: 200,
                focus: Some(deep),
            };
            let p = s.page(&all, w).expect("focus");
            assert!(p.rows.iter().any(|v| v.lead.id == deep));
        }),
    );
    let today = Query {
        today: true,
        ..Query::default()
    };
    report(
        &format!("{label}: first 60 rows of Today"),
        time(runs.min(3), || {
            s.page(&today, Window::rows(0, 60)).expect("today");
        }),
    );
}

fn note() -> LogEntry {
    LogEntry {
        kind: Kind::Note,
        outcome: None,
        note: Some("bench".into()),
        at: None,
        next_action: None,
        duration_secs: None,
    }
}

fn start_server(home: &Path, store: &Path) -> Child {
    let child = leadq(home, store)
        .env_remove("LEADQ_SERVER")
        .args(["serve", "--foreground", "--idle-exit", "0"])
        .spawn()
        .expect("start leadq serve");
    let start = Instant::now();
    while Client::connect(store, false).is_err() {
        assert!(start.elapsed() < Duration::from_secs(120), "no server");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

fn main() {
    let runs = env("RUNS", 20);
    let sizes: Vec<usize> = std::env::var("SIZES")
        .unwrap_or_else(|_| "1000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    for n in sizes {
        let store = demo_store(n);
        let now = leadq::domain::time::parse_rfc3339(NOW).expect("a time");
        {
            let settings = Settings {
                fixed_now: Some(now),
                ..Settings::default()
            };
            let started = Instant::now();
            let s = Local::new(
                Store::open(&store, DEFAULT_CACHE_BYTES).expect("open"),
                settings,
            )
            .expect("service");
            println!(
                "in process, {n} leads: opened in {:.0} ms",
                started.elapsed().as_secs_f64() * 1000.0
            );
            measure(&format!("in process, {n}"), &s, runs);
            let due = s.store().changes_until(now).expect("due").len();
            println!("in process, {n}: {due} leads due for the tick");
        }
        {
            // An hour on with no tick (a CLI with no server): the leads whose moment came in
            // that hour are placed by hand.
            let later = now + 3_600_000;
            let s = Local::new(
                Store::open(&store, DEFAULT_CACHE_BYTES).expect("open"),
                Settings {
                    fixed_now: Some(later),
                    ..Settings::default()
                },
            )
            .expect("service");
            let due = s.store().changes_until(later).expect("due").len();
            report(
                &format!("in process, {n}, an hour untick'd ({due} due): first 60 of Hot"),
                time(runs.min(5), || {
                    s.list(&hot()).expect("hot");
                }),
            );
        }
        let home = tempfile::tempdir().expect("home");
        let mut server = start_server(home.path(), &store);
        let client = Client::connect(&store, false).expect("connect");
        measure(&format!("server, {n}"), &client, runs);
        drop(client);
        server.kill().ok();
        server.wait().ok();
    }
}
