//! Property tests for every parser of outside data: the frame decoder, the CSV importer and
//! the date parsers. Whatever the bytes, no panic; and the store changes only when the input
//! is accepted, never half-way.

use std::collections::BTreeMap;

use proptest::prelude::*;

use leadq::cli::csv_in::{CsvOptions, read_csv};
use leadq::domain::time::{parse_past, parse_when};
use leadq::domain::{Kind, NewLead, limits};
use leadq::remote::protocol::{
    ClientFrame, Hello, MAX_FRAME, ServerFrame, Welcome, read_frame_within,
};
use leadq::service::{ImportOptions, LeadService, Local, LogEntry, Settings};
use leadq::store::Store;

const NOW: i64 = 1_795_860_000_000; // 2026-11-22T10:00:00Z

fn service() -> Local {
    let settings = Settings {
        fixed_now: Some(NOW),
        user: "tester".into(),
        ..Settings::default()
    };
    Local::new(Store::temporary().unwrap(), settings).unwrap()
}

/// Everything a store holds that a reader sees: every lead with its timeline.
fn everything(s: &Local) -> BTreeMap<u64, String> {
    s.export()
        .unwrap()
        .into_iter()
        .map(|v| (v.lead.id, format!("{:?}", s.show(v.lead.id).unwrap())))
        .collect()
}

