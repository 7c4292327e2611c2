//! The in-process service: the store, the rules, the clock and the user, with one writer at a
//! time.

use std::ops::Deref;
use std::sync::{Arc, Mutex, MutexGuard};

use super::LeadService;
use super::types::*;
use crate::domain::dedupe;
use crate::domain::interaction::{Interaction, Kind, Outcome};
use crate::domain::lead::DedupeKeys;
use crate::domain::model::Model;
use crate::domain::scoring::{self, Rules};
use crate::domain::stage::Stage;
use crate::domain::time::{Millis, utc_now};
use crate::domain::{Lead, LeadId, ValidationError};
use crate::store::{LeadWrite, Store};

/// Who is acting, under which rules, at what time.
#[derive(Debug, Clone)]
pub struct Settings {
    pub rules: Rules,
    /// Prefixed to national phone numbers (digits, no +).
    pub country_code: String,
    /// The Unix user, recorded as the author of every interaction.
    pub user: String,
    /// A fixed "now" (`LEADQ_NOW`), or None for the system clock.
    pub fixed_now: Option<Millis>,
    /// A team's members (a team server's store): only they may own leads. None: anyone.
    pub members: Option<Vec<String>>,
    /// How often the server snapshots the store (None: never), and how many it keeps.
    pub snapshot_every: Option<std::time::Duration>,
    pub snapshot_keep: usize,
    /// Bytes to keep free on the store's disk.
    pub min_free: u64,
    /// Columns the learned model leaves out unless a training names its own (model.toml).
    pub model_exclude: Vec<String>,
    /// What each source cost each month (`spend.toml`), for the sources report.
    pub spend: Vec<Spend>,
    /// Who gets a new inbound lead (`routing.toml`; none: the unassigned pool).
    pub routing: crate::domain::routing::Rules,
    /// How soon a web lead is to be touched, unless its routing rule says (ms).
    pub response_target: Millis,
}

/// What a source cost in one month.
#[derive(Debug, Clone, PartialEq)]
pub struct Spend {
    pub source: String,
    /// The month's first and last local day (`time::local_day` numbering).
    pub first_day: i32,
    pub last_day: i32,
    pub amount: f64,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            rules: Rules::defaults(),
            country_code: crate::config::DEFAULT_COUNTRY_CODE.into(),
            user: "leadq".into(),
            fixed_now: None,
            members: None,
            snapshot_every: Some(super::health::SNAPSHOT_EVERY),
            snapshot_keep: super::health::SNAPSHOT_KEEP,
            min_free: crate::store::DEFAULT_MIN_FREE,
            model_exclude: Vec::new(),
            spend: Vec::new(),
            routing: crate::domain::routing::Rules::default(),
            response_target: 5 * 60_000,
        }
    }
}

/// What every session of one store shares: the store, the settings, the writer lock and the
/// subscribers to the change stream.
pub struct Core {
    pub(super) store: Store,
    pub(super) settings: Settings,
    write: Mutex<()>,
    pub(super) subscribers: Mutex<Vec<std::sync::mpsc::Sender<LeadId>>>,
    /// Every lead's search text and place, once a search asked for it (`finder`).
    pub(super) finding: Mutex<Finding>,
    /// One build of the search's index at a time: other searches wait for it.
    find_build: Mutex<()>,
    /// Who hears each write as the lead before and after (the server, for deltas).
    pub(super) movers: Mutex<Vec<std::sync::mpsc::Sender<super::watch::Moved>>>,
    /// Bumped by every change: cached answers of an older count are stale.
    pub(super) changes: std::sync::atomic::AtomicU64,
    /// The header counts per identity, as of a change count and a minute: after a change every
    /// connected screen asks for them, and one scan of the store serves them all.
    pub(super) stats_cache: Mutex<StatsCache>,
    /// Each user's recent changes, for undo: kept here, never trusted from a client.
    pub(super) actions: Mutex<super::actions::Actions>,
    /// What the last full check of the store found.
    pub(super) verification: Mutex<super::health::Verification>,
    /// The learned model the queue is scored with (None: the rules alone).
    pub(super) model: std::sync::RwLock<Option<Arc<Model>>>,
    /// Leads won or lost since the model was trained (in this process): the server retrains
    /// once enough have arrived.
    pub(super) outcomes: std::sync::atomic::AtomicUsize,
    /// One training at a time.
    pub(super) training: Mutex<()>,
}

