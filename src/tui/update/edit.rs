//! The edit form over a lead's card (`E`) and the tag prompt (`t`).

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::prompt::{ask, remember_subject};
use super::*;
use crate::domain::Lead;
use crate::domain::edit::{LeadEdit, parse_attribute, parse_tag_changes};
use crate::tui::state::{EditForm, FieldKey, FormField};

/// The lead with this id as the screen holds it: the open card, else its row.
fn lead_at_hand(s: &State, id: crate::domain::LeadId) -> Option<Lead> {
    match &s.detail {
        Some(d) if d.view.lead.id == id => Some(d.view.lead.clone()),
        _ => s
            .rows
            .iter()
            .find(|v| v.lead.id == id)
            .map(|v| v.lead.clone()),
    }
}

/// Opens the form on lead `id`'s card: the standard fields, the title, the other attributes,
/// and a line for a new attribute.
pub(super) fn open_form(s: &mut State, id: crate::domain::LeadId) {
    let Some(lead) = lead_at_hand(s, id) else {
        s.flash("the lead is not loaded yet", true);
        return;
    };
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let mut fields = vec![
        (FieldKey::Name, lead.name.clone()),
        (FieldKey::Email, text(&lead.email)),
        (FieldKey::Phone, text(&lead.phone)),
        (FieldKey::Company, text(&lead.company)),
        (FieldKey::Source, text(&lead.source)),
        (
            FieldKey::Attribute("title".into()),
            lead.attributes.get("title").cloned().unwrap_or_default(),
        ),
    ];
    for (k, v) in &lead.attributes {
        if k != "title" {
            fields.push((FieldKey::Attribute(k.clone()), v.clone()));
        }
    }
    fields.push((FieldKey::NewAttribute, String::new()));
    remember_subject(s, Some(id));
    s.prompt = Some(Prompt::Edit(EditForm {
        lead: id,
        fields: fields
            .into_iter()
            .map(|(key, was)| FormField {
                key,
                text: was.clone(),
                was,
            })
            .collect(),
        at: 0,
        error: None,
    }));
}

/// A key in the form: tab and the arrows move between fields, typing edits the one at hand,
/// enter saves what changed.
pub(super) fn form_key(s: &mut State, mut form: EditForm, k: KeyEvent) -> Vec<Effect> {
    let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
    let n = form.fields.len();
    match k.code {
        KeyCode::Tab | KeyCode::Down => form.at = (form.at + 1) % n,
        KeyCode::BackTab | KeyCode::Up => form.at = (form.at + n - 1) % n,
        KeyCode::Enter => return save(s, form),
        KeyCode::Backspace => {
            form.fields[form.at].text.pop();
        }
        KeyCode::Char('u') if ctrl => form.fields[form.at].text.clear(),
        KeyCode::Char(c) if !ctrl => form.fields[form.at].text.push(c),
        _ => {}
    }
    form.error = None;
    s.prompt = Some(Prompt::Edit(form));
    vec![]
}

fn save(s: &mut State, mut form: EditForm) -> Vec<Effect> {
    let edit = match changes(&form) {
        Ok(edit) => edit,
        Err(e) => {
            form.error = Some(e);
            s.prompt = Some(Prompt::Edit(form));
            return vec![];
        }
    };
    s.prompt = None;
    if edit.is_empty() {
        s.flash("nothing changed", false);
        return vec![];
    }
    let lead = form.lead;
    s.edit_sent = Some(form);
    vec![Effect::Edit { lead, edit }]
}

/// The fields that differ from the card, as an edit (an emptied field is cleared).
fn changes(form: &EditForm) -> Result<LeadEdit, String> {
    let mut edit = LeadEdit::default();
    for f in &form.fields {
        if f.text.trim() == f.was.trim() {
            continue;
        }
        let value = Some(f.text.clone());
        match &f.key {
            FieldKey::Name => edit.name = value,
            FieldKey::Email => edit.email = value,
            FieldKey::Phone => edit.phone = value,
            FieldKey::Company => edit.company = value,
            FieldKey::Source => edit.source = value,
            FieldKey::Attribute(k) => {
                edit.set.insert(k.clone(), f.text.clone());
            }
            FieldKey::NewAttribute => {
                let (k, v) = parse_attribute(&f.text)?;
                edit.set.insert(k, v);
            }
        }
    }
    Ok(edit)
}

/// The save was refused: the form opens again as it was sent, with the reason.
pub(super) fn refused(s: &mut State, why: String) -> bool {
    match s.edit_sent.take() {
        Some(mut form) if s.prompt.is_none() => {
            form.error = Some(why);
            s.prompt = Some(Prompt::Edit(form));
            true
        }
        _ => false,
    }
}

/// Opens the tag prompt for lead `id`.
pub(super) fn open_tags(s: &mut State, id: crate::domain::LeadId) {
    let in_use = s.tags.clone();
    ask(s, Ask::Tags(in_use), Some(id));
}

/// Tab in the tag prompt: the word being typed completed from the tags in use (the first in
/// their order that starts with it and is not the word already).
pub fn complete_tag(text: &str, in_use: &[String]) -> Option<String> {
    let start = text.rfind(' ').map_or(0, |i| i + 1);
    let word = &text[start..];
    let (sign, stem) = match word.chars().next() {
        Some(c @ ('+' | '-')) => (c.to_string(), &word[1..]),
        _ => (String::new(), word),
    };
    if stem.is_empty() {
        return None;
    }
    let lower = stem.to_lowercase();
    let found = in_use
        .iter()
        .find(|t| t.to_lowercase().starts_with(&lower) && t.len() > stem.len())?;
    Some(format!("{}{sign}{found} ", &text[..start]))
}

/// The tag prompt's answer as an edit.
pub(super) fn tag_edit(text: &str) -> Result<LeadEdit, String> {
    let words: Vec<String> = text.split_whitespace().map(String::from).collect();
    let (tag, untag) = parse_tag_changes(&words)?;
    Ok(LeadEdit {
        tag,
        untag,
        ..LeadEdit::default()
    })
}
