//! The embeddings screens: the choice per column at the end of Dry run (or at Create schema
//! for a run saved before; type and index, moved with ↑/↓, chosen with letter keys; a choice
//! the dimension limits forbid is refused with the reason, shown here), then at Create
//! schema the change as a diff (the settings diff view, scrolled with
//! PgUp/PgDn) with apply / go back. Nothing is written before apply.
//!
//! Invariant: the column cursor lives in `UiState`; it indexes the plan's columns and is
//! clamped wherever it is used.

use super::super::keys::{Hint, hint};
use super::super::ui_state::UiState;
use super::super::widgets::{decision, dim, hanging, heading, truncate, wrapped};
use super::update_settings::diff_lines;
use super::{Handled, scrolled};
use crate::data::embeddings::{
    EmbeddingColumn, EmbeddingsChoice, EmbeddingsPlan, INDEX_MAX_DIM_HALFVEC, INDEX_MAX_DIM_VECTOR,
    IndexChoice, MAX_DIM,
};
use crate::state::{Migration, Msg, Question, Status, Step};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

/// The question on screen when it is one of the embeddings screens (and the plan exists).
fn asking(m: &Migration) -> Option<(Question, &EmbeddingsPlan)> {
    if !matches!(m.cursor, Step::DryRun | Step::CreateSchema) {
        return None;
    }
    match m.status(m.cursor) {
        Status::NeedsDecision { kind, .. }
            if matches!(kind, Question::Embeddings | Question::EmbeddingsDiff) =>
        {
            m.embeddings.plan.as_ref().map(|p| (*kind, p))
        }
        _ => None,
    }
}

/// This screen draws Create schema now.
pub fn shown(m: &Migration) -> bool {
    asking(m).is_some()
}

fn cursor(ui: &UiState, len: usize) -> usize {
    ui.embeddings_cursor.min(len.saturating_sub(1))
}

pub fn on_key(m: &Migration, ui: &mut UiState, key: KeyEvent) -> Handled {
    let Some((Question::Embeddings, plan)) = asking(m) else {
        return Handled::Ignored;
    };
    if m.job.is_some()
        || plan.columns.is_empty()
        || key
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
    {
        return Handled::Ignored;
    }
    let here = cursor(ui, plan.columns.len());
    let column = here;
    let ty = |ty| Handled::Send(Msg::EmbeddingType { column, ty });
    let index = |index| Handled::Send(Msg::EmbeddingIndex { column, index });
    match key.code {
        KeyCode::Up => ui.embeddings_cursor = here.saturating_sub(1),
        KeyCode::Down => ui.embeddings_cursor = (here + 1).min(plan.columns.len() - 1),
        KeyCode::Char('k') => return ty(EmbeddingsChoice::Keep),
        KeyCode::Char('v') => return ty(EmbeddingsChoice::Vector),
        KeyCode::Char('h') => return ty(EmbeddingsChoice::HalfVec),
        KeyCode::Char('c') => return index(IndexChoice::HnswCosine),
        KeyCode::Char('l') => return index(IndexChoice::HnswL2),
        KeyCode::Char('p') => return index(IndexChoice::HnswIp),
        KeyCode::Char('n') => return index(IndexChoice::None),
        _ => return Handled::Ignored,
    }
    Handled::Consumed
}

pub fn hints(m: &Migration, out: &mut Vec<Hint>) {
    if let Some((Question::Embeddings, _)) = asking(m) {
        out.push(hint("↑↓", "column"));
        out.push(hint("k/v/h", "type"));
        out.push(hint("c/l/p/n", "index"));
    }
}

pub fn render(frame: &mut Frame, area: Rect, m: &Migration, ui: &UiState) {
    let w = area.width;
    let Some((kind, plan)) = asking(m) else {
        return;
    };
    let Status::NeedsDecision {
        question, choices, ..
    } = m.status(m.cursor)
    else {
        return;
    };
    let lines = match kind {
        Question::EmbeddingsDiff => {
            let mut lines = decision::lines(question, choices, w);
            lines.extend(diff_view(plan, w));
            lines
        }
        _ => {
            let mut lines = column_lines(plan, cursor(ui, plan.columns.len()), w);
            lines.push(Line::default());
            lines.extend(decision::lines(question, choices, w));
            lines
        }
    };
    scrolled(frame, area, lines, ui, m.cursor);
}

