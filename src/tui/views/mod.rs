//! The view: functions of `&State` that draw it. Widgets borrow and never mutate.

mod chrome;
mod dupes;
mod form;
mod help;
mod lead;
mod queue;
mod reports;
mod text;
mod welcome;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::{Paragraph, Wrap};

use super::state::{Prompt, Screen, State};
use super::theme::Theme;

pub use text::{fit, highlight_spans};

pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

/// Rows the queue body shows in a terminal of this height (for paging).
pub fn page_rows(height: u16) -> usize {
    usize::from(height.saturating_sub(5)).max(1)
}

pub fn render(frame: &mut Frame, s: &State, theme: &Theme) {
    let area = frame.area();
    if s.too_small || area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let msg = format!(
            "The terminal is too small for leadq: it needs {MIN_WIDTH}x{MIN_HEIGHT}, this one is {}x{}. \
             Enlarge it or press q to quit.",
            area.width, area.height
        );
        frame.render_widget(
            Paragraph::new(msg)
                .style(theme.text())
                .wrap(Wrap { trim: true }),
            area,
        );
        return;
    }
    let [head, body, status, foot] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let buf = frame.buffer_mut();
    buf.set_style(area, theme.text());
    chrome::header(buf, head, s, theme);
    match s.screen {
        Screen::Welcome => welcome::render(buf, body, theme, &s.keymap),
        Screen::Queue => queue::render(buf, body, s, theme),
        Screen::Lead => lead::render(buf, body, s, theme),
        Screen::Dupes => dupes::render(buf, body, s, theme),
        Screen::Reports => reports::render(buf, body, s, theme),
    }
    chrome::status(buf, status, s, theme);
    chrome::footer(buf, foot, s, theme);
    if s.help {
        // Narrow terminals get the whole body, so no queue text peeks out beside the box; wide
        // ones a box of two columns of keys.
        let width = match area.width {
            w if w < 100 => w,
            w if w >= 136 => 134,
            _ => 76,
        };
        help::render(
            buf,
            centered(area, width, area.height.saturating_sub(2)),
            s,
            theme,
        );
    }
    if let Some(Prompt::Edit(form)) = &s.prompt {
        // The status and footer lines stay in sight: they say the keys and the field.
        // Room for the fields, a blank line and two of hints or of why a save was refused.
        let height = (form.fields.len() as u16 + 5).min(area.height.saturating_sub(3));
        let width = area.width.min(72);
        let mut at = centered(area, width, height);
        at.y = at.y.min(area.height.saturating_sub(2 + height));
        form::render(buf, at, form, &s.prompt_subject, theme);
    }
}

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}
