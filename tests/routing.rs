//! Routing: a table of rules and leads with the rep each must go to; fairness over 10,000
//! leads; reps away passed over and back without a flood; caps; a restart in the middle of a
//! stream keeping the rotation; the pool routed again; every routing a timeline event.

use std::collections::BTreeMap;

use leadq::domain::routing::{Facts, Loads, Rules, State, route};
use leadq::domain::{Millis, NewLead, Temperature};
use leadq::service::{AwayRequest, Identity, LeadService, Local, Role, RouteRequest, Settings};
use leadq::store::{DEFAULT_CACHE_BYTES, Store};

const NOW: Millis = 1_795_860_000_000; // 2026-11-22T10:00:00Z

const RULES: &str = r#"
[[rule]]
name = "enterprise"
attributes = { company_size = "1200" }
team = ["erin"]

[[rule]]
name = "hot web"
source = ["web-form", "landing-page"]
min_score = 70
temperature = ["hot"]
team = ["hana", "hugo"]

[[rule]]
name = "web"
source = ["web-form", "landing-page"]
weights = { wes = 3, wanda = 1 }
method = "weighted"

[[rule]]
name = "partners"
source = ["partner"]
team = ["pia", "paul", "pat"]
method = "least-loaded"
cap = 2
"#;

fn facts(source: &str, score: u8, temperature: Temperature, size: Option<&str>) -> Facts {
    Facts {
        source: Some(source.into()),
        attributes: size
            .map(|s| BTreeMap::from([("Company Size".to_string(), s.to_string())]))
            .unwrap_or_default(),
        score,
        temperature,
    }
}

#[test]
fn each_lead_goes_where_the_first_matching_rule_says() {
    let rules = Rules::parse(RULES).unwrap();
    let hot = Temperature::Hot;
    let warm = Temperature::Warm;
    // (lead, who it must go to, from a fresh state each time)
    let table: [(Facts, Option<&str>, &str); 7] = [
        (
            facts("web-form", 90, hot, Some("1200")),
            Some("erin"),
            "an attribute rule comes first",
        ),
        (
            facts("cold-list", 10, warm, Some("1200")),
            Some("erin"),
            "any source",
        ),
        (
            facts("web-form", 90, hot, None),
            Some("hana"),
            "hot web, first of its team",
        ),
        (
            facts("landing-page", 69, hot, None),
            Some("wes"),
            "under 70: plain web",
        ),
        (
            facts("web-form", 90, warm, None),
            Some("wes"),
            "not hot: plain web",
        ),
        (
            facts("partner", 50, warm, None),
            Some("pat"),
            "least loaded, ties by name",
        ),
        (
            facts("cold-list", 50, warm, None),
            None,
            "no rule: the pool",
        ),
    ];
    for (f, want, why) in table {
        let choice = route(&rules, &f, &mut State::default(), &Loads::default(), None);
        assert_eq!(choice.owner.as_deref(), want, "{why}: {choice:?}");
    }
    // Least-loaded takes the rep with the fewest untouched new leads; a rep at the cap is
    // passed over, saying why.
    let loads = Loads {
        untouched: BTreeMap::from([("pat".into(), 2), ("paul".into(), 1), ("pia".into(), 1)]),
    };
    let choice = route(
        &rules,
        &facts("partner", 50, warm, None),
        &mut State::default(),
        &loads,
        None,
    );
    assert_eq!(choice.owner.as_deref(), Some("paul"));
    assert!(
        choice
            .passed
            .iter()
            .any(|p| p.starts_with("pat: at the cap")),
        "{choice:?}"
    );
    let full = Loads {
        untouched: BTreeMap::from([("pat".into(), 2), ("paul".into(), 2), ("pia".into(), 9)]),
    };
    let choice = route(
        &rules,
        &facts("partner", 50, warm, None),
        &mut State::default(),
        &full,
        None,
    );
    assert_eq!(choice.owner, None, "everyone at the cap: the pool");
    assert_eq!(choice.passed.len(), 3);
}

