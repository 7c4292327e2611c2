//! The queue: leads in score order, only the visible slice drawn.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::super::presence;
use super::super::state::State;
use super::super::theme::Theme;
use super::text::{fit, highlight_spans};
use crate::domain::Temperature;
use crate::domain::search;
use crate::domain::time::relative;
use crate::service::{Activity, LeadView};

/// Column widths for a given total width: name and company share what the fixed columns leave.
struct Columns {
    name: usize,
    company: usize,
    owner: usize,
    /// The learned chance to win, when a model scores the queue.
    win: bool,
}

const FIXED: usize = 1 + 3 + 1 + 4 + 1 + 1 + 1 + 11 + 1 + 4 + 1 + 8 + 1;

impl Columns {
    fn for_width(width: usize, win: bool) -> Columns {
        let owner = 8;
        let flexible = width.saturating_sub(FIXED + owner + if win { 4 } else { 0 });
        let name = flexible * 55 / 100;
        Columns {
            name,
            company: flexible - name,
            owner,
            win,
        }
    }
}

fn temp_badge(t: Temperature) -> &'static str {
    match t {
        Temperature::Hot => "HOT ",
        Temperature::Warm => "warm",
        Temperature::Cold => "cold",
    }
}

fn next_cell(next: Option<i64>, now: i64) -> (String, bool) {
    match next {
        None => ("-".into(), false),
        Some(t) if t <= now => (
            format!("!{}", relative(t, now)).replace("!now", "!due"),
            true,
        ),
        Some(t) => (relative(t, now).replace("in ", "+"), false),
    }
}

/// Today's queue opens with the web leads still waiting for a first touch (three at most,
/// the longest waiting first): their clock is the day's first business. Returns the lines
/// it took.
fn waiting_strip(buf: &mut Buffer, area: Rect, s: &State, theme: &Theme) -> u16 {
    let show = s.view == super::super::state::View::Today
        && s.search.query.is_empty()
        && !s.waiting.is_empty()
        && area.height > 8;
    if !show {
        return 0;
    }
    let n = s.waiting.len().min(3);
    for (i, a) in s.waiting.iter().take(n).enumerate() {
        let late = a.due < s.now;
        let clock = if late {
            format!("LATE {}", super::super::update::age(s.now, a.due))
        } else {
            format!(
                "due in {}",
                super::super::update::age(a.due, s.now).replace("0m", "<1m")
            )
        };
        let more = if i + 1 == n && s.waiting.len() > n {
            format!("  (+{} more)", s.waiting.len() - n)
        } else {
            String::new()
        };
        // The clock first: a long name is what gets cut.
        let text = format!(
            " waiting {:>4}  {clock:<10} -> {}  {} ({}){more}",
            super::super::update::age(s.now, a.arrived),
            a.owner
                .as_deref()
                .map_or("the pool".into(), crate::domain::sanitize::for_display),
            crate::domain::sanitize::for_display(&a.name),
            crate::domain::sanitize::for_display(a.source.as_deref().unwrap_or("-")),
        );
        let style = if late {
            theme.style("overdue")
        } else {
            theme.style("accent")
        };
        buf.set_line(
            area.x,
            area.y + i as u16,
            &Line::styled(text, style),
            area.width,
        );
    }
    n as u16
}

pub fn render(buf: &mut Buffer, area: Rect, s: &State, theme: &Theme) {
    let strip = waiting_strip(buf, area, s, theme);
    let area = Rect {
        y: area.y + strip,
        height: area.height - strip,
        ..area
    };
    let win = s.rows.iter().take(200).any(|v| v.chance.is_some());
    let cols = Columns::for_width(usize::from(area.width), win);
    let header = format!(
        " {:>3} {}{:<4} {:<nw$} {:<cw$} {:<11} {:>4} {:<8} {}",
        "SC",
        if win { "WIN " } else { "" },
        "TEMP",
        "NAME",
        "COMPANY",
        "STAGE",
        "LAST",
        "NEXT",
        "OWNER",
        nw = cols.name,
        cw = cols.company
    );
    buf.set_line(
        area.x,
        area.y,
        &Line::styled(header, theme.style("title")),
        area.width,
    );
    let body = Rect {
        y: area.y + 1,
        height: area.height.saturating_sub(1),
        ..area
    };
    let rows = usize::from(body.height);
    if s.visible_len() == 0 {
        if let Some(error) = &s.load_error {
            let text = format!(" {}", crate::domain::sanitize::for_display(error));
            use ratatui::widgets::Widget as _;
            ratatui::widgets::Paragraph::new(text)
                .style(theme.style("error"))
                .wrap(ratatui::widgets::Wrap { trim: false })
                .render(body, buf);
            return;
        }
        let msg = if s.loading {
            " loading…".to_string()
        } else if !s.search.query.is_empty() {
            format!(
                " nothing matches \"{}\" (esc clears the search)",
                crate::domain::sanitize::for_display(&s.search.query)
            )
        } else if s.stage_filter.is_some() || s.source_filter.is_some() || s.tag_filter.is_some() {
            " no leads in this view with these filters: S stage, O source, # tag (enter with \
             nothing clears it)"
                .to_string()
        } else {
            " no leads in this view: H hot, T today, M mine, U unassigned, A all".to_string()
        };
        buf.set_line(
            body.x,
            body.y,
            &Line::styled(msg, theme.style("muted")),
            body.width,
        );
        return;
    }
    // Pages are cut from the whole view (the window starts anywhere in it), so a row keeps its
    // line as the window moves.
    let at = s.window_start + s.selected;
    let top = at - at % rows.max(1);
    let highlighter = s
        .search
        .hits
        .as_ref()
        .map(|_| search::Highlighter::new(&s.search.query));
    for line in 0..rows {
        let Some(n) = (top + line).checked_sub(s.window_start) else {
            continue;
        };
        let Some(row_index) = s.visible_row(n) else {
            break;
        };
        let Some(v) = s.rows.get(row_index) else {
            break;
        };
        // The matched characters, for the rows on screen only.
        let marks = highlighter
            .as_ref()
            .map(|h| h.marks(&v.lead.name, v.lead.company.as_deref().unwrap_or("")));
        let y = body.y + line as u16;
        let selected = n == s.selected;
        let mut spans = row_spans(v, marks.as_ref(), &cols, s.now, theme);
        spans.extend(owner_cell(
            v,
            &presence::others_on(s, v.lead.id),
            &cols,
            theme,
        ));
        let row_area = Rect {
            x: body.x,
            y,
            width: body.width,
            height: 1,
        };
        buf.set_line(body.x, y, &Line::from(spans), body.width);
        if selected {
            buf.set_style(row_area, theme.style("selection"));
        }
    }
}

