//! What happened with a lead: calls, e-mails, meetings, notes, inbound behaviour and the
//! system's own events. Interactions are append-only; together they are the timeline.

use serde::{Deserialize, Serialize};

use super::time::Millis;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Call,
    Email,
    Meeting,
    Note,
    Inbound,
    System,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Call,
        Kind::Email,
        Kind::Meeting,
        Kind::Note,
        Kind::Inbound,
        Kind::System,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Call => "call",
            Kind::Email => "email",
            Kind::Meeting => "meeting",
            Kind::Note => "note",
            Kind::Inbound => "inbound",
            Kind::System => "system",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(s.trim()))
    }

    /// The outcomes this kind of interaction can have, in the order keys and menus list them.
    pub fn outcomes(self) -> &'static [Outcome] {
        use Outcome::*;
        match self {
            Kind::Call => &[Connected, NoAnswer, Voicemail, Busy, WrongNumber],
            Kind::Email => &[
                Sent,
                Received,
                Replied,
                Opened,
                Clicked,
                Bounced,
                Unsubscribed,
            ],
            Kind::Meeting => &[Scheduled, Held, NoShow],
            Kind::Note => &[],
            Kind::Inbound => &[FormSubmitted, PageVisit, Download, WebinarAttended, Chat],
            Kind::System => &[
                Created,
                Merged,
                StageChanged,
                OwnerChanged,
                Won,
                Lost,
                Snoozed,
                Reopened,
                Edited,
                Joined,
            ],
        }
    }

    /// Whether a rep logging this kind counts as touching the lead.
    pub fn is_touch(self) -> bool {
        matches!(self, Kind::Call | Kind::Email | Kind::Meeting | Kind::Note)
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Connected,
    NoAnswer,
    Voicemail,
    Busy,
    WrongNumber,
    Sent,
    Received,
    Replied,
    Opened,
    Clicked,
    Bounced,
    Unsubscribed,
    Scheduled,
    Held,
    NoShow,
    FormSubmitted,
    PageVisit,
    Download,
    WebinarAttended,
    Chat,
    Created,
    Merged,
    StageChanged,
    OwnerChanged,
    Won,
    Lost,
    Snoozed,
    Reopened,
    /// The card was changed (`leadq edit`, `leadq tag`): never worth engagement points.
    Edited,
    /// A manager joined another card of the same person into this one (`leadq merge`): the
    /// person did nothing, so no points either.
    Joined,
}

impl Outcome {
    /// Whether an engagement rule may give points for it: a change of the card says
    /// nothing about the person's interest.
    pub fn earns_points(self) -> bool {
        !matches!(self, Outcome::Edited | Outcome::Joined)
    }

    pub fn name(self) -> &'static str {
        use Outcome::*;
        match self {
            Connected => "connected",
            NoAnswer => "no-answer",
            Voicemail => "voicemail",
            Busy => "busy",
            WrongNumber => "wrong-number",
            Sent => "sent",
            Received => "received",
            Replied => "replied",
            Opened => "opened",
            Clicked => "clicked",
            Bounced => "bounced",
            Unsubscribed => "unsubscribed",
            Scheduled => "scheduled",
            Held => "held",
            NoShow => "no-show",
            FormSubmitted => "form-submitted",
            PageVisit => "page-visit",
            Download => "download",
            WebinarAttended => "webinar-attended",
            Chat => "chat",
            Created => "created",
            Merged => "merged",
            StageChanged => "stage-changed",
            OwnerChanged => "owner-changed",
            Won => "won",
            Lost => "lost",
            Snoozed => "snoozed",
            Reopened => "reopened",
            Edited => "edited",
            Joined => "joined",
        }
    }

    /// Parses an outcome valid for `kind`; the error lists the valid names.
    pub fn parse_for(kind: Kind, s: &str) -> Result<Outcome, String> {
        let valid = kind.outcomes();
        valid
            .iter()
            .copied()
            .find(|o| o.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                if valid.is_empty() {
                    format!("a {kind} has no outcome")
                } else {
                    let names: Vec<_> = valid.iter().map(|o| o.name()).collect();
                    format!(
                        "{s:?} is not a {kind} outcome; use one of: {}",
                        names.join(", ")
                    )
                }
            })
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One entry of a lead's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interaction {
    pub kind: Kind,
    pub outcome: Option<Outcome>,
    /// The Unix user who logged it, or `leadq` for the system's own events.
    pub author: String,
    pub at: Millis,
    pub note: Option<String>,
    /// Length of a call or meeting, in seconds.
    pub duration_secs: Option<u32>,
    /// A won or lost event: the score and temperature the lead had as it closed (for the
    /// score check). None for other events, and for closes from history or an older leadq.
    /// (Always written: the store's binary format has no optional fields.)
    #[serde(default)]
    pub closed_as: Option<ClosedAs>,
}

/// A lead's standing as it closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClosedAs {
    pub score: u8,
    pub temperature: super::Temperature,
}
