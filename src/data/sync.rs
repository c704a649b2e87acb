//! What a sync (`dj2pg sync`, the wizard's Cutover) finds and does, as plain data: the
//! changes per table, the conflicts, what each table got, the cutover window. Filled by
//! `copy::sync`, held by the state machine, printed by the commands and the report.

use serde::{Deserialize, Serialize};

/// What to do with a row changed on both sides.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum OnConflict {
    /// Change nothing and list the conflicts (the default).
    #[default]
    Stop,
    /// Leave PostgreSQL's row as it is.
    KeepPostgres,
    /// Write SQLite's version over it.
    TakeSqlite,
}

/// A row changed on PostgreSQL since the snapshot, that SQLite changed too.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Conflict {
    pub table: String,
    /// The primary key, as text (columns joined by commas).
    pub key: String,
    pub what: String,
}

/// What a sync did to one table.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TableResult {
    pub table: String,
    pub inserted: u64,
    pub updated: u64,
    pub deleted: u64,
    /// A table without a primary key, reloaded whole (its rows after the reload).
    pub reloaded: Option<u64>,
    /// Changes PostgreSQL already held (a previous sync that was not recorded).
    pub already: u64,
    /// Conflicts left as PostgreSQL had them.
    pub kept_postgres: u64,
}

impl TableResult {
    /// Rows written or deleted.
    pub fn moved(&self) -> u64 {
        self.inserted + self.updated + self.deleted + self.reloaded.unwrap_or(0)
    }
}

/// The outcome of [`apply`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Applied {
    pub tables: Vec<TableResult>,
    pub conflicts: Vec<Conflict>,
    /// Committed and verified; false: stopped on conflicts, nothing changed.
    pub committed: bool,
}

impl Applied {
    pub fn moved(&self) -> u64 {
        self.tables.iter().map(TableResult::moved).sum()
    }
}

/// What changed in one table since the snapshot.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub table: String,
    pub inserted: u64,
    pub updated: u64,
    pub deleted: u64,
    /// A table without a primary key that changed: it will be reloaded whole.
    pub whole: bool,
}

impl Counts {
    pub fn rows(&self) -> u64 {
        self.inserted + self.updated + self.deleted
    }
}

/// The report of one sync.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncReport {
    /// The snapshot PostgreSQL matched before, and the one it matches now (RFC 3339).
    pub from_snapshot: String,
    pub to_snapshot: String,
    pub changes: Vec<Counts>,
    pub applied: Applied,
    /// From the start of applying to "synced and verified".
    pub window_ms: u64,
    /// Reading the SQLite file and finding the changes.
    #[serde(default)]
    pub scan_ms: u64,
    /// Round trips to PostgreSQL the applying waited for (0: nothing changed, no connection).
    #[serde(default)]
    pub round_trips: u64,
    /// The cutover window: from the start of the sync (the user's "the app is stopped") to
    /// "synced and verified": reading the file, applying, verifying.
    #[serde(default)]
    pub cutover_ms: u64,
}

/// What changed in the SQLite file since the snapshot PostgreSQL matches.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Look {
    /// When the snapshot was taken (RFC 3339, UTC).
    pub since: String,
    pub changes: Vec<Counts>,
    /// Rows read in the SQLite file, and how long finding the changes took.
    pub rows: u64,
    pub scan_ms: u64,
}

impl Look {
    pub fn rows_changed(&self) -> u64 {
        self.changes.iter().map(Counts::rows).sum()
    }

    /// About how long applying will take, in seconds: reading the file again, connecting
    /// (a few round trips), and the changed rows at a pace well below the copy's.
    pub fn estimate_secs(&self) -> f64 {
        if self.changes.is_empty() {
            return self.scan_ms as f64 / 1000.0;
        }
        let whole: u64 = self.changes.iter().filter(|c| c.whole).count() as u64;
        self.scan_ms as f64 / 1000.0 + 1.0 + (self.rows_changed() + whole * 1000) as f64 / 20_000.0
    }
}

/// The wizard's Cutover step: what it saw and what its syncs did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Cutover {
    /// The latest look at the SQLite file (refreshed while the app runs).
    pub look: Option<Look>,
    /// The watch job is running (the app may still write); else a sync runs or ran.
    pub watching: bool,
    /// Rows changed on both sides, found by the last sync (nothing was written).
    pub conflicts: Vec<Conflict>,
    /// The syncs that committed, oldest first.
    pub runs: Vec<SyncReport>,
}

/// A duration for people: milliseconds under a second, else seconds with one decimal.
pub fn duration_text(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}
