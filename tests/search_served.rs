//! Search where the leads are (`LeadService::search`): over a view, its best page and how
//! many leads match, against the same search done by hand over the whole view (the view's
//! rows in queue order, each matched with `SearchIndex`: best class first, then the view's
//! order). As the user types (a longer query narrows the last one), with writes between the
//! keystrokes (the index is kept with each write), in process and through a server; a rep
//! never finds a colleague's lead, whatever view they name.

mod common;

use leadq::domain::search::SearchIndex;
use leadq::domain::{Kind, Millis, NewLead, Outcome, Temperature};
use leadq::remote::client::Client;
use leadq::service::{Identity, LeadService, Local, LogEntry, OwnerFilter, Query, Role, Settings};
use leadq::store::{DEFAULT_CACHE_BYTES, Store};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// 2026-11-20T12:00:00Z.
const START: Millis = 1_795_176_000_000;

const TYPED: &[&str] = &[
    "anna", "ma ac", "silva", "gl", "иван", "vip", "+1 202", "zzz",
];

fn views() -> Vec<Query> {
    vec![
        Query::default(),
        Query {
            temperature: Some(Temperature::Hot),
            ..Query::default()
        },
        Query {
            all: true,
            ..Query::default()
        },
        Query {
            owner: Some(OwnerFilter::User("bob".into())),
            all: true,
            ..Query::default()
        },
        Query {
            today: true,
            ..Query::default()
        },
        Query {
            tag: Some("VIP".into()),
            all: true,
            ..Query::default()
        },
    ]
}

/// The search done by hand: every row of the view, matched, best first then view order.
fn by_hand(s: &dyn LeadService, view: &Query, text: &str, limit: usize) -> (Vec<u64>, usize) {
    let rows = s.list(view).expect("the view");
    let index = SearchIndex::build(rows.iter().map(|v| &v.lead));
    let hits = index.search(text, None);
    let count = hits.len();
    let best = hits
        .iter()
        .take(limit)
        .map(|m| rows[m.row].lead.id)
        .collect();
    (best, count)
}

fn check(s: &dyn LeadService, view: &Query, text: &str, when: &str) -> TestResult {
    for limit in [5, 500] {
        let found = s.search(view, text, limit)?;
        let got: Vec<u64> = found.rows.iter().map(|v| v.lead.id).collect();
        let (want, count) = by_hand(s, view, text, limit);
        assert_eq!(
            found.hits, count,
            "how many match {text:?} in {view:?}, {when}"
        );
        assert_eq!(
            got, want,
            "the best {limit} for {text:?} in {view:?}, {when}"
        );
    }
    Ok(())
}

fn write(s: &dyn LeadService, rng: &mut ChaCha8Rng, ids: &[u64]) {
    let id = ids[rng.random_range(0..ids.len())];
    let entry = LogEntry {
        kind: Kind::Call,
        outcome: Some(Outcome::Connected),
        note: None,
        at: None,
        next_action: None,
        duration_secs: None,
    };
    let name = ["vip", "Vip", "eu"][rng.random_range(0..3)];
    let tag = || vec![name.to_string()];
    let _ = match rng.random_range(0..6) {
        4 => s
            .edit(
                id,
                leadq::domain::edit::LeadEdit {
                    tag: tag(),
                    ..Default::default()
                },
            )
            .map(drop),
        5 => s
            .edit(
                id,
                leadq::domain::edit::LeadEdit {
                    untag: tag(),
                    ..Default::default()
                },
            )
            .map(drop),
        0 => s.log(id, entry).map(drop),
        1 => s
            .assign(
                id,
                ["bob", "carol"]
                    .get(rng.random_range(0..3))
                    .map(|o| o.to_string()),
            )
            .map(drop),
        2 => s.won(id, None).map(drop),
        _ => s
            .add(NewLead {
                name: format!("Anna Silva {}", rng.random_range(0..1000)),
                email: Some(format!(
                    "anna{}@globex.example",
                    rng.random_range(0..100_000)
                )),
                company: Some("Globex".into()),
                ..NewLead::default()
            })
            .map(drop),
    };
}

fn typing(s: &dyn LeadService, rng: &mut ChaCha8Rng, rounds: usize) -> TestResult {
    let all = Query {
        all: true,
        ..Query::default()
    };
    for round in 0..rounds {
        let view = &views()[round % views().len()];
        let word = TYPED[round % TYPED.len()];
        let chars: Vec<char> = word.chars().collect();
        for n in 1..=chars.len() {
            let text: String = chars[..n].iter().collect();
            if rng.random_range(0..3) == 0 {
                let ids: Vec<u64> = s.list(&all)?.iter().map(|v| v.lead.id).collect();
                write(s, rng, &ids);
            }
            check(s, view, &text, &format!("round {round}"))?;
        }
    }
    Ok(())
}

#[test]
fn a_search_of_a_view_finds_what_a_search_by_hand_finds_as_the_user_types_in_process() -> TestResult
{
    let dir = tempfile::tempdir()?;
    let s = Local::new(
        Store::open(&dir.path().join("store"), DEFAULT_CACHE_BYTES)?,
        Settings {
            fixed_now: Some(START),
            ..Settings::default()
        },
    )?;
    s.demo(400, 3)?;
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    typing(&s, &mut rng, 20)?;
    // A lead that arrives while a query is typed is found by the next keystroke, though the
    // search narrows the last one's hits.
    let all = Query {
        all: true,
        ..Query::default()
    };
    assert_eq!(s.search(&all, "qxjw", 10)?.hits, 0);
    s.add(NewLead {
        name: "Qxjw Vbnm".into(),
        email: Some("q@vbnm.example".into()),
        ..NewLead::default()
    })?;
    let found = s.search(&all, "qxjw v", 10)?;
    assert_eq!(
        found
            .rows
            .iter()
            .map(|v| v.lead.name.as_str())
            .collect::<Vec<_>>(),
        ["Qxjw Vbnm"],
        "the lead added while typing"
    );
    // A rep finds only their own leads and the pool's, whatever view they name.
    let rep = s.session(Identity {
        user: "bob".into(),
        role: Role::Rep,
    });
    for view in views().into_iter().chain([Query {
        owner: Some(OwnerFilter::User("carol".into())),
        all: true,
        ..Query::default()
    }]) {
        let found = rep.search(&view, "a", 1000)?;
        assert!(
            found
                .rows
                .iter()
                .all(|v| v.lead.owner.as_deref().is_none_or(|o| o == "bob")),
            "a rep found a colleague's lead in {view:?}"
        );
        check(&rep, &view, "a", "as a rep")?;
    }
    Ok(())
}

#[test]
fn a_search_of_a_view_finds_what_a_search_by_hand_finds_through_the_server() -> TestResult {
    let home = common::home::Home::new();
    assert!(home.run(&["demo", "--count", "300"]).status.success());
    let server = home.server();
    let client = Client::connect(&home.store(), false)?;
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    typing(&client, &mut rng, 10)?;
    drop(client);
    server.stop();
    Ok(())
}
