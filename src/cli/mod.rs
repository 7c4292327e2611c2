//! The scriptable command line: one file per subcommand, all over the service API.
//! Exit codes: 0 success, 1 error, 2 usage, 3 import done with invalid rows skipped.

/// `println!` that returns the error of a closed pipe (`leadq show 1 | head -1`) instead of
/// panicking on it: the command stops there, and `main` ends quietly.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout(), $($arg)*)
    }};
}

/// `eprintln!` that never panics: a message to a closed standard error is lost, nothing more.
macro_rules! tell {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

mod add;
mod admin;
pub mod csv_in;
pub mod csv_profile;
mod demo;
mod doctor;
mod dupes;
mod edit;
mod erase;
mod export;
mod import;
mod intake;
mod list;
mod log;
mod merge;
mod model;
pub mod output;
mod report;
mod route;
mod serve;
pub mod show;
mod stage;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};

use std::sync::Arc;

use crate::remote::client::Client;
use crate::remote::server::socket_path;
use crate::remote::team::Team;
use crate::service::{LeadService, Local};
use crate::store::{DEFAULT_CACHE_BYTES, Store, StoreError};

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
    /// Change a lead's card: name, e-mail, phone, company, source, title, attributes
    Edit(edit::EditArgs),
    /// Add or remove a lead's tags: leadq tag 17 +hot-list -old
    Tag(edit::TagArgs),
    /// Likely duplicates the arrival check missed (--not A B: they are two people)
    Dupes(dupes::Args),
    /// Reports: funnel, sources, reps, speed, score, day (--since 30d, --source, --owner, --tag)
    Report(report::Args),
    /// Where a new lead goes: --dry-run ID explains, --pool routes the unassigned (managers)
    Route(route::RouteArgs),
    /// Out of the routing rotation (new leads go to the rest of the team)
    Away(route::AwayArgs),
    /// Back in the routing rotation
    Back(route::AwayArgs),
    /// Join two cards of one person: KEEP stays, OTHER's timeline joins it (managers)
    Merge(merge::Args),
    /// Remove a person's lead for good, at their request (managers)
    Erase(erase::Args),
    /// Every lead with its current score, temperature and stage
    Export(export::Args),
    /// Fill the store with generated demo leads
    Demo(demo::Args),
    /// Run the server that owns a store (started by itself when the TUI opens)
    Serve(serve::Args),
    /// Web intake: make a token for a source's web forms (`leadq serve --http` takes them)
    #[command(subcommand)]
    Intake(intake::Command),
    /// Write a consistent copy of the store to a file (works while leadq runs)
    Backup(admin::BackupArgs),
    /// Replace the store with a backup (the current store is kept beside it)
    Restore(admin::RestoreArgs),
    /// Report on the store, the server, the socket and the permissions
    Doctor(doctor::Args),
    /// The learned score: train it on won and lost leads, or see how it does
    #[command(subcommand)]
    Model(model::Command),
}

