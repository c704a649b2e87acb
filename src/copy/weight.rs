//! How much work a table's load is, to find the table that would keep one connection
//! busy long after the others are done (the "long pole").
//!
//! Rows alone mislead: 240k embeddings of 384 floats (6 KB a row, each list parsed into
//! `jsonb` and compressed by the server) are far more work than 340k predictions of a few
//! short columns. The estimate is rows × (a fixed cost per row + the average bytes of a
//! row), the average taken over the first rows of the table (a millisecond).

use super::plan::{Plan, TablePlan};
use super::schema::quote_sqlite;
use rusqlite::Connection;

/// A row's fixed cost (tuple header, index entries, the COPY framing), in bytes of data.
const ROW_OVERHEAD: u64 = 200;

/// Fewer rows than this load in one transaction whatever their weight, and are read back
/// in one query: a slice costs a transaction (a check part, a query), and a few thousand
/// rows load in a second.
pub const SPLIT_MIN_ROWS: u64 = 10_000;

/// Rows sampled for the average.
const SAMPLE: u64 = 1000;

/// The estimated load work of every table of `plan`, in plan order.
pub fn of_tables(sq: &Connection, plan: &Plan) -> Vec<u64> {
    plan.tables.iter().map(|t| of_table(sq, t)).collect()
}

fn of_table(sq: &Connection, table: &TablePlan) -> u64 {
    table
        .source_rows
        .saturating_mul(ROW_OVERHEAD + average_row_bytes(sq, table).unwrap_or(0))
}

/// The average stored length of a row's values over the first rows (`None` if the
/// source cannot be read: the estimate is then by rows only).
fn average_row_bytes(sq: &Connection, table: &TablePlan) -> Option<u64> {
    if table.columns.is_empty() || table.source_rows == 0 {
        return Some(0);
    }
    let cols: Vec<String> = table
        .columns
        .iter()
        .map(|c| quote_sqlite(&c.name))
        .collect();
    let lengths: Vec<String> = cols
        .iter()
        .map(|c| format!("coalesce(length({c}), 0)"))
        .collect();
    let sql = format!(
        "SELECT avg({}) FROM (SELECT {} FROM {} LIMIT {SAMPLE})",
        lengths.join(" + "),
        cols.join(", "),
        quote_sqlite(&table.name)
    );
    let avg: Option<f64> = sq.query_row(&sql, [], |r| r.get(0)).ok()?;
    Some(avg.unwrap_or(0.0).max(0.0) as u64)
}

/// Whether `table` (its estimated work `own`, of `total` for the whole load) would be the
/// long pole on `jobs` connections: more work than a fair share, so that loading it in
/// one transaction would leave the other connections idle while it loads.
pub fn is_long_pole(own: u64, total: u64, jobs: usize) -> bool {
    jobs > 1 && own.saturating_mul(jobs as u64) > total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_with_more_than_its_share_is_the_long_pole() {
        // Embeddings: 79% of the work, on 2 connections.
        assert!(is_long_pole(79, 100, 2));
        assert!(!is_long_pole(50, 100, 2));
        assert!(!is_long_pole(40, 100, 2));
        assert!(is_long_pole(40, 100, 3));
        assert!(
            !is_long_pole(100, 100, 1),
            "one connection: nothing to share"
        );
    }

    #[test]
    fn wide_rows_weigh_more_than_many_narrow_ones() {
        let sq = Connection::open_in_memory().unwrap();
        sq.execute_batch(
            "CREATE TABLE wide (id INTEGER PRIMARY KEY, v TEXT);
             CREATE TABLE narrow (id INTEGER PRIMARY KEY, n INTEGER);
             WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 100)
             INSERT INTO wide SELECT i, printf('%.*c', 4000, 'x') FROM s;
             WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 300)
             INSERT INTO narrow SELECT i, i FROM s;",
        )
        .unwrap();
        let table = |name: &str, rows, col: &str| TablePlan {
            name: name.into(),
            target: name.into(),
            pg_name: name.into(),
            columns: vec![super::super::plan::ColumnPlan::same(
                col,
                super::super::types::PgType::Text,
                true,
            )],
            pk: vec!["id".into()],
            has_rowid: true,
            source_rows: rows,
            sequences: vec![],
            sqlite_seq: None,
            parents: vec![],
            refs: vec![],
        };
        let wide = of_table(&sq, &table("wide", 100, "v"));
        let narrow = of_table(&sq, &table("narrow", 300, "n"));
        assert_eq!(wide, 100 * (ROW_OVERHEAD + 4000));
        assert!(wide > 5 * narrow, "{wide} vs {narrow}");
    }
}
