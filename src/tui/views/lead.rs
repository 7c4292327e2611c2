//! One lead: the card, the score explanation and the timeline, newest first.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget};

use super::super::state::State;
use super::super::theme::Theme;
use super::text::fit;
use crate::domain::sanitize::for_display;
use crate::domain::time::{format_rfc3339, relative};
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
    let [top, bottom] = Layout::vertical([Constraint::Length(8), Constraint::Min(3)]).areas(area);
    card(buf, top, d, s.now, theme);
    let score_width = if area.width < 100 { 31 } else { 38 };
    let [left, right] =
        Layout::horizontal([Constraint::Length(score_width), Constraint::Min(30)]).areas(bottom);
    explanation(buf, left, d, theme);
    timeline(buf, right, d, s, theme);
}

fn block<'a>(title: &'a str, theme: &Theme) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(title, theme.style("title")))
        .border_style(theme.style("border"))
}

fn field(label: &str, value: String, width: usize, theme: &Theme) -> Vec<Span<'static>> {
    vec![
        Span::styled(format!("{label:<8}"), theme.style("muted")),
        Span::styled(fit(&value, width), theme.text()),
    ]
}

fn card(buf: &mut Buffer, area: Rect, d: &LeadDetail, now: i64, theme: &Theme) {
    let l = &d.view.lead;
    let opt = |o: &Option<String>| o.clone().unwrap_or_else(|| "-".into());
    let half = usize::from(area.width.saturating_sub(4)) / 2;
    let w = half.saturating_sub(9);
    let pair = |a: Vec<Span<'static>>, b: Vec<Span<'static>>| {
        let mut spans = a;
        spans.push(Span::raw(" "));
        spans.extend(b);
        Line::from(spans)
    };
    let temp = match d.view.temperature {
        crate::domain::Temperature::Hot => "HOT",
        t => t.name(),
    };
    let title_line = Line::from(vec![
        Span::styled(format!("#{} ", l.id), theme.style("muted")),
        Span::styled(for_display(&l.name), theme.style("title")),
        Span::styled(
            format!("  {temp} {}", d.view.score),
            theme.temperature(d.view.temperature),
        ),
        Span::styled(format!("  {}", l.stage), theme.stage(l.stage)),
        Span::styled(
            l.lost_reason.map(|r| format!(" ({r})")).unwrap_or_default(),
            theme.style("muted"),
        ),
    ]);
    let next = match l.next_action {
        Some(t) if t <= now => format!("due {}", format_rfc3339(t)),
        Some(t) => format!("{} ({})", format_rfc3339(t), relative(t, now)),
        None => "-".into(),
    };
    let attrs: Vec<String> = l
        .attributes
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    let lines = vec![
        title_line,
        pair(
            field("company", opt(&l.company), w, theme),
            field("email", opt(&l.email), w, theme),
        ),
        pair(
            field("source", opt(&l.source), w, theme),
            field("phone", opt(&l.phone), w, theme),
        ),
        pair(
            field("owner", opt(&l.owner), w, theme),
            field("next", next, w, theme),
        ),
        pair(
            field(
                "touched",
                l.last_touch.map_or("never".into(), |t| relative(t, now)),
                w,
                theme,
            ),
            field(
                "tags",
                if l.tags.is_empty() {
                    "-".into()
                } else {
                    l.tags.join(", ")
                },
                w,
                theme,
            ),
        ),
        Line::from(field(
            "attrs",
            if attrs.is_empty() {
                "-".into()
            } else {
                attrs.join(" · ")
            },
            half * 2 - 8,
            theme,
        )),
    ];
    Paragraph::new(lines)
        .block(block(" Lead ", theme))
        .style(theme.text())
        .render(area, buf);
}

fn explanation(buf: &mut Buffer, area: Rect, d: &LeadDetail, theme: &Theme) {
    let e = &d.explanation;
    let width = usize::from(area.width.saturating_sub(10));
    let mut lines = vec![Line::from(vec![Span::styled(
        format!("fit {:.0} + engagement {:.0}", e.fit, e.engagement),
        theme.style("muted"),
    )])];
    for item in &e.items {
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
            "{:>4} {:<20} {:<8} ",
            relative(i.at, s.now),
            what,
            fit(&i.author, 8)
        );
        let note_width = width.saturating_sub(head.chars().count());
        let style = if i.kind == crate::domain::Kind::System {
            theme.style("muted")
        } else {
            theme.text()
        };
        lines.push(Line::from(vec![
            Span::styled(head, style),
            Span::styled(
                fit(i.note.as_deref().unwrap_or(""), note_width),
                theme.style("muted"),
            ),
        ]));
    }
    let title = format!(" Timeline ({}) newest first ", d.timeline.len());
    Paragraph::new(lines)
        .block(block(&title, theme))
        .style(theme.text())
        .render(area, buf);
}
