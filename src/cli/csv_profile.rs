//! What a CSV file holds, column by column, before it is imported: the field each column
//! feeds, a few sample values, and the columns that look filled in after the outcome was known
//! (a "Lead Status" of "Closed Won"). Such a column predicts history perfectly and new leads
//! not at all: a model trained on it learns nothing useful, so the import warns before the
//! model is trained. Pure: the reader feeds it rows.

use std::collections::HashMap;

use serde::Serialize;

use super::csv_in::{Field, cell};
use crate::domain::model::metrics::auc;
use crate::domain::sanitize::for_display;

/// An AUC this far from a coin (either way) from one column alone is too good to be a signal
/// known before the outcome.
pub const LEAK_AUC: f64 = 0.90;
/// Closed rows a column needs before its figure means anything.
const MIN_CLOSED: usize = 20;
/// A category seen on fewer training rows than this is pooled with the other rare ones, so a
/// column of unique ids (every value rare) scores as a coin, not as a perfect lookup.
const RARE: u32 = 10;
/// Numeric columns with at most this many values are also tried as categories (a status code).
const FEW_VALUES: usize = 50;
const SAMPLES: usize = 3;
const SAMPLE_CHARS: usize = 20;

/// Header words that say a column records what happened to the lead. Short words must be a
/// whole word of the header ("won", not "wonder"); long ones may sit inside one
/// ("LeadStatus").
const SHORT_WORDS: [&str; 13] = [
    "stage", "result", "reason", "closed", "close", "won", "win", "lost", "loss", "score", "tag",
    "tags", "deal",
];
const LONG_WORDS: [&str; 6] = [
    "status",
    "disposition",
    "outcome",
    "converted",
    "conversion",
    "unqualified",
];

/// Rows by how they ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Outcomes {
    pub won: usize,
    pub lost: usize,
    pub open: usize,
}

impl Outcomes {
    pub fn add(&mut self, closed: Option<bool>) {
        match closed {
            Some(true) => self.won += 1,
            Some(false) => self.lost += 1,
            None => self.open += 1,
        }
    }

    /// Won among the closed, NaN when none closed.
    pub fn won_rate(&self) -> f64 {
        self.won as f64 / (self.won + self.lost) as f64
    }

    /// `8 won, 10 lost, 2 open (won rate 44%)`.
    pub fn line(&self) -> String {
        let rate = self.won_rate();
        let rate = if rate.is_nan() {
            "no closed rows".to_string()
        } else {
            format!("won rate {:.0}%", rate * 100.0)
        };
        format!(
            "{} won, {} lost, {} open ({rate})",
            self.won, self.lost, self.open
        )
    }
}

/// One column as the dry run shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnReport {
    pub column: String,
    pub field: String,
    pub samples: Vec<String>,
    pub warnings: Vec<String>,
}

/// The values of one column: its first distinct samples, and (with an outcome column) each
/// closed row's value as an index into the distinct values, so 41k rows cost 41k integers.
#[derive(Debug, Default)]
struct Column {
    samples: Vec<String>,
    index: HashMap<String, u32>,
    values: Vec<String>,
    codes: Vec<u32>,
}

/// The columns of a file, filled row by row.
#[derive(Debug)]
pub struct Profile {
    headers: Vec<String>,
    fields: Vec<Field>,
    columns: Vec<Column>,
    /// Kept only when an outcome column says which rows were won.
    history: bool,
    won: Vec<bool>,
    pub outcomes: Outcomes,
}

impl Profile {
    pub fn new(headers: &[&str], fields: &[Field], history: bool) -> Profile {
        Profile {
            headers: headers.iter().map(|h| h.to_string()).collect(),
            fields: fields.to_vec(),
            columns: headers.iter().map(|_| Column::default()).collect(),
            history,
            won: Vec::new(),
            outcomes: Outcomes::default(),
        }
    }

