//! The service's operations for one session (`Local`): commands, queries and the change
//! stream, each checking what the session's identity may do. The types they work on are in
//! `local.rs`.

use super::planner::{self, Planner};
use super::types::*;
use super::{LeadService, demo, query};
use crate::domain::edit::LeadEdit;
use crate::domain::interaction::{Interaction, Kind, Outcome};
use crate::domain::limits;
use crate::domain::scoring;
use crate::domain::stage::{self, LostReason, Stage};
use crate::domain::time::{Millis, format_rfc3339};
use crate::domain::{Lead, LeadId, NewLead, ValidationError};
use crate::store::LeadWrite;

use super::local::{ANY_LEAD, Core, Local, StatsCache};

/// Import rows per thread below which validating and scoring stay on one thread.
const ROWS_PER_THREAD: usize = 1_000;

impl LeadService for Local {
    fn now(&self) -> Millis {
        Core::now(self)
    }

    fn identity(&self) -> Identity {
        self.who.clone()
    }

    fn location(&self) -> String {
        self.store.path().display().to_string()
    }

    fn add(&self, request: NewLead) -> Result<AddOutcome, ServiceError> {
        if request.closed.is_some() {
            return Err(ServiceError::Refused(
                "a lead arrives open: won and lost history comes in through `import` (managers)"
                    .into(),
            ));
        }
        let mut request = request.cleaned();
        let keys = request.validate(&self.settings.country_code, false)?;
        request.owner = self.owner_for(request.owner.take(), "add a lead for someone else")?;
        let _guard = self.lock();
        let mut planner = Planner::new(self, self.now());
        let mut outcome = planner.add(request, keys, &format!("added by {}", self.who.user))?;
        let writes = planner.into_writes();
        self.store.commit(&writes, self.fingerprint())?;
        self.told(&writes);
        // A repeat request still merges into the colleague's lead it matches (never a second
        // card), but a rep is not shown whose lead that is beyond its owner.
        if let Some(lead) = self.store.lead(outcome.id)?
            && !self.may_see(&lead)
        {
            outcome.name = format!(
                "a lead of {}",
                lead.owner.as_deref().unwrap_or("a colleague")
            );
            outcome.filled.clear();
        }
        Ok(outcome)
    }

    fn import(
        &self,
        rows: Vec<NewLead>,
        options: &ImportOptions,
    ) -> Result<ImportReport, ServiceError> {
        self.require_manager("import leads")?;
        let mut report = ImportReport {
            rows: rows.len(),
            ..ImportReport::default()
        };
        // Validating and scoring a row do not depend on the other rows: both run on every
        // core. Deciding new or duplicate does, and stays in file order.
        crate::domain::limits::text("the file name", &options.origin, 200)?;
        let country = &self.settings.country_code;
        let now = self.now();
        let checked = crate::par::flat_map(rows, ROWS_PER_THREAD, |row| {
            let row = row.cleaned();
            let keys = row
                .validate(country, options.anonymous)
                .and_then(|k| match &row.owner {
                    Some(o) if !self.is_member(o) => Err(ValidationError::NotMember(o.clone())),
                    _ => Ok(k),
                })
                .and_then(|k| match row.closed.and_then(|c| c.at) {
                    Some(at) => {
                        crate::domain::limits::happened("the close date", at, now).map(|()| k)
                    }
                    None => Ok(k),
                });
            Some((row, keys))
        });
        let mut valid = Vec::with_capacity(checked.len());
        for (index, (row, keys)) in checked.into_iter().enumerate() {
            match keys {
                Ok(keys) => valid.push((row, keys)),
                Err(e) => report.invalid.push((index, e.to_string())),
            }
        }
        let note = format!("imported from {} by {}", options.origin, self.who.user);
        let drafts = crate::par::flat_map(valid.iter().collect(), ROWS_PER_THREAD, |(row, _)| {
            Some(planner::new_lead(self, row, now, &note, None))
        });
        // Only deciding new or duplicate and writing need the store to hold still: colleagues'
        // writes wait for that, not for the scoring above.
        let _guard = self.lock();
        let mut planner = Planner::with_capacity(self, now, valid.len());
        for ((row, keys), draft) in valid.into_iter().zip(drafts) {
            if planner.add_prepared(row, keys, &note, Some(draft))?.created {
                report.created += 1;
            } else {
                report.merged += 1;
            }
        }
        let blocked = !report.invalid.is_empty() && !options.skip_invalid;
        if !options.dry_run && !blocked {
            self.store
                .commit(&planner.into_writes(), self.fingerprint())?;
            report.written = true;
            self.notify(ANY_LEAD);
        }
        Ok(report)
    }

