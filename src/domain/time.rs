//! Instants as milliseconds since the Unix epoch (what the store keeps), and the parsing of
//! the dates a rep types: `today`, `tomorrow`, `3d`, `next-week`, `2026-11-25`, RFC 3339.

use chrono::{DateTime, Datelike, Days, Local, NaiveDate, NaiveTime, TimeZone, Utc};

/// Milliseconds since the Unix epoch, UTC.
pub type Millis = i64;

pub const DAY_MS: i64 = 86_400_000;
pub const MINUTE_MS: i64 = 60_000;

pub fn to_datetime(ms: Millis) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

pub fn from_datetime<T: TimeZone>(dt: &DateTime<T>) -> Millis {
    dt.timestamp_millis()
}

/// RFC 3339 in UTC with second precision, the form every output uses.
pub fn format_rfc3339(ms: Millis) -> String {
    to_datetime(ms).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The local calendar day of an instant.
pub fn local_date(ms: Millis) -> NaiveDate {
    to_datetime(ms).with_timezone(&Local).date_naive()
}

/// The local day that contains `ms`, as a number (days from the common era): what a follow-up
/// is filed under in the kept counts.
pub fn local_day(ms: Millis) -> i32 {
    local_date(ms).num_days_from_ce()
}

/// A fingerprint of this process's time zone (its offsets across four years, DST included):
/// kept counts filed by local day are refiled under another zone.
pub fn zone_fingerprint() -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for month in 0..48i64 {
        let at = 1_767_225_600_000 + month * 30 * DAY_MS; // from 2026-01-01
        let offset = i64::from(
            to_datetime(at)
                .with_timezone(&Local)
                .offset()
                .local_minus_utc(),
        );
        for b in offset.to_be_bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// The first instant after the local day that contains `now` (the end of "today").
pub fn end_of_local_day(now: Millis) -> Millis {
    let next = local_date(now) + Days::new(1);
    start_of_local_date(next)
}

pub fn start_of_local_date(date: NaiveDate) -> Millis {
    let naive = date.and_time(NaiveTime::MIN);
    match Local.from_local_datetime(&naive).earliest() {
        Some(dt) => dt.timestamp_millis(),
        None => naive.and_utc().timestamp_millis(),
    }
}

/// Short relative age for tables: `now`, `5m`, `3h`, `2d`, `6w`, `1y`; `in 2d` for the future.
pub fn relative(ms: Millis, now: Millis) -> String {
    let delta = now.saturating_sub(ms);
    let (future, d) = (delta < 0, delta.unsigned_abs());
    let mins = d / 60_000;
    let text = if mins < 1 {
        return "now".into();
    } else if mins < 60 {
        format!("{mins}m")
    } else if mins < 60 * 24 {
        format!("{}h", mins / 60)
    } else if mins < 60 * 24 * 14 {
        format!("{}d", mins / (60 * 24))
    } else if mins < 60 * 24 * 365 {
        format!("{}w", mins / (60 * 24 * 7))
    } else {
        format!("{}y", mins / (60 * 24 * 365))
    };
    if future { format!("in {text}") } else { text }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "cannot read {input:?} as a date or time: use today, tomorrow, 3d, 2w, next-week, \
     YYYY-MM-DD, YYYY-MM-DD HH:MM or RFC 3339"
)]
pub struct DateParseError {
    pub input: String,
}

/// Parses a follow-up date or an interaction time as a rep types it, relative to `now`.
/// Day-level inputs (`tomorrow`, `3d`, `2026-11-25`) land at 09:00 local time, the start of
/// a working day, so a follow-up set for tomorrow is due tomorrow morning.
pub fn parse_when(input: &str, now: Millis) -> Result<Millis, DateParseError> {
    let err = || DateParseError {
        input: input.to_string(),
    };
    let s = input.trim().to_ascii_lowercase();
    let today = local_date(now);
    // 09:00 on the local clock, not nine hours after midnight: on a day the clocks change
    // those differ by the change.
    let at_nine = |d: NaiveDate| {
        let nine = d.and_time(NaiveTime::from_hms_opt(9, 0, 0).expect("09:00 is a time"));
        Local.from_local_datetime(&nine).earliest().map_or_else(
            || start_of_local_date(d) + 9 * 3_600_000,
            |dt| dt.timestamp_millis(),
        )
    };
    let day_offset = |n: u64| {
        today
            .checked_add_days(Days::new(n))
            .map(at_nine)
            .ok_or_else(err)
    };
    match s.as_str() {
        "now" => return Ok(now),
        "today" => return Ok(at_nine(today).max(now)),
        "tomorrow" => return day_offset(1),
        "next-week" | "next week" => {
            let to_monday = 7 - u64::from(today.weekday().num_days_from_monday());
            return day_offset(to_monday);
        }
        _ => {}
    }
    if let Some(n) = s
        .strip_suffix('d')
        .and_then(|n| n.trim_start_matches('+').parse().ok())
    {
        return day_offset(n);
    }
    if let Some(n) = s
        .strip_suffix('w')
        .and_then(|n| n.trim_start_matches('+').parse::<u64>().ok())
    {
        return day_offset(n.checked_mul(7).ok_or_else(err)?);
    }
    if let Some(n) = s
        .strip_suffix('h')
        .and_then(|n| n.trim_start_matches('+').parse::<i64>().ok())
    {
        return n
            .checked_mul(3_600_000)
            .and_then(|d| now.checked_add(d))
            .ok_or_else(err);
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(input.trim()) {
        return Ok(dt.timestamp_millis());
    }
    if let Ok(d) = NaiveDate::parse_from_str(&s, "%Y-%m-%d") {
        return Ok(at_nine(d));
    }
    for fmt in ["%Y-%m-%d %H:%M", "%Y-%m-%dt%H:%M", "%Y-%m-%d %H:%M:%S"] {
        if let Ok(naive) = chrono::NaiveDateTime::parse_from_str(&s, fmt) {
            return Local
                .from_local_datetime(&naive)
                .earliest()
                .map(|dt| dt.timestamp_millis())
                .ok_or_else(err);
        }
    }
    Err(err())
}

/// When something happened, as a rep types it: a relative time counts back from now (`2h` is
/// two hours ago, `3d` three days ago), anything else reads as `parse_when` does.
pub fn parse_past(input: &str, now: Millis) -> Result<Millis, DateParseError> {
    let s = input.trim().to_ascii_lowercase();
    let units = [
        ('m', MINUTE_MS),
        ('h', 3_600_000),
        ('d', DAY_MS),
        ('w', 7 * DAY_MS),
    ];
    for (unit, ms) in units {
        if let Some(n) = s.strip_suffix(unit).and_then(|n| n.parse::<u32>().ok()) {
            return Ok(now.saturating_sub(i64::from(n).saturating_mul(ms)));
        }
    }
    parse_when(input, now)
}

/// Reads `LEADQ_NOW`-style RFC 3339 text.
pub fn parse_rfc3339(input: &str) -> Option<Millis> {
    DateTime::parse_from_rfc3339(input.trim())
        .ok()
        .map(|d| d.timestamp_millis())
}

pub fn utc_now() -> Millis {
    Utc::now().timestamp_millis()
}
