//! Done: the end of the run. Everything shown after the report is written is read from
//! `state::report::build` (pure), the same value `report.md` and `report.json` are made
//! of, so the screen and the files never disagree.

use super::super::ui_state::UiState;
use super::super::widgets::{
    dim, hanging, heading, hms, human_bytes, pending_intro, status_glyph, thousands, truncate,
    truncate_middle, wrapped,
};
use super::{scrolled, status_lines};
use crate::data::report::RunReport;
use crate::state::{Migration, Status, Step};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};

const WHAT: &[&str] = &[
    "Sums up the run: every step, what it did, and what is left to do. Writes report.md and \
     report.json next to the backup.",
];

/// Tables listed by name before "… N more" (all mismatches are always listed).
const TABLES_SHOWN: usize = 5;

pub fn render(frame: &mut Frame, area: Rect, m: &Migration, ui: &UiState) {
    let w = area.width;
    let lines = match m.status(Step::Done) {
        Status::Pending => pending_intro(m, Step::Done, WHAT, w),
        Status::Done { summary } => {
            let mut lines = wrapped(&format!("✓ {summary}"), w, Style::new().fg(Color::Green));
            lines.extend(report_lines(m, &crate::state::report::build(m), w));
            lines
        }
        _ => status_lines(m, Step::Done, w, ui.tick),
    };
    scrolled(frame, area, lines, ui, Step::Done);
}

fn bullet(text: &str, w: u16, style: Style) -> Vec<Line<'static>> {
    hanging(text, w, 2, Some(dim("• ")), style)
}

fn section(lines: &mut Vec<Line<'static>>, title: &str) {
    lines.push(Line::default());
    lines.push(heading(title));
}

fn report_lines(m: &Migration, r: &RunReport, w: u16) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    report_files(&mut lines, m, r, w);
    backup(&mut lines, r, w);
    steps(&mut lines, m, w);
    if !r.tables.is_empty() {
        section(&mut lines, "Rows copied");
        lines.extend(rows_lines(r, w));
    }
    if !r.derived.is_empty() {
        section(&mut lines, "Left empty, to rebuild");
        for d in &r.derived {
            lines.extend(bullet(
                &format!("{}: {}", d.table, d.rebuild_hint()),
                w,
                Style::new().fg(Color::Yellow),
            ));
        }
    }
    settings(&mut lines, r, w);
    after(&mut lines, r, w);
    lines
}

/// Where report.md and report.json were written.
fn report_files(lines: &mut Vec<Line<'static>>, m: &Migration, r: &RunReport, w: u16) {
    if !m.done.report_files.is_empty() {
        section(lines, "Report");
        // Next to the backup (the summary names the folder): the file names say enough.
        let beside = m.done.report_files.iter().all(|f| {
            f.parent()
                .is_some_and(|p| Some(p) == r.backup_dir.as_deref())
        });
        if beside {
            let names: Vec<String> = m
                .done
                .report_files
                .iter()
                .filter_map(|f| f.file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .collect();
            lines.extend(bullet(
                &format!("{} in the backup folder", names.join(", ")),
                w,
                Style::new(),
            ));
        } else {
            for f in &m.done.report_files {
                lines.extend(bullet(&f.display().to_string(), w, Style::new()));
            }
        }
    }
}

/// The backup folder, the SQLite copy's size and hash, the migrations moved there.
fn backup(lines: &mut Vec<Line<'static>>, r: &RunReport, w: u16) {
    if let Some(dir) = &r.backup_dir {
        section(lines, "Backup");
        lines.extend(bullet(&dir.display().to_string(), w, Style::new()));
        if let Some((file, sha, size)) = &r.sqlite_backup {
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| file.display().to_string());
            let short: String = sha.chars().take(12).collect();
            lines.extend(bullet(
                &format!("{name}: {}, sha256 {short}…", human_bytes(*size)),
                w,
                Style::new(),
            ));
        }
        if !r.migrations_moved.is_empty() {
            lines.extend(bullet(
                &format!(
                    "{} migration file(s) moved there; makemigrations wrote {}",
                    r.migrations_moved.len(),
                    r.migrations_written.len()
                ),
                w,
                Style::new(),
            ));
        }
    }
}

/// One line per step: its glyph, title and summary.
fn steps(lines: &mut Vec<Line<'static>>, m: &Migration, w: u16) {
    section(lines, "Steps");
    for s in Step::ALL.iter().filter(|s| **s != Step::Done) {
        let status = m.status(*s);
        let (glyph, color) = status_glyph(status, 0);
        let detail = match status {
            Status::Done { summary } => summary.clone(),
            Status::Skipped { reason } => format!("skipped: {reason}"),
            other => other.label().to_string(),
        };
        let text = truncate(
            &format!("{:<18}{detail}", s.title()),
            (w as usize).saturating_sub(2),
        );
        lines.push(Line::from(vec![
            Span::styled(format!("{glyph} "), Style::new().fg(color)),
            Span::raw(text),
        ]));
    }
}

