//! The copy engine's plain data: its settings, the policy for bad values, what preflight and
//! the load report, and the progress the workers fold. Shared by `state` (which holds them) and
//! `copy` (which fills them); no IO.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Where one table is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TablePhase {
    Waiting,
    Loading,
    Loaded,
    Verified,
    Mismatch,
    Failed,
}

impl TablePhase {
    pub fn label(self) -> &'static str {
        match self {
            TablePhase::Waiting => "waiting",
            TablePhase::Loading => "loading",
            TablePhase::Loaded => "loaded",
            TablePhase::Verified => "verified",
            TablePhase::Mismatch => "MISMATCH",
            TablePhase::Failed => "failed",
        }
    }

    pub fn finished(self) -> bool {
        matches!(
            self,
            TablePhase::Loaded | TablePhase::Verified | TablePhase::Mismatch | TablePhase::Failed
        )
    }
}

/// One table's progress.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TableProgress {
    pub table: String,
    pub rows_done: u64,
    pub rows_total: u64,
    pub phase: TablePhase,
}

/// What the load is doing, in order. Serialized as the words the progress line shows
/// (`"checking the target"`, `"loading"`, …): `copy --json` and saved runs carry them, and
/// a word this version does not know (a run saved by another) reads as `starting`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub enum Stage {
    #[default]
    #[serde(rename = "starting")]
    Starting,
    #[serde(rename = "checking the target")]
    CheckingTarget,
    #[serde(rename = "emptying target tables")]
    EmptyingTargets,
    #[serde(rename = "loading")]
    Loading,
    #[serde(rename = "resetting sequences")]
    ResettingSequences,
    #[serde(rename = "analyzing")]
    Analyzing,
    #[serde(rename = "verifying")]
    Verifying,
    #[serde(rename = "done")]
    Done,
}

impl Stage {
    /// The words of the progress line (the same as the serialized form).
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Starting => "starting",
            Stage::CheckingTarget => "checking the target",
            Stage::EmptyingTargets => "emptying target tables",
            Stage::Loading => "loading",
            Stage::ResettingSequences => "resetting sequences",
            Stage::Analyzing => "analyzing",
            Stage::Verifying => "verifying",
            Stage::Done => "done",
        }
    }
}

impl Stage {
    const ALL: [Stage; 8] = [
        Stage::Starting,
        Stage::CheckingTarget,
        Stage::EmptyingTargets,
        Stage::Loading,
        Stage::ResettingSequences,
        Stage::Analyzing,
        Stage::Verifying,
        Stage::Done,
    ];
}

impl<'de> Deserialize<'de> for Stage {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Stage, D::Error> {
        let words = String::deserialize(d)?;
        Ok(Stage::ALL
            .into_iter()
            .find(|s| s.as_str() == words)
            .unwrap_or_default())
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How long one stage of a load took (wall time, pauses included).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageTime {
    pub stage: Stage,
    pub ms: u64,
}

/// The stage times of a load, and the prose note the report shows for them.
pub fn timings_note(timings: &[StageTime], read_back_early: usize) -> String {
    let secs = |stages: &[Stage]| {
        timings
            .iter()
            .filter(|t| stages.contains(&t.stage))
            .map(|t| t.ms)
            .sum::<u64>() as f64
            / 1000.0
    };
    format!(
        "Timings: checking the target {:.1} s, load {:.1} s (with {read_back_early} table(s) read back as soon as committed), sequences and ANALYZE {:.1} s, verification of the rest {:.1} s.",
        secs(&[
            Stage::Starting,
            Stage::CheckingTarget,
            Stage::EmptyingTargets
        ]),
        secs(&[Stage::Loading]),
        secs(&[Stage::ResettingSequences, Stage::Analyzing]),
        secs(&[Stage::Verifying]),
    )
}

/// The whole copy's progress.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CopyProgress {
    pub tables: Vec<TableProgress>,
    /// Milliseconds since the load started (pauses excluded).
    pub elapsed_ms: u64,
    /// Recent throughput, rows per second.
    pub rows_per_sec: f64,
    /// What is happening now ("loading", "resetting sequences", "verifying", …).
    pub stage: Stage,
}

impl CopyProgress {
    pub fn rows_done(&self) -> u64 {
        self.tables.iter().map(|t| t.rows_done).sum()
    }

