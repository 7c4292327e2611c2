//! Backups: every tree of the store in one file, and a store rebuilt from such a file; the
//! automatic snapshots kept in the store's `backups/` folder.
//!
//! The file (`LEADQBK2`): records, each a tag byte and length-prefixed (big-endian) parts:
//! 1 name (the tree the next records are in), 2 key value (an entry), 3 key (no such entry),
//! then a 0 tag and an FNV-1a checksum of everything before it, so a truncated or damaged file
//! is refused before anything is written. `LEADQBK1` files (a tree with its count, then its
//! entries) of older leadq versions are read too.
//!
//! A backup does not hold writers back while it copies: it notes the keys they change
//! meanwhile, and once the copy is done, with writers held back for that moment only, writes
//! those keys again as they are then (or says they are gone). Read in order, the file is the
//! store as of that moment.
//!
//! A backup is only ever written as a new regular file: written beside its target under a
//! temporary name that no other file has, flushed, then linked into place (which fails if
//! something appeared there meanwhile). Replacing a file takes `--force` and a regular file;
//! a device, a folder, a symbolic link or a pipe is never written through.

use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use super::{Store, StoreError, Trees};

const MAGIC: &[u8; 8] = b"LEADQBK2";
const MAGIC_V1: &[u8; 8] = b"LEADQBK1";

/// The keys changed while a backup copies, by tree.
pub(super) type Dirty = std::collections::HashMap<&'static str, std::collections::HashSet<Vec<u8>>>;

const TAG_END: u8 = 0;
const TAG_TREE: u8 = 1;
const TAG_ENTRY: u8 = 2;
const TAG_GONE: u8 = 3;

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

/// Where a backup is being written, and its checksum so far.
type Sink = Hashing<BufWriter<std::fs::File>>;

impl Sink {
    fn tree(&mut self, name: &[u8]) -> std::io::Result<()> {
        self.put(&[TAG_TREE])?;
        self.put_blob(name)
    }

    fn entry(&mut self, k: &[u8], v: &[u8]) -> std::io::Result<()> {
        self.put(&[TAG_ENTRY])?;
        self.put_blob(k)?;
        self.put_blob(v)
    }

    fn gone(&mut self, k: &[u8]) -> std::io::Result<()> {
        self.put(&[TAG_GONE])?;
        self.put_blob(k)
    }

    /// The end mark and the checksum, flushed to disk.
    fn finish(mut self) -> std::io::Result<()> {
        self.put(&[TAG_END])?;
        let sum = self.hash;
        self.inner.write_all(&sum.to_be_bytes())?;
        self.inner.flush()?;
        self.inner.get_ref().sync_all()
    }
}

/// Every tree of `db` but sled's default one.
fn trees_of(db: &sled::Db) -> Result<Vec<(Vec<u8>, sled::Tree)>, StoreError> {
    let mut out = Vec::new();
    for name in db.tree_names() {
        if name.as_ref() == b"__sled__default" {
            continue;
        }
        out.push((name.to_vec(), db.open_tree(&name)?));
    }
    Ok(out)
}

