//! The learned score, pure: the solver, the features (no leakage), the proof on a holdout, the
//! calibration and the explanations, on the real bank telemarketing history.

use std::collections::BTreeMap;

use leadq::domain::model::{self, Example, TrainOptions};
use leadq::domain::{Lead, NewLead, Rules};

const NOW: i64 = 1_790_000_000_000;

/// The bank's 41,188 calls as closed leads, `duration` left out (it is known only after the
/// call), as `import --outcome-column y` would store them.
fn bank() -> (Vec<Lead>, Vec<bool>) {
    // The team's shared data, where tests/cli.rs reads it too.
    let path = "/work/shared/data/bank-telemarketing.csv";
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_path(path)
        .expect("the bank data set is in ../shared/data");
    let headers = reader.headers().unwrap().clone();
    let (mut leads, mut won) = (Vec::new(), Vec::new());
    for (i, row) in reader.records().enumerate() {
        let row = row.unwrap();
        let mut attributes = BTreeMap::new();
        let mut y = false;
        for (h, v) in headers.iter().zip(row.iter()) {
            match h {
                "y" => y = v == "1",
                "duration" => {}
                _ => {
                    attributes.insert(h.to_string(), v.to_string());
                }
            }
        }
        let req = NewLead {
            name: format!("Lead {i}"),
            attributes,
            ..NewLead::default()
        };
        leads.push(Lead::from_request(i as u64 + 1, &req, NOW - 1000));
        won.push(y);
    }
    (leads, won)
}

#[test]
fn the_bank_history_is_learned_and_proven_on_a_holdout() {
    let (leads, won) = bank();
    let examples: Vec<Example> = leads
        .iter()
        .zip(&won)
        .map(|(lead, &won)| Example {
            lead,
            timeline: &[],
            cutoff: NOW,
            won,
        })
        .collect();
    let options = TrainOptions {
        exclude: vec![],
        now: NOW,
        seed: model::SEED,
    };
    let m = model::train(&examples, &Rules::defaults(), &options).expect("enough history");
    let h = &m.holdout;
    eprintln!("{:#?}", h);
    eprintln!("{:?}", m.warnings);
    assert!(h.model.auc >= 0.79, "holdout AUC {}", h.model.auc);
    assert!(
        h.model.top_tenth_won >= 0.48,
        "top tenth {}",
        h.model.top_tenth_won
    );
    for d in &h.model.deciles {
        let p = d.predicted.unwrap();
        assert!((p - d.observed).abs() <= 0.05, "decile {d:?}");
    }
    assert!(m.active, "{}", m.verdict);
    // A lead with none of the history's columns is no lead of the history: the model knows
    // nothing of it and gives it about the average chance, moved by no factor.
    let empty = Lead::from_request(
        99_999,
        &NewLead {
            name: "Plain Person".into(),
            email: Some("plain@example.com".into()),
            ..NewLead::default()
        },
        NOW,
    );
    let p = m.predict(&empty, &[], NOW);
    assert!(
        p.chance < m.base_rate * 1.1 && p.chance > m.base_rate * 0.4,
        "an empty lead's chance {} against the average {}",
        p.chance,
        m.base_rate
    );
    assert!(
        p.factors.iter().all(|f| f.effect.abs() < 1e-12),
        "no factor moves it: {:?}",
        &p.factors[..3]
    );
    assert!((m.chance(&empty, &[], NOW) - p.chance).abs() < 1e-12);
}

#[test]
fn fit_points_give_back_their_chance() {
    let t = Rules::defaults().temperature;
    for base in [0.02, 0.113, 0.4, 0.5] {
        let mut last = -1.0;
        for i in 1..200 {
            let chance = f64::from(i) / 200.0;
            let p = model::points(chance, base, &t);
            assert!(
                p > last && p < 100.0,
                "points rise with the chance: {p} at {chance}"
            );
            last = p;
            let back = model::chance_at(p, base, &t);
            assert!((back - chance).abs() < 1e-9, "{chance} -> {p} -> {back}");
        }
        // The average lead is warm, one 2.5 times likelier is hot, or where that is out
        // of reach, one halfway from the average to certain.
        assert!((model::points(base, base, &t) - f64::from(t.warm)).abs() < 1e-9);
        let hot = (base * 2.5).min((1.0 + base) / 2.0);
        assert!((model::points(hot, base, &t) - f64::from(t.hot)).abs() < 1e-9);
    }
    // A history that wins half its leads still has hot leads: those at 75%.
    assert!((model::points(0.75, 0.5, &t) - f64::from(t.hot)).abs() < 1e-9);
}

