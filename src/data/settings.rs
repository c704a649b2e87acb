//! What the Update settings step takes as input and reports back: where `DATABASES` is set
//! ([`SettingsLocation`]), the connection to write ([`SettingsTarget`]), the proposed change
//! ([`RewritePlan`]: new text, diff, environment variables), what was written
//! ([`Applied`]) and whether Django connects with it ([`Validation`]).
//!
//! Invariant: nothing here ever holds the password. Environment variables that carry it
//! say so ([`SecretSlot`]) and hold a placeholder instead.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The placeholder shown wherever the password goes (shell lines, `DATABASE_URL`).
pub const PASSWORD_PLACEHOLDER: &str = "<password>";

/// How the written `DATABASES` reads the connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SettingsStyle {
    /// `POSTGRES_HOST`, `POSTGRES_PORT`, … read through `os.environ`.
    #[default]
    Env,
    /// One `DATABASE_URL` (through dj-database-url when the project has it).
    DatabaseUrl,
}

impl SettingsStyle {
    /// The name used on the command line (`--settings-style=env|database-url`).
    pub fn as_str(self) -> &'static str {
        match self {
            SettingsStyle::Env => "env",
            SettingsStyle::DatabaseUrl => "database-url",
        }
    }
    pub fn parse(s: &str) -> Option<SettingsStyle> {
        [SettingsStyle::Env, SettingsStyle::DatabaseUrl]
            .into_iter()
            .find(|m| m.as_str() == s)
    }
}

/// The PostgreSQL connection the new settings point at. No password.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsTarget {
    pub host: String,
    pub port: u16,
    pub dbname: String,
    pub user: String,
    /// libpq's `sslmode` (`disable`, `prefer`, `require`, `verify-ca`, `verify-full`).
    pub sslmode: String,
    /// The CA file, written for `verify-ca` / `verify-full` only.
    pub sslrootcert: Option<PathBuf>,
    /// The schema of the dedicated-schema permission recipe, if that recipe was used.
    pub search_path: Option<String>,
    /// The port is a connection pool's (PgBouncer, DigitalOcean's 25061).
    pub pool: bool,
    /// libpq parameters of the tested connection string carried into `OPTIONS` as given
    /// (`connect_timeout`, `channel_binding`, `sslnegotiation`, `target_session_attrs`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub libpq: Vec<(String, String)>,
    /// libpq's `options` from the connection string (Neon's `endpoint=…`); never written
    /// for a pool, which refuses startup options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startup_options: Option<String>,
}

/// Which statement sets `DATABASES`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SiteKind {
    /// `DATABASES = …`
    Assign,
    /// `DATABASES["default"] = …`
    AssignDefault,
}

/// What the located settings look like, for the screen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Classification {
    /// `DATABASES = {"default": {...}}`
    PlainAssignment,
    /// `DATABASES["default"] = {...}`
    DefaultAssignment,
    /// A `dj_database_url.config()` / `parse()` call sets it.
    DjDatabaseUrl,
    /// Another expression (a function call, a variable) whose value is replaced whole.
    Expression,
}

impl Classification {
    pub fn label(&self) -> &'static str {
        match self {
            Classification::PlainAssignment => "plain DATABASES assignment",
            Classification::DefaultAssignment => "DATABASES[\"default\"] assignment",
            Classification::DjDatabaseUrl => "dj-database-url call",
            Classification::Expression => "DATABASES computed by an expression",
        }
    }
}

/// One `key: value` of an old dict literal; `value` is set when it is a string literal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OldEntry {
    /// `None` for a `**spread` or a non-string key.
    pub key: Option<String>,
    /// The value's exact source text.
    pub source: String,
    #[serde(default)]
    pub value: Option<String>,
}

/// A keyword argument of an old `dj_database_url` call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OldKwarg {
    pub key: String,
    pub source: String,
}

