//! Issue 10's costs that do not need a terminal: the header's counts (`stats`) and the first page
//! of the Hot and All views (and of one tag's), on a demo store of 1M leads (`SIZES=` changes it), in process and
//! through a `leadq serve` that owns the store; and the tick that brings decayed leads up to now.
//!
//! Then what a change costs with 10 subscribers holding windows (deltas).
//!
//! `cargo bench --bench views` (`ONLY=deltas`: that part alone); the stores are made once with `leadq demo --count N` in
//! `$STORES` (default `/tmp/bench-leadq-stores`, shared with `tui_start`) and copied for the
//! runs that write. `RUNS=` repetitions (default 20); figures are the median and the worst.

mod common;

use common::{NOW, demo_store, start_server};
use std::path::Path;
use std::process::Command;

use std::time::{Duration, Instant};

use leadq::domain::{Kind, Temperature};
use leadq::remote::client::Client;
use leadq::service::{LeadService, Local, LogEntry, Query, Settings, Window};
use leadq::store::{DEFAULT_CACHE_BYTES, Store};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
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
                ..Window::default()
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
    // A view of one tag (the demo's "vip": about one lead in seven).
    let vip = Query {
        tag: Some("vip".into()),
        ..all.clone()
    };
    let total = s.page(&vip, Window::rows(0, 1)).expect("vip").total;
    report(
        &format!("{label}: first 60 rows of All, tag vip ({total})"),
        time(runs, || {
            s.page(&vip, Window::rows(0, 60)).expect("vip");
        }),
    );
    report(
        &format!("{label}: G, the last 60 rows of All, tag vip"),
        time(runs, || {
            s.page(&vip, Window::rows(usize::MAX, 60)).expect("vip G");
        }),
    );
    let hot_vip = Query {
        tag: Some("vip".into()),
        ..hot.clone()
    };
    report(
        &format!("{label}: first 60 rows of Hot, tag vip"),
        time(runs, || {
            s.page(&hot_vip, Window::rows(0, 60)).expect("hot vip");
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

/// CPU time (user + system) a process has used so far, in ms.
fn cpu_ms(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    let after = &stat[stat.rfind(')').expect("comm") + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f[11].parse::<f64>().expect("utime") + f[12].parse::<f64>().expect("stime");
    ticks * 10.0
}

/// A logged call with 10 subscribers holding windows (5 on Hot, around the lead,
/// 5 deep in All, where it is not): how long until every window that holds the lead has read
/// it again (as the TUI does on a delta that touches it), what the others receive, and the
/// server's CPU per change with and without the subscribers.
fn deltas(label: &str, store: &Path, server: u32, runs: usize) {
    let hot = Query {
        limit: None,
        ..hot()
    };
    let all = Query {
        limit: None,
        ..all()
    };
    let writer = Client::connect(store, false).expect("connect");
    let total = writer.page(&all, Window::rows(0, 1)).expect("all").total;
    let lead = writer.page(&hot, Window::rows(0, 1)).expect("hot").rows[0]
        .lead
        .id;
    let call = LogEntry {
        kind: Kind::Call,
        outcome: Some(leadq::domain::Outcome::Connected),
        ..note()
    };
    let changes = 200;
    let idle = cpu_ms(server);
    for _ in 0..changes {
        writer.log(lead, call.clone()).expect("log");
    }
    let alone = (cpu_ms(server) - idle) / changes as f64;
    let clients: Vec<(Client, Query, Window, std::sync::mpsc::Receiver<u64>)> = (0..10)
        .map(|i| {
            let c = Client::connect(store, false).expect("connect");
            let rx = c.subscribe();
            let (q, w) = if i < 5 {
                // The window around the lead, wherever its calls have put it in Hot.
                let w = Window {
                    offset: 0,
                    limit: 200,
                    focus: Some(lead),
                    ..Window::default()
                };
                (hot.clone(), w)
            } else {
                (all.clone(), Window::rows(total / 2 + i * 1000, 200))
            };
            let p = c.page(&q, w).expect("window");
            // Read again as the TUI does when a delta touches it: where it stands.
            let w = Window {
                offset: p.offset,
                limit: 200,
                again: true,
                ..Window::default()
            };
            (c, q, w, rx)
        })
        .collect();
    let mut touched_frames = 0;
    let mut patched_frames = 0;
    let mut other_frames = 0;
    report(
        &format!("{label}: a call seen in the 5 windows holding it (of 10)"),
        time(runs, || {
            writer.log(lead, call.clone()).expect("log");
            for (c, q, w, rx) in &clients {
                // The windows holding the lead hear of it and read it again; the others
                // hear only if their numbers moved.
                let heard = if *q == hot {
                    while rx.recv().expect("an event") != lead {}
                    true
                } else {
                    c.settle().expect("settle");
                    rx.try_iter().count() > 0
                };
                let ds = c.take_deltas().expect("deltas");
                if ds.iter().any(|d| d.touched) {
                    touched_frames += 1;
                    let p = c.page(q, *w).expect("again");
                    assert!(p.rows.iter().any(|v| v.lead.id == lead));
                } else if ds
                    .iter()
                    .any(|d| d.row.as_ref().is_some_and(|r| r.lead.id == lead))
                {
                    patched_frames += 1;
                } else if heard {
                    other_frames += 1;
                }
            }
        }),
    );
    println!(
        "{label}: of 10 subscribers, per change {:.1} got the row in their window, {:.1} read \
         their window again, {:.1} only heard numbers move, the rest heard nothing",
        patched_frames as f64 / runs as f64,
        touched_frames as f64 / runs as f64,
        other_frames as f64 / runs as f64
    );
    let before = cpu_ms(server);
    for _ in 0..changes {
        writer.log(lead, call.clone()).expect("log");
        for (c, q, w, rx) in clients.iter().filter(|(_, q, ..)| *q == hot) {
            while rx.recv().expect("an event") != lead {}
            if c.take_deltas().expect("deltas").iter().any(|d| d.touched) {
                c.page(q, *w).expect("again");
            }
        }
    }
    let with = (cpu_ms(server) - before) / changes as f64;
    println!(
        "{label}: server CPU per change: {alone:.2} ms with no subscriber, {with:.2} ms with 10 \
         (5 windows holding the lead)"
    );
}

/// The minute tick on a copy of the store (it writes): a minute, then an hour after the
/// store's moment, what it rewrites and what that costs, with a subscriber to the change
/// stream as the server has.
fn ticks(n: usize, store: &Path, now: i64) {
    let copy = tempfile::tempdir_in(store.parent().expect("a folder")).expect("a copy");
    let to = copy.path().join("store");
    let status = Command::new("cp")
        .args([
            "-a",
            &store.display().to_string(),
            &to.display().to_string(),
        ])
        .status()
        .expect("cp");
    assert!(status.success());
    for (label, later) in [
        ("a minute", now + 60_000),
        ("the next hour", now + 3_660_000),
    ] {
        let s = Local::new(
            Store::open(&to, DEFAULT_CACHE_BYTES).expect("open"),
            Settings {
                fixed_now: Some(later),
                ..Settings::default()
            },
        )
        .expect("service");
        let moves = s.watch_moves();
        let t = Instant::now();
        let done = s.tick().expect("tick").len();
        let took = t.elapsed().as_secs_f64() * 1000.0;
        println!(
            "in process, {n}: the tick after {label}: {done} leads brought up to now in {took:.0} ms \
             ({} changes told)",
            moves.try_iter().count()
        );
    }
}

/// Words a rep types, a keystroke at a time.
const TYPED: &[&str] = &[
    "anna",
    "maria",
    "garcia",
    "silva",
    "globex",
    "northwind",
    "иван",
];

/// Search as the rep types, through the server: each keystroke a search of the view (its best
/// 200, as the TUI asks, and how many match), on Hot and on All. The percentiles per keystroke, and the server's
/// memory with its search index built.
fn search(label: &str, store: &Path, server: u32) {
    let c = Client::connect(store, false).expect("connect");
    // The server builds its index once it has started: the first search waits for it.
    let t = Instant::now();
    // Its check of the whole store at start (~20 s at 1M) runs meanwhile; the figures below
    // are of a server that has done it, as a server that stays up all day has.
    while matches!(
        c.health().expect("health").verification,
        leadq::service::Verification::Running | leadq::service::Verification::NotRun
    ) {
        std::thread::sleep(Duration::from_millis(200));
    }
    println!(
        "{label}: the server's check of the whole store done after {:.0} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );
    let t = Instant::now();
    c.search(&all(), "a", 1).expect("first search");
    println!(
        "{label}: first search after the server started: {:.0} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );
    for (name, view) in [
        (
            "Hot",
            Query {
                limit: None,
                ..hot()
            },
        ),
        (
            "All",
            Query {
                limit: None,
                ..all()
            },
        ),
        (
            "All, tag vip",
            Query {
                limit: None,
                tag: Some("vip".into()),
                ..all()
            },
        ),
    ] {
        let mut times = Vec::new();
        let mut slowest = (0.0, String::new(), 0);
        for _ in 0..5 {
            for word in TYPED {
                let chars: Vec<char> = word.chars().collect();
                for n in 1..=chars.len() {
                    let text: String = chars[..n].iter().collect();
                    let t = Instant::now();
                    let found = c.search(&view, &text, 200).expect("search");
                    let ms = t.elapsed().as_secs_f64() * 1000.0;
                    if ms > slowest.0 {
                        slowest = (ms, text, found.hits);
                    }
                    times.push(ms);
                }
            }
        }
        times.sort_by(f64::total_cmp);
        let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
        println!(
            "{label}: search per keystroke over {name} ({} keystrokes): p50 {:.1} ms, p90 {:.1} \
             ms, p99 {:.1} ms (slowest {:?}: {:.1} ms, {} hits)",
            times.len(),
            at(0.5),
            at(0.9),
            at(0.99),
            slowest.1,
            slowest.0,
            slowest.2
        );
    }
    let rss = || {
        let status = std::fs::read_to_string(format!("/proc/{server}/status")).expect("status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .unwrap_or("?")
            .trim()
            .to_string()
    };
    println!(
        "{label}: the server's memory with its search index, after the searches: {}",
        rss()
    );
    // The server hands freed memory back once a minute (its care loop).
    std::thread::sleep(Duration::from_secs(61));
    println!("{label}: the same a minute later: {}", rss());
}

fn main() {
    let runs = env("RUNS", 20);
    let sizes: Vec<usize> = std::env::var("SIZES")
        .unwrap_or_else(|_| "1000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    // `ONLY=deltas` (or `search`, `tick`, `pages`: the pages through the server) runs those
    // parts alone.
    let only = std::env::var("ONLY").ok();
    let all_parts = only.is_none();
    let part = |name: &str| only.as_deref().is_none_or(|o| o.contains(name));
    for n in sizes {
        let store = demo_store(n);
        let now = leadq::domain::time::parse_rfc3339(NOW).expect("a time");
        if all_parts {
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
        if all_parts {
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
        if part("tick") {
            ticks(n, &store, now);
        }
        let home = tempfile::tempdir().expect("home");
        let mut server = start_server(home.path(), &store);
        let client = Client::connect(&store, false).expect("connect");
        if part("pages") {
            measure(&format!("server, {n}"), &client, runs);
        }
        drop(client);
        if part("deltas") {
            deltas(&format!("server, {n}"), &store, server.id(), runs);
        }
        if part("search") {
            search(&format!("server, {n}"), &store, server.id());
        }
        server.kill().ok();
        server.wait().ok();
    }
}