    fn log(&self, id: LeadId, entry: LogEntry) -> Result<Change, ServiceError> {
        if let Some(o) = entry.outcome
            && !entry.kind.outcomes().contains(&o)
        {
            return Err(ServiceError::Refused(format!(
                "{o} is not a {} outcome",
                entry.kind
            )));
        }
        if entry.kind == Kind::System {
            return Err(ServiceError::Refused(
                "system events are recorded by leadq itself".into(),
            ));
        }
        let note = limits::note(entry.note.clone())?;
        if let Some(secs) = entry.duration_secs {
            limits::duration(secs)?;
        }
        let user = self.who.user.clone();
        let label = match entry.outcome {
            Some(o) => format!("{} {}", entry.kind, o.name().replace('-', " ")),
            None => entry.kind.to_string(),
        };
        self.update(id, &label, |lead, now| {
            let at = entry.at.unwrap_or(now);
            limits::happened("the interaction time", at, now)?;
            if let Some(next) = entry.next_action {
                limits::follow_up("the next follow-up", next, now)?;
            }
            let interaction = Interaction {
                kind: entry.kind,
                outcome: entry.outcome,
                author: user,
                at,
                note,
                duration_secs: entry.duration_secs,
                closed_as: None,
            };
            let mut out = vec![interaction];
            if entry.kind.is_touch() {
                lead.last_touch = Some(lead.last_touch.map_or(at, |t| t.max(at)));
                lead.snoozed_until = None;
                if lead.next_action.is_some_and(|t| t <= now) {
                    lead.next_action = None;
                }
            }
            if let Some(to) = stage::auto_transition(lead.stage, entry.kind, entry.outcome) {
                let why = format!(
                    " (automatic: {} {})",
                    entry.kind,
                    entry.outcome.map_or("", |o| o.name())
                );
                out.extend(self.move_stage(lead, to, at, &why));
            }
            if let Some(next) = entry.next_action {
                lead.next_action = Some(next);
            }
            Ok(out)
        })
    }

    fn set_stage(
        &self,
        id: LeadId,
        stage: Stage,
        reason: Option<LostReason>,
    ) -> Result<Change, ServiceError> {
        match (stage, reason) {
            (Stage::Lost, None) => {
                let reasons: Vec<_> = LostReason::ALL.iter().map(|r| r.name()).collect();
                return Err(ServiceError::Refused(format!(
                    "a lost lead needs a reason: one of {}",
                    reasons.join(", ")
                )));
            }
            (s, Some(_)) if s != Stage::Lost => {
                return Err(ServiceError::Refused(
                    "a reason is only given for lost".into(),
                ));
            }
            _ => {}
        }
        let label = format!("stage {stage}");
        self.update(id, &label, |lead, now| {
            let mut out = Vec::new();
            if stage == Stage::Lost {
                let r = reason.expect("checked above");
                let closed_as = self.closed_as(lead, now);
                lead.lost_reason = Some(r);
                lead.next_action = None;
                if lead.stage != Stage::Lost {
                    lead.stage = Stage::Lost;
                }
                let mut event = self.system_event(Outcome::Lost, now, format!("lost: {r}"));
                event.closed_as = Some(closed_as);
                out.push(event);
            } else {
                out.extend(self.move_stage(lead, stage, now, ""));
                if !stage.is_open() {
                    lead.next_action = None;
                }
            }
            Ok(out)
        })
    }

