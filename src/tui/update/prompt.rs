//! Prompts: pickers chosen by digit and lines of text, and what each answer does.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;

/// "#43 Sofia Costa": whom a prompt is about, named while the lead is still at hand (after a
/// call is logged the lead may move away from the cursor).
pub(super) fn remember_subject(s: &mut State, lead: Option<crate::domain::LeadId>) {
    let Some(id) = lead else { return };
    let name = match (&s.detail, s.screen) {
        (Some(d), Screen::Lead) if d.view.lead.id == id => Some(d.view.lead.name.clone()),
        _ => s
            .rows
            .iter()
            .find(|v| v.lead.id == id)
            .map(|v| v.lead.name.clone()),
    };
    s.prompt_subject = match name {
        Some(n) => format!("#{id} {n}"),
        None if s.prompt_subject.starts_with(&format!("#{id} ")) => return,
        None => format!("#{id}"),
    };
}

pub(super) fn ask(s: &mut State, what: Ask, lead: Option<crate::domain::LeadId>) {
    remember_subject(s, lead);
    s.prompt = Some(Prompt::Text {
        what,
        lead,
        text: String::new(),
        error: None,
    });
}

pub(super) fn pick(s: &mut State, what: Pick, lead: Option<crate::domain::LeadId>) {
    remember_subject(s, lead);
    s.prompt = Some(Prompt::Pick { what, lead });
}

/// The options of a picker, in digit order.
pub fn pick_options(what: &Pick) -> Vec<String> {
    match what {
        Pick::Outcome(kind) => kind
            .outcomes()
            .iter()
            .map(|o| o.name().replace('-', " "))
            .collect(),
        Pick::Stage => Stage::ALL.iter().map(|s| s.name().to_string()).collect(),
        Pick::LostReason => LostReason::ALL
            .iter()
            .map(|r| r.name().replace('-', " "))
            .collect(),
        Pick::FilterStage => std::iter::once("any".to_string())
            .chain(Stage::ALL.iter().map(|s| s.name().to_string()))
            .collect(),
        Pick::FilterSource(sources) => std::iter::once("any".to_string())
            .chain(sources.iter().cloned())
            .collect(),
        Pick::MergeKeep(options) | Pick::MergeOwner(options) => options.clone(),
    }
}

pub(super) fn prompt_key(s: &mut State, k: KeyEvent) -> Vec<Effect> {
    let Some(prompt) = s.prompt.clone() else {
        return vec![];
    };
    if k.code == KeyCode::Esc
        || (k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL))
    {
        s.prompt = None;
        s.draft = None;
        return vec![];
    }
    match prompt {
        Prompt::Edit(form) => super::edit::form_key(s, form, k),
        Prompt::Confirm { kind, lead, .. } => {
            s.prompt = None;
            if matches!(k.code, KeyCode::Char('y' | 'Y')) {
                pick(s, Pick::Outcome(kind), Some(lead));
            }
            vec![]
        }
        Prompt::Pick { what, lead } => {
            let KeyCode::Char(c) = k.code else {
                return vec![];
            };
            let options = pick_options(&what);
            let first = if matches!(what, Pick::FilterStage | Pick::FilterSource(_)) {
                0
            } else {
                1
            };
            let Some(n) = c.to_digit(10).map(|d| d as usize) else {
                return vec![];
            };
            if n < first || n - first >= options.len() {
                return vec![];
            }
            s.prompt = None;
            picked(s, what, lead, n - first)
        }
        Prompt::Text {
            what,
            lead,
            mut text,
            ..
        } => {
            let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
            match k.code {
                KeyCode::Enter => {
                    s.prompt = None;
                    return submitted(s, what, lead, text.trim().to_string());
                }
                KeyCode::Backspace => {
                    text.pop();
                }
                KeyCode::Tab => {
                    if let Ask::Tags(in_use) | Ask::FilterTag(in_use) = &what
                        && let Some(done) = super::edit::complete_tag(&text, in_use)
                    {
                        text = done;
                    }
                }
                KeyCode::Char('u') if ctrl => text.clear(),
                KeyCode::Char(c) if !ctrl => {
                    if let Some(preset) = date_preset(&what, &text, c) {
                        s.prompt = None;
                        return submitted(s, what, lead, preset.to_string());
                    }
                    text.push(c);
                }
                _ => return vec![],
            }
            s.prompt = Some(Prompt::Text {
                what,
                lead,
                text,
                error: None,
            });
            vec![]
        }
    }
}

