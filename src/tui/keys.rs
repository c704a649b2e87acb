//! Keys to messages. Pure: `handle_key` reads the run, may change the shell's own state
//! (overlays, form, scroll) and returns at most one `Msg` for the state machine.
//!
//! The hint bar is derived from the same predicates, so it shows exactly the keys that do
//! something now.

use super::screens::{self, Handled};
use super::ui_state::{Overlay, UiState};
use crate::state::{Migration, Msg, Status, Step};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// One entry of the hint bar: the key and what it does now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hint {
    pub key: String,
    pub label: String,
}

pub fn hint(key: &str, label: &str) -> Hint {
    Hint {
        key: key.into(),
        label: label.into(),
    }
}

/// Ctrl-C in raw mode arrives as a key: it always quits (the state machine cancels any
/// job and saves first).
pub fn is_ctrl_c(key: &KeyEvent) -> bool {
    key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL)
}

/// What Enter does on the step on screen, if anything.
pub fn enter_action(m: &Migration) -> Option<&'static str> {
    if m.job.is_some() {
        return None;
    }
    let step = m.cursor;
    match m.status(step) {
        Status::Done { .. } | Status::Skipped { .. } => step.next().map(|_| "next"),
        Status::Pending if m.may_start(step) => {
            Some(if step == Step::Done { "finish" } else { "run" })
        }
        Status::Failed { .. } if m.may_start(step) => Some("retry"),
        Status::Stopped { .. } if m.may_start(step) => Some("go on"),
        _ => None,
    }
}

pub fn can_retry(m: &Migration) -> bool {
    m.job.is_none() && m.may_run_again(m.cursor) && m.may_start(m.cursor)
}

pub fn can_skip(m: &Migration) -> bool {
    m.job.is_none()
        && m.cursor.skippable()
        && matches!(
            m.status(m.cursor),
            Status::Pending
                | Status::Failed { .. }
                | Status::Stopped { .. }
                | Status::NeedsDecision { .. }
        )
}

/// Whether the copy (or its preflight) is running: `p` and `c` apply.
pub fn copying(m: &Migration) -> bool {
    matches!(m.job, Some((_, Step::CopyRows)))
}

/// Map one key to at most one message.
pub fn handle_key(m: &Migration, ui: &mut UiState, key: KeyEvent) -> Option<Msg> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    if is_ctrl_c(&key) {
        ui.overlay = Overlay::None;
        return Some(Msg::Quit);
    }
    if ui.too_small.get() {
        // Only "Enlarge it" is on screen: a key typed blind must not run a step or answer
        // a dialog nobody can see. q quits at once (a quit dialog could not be seen).
        return match key.code {
            KeyCode::Char('q') if key.modifiers.difference(KeyModifiers::SHIFT).is_empty() => {
                ui.overlay = Overlay::None;
                Some(Msg::Quit)
            }
            _ => None,
        };
    }
    if ui.password.is_open() {
        return ui.password.on_key(key);
    }
    match ui.overlay {
        Overlay::ConfirmQuit => {
            return match key.code {
                KeyCode::Char('y' | 'Y') => {
                    ui.overlay = Overlay::None;
                    Some(Msg::Quit)
                }
                KeyCode::Char('n' | 'N' | 'q') | KeyCode::Esc => {
                    ui.overlay = Overlay::None;
                    None
                }
                _ => None,
            };
        }
        Overlay::Help => {
            match key.code {
                KeyCode::Char('?' | 'q') | KeyCode::Esc => ui.overlay = Overlay::None,
                KeyCode::Down | KeyCode::Char('j') => ui.help_scroll_by(1),
                KeyCode::Up | KeyCode::Char('k') => ui.help_scroll_by(-1),
                KeyCode::PageDown => ui.help_scroll_by(10),
                KeyCode::PageUp => ui.help_scroll_by(-10),
                _ => {}
            }
            return None;
        }
        Overlay::None => {}
    }
    if m.resume_offer.is_some() {
        return match key.code {
            KeyCode::Char('y' | 'Y') => Some(Msg::Resume(true)),
            KeyCode::Char('n' | 'N') => Some(Msg::Resume(false)),
            KeyCode::Char('q') => {
                ui.overlay = Overlay::ConfirmQuit;
                None
            }
            _ => None,
        };
    }
    match screens::on_key(m, ui, key) {
        Handled::Send(msg) => return Some(msg),
        Handled::Consumed => return None,
        Handled::Ignored => {}
    }
    global(m, ui, key)
}

