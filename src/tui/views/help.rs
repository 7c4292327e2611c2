//! `?`: every key of the current screen, generated from the keymap.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget};

use super::super::keymap::Mode;
use super::super::state::State;
use super::super::theme::Theme;
use super::super::update::screen_mode;

pub fn render(buf: &mut Buffer, area: Rect, s: &State, theme: &Theme) {
    let mode = screen_mode(s.screen);
    let entries = s.keymap.help_entries(mode);
    let inner = usize::from(area.height.saturating_sub(2));
    // A wide box takes the keys in two columns when one would not hold them.
    let column = usize::from(area.width.saturating_sub(2)) / 2;
    let two = area.width >= 130 && entries.len() + 3 > inner;
    let per = if two {
        entries.len().div_ceil(2)
    } else {
        entries.len()
    };
    let entry = |(keys, action): &(Vec<String>, super::super::action::Action), w: usize| {
        let text = format!(" {:<18}{}", keys.join(", "), action.describe());
        let cut: String = text.chars().take(w).collect();
        format!("{cut:<w$}")
    };
    let mut lines = Vec::new();
    for n in 0..per {
        let left = &entries[n];
        let mut spans = vec![
            Span::styled(format!(" {:<18}", left.0.join(", ")), theme.style("key")),
            Span::styled(
                if two {
                    entry(left, column).chars().skip(19).collect::<String>()
                } else {
                    left.1.describe().to_string()
                },
                theme.text(),
            ),
        ];
        if let Some(right) = entries.get(n + per).filter(|_| two) {
            spans.push(Span::styled(
                format!(" {:<18}", right.0.join(", ")),
                theme.style("key"),
            ));
            spans.push(Span::styled(right.1.describe(), theme.text()));
        }
        lines.push(Line::from(spans));
    }
    lines.push(Line::default());
    lines.push(Line::styled(
        " In prompts: a digit picks, enter accepts or skips, esc cancels.",
        theme.style("muted"),
    ));
    lines.push(Line::styled(
        " Keys live in ~/.config/leadq/keymap.toml.",
        theme.style("muted"),
    ));
    let place = match mode {
        Mode::Lead => "lead view",
        Mode::Dupes => "duplicates",
        Mode::Reports => "reports",
        Mode::Welcome => "welcome",
        _ => "queue",
    };
    let more = if s.help_scroll + inner < lines.len() {
        ", j/k scroll for more"
    } else {
        ""
    };
    let title = format!(" Keys: {place} (esc closes{more}) ");
    Clear.render(area, buf);
    Paragraph::new(lines)
        .scroll((s.help_scroll as u16, 0))
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title(Span::styled(title, theme.style("title")))
                .border_style(theme.style("border")),
        )
        .style(theme.text())
        .render(area, buf);
}
