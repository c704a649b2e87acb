//! The local half of applying a sync: each changed row read from both sides of the SQLite
//! file (the snapshot PostgreSQL matches, and the live file) and encoded as the copy encodes
//! it; then, with PostgreSQL's version in hand ([`super::session`]), each key's fate.
//!
//! Conflicts are found by content, never by time: PostgreSQL's row for a changed key is
//! hashed the way the copy's verification hashes rows ([`verify`]) and compared with the
//! snapshot's version (what the copy or the last sync wrote) and with the new one. Equal to
//! the old: ours to change. Equal to the new: already applied (a sync that committed but did
//! not record it; running again is harmless). Anything else was written on PostgreSQL by
//! someone else: a conflict, never overwritten unless asked.

use super::super::Context;
use super::super::plan::TablePlan;
use super::super::refcheck::RefCheck;
use super::super::rows::{self, RowOutcome};
use super::super::schema::{quote_pg, quote_sqlite};
use super::super::types::PgType;
use super::super::verify::{self, Canon};
use super::diff::{Key, TableDiff, key_positions};
pub use crate::data::sync::{Applied, Conflict, OnConflict, TableResult};
use anyhow::{Result, bail};
use rusqlite::Connection;
use rusqlite::types::Value;
use std::collections::HashMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Insert,
    Update,
    Delete,
}

/// What becomes of one key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Action {
    Write,
    Delete,
    Already,
    KeepPostgres,
}

/// One changed key, with both versions as COPY tuples.
pub(super) struct Item {
    pub kind: Kind,
    pub label: String,
    pub key_id: Vec<u8>,
    pub key_tuple: Vec<u8>,
    pub old: Option<Vec<u8>>,
    pub new: Option<Vec<u8>>,
    /// The live row as SQLite holds it (every column), for the snapshot; `None`: deleted.
    pub raw: Option<Vec<Value>>,
    /// The key as SQLite holds it.
    pub sqlite_key: Key,
}

/// One changed table, read locally.
pub(super) struct Work {
    pub t: TablePlan,
    pub types: Vec<PgType>,
    /// `None`: no primary key; reloaded whole from `all_new`.
    pub keys: Option<Vec<usize>>,
    pub items: Vec<Item>,
    pub all_old: Vec<Vec<u8>>,
    pub all_new: Vec<Vec<u8>>,
    /// Every live row as SQLite holds it (tables reloaded whole), for the snapshot.
    pub all_raw: Vec<Vec<Value>>,
    /// The SQLite table's columns, in the order of the `raw` values.
    pub raw_columns: Vec<String>,
}

impl Work {
    pub fn type_refs(&self) -> Vec<&PgType> {
        self.types.iter().collect()
    }

    fn same(&self, a: &[u8], b: &[u8]) -> bool {
        let types = self.type_refs();
        verify::row_hash(&types, a, Canon::Exact) == verify::row_hash(&types, b, Canon::Exact)
            || (verify::has_json(&self.t)
                && verify::row_hash(&types, a, Canon::ByValue)
                    == verify::row_hash(&types, b, Canon::ByValue))
    }
}

/// Read the changed rows of one table from both sides (`old`: the snapshot; `main`: the
/// live file, in the caller's read transaction), as COPY tuples.
pub(super) fn read_local(
    cx: &Context,
    conn: &Connection,
    t: &TablePlan,
    d: &TableDiff,
) -> Result<Work> {
    let mut w = Work {
        t: t.clone(),
        types: t.columns.iter().map(|c| c.ty.clone()).collect(),
        keys: key_positions(t),
        items: Vec::new(),
        all_old: Vec::new(),
        all_new: Vec::new(),
        all_raw: Vec::new(),
        raw_columns: Vec::new(),
    };
    {
        let stmt = conn.prepare_cached(&format!("SELECT * FROM main.{}", quote_sqlite(&t.name)))?;
        w.raw_columns = stmt.column_names().iter().map(|c| c.to_string()).collect();
    }
    let Some(pos) = w.keys.clone() else {
        w.all_old = read_all(cx, conn, "old", t)?
            .into_iter()
            .map(|r| r.0)
            .collect();
        for (tuple, raw) in read_all(cx, conn, "main", t)? {
            w.all_new.push(tuple);
            w.all_raw.push(raw);
        }
        return Ok(w);
    };
    let types = w.type_refs();
    let lists = [
        (Kind::Insert, &d.inserted),
        (Kind::Update, &d.updated),
        (Kind::Delete, &d.deleted),
    ];
    let mut items = Vec::new();
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
            let Some((label, tuple, _)) = new.as_ref().or(old.as_ref()) else {
                continue;
            };
            items.push(Item {
                kind,
                label: label.clone(),
                key_id: key_id(&types, &pos, tuple),
                key_tuple: sub_tuple(&pos, tuple),
                old: old.map(|o| o.1),
                raw: new.as_ref().map(|n| n.2.clone()),
                new: new.map(|n| n.1),
                sqlite_key: key.clone(),
            });
        }
    }
    w.items = items;
    Ok(w)
}

