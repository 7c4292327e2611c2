//! `leadq serve`: run the server that owns a store, for one user or for a team.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::remote::client::Client;
use crate::remote::log::log_path;
use crate::remote::server::{ServeOptions, serve, socket_path};
use crate::remote::team::Team;
use crate::service::Local;
use crate::store::{DEFAULT_CACHE_BYTES, Store};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run in this process instead of in the background
    #[arg(long)]
    pub foreground: bool,
    /// Serve the team store in DIR (with its team.toml) to the members of the team's group
    #[arg(long, value_name = "DIR")]
    pub team: Option<PathBuf>,
    /// Exit this many seconds after the last client left (default: never for a team, 300 for
    /// one user)
    #[arg(long, value_name = "SECS")]
    pub idle_exit: Option<u64>,
    /// Stop the server of the store instead
    #[arg(long)]
    pub stop: bool,
    /// Also take leads posted by web forms over HTTP on ADDR (e.g. 127.0.0.1:8080); the same
    /// as `http` under [intake] in config.toml
    #[arg(long, value_name = "ADDR")]
    pub http: Option<String>,
    /// The intake's token file (default: ~/.config/leadq/intake-tokens.toml, mode 0600)
    #[arg(long, value_name = "FILE")]
    pub tokens: Option<PathBuf>,
    /// Started by a TUI or command for its store: the web intake of config.toml is not this
    /// server's (it belongs to the server its admin runs)
    #[arg(long, hide = true)]
    pub started_by_client: bool,
}

/// The web intake's settings, from the command line over config.toml; None when it is off.
/// A broken setting or token file stops the server before it serves anyone.
fn intake_options(
    a: &Args,
    country_code: &str,
) -> Result<Option<crate::intake::listener::IntakeOptions>> {
    let file = crate::config::file_config()?.intake.unwrap_or_default();
    let from_file = file.http.filter(|_| !a.started_by_client);
    let Some(addr) = a.http.clone().or(from_file) else {
        return Ok(None);
    };
    let addr: std::net::SocketAddr = addr.trim().parse().map_err(|_| {
        anyhow::anyhow!(
            "--http {:?}: give an address and port, e.g. 127.0.0.1:8080",
            crate::domain::sanitize::for_display(&addr)
        )
    })?;
    let path = a
        .tokens
        .clone()
        .or(file.tokens)
        .or_else(crate::config::intake_tokens_path)
        .context("no folder for the intake's token file: give --tokens FILE")?;
    let tokens = crate::intake::tokens::Tokens::load(&path).map_err(anyhow::Error::msg)?;
    if tokens.is_empty() {
        bail!(
            "{} has no tokens: every post would be refused. Make one with `leadq intake token \
             SOURCE`",
            path.display()
        );
    }
    let max_body = match file.max_body_kb {
        Some(0) => bail!("config.toml: [intake] max_body_kb is at least 1"),
        Some(kb) => kb.saturating_mul(1024),
        None => crate::intake::listener::DEFAULT_MAX_BODY,
    };
    Ok(Some(crate::intake::listener::IntakeOptions {
        addr,
        tokens,
        max_body,
        country_code: country_code.to_string(),
    }))
}

