//! `leadq import FILE`: CSV (any delimiter, common header names recognised, other columns kept
//! as attributes) or JSON from `leadq export`. Every row is checked before anything is written.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use serde::Deserialize;

use super::output::print_json;
use super::{Exit, Format, usage};
use crate::domain::NewLead;
use crate::domain::sanitize::for_display;
use crate::service::{ImportOptions, ImportReport, LeadService};

#[derive(Debug, clap::Args)]
pub struct Args {
    pub file: PathBuf,
    /// Field separator of the CSV (default ,)
    #[arg(long, default_value = ",")]
    pub delimiter: String,
    /// Read COLUMN as FIELD: name first_name last_name email phone company source owner tags
    /// ignore, or any other word for an attribute of that name (repeatable)
    #[arg(long = "map", value_name = "COLUMN=FIELD")]
    pub map: Vec<String>,
    /// Check every row and report, but write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Import the valid rows even if some are invalid (they are still listed; exit code 3)
    #[arg(long)]
    pub skip_invalid: bool,
    /// Accept rows with no name and no contact data (e.g. a call log without identities)
    #[arg(long)]
    pub allow_anonymous: bool,
    /// With --allow-anonymous: the column that names each lead (else "Lead <id>")
    #[arg(long, value_name = "COL")]
    pub name_column: Option<String>,
    /// csv or json (default: from the file name, else csv)
    #[arg(long = "input-format", value_name = "FORMAT")]
    pub input_format: Option<String>,
    /// How to print the summary
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// What a column feeds.
#[derive(Debug, Clone, PartialEq)]
enum Field {
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

fn field_named(word: &str) -> Field {
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

/// A row that could not be read or was refused, by its line in the file.
struct BadRow {
    line: u64,
    reason: String,
}

struct Parsed {
    rows: Vec<NewLead>,
    lines: Vec<u64>,
    bad: Vec<BadRow>,
}

fn columns(headers: &csv::StringRecord, a: &Args) -> Result<Vec<Field>> {
    let mut fields: Vec<Field> = headers.iter().map(field_named).collect();
    if let Some(col) = &a.name_column {
        let Some(i) = headers.iter().position(|h| h.trim() == col.trim()) else {
            return Err(usage(format!(
                "--name-column {col:?}: the file has no such column"
            )));
        };
        fields[i] = Field::Name;
    }
    for m in &a.map {
        let Some((col, field)) = m.split_once('=') else {
            return Err(usage(format!("--map {m:?} is not COLUMN=FIELD")));
        };
        let Some(i) = headers.iter().position(|h| h.trim() == col.trim()) else {
            return Err(usage(format!(
                "--map {m:?}: the file has no column {:?}",
                col.trim()
            )));
        };
        fields[i] = match field.trim().strip_prefix("attr:") {
            Some(key) => Field::Attribute(key.to_string()),
            None => field_named(field),
        };
    }
    Ok(fields)
}

fn row_to_lead(record: &csv::StringRecord, fields: &[Field]) -> NewLead {
    let mut lead = NewLead::default();
    let (mut first, mut last) = (String::new(), String::new());
    let mut attributes = BTreeMap::new();
    for (value, field) in record.iter().zip(fields) {
        let v = value.trim();
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
                .extend(v.split([',', ';', '|']).map(|t| t.trim().to_string())),
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

fn parse_csv(a: &Args) -> Result<Parsed> {
    let delimiter = match a.delimiter.as_str() {
        "\\t" | "tab" => b'\t',
        d if d.len() == 1 => d.as_bytes()[0],
        d => {
            return Err(usage(format!(
                "--delimiter {d:?} must be one character (or tab)"
            )));
        }
    };
    let file = std::fs::File::open(&a.file)
        .with_context(|| format!("cannot open {}", a.file.display()))?;
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(false)
        .from_reader(file);
    let headers = reader
        .headers()
        .with_context(|| format!("{}: line 1: cannot read the header", a.file.display()))?
        .clone();
    let fields = columns(&headers, a)?;
    let mut parsed = Parsed {
        rows: Vec::new(),
        lines: Vec::new(),
        bad: Vec::new(),
    };
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                parsed.lines.push(record.position().map_or(0, |p| p.line()));
                parsed.rows.push(row_to_lead(&record, &fields));
            }
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                let reason = match e.kind() {
                    csv::ErrorKind::UnequalLengths {
                        expected_len, len, ..
                    } => {
                        format!("has {len} fields, the header has {expected_len}")
                    }
                    csv::ErrorKind::Utf8 { .. } => "is not valid UTF-8".to_string(),
                    _ => e.to_string(),
                };
                parsed.bad.push(BadRow { line, reason });
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    break;
                }
            }
        }
    }
    Ok(parsed)
}

