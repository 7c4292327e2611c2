//! What the model looks at: columns learned from the closed leads (attributes, source, e-mail
//! kind, title words, the timeline before the close), each cut into levels, one of which a
//! lead falls in. Only what was known before the outcome: never the stage, the lost reason,
//! the tags (reps add them after the fact), system events, or anything logged at or after the
//! close.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::domain::interaction::{Interaction, Kind, Outcome};
use crate::domain::lead::Lead;
use crate::domain::time::{DAY_MS, Millis};

/// Where a column reads its value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Input {
    /// An attribute (name compared as leadq compares them), or `source`.
    Field(String),
    /// Free-mail, company or no e-mail address.
    EmailKind,
    /// Whether the title attribute has this word.
    TitleWord(String),
    /// How many interactions of this kind (and outcome) before the close, as ln(1 + n).
    Touches(Kind, Option<Outcome>),
    /// How long after its arrival the lead was first touched.
    FirstTouch,
    /// Two earlier columns together (by their place in the list): what one means may depend
    /// on the other (a young lead in a good month).
    Cross(usize, usize),
}

/// How a level tests the column's value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Test {
    /// The text, lower-cased.
    Equals(String),
    /// A number in [from, to).
    Range(f64, f64),
    /// A value seen too rarely in the history to learn from.
    Rare,
    Missing,
    /// A flag (1 when set) or a count (ln(1 + n)): the column's only level.
    Value,
    /// The levels of the two crossed columns.
    Pair(usize, usize),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Level {
    /// How an explanation names the lead's level ("job: admin.", "euribor3m 0.6 to 1.3").
    pub label: String,
    pub test: Test,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    /// The column's name as a manager excludes it (`--exclude job`).
    pub name: String,
    pub input: Input,
    pub levels: Vec<Level>,
}

/// The closed leads a model learns from, each with what was known before its outcome.
#[derive(Debug, Clone, Copy)]
pub struct Example<'a> {
    pub lead: &'a Lead,
    /// The lead's timeline (any order); only entries before `cutoff` are looked at.
    pub timeline: &'a [Interaction],
    /// When the outcome was decided (for an open lead: now).
    pub cutoff: Millis,
    pub won: bool,
}

/// Free-mail providers: an address there says nothing about an employer.
const FREE_MAIL: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "hotmail.com",
    "outlook.com",
    "live.com",
    "msn.com",
    "aol.com",
    "icloud.com",
    "me.com",
    "mail.ru",
    "yandex.ru",
    "gmx.de",
    "gmx.net",
    "web.de",
    "proton.me",
    "protonmail.com",
    "zoho.com",
    "qq.com",
    "163.com",
];

/// The most levels a text column gets, and a number's column of exact values.
const LEVELS: usize = 30;
const LEVELS_EXACT: usize = 300;
/// The most levels a pair of crossed columns gets (its most common pairs).
const CROSS_LEVELS: usize = 20;

/// Attributes that are the outcome or decided with it, whatever a file called them.
const NEVER: &[&str] = &["stage", "status", "lost_reason", "won", "lost", "outcome"];

