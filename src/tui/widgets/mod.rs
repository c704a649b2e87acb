//! Shared widgets and small text helpers for the step screens.
//!
//! Everything here is a pure function of its arguments: no state, no IO. Text is wrapped by
//! us (not by `Paragraph`'s wrap) so screens know exactly how many lines they produce and
//! can scroll precisely.

pub mod decision;
pub mod form;
pub mod log;
pub mod progress;

use crate::state::{Migration, Status, Step};
pub use crate::units::{hms, human_bytes, thousands};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

/// Spinner frames for running work (braille dots).
const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/// The spinner frame for a tick count.
pub fn spinner(tick: usize) -> &'static str {
    SPINNER[tick % SPINNER.len()]
}

/// A running step's first line: the spinner and what it is doing, wrapped to `w`.
pub fn running_lines(detail: &str, tick: usize, w: u16) -> Vec<Line<'static>> {
    wrapped(&format!("{} {detail}…", spinner(tick)), w, Style::new())
}

/// The sidebar glyph of a status, and its color.
pub fn status_glyph(status: &Status, tick: usize) -> (&'static str, Color) {
    match status {
        Status::Pending => ("·", Color::Gray),
        Status::Running { .. } => (spinner(tick), Color::Cyan),
        Status::Done { .. } => ("✓", Color::Green),
        Status::Skipped { .. } => ("↷", Color::Blue),
        Status::Failed { .. } => ("✗", Color::Red),
        Status::Stopped { .. } => ("■", Color::Yellow),
        Status::NeedsDecision { .. } => ("?", Color::Yellow),
    }
}

pub fn heading(text: &str) -> Line<'static> {
    Line::from(Span::styled(
        text.to_string(),
        Style::new().add_modifier(Modifier::BOLD),
    ))
}

pub fn dim(text: impl Into<String>) -> Span<'static> {
    Span::styled(text.into(), Style::new().fg(Color::DarkGray))
}

pub fn key(text: impl Into<String>) -> Span<'static> {
    Span::styled(
        text.into(),
        Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
    )
}

/// A `label  value` line with the label padded to `width`.
pub fn field_line(label: &str, width: usize, value: Vec<Span<'static>>) -> Line<'static> {
    let mut spans = vec![Span::styled(
        format!("{label:<width$}"),
        Style::new().fg(Color::Gray).add_modifier(Modifier::BOLD),
    )];
    spans.extend(value);
    Line::from(spans)
}

/// Lines of `text` in `style`, word-wrapped to `width` columns.
pub fn wrapped(text: &str, width: u16, style: Style) -> Vec<Line<'static>> {
    wrap(text, width as usize)
        .into_iter()
        .map(|l| Line::from(Span::styled(l, style)))
        .collect()
}

/// `text` wrapped to `width` minus `indent` columns, each line indented by `indent`; the
/// first line starts with `first` instead of the indent when given (a glyph, a letter).
/// `first` should be `indent` characters wide so the text lines up.
pub fn hanging(
    text: &str,
    width: u16,
    indent: usize,
    first: Option<Span<'static>>,
    style: Style,
) -> Vec<Line<'static>> {
    let mut first = first;
    wrap(text, (width as usize).saturating_sub(indent))
        .into_iter()
        .map(|part| {
            let lead = first
                .take()
                .unwrap_or_else(|| Span::raw(" ".repeat(indent)));
            Line::from(vec![lead, Span::styled(part, style)])
        })
        .collect()
}

/// Greedy word wrap by display width (a CJK character takes two columns); a word longer
/// than the line (a URL, a path) is cut where it reads best: before `?` or `&`, after `/`,
/// `@`, `:`, `.`, `-`, `_` or `=` in the line's second half, else at the edge. Keeps
/// explicit newlines. Never returns an empty vector for non-empty text.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    use unicode_width::UnicodeWidthChar;
    let cw = |c: &char| c.width().unwrap_or(0);
    let width = width.max(1);
    let mut out = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        let mut len = 0;
        for word in para.split(' ') {
            let mut word: Vec<char> = word.chars().collect();
            loop {
                let wlen: usize = word.iter().map(cw).sum();
                let need = if len == 0 { wlen } else { len + 1 + wlen };
                if need <= width {
                    if len > 0 {
                        line.push(' ');
                    }
                    line.extend(word.iter());
                    len = need;
                    break;
                }
                if len > 0 {
                    out.push(std::mem::take(&mut line));
                    len = 0;
                    continue;
                }
                // A word longer than the line: cut it (at least one character per line).
                let rest = word.split_off(cut_at(&word, width, cw));
                if rest.is_empty() {
                    // One character wider than the line: it stands alone.
                    line.extend(word.iter());
                    len = width;
                    break;
                }
                out.push(word.iter().collect());
                word = rest;
            }
        }
        out.push(line);
    }
    out
}

/// Where to cut `word`, too long for `width` columns: the last good break in the line's
/// second half, else as many characters as fit (one at least).
fn cut_at(word: &[char], width: usize, cw: impl Fn(&char) -> usize) -> usize {
    let mut fits: usize = 0;
    let mut used = 0;
    for c in word {
        if used + cw(c) > width {
            break;
        }
        used += cw(c);
        fits += 1;
    }
    let fits = fits.max(1);
    (fits.div_ceil(2)..=fits)
        .rev()
        .find(|&p| {
            p < word.len()
                && (matches!(word[p], '?' | '&')
                    || matches!(word[p - 1], '/' | '@' | ':' | '.' | '-' | '_' | '='))
        })
        .unwrap_or(fits)
}

