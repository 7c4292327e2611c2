use std::path::PathBuf;

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
    // `error`, not `source`: the message carries it once (as a source it was printed twice).
    #[error("cannot open the store at {path}: {error}")]
    Open {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("not a usable leadq backup: {0}")]
    BadBackup(String),
    #[error("cannot use the file {path}: {error}")]
    File {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("store error: {0}")]
    Sled(#[from] sled::Error),
}
