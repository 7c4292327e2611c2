//! `leadq report funnel|sources|reps|speed|score|day`: the manager's reports as text (tables with
//! bars), JSON or CSV, for a period and filtered by source, owner and tag.

use std::process::ExitCode;

use anyhow::Result;

use super::output::print_json;
use super::{Format, usage};
use crate::domain::sanitize::for_csv_cell;
use crate::service::report_text::{day_text, text_table};
use crate::service::{Figure, LeadService, ReportKind, ReportRequest};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// funnel, sources, reps, speed, score or day
    pub kind: String,
    /// The last N days, today included: 7d, 30d, 90d, or "all" (the default: 30d)
    #[arg(long, conflicts_with_all = ["from", "to"])]
    pub since: Option<String>,
    /// The first day, YYYY-MM-DD
    #[arg(long)]
    pub from: Option<String>,
    /// The last day, YYYY-MM-DD (default: today)
    #[arg(long)]
    pub to: Option<String>,
    #[arg(long)]
    pub source: Option<String>,
    /// A rep, or "me" (a rep sees only their own figures)
    #[arg(long)]
    pub owner: Option<String>,
    #[arg(long)]
    pub tag: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// A day given as YYYY-MM-DD, as a local day number.
fn day(flag: &str, text: &str) -> Result<i32> {
    use chrono::Datelike;
    chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map(|d| d.num_days_from_ce())
        .map_err(|_| {
            usage(format!(
                "--{flag} {text:?} is not a date: write it as 2026-11-30"
            ))
        })
}

/// `7d`, `30`, `12w`, `all` as a number of days (None: all).
fn since(text: &str) -> Result<Option<u32>> {
    let t = text.trim().to_lowercase();
    if t == "all" {
        return Ok(None);
    }
    let (n, per) = match t.strip_suffix('w') {
        Some(n) => (n, 7),
        None => (t.strip_suffix('d').unwrap_or(&t), 1),
    };
    match n.parse::<u32>() {
        Ok(n) if n > 0 && n <= 36_500 => Ok(Some(n * per)),
        _ => Err(usage(format!(
            "--since {text:?} is not a period: write 7d, 30d, 12w or all"
        ))),
    }
}

pub fn request(s: &dyn LeadService, a: &Args) -> Result<ReportRequest> {
    let Some(kind) = ReportKind::parse(&a.kind) else {
        return Err(usage(format!(
            "{:?} is not a report: use funnel, sources, reps, speed, score or day",
            a.kind
        )));
    };
    let (days, from, to) = match (&a.since, &a.from, &a.to) {
        (Some(t), _, _) => (since(t)?, None, None),
        (None, None, None) => (Some(30), None, None),
        (None, f, t) => (
            None,
            f.as_deref().map(|f| day("from", f)).transpose()?,
            t.as_deref().map(|t| day("to", t)).transpose()?,
        ),
    };
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err(usage(format!(
            "--from {} is after --to {}",
            day_text(f),
            day_text(t)
        )));
    }
    // As in `list --owner`: "none" is the unassigned pool.
    let owner = a.owner.as_deref().map(|o| match o.trim() {
        "me" => s.identity().user,
        "none" => String::new(),
        o => o.to_string(),
    });
    Ok(ReportRequest {
        kind,
        days,
        from,
        to,
        source: a.source.clone(),
        owner,
        tag: a.tag.clone(),
    })
}

pub fn run(s: &dyn LeadService, a: &Args) -> Result<ExitCode> {
    let r = s.report(&request(s, a)?)?;
    match a.format {
        Format::Json => print_json(&serde_json::to_value(&r)?)?,
        Format::Csv => {
            // Tables differ in their columns: each has its own header line.
            let mut w = csv::WriterBuilder::new()
                .flexible(true)
                .from_writer(std::io::stdout().lock());
            for t in &r.tables {
                let mut head = vec!["table".to_string()];
                head.extend(t.columns.iter().cloned());
                w.write_record(&head)?;
                for row in &t.rows {
                    let mut line = vec![csv_text(&t.title)];
                    line.extend(row.iter().map(csv_cell));
                    w.write_record(&line)?;
                }
            }
            w.flush()?;
        }
        Format::Text => {
            say!("{}", heading(&r, a))?;
            for t in &r.tables {
                say!("\n{}", text_table(t, 80).lines.join("\n"))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The first line of a text report: its days, whose figures, and the filters on.
fn heading(r: &crate::service::Report, a: &Args) -> String {
    use crate::domain::sanitize::for_display;
    let mut line = format!("{} to {}", day_text(r.from), day_text(r.to));
    match r.owner.as_deref() {
        Some("") => line.push_str(", the unassigned pool"),
        Some(o) => line.push_str(&format!(", {}", for_display(o))),
        None => line.push_str(", everyone"),
    }
    if let Some(t) = a.tag.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        line.push_str(&format!(", tag {}", for_display(t)));
    }
    if let Some(src) = a.source.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        line.push_str(&format!(", source {}", for_display(src)));
    }
    line
}

/// Text in a report's CSV: no control or bidi character (the file is read in terminals and
/// is not imported back), neutralised against spreadsheet formulas.
fn csv_text(t: &str) -> String {
    for_csv_cell(&crate::domain::sanitize::for_display(t))
}

/// A figure in a CSV cell: numbers as numbers (shares 0-1, durations in seconds), text
/// neutralised against spreadsheet formulas.
fn csv_cell(f: &Figure) -> String {
    match f {
        Figure::Text(t) => csv_text(t),
        Figure::Count(n) => n.to_string(),
        Figure::Share(Some(x)) => format!("{x:.4}"),
        Figure::Rate(x) => format!("{x:.2}"),
        Figure::Duration(Some(ms)) => ((ms + 500) / 1000).to_string(),
        Figure::Money(Some(m)) => format!("{m:.2}"),
        Figure::Money(None) => String::new(),
        Figure::Lead { id, name } => csv_text(&format!("#{id} {name}")),
        Figure::Share(None) | Figure::Duration(None) => String::new(),
    }
}