/// Cut `text` to `width` characters by taking out its middle, so that names that differ
/// only at the end (`classifier_modelversion` / `classifier_modelversion_datasets`) stay
/// distinct.
pub fn truncate_middle(text: &str, width: usize) -> String {
    let len = text.chars().count();
    if len <= width || width < 5 {
        return truncate(text, width);
    }
    let tail = (width - 1) / 2;
    let head = width - 1 - tail;
    let mut s: String = text.chars().take(head).collect();
    s.push('…');
    s.extend(text.chars().skip(len - tail));
    s
}

/// Cut `text` to `width` characters, ending with `…` when cut.
pub fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut s: String = text.chars().take(width.saturating_sub(1)).collect();
    s.push('…');
    s
}

/// The first step before `step` that does not yet let it start.
pub fn blocked_by(m: &Migration, step: Step) -> Option<Step> {
    Step::ALL[..step.index()]
        .iter()
        .copied()
        .find(|s| !m.status(*s).lets_next_start())
}

/// What a pending step says before it runs: its purpose, then how to start it (or what
/// it waits for).
pub fn pending_intro(m: &Migration, step: Step, what: &[&str], width: u16) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for para in what {
        lines.extend(wrapped(para, width, Style::new()));
        lines.push(Line::default());
    }
    match blocked_by(m, step) {
        Some(before) => lines.extend(wrapped(
            &format!("This step can start once {} is done.", before.title()),
            width,
            Style::new().fg(Color::Yellow),
        )),
        None => lines.push(Line::from(vec![
            Span::raw("Press "),
            key("Enter"),
            Span::raw(format!(" to {}.", run_verb(step))),
        ])),
    }
    lines
}

fn run_verb(step: Step) -> &'static str {
    match step {
        Step::Discover => "discover",
        Step::Connect => "connect",
        Step::CopyRows => "start the preflight check",
        Step::Done => "finish",
        _ => "run it",
    }
}

/// A failed step's message in red, wrapped, and how to retry; a step stopped on purpose
/// (the user's choice: stop to commit, abort, cancel) says so in yellow instead: nothing
/// went wrong. Empty for any other status.
pub fn failure(status: &Status, width: u16) -> Vec<Line<'static>> {
    let (head, color, message, again) = match status {
        Status::Failed { message } => ("✗ Failed", Color::Red, message, " to retry."),
        Status::Stopped { message } => ("■ Stopped", Color::Yellow, message, " to go on."),
        _ => return Vec::new(),
    };
    let mut lines = vec![Line::from(Span::styled(
        head,
        Style::new().fg(color).add_modifier(Modifier::BOLD),
    ))];
    lines.extend(wrapped(message, width, Style::new().fg(color)));
    lines.push(Line::default());
    if !message.to_lowercase().contains("press r") {
        lines.push(Line::from(vec![
            Span::raw("Press "),
            key("r"),
            Span::raw(again),
        ]));
    }
    lines
}

/// A failed `step`'s message, and how to retry when it may run again now; when an earlier
/// step must be done first (Fix permissions reopened by Create schema), which one, instead
/// of a retry key that would do nothing.
pub fn step_failure(m: &Migration, step: Step, width: u16) -> Vec<Line<'static>> {
    let mut lines = failure(m.status(step), width);
    if let Some(before) = blocked_by(m, step) {
        lines.pop();
        lines.extend(wrapped(
            &format!("It can run again once {} is done.", before.title()),
            width,
            Style::new().fg(Color::Yellow),
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_breaks_on_words_and_cuts_long_ones() {
        assert_eq!(wrap("aa bb cc", 5), vec!["aa bb", "cc"]);
        assert_eq!(wrap("abcdefgh", 3), vec!["abc", "def", "gh"]);
        assert_eq!(wrap("a\nb", 10), vec!["a", "b"]);
        // A URL breaks before its query, not inside a word.
        assert_eq!(
            wrap(
                "on postgresql://appuser@127.0.0.1:55433/appdb?sslmode=disable",
                50
            ),
            vec![
                "on",
                "postgresql://appuser@127.0.0.1:55433/appdb",
                "?sslmode=disable"
            ]
        );
        // Two columns per CJK character; a line never runs past the width.
        assert_eq!(wrap("表表表表表", 4), vec!["表表", "表表", "表"]);
        assert_eq!(wrap("表", 1), vec!["表"]);
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(thousands(203512), "203,512");
        assert_eq!(thousands(12), "12");
        assert_eq!(human_bytes(13_002_752), "12.4 MiB");
        assert_eq!(human_bytes(500), "500 B");
    }
}

#[cfg(test)]
mod truncation_tests {
    use super::truncate_middle;

    #[test]
    fn middle_truncation_keeps_names_that_differ_at_the_end_apart() {
        let a = truncate_middle("classifier_modelversion", 16);
        let b = truncate_middle("classifier_modelversion_datasets", 16);
        assert_ne!(a, b);
        assert_eq!(b, "classifi…atasets");
        assert_eq!(b.chars().count(), 16);
        assert_eq!(truncate_middle("auth_user", 16), "auth_user");
    }
}
