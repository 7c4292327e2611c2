//! The manager's reports, read from the kept sums (`store::reports`) and the kept counts:
//! the work grows with the period's days and the rows of each day (owners x sources), never
//! with the leads. A rep sees their own figures only; a manager anyone's.
//!
//! Every report is a few tables of typed cells, so that text, JSON, CSV and the TUI show the
//! same figures from one answer.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::local::Local;
use super::report_text::{day_text, sparkline};
use super::types::ServiceError;
use crate::domain::report::{
    self, BUCKETS, Cell, Counters, Measure, activity, arrivals, closed, closes, stages,
};
use crate::domain::tally::Class;
use crate::domain::time::{end_of_local_day, local_day};
use crate::domain::{LostReason, Millis, Stage, Temperature};

/// Which report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReportKind {
    Funnel,
    Sources,
    Reps,
    Speed,
    Score,
    Day,
}

impl ReportKind {
    pub const ALL: [ReportKind; 6] = [
        ReportKind::Funnel,
        ReportKind::Sources,
        ReportKind::Reps,
        ReportKind::Speed,
        ReportKind::Score,
        ReportKind::Day,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ReportKind::Funnel => "funnel",
            ReportKind::Sources => "sources",
            ReportKind::Reps => "reps",
            ReportKind::Speed => "speed",
            ReportKind::Score => "score",
            ReportKind::Day => "day",
        }
    }

    pub fn parse(s: &str) -> Option<ReportKind> {
        ReportKind::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(s.trim()))
    }
}

/// What to report on: a kind, a period of local days, and filters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportRequest {
    pub kind: ReportKind,
    /// The last this many days, today included, by the store owner's clock (before
    /// `from`).
    #[serde(default)]
    pub days: Option<u32>,
    /// The first local day (None: since the first lead).
    pub from: Option<i32>,
    /// The last local day (None: today).
    pub to: Option<i32>,
    pub source: Option<String>,
    /// A rep (a rep may name only themselves).
    pub owner: Option<String>,
    pub tag: Option<String>,
}

/// A figure of a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Figure {
    Text(String),
    Count(u64),
    /// 0.0 to 1.0; None: nothing to divide by.
    Share(Option<f64>),
    /// None: nothing measured.
    Duration(Option<Millis>),
    Rate(f64),
    /// An amount of money (None: nothing to divide by).
    Money(Option<f64>),
    /// A lead, by id and name (the TUI opens it).
    Lead {
        id: crate::domain::LeadId,
        name: String,
    },
}

/// One table of a report: its columns, rows of figures, and which column its bars show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    pub title: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Figure>>,
    /// The column drawn as bars, each row's against the largest.
    pub bar: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub kind: ReportKind,
    /// The local days reported on, first and last.
    pub from: i32,
    pub to: i32,
    /// Whose figures: None for everyone the caller may see.
    pub owner: Option<String>,
    pub tables: Vec<Table>,
}

/// The rows of a measure for the request, filtered.
struct Rows {
    rows: Vec<(Cell, Counters)>,
}

impl Rows {
    fn sum(&self, pick: impl Fn(&Cell) -> bool, counter: u16) -> u64 {
        self.rows
            .iter()
            .filter(|(c, _)| pick(c))
            .map(|(_, r)| r.get(&counter).copied().unwrap_or(0).max(0) as u64)
            .sum()
    }

    fn total(&self, counter: u16) -> u64 {
        self.sum(|_| true, counter)
    }

    fn histogram(&self, pick: impl Fn(&Cell) -> bool, first: u16) -> Vec<u64> {
        (0..BUCKETS).map(|b| self.sum(&pick, first + b)).collect()
    }

    /// The distinct values of a dimension, most counted (by `counter`) first.
    fn keys(&self, dim: impl Fn(&Cell) -> &str, counter: u16) -> Vec<String> {
        let mut by: BTreeMap<String, u64> = BTreeMap::new();
        for (c, r) in &self.rows {
            *by.entry(dim(c).to_string()).or_default() +=
                r.get(&counter).copied().unwrap_or(0).max(0) as u64;
        }
        let mut keys: Vec<(String, u64)> = by.into_iter().collect();
        keys.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        keys.into_iter().map(|(k, _)| k).collect()
    }
}

