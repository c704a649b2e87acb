//! The load scheduler: tasks run on `jobs` workers, a group only after the groups it
//! references committed, and never two tasks whose lock sets meet while one of them is in
//! bulk mode (see [`super::bulk`]): a task that would wait on another's lock is left for
//! later and a worker takes the next one that does not, so no worker blocks on a lock and
//! no deadlock can form. With nothing in flight any ready task may start, so the schedule
//! always moves on.
//!
//! Among the tasks that may start, the one heading the longest chain of rows still to load
//! (its own and its descendants') goes first: the chain through the largest tables is what
//! bounds the copy's time, and a big table's children can then load beside the others.

use super::Cancelled;
use super::task::{self, Shared, TableOutcome, Task, TaskMode};
use super::tracker::Clock;
use crate::data::copy::{CopyProgress, TablePhase};
use anyhow::Result;
use std::borrow::Cow;
use std::collections::{BTreeSet, VecDeque};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Per group: whether it loads in bulk mode, and the other tables it locks.
pub type Locks = Vec<Lock>;

/// Whether a group loads in bulk mode, and the other tables it locks.
pub type Lock = (bool, BTreeSet<String>);

/// A task's lock set: its group's; a check task ([`TaskMode::Check`]) reads and `ANALYZE`s its
/// own tables, which a child's foreign-key drop would lock, so it counts as strong on them.
///
/// A light task ([`TaskMode::Light`]) keeps its foreign keys, so it locks no parent while it
/// loads: only the referencing tables it empties along. At its commit the deferred key
/// checks read the parent and wait, if a sibling in full bulk mode still holds it, until
/// that sibling commits — a wait at the end, never a deadlock (the sibling needs nothing
/// the light task holds).
fn lock_set<'a>(locks: &'a Locks, own: &'a Locks, t: &Task) -> (bool, Cow<'a, BTreeSet<String>>) {
    if t.mode == TaskMode::Check {
        (true, Cow::Borrowed(&own[t.group].1))
    } else if t.mode == TaskMode::Light {
        let too = t.truncate_too.iter().flatten().cloned().collect();
        (true, Cow::Owned(too))
    } else {
        (locks[t.group].0, Cow::Borrowed(&locks[t.group].1))
    }
}

fn conflicts(locks: &Locks, own: &Locks, a: &Task, b: &Task) -> bool {
    if a.group == b.group && (a.mode == TaskMode::Check) == (b.mode == TaskMode::Check) {
        return false; // slices of one table, or the parts of its read-back
    }
    let ((sa, la), (sb, lb)) = (lock_set(locks, own, a), lock_set(locks, own, b));
    (sa || sb) && !la.is_disjoint(&lb)
}

/// Per group, the rows on the longest chain of loads it heads: its own rows and those of
/// its heaviest descendant chain (plan order puts every child after its parents).
fn chain_rows(plan: &super::plan::Plan) -> Vec<u64> {
    let group_of: Vec<usize> = {
        let mut g = vec![0; plan.tables.len()];
        for (i, group) in plan.groups.iter().enumerate() {
            for &t in group {
                g[t] = i;
            }
        }
        g
    };
    let mut chain = vec![0u64; plan.groups.len()];
    for (g, group) in plan.groups.iter().enumerate().rev() {
        let own: u64 = group.iter().map(|&t| plan.tables[t].source_rows).sum();
        let heaviest_child = plan
            .tables
            .iter()
            .enumerate()
            .filter(|(c, t)| group_of[*c] != g && t.parents.iter().any(|p| group_of[*p] == g))
            .map(|(c, _)| chain[group_of[c]])
            .max()
            .unwrap_or(0);
        chain[g] = own + heaviest_child;
    }
    chain
}

/// The load's work, group by group, as the scheduler takes it.
pub struct Groups {
    /// Per group, its tasks (none for a group kept whole).
    pub tasks: Vec<Vec<Task>>,
    pub locks: Locks,
    /// Per group: small and plain, so it may load in a batch with others.
    pub batchable: Vec<bool>,
}

