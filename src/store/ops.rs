//! The changes a write makes to one tree, kept in order. A command's changes become sled
//! `Batch`es inside one transaction; a bulk write applies them key by key instead, because
//! sled takes a lock over the whole database for each `apply_batch` (so two trees cannot be
//! written at once) and a batch costs more than its inserts one by one (benches/README.md).

use std::sync::atomic::{AtomicI64, Ordering};

use sled::{Batch, IVec, Tree};

/// Fault injection for tests (`LEADQ_FAULT_DISK_FULL_AFTER=N`): the N+1-th key written key by
/// key (a bulk write) fails once as a full disk would, half-way through the write. Negative:
/// off.
static FAIL_AFTER: AtomicI64 = AtomicI64::new(-1);
/// Crash injection for tests (`LEADQ_TEST_ABORT_AFTER=N`): the process aborts before the N+1-th
/// key written key by key, as a `kill -9` would stop it: what sled had not written is lost.
static ABORT_AFTER: AtomicI64 = AtomicI64::new(-1);

/// Reads the fault-injection setting of this process (once, when a store is opened).
pub(super) fn arm_fault_injection() {
    if let Some(n) = std::env::var("LEADQ_FAULT_DISK_FULL_AFTER")
        .ok()
        .and_then(|v| v.parse::<i64>().ok())
    {
        FAIL_AFTER.store(n, Ordering::SeqCst);
    }
    if let Some(n) = std::env::var("LEADQ_TEST_ABORT_AFTER")
        .ok()
        .and_then(|v| v.parse::<i64>().ok())
    {
        ABORT_AFTER.store(n, Ordering::SeqCst);
    }
}

/// Counts a key down towards an injected failure.
fn injected_failure() -> sled::Result<()> {
    if ABORT_AFTER.load(Ordering::Relaxed) >= 0 && ABORT_AFTER.fetch_sub(1, Ordering::SeqCst) == 0 {
        std::process::abort();
    }
    if FAIL_AFTER.load(Ordering::Relaxed) < 0 {
        return Ok(());
    }
    if FAIL_AFTER.fetch_sub(1, Ordering::SeqCst) == 0 {
        return Err(sled::Error::Io(std::io::Error::from_raw_os_error(28)));
    }
    Ok(())
}

#[derive(Default)]
pub(super) struct Ops(Vec<(IVec, Option<IVec>)>);

impl Ops {
    pub fn insert(&mut self, key: impl Into<IVec>, value: impl Into<IVec>) {
        self.0.push((key.into(), Some(value.into())));
    }

    pub fn remove(&mut self, key: impl Into<IVec>) {
        self.0.push((key.into(), None));
    }

    /// The keys these changes touch.
    pub fn keys(&self) -> impl Iterator<Item = &IVec> {
        self.0.iter().map(|(k, _)| k)
    }

    /// The same changes as one sled batch (a later change to a key wins, as in order).
    pub fn to_batch(&self) -> Batch {
        let mut batch = Batch::default();
        for (key, value) in &self.0 {
            match value {
                Some(v) => batch.insert(key.clone(), v.clone()),
                None => batch.remove(key.clone()),
            }
        }
        batch
    }

    /// Applies the changes atomically, as one batch.
    pub fn apply_batch(&self, tree: &Tree) -> sled::Result<()> {
        tree.apply_batch(self.to_batch())
    }

    /// Two halves, to apply at once on two threads: the changes to one key stay in one half,
    /// in their order, so the outcome is the same.
    pub fn split(self) -> (Ops, Ops) {
        let (a, b) = self
            .0
            .into_iter()
            .partition(|(key, _)| key.iter().fold(0u8, |h, b| h ^ b) & 1 == 0);
        (Ops(a), Ops(b))
    }

    /// Applies the changes one by one, in order: not atomic.
    pub fn apply_each(self, tree: &Tree) -> sled::Result<()> {
        for (key, value) in self.0 {
            injected_failure()?;
            match value {
                Some(v) => tree.insert(key, v)?,
                None => tree.remove(key)?,
            };
        }
        Ok(())
    }
}
