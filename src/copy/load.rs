//! The load: decide which tables to keep (already exactly the source's rows) and which to
//! reload, empty the latter in one `TRUNCATE`, stream them in foreign-key order over
//! `jobs` connections, reset sequences, `ANALYZE`, verify.
//!
//! Resume needs no side state: a table is kept only when its row count and content
//! checksum equal the source's; anything else (never loaded, rolled back, partly loaded
//! by slices) is emptied and reloaded. Emptying a referenced table empties its referencing
//! tables in the same statement (PostgreSQL requires it), so those are reloaded too.

use super::Context;
use super::plan::Plan;
use super::refcheck::{LeftOut, Parents, RefCheck};
use super::task::{self, Rejects, Shared, TableOutcome, Task};
use super::tracker::{Clock, Tracker};
use super::verify::{self, Canon, Checksum};
use super::{bulk, schedule};
use crate::data::copy::ProblemPolicy;
use crate::data::copy::{CopyProgress, TablePhase};
use crate::data::copy::{CopyReport, TableCheck};
use anyhow::{Context as _, Result, bail};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Instant;

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

    cx.adopt(plan);
    cx.prewarm();
    tracker.set_stage("checking the target");
    report_now(&tracker, &mut clock, on_progress);
    let counts = cx.target_counts(plan)?;
    let mut pg = cx.control()?;
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
    let parents = Parents::default();
    let left_out = LeftOut::default();
    let scan = task::SourceScan {
        policy,
        parents: &parents,
        left_out: Some(&left_out),
        canon: Canon::Exact,
    };
    let sources = cx.par_tables_subset(plan, &candidates, |sq, i| {
        task::source_checksum(sq, cx, plan, i, &scan)
    })?;
    let targets = cx.target_checksums(plan, &candidates)?;
    let mut keep = vec![false; n];
    let mut source_sum: Vec<Option<(Checksum, u64)>> = vec![None; n];
    for (k, &i) in candidates.iter().enumerate() {
        if let Some((sum, rejected)) = sources[k] {
            let same = sum == targets[k]
                || (sum.rows == targets[k].rows
                    && verify::has_json(&plan.tables[i])
                    && task::same_by_value(cx, plan, i, policy, &parents, &mut pg)?);
            if same {
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
        // One statement is one transaction: no BEGIN and COMMIT round trips.
        pg.batch_execute(&format!("TRUNCATE {}", names.join(", ")))
            .context("could not empty the target tables")?;
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
    // Prepared lazily by the first worker on each table, so they are built in parallel.
    let refs: Vec<Mutex<Option<Arc<RefCheck>>>> = (0..n).map(|_| Mutex::new(None)).collect();
    for (i, t) in plan.tables.iter().enumerate() {
        if !keep[i] {
            let _ = std::fs::remove_file(rejects.path(&t.name));
        }
    }

    // The tasks, group by group, and what each locks besides its own tables.
    let (bulk_ok, vector_indexed): (Vec<bool>, Vec<bool>) = if cx.settings.bulk {
        bulk::eligible(&mut pg, plan)?.into_iter().unzip()
    } else {
        (vec![false; n], vec![false; n])
    };
    // The table that is most of the work loads in slices on every connection instead of in
    // one bulk transaction (which would leave the other connections idle meanwhile).
    let work = super::weight::of_tables(&sq, plan);
    let total_work = (0..n)
        .filter(|&i| !keep[i])
        .map(|i| work[i])
        .fold(0u64, u64::saturating_add);
    let mut long_poles = Vec::new();
    let mut tasks_of: Vec<Vec<Task>> = Vec::with_capacity(plan.groups.len());
    let mut locks: schedule::Locks = Vec::with_capacity(plan.groups.len());
    for (g, group) in plan.groups.iter().enumerate() {
        let rows: u64 = group.iter().map(|&t| plan.tables[t].source_rows).sum();
        // A pgvector index is built once after the load (bulk mode), never row by row.
        let long_pole = matches!(group[..], [t] if !keep[t]
            && !vector_indexed[t]
            && plan.tables[t].has_rowid
            && !plan.tables[t].references_itself()
            && rows >= cx.settings.bulk_min_rows.max(super::weight::SPLIT_MIN_ROWS)
            && super::weight::is_long_pole(work[t], total_work, cx.jobs()));
        let in_bulk = (rows >= cx.settings.bulk_min_rows
            || group.iter().any(|&t| vector_indexed[t]))
            && group.iter().all(|&t| bulk_ok[t])
            && !long_pole;
        // Referencing tables to empty along (FREEZE): only those this run reloads after
        // this group (or that are empty anyway), and no PostgreSQL-only referrer.
        // (PostgreSQL wants every table referencing a truncated one in the same statement.)
        let mut children: Vec<usize> = Vec::new();
        loop {
            let more: Vec<usize> = (0..n)
                .filter(|c| !group.contains(c) && !children.contains(c))
                .filter(|&c| {
                    plan.tables[c]
                        .parents
                        .iter()
                        .any(|p| group.contains(p) || children.contains(p))
                })
                .collect();
            if more.is_empty() {
                break;
            }
            children.extend(more);
        }
        let outside = plan.outside_referrers.iter().any(|(_, _, parent)| {
            group
                .iter()
                .chain(&children)
                .any(|&t| &plan.tables[t].name == parent)
        });
        let truncate_too: Option<Vec<String>> = (in_bulk
            && !outside
            && children.iter().all(|&c| !keep[c] || counts[c] == 0))
        .then(|| {
            children
                .iter()
                .map(|&c| plan.tables[c].target.clone())
                .collect()
        });
        locks.push((
            in_bulk,
            bulk::locks_of(plan, group, truncate_too.as_deref().unwrap_or_default()),
        ));
        if group.iter().all(|&t| keep[t]) {
            tasks_of.push(Vec::new());
            continue;
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
        if !in_bulk
            && group.len() == 1
            && table.has_rowid
            && !table.references_itself()
            && (table.source_rows >= slice_rows || long_pole)
            && slices > 1
        {
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
                    bulk: false,
                    truncate_too: None,
                    check: false,
                    batch: false,
                    light: false,
                });
            }
            tasks_of.push(tasks);
        } else {
            tasks_of.push(vec![Task {
                group: g,
                tables: group.clone(),
                slice: None,
                bulk: in_bulk,
                truncate_too,
                check: false,
                batch: false,
                light: false,
            }]);
        }
    }
    drop(sq);

    let shared = Shared {
        cx,
        plan,
        policy,
        tracker: &tracker,
        refs: &refs,
        parents: &parents,
        left_out: &left_out,
        rejects: &rejects,
    };
    tracker.set_stage("loading");
    let check_s = started.elapsed().as_secs_f64();
    // Small plain tables load in batches ([`super::batch`]): one round trip for many.
    let batchable: Vec<bool> = plan
        .groups
        .iter()
        .enumerate()
        .map(|(g, group)| {
            let rows: u64 = group.iter().map(|&t| plan.tables[t].source_rows).sum();
            cx.settings.batch_rows > 0
                && rows < cx.settings.bulk_min_rows.min(cx.settings.batch_rows)
                && matches!(tasks_of[g].as_slice(), [t] if !t.bulk && t.slice.is_none())
        })
        .collect();
    let scheduled = schedule::schedule(
        &shared,
        &tasks_of,
        &keep,
        &locks,
        &batchable,
        cx.settings.batch_rows,
        &mut clock,
        on_progress,
    )?;
    rejects.flush()?;
    if plan.lz4 {
        notes.push(
            "Large values (long JSON lists, long text) were compressed with lz4, about twice as fast to load as the server's default (pglz) for about 30% more disk; --server-compression keeps the server's default.".into(),
        );
    }
    if !long_poles.is_empty() {
        let names: Vec<&str> = long_poles
            .iter()
            .map(|&t| plan.tables[t].name.as_str())
            .collect();
        notes.push(format!(
            "Most of the work, so loaded in {} slices at once, keeping indexes and foreign keys: {}.",
            cx.jobs(),
            names.join(", ")
        ));
    }
    if !scheduled.light_tables.is_empty() {
        let names: Vec<&str> = scheduled
            .light_tables
            .iter()
            .map(|&t| plan.tables[t].name.as_str())
            .collect();
        notes.push(format!(
            "Loaded beside a table sharing its parent, keeping their foreign keys (checked at commit): {}.",
            names.join(", ")
        ));
    }
    if scheduled.batches > 0 {
        notes.push(format!(
            "{} table(s) loaded, read back and analyzed in batches: {} round trip(s) to the server for them all.",
            scheduled.batched_tables, scheduled.batches
        ));
    }
    let outcomes = scheduled.outcomes;
    let mut loaded: Vec<Option<TableOutcome>> = vec![None; n];
    // Tables already read back (and analyzed) by check tasks during the load.
    let mut checked: Vec<Option<Checksum>> = vec![None; n];
    let mut analyzed = vec![false; n];
    let mut round_trips = vec![0u64; n];
    for o in outcomes {
        round_trips[o.table] += o.round_trips;
        if let Some(sum) = o.target {
            // A large table's read-back may come in parts (one per key range).
            checked[o.table].get_or_insert_default().merge(sum);
            analyzed[o.table] |= o.analyzed;
            continue;
        }
        let slot = loaded[o.table].get_or_insert_with(|| TableOutcome {
            table: o.table,
            ..Default::default()
        });
        slot.checksum.merge(o.checksum);
        slot.rejected += o.rejected;
        slot.fixed += o.fixed;
    }

    let load_s = started.elapsed().as_secs_f64() - check_s;
    tracker.set_stage("resetting sequences");
    report_now(&tracker, &mut clock, on_progress);
    reset_sequences(&mut pg, plan)?;
    tracker.set_stage("analyzing");
    report_now(&tracker, &mut clock, on_progress);
    // Every table no check task analyzed (small, empty or kept ones: a kept table may come
    // from a run stopped before its ANALYZE), in one statement (one round trip).
    let to_analyze: Vec<&str> = (0..n)
        .filter(|&i| !analyzed[i])
        .map(|i| plan.tables[i].target.as_str())
        .collect();
    if !to_analyze.is_empty() {
        pg.batch_execute(&format!("ANALYZE {}", to_analyze.join(", ")))?;
    }

    let verify_started = Instant::now();
    let finish_s = started.elapsed().as_secs_f64() - check_s - load_s;
    tracker.set_stage("verifying");
    report_now(&tracker, &mut clock, on_progress);
    // Tables that should be empty (empty in SQLite; this run wrote nothing to them): an
    // empty table's checksum is its row count, so one count of them all (one round trip)
    // verifies them.
    let empty: Vec<usize> = (0..n)
        .filter(|&i| checked[i].is_none() && plan.tables[i].source_rows == 0 && loaded[i].is_none())
        .collect();
    let empty_counts = count_rows_of(&mut pg, plan, &empty)?;
    for (&i, &rows) in empty.iter().zip(&empty_counts) {
        if rows == 0 {
            checked[i] = Some(Checksum::default());
            round_trips[i] += 1;
        }
    }
    let rest: Vec<usize> = (0..n).filter(|&i| checked[i].is_none()).collect();
    // A few small tables (kept ones, mostly) are read on this connection: new ones would
    // cost more round trips than the reading.
    let small = rest
        .iter()
        .map(|&i| plan.tables[i].source_rows)
        .sum::<u64>()
        < 100_000;
    let read: Vec<Checksum> = if small {
        rest.iter()
            .map(|&i| verify::target_checksum(&mut pg, &plan.tables[i]))
            .collect::<Result<_>>()?
    } else {
        cx.par_pg(&rest, |c, &i| verify::target_checksum(c, &plan.tables[i]))?
    };
    for &i in &rest {
        // Read back with the `postgres` crate: prepare, then the COPY.
        round_trips[i] += 2;
    }
    let mut read = read.into_iter();
    let targets: Vec<Checksum> = checked
        .iter()
        .map(|c| c.or_else(|| read.next()).unwrap_or_default())
        .collect();
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
        let mut ok = sum == targets[i];
        if !ok && sum.rows == targets[i].rows && verify::has_json(&plan.tables[i]) {
            ok = task::same_by_value(cx, plan, i, policy, &parents, &mut pg)?;
            if ok {
                notes.push(format!(
                    "{}: its JSON reads back formatted differently from what was sent; compared again value by value: identical.",
                    plan.tables[i].name
                ));
            }
        }
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
            left_behind: plan.left_behind(&plan.tables[i].name),
            target: plan.tables[i].target.clone(),
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
        "Timings: checking the target {check_s:.1} s, load {load_s:.1} s (with {} table(s) read back as soon as committed), sequences and ANALYZE {finish_s:.1} s, verification of the rest {:.1} s.",
        checked.iter().filter(|c| c.is_some()).count(),
        verify_started.elapsed().as_secs_f64()
    ));
    for (t, trips) in plan.tables.iter().zip(&round_trips) {
        super::phase_log::table(&t.name, *trips);
    }
    tracker.set_stage("done");
    report_now(&tracker, &mut clock, on_progress);
    for d in &plan.derived {
        notes.push(format!(
            "{} ({} row(s) in SQLite) is {}: left empty on PostgreSQL; {}.",
            d.table,
            d.source_rows,
            d.reason,
            d.rebuild_hint()
        ));
    }
    let snapshot_at = cx.snapshot_at();
    if let Some(at) = snapshot_at {
        notes.push(format!(
            "Every table was read from one snapshot of the SQLite file, taken at {} UTC: rows the app wrote after that moment are not in PostgreSQL.",
            at.format("%Y-%m-%d %H:%M:%S")
        ));
        if checks.iter().all(TableCheck::verified) {
            // What `dj2pg sync` needs to bring those rows over later.
            let hashing = std::time::Instant::now();
            notes.push(match super::sync::record_copy(cx, plan) {
                Ok(dir) => format!(
                    "The snapshot is kept in {} with a hash of each row (made in {:.1} s) for dj2pg sync, which applies what changed since (run it after stopping the app; dj2pg sync --forget removes it).",
                    dir.display(),
                    hashing.elapsed().as_secs_f64()
                ),
                Err(e) => format!("The snapshot could not be kept for dj2pg sync ({e:#}): a later sync needs a new copy."),
            });
        }
    }
    Ok(CopyReport {
        snapshot_at: snapshot_at.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        checks,
        elapsed_ms: started.elapsed().as_millis() as u64,
        notes,
        derived: plan.derived.clone(),
        left_behind: plan.unmapped.clone(),
    })
}

