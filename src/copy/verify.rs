//! Content checksums computed the same way on both sides, over the converted values.
//!
//! The source side hashes the binary COPY rows the engine sends; the target side reads the
//! table back with `COPY (SELECT cols FROM t) TO STDOUT (FORMAT binary)` and hashes what
//! PostgreSQL stored. A row's hash is XXH3-128 over its fields in canonical form (the wire
//! bytes, except where PostgreSQL normalizes: numeric scale/digits, char padding); a
//! table's checksum is the wrapping sum of its row hashes, so it does not depend on row
//! order and still counts duplicates.
//!
//! JSON is compared as bytes ([`Canon::Exact`]): `json` keeps the text sent, and `jsonb`
//! text is sent already in the form PostgreSQL prints (see `jsonb`). A table whose
//! checksums differ and that has JSON columns is compared once more [`Canon::ByValue`]:
//! every document parsed, keys sorted, numbers as floats — so a formatting difference
//! between dj2pg and PostgreSQL costs a second reading, never a false mismatch.

use super::numeric;
use super::plan::TablePlan;
use super::schema::{quote_pg, quote_sqlite};
use super::types::PgType;
use anyhow::{Context, Result, bail};
use std::io::Read;

/// Rows and their order-independent content checksum.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Checksum {
    pub rows: u64,
    pub sum: u128,
}

/// How JSON fields are compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Canon {
    /// As bytes: the fast, normal way.
    Exact,
    /// As parsed values, when the bytes differed.
    ByValue,
}

impl Checksum {
    pub fn add_row(&mut self, types: &[&PgType], row: &[u8]) {
        self.add_row_by(types, row, Canon::Exact);
    }

    pub fn add_row_by(&mut self, types: &[&PgType], row: &[u8], canon: Canon) {
        self.rows += 1;
        self.sum = self.sum.wrapping_add(row_hash(types, row, canon));
    }

    pub fn merge(&mut self, other: Checksum) {
        self.rows += other.rows;
        self.sum = self.sum.wrapping_add(other.sum);
    }
}

/// Append one field's canonical form to `out`, so that both sides hash the same bytes.
pub(super) fn canonical(ty: &PgType, bytes: &[u8], canon: Canon, out: &mut Vec<u8>) {
    match ty {
        PgType::Numeric { .. } => {
            out.extend_from_slice(numeric::decode_text(bytes).unwrap_or_default().as_bytes())
        }
        PgType::Json | PgType::Jsonb => {
            // jsonb's binary form is a version byte, then the text.
            let text = if *ty == PgType::Jsonb && !bytes.is_empty() {
                &bytes[1..]
            } else {
                bytes
            };
            if canon == Canon::Exact {
                out.extend_from_slice(text);
                return;
            }
            match serde_json::from_slice::<serde_json::Value>(text) {
                Ok(v) => sorted_json(&v, out),
                Err(_) => out.extend_from_slice(text),
            }
        }
        PgType::Bpchar(_) => {
            let end = bytes.iter().rposition(|&b| b != b' ').map_or(0, |i| i + 1);
            out.extend_from_slice(&bytes[..end]);
        }
        _ => out.extend_from_slice(bytes),
    }
}

/// JSON with object keys sorted (whatever serde_json's map order), duplicates already merged.
fn sorted_json(v: &serde_json::Value, out: &mut Vec<u8>) {
    match v {
        serde_json::Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push(b'{');
            for (i, (k, x)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                json_scalar(k, out);
                out.push(b':');
                sorted_json(x, out);
            }
            out.push(b'}');
        }
        serde_json::Value::Array(items) => {
            out.push(b'[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                sorted_json(x, out);
            }
            out.push(b']');
        }
        other => json_scalar(other, out),
    }
}

/// serde_json's compact text of a scalar (or key), written straight into `out`.
fn json_scalar<T: serde::Serialize + ?Sized>(v: &T, out: &mut Vec<u8>) {
    // Writing to a Vec cannot fail, and scalars and strings always serialize.
    let _ = serde_json::to_writer(&mut *out, v);
}