fn norm(key: &str) -> String {
    key.trim()
        .chars()
        .map(|c| match c {
            ' ' | '-' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// The words of a title, lower-cased.
fn title_words(title: &str) -> impl Iterator<Item = String> + '_ {
    title
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() > 1)
        .map(str::to_lowercase)
}

fn number(v: &str) -> Option<f64> {
    let v = v.trim();
    let cleaned: String = v.chars().filter(|c| *c != ',' && *c != '_').collect();
    cleaned.parse::<f64>().ok().filter(|x| x.is_finite())
}

/// The interactions a model may look at: people's, before `cutoff`.
fn touches(timeline: &[Interaction], cutoff: Millis) -> impl Iterator<Item = &Interaction> {
    timeline
        .iter()
        .filter(move |i| i.kind != Kind::System && i.at < cutoff)
}

/// The columns worth learning from `examples`: those a manager did not `exclude`, present in
/// at least 1% of the leads, and varying.
pub fn learn(examples: &[Example], exclude: &[String]) -> Vec<Column> {
    let excluded = |name: &str| exclude.iter().any(|e| norm(e) == norm(name));
    let n = examples.len();
    let min_rows = (n / 100).max(1);
    let min_level = (n / 200).max(10);
    // A code needs fewer leads per value than a category: the penalty holds rare ones back.
    let min_exact = 10;
    let mut columns = Vec::new();
    // Attribute names, as first spelt, by how many leads have them.
    let mut keys: Vec<(String, String, usize)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for e in examples {
        for k in e.lead.attributes.keys() {
            let nk = norm(k);
            match index.get(&nk) {
                Some(&i) => keys[i].2 += 1,
                None => {
                    index.insert(nk.clone(), keys.len());
                    keys.push((k.clone(), nk, 1));
                }
            }
        }
    }
    if !excluded("source") {
        keys.insert(0, ("source".into(), "source".into(), n));
    }
    for (key, nk, count) in keys {
        if count < min_rows || excluded(&key) || NEVER.contains(&nk.as_str()) {
            continue;
        }
        let values: Vec<Option<String>> = examples
            .iter()
            .map(|e| e.lead.field(&key).map(|v| v.trim().to_lowercase()))
            .collect();
        if nk == "title" {
            columns.extend(title_columns(&values, min_level));
            continue;
        }
        if let Some(c) = numeric_column(&key, &values, min_level) {
            // A number that recurs often may be a code as much as a quantity (a rate fixed for
            // a period, a product number): its common values each get a level too.
            let few = c.levels.iter().all(|l| !l.label.contains(" to "));
            columns.push(c);
            if !few && let Some(mut exact) = category_column(&key, &values, min_exact, LEVELS_EXACT)
            {
                exact.name = key.clone();
                for l in &mut exact.levels {
                    l.label = l.label.replacen(": ", " exactly ", 1);
                }
                exact.levels.retain(|l| l.test != Test::Missing);
                if exact.levels.len() > 2 {
                    columns.push(exact);
                }
            }
        } else if let Some(c) = category_column(&key, &values, min_level, LEVELS) {
            columns.push(c);
        }
    }
    if !excluded("email") && !excluded("email_kind") {
        let kinds: Vec<Option<String>> = examples
            .iter()
            .map(|e| Some(email_kind(e.lead).to_string()))
            .collect();
        if let Some(mut c) = category_column("e-mail", &kinds, 1, LEVELS) {
            c.input = Input::EmailKind;
            c.name = "email".into();
            for l in &mut c.levels {
                l.label = l.label.trim_start_matches("e-mail: ").to_string();
            }
            columns.push(c);
        }
    }
    if !excluded("timeline") {
        columns.extend(timeline_columns(examples, min_level));
    }
    columns
}

fn email_kind(lead: &Lead) -> &'static str {
    match lead.email.as_ref().and_then(|e| e.rsplit_once('@')) {
        None => "no e-mail address",
        Some((_, d)) if FREE_MAIL.iter().any(|f| d.eq_ignore_ascii_case(f)) => "free-mail address",
        Some(_) => "company e-mail address",
    }
}

