//! The TUI's own costs, in process: drawing a frame (issue 3's target: under 2 ms, the same
//! for any store size) and searching as the user types (p99 under 16 ms per keystroke at 100k
//! rows for queries of 2+ characters). The start-up of the real binary in a pseudo-terminal is
//! `benches/tui_start.rs`; both are described in `benches/README.md`.
//!
//! `cargo bench --bench tui` (about two minutes; the demo stores of 20k and 100k leads are
//! built first, in memory, outside the timed loops). Besides criterion's means, it prints the
//! per-keystroke percentiles over typed query sequences, which criterion does not give.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use leadq::domain::search::{Highlighter, Match, SearchIndex};
use leadq::service::{LeadService, Local, Settings};
use leadq::store::Store;
use leadq::tui::action::Action;
use leadq::tui::app::{start_state, step};
use leadq::tui::msg::Msg;
use leadq::tui::state::State;
use leadq::tui::theme::Theme;
use leadq::tui::views;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// 2026-11-22T09:00:00Z.
const NOW: i64 = 1_795_338_000_000;
/// The rows a 40-line terminal shows, whose matched characters each frame marks.
const ON_SCREEN: usize = 34;

/// Words a rep types into the search, each typed one character at a time: names, companies,
/// a Cyrillic name, an e-mail fragment, digits of a phone, a tag, two terms, a typo.
const TYPED: &[&str] = &[
    "anna",
    "maria",
    "garcia",
    "silva",
    "lindqvist",
    "globex",
    "hooli",
    "northwind",
    "stark logistics",
    "иван",
    "петров",
    "smith@",
    "ivan.pe",
    "555 01",
    "vip",
    "anna si",
    "mar ko",
    "jnas",
    "okafor",
    "tyrell",
];

fn demo(leads: usize) -> Local {
    let settings = Settings {
        fixed_now: Some(NOW),
        user: "alice".into(),
        ..Settings::default()
    };
    let s = Local::new(Store::temporary().expect("a store"), settings).expect("service");
    s.demo(leads, 7).expect("demo leads");
    s
}

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

/// The states a frame is drawn from: the hot queue as the app opens, the whole open queue,
/// that queue filtered by a search (highlighted hits), and a lead's card and timeline.
fn states(s: &Local) -> Vec<(&'static str, State)> {
    let hot = start_state(s);
    let mut all = hot.clone();
    step(s, &mut all, Msg::Action(Action::ViewAll));
    let mut search = all.clone();
    for c in "/an".chars() {
        step(s, &mut search, key(c));
    }
    let mut lead = hot.clone();
    step(s, &mut lead, Msg::Action(Action::Open));
    vec![
        ("queue hot", hot),
        ("queue all", all),
        ("queue all, search \"an\"", search),
        ("lead view", lead),
    ]
}

/// One frame into a 140x40 `TestBackend`, as `Terminal::draw` does it in the app (render, then
/// the diff against the last frame written to the backend). The selection moves between two
/// rows so that every frame has something to write.
fn frames(c: &mut Criterion, stores: &[(&str, &Local)]) {
    let (theme, _) = Theme::load("default", None);
    let mut group = c.benchmark_group("frame 140x40");
    for (size, service) in stores {
        for (name, mut state) in states(service) {
            println!("{name} from {size}: {} rows in the state", state.rows.len());
            state.page = views::page_rows(40);
            let mut terminal = Terminal::new(TestBackend::new(140, 40)).expect("terminal");
            group.bench_function(format!("{name}, {size} store"), |b| {
                b.iter(|| {
                    state.selected ^= 1;
                    terminal
                        .draw(|f| views::render(f, black_box(&state), &theme))
                        .expect("draw");
                })
            });
        }
    }
    group.finish();
}

/// What the search worker does for one keystroke: the search over all rows or over the last
/// hits (the matched characters are marked when a frame draws the rows on screen).
fn keystroke(index: &SearchIndex, query: &str, subset: Option<&[usize]>) -> Vec<Match> {
    index.search(query, subset)
}

