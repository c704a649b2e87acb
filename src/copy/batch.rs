//! Small tables in batches: load, read back and `ANALYZE` many tables in one round trip.
//!
//! A Django project has dozens of small tables (auth, admin, content types, a CMS's pages
//! and settings), and far from the server each statement's round trip costs more than the
//! rows. So the scheduler gathers the small plain tables that may load together (their
//! parents committed, or earlier in the same batch) into one task, and this sends it as one
//! simple query on a pipelined session ([`crate::pg::wire`]):
//!
//! ```text
//! COPY a (...) FROM STDIN (FORMAT binary); COPY b (...) FROM STDIN (FORMAT binary); ...
//! COPY (SELECT ... FROM a) TO STDOUT (FORMAT binary); ...; ANALYZE a, b, ...
//! ```
//!
//! followed at once by every table's rows. It all runs in the query's one implicit
//! transaction: the tables are complete together or, after any error (a refused row, a
//! foreign key at commit, a kill), all as they were — resume needs nothing more. The read
//! back happens inside that transaction, after every `COPY` finished: it is exactly what
//! the commit makes visible, so it is the verification of these tables, one round trip
//! earlier. If the commit fails, the batch fails and nothing of it counts.

use super::plan::TablePlan;
use super::task::{Shared, TableOutcome, Task, TaskMode, stream_rows};
use super::verify::{self, Canon};
use crate::pg::wire::{Reply, ServerError, Wire};
use anyhow::{Result, anyhow, bail};
use rusqlite::Connection;
use std::io::Write;

/// Writes a COPY stream into the session as `CopyData` messages.
struct CopySink<'a>(&'a mut Wire);

