//! The two cells of a row that carry history from an old CRM: how the lead ended (won, lost,
//! or still open when empty) and when. Each refusal says what was found and what is accepted.

use chrono::{DateTime, Local, NaiveDate, NaiveDateTime, TimeZone};

use crate::domain::limits::EARLIEST;
use crate::domain::sanitize::for_display;
use crate::domain::time::{Millis, format_rfc3339, start_of_local_date};

/// A value for a message: safe for the terminal, and short.
fn shown_value(v: &str) -> String {
    let mut s: String = for_display(v).chars().take(40).collect();
    if v.chars().count() > 40 {
        s.push('…');
    }
    s
}

/// The words `--outcome-column` reads, as `--help` and a refused row list them.
pub const WON_WORDS: [&str; 10] = [
    "1",
    "yes",
    "y",
    "true",
    "won",
    "win",
    "converted",
    "customer",
    "closed won",
    "closed-won",
];
pub const LOST_WORDS: [&str; 9] = [
    "0",
    "no",
    "n",
    "false",
    "lost",
    "closed lost",
    "closed-lost",
    "not converted",
    "unqualified",
];

/// Won (true) or lost (false), from a non-empty cell of the outcome column.
pub fn outcome_of(v: &str) -> Result<bool, String> {
    let w = v.trim().to_lowercase();
    if WON_WORDS.contains(&w.as_str()) {
        return Ok(true);
    }
    if LOST_WORDS.contains(&w.as_str()) {
        return Ok(false);
    }
    Err(format!(
        "{:?} is not an outcome: write one of {} for won, {} for lost, or leave it empty for \
         a lead still open",
        shown_value(v),
        WON_WORDS.join(", "),
        LOST_WORDS.join(", ")
    ))
}

/// When a closed row closed: RFC 3339, `YYYY-MM-DD` (local midnight) or `YYYY-MM-DD HH:MM[:SS]`
/// (local time), from 2000 up to `now`. `03/04/2024` is refused: it is the 3rd of April in
/// one CRM and the 4th of March in another, and a wrong guess would go unnoticed.
pub fn close_date(v: &str, now: Millis) -> Result<Millis, String> {
    let s = v.trim();
    let local = |naive: NaiveDateTime| {
        Local.from_local_datetime(&naive).earliest().map_or_else(
            || naive.and_utc().timestamp_millis(),
            |d| d.timestamp_millis(),
        )
    };
    let at = if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        Some(d.timestamp_millis())
    } else if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        Some(start_of_local_date(d))
    } else {
        [
            "%Y-%m-%d %H:%M",
            "%Y-%m-%d %H:%M:%S",
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%dT%H:%M:%S",
        ]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .map(local)
    };
    let Some(at) = at else {
        let why = if s.contains('/') || s.contains('.') {
            "is ambiguous (day/month or month/day?)"
        } else {
            "is not a date"
        };
        return Err(format!(
            "{:?} {why}: write YYYY-MM-DD, YYYY-MM-DD HH:MM[:SS] or RFC 3339",
            shown_value(v)
        ));
    };
    if at > now {
        return Err(format!(
            "{:?} is in the future (now is {})",
            shown_value(v),
            format_rfc3339(now)
        ));
    }
    if at < EARLIEST {
        return Err(format!(
            "{:?} is before 2000-01-01: leadq takes history from {}",
            shown_value(v),
            format_rfc3339(EARLIEST)
        ));
    }
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveTime;

    const NOW: Millis = 1_795_341_600_000; // 2026-11-22T10:00:00Z

    #[test]
    fn outcome_words_read_as_won_lost_or_refused() {
        for w in WON_WORDS {
            assert_eq!(outcome_of(w), Ok(true), "{w}");
            assert_eq!(outcome_of(&format!("  {}  ", w.to_uppercase())), Ok(true));
        }
        for w in LOST_WORDS {
            assert_eq!(outcome_of(w), Ok(false), "{w}");
            assert_eq!(outcome_of(&format!(" {}", w.to_uppercase())), Ok(false));
        }
        assert_eq!(outcome_of("Closed Won"), Ok(true));
        assert_eq!(outcome_of("Not Converted"), Ok(false));
        let why = outcome_of("maybe\u{1b}[31m").unwrap_err();
        assert!(
            why.contains("\"maybe\u{FFFD}[31m\" is not an outcome"),
            "{why}"
        );
        assert!(
            why.contains("closed won") && why.contains("unqualified"),
            "{why}"
        );
        let long = outcome_of(&"x".repeat(500)).unwrap_err();
        assert!(long.len() < 400 && long.contains('…'), "{long}");
    }

    #[test]
    fn close_dates_in_unambiguous_forms_from_2000_to_now() {
        let local = |d: &str, t: &str| {
            let naive = NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .unwrap()
                .and_time(NaiveTime::parse_from_str(t, "%H:%M:%S").unwrap());
            Local
                .from_local_datetime(&naive)
                .earliest()
                .unwrap()
                .timestamp_millis()
        };
        assert_eq!(
            close_date("2025-07-21T09:15:00Z", NOW),
            Ok(1_753_089_300_000)
        );
        assert_eq!(
            close_date("2025-07-21T11:15:00+02:00", NOW),
            Ok(1_753_089_300_000)
        );
        assert_eq!(
            close_date(" 2025-03-14 ", NOW),
            Ok(local("2025-03-14", "00:00:00"))
        );
        assert_eq!(
            close_date("2025-06-30 14:30", NOW),
            Ok(local("2025-06-30", "14:30:00"))
        );
        assert_eq!(
            close_date("2025-06-30 14:30:15", NOW),
            Ok(local("2025-06-30", "14:30:15"))
        );
        assert_eq!(close_date("2026-11-22T10:00:00Z", NOW), Ok(NOW));
        let said = |v: &str| close_date(v, NOW).unwrap_err();
        assert!(said("2026-11-22T10:00:01Z").contains("is in the future"));
        assert!(said("2027-01-05").contains("\"2027-01-05\" is in the future"));
        assert!(said("1999-12-31T23:59:59Z").contains("before 2000-01-01"));
        assert!(said("03/04/2024").contains("\"03/04/2024\" is ambiguous"));
        assert!(said("04.03.2024").contains("ambiguous"));
        assert!(said("last tuesday").contains("is not a date"));
        assert!(said("2025-02-30").contains("is not a date"));
        assert!(said("soon").contains("YYYY-MM-DD"));
    }
}
