//! Editing a lead's card: what changes, what is refused, what undo takes back, and the dedupe
//! indexes, which must stay exactly what a rebuild from the leads gives through any run of
//! edits, undos and adds (a model-based test).

use leadq::domain::edit::LeadEdit;
use leadq::domain::{Kind, LeadId, Millis, NewLead, Outcome};
use leadq::service::{Identity, LeadService, Local, LogEntry, Role, Settings};
use leadq::store::Store;
use proptest::prelude::*;

/// 2026-11-20T12:00:00Z.
const NOW: Millis = 1_795_176_000_000;

fn local() -> Local {
    let settings = Settings {
        fixed_now: Some(NOW),
        country_code: "44".into(),
        ..Settings::default()
    };
    Local::new(Store::temporary().unwrap(), settings).unwrap()
}

fn add(s: &dyn LeadService, name: &str, email: Option<&str>, phone: Option<&str>) -> LeadId {
    s.add(NewLead {
        name: name.into(),
        email: email.map(String::from),
        phone: phone.map(String::from),
        ..NewLead::default()
    })
    .unwrap()
    .id
}

fn name(v: &str) -> LeadEdit {
    LeadEdit {
        name: Some(v.into()),
        ..LeadEdit::default()
    }
}

fn email(v: &str) -> LeadEdit {
    LeadEdit {
        email: Some(v.into()),
        ..LeadEdit::default()
    }
}

fn refused(r: Result<impl std::fmt::Debug, leadq::service::ServiceError>) -> String {
    match r {
        Err(e) => e.to_string(),
        Ok(v) => panic!("let through: {v:?}"),
    }
}

