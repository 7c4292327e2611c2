//! The changes a write makes to one tree, kept in order. A command's changes become sled
//! `Batch`es inside one transaction; a bulk write applies them key by key instead, because
//! sled takes a lock over the whole database for each `apply_batch` (so two trees cannot be
//! written at once) and a batch costs more than its inserts one by one (benches/README.md).

use sled::{Batch, IVec, Tree};

#[derive(Default)]
pub(super) struct Ops(Vec<(IVec, Option<IVec>)>);

impl Ops {
    pub fn insert(&mut self, key: impl Into<IVec>, value: impl Into<IVec>) {
        self.0.push((key.into(), Some(value.into())));
    }

    pub fn remove(&mut self, key: impl Into<IVec>) {
        self.0.push((key.into(), None));
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
            match value {
                Some(v) => tree.insert(key, v)?,
                None => tree.remove(key)?,
            };
        }
        Ok(())
    }
}
