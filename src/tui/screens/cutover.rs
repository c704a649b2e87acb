//! Cutover: what the app wrote since the copy's snapshot, refreshed while it still runs
//! (rows inserted, updated, deleted per table) and how long applying will take; the cue to
//! stop the app; then the sync, its conflicts (with table and key) and its cutover window.

use super::super::keys::{Hint, hint};
use super::super::ui_state::UiState;
use super::super::widgets::{
    decision, dim, pending_intro, running_lines, spinner, step_failure, truncate_middle, wrapped,
};
use super::{Handled, scrolled, status_lines};
use crate::data::sync::{Conflict, Counts, Look, SyncReport, duration_text};
use crate::state::{Migration, Msg, Status, Step};
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

const STEP: Step = Step::Cutover;

const WHAT: &[&str] = &[
    "While your app still runs, shows what it wrote since the copy's snapshot (rows \
     inserted, updated, deleted per table), refreshed every 2 s, and how long applying it \
     takes.",
    "When you have stopped the app (or put it in maintenance mode), it applies exactly those \
     changes in one verified transaction: the cutover window is measured from your key \
     press to \"synced and verified\". A row changed on PostgreSQL meanwhile is never \
     overwritten without asking.",
];

/// The watch runs: the user is being asked to stop the app.
fn watching(m: &Migration) -> bool {
    m.cutover.watching && matches!(m.job, Some((_, STEP)))
}

pub fn render(frame: &mut Frame, area: Rect, m: &Migration, ui: &UiState) {
    let w = area.width;
    let mut lines = Vec::new();
    match m.status(STEP) {
        Status::Pending => lines.extend(pending_intro(m, STEP, WHAT, w)),
        Status::Running { .. } if watching(m) => lines.extend(watch_lines(m, w, ui.tick)),
        Status::Running { detail, .. } => {
            lines.extend(running_lines(detail, ui.tick, w));
            lines.push(Line::default());
            lines.extend(wrapped(
                "Keep the app stopped until this is done: the cutover window is running.",
                w,
                Style::new().fg(Color::DarkGray),
            ));
        }
        Status::NeedsDecision {
            question, choices, ..
        } => {
            lines.extend(decision::lines(question, choices, w));
            lines.push(Line::default());
            lines.extend(conflict_lines(&m.cutover.conflicts, w));
        }
        Status::Failed { .. } | Status::Stopped { .. } => lines.extend(step_failure(m, STEP, w)),
        Status::Done { summary } => {
            lines.extend(wrapped(
                &format!("✓ {summary}"),
                w,
                Style::new().fg(Color::Green),
            ));
            if let Some(r) = m.cutover.runs.last() {
                lines.push(Line::default());
                lines.extend(run_lines(r, w));
            }
            lines.push(Line::default());
            lines.extend(wrapped(
                "r syncs again (if the app wrote more since); Enter goes on to Update settings.",
                w,
                Style::new().fg(Color::DarkGray),
            ));
        }
        _ => lines.extend(status_lines(m, STEP, w, ui.tick)),
    }
    scrolled(frame, area, lines, ui, STEP);
}

fn watch_lines(m: &Migration, w: u16, tick: usize) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let Some(look) = &m.cutover.look else {
        lines.push(Line::from(format!(
            "{} Reading the SQLite file…",
            spinner(tick)
        )));
        return lines;
    };
    let since = chrono::DateTime::parse_from_rfc3339(&look.since)
        .map(|t| t.format("%H:%M:%S UTC").to_string())
        .unwrap_or_else(|_| look.since.clone());
    lines.extend(wrapped(
        &format!(
            "{} Changes since the copy's snapshot of {since}, refreshed every 2 s while the app runs:",
            spinner(tick)
        ),
        w,
        Style::new(),
    ));
    lines.push(Line::default());
    lines.extend(counts_table(look, w));
    lines.push(Line::default());
    lines.extend(wrapped(
        &format!(
            "{} row(s) changed; applying them takes about {}.",
            look.rows_changed(),
            seconds(look.estimate_secs())
        ),
        w,
        Style::new(),
    ));
    lines.push(Line::default());
    lines.extend(wrapped(
        "Stop your app now (or put it in maintenance mode), then press Enter: the sync \
         starts, and the cutover window with it. Nothing is written before.",
        w,
        Style::new().add_modifier(Modifier::BOLD),
    ));
    lines
}

