//! Merging two cards of one person: what the survivor keeps, the joined timeline, the
//! merged-away id naming the survivor, the dedupe keys, the rights, and undo.

use leadq::domain::{Kind, LeadId, Millis, NewLead, Outcome, Stage};
use leadq::service::{
    Identity, LeadService, Local, LogEntry, MergeRequest, Query, Role, ServiceError, Settings,
};
use leadq::store::Store;

/// 2026-11-20T12:00:00Z.
const NOW: Millis = 1_795_176_000_000;

fn local() -> Local {
    let settings = Settings {
        fixed_now: Some(NOW),
        ..Settings::default()
    };
    Local::new(Store::temporary().unwrap(), settings).unwrap()
}

fn add(s: &Local, name: &str, email: &str, phone: Option<&str>, owner: Option<&str>) -> LeadId {
    s.add(NewLead {
        name: name.into(),
        email: Some(email.into()),
        phone: phone.map(String::from),
        company: Some("Acme".into()),
        owner: owner.map(String::from),
        tags: vec![format!("from-{email}")],
        ..NewLead::default()
    })
    .unwrap()
    .id
}

fn call(s: &Local, id: LeadId) {
    s.log(
        id,
        LogEntry {
            kind: Kind::Call,
            outcome: Some(Outcome::Connected),
            note: Some(format!("call on #{id}")),
            at: None,
            next_action: None,
            duration_secs: None,
        },
    )
    .unwrap();
}

fn merge(keep: LeadId, other: LeadId) -> MergeRequest {
    MergeRequest {
        keep,
        other,
        ..MergeRequest::default()
    }
}

fn refused<T: std::fmt::Debug>(r: Result<T, ServiceError>) -> String {
    match r {
        Err(e) => e.to_string(),
        Ok(v) => panic!("let through: {v:?}"),
    }
}

#[test]
fn a_merge_joins_the_cards_and_timelines_and_the_old_id_names_the_survivor() {
    let s = local();
    let keep = add(&s, "Ann Lee", "ann@acme.example", None, Some("ann"));
    let other = add(
        &s,
        "Ann M. Lee",
        "ann.lee@home.example",
        Some("+1 415 555 0100"),
        Some("bob"),
    );
    call(&s, other);
    s.set_stage(other, Stage::Qualified, None).unwrap();
    let other_timeline = s.show(other).unwrap().timeline.len();
    let keep_timeline = s.show(keep).unwrap().timeline.len();
    assert!(
        refused(s.merge(merge(keep, other))).contains("--owner"),
        "two owners: a call"
    );
    // "none" is the pool, as for `assign`: tried and taken back.
    let pooled = s
        .merge(MergeRequest {
            owner: Some("none".into()),
            ..merge(keep, other)
        })
        .unwrap();
    assert_eq!(pooled.owner, None);
    s.undo(pooled.action.unwrap()).unwrap();
    let c = s
        .merge(MergeRequest {
            owner: Some("bob".into()),
            take: vec!["name".into()],
            ..merge(keep, other)
        })
        .unwrap();
    assert_eq!(c.id, keep);
    let d = s.show(keep).unwrap();
    let lead = &d.view.lead;
    assert_eq!(lead.name, "Ann M. Lee", "--take name");
    assert_eq!(
        lead.email.as_deref(),
        Some("ann@acme.example"),
        "KEEP's value stays"
    );
    assert_eq!(
        lead.phone.as_deref(),
        Some("+1 415 555 0100"),
        "an empty field is filled"
    );
    assert_eq!(lead.owner.as_deref(), Some("bob"));
    assert_eq!(lead.stage, Stage::Qualified, "the more advanced stage wins");
    assert_eq!(lead.tags.len(), 2, "tags joined: {:?}", lead.tags);
    assert_eq!(d.timeline.len(), keep_timeline + other_timeline + 1);
    assert!(
        d.timeline
            .iter()
            .any(|i| i.note.as_deref() == Some(&*format!("call on #{other}")))
    );
    let joined = d.timeline.first().unwrap();
    assert_eq!(joined.outcome, Some(Outcome::Joined));
    // The old id names the survivor; the store holds one lead.
    assert_eq!(s.show(other).unwrap().view.lead.id, keep);
    assert_eq!(s.store().lead_count().unwrap(), 1);
    let all = s
        .list(&Query {
            all: true,
            ..Query::default()
        })
        .unwrap();
    assert_eq!(all.len(), 1);
    // The phone it took finds it; OTHER's e-mail, not on the card, is free again.
    let again = s
        .add(NewLead {
            name: "x".into(),
            phone: Some("+1 415 555 0100".into()),
            ..NewLead::default()
        })
        .unwrap();
    assert_eq!(again.id, keep);
    assert!(s.store().verify().unwrap().is_empty());
    // A write through the old id lands on the survivor.
    call(&s, other);
    assert_eq!(s.show(keep).unwrap().timeline.len(), d.timeline.len() + 2);
    assert!(refused(s.merge(merge(keep, other))).contains("one lead already"));
}

#[test]
fn undo_takes_a_merge_back_while_the_survivor_is_as_the_merge_left_it() {
    let s = local();
    let keep = add(&s, "Bo Chen", "bo@acme.example", None, None);
    let other = add(
        &s,
        "Bo Chen",
        "bo.chen@home.example",
        Some("+1 415 555 0111"),
        None,
    );
    call(&s, other);
    let (k0, o0) = (s.show(keep).unwrap(), s.show(other).unwrap());
    let c = s.merge(merge(keep, other)).unwrap();
    s.undo(c.action.unwrap()).unwrap();
    let (k1, o1) = (s.show(keep).unwrap(), s.show(other).unwrap());
    assert_eq!(k1.view.lead, k0.view.lead);
    assert_eq!(o1.view.lead, o0.view.lead);
    assert_eq!(k1.timeline, k0.timeline);
    assert_eq!(o1.timeline, o0.timeline);
    assert_eq!(s.store().lead_count().unwrap(), 2);
    assert!(
        s.store().verify().unwrap().is_empty(),
        "indexes and counts as before"
    );
    // The phone is the other card's again.
    let again = s
        .add(NewLead {
            name: "x".into(),
            phone: Some("+1 415 555 0111".into()),
            ..NewLead::default()
        })
        .unwrap();
    assert_eq!(again.id, other);
    // Once the survivor changed, the merge stays.
    let c = s.merge(merge(keep, other)).unwrap();
    call(&s, keep);
    assert!(refused(s.undo(c.action.unwrap())).contains("changed since"));
}

#[test]
fn only_a_manager_merges() {
    let s = local();
    let a = add(&s, "Cy Diaz", "cy@acme.example", None, Some("ann"));
    let b = add(&s, "Cy Diaz", "cy.diaz@home.example", None, Some("ann"));
    let rep = s.session(Identity {
        user: "ann".into(),
        role: Role::Rep,
    });
    assert!(refused(rep.merge(merge(a, b))).contains("only a manager"));
    assert_eq!(s.store().lead_count().unwrap(), 2);
    assert!(refused(s.merge(merge(a, 999))).contains("999"));
    assert!(
        refused(s.merge(MergeRequest {
            take: vec!["shoe size".into()],
            ..merge(a, b)
        }))
        .contains("no such field")
    );
}
