//! The PostgreSQL half of applying a sync, in one transaction and three round trips after
//! logging in, whatever the number of changed tables ([`Wire`]'s pipelined simple queries:
//! `COPY … FROM STDIN` data sent right behind the statements):
//!
//! 1. `BEGIN`, one temporary table per changed table holding its rows to write and the keys
//!    to delete (one `COPY` each), and PostgreSQL's current version of every changed key;
//! 2. (the conflicts decided locally) deletes children-first, upserts parents-first, whole
//!    reloads, sequences advanced, and every changed key read back;
//! 3. (verified locally) `COMMIT`.
//!
//! With conflicts and no decision, or a failed verification, the session is closed without a
//! commit: PostgreSQL rolls the transaction back and nothing changed.

use super::super::Context;
use super::super::verify;
use super::apply::{self, Action, Applied, OnConflict, Work};
use crate::pg::wire::{Reply, Wire};
use anyhow::{Context as _, Result, anyhow, bail};
use std::collections::HashMap;

/// The sync's sessions: no statement timeout may cut it, and the commit is durable.
const OPTIONS: &str = "-c TimeZone=UTC -c statement_timeout=0 -c lock_timeout=0 \
     -c idle_in_transaction_session_timeout=0";

const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
const TRAILER: &[u8] = &[0xff, 0xff];

/// PostgreSQL's rows, by key id (empty for tables compared whole).
type PgRows = Vec<(Vec<u8>, Vec<u8>)>;

/// What one statement of a batch answers.
enum Part {
    Done,
    /// A `COPY … TO STDOUT` of the rows of `work[i]`.
    Out(usize),
}

/// Statements sent as one simple query, with the `COPY … FROM STDIN` data behind them.
#[derive(Default)]
struct Batch {
    sql: String,
    parts: Vec<Part>,
    data: Vec<Vec<u8>>,
}

impl Batch {
    fn stmt(&mut self, sql: &str) {
        self.sql.push_str(sql);
        self.sql.push_str(";\n");
        self.parts.push(Part::Done);
    }

    fn copy_in<'a>(&mut self, sql: &str, rows: impl Iterator<Item = &'a [u8]>) {
        let mut data = HEADER.to_vec();
        for r in rows {
            data.extend_from_slice(r);
        }
        data.extend_from_slice(TRAILER);
        self.stmt(sql);
        self.data.push(data);
    }

    fn copy_out(&mut self, sql: &str, work: usize) {
        self.sql.push_str(sql);
        self.sql.push_str(";\n");
        self.parts.push(Part::Out(work));
    }

    /// Send, wait, and return the rows each `COPY … TO STDOUT` sent.
    fn run(self, wire: &mut Wire, work: &[Work]) -> Result<HashMap<usize, PgRows>> {
        wire.query(&self.sql)?;
        for d in &self.data {
            wire.copy_data(d)?;
            wire.copy_done()?;
        }
        wire.flush()?;
        let mut out = HashMap::new();
        for part in &self.parts {
            match part {
                Part::Done => {
                    if let Reply::Failed(e) = wire.statement()? {
                        wire.finish_query()?;
                        bail!("{e}");
                    }
                }
                Part::Out(i) => {
                    let w = &work[*i];
                    let types = w.type_refs();
                    let mut rows = Vec::new();
                    match wire.copy_out()? {
                        Err(e) => {
                            wire.finish_query()?;
                            bail!("could not read {} on PostgreSQL: {e}", w.t.name);
                        }
                        Ok(mut reader) => {
                            verify::for_each_tuple(&mut reader, |row| {
                                let id = match &w.keys {
                                    Some(pos) => apply::key_id(&types, pos, row),
                                    None => Vec::new(),
                                };
                                rows.push((id, row.to_vec()))
                            })?;
                            reader.finish()?;
                        }
                    }
                    out.insert(*i, rows);
                }
            }
        }
        if let Some(e) = wire.end_query()? {
            bail!("{e}");
        }
        Ok(out)
    }
}

