//! Cutover: after a copy made while the app kept writing, bring PostgreSQL up to the SQLite
//! file by applying only what changed since the copy's snapshot.
//!
//! The copy keeps the snapshot it read ([`store`]); a sync takes a new snapshot of the live
//! file, finds the changes locally by comparing the two ([`diff`]), and applies them in one
//! verified transaction that never overwrites a row someone else changed on PostgreSQL
//! ([`apply`]); then the new snapshot replaces the old, so syncs can be run again and again
//! and a sync with nothing to do moves nothing.

pub mod apply;
pub mod command;
pub mod diff;
pub mod store;

pub use apply::{Applied, Conflict, OnConflict, TableResult};
pub use store::{Record, Store};

use super::{Context, CopySettings, Stop};
use crate::pg::{ConnConfig, Secret};
use anyhow::{Context as _, Result, bail};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::{Duration, Instant};

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
}

/// A sync ready to apply: the new snapshot taken, compared and planned.
pub struct Prepared {
    store: Store,
    record: Record,
    cx: Context,
    plan: super::plan::Plan,
    conn: rusqlite::Connection,
    diffs: Vec<diff::TableDiff>,
    next_at: chrono::DateTime<chrono::Utc>,
}

/// No copy left what a sync needs.
pub fn no_record_message(sqlite: &Path, target: &ConnConfig) -> String {
    format!(
        "no copy of {} into {} is recorded on this machine: run dj2pg copy (or the wizard's Copy rows) first; the copy keeps the snapshot a sync compares with",
        sqlite.display(),
        target.display_url()
    )
}

/// Take a new snapshot of `sqlite`, refuse a schema change, and find what changed.
pub fn prepare(
    sqlite: &Path,
    config: &ConnConfig,
    password: Option<&Secret>,
    stop: Stop,
) -> Result<Prepared> {
    let store = Store::of(sqlite, config)?;
    let Some(record) = store.load()? else {
        bail!("{}", no_record_message(sqlite, config));
    };
    let next_at = chrono::Utc::now();
    let opts = crate::backup::CopyOptions {
        busy_timeout: Duration::from_millis(crate::backup::DEFAULT_BUSY_TIMEOUT_MS),
        cancel: &stop.cancel,
    };
    let _ = std::fs::remove_file(store.next());
    crate::backup::snapshot(sqlite, &store.next(), &opts).map_err(|e| {
        anyhow::anyhow!(
            "could not take a snapshot of {}: {e} ({} must have room for a copy of the file)",
            sqlite.display(),
            store.dir().display()
        )
    })?;
    let conn = diff::open_pair(&store.next(), &store.snapshot())?;
    let changes = diff::schema_changes(&conn)?;
    if !changes.is_empty() {
        bail!(
            "the SQLite schema changed since the snapshot of {} ({}): a migration was applied to SQLite only. A sync cannot move rows between different schemas: apply the same migration to PostgreSQL (manage.py migrate against it), then copy again with dj2pg copy",
            record.taken_at().format("%Y-%m-%d %H:%M:%S UTC"),
            changes.join("; ")
        );
    }
    let settings: CopySettings = CopySettings {
        jobs: 1,
        ..record.settings.clone()
    };
    let cx = Context::new(sqlite, config.clone(), password.cloned(), settings, stop)?;
    cx.read_from(store.next(), next_at);
    let plan = cx.plan()?;
    let diffs = diff::diff(&conn, &plan)?;
    Ok(Prepared {
        store,
        record,
        cx,
        plan,
        conn,
        diffs,
        next_at,
    })
}

impl Prepared {
    /// The tables that changed, with their counts.
    pub fn changes(&self) -> Vec<Counts> {
        self.diffs
            .iter()
            .filter(|d| !d.is_empty())
            .map(|d| Counts {
                table: self.plan.tables[d.table].name.clone(),
                inserted: d.inserted.len() as u64,
                updated: d.updated.len() as u64,
                deleted: d.deleted.len() as u64,
                whole: d.whole,
            })
            .collect()
    }

    /// When the snapshot PostgreSQL matches was taken.
    pub fn since(&self) -> chrono::DateTime<chrono::Utc> {
        self.record.taken_at()
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Apply the changes; on success the new snapshot becomes the one PostgreSQL matches.
    /// With conflicts and [`OnConflict::Stop`], nothing changes (`applied.committed` false).
    pub fn apply(mut self, on_conflict: OnConflict) -> Result<SyncReport> {
        let started = Instant::now();
        let changes = self.changes();
        let from_snapshot = self.record.taken_at.clone();
        let applied = if changes.is_empty() {
            Applied {
                committed: true,
                ..Applied::default()
            }
        } else {
            apply::apply(&self.cx, &self.conn, &self.plan, &self.diffs, on_conflict)?
        };
        let window = started.elapsed();
        let mut report = SyncReport {
            from_snapshot,
            to_snapshot: self.record.taken_at.clone(),
            changes,
            applied,
            window_ms: window.as_millis() as u64,
        };
        if !report.applied.committed {
            return Ok(report);
        }
        self.store.advance()?;
        self.record.taken_at = self
            .next_at
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        self.record.syncs.push(store::SyncLog {
            at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            rows: report.applied.moved(),
            window_ms: report.window_ms,
        });
        self.store
            .save(&self.record)
            .context("the sync committed, but its record could not be written")?;
        report.to_snapshot = self.record.taken_at.clone();
        Ok(report)
    }
}

impl Drop for Prepared {
    fn drop(&mut self) {
        // A sync not applied leaves no half state: the next one takes its own snapshot.
        let _ = std::fs::remove_file(self.store.next());
    }
}

/// Keep the copy's snapshot and settings for a later sync (called once a copy verified).
/// Returns where they are.
pub fn record_copy(cx: &Context) -> Result<std::path::PathBuf> {
    let taken_at = cx
        .snapshot_at()
        .context("the copy read no snapshot to keep")?;
    let store = Store::of(&cx.sqlite, &cx.config)?;
    let _ = store.forget();
    store.create()?;
    cx.keep_snapshot(&store.snapshot())?;
    store.save(&Store::new_record(
        &cx.sqlite,
        &cx.config,
        &cx.settings,
        taken_at,
    ))?;
    Ok(store.dir().to_path_buf())
}
