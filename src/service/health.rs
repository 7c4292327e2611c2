//! The store's health as the service knows it: its counts, whether a full check found it as
//! leadq wrote it, its newest automatic snapshot, the free space on its disk. The server checks
//! the store once it has started (in the background, so clients are served meanwhile) and
//! closes it if it is damaged; `doctor` asks for all of it.

use std::path::Path;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::local::{Core, Local};
use super::types::ServiceError;

/// What a full check of the store found, so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verification {
    NotRun,
    Running,
    Passed,
    /// The problems found: the store is closed.
    Failed(Vec<String>),
    /// Only derived data (kept counts, the index of coming changes) had drifted from the
    /// leads, and was rebuilt from them: what was wrong.
    Rebuilt(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub path: String,
    /// How long ago it was written.
    pub age_secs: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Health {
    pub store: String,
    pub schema: Option<u32>,
    /// Commits so far, leads, interactions (None: the store cannot be read).
    pub counts: Option<(u64, u64, u64)>,
    /// Why the store cannot be read or written now (damaged, closed after a failed write).
    pub problem: Option<String>,
    pub verification: Verification,
    pub snapshot: Option<Snapshot>,
    /// How many snapshots are kept, and how often one is taken (None: never).
    pub snapshot_keep: usize,
    pub snapshot_every_secs: Option<u64>,
    pub free_bytes: Option<u64>,
    /// An erase is not physical yet: the store files still hold old versions of it.
    #[serde(default)]
    pub rewrite_due: bool,
}

/// How often the server snapshots the store by default, and how many it keeps.
pub const SNAPSHOT_EVERY: Duration = Duration::from_secs(6 * 3600);
pub const SNAPSHOT_KEEP: usize = 8;

/// The newest automatic snapshot of the store at `path`, and its age.
pub fn newest_snapshot(path: &Path) -> Option<Snapshot> {
    let p = crate::store::newest_snapshot(path)?;
    let age = std::fs::metadata(&p)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .unwrap_or_default();
    Some(Snapshot {
        path: p.display().to_string(),
        age_secs: age.as_secs(),
    })
}

impl Core {
    fn set_verification(&self, v: Verification) {
        *self.verification.lock().unwrap_or_else(|p| p.into_inner()) = v;
    }

    /// Recounts the whole store and checks its indexes; closes it if it is not what leadq
    /// wrote. Returns what it found.
    pub fn verify_now(&self) -> Verification {
        self.set_verification(Verification::Running);
        let found = match self.store.verify() {
            Ok(problems) if problems.is_empty() => Verification::Passed,
            // Derived data that drifted from the leads is rebuilt from them; the leads are
            // whole, so the store stays open.
            Ok(problems) if problems.iter().all(|p| p.rebuildable()) => {
                match self.store.recount() {
                    Ok(_) => {
                        Verification::Rebuilt(problems.iter().map(|p| p.to_string()).collect())
                    }
                    Err(e) => Verification::Failed(vec![e.to_string()]),
                }
            }
            Ok(problems) => {
                let list: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
                let shown = list.iter().take(3).cloned().collect::<Vec<_>>().join("; ");
                let more = list.len().saturating_sub(3);
                self.store.mark_damaged(if more > 0 {
                    format!("{shown}; and {more} more problems")
                } else {
                    shown
                });
                Verification::Failed(list)
            }
            // A store that cannot be read is closed already (damaged, or a failed write).
            Err(e) => Verification::Failed(vec![e.to_string()]),
        };
        self.set_verification(found.clone());
        found
    }

    /// Takes an automatic snapshot now, keeping the newest `snapshot_keep`.
    pub fn snapshot(&self, label: &str) -> Result<std::path::PathBuf, ServiceError> {
        Ok(self.store.snapshot(label, self.settings.snapshot_keep)?)
    }

    /// Whether an automatic snapshot is due: snapshots are on, and the newest is older than
    /// their interval (or there is none).
    pub fn snapshot_due(&self) -> bool {
        let Some(every) = self.settings.snapshot_every else {
            return false;
        };
        newest_snapshot(self.store.path()).is_none_or(|s| s.age_secs >= every.as_secs())
    }
}

impl Local {
    pub fn health_now(&self) -> Health {
        let store = self.store();
        let counts = store
            .counts()
            .map(|c| (c.generation, c.leads, c.interactions));
        Health {
            store: store.path().display().to_string(),
            schema: store.schema_version().ok(),
            problem: counts.as_ref().err().map(|e| e.to_string()),
            counts: counts.ok(),
            verification: self
                .verification
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
            snapshot: newest_snapshot(store.path()),
            snapshot_keep: self.settings().snapshot_keep,
            snapshot_every_secs: self.settings().snapshot_every.map(|d| d.as_secs()),
            free_bytes: crate::store::free_space(store.path()),
            rewrite_due: store.rewrite_due().unwrap_or(false),
        }
    }
}
