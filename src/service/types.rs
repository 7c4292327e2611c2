//! The data that crosses the service API.

use serde::{Deserialize, Serialize};

use crate::domain::model::Factor;
use crate::domain::scoring::Explanation;
use crate::domain::{
    Interaction, Kind, Lead, LeadId, Millis, Outcome, Stage, Temperature, ValidationError,
};
use crate::store::StoreError;
pub use crate::store::TimelineKey;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("no lead with id {0}")]
    NotFound(LeadId),
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A lead as of now: its stored state plus its current score and temperature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeadView {
    pub lead: Lead,
    pub score: u8,
    pub temperature: Temperature,
    /// The learned chance to win (0.0 to 1.0), when a model is active.
    #[serde(default)]
    pub chance: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeadDetail {
    pub view: LeadView,
    pub explanation: Explanation,
    /// The learned chance and its factors, when a model is active.
    #[serde(default)]
    pub prediction: Option<LeadPrediction>,
    /// Newest first.
    pub timeline: Vec<Interaction>,
}

/// A lead's chance to win as the active model sees it, with what it learned from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeadPrediction {
    pub chance: f64,
    /// The strongest factors first; with `base` they add up to the chance's log-odds.
    pub factors: Vec<Factor>,
    pub base: f64,
    pub model_version: u32,
    pub won: usize,
    pub lost: usize,
    pub trained_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AddOutcome {
    pub id: LeadId,
    pub name: String,
    /// False when the request was merged into an existing lead.
    pub created: bool,
    /// Fields a merge filled in.
    pub filled: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ImportOptions {
    /// Accept rows with no name and no contact data; they are named `Lead <id>`.
    pub anonymous: bool,
    /// Write the valid rows even if some are invalid.
    pub skip_invalid: bool,
    pub dry_run: bool,
    /// Where the rows came from, for the timeline ("imported from leads.csv").
    pub origin: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImportReport {
    pub rows: usize,
    pub created: usize,
    pub merged: usize,
    /// Invalid rows by their index in the input and why.
    pub invalid: Vec<(usize, String)>,
    /// True when nothing was written (invalid rows without `skip_invalid`, or a dry run).
    pub written: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    pub kind: Kind,
    pub outcome: Option<Outcome>,
    pub note: Option<String>,
    /// When it happened; now if not given.
    pub at: Option<Millis>,
    pub next_action: Option<Millis>,
    pub duration_secs: Option<u32>,
}

/// What a command changed on a lead, for the one-line report ("warm -> HOT +15").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub id: LeadId,
    pub name: String,
    pub score_before: u8,
    pub score_after: u8,
    pub temperature_before: Temperature,
    pub temperature_after: Temperature,
    pub stage_before: Stage,
    pub stage_after: Stage,
    pub next_action: Option<Millis>,
    pub owner_before: Option<String>,
    pub owner: Option<String>,
    /// What the change was ("call connected"), for "undone: call connected on Ann Lee".
    pub label: String,
    /// Names this change for `undo` (and `annotate` of the interaction it logged); None for
    /// an undo, which is not undone in turn.
    pub action: Option<ActionId>,
    /// What the change did as its timeline event says it ("name \"Jon\" -> \"John\"";
    /// "owner ann -> bob"), when it wrote one.
    #[serde(default)]
    pub detail: Option<String>,
}

/// Names one of the caller's own recent changes. What the change did is kept by the service
/// that made it (the server, in team mode), never by the client: the id authorises nothing
/// by itself, and is refused to anyone but the user whose change it was.
pub type ActionId = u64;

/// Which leads a list shows. The default is the working queue: open, not snoozed leads.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Query {
    pub temperature: Option<Temperature>,
    pub stage: Option<Stage>,
    pub owner: Option<OwnerFilter>,
    pub source: Option<String>,
    /// Only leads that carry this tag (in any case).
    #[serde(default)]
    pub tag: Option<String>,
    /// Only leads whose next action is due by the end of today.
    pub due_today: bool,
    /// Today's queue: follow-ups due today, hot leads not touched for `STALE_DAYS`, and new
    /// leads never touched (speed to lead).
    pub today: bool,
    /// Also closed (customer, loyal, lost) and snoozed leads.
    pub all: bool,
    pub limit: Option<usize>,
}

/// Which rows of a view to read: `limit` rows from `offset` (`usize::MAX`: the last ones), or,
/// when `focus` names a lead in the view, the rows around it wherever it is now (the offset
/// then says from which end to look for it: where it was).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub offset: usize,
    pub limit: usize,
    pub focus: Option<LeadId>,
    /// The window this client holds, read again where it stands now (a delta touched it):
    /// a server reads it from its first row's place, which costs its rows only, however deep
    /// in the view it is. Without a window held, as `offset` says.
    #[serde(default)]
    pub again: bool,
    /// Where the window starts in the queue's order (the row at `offset` is the first with
    /// this place or a later one). Set by the server from the window it keeps; never read
    /// from a client.
    #[serde(skip)]
    pub from: Option<crate::store::Place>,
}

