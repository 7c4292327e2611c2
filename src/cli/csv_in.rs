//! Reading a CSV file of leads: any delimiter, common header names recognised, other columns
//! kept as attributes, and a file that `leadq export` wrote read back as the same leads. Pure
//! over a reader, so the property tests can feed it any bytes.
//!
//! Every problem is named with its line: a header that maps two columns to one field, a file
//! that looks separated by another character, an empty file. Rows that cannot be read are
//! listed, not fatal: the service refuses the import if any are left.
//!
//! History from an old CRM comes in through two columns the command line names: the outcome
//! (won, lost or still open) and the close date. Neither is kept as an attribute: they become
//! the lead's closed history, which is what a learned score is trained on.

use std::collections::BTreeMap;
use std::io::Read;

use anyhow::{Result, bail};

use super::csv_profile::Profile;
use super::output::EXPORT_COLUMNS;
use super::usage;
use crate::domain::sanitize::for_display;
use crate::domain::time::Millis;
use crate::domain::{Closed, NewLead};
use history::{close_date, outcome_of};

pub mod history;

pub use crate::domain::fields::{Field, field_named};

/// A row that could not be read or was refused, by its line in the file (or item in JSON).
#[derive(Debug, Clone, PartialEq)]
pub struct BadRow {
    pub line: u64,
    pub reason: String,
}

/// The rows of a file, each with its line, and the rows that could not be read.
#[derive(Debug, Default)]
pub struct Table {
    pub rows: Vec<NewLead>,
    pub lines: Vec<u64>,
    pub bad: Vec<BadRow>,
    /// How each column maps, with samples and leakage figures: asked for by a dry run or an
    /// import of history (`CsvOptions::profile`).
    pub profile: Option<Profile>,
}

/// How to read the file, from the command line.
#[derive(Debug, Clone, Default)]
pub struct CsvOptions {
    /// `--delimiter` as given (None: a comma, and leadq may say the file looks otherwise).
    pub delimiter: Option<String>,
    /// `--map COLUMN=FIELD`.
    pub maps: Vec<String>,
    /// `--name-column COL`.
    pub name_column: Option<String>,
    /// The file's name, for messages.
    pub file: String,
    /// `--outcome-column COL`: won, lost or empty (open) on each row.
    pub outcome_column: Option<String>,
    /// `--closed-column COL`: when each closed row closed.
    pub closed_column: Option<String>,
    /// The service's clock: a close date after it is refused.
    pub now: Millis,
    /// Gather what `Table::profile` holds.
    pub profile: bool,
}

fn delimiter(o: &CsvOptions) -> Result<u8> {
    match o.delimiter.as_deref() {
        None => Ok(b','),
        Some("\\t" | "tab") => Ok(b'\t'),
        Some(d) if d.len() == 1 => Ok(d.as_bytes()[0]),
        Some(d) => Err(usage(format!(
            "--delimiter {:?} must be one character (or tab)",
            for_display(d)
        ))),
    }
}

/// A cell as leadq exported it, back to its value: the `'` that kept a spreadsheet from
/// running `+44 20...` or `=SUM(...)` as a formula comes off again.
pub(super) fn cell(v: &str) -> &str {
    let v = v.trim();
    match v.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest,
        _ => v,
    }
}