/// (user, role) -> (change count, minute, counts).
pub(super) type StatsCache = std::collections::HashMap<(String, Role), (u64, i64, Stats)>;

/// The service for one identity over a shared core: the CLI and the TUI get one for the Unix
/// user running them; a server makes one per connected client, from its peer credentials.
#[derive(Clone)]
pub struct Local {
    core: Arc<Core>,
    pub(super) who: Identity,
}

impl Deref for Local {
    type Target = Core;

    fn deref(&self) -> &Core {
        &self.core
    }
}

/// The search's index of every lead: not built yet, being built (with the leads written
/// meanwhile), or kept up to date with every write.
#[derive(Default)]
pub(super) enum Finding {
    #[default]
    Cold,
    Building {
        written: Vec<Lead>,
        /// Many leads changed at once during the build: it is stale, built again.
        spoiled: bool,
    },
    Ready(Box<super::finder::Finder>),
}

/// Sent on the change stream when many leads changed at once (an import).
pub const ANY_LEAD: LeadId = 0;

/// Sent on the change stream when only who-is-on-what changed: redraw, nothing to reload.
pub const PRESENCE_CHANGED: LeadId = u64::MAX;

/// The author of the system's own events.
pub const SYSTEM_AUTHOR: &str = "leadq";

impl Local {
    /// Wraps a store for `settings.user`, with every right over it (a store of one's own); if
    /// the scoring rules changed since the store's scores were cached, the cache is rebuilt.
    pub fn new(store: Store, settings: Settings) -> Result<Local, ServiceError> {
        let who = Identity {
            user: settings.user.clone(),
            role: Role::Manager,
        };
        let core = Core {
            store,
            settings,
            write: Mutex::new(()),
            subscribers: Mutex::new(Vec::new()),
            movers: Mutex::new(Vec::new()),
            finding: Mutex::new(Finding::Cold),
            find_build: Mutex::new(()),
            changes: std::sync::atomic::AtomicU64::new(0),
            stats_cache: Mutex::new(std::collections::HashMap::new()),
            actions: Mutex::new(super::actions::Actions::default()),
            verification: Mutex::new(super::health::Verification::NotRun),
            model: std::sync::RwLock::new(None),
            outcomes: std::sync::atomic::AtomicUsize::new(0),
            training: Mutex::new(()),
        };
        core.store.set_min_free(core.settings.min_free);
        core.store.use_country_code(&core.settings.country_code)?;
        core.store
            .use_rules(Arc::new(core.settings.rules.clone()))?;
        if let Some(m) = core.store.model()?.filter(|m| m.active) {
            *core.model.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(m));
        }
        let fp = core.fingerprint();
        if core.store.rules_fingerprint()? != fp {
            core.rescore(super::learning::Redo::Everything)?;
        }
        Ok(Local {
            core: Arc::new(core),
            who,
        })
    }

    /// Another session over the same store, acting as `who`.
    pub fn session(&self, who: Identity) -> Local {
        Local {
            core: Arc::clone(&self.core),
            who,
        }
    }

    pub fn who(&self) -> &Identity {
        &self.who
    }

    /// Whether this session may see (and work) a lead: managers see everything, a rep their own
    /// leads and the unassigned pool.
    pub fn may_see(&self, lead: &Lead) -> bool {
        self.may_see_owner(lead.owner.as_deref())
    }

    /// Whether this session sees every lead (a manager).
    pub fn sees_all(&self) -> bool {
        self.who.role == Role::Manager
    }

    /// Whether this session may see a lead owned by `owner` (None: the pool).
    /// Owners compare exactly, as Unix user names do: "Bob" is not "bob".
    pub fn may_see_owner(&self, owner: Option<&str>) -> bool {
        self.who.role == Role::Manager || owner.is_none_or(|o| o == self.who.user)
    }

    pub(super) fn check_access(&self, lead: &Lead) -> Result<(), ServiceError> {
        if self.may_see(lead) {
            return Ok(());
        }
        Err(ServiceError::Refused(format!(
            "#{} belongs to {}: a rep works their own leads and the unassigned pool; ask a manager",
            lead.id,
            lead.owner.as_deref().unwrap_or("?")
        )))
    }

    /// Whether `user` may own leads here: anyone with a user name, or in a team its members.
    pub fn is_member(&self, user: &str) -> bool {
        self.member_named(user).is_some()
    }

    /// The member `user` names: themselves, or the one member spelled so with other letter
    /// case ("Alice" for alice), as a team file spells them. Anyone outside a team.
    fn member_named(&self, user: &str) -> Option<String> {
        let Some(members) = &self.settings.members else {
            return Some(user.to_string());
        };
        if members.iter().any(|m| m == user) {
            return Some(user.to_string());
        }
        let mut alike = members.iter().filter(|m| m.eq_ignore_ascii_case(user));
        match (alike.next(), alike.next()) {
            (Some(one), None) => Some(one.clone()),
            _ => None,
        }
    }

    /// The owner a request may set: a valid user name, in a team a member, and, unless the
    /// caller is a manager, the caller themselves (spelled as the server knows them). `what`
    /// names the manager's right it would take otherwise.
    pub(super) fn owner_for(
        &self,
        owner: Option<String>,
        what: &str,
    ) -> Result<Option<String>, ServiceError> {
        let Some(owner) = owner else {
            return Ok(None);
        };
        crate::domain::limits::owner(&owner)?;
        let owner = self
            .member_named(&owner)
            .ok_or(ValidationError::NotMember(owner))?;
        if owner != self.who.user && !owner.eq_ignore_ascii_case(&self.who.user) {
            self.require_manager(what)?;
        }
        // "ALICE" from alice herself, outside a team, is alice.
        if owner.eq_ignore_ascii_case(&self.who.user) && self.settings.members.is_none() {
            return Ok(Some(self.who.user.clone()));
        }
        Ok(Some(owner))
    }

    pub(super) fn require_manager(&self, what: &str) -> Result<(), ServiceError> {
        match self.who.role {
            Role::Manager => Ok(()),
            Role::Rep => Err(ServiceError::Refused(format!("only a manager can {what}"))),
        }
    }
}

