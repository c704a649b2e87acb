//! Update settings: point the project's own settings file at PostgreSQL, env-driven.
//!
//! The flow the runner drives, each step a plain function:
//! 1. [`locate`]: the project's Python parses the settings (its own `ast`, nothing of the
//!    project runs) and says which statement sets `DATABASES`, or why it cannot be edited.
//! 2. [`plan_rewrite`]: the new `DATABASES` code (env or `DATABASE_URL` style), the new file
//!    text, its diff, the environment variables and `.env.example`; or, when the settings
//!    cannot be edited safely, the snippet to paste.
//! 3. [`apply`]: backs the settings file up (byte for byte, recorded in
//!    `settings-backup.json`), writes the new text atomically with the same permissions,
//!    writes `.env.example`.
//! 4. [`validate`]: `manage.py check --database default` and a read through Django, with
//!    the project's real settings and the password in the child's environment only.
//! 5. [`revert`]: the old settings file back, byte for byte.
//!
//! Invariants: the password is never written to a file, never on a child's command line,
//! never in a plan, note or output (validation output is scrubbed); the generated OPTIONS
//! hold only libpq connection keywords and Django's own keys; a file is only written when
//! it still has the bytes the plan was made from.

mod diff;
mod edit;
mod envvars;
mod generate;
mod locate;
mod options;
mod plan;
mod validate;
mod write;

pub use diff::diff_texts;
pub use locate::locate;
pub use plan::plan_rewrite;
pub use validate::{validate, validation_env};
pub use write::{apply, revert};
// The embeddings project change backs up and writes its files the same way.
pub(crate) use write::{atomic_write as write_atomically, backup_file as backup_copy};

use crate::data::settings::SettingsTarget;
use crate::pg::ConnConfig;

pub use crate::data::settings::DO_POOL_PORT;

/// The [`SettingsTarget`] for a connection the wizard tested (see `SettingsTarget::from_conn`).
pub fn target_from_conn(config: &ConnConfig, search_path: Option<String>) -> SettingsTarget {
    SettingsTarget::from_conn(config, search_path)
}
