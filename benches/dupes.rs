//! `leadq dupes` at scale: the demo store of `COUNT` leads (100,000 by default), in process,
//! through the service (a read of every lead, the blocking keys, the pairs), `RUNS` times.
//! Prints the median and the slowest run and how many pairs were found.
//!
//! `COUNT=100000 RUNS=5 cargo bench --bench dupes`

use std::time::Instant;

use leadq::service::{LeadService, Local, Settings};
use leadq::store::Store;

fn main() {
    let count: usize = std::env::var("COUNT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let settings = Settings {
        fixed_now: Some(1_795_860_000_000),
        ..Settings::default()
    };
    let dir = tempfile::tempdir().expect("a folder");
    let s = Local::new(
        Store::open(&dir.path().join("store"), leadq::store::DEFAULT_CACHE_BYTES).expect("open"),
        settings,
    )
    .expect("service");
    s.demo(count, 1).expect("demo leads");
    let mut times = Vec::new();
    let mut pairs = 0;
    for _ in 0..runs {
        let t = Instant::now();
        pairs = s.dupes(60, usize::MAX).expect("dupes").len();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "dupes over {count} leads: median {:.0} ms, slowest {:.0} ms, {pairs} pairs at 60% or surer",
        times[times.len() / 2],
        times[times.len() - 1]
    );
}
