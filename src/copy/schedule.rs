//! The load scheduler: tasks run on `jobs` workers, a group only after the groups it
//! references committed, and never two tasks whose lock sets meet while one of them is in
//! bulk mode (see [`super::bulk`]): a task that would wait on another's lock is left for
//! later and a worker takes the next one that does not, so no worker blocks on a lock and
//! no deadlock can form. With nothing in flight any ready task may start, so the schedule
//! always moves on.

use super::Cancelled;
use super::progress::{CopyProgress, TablePhase};
use super::task::{self, Shared, TableOutcome, Task};
use super::tracker::Clock;
use anyhow::Result;
use std::collections::{BTreeSet, VecDeque};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Per group: whether it loads in bulk mode, and the other tables it locks.
pub type Locks = Vec<(bool, BTreeSet<String>)>;

/// A task's lock set: its group's; a check task ([`Task::check`]) reads and `ANALYZE`s its
/// own tables, which a child's foreign-key drop would lock, so it counts as strong on them.
fn lock_set<'a>(locks: &'a Locks, own: &'a Locks, t: &Task) -> (bool, &'a BTreeSet<String>) {
    if t.check {
        (true, &own[t.group].1)
    } else {
        (locks[t.group].0, &locks[t.group].1)
    }
}

fn conflicts(locks: &Locks, own: &Locks, a: &Task, b: &Task) -> bool {
    if a.group == b.group && !a.check && !b.check {
        return false; // slices of one table
    }
    let ((sa, la), (sb, lb)) = (lock_set(locks, own, a), lock_set(locks, own, b));
    (sa || sb) && !la.is_disjoint(lb)
}

/// Run the tasks on `jobs` workers, a group only after the groups it references, and
/// report progress about ten times a second.
pub fn schedule(
    sh: &Shared<'_>,
    tasks_of: &[Vec<Task>],
    keep: &[bool],
    locks: &Locks,
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
                    let r = if task.check {
                        task::check(pg, sh, &task)
                    } else {
                        for &t in &task.tables {
                            sh.tracker.set_phase(t, TablePhase::Loading);
                        }
                        task::run(pg, sq, sh, &task)
                    };
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
        let mut running: Vec<Task> = Vec::new();
        let mut pending: VecDeque<Task> = VecDeque::new();
        // Checks of committed groups, handed out when no load task can start.
        let mut checks: VecDeque<Task> = VecDeque::new();
        let own: Locks = plan
            .groups
            .iter()
            .map(|g| {
                (
                    true,
                    g.iter().map(|&t| plan.tables[t].target.clone()).collect(),
                )
            })
            .collect();
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
            }
            // Hand out tasks while a worker is free, skipping those that would wait on a lock.
            while error.is_none() && in_flight < workers {
                let free = |t: &Task| running.iter().all(|r| !conflicts(locks, &own, t, r));
                let t = match pending.iter().position(free) {
                    Some(k) => pending.remove(k),
                    None => match checks.iter().position(free) {
                        Some(k) => checks.remove(k),
                        None => None,
                    },
                };
                let Some(t) = t else { break };
                running.push(t.clone());
                if task_tx.send(t).is_ok() {
                    in_flight += 1;
                }
            }
            if in_flight == 0 {
                break;
            }
            match res_rx.recv_timeout(Duration::from_millis(100)) {
                Ok((task, r)) => {
                    in_flight -= 1;
                    if let Some(k) = running.iter().position(|r| *r == task) {
                        running.swap_remove(k);
                    }
                    match r {
                        Ok(o) if task.check => outcomes.extend(o),
                        Ok(o) => {
                            outcomes.extend(o);
                            left[task.group] -= 1;
                            if left[task.group] == 0 {
                                for &t in &plan.groups[task.group] {
                                    done[t] = true;
                                    sh.tracker.set_phase(t, TablePhase::Loaded);
                                }
                                checks.push_back(Task {
                                    slice: None,
                                    bulk: false,
                                    truncate_too: None,
                                    check: true,
                                    ..task.clone()
                                });
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
