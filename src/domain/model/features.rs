//! What the model looks at: columns learned from the closed leads (attributes, source, e-mail
//! kind, title words, the timeline before the close), each cut into levels, one of which a
//! lead falls in. Only what was known before the outcome: never the stage, the lost reason,
//! the tags (reps add them after the fact), system events, or anything logged at or after the
//! close.

use std::borrow::Cow;
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
    /// A number in [from, to); open ends are `f64::MIN` and `f64::MAX` (finite, so a model
    /// crosses the wire as JSON, which has no infinity).
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
    /// The levels by their text, built on first use (a column may have hundreds).
    #[serde(skip)]
    pub lookup: Lookup,
}

/// A column's `Equals` levels by their text: derived from the levels, so it is not stored and
/// never makes two columns differ.
#[derive(Default, Clone)]
pub struct Lookup(std::sync::OnceLock<HashMap<String, usize>>);

impl PartialEq for Lookup {
    fn eq(&self, _: &Lookup) -> bool {
        true
    }
}

impl std::fmt::Debug for Lookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Lookup")
    }
}

impl Column {
    fn new(name: String, input: Input, levels: Vec<Level>) -> Column {
        Column {
            name,
            input,
            levels,
            lookup: Lookup::default(),
        }
    }

    /// The level whose text is `value`.
    fn equals(&self, value: &str) -> Option<usize> {
        self.lookup
            .0
            .get_or_init(|| {
                self.levels
                    .iter()
                    .enumerate()
                    .filter_map(|(i, l)| match &l.test {
                        Test::Equals(e) => Some((e.clone(), i)),
                        _ => None,
                    })
                    .collect()
            })
            .get(value)
            .copied()
    }
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

/// The most levels a text column gets, and a number's column of exact values.
const LEVELS: usize = 30;
const LEVELS_EXACT: usize = 300;
/// The most attribute columns and levels a model learns from (before crossing).
pub const MAX_COLUMNS: usize = 60;
pub const MAX_LEVELS: usize = 900;
/// The most levels a pair of crossed columns gets (its most common pairs).
const CROSS_LEVELS: usize = 20;

/// Attributes that are the outcome or decided with it, whatever a file called them.
const NEVER: &[&str] = &["stage", "status", "lost_reason", "won", "lost", "outcome"];

/// What `--exclude` can name in this history: its attributes, and the columns leadq makes of
/// the source, the e-mail and the timeline.
pub fn excludable(examples: &[Example]) -> std::collections::BTreeSet<String> {
    let mut names: std::collections::BTreeSet<String> =
        ["source", "email", "email_kind", "timeline"]
            .into_iter()
            .map(String::from)
            .collect();
    for e in examples {
        for k in e.lead.attributes.keys() {
            if !names.contains(k.as_str()) {
                names.insert(norm(k));
            }
        }
    }
    names
}

/// Whether `--exclude name` names one of `excludable`.
pub fn names_one_of(name: &str, excludable: &std::collections::BTreeSet<String>) -> bool {
    excludable.contains(&norm(name))
}

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

/// A value trimmed and lower-cased, copied only when it has to change.
fn lower_trimmed(v: Cow<'_, str>) -> Cow<'_, str> {
    let needs_lower = |t: &str| t.chars().any(char::is_uppercase);
    match v {
        Cow::Borrowed(b) => {
            let t = b.trim();
            if needs_lower(t) {
                Cow::Owned(t.to_lowercase())
            } else {
                Cow::Borrowed(t)
            }
        }
        Cow::Owned(o) => Cow::Owned(o.trim().to_lowercase()),
    }
}

/// Whether `title` has the (lower-case) word `word`.
fn has_word(title: &str, word: &str) -> bool {
    title
        .split(|c: char| !c.is_alphanumeric())
        .any(|w| w.eq_ignore_ascii_case(word) || (!w.is_ascii() && w.to_lowercase() == word))
}

fn number(v: &str) -> Option<f64> {
    let v = v.trim();
    let first = v.as_bytes().first()?;
    if !(first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.')) {
        return None;
    }
    let parsed = if v.contains([',', '_']) {
        let cleaned: String = v.chars().filter(|c| *c != ',' && *c != '_').collect();
        cleaned.parse::<f64>()
    } else {
        v.parse::<f64>()
    };
    parsed.ok().filter(|x| x.is_finite())
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
    let mut spelt: Vec<(&str, usize)> = Vec::new();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for e in examples {
        for k in e.lead.attributes.keys() {
            match seen.get(k.as_str()) {
                Some(&i) => spelt[i].1 += 1,
                None => {
                    seen.insert(k, spelt.len());
                    spelt.push((k, 1));
                }
            }
        }
    }
    let mut keys: Vec<(String, String, usize)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for (k, count) in spelt {
        let nk = norm(k);
        match index.get(&nk) {
            Some(&i) => keys[i].2 += count,
            None => {
                index.insert(nk.clone(), keys.len());
                keys.push((k.to_string(), nk, count));
            }
        }
    }
    // Every value of every attribute, read lead by lead in one pass: each lead's strings are
    // touched once, not once per column.
    let slot: HashMap<&str, usize> = keys
        .iter()
        .enumerate()
        .flat_map(|(i, (_, nk, _))| {
            seen.keys()
                .filter(move |k| norm(k) == *nk)
                .map(move |k| (*k, i))
        })
        .collect();
    let mut columns_of: Vec<Vec<Option<Cow<str>>>> = vec![vec![None; n]; keys.len()];
    for (row, e) in examples.iter().enumerate() {
        for (k, v) in &e.lead.attributes {
            if let Some(&i) = slot.get(k.as_str()) {
                columns_of[i][row] = Some(lower_trimmed(Cow::Borrowed(v.as_str())));
            }
        }
    }
    if !excluded("source") {
        columns_of.insert(
            0,
            examples
                .iter()
                .map(|e| {
                    e.lead
                        .source
                        .as_deref()
                        .map(|v| lower_trimmed(Cow::Borrowed(v)))
                })
                .collect(),
        );
        keys.insert(0, ("source".into(), "source".into(), n));
    }
    let mut table: HashMap<String, Vec<Option<Cow<str>>>> = keys
        .iter()
        .map(|(_, nk, _)| nk.clone())
        .zip(columns_of)
        .collect();
    // The most common attributes first; beyond `MAX_COLUMNS` of them, or once the levels
    // reach `MAX_LEVELS`, the rest are left out (a solver step grows with the square of the
    // levels: a file of a thousand sparse columns must not take the server down).
    keys.sort_by_key(|k| std::cmp::Reverse(k.2));
    keys.truncate(MAX_COLUMNS);
    let budget = |columns: &[Column]| columns.iter().map(|c| c.levels.len()).sum::<usize>();
    for (key, nk, count) in keys {
        if budget(&columns) >= MAX_LEVELS {
            break;
        }
        if count < min_rows || excluded(&key) || NEVER.contains(&nk.as_str()) {
            continue;
        }
        let Some(values) = table.remove(&nk) else {
            continue;
        };
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
                if exact.levels.len() > 2 && budget(&columns) + exact.levels.len() <= MAX_LEVELS {
                    columns.push(exact);
                }
            }
        } else if let Some(c) = category_column(&key, &values, min_level, LEVELS) {
            columns.push(c);
        }
    }
    if !excluded("email") && !excluded("email_kind") {
        let kinds: Vec<Option<Cow<str>>> = examples
            .iter()
            .map(|e| Some(Cow::Borrowed(email_kind(e.lead))))
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
        Some((_, d))
            if crate::domain::dedupe::FREE_MAIL
                .iter()
                .any(|f| d.eq_ignore_ascii_case(f)) =>
        {
            "free-mail address"
        }
        Some(_) => "company e-mail address",
    }
}

