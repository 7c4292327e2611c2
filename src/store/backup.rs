//! Backups: every tree of the store in one file, and a store rebuilt from such a file; the
//! automatic snapshots kept in the store's `backups/` folder.
//!
//! The file: `LEADQBK1`, then per tree a 1 tag byte, the name and its entries (each length-
//! prefixed, big-endian), a 0 tag byte at the end, and an FNV-1a checksum of everything before
//! it, so a truncated or damaged file is refused before anything is written.
//!
//! A backup is only ever written as a new regular file: written beside its target under a
//! temporary name that no other file has, flushed, then linked into place (which fails if
//! something appeared there meanwhile). Replacing a file takes `--force` and a regular file;
//! a device, a folder, a symbolic link or a pipe is never written through.

use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use super::{Store, StoreError, Trees};

const MAGIC: &[u8; 8] = b"LEADQBK1";

/// The folder in a store that holds its automatic snapshots.
pub const SNAPSHOT_DIR: &str = "backups";
/// Automatic snapshots are named `auto-<time>.lqb` (or `<label>-<time>.lqb`).
const SNAPSHOT_EXT: &str = "lqb";

/// Whether a backup may replace an existing regular file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackupTarget {
    /// Only a new file (the default: an older backup is never overwritten unasked).
    New,
    /// A new file, or an existing regular file (`--force`).
    Replace,
}

fn fnv(h: u64, bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(h, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3))
}

struct Hashing<W: Write> {
    inner: W,
    hash: u64,
}

impl<W: Write> Hashing<W> {
    fn put(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.hash = fnv(self.hash, bytes);
        self.inner.write_all(bytes)
    }

    fn put_blob(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.put(&(bytes.len() as u32).to_be_bytes())?;
        self.put(bytes)
    }
}

fn io_err(path: &Path, e: std::io::Error) -> StoreError {
    StoreError::File {
        path: path.to_path_buf(),
        error: e,
    }
}

fn bad(reason: impl Into<String>) -> StoreError {
    StoreError::BadBackup(reason.into())
}

/// What sits at `path`, if it is not a regular file: a backup never writes through it.
fn not_a_file(meta: &std::fs::Metadata) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_file() {
        None
    } else if t.is_symlink() {
        Some("a symbolic link")
    } else if t.is_dir() {
        Some("a folder")
    } else if t.is_block_device() || t.is_char_device() {
        Some("a device")
    } else if t.is_fifo() {
        Some("a pipe")
    } else if t.is_socket() {
        Some("a socket")
    } else {
        Some("not a regular file")
    }
}

/// Refuses a target a backup must not write to.
fn check_target(path: &Path, target: BackupTarget) -> Result<(), StoreError> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err(path, e)),
        Ok(meta) => match (not_a_file(&meta), target) {
            (Some(kind), _) => Err(StoreError::BackupRefused(format!(
                "{} is {kind}: a backup is written to a new regular file only",
                path.display()
            ))),
            (None, BackupTarget::New) => Err(StoreError::BackupRefused(format!(
                "{} already exists: pass --force to replace it, or name a new file",
                path.display()
            ))),
            (None, BackupTarget::Replace) => Ok(()),
        },
    }
}

/// A temporary file beside `path` that did not exist before (never an existing file, never
/// through a link), readable by its owner only.
fn create_temporary(path: &Path) -> Result<(PathBuf, std::fs::File), StoreError> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map_or("backup".into(), |n| n.to_string_lossy().into_owned());
    for n in 0..1000 {
        let tmp = dir.join(format!(".{name}.partial-{}-{n}", std::process::id()));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(nix::libc::O_NOFOLLOW)
            .mode(0o600)
            .open(&tmp)
        {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io_err(&tmp, e)),
        }
    }
    Err(bad("no free temporary name beside the backup"))
}

