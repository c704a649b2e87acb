//! The decision rules: what a step needs from the user before it may go on, in which order,
//! and what each answer means. Pure functions of plain data (`crate::data`), so the wizard
//! (through the state machine), `dj2pg migrate` and `dj2pg copy` ask exactly the same
//! questions in the same order and read the answers the same way.
//!
//! The copy asks, after its preflight and before anything is written:
//! 0. SQLite data with no place on PostgreSQL — leave it behind (reported), or abort;
//! 1. derived tables (a search index) — leave them empty and rebuild them, or abort;
//! 2. values PostgreSQL would reject — abort (the default), skip those rows, or fix them;
//! 3. target tables that already hold rows — empty them and load, or abort.
//!
//! Every question is asked and its answer recorded ([`CopyAnswers`]); an answer to an
//! earlier question never answers a later one.
//!
//! Files: this one (the ids of questions and answers), [`copy`] (the copy's questions),
//! [`questions`] (the other steps' questions).

mod copy;
mod questions;

pub use crate::surface::Surface;
pub use copy::{
    CopyAnswers, CopyNext, answer, answers_from_flags, ask, copy_next, flag_choice,
    is_copy_question, stop_message,
};
pub use questions::{
    dedicated_role_sql, default_grants_question, driver_question, embeddings_diff_question,
    embeddings_question, flag_recipe, git_question, git_words, permission_question, reset_question,
};

use crate::data::privileges::RecipeId;
use serde::{Deserialize, Serialize};

/// The stable id of an answer: sent back in `Msg::Decide`, printed by the headless runner,
/// mapped from command-line flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChoiceId {
    /// Stop; nothing is written.
    Abort,
    /// Leave the rows with bad values out, into the reject files.
    SkipRows,
    /// Apply each problem's named fix.
    Fix,
    /// Empty the target tables that already hold rows, then load.
    EmptyAndLoad,
    /// Leave derived tables empty on PostgreSQL, to be rebuilt by the app.
    LeaveEmpty,
    /// Copy everything else and leave behind the SQLite data that has no place on
    /// PostgreSQL (reported table by table).
    LeaveBehind,
    /// Run this permission recipe as the admin.
    Recipe(RecipeId),
    /// Save the permission fix as a SQL script for a DBA.
    SaveSql,
    /// Check the permissions again (after a DBA ran the script).
    Recheck,
    /// Install the PostgreSQL driver into the project's Python.
    InstallDriver,
    /// Go on although the git tree is not clean (Backup).
    Continue,
    /// Move the selected apps' migrations into the backup and regenerate them.
    ResetSelected,
    /// Keep every migration as it is (Reset migrations).
    KeepMigrations,
    /// Write the settings change (backup first, atomic), then validate it.
    WriteSettings,
    /// Use the other settings style (env variables / DATABASE_URL).
    OtherStyle,
    /// Put the old settings file back.
    RevertSettings,
    /// Keep what is there (settings written but not validated; the snippet pasted by hand).
    KeepSettings,
    /// Put the old migrations and settings.py back (`dj2pg restore`).
    RestoreFiles,
    /// Restore, moving the files changed since into the backup first (`--yes`).
    RestoreAnyway,
    /// Leave the embeddings as they are.
    KeepEmbeddings,
    /// Turn the embeddings into pgvector's `vector`.
    ToVector,
    /// Turn the embeddings into pgvector's `halfvec`.
    ToHalfVec,
    /// Go on with the per-column embeddings choices shown.
    EmbeddingsChosen,
    /// Write the pgvector change shown as a diff.
    ApplyEmbeddings,
    /// Back to the per-column embeddings choices.
    BackToChoices,
    /// Run migrate, then revoke the default grants on the tables it made (Create schema).
    RevokeGrants,
    /// Run migrate and keep the default grants (stated in the report).
    KeepGrants,
    /// Cutover: leave the rows changed on both sides as PostgreSQL has them.
    KeepPostgres,
    /// Cutover: write SQLite's version over the rows changed on both sides.
    TakeSqlite,
}

