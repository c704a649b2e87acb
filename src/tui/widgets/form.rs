//! Form fields: one row each, `label  value`, with the focused field marked and a field
//! that a failure points at marked in red. Values arrive already masked by the caller, so
//! this module never sees a secret.

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// Width of the label column, marker included.
pub const LABEL_WIDTH: u16 = 12;

/// One field as it is to be drawn.
pub struct FieldView<'a> {
    pub label: &'a str,
    /// What to show (masked for secrets).
    pub value: String,
    /// Cursor position in characters of `value`, for text fields.
    pub cursor: Option<usize>,
    pub focused: bool,
    /// A failure points at this field.
    pub flagged: bool,
    /// Dim text shown when the value is empty.
    pub placeholder: &'a str,
}

/// Draw `field` on the first row of `area`; when focused (and `show_cursor`), place the
/// terminal cursor in it.
pub fn render_field(frame: &mut Frame, area: Rect, field: &FieldView, show_cursor: bool) {
    let marker = if field.flagged {
        "✗ "
    } else if field.focused {
        "▸ "
    } else {
        "  "
    };
    let label_style = if field.flagged {
        Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
    } else if field.focused {
        Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)
    } else {
        Style::new().fg(Color::Gray)
    };
    let width = area.width.saturating_sub(LABEL_WIDTH) as usize;
    let chars: Vec<char> = field.value.chars().collect();
    let cursor = field.cursor.unwrap_or(chars.len()).min(chars.len());
    // Scroll so the cursor stays visible when focused; otherwise show the start.
    let start = if field.focused && cursor >= width {
        cursor + 1 - width
    } else {
        0
    };
    let mut shown: String = chars.iter().skip(start).take(width).collect();
    if !field.focused && chars.len() > width && width > 0 {
        shown = super::truncate(&field.value, width);
    }
    let value_style = if field.focused {
        Style::new().add_modifier(Modifier::UNDERLINED)
    } else {
        Style::new()
    };
    let value = if field.value.is_empty() {
        Span::styled(
            field.placeholder.to_string(),
            Style::new().fg(Color::DarkGray),
        )
    } else {
        Span::styled(shown, value_style)
    };
    let line = Line::from(vec![
        Span::styled(
            format!("{marker}{:<w$}", field.label, w = LABEL_WIDTH as usize - 2),
            label_style,
        ),
        value,
    ]);
    let row = Rect { height: 1, ..area };
    frame.render_widget(Paragraph::new(line), row);
    if field.focused && show_cursor && field.cursor.is_some() {
        let x = area.x + LABEL_WIDTH + (cursor - start) as u16;
        frame.set_cursor_position(Position::new(x.min(area.right().saturating_sub(1)), area.y));
    }
}
