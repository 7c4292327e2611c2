//! The sane range of every field, date and number a request may carry. Whatever sends it (a
//! rep's keystrokes, a CSV cell, a web form, a forged frame), a value outside its range is
//! refused with a message naming the field, and never stored.

use super::lead::ValidationError;
use super::time::{DAY_MS, Millis, format_rfc3339, local_date, start_of_local_date};

/// Characters, per field.
pub const NAME: usize = 200;
pub const EMAIL: usize = 254;
pub const PHONE: usize = 40;
pub const COMPANY: usize = 200;
pub const SOURCE: usize = 64;
pub const TAG: usize = 64;
pub const TAGS: usize = 50;
pub const ATTRIBUTE_NAME: usize = 64;
pub const ATTRIBUTE_VALUE: usize = 1_000;
pub const ATTRIBUTES: usize = 100;
pub const NOTE: usize = 5_000;
/// A user name, as Unix allows it (useradd's default limit is 32).
pub const OWNER: usize = 32;
/// The longest call or meeting, in minutes.
pub const MINUTES: u32 = 24 * 60;
/// The first instant leadq accepts for anything that happened: older is a typo (year 0,
/// 1900, an epoch of 0).
pub const EARLIEST: Millis = 946_684_800_000; // 2000-01-01T00:00:00Z
/// How far ahead a follow-up or a snooze may be set.
pub const YEARS_AHEAD: i64 = 5;
/// How far into the future "now" may be for an interaction: clocks differ a little.
const CLOCK_SLACK: Millis = 60_000;

/// `value` fits in `max` characters.
pub fn text(field: &'static str, value: &str, max: usize) -> Result<(), ValidationError> {
    // Bytes bound characters from above: most values never need counting.
    if value.len() <= max {
        return Ok(());
    }
    let chars = value.chars().count();
    if chars <= max {
        return Ok(());
    }
    Err(ValidationError::TooLong { field, chars, max })
}

/// A note as stored: trimmed, None when blank, refused when too long.
pub fn note(note: Option<String>) -> Result<Option<String>, ValidationError> {
    let Some(n) = note.map(|n| n.trim().to_string()).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    text("note", &n, NOTE)?;
    Ok(Some(n))
}

/// A user name: what `owner` holds and what `--owner`, `assign` and a CSV's owner column give.
/// Letters, digits, `.`, `_` and `-`, not starting with `-`, up to 32 characters: anything
/// else (an empty string, an escape sequence, a sentence) is a typo or an attack.
pub fn owner(name: &str) -> Result<(), ValidationError> {
    let ok = !name.is_empty()
        && name.len() <= OWNER
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(ValidationError::BadOwner(super::sanitize::for_display(
            &name.chars().take(40).collect::<String>(),
        )))
    }
}

fn out_of_range(field: &'static str, at: Millis, range: String) -> ValidationError {
    ValidationError::OutOfRange {
        field,
        value: shown_time(at),
        range,
    }
}

/// A time for a message: RFC 3339 where chrono can show it, else the raw number.
fn shown_time(at: Millis) -> String {
    if chrono::DateTime::from_timestamp_millis(at).is_some() {
        format_rfc3339(at)
    } else {
        format!("{at} ms since 1970")
    }
}

fn latest(now: Millis) -> Millis {
    now.saturating_add(YEARS_AHEAD * 365 * DAY_MS)
}

/// When something happened (a call, an e-mail): from 2000 up to now.
pub fn happened(field: &'static str, at: Millis, now: Millis) -> Result<(), ValidationError> {
    if (EARLIEST..=now.saturating_add(CLOCK_SLACK)).contains(&at) {
        return Ok(());
    }
    let range = if at > now {
        "it is in the future".to_string()
    } else {
        format!("leadq takes times from {}", format_rfc3339(EARLIEST))
    };
    Err(out_of_range(field, at, range))
}

/// A follow-up date: from the start of today (an earlier one is a typo: it would be overdue
/// the moment it is set) up to five years ahead.
pub fn follow_up(field: &'static str, at: Millis, now: Millis) -> Result<(), ValidationError> {
    let today = start_of_local_date(local_date(now));
    if (today..=latest(now)).contains(&at) {
        return Ok(());
    }
    Err(out_of_range(
        field,
        at,
        format!(
            "it must be between today and {}",
            format_rfc3339(latest(now))
        ),
    ))
}

/// A snooze: after now, up to five years ahead.
pub fn snooze(at: Millis, now: Millis) -> Result<(), ValidationError> {
    if at > now && at <= latest(now) {
        return Ok(());
    }
    Err(out_of_range(
        "snooze",
        at,
        format!(
            "it must be after now and before {}",
            format_rfc3339(latest(now))
        ),
    ))
}

/// The length of a call or meeting in seconds: up to a day.
pub fn duration(secs: u32) -> Result<(), ValidationError> {
    if secs <= MINUTES * 60 {
        return Ok(());
    }
    Err(ValidationError::TooLongCall {
        minutes: secs / 60,
        max: MINUTES,
    })
}
