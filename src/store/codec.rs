//! The one place that knows bincode. Every stored value is one format-version byte followed by
//! the bincode (standard config) encoding of the record. A record written by a newer leadq is
//! refused rather than misread.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::StoreError;

/// Format version of each record type, bumped when its layout changes (with a migration from
/// the older layout in `decode`).
/// 2: with when a web lead's first touch is due (`response_due`).
pub const LEAD_FORMAT: u8 = 2;
/// 2: with the standing a won or lost event closed the lead at (`closed_as`).
pub const INTERACTION_FORMAT: u8 = 2;
pub const MODEL_FORMAT: u8 = 1;
pub const ROUTING_FORMAT: u8 = 1;

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

/// A lead as format 1 stored it (no `response_due`).
#[derive(serde::Deserialize)]
struct LeadV1 {
    id: crate::domain::LeadId,
    name: String,
    email: Option<String>,
    phone: Option<String>,
    company: Option<String>,
    source: Option<String>,
    owner: Option<String>,
    tags: Vec<String>,
    attributes: std::collections::BTreeMap<String, String>,
    created: crate::domain::Millis,
    stage: crate::domain::Stage,
    lost_reason: Option<crate::domain::LostReason>,
    next_action: Option<crate::domain::Millis>,
    snoozed_until: Option<crate::domain::Millis>,
    last_touch: Option<crate::domain::Millis>,
    score: crate::domain::scoring::ScoreState,
    temperature: crate::domain::Temperature,
}

/// A lead of any format this leadq knows.
pub fn decode_lead(bytes: &[u8]) -> Result<crate::domain::Lead, StoreError> {
    if bytes.first() == Some(&1) {
        let v: LeadV1 = decode("lead", 1, bytes)?;
        return Ok(crate::domain::Lead {
            id: v.id,
            name: v.name,
            email: v.email,
            phone: v.phone,
            company: v.company,
            source: v.source,
            owner: v.owner,
            tags: v.tags,
            attributes: v.attributes,
            created: v.created,
            stage: v.stage,
            lost_reason: v.lost_reason,
            next_action: v.next_action,
            snoozed_until: v.snoozed_until,
            last_touch: v.last_touch,
            score: v.score,
            temperature: v.temperature,
            response_due: None,
        });
    }
    decode("lead", LEAD_FORMAT, bytes)
}

/// An interaction as format 1 stored it (no `closed_as`).
#[derive(serde::Deserialize)]
struct InteractionV1 {
    kind: crate::domain::Kind,
    outcome: Option<crate::domain::Outcome>,
    author: String,
    at: crate::domain::Millis,
    note: Option<String>,
    duration_secs: Option<u32>,
}

/// An interaction of any format this leadq knows.
pub fn decode_interaction(bytes: &[u8]) -> Result<crate::domain::Interaction, StoreError> {
    if bytes.first() == Some(&1) {
        let v: InteractionV1 = decode("interaction", 1, bytes)?;
        return Ok(crate::domain::Interaction {
            kind: v.kind,
            outcome: v.outcome,
            author: v.author,
            at: v.at,
            note: v.note,
            duration_secs: v.duration_secs,
            closed_as: None,
        });
    }
    decode("interaction", INTERACTION_FORMAT, bytes)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Interaction, Kind, Outcome};

    /// An interaction as format 1 wrote it (the same fields, no `closed_as`).
    #[derive(serde::Serialize)]
    struct V1 {
        kind: Kind,
        outcome: Option<Outcome>,
        author: String,
        at: i64,
        note: Option<String>,
        duration_secs: Option<u32>,
    }

    /// A store's timelines written before format 2 still read, with no standing at close.
    #[test]
    fn a_format_1_interaction_still_reads() {
        let old = encode(
            1,
            &V1 {
                kind: Kind::System,
                outcome: Some(Outcome::Won),
                author: "bob".into(),
                at: 1_795_860_000_000,
                note: Some("won".into()),
                duration_secs: None,
            },
        );
        let i: Interaction = decode_interaction(&old).expect("format 1 reads");
        assert_eq!(i.outcome, Some(Outcome::Won));
        assert_eq!(i.author, "bob");
        assert_eq!(i.closed_as, None);
        let new = encode(INTERACTION_FORMAT, &i);
        assert_eq!(decode_interaction(&new).expect("format 2 reads"), i);
    }
}
