//! What the driver must carry out: effects as data, never performed here.

use super::JobId;
use crate::data::backup::MigrationScan;
use crate::data::commands::{CreateSchemaInput, DriverCheck, DryRunInput};
use crate::data::copy::{CopySettings, ProblemPolicy};
use crate::data::django::Discovery;
use crate::data::pg::ConnConfig;
use crate::data::privileges::{Diagnosis, GrantsAnswer, Recipe};
use crate::data::report::RunReport;
use crate::data::resume::CheckInput;
use crate::data::settings::{Applied, RewritePlan, SettingsStyle, SettingsTarget};
use crate::data::sync::OnConflict;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Whose password a connection uses (the driver holds both, in memory only).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    /// The app role of the Connect step.
    App,
    /// The admin of Fix permissions (recipe C: it owns the tables, so it runs migrate and
    /// the copy).
    Admin,
}

/// Work for the driver. Effects are data; `update` never performs them.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Write the state file.
    Save,
    /// Run discovery of the project.
    Discover {
        job: JobId,
        project: PathBuf,
        python: Option<PathBuf>,
    },
    /// Connect to the target and describe it (the driver supplies the password).
    Connect {
        job: JobId,
        config: ConnConfig,
        /// `--direct-url`: the server behind a pool, tried first when the target is one.
        direct: Option<ConnConfig>,
        /// The admin's connection when known (`--admin-url`): its host and port are a
        /// candidate for the direct connection behind a pool.
        admin: Option<ConnConfig>,
    },
    /// Copy the SQLite file (online backup), verify it, archive the migrations folders.
    Backup {
        job: JobId,
        discovery: Box<Discovery>,
        backup_dir: Option<PathBuf>,
    },
    /// List, per local app, the migration files a reset would move, with their warnings.
    ScanMigrations {
        job: JobId,
        python: PathBuf,
        project_dir: PathBuf,
        settings_module: Option<String>,
    },
    /// Move the selected apps' migrations into the backup, then makemigrations for them.
    ResetMigrations {
        job: JobId,
        project_dir: PathBuf,
        backup_dir: PathBuf,
        scan: Box<MigrationScan>,
        selected: Vec<String>,
        python: PathBuf,
        settings_module: String,
    },
    /// Run makemigrations --check and migrate on a scratch SQLite file; compare schemas.
    DryRun { job: JobId, input: DryRunInput },
    /// Diagnose the app role's privileges, connected to the app database (the admin's too,
    /// when known), and work out the recipes.
    Diagnose {
        job: JobId,
        app: ConnConfig,
        admin: Option<ConnConfig>,
        schema: String,
        /// A column becomes a pgvector column: is the `vector` extension there, or who
        /// creates it (planned with the recipes)?
        vector: bool,
        /// The provider Connect recognised (its rule for the extension).
        provider: Option<String>,
    },
    /// Run a permission recipe as the admin, then re-check as the app role.
    ApplyRecipe {
        job: JobId,
        recipe: Box<Recipe>,
        app: ConnConfig,
        admin: ConnConfig,
    },
    /// Write the recipe's SQL for a DBA into `path`.
    SaveDbaScript {
        job: JobId,
        recipe: Box<Recipe>,
        diagnosis: Box<Diagnosis>,
        app: ConnConfig,
        path: PathBuf,
    },
    /// Run Django's migrate on PostgreSQL as `role`.
    CreateSchema {
        job: JobId,
        input: CreateSchemaInput,
        role: Role,
        /// What to do about default grants to other roles (`None`: look for them first,
        /// and ask before running migrate when there are some).
        grants: Option<GrantsAnswer>,
        /// Roles the run itself grants the tables to (the app role of the runtime-role
        /// recipe): not "other roles".
        app_roles: Vec<String>,
    },
    /// Install the PostgreSQL driver into the project's Python.
    InstallDriver { job: JobId, check: DriverCheck },
    /// Look for embeddings in the SQLite file (read-only), before Create schema's migrate.
    FindEmbeddings {
        job: JobId,
        discovery: Box<Discovery>,
    },
    /// Make the chosen pgvector change: extension, pgvector-python, project files (backed
    /// up), as `crate::embeddings::run` does.
    ApplyEmbeddings {
        job: JobId,
        discovery: Box<Discovery>,
        backup_dir: Option<PathBuf>,
        target: ConnConfig,
        admin: Option<ConnConfig>,
        columns: Vec<crate::data::embeddings::EmbeddingColumn>,
    },
    /// Plan the project change of the chosen columns, as diffs (writes nothing).
    PlanEmbeddings {
        job: JobId,
        discovery: Box<Discovery>,
        columns: Vec<crate::data::embeddings::EmbeddingColumn>,
    },
    /// Find where DATABASES is set and plan the env-driven rewrite (writes nothing).
    PlanSettings {
        job: JobId,
        python: PathBuf,
        project_dir: PathBuf,
        settings_module: String,
        target: SettingsTarget,
        style: SettingsStyle,
    },
    /// Back up and write the planned settings (when `write`), then validate them through
    /// Django with the environment set (the password of `role` in the child's env only).
    ApplySettings {
        job: JobId,
        plan: Box<RewritePlan>,
        write: bool,
        backup_dir: PathBuf,
        python: PathBuf,
        project_dir: PathBuf,
        settings_module: String,
        role: Role,
    },
    /// Put the old settings file back.
    RevertSettings { job: JobId, applied: Box<Applied> },
    /// Put the old migrations and settings.py back from `backup_dir` (`dj2pg restore`).
    Restore {
        job: JobId,
        project_dir: PathBuf,
        backup_dir: PathBuf,
        yes: bool,
    },
    /// Write `report.md` and `report.json` into `dir`.
    WriteReport {
        job: JobId,
        dir: PathBuf,
        report: Box<RunReport>,
    },
    /// Read both schemas and check every value; writes nothing.
    Preflight {
        job: JobId,
        sqlite: PathBuf,
        config: ConnConfig,
        role: Role,
        settings: CopySettings,
    },
    /// Load the rows (truncating the target tables), reset sequences, verify.
    Copy {
        job: JobId,
        sqlite: PathBuf,
        config: ConnConfig,
        role: Role,
        policy: ProblemPolicy,
        settings: CopySettings,
    },
    /// Look at what changed in the SQLite file since the copy's snapshot every couple of
    /// seconds, until cancelled (reads the file only; PostgreSQL is not asked).
    WatchChanges {
        job: JobId,
        sqlite: PathBuf,
        config: ConnConfig,
    },
    /// Apply what changed since the snapshot, in one verified transaction.
    Sync {
        job: JobId,
        sqlite: PathBuf,
        config: ConnConfig,
        role: Role,
        on_conflict: OnConflict,
    },
    /// Look again at what the done steps of a resumed run rest on (read-only).
    CheckResume { job: JobId, input: Box<CheckInput> },
    /// Pause or resume the copy worker.
    Pause { job: JobId, paused: bool },
    /// Ask the worker to stop cleanly.
    Cancel { job: JobId },
    /// Leave the program.
    Quit,
}
