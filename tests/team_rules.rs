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

fn call() -> leadq::service::LogEntry {
    leadq::service::LogEntry {
        kind: leadq::domain::Kind::Call,
        outcome: Some(leadq::domain::Outcome::Connected),
        note: None,
        at: None,
        next_action: None,
        duration_secs: None,
    }
}

/// What a lead is, timeline included, as a manager sees it.
fn state_of(base: &Local, id: u64) -> leadq::service::LeadDetail {
    base.show(id).unwrap()
}

/// Undo and annotate take only the id of a change: the service keeps what the change did.
/// Whoever names it, only its own author gets it undone or annotated, once, and only while the
/// lead is as the change left it.
#[test]
fn only_the_author_of_a_change_may_undo_or_annotate_it_and_only_once() {
    let base = manager();
    let id = base
        .add(lead("Ann Lee", "ann@example.com", Some("bob")))
        .unwrap()
        .id;
    let bob = rep(&base, "bob");
    let alice = rep(&base, "alice");
    let before = state_of(&base, id);
    let change = bob.log(id, call()).unwrap();
    let action = change.action.expect("a log can be undone");
    let logged = state_of(&base, id);

    // Alice names bob's change: refused, and nothing moves.
    for err in [
        alice.undo(action).unwrap_err(),
        alice.annotate(action, "forged".into()).unwrap_err(),
    ] {
        let said = err.to_string();
        assert!(
            said.contains("not one of yours") || said.contains("not a call"),
            "{said}"
        );
    }
    // A manager is not the author either.
    assert!(base.undo(action).is_err());
    assert_eq!(state_of(&base, id), logged);
    // An id nobody was given is refused too.
    assert!(bob.undo(action + 1000).is_err());

    // Bob annotates his own call, then undoes it: the lead is as before the call.
    bob.annotate(action, "wants a quote".into()).unwrap();
    let noted = state_of(&base, id);
    let call_entry = noted
        .timeline
        .iter()
        .find(|i| i.kind == leadq::domain::Kind::Call);
    assert_eq!(
        call_entry.and_then(|i| i.note.as_deref()),
        Some("wants a quote")
    );
    let undone = bob.undo(action).unwrap();
    assert!(undone.action.is_none());
    assert_eq!(state_of(&base, id), before);
    // Once only.
    assert!(bob.undo(action).is_err());
    assert_eq!(state_of(&base, id), before);
}

#[test]
fn an_undo_is_refused_once_someone_else_changed_the_lead() {
    let base = manager();
    let id = base
        .add(lead("Ann Lee", "ann@example.com", None))
        .unwrap()
        .id;
    let alice = rep(&base, "alice");
    let action = alice.log(id, call()).unwrap().action.unwrap();
    base.assign(id, Some("bob".into())).unwrap();
    let after_assign = state_of(&base, id);
    let err = alice.undo(action).unwrap_err();
    assert!(
        err.to_string().contains("belongs to bob") || err.to_string().contains("changed since"),
        "{err}"
    );
    assert_eq!(state_of(&base, id), after_assign);
}

/// An owner is a user name, and in a team one of its members: a typo or an escape sequence
/// would hide the lead from everyone.
#[test]
fn an_owner_must_be_a_user_name_and_in_a_team_a_member() {
    let settings = Settings {
        fixed_now: Some(NOW),
        user: "carol".into(),
        members: Some(vec!["alice".into(), "bob".into(), "carol".into()]),
        ..Settings::default()
    };
    let base = Local::new(Store::temporary().unwrap(), settings).unwrap();
    let id = base.add(lead("Ann", "ann@example.com", None)).unwrap().id;
    for (owner, says) in [
        ("bbo", "bbo is not a member of this team"),
        ("ann smith", "is not a user name"),
        ("\u{1b}[2Jbob", "is not a user name"),
        (&"x".repeat(100_000), "is not a user name"),
    ] {
        let err = base.assign(id, Some(owner.to_string())).unwrap_err();
        assert!(err.to_string().contains(says), "{owner:?}: {err}");
        assert!(!err.to_string().contains('\u{1b}'), "{err}");
    }
    assert_eq!(base.show(id).unwrap().view.lead.owner, None);
    // A member, in any case, is stored as the team file spells them... and a rep taking a
    // lead is stored as the server knows them.
    let alice = rep(&base, "alice");
    alice.assign(id, Some("ALICE".into())).unwrap();
    assert_eq!(
        base.show(id).unwrap().view.lead.owner.as_deref(),
        Some("alice")
    );
}

/// Repeated requests for one person merge into one card, adding tags up to the limit of one
/// request: no sender can grow a lead (a colleague's, say) without bound.
#[test]
fn repeated_merges_cannot_grow_a_lead_without_bound() {
    let base = manager();
    let id = base
        .add(lead("Ann Lee", "ann@example.com", Some("bob")))
        .unwrap()
        .id;
    let alice = rep(&base, "alice");
    for round in 0..5 {
        let mut again = lead("Ann", "ann@example.com", None);
        again.tags = (0..50).map(|t| format!("t{round}-{t}")).collect();
        again.attributes = (0..100)
            .map(|a| (format!("a{round}-{a}"), "x".to_string()))
            .collect();
        alice.add(again).unwrap();
    }
    let lead = base.show(id).unwrap().view.lead;
    assert_eq!(lead.tags.len(), leadq::domain::limits::TAGS);
    assert_eq!(lead.attributes.len(), leadq::domain::limits::ATTRIBUTES);
}

/// Owners compare as Unix user names do, exactly: in a team with both "bob" and "Bob", each
/// sees his own leads only; "Alice" from a manager is the one member alice.
#[test]
fn owners_compare_exactly_as_user_names_do() {
    let settings = Settings {
        fixed_now: Some(NOW),
        user: "carol".into(),
        members: Some(vec![
            "bob".into(),
            "Bob".into(),
            "alice".into(),
            "carol".into(),
        ]),
        ..Settings::default()
    };
    let base = Local::new(Store::temporary().unwrap(), settings).unwrap();
    let big_bob = base
        .add(lead("Big", "big@example.com", Some("Bob")))
        .unwrap()
        .id;
    let small = base
        .add(lead("Small", "small@example.com", Some("bob")))
        .unwrap()
        .id;
    let bob = rep(&base, "bob");
    assert!(bob.show(big_bob).is_err(), "bob opened Bob's lead");
    assert!(bob.show(small).is_ok());
    let ids: Vec<u64> = bob
        .export()
        .unwrap()
        .into_iter()
        .map(|v| v.lead.id)
        .collect();
    assert_eq!(ids, [small]);
    let id = base
        .add(lead("Ann", "ann@example.com", Some("Alice")))
        .unwrap()
        .id;
    assert_eq!(
        base.show(id).unwrap().view.lead.owner.as_deref(),
        Some("alice")
    );
}
