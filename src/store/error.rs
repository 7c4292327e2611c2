use std::path::PathBuf;

/// How to say where a snapshot is, or that there is none.
fn recovery(snapshot: &Option<PathBuf>) -> String {
    match snapshot {
        Some(p) => format!(
            "restore the newest automatic snapshot with `leadq restore {}` (the damaged store \
             is kept aside), or a backup of your own",
            p.display()
        ),
        None => "there is no automatic snapshot of it: restore a backup of your own with \
                 `leadq restore FILE` (the damaged store is kept aside)"
            .into(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the store at {0} is in use by another leadq process")]
    InUse(PathBuf),
    #[error(
        "the store at {path} was written by a newer leadq (schema {found}; this leadq knows up \
         to {known}): upgrade leadq to open it"
    )]
    NewerSchema {
        path: PathBuf,
        found: u32,
        known: u32,
    },
    #[error(
        "a stored {what} has format version {version}, newer than this leadq's {known}: upgrade leadq"
    )]
    NewerRecord {
        what: &'static str,
        version: u8,
        known: u8,
    },
    #[error("a stored {what} cannot be read ({reason}): restore from a backup")]
    Corrupt { what: &'static str, reason: String },
    /// The store is not what leadq wrote: leadq neither reads nor writes it.
    #[error(
        "the store at {path} is damaged: {what}. leadq will not read or write it; {}",
        recovery(snapshot)
    )]
    Damaged {
        path: PathBuf,
        what: String,
        snapshot: Option<PathBuf>,
    },
    /// A write failed part-way: nothing of it is kept, and nothing is served until the store
    /// is reopened from disk.
    #[error(
        "nothing was saved: the disk holding {} has {} free, and this write needs about {} with \
         the room leadq keeps free (min_free_mb in config.toml): free some space and try again",
        path.display(),
        mb(*free),
        mb(*need)
    )]
    DiskFull { path: PathBuf, free: u64, need: u64 },
    /// A write failed part-way: the store was reopened from disk (where it says whether the
    /// write got there), or stays closed until it can be.
    #[error("{}{reason}", saved_word(*saved))]
    WriteFailed {
        path: PathBuf,
        reason: String,
        /// Whether the write is in the reopened store (None: not reopened yet).
        saved: Option<bool>,
    },
    #[error("the store at {path} is closed after a failed write: {reason}")]
    Unavailable { path: PathBuf, reason: String },
    // `error`, not `source`: the message carries it once (as a source it was printed twice).
    #[error("cannot open the store at {path}: {error}")]
    Open {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("not a usable leadq backup: {0}")]
    BadBackup(String),
    #[error("no backup written: {0}")]
    BackupRefused(String),
    #[error("cannot use the file {path}: {error}")]
    File {
        path: PathBuf,
        error: std::io::Error,
    },
    // Not `#[from]`: as a source, sled's message was printed twice.
    #[error("store error: {}", sled_message(.0))]
    Sled(sled::Error),
}

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> StoreError {
        StoreError::Sled(e)
    }
}

fn saved_word(saved: Option<bool>) -> &'static str {
    match saved {
        Some(false) => "nothing was saved: ",
        Some(true) => {
            "it was saved after all, though the write reported a failure (do not \
                       repeat it): "
        }
        None => "it may not have been saved (check once the store is back): ",
    }
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
}

/// sled's message without the empty backtrace it appends.
fn sled_message(e: &sled::Error) -> String {
    let s = e.to_string();
    s.split(" backtrace")
        .next()
        .unwrap_or(&s)
        .trim()
        .to_string()
}

impl From<std::io::Error> for StoreError {
    fn from(error: std::io::Error) -> StoreError {
        StoreError::Sled(sled::Error::Io(error))
    }
}