// ---------------------------------------------------------------- synthetic history

use leadq::domain::interaction::{Interaction, Kind, Outcome};
use leadq::domain::model::solver::sigmoid;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const DAY: i64 = 86_400_000;

/// A history where the industry and the source matter (and a noise column does not), each
/// lead with a call or two before its close.
fn history(n: usize, seed: u64) -> (Vec<Lead>, Vec<Vec<Interaction>>, Vec<bool>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut leads, mut timelines, mut won) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..n {
        let industry = ["software", "retail", "banking", "farming"][rng.random_range(0..4)];
        let source = ["referral", "web-form", "cold-list"][rng.random_range(0..3)];
        let noise = format!("{}", rng.random_range(0..5));
        let mut logit: f64 = -1.5;
        logit += match industry {
            "software" => 1.5,
            "banking" => 0.5,
            _ => -0.5,
        };
        logit += match source {
            "referral" => 1.0,
            "cold-list" => -1.0,
            _ => 0.0,
        };
        let y = rng.random_bool(sigmoid(logit));
        let mut attributes = BTreeMap::new();
        attributes.insert("industry".to_string(), industry.to_string());
        attributes.insert("noise".to_string(), noise);
        let req = NewLead {
            name: format!("Lead {i}"),
            email: Some(format!("lead{i}@example.com")),
            source: Some(source.into()),
            attributes,
            ..NewLead::default()
        };
        let created = NOW - 30 * DAY;
        let lead = Lead::from_request(i as u64 + 1, &req, created);
        let call = |at: i64, outcome| Interaction {
            kind: Kind::Call,
            outcome: Some(outcome),
            author: "ann".into(),
            at,
            note: None,
            duration_secs: None,
            closed_as: None,
        };
        let mut timeline = vec![call(created + DAY, Outcome::NoAnswer)];
        // Leads that will be won answer more often before they close.
        if rng.random_bool(if y { 0.6 } else { 0.2 }) {
            timeline.push(call(created + 2 * DAY, Outcome::Connected));
        }
        timelines.push(timeline);
        leads.push(lead);
        won.push(y);
    }
    (leads, timelines, won)
}

fn examples<'a>(
    leads: &'a [Lead],
    timelines: &'a [Vec<Interaction>],
    won: &[bool],
) -> Vec<Example<'a>> {
    leads
        .iter()
        .zip(timelines)
        .zip(won)
        .map(|((lead, timeline), &won)| Example {
            lead,
            timeline,
            cutoff: NOW - 10 * DAY,
            won,
        })
        .collect()
}

fn options(exclude: &[&str]) -> TrainOptions {
    TrainOptions {
        exclude: exclude.iter().map(|s| s.to_string()).collect(),
        now: NOW,
        seed: model::SEED,
    }
}

#[test]
fn what_was_logged_after_the_close_changes_nothing() {
    let (leads, timelines, won) = history(2_000, 1);
    let before = model::train(
        &examples(&leads, &timelines, &won),
        &Rules::defaults(),
        &options(&[]),
    )
    .unwrap();
    // Every won lead gets a meeting held after it closed (a kick-off), every lost one an
    // unsubscribe: perfect predictors, if the model could see them.
    let late: Vec<Vec<Interaction>> = timelines
        .iter()
        .zip(&won)
        .map(|(t, &w)| {
            let mut t = t.clone();
            t.push(Interaction {
                kind: if w { Kind::Meeting } else { Kind::Email },
                outcome: Some(if w {
                    Outcome::Held
                } else {
                    Outcome::Unsubscribed
                }),
                author: "ann".into(),
                at: NOW - 5 * DAY,
                note: None,
                duration_secs: None,
                closed_as: None,
            });
            t
        })
        .collect();
    let after = model::train(
        &examples(&leads, &late, &won),
        &Rules::defaults(),
        &options(&[]),
    )
    .unwrap();
    assert_eq!(before.columns, after.columns);
    assert_eq!(before.weights, after.weights);
    assert_eq!(before.holdout, after.holdout);
    // And the stage, which is the outcome, is no feature: leads closed won or lost score
    // alike when nothing else differs.
    let names: Vec<&str> = after.columns.iter().map(|c| c.name.as_str()).collect();
    assert!(!names.contains(&"stage"), "{names:?}");
    // What happened before the close is learned from.
    let connected = after
        .strongest(20)
        .into_iter()
        .find(|s| s.column == "timeline")
        .expect("the timeline before the close is a column");
    assert!(
        connected
            .raises
            .is_some_and(|f| f.label == "touches: call connected")
    );
}