impl Core {
    /// "Now": the fixed time of `LEADQ_NOW`, else the system clock.
    pub fn now(&self) -> Millis {
        self.settings.fixed_now.unwrap_or_else(utc_now)
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// A lead's timeline, oldest first, without the store's keys.
    pub(super) fn interactions(&self, id: LeadId) -> Result<Vec<Interaction>, ServiceError> {
        Ok(self
            .store
            .timeline(id)?
            .into_iter()
            .map(|(_, i)| i)
            .collect())
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, ()> {
        self.write.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn rules(&self) -> &Rules {
        &self.settings.rules
    }

    /// What the cached scores were computed with: the rules and the active model's version.
    pub(super) fn fingerprint(&self) -> Option<u64> {
        let model = self.active_model().map_or(0, |m| u64::from(m.version));
        Some(self.settings.rules.fingerprint() ^ model.wrapping_mul(0x9e37_79b9_7f4a_7c15))
    }

    /// Lead `id`, or the lead it was merged into: a merged-away id keeps naming the
    /// person (scripts, old links).
    pub(super) fn get(&self, id: LeadId) -> Result<Lead, ServiceError> {
        if let Some(lead) = self.store.lead(id)? {
            return Ok(lead);
        }
        if let Some((by, at)) = self.store.erased(id)? {
            return Err(ServiceError::Refused(format!(
                "#{id} was erased by {by} on {} (at the person's request): nothing of it is kept",
                crate::domain::time::format_rfc3339(at)
            )));
        }
        match self.store.merged_into(id)? {
            Some(survivor) => self.get(survivor),
            None => Err(ServiceError::NotFound(id)),
        }
    }

    pub(super) fn view(&self, lead: Lead, now: Millis) -> LeadView {
        let (score, temperature) = scoring::current(self.rules(), &lead, now);
        LeadView {
            chance: self.chance(&lead),
            lead,
            score,
            temperature,
        }
    }
}

impl Local {
    /// Applies `change` to a lead and writes it with the interactions it produced, returning
    /// what changed. The closure returns the interactions to append.
    pub(super) fn update(
        &self,
        id: LeadId,
        label: &str,
        change: impl FnOnce(&mut Lead, Millis) -> Result<Vec<Interaction>, ServiceError>,
    ) -> Result<Change, ServiceError> {
        self.update_routed(id, label, |lead, now| Ok((change(lead, now)?, None)))
    }

    /// As `update`; a change that moves the routing state (a turn taken, `routing`) returns
    /// it, and it is kept in the same transaction as the lead.
    pub(super) fn update_routed(
        &self,
        id: LeadId,
        label: &str,
        change: impl FnOnce(
            &mut Lead,
            Millis,
        ) -> Result<
            (Vec<Interaction>, Option<crate::domain::routing::State>),
            ServiceError,
        >,
    ) -> Result<Change, ServiceError> {
        let _guard = self.lock();
        let now = self.now();
        let before = self.get(id)?;
        self.check_access(&before)?;
        let (score_before, temperature_before) = scoring::current(self.rules(), &before, now);
        let mut lead = before.clone();
        lead.score = lead.score.advanced(self.rules(), now);
        lead.temperature = temperature_before;
        let (append, routing) = change(&mut lead, now)?;
        for i in &append {
            lead.score.add(self.rules(), &before, i);
        }
        self.refit(&mut lead, &append, now)?;
        let score_after = lead.score.score(self.rules(), now);
        lead.temperature = self
            .rules()
            .temperature
            .classify(score_after, temperature_before);
        let (keys, unkeys) = self.rekeyed(&before, &lead);
        let write = LeadWrite {
            before: Some(before.clone()),
            after: lead.clone(),
            keys,
            unkeys,
            gone: None,
            append,
            remove: vec![],
        };
        let logged = write.append.first().is_some_and(|i| i.kind != Kind::System);
        let writes = std::slice::from_ref(&write);
        let appended = match &routing {
            Some(state) => self
                .store
                .commit_routed(writes, self.fingerprint(), state, None)?,
            None => self.store.commit(writes, self.fingerprint())?,
        };
        self.told(std::slice::from_ref(&write));
        let change = Change {
            id,
            name: lead.name.clone(),
            score_before,
            score_after,
            temperature_before,
            temperature_after: lead.temperature,
            stage_before: before.stage,
            stage_after: lead.stage,
            next_action: lead.next_action,
            owner_before: before.owner.clone(),
            owner: lead.owner.clone(),
            label: label.to_string(),
            action: None,
            detail: write
                .append
                .first()
                .filter(|i| i.kind == Kind::System)
                .and_then(|i| i.note.clone()),
        };
        let action = self.remember(super::actions::Action {
            user: self.who.user.clone(),
            label: label.to_string(),
            before,
            after: lead,
            appended,
            logged,
            merged: None,
        });
        Ok(Change {
            action: Some(action),
            ..change
        })
    }

    /// The dedupe keys a write from `before` to `after` claims and drops, whatever changed.
    pub(super) fn rekeyed_always(&self, before: &Lead, after: &Lead) -> (DedupeKeys, DedupeKeys) {
        (self.keys_of(after), self.keys_of(before))
    }

    /// Which leads the index files `keys` under: [the e-mail's, the phone's].
    pub(super) fn holders(&self, keys: &DedupeKeys) -> Result<[Option<LeadId>; 2], ServiceError> {
        let email = match &keys.email {
            Some(e) => self.store.find_email(e)?,
            None => None,
        };
        let phone = match &keys.phone {
            Some(p) => self.store.find_phone(p)?,
            None => None,
        };
        Ok([email, phone])
    }

    /// The dedupe keys of a lead, as `add` makes them.
    pub(super) fn keys_of(&self, lead: &Lead) -> DedupeKeys {
        DedupeKeys {
            email: lead.email.as_deref().map(dedupe::normalize_email),
            phone: lead
                .phone
                .as_deref()
                .and_then(|p| dedupe::normalize_phone(p, &self.settings.country_code).ok()),
        }
    }

    /// The dedupe keys a write from `before` to `after` claims and drops: none unless the
    /// e-mail or phone changed.
    pub(super) fn rekeyed(&self, before: &Lead, after: &Lead) -> (DedupeKeys, DedupeKeys) {
        if before.email == after.email && before.phone == after.phone {
            return Default::default();
        }
        (self.keys_of(after), self.keys_of(before))
    }

    /// Lead `id` as the user may be told of it: "#42 (Anna Silva)", or only whose it is.
    pub(super) fn whose(&self, id: LeadId) -> Result<String, ServiceError> {
        let lead = self.get(id)?;
        Ok(if self.may_see(&lead) {
            format!(
                "#{id}'s ({})",
                crate::domain::sanitize::for_display(&lead.name)
            )
        } else {
            format!(
                "#{id}'s, a lead of {}",
                lead.owner.as_deref().unwrap_or("a colleague")
            )
        })
    }

    /// Keeps what a change did, for its user's undo.
    pub(super) fn remember(&self, action: super::actions::Action) -> ActionId {
        self.actions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .record(action)
    }

    /// Tells every subscriber which lead changed (for a change of many leads, or of a lead's
    /// timeline only: the lead itself is the same).
    pub(super) fn notify(&self, id: LeadId) {
        self.tell(id, None, None);
    }

    /// Tells every subscriber of the writes just committed (under the writer lock, so that
    /// the store's generation is theirs): each lead before and after.
    pub(super) fn told(&self, writes: &[LeadWrite]) {
        for w in writes {
            match (&w.gone, &w.before) {
                (Some(_), Some(before)) => self.tell(before.id, Some(before), None),
                _ => self.tell(w.after.id, w.before.as_ref(), Some(&w.after)),
            }
        }
    }

    fn tell(&self, id: LeadId, before: Option<&Lead>, after: Option<&Lead>) {
        {
            let mut finding = self.finding.lock().unwrap_or_else(|p| p.into_inner());
            let building = matches!(*finding, Finding::Building { .. });
            match &mut *finding {
                _ if id == ANY_LEAD && !building => *finding = Finding::Cold,
                Finding::Building { spoiled, .. } if id == ANY_LEAD => *spoiled = true,
                Finding::Building { written, .. } => written.extend(after.cloned()),
                Finding::Ready(f) => match after {
                    Some(a) => f.put(self, a),
                    None => f.forget(id),
                },
                Finding::Cold => {}
            }
        }
        let mut movers = self.movers.lock().unwrap_or_else(|p| p.into_inner());
        let seq = self
            .changes
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            + 1;
        if !movers.is_empty() {
            let moved = super::watch::Moved {
                seq,
                generation: self.store.generation().unwrap_or(0),
                id,
                before: before.cloned().map(Arc::new),
                after: after.cloned().map(Arc::new),
            };
            movers.retain(|tx| tx.send(moved.clone()).is_ok());
        }
        drop(movers);
        let mut subs = self.subscribers.lock().unwrap_or_else(|p| p.into_inner());
        subs.retain(|tx| tx.send(id).is_ok());
    }

    /// The search (`LeadService::search`), building its index first if need be.
    pub(super) fn find(&self, q: &Query, text: &str, limit: usize) -> Result<Found, ServiceError> {
        let now = self.now();
        if let Some(found) = self.find_ready(q, text, limit, now) {
            return found;
        }
        // One build at a time (the server's, started when it starts, or this search's): a
        // search that comes meanwhile waits for it here.
        let _one = self.find_build.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(found) = self.find_ready(q, text, limit, now) {
            return found;
        }
        self.build_finder_now()?;
        self.find_ready(q, text, limit, now).unwrap_or_else(|| {
            Err(ServiceError::Refused(
                "the search could not be prepared: many leads changed meanwhile; try again".into(),
            ))
        })
    }

    fn find_ready(
        &self,
        q: &Query,
        text: &str,
        limit: usize,
        now: Millis,
    ) -> Option<Result<Found, ServiceError>> {
        let mut finding = self.finding.lock().unwrap_or_else(|p| p.into_inner());
        match &mut *finding {
            Finding::Ready(f) => Some(f.search(self, q, text, limit, now)),
            _ => None,
        }
    }

    /// Builds the search's index from every lead (the server does so once it has started),
    /// unless it is built.
    pub fn build_finder(&self) -> Result<(), ServiceError> {
        let _one = self.find_build.lock().unwrap_or_else(|p| p.into_inner());
        self.build_finder_now()
    }

    /// As `build_finder`, with the build lock held.
    fn build_finder_now(&self) -> Result<(), ServiceError> {
        {
            let mut finding = self.finding.lock().unwrap_or_else(|p| p.into_inner());
            if !matches!(*finding, Finding::Cold) {
                return Ok(());
            }
            *finding = Finding::Building {
                written: Vec::new(),
                spoiled: false,
            };
        }
        let built = super::finder::Finder::build(self);
        let mut finding = self.finding.lock().unwrap_or_else(|p| p.into_inner());
        let Finding::Building { written, spoiled } = std::mem::take(&mut *finding) else {
            return Ok(());
        };
        let mut f = built?;
        if !spoiled {
            for lead in &written {
                f.put(self, lead);
            }
            *finding = Finding::Ready(Box::new(f));
        }
        Ok(())
    }

    /// How many changes have been told so far (`Moved::seq` of the last).
    pub fn told_so_far(&self) -> u64 {
        self.changes.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Every write from now on, as the lead before and after it, in the order of the writes.
    pub fn watch_moves(&self) -> std::sync::mpsc::Receiver<super::watch::Moved> {
        let (tx, rx) = std::sync::mpsc::channel();
        self.movers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(tx);
        rx
    }

    /// The score and temperature `lead` stands at as of `now`, as the queue shows it: what a
    /// won or lost event records for the score check.
    pub(super) fn closed_as(
        &self,
        lead: &Lead,
        now: Millis,
    ) -> crate::domain::interaction::ClosedAs {
        let v = self.view(lead.clone(), now);
        crate::domain::interaction::ClosedAs {
            score: v.score,
            temperature: v.temperature,
        }
    }

    pub(super) fn system_event(&self, outcome: Outcome, at: Millis, note: String) -> Interaction {
        Interaction {
            kind: Kind::System,
            outcome: Some(outcome),
            author: self.who.user.clone(),
            at,
            note: Some(note),
            duration_secs: None,
            closed_as: None,
        }
    }

    pub(super) fn move_stage(
        &self,
        lead: &mut Lead,
        to: Stage,
        at: Millis,
        why: &str,
    ) -> Option<Interaction> {
        if lead.stage == to {
            return None;
        }
        let note = format!("{} -> {to}{why}", lead.stage);
        lead.stage = to;
        if to != Stage::Lost {
            lead.lost_reason = None;
        }
        Some(self.system_event(Outcome::StageChanged, at, note))
    }
}
