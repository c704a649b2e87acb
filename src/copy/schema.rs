//! Reading both schemas: the SQLite file's tables and declared types, and PostgreSQL's
//! tables, exact column types, nullability, defaults, identity/serial sequences, generated
//! columns, foreign keys, owners and the connecting role's privileges.

use super::types::PgType;
use anyhow::{Context, Result};
use rusqlite::Connection;
use std::collections::HashMap;

/// A SQLite column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SqliteColumn {
    pub name: String,
    pub decl_type: String,
}

/// A SQLite user table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SqliteTable {
    pub name: String,
    pub columns: Vec<SqliteColumn>,
    /// Primary-key columns, in key order (empty: no primary key).
    pub pk: Vec<String>,
    /// False for `WITHOUT ROWID` tables.
    pub has_rowid: bool,
    pub rows: u64,
}

/// What the SQLite file holds that could be copied, and what was set aside and why.
#[derive(Clone, Debug, Default)]
pub struct SqliteSchema {
    pub tables: Vec<SqliteTable>,
    /// Tables not copied by nature (virtual tables, their shadow tables), with the reason.
    pub set_aside: Vec<(String, String)>,
    /// `sqlite_sequence`: the AUTOINCREMENT counters.
    pub sequences: HashMap<String, i64>,
}

/// Suffixes of the shadow tables FTS3/4/5 and R*Tree keep for a virtual table.
const SHADOW_SUFFIXES: &[&str] = &[
    "_data",
    "_idx",
    "_content",
    "_docsize",
    "_config",
    "_segments",
    "_segdir",
    "_stat",
    "_node",
    "_rowid",
    "_parent",
];

/// A SQLite identifier: the same quoting as PostgreSQL's.
pub fn quote_sqlite(name: &str) -> String {
    crate::pg::quote_ident(name)
}

/// Read the SQLite schema. `django_migrations` and `sqlite_*` are never copied. The row
/// counts are counted, or taken from `known` (a sync has just read every row: counting them
/// again would read the file a second time; tables not in `known` count as empty).
pub fn read_sqlite_with(
    conn: &Connection,
    known: Option<&HashMap<String, u64>>,
) -> Result<SqliteSchema> {
    let mut all: Vec<(String, String)> = conn
        .prepare(
            "SELECT name, coalesce(sql, '') FROM sqlite_master WHERE type = 'table' ORDER BY name",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    all.retain(|(name, _)| !name.starts_with("sqlite_"));
    let virtual_tables: Vec<String> = all
        .iter()
        .filter(|(_, sql)| {
            sql.trim_start()
                .to_ascii_uppercase()
                .starts_with("CREATE VIRTUAL TABLE")
        })
        .map(|(name, _)| name.clone())
        .collect();
    // SQLite itself knows shadow tables of the modules it has loaded.
    let shadow: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_list WHERE type = 'shadow'")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .unwrap_or_default();
    let mut schema = SqliteSchema::default();
    for (name, sql) in all {
        if name == "django_migrations" {
            continue;
        }
        if virtual_tables.contains(&name) {
            schema.set_aside.push((
                name,
                "a virtual table (full-text search or similar): its index is derived data; rebuild it on PostgreSQL (e.g. a search vector column with a GIN index)".into(),
            ));
            continue;
        }
        let owner = virtual_tables.iter().find(|v| {
            name.strip_prefix(v.as_str())
                .is_some_and(|rest| SHADOW_SUFFIXES.contains(&rest))
        });
        if owner.is_some() || shadow.contains(&name) {
            schema.set_aside.push((
                name.clone(),
                format!(
                    "a shadow table of the virtual table {}: derived data, not copied",
                    owner.map(String::as_str).unwrap_or("(unknown)")
                ),
            ));
            continue;
        }
        let mut columns = Vec::new();
        let mut pk: Vec<(i64, String)> = Vec::new();
        let mut stmt = conn.prepare(&format!("PRAGMA table_xinfo({})", quote_sqlite(&name)))?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let col: String = r.get(1)?;
            let decl: Option<String> = r.get(2)?;
            let pk_pos: i64 = r.get(5)?;
            if pk_pos > 0 {
                pk.push((pk_pos, col.clone()));
            }
            columns.push(SqliteColumn {
                name: col,
                decl_type: decl.unwrap_or_default(),
            });
        }
        pk.sort();
        let has_rowid = !sql.to_ascii_uppercase().contains("WITHOUT ROWID");
        let rows: i64 = match known {
            Some(k) => k.get(&name).copied().unwrap_or(0) as i64,
            None => conn
                .query_row(
                    &format!("SELECT count(*) FROM {}", quote_sqlite(&name)),
                    [],
                    |r| r.get(0),
                )
                .with_context(|| format!("could not count the rows of the SQLite table {name}"))?,
        };
        schema.tables.push(SqliteTable {
            name,
            columns,
            pk: pk.into_iter().map(|(_, c)| c).collect(),
            has_rowid,
            rows: rows.max(0) as u64,
        });
    }
    let has_seq: bool = conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_master WHERE name = 'sqlite_sequence'",
        [],
        |r| r.get(0),
    )?;
    if has_seq {
        let mut stmt = conn.prepare("SELECT name, seq FROM sqlite_sequence")?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Option<i64>>(1)?))
        })?;
        for row in rows {
            let (name, seq) = row?;
            schema.sequences.insert(name, seq.unwrap_or(0));
        }
    }
    Ok(schema)
}

