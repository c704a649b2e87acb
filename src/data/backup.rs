//! What the Backup and Reset migrations steps take as input and report back, the backup
//! folder's manifest, and what `dj2pg restore` reports.
//!
//! Plain serializable data: the workers in `crate::backup` and `crate::django::migrations`
//! fill it, the state machine stores it, the screens draw it. Paths inside a manifest are
//! relative (to the project for originals, to the backup folder for archived copies) so a
//! backup stays valid when both folders move together.

mod manifest;
mod reset;

pub use manifest::*;
pub use reset::*;

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The status of one line of a checklist.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CheckStatus {
    /// Not reached (an earlier item failed, or the step has not run).
    Pending,
    /// Done and verified.
    Ok,
    /// Done, but the user should read the detail (e.g. a dirty git tree).
    Warning,
    /// Stopped the step; the detail says why and what to fix.
    Failed,
    /// Nothing to do (e.g. no SQLite database, no local migrations).
    Skipped,
}

/// Which line of the Backup checklist an item is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CheckKind {
    Git,
    Folder,
    FreeSpace,
    SqliteCopy,
    Integrity,
    RowCounts,
    Checksum,
    MigrationsArchive,
    Manifest,
}

impl CheckKind {
    /// The checklist's label for this item.
    pub fn title(self) -> &'static str {
        match self {
            CheckKind::Git => "Git working tree",
            CheckKind::Folder => "Backup folder",
            CheckKind::FreeSpace => "Free space",
            CheckKind::SqliteCopy => "SQLite copy (safe while the app writes)",
            CheckKind::Integrity => "Integrity check of the copy",
            CheckKind::RowCounts => "Row counts, copy vs source",
            CheckKind::Checksum => "SHA-256 and size",
            CheckKind::MigrationsArchive => "Migrations archived",
            CheckKind::Manifest => "Manifest written",
        }
    }

    /// Every item, in the order the checklist shows them.
    pub const ALL: [CheckKind; 9] = [
        CheckKind::Git,
        CheckKind::Folder,
        CheckKind::FreeSpace,
        CheckKind::SqliteCopy,
        CheckKind::Integrity,
        CheckKind::RowCounts,
        CheckKind::Checksum,
        CheckKind::MigrationsArchive,
        CheckKind::Manifest,
    ];
}

/// One line of the Backup checklist.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckItem {
    pub kind: CheckKind,
    pub status: CheckStatus,
    /// One line for the checklist row (e.g. `12.3 MB, 14 tables`).
    pub summary: String,
    /// More lines for a detail pane (changed files, per-table counts, the checker's words).
    #[serde(default)]
    pub detail: Vec<String>,
}

/// The project's git working tree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum GitState {
    /// Nothing to commit: the code can be got back with git.
    Clean,
    /// Uncommitted changes: `git status --porcelain` lines (e.g. ` M aiproto/settings.py`).
    Dirty { changed: Vec<String> },
    /// Not a git repository, or git could not run: a warning to acknowledge.
    NotARepository { reason: String },
}

/// One app's migrations folder, as Discover found it (local apps only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppMigrationsDir {
    pub label: String,
    pub migrations_dir: PathBuf,
}

/// What the Backup step needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupRequest {
    /// The folder holding manage.py.
    pub project_dir: PathBuf,
    /// The SQLite file to back up (`None`: the project has none; that line is skipped).
    pub sqlite: Option<PathBuf>,
    /// Where the backup goes; `None`: `<project>/.dj2pg/backups/<timestamp>/`. A folder given
    /// here must not exist yet or be empty, and its parent must exist.
    pub backup_dir: Option<PathBuf>,
    /// The local apps' migrations folders to archive.
    pub apps: Vec<AppMigrationsDir>,
    /// How long to wait for a writer holding the database locked, in milliseconds.
    pub busy_timeout_ms: u64,
}

/// Row counts of one table in the source and in the copy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableCount {
    pub table: String,
    pub source_rows: u64,
    pub copy_rows: u64,
}

/// The verified SQLite copy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SqliteBackup {
    /// The user's database (absolute).
    pub source: PathBuf,
    /// The copy's file name inside the backup folder (e.g. `db.sqlite3`).
    pub file: String,
    pub size: u64,
    pub sha256: String,
    /// `PRAGMA integrity_check`'s answer on the copy (`ok`).
    pub integrity: String,
    /// The source's journal mode (`wal`, `delete`, ...). The copy is always in rollback
    /// (`delete`) mode: a single self-contained file.
    pub source_journal_mode: String,
    /// Bytes of the source's `-wal` file when the backup was taken (its committed frames
    /// are in the copy).
    pub source_wal_bytes: u64,
    pub tables: Vec<TableCount>,
}

impl SqliteBackup {
    pub fn total_rows(&self) -> u64 {
        self.tables.iter().map(|t| t.copy_rows).sum()
    }
}

/// One file of an archive: its path relative to the app's migrations folder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchivedFile {
    /// e.g. `0001_initial.py`, `__pycache__/0001_initial.cpython-312.pyc`.
    pub rel_path: String,
    pub size: u64,
    pub sha256: String,
}

/// One app's archived migrations folder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchivedApp {
    pub label: String,
    /// The migrations folder, relative to the project.
    pub source_dir: PathBuf,
    /// Its copy, relative to the backup folder (`migrations/<label>`).
    pub archive_dir: PathBuf,
    pub files: Vec<ArchivedFile>,
}

/// Every local migrations folder, copied.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MigrationsArchive {
    pub apps: Vec<ArchivedApp>,
}

impl MigrationsArchive {
    pub fn total_files(&self) -> usize {
        self.apps.iter().map(|a| a.files.len()).sum()
    }
    pub fn total_bytes(&self) -> u64 {
        self.apps
            .iter()
            .flat_map(|a| &a.files)
            .map(|f| f.size)
            .sum()
    }
}

/// What happened to the project's `.gitignore`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum GitignoreChange {
    /// `.dj2pg/` was already ignored.
    AlreadyIgnored,
    /// A `.dj2pg/` line was appended to an existing `.gitignore`.
    Appended,
    /// `.gitignore` did not exist and was created with that line.
    Created,
    /// The backup folder is outside `.dj2pg/`: `.gitignore` was left alone.
    NotNeeded,
}

/// How the Backup step ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BackupOutcome {
    /// Everything verified; the manifest is written.
    Verified,
    /// Stopped: `message` names the file and what to do. Nothing half-written remains.
    Failed { message: String },
}

/// What the Backup step reports: the checklist a screen shows, and what was made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupReport {
    pub outcome: BackupOutcome,
    /// Absolute path of the backup folder (on failure: where it would have been).
    pub backup_dir: PathBuf,
    pub checklist: Vec<CheckItem>,
    pub git: GitState,
    pub sqlite: Option<SqliteBackup>,
    pub migrations: MigrationsArchive,
    pub gitignore: Option<GitignoreChange>,
}

impl BackupReport {
    pub fn verified(&self) -> bool {
        self.outcome == BackupOutcome::Verified
    }
    pub fn item(&self, kind: CheckKind) -> Option<&CheckItem> {
        self.checklist.iter().find(|i| i.kind == kind)
    }
}

/// The folder, inside the project, that holds dj2pg's backups, reports and records (and is
/// git-ignored). The one spelling of `.dj2pg`.
pub const DJ2PG_DIR: &str = ".dj2pg";
