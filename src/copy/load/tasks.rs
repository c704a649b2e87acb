//! The load's tasks, group by group: bulk mode or plain, one transaction or rowid slices
//! on every connection, and what each locks besides its own tables (see
//! [`schedule`](crate::copy::schedule)).

use super::TableRun;
use super::keep::referrers;
use crate::copy::Context;
use crate::copy::plan::Plan;
use crate::copy::schedule::{Groups, Lock};
use crate::copy::task::{Task, TaskMode};
use crate::copy::{bulk, weight};
use anyhow::Result;
use rusqlite::Connection;
use std::collections::BTreeSet;

/// Every group's tasks, ready for the scheduler.
pub(super) struct Tasks {
    pub groups: Groups,
    /// Tables that are most of the work, loaded in slices on every connection.
    pub long_poles: Vec<usize>,
}

/// What is known of each table before its group's tasks are built.
struct Inputs<'a> {
    cx: &'a Context,
    plan: &'a Plan,
    runs: &'a [TableRun],
    /// Per table: may load in bulk mode, and has a pgvector index (built after the load).
    eligible: Vec<(bool, bool)>,
    /// Per table: the work its load takes ([`weight::of_tables`]), and the sum to reload.
    work: Vec<u64>,
    total_work: u64,
}

pub(super) fn build(
    cx: &Context,
    plan: &Plan,
    runs: &[TableRun],
    pg: &mut postgres::Client,
    sq: &Connection,
) -> Result<Tasks> {
    let n = plan.tables.len();
    let eligible = if cx.settings.bulk {
        bulk::eligible(pg, plan)?
    } else {
        vec![(false, false); n]
    };
    let work = weight::of_tables(sq, plan);
    let total_work = (0..n)
        .filter(|&i| !runs[i].keep)
        .map(|i| work[i])
        .fold(0u64, u64::saturating_add);
    let inputs = Inputs {
        cx,
        plan,
        runs,
        eligible,
        work,
        total_work,
    };
    let mut groups = Groups {
        tasks: Vec::with_capacity(plan.groups.len()),
        locks: Vec::with_capacity(plan.groups.len()),
        batchable: Vec::new(),
    };
    let mut long_poles = Vec::new();
    for g in 0..plan.groups.len() {
        let (tasks, lock) = inputs.group(g, sq, &mut long_poles)?;
        groups.tasks.push(tasks);
        groups.locks.push(lock);
    }
    // Small plain tables load in batches ([`crate::copy::batch`]): one round trip for many.
    groups.batchable = plan
        .groups
        .iter()
        .zip(&groups.tasks)
        .map(|(group, of_group)| {
            cx.settings.batch_rows > 0
                && group_rows(plan, group) < cx.settings.bulk_min_rows.min(cx.settings.batch_rows)
                && matches!(of_group.as_slice(), [t] if t.mode == TaskMode::Plain && t.slice.is_none())
        })
        .collect();
    Ok(Tasks { groups, long_poles })
}

fn group_rows(plan: &Plan, group: &[usize]) -> u64 {
    group.iter().map(|&t| plan.tables[t].source_rows).sum()
}

impl Inputs<'_> {
    /// The table that is most of the work loads in slices on every connection instead of
    /// in one bulk transaction (which would leave the other connections idle meanwhile).
    /// A pgvector index is built once after the load (bulk mode), never row by row.
    fn is_long_pole(&self, group: &[usize]) -> bool {
        let s = &self.cx.settings;
        matches!(group, [t] if !self.runs[*t].keep
            && !self.eligible[*t].1
            && self.plan.tables[*t].has_rowid
            && !self.plan.tables[*t].references_itself()
            && group_rows(self.plan, group) >= s.bulk_min_rows.max(weight::SPLIT_MIN_ROWS)
            && weight::is_long_pole(self.work[*t], self.total_work, self.cx.jobs()))
    }

    /// Group `g`'s tasks and its locks (whether in bulk mode, and the other tables).
    fn group(
        &self,
        g: usize,
        sq: &Connection,
        long_poles: &mut Vec<usize>,
    ) -> Result<(Vec<Task>, Lock)> {
        let (plan, cx) = (self.plan, self.cx);
        let group = &plan.groups[g];
        let long_pole = self.is_long_pole(group);
        let in_bulk = (group_rows(plan, group) >= cx.settings.bulk_min_rows
            || group.iter().any(|&t| self.eligible[t].1))
            && group.iter().all(|&t| self.eligible[t].0)
            && !long_pole;
        let truncate_too = self.truncate_too(group, in_bulk);
        let lock = (
            in_bulk,
            bulk::locks_of(plan, group, truncate_too.as_deref().unwrap_or_default()),
        );
        if group.iter().all(|&t| self.runs[t].keep) {
            return Ok((Vec::new(), lock));
        }
        let table = &plan.tables[group[0]];
        let slice_rows = cx.settings.slice_rows.max(2);
        let slices = if long_pole {
            long_poles.push(group[0]);
            cx.jobs()
        } else {
            cx.jobs()
                .min((table.source_rows / (slice_rows / 2)) as usize)
        };
        // A row may reference one in a later slice, which its slice's commit would not see.
        let sliced = !in_bulk
            && group.len() == 1
            && table.has_rowid
            && !table.references_itself()
            && (table.source_rows >= slice_rows || long_pole)
            && slices > 1;
        let whole = Task {
            group: g,
            tables: group.clone(),
            slice: None,
            mode: if in_bulk {
                TaskMode::Bulk
            } else {
                TaskMode::Plain
            },
            truncate_too,
        };
        if !sliced {
            return Ok((vec![whole], lock));
        }
        let tasks = rowid_slices(sq, &table.name, slices)?
            .into_iter()
            .map(|slice| Task {
                slice: Some(slice),
                mode: TaskMode::Plain,
                truncate_too: None,
                ..whole.clone()
            })
            .collect();
        Ok((tasks, lock))
    }

    /// Referencing tables to empty along (FREEZE): only those this run reloads after this
    /// group (or that are empty anyway), and no PostgreSQL-only referrer. (PostgreSQL
    /// wants every table referencing a truncated one in the same statement.)
    fn truncate_too(&self, group: &[usize], in_bulk: bool) -> Option<Vec<String>> {
        let plan = self.plan;
        let own: BTreeSet<usize> = group.iter().copied().collect();
        let children = referrers(plan, &own);
        let outside = plan.outside_referrers.iter().any(|(_, _, parent)| {
            own.iter()
                .chain(&children)
                .any(|&t| &plan.tables[t].name == parent)
        });
        let all_reloaded = children
            .iter()
            .all(|&c| !self.runs[c].keep || self.runs[c].target_rows == 0);
        (in_bulk && !outside && all_reloaded).then(|| {
            children
                .iter()
                .map(|&c| plan.tables[c].target.clone())
                .collect()
        })
    }
}

/// `slices` rowid ranges `[start, end)` that cover the table.
fn rowid_slices(sq: &Connection, table: &str, slices: usize) -> Result<Vec<(i64, i64)>> {
    let (lo, hi): (i64, i64) = sq.query_row(
        &format!(
            "SELECT min(rowid), max(rowid) FROM {}",
            crate::copy::schema::quote_sqlite(table)
        ),
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let width = ((hi - lo) / slices as i64).max(1);
    Ok((0..slices as i64)
        .map(|s| {
            let start = lo + s * width;
            let end = if s == slices as i64 - 1 {
                hi + 1
            } else {
                start + width
            };
            (start, end)
        })
        .collect())
}
