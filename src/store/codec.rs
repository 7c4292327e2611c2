//! The one place that knows bincode. Every stored value is one format-version byte followed by
//! the bincode (standard config) encoding of the record. A record written by a newer leadq is
//! refused rather than misread.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::StoreError;

/// Format version of each record type, bumped when its layout changes (with a migration from
/// the older layout in `decode`).
pub const LEAD_FORMAT: u8 = 1;
pub const INTERACTION_FORMAT: u8 = 1;
pub const MODEL_FORMAT: u8 = 1;

fn config() -> bincode::config::Configuration {
    bincode::config::standard()
}

pub fn encode<T: Serialize>(format: u8, value: &T) -> Vec<u8> {
    let mut out = vec![format];
    // Encoding into a Vec cannot run out of space, and leadq's records hold no types serde
    // refuses (no maps with non-string keys, no untagged enums), so this cannot fail.
    let body = bincode::serde::encode_to_vec(value, config()).expect("record encodes");
    out.extend_from_slice(&body);
    out
}

pub fn decode<T: DeserializeOwned>(
    what: &'static str,
    format: u8,
    bytes: &[u8],
) -> Result<T, StoreError> {
    let Some((&version, body)) = bytes.split_first() else {
        return Err(StoreError::Corrupt {
            what,
            reason: "empty value".into(),
        });
    };
    if version > format {
        return Err(StoreError::NewerRecord {
            what,
            version,
            known: format,
        });
    }
    if version < format {
        // No older layouts exist yet: version 1 is the first.
        return Err(StoreError::Corrupt {
            what,
            reason: format!("unknown format version {version}"),
        });
    }
    let (value, read) =
        bincode::serde::decode_from_slice(body, config()).map_err(|e| StoreError::Corrupt {
            what,
            reason: e.to_string(),
        })?;
    if read != body.len() {
        return Err(StoreError::Corrupt {
            what,
            reason: "trailing bytes".into(),
        });
    }
    Ok(value)
}