fn share(part: u64, of: u64) -> Figure {
    Figure::Share((of > 0).then(|| part as f64 / of as f64))
}

fn shown(name: &str, none: &str) -> Figure {
    Figure::Text(if name.is_empty() {
        none.to_string()
    } else {
        name.to_string()
    })
}

/// Whether a lead's source (empty: none) is the one asked for ("none": no source).
fn same_source(source: &str, asked: &str) -> bool {
    source.eq_ignore_ascii_case(asked.trim()) || (source.is_empty() && asked.trim() == "none")
}

/// A report for session `s` as of its clock.
pub fn report(s: &Local, q: &ReportRequest) -> Result<Report, ServiceError> {
    let now = s.now();
    let today = local_day(now);
    let to = q.to.unwrap_or(today).min(today);
    let from = match q.days {
        Some(n) => today.saturating_sub(i32::try_from(n.max(1)).unwrap_or(i32::MAX) - 1),
        None => q.from.unwrap_or(i32::MIN + 1),
    };
    if from > today {
        return Err(ServiceError::Refused(format!(
            "the period starts after today ({})",
            day_text(from)
        )));
    }
    if from > to {
        return Err(ServiceError::Refused(format!(
            "the period starts after it ends ({} to {})",
            day_text(from),
            day_text(to)
        )));
    }
    // Whose figures: a rep's own, always.
    let owner = match (&q.owner, s.sees_all()) {
        // "none": the unassigned pool, as `list --owner none` says.
        (Some(o), true) if o.trim() == "none" => Some(String::new()),
        (Some(o), true) => Some(o.trim().to_string()),
        (None, true) => None,
        (Some(o), false) if o.trim() != s.who.user => {
            return Err(ServiceError::Refused(format!(
                "a rep sees their own figures: {} cannot see {}'s",
                s.who.user,
                o.trim()
            )));
        }
        (_, false) => Some(s.who.user.clone()),
    };
    let tag = q.tag.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let pick = |c: &Cell| {
        owner
            .as_deref()
            .is_none_or(|o| c.owner.eq_ignore_ascii_case(o))
            && q.source
                .as_deref()
                .is_none_or(|src| same_source(&c.source, src))
    };
    let read = |m: Measure, from: i32, to: i32| -> Result<Rows, ServiceError> {
        let rows = s.store.report_rows(m, from, to, tag)?;
        Ok(Rows {
            rows: rows.into_iter().filter(|(c, _)| pick(c)).collect(),
        })
    };
    // The period as it holds data: from the first day a lead arrived.
    let start = from.max(first_day(s)?).min(to);
    let tables = match q.kind {
        ReportKind::Funnel => funnel(
            &read(Measure::Stages, from, to)?,
            &read(Measure::Closed, from, to)?,
        ),
        // Costs are a whole source's: shown beside all its leads, not one rep's or one tag's.
        ReportKind::Sources => sources(
            &read(Measure::Arrivals, from, to)?,
            &read(Measure::Campaigns, from, to)?,
            if owner.is_none() && tag.is_none() {
                &s.settings().spend
            } else {
                &[]
            },
            q.source.as_deref(),
            start,
            to,
        ),
        ReportKind::Speed => speed(&read(Measure::Arrivals, from, to)?),
        ReportKind::Score => {
            let mut tables = score(&read(Measure::Closed, from, to)?);
            // A lead's own rows are not repeated per tag: read them all, check the tag on
            // the lead.
            let rows = s.store.report_rows(Measure::Closes, from, to, None)?;
            let rows = Rows {
                rows: rows.into_iter().filter(|(c, _)| pick(c)).collect(),
            };
            tables.extend(surprises(s, &rows, tag)?);
            tables
        }
        ReportKind::Reps => reps(
            s,
            now,
            tag,
            owner.as_deref(),
            to - start + 1,
            &read(Measure::Arrivals, from, to)?,
            &read(Measure::Activity, from, to)?,
            &read(Measure::Closed, from, to)?,
        )?,
        ReportKind::Day => day(
            s,
            now,
            owner.as_deref(),
            (tag, q.source.as_deref()),
            &read(Measure::Activity, today, today)?,
        )?,
    };
    let (from, to) = match q.kind {
        ReportKind::Day => (today, today),
        _ => (start, to),
    };
    Ok(Report {
        kind: q.kind,
        from,
        to,
        owner,
        tables,
    })
}

