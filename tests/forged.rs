//! The server trusts nothing a client sends. A rep's process speaks the protocol directly and
//! sends every kind of request with forged fields: a colleague's lead ids, owners, a change id
//! that is not theirs, times out of range, a system event. Every write is refused, reads show
//! nothing of the colleague's, and the store (every lead and every timeline, as a manager
//! sees it) is exactly as before.

mod common;

use common::server::LIMIT;
use common::team::{REP1, REP2, TeamSetup, require_team_users};

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::Stdio;

use leadq::domain::edit::LeadEdit;
use leadq::domain::{Kind, LeadId, LostReason, NewLead, Outcome, Stage};
use leadq::remote::client::Client;
use leadq::remote::protocol::{
    ClientFrame, Hello, PROTOCOL, Request, ServerFrame, Welcome, read_frame, write_frame,
};
use leadq::service::{
    Activity, ImportOptions, LeadService, LogEntry, OwnerFilter, Query, ReportKind, ReportRequest,
    Window,
};
use serde::{Deserialize, Serialize};

/// What the forger is told: the store and the ids to aim at.
#[derive(Serialize, Deserialize)]
struct Targets {
    store: String,
    /// A lead of REP2's, with a history.
    theirs: LeadId,
    /// A lead of the forger's own.
    own: LeadId,
    /// A lead in the pool.
    pool: LeadId,
    /// A change the admin made on `theirs`.
    admins_change: u64,
}

fn entry(kind: Kind, outcome: Option<Outcome>) -> LogEntry {
    LogEntry {
        kind,
        outcome,
        note: Some("forged".into()),
        at: None,
        next_action: None,
        duration_secs: None,
    }
}

