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

use super::task::{Shared, TableOutcome, Task, stream_rows};
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
    let tables: Vec<_> = task.tables.iter().map(|&t| &sh.plan.tables[t]).collect();
    if let Some(t) = tables.iter().find(|t| t.columns.is_empty()) {
        bail!("table {} has no column that can be copied", t.name);
    }
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
    wire.query(&sql.join(";\n"))?;
    let mut loads = Vec::with_capacity(tables.len());
    for &t in &task.tables {
        loads.push(stream_rows(&mut CopySink(wire), sq, sh, t, None)?);
        wire.copy_done()?;
    }
    wire.flush()?;

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
    let mut commit_error = None;
    loop {
        match wire.reply()? {
            postgres_protocol::message::backend::Message::ErrorResponse(e) => {
                commit_error = Some(crate::pg::wire::server_error(e.fields()))
            }
            postgres_protocol::message::backend::Message::ReadyForQuery(_) => break,
            _ => {}
        }
    }
    if let Some(e) = commit_error {
        let names: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
        bail!(
            "could not commit the load of {}: {e}{}",
            names.join(", "),
            where_(&e)
        );
    }
    out.extend(loads);
    Ok(out)
}

/// The server's "where" of an error (for COPY: the table, line and column), if any.
fn where_(e: &ServerError) -> String {
    e.context
        .as_ref()
        .map(|c| format!(" [{c}]"))
        .unwrap_or_default()
}
