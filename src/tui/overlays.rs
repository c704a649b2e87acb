//! What is drawn over the layout: the help, the quit confirmation, the resume question,
//! and the message shown instead of the layout on a terminal that is too small.

use super::ui_state::UiState;
use super::view::{MIN_HEIGHT, MIN_WIDTH};
use super::widgets::{heading, key, wrap, wrapped};
use crate::state::{ResumeOffer, Step};
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

/// A bordered box of `width`×`height` centred in `area`, cleared; returns its inner area.
pub(super) fn popup(frame: &mut Frame, area: Rect, width: u16, height: u16, title: &str) -> Rect {
    let rect = area.centered(
        Constraint::Length(width.min(area.width)),
        Constraint::Length(height.min(area.height)),
    );
    frame.render_widget(Clear, rect);
    let block = Block::bordered()
        .title(Span::styled(
            format!(" {title} "),
            Style::new().add_modifier(Modifier::BOLD),
        ))
        .border_style(Style::new().fg(Color::Cyan));
    let inner = block.inner(rect).inner(ratatui::layout::Margin::new(1, 0));
    frame.render_widget(block, rect);
    inner
}

/// A small question box: the text wrapped, then the keys.
fn question(frame: &mut Frame, area: Rect, title: &str, text: &str, keys: Vec<Span<'static>>) {
    let width = 60u16;
    let mut lines = wrapped(text, width - 4, Style::new());
    lines.push(Line::default());
    lines.push(Line::from(keys));
    let inner = popup(frame, area, width, lines.len() as u16 + 2, title);
    frame.render_widget(Paragraph::new(lines), inner);
}

pub fn confirm_quit(frame: &mut Frame, area: Rect, disposable: bool) {
    let text = if disposable {
        "Quit? The demo's throwaway PostgreSQL is removed with it, so this run cannot be \
         resumed; the project folder stays. (y/n)"
    } else {
        "Quit? Your progress is saved; run dj2pg again to resume. (y/n)"
    };
    question(
        frame,
        area,
        "Quit",
        text,
        vec![
            key("y"),
            Span::raw(" quit   "),
            key("n"),
            Span::raw(" stay"),
        ],
    );
}

pub fn resume(frame: &mut Frame, area: Rect, offer: &ResumeOffer) {
    let text = format!(
        "A run of this project from {} stopped at {}. Resume? (y = resume, n = start over)",
        offer.saved_at,
        offer.step.title()
    );
    question(
        frame,
        area,
        "Unfinished run",
        &text,
        vec![
            key("y"),
            Span::raw(" resume   "),
            key("n"),
            Span::raw(" start over (the saved run is forgotten)"),
        ],
    );
}

const KEYS: [(&str, &str); 14] = [
    ("↑↓ j k", "look at another step (never runs it)"),
    (
        "Enter",
        "run the step, go on, submit the form; Cutover: app stopped, sync",
    ),
    ("r", "retry a failed step; Cutover: sync again"),
    ("s", "skip the step (only where that is safe)"),
    ("p  c", "pause/resume, cancel the copy (while copying)"),
    ("l", "log in as the admin (Fix permissions)"),
    ("u", "restore the old migrations and settings.py (Done)"),
    ("Tab", "next form field (Shift-Tab: previous)"),
    ("Space", "select an app (Reset migrations)"),
    ("←→ Space", "change the SSL mode (Connect)"),
    ("Esc", "close this / leave the form / previous step"),
    ("PgUp PgDn", "scroll a long screen"),
    ("?  q", "this help, quit (progress is saved)"),
    ("Ctrl-C", "quit now: cancels a running job and saves"),
];

/// Every key, then every step's purpose; scrolls when it does not fit.
pub fn help(frame: &mut Frame, area: Rect, ui: &UiState) {
    let scroll = ui.help_scroll;
    let inner = popup(frame, area, area.width, area.height, "Help  (Esc closes)");
    let width = inner.width as usize;
    let mut lines = vec![heading("Keys")];
    for (k, what) in KEYS {
        lines.push(Line::from(vec![key(format!("{k:<11}")), Span::raw(what)]));
    }
    lines.push(Line::default());
    lines.push(heading("Steps"));
    let name_w = 21;
    for step in Step::ALL {
        let purpose = wrap(step.purpose(), width.saturating_sub(name_w));
        for (i, part) in purpose.into_iter().enumerate() {
            let name = if i == 0 {
                format!(
                    "{:>2} {:<w$}",
                    step.index() + 1,
                    step.title(),
                    w = name_w - 3
                )
            } else {
                " ".repeat(name_w)
            };
            lines.push(Line::from(vec![
                Span::styled(name, Style::new().add_modifier(Modifier::BOLD)),
                Span::raw(part),
            ]));
        }
    }
    let total = lines.len() as u16;
    if total <= inner.height {
        ui.help_limit.set(0);
        frame.render_widget(Paragraph::new(lines), inner);
        return;
    }
    let [text, more] =
        ratatui::layout::Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(inner);
    let max = total.saturating_sub(text.height);
    ui.help_limit.set(max);
    let scroll = scroll.min(max);
    frame.render_widget(Paragraph::new(lines).scroll((scroll, 0)), text);
    let note = match max - scroll {
        0 => "↑ k / ↑ for the top".to_string(),
        below => format!("↓ {below} more line(s): j / ↓"),
    };
    frame.render_widget(
        Paragraph::new(Line::styled(note, Style::new().fg(Color::DarkGray))),
        more,
    );
}

/// Instead of the layout, on a terminal below the minimum size.
pub fn too_small(frame: &mut Frame, area: Rect) {
    let text = format!(
        "dj2pg needs at least {MIN_WIDTH}×{MIN_HEIGHT}; this terminal is {}×{}. Enlarge it. \
         Until then keys wait, except q, which quits (the run is saved).",
        area.width, area.height
    );
    let lines = wrapped(
        &text,
        area.width.saturating_sub(2).max(1),
        Style::new().fg(Color::Yellow),
    );
    let rect = area.centered(
        Constraint::Length(area.width),
        Constraint::Length((lines.len() as u16).min(area.height)),
    );
    frame.render_widget(
        Paragraph::new(lines).alignment(ratatui::layout::Alignment::Center),
        rect,
    );
}
