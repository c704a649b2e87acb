//! Bulk mode: inside a table's own load transaction, set aside what makes a row-by-row load
//! slow and put it back, checked as a whole, before the commit.
//!
//! Django's foreign keys are `DEFERRABLE INITIALLY DEFERRED`: each copied row queues a
//! trigger event that, at commit, looks its parent row up and locks it (`FOR KEY SHARE`) —
//! measured at 1M rows as about 60% of the server's work. Django also indexes every
//! foreign-key column (plus `LIKE` indexes), and keeping a random-order btree up to date row
//! by row costs far more than building it once sorted. So, in the task's transaction:
//!
//! 1. read the outgoing foreign keys (`pg_get_constraintdef`) and the plain indexes
//!    (`pg_get_indexdef`) of the task's tables, and drop them;
//! 2. `TRUNCATE` the tables (with their referencing tables, all still empty and waiting for
//!    this one) so that `COPY ... (FREEZE)` may write the rows already frozen (no hint-bit
//!    rewrite by the verification read or `ANALYZE`, and no WAL at `wal_level=minimal`);
//! 3. `COPY`;
//! 4. `CREATE INDEX` each index again, then `ALTER TABLE ... ADD CONSTRAINT` each foreign
//!    key with its exact definition: one set-based validation (a join) per constraint;
//! 5. commit.
//!
//! Everything is transactional DDL: a killed or failed task rolls back the drops with the
//! rows, so the schema is never left without a constraint and resume still needs no side
//! state. It needs no superuser (no `session_replication_role`, no `DISABLE TRIGGER`), only
//! ownership of the table, which the role that ran `migrate` has. Tables the role does not
//! own, partitions, inheritance trees and tables with inherited constraints load the plain
//! way (deferred checks at commit, indexes kept up to date), as before.
//!
//! What is kept as it is: primary keys and unique constraints (foreign keys depend on their
//! indexes, and they are cheap for ascending ids), check constraints, any index another
//! object depends on, indexes in a tablespace of their own, invalid, clustered or
//! replica-identity indexes, and anything with a comment.
//!
//! On a pipelined session ([`crate::pg::wire`]) all this is two round trips: `BEGIN` with
//! the catalog reading, then the drops, the `COPY` with its rows, the rebuilds and the
//! `COMMIT` as one query (see `batch::run_bulk`).
//!
//! Locks: dropping a foreign key takes `ACCESS EXCLUSIVE` on the referenced table until the
//! commit, and the in-transaction `TRUNCATE` takes it on the referencing tables. Children
//! only start after their parents committed, so these tables are never being loaded
//! themselves; but two tables that reference the same parent (or two parents of the same
//! child) would wait for each other. The scheduler therefore never runs two tasks whose
//! lock sets meet ([`locks_of`]); each worker takes the next task that does not conflict,
//! so nobody waits on a lock and no deadlock can form. A table in bulk mode is not split into
//! rowid slices (each slice would drop and re-validate the whole table's constraints).
//!
//! Why not drop every foreign key first and add them all back in a final phase: the drops
//! would have to commit before the loads, and a run killed in between would leave the schema
//! without them — resume would need to remember them somewhere. Per-table transactions
//! keep "each table is complete, or as it was" with nothing to remember.

use super::plan::Plan;
use crate::pg::wire::{Reply, ServerError, Wire};
use anyhow::{Context as _, Result};
use std::collections::BTreeSet;