/// A number column, cut at its deciles (or one level per value when it has a dozen or fewer),
/// with a level for leads without a number.
fn numeric_column(key: &str, values: &[Option<Cow<str>>], min_level: usize) -> Option<Column> {
    let present: Vec<&Cow<str>> = values.iter().flatten().collect();
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
        levels.push(range_level(key, last, f64::MAX, true));
        levels[0].test = Test::Range(f64::MIN, distinct[1]);
    } else {
        let bins = 10;
        let mut edges: Vec<f64> = (1..bins)
            .map(|q| numbers[q * numbers.len() / bins])
            .collect();
        edges.dedup();
        edges.retain(|e| *e > numbers[0]);
        let mut from = f64::MIN;
        for &e in &edges {
            levels.push(range_level(key, from, e, false));
            from = e;
        }
        levels.push(range_level(key, from, f64::MAX, false));
    }
    if missing >= min_level.min(values.len() / 100 + 1) {
        levels.push(Level {
            label: format!("{key}: not given"),
            test: Test::Missing,
        });
    }
    Some(Column::new(
        key.to_string(),
        Input::Field(key.to_string()),
        levels,
    ))
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
    } else if from == f64::MIN {
        format!("{key} under {}", short(to))
    } else if to == f64::MAX {
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
    values: &[Option<Cow<str>>],
    min_level: usize,
    most: usize,
) -> Option<Column> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    let mut missing = 0;
    for v in values {
        match v {
            Some(v) => *counts.entry(v.as_ref()).or_default() += 1,
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
    Some(Column::new(
        key.to_string(),
        Input::Field(key.to_string()),
        levels,
    ))
}

/// One flag per word common in titles ("cto", "manager"), up to 30.
fn title_columns(values: &[Option<Cow<str>>], min_level: usize) -> Vec<Column> {
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
        .map(|(w, _)| {
            Column::new(
                "title".into(),
                Input::TitleWord(w.clone()),
                vec![Level {
                    label: format!("title: {w}"),
                    test: Test::Value,
                }],
            )
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
            Column::new(
                "timeline".into(),
                Input::Touches(kind, outcome),
                vec![Level {
                    label: format!("touches: {what}"),
                    test: Test::Value,
                }],
            )
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
            ("first touch after a week", 7.0 * DAY_MS as f64, f64::MAX),
        ];
        let mut levels: Vec<Level> = bands
            .iter()
            .map(|(label, from, to)| Level {
                label: (*label).to_string(),
                test: Test::Range(*from, *to),
            })
            .collect();
        levels[0].test = Test::Range(f64::MIN, 3_600_000.0);
        levels.push(Level {
            label: "not touched yet".into(),
            test: Test::Missing,
        });
        columns.push(Column::new("timeline".into(), Input::FirstTouch, levels));
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
    // The lead's attributes read once, in order: every column then finds its own among them
    // without chasing the map's scattered strings again.
    let attrs: Vec<(&str, &str)> = lead
        .attributes
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    // Crosses come after the columns they cross, at the end of the list.
    for c in columns {
        let level = match c.input {
            Input::Field(ref key) => field_level(c, key, lead, &attrs),
            Input::Cross(..) => break,
            _ => level_of(c, lead, timeline, cutoff),
        };
        out.push(level);
    }
    extend_crosses(columns, &mut out);
    out
}

/// Adds to `row` (the levels of the columns before it) the levels of the rest, which are
/// crosses: a fit with crosses reuses the levels already found.
pub fn extend_crosses(columns: &[Column], row: &mut Vec<Option<(usize, f64)>>) {
    for c in &columns[row.len()..] {
        let level = match c.input {
            Input::Cross(a, b) => {
                let pair = (row.get(a).copied().flatten(), row.get(b).copied().flatten());
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
            _ => None,
        };
        row.push(level);
    }
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
            out.push(Column::new(
                format!("{} with {}", columns[a].name, columns[b].name),
                Input::Cross(a, b),
                levels,
            ));
        }
    }
    out
}

/// The level of a `Field` column, its value found among the lead's `attrs`.
fn field_level(
    column: &Column,
    key: &str,
    lead: &Lead,
    attrs: &[(&str, &str)],
) -> Option<(usize, f64)> {
    let find = |pred: &dyn Fn(&Test) -> bool| column.levels.iter().position(|l| pred(&l.test));
    let raw = if key == "source" {
        lead.source.as_deref().map(Cow::Borrowed)
    } else {
        match attrs.iter().find(|(k, _)| *k == key) {
            Some((_, v)) => Some(Cow::Borrowed(*v)),
            None if attrs.is_empty() => None,
            None => lead.field(key),
        }
    };
    let Some(v) = raw.map(lower_trimmed).filter(|v| !v.is_empty()) else {
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
        return find(&|t| matches!(t, Test::Range(a, b) if x >= *a && x < *b)).map(|i| (i, 1.0));
    }
    column
        .equals(&v)
        .or_else(|| find(&|t| *t == Test::Rare))
        .map(|i| (i, 1.0))
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
            let attrs: Vec<(&str, &str)> = lead
                .attributes
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            field_level(column, key, lead, &attrs)
        }
        Input::EmailKind => column.equals(email_kind(lead)).map(|i| (i, 1.0)),
        Input::TitleWord(word) => {
            let title = lead.field("title")?;
            has_word(&title, word).then_some((0, 1.0))
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