    fn won(&self, id: LeadId, note: Option<String>) -> Result<Change, ServiceError> {
        let note = limits::note(note)?;
        self.update(id, "won", |lead, now| {
            let to = stage::stage_after_won(lead.stage);
            let mut event =
                self.system_event(Outcome::Won, now, note.unwrap_or_else(|| "won".into()));
            event.closed_as = Some(self.closed_as(lead, now));
            let mut out = vec![event];
            out.extend(self.move_stage(lead, to, now, ""));
            lead.next_action = None;
            lead.snoozed_until = None;
            Ok(out)
        })
    }

    fn snooze(&self, id: LeadId, until: Millis) -> Result<Change, ServiceError> {
        self.update(id, "snooze", |lead, now| {
            limits::snooze(until, now)?;
            lead.snoozed_until = Some(until);
            lead.next_action = Some(until);
            Ok(vec![self.system_event(
                Outcome::Snoozed,
                now,
                format!("snoozed until {}", format_rfc3339(until)),
            )])
        })
    }

    fn assign(&self, id: LeadId, owner: Option<String>) -> Result<Change, ServiceError> {
        let owner = owner
            .map(|o| o.trim().to_string())
            .filter(|o| !o.is_empty());
        // A rep takes a lead or hands it back to the pool; giving it to someone is a manager's.
        let owner = self.owner_for(owner, "give a lead to someone else")?;
        self.update(id, "assignment", |lead, now| {
            if lead.owner == owner {
                return Ok(vec![]);
            }
            let note = format!(
                "owner {} -> {}",
                lead.owner.as_deref().unwrap_or("(unassigned)"),
                owner.as_deref().unwrap_or("(unassigned)")
            );
            lead.owner.clone_from(&owner);
            Ok(vec![self.system_event(Outcome::OwnerChanged, now, note)])
        })
    }

    fn edit(&self, id: LeadId, edit: LeadEdit) -> Result<Change, ServiceError> {
        if edit.is_empty() {
            return Err(ServiceError::Refused(
                "nothing to change: name a field, an attribute or a tag".into(),
            ));
        }
        self.update(id, "edit", |lead, now| {
            let edited = edit.apply(lead, &self.settings.country_code)?;
            if edited.changes.is_empty() {
                return Ok(vec![]);
            }
            // `id` may name a lead merged into this one.
            let id = lead.id;
            let [by_email, by_phone] = self.holders(&edited.keys)?;
            for (what, holder, found) in [
                ("e-mail", by_email, edited.lead.email.as_deref()),
                ("phone", by_phone, edited.lead.phone.as_deref()),
            ] {
                if let Some(other) = holder.filter(|&o| o != id) {
                    return Err(ServiceError::Refused(format!(
                        "{what} {:?} is already {}: one person, two cards? A manager can join \
                         them: leadq merge {other} {id}",
                        found.unwrap_or_default(),
                        self.whose(other)?,
                    )));
                }
            }
            if edited.source_changed(lead) {
                // Engagement rules may be for some sources only: count the timeline again. An
                // edit must not buy points: a rep's source change that would add some is a
                // manager's to make.
                let timeline = self.interactions(lead.id)?;
                let recounted = self.score_lead(&edited.lead, &timeline, now);
                let was = lead.score.advanced(self.rules(), now);
                if recounted.sum > was.sum + 1e-9 && self.who.role == Role::Rep {
                    return Err(ServiceError::Refused(format!(
                        "changing the source to {:?} would add engagement points (the rules \
                         count this timeline for more from that source): a manager can make \
                         that change",
                        edited.lead.source.as_deref().unwrap_or("")
                    )));
                }
                lead.score = recounted;
            }
            let note = edited.changes.join("; ");
            let score = lead.score;
            *lead = Lead {
                score,
                ..edited.lead
            };
            Ok(vec![self.system_event(Outcome::Edited, now, note)])
        })
    }

    fn set_next(&self, id: LeadId, at: Option<Millis>) -> Result<Change, ServiceError> {
        self.update(id, "follow-up", |lead, now| {
            if let Some(at) = at {
                limits::follow_up("the next follow-up", at, now)?;
            }
            lead.next_action = at;
            Ok(vec![])
        })
    }

