//! The copy engine: every row from the SQLite file into the PostgreSQL schema Django made.
//!
//! Pipeline: read both schemas ([`schema`]) → match them ([`plan`]) → check every value
//! ([`preflight`]) → empty and stream each table with binary `COPY` ([`load`]) → reset
//! sequences, `ANALYZE` → verify row counts and content checksums on both sides
//! ([`verify`]). Conversions ([`convert`]) are decided by the target column's type;
//! `jsonb` is sent in the exact text PostgreSQL prints ([`jsonb`]) so verification can
//! compare bytes; references to missing or left-out parent rows are caught row by row
//! against in-memory key sets ([`refcheck`]).
//! Tables the role owns load in bulk mode ([`bulk`]: foreign keys and plain indexes set
//! aside and put back, validated as a whole, inside the table's own transaction), scheduled
//! so that no task waits on another's lock ([`schedule`]); each group, once committed, is
//! read back for verification (and big ones analyzed) while other tables still load.
//!
//! Invariants: the SQLite file is only ever opened read-only; nothing is written before the
//! plan and preflight pass; each table (or cycle of tables) loads in one transaction, so a
//! run killed at any moment leaves each table either complete or empty-or-partial-by-slices,
//! and the next run keeps exactly the tables whose count and checksum match the source and
//! reloads the rest — no side state needed.

mod batch;
mod bulk;
mod convert;
pub mod embeddings;
pub mod jsonb;
mod load;
pub mod names;
mod numeric;
mod phase_log;
mod plan;
mod preflight;
mod refcheck;
mod rows;
mod schedule;
mod schema;
pub mod standalone;
pub mod sync;
mod task;
mod tracker;
mod types;
pub mod vector;
mod verify;
mod weight;

pub use crate::data::copy::{
    CopyProgress, CopyReport, CopySettings, NameMap, PreflightReport, Problem, ProblemPolicy,
    TableCheck, TableNames, TablePhase, TableProgress, Unmapped,
};
pub use convert::{Fix, Issue, Zone};
pub use types::PgType;

use crate::pg::{ConnConfig, Secret};
use anyhow::{Context as _, Result};
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// The copy's sessions: no statement or idle timeouts of the role may cut a long load, and
/// commits do not wait for the WAL flush (each table's commit is checked by verification
/// and resume, not by the durability of the commit record). Sent in the startup packet, so
/// they cost no round trip.
const SESSION_OPTIONS: &str = "-c statement_timeout=0 -c lock_timeout=0 \
     -c idle_in_transaction_session_timeout=0 -c synchronous_commit=off";

/// The copy was cancelled at the user's request (the current transaction rolled back).
#[derive(Debug, thiserror::Error)]
#[error("cancelled; nothing half-written remains and the copy can be resumed")]
pub struct Cancelled;

/// The cancel and pause flags a worker watches between batches.
#[derive(Clone, Default)]
pub struct Stop {
    pub cancel: Arc<AtomicBool>,
    pub pause: Arc<AtomicBool>,
}

impl Stop {
    /// Wait while paused; fail with [`Cancelled`] when cancelled.
    pub fn check(&self) -> Result<(), Cancelled> {
        loop {
            if self.cancel.load(Ordering::Relaxed) {
                return Err(Cancelled);
            }
            if !self.pause.load(Ordering::Relaxed) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn paused(&self) -> bool {
        self.pause.load(Ordering::Relaxed)
    }
}

/// The one moment of the SQLite file a copy reads: a point-in-time copy made with the
/// online backup API when the context first reads (in a temporary folder removed with the
/// context), or one a sync took and keeps ([`Context::read_from`]).
struct Snapshot {
    /// The temporary folder, when the context made the snapshot itself.
    _dir: Option<tempfile::TempDir>,
    file: PathBuf,
    taken_at: chrono::DateTime<chrono::Utc>,
}

impl Snapshot {
    fn file(&self) -> PathBuf {
        self.file.clone()
    }
}

/// Everything a copy job needs, owned.
pub struct Context {
    /// The user's SQLite file: named in messages, never read by the copy itself (see
    /// [`Context::open_sqlite`]).
    pub sqlite: PathBuf,
    pub config: ConnConfig,
    pub password: Option<Secret>,
    pub settings: CopySettings,
    pub zone: Zone,
    pub stop: Stop,
    /// One connection for the planning, counting and finishing work, kept for the
    /// context's life: each new connection costs several round trips (TCP, TLS, SCRAM).
    control: Mutex<Option<postgres::Client>>,
    /// Pipelined sessions being opened ahead of the load ([`Context::prewarm`]).
    warm: Mutex<Warm>,
    /// The load's sessions compress large values with lz4 (decided by the plan).
    lz4: AtomicBool,
    /// Sessions given back after a use, for the next one who needs one.
    idle: Mutex<Vec<crate::pg::wire::Wire>>,
    /// What every reading connection opens.
    snapshot: Mutex<Option<Snapshot>>,
}

/// Sessions opened in the background, and how many are still on their way.
#[derive(Default)]
struct Warm {
    started: bool,
    pending: usize,
    rx: Option<std::sync::mpsc::Receiver<Result<crate::pg::wire::Wire>>>,
}

/// The context's control connection, held for as long as this lives.
pub struct Control<'a>(MutexGuard<'a, Option<postgres::Client>>);

impl std::ops::Deref for Control<'_> {
    type Target = postgres::Client;
    fn deref(&self) -> &postgres::Client {
        self.0
            .as_ref()
            .expect("a Control always holds a connection")
    }
}