/// Every keystroke of every word in `TYPED`: a 2-character query searches all rows (the worst
/// case: no shorter answer to narrow), a longer one only the previous hits, as
/// `update::start_search` does once that answer has arrived.
fn typed_queries(index: &SearchIndex) -> Vec<(String, Duration, usize)> {
    let mut out = Vec::new();
    for word in TYPED {
        let chars: Vec<char> = word.chars().collect();
        let mut last: Option<Vec<usize>> = None;
        for n in 2..=chars.len() {
            let query: String = chars[..n].iter().collect();
            let t = Instant::now();
            let hits = keystroke(index, &query, last.as_deref());
            let rows: Vec<usize> = hits.iter().map(|h| h.row).collect();
            let took = t.elapsed();
            out.push((query, took, hits.len()));
            last = Some(rows);
        }
    }
    out
}

fn search(c: &mut Criterion, service: &Local) {
    let leads = service.export().expect("every lead");
    let index = SearchIndex::build(leads.iter().map(|v| &v.lead));
    let rows = index.len();
    let mut group = c.benchmark_group("search");
    // ~100 ms an iteration: ten samples are plenty.
    group.sample_size(10);
    group.bench_function(format!("\"an\" over all {rows} rows"), |b| {
        b.iter(|| keystroke(&index, black_box("an"), None))
    });
    let an = index.search("an", None);
    group.bench_function(
        format!("mark the matches of \"an\" in the {ON_SCREEN} rows on screen"),
        |b| {
            b.iter(|| {
                let h = Highlighter::new(black_box("an"));
                for hit in &an[..ON_SCREEN] {
                    let l = &leads[hit.row].lead;
                    black_box(h.marks(&l.name, l.company.as_deref().unwrap_or("")));
                }
            })
        },
    );
    let ann: Vec<usize> = index.search("ann", None).iter().map(|h| h.row).collect();
    group.bench_function("\"anna\" narrowed from the hits of \"ann\"", |b| {
        b.iter(|| keystroke(&index, black_box("anna"), Some(&ann)))
    });
    group.bench_function(format!("build the index of {rows} rows"), |b| {
        b.iter(|| SearchIndex::build(leads.iter().map(|v| &v.lead)))
    });
    group.finish();
    percentiles(&format!("all {rows} leads"), &index);
    // What the app does: each keystroke a search of the view it shows, where the leads are
    // (the service: in process here), its best 500 and how many match.
    let hot = leadq::service::Query {
        temperature: Some(leadq::domain::Temperature::Hot),
        ..Default::default()
    };
    let mut times = Vec::new();
    for _ in 0..10 {
        for word in TYPED {
            let chars: Vec<char> = word.chars().collect();
            for n in 1..=chars.len() {
                let query: String = chars[..n].iter().collect();
                let t = Instant::now();
                black_box(service.search(&hot, &query, 500).expect("search"));
                times.push(t.elapsed());
            }
        }
    }
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1e3;
    println!(
        "search per keystroke of the hot view through the service ({} keystrokes): p50 {:.2} ms, \
         p99 {:.2} ms",
        times.len(),
        at(0.5),
        at(0.99)
    );
}

/// Percentiles per keystroke over the typed words, ten rounds, and the slowest queries.
fn percentiles(label: &str, index: &SearchIndex) {
    let mut all: Vec<(String, Duration, usize)> = Vec::new();
    for _ in 0..10 {
        all.extend(typed_queries(index));
    }
    let mut times: Vec<Duration> = all.iter().map(|(_, d, _)| *d).collect();
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "search per keystroke over {label} ({} keystrokes of 2+ characters): p50 {:.2} ms, \
         p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        times.len(),
        ms(at(0.5)),
        ms(at(0.9)),
        ms(at(0.99)),
        ms(times[times.len() - 1]),
    );
    // The slowest run of each query, slowest first.
    all.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    all.dedup_by(|a, b| a.0 == b.0);
    all.sort_by_key(|q| std::cmp::Reverse(q.1));
    for (query, took, hits) in all.iter().take(4) {
        println!("  slow: {query:?} {:.2} ms, {hits} hits", ms(*took));
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let t = Instant::now();
    let small = demo(20_000);
    let big = demo(100_000);
    println!("demo stores built in {:.1} s", t.elapsed().as_secs_f64());
    frames(&mut c, &[("20k", &small), ("100k", &big)]);
    search(&mut c, &big);
    c.final_summary();
}
