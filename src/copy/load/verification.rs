//! Verification: every table's target read back (unless a check task did it during the
//! load) and compared with what was sent, or with the source's checksum of a kept table.

use super::TableRun;
use crate::copy::Context;
use crate::copy::plan::Plan;
use crate::copy::refcheck::Parents;
use crate::copy::task;
use crate::copy::tracker::Tracker;
use crate::copy::verify::{self, Checksum};
use crate::data::copy::{ProblemPolicy, TableCheck, TablePhase};
use anyhow::Result;

/// What verification needs besides the tables' records.
pub(super) struct Verifier<'a> {
    pub cx: &'a Context,
    pub plan: &'a Plan,
    pub policy: ProblemPolicy,
    pub parents: &'a Parents,
    pub tracker: &'a Tracker,
}

impl Verifier<'_> {
    /// Read back every table not yet read, compare, and mark each verified or mismatched;
    /// a table whose JSON only reads back formatted differently gets a note in `notes`.
    pub fn run(
        &self,
        pg: &mut postgres::Client,
        runs: &mut [TableRun],
        notes: &mut Vec<String>,
    ) -> Result<Vec<TableCheck>> {
        self.count_empty(pg, runs)?;
        self.read_back(pg, runs)?;
        let plan = self.plan;
        let mut checks = Vec::with_capacity(runs.len());
        for (i, run) in runs.iter().enumerate() {
            let (sum, rejected) = run.sent();
            let target = run.checked.unwrap_or_default();
            let mut ok = sum == target;
            if !ok && sum.rows == target.rows && verify::has_json(&plan.tables[i]) {
                ok = task::same_by_value(self.cx, plan, i, self.policy, self.parents, pg)?;
                if ok {
                    notes.push(format!(
                        "{}: its JSON reads back formatted differently from what was sent; compared again value by value: identical.",
                        plan.tables[i].name
                    ));
                }
            }
            let phase = if ok {
                TablePhase::Verified
            } else {
                TablePhase::Mismatch
            };
            self.tracker.set_phase(i, phase);
            checks.push(TableCheck {
                table: plan.tables[i].name.clone(),
                source_rows: plan.tables[i].source_rows,
                target_rows: target.rows,
                checksum_match: ok,
                rejected_rows: rejected,
                left_behind: plan.left_behind(&plan.tables[i].name),
                target: plan.tables[i].target.clone(),
            });
        }
        Ok(checks)
    }

    /// Tables that should be empty (empty in SQLite; this run wrote nothing to them): an
    /// empty table's checksum is its row count, so one count of them all (one round trip)
    /// verifies them.
    fn count_empty(&self, pg: &mut postgres::Client, runs: &mut [TableRun]) -> Result<()> {
        let plan = self.plan;
        let empty: Vec<usize> = (0..runs.len())
            .filter(|&i| {
                runs[i].checked.is_none()
                    && plan.tables[i].source_rows == 0
                    && runs[i].loaded.is_none()
            })
            .collect();
        let counts =
            crate::copy::count_rows(pg, empty.iter().map(|&i| plan.tables[i].target.as_str()))?;
        for (&i, &rows) in empty.iter().zip(&counts) {
            if rows == 0 {
                runs[i].checked = Some(Checksum::default());
                runs[i].round_trips += 1;
            }
        }
        Ok(())
    }

    /// Read back the tables no one read yet. A few small ones (kept ones, mostly) are read
    /// on this connection: new ones would cost more round trips than the reading.
    fn read_back(&self, pg: &mut postgres::Client, runs: &mut [TableRun]) -> Result<()> {
        let plan = self.plan;
        let rest: Vec<usize> = (0..runs.len())
            .filter(|&i| runs[i].checked.is_none())
            .collect();
        let small = rest
            .iter()
            .map(|&i| plan.tables[i].source_rows)
            .sum::<u64>()
            < 100_000;
        let read: Vec<Checksum> = if small {
            rest.iter()
                .map(|&i| verify::target_checksum(pg, &plan.tables[i]))
                .collect::<Result<_>>()?
        } else {
            self.cx
                .par_pg(&rest, |c, &i| verify::target_checksum(c, &plan.tables[i]))?
        };
        for (&i, sum) in rest.iter().zip(read) {
            runs[i].checked = Some(sum);
            // Read back with the `postgres` crate: prepare, then the COPY.
            runs[i].round_trips += 2;
        }
        Ok(())
    }
}