    pub fn rows_total(&self) -> u64 {
        self.tables.iter().map(|t| t.rows_total).sum()
    }

    pub fn tables_finished(&self) -> usize {
        self.tables.iter().filter(|t| t.phase.finished()).count()
    }

    /// 0.0..=1.0 by rows.
    pub fn fraction(&self) -> f64 {
        let total = self.rows_total();
        if total == 0 {
            return if self.tables.iter().all(|t| t.phase.finished()) {
                1.0
            } else {
                0.0
            };
        }
        (self.rows_done() as f64 / total as f64).clamp(0.0, 1.0)
    }

    /// Seconds left at the current rate, when that can be told.
    pub fn eta_secs(&self) -> Option<u64> {
        let left = self.rows_total().saturating_sub(self.rows_done());
        (self.rows_per_sec > 0.0).then(|| (left as f64 / self.rows_per_sec).ceil() as u64)
    }

    /// One line for the sidebar, the headless runner and the log.
    pub fn line(&self) -> String {
        let eta = self
            .eta_secs()
            .map(|s| format!(", ETA {}", crate::units::hms(s)))
            .unwrap_or_default();
        format!(
            "{}: {}/{} rows ({:.0}%), {}/{} tables, {:.0} rows/s{eta}",
            self.stage,
            self.rows_done(),
            self.rows_total(),
            self.fraction() * 100.0,
            self.tables_finished(),
            self.tables.len(),
            self.rows_per_sec
        )
    }
}

/// A value that would fail in PostgreSQL, found before anything is written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    pub table: String,
    /// The row's primary key (or rowid) as text.
    pub pk: String,
    pub column: String,
    /// What is wrong, in plain words.
    pub issue: String,
    /// A short excerpt of the value.
    pub excerpt: String,
    /// The fix `ProblemPolicy::Fix` would apply, if there is one.
    pub fix: Option<String>,
}

/// The preflight's findings. Nothing has been written when it exists.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PreflightReport {
    pub problems: Vec<Problem>,
    /// Target tables that already hold rows, with their counts.
    pub nonempty_targets: Vec<(String, u64)>,
    /// Plain-words notes on the plan (tables or columns on one side only, generated columns…).
    pub notes: Vec<String>,
    /// Source tables and their row counts, in load order.
    pub tables: Vec<(String, u64)>,
    /// Tables of derived data that are left empty on PostgreSQL and rebuilt there.
    #[serde(default)]
    pub derived: Vec<DerivedTable>,
    /// SQLite data with no place on PostgreSQL that the user has not named to leave behind.
    #[serde(default)]
    pub unmapped: Vec<Unmapped>,
}

/// One model's table and columns, as Django names them on SQLite and on PostgreSQL.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableNames {
    /// `app_label.ModelName` (automatic many-to-many tables included).
    pub model: String,
    pub sqlite: String,
    pub pg: String,
    /// (SQLite column, PostgreSQL column), every concrete field.
    pub columns: Vec<(String, String)>,
}

/// Django's answer for every model of the project.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameMap {
    pub tables: Vec<TableNames>,
}

impl NameMap {
    pub fn table(&self, sqlite: &str) -> Option<&TableNames> {
        self.tables.iter().find(|t| t.sqlite == sqlite)
    }
}

/// SQLite data with no place on PostgreSQL: a table that holds rows, or a column that holds
/// values, for which Django's schema on PostgreSQL has nothing. Never left behind silently:
/// the user is asked, and the commands stop unless it was named with `--leave-behind`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unmapped {
    pub table: String,
    /// `None`: the whole table.
    pub column: Option<String>,
    /// The table's rows, or the column's non-NULL values.
    pub rows: u64,
    /// The user named it to be left behind.
    pub named: bool,
}

impl Unmapped {
    /// `table` or `table.column`, as `--leave-behind` takes it.
    pub fn name(&self) -> String {
        match &self.column {
            Some(c) => format!("{}.{c}", self.table),
            None => self.table.clone(),
        }
    }

    /// `table ml_x (1,204 rows)` / `column ml_y.z (30 values)`.
    pub fn describe(&self) -> String {
        match &self.column {
            Some(_) => format!(
                "column {} ({} value(s))",
                self.name(),
                crate::units::thousands(self.rows)
            ),
            None => format!(
                "table {} ({} row(s))",
                self.table,
                crate::units::thousands(self.rows)
            ),
        }
    }
}

