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
    /// written unless the whole file reads back with a good checksum; should the build fail
    /// part-way, `target` is taken away again. The file is read twice, a piece at a time (to
    /// check it, then to copy it), and written in small batches: memory stays small whatever
    /// the backup's size.
    pub fn restore_new(backup: &Path, target: &Path) -> Result<u64, StoreError> {
        if target.exists() {
            return Err(io_err(
                target,
                std::io::Error::new(std::io::ErrorKind::AlreadyExists, "already exists"),
            ));
        }
        let (body, v1) = check_file(backup)?;
        let built = Store::build_from(backup, body, v1, target);
        if built.is_err() {
            let _ = std::fs::remove_dir_all(target);
        }
        built
    }

    /// Writes the records of a checked backup file into a new store at `target`.
    fn build_from(backup: &Path, body: u64, v1: bool, target: &Path) -> Result<u64, StoreError> {
        let file = std::fs::File::open(backup).map_err(|e| io_err(backup, e))?;
        let mut records = Records {
            from: std::io::BufReader::new(file),
            path: backup,
            left: body,
            v1,
            entries_left: 0,
        };
        records.skip(MAGIC.len() as u64)?;
        let store = Store::open(target, super::DEFAULT_CACHE_BYTES)?;
        let during = |e: sled::Error| super::write::Failure::During(e.into());
        let entries = store.writing(body, |t, _| {
            let mut entries = 0u64;
            let mut seen: Vec<Vec<u8>> = Vec::new();
            let mut tree: Option<sled::Tree> = None;
            let mut batch = sled::Batch::default();
            let mut in_batch = 0usize;
            let flush = |tree: &Option<sled::Tree>, batch: &mut sled::Batch| match tree {
                Some(t) => t.apply_batch(std::mem::take(batch)),
                None => Ok(()),
            };
            while let Some(record) = records.next()? {
                match record {
                    Record::Tree(name) => {
                        flush(&tree, &mut batch).map_err(during)?;
                        in_batch = 0;
                        let t = t.db.open_tree(&name).map_err(during)?;
                        // A tree's first records replace what the new store made of it (its
                        // meta); going back to a tree seen before adds to it.
                        if !seen.contains(&name) {
                            t.clear().map_err(during)?;
                            seen.push(name);
                        }
                        tree = Some(t);
                    }
                    Record::Entry(..) | Record::Gone(_) if tree.is_none() => {
                        return Err(bad("an entry comes before any tree").into());
                    }
                    Record::Entry(k, v) => {
                        batch.insert(k, v);
                        entries += 1;
                        in_batch += 1;
                    }
                    Record::Gone(k) => {
                        batch.remove(k);
                        in_batch += 1;
                    }
                }
                // Small batches: sled holds a batch's pages while it applies it.
                if in_batch >= RESTORE_BATCH {
                    flush(&tree, &mut batch).map_err(during)?;
                    in_batch = 0;
                }
            }
            flush(&tree, &mut batch).map_err(during)?;
            t.flush().map_err(super::write::Failure::During)?;
            Ok(entries)
        })?;
        drop(store);
        // The restored store's own meta says what it holds; the seal of the empty store built
        // to receive it would call that a damage.
        let _ = std::fs::remove_file(super::health::seal_path(target));
        Ok(entries)
    }
}

/// Entries per batch as a store is built from a backup.
const RESTORE_BATCH: usize = 256;

/// A record of a backup file.
enum Record {
    Tree(Vec<u8>),
    Entry(Vec<u8>, Vec<u8>),
    Gone(Vec<u8>),
}