    /// A row that was read, and how it ended (None: open, or no outcome column).
    pub fn add(&mut self, record: &csv::StringRecord, closed: Option<bool>) {
        self.outcomes.add(closed);
        let keep = self.history && closed.is_some();
        if let Some(won) = closed.filter(|_| keep) {
            self.won.push(won);
        }
        for (value, column) in record.iter().zip(&mut self.columns) {
            let v = cell(value);
            if column.samples.len() < SAMPLES
                && !v.is_empty()
                && !column.samples.iter().any(|s| s == v)
            {
                column.samples.push(v.to_string());
            }
            if keep {
                let next = column.values.len() as u32;
                let code = *column.index.entry(v.to_string()).or_insert(next);
                if code == next {
                    column.values.push(v.to_string());
                }
                column.codes.push(code);
            }
        }
    }

    /// Every column: what it feeds, samples, and (with history) leakage warnings.
    pub fn report(&self) -> Vec<ColumnReport> {
        self.columns
            .iter()
            .enumerate()
            .map(|(i, c)| ColumnReport {
                column: for_display(&self.headers[i]),
                field: self.fields[i].shown(),
                samples: c.samples.iter().map(|s| short(s)).collect(),
                warnings: self.warnings(i),
            })
            .collect()
    }

    fn warnings(&self, i: usize) -> Vec<String> {
        let field = &self.fields[i];
        let Some(model_name) = field.model_name().filter(|_| self.history) else {
            return Vec::new();
        };
        let header = &self.headers[i];
        let advice = format!(
            "exclude it from the model: leadq model train --exclude {} or drop it with --map {}",
            quoted(&model_name),
            quoted(&format!("{header}=ignore")),
        );
        let c = &self.columns[i];
        if let Some(figure) = predictive_power(&c.values, &c.codes, &self.won) {
            if figure >= LEAK_AUC {
                return vec![format!(
                    "alone it predicts the outcome almost perfectly (AUC {figure:.2}): it was \
                     probably filled in once the outcome was known; {advice}"
                )];
            }
        }
        match leaky_word(header) {
            Some(word) => vec![format!(
                "its name ({word:?}) suggests it is filled in once the outcome is known; {advice}"
            )],
            None => Vec::new(),
        }
    }
}

/// A sample as the dry run shows it: safe for the terminal, about 20 characters.
fn short(s: &str) -> String {
    let shown = for_display(s);
    if shown.chars().count() <= SAMPLE_CHARS {
        return shown;
    }
    let mut out: String = shown.chars().take(SAMPLE_CHARS - 1).collect();
    out.push('…');
    out
}

/// A word for a shell command line, quoted when it needs to be.
fn quoted(s: &str) -> String {
    let s = for_display(s);
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '=' | ':'))
    {
        s
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// The word of a header that says it records the outcome, if any.
pub fn leaky_word(header: &str) -> Option<&'static str> {
    let lower = header.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    if words.windows(2).any(|w| w == ["lead", "score"]) {
        return Some("lead score");
    }
    let short = SHORT_WORDS.iter().find(|s| words.contains(s));
    let long = || LONG_WORDS.iter().find(|l| lower.contains(*l));
    short.or_else(long).copied()
}

