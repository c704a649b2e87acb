//! The migration state machine: the whole run as one serializable value.
//!
//! `update(&mut Migration, Msg) -> Vec<Effect>` is the only way the run changes. It never
//! performs IO: effects are data that a driver (the TUI loop or the headless runner)
//! carries out, reporting back with `Msg::Job(id, event)`. Events from a job that is no
//! longer current are dropped, so a stale worker can never change a step.
//!
//! Invariants:
//! - at most one job runs at a time (`Migration::job`);
//! - a step starts only when every earlier step lets it (done, skipped or not built);
//! - looking at a step (`Select`, `Next`, `Prev`) never runs it;
//! - nothing here holds a secret, so the whole value can be saved after every transition.

mod effect;
mod given;
mod msg;
pub mod report;
pub mod resume;
mod step;
pub mod steps;
mod update;

#[cfg(test)]
mod tests;

pub use crate::rules::{Choice, ChoiceId, CopyAnswers, Question};
pub use effect::{Effect, Role};
pub use given::Given;
pub use msg::{JobEvent, Msg};
pub use step::{Status, Step};
pub use steps::backup::restore_hint;
pub use steps::cutover::{can_sync_now, summary as sync_summary};
pub use steps::done::report_dir;
pub use steps::settings::settings_target;
pub use steps::{
    backup::BackupPart, connect::ConnectPart, copy::CopyPart, done::DonePart, dry_run::DryRunPart,
    embeddings::EmbeddingsPart, permissions::PermissionsPart, reset::ResetPart, schema::SchemaPart,
    settings::SettingsPart,
};
pub use update::update;

use crate::data::copy::CopySettings;
use crate::data::django::Discovery;
use crate::data::pg::ConnConfig;
use crate::data::privileges::Recipe;
use crate::data::settings::SettingsStyle;
use crate::data::sync::Cutover;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Identifies one worker job; events carry it so stale ones can be dropped.
pub type JobId = u64;

/// Format version of the saved state; a file of another version is moved aside, not
/// resumed. 2: typed choices and questions (`ChoiceId`, `Question`), the copy's answers.
/// 3: what done steps rest on (`Witness`), checked when a run is resumed; the
/// `--reset-migrations` value a headless run was given. 4: the Cutover step. 5: each step's
/// data in its own part (`connect`, `copy`, ...), no longer flat fields.
pub const STATE_VERSION: u32 = 5;

/// One step's status plus what it has said so far.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepState {
    pub step: Step,
    pub status: Status,
    /// How many times the step was started (retries included).
    pub attempts: u32,
    /// Recent output lines (bounded to `LOG_LINES`).
    pub log: Vec<String>,
}

/// How many log lines a step keeps.
pub const LOG_LINES: usize = 200;

/// How the run was started: what the user told us, none of it secret.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunOptions {
    /// The project directory as given (manage.py is found in it or below it).
    pub project: PathBuf,
    /// `--python`, when given.
    pub python: Option<PathBuf>,
    /// Copy engine: parallel connections.
    pub jobs: usize,
    /// Copy engine: where rejected rows go when the user chooses to skip them.
    pub rejects_dir: Option<PathBuf>,
    /// Copy engine: the size from which a table loads in bulk mode (`None`: the default).
    #[serde(default)]
    pub bulk_min_rows: Option<u64>,
    /// Copy engine: most rows per batch of small tables (`None`: the default; 0: off).
    #[serde(default)]
    pub batch_rows: Option<u64>,
    /// Copy engine: lz4 compression of large values (`None`: the default, on).
    #[serde(default)]
    pub lz4: Option<bool>,
    /// Where the backup goes (`--backup-dir`); default `.dj2pg/backups/<time>/` in the project.
    #[serde(default)]
    pub backup_dir: Option<PathBuf>,
    /// Copy engine: SQLite tables and columns with no place on PostgreSQL to leave behind
    /// (`--leave-behind`); anything else without a place stops the copy.
    #[serde(default)]
    pub leave_behind: Vec<String>,
    /// `--reset-migrations` as a headless run was given it (`None`: the wizard, where the
    /// user selects the apps on screen).
    #[serde(default)]
    pub reset_migrations: Option<String>,
    /// `--direct-url`: the connection without the pool, when the target is a pool.
    #[serde(default)]
    pub direct_url: Option<ConnConfig>,
}

