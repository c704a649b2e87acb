//! The load's notes for the report: plain words on what it kept, how it loaded, what it
//! left out or fixed, how long it took and what the user must do next.

use crate::copy::Context;
use crate::copy::plan::Plan;
use crate::copy::schedule::Scheduled;
use crate::data::copy::{DerivedTable, TableCheck};

fn names(plan: &Plan, tables: &[usize]) -> String {
    tables
        .iter()
        .map(|&t| plan.tables[t].name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Tables that hold the source's rows already.
pub(super) fn kept(plan: &Plan, kept: &[usize]) -> Option<String> {
    (!kept.is_empty()).then(|| format!("Already copied and verified, kept: {}.", names(plan, kept)))
}

/// How the load went: lz4, tables loaded in slices, beside a sibling, in batches.
pub(super) fn how_loaded(
    plan: &Plan,
    jobs: usize,
    long_poles: &[usize],
    scheduled: &Scheduled,
) -> Vec<String> {
    let mut notes = Vec::new();
    if plan.lz4 {
        notes.push(
            "Large values (long JSON lists, long text) were compressed with lz4, about twice as fast to load as the server's default (pglz) for about 30% more disk; --server-compression keeps the server's default.".into(),
        );
    }
    if !long_poles.is_empty() {
        notes.push(format!(
            "Most of the work, so loaded in {jobs} slices at once, keeping indexes and foreign keys: {}.",
            names(plan, long_poles)
        ));
    }
    if !scheduled.light_tables.is_empty() {
        notes.push(format!(
            "Loaded beside a table sharing its parent, keeping their foreign keys (checked at commit): {}.",
            names(plan, &scheduled.light_tables)
        ));
    }
    if scheduled.batches > 0 {
        notes.push(format!(
            "{} table(s) loaded, read back and analyzed in batches: {} round trip(s) to the server for them all.",
            scheduled.batched_tables, scheduled.batches
        ));
    }
    notes
}

/// Rows written with a fix, and rows left out (recorded in `rejects`).
pub(super) fn fixed_and_rejected(
    fixed: u64,
    rejected: u64,
    rejects: &std::path::Path,
) -> Vec<String> {
    let mut notes = Vec::new();
    if fixed > 0 {
        notes.push(format!(
            "{fixed} row(s) were written with a fix applied (as chosen)."
        ));
    }
    if rejected > 0 {
        notes.push(format!(
            "{rejected} row(s) were left out, as chosen; they are recorded in {}.",
            rejects.display()
        ));
    }
    notes
}

/// A derived table left empty, and how to rebuild it.
pub(super) fn derived(d: &DerivedTable) -> String {
    format!(
        "{} ({} row(s) in SQLite) is {}: left empty on PostgreSQL; {}.",
        d.table,
        d.source_rows,
        d.reason,
        d.rebuild_hint()
    )
}

/// The snapshot the tables were read from, and (when every table verified) its record for
/// `dj2pg sync`, kept now.
pub(super) fn snapshot(
    cx: &Context,
    plan: &Plan,
    at: chrono::DateTime<chrono::Utc>,
    checks: &[TableCheck],
) -> Vec<String> {
    let mut notes = vec![format!(
        "Every table was read from one snapshot of the SQLite file, taken at {} UTC: rows the app wrote after that moment are not in PostgreSQL.",
        at.format("%Y-%m-%d %H:%M:%S")
    )];
    if checks.iter().all(TableCheck::verified) {
        // What `dj2pg sync` needs to bring those rows over later.
        let hashing = std::time::Instant::now();
        notes.push(match crate::copy::sync::record_copy(cx, plan) {
            Ok(dir) => format!(
                "The snapshot is kept in {} with a hash of each row (made in {:.1} s) for dj2pg sync, which applies what changed since (run it after stopping the app; dj2pg sync --forget removes it).",
                dir.display(),
                hashing.elapsed().as_secs_f64()
            ),
            Err(e) => format!("The snapshot could not be kept for dj2pg sync ({e:#}): a later sync needs a new copy."),
        });
    }
    notes
}
