//! One unit of load work on one worker: a table, a rowid slice of a large table, or a cycle
//! of tables, streamed with binary `COPY` inside one transaction.
//!
//! Memory stays bounded: rows are read from a SQLite cursor and encoded into a buffer that
//! is handed to the COPY stream every 256 KiB. Cancel and pause are honoured between
//! batches of rows; a cancelled or failed task aborts its COPY and rolls back.

use super::plan::Plan;
use super::refcheck::{self, LeftOut, Parents, RefCheck};
use super::rows::{self, RowOutcome};
use super::tracker::Tracker;
use super::verify::{self, Canon, Checksum};
use super::{Context, Zone};
use crate::data::copy::ProblemPolicy;
use anyhow::{Context as _, Result, bail};
use rusqlite::Connection;
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Work for one transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Task {
    pub group: usize,
    /// Tables loaded in this transaction (several for a foreign-key cycle).
    pub tables: Vec<usize>,
    /// `rowid >= start AND rowid < end`, for slices of a large table; in a check, the
    /// primary-key range read back ([`verify::key_ranges`](super::verify::key_ranges)).
    pub slice: Option<(i64, i64)>,
    /// How the task loads (or reads back) its tables.
    pub mode: TaskMode,
    /// In bulk mode, the referencing tables (all empty, waiting for this task) to
    /// `TRUNCATE` along in the transaction so that `COPY` may `FREEZE`; `None`: no truncate.
    pub truncate_too: Option<Vec<String>>,
}

/// How a [`Task`] runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskMode {
    /// Plain `COPY` with every index and foreign key in place ([`run`]).
    Plain,
    /// Bulk mode ([`super::bulk`]): set foreign keys and plain indexes aside during the load.
    Bulk,
    /// Bulk mode that keeps the foreign keys (only plain indexes set aside): a sibling in
    /// full bulk mode holds the parent they share, and this one loads beside it instead
    /// of after it (see `schedule`).
    Light,
    /// Not a load: `ANALYZE` and read back the tables of a group that committed, while
    /// other tables load (see [`super::batch::check`]).
    Check,
    /// Small tables of several groups loaded, read back and analyzed in one round trip
    /// ([`super::batch`]); `group` is then the scheduler's number for the batch.
    Batch,
}

/// What a task did to one table.
#[derive(Clone, Debug, Default)]
pub struct TableOutcome {
    pub table: usize,
    pub checksum: Checksum,
    /// A check task's reading of the committed table.
    pub target: Option<Checksum>,
    /// Whether the check task also ran `ANALYZE` on it (big tables; small ones are
    /// analyzed together at the end, in one statement).
    pub analyzed: bool,
    pub rejected: u64,
    pub fixed: u64,
    /// The round trips this table's task waited for (a batch's: all of them, for each of
    /// its tables).
    pub round_trips: u64,
}

/// The reject files: one JSON-lines file per table, opened on first use.
pub struct Rejects {
    pub dir: PathBuf,
    files: Mutex<HashMap<String, std::io::BufWriter<std::fs::File>>>,
}

impl Rejects {
    pub fn new(dir: PathBuf) -> Rejects {
        Rejects {
            dir,
            files: Mutex::new(HashMap::new()),
        }
    }

    pub fn path(&self, table: &str) -> PathBuf {
        self.dir.join(format!("{table}.jsonl"))
    }

    fn write(&self, table: &str, line: &str) -> Result<()> {
        let mut files = self.files.lock().unwrap_or_else(|p| p.into_inner());
        if !files.contains_key(table) {
            std::fs::create_dir_all(&self.dir).with_context(|| {
                format!("cannot create the rejects folder {}", self.dir.display())
            })?;
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.path(table))
                .with_context(|| format!("cannot write {}", self.path(table).display()))?;
            files.insert(table.to_string(), std::io::BufWriter::new(f));
        }
        if let Some(f) = files.get_mut(table) {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }

    pub fn flush(&self) -> Result<()> {
        let mut files = self.files.lock().unwrap_or_else(|p| p.into_inner());
        for f in files.values_mut() {
            f.flush()?;
        }
        Ok(())
    }
}

