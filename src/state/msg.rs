//! What the run is told: a user's intent, a worker's report, what a driver loaded or was
//! given.

use super::{ChoiceId, Given, JobId, Step};
use crate::data::backup::{BackupReport, MigrationScan, ResetReport, RestoreReport};
use crate::data::commands::{
    CreateSchemaReport, DriverInstall, DryRunReport, MakeMigrationsReport,
};
use crate::data::copy::{CopyProgress, CopyReport, PreflightReport};
use crate::data::django::Discovery;
use crate::data::pg::{ConnConfig, ConnectError, PoolRoute, ServerInfo};
use crate::data::privileges::{ApplyReport, DefaultGrants, Diagnosis, Recipe};
use crate::data::resume::{Observed, Record};
use crate::data::settings::{Applied, RewritePlan, Validation};
use crate::data::sync::{Look, SyncReport};
use std::path::PathBuf;

/// A user intent or a worker's report.
#[derive(Clone, Debug, PartialEq)]
pub enum Msg {
    /// Enter: run the step on screen when it may start, or move on from a finished one.
    Activate,
    /// Run the step on screen again after it failed.
    Retry,
    /// Skip the step on screen, where the design allows it.
    Skip,
    /// Look at another step without running it.
    Select(Step),
    /// Look at the next step.
    Next,
    /// Look at the previous step.
    Prev,
    /// Answer the question of the step on screen with the choice of this id.
    Decide(ChoiceId),
    /// The Connect form was submitted (password travels in memory only).
    SubmitConnection(ConnConfig),
    /// The Connect form with the direct connection behind a pool, asked for when none
    /// could be derived: kept for the run (as `--direct-url`), then Connect again.
    SubmitDirect {
        target: ConnConfig,
        direct: Box<ConnConfig>,
    },
    /// The admin's credentials were given (Fix permissions; password in memory only).
    SubmitAdmin(ConnConfig),
    /// Create schema's choice screen: the type of embeddings column `column` (its index in
    /// `embeddings.plan`).
    EmbeddingType {
        column: usize,
        ty: crate::data::embeddings::EmbeddingsChoice,
    },
    /// Create schema's choice screen: the index of embeddings column `column`.
    EmbeddingIndex {
        column: usize,
        index: crate::data::embeddings::IndexChoice,
    },
    /// Select (or unselect) an app for Reset migrations.
    ToggleApp(String),
    /// Done: offer to put the old migrations and settings.py back from the backup.
    OfferRestore,
    /// Pause or resume the running copy.
    TogglePause,
    /// Cancel the running job; it stops cleanly and can be resumed.
    Cancel,
    /// Cutover: the app is stopped; sync now (the cutover window starts).
    SyncNow,
    /// Resume the saved run (true) or start over (false).
    Resume(bool),
    /// The user confirmed quitting.
    Quit,
    /// A saved run was loaded (saved at this local time): what was running when dj2pg
    /// stopped is marked interrupted, and the user is asked whether to resume.
    Interrupted { saved_at: String },
    /// What the driver was given (command line, demo) rather than asked.
    Given(Given),
    /// A worker reports.
    Job(JobId, JobEvent),
}

/// What a worker can report.
#[derive(Clone, Debug, PartialEq)]
pub enum JobEvent {
    /// A line of output for the step's log.
    Log(String),
    /// A line of the step's report with its event name (the embeddings change's findings,
    /// preview, proof, readers): the log shows `name: text`; `migrate` prints it as that
    /// event.
    Said(crate::output::Name, String),
    /// Discover finished.
    Discovered(Box<Discovery>),
    /// Connect finished.
    Connected(Box<ServerInfo>),
    /// Create schema found default privileges that would grant Django's new tables to
    /// other roles; nothing ran (sent instead of [`JobEvent::SchemaCreated`]).
    DefaultGrantsFound(Box<DefaultGrants>),
    /// Connect found a connection pool in front of the target, and the direct connection
    /// behind it (sent before [`JobEvent::Connected`], which then describes the direct one).
    PoolRouted(Box<PoolRoute>),
    /// The copy's preflight finished (nothing written yet).
    Preflight(Box<PreflightReport>),
    /// The copy's latest progress (latest value wins).
    CopyProgress(Box<CopyProgress>),
    /// The copy finished, verified or not.
    CopyFinished(Box<CopyReport>),
    /// Cutover's latest look at what changed in the SQLite file (the watch goes on).
    ChangesSeen(Box<Look>),
    /// A sync ended: committed and verified, or stopped on conflicts (nothing written).
    Synced(Box<SyncReport>),
    /// Backup finished (verified or not).
    BackedUp(Box<BackupReport>),
    /// Reset migrations' scan: the files that would go, per app.
    Scanned(Box<MigrationScan>),
    /// The reset moved the files, and makemigrations ran.
    ResetDone(Box<ResetReport>, Box<MakeMigrationsReport>),
    /// The dry run finished (passed or not).
    DryRunFinished(Box<DryRunReport>),
    /// Fix permissions diagnosed the app role, with the recipes for this admin.
    Diagnosed(Box<Diagnosis>, Vec<Recipe>),
    /// A recipe ran, and was re-checked.
    Applied(Box<ApplyReport>),
    /// The SQL for a DBA was written to this file.
    DbaScriptSaved(PathBuf),
    /// Create schema finished (passed or not).
    SchemaCreated(Box<CreateSchemaReport>),
    /// The driver install finished.
    DriverInstalled(Box<DriverInstall>),
    /// The SQLite file's embeddings, one per column (none: empty).
    EmbeddingsFound(Vec<crate::data::embeddings::EmbeddingColumn>),
    /// The project change of the chosen columns was planned (nothing written).
    EmbeddingsPlanned(Box<crate::data::embeddings::EmbeddingsDiff>),
    /// The pgvector change was made (its lines went to the log).
    EmbeddingsApplied(crate::data::embeddings::EmbeddingsChoice),
    /// Update settings planned its change (nothing written yet).
    SettingsPlanned(Box<RewritePlan>),
    /// The settings were written (or, pasted by hand, only checked) and validated.
    SettingsApplied(Option<Box<Applied>>, Box<Validation>),
    /// The old settings file is back.
    SettingsReverted,
    /// Done wrote its report files.
    ReportWritten(Vec<PathBuf>),
    /// A fact the step rests on, for a later resume to check.
    Recorded(Box<Record>),
    /// The resume check looked at what the done steps rest on.
    Checked(Box<Observed>),
    /// The project's files were restored from the backup (or conflicts stopped it).
    Restored(Box<RestoreReport>),
    /// The job was cancelled at the user's request; the step can be resumed.
    Cancelled,
    /// The job failed; the message names what to fix.
    Failed(String),
    /// Connecting failed; the error names the form field to fix.
    ConnectFailed(ConnectError),
    /// The user stopped a connection attempt before the server answered.
    ConnectStopped,
}