/// The whole run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Migration {
    pub version: u32,
    pub options: RunOptions,
    pub steps: Vec<StepState>,
    /// The step on screen.
    pub cursor: Step,
    /// The running job and the step it belongs to.
    pub job: Option<(JobId, Step)>,
    pub next_job: JobId,
    /// Set when a saved run was found and the user has not yet said whether to resume it.
    pub resume_offer: Option<ResumeOffer>,
    /// What Discover found (the Discover step's part).
    pub discovery: Option<Discovery>,
    pub connect: ConnectPart,
    pub backup: BackupPart,
    pub reset: ResetPart,
    pub dry_run: DryRunPart,
    pub permissions: PermissionsPart,
    pub schema: SchemaPart,
    /// The embeddings: chosen at the end of the dry run, changed at Create schema.
    pub embeddings: EmbeddingsPart,
    pub copy: CopyPart,
    /// Cutover: the latest look at the changes, the conflicts, the syncs that ran.
    pub cutover: Cutover,
    /// Update settings: the style asked for. The user's answer, not something learnt
    /// about the target: a change of target keeps it.
    #[serde(default)]
    pub settings_style: SettingsStyle,
    pub settings: SettingsPart,
    pub done: DonePart,
    /// Set once `Quit` was confirmed; the driver exits after the last `Save`.
    pub quitting: bool,
    /// What the done steps rest on, recorded when they finished; a resume checks it.
    #[serde(default)]
    pub witness: resume::Witness,
    /// The job checking a resumed run, while it runs.
    #[serde(default)]
    pub resume_check: Option<JobId>,
    /// What the last resume check found, per step: whether its result still stands, and
    /// the sentence that says so or what changed.
    #[serde(default)]
    pub resume_findings: Vec<resume::Finding>,
    /// Who reads the messages: the wizard (keys, fields) or a command (flags, variables).
    /// Set by the driver, never saved: either surface may resume a run.
    #[serde(skip)]
    pub surface: crate::surface::Surface,
}

/// What a saved, unfinished run looked like.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResumeOffer {
    pub step: Step,
    pub saved_at: String,
}

impl Migration {
    /// A fresh run: every built step pending, every unbuilt one honest about it.
    pub fn new(options: RunOptions) -> Migration {
        let steps = Step::ALL
            .iter()
            .map(|&step| StepState {
                step,
                status: Status::Pending,
                attempts: 0,
                log: Vec::new(),
            })
            .collect();
        Migration {
            version: STATE_VERSION,
            options,
            steps,
            cursor: Step::Discover,
            job: None,
            next_job: 1,
            resume_offer: None,
            discovery: None,
            connect: ConnectPart::default(),
            backup: BackupPart::default(),
            reset: ResetPart::default(),
            dry_run: DryRunPart::default(),
            permissions: PermissionsPart::default(),
            schema: SchemaPart::default(),
            embeddings: EmbeddingsPart::default(),
            copy: CopyPart::default(),
            cutover: Cutover::default(),
            settings_style: SettingsStyle::Env,
            settings: SettingsPart::default(),
            done: DonePart::default(),
            quitting: false,
            witness: resume::Witness::default(),
            resume_check: None,
            resume_findings: Vec::new(),
            surface: crate::surface::Surface::Wizard,
        }
    }

    pub fn step(&self, step: Step) -> &StepState {
        &self.steps[step.index()]
    }

    pub fn step_mut(&mut self, step: Step) -> &mut StepState {
        &mut self.steps[step.index()]
    }

    pub fn status(&self, step: Step) -> &Status {
        &self.step(step).status
    }

    /// The first step whose status does not let the next one start: where the run stands.
    pub fn frontier(&self) -> Step {
        Step::ALL
            .iter()
            .copied()
            .find(|s| !self.status(*s).lets_next_start())
            .unwrap_or(Step::Done)
    }