/// What an old database value was.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "value_kind", rename_all = "snake_case")]
pub enum OldValue {
    /// A dict literal; `options` when its `OPTIONS` is a dict literal too.
    Dict {
        entries: Vec<OldEntry>,
        options: Option<Vec<OldEntry>>,
        /// `OPTIONS` given as something else than a dict literal.
        options_source: Option<String>,
    },
    DjDatabaseUrl {
        call: String,
        kwargs: Vec<OldKwarg>,
    },
    Expression {
        source: String,
    },
}

/// Another alias of the old `DATABASES` (`"replica": {...}`), carried over as written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OldAlias {
    pub alias: Option<String>,
    pub source: String,
}

/// A later statement that changes `DATABASES["default"]` (e.g. the Heroku-style
/// `DATABASES["default"].update(dj_database_url.config())`); it is commented out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mutation {
    pub start_line: u32,
    pub end_line: u32,
    pub text: String,
    pub dj_database_url: bool,
}

/// The statement to replace. Lines are 1-based and inclusive.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Site {
    pub file: PathBuf,
    pub kind: SiteKind,
    pub classification: Classification,
    pub start_line: u32,
    pub end_line: u32,
    /// The statement's exact source text.
    pub old_text: String,
    /// Modules bound by top-level `import X` above the statement.
    pub imports: Vec<String>,
    /// `module:name` of top-level `from module import name` above the statement.
    pub from_imports: Vec<String>,
    /// New imports go before this line.
    pub import_line: u32,
    /// A blank line should follow new imports (they open a new block).
    pub import_blank_after: bool,
    /// The old `default` database, when it could be read.
    pub default: Option<OldValue>,
    pub aliases: Vec<OldAlias>,
    /// The whole old value when it is not a dict literal (`DATABASES = get_dbs()`).
    pub whole: Option<OldValue>,
    pub mutations: Vec<Mutation>,
}

/// Whether the settings can be edited.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LocateOutcome {
    Rewritable(Box<Site>),
    /// The file is left alone; the user pastes the snippet. `reason` names file and line.
    NotRewritable {
        reason: String,
    },
}

/// Where `DATABASES` is set, as the project's own Python parser sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsLocation {
    pub settings_module: String,
    /// The settings module's own file.
    pub settings_file: PathBuf,
    /// The files read, the settings module first, then what it star-imports.
    pub chain: Vec<PathBuf>,
    /// `dj_database_url` is importable by the project's Python.
    pub dj_database_url: bool,
    /// `psycopg` / `psycopg2` when importable.
    pub postgres_driver: Option<String>,
    pub outcome: LocateOutcome,
    pub notes: Vec<String>,
}

/// The kind of one diff line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiffKind {
    Context,
    Added,
    Removed,
}

/// One line of a diff, without its line ending.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffLine {
    pub kind: DiffKind,
    pub text: String,
    /// 1-based line numbers in the old / new file.
    pub old_line: Option<usize>,
    pub new_line: Option<usize>,
}

/// A unified-diff hunk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffHunk {
    /// `@@ -81,6 +81,20 @@`
    pub header: String,
    pub lines: Vec<DiffLine>,
}

/// The change to the settings file, structured for colouring and as plain unified text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsDiff {
    pub hunks: Vec<DiffHunk>,
    pub unified: String,
}

/// Whether (and how) an environment variable carries the password.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretSlot {
    None,
    /// The value is the password (shown as [`PASSWORD_PLACEHOLDER`]).
    Whole,
    /// The value is a URL whose userinfo holds the password (percent-encoded).
    InUrl,
}

/// One variable the new settings read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvVar {
    pub name: String,
    /// The value to set, with [`PASSWORD_PLACEHOLDER`] where the password goes.
    pub value: String,
    pub secret: SecretSlot,
}