/// What every worker shares.
pub struct Shared<'a> {
    pub cx: &'a Context,
    pub plan: &'a Plan,
    pub policy: ProblemPolicy,
    pub tracker: &'a Tracker,
    /// Per table, its reference checks, prepared by the first task that needs them.
    pub refs: &'a [Mutex<Option<Arc<RefCheck>>>],
    /// The parent key sets the reference checks share.
    pub parents: &'a Parents,
    /// Rows left out so far, for the reference checks of the tables loaded after them.
    pub left_out: &'a LeftOut,
    pub rejects: &'a Rejects,
}

const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
const FLUSH_AT: usize = 256 * 1024;
const BATCH: u64 = 1000;

/// Run one task that is neither a batch nor in bulk mode (a rowid slice of a large table,
/// or a group of tables that cannot go in a batch) in its own transaction.
pub fn run(
    pg: &mut postgres::Client,
    sq: &Connection,
    sh: &Shared<'_>,
    task: &Task,
) -> Result<Vec<TableOutcome>> {
    // The `postgres` crate's COPY: prepare, start (CopyInResponse), end (CommandComplete).
    const COPY_ROUND_TRIPS: u64 = 3;
    if let [t] = task.tables.as_slice() {
        // One COPY is one transaction by itself: no BEGIN and COMMIT round trips.
        let mut o = copy_table(pg, sq, sh, *t, task.slice)?;
        o.round_trips = COPY_ROUND_TRIPS;
        return Ok(vec![o]);
    }
    let mut tx = pg.transaction()?;
    let mut out = Vec::new();
    for &t in &task.tables {
        let mut o = copy_table(&mut tx, sq, sh, t, task.slice)?;
        // Its COPY, and the BEGIN and COMMIT it shares with the group.
        o.round_trips = COPY_ROUND_TRIPS + 2;
        out.push(o);
    }
    tx.commit().with_context(|| {
        format!(
            "could not commit the load of {}",
            table_names(sh.plan, &task.tables)
        )
    })?;
    Ok(out)
}