/// Every forged request, named. Reads come last: they must show nothing of REP2's.
fn forgeries(t: &Targets) -> Vec<(&'static str, Request)> {
    let stolen = NewLead {
        name: "Planted".into(),
        email: Some("planted@t.example".into()),
        owner: Some(REP2.into()),
        ..NewLead::default()
    };
    let call = entry(Kind::Call, Some(Outcome::Connected));
    let mut writes = vec![
        ("add for a colleague", Request::Add(stolen.clone())),
        (
            "add for the admin",
            Request::Add(NewLead {
                owner: Some("root".into()),
                ..stolen.clone()
            }),
        ),
        (
            "import",
            Request::Import {
                rows: vec![stolen.clone()],
                options: ImportOptions::default(),
            },
        ),
        (
            "log on a colleague's lead",
            Request::Log {
                id: t.theirs,
                entry: call.clone(),
            },
        ),
        (
            "log a system event",
            Request::Log {
                id: t.own,
                entry: entry(Kind::System, Some(Outcome::Won)),
            },
        ),
        (
            "log at the epoch",
            Request::Log {
                id: t.own,
                entry: LogEntry {
                    at: Some(0),
                    ..call.clone()
                },
            },
        ),
        (
            "log with a follow-up in year 9999",
            Request::Log {
                id: t.own,
                entry: LogEntry {
                    next_action: Some(253_402_300_000_000),
                    ..call.clone()
                },
            },
        ),
        (
            "log a call of 4294967295 seconds",
            Request::Log {
                id: t.own,
                entry: LogEntry {
                    duration_secs: Some(u32::MAX),
                    ..call.clone()
                },
            },
        ),
        (
            "stage of a colleague's lead",
            Request::SetStage {
                id: t.theirs,
                stage: Stage::Lost,
                reason: Some(LostReason::Price),
            },
        ),
        (
            "won on a colleague's lead",
            Request::Won {
                id: t.theirs,
                note: None,
            },
        ),
        (
            "snooze a colleague's lead",
            Request::Snooze {
                id: t.theirs,
                until: 1_800_000_000_000,
            },
        ),
        (
            "take a colleague's lead",
            Request::Assign {
                id: t.theirs,
                owner: Some(REP1.into()),
            },
        ),
        (
            "push a pool lead to a colleague",
            Request::Assign {
                id: t.pool,
                owner: Some(REP2.into()),
            },
        ),
        (
            "an escape sequence as owner",
            Request::Assign {
                id: t.own,
                owner: Some("\u{1b}[2Jx".into()),
            },
        ),
        (
            "follow-up on a colleague's lead",
            Request::SetNext {
                id: t.theirs,
                at: Some(1_800_000_000_000),
            },
        ),
        (
            "edit a colleague's lead",
            Request::Edit {
                id: t.theirs,
                edit: LeadEdit {
                    name: Some("Renamed".into()),
                    ..LeadEdit::default()
                },
            },
        ),
        (
            "tag a colleague's lead",
            Request::Edit {
                id: t.theirs,
                edit: LeadEdit {
                    tag: vec!["mine-now".into()],
                    ..LeadEdit::default()
                },
            },
        ),
        (
            "take a colleague's lead's e-mail onto one's own",
            Request::Edit {
                id: t.own,
                edit: LeadEdit {
                    email: Some("theirs@t.example".into()),
                    ..LeadEdit::default()
                },
            },
        ),
        (
            "an edit of 5000 attributes",
            Request::Edit {
                id: t.own,
                edit: LeadEdit {
                    set: (0..5_000)
                        .map(|i| (format!("k{i}"), "v".to_string()))
                        .collect(),
                    ..LeadEdit::default()
                },
            },
        ),
        (
            "a name of 100000 characters",
            Request::Edit {
                id: t.own,
                edit: LeadEdit {
                    name: Some("x".repeat(100_000)),
                    ..LeadEdit::default()
                },
            },
        ),
        (
            "clear the name and every contact",
            Request::Edit {
                id: t.own,
                edit: LeadEdit {
                    name: Some(String::new()),
                    email: Some(String::new()),
                    phone: Some(String::new()),
                    ..LeadEdit::default()
                },
            },
        ),
        (
            "annotate the admin's change",
            Request::Annotate {
                action: t.admins_change,
                note: "forged".into(),
            },
        ),
        (
            "undo the admin's change",
            Request::Undo {
                action: t.admins_change,
            },
        ),
        ("demo leads", Request::Demo { count: 10, seed: 1 }),
        (
            "a backup",
            Request::Backup {
                path: "/tmp/leadq-forged-backup".into(),
                force: true,
            },
        ),
        ("stop the server", Request::Shutdown),
        (
            "merge a colleague's lead into one's own",
            Request::Merge(leadq::service::MergeRequest {
                keep: t.own,
                other: t.theirs,
                take: vec!["email".into()],
                owner: Some(REP1.into()),
            }),
        ),
        (
            "merge one's own lead into the pool's",
            Request::Merge(leadq::service::MergeRequest {
                keep: t.pool,
                other: t.own,
                ..Default::default()
            }),
        ),
        ("erase a colleague's lead", Request::Erase(t.theirs)),
        ("erase one's own lead", Request::Erase(t.own)),
        (
            "mark a colleague's leads as two people",
            Request::NotDupes {
                a: t.theirs,
                b: t.own,
            },
        ),
        (
            "train the scoring model",
            Request::TrainModel {
                exclude: Some(vec!["title".into()]),
            },
        ),
        (
            "add a lead already won",
            Request::Add(NewLead {
                name: "Won already".into(),
                email: Some("won@t.example".into()),
                closed: Some(leadq::domain::Closed {
                    won: true,
                    at: None,
                }),
                ..NewLead::default()
            }),
        ),
        ("a full check of the store (a manager's)", Request::CheckNow),
        (
            "a report of a colleague's figures",
            Request::Report(ReportRequest {
                kind: ReportKind::Reps,
                days: None,
                from: None,
                to: None,
                source: Some("secret-source".into()),
                owner: Some(REP2.into()),
                tag: Some("secret-tag".into()),
            }),
        ),
        (
            "be seen on a colleague's lead",
            Request::SetPresence(Some((t.theirs, Activity::Logging))),
        ),
        ("show a colleague's lead", Request::Show(t.theirs)),
        (
            "route the unassigned pool (a manager's)",
            Request::Route(leadq::service::RouteRequest::Pool { dry_run: false }),
        ),
        (
            "see where the pool would go (a manager's)",
            Request::Route(leadq::service::RouteRequest::Pool { dry_run: true }),
        ),
        (
            "explain the route of a colleague's lead",
            Request::Route(leadq::service::RouteRequest::DryRun(t.theirs)),
        ),
        (
            "say a colleague is away",
            Request::Away(leadq::service::AwayRequest {
                user: Some(REP2.into()),
                away: Some(true),
            }),
        ),
        (
            "say a colleague is back",
            Request::Away(leadq::service::AwayRequest {
                user: Some(REP2.into()),
                away: Some(false),
            }),
        ),
    ];
    // Whatever id a rep guesses, no change of someone else's is undone.
    for guess in 0..40 {
        writes.push(("undo a guessed change", Request::Undo { action: guess }));
    }
    writes
}