impl std::ops::DerefMut for Control<'_> {
    fn deref_mut(&mut self) -> &mut postgres::Client {
        self.0
            .as_mut()
            .expect("a Control always holds a connection")
    }
}

impl Context {
    pub fn new(
        sqlite: &Path,
        config: ConnConfig,
        password: Option<Secret>,
        settings: CopySettings,
        stop: Stop,
    ) -> Result<Context> {
        let zone = Zone::new(settings.use_tz, &settings.time_zone)?;
        Ok(Context {
            sqlite: sqlite.to_path_buf(),
            config,
            password,
            settings,
            zone,
            stop,
            control: Mutex::new(None),
            warm: Mutex::new(Warm::default()),
            lz4: AtomicBool::new(false),
            idle: Mutex::new(Vec::new()),
            snapshot: Mutex::new(None),
        })
    }

    /// Take the copy's snapshot of the SQLite file now (once; later calls keep the first).
    /// Every table is then read as of this one moment, whatever the number of connections
    /// and whatever the app writes meanwhile. Returns when it was taken.
    pub fn snapshot(&self) -> Result<chrono::DateTime<chrono::Utc>> {
        let mut slot = self.snapshot.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = slot.as_ref() {
            return Ok(s.taken_at);
        }
        let dir = tempfile::Builder::new()
            .prefix("dj2pg-snapshot-")
            .tempdir()
            .context("could not create a temporary folder for the SQLite snapshot (set TMPDIR to a folder with room for a copy of the file)")?;
        let snapshot = Snapshot {
            file: dir.path().join("snapshot.sqlite3"),
            _dir: Some(dir),
            taken_at: chrono::Utc::now(),
        };
        let opts = crate::backup::CopyOptions {
            busy_timeout: Duration::from_millis(crate::backup::DEFAULT_BUSY_TIMEOUT_MS),
            cancel: &self.stop.cancel,
        };
        crate::backup::snapshot(&self.sqlite, &snapshot.file(), &opts).map_err(|e| {
            anyhow::anyhow!(
                "could not take a snapshot of {} to copy from: {e} (TMPDIR must have room for a copy of the file)",
                self.sqlite.display()
            )
        })?;
        let at = snapshot.taken_at;
        *slot = Some(snapshot);
        Ok(at)
    }

    /// Read from `file`, a snapshot already taken at `taken_at` (a sync's), instead of
    /// taking one. The caller keeps the file.
    pub fn read_from(&self, file: PathBuf, taken_at: chrono::DateTime<chrono::Utc>) {
        *self.snapshot.lock().unwrap_or_else(|p| p.into_inner()) = Some(Snapshot {
            _dir: None,
            file,
            taken_at,
        });
    }

    /// Keep the snapshot this context read as `dest` (moved when on the same file system,
    /// else copied), for a later sync; the context reads it there from now on.
    pub fn keep_snapshot(&self, dest: &Path) -> Result<()> {
        let mut slot = self.snapshot.lock().unwrap_or_else(|p| p.into_inner());
        let Some(snap) = slot.as_mut() else {
            anyhow::bail!("no snapshot was taken");
        };
        if std::fs::rename(&snap.file, dest).is_err() {
            std::fs::copy(&snap.file, dest)
                .with_context(|| format!("could not keep the snapshot as {}", dest.display()))?;
        }
        snap.file = dest.to_path_buf();
        Ok(())
    }

