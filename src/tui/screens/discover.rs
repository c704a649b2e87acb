//! Discover: what it will look for, a spinner while it looks, then the project summary
//! (paths, Python, Django, SQLite file, apps, warnings, tables). Scrolls with PgUp/PgDn.

use super::super::ui_state::UiState;
use super::super::widgets::{
    dim, failure, field_line, heading, human_bytes, pending_intro, spinner, thousands, truncate,
    wrapped,
};
use super::{scrolled, status_lines};
use crate::django::{Discovery, Method};
use crate::state::{Migration, Status, Step};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use std::path::Path;

const LABEL: usize = 11;

const WHAT: &[&str] = &[
    "Discover looks at your project without changing anything: it finds manage.py, \
     the project's Python ($VIRTUAL_ENV, .venv, venv), asks Django for its settings, \
     apps and models, and counts the tables and rows of the SQLite file.",
    "If Django cannot run, a static scan of the files stands in, and the summary says so.",
];

pub fn render(frame: &mut Frame, area: Rect, m: &Migration, ui: &UiState) {
    let w = area.width;
    let lines = match m.status(Step::Discover) {
        Status::Pending => pending_intro(m, Step::Discover, WHAT, w),
        Status::Running { detail, .. } => {
            let mut lines = wrapped(
                &format!("{} Discovering the project… {detail}", spinner(ui.tick)),
                w,
                Style::new(),
            );
            lines.push(Line::default());
            lines.extend(wrapped(
                "Finding manage.py and the project's Python, then asking Django.",
                w,
                Style::new().fg(Color::DarkGray),
            ));
            lines
        }
        Status::Done { summary } => match &m.discovery {
            Some(d) => summary_lines(d, w),
            None => wrapped(summary, w, Style::new()),
        },
        Status::Failed { .. } | Status::Stopped { .. } => failure(m.status(Step::Discover), w),
        _ => status_lines(m, Step::Discover, w, ui.tick),
    };
    scrolled(frame, area, lines, ui, Step::Discover);
}

/// `path` relative to the project when inside it.
fn rel(d: &Discovery, path: &Path) -> String {
    path.strip_prefix(&d.project_dir)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| path.display().to_string())
}

fn text(s: impl Into<String>, width: usize) -> Vec<Span<'static>> {
    vec![Span::raw(truncate(&s.into(), width))]
}

