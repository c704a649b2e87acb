//! Backup: what will be copied and where, before it runs; then the checklist the worker
//! reports (one row per item, its detail indented under it), the backup folder, and the
//! git question when the tree is not clean.

use super::super::ui_state::UiState;
use super::super::widgets::{decision, dim, failure, hanging, pending_intro, wrapped};
use super::{scrolled, status_lines};
use crate::data::backup::{BackupReport, CheckItem, CheckStatus, GitignoreChange};
use crate::state::{Migration, Status, Step};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

/// Detail lines shown under one checklist row before "… N more".
const DETAIL_SHOWN: usize = 4;

pub fn render(frame: &mut Frame, area: Rect, m: &Migration, ui: &UiState) {
    let w = area.width;
    let status = m.status(Step::Backup);
    let lines = match (status, &m.backup.report) {
        (Status::Pending, _) => {
            let mut lines = pending_lines(m, w);
            lines.extend(pending_intro(m, Step::Backup, &[], w));
            lines
        }
        (
            Status::NeedsDecision {
                question, choices, ..
            },
            Some(report),
        ) => {
            // The question stays in view; the checklist scrolls above it.
            let mut ask = vec![Line::default()];
            ask.extend(decision::lines(question, choices, w));
            let ask_h = (ask.len() as u16).min(area.height / 2);
            let [top, bottom] =
                Layout::vertical([Constraint::Min(1), Constraint::Length(ask_h)]).areas(area);
            scrolled(frame, top, checklist(report, w), ui, Step::Backup);
            frame.render_widget(ratatui::widgets::Paragraph::new(ask), bottom);
            return;
        }
        (Status::Done { summary }, Some(report)) => {
            let mut lines = wrapped(&format!("✓ {summary}"), w, Style::new().fg(Color::Green));
            lines.push(Line::default());
            lines.extend(checklist(report, w));
            lines
        }
        (Status::Failed { .. } | Status::Stopped { .. }, Some(report)) => {
            let mut lines = failure(status, w);
            lines.push(Line::default());
            lines.extend(checklist(report, w));
            lines
        }
        _ => status_lines(m, Step::Backup, w, ui.tick),
    };
    scrolled(frame, area, lines, ui, Step::Backup);
}

const WHAT: &[&str] = &[
    "Before anything changes: checks the git tree, copies the SQLite file in a way that \
         stays consistent even while your app keeps writing to it (SQLite's online backup), \
         checks the copy's integrity, row counts and SHA-256, and archives every local \
         migrations folder with a manifest.",
    "The SQLite file is only read, never modified.",
];

/// Where the backup goes, as the pending screen says it.
fn destination(m: &Migration) -> String {
    match &m.options.backup_dir {
        Some(dir) => format!("Backup folder: {} (--backup-dir).", dir.display()),
        None => "Backup folder: .dj2pg/backups/<time>/ in the project (added to .gitignore)."
            .to_string(),
    }
}

/// The pending intro with the destination line (owned, so it can name the folder).
fn pending_lines(m: &Migration, width: u16) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for para in WHAT {
        lines.extend(wrapped(para, width, Style::new()));
        lines.push(Line::default());
    }
    lines.extend(wrapped(
        &destination(m),
        width,
        Style::new().fg(Color::Cyan),
    ));
    lines.push(Line::default());
    lines
}

/// One row per checklist item, with its detail, then the backup folder.
fn checklist(report: &BackupReport, width: u16) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for item in &report.checklist {
        lines.extend(item_lines(item, width));
    }
    lines.push(Line::default());
    let folder = format!("Backup folder: {}", report.backup_dir.display());
    lines.extend(wrapped(&folder, width, Style::new().fg(Color::Cyan)));
    let note = match report.gitignore {
        Some(GitignoreChange::Appended) => Some(".dj2pg/ was added to .gitignore."),
        Some(GitignoreChange::Created) => Some(".gitignore was created with .dj2pg/ in it."),
        Some(GitignoreChange::AlreadyIgnored) => Some(".dj2pg/ is already in .gitignore."),
        Some(GitignoreChange::NotNeeded) | None => None,
    };
    if let Some(note) = note {
        lines.extend(wrapped(note, width, Style::new().fg(Color::DarkGray)));
    }
    lines
}

fn glyph(status: CheckStatus) -> (&'static str, Color) {
    match status {
        CheckStatus::Ok => ("✓", Color::Green),
        CheckStatus::Warning => ("⚠", Color::Yellow),
        CheckStatus::Failed => ("✗", Color::Red),
        CheckStatus::Pending => ("·", Color::Gray),
        CheckStatus::Skipped => ("—", Color::DarkGray),
    }
}

fn item_lines(item: &CheckItem, width: u16) -> Vec<Line<'static>> {
    let (g, color) = glyph(item.status);
    let title = item.kind.title();
    let text = if item.summary.is_empty() {
        title.to_string()
    } else {
        format!("{title}: {}", item.summary)
    };
    let summary_style = match item.status {
        CheckStatus::Failed => Style::new().fg(Color::Red),
        CheckStatus::Warning => Style::new().fg(Color::Yellow),
        CheckStatus::Pending | CheckStatus::Skipped => Style::new().fg(Color::DarkGray),
        CheckStatus::Ok => Style::new(),
    };
    let mut lines = hanging(
        &text,
        width,
        2,
        Some(Span::styled(format!("{g} "), Style::new().fg(color))),
        summary_style,
    );
    // Bold the title where it sits whole on the first line.
    if let Some(first) = lines.first_mut()
        && let [lead, body] = first.spans.as_slice()
        && let Some(rest) = body.content.strip_prefix(title)
    {
        *first = Line::from(vec![
            lead.clone(),
            Span::styled(title.to_string(), Style::new().add_modifier(Modifier::BOLD)),
            Span::styled(rest.to_string(), summary_style),
        ]);
    }
    let shown = if item.detail.len() > DETAIL_SHOWN + 1 {
        DETAIL_SHOWN
    } else {
        item.detail.len()
    };
    let detail_style = match item.status {
        CheckStatus::Failed => Style::new().fg(Color::Red),
        _ => Style::new().fg(Color::Gray),
    };
    for d in &item.detail[..shown] {
        // Keep leading spaces: `git status --porcelain` columns (` M`, `??`) line up.
        let text = d.trim_start_matches(' ');
        let pad = 4 + (d.len() - text.len()).min(4);
        lines.extend(hanging(
            text,
            width,
            pad,
            Some(Span::raw(" ".repeat(pad))),
            detail_style,
        ));
    }
    let more = item.detail.len() - shown;
    if more > 0 {
        lines.push(Line::from(vec![
            Span::raw("    "),
            dim(format!("… {more} more")),
        ]));
    }
    lines
}
