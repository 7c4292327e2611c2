//! What each user's recent changes did, kept by the service that made them, so that `undo`
//! and `annotate` take only an id from the client. A client that could send "the lead before"
//! could write any lead it liked (issue 8); here it can only name a change of its own, and the
//! service checks that the lead is still as that change left it.

use std::collections::{HashMap, VecDeque};

use super::types::ActionId;
use crate::domain::Lead;
use crate::store::TimelineKey;

/// How many changes back each user can undo.
pub const KEPT_PER_USER: usize = 64;

/// One change as the service made it.
#[derive(Debug, Clone)]
pub struct Action {
    /// Whose change it was: only they may undo or annotate it.
    pub user: String,
    /// "call connected", for messages.
    pub label: String,
    pub before: Lead,
    pub after: Lead,
    /// The timeline entries it appended; the first is what `annotate` amends.
    pub appended: Vec<TimelineKey>,
    /// Whether the first appended entry is the user's own interaction (a log), which takes
    /// a note, rather than a system event.
    pub logged: bool,
    /// For a merge: the lead merged away, to bring back.
    pub merged: Option<MergedAway>,
}

/// A lead a merge took out of the store, as it was, with its timeline.
#[derive(Debug, Clone)]
pub struct MergedAway {
    pub lead: Lead,
    pub timeline: Vec<crate::domain::Interaction>,
}

#[derive(Default)]
pub struct Actions {
    next: ActionId,
    by_id: HashMap<ActionId, Action>,
    /// Each user's kept actions, oldest first.
    order: HashMap<String, VecDeque<ActionId>>,
}

impl Actions {
    /// Keeps `action` and returns its id; the user's oldest is forgotten beyond the limit.
    pub fn record(&mut self, action: Action) -> ActionId {
        // Ids never repeat within a process: an old id cannot come to name a newer change.
        self.next += 1;
        let id = self.next;
        let order = self.order.entry(action.user.clone()).or_default();
        order.push_back(id);
        if order.len() > KEPT_PER_USER
            && let Some(old) = order.pop_front()
        {
            self.by_id.remove(&old);
        }
        self.by_id.insert(id, action);
        id
    }

    /// The user's own action `id`, if it is still kept.
    pub fn get(&self, user: &str, id: ActionId) -> Option<&Action> {
        self.by_id.get(&id).filter(|a| a.user == user)
    }

    /// Takes the user's own action `id` out (an action is undone at most once).
    pub fn take(&mut self, user: &str, id: ActionId) -> Option<Action> {
        self.get(user, id)?;
        if let Some(order) = self.order.get_mut(user) {
            order.retain(|a| *a != id);
        }
        self.by_id.remove(&id)
    }
}
