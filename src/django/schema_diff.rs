//! The schema the fresh migrations produce (the dry run's scratch SQLite file) against the
//! schema of the user's data: what would not fit.
//!
//! Both files are opened with `SQLITE_OPEN_READ_ONLY`: SQLite itself refuses any write, so
//! the comparison can never change the user's data. `sqlite_*` tables and
//! `django_migrations` (the target keeps the rows its own `migrate` wrote) are left out.

use crate::data::commands::{SchemaDiff, SchemaProblem};
use crate::django::sqlite::open_read_only;
use anyhow::{Context, Result};
use rusqlite::Connection;
use std::collections::BTreeMap;
use std::path::Path;

/// One column as `PRAGMA table_info` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Column {
    name: String,
    decl_type: String,
    not_null: bool,
    has_default: bool,
    primary_key: bool,
}

/// Compare the fresh schema in `fresh` with the data in `data`, both opened read-only.
pub fn compare_schemas(fresh: &Path, data: &Path) -> Result<SchemaDiff> {
    let new = open_read_only(fresh).context("could not open the dry run's scratch database")?;
    let old = open_read_only(data)?;
    let new_tables = tables(&new).with_context(|| format!("reading {}", fresh.display()))?;
    let old_tables = tables(&old).with_context(|| format!("reading {}", data.display()))?;
    let mut diff = SchemaDiff::default();
    for name in new_tables.keys() {
        if !old_tables.contains_key(name) {
            diff.new_tables.push(name.clone());
        }
    }
    for (table, old_cols) in &old_tables {
        let rows = count(&old, table, None).with_context(|| {
            format!("could not count the rows of {table} in {}", data.display())
        })?;
        let Some(new_cols) = new_tables.get(table) else {
            diff.problems.push(SchemaProblem::TableMissing {
                table: table.clone(),
                rows,
            });
            continue;
        };
        diff.tables_compared += 1;
        for oc in old_cols {
            match new_cols.iter().find(|c| same_name(&c.name, &oc.name)) {
                None => {
                    let non_null_rows = if rows == 0 {
                        0
                    } else {
                        count(
                            &old,
                            table,
                            Some(&format!("{} IS NOT NULL", quote(&oc.name))),
                        )?
                    };
                    diff.problems.push(SchemaProblem::ColumnMissing {
                        table: table.clone(),
                        column: oc.name.clone(),
                        non_null_rows,
                    });
                }
                Some(nc) => {
                    if normalize_type(&nc.decl_type) != normalize_type(&oc.decl_type) {
                        diff.problems.push(SchemaProblem::TypeChanged {
                            table: table.clone(),
                            column: oc.name.clone(),
                            old_type: oc.decl_type.clone(),
                            new_type: nc.decl_type.clone(),
                        });
                    }
                    if nc.not_null && !oc.not_null && !oc.primary_key && rows > 0 {
                        let null_rows =
                            count(&old, table, Some(&format!("{} IS NULL", quote(&oc.name))))?;
                        if null_rows > 0 {
                            diff.problems.push(SchemaProblem::NullsInNotNull {
                                table: table.clone(),
                                column: oc.name.clone(),
                                null_rows,
                            });
                        }
                    }
                }
            }
        }
        for nc in new_cols {
            let absent = !old_cols.iter().any(|c| same_name(&c.name, &nc.name));
            if absent && nc.not_null && !nc.has_default && rows > 0 {
                diff.problems.push(SchemaProblem::NotNullUnfilled {
                    table: table.clone(),
                    column: nc.name.clone(),
                    column_type: nc.decl_type.clone(),
                    rows,
                });
            }
        }
    }
    Ok(diff)
}

