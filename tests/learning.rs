//! The learned score in the service: closed history in through an import, training with the
//! holdout, the queue scored by the model (its chance on every lead, its finer order for ties),
//! the model kept in the store across a reopen, retraining once enough outcomes arrive, and
//! the rules back when a model loses to them. A fixed clock throughout.

use std::collections::BTreeMap;

use leadq::domain::{Closed, Millis, NewLead, Stage};
use leadq::service::{ImportOptions, LeadService, Local, Query, Settings};
use leadq::store::{DEFAULT_CACHE_BYTES, Store};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// 2026-11-20T12:00:00Z.
const NOW: Millis = 1_795_176_000_000;
const DAY: Millis = 86_400_000;

fn settings() -> Settings {
    Settings {
        user: "boss".into(),
        fixed_now: Some(NOW),
        ..Settings::default()
    }
}

/// `n` rows of an old CRM: the plan decides the odds (enterprise 60%, team 20%, free 3%), the
/// region does not; `open` more rows without an outcome.
fn rows(n: usize, open: usize, seed: u64) -> Vec<NewLead> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n + open)
        .map(|i| {
            let plan = ["enterprise", "team", "free"][rng.random_range(0..3)];
            let p = match plan {
                "enterprise" => 0.6,
                "team" => 0.2,
                _ => 0.03,
            };
            let won = rng.random_bool(p);
            let mut attributes = BTreeMap::new();
            attributes.insert("plan".to_string(), plan.to_string());
            attributes.insert(
                "region".to_string(),
                ["north", "south"][rng.random_range(0..2)].to_string(),
            );
            NewLead {
                name: format!("Person {i}"),
                email: Some(format!("person{i}@corp{}.example", i % 50)),
                attributes,
                closed: (i < n).then_some(Closed {
                    won,
                    at: Some(NOW - 30 * DAY + i as i64 * 1000),
                }),
                ..NewLead::default()
            }
        })
        .collect()
}

fn import(s: &Local, rows: Vec<NewLead>) {
    let report = s
        .import(
            rows,
            &ImportOptions {
                origin: "old-crm.csv".into(),
                ..ImportOptions::default()
            },
        )
        .unwrap();
    assert!(report.written, "{report:?}");
}

#[test]
fn history_trains_a_model_that_scores_the_open_queue() {
    let s = Local::new(Store::temporary().unwrap(), settings()).unwrap();
    import(&s, rows(1_500, 300, 1));
    let won = s
        .list(&Query {
            stage: Some(Stage::Customer),
            all: true,
            ..Query::default()
        })
        .unwrap();
    assert!(!won.is_empty());
    assert!(
        won.iter()
            .all(|v| v.lead.created < NOW && v.chance.is_none())
    );
    assert!(
        s.model().unwrap().is_none(),
        "no model until a manager trains one"
    );

    let m = s.train_model(None).unwrap();
    assert!(m.active, "{}", m.verdict);
    assert_eq!(m.version, 1);
    assert_eq!(m.won + m.lost, 1_500);
    assert!(m.holdout.model.auc > 0.7, "{:?}", m.holdout.model);
    assert_eq!(
        m.holdout.rules.auc, 0.5,
        "the rules cannot tell these leads apart"
    );

    // Every open lead has a chance, and the queue is in the order of it: enterprise first.
    let queue = s.list(&Query::default()).unwrap();
    assert_eq!(queue.len(), 300);
    assert!(queue.iter().all(|v| v.chance.is_some()));
    for pair in queue.windows(2) {
        assert!(
            pair[0].score > pair[1].score
                || (pair[0].score == pair[1].score
                    && pair[0].chance.unwrap() >= pair[1].chance.unwrap() - 1e-9),
            "ties are ordered by the chance, not by arrival"
        );
    }
    assert_eq!(queue[0].lead.attributes["plan"], "enterprise");
    assert_eq!(queue[299].lead.attributes["plan"], "free");

    // `show` explains the chance with the plan, and the score's fit is the learned one.
    let d = s.show(queue[0].lead.id).unwrap();
    let p = d.prediction.expect("a prediction");
    assert!((p.chance - queue[0].chance.unwrap()).abs() < 1e-9);
    assert_eq!(p.factors[0].label, "plan: enterprise");
    assert!(d.explanation.items[0].rule.starts_with("learned fit"));
}