#[test]
fn a_model_no_better_than_the_rules_is_not_used() {
    // Only the source decides, and the rules know the sources; the model may not look at it.
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let (mut leads, mut won) = (Vec::new(), Vec::new());
    for i in 0..1_000 {
        let referral = rng.random_bool(0.3);
        let mut attributes = BTreeMap::new();
        attributes.insert("noise".to_string(), format!("{}", rng.random_range(0..4)));
        let req = NewLead {
            name: format!("Lead {i}"),
            email: Some(format!("l{i}@example.com")),
            source: Some(if referral { "referral" } else { "cold-list" }.into()),
            attributes,
            ..NewLead::default()
        };
        leads.push(Lead::from_request(i + 1, &req, NOW - DAY));
        won.push(rng.random_bool(if referral { 0.6 } else { 0.05 }));
    }
    let none: Vec<Vec<Interaction>> = vec![vec![]; leads.len()];
    let m = model::train(
        &examples(&leads, &none, &won),
        &Rules::defaults(),
        &options(&["source"]),
    )
    .unwrap();
    assert!(!m.active, "{}", m.verdict);
    assert!(m.verdict.starts_with("not used"), "{}", m.verdict);
    assert!(m.holdout.rules.auc > m.holdout.model.auc);
    // With the source it learns what the rules know, and more precisely.
    let m = model::train(
        &examples(&leads, &none, &won),
        &Rules::defaults(),
        &options(&[]),
    )
    .unwrap();
    assert!(
        m.holdout.model.auc >= m.holdout.rules.auc - 0.01,
        "{:?}",
        m.holdout
    );
}

#[test]
fn too_little_history_says_what_is_missing() {
    let (leads, timelines, _) = history(120, 2);
    let won: Vec<bool> = (0..120).map(|i| i < 30).collect();
    let err = model::train(
        &examples(&leads, &timelines, &won),
        &Rules::defaults(),
        &options(&[]),
    )
    .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("30 won and 90 lost"), "{message}");
    assert!(message.contains("20 more won"), "{message}");
    assert!(!message.contains("more lost"), "{message}");
}

#[test]
fn the_factors_add_up_to_the_chance() {
    let (leads, timelines, won) = history(2_000, 3);
    let m = model::train(
        &examples(&leads, &timelines, &won),
        &Rules::defaults(),
        &options(&[]),
    )
    .unwrap();
    assert!(m.active, "{}", m.verdict);
    for (lead, timeline) in leads.iter().zip(&timelines).take(50) {
        let p = m.predict(lead, timeline, NOW);
        let logit = p.base + p.factors.iter().map(|f| f.effect).sum::<f64>();
        assert!((sigmoid(logit) - p.chance).abs() < 1e-12);
        assert!((m.chance(lead, timeline, NOW) - p.chance).abs() < 1e-12);
        // The strongest factor names what the history was made of, never the noise.
        let top = &p.factors[0].label;
        assert!(
            ["industry", "source", "touches", "without touches"]
                .iter()
                .any(|w| top.starts_with(w)),
            "{top}"
        );
    }
    let software = leads
        .iter()
        .position(|l| {
            l.attributes["industry"] == "software" && l.source.as_deref() == Some("referral")
        })
        .unwrap();
    let farming = leads
        .iter()
        .position(|l| {
            l.attributes["industry"] == "farming" && l.source.as_deref() == Some("cold-list")
        })
        .unwrap();
    let hi = m.predict(&leads[software], &timelines[software], NOW);
    let lo = m.predict(&leads[farming], &timelines[farming], NOW);
    assert!(
        hi.chance > 0.6 && lo.chance < 0.1,
        "{} {}",
        hi.chance,
        lo.chance
    );
    assert!(
        hi.factors
            .iter()
            .any(|f| f.label == "industry: software" && f.effect > 0.0)
    );
    assert!(
        lo.factors
            .iter()
            .any(|f| f.label == "source: cold-list" && f.effect < 0.0)
    );
}

