//! Copy rows: the plan before it runs; the preflight's problems and the question they
//! raise; live progress (overall gauge, rate, elapsed, ETA, per table) with pause and
//! cancel; then the verification table.

use super::super::keys::{Hint, copying, hint};
use super::super::ui_state::UiState;
use super::super::widgets::hms;
use super::super::widgets::{
    decision, dim, failure, pending_intro, progress, spinner, thousands, truncate_middle, wrapped,
};
use super::{Handled, status_lines};
use crate::copy::{CopyProgress, CopyReport, PreflightReport, TablePhase};
use crate::state::{Migration, Msg, Question, Status, Step};
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};

const WHAT: &[&str] = &[
    "Reads the SQLite file read-only and checks every value against the target's columns \
     first: nothing is written until every problem is listed and you decide.",
    "Then it COPYs every row table by table, resets the sequences and verifies row counts \
     and checksums per table.",
];

pub fn render(frame: &mut Frame, area: Rect, m: &Migration, ui: &UiState) {
    let w = area.width;
    match m.status(Step::CopyRows) {
        Status::Pending => para(frame, area, pending_intro(m, Step::CopyRows, WHAT, w)),
        // The copy job reports a fraction from its start; the preflight does not.
        Status::Running {
            fraction: Some(_), ..
        } => match &m.copy.progress {
            Some(p) => render_progress(frame, area, p, m.copy.paused),
            None => para(
                frame,
                area,
                vec![Line::from(format!(
                    "{} Starting the copy…",
                    spinner(ui.tick)
                ))],
            ),
        },
        Status::Running { detail, .. } => para(
            frame,
            area,
            wrapped(
                &format!(
                    "{} Preflight: checking every value before writing anything… {detail}",
                    spinner(ui.tick)
                ),
                w,
                Style::new(),
            ),
        ),
        Status::NeedsDecision {
            kind,
            question,
            choices,
        } => {
            let ask = decision::lines(question, choices, w);
            let [top, bottom] =
                Layout::vertical([Constraint::Min(3), Constraint::Length(ask.len() as u16 + 1)])
                    .areas(area);
            if let Some(report) = &m.copy.preflight {
                render_preflight(frame, top, report, ui, *kind);
            }
            para(frame, bottom.inner(ratatui::layout::Margin::new(0, 0)), {
                let mut l = vec![Line::default()];
                l.extend(ask);
                l
            });
        }
        Status::Done { summary } => {
            let mut head = wrapped(&format!("✓ {summary}"), w, Style::new().fg(Color::Green));
            head.push(Line::default());
            render_report(frame, area, head, m.copy.report.as_ref(), ui);
        }
        Status::Failed { .. } | Status::Stopped { .. } => {
            let head = failure(m.status(Step::CopyRows), w);
            render_report(frame, area, head, m.copy.report.as_ref(), ui);
        }
        _ => para(frame, area, status_lines(m, Step::CopyRows, w, ui.tick)),
    }
}

fn para(frame: &mut Frame, area: Rect, lines: Vec<Line<'static>>) {
    frame.render_widget(Paragraph::new(lines), area);
}

fn header(cells: &[&str]) -> Row<'static> {
    Row::new(cells.iter().map(|c| Cell::from(c.to_string())))
        .style(Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED))
}