/// A table of derived data that PostgreSQL keeps in another form (a search index: FTS5 on
/// SQLite, `tsvector` columns on PostgreSQL). It is never copied — rows with empty vectors
/// would make search silently return nothing — but left empty and rebuilt by the app.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DerivedTable {
    pub table: String,
    /// Rows it holds in SQLite (not copied).
    pub source_rows: u64,
    /// Why it is derived, in plain words.
    pub reason: String,
    /// The exact command that rebuilds it, when known (`python manage.py update_index`).
    pub rebuild: Option<String>,
}

impl DerivedTable {
    /// What the user must run after the copy.
    pub fn rebuild_hint(&self) -> String {
        match &self.rebuild {
            Some(cmd) => format!("rebuild it with `{cmd}`"),
            None => "rebuild it with the command of the app that owns it".into(),
        }
    }
}

impl PreflightReport {
    pub fn problem_count(&self) -> usize {
        self.problems.len()
    }

    pub fn nonempty_target_tables(&self) -> &[(String, u64)] {
        &self.nonempty_targets
    }
}

/// One table's verification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableCheck {
    pub table: String,
    pub source_rows: u64,
    pub target_rows: u64,
    pub checksum_match: bool,
    pub rejected_rows: u64,
    /// SQLite columns of this table that hold values and were left behind (named by the
    /// user): the checksum covers the copied columns only, and says so.
    #[serde(default)]
    pub left_behind: Vec<String>,
    /// The PostgreSQL table, `"schema"."table"` (another name than `table` when Django or
    /// PostgreSQL shortened a name over 63 characters). Empty in runs saved before it.
    #[serde(default)]
    pub target: String,
}

impl TableCheck {
    /// The PostgreSQL table as SQL: `target`, or the quoted name of older saved runs.
    pub fn target_sql(&self) -> String {
        if self.target.is_empty() {
            crate::pg::quote_ident(&self.table)
        } else {
            self.target.clone()
        }
    }

    /// Every source row is in PostgreSQL (or, as chosen, in the reject files) and the
    /// content checksums agree: the one verdict every surface uses.
    pub fn verified(&self) -> bool {
        self.checksum_match && self.source_rows == self.target_rows + self.rejected_rows
    }

    /// The checksum column's words: `OK`, `OK without col` (a column left behind, as
    /// chosen: the checksum does not cover it), or `MISMATCH`.
    pub fn verdict(&self) -> String {
        if !self.verified() {
            "MISMATCH".into()
        } else if self.left_behind.is_empty() {
            "OK".into()
        } else {
            format!("OK without {}", self.left_behind.join(", "))
        }
    }
}

/// The end of a copy.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CopyReport {
    pub checks: Vec<TableCheck>,
    pub elapsed_ms: u64,
    pub notes: Vec<String>,
    /// Derived tables left empty, to be rebuilt (recorded for the report).
    #[serde(default)]
    pub derived: Vec<DerivedTable>,
    /// SQLite data with no place on PostgreSQL, left behind as the user chose or named.
    #[serde(default)]
    pub left_behind: Vec<Unmapped>,
    /// The moment of the SQLite file that was copied (RFC 3339, UTC): every table was read
    /// as of it; what the app wrote later is not in PostgreSQL.
    #[serde(default)]
    pub snapshot_at: Option<String>,
    /// How long each stage of the load took, in order (a note renders them as prose).
    #[serde(default)]
    pub timings: Vec<StageTime>,
}

impl CopyReport {
    pub fn all_verified(&self) -> bool {
        self.checks.iter().all(TableCheck::verified)
    }