/// The fields of the header's columns, with `--name-column` and `--map` applied. A leadq
/// export's own columns (id, score, stage ...) are what leadq computes, not data to import:
/// they are ignored, and every column after them is an attribute by its name.
fn columns(headers: &csv::StringRecord, o: &CsvOptions) -> Result<Vec<Field>> {
    let names: Vec<&str> = headers.iter().map(str::trim).collect();
    let export = names.len() >= EXPORT_COLUMNS.len()
        && names.iter().zip(EXPORT_COLUMNS).all(|(a, b)| *a == b);
    let mut fields: Vec<Field> = names
        .iter()
        .enumerate()
        .map(|(i, name)| match (export, i) {
            (false, _) => field_named(name),
            (true, 1..=7) => field_named(name),
            (true, 0 | 8..=14) => Field::Ignore,
            (true, _) => Field::Attribute(name.to_string()),
        })
        .collect();
    let find = |col: &str| names.iter().position(|h| *h == col.trim());
    let history = history_columns(&names, o)?;
    if let Some(col) = &o.name_column {
        let Some(i) = find(col) else {
            return Err(usage(format!(
                "--name-column {:?}: the file has no such column",
                for_display(col)
            )));
        };
        fields[i] = Field::Name;
    }
    for m in &o.maps {
        let Some((col, field)) = m.split_once('=') else {
            return Err(usage(format!(
                "--map {:?} is not COLUMN=FIELD",
                for_display(m)
            )));
        };
        let Some(i) = find(col) else {
            return Err(usage(format!(
                "--map {:?}: the file has no column {:?}",
                for_display(m),
                for_display(col.trim())
            )));
        };
        fields[i] = match field.trim().strip_prefix("attr:") {
            Some(key) => Field::Attribute(key.to_string()),
            None => field_named(field),
        };
    }
    for (i, field) in history {
        fields[i] = field;
    }
    refuse_duplicates(&names, &fields, o)?;
    Ok(fields)
}

/// The columns `--outcome-column` and `--closed-column` name, which take over whatever the
/// header or a `--map` said.
fn history_columns(names: &[&str], o: &CsvOptions) -> Result<Vec<(usize, Field)>> {
    let mut out = Vec::new();
    if let Some(col) = &o.outcome_column {
        out.push((
            named_column(names, "--outcome-column", col)?,
            Field::Outcome,
        ));
    }
    if let Some(col) = &o.closed_column {
        if o.outcome_column.is_none() {
            return Err(usage(
                "--closed-column needs --outcome-column: a close date means something only for \
                 a row that says whether it was won or lost",
            ));
        }
        let i = named_column(names, "--closed-column", col)?;
        if out.first().is_some_and(|(o, _)| *o == i) {
            return Err(usage(format!(
                "--outcome-column and --closed-column both name {:?}: the close date needs a \
                 column of its own",
                for_display(col)
            )));
        }
        out.push((i, Field::ClosedAt));
    }
    Ok(out)
}

/// The index of the column a flag names, or a usage error listing the columns it may have
/// meant.
fn named_column(names: &[&str], flag: &str, col: &str) -> Result<usize> {
    if let Some(i) = names.iter().position(|h| *h == col.trim()) {
        return Ok(i);
    }
    let near = near_matches(names, col);
    let hint = if near.is_empty() {
        let all: Vec<String> = names
            .iter()
            .take(20)
            .map(|n| format!("{:?}", for_display(n)))
            .collect();
        format!("its columns are {}", all.join(", "))
    } else {
        let near: Vec<String> = near
            .iter()
            .map(|n| format!("{:?}", for_display(n)))
            .collect();
        format!("did you mean {}?", near.join(" or "))
    };
    Err(usage(format!(
        "{flag} {:?}: the file has no such column; {hint}",
        for_display(col)
    )))
}

/// Headers that differ from `col` by case, punctuation, a few typos, or that contain it.
fn near_matches<'a>(names: &[&'a str], col: &str) -> Vec<&'a str> {
    let squash = |s: &str| -> String {
        s.to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric())
            .collect()
    };
    let wanted = squash(col);
    if wanted.is_empty() {
        return Vec::new();
    }
    names
        .iter()
        .filter(|n| {
            let n = squash(n);
            !n.is_empty() && (n.contains(&wanted) || wanted.contains(&n) || edits(&n, &wanted) <= 2)
        })
        .take(3)
        .copied()
        .collect()
}

