//! The masked password prompt of a resumed run.
//!
//! dj2pg never saves a password, so a run resumed in a new wizard knows the target but not
//! its password. Before a step that connects (Fix permissions, Create schema, Copy rows,
//! Update settings) or the resume check of the target, the driver asks [`needed`] whether a
//! password is missing; if so the prompt opens over the screen, holding back the message
//! that would have started the step, and sends it once the password is given. Without
//! it the step would fail with "needs a password" on a screen that has no password field.
//!
//! Invariants: the password lives here only until the driver takes it
//! ([`PasswordPrompt::take`]) for the runner; it is drawn as `•` only; nothing here is
//! saved.

use super::overlays::popup;
use super::widgets::{key, wrapped};
use crate::pg::{ConnConfig, Secret};
use crate::state::{Migration, Msg, Role, Status, Step};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// The prompt. Deliberately not `Debug`: it holds the password being typed.
#[derive(Clone, Default)]
pub struct PasswordPrompt {
    /// Whose password, and for which connection (shown); `None`: closed.
    asking: Option<(Role, ConnConfig)>,
    /// The message that waits for the password.
    pending: Option<Msg>,
    typed: String,
    /// Given and not yet taken by the driver.
    given: Option<(Role, Secret)>,
    /// Esc on the resume's prompt: resume without the password (the steps on the target
    /// are then reopened, not checked) instead of asking again.
    declined: bool,
}

impl PasswordPrompt {
    pub fn is_open(&self) -> bool {
        self.asking.is_some()
    }

    /// Open the prompt for `role` on `config`, holding `then` back until it is answered.
    pub fn ask(&mut self, role: Role, config: ConnConfig, then: Msg) {
        *self = PasswordPrompt {
            asking: Some((role, config)),
            pending: Some(then),
            ..PasswordPrompt::default()
        };
    }

    /// The password given (once), for the runner.
    pub fn take(&mut self) -> Option<(Role, Secret)> {
        self.given.take()
    }

    /// Whether the user declined to give one for the message just released (once).
    pub fn take_declined(&mut self) -> bool {
        std::mem::take(&mut self.declined)
    }

    /// Whether Esc resumes without the password (the resume's prompt) or just closes.
    fn esc_resumes(&self) -> bool {
        self.pending == Some(Msg::Resume(true))
    }

    /// What Esc does now, for the hint bar.
    pub fn esc_label(&self) -> &'static str {
        if self.esc_resumes() {
            "resume without it"
        } else {
            "not now"
        }
    }

    /// A key while open: text, Backspace, Enter (gives the password and releases the held
    /// message), Esc (closes; the step does not start).
    pub fn on_key(&mut self, key: KeyEvent) -> Option<Msg> {
        if key
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
        {
            return None;
        }
        match key.code {
            KeyCode::Char(c) => self.typed.push(c),
            KeyCode::Backspace => {
                self.typed.pop();
            }
            KeyCode::Esc if self.esc_resumes() => {
                *self = PasswordPrompt {
                    declined: true,
                    ..PasswordPrompt::default()
                };
                return Some(Msg::Resume(true));
            }
            KeyCode::Esc => *self = PasswordPrompt::default(),
            KeyCode::Enter if !self.typed.is_empty() => {
                let role = self.asking.take().map(|(r, _)| r)?;
                let then = self.pending.take();
                self.given = Some((role, Secret::new(std::mem::take(&mut self.typed))));
                return then;
            }
            _ => {}
        }
        None
    }

    /// Text pasted into the prompt (a password manager's paste).
    pub fn paste(&mut self, text: &str) {
        self.typed.push_str(text.trim_end_matches(['\r', '\n']));
    }

    pub fn render(&self, frame: &mut Frame, area: Rect) {
        let Some((role, config)) = &self.asking else {
            return;
        };
        let width = 62u16.min(area.width);
        let text_w = width.saturating_sub(4);
        let who = match role {
            Role::App => "the app role",
            Role::Admin => "the admin",
        };
        let mut lines = wrapped(
            &format!(
                "This run was resumed, and dj2pg never saves a password: give the password \
                 of {who} {} for {}:{}/{} again. It stays in memory only.",
                config.user, config.host, config.port, config.dbname
            ),
            text_w,
            Style::new(),
        );
        lines.push(Line::default());
        lines.push(Line::from(vec![
            Span::styled("Password ", Style::new().fg(Color::Cyan)),
            Span::raw("•".repeat(self.typed.chars().count())),
            Span::styled("▏", Style::new().fg(Color::Cyan)),
        ]));
        lines.push(Line::default());
        lines.push(Line::from(vec![
            key("Enter"),
            Span::raw(" go on   "),
            key("Esc"),
            Span::raw(format!(" {}", self.esc_label())),
        ]));
        let inner = popup(frame, area, width, lines.len() as u16 + 2, "Password");
        frame.render_widget(Paragraph::new(lines), inner);
    }
}

