//! Plans the writes of an add or an import in memory: new leads, merges into known leads and
//! merges between rows of one file, so the whole command is then one transaction.

use std::collections::HashMap;

use super::local::Local;
use super::types::{AddOutcome, ServiceError};
use crate::domain::interaction::Outcome;
use crate::domain::lead::DedupeKeys;
use crate::domain::{Interaction, Lead, LeadId, Millis, NewLead, Stage};
use crate::store::LeadWrite;

pub struct Planner<'a> {
    service: &'a Local,
    now: Millis,
    writes: Vec<LeadWrite>,
    by_id: HashMap<LeadId, usize>,
    by_email: HashMap<String, LeadId>,
    by_phone: HashMap<String, LeadId>,
}

impl<'a> Planner<'a> {
    pub fn new(service: &'a Local, now: Millis) -> Planner<'a> {
        Planner::with_capacity(service, now, 0)
    }

    /// A planner for about `rows` requests: an import reserves its tables once instead of
    /// growing them row by row (copying 100k planned writes several times over).
    pub fn with_capacity(service: &'a Local, now: Millis, rows: usize) -> Planner<'a> {
        Planner {
            service,
            now,
            writes: Vec::with_capacity(rows),
            by_id: HashMap::with_capacity(rows),
            by_email: HashMap::with_capacity(rows),
            by_phone: HashMap::with_capacity(rows),
        }
    }

    fn pending_duplicate(&self, keys: &DedupeKeys) -> Option<LeadId> {
        let email = keys.email.as_ref().and_then(|e| self.by_email.get(e));
        let phone = keys.phone.as_ref().and_then(|p| self.by_phone.get(p));
        email.or(phone).copied()
    }

    fn remember(&mut self, id: LeadId, keys: &DedupeKeys) {
        if let Some(e) = &keys.email {
            self.by_email.insert(e.clone(), id);
        }
        if let Some(p) = &keys.phone {
            self.by_phone.insert(p.clone(), id);
        }
    }

    /// Adds one validated request: a new lead, or a merge into the lead it duplicates.
    pub fn add(
        &mut self,
        req: NewLead,
        keys: DedupeKeys,
        origin: &str,
    ) -> Result<AddOutcome, ServiceError> {
        self.add_prepared(req, keys, origin, None)
    }

    /// As `add`, with the request already made into a scored new lead (`new_lead`), to use if
    /// it is one: an import scores its rows on every core first.
    pub fn add_prepared(
        &mut self,
        req: NewLead,
        keys: DedupeKeys,
        origin: &str,
        prepared: Option<NewLeadDraft>,
    ) -> Result<AddOutcome, ServiceError> {
        let rules = self.service.rules();
        let duplicate = match self.pending_duplicate(&keys) {
            Some(id) => Some(id),
            None => self.service.store.find_duplicate(&keys)?,
        };
        let Some(id) = duplicate else {
            let id = self.service.store.reserve_id();
            let NewLeadDraft(mut lead, timeline) = match prepared {
                Some(draft) if !draft.0.name.is_empty() => draft,
                _ => new_lead(self.service, &req, self.now, origin, Some(id)),
            };
            lead.id = id;
            self.remember(id, &keys);
            self.by_id.insert(id, self.writes.len());
            let name = lead.name.clone();
            self.writes.push(LeadWrite {
                before: None,
                after: lead,
                keys,
                unkeys: Default::default(),
                gone: None,
                append: timeline,
                remove: vec![],
            });
            return Ok(AddOutcome {
                id,
                name,
                created: true,
                filled: vec![],
            });
        };
        let index = match self.by_id.get(&id) {
            Some(&i) => i,
            None => {
                let lead = self.service.get(id)?;
                self.writes.push(LeadWrite {
                    before: Some(lead.clone()),
                    after: lead,
                    keys: DedupeKeys::default(),
                    unkeys: Default::default(),
                    gone: None,
                    append: vec![],
                    remove: vec![],
                });
                self.by_id.insert(id, self.writes.len() - 1);
                self.writes.len() - 1
            }
        };
        // An e-mail or phone of another lead (the request's e-mail found this lead, its phone
        // another) is not filled in: one key, one lead, so that the dedupe indexes are what
        // the leads say (a rebuild gives them back) and `leadq dupes` can offer the pair.
        let mut req = req;
        let other = |found: Option<LeadId>| found.is_some_and(|o| o != id);
        if let Some(e) = &keys.email
            && other(match self.by_email.get(e) {
                Some(&o) => Some(o),
                None => self.service.store.find_email(e)?,
            })
        {
            req.email = None;
        }
        if let Some(p) = &keys.phone
            && other(match self.by_phone.get(p) {
                Some(&o) => Some(o),
                None => self.service.store.find_phone(p)?,
            })
        {
            req.phone = None;
        }
        let w = &mut self.writes[index];
        let filled = w.after.fill_from(&req);
        let mut note = format!("repeat request, {origin}");
        if !filled.is_empty() {
            note.push_str(&format!("; filled {}", filled.join(", ")));
        }
        let merged = self.service.system_event(Outcome::Merged, self.now, note);
        let (_, temperature) = crate::domain::scoring::current(rules, &w.after, self.now);
        w.after.score = w.after.score.advanced(rules, self.now);
        let snapshot = w.after.clone();
        w.after.score.add(rules, &snapshot, &merged);
        w.append.push(merged);
        self.service.refit(&mut w.after, &w.append, self.now)?;
        let score = w.after.score.score(rules, self.now);
        w.after.temperature = rules.temperature.classify(score, temperature);
        // Only a filled e-mail or phone joins the index: an address the lead does not show
        // must not pull later requests into it.
        let mut known = DedupeKeys::default();
        if filled.iter().any(|f| f == "email") {
            known.email = keys.email.clone();
        }
        if filled.iter().any(|f| f == "phone") {
            known.phone = keys.phone.clone();
        }
        w.keys.email = w.keys.email.take().or(known.email.clone());
        w.keys.phone = w.keys.phone.take().or(known.phone.clone());
        let name = w.after.name.clone();
        self.remember(id, &known);
        Ok(AddOutcome {
            id,
            name,
            created: false,
            filled,
        })
    }

    /// The planned write of a lead this plan creates (None: not a new lead of this plan).
    pub fn new_lead_mut(&mut self, id: LeadId) -> Option<&mut LeadWrite> {
        let &i = self.by_id.get(&id)?;
        self.writes.get_mut(i).filter(|w| w.before.is_none())
    }

    pub fn into_writes(self) -> Vec<LeadWrite> {
        self.writes
    }
}

/// A request made into a new lead, scored, with its timeline (its "created" event, and for
/// closed history its won or lost event), before it has an id.
pub struct NewLeadDraft(Lead, Vec<Interaction>);

/// `req` as a new lead with its "created" event, scored as of `now`. A lead without a name is
/// named after its id ("Lead 17"), so it can only be drafted once the id is known. A request
/// from closed history arrives won (a customer) or lost, as of its close date.
pub fn new_lead(
    service: &Local,
    req: &NewLead,
    now: Millis,
    origin: &str,
    id: Option<LeadId>,
) -> NewLeadDraft {
    let rules = service.rules();
    let mut lead = Lead::from_request(id.unwrap_or(0), req, now);
    if lead.name.is_empty()
        && let Some(id) = id
    {
        lead.name = format!("Lead {id}");
    }
    let mut timeline = Vec::with_capacity(2);
    match req.closed {
        None => timeline.push(service.system_event(Outcome::Created, now, origin.to_string())),
        Some(closed) => {
            let at = closed.at.unwrap_or(now).min(now);
            lead.created = at;
            timeline.push(service.system_event(Outcome::Created, at, origin.to_string()));
            let (outcome, stage, note) = if closed.won {
                (Outcome::Won, Stage::Customer, "won (history)")
            } else {
                (Outcome::Lost, Stage::Lost, "lost (history)")
            };
            lead.stage = stage;
            timeline.push(service.system_event(outcome, at, note.to_string()));
        }
    }
    lead.score = service.score_lead(&lead, &timeline, now);
    let score = lead.score.score(rules, now);
    lead.temperature = rules.temperature.classify(score, lead.temperature);
    NewLeadDraft(lead, timeline)
}