fn row_spans(
    v: &LeadView,
    marks: Option<&(Vec<usize>, Vec<usize>)>,
    cols: &Columns,
    now: i64,
    theme: &Theme,
) -> Vec<Span<'static>> {
    let l = &v.lead;
    let text = theme.text();
    let matched = theme.style("match");
    let (mut next, mut overdue) = next_cell(l.next_action, now);
    // A web lead waiting for its first touch: its age, and its clock in place of the
    // follow-up ("due 3m", "LATE 2m").
    if l.awaiting()
        && let Some(due) = l.response_due
    {
        (next, overdue) = if due < now {
            (
                format!("LATE {}", super::super::update::age(now, due)),
                true,
            )
        } else {
            (
                format!("due {}", super::super::update::age(due, now)).replace(" 0m", " <1m"),
                false,
            )
        };
    }
    let mut spans = vec![
        Span::styled(" ", text),
        Span::styled(format!("{:>3} ", v.score), text),
        Span::styled(
            match (cols.win, v.chance) {
                (false, _) => String::new(),
                (true, Some(c)) => format!("{:>3.0}%", c * 100.0),
                (true, None) => "   -".into(),
            },
            theme.style("muted"),
        ),
        Span::styled(if cols.win { " " } else { "" }, text),
        Span::styled(temp_badge(v.temperature), theme.temperature(v.temperature)),
        Span::styled(" ", text),
    ];
    let no = Vec::new();
    spans.extend(highlight_spans(
        &l.name,
        marks.map_or(&no, |m| &m.0),
        cols.name,
        text,
        matched,
    ));
    spans.push(Span::styled(" ", text));
    spans.extend(highlight_spans(
        l.company.as_deref().unwrap_or(""),
        marks.map_or(&no, |m| &m.1),
        cols.company,
        theme.style("muted"),
        matched,
    ));
    spans.push(Span::styled(" ", text));
    spans.push(Span::styled(
        format!("{:<11}", l.stage.name()),
        theme.stage(l.stage),
    ));
    spans.push(Span::styled(
        format!(
            " {:>4} ",
            match l.last_touch {
                Some(t) => relative(t, now),
                // Its clock: how long it has waited.
                None if l.awaiting() => super::super::update::age(now, l.created),
                None => "-".into(),
            }
        ),
        theme.style("muted"),
    ));
    let next_style = if overdue {
        theme.style("overdue")
    } else {
        text
    };
    spans.push(Span::styled(format!("{next:<8}"), next_style));
    spans.push(Span::styled(" ", text));
    spans
}

/// The owner, or who is on the lead right now ("● bob") in its place: at that moment who is
/// on it matters more than whose it is (the lead view still names the owner).
fn owner_cell(
    v: &LeadView,
    others: &[(String, Activity)],
    cols: &Columns,
    theme: &Theme,
) -> Vec<Span<'static>> {
    if let Some((first, _)) = others.first() {
        // "● bob", "● bob+1": the count stays when a long name is cut.
        let more = match others.len() {
            1 => String::new(),
            n => format!("+{}", n - 1),
        };
        let name = fit(first, cols.owner.saturating_sub(2 + more.len()));
        let marker = format!("● {}{more}", name.trim_end());
        let style = theme.style("presence");
        return highlight_spans(&marker, &[], cols.owner, style, style);
    }
    highlight_spans(
        v.lead.owner.as_deref().unwrap_or("-"),
        &[],
        cols.owner,
        theme.style("muted"),
        Style::default().add_modifier(Modifier::BOLD),
    )
}
