//! Key layout. Keys that must sort (time, score) are big-endian bytes built by hand, so sled's
//! byte order is their numeric order.
//!
//! | tree        | key                                        | value            |
//! |-------------|--------------------------------------------|------------------|
//! | meta        | `schema`, `next_lead_id`, `rules`          | u32 / u64 BE     |
//! | leads       | id u64                                     | Lead             |
//! | timeline    | id u64, at i64 (sign-flipped), seq u64     | Interaction      |
//! | by_email    | normalised e-mail                          | id u64           |
//! | by_phone    | normalised phone (digits)                  | id u64           |
//! | by_rank     | 255 - score upper bound u8, id u64         | empty            |
//! | by_followup | next action i64 (sign-flipped), id u64     | empty            |

use crate::domain::{LeadId, Millis};

pub fn id(id: LeadId) -> [u8; 8] {
    id.to_be_bytes()
}

pub fn read_id(bytes: &[u8]) -> Option<LeadId> {
    Some(u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?))
}

/// i64 as bytes that sort like the numbers: flip the sign bit.
pub fn time(at: Millis) -> [u8; 8] {
    ((at as u64) ^ (1 << 63)).to_be_bytes()
}

pub fn read_time(bytes: &[u8]) -> Option<Millis> {
    let raw = u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?);
    Some((raw ^ (1 << 63)) as i64)
}

pub fn interaction(lead: LeadId, at: Millis, seq: u64) -> [u8; 24] {
    let mut k = [0u8; 24];
    k[..8].copy_from_slice(&id(lead));
    k[8..16].copy_from_slice(&time(at));
    k[16..].copy_from_slice(&seq.to_be_bytes());
    k
}

/// Highest bound first when scanned in key order.
pub fn rank(bound: u8, lead: LeadId) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = 255 - bound;
    k[1..].copy_from_slice(&id(lead));
    k
}

pub fn read_rank(key: &[u8]) -> Option<(u8, LeadId)> {
    Some((255 - *key.first()?, read_id(key.get(1..)?)?))
}

pub fn followup(at: Millis, lead: LeadId) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&time(at));
    k[8..].copy_from_slice(&id(lead));
    k
}

pub fn read_followup(key: &[u8]) -> Option<(Millis, LeadId)> {
    Some((read_time(key)?, read_id(key.get(8..)?)?))
}
