//! The manager's reports against a small store worked out by hand: every figure of every
//! report in one fixed case, in process and through a server (the same answer), with a rep's
//! view of their own figures enforced.

mod common;

use common::home::Home;
use leadq::domain::report::{bucket, bucket_middle};
use leadq::domain::{Kind, LostReason, Millis, NewLead, Outcome, Stage};
use leadq::remote::client::Client;
use leadq::service::{
    Figure, Identity, LeadService, Local, LogEntry, Report, ReportKind, ReportRequest, Role,
    Settings,
};
use leadq::store::{DEFAULT_CACHE_BYTES, Store};

/// 2026-11-22T12:00:00Z: the leads arrive.
const T0: Millis = 1_795_348_800_000;
const MIN: Millis = 60_000;
const HOUR: Millis = 60 * MIN;
const DAY: Millis = 24 * HOUR;
/// The day after, when the reports are read.
const T1: Millis = T0 + DAY;
const T1_TEXT: &str = "2026-11-23T12:00:00Z";

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn at(path: &std::path::Path, now: Millis, user: &str) -> Local {
    let base = Local::new(
        Store::open(path, DEFAULT_CACHE_BYTES).expect("store"),
        Settings {
            fixed_now: Some(now),
            ..Settings::default()
        },
    )
    .expect("service");
    base.session(Identity {
        user: user.into(),
        role: Role::Manager,
    })
}

fn log(kind: Kind, outcome: Outcome) -> LogEntry {
    LogEntry {
        kind,
        outcome: Some(outcome),
        note: None,
        at: None,
        next_action: None,
        duration_secs: None,
    }
}

fn lead(name: &str, source: &str, owner: Option<&str>, tags: &[&str]) -> NewLead {
    NewLead {
        name: name.into(),
        email: Some(format!("{}@x.example", name.to_lowercase())),
        source: Some(source.into()),
        owner: owner.map(String::from),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        ..NewLead::default()
    }
}

/// The store: four leads at T0; alice calls Ann 3 minutes later (connected: contacted) and
/// e-mails Di after 30; bob calls Bo after 2 hours (no answer); Cy, in the pool, is never
/// touched. The next day alice holds a meeting with Ann (opportunity) and wins her; bob
/// loses Bo on price. Ann and Di came from the web form's "spring" campaign (named by a
/// `campaign` and a `utm_campaign` attribute), Cy from "autumn"; Bo names none.
fn build(path: &std::path::Path) -> TestResult {
    let s = at(path, T0, "admin");
    let in_campaign = |mut l: NewLead, name: &str, campaign: &str| {
        l.attributes.insert(name.into(), campaign.into());
        l
    };
    let ann = s
        .add(in_campaign(
            lead("Ann", "web-form", Some("alice"), &[]),
            "campaign",
            "spring",
        ))?
        .id;
    let bo = s.add(lead("Bo", "referral", Some("bob"), &[]))?.id;
    s.add(in_campaign(
        lead("Cy", "web-form", None, &[]),
        "Campaign",
        " autumn ",
    ))?;
    let di = s
        .add(in_campaign(
            lead("Di", "web-form", Some("alice"), &["VIP"]),
            "utm_campaign",
            "spring",
        ))?
        .id;
    drop(s);
    at(path, T0 + 3 * MIN, "alice").log(ann, log(Kind::Call, Outcome::Connected))?;
    at(path, T0 + 30 * MIN, "alice").log(di, log(Kind::Email, Outcome::Sent))?;
    at(path, T0 + 2 * HOUR, "bob").log(bo, log(Kind::Call, Outcome::NoAnswer))?;
    let alice = at(path, T1, "alice");
    alice.log(ann, log(Kind::Meeting, Outcome::Held))?;
    alice.won(ann, None)?;
    drop(alice);
    at(path, T1, "bob").set_stage(bo, Stage::Lost, Some(LostReason::Price))?;
    Ok(())
}

fn ask(kind: ReportKind) -> ReportRequest {
    ReportRequest {
        kind,
        days: None,
        from: None,
        to: None,
        source: None,
        owner: None,
        tag: None,
    }
}

fn text(s: &str) -> Figure {
    Figure::Text(s.into())
}

fn share(x: f64) -> Figure {
    Figure::Share(Some(x))
}