impl Trees {
    /// Writes every tree to a new file at `path`. The caller holds the gate (no writer runs),
    /// so the copy is one consistent moment.
    pub(super) fn backup_to(&self, path: &Path, target: BackupTarget) -> Result<u64, StoreError> {
        check_target(path, target)?;
        let (tmp, file) = create_temporary(path)?;
        let result = self.write_backup(&tmp, file);
        let placed =
            result.and_then(|entries| {
                match target {
                // A link fails if anything appeared at `path` since the check.
                BackupTarget::New => std::fs::hard_link(&tmp, path).map_err(|e| match e.kind() {
                    std::io::ErrorKind::AlreadyExists => StoreError::BackupRefused(format!(
                        "{} already exists: pass --force to replace it, or name a new file",
                        path.display()
                    )),
                    _ => io_err(path, e),
                })?,
                BackupTarget::Replace => {
                    check_target(path, target)?;
                    // rename replaces the entry itself: it never writes through a link.
                    std::fs::rename(&tmp, path).map_err(|e| io_err(path, e))?;
                }
            }
                Ok(entries)
            });
        let _ = std::fs::remove_file(&tmp);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
        }
        placed
    }

    fn write_backup(&self, tmp: &Path, file: std::fs::File) -> Result<u64, StoreError> {
        let mut w = Hashing {
            inner: BufWriter::new(file),
            hash: 0xcbf2_9ce4_8422_2325,
        };
        let mut entries = 0u64;
        let e = |err| io_err(tmp, err);
        w.put(MAGIC).map_err(e)?;
        for name in self.db.tree_names() {
            if name.as_ref() == b"__sled__default" {
                continue;
            }
            let tree = self.db.open_tree(&name)?;
            w.put(&[1]).map_err(e)?;
            w.put_blob(&name).map_err(e)?;
            w.put(&(tree.len() as u64).to_be_bytes()).map_err(e)?;
            let mut n = 0usize;
            for item in tree.iter() {
                let (k, v) = item?;
                w.put_blob(&k).map_err(e)?;
                w.put_blob(&v).map_err(e)?;
                n += 1;
            }
            if n != tree.len() {
                return Err(bad("a tree changed while it was copied"));
            }
            entries += n as u64;
        }
        w.put(&[0]).map_err(e)?;
        let sum = w.hash;
        w.inner.write_all(&sum.to_be_bytes()).map_err(e)?;
        w.inner.flush().map_err(e)?;
        w.inner.get_ref().sync_all().map_err(e)?;
        Ok(entries)
    }

    /// Writes an automatic snapshot into the store's `backups/` folder; returns its path.
    pub(super) fn snapshot(&self, store: &Path, label: &str) -> Result<PathBuf, StoreError> {
        use std::os::unix::fs::DirBuilderExt;
        let dir = store.join(SNAPSHOT_DIR);
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| io_err(&dir, e))?;
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
        let path = (1..)
            .map(|n| match n {
                1 => dir.join(format!("{label}-{stamp}.{SNAPSHOT_EXT}")),
                n => dir.join(format!("{label}-{stamp}-{n}.{SNAPSHOT_EXT}")),
            })
            .find(|p| !p.exists())
            .expect("a free name");
        self.backup_to(&path, BackupTarget::New)?;
        Ok(path)
    }
}

/// The automatic snapshots of a store, oldest first (by the time in their names).
pub fn snapshots(store: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(store.join(SNAPSHOT_DIR)) else {
        return Vec::new();
    };
    let mut found: Vec<(String, PathBuf)> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let stem = name.strip_suffix(&format!(".{SNAPSHOT_EXT}"))?;
            // Sort by the time (after the label's last dash-free part: YYYYMMDDTHHMMSS...).
            let stamp = stem
                .rsplit('-')
                .find(|p| p.len() >= 15 && p.contains('T'))?;
            Some((stamp.to_string(), e.path()))
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, p)| p).collect()
}

/// The newest automatic snapshot of a store, if any.
pub fn newest_snapshot(store: &Path) -> Option<PathBuf> {
    snapshots(store).pop()
}

impl Store {
    /// Writes a consistent copy of every tree to `path` while writers wait; returns the
    /// number of entries copied.
    pub fn backup_to(&self, path: &Path, target: BackupTarget) -> Result<u64, StoreError> {
        self.read()?.backup_to(path, target)
    }

