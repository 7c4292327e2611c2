//! Every user intention has one name: the keymap file, the help screen, the footer hints and
//! `update` all speak in these.

use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Quit,
    Help,
    Back,
    Down,
    Up,
    PageDown,
    PageUp,
    Top,
    Bottom,
    Open,
    ViewHot,
    ViewToday,
    ViewMine,
    ViewUnassigned,
    ViewAll,
    FilterStage,
    FilterSource,
    Search,
    LogCall,
    LogEmail,
    LogMeeting,
    LogNote,
    SetStage,
    Won,
    Lost,
    Snooze,
    Assign,
    AddLead,
    Undo,
    Refresh,
    LoadDemo,
}

impl Action {
    pub const ALL: [Action; 31] = [
        Action::Quit,
        Action::Help,
        Action::Back,
        Action::Down,
        Action::Up,
        Action::PageDown,
        Action::PageUp,
        Action::Top,
        Action::Bottom,
        Action::Open,
        Action::ViewHot,
        Action::ViewToday,
        Action::ViewMine,
        Action::ViewUnassigned,
        Action::ViewAll,
        Action::FilterStage,
        Action::FilterSource,
        Action::Search,
        Action::LogCall,
        Action::LogEmail,
        Action::LogMeeting,
        Action::LogNote,
        Action::SetStage,
        Action::Won,
        Action::Lost,
        Action::Snooze,
        Action::Assign,
        Action::AddLead,
        Action::Undo,
        Action::Refresh,
        Action::LoadDemo,
    ];

    /// What the help screen says the action does.
    pub fn describe(self) -> &'static str {
        match self {
            Action::Quit => "quit",
            Action::Help => "show every key",
            Action::Back => "back / cancel / clear search",
            Action::Down => "next lead / scroll down",
            Action::Up => "previous lead / scroll up",
            Action::PageDown => "page down",
            Action::PageUp => "page up",
            Action::Top => "first lead",
            Action::Bottom => "last lead",
            Action::Open => "open the lead",
            Action::ViewHot => "view: hot leads",
            Action::ViewToday => "view: today's queue",
            Action::ViewMine => "view: my leads",
            Action::ViewUnassigned => "view: unassigned leads",
            Action::ViewAll => "view: all open leads",
            Action::FilterStage => "filter by stage",
            Action::FilterSource => "filter by source",
            Action::Search => "search (fuzzy)",
            Action::LogCall => "log a call",
            Action::LogEmail => "log an e-mail",
            Action::LogMeeting => "log a meeting",
            Action::LogNote => "add a note",
            Action::SetStage => "set the stage",
            Action::Won => "mark won",
            Action::Lost => "mark lost (with a reason)",
            Action::Snooze => "snooze until a date",
            Action::Assign => "assign to a rep",
            Action::AddLead => "add a lead",
            Action::Undo => "undo the last action",
            Action::Refresh => "reload now",
            Action::LoadDemo => "load demo leads",
        }
    }

    /// The short word the footer shows next to the key.
    pub fn hint(self) -> &'static str {
        match self {
            Action::Quit => "quit",
            Action::Help => "help",
            Action::Back => "back",
            Action::Open => "open",
            Action::Search => "search",
            Action::LogCall => "call",
            Action::LogEmail => "email",
            Action::LogMeeting => "meeting",
            Action::LogNote => "note",
            Action::Undo => "undo",
            Action::LoadDemo => "demo",
            Action::ViewHot => "hot",
            Action::ViewToday => "today",
            Action::Snooze => "snooze",
            _ => self.describe(),
        }
    }
}
