//! How the CLI prints leads: plain text (sanitised for the terminal), JSON and CSV (formula
//! cells neutralised).

use std::collections::BTreeMap;
use std::io::Write;

use serde::{Deserialize, Serialize};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::domain::sanitize::{for_csv_cell, for_display, is_unsafe};
use crate::domain::time::{format_rfc3339, relative};
use crate::domain::{Interaction, Millis, Temperature};
use crate::service::{Change, LeadDetail, LeadView};

/// A lead as scripts see it (`list --format json`, `export`, `show`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeadJson {
    pub id: u64,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub source: Option<String>,
    pub owner: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    pub stage: String,
    pub lost_reason: Option<String>,
    pub temperature: String,
    pub score: u8,
    pub next_action: Option<String>,
    pub last_touch: Option<String>,
    pub created: String,
    /// The learned chance to win, 0 to 1, when a model is active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chance: Option<f64>,
}

impl LeadJson {
    pub fn from_view(v: &LeadView) -> LeadJson {
        let l = &v.lead;
        LeadJson {
            id: l.id,
            name: l.name.clone(),
            email: l.email.clone(),
            phone: l.phone.clone(),
            company: l.company.clone(),
            source: l.source.clone(),
            owner: l.owner.clone(),
            tags: l.tags.clone(),
            attributes: l.attributes.clone(),
            stage: l.stage.name().into(),
            lost_reason: l.lost_reason.map(|r| r.name().into()),
            temperature: v.temperature.name().into(),
            score: v.score,
            next_action: l.next_action.map(format_rfc3339),
            last_touch: l.last_touch.map(format_rfc3339),
            created: format_rfc3339(l.created),
            chance: v.chance.map(|c| (c * 10_000.0).round() / 10_000.0),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct TimelineJson {
    pub kind: String,
    pub outcome: Option<String>,
    pub author: String,
    pub at: String,
    pub note: Option<String>,
    pub duration_secs: Option<u32>,
}

impl TimelineJson {
    pub fn from(i: &Interaction) -> TimelineJson {
        TimelineJson {
            kind: i.kind.name().into(),
            outcome: i.outcome.map(|o| o.name().into()),
            author: i.author.clone(),
            at: format_rfc3339(i.at),
            note: i.note.clone(),
            duration_secs: i.duration_secs,
        }
    }
}

pub fn detail_json(d: &LeadDetail) -> serde_json::Value {
    let mut v = serde_json::to_value(LeadJson::from_view(&d.view)).expect("lead serialises");
    let obj = v.as_object_mut().expect("lead is an object");
    obj.insert(
        "explanation".into(),
        serde_json::to_value(&d.explanation.items).expect("serialises"),
    );
    if let Some(p) = &d.prediction {
        obj.insert(
            "prediction".into(),
            serde_json::json!({
                "chance": (p.chance * 10_000.0).round() / 10_000.0,
                "base_log_odds": p.base,
                "factors": p.factors.iter().map(|f| serde_json::json!({
                    "factor": f.label, "log_odds": f.effect,
                })).collect::<Vec<_>>(),
                "model_version": p.model_version,
                "won": p.won,
                "lost": p.lost,
                "trained_at": format_rfc3339(p.trained_at),
            }),
        );
    }
    let timeline: Vec<_> = d.timeline.iter().map(TimelineJson::from).collect();
    obj.insert(
        "timeline".into(),
        serde_json::to_value(timeline).expect("serialises"),
    );
    v
}

pub fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", escape_unsafe(&text))?;
    Ok(())
}

/// JSON with the characters that could drive a terminal written as `\u` escapes (four hex
/// digits): serde escapes only the C0 controls, not DEL, the C1 controls or the bidi overrides.
/// They can only be inside strings (JSON's own syntax is ASCII), where the escape reads back
/// as the same text.
pub fn escape_unsafe(json: &str) -> String {
    if !json.chars().any(crate::domain::sanitize::is_unsafe) {
        return json.to_string();
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if crate::domain::sanitize::is_unsafe_beyond_layout(c) {
            // Beyond the BMP (the tag characters) as JSON writes it: a surrogate pair.
            for unit in c.encode_utf16(&mut [0; 2]) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `HOT`, `warm`, `cold`: hot shouts so it stands out in plain text too.
pub fn temperature_label(t: Temperature) -> String {
    match t {
        Temperature::Hot => "HOT".into(),
        other => other.name().into(),
    }
}

/// Text safe for a terminal, cut to `width` columns with an ellipsis.
pub fn fit(s: &str, width: usize) -> String {
    let s = for_display(s);
    if s.width() <= width {
        return format!("{s}{}", " ".repeat(width - s.width()));
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    used += 1;
    format!("{out}{}", " ".repeat(width.saturating_sub(used)))
}

pub fn next_label(next: Option<Millis>, now: Millis) -> String {
    match next {
        None => "-".into(),
        Some(t) if t <= now => format!("due {}", relative(t, now)).replace("due now", "due"),
        Some(t) => relative(t, now),
    }
}

pub fn print_table(rows: &[LeadView], now: Millis) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    // The chance column shows only when a learned model scores the queue.
    let learned = rows.iter().any(|v| v.chance.is_some());
    let win = |c: Option<f64>| match (learned, c) {
        (false, _) => String::new(),
        (true, Some(c)) => format!(" {:>3.0}%", c * 100.0),
        (true, None) => "    -".into(),
    };
    writeln!(
        out,
        "{:>6} {:>5}{} {:<4} {} {} {} {:>5} {:<8} OWNER",
        "ID",
        "SCORE",
        if learned { "  WIN" } else { "" },
        "TEMP",
        fit("NAME", 22),
        fit("COMPANY", 18),
        fit("STAGE", 11),
        "LAST",
        "NEXT",
    )?;
    for v in rows {
        let l = &v.lead;
        writeln!(
            out,
            "{:>6} {:>5}{} {:<4} {} {} {} {:>5} {:<8} {}",
            l.id,
            v.score,
            win(v.chance),
            temperature_label(v.temperature),
            fit(&l.name, 22),
            fit(l.company.as_deref().unwrap_or("-"), 18),
            fit(l.stage.name(), 11),
            l.last_touch.map_or("-".into(), |t| relative(t, now)),
            next_label(l.next_action, now),
            for_display(l.owner.as_deref().unwrap_or("-")),
        )?;
    }
    Ok(())
}

/// A CSV cell that can neither run as a spreadsheet formula nor drive the terminal the CSV is
/// printed on (`leadq export` writes to standard output): control characters other than line
/// breaks and tabs become U+FFFD, as on screen.
fn csv_cell(s: &str) -> String {
    let kept = |c: char| matches!(c, '\n' | '\r' | '\t') || !is_unsafe(c);
    let s: String = s
        .chars()
        .map(|c| if kept(c) { c } else { '\u{FFFD}' })
        .collect();
    for_csv_cell(&s)
}

/// The columns of `export --format csv` before the attributes. `import` knows a file that
/// starts with them for one of leadq's own: the computed columns are not read back.
pub const EXPORT_COLUMNS: [&str; 15] = [
    "id",
    "name",
    "email",
    "phone",
    "company",
    "source",
    "owner",
    "tags",
    "stage",
    "lost_reason",
    "temperature",
    "score",
    "next_action",
    "last_touch",
    "created",
];

/// CSV of leads, cells neutralised against spreadsheet formulas.
pub fn write_csv<W: Write>(rows: &[LeadView], out: W) -> anyhow::Result<()> {
    let mut attr_keys: Vec<String> = rows
        .iter()
        .flat_map(|v| v.lead.attributes.keys().cloned())
        .collect();
    attr_keys.sort();
    attr_keys.dedup();
    let mut w = csv::Writer::from_writer(out);
    let mut header: Vec<String> = EXPORT_COLUMNS.iter().map(|s| s.to_string()).collect();
    header.extend(attr_keys.iter().cloned());
    w.write_record(header.iter().map(|c| csv_cell(c)))?;
    for v in rows {
        let j = LeadJson::from_view(v);
        let opt = |o: &Option<String>| o.clone().unwrap_or_default();
        let mut rec = vec![
            j.id.to_string(),
            j.name.clone(),
            opt(&j.email),
            opt(&j.phone),
            opt(&j.company),
            opt(&j.source),
            opt(&j.owner),
            j.tags.join(";"),
            j.stage.clone(),
            opt(&j.lost_reason),
            j.temperature.clone(),
            j.score.to_string(),
            opt(&j.next_action),
            opt(&j.last_touch),
            j.created.clone(),
        ];
        rec.extend(
            attr_keys
                .iter()
                .map(|k| j.attributes.get(k).cloned().unwrap_or_default()),
        );
        w.write_record(rec.iter().map(|c| csv_cell(c)))?;
    }
    w.flush()?;
    Ok(())
}

/// One line saying what a command changed: `#17 Ann Lee: score 42 -> 57 (+15), warm -> HOT, stage new -> contacted`.
pub fn change_line(c: &Change, now: Millis) -> String {
    let mut parts = Vec::new();
    let delta = i32::from(c.score_after) - i32::from(c.score_before);
    if delta == 0 {
        parts.push(format!("score {}", c.score_after));
    } else {
        parts.push(format!(
            "score {} -> {} ({delta:+})",
            c.score_before, c.score_after
        ));
    }
    if c.temperature_before == c.temperature_after {
        parts.push(temperature_label(c.temperature_after));
    } else {
        parts.push(format!(
            "{} -> {}",
            temperature_label(c.temperature_before),
            temperature_label(c.temperature_after)
        ));
    }
    if c.stage_before == c.stage_after {
        parts.push(format!("stage {}", c.stage_after));
    } else {
        parts.push(format!("stage {} -> {}", c.stage_before, c.stage_after));
    }
    if let Some(next) = c.next_action {
        parts.push(format!(
            "next {} ({})",
            format_rfc3339(next),
            next_label(Some(next), now)
        ));
    }
    format!("#{} {}: {}", c.id, for_display(&c.name), parts.join(", "))
}

/// What a command changed, as scripts see it (`--format json`): times in RFC 3339 like every
/// other time leadq prints, and without the undo token the TUI uses.
pub fn change_json(c: &Change) -> serde_json::Value {
    serde_json::json!({
        "id": c.id,
        "name": c.name,
        "score_before": c.score_before,
        "score_after": c.score_after,
        "temperature_before": c.temperature_before.name(),
        "temperature_after": c.temperature_after.name(),
        "stage_before": c.stage_before.name(),
        "stage_after": c.stage_after.name(),
        "next_action": c.next_action.map(format_rfc3339),
        "owner": c.owner,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn json_out_escapes_what_could_drive_a_terminal_and_reads_back_the_same() {
        let value =
            serde_json::json!({ "name": "a\u{202e}b\u{7f}c\u{9b}d\u{1b}e\u{200b}f\u{e0041}g" });
        let text = super::escape_unsafe(&serde_json::to_string_pretty(&value).unwrap());
        assert!(
            !text
                .chars()
                .any(crate::domain::sanitize::is_unsafe_beyond_layout),
            "{text:?}"
        );
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
    }
}