/// What a median of durations falling in `ms`'s bucket reads as.
fn about(ms: Millis) -> Figure {
    Figure::Duration(Some(bucket_middle(bucket(ms))))
}

/// Every report of the store at T1, from `s`.
fn reports(s: &dyn LeadService) -> Result<Vec<Report>, Box<dyn std::error::Error>> {
    Ok(ReportKind::ALL
        .iter()
        .map(|k| s.report(&ask(*k)))
        .collect::<Result<Vec<_>, _>>()?)
}

fn check(r: &[Report]) {
    let [funnel, sources, reps, speed, score, day] = r else {
        panic!("six reports")
    };
    let n = |x: u64| Figure::Count(x);
    let none = Figure::Share(None);
    let nothing = Figure::Duration(None);
    assert_eq!(
        funnel.tables[0].rows,
        vec![
            vec![text("new"), n(4), share(0.25), n(1), about(3 * MIN)],
            vec![
                text("contacted"),
                n(1),
                share(1.0),
                n(0),
                about(DAY - 3 * MIN)
            ],
            vec![text("qualified"), n(0), none.clone(), n(0), nothing.clone()],
            vec![text("opportunity"), n(1), share(1.0), n(0), about(0)],
            vec![text("customer"), n(1), share(0.0), n(0), nothing.clone()],
            vec![text("loyal"), n(0), none.clone(), n(0), nothing.clone()],
            vec![text("nurture"), n(0), none.clone(), n(0), nothing.clone()],
            vec![text("lost"), n(1), none.clone(), n(0), nothing.clone()],
        ],
        "the funnel"
    );
    assert_eq!(funnel.tables[1].title, "Closed: 1 won, 1 lost; why lost");
    assert_eq!(
        funnel.tables[1].rows,
        vec![vec![text("price"), n(1), share(1.0)]]
    );
    assert_eq!(funnel.tables[2].title, "Won each week █");
    assert_eq!(
        funnel.tables[2].rows,
        vec![vec![text("2026-11-23"), n(1)]],
        "Ann, won on Monday the 23rd"
    );
    assert_eq!(
        sources.tables[0].rows,
        vec![
            vec![
                text("web-form"),
                n(3),
                share(2.0 / 3.0),
                share(1.0 / 3.0),
                n(1),
                share(1.0 / 3.0),
                about(3 * MIN),
            ],
            vec![
                text("referral"),
                n(1),
                share(1.0),
                share(0.0),
                n(0),
                share(0.0),
                about(2 * HOUR),
            ],
            vec![
                text("all"),
                n(4),
                share(0.75),
                share(0.25),
                n(1),
                share(0.25),
                about(30 * MIN),
            ],
        ],
        "the sources"
    );
    assert_eq!(
        sources.tables[1].rows,
        vec![
            vec![
                text("web-form"),
                text("spring"),
                n(2),
                share(1.0),
                share(0.5),
                n(1),
                share(0.5),
            ],
            vec![
                text("web-form"),
                text("autumn"),
                n(1),
                share(0.0),
                share(0.0),
                n(0),
                share(0.0),
            ],
        ],
        "the campaigns: Ann and Di in spring, Cy in autumn, Bo in none"
    );
    assert_eq!(
        reps.tables[0].rows,
        vec![
            vec![
                text("alice"),
                n(1),
                Figure::Rate(1.5),
                n(1),
                share(1.0),
                about(3 * MIN),
                n(0),
                n(1),
                share(1.0),
            ],
            vec![
                text("bob"),
                n(0),
                Figure::Rate(0.5),
                n(1),
                share(0.0),
                about(2 * HOUR),
                n(0),
                n(0),
                share(0.0),
            ],
        ],
        "the reps (two days: the 22nd and the 23rd)"
    );
    assert_eq!(
        speed.tables[0].rows,
        vec![
            vec![text("within 5 minutes"), n(1), share(0.25)],
            vec![text("5 minutes to 1 hour"), n(1), share(0.25)],
            vec![text("1 to 24 hours"), n(1), share(0.25)],
            vec![text("later"), n(0), share(0.0)],
            vec![text("never (yet)"), n(1), share(0.25)],
        ],
        "speed to lead"
    );
    assert_eq!(
        speed.tables[2].rows,
        vec![
            vec![
                text("alice"),
                n(2),
                share(0.5),
                share(1.0),
                share(1.0),
                share(0.0),
                about(3 * MIN),
            ],
            vec![
                text("(pool)"),
                n(1),
                share(0.0),
                share(0.0),
                share(0.0),
                share(1.0),
                nothing.clone()
            ],
            vec![
                text("bob"),
                n(1),
                share(0.0),
                share(0.0),
                share(1.0),
                share(0.0),
                about(2 * HOUR),
            ],
        ],
        "speed to lead by rep"
    );
    // The score check: Ann won and Bo lost, each in the band of the score recorded as they
    // closed; the temperatures likewise.
    let rows: Vec<(String, Figure, Figure)> = score.tables[0]
        .rows
        .iter()
        .map(|r| (r[0].text(), r[1].clone(), r[2].clone()))
        .collect();
    let total: u64 = rows
        .iter()
        .map(|(_, c, _)| if let Figure::Count(n) = c { *n } else { 0 })
        .sum();
    assert_eq!(total, 2, "two closes with a score: {rows:?}");
    let temps: u64 = score.tables[1]
        .rows
        .iter()
        .map(|r| if let Figure::Count(n) = r[1] { n } else { 0 })
        .sum();
    assert_eq!(temps, 2);
    let counts: Vec<(String, Figure)> = day.tables[0]
        .rows
        .iter()
        .map(|r| (r[0].text(), r[1].clone()))
        .collect();
    assert_eq!(
        counts,
        [
            ("calls", 0),
            ("connected calls", 0),
            ("e-mails", 0),
            ("meetings", 1),
            ("notes", 0),
            ("stage moves", 2),
            ("won", 1),
            ("lost", 1),
            ("due today, not done", 0),
        ]
        .iter()
        .map(|(w, c)| (w.to_string(), n(*c)))
        .collect::<Vec<_>>(),
        "today (the 23rd): alice's meeting moved Ann on and the win moved her again; bob lost Bo"
    );
}

