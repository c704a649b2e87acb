//! The Backup step's worker: the checklist, filled item by item, and the cleanup when an
//! item fails.

use super::folder::{self, Created};
use super::{
    CopyOptions, MANIFEST_FILE, archive_migrations, backup_sqlite, default_backup_dir,
    ensure_gitignore, git_state, hash, manifest, paths, space, sqlite, write_manifest,
};
use crate::data::backup::{
    BackupOutcome, BackupReport, BackupRequest, CheckItem, CheckKind, CheckStatus, EntryKind,
    GitState, GitignoreChange, Manifest, ManifestEntry, MigrationsArchive, SqliteBackup,
};
use crate::units::human_bytes;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// Room kept free beyond the backup's own size (the manifest, the file system's margin).
const SPACE_MARGIN: u64 = 1 << 20;

/// The Backup step's worker: git state, backup folder, free space, the verified SQLite
/// copy, the migrations archive, the manifest, then `.dj2pg/` in `.gitignore`.
///
/// Returns `Ok` with a checklist whenever the step reached a verdict (look at
/// `report.outcome`: a failure names the file and what to do, and nothing half-written is
/// left). `Err` only when the project folder itself cannot be read.
pub fn run_backup(
    req: BackupRequest,
    log: &mut dyn FnMut(String),
    cancel: Arc<AtomicBool>,
) -> Result<BackupReport> {
    let project = std::fs::canonicalize(&req.project_dir).with_context(|| {
        format!(
            "the project folder {} cannot be read",
            req.project_dir.display()
        )
    })?;
    let default_location = req.backup_dir.is_none();
    let backup_dir = resolve_backup_dir(&project, req.backup_dir.as_deref());
    let mut run = Run::new(backup_dir.clone());
    let git = run.check_git(&project, log);
    let filled = run
        .prepare_folder(&backup_dir, default_location)
        .and_then(|()| run.check_free_space(&req, &backup_dir))
        .and_then(|()| run.copy_sqlite(&req, &project, &backup_dir, log, &cancel))
        .and_then(|mut entries| {
            entries.extend(run.archive_migrations(&project, &req, &backup_dir)?);
            Ok(entries)
        })
        .and_then(|entries| run.write_manifest(&project, &backup_dir, git, entries));
    if let Err(Stop { kind, message }) = filled {
        return Ok(run.fail(kind, message));
    }
    // Only now that the backup is whole.
    run.update_gitignore(&project, &backup_dir);
    log(format!("backup verified in {}", backup_dir.display()));
    let Run { report, created } = run;
    created.keep();
    Ok(report)
}

/// Where the backup goes: the folder asked for (relative to the project), or a new dated
/// folder under the project's `.dj2pg/`.
fn resolve_backup_dir(project: &Path, asked: Option<&Path>) -> PathBuf {
    match asked {
        Some(d) if d.is_relative() => project.join(d),
        Some(d) => d.to_path_buf(),
        None => default_backup_dir(project, chrono::Utc::now()),
    }
}