/// A PostgreSQL column.
#[derive(Clone, Debug, PartialEq)]
pub struct PgColumn {
    pub name: String,
    pub attnum: i16,
    pub ty: PgType,
    /// `format_type` text, for messages.
    pub type_sql: String,
    pub not_null: bool,
    pub has_default: bool,
    pub identity: bool,
    /// `GENERATED ALWAYS AS (...) STORED`: cannot be written.
    pub generated: bool,
    /// The serial/identity sequence, as `pg_get_serial_sequence` names it.
    pub sequence: Option<String>,
}

/// A PostgreSQL table visible on the search path.
#[derive(Clone, Debug, PartialEq)]
pub struct PgTable {
    pub oid: i64,
    pub schema: String,
    pub name: String,
    pub owner: String,
    pub columns: Vec<PgColumn>,
    pub can_select: bool,
    pub can_insert: bool,
    pub can_truncate: bool,
}

impl PgTable {
    /// `"schema"."table"`.
    pub fn qualified(&self) -> String {
        format!("{}.{}", quote_pg(&self.schema), quote_pg(&self.name))
    }
}

/// A foreign-key constraint between two tables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PgForeignKey {
    pub table: String,
    pub columns: Vec<String>,
    pub ref_table: String,
    pub ref_columns: Vec<String>,
    pub deferrable: bool,
}

#[derive(Clone, Debug, Default)]
pub struct PgSchema {
    pub tables: Vec<PgTable>,
    pub foreign_keys: Vec<PgForeignKey>,
    /// The server can compress large values with lz4 (PostgreSQL 14+, built with lz4).
    pub lz4: bool,
}

pub fn quote_pg(name: &str) -> String {
    crate::pg::quote_ident(name)
}

const VISIBLE: &str = "c.relkind IN ('r', 'p') AND pg_table_is_visible(c.oid) \
     AND n.nspname NOT IN ('pg_catalog', 'information_schema')";

/// Read the tables on the connecting role's search path: tables, columns and foreign keys
/// in one simple query (one round trip; the server may be tens of milliseconds away).
pub fn read_pg(client: &mut postgres::Client) -> Result<PgSchema> {
    let messages = client
        .simple_query(&catalog_sql())
        .context("could not read the PostgreSQL tables, columns and foreign keys")?;
    // The statements' rows, in order.
    let mut results: Vec<Vec<postgres::SimpleQueryRow>> = vec![Vec::new()];
    for m in messages {
        match m {
            postgres::SimpleQueryMessage::Row(r) => {
                if let Some(last) = results.last_mut() {
                    last.push(r)
                }
            }
            postgres::SimpleQueryMessage::CommandComplete(_) => results.push(Vec::new()),
            _ => {}
        }
    }
    parse_catalog(&results)
}

