//! What the Backup and Reset migrations steps take as input and report back, the backup
//! folder's manifest, and what `dj2pg restore` reports.
//!
//! Plain serializable data: the workers in `crate::backup` and `crate::django::migrations`
//! fill it, the state machine stores it, the screens draw it. Paths inside a manifest are
//! relative (to the project for originals, to the backup folder for archived copies) so a
//! backup stays valid when both folders move together.

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
            CheckKind::SqliteCopy => "SQLite copy (online backup)",
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

/// Why a migrations file needs the user's attention before it goes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MigrationWarning {
    /// A data migration in Python: `makemigrations` never regenerates it.
    RunPython { elidable: bool },
    /// Hand-written SQL: `makemigrations` never regenerates it.
    RunSql { elidable: bool },
    /// Database and state operations split by hand.
    SeparateDatabaseAndState,
    /// An operation from outside `django.db.migrations` (e.g. `CreateExtension`).
    ExternalOperation { name: String },
    /// A squashed migration that replaces others.
    Squashed { replaces: Vec<String> },
    /// A migration of another app names this one in its dependencies: after the reset it
    /// fails with `NodeNotFoundError` (unless that app is reset too, or the name comes back).
    DependedOnBy {
        app: String,
        migration: String,
        /// The dependent app is local (it can be reset too); otherwise third-party.
        local: bool,
    },
    /// A `.py` in the folder that Django does not load as a migration (name starts with `_`
    /// or `~`): other migrations may import it.
    NotAMigration,
    /// A compiled file whose source `.py` is gone (left behind by an earlier `find -delete`).
    StaleCompiled,
    /// Python could not parse the file: the other checks could not run on it.
    Unparsable { message: String },
}

impl MigrationWarning {
    /// True for what `makemigrations` will not regenerate (the data the reset would drop).
    pub fn loses_work(&self) -> bool {
        matches!(
            self,
            MigrationWarning::RunPython { .. }
                | MigrationWarning::RunSql { .. }
                | MigrationWarning::SeparateDatabaseAndState
                | MigrationWarning::ExternalOperation { .. }
        )
    }

    /// One line for the screen.
    pub fn message(&self) -> String {
        let el = |e: bool| if e { " (elidable)" } else { "" };
        match self {
            MigrationWarning::RunPython { elidable } => format!(
                "RunPython{}: a data migration makemigrations will not regenerate",
                el(*elidable)
            ),
            MigrationWarning::RunSql { elidable } => format!(
                "RunSQL{}: hand-written SQL makemigrations will not regenerate",
                el(*elidable)
            ),
            MigrationWarning::SeparateDatabaseAndState => {
                "SeparateDatabaseAndState: hand-split operations makemigrations will not regenerate"
                    .into()
            }
            MigrationWarning::ExternalOperation { name } => {
                format!("{name}: an operation from outside django.db.migrations")
            }
            MigrationWarning::Squashed { replaces } => format!(
                "squashed migration replacing {}",
                if replaces.is_empty() {
                    "(unreadable list)".to_string()
                } else {
                    replaces.join(", ")
                }
            ),
            MigrationWarning::DependedOnBy {
                app,
                migration,
                local,
            } => format!(
                "{app}.{migration} ({}) depends on it by name: NodeNotFoundError after the reset",
                if *local { "local" } else { "third-party" }
            ),
            MigrationWarning::NotAMigration => {
                "not loaded by Django as a migration (a helper module?)".into()
            }
            MigrationWarning::StaleCompiled => "stale compiled file: its .py is gone".into(),
            MigrationWarning::Unparsable { message } => {
                format!("Python cannot parse it: {message}")
            }
        }
    }
}

/// What a file in a migrations folder is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MigrationFileKind {
    /// A migration module (`0001_initial.py`).
    Migration,
    /// Another `.py` (not `__init__.py`) that Django does not load.
    OtherPython,
    /// A compiled file in `__pycache__/`.
    Compiled,
}

/// One file the reset would move.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileToGo {
    /// Relative to the migrations folder: `0002_default_labels.py`,
    /// `__pycache__/0002_default_labels.cpython-312.pyc`.
    pub rel_path: String,
    pub kind: MigrationFileKind,
    pub size: u64,
    #[serde(default)]
    pub warnings: Vec<MigrationWarning>,
}

/// How an app's migrations are set up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MigrationsSetup {
    /// `<app>/migrations/`.
    Standard,
    /// `MIGRATION_MODULES` points elsewhere.
    Relocated { module: String },
    /// `MIGRATION_MODULES[label] = None`: no migrations; nothing to reset.
    Disabled,
    /// The module does not exist or has no folder: the app has no migrations.
    Missing,
    /// A folder without `__init__.py`: Django ignores it (the app counts as unmigrated).
    NoInitPy,
}

/// One app as the reset screen shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppScan {
    pub label: String,
    /// The app's Python module (`classifier`, `django.contrib.auth`).
    pub name: String,
    /// Inside the project and not a virtualenv: may be reset. Third-party apps are "kept".
    pub local: bool,
    pub migrations_module: Option<String>,
    pub migrations_dir: Option<PathBuf>,
    pub setup: MigrationsSetup,
    /// Exactly the files the reset would move (empty for third-party apps).
    pub files: Vec<FileToGo>,
    /// Notes on the app as a whole (e.g. why it cannot be reset).
    #[serde(default)]
    pub notes: Vec<String>,
}

