//! Applying the changes on PostgreSQL, in one transaction: find conflicts, write, advance
//! sequences, verify, commit — or roll back and change nothing.
//!
//! Conflicts are found by content, never by time: for every key that changed in SQLite,
//! PostgreSQL's row (read through a temporary table of the keys, so only changed rows
//! cross the link) is hashed the way the copy's verification hashes rows ([`verify`]) and
//! compared with the snapshot's version (what the copy or the last sync wrote) and with the
//! new one. Equal to the old: ours to change. Equal to the new: already applied (a sync
//! that committed but did not record it; running again is harmless). Anything else was
//! written on PostgreSQL by someone else: a conflict, never overwritten unless asked.
//!
//! Order: deletes children-first, then inserts and updates parents-first (as upserts), so
//! that even foreign keys that are not deferrable hold; Django's are `DEFERRABLE
//! INITIALLY DEFERRED` and are checked at the commit.

use super::super::Context;
use super::super::plan::{Plan, TablePlan};
use super::super::refcheck::RefCheck;
use super::super::rows::{self, RowOutcome};
use super::super::schema::{quote_pg, quote_sqlite};
use super::super::types::PgType;
use super::super::verify::{self, Canon};
use super::diff::{Key, TableDiff, key_positions};
use anyhow::{Context as _, Result, bail};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::Write;

/// The sync's sessions: no statement timeout may cut it, and the commit is durable.
const OPTIONS: &str = "-c TimeZone=UTC -c statement_timeout=0 -c lock_timeout=0 \
     -c idle_in_transaction_session_timeout=0";

const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// What to do with a row changed on both sides.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum OnConflict {
    /// Change nothing and list the conflicts (the default).
    #[default]
    Stop,
    /// Leave PostgreSQL's row as it is.
    KeepPostgres,
    /// Write SQLite's version over it.
    TakeSqlite,
}

/// A row changed on PostgreSQL since the snapshot, that SQLite changed too.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Conflict {
    pub table: String,
    /// The primary key, as text (columns joined by commas).
    pub key: String,
    pub what: String,
}

/// What a sync did to one table.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TableResult {
    pub table: String,
    pub inserted: u64,
    pub updated: u64,
    pub deleted: u64,
    /// A table without a primary key, reloaded whole (its rows after the reload).
    pub reloaded: Option<u64>,
    /// Changes PostgreSQL already held (a previous sync that was not recorded).
    pub already: u64,
    /// Conflicts left as PostgreSQL had them.
    pub kept_postgres: u64,
}

impl TableResult {
    /// Rows written or deleted.
    pub fn moved(&self) -> u64 {
        self.inserted + self.updated + self.deleted + self.reloaded.unwrap_or(0)
    }
}

/// The outcome of [`apply`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Applied {
    pub tables: Vec<TableResult>,
    pub conflicts: Vec<Conflict>,
    /// Committed and verified; false: stopped on conflicts, nothing changed.
    pub committed: bool,
}

impl Applied {
    pub fn moved(&self) -> u64 {
        self.tables.iter().map(TableResult::moved).sum()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Insert,
    Update,
    Delete,
}

/// What becomes of one key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    Write,
    Delete,
    Already,
    KeepPostgres,
}

/// One changed key, with both versions as COPY tuples.
struct Item {
    kind: Kind,
    label: String,
    key_id: Vec<u8>,
    key_tuple: Vec<u8>,
    old: Option<Vec<u8>>,
    new: Option<Vec<u8>>,
}

/// One changed table, read locally.
struct Work<'a> {
    index: usize,
    t: &'a TablePlan,
    types: Vec<&'a PgType>,
    /// `None`: no primary key; reloaded whole from `all_new`.
    keys: Option<Vec<usize>>,
    items: Vec<Item>,
    all_old: Vec<Vec<u8>>,
    all_new: Vec<Vec<u8>>,
}

impl Work<'_> {
    fn same(&self, a: &[u8], b: &[u8]) -> bool {
        verify::row_hash(&self.types, a, Canon::Exact)
            == verify::row_hash(&self.types, b, Canon::Exact)
            || (verify::has_json(self.t)
                && verify::row_hash(&self.types, a, Canon::ByValue)
                    == verify::row_hash(&self.types, b, Canon::ByValue))
    }
}