#[test]
fn over_ten_thousand_leads_each_rep_gets_their_weight_and_away_reps_none() {
    let rules = Rules::parse(
        "[[rule]]\nname = \"all\"\nweights = { a = 5, b = 3, c = 2 }\nmethod = \"weighted\"\n",
    )
    .unwrap();
    let f = facts("web-form", 50, Temperature::Warm, None);
    let mut state = State::default();
    let mut got: BTreeMap<String, u32> = BTreeMap::new();
    for _ in 0..10_000 {
        let o = route(&rules, &f, &mut state, &Loads::default(), None)
            .owner
            .unwrap();
        *got.entry(o).or_default() += 1;
    }
    for (rep, weight) in [("a", 5.0), ("b", 3.0), ("c", 2.0)] {
        let share = f64::from(got[rep]) / 10_000.0;
        assert!((share - weight / 10.0).abs() <= 0.01, "{rep}: {share}");
    }
    // c away for 1,000 leads: a and b share them 5:3, c gets none...
    state.away.insert("c".into(), NOW);
    let mut away: BTreeMap<String, u32> = BTreeMap::new();
    for _ in 0..1_000 {
        let o = route(&rules, &f, &mut state, &Loads::default(), None)
            .owner
            .unwrap();
        *away.entry(o).or_default() += 1;
    }
    assert_eq!(away.get("c"), None);
    assert!(
        (f64::from(away["a"]) / 1000.0 - 0.625).abs() <= 0.01,
        "{away:?}"
    );
    // ...and back, c takes their share from then on, not a flood: over the next 10 leads c
    // gets 2, as before.
    state.away.remove("c");
    let next: Vec<String> = (0..10)
        .map(|_| {
            route(&rules, &f, &mut state, &Loads::default(), None)
                .owner
                .unwrap()
        })
        .collect();
    assert_eq!(next.iter().filter(|o| *o == "c").count(), 2, "{next:?}");
}

fn open(path: &std::path::Path, rules: &Rules) -> Local {
    Local::new(
        Store::open(path, DEFAULT_CACHE_BYTES).expect("store"),
        Settings {
            fixed_now: Some(NOW),
            routing: rules.clone(),
            ..Settings::default()
        },
    )
    .expect("service")
    .session(Identity {
        user: "intake:web-form".into(),
        role: Role::Manager,
    })
}

fn web_lead(n: usize) -> NewLead {
    NewLead {
        name: format!("Web {n}"),
        email: Some(format!("web{n}@x.example")),
        source: Some("web-form".into()),
        ..NewLead::default()
    }
}

/// The same stream of leads, with the store closed and opened again every 7 leads, goes to
/// the same reps as without: the rotation is kept with the store.
#[test]
fn a_restart_in_the_middle_of_a_stream_keeps_the_rotation() {
    let rules = Rules::parse(
        "[[rule]]\nname = \"web\"\nweights = { wes = 3, wanda = 1, will = 2 }\nmethod = \"weighted\"\n",
    )
    .unwrap();
    let run = |restart_every: usize| -> Vec<Option<String>> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store");
        let mut s = open(&path, &rules);
        let mut owners = Vec::new();
        for n in 0..40 {
            if restart_every > 0 && n % restart_every == 0 {
                drop(s);
                s = open(&path, &rules);
            }
            let inbound = s.add_inbound(web_lead(n)).expect("added");
            owners.push(inbound.routed.and_then(|r| r.owner));
        }
        owners
    };
    let straight = run(0);
    assert_eq!(
        straight
            .iter()
            .filter(|o| o.as_deref() == Some("wes"))
            .count(),
        20
    );
    assert_eq!(run(7), straight);
}