/// The first local day any lead arrived (today for an empty store).
fn first_day(s: &Local) -> Result<i32, ServiceError> {
    Ok(s.store
        .first_report_day(Measure::Arrivals)?
        .unwrap_or_else(|| local_day(s.now())))
}

fn funnel(st: &Rows, cl: &Rows) -> Vec<Table> {
    let mut rows = Vec::new();
    for stage in Stage::ALL {
        let i = stage.index();
        let entered = st.total(stages::ENTERED + i);
        let next = Stage::MAIN_LINE
            .iter()
            .position(|s| *s == stage)
            .and_then(|p| Stage::MAIN_LINE.get(p + 1));
        let on = match next {
            Some(_) => share(st.total(stages::WENT_ON + i), entered),
            None => Figure::Share(None),
        };
        let time = report::median(&st.histogram(|_| true, stages::TIME_IN + i * BUCKETS));
        rows.push(vec![
            Figure::Text(stage.name().into()),
            Figure::Count(entered),
            on,
            Figure::Count(st.total(stages::LOST_FROM + i)),
            Figure::Duration(time),
        ]);
    }
    let lost = cl.total(closed::LOST);
    let mut reasons: Vec<Vec<Figure>> = LostReason::ALL
        .iter()
        .map(|r| r.name().replace('-', " "))
        .chain(std::iter::once("not given".to_string()))
        .enumerate()
        .map(|(n, name)| {
            let count = cl.total(closed::REASON + n as u16);
            vec![Figure::Text(name), Figure::Count(count), share(count, lost)]
        })
        .filter(|r| !matches!(r[1], Figure::Count(0)))
        .collect();
    reasons.sort_by_key(|r| {
        std::cmp::Reverse(match r[1] {
            Figure::Count(n) => n,
            _ => 0,
        })
    });
    // Won per week (weeks from Monday), the last twelve of the period, and a sparkline of all.
    let mut weeks: BTreeMap<i32, u64> = BTreeMap::new();
    for (c, r) in &cl.rows {
        let monday = c.day - (c.day - 1).rem_euclid(7);
        *weeks.entry(monday).or_default() +=
            r.get(&closed::WON).copied().unwrap_or(0).max(0) as u64;
    }
    if let (Some(&first), Some(&last)) = (weeks.keys().next(), weeks.keys().next_back()) {
        for w in (first..=last).step_by(7) {
            weeks.entry(w).or_default();
        }
    }
    let counts: Vec<u64> = weeks.values().copied().collect();
    let weekly = weeks
        .iter()
        .rev()
        .take(12)
        .rev()
        .map(|(w, n)| vec![Figure::Text(day_text(*w)), Figure::Count(*n)])
        .collect();
    vec![
        Table {
            title: "Funnel: leads that entered each stage".into(),
            columns: vec![
                "stage".into(),
                "entered".into(),
                "on to next".into(),
                "lost from".into(),
                "median time in stage".into(),
            ],
            rows,
            bar: Some(1),
        },
        Table {
            title: format!(
                "Closed: {} won, {lost} lost; why lost",
                cl.total(closed::WON)
            ),
            columns: vec!["reason".into(), "lost".into(), "share".into()],
            rows: reasons,
            bar: Some(1),
        },
        Table {
            title: format!("Won each week {}", sparkline(&counts)),
            columns: vec!["week of".into(), "won".into()],
            rows: weekly,
            bar: Some(1),
        },
    ]
}

