//! Issue 12's target: any report through the server in under 200 ms at 100k leads and under
//! 1 s at 1M. Each report kind for the last 7, 30 and 90 days and all time, on demo stores
//! made once with `leadq demo --count N` in `$STORES` (default `/tmp/bench-leadq-stores`,
//! shared with the other benches), through a `leadq serve` that owns the store.
//!
//! `SIZES=100000,1000000 RUNS=10 cargo bench --bench reports`; figures are the median and the
//! worst, in ms. Also: how long the server's start-up check takes (it counts the reports'
//! sums again from every lead and timeline).

mod common;

use common::{demo_store, leadq, start_server};
use std::time::{Duration, Instant};

use leadq::remote::client::Client;
use leadq::service::{LeadService, ReportKind, ReportRequest, Verification};

fn main() {
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let sizes: Vec<usize> = std::env::var("SIZES")
        .unwrap_or_else(|_| "100000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    for n in sizes {
        let store = demo_store(n);
        let home = tempfile::tempdir().expect("home");
        // A first open migrates an older store (its reports' sums counted once).
        let started = Instant::now();
        let out = leadq(home.path(), &store)
            .args(["list", "--limit", "1"])
            .output()
            .expect("stats");
        assert!(out.status.success(), "{out:?}");
        println!(
            "{n} leads: opened (and migrated if older) in {:.0} ms",
            started.elapsed().as_secs_f64() * 1000.0
        );
        let mut server = start_server(home.path(), &store);
        let client = Client::connect(&store, false).expect("connect");
        let t = Instant::now();
        while matches!(
            client.health().expect("health").verification,
            Verification::Running | Verification::NotRun
        ) {
            std::thread::sleep(Duration::from_millis(200));
        }
        println!(
            "{n} leads: the server's check of the whole store done after {:.0} ms",
            t.elapsed().as_secs_f64() * 1000.0
        );
        let mut worst_all: f64 = 0.0;
        for kind in ReportKind::ALL {
            for days in [Some(7), Some(30), Some(90), None] {
                let q = ReportRequest {
                    kind,
                    days,
                    from: None,
                    to: None,
                    source: None,
                    owner: None,
                    tag: None,
                };
                let mut times: Vec<f64> = (0..runs)
                    .map(|_| {
                        let start = Instant::now();
                        client.report(&q).expect("report");
                        start.elapsed().as_secs_f64() * 1000.0
                    })
                    .collect();
                times.sort_by(f64::total_cmp);
                let (median, worst) = (times[times.len() / 2], times[times.len() - 1]);
                worst_all = worst_all.max(worst);
                let period = days.map_or_else(|| "all".to_string(), |d| format!("{d}d"));
                println!(
                    "{n} leads, through the server: {:<8} {period:<4} median {median:>7.1} ms   worst {worst:>7.1} ms",
                    kind.name()
                );
            }
        }
        println!("{n} leads: slowest report {worst_all:.1} ms");
        server.kill().ok();
        server.wait().ok();
    }
}
