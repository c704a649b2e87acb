//! The load: decide which tables to keep (already exactly the source's rows) and which to
//! reload, empty the latter in one `TRUNCATE`, stream them in foreign-key order over
//! `jobs` connections, reset sequences, `ANALYZE`, verify.
//!
//! Resume needs no side state: a table is kept only when its row count and content
//! checksum equal the source's; anything else (never loaded, rolled back, partly loaded
//! by slices) is emptied and reloaded. Emptying a referenced table empties its referencing
//! tables in the same statement (PostgreSQL requires it), so those are reloaded too.
//!
//! The parts: [`keep`] (keep or reload), [`tasks`] (the tasks the scheduler runs),
//! [`finish`] (sequences and `ANALYZE`), [`verification`] and [`notes`]. What the load
//! knows of each table lives in one [`TableRun`].

mod finish;
mod keep;
mod notes;
mod tasks;
mod verification;

use super::Context;
use super::plan::Plan;
use super::refcheck::{LeftOut, Parents};
use super::schedule::{self, Scheduled};
use super::task::{Rejects, Shared, SourceScan, TableOutcome};
use super::tracker::{Clock, Tracker};
use super::verify::{Canon, Checksum};
use crate::data::copy::{CopyProgress, CopyReport, ProblemPolicy, Stage, TableCheck, TablePhase};
use anyhow::Result;
use std::sync::Mutex;
use std::time::Instant;

/// Everything the load knows of one table, from the keep-or-reload decision to the
/// verification.
#[derive(Clone, Debug, Default)]
struct TableRun {
    /// Rows the target table held when the load started.
    target_rows: u64,
    /// It holds exactly the source's rows already: not reloaded.
    keep: bool,
    /// A kept table's source checksum and the rows the policy leaves out of it.
    source: Option<(Checksum, u64)>,
    /// What this run's tasks wrote to it.
    loaded: Option<TableOutcome>,
    /// Its target read back: by a check task during the load, or by the verification.
    checked: Option<Checksum>,
    /// A check task ran `ANALYZE` on it.
    analyzed: bool,
    /// The round trips its load and read-back waited for.
    round_trips: u64,
}

impl TableRun {
    /// The checksum of the rows sent (or kept) and the rows left out.
    fn sent(&self) -> (Checksum, u64) {
        match (&self.loaded, self.source) {
            (Some(o), _) => (o.checksum, o.rejected),
            (None, Some(s)) => s,
            (None, None) => (Checksum::default(), 0),
        }
    }

    /// Fold one task's outcome for this table in.
    fn fold(&mut self, o: TableOutcome) {
        self.round_trips += o.round_trips;
        if let Some(sum) = o.target {
            // A large table's read-back may come in parts (one per key range).
            self.checked.get_or_insert_default().merge(sum);
            self.analyzed |= o.analyzed;
            return;
        }
        let slot = self.loaded.get_or_insert_with(|| TableOutcome {
            table: o.table,
            ..Default::default()
        });
        slot.checksum.merge(o.checksum);
        slot.rejected += o.rejected;
        slot.fixed += o.fixed;
    }
}

/// The tracker, the clock and the caller's progress callback: each stage is reported as
/// soon as it begins.
struct Progress<'a> {
    tracker: Tracker,
    clock: Clock,
    on_progress: &'a mut dyn FnMut(&CopyProgress),
}

impl Progress<'_> {
    fn stage(&mut self, cx: &Context, stage: Stage) {
        self.tracker.set_stage(stage);
        self.clock.tick(cx.stop.paused(), &self.tracker);
        (self.on_progress)(&self.tracker.snapshot(&self.clock));
    }
}

/// One load: what every part shares.
struct Load<'a, 'p> {
    cx: &'a Context,
    plan: &'a Plan,
    policy: ProblemPolicy,
    /// The parent key sets the reference checks share.
    parents: Parents,
    /// Rows left out so far (also of kept tables), for the tables referencing them.
    left_out: LeftOut,
    progress: Progress<'p>,
    notes: Vec<String>,
}

