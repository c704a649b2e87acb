//! Work spread over `jobs` threads, each with its own connection (SQLite or PostgreSQL);
//! results come back in the order of the items, and the first real failure (not a
//! cancellation) is the one reported.

use super::{Cancelled, Context, plan};
use anyhow::Result;
use rusqlite::Connection;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

impl Context {
    /// Run `f` over every table of the plan, `jobs` at a time, each thread with its own
    /// read-only SQLite connection. The largest tables go first (so that no thread is left
    /// alone with a big one at the end); results come back in plan order.
    pub(super) fn par_tables<R: Send>(
        &self,
        plan: &plan::Plan,
        f: impl Fn(&Connection, &plan::TablePlan) -> Result<R> + Sync,
    ) -> Result<Vec<R>> {
        let mut items: Vec<usize> = (0..plan.tables.len()).collect();
        items.sort_by_key(|&i| std::cmp::Reverse(plan.tables[i].source_rows));
        let results = par_map(
            &items,
            self.jobs(),
            || self.open_sqlite(),
            |c, &i| f(c, &plan.tables[i]),
        )?;
        let mut in_plan_order: Vec<(usize, R)> = items.into_iter().zip(results).collect();
        in_plan_order.sort_by_key(|(i, _)| *i);
        Ok(in_plan_order.into_iter().map(|(_, r)| r).collect())
    }

    /// Like `par_tables`, over some tables (by index) only.
    pub(super) fn par_tables_subset<R: Send>(
        &self,
        _plan: &plan::Plan,
        tables: &[usize],
        f: impl Fn(&Connection, usize) -> Result<R> + Sync,
    ) -> Result<Vec<R>> {
        par_map(tables, self.jobs(), || self.open_sqlite(), |c, &i| f(c, i))
    }

    /// Run `f` over `items`, `jobs` at a time, each thread with its own PostgreSQL connection.
    pub(super) fn par_pg<T: Sync, R: Send>(
        &self,
        items: &[T],
        f: impl Fn(&mut postgres::Client, &T) -> Result<R> + Sync,
    ) -> Result<Vec<R>> {
        par_map(
            items,
            self.jobs().min(items.len().max(1)),
            || self.connect(),
            f,
        )
    }
}

/// A tiny work-stealing map over scoped threads, each with its own state (a connection).
pub(super) fn par_map<S, T: Sync, R: Send>(
    items: &[T],
    jobs: usize,
    init: impl Fn() -> Result<S> + Sync,
    f: impl Fn(&mut S, &T) -> Result<R> + Sync,
) -> Result<Vec<R>> {
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results: Vec<std::sync::Mutex<Option<Result<R>>>> =
        items.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..jobs.clamp(1, items.len()) {
            s.spawn(|| {
                let mut state = match init() {
                    Ok(st) => st,
                    Err(e) => {
                        failed.store(true, Ordering::SeqCst);
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        if let Some(slot) = results.get(i) {
                            *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(Err(e));
                        }
                        return;
                    }
                };
                loop {
                    if failed.load(Ordering::SeqCst) {
                        return;
                    }
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(item) = items.get(i) else { return };
                    let r = f(&mut state, item);
                    if r.is_err() {
                        failed.store(true, Ordering::SeqCst);
                    }
                    *results[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
                }
            });
        }
    });
    let mut out = Vec::with_capacity(items.len());
    let mut first_err = None;
    for slot in results {
        match slot.into_inner().unwrap_or_else(|p| p.into_inner()) {
            Some(Ok(r)) => out.push(r),
            Some(Err(e)) => {
                let replace = first_err.as_ref().is_none_or(|old: &anyhow::Error| {
                    old.downcast_ref::<Cancelled>().is_some()
                        && e.downcast_ref::<Cancelled>().is_none()
                });
                if replace {
                    first_err = Some(e);
                }
            }
            None => {}
        }
    }
    match first_err {
        Some(e) => Err(e),
        None if out.len() == items.len() => Ok(out),
        None => Err(anyhow::anyhow!("a worker stopped without a result")),
    }
}
