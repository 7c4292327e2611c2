//! Header (views, counts, search), status line (messages and prompts) and footer (key hints).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::super::action::Action;
use super::super::keymap::Mode;
use super::super::state::{Ask, Pick, Prompt, State, View};
use super::super::theme::Theme;
use super::super::update::pick_options;
use crate::domain::sanitize::for_display;

pub fn header(buf: &mut Buffer, area: Rect, s: &State, theme: &Theme) {
    let mut spans = vec![Span::styled(" leadq ", theme.style("accent"))];
    for v in View::ALL {
        let label = format!(" {} ", v.label());
        let style = if v == s.view {
            theme.style("selection")
        } else {
            theme.style("muted")
        };
        spans.push(Span::styled(label, style));
    }
    if let Some(st) = s.stage_filter {
        spans.push(Span::styled(format!(" stage:{st}"), theme.style("accent")));
    }
    if let Some(src) = &s.source_filter {
        spans.push(Span::styled(
            format!(" source:{}", for_display(src)),
            theme.style("accent"),
        ));
    }
    if s.away {
        spans.push(Span::styled(" away", theme.style("muted")));
    }
    if let Some(tag) = &s.tag_filter {
        spans.push(Span::styled(
            format!(" tag:{}", for_display(tag)),
            theme.style("accent"),
        ));
    }
    let st = &s.stats;
    // While a prompt or the search holds the status line, the change just made (or an error)
    // shows up here instead of the counts, so `c 1` is answered with `warm -> HOT +15` at once.
    let status_busy = s.prompt.is_some() || s.search.editing || !s.search.query.is_empty();
    // A broken connection stays in sight there too, when no newer message takes the place.
    let message = match (&s.flash, &s.connection) {
        _ if !status_busy => None,
        (Some(f), _) => Some((f.text.as_str(), if f.error { "error" } else { "positive" })),
        (None, Some(problem)) => Some((problem.as_str(), "error")),
        (None, None) => None,
    };
    let views_width: usize = spans.iter().map(|s| s.width()).sum();
    let room = usize::from(area.width).saturating_sub(views_width + 1);
    // The counts as they fit: in full, then with big numbers shortened (165k), then hot and
    // due alone.
    let counts_in = |short: bool, all: bool| -> Vec<Span<'static>> {
        let n = |v: usize| if short { shorten(v) } else { v.to_string() };
        let sep = || Span::styled(if short { " " } else { " · " }, theme.style("muted"));
        let mut out = vec![Span::styled(
            format!("hot {}", n(st.hot)),
            theme.style("hot"),
        )];
        if all {
            out.extend([
                sep(),
                Span::styled(format!("warm {}", n(st.warm)), theme.style("warm")),
                sep(),
                Span::styled(format!("cold {}", n(st.cold)), theme.style("cold")),
            ]);
        }
        out.extend([
            sep(),
            Span::styled(format!("due {} ", n(st.due_today)), theme.style("overdue")),
        ]);
        out
    };
    let width_of = |c: &[Span<'_>]| c.iter().map(|s| s.width()).sum::<usize>();
    let counts = [(false, true), (true, true), (true, false)]
        .into_iter()
        .map(|(short, all)| counts_in(short, all))
        .find(|c| width_of(c) <= room)
        .unwrap_or_else(|| counts_in(false, true));
    let counts_width = width_of(&counts);
    buf.set_line(area.x, area.y, &Line::from(spans), area.width);
    if let Some((text, role)) = message {
        // The message takes what the views leave, cut to fit rather than drawn over them.
        let text = super::fit(text, room.saturating_sub(1));
        let x = area.x + (views_width + 1) as u16;
        buf.set_line(
            x,
            area.y,
            &Line::styled(text, theme.style(role)),
            room as u16,
        );
        return;
    }
    // The counts give way to the views and filters when both do not fit (80 columns with a
    // filter): drawn over them they would hide the filter in force.
    if counts_width > room {
        return;
    }
    let x = area.x + area.width.saturating_sub(counts_width as u16);
    buf.set_line(
        x,
        area.y,
        &Line::from(counts),
        area.width.saturating_sub(x - area.x),
    );
}

/// A count in at most five characters: 987, 12.3k, 165k, 1.2M.
fn shorten(n: usize) -> String {
    match n {
        n if n < 10_000 => n.to_string(),
        n if n < 1_000_000 => format!("{}k", (n + 500) / 1000),
        n => format!("{:.1}M", n as f64 / 1e6),
    }
}

