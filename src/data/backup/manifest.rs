//! `manifest.json`: every file a backup folder knows about, and the reset's record.
//! Entries are a list of `{kind, original, archived, sha256}` so later steps (the settings
//! rewrite) add kinds without changing the format.

use super::{ArchivedFile, GitState, SqliteBackup};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// What kind of file a manifest entry is about. New kinds may be added by later steps;
/// unknown kinds read from a newer manifest are kept as `Other`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// The verified SQLite copy (`original`: the user's database).
    SqliteBackup,
    /// A copy of a migrations file taken by the Backup step (the original stays in place).
    MigrationArchive,
    /// A migrations file moved out of the project by the reset (restore puts it back).
    ResetMoved,
    /// A file `makemigrations` wrote after the reset (`archived` is empty: it is in place).
    Regenerated,
    /// settings.py as it was before dj2pg rewrote it (restore copies it back).
    SettingsBackup,
    /// A file `restore` moved out of the project to make room (regenerated or changed).
    RestoreDisplaced,
    #[serde(other)]
    Other,
}

/// One file the backup folder knows about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    pub kind: EntryKind,
    /// The file in the project, relative to the project folder (the SQLite source may be
    /// absolute when it lives outside the project).
    pub original: PathBuf,
    /// Its copy, relative to the backup folder; empty when nothing was archived.
    #[serde(default)]
    pub archived: PathBuf,
    /// SHA-256 of the archived content (of the file in place for `Regenerated`).
    pub sha256: String,
    #[serde(default)]
    pub size: u64,
    /// SHA-256 of what dj2pg left at `original` in its place (e.g. the settings.py it wrote),
    /// so restore can tell dj2pg's own output from a later edit by the user.
    #[serde(default)]
    pub replaced_by_sha256: Option<String>,
    /// The app label, for migration files.
    #[serde(default)]
    pub app: Option<String>,
}

/// One app's migrations folder as the reset left it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetApp {
    pub label: String,
    /// The migrations folder, relative to the project.
    pub migrations_dir: PathBuf,
    /// Files left in place (`__init__.py`, non-migration files), relative to the folder,
    /// with their hashes: anything else found there later was written after the reset.
    pub kept: Vec<ArchivedFile>,
}

/// The reset's record in the manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetRecord {
    pub at: String,
    pub apps: Vec<ResetApp>,
}

/// `manifest.json` in the backup folder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Format version of this file (1).
    pub schema: u32,
    pub tool_version: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// The project folder (absolute) when the backup was taken.
    pub project_dir: PathBuf,
    pub git: GitState,
    #[serde(default)]
    pub sqlite: Option<SqliteBackup>,
    #[serde(default)]
    pub entries: Vec<ManifestEntry>,
    #[serde(default)]
    pub reset: Option<ResetRecord>,
}