impl ChoiceId {
    /// The few words of the hint bar (80 columns hold many choices at once).
    pub fn hint(self) -> String {
        match self {
            ChoiceId::Recipe(r) => format!("recipe {}", r.letter()),
            ChoiceId::EmptyAndLoad => "empty+copy".into(),
            ChoiceId::ResetSelected => "reset".into(),
            ChoiceId::KeepMigrations => "keep".into(),
            ChoiceId::WriteSettings => "write".into(),
            ChoiceId::OtherStyle => "other style".into(),
            ChoiceId::RevertSettings => "revert".into(),
            ChoiceId::KeepSettings => "keep".into(),
            ChoiceId::SaveSql => "save SQL".into(),
            ChoiceId::KeepEmbeddings => "no pgvector".into(),
            ChoiceId::EmbeddingsChosen => "go on".into(),
            ChoiceId::ApplyEmbeddings => "apply".into(),
            ChoiceId::BackToChoices => "go back".into(),
            ChoiceId::RevokeGrants => "revoke".into(),
            ChoiceId::KeepGrants => "keep".into(),
            ChoiceId::KeepPostgres => "keep PostgreSQL's".into(),
            ChoiceId::TakeSqlite => "take SQLite's".into(),
            other => other.slug().into(),
        }
    }

    /// The machine name (JSON output, hints).
    pub fn slug(self) -> &'static str {
        match self {
            ChoiceId::Abort => "abort",
            ChoiceId::SkipRows => "skip-rows",
            ChoiceId::Fix => "fix",
            ChoiceId::EmptyAndLoad => "empty-and-load",
            ChoiceId::LeaveEmpty => "leave-empty",
            ChoiceId::LeaveBehind => "leave-behind",
            ChoiceId::Recipe(r) => r.as_str(),
            ChoiceId::SaveSql => "save-sql",
            ChoiceId::Recheck => "recheck",
            ChoiceId::InstallDriver => "install-driver",
            ChoiceId::Continue => "continue",
            ChoiceId::ResetSelected => "reset-selected",
            ChoiceId::KeepMigrations => "keep-migrations",
            ChoiceId::WriteSettings => "write-settings",
            ChoiceId::OtherStyle => "other-style",
            ChoiceId::RevertSettings => "revert-settings",
            ChoiceId::KeepSettings => "keep-settings",
            ChoiceId::RestoreFiles => "restore",
            ChoiceId::RestoreAnyway => "restore-anyway",
            ChoiceId::KeepEmbeddings => "keep-embeddings",
            ChoiceId::ToVector => "vector",
            ChoiceId::ToHalfVec => "halfvec",
            ChoiceId::EmbeddingsChosen => "embeddings-chosen",
            ChoiceId::ApplyEmbeddings => "apply-embeddings",
            ChoiceId::BackToChoices => "back-to-choices",
            ChoiceId::RevokeGrants => "revoke-grants",
            ChoiceId::KeepGrants => "keep-grants",
            ChoiceId::KeepPostgres => "keep-postgres",
            ChoiceId::TakeSqlite => "take-sqlite",
        }
    }
}

/// A choice offered when a step needs the user's decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    pub id: ChoiceId,
    /// The key that picks it on screen.
    pub key: char,
    pub label: String,
}

fn choice(id: ChoiceId, key: char, label: &str) -> Choice {
    Choice {
        id,
        key,
        label: label.into(),
    }
}

/// Which question a step is waiting on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Question {
    /// SQLite tables or columns that hold data and have no place on PostgreSQL.
    UnmappedData,
    /// Tables of derived data that are not copied.
    DerivedTables,
    /// Values PostgreSQL would reject.
    BadValues,
    /// Target tables that already hold rows.
    NonEmptyTargets,
    /// The app role lacks what `migrate` and the copy need: which fix.
    PermissionFix,
    /// The project's Python has no PostgreSQL driver: install it?
    InstallDriver,
    /// The backup is made, but the git tree is not clean (or not a repository).
    GitNotClean,
    /// Which apps' migrations to reset (space toggles), then confirm.
    ResetConfirm,
    /// Write the settings change shown?
    SettingsWrite,
    /// The written settings did not validate: put the old file back?
    SettingsInvalid,
    /// Roll the project's files back from the backup (Done)?
    Restore,
    /// The SQLite file holds embeddings: per column, keep them or make them pgvector
    /// columns (Create schema's choice screen)?
    Embeddings,
    /// The pgvector change, shown as a diff: write it, or go back to the choices?
    EmbeddingsDiff,
    /// The role that runs migrate hands its new tables to other roles (Supabase's API
    /// roles) through default privileges: stop, revoke after migrate, or keep?
    DefaultGrants,
    /// Cutover: rows changed on PostgreSQL since the copy that SQLite changed too.
    SyncConflicts,
}

#[cfg(test)]
mod tests;
