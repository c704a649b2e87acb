//! Cutover: after a copy made while the app kept writing, bring PostgreSQL up to the SQLite
//! file by applying only what changed since the copy's snapshot.
//!
//! The copy keeps the snapshot it read and a hash of each of its rows ([`store`]); a sync
//! reads the live file once, in one read transaction, and finds the changed keys by their
//! hashes ([`scan`]) — with nothing changed it never connects to PostgreSQL. The changed
//! rows are read from both sides ([`apply`]) and applied in one verified transaction of a
//! few round trips that never overwrites a row someone else changed on PostgreSQL
//! ([`session`]); then the rows moved are written into the snapshot and the hashes replaced,
//! so syncs can be run again and again and a sync with nothing to do moves nothing.

pub mod apply;
pub mod command;
pub mod diff;
pub mod scan;
mod session;
pub mod store;

pub use crate::data::sync::{Applied, Conflict, Counts, Look, OnConflict, SyncReport, TableResult};
pub use store::{Record, Store};

use super::{Context, CopySettings, Stop};
use crate::pg::{ConnConfig, Secret};
use anyhow::{Context as _, Result, bail};
use std::path::Path;
use std::time::Instant;

/// The changes found by one scan of the live file.
struct Found {
    look: Look,
    scans: Vec<scan::TableHashes>,
    /// Per followed table, what changed.
    compared: Vec<scan::Compared>,
}

/// No copy left what a sync needs.
pub fn no_record_message(sqlite: &Path, target: &ConnConfig) -> String {
    format!(
        "no copy of {} into {} is recorded on this machine: run dj2pg copy (or the wizard's Copy rows) first; the copy keeps the snapshot a sync compares with",
        sqlite.display(),
        target.display_url()
    )
}

fn open(sqlite: &Path, config: &ConnConfig) -> Result<(Store, Record)> {
    let store = Store::of(sqlite, config)?;
    let Some(record) = store.load()? else {
        bail!("{}", no_record_message(sqlite, config));
    };
    Ok((store, record))
}

/// Refuse a schema change, then hash every followed table of `main` and compare.
fn find(conn: &rusqlite::Connection, store: &Store, record: &Record) -> Result<Found> {
    let started = Instant::now();
    let changes = diff::schema_changes(conn)?;
    if !changes.is_empty() {
        bail!(
            "the SQLite schema changed since the snapshot of {} ({}): a migration was applied to SQLite only. A sync cannot move rows between different schemas: apply the same migration to PostgreSQL (manage.py migrate against it), then copy again with dj2pg copy",
            record.taken_at().format("%Y-%m-%d %H:%M:%S UTC"),
            changes.join("; ")
        );
    }
    let old = scan::load(&store.hashes())?;
    let mut found = Found {
        look: Look {
            since: record.taken_at.clone(),
            ..Look::default()
        },
        scans: Vec::new(),
        compared: Vec::new(),
    };
    for t in &record.tables {
        let new = scan::scan(conn, "main", t)
            .with_context(|| format!("could not compare {} with the snapshot", t.name))?;
        let c = match old.iter().find(|o| o.name == t.name) {
            Some(o) => scan::compare(o, &new),
            None => bail!(
                "{} is not in {}: run dj2pg copy again",
                t.name,
                store.hashes().display()
            ),
        };
        found.look.rows += new.rows();
        if !c.inserted.is_empty() || !c.updated.is_empty() || !c.deleted.is_empty() || c.whole {
            found.look.changes.push(Counts {
                table: t.name.clone(),
                inserted: c.inserted.len() as u64,
                updated: c.updated.len() as u64,
                deleted: c.deleted.len() as u64,
                whole: c.whole,
            });
        }
        found.scans.push(new);
        found.compared.push(c);
    }
    found.look.scan_ms = started.elapsed().as_millis() as u64;
    Ok(found)
}

/// What changed since the snapshot, read locally (PostgreSQL is not asked): the wizard's
/// live counts while the app still runs. Each table is read in a statement of its own, not
/// in one transaction: the app's writers wait for one table's read at most (counts taken
/// while it writes are a moment's anyway; the sync itself reads in one transaction).
pub fn look(sqlite: &Path, config: &ConnConfig) -> Result<Look> {
    let (store, record) = open(sqlite, config)?;
    let conn = diff::open_pair(sqlite, &store.snapshot())?;
    Ok(find(&conn, &store, &record)?.look)
}

/// A sync ready to apply: the live file read, compared, and the changed rows encoded.
pub struct Prepared {
    store: Store,
    record: Record,
    found: Found,
    /// Connected only when something changed.
    wire: Option<crate::pg::wire::Wire>,
    work: Vec<apply::Work>,
    next_at: chrono::DateTime<chrono::Utc>,
}