#[test]
fn every_figure_of_every_report_matches_the_hand_count_in_process_and_through_the_server()
-> TestResult {
    let home = Home::new();
    build(&home.store())?;
    let s = at(&home.store(), T1, "admin");
    let in_process = reports(&s)?;
    check(&in_process);
    // Each close recorded the standing it closed at, and the score check files it there.
    let standing = |id: u64, outcome: Outcome| {
        s.show(id)
            .unwrap()
            .timeline
            .iter()
            .find(|i| i.outcome == Some(outcome))
            .and_then(|i| i.closed_as)
            .expect("a standing recorded at close")
    };
    let (ann, bo) = (standing(1, Outcome::Won), standing(2, Outcome::Lost));
    let band = |score: u8| match score / 10 {
        9 | 10 => "90-100".to_string(),
        b => format!("{}-{}", b * 10, b * 10 + 9),
    };
    let score = &in_process[4].tables[0].rows;
    for (who, st, won) in [("Ann", ann, 1), ("Bo", bo, 0)] {
        let row = score
            .iter()
            .find(|r| r[0].text() == band(st.score))
            .unwrap_or_else(|| panic!("{who}'s band in {score:?}"));
        if band(ann.score) != band(bo.score) {
            assert_eq!(row[2], Figure::Count(won), "{who}: {row:?}");
        }
    }
    drop(s);
    assert!(
        Store::open(&home.store(), DEFAULT_CACHE_BYTES)?
            .verify()?
            .is_empty(),
        "the kept sums equal a recount"
    );
    let _server = home.server_with(&[("LEADQ_NOW", T1_TEXT)]);
    let client = Client::connect(&home.store(), false)?;
    assert_eq!(
        reports(&client)?,
        in_process,
        "the server gives the same answer"
    );
    Ok(())
}