/// A number column, cut at its deciles (or one level per value when it has a dozen or fewer),
/// with a level for leads without a number.
fn numeric_column(key: &str, values: &[Option<String>], min_level: usize) -> Option<Column> {
    let present: Vec<&String> = values.iter().flatten().collect();
    let mut numbers: Vec<f64> = present.iter().filter_map(|v| number(v)).collect();
    if numbers.is_empty() || numbers.len() * 50 < present.len() * 49 {
        return None;
    }
    numbers.sort_by(f64::total_cmp);
    let mut distinct = numbers.clone();
    distinct.dedup();
    if distinct.len() < 2 {
        return None;
    }
    let missing = values.len() - numbers.len();
    let mut levels: Vec<Level> = Vec::new();
    if distinct.len() <= 12 {
        // Few values (a rate that changed a few times, a count of 0-5): one level each, so
        // no two of them are averaged into one bin.
        for w in distinct.windows(2) {
            levels.push(range_level(key, w[0], w[1], true));
        }
        let last = distinct[distinct.len() - 1];
        levels.push(range_level(key, last, f64::INFINITY, true));
        levels[0].test = Test::Range(f64::NEG_INFINITY, distinct[1]);
    } else {
        let bins = 10;
        let mut edges: Vec<f64> = (1..bins)
            .map(|q| numbers[q * numbers.len() / bins])
            .collect();
        edges.dedup();
        edges.retain(|e| *e > numbers[0]);
        let mut from = f64::NEG_INFINITY;
        for &e in &edges {
            levels.push(range_level(key, from, e, false));
            from = e;
        }
        levels.push(range_level(key, from, f64::INFINITY, false));
    }
    if missing >= min_level.min(values.len() / 100 + 1) {
        levels.push(Level {
            label: format!("{key}: not given"),
            test: Test::Missing,
        });
    }
    Some(Column {
        name: key.to_string(),
        input: Input::Field(key.to_string()),
        levels,
    })
}

fn short(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.0}")
    } else {
        let s = format!("{x:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn range_level(key: &str, from: f64, to: f64, single: bool) -> Level {
    let label = if single {
        format!("{key} {}", short(from))
    } else if from == f64::NEG_INFINITY {
        format!("{key} under {}", short(to))
    } else if to == f64::INFINITY {
        format!("{key} {} or more", short(from))
    } else {
        format!("{key} {} to {}", short(from), short(to))
    };
    Level {
        label,
        test: Test::Range(from, to),
    }
}

/// A text column: one level per value seen at least `min_level` times (30 at most), one for
/// the rarer values and one for leads without it. A column of mostly unique values (an id, a
/// free-text note) teaches nothing and is left out.
fn category_column(
    key: &str,
    values: &[Option<String>],
    min_level: usize,
    most: usize,
) -> Option<Column> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    let mut missing = 0;
    for v in values {
        match v {
            Some(v) => *counts.entry(v.as_str()).or_default() += 1,
            None => missing += 1,
        }
    }
    let mut common: Vec<(&str, usize)> = counts
        .iter()
        .filter(|(_, c)| **c >= min_level)
        .map(|(v, c)| (*v, *c))
        .collect();
    common.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    common.truncate(most);
    let rare: usize = counts.values().sum::<usize>() - common.iter().map(|c| c.1).sum::<usize>();
    let mut levels: Vec<Level> = common
        .iter()
        .map(|(v, _)| Level {
            label: format!("{key}: {v}"),
            test: Test::Equals(v.to_string()),
        })
        .collect();
    if rare > 0 {
        levels.push(Level {
            label: format!("{key}: a rare value"),
            test: Test::Rare,
        });
    }
    if missing > 0 {
        levels.push(Level {
            label: format!("{key}: not given"),
            test: Test::Missing,
        });
    }
    if common.is_empty() || levels.len() < 2 {
        return None;
    }
    Some(Column {
        name: key.to_string(),
        input: Input::Field(key.to_string()),
        levels,
    })
}

/// One flag per word common in titles ("cto", "manager"), up to 30.
fn title_columns(values: &[Option<String>], min_level: usize) -> Vec<Column> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for v in values.iter().flatten() {
        let mut seen: Vec<String> = title_words(v).collect();
        seen.sort();
        seen.dedup();
        for w in seen {
            *counts.entry(w).or_default() += 1;
        }
    }
    let mut common: Vec<(String, usize)> = counts
        .into_iter()
        .filter(|(_, c)| *c >= min_level)
        .collect();
    common.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    common.truncate(30);
    common
        .into_iter()
        .filter(|(_, c)| *c < values.len())
        .map(|(w, _)| Column {
            name: "title".into(),
            input: Input::TitleWord(w.clone()),
            levels: vec![Level {
                label: format!("title: {w}"),
                test: Test::Value,
            }],
        })
        .collect()
}