fn framed(len: u32, body: &[u8]) -> Vec<u8> {
    let mut out = len.to_be_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

/// Text that looks like CSV: known and unknown headers, cells with quotes, delimiters, line
/// breaks, formula guards, control characters, long and empty values.
fn csv_like() -> impl Strategy<Value = String> {
    let header = prop::sample::select(vec![
        "name",
        "email",
        "phone",
        "company",
        "owner",
        "tags",
        "source",
        "first name",
        "Last Name",
        "E-mail",
        "city",
        "id",
        "score",
        "",
        "\"q\"\"uoted\"",
    ]);
    let cell = prop_oneof![
        Just(String::new()),
        "[a-zA-Z ]{0,12}",
        "[a-z]{1,8}@[a-z]{1,6}\\.example",
        "\\+?[0-9 ()-]{0,18}",
        "'[=+@-][a-z0-9()]{0,6}",
        "\"[^\"]{0,10}\"",
        ".{0,20}",
        Just("a,b;c\nd".to_string()),
        Just("x".repeat(300)),
    ];
    (
        prop::collection::vec(header, 1..6),
        prop::collection::vec(prop::collection::vec(cell, 0..7), 0..6),
        prop::sample::select(vec![",", ";", "\t"]),
    )
        .prop_map(|(headers, rows, sep)| {
            let mut text = headers.join(sep);
            text.push('\n');
            for row in rows {
                text.push_str(&row.join(sep));
                text.push('\n');
            }
            text
        })
}

/// A file with history columns: the header names an outcome and a close date column, and the
/// body is either arbitrary bytes or rows of outcome words, dates good and bad, and noise.
fn history_file() -> impl Strategy<Value = Vec<u8>> {
    let outcome = prop_oneof![
        prop::sample::select(vec![
            "",
            "1",
            "0",
            "Yes",
            " no ",
            "WON",
            "Closed Won",
            "closed-lost",
            "maybe",
            "2",
            "not converted",
            "unqualified",
            "\u{1b}[2J",
        ])
        .prop_map(str::to_string),
        ".{0,12}",
    ];
    let date = prop_oneof![
        prop::sample::select(vec![
            "",
            "2025-03-14",
            "2025-06-30 14:30",
            "2025-06-30T14:30:05",
            "2025-07-21T09:15:00Z",
            "2025-07-21T11:15:00+02:00",
            "2099-01-01",
            "1999-12-31",
            "03/04/2024",
            "2025-02-30",
            "9999-99-99",
            "+262143-01-01",
        ])
        .prop_map(str::to_string),
        "[0-9]{1,6}-[0-9]{1,3}-[0-9]{1,3}( [0-9]{1,3}:[0-9]{1,3})?",
        ".{0,20}",
    ];
    let row = (outcome, date, "[a-zA-Z ]{0,10}").prop_map(|(o, d, n)| {
        let quote = |c: &str| format!("\"{}\"", c.replace('"', "\"\""));
        format!("{},{},{}\n", quote(&n), quote(&o), quote(&d))
    });
    let header = b"Name,Outcome,Closed\n".to_vec();
    prop_oneof![
        prop::collection::vec(row, 0..12).prop_map(move |rows| {
            let mut text = header.clone();
            text.extend(rows.concat().into_bytes());
            text
        }),
        prop::collection::vec(any::<u8>(), 0..1024).prop_map(|body| {
            let mut text = b"Name,Outcome,Closed\n".to_vec();
            text.extend(body);
            text
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any bytes, as a frame of any message a peer can send or receive: an error or a value,
    /// never a panic, and never more read than the bytes hold.
    #[test]
    fn the_frame_decoder_takes_any_bytes(
        body in prop::collection::vec(any::<u8>(), 0..512),
        declared in prop_oneof![Just(None), (0u32..1024).prop_map(Some), Just(Some(u32::MAX))],
    ) {
        let bytes = match declared {
            Some(len) => framed(len, &body),
            None => framed(body.len() as u32, &body),
        };
        let _ = read_frame_within::<_, ClientFrame>(&mut &bytes[..], MAX_FRAME, None);
        let _ = read_frame_within::<_, Hello>(&mut &bytes[..], 1024, None);
        let _ = read_frame_within::<_, ServerFrame>(&mut &bytes[..], MAX_FRAME, None);
        let _ = read_frame_within::<_, Welcome>(&mut &bytes[..], MAX_FRAME, None);
        let _ = read_frame_within::<_, ClientFrame>(&mut &body[..], MAX_FRAME, None);
    }

    /// JSON that is nearly a request (each kind with its fields shuffled, numbers out of
    /// range): decoded or refused, never a panic.
    #[test]
    fn the_frame_decoder_takes_near_requests(
        kind in prop::sample::select(vec![
            "Add", "Import", "Log", "SetStage", "Won", "Snooze", "Assign", "SetNext",
            "Annotate", "Undo", "List", "Show", "Export", "Demo", "Stats", "Health",
            "Sources", "Subscribe", "SetPresence", "Backup", "Ping", "Shutdown",
        ]),
        field in prop::sample::select(vec!["id", "entry", "action", "owner", "at", "until",
            "rows", "count", "path", "force", "note", "stage", "reason"]),
        value in prop_oneof![
            Just("null".to_string()), Just("-1".to_string()), Just("1e400".to_string()),
            Just("18446744073709551616".to_string()), Just("\"\\u0000\"".to_string()),
            Just("{}".to_string()), Just("[]".to_string()), "[0-9]{1,25}",
        ],
    ) {
        for text in [
            format!(r#"{{"id":1,"request":{{"{kind}":{{"{field}":{value}}}}}}}"#),
            format!(r#"{{"id":{value},"request":"{kind}"}}"#),
            format!(r#"{{"id":1,"request":{{"{kind}":{value}}}}}"#),
        ] {
            let bytes = framed(text.len() as u32, text.as_bytes());
            let _ = read_frame_within::<_, ClientFrame>(&mut &bytes[..], MAX_FRAME, None);
        }
    }

    /// Any bytes as a CSV file: read, or refused with a message; never a panic.
    #[test]
    fn the_csv_reader_takes_any_bytes(
        bytes in prop::collection::vec(any::<u8>(), 0..2048),
        delimiter in prop_oneof![Just(None), Just(Some(";".to_string())), Just(Some(";;".to_string()))],
    ) {
        let options = CsvOptions { delimiter, file: "any.csv".into(), ..CsvOptions::default() };
        if let Err(e) = read_csv(&bytes[..], &options) {
            prop_assert!(!e.to_string().is_empty());
        }
    }

    /// A file of history, whatever its bytes: no panic, and every record the CSV holds is
    /// either a row (its outcome and close date read, the date within 2000..now) or a bad row
    /// named by its line, never both and never lost.
    #[test]
    fn history_columns_take_any_bytes(bytes in history_file()) {
        let options = CsvOptions {
            file: "history.csv".into(),
            outcome_column: Some("Outcome".into()),
            closed_column: Some("Closed".into()),
            now: NOW,
            profile: true,
            ..CsvOptions::default()
        };
        let table = read_csv(&bytes[..], &options).expect("the header is good");
        let records = csv::ReaderBuilder::new().from_reader(&bytes[..]).records().count();
        prop_assert_eq!(table.rows.len() + table.bad.len(), records);
        prop_assert_eq!(table.lines.len(), table.rows.len());
        // Lines in file order (a lone \r ends a record without starting a line, so two
        // records may share one).
        let bad_lines: Vec<u64> = table.bad.iter().map(|b| b.line).collect();
        for lines in [&table.lines, &bad_lines] {
            prop_assert!(lines.windows(2).all(|w| w[0] <= w[1]), "{:?}", lines);
            prop_assert!(lines.iter().all(|l| *l >= 2), "{:?}", lines);
        }
        for row in &table.rows {
            prop_assert!(!row.attributes.contains_key("Outcome") && !row.attributes.contains_key("Closed"));
            if let Some(at) = row.closed.and_then(|c| c.at) {
                prop_assert!((limits::EARLIEST..=NOW).contains(&at), "{}", at);
            }
        }
        for bad in &table.bad {
            prop_assert!(!bad.reason.is_empty());
            prop_assert!(!bad.reason.chars().any(|c| c.is_control()), "{:?}", bad.reason);
        }
        let profile = table.profile.expect("asked for");
        let o = profile.outcomes;
        prop_assert_eq!(o.won + o.lost + o.open, table.rows.len());
        prop_assert_eq!(profile.report().len(), 3);
    }

    /// CSV-like files imported into a store: written whole when every row is valid, else the
    /// store is exactly as before. Never a second card for one e-mail.
    #[test]
    fn an_import_changes_the_store_only_when_accepted(text in csv_like(), skip in any::<bool>()) {
        let s = service();
        s.add(NewLead {
            name: "Known".into(),
            email: Some("known@x.example".into()),
            ..NewLead::default()
        }).unwrap();
        let before = everything(&s);
        let options = CsvOptions { file: "prop.csv".into(), ..CsvOptions::default() };
        let Ok(table) = read_csv(text.as_bytes(), &options) else { return Ok(()) };
        let unreadable = !table.bad.is_empty();
        let import = ImportOptions {
            skip_invalid: skip,
            dry_run: unreadable && !skip,
            origin: "prop.csv".into(),
            ..ImportOptions::default()
        };
        let rows = table.rows.len();
        let report = s.import(table.rows, &import).unwrap();
        let after = everything(&s);
        if report.written {
            prop_assert!(report.invalid.is_empty() || skip);
            prop_assert_eq!(report.created + report.merged + report.invalid.len(), rows);
            prop_assert_eq!(after.len(), before.len() + report.created);
        } else {
            prop_assert_eq!(&after, &before, "a refused import changed the store");
        }
        let emails: Vec<String> = s.export().unwrap().into_iter()
            .filter_map(|v| v.lead.email.map(|e| e.to_lowercase()))
            .collect();
        let mut unique = emails.clone();
        unique.sort();
        unique.dedup();
        prop_assert_eq!(unique.len(), emails.len(), "two cards for one e-mail");
    }

    /// Any text as a date or a time: a time within leadq's range, or an error; and a log at
    /// that time is stored only when the range allows it.
    #[test]
    fn the_date_parsers_take_any_text(text in prop_oneof![
        ".{0,40}",
        "[0-9+-]{0,25}[dwhm]",
        "[0-9]{1,6}-[0-9]{1,3}-[0-9]{1,3}( [0-9]{1,3}:[0-9]{1,3})?",
        Just("9999999999999999999w".to_string()),
        Just("99999999999999h".to_string()),
        Just("-99999999999999h".to_string()),
    ]) {
        let forward = parse_when(&text, NOW);
        let back = parse_past(&text, NOW);
        let s = service();
        let id = s.add(NewLead {
            name: "Ann".into(),
            email: Some("ann@x.example".into()),
            ..NewLead::default()
        }).unwrap().id;
        let before = everything(&s);
        if let Ok(at) = back {
            let entry = LogEntry {
                kind: Kind::Note,
                outcome: None,
                note: Some("x".into()),
                at: Some(at),
                next_action: forward.as_ref().ok().copied(),
                duration_secs: None,
            };
            let in_range = limits::happened("t", at, NOW).is_ok()
                && forward.as_ref().map_or(true, |n| limits::follow_up("n", *n, NOW).is_ok());
            match s.log(id, entry) {
                Ok(_) => prop_assert!(in_range, "{text:?} stored out of range"),
                Err(_) => {
                    prop_assert!(!in_range, "{text:?} refused within range");
                    prop_assert_eq!(everything(&s), before);
                }
            }
        }
    }
}

/// FNV-1a, as a backup file's checksum is made: to craft files whose damage the checksum does
/// not catch, so that the reader behind it is tried too.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// A small store's backup file, made once.
fn a_backup() -> &'static [u8] {
    static BYTES: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BYTES.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let s = Local::new(
            Store::open(&dir.path().join("store"), leadq::store::DEFAULT_CACHE_BYTES).unwrap(),
            Settings {
                fixed_now: Some(NOW),
                ..Settings::default()
            },
        )
        .unwrap();
        s.demo(5, 1).unwrap();
        let file = dir.path().join("b.lqb");
        s.store()
            .backup_to(&file, leadq::store::BackupTarget::New)
            .unwrap();
        std::fs::read(file).unwrap()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Whatever a backup file holds (cut short, a byte changed with the checksum made to
    /// match, garbage), a restore builds a store or says why not, never panics, and leaves no
    /// half-built store behind.
    #[test]
    fn a_damaged_backup_restores_whole_or_not_at_all(
        cut in proptest::option::of(0.0f64..1.0),
        flips in proptest::collection::vec((0.0f64..1.0, any::<u8>()), 0..4),
        resum in prop_oneof![1 => Just(false), 3 => Just(true)],
        garbage in prop_oneof![
            7 => Just(None),
            1 => proptest::collection::vec(any::<u8>(), 0..64).prop_map(Some),
        ],
    ) {
        let mut bytes = a_backup().to_vec();
        if let Some(g) = garbage {
            bytes = g;
        }
        let at = |f: f64, n: usize| ((f * n as f64) as usize).min(n.saturating_sub(1));
        for (f, b) in flips {
            let i = at(f, bytes.len());
            if let Some(x) = bytes.get_mut(i) {
                *x = b;
            }
        }
        if let Some(f) = cut {
            bytes.truncate(at(f, bytes.len()));
        }
        if resum && bytes.len() > 8 {
            let body = bytes.len() - 8;
            let sum = fnv(&bytes[..body]);
            bytes[body..].copy_from_slice(&sum.to_be_bytes());
        }
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("in.lqb");
        std::fs::write(&file, &bytes).unwrap();
        let target = dir.path().join("restored");
        match Store::restore_new(&file, &target) {
            Ok(_) => prop_assert!(target.exists()),
            Err(e) => {
                prop_assert!(!e.to_string().is_empty());
                prop_assert!(!target.exists(), "a failed restore left {target:?}: {e}");
            }
        }
    }
}