fn summary_lines(d: &Discovery, w: u16) -> Vec<Line<'static>> {
    let vw = (w as usize).saturating_sub(LABEL);
    let yellow = Style::new().fg(Color::Yellow);
    let mut lines = vec![
        field_line(
            "Project",
            LABEL,
            text(d.project_dir.display().to_string(), vw),
        ),
        field_line("manage.py", LABEL, text(rel(d, &d.manage_py), vw)),
    ];
    let python = match &d.python {
        Some(p) => {
            // A long interpreter path keeps its informative end.
            let from = format!(" (from {})", d.python_source);
            let room = vw.saturating_sub(from.chars().count());
            format!("{}{from}", truncate_left(&rel(d, p), room))
        }
        None => "none found".into(),
    };
    lines.push(field_line("Python", LABEL, text(python, vw)));
    let method = match &d.method {
        Method::Introspected => vec![Span::raw("introspected: Django itself answered")],
        Method::StaticScan { reason } => vec![Span::styled(
            truncate(&format!("static scan ({reason})"), vw),
            yellow,
        )],
    };
    lines.push(field_line("Method", LABEL, method));
    let django = format!(
        "{} · settings {}",
        d.django_version.as_deref().unwrap_or("version unknown"),
        d.settings_module.as_deref().unwrap_or("unknown")
    );
    lines.push(field_line("Django", LABEL, text(django, vw)));
    let yes_no = |b: Option<bool>| b.map_or("?", |b| if b { "True" } else { "False" });
    let tz = format!(
        "USE_TZ={} · TIME_ZONE={}",
        yes_no(d.use_tz),
        d.time_zone.as_deref().unwrap_or("?")
    );
    lines.push(field_line("Time", LABEL, text(tz, vw)));
    let driver = match &d.postgres_driver {
        Some(drv) => vec![Span::raw(drv.clone())],
        None => vec![Span::styled("none yet (pip install psycopg)", yellow)],
    };
    lines.push(field_line("PG driver", LABEL, driver));
    match &d.sqlite {
        Some(s) => {
            lines.push(field_line("SQLite", LABEL, text(rel(d, &s.path), vw)));
            let size = format!(
                "{} · {} tables · {} rows",
                human_bytes(s.size_bytes),
                s.tables.len(),
                thousands(s.total_rows())
            );
            lines.push(field_line("", LABEL, text(size, vw)));
            // On a line of its own: "(2 of …" cut at 80 columns told nothing.
            let tables = s.tables.iter().map(|(t, n)| (t.as_str(), *n));
            if let Some(books) = crate::data::tables::bookkeeping_phrase(tables) {
                lines.push(field_line("", LABEL, text(format!("({books})"), vw)));
            }
        }
        None => lines.push(field_line(
            "SQLite",
            LABEL,
            vec![Span::styled("no SQLite file found", yellow)],
        )),
    }
    lines.push(Line::default());
    apps(d, w, &mut lines);
    if !d.warnings.is_empty() {
        lines.push(Line::default());
        lines.push(heading("Warnings"));
        for warning in &d.warnings {
            lines.extend(wrapped(&format!("⚠ {warning}"), w, yellow));
        }
    }
    if let Some(s) = &d.sqlite {
        lines.push(Line::default());
        lines.push(heading(&format!("SQLite tables ({})", s.tables.len())));
        let name_w = (w as usize).saturating_sub(14).max(10);
        for (table, rows) in &s.tables {
            lines.push(Line::from(format!(
                "  {:<name_w$}{:>12}",
                truncate(table, name_w),
                thousands(*rows)
            )));
        }
    }
    lines
}

fn apps(d: &Discovery, w: u16, lines: &mut Vec<Line<'static>>) {
    let local: Vec<_> = d.local_apps().collect();
    lines.push(heading(&format!(
        "Local apps ({}), {} migration file(s)",
        local.len(),
        d.migration_file_count()
    )));
    for app in &local {
        let n = app.migration_files.len();
        let mut spans = vec![Span::raw(format!(
            "  {:<14}{n:>3} migration{}",
            truncate(&app.label, 13),
            if n == 1 { " " } else { "s" }
        ))];
        if !app.data_migrations.is_empty() {
            // Named in full under Warnings; here, how many.
            spans.push(Span::styled(
                {
                    let n = app.data_migrations.len();
                    format!("  ⚠ {n} data migration{}", if n == 1 { "" } else { "s" })
                },
                Style::new().fg(Color::Yellow),
            ));
        }
        let line = Line::from(spans);
        lines.push(truncate_line(line, w));
    }
    let third: Vec<_> = d.third_party_apps().map(|a| a.label.as_str()).collect();
    let names = format!("Third-party apps ({}): {}", third.len(), third.join(", "));
    lines.extend(wrapped(&names, w, Style::new().fg(Color::Gray)));
    lines.push(Line::from(dim(
        "  (outside the project: never touched)".to_string()
    )));
}

/// Cut `s` to `width` characters from the left: `…/bin/python`.
fn truncate_left(s: &str, width: usize) -> String {
    let n = s.chars().count();
    if n <= width {
        return s.to_string();
    }
    let keep = width.saturating_sub(1);
    let tail: String = s.chars().skip(n - keep).collect();
    format!("…{tail}")
}

/// Cut a styled line to `w` columns.
fn truncate_line(line: Line<'static>, w: u16) -> Line<'static> {
    let mut left = w as usize;
    let spans = line
        .spans
        .into_iter()
        .filter_map(|s| {
            if left == 0 {
                return None;
            }
            let len = s.content.chars().count();
            if len <= left {
                left -= len;
                Some(s)
            } else {
                let cut = truncate(&s.content, left);
                left = 0;
                Some(Span::styled(cut, s.style))
            }
        })
        .collect::<Vec<_>>();
    Line::from(spans)
}
