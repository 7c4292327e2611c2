//! `leadq demo`: fill a store with generated leads.

use std::process::ExitCode;

use anyhow::Result;

use crate::service::LeadService;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long, default_value_t = 200)]
    pub count: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

pub fn run(s: &dyn LeadService, a: &Args) -> Result<ExitCode> {
    let r = s.demo(a.count, a.seed)?;
    say!(
        "added {} demo leads with {} interactions to {}",
        r.leads,
        r.interactions,
        s.location()
    )?;
    Ok(ExitCode::SUCCESS)
}
