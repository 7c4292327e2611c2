//! Pure rules of leadq: no terminal, no store, no I/O. Everything here takes "now" as an
//! argument, so every rule is testable with a fixed clock.

pub mod dedupe;
pub mod dupes;
pub mod edit;
pub mod fields;
pub mod interaction;
pub mod lead;
pub mod limits;
pub mod model;
pub mod report;
pub mod routing;
pub mod sanitize;
pub mod scoring;
pub mod search;
pub mod stage;
pub mod tally;
pub mod temperature;
pub mod time;

pub use interaction::{Interaction, Kind, Outcome};
pub use lead::{Closed, Lead, LeadId, NewLead, ValidationError};
pub use scoring::{Explanation, Rules, ScoreState};
pub use stage::{LostReason, Stage};
pub use temperature::Temperature;
pub use time::Millis;
