//! `leadq erase ID --yes`: remove a person's lead for good (managers), at their request.

use std::process::ExitCode;

use anyhow::Result;

use crate::domain::LeadId;
use crate::domain::sanitize::for_display;
use crate::store::Store;

#[derive(Debug, clap::Args)]
pub struct Args {
    pub id: LeadId,
    /// Erase without asking (the erase cannot be undone)
    #[arg(long)]
    pub yes: bool,
}

pub fn run(cli: &super::Cli, a: &Args) -> Result<ExitCode> {
    let service = super::open_service(cli, false)?;
    let lead = service.show(a.id)?;
    let what = format!(
        "#{} {} ({} timeline entries)",
        lead.view.lead.id,
        for_display(&lead.view.lead.name),
        lead.timeline.len()
    );
    if !a.yes {
        return Err(super::usage(format!(
            "erase removes {what} for good and cannot be undone: pass --yes"
        )));
    }
    let erased = service.erase(a.id)?;
    say!(
        "erased #{} with its {} timeline entries; an audit entry keeps who and when",
        erased.id,
        erased.interactions
    )?;
    if service.in_process() {
        // This process owns the store: close it and write its files anew at once.
        drop(service);
        let path = super::store_path(cli)?;
        Store::rewrite(&path)?;
        say!("rewrote the store files: nothing of it is left in them")?;
    } else {
        say!(
            "the store files keep old versions of it until the server rewrites them, at its \
             next start (or stop it and run `leadq doctor --rewrite`)"
        )?;
    }
    say!("backups and automatic snapshots taken before now still hold it; later ones do not")?;
    Ok(ExitCode::SUCCESS)
}
