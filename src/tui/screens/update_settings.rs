//! Update settings: the planned change as a coloured diff (or, where the file cannot be
//! edited safely, the snippet to paste), its notes and the variables to set, then the
//! question; after the write, what Django said; when it did not pass, the choice to put
//! the old file back.
//!
//! Invariant: nothing drawn here can hold the password: the shell lines carry a placeholder
//! (`data::settings::PASSWORD_PLACEHOLDER`), and the screen shows only those lines.

use super::super::ui_state::UiState;
use super::super::widgets::{
    decision, dim, hanging, heading, pending_intro, step_failure, wrapped,
};
use super::{scrolled, status_lines};
use crate::data::settings::{DiffKind, RewritePlan, SettingsChange, SettingsDiff, Validation};
use crate::state::{Migration, Question, Status, Step};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

const WHAT: &[&str] = &[
    "Finds where DATABASES is set and proposes an env-driven version: the diff is shown \
     first and nothing is written before you confirm.",
    "Then settings.py is backed up into the backup folder, written atomically, and checked \
     through Django (manage.py check and a read) with the variables set. The password is \
     never in the file.",
];

pub fn render(frame: &mut Frame, area: Rect, m: &Migration, ui: &UiState) {
    let w = area.width;
    let lines = match m.status(Step::UpdateSettings) {
        Status::Pending => pending_intro(m, Step::UpdateSettings, WHAT, w),
        Status::NeedsDecision {
            kind,
            question,
            choices,
        } => {
            let body = match (kind, &m.settings.plan) {
                (Question::SettingsInvalid, _) => invalid_lines(m, w),
                (_, Some(plan)) => plan_lines(plan, w),
                (_, None) => Vec::new(),
            };
            // The question stays in view; the change scrolls above it.
            let mut ask = vec![Line::default()];
            ask.extend(decision::lines(question, choices, w));
            let ask_h = (ask.len() as u16).min(area.height / 2);
            let [top, bottom] =
                Layout::vertical([Constraint::Min(1), Constraint::Length(ask_h)]).areas(area);
            scrolled(frame, top, body, ui, Step::UpdateSettings);
            frame.render_widget(Paragraph::new(ask), bottom);
            return;
        }
        Status::Done { summary } => done_lines(m, summary, w),
        Status::Failed { .. } | Status::Stopped { .. } => {
            let mut lines = step_failure(m, Step::UpdateSettings, w);
            if m.settings.validation.as_ref().is_some_and(|v| !v.ok) {
                lines.push(Line::default());
                lines.extend(wrapped(
                    "Django's output is in the log below.",
                    w,
                    Style::new().fg(Color::DarkGray),
                ));
            }
            lines
        }
        _ => status_lines(m, Step::UpdateSettings, w, ui.tick),
    };
    scrolled(frame, area, lines, ui, Step::UpdateSettings);
}

/// A diff's hunks, coloured (`+` green, `-` red, context grey), long lines wrapped with `↪`:
/// the one diff view of the wizard (settings here, the pgvector change at Create schema).
pub(super) fn diff_lines(diff: &SettingsDiff, w: u16) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for hunk in &diff.hunks {
        lines.extend(code(&hunk.header, "", w, Style::new().fg(Color::Cyan)));
        for l in &hunk.lines {
            let (sign, style) = match l.kind {
                DiffKind::Added => ("+", Style::new().fg(Color::Green)),
                DiffKind::Removed => ("-", Style::new().fg(Color::Red)),
                DiffKind::Context => (" ", Style::new().fg(Color::DarkGray)),
            };
            lines.extend(code(&l.text, sign, w, style));
        }
    }
    lines
}

/// The change (diff or snippet), the notes and the variables to set.
fn plan_lines(plan: &RewritePlan, w: u16) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    match &plan.change {
        SettingsChange::Rewrite { file, diff, .. } => {
            lines.extend(wrapped(
                &format!("{} ({}):", file.display(), style_words(plan)),
                w,
                Style::new().add_modifier(Modifier::BOLD),
            ));
            lines.extend(diff_lines(diff, w));
        }
        SettingsChange::Manual {
            reason,
            file,
            snippet,
        } => {
            lines.extend(hanging(
                &format!("dj2pg leaves these settings alone: {reason}"),
                w,
                2,
                Some(Span::styled("⚠ ", Style::new().fg(Color::Yellow))),
                Style::new().fg(Color::Yellow),
            ));
            lines.push(Line::default());
            let at = match file {
                Some(f) => format!("Paste this where DATABASES is set, in {}:", f.display()),
                None => "Paste this where DATABASES is set:".to_string(),
            };
            lines.extend(wrapped(&at, w, Style::new().add_modifier(Modifier::BOLD)));
            for l in snippet.lines() {
                lines.extend(code(l, " ", w, Style::new().fg(Color::Green)));
            }
        }
    }
    if !plan.notes.is_empty() {
        lines.push(Line::default());
        for n in &plan.notes {
            lines.extend(hanging(
                n,
                w,
                2,
                Some(dim("• ")),
                Style::new().fg(Color::Gray),
            ));
        }
    }
    lines.extend(env_lines(plan, w));
    lines
}