/// What happens to the settings file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SettingsChange {
    /// Replace `file`'s text (it must still hash to `original_sha256` when written).
    Rewrite {
        file: PathBuf,
        original_sha256: String,
        /// The whole new file: not saved with the run (settings.py holds the project's
        /// own secrets, SECRET_KEY and the like), so a resumed run plans again.
        #[serde(skip)]
        new_text: String,
        diff: SettingsDiff,
    },
    /// Leave the files alone; show `snippet` to paste. `file` is where it would go.
    Manual {
        reason: String,
        file: Option<PathBuf>,
        snippet: String,
    },
}

/// The proposed Update settings change: show `change` (the diff or the snippet), `env`
/// (as `shell_lines`) and `notes`; `.env.example` gets `env_example`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RewritePlan {
    /// The style written (as asked; `notes` say when dj-database-url was not available).
    pub style: SettingsStyle,
    pub project_dir: PathBuf,
    pub change: SettingsChange,
    pub env: Vec<EnvVar>,
    /// The text of `.env.example` (no secret values; the password line empty).
    pub env_example: String,
    /// `export NAME='value'` lines, the password as a placeholder.
    pub shell_lines: Vec<String>,
    /// The imports and `DATABASES` to paste by hand (the same code the rewrite writes, as a
    /// whole `DATABASES = …`): for `--no-settings-rewrite` and the not-rewritable case.
    pub snippet: String,
    /// Translations and warnings the user should read (OPTIONS translated, pool cursors…).
    pub notes: Vec<String>,
}

/// One file copied into the backup folder (an entry of `settings-backup.json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupRecord {
    /// `settings` or `env-example`.
    pub kind: String,
    pub original: PathBuf,
    pub archived: PathBuf,
    /// SHA-256 of the original bytes (hex).
    pub sha256: String,
}

/// What [`RewritePlan`] wrote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    pub settings_file: PathBuf,
    pub backup: BackupRecord,
    /// SHA-256 of the new settings text.
    pub written_sha256: String,
    pub env_example: PathBuf,
    /// The `.env.example` that was there before, if any.
    pub env_example_backup: Option<BackupRecord>,
    /// `settings-backup.json` in the backup folder.
    pub manifest: PathBuf,
}

/// One command run by the validation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandOutcome {
    /// What was run, for display (no secrets: they are in the environment only).
    pub command: String,
    pub success: bool,
    /// stdout and stderr, the password scrubbed out.
    pub output: String,
}

/// Whether Django connects to PostgreSQL with the written settings and the environment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validation {
    pub ok: bool,
    /// `manage.py check --database default`.
    pub check: CommandOutcome,
    /// The read of `django_migrations` through Django (not run when the check failed).
    pub read: Option<CommandOutcome>,
    /// `connection.vendor` (`postgresql` is expected).
    pub vendor: Option<String>,
    /// Rows of `django_migrations` read through Django.
    pub migrations_rows: Option<u64>,
    /// One line for the screen: what passed, or what failed and what to do.
    pub message: String,
}

/// DigitalOcean's connection-pool port: PgBouncer in front of the server.
pub const DO_POOL_PORT: u16 = 25061;

impl SettingsTarget {
    /// The target for a connection the wizard tested; `search_path` is the schema of the
    /// dedicated-schema recipe when that one was used. A port of 25061 counts as a pool.
    pub fn from_conn(
        config: &crate::data::pg::ConnConfig,
        search_path: Option<String>,
    ) -> SettingsTarget {
        SettingsTarget {
            host: config.host.clone(),
            port: config.port,
            dbname: config.dbname.clone(),
            user: config.user.clone(),
            sslmode: config.sslmode.as_str().to_string(),
            sslrootcert: config.sslrootcert.clone(),
            search_path,
            pool: config.port == DO_POOL_PORT,
            libpq: config
                .libpq_parameters()
                .into_iter()
                .filter(|(name, _)| *name != "options")
                .map(|(name, value)| (name.to_string(), value))
                .collect(),
            startup_options: config.options.clone(),
        }
    }
}
