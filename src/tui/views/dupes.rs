//! `D`: the likely duplicate pairs, three lines each: the two cards and why they look like one
//! person. The pair at hand is marked with `>` and the selection style.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget};

use super::super::state::State;
use super::super::theme::Theme;
use super::fit;
use crate::domain::sanitize::for_display;
use crate::service::DupeSide;

fn side(l: &DupeSide) -> String {
    let mut out = format!("#{} {}", l.id, for_display(&l.name));
    if let Some(e) = &l.email {
        out.push_str(&format!(" <{}>", for_display(e)));
    }
    if let Some(p) = &l.phone {
        out.push_str(&format!(" {}", for_display(p)));
    }
    if let Some(c) = &l.company {
        out.push_str(&format!(" ({})", for_display(c)));
    }
    out.push_str(&format!(
        " [{}]",
        l.owner
            .as_deref()
            .map_or_else(|| "pool".to_string(), for_display)
    ));
    out
}

pub fn render(buf: &mut Buffer, area: Rect, s: &State, theme: &Theme) {
    let width = usize::from(area.width.saturating_sub(2));
    let inner = usize::from(area.height.saturating_sub(2));
    let (title, lines) = match &s.dupes {
        None => (
            " Likely duplicates ".to_string(),
            vec![Line::styled(
                " Looking for duplicates…",
                theme.style("muted"),
            )],
        ),
        Some(list) if list.is_empty() => (
            " Likely duplicates ".to_string(),
            vec![Line::styled(
                " No likely duplicates at 60% or surer.",
                theme.style("muted"),
            )],
        ),
        Some(list) => {
            let mut lines = Vec::new();
            for (i, p) in list.iter().enumerate() {
                let here = i == s.dupes_at;
                let mark = if here { " > " } else { "   " };
                let first = fit(&format!("{:>3}%  {}", p.confidence, side(&p.a)), width - 3);
                lines.push(Line::from(vec![
                    Span::styled(mark, theme.style("key")),
                    Span::styled(
                        first,
                        if here {
                            theme.style("selection")
                        } else {
                            theme.text()
                        },
                    ),
                ]));
                lines.push(Line::from(Span::styled(
                    fit(&format!("         {}", side(&p.b)), width),
                    theme.text(),
                )));
                let why: Vec<&str> = p.reasons.iter().map(|r| r.describe()).collect();
                lines.push(Line::styled(
                    fit(&format!("         {}", why.join("; ")), width),
                    theme.style("muted"),
                ));
            }
            (
                format!(" Likely duplicates: {} at 60% or surer ", list.len()),
                lines,
            )
        }
    };
    // The pair at hand stays in sight.
    let top = (s.dupes_at * 3 + 3).saturating_sub(inner);
    Paragraph::new(lines)
        .scroll((u16::try_from(top).unwrap_or(u16::MAX), 0))
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title(Span::styled(title, theme.style("title")))
                .border_style(theme.style("border")),
        )
        .style(theme.text())
        .render(area, buf);
}
