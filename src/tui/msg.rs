//! What comes into `update` (`Msg`) and the I/O it asks for (`Effect`).

use ratatui::crossterm::event::KeyEvent;

use crate::domain::{LeadId, LostReason, Millis, NewLead, Stage};
use crate::service::{
    ActionId, Activity, Change, LeadDetail, LeadView, LogEntry, Presence, Query, Stats,
};

#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    /// A named intention from outside the keymap (the mouse wheel).
    Action(super::action::Action),
    /// The terminal changed size: draw again.
    Resized,
    /// A click on a row of the list (0 = first row on screen).
    ClickRow(usize),
    /// Time passed: expire messages, and every minute reload for decay.
    Tick(Millis),
    /// A window of a view: its rows from `offset`, and the view's total.
    ViewLoaded {
        generation: u64,
        rows: Vec<LeadView>,
        offset: usize,
        total: usize,
        /// The store's generation the page holds, and the header's counts read with it.
        generation_read: u64,
        stats: Option<Stats>,
    },
    SourcesLoaded(Vec<String>),
    DetailLoaded(Box<LeadDetail>),
    /// A search's best matches over the view, and how many there are.
    SearchDone {
        generation: u64,
        found: Box<crate::service::Found>,
    },
    /// A write went through.
    Done(Box<Done>),
    /// A write or a load failed: the message says what.
    Failed(String),
    /// An edit of the card was refused: the form opens again with the reason.
    EditRefused(String),
    /// The tags on the leads this user may see, most used first.
    TagsLoaded(Vec<String>),
    /// The likely duplicate pairs.
    DupesLoaded(Vec<crate::service::DupePair>),
    /// A report, or why it could not be made.
    ReportLoaded(Result<crate::service::Report, String>),
    /// The web leads waiting for a first touch, as the service lists them.
    WaitingLoaded(Vec<crate::service::Awaiting>, Vec<String>),
    /// Who is away, after this user said they are away or back.
    AwayNow(Vec<String>),
    /// The view of this generation could not be loaded (the store is damaged, closed after a
    /// failed write, the server gone): said where the rows would be, until a load succeeds.
    LoadFailed(u64, String),
    /// The store changed (this client or another): reload what is shown.
    StoreChanged,
    /// What changes to some leads mean for the window shown (from a server).
    Deltas(Vec<crate::service::Delta>),
    /// Who else is on which lead changed: redraw, nothing to reload.
    Presence(Vec<Presence>),
    /// The connection's trouble, polled every second (None: fine or no server).
    Connection(Option<String>),
}

/// The result of a write effect.
#[derive(Debug, Clone)]
pub enum Done {
    /// An interaction was logged: `action` names it for its note and its undo.
    Logged {
        change: Change,
        action: ActionId,
    },
    /// `join`: part of the user action before it (a call's follow-up date), undone with it.
    Changed {
        change: Change,
        action: ActionId,
        join: bool,
    },
    Annotated,
    /// A pair was marked as two people.
    NotDupes(LeadId, LeadId),
    /// A lead was erased.
    Erased(LeadId),
    Added {
        id: LeadId,
        created: bool,
        name: String,
    },
    Undone {
        label: String,
    },
    DemoLoaded {
        leads: usize,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Rows `offset..offset + limit` of the view `query` (`usize::MAX` offset: its last
    /// rows).
    LoadView {
        generation: u64,
        query: Query,
        window: crate::service::Window,
    },
    LoadDetail(LeadId),
    /// Search view `view` for `text` (where the leads are).
    Search {
        generation: u64,
        text: String,
        view: Query,
    },
    Log {
        lead: LeadId,
        entry: LogEntry,
    },
    Annotate {
        action: ActionId,
        note: String,
    },
    SetNext {
        lead: LeadId,
        at: Option<Millis>,
        join: bool,
    },
    SetStage {
        lead: LeadId,
        stage: Stage,
        reason: Option<LostReason>,
    },
    Won(LeadId),
    Snooze {
        lead: LeadId,
        until: Millis,
    },
    Assign {
        lead: LeadId,
        owner: Option<String>,
    },
    Add(NewLead),
    Edit {
        lead: LeadId,
        edit: crate::domain::edit::LeadEdit,
    },
    LoadTags,
    LoadDupes,
    LoadReport(crate::service::ReportRequest),
    /// The web leads waiting for a first touch.
    LoadWaiting,
    /// This user away (true) or back (false).
    SetAway(bool),
    /// The terminal bell.
    Bell,
    Erase(LeadId),
    Merge(crate::service::MergeRequest),
    NotDupes(LeadId, LeadId),
    Undo {
        label: String,
        actions: Vec<ActionId>,
    },
    LoadDemo,
    /// Tells the others what this user is doing (None: nothing, back in the queue).
    Presence(Option<(LeadId, Activity)>),
}

impl Msg {
    pub fn done(d: Done) -> Msg {
        Msg::Done(Box::new(d))
    }
}
