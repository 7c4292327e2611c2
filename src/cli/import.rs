//! `leadq import FILE`: CSV (any delimiter, common header names recognised, other columns kept
//! as attributes) or JSON from `leadq export`. Every row is checked before anything is written.
//!
//! A CSV from an old CRM may carry history: `--outcome-column` says which leads were won or
//! lost (and `--closed-column` when), the material a learned score is trained on. The dry run
//! shows how every column maps, and columns that look filled in after the outcome are named
//! before a model learns from them.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use serde::Deserialize;

use super::csv_in::{BadRow, CsvOptions, Table, read_csv};
use super::csv_profile::{ColumnReport, Outcomes};
use super::output::print_json;
use super::{Exit, Format, usage};
use crate::domain::sanitize::for_display;
use crate::domain::{Millis, NewLead};
use crate::service::{ImportOptions, ImportReport, LeadService};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The file to read (`-`: standard input)
    pub file: PathBuf,
    /// Field separator of the CSV (default ,)
    #[arg(long)]
    pub delimiter: Option<String>,
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
    /// The column that says how each lead ended, imported as history (not as an attribute):
    /// won (1 yes y true won win converted customer "closed won"), lost (0 no n false lost
    /// "closed lost" "not converted" unqualified) or empty (still open); case ignored
    #[arg(long, value_name = "COL")]
    pub outcome_column: Option<String>,
    /// With --outcome-column: the column of the date each won or lost lead closed:
    /// YYYY-MM-DD, YYYY-MM-DD HH:MM[:SS] (local time) or RFC 3339, from 2000 up to now.
    /// 03/04/2024 is refused as ambiguous; an empty cell means the time of the import
    #[arg(long, value_name = "COL", requires = "outcome_column")]
    pub closed_column: Option<String>,
    /// csv or json (default: from the file name, else csv)
    #[arg(long = "input-format", value_name = "FORMAT")]
    pub input_format: Option<String>,
    /// How to print the summary
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
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

/// Whether the file is standard input (`-`).
fn stdin(a: &Args) -> bool {
    a.file.as_os_str() == "-"
}

/// The file's name in messages.
fn shown(a: &Args) -> String {
    if stdin(a) {
        "standard input".into()
    } else {
        a.file.display().to_string()
    }
}

/// The whole input: the file, or standard input (for scripts and cron jobs).
fn read_input(a: &Args) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let read = if stdin(a) {
        std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut bytes).map(|_| ())
    } else {
        std::fs::read(&a.file).map(|b| bytes = b)
    };
    read.with_context(|| format!("cannot read {}", shown(a)))?;
    Ok(bytes)
}

fn parse_csv(a: &Args, input: &[u8], now: Millis) -> Result<Table> {
    let options = CsvOptions {
        delimiter: a.delimiter.clone(),
        maps: a.map.clone(),
        name_column: a.name_column.clone(),
        file: shown(a),
        outcome_column: a.outcome_column.clone(),
        closed_column: a.closed_column.clone(),
        now,
        profile: a.dry_run || a.outcome_column.is_some(),
    };
    read_csv(input, &options)
}

