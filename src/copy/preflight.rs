//! Preflight: one read-only pass over every value, before anything is written.
//!
//! Finds every value PostgreSQL would reject (with table, primary key, column and an
//! excerpt), references to rows that no longer exist, and the target tables that already
//! hold rows — except those that already hold exactly the source's rows (a resumed run),
//! which the load keeps.

use super::convert::Zone;
use super::plan::{Plan, TablePlan};
use super::refcheck::{Parents, RefCheck};
use super::rows::{self, RowOutcome};
use super::task;
use super::verify::{self, Canon, Checksum};
use super::{Context as Ctx, Stop};
use crate::data::copy::ProblemPolicy;
use crate::data::copy::{PreflightReport, Problem};
use anyhow::Result;
use rusqlite::Connection;
use rusqlite::types::ValueRef;

/// Problems listed per table at most; the rest are counted.
const MAX_LISTED: usize = 1000;

/// What one table's source scan found.
#[derive(Debug, Default)]
pub struct Scan {
    pub problems: Vec<Problem>,
    /// Problems beyond `MAX_LISTED`.
    pub unlisted: u64,
    /// Checksum of the rows that convert cleanly.
    pub checksum: Checksum,
}

/// Convert every row of `table` (fixing nothing) and collect what fails.
/// The checksum (only needed when the target already holds rows) is skipped unless `sum`.
pub fn scan_table(
    conn: &Connection,
    table: &TablePlan,
    zone: &Zone,
    stop: &Stop,
    sum: bool,
    parents: &Parents,
) -> Result<Scan> {
    let refs = RefCheck::build(conn, table, parents, None)?;
    let types: Vec<_> = table.columns.iter().map(|c| &c.ty).collect();
    let mut scan = Scan::default();
    let mut stmt = conn.prepare(&table.select_sql(false))?;
    let mut cursor = stmt.query([])?;
    let mut buf = Vec::with_capacity(4096);
    let mut n = 0u64;
    while let Some(row) = cursor.next()? {
        n += 1;
        if n % 4096 == 0 {
            stop.check()?;
        }
        let key = refs
            .needs_key()
            .then(|| rows::key_text(row.get_ref(0).unwrap_or(ValueRef::Null)));
        buf.clear();
        match rows::encode_row(table, row, zone, false, &refs, key.as_deref(), &mut buf)? {
            RowOutcome::Written(_) if sum => scan.checksum.add_row(&types, &buf),
            RowOutcome::Written(_) => {}
            RowOutcome::Rejected(issues) => {
                let key =
                    key.unwrap_or_else(|| rows::key_text(row.get_ref(0).unwrap_or(ValueRef::Null)));
                for (i, issue) in issues {
                    if scan.problems.len() >= MAX_LISTED {
                        scan.unlisted += 1;
                        continue;
                    }
                    scan.problems.push(Problem {
                        table: table.name.clone(),
                        pk: key.clone(),
                        column: table.columns[i].name.clone(),
                        issue: issue.what,
                        excerpt: rows::excerpt(row, i),
                        fix: issue.fix.map(|f| f.describe()),
                    });
                }
            }
        }
    }
    Ok(scan)
}

/// The whole preflight. `policy` is the one already chosen, if any: it decides whether a
/// target table holding rows already holds exactly what the load would write.
pub fn run(cx: &Ctx, plan: &Plan, policy: ProblemPolicy) -> Result<PreflightReport> {
    super::phase_log::stage("preflight");
    let counts = cx.target_counts(plan)?;
    let parents = Parents::default();
    let scans = cx.par_tables(plan, |conn, table| {
        let i = plan.index(&table.name).unwrap_or(0);
        scan_table(conn, table, &cx.zone, &cx.stop, counts[i] > 0, &parents)
    })?;
    let mut report = PreflightReport {
        notes: plan.notes.clone(),
        derived: plan.derived.clone(),
        unmapped: plan.unmapped.iter().filter(|u| !u.named).cloned().collect(),
        tables: plan
            .tables
            .iter()
            .map(|t| (t.name.clone(), t.source_rows))
            .collect(),
        ..Default::default()
    };
    // Tables that already hold exactly the source's rows are kept, not emptied.
    let mut expected: Vec<Option<Checksum>> = vec![None; plan.tables.len()];
    for (i, scan) in scans.iter().enumerate() {
        if counts[i] == 0 {
            continue;
        }
        if scan.problems.is_empty() {
            expected[i] = Some(scan.checksum);
        } else if policy != ProblemPolicy::Abort {
            let conn = cx.open_sqlite()?;
            expected[i] = task::source_checksum(
                &conn,
                cx,
                plan,
                i,
                &task::SourceScan {
                    policy,
                    parents: &parents,
                    left_out: None,
                    canon: Canon::Exact,
                },
            )?
            .map(|(sum, _)| sum);
        }
    }
    let candidates: Vec<usize> = (0..plan.tables.len())
        .filter(|&i| expected[i].is_some_and(|e| e.rows == counts[i]))
        .collect();
    let target_sums = cx.target_checksums(plan, &candidates)?;
    let mut kept = Vec::new();
    let mut pg = None;
    for (k, &i) in candidates.iter().enumerate() {
        let same = Some(target_sums[k]) == expected[i]
            || (verify::has_json(&plan.tables[i]) && {
                let pg = match &mut pg {
                    Some(pg) => pg,
                    None => pg.insert(cx.connect()?),
                };
                task::same_by_value(cx, plan, i, policy, &parents, pg)?
            });
        if same {
            kept.push(i);
        }
    }
    for (i, scan) in scans.into_iter().enumerate() {
        let table = &plan.tables[i];
        if scan.unlisted > 0 {
            report.notes.push(format!(
                "{}: {} more problem(s) not listed (only the first {MAX_LISTED} are).",
                table.name, scan.unlisted
            ));
        }
        report.problems.extend(scan.problems);
        if kept.contains(&i) {
            report.notes.push(format!(
                "{} already holds exactly the SQLite rows ({}): kept as it is.",
                table.name, counts[i]
            ));
        } else if counts[i] > 0 {
            report
                .nonempty_targets
                .push((table.name.clone(), counts[i]));
        }
    }
    for (table, cols, parent) in &plan.outside_referrers {
        report.notes.push(format!(
            "PostgreSQL-only table {table} ({cols}) references {parent}: it must be empty for {parent} to be reloaded."
        ));
    }
    Ok(report)
}
