//! The terminal wizard: a view of the state machine, and the loop that drives it.
//!
//! The loop owns the run. It drains worker messages and, right before each frame, takes a
//! running copy's newest progress from the runner's slot; it applies both with
//! `state::update`, carries out the effects (`Save` here, `Quit` ends the loop, the rest go to the
//! [`Runner`](crate::runner::Runner)), and redraws at most every ~16 ms. It polls the
//! terminal with a timeout, ticking the spinner (~100 ms) only while a job runs.
//!
//! Invariants: drawing is a pure function of the run and [`UiState`]; secrets stay in the
//! Connect form, the admin login and the runner, never in the run or on screen unmasked; the terminal is
//! always restored (drop, panic, Ctrl-C).

mod admin_form;
mod connect_form;
mod event_loop;
mod keys;
mod overlays;
mod password_prompt;
mod screens;
mod terminal;
mod ui_state;
mod view;
mod widgets;

pub use admin_form::AdminForm;
pub use connect_form::{ConnectForm, FormField};
pub use keys::{Hint, handle_key, hints};
pub use ui_state::{Overlay, UiState};
pub use view::{MIN_HEIGHT, MIN_WIDTH, draw, is_too_small};

use crate::pg::Secret;
use crate::state::{Migration, Msg};
use std::sync::mpsc::Receiver;

/// What the wizard opens with: the Connect form's values (the demo fills both), and a
/// notice for the status bar (a saved run that could not be resumed…).
#[derive(Clone, Debug, Default)]
pub struct Prefill {
    /// Shown in the status bar until the next message replaces it.
    pub notice: Option<String>,
    /// A connection URL; a password in it is moved into the password field.
    pub url: Option<String>,
    /// The password, masked on screen.
    pub password: Option<Secret>,
    /// The target is the demo's throwaway server, removed when the wizard closes: the run
    /// cannot be resumed, and quitting says so.
    pub disposable: bool,
}

/// After the run changed: what the screens show next that the run alone does not decide.
/// Connect found a pool whose direct connection it could not derive: its form asks for it,
/// once (`ConnectForm::ask_for_direct`).
pub fn after_update(m: &Migration, ui: &mut UiState) {
    if m.connect.field == Some(crate::pg::Field::Direct)
        && matches!(
            m.status(crate::state::Step::Connect),
            crate::state::Status::Failed { .. }
        )
    {
        ui.connect.ask_for_direct();
    }
}

/// Paste text into whatever takes it on the step on screen: the admin login when open,
/// else the Connect form.
pub fn handle_paste(m: &Migration, ui: &mut UiState, text: &str) {
    if ui.password.is_open() {
        ui.password.paste(text);
        return;
    }
    if ui.overlay == Overlay::None
        && !ui.too_small.get()
        && m.resume_offer.is_none()
        && !screens::admin_login::on_paste(m, ui, text)
    {
        screens::connect::on_paste(m, ui, text);
    }
}

/// How the wizard ended: the run as it stands, and what ended it.
pub struct Ended {
    pub run: Migration,
    /// A stop signal (SIGTERM, SIGHUP, SIGINT) ended it.
    pub signal: Option<i32>,
    /// Ctrl-C ended it.
    pub ctrl_c: bool,
}

impl Ended {
    /// The exit status: 0 for a finished run; for one left unfinished, the shell's status
    /// for the signal that ended it (130 for Ctrl-C, 143 SIGTERM, 129 SIGHUP), else 1.
    pub fn exit_status(&self) -> u8 {
        if self.run.finished() {
            0
        } else if let Some(sig) = self.signal {
            crate::interrupt::exit_status(sig)
        } else if self.ctrl_c {
            crate::interrupt::exit_status(signal_hook::consts::SIGINT)
        } else {
            1
        }
    }
}

/// Run the wizard until the user quits; returns the run as it stands then.
pub fn run(
    m: Migration,
    runner: crate::runner::Runner,
    rx: Receiver<Msg>,
    prefill: Prefill,
) -> anyhow::Result<Ended> {
    event_loop::run(m, runner, rx, prefill)
}
