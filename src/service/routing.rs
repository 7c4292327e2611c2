//! Routing in the service: a web lead routed as it arrives (`add_inbound`), a lead's route
//! explained (`route --dry-run`), the pool routed again (managers), reps away and back. The
//! rules are `domain::routing`'s; the state they move (who is away, where each rotation
//! stands) is kept in the store with the lead it routed, in one transaction.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::LeadService;
use super::local::Local;
use super::planner::Planner;
use super::types::{AddOutcome, OwnerFilter, Query, ServiceError};
use crate::domain::interaction::Outcome;
use crate::domain::routing::{self, Choice, Facts, Loads};
use crate::domain::{Lead, LeadId, Millis, NewLead, scoring};

/// What to route.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RouteRequest {
    /// Where this lead would go now, and why (nothing changes).
    DryRun(LeadId),
    /// Every open lead in the unassigned pool, by the rules (managers); `dry_run`: only say.
    Pool { dry_run: bool },
}

/// Where a lead went (or would go), and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Routed {
    pub id: LeadId,
    pub name: String,
    /// None: the unassigned pool.
    pub owner: Option<String>,
    pub rule: Option<String>,
    pub reason: String,
    /// Reps of the rule passed over, and why.
    pub passed: Vec<String>,
}

/// A lead added by the web intake, and where routing sent it (None: merged into a known
/// lead, which keeps its owner).
#[derive(Debug, Clone, PartialEq)]
pub struct Inbound {
    pub added: AddOutcome,
    pub routed: Option<Routed>,
}

/// Who is away, or a change of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AwayRequest {
    /// Whose (None: the caller's own).
    pub user: Option<String>,
    /// Away (true), back (false), or only ask (None).
    pub away: Option<bool>,
}

/// The reps away, with since when.
pub type AwayList = Vec<(String, Millis)>;

fn routed(lead: &Lead, choice: &Choice) -> Routed {
    Routed {
        id: lead.id,
        name: lead.name.clone(),
        owner: choice.owner.clone(),
        rule: choice.rule.clone(),
        reason: choice.reason.clone(),
        passed: choice.passed.clone(),
    }
}

/// The timeline's note of a routing.
fn note(choice: &Choice) -> String {
    match &choice.owner {
        Some(owner) => format!("routed to {owner} {}", choice.reason),
        None => format!("routing: {}", choice.reason),
    }
}

impl Local {
    /// How soon a lead routed by rule `rule` is to be touched (ms).
    fn target_of(&self, rule: Option<&str>) -> Millis {
        rule.and_then(|name| self.settings.routing.rules.iter().find(|r| r.name == name))
            .and_then(|r| r.target_minutes)
            .map_or(self.settings.response_target, |m| i64::from(m) * 60_000)
    }

    /// Each rep's untouched new leads (open, never touched), from the kept counts.
    fn loads(&self, now: Millis) -> Result<Loads, ServiceError> {
        let mut untouched: BTreeMap<String, u64> = BTreeMap::new();
        for (tally, n) in self.store.tallies_at(now)? {
            if tally.untouched
                && tally.stage.is_open()
                && let Some(owner) = tally.owner
            {
                *untouched.entry(owner).or_default() += n;
            }
        }
        Ok(Loads { untouched })
    }

    fn facts(&self, lead: &Lead, now: Millis) -> Facts {
        let (score, temperature) = scoring::current(self.rules(), lead, now);
        Facts {
            source: lead.source.clone(),
            attributes: lead.attributes.clone(),
            score,
            temperature,
        }
    }

    /// Adds a lead posted to the web intake and, when it is new, routes it by the rules: the
    /// lead, its routing event and the rotation's turn are one write.
    pub fn add_inbound(&self, request: NewLead) -> Result<Inbound, ServiceError> {
        self.add_inbound_keyed(request, None)
    }