/// User tables and their columns, by name.
fn tables(conn: &Connection) -> Result<BTreeMap<String, Vec<Column>>> {
    let names: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> 'django_migrations' ORDER BY name",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut out = BTreeMap::new();
    for name in names {
        let cols = conn
            .prepare("SELECT name, type, \"notnull\", dflt_value IS NOT NULL, pk FROM pragma_table_info(?1)")?
            .query_map([&name], |r| {
                Ok(Column {
                    name: r.get(0)?,
                    decl_type: r.get(1)?,
                    not_null: r.get::<_, i64>(2)? != 0,
                    has_default: r.get(3)?,
                    primary_key: r.get::<_, i64>(4)? != 0,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()
            .with_context(|| format!("could not read the columns of {name}"))?;
        out.insert(name, cols);
    }
    Ok(out)
}

fn count(conn: &Connection, table: &str, filter: Option<&str>) -> Result<u64> {
    let mut sql = format!("SELECT count(*) FROM {}", quote(table));
    if let Some(f) = filter {
        sql.push_str(" WHERE ");
        sql.push_str(f);
    }
    let n: i64 = conn
        .query_row(&sql, [], |r| r.get(0))
        .with_context(|| format!("could not count rows of {table}"))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// SQLite column names compare case-insensitively (ASCII).
fn same_name(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// `VARCHAR( 100 )` and `varchar(100)` are the same declared type.
fn normalize_type(t: &str) -> String {
    t.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_lowercase()
        .replace(" (", "(")
        .replace("( ", "(")
        .replace(" )", ")")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db(dir: &Path, name: &str, sql: &str) -> std::path::PathBuf {
        let path = dir.join(name);
        let c = Connection::open(&path).unwrap();
        c.execute_batch(sql).unwrap();
        path
    }

    #[test]
    fn every_kind_of_misfit_is_reported_and_only_those() {
        let dir = tempfile::tempdir().unwrap();
        let fresh = db(
            dir.path(),
            "fresh.sqlite3",
            "CREATE TABLE django_migrations (id integer);
             CREATE TABLE t (id integer NOT NULL PRIMARY KEY, name VARCHAR(50) NOT NULL,
                             must integer NOT NULL, opt text NULL, dflt integer NOT NULL DEFAULT 0,
                             tight text NOT NULL);
             CREATE TABLE brand_new (id integer);
             CREATE TABLE empty_t (id integer, must integer NOT NULL);",
        );
        let data = db(
            dir.path(),
            "data.sqlite3",
            "CREATE TABLE django_migrations (id integer, extra text);
             CREATE TABLE t (id integer NOT NULL PRIMARY KEY, name varchar(100) NOT NULL,
                             gone text, gone_empty text, tight text);
             INSERT INTO t VALUES (1, 'a', 'x', NULL, 'v'), (2, 'b', NULL, NULL, NULL);
             CREATE TABLE legacy (id integer); INSERT INTO legacy VALUES (1), (2), (3);
             CREATE TABLE empty_t (id integer);",
        );
        let diff = compare_schemas(&fresh, &data).unwrap();
        assert_eq!(diff.new_tables, ["brand_new"]);
        assert_eq!(diff.tables_compared, 2);
        let expect = vec![
            SchemaProblem::TableMissing {
                table: "legacy".into(),
                rows: 3,
            },
            SchemaProblem::TypeChanged {
                table: "t".into(),
                column: "name".into(),
                old_type: "varchar(100)".into(),
                new_type: "VARCHAR(50)".into(),
            },
            SchemaProblem::ColumnMissing {
                table: "t".into(),
                column: "gone".into(),
                non_null_rows: 1,
            },
            SchemaProblem::ColumnMissing {
                table: "t".into(),
                column: "gone_empty".into(),
                non_null_rows: 0,
            },
            SchemaProblem::NullsInNotNull {
                table: "t".into(),
                column: "tight".into(),
                null_rows: 1,
            },
            SchemaProblem::NotNullUnfilled {
                table: "t".into(),
                column: "must".into(),
                column_type: "INTEGER".into(),
                rows: 2,
            },
        ];
        assert_eq!(diff.problems, expect);
        assert_eq!(diff.blocking().count(), 4);
        assert!(!diff.fits());
    }

    #[test]
    fn declared_types_compare_by_normal_form() {
        assert_eq!(
            normalize_type("VARCHAR( 100 )"),
            normalize_type("varchar(100)")
        );
        assert_ne!(
            normalize_type("varchar(100)"),
            normalize_type("varchar(50)")
        );
    }
}
