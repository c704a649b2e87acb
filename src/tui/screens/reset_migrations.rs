//! Reset migrations: the local apps (Space selects, ↑/↓ move the app cursor) beside the
//! tree of exactly the files that would go for the app under the cursor, each file's
//! warnings under it; below, the totals for the selection, why keeping may be wiser, and
//! the confirm. Then what moved, what makemigrations wrote, and how to put it all back.
//!
//! Invariant: the app cursor lives in `UiState` (it is not part of the run); it indexes the
//! scan's local apps and is clamped wherever it is used, so a shorter scan never panics.

use super::super::keys::{Hint, hint};
use super::super::ui_state::UiState;
use super::super::widgets::{
    decision, dim, failure, hanging, heading, human_bytes, key, pending_intro, truncate, wrap,
    wrapped,
};
use super::{Handled, scrolled, status_lines};
use crate::data::backup::{AppScan, FileToGo, MigrationScan, MigrationWarning};
use crate::state::{Migration, Msg, Question, Status, Step, restore_hint};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use std::path::Path;

/// From this body width the apps and the tree sit side by side; below it they stack.
const SIDE_BY_SIDE: u16 = 50;

const WHAT: &[&str] = &[
    "Optional. Lists, per local app, exactly the migration files a reset would move \
     (also the compiled .pyc copies a manual delete forgets, which would confuse Django \
     later) and what makemigrations would not write again. You pick the apps and confirm; \
     nothing moves before.",
    "Files are moved into the backup, never deleted; makemigrations then writes fresh ones, \
     and dj2pg restore puts the old ones back byte for byte. Keep them when other databases \
     already applied them, or when they hold data migrations.",
];

/// The scan, while its confirm question is on screen (the only time the app keys apply).
fn asking(m: &Migration) -> Option<&MigrationScan> {
    match m.status(Step::ResetMigrations) {
        Status::NeedsDecision {
            kind: Question::ResetConfirm,
            ..
        } if m.job.is_none() && m.cursor == Step::ResetMigrations => m.reset.scan.as_ref(),
        _ => None,
    }
}

/// The apps the cursor moves over: the project's own.
fn local_apps(scan: &MigrationScan) -> Vec<&AppScan> {
    scan.apps.iter().filter(|a| a.local).collect()
}

fn cursor(ui: &UiState, len: usize) -> usize {
    ui.reset_cursor.min(len.saturating_sub(1))
}

pub fn on_key(m: &Migration, ui: &mut UiState, key: KeyEvent) -> Handled {
    let Some(scan) = asking(m) else {
        return Handled::Ignored;
    };
    if key
        .modifiers
        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
    {
        return Handled::Ignored;
    }
    let apps = local_apps(scan);
    if apps.is_empty() {
        return Handled::Ignored;
    }
    let here = cursor(ui, apps.len());
    let moved = match key.code {
        KeyCode::Up => here.saturating_sub(1),
        KeyCode::Down => (here + 1).min(apps.len() - 1),
        KeyCode::Char(' ') => {
            let app = apps[here];
            return if app.resettable() {
                Handled::Send(Msg::ToggleApp(app.label.clone()))
            } else {
                Handled::Consumed
            };
        }
        _ => return Handled::Ignored,
    };
    if moved != here {
        // Another app's tree starts at its top.
        ui.scroll_by(Step::ResetMigrations, -i32::from(u16::MAX));
    }
    ui.reset_cursor = moved;
    Handled::Consumed
}

pub fn hints(m: &Migration, out: &mut Vec<Hint>) {
    if asking(m).is_some_and(|s| !local_apps(s).is_empty()) {
        out.push(hint("↑↓", "apps"));
        out.push(hint("Space", "select"));
    }
}

