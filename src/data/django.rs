//! What Discover learns about a Django project: its apps, models, settings and SQLite file.
//! Plain data held by the state machine and shown by the Discover screen.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// How discovery learnt what it knows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Method {
    /// Django itself answered, through the project's Python.
    Introspected,
    /// Django could not be run; the tree was read instead. `reason` says why.
    StaticScan { reason: String },
}

/// One model's field, as Django describes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldInfo {
    pub name: String,
    pub column: String,
    pub internal_type: String,
    pub max_length: Option<u32>,
    pub null: bool,
    #[serde(default)]
    pub primary_key: bool,
    #[serde(default)]
    pub related_table: Option<String>,
    /// The abstract model this field is inherited from, when the model's own class does not
    /// declare it (a change to it would be a change to every model inheriting it).
    #[serde(default)]
    pub declared_in: Option<DeclaredIn>,
}

/// The class that declares an inherited field, and its file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeclaredIn {
    pub name: String,
    pub source: Option<PathBuf>,
}

/// One model.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelInfo {
    pub name: String,
    pub table: String,
    #[serde(default = "yes")]
    pub managed: bool,
    #[serde(default)]
    pub proxy: bool,
    /// The file that defines the model's class (`models.py`, or a module of a models
    /// package); unknown for runs saved before it and for static scans.
    #[serde(default)]
    pub source: Option<PathBuf>,
    #[serde(default)]
    pub fields: Vec<FieldInfo>,
}

fn yes() -> bool {
    true
}

/// One installed app.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppInfo {
    pub label: String,
    pub name: String,
    pub path: Option<PathBuf>,
    /// Lives inside the project directory (and not in a virtualenv): ours to touch.
    pub local: bool,
    pub migrations_dir: Option<PathBuf>,
    #[serde(default)]
    pub migration_files: Vec<String>,
    /// Migration files with `RunPython`/`RunSQL`, which `makemigrations` never regenerates.
    #[serde(default)]
    pub data_migrations: Vec<String>,
    #[serde(default)]
    pub models: Vec<ModelInfo>,
}

/// The default database as settings.py declares it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseInfo {
    pub engine: String,
    pub name: Option<PathBuf>,
}

/// Everything Discover learnt.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Discovery {
    pub project_dir: PathBuf,
    pub manage_py: PathBuf,
    pub python: Option<PathBuf>,
    /// Where the interpreter came from (`--python`, `$VIRTUAL_ENV`, `.venv`, …).
    pub python_source: String,
    pub method: Method,
    pub django_version: Option<String>,
    pub settings_module: Option<String>,
    pub database: DatabaseInfo,
    pub use_tz: Option<bool>,
    pub time_zone: Option<String>,
    /// `psycopg` / `psycopg2` when importable by the project's Python.
    pub postgres_driver: Option<String>,
    pub apps: Vec<AppInfo>,
    pub sqlite: Option<SqliteSummary>,
    /// Things the user should know that did not stop discovery.
    pub warnings: Vec<String>,
}

impl Discovery {
    pub fn local_apps(&self) -> impl Iterator<Item = &AppInfo> {
        self.apps.iter().filter(|a| a.local)
    }

    pub fn third_party_apps(&self) -> impl Iterator<Item = &AppInfo> {
        self.apps.iter().filter(|a| !a.local)
    }

    /// `--reset-migrations`' app labels checked against the installed apps, so a typo
    /// stops the run before its backup is taken. (Whether an app has migration files to
    /// reset is the migration scan's to say, later.)
    pub fn check_reset_labels(&self, spec: &str) -> Result<(), String> {
        for label in reset_labels(spec) {
            match self.apps.iter().find(|a| a.label == label) {
                None => {
                    return Err(unknown_app(
                        label,
                        self.local_apps().map(|a| a.label.as_str()),
                    ));
                }
                Some(a) if !a.local => {
                    return Err(format!("{label} is a third-party app: it is kept"));
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    pub fn migration_file_count(&self) -> usize {
        self.local_apps().map(|a| a.migration_files.len()).sum()
    }

    pub fn summary_line(&self) -> String {
        let django = self
            .django_version
            .as_deref()
            .map(|v| format!("Django {v}"))
            .unwrap_or_else(|| "Django (version unknown)".into());
        let db = match &self.sqlite {
            Some(s) => format!(
                "{} in {}",
                super::tables::counts_phrase(s.tables.iter().map(|(t, n)| (t.as_str(), *n))),
                s.path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            ),
            None => "no SQLite file".into(),
        };
        format!(
            "{django}; {db}; {} local app(s), {} migration file(s)",
            self.local_apps().count(),
            self.migration_file_count()
        )
    }
}

/// What the SQLite file holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SqliteSummary {
    pub path: PathBuf,
    pub size_bytes: u64,
    /// User tables (no `sqlite_*`) with their row counts, by name.
    pub tables: Vec<(String, u64)>,
}

impl SqliteSummary {
    pub fn total_rows(&self) -> u64 {
        self.tables.iter().map(|(_, n)| n).sum()
    }
}

/// The app labels a `--reset-migrations` value names (none for `all`, `none` or nothing).
pub fn reset_labels(spec: &str) -> Vec<&str> {
    match spec.trim() {
        "" | "none" | "all" => Vec::new(),
        list => list
            .split(',')
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect(),
    }
}

/// `no installed app is labelled "classifer": did you mean "classifier"?`, naming the
/// local apps when none is close.
pub fn unknown_app<'a>(label: &str, local: impl Iterator<Item = &'a str>) -> String {
    let local: Vec<&str> = local.collect();
    let mut msg = format!("no installed app is labelled {label:?}");
    match nearest(label, &local) {
        Some(near) => msg.push_str(&format!(": did you mean {near:?}?")),
        None if local.is_empty() => msg.push_str(" (the project has no local apps)"),
        None => msg.push_str(&format!(" (the local apps: {})", local.join(", "))),
    }
    msg
}

/// The candidate closest to `word` by edit distance, if it is close enough to be a typo
/// (at most a third of its letters, at least 2, differ).
pub fn nearest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(2);
    candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod label_tests {
    use super::*;

    #[test]
    fn typos_find_the_nearest_local_app() {
        let local = ["classifier", "feedback", "shop"];
        assert_eq!(nearest("classifer", &local), Some("classifier"));
        assert_eq!(nearest("feedbak", &local), Some("feedback"));
        assert_eq!(nearest("orders", &local), None);
        let msg = unknown_app("classifer", local.into_iter());
        assert_eq!(
            msg,
            r#"no installed app is labelled "classifer": did you mean "classifier"?"#
        );
        let msg = unknown_app("zzz", local.into_iter());
        assert!(msg.contains("classifier, feedback, shop"), "{msg}");
    }

    #[test]
    fn reset_labels_reads_lists() {
        assert!(reset_labels("all").is_empty());
        assert!(reset_labels(" none ").is_empty());
        assert_eq!(reset_labels("a, b,,c"), ["a", "b", "c"]);
    }
}
