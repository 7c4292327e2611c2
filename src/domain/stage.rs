//! The lifecycle of a lead and the rules that move it.

use serde::{Deserialize, Serialize};

use super::interaction::{Kind, Outcome};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    New,
    Contacted,
    Qualified,
    Opportunity,
    Customer,
    Loyal,
    Nurture,
    Lost,
}

impl Stage {
    pub const ALL: [Stage; 8] = [
        Stage::New,
        Stage::Contacted,
        Stage::Qualified,
        Stage::Opportunity,
        Stage::Customer,
        Stage::Loyal,
        Stage::Nurture,
        Stage::Lost,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Stage::New => "new",
            Stage::Contacted => "contacted",
            Stage::Qualified => "qualified",
            Stage::Opportunity => "opportunity",
            Stage::Customer => "customer",
            Stage::Loyal => "loyal",
            Stage::Nurture => "nurture",
            Stage::Lost => "lost",
        }
    }

    pub fn parse(s: &str) -> Option<Stage> {
        Stage::ALL
            .into_iter()
            .find(|st| st.name().eq_ignore_ascii_case(s.trim()))
    }

    /// Open leads are the ones still being worked: they belong in the queue.
    pub fn is_open(self) -> bool {
        !matches!(self, Stage::Customer | Stage::Loyal | Stage::Lost)
    }

    /// The funnel's main line, in order (nurture and lost sit beside it).
    pub const MAIN_LINE: [Stage; 6] = [
        Stage::New,
        Stage::Contacted,
        Stage::Qualified,
        Stage::Opportunity,
        Stage::Customer,
        Stage::Loyal,
    ];

    /// Its place in `Stage::ALL` (how the reports number stages).
    pub fn index(self) -> u16 {
        Stage::ALL.iter().position(|x| *x == self).unwrap_or(0) as u16
    }

    /// Position in the funnel; automatic moves only go forward. Nurture and lost sit beside
    /// the funnel and rank with `new`, so any forward event takes a lead out of them.
    pub fn rank(self) -> u8 {
        match self {
            Stage::New | Stage::Nurture | Stage::Lost => 0,
            Stage::Contacted => 1,
            Stage::Qualified => 2,
            Stage::Opportunity => 3,
            Stage::Customer => 4,
            Stage::Loyal => 5,
        }
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LostReason {
    Price,
    Competitor,
    NoBudget,
    NoResponse,
    NotAFit,
    Other,
}

impl LostReason {
    pub const ALL: [LostReason; 6] = [
        LostReason::Price,
        LostReason::Competitor,
        LostReason::NoBudget,
        LostReason::NoResponse,
        LostReason::NotAFit,
        LostReason::Other,
    ];

    pub fn name(self) -> &'static str {
        match self {
            LostReason::Price => "price",
            LostReason::Competitor => "competitor",
            LostReason::NoBudget => "no-budget",
            LostReason::NoResponse => "no-response",
            LostReason::NotAFit => "not-a-fit",
            LostReason::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<LostReason> {
        LostReason::ALL
            .into_iter()
            .find(|r| r.name().eq_ignore_ascii_case(s.trim()))
    }
}

impl std::fmt::Display for LostReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The stage an event moves a lead to, if any. Automatic moves go forward only: a connected
/// call moves `new` to `contacted` but never pulls an opportunity back.
///
/// - a connected call, a received or replied e-mail, a chat: `new`/`nurture` -> `contacted`
/// - a scheduled meeting: -> `qualified`
/// - a held meeting: -> `opportunity`
/// - a form submitted by a lost lead reopens it as `new` (the person came back)
pub fn auto_transition(current: Stage, kind: Kind, outcome: Option<Outcome>) -> Option<Stage> {
    use Outcome::*;
    let target = match (kind, outcome) {
        (Kind::Call, Some(Connected))
        | (Kind::Email, Some(Received | Replied))
        | (Kind::Inbound, Some(Chat)) => Stage::Contacted,
        (Kind::Meeting, Some(Scheduled)) => Stage::Qualified,
        (Kind::Meeting, Some(Held)) => Stage::Opportunity,
        (Kind::Inbound, Some(FormSubmitted)) if current == Stage::Lost => return Some(Stage::New),
        _ => return None,
    };
    (current.is_open() && target.rank() > current.rank()).then_some(target)
}

/// The stage a won deal moves a lead to: a first purchase makes a customer, another one a
/// loyal customer.
pub fn stage_after_won(current: Stage) -> Stage {
    match current {
        Stage::Customer | Stage::Loyal => Stage::Loyal,
        _ => Stage::Customer,
    }
}