fn render_progress(frame: &mut Frame, area: Rect, p: &CopyProgress, paused: bool) {
    let [stage, gauge, rate, _, tables] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(1),
    ])
    .areas(area);
    let mut spans = vec![Span::raw(format!(
        "{} · {}/{} tables done",
        p.stage,
        p.tables_finished(),
        p.tables.len()
    ))];
    if paused {
        spans.push(Span::styled(
            "   PAUSED (p resumes)",
            Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), stage);
    let label = format!(
        "{} / {} rows · {:.0}%",
        thousands(p.rows_done()),
        thousands(p.rows_total()),
        p.fraction() * 100.0
    );
    progress::render(frame, gauge, p.fraction(), label, paused);
    let eta = match (paused, p.eta_secs()) {
        (true, _) => "paused".to_string(),
        (false, Some(s)) => hms(s),
        (false, None) => "unknown".to_string(),
    };
    let line = format!(
        "{} rows/s · elapsed {} · ETA {eta}",
        thousands(p.rows_per_sec.round() as u64),
        hms(p.elapsed_ms / 1000)
    );
    frame.render_widget(Paragraph::new(Line::from(dim(line))), rate);
    // The name column gets what the rows (19) and phase (8) columns and their gaps leave.
    let name_width = (tables.width as usize).saturating_sub(19 + 8 + 2).max(8);
    // When the list does not fit, keep the tables being worked on in view: start just above
    // the first unfinished one (finished tables scroll off the top as the copy advances).
    let fits = usize::from(tables.height.saturating_sub(1));
    let total = p.tables.len();
    let skip = if total > fits {
        let first_open = p
            .tables
            .iter()
            .position(|t| !t.phase.finished())
            .unwrap_or(total);
        first_open.saturating_sub(1).min(total - fits)
    } else {
        0
    };
    let below = total.saturating_sub(skip + fits);
    let title = match (skip, below) {
        (0, 0) => "Table".to_string(),
        (above, 0) => format!("Table  ↑{above} done"),
        (0, below) => format!("Table  ↓{below} more"),
        (above, below) => format!("Table  ↑{above} done · ↓{below}"),
    };
    let rows = p.tables.iter().skip(skip).take(fits).map(|t| {
        let style = match t.phase {
            TablePhase::Loading => Style::new().fg(Color::Cyan),
            TablePhase::Verified | TablePhase::Loaded => Style::new().fg(Color::Green),
            TablePhase::Mismatch | TablePhase::Failed => Style::new().fg(Color::Red),
            TablePhase::Waiting => Style::new().fg(Color::Gray),
        };
        Row::new(vec![
            Cell::from(truncate_middle(&t.table, name_width)),
            Cell::from(format!(
                "{} / {}",
                thousands(t.rows_done),
                thousands(t.rows_total)
            )),
            Cell::from(t.phase.label()),
        ])
        .style(style)
    });
    let table = Table::new(
        rows,
        [
            Constraint::Fill(1),
            Constraint::Length(19),
            Constraint::Length(8),
        ],
    )
    .header(header(&[title.as_str(), "Rows", "Phase"]));
    frame.render_widget(table, tables);
}

/// The preflight's findings that the question on screen is about: the values that would
/// fail, the target tables that hold rows, or the derived tables left empty.
fn render_preflight(
    frame: &mut Frame,
    area: Rect,
    report: &PreflightReport,
    ui: &UiState,
    kind: Question,
) {
    ui.scroll_limit.set(0);
    let w = area.width;
    // The table takes what its rows need (at most half), the notes the rest; notes that do
    // not fit are paged (scroll_notes).
    let table_rows = 1 + match kind {
        Question::UnmappedData => report.unmapped.len(),
        Question::DerivedTables => 2 * report.derived.len(),
        Question::BadValues if !report.problems.is_empty() => 2 * report.problems.len(),
        _ => report.nonempty_targets.len(),
    };
    let table_height = u16::try_from(table_rows)
        .unwrap_or(u16::MAX)
        .clamp(2, (area.height / 2).max(2));
    let room = usize::from(area.height.saturating_sub(table_height + 1));
    let note_lines: Vec<Line<'static>> = report
        .notes
        .iter()
        .flat_map(|n| wrapped(&format!("· {n}"), w, Style::new().fg(Color::Gray)))
        .collect();
    let notes_height = note_lines.len().min(room);
    // Only the list of bad values pages, so only it grows into spare room; the other tables
    // keep their height and the notes follow them instead of sinking to the bottom.
    let (table, spare) = if kind == Question::BadValues {
        (Constraint::Min(table_height), Constraint::Length(0))
    } else {
        (Constraint::Length(table_height), Constraint::Fill(1))
    };
    // PgDn pages the bad values first (when they do not all fit), then the notes.
    let mut problem_pages = (0, 1);
    let [table_area, more_area, notes_area, _] = Layout::vertical([
        table,
        Constraint::Length(1),
        Constraint::Length(notes_height as u16),
        spare,
    ])
    .areas(area);
    if kind == Question::UnmappedData {
        let name_width = usize::from(table_area.width.saturating_sub(15)).max(8);
        let rows = report.unmapped.iter().map(|u| {
            let holds = match &u.column {
                Some(_) => format!("{} values", thousands(u.rows)),
                None => format!("{} rows", thousands(u.rows)),
            };
            Row::new(vec![
                Cell::from(truncate_middle(&u.name(), name_width)),
                Cell::from(holds),
            ])
        });
        let table = Table::new(rows, [Constraint::Fill(1), Constraint::Length(14)])
            .header(header(&["No place on PostgreSQL", "Holds"]));
        frame.render_widget(table, table_area);
    } else if kind == Question::DerivedTables {
        let rows = report.derived.iter().map(|d| {
            Row::new(vec![
                Cell::from(vec![
                    Line::from(d.table.clone()),
                    Line::from(dim(d.rebuild_hint())),
                ]),
                Cell::from(thousands(d.source_rows)),
            ])
            .height(2)
        });
        let table = Table::new(rows, [Constraint::Fill(1), Constraint::Length(10)])
            .header(header(&["Derived table, left empty", "Rows"]));
        frame.render_widget(table, table_area);
    } else if kind == Question::BadValues && !report.problems.is_empty() {
        problem_pages = render_bad_values(frame, table_area, more_area, report, ui);
    } else {
        let rows = report
            .nonempty_targets
            .iter()
            .map(|(t, n)| Row::new(vec![Cell::from(t.clone()), Cell::from(thousands(*n))]));
        let table = Table::new(rows, [Constraint::Fill(1), Constraint::Length(14)])
            .header(header(&["Target table already holding rows", "Rows"]));
        frame.render_widget(table, table_area);
    }
    let notes = scroll_notes(note_lines, notes_height, problem_pages, ui);
    para(frame, notes_area, notes);
}