/// Counts of touches by kind and outcome, and the time to the first touch, when the history
/// has them.
fn timeline_columns(examples: &[Example], min_level: usize) -> Vec<Column> {
    let mut seen: HashMap<(Kind, Option<Outcome>), usize> = HashMap::new();
    let mut touched = 0;
    for e in examples {
        let mut mine: Vec<(Kind, Option<Outcome>)> = touches(e.timeline, e.cutoff)
            .map(|i| (i.kind, i.outcome))
            .collect();
        if !mine.is_empty() {
            touched += 1;
        }
        mine.sort_by_key(|(k, o)| (k.name(), o.map(|o| o.name())));
        mine.dedup();
        for m in mine {
            *seen.entry(m).or_default() += 1;
        }
    }
    let mut pairs: Vec<((Kind, Option<Outcome>), usize)> =
        seen.into_iter().filter(|(_, c)| *c >= min_level).collect();
    pairs.sort_by_key(|((k, o), _)| (k.name(), o.map(|o| o.name())));
    let mut columns: Vec<Column> = pairs
        .into_iter()
        .map(|((kind, outcome), _)| {
            let what = match outcome {
                Some(o) => format!("{} {}", kind.name(), o.name()),
                None => kind.name().to_string(),
            };
            Column {
                name: "timeline".into(),
                input: Input::Touches(kind, outcome),
                levels: vec![Level {
                    label: format!("touches: {what}"),
                    test: Test::Value,
                }],
            }
        })
        .collect();
    if touched >= min_level && touched < examples.len() {
        let bands = [
            ("first touch within an hour", 0.0, 3_600_000.0),
            ("first touch within a day", 3_600_000.0, DAY_MS as f64),
            (
                "first touch within a week",
                DAY_MS as f64,
                7.0 * DAY_MS as f64,
            ),
            (
                "first touch after a week",
                7.0 * DAY_MS as f64,
                f64::INFINITY,
            ),
        ];
        let mut levels: Vec<Level> = bands
            .iter()
            .map(|(label, from, to)| Level {
                label: (*label).to_string(),
                test: Test::Range(*from, *to),
            })
            .collect();
        levels[0].test = Test::Range(f64::NEG_INFINITY, 3_600_000.0);
        levels.push(Level {
            label: "not touched yet".into(),
            test: Test::Missing,
        });
        columns.push(Column {
            name: "timeline".into(),
            input: Input::FirstTouch,
            levels,
        });
    }
    columns
}

/// The level a lead falls in for each column, and its value (1, or ln(1 + n) for a count);
/// None when no level applies (a count of zero, a title without the word).
pub fn levels(
    columns: &[Column],
    lead: &Lead,
    timeline: &[Interaction],
    cutoff: Millis,
) -> Vec<Option<(usize, f64)>> {
    let mut out: Vec<Option<(usize, f64)>> = Vec::with_capacity(columns.len());
    for c in columns {
        let level = match c.input {
            Input::Cross(a, b) => {
                let pair = (out.get(a).copied().flatten(), out.get(b).copied().flatten());
                let found = match pair {
                    (Some((la, _)), Some((lb, _))) => {
                        c.levels.iter().position(|l| l.test == Test::Pair(la, lb))
                    }
                    _ => None,
                };
                found
                    .or_else(|| c.levels.iter().position(|l| l.test == Test::Rare))
                    .map(|i| (i, 1.0))
            }
            _ => level_of(c, lead, timeline, cutoff),
        };
        out.push(level);
    }
    out
}