/// The settings file that now reads the environment, and what to set where the app runs.
fn settings(lines: &mut Vec<Line<'static>>, r: &RunReport, w: u16) {
    if r.settings_file.is_some() || !r.env_lines.is_empty() {
        section(lines, "Settings");
        if let Some(f) = &r.settings_file {
            lines.extend(bullet(
                &format!("{} reads DATABASES from the environment", f.display()),
                w,
                Style::new(),
            ));
        }
        if let Some(b) = &r.settings_backup {
            lines.extend(bullet(
                &format!("the old file: {}", b.display()),
                w,
                Style::new().fg(Color::Gray),
            ));
        }
        if !r.env_lines.is_empty() {
            lines.extend(wrapped("Set these where the app runs:", w, Style::new()));
            for l in &r.env_lines {
                lines.extend(hanging(
                    l,
                    w,
                    2,
                    Some(Span::raw("  ")),
                    Style::new().fg(Color::Cyan),
                ));
            }
        }
    }
}

/// Other environments to change, and how to roll back.
fn after(lines: &mut Vec<Line<'static>>, r: &RunReport, w: u16) {
    if !r.other_environments.is_empty() {
        section(lines, "Other environments");
        for t in &r.other_environments {
            lines.extend(bullet(t, w, Style::new()));
        }
    }
    if !r.rollback.is_empty() {
        section(lines, "Rolling back");
        if let Some(cmd) = &r.rollback_command {
            lines.extend(hanging(
                cmd,
                w,
                2,
                Some(Span::raw("  ")),
                Style::new().fg(Color::Cyan),
            ));
        }
        for t in &r.rollback {
            lines.extend(bullet(t, w, Style::new()));
        }
    }
}

/// The copy in one line, then the mismatched tables and the largest ones.
fn rows_lines(r: &RunReport, w: u16) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let bad: Vec<_> = r.tables.iter().filter(|t| !t.verified()).collect();
    let rate = r
        .rows_per_sec()
        .map(|x| format!(", {} rows/s", thousands(x.round() as u64)))
        .unwrap_or_default();
    let took = if r.copy_elapsed_ms < 1000 {
        format!("{} ms", r.copy_elapsed_ms)
    } else {
        hms(r.copy_elapsed_ms / 1000)
    };
    let verdict = if bad.is_empty() {
        "all verified"
    } else {
        "NOT all verified"
    };
    lines.extend(wrapped(
        &format!(
            "{} rows in {} tables, {took}{rate}; {verdict}",
            thousands(r.rows_copied()),
            r.tables.len()
        ),
        w,
        Style::new().fg(if bad.is_empty() {
            Color::Green
        } else {
            Color::Red
        }),
    ));
    let name_w = (w as usize).saturating_sub(2 + 14).max(8);
    let row = |t: &crate::data::copy::TableCheck, style: Style| {
        let mut text = format!(
            "{:<name_w$}{:>12}",
            truncate_middle(&t.table, name_w),
            thousands(t.target_rows)
        );
        if t.rejected_rows > 0 {
            text.push_str(&format!(" ({} rejected)", thousands(t.rejected_rows)));
        }
        Line::from(vec![
            Span::raw("  "),
            Span::styled(truncate(&text, (w as usize).saturating_sub(2)), style),
        ])
    };
    for t in &bad {
        lines.push(row(t, Style::new().fg(Color::Red)));
    }
    let mut good: Vec<_> = r.tables.iter().filter(|t| !bad.contains(t)).collect();
    good.sort_by_key(|t| std::cmp::Reverse(t.target_rows));
    for t in good.iter().take(TABLES_SHOWN) {
        lines.push(row(t, Style::new()));
    }
    let more = good.len().saturating_sub(TABLES_SHOWN);
    if more > 0 {
        lines.push(Line::from(vec![
            Span::raw("  "),
            dim(format!("… {more} more (every table is in report.md)")),
        ]));
    }
    lines
}

/// Whether `u` (restore the project's files from the backup) applies now.
fn can_restore(m: &Migration) -> bool {
    m.job.is_none()
        && m.backup.report.is_some()
        && matches!(m.status(Step::Done), Status::Done { .. })
}

/// `u`: offer to put the old migrations and settings.py back (asked before anything moves).
pub fn on_key(m: &Migration, key: crossterm::event::KeyEvent) -> super::Handled {
    match key.code {
        crossterm::event::KeyCode::Char('u') if can_restore(m) => {
            super::Handled::Send(crate::state::Msg::OfferRestore)
        }
        _ => super::Handled::Ignored,
    }
}

pub fn hints(m: &Migration, out: &mut Vec<super::Hint>) {
    if can_restore(m) {
        out.push(super::hint("u", "restore files"));
    }
}
