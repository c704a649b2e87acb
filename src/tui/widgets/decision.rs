//! A step's question and its choices, each with the key that picks it.

use super::{key, wrapped};
use crate::state::Choice;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

/// The question in yellow, then one line per choice: `[a] label`.
pub fn lines(question: &str, choices: &[Choice], width: u16) -> Vec<Line<'static>> {
    let mut out = wrapped(
        question,
        width,
        Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
    );
    for c in choices {
        let label_width = width.saturating_sub(6) as usize;
        out.push(Line::from(vec![
            Span::raw("  ["),
            key(c.key.to_string()),
            Span::raw("] "),
            Span::raw(super::truncate(&c.label, label_width)),
        ]));
    }
    out
}