/// A rep away is passed over and told so by the dry run; the pool, routed again by a
/// manager, goes to the team; each routing is on the lead's timeline with its rule.
#[test]
fn away_reps_are_passed_over_and_the_pool_is_routed_again() {
    let rules =
        Rules::parse("[[rule]]\nname = \"web\"\nteam = [\"ann\", \"bob\"]\ncap = 1\n").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let s = open(&path, &rules);
    let ann = s.session(Identity {
        user: "ann".into(),
        role: Role::Rep,
    });
    ann.away(&AwayRequest {
        user: None,
        away: Some(true),
    })
    .expect("ann goes away");
    let refused = ann.away(&AwayRequest {
        user: Some("bob".into()),
        away: Some(true),
    });
    assert!(refused.is_err(), "a rep says only they are away");
    let first = s.add_inbound(web_lead(1)).unwrap().routed.unwrap();
    assert_eq!(first.owner.as_deref(), Some("bob"));
    // bob is at his cap of one untouched new lead, ann away: the pool.
    let second = s.add_inbound(web_lead(2)).unwrap().routed.unwrap();
    assert_eq!(second.owner, None);
    assert!(
        second.passed.contains(&"ann: away".to_string()),
        "{second:?}"
    );
    let explained = s.route(&RouteRequest::DryRun(second.id)).unwrap();
    assert_eq!(explained[0].owner, None);
    // ann back: the manager routes the pool, and the pool lead goes to her.
    ann.away(&AwayRequest {
        user: None,
        away: Some(false),
    })
    .unwrap();
    let check = s.route(&RouteRequest::Pool { dry_run: true }).unwrap();
    assert_eq!(check[0].owner.as_deref(), Some("ann"));
    assert_eq!(s.get_owner(second.id), None, "a check changes nothing");
    let routed = s.route(&RouteRequest::Pool { dry_run: false }).unwrap();
    assert_eq!(routed.len(), 1);
    assert_eq!(s.get_owner(second.id).as_deref(), Some("ann"));
    let timeline = s.show(second.id).unwrap().timeline;
    assert!(
        timeline.iter().any(|i| i
            .note
            .as_deref()
            .is_some_and(|n| n.contains("routed to ann by rule \"web\""))),
        "{timeline:?}"
    );
    assert_eq!(
        s.store().verify().unwrap(),
        Vec::<leadq::store::Problem>::new()
    );
}

trait Owner {
    fn get_owner(&self, id: u64) -> Option<String>;
}

impl Owner for Local {
    fn get_owner(&self, id: u64) -> Option<String> {
        self.show(id).unwrap().view.lead.owner
    }
}

fn at(path: &std::path::Path, rules: &Rules, now: Millis, who: (&str, Role)) -> Local {
    Local::new(
        Store::open(path, DEFAULT_CACHE_BYTES).expect("store"),
        Settings {
            fixed_now: Some(now),
            routing: rules.clone(),
            ..Settings::default()
        },
    )
    .expect("service")
    .session(Identity {
        user: who.0.into(),
        role: who.1,
    })
}

