//! The schema version: a new store gets the current one, an older one is migrated step by
//! step (after an automatic snapshot it can be restored from), a newer one is refused.

use std::path::Path;

use super::health::Counts;
use super::{META_SCHEMA, SCHEMA_VERSION, StoreError, Trees};

/// Schema 1's timeline tree, one key per interaction.
const OLD_TIMELINE: &[u8] = b"timeline";

impl Trees {
    /// Makes the store ready for this leadq; returns whether it changed anything that needs a
    /// flush (a new store, a migration).
    pub(super) fn prepare(&mut self, path: &Path) -> Result<bool, StoreError> {
        match self.schema()? {
            None => {
                self.meta
                    .insert(META_SCHEMA, &SCHEMA_VERSION.to_be_bytes())?;
                let (key, value) = self.counts.meta_entry();
                self.meta.insert(key, &value)?;
                self.db.flush()?;
                Ok(true)
            }
            Some(v) if v > SCHEMA_VERSION => Err(StoreError::NewerSchema {
                path: path.to_path_buf(),
                found: v,
                known: SCHEMA_VERSION,
            }),
            Some(v) if v < SCHEMA_VERSION => {
                self.migrate(path, v)?;
                Ok(true)
            }
            Some(_) => {
                self.drop_old_trees()?;
                Ok(false)
            }
        }
    }

    /// Brings an older store up to `SCHEMA_VERSION`, one step at a time, after a snapshot of
    /// it as it was. Schema 1 is the first; an older "version" is a store from a pre-release
    /// build, which is refused. Each step is redone if a crash interrupts it: the schema
    /// version is raised only at the end.
    fn migrate(&mut self, path: &Path, from: u32) -> Result<(), StoreError> {
        if from < 1 {
            return Err(StoreError::Corrupt {
                what: "schema version",
                reason: format!("schema {from} predates leadq's first release"),
            });
        }
        if path.is_dir() {
            self.snapshot(path, &format!("before-migration-from-schema-{from}"))?;
        }
        if from < 2 && self.has_tree(OLD_TIMELINE) {
            self.repack_timeline(&self.db.open_tree(OLD_TIMELINE)?)?;
        }
        if from < 3 {
            let (leads, interactions) = self.recount()?;
            self.counts = Counts {
                generation: 1,
                leads,
                interactions,
            };
            let (key, value) = self.counts.meta_entry();
            self.meta.insert(key, &value)?;
        }
        if from < 14 {
            // 5 keeps counts by tally and an index of coming changes (`derived`); 6 counts
            // follow-ups by local day and keeps when a waiting lead stops waiting; 7 files
            // leads in the queue index by class and exact score, with their tally (2 and 4
            // changed the rank key's layout before); 8 keeps waits in an index of their own;
            // 9 adds to the coming changes when an open lead goes stale; 10 counts stale
            // and untouched leads; 11 and 12 count and file the leads of each tag; 13 keeps
            // the reports' sums; 14 adds the arrivals by campaign, and files phones by the
            // rule that reads "1 200 000 0007" (the country code without '+') and
            // "+44 (0)20 ..." as one phone, which stores written before it filed apart.
            self.rebuild_derived()?;
        }
        // 15 files web leads awaiting a first touch (`by_response`) and stores leads in
        // format 2: no lead of an older store awaits one, so the new index starts empty.
        self.meta
            .insert(META_SCHEMA, &SCHEMA_VERSION.to_be_bytes())?;
        self.db.flush()?;
        self.drop_old_trees()
    }

    fn has_tree(&self, name: &[u8]) -> bool {
        self.db.tree_names().iter().any(|n| n == name)
    }

    /// Trees a migration left behind (dropped after the schema version is raised, so a crash
    /// in between leaves one for the next open).
    fn drop_old_trees(&self) -> Result<(), StoreError> {
        if self.has_tree(OLD_TIMELINE) {
            self.db.drop_tree(OLD_TIMELINE)?;
            self.db.flush()?;
        }
        Ok(())
    }
}