/// A lead in a JSON file, as `leadq export --format json` writes it; computed fields
/// (score, temperature ...) are ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct JsonLead {
    name: String,
    email: Option<String>,
    phone: Option<String>,
    company: Option<String>,
    source: Option<String>,
    owner: Option<String>,
    tags: Vec<String>,
    attributes: BTreeMap<String, String>,
}

fn parse_json(a: &Args) -> Result<Parsed> {
    let text = std::fs::read_to_string(&a.file)
        .with_context(|| format!("cannot read {}", a.file.display()))?;
    let items: Vec<serde_json::Value> = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a JSON array of leads", a.file.display()))?;
    let mut parsed = Parsed {
        rows: Vec::new(),
        lines: Vec::new(),
        bad: Vec::new(),
    };
    for (i, item) in items.into_iter().enumerate() {
        match serde_json::from_value::<JsonLead>(item) {
            Ok(j) => {
                parsed.lines.push(i as u64 + 1);
                parsed.rows.push(NewLead {
                    name: j.name,
                    email: j.email,
                    phone: j.phone,
                    company: j.company,
                    source: j.source,
                    owner: j.owner,
                    tags: j.tags,
                    attributes: j.attributes,
                });
            }
            Err(e) => parsed.bad.push(BadRow {
                line: i as u64 + 1,
                reason: e.to_string(),
            }),
        }
    }
    Ok(parsed)
}

pub fn run(s: &dyn LeadService, a: &Args) -> Result<ExitCode> {
    let json = match a.input_format.as_deref() {
        Some("json") => true,
        Some("csv") | None => {
            a.input_format.is_none()
                && a.file
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        }
        Some(other) => return Err(usage(format!("--input-format {other:?}: use csv or json"))),
    };
    let parsed = if json { parse_json(a)? } else { parse_csv(a)? };
    let unit = if json { "item" } else { "line" };
    let options = ImportOptions {
        anonymous: a.allow_anonymous,
        skip_invalid: a.skip_invalid,
        dry_run: a.dry_run || (!parsed.bad.is_empty() && !a.skip_invalid),
        origin: a
            .file
            .file_name()
            .map_or("a file".into(), |f| f.to_string_lossy().into_owned()),
    };
    let mut report = s.import(parsed.rows, &options)?;
    let mut bad = parsed.bad;
    bad.extend(report.invalid.iter().map(|(i, reason)| BadRow {
        line: parsed.lines[*i],
        reason: reason.clone(),
    }));
    bad.sort_by_key(|b| b.line);
    report.rows += bad.len() - report.invalid.len();
    print_report(a, &report, &bad, unit)?;
    if !bad.is_empty() {
        return Err(Exit(if a.skip_invalid { 3 } else { 1 }).into());
    }
    Ok(ExitCode::SUCCESS)
}

fn print_report(a: &Args, r: &ImportReport, bad: &[BadRow], unit: &str) -> Result<()> {
    let file = a.file.display();
    if a.format == Format::Json {
        let invalid: Vec<_> = bad
            .iter()
            .map(|b| serde_json::json!({ unit: b.line, "reason": b.reason }))
            .collect();
        return print_json(&serde_json::json!({
            "file": file.to_string(), "rows": r.rows, "created": r.created, "merged": r.merged,
            "invalid": invalid, "written": r.written,
        }));
    }
    for b in bad {
        tell!("{file}: {unit} {}: {}", b.line, for_display(&b.reason));
    }
    let summary = format!(
        "{} rows: {} new, {} merged into known leads, {} invalid",
        r.rows,
        r.created,
        r.merged,
        bad.len()
    );
    if r.written {
        say!("imported {file}: {summary}")?;
    } else if a.dry_run {
        say!("dry run of {file}: {summary}; nothing written")?;
    } else {
        tell!("nothing imported from {file}: {summary}; fix the rows above or pass --skip-invalid");
    }
    Ok(())
}