/// `SELECT <key>, <copied columns>, * FROM db.t`: what the copy encodes, then every column
/// as SQLite holds it.
fn select_sql(db: &str, t: &TablePlan) -> String {
    let cols: Vec<String> = t.columns.iter().map(|c| quote_sqlite(&c.name)).collect();
    format!(
        "SELECT {}, {}, * FROM {db}.{}",
        t.key_expr(),
        cols.join(", "),
        quote_sqlite(&t.name)
    )
}

type Fetched = (String, Vec<u8>, Vec<Value>);

/// One row by its key: its key as text, converted as the copy converts it, and raw.
fn fetch(
    cx: &Context,
    conn: &Connection,
    db: &str,
    t: &TablePlan,
    key: &Key,
) -> Result<Option<Fetched>> {
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
    Ok(Some(encode(cx, t, row)?))
}

fn encode(cx: &Context, t: &TablePlan, row: &rusqlite::Row<'_>) -> Result<Fetched> {
    let label = rows::key_text(row.get_ref(0)?);
    let mut buf = Vec::new();
    let raw = (t.columns.len() + 1..row.as_ref().column_count())
        .map(|i| row.get::<_, Value>(i))
        .collect::<rusqlite::Result<Vec<_>>>()?;
    match rows::encode_row(
        t,
        row,
        &cx.zone,
        false,
        &RefCheck::default(),
        None,
        &mut buf,
    )? {
        RowOutcome::Written(_) => Ok((label, buf, raw)),
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

/// Every row of a table without a primary key: encoded, and raw.
fn read_all(
    cx: &Context,
    conn: &Connection,
    db: &str,
    t: &TablePlan,
) -> Result<Vec<(Vec<u8>, Vec<Value>)>> {
    let mut out = Vec::new();
    if t.columns.is_empty() {
        return Ok(out);
    }
    let mut stmt = conn.prepare(&select_sql(db, t))?;
    let mut found = stmt.query([])?;
    while let Some(row) = found.next()? {
        let (_, tuple, raw) = encode(cx, t, row)?;
        out.push((tuple, raw));
    }
    Ok(out)
}

/// The fields of a COPY tuple (`None`: NULL).
pub(super) fn fields(tuple: &[u8]) -> Vec<Option<&[u8]>> {
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
pub(super) fn key_id(types: &[&PgType], pos: &[usize], tuple: &[u8]) -> Vec<u8> {
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

pub(super) fn key_list(w: &Work) -> String {
    w.keys
        .iter()
        .flatten()
        .map(|&p| quote_pg(&w.t.columns[p].target))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn key_match(w: &Work, a: &str, b: &str) -> String {
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

/// Decide each key's fate from PostgreSQL's rows; conflicts are added to `conflicts`.
pub(super) fn decide(
    w: &Work,
    pg_rows: &[(Vec<u8>, Vec<u8>)],
    on_conflict: OnConflict,
    conflicts: &mut Vec<Conflict>,
) -> (Vec<Action>, TableResult) {
    let mut result = TableResult {
        table: w.t.name.clone(),
        ..TableResult::default()
    };
    if w.keys.is_none() {
        let types = w.type_refs();
        let holds = |rows: &[Vec<u8>]| {
            let mut a: Vec<u128> = rows
                .iter()
                .map(|r| verify::row_hash(&types, r, Canon::ByValue))
                .collect();
            let mut b: Vec<u128> = pg_rows
                .iter()
                .map(|(_, r)| verify::row_hash(&types, r, Canon::ByValue))
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
pub(super) fn verified(
    w: &Work,
    acts: &[Action],
    before: &[(Vec<u8>, Vec<u8>)],
    after: &[(Vec<u8>, Vec<u8>)],
) -> bool {
    if w.keys.is_none() {
        let types = w.type_refs();
        let expect: Vec<&[u8]> = match acts.first() {
            Some(Action::KeepPostgres) => before.iter().map(|(_, r)| &r[..]).collect(),
            _ => w.all_new.iter().map(|r| &r[..]).collect(),
        };
        let sum = |rows: &mut dyn Iterator<Item = &[u8]>| {
            let mut c = verify::Checksum::default();
            for r in rows {
                c.add_row_by(&types, r, Canon::ByValue);
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
pub(super) fn upsert(w: &Work, source: &str, filter: &str) -> String {
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
        "INSERT INTO {} ({cols}) OVERRIDING SYSTEM VALUE SELECT {cols} FROM {source} n \
         WHERE NOT n.dj2pg_del{filter} ON CONFLICT ({}) DO {action}",
        w.t.target,
        key_list(w)
    )
}

/// Each changed table's sequences past the largest of: the column's maximum on
/// PostgreSQL (both sides' rows are there now), SQLite's AUTOINCREMENT counter, and the
/// sequence's own last value (ids the new app used and deleted are not reused).
pub(super) fn sequences(work: &[Work]) -> String {
    let mut calls = Vec::new();
    for w in work {
        let t = &w.t;
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

/// Write the rows a sync moved into the snapshot, so that it is again the SQLite state
/// PostgreSQL matches (rows kept as PostgreSQL had them included: SQLite's change to them
/// was seen and decided on). One transaction: all of it or none.
pub(super) fn write_snapshot(snapshot: &std::path::Path, work: &[Work]) -> Result<()> {
    let mut conn = Connection::open(snapshot)?;
    // The rows come from the live file, where they held together; in between (a parent
    // replaced before its children) they may not.
    // Not synchronous: the journal still makes the transaction atomic against a crash of
    // this process; only the operating system failing in these milliseconds could leave
    // the snapshot behind PostgreSQL, which the next sync reads as changes already
    // applied ("already"), never as conflicts.
    conn.execute_batch("PRAGMA foreign_keys = OFF; PRAGMA synchronous = OFF")?;
    let tx = conn.transaction()?;
    for w in work {
        let table = quote_sqlite(&w.t.name);
        let cols: Vec<String> = w.raw_columns.iter().map(|c| quote_sqlite(c)).collect();
        let marks: Vec<String> = (1..=cols.len()).map(|i| format!("?{i}")).collect();
        let mut put = tx.prepare(&format!(
            "INSERT OR REPLACE INTO {table} ({}) VALUES ({})",
            cols.join(", "),
            marks.join(", ")
        ))?;
        if w.keys.is_none() {
            tx.execute(&format!("DELETE FROM {table}"), [])?;
            for raw in &w.all_raw {
                put.execute(rusqlite::params_from_iter(raw.iter()))?;
            }
            continue;
        }
        let cond: Vec<String> =
            w.t.pk
                .iter()
                .enumerate()
                .map(|(i, k)| format!("{} = ?{}", quote_sqlite(k), i + 1))
                .collect();
        let mut delete =
            tx.prepare(&format!("DELETE FROM {table} WHERE {}", cond.join(" AND ")))?;
        for item in &w.items {
            match (&item.raw, item.kind) {
                (Some(raw), _) => {
                    put.execute(rusqlite::params_from_iter(raw.iter()))?;
                }
                (None, Kind::Delete) => {
                    delete.execute(rusqlite::params_from_iter(item.sqlite_key.iter()))?;
                }
                _ => {}
            }
        }
    }
    tx.commit()?;
    Ok(())
}