pub fn run(
    cx: &Context,
    plan: &Plan,
    policy: ProblemPolicy,
    on_progress: &mut dyn FnMut(&CopyProgress),
) -> Result<CopyReport> {
    let started = Instant::now();
    let tables: Vec<(String, u64)> = plan
        .tables
        .iter()
        .map(|t| (t.name.clone(), t.source_rows))
        .collect();
    let mut load = Load {
        cx,
        plan,
        policy,
        parents: Parents::default(),
        left_out: LeftOut::default(),
        progress: Progress {
            tracker: Tracker::new(&tables),
            clock: Clock::default(),
            on_progress,
        },
        notes: plan.notes.clone(),
    };
    cx.adopt(plan);
    cx.prewarm();
    load.progress.stage(cx, Stage::CheckingTarget);
    let mut pg = cx.control()?;
    let mut runs = load.keep_or_reload(&mut pg)?;
    load.load(&mut pg, &mut runs)?;
    // Tables already read back (and analyzed) by check tasks during the load.
    let read_back_early = runs.iter().filter(|r| r.checked.is_some()).count();
    load.progress.stage(cx, Stage::ResettingSequences);
    finish::reset_sequences(&mut pg, plan)?;
    load.progress.stage(cx, Stage::Analyzing);
    finish::analyze(&mut pg, plan, &runs)?;
    load.progress.stage(cx, Stage::Verifying);
    let checks = load.verify(&mut pg, &mut runs)?;
    load.progress.stage(cx, Stage::Done);
    let timings = load.progress.tracker.timings();
    let mut notes = load.notes;
    notes.push(crate::data::copy::timings_note(&timings, read_back_early));
    for (t, run) in plan.tables.iter().zip(&runs) {
        super::phase_log::table(&t.name, run.round_trips);
    }
    notes.extend(plan.derived.iter().map(notes::derived));
    let snapshot_at = cx.snapshot_at();
    if let Some(at) = snapshot_at {
        notes.extend(notes::snapshot(cx, plan, at, &checks));
    }
    Ok(CopyReport {
        snapshot_at: snapshot_at.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        checks,
        elapsed_ms: started.elapsed().as_millis() as u64,
        notes,
        derived: plan.derived.clone(),
        left_behind: plan.unmapped.clone(),
        timings,
    })
}

impl Load<'_, '_> {
    /// Keep the tables that hold the source's rows already; empty the others that hold
    /// rows (and every table referencing them) in one statement.
    fn keep_or_reload(&mut self, pg: &mut postgres::Client) -> Result<Vec<TableRun>> {
        let (cx, plan) = (self.cx, self.plan);
        let mut runs = keep::survey(plan, pg)?;
        let scan = SourceScan {
            policy: self.policy,
            parents: &self.parents,
            left_out: Some(&self.left_out),
            canon: Canon::Exact,
        };
        keep::decide(cx, plan, &scan, pg, &mut runs)?;
        let truncate = keep::to_empty(plan, &mut runs);
        let kept: Vec<usize> = (0..runs.len())
            .filter(|&i| runs[i].keep && runs[i].target_rows > 0)
            .collect();
        self.notes.extend(notes::kept(plan, &kept));
        if !truncate.is_empty() {
            self.progress.stage(cx, Stage::EmptyingTargets);
            keep::empty(pg, plan, &truncate)?;
        }
        for (i, run) in runs.iter().enumerate() {
            if run.keep {
                self.progress
                    .tracker
                    .set_rows(i, plan.tables[i].source_rows);
                self.progress.tracker.set_phase(i, TablePhase::Loaded);
            }
        }
        Ok(runs)
    }

    /// Load every table not kept, group by group on `jobs` connections, and fold what the
    /// tasks did into the tables' records.
    fn load(&mut self, pg: &mut postgres::Client, runs: &mut [TableRun]) -> Result<()> {
        let (cx, plan) = (self.cx, self.plan);
        // Fresh reject files for reloaded tables.
        let rejects = Rejects::new(cx.rejects_dir());
        for (t, run) in plan.tables.iter().zip(runs.iter()) {
            if !run.keep {
                let _ = std::fs::remove_file(rejects.path(&t.name));
            }
        }
        let tasks = tasks::build(cx, plan, runs, pg, &cx.open_sqlite()?)?;
        // Reference checks are prepared lazily by the first worker on each table, so they
        // are built in parallel.
        let refs: Vec<Mutex<_>> = plan.tables.iter().map(|_| Mutex::new(None)).collect();
        let shared = Shared {
            cx,
            plan,
            policy: self.policy,
            tracker: &self.progress.tracker,
            refs: &refs,
            parents: &self.parents,
            left_out: &self.left_out,
            rejects: &rejects,
        };
        shared.tracker.set_stage(Stage::Loading);
        let kept: Vec<bool> = runs.iter().map(|r| r.keep).collect();
        let scheduled = schedule::schedule(
            &shared,
            &tasks.groups,
            &kept,
            &mut self.progress.clock,
            &mut *self.progress.on_progress,
        )?;
        rejects.flush()?;
        let notes = notes::how_loaded(plan, cx.jobs(), &tasks.long_poles, &scheduled);
        self.notes.extend(notes);
        let Scheduled { outcomes, .. } = scheduled;
        for o in outcomes {
            runs[o.table].fold(o);
        }
        Ok(())
    }

    /// Verify every table and note the rows fixed and left out.
    fn verify(
        &mut self,
        pg: &mut postgres::Client,
        runs: &mut [TableRun],
    ) -> Result<Vec<TableCheck>> {
        let verifier = verification::Verifier {
            cx: self.cx,
            plan: self.plan,
            policy: self.policy,
            parents: &self.parents,
            tracker: &self.progress.tracker,
        };
        let checks = verifier.run(pg, runs, &mut self.notes)?;
        let fixed: u64 = runs
            .iter()
            .filter_map(|r| r.loaded.as_ref())
            .map(|o| o.fixed)
            .sum();
        let rejected: u64 = runs.iter().map(|r| r.sent().1).sum();
        let dir = self.cx.rejects_dir();
        self.notes
            .extend(notes::fixed_and_rejected(fixed, rejected, &dir));
        Ok(checks)
    }
}