    /// When the snapshot was taken, if it was.
    pub fn snapshot_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.snapshot
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|s| s.taken_at)
    }

    /// The session options of the load: [`SESSION_OPTIONS`], and lz4 compression of large
    /// values when the plan found the server offers it and the settings want it.
    fn load_options(&self) -> String {
        let mut o = SESSION_OPTIONS.to_string();
        if self.lz4.load(Ordering::Relaxed) {
            o.push_str(" -c default_toast_compression=lz4");
        }
        o
    }

    /// Follow `plan` for the load's sessions (before they open).
    fn adopt(&self, plan: &plan::Plan) {
        self.lz4.store(plan.lz4, Ordering::Relaxed);
    }

    /// Start opening the load's sessions in the background (once): each costs several
    /// round trips (TCP, TLS, SCRAM), which then overlap the preflight and the target
    /// checks instead of delaying the first table.
    pub fn prewarm(&self) {
        let mut warm = self.warm.lock().unwrap_or_else(|p| p.into_inner());
        if warm.started {
            return;
        }
        warm.started = true;
        // The sessions follow the plan's settings (lz4), read when they open.
        let (tx, rx) = std::sync::mpsc::channel();
        let options = self.config.startup_options(&self.load_options());
        for _ in 0..self.jobs() {
            let (config, password, tx) = (self.config.clone(), self.password.clone(), tx.clone());
            let options = options.clone();
            std::thread::spawn(move || {
                let _ = tx.send(crate::pg::wire::Wire::connect(
                    &config,
                    password.as_ref(),
                    &options,
                ));
            });
        }
        warm.pending = self.jobs();
        warm.rx = Some(rx);
    }

    /// The control connection, opened (or opened again, if it broke) on first use.
    pub fn control(&self) -> Result<Control<'_>> {
        let mut slot = self.control.lock().unwrap_or_else(|p| p.into_inner());
        if slot.as_ref().is_none_or(|c| c.is_closed()) {
            *slot = Some(self.connect()?);
        }
        Ok(Control(slot))
    }

    pub fn open_sqlite(&self) -> Result<Connection> {
        self.snapshot()?;
        let file = self
            .snapshot
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(Snapshot::file)
            .unwrap_or_else(|| self.sqlite.clone());
        // Read-only: SQLite itself refuses any write through this handle.
        Connection::open_with_flags(
            &file,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX
                | rusqlite::OpenFlags::SQLITE_OPEN_URI,
        )
        .with_context(|| {
            format!(
                "cannot open the SQLite file {} read-only",
                self.sqlite.display()
            )
        })
    }

    /// A connection for the copy, with [`SESSION_OPTIONS`].
    pub fn connect(&self) -> Result<postgres::Client> {
        self.config
            .connect_with(self.password.as_ref(), &self.load_options())
            .map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// A pipelined session for batches ([`batch`]), with the same settings as
    /// [`Context::connect`].
    pub fn wire(&self) -> Result<crate::pg::wire::Wire> {
        if let Some(w) = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop() {
            return Ok(w);
        }
        {
            let mut warm = self.warm.lock().unwrap_or_else(|p| p.into_inner());
            if warm.pending > 0 {
                warm.pending -= 1;
                // One already on its way is nearer than a new one.
                if let Some(Ok(Ok(w))) = warm.rx.as_ref().map(|rx| rx.recv()) {
                    return Ok(w);
                }
            }
        }
        crate::pg::wire::Wire::connect(
            &self.config,
            self.password.as_ref(),
            &self.config.startup_options(&self.load_options()),
        )
    }

    /// Keep a session that ended its work cleanly for the next [`Context::wire`].
    fn give_back(&self, w: crate::pg::wire::Wire) {
        if !w.is_broken() {
            self.idle.lock().unwrap_or_else(|p| p.into_inner()).push(w);
        }
    }

    /// Read some target tables back and checksum them (resume's keep-or-reload check). A
    /// few small ones in one query on one session (one round trip); big ones in parallel.
    fn target_checksums(
        &self,
        plan: &plan::Plan,
        tables: &[usize],
    ) -> Result<Vec<verify::Checksum>> {
        let rows: u64 = tables.iter().map(|&i| plan.tables[i].source_rows).sum();
        if tables.is_empty() {
            return Ok(Vec::new());
        }
        if rows >= 200_000 {
            return self.par_pg(tables, |c, &i| verify::target_checksum(c, &plan.tables[i]));
        }
        let mut wire = self.wire()?;
        let list: Vec<&plan::TablePlan> = tables.iter().map(|&i| &plan.tables[i]).collect();
        let sums = batch::read_back(&mut wire, &list, &vec![false; list.len()])?;
        self.give_back(wire);
        Ok(sums)
    }

    fn jobs(&self) -> usize {
        self.settings.jobs.max(1)
    }

    /// Read both schemas and match them.
    pub fn plan(&self) -> Result<plan::Plan> {
        phase_log::stage("planning");
        let dst = schema::read_pg(&mut *self.control()?)?;
        self.plan_with(dst, None)
    }

    /// Match the SQLite schema with `dst`, PostgreSQL's, read by the caller; with the
    /// SQLite tables' row counts when the caller knows them.
    pub fn plan_with(
        &self,
        dst: schema::PgSchema,
        rows: Option<&std::collections::HashMap<String, u64>>,
    ) -> Result<plan::Plan> {
        let conn = self.open_sqlite()?;
        let src =
            schema::read_sqlite_with(&conn, rows).context("could not read the SQLite schema")?;
        if dst.tables.is_empty() {
            anyhow::bail!(
                "the PostgreSQL database {} has no tables visible to {}: run Django's migrate against it first",
                self.config.dbname,
                self.config.user
            );
        }
        let mut values_in = |table: &str, column: &str| -> Result<u64> {
            let n: i64 = conn
                .query_row(
                    &format!(
                        "SELECT count({}) FROM {}",
                        schema::quote_sqlite(column),
                        schema::quote_sqlite(table)
                    ),
                    [],
                    |r| r.get(0),
                )
                .with_context(|| format!("could not count the values of {table}.{column}"))?;
            Ok(n.max(0) as u64)
        };
        let mut plan = plan::build(
            &src,
            &dst,
            plan::Inputs {
                user: &self.config.user,
                names: self.settings.names.as_ref(),
                leave_behind: &self.settings.leave_behind,
                values_in: &mut values_in,
            },
        )?;
        plan.lz4 &= self.settings.lz4;
        self.adopt(&plan);
        Ok(plan)
    }

    /// Run `f` over every table of the plan, `jobs` at a time, each thread with its own
    /// read-only SQLite connection. The largest tables go first (so that no thread is left
    /// alone with a big one at the end); results come back in plan order.
    fn par_tables<R: Send>(
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
    fn par_tables_subset<R: Send>(
        &self,
        _plan: &plan::Plan,
        tables: &[usize],
        f: impl Fn(&Connection, usize) -> Result<R> + Sync,
    ) -> Result<Vec<R>> {
        par_map(tables, self.jobs(), || self.open_sqlite(), |c, &i| f(c, i))
    }

    /// Run `f` over `items`, `jobs` at a time, each thread with its own PostgreSQL connection.
    fn par_pg<T: Sync, R: Send>(
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

    /// Row counts of the target tables, in plan order, in one round trip (the server may
    /// be far away: DigitalOcean's are tens of milliseconds from most laptops).
    fn target_counts(&self, plan: &plan::Plan) -> Result<Vec<u64>> {
        count_rows(
            &mut *self.control()?,
            plan.tables.iter().map(|t| t.target.as_str()),
        )
    }

    fn rejects_dir(&self) -> PathBuf {
        self.settings.rejects.clone().unwrap_or_else(|| {
            let mut p = self.sqlite.clone().into_os_string();
            p.push(".rejects");
            PathBuf::from(p)
        })
    }
}

/// `count(*)` of each table (already quoted), in one query.
fn count_rows<'a>(
    pg: &mut postgres::Client,
    tables: impl Iterator<Item = &'a str>,
) -> Result<Vec<u64>> {
    let tables: Vec<&str> = tables.collect();
    if tables.is_empty() {
        return Ok(Vec::new());
    }
    let sql = tables
        .iter()
        .map(|t| format!("(SELECT count(*) FROM {t})::text"))
        .collect::<Vec<_>>()
        .join(", ");
    let rows = pg
        .simple_query(&format!("SELECT {sql}"))
        .with_context(|| format!("could not count the rows of {}", tables.join(", ")))?;
    let row = rows
        .iter()
        .find_map(|m| match m {
            postgres::SimpleQueryMessage::Row(r) => Some(r),
            _ => None,
        })
        .context("counting the target rows returned nothing")?;
    (0..tables.len())
        .map(|i| {
            row.get(i)
                .and_then(|v| v.parse().ok())
                .with_context(|| format!("no row count for {}", tables[i]))
        })
        .collect()
}

/// A tiny work-stealing map over scoped threads, each with its own state (a connection).
fn par_map<S, T: Sync, R: Send>(
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

/// Read both schemas and check every value; writes nothing.
pub fn preflight(cx: &Context) -> Result<PreflightReport> {
    let plan = cx.plan()?;
    preflight::run(cx, &plan, ProblemPolicy::Abort)
}

/// Empty and load the tables (keeping those that already match), reset sequences,
/// `ANALYZE`, verify. `on_progress` is called about ten times a second with the newest
/// snapshot. Fails with [`Cancelled`] when cancelled.
pub fn copy(
    cx: &Context,
    policy: ProblemPolicy,
    on_progress: &mut dyn FnMut(&CopyProgress),
) -> Result<CopyReport> {
    let plan = cx.plan()?;
    load::run(cx, &plan, policy, on_progress)
}