/// [`read_pg`] over a pipelined session (the sync's: no second connection to log in).
pub fn read_pg_wire(wire: &mut crate::pg::wire::Wire) -> Result<PgSchema> {
    let sql = catalog_sql();
    wire.query(&sql)?;
    let mut results = Vec::new();
    // tables, columns, foreign keys, lz4 (see `catalog_sql`).
    for _ in 0..4 {
        match wire.rows()? {
            Ok(rows) => results.push(rows),
            Err(e) => {
                wire.finish_query()?;
                anyhow::bail!(
                    "could not read the PostgreSQL tables, columns and foreign keys: {e}"
                );
            }
        }
    }
    if let Some(e) = wire.end_query()? {
        anyhow::bail!("could not read the PostgreSQL tables, columns and foreign keys: {e}");
    }
    parse_catalog(&results)
}

/// A row of the catalog query, as text.
trait CatalogRow {
    fn cell(&self, i: usize) -> Result<Option<&str>>;
}

impl CatalogRow for postgres::SimpleQueryRow {
    fn cell(&self, i: usize) -> Result<Option<&str>> {
        Ok(self.try_get(i)?)
    }
}

impl CatalogRow for Vec<Option<String>> {
    fn cell(&self, i: usize) -> Result<Option<&str>> {
        Ok(self
            .get(i)
            .context("the catalog gave fewer columns than asked")?
            .as_deref())
    }
}

/// The four statements of the catalog read, `;\n` apart.
fn catalog_sql() -> String {
    let tables_sql = format!(
        "SELECT c.oid::int8, n.nspname::text, c.relname::text, pg_get_userbyid(c.relowner)::text,
                has_table_privilege(c.oid, 'SELECT'), has_table_privilege(c.oid, 'INSERT'),
                has_table_privilege(c.oid, 'TRUNCATE')
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE {VISIBLE} ORDER BY c.relname"
    );
    let columns_sql = format!(
        "SELECT a.attrelid::int8, a.attnum, a.attname::text, t.typname::text,
                CASE WHEN t0.typtype = 'd' THEN t0.typtypmod ELSE a.atttypmod END,
                et.typname::text, t.typelem::int8, a.attnotnull, a.atthasdef,
                a.attidentity::text, a.attgenerated::text, format_type(a.atttypid, a.atttypmod),
                pg_get_serial_sequence(format('%I.%I', n.nspname, c.relname), a.attname)
         FROM pg_attribute a
         JOIN pg_class c ON c.oid = a.attrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_type t0 ON t0.oid = a.atttypid
         JOIN pg_type t ON t.oid = CASE WHEN t0.typtype = 'd' THEN t0.typbasetype ELSE t0.oid END
         LEFT JOIN pg_type et ON et.oid = t.typelem AND t.typelem <> 0
         WHERE {VISIBLE} AND a.attnum > 0 AND NOT a.attisdropped
         ORDER BY a.attrelid, a.attnum"
    );
    let keys_sql = "SELECT conrelid::int8, confrelid::int8, conkey, confkey, condeferrable
               FROM pg_constraint WHERE contype = 'f'";
    let lz4_sql = "SELECT count(*) FROM pg_settings \
                   WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)";
    format!("{tables_sql};\n{columns_sql};\n{keys_sql};\n{lz4_sql}")
}