/// Writes a backup to a temporary file beside `path` (`copy` writes the records), then puts
/// it at `path` as `target` allows; returns the number of entries.
fn write_file(
    path: &Path,
    target: BackupTarget,
    copy: impl FnOnce(&mut Sink) -> Result<u64, StoreError>,
) -> Result<u64, StoreError> {
    check_target(path, target)?;
    let (tmp, file) = create_temporary(path)?;
    let mut sink = Hashing {
        inner: BufWriter::new(file),
        hash: 0xcbf2_9ce4_8422_2325,
    };
    let written = sink
        .put(MAGIC)
        .map_err(|e| io_err(&tmp, e))
        .and_then(|()| copy(&mut sink))
        .and_then(|n| sink.finish().map(|()| n).map_err(|e| io_err(&tmp, e)));
    let placed = written.and_then(|entries| {
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

/// Copies every entry of `trees` to the sink.
fn copy_trees(
    w: &mut Sink,
    trees: &[(Vec<u8>, sled::Tree)],
    tmp: &Path,
) -> Result<u64, StoreError> {
    let mut entries = 0u64;
    for (name, tree) in trees {
        w.tree(name).map_err(|e| io_err(tmp, e))?;
        for item in tree.iter() {
            let (k, v) = item?;
            w.entry(&k, &v).map_err(|e| io_err(tmp, e))?;
            entries += 1;
        }
    }
    Ok(entries)
}

impl Trees {
    /// Writes an automatic snapshot into the store's `backups/` folder in one go: for a store
    /// being opened (before a migration), where nothing else writes.
    pub(super) fn snapshot(&self, store: &Path, label: &str) -> Result<PathBuf, StoreError> {
        let path = snapshot_path(store, label)?;
        let trees = trees_of(&self.db)?;
        write_file(&path, BackupTarget::New, |w| copy_trees(w, &trees, &path))?;
        Ok(path)
    }
}

/// A new file name in the store's `backups/` folder (created private if need be).
fn snapshot_path(store: &Path, label: &str) -> Result<PathBuf, StoreError> {
    use std::os::unix::fs::DirBuilderExt;
    let dir = store.join(SNAPSHOT_DIR);
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .map_err(|e| io_err(&dir, e))?;
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
    Ok((1..)
        .map(|n| match n {
            1 => dir.join(format!("{label}-{stamp}.{SNAPSHOT_EXT}")),
            n => dir.join(format!("{label}-{stamp}-{n}.{SNAPSHOT_EXT}")),
        })
        .find(|p| !p.exists())
        .expect("a free name"))
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
    /// Writes a copy of every tree to `path`, as of one moment, while writers go on (only the
    /// last step holds them back, briefly); returns the number of entries copied.
    pub fn backup_to(&self, path: &Path, target: BackupTarget) -> Result<u64, StoreError> {
        // One backup at a time: they share the notes of changed keys.
        let _one = self.backup_lock.lock();
        // Changes are noted from a moment no write is under way (the gate is held for it): a
        // write then either landed before the copy began or is noted.
        let trees = {
            let t = self.read()?;
            let trees = trees_of(&t.db)?;
            *self.dirty.lock() = Some(Dirty::default());
            trees
        };
        let result = write_file(path, target, |w| {
            let mut entries = copy_trees(w, &trees, path)?;
            // Trees written outside the noted paths (the small meta tree, the journal of a
            // bulk write) are copied again whole, with what left them since marked gone.
            let whole = |n: &[u8]| n == b"meta" || n == b"journal";
            let first_keys: Vec<(Vec<u8>, Vec<Vec<u8>>)> = trees
                .iter()
                .filter(|(n, _)| whole(n))
                .map(|(n, t)| {
                    (
                        n.clone(),
                        t.iter().keys().flatten().map(|k| k.to_vec()).collect(),
                    )
                })
                .collect();
            // The moment the copy stands for: no writer runs while the changed keys are
            // copied again.
            let t = self.read()?;
            let dirty = self.dirty.lock().take().unwrap_or_default();
            for (name, keys) in dirty {
                let tree = t.db.open_tree(name)?;
                w.tree(name.as_bytes()).map_err(|e| io_err(path, e))?;
                for k in keys {
                    match tree.get(&k)? {
                        Some(v) => w.entry(&k, &v),
                        None => w.gone(&k),
                    }
                    .map_err(|e| io_err(path, e))?;
                    entries += 1;
                }
            }
            for (name, keys) in first_keys {
                let tree = t.db.open_tree(&name)?;
                w.tree(&name).map_err(|e| io_err(path, e))?;
                for k in keys {
                    if !tree.contains_key(&k)? {
                        w.gone(&k).map_err(|e| io_err(path, e))?;
                    }
                }
                for item in tree.iter() {
                    let (k, v) = item?;
                    w.entry(&k, &v).map_err(|e| io_err(path, e))?;
                }
            }
            Ok(entries)
        });
        *self.dirty.lock() = None;
        result
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
        let path = snapshot_path(&self.path, label)?;
        self.backup_to(&path, BackupTarget::New)?;
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
        let records = parse(&bytes)?;
        if target.exists() {
            return Err(io_err(
                target,
                std::io::Error::new(std::io::ErrorKind::AlreadyExists, "already exists"),
            ));
        }
        // Each tree's records in order, as one batch: a later record of a key wins.
        let mut batches: Vec<(&[u8], sled::Batch)> = Vec::new();
        let mut entries = 0u64;
        for record in &records {
            match *record {
                Record::Tree(name) => match batches.iter().position(|(n, _)| *n == name) {
                    // Back to a tree seen before: move it last, to go on adding to it.
                    Some(i) => {
                        let b = batches.remove(i);
                        batches.push(b);
                    }
                    None => batches.push((name, sled::Batch::default())),
                },
                Record::Entry(k, v) => {
                    let (_, b) = batches.last_mut().expect("checked by parse");
                    b.insert(k, v);
                    entries += 1;
                }
                Record::Gone(k) => {
                    let (_, b) = batches.last_mut().expect("checked by parse");
                    b.remove(k);
                }
            }
        }
        let store = Store::open(target, super::DEFAULT_CACHE_BYTES)?;
        let during = |e: sled::Error| super::write::Failure::During(e.into());
        store.writing(bytes.len() as u64, |t, _| {
            for (name, batch) in batches {
                let tree = t.db.open_tree(name).map_err(during)?;
                tree.clear().map_err(during)?;
                tree.apply_batch(batch).map_err(during)?;
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

/// A record of a backup file.
enum Record<'a> {
    Tree(&'a [u8]),
    Entry(&'a [u8], &'a [u8]),
    Gone(&'a [u8]),
}

fn parse(bytes: &[u8]) -> Result<Vec<Record<'_>>, StoreError> {
    let v1 = bytes.get(..8) == Some(&MAGIC_V1[..]);
    if bytes.len() < MAGIC.len() + 9 || !(v1 || &bytes[..8] == MAGIC) {
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
    let mut records = Vec::new();
    loop {
        match (take(&mut at, 1)?[0], v1) {
            (TAG_END, _) => break,
            // Format 1: a tree, its count, then that many entries.
            (TAG_TREE, true) => {
                records.push(Record::Tree(blob(&mut at)?));
                let count = u64::from_be_bytes(take(&mut at, 8)?.try_into().expect("8 bytes"));
                for _ in 0..count {
                    let k = blob(&mut at)?;
                    records.push(Record::Entry(k, blob(&mut at)?));
                }
            }
            (TAG_TREE, false) => records.push(Record::Tree(blob(&mut at)?)),
            (TAG_ENTRY, false) => {
                let k = blob(&mut at)?;
                records.push(Record::Entry(k, blob(&mut at)?));
            }
            (TAG_GONE, false) => records.push(Record::Gone(blob(&mut at)?)),
            (t, _) => return Err(bad(format!("unknown record tag {t}"))),
        }
    }
    if records.iter().any(|r| !matches!(r, Record::Tree(_)))
        && !matches!(records.first(), Some(Record::Tree(_)))
    {
        return Err(bad("an entry comes before any tree"));
    }
    Ok(records)
}

impl Store {
    /// Writes the store at `path` anew, from a consistent copy of what it holds now, so that
    /// nothing it no longer holds (an erased lead's old versions in sled's log) stays in its
    /// files. Needs the store to itself (no server). The copy is built beside it and then put
    /// in its place; the files that are not sled's (the automatic snapshots, a team's file)
    /// move with it. Returns the entries copied.
    pub fn rewrite(path: &Path) -> Result<u64, StoreError> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "store".into());
        let copy = path.with_file_name(format!(".{name}.rewrite.lqb"));
        let fresh = path.with_file_name(format!(".{name}.rewriting"));
        let old = path.with_file_name(format!(".{name}.before-rewrite"));
        for leftover in [&fresh, &old] {
            if leftover.exists() {
                std::fs::remove_dir_all(leftover).map_err(|e| io_err(leftover, e))?;
            }
        }
        let _ = std::fs::remove_file(&copy);
        {
            let store = Store::open(path, super::DEFAULT_CACHE_BYTES)?;
            store.backup_to(&copy, BackupTarget::Replace)?;
        }
        let entries = Store::restore_new(&copy, &fresh);
        let _ = std::fs::remove_file(&copy);
        let entries = entries?;
        {
            let store = Store::open(&fresh, super::DEFAULT_CACHE_BYTES)?;
            store.writing(0, |t, _| {
                t.meta
                    .remove(super::META_REWRITE_DUE)
                    .map_err(|e| super::write::Failure::During(e.into()))?;
                t.flush().map_err(super::write::Failure::During)
            })?;
        }
        // What is not sled's moves along: snapshots, a team's file; the seal is the copy's.
        let sleds = ["conf", "db", "blobs", super::health::SEAL_FILE_NAME];
        for entry in std::fs::read_dir(path).map_err(|e| io_err(path, e))? {
            let entry = entry.map_err(|e| io_err(path, e))?;
            let file = entry.file_name();
            let file = file.to_string_lossy();
            if sleds.contains(&file.as_ref()) || file.starts_with("snap.") {
                continue;
            }
            let to = fresh.join(&*file);
            std::fs::rename(entry.path(), &to).map_err(|e| io_err(&to, e))?;
        }
        copy_access(path, &fresh);
        std::fs::rename(path, &old).map_err(|e| io_err(path, e))?;
        std::fs::rename(&fresh, path).map_err(|e| io_err(path, e))?;
        std::fs::remove_dir_all(&old).map_err(|e| io_err(&old, e))?;
        Ok(entries)
    }
}

/// Gives the folder `to` the mode and group of `from` (a team's store is its group's).
fn copy_access(from: &Path, to: &Path) {
    use std::os::unix::fs::MetadataExt;
    if let Ok(m) = std::fs::metadata(from) {
        let _ = std::fs::set_permissions(to, m.permissions());
        let _ = nix::unistd::chown(to, None, Some(nix::unistd::Gid::from_raw(m.gid())));
    }
}

impl Store {
    /// Rewrites the store at `path` if an erase asked for it (`rewrite`); says whether it did.
    pub fn rewrite_if_due(path: &Path) -> Result<bool, StoreError> {
        let due = Store::open(path, super::DEFAULT_CACHE_BYTES)?.rewrite_due()?;
        if due {
            Store::rewrite(path)?;
        }
        Ok(due)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A backup an older leadq wrote (format 1: a tree, its count, its entries) still reads.
    #[test]
    fn a_format_1_backup_still_reads() {
        let mut body = MAGIC_V1.to_vec();
        body.push(TAG_TREE);
        body.extend_from_slice(&4u32.to_be_bytes());
        body.extend_from_slice(b"meta");
        body.extend_from_slice(&1u64.to_be_bytes());
        for part in [&b"schema"[..], &2u32.to_be_bytes()[..]] {
            body.extend_from_slice(&(part.len() as u32).to_be_bytes());
            body.extend_from_slice(part);
        }
        body.push(TAG_END);
        let sum = fnv(0xcbf2_9ce4_8422_2325, &body);
        body.extend_from_slice(&sum.to_be_bytes());
        let records = parse(&body).expect("a format-1 file parses");
        assert!(matches!(records[0], Record::Tree(b"meta")));
        assert!(matches!(records[1], Record::Entry(b"schema", v) if v == 2u32.to_be_bytes()));
        assert_eq!(records.len(), 2);
    }
}