/// In a date prompt with nothing typed yet, one letter picks a preset.
pub(super) fn date_preset(what: &Ask, text: &str, c: char) -> Option<&'static str> {
    if !matches!(what, Ask::Next | Ask::Snooze) || !text.is_empty() {
        return None;
    }
    match c {
        't' => Some("tomorrow"),
        'd' => Some("3d"),
        'w' => Some("next-week"),
        _ => None,
    }
}

pub(super) fn picked(
    s: &mut State,
    what: Pick,
    lead: Option<crate::domain::LeadId>,
    index: usize,
) -> Vec<Effect> {
    match (what, lead) {
        (Pick::Outcome(kind), Some(id)) => {
            let outcome = kind.outcomes()[index];
            // The interaction is saved now; the note and follow-up that follow amend it.
            // Until it is, a note has nothing to amend (never the previous call).
            s.last_logged = None;
            ask(s, Ask::Note, Some(id));
            let entry = LogEntry {
                kind,
                outcome: Some(outcome),
                note: None,
                at: None,
                next_action: None,
                duration_secs: None,
            };
            vec![Effect::Log { lead: id, entry }]
        }
        (Pick::Stage, Some(id)) => {
            let stage = Stage::ALL[index];
            if stage == Stage::Lost {
                pick(s, Pick::LostReason, Some(id));
                return vec![];
            }
            vec![Effect::SetStage {
                lead: id,
                stage,
                reason: None,
            }]
        }
        (Pick::LostReason, Some(id)) => {
            vec![Effect::SetStage {
                lead: id,
                stage: Stage::Lost,
                reason: Some(LostReason::ALL[index]),
            }]
        }
        (Pick::FilterStage, _) => {
            s.stage_filter = index.checked_sub(1).map(|i| Stage::ALL[i]);
            s.selected = 0;
            reload(s)
        }
        (Pick::MergeKeep(_), _) => {
            let Some(mut req) = s.merging.take() else {
                return vec![];
            };
            if index == 1 {
                std::mem::swap(&mut req.keep, &mut req.other);
            }
            let owners = s
                .dupes
                .as_ref()
                .and_then(|d| d.get(s.dupes_at))
                .map(|p| (p.a.owner.clone(), p.b.owner.clone()));
            match owners {
                Some((Some(a), Some(b))) if a != b => {
                    s.merging = Some(req);
                    pick(s, Pick::MergeOwner(vec![a, b, "the pool".into()]), None);
                    vec![]
                }
                _ => vec![Effect::Merge(req)],
            }
        }
        (Pick::MergeOwner(owners), _) => {
            let Some(mut req) = s.merging.take() else {
                return vec![];
            };
            // The last option is the unassigned pool ("none", as `leadq merge --owner none`).
            req.owner = if index + 1 == owners.len() {
                Some("none".into())
            } else {
                owners.get(index).cloned()
            };
            vec![Effect::Merge(req)]
        }
        (Pick::FilterSource(sources), _) => {
            s.source_filter = index.checked_sub(1).and_then(|i| sources.get(i).cloned());
            s.selected = 0;
            reload(s)
        }
        _ => vec![],
    }
}

pub(super) fn retry(
    s: &mut State,
    what: Ask,
    lead: Option<crate::domain::LeadId>,
    text: String,
    error: String,
) -> Vec<Effect> {
    s.prompt = Some(Prompt::Text {
        what,
        lead,
        text,
        error: Some(error),
    });
    vec![]
}

