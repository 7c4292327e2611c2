//! `leadq log ID call|email|meeting|note`: append to the timeline and report what changed.

use std::process::ExitCode;

use anyhow::Result;

use super::output::{change_json, change_line, print_json};
use super::{Format, usage};
use crate::domain::time::{Millis, parse_past, parse_when};
use crate::domain::{Kind, LeadId, Outcome};
use crate::service::{LeadService, LogEntry};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogKind {
    Call,
    Email,
    Meeting,
    Note,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    pub id: LeadId,
    #[arg(value_enum)]
    pub kind: LogKind,
    /// call: connected no-answer voicemail busy wrong-number; email: sent received replied
    /// opened clicked bounced unsubscribed; meeting: scheduled held no-show
    #[arg(long)]
    pub outcome: Option<String>,
    #[arg(long)]
    pub note: Option<String>,
    /// When it happened (default now): 2h or 3d (ago), 2026-11-20 14:30, RFC 3339 ...
    #[arg(long)]
    pub at: Option<String>,
    /// The next follow-up: tomorrow, 3d, next-week, 2026-11-25 ...
    #[arg(long)]
    pub next: Option<String>,
    /// Length of the call or meeting in minutes
    #[arg(long)]
    pub minutes: Option<u32>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

fn parse_at(t: &str, now: Millis) -> Result<Millis> {
    parse_past(t, now).map_err(|e| usage(format!("--at: {e}")))
}

/// `--minutes` as seconds, within a day.
fn seconds(minutes: u32) -> Result<u32> {
    match minutes.checked_mul(60) {
        Some(secs) if minutes <= crate::domain::limits::MINUTES => Ok(secs),
        _ => Err(usage(format!(
            "--minutes {minutes}: a call or meeting lasts at most {} minutes (a day)",
            crate::domain::limits::MINUTES
        ))),
    }
}

pub fn run(s: &dyn LeadService, a: &Args) -> Result<ExitCode> {
    let kind = match a.kind {
        LogKind::Call => Kind::Call,
        LogKind::Email => Kind::Email,
        LogKind::Meeting => Kind::Meeting,
        LogKind::Note => Kind::Note,
    };
    let outcome = match (&a.outcome, kind) {
        (Some(o), _) => {
            Some(Outcome::parse_for(kind, o).map_err(|e| usage(format!("--outcome: {e}")))?)
        }
        (None, Kind::Note) => None,
        (None, Kind::Call) => Some(Outcome::Connected),
        (None, Kind::Email) => Some(Outcome::Sent),
        (None, _) => Some(Outcome::Held),
    };
    let now = s.now();
    let at = a.at.as_deref().map(|t| parse_at(t, now)).transpose()?;
    let next = a
        .next
        .as_deref()
        .map(|t| parse_when(t, now).map_err(|e| usage(format!("--next: {e}"))))
        .transpose()?;
    let entry = LogEntry {
        kind,
        outcome,
        note: a.note.clone(),
        at,
        next_action: next,
        duration_secs: a.minutes.map(seconds).transpose()?,
    };
    let change = s.log(a.id, entry)?;
    match a.format {
        Format::Json => print_json(&change_json(&change))?,
        _ => say!("{}", change_line(&change, now))?,
    }
    Ok(ExitCode::SUCCESS)
}