fn seconds(s: f64) -> String {
    if s < 10.0 {
        format!("{s:.1} s")
    } else {
        format!("{s:.0} s")
    }
}

/// `table  inserted  updated  deleted`, one line per changed table.
fn counts_table(look: &Look, w: u16) -> Vec<Line<'static>> {
    if look.changes.is_empty() {
        return vec![Line::from(dim(format!(
            "Nothing changed yet ({} rows read in {} ms).",
            look.rows, look.scan_ms
        )))];
    }
    let name_w = (w as usize).saturating_sub(30).clamp(8, 40);
    let head = format!(
        "{:<name_w$} {:>9} {:>9} {:>9}",
        "table", "inserted", "updated", "deleted"
    );
    let mut lines = vec![Line::from(Span::styled(
        head,
        Style::new().add_modifier(Modifier::BOLD),
    ))];
    let row = |c: &Counts| {
        let name = truncate_middle(&c.table, name_w);
        if c.whole {
            format!("{name:<name_w$} changed (no primary key: reloaded whole)")
        } else {
            format!(
                "{name:<name_w$} {:>9} {:>9} {:>9}",
                c.inserted, c.updated, c.deleted
            )
        }
    };
    lines.extend(look.changes.iter().map(|c| Line::from(row(c))));
    lines
}

fn conflict_lines(conflicts: &[Conflict], w: u16) -> Vec<Line<'static>> {
    let mut lines = vec![Line::from(Span::styled(
        "Changed on both sides:",
        Style::new().add_modifier(Modifier::BOLD),
    ))];
    for c in conflicts {
        lines.extend(wrapped(
            &format!("{} key {}: {}", c.table, c.key, c.what),
            w,
            Style::new().fg(Color::Yellow),
        ));
    }
    lines
}

fn run_lines(r: &SyncReport, w: u16) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for t in r
        .applied
        .tables
        .iter()
        .filter(|t| t.moved() > 0 || t.kept_postgres > 0)
    {
        let mut text = format!(
            "{}: {} inserted, {} updated, {} deleted",
            t.table,
            t.inserted + t.reloaded.unwrap_or(0),
            t.updated,
            t.deleted
        );
        if t.kept_postgres > 0 {
            text.push_str(&format!(
                ", {} kept as PostgreSQL had them",
                t.kept_postgres
            ));
        }
        lines.extend(wrapped(&text, w, Style::new()));
    }
    lines.extend(wrapped(
        &format!(
            "Read the SQLite file in {}; applied and verified in {} ({} round trips). \
             PostgreSQL matches the SQLite file as of {}.",
            duration_text(r.scan_ms),
            duration_text(r.window_ms),
            r.round_trips,
            r.to_snapshot
        ),
        w,
        Style::new().fg(Color::DarkGray),
    ));
    lines
}

pub fn on_key(m: &Migration, key: KeyEvent) -> Handled {
    if !watching(m) {
        return Handled::Ignored;
    }
    match key.code {
        KeyCode::Enter => Handled::Send(Msg::SyncNow),
        KeyCode::Char('s') => Handled::Send(Msg::Skip),
        KeyCode::Char('c') => Handled::Send(Msg::Cancel),
        _ => Handled::Ignored,
    }
}

pub fn hints(m: &Migration, out: &mut Vec<Hint>) {
    if watching(m) {
        out.push(hint("Enter", "app stopped: sync"));
        out.push(hint("s", "skip"));
    }
}