thread_local! {
    /// The canonical byte stream of the row being hashed, reused across rows.
    static CANON: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Hash one binary COPY tuple (`i16` field count, then `i32` length + bytes per field).
///
/// The row's canonical stream (per field: `0xff` for NULL, else `0`, the canonical length as
/// `u64` LE, the canonical bytes) is hashed with XXH3-128: the checksum detects copy errors,
/// it is not a security boundary, and SHA-256 was a large share of the copy's CPU.
pub(super) fn row_hash(types: &[&PgType], row: &[u8], canon: Canon) -> u128 {
    CANON.with(|buf| match buf.try_borrow_mut() {
        Ok(mut buf) => row_hash_into(types, row, canon, &mut buf),
        Err(_) => row_hash_into(types, row, canon, &mut Vec::new()),
    })
}

fn row_hash_into(types: &[&PgType], row: &[u8], canon: Canon, buf: &mut Vec<u8>) -> u128 {
    buf.clear();
    let mut at = 2;
    for ty in types {
        let Some(len) = row.get(at..at + 4) else {
            break;
        };
        let len = i32::from_be_bytes([len[0], len[1], len[2], len[3]]);
        at += 4;
        if len < 0 {
            buf.push(0xff);
            continue;
        }
        let end = (at + len as usize).min(row.len());
        buf.push(0);
        let len_at = buf.len();
        buf.extend_from_slice(&[0; 8]);
        canonical(ty, &row[at..end], canon, buf);
        let n = (buf.len() - len_at - 8) as u64;
        buf[len_at..len_at + 8].copy_from_slice(&n.to_le_bytes());
        at = end;
    }
    xxhash_rust::xxh3::xxh3_128(buf)
}

/// Whether a table has columns that [`Canon::ByValue`] compares differently.
pub fn has_json(table: &TablePlan) -> bool {
    table
        .columns
        .iter()
        .any(|c| matches!(c.ty, PgType::Json | PgType::Jsonb))
}

/// Read the target table back and checksum it.
pub fn target_checksum(client: &mut postgres::Client, table: &TablePlan) -> Result<Checksum> {
    target_checksum_by(client, table, Canon::Exact)
}

/// [`target_checksum`], comparing JSON as `canon` says.
pub fn target_checksum_by(
    client: &mut postgres::Client,
    table: &TablePlan,
    canon: Canon,
) -> Result<Checksum> {
    let mut sum = Checksum::default();
    if table.columns.is_empty() {
        let n: i64 = client
            .query_one(&format!("SELECT count(*) FROM {}", table.target), &[])?
            .get(0);
        sum.rows = n as u64;
        return Ok(sum);
    }
    let sql = read_back_sql(table);
    let reader = client
        .copy_out(&sql)
        .with_context(|| format!("could not read {} back for verification", table.name))?;
    checksum_copy(reader, table, canon)
}

/// `COPY (SELECT cols FROM t) TO STDOUT (FORMAT binary)` for a table with columns.
pub fn read_back_sql(table: &TablePlan) -> String {
    format!(
        "COPY (SELECT {} FROM {}) TO STDOUT (FORMAT binary)",
        table.column_list(),
        table.target
    )
}

/// The read-back of the rows whose single integer primary key lies in `range`
/// (`i64::MIN` / `i64::MAX`: no lower / upper bound), for one part of a split check.
pub fn read_back_range_sql(table: &TablePlan, range: (i64, i64)) -> String {
    let key = quote_pg(table.target_of(&table.pk[0]));
    let mut cond = Vec::new();
    if range.0 != i64::MIN {
        cond.push(format!("{key} >= {}", range.0));
    }
    if range.1 != i64::MAX {
        cond.push(format!("{key} < {}", range.1));
    }
    let filter = if cond.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", cond.join(" AND "))
    };
    format!(
        "COPY (SELECT {} FROM {}{filter}) TO STDOUT (FORMAT binary)",
        table.column_list(),
        table.target,
    )
}