#[test]
fn temperature_means_something_on_the_holdout() {
    let (leads, won) = bank();
    let examples: Vec<Example> = leads
        .iter()
        .zip(&won)
        .map(|(lead, &won)| Example {
            lead,
            timeline: &[],
            cutoff: NOW,
            won,
        })
        .collect();
    let m = model::train(&examples, &Rules::defaults(), &options(&[])).unwrap();
    let base = m.holdout.won as f64 / m.holdout.leads as f64;
    let rate = |t: leadq::domain::Temperature| {
        m.holdout
            .temperatures
            .iter()
            .find(|r| r.temperature == t)
            .unwrap()
            .won_rate
    };
    assert!(rate(leadq::domain::Temperature::Hot) >= 2.0 * base);
    assert!(rate(leadq::domain::Temperature::Cold) < base);
}

#[test]
fn a_file_of_many_wide_columns_is_bounded() {
    // 300 attribute names, each lead with 100 of them, 40 values each: a careless export.
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let (mut leads, mut won) = (Vec::new(), Vec::new());
    for i in 0..1_500 {
        let mut attributes = BTreeMap::new();
        for _ in 0..100 {
            let k = rng.random_range(0..300);
            attributes.insert(format!("k{k}"), format!("v{}", rng.random_range(0..40)));
        }
        let req = NewLead {
            name: format!("Lead {i}"),
            attributes,
            ..NewLead::default()
        };
        leads.push(Lead::from_request(i + 1, &req, NOW - DAY));
        won.push(rng.random_bool(0.3));
    }
    let none: Vec<Vec<Interaction>> = vec![vec![]; leads.len()];
    let m = model::train(
        &examples(&leads, &none, &won),
        &Rules::defaults(),
        &options(&[]),
    )
    .unwrap();
    let plain: Vec<_> = m
        .columns
        .iter()
        .filter(|c| !matches!(c.input, model::features::Input::Cross(..)))
        .collect();
    assert!(
        plain.len() <= model::features::MAX_COLUMNS + 2,
        "{}",
        plain.len()
    );
    let levels: usize = plain.iter().map(|c| c.levels.len()).sum();
    assert!(levels <= model::features::MAX_LEVELS + 40, "{levels}");
    // Noise is noise: the rules (which see nothing here either) are not beaten by much.
    assert!(m.holdout.model.auc < 0.6, "{}", m.holdout.model.auc);
}

#[test]
fn a_model_crosses_the_wire_as_json_unchanged() {
    // The server sends `model status` as JSON, which has no infinity or NaN.
    let (leads, won) = bank();
    let examples: Vec<Example> = leads
        .iter()
        .zip(&won)
        .take(8_000)
        .map(|(lead, &won)| Example {
            lead,
            timeline: &[],
            cutoff: NOW,
            won,
        })
        .collect();
    let m = model::train(&examples, &Rules::defaults(), &options(&[])).unwrap();
    let text = serde_json::to_string(&m).unwrap();
    let back: model::Model =
        serde_json::from_str(&text).expect("every number in the model is one JSON carries");
    // JSON may round the last bit of a float: the same columns, the same chances.
    let labels = |m: &model::Model| -> Vec<String> {
        m.columns
            .iter()
            .flat_map(|c| c.levels.iter().map(|l| l.label.clone()))
            .collect()
    };
    assert_eq!(labels(&back), labels(&m));
    for lead in leads.iter().step_by(97) {
        assert!((back.chance(lead, &[], NOW) - m.chance(lead, &[], NOW)).abs() < 1e-9);
    }
}

#[test]
fn hand_rules_can_make_a_lead_hot_from_its_attributes_alone() {
    // Without history the rules score; a team's own rules file may let fit alone reach hot.
    let text = leadq::domain::scoring::DEFAULT_RULES.replacen("max = 40", "max = 100", 1)
        + "\n[[fit.rule]]\nname = \"enterprise plan\"\nfield = \"plan\"\nequals = [\"enterprise\"]\npoints = 70\n";
    let rules = Rules::parse(&text, "scoring.toml").unwrap();
    let mut attributes = BTreeMap::new();
    attributes.insert("plan".to_string(), "Enterprise".to_string());
    let lead = Lead::from_request(
        1,
        &NewLead {
            name: "Ann".into(),
            email: Some("ann@corp.example".into()),
            attributes,
            ..NewLead::default()
        },
        NOW,
    );
    let state = rules.compute(&lead, &[], NOW);
    let score = state.score(&rules, NOW);
    assert!(score >= 65, "{score}");
    assert_eq!(
        rules
            .temperature
            .classify(score, leadq::domain::Temperature::Cold),
        leadq::domain::Temperature::Hot
    );
}