/// What `spend` says `source` (None: every source) cost over the days `from..=to`, each
/// month's amount shared by its days; None when it names no cost of that source at all.
fn spent(spend: &[super::Spend], source: Option<&str>, from: i32, to: i32) -> Option<f64> {
    let mut entries = spend
        .iter()
        .filter(|s| source.is_none_or(|src| s.source.eq_ignore_ascii_case(src)))
        .peekable();
    entries.peek()?;
    Some(entries.fold(0.0, |sum, s| {
        let days = f64::from(s.last_day - s.first_day + 1);
        let overlap = (to.min(s.last_day) - from.max(s.first_day) + 1).max(0);
        sum + s.amount * f64::from(overlap) / days
    }))
}

/// The funnel columns of the arrivals `pick` takes: leads, contacted, qualified, won, won
/// rate, median first touch.
fn reach_row(ar: &Rows, pick: &dyn Fn(&Cell) -> bool) -> Vec<Figure> {
    let n = ar.sum(pick, arrivals::ARRIVED);
    let won = ar.sum(pick, arrivals::WON);
    vec![
        Figure::Count(n),
        share(ar.sum(pick, arrivals::CONTACTED), n),
        share(ar.sum(pick, arrivals::QUALIFIED), n),
        Figure::Count(won),
        share(won, n),
        Figure::Duration(report::median(&ar.histogram(pick, arrivals::DELAY))),
    ]
}

const REACH_COLUMNS: [&str; 6] = [
    "leads",
    "contacted",
    "qualified",
    "won",
    "won rate",
    "median first touch",
];

fn sources(
    ar: &Rows,
    campaigns: &Rows,
    spend: &[super::Spend],
    only: Option<&str>,
    from: i32,
    to: i32,
) -> Vec<Table> {
    let mut rows = Vec::new();
    let costed = !spend.is_empty();
    let mut line = |name: Figure, pick: &dyn Fn(&Cell) -> bool, source: Option<&str>| {
        let n = ar.sum(pick, arrivals::ARRIVED);
        let won = ar.sum(pick, arrivals::WON);
        let cost = spent(spend, source, from, to);
        let per = |k: u64| Figure::Money(cost.filter(|_| k > 0).map(|c| c / k as f64));
        let mut row = vec![name];
        row.extend(reach_row(ar, pick));
        if costed {
            row.extend([Figure::Money(cost), per(n), per(won)]);
        }
        rows.push(row);
    };
    let mut names = ar.keys(|c| &c.source, arrivals::ARRIVED);
    // A source paid for that brought no lead in the period is the line a manager most needs.
    for entry in spend {
        let name = entry.source.trim().to_lowercase();
        let wanted = only.is_none_or(|o| same_source(&name, o));
        let overlaps = entry.first_day <= to && entry.last_day >= from;
        if wanted && overlaps && !names.iter().any(|n| n.eq_ignore_ascii_case(&name)) {
            names.push(name);
        }
    }
    for src in names {
        line(
            shown(&src, "(none)"),
            &|c: &Cell| c.source.eq_ignore_ascii_case(&src),
            Some(&src),
        );
    }
    line(Figure::Text("all".into()), &|_| true, only);
    let mut columns: Vec<String> = std::iter::once("source")
        .chain(REACH_COLUMNS)
        .map(String::from)
        .collect();
    if costed {
        columns.extend(["spend", "per lead", "per customer"].map(String::from));
    }
    let mut tables = vec![Table {
        title: "Sources: leads that arrived in the period, and how far they got".into(),
        columns,
        rows,
        bar: Some(1),
    }];
    // Campaigns, when an attribute names one: each source's campaigns, most leads first.
    let mut pairs: BTreeMap<(String, String), u64> = BTreeMap::new();
    for (c, r) in &campaigns.rows {
        *pairs
            .entry((c.source.clone(), c.campaign.clone()))
            .or_default() += r.get(&arrivals::ARRIVED).copied().unwrap_or(0).max(0) as u64;
    }
    let mut pairs: Vec<((String, String), u64)> = pairs.into_iter().filter(|p| p.1 > 0).collect();
    pairs.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    if !pairs.is_empty() {
        let rows = pairs
            .into_iter()
            .map(|((src, campaign), _)| {
                let mut row = vec![shown(&src, "(none)"), Figure::Text(campaign.clone())];
                // How fast a lead is answered is the rep's doing, not the campaign's: the
                // columns stop at the won rate (and fit 80 columns).
                row.extend(reach_row(campaigns, &|c: &Cell| {
                    c.source == src && c.campaign == campaign
                }));
                row.truncate(2 + REACH_COLUMNS.len() - 1);
                row
            })
            .collect();
        tables.push(Table {
            title: "Campaigns (a campaign or utm_campaign attribute)".into(),
            columns: ["source", "campaign"]
                .into_iter()
                .chain(REACH_COLUMNS.into_iter().take(REACH_COLUMNS.len() - 1))
                .map(String::from)
                .collect(),
            rows,
            bar: Some(2),
        });
    }
    tables
}