pub fn render(frame: &mut Frame, area: Rect, m: &Migration, ui: &UiState) {
    let w = area.width;
    let lines = match m.status(Step::ResetMigrations) {
        Status::Pending => pending_intro(m, Step::ResetMigrations, WHAT, w),
        Status::NeedsDecision {
            kind: Question::ResetConfirm,
            choices,
            ..
        } if m.reset.scan.is_some() => {
            if let Some(scan) = &m.reset.scan {
                confirm(frame, area, m, scan, choices, ui);
            }
            return;
        }
        Status::Done { summary } => done_lines(m, summary, w),
        Status::Skipped { reason } => {
            let mut lines = wrapped(
                &format!("↷ Migrations kept: {reason}."),
                w,
                Style::new().fg(Color::Blue),
            );
            lines.push(Line::default());
            lines.extend(wrapped(
                "Nothing was moved: every migration stays as it is, and PostgreSQL gets the \
                 same migration history as SQLite.",
                w,
                Style::new(),
            ));
            lines
        }
        Status::Failed { .. } | Status::Stopped { .. } => {
            let mut lines = failure(m.status(Step::ResetMigrations), w);
            if m.reset.regenerated.is_some() {
                lines.push(Line::default());
                lines.extend(wrapped(
                    "makemigrations' output is in the log below.",
                    w,
                    Style::new().fg(Color::DarkGray),
                ));
            }
            lines
        }
        _ => status_lines(m, Step::ResetMigrations, w, ui.tick),
    };
    scrolled(frame, area, lines, ui, Step::ResetMigrations);
}

fn confirm(
    frame: &mut Frame,
    area: Rect,
    m: &Migration,
    scan: &MigrationScan,
    choices: &[crate::state::Choice],
    ui: &UiState,
) {
    let w = area.width;
    let selected = &m.reset.selection;
    let apps = local_apps(scan);
    let here = cursor(ui, apps.len());
    let bottom = bottom_lines(scan, selected, choices, w);
    let bottom_h = (bottom.len() as u16).min(area.height / 2);
    let [top, _, low] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(bottom_h),
    ])
    .areas(area);
    frame.render_widget(Paragraph::new(bottom), low);
    let current = apps.get(here).copied();
    if w >= SIDE_BY_SIDE {
        // Third-party apps wrap in one line, so only local labels set the width.
        let longest = apps
            .iter()
            .map(|a| a.label.chars().count())
            .max()
            .unwrap_or(0) as u16;
        let left_w = (longest + 8).clamp(16, w / 2);
        let [left, _, right] = Layout::horizontal([
            Constraint::Length(left_w),
            Constraint::Length(1),
            Constraint::Min(1),
        ])
        .areas(top);
        app_list(frame, left, scan, selected, here);
        let tree = current.map_or_else(Vec::new, |a| tree_lines(m, a, right.width));
        scrolled(frame, right, tree, ui, Step::ResetMigrations);
    } else {
        let list_h = (app_list_lines(scan, selected, here, w).0.len() as u16).min(top.height / 2);
        let [left, right] =
            Layout::vertical([Constraint::Length(list_h), Constraint::Min(1)]).areas(top);
        app_list(frame, left, scan, selected, here);
        let tree = current.map_or_else(Vec::new, |a| tree_lines(m, a, right.width));
        scrolled(frame, right, tree, ui, Step::ResetMigrations);
    }
}

/// The app list, scrolled so the cursor's row stays in view.
fn app_list(frame: &mut Frame, area: Rect, scan: &MigrationScan, selected: &[String], here: usize) {
    let (lines, cursor_row) = app_list_lines(scan, selected, here, area.width);
    let offset = (cursor_row + 1).saturating_sub(area.height as usize) as u16;
    frame.render_widget(Paragraph::new(lines).scroll((offset, 0)), area);
}

/// The local apps (cursor, selection box, label, file count), then the third-party ones,
/// greyed and kept. Returns the lines and the row of the cursor.
fn app_list_lines(
    scan: &MigrationScan,
    selected: &[String],
    here: usize,
    width: u16,
) -> (Vec<Line<'static>>, usize) {
    let mut lines = vec![heading("Local apps")];
    let mut cursor_row = 0;
    let label_w = (width as usize).saturating_sub(6);
    for (i, app) in local_apps(scan).into_iter().enumerate() {
        let on = i == here;
        if on {
            cursor_row = lines.len();
        }
        let marker = if on { "▸" } else { " " };
        let (boxed, style) = if !app.resettable() {
            ("   ", Style::new().fg(Color::DarkGray))
        } else if selected.contains(&app.label) {
            ("[x]", Style::new().fg(Color::Green))
        } else {
            ("[ ]", Style::new())
        };
        let label_style = if on {
            style.add_modifier(Modifier::BOLD | Modifier::REVERSED)
        } else {
            style
        };
        let count = if app.resettable() {
            format!(" {}", app.files.len())
        } else {
            " none".to_string()
        };
        let label = truncate(
            &app.label,
            label_w.saturating_sub(count.chars().count()).max(4),
        );
        lines.push(Line::from(vec![
            Span::styled(marker, Style::new().fg(Color::Cyan)),
            Span::styled(boxed, style),
            Span::raw(" "),
            Span::styled(label, label_style),
            dim(count),
        ]));
    }
    let kept = scan.kept_labels();
    if !kept.is_empty() {
        lines.push(Line::default());
        let text = format!("Kept (third-party): {}", kept.join(", "));
        lines.extend(wrapped(&text, width, Style::new().fg(Color::DarkGray)));
    }
    (lines, cursor_row)
}

