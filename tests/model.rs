//! The learned score, pure: the solver, the features (no leakage), the proof on a holdout, the
//! calibration and the explanations, on the real bank telemarketing history.

use std::collections::BTreeMap;

use leadq::domain::model::{self, Example, TrainOptions};
use leadq::domain::{Lead, NewLead, Rules};

const NOW: i64 = 1_790_000_000_000;

/// The bank's 41,188 calls as closed leads, `duration` left out (it is known only after the
/// call), as `import --outcome-column y` would store them.
fn bank() -> (Vec<Lead>, Vec<bool>) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/data/bank-telemarketing.csv"
    );
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
}

#[test]
fn fit_points_give_back_their_chance() {
    let t = Rules::defaults().temperature;
    for base in [0.02, 0.113, 0.4] {
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
        // The average lead is warm, one 2.5 times likelier is hot.
        assert!((model::points(base, base, &t) - f64::from(t.warm)).abs() < 1e-9);
        assert!((model::points(base * 2.5, base, &t) - f64::from(t.hot)).abs() < 1e-9);
    }
}