fn parse_json(a: &Args, input: &[u8]) -> Result<Table> {
    let items: Vec<serde_json::Value> = serde_json::from_slice(input)
        .with_context(|| format!("{}: not a JSON array of leads", shown(a)))?;
    let mut parsed = Table::default();
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
                    closed: None,
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
    let input = read_input(a)?;
    // Standard input has no name: JSON is known by its opening bracket.
    let json = match a.input_format.as_deref() {
        Some("json") => true,
        Some("csv") => false,
        None if stdin(a) => input
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| *b == b'['),
        None => a
            .file
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json")),
        Some(other) => return Err(usage(format!("--input-format {other:?}: use csv or json"))),
    };
    if json && a.outcome_column.is_some() {
        return Err(usage(
            "--outcome-column reads a CSV file: a JSON file from `leadq export` has no history \
             column",
        ));
    }
    let mut parsed = if json {
        parse_json(a, &input)?
    } else {
        parse_csv(a, &input, s.now())?
    };
    let unit = if json { "item" } else { "line" };
    if parsed.rows.is_empty() && parsed.bad.is_empty() {
        say!(
            "nothing to import: {} has no {}s of leads",
            shown(a),
            if json { "item" } else { "row" }
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let options = ImportOptions {
        anonymous: a.allow_anonymous,
        skip_invalid: a.skip_invalid,
        dry_run: a.dry_run || (!parsed.bad.is_empty() && !a.skip_invalid),
        origin: if stdin(a) {
            "standard input".into()
        } else {
            a.file
                .file_name()
                .map_or("a file".into(), |f| f.to_string_lossy().into_owned())
        },
    };
    let history: Vec<Option<bool>> = parsed
        .rows
        .iter()
        .map(|r| r.closed.map(|c| c.won))
        .collect();
    let columns = parsed.profile.take().map(|p| p.report());
    let mut report = s.import(parsed.rows, &options)?;
    let outcomes = a.outcome_column.as_ref().map(|_| {
        let mut o = Outcomes::default();
        let refused: std::collections::BTreeSet<usize> =
            report.invalid.iter().map(|(i, _)| *i).collect();
        for (i, h) in history.iter().enumerate() {
            if !refused.contains(&i) {
                o.add(*h);
            }
        }
        o
    });
    let mut bad = parsed.bad;
    bad.extend(report.invalid.iter().map(|(i, reason)| BadRow {
        line: parsed.lines[*i],
        reason: reason.clone(),
    }));
    bad.sort_by_key(|b| b.line);
    report.rows += bad.len() - report.invalid.len();
    let summary = Summary {
        report: &report,
        bad: &bad,
        unit,
        columns: columns.as_deref(),
        outcomes,
    };
    print_report(a, &summary)?;
    if !bad.is_empty() {
        return Err(Exit(if a.skip_invalid { 3 } else { 1 }).into());
    }
    Ok(ExitCode::SUCCESS)
}

/// What an import did, for the summary.
struct Summary<'a> {
    report: &'a ImportReport,
    bad: &'a [BadRow],
    unit: &'a str,
    /// How the columns map (a dry run, or an import with an outcome column).
    columns: Option<&'a [ColumnReport]>,
    /// Won, lost and open rows among those accepted (with an outcome column).
    outcomes: Option<Outcomes>,
}

fn print_report(a: &Args, sum: &Summary) -> Result<()> {
    let (r, bad, unit) = (sum.report, sum.bad, sum.unit);
    let file = shown(a);
    if a.format == Format::Json {
        let invalid: Vec<_> = bad
            .iter()
            .map(|b| serde_json::json!({ unit: b.line, "reason": b.reason }))
            .collect();
        let mut out = serde_json::json!({
            "file": file.to_string(), "rows": r.rows, "created": r.created, "merged": r.merged,
            "invalid": invalid, "written": r.written,
        });
        if let Some(columns) = sum.columns {
            out["columns"] = serde_json::to_value(columns)?;
        }
        if let Some(o) = sum.outcomes {
            out["outcomes"] = serde_json::to_value(o)?;
        }
        return print_json(&out);
    }
    if let Some(columns) = sum.columns {
        if a.dry_run {
            print_columns(a, columns)?;
        } else {
            for c in columns {
                for w in &c.warnings {
                    tell!("warning: {file}: column {:?}: {w}", c.column);
                }
            }
        }
    }
    for b in bad {
        tell!("{file}: {unit} {}: {}", b.line, for_display(&b.reason));
    }
    let history = sum
        .outcomes
        .map_or(String::new(), |o| format!("; history: {}", o.line()));
    let summary = format!(
        "{} rows: {} new, {} merged into known leads, {} invalid{history}",
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

/// One line per column: `Job Title -> attribute "title"   e.g. "CTO", "VP Sales"`, and its
/// warnings under it.
fn print_columns(a: &Args, columns: &[ColumnReport]) -> Result<()> {
    let maps: Vec<String> = columns
        .iter()
        .map(|c| format!("{} -> {}", c.column, c.field))
        .collect();
    let width = maps
        .iter()
        .map(|m| m.chars().count())
        .max()
        .unwrap_or(0)
        .min(48);
    say!("columns of {}:", shown(a))?;
    for (c, map) in columns.iter().zip(&maps) {
        let samples: Vec<String> = c.samples.iter().map(|s| format!("{s:?}")).collect();
        let samples = if samples.is_empty() {
            "(all empty)".to_string()
        } else {
            format!("e.g. {}", samples.join(", "))
        };
        say!("  {map:<width$}  {samples}")?;
        for w in &c.warnings {
            say!("      warning: {w}")?;
        }
    }
    Ok(())
}
