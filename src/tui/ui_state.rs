//! What the terminal shell remembers that the run does not: overlays, form contents,
//! scroll positions, the spinner's frame and the status-bar message.
//!
//! Invariant: nothing here is saved; the `Migration` is the only durable state.

use super::Prefill;
use super::admin_form::AdminForm;
use super::connect_form::ConnectForm;
use crate::state::{Migration, Step};
use std::cell::Cell;

/// A layer drawn over the step screen that takes the keys while open.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Overlay {
    #[default]
    None,
    Help,
    ConfirmQuit,
}

/// The shell's own state (not `Debug`: the Connect and admin forms hold passwords).
#[derive(Clone, Default)]
pub struct UiState {
    pub overlay: Overlay,
    pub connect: ConnectForm,
    /// The admin login of Fix permissions (holds its password until the driver takes it).
    pub admin: AdminForm,
    /// The masked prompt of a resumed run for a password it needs.
    pub password: super::password_prompt::PasswordPrompt,
    /// The target is the demo's throwaway server (gone on quit: nothing to resume).
    pub disposable: bool,
    /// A message for the status bar (e.g. a failed save).
    pub status: Option<String>,
    /// Spinner frame; advanced only while a job runs.
    pub tick: usize,
    /// Scroll offset of one step's screen (0 for every other step).
    scroll: (Option<Step>, u16),
    pub help_scroll: u16,
    /// The app under the cursor on the Reset migrations question (an index into the scan's
    /// apps; clamped when drawn and used).
    pub reset_cursor: usize,
    /// The column under the cursor on Create schema's embeddings choice screen (an index
    /// into the plan's columns; clamped when drawn and used).
    pub embeddings_cursor: usize,
    /// How far the screen on view and the help can scroll, noted by the last draw so that
    /// keys never scroll past the end (a cache: it never changes what is drawn).
    pub(crate) scroll_limit: Cell<u16>,
    /// How many lines (or table rows) the screen on view shows at once: what PgDn and
    /// PgUp move, a page keeping one line of the last in view. Noted by the last draw.
    pub(crate) scroll_page: Cell<u16>,
    pub(crate) help_limit: Cell<u16>,
    /// The last frame showed only "Enlarge it" (the terminal is below the minimum size):
    /// keys typed blind must not act on what is hidden. Noted by the draw and on resize.
    pub too_small: Cell<bool>,
}

impl UiState {
    /// The shell's state at start: the Connect form filled from `prefill`, or from the
    /// target of a resumed run.
    pub fn new(m: &Migration, prefill: &Prefill) -> UiState {
        let url = prefill
            .url
            .clone()
            .or_else(|| m.connect.target.as_ref().map(|t| t.display_url()));
        UiState {
            connect: ConnectForm::new(url.as_deref(), prefill.password.as_ref()),
            status: prefill.notice.clone(),
            disposable: prefill.disposable,
            ..UiState::default()
        }
    }

    pub fn scroll(&self, step: Step) -> u16 {
        if self.scroll.0 == Some(step) {
            self.scroll.1
        } else {
            0
        }
    }

    /// Back to the top: an answered question's screen gives way to another.
    pub fn reset_scroll(&mut self) {
        self.scroll = (None, 0);
    }

    pub fn scroll_by(&mut self, step: Step, delta: i32) {
        let now = i32::from(self.scroll(step));
        let max = i32::from(self.scroll_limit.get());
        self.scroll = (Some(step), (now + delta).clamp(0, max) as u16);
    }

    /// One page of the screen on view, as the last draw measured it (at least one line).
    pub fn page(&self) -> i32 {
        i32::from(self.scroll_page.get().max(1))
    }

    pub fn help_scroll_by(&mut self, delta: i32) {
        let max = i32::from(self.help_limit.get());
        self.help_scroll = (i32::from(self.help_scroll) + delta).clamp(0, max) as u16;
    }
}