/// Two lines per column (what it holds; what it becomes), the refusal, the limits.
fn column_lines(plan: &EmbeddingsPlan, at: usize, w: u16) -> Vec<Line<'static>> {
    let mut lines = vec![heading("Embeddings found in the SQLite file")];
    for (i, c) in plan.columns.iter().enumerate() {
        let here = i == at;
        let style = if here {
            Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED)
        } else {
            Style::new().add_modifier(Modifier::BOLD)
        };
        let room = (w as usize).saturating_sub(2).max(8);
        lines.push(Line::from(vec![
            Span::raw(if here { "▸ " } else { "  " }),
            Span::styled(truncate(&c.field, room), style),
        ]));
        lines.push(Line::from(dim(format!(
            "    {} dims · {} rows · {} NULL",
            c.dim, c.rows, c.nulls
        ))));
        lines.extend(choice_lines(c, w));
    }
    if let Some(why) = &plan.refusal {
        lines.push(Line::default());
        lines.extend(hanging(
            why,
            w,
            2,
            Some(Span::styled("✗ ", Style::new().fg(Color::Red))),
            Style::new().fg(Color::Red),
        ));
    }
    lines.extend(wrapped(
        &format!(
            "Keys: k keep, v vector (float4), h halfvec (half the space); index c HNSW \
             cosine, l L2, p inner product, n none. Limits: vector and halfvec hold up to \
             {} dimensions; an HNSW index up to {} on vector, {} on halfvec.",
            thousands(MAX_DIM),
            thousands(INDEX_MAX_DIM_VECTOR),
            thousands(INDEX_MAX_DIM_HALFVEC)
        ),
        w,
        Style::new().fg(Color::DarkGray),
    ));
    lines
}

/// `    → vector(384), HNSW cosine · exact` (or kept, with what each type would keep).
fn choice_lines(c: &EmbeddingColumn, w: u16) -> Vec<Line<'static>> {
    let half = if c.half_overflow > 0 {
        "out of range".to_string()
    } else {
        c.precision_half.clone()
    };
    let (what, precision) = match c.ty {
        EmbeddingsChoice::Keep => (
            match &c.keep_only {
                Some(why) => format!("keep (only: {why})"),
                None => "keep".to_string(),
            },
            format!(
                "precision as vector: {}; as halfvec: {half}",
                c.precision_vector
            ),
        ),
        EmbeddingsChoice::Vector => (
            format!("vector({}), {}", c.dim, c.index.word()),
            format!("precision: {}", c.precision_vector),
        ),
        EmbeddingsChoice::HalfVec => (
            format!("halfvec({}), {}", c.dim, c.index.word()),
            format!("precision: {half}"),
        ),
    };
    let style = if c.ty == EmbeddingsChoice::Keep {
        Style::new()
    } else {
        Style::new().fg(Color::Green).add_modifier(Modifier::BOLD)
    };
    let mut out = hanging(&what, w, 6, Some(Span::raw("    → ")), style);
    out.extend(hanging(
        &precision,
        w,
        6,
        Some(Span::raw("      ")),
        Style::new().fg(Color::DarkGray),
    ));
    out
}

fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Each file's diff under its name, then the notes.
fn diff_view(plan: &EmbeddingsPlan, w: u16) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let Some(diff) = &plan.diff else {
        return lines;
    };
    for (name, d) in &diff.files {
        lines.push(Line::default());
        lines.push(heading(&format!("{name}:")));
        lines.extend(diff_lines(d, w));
    }
    if !diff.notes.is_empty() {
        lines.push(Line::default());
        for n in &diff.notes {
            lines.extend(hanging(
                n,
                w,
                2,
                Some(dim("• ")),
                Style::new().fg(Color::Gray),
            ));
        }
    }
    lines
}