/// Whether each planned table can load in bulk mode (in plan order), in one query.
/// Per planned table: whether it may load in bulk mode, and whether it has a pgvector
/// (HNSW/IVFFlat) index, which must be built after the load, never kept up to date row by
/// row (about 40x slower measured on 20k vectors of 384: benches/vectors.rs).
pub fn eligible(pg: &mut postgres::Client, plan: &Plan) -> Result<Vec<(bool, bool)>> {
    // A foreign key to a table outside the plan would lock a table the scheduler does not
    // know about: such tables load the plain way.
    let planned: Vec<&str> = plan.tables.iter().map(|t| t.target.as_str()).collect();
    let array = {
        let items: Vec<String> = planned
            .iter()
            .map(|n| crate::pg::quote_literal(n))
            .collect();
        format!("ARRAY[{}]::text[]", items.join(", "))
    };
    // A simple query (one round trip; a prepared one costs two).
    let sql = format!(
        "SELECT coalesce(c.relkind = 'r' AND NOT c.relispartition AND NOT c.relhassubclass \
               AND pg_has_role(c.relowner, 'USAGE') \
               AND NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid) \
               AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid \
                     AND k.contype = 'f' AND (k.coninhcount > 0 OR k.conparentid <> 0 \
                       OR k.confrelid <> ALL (SELECT t::regclass FROM unnest({array}) t))), \
               false)::text, \
               EXISTS (SELECT 1 FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid \
                 JOIN pg_am a ON a.oid = i.relam WHERE x.indrelid = c.oid \
                 AND a.amname IN ('hnsw', 'ivfflat'))::text \
             FROM unnest({array}) WITH ORDINALITY AS p(name, n) \
             JOIN pg_class c ON c.oid = p.name::regclass \
             ORDER BY p.n"
    );
    let rows: Vec<(bool, bool)> = pg
        .simple_query(&sql)
        .context("could not read the catalog entries of the target tables")?
        .into_iter()
        .filter_map(|m| match m {
            postgres::SimpleQueryMessage::Row(r) => {
                Some((r.get(0) == Some("true"), r.get(1) == Some("true")))
            }
            _ => None,
        })
        .collect();
    if rows.len() != planned.len() {
        anyhow::bail!(
            "the catalog lists {} of the {} target tables",
            rows.len(),
            planned.len()
        );
    }
    Ok(rows)
}

/// The tables a task of `group` locks beyond its own: the parents it references (dropping a
/// foreign key locks the referenced table) and, in bulk mode, the referencing tables its
/// `TRUNCATE` empties along. By target name.
pub fn locks_of(plan: &Plan, group: &[usize], truncate_too: &[String]) -> BTreeSet<String> {
    let mut set: BTreeSet<String> = group
        .iter()
        .flat_map(|&t| plan.tables[t].parents.iter())
        .filter(|p| !group.contains(p))
        .map(|&p| plan.tables[p].target.clone())
        .collect();
    set.extend(truncate_too.iter().cloned());
    set
}

/// What was set aside, to be put back before the commit.
#[derive(Debug, Default)]
pub struct SetAside {
    /// `CREATE INDEX ...` statements.
    indexes: Vec<String>,
    /// `(table, constraint name, definition)`.
    foreign_keys: Vec<(String, String, String)>,
}