    fn annotate(&self, action: ActionId, note: String) -> Result<(), ServiceError> {
        let note = limits::note(Some(note))?;
        let _guard = self.lock();
        let key = {
            let actions = self.actions.lock().unwrap_or_else(|p| p.into_inner());
            let Some(a) = actions.get(&self.who.user, action).filter(|a| a.logged) else {
                return Err(ServiceError::Refused(
                    "that is not a call, e-mail, meeting or note you just logged: nothing to \
                     add the note to"
                        .into(),
                ));
            };
            a.appended[0]
        };
        self.check_access(&self.get(key.lead)?)?;
        let Some(mut i) = self.store.interaction(key)? else {
            return Err(ServiceError::Refused(
                "that interaction no longer exists".into(),
            ));
        };
        i.note = note;
        self.store.rewrite_interaction(key, &i)?;
        self.notify(key.lead);
        Ok(())
    }

    fn undo(&self, action: ActionId) -> Result<Change, ServiceError> {
        let _guard = self.lock();
        let now = self.now();
        let taken = self
            .actions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take(&self.who.user, action);
        let Some(record) = taken else {
            return Err(ServiceError::Refused(
                "nothing to undo: that change is not one of yours, was undone already, or was \
                 made before the server started"
                    .into(),
            ));
        };
        let id = record.after.id;
        let current = self.get(id)?;
        self.check_access(&current)?;
        if current != record.after {
            return Err(ServiceError::Refused(format!(
                "#{id} changed since the {} (someone else touched it); nothing undone",
                record.label
            )));
        }
        let (score_before, temperature_before) = scoring::current(self.rules(), &current, now);
        let restored = &record.before;
        let (score_after, temperature_after) = scoring::current(self.rules(), restored, now);
        let (writes, detail) = match &record.merged {
            Some(away) => (
                self.unmerge_writes(&current, &record, away)?,
                Some(format!("#{} is back on its own", away.lead.id)),
            ),
            None => {
                let (keys, unkeys) = self.rekeyed(&current, restored);
                // The e-mail or phone an edit left may have come to another lead since.
                let holders = self.holders(&keys)?;
                if let Some(other) = holders.into_iter().flatten().find(|&o| o != id) {
                    return Err(ServiceError::Refused(format!(
                        "the e-mail or phone the {} took away is {} now; nothing undone",
                        record.label,
                        self.whose(other)?
                    )));
                }
                let write = LeadWrite {
                    before: Some(current.clone()),
                    after: restored.clone(),
                    keys,
                    unkeys,
                    gone: None,
                    append: vec![],
                    remove: record.appended.clone(),
                };
                (vec![write], None)
            }
        };
        self.store.commit(&writes, self.fingerprint())?;
        self.told(&writes);
        Ok(Change {
            id,
            name: restored.name.clone(),
            score_before,
            score_after,
            temperature_before,
            temperature_after,
            stage_before: current.stage,
            stage_after: restored.stage,
            next_action: restored.next_action,
            owner_before: current.owner.clone(),
            owner: restored.owner.clone(),
            label: format!("undo of {}", record.label),
            action: None,
            detail,
        })
    }

    fn subscribe(&self) -> std::sync::mpsc::Receiver<LeadId> {
        let (tx, rx) = std::sync::mpsc::channel();
        self.subscribers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(tx);
        rx
    }

    fn search(&self, q: &Query, text: &str, limit: usize) -> Result<Found, ServiceError> {
        self.find(q, text, limit)
    }

    fn report(&self, request: &super::ReportRequest) -> Result<super::Report, ServiceError> {
        super::reports::report(self, request)
    }

    fn route(&self, request: &super::RouteRequest) -> Result<Vec<super::Routed>, ServiceError> {
        self.route_leads(request)
    }

    fn away(&self, request: &super::AwayRequest) -> Result<super::AwayList, ServiceError> {
        Local::away(self, request)
    }

    fn awaiting(&self) -> Result<Vec<super::Awaiting>, ServiceError> {
        self.awaiting_leads()
    }