impl AppScan {
    /// May this app be selected for the reset?
    pub fn resettable(&self) -> bool {
        self.local && self.migrations_dir.is_some() && !self.files.is_empty()
    }
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }
    pub fn warning_count(&self) -> usize {
        self.files.iter().map(|f| f.warnings.len()).sum()
    }
    /// Files holding work `makemigrations` will not regenerate.
    pub fn data_migrations(&self) -> Vec<&FileToGo> {
        self.files
            .iter()
            .filter(|f| f.warnings.iter().any(MigrationWarning::loses_work))
            .collect()
    }
}

/// What the migration scan found, for the Reset migrations screen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MigrationScan {
    pub apps: Vec<AppScan>,
    /// Things that concern no single file (e.g. a migration that could not be parsed).
    #[serde(default)]
    pub warnings: Vec<String>,
}

impl MigrationScan {
    pub fn app(&self, label: &str) -> Option<&AppScan> {
        self.apps.iter().find(|a| a.label == label)
    }

    /// (files, bytes) the reset would move for the selected apps.
    pub fn totals(&self, selected: &[String]) -> (usize, u64) {
        self.apps
            .iter()
            .filter(|a| selected.contains(&a.label))
            .fold((0, 0), |(n, b), a| (n + a.files.len(), b + a.total_bytes()))
    }

    /// Warnings that still matter for this selection: a dependency from an app that is
    /// itself reset disappears with it, so it is left out.
    pub fn warnings_for_selection(&self, selected: &[String]) -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        for app in self.apps.iter().filter(|a| selected.contains(&a.label)) {
            for f in &app.files {
                for w in &f.warnings {
                    if let MigrationWarning::DependedOnBy { app: dep, .. } = w {
                        if selected.contains(dep) {
                            continue;
                        }
                    }
                    out.push((app.label.clone(), f.rel_path.clone(), w.message()));
                }
            }
        }
        out
    }

    /// Why keeping the migrations may be wiser for this selection; empty when nothing
    /// argues against the reset. `applied_elsewhere`: the user says other databases
    /// (staging, production) have applied these migrations.
    pub fn keep_hints(&self, selected: &[String], applied_elsewhere: bool) -> Vec<String> {
        let mut hints = Vec::new();
        for app in self.apps.iter().filter(|a| selected.contains(&a.label)) {
            let data = app.data_migrations();
            if !data.is_empty() {
                hints.push(format!(
                    "{}: {} hold(s) data or hand-written operations that makemigrations will not \
                     regenerate ({}); keep them, or copy them into the new migrations by hand",
                    app.label,
                    data.len(),
                    data.iter()
                        .map(|f| f.rel_path.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        let deps = self
            .warnings_for_selection(selected)
            .into_iter()
            .filter(|(_, _, m)| m.contains("NodeNotFoundError"))
            .count();
        if deps > 0 {
            hints.push(format!(
                "{deps} migration(s) of other apps depend on migrations that would go: they \
                 would fail with NodeNotFoundError"
            ));
        }
        if applied_elsewhere {
            hints.push(
                "other databases have applied these migrations: after a reset each of them \
                 needs `migrate --fake-initial` (or `--fake`), and their django_migrations rows \
                 no longer match the files"
                    .into(),
            );
        }
        hints
    }
}

/// What the reset did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetReport {
    pub backup_dir: PathBuf,
    /// Per app: the files moved, with their archive paths (relative to the backup folder).
    pub moved: Vec<MovedFile>,
    /// Apps skipped and why (e.g. outside the project).
    #[serde(default)]
    pub refused: Vec<(String, String)>,
}

impl ResetReport {
    pub fn total_bytes(&self) -> u64 {
        self.moved.iter().map(|m| m.size).sum()
    }
}

/// One file moved by the reset or by restore.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovedFile {
    pub app: String,
    /// Relative to the project.
    pub original: PathBuf,
    /// Relative to the backup folder.
    pub archived: PathBuf,
    pub sha256: String,
    pub size: u64,
}

/// A file restore would not overwrite on its own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreConflict {
    /// Relative to the project.
    pub path: PathBuf,
    pub reason: String,
}

/// What `dj2pg restore` did (or, with conflicts and no `--yes`, would do).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreReport {
    /// True when the project was changed; false when conflicts stopped it (nothing moved).
    pub applied: bool,
    /// Old files put back (relative to the project), each verified by hash.
    pub restored: Vec<PathBuf>,
    /// Files already back in place with the right content.
    pub already_in_place: Vec<PathBuf>,
    /// Files written after the reset, moved into the archive (`regenerated/...`).
    pub displaced: Vec<MovedFile>,
    pub conflicts: Vec<RestoreConflict>,
    /// Lines for the user (e.g. "the reset record is missing: nothing to put back").
    pub notes: Vec<String>,
}
