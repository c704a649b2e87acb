//! The progress gauge: a bar with a centered label.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::widgets::Gauge;

/// A one-line gauge at `ratio` (clamped to 0..=1) labelled `label`.
pub fn render(frame: &mut Frame, area: Rect, ratio: f64, label: String, paused: bool) {
    let color = if paused { Color::Yellow } else { Color::Green };
    let gauge = Gauge::default()
        .gauge_style(Style::new().fg(color).bg(Color::Black))
        .ratio(ratio.clamp(0.0, 1.0))
        .label(label)
        .use_unicode(true);
    frame.render_widget(gauge, area);
}