/// Requests that are answered, with only what the rep may see.
fn reads(t: &Targets) -> Vec<(&'static str, Request)> {
    vec![
        (
            "a page of a colleague's leads, around their lead",
            Request::Page {
                query: Query {
                    owner: Some(OwnerFilter::User(REP2.into())),
                    all: true,
                    ..Query::default()
                },
                window: Window {
                    offset: usize::MAX,
                    limit: usize::MAX,
                    focus: Some(t.theirs),
                    ..Window::default()
                },
            },
        ),
        (
            "a page of everything, around a colleague's lead",
            Request::Page {
                query: Query {
                    all: true,
                    ..Query::default()
                },
                window: Window {
                    offset: 0,
                    limit: 1000,
                    focus: Some(t.theirs),
                    ..Window::default()
                },
            },
        ),
        (
            "list a colleague's leads",
            Request::List(Query {
                owner: Some(OwnerFilter::User(REP2.into())),
                all: true,
                ..Query::default()
            }),
        ),
        (
            "list everything",
            Request::List(Query {
                all: true,
                ..Query::default()
            }),
        ),
        (
            "a search of a colleague's leads for their name",
            Request::Search {
                query: Query {
                    owner: Some(OwnerFilter::User(REP2.into())),
                    all: true,
                    ..Query::default()
                },
                text: "their lead".into(),
                limit: usize::MAX,
            },
        ),
        (
            "a search of every lead for a colleague's e-mail and source",
            Request::Search {
                query: Query {
                    all: true,
                    source: Some("secret-source".into()),
                    ..Query::default()
                },
                text: "theirs".into(),
                limit: 1000,
            },
        ),
        (
            "a search of everything for a letter",
            Request::Search {
                query: Query {
                    all: true,
                    ..Query::default()
                },
                text: "e".into(),
                limit: 1000,
            },
        ),
        (
            "a page of a colleague's tag",
            Request::Page {
                query: Query {
                    all: true,
                    tag: Some("SECRET-TAG".into()),
                    ..Query::default()
                },
                window: Window {
                    offset: 0,
                    limit: 1000,
                    focus: Some(t.theirs),
                    ..Window::default()
                },
            },
        ),
        (
            "a search of a colleague's tag",
            Request::Search {
                query: Query {
                    all: true,
                    tag: Some("secret-tag".into()),
                    ..Query::default()
                },
                text: "their".into(),
                limit: 1000,
            },
        ),
        ("export", Request::Export),
        ("sources", Request::Sources),
        (
            "every report, everyone's, of a colleague's source and tag",
            Request::Report(ReportRequest {
                kind: ReportKind::Sources,
                days: None,
                from: None,
                to: None,
                source: None,
                owner: None,
                tag: None,
            }),
        ),
        (
            "the speed report of a colleague's source",
            Request::Report(ReportRequest {
                kind: ReportKind::Speed,
                days: Some(3650),
                from: None,
                to: None,
                source: Some("secret-source".into()),
                owner: None,
                tag: Some("secret-tag".into()),
            }),
        ),
        (
            "the duplicate pairs, everything",
            Request::Dupes {
                min_confidence: 0,
                limit: usize::MAX,
            },
        ),
        ("tags", Request::Tags),
        ("stats", Request::Stats),
        ("health", Request::Health),
        ("the scoring model", Request::Model),
        ("subscribe", Request::Subscribe),
        ("ping", Request::Ping),
        (
            "who is away",
            Request::Away(leadq::service::AwayRequest {
                user: None,
                away: None,
            }),
        ),
        ("web leads awaiting a first touch", Request::Awaiting),
        (
            "explain the route of one's own lead",
            Request::Route(leadq::service::RouteRequest::DryRun(t.own)),
        ),
    ]
}

/// Not a test by itself: the body of the forger, run as REP1 by
/// `a_rep_forging_any_request_changes_nothing_and_sees_nothing_of_others` (this test binary,
/// with LEADQ_TEST_FORGE holding the targets as JSON). It prints one line per request:
/// `FORGE <name>\t<refused|answered>\t<what>`.
#[test]
fn forger_process() {
    let Ok(json) = std::env::var("LEADQ_TEST_FORGE") else {
        return;
    };
    let t: Targets = serde_json::from_str(&json).expect("targets");
    let mut s = UnixStream::connect(Path::new(&t.store).join("leadq.sock")).expect("connect");
    s.set_read_timeout(Some(LIMIT)).expect("timeout");
    write_frame(
        &mut s,
        &Hello {
            protocol: PROTOCOL,
            version: "forger".into(),
        },
    )
    .expect("hello");
    let welcome: Welcome = read_frame(&mut s).expect("welcome");
    assert!(matches!(welcome, Welcome::Accepted { .. }), "{welcome:?}");
    let mut all = forgeries(&t);
    all.extend(reads(&t));
    for (n, (name, request)) in all.into_iter().enumerate() {
        let id = n as u64 + 1;
        write_frame(&mut s, &ClientFrame { id, request }).expect("send");
        let result = loop {
            match read_frame::<ServerFrame>(&mut s).expect("a reply") {
                ServerFrame::Reply { id: got, result } if got == id => break result,
                _ => {}
            }
        };
        let line = match result {
            Ok(reply) => format!("answered\t{}", serde_json::to_string(&reply).unwrap()),
            Err(f) => format!("refused\t{f:?}"),
        };
        println!("FORGE {name}\t{line}");
    }
    // A rep's requests are small: a frame declared over 1 MB is not read, the connection ends.
    use std::io::{Read, Write};
    s.write_all(&(2u32 * 1024 * 1024).to_be_bytes())
        .expect("send");
    let mut buf = [0u8; 16];
    let hung_up = matches!(s.read(&mut buf), Ok(0) | Err(_));
    println!(
        "FORGE a 2 MB frame\t{}\t-",
        if hung_up { "refused" } else { "answered" }
    );
}

