//! `R`: the manager's reports, one at a time: a line of the reports (the one on show marked)
//! and the period, then its tables with bars in block characters, so a bar reads the same in
//! the mono theme and without colour. The figures are the service's (`service::reports`),
//! drawn as `leadq report` prints them.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget};

use super::super::state::State;
use super::super::theme::Theme;
use crate::service::ReportKind;
use crate::service::report_text::{day_text, text_table};

pub fn render(buf: &mut Buffer, area: Rect, s: &State, theme: &Theme) {
    let width = usize::from(area.width.saturating_sub(2));
    let mut tabs = vec![Span::raw(" ")];
    for k in ReportKind::ALL {
        let style = if k == s.report_kind {
            theme.style("selection")
        } else {
            theme.style("muted")
        };
        tabs.push(Span::styled(format!(" {} ", k.name()), style));
    }
    let period = match s.report_days {
        Some(n) => format!("  last {n} days"),
        None => "  all time".into(),
    };
    tabs.push(Span::styled(period, theme.style("accent")));
    let mut lines = vec![Line::from(tabs)];
    match &s.report {
        None => match &s.report_failed {
            Some(why) => lines.push(Line::styled(
                format!(" {}", crate::domain::sanitize::for_display(why)),
                theme.style("error"),
            )),
            None => lines.push(Line::styled(" Counting…", theme.style("muted"))),
        },
        Some(r) => {
            lines.push(Line::styled(subtitle(r, s), theme.style("muted")));
            let mut body = Vec::new();
            // The leads the report names: the selected one marked, kept in sight.
            let (mut lead_row, mut selected_line) = (0usize, None);
            for t in &r.tables {
                body.push(Line::raw(""));
                let table = text_table(t, width.saturating_sub(3));
                let head = table.head;
                for (n, text) in table.lines.into_iter().enumerate() {
                    let names_lead = n >= head
                        && matches!(
                            t.rows.get(n - head).and_then(|row| row.first()),
                            Some(crate::service::Figure::Lead { .. })
                        );
                    let here = names_lead && Some(lead_row) == s.report_at;
                    if names_lead {
                        lead_row += 1;
                    }
                    let style = match n {
                        _ if here => theme.style("selection"),
                        0 => theme.style("accent"),
                        n if n < head => theme.style("muted"),
                        _ => theme.text(),
                    };
                    if here {
                        selected_line = Some(body.len());
                    }
                    let mark = if here { ">" } else { " " };
                    body.push(Line::styled(format!("{mark} {text}"), style));
                }
            }
            let room = usize::from(area.height.saturating_sub(4));
            let scroll = match selected_line {
                Some(line) => line.saturating_sub(room / 2),
                None => s.report_scroll,
            };
            lines.extend(body.into_iter().skip(scroll));
        }
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.style("border"))
        .title(" Reports (tab next, p period, o whose, esc back) ");
    Paragraph::new(lines).block(block).render(area, buf);
}

/// The days, whose figures, and the queue's filters that narrow them.
fn subtitle(r: &crate::service::Report, s: &State) -> String {
    use crate::domain::sanitize::for_display;
    let whose = match r.owner.as_deref() {
        None => "everyone".to_string(),
        Some("") => "the unassigned pool".to_string(),
        Some(o) => for_display(o),
    };
    let mut line = format!(" {} to {}, {whose}", day_text(r.from), day_text(r.to));
    if let Some(t) = &s.tag_filter {
        line.push_str(&format!(", tag {}", for_display(t)));
    }
    if let Some(src) = &s.source_filter {
        line.push_str(&format!(", source {}", for_display(src)));
    }
    line
}
