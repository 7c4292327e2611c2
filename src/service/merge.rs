//! Joining two cards of one person (`leadq merge KEEP OTHER`), and taking a merge back.
//!
//! Rules, stated once:
//! - The survivor is KEEP. Each of its fields keeps its value, or takes OTHER's where it has
//!   none, or where `take` names the field (name, email, phone, company, source, or an
//!   attribute such as title). Tags are joined; OTHER's attributes fill the ones KEEP lacks.
//! - The more advanced stage wins (lost, nurture, new, contacted, qualified, opportunity,
//!   customer, loyal), with its lost reason and snooze; the earlier follow-up, the earlier
//!   arrival and the later touch are kept.
//! - Owners: one owner, or the one of the two that has one; two different owners are a
//!   manager's call (`owner`), refused until it is made.
//! - OTHER's timeline joins KEEP's in time order, with a "merged" event; the score is counted
//!   again from the joined timeline. OTHER's id keeps naming the survivor.
//! - Undo takes it back while the survivor is as the merge left it: both cards, both
//!   timelines, both sets of dedupe keys.

use serde::{Deserialize, Serialize};

use super::actions::{Action, MergedAway};
use super::local::Local;
use super::types::{Change, ServiceError};
use crate::domain::interaction::{Interaction, Outcome};
use crate::domain::lead::same_attribute_name;
use crate::domain::sanitize::for_display;
use crate::domain::{Lead, LeadId, Stage, scoring};
use crate::store::{Gone, LeadWrite};

/// What a manager asks of a merge.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeRequest {
    pub keep: LeadId,
    pub other: LeadId,
    /// Fields whose value comes from OTHER even where KEEP has one.
    pub take: Vec<String>,
    /// Who owns the survivor, when the two have different owners ("" or "none": the pool).
    pub owner: Option<String>,
}

const FIELDS: [&str; 5] = ["name", "email", "phone", "company", "source"];

/// A stage's weight in a merge: the more advanced wins; an open lead beats a lost one.
fn advanced(s: Stage) -> u8 {
    match s {
        Stage::Lost => 0,
        Stage::Nurture => 1,
        Stage::New => 2,
        Stage::Contacted => 3,
        Stage::Qualified => 4,
        Stage::Opportunity => 5,
        Stage::Customer => 6,
        Stage::Loyal => 7,
    }
}

fn min_some<T: Ord + Copy>(a: Option<T>, b: Option<T>) -> Option<T> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    }
}

