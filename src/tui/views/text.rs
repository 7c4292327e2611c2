//! Text helpers: sanitising, cutting to a width, and highlighting matched characters.

use ratatui::style::Style;
use ratatui::text::Span;
use unicode_width::UnicodeWidthChar;

use crate::domain::sanitize::for_display;

/// Sanitised text cut to `width` columns (with an ellipsis when cut), padded to the width.
pub fn fit(s: &str, width: usize) -> String {
    let spans = highlight_spans(s, &[], width, Style::default(), Style::default());
    spans.into_iter().map(|s| s.content.into_owned()).collect()
}

/// Spans of sanitised `s` cut and padded to `width`, with the characters at `positions`
/// (char indices) in `hit` style.
pub fn highlight_spans(
    s: &str,
    positions: &[usize],
    width: usize,
    base: Style,
    hit: Style,
) -> Vec<Span<'static>> {
    let clean = for_display(s);
    let total: usize = clean.chars().map(|c| c.width().unwrap_or(0)).sum();
    let room = if total > width {
        width.saturating_sub(1)
    } else {
        width
    };
    let mut spans: Vec<Span<'static>> = Vec::new();
    let mut current = String::new();
    let mut current_hit = false;
    let mut used = 0;
    for (i, c) in clean.chars().enumerate() {
        let w = c.width().unwrap_or(0);
        if used + w > room {
            break;
        }
        let is_hit = positions.contains(&i);
        if is_hit != current_hit && !current.is_empty() {
            spans.push(Span::styled(
                std::mem::take(&mut current),
                if current_hit { hit } else { base },
            ));
        }
        current_hit = is_hit;
        current.push(c);
        used += w;
    }
    if !current.is_empty() {
        spans.push(Span::styled(current, if current_hit { hit } else { base }));
    }
    if total > width {
        spans.push(Span::styled("…", base));
        used += 1;
    }
    if used < width {
        spans.push(Span::styled(" ".repeat(width - used), base));
    }
    spans
}