/// Steps 1 and 2 on a pipelined session: `BEGIN` and the reading of the outgoing foreign
/// keys and plain indexes of `targets`, in one round trip. Returns what was found and the
/// statements that drop them — and, with `too` (every table referencing them, directly or
/// not, all known empty), empty those in this transaction when PostgreSQL sees no other
/// referencing table, which allows `COPY ... FREEZE` (the flag). The caller sends the
/// statements in front of its `COPY` (no round trip of their own).
pub fn set_aside(
    wire: &mut Wire,
    targets: &[&str],
    too: Option<&[String]>,
    keep_foreign_keys: bool,
) -> Result<(SetAside, Vec<String>, bool)> {
    let listed: Vec<&str> = targets
        .iter()
        .copied()
        .chain(too.unwrap_or_default().iter().map(String::as_str))
        .collect();
    let array = |names: &[&str]| {
        let items: Vec<String> = names.iter().map(|n| crate::pg::quote_literal(n)).collect();
        format!("ARRAY[{}]::text[]", items.join(", "))
    };
    let (own, all) = (array(targets), array(&listed));
    let sql = format!(
        "BEGIN; \
         SELECT 'f', k.conrelid::regclass::text, k.conname::text, pg_get_constraintdef(k.oid) \
           FROM pg_constraint k \
          WHERE k.conrelid = ANY (SELECT t::regclass FROM unnest({own}) t) \
            AND k.contype = 'f' \
            AND NOT EXISTS (SELECT 1 FROM pg_description d \
                  WHERE d.objoid = k.oid AND d.classoid = 'pg_constraint'::regclass) \
         UNION ALL \
         SELECT 'i', x.indrelid::regclass::text, x.indexrelid::regclass::text, \
                pg_get_indexdef(x.indexrelid) \
           FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid \
          WHERE x.indrelid = ANY (SELECT t::regclass FROM unnest({own}) t) \
            AND x.indisvalid AND x.indisready \
            AND NOT x.indisprimary AND NOT x.indisexclusion AND NOT x.indisclustered \
            AND NOT x.indisreplident AND i.reltablespace = 0 \
            AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid) \
            AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.refclassid = 'pg_class'::regclass \
                  AND d.refobjid = x.indexrelid) \
            AND NOT EXISTS (SELECT 1 FROM pg_description d \
                  WHERE d.objoid = x.indexrelid AND d.classoid = 'pg_class'::regclass) \
         UNION ALL \
         SELECT 'o', NULL, NULL, count(*)::text FROM pg_constraint k \
          WHERE k.contype = 'f' \
            AND k.confrelid = ANY (SELECT t::regclass FROM unnest({all}) t) \
            AND k.conrelid <> ALL (SELECT t::regclass FROM unnest({all}) t) \
         ORDER BY 1, 2, 3"
    );
    let what = || {
        format!(
            "could not read the foreign keys and indexes of {} to load them in bulk",
            targets.join(", ")
        )
    };
    wire.query(&sql)?;
    if let Reply::Failed(e) = wire.statement()? {
        wire.finish_query()?;
        return Err(anyhow::anyhow!("{}: {e}", what()));
    }
    let rows = match wire.rows()? {
        Ok(rows) => rows,
        Err(e) => {
            wire.finish_query()?;
            return Err(anyhow::anyhow!("{}: {e}", what()));
        }
    };
    if let Some(e) = wire.end_query()? {
        return Err(anyhow::anyhow!("{}: {e}", what()));
    }
    let field = |r: &Vec<Option<String>>, i: usize| r.get(i).cloned().flatten().unwrap_or_default();
    let mut out = SetAside::default();
    let mut drops = Vec::new();
    let mut others = 0i64;
    for r in &rows {
        match field(r, 0).as_str() {
            "f" if keep_foreign_keys => {}
            "f" => {
                let (t, name, def) = (field(r, 1), field(r, 2), field(r, 3));
                drops.push(format!(
                    "ALTER TABLE {t} DROP CONSTRAINT {}",
                    super::schema::quote_pg(&name)
                ));
                out.foreign_keys.push((t, name, def));
            }
            "i" => {
                drops.push(format!("DROP INDEX {}", field(r, 2)));
                out.indexes.push(field(r, 3));
            }
            _ => others = field(r, 3).parse().unwrap_or(1),
        }
    }
    // Indexes first: a foreign key's drop does not touch them.
    drops.sort_by_key(|d| !d.starts_with("DROP INDEX"));
    let truncate = too.is_some() && others == 0;
    if truncate {
        drops.push(format!("TRUNCATE {}", listed.join(", ")));
    }
    Ok((out, drops, truncate))
}

/// Step 4: the statements that build the indexes again and add the foreign keys back
/// (each validated at once), sent behind the `COPY`.
pub fn put_back_sql(set: &SetAside) -> Vec<String> {
    let mut sql = Vec::new();
    if set.indexes.iter().any(|i| is_vector_index(i)) {
        // pgvector builds an HNSW graph fast only while it fits in maintenance_work_mem
        // (it says so in a NOTICE, then slows down by an order of magnitude). Raise it for
        // this transaction only, and never lower a server that already allows more.
        sql.push(format!(
            "DO $$BEGIN IF pg_size_bytes(current_setting('maintenance_work_mem')) < \
             pg_size_bytes('{VECTOR_INDEX_MEM}') THEN SET LOCAL maintenance_work_mem = \
             '{VECTOR_INDEX_MEM}'; END IF; END$$"
        ));
    }
    sql.extend(set.indexes.iter().cloned());
    for (t, name, def) in &set.foreign_keys {
        sql.push(format!(
            "ALTER TABLE {t} ADD CONSTRAINT {} {def}",
            super::schema::quote_pg(name)
        ));
    }
    sql
}

/// The `maintenance_work_mem` an HNSW/IVFFlat index is built with (at least).
pub const VECTOR_INDEX_MEM: &str = "256MB";

/// Whether `CREATE INDEX …` is a pgvector index, built after the load.
fn is_vector_index(def: &str) -> bool {
    def.contains(" USING hnsw ") || def.contains(" USING ivfflat ")
}

/// What to tell the user when putting an index or key back failed.
pub fn put_back_error(set: &SetAside, e: &ServerError) -> anyhow::Error {
    let what = match &e.constraint {
        Some(c) => match set.foreign_keys.iter().find(|(_, name, _)| name == c) {
            Some((t, name, def)) => {
                format!("foreign key {name} of {t} does not hold for the copied rows ({def})")
            }
            None => format!("constraint {c} does not hold for the copied rows"),
        },
        None => "the indexes and foreign keys could not be put back after the load".into(),
    };
    anyhow::anyhow!("{what}: {e}")
}