fn global(m: &Migration, ui: &mut UiState, key: KeyEvent) -> Option<Msg> {
    if key
        .modifiers
        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
    {
        return None;
    }
    match key.code {
        KeyCode::Char('q') => {
            ui.overlay = Overlay::ConfirmQuit;
            None
        }
        KeyCode::Char('?') => {
            ui.overlay = Overlay::Help;
            ui.help_scroll = 0;
            None
        }
        KeyCode::Esc | KeyCode::Up | KeyCode::Char('k') => m.cursor.prev().map(|_| Msg::Prev),
        KeyCode::Down | KeyCode::Char('j') => m.cursor.next().map(|_| Msg::Next),
        KeyCode::Enter => enter_action(m).map(|_| Msg::Activate),
        KeyCode::Char('r') => can_retry(m).then_some(Msg::Retry),
        KeyCode::Char('s') => can_skip(m).then_some(Msg::Skip),
        KeyCode::PageDown => {
            ui.scroll_by(m.cursor, ui.page());
            None
        }
        KeyCode::PageUp => {
            ui.scroll_by(m.cursor, -ui.page());
            None
        }
        _ => None,
    }
}

/// The keys that do something now, screen keys first.
pub fn hints(m: &Migration, ui: &UiState) -> Vec<Hint> {
    if ui.too_small.get() {
        return vec![hint("q", "quit")];
    }
    if ui.password.is_open() {
        return vec![hint("Enter", "go on"), hint("Esc", ui.password.esc_label())];
    }
    match ui.overlay {
        Overlay::ConfirmQuit => return vec![hint("y", "quit"), hint("n", "stay")],
        Overlay::Help => return vec![hint("↑↓", "scroll"), hint("Esc", "close help")],
        Overlay::None => {}
    }
    if m.resume_offer.is_some() {
        return vec![
            hint("y", "resume"),
            hint("n", "start over"),
            hint("q", "quit"),
        ];
    }
    let (mut out, globals) = screens::hints(m, ui);
    if !globals {
        return out;
    }
    let mut add = |h: Hint| {
        if !out.iter().any(|o| o.key == h.key) {
            out.push(h);
        }
    };
    // On a failed step Enter retries too; `r` says it once.
    if let Some(label) = enter_action(m).filter(|l| !matches!(*l, "retry" | "go on")) {
        add(hint("Enter", label));
    }
    if can_retry(m) {
        let label = match m.status(m.cursor) {
            Status::Stopped { .. } => "go on",
            Status::Done { .. } | Status::Skipped { .. } => "sync again",
            _ => "retry",
        };
        add(hint("r", label));
    }
    if can_skip(m) {
        add(hint("s", "skip"));
    }
    add(hint("↑↓", "steps"));
    add(hint("?", "help"));
    add(hint("q", "quit"));
    out
}

/// The columns the hint bar takes for `hints`: a leading space, then `key label` entries
/// two spaces apart.
pub fn hints_width(hints: &[Hint]) -> usize {
    1 + hints
        .iter()
        .map(|h| h.key.chars().count() + 1 + h.label.chars().count())
        .sum::<usize>()
        + 2 * hints.len().saturating_sub(1)
}

/// The hints that fit in `width` columns, never cut mid-word: when all do not fit, the
/// step keys (`↑↓`) go first, then the screen's last keys, and `?` says "more keys" (the
/// help lists every key); `q quit` always stays.
pub fn fit_hints(mut hints: Vec<Hint>, width: usize) -> Vec<Hint> {
    if hints_width(&hints) <= width {
        return hints;
    }
    let essential = |h: &Hint| h.key == "q" || h.key == "?";
    if let Some(help) = hints.iter_mut().find(|h| h.key == "?") {
        help.label = "more keys".into();
    } else {
        let at = hints
            .iter()
            .position(|h| h.key == "q")
            .unwrap_or(hints.len());
        hints.insert(at, hint("?", "more keys"));
    }
    if let Some(at) = hints.iter().position(|h| h.key == "↑↓") {
        hints.remove(at);
    }
    while hints_width(&hints) > width {
        match hints.iter().rposition(|h| !essential(h)) {
            Some(at) => {
                hints.remove(at);
            }
            None => break,
        }
    }
    hints
}

#[cfg(test)]
mod admin_tests;
#[cfg(test)]
mod tests;