    /// As `add_inbound`, remembering the answer under an idempotency key (the key, and a
    /// digest of the post) in the same write as the lead.
    pub fn add_inbound_keyed(
        &self,
        request: NewLead,
        key: Option<(&str, u64)>,
    ) -> Result<Inbound, ServiceError> {
        let mut request = request.cleaned();
        // Who gets a web lead is routing's to say.
        request.owner = None;
        let keys = request.validate(&self.settings.country_code, false)?;
        let _guard = self.lock();
        let now = self.now();
        let mut planner = Planner::new(self, now);
        let origin = format!("posted to the web intake ({})", self.who.user);
        let added = planner.add(request, keys, &origin)?;
        let mut state = self.store.routing_state()?;
        let mut route = None;
        // Its clock starts: the first touch is due within its rule's target, or the default.
        let loads = if self.settings.routing.rules.is_empty() {
            Loads::default()
        } else {
            self.loads(now)?
        };
        if added.created
            && let Some(w) = planner.new_lead_mut(added.id)
        {
            let mut rule = None;
            if !self.settings.routing.rules.is_empty() {
                let facts = self.facts(&w.after, now);
                let choice =
                    routing::route(&self.settings.routing, &facts, &mut state, &loads, None);
                w.after.owner.clone_from(&choice.owner);
                if choice.rule.is_some() {
                    w.append
                        .push(self.system_event(Outcome::OwnerChanged, now, note(&choice)));
                }
                route = Some(routed(&w.after, &choice));
                rule = choice.rule;
            }
            // Its clock starts: the first touch is due within its rule's target, or the default.
            w.after.response_due = Some(now + self.target_of(rule.as_deref()));
        }
        let writes = planner.into_writes();
        let remembered = key.map(|(k, digest)| {
            (
                k,
                crate::store::Remembered {
                    id: added.id,
                    created: added.created,
                    at: now,
                    digest,
                },
            )
        });
        self.store
            .commit_routed(&writes, self.fingerprint(), &state, remembered)?;
        self.told(&writes);
        Ok(Inbound {
            added,
            routed: route,
        })
    }

    pub(super) fn route_leads(&self, request: &RouteRequest) -> Result<Vec<Routed>, ServiceError> {
        match request {
            RouteRequest::DryRun(id) => {
                let lead = self.get(*id)?;
                self.check_access(&lead)?;
                if !lead.stage.is_open() {
                    return Err(ServiceError::Refused(format!(
                        "lead {id} is {}: closed leads are not routed",
                        lead.stage
                    )));
                }
                let now = self.now();
                let mut state = self.store.routing_state()?;
                let choice = routing::route(
                    &self.settings.routing,
                    &self.facts(&lead, now),
                    &mut state,
                    &self.loads(now)?,
                    None,
                );
                Ok(vec![routed(&lead, &choice)])
            }
            RouteRequest::Pool { dry_run } => {
                self.require_manager("route the unassigned pool")?;
                let pool = self.list(&Query {
                    owner: Some(OwnerFilter::Unassigned),
                    ..Query::default()
                })?;
                let mut out = Vec::new();
                let mut rehearsal = self.store.routing_state()?;
                let now = self.now();
                let mut loads = self.loads(now)?;
                for view in pool {
                    let id = view.lead.id;
                    if *dry_run {
                        // Each lead the check gives away counts for the next, as the real
                        // routing's writes would.
                        let choice = routing::route(
                            &self.settings.routing,
                            &self.facts(&view.lead, now),
                            &mut rehearsal,
                            &loads,
                            None,
                        );
                        if let Some(o) = &choice.owner {
                            *loads.untouched.entry(o.clone()).or_default() += 1;
                        }
                        out.push(routed(&view.lead, &choice));
                        continue;
                    }
                    let mut result = None;
                    self.update_routed(id, "routing", |lead, now| {
                        if lead.owner.is_some() || !lead.stage.is_open() {
                            return Ok((vec![], None));
                        }
                        let mut state = self.store.routing_state()?;
                        let choice = routing::route(
                            &self.settings.routing,
                            &self.facts(lead, now),
                            &mut state,
                            &self.loads(now)?,
                            None,
                        );
                        result = Some(routed(lead, &choice));
                        if choice.owner.is_none() {
                            return Ok((vec![], None));
                        }
                        lead.owner.clone_from(&choice.owner);
                        // A web lead's clock starts again with the rep who has it now.
                        if lead.awaiting() {
                            lead.response_due = Some(now + self.target_of(choice.rule.as_deref()));
                        }
                        let event = self.system_event(Outcome::OwnerChanged, now, note(&choice));
                        Ok((vec![event], Some(state)))
                    })?;
                    out.extend(result);
                }
                Ok(out)
            }
        }
    }

