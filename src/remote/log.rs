//! The server's log: one line per event, in `~/.local/state/leadq/server.log` (the XDG state
//! folder), or beside the store when there is no home.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context, Result};

pub struct Log {
    path: PathBuf,
    file: Mutex<std::fs::File>,
}

/// Where the server of `store` logs.
pub fn log_path(store: &Path) -> PathBuf {
    directories::ProjectDirs::from("", "", "leadq")
        .and_then(|d| d.state_dir().map(|s| s.join("server.log")))
        .unwrap_or_else(|| store.join("server.log"))
}

impl Log {
    pub fn open(store: &Path) -> Result<Log> {
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
        let path = log_path(store);
        if let Some(dir) = path.parent() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("cannot open the log {}", path.display()))?;
        Ok(Log {
            path,
            file: Mutex::new(file),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one line. What a client sent (its version, a path) may be in `text`: control
    /// characters are neutralised and the line is cut at 1,000 characters, so no client can
    /// forge a line of the log or flood it.
    pub fn line(&self, text: &str) {
        let text: String = crate::domain::sanitize::for_display(text)
            .chars()
            .take(1_000)
            .collect();
        let stamp = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let mut f = self.file.lock().unwrap_or_else(|p| p.into_inner());
        let _ = writeln!(f, "{stamp} [{}] {text}", std::process::id());
    }
}