#[test]
fn the_model_is_kept_and_retrained_when_outcomes_arrive() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    {
        let s = Local::new(Store::open(&path, DEFAULT_CACHE_BYTES).unwrap(), settings()).unwrap();
        import(&s, rows(600, 200, 2));
        assert!(
            s.retrain_if_due().is_none(),
            "never before a first training"
        );
        s.train_model(Some(vec!["region".into()])).unwrap();
    }
    let s = Local::new(Store::open(&path, DEFAULT_CACHE_BYTES).unwrap(), settings()).unwrap();
    let m = s.model().unwrap().expect("the model survives a reopen");
    assert_eq!(m.excluded, ["region"]);
    assert!(m.columns.iter().all(|c| c.name != "region"));
    let open = s.list(&Query::default()).unwrap();
    assert!(
        open[0].chance.is_some(),
        "the reopened store scores with it"
    );
    assert!(s.retrain_if_due().is_none(), "nothing new yet");
    for v in open.iter().take(60) {
        s.won(v.lead.id, None).unwrap();
    }
    let retrained = s
        .retrain_if_due()
        .expect("60 new outcomes are enough")
        .unwrap();
    assert_eq!(retrained.version, 2);
    assert_eq!(retrained.won + retrained.lost, 660);
    assert_eq!(retrained.excluded, ["region"], "the exclusions are kept");
    assert!(s.retrain_if_due().is_none());
    // A name that is no column (a typo) is refused, not taken as an empty exclusion that
    // would bring back the column left out before.
    for typo in ["regoin", "", "  "] {
        let err = s
            .train_model(Some(vec![typo.into()]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no column") && err.contains("region"),
            "{typo:?}: {err}"
        );
    }
    let kept = s.model().unwrap().expect("a model");
    assert_eq!(
        (kept.version, kept.excluded.clone()),
        (2, vec!["region".to_string()]),
        "a refused training changes nothing"
    );
    // Names compare as leadq compares attribute names.
    let m = s.train_model(Some(vec!["Region ".into()])).unwrap();
    assert!(m.columns.iter().all(|c| c.name != "region"));
}

#[test]
fn a_rep_cannot_train_and_an_add_cannot_carry_history() {
    let s = Local::new(Store::temporary().unwrap(), settings()).unwrap();
    import(&s, rows(400, 10, 3));
    let rep = s.session(leadq::service::Identity {
        user: "ann".into(),
        role: leadq::service::Role::Rep,
    });
    let err = rep.train_model(None).unwrap_err().to_string();
    assert!(err.contains("only a manager"), "{err}");
    let err = rep
        .add(NewLead {
            name: "Won already".into(),
            email: Some("won@example.com".into()),
            closed: Some(Closed {
                won: true,
                at: None,
            }),
            ..NewLead::default()
        })
        .unwrap_err()
        .to_string();
    assert!(err.contains("import"), "{err}");
}

#[test]
fn a_close_date_in_the_future_is_refused_with_the_row() {
    let s = Local::new(Store::temporary().unwrap(), settings()).unwrap();
    let mut bad = rows(3, 0, 4);
    bad[1].closed = Some(Closed {
        won: true,
        at: Some(NOW + 2 * DAY),
    });
    let report = s.import(bad, &ImportOptions::default()).unwrap();
    assert!(!report.written);
    assert_eq!(report.invalid.len(), 1);
    assert_eq!(report.invalid[0].0, 1);
    assert!(
        report.invalid[0].1.contains("future"),
        "{:?}",
        report.invalid
    );
    assert!(
        s.list(&Query {
            all: true,
            ..Query::default()
        })
        .unwrap()
        .is_empty()
    );
}

#[test]
fn without_enough_history_the_rules_stay() {
    let s = Local::new(Store::temporary().unwrap(), settings()).unwrap();
    import(&s, rows(80, 20, 5));
    let err = s.train_model(None).unwrap_err().to_string();
    assert!(err.contains("not enough history"), "{err}");
    assert!(err.contains("at least 50 won and 50 lost"), "{err}");
    assert!(s.model().unwrap().is_none());
    assert!(
        s.list(&Query::default())
            .unwrap()
            .iter()
            .all(|v| v.chance.is_none())
    );
}

/// Leads closed while no server ran (by the CLI, on the store itself) count when a server
/// starts over the store: it reads how many leads are closed from the kept counts and knows
/// a retraining is due.
#[test]
fn outcomes_closed_without_the_server_count_when_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let open = || Local::new(Store::open(&path, DEFAULT_CACHE_BYTES).unwrap(), settings()).unwrap();
    // Another process closes `n` leads and goes.
    let close = |n: usize| {
        let s = open();
        for v in s.list(&Query::default()).unwrap().iter().take(n) {
            s.won(v.lead.id, None).unwrap();
        }
    };
    {
        let s = open();
        import(&s, rows(600, 200, 3));
        s.train_model(None).unwrap();
    }
    close(59);
    let s = open();
    s.count_new_outcomes().unwrap();
    assert!(
        s.retrain_if_due().is_none(),
        "59 new outcomes are not enough"
    );
    drop(s);
    close(1);
    let s = open();
    assert!(s.retrain_if_due().is_none(), "not counted before the start");
    s.count_new_outcomes().unwrap();
    let m = s
        .retrain_if_due()
        .expect("60 outcomes closed meanwhile are enough")
        .unwrap();
    assert_eq!(m.won + m.lost, 660);
}
