//! In-process costs of leadq's core: scoring one lead, the hot queue on a demo store, logging
//! an interaction (flushed to disk), and an import through the service. Whole-process figures
//! (sled's open, the CLI) are in `benches/cli.sh`; both are described in `benches/README.md`.
//!
//! `cargo bench --bench core` (about a minute); stores live in temporary folders and are built
//! once, outside the timed loops.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::Path;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use leadq::domain::time::DAY_MS;
use leadq::domain::{Interaction, Kind, Lead, Millis, NewLead, Outcome, Rules, Temperature};
use leadq::service::{ImportOptions, LeadService, Local, LogEntry, Query, Settings};
use leadq::store::{DEFAULT_CACHE_BYTES, Store};

/// 2026-11-22T09:00:00Z.
const NOW: Millis = 1_795_338_000_000;
/// Demo leads in the store the queue is measured on: big enough that a scan of the store would
/// show, small enough to build in a few seconds.
const DEMO_LEADS: usize = 20_000;

fn service(path: &Path) -> Local {
    let store = Store::open(path, DEFAULT_CACHE_BYTES).expect("store opens");
    let settings = Settings {
        fixed_now: Some(NOW),
        ..Settings::default()
    };
    Local::new(store, settings).expect("service starts")
}

fn sample_lead() -> (Lead, Vec<Interaction>) {
    let request = NewLead {
        name: "Anna Silva".into(),
        email: Some("anna.silva@northwind.example".into()),
        phone: Some("+1 202 555 0143".into()),
        company: Some("Northwind".into()),
        source: Some("web-form".into()),
        attributes: BTreeMap::from([
            ("title".to_string(), "Head of Sales".to_string()),
            ("company_size".to_string(), "250".to_string()),
        ]),
        ..NewLead::default()
    };
    let lead = Lead::from_request(1, &request, NOW - 30 * DAY_MS);
    let outcomes = [
        (Kind::Call, Outcome::NoAnswer),
        (Kind::Email, Outcome::Sent),
        (Kind::Email, Outcome::Opened),
        (Kind::Call, Outcome::Connected),
        (Kind::Email, Outcome::Replied),
        (Kind::Meeting, Outcome::Scheduled),
        (Kind::Inbound, Outcome::PageVisit),
        (Kind::Meeting, Outcome::Held),
        (Kind::Call, Outcome::Voicemail),
        (Kind::Email, Outcome::Clicked),
    ];
    let timeline = outcomes
        .iter()
        .enumerate()
        .map(|(i, &(kind, outcome))| Interaction {
            kind,
            outcome: Some(outcome),
            author: "alice".into(),
            at: NOW - (30 - 3 * i as i64) * DAY_MS,
            note: None,
            duration_secs: None,
            closed_as: None,
        })
        .collect();
    (lead, timeline)
}

fn scoring(c: &mut Criterion) {
    let rules = Rules::defaults();
    let (mut lead, timeline) = sample_lead();
    c.bench_function("score/compute from a 10-entry timeline", |b| {
        b.iter(|| rules.compute(black_box(&lead), black_box(&timeline), NOW))
    });
    lead.score = rules.compute(&lead, &timeline, NOW - DAY_MS);
    c.bench_function("score/as of now from the cached state", |b| {
        b.iter(|| black_box(&lead.score).score(&rules, black_box(NOW)))
    });
}

fn queue_and_log(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let s = service(&dir.path().join("store"));
    s.demo(DEMO_LEADS, 7).expect("demo store");
    let hot = Query {
        temperature: Some(Temperature::Hot),
        limit: Some(20),
        ..Query::default()
    };
    c.bench_function("list/hot top 20 of 20k demo leads", |b| {
        b.iter(|| s.list(black_box(&hot)).expect("list"))
    });
    let everything = Query {
        all: true,
        limit: Some(20),
        ..Query::default()
    };
    c.bench_function("list/top 20 of all 20k demo leads", |b| {
        b.iter(|| s.list(black_box(&everything)).expect("list"))
    });
    let id = s.list(&hot).expect("list")[0].lead.id;
    let mut group = c.benchmark_group("log");
    group.sample_size(30);
    group.bench_function("a connected call, flushed", |b| {
        b.iter(|| {
            let entry = LogEntry {
                kind: Kind::Call,
                outcome: Some(Outcome::Connected),
                note: Some("bench".into()),
                at: None,
                next_action: None,
                duration_secs: None,
            };
            s.log(black_box(id), entry).expect("log")
        })
    });
    group.finish();
}

fn rows(n: usize) -> Vec<NewLead> {
    (0..n)
        .map(|i| NewLead {
            name: format!("Lead {i}"),
            email: Some(format!("lead{i}@example{}.com", i % 97)),
            phone: Some(format!("+1 {}", 3_000_000_000u64 + i as u64)),
            company: Some("Acme".into()),
            source: Some("web-form".into()),
            attributes: BTreeMap::from([("title".to_string(), "CEO".to_string())]),
            ..NewLead::default()
        })
        .collect()
}

fn import(c: &mut Criterion) {
    let options = ImportOptions {
        origin: "bench.csv".into(),
        ..ImportOptions::default()
    };
    let mut group = c.benchmark_group("import");
    group.sample_size(10);
    // 1 000 rows is one transaction; 5 000 goes the chunked, journaled way (store::bulk).
    for n in [1_000, 5_000] {
        group.bench_function(format!("{n} new rows into an empty store"), |b| {
            b.iter_batched(
                || {
                    let dir = tempfile::tempdir().expect("temporary folder");
                    let s = service(&dir.path().join("store"));
                    (dir, s, rows(n))
                },
                |(dir, s, rows)| {
                    let report = s.import(rows, &options).expect("import");
                    assert_eq!(report.created, n);
                    (dir, s)
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, scoring, queue_and_log, import);
criterion_main!(benches);
