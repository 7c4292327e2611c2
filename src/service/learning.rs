//! The learned score in the service: training on the store's closed leads (off the write
//! path), keeping the model as a record, scoring leads with it, and explaining a lead's chance.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::local::{ANY_LEAD, Core, Local};
use super::types::{LeadPrediction, ServiceError};
use crate::domain::interaction::{Interaction, Kind, Outcome};
use crate::domain::model::{self, Example, Model, TrainOptions};
use crate::domain::stage::Stage;
use crate::domain::{Lead, Millis, ScoreState};
use crate::store::LeadWrite;

/// The server retrains once this many leads were won or lost since the last training, or a
/// tenth of the history the model learned from, whichever is more.
pub const RETRAIN_AFTER: usize = 50;

/// Leads rescored per write when a new model is put to use: writers wait for one chunk at a
/// time, never for the whole store.
const RESCORE_CHUNK: usize = 2_000;

impl Core {
    /// The model the queue is scored with, if one is active.
    pub fn active_model(&self) -> Option<Arc<Model>> {
        self.model.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// A lead's score state as of `now` from its timeline: the rules' engagement, and the fit
    /// of the active model (else of the rules).
    pub(super) fn score_lead(
        &self,
        lead: &Lead,
        timeline: &[Interaction],
        now: Millis,
    ) -> ScoreState {
        let mut state = self.rules().compute(lead, timeline, now);
        if let Some(m) = self.active_model() {
            let chance = m.chance(lead, timeline, now);
            state.fit = m.points(chance, &self.rules().temperature);
            state.bound = state.upper_bound(self.rules());
        }
        state
    }

    /// The lead's chance, read back from the fit the active model gave it.
    pub(super) fn chance(&self, lead: &Lead) -> Option<f64> {
        let m = self.active_model()?;
        Some(m.chance_at(lead.score.fit, &self.rules().temperature))
    }

    /// Counts the closed leads the last model has not learned from (the kept counts, no read
    /// of the leads): a server starting over a store that closed leads without it knows when
    /// to retrain.
    pub fn count_new_outcomes(&self) -> Result<(), ServiceError> {
        let learned = self.store.model()?.map_or(0, |m| m.won + m.lost);
        let closed: u64 = self
            .store
            .tallies_at(self.now())?
            .iter()
            .filter(|(tally, _)| !tally.stage.is_open())
            .map(|(_, n)| n)
            .sum();
        self.outcomes.store(
            usize::try_from(closed.saturating_sub(learned as u64)).unwrap_or(usize::MAX),
            Ordering::SeqCst,
        );
        Ok(())
    }

    /// Whether enough outcomes arrived since the model was trained to train again.
    /// Only a store whose manager trained a model once is retrained: the rules stay until
    /// someone asks for a learned score.
    pub fn retrain_due(&self) -> bool {
        let Some(learned) = self.store.model().ok().flatten().map(|m| m.won + m.lost) else {
            return false;
        };
        self.outcomes.load(Ordering::SeqCst) >= RETRAIN_AFTER.max(learned / 10)
    }
}

/// What a rescore of the whole store redoes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Redo {
    /// The fit alone (another model put to use): engagement does not depend on it, and the
    /// timeline is read only for a model that learned from it.
    Fit,
    /// The whole score from each lead's timeline (another rules file).
    Everything,
}

impl Core {
    /// Rescores every lead, a chunk at a time: writers wait for one chunk, never for the whole
    /// store. A lead whose score and temperature come out as they were is not rewritten. The
    /// chunks are scored on every core and written by the store's rescore path (a mark that
    /// makes a cut-short rescore safe, each chunk without a transaction).
    pub(super) fn rescore(&self, redo: Redo) -> Result<(), ServiceError> {
        self.store.begin_rescore()?;
        let mut after = None;
        loop {
            let _guard = self.lock();
            let leads = self.store.leads_after(after, RESCORE_CHUNK)?;
            let Some(last) = leads.last() else { break };
            after = Some(last.id);
            let now = self.now();
            let model = self.active_model();
            let rescored = crate::par::flat_map(leads.iter().collect(), 64, |lead| {
                std::iter::once(self.rescored(lead, redo, model.as_deref(), now))
            })
            .into_iter()
            .collect::<Result<Vec<_>, _>>()?;
            let batch: Vec<LeadWrite> = leads
                .into_iter()
                .zip(rescored)
                .filter_map(|(before, after)| {
                    after.map(|after| LeadWrite {
                        before: Some(before),
                        after,
                        keys: Default::default(),
                        unkeys: Default::default(),
                        gone: None,
                        append: vec![],
                        remove: vec![],
                    })
                })
                .collect();
            if !batch.is_empty() {
                self.store.rescore_chunk(&batch)?;
            }
        }
        self.store.end_rescore(self.fingerprint())?;
        Ok(())
    }