/// The sync's session (login: a few round trips; nothing else is sent yet).
pub(super) fn connect(cx: &Context) -> Result<Wire> {
    let options = cx.config.startup_options(OPTIONS);
    Wire::connect(&cx.config, cx.password.as_ref(), &options)
        .map_err(|e| anyhow!("could not connect to PostgreSQL for the sync: {e:#}"))
}

/// Apply the changes read into `work` (in plan order: parents first); verify; commit.
/// Returns what was done and the round trips the session waited for in all.
pub(super) fn apply(
    wire: &mut Wire,
    work: &[Work],
    on_conflict: OnConflict,
) -> Result<(Applied, u64)> {
    let names = work
        .iter()
        .map(|w| w.t.name.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let before = first_batch(work)
        .run(wire, work)
        .with_context(|| format!("could not read the changed rows of {names} on PostgreSQL"))?;
    let mut applied = Applied::default();
    let mut actions = Vec::new();
    for (i, w) in work.iter().enumerate() {
        let pg_rows = before.get(&i).map_or(&[][..], |r| &r[..]);
        let (acts, result) = apply::decide(w, pg_rows, on_conflict, &mut applied.conflicts);
        actions.push(acts);
        applied.tables.push(result);
    }
    if !applied.conflicts.is_empty() && on_conflict == OnConflict::Stop {
        // Closing without a commit rolls back: nothing was written anyway.
        return Ok((applied, wire.round_trips()));
    }
    let after = second_batch(work, &actions)
        .run(wire, work)
        .with_context(|| format!("could not apply the changes to {names} (nothing was changed)"))?;
    let failed: Vec<&str> = work
        .iter()
        .enumerate()
        .filter(|(i, w)| {
            let none = Vec::new();
            !apply::verified(
                w,
                &actions[*i],
                before.get(i).unwrap_or(&none),
                after.get(i).unwrap_or(&none),
            )
        })
        .map(|(_, w)| w.t.name.as_str())
        .collect();
    if !failed.is_empty() {
        bail!(
            "verification failed for {} after applying the changes: rolled back, nothing was changed",
            failed.join(", ")
        );
    }
    wire.execute("COMMIT")
        .context("could not commit the sync (nothing was changed)")?;
    applied.committed = true;
    Ok((applied, wire.round_trips()))
}

fn temp(kind: &str, i: usize) -> String {
    format!("pg_temp.dj2pg_{kind}{i}")
}

/// `BEGIN`, the changed rows and keys sent, PostgreSQL's version of them read.
fn first_batch(work: &[Work]) -> Batch {
    let mut b = Batch::default();
    b.stmt("BEGIN");
    for (i, w) in work.iter().enumerate() {
        if w.keys.is_none() {
            continue;
        }
        b.stmt(&format!(
            "CREATE TEMP TABLE dj2pg_n{i} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA",
            w.t.column_list(),
            w.t.target
        ));
        b.stmt(&format!(
            "ALTER TABLE {} ADD COLUMN dj2pg_del boolean",
            temp("n", i)
        ));
        let n = w.t.columns.len();
        let tuples: Vec<Vec<u8>> = w.items.iter().map(|item| row_or_key(w, item, n)).collect();
        b.copy_in(
            &format!("COPY {} FROM STDIN (FORMAT binary)", temp("n", i)),
            tuples.iter().map(|t| &t[..]),
        );
    }
    for (i, w) in work.iter().enumerate() {
        b.copy_out(&read_sql(w, i), i);
    }
    b
}

/// One item as a row of its temporary table: the new row, or (a delete) only its key;
/// then `dj2pg_del`.
fn row_or_key(w: &Work, item: &apply::Item, n: usize) -> Vec<u8> {
    let mut out = ((n + 1) as i16).to_be_bytes().to_vec();
    let fields = match &item.new {
        Some(row) => apply::fields(row),
        None => {
            let key = apply::fields(&item.key_tuple);
            let mut f = vec![None; n];
            for (k, &p) in w.keys.iter().flatten().enumerate() {
                f[p] = key.get(k).copied().flatten();
            }
            f
        }
    };
    for f in fields {
        match f {
            None => out.extend_from_slice(&(-1i32).to_be_bytes()),
            Some(b) => {
                out.extend_from_slice(&(b.len() as i32).to_be_bytes());
                out.extend_from_slice(b);
            }
        }
    }
    out.extend_from_slice(&1i32.to_be_bytes());
    out.push(u8::from(item.new.is_none()));
    out
}

/// PostgreSQL's rows for the changed keys of `w`, or every row of a table compared whole.
fn read_sql(w: &Work, i: usize) -> String {
    if w.keys.is_none() {
        return verify::read_back_sql(&w.t)
            .trim_end_matches(';')
            .to_string();
    }
    let cols: Vec<String> =
        w.t.columns
            .iter()
            .map(|c| format!("t.{}", super::super::schema::quote_pg(&c.target)))
            .collect();
    format!(
        "COPY (SELECT {} FROM {} t JOIN {} k USING ({})) TO STDOUT (FORMAT binary)",
        cols.join(", "),
        w.t.target,
        temp("n", i),
        apply::key_list(w)
    )
}

/// The decided changes: keys left alone listed, deletes children-first, writes
/// parents-first, sequences, then every changed key read back.
fn second_batch(work: &[Work], actions: &[Vec<Action>]) -> Batch {
    let mut b = Batch::default();
    let mut skip = vec![false; work.len()];
    for (i, (w, acts)) in work.iter().zip(actions).enumerate() {
        let left: Vec<&[u8]> = w
            .items
            .iter()
            .zip(acts)
            .filter(|(_, a)| matches!(a, Action::Already | Action::KeepPostgres))
            .map(|(item, _)| &item.key_tuple[..])
            .collect();
        if w.keys.is_none() || left.is_empty() {
            continue;
        }
        skip[i] = true;
        b.stmt(&format!(
            "CREATE TEMP TABLE dj2pg_s{i} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA",
            apply::key_list(w),
            w.t.target
        ));
        b.copy_in(
            &format!("COPY {} FROM STDIN (FORMAT binary)", temp("s", i)),
            left.into_iter(),
        );
    }
    let unless_left = |w: &Work, i: usize, alias: &str| {
        if skip[i] {
            format!(
                " AND NOT EXISTS (SELECT 1 FROM {} s WHERE {})",
                temp("s", i),
                apply::key_match(w, "s", alias)
            )
        } else {
            String::new()
        }
    };
    let writes = |acts: &[Action]| acts.contains(&Action::Write);
    for (i, (w, acts)) in work.iter().zip(actions).enumerate().rev() {
        if w.keys.is_none() {
            if writes(acts) {
                b.stmt(&format!("DELETE FROM {}", w.t.target));
            }
        } else if acts.contains(&Action::Delete) {
            b.stmt(&format!(
                "DELETE FROM {} t USING {} d WHERE d.dj2pg_del AND {}{}",
                w.t.target,
                temp("n", i),
                apply::key_match(w, "t", "d"),
                unless_left(w, i, "d")
            ));
        }
    }
    for (i, (w, acts)) in work.iter().zip(actions).enumerate() {
        if !writes(acts) {
            continue;
        }
        if w.keys.is_none() {
            b.copy_in(&w.t.copy_in_sql(false), w.all_new.iter().map(|r| &r[..]));
        } else {
            b.stmt(&apply::upsert(w, &temp("n", i), &unless_left(w, i, "n")));
        }
    }
    let seq = apply::sequences(work);
    if !seq.is_empty() {
        b.stmt(seq.trim_end_matches(';'));
    }
    for (i, w) in work.iter().enumerate() {
        b.copy_out(&read_sql(w, i), i);
    }
    b
}
