//! The manager's reports as text: figures as a person reads them, tables aligned in screen
//! cells (headers on two lines where one is too wide), bars and sparklines in block
//! characters, so a report reads the same in the mono theme and without colour. The CLI
//! prints these; the TUI draws them.

use super::reports::{Figure, Table};
use crate::domain::Millis;

/// A local day as a date.
pub fn day_text(day: i32) -> String {
    chrono::NaiveDate::from_num_days_from_ce_opt(day)
        .map_or_else(|| day.to_string(), |d| d.to_string())
}

impl Figure {
    /// The figure as a report's text shows it.
    pub fn text(&self) -> String {
        match self {
            Figure::Text(t) => crate::domain::sanitize::for_display(t),
            Figure::Count(n) => n.to_string(),
            Figure::Share(Some(f)) => format!("{:.0}%", f * 100.0),
            Figure::Share(None) | Figure::Duration(None) => "-".into(),
            Figure::Duration(Some(ms)) => duration_text(*ms),
            Figure::Rate(r) => format!("{r:.1}"),
            Figure::Money(Some(m)) => format!("{m:.2}"),
            Figure::Money(None) => "-".into(),
            Figure::Lead { id, name } => {
                format!("#{id} {}", crate::domain::sanitize::for_display(name))
            }
        }
    }

    /// The number a bar shows.
    pub fn value(&self) -> f64 {
        match self {
            Figure::Count(n) => *n as f64,
            Figure::Share(Some(f)) | Figure::Rate(f) | Figure::Money(Some(f)) => *f,
            Figure::Duration(Some(ms)) => *ms as f64,
            _ => 0.0,
        }
    }
}

/// A duration the way a person says it: 45s, 12m, 3.5h, 4d.
pub fn duration_text(ms: Millis) -> String {
    // Rounded to the nearest unit shown: 164 s reads 3m, not 2m.
    let s = (ms + 500) / 1000;
    match s {
        s if s < 60 => format!("{s}s"),
        s if s < 3570 => format!("{}m", (s + 30) / 60),
        s if s < 86_220 => format!("{:.1}h", s as f64 / 3600.0),
        s => format!("{:.1}d", s as f64 / 86_400.0),
    }
}

/// A horizontal bar of `value` against `max`, `width` cells at most, in block characters
/// (eighths), so it reads the same without colour.
pub fn bar(value: f64, max: f64, width: usize) -> String {
    if max <= 0.0 || value <= 0.0 || width == 0 {
        return String::new();
    }
    let eighths = ((value / max).min(1.0) * (width * 8) as f64)
        .round()
        .max(1.0) as usize;
    let mut out = "█".repeat(eighths / 8);
    const PARTS: [&str; 8] = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];
    out.push_str(PARTS[eighths % 8]);
    out
}

