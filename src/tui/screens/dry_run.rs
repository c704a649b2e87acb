//! Dry run on SQLite: what it does before it runs; a spinner while `makemigrations` and
//! `migrate` stream into the log pane; then the summary, the apps whose models drifted, and
//! how the user's data compares with the fresh schema. Scrolls (PgUp/PgDn).

use super::super::ui_state::UiState;
use super::super::widgets::{
    hanging, heading, pending_intro, running_lines, step_failure, wrapped,
};
use super::{scrolled, status_lines};
use crate::data::commands::{CommandOutcome, CommandStatus, DryRunReport, SchemaDiff};
use crate::state::{Migration, Status, Step};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

const STEP: Step = Step::DryRun;

const WHAT: &[&str] = &[
    "Runs makemigrations --check and then migrate from zero on a NEW scratch SQLite file, \
     with your own settings, only DATABASES pointed at that file. Your SQLite file is never opened for \
     writing.",
    "Then it compares the fresh schema with your data's schema and lists the tables and \
     columns whose rows would not fit.",
];

pub fn render(frame: &mut Frame, area: Rect, m: &Migration, ui: &UiState) {
    let w = area.width;
    let mut lines = Vec::new();
    match m.status(STEP) {
        Status::Pending => lines.extend(pending_intro(m, STEP, WHAT, w)),
        Status::Running { detail, .. } => {
            lines.extend(running_lines(detail, ui.tick, w));
            lines.push(Line::default());
            lines.extend(wrapped(
                "On a scratch SQLite file; your own file is only read. The commands' output \
                 streams below.",
                w,
                Style::new().fg(Color::DarkGray),
            ));
        }
        Status::Done { summary } => {
            lines.extend(wrapped(
                &format!("✓ {summary}"),
                w,
                Style::new().fg(Color::Green),
            ));
            if let Some(r) = &m.dry_run.report {
                lines.extend(report_lines(r, w));
            }
        }
        Status::Failed { .. } | Status::Stopped { .. } => {
            lines.extend(step_failure(m, STEP, w));
            if let Some(r) = &m.dry_run.report {
                lines.push(Line::default());
                lines.extend(commands(r, w));
            }
        }
        _ => lines.extend(status_lines(m, STEP, w, ui.tick)),
    }
    scrolled(frame, area, lines, ui, STEP);
}

fn report_lines(r: &DryRunReport, w: u16) -> Vec<Line<'static>> {
    let yellow = Style::new().fg(Color::Yellow);
    let mut lines = vec![Line::default()];
    if !r.drifted_apps.is_empty() {
        lines.extend(hanging(
            &format!(
                "Models changed without a migration in {}: run makemigrations (or Reset \
                 migrations) so the schema matches your models.",
                r.drifted_apps.join(", ")
            ),
            w,
            2,
            Some(Span::styled("⚠ ", yellow)),
            yellow,
        ));
        lines.push(Line::default());
    }
    match (&r.schema, &r.schema_error) {
        (Some(diff), _) => lines.extend(schema_lines(diff, w)),
        (None, Some(err)) => lines.extend(hanging(
            &format!("Your data could not be compared with the new schema: {err}"),
            w,
            2,
            Some(Span::styled("⚠ ", yellow)),
            yellow,
        )),
        (None, None) => lines.extend(wrapped(
            "No SQLite data to compare the new schema with.",
            w,
            Style::new().fg(Color::DarkGray),
        )),
    }
    lines.push(Line::default());
    lines.extend(commands(r, w));
    lines
}

/// The comparison: each problem, red when copying would lose data, yellow otherwise.
fn schema_lines(diff: &SchemaDiff, w: u16) -> Vec<Line<'static>> {
    let mut lines = vec![heading("Your data against the new schema")];
    // Discover counted django_migrations too; the copy leaves it out, so the comparison
    // does: say so, or 18 here and 19 there look like a lost table.
    let mut counts = format!(
        "{} table(s) compared (django_migrations is not copied: PostgreSQL keeps its own)",
        diff.tables_compared
    );
    if !diff.new_tables.is_empty() {
        counts.push_str(&format!(
            ", {} new table(s) (they start empty)",
            diff.new_tables.len()
        ));
    }
    lines.extend(wrapped(&counts, w, Style::new().fg(Color::DarkGray)));
    if diff.problems.is_empty() {
        lines.extend(wrapped(
            "✓ Every table and column of your data has its place.",
            w,
            Style::new().fg(Color::Green),
        ));
        return lines;
    }
    for p in &diff.problems {
        let (glyph, style) = if p.loses_data() {
            (
                "✗ ",
                Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
            )
        } else {
            ("⚠ ", Style::new().fg(Color::Yellow))
        };
        lines.extend(hanging(
            &p.describe(),
            w,
            2,
            Some(Span::styled(glyph, style)),
            style,
        ));
    }
    let blocking = diff.blocking().count();
    if blocking > 0 {
        lines.push(Line::default());
        lines.extend(wrapped(
            &format!(
                "{blocking} of them would lose data: add the field or table back to your \
                 models (then makemigrations), or accept the loss knowingly. Copy rows checks \
                 every value again before writing."
            ),
            w,
            Style::new().fg(Color::Red),
        ));
    }
    lines
}

/// How each command ended, with its time.
fn commands(r: &DryRunReport, w: u16) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    // `makemigrations --check` exits 1 when models drifted: a warning, said above.
    let drift = !r.drifted_apps.is_empty() && !r.makemigrations.succeeded();
    lines.extend(command_line(&r.makemigrations, drift, w));
    if let Some(c) = &r.migrate {
        lines.extend(command_line(c, false, w));
    }
    if r.migrate.is_none() && !r.cancelled() {
        lines.extend(wrapped(
            "migrate did not run: the project did not load.",
            w,
            Style::new().fg(Color::DarkGray),
        ));
    }
    lines
}

/// `✓ python manage.py migrate (3.2 s)`; a failure with its exit code; `drift`: the exit
/// status of `makemigrations --check` that only means "models changed".
pub fn command_line(c: &CommandOutcome, drift: bool, w: u16) -> Vec<Line<'static>> {
    let secs = c.duration_ms as f64 / 1000.0;
    let (glyph, color, how) = match &c.status {
        CommandStatus::Failed { .. } if drift => {
            ("⚠ ", Color::Yellow, ", models changed".to_string())
        }
        CommandStatus::Succeeded => ("✓ ", Color::Green, String::new()),
        CommandStatus::Failed {
            exit_code: Some(code),
        } => ("✗ ", Color::Red, format!(", exit {code}")),
        CommandStatus::Failed { exit_code: None } => ("✗ ", Color::Red, ", killed".into()),
        CommandStatus::Cancelled => ("↷ ", Color::Blue, ", cancelled".into()),
    };
    hanging(
        &format!("{} ({secs:.1} s{how})", c.display),
        w,
        2,
        Some(Span::styled(glyph, Style::new().fg(color))),
        Style::new().fg(Color::Gray),
    )
}
