//! The learned score's costs, in process: training on 100k closed leads (~50 feature levels
//! before crossing), and the CPU part of rescoring 100k open leads after a retrain (predict and
//! fit points; the writes are `leadq model train` on a real store, see benches/README.md).
//! `ROWS=` changes the size, `RUNS=` the repetitions.

use std::collections::BTreeMap;
use std::time::Instant;

use leadq::domain::interaction::{Interaction, Kind, Outcome};
use leadq::domain::model::solver::sigmoid;
use leadq::domain::model::{self, Example, TrainOptions};
use leadq::domain::{Lead, NewLead, Rules};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const NOW: i64 = 1_795_176_000_000;
const DAY: i64 = 86_400_000;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Leads like a B2B CRM's: eight categorical columns of 3-8 values, two numbers, a source,
/// e-mail kinds, titles, and a timeline of a few touches.
fn leads(n: usize, seed: u64) -> (Vec<Lead>, Vec<Vec<Interaction>>, Vec<bool>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let titles = [
        "CEO",
        "CTO",
        "Head of Sales",
        "Sales Manager",
        "Engineer",
        "Analyst",
        "Intern",
    ];
    let sources = ["referral", "web-form", "cold-list", "partner", "webinar"];
    let (mut out, mut timelines, mut won) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..n {
        let mut attributes = BTreeMap::new();
        let mut logit = -2.0;
        for c in 0..8 {
            let levels = 3 + c % 6;
            let v = rng.random_range(0..levels);
            logit += (v as f64 - levels as f64 / 2.0) * 0.15 * (c % 3) as f64;
            attributes.insert(format!("attr{c}"), format!("v{v}"));
        }
        let size = rng.random_range(1..5000);
        logit += (size as f64).ln() * 0.1;
        attributes.insert("company_size".into(), size.to_string());
        attributes.insert("budget".into(), rng.random_range(0..100_000).to_string());
        let title = titles[rng.random_range(0..titles.len())];
        attributes.insert("title".into(), title.into());
        let source = sources[rng.random_range(0..sources.len())];
        logit += if source == "referral" { 1.0 } else { 0.0 };
        let y = rng.random_bool(sigmoid(logit));
        let req = NewLead {
            name: format!("Lead {i}"),
            email: Some(format!(
                "l{i}@{}.example",
                if rng.random_bool(0.3) {
                    "gmail"
                } else {
                    "corp"
                }
            )),
            source: Some(source.into()),
            attributes,
            ..NewLead::default()
        };
        let created = NOW - 60 * DAY;
        let lead = Lead::from_request(i as u64 + 1, &req, created);
        let touches = rng.random_range(0..4);
        let timeline = (0..touches)
            .map(|t| Interaction {
                kind: Kind::Call,
                outcome: Some(if rng.random_bool(0.3) {
                    Outcome::Connected
                } else {
                    Outcome::NoAnswer
                }),
                author: "ann".into(),
                at: created + (t + 1) * DAY,
                note: None,
                duration_secs: None,
                closed_as: None,
            })
            .collect();
        out.push(lead);
        timelines.push(timeline);
        won.push(y);
    }
    (out, timelines, won)
}

fn main() {
    let n = env("ROWS", 100_000);
    let runs = env("RUNS", 3);
    let (all, timelines, won) = leads(n, 1);
    let examples: Vec<Example> = all
        .iter()
        .zip(&timelines)
        .zip(&won)
        .map(|((lead, timeline), &won)| Example {
            lead,
            timeline,
            cutoff: NOW - DAY,
            won,
        })
        .collect();
    let rules = Rules::defaults();
    let options = TrainOptions {
        exclude: vec![],
        now: NOW,
        seed: model::SEED,
    };
    let mut times = Vec::new();
    let mut trained = None;
    for _ in 0..runs {
        let t = Instant::now();
        trained = Some(model::train(&examples, &rules, &options).expect("enough history"));
        times.push(t.elapsed().as_secs_f64());
    }
    let m = trained.expect("one run");
    let levels: usize = m.columns.iter().map(|c| c.levels.len()).sum();
    let base: usize = m
        .columns
        .iter()
        .filter(|c| !matches!(c.input, model::features::Input::Cross(..)))
        .map(|c| c.levels.len())
        .sum();
    println!(
        "train {n} closed leads: {} columns, {base} levels before crossing, {levels} with it; \
         holdout AUC {:.3}; runs {:?} s",
        m.columns.len(),
        m.holdout.model.auc,
        times
            .iter()
            .map(|t| (t * 1000.0).round() / 1000.0)
            .collect::<Vec<_>>()
    );
    let mut times = Vec::new();
    let mut sum = 0.0;
    for _ in 0..runs {
        let t = Instant::now();
        for (lead, timeline) in all.iter().zip(&timelines) {
            sum += m.points(m.chance(lead, timeline, NOW), &rules.temperature);
        }
        times.push(t.elapsed().as_secs_f64());
    }
    println!(
        "rescore {n} open leads (predict + fit points, no writes): runs {:?} s (checksum {sum:.0})",
        times
            .iter()
            .map(|t| (t * 1000.0).round() / 1000.0)
            .collect::<Vec<_>>()
    );
}
