//! `leadq stage`, `won`, `lost`, `snooze`, `assign`: moves made by hand.

use std::process::ExitCode;

use anyhow::Result;

use super::output::{change_json, change_line, print_json};
use super::{Format, usage};
use crate::domain::time::parse_when;
use crate::domain::{LeadId, LostReason, Stage};
use crate::service::{Change, LeadService};

#[derive(Debug, clap::Args)]
pub struct StageArgs {
    pub id: LeadId,
    /// new contacted qualified opportunity customer loyal nurture lost
    pub stage: String,
    /// Required for lost: price competitor no-budget no-response not-a-fit other
    #[arg(long)]
    pub reason: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, clap::Args)]
pub struct WonArgs {
    pub id: LeadId,
    #[arg(long)]
    pub note: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, clap::Args)]
pub struct LostArgs {
    pub id: LeadId,
    /// price competitor no-budget no-response not-a-fit other
    #[arg(long)]
    pub reason: String,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, clap::Args)]
pub struct SnoozeArgs {
    pub id: LeadId,
    /// tomorrow, 3d, next-week, 2026-12-01 ...
    #[arg(long)]
    pub until: String,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, clap::Args)]
pub struct AssignArgs {
    pub id: LeadId,
    /// A rep's user name, or "none" to return the lead to the unassigned pool
    pub user: String,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

fn parse_reason(r: &str) -> Result<LostReason> {
    LostReason::parse(r).ok_or_else(|| {
        usage(format!(
            "--reason {r:?} is not a reason; use one of: price competitor no-budget \
             no-response not-a-fit other"
        ))
    })
}

fn report(s: &dyn LeadService, c: &Change, format: Format) -> Result<ExitCode> {
    match format {
        Format::Json => print_json(&change_json(c))?,
        _ => say!("{}", change_line(c, s.now()))?,
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run_stage(s: &dyn LeadService, a: &StageArgs) -> Result<ExitCode> {
    let Some(stage) = Stage::parse(&a.stage) else {
        return Err(usage(format!(
            "{:?} is not a stage; use one of: new contacted qualified opportunity customer \
             loyal nurture lost",
            a.stage
        )));
    };
    let reason = a.reason.as_deref().map(parse_reason).transpose()?;
    report(s, &s.set_stage(a.id, stage, reason)?, a.format)
}

pub fn run_won(s: &dyn LeadService, a: &WonArgs) -> Result<ExitCode> {
    report(s, &s.won(a.id, a.note.clone())?, a.format)
}

pub fn run_lost(s: &dyn LeadService, a: &LostArgs) -> Result<ExitCode> {
    report(
        s,
        &s.set_stage(a.id, Stage::Lost, Some(parse_reason(&a.reason)?))?,
        a.format,
    )
}

pub fn run_snooze(s: &dyn LeadService, a: &SnoozeArgs) -> Result<ExitCode> {
    let until = parse_when(&a.until, s.now()).map_err(|e| usage(format!("--until: {e}")))?;
    report(s, &s.snooze(a.id, until)?, a.format)
}

pub fn run_assign(s: &dyn LeadService, a: &AssignArgs) -> Result<ExitCode> {
    let owner = match a.user.trim() {
        "none" => None,
        "" => {
            return Err(usage(
                "assign: name a user, \"me\", or \"none\" for the pool",
            ));
        }
        "me" => Some(s.identity().user),
        u => Some(u.to_string()),
    };
    report(s, &s.assign(a.id, owner)?, a.format)
}