/// A command line that asks for something that cannot be (`--delimiter ';;'`, `--map x`): the
/// message, and exit 2 as for clap's own usage errors.
#[derive(Debug)]
pub struct Usage(pub String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

pub fn usage(message: impl Into<String>) -> anyhow::Error {
    Usage(message.into()).into()
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

pub fn store_path(cli: &Cli) -> Result<PathBuf> {
    match &cli.db {
        Some(p) => Ok(p.clone()),
        None => crate::config::default_store_path(),
    }
}

/// The service for a command. A running server is always used (it owns the store); without
/// one, a command opens the store in-process, and the TUI (`interactive`) starts a server so
/// that other commands and screens can share the store meanwhile. `LEADQ_SERVER=off` keeps
/// everything in-process.
pub fn open_service(cli: &Cli, interactive: bool) -> Result<Arc<dyn LeadService + Send + Sync>> {
    let path = store_path(cli)?;
    let servers = std::env::var("LEADQ_SERVER").map_or(true, |v| v != "off");
    if servers && socket_path(&path).exists() {
        match Client::connect(&path, false) {
            // A TUI rides out the server's death as the TUI that started it does, but never
            // starts a single-user server over a team's store (that is the admin's to run).
            Ok(c) if interactive && path.join(Team::FILE).exists() => {
                let client = Arc::new(c);
                client.keep_connected();
                return Ok(client);
            }
            Ok(_) if interactive => return reconnecting_client(&path),
            Ok(c) => return Ok(Arc::new(c)),
            // A server that answered and said no (another team, another version) is final.
            Err(e) if e.to_string().contains(" refused: ") => return Err(e.into()),
            Err(_) => {}
        }
    }
    // A team's store belongs to its server, which its admin runs: never open it in-process
    // or start a single-user server over it.
    if servers && path.join(Team::FILE).exists() {
        anyhow::bail!(
            "{} is a team store and its server is not answering: ask the admin to start it \
             (leadq serve --team {}); `leadq doctor` says more",
            path.display(),
            path.display()
        );
    }
    if interactive && servers {
        return reconnecting_client(&path);
    }
    // The settings are the store owner's: read here, in-process, or by the server (a broken
    // file must not lock a client out of a server that runs).
    let settings = crate::config::settings(cli.rules.as_deref())?;
    match Store::open(&path, DEFAULT_CACHE_BYTES) {
        Ok(store) => {
            let local = Arc::new(Local::new(store, settings).context("cannot prepare the store")?);
            if interactive {
                keep_up_with_time(Arc::clone(&local));
            }
            Ok(local)
        }
        // The process holding the store may be a server just starting: give it a moment.
        Err(StoreError::InUse(p)) if servers => {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
            while std::time::Instant::now() < deadline {
                if let Ok(c) = Client::connect(&path, false) {
                    return Ok(Arc::new(c));
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(StoreError::InUse(p).into())
        }
        Err(StoreError::Open { path, error })
            if error.kind() == std::io::ErrorKind::PermissionDenied =>
        {
            Err(permission_denied(&path, &error))
        }
        Err(e) => Err(e.into()),
    }
}

/// An in-process TUI owns the store as a server would: every minute the leads whose moment of
/// change has come (a point of decay, a snooze ending) are brought up to now, so views read
/// the queue index as it stands instead of placing ever more leads by hand.
fn keep_up_with_time(local: Arc<Local>) {
    std::thread::spawn(move || {
        loop {
            // A failed tick (a full disk) leaves the views to place those leads themselves.
            let _ = local.tick();
            std::thread::sleep(std::time::Duration::from_secs(60));
        }
    });
}

/// Why a store cannot be opened for lack of rights, and what to do: a store of one's own that
/// is read-only needs its permissions back; another user's (a team's) needs its group.
fn permission_denied(path: &std::path::Path, error: &std::io::Error) -> anyhow::Error {
    use std::os::unix::fs::MetadataExt;
    let owner = std::fs::metadata(path).map(|m| m.uid()).ok();
    if owner == Some(nix::unistd::geteuid().as_raw()) {
        return anyhow::anyhow!(
            "cannot open the store at {}: {error}: the folder or its files are not writable by \
             you; restore the permissions (chmod -R u+rwX {})",
            path.display(),
            path.display()
        );
    }
    anyhow::anyhow!(
        "cannot open the store at {}: {error}. It belongs to another user: if it is a team's \
         store, its server must be running and you in the team's Unix group (ask its admin)",
        path.display()
    )
}

/// A client that starts a server when none answers and reconnects by itself.
fn reconnecting_client(path: &std::path::Path) -> Result<Arc<dyn LeadService + Send + Sync>> {
    let client = Arc::new(Client::connect(path, true)?);
    client.keep_connected();
    Ok(client)
}

pub fn run(cli: Cli) -> Result<ExitCode> {
    match &cli.command {
        Some(Command::Serve(a)) => return serve::run(&cli, a),
        Some(Command::Intake(c)) => return intake::run(c),
        Some(Command::Backup(a)) => return admin::backup(&cli, a),
        Some(Command::Restore(a)) => return admin::restore(&cli, a),
        Some(Command::Doctor(a)) => return doctor::doctor(&cli, a),
        Some(Command::Erase(a)) => return erase::run(&cli, a),
        _ => {}
    }
    let interactive = cli.command.is_none() && std::io::IsTerminal::is_terminal(&std::io::stdout());
    let arc = open_service(&cli, interactive)?;
    let result = dispatch(&arc, &cli, interactive);
    // Closing sled walks and frees its whole page table, ~20 ms at 100k leads, longer than a
    // `list` takes. Every write was flushed before its command reported success, so the
    // process leaves the store as it is: the same state a kill -9 after the last write
    // leaves, which the store survives (tests/kill.rs).
    std::mem::forget(arc);
    result
}

fn dispatch(
    arc: &Arc<dyn LeadService + Send + Sync>,
    cli: &Cli,
    interactive: bool,
) -> Result<ExitCode> {
    let service: &dyn LeadService = &**arc;
    let code = match &cli.command {
        // On a terminal bare `leadq` is the TUI; piped, it prints the top of the hot queue.
        None if interactive => {
            let file = crate::config::file_config()?;
            let theme = cli.theme.clone().or(file.theme);
            crate::tui::run(
                Arc::clone(arc),
                theme.as_deref(),
                cli.mouse || file.mouse.unwrap_or(false),
                file.bell.unwrap_or(false),
            )?;
            ExitCode::SUCCESS
        }
        None => list::run(service, &list::Args::hot_top())?,
        Some(Command::Add(a)) => add::run(service, a)?,
        Some(Command::Import(a)) => import::run(service, a)?,
        Some(Command::Log(a)) => log::run(service, a)?,
        Some(Command::List(a)) => list::run(service, a)?,
        Some(Command::Show(a)) => show::run(service, a)?,
        Some(Command::Stage(a)) => stage::run_stage(service, a)?,
        Some(Command::Won(a)) => stage::run_won(service, a)?,
        Some(Command::Lost(a)) => stage::run_lost(service, a)?,
        Some(Command::Snooze(a)) => stage::run_snooze(service, a)?,
        Some(Command::Assign(a)) => stage::run_assign(service, a)?,
        Some(Command::Edit(a)) => edit::run_edit(service, a)?,
        Some(Command::Tag(a)) => edit::run_tag(service, a)?,
        Some(Command::Dupes(a)) => dupes::run(service, a)?,
        Some(Command::Report(a)) => report::run(service, a)?,
        Some(Command::Route(a)) => route::run_route(service, a)?,
        Some(Command::Away(a)) => route::run_away(service, a, true)?,
        Some(Command::Back(a)) => route::run_away(service, a, false)?,
        Some(Command::Merge(a)) => merge::run(service, a)?,
        Some(Command::Export(a)) => export::run(service, a)?,
        Some(Command::Demo(a)) => demo::run(service, a)?,
        Some(Command::Model(c)) => model::run(service, c)?,
        Some(
            Command::Serve(_)
            | Command::Intake(_)
            | Command::Backup(_)
            | Command::Restore(_)
            | Command::Doctor(_)
            | Command::Erase(_),
        ) => {
            unreachable!("handled above")
        }
    };
    Ok(code)
}