/// Read the live `sqlite` once (one read transaction), refuse a schema change, find what
/// changed and read those rows. PostgreSQL is asked for its schema only when something did.
pub fn prepare(
    sqlite: &Path,
    config: &ConnConfig,
    password: Option<&Secret>,
    stop: Stop,
) -> Result<Prepared> {
    super::phase_log::stage("sync: reading the SQLite file");
    let (store, record) = open(sqlite, config)?;
    let next_at = chrono::Utc::now();
    let conn = diff::open_pair(sqlite, &store.snapshot())?;
    conn.execute_batch("BEGIN")?;
    let found = find(&conn, &store, &record)?;
    let mut wire = None;
    let mut work = Vec::new();
    if !found.look.changes.is_empty() {
        let settings: CopySettings = CopySettings {
            jobs: 1,
            ..record.settings.clone()
        };
        let c = Context::new(sqlite, config.clone(), password.cloned(), settings, stop)?;
        c.read_from(sqlite.to_path_buf(), next_at);
        // One session for the catalog and the changes: one login.
        super::phase_log::stage("sync: connecting and planning");
        let mut w = session::connect(&c)?;
        let rows: std::collections::HashMap<String, u64> = found
            .scans
            .iter()
            .map(|t| (t.name.clone(), t.rows()))
            .collect();
        let plan = c.plan_with(super::schema::read_pg_wire(&mut w)?, Some(&rows))?;
        wire = Some(w);
        super::phase_log::stage("sync: reading the changed rows");
        let mut indexed = Vec::new();
        for (t, cmp) in record.tables.iter().zip(&found.compared) {
            if cmp.inserted.is_empty()
                && cmp.updated.is_empty()
                && cmp.deleted.is_empty()
                && !cmp.whole
            {
                continue;
            }
            let index = plan.index(&t.name).with_context(|| {
                format!(
                    "{} is no longer a table dj2pg copies into {}: copy again",
                    t.name,
                    config.display_url()
                )
            })?;
            let d = diff::TableDiff {
                table: index,
                inserted: cmp.inserted.clone(),
                updated: cmp.updated.clone(),
                deleted: cmp.deleted.clone(),
                whole: cmp.whole,
            };
            indexed.push((
                index,
                apply::read_local(&c, &conn, &plan.tables[index], &d)?,
            ));
        }
        // Plan order: parents before their children.
        indexed.sort_by_key(|(i, _)| *i);
        work = indexed.into_iter().map(|(_, w)| w).collect();
    }
    conn.execute_batch("COMMIT")?;
    Ok(Prepared {
        store,
        record,
        found,
        wire,
        work,
        next_at,
    })
}

impl Prepared {
    /// The tables that changed, with their counts.
    pub fn changes(&self) -> Vec<Counts> {
        self.found.look.changes.clone()
    }

    pub fn look(&self) -> &Look {
        &self.found.look
    }

    /// When the snapshot PostgreSQL matches was taken.
    pub fn since(&self) -> chrono::DateTime<chrono::Utc> {
        self.record.taken_at()
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Apply the changes; on success the snapshot and its hashes move forward.
    /// With conflicts and [`OnConflict::Stop`], nothing changes (`applied.committed` false).
    pub fn apply(mut self, on_conflict: OnConflict) -> Result<SyncReport> {
        let started = Instant::now();
        super::phase_log::stage("sync: applying");
        let changes = self.changes();
        let from_snapshot = self.record.taken_at.clone();
        let (applied, round_trips) = match &mut self.wire {
            Some(wire) if !self.work.is_empty() => session::apply(wire, &self.work, on_conflict)?,
            _ => (
                Applied {
                    committed: true,
                    ..Applied::default()
                },
                0,
            ),
        };
        let window = started.elapsed();
        let mut report = SyncReport {
            from_snapshot,
            to_snapshot: self.record.taken_at.clone(),
            changes,
            applied,
            window_ms: window.as_millis() as u64,
            scan_ms: self.found.look.scan_ms,
            round_trips,
            cutover_ms: 0,
        };
        if !report.applied.committed {
            return Ok(report);
        }
        super::phase_log::stage("sync: moving the snapshot forward");
        if !self.work.is_empty() {
            apply::write_snapshot(&self.store.snapshot(), &self.work).context(
                "the sync committed, but the snapshot could not be moved forward (the next sync finds the same changes already applied)",
            )?;
            super::phase_log::stage("sync: saving the hashes");
            scan::save(&self.store.hashes(), &self.found.scans)?;
        }
        super::phase_log::stage("sync: saving the record");
        self.record.taken_at = self
            .next_at
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        if report.applied.moved() > 0 {
            self.record.syncs.push(store::SyncLog {
                at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                rows: report.applied.moved(),
                window_ms: report.window_ms,
            });
        }
        self.store
            .save(&self.record)
            .context("the sync committed, but its record could not be written")?;
        report.to_snapshot = self.record.taken_at.clone();
        super::phase_log::stage("sync: done");
        Ok(report)
    }
}

/// Keep the copy's snapshot, its rows' hashes and the copy's settings for a later sync
/// (called once a copy verified). Returns where they are.
pub fn record_copy(cx: &Context, plan: &super::plan::Plan) -> Result<std::path::PathBuf> {
    let taken_at = cx
        .snapshot_at()
        .context("the copy read no snapshot to keep")?;
    let store = Store::of(&cx.sqlite, &cx.config)?;
    let _ = store.forget();
    store.create()?;
    cx.keep_snapshot(&store.snapshot())?;
    let tables: Vec<scan::Followed> = plan
        .tables
        .iter()
        .map(|t| scan::Followed {
            name: t.name.clone(),
            pk: diff::key_positions(t).map_or(Vec::new(), |_| t.pk.clone()),
        })
        .collect();
    let conn = rusqlite::Connection::open_with_flags(
        store.snapshot(),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    let scans = tables
        .iter()
        .map(|t| scan::scan(&conn, "main", t))
        .collect::<Result<Vec<_>>>()?;
    scan::save(&store.hashes(), &scans)?;
    store.save(&Store::new_record(
        &cx.sqlite,
        &cx.config,
        &cx.settings,
        tables,
        taken_at,
    ))?;
    Ok(store.dir().to_path_buf())
}