/// The values that would fail, two rows each (what is wrong, then the value's excerpt),
/// paged by the step's scroll. Returns (the last page's offset, the rows on a page).
fn render_bad_values(
    frame: &mut Frame,
    table_area: Rect,
    more_area: Rect,
    report: &PreflightReport,
    ui: &UiState,
) -> (usize, usize) {
    let fits = usize::from(table_area.height.saturating_sub(1) / 2).max(1);
    let total = report.problems.len();
    let max = total.saturating_sub(fits);
    let skip = usize::from(ui.scroll(Step::CopyRows)).min(max);
    let rows = report.problems.iter().skip(skip).take(fits).map(|p| {
        Row::new(vec![
            Cell::from(vec![
                Line::from(p.table.clone()),
                Line::from(dim(format!("pk {}", p.pk))),
            ]),
            Cell::from(p.column.clone()),
            Cell::from(vec![
                Line::from(p.issue.clone()),
                Line::from(dim(p.excerpt.clone())),
            ]),
        ])
        .height(2)
    });
    let table = Table::new(
        rows,
        [
            Constraint::Length(16),
            Constraint::Length(11),
            Constraint::Fill(1),
        ],
    )
    .header(header(&["Table", "Column", "Problem / value"]));
    frame.render_widget(table, table_area);
    if total > fits {
        let note = format!(
            "problems {}-{} of {total}: PgDn / PgUp",
            skip + 1,
            (skip + fits).min(total)
        );
        para(frame, more_area, vec![Line::from(dim(note))]);
    }
    (max, fits)
}

/// The notes in their `room`, paged by the screen's scroll once the bad values' pages
/// (`problems`: the last page's offset, the rows on a page) are behind: every note stays
/// reachable on a short terminal, the last line saying which lines show.
fn scroll_notes(
    lines: Vec<Line<'static>>,
    room: usize,
    problems: (usize, usize),
    ui: &UiState,
) -> Vec<Line<'static>> {
    let (problem_max, problem_page) = problems;
    let total = lines.len();
    if total > room && room < 2 {
        // No room to page through: say so on the one line there may be.
        ui.scroll_limit
            .set(u16::try_from(problem_max).unwrap_or(u16::MAX));
        ui.scroll_page
            .set(u16::try_from(problem_page.max(1)).unwrap_or(1));
        let more = format!("{} note(s) do not fit: a taller terminal shows them", total);
        return (room == 1)
            .then(|| Line::from(dim(more)))
            .into_iter()
            .collect();
    }
    let visible = if total > room { room - 1 } else { room };
    let note_max = total - visible.min(total);
    ui.scroll_limit
        .set(u16::try_from(problem_max + note_max).unwrap_or(u16::MAX));
    // One page size both ways, no larger than a page of problems nor of notes: PgDn and
    // PgUp never jump over a row or a line unseen.
    let note_page = visible.saturating_sub(1).max(1);
    let page = match (problem_max > 0, note_max > 0) {
        (true, true) => problem_page.min(note_page),
        (true, false) => problem_page,
        _ => note_page,
    };
    ui.scroll_page.set(u16::try_from(page.max(1)).unwrap_or(1));
    if total <= room {
        return lines;
    }
    let at = usize::from(ui.scroll(Step::CopyRows)).min(problem_max + note_max);
    let skip = at.saturating_sub(problem_max);
    let mut out: Vec<Line<'static>> = lines.into_iter().skip(skip).take(visible).collect();
    let more = format!(
        "notes: lines {}-{} of {total}: PgDn / PgUp",
        skip + 1,
        skip + visible
    );
    out.push(Line::from(dim(more)));
    out
}

