//! The wizard's steps and the status each one can be in.
//!
//! Invariant: `Step::ALL` is the order the wizard walks; every other ordering (sidebar,
//! headless runner, persistence) derives from it.

use crate::rules::{Choice, Question};
use serde::{Deserialize, Serialize};

/// One step of the migration, in wizard order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Step {
    Discover,
    Backup,
    ResetMigrations,
    DryRun,
    Connect,
    FixPermissions,
    CreateSchema,
    CopyRows,
    Cutover,
    UpdateSettings,
    Done,
}

impl Step {
    pub const ALL: [Step; 11] = [
        Step::Discover,
        Step::Backup,
        Step::ResetMigrations,
        Step::DryRun,
        Step::Connect,
        Step::FixPermissions,
        Step::CreateSchema,
        Step::CopyRows,
        Step::Cutover,
        Step::UpdateSettings,
        Step::Done,
    ];

    pub fn index(self) -> usize {
        Step::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }

    pub fn next(self) -> Option<Step> {
        Step::ALL.get(self.index() + 1).copied()
    }

    pub fn prev(self) -> Option<Step> {
        self.index().checked_sub(1).map(|i| Step::ALL[i])
    }

    pub fn title(self) -> &'static str {
        match self {
            Step::Discover => "Discover",
            Step::Backup => "Backup",
            Step::ResetMigrations => "Reset migrations",
            Step::DryRun => "Dry run on SQLite",
            Step::Connect => "Connect",
            Step::FixPermissions => "Fix permissions",
            Step::CreateSchema => "Create schema",
            Step::CopyRows => "Copy rows",
            Step::Cutover => "Cutover",
            Step::UpdateSettings => "Update settings",
            Step::Done => "Done",
        }
    }

    /// A stable machine name, used in JSON output and on the command line.
    pub fn slug(self) -> &'static str {
        match self {
            Step::Discover => "discover",
            Step::Backup => "backup",
            Step::ResetMigrations => "reset-migrations",
            Step::DryRun => "dry-run",
            Step::Connect => "connect",
            Step::FixPermissions => "fix-permissions",
            Step::CreateSchema => "create-schema",
            Step::CopyRows => "copy-rows",
            Step::Cutover => "cutover",
            Step::UpdateSettings => "update-settings",
            Step::Done => "done",
        }
    }

    /// Whether the user may skip the step. Steps that protect data (Backup) or that later
    /// steps cannot do without (Discover, Connect, Copy rows) cannot be skipped.
    pub fn skippable(self) -> bool {
        matches!(
            self,
            Step::ResetMigrations
                | Step::DryRun
                | Step::FixPermissions
                | Step::CreateSchema
                | Step::Cutover
                | Step::UpdateSettings
        )
    }

    /// What the step is for, in one sentence (help overlay, headless `--help`).
    pub fn purpose(self) -> &'static str {
        match self {
            Step::Discover => {
                "Find manage.py, the project's Python, Django's settings and the SQLite file."
            }
            Step::Backup => {
                "Copy the SQLite file safely even while the app runs, verify it, archive migrations."
            }
            Step::ResetMigrations => {
                "Move old migration files (and stale .pyc) into the backup archive."
            }
            Step::DryRun => "Run makemigrations and migrate on a scratch copy of the SQLite file.",
            Step::Connect => "Connect to PostgreSQL over TLS and show what the target holds.",
            Step::FixPermissions => {
                "Diagnose and fix schema privileges as the admin, in a transaction."
            }
            Step::CreateSchema => {
                "Run Django's migrate on PostgreSQL (your settings, only the database replaced)."
            }
            Step::CopyRows => "Preflight every value, COPY every row, reset sequences, verify.",
            Step::Cutover => {
                "With the app stopped, apply what it wrote since the copy's snapshot; verify."
            }
            Step::UpdateSettings => {
                "Back up settings.py and write an env-driven DATABASES atomically."
            }
            Step::Done => "Report what was done, where the backup lives, how to roll back.",
        }
    }
}

/// Where one step stands.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Status {
    /// Not started yet.
    Pending,
    /// A worker is on it; `fraction` is 0.0..=1.0 when the work is measurable.
    Running {
        detail: String,
        fraction: Option<f64>,
    },
    /// Finished; `summary` is one line for the sidebar and headless output.
    Done { summary: String },
    /// The user chose to skip it.
    Skipped { reason: String },
    /// It failed; `message` names what to fix. The step can be retried.
    Failed { message: String },
    /// The user stopped it on purpose (to commit first, an abort, a cancel, an interrupt);
    /// `message` says why and how to go on. Nothing went wrong; it runs again like a
    /// failed step.
    Stopped { message: String },
    /// Stopped until the user picks one of `choices`.
    NeedsDecision {
        /// Which question (the rules in `crate::rules` read the answer by it).
        kind: Question,
        question: String,
        choices: Vec<Choice>,
    },
}

impl Status {
    pub fn label(&self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Running { .. } => "running",
            Status::Done { .. } => "done",
            Status::Skipped { .. } => "skipped",
            Status::Failed { .. } => "failed",
            Status::Stopped { .. } => "stopped",
            Status::NeedsDecision { .. } => "needs decision",
        }
    }

    /// Whether later steps may start: done or skipped.
    pub fn lets_next_start(&self) -> bool {
        matches!(self, Status::Done { .. } | Status::Skipped { .. })
    }

    /// Failed or stopped: the step may run again (`r`, or the same command again).
    pub fn can_run_again(&self) -> bool {
        matches!(self, Status::Failed { .. } | Status::Stopped { .. })
    }

    /// What a failed or stopped step said.
    pub fn stop_message(&self) -> Option<&str> {
        match self {
            Status::Failed { message } | Status::Stopped { message } => Some(message),
            _ => None,
        }
    }

    pub fn is_running(&self) -> bool {
        matches!(self, Status::Running { .. })
    }
}
