//! The scriptable command line: one file per subcommand, all over the service API.
//! Exit codes: 0 success, 1 error, 2 usage, 3 import done with invalid rows skipped.

mod add;
mod demo;
mod export;
mod import;
mod list;
mod log;
pub mod output;
mod show;
mod stage;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};

use crate::service::Local;
use crate::store::{DEFAULT_CACHE_BYTES, Store};

#[derive(Debug, Parser)]
#[command(name = "leadq", version, about = "Keyboard-first sales-lead triage", long_about = None)]
pub struct Cli {
    /// The store folder [default: ~/.local/share/leadq/store]
    #[arg(long, global = true, env = "LEADQ_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Scoring rules file [default: ~/.config/leadq/scoring.toml, else built-in]
    #[arg(long, global = true, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// TUI theme: default, light, high-contrast, mono, or a file in ~/.config/leadq/themes/
    #[arg(long, global = true, value_name = "NAME")]
    pub theme: Option<String>,
    /// Let the TUI use the mouse
    #[arg(long, global = true)]
    pub mouse: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    #[default]
    Text,
    Json,
    Csv,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Add a lead (or merge it into the lead with the same e-mail or phone)
    Add(add::Args),
    /// Import leads from a CSV (or JSON from `export`) file
    Import(import::Args),
    /// Log a call, e-mail, meeting or note on a lead
    Log(log::Args),
    /// The queue in score order as of now
    List(list::Args),
    /// A lead's card, score explanation and timeline
    Show(show::Args),
    /// Move a lead to a stage by hand
    Stage(stage::StageArgs),
    /// Mark a lead won (customer; loyal if already a customer)
    Won(stage::WonArgs),
    /// Mark a lead lost, with a reason
    Lost(stage::LostArgs),
    /// Hide a lead from the queue until a date
    Snooze(stage::SnoozeArgs),
    /// Give a lead to a rep (or "none" for the unassigned pool)
    Assign(stage::AssignArgs),
    /// Every lead with its current score, temperature and stage
    Export(export::Args),
    /// Fill the store with generated demo leads
    Demo(demo::Args),
}

/// An error that already told the user what happened, with the exit code to end with.
#[derive(Debug)]
pub struct Exit(pub u8);

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {}", self.0)
    }
}

impl std::error::Error for Exit {}

pub fn open_service(cli: &Cli) -> Result<Local> {
    let settings = crate::config::settings(cli.rules.as_deref())?;
    let path = match &cli.db {
        Some(p) => p.clone(),
        None => crate::config::default_store_path()?,
    };
    let store = Store::open(&path, DEFAULT_CACHE_BYTES)?;
    Local::new(store, settings).context("cannot prepare the store")
}

pub fn run(cli: Cli) -> Result<ExitCode> {
    let service = open_service(&cli)?;
    let code = match cli.command {
        // On a terminal bare `leadq` is the TUI; piped, it prints the top of the hot queue.
        None if std::io::IsTerminal::is_terminal(&std::io::stdout()) => {
            let file = crate::config::file_config()?;
            let theme = cli.theme.clone().or(file.theme);
            crate::tui::run(
                std::sync::Arc::new(service),
                theme.as_deref(),
                cli.mouse || file.mouse.unwrap_or(false),
            )?;
            ExitCode::SUCCESS
        }
        None => list::run(&service, &list::Args::hot_top())?,
        Some(Command::Add(a)) => add::run(&service, &a)?,
        Some(Command::Import(a)) => import::run(&service, &a)?,
        Some(Command::Log(a)) => log::run(&service, &a)?,
        Some(Command::List(a)) => list::run(&service, &a)?,
        Some(Command::Show(a)) => show::run(&service, &a)?,
        Some(Command::Stage(a)) => stage::run_stage(&service, &a)?,
        Some(Command::Won(a)) => stage::run_won(&service, &a)?,
        Some(Command::Lost(a)) => stage::run_lost(&service, &a)?,
        Some(Command::Snooze(a)) => stage::run_snooze(&service, &a)?,
        Some(Command::Assign(a)) => stage::run_assign(&service, &a)?,
        Some(Command::Export(a)) => export::run(&service, &a)?,
        Some(Command::Demo(a)) => demo::run(&service, &a)?,
    };
    Ok(code)
}