/// `parts` ranges of `table`'s single integer primary key that together hold every row
/// whatever its keys (the first starts at `i64::MIN`, the last ends at `i64::MAX`), split
/// evenly over the source's keys; `None` when the key is not one integer column.
pub fn key_ranges(
    sq: &rusqlite::Connection,
    table: &TablePlan,
    parts: usize,
) -> Option<Vec<(i64, i64)>> {
    let [key] = table.pk.as_slice() else {
        return None;
    };
    let column = table.columns.iter().find(|c| &c.name == key)?;
    if !matches!(column.ty, PgType::Int2 | PgType::Int4 | PgType::Int8) || parts < 2 {
        return None;
    }
    let k = quote_sqlite(key);
    let (lo, hi): (i64, i64) = sq
        .query_row(
            &format!(
                "SELECT min({k}), max({k}) FROM {}",
                quote_sqlite(&table.name)
            ),
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .ok()?;
    let width = ((hi as i128 - lo as i128) / parts as i128).max(1);
    let mut bounds = vec![i64::MIN];
    for p in 1..parts as i128 {
        let b = lo as i128 + p * width;
        if b > hi as i128 {
            break;
        }
        bounds.push(b as i64);
    }
    bounds.push(i64::MAX);
    let ranges: Vec<(i64, i64)> = bounds.windows(2).map(|w| (w[0], w[1])).collect();
    (ranges.len() > 1).then_some(ranges)
}

/// Checksum the rows of a binary `COPY ... TO STDOUT` stream of `table`'s columns.
pub fn checksum_copy(reader: impl Read, table: &TablePlan, canon: Canon) -> Result<Checksum> {
    let types: Vec<&PgType> = table.columns.iter().map(|c| &c.ty).collect();
    let mut sum = Checksum::default();
    for_each_tuple(reader, |row| sum.add_row_by(&types, row, canon))?;
    Ok(sum)
}

/// Call `f` with each tuple (field count, then length + bytes per field) of a binary
/// `COPY ... TO STDOUT` stream.
pub(super) fn for_each_tuple(reader: impl Read, mut f: impl FnMut(&[u8])) -> Result<()> {
    let mut r = std::io::BufReader::with_capacity(1 << 16, reader);
    let mut header = [0u8; 19];
    r.read_exact(&mut header)?;
    if &header[..11] != b"PGCOPY\n\xff\r\n\0" {
        bail!("unexpected COPY header from PostgreSQL");
    }
    let ext = u32::from_be_bytes([header[15], header[16], header[17], header[18]]) as usize;
    std::io::copy(&mut (&mut r).take(ext as u64), &mut std::io::sink())?;
    let mut row = Vec::with_capacity(1024);
    loop {
        let mut n = [0u8; 2];
        r.read_exact(&mut n)?;
        let fields = i16::from_be_bytes(n);
        if fields < 0 {
            break;
        }
        row.clear();
        row.extend_from_slice(&n);
        for _ in 0..fields {
            let mut len = [0u8; 4];
            r.read_exact(&mut len)?;
            row.extend_from_slice(&len);
            let len = i32::from_be_bytes(len);
            if len > 0 {
                let start = row.len();
                row.resize(start + len as usize, 0);
                r.read_exact(&mut row[start..])?;
            }
        }
        f(&row);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyed(name: &str, key_ty: PgType) -> TablePlan {
        TablePlan {
            name: name.into(),
            target: format!("\"public\".\"{name}\""),
            pg_name: name.into(),
            columns: vec![
                super::super::plan::ColumnPlan::same("id", key_ty, false),
                super::super::plan::ColumnPlan::same("v", PgType::Jsonb, true),
            ],
            pk: vec!["id".into()],
            has_rowid: true,
            source_rows: 0,
            sequences: vec![],
            sqlite_seq: None,
            parents: vec![],
            refs: vec![],
        }
    }

    #[test]
    fn a_split_read_back_covers_every_possible_key_once() {
        let sq = rusqlite::Connection::open_in_memory().unwrap();
        sq.execute_batch(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);
             INSERT INTO t VALUES (-5, 'a'), (3, 'b'), (100, 'c');
             CREATE TABLE one (id INTEGER PRIMARY KEY, v TEXT);
             INSERT INTO one VALUES (7, 'a');
             CREATE TABLE named (id TEXT PRIMARY KEY, v TEXT);
             INSERT INTO named VALUES ('x', 'a'), ('y', 'b');",
        )
        .unwrap();
        let r = key_ranges(&sq, &keyed("t", PgType::Int8), 3).unwrap();
        assert_eq!(r, vec![(i64::MIN, 30), (30, 65), (65, i64::MAX)]);
        // Whatever the target holds (keys the source never had included), each key falls
        // in exactly one part.
        for k in [i64::MIN, -6, -5, 29, 30, 64, 65, 100, 101, i64::MAX] {
            assert_eq!(
                r.iter()
                    .filter(|(a, b)| *a <= k && (k < *b || *b == i64::MAX))
                    .count(),
                1,
                "{k}"
            );
        }
        assert_eq!(
            read_back_range_sql(&keyed("t", PgType::Int8), r[0]),
            "COPY (SELECT \"id\", \"v\" FROM \"public\".\"t\" WHERE \"id\" < 30) TO STDOUT (FORMAT binary)"
        );
        assert!(
            read_back_range_sql(&keyed("t", PgType::Int8), r[1])
                .contains("WHERE \"id\" >= 30 AND \"id\" < 65)")
        );
        assert!(
            read_back_range_sql(&keyed("t", PgType::Int8), r[2]).contains("WHERE \"id\" >= 65)")
        );
        // One key: nothing to split. A text key, or a key PostgreSQL does not hold as an
        // integer: read back whole.
        assert_eq!(key_ranges(&sq, &keyed("one", PgType::Int4), 2), None);
        assert_eq!(key_ranges(&sq, &keyed("named", PgType::Int4), 2), None);
        assert_eq!(key_ranges(&sq, &keyed("t", PgType::Text), 2), None);
        assert_eq!(key_ranges(&sq, &keyed("t", PgType::Int8), 1), None);
    }

    fn tuple(fields: &[Option<&[u8]>]) -> Vec<u8> {
        let mut v = (fields.len() as i16).to_be_bytes().to_vec();
        for f in fields {
            match f {
                None => v.extend((-1i32).to_be_bytes()),
                Some(b) => {
                    v.extend((b.len() as i32).to_be_bytes());
                    v.extend(*b);
                }
            }
        }
        v
    }

    #[test]
    fn order_does_not_matter_duplicates_do() {
        let t = [&PgType::Text];
        let (a, b) = (tuple(&[Some(b"a")]), tuple(&[Some(b"b")]));
        let mut x = Checksum::default();
        x.add_row(&t, &a);
        x.add_row(&t, &b);
        let mut y = Checksum::default();
        y.add_row(&t, &b);
        y.add_row(&t, &a);
        assert_eq!(x, y);
        y.add_row(&t, &a);
        assert_ne!(x.sum, y.sum);
    }

    #[test]
    fn null_and_empty_differ_and_json_is_normalized() {
        let t = [&PgType::Text];
        assert_ne!(
            row_hash(&t, &tuple(&[None]), Canon::Exact),
            row_hash(&t, &tuple(&[Some(b"")]), Canon::Exact)
        );
        let j = [&PgType::Jsonb];
        let (a, b) = (
            tuple(&[Some(b"\x01{\"b\": 1, \"a\": [1, 2]}")]),
            tuple(&[Some(b"\x01{\"a\":[1,2],\"b\":1}")]),
        );
        // Bytes first; by value, the same document is the same however it is written.
        assert_ne!(
            row_hash(&j, &a, Canon::Exact),
            row_hash(&j, &b, Canon::Exact)
        );
        assert_eq!(
            row_hash(&j, &a, Canon::ByValue),
            row_hash(&j, &b, Canon::ByValue)
        );
    }

    #[test]
    fn a_changed_value_changes_the_checksum() {
        let t = [&PgType::Int8, &PgType::Text];
        let id = 1i64.to_be_bytes();
        let mut x = Checksum::default();
        x.add_row(&t, &tuple(&[Some(&id), Some(b"label")]));
        let mut y = Checksum::default();
        y.add_row(&t, &tuple(&[Some(&id), Some(b"labelx")]));
        assert_eq!(x.rows, y.rows);
        assert_ne!(x.sum, y.sum);
        // Field boundaries count: ("ab", "c") is not ("a", "bc").
        let t2 = [&PgType::Text, &PgType::Text];
        assert_ne!(
            row_hash(&t2, &tuple(&[Some(b"ab"), Some(b"c")]), Canon::Exact),
            row_hash(&t2, &tuple(&[Some(b"a"), Some(b"bc")]), Canon::Exact)
        );
    }
}
