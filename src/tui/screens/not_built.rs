//! The honest screen of a step this version does not implement yet.

use super::super::ui_state::UiState;
use super::super::widgets::{key, wrapped};
use crate::state::Migration;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub fn render(frame: &mut Frame, area: Rect, m: &Migration, _ui: &UiState) {
    let step = m.cursor;
    let w = area.width;
    let mut lines = wrapped(
        "This step is not built yet in this version of dj2pg.",
        w,
        Style::new().fg(Color::Yellow),
    );
    lines.push(Line::default());
    lines.extend(wrapped(
        &format!("What it will do: {}", step.purpose()),
        w,
        Style::new(),
    ));
    lines.push(Line::default());
    if step.next().is_some() {
        lines.push(Line::from(vec![
            Span::raw("You can move on: "),
            key("Enter"),
            Span::raw("."),
        ]));
    }
    frame.render_widget(Paragraph::new(lines), area);
}