    /// Takes an automatic snapshot (`label`: why, such as "auto" or "before-restore") and
    /// keeps only the newest `keep` snapshots; returns its path.
    pub fn snapshot(&self, label: &str, keep: usize) -> Result<PathBuf, StoreError> {
        // Temporary files of snapshots a process did not live to finish.
        let dir = self.path.join(SNAPSHOT_DIR);
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let pid = name
                .rsplit_once(".partial-")
                .and_then(|(_, p)| p.split('-').next());
            if pid.is_some_and(|p| !Path::new("/proc").join(p).exists()) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        let path = self.read()?.snapshot(&self.path, label)?;
        let all = snapshots(&self.path);
        for old in all.iter().take(all.len().saturating_sub(keep.max(1))) {
            let _ = std::fs::remove_file(old);
        }
        Ok(path)
    }

    /// Builds a new store at `target` (which must not exist) from a backup file. Nothing is
    /// written unless the whole file reads back with a good checksum.
    pub fn restore_new(backup: &Path, target: &Path) -> Result<u64, StoreError> {
        let mut bytes = Vec::new();
        std::fs::File::open(backup)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map_err(|e| io_err(backup, e))?;
        let trees = parse(&bytes)?;
        if target.exists() {
            return Err(io_err(
                target,
                std::io::Error::new(std::io::ErrorKind::AlreadyExists, "already exists"),
            ));
        }
        let store = Store::open(target, super::DEFAULT_CACHE_BYTES)?;
        let mut entries = 0u64;
        store.writing(bytes.len() as u64, |t, _| {
            for (name, items) in &trees {
                let tree =
                    t.db.open_tree(name)
                        .map_err(|e| super::write::Failure::During(e.into()))?;
                tree.clear()
                    .map_err(|e| super::write::Failure::During(e.into()))?;
                let mut batch = sled::Batch::default();
                for (k, v) in items {
                    batch.insert(*k, *v);
                    entries += 1;
                }
                tree.apply_batch(batch)
                    .map_err(|e| super::write::Failure::During(e.into()))?;
            }
            t.flush().map_err(super::write::Failure::During)
        })?;
        drop(store);
        // The restored store's own meta says what it holds; the seal of the empty store built
        // to receive it would call that a damage.
        let _ = std::fs::remove_file(super::health::seal_path(target));
        Ok(entries)
    }
}

type Parsed<'a> = Vec<(&'a [u8], Vec<(&'a [u8], &'a [u8])>)>;

fn parse(bytes: &[u8]) -> Result<Parsed<'_>, StoreError> {
    if bytes.len() < MAGIC.len() + 9 || &bytes[..8] != MAGIC {
        return Err(bad("it is not a leadq backup"));
    }
    let (body, sum) = bytes.split_at(bytes.len() - 8);
    let want = u64::from_be_bytes(sum.try_into().expect("8 bytes"));
    if fnv(0xcbf2_9ce4_8422_2325, body) != want {
        return Err(bad(
            "its checksum does not match: the file is damaged or cut short",
        ));
    }
    let mut at = 8;
    let take = |at: &mut usize, n: usize| -> Result<&[u8], StoreError> {
        let s = body
            .get(*at..at.saturating_add(n))
            .ok_or_else(|| bad("it ends early"))?;
        *at += n;
        Ok(s)
    };
    let blob = |at: &mut usize| -> Result<&[u8], StoreError> {
        let n = u32::from_be_bytes(take(at, 4)?.try_into().expect("4 bytes")) as usize;
        take(at, n)
    };
    let mut trees = Vec::new();
    loop {
        match take(&mut at, 1)?[0] {
            0 => break,
            1 => {
                let name = blob(&mut at)?;
                let count = u64::from_be_bytes(take(&mut at, 8)?.try_into().expect("8 bytes"));
                let mut items = Vec::new();
                for _ in 0..count {
                    let k = blob(&mut at)?;
                    let v = blob(&mut at)?;
                    items.push((k, v));
                }
                trees.push((name, items));
            }
            t => return Err(bad(format!("unknown section tag {t}"))),
        }
    }
    Ok(trees)
}