fn parse_catalog<R: CatalogRow>(results: &[Vec<R>]) -> Result<PgSchema> {
    let [table_rows, column_rows, key_rows, lz4_rows, ..] = results else {
        anyhow::bail!("reading the PostgreSQL catalog returned fewer results than asked");
    };
    let mut tables: Vec<PgTable> = Vec::new();
    let mut index: HashMap<i64, usize> = HashMap::new();
    for r in table_rows {
        let oid = int(r, 0)?;
        index.insert(oid, tables.len());
        tables.push(PgTable {
            oid,
            schema: text(r, 1)?,
            name: text(r, 2)?,
            owner: text(r, 3)?,
            columns: Vec::new(),
            can_select: flag(r, 4)?,
            can_insert: flag(r, 5)?,
            can_truncate: flag(r, 6)?,
        });
    }
    for r in column_rows {
        let Some(&i) = index.get(&int(r, 0)?) else {
            continue;
        };
        let typname = text(r, 3)?;
        let elem = r.cell(5)?.map(str::to_string);
        let elem_oid = int(r, 6)?;
        tables[i].columns.push(PgColumn {
            attnum: int(r, 1)? as i16,
            name: text(r, 2)?,
            ty: PgType::from_catalog(
                &typname,
                int(r, 4)? as i32,
                elem.as_deref().map(|e| (e, elem_oid as u32)),
            ),
            type_sql: text(r, 11)?,
            not_null: flag(r, 7)?,
            has_default: flag(r, 8)?,
            identity: !text(r, 9)?.is_empty(),
            generated: !text(r, 10)?.is_empty(),
            sequence: r.cell(12)?.map(str::to_string),
        });
    }
    let mut foreign_keys = Vec::new();
    for r in key_rows {
        let (Some(&a), Some(&b)) = (index.get(&int(r, 0)?), index.get(&int(r, 1)?)) else {
            continue;
        };
        let names = |t: &PgTable, nums: Vec<i16>| -> Vec<String> {
            nums.iter()
                .filter_map(|n| {
                    t.columns
                        .iter()
                        .find(|c| c.attnum == *n)
                        .map(|c| c.name.clone())
                })
                .collect()
        };
        foreign_keys.push(PgForeignKey {
            table: tables[a].name.clone(),
            columns: names(&tables[a], int_array(r, 2)?),
            ref_table: tables[b].name.clone(),
            ref_columns: names(&tables[b], int_array(r, 3)?),
            deferrable: flag(r, 4)?,
        });
    }
    let lz4 = lz4_rows.first().map(|r| int(r, 0)).transpose()? == Some(1);
    Ok(PgSchema {
        tables,
        foreign_keys,
        lz4,
    })
}

fn text(r: &impl CatalogRow, i: usize) -> Result<String> {
    Ok(r.cell(i)?.unwrap_or_default().to_string())
}

fn int(r: &impl CatalogRow, i: usize) -> Result<i64> {
    let v = r.cell(i)?.unwrap_or("0");
    v.parse()
        .with_context(|| format!("the catalog gave {v:?} where a number belongs"))
}

fn flag(r: &impl CatalogRow, i: usize) -> Result<bool> {
    Ok(r.cell(i)? == Some("t"))
}

/// An `int2[]` in its text form, `{1,2}`.
fn int_array(r: &impl CatalogRow, i: usize) -> Result<Vec<i16>> {
    let v = r.cell(i)?.unwrap_or("{}");
    v.trim_matches(|c| c == '{' || c == '}')
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse()
                .with_context(|| format!("the catalog gave {v:?} where column numbers belong"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_schema_sets_aside_fts_and_migrations() {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(
            "CREATE TABLE django_migrations (id integer primary key, app text);
             CREATE TABLE a (id integer primary key autoincrement, x varchar(10) NOT NULL);
             INSERT INTO a (x) VALUES ('1'), ('2');
             DELETE FROM a WHERE id = 2;
             CREATE TABLE nopk (x text);
             CREATE TABLE wr (k text primary key, v int) WITHOUT ROWID;
             CREATE VIRTUAL TABLE docs USING fts5(body);
             ANALYZE;",
        )
        .unwrap();
        let s = read_sqlite_with(&c, None).unwrap();
        let names: Vec<_> = s.tables.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["a", "nopk", "wr"]);
        assert_eq!(s.tables[0].pk, ["id"]);
        assert_eq!(s.tables[0].rows, 1);
        assert_eq!(s.tables[0].columns[1].decl_type, "varchar(10)");
        assert!(s.tables[1].pk.is_empty());
        assert!(!s.tables[2].has_rowid);
        assert_eq!(s.sequences.get("a"), Some(&2));
        let aside: Vec<_> = s.set_aside.iter().map(|(n, _)| n.as_str()).collect();
        assert!(
            aside.contains(&"docs") && aside.contains(&"docs_data"),
            "{aside:?}"
        );
    }
}
