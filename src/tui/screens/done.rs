//! Done: the end of the run, step by step, and what is left to do by hand.

use super::super::ui_state::UiState;
use super::super::widgets::{heading, pending_intro, status_glyph, truncate, wrapped};
use super::{scrolled, status_lines};
use crate::state::{Migration, Status, Step};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};

const WHAT: &[&str] = &["Sums up the run: every step, what it did, and what is left to do."];

pub fn render(frame: &mut Frame, area: Rect, m: &Migration, ui: &UiState) {
    let w = area.width;
    let lines = match m.status(Step::Done) {
        Status::Pending => pending_intro(m, Step::Done, WHAT, w),
        Status::Done { summary } => {
            let mut lines = wrapped(&format!("✓ {summary}"), w, Style::new().fg(Color::Green));
            lines.push(Line::default());
            lines.push(heading("Steps"));
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
            lines.push(Line::default());
            lines.extend(wrapped(
                "Steps marked — are not built yet in this version: do them by hand (see \
                 the README) before switching production to PostgreSQL.",
                w,
                Style::new().fg(Color::Yellow),
            ));
            lines
        }
        _ => status_lines(m, Step::Done, w, ui.tick),
    };
    scrolled(frame, area, lines, ui, Step::Done);
}