/// How well one column alone ranks the closed rows, as max(AUC, 1 - AUC): 0.5 is no better
/// than a coin. None when there are too few closed rows, or only won or only lost ones.
/// Numbers rank as they are; categories (and numbers with few values) by the won rate of
/// their category on the other half of the rows, so a value seen once cannot predict itself.
pub fn predictive_power(values: &[String], codes: &[u32], won: &[bool]) -> Option<f64> {
    let wins = won.iter().filter(|w| **w).count();
    if codes.len() < MIN_CLOSED || wins == 0 || wins == won.len() {
        return None;
    }
    let either_way = |a: f64| {
        if a.is_nan() {
            None
        } else {
            Some(a.max(1.0 - a))
        }
    };
    let numbers = numeric(values);
    let by_number = numbers.as_ref().and_then(|n| {
        let scores: Vec<f64> = codes.iter().map(|&c| n[c as usize]).collect();
        either_way(auc(&scores, won))
    });
    let by_category = if numbers.is_none() || values.len() <= FEW_VALUES {
        either_way(auc(&out_of_sample(codes, won, values.len()), won))
    } else {
        None
    };
    match (by_number, by_category) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// Each distinct value as a number (an empty cell ranks below all), or None when some
/// non-empty value is not a number.
fn numeric(values: &[String]) -> Option<Vec<f64>> {
    let mut any = false;
    let numbers = values
        .iter()
        .map(|v| {
            if v.is_empty() {
                return Some(f64::NEG_INFINITY);
            }
            any = true;
            v.parse::<f64>().ok().filter(|n| n.is_finite())
        })
        .collect::<Option<Vec<f64>>>()?;
    any.then_some(numbers)
}

/// Which half a row falls in: a fixed scramble of its number, so that a file whose outcomes
/// follow its row order (won, lost, won, lost ...) does not make every column look decisive.
fn half_of(row: usize) -> usize {
    let mut x = (row as u64).wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    ((x ^ (x >> 31)) & 1) as usize
}

/// Every row's score: the won rate of its category among the rows of the other half (rows
/// are shared out between the halves by `half_of`), rare categories pooled.
fn out_of_sample(codes: &[u32], won: &[bool], distinct: usize) -> Vec<f64> {
    let mut scores = vec![0.0; codes.len()];
    for half in 0..2 {
        let mut seen = vec![(0u32, 0u32); distinct];
        for (i, (&c, &w)) in codes.iter().zip(won).enumerate() {
            if half_of(i) != half {
                seen[c as usize].0 += 1;
                seen[c as usize].1 += u32::from(w);
            }
        }
        let (mut rare_rows, mut rare_won, mut all_rows, mut all_won) = (0u32, 0u32, 0u32, 0u32);
        for &(rows, w) in &seen {
            all_rows += rows;
            all_won += w;
            if rows < RARE {
                rare_rows += rows;
                rare_won += w;
            }
        }
        let rare_rate = if rare_rows > 0 {
            f64::from(rare_won) / f64::from(rare_rows)
        } else {
            f64::from(all_won) / f64::from(all_rows.max(1))
        };
        for (i, &c) in codes
            .iter()
            .enumerate()
            .filter(|(i, _)| half_of(*i) == half)
        {
            let (rows, w) = seen[c as usize];
            scores[i] = if rows >= RARE {
                f64::from(w) / f64::from(rows)
            } else {
                rare_rate
            };
        }
    }
    scores
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::csv_in::{CsvOptions, read_csv};

    /// Outcomes that look random but are the same on every run (a small LCG).
    fn coin_flips(n: usize, seed: u64) -> Vec<bool> {
        let mut x = seed;
        (0..n)
            .map(|_| {
                x = x
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                (x >> 33) % 3 == 0
            })
            .collect()
    }

    /// A column as the profile keeps it: distinct values and each row's code.
    fn column(cells: &[String]) -> (Vec<String>, Vec<u32>) {
        let mut values: Vec<String> = Vec::new();
        let codes = cells
            .iter()
            .map(|c| match values.iter().position(|v| v == c) {
                Some(i) => i as u32,
                None => {
                    values.push(c.clone());
                    (values.len() - 1) as u32
                }
            })
            .collect();
        (values, codes)
    }

    fn power(cells: &[String], won: &[bool]) -> f64 {
        let (values, codes) = column(cells);
        predictive_power(&values, &codes, won).expect("enough rows")
    }

    #[test]
    fn a_column_that_restates_the_outcome_is_flagged_and_noise_is_not() {
        let won = coin_flips(400, 7);
        let status: Vec<String> = won
            .iter()
            .map(|w| if *w { "Closed Won" } else { "Closed Lost" }.to_string())
            .collect();
        assert!(power(&status, &won) > 0.99);
        let flag: Vec<String> = won.iter().map(|w| u8::from(*w).to_string()).collect();
        assert!(power(&flag, &won) > 0.99, "a numeric copy of the outcome");
        let reason: Vec<String> = won
            .iter()
            .enumerate()
            .map(|(i, w)| {
                if *w {
                    String::new()
                } else {
                    format!("reason {}", i % 4)
                }
            })
            .collect();
        assert!(
            power(&reason, &won) >= LEAK_AUC,
            "filled in only for lost leads"
        );

        let noise = coin_flips(400, 99);
        let random: Vec<String> = noise
            .iter()
            .map(|n| format!("group {}", u8::from(*n)))
            .collect();
        assert!(power(&random, &won) < 0.65, "{}", power(&random, &won));
        let ids: Vec<String> = (0..400).map(|i| format!("L-{i:05}")).collect();
        assert!(
            power(&ids, &won) < 0.65,
            "unique ids: {}",
            power(&ids, &won)
        );
        let numbers: Vec<String> = (0..400).map(|i| i.to_string()).collect();
        assert!(
            power(&numbers, &won) < 0.65,
            "row numbers: {}",
            power(&numbers, &won)
        );
    }

    /// A file whose outcomes follow its row order (won, lost, won ...) makes no column look
    /// decisive: neither a constant nor one of a few random values.
    #[test]
    fn outcomes_in_row_order_do_not_make_every_column_a_leak() {
        let won: Vec<bool> = (0..400).map(|i| i % 2 == 0).collect();
        let constant = vec!["a".to_string(); 400];
        assert!(power(&constant, &won) < 0.6, "{}", power(&constant, &won));
        let digits: Vec<String> = coin_flips(400, 3)
            .iter()
            .zip(coin_flips(400, 5))
            .map(|(a, b)| format!("{}", u8::from(*a) * 2 + u8::from(b)))
            .collect();
        assert!(power(&digits, &won) < 0.65, "{}", power(&digits, &won));
    }

    #[test]
    fn too_few_rows_or_one_class_give_no_figure() {
        let (values, codes) = column(&vec!["a".to_string(); 19]);
        assert_eq!(predictive_power(&values, &codes, &[true; 19]), None);
        let (values, codes) = column(&vec!["a".to_string(); 40]);
        assert_eq!(predictive_power(&values, &codes, &[false; 40]), None);
    }

    #[test]
    fn header_words_that_record_the_outcome() {
        for (header, word) in [
            ("Lead Status", Some("status")),
            ("LeadStatus", Some("status")),
            ("Deal Stage", Some("stage")),
            ("Lost Reason", Some("reason")),
            ("Lead Score", Some("lead score")),
            ("Call Disposition", Some("disposition")),
            ("Tags", Some("tags")),
            ("Closed Date", Some("closed")),
            ("Job Title", None),
            ("Wonderland", None),
            ("Company", None),
            ("Lead Source", None),
        ] {
            assert_eq!(leaky_word(header), word, "{header}");
        }
    }

    #[test]
    fn the_report_maps_every_column_and_warns_with_the_way_out() {
        let won = coin_flips(200, 3);
        let mut text = String::from("Name,Job Title,Deal Stage,Notes,Won\n");
        for (i, w) in won.iter().enumerate() {
            let stage = if *w { "signed" } else { "dropped" };
            text.push_str(&format!(
                "Lead {i},Boss \u{1b}[2J of everything,{stage},n{i},{w}\n"
            ));
        }
        let o = CsvOptions {
            file: "t.csv".into(),
            outcome_column: Some("Won".into()),
            profile: true,
            now: 1_795_341_600_000,
            ..CsvOptions::default()
        };
        let p = read_csv(text.as_bytes(), &o).unwrap().profile.unwrap();
        assert_eq!(p.outcomes.won + p.outcomes.lost, 200);
        let r = p.report();
        let fields: Vec<&str> = r.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "name",
                "attribute \"title\"",
                "attribute \"Deal Stage\"",
                "attribute \"Notes\"",
                "outcome"
            ]
        );
        assert_eq!(r[0].samples, ["Lead 0", "Lead 1", "Lead 2"]);
        assert_eq!(r[1].samples, ["Boss \u{FFFD}[2J of everyt…"]);
        assert_eq!(r[2].warnings.len(), 1);
        let w = &r[2].warnings[0];
        assert!(
            w.contains("predicts the outcome almost perfectly (AUC 1.00)"),
            "{w}"
        );
        assert!(
            w.contains(
                "leadq model train --exclude 'Deal Stage' or drop it with --map 'Deal Stage=ignore'"
            ),
            "{w}"
        );
        assert!(r[0].warnings.is_empty() && r[1].warnings.is_empty());
        assert!(r[3].warnings.is_empty() && r[4].warnings.is_empty());
    }
}
