//! One lead: the card and the score explanation on the left, the timeline (newest first) on
//! the right.

use chrono::Local;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget};

use super::super::presence;
use super::super::state::State;
use super::super::theme::Theme;
use super::text::fit;
use crate::domain::time::{relative, to_datetime};
use crate::service::LeadDetail;

pub fn render(buf: &mut Buffer, area: Rect, s: &State, theme: &Theme) {
    let Some(d) = &s.detail else {
        buf.set_line(
            area.x,
            area.y,
            &Line::styled(" loading…", theme.style("muted")),
            area.width,
        );
        return;
    };
    let left_width = (area.width * 45 / 100).clamp(40, 60);
    let [left, right] =
        Layout::horizontal([Constraint::Length(left_width), Constraint::Min(30)]).areas(area);
    let others = presence::others_on(s, d.view.lead.id);
    let width = usize::from(left_width.saturating_sub(2));
    let mut card_lines = card_lines(d, s.now, width, theme);
    // Who else is on the lead goes right under its name and score, where a rep looks first.
    for (at, (user, activity)) in others.iter().enumerate() {
        let text = fit(&format!("● {}", presence::sentence(user, *activity)), width);
        card_lines.insert(2 + at, Line::styled(text, theme.style("presence")));
    }
    let card_height = (card_lines.len() as u16 + 2).min(left.height.saturating_sub(5));
    let [top, bottom] =
        Layout::vertical([Constraint::Length(card_height), Constraint::Min(3)]).areas(left);
    Paragraph::new(card_lines)
        .block(block(" Lead ", theme))
        .style(theme.text())
        .render(top, buf);
    explanation(buf, bottom, d, s.now, theme);
    timeline(buf, right, d, s, theme);
}

fn block<'a>(title: &'a str, theme: &Theme) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(title, theme.style("title")))
        .border_style(theme.style("border"))
}

/// A time as a rep reads it: "Sat 5 Dec 09:00" in local time.
fn local(ms: i64) -> String {
    to_datetime(ms)
        .with_timezone(&Local)
        .format("%a %-d %b %H:%M")
        .to_string()
}

fn card_lines(d: &LeadDetail, now: i64, width: usize, theme: &Theme) -> Vec<Line<'static>> {
    let l = &d.view.lead;
    let value_width = width.saturating_sub(9);
    let field = |label: &str, value: String| {
        Line::from(vec![
            Span::styled(format!("{label:<9}"), theme.style("muted")),
            Span::styled(fit(&value, value_width), theme.text()),
        ])
    };
    let opt = |o: &Option<String>| o.clone().unwrap_or_else(|| "-".into());
    let temp = match d.view.temperature {
        crate::domain::Temperature::Hot => "HOT",
        t => t.name(),
    };
    let mut lines = vec![
        Line::from(vec![
            Span::styled(format!("#{} ", l.id), theme.style("muted")),
            Span::styled(
                fit(&l.name, width.saturating_sub(8)).trim_end().to_string(),
                theme.style("title"),
            ),
        ]),
        Line::from(vec![
            Span::styled(
                format!("{temp} {}", d.view.score),
                theme.temperature(d.view.temperature),
            ),
            Span::styled("  ", theme.text()),
            Span::styled(l.stage.name(), theme.stage(l.stage)),
            Span::styled(
                l.lost_reason.map(|r| format!(" ({r})")).unwrap_or_default(),
                theme.style("muted"),
            ),
        ]),
        field("company", opt(&l.company)),
        field("email", opt(&l.email)),
        field("phone", opt(&l.phone)),
        field("source", opt(&l.source)),
        field("owner", opt(&l.owner)),
    ];
    let next = match l.next_action {
        Some(t) if t <= now => Line::from(vec![
            Span::styled(format!("{:<9}", "next"), theme.style("muted")),
            Span::styled(format!("{} (overdue)", local(t)), theme.style("overdue")),
        ]),
        Some(t) => field("next", format!("{} ({})", local(t), relative(t, now))),
        None => field("next", "-".into()),
    };
    lines.push(next);
    if let Some(t) = l.snoozed_until.filter(|t| *t > now) {
        lines.push(field("snoozed", format!("until {}", local(t))));
    }
    // A web lead waiting for its first touch: its clock.
    match l.response_due.filter(|_| l.awaiting()) {
        Some(due) if due < now => lines.push(Line::from(vec![
            Span::styled(format!("{:<9}", "touched"), theme.style("muted")),
            Span::styled(
                format!(
                    "never · waited {} · LATE {}",
                    super::super::update::age(now, l.created),
                    super::super::update::age(now, due)
                ),
                theme.style("overdue"),
            ),
        ])),
        Some(due) => lines.push(field(
            "touched",
            format!(
                "never · waited {} · due in {}",
                super::super::update::age(now, l.created),
                super::super::update::age(due, now)
            ),
        )),
        None => lines.push(field(
            "touched",
            l.last_touch.map_or("never".into(), |t| relative(t, now)),
        )),
    }
    if !l.tags.is_empty() {
        lines.push(field("tags", l.tags.join(", ")));
    }
    if !l.attributes.is_empty() {
        // One line, so the score keeps its room on a small terminal; `leadq show` lists them all.
        let attrs: Vec<String> = l
            .attributes
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        lines.push(field("attrs", attrs.join(" · ")));
    }
    lines
}

