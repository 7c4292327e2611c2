//! `E`: the edit form over the lead's card, one line per field. The field being typed in is
//! marked with `>` and the selection style; a changed field with `*` (no meaning carried by
//! colour alone).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget, Wrap};

use super::super::state::EditForm;
use super::super::theme::Theme;
use super::fit;
use crate::domain::sanitize::for_display;

const LABEL: usize = 15;

pub fn render(buf: &mut Buffer, area: Rect, form: &EditForm, subject: &str, theme: &Theme) {
    let value_room = usize::from(area.width).saturating_sub(LABEL + 7);
    let mut lines: Vec<Line> = form
        .fields
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let here = i == form.at;
            let changed = f.text.trim() != f.was.trim();
            let label = fit(&f.key.label(), LABEL - 1);
            let mut value = for_display(&f.text);
            if here {
                value.push('▏');
            }
            let value_style = if here {
                theme.style("selection")
            } else {
                theme.text()
            };
            Line::from(vec![
                Span::styled(if here { " > " } else { "   " }, theme.style("key")),
                Span::styled(format!("{label:<LABEL$}"), theme.style("muted")),
                Span::styled(fit(&value, value_room), value_style),
                Span::styled(if changed { " *" } else { "" }, theme.style("accent")),
            ])
        })
        .collect();
    lines.push(Line::default());
    match &form.error {
        Some(e) => lines.push(Line::styled(
            format!(" {}", for_display(e)),
            theme.style("error"),
        )),
        None => lines.push(Line::styled(
            " * changed · an emptied field is removed · New attribute: name=value",
            theme.style("muted"),
        )),
    }
    let title = format!(" Edit {} ", for_display(subject));
    Clear.render(area, buf);
    Paragraph::new(lines)
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title(Span::styled(
                    fit(&title, usize::from(area.width).saturating_sub(2)),
                    theme.style("title"),
                ))
                .border_style(theme.style("border")),
        )
        .style(theme.text())
        .wrap(Wrap { trim: false })
        .render(area, buf);
}
