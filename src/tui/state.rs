//! Everything the TUI shows is in `State`: plain data, changed only by `update`.

use crate::domain::{Kind, LeadId, Millis, NewLead, Stage};
use crate::service::{
    ActionId, Activity, LeadDetail, LeadView, OwnerFilter, Presence, Query, Stats,
};

use super::keymap::{Keymap, Mode};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Welcome,
    Queue,
    Lead,
    /// The likely duplicate pairs (`D`).
    Dupes,
    /// The manager's reports (`R`).
    Reports,
}

/// The saved views, one key each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Hot,
    Today,
    Mine,
    Unassigned,
    All,
}

impl View {
    pub const ALL: [View; 5] = [
        View::Hot,
        View::Today,
        View::Mine,
        View::Unassigned,
        View::All,
    ];

    pub fn label(self) -> &'static str {
        match self {
            View::Hot => "Hot",
            View::Today => "Today",
            View::Mine => "Mine",
            View::Unassigned => "Unassigned",
            View::All => "All",
        }
    }
}

/// One match of the search: the row and the matched character positions in its name and
/// company, for highlighting.
pub type Hit = crate::domain::search::Match;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Search {
    pub query: String,
    /// The query line has the keyboard.
    pub editing: bool,
    /// Bumped on every change of the query or the rows; results of an older generation are
    /// stale and dropped.
    pub generation: u64,
    /// None while no query is active; Some(hits) in display order otherwise.
    pub hits: Option<Vec<Hit>>,
    pub pending: bool,
    /// How many leads of the view match (the hits are the best of them).
    pub count: usize,
    /// The lead to keep selected when the running search answers (it was started because the
    /// rows changed, not because the rep typed).
    pub follow: Option<crate::domain::LeadId>,
}

/// What a picker chooses.
#[derive(Debug, Clone, PartialEq)]
pub enum Pick {
    Outcome(Kind),
    Stage,
    LostReason,
    FilterStage,
    FilterSource(Vec<String>),
    /// Which card of the pair stays: "#12 Ann Lee", "#57 Ann Lee".
    MergeKeep(Vec<String>),
    /// Who owns the merged lead, when the two have different owners.
    MergeOwner(Vec<String>),
}

/// What a line of text is for.
#[derive(Debug, Clone, PartialEq)]
pub enum Ask {
    /// A note for the interaction just logged (Enter skips).
    Note,
    /// A note on its own (`n`).
    NoteOnly,
    /// The next follow-up (presets by digit, a date, or Enter to skip).
    Next,
    Snooze,
    Assign,
    AddName,
    AddContact,
    AddCompany,
    AddSource,
    /// Tags to add (+name or a bare name) and remove (-name); tab completes from the tags
    /// in use.
    Tags(Vec<String>),
    /// The tag the queue shows (empty: any); tab completes from the tags in use.
    FilterTag(Vec<String>),
    /// Whose figures the reports show (a user name, `me`; empty: everyone's).
    ReportOwner,
    /// "yes" erases the lead for good.
    Erase,
}