    pub fn summary_line(&self) -> String {
        let rows: u64 = self.checks.iter().map(|c| c.target_rows).sum();
        let bad = self.checks.iter().filter(|c| !c.verified()).count();
        if bad == 0 {
            let behind = if self.left_behind.is_empty() {
                String::new()
            } else {
                format!(
                    "; left behind, as chosen: {}",
                    self.left_behind
                        .iter()
                        .map(Unmapped::describe)
                        .collect::<Vec<_>>()
                        .join("; ")
                )
            };
            // `2026-12-02T16:13:05Z` → `16:13:05 UTC`: the moment the rows are from.
            let at = self
                .snapshot_at
                .as_deref()
                .and_then(|t| t.get(11..19))
                .map(|t| format!(" (the file as of {t} UTC)"))
                .unwrap_or_default();
            // django_migrations is never copied: say so, or the counts look short of
            // Discover's.
            format!(
                "{} rows in {} tables copied and verified in {}{at}{behind}; django_migrations \
                 not copied (PostgreSQL keeps the rows its own migrate wrote)",
                crate::units::thousands(rows),
                self.checks.len(),
                crate::units::hms(self.elapsed_ms / 1000)
            )
        } else {
            format!(
                "{bad} of {} tables do not match after the copy",
                self.checks.len()
            )
        }
    }
}

/// Which policy the user picked for values that preflight found would fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProblemPolicy {
    /// Write nothing (the default).
    Abort,
    /// Leave the offending rows out and record them in the reject files.
    SkipRows,
    /// Apply the named fix of each problem (truncate to n, strip NUL), and report it.
    Fix,
}

/// How to copy, beyond the source and the target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopySettings {
    /// Parallel connections.
    pub jobs: usize,
    /// Where rows left out go (JSON lines per table); default: `<sqlite file>.rejects/`.
    pub rejects: Option<PathBuf>,
    /// Django's `USE_TZ`: naive datetimes in the file are UTC.
    pub use_tz: bool,
    /// Django's `TIME_ZONE`: the zone of naive datetimes when `use_tz` is off.
    pub time_zone: String,
    /// Tables with at least this many rows load as parallel rowid slices.
    pub slice_rows: u64,
    /// Bulk mode where the role owns the table: foreign keys and plain indexes set aside
    /// and put back within each table's transaction (see `copy::bulk`). Off: the plain load.
    pub bulk: bool,
    /// Tables (or cycles) of fewer rows load the plain way even with `bulk`: setting their
    /// indexes and keys aside costs more round trips to a distant server than it saves.
    pub bulk_min_rows: u64,
    /// Small plain tables load together, up to this many rows per batch: load, read-back
    /// and `ANALYZE` in one round trip (see `copy::batch`). 0: each table on its own.
    #[serde(default = "default_batch_rows")]
    pub batch_rows: u64,
    /// Compress large values (long JSON lists, text) with lz4 where the server offers it,
    /// instead of the server's default (pglz): about twice as fast to load 384-dimension
    /// embeddings as JSON, for about 30% more disk. Columns with a compression of their
    /// own keep it. Off: the server's default.
    #[serde(default = "default_true")]
    pub lz4: bool,
    /// Two bulk tables referencing the same parent load at the same time, one of them
    /// keeping its foreign keys (checked at its commit) instead of waiting for the other.
    #[serde(default = "default_true")]
    pub siblings_together: bool,
    /// SQLite tables (`table`) and columns (`table.column`) that hold data without a place
    /// on PostgreSQL and are to be left behind, as the user named them.
    #[serde(default)]
    pub leave_behind: Vec<String>,
    /// Django's names of every model on SQLite and on PostgreSQL, when Django was asked.
    #[serde(default)]
    pub names: Option<NameMap>,
}

fn default_true() -> bool {
    true
}

/// The default most rows of one batch of small tables.
pub const DEFAULT_BATCH_ROWS: u64 = 50_000;

fn default_batch_rows() -> u64 {
    DEFAULT_BATCH_ROWS
}

/// The default size (rows) from which a table loads in bulk mode.
pub const DEFAULT_BULK_MIN_ROWS: u64 = 10_000;

impl CopySettings {
    /// The settings with `jobs` parallel connections and every other value at its default.
    /// The job count depends on the machine, so the driver (CLI, wizard) decides it.
    pub fn with_jobs(jobs: usize) -> CopySettings {
        CopySettings {
            jobs: jobs.max(1),
            rejects: None,
            use_tz: true,
            time_zone: "UTC".into(),
            slice_rows: 200_000,
            bulk: true,
            bulk_min_rows: DEFAULT_BULK_MIN_ROWS,
            batch_rows: DEFAULT_BATCH_ROWS,
            lz4: true,
            siblings_together: true,
            leave_behind: Vec::new(),
            names: None,
        }
    }
}
