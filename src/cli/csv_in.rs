//! Reading a CSV file of leads: any delimiter, common header names recognised, other columns
//! kept as attributes, and a file that `leadq export` wrote read back as the same leads. Pure
//! over a reader, so the property tests can feed it any bytes.
//!
//! Every problem is named with its line: a header that maps two columns to one field, a file
//! that looks separated by another character, an empty file. Rows that cannot be read are
//! listed, not fatal: the service refuses the import if any are left.

use std::collections::BTreeMap;
use std::io::Read;

use anyhow::{Result, bail};

use super::output::EXPORT_COLUMNS;
use super::usage;
use crate::domain::NewLead;
use crate::domain::sanitize::for_display;

/// What a column feeds.
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    Name,
    FirstName,
    LastName,
    Email,
    Phone,
    Company,
    Source,
    Owner,
    Tags,
    Ignore,
    Attribute(String),
}

impl Field {
    /// What the field is called in a message.
    fn label(&self) -> String {
        match self {
            Field::Name => "the name".into(),
            Field::FirstName => "the first name".into(),
            Field::LastName => "the last name".into(),
            Field::Email => "the e-mail".into(),
            Field::Phone => "the phone".into(),
            Field::Company => "the company".into(),
            Field::Source => "the source".into(),
            Field::Owner => "the owner".into(),
            Field::Tags => "tags".into(),
            Field::Ignore => "nothing".into(),
            Field::Attribute(k) => format!("the attribute {k:?}"),
        }
    }

    /// Two columns with the same key would overwrite each other; tags add up and ignored
    /// columns feed nothing. Attribute names compare as leadq matches them (case ignored,
    /// spaces and dashes as underscores).
    fn key(&self) -> Option<String> {
        match self {
            Field::Tags | Field::Ignore => None,
            Field::Attribute(k) => Some(format!(
                "attr:{}",
                k.to_lowercase().replace([' ', '-'], "_")
            )),
            other => Some(format!("{other:?}")),
        }
    }
}

/// The field a header (or a `--map` target) names.
pub fn field_named(word: &str) -> Field {
    let w: String = word
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect();
    match w.as_str() {
        "name" | "fullname" | "contactname" | "contact" | "leadname" | "person" => Field::Name,
        "firstname" | "givenname" | "first" => Field::FirstName,
        "lastname" | "surname" | "familyname" | "last" => Field::LastName,
        "email" | "emailaddress" | "mail" | "workemail" => Field::Email,
        "phone" | "phonenumber" | "telephone" | "tel" | "mobile" | "cell" | "mobilephone"
        | "workphone" => Field::Phone,
        "company" | "companyname" | "organization" | "organisation" | "account" | "org"
        | "employer" => Field::Company,
        "source" | "leadsource" | "channel" | "utmsource" => Field::Source,
        "owner" | "rep" | "assignedto" | "salesrep" | "accountowner" => Field::Owner,
        "tags" | "tag" | "labels" => Field::Tags,
        "ignore" | "skip" => Field::Ignore,
        _ => Field::Attribute(word.trim().to_string()),
    }
}

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
fn cell(v: &str) -> &str {
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
    refuse_duplicates(&names, &fields, o)?;
    Ok(fields)
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

fn row_to_lead(record: &csv::StringRecord, fields: &[Field]) -> NewLead {
    let mut lead = NewLead::default();
    let (mut first, mut last) = (String::new(), String::new());
    let mut attributes = BTreeMap::new();
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
        }
    }
    if lead.name.is_empty() {
        lead.name = format!("{first} {last}").trim().to_string();
    }
    lead.attributes = attributes;
    lead
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
    let delimiter = delimiter(o)?;
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
    let mut table = Table::default();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                table.lines.push(record.position().map_or(0, |p| p.line()));
                table.rows.push(row_to_lead(&record, &fields));
            }
            Err(e) if matches!(e.kind(), csv::ErrorKind::Io(_)) => {
                bail!("cannot read {}: {e}", o.file)
            }
            Err(e) => table.bad.push(BadRow {
                line: e.position().map_or(0, |p| p.line()),
                reason: reason(&e),
            }),
        }
    }
    Ok(table)
}
