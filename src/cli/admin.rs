//! `leadq backup`, `restore` and `doctor`: the store's care, in plain words.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use crate::remote::client::Client;
use crate::remote::log::log_path;
use crate::remote::server::socket_path;
use crate::remote::team::Team;
use crate::service::LeadService;
use crate::store::{DEFAULT_CACHE_BYTES, Store, StoreError};

#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// The backup file to write
    pub file: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// A file written by `leadq backup`
    pub file: PathBuf,
}

fn absolute(p: &Path) -> Result<PathBuf> {
    Ok(if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()?.join(p)
    })
}

pub fn backup(cli: &super::Cli, a: &BackupArgs) -> Result<ExitCode> {
    let service = super::open_service(cli, false)?;
    let file = absolute(&a.file)?;
    let entries = service.backup(&file.display().to_string())?;
    say!(
        "backed up {} ({entries} entries) to {}",
        service.location(),
        file.display()
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Restores into the store's place with no server running: the new store is built beside the
/// old one, which is kept (renamed) rather than overwritten.
pub fn restore(cli: &super::Cli, a: &RestoreArgs) -> Result<ExitCode> {
    let store = super::store_path(cli)?;
    if std::os::unix::net::UnixStream::connect(socket_path(&store)).is_ok() {
        bail!(
            "a leadq server is using {}: close the leadq screens using it and run `leadq serve --stop`, then restore",
            store.display()
        );
    }
    let building = store.with_extension("restoring");
    if building.exists() {
        std::fs::remove_dir_all(&building)?;
    }
    let entries = Store::restore_new(&a.file, &building)
        .with_context(|| format!("cannot restore {}", a.file.display()))?;
    let mut kept = None;
    if store.exists() {
        if let Err(StoreError::InUse(p)) = Store::open(&store, DEFAULT_CACHE_BYTES) {
            let _ = std::fs::remove_dir_all(&building);
            bail!(
                "the store at {} is in use by another leadq process: close it first",
                p.display()
            );
        }
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
        // A second restore within the same second must not collide with the first one's.
        let old = (1..)
            .map(|n| match n {
                1 => store.with_extension(format!("before-restore-{stamp}")),
                n => store.with_extension(format!("before-restore-{stamp}-{n}")),
            })
            .find(|p| !p.exists())
            .expect("a free name");
        std::fs::rename(&store, &old)?;
        kept = Some(old);
    }
    std::fs::rename(&building, &store)?;
    say!(
        "restored {entries} entries from {} into {}",
        a.file.display(),
        store.display()
    )?;
    if let Some(old) = kept {
        say!("the store as it was is kept at {}", old.display())?;
    }
    Ok(ExitCode::SUCCESS)
}

fn mode_of(p: &Path) -> Option<String> {
    let m = std::fs::metadata(p).ok()?;
    let owner = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(m.uid()))
        .ok()
        .flatten()
        .map_or(m.uid().to_string(), |u| u.name);
    let group = nix::unistd::Group::from_gid(nix::unistd::Gid::from_raw(m.gid()))
        .ok()
        .flatten()
        .map_or(m.gid().to_string(), |g| g.name);
    Some(format!(
        "{:o} {owner}:{group}",
        m.permissions().mode() & 0o7777
    ))
}

/// Reports the store, the server, the socket and the permissions in plain words; exits 1 if
/// something needs fixing.
pub fn doctor(cli: &super::Cli) -> Result<ExitCode> {
    let store = super::store_path(cli)?;
    let mut problems = 0;
    let mut say = |ok: bool, text: String| {
        // A closed pipe ends the report; the checks themselves go on to the exit code.
        let _ = say!("{} {text}", if ok { "ok  " } else { "FIX " });
        if !ok {
            problems += 1;
        }
    };
    let socket = socket_path(&store);
    let team = Team::load(&store).ok();
    if !store.exists() {
        say(
            true,
            format!(
                "no store yet at {} (leadq creates it on first use)",
                store.display()
            ),
        );
    } else {
        let mode = std::fs::metadata(&store)?.permissions().mode() & 0o777;
        let private = mode & 0o077 == 0;
        let team_ok = team.is_some() && mode & 0o007 == 0;
        say(
            private || team_ok,
            format!(
                "store folder {} ({}){}",
                store.display(),
                mode_of(&store).unwrap_or_default(),
                if private || team_ok {
                    ""
                } else {
                    ": other users can read it; run chmod 700 on it"
                }
            ),
        );
    }
    let settings = crate::config::settings(cli.rules.as_deref());
    match &settings {
        Ok(_) => say(true, "configuration and scoring rules load".into()),
        Err(e) => say(false, format!("configuration: {e:#}")),
    }
    // The log of the server that runs, if one does; else where one started from here logs.
    let mut server_log = None;
    match Client::connect(&store, false) {
        Ok(client) => {
            server_log = client.server_log();
            let who = client.identity();
            say(
                true,
                format!(
                    "a leadq server runs for this store; you are {} ({})",
                    who.user,
                    who.role.name()
                ),
            );
            say(
                true,
                format!(
                    "socket {} ({})",
                    socket.display(),
                    mode_of(&socket).unwrap_or_default()
                ),
            );
            match client.stats() {
                Ok(st) => say(
                    true,
                    format!("{} leads, {} interactions", st.leads, st.interactions),
                ),
                Err(e) => say(false, format!("the server cannot read the store: {e}")),
            }
        }
        Err(e) if socket.exists() && e.to_string().contains("refused") => say(false, e.to_string()),
        Err(_) => {
            if socket.exists() {
                say(
                    true,
                    format!(
                        "stale socket {} (no server answers; the next one replaces it)",
                        socket.display()
                    ),
                );
            } else {
                say(
                    true,
                    "no leadq server runs for this store (one starts with the TUI)".into(),
                );
            }
            if store.exists() {
                match Store::open(&store, DEFAULT_CACHE_BYTES) {
                    Ok(s) => {
                        let version = s.schema_version().unwrap_or(0);
                        say(
                            true,
                            format!(
                                "store schema {version}, {} leads, {} interactions, {} KiB on disk",
                                s.lead_count(),
                                s.interaction_count(),
                                s.size_on_disk().unwrap_or(0) / 1024
                            ),
                        );
                    }
                    Err(e) => say(false, format!("{e}")),
                }
            }
        }
    }
    if let Some(t) = &team {
        let group_ok = nix::unistd::Group::from_name(&t.group)
            .ok()
            .flatten()
            .is_some();
        say(
            group_ok,
            format!(
                "team file: group {}, {} members{}",
                t.group,
                t.members.len(),
                if group_ok {
                    ""
                } else {
                    " (no such group on this machine)"
                }
            ),
        );
    }
    match server_log {
        Some(path) => say(true, format!("server log {path}")),
        None => say(
            true,
            format!(
                "server log {} (where a server started by you logs)",
                log_path(&store).display()
            ),
        ),
    }
    if problems == 0 {
        say!("all is well")?;
        Ok(ExitCode::SUCCESS)
    } else {
        say!("{problems} thing(s) to fix")?;
        Ok(ExitCode::from(1))
    }
}
