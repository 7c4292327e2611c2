//! `leadq backup` and `restore`: copies of the store, and the store put back from one.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use crate::remote::server::socket_path;
use crate::store::{DEFAULT_CACHE_BYTES, Store, StoreError};

#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// The backup file to write (a new file, unless --force)
    pub file: PathBuf,
    /// Replace FILE if it is an existing regular file (never a link, a folder or a device)
    #[arg(long)]
    pub force: bool,
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
    let entries = service.backup(&file.display().to_string(), a.force)?;
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
    let mut snapshot = None;
    if store.exists() {
        match Store::open(&store, DEFAULT_CACHE_BYTES) {
            Err(StoreError::InUse(p)) => {
                let _ = std::fs::remove_dir_all(&building);
                bail!(
                    "the store at {} is in use by another leadq process: close it first",
                    p.display()
                );
            }
            // A snapshot of the store as it was, with the automatic ones (a damaged store
            // cannot be copied: it is kept aside whole instead).
            Ok(current) => {
                let keep = crate::config::settings(cli.rules.as_deref())
                    .map_or(crate::service::SNAPSHOT_KEEP, |s| s.snapshot_keep);
                snapshot = current.snapshot("before-restore", keep).ok();
            }
            Err(_) => {}
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
    // The automatic snapshots stay with the store in use.
    if let Some(old) = &kept {
        let snaps = old.join(crate::store::SNAPSHOT_DIR);
        if snaps.is_dir() {
            let _ = std::fs::rename(&snaps, store.join(crate::store::SNAPSHOT_DIR));
        }
    }
    say!(
        "restored {entries} entries from {} into {}",
        a.file.display(),
        store.display()
    )?;
    if let Some(old) = kept {
        say!("the store as it was is kept at {}", old.display())?;
    }
    if let Some(s) = snapshot {
        let moved = store
            .join(crate::store::SNAPSHOT_DIR)
            .join(s.file_name().unwrap_or_default());
        say!("and snapshotted to {}", moved.display())?;
    }
    Ok(ExitCode::SUCCESS)
}