fn style_words(plan: &RewritePlan) -> &'static str {
    match plan.style {
        crate::data::settings::SettingsStyle::Env => "POSTGRES_* variables",
        crate::data::settings::SettingsStyle::DatabaseUrl => "DATABASE_URL",
    }
}

/// The lines that set the variables, the password as a placeholder.
fn env_lines(plan: &RewritePlan, w: u16) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    if plan.shell_lines.is_empty() {
        return lines;
    }
    lines.push(Line::default());
    lines.push(heading("Set these where the app runs"));
    for l in &plan.shell_lines {
        lines.extend(code(l, "", w, Style::new().fg(Color::Cyan)));
    }
    lines.extend(wrapped(
        "The password comes from your provider; .env.example lists the names.",
        w,
        Style::new().fg(Color::DarkGray),
    ));
    lines
}

/// The settings did not pass: what Django said (the whole output is in the log pane).
fn invalid_lines(m: &Migration, w: u16) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    if let Some(a) = &m.settings.applied {
        lines.extend(wrapped(
            &format!(
                "{} was written; the old one is in {}.",
                a.settings_file.display(),
                a.backup.archived.display()
            ),
            w,
            Style::new(),
        ));
        lines.push(Line::default());
    }
    if let Some(v) = &m.settings.validation {
        lines.extend(checks(v, w));
        lines.push(Line::default());
    }
    lines.extend(wrapped(
        "Django's output is in the log pane below.",
        w,
        Style::new().fg(Color::DarkGray),
    ));
    lines
}

/// One line per command the validation ran, with its outcome.
fn checks(v: &Validation, w: u16) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for c in std::iter::once(&v.check).chain(v.read.as_ref()) {
        let (g, color) = if c.success {
            ("✓ ", Color::Green)
        } else {
            ("✗ ", Color::Red)
        };
        lines.extend(hanging(
            &c.command,
            w,
            2,
            Some(Span::styled(g, Style::new().fg(color))),
            Style::new(),
        ));
    }
    lines
}

fn done_lines(m: &Migration, summary: &str, w: u16) -> Vec<Line<'static>> {
    let mut lines = wrapped(&format!("✓ {summary}"), w, Style::new().fg(Color::Green));
    lines.push(Line::default());
    if let Some(v) = &m.settings.validation {
        lines.push(heading("Checked through Django"));
        lines.extend(checks(v, w));
        if let Some(vendor) = &v.vendor {
            let rows = v
                .migrations_rows
                .map(|n| format!(", {n} django_migrations row(s) read"))
                .unwrap_or_default();
            lines.extend(wrapped(
                &format!("Django connects to {vendor}{rows}."),
                w,
                Style::new().fg(Color::Gray),
            ));
        }
    }
    if let Some(a) = &m.settings.applied {
        lines.push(Line::default());
        lines.extend(wrapped(
            &format!(
                "The old settings file is in {}.",
                a.backup.archived.display()
            ),
            w,
            Style::new().fg(Color::Gray),
        ));
    }
    if let Some(plan) = &m.settings.plan {
        lines.extend(env_lines(plan, w));
    }
    lines
}

/// A line of code after a one-column `sign`, cut into pieces of the width by characters
/// (spaces kept, never split inside a character); continuation pieces start with `↪`.
fn code(text: &str, sign: &str, width: u16, style: Style) -> Vec<Line<'static>> {
    let text = text.replace('\t', "    ");
    let lead = sign.chars().count();
    let avail = (width as usize).saturating_sub(lead).max(4);
    let chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return vec![Line::from(Span::styled(sign.to_string(), style))];
    }
    let mut out = Vec::new();
    let mut start = 0;
    while start < chars.len() {
        let first = start == 0;
        // Continuation pieces give one column to the `↪` marker.
        let room = if first {
            avail
        } else {
            avail.saturating_sub(1).max(1)
        };
        let end = (start + room).min(chars.len());
        let piece: String = chars[start..end].iter().collect();
        let lead_span = if first {
            Span::styled(sign.to_string(), style)
        } else {
            Span::styled(format!("{:lead$}↪", ""), Style::new().fg(Color::DarkGray))
        };
        out.push(Line::from(vec![lead_span, Span::styled(piece, style)]));
        start = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::code;
    use ratatui::style::Style;

    fn text(lines: &[ratatui::text::Line]) -> Vec<String> {
        lines.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn code_keeps_indentation_and_cuts_by_characters() {
        let l = code("    'NAME': 'é'", "+", 8, Style::new());
        assert_eq!(text(&l), vec!["+    'NA", " ↪ME': '", " ↪é'"]);
        for line in &l {
            assert!(line.to_string().chars().count() <= 8);
        }
        assert_eq!(text(&code("", "-", 8, Style::new())), vec!["-"]);
    }
}
