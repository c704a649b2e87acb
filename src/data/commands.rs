//! What the Dry run, Reset migrations (its `makemigrations`) and Create schema steps — all
//! Django management commands — report back: each command's outcome with its (bounded,
//! secret-free) log, the schema comparison of the dry run, and why a `migrate` on
//! PostgreSQL failed, typed so the state machine can send the user to the step that fixes it.

use crate::data::pg::ConnConfig;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// How a command ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CommandStatus {
    /// Exit status 0.
    Succeeded,
    /// A non-zero exit status, or `None` when a signal ended it.
    Failed { exit_code: Option<i32> },
    /// The user cancelled it; the process (and its process group) was killed.
    Cancelled,
}

/// One command that ran: what, how it ended, and its merged stdout/stderr.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandOutcome {
    /// The command as the user would type it (`python manage.py migrate --noinput`), no secrets.
    pub display: String,
    pub status: CommandStatus,
    /// Merged stdout and stderr, in arrival order, secrets scrubbed. Bounded: the first and the
    /// last lines are kept, `omitted_lines` says how many in between were dropped.
    pub lines: Vec<String>,
    pub omitted_lines: u64,
    pub duration_ms: u64,
}

impl CommandOutcome {
    pub fn succeeded(&self) -> bool {
        self.status == CommandStatus::Succeeded
    }

    pub fn cancelled(&self) -> bool {
        self.status == CommandStatus::Cancelled
    }

    /// The log as one text, for matching and for the report.
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }
}

/// The Dry run step's input: the project, its Python and settings, and the user's data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DryRunInput {
    /// The project's interpreter (Discover's `python`).
    pub python: PathBuf,
    /// The folder holding `manage.py`.
    pub project_dir: PathBuf,
    /// e.g. `aiproto.settings`.
    pub settings_module: String,
    /// The user's SQLite file (read-only, for the schema comparison); `None` when there is none.
    pub sqlite_path: Option<PathBuf>,
}

/// What the dry run found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DryRunReport {
    /// `makemigrations --check --dry-run`.
    pub makemigrations: CommandOutcome,
    /// Apps whose models changed without a migration (`makemigrations --check` exit 1 with
    /// "Migrations for 'app'"): a warning, not a failure.
    pub drifted_apps: Vec<String>,
    /// `migrate` from zero on the scratch SQLite file; `None` when `makemigrations` could not
    /// even load the project (the error is in its log) or the run was cancelled before.
    pub migrate: Option<CommandOutcome>,
    /// The fresh schema against the user's data; `None` without a user SQLite file or when
    /// `migrate` failed.
    pub schema: Option<SchemaDiff>,
    /// Why the comparison could not be made (the user's file unreadable), if so: the
    /// commands' logs are kept all the same.
    pub schema_error: Option<String>,
}

impl DryRunReport {
    /// `migrate` built the schema from the migration files.
    pub fn passed(&self) -> bool {
        self.migrate.as_ref().is_some_and(CommandOutcome::succeeded)
    }

    pub fn cancelled(&self) -> bool {
        self.makemigrations.cancelled() || self.migrate.as_ref().is_some_and(|m| m.cancelled())
    }

    /// Every line of both commands, in order, for the log pane.
    pub fn log(&self) -> Vec<String> {
        let mut lines = self.makemigrations.lines.clone();
        if let Some(m) = &self.migrate {
            lines.extend(m.lines.iter().cloned());
        }
        lines
    }
}

/// The fresh migrations' schema compared with the schema of the user's SQLite data.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaDiff {
    /// Tables present on both sides.
    pub tables_compared: usize,
    /// Tables the new schema has and the data does not (they start empty: fine).
    pub new_tables: Vec<String>,
    pub problems: Vec<SchemaProblem>,
}

impl SchemaDiff {
    /// Problems that would lose data or stop the copy.
    pub fn blocking(&self) -> impl Iterator<Item = &SchemaProblem> {
        self.problems.iter().filter(|p| p.loses_data())
    }

    pub fn fits(&self) -> bool {
        self.blocking().next().is_none()
    }
}