/// Checks a backup file: its format, and its checksum over the whole body, read a piece at a
/// time. Returns the body's length (all but the checksum) and whether it is of format 1.
fn check_file(path: &Path) -> Result<(u64, bool), StoreError> {
    let file = std::fs::File::open(path).map_err(|e| io_err(path, e))?;
    let len = file.metadata().map_err(|e| io_err(path, e))?.len();
    let mut from = std::io::BufReader::with_capacity(1 << 16, file);
    let mut magic = [0u8; 8];
    if len < MAGIC.len() as u64 + 9 || from.read_exact(&mut magic).is_err() {
        return Err(bad("it is not a leadq backup"));
    }
    let v1 = &magic == MAGIC_V1;
    if !v1 && &magic != MAGIC {
        return Err(bad("it is not a leadq backup"));
    }
    let body = len - 8;
    let mut hash = fnv(0xcbf2_9ce4_8422_2325, &magic);
    let mut left = body - magic.len() as u64;
    let mut buf = vec![0u8; 1 << 16];
    while left > 0 {
        let n = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
        from.read_exact(&mut buf[..n])
            .map_err(|e| io_err(path, e))?;
        hash = fnv(hash, &buf[..n]);
        left -= n as u64;
    }
    let mut sum = [0u8; 8];
    from.read_exact(&mut sum).map_err(|e| io_err(path, e))?;
    if hash != u64::from_be_bytes(sum) {
        return Err(bad(
            "its checksum does not match: the file is damaged or cut short",
        ));
    }
    Ok((body, v1))
}

/// The records of a checked backup file, read in order.
struct Records<'p, R: Read> {
    from: R,
    path: &'p Path,
    /// Bytes of the body not read yet: no part may claim more.
    left: u64,
    v1: bool,
    /// Format 1: entries of the current tree still to come.
    entries_left: u64,
}

impl<R: Read> Records<'_, R> {
    fn take(&mut self, n: u64) -> Result<Vec<u8>, StoreError> {
        if n > self.left {
            return Err(bad("it ends early"));
        }
        let mut out = vec![0u8; usize::try_from(n).map_err(|_| bad("it ends early"))?];
        self.from
            .read_exact(&mut out)
            .map_err(|e| io_err(self.path, e))?;
        self.left -= n;
        Ok(out)
    }

    fn skip(&mut self, n: u64) -> Result<(), StoreError> {
        self.take(n).map(drop)
    }

    fn number(&mut self, bytes: u64) -> Result<u64, StoreError> {
        Ok(self
            .take(bytes)?
            .iter()
            .fold(0u64, |n, b| (n << 8) | u64::from(*b)))
    }

    fn blob(&mut self) -> Result<Vec<u8>, StoreError> {
        let n = self.number(4)?;
        self.take(n)
    }

    /// The next record; None at the end.
    fn next(&mut self) -> Result<Option<Record>, StoreError> {
        if self.v1 && self.entries_left > 0 {
            self.entries_left -= 1;
            let k = self.blob()?;
            return Ok(Some(Record::Entry(k, self.blob()?)));
        }
        let tag = self.take(1)?[0];
        Ok(Some(match (tag, self.v1) {
            (TAG_END, _) => return Ok(None),
            // Format 1: a tree, its count, then that many entries.
            (TAG_TREE, true) => {
                let name = self.blob()?;
                self.entries_left = self.number(8)?;
                Record::Tree(name)
            }
            (TAG_TREE, false) => Record::Tree(self.blob()?),
            (TAG_ENTRY, false) => {
                let k = self.blob()?;
                Record::Entry(k, self.blob()?)
            }
            (TAG_GONE, false) => Record::Gone(self.blob()?),
            (t, _) => return Err(bad(format!("unknown record tag {t}"))),
        }))
    }
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
        let dir = tempfile::tempdir().expect("a folder");
        let path = dir.path().join("old.lqb");
        std::fs::write(&path, &body).expect("written");
        let (len, v1) = check_file(&path).expect("a format-1 file checks");
        assert!(v1);
        let mut records = Records {
            from: &body[MAGIC.len()..],
            path: &path,
            left: len - MAGIC.len() as u64,
            v1,
            entries_left: 0,
        };
        let mut read = Vec::new();
        while let Some(r) = records.next().expect("a format-1 file reads") {
            read.push(r);
        }
        assert!(matches!(&read[0], Record::Tree(n) if n == b"meta"));
        assert!(
            matches!(&read[1], Record::Entry(k, v) if k == b"schema" && v == &2u32.to_be_bytes())
        );
        assert_eq!(read.len(), 2);
    }
}
