//! The Reset migrations step's preview (the migration scan), what the reset moved, and
//! what `dj2pg restore` did.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

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

    /// The third-party apps, whose migrations are kept (named beside the plan).
    pub fn kept_labels(&self) -> Vec<&str> {
        self.apps
            .iter()
            .filter(|a| !a.local)
            .map(|a| a.label.as_str())
            .collect()
    }

    /// The apps `--reset-migrations=all|none|APP,APP` selects: `all` is every resettable
    /// app; a named app must exist and be resettable (the error says why not).
    pub fn select(&self, spec: &str) -> Result<Vec<String>, String> {
        let spec = spec.trim();
        if spec.is_empty() || spec == "none" {
            return Ok(Vec::new());
        }
        if spec == "all" {
            return Ok(self
                .apps
                .iter()
                .filter(|a| a.resettable())
                .map(|a| a.label.clone())
                .collect());
        }
        let mut out = Vec::new();
        for label in spec.split(',').map(str::trim).filter(|l| !l.is_empty()) {
            // The caller names the flag: these messages do not repeat it.
            let app = self.app(label).ok_or_else(|| {
                crate::data::django::unknown_app(
                    label,
                    self.apps
                        .iter()
                        .filter(|a| a.local)
                        .map(|a| a.label.as_str()),
                )
            })?;
            if !app.local {
                return Err(format!("{label} is a third-party app: it is kept"));
            }
            if !app.resettable() {
                return Err(format!("{label} has no migration files to reset"));
            }
            if !out.iter().any(|l| l == label) {
                out.push(label.to_string());
            }
        }
        Ok(out)
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
                let (files, verbs, them) = if data.len() == 1 {
                    ("1 migration file".to_string(), "writes data or runs", "it")
                } else {
                    (
                        format!("{} migration files", data.len()),
                        "write data or run",
                        "them",
                    )
                };
                hints.push(format!(
                    "{}: {files} {verbs} hand-written code (RunPython, RunSQL), which \
                     makemigrations will not write again ({}); keep {them}, or copy {them} \
                     into the new migrations by hand",
                    app.label,
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

#[cfg(test)]
#[path = "reset_tests.rs"]
mod tests;