/// Levenshtein distance, for near matches of short header names.
fn edits(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// Two columns feeding one field: the second would silently win.
fn refuse_duplicates(names: &[&str], fields: &[Field], o: &CsvOptions) -> Result<()> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (i, f) in fields.iter().enumerate() {
        let Some(key) = f.key() else { continue };
        if let Some(&first) = seen.get(&key) {
            bail!(
                "{}: line 1: columns {} ({:?}) and {} ({:?}) both give {}: keep one with \
                 --map '{}=ignore', or keep both with --map '{}=attr:NAME'",
                o.file,
                first + 1,
                for_display(names[first]),
                i + 1,
                for_display(names[i]),
                f.label(),
                for_display(names[i]),
                for_display(names[i]),
            );
        }
        seen.insert(key, i);
    }
    Ok(())
}

/// A row as a lead, or why it cannot be one (an outcome or a close date leadq cannot read).
fn row_to_lead(
    record: &csv::StringRecord,
    fields: &[Field],
    headers: &[&str],
    now: Millis,
) -> Result<NewLead, String> {
    let mut lead = NewLead::default();
    let (mut first, mut last) = (String::new(), String::new());
    let mut attributes = BTreeMap::new();
    let (mut outcome, mut closed_at) = (None, None);
    for (value, field) in record.iter().zip(fields) {
        let v = cell(value);
        if v.is_empty() {
            continue;
        }
        let set = |slot: &mut Option<String>| *slot = Some(v.to_string());
        match field {
            Field::Name => lead.name = v.to_string(),
            Field::FirstName => first = v.to_string(),
            Field::LastName => last = v.to_string(),
            Field::Email => set(&mut lead.email),
            Field::Phone => set(&mut lead.phone),
            Field::Company => set(&mut lead.company),
            Field::Source => set(&mut lead.source),
            Field::Owner => set(&mut lead.owner),
            Field::Tags => lead
                .tags
                .extend(v.split([',', ';', '|']).map(|t| cell(t).to_string())),
            Field::Ignore => {}
            Field::Attribute(k) => {
                attributes.insert(k.clone(), v.to_string());
            }
            Field::Outcome => outcome = Some(column_of(fields, headers, field, v, outcome_of)?),
            Field::ClosedAt => closed_at = Some(v),
        }
    }
    if lead.name.is_empty() {
        lead.name = format!("{first} {last}").trim().to_string();
    }
    lead.attributes = attributes;
    // A close date on an open row is the CRM's expected close, not history: it is dropped.
    if let Some(won) = outcome {
        let at = match closed_at {
            Some(v) => Some(column_of(fields, headers, &Field::ClosedAt, v, |v| {
                close_date(v, now)
            })?),
            None => None,
        };
        lead.closed = Some(Closed { won, at });
    }
    Ok(lead)
}

/// Reads the cell `v` of the column that feeds `field`; a refusal names the column.
fn column_of<T>(
    fields: &[Field],
    headers: &[&str],
    field: &Field,
    v: &str,
    read: impl Fn(&str) -> Result<T, String>,
) -> Result<T, String> {
    read(v).map_err(|why| {
        let column = fields
            .iter()
            .position(|f| f == field)
            .map_or("", |i| headers[i]);
        format!("column {:?}: {why}", for_display(column))
    })
}

/// Says so when a header read with commas is one column that another separator would split:
/// every row would otherwise fail with "a lead needs a name".
fn sniff(headers: &csv::StringRecord, o: &CsvOptions) -> Result<()> {
    if o.delimiter.is_some() || headers.len() != 1 {
        return Ok(());
    }
    let header = &headers[0];
    for (sep, flag) in [(';', "';'"), ('\t', "tab"), ('|', "'|'")] {
        if header.contains(sep) {
            let shown: String = for_display(header).chars().take(60).collect();
            return Err(usage(format!(
                "{}: line 1: the header {shown:?} looks {}-separated, not comma-separated: \
                 pass --delimiter {flag}",
                o.file,
                if sep == '\t' {
                    "tab".to_string()
                } else {
                    sep.to_string()
                },
            )));
        }
    }
    Ok(())
}

fn reason(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("has {len} fields, the header has {expected_len}"),
        csv::ErrorKind::Utf8 { .. } => "is not valid UTF-8".to_string(),
        _ => e.to_string(),
    }
}