/// Crossed columns for each pair of the `k` most important one-hot columns (by `importance`,
/// one figure per column): a level per pair of levels seen at least `min_level` times.
pub fn crosses(
    columns: &[Column],
    importance: &[f64],
    encoded: &[Vec<Option<(usize, f64)>>],
    k: usize,
    min_level: usize,
) -> Vec<Column> {
    let mut candidates: Vec<usize> = (0..columns.len())
        .filter(|&i| {
            let c = &columns[i];
            matches!(c.input, Input::Field(_) | Input::EmailKind)
                && c.levels.len() >= 2
                && c.levels.len() <= LEVELS
        })
        .collect();
    candidates.sort_by(|&a, &b| importance[b].total_cmp(&importance[a]));
    candidates.truncate(k);
    let mut out = Vec::new();
    for (x, &a) in candidates.iter().enumerate() {
        for &b in &candidates[x + 1..] {
            let (a, b) = (a.min(b), a.max(b));
            let mut counts: HashMap<(usize, usize), usize> = HashMap::new();
            for row in encoded {
                if let (Some((la, _)), Some((lb, _))) = (row[a], row[b]) {
                    *counts.entry((la, lb)).or_default() += 1;
                }
            }
            let mut common: Vec<((usize, usize), usize)> = counts
                .into_iter()
                .filter(|(_, c)| *c >= min_level)
                .collect();
            common.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            common.truncate(CROSS_LEVELS);
            common.sort();
            if common.len() < 2 {
                continue;
            }
            let mut levels: Vec<Level> = common
                .into_iter()
                .map(|((la, lb), _)| Level {
                    label: format!(
                        "{} with {}",
                        columns[a].levels[la].label, columns[b].levels[lb].label
                    ),
                    test: Test::Pair(la, lb),
                })
                .collect();
            levels.push(Level {
                label: format!("{} with {}: a rare pair", columns[a].name, columns[b].name),
                test: Test::Rare,
            });
            out.push(Column {
                name: format!("{} with {}", columns[a].name, columns[b].name),
                input: Input::Cross(a, b),
                levels,
            });
        }
    }
    out
}

/// The level a lead falls in for one column that reads the lead (not a cross), and its value.
pub fn level_of(
    column: &Column,
    lead: &Lead,
    timeline: &[Interaction],
    cutoff: Millis,
) -> Option<(usize, f64)> {
    let find = |pred: &dyn Fn(&Test) -> bool| column.levels.iter().position(|l| pred(&l.test));
    match &column.input {
        Input::Field(key) => {
            let value = lead.field(key).map(|v| v.trim().to_lowercase());
            let Some(v) = value.filter(|v| !v.is_empty()) else {
                return find(&|t| *t == Test::Missing).map(|i| (i, 1.0));
            };
            let numeric = column
                .levels
                .iter()
                .any(|l| matches!(l.test, Test::Range(..)));
            if numeric {
                let Some(x) = number(&v) else {
                    return find(&|t| *t == Test::Missing).map(|i| (i, 1.0));
                };
                return find(&|t| matches!(t, Test::Range(a, b) if x >= *a && x < *b))
                    .map(|i| (i, 1.0));
            }
            find(&|t| matches!(t, Test::Equals(e) if *e == v))
                .or_else(|| find(&|t| *t == Test::Rare))
                .map(|i| (i, 1.0))
        }
        Input::EmailKind => {
            let kind = email_kind(lead);
            find(&|t| matches!(t, Test::Equals(e) if e == kind)).map(|i| (i, 1.0))
        }
        Input::TitleWord(word) => {
            let title = lead.field("title")?;
            title_words(&title).any(|w| w == *word).then_some((0, 1.0))
        }
        Input::Touches(kind, outcome) => {
            let n = touches(timeline, cutoff)
                .filter(|i| i.kind == *kind && i.outcome == *outcome)
                .count();
            (n > 0).then(|| (0, (n as f64).ln_1p()))
        }
        Input::FirstTouch => {
            let first = touches(timeline, cutoff).map(|i| i.at).min();
            match first {
                None => find(&|t| *t == Test::Missing).map(|i| (i, 1.0)),
                Some(at) => {
                    let wait = (at - lead.created) as f64;
                    find(&|t| matches!(t, Test::Range(a, b) if wait >= *a && wait < *b))
                        .map(|i| (i, 1.0))
                }
            }
        }
        Input::Cross(..) => None,
    }
}
