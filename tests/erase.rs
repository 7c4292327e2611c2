//! Erasing a person on request: the card, the timeline, the index entries and derived data go;
//! an audit entry keeps who and when; no byte of the name, e-mail or phone is left in the
//! store files once leadq says the erase is physical, nor in a backup taken after.

mod common;

use std::path::Path;

use common::home::Home;
use leadq::domain::{Kind, LeadId, Millis, NewLead, Outcome};
use leadq::service::{
    Identity, LeadService, Local, LogEntry, MergeRequest, Query, Role, ServiceError, Settings,
};
use leadq::store::Store;

const NOW: Millis = 1_795_176_000_000;
const SECRETS: [&str; 4] = [
    "Quartermaine",
    "zelda.q@forgetme.example",
    "4155550199",
    "555 0199",
];

fn person() -> NewLead {
    NewLead {
        name: "Zelda Quartermaine".into(),
        email: Some("zelda.q@forgetme.example".into()),
        phone: Some("+1 415 555 0199".into()),
        company: Some("Forget Corp".into()),
        tags: vec!["gdpr-test".into()],
        ..NewLead::default()
    }
}

fn note(s: &dyn LeadService, id: LeadId) {
    s.log(
        id,
        LogEntry {
            kind: Kind::Note,
            outcome: None,
            note: Some("Zelda Quartermaine asked to be called".into()),
            at: None,
            next_action: None,
            duration_secs: None,
        },
    )
    .unwrap();
    s.log(
        id,
        LogEntry {
            kind: Kind::Call,
            outcome: Some(Outcome::Connected),
            note: None,
            at: None,
            next_action: None,
            duration_secs: None,
        },
    )
    .unwrap();
}

/// Which of the secrets any file under `dir` holds.
fn found_in(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let bytes = std::fs::read(&p).unwrap_or_default();
            for s in SECRETS {
                if bytes.windows(s.len()).any(|w| w == s.as_bytes()) {
                    out.push(format!("{s} in {}", p.display()));
                }
            }
        }
    }
    out
}

fn refused<T: std::fmt::Debug>(r: Result<T, ServiceError>) -> String {
    match r {
        Err(e) => e.to_string(),
        Ok(v) => panic!("let through: {v:?}"),
    }
}

#[test]
fn an_erased_lead_leaves_only_an_audit_entry_and_a_manager_alone_erases() {
    let settings = Settings {
        fixed_now: Some(NOW),
        user: "boss".into(),
        ..Settings::default()
    };
    let s = Local::new(Store::temporary().unwrap(), settings).unwrap();
    let other = s
        .add(NewLead {
            name: "Someone Else".into(),
            email: Some("else@x.example".into()),
            ..NewLead::default()
        })
        .unwrap()
        .id;
    let id = s.add(person()).unwrap().id;
    note(&s, id);
    let rep = s.session(Identity {
        user: "ann".into(),
        role: Role::Rep,
    });
    assert!(refused(rep.erase(id)).contains("only a manager"));
    // A card merged into it first: its id names the person too.
    let twin = s
        .add(NewLead {
            name: "Zelda Q".into(),
            email: Some("zq@home.example".into()),
            ..NewLead::default()
        })
        .unwrap()
        .id;
    s.merge(MergeRequest {
        keep: id,
        other: twin,
        ..MergeRequest::default()
    })
    .unwrap();
    let erased = s.erase(id).unwrap();
    assert_eq!(erased.id, id);
    let why = refused(s.show(id));
    assert!(why.contains("erased by boss"), "{why}");
    assert!(
        refused(s.show(twin)).contains("erased"),
        "the merged-away id too"
    );
    assert!(refused(s.erase(id)).contains("erased"));
    let all = s
        .list(&Query {
            all: true,
            ..Query::default()
        })
        .unwrap();
    assert_eq!(
        all.iter().map(|v| v.lead.id).collect::<Vec<_>>(),
        vec![other]
    );
    assert_eq!(s.store().lead_count().unwrap(), 1);
    assert!(s.tags().unwrap().is_empty(), "its tag is no longer in use");
    assert!(
        s.store().verify().unwrap().is_empty(),
        "counts and indexes hold"
    );
    // Its e-mail and phone find nobody now: a new request with them is a new lead.
    let again = s.add(person()).unwrap();
    assert!(again.created);
    assert_ne!(again.id, id);
}

#[test]
fn an_erase_in_process_is_physical_at_once_and_a_backup_after_holds_nothing() {
    let home = Home::new();
    home.cli(&["demo", "--count", "50"]);
    let out = home.cli(&[
        "add",
        "--name",
        "Zelda Quartermaine",
        "--email",
        "zelda.q@forgetme.example",
        "--phone",
        "+1 415 555 0199",
    ]);
    let id: LeadId = out.split_whitespace().next().unwrap().parse().unwrap();
    home.cli(&[
        "log",
        &id.to_string(),
        "note",
        "--note",
        "Zelda Quartermaine called",
    ]);
    assert!(
        !found_in(&home.store()).is_empty(),
        "the test can see the bytes"
    );
    let refusal = home.run(&["erase", &id.to_string()]);
    assert_eq!(
        refusal.status.code(),
        Some(2),
        "without --yes nothing is erased"
    );
    assert!(!found_in(&home.store()).is_empty());
    let said = home.cli(&["erase", &id.to_string(), "--yes"]);
    assert!(said.contains("rewrote the store files"), "{said}");
    assert_eq!(found_in(&home.store()), Vec::<String>::new());
    let backup = home.store().with_file_name("after.lqb");
    home.cli(&["backup", &backup.display().to_string()]);
    let bytes = std::fs::read(&backup).unwrap();
    for s in SECRETS {
        assert!(
            !bytes.windows(s.len()).any(|w| w == s.as_bytes()),
            "{s} in the backup"
        );
    }
    assert!(home.cli(&["doctor"]).contains("all is well"));
}

#[test]
fn an_erase_through_a_server_is_physical_once_the_server_starts_again() {
    let home = Home::new();
    home.cli(&["demo", "--count", "20"]);
    let out = home.cli(&[
        "add",
        "--name",
        "Zelda Quartermaine",
        "--email",
        "zelda.q@forgetme.example",
    ]);
    let id: LeadId = out.split_whitespace().next().unwrap().parse().unwrap();
    let server = home.server();
    let said = home.cli(&["erase", &id.to_string(), "--yes"]);
    assert!(said.contains("next start"), "{said}");
    let doctor = home.run(&["doctor"]);
    assert_eq!(doctor.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&doctor.stdout).contains("not physical yet"));
    server.stop();
    let server = home.server();
    // The server rewrote the files before serving: the automatic snapshot it took when it
    // started the first time (before the erase) is the only place left, as the README says.
    let left: Vec<String> = found_in(&home.store())
        .into_iter()
        .filter(|f| !f.contains("/backups/"))
        .collect();
    assert_eq!(left, Vec::<String>::new());
    let shown = home.run(&["show", &id.to_string()]);
    assert!(String::from_utf8_lossy(&shown.stderr).contains("was erased by"));
    server.stop();
}