    /// Whether `step` may run again now that it ended: failed or stopped, or (Cutover) done
    /// or skipped — each sync moves the snapshot forward.
    pub fn may_run_again(&self, step: Step) -> bool {
        let status = self.status(step);
        status.can_run_again()
            || (step == Step::Cutover
                && matches!(status, Status::Done { .. } | Status::Skipped { .. }))
    }

    /// Whether every step before `step` lets it start.
    pub fn may_start(&self, step: Step) -> bool {
        Step::ALL[..step.index()]
            .iter()
            .all(|s| self.status(*s).lets_next_start())
    }

    /// True when the run reached its end: every step done, skipped or not built.
    pub fn finished(&self) -> bool {
        self.steps.iter().all(|s| s.status.lets_next_start())
    }

    /// How the copy runs: the user's options plus what Django said about time zones
    /// (`USE_TZ` off means naive datetimes are in `TIME_ZONE`, not UTC).
    pub fn copy_settings(&self) -> CopySettings {
        // The job count depends on the machine: the driver decided it (`cli::default_jobs`).
        let mut settings = CopySettings::with_jobs(self.options.jobs);
        settings.rejects = self.options.rejects_dir.clone();
        if let Some(n) = self.options.bulk_min_rows {
            settings.bulk_min_rows = n;
        }
        if let Some(n) = self.options.batch_rows {
            settings.batch_rows = n;
        }
        if let Some(on) = self.options.lz4 {
            settings.lz4 = on;
        }
        settings.leave_behind = self.options.leave_behind.clone();
        settings.names = self.schema.report.as_ref().and_then(|s| s.names.clone());
        if let Some(d) = &self.discovery {
            settings.use_tz = d.use_tz.unwrap_or(true);
            if let Some(tz) = &d.time_zone {
                settings.time_zone = tz.clone();
            }
        }
        settings
    }

    /// Who runs `migrate` on PostgreSQL and the copy: the role that will own the tables.
    /// That is the app role, unless the permission fix made the admin the owner (recipe C).
    pub fn table_owner(&self) -> Option<(ConnConfig, Role)> {
        let target = self.work_target()?;
        let owner = self
            .applied_recipe()
            .map(|r| r.roles_after.schema_and_copy.clone());
        match (&self.permissions.admin, owner) {
            (Some(admin), Some(owner)) if owner == admin.user && owner != target.user => {
                let mut config = admin.clone();
                config.dbname = target.dbname.clone();
                Some((config, Role::Admin))
            }
            _ => Some((target, Role::App)),
        }
    }

    /// The app role's connection for everything but the app's own settings: the direct
    /// connection when the target is a pool, else the target.
    pub fn work_target(&self) -> Option<ConnConfig> {
        match &self.connect.pool {
            Some(p) => Some(p.direct.clone()),
            None => self.connect.target.clone(),
        }
    }

    /// The recipe that ran, if one did.
    pub fn applied_recipe(&self) -> Option<&Recipe> {
        let applied = self.permissions.applied.as_ref()?;
        self.permissions
            .recipes
            .iter()
            .find(|r| r.id == applied.recipe)
    }

    /// The `search_path` the applied recipe asks for (recipe B's own schema).
    pub fn search_path(&self) -> Option<String> {
        self.applied_recipe()?.roles_after.search_path.clone()
    }

    /// Whether the running job moves or writes the user's files (Backup, Reset migrations,
    /// Update settings, a restore from Done) and has no clean stopping point: the driver
    /// waits for it to end instead of exiting in the middle of it.
    pub fn job_must_finish(&self) -> bool {
        matches!(
            self.job,
            Some((
                _,
                Step::Backup | Step::ResetMigrations | Step::UpdateSettings | Step::Done
            ))
        )
    }

    /// The SQLite file discovery found, if any.
    pub fn sqlite_path(&self) -> Option<&PathBuf> {
        self.discovery.as_ref()?.sqlite.as_ref().map(|s| &s.path)
    }
}