fn table_names(plan: &Plan, tables: &[usize]) -> String {
    tables
        .iter()
        .map(|&t| plan.tables[t].name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn copy_table(
    tx: &mut impl postgres::GenericClient,
    sq: &Connection,
    sh: &Shared<'_>,
    t: usize,
    slice: Option<(i64, i64)>,
) -> Result<TableOutcome> {
    let table = &sh.plan.tables[t];
    table.ensure_copyable()?;
    let mut w = tx
        .copy_in(&table.copy_in_sql(false))
        .with_context(|| format!("COPY into {} was refused", table.target))?;
    let outcome = stream_rows(&mut w, sq, sh, t, slice)?;
    w.finish()
        .with_context(|| format!("COPY into {} failed", table.target))?;
    Ok(outcome)
}

/// Read table `t` (or a rowid slice of it) from SQLite and write it to `w` as one whole
/// binary COPY stream (header, rows, trailer), checking and converting every row: the
/// part of a table's load that is the same whatever carries the stream to the server.
pub(super) fn stream_rows(
    w: &mut dyn Write,
    sq: &Connection,
    sh: &Shared<'_>,
    t: usize,
    slice: Option<(i64, i64)>,
) -> Result<TableOutcome> {
    let table = &sh.plan.tables[t];
    let mut outcome = TableOutcome {
        table: t,
        ..Default::default()
    };
    table.ensure_copyable()?;
    let types: Vec<_> = table.columns.iter().map(|c| &c.ty).collect();
    let refs = {
        let mut slot = sh.refs[t].lock().unwrap_or_else(|p| p.into_inner());
        match slot.as_ref() {
            Some(r) => Arc::clone(r),
            None => {
                leave_out_along_self_references(sq, sh, t)?;
                let r = Arc::new(RefCheck::build(sq, table, sh.parents, Some(sh.left_out))?);
                *slot = Some(Arc::clone(&r));
                r
            }
        }
    };
    let fix = sh.policy == ProblemPolicy::Fix;
    let referenced = refcheck::referenced_columns(sh.plan, table);
    let mut stmt = sq.prepare(&table.select_sql(slice.is_some()))?;
    let mut cursor = match slice {
        Some((a, b)) => stmt.query([a, b])?,
        None => stmt.query([])?,
    };
    let mut buf = Vec::with_capacity(FLUSH_AT + 64 * 1024);
    buf.extend_from_slice(HEADER);
    let mut since_report = 0u64;
    while let Some(row) = cursor.next()? {
        let key = refs
            .needs_key()
            .then(|| rows::key_text(row.get_ref(0).unwrap_or(rusqlite::types::ValueRef::Null)));
        let start = buf.len();
        match rows::encode_row(
            table,
            row,
            &sh.cx.zone,
            fix,
            &refs,
            key.as_deref(),
            &mut buf,
        )? {
            RowOutcome::Written(fixes) => {
                outcome.checksum.add_row(&types, &buf[start..]);
                outcome.fixed += u64::from(!fixes.is_empty());
            }
            RowOutcome::Rejected(issues) => {
                let key = key.unwrap_or_else(|| {
                    rows::key_text(row.get_ref(0).unwrap_or(rusqlite::types::ValueRef::Null))
                });
                if sh.policy == ProblemPolicy::Abort {
                    let (i, issue) = &issues[0];
                    bail!(
                        "{} pk={key} column {}: {} ({}). Nothing of this table was written; choose to skip or fix such rows, or correct the SQLite data",
                        table.name,
                        table.columns[*i].name,
                        issue.what,
                        rows::excerpt(row, *i)
                    );
                }
                outcome.rejected += 1;
                sh.left_out.record(table, &referenced, row);
                sh.rejects
                    .write(&table.name, &rows::reject_line(table, &key, row, &issues))?;
            }
        }
        if buf.len() >= FLUSH_AT {
            w.write_all(&buf)
                .with_context(|| format!("the COPY into {} broke off", table.name))?;
            buf.clear();
        }
        since_report += 1;
        if since_report == BATCH {
            sh.tracker.add_rows(t, since_report);
            since_report = 0;
            sh.cx.stop.check()?;
        }
    }
    buf.extend_from_slice(&(-1i16).to_be_bytes());
    w.write_all(&buf)
        .with_context(|| format!("the COPY into {} broke off", table.name))?;
    sh.tracker.add_rows(t, since_report);
    Ok(outcome)
}

/// Rows of a table that references itself (by its integer primary key) which point,
/// directly or down a chain, at one of its own rows that the policy leaves out: they are
/// recorded as left out before the table loads, so the load leaves them out too (or sets
/// a nullable reference to NULL under fix) instead of failing the foreign key at commit.
/// Rows may point forward, so this takes a pass of its own; it runs only when rows may
/// be left out (skip or fix), and gives up above `MAX_EDGES` references (the commit then
/// says which key does not hold).
fn leave_out_along_self_references(sq: &Connection, sh: &Shared<'_>, t: usize) -> Result<()> {
    const MAX_EDGES: usize = 5_000_000;
    let table = &sh.plan.tables[t];
    let fix = sh.policy == ProblemPolicy::Fix;
    let pk = match table.pk.as_slice() {
        [pk] => table.columns.iter().position(|c| &c.name == pk),
        _ => None,
    };
    let Some(pk) = pk else { return Ok(()) };
    let selfs: Vec<usize> = table
        .refs
        .iter()
        .filter(|r| r.ref_table == table.name && r.ref_column == table.columns[pk].name)
        .filter_map(|r| table.columns.iter().position(|c| c.name == r.column))
        .collect();
    if selfs.is_empty() || sh.policy == ProblemPolicy::Abort {
        return Ok(());
    }
    // The references that leave a row out when their parent is left out (under fix, a
    // nullable one is set to NULL instead, and the chain stops there).
    let selfs: Vec<usize> = selfs
        .into_iter()
        .filter(|&c| !(fix && table.columns[c].nullable))
        .collect();
    let refs = RefCheck::build(sq, table, sh.parents, Some(sh.left_out))?;
    let mut stmt = sq.prepare(&table.select_sql(false))?;
    let mut cursor = stmt.query([])?;
    let mut gone: Vec<i64> = Vec::new();
    let mut children: HashMap<i64, Vec<i64>> = HashMap::new();
    let mut edges = 0usize;
    let mut buf = Vec::with_capacity(4096);
    while let Some(row) = cursor.next()? {
        let Ok(rusqlite::types::ValueRef::Integer(key)) = row.get_ref(pk + 1) else {
            continue;
        };
        let row_key = refs
            .needs_key()
            .then(|| rows::key_text(row.get_ref(0).unwrap_or(rusqlite::types::ValueRef::Null)));
        buf.clear();
        if let RowOutcome::Rejected(_) = rows::encode_row(
            table,
            row,
            &sh.cx.zone,
            fix,
            &refs,
            row_key.as_deref(),
            &mut buf,
        )? {
            gone.push(key);
        }
        for &c in &selfs {
            if let Ok(rusqlite::types::ValueRef::Integer(parent)) = row.get_ref(c + 1) {
                children.entry(parent).or_default().push(key);
                edges += 1;
            }
        }
        if edges > MAX_EDGES {
            return Ok(());
        }
        if edges % 4096 == 0 {
            sh.cx.stop.check()?;
        }
    }
    // Everything below a row left out is left out.
    let mut seen: std::collections::HashSet<i64> = gone.iter().copied().collect();
    while let Some(k) = gone.pop() {
        for &child in children.get(&k).map(Vec::as_slice).unwrap_or_default() {
            if seen.insert(child) {
                gone.push(child);
            }
        }
    }
    sh.left_out
        .record_keys(&table.name, &table.columns[pk].name, seen);
    Ok(())
}

/// How [`source_checksum`] reads the source.
pub struct SourceScan<'a> {
    pub policy: ProblemPolicy,
    pub parents: &'a Parents,
    /// Where to record the rows the policy leaves out (so that the load leaves out the
    /// rows pointing at them, also when this table is kept from an earlier run).
    pub left_out: Option<&'a LeftOut>,
    pub canon: Canon,
}

/// Checksum the source rows as the load would send them (for keep-or-reload decisions).
pub fn source_checksum(
    sq: &Connection,
    cx: &Context,
    plan: &Plan,
    t: usize,
    how: &SourceScan<'_>,
) -> Result<Option<(Checksum, u64)>> {
    let table = &plan.tables[t];
    let (policy, canon) = (how.policy, how.canon);
    let refs = RefCheck::build(sq, table, how.parents, None)?;
    let referenced = refcheck::referenced_columns(plan, table);
    let types: Vec<_> = table.columns.iter().map(|c| &c.ty).collect();
    let zone: &Zone = &cx.zone;
    let mut stmt = sq.prepare(&table.select_sql(false))?;
    let mut cursor = stmt.query([])?;
    let mut sum = Checksum::default();
    let mut rejected = 0;
    let mut buf = Vec::with_capacity(4096);
    while let Some(row) = cursor.next()? {
        let key = refs
            .needs_key()
            .then(|| rows::key_text(row.get_ref(0).unwrap_or(rusqlite::types::ValueRef::Null)));
        buf.clear();
        match rows::encode_row(
            table,
            row,
            zone,
            policy == ProblemPolicy::Fix,
            &refs,
            key.as_deref(),
            &mut buf,
        )? {
            RowOutcome::Written(_) => sum.add_row_by(&types, &buf, canon),
            RowOutcome::Rejected(_) if policy == ProblemPolicy::Abort => return Ok(None),
            RowOutcome::Rejected(_) => {
                rejected += 1;
                if let Some(l) = how.left_out {
                    l.record(table, &referenced, row);
                }
            }
        }
        if sum.rows % 4096 == 0 {
            cx.stop.check()?;
        }
    }
    Ok(Some((sum, rejected)))
}

/// Both sides of table `t` checksummed again with JSON compared by value (after the bytes
/// differed: see `verify`).
pub fn same_by_value(
    cx: &Context,
    plan: &Plan,
    t: usize,
    policy: ProblemPolicy,
    parents: &Parents,
    pg: &mut postgres::Client,
) -> Result<bool> {
    let sq = cx.open_sqlite()?;
    let how = SourceScan {
        policy,
        parents,
        left_out: None,
        canon: Canon::ByValue,
    };
    let source = source_checksum(&sq, cx, plan, t, &how)?;
    let target = verify::target_checksum_by(pg, &plan.tables[t], Canon::ByValue)?;
    Ok(source.is_some_and(|(sum, _)| sum == target))
}
