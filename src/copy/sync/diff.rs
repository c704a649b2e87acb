//! What changed in the SQLite file since the snapshot, found locally: the new snapshot is
//! opened read-only with the old one attached (`old`), and each table is compared by its
//! primary key in SQL, so nothing crosses the link to find changes.
//!
//! A table without a primary key cannot name its rows on PostgreSQL: it is compared as a
//! whole and, when it changed, reloaded whole. A schema change (a migration applied to
//! SQLite only) is found first, by comparing `sqlite_master`, and refuses the sync.

use super::super::plan::{Plan, TablePlan};
use super::super::schema::quote_sqlite;
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

/// Open the new snapshot `next` read-only, with the old one attached as `old`.
pub fn open_pair(next: &Path, old: &Path) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        next,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("could not open {}", next.display()))?;
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

/// Every table's changes, in plan order (tables that did not change included, empty).
pub fn diff(conn: &Connection, plan: &Plan) -> Result<Vec<TableDiff>> {
    plan.tables
        .iter()
        .enumerate()
        .map(|(i, t)| {
            diff_table(conn, i, t)
                .with_context(|| format!("could not compare {} with the snapshot", t.name))
        })
        .collect()
}

fn diff_table(conn: &Connection, index: usize, t: &TablePlan) -> Result<TableDiff> {
    let mut d = TableDiff {
        table: index,
        ..TableDiff::default()
    };
    let name = quote_sqlite(&t.name);
    let Some(_) = key_positions(t) else {
        d.whole = whole_changed(conn, t)?;
        return Ok(d);
    };
    let keys: Vec<String> = t.pk.iter().map(|k| quote_sqlite(k)).collect();
    let on = keys
        .iter()
        .map(|k| format!("o.{k} = n.{k}"))
        .collect::<Vec<_>>()
        .join(" AND ");
    let select = |alias: &str| {
        keys.iter()
            .map(|k| format!("{alias}.{k}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let read = |sql: String| -> Result<Vec<Key>> {
        let mut stmt = conn.prepare(&sql)?;
        let n = keys.len();
        let rows = stmt.query_map([], |r| (0..n).map(|i| r.get::<_, Value>(i)).collect())?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    };
    d.inserted = read(format!(
        "SELECT {} FROM main.{name} n WHERE NOT EXISTS (SELECT 1 FROM old.{name} o WHERE {on})",
        select("n")
    ))?;
    d.deleted = read(format!(
        "SELECT {} FROM old.{name} o WHERE NOT EXISTS (SELECT 1 FROM main.{name} n WHERE {on})",
        select("o")
    ))?;
    let differs: Vec<String> = t
        .columns
        .iter()
        .filter(|c| !t.pk.contains(&c.name))
        .map(|c| {
            let c = quote_sqlite(&c.name);
            format!("n.{c} IS NOT o.{c}")
        })
        .collect();
    if !differs.is_empty() {
        d.updated = read(format!(
            "SELECT {} FROM main.{name} n JOIN old.{name} o ON {on} WHERE {}",
            select("n"),
            differs.join(" OR ")
        ))?;
    }
    Ok(d)
}

/// Whether a table without a primary key differs between the snapshots.
fn whole_changed(conn: &Connection, t: &TablePlan) -> Result<bool> {
    let name = quote_sqlite(&t.name);
    let cols = if t.columns.is_empty() {
        "1".to_string()
    } else {
        t.columns
            .iter()
            .map(|c| quote_sqlite(&c.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let changed: bool = conn.query_row(
        &format!(
            "SELECT (SELECT count(*) FROM main.{name}) != (SELECT count(*) FROM old.{name}) \
             OR EXISTS (SELECT {cols} FROM main.{name} EXCEPT SELECT {cols} FROM old.{name}) \
             OR EXISTS (SELECT {cols} FROM old.{name} EXCEPT SELECT {cols} FROM main.{name})"
        ),
        [],
        |r| r.get(0),
    )?;
    Ok(changed)
}
