//! After the rows: sequences past the copied ids, and `ANALYZE` of what no check task
//! analyzed — one statement each (one round trip).

use super::TableRun;
use crate::copy::plan::Plan;
use anyhow::{Context as _, Result};

/// Every serial/identity sequence past max(max(id), SQLite's AUTOINCREMENT counter); an
/// empty table's next value is 1. One statement for all of them (one round trip).
pub(super) fn reset_sequences(pg: &mut postgres::Client, plan: &Plan) -> Result<()> {
    let mut calls = Vec::new();
    let mut names = Vec::new();
    for t in &plan.tables {
        for (col, seq) in &t.sequences {
            let counter = if t.pk.len() == 1 && t.target_of(&t.pk[0]) == col {
                t.sqlite_seq.unwrap_or(0)
            } else {
                0
            };
            let last = format!(
                "greatest(coalesce((SELECT max({})::int8 FROM {}), 0), {counter})",
                crate::copy::schema::quote_pg(col),
                t.target
            );
            calls.push(format!(
                "setval({}::regclass, greatest({last}, 1), {last} >= 1)",
                crate::pg::quote_literal(seq)
            ));
            names.push(format!("{seq} ({}.{col})", t.name));
        }
    }
    if calls.is_empty() {
        return Ok(());
    }
    pg.batch_execute(&format!("SELECT {}", calls.join(", ")))
        .with_context(|| {
            format!(
                "could not reset the sequences {} (the role needs UPDATE on them; their owner can run the copy)",
                names.join(", ")
            )
        })
}

/// Every table no check task analyzed (small, empty or kept ones: a kept table may come
/// from a run stopped before its ANALYZE), in one statement.
pub(super) fn analyze(pg: &mut postgres::Client, plan: &Plan, runs: &[TableRun]) -> Result<()> {
    let to_analyze: Vec<&str> = (0..runs.len())
        .filter(|&i| !runs[i].analyzed)
        .map(|i| plan.tables[i].target.as_str())
        .collect();
    if !to_analyze.is_empty() {
        pg.batch_execute(&format!("ANALYZE {}", to_analyze.join(", ")))?;
    }
    Ok(())
}