/// One way the user's data does not fit the new schema.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SchemaProblem {
    /// A table of the data that the new schema lacks: its rows would not be copied.
    TableMissing { table: String, rows: u64 },
    /// A column of the data that the new schema lacks: its non-NULL values would be lost.
    ColumnMissing {
        table: String,
        column: String,
        non_null_rows: u64,
    },
    /// A NOT NULL column without a default in the new schema that the data has no column
    /// for, in a table with rows: the copy could not fill it.
    NotNullUnfilled {
        table: String,
        column: String,
        column_type: String,
        rows: u64,
    },
    /// A column that is NOT NULL in the new schema and holds NULLs in the data.
    NullsInNotNull {
        table: String,
        column: String,
        null_rows: u64,
    },
    /// The declared type changed (e.g. `varchar(100)` to `varchar(50)`, `text` to `integer`).
    TypeChanged {
        table: String,
        column: String,
        old_type: String,
        new_type: String,
    },
}

impl SchemaProblem {
    /// Whether copying as things stand would lose data or fail. An empty missing table or a
    /// missing all-NULL column loses nothing; a type change is a warning the preflight checks
    /// value by value.
    pub fn loses_data(&self) -> bool {
        match self {
            SchemaProblem::TableMissing { rows, .. } => *rows > 0,
            SchemaProblem::ColumnMissing { non_null_rows, .. } => *non_null_rows > 0,
            SchemaProblem::NotNullUnfilled { rows, .. } => *rows > 0,
            SchemaProblem::NullsInNotNull { null_rows, .. } => *null_rows > 0,
            SchemaProblem::TypeChanged { .. } => false,
        }
    }

    pub fn table(&self) -> &str {
        match self {
            SchemaProblem::TableMissing { table, .. }
            | SchemaProblem::ColumnMissing { table, .. }
            | SchemaProblem::NotNullUnfilled { table, .. }
            | SchemaProblem::NullsInNotNull { table, .. }
            | SchemaProblem::TypeChanged { table, .. } => table,
        }
    }

    /// One line for the screen and the report.
    pub fn describe(&self) -> String {
        match self {
            SchemaProblem::TableMissing { table, rows } => format!(
                "table {table} ({rows} rows) is not in the new schema: its rows would not be copied"
            ),
            SchemaProblem::ColumnMissing {
                table,
                column,
                non_null_rows,
            } => format!(
                "column {table}.{column} ({non_null_rows} non-NULL values) is not in the new schema: its values would be lost"
            ),
            SchemaProblem::NotNullUnfilled {
                table,
                column,
                column_type,
                rows,
            } => format!(
                "new column {table}.{column} ({column_type} NOT NULL, no default) has no source column for the {rows} rows of {table}"
            ),
            SchemaProblem::NullsInNotNull {
                table,
                column,
                null_rows,
            } => format!(
                "column {table}.{column} is NOT NULL in the new schema but {null_rows} rows hold NULL"
            ),
            SchemaProblem::TypeChanged {
                table,
                column,
                old_type,
                new_type,
            } => format!("column {table}.{column} changes type: {old_type} -> {new_type}"),
        }
    }
}

/// The `makemigrations APP...` run after Reset migrations moved the old files away.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MakeMigrationsReport {
    pub run: CommandOutcome,
    /// The migration files that did not exist before the run, by full path, sorted.
    pub created: Vec<PathBuf>,
}

/// Which PostgreSQL driver the project's Python can import.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriverCheck {
    pub python: PathBuf,
    /// `psycopg` or `psycopg2` with its version, when one imports.
    pub driver: Option<(String, String)>,
    /// Why an installed driver would not import (e.g. psycopg without libpq), if so.
    pub import_error: Option<String>,
    /// The Python runs in a virtualenv (pip installs into the project's environment, not the
    /// system's).
    pub in_virtualenv: bool,
    /// What to run when no driver imports: `[python, -m, pip, install, psycopg[binary]]`.
    pub install_command: Option<Vec<String>>,
}