impl Write for CopySink<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.copy_data(buf).map_err(std::io::Error::other)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Load the task's tables (in its order: parents before children) in one query, read
/// them back and analyze them. Returns, per table, the load's outcome and the check's.
pub fn run(
    wire: &mut Wire,
    sq: &Connection,
    sh: &Shared<'_>,
    task: &Task,
) -> Result<Vec<TableOutcome>> {
    let tables = copyable(sh, task)?;
    let mut sql: Vec<String> = tables.iter().map(|t| t.copy_in_sql(false)).collect();
    sql.extend(tables.iter().map(|t| verify::read_back_sql(t)));
    sql.push(format!(
        "ANALYZE {}",
        tables
            .iter()
            .map(|t| t.target.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let before = wire.round_trips();
    let loads = send(wire, &sql, sq, sh, task)?;

    let failed = |wire: &mut Wire, what: String, e: ServerError| -> Result<Vec<TableOutcome>> {
        wire.finish_query()?;
        Err(anyhow!("{what}: {e}{}", where_(&e)))
    };
    for t in &tables {
        if let Reply::Failed(e) = wire.statement()? {
            return failed(wire, format!("COPY into {} failed", t.target), e);
        }
    }
    let mut out = Vec::with_capacity(2 * tables.len());
    for (k, t) in tables.iter().enumerate() {
        let sum = match wire.copy_out()? {
            Ok(mut data) => {
                let sum = verify::checksum_copy(&mut data, t, Canon::Exact);
                data.finish()?;
                sum?
            }
            Err(e) => {
                return failed(
                    wire,
                    format!("could not read {} back for verification", t.name),
                    e,
                );
            }
        };
        out.push(TableOutcome {
            table: task.tables[k],
            target: Some(sum),
            analyzed: true,
            ..Default::default()
        });
    }
    if let Reply::Failed(e) = wire.statement()? {
        return failed(wire, "ANALYZE of the loaded tables failed".into(), e);
    }
    // The commit: deferred foreign keys are checked here.
    if let Some(e) = wire.end_query()? {
        let names: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
        bail!(
            "could not commit the load of {}: {e}{}",
            names.join(", "),
            where_(&e)
        );
    }
    out.extend(loads);
    let trips = wire.round_trips() - before;
    for o in &mut out {
        // Counted once: with the load's outcome, not again with the read-back's.
        o.round_trips = if o.target.is_some() { 0 } else { trips };
    }
    Ok(out)
}

/// The task's tables, each with a column to copy.
fn copyable<'a>(sh: &Shared<'a>, task: &Task) -> Result<Vec<&'a TablePlan>> {
    let tables: Vec<&TablePlan> = task.tables.iter().map(|&t| &sh.plan.tables[t]).collect();
    for t in &tables {
        t.ensure_copyable()?;
    }
    Ok(tables)
}

/// Send `sql` (one query holding a `COPY ... FROM STDIN` per task table, in order) with
/// every table's rows right behind it, without waiting for the server.
fn send(
    wire: &mut Wire,
    sql: &[String],
    sq: &Connection,
    sh: &Shared<'_>,
    task: &Task,
) -> Result<Vec<TableOutcome>> {
    wire.query(&sql.join(";\n"))?;
    let mut loads = Vec::with_capacity(task.tables.len());
    for &t in &task.tables {
        loads.push(stream_rows(&mut CopySink(wire), sq, sh, t, None)?);
        wire.copy_done()?;
    }
    wire.flush()?;
    Ok(loads)
}

/// The server's "where" of an error (for COPY: the table, line and column), if any.
fn where_(e: &ServerError) -> String {
    e.context
        .as_ref()
        .map(|c| format!(" [{c}]"))
        .unwrap_or_default()
}

/// A bulk task ([`super::bulk`]) on a pipelined session: `BEGIN` and the catalog reading,
/// then one query with the drops, every table's `COPY` and rows, the rebuilt indexes and
/// keys, and the `COMMIT`: two round trips whatever the table's size.
pub fn run_bulk(
    wire: &mut Wire,
    sq: &Connection,
    sh: &Shared<'_>,
    task: &Task,
) -> Result<Vec<TableOutcome>> {
    let tables = copyable(sh, task)?;
    let targets: Vec<&str> = tables.iter().map(|t| t.target.as_str()).collect();
    let before = wire.round_trips();
    let (set, drops, freeze) = super::bulk::set_aside(
        wire,
        &targets,
        task.truncate_too.as_deref(),
        task.mode == TaskMode::Light,
    )?;
    let mut put_back = super::bulk::put_back_sql(&set);
    if task.mode == TaskMode::Light && !put_back.is_empty() {
        // The kept foreign keys queued a check per row; PostgreSQL builds no index on a
        // table with checks pending, so they run first (and wait here, not at the
        // commit, for a sibling holding the parent).
        put_back.insert(0, "SET CONSTRAINTS ALL IMMEDIATE".into());
    }
    let mut sql = drops.clone();
    sql.extend(tables.iter().map(|t| t.copy_in_sql(freeze)));
    sql.extend(put_back.iter().cloned());
    sql.push("COMMIT".into());
    let mut out = send(wire, &sql, sq, sh, task)?;
    let names = targets.join(", ");
    for _ in &drops {
        if let Reply::Failed(e) = wire.statement()? {
            wire.finish_query()?;
            bail!("could not set the indexes and foreign keys of {names} aside for the load: {e}");
        }
    }
    for t in &tables {
        if let Reply::Failed(e) = wire.statement()? {
            wire.finish_query()?;
            bail!("COPY into {} failed: {e}{}", t.target, where_(&e));
        }
    }
    for _ in &put_back {
        if let Reply::Failed(e) = wire.statement()? {
            wire.finish_query()?;
            return Err(super::bulk::put_back_error(&set, &e));
        }
    }
    match wire.statement()? {
        Reply::Done(tag) if tag == "COMMIT" => {}
        Reply::Done(tag) => bail!("the load of {names} was not committed ({tag})"),
        Reply::Failed(e) => {
            wire.finish_query()?;
            bail!("could not commit the load of {names}: {e}{}", where_(&e));
        }
    }
    if let Some(e) = wire.end_query()? {
        bail!("could not commit the load of {names}: {e}");
    }
    let trips = wire.round_trips() - before;
    for o in &mut out {
        o.round_trips = trips;
    }
    Ok(out)
}

/// A check task: `ANALYZE` (big tables) and read back each table of a committed group, in
/// one query (one round trip). Nothing this run does later changes these tables (children
/// load after their parents and empty only their own descendants), so this reading is the
/// verification, only earlier: it overlaps other tables' loads.
pub fn check(wire: &mut Wire, sh: &Shared<'_>, task: &Task) -> Result<Vec<TableOutcome>> {
    let tables: Vec<_> = task.tables.iter().map(|&t| &sh.plan.tables[t]).collect();
    // A part of a split check ([`Task::slice`]): the first part analyzes the table.
    let analyze: Vec<bool> = tables
        .iter()
        .map(|t| {
            t.source_rows >= sh.cx.settings.bulk_min_rows
                && task.slice.is_none_or(|(start, _)| start == i64::MIN)
        })
        .collect();
    let before = wire.round_trips();
    let sums = read_back_part(wire, &tables, &analyze, task.slice)?;
    let trips = wire.round_trips() - before;
    Ok(sums
        .into_iter()
        .zip(&analyze)
        .enumerate()
        .map(|(k, (sum, &a))| TableOutcome {
            table: task.tables[k],
            target: Some(sum),
            analyzed: a,
            round_trips: trips,
            ..Default::default()
        })
        .collect())
}

/// Read `tables` back and checksum them (after `ANALYZE` where `analyze` says), all in one
/// query: one round trip, whatever the number of tables.
pub fn read_back(
    wire: &mut Wire,
    tables: &[&TablePlan],
    analyze: &[bool],
) -> Result<Vec<verify::Checksum>> {
    read_back_part(wire, tables, analyze, None)
}

/// [`read_back`], of the rows in one primary-key range only when `range` is given (one
/// table then).
fn read_back_part(
    wire: &mut Wire,
    tables: &[&TablePlan],
    analyze: &[bool],
    range: Option<(i64, i64)>,
) -> Result<Vec<verify::Checksum>> {
    let mut sql = Vec::new();
    for (t, &a) in tables.iter().zip(analyze) {
        if a {
            sql.push(format!("ANALYZE {}", t.target));
        }
        sql.push(match range {
            _ if t.columns.is_empty() => format!("SELECT count(*) FROM {}", t.target),
            Some(r) => verify::read_back_range_sql(t, r),
            None => verify::read_back_sql(t),
        });
    }
    if sql.is_empty() {
        return Ok(Vec::new());
    }
    wire.query(&sql.join(";\n"))?;
    let mut out = Vec::with_capacity(tables.len());
    for (t, &a) in tables.iter().zip(analyze) {
        if a && let Reply::Failed(e) = wire.statement()? {
            wire.finish_query()?;
            bail!("ANALYZE {} failed: {e}", t.target);
        }
        let sum = if t.columns.is_empty() {
            let rows = match wire.rows()? {
                Ok(rows) => rows,
                Err(e) => {
                    wire.finish_query()?;
                    bail!("could not count the rows of {}: {e}", t.target);
                }
            };
            let n = rows
                .first()
                .and_then(|r| r.first().cloned().flatten())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            verify::Checksum { rows: n, sum: 0 }
        } else {
            match wire.copy_out()? {
                Ok(mut data) => {
                    let sum = verify::checksum_copy(&mut data, t, Canon::Exact);
                    data.finish()?;
                    sum?
                }
                Err(e) => {
                    wire.finish_query()?;
                    bail!("could not read {} back for verification: {e}", t.name);
                }
            }
        };
        out.push(sum);
    }
    if let Some(e) = wire.end_query()? {
        bail!(
            "reading {} back failed: {e}",
            tables
                .iter()
                .map(|t| t.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(out)
}
