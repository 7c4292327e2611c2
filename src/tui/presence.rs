//! Presence: what this user tells the others (a lead open, a touch being logged on it), and
//! how the others' presence reads in the queue and the lead view. Pure functions of `State`.

use super::msg::Effect;
use super::state::{Ask, Pick, Prompt, Screen, State};
use crate::domain::LeadId;
use crate::service::Activity;

/// What this user is doing, as the others should see it: logging while a prompt of a touch
/// (its outcome, note or follow-up) is open for a lead, viewing while a lead is open, else
/// nothing.
pub fn wanted(s: &State) -> Option<(LeadId, Activity)> {
    let logging = match &s.prompt {
        Some(Prompt::Pick {
            what: Pick::Outcome(_),
            lead: Some(id),
        })
        | Some(Prompt::Text {
            what: Ask::Note | Ask::NoteOnly | Ask::Next,
            lead: Some(id),
            ..
        }) => Some(*id),
        _ => None,
    };
    if let Some(id) = logging {
        return Some((id, Activity::Logging));
    }
    match s.screen {
        Screen::Lead => s.open_lead.map(|id| (id, Activity::Viewing)),
        Screen::Queue | Screen::Welcome | Screen::Dupes | Screen::Reports => None,
    }
}

/// The effect that tells the server, when what this user does has changed since it was last
/// told.
pub fn sync(s: &mut State) -> Option<Effect> {
    let now = wanted(s);
    if now == s.my_presence {
        return None;
    }
    s.my_presence = now;
    Some(Effect::Presence(now))
}

/// The others on `lead`, one entry per user by name (logging outranks viewing when a user
/// has two sessions on it).
pub fn others_on(s: &State, lead: LeadId) -> Vec<(String, Activity)> {
    let mut out: Vec<(String, Activity)> = Vec::new();
    for p in s
        .presence
        .iter()
        .filter(|p| p.lead == lead && p.user != s.user)
    {
        match out.iter_mut().find(|(user, _)| *user == p.user) {
            Some(seen) if p.activity == Activity::Logging => seen.1 = Activity::Logging,
            Some(_) => {}
            None => out.push((p.user.clone(), p.activity)),
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// "bob", "bob and carol", "bob, carol and dan".
pub fn names(others: &[(String, Activity)]) -> String {
    let names: Vec<&str> = others.iter().map(|(u, _)| u.as_str()).collect();
    match names.as_slice() {
        [] => String::new(),
        [one] => (*one).to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// "bob is viewing this lead" / "bob is logging on this lead".
pub fn sentence(user: &str, activity: Activity) -> String {
    match activity {
        Activity::Viewing => format!("{user} is viewing this lead"),
        Activity::Logging => format!("{user} is logging on this lead"),
    }
}