impl DriverCheck {
    /// The install command as the user would type it (shell-quoted), when one is needed.
    pub fn install_display(&self) -> Option<String> {
        self.install_command.as_ref().map(|argv| {
            argv.iter()
                .map(|a| {
                    if a.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_./=".contains(c))
                    {
                        a.clone()
                    } else {
                        format!("'{}'", a.replace('\'', "'\\''"))
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
    }
}

/// What installing the driver did (the user confirmed the install command), and the check
/// run again afterwards.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriverInstall {
    pub run: CommandOutcome,
    pub after: DriverCheck,
}

/// Why `migrate` on PostgreSQL failed, so the state machine knows where to send the user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MigrateFailure {
    /// `permission denied for schema …` / `MigrationSchemaMissing`: back to Fix permissions.
    SchemaPermission { schema: Option<String> },
    /// Password authentication failed: back to Connect (password field).
    Authentication,
    /// The server could not be reached (host, port, TLS): back to Connect.
    CannotConnect,
    /// Neither psycopg nor psycopg2 imports: offer the install command.
    DriverMissing,
    /// The server cancelled a statement at the role's or database's `statement_timeout`
    /// (Supabase: 2 minutes for `postgres`), or ended an idle transaction: migrate runs
    /// under them, dj2pg's own sessions do not.
    Timeout,
    /// Anything else (a broken migration, a failing `RunPython`): the log says what.
    Other,
}

impl MigrateFailure {
    pub fn describe(&self) -> String {
        match self {
            MigrateFailure::SchemaPermission { schema } => format!(
                "the role may not create tables in schema {}: fix its permissions, then retry",
                schema.as_deref().unwrap_or("public")
            ),
            MigrateFailure::Authentication => {
                "password authentication failed: check the password".into()
            }
            MigrateFailure::CannotConnect => {
                "could not connect to the server: check host, port and SSL settings".into()
            }
            MigrateFailure::DriverMissing => {
                "the project's Python has no PostgreSQL driver (psycopg or psycopg2)".into()
            }
            MigrateFailure::Timeout => {
                "the server cancelled a migration at the timeout set for this role or database \
                 (statement_timeout or idle_in_transaction_session_timeout): run it with \
                 PGOPTIONS=\"-c statement_timeout=0\" over the direct connection, or raise \
                 the timeout for the role"
                    .into()
            }
            MigrateFailure::Other => "migrate failed: see the log".into(),
        }
    }
}

/// What Create schema did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateSchemaReport {
    pub driver: DriverCheck,
    /// `migrate` on PostgreSQL; `None` when no driver imports (nothing ran).
    pub migrate: Option<CommandOutcome>,
    /// `None` when `migrate` succeeded (or was cancelled).
    pub failure: Option<MigrateFailure>,
    /// Things to show that did not stop the run (a connection-pool port).
    pub warnings: Vec<String>,
    /// Django's names of every model on SQLite and on PostgreSQL, asked once the schema
    /// exists, for the copy to match the two databases through Django.
    #[serde(default)]
    pub names: Option<crate::data::copy::NameMap>,
}

impl CreateSchemaReport {
    pub fn passed(&self) -> bool {
        self.failure.is_none() && self.migrate.as_ref().is_some_and(CommandOutcome::succeeded)
    }

    pub fn cancelled(&self) -> bool {
        self.migrate.as_ref().is_some_and(CommandOutcome::cancelled)
    }
}

/// What Create schema needs (the password comes separately: it is never stored).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateSchemaInput {
    pub python: PathBuf,
    pub project_dir: PathBuf,
    pub settings_module: String,
    /// The server and the role that will own the tables.
    pub target: ConnConfig,
    /// A dedicated schema to create the tables in (`-c search_path=…`), if the permission fix
    /// chose one.
    pub search_path: Option<String>,
    /// The role's or database's timeouts Connect read: migrate runs under them.
    #[serde(default)]
    pub timeouts: Vec<(String, String)>,
}

/// What `make_migrations` needs: the project, and each reset app with its migrations folder
/// (Discover's `AppInfo::migrations_dir`), whose new files the report lists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MakeMigrationsInput {
    pub python: PathBuf,
    pub project_dir: PathBuf,
    pub settings_module: String,
    /// `(app label, migrations folder)`.
    pub apps: Vec<(String, PathBuf)>,
}