/// The clock: a web lead's first touch is due within its rule's target (or 5 minutes); it
/// is listed as awaiting until touched; past its target, a rule with `reroute` gives it to
/// the next rep with a new target, saying why on its timeline; the index of awaiting leads
/// stays equal to a recount throughout.
#[test]
fn an_untouched_web_lead_is_overdue_after_its_target_and_rerouted() {
    let rules = Rules::parse(
        "[[rule]]\nname = \"web\"\nsource = [\"web-form\"]\nteam = [\"ann\", \"bob\"]\n\
         target_minutes = 3\nreroute = true\n",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let intake = ("intake:web-form", Role::Manager);
    let first = at(&path, &rules, NOW, intake)
        .add_inbound(web_lead(1))
        .unwrap();
    let id = first.added.id;
    assert_eq!(
        first.routed.as_ref().and_then(|r| r.owner.as_deref()),
        Some("ann")
    );
    let plain = NewLead {
        source: Some("referral".into()),
        ..web_lead(2)
    };
    let other = at(&path, &rules, NOW, intake).add_inbound(plain).unwrap();
    let s = at(&path, &rules, NOW + 60_000, ("boss", Role::Manager));
    let awaiting = s.awaiting().unwrap();
    assert_eq!(awaiting.len(), 2);
    assert_eq!(awaiting[0].id, id, "soonest due first");
    assert_eq!(awaiting[0].due, NOW + 3 * 60_000, "the rule's target");
    assert_eq!(
        awaiting[1].due,
        NOW + 5 * 60_000,
        "no rule: the default target"
    );
    let bob = s.session(Identity {
        user: "bob".into(),
        role: Role::Rep,
    });
    assert!(
        bob.awaiting().unwrap().iter().all(|a| a.id != id),
        "a rep sees only what they may see"
    );
    drop((s, bob));
    // Two minutes in: not overdue, nothing moves.
    let s = at(&path, &rules, NOW + 2 * 60_000, intake);
    assert!(s.reroute_overdue().unwrap().is_empty());
    drop(s);
    // Four minutes in: overdue, so it goes to bob, with three minutes again.
    let s = at(&path, &rules, NOW + 4 * 60_000, intake);
    let moved = s.reroute_overdue().unwrap();
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert_eq!(moved[0].owner.as_deref(), Some("bob"));
    let lead = s.show(id).unwrap();
    assert_eq!(lead.view.lead.owner.as_deref(), Some("bob"));
    assert_eq!(lead.view.lead.response_due, Some(NOW + 7 * 60_000));
    assert!(lead.timeline.iter().any(|i| {
        i.note
            .as_deref()
            .is_some_and(|n| n.starts_with("re-routed to bob") && n.contains("ann had it 4m"))
    }));
    assert_eq!(
        s.store().verify().unwrap(),
        Vec::<leadq::store::Problem>::new()
    );
    drop(s);
    // Bob calls: the clock stops, the lead is no longer awaiting; the other still is.
    let bob = at(&path, &rules, NOW + 5 * 60_000, ("bob", Role::Rep));
    bob.log(
        id,
        leadq::service::LogEntry {
            kind: leadq::domain::Kind::Call,
            outcome: Some(leadq::domain::Outcome::Connected),
            note: None,
            at: None,
            next_action: None,
            duration_secs: None,
        },
    )
    .unwrap();
    drop(bob);
    let s = at(&path, &rules, NOW + 6 * 60_000, ("boss", Role::Manager));
    let left: Vec<u64> = s.awaiting().unwrap().iter().map(|a| a.id).collect();
    assert_eq!(left, [other.added.id]);
    assert_eq!(
        s.store().verify().unwrap(),
        Vec::<leadq::store::Problem>::new()
    );
}

/// The pool's check counts each lead it would give away, as the routing does: at a cap of
/// two, four of five pool leads go (two each) and one stays, in the check as in the routing,
/// lead by lead. In a team, a rep named away must be a member.
#[test]
fn the_pools_check_agrees_with_its_routing_and_away_names_a_member() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let none = Rules::default();
    {
        // Five web leads arrive with no rules: the pool.
        let s = open(&path, &none);
        for n in 0..5 {
            assert_eq!(s.add_inbound(web_lead(n)).unwrap().routed, None);
        }
    }
    let rules =
        Rules::parse("[[rule]]\nname = \"web\"\nteam = [\"ann\", \"bob\"]\ncap = 2\n").unwrap();
    let s = open(&path, &rules);
    let check: Vec<Option<String>> = s
        .route(&RouteRequest::Pool { dry_run: true })
        .unwrap()
        .into_iter()
        .map(|r| r.owner)
        .collect();
    assert_eq!(
        check.iter().flatten().count(),
        4,
        "two each, then the caps: {check:?}"
    );
    let done: Vec<Option<String>> = s
        .route(&RouteRequest::Pool { dry_run: false })
        .unwrap()
        .into_iter()
        .map(|r| r.owner)
        .collect();
    assert_eq!(done, check);
    drop(s);
    let team = Local::new(
        Store::open(&path, DEFAULT_CACHE_BYTES).unwrap(),
        Settings {
            fixed_now: Some(NOW),
            routing: rules,
            members: Some(vec!["ann".into(), "bob".into()]),
            ..Settings::default()
        },
    )
    .unwrap();
    let refused = team.away(&AwayRequest {
        user: Some("ghost".into()),
        away: Some(true),
    });
    assert!(
        refused.unwrap_err().to_string().contains("not a member"),
        "a name that is no member is refused"
    );
    assert!(
        team.away(&AwayRequest {
            user: Some("bob".into()),
            away: Some(true),
        })
        .is_ok()
    );
}