/// The speed-to-lead columns of the leads `pick` takes.
fn speed_row(ar: &Rows, name: Figure, pick: &dyn Fn(&Cell) -> bool) -> Vec<Figure> {
    let n = ar.sum(pick, arrivals::ARRIVED);
    let within = |c: &[u16]| c.iter().map(|&c| ar.sum(pick, c)).sum::<u64>();
    vec![
        name,
        Figure::Count(n),
        share(within(&[arrivals::WITHIN_5M]), n),
        share(within(&[arrivals::WITHIN_5M, arrivals::WITHIN_1H]), n),
        share(
            within(&[
                arrivals::WITHIN_5M,
                arrivals::WITHIN_1H,
                arrivals::WITHIN_24H,
            ]),
            n,
        ),
        share(within(&[arrivals::NEVER]), n),
        Figure::Duration(report::median(&ar.histogram(pick, arrivals::DELAY))),
    ]
}

fn speed(ar: &Rows) -> Vec<Table> {
    let n = ar.total(arrivals::ARRIVED);
    let bands = [
        ("within 5 minutes", arrivals::WITHIN_5M),
        ("5 minutes to 1 hour", arrivals::WITHIN_1H),
        ("1 to 24 hours", arrivals::WITHIN_24H),
        ("later", arrivals::LATER),
        ("never (yet)", arrivals::NEVER),
    ];
    let overall = bands
        .iter()
        .map(|(name, c)| {
            let k = ar.total(*c);
            vec![Figure::Text((*name).into()), Figure::Count(k), share(k, n)]
        })
        .collect();
    let columns = |first: &str| {
        vec![
            first.to_string(),
            "leads".into(),
            "5 min".into(),
            "1 hour".into(),
            "24 hours".into(),
            "never".into(),
            "median".into(),
        ]
    };
    let by_source = ar
        .keys(|c| &c.source, arrivals::ARRIVED)
        .into_iter()
        .map(|src| speed_row(ar, shown(&src, "(none)"), &|c: &Cell| c.source == src))
        .collect();
    let by_rep = ar
        .keys(|c| &c.owner, arrivals::ARRIVED)
        .into_iter()
        .map(|o| speed_row(ar, shown(&o, "(pool)"), &|c: &Cell| c.owner == o))
        .collect();
    vec![
        Table {
            title: format!(
                "Speed to lead: first touch of the {n} {} that arrived",
                if n == 1 { "lead" } else { "leads" }
            ),
            columns: vec!["first touch".into(), "leads".into(), "share".into()],
            rows: overall,
            bar: Some(1),
        },
        Table {
            title: "By source (share touched within)".into(),
            columns: columns("source"),
            rows: by_source,
            bar: None,
        },
        Table {
            title: "By rep (share touched within)".into(),
            columns: columns("rep"),
            rows: by_rep,
            bar: None,
        },
    ]
}

