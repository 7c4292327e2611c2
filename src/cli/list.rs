//! `leadq list`: the queue in score order as of now. Bare `leadq` prints its hot top.

use std::process::ExitCode;

use anyhow::Result;

use super::Format;
use super::output::{LeadJson, print_json, print_table, write_csv};
use crate::domain::{Stage, Temperature};
use crate::service::{LeadService, OwnerFilter, Query, Window};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TempArg {
    Hot,
    Warm,
    Cold,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Due {
    Today,
}

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    #[arg(long, value_enum)]
    pub temp: Option<TempArg>,
    /// new contacted qualified opportunity customer loyal nurture lost
    #[arg(long)]
    pub stage: Option<String>,
    /// A rep, "me" for yourself, or "none" for the unassigned pool
    #[arg(long)]
    pub owner: Option<String>,
    #[arg(long)]
    pub source: Option<String>,
    /// Only leads that carry this tag (any case)
    #[arg(long)]
    pub tag: Option<String>,
    /// Only leads whose follow-up is due by the end of today
    #[arg(long, value_enum)]
    pub due: Option<Due>,
    /// Today's queue: follow-ups due today, hot leads not touched for 3 days, new leads never
    /// touched
    #[arg(long)]
    pub today: bool,
    /// Also closed (customer, loyal, lost) and snoozed leads
    #[arg(long)]
    pub all: bool,
    /// At most this many rows
    #[arg(long)]
    pub limit: Option<usize>,
    /// Skip this many rows of the view first (the next page: --offset 20 --limit 20)
    #[arg(long, default_value_t = 0)]
    pub offset: usize,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

impl Args {
    pub fn hot_top() -> Args {
        Args {
            temp: Some(TempArg::Hot),
            stage: None,
            owner: None,
            source: None,
            tag: None,
            due: None,
            today: false,
            all: false,
            limit: Some(20),
            offset: 0,
            format: Format::Text,
        }
    }
}

pub fn query(s: &dyn LeadService, a: &Args) -> Result<Query> {
    let stage = match &a.stage {
        Some(name) => match Stage::parse(name) {
            Some(st) => Some(st),
            None => {
                return Err(super::usage(format!(
                    "--stage {name:?} is not a stage; use one of: new contacted qualified \
                     opportunity customer loyal nurture lost"
                )));
            }
        },
        None => None,
    };
    let owner = a.owner.as_deref().map(|o| match o.trim() {
        "none" | "" => OwnerFilter::Unassigned,
        "me" => OwnerFilter::User(s.identity().user),
        other => OwnerFilter::User(other.to_string()),
    });
    let tag = match a.tag.as_deref().map(str::trim) {
        Some("") => return Err(super::usage("--tag names no tag".to_string())),
        Some(t) => Some(t.strip_prefix('+').unwrap_or(t).to_string()),
        None => None,
    };
    Ok(Query {
        temperature: a.temp.map(|t| match t {
            TempArg::Hot => Temperature::Hot,
            TempArg::Warm => Temperature::Warm,
            TempArg::Cold => Temperature::Cold,
        }),
        stage,
        owner,
        source: a.source.clone(),
        tag,
        due_today: a.due.is_some(),
        today: a.today,
        all: a.all,
        limit: a.limit,
    })
}

/// The web leads waiting for a first touch (the caller may see), longest waiting first, with
/// their clock; nothing when none waits.
fn print_waiting(s: &dyn LeadService) -> Result<()> {
    let waiting = s.awaiting()?;
    if waiting.is_empty() {
        return Ok(());
    }
    let now = s.now();
    let mins = |ms: i64| ms.max(0) / 60_000;
    say!("Web leads waiting for a first touch:")?;
    for w in &waiting {
        let clock = if w.due < now {
            format!("LATE {}m", mins(now - w.due))
        } else {
            format!("due in {}m", mins(w.due - now))
        };
        say!(
            "  {:>6}  {}  {}  -> {}  waited {}m, {clock}",
            w.id,
            crate::domain::sanitize::for_display(&w.name),
            crate::domain::sanitize::for_display(w.source.as_deref().unwrap_or("-")),
            w.owner
                .as_deref()
                .map_or("the pool".into(), crate::domain::sanitize::for_display),
            mins(now - w.arrived)
        )?;
    }
    say!("")?;
    Ok(())
}

pub fn run(s: &dyn LeadService, a: &Args) -> Result<ExitCode> {
    let q = query(s, a)?;
    let page = s.page(&q, Window::rows(a.offset, q.limit.unwrap_or(usize::MAX)))?;
    // A page read for a screen ends at the view's last row, starting earlier if need be: the
    // rows before the offset asked for are not shown, and past the end there are none.
    let skip = a.offset.saturating_sub(page.offset);
    let offset = page.offset + skip;
    let rows: Vec<_> = page.rows.into_iter().skip(skip).collect();
    match a.format {
        Format::Json => print_json(&rows.iter().map(LeadJson::from_view).collect::<Vec<_>>())?,
        Format::Csv => write_csv(&rows, std::io::stdout().lock())?,
        Format::Text if rows.is_empty() && store_is_empty(s)? => say!(
            "The store at {} is empty: add leads with `leadq add`, `leadq import FILE`, or try `leadq demo`.",
            s.location()
        )?,
        Format::Text if rows.is_empty() && a.offset > 0 && page.total > 0 => say!(
            "The view has {} leads: none from row {} on.",
            page.total,
            a.offset + 1
        )?,
        Format::Text if rows.is_empty() => say!("No leads match.")?,
        Format::Text => {
            // Today's queue opens with the web leads still waiting for a first touch.
            if a.today && a.offset == 0 {
                print_waiting(s)?;
            }
            print_table(&rows, s.now())?;
            if rows.len() < page.total {
                let (first, last) = (offset + 1, offset + rows.len());
                let next = if last < page.total {
                    format!(" (next: --offset {last})")
                } else {
                    String::new()
                };
                say!("Rows {first}-{last} of {}{next}.", page.total)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Whether the store has no lead at all (one step of the queue index, not a count).
fn store_is_empty(s: &dyn LeadService) -> Result<bool> {
    let any = Query {
        all: true,
        limit: Some(1),
        ..Query::default()
    };
    Ok(s.list(&any)?.is_empty())
}