    /// A lead as `redo` scores it now, or None when its score and temperature stay as stored.
    fn rescored(
        &self,
        before: &Lead,
        redo: Redo,
        model: Option<&Model>,
        now: Millis,
    ) -> Result<Option<Lead>, ServiceError> {
        let reads_timeline = redo == Redo::Everything || model.is_some_and(Model::reads_timeline);
        let timeline: Vec<Interaction> = if reads_timeline {
            self.interactions(before.id)?
        } else {
            Vec::new()
        };
        let mut after = before.clone();
        after.score = match redo {
            Redo::Everything => self.score_lead(&after, &timeline, now),
            Redo::Fit => before.score.advanced(self.rules(), now),
        };
        if redo == Redo::Fit {
            after.score.fit = match model {
                Some(m) => m.points(m.chance(&after, &timeline, now), &self.rules().temperature),
                None => self.rules().fit(&after),
            };
            after.score.bound = after.score.upper_bound(self.rules());
        }
        let score = after.score.score(self.rules(), now);
        after.temperature = self.rules().temperature.classify(score, before.temperature);
        let same = match redo {
            Redo::Fit => {
                after.score.fit == before.score.fit && after.score.bound == before.score.bound
            }
            Redo::Everything => after.score == before.score,
        };
        Ok((!same || after.temperature != before.temperature).then_some(after))
    }
}

impl Local {
    /// Trains in the background when enough outcomes arrived (the server's care thread): the
    /// model trained, or why not. Either way the count starts again, so a store without enough
    /// history is not rescanned every minute.
    pub fn retrain_if_due(&self) -> Option<Result<Model, ServiceError>> {
        if !self.retrain_due() {
            return None;
        }
        let result = self.train(None);
        if result.is_err() {
            self.outcomes.store(0, Ordering::SeqCst);
        }
        Some(result)
    }

