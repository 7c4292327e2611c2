//! The lead card's edit form (`E`) and tag prompt (`t`), driven by keys through `update` and
//! its effects against a temporary store, and drawn at 80x24.

mod common;

use common::press;
use leadq::domain::edit::LeadEdit;
use leadq::service::{LeadService, Local, Settings};
use leadq::store::Store;
use leadq::tui::app::start_state;
use leadq::tui::state::{Prompt, Screen};
use leadq::tui::theme::Theme;
use leadq::tui::views;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const NOW: i64 = 1_795_860_000_000; // 2026-11-22T10:00:00Z

fn service() -> Local {
    let settings = Settings {
        fixed_now: Some(NOW),
        user: "alice".into(),
        ..Settings::default()
    };
    let s = Local::new(Store::temporary().unwrap(), settings).unwrap();
    s.demo(40, 3).unwrap();
    s
}

fn screen(state: &leadq::tui::state::State, w: u16, h: u16) -> String {
    let theme = Theme::default_theme();
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| views::render(f, state, &theme)).unwrap();
    let buf = terminal.backend().buffer().clone();
    (0..h)
        .map(|y| (0..w).map(|x| buf[(x, y)].symbol()).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn e_opens_the_card_tab_moves_between_fields_enter_saves_and_u_takes_it_back() {
    let s = service();
    let mut state = start_state(&s);
    press(&s, &mut state, "<enter>");
    assert_eq!(state.screen, Screen::Lead);
    let id = state.detail.as_ref().unwrap().view.lead.id;
    let before = s.show(id).unwrap();
    press(&s, &mut state, "E");
    let text = screen(&state, 80, 24);
    assert!(text.contains(&format!("Edit #{id}")), "{text}");
    for label in [
        "Name",
        "E-mail",
        "Phone",
        "Company",
        "Source",
        "Title",
        "New attribute",
    ] {
        assert!(text.contains(label), "the form shows {label}:\n{text}");
    }
    press(
        &s,
        &mut state,
        "<ctrl-u> Ann <space> Edited <backtab> seats=12 <tab> <tab> <ctrl-u> \
         ann.edited@new.example <tab> <tab> <tab> <tab> CFO <enter>",
    );
    assert!(state.prompt.is_none(), "saved: {:?}", state.prompt);
    let after = s.show(id).unwrap().view.lead;
    assert_eq!(after.name, "Ann Edited");
    assert_eq!(after.email.as_deref(), Some("ann.edited@new.example"));
    assert_eq!(
        after.attributes.get("seats").map(String::as_str),
        Some("12")
    );
    assert!(
        after.attributes["title"].ends_with("CFO"),
        "{:?}",
        after.attributes
    );
    let flash = state.flash.as_ref().unwrap();
    assert!(
        !flash.error && flash.text.contains("name") && flash.text.contains("Ann Edited"),
        "the change is said: {}",
        flash.text
    );
    press(&s, &mut state, "u");
    assert_eq!(
        s.show(id).unwrap().view.lead,
        before.view.lead,
        "undo takes it back"
    );
}

#[test]
fn a_refused_save_opens_the_form_again_with_the_reason_and_esc_leaves_the_card() {
    let s = service();
    let mut state = start_state(&s);
    let other = s.list(&Default::default()).unwrap()[1].lead.clone();
    press(&s, &mut state, "<enter>");
    let id = state.detail.as_ref().unwrap().view.lead.id;
    let before = s.show(id).unwrap().view.lead;
    let taken = other.email.clone().expect("a demo lead has an e-mail");
    press(&s, &mut state, &format!("E <tab> <ctrl-u> {taken} <enter>"));
    let Some(Prompt::Edit(form)) = &state.prompt else {
        panic!("the form is open again: {:?}", state.prompt);
    };
    let why = form.error.as_deref().unwrap_or("");
    assert!(why.contains(&format!("#{}", other.id)), "{why}");
    assert_eq!(form.fields[1].text, taken, "what was typed is kept");
    assert!(
        screen(&state, 80, 24).contains("is already"),
        "the reason is shown"
    );
    press(&s, &mut state, "<esc>");
    assert!(state.prompt.is_none());
    assert_eq!(s.show(id).unwrap().view.lead, before, "nothing was written");
    // An emptied name is refused in the same way, and nothing changed saves nothing.
    press(&s, &mut state, "E <ctrl-u> <enter>");
    assert!(matches!(&state.prompt, Some(Prompt::Edit(f)) if f.error.is_some()));
    press(&s, &mut state, "<esc> E <enter>");
    assert_eq!(state.flash.as_ref().unwrap().text, "nothing changed");
    assert_eq!(s.show(id).unwrap().view.lead, before);
}

#[test]
fn t_adds_and_removes_tags_completing_from_the_tags_in_use() {
    let s = service();
    let mut state = start_state(&s);
    let rows = s.list(&Default::default()).unwrap();
    s.edit(
        rows[3].lead.id,
        LeadEdit {
            tag: vec!["call-back-monday".into()],
            ..LeadEdit::default()
        },
    )
    .unwrap();
    press(&s, &mut state, "<enter>");
    let id = state.detail.as_ref().unwrap().view.lead.id;
    press(&s, &mut state, "t");
    let text = screen(&state, 80, 24);
    assert!(
        text.contains("in use: ") && text.contains("call-back-mo"),
        "the tags in use are offered:\n{text}"
    );
    press(&s, &mut state, "+call-b <tab> top-ten <enter>");
    let tags = s.show(id).unwrap().view.lead.tags;
    assert!(tags.contains(&"call-back-monday".to_string()), "{tags:?}");
    assert!(tags.contains(&"top-ten".to_string()), "{tags:?}");
    assert!(
        s.tags().unwrap().contains(&"top-ten".to_string()),
        "counted as in use"
    );
    press(&s, &mut state, "t -top <tab> <enter>");
    let tags = s.show(id).unwrap().view.lead.tags;
    assert!(!tags.contains(&"top-ten".to_string()), "{tags:?}");
    assert!(
        !s.tags().unwrap().contains(&"top-ten".to_string()),
        "no lead carries it"
    );
    assert!(
        s.store().verify().unwrap().is_empty(),
        "the kept tag counts hold"
    );
}

#[test]
fn d_lists_the_likely_pairs_m_merges_one_u_takes_it_back_and_n_dismisses_one() {
    let settings = Settings {
        fixed_now: Some(NOW),
        user: "alice".into(),
        ..Settings::default()
    };
    let s = Local::new(Store::temporary().unwrap(), settings).unwrap();
    let add = |name: &str, email: &str, owner: Option<&str>| {
        s.add(leadq::domain::NewLead {
            name: name.into(),
            email: Some(email.into()),
            company: Some("Acme".into()),
            owner: owner.map(String::from),
            ..Default::default()
        })
        .unwrap()
        .id
    };
    let a = add("Ann Lee", "ann@acme.example", Some("ann"));
    let b = add("Ann Lee", "ann.lee@home.example", Some("bob"));
    let c = add("Bo Chen", "bo@acme.example", None);
    let d = add("Bo Chen", "bo.chen@home.example", None);
    let mut state = start_state(&s);
    press(&s, &mut state, "D");
    assert_eq!(state.screen, Screen::Dupes);
    let text = screen(&state, 80, 24);
    assert!(text.contains("Likely duplicates: 2"), "{text}");
    assert!(text.contains("same name and company"), "{text}");
    // The first pair: keep the second card (2), then the owners differ: bob (2).
    press(&s, &mut state, "m");
    assert!(screen(&state, 80, 24).contains("which card stays"));
    press(&s, &mut state, "2 2");
    assert!(
        s.store().lead(a).unwrap().is_none(),
        "#{a} was joined into #{b}"
    );
    assert_eq!(s.show(a).unwrap().view.lead.id, b);
    assert_eq!(s.show(b).unwrap().view.lead.owner.as_deref(), Some("bob"));
    assert!(
        state
            .flash
            .as_ref()
            .unwrap()
            .text
            .contains(&format!("joined #{a}"))
    );
    assert_eq!(
        state.dupes.as_ref().unwrap().len(),
        1,
        "the merged pair is gone"
    );
    press(&s, &mut state, "u");
    assert!(
        s.store().lead(a).unwrap().is_some(),
        "undo brought #{a} back"
    );
    assert_eq!(state.dupes.as_ref().unwrap().len(), 2);
    // The owner picker's last choice is the pool.
    press(&s, &mut state, "m 1");
    assert!(screen(&state, 80, 24).contains("3 the pool"));
    press(&s, &mut state, "3");
    assert_eq!(s.show(a).unwrap().view.lead.owner, None);
    press(&s, &mut state, "u");
    assert!(s.store().lead(b).unwrap().is_some());
    // n: the selected pair is two people.
    press(&s, &mut state, "j n");
    let left: Vec<_> = state
        .dupes
        .as_ref()
        .unwrap()
        .iter()
        .map(|p| (p.a.id, p.b.id))
        .collect();
    assert!(!left.contains(&(c, d)), "{left:?}");
    assert!(s.store().not_dupes().unwrap().contains(&(c, d)));
    press(&s, &mut state, "<esc>");
    assert_eq!(state.screen, Screen::Queue);
}

#[test]
fn x_in_the_lead_view_erases_the_lead_after_yes_and_anything_else_keeps_it() {
    let s = service();
    let mut state = start_state(&s);
    press(&s, &mut state, "<enter>");
    let id = state.detail.as_ref().unwrap().view.lead.id;
    press(&s, &mut state, "X");
    assert!(screen(&state, 80, 24).contains("for good? Type yes"));
    press(&s, &mut state, "no <enter>");
    assert!(s.show(id).is_ok(), "anything but yes keeps it");
    press(&s, &mut state, "X yes <enter>");
    assert!(s.show(id).unwrap_err().to_string().contains("erased"));
    assert_eq!(state.screen, Screen::Queue, "back to the queue");
    assert!(state.flash.as_ref().unwrap().text.contains("erased"));
    assert!(
        state.rows.iter().all(|v| v.lead.id != id),
        "gone from the rows"
    );
}

#[test]
fn hash_shows_the_leads_of_one_tag_completing_it_and_an_empty_answer_shows_every_tag() {
    let s = service();
    let mut state = start_state(&s);
    let rows = s
        .list(&leadq::service::Query {
            all: true,
            ..Default::default()
        })
        .unwrap();
    let mut tagged: Vec<u64> = [1, 4, 9].iter().map(|&i| rows[i].lead.id).collect();
    for &id in &tagged {
        s.edit(
            id,
            LeadEdit {
                tag: vec!["Call-List".into()],
                ..LeadEdit::default()
            },
        )
        .unwrap();
    }
    press(&s, &mut state, "A");
    let everyone = state.total;
    assert!(everyone > tagged.len(), "{everyone}");
    press(&s, &mut state, "#");
    let text = screen(&state, 80, 24);
    assert!(text.contains("Show the tag"), "{text}");
    press(&s, &mut state, "call <tab> <enter>");
    let mut shown: Vec<u64> = state.rows.iter().map(|v| v.lead.id).collect();
    shown.sort_unstable();
    tagged.sort_unstable();
    assert_eq!(
        shown, tagged,
        "only the tagged leads, whatever the case typed"
    );
    assert_eq!(state.total, tagged.len());
    let text = screen(&state, 80, 24);
    assert!(
        text.contains("tag:Call-List"),
        "the header names the tag:\n{text}"
    );
    // A tag taken off a lead takes it out of the view.
    press(&s, &mut state, "<enter> t -call <tab> <enter> <esc>");
    assert_eq!(
        state.total,
        tagged.len() - 1,
        "the untagged lead left the view"
    );
    press(&s, &mut state, "# <enter>");
    assert_eq!(state.total, everyone, "no tag: every lead again");
    assert!(!screen(&state, 80, 24).contains("tag:"));
}
