//! Keep or reload: a table is kept only when its row count and content checksum equal the
//! source's; anything else (never loaded, rolled back, partly loaded by slices) is emptied
//! and reloaded, and with it every table referencing it (PostgreSQL empties referencing
//! tables in the same `TRUNCATE`).

use super::TableRun;
use crate::copy::Context;
use crate::copy::plan::Plan;
use crate::copy::schema::quote_pg;
use crate::copy::task::{self, SourceScan};
use crate::copy::verify::{self, Checksum};
use anyhow::{Context as _, Result, bail};
use std::collections::BTreeSet;

/// The target's row counts (one round trip), one record per table; refuses a
/// PostgreSQL-only table that holds rows referencing a copied table (reloading that table
/// would need to empty it). `pg` is the context's control connection, held by the caller.
pub(super) fn survey(plan: &Plan, pg: &mut postgres::Client) -> Result<Vec<TableRun>> {
    let counts = crate::copy::count_rows(pg, plan.tables.iter().map(|t| t.target.as_str()))?;
    for (table, cols, parent) in &plan.outside_referrers {
        let rows: i64 = pg
            .query_one(&format!("SELECT count(*) FROM {}", quote_pg(table)), &[])?
            .get(0);
        if rows > 0 {
            bail!(
                "PostgreSQL-only table {table} holds {rows} row(s) that reference {parent} ({cols}); reloading {parent} would need to empty it. Empty or drop {table} first."
            );
        }
    }
    Ok(counts
        .into_iter()
        .map(|target_rows| TableRun {
            target_rows,
            ..TableRun::default()
        })
        .collect())
}

/// Mark the tables to keep: those that hold rows whose checksum equals the source's (or,
/// with JSON, whose values are equal), and those empty on both sides.
pub(super) fn decide(
    cx: &Context,
    plan: &Plan,
    scan: &SourceScan<'_>,
    pg: &mut postgres::Client,
    runs: &mut [TableRun],
) -> Result<()> {
    let candidates: Vec<usize> = (0..runs.len())
        .filter(|&i| runs[i].target_rows > 0)
        .collect();
    let sources = cx.par_tables_subset(plan, &candidates, |sq, i| {
        task::source_checksum(sq, cx, plan, i, scan)
    })?;
    let targets = cx.target_checksums(plan, &candidates)?;
    for (k, &i) in candidates.iter().enumerate() {
        if let Some((sum, rejected)) = sources[k] {
            let same = sum == targets[k]
                || (sum.rows == targets[k].rows
                    && verify::has_json(&plan.tables[i])
                    && task::same_by_value(cx, plan, i, scan.policy, scan.parents, pg)?);
            if same {
                runs[i].keep = true;
                runs[i].source = Some((sum, rejected));
            }
        }
    }
    for (run, table) in runs.iter_mut().zip(&plan.tables) {
        if run.target_rows == 0 && table.source_rows == 0 {
            run.keep = true;
            run.source = Some((Checksum::default(), 0));
        }
    }
    Ok(())
}

/// What must be emptied: reloaded tables that hold rows, and every table referencing one
/// (which is then reloaded too, if it holds rows).
pub(super) fn to_empty(plan: &Plan, runs: &mut [TableRun]) -> BTreeSet<usize> {
    let reload: BTreeSet<usize> = (0..runs.len())
        .filter(|&i| !runs[i].keep && runs[i].target_rows > 0)
        .collect();
    let along = referrers(plan, &reload);
    for &c in &along {
        if runs[c].target_rows > 0 {
            runs[c].keep = false;
            runs[c].source = None;
        }
    }
    reload.union(&along).copied().collect()
}

/// Every table that references one of `tables`, directly or down a chain of foreign keys,
/// and is not itself among them.
pub(super) fn referrers(plan: &Plan, tables: &BTreeSet<usize>) -> BTreeSet<usize> {
    let mut found: BTreeSet<usize> = BTreeSet::new();
    loop {
        let more: Vec<usize> = (0..plan.tables.len())
            .filter(|c| !tables.contains(c) && !found.contains(c))
            .filter(|&c| {
                plan.tables[c]
                    .parents
                    .iter()
                    .any(|p| tables.contains(p) || found.contains(p))
            })
            .collect();
        if more.is_empty() {
            return found;
        }
        found.extend(more);
    }
}

/// Empty `tables` (and the PostgreSQL-only tables referencing them) in one statement.
pub(super) fn empty(
    pg: &mut postgres::Client,
    plan: &Plan,
    tables: &BTreeSet<usize>,
) -> Result<()> {
    let mut names: Vec<String> = tables
        .iter()
        .map(|&i| plan.tables[i].target.clone())
        .collect();
    for (table, _, parent) in &plan.outside_referrers {
        if tables.iter().any(|&i| &plan.tables[i].name == parent) {
            names.push(quote_pg(table));
        }
    }
    names.dedup();
    // One statement is one transaction: no BEGIN and COMMIT round trips.
    pg.batch_execute(&format!("TRUNCATE {}", names.join(", ")))
        .context("could not empty the target tables")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::copy::plan::TablePlan;

    fn table(name: &str, parents: &[usize]) -> TablePlan {
        TablePlan::bare(name, 1, parents)
    }

    /// user (0) ← post (1) ← comment (2) ← like (3); tag (4) stands apart.
    fn blog() -> Plan {
        Plan {
            tables: vec![
                table("user", &[]),
                table("post", &[0]),
                table("comment", &[1, 0]),
                table("like", &[2]),
                table("tag", &[]),
            ],
            groups: vec![vec![0], vec![1], vec![2], vec![3], vec![4]],
            ..Plan::default()
        }
    }

    #[test]
    fn the_referrers_of_a_table_go_down_every_chain() {
        let plan = blog();
        assert_eq!(referrers(&plan, &[1].into()), [2, 3].into());
        assert_eq!(referrers(&plan, &[0].into()), [1, 2, 3].into());
        assert_eq!(referrers(&plan, &[4].into()), BTreeSet::new());
    }

    #[test]
    fn emptying_a_table_reloads_the_tables_below_it_that_hold_rows() {
        let plan = blog();
        let mut runs: Vec<TableRun> = [(3, true), (2, false), (0, true), (5, true), (1, true)]
            .iter()
            .map(|&(target_rows, keep)| TableRun {
                target_rows,
                keep,
                source: keep.then(Default::default),
                ..TableRun::default()
            })
            .collect();
        assert_eq!(to_empty(&plan, &mut runs), [1, 2, 3].into());
        let kept: Vec<bool> = runs.iter().map(|r| r.keep).collect();
        // `comment` is empty: emptied along, nothing to reload; `like` held rows.
        assert_eq!(kept, [true, false, true, false, true]);
        assert!(runs[3].source.is_none());
    }
}
