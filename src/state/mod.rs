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

mod backup_steps;
mod cutover_steps;
mod effect;
mod embeddings_steps;
mod finish_steps;
mod given;
mod msg;
pub mod report;
pub mod resume;
mod schema_steps;
mod step;
mod update;

#[cfg(test)]
mod tests;

pub use crate::rules::{Choice, ChoiceId, CopyAnswers, Question};
pub use backup_steps::restore_hint;
pub use cutover_steps::{can_sync_now, summary as sync_summary};
pub use effect::{Effect, Role};
pub use finish_steps::{report_dir, settings_target};
pub use given::Given;
pub use msg::{JobEvent, Msg};
pub use step::{Status, Step};
pub use update::update;

use crate::data::backup::{BackupReport, MigrationScan, ResetReport, RestoreReport};
use crate::data::commands::{CreateSchemaReport, DryRunReport, MakeMigrationsReport};
use crate::data::copy::{CopyProgress, CopyReport, CopySettings, PreflightReport};
use crate::data::django::Discovery;
use crate::data::pg::{ConnConfig, Field, PoolRoute, ServerInfo};
use crate::data::privileges::{ApplyReport, DefaultGrants, Diagnosis, GrantsAnswer, Recipe};
use crate::data::settings::{Applied, RewritePlan, SettingsStyle, Validation};
use crate::data::sync::Cutover;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Identifies one worker job; events carry it so stale ones can be dropped.
pub type JobId = u64;

/// Format version of the saved state; a file of another version is moved aside, not
/// resumed. 2: typed choices and questions (`ChoiceId`, `Question`), the copy's answers.
/// 3: what done steps rest on (`Witness`), checked when a run is resumed; the
/// `--reset-migrations` value a headless run was given. 4: the Cutover step.
pub const STATE_VERSION: u32 = 4;

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
    pub discovery: Option<Discovery>,
    /// The connection the user chose; the password is never part of it on disk.
    pub target: Option<ConnConfig>,
    pub server: Option<ServerInfo>,
    /// The connection pool Connect found in front of the target, and the direct
    /// connection the schema and the copy use instead ([`Migration::work_target`]).
    #[serde(default)]
    pub pool: Option<PoolRoute>,
    /// Default privileges of the role that runs migrate granting its new tables to other
    /// roles (Supabase's API roles), and what the user chose about them.
    #[serde(default)]
    pub default_grants: Option<DefaultGrants>,
    #[serde(default)]
    pub grants_answer: Option<GrantsAnswer>,
    /// The form field the last failed Connect points at (cleared by a new attempt).
    #[serde(default)]
    pub connect_field: Option<Field>,
    /// What Backup made and verified.
    #[serde(default)]
    pub backup: Option<BackupReport>,
    /// Reset migrations: what would go, per app; the apps selected; what moved and what
    /// makemigrations wrote.
    #[serde(default)]
    pub migration_scan: Option<MigrationScan>,
    #[serde(default)]
    pub reset_selection: Vec<String>,
    /// The embeddings answer (asked at the start of Create schema when there are any).
    #[serde(default)]
    pub embeddings: Option<crate::data::embeddings::EmbeddingsChoice>,
    /// The embeddings found, each column's choice, and the change once planned (Create
    /// schema's choice screen and its diff).
    #[serde(default)]
    pub embeddings_plan: Option<crate::data::embeddings::EmbeddingsPlan>,
    #[serde(default)]
    pub reset_report: Option<ResetReport>,
    #[serde(default)]
    pub regenerated: Option<MakeMigrationsReport>,
    /// The dry run's report (Dry run on SQLite).
    #[serde(default)]
    pub dry_run: Option<DryRunReport>,
    /// The admin's connection (Fix permissions); its password is never part of it on disk.
    #[serde(default)]
    pub admin: Option<ConnConfig>,
    /// What Fix permissions found, and the recipes it offers.
    #[serde(default)]
    pub diagnosis: Option<Diagnosis>,
    #[serde(default)]
    pub recipes: Vec<Recipe>,
    /// The recipe that ran, with its re-check.
    #[serde(default)]
    pub applied: Option<ApplyReport>,
    /// Where the SQL for a DBA was saved.
    #[serde(default)]
    pub dba_script: Option<PathBuf>,
    /// What Create schema did.
    #[serde(default)]
    pub schema: Option<CreateSchemaReport>,
    /// Update settings: the style asked for, the change planned, what was written and
    /// what Django said with the new settings.
    #[serde(default)]
    pub settings_style: SettingsStyle,
    #[serde(default)]
    pub settings_plan: Option<RewritePlan>,
    #[serde(default)]
    pub settings_applied: Option<Applied>,
    #[serde(default)]
    pub settings_validation: Option<Validation>,
    /// The report files Done wrote.
    #[serde(default)]
    pub report_files: Vec<PathBuf>,
    /// What the last restore from the Done screen did.
    #[serde(default)]
    pub restored: Option<RestoreReport>,
    pub preflight: Option<PreflightReport>,
    /// The answers given to the copy's questions since its last preflight.
    #[serde(default)]
    pub copy_answers: CopyAnswers,
    pub copy: Option<CopyProgress>,
    pub copy_report: Option<CopyReport>,
    /// Cutover: the latest look at the changes, the conflicts, the syncs that ran.
    #[serde(default)]
    pub cutover: Cutover,
    /// Whether the copy job is paused (the driver also tells the worker).
    pub paused: bool,
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
            target: None,
            server: None,
            pool: None,
            default_grants: None,
            grants_answer: None,
            connect_field: None,
            backup: None,
            migration_scan: None,
            reset_selection: Vec::new(),
            embeddings: None,
            embeddings_plan: None,
            reset_report: None,
            regenerated: None,
            dry_run: None,
            admin: None,
            diagnosis: None,
            recipes: Vec::new(),
            applied: None,
            dba_script: None,
            schema: None,
            settings_style: SettingsStyle::Env,
            settings_plan: None,
            settings_applied: None,
            settings_validation: None,
            report_files: Vec::new(),
            restored: None,
            preflight: None,
            copy_answers: CopyAnswers::default(),
            copy: None,
            copy_report: None,
            cutover: Cutover::default(),
            paused: false,
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
        settings.names = self.schema.as_ref().and_then(|s| s.names.clone());
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
        match (&self.admin, owner) {
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
        match &self.pool {
            Some(p) => Some(p.direct.clone()),
            None => self.target.clone(),
        }
    }

    /// The recipe that ran, if one did.
    pub fn applied_recipe(&self) -> Option<&Recipe> {
        let applied = self.applied.as_ref()?;
        self.recipes.iter().find(|r| r.id == applied.recipe)
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