/// Whose password `msg` needs before it may go to the state machine, and for which
/// connection, when none is at hand: `have(role, config)` says whether one is (given on
/// the form or the prompt, `$PGPASSWORD`, `~/.pgpass`).
pub fn needed(
    m: &Migration,
    msg: &Msg,
    have: impl Fn(Role, &ConnConfig) -> bool,
) -> Option<(Role, ConnConfig)> {
    let missing = |role: Role, config: ConnConfig| (!have(role, &config)).then_some((role, config));
    match msg {
        // The resume check looks at the target as the app role: without its password the
        // steps on the target would be reopened instead of checked.
        Msg::Resume(true) => {
            let connected = matches!(m.status(Step::Connect), Status::Done { .. });
            let target = m.connect.target.clone().filter(|_| connected)?;
            missing(Role::App, target)
        }
        Msg::Activate | Msg::Retry => {
            let step = m.cursor;
            let starts = m.job.is_none()
                && m.may_start(step)
                && (matches!(m.status(step), Status::Pending) || m.status(step).can_run_again());
            if !starts {
                return None;
            }
            match step {
                Step::FixPermissions => missing(Role::App, m.connect.target.clone()?),
                Step::CreateSchema | Step::CopyRows | Step::UpdateSettings => {
                    let (config, role) = m.table_owner()?;
                    missing(role, config)
                }
                _ => None,
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::RunOptions;

    fn resumed_at(step: Step) -> Migration {
        let mut m = Migration::new(RunOptions::default());
        for s in Step::ALL.iter().take_while(|s| **s != step) {
            m.step_mut(*s).status = Status::Done {
                summary: String::new(),
            };
        }
        m.connect.target = Some(
            ConnConfig::from_url("postgresql://app@db:25060/appdb")
                .unwrap()
                .0,
        );
        m.cursor = step;
        m
    }

    #[test]
    fn a_step_that_connects_waits_for_the_password_it_lacks() {
        let m = resumed_at(Step::CopyRows);
        let (role, config) = needed(&m, &Msg::Activate, |_, _| false).unwrap();
        assert_eq!((role, config.user.as_str()), (Role::App, "app"));
        assert!(needed(&m, &Msg::Activate, |_, _| true).is_none());
        // Looking at steps never asks.
        assert!(needed(&m, &Msg::Next, |_, _| false).is_none());
        // Nor does a step that does not connect.
        assert!(needed(&resumed_at(Step::DryRun), &Msg::Activate, |_, _| false).is_none());
    }

    #[test]
    fn the_resume_check_of_a_connected_run_waits_for_the_password() {
        let m = resumed_at(Step::FixPermissions);
        assert!(needed(&m, &Msg::Resume(true), |_, _| false).is_some());
        assert!(needed(&m, &Msg::Resume(false), |_, _| false).is_none());
        assert!(needed(&resumed_at(Step::Connect), &Msg::Resume(true), |_, _| false).is_none());
    }

    #[test]
    fn enter_gives_the_password_once_and_releases_the_held_message() {
        let mut p = PasswordPrompt::default();
        p.ask(
            Role::App,
            resumed_at(Step::CopyRows).connect.target.unwrap(),
            Msg::Retry,
        );
        for c in "s3cret".chars() {
            assert_eq!(p.on_key(KeyEvent::from(KeyCode::Char(c))), None);
        }
        assert_eq!(p.on_key(KeyEvent::from(KeyCode::Enter)), Some(Msg::Retry));
        assert!(!p.is_open());
        let (role, secret) = p.take().unwrap();
        assert_eq!((role, secret.expose()), (Role::App, "s3cret"));
        assert!(p.take().is_none());
    }
}