    pub(super) fn away(&self, request: &AwayRequest) -> Result<AwayList, ServiceError> {
        let who = request
            .user
            .as_deref()
            .map(str::trim)
            .unwrap_or(&self.who.user)
            .to_string();
        if request.away.is_some() {
            if who != self.who.user {
                self.require_manager("say another rep is away or back")?;
            }
            crate::domain::limits::owner(&who)?;
            // In a team, only its members are routed to: anyone else is a typing mistake.
            if let Some(members) = &self.settings.members
                && !members.contains(&who)
            {
                return Err(ServiceError::Refused(format!(
                    "{who} is not a member of this team (see team.toml in the team folder)"
                )));
            }
            let _guard = self.lock();
            let mut state = self.store.routing_state()?;
            let changed = match request.away {
                Some(true) => state.away.insert(who, self.now()).is_none(),
                _ => state.away.remove(&who).is_some(),
            };
            if changed {
                self.store.put_routing_state(&state)?;
            }
            return Ok(state.away.into_iter().collect());
        }
        Ok(self.store.routing_state()?.away.into_iter().collect())
    }

    /// The web leads waiting for their first touch that this user may see, soonest due
    /// first.
    pub(super) fn awaiting_leads(&self) -> Result<Vec<Awaiting>, ServiceError> {
        let mut out = Vec::new();
        for (due, id) in self.store.awaiting_responses()? {
            let Some(lead) = self.store.lead(id)? else {
                continue;
            };
            if !lead.awaiting() || !self.may_see(&lead) {
                continue;
            }
            out.push(Awaiting {
                id,
                name: lead.name,
                source: lead.source,
                owner: lead.owner,
                arrived: lead.created,
                due,
            });
        }
        Ok(out)
    }

    /// Gives each web lead whose first touch is overdue, and whose rule says so, to the
    /// next free rep of its rule's team, its clock started again. Returns the leads moved.
    pub fn reroute_overdue(&self) -> Result<Vec<Routed>, ServiceError> {
        let rules = &self.settings.routing;
        if !rules.rules.iter().any(|r| r.reroute) {
            return Ok(vec![]);
        }
        let now = self.now();
        let mut moved = Vec::new();
        // Re-routings are leadq's doing, not the user's who runs the server.
        let system = self.session(super::Identity {
            user: super::local::SYSTEM_AUTHOR.into(),
            role: super::Role::Manager,
        });
        for (due, id) in self.store.awaiting_responses()? {
            if due >= now {
                break;
            }
            let mut result = None;
            system.update_routed(id, "re-routing", |lead, now| {
                if !lead.overdue(now) {
                    return Ok((vec![], None));
                }
                let facts = self.facts(lead, now);
                let Some(rule) = rules.matching(&facts).filter(|r| r.reroute) else {
                    return Ok((vec![], None));
                };
                let target = self.target_of(Some(&rule.name));
                // Once round the team at most: then it stays, overdue, where it is.
                let reps = rule.reps().len().max(1) as i64;
                if now - lead.created >= target * reps {
                    return Ok((vec![], None));
                }
                let mut state = self.store.routing_state()?;
                let loads = self.loads(now)?;
                let from = lead.owner.clone();
                let choice = routing::route(rules, &facts, &mut state, &loads, from.as_deref());
                let Some(to) = choice.owner.clone().filter(|to| Some(to) != from.as_ref()) else {
                    return Ok((vec![], None));
                };
                // How long the last holder had it: since its clock last started.
                let held = (now - (due - target).max(lead.created)) / 60_000;
                let note = format!(
                    "re-routed to {to} {}: not touched within its target ({} had it {held}m)",
                    choice.reason,
                    from.as_deref().unwrap_or("the pool")
                );
                lead.owner = Some(to);
                lead.response_due = Some(now + target);
                result = Some(routed(lead, &choice));
                let event = self.system_event(Outcome::OwnerChanged, now, note);
                Ok((vec![event], Some(state)))
            })?;
            moved.extend(result);
        }
        Ok(moved)
    }
}

/// A web lead waiting for its first touch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Awaiting {
    pub id: LeadId,
    pub name: String,
    pub source: Option<String>,
    pub owner: Option<String>,
    pub arrived: Millis,
    /// When its first touch is due (overdue after).
    pub due: Millis,
}
