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
mod parallel;
mod phase_log;
mod plan;
mod preflight;
mod progress;
mod refcheck;
mod rows;
mod schedule;
mod schema;
mod sessions;
mod snapshot;
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
    Stage, StageTime, TableCheck, TableNames, TablePhase, TableProgress, Unmapped,
};
pub use convert::{Fix, Issue, Zone};
pub use progress::ProgressSlot;
pub use types::PgType;

pub use sessions::Control;

use crate::pg::{ConnConfig, Secret};
use anyhow::{Context as _, Result};
use sessions::Warm;
use snapshot::Snapshot;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

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

    /// Follow `plan` for the load's sessions (before they open).
    fn adopt(&self, plan: &plan::Plan) {
        self.lz4.store(plan.lz4, Ordering::Relaxed);
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

    /// Row counts of the target tables, in plan order, in one round trip (the server may
    /// be far away: DigitalOcean's are tens of milliseconds from most laptops). Takes the
    /// control connection: not while holding it.
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
