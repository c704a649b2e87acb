//! A read-only look at the SQLite file: size, tables, rows.

use crate::data::django::SqliteSummary;
use anyhow::{Context, Result, bail};
use rusqlite::{Connection, OpenFlags};
use std::io::Read;
use std::path::Path;

/// Open `path` read-only and count its tables and rows. Never writes to the file.
pub fn summarize_sqlite(path: &Path) -> Result<SqliteSummary> {
    let meta = std::fs::metadata(path).with_context(|| {
        format!(
            "the SQLite file {} (DATABASES['default']['NAME']) cannot be read",
            path.display()
        )
    })?;
    check_header(path)?;
    let conn = open_read_only(path)?;
    let names: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
        )
        .and_then(|mut st| st.query_map([], |r| r.get(0))?.collect())
        .map_err(|e| corrupt(path, e))?;
    let mut tables = Vec::with_capacity(names.len());
    for name in names {
        let sql = format!("SELECT count(*) FROM {}", crate::pg::quote_ident(&name));
        let n: i64 = conn
            .query_row(&sql, [], |r| r.get(0))
            .map_err(|e| corrupt(path, e))
            .with_context(|| format!("could not count the rows of table {name}"))?;
        tables.push((name, n.max(0) as u64));
    }
    Ok(SqliteSummary {
        path: path.to_path_buf(),
        size_bytes: meta.len(),
        tables,
    })
}

/// Open read-only: SQLite itself refuses any write through this handle.
pub fn open_read_only(path: &Path) -> Result<Connection> {
    Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI,
    )
    .map_err(|e| corrupt(path, e))
}

fn check_header(path: &Path) -> Result<()> {
    let mut header = [0u8; 16];
    let mut f = std::fs::File::open(path)
        .with_context(|| format!("cannot open the SQLite file {}", path.display()))?;
    let n = f.read(&mut header).unwrap_or(0);
    if n == 0 {
        bail!(
            "the SQLite file {} is empty (0 bytes): no data to copy. Is DATABASES['default']['NAME'] the right file?",
            path.display()
        );
    }
    if n < 16 || header != *b"SQLite format 3\0" {
        bail!(
            "{} is not a SQLite database (its first bytes are not \"SQLite format 3\"). Check DATABASES['default']['NAME'], or restore the file from a backup.",
            path.display()
        );
    }
    Ok(())
}

fn corrupt(path: &Path, e: rusqlite::Error) -> anyhow::Error {
    anyhow::anyhow!(
        "the SQLite file {} could not be read: {e}. It may be corrupt: run `sqlite3 {} 'PRAGMA integrity_check'`",
        path.display(),
        path.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_tables_and_rows_without_writing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite3");
        let c = Connection::open(&path).unwrap();
        c.execute_batch(
            "CREATE TABLE a (id integer primary key autoincrement, x text);
             INSERT INTO a (x) VALUES ('1'), ('2'), ('3');
             CREATE TABLE b (id integer primary key);",
        )
        .unwrap();
        drop(c);
        let before = std::fs::read(&path).unwrap();
        let s = summarize_sqlite(&path).unwrap();
        assert_eq!(s.tables, vec![("a".into(), 3), ("b".into(), 0)]);
        assert_eq!(s.total_rows(), 3);
        assert_eq!(
            std::fs::read(&path).unwrap(),
            before,
            "the file must not change"
        );
    }

    #[test]
    fn not_a_database_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite3");
        std::fs::write(&path, b"this is not sqlite at all, just text").unwrap();
        let e = summarize_sqlite(&path).unwrap_err().to_string();
        assert!(
            e.contains("is not a SQLite database") && e.contains("db.sqlite3"),
            "{e}"
        );
        std::fs::write(&path, b"").unwrap();
        let e = summarize_sqlite(&path).unwrap_err().to_string();
        assert!(e.contains("empty"), "{e}");
        let e = summarize_sqlite(&dir.path().join("missing.sqlite3"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing.sqlite3"), "{e}");
    }
}
