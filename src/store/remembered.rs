//! Answers the web intake gave to posts with an `Idempotency-Key`, kept in the store with the
//! lead they made (in the same transaction), so that a retry after a restart still gets the
//! first answer. Kept a day; `prune_remembered` takes older ones away.

use super::{Store, StoreError, write};
use crate::domain::{LeadId, Millis};

/// Where remembered answers live in the meta tree.
const PREFIX: &[u8] = b"idem/";

/// A remembered answer: the lead, whether it was new, when, and a digest of the post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Remembered {
    pub id: LeadId,
    pub created: bool,
    pub at: Millis,
    pub digest: u64,
}

impl Remembered {
    fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(25);
        v.extend_from_slice(&self.id.to_be_bytes());
        v.push(u8::from(self.created));
        v.extend_from_slice(&self.at.to_be_bytes());
        v.extend_from_slice(&self.digest.to_be_bytes());
        v
    }

    fn decode(v: &[u8]) -> Option<Remembered> {
        if v.len() != 25 {
            return None;
        }
        Some(Remembered {
            id: u64::from_be_bytes(v[..8].try_into().ok()?),
            created: v[8] == 1,
            at: i64::from_be_bytes(v[9..17].try_into().ok()?),
            digest: u64::from_be_bytes(v[17..25].try_into().ok()?),
        })
    }

    /// The meta entry that keeps this answer to `key`.
    pub fn entry(&self, key: &str) -> (Vec<u8>, Vec<u8>) {
        (meta_key(key), self.encode())
    }
}

fn meta_key(key: &str) -> Vec<u8> {
    [PREFIX, key.as_bytes()].concat()
}

impl Store {
    /// The answer remembered for `key`, if any.
    pub fn remembered(&self, key: &str) -> Result<Option<Remembered>, StoreError> {
        let r = self
            .read()?
            .meta
            .get(meta_key(key))
            .map_err(StoreError::from);
        Ok(self.seen(r)?.and_then(|v| Remembered::decode(&v)))
    }

    /// Takes away the answers remembered before `before`; says how many.
    pub fn prune_remembered(&self, before: Millis) -> Result<usize, StoreError> {
        let old: Vec<sled::IVec> = {
            let t = self.read()?;
            let r = (|| {
                let mut old = Vec::new();
                for item in t.meta.scan_prefix(PREFIX) {
                    let (k, v) = item?;
                    if Remembered::decode(&v).is_none_or(|r| r.at < before) {
                        old.push(k);
                    }
                }
                Ok(old)
            })();
            self.seen(r)?
        };
        if old.is_empty() {
            return Ok(0);
        }
        let n = old.len();
        self.writing(4096, |t, _| {
            let mut batch = sled::Batch::default();
            for k in &old {
                batch.remove(k.as_ref());
            }
            t.meta
                .apply_batch(batch)
                .map_err(|e| write::Failure::During(e.into()))?;
            t.flush().map_err(write::Failure::During)
        })?;
        Ok(n)
    }
}