/// The folder of the app under the cursor and exactly the files that would go, as a tree;
/// each file's warnings under it (red: work makemigrations will not regenerate, or a
/// dependency that would break; yellow: the rest).
fn tree_lines(m: &Migration, app: &AppScan, width: u16) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let folder = app
        .migrations_dir
        .as_deref()
        .map(|d| relative(d, &m.options.project))
        .unwrap_or_else(|| format!("{} (no migrations folder)", app.label));
    lines.extend(wrapped(
        &format!("{folder}/"),
        width,
        Style::new().add_modifier(Modifier::BOLD),
    ));
    for note in &app.notes {
        lines.extend(wrapped(note, width, Style::new().fg(Color::Yellow)));
    }
    if app.files.is_empty() {
        lines.extend(wrapped(
            "Nothing would go: this app has no migration files to reset.",
            width,
            Style::new().fg(Color::DarkGray),
        ));
        return lines;
    }
    // Top-level files first, then one node per subfolder (`__pycache__/`) with its files.
    let mut top: Vec<&FileToGo> = Vec::new();
    let mut dirs: Vec<(String, Vec<(String, &FileToGo)>)> = Vec::new();
    for f in &app.files {
        match f.rel_path.rsplit_once('/') {
            None => top.push(f),
            Some((dir, name)) => match dirs.iter_mut().find(|(d, _)| d == dir) {
                Some((_, files)) => files.push((name.to_string(), f)),
                None => dirs.push((dir.to_string(), vec![(name.to_string(), f)])),
            },
        }
    }
    let nodes = top.len() + dirs.len();
    let mut n = 0;
    for f in top {
        n += 1;
        file_node(&mut lines, "", n == nodes, &f.rel_path, f, width);
    }
    for (dir, files) in dirs {
        n += 1;
        let last = n == nodes;
        let (branch, pad) = if last {
            ("└─ ", "   ")
        } else {
            ("├─ ", "│  ")
        };
        push_wrapped(
            &mut lines,
            branch,
            pad,
            &format!("{dir}/"),
            width,
            Style::new().fg(Color::Gray),
        );
        let count = files.len();
        for (i, (name, f)) in files.into_iter().enumerate() {
            file_node(&mut lines, pad, i + 1 == count, &name, f, width);
        }
    }
    lines.push(Line::default());
    // Wrapped, not one line: at 80 columns the tree's column cut it to "__init__.py s".
    lines.extend(wrapped(
        &format!(
            "{} file(s), {}; __init__.py stays",
            app.files.len(),
            human_bytes(app.total_bytes())
        ),
        width,
        Style::new().fg(Color::DarkGray),
    ));
    lines
}

fn file_node(
    lines: &mut Vec<Line<'static>>,
    indent: &str,
    last: bool,
    name: &str,
    f: &FileToGo,
    width: u16,
) {
    let (branch, pad) = if last {
        ("└─ ", "   ")
    } else {
        ("├─ ", "│  ")
    };
    push_wrapped(
        lines,
        &format!("{indent}{branch}"),
        &format!("{indent}{pad}"),
        name,
        width,
        Style::new(),
    );
    for warning in &f.warnings {
        let color =
            if warning.loses_work() || matches!(warning, MigrationWarning::DependedOnBy { .. }) {
                Color::Red
            } else {
                Color::Yellow
            };
        let lead = format!("{indent}{pad}");
        push_wrapped(
            lines,
            &format!("{lead}⚠ "),
            &format!("{lead}  "),
            &warning.message(),
            width,
            Style::new().fg(color),
        );
    }
}

