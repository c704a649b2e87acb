//! The load: decide which tables to keep (already exactly the source's rows) and which to
//! reload, empty the latter in one `TRUNCATE`, stream them in foreign-key order over
//! `jobs` connections, reset sequences, `ANALYZE`, verify.
//!
//! Resume needs no side state: a table is kept only when its row count and content
//! checksum equal the source's; anything else (never loaded, rolled back, partly loaded
//! by slices) is emptied and reloaded. Emptying a referenced table empties its referencing
//! tables in the same statement (PostgreSQL requires it), so those are reloaded too.

use super::plan::Plan;
use super::progress::{CopyProgress, TablePhase};
use super::report::{CopyReport, TableCheck};
use super::rows::Dangling;
use super::task::{self, Rejects, Shared, TableOutcome, Task};
use super::tracker::{Clock, Tracker};
use super::verify::{self, Checksum};
use super::{Cancelled, Context};
use crate::state::ProblemPolicy;
use anyhow::{Context as _, Result, bail};
use std::collections::{BTreeSet, VecDeque};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub fn run(
    cx: &Context,
    plan: &Plan,
    policy: ProblemPolicy,
    on_progress: &mut dyn FnMut(&CopyProgress),
) -> Result<CopyReport> {
    let started = Instant::now();
    let n = plan.tables.len();
    let tracker = Tracker::new(
        &plan
            .tables
            .iter()
            .map(|t| (t.name.clone(), t.source_rows))
            .collect::<Vec<_>>(),
    );
    let mut clock = Clock::default();
    let mut notes = plan.notes.clone();
    let report_now = |tracker: &Tracker, clock: &mut Clock, f: &mut dyn FnMut(&CopyProgress)| {
        clock.tick(cx.stop.paused(), tracker);
        f(&tracker.snapshot(clock));
    };

    tracker.set_stage("checking the target");
    report_now(&tracker, &mut clock, on_progress);
    let counts = cx.target_counts(plan)?;
    let mut pg = cx.connect()?;
    for (table, cols, parent) in &plan.outside_referrers {
        let rows: i64 = pg
            .query_one(
                &format!("SELECT count(*) FROM {}", super::schema::quote_pg(table)),
                &[],
            )?
            .get(0);
        if rows > 0 {
            bail!(
                "PostgreSQL-only table {table} holds {rows} row(s) that reference {parent} ({cols}); reloading {parent} would need to empty it. Empty or drop {table} first."
            );
        }
    }

    // Keep or reload: compare counts and checksums of tables that hold rows.
    let candidates: Vec<usize> = (0..n).filter(|&i| counts[i] > 0).collect();
    let sources = cx.par_tables_subset(plan, &candidates, |sq, i| {
        task::source_checksum(sq, cx, plan, i, policy)
    })?;
    let targets = cx.par_pg(&candidates, |c, &i| {
        verify::target_checksum(c, &plan.tables[i])
    })?;
    let mut keep = vec![false; n];
    let mut source_sum: Vec<Option<(Checksum, u64)>> = vec![None; n];
    for (k, &i) in candidates.iter().enumerate() {
        if let Some((sum, rejected)) = sources[k] {
            if sum == targets[k] {
                keep[i] = true;
                source_sum[i] = Some((sum, rejected));
            }
        }
    }
    for i in 0..n {
        if counts[i] == 0 && plan.tables[i].source_rows == 0 {
            keep[i] = true;
            source_sum[i] = Some((Checksum::default(), 0));
        }
    }
    // What must be emptied: reloaded tables that hold rows, and every table referencing one.
    let mut truncate: BTreeSet<usize> = (0..n).filter(|&i| !keep[i] && counts[i] > 0).collect();
    loop {
        let more: Vec<usize> = (0..n)
            .filter(|c| !truncate.contains(c))
            .filter(|&c| plan.tables[c].parents.iter().any(|p| truncate.contains(p)))
            .collect();
        if more.is_empty() {
            break;
        }
        for c in more {
            truncate.insert(c);
            if counts[c] > 0 {
                keep[c] = false;
                source_sum[c] = None;
            }
        }
    }
    let kept: Vec<&str> = (0..n)
        .filter(|&i| keep[i] && counts[i] > 0)
        .map(|i| plan.tables[i].name.as_str())
        .collect();
    if !kept.is_empty() {
        notes.push(format!(
            "Already copied and verified, kept: {}.",
            kept.join(", ")
        ));
    }
    if !truncate.is_empty() {
        tracker.set_stage("emptying target tables");
        report_now(&tracker, &mut clock, on_progress);
        let mut names: Vec<String> = truncate
            .iter()
            .map(|&i| plan.tables[i].target.clone())
            .collect();
        for (table, _, parent) in &plan.outside_referrers {
            if truncate.iter().any(|&i| &plan.tables[i].name == parent) {
                names.push(super::schema::quote_pg(table));
            }
        }
        names.dedup();
        let mut tx = pg.transaction()?;
        tx.batch_execute(&format!("TRUNCATE {}", names.join(", ")))
            .context("could not empty the target tables")?;
        tx.commit()?;
    }
    for (i, &kept) in keep.iter().enumerate() {
        if kept {
            tracker.set_rows(i, plan.tables[i].source_rows);
            tracker.set_phase(i, TablePhase::Loaded);
        }
    }

    // Rows that reference deleted rows, and fresh reject files for reloaded tables.
    let rejects = Rejects::new(cx.rejects_dir());
    let sq = cx.open_sqlite()?;
    // Found lazily by the first worker on each table, so the scans run in parallel.
    let dangling: Vec<Mutex<Option<Arc<Dangling>>>> = (0..n).map(|_| Mutex::new(None)).collect();
    for (i, t) in plan.tables.iter().enumerate() {
        if !keep[i] {
            let _ = std::fs::remove_file(rejects.path(&t.name));
        }
    }

    // The tasks, group by group.
    let mut tasks_of: Vec<Vec<Task>> = Vec::with_capacity(plan.groups.len());
    for (g, group) in plan.groups.iter().enumerate() {
        if group.iter().all(|&t| keep[t]) {
            tasks_of.push(Vec::new());
            continue;
        }
        let table = &plan.tables[group[0]];
        let slice_rows = cx.settings.slice_rows.max(2);
        let slices = cx
            .jobs()
            .min((table.source_rows / (slice_rows / 2)) as usize);
        if group.len() == 1 && table.has_rowid && table.source_rows >= slice_rows && slices > 1 {
            let (lo, hi): (i64, i64) = sq.query_row(
                &format!(
                    "SELECT min(rowid), max(rowid) FROM {}",
                    super::schema::quote_sqlite(&table.name)
                ),
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let width = ((hi - lo) / slices as i64).max(1);
            let mut tasks = Vec::new();
            for s in 0..slices as i64 {
                let start = lo + s * width;
                let end = if s == slices as i64 - 1 {
                    hi + 1
                } else {
                    start + width
                };
                tasks.push(Task {
                    group: g,
                    tables: group.clone(),
                    slice: Some((start, end)),
                });
            }
            tasks_of.push(tasks);
        } else {
            tasks_of.push(vec![Task {
                group: g,
                tables: group.clone(),
                slice: None,
            }]);
        }
    }
    drop(sq);

    let shared = Shared {
        cx,
        plan,
        policy,
        tracker: &tracker,
        dangling: &dangling,
        rejects: &rejects,
    };
    tracker.set_stage("loading");
    let outcomes = schedule(&shared, &tasks_of, &keep, &mut clock, on_progress)?;
    rejects.flush()?;
    let mut loaded: Vec<Option<TableOutcome>> = vec![None; n];
    for o in outcomes {
        let slot = loaded[o.table].get_or_insert_with(|| TableOutcome {
            table: o.table,
            ..Default::default()
        });
        slot.checksum.merge(o.checksum);
        slot.rejected += o.rejected;
        slot.fixed += o.fixed;
    }

    let load_ms = started.elapsed().as_millis() as u64;
    tracker.set_stage("resetting sequences");
    report_now(&tracker, &mut clock, on_progress);
    reset_sequences(&mut pg, plan)?;
    tracker.set_stage("analyzing");
    report_now(&tracker, &mut clock, on_progress);
    for i in (0..n).filter(|&i| !keep[i]) {
        pg.batch_execute(&format!("ANALYZE {}", plan.tables[i].target))?;
    }

    let verify_started = Instant::now();
    tracker.set_stage("verifying");
    report_now(&tracker, &mut clock, on_progress);
    let all: Vec<usize> = (0..n).collect();
    let targets = cx.par_pg(&all, |c, &i| verify::target_checksum(c, &plan.tables[i]))?;
    let mut checks = Vec::with_capacity(n);
    let (mut fixed, mut rejected) = (0, 0);
    for i in 0..n {
        let (sum, rej) = match (&loaded[i], source_sum[i]) {
            (Some(o), _) => {
                fixed += o.fixed;
                (o.checksum, o.rejected)
            }
            (None, Some(s)) => s,
            (None, None) => (Checksum::default(), 0),
        };
        rejected += rej;
        let ok = sum == targets[i];
        tracker.set_phase(
            i,
            if ok {
                TablePhase::Verified
            } else {
                TablePhase::Mismatch
            },
        );
        checks.push(TableCheck {
            table: plan.tables[i].name.clone(),
            source_rows: plan.tables[i].source_rows,
            target_rows: targets[i].rows,
            checksum_match: ok,
            rejected_rows: rej,
        });
    }
    if fixed > 0 {
        notes.push(format!(
            "{fixed} row(s) were written with a fix applied (as chosen)."
        ));
    }
    if rejected > 0 {
        notes.push(format!(
            "{rejected} row(s) were left out, as chosen; they are recorded in {}.",
            rejects.dir.display()
        ));
    }
    notes.push(format!(
        "Timings: load {:.1} s, verification {:.1} s.",
        load_ms as f64 / 1000.0,
        verify_started.elapsed().as_secs_f64()
    ));
    tracker.set_stage("done");
    report_now(&tracker, &mut clock, on_progress);
    Ok(CopyReport {
        checks,
        elapsed_ms: started.elapsed().as_millis() as u64,
        notes,
    })
}

/// Run the tasks on `jobs` workers, a group only after the groups it references, and
/// report progress about ten times a second.
fn schedule(
    sh: &Shared<'_>,
    tasks_of: &[Vec<Task>],
    keep: &[bool],
    clock: &mut Clock,
    on_progress: &mut dyn FnMut(&CopyProgress),
) -> Result<Vec<TableOutcome>> {
    let plan = sh.plan;
    let mut done = keep.to_vec();
    let mut left: Vec<usize> = tasks_of.iter().map(Vec::len).collect();
    let mut started = vec![false; tasks_of.len()];
    for (g, tasks) in tasks_of.iter().enumerate() {
        if tasks.is_empty() {
            started[g] = true;
        }
    }
    let (task_tx, task_rx) = mpsc::channel::<Task>();
    let task_rx = Arc::new(Mutex::new(task_rx));
    let (res_tx, res_rx) = mpsc::channel::<(Task, Result<Vec<TableOutcome>>)>();
    let mut outcomes = Vec::new();
    let mut error: Option<anyhow::Error> = None;
    std::thread::scope(|s| {
        let workers = sh
            .cx
            .jobs()
            .min(tasks_of.iter().map(Vec::len).sum::<usize>().max(1));
        for _ in 0..workers {
            let rx = Arc::clone(&task_rx);
            let tx = res_tx.clone();
            s.spawn(move || {
                let mut conns: Option<(postgres::Client, rusqlite::Connection)> = None;
                loop {
                    let task = match rx.lock().map(|r| r.recv()) {
                        Ok(Ok(t)) => t,
                        _ => return,
                    };
                    if conns.is_none() {
                        match sh.cx.connect().and_then(|p| Ok((p, sh.cx.open_sqlite()?))) {
                            Ok(c) => conns = Some(c),
                            Err(e) => {
                                let _ = tx.send((task, Err(e)));
                                continue;
                            }
                        }
                    }
                    let Some((pg, sq)) = conns.as_mut() else {
                        return;
                    };
                    for &t in &task.tables {
                        sh.tracker.set_phase(t, TablePhase::Loading);
                    }
                    let r = task::run(pg, sq, sh, &task);
                    if r.is_err() && pg.is_closed() {
                        conns = None;
                    }
                    if tx.send((task, r)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(res_tx);
        let mut in_flight = 0usize;
        let mut pending: VecDeque<Task> = VecDeque::new();
        loop {
            if error.is_none() {
                for (g, group) in plan.groups.iter().enumerate() {
                    if started[g] {
                        continue;
                    }
                    let ready = group.iter().all(|&t| {
                        plan.tables[t]
                            .parents
                            .iter()
                            .all(|p| done[*p] || group.contains(p))
                    });
                    if ready {
                        started[g] = true;
                        pending.extend(tasks_of[g].iter().cloned());
                    }
                }
                while let Some(t) = pending.pop_front() {
                    if task_tx.send(t).is_ok() {
                        in_flight += 1;
                    }
                }
            }
            if in_flight == 0 {
                break;
            }
            match res_rx.recv_timeout(Duration::from_millis(100)) {
                Ok((task, r)) => {
                    in_flight -= 1;
                    match r {
                        Ok(o) => {
                            outcomes.extend(o);
                            left[task.group] -= 1;
                            if left[task.group] == 0 {
                                for &t in &plan.groups[task.group] {
                                    done[t] = true;
                                    sh.tracker.set_phase(t, TablePhase::Loaded);
                                }
                            }
                        }
                        Err(e) => {
                            for &t in &task.tables {
                                sh.tracker.set_phase(t, TablePhase::Failed);
                            }
                            let cancelled = e.downcast_ref::<Cancelled>().is_some();
                            if error.as_ref().is_none_or(|old| {
                                old.downcast_ref::<Cancelled>().is_some() && !cancelled
                            }) {
                                error = Some(e);
                            }
                            // Let running tasks stop at their next batch.
                            if !cancelled {
                                sh.cx
                                    .stop
                                    .cancel
                                    .store(true, std::sync::atomic::Ordering::SeqCst);
                            }
                        }
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
            clock.tick(sh.cx.stop.paused(), sh.tracker);
            on_progress(&sh.tracker.snapshot(clock));
        }
        if error.is_none() && started.iter().any(|s| !s) {
            error = Some(anyhow::anyhow!(
                "some tables could not be scheduled (a foreign-key order problem)"
            ));
        }
        drop(task_tx);
    });
    match error {
        Some(e) => Err(e),
        None => Ok(outcomes),
    }
}

/// Every serial/identity sequence past max(max(id), SQLite's AUTOINCREMENT counter); an
/// empty table's next value is 1.
fn reset_sequences(pg: &mut postgres::Client, plan: &Plan) -> Result<()> {
    for t in &plan.tables {
        for (col, seq) in &t.sequences {
            let max: Option<i64> = pg
                .query_one(
                    &format!(
                        "SELECT max({})::int8 FROM {}",
                        super::schema::quote_pg(col),
                        t.target
                    ),
                    &[],
                )?
                .get(0);
            let counter = if t.pk.len() == 1 && &t.pk[0] == col {
                t.sqlite_seq
            } else {
                None
            };
            let last = max.unwrap_or(0).max(counter.unwrap_or(0));
            let (value, called) = if last >= 1 { (last, true) } else { (1, false) };
            pg.query_one("SELECT setval($1::text::regclass, $2, $3)", &[seq, &value, &called])
                .with_context(|| {
                    format!(
                        "could not reset the sequence {seq} of {}.{col} (the role needs UPDATE on it; its owner can run the copy)",
                        t.name
                    )
                })?;
        }
    }
    Ok(())
}