#[test]
fn a_rep_sees_their_own_figures_and_a_tag_or_source_narrows_them() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("store");
    build(&path)?;
    let base = at(&path, T1, "admin");
    let alice = base.session(Identity {
        user: "alice".into(),
        role: Role::Rep,
    });
    let reps = alice.report(&ask(ReportKind::Reps))?;
    assert_eq!(reps.owner.as_deref(), Some("alice"));
    let names: Vec<String> = reps.tables[0].rows.iter().map(|r| r[0].text()).collect();
    assert_eq!(names, ["alice"], "only her own row");
    let sources = alice.report(&ask(ReportKind::Sources))?;
    assert_eq!(
        sources.tables[0].rows.last().map(|r| r[1].clone()),
        Some(Figure::Count(2)),
        "her two leads (Ann, Di), not bob's or the pool's"
    );
    let err = alice
        .report(&ReportRequest {
            owner: Some("bob".into()),
            ..ask(ReportKind::Reps)
        })
        .expect_err("a rep asking for a colleague's figures");
    assert!(err.to_string().contains("own figures"), "{err}");
    // A manager narrows by tag (any case) and by source.
    let vip = base.report(&ReportRequest {
        tag: Some("vip".into()),
        ..ask(ReportKind::Sources)
    })?;
    assert_eq!(
        vip.tables[0].rows[0][..3],
        [text("web-form"), Figure::Count(1), share(1.0)],
        "only Di"
    );
    let referral = base.report(&ReportRequest {
        source: Some("Referral".into()),
        ..ask(ReportKind::Speed)
    })?;
    assert_eq!(
        referral.tables[0].rows[2][1],
        Figure::Count(1),
        "Bo, within 24 hours"
    );
    // The last 1 day: only what happened on the 23rd.
    let funnel = base.report(&ReportRequest {
        days: Some(1),
        ..ask(ReportKind::Funnel)
    })?;
    let entered: Vec<Figure> = funnel.tables[0].rows.iter().map(|r| r[1].clone()).collect();
    let n = Figure::Count;
    assert_eq!(
        entered,
        [n(0), n(0), n(0), n(1), n(1), n(0), n(0), n(1)],
        "on the 23rd Ann entered opportunity and customer, Bo lost"
    );
    Ok(())
}

/// With `spend.toml`'s figures (web-form 300 and referral 60 in November 2026), the sources
/// report adds what each source cost over the period's days and per lead and customer.
#[test]
fn the_sources_report_costs_each_source_from_the_spend_file() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("store");
    build(&path)?;
    let file: leadq::config::SpendFile = toml::from_str(
        r#"
        [[spend]]
        source = "web-form"
        month = "2026-11"
        amount = 300
        [[spend]]
        source = "Referral"
        month = "2026-11"
        amount = 60.0
        [[spend]]
        source = "web-form"
        month = "2026-12"
        amount = 1000
        "#,
    )?;
    let spend = leadq::config::parse_spend(&file)?;
    let s = Local::new(
        Store::open(&path, DEFAULT_CACHE_BYTES)?,
        Settings {
            fixed_now: Some(T1),
            spend,
            ..Settings::default()
        },
    )?;
    let r = s.report(&ask(ReportKind::Sources))?;
    assert_eq!(
        r.tables[0].columns[7..],
        ["spend", "per lead", "per customer"]
    );
    let cost = |row: usize| r.tables[0].rows[row][7..].to_vec();
    // Two days of November (the 22nd and 23rd) of thirty.
    let close = |got: Vec<Figure>, want: [Option<f64>; 3]| {
        for (g, w) in got.iter().zip(want) {
            match (g, w) {
                (Figure::Money(Some(a)), Some(b)) => assert!((a - b).abs() < 1e-9, "{got:?}"),
                (Figure::Money(None), None) => {}
                _ => panic!("{got:?} against {want:?}"),
            }
        }
    };
    close(cost(0), [Some(20.0), Some(20.0 / 3.0), Some(20.0)]);
    close(cost(1), [Some(4.0), Some(4.0), None]);
    close(cost(2), [Some(24.0), Some(6.0), Some(24.0)]);
    // A broken file names the entry and what is wrong.
    let bad: leadq::config::SpendFile =
        toml::from_str("[[spend]]\nsource = \"x\"\nmonth = \"2026-13\"\namount = 5")?;
    let err = leadq::config::parse_spend(&bad).unwrap_err().to_string();
    assert!(err.contains("entry 1") && err.contains("YYYY-MM"), "{err}");
    let bad: leadq::config::SpendFile =
        toml::from_str("[[spend]]\nsource = \"x\"\nmonth = \"2026-11\"\namount = -5")?;
    let err = leadq::config::parse_spend(&bad).unwrap_err().to_string();
    assert!(err.contains("not a cost"), "{err}");
    // Costs are a whole source's: a tag's leads are not charged it all.
    let vip = s.report(&ReportRequest {
        tag: Some("vip".into()),
        ..ask(ReportKind::Sources)
    })?;
    assert_eq!(
        vip.tables[0].columns.len(),
        7,
        "no costs beside a tag's leads"
    );
    // A source paid for that brought no lead in the period still has its line.
    let spend = leadq::config::parse_spend(&toml::from_str(
        "[[spend]]\nsource = \"trade-show\"\nmonth = \"2026-11\"\namount = 300",
    )?)?;
    drop(s);
    let s = Local::new(
        Store::open(&path, DEFAULT_CACHE_BYTES)?,
        Settings {
            fixed_now: Some(T1),
            spend,
            ..Settings::default()
        },
    )?;
    let r = s.report(&ask(ReportKind::Sources))?;
    let trade = r.tables[0]
        .rows
        .iter()
        .find(|row| row[0] == text("trade-show"))
        .expect("a line for the source paid for");
    assert_eq!(trade[1], Figure::Count(0));
    assert_eq!(trade[7], Figure::Money(Some(20.0)), "2 days of 30 of 300");
    assert_eq!(trade[8], Figure::Money(None), "no lead to cost");
    // A rep's sources show no costs (they are the team's).
    let rep = s.session(Identity {
        user: "alice".into(),
        role: Role::Rep,
    });
    assert_eq!(
        rep.report(&ask(ReportKind::Sources))?.tables[0]
            .columns
            .len(),
        7
    );
    Ok(())
}

