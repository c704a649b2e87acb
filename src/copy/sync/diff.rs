//! The two sides a sync reads locally: the live SQLite file, opened read-only, with the
//! snapshot PostgreSQL matches attached as `old`; what changed in one table, by key (found
//! by [`super::scan`]); and the schema check that comes first: a schema change (a migration
//! applied to SQLite only), found by comparing `sqlite_master`, refuses the sync.

use super::super::plan::TablePlan;
use anyhow::{Context as _, Result};
use rusqlite::Connection;
use rusqlite::types::Value;
use std::path::Path;

/// A row's primary key, as SQLite holds it.
pub type Key = Vec<Value>;

/// What changed in one table.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TableDiff {
    /// The plan's index of the table.
    pub table: usize,
    pub inserted: Vec<Key>,
    pub updated: Vec<Key>,
    pub deleted: Vec<Key>,
    /// A table without a primary key that changed: reloaded whole.
    pub whole: bool,
}

impl TableDiff {
    pub fn is_empty(&self) -> bool {
        self.inserted.is_empty()
            && self.updated.is_empty()
            && self.deleted.is_empty()
            && !self.whole
    }
}

/// Open the live file `next` read-only, with the snapshot attached as `old`. Writers of the
/// live file are waited for (up to the backup's busy timeout), never interrupted.
pub fn open_pair(next: &Path, old: &Path) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        next,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("could not open {}", next.display()))?;
    conn.busy_timeout(std::time::Duration::from_millis(
        crate::backup::DEFAULT_BUSY_TIMEOUT_MS,
    ))?;
    // Attached databases share the main one's read-only flag.
    conn.execute("ATTACH DATABASE ?1 AS old", [old.to_string_lossy()])
        .with_context(|| format!("could not open {}", old.display()))?;
    Ok(conn)
}

/// The schema changes between `old` and `main`, described for the user (empty: none).
pub fn schema_changes(conn: &Connection) -> Result<Vec<String>> {
    let read = |db: &str| -> Result<Vec<(String, String, String)>> {
        let mut stmt = conn.prepare(&format!(
            "SELECT type, name, coalesce(sql, '') FROM {db}.sqlite_master \
             WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name"
        ))?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    };
    let (old, new) = (read("old")?, read("main")?);
    let mut changes = Vec::new();
    for (ty, name, sql) in &new {
        match old.iter().find(|(t, n, _)| t == ty && n == name) {
            None => changes.push(format!("new {ty} {name}")),
            Some((_, _, s)) if s != sql => changes.push(format!("{ty} {name} changed")),
            Some(_) => {}
        }
    }
    for (ty, name, _) in &old {
        if !new.iter().any(|(t, n, _)| t == ty && n == name) {
            changes.push(format!("{ty} {name} removed"));
        }
    }
    Ok(changes)
}

/// The primary-key columns of `t` by their index in the plan's columns, when every one of
/// them is copied (else the table is compared whole).
pub fn key_positions(t: &TablePlan) -> Option<Vec<usize>> {
    if t.pk.is_empty() {
        return None;
    }
    t.pk.iter()
        .map(|k| t.columns.iter().position(|c| &c.name == k))
        .collect()
}