/// Reads every row of a CSV file. An empty file, a header that cannot be read or that maps
/// two columns to one field, and bad flags are errors; a row that cannot be read is listed in
/// `bad` with its line.
pub fn read_csv(input: impl Read, o: &CsvOptions) -> Result<Table> {
    use std::io::BufRead;
    let delimiter = delimiter(o)?;
    let mut input = std::io::BufReader::with_capacity(64 * 1024, input);
    // The csv reader counts a CRLF file's lines one short (a record's position is taken
    // before the line feed that starts it): lines are told as an editor shows them.
    let crlf = match input.fill_buf() {
        Ok(buf) => buf
            .iter()
            .position(|b| *b == b'\n')
            .is_some_and(|i| i > 0 && buf[i - 1] == b'\r'),
        Err(_) => false,
    };
    let shift = u64::from(crlf);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(false)
        .from_reader(input);
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) if matches!(e.kind(), csv::ErrorKind::Io(_)) => {
            bail!("cannot read {}: {e}", o.file)
        }
        Err(e) => bail!("{}: line 1: cannot read the header: {}", o.file, reason(&e)),
    };
    if headers.iter().all(|h| h.trim().is_empty()) {
        bail!(
            "{} is empty: a CSV file to import starts with a header line naming its columns",
            o.file
        );
    }
    sniff(&headers, o)?;
    let fields = columns(&headers, o)?;
    let names: Vec<&str> = headers.iter().map(str::trim).collect();
    let mut table = Table {
        profile: o
            .profile
            .then(|| Profile::new(&names, &fields, o.outcome_column.is_some())),
        ..Table::default()
    };
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = record.position().map_or(0, |p| p.line() + shift);
                match row_to_lead(&record, &fields, &names, o.now) {
                    Ok(lead) => {
                        if let Some(p) = &mut table.profile {
                            p.add(&record, lead.closed.map(|c| c.won));
                        }
                        table.lines.push(line);
                        table.rows.push(lead);
                    }
                    Err(reason) => table.bad.push(BadRow { line, reason }),
                }
            }
            Err(e) if matches!(e.kind(), csv::ErrorKind::Io(_)) => {
                bail!("cannot read {}: {e}", o.file)
            }
            Err(e) => table.bad.push(BadRow {
                line: e.position().map_or(0, |p| p.line() + shift),
                reason: reason(&e),
            }),
        }
    }
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> CsvOptions {
        CsvOptions {
            file: "t.csv".into(),
            now: 1_795_341_600_000,
            ..CsvOptions::default()
        }
    }

    fn history(outcome: &str, closed: Option<&str>) -> CsvOptions {
        CsvOptions {
            outcome_column: Some(outcome.into()),
            closed_column: closed.map(str::to_string),
            ..options()
        }
    }

    #[test]
    fn typical_crm_headers_map_to_fields() {
        let attr = |k: &str| Field::Attribute(k.into());
        let cases = [
            ("First Name", Field::FirstName),
            ("Last Name", Field::LastName),
            ("Email Address", Field::Email),
            ("E-mail", Field::Email),
            ("Mobile Phone", Field::Phone),
            ("Business Phone", Field::Phone),
            ("Account Name", Field::Company),
            (
                "Company / Account",
                Field::Attribute("Company / Account".into()),
            ),
            ("Lead Source", Field::Source),
            ("Original Source", Field::Source),
            ("Lead Owner", Field::Owner),
            ("Job Title", attr("title")),
            ("jobtitle", attr("title")),
            ("Title", attr("title")),
            ("Position", attr("title")),
            ("No. of Employees", attr("company_size")),
            ("Number of Employees", attr("company_size")),
            ("Employee Count", attr("company_size")),
            ("Headcount", attr("company_size")),
            ("company_size", attr("company_size")),
            ("Annual Revenue", attr("annual_revenue")),
            ("Industry", attr("industry")),
            ("Budget", attr("budget")),
            ("Favourite Colour", attr("Favourite Colour")),
        ];
        for (header, field) in cases {
            assert_eq!(field_named(header), field, "{header}");
        }
    }

    /// A file saved on Windows (CRLF) names its bad rows by the lines an editor shows.
    #[test]
    fn crlf_lines_are_counted_as_shown() {
        let text = "Name,Converted\r\nAnn,yes\r\nBo,perhaps\r\nCy,no\r\n";
        let t = read_csv(text.as_bytes(), &history("Converted", None)).unwrap();
        assert_eq!(t.lines, [2, 4]);
        assert_eq!(t.bad.iter().map(|b| b.line).collect::<Vec<_>>(), [3]);
        let lf = text.replace("\r\n", "\n");
        let t = read_csv(lf.as_bytes(), &history("Converted", None)).unwrap();
        assert_eq!(t.lines, [2, 4]);
        assert_eq!(t.bad.iter().map(|b| b.line).collect::<Vec<_>>(), [3]);
    }

    #[test]
    fn two_title_columns_are_refused_naming_both() {
        let e = read_csv(&b"Name,Title,Job Title\nAnn,CTO,CTO\n"[..], &options()).unwrap_err();
        let e = e.to_string();
        assert!(
            e.contains("t.csv: line 1: columns 2 (\"Title\") and 3 (\"Job Title\")"),
            "{e}"
        );
        assert!(e.contains("the attribute \"title\""), "{e}");
    }

    #[test]
    fn outcome_and_close_date_become_history_not_attributes() {
        let text = "Name,Converted,Closed Date,Stage\n\
                    Ann,Yes,2025-03-14T00:00:00Z,Closed Won\n\
                    Bo,no,,Closed Lost\n\
                    Cy,,2027-01-01,Open\n\
                    Di,perhaps,,Open\n\
                    Ed,won,2031-01-01,Closed Won\n";
        let t = read_csv(text.as_bytes(), &history("Converted", Some("Closed Date"))).unwrap();
        let closed: Vec<_> = t.rows.iter().map(|r| r.closed).collect();
        assert_eq!(
            closed,
            [
                Some(Closed {
                    won: true,
                    at: Some(1_741_910_400_000)
                }),
                Some(Closed {
                    won: false,
                    at: None
                }),
                None,
            ]
        );
        assert_eq!(t.lines, [2, 3, 4]);
        assert!(t.rows.iter().all(|r| r.attributes.keys().eq(["Stage"])));
        assert_eq!(t.bad.len(), 2, "{:?}", t.bad);
        assert_eq!(t.bad[0].line, 5);
        assert!(
            t.bad[0]
                .reason
                .starts_with("column \"Converted\": \"perhaps\" is not an outcome")
        );
        assert_eq!(t.bad[1].line, 6);
        assert!(
            t.bad[1]
                .reason
                .starts_with("column \"Closed Date\": \"2031-01-01\" is in the future")
        );
    }

    #[test]
    fn history_flags_name_columns_the_file_has() {
        let text = &b"Name,Converted,Closed Date\nAnn,1,\n"[..];
        let said = |o: CsvOptions| read_csv(text, &o).unwrap_err().to_string();
        let e = said(history("Convrted", None));
        assert!(e.contains("--outcome-column \"Convrted\": the file has no such column; did you mean \"Converted\"?"), "{e}");
        let e = said(history("Converted", Some("Close")));
        assert!(
            e.contains("--closed-column \"Close\"") && e.contains("\"Closed Date\""),
            "{e}"
        );
        let e = said(history("zzz", None));
        assert!(
            e.contains("its columns are \"Name\", \"Converted\", \"Closed Date\""),
            "{e}"
        );
        let e = said(CsvOptions {
            closed_column: Some("Closed Date".into()),
            ..options()
        });
        assert!(e.contains("--closed-column needs --outcome-column"), "{e}");
        let e = said(history("Converted", Some("Converted")));
        assert!(e.contains("both name \"Converted\""), "{e}");
    }
}