#[test]
fn an_edit_changes_the_card_tells_the_timeline_and_earns_no_points() {
    let s = local();
    let id = add(&s, "Jon Smyth", Some("jon@acme.example"), None);
    s.log(
        id,
        LogEntry {
            kind: Kind::Email,
            outcome: Some(Outcome::Replied),
            note: None,
            at: None,
            next_action: None,
            duration_secs: None,
        },
    )
    .unwrap();
    let before = s.show(id).unwrap();
    let edit = LeadEdit {
        name: Some("  John Smith ".into()),
        company: Some("Acme".into()),
        set: [("title".to_string(), "CTO".to_string())].into(),
        tag: vec!["vip".into()],
        ..LeadEdit::default()
    };
    let c = s.edit(id, edit).unwrap();
    let after = s.show(id).unwrap();
    assert_eq!(after.view.lead.name, "John Smith", "trimmed as add trims");
    assert_eq!(after.view.lead.company.as_deref(), Some("Acme"));
    assert_eq!(after.view.lead.attributes["title"], "CTO");
    assert_eq!(after.view.lead.tags, vec!["vip".to_string()]);
    let detail = c.detail.expect("what changed");
    assert!(
        detail.contains(r#"name "Jon Smyth" -> "John Smith""#),
        "{detail}"
    );
    let event = after.timeline.first().expect("an event (newest first)");
    assert_eq!(event.outcome, Some(Outcome::Edited));
    assert_eq!(event.note.as_deref(), Some(detail.as_str()));
    // The fit moves (a company, a decision-maker's title); the engagement stays as it was.
    assert_eq!(
        after.explanation.engagement, before.explanation.engagement,
        "an edit earns no engagement points"
    );
    assert!(
        after.explanation.fit > before.explanation.fit,
        "the fit is rescored"
    );
    // Editing the same card to what it is changes nothing and writes nothing.
    let again = s.edit(id, name("John Smith")).unwrap();
    assert_eq!(again.detail, None);
    assert_eq!(s.show(id).unwrap().timeline.len(), after.timeline.len());
}

#[test]
fn an_edit_is_refused_when_the_contact_is_another_leads_or_the_card_would_be_invalid() {
    let s = local();
    let ann = add(&s, "Ann Lee", Some("ann@x.example"), Some("020 7946 0958"));
    let bo = add(&s, "Bo Chen", Some("bo@x.example"), None);
    let why = refused(s.edit(bo, email(" ANN@x.example ")));
    assert!(why.contains(&format!("#{ann}'s (Ann Lee)")), "{why}");
    assert!(why.contains(&format!("leadq merge {ann} {bo}")), "{why}");
    // The same phone written another way is the same phone.
    let why = refused(s.edit(
        bo,
        LeadEdit {
            phone: Some("+44 20 7946 0958".into()),
            ..LeadEdit::default()
        },
    ));
    assert!(why.contains("phone"), "{why}");
    // Written with the country code but no "+", or with "(0)" after it, it is the same phone.
    for written in ["44 20 7946 0958", "+44 (0)20 7946 0958"] {
        let why = refused(s.edit(
            bo,
            LeadEdit {
                phone: Some(written.into()),
                ..LeadEdit::default()
            },
        ));
        assert!(why.contains(&format!("#{ann}")), "{written}: {why}");
    }
    assert!(refused(s.edit(bo, email(""))).contains("e-mail or a phone"));
    assert!(refused(s.edit(bo, name(" "))).contains("needs a name"));
    assert!(refused(s.edit(bo, email("bo@"))).contains("not a valid address"));
    assert!(refused(s.edit(bo, LeadEdit::default())).contains("nothing to change"));
    assert!(refused(s.edit(999, name("x"))).contains("999"));
    assert_eq!(
        s.show(bo).unwrap().view.lead.email.as_deref(),
        Some("bo@x.example")
    );
}

#[test]
fn a_rep_edits_their_own_leads_and_the_pool_but_not_a_colleagues() {
    let s = local();
    let own = s
        .add(NewLead {
            name: "Own".into(),
            email: Some("own@x.example".into()),
            owner: Some("ann".into()),
            ..NewLead::default()
        })
        .unwrap()
        .id;
    let pool = add(&s, "Pool", Some("pool@x.example"), None);
    let theirs = s
        .add(NewLead {
            name: "Theirs".into(),
            email: Some("theirs@x.example".into()),
            owner: Some("bob".into()),
            ..NewLead::default()
        })
        .unwrap()
        .id;
    let rep = s.session(Identity {
        user: "ann".into(),
        role: Role::Rep,
    });
    rep.edit(own, name("Own Edited")).unwrap();
    // A source whose rules count the timeline for more would buy points: a manager's call.
    let to_web = LeadEdit {
        source: Some("web-form".into()),
        ..LeadEdit::default()
    };
    let why = refused(rep.edit(own, to_web.clone()));
    assert!(why.contains("would add engagement points"), "{why}");
    let before = s.show(own).unwrap().view.score;
    s.edit(own, to_web).unwrap();
    assert!(s.show(own).unwrap().view.score > before, "a manager may");
    rep.edit(pool, name("Pool Edited")).unwrap();
    assert!(refused(rep.edit(theirs, name("Mine"))).contains("belongs to bob"));
    // Asked for a colleague's e-mail, the rep learns whose it is, not the lead's name.
    let why = refused(rep.edit(own, email("theirs@x.example")));
    assert!(
        why.contains("a lead of bob") && !why.contains("Theirs"),
        "{why}"
    );
    assert_eq!(s.show(theirs).unwrap().view.lead.name, "Theirs");
}

#[test]
fn undo_takes_an_edit_back_with_its_dedupe_keys() {
    let s = local();
    let id = add(&s, "Ann Lee", Some("ann@x.example"), None);
    let c = s.edit(id, email("ann.lee@y.example")).unwrap();
    // The old address is free while the edit stands: a new request with it is a new lead.
    let other = add(&s, "Someone", Some("other@z.example"), None);
    s.undo(c.action.unwrap()).unwrap();
    let back = s.show(id).unwrap();
    assert_eq!(back.view.lead.email.as_deref(), Some("ann@x.example"));
    assert!(
        !back
            .timeline
            .iter()
            .any(|i| i.outcome == Some(Outcome::Edited)),
        "the edit event goes with the edit"
    );
    // The old address finds the lead again, the new one no longer does.
    let again = s
        .add(NewLead {
            name: "Ann".into(),
            email: Some("ANN@x.example".into()),
            ..NewLead::default()
        })
        .unwrap();
    assert_eq!(again.id, id);
    assert_ne!(add(&s, "New", Some("ann.lee@y.example"), None), id);
    assert!(s.store().verify().unwrap().is_empty());
    // An undo that would take back an address another lead has since is refused.
    let c = s.edit(other, email("o2@z.example")).unwrap();
    add(&s, "Took it", Some("other@z.example"), None);
    assert!(refused(s.undo(c.action.unwrap())).contains("nothing undone"));
}

/// One step of the model-based test.
#[derive(Debug, Clone)]
enum Step {
    /// Lead (by its place among the added), e-mail and phone from small pools (None: leave,
    /// Some(None): clear).
    Edit(usize, Option<Option<usize>>, Option<Option<usize>>),
    UndoLast,
    Add(usize, usize),
    /// Lead, a tag from a small pool (one tag in two cases), and whether it is added or
    /// removed (with a campaign attribute of the same name set or unset).
    Tag(usize, usize, bool),
    /// Keep, other (places among the added), and whether the survivor takes OTHER's
    /// e-mail and phone.
    Merge(usize, usize, bool),
}

const EMAILS: [&str; 5] = [
    "a@x.example",
    "b@x.example",
    "c@x.example",
    "A@X.example",
    "d@y.example",
];
const TAGS: [&str; 4] = ["vip", "VIP", "renewal", "Ärger"];
const PHONES: [&str; 4] = [
    "020 7946 0001",
    "+44 20 7946 0001",
    "020 7946 0002",
    "07700 900123",
];

fn step() -> impl Strategy<Value = Step> {
    let pick = |n: usize| proptest::option::of(proptest::option::of(0..n));
    prop_oneof![
        4 => (0usize..6, pick(EMAILS.len()), pick(PHONES.len())).prop_map(|(l, e, p)| Step::Edit(l, e, p)),
        1 => Just(Step::UndoLast),
        1 => (0..EMAILS.len(), 0..PHONES.len()).prop_map(|(e, p)| Step::Add(e, p)),
        2 => (0usize..6, 0..TAGS.len(), any::<bool>()).prop_map(|(l, t, add)| Step::Tag(l, t, add)),
        1 => (0usize..6, 0usize..6, any::<bool>()).prop_map(|(a, b, t)| Step::Merge(a, b, t)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn dedupe_indexes_stay_equal_to_a_rebuild_through_edits_merges_undos_and_adds(
        steps in proptest::collection::vec(step(), 1..24)
    ) {
        let s = local();
        let mut ids = vec![
            add(&s, "One", Some("one@x.example"), None),
            add(&s, "Two", None, Some("07700 900999")),
        ];
        let mut last = None;
        for st in steps {
            let shown = format!("{st:?}");
            match st {
                Step::Edit(l, e, p) => {
                    let id = ids[l % ids.len()];
                    let edit = LeadEdit {
                        email: e.map(|e| e.map_or(String::new(), |i| EMAILS[i].to_string())),
                        phone: p.map(|p| p.map_or(String::new(), |i| PHONES[i].to_string())),
                        name: Some(format!("Lead {l}")),
                        ..LeadEdit::default()
                    };
                    // Refusals (another lead's contact, no contact left) are part of the model.
                    if let Ok(c) = s.edit(id, edit) {
                        last = c.action;
                    }
                }
                Step::UndoLast => {
                    if let Some(a) = last.take() {
                        let _ = s.undo(a);
                    }
                }
                Step::Tag(l, t, add) => {
                    let id = ids[l % ids.len()];
                    let tag = vec![TAGS[t].to_string()];
                    // The campaign the reports file arrivals under moves with it.
                    let edit = if add {
                        let set = [("utm_campaign".to_string(), TAGS[t].to_string())].into();
                        LeadEdit { tag, set, ..LeadEdit::default() }
                    } else {
                        let unset = vec!["utm_campaign".to_string()];
                        LeadEdit { untag: tag, unset, ..LeadEdit::default() }
                    };
                    if let Ok(c) = s.edit(id, edit) {
                        last = c.action;
                    }
                }
                Step::Add(e, p) => {
                    let id = add(&s, "Added", Some(EMAILS[e]), Some(PHONES[p]));
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
                Step::Merge(a, b, take) => {
                    let (keep, other) = (ids[a % ids.len()], ids[b % ids.len()]);
                    let request = leadq::service::MergeRequest {
                        keep,
                        other,
                        take: if take { vec!["email".into(), "phone".into()] } else { vec![] },
                        owner: None,
                    };
                    if let Ok(c) = s.merge(request) {
                        last = c.action;
                        ids.retain(|&i| i != other);
                    }
                }
            }
            let problems = s.store().verify().unwrap();
            prop_assert!(problems.is_empty(), "after {}: {:?}", shown, problems);
            // Each lead's own contact finds it (a lead merged away and brought back by an
            // undo is looked up by its own id again).
            ids.retain(|&id| s.store().lead(id).unwrap().is_some());
            for id in 1..=s.store().lead_count().unwrap() as u64 + 8 {
                if s.store().lead(id).unwrap().is_some() && !ids.contains(&id) {
                    ids.push(id);
                }
            }
            for &id in &ids {
                let lead = s.show(id).unwrap().view.lead;
                if let Some(e) = &lead.email {
                    let found = s.store().find_email(&e.to_lowercase()).unwrap();
                    prop_assert_eq!(found, Some(id), "e-mail {} of #{}", e, id);
                }
            }
        }
    }
}
