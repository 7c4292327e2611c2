//! Decay without rescans: the leads whose moment of change has come (a temperature crossing,
//! a snooze or a nurture wait ending: `domain::tally::next_change`) are brought up to now in
//! one write each chunk, so the kept counts stay exact with a short list of leads to recount
//! and the subscribers hear of just those leads. The server runs it every minute.

use super::local::Local;
use super::types::ServiceError;
use crate::domain::LeadId;
use crate::store::LeadWrite;

/// Leads brought up to now per write.
const TICK_CHUNK: usize = 1_000;

impl Local {
    /// Brings every lead whose moment of change has come up to now: its score state advanced,
    /// its temperature classified. Returns the leads rewritten, each of which subscribers are
    /// told of.
    pub fn tick(&self) -> Result<Vec<LeadId>, ServiceError> {
        let mut done = Vec::new();
        loop {
            let _guard = self.lock();
            let now = self.now();
            let due = self.store.changes_until(now)?;
            let mut batch = Vec::new();
            for id in due.into_iter().take(TICK_CHUNK) {
                let Some(before) = self.store.lead(id)? else {
                    continue;
                };
                let mut after = before.clone();
                after.score = before.score.advanced(self.rules(), now);
                // A lead filed under a moment its record is already at (`next_change` of a
                // record whose temperature is not its score's) moves on by a millisecond.
                if after.score.at <= before.score.at {
                    after.score.at = before.score.at.saturating_add(1).max(now);
                }
                let score = after.score.score(self.rules(), now);
                after.temperature = self.rules().temperature.classify(score, before.temperature);
                batch.push(LeadWrite {
                    before: Some(before),
                    after,
                    keys: Default::default(),
                    unkeys: Default::default(),
                    gone: None,
                    append: vec![],
                    remove: vec![],
                });
            }
            if batch.is_empty() {
                break;
            }
            let ids: Vec<LeadId> = batch.iter().map(|w| w.after.id).collect();
            self.store.commit(&batch, None)?;
            self.told(&batch);
            let full = ids.len() == TICK_CHUNK;
            done.extend(ids);
            if !full {
                break;
            }
        }
        Ok(done)
    }
}