/// A table as text in `width` columns: its title, aligned columns, and the bar column's bars
/// in the room that is left.
pub fn text_table(t: &Table, width: usize) -> TextTable {
    use unicode_width::UnicodeWidthStr;
    let cells: Vec<Vec<String>> = t
        .rows
        .iter()
        .map(|r| r.iter().map(Figure::text).collect())
        .collect();
    let n = t.columns.len();
    // Each column as wide as its widest cell (text at most 24 cells).
    let body: Vec<usize> = (0..n)
        .map(|c| {
            cells
                .iter()
                .map(|r| r.get(c).map_or(0, |x| x.width()))
                .max()
                .unwrap_or(0)
                .min(24)
        })
        .collect();
    let one_line: Vec<usize> = (0..n).map(|c| body[c].max(t.columns[c].width())).collect();
    let total = |w: &[usize]| w.iter().sum::<usize>() + 2 * w.len().saturating_sub(1);
    // Too wide with each header on one line: headers of several words take two.
    let split: Vec<(String, String)> = t.columns.iter().map(|h| two_lines(h)).collect();
    let two = total(&one_line) > width;
    let mut widths: Vec<usize> = if two {
        (0..n)
            .map(|c| body[c].max(split[c].0.width()).max(split[c].1.width()))
            .collect()
    } else {
        one_line
    };
    // Still too wide: the text columns (names) give way, down to 8 cells.
    for c in 0..n {
        let over = total(&widths).saturating_sub(width);
        let text = cells
            .iter()
            .any(|r| r.get(c).is_some_and(|x| x.parse::<f64>().is_err()) && c < 2);
        if over > 0 && text {
            widths[c] = widths[c].saturating_sub(over).max(8);
        }
    }
    let line = |parts: &[String]| -> String {
        parts
            .iter()
            .enumerate()
            .map(|(c, p)| {
                let w = widths.get(c).copied().unwrap_or(0);
                let p = fit(p, w);
                let pad = " ".repeat(w.saturating_sub(p.width()));
                if c == 0 {
                    format!("{p}{pad}")
                } else {
                    format!("{pad}{p}")
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
    };
    let mut lines = vec![t.title.clone()];
    if two {
        let top: Vec<String> = split.iter().map(|(a, _)| a.clone()).collect();
        let bottom: Vec<String> = split.iter().map(|(_, b)| b.clone()).collect();
        lines.push(line(&top).trim_end().to_string());
        lines.push(line(&bottom));
    } else {
        lines.push(line(&t.columns));
    }
    let head = lines.len();
    let room = width.saturating_sub(total(&widths) + 3).min(30);
    let max = t
        .bar
        .map(|b| {
            t.rows
                .iter()
                .filter_map(|r| r.get(b))
                .map(Figure::value)
                .fold(0.0, f64::max)
        })
        .unwrap_or(0.0);
    for (row, text) in t.rows.iter().zip(&cells) {
        let mut l = line(text);
        if let Some(b) = t.bar
            && room >= 4
        {
            l.push_str("  ");
            l.push_str(&bar(row.get(b).map_or(0.0, Figure::value), max, room));
        }
        lines.push(l.trim_end().to_string());
    }
    if t.rows.is_empty() {
        lines.push("(nothing in this period)".into());
    }
    TextTable { lines, head }
}

/// A table as text: its lines, the first `head` of them the title and the column headers.
#[derive(Debug, Clone, PartialEq)]
pub struct TextTable {
    pub lines: Vec<String>,
    pub head: usize,
}

/// A header of several words as two lines, split where the longer line is shortest; one
/// word: on the second line.
fn two_lines(h: &str) -> (String, String) {
    let words: Vec<&str> = h.split(' ').collect();
    (1..words.len())
        .map(|k| (words[..k].join(" "), words[k..].join(" ")))
        .min_by_key(|(a, b)| a.chars().count().max(b.chars().count()))
        .unwrap_or_else(|| (String::new(), h.to_string()))
}

/// `text` in at most `w` cells: cut with an ellipsis when longer.
fn fit(text: &str, w: usize) -> String {
    use unicode_width::UnicodeWidthChar;
    use unicode_width::UnicodeWidthStr;
    if text.width() <= w {
        return text.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for ch in text.chars() {
        let cw = ch.width().unwrap_or(0);
        if used + cw + 1 > w {
            break;
        }
        out.push(ch);
        used += cw;
    }
    if w > 0 {
        out.push('…');
    }
    out
}

/// Counts as a line of eighth-height blocks, the largest full (empty: nothing to draw).
pub fn sparkline(counts: &[u64]) -> String {
    const LEVELS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = counts.iter().copied().max().unwrap_or(0);
    if max == 0 {
        return String::new();
    }
    counts
        .iter()
        .map(|&n| match n {
            // Nothing is nothing, not the lowest bar.
            0 => ' ',
            n => LEVELS[((n * 7 + max / 2) / max).min(7) as usize],
        })
        .collect()
}