impl Window {
    pub fn rows(offset: usize, limit: usize) -> Window {
        Window {
            offset,
            limit,
            ..Window::default()
        }
    }
}

/// A page of a view: rows `offset..offset + rows.len()` of `total`, in queue order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ViewPage {
    pub rows: Vec<LeadView>,
    pub total: usize,
    pub offset: usize,
    /// The store's generation the page holds (every write up to it, no later): a `Delta` of
    /// this generation or older is already in it.
    #[serde(default)]
    pub generation: u64,
    /// The header's counts, read with the page (None: not asked for, the CLI).
    #[serde(default)]
    pub stats: Option<Stats>,
}

/// The best matches of a search over a view, and how many leads of the view match.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Found {
    /// Best first: the best class of match, then the view's order.
    pub rows: Vec<LeadView>,
    pub hits: usize,
}

/// What one write means for one client: pushed by the server to each subscriber that may see
/// the lead, so that a client whose window the write does not touch spends nothing on it but
/// moving its numbers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Delta {
    /// The store's generation the write made.
    pub generation: u64,
    /// The generation of the page the server measured the window against (0: none). A
    /// client holding another page cannot use `above` and `total`: it reads its window again.
    pub window: u64,
    pub id: LeadId,
    /// The window is to be read again (it would be left too short, or the view has an
    /// order of its own).
    pub touched: bool,
    /// How many rows of the view above the window the write added (+1) or took away (-1):
    /// the window's offset moves by that much.
    pub above: i64,
    /// The window's rows patched: the lead's row taken out at `from` (it was there), its
    /// row as it is now (`row`) put in at `to` (after the removal), then the last row dropped
    /// (the window holds no more than it asked for).
    #[serde(default)]
    pub from: Option<u32>,
    #[serde(default)]
    pub to: Option<u32>,
    #[serde(default)]
    pub row: Option<Box<LeadView>>,
    #[serde(default)]
    pub drop_last: bool,
    /// How the view's total moved.
    pub total: i64,
    /// How the header's counts moved.
    pub hot: i64,
    pub warm: i64,
    pub cold: i64,
    pub due_today: i64,
    pub leads: i64,
}

impl Stats {
    /// The counts moved by a delta.
    pub fn moved(&mut self, d: &Delta) {
        let add = |n: &mut usize, by: i64| {
            *n = usize::try_from((*n as i64).saturating_add(by).max(0)).unwrap_or(0);
        };
        add(&mut self.hot, d.hot);
        add(&mut self.warm, d.warm);
        add(&mut self.cold, d.cold);
        add(&mut self.due_today, d.due_today);
        add(&mut self.leads, d.leads);
    }
}

/// Whose leads a list shows: nobody's (the unassigned pool) or one user's. An enum rather than
/// `Option<Option<String>>`, which JSON cannot tell apart from no filter at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OwnerFilter {
    Unassigned,
    User(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DemoReport {
    pub leads: usize,
    pub interactions: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub leads: usize,
    pub interactions: usize,
    pub hot: usize,
    pub warm: usize,
    pub cold: usize,
    pub due_today: usize,
}

/// Who a client acts as: the Unix user (from the socket's peer credentials in team mode) and
/// their role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub user: String,
    pub role: Role,
}

/// Reps work their own leads and the unassigned pool; managers see everything, assign, and
/// import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Rep,
    Manager,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Rep => "rep",
            Role::Manager => "manager",
        }
    }
}

/// What a rep is doing on a lead, for the others to see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Activity {
    Viewing,
    Logging,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Presence {
    pub user: String,
    pub lead: LeadId,
    pub activity: Activity,
}

/// One lead of a likely duplicate pair, as `leadq dupes` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DupeSide {
    pub id: LeadId,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub owner: Option<String>,
}

/// Two leads that are likely one person, why, and how sure (0-100).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DupePair {
    pub a: DupeSide,
    pub b: DupeSide,
    pub reasons: Vec<crate::domain::dupes::Reason>,
    pub confidence: u8,
}

/// What `erase` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Erased {
    pub id: LeadId,
    /// How many timeline entries went with the card.
    pub interactions: usize,
}
