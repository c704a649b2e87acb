//! The whole screen as a pure function of the run and the shell's state: title bar,
//! sidebar of steps, the step's screen, status and hint bars, and any overlay on top.

use super::keys;
use super::overlays;
use super::screens;
use super::ui_state::{Overlay, UiState};
use super::widgets::{self, truncate};
use crate::state::{Migration, Step};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

/// The smallest terminal the layout is designed for.
pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;
const SIDEBAR_WIDTH: u16 = 24;

/// Whether a terminal of this size gets only the "Enlarge it" screen.
pub fn is_too_small(width: u16, height: u16) -> bool {
    width < MIN_WIDTH || height < MIN_HEIGHT
}

/// Draw everything. Pure: the same run and shell state always give the same screen.
pub fn draw(frame: &mut Frame, m: &Migration, ui: &UiState) {
    let area = frame.area();
    ui.too_small.set(is_too_small(area.width, area.height));
    if ui.too_small.get() {
        overlays::too_small(frame, area);
        return;
    }
    // The status message wraps (up to 3 lines) rather than being cut at 80 columns.
    let status_lines: Vec<String> = ui
        .status
        .as_ref()
        .map(|msg| {
            let mut lines = widgets::wrap(
                &format!("⚠ {msg}"),
                usize::from(area.width).saturating_sub(2),
            );
            if lines.len() > 3 {
                lines.truncate(3);
                if let Some(last) = lines.last_mut() {
                    *last = truncate(
                        &format!("{last} …"),
                        usize::from(area.width).saturating_sub(2),
                    );
                }
            }
            lines
        })
        .unwrap_or_default();
    let status_h = status_lines.len() as u16;
    let [title, body, status, hints] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(status_h),
        Constraint::Length(1),
    ])
    .areas(area);
    title_bar(frame, title, m);
    let [side, main] =
        Layout::horizontal([Constraint::Length(SIDEBAR_WIDTH), Constraint::Min(1)]).areas(body);
    sidebar(frame, side, m, ui);
    step_frame(frame, main, m, ui);
    if !status_lines.is_empty() {
        let lines: Vec<Line> = status_lines
            .into_iter()
            .map(|l| Line::styled(format!(" {l}"), Style::new().fg(Color::Yellow)))
            .collect();
        frame.render_widget(Paragraph::new(lines), status);
    }
    hint_bar(frame, hints, m, ui);
    if let Some(offer) = &m.resume_offer {
        overlays::resume(frame, area, offer);
    }
    match ui.overlay {
        Overlay::Help => overlays::help(frame, body, ui),
        Overlay::ConfirmQuit => overlays::confirm_quit(frame, area, ui.disposable),
        Overlay::None => {}
    }
    if ui.password.is_open() {
        ui.password.render(frame, area);
    }
}

fn title_bar(frame: &mut Frame, area: Rect, m: &Migration) {
    let name = " dj2pg ";
    let rest = area.width as usize - name.len();
    let project = truncate(
        &format!(" SQLite → PostgreSQL · {}", m.options.project.display()),
        rest,
    );
    let line = Line::from(vec![
        Span::styled(
            name,
            Style::new()
                .fg(Color::Black)
                .bg(Color::Cyan)
                .add_modifier(Modifier::BOLD),
        ),
        Span::raw(project),
    ]);
    frame.render_widget(
        Paragraph::new(line).style(Style::new().bg(Color::DarkGray)),
        area,
    );
}

fn sidebar(frame: &mut Frame, area: Rect, m: &Migration, ui: &UiState) {
    let block = Block::bordered()
        .title(" Steps ")
        .border_style(Style::new().fg(Color::DarkGray));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let mut lines: Vec<Line> = Step::ALL
        .iter()
        .map(|&step| {
            let status = m.status(step);
            let (glyph, color) = widgets::status_glyph(status, ui.tick);
            let here = step == m.cursor;
            let marker = if here { "▸" } else { " " };
            let title_style = if here {
                Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED)
            } else {
                Style::new()
            };
            Line::from(vec![
                Span::raw(marker),
                Span::styled(format!("{glyph} "), Style::new().fg(color)),
                Span::styled(
                    format!("{:<w$}", step.title(), w = inner.width as usize - 3),
                    title_style,
                ),
            ])
        })
        .collect();
    let legend = [
        "· pending ✓ done",
        "↷ skipped ✗ failed",
        "? decide ■ stopped",
    ];
    if inner.height as usize >= lines.len() + 1 + legend.len() {
        let pad = inner.height as usize - lines.len() - legend.len();
        lines.extend(std::iter::repeat_n(Line::default(), pad));
        lines.extend(
            legend
                .iter()
                .map(|l| Line::from(widgets::dim(format!(" {l}")))),
        );
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn step_frame(frame: &mut Frame, area: Rect, m: &Migration, ui: &UiState) {
    let step = m.cursor;
    let status = m.status(step);
    let (glyph, color) = widgets::status_glyph(status, ui.tick);
    let block = Block::bordered()
        .title(Line::from(vec![
            Span::raw(format!(" {}/{} ", step.index() + 1, Step::ALL.len())),
            Span::styled(step.title(), Style::new().add_modifier(Modifier::BOLD)),
            Span::raw(" "),
        ]))
        .title(
            Line::from(Span::styled(
                format!(" {glyph} {} ", status.label()),
                Style::new().fg(color),
            ))
            .right_aligned(),
        )
        .border_style(Style::new().fg(Color::DarkGray));
    let inner = block.inner(area).inner(ratatui::layout::Margin::new(1, 0));
    frame.render_widget(block, area);
    screens::render(frame, inner, m, ui);
}

fn hint_bar(frame: &mut Frame, area: Rect, m: &Migration, ui: &UiState) {
    let mut spans = vec![Span::raw(" ")];
    let hints = keys::fit_hints(keys::hints(m, ui), usize::from(area.width));
    for (i, h) in hints.into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw("  "));
        }
        spans.push(widgets::key(h.key));
        spans.push(Span::raw(format!(" {}", h.label)));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