fn render_report(
    frame: &mut Frame,
    area: Rect,
    head: Vec<Line<'static>>,
    report: Option<&CopyReport>,
    ui: &UiState,
) {
    ui.scroll_limit.set(0);
    let [head_area, table_area] =
        Layout::vertical([Constraint::Length(head.len() as u16), Constraint::Min(0)]).areas(area);
    para(frame, head_area, head);
    let Some(report) = report else { return };
    // One line for the header; when the tables do not all fit, one for "more" and PgDn.
    let total = report.checks.len();
    let height = usize::from(table_area.height);
    let fits = if total < height {
        total
    } else {
        height.saturating_sub(2).max(1)
    };
    let max = total - fits;
    ui.scroll_limit.set(u16::try_from(max).unwrap_or(u16::MAX));
    ui.scroll_page.set(u16::try_from(fits).unwrap_or(1));
    let skip = usize::from(ui.scroll(Step::CopyRows)).min(max);
    let [table_area, more_area] = Layout::vertical([
        Constraint::Length(fits as u16 + 1),
        Constraint::Length(u16::from(max > 0)),
    ])
    .areas(table_area);
    if max > 0 {
        let (above, below) = (skip, max - skip);
        let text = format!("↑ {above} above · ↓ {below} more table(s): PgDn / PgUp");
        frame.render_widget(Paragraph::new(Line::from(dim(text))), more_area);
    }
    let rejected = report.checks.iter().any(|c| c.rejected_rows > 0);
    let fixed = if rejected {
        9 * 3 + 8 + 4
    } else {
        9 * 2 + 8 + 3
    };
    let name_width = (table_area.width as usize).saturating_sub(fixed).max(8);
    let rows = report.checks.iter().skip(skip).take(fits).map(|c| {
        let ok = c.verified();
        let mut cells = vec![
            Cell::from(truncate_middle(&c.table, name_width)),
            Cell::from(thousands(c.source_rows)),
            Cell::from(thousands(c.target_rows)),
        ];
        if rejected {
            cells.push(Cell::from(thousands(c.rejected_rows)));
        }
        cells.push(if ok {
            Cell::from(c.verdict()).style(Style::new().fg(Color::Green))
        } else {
            Cell::from("MISMATCH").style(Style::new().fg(Color::Red).add_modifier(Modifier::BOLD))
        });
        Row::new(cells)
    });
    let mut widths = vec![
        Constraint::Fill(1),
        Constraint::Length(9),
        Constraint::Length(9),
    ];
    let mut titles = vec!["Table", "Source", "Target"];
    if rejected {
        widths.push(Constraint::Length(9));
        titles.push("Rejected");
    }
    widths.push(Constraint::Length(8));
    titles.push("Checksum");
    let table = Table::new(rows, widths).header(header(&titles));
    frame.render_widget(table, table_area);
}

pub fn on_key(m: &Migration, key: KeyEvent) -> Handled {
    if !copying(m) {
        return Handled::Ignored;
    }
    match key.code {
        KeyCode::Char('p') => Handled::Send(Msg::TogglePause),
        KeyCode::Char('c') => Handled::Send(Msg::Cancel),
        _ => Handled::Ignored,
    }
}

pub fn hints(m: &Migration, out: &mut Vec<Hint>) {
    if copying(m) {
        out.push(hint("p", if m.copy.paused { "resume" } else { "pause" }));
        out.push(hint("c", "cancel"));
    }
}