/// Open leads and overdue follow-ups per owner, as of now (the kept counts).
fn held(
    s: &Local,
    now: Millis,
    tag: Option<&str>,
) -> Result<BTreeMap<String, (u64, u64)>, ServiceError> {
    let today = local_day(end_of_local_day(now) - 1);
    let mut out: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for (t, n) in s.store.tallies_of(now, tag)? {
        if t.class == Class::Closed || !t.stage.is_open() {
            continue;
        }
        let e = out.entry(t.owner.clone().unwrap_or_default()).or_default();
        e.0 += n;
        if t.due_day.is_some_and(|d| d < today) {
            e.1 += n;
        }
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn reps(
    s: &Local,
    now: Millis,
    tag: Option<&str>,
    owner: Option<&str>,
    days: i32,
    ar: &Rows,
    ac: &Rows,
    cl: &Rows,
) -> Result<Vec<Table>, ServiceError> {
    let held = held(s, now, tag)?;
    let mut names: Vec<String> = held.keys().cloned().collect();
    names.extend(ar.keys(|c| &c.owner, arrivals::ARRIVED));
    names.extend(ac.keys(|c| &c.owner, activity::CALLS));
    names.extend(cl.keys(|c| &c.owner, closed::WON));
    names.sort();
    names.dedup();
    names.retain(|n| !n.is_empty() && owner.is_none_or(|o| o.eq_ignore_ascii_case(n)));
    let days = days.max(1) as f64;
    let rows = names
        .into_iter()
        .map(|name| {
            let mine = |c: &Cell| c.owner == name;
            let touches = [activity::CALLS, activity::EMAILS, activity::MEETINGS]
                .iter()
                .map(|&k| ac.sum(mine, k))
                .sum::<u64>();
            let calls = ac.sum(mine, activity::CALLS);
            let (open, overdue) = held.get(&name).copied().unwrap_or_default();
            let won = cl.sum(mine, closed::WON);
            let lost = cl.sum(mine, closed::LOST);
            vec![
                Figure::Text(name.clone()),
                Figure::Count(open),
                Figure::Rate(touches as f64 / days),
                Figure::Count(calls),
                share(ac.sum(mine, activity::CONNECTED), calls),
                Figure::Duration(report::median(&ar.histogram(mine, arrivals::DELAY))),
                Figure::Count(overdue),
                Figure::Count(won),
                share(won, won + lost),
            ]
        })
        .collect();
    Ok(vec![Table {
        title: "Reps: leads held now, what they did in the period".into(),
        columns: vec![
            "rep".into(),
            "open leads".into(),
            "touches a day".into(),
            "calls".into(),
            "connected".into(),
            "median first touch".into(),
            "overdue".into(),
            "won".into(),
            "win rate".into(),
        ],
        rows,
        // Beside the win rate, the wins the rate is of.
        bar: Some(7),
    }])
}

/// What was done today, and what is still due today (of the tag and source asked for).
fn day(
    s: &Local,
    now: Millis,
    owner: Option<&str>,
    narrow: (Option<&str>, Option<&str>),
    ac: &Rows,
) -> Result<Vec<Table>, ServiceError> {
    let (tag, source) = narrow;
    let lines = [
        ("calls", activity::CALLS),
        ("connected calls", activity::CONNECTED),
        ("e-mails", activity::EMAILS),
        ("meetings", activity::MEETINGS),
        ("notes", activity::NOTES),
        ("stage moves", activity::STAGE_MOVES),
        ("won", activity::WON),
        ("lost", activity::LOST),
    ];
    let mut rows: Vec<Vec<Figure>> = lines
        .iter()
        .map(|(name, c)| vec![Figure::Text((*name).into()), Figure::Count(ac.total(*c))])
        .collect();
    let due = s.store.due_by(now, end_of_local_day(now), tag, |o, src| {
        s.may_see_owner(o)
            && owner.is_none_or(|w| o.unwrap_or("").eq_ignore_ascii_case(w))
            && source.is_none_or(|want| same_source(src.unwrap_or(""), want))
    })?;
    rows.push(vec![
        Figure::Text("due today, not done".into()),
        Figure::Count(due),
    ]);
    Ok(vec![Table {
        title: match owner {
            None => "Everyone's day".to_string(),
            Some("") => "The unassigned pool's day".to_string(),
            Some(o) => format!("{o}'s day"),
        },
        columns: vec!["what".into(), "count".into()],
        rows,
        bar: Some(1),
    }])
}

/// The score check: of the leads closed in the period, the won rate by the score and the
/// temperature each had as it closed. A score that means something wins more often high.
fn score(cl: &Rows) -> Vec<Table> {
    let line = |name: String, won: u64, lost: u64| {
        vec![
            Figure::Text(name),
            Figure::Count(won + lost),
            Figure::Count(won),
            share(won, won + lost),
        ]
    };
    let bands = (0..10u16)
        .rev()
        .map(|b| {
            let name = if b == 9 {
                "90-100".to_string()
            } else {
                format!("{}-{}", b * 10, b * 10 + 9)
            };
            line(
                name,
                cl.total(closed::WON_BAND + b),
                cl.total(closed::LOST_BAND + b),
            )
        })
        .filter(|r| !matches!(r[1], Figure::Count(0)))
        .collect();
    let temps = [Temperature::Hot, Temperature::Warm, Temperature::Cold]
        .into_iter()
        .map(|t| {
            let i = closed::temp(t);
            line(
                t.to_string(),
                cl.total(closed::WON_TEMP + i),
                cl.total(closed::LOST_TEMP + i),
            )
        })
        .collect();
    let columns = |first: &str| {
        vec![
            first.to_string(),
            "closed".into(),
            "won".into(),
            "won rate".into(),
        ]
    };
    let unrecorded = cl.total(closed::WON_UNRECORDED) + cl.total(closed::LOST_UNRECORDED);
    vec![
        Table {
            title: format!(
                "Score check: won rate by the score at close{}",
                if unrecorded > 0 {
                    format!(" ({unrecorded} closes from history, with no score, left out)")
                } else {
                    String::new()
                }
            ),
            columns: columns("score"),
            rows: bands,
            bar: Some(3),
        },
        Table {
            title: "By the temperature at close".into(),
            columns: columns("temperature"),
            rows: temps,
            bar: Some(3),
        },
    ]
}

/// How many leads each list of the score check names.
const SURPRISES: usize = 10;

/// The score check's lists: leads lost though they closed scoring 70 or more, and won
/// though they closed under 40, newest first (of `tag`'s leads, when one is asked for).
fn surprises(s: &Local, rows: &Rows, tag: Option<&str>) -> Result<Vec<Table>, ServiceError> {
    let mut rows: Vec<&(Cell, Counters)> = rows.rows.iter().collect();
    rows.sort_by_key(|(c, _)| std::cmp::Reverse((c.day, c.lead)));
    let mut lists: [Vec<Vec<Figure>>; 2] = [Vec::new(), Vec::new()];
    for (cell, r) in rows {
        let get = |k: u16| r.get(&k).copied().unwrap_or(0).max(0) as u64;
        let (won, lost) = (get(closes::WON), get(closes::LOST));
        let Some(avg) = get(closes::SCORE).checked_div(won + lost) else {
            continue;
        };
        let list = match (won > 0, lost > 0, avg) {
            (_, true, 70..) => 0,
            (true, _, ..40) => 1,
            _ => continue,
        };
        if lists[list].len() >= SURPRISES {
            continue;
        }
        let Some(id) = cell.lead else { continue };
        let Some(lead) = s.store.lead(id)? else {
            continue;
        };
        if !s.may_see(&lead) || tag.is_some_and(|t| !lead.has_tag(t)) {
            continue;
        }
        lists[list].push(vec![
            Figure::Lead {
                id,
                name: lead.name.clone(),
            },
            Figure::Count(avg),
            Figure::Text(day_text(cell.day)),
            shown(lead.owner.as_deref().unwrap_or(""), "(pool)"),
        ]);
    }
    let [lost, won] = lists;
    let columns = vec![
        "lead".to_string(),
        "score at close".into(),
        "closed".into(),
        "owner".into(),
    ];
    Ok(vec![
        Table {
            title: "High-scored, lost (70 or more at close), newest first".into(),
            columns: columns.clone(),
            rows: lost,
            bar: None,
        },
        Table {
            title: "Low-scored, won (under 40 at close), newest first".into(),
            columns,
            rows: won,
            bar: None,
        },
    ])
}

impl Report {
    /// The leads its tables name, in order (the rows the TUI lets one open).
    pub fn leads(&self) -> Vec<crate::domain::LeadId> {
        self.tables
            .iter()
            .flat_map(|t| &t.rows)
            .filter_map(|r| match r.first() {
                Some(Figure::Lead { id, .. }) => Some(*id),
                _ => None,
            })
            .collect()
    }
}
