//! The log pane: the newest lines of a step's output, under the step's screen.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph};

/// How many rows the pane wants for `log` (0 when there is nothing to show).
pub fn height(log: &[String], max: u16) -> u16 {
    if log.is_empty() {
        0
    } else {
        (log.len() as u16 + 1).min(max)
    }
}

/// Draw the last lines of `log` that fit, under a "Log" rule.
pub fn render(frame: &mut Frame, area: Rect, log: &[String]) {
    let block = Block::new()
        .borders(Borders::TOP)
        .title(" Log ")
        .border_style(Style::new().fg(Color::DarkGray));
    let inner = block.inner(area);
    let rows = inner.height as usize;
    let width = inner.width as usize;
    let lines: Vec<Line> = log[log.len().saturating_sub(rows)..]
        .iter()
        .map(|l| Line::styled(super::truncate(l, width), Style::new().fg(Color::Gray)))
        .collect();
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
