//! A step's question and its choices, each with the key that picks it.

use super::{key, wrap, wrapped};
use crate::state::Choice;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

/// The question in yellow, then one line per choice: `[a] label`, a long label wrapped
/// under itself (never cut: "(recommended)" and "(default)" sit at the end).
pub fn lines(question: &str, choices: &[Choice], width: u16) -> Vec<Line<'static>> {
    let mut out = wrapped(
        question,
        width,
        Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
    );
    const INDENT: usize = 6;
    let label_width = (width as usize).saturating_sub(INDENT).max(8);
    for c in choices {
        for (i, part) in wrap(&c.label, label_width).into_iter().enumerate() {
            out.push(if i == 0 {
                Line::from(vec![
                    Span::raw("  ["),
                    key(c.key.to_string()),
                    Span::raw("] "),
                    Span::raw(part),
                ])
            } else {
                Line::from(format!("{:INDENT$}{part}", ""))
            });
        }
    }
    out
}
