//! Key layout. Keys that must sort (time, score) are big-endian bytes built by hand, so sled's
//! byte order is their numeric order.
//!
//! | tree        | key                                        | value            |
//! |-------------|--------------------------------------------|------------------|
//! | meta        | `schema`, `next_lead_id`, `rules`          | u32 / u64 BE     |
//! |             | `model`                                    | Model            |
//! | leads       | id u64                                     | Lead             |
//! | timelines   | id u64, chunk number u32                   | up to 64 entries |
//! |             |                                            | (at, seq, record)|
//! | by_email    | normalised e-mail                          | id u64           |
//! | by_phone    | normalised phone (digits)                  | id u64           |
//! | by_rank     | class u8, 255 - score u8, u16::MAX - fit   | the lead's tally |
//! |             | (`fine_fit`), waiting since i64            | (`Tally::encode`)|
//! |             | (sign-flipped), id u64                     |                  |
//! | by_followup | next action i64 (sign-flipped), id u64     | empty            |
//! | tags        | owner (empty: the pool), 0, tag            | count u64        |
//! | by_tag      | tag (`tag_prefix`), rank key               | the lead's tally |
//! | tag_tallies | tag (`tag_prefix`), tally                  | count u64        |
//! | erased      | id u64                                     | who, tab, millis |
//! | merged      | id u64 (merged away)                       | id u64 (survivor)|
//! | not_dupes   | id u64 a, id u64 b (a < b)                 | who, tab, millis |

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

/// A chunk of a lead's timeline (schema 1 had one key per interaction: id, at, seq).
pub fn timeline_chunk(lead: LeadId, number: u32) -> [u8; 12] {
    let mut k = [0u8; 12];
    k[..8].copy_from_slice(&id(lead));
    k[8..].copy_from_slice(&number.to_be_bytes());
    k
}

pub fn read_chunk_number(key: &[u8; 12]) -> u32 {
    u32::from_be_bytes([key[8], key[9], key[10], key[11]])
}

/// A pair of leads, the smaller id first.
pub fn pair(a: LeadId, b: LeadId) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&id(a.min(b)));
    k[8..].copy_from_slice(&id(a.max(b)));
    k
}

pub fn read_pair(key: &[u8]) -> Option<(LeadId, LeadId)> {
    Some((read_id(key.get(..8)?)?, read_id(key.get(8..16)?)?))
}

/// The queue index: one segment per class of lead (`tally::Class`: in the queue, waiting,
/// closed), and within it the queue's order: the highest score first (the score as of the
/// record's moment, exact until its moment of change comes: `tally::next_change`), then the
/// better fit, then the lead waiting longest for a touch, then the lowest id. A view reads
/// the segments it shows from either end and stops when its page is full.
pub fn rank(class: u8, score: u8, fit: u16, waiting_since: Millis, lead: LeadId) -> [u8; RANK_KEY] {
    let mut k = [0u8; RANK_KEY];
    k[0] = class;
    k[1] = 255 - score;
    k[2..4].copy_from_slice(&(u16::MAX - fit).to_be_bytes());
    k[4..12].copy_from_slice(&time(waiting_since));
    k[12..].copy_from_slice(&id(lead));
    k
}

/// The length of a rank key.
pub const RANK_KEY: usize = 20;

/// The first key of a class's segment with a score at or below `score`.
pub fn rank_from(class: u8, score: u8) -> [u8; 2] {
    [class, 255 - score]
}

/// A lead's fit as the rank key's tie-break: hundredths of a point, from -100.
pub fn fine_fit(fit: f64) -> u16 {
    ((fit + 100.0) * 100.0)
        .round()
        .clamp(0.0, f64::from(u16::MAX)) as u16
}

/// The class, score, fit, waiting-since time and lead of a rank key.
pub fn read_rank(key: &[u8]) -> Option<(u8, u8, u16, Millis, LeadId)> {
    if key.len() != RANK_KEY {
        return None;
    }
    let fit = u16::from_be_bytes(key.get(2..4)?.try_into().ok()?);
    Some((
        key[0],
        255 - key[1],
        u16::MAX - fit,
        read_time(key.get(4..)?)?,
        read_id(key.get(12..)?)?,
    ))
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

/// How a tag starts its keys in `by_tag` and `tag_tallies`: its length (u16) and the tag in
/// lower case (tags are one tag whatever their case). The length makes the prefix of one
/// tag never the start of another's.
pub fn tag_prefix(tag: &str) -> Vec<u8> {
    let lower = tag.trim().to_lowercase();
    let len = u16::try_from(lower.len()).unwrap_or(u16::MAX);
    let mut k = Vec::with_capacity(2 + lower.len() + RANK_KEY);
    k.extend_from_slice(&len.to_be_bytes());
    k.extend_from_slice(lower.as_bytes());
    k
}

/// A tag's prefix followed by more: a rank key (`by_tag`) or a tally (`tag_tallies`).
pub fn tagged(prefix: &[u8], rest: &[u8]) -> Vec<u8> {
    [prefix, rest].concat()
}