/// Run the tasks on `jobs` workers, a group only after the groups it references, and
/// report progress about ten times a second. `kept`: per table, kept from an earlier run.
pub fn schedule(
    sh: &Shared<'_>,
    groups: &Groups,
    kept: &[bool],
    clock: &mut Clock,
    on_progress: &mut dyn FnMut(&CopyProgress),
) -> Result<Scheduled> {
    let mut board = Board::new(sh, groups, kept);
    let (task_tx, task_rx) = mpsc::channel::<Task>();
    let task_rx = Arc::new(Mutex::new(task_rx));
    let (res_tx, res_rx) = mpsc::channel::<(Task, Result<Vec<TableOutcome>>)>();
    std::thread::scope(|s| {
        for _ in 0..board.workers {
            let rx = Arc::clone(&task_rx);
            let tx = res_tx.clone();
            s.spawn(move || {
                let mut worker = Worker::default();
                loop {
                    let task = match rx.lock().map(|r| r.recv()) {
                        Ok(Ok(t)) => t,
                        _ => return,
                    };
                    let r = worker.run(sh, &task);
                    if tx.send((task, r)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(res_tx);
        loop {
            if board.error.is_none() {
                board.start_ready_groups();
                board.start_batches();
            }
            // Hand out tasks while a worker is free, skipping those that would wait on a
            // lock; the head of the longest chain first.
            while board.error.is_none() && board.in_flight < board.workers {
                let Some(t) = board.next() else { break };
                if task_tx.send(t).is_ok() {
                    board.in_flight += 1;
                }
            }
            if board.in_flight == 0 {
                break;
            }
            match res_rx.recv_timeout(Duration::from_millis(100)) {
                Ok((task, r)) => board.finished(task, r),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
            clock.tick(sh.cx.stop.paused(), sh.tracker);
            on_progress(&sh.tracker.snapshot(clock));
        }
        drop(task_tx);
    });
    board.into_scheduled()
}

/// The scheduler's state: which groups started and committed, what runs, what waits.
struct Board<'a, 's> {
    sh: &'a Shared<'s>,
    groups: &'a Groups,
    workers: usize,
    /// Per table: committed (or kept).
    done: Vec<bool>,
    /// Per group (batches after the plan's groups): tasks not yet committed.
    left: Vec<usize>,
    started: Vec<bool>,
    /// Per group, then per batch: what it locks besides its own tables, and its own.
    locks: Locks,
    own: Locks,
    chain: Vec<u64>,
    /// The members of each batch; batches get group numbers from the plan's count on.
    batches: Vec<Vec<usize>>,
    light_tables: Vec<usize>,
    running: Vec<Task>,
    pending: VecDeque<Task>,
    /// Checks of committed groups, handed out when no load task can start.
    checks: VecDeque<Task>,
    in_flight: usize,
    outcomes: Vec<TableOutcome>,
    error: Option<anyhow::Error>,
}

impl<'a, 's> Board<'a, 's> {
    fn new(sh: &'a Shared<'s>, groups: &'a Groups, kept: &[bool]) -> Self {
        let plan = sh.plan;
        let workers = sh
            .cx
            .jobs()
            .min(groups.tasks.iter().map(Vec::len).sum::<usize>().max(1));
        Board {
            sh,
            groups,
            workers,
            done: kept.to_vec(),
            left: groups.tasks.iter().map(Vec::len).collect(),
            started: groups.tasks.iter().map(Vec::is_empty).collect(),
            locks: groups.locks.clone(),
            own: plan
                .groups
                .iter()
                .map(|g| {
                    let own = g.iter().map(|&t| plan.tables[t].target.clone()).collect();
                    (true, own)
                })
                .collect(),
            chain: chain_rows(plan),
            batches: Vec::new(),
            light_tables: Vec::new(),
            running: Vec::new(),
            pending: VecDeque::new(),
            checks: VecDeque::new(),
            in_flight: 0,
            outcomes: Vec::new(),
            error: None,
        }
    }

    /// Queue the tasks of every group (not in a batch) whose parents have committed.
    fn start_ready_groups(&mut self) {
        let plan = self.sh.plan;
        for (g, group) in plan.groups.iter().enumerate() {
            if self.started[g] || self.groups.batchable[g] {
                continue;
            }
            let ready = group.iter().all(|&t| {
                plan.tables[t]
                    .parents
                    .iter()
                    .all(|p| self.done[*p] || group.contains(p))
            });
            if ready {
                self.started[g] = true;
                self.pending.extend(self.groups.tasks[g].iter().cloned());
            }
        }
    }

    /// Queue the batches of small tables that may start now.
    fn start_batches(&mut self) {
        let plan = self.sh.plan;
        let batch_rows = self.sh.cx.settings.batch_rows;
        let ready = gather_batches(
            plan,
            &self.groups.batchable,
            &mut self.started,
            &self.done,
            batch_rows,
        );
        for members in ready {
            let k = plan.groups.len() + self.batches.len();
            let tables: Vec<usize> = members
                .iter()
                .flat_map(|&g| plan.groups[g].clone())
                .collect();
            let targets: BTreeSet<String> = tables
                .iter()
                .map(|&t| plan.tables[t].target.clone())
                .collect();
            // What the batch locks beyond its own tables: their parents elsewhere.
            let outside: BTreeSet<String> = members
                .iter()
                .flat_map(|&g| self.locks[g].1.iter().cloned())
                .filter(|t| !targets.contains(t))
                .collect();
            self.locks.push((false, outside));
            self.own.push((true, targets));
            let chain = members.iter().map(|&g| self.chain[g]).max().unwrap_or(0);
            self.chain.push(chain);
            self.left.push(1);
            self.started.push(true);
            self.pending.push_back(Task {
                group: k,
                tables,
                slice: None,
                mode: TaskMode::Batch,
                truncate_too: None,
            });
            self.batches.push(members);
        }
    }

    /// The next task for a free worker, now counted as running.
    fn next(&mut self) -> Option<Task> {
        let t = next_task(
            &mut self.pending,
            &mut self.checks,
            &self.running,
            (&self.locks, &self.own),
            &self.chain,
            self.sh.cx.settings.siblings_together,
        )?;
        if t.mode == TaskMode::Light {
            self.light_tables.extend(t.tables.iter().copied());
        }
        self.running.push(t.clone());
        Some(t)
    }

    /// A worker's result: a group whose tasks all committed is done, and its read-back
    /// queued; a failure stops the load (the first real error wins over a cancellation).
    fn finished(&mut self, task: Task, r: Result<Vec<TableOutcome>>) {
        let sh = self.sh;
        self.in_flight -= 1;
        if let Some(k) = self.running.iter().position(|r| *r == task) {
            self.running.swap_remove(k);
        }
        let o = match r {
            Ok(o) => o,
            Err(e) => return self.failed(&task, e),
        };
        self.outcomes.extend(o);
        if task.mode == TaskMode::Check {
            return;
        }
        self.left[task.group] -= 1;
        if self.left[task.group] > 0 {
            return;
        }
        for &t in &task.tables {
            self.done[t] = true;
            sh.tracker.set_phase(t, TablePhase::Loaded);
        }
        // A batch read its tables back already.
        if task.mode != TaskMode::Batch {
            let check = Task {
                group: task.group,
                tables: sh.plan.groups[task.group].clone(),
                slice: None,
                mode: TaskMode::Check,
                truncate_too: None,
            };
            self.checks.extend(split_check(sh, check, self.workers));
        }
    }

    fn failed(&mut self, task: &Task, e: anyhow::Error) {
        for &t in &task.tables {
            self.sh.tracker.set_phase(t, TablePhase::Failed);
        }
        let cancelled = e.downcast_ref::<Cancelled>().is_some();
        if self
            .error
            .as_ref()
            .is_none_or(|old| old.downcast_ref::<Cancelled>().is_some() && !cancelled)
        {
            self.error = Some(e);
        }
        // Let running tasks stop at their next batch.
        if !cancelled {
            self.sh
                .cx
                .stop
                .cancel
                .store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }

    fn into_scheduled(self) -> Result<Scheduled> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if self.started.iter().any(|s| !s) {
            anyhow::bail!("some tables could not be scheduled (a foreign-key order problem)");
        }
        let plan = self.sh.plan;
        Ok(Scheduled {
            outcomes: self.outcomes,
            batches: self.batches.len(),
            batched_tables: self
                .batches
                .iter()
                .flatten()
                .map(|&g| plan.groups[g].len())
                .sum(),
            light_tables: self.light_tables,
        })
    }
}

/// What the load did.
pub struct Scheduled {
    pub outcomes: Vec<TableOutcome>,
    /// Batches of small tables ([`super::batch`]) and the tables they held.
    pub batches: usize,
    pub batched_tables: usize,
    /// Bulk tables that loaded beside a sibling, keeping their foreign keys.
    pub light_tables: Vec<usize>,
}

/// The task a free worker takes next, or none: among the pending load tasks that would not
/// wait on a running task's lock, the head of the longest chain; else a bulk task held
/// back only by a sibling's hold on the parent they share, as a light task
/// ([`TaskMode::Light`]) that loads beside it; else a check of a committed group.
fn next_task(
    pending: &mut VecDeque<Task>,
    checks: &mut VecDeque<Task>,
    running: &[Task],
    (locks, own): (&Locks, &Locks),
    chain: &[u64],
    light_ok: bool,
) -> Option<Task> {
    let free = |t: &Task| running.iter().all(|r| !conflicts(locks, own, t, r));
    let best = |candidates: Vec<(usize, Task)>| {
        candidates
            .into_iter()
            .filter(|(_, t)| free(t))
            .max_by_key(|(k, t)| (chain[t.group], std::cmp::Reverse(*k)))
    };
    let plain = best(pending.iter().cloned().enumerate().collect());
    let found = plain.or_else(|| {
        let light = pending
            .iter()
            .enumerate()
            .filter(|(_, t)| light_ok && t.mode == TaskMode::Bulk)
            .map(|(k, t)| {
                (
                    k,
                    Task {
                        mode: TaskMode::Light,
                        ..t.clone()
                    },
                )
            })
            .collect();
        best(light)
    });
    if let Some((k, t)) = found {
        pending.remove(k);
        return Some(t);
    }
    let k = checks.iter().position(free)?;
    checks.remove(k)
}

/// The batches that may start now: the batchable groups not started whose parents have
/// committed or come earlier in the same batch (plan order puts parents first), gathered
/// up to `batch_rows` rows per batch. Marks them started.
fn gather_batches(
    plan: &super::plan::Plan,
    batchable: &[bool],
    started: &mut [bool],
    done: &[bool],
    batch_rows: u64,
) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let mut members: Vec<usize> = Vec::new();
    let mut in_batch = vec![false; plan.tables.len()];
    let mut rows = 0u64;
    for (g, group) in plan.groups.iter().enumerate() {
        if started[g] || !batchable[g] {
            continue;
        }
        let parents_ok = |with: &[bool]| {
            group.iter().all(|&t| {
                plan.tables[t]
                    .parents
                    .iter()
                    .all(|&p| done[p] || group.contains(&p) || with[p])
            })
        };
        if !parents_ok(&in_batch) {
            continue;
        }
        let own: u64 = group.iter().map(|&t| plan.tables[t].source_rows).sum();
        if !members.is_empty() && rows + own > batch_rows {
            if !parents_ok(&vec![false; plan.tables.len()]) {
                continue; // needs this batch's tables committed first
            }
            out.push(std::mem::take(&mut members));
            in_batch.iter_mut().for_each(|b| *b = false);
            rows = 0;
        }
        members.push(g);
        rows += own;
        for &t in group {
            in_batch[t] = true;
        }
        started[g] = true;
    }
    if !members.is_empty() {
        out.push(members);
    }
    out
}

/// The read-back of a large table, split by primary-key ranges into one check per worker
/// so that all of them read it at once (the server prints what it reads back: on long JSON
/// lists that is as long as the load's parsing). The first part also `ANALYZE`s; the
/// parts' checksums add up to the table's. Anything else is checked whole.
fn split_check(sh: &Shared<'_>, check: Task, workers: usize) -> Vec<Task> {
    let [t] = check.tables[..] else {
        return vec![check];
    };
    let table = &sh.plan.tables[t];
    if workers < 2 || table.source_rows < super::weight::SPLIT_MIN_ROWS {
        return vec![check];
    }
    let Some(ranges) = sh
        .cx
        .open_sqlite()
        .ok()
        .and_then(|sq| super::verify::key_ranges(&sq, table, workers))
    else {
        return vec![check];
    };
    ranges
        .into_iter()
        .map(|r| Task {
            slice: Some(r),
            ..check.clone()
        })
        .collect()
}

/// A worker's connections, opened on first use and again after a failure broke one.
#[derive(Default)]
struct Worker {
    sqlite: Option<rusqlite::Connection>,
    pg: Option<postgres::Client>,
    wire: Option<crate::pg::wire::Wire>,
}

impl Worker {
    fn run(&mut self, sh: &Shared<'_>, task: &Task) -> Result<Vec<TableOutcome>> {
        let sq = match self.sqlite.take() {
            Some(s) => s,
            None => sh.cx.open_sqlite()?,
        };
        let sq = &*self.sqlite.insert(sq);
        if task.mode != TaskMode::Check {
            for &t in &task.tables {
                sh.tracker.set_phase(t, TablePhase::Loading);
            }
        }
        if task.mode == TaskMode::Plain {
            let pg = match self.pg.take() {
                Some(c) if !c.is_closed() => c,
                _ => sh.cx.connect()?,
            };
            let pg = self.pg.insert(pg);
            return task::run(pg, sq, sh, task);
        }
        let wire = match self.wire.take() {
            Some(w) if !w.is_broken() => w,
            _ => sh.cx.wire()?,
        };
        let wire = self.wire.insert(wire);
        let r = match task.mode {
            TaskMode::Batch => super::batch::run(wire, sq, sh, task),
            TaskMode::Bulk | TaskMode::Light => super::batch::run_bulk(wire, sq, sh, task),
            TaskMode::Check | TaskMode::Plain => super::batch::check(wire, sh, task),
        };
        // A failed task may have left a COPY half sent or a transaction open: the next
        // task gets a new session.
        if r.is_err() {
            self.wire = None;
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::super::plan::{Plan, TablePlan};
    use super::*;

    fn table(name: &str, rows: u64, parents: &[usize]) -> TablePlan {
        TablePlan::bare(name, rows, parents)
    }

    #[test]
    fn the_chain_through_the_big_tables_weighs_most() {
        // example (300) ← embedding (240); example ← prediction (340) ← feedback (120).
        let plan = Plan {
            tables: vec![
                table("example", 300, &[]),
                table("embedding", 240, &[0]),
                table("prediction", 340, &[0]),
                table("feedback", 120, &[2]),
            ],
            groups: vec![vec![0], vec![1], vec![2], vec![3]],
            ..Plan::default()
        };
        assert_eq!(chain_rows(&plan), [760, 240, 460, 120]);
    }

    fn bulk_task(group: usize, truncate_too: &[&str]) -> Task {
        Task {
            group,
            tables: vec![group],
            slice: None,
            mode: TaskMode::Bulk,
            truncate_too: Some(truncate_too.iter().map(|s| s.to_string()).collect()),
        }
    }

    #[test]
    fn a_bulk_sibling_loads_beside_the_other_keeping_its_keys() {
        // example (0) ← embedding (1); example ← prediction (2) ← feedback (3). Both
        // children lock `example` in full bulk mode (dropping their keys to it).
        let locks: Locks = vec![
            (true, BTreeSet::new()),
            (true, ["example".to_string()].into()),
            (true, ["example".to_string(), "feedback".to_string()].into()),
            (true, ["prediction".to_string()].into()),
        ];
        let own: Locks = ["example", "embedding", "prediction", "feedback"]
            .iter()
            .map(|t| (true, [t.to_string()].into()))
            .collect();
        let chain = [1000, 240, 460, 120];
        let running = vec![bulk_task(2, &["feedback"])];
        let mut pending: VecDeque<Task> = [bulk_task(1, &[])].into();
        let mut checks: VecDeque<Task> = VecDeque::new();

        // Apart (the setting off): embedding waits for prediction's commit.
        let mut p = pending.clone();
        assert_eq!(
            next_task(&mut p, &mut checks, &running, (&locks, &own), &chain, false),
            None
        );
        // Together: it starts now, as a light task.
        let t = next_task(
            &mut pending,
            &mut checks,
            &running,
            (&locks, &own),
            &chain,
            true,
        )
        .expect("the sibling starts");
        assert!(t.mode == TaskMode::Light && t.tables == [1], "{t:?}");
        assert!(pending.is_empty());
        // A light task locks only what it empties along: the prediction's child is not
        // among them, so a full sibling and it never meet.
        assert!(!conflicts(&locks, &own, &t, &running[0]));
        // With nothing in the way, a bulk task takes the full bulk mode.
        let mut pending: VecDeque<Task> = [bulk_task(1, &[])].into();
        let t = next_task(&mut pending, &mut checks, &[], (&locks, &own), &chain, true)
            .expect("embedding is free");
        assert!(t.mode == TaskMode::Bulk && t.tables == [1], "{t:?}");
    }
}