/// The day report's "due today" is narrowed by the tag and source asked for, as the
/// activity above it is; "none" names the unassigned pool as `list --owner none` does.
#[test]
fn the_day_report_counts_what_is_due_of_the_tag_and_source_asked_for() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("store");
    build(&path)?;
    let s = at(&path, T1, "admin");
    // Due today: Cy (web-form, the pool) and Di (web-form, alice, VIP).
    for name in ["Cy", "Di"] {
        let id = s
            .list(&leadq::service::Query {
                all: true,
                ..Default::default()
            })?
            .into_iter()
            .find(|v| v.lead.name == name)
            .expect("the lead")
            .lead
            .id;
        s.set_next(id, Some(T1 - HOUR))?;
    }
    let due = |q: ReportRequest| -> Result<Figure, Box<dyn std::error::Error>> {
        let r = s.report(&q)?;
        let row = r.tables[0].rows.last().expect("the due line").clone();
        assert_eq!(row[0], text("due today, not done"));
        Ok(row[1].clone())
    };
    let day = ask(ReportKind::Day);
    assert_eq!(due(day.clone())?, Figure::Count(2));
    let vip = ReportRequest {
        tag: Some("vip".into()),
        ..day.clone()
    };
    assert_eq!(due(vip)?, Figure::Count(1), "Di");
    let referral = ReportRequest {
        source: Some("referral".into()),
        ..day.clone()
    };
    assert_eq!(due(referral)?, Figure::Count(0));
    let pool = ReportRequest {
        owner: Some("none".into()),
        ..day
    };
    let r = s.report(&pool)?;
    assert_eq!(r.owner.as_deref(), Some(""), "the pool");
    assert_eq!(r.tables[0].title, "The unassigned pool's day");
    assert_eq!(
        r.tables[0].rows.last().map(|r| r[1].clone()),
        Some(Figure::Count(1)),
        "Cy"
    );
    Ok(())
}

/// On a varied store (the demo's 3,000 leads: every stage, closes at every score from 0 up,
/// history), the sums kept as the leads were written equal a count from every lead and
/// timeline.
#[test]
fn the_kept_sums_of_a_varied_store_equal_a_recount() -> TestResult {
    let s = Local::new(
        Store::temporary()?,
        Settings {
            fixed_now: Some(T1),
            ..Settings::default()
        },
    )?;
    s.demo(3_000, 11)?;
    assert_eq!(s.store().verify()?, Vec::<leadq::store::Problem>::new());
    Ok(())
}
