//! The one API the CLI and the TUI use: commands, queries and their results. `Local` runs it
//! in-process over the store; team mode puts a client/server pair behind the same trait.

mod actions;
mod demo;
mod finder;
mod health;
mod learning;
mod local;
mod merge;
mod operations;
mod planner;
mod query;
pub mod report_text;
pub mod reports;
mod routing;
mod tick;
mod types;
pub mod watch;

pub use health::{Health, SNAPSHOT_EVERY, SNAPSHOT_KEEP, Snapshot, Verification, newest_snapshot};
pub use learning::{RETRAIN_AFTER, closed_at};
pub use local::{ANY_LEAD, Core, Local, PRESENCE_CHANGED, Settings, Spend};
pub use merge::MergeRequest;
pub use reports::{Figure, Report, ReportKind, ReportRequest, Table};
pub use routing::{Awaiting, AwayList, AwayRequest, Inbound, RouteRequest, Routed};
pub use types::*;
pub use watch::{Apply, Moved, Watch};

use crate::domain::edit::LeadEdit;
use crate::domain::model::Model;
use crate::domain::{LeadId, LostReason, Millis, NewLead, Stage};

/// Everything a client can ask of leadq.
pub trait LeadService {
    /// "Now" for this service: the injected clock.
    fn now(&self) -> Millis;
    /// Who this client acts as, and with which rights.
    fn identity(&self) -> Identity;
    /// Where the store is, for messages ("the store at ~/.local/share/leadq/store").
    fn location(&self) -> String;
    /// Adds a lead, or merges the request into the lead it duplicates.
    fn add(&self, request: NewLead) -> Result<AddOutcome, ServiceError>;
    /// Validates every row, then writes all of them in one transaction (or none).
    fn import(
        &self,
        rows: Vec<NewLead>,
        options: &ImportOptions,
    ) -> Result<ImportReport, ServiceError>;
    /// Appends an interaction, rescores and applies the stage rules.
    fn log(&self, id: LeadId, entry: LogEntry) -> Result<Change, ServiceError>;
    fn set_stage(
        &self,
        id: LeadId,
        stage: Stage,
        reason: Option<LostReason>,
    ) -> Result<Change, ServiceError>;
    fn won(&self, id: LeadId, note: Option<String>) -> Result<Change, ServiceError>;
    fn snooze(&self, id: LeadId, until: Millis) -> Result<Change, ServiceError>;
    fn assign(&self, id: LeadId, owner: Option<String>) -> Result<Change, ServiceError>;
    /// Changes the card (name, contact data, company, source, tags, attributes), checked as
    /// `add` checks a request; refused when the new e-mail or phone is another lead's.
    fn edit(&self, id: LeadId, edit: LeadEdit) -> Result<Change, ServiceError>;
    /// Sets or clears the next follow-up.
    fn set_next(&self, id: LeadId, at: Option<Millis>) -> Result<Change, ServiceError>;
    /// Adds a note to the interaction the user's own change `action` logged.
    fn annotate(&self, action: ActionId, note: String) -> Result<(), ServiceError>;
    /// Takes the user's own change `action` back, unless the lead changed since.
    fn undo(&self, action: ActionId) -> Result<Change, ServiceError>;
    /// A stream of the ids of leads that change, from now on.
    fn subscribe(&self) -> std::sync::mpsc::Receiver<LeadId>;
    /// What the changes heard since the last call mean for the window last read (`page`),
    /// in order; None where changes come without deltas (a store in this process: read
    /// the window again).
    fn take_deltas(&self) -> Option<Vec<Delta>> {
        None
    }
    /// The sources leads came from, most common first.
    fn sources(&self) -> Result<Vec<String>, ServiceError>;
    /// The tags on the leads the caller may see, most used first.
    fn tags(&self) -> Result<Vec<String>, ServiceError>;
    /// Likely duplicate pairs the arrival check missed, among the leads the caller may see,
    /// surest first: at least `min_confidence`, at most `limit`, none marked not the same.
    fn dupes(&self, min_confidence: u8, limit: usize) -> Result<Vec<DupePair>, ServiceError>;
    /// A report (`reports`): a rep's own figures, a manager's of anyone.
    fn report(&self, request: &ReportRequest) -> Result<Report, ServiceError>;
    /// Where a lead would be routed and why, or the unassigned pool routed (managers).
    fn route(&self, request: &RouteRequest) -> Result<Vec<Routed>, ServiceError>;
    /// Who is away; a rep says they are away or back (a manager for anyone).
    fn away(&self, request: &AwayRequest) -> Result<AwayList, ServiceError>;
    /// The web leads still waiting for a first touch that the caller may see, soonest due
    /// first (the clock: overdue once `due` passes).
    fn awaiting(&self) -> Result<Vec<Awaiting>, ServiceError>;
    /// Marks leads `a` and `b` as not one person (managers): the pair is not offered again.
    fn not_dupes(&self, a: LeadId, b: LeadId) -> Result<(), ServiceError>;
    /// Joins OTHER into KEEP (managers; `merge`'s rules); undo takes it back.
    fn merge(&self, request: MergeRequest) -> Result<Change, ServiceError>;
    /// Removes a person's lead for good (managers): card, timeline, index entries and
    /// derived data, leaving an audit entry of who and when. Says whether the store files
    /// were rewritten (the erase is physical) or will be (at the server's next start).
    fn erase(&self, id: LeadId) -> Result<Erased, ServiceError>;
    /// Whether this service owns the store in this process (not a server's client).
    fn in_process(&self) -> bool {
        false
    }
    /// The leads of view `q` that `text` matches (`domain::search`'s rules): the best
    /// `limit` of them, and how many there are.
    fn search(&self, q: &Query, text: &str, limit: usize) -> Result<Found, ServiceError>;
    /// The queue as of now, in score order.
    fn list(&self, query: &Query) -> Result<Vec<LeadView>, ServiceError>;
    /// A window of the view `query` stands for (its own limit aside), and the view's total:
    /// the work grows with the window and how far it is from an end of the view, not with
    /// the store. An offset past the end gives the last rows.
    fn page(&self, query: &Query, window: Window) -> Result<ViewPage, ServiceError>;
    fn show(&self, id: LeadId) -> Result<LeadDetail, ServiceError>;
    /// Every lead with its current score, temperature and stage, in id order.
    fn export(&self) -> Result<Vec<LeadView>, ServiceError>;
    /// Fills the store with generated leads.
    fn demo(&self, count: usize, seed: u64) -> Result<DemoReport, ServiceError>;
    fn stats(&self) -> Result<Stats, ServiceError>;
    /// Trains the scoring model on the closed leads (managers only), keeps it, and uses it if
    /// it beat the rules on the holdout. `exclude`: columns to leave out (None: as before).
    fn train_model(&self, exclude: Option<Vec<String>>) -> Result<Model, ServiceError>;
    /// The last model trained, used or not.
    fn model(&self) -> Result<Option<Model>, ServiceError>;
    /// The store's health: counts, what the last full check found, the newest automatic
    /// snapshot, the free space on its disk.
    fn health(&self) -> Result<Health, ServiceError>;
    /// Checks the whole store now (managers: it reads every lead and timeline) and says
    /// what `health` then says.
    fn check_now(&self) -> Result<Health, ServiceError>;
    /// Writes a consistent copy of the whole store to `path` (managers only); returns the
    /// number of entries copied.
    fn backup(&self, path: &str, force: bool) -> Result<u64, ServiceError>;
    /// Tells the others what this client is doing (a lead open, a call being logged).
    fn set_presence(&self, _presence: Option<(LeadId, Activity)>) {}
    /// What the other clients are doing, as last heard (empty without a server).
    fn presence(&self) -> Vec<Presence> {
        Vec::new()
    }
    /// A word on the connection when it is not fine ("reconnecting to the server…").
    fn connection_problem(&self) -> Option<String> {
        None
    }
}