/// Apply `diffs` (from the snapshot attached as `old` to the new one, `main`, of `conn`)
/// on PostgreSQL; verify; commit. With conflicts and [`OnConflict::Stop`], nothing is
/// written and the conflicts are returned.
pub fn apply(
    cx: &Context,
    conn: &Connection,
    plan: &Plan,
    diffs: &[TableDiff],
    on_conflict: OnConflict,
) -> Result<Applied> {
    let mut work = Vec::new();
    for d in diffs.iter().filter(|d| !d.is_empty()) {
        work.push(read_local(cx, conn, plan, d)?);
    }
    let mut pg = cx
        .config
        .connect_with(cx.password.as_ref(), OPTIONS)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut tx = pg.transaction()?;
    // The keys of every changed table, in temporary tables dropped at the end.
    let mut ddl = String::new();
    for w in work.iter().filter(|w| w.keys.is_some()) {
        let (keys, cols) = (key_list(w), w.t.column_list());
        for (name, list) in [("k", &keys), ("n", &cols), ("d", &keys)] {
            ddl.push_str(&format!(
                "CREATE TEMP TABLE dj2pg_{name}{} ON COMMIT DROP AS SELECT {list} FROM {} WITH NO DATA;",
                w.index, w.t.target
            ));
        }
    }
    if !ddl.is_empty() {
        tx.batch_execute(&ddl)
            .context("could not prepare the sync on PostgreSQL")?;
    }
    // PostgreSQL's version of every changed key.
    let mut before = Vec::new();
    for w in &work {
        before.push(read_pg(&mut tx, w, true)?);
    }
    let mut applied = Applied::default();
    let mut actions = Vec::new();
    for (w, pg_rows) in work.iter().zip(&before) {
        let (acts, result) = decide(w, pg_rows, on_conflict, &mut applied.conflicts);
        actions.push(acts);
        applied.tables.push(result);
    }
    if !applied.conflicts.is_empty() && on_conflict == OnConflict::Stop {
        return Ok(applied);
    }
    // Send the rows to write and the keys to delete, then change the tables.
    let mut deletes = Vec::new();
    for (w, acts) in work.iter().zip(&actions) {
        if w.keys.is_none() {
            if acts.first() == Some(&Action::Write) {
                deletes.push(format!("DELETE FROM {};", w.t.target));
            }
            continue;
        }
        let pick = |a: Action| w.items.iter().zip(acts).filter(move |(_, x)| **x == a);
        let writes: Vec<&[u8]> = pick(Action::Write)
            .filter_map(|(i, _)| i.new.as_deref())
            .collect();
        let dels: Vec<&[u8]> = pick(Action::Delete)
            .map(|(i, _)| &i.key_tuple[..])
            .collect();
        if !writes.is_empty() {
            copy_in(
                &mut tx,
                &format!("COPY pg_temp.dj2pg_n{} FROM STDIN (FORMAT binary)", w.index),
                &writes,
            )?;
        }
        if !dels.is_empty() {
            copy_in(
                &mut tx,
                &format!("COPY pg_temp.dj2pg_d{} FROM STDIN (FORMAT binary)", w.index),
                &dels,
            )?;
            deletes.push(format!(
                "DELETE FROM {} t USING pg_temp.dj2pg_d{} d WHERE {};",
                w.t.target,
                w.index,
                key_match(w, "t", "d")
            ));
        }
    }
    // Children first: the plan lists parents before their children.
    deletes.reverse();
    let mut statements = deletes.concat();
    for (w, acts) in work.iter().zip(&actions) {
        if w.keys.is_none() {
            if acts.first() == Some(&Action::Write) {
                if !statements.is_empty() {
                    tx.batch_execute(&statements)
                        .context("could not apply the changes")?;
                    statements.clear();
                }
                let rows: Vec<&[u8]> = w.all_new.iter().map(|r| &r[..]).collect();
                copy_in(&mut tx, &w.t.copy_in_sql(false), &rows)?;
            }
            continue;
        }
        if acts.contains(&Action::Write) {
            statements.push_str(&upsert(w));
        }
    }
    statements.push_str(&sequences(&work));
    if !statements.is_empty() {
        tx.batch_execute(&statements).with_context(|| {
            format!(
                "could not apply the changes to {} (nothing was changed)",
                work.iter()
                    .map(|w| w.t.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?;
    }
    // Verify before the commit: each changed key holds what was decided.
    let mut failed = Vec::new();
    for ((w, acts), pg_before) in work.iter().zip(&actions).zip(&before) {
        let after = read_pg(&mut tx, w, false)?;
        if !verified(w, acts, pg_before, &after) {
            failed.push(w.t.name.clone());
        }
    }
    if !failed.is_empty() {
        bail!(
            "verification failed for {} after applying the changes: rolled back, nothing was changed",
            failed.join(", ")
        );
    }
    tx.commit()
        .context("could not commit the sync (nothing was changed)")?;
    applied.committed = true;
    Ok(applied)
}

/// Read the changed rows of one table from both snapshots, as COPY tuples.
fn read_local<'a>(
    cx: &Context,
    conn: &Connection,
    plan: &'a Plan,
    d: &TableDiff,
) -> Result<Work<'a>> {
    let t = &plan.tables[d.table];
    let mut w = Work {
        index: d.table,
        t,
        types: t.columns.iter().map(|c| &c.ty).collect(),
        keys: key_positions(t),
        items: Vec::new(),
        all_old: Vec::new(),
        all_new: Vec::new(),
    };
    let Some(pos) = w.keys.clone() else {
        w.all_old = read_all(cx, conn, "old", t)?;
        w.all_new = read_all(cx, conn, "main", t)?;
        return Ok(w);
    };
    let lists = [
        (Kind::Insert, &d.inserted),
        (Kind::Update, &d.updated),
        (Kind::Delete, &d.deleted),
    ];
    for (kind, keys) in lists {
        for key in keys {
            let old = match kind {
                Kind::Insert => None,
                _ => fetch(cx, conn, "old", t, key)?,
            };
            let new = match kind {
                Kind::Delete => None,
                _ => fetch(cx, conn, "main", t, key)?,
            };
            let Some((label, tuple)) = new.as_ref().or(old.as_ref()) else {
                continue;
            };
            w.items.push(Item {
                kind,
                label: label.clone(),
                key_id: key_id(&w.types, &pos, tuple),
                key_tuple: sub_tuple(&pos, tuple),
                old: old.map(|o| o.1),
                new: new.map(|n| n.1),
            });
        }
    }
    Ok(w)
}

fn select_sql(db: &str, t: &TablePlan) -> String {
    let cols: Vec<String> = t.columns.iter().map(|c| quote_sqlite(&c.name)).collect();
    format!(
        "SELECT {}, {} FROM {db}.{}",
        t.key_expr(),
        cols.join(", "),
        quote_sqlite(&t.name)
    )
}

/// One row by its key, converted as the copy converts it, with its key as text.
fn fetch(
    cx: &Context,
    conn: &Connection,
    db: &str,
    t: &TablePlan,
    key: &Key,
) -> Result<Option<(String, Vec<u8>)>> {
    let cond: Vec<String> =
        t.pk.iter()
            .enumerate()
            .map(|(i, k)| format!("{} = ?{}", quote_sqlite(k), i + 1))
            .collect();
    let sql = format!("{} WHERE {}", select_sql(db, t), cond.join(" AND "));
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut found = stmt.query(rusqlite::params_from_iter(key.iter()))?;
    let Some(row) = found.next()? else {
        return Ok(None);
    };
    let label = rows::key_text(row.get_ref(0)?);
    let mut buf = Vec::new();
    encode(cx, t, row, &label, &mut buf)?;
    Ok(Some((label, buf)))
}

fn encode(
    cx: &Context,
    t: &TablePlan,
    row: &rusqlite::Row<'_>,
    label: &str,
    buf: &mut Vec<u8>,
) -> Result<()> {
    match rows::encode_row(t, row, &cx.zone, false, &RefCheck::default(), None, buf)? {
        RowOutcome::Written(_) => Ok(()),
        RowOutcome::Rejected(issues) => {
            let what: Vec<String> = issues
                .iter()
                .map(|(i, issue)| format!("{} {}", t.columns[*i].name, issue.what))
                .collect();
            bail!(
                "{} row {label} cannot go to PostgreSQL: {}; correct it in the SQLite file (or in the app) and sync again",
                t.name,
                what.join("; ")
            )
        }
    }
}

/// Every row of a table without a primary key.
fn read_all(cx: &Context, conn: &Connection, db: &str, t: &TablePlan) -> Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    if t.columns.is_empty() {
        return Ok(out);
    }
    let mut stmt = conn.prepare(&select_sql(db, t))?;
    let mut found = stmt.query([])?;
    while let Some(row) = found.next()? {
        let label = rows::key_text(row.get_ref(0)?);
        let mut buf = Vec::new();
        encode(cx, t, row, &label, &mut buf)?;
        out.push(buf);
    }
    Ok(out)
}

/// The fields of a COPY tuple (`None`: NULL).
fn fields(tuple: &[u8]) -> Vec<Option<&[u8]>> {
    let mut out = Vec::new();
    let mut at = 2;
    while let Some(len) = tuple.get(at..at + 4) {
        let len = i32::from_be_bytes([len[0], len[1], len[2], len[3]]);
        at += 4;
        if len < 0 {
            out.push(None);
        } else {
            let end = (at + len as usize).min(tuple.len());
            out.push(Some(&tuple[at..end]));
            at = end;
        }
    }
    out
}

/// The key fields of a row in canonical form: equal on both sides for the same key.
fn key_id(types: &[&PgType], pos: &[usize], tuple: &[u8]) -> Vec<u8> {
    let f = fields(tuple);
    let mut out = Vec::new();
    for &p in pos {
        match f.get(p).copied().flatten() {
            None => out.push(0xff),
            Some(b) => {
                let mut canon = Vec::new();
                verify::canonical(types[p], b, Canon::Exact, &mut canon);
                out.push(0);
                out.extend_from_slice(&(canon.len() as u64).to_le_bytes());
                out.extend_from_slice(&canon);
            }
        }
    }
    out
}

/// A tuple of some fields of `tuple`.
fn sub_tuple(pos: &[usize], tuple: &[u8]) -> Vec<u8> {
    let f = fields(tuple);
    let mut out = (pos.len() as i16).to_be_bytes().to_vec();
    for &p in pos {
        match f.get(p).copied().flatten() {
            None => out.extend_from_slice(&(-1i32).to_be_bytes()),
            Some(b) => {
                out.extend_from_slice(&(b.len() as i32).to_be_bytes());
                out.extend_from_slice(b);
            }
        }
    }
    out
}

fn key_list(w: &Work<'_>) -> String {
    w.keys
        .iter()
        .flatten()
        .map(|&p| quote_pg(&w.t.columns[p].target))
        .collect::<Vec<_>>()
        .join(", ")
}

fn key_match(w: &Work<'_>, a: &str, b: &str) -> String {
    w.keys
        .iter()
        .flatten()
        .map(|&p| {
            let c = quote_pg(&w.t.columns[p].target);
            format!("{a}.{c} = {b}.{c}")
        })
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// PostgreSQL's rows for the changed keys (by key id), or the whole table's rows.
fn read_pg(
    tx: &mut postgres::Transaction<'_>,
    w: &Work<'_>,
    _before: bool,
) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let sql = match &w.keys {
        Some(_) => {
            let cols: Vec<String> =
                w.t.columns
                    .iter()
                    .map(|c| format!("t.{}", quote_pg(&c.target)))
                    .collect();
            format!(
                "COPY (SELECT {} FROM {} t JOIN pg_temp.dj2pg_k{} k USING ({})) TO STDOUT (FORMAT binary)",
                cols.join(", "),
                w.t.target,
                w.index,
                key_list(w)
            )
        }
        None if w.t.columns.is_empty() => return Ok(Vec::new()),
        None => verify::read_back_sql(w.t),
    };
    if let Some(pos) = &w.keys {
        let tuples: Vec<&[u8]> = w.items.iter().map(|i| &i.key_tuple[..]).collect();
        if _before {
            copy_in(
                tx,
                &format!("COPY pg_temp.dj2pg_k{} FROM STDIN (FORMAT binary)", w.index),
                &tuples,
            )?;
        }
        let mut out = Vec::new();
        let reader = tx.copy_out(&sql).with_context(|| {
            format!(
                "could not read the changed rows of {} on PostgreSQL",
                w.t.name
            )
        })?;
        verify::for_each_tuple(reader, |row| {
            out.push((key_id(&w.types, pos, row), row.to_vec()))
        })?;
        return Ok(out);
    }
    let mut out = Vec::new();
    let reader = tx
        .copy_out(&sql)
        .with_context(|| format!("could not read {} on PostgreSQL", w.t.name))?;
    verify::for_each_tuple(reader, |row| out.push((Vec::new(), row.to_vec())))?;
    Ok(out)
}

/// Decide each key's fate from PostgreSQL's rows; conflicts are added to `conflicts`.
fn decide(
    w: &Work<'_>,
    pg_rows: &[(Vec<u8>, Vec<u8>)],
    on_conflict: OnConflict,
    conflicts: &mut Vec<Conflict>,
) -> (Vec<Action>, TableResult) {
    let mut result = TableResult {
        table: w.t.name.clone(),
        ..TableResult::default()
    };
    if w.keys.is_none() {
        let holds = |rows: &[Vec<u8>]| {
            let mut a: Vec<u128> = rows
                .iter()
                .map(|r| verify::row_hash(&w.types, r, Canon::ByValue))
                .collect();
            let mut b: Vec<u128> = pg_rows
                .iter()
                .map(|(_, r)| verify::row_hash(&w.types, r, Canon::ByValue))
                .collect();
            a.sort_unstable();
            b.sort_unstable();
            a == b
        };
        if holds(&w.all_new) {
            result.already = 1;
            return (vec![Action::Already], result);
        }
        if !holds(&w.all_old) {
            conflicts.push(Conflict {
                table: w.t.name.clone(),
                key: "(whole table: it has no primary key)".into(),
                what: "changed in PostgreSQL since the snapshot".into(),
            });
            if on_conflict != OnConflict::TakeSqlite {
                result.kept_postgres = 1;
                return (vec![Action::KeepPostgres], result);
            }
        }
        result.reloaded = Some(w.all_new.len() as u64);
        return (vec![Action::Write], result);
    }
    let on_pg: HashMap<&[u8], &[u8]> = pg_rows.iter().map(|(k, r)| (&k[..], &r[..])).collect();
    let mut acts = Vec::with_capacity(w.items.len());
    for item in &w.items {
        let pg = on_pg.get(&item.key_id[..]).copied();
        let is = |v: &Option<Vec<u8>>| match (pg, v) {
            (Some(p), Some(v)) => w.same(p, v),
            (None, None) => true,
            _ => false,
        };
        let (act, clash) = if is(&item.new) {
            (Action::Already, None)
        } else {
            let ours = match item.kind {
                Kind::Insert => pg.is_none(),
                _ => is(&item.old),
            };
            let act = if item.kind == Kind::Delete {
                Action::Delete
            } else {
                Action::Write
            };
            if ours {
                (act, None)
            } else {
                let what = match (item.kind, pg) {
                    (Kind::Insert, _) => "PostgreSQL already holds a different row with this key",
                    (_, None) => "deleted in PostgreSQL since the snapshot",
                    _ => "changed in PostgreSQL since the snapshot",
                };
                (act, Some(what))
            }
        };
        let act = match clash {
            Some(what) => {
                conflicts.push(Conflict {
                    table: w.t.name.clone(),
                    key: item.label.clone(),
                    what: what.into(),
                });
                match on_conflict {
                    OnConflict::TakeSqlite => act,
                    _ => Action::KeepPostgres,
                }
            }
            None => act,
        };
        match act {
            Action::Already => result.already += 1,
            Action::KeepPostgres => result.kept_postgres += 1,
            Action::Delete => result.deleted += 1,
            Action::Write if item.kind == Kind::Insert || pg.is_none() => result.inserted += 1,
            Action::Write => result.updated += 1,
        }
        acts.push(act);
    }
    (acts, result)
}

/// Whether PostgreSQL now holds what was decided for every changed key.
fn verified(
    w: &Work<'_>,
    acts: &[Action],
    before: &[(Vec<u8>, Vec<u8>)],
    after: &[(Vec<u8>, Vec<u8>)],
) -> bool {
    if w.keys.is_none() {
        let expect: Vec<&[u8]> = match acts.first() {
            Some(Action::KeepPostgres) => before.iter().map(|(_, r)| &r[..]).collect(),
            _ => w.all_new.iter().map(|r| &r[..]).collect(),
        };
        let sum = |rows: &mut dyn Iterator<Item = &[u8]>| {
            let mut c = verify::Checksum::default();
            for r in rows {
                c.add_row_by(&w.types, r, Canon::ByValue);
            }
            c
        };
        return sum(&mut expect.into_iter()) == sum(&mut after.iter().map(|(_, r)| &r[..]));
    }
    let was: HashMap<&[u8], &[u8]> = before.iter().map(|(k, r)| (&k[..], &r[..])).collect();
    let now: HashMap<&[u8], &[u8]> = after.iter().map(|(k, r)| (&k[..], &r[..])).collect();
    w.items.iter().zip(acts).all(|(item, act)| {
        let expect = match act {
            Action::KeepPostgres => was.get(&item.key_id[..]).copied(),
            Action::Delete => None,
            Action::Write | Action::Already => item.new.as_deref(),
        };
        match (now.get(&item.key_id[..]).copied(), expect) {
            (Some(a), Some(b)) => w.same(a, b),
            (None, None) => true,
            _ => false,
        }
    })
}

/// `INSERT … ON CONFLICT (key) DO UPDATE` from the table's rows to write.
fn upsert(w: &Work<'_>) -> String {
    let cols = w.t.column_list();
    let keys = w.keys.as_deref().unwrap_or_default();
    let set: Vec<String> =
        w.t.columns
            .iter()
            .enumerate()
            .filter(|(i, _)| !keys.contains(i))
            .map(|(_, c)| {
                let c = quote_pg(&c.target);
                format!("{c} = EXCLUDED.{c}")
            })
            .collect();
    let action = if set.is_empty() {
        "NOTHING".to_string()
    } else {
        format!("UPDATE SET {}", set.join(", "))
    };
    format!(
        "INSERT INTO {} ({cols}) OVERRIDING SYSTEM VALUE SELECT {cols} FROM pg_temp.dj2pg_n{} \
         ON CONFLICT ({}) DO {action};",
        w.t.target,
        w.index,
        key_list(w)
    )
}

/// Each changed table's sequences past the largest of: the column's maximum on
/// PostgreSQL (both sides' rows are there now), SQLite's AUTOINCREMENT counter, and the
/// sequence's own last value (ids the new app used and deleted are not reused).
fn sequences(work: &[Work<'_>]) -> String {
    let mut calls = Vec::new();
    for w in work {
        let t = w.t;
        for (col, seq) in &t.sequences {
            let counter = if t.pk.len() == 1 && t.target_of(&t.pk[0]) == col {
                t.sqlite_seq.unwrap_or(0)
            } else {
                0
            };
            let seq = crate::pg::quote_literal(seq);
            let last = format!(
                "greatest(coalesce((SELECT max({})::int8 FROM {}), 0), {counter}, \
                 coalesce(pg_sequence_last_value({seq}::regclass), 0))",
                quote_pg(col),
                t.target
            );
            calls.push(format!(
                "setval({seq}::regclass, greatest({last}, 1), {last} >= 1)"
            ));
        }
    }
    if calls.is_empty() {
        String::new()
    } else {
        format!("SELECT {};", calls.join(", "))
    }
}

/// Send COPY tuples.
fn copy_in(tx: &mut postgres::Transaction<'_>, sql: &str, rows: &[&[u8]]) -> Result<()> {
    let mut w = tx
        .copy_in(sql)
        .with_context(|| format!("could not send rows ({sql})"))?;
    let mut buf = Vec::with_capacity(1 << 16);
    buf.extend_from_slice(HEADER);
    for r in rows {
        buf.extend_from_slice(r);
        if buf.len() >= 1 << 20 {
            w.write_all(&buf)?;
            buf.clear();
        }
    }
    buf.extend_from_slice(&(-1i16).to_be_bytes());
    w.write_all(&buf)?;
    w.finish()
        .with_context(|| format!("could not send rows ({sql})"))?;
    Ok(())
}
