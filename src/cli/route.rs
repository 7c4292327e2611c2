//! `leadq route`: where a lead would go and why (`--dry-run ID`), or the unassigned pool
//! routed by the rules (managers); `leadq away` / `leadq back`: a rep out of the rotation
//! and in again.

use std::process::ExitCode;

use anyhow::Result;

use super::Format;
use super::output::print_json;
use crate::domain::sanitize::for_display;
use crate::service::{AwayRequest, LeadService, RouteRequest, Routed};

#[derive(Debug, clap::Args)]
pub struct RouteArgs {
    /// Say where lead ID would go now, and why; nothing changes
    #[arg(long, value_name = "ID", conflicts_with = "pool")]
    pub dry_run: Option<u64>,
    /// Route every open lead of the unassigned pool by the rules (managers)
    #[arg(long)]
    pub pool: bool,
    /// With --pool: say where each would go, change nothing
    #[arg(long, requires = "pool")]
    pub check: bool,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, clap::Args)]
pub struct AwayArgs {
    /// Whose (default: yours; another rep's is a manager's)
    pub user: Option<String>,
    /// Only list who is away
    #[arg(long, conflicts_with = "user")]
    pub list: bool,
}

fn print_routed(r: &Routed, verbose: bool) -> Result<()> {
    let whom = r
        .owner
        .as_deref()
        .map_or("the pool".to_string(), for_display);
    say!(
        "{}\t{}\t-> {whom}\t{}",
        r.id,
        for_display(&r.name),
        for_display(&r.reason)
    )?;
    if verbose && r.passed.is_empty() && r.owner.is_some() {
        say!("\tnobody passed over")?;
    }
    if verbose {
        for p in &r.passed {
            say!("\tpassed over: {}", for_display(p))?;
        }
    }
    Ok(())
}

pub fn run_route(s: &dyn LeadService, a: &RouteArgs) -> Result<ExitCode> {
    let request = match (a.dry_run, a.pool) {
        (Some(id), _) => RouteRequest::DryRun(id),
        (None, true) => RouteRequest::Pool { dry_run: a.check },
        (None, false) => {
            return Err(super::usage(
                "say what to route: --dry-run ID (explain) or --pool (managers)",
            ));
        }
    };
    let routed = s.route(&request)?;
    match a.format {
        Format::Json => print_json(&routed)?,
        _ => {
            for r in &routed {
                print_routed(r, a.dry_run.is_some())?;
            }
            if a.pool {
                let moved = routed.iter().filter(|r| r.owner.is_some()).count();
                eprintln!(
                    "leadq: {} {moved} of the {} leads in the pool",
                    if a.check { "would route" } else { "routed" },
                    routed.len()
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run_away(s: &dyn LeadService, a: &AwayArgs, away: bool) -> Result<ExitCode> {
    let list = s.away(&AwayRequest {
        user: a.user.clone(),
        away: (!a.list).then_some(away),
    })?;
    if !a.list {
        let who = a
            .user
            .as_deref()
            .map(str::trim)
            .map_or_else(|| s.identity().user, String::from);
        say!(
            "{} {}",
            for_display(&who),
            if away {
                "is away: new leads go to the rest of the team"
            } else {
                "is back: new leads come again, from now on"
            }
        )?;
    }
    if list.is_empty() {
        say!("nobody is away")?;
    }
    for (user, since) in list {
        say!(
            "away: {}\tsince {}",
            for_display(&user),
            crate::domain::time::format_rfc3339(since)
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