/// `count(*)` of some tables of the plan, in one round trip.
fn count_rows_of(pg: &mut postgres::Client, plan: &Plan, tables: &[usize]) -> Result<Vec<u64>> {
    super::count_rows(pg, tables.iter().map(|&i| plan.tables[i].target.as_str()))
}

/// Every serial/identity sequence past max(max(id), SQLite's AUTOINCREMENT counter); an
/// empty table's next value is 1. One statement for all of them (one round trip).
fn reset_sequences(pg: &mut postgres::Client, plan: &Plan) -> Result<()> {
    let mut calls = Vec::new();
    let mut names = Vec::new();
    for t in &plan.tables {
        for (col, seq) in &t.sequences {
            let counter = if t.pk.len() == 1 && t.target_of(&t.pk[0]) == col {
                t.sqlite_seq.unwrap_or(0)
            } else {
                0
            };
            let last = format!(
                "greatest(coalesce((SELECT max({})::int8 FROM {}), 0), {counter})",
                super::schema::quote_pg(col),
                t.target
            );
            calls.push(format!(
                "setval({}::regclass, greatest({last}, 1), {last} >= 1)",
                crate::pg::quote_literal(seq)
            ));
            names.push(format!("{seq} ({}.{col})", t.name));
        }
    }
    if calls.is_empty() {
        return Ok(());
    }
    pg.batch_execute(&format!("SELECT {}", calls.join(", ")))
        .with_context(|| {
            format!(
                "could not reset the sequences {} (the role needs UPDATE on them; their owner can run the copy)",
                names.join(", ")
            )
        })
}