pub fn run(cli: &super::Cli, a: &Args) -> Result<ExitCode> {
    let store = match &a.team {
        Some(dir) => dir.clone(),
        None => super::store_path(cli)?,
    };
    let mut settings = crate::config::settings(cli.rules.as_deref())?;
    if a.stop {
        let client = Client::connect(&store, false).map_err(|e| {
            if e.to_string().contains(" refused: ") {
                anyhow::anyhow!("{e}")
            } else {
                anyhow::anyhow!("no leadq server runs for {}", store.display())
            }
        })?;
        client.shutdown()?;
        say!("asked the leadq server of {} to stop", store.display())?;
        return Ok(ExitCode::SUCCESS);
    }
    let team = a.team.as_ref().map(|dir| Team::load(dir)).transpose()?;
    // Checked before going to the background, so a broken intake is told to whoever started it.
    let intake = intake_options(a, &settings.country_code)?;
    if !a.foreground {
        return start_background(cli, a, &store);
    }
    // An erase made while the last server ran becomes physical now: the store files are
    // written anew before anyone is served (the folder's access is set again below).
    if store.exists() && Store::rewrite_if_due(&store)? {
        eprintln!(
            "leadq: rewrote the store files at {}: erased leads are gone from them",
            store.display()
        );
    }
    if let Some(t) = &team {
        secure_team_folder(&store, t)?;
        settings.members = Some(t.members.keys().cloned().collect());
        // Leads go to members only: a rule naming anyone else is a mistake to fix first.
        for rule in &settings.routing.rules {
            for (rep, _) in rule.reps() {
                if !t.members.contains_key(&rep) {
                    bail!(
                        "routing.toml: rule {:?} names {rep:?}, who is not a member of the team \
                         (see {} in {})",
                        rule.name,
                        Team::FILE,
                        store.display()
                    );
                }
            }
        }
    }
    // Posters are not clients: a server that takes web leads stays up.
    let idle = match (a.idle_exit, &team) {
        _ if intake.is_some() => None,
        (Some(0), _) | (None, Some(_)) => None,
        (Some(s), _) => Some(Duration::from_secs(s)),
        (None, None) => Some(Duration::from_secs(300)),
    };
    let local = Local::new(Store::open(&store, DEFAULT_CACHE_BYTES)?, settings)
        .context("cannot prepare the store")?;
    serve(
        local,
        ServeOptions {
            store,
            team,
            idle_exit: idle,
            intake,
        },
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Starts `serve --foreground` detached and waits until it answers.
fn start_background(cli: &super::Cli, a: &Args, store: &std::path::Path) -> Result<ExitCode> {
    use std::os::unix::process::CommandExt;
    let socket = socket_path(store);
    if std::os::unix::net::UnixStream::connect(&socket).is_ok() {
        bail!(
            "a leadq server already runs for {} (socket {})",
            store.display(),
            socket.display()
        );
    }
    let mut cmd = std::process::Command::new(std::env::current_exe()?);
    cmd.arg("serve").arg("--foreground");
    match &a.team {
        Some(dir) => cmd.arg("--team").arg(dir),
        None => cmd.arg("--db").arg(store),
    };
    if let Some(rules) = &cli.rules {
        cmd.arg("--rules").arg(rules);
    }
    if let Some(s) = a.idle_exit {
        cmd.arg("--idle-exit").arg(s.to_string());
    }
    if let Some(h) = &a.http {
        cmd.arg("--http").arg(h);
    }
    if let Some(t) = &a.tokens {
        cmd.arg("--tokens").arg(t);
    }
    let mut child = cmd
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .process_group(0)
        .spawn()?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if std::os::unix::net::UnixStream::connect(&socket).is_ok() {
            say!("leadq server started for {}", store.display())?;
            say!("  socket {}", socket.display())?;
            say!("  log    {}", log_path(store).display())?;
            return Ok(ExitCode::SUCCESS);
        }
        if let Some(status) = child.try_wait()? {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut err);
            }
            bail!("the leadq server did not start ({status}): {}", err.trim());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    bail!(
        "the leadq server did not answer within 10 s; see {}",
        log_path(store).display()
    )
}

/// A team store's folder: the members' group may pass through to the socket (x), nobody else
/// may enter; the files inside stay the server's own.
fn secure_team_folder(dir: &std::path::Path, team: &Team) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    team.give_to_group(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o710))?;
    // The store's files are the server's alone: members reach the data only through the
    // socket, where their role is checked (the folder lets them pass through to it).
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let mode = entry.metadata()?.permissions().mode();
        if entry.file_name() != Team::FILE && mode & 0o077 != 0 {
            std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(mode & !0o077))
                .with_context(|| format!("cannot make {} private", entry.path().display()))?;
        }
    }
    Ok(())
}
