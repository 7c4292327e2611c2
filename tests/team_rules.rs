//! The rules of a shared store that need no server: what a rep may do through `add`, and how
//! a command treats a team's store whose server is not running.

use assert_cmd::Command;
use leadq::domain::NewLead;
use leadq::service::{Identity, LeadService, Local, Role, Settings};
use leadq::store::Store;

const NOW: i64 = 1_795_860_000_000; // 2026-11-22T10:00:00Z

fn manager() -> Local {
    let settings = Settings {
        fixed_now: Some(NOW),
        user: "carol".into(),
        ..Settings::default()
    };
    Local::new(Store::temporary().unwrap(), settings).unwrap()
}

fn rep(base: &Local, user: &str) -> Local {
    base.session(Identity {
        user: user.into(),
        role: Role::Rep,
    })
}

fn lead(name: &str, email: &str, owner: Option<&str>) -> NewLead {
    NewLead {
        name: name.into(),
        email: Some(email.into()),
        owner: owner.map(String::from),
        ..NewLead::default()
    }
}

#[test]
fn a_rep_adds_leads_for_themselves_or_the_pool_but_not_for_a_colleague() {
    let base = manager();
    let alice = rep(&base, "alice");
    assert!(
        alice
            .add(lead("Own", "own@example.com", Some("alice")))
            .unwrap()
            .created
    );
    assert!(
        alice
            .add(lead("Pool", "pool@example.com", None))
            .unwrap()
            .created
    );
    let err = alice
        .add(lead("Pushed", "pushed@example.com", Some("bob")))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("only a manager can add a lead for someone else"),
        "{err}"
    );
    assert_eq!(
        base.export().unwrap().len(),
        2,
        "the refused lead was not written"
    );
    // A manager may.
    assert!(
        base.add(lead("Given", "given@example.com", Some("bob")))
            .unwrap()
            .created
    );
}

#[test]
fn a_repeat_request_merges_into_a_colleagues_lead_without_showing_it() {
    let base = manager();
    let first = base
        .add(lead("Ann Lee", "ann@example.com", Some("bob")))
        .unwrap();
    let alice = rep(&base, "alice");
    let again = alice.add(lead("Ann L.", "ANN@example.com", None)).unwrap();
    assert!(!again.created, "never a second card for the same person");
    assert_eq!(again.id, first.id);
    assert_eq!(again.name, "a lead of bob", "alice is not shown bob's lead");
    assert!(again.filled.is_empty());
    assert!(alice.show(first.id).is_err(), "and still may not open it");
}

#[test]
fn a_team_store_without_its_server_is_not_opened_in_process() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("team");
    std::fs::create_dir_all(&store).unwrap();
    std::fs::write(
        store.join("team.toml"),
        "group = \"sales\"\n[members]\nalice = \"rep\"\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_leadq"))
        .env_clear()
        .env("HOME", dir.path())
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .env("LEADQ_NOW", "2026-11-22T10:00:00Z")
        .args(["--db"])
        .arg(&store)
        .args(["add", "--name", "Ann", "--email", "ann@example.com"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("is a team store and its server is not answering"),
        "{err}"
    );
    assert!(err.contains("leadq serve --team"), "{err}");
    assert!(
        !store.join("db").exists(),
        "no store was created beside the team file"
    );
}

#[test]
fn the_counts_follow_every_change_though_they_are_shared() {
    use leadq::domain::{Kind, Outcome};
    use leadq::service::LogEntry;
    let base = manager();
    let id = base.add(lead("Ann", "ann@example.com", None)).unwrap().id;
    let alice = rep(&base, "alice");
    let before = alice.stats().unwrap();
    assert_eq!((before.hot, before.warm + before.cold), (0, 1));
    assert_eq!(
        alice.stats().unwrap(),
        before,
        "asked again: the same counts"
    );
    let held = LogEntry {
        kind: Kind::Meeting,
        outcome: Some(Outcome::Held),
        note: None,
        at: None,
        next_action: None,
        duration_secs: None,
    };
    for _ in 0..3 {
        base.log(id, held.clone()).unwrap();
    }
    let after = alice.stats().unwrap();
    assert_eq!(
        after.hot, 1,
        "a change by someone else shows in the next counts: {after:?}"
    );
}
