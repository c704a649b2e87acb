//! The raw floor's schema: the target's foreign keys, unique constraints and other
//! non-primary-key indexes taken off before the raw `\copy` run and put back after it
//! (untimed), so the runs after it see Django's schema again.
//!
//! Primary keys and CHECK constraints stay: a raw load still has its primary key, and
//! Django's checks (`>= 0` of positive integer fields) cost next to nothing.

use anyhow::{Context, Result, bail};
use postgres::Client;

/// What [`strip`] took off, as the DDL that puts it back.
pub struct Stripped {
    /// (table as regclass text, constraint, definition) of foreign keys.
    fks: Vec<(String, String, String)>,
    /// The same for unique (and exclusion) constraints.
    uniques: Vec<(String, String, String)>,
    /// (index name, CREATE INDEX statement) of indexes backing no constraint.
    indexes: Vec<(String, String)>,
}

impl Stripped {
    /// "3 foreign keys, 2 unique constraints, 9 indexes".
    pub fn describe(&self) -> String {
        format!(
            "{} foreign keys, {} unique constraints, {} other indexes",
            self.fks.len(),
            self.uniques.len(),
            self.indexes.len()
        )
    }
}

fn constraints(pg: &mut Client, types: &[&str]) -> Result<Vec<(String, String, String)>> {
    let types: Vec<String> = types.iter().map(|t| t.to_string()).collect();
    Ok(pg
        .query(
            "SELECT c.conrelid::regclass::text, c.conname::text, pg_get_constraintdef(c.oid) \
             FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace \
             WHERE n.nspname = 'public' AND c.contype::text = ANY($1) \
             ORDER BY 1, 2",
            &[&types],
        )?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
}

fn standalone_indexes(pg: &mut Client) -> Result<Vec<(String, String)>> {
    Ok(pg
        .query(
            "SELECT ci.relname::text, pg_get_indexdef(i.indexrelid) \
             FROM pg_index i JOIN pg_class ci ON ci.oid = i.indexrelid \
             JOIN pg_namespace n ON n.oid = ci.relnamespace \
             WHERE n.nspname = 'public' AND NOT i.indisprimary \
             AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid \
                             AND c.conrelid = i.indrelid AND c.contype IN ('p', 'u', 'x')) \
             ORDER BY 1",
            &[],
        )?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}

/// Drop every foreign key, unique constraint and standalone index of the public schema
/// (as `app`, who owns Django's tables), in one transaction.
pub fn strip(pg: &mut Client) -> Result<Stripped> {
    let stripped = Stripped {
        fks: constraints(pg, &["f"])?,
        uniques: constraints(pg, &["u", "x"])?,
        indexes: standalone_indexes(pg)?,
    };
    let mut sql = String::from("BEGIN;\n");
    // Foreign keys first: one may rest on a unique constraint.
    for (table, name, _) in stripped.fks.iter().chain(&stripped.uniques) {
        sql.push_str(&format!(
            "ALTER TABLE {table} DROP CONSTRAINT {};\n",
            crate::ident(name)
        ));
    }
    for (name, _) in &stripped.indexes {
        sql.push_str(&format!("DROP INDEX {};\n", crate::ident(name)));
    }
    sql.push_str("COMMIT;\n");
    pg.batch_execute(&sql)
        .context("drop the foreign keys and indexes for the raw floor")?;
    Ok(stripped)
}

/// Put back what [`strip`] took off (indexes, unique constraints, then foreign keys) and
/// check that the schema has them all again.
pub fn restore(pg: &mut Client, s: &Stripped) -> Result<()> {
    let mut sql = String::from("BEGIN;\n");
    for (_, def) in &s.indexes {
        sql.push_str(&format!("{def};\n"));
    }
    for (table, name, def) in s.uniques.iter().chain(&s.fks) {
        sql.push_str(&format!(
            "ALTER TABLE {table} ADD CONSTRAINT {} {def};\n",
            crate::ident(name)
        ));
    }
    sql.push_str("COMMIT;\n");
    pg.batch_execute(&sql)
        .context("put back the foreign keys and indexes after the raw floor")?;
    let back = (
        constraints(pg, &["f"])?.len(),
        constraints(pg, &["u", "x"])?.len(),
        standalone_indexes(pg)?.len(),
    );
    if back != (s.fks.len(), s.uniques.len(), s.indexes.len()) {
        bail!(
            "after the raw floor the schema has {} foreign keys, {} unique constraints and {} \
             indexes, not the {} it had",
            back.0,
            back.1,
            back.2,
            s.describe()
        );
    }
    Ok(())
}
