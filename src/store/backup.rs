//! Backups: every tree of the store in one file, and a store rebuilt from such a file.
//!
//! The file: `LEADQBK1`, then per tree a 1 tag byte, the name and its entries (each length-
//! prefixed, big-endian), a 0 tag byte at the end, and an FNV-1a checksum of everything before
//! it, so a truncated or damaged file is refused before anything is written.

use std::io::{BufWriter, Read, Write};
use std::path::Path;

use super::{Store, StoreError};

const MAGIC: &[u8; 8] = b"LEADQBK1";

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

impl Store {
    /// Writes every tree to `path` (readable by its owner only). The caller keeps writers out
    /// meanwhile (the service holds its writer lock), so the copy is one consistent moment.
    pub fn backup_to(&self, path: &Path) -> Result<u64, StoreError> {
        use std::os::unix::fs::OpenOptionsExt;
        let tmp = path.with_extension("partial");
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| io_err(&tmp, e))?;
        let mut w = Hashing {
            inner: BufWriter::new(file),
            hash: 0xcbf2_9ce4_8422_2325,
        };
        let mut entries = 0u64;
        let write = |w: &mut Hashing<BufWriter<std::fs::File>>,
                     entries: &mut u64|
         -> Result<(), StoreError> {
            w.put(MAGIC).map_err(|e| io_err(&tmp, e))?;
            for name in self.db.tree_names() {
                if name.as_ref() == b"__sled__default" {
                    continue;
                }
                let tree = self.db.open_tree(&name)?;
                w.put(&[1]).map_err(|e| io_err(&tmp, e))?;
                w.put_blob(&name).map_err(|e| io_err(&tmp, e))?;
                w.put(&(tree.len() as u64).to_be_bytes())
                    .map_err(|e| io_err(&tmp, e))?;
                let mut n = 0usize;
                for item in tree.iter() {
                    let (k, v) = item?;
                    w.put_blob(&k).map_err(|e| io_err(&tmp, e))?;
                    w.put_blob(&v).map_err(|e| io_err(&tmp, e))?;
                    n += 1;
                }
                if n != tree.len() {
                    return Err(bad("a tree changed while it was copied"));
                }
                *entries += n as u64;
            }
            w.put(&[0]).map_err(|e| io_err(&tmp, e))?;
            let sum = w.hash;
            w.inner
                .write_all(&sum.to_be_bytes())
                .map_err(|e| io_err(&tmp, e))?;
            w.inner.flush().map_err(|e| io_err(&tmp, e))?;
            w.inner.get_ref().sync_all().map_err(|e| io_err(&tmp, e))?;
            Ok(())
        };
        let result = write(&mut w, &mut entries);
        if let Err(e) = result {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        std::fs::rename(&tmp, path).map_err(|e| io_err(path, e))?;
        Ok(entries)
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
        for (name, items) in trees {
            let tree = store.db.open_tree(name)?;
            tree.clear()?;
            let mut batch = sled::Batch::default();
            for (k, v) in items {
                batch.insert(k, v);
                entries += 1;
            }
            tree.apply_batch(batch)?;
        }
        store.flush()?;
        Ok(entries)
    }
}

type Trees<'a> = Vec<(&'a [u8], Vec<(&'a [u8], &'a [u8])>)>;

fn parse(bytes: &[u8]) -> Result<Trees<'_>, StoreError> {
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
        let s = body.get(*at..*at + n).ok_or_else(|| bad("it ends early"))?;
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