/// `text` wrapped after a tree prefix: `first` on its first line, `rest` on the others.
fn push_wrapped(
    lines: &mut Vec<Line<'static>>,
    first: &str,
    rest: &str,
    text: &str,
    width: u16,
    style: Style,
) {
    let lead_w = first.chars().count().max(rest.chars().count());
    let avail = (width as usize).saturating_sub(lead_w).max(4);
    for (i, part) in wrap(text, avail).into_iter().enumerate() {
        let lead = if i == 0 { first } else { rest };
        lines.push(Line::from(vec![
            Span::styled(lead.to_string(), Style::new().fg(Color::DarkGray)),
            Span::styled(part, style),
        ]));
    }
}

/// The totals for the selection, why keeping may be wiser, and the choices.
fn bottom_lines(
    scan: &MigrationScan,
    selected: &[String],
    choices: &[crate::state::Choice],
    width: u16,
) -> Vec<Line<'static>> {
    let mut lines = if selected.is_empty() {
        let mut l = vec![Line::from(vec![
            Span::raw("Nothing selected: "),
            key("Space"),
            Span::raw(" selects the app under ▸."),
        ])];
        if width < 44 {
            l = wrapped(
                "Nothing selected: Space selects the app under ▸.",
                width,
                Style::new(),
            );
        }
        l
    } else {
        let (files, bytes) = scan.totals(selected);
        wrapped(
            &format!(
                "Selected: {} — {files} file(s), {} to move into the backup.",
                selected.join(", "),
                human_bytes(bytes)
            ),
            width,
            Style::new().add_modifier(Modifier::BOLD),
        )
    };
    for h in scan.keep_hints(selected, false) {
        lines.extend(hanging(
            &h,
            width,
            2,
            Some(Span::styled("⚠ ", Style::new().fg(Color::Yellow))),
            Style::new().fg(Color::Yellow),
        ));
    }
    lines.extend(decision::lines(
        "Nothing moves before you confirm:",
        choices,
        width,
    ));
    lines
}

fn done_lines(m: &Migration, summary: &str, w: u16) -> Vec<Line<'static>> {
    let mut lines = wrapped(&format!("✓ {summary}"), w, Style::new().fg(Color::Green));
    lines.push(Line::default());
    if let Some(r) = &m.reset.report {
        lines.push(heading("Moved into the backup"));
        let mut apps: Vec<(&str, usize)> = Vec::new();
        for f in &r.moved {
            match apps.iter_mut().find(|(a, _)| *a == f.app) {
                Some((_, n)) => *n += 1,
                None => apps.push((&f.app, 1)),
            }
        }
        let per_app: Vec<String> = apps.iter().map(|(a, n)| format!("{a} {n}")).collect();
        lines.extend(wrapped(
            &format!(
                "{} file(s), {} ({}), in {}",
                r.moved.len(),
                human_bytes(r.total_bytes()),
                per_app.join(", "),
                r.backup_dir.display()
            ),
            w,
            Style::new(),
        ));
        for (path, why) in &r.refused {
            lines.extend(wrapped(
                &format!("✗ not moved: {path}: {why}"),
                w,
                Style::new().fg(Color::Red),
            ));
        }
        lines.push(Line::default());
    }
    if let Some(made) = &m.reset.regenerated {
        lines.push(heading("Written by makemigrations"));
        if made.created.is_empty() {
            lines.push(Line::from(dim("no new file")));
        }
        for f in &made.created {
            lines.extend(hanging(
                &relative(f, &m.options.project),
                w,
                2,
                Some(Span::styled("+ ", Style::new().fg(Color::Green))),
                Style::new(),
            ));
        }
        lines.push(Line::default());
    }
    lines.push(heading("To put the old migrations back"));
    lines.extend(wrapped(&restore_hint(m), w, Style::new().fg(Color::Cyan)));
    lines
}

/// `path` relative to the project when it is inside it.
fn relative(path: &Path, project: &Path) -> String {
    path.strip_prefix(project)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| path.display().to_string())
}