/// Bytes of every file in the apps' migrations folders: what the archive needs on disk.
fn migrations_bytes(req: &BackupRequest) -> u64 {
    req.apps
        .iter()
        .filter_map(|a| hash::walk_files(&a.migrations_dir).ok().map(|f| (a, f)))
        .flat_map(|(a, files)| files.into_iter().map(move |f| a.migrations_dir.join(f)))
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

/// The checklist item that stopped the backup, and why.
struct Stop {
    kind: CheckKind,
    message: String,
}

impl Stop {
    fn new(kind: CheckKind, message: String) -> Self {
        Stop { kind, message }
    }
}

/// The report being filled, and what to remove if it fails.
struct Run {
    report: BackupReport,
    created: Created,
}

/// The checklist's items in order, each a step of the backup.
impl Run {
    fn new(backup_dir: PathBuf) -> Self {
        Run {
            report: BackupReport {
                outcome: BackupOutcome::Verified,
                backup_dir,
                checklist: CheckKind::ALL
                    .iter()
                    .map(|&kind| CheckItem {
                        kind,
                        status: CheckStatus::Pending,
                        summary: String::new(),
                        detail: Vec::new(),
                    })
                    .collect(),
                git: GitState::Clean,
                sqlite: None,
                migrations: MigrationsArchive::default(),
                gitignore: None,
            },
            created: Created::default(),
        }
    }

    /// Git: a warning, never a stop.
    fn check_git(&mut self, project: &Path, log: &mut dyn FnMut(String)) -> GitState {
        let git = git_state(project);
        match &git {
            GitState::Clean => self.set(
                CheckKind::Git,
                CheckStatus::Ok,
                "clean: the code is committed",
                vec![],
            ),
            GitState::Dirty { changed } => self.set(
                CheckKind::Git,
                CheckStatus::Warning,
                &format!(
                    "{} uncommitted change(s): commit them to get the code back with git",
                    changed.len()
                ),
                changed.clone(),
            ),
            GitState::NotARepository { reason } => self.set(
                CheckKind::Git,
                CheckStatus::Warning,
                "not a git repository",
                vec![reason.clone()],
            ),
        }
        self.report.git = git.clone();
        log(format!("git: {}", self.item(CheckKind::Git).summary));
        git
    }

    fn prepare_folder(&mut self, backup_dir: &Path, default_location: bool) -> Result<(), Stop> {
        folder::prepare_dir(backup_dir, default_location, &mut self.created)
            .map_err(|e| Stop::new(CheckKind::Folder, format!("{e:#}")))?;
        self.set(
            CheckKind::Folder,
            CheckStatus::Ok,
            &backup_dir.display().to_string(),
            vec![],
        );
        Ok(())
    }

    /// Free space: the copy needs about the database plus its WAL, and the archive.
    fn check_free_space(&mut self, req: &BackupRequest, backup_dir: &Path) -> Result<(), Stop> {
        let (db_bytes, wal_bytes) = req
            .sqlite
            .as_deref()
            .map(sqlite::source_bytes)
            .unwrap_or((0, 0));
        let needed = db_bytes + wal_bytes + migrations_bytes(req) + SPACE_MARGIN;
        match space::available_bytes(backup_dir) {
            Ok(free) if free < needed => {
                return Err(Stop::new(
                    CheckKind::FreeSpace,
                    format!(
                        "not enough free space for the backup in {}: it needs about {}, {} are free. \
                         Free some space or choose another folder (--backup-dir)",
                        backup_dir.display(),
                        human_bytes(needed),
                        human_bytes(free)
                    ),
                ));
            }
            Ok(free) => self.set(
                CheckKind::FreeSpace,
                CheckStatus::Ok,
                &format!("{} needed, {} free", human_bytes(needed), human_bytes(free)),
                vec![],
            ),
            Err(e) => self.set(
                CheckKind::FreeSpace,
                CheckStatus::Warning,
                &format!("{e:#}"),
                vec![],
            ),
        }
        Ok(())
    }

    /// The verified SQLite copy; its manifest entry (none when the project has no SQLite
    /// database).
    fn copy_sqlite(
        &mut self,
        req: &BackupRequest,
        project: &Path,
        backup_dir: &Path,
        log: &mut dyn FnMut(String),
        cancel: &AtomicBool,
    ) -> Result<Vec<ManifestEntry>, Stop> {
        let Some(source) = &req.sqlite else {
            for k in [
                CheckKind::SqliteCopy,
                CheckKind::Integrity,
                CheckKind::RowCounts,
                CheckKind::Checksum,
            ] {
                self.set(
                    k,
                    CheckStatus::Skipped,
                    "the project has no SQLite database",
                    vec![],
                );
            }
            return Ok(Vec::new());
        };
        let opts = CopyOptions {
            busy_timeout: Duration::from_millis(req.busy_timeout_ms),
            cancel,
        };
        let b = backup_sqlite(source, backup_dir, &opts, log, &mut self.created)
            .map_err(|f| Stop::new(f.kind, f.message))?;
        self.record_sqlite_checks(source, &b);
        let entry = ManifestEntry {
            kind: EntryKind::SqliteBackup,
            original: paths::relative_to(project, source),
            archived: PathBuf::from(&b.file),
            sha256: b.sha256.clone(),
            size: b.size,
            replaced_by_sha256: None,
            app: None,
        };
        self.report.sqlite = Some(b);
        Ok(vec![entry])
    }

    /// The copy, integrity, row counts and checksum items of a verified copy.
    fn record_sqlite_checks(&mut self, source: &Path, b: &SqliteBackup) {
        self.set(
            CheckKind::SqliteCopy,
            CheckStatus::Ok,
            &format!("{} → {}", source.display(), b.file),
            if b.source_wal_bytes > 0 {
                vec![format!(
                    "the source is in {} mode; its {} of WAL are in the copy, which is a single file in rollback mode",
                    b.source_journal_mode,
                    human_bytes(b.source_wal_bytes)
                )]
            } else {
                vec![]
            },
        );
        self.set(CheckKind::Integrity, CheckStatus::Ok, "ok", vec![]);
        self.set(
            CheckKind::RowCounts,
            CheckStatus::Ok,
            &format!(
                "{}, all equal{}",
                crate::data::tables::counts_phrase(
                    b.tables.iter().map(|t| (t.table.as_str(), t.copy_rows))
                ),
                if b.tables
                    .iter()
                    .any(|t| crate::data::tables::sqlite_internal(&t.table))
                {
                    ", and SQLite's own counters (sqlite_sequence)"
                } else {
                    ""
                }
            ),
            b.tables
                .iter()
                .map(|t| format!("{}: {}", t.table, t.copy_rows))
                .collect(),
        );
        self.set(
            CheckKind::Checksum,
            CheckStatus::Ok,
            &format!("{}, sha256 {}", human_bytes(b.size), b.sha256),
            vec![],
        );
    }

    /// The migrations archive; its manifest entries, one per file.
    fn archive_migrations(
        &mut self,
        project: &Path,
        req: &BackupRequest,
        backup_dir: &Path,
    ) -> Result<Vec<ManifestEntry>, Stop> {
        let a = archive_migrations(project, &req.apps, backup_dir, &mut self.created)
            .map_err(|e| Stop::new(CheckKind::MigrationsArchive, format!("{e:#}")))?;
        let status = if a.apps.is_empty() {
            CheckStatus::Skipped
        } else {
            CheckStatus::Ok
        };
        self.set(
            CheckKind::MigrationsArchive,
            status,
            &format!(
                "{} app(s), {} file(s), {}",
                a.apps.len(),
                a.total_files(),
                human_bytes(a.total_bytes())
            ),
            a.apps
                .iter()
                .map(|app| {
                    format!(
                        "{}: {} file(s) from {}",
                        app.label,
                        app.files.len(),
                        app.source_dir.display()
                    )
                })
                .collect(),
        );
        let mut entries = Vec::new();
        for app in &a.apps {
            for f in &app.files {
                entries.push(ManifestEntry {
                    kind: EntryKind::MigrationArchive,
                    original: app.source_dir.join(&f.rel_path),
                    archived: app.archive_dir.join(&f.rel_path),
                    sha256: f.sha256.clone(),
                    size: f.size,
                    replaced_by_sha256: None,
                    app: Some(app.label.clone()),
                });
            }
        }
        self.report.migrations = a;
        Ok(entries)
    }

    /// The manifest that lists every file of the backup with its hash.
    fn write_manifest(
        &mut self,
        project: &Path,
        backup_dir: &Path,
        git: GitState,
        entries: Vec<ManifestEntry>,
    ) -> Result<(), Stop> {
        let manifest = Manifest {
            schema: manifest::MANIFEST_SCHEMA,
            tool_version: env!("CARGO_PKG_VERSION").into(),
            created_at: chrono::Utc::now().to_rfc3339(),
            project_dir: project.to_path_buf(),
            git,
            sqlite: self.report.sqlite.clone(),
            entries,
            reset: None,
        };
        self.created.file(backup_dir.join(MANIFEST_FILE));
        write_manifest(backup_dir, &manifest)
            .map_err(|e| Stop::new(CheckKind::Manifest, format!("{e:#}")))?;
        self.set(
            CheckKind::Manifest,
            CheckStatus::Ok,
            &backup_dir.join(MANIFEST_FILE).display().to_string(),
            vec![],
        );
        Ok(())
    }

    /// `.dj2pg/` in `.gitignore` when the backup is inside it: a warning, never a stop.
    fn update_gitignore(&mut self, project: &Path, backup_dir: &Path) {
        if !folder::inside_dj2pg_dir(project, backup_dir) {
            self.report.gitignore = Some(GitignoreChange::NotNeeded);
            return;
        }
        match ensure_gitignore(project) {
            Ok(change) => {
                self.report.gitignore = Some(change);
                let note = match change {
                    GitignoreChange::AlreadyIgnored => ".dj2pg/ is already in .gitignore",
                    GitignoreChange::Appended => ".dj2pg/ added to .gitignore",
                    GitignoreChange::Created => ".gitignore created with .dj2pg/",
                    GitignoreChange::NotNeeded => "",
                };
                self.item_mut(CheckKind::Folder).detail.push(note.into());
            }
            Err(e) => {
                let item = self.item_mut(CheckKind::Folder);
                item.status = CheckStatus::Warning;
                item.detail
                    .push(format!("{e:#}: add .dj2pg/ to .gitignore by hand"));
            }
        }
    }
}

impl Run {
    fn item_mut(&mut self, kind: CheckKind) -> &mut CheckItem {
        let idx = self
            .report
            .checklist
            .iter()
            .position(|i| i.kind == kind)
            .unwrap_or(0);
        &mut self.report.checklist[idx]
    }

    fn item(&mut self, kind: CheckKind) -> &CheckItem {
        self.item_mut(kind)
    }

    fn set(&mut self, kind: CheckKind, status: CheckStatus, summary: &str, detail: Vec<String>) {
        let item = self.item_mut(kind);
        item.status = status;
        item.summary = summary.to_string();
        item.detail = detail;
    }

    /// Mark `kind` failed with `message`; dropping `created` removes what was written.
    fn fail(mut self, kind: CheckKind, message: String) -> BackupReport {
        let first = message.lines().next().unwrap_or("").to_string();
        let rest = message.lines().skip(1).map(str::to_string).collect();
        self.set(kind, CheckStatus::Failed, &first, rest);
        self.report.outcome = BackupOutcome::Failed { message };
        self.report.sqlite = None;
        self.report.migrations = MigrationsArchive::default();
        let Run { report, created } = self;
        drop(created);
        report
    }
}

/// The default busy timeout: how long to wait for a writer to let go of the database.
pub const DEFAULT_BUSY_TIMEOUT_MS: u64 = 10_000;

/// A [`BackupRequest`] for a project as Discover found it: its SQLite file and its local
/// apps' migrations folders.
pub fn backup_request(
    discovery: &crate::django::Discovery,
    backup_dir: Option<&Path>,
) -> BackupRequest {
    BackupRequest {
        project_dir: discovery.project_dir.clone(),
        sqlite: discovery
            .database
            .name
            .clone()
            .filter(|_| discovery.database.engine.ends_with("sqlite3"))
            .filter(|p| p.is_file()),
        backup_dir: backup_dir.map(Path::to_path_buf),
        apps: discovery
            .local_apps()
            .filter_map(|a| {
                Some(crate::data::backup::AppMigrationsDir {
                    label: a.label.clone(),
                    migrations_dir: a.migrations_dir.clone()?,
                })
            })
            .filter(|a| a.migrations_dir.is_dir())
            .collect(),
        busy_timeout_ms: DEFAULT_BUSY_TIMEOUT_MS,
    }
}
