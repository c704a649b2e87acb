//! One pure view per step, plus its key map. `render` draws the step on screen into the
//! body area; `on_key` gives the step's screen the first look at a key; `hints` lists the
//! screen's own keys for the hint bar.
//!
//! A question (`Status::NeedsDecision`) is handled here for every step: its choice keys win
//! over every other key of that step.

pub mod admin_login;
pub mod backup;
pub mod connect;
pub mod copy_rows;
pub mod create_schema;
pub mod cutover;
pub mod discover;
pub mod done;
pub mod dry_run;
pub mod embeddings;
pub mod fix_permissions;
pub mod reset_migrations;
pub mod update_settings;

use super::keys::{Hint, hint};
use super::ui_state::UiState;
use super::widgets::{self, decision, dim};
use crate::state::{Migration, Msg, Status, Step};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

/// What a screen did with a key.
#[derive(Clone, Debug, PartialEq)]
pub enum Handled {
    /// Not a key of this screen: the wizard's global keys apply.
    Ignored,
    /// The screen used it (typing, focus, scrolling); no message.
    Consumed,
    /// The screen turned it into a message.
    Send(Msg),
}

/// Draw the step on screen, with its log pane under it when it has output.
pub fn render(frame: &mut Frame, area: Rect, m: &Migration, ui: &UiState) {
    let step = m.cursor;
    ui.scroll_limit.set(0);
    let log = &m.step(step).log;
    let log_h = widgets::log::height(log, area.height / 3);
    let [body, log_area] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(log_h)]).areas(area);
    match (step, m.status(step)) {
        // A saved run of an older version may still hold a step as not built.
        (Step::Discover, _) => discover::render(frame, body, m, ui),
        (Step::Backup, _) => backup::render(frame, body, m, ui),
        (Step::ResetMigrations, _) => reset_migrations::render(frame, body, m, ui),
        (Step::DryRun | Step::CreateSchema, _) if embeddings::shown(m) => {
            embeddings::render(frame, body, m, ui)
        }
        (Step::DryRun, _) => dry_run::render(frame, body, m, ui),
        (Step::Connect, _) => connect::render(frame, body, m, ui),
        (Step::FixPermissions, _) => fix_permissions::render(frame, body, m, ui),
        (Step::CreateSchema, _) => create_schema::render(frame, body, m, ui),
        (Step::CopyRows, _) => copy_rows::render(frame, body, m, ui),
        (Step::Cutover, _) => cutover::render(frame, body, m, ui),
        (Step::UpdateSettings, _) => update_settings::render(frame, body, m, ui),
        (Step::Done, _) => done::render(frame, body, m, ui),
    }
    if log_h > 0 {
        widgets::log::render(frame, log_area, log);
    }
}

/// The lines every screen shows for the statuses it has nothing special to say about.
pub fn status_lines(m: &Migration, step: Step, width: u16, tick: usize) -> Vec<Line<'static>> {
    match m.status(step) {
        Status::Pending => widgets::pending_intro(m, step, &[], width),
        Status::Running { detail, .. } => {
            vec![Line::from(format!("{} {detail}", widgets::spinner(tick)))]
        }
        Status::Done { summary } => {
            widgets::wrapped(&format!("✓ {summary}"), width, Default::default())
        }
        Status::Skipped { reason } => {
            widgets::wrapped(&format!("↷ Skipped: {reason}"), width, Default::default())
        }
        s @ (Status::Failed { .. } | Status::Stopped { .. }) => widgets::failure(s, width),
        Status::NeedsDecision {
            question, choices, ..
        } => decision::lines(question, choices, width),
    }
}

/// Draw `lines` scrolled by `scroll`; when they overflow, the last row says how to scroll.
pub fn scrolled(
    frame: &mut Frame,
    area: Rect,
    lines: Vec<Line<'static>>,
    ui: &UiState,
    step: Step,
) {
    let scroll = ui.scroll(step);
    let total = lines.len() as u16;
    ui.scroll_limit.set(0);
    if total <= area.height {
        frame.render_widget(Paragraph::new(lines), area);
        return;
    }
    let [text, more] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(area);
    let max = total.saturating_sub(text.height);
    ui.scroll_limit.set(max);
    ui.scroll_page.set(text.height.saturating_sub(1));
    let scroll = scroll.min(max);
    frame.render_widget(Paragraph::new(lines).scroll((scroll, 0)), text);
    let below = max - scroll;
    let note = if below > 0 {
        format!("↓ {below} more line(s): PgDn / PgUp")
    } else {
        "↑ PgUp for the top".to_string()
    };
    frame.render_widget(Paragraph::new(Line::from(dim(note))), more);
}

/// Give the screen of the step on view the first look at a key.
pub fn on_key(m: &Migration, ui: &mut UiState, key: KeyEvent) -> Handled {
    // An open form takes every key first: its letters are text, not choices.
    if admin_login::shown(m, ui) {
        return admin_login::on_key(m, ui, key);
    }
    if let (Status::NeedsDecision { choices, .. }, KeyCode::Char(c)) =
        (m.status(m.cursor), key.code)
        && !key
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
        && let Some(choice) = choices.iter().find(|ch| ch.key == c)
    {
        ui.reset_scroll(); // the next question (or the step's end) opens at its top
        return Handled::Send(Msg::Decide(choice.id));
    }
    match m.cursor {
        Step::Connect => connect::on_key(m, ui, key),
        Step::FixPermissions => fix_permissions::on_key(m, ui, key),
        Step::CopyRows => copy_rows::on_key(m, key),
        Step::Cutover => cutover::on_key(m, key),
        Step::ResetMigrations => reset_migrations::on_key(m, ui, key),
        Step::DryRun | Step::CreateSchema => embeddings::on_key(m, ui, key),
        Step::Done => done::on_key(m, key),
        _ => Handled::Ignored,
    }
}

/// The screen's own keys, and whether the wizard's global keys apply too.
pub fn hints(m: &Migration, ui: &UiState) -> (Vec<Hint>, bool) {
    let mut out = Vec::new();
    if admin_login::shown(m, ui) {
        admin_login::hints(m, &mut out);
        return (out, false);
    }
    if let Status::NeedsDecision { choices, .. } = m.status(m.cursor) {
        out.extend(
            choices
                .iter()
                .map(|c| hint(&c.key.to_string(), &c.id.hint())),
        );
    }
    let globals = match m.cursor {
        Step::Connect => connect::hints(m, ui, &mut out),
        Step::FixPermissions => {
            fix_permissions::hints(m, &mut out);
            true
        }
        Step::CopyRows => {
            copy_rows::hints(m, &mut out);
            true
        }
        Step::Cutover => {
            cutover::hints(m, &mut out);
            true
        }
        Step::ResetMigrations => {
            reset_migrations::hints(m, &mut out);
            true
        }
        Step::Done => {
            done::hints(m, &mut out);
            true
        }
        Step::DryRun | Step::CreateSchema => {
            embeddings::hints(m, &mut out);
            true
        }
        _ => true,
    };
    (out, globals)
}