/// Every lead and its whole timeline, as the admin (a manager) sees them.
fn everything(admin: &Client) -> BTreeMap<LeadId, String> {
    admin
        .export()
        .expect("export")
        .into_iter()
        .map(|v| {
            let d = admin.show(v.lead.id).expect("show");
            (v.lead.id, format!("{d:?}"))
        })
        .collect()
}

#[test]
fn a_rep_forging_any_request_changes_nothing_and_sees_nothing_of_others() {
    require_team_users!();
    let team = TeamSetup::new();
    let server = team.server();
    let admin = Client::connect(&team.dir(), false).expect("the admin connects");
    let add = |name: &str, email: &str, owner: Option<&str>, source: &str| {
        admin
            .add(NewLead {
                name: name.into(),
                email: Some(email.into()),
                owner: owner.map(String::from),
                source: Some(source.into()),
                ..NewLead::default()
            })
            .expect("add")
            .id
    };
    let theirs = add(
        "Their Lead",
        "theirs@t.example",
        Some(REP2),
        "secret-source",
    );
    admin
        .edit(
            theirs,
            LeadEdit {
                tag: vec!["secret-tag".into()],
                ..LeadEdit::default()
            },
        )
        .expect("the admin tags their lead");
    let own = add("Own Lead", "own@t.example", Some(REP1), "web-form");
    let pool = add("Pool Lead", "pool@t.example", None, "web-form");
    let admins_change = admin
        .log(theirs, entry(Kind::Call, Some(Outcome::Connected)))
        .expect("the admin logs")
        .action
        .expect("an action");
    let targets = Targets {
        store: team.dir().display().to_string(),
        theirs,
        own,
        pool,
        admins_change,
    };
    let before = everything(&admin);

    let exe = std::env::current_exe().expect("the test binary");
    let out = team
        .as_user(REP1, &exe.display().to_string())
        .args([
            "--exact",
            "forger_process",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("LEADQ_TEST_FORGE", serde_json::to_string(&targets).unwrap())
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("run the forger");
    assert!(
        out.status.success(),
        "the forger failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<(String, String, String)> = BufReader::new(&out.stdout[..])
        .lines()
        .map_while(Result::ok)
        .filter_map(|l| {
            let rest = l.split_once("FORGE ")?.1.to_string();
            let mut parts = rest.splitn(3, '\t').map(String::from);
            Some((parts.next()?, parts.next()?, parts.next()?))
        })
        .collect();
    let want = forgeries(&targets).len() + reads(&targets).len() + 1;
    assert_eq!(lines.len(), want, "one answer per request: {lines:?}");

    let mut writes: Vec<_> = forgeries(&targets).iter().map(|(n, _)| *n).collect();
    writes.push("a 2 MB frame");
    for (name, how, what) in &lines {
        if writes.contains(&name.as_str()) {
            assert_eq!(how, "refused", "{name} was let through: {what}");
        } else {
            assert_eq!(how, "answered", "{name}: {what}");
            for secret in [
                "Their Lead",
                "theirs@t.example",
                "secret-source",
                "secret-tag",
            ] {
                assert!(!what.contains(secret), "{name} showed {secret}: {what}");
            }
        }
    }
    assert_eq!(
        everything(&admin),
        before,
        "a refused request changed the store"
    );
    let away = admin
        .away(&leadq::service::AwayRequest {
            user: None,
            away: None,
        })
        .expect("who is away");
    assert!(away.is_empty(), "a rep set a colleague away: {away:?}");
    assert!(
        !Path::new("/tmp/leadq-forged-backup").exists(),
        "a rep's backup was written"
    );
    drop(admin);
    server.stop();
}
