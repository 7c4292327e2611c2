//! Neutralising stored text before it reaches a terminal or a spreadsheet.

/// Replaces control characters (C0, DEL, C1), bidirectional overrides/isolates and invisible
/// characters with a visible placeholder, so a name or note can never move the cursor, change
/// colours, set the window title or reorder what follows it, and two names that look the same
/// are the same. Newlines and tabs become spaces.
pub fn for_display(s: &str) -> String {
    if !s.chars().any(is_unsafe) {
        return s.to_string();
    }
    s.chars()
        .map(|c| match c {
            '\n' | '\r' | '\t' => ' ',
            c if is_unsafe(c) => '\u{FFFD}',
            c => c,
        })
        .collect()
}

pub fn is_unsafe(c: char) -> bool {
    c.is_control() || is_bidi_control(c) || is_invisible(c)
}

/// As `is_unsafe`, but a line feed, carriage return or tab (a text's own layout) is safe.
pub fn is_unsafe_beyond_layout(c: char) -> bool {
    is_unsafe(c) && !matches!(c, '\n' | '\r' | '\t')
}

fn is_bidi_control(c: char) -> bool {
    matches!(c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Characters that take no room and show nothing where they are not joining letters: the
/// zero-width space and word joiners, the byte order mark, invisible operators, the
/// deprecated format characters, interlinear annotation marks and the tag characters (which
/// can carry hidden ASCII). Zero-width joiners (ZWJ, ZWNJ) stay: scripts and emoji need them.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{200B}' | '\u{2060}'..='\u{2064}' | '\u{206A}'..='\u{206F}' | '\u{FEFF}'
        | '\u{FFF9}'..='\u{FFFB}' | '\u{E0000}'..='\u{E007F}')
}

/// Makes a CSV cell safe to open in a spreadsheet: a cell that starts with `=`, `+`, `-`, `@`,
/// tab or carriage return is prefixed with `'` so it is read as text, not run as a formula.
pub fn for_csv_cell(s: &str) -> String {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}"),
        _ => s.to_string(),
    }
}