    fn dupes(&self, min_confidence: u8, limit: usize) -> Result<Vec<DupePair>, ServiceError> {
        use crate::domain::dupes::{Card, find};
        let mut cards = Vec::new();
        for lead in self.store.leads() {
            let lead = lead?;
            if !self.may_see(&lead) {
                continue;
            }
            cards.push(Card {
                id: lead.id,
                name: lead.name,
                email: lead.email,
                phone: lead.phone,
                company: lead.company,
            });
        }
        let dismissed = self.store.not_dupes()?;
        let pairs: Vec<_> = find(&cards)
            .into_iter()
            .filter(|p| p.confidence >= min_confidence && !dismissed.contains(&(p.a, p.b)))
            .take(limit)
            .collect();
        drop(cards);
        // The cards of the pairs shown only: read again, not kept for every lead.
        let side = |id: LeadId| -> Result<Option<DupeSide>, ServiceError> {
            Ok(self.store.lead(id)?.map(|l| DupeSide {
                id: l.id,
                name: l.name,
                email: l.email,
                phone: l.phone,
                company: l.company,
                owner: l.owner,
            }))
        };
        let mut out = Vec::with_capacity(pairs.len());
        for p in pairs {
            if let (Some(a), Some(b)) = (side(p.a)?, side(p.b)?) {
                out.push(DupePair {
                    a,
                    b,
                    reasons: p.reasons,
                    confidence: p.confidence,
                });
            }
        }
        Ok(out)
    }

    fn in_process(&self) -> bool {
        true
    }

    fn erase(&self, id: LeadId) -> Result<Erased, ServiceError> {
        self.require_manager("erase a lead")?;
        let _guard = self.lock();
        let lead = self.get(id)?;
        let timeline = self.store.timeline(lead.id)?;
        let write = LeadWrite {
            before: Some(lead.clone()),
            after: lead.clone(),
            keys: Default::default(),
            unkeys: self.keys_of(&lead),
            gone: Some(crate::store::Gone::Erased {
                by: self.who.user.clone(),
                at: self.now(),
            }),
            append: vec![],
            remove: timeline.iter().map(|(k, _)| *k).collect(),
        };
        self.store
            .commit(std::slice::from_ref(&write), self.fingerprint())?;
        self.told(std::slice::from_ref(&write));
        Ok(Erased {
            id: lead.id,
            interactions: timeline.len(),
        })
    }

    fn merge(&self, request: super::MergeRequest) -> Result<Change, ServiceError> {
        self.merge_leads(&request)
    }

    fn not_dupes(&self, a: LeadId, b: LeadId) -> Result<(), ServiceError> {
        self.require_manager("mark two leads as not the same person")?;
        if a == b {
            return Err(ServiceError::Refused(format!(
                "#{a} and #{b} are one lead: name two"
            )));
        }
        let _guard = self.lock();
        self.get(a)?;
        self.get(b)?;
        self.store
            .mark_not_dupes(a, b, &self.who.user, self.now())?;
        Ok(())
    }

    fn tags(&self) -> Result<Vec<String>, ServiceError> {
        let mut counts: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
        // From the kept counts, by owner: a rep hears of the tags of the leads they may see.
        for (owner, tag, n) in self.store.tags()? {
            if self.may_see_owner(owner.as_deref()) {
                *counts.entry(tag).or_default() += n;
            }
        }
        let mut tags: Vec<(String, u64)> = counts.into_iter().collect();
        tags.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok(tags.into_iter().map(|(t, _)| t).collect())
    }

    fn sources(&self) -> Result<Vec<String>, ServiceError> {
        let mut counts: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        // From the kept counts, which hold each lead's source: no scan of the leads.
        for (tally, n) in self.store.tallies_at(self.now())? {
            // A rep hears of the sources of the leads they may see, not of colleagues' ones.
            if let Some(src) = tally
                .source
                .filter(|_| self.may_see_owner(tally.owner.as_deref()))
            {
                *counts.entry(src).or_default() += usize::try_from(n).unwrap_or(usize::MAX);
            }
        }
        let mut sources: Vec<(String, usize)> = counts.into_iter().collect();
        sources.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        Ok(sources.into_iter().map(|(s, _)| s).collect())
    }