impl Local {
    pub(super) fn merge_leads(&self, req: &MergeRequest) -> Result<Change, ServiceError> {
        self.require_manager("merge leads")?;
        let refused = |s: String| Err(ServiceError::Refused(s));
        let _guard = self.lock();
        let now = self.now();
        let keep = self.get(req.keep)?;
        let other = self.get(req.other)?;
        if keep.id == other.id {
            return refused(format!(
                "#{} and #{} are one lead already",
                req.keep, req.other
            ));
        }
        for t in &req.take {
            let t = t.trim();
            let known = FIELDS.iter().any(|f| f.eq_ignore_ascii_case(t))
                || t.eq_ignore_ascii_case("e-mail")
                || other.attributes.keys().any(|k| same_attribute_name(k, t));
            if !known {
                return refused(format!(
                    "--take {t:?}: #{} has no such field (name, email, phone, company, source, \
                     or one of its attributes)",
                    other.id
                ));
            }
        }
        let take = |f: &str| {
            req.take.iter().any(|t| {
                let t = t.trim();
                t.eq_ignore_ascii_case(f) || (f == "email" && t.eq_ignore_ascii_case("e-mail"))
            })
        };
        let owner = match (&keep.owner, &other.owner, &req.owner) {
            (_, _, Some(o)) if o.trim().is_empty() || o.trim().eq_ignore_ascii_case("none") => None,
            (_, _, Some(o)) => self.owner_for(Some(o.clone()), "merge leads")?,
            (Some(a), Some(b), None) if a != b => {
                return refused(format!(
                    "#{} is {a}'s and #{} is {b}'s: say who keeps the merged lead (--owner USER)",
                    keep.id, other.id
                ));
            }
            (a, b, None) => a.clone().or_else(|| b.clone()),
        };
        let mut after = keep.clone();
        let pick = |f: &str, k: &Option<String>, o: &Option<String>| {
            if take(f) && o.is_some() {
                o.clone()
            } else {
                k.clone().or_else(|| o.clone())
            }
        };
        if (take("name") || keep.name.is_empty()) && !other.name.is_empty() {
            after.name.clone_from(&other.name);
        }
        after.email = pick("email", &keep.email, &other.email);
        after.phone = pick("phone", &keep.phone, &other.phone);
        after.company = pick("company", &keep.company, &other.company);
        after.source = pick("source", &keep.source, &other.source);
        for t in &other.tags {
            if after.tags.len() < crate::domain::limits::TAGS
                && !after
                    .tags
                    .iter()
                    .any(|x| crate::domain::lead::same_tag(x, t))
            {
                after.tags.push(t.clone());
            }
        }
        for (k, v) in &other.attributes {
            let has = after
                .attributes
                .keys()
                .find(|x| same_attribute_name(x, k))
                .cloned();
            let taken = req.take.iter().any(|t| same_attribute_name(k, t.trim()));
            match has {
                Some(existing) if taken => {
                    after.attributes.remove(&existing);
                    after.attributes.insert(k.clone(), v.clone());
                }
                Some(_) => {}
                None if after.attributes.len() < crate::domain::limits::ATTRIBUTES => {
                    after.attributes.insert(k.clone(), v.clone());
                }
                None => {}
            }
        }
        after.owner = owner;
        let winner = if advanced(other.stage) > advanced(keep.stage) {
            &other
        } else {
            &keep
        };
        after.stage = winner.stage;
        after.lost_reason = winner.lost_reason;
        after.snoozed_until = winner.snoozed_until;
        after.next_action = min_some(keep.next_action, other.next_action);
        after.created = keep.created.min(other.created);
        after.last_touch = keep.last_touch.max(other.last_touch);

        // The survivor's e-mail and phone must not be a third lead's.
        let (keys, _) = self.rekeyed_always(&keep, &after);
        let [by_email, by_phone] = self.holders(&keys)?;
        for (what, key, holder) in [
            ("e-mail", &keys.email, by_email),
            ("phone", &keys.phone, by_phone),
        ] {
            if let (Some(k), Some(h)) = (key, holder)
                && h != keep.id
                && h != other.id
            {
                return refused(format!(
                    "the merged lead's {what} {k:?} is {} already",
                    self.whose(h)?
                ));
            }
        }

        let other_timeline = self.store.timeline(other.id)?;
        let mut note = format!(
            "joined #{} ({}) into this lead",
            other.id,
            for_display(&other.name)
        );
        let changed = crate::domain::edit::changes(&keep, &after);
        if !changed.is_empty() {
            note.push_str(&format!("; {}", changed.join("; ")));
        }
        if keep.stage != after.stage {
            note.push_str(&format!("; stage {} -> {}", keep.stage, after.stage));
        }
        if keep.owner != after.owner {
            note.push_str(&format!(
                "; owner {} -> {}",
                keep.owner.as_deref().unwrap_or("(unassigned)"),
                after.owner.as_deref().unwrap_or("(unassigned)")
            ));
        }
        let event = self.system_event(Outcome::Joined, now, note.clone());
        let mut append: Vec<Interaction> = other_timeline.iter().map(|(_, i)| i.clone()).collect();
        append.push(event);
        let mut timeline = self.interactions(keep.id)?;
        timeline.extend(append.iter().cloned());
        timeline.sort_by_key(|i| i.at);
        let (score_before, temperature_before) = scoring::current(self.rules(), &keep, now);
        after.score = self.score_lead(&after, &timeline, now);
        let score_after = after.score.score(self.rules(), now);
        after.temperature = self
            .rules()
            .temperature
            .classify(score_after, temperature_before);

        let other_keys = self.keys_of(&other);
        let unkeys = crate::domain::lead::DedupeKeys {
            email: other_keys.email.filter(|e| keys.email.as_ref() != Some(e)),
            phone: other_keys.phone.filter(|p| keys.phone.as_ref() != Some(p)),
        };
        // OTHER leaves first: the keys KEEP takes from it are filed under KEEP after.
        let writes = [
            LeadWrite {
                before: Some(other.clone()),
                after: other.clone(),
                keys: Default::default(),
                unkeys,
                gone: Some(Gone::MergedInto(keep.id)),
                append: vec![],
                remove: other_timeline.iter().map(|(k, _)| *k).collect(),
            },
            LeadWrite {
                before: Some(keep.clone()),
                after: after.clone(),
                keys,
                unkeys: self.keys_of(&keep),
                gone: None,
                append,
                remove: vec![],
            },
        ];
        let appended = self.store.commit(&writes, self.fingerprint())?;
        self.told(&writes);
        let label = format!("merge of #{} into #{}", other.id, keep.id);
        let action = self.remember(Action {
            user: self.who.user.clone(),
            label: label.clone(),
            before: keep.clone(),
            after: after.clone(),
            appended,
            logged: false,
            merged: Some(MergedAway {
                lead: other.clone(),
                timeline: other_timeline.into_iter().map(|(_, i)| i).collect(),
            }),
        });
        Ok(Change {
            id: keep.id,
            name: after.name.clone(),
            score_before,
            score_after,
            temperature_before,
            temperature_after: after.temperature,
            stage_before: keep.stage,
            stage_after: after.stage,
            next_action: after.next_action,
            owner_before: keep.owner.clone(),
            owner: after.owner.clone(),
            label,
            action: Some(action),
            detail: Some(note),
        })
    }

    /// The writes that take a merge back: the survivor as it was, OTHER as it was with its
    /// timeline. Refused if OTHER's e-mail or phone is a third lead's now.
    pub(super) fn unmerge_writes(
        &self,
        current: &Lead,
        record: &Action,
        away: &MergedAway,
    ) -> Result<Vec<LeadWrite>, ServiceError> {
        let restored = record.before.clone();
        let other_keys = self.keys_of(&away.lead);
        let (keys, unkeys) = self.rekeyed_always(current, &restored);
        // Both cards take back their e-mail and phone: none may be a third lead's by now.
        for (whose, k) in [(away.lead.id, &other_keys), (current.id, &keys)] {
            let holders = self.holders(k)?;
            if let Some(h) = holders
                .into_iter()
                .flatten()
                .find(|&h| h != current.id && h != away.lead.id)
            {
                return Err(ServiceError::Refused(format!(
                    "#{whose}'s e-mail or phone is {} now; nothing undone",
                    self.whose(h)?
                )));
            }
        }
        Ok(vec![
            LeadWrite {
                before: Some(current.clone()),
                after: restored,
                keys,
                unkeys,
                gone: None,
                append: vec![],
                remove: record.appended.clone(),
            },
            LeadWrite {
                before: None,
                after: away.lead.clone(),
                keys: other_keys,
                unkeys: Default::default(),
                gone: None,
                append: away.timeline.clone(),
                remove: vec![],
            },
        ])
    }
}
