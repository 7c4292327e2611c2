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
    let mut lines = Vec::new();
    for (keys, action) in s.keymap.help_entries(mode) {
        lines.push(Line::from(vec![
            Span::styled(format!(" {:<18}", keys.join(", ")), theme.style("key")),
            Span::styled(action.describe(), theme.text()),
        ]));
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
    let inner = usize::from(area.height.saturating_sub(2));
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