/// The lead's card as the edit form holds it (`E`): one line per field, the one being typed
/// in, and why the last save was refused.
#[derive(Debug, Clone, PartialEq)]
pub struct EditForm {
    pub lead: LeadId,
    pub fields: Vec<FormField>,
    pub at: usize,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FormField {
    pub key: FieldKey,
    /// The value when the form opened.
    pub was: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FieldKey {
    Name,
    Email,
    Phone,
    Company,
    Source,
    Attribute(String),
    /// "name=value": an attribute to add.
    NewAttribute,
}

impl FieldKey {
    pub fn label(&self) -> String {
        match self {
            FieldKey::Name => "Name".into(),
            FieldKey::Email => "E-mail".into(),
            FieldKey::Phone => "Phone".into(),
            FieldKey::Company => "Company".into(),
            FieldKey::Source => "Source".into(),
            FieldKey::Attribute(k) if k == "title" => "Title".into(),
            FieldKey::Attribute(k) => k.clone(),
            FieldKey::NewAttribute => "New attribute".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Prompt {
    Pick {
        what: Pick,
        lead: Option<LeadId>,
    },
    Text {
        what: Ask,
        lead: Option<LeadId>,
        text: String,
        error: Option<String>,
    },
    /// The edit form over the lead's card.
    Edit(EditForm),
    /// Someone else is on the lead: log a touch of `kind` anyway (y) or not (any other key)?
    Confirm {
        kind: Kind,
        lead: LeadId,
        /// Who is on it ("bob", "bob and carol").
        who: String,
    },
}

/// A message shown in the status line until `until`.
#[derive(Debug, Clone, PartialEq)]
pub struct Flash {
    pub text: String,
    pub error: bool,
    pub until: Millis,
}

/// Undo takes back one user action, which may be several writes (a call, its note and its
/// follow-up date); they are undone newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct UndoEntry {
    pub label: String,
    /// The server's names for the changes, oldest first.
    pub actions: Vec<ActionId>,
}

#[derive(Debug, Clone)]
pub struct State {
    pub now: Millis,
    pub user: String,
    pub keymap: Keymap,
    pub screen: Screen,
    pub help: bool,
    pub help_scroll: usize,
    pub view: View,
    pub stage_filter: Option<Stage>,
    pub source_filter: Option<String>,
    pub tag_filter: Option<String>,
    /// A window of the current view and filters, in queue order: its rows from `window_start`
    /// (while a search is on: its best matches).
    pub rows: Vec<LeadView>,
    /// Where `rows` start in the view.
    pub window_start: usize,
    /// How many leads the view has.
    pub total: usize,
    /// Where the next load of the window starts (`usize::MAX`: the view's last rows).
    pub window_wanted: usize,
    /// Which generation of view query `rows` answer.
    pub view_generation: u64,
    /// A load of the view is under way.
    pub loading: bool,
    /// How many rows of the view a window holds.
    pub rows_wanted: usize,
    /// Whether `rows` is the whole view.
    pub complete: bool,
    /// The query the window was moved for: another query starts again from the first page.
    pub rows_query: Option<Query>,
    /// The query the rows on show answer.
    pub shown_query: Option<Query>,
    /// Where in the view the selection goes once the window asked for arrives (`usize::MAX`:
    /// the last row), for `g` and `G`.
    pub land: Option<usize>,
    /// The selected lead the last load did not find in its window: the next load looks for
    /// it (once).
    pub following: Option<LeadId>,
    /// The lead the window on its way was asked to be around (`following` when it was
    /// asked for): not asked for twice.
    pub asked: Option<LeadId>,
    /// Why the view could not be loaded, until it can.
    pub load_error: Option<String>,
    /// The store's generation the window was read at (deltas of it or older are in it), and
    /// the one the counts hold.
    pub page_generation: u64,
    pub stats_generation: u64,
    /// Deltas heard since the window was last asked for: those newer than the page that
    /// answers are applied to it.
    pub recent: Vec<crate::service::Delta>,
    pub stats: Stats,
    pub selected: usize,
    pub search: Search,
    pub detail: Option<LeadDetail>,
    pub detail_scroll: usize,
    pub prompt: Option<Prompt>,
    /// Whom the open prompt is about ("#43 Sofia Costa").
    pub prompt_subject: String,
    /// A lead being added, field by field.
    pub draft: Option<NewLead>,
    /// The edit form last saved, to open again with the reason if the save is refused.
    pub edit_sent: Option<EditForm>,
    /// The tags in use on the leads this user may see, most used first (tag completion).
    pub tags: Vec<String>,
    /// The likely duplicate pairs (None: loading) and the one selected.
    pub dupes: Option<Vec<crate::service::DupePair>>,
    pub dupes_at: usize,
    /// The report on show (None: on its way), which one, over how many days (None: all),
    /// and how far it is scrolled.
    pub report: Option<crate::service::Report>,
    pub report_kind: crate::service::ReportKind,
    pub report_days: Option<u32>,
    pub report_scroll: usize,
    /// Seconds since the report on show was asked for: it is asked again every few, so a
    /// colleague's won deal moves the numbers without a keypress.
    pub report_age: u32,
    /// Which of the leads the report names is selected (`Report::leads`; None: none yet, the
    /// report reads from its top), and where the lead view goes back to.
    pub report_at: Option<usize>,
    /// Whose figures the reports show (None: everyone the user may see).
    pub report_owner: Option<String>,
    /// Why the report asked for last could not be had (shown in its place).
    pub report_failed: Option<String>,
    /// Web leads waiting for a first touch that this user may see, soonest due first; the
    /// ones this user was already told of; seconds since they were read.
    pub waiting: Vec<crate::service::Awaiting>,
    pub waiting_told: std::collections::HashSet<LeadId>,
    pub waiting_age: u32,
    /// A change was heard since they were read: read them again at the next tick.
    pub waiting_stale: bool,
    /// What the banner says of them (a new lead for this rep, leads overdue for a manager),
    /// and the lead `N` opens.
    pub banner: Option<(String, LeadId)>,
    /// Whether this user sees everyone's leads (a manager): overdue leads are their banner.
    pub manager: bool,
    /// Ring the terminal bell when a web lead is routed to this user (config `bell`).
    pub bell: bool,
    /// Whether this user is away from the routing (as last heard).
    pub away: bool,
    pub lead_from: Screen,
    /// A merge being asked about (which card stays, then who owns it).
    pub merging: Option<crate::service::MergeRequest>,
    pub flash: Option<Flash>,
    pub undo: Vec<UndoEntry>,
    /// The interaction just logged, which a note typed next amends.
    pub last_logged: Option<ActionId>,
    /// Known sources, for the source filter picker.
    pub sources: Vec<String>,
    /// The terminal is below 80x24: nothing is drawn but the message, so no key but quit may
    /// act (a rep must not log a call they cannot see).
    pub too_small: bool,
    /// Until the first view has loaded: an empty Hot view then gives way to the whole queue,
    /// so a store with no hot lead does not open on an empty screen.
    pub first_load: bool,
    /// Lines of the visible list (set by the view from the terminal size) for paging.
    pub page: usize,
    /// The lead the lead view shows (known before its detail has loaded).
    pub open_lead: Option<LeadId>,
    /// What the others are doing, as the server last said (never this user).
    pub presence: Vec<Presence>,
    /// What this client last told the server it is doing.
    pub my_presence: Option<(LeadId, Activity)>,
    /// What is wrong with the connection to the server ("reconnecting…"), if anything.
    pub connection: Option<String>,
    pub quit: bool,
}

impl State {
    pub fn new(user: String, keymap: Keymap, now: Millis) -> State {
        State {
            now,
            user,
            keymap,
            screen: Screen::Queue,
            help: false,
            help_scroll: 0,
            view: View::Hot,
            stage_filter: None,
            source_filter: None,
            tag_filter: None,
            rows: Vec::new(),
            window_start: 0,
            total: 0,
            window_wanted: 0,
            view_generation: 0,
            loading: true,
            rows_wanted: crate::tui::update::FIRST_PAGE,
            complete: false,
            rows_query: None,
            shown_query: None,
            land: None,
            following: None,
            asked: None,
            load_error: None,
            page_generation: 0,
            stats_generation: 0,
            recent: Vec::new(),
            stats: Stats::default(),
            selected: 0,
            search: Search::default(),
            detail: None,
            detail_scroll: 0,
            prompt: None,
            prompt_subject: String::new(),
            draft: None,
            edit_sent: None,
            tags: Vec::new(),
            dupes: None,
            dupes_at: 0,
            report: None,
            report_kind: crate::service::ReportKind::Funnel,
            report_days: Some(30),
            report_scroll: 0,
            report_age: 0,
            report_at: None,
            report_failed: None,
            waiting: Vec::new(),
            waiting_told: std::collections::HashSet::new(),
            waiting_age: 0,
            waiting_stale: false,
            banner: None,
            manager: false,
            bell: false,
            away: false,
            report_owner: None,
            lead_from: Screen::Queue,
            merging: None,
            flash: None,
            undo: Vec::new(),
            last_logged: None,
            sources: Vec::new(),
            too_small: false,
            first_load: true,
            page: 10,
            open_lead: None,
            presence: Vec::new(),
            my_presence: None,
            connection: None,
            quit: false,
        }
    }

    pub fn mode(&self) -> Mode {
        if self.help {
            return Mode::Help;
        }
        match self.screen {
            Screen::Welcome => Mode::Welcome,
            Screen::Queue => Mode::Queue,
            Screen::Lead => Mode::Lead,
            Screen::Dupes => Mode::Dupes,
            Screen::Reports => Mode::Reports,
        }
    }

    /// The query the current view and filters stand for.
    pub fn query(&self) -> Query {
        let mut q = Query {
            stage: self.stage_filter,
            source: self.source_filter.clone(),
            tag: self.tag_filter.clone(),
            ..Query::default()
        };
        match self.view {
            View::Hot => q.temperature = Some(crate::domain::Temperature::Hot),
            View::Today => q.today = true,
            View::Mine => q.owner = Some(OwnerFilter::User(self.user.clone())),
            View::Unassigned => q.owner = Some(OwnerFilter::Unassigned),
            View::All => {}
        }
        q
    }

    /// The rows on display, in order: all rows, or the search hits.
    pub fn visible_len(&self) -> usize {
        match &self.search.hits {
            Some(h) => h.len(),
            None => self.rows.len(),
        }
    }

    /// The row index of the n-th visible row.
    pub fn visible_row(&self, n: usize) -> Option<usize> {
        match &self.search.hits {
            Some(h) => h.get(n).map(|h| h.row),
            None => (n < self.rows.len()).then_some(n),
        }
    }

    pub fn selected_lead(&self) -> Option<&LeadView> {
        self.visible_row(self.selected)
            .and_then(|i| self.rows.get(i))
    }

    /// The lead an action applies to: the open lead in the lead view, else the selected row.
    pub fn target(&self) -> Option<LeadId> {
        match self.screen {
            Screen::Lead => self.detail.as_ref().map(|d| d.view.lead.id),
            Screen::Dupes | Screen::Reports => None,
            _ => self.selected_lead().map(|v| v.lead.id),
        }
    }

    pub fn flash(&mut self, text: impl Into<String>, error: bool) {
        let ms = if error { 8_000 } else { 5_000 };
        self.flash = Some(Flash {
            text: text.into(),
            error,
            until: self.now + ms,
        });
    }
}
