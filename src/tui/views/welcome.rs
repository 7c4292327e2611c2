//! The first screen of an empty store: what leadq is and how to get leads in.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget, Wrap};

use super::super::action::Action;
use super::super::keymap::{Keymap, Mode};
use super::super::theme::Theme;

pub fn render(buf: &mut Buffer, area: Rect, theme: &Theme, keymap: &Keymap) {
    let key = |a: Action| {
        keymap
            .keys_for(Mode::Welcome, a)
            .into_iter()
            .next()
            .unwrap_or_else(|| "?".into())
    };
    let lines = vec![
        Line::styled("Welcome to leadq", theme.style("title")),
        Line::default(),
        Line::styled("The store is empty. To get started:", theme.text()),
        Line::default(),
        Line::from(vec![
            Span::styled(format!("  {}  ", key(Action::LoadDemo)), theme.style("key")),
            Span::styled("load 200 demo leads to try leadq on", theme.text()),
        ]),
        Line::from(vec![
            Span::styled(format!("  {}  ", key(Action::AddLead)), theme.style("key")),
            Span::styled("add a lead by hand", theme.text()),
        ]),
        Line::default(),
        Line::styled("Or import your leads from a shell:", theme.text()),
        Line::styled("  leadq import leads.csv", theme.style("accent")),
        Line::styled(
            "  (name, e-mail, phone, company, source; other columns",
            theme.style("muted"),
        ),
        Line::styled("   become attributes)", theme.style("muted")),
        Line::default(),
        Line::from(vec![
            Span::styled(format!("  {}  ", key(Action::Help)), theme.style("key")),
            Span::styled("every key    ", theme.text()),
            Span::styled(format!("{}  ", key(Action::Quit)), theme.style("key")),
            Span::styled("quit", theme.text()),
        ]),
    ];
    let w = 74.min(area.width);
    let h = (lines.len() as u16 + 2).min(area.height);
    let rect = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    };
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(theme.style("border")),
        )
        .style(theme.text())
        .render(rect, buf);
}