/// The rules behind the score, biggest first when they do not all fit.
fn explanation(buf: &mut Buffer, area: Rect, d: &LeadDetail, now: i64, theme: &Theme) {
    let e = &d.explanation;
    let width = usize::from(area.width.saturating_sub(10));
    let room = usize::from(area.height.saturating_sub(3));
    let mut items: Vec<_> = e.items.iter().collect();
    let hidden = items.len().saturating_sub(room);
    if hidden > 0 {
        items.sort_by(|a, b| b.points.abs().total_cmp(&a.points.abs()));
        items.truncate(room.saturating_sub(1));
    }
    let mut lines = vec![Line::styled(
        // `+ 0.0` turns a -0 (a sum of nothing negative) into 0.
        format!(
            "fit {:.0} + engagement {:.0}",
            e.fit + 0.0,
            e.engagement + 0.0
        ),
        theme.style("muted"),
    )];
    for item in &items {
        let role = if item.points >= 0.0 {
            "positive"
        } else {
            "negative"
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{:>+6.1} ", item.points), theme.style(role)),
            Span::styled(fit(&item.rule, width), theme.text()),
        ]));
    }
    if hidden > 0 {
        lines.push(Line::styled(
            format!("  ... {} more: leadq show {}", hidden + 1, d.view.lead.id),
            theme.style("muted"),
        ));
    }
    if let Some(p) = &d.prediction {
        lines.insert(
            0,
            Line::styled(
                fit(
                    &format!("{:.0}% chance to win", p.chance * 100.0),
                    width + 8,
                ),
                theme.style("title"),
            ),
        );
        lines.insert(
            1,
            Line::styled(
                fit(
                    &crate::domain::model::learned_from(p.won, p.lost, p.trained_at, now),
                    width + 8,
                ),
                theme.style("muted"),
            ),
        );
        let room = usize::from(area.height.saturating_sub(3)).saturating_sub(lines.len());
        for f in p
            .factors
            .iter()
            .filter(|f| f.effect.abs() >= 0.05)
            .take(room.min(5))
        {
            let role = if f.effect >= 0.0 {
                "positive"
            } else {
                "negative"
            };
            let sign = if f.effect >= 0.0 { "+" } else { "-" };
            lines.push(Line::from(vec![
                Span::styled(format!("{sign:>6} "), theme.style(role)),
                Span::styled(fit(&f.label, width), theme.text()),
            ]));
        }
    }
    let title = format!(" Score {} ", e.score);
    Paragraph::new(lines)
        .block(block(&title, theme))
        .style(theme.text())
        .render(area, buf);
}

fn timeline(buf: &mut Buffer, area: Rect, d: &LeadDetail, s: &State, theme: &Theme) {
    let width = usize::from(area.width.saturating_sub(2));
    let mut lines = Vec::new();
    for i in d.timeline.iter().skip(s.detail_scroll) {
        let what = match i.outcome {
            Some(o) => format!("{} {}", i.kind, o.name().replace('-', " ")),
            None => i.kind.to_string(),
        };
        let head = format!(
            "{:>4} {:<19} {} ",
            relative(i.at, s.now),
            what,
            fit(&i.author, 8)
        );
        let style = if i.kind == crate::domain::Kind::System {
            theme.style("muted")
        } else {
            theme.text()
        };
        let note = i.note.as_deref().unwrap_or("");
        let room = width.saturating_sub(head.chars().count());
        // A note that does not fit beside the entry gets its own line under it.
        if note.is_empty() || note.chars().count() <= room {
            lines.push(Line::from(vec![
                Span::styled(head, style),
                Span::styled(fit(note, room), theme.style("muted")),
            ]));
        } else {
            lines.push(Line::styled(head, style));
            lines.push(Line::styled(
                format!("      {}", fit(note, width.saturating_sub(6))),
                theme.style("muted"),
            ));
        }
    }
    let more = if s.detail_scroll > 0 {
        format!(", {} above", s.detail_scroll)
    } else {
        String::new()
    };
    let title = format!(" Timeline ({}) newest first{more} ", d.timeline.len());
    Paragraph::new(lines)
        .block(block(&title, theme))
        .style(theme.text())
        .render(area, buf);
}
