//! `leadq report funnel|sources|reps|speed|score|day`: the manager's reports as text (tables with
//! bars), JSON or CSV, for a period and filtered by source, owner and tag.

use std::process::ExitCode;

use anyhow::Result;

use super::output::print_json;
use super::{Format, usage};
use crate::domain::sanitize::for_csv_cell;
use crate::service::reports::{day_text, text_table};
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
    let owner = a.owner.as_deref().map(|o| match o.trim() {
        "me" => s.identity().user,
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
            let mut w = csv::Writer::from_writer(std::io::stdout().lock());
            for t in &r.tables {
                let mut head = vec!["table".to_string()];
                head.extend(t.columns.iter().cloned());
                w.write_record(&head)?;
                for row in &t.rows {
                    let mut line = vec![for_csv_cell(&t.title)];
                    line.extend(row.iter().map(csv_cell));
                    w.write_record(&line)?;
                }
            }
            w.flush()?;
        }
        Format::Text => {
            let whose = r.owner.as_deref().map_or(String::new(), |o| {
                format!(", {}", crate::domain::sanitize::for_display(o))
            });
            say!("{} to {}{whose}", day_text(r.from), day_text(r.to))?;
            for t in &r.tables {
                say!("\n{}", text_table(t, 80).join("\n"))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A figure in a CSV cell: numbers as numbers (shares 0-1, durations in seconds), text
/// neutralised against spreadsheet formulas.
fn csv_cell(f: &Figure) -> String {
    match f {
        Figure::Text(t) => for_csv_cell(t),
        Figure::Count(n) => n.to_string(),
        Figure::Share(Some(x)) => format!("{x:.4}"),
        Figure::Rate(x) => format!("{x:.2}"),
        Figure::Duration(Some(ms)) => (ms / 1000).to_string(),
        Figure::Money(Some(m)) => format!("{m:.2}"),
        Figure::Money(None) => String::new(),
        Figure::Lead { id, name } => for_csv_cell(&format!("#{id} {name}")),
        Figure::Share(None) | Figure::Duration(None) => String::new(),
    }
}