pub(super) fn submitted(
    s: &mut State,
    what: Ask,
    lead: Option<crate::domain::LeadId>,
    text: String,
) -> Vec<Effect> {
    match what {
        Ask::Note => {
            let mut fx = Vec::new();
            if let (false, Some(action)) = (text.is_empty(), s.last_logged) {
                fx.push(Effect::Annotate { action, note: text });
            }
            ask(s, Ask::Next, lead);
            fx
        }
        Ask::NoteOnly => match (text.is_empty(), lead) {
            (false, Some(id)) => {
                let entry = LogEntry {
                    kind: Kind::Note,
                    outcome: None,
                    note: Some(text),
                    at: None,
                    next_action: None,
                    duration_secs: None,
                };
                vec![Effect::Log { lead: id, entry }]
            }
            _ => vec![],
        },
        Ask::Next | Ask::Snooze => {
            let Some(id) = lead else { return vec![] };
            if text.is_empty() {
                return vec![];
            }
            match parse_when(&text, s.now) {
                Ok(at) if what == Ask::Snooze => vec![Effect::Snooze {
                    lead: id,
                    until: at,
                }],
                Ok(at) => vec![Effect::SetNext {
                    lead: id,
                    at: Some(at),
                    join: true,
                }],
                Err(e) => retry(s, what, lead, text, e.to_string()),
            }
        }
        Ask::Assign => {
            let Some(id) = lead else { return vec![] };
            let owner = match text.as_str() {
                "" | "none" | "-" => None,
                "me" => Some(s.user.clone()),
                other => Some(other.to_string()),
            };
            vec![Effect::Assign { lead: id, owner }]
        }
        Ask::AddName | Ask::AddContact | Ask::AddCompany | Ask::AddSource => {
            add_step(s, what, text)
        }
        Ask::Erase => match lead {
            Some(id) if text.eq_ignore_ascii_case("yes") => vec![Effect::Erase(id)],
            _ => {
                s.flash("nothing erased", false);
                vec![]
            }
        },
        Ask::ReportOwner => {
            s.report_owner = match text.trim() {
                "" => None,
                "me" => Some(s.user.clone()),
                who => Some(who.to_string()),
            };
            s.report_at = None;
            vec![super::load_report(s)]
        }
        Ask::FilterTag(_) => {
            let tag = text.trim_start_matches(['+', '#']).trim();
            s.tag_filter = (!tag.is_empty()).then(|| tag.to_string());
            s.selected = 0;
            reload(s)
        }
        Ask::Tags(_) => match (lead, super::edit::tag_edit(&text)) {
            (_, _) if text.is_empty() => vec![],
            (Some(id), Ok(edit)) => vec![Effect::Edit { lead: id, edit }],
            (_, Err(e)) => retry(s, what, lead, text, e),
            (None, Ok(_)) => vec![],
        },
    }
}

/// The add-a-lead form, one field at a time: name, e-mail or phone, company, source.
pub(super) fn add_step(s: &mut State, what: Ask, text: String) -> Vec<Effect> {
    let Some(mut draft) = s.draft.take() else {
        return vec![];
    };
    let next = match what {
        Ask::AddName => {
            if text.is_empty() {
                s.draft = Some(draft);
                return retry(s, what, None, text, "a lead needs a name".into());
            }
            draft.name = text;
            Some(Ask::AddContact)
        }
        Ask::AddContact => {
            if text.is_empty() {
                s.draft = Some(draft);
                return retry(
                    s,
                    what,
                    None,
                    text,
                    "a lead needs an e-mail or a phone".into(),
                );
            }
            if text.contains('@') {
                draft.email = Some(text);
            } else {
                draft.phone = Some(text);
            }
            Some(Ask::AddCompany)
        }
        Ask::AddCompany => {
            draft.company = Some(text).filter(|t| !t.is_empty());
            Some(Ask::AddSource)
        }
        _ => {
            draft.source = Some(text).filter(|t| !t.is_empty());
            None
        }
    };
    match next {
        Some(step) => {
            s.draft = Some(draft);
            ask(s, step, None);
            vec![]
        }
        None => vec![Effect::Add(draft)],
    }
}