    /// Sets a changed lead's fit (the model's, reading its timeline, or the rules') and the
    /// bound it is filed under. `append` is what this change adds to the stored timeline.
    pub(super) fn refit(
        &self,
        lead: &mut Lead,
        append: &[Interaction],
        now: Millis,
    ) -> Result<(), ServiceError> {
        if let Some(m) = self.active_model() {
            let mut timeline: Vec<Interaction> = self.interactions(lead.id)?;
            timeline.extend_from_slice(append);
            let chance = m.chance(lead, &timeline, now);
            lead.score.fit = m.points(chance, &self.rules().temperature);
        } else {
            lead.score.fit = self.rules().fit(lead);
        }
        lead.score.bound = lead.score.upper_bound(self.rules());
        if append
            .iter()
            .any(|i| matches!(i.outcome, Some(Outcome::Won | Outcome::Lost)))
        {
            self.outcomes.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }

    /// The chance of a lead and its factors, for `show`.
    pub(super) fn prediction(
        &self,
        lead: &Lead,
        timeline: &[Interaction],
        now: Millis,
    ) -> Option<LeadPrediction> {
        let m = self.active_model()?;
        let p = m.predict(lead, timeline, now);
        Some(LeadPrediction {
            chance: p.chance,
            factors: p.factors,
            base: p.base,
            model_version: m.version,
            won: m.won,
            lost: m.lost,
            trained_at: m.trained_at,
        })
    }

    /// Trains a model on the store's closed leads, keeps it, and puts it to use if it beat
    /// the rules on the holdout. `exclude`: columns to leave out (None: as the last model).
    pub(super) fn train(&self, exclude: Option<Vec<String>>) -> Result<Model, ServiceError> {
        self.require_manager("train the scoring model")?;
        let _one = self.training.lock().unwrap_or_else(|p| p.into_inner());
        let now = self.now();
        let previous = self.store.model()?;
        // Names given now are checked against the history; names carried over from the last
        // model or model.toml may name a column the history no longer has, which is harmless.
        let asked = exclude.as_ref().is_some_and(|e| !e.is_empty());
        let exclude = exclude
            .or_else(|| previous.as_ref().map(|m| m.excluded.clone()))
            .unwrap_or_else(|| self.settings.model_exclude.clone());
        if exclude.len() > crate::domain::limits::ATTRIBUTES {
            return Err(ServiceError::Refused(format!(
                "{} columns to exclude; the limit is {}",
                exclude.len(),
                crate::domain::limits::ATTRIBUTES
            )));
        }
        for e in &exclude {
            crate::domain::limits::text(
                "an excluded column",
                e,
                crate::domain::limits::ATTRIBUTE_NAME,
            )?;
        }
        let outcomes_before = self.outcomes.load(Ordering::SeqCst);
        let history = self.history(now)?;
        let examples: Vec<Example> = history
            .iter()
            .map(|(lead, timeline, cutoff, won)| Example {
                lead,
                timeline,
                cutoff: *cutoff,
                won: *won,
            })
            .collect();
        if asked {
            let known = model::features::excludable(&examples);
            if let Some(e) = exclude
                .iter()
                .find(|e| e.trim().is_empty() || !model::features::names_one_of(e, &known))
            {
                let shown = crate::domain::sanitize::for_display(e);
                let mut names: Vec<String> = known
                    .iter()
                    .take(40)
                    .map(|n| crate::domain::sanitize::for_display(n))
                    .collect();
                if known.len() > 40 {
                    names.push(format!("and {} more", known.len() - 40));
                }
                return Err(ServiceError::Refused(format!(
                    "no column \"{shown}\" to exclude in the history of {} closed leads; it \
                     has: {}",
                    examples.len(),
                    names.join(", ")
                )));
            }
        }
        let options = TrainOptions {
            exclude,
            now,
            seed: model::SEED,
        };
        let mut trained = model::train(&examples, self.rules(), &options)
            .map_err(|e| ServiceError::Refused(e.to_string()))?;
        trained.version = previous.as_ref().map_or(0, |m| m.version) + 1;
        self.store.put_model(&trained)?;
        self.outcomes.fetch_sub(outcomes_before, Ordering::SeqCst);
        let was_active = self.active_model().is_some();
        *self.model.write().unwrap_or_else(|p| p.into_inner()) =
            trained.active.then(|| Arc::new(trained.clone()));
        if trained.active || was_active {
            self.rescore(Redo::Fit)?;
            self.notify(ANY_LEAD);
        }
        Ok(trained)
    }

    /// Every closed lead with its timeline, the moment it closed and whether it was won.
    #[allow(clippy::type_complexity)]
    fn history(
        &self,
        now: Millis,
    ) -> Result<Vec<(Lead, Vec<Interaction>, Millis, bool)>, ServiceError> {
        let mut out = Vec::new();
        for lead in self.store.leads() {
            let lead = lead?;
            let won = match lead.stage {
                Stage::Customer | Stage::Loyal => true,
                Stage::Lost => false,
                _ => continue,
            };
            let timeline: Vec<Interaction> = self.interactions(lead.id)?;
            let cutoff = closed_at(&lead, &timeline).unwrap_or(now);
            out.push((lead, timeline, cutoff, won));
        }
        Ok(out)
    }
}

/// When a closed lead closed: its last won or lost event, else its last move to a closed
/// stage. None for a lead closed without either (from an older leadq).
pub fn closed_at(lead: &Lead, timeline: &[Interaction]) -> Option<Millis> {
    let closing = |i: &&Interaction| {
        i.kind == Kind::System
            && match i.outcome {
                Some(Outcome::Won | Outcome::Lost) => true,
                Some(Outcome::StageChanged) => i
                    .note
                    .as_deref()
                    .is_some_and(|n| n.ends_with(&format!("-> {}", lead.stage))),
                _ => false,
            }
    };
    timeline.iter().filter(closing).map(|i| i.at).max()
}