    fn list(&self, q: &Query) -> Result<Vec<LeadView>, ServiceError> {
        query::list(self, q)
    }

    fn page(&self, q: &Query, window: Window) -> Result<ViewPage, ServiceError> {
        // The page and the header's counts of one moment: the generation says which writes
        // they hold, so that a client applies only the deltas of later ones.
        // A window read again from where it stands (`Window::from`: the server keeps it,
        // and its client keeps its counts by the deltas) comes without them.
        let (mut page, generation) = self.store.reading(|| {
            let mut page = query::page(self, q, window)?;
            if window.from.is_none() {
                page.stats = Some(query::stats(self)?);
            }
            Ok::<_, ServiceError>(page)
        })?;
        page.generation = generation;
        Ok(page)
    }

    fn show(&self, id: LeadId) -> Result<LeadDetail, ServiceError> {
        let now = self.now();
        let lead = self.get(id)?;
        self.check_access(&lead)?;
        let mut timeline: Vec<Interaction> = self.interactions(lead.id)?;
        let prediction = self.prediction(&lead, &timeline, now);
        let explanation = match &prediction {
            Some(p) => self.rules().explain_learned(
                format!("learned fit ({:.0}% chance to win)", p.chance * 100.0),
                lead.score.fit,
                &lead,
                &timeline,
                now,
            ),
            None => self.rules().explain(&lead, &timeline, now),
        };
        timeline.reverse();
        Ok(LeadDetail {
            view: self.view(lead, now),
            explanation,
            prediction,
            timeline,
        })
    }

    fn export(&self) -> Result<Vec<LeadView>, ServiceError> {
        let now = self.now();
        let mut out = Vec::new();
        for lead in self.store.leads() {
            let lead = lead?;
            if self.may_see(&lead) {
                out.push(self.view(lead, now));
            }
        }
        Ok(out)
    }

    fn train_model(
        &self,
        exclude: Option<Vec<String>>,
    ) -> Result<crate::domain::model::Model, ServiceError> {
        self.train(exclude)
    }

    fn model(&self) -> Result<Option<crate::domain::model::Model>, ServiceError> {
        Ok(self.store.model()?)
    }

    fn demo(&self, count: usize, seed: u64) -> Result<DemoReport, ServiceError> {
        self.require_manager("load demo leads")?;
        let _guard = self.lock();
        let report = demo::fill(self, count, seed)?;
        self.notify(ANY_LEAD);
        Ok(report)
    }

    fn backup(&self, path: &str, force: bool) -> Result<u64, ServiceError> {
        self.require_manager("back up the store")?;
        let target = if force {
            crate::store::BackupTarget::Replace
        } else {
            crate::store::BackupTarget::New
        };
        // No writer lock: the store copies while writers go on, and holds them back only for
        // the moment the copy stands for.
        Ok(self.store.backup_to(std::path::Path::new(path), target)?)
    }

    fn health(&self) -> Result<super::Health, ServiceError> {
        Ok(self.health_now())
    }

    fn check_now(&self) -> Result<super::Health, ServiceError> {
        if !self.sees_all() {
            return Err(ServiceError::Refused(
                "a full check of the store is a manager's to run".into(),
            ));
        }
        self.verify_now();
        Ok(self.health_now())
    }

    fn stats(&self) -> Result<Stats, ServiceError> {
        let key = (self.who.user.clone(), self.who.role);
        let changes = self.changes.load(std::sync::atomic::Ordering::SeqCst);
        let minute = self.now().div_euclid(crate::domain::time::MINUTE_MS);
        let cache = |c: &mut StatsCache| {
            c.get(&key)
                .filter(|(n, m, _)| *n == changes && *m == minute)
                .map(|(_, _, st)| st.clone())
        };
        if let Some(st) = cache(&mut self.stats_cache.lock().unwrap_or_else(|p| p.into_inner())) {
            return Ok(st);
        }
        let st = query::stats(self)?;
        self.stats_cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, (changes, minute, st.clone()));
        Ok(st)
    }
}