/// A prompt as two lines: what is asked (and of whom) with a hint, then the choices or the
/// text typed so far.
fn prompt_lines(p: &Prompt, subject: &str, theme: &Theme) -> (Line<'static>, Line<'static>) {
    let who = for_display(subject);
    let title = |text: String, hint: &str| {
        Line::from(vec![
            Span::styled(format!(" {text} "), theme.style("title")),
            Span::styled(format!(" {hint}"), theme.style("muted")),
        ])
    };
    match p {
        Prompt::Edit(form) => {
            let field = &form.fields[form.at];
            let mut body = vec![
                Span::styled(format!(" {} > ", field.key.label()), theme.style("key")),
                Span::styled(for_display(&field.text), theme.text()),
                Span::styled("▏", theme.style("accent")),
            ];
            if let Some(e) = &form.error {
                body.push(Span::styled(
                    format!("  {}", for_display(e)),
                    theme.style("error"),
                ));
            }
            (
                title(
                    format!("Edit {who}"),
                    "tab next field · enter saves · esc leaves it as it was",
                ),
                Line::from(body),
            )
        }
        Prompt::Pick { what, .. } => {
            let text = match what {
                Pick::Outcome(kind) => format!("{} outcome for {who}", capitalised(kind.name())),
                Pick::Stage => format!("Stage for {who}"),
                Pick::LostReason => format!("{who} was lost because"),
                Pick::FilterStage => "Show the stage".into(),
                Pick::FilterSource(_) => "Show the source".into(),
                Pick::MergeKeep(_) => "Merge: which card stays?".into(),
                Pick::MergeOwner(_) => "Merge: who owns the merged lead?".into(),
            };
            let first = usize::from(!matches!(what, Pick::FilterStage | Pick::FilterSource(_)));
            let mut spans = vec![Span::raw(" ")];
            for (i, o) in pick_options(what).into_iter().enumerate() {
                spans.push(Span::styled(format!("{}", i + first), theme.style("key")));
                spans.push(Span::styled(format!(" {} ", for_display(&o)), theme.text()));
            }
            (title(text, "a digit picks, esc cancels"), Line::from(spans))
        }
        Prompt::Confirm {
            kind, who: users, ..
        } => {
            let text = format!("{} is on {who} right now. Log anyway?", for_display(users));
            let body = Line::from(vec![
                Span::styled(" y", theme.style("key")),
                Span::styled(format!(" log the {kind} anyway  "), theme.text()),
                Span::styled("n", theme.style("key")),
                Span::styled(" or any other key leaves it", theme.text()),
            ]);
            (title(text, "y/n"), body)
        }
        Prompt::Text {
            what, text, error, ..
        } => {
            const DATES: &str =
                "t tomorrow · d in 3 days · w next week · or a date: 2026-12-01, 5d";
            let (label, hint) = match what {
                Ask::Note => (format!("Add a note for {who}?"), "enter skips"),
                Ask::NoteOnly => (format!("Note for {who}"), "enter saves, esc cancels"),
                Ask::Next => (format!("Next follow-up for {who}?"), "enter skips"),
                Ask::Snooze => (format!("Snooze {who} until"), "esc cancels"),
                Ask::Assign => (format!("Assign {who} to"), "a user name, me, or none"),
                Ask::AddName => ("New lead: name".into(), "esc cancels"),
                Ask::AddContact => ("New lead: e-mail or phone".into(), "esc cancels"),
                Ask::AddCompany => ("New lead: company".into(), "enter skips"),
                Ask::AddSource => (
                    "New lead: source".into(),
                    "web-form, referral, trade-show ... enter skips",
                ),
                Ask::Erase => (
                    format!("Erase {who} for good? Type yes"),
                    "card, timeline, indexes; cannot be undone; enter with anything else keeps it",
                ),
                Ask::Tags(_) => (
                    format!("Tags for {who}"),
                    "+tag adds, -tag removes, tab completes",
                ),
                Ask::ReportOwner => (
                    "Whose figures".into(),
                    "a rep's user name, me; enter with nothing shows everyone's",
                ),
                Ask::FilterTag(_) => (
                    "Show the tag".into(),
                    "tab completes; enter with nothing shows every tag",
                ),
            };
            let mut body = vec![
                Span::styled(" > ", theme.style("key")),
                Span::styled(for_display(text), theme.text()),
                Span::styled("▏", theme.style("accent")),
            ];
            if let Some(e) = error {
                body.push(Span::styled(
                    format!("  {}", for_display(e)),
                    theme.style("error"),
                ));
            } else if matches!(what, Ask::Next | Ask::Snooze) && text.is_empty() {
                body.push(Span::styled(format!("  {DATES}"), theme.style("muted")));
            } else if let Ask::Tags(in_use) | Ask::FilterTag(in_use) = what
                && text.is_empty()
                && !in_use.is_empty()
            {
                let shown: Vec<String> = in_use.iter().take(8).map(|t| for_display(t)).collect();
                body.push(Span::styled(
                    format!("  in use: {}", shown.join(", ")),
                    theme.style("muted"),
                ));
            }
            (title(label, hint), Line::from(body))
        }
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map_or_else(String::new, |f| f.to_uppercase().chain(c).collect())
}

/// The status line: the open prompt's question, else the search, else the last change or
/// error, else loading.
pub fn status(buf: &mut Buffer, area: Rect, s: &State, theme: &Theme) {
    let line = if let Some(p) = &s.prompt {
        prompt_lines(p, &s.prompt_subject, theme).0
    } else if s.search.editing || !s.search.query.is_empty() {
        let count = match (&s.search.hits, s.search.pending) {
            (_, true) => " searching…".to_string(),
            // How many leads of the view match, of how many (the best shown first).
            (Some(h), false) if s.search.count > h.len() => format!(
                " {} of {} (the best {} shown)",
                s.search.count,
                s.total,
                h.len()
            ),
            (Some(_), false) => format!(" {} of {}", s.search.count, s.total),
            (None, false) => String::new(),
        };
        let cursor = if s.search.editing { "▏" } else { "" };
        Line::from(vec![
            Span::styled(" / ", theme.style("key")),
            Span::styled(for_display(&s.search.query), theme.text()),
            Span::styled(cursor, theme.style("accent")),
            Span::styled(count, theme.style("muted")),
        ])
    } else if let Some(f) = s
        .flash
        .as_ref()
        .filter(|f| f.error || s.connection.is_none())
    {
        let role = if f.error { "error" } else { "positive" };
        Line::from(Span::styled(
            format!(" {}", for_display(&f.text)),
            theme.style(role),
        ))
    } else if let Some(problem) = &s.connection {
        // Until the server is back a rep must know that what they log may have to wait.
        Line::from(Span::styled(
            format!(" {}", for_display(problem)),
            theme.style("error"),
        ))
    } else if let Some((text, _)) = &s.banner {
        // Names in it were made safe to show when it was written.
        Line::from(Span::styled(format!(" {text}"), theme.style("accent")))
    } else if s.loading {
        Line::from(Span::styled(" loading…", theme.style("muted")))
    } else {
        Line::default()
    };
    let used = line.width();
    buf.set_line(area.x, area.y, &line, area.width);
    // Where the selection is in the whole view, on an otherwise empty status line.
    if used == 0 && s.mode() == Mode::Queue && s.search.hits.is_none() && s.total > 0 {
        let place = format!(" {}/{} ", s.window_start + s.selected + 1, s.total);
        let width = place.chars().count();
        if used + width < usize::from(area.width) {
            let x = area.x + area.width - width as u16;
            buf.set_line(
                x,
                area.y,
                &Line::styled(place, theme.style("muted")),
                width as u16,
            );
        }
    }
}

/// The actions worth a hint in each mode, in order of importance.
fn hinted(mode: Mode) -> &'static [Action] {
    match mode {
        // `?` comes early so that it shows even in 80 columns: a newcomer finds every key there.
        Mode::Queue => &[
            Action::Open,
            Action::Help,
            Action::LogCall,
            Action::LogEmail,
            Action::LogMeeting,
            Action::LogNote,
            Action::Search,
            Action::ShowReports,
            Action::ViewHot,
            Action::ViewToday,
            Action::Snooze,
            Action::Undo,
            Action::Quit,
        ],
        Mode::Lead => &[
            Action::Back,
            Action::Help,
            Action::LogCall,
            Action::LogEmail,
            Action::LogMeeting,
            Action::LogNote,
            Action::Won,
            Action::Lost,
            Action::Undo,
            Action::EditCard,
            Action::Quit,
        ],
        Mode::Welcome => &[
            Action::LoadDemo,
            Action::AddLead,
            Action::Help,
            Action::Quit,
        ],
        Mode::Reports => &[
            Action::Back,
            Action::NextReport,
            Action::ReportPeriod,
            Action::Down,
            Action::Help,
            Action::Quit,
        ],
        Mode::Dupes => &[
            Action::Back,
            Action::Down,
            Action::Up,
            Action::MergePair,
            Action::NotTheSame,
            Action::Undo,
            Action::Help,
            Action::Quit,
        ],
        Mode::Help | Mode::Global => &[Action::Back, Action::Quit],
    }
}

/// The footer: the open prompt, else the keys that apply here.
pub fn footer(buf: &mut Buffer, area: Rect, s: &State, theme: &Theme) {
    if let Some(p) = &s.prompt {
        buf.set_line(
            area.x,
            area.y,
            &prompt_lines(p, &s.prompt_subject, theme).1,
            area.width,
        );
        return;
    }
    let mode = s.mode();
    let mut spans = vec![Span::raw(" ")];
    let mut used = 1;
    for &a in hinted(mode) {
        let Some(key) = s.keymap.keys_for(mode, a).into_iter().next() else {
            continue;
        };
        let piece = format!("{key} {}  ", a.hint());
        if used + piece.chars().count() > usize::from(area.width) {
            break;
        }
        used += piece.chars().count();
        spans.push(Span::styled(key, theme.style("key")));
        spans.push(Span::styled(
            format!(" {}  ", a.hint()),
            theme.style("muted"),
        ));
    }
    buf.set_line(area.x, area.y, &Line::from(spans), area.width);
}
