//! Transitions for what a driver learns outside the steps: a saved run it loaded (and that
//! was stopped mid-step), and what it was given on its command line or by the demo.

use super::{Migration, ResumeOffer, Status, Step};
use crate::data::embeddings::EmbeddingsChoice;
use crate::data::pg::ConnConfig;
use crate::data::settings::SettingsStyle;
use crate::surface::Surface;

/// What a driver was given before (or beside) the steps: never asked of the user by the
/// state machine, so set by one message each rather than by the driver's hand.
#[derive(Clone, Debug, PartialEq)]
pub enum Given {
    /// Who reads the messages: the wizard or a command.
    Surface(Surface),
    /// `--settings-style` for a new run (a saved run takes it as a flag, `resume::Flags`).
    SettingsStyle(SettingsStyle),
    /// An admin for Fix permissions known before Connect (`--admin-url`, the demo's
    /// `doadmin`); a run that already has one keeps it.
    Admin(ConnConfig),
    /// `--direct-url`: the connection without the pool.
    Direct(ConnConfig),
    /// The embeddings columns as the flags decided them (the state machine does not ask).
    Embeddings(EmbeddingsChoice),
}

pub(super) fn given(m: &mut Migration, given: Given) {
    match given {
        Given::Surface(surface) => m.surface = surface,
        Given::SettingsStyle(style) => m.settings_style = style,
        Given::Admin(admin) => {
            if m.permissions.admin.is_none() {
                m.permissions.admin = Some(admin);
            }
        }
        Given::Direct(direct) => m.options.direct_url = Some(direct),
        Given::Embeddings(choice) => m.embeddings.choice = Some(choice),
    }
}

/// A saved run was loaded: what was running when the program stopped is marked stopped
/// ("interrupted") so resuming shows it with a retry, and the user is asked whether to
/// resume it.
pub(super) fn interrupted(m: &mut Migration, saved_at: String) {
    if let Some((_, step)) = m.job.take() {
        m.cursor = step;
    }
    // A resume check that was cut short is made again when the run is resumed.
    m.resume_check = None;
    m.copy.paused = false;
    m.quitting = false;
    // The settings plan's new text is not saved (it holds the project's own secrets): a
    // settings question from before the stop is planned again.
    let settings = &mut m.steps[Step::UpdateSettings.index()];
    if matches!(settings.status, Status::NeedsDecision { .. }) {
        settings.status = Status::Pending;
    }
    for s in &mut m.steps {
        if s.status.is_running() {
            s.status = Status::Stopped {
                message: "Interrupted: dj2pg stopped during this step; running it again \
                          resumes it."
                    .into(),
            };
        }
    }
    m.resume_offer = Some(ResumeOffer {
        step: m.cursor,
        saved_at,
    });
}
