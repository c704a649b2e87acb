//! Create schema: who runs Django's `migrate` on PostgreSQL (the role that will own the
//! tables) before it runs; a spinner while it streams into the log pane; the driver question
//! with its install command; a failure that says where to go; then the summary and any
//! connection-pool warnings.

use super::super::ui_state::UiState;
use super::super::widgets::{
    decision, hanging, pending_intro, running_lines, step_failure, wrapped,
};
use super::dry_run::command_line;
use super::{scrolled, status_lines};
use crate::data::commands::{CreateSchemaReport, DriverCheck};
use crate::data::embeddings::EmbeddingsChoice;
use crate::state::{Migration, Role, Status, Step};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};

const STEP: Step = Step::CreateSchema;

/// Who runs migrate, in words: `sentiment (the app role)`.
fn owner(m: &Migration) -> String {
    match m.table_owner() {
        Some((c, Role::App)) => format!("{} (the app role, which will own the tables)", c.user),
        Some((c, Role::Admin)) => format!(
            "{} (the admin: recipe C makes it the tables' owner)",
            c.user
        ),
        None => "the app role of Connect".into(),
    }
}

pub fn render(frame: &mut Frame, area: Rect, m: &Migration, ui: &UiState) {
    let w = area.width;
    let mut lines = Vec::new();
    match m.status(STEP) {
        Status::Pending => {
            let mut what = vec![format!(
                "As {}, runs Django's migrate on PostgreSQL: your settings as they are, with \
                 only the database pointed at PostgreSQL (a generated settings overlay; \
                 settings.py is not changed here). The password goes only into that \
                 command's environment: it is never written to a file.",
                owner(m)
            )];
            if let Some((c, _)) = m.table_owner() {
                what.push(format!(
                    "Server: {} port {}, database {}.",
                    c.host, c.port, c.dbname
                ));
            }
            if let Some(path) = m.search_path() {
                what.push(format!("The tables go into schema {path} (search_path)."));
            }
            what.push(
                "First it checks that the project's Python can import psycopg or psycopg2.".into(),
            );
            let what: Vec<&str> = what.iter().map(String::as_str).collect();
            lines.extend(pending_intro(m, STEP, &what, w));
        }
        Status::Running { detail, .. } => {
            lines.extend(running_lines(detail, ui.tick, w));
            lines.push(Line::default());
            lines.extend(wrapped(
                &format!("As {}. Django's output streams below.", owner(m)),
                w,
                Style::new().fg(Color::DarkGray),
            ));
        }
        Status::NeedsDecision {
            question, choices, ..
        } => {
            lines.extend(decision::lines(question, choices, w));
            if let Some(r) = &m.schema.report {
                lines.push(Line::default());
                lines.extend(driver_lines(&r.driver, w));
            }
        }
        Status::Failed { .. } | Status::Stopped { .. } => {
            lines.extend(step_failure(m, STEP, w));
            if let Some(r) = &m.schema.report {
                lines.extend(report_lines(r, w));
            }
        }
        Status::Done { summary } => {
            lines.extend(wrapped(
                &format!("✓ {summary}"),
                w,
                Style::new().fg(Color::Green),
            ));
            if let Some(r) = &m.schema.report {
                if let Some((name, version)) = &r.driver.driver {
                    lines.extend(wrapped(
                        &format!("Driver: {name} {version}"),
                        w,
                        Style::new().fg(Color::DarkGray),
                    ));
                }
                lines.extend(report_lines(r, w));
            }
            lines.extend(pgvector_lines(m, w));
        }
        _ => lines.extend(status_lines(m, STEP, w, ui.tick)),
    }
    scrolled(frame, area, lines, ui, STEP);
}

/// Why a driver does not import, and what pip would install into.
fn driver_lines(d: &DriverCheck, w: u16) -> Vec<Line<'static>> {
    // The install command is in the question already.
    let mut lines = Vec::new();
    if let Some(err) = &d.import_error {
        lines.extend(wrapped(
            &format!("A driver is installed but does not import: {err}"),
            w,
            Style::new().fg(Color::Yellow),
        ));
    }
    let into = if d.in_virtualenv {
        "It installs into the project's virtualenv only."
    } else {
        "⚠ This Python is not in a virtualenv: pip installs for that whole interpreter."
    };
    lines.extend(wrapped(into, w, Style::new().fg(Color::DarkGray)));
    lines
}

/// How migrate ended, and the warnings that did not stop it.
fn report_lines(r: &CreateSchemaReport, w: u16) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    if let Some(c) = &r.migrate {
        lines.push(Line::default());
        lines.extend(command_line(c, false, w));
    }
    if !r.warnings.is_empty() {
        lines.push(Line::default());
        lines.extend(warnings(r, w, Style::new().fg(Color::Yellow)));
    }
    lines
}

fn warnings(r: &CreateSchemaReport, w: u16, style: Style) -> Vec<Line<'static>> {
    r.warnings
        .iter()
        .flat_map(|warning| hanging(warning, w, 2, Some(Span::styled("⚠ ", style)), style))
        .collect()
}

/// The embeddings that became pgvector columns before migrate ran, and the files written
/// for it (which `dj2pg restore` puts back); nothing when every column was kept.
fn pgvector_lines(m: &Migration, w: u16) -> Vec<Line<'static>> {
    let Some(plan) = m.embeddings.plan.as_ref().filter(|p| p.changes()) else {
        return Vec::new();
    };
    if m.embeddings.choice.is_none() {
        return Vec::new(); // planned, never applied (skipped)
    }
    let mut lines = vec![Line::default()];
    lines.extend(wrapped("pgvector", w, Style::new().fg(Color::Cyan)));
    let green = Style::new().fg(Color::Green);
    for c in plan
        .columns
        .iter()
        .filter(|c| c.ty != EmbeddingsChoice::Keep)
    {
        let text = format!(
            "{} → {}({}), {}",
            c.field,
            c.ty.word(),
            c.dim,
            c.index.word()
        );
        lines.extend(hanging(
            &text,
            w,
            2,
            Some(Span::styled("✓ ", green)),
            Style::new(),
        ));
    }
    if let Some(diff) = &plan.diff {
        let files: Vec<&str> = diff.files.iter().map(|(name, _)| name.as_str()).collect();
        lines.extend(wrapped(
            &format!(
                "Written: {} (dj2pg restore puts the changed files back from the backup and moves the new ones out).",
                files.join(", ")
            ),
            w,
            Style::new().fg(Color::DarkGray),
        ));
    }
    lines
}
