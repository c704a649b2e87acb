//! Finding embeddings in the SQLite file: columns whose values are JSON lists of numbers
//! of one length (a `JSONField`, or a `TextField` holding JSON), or blobs of one size that
//! read as packed float32 (or float64).
//!
//! A column is a candidate when its first [`SAMPLE`] non-NULL values all read as vectors of
//! at least [`MIN_DIM`] dimensions and JSON lists hold at least one non-integer (a list of
//! ids is not an embedding). A candidate is then read in full: its dimension (the most
//! common length), rows, NULLs, and every value pgvector would refuse (another length,
//! NaN, infinity, empty) listed with table, key and column; and the precision each target
//! type (`vector`, `halfvec`) would keep. Read-only: the file is never written.

use super::schema::quote_sqlite;
use super::vector::{self, BlobWidth, Elements, Precision, VecIssue, VecKind};
use crate::data::copy::Problem;
use anyhow::{Context, Result};
use rusqlite::Connection;
use rusqlite::types::ValueRef;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Values looked at to decide whether a column holds embeddings.
const SAMPLE: usize = 50;
/// Fewer dimensions than this is a short list of numbers, not an embedding.
pub const MIN_DIM: usize = 8;
/// Problems listed per column; the rest are counted.
const MAX_LISTED: usize = 100;

/// How the SQLite file holds a column's vectors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Source {
    /// JSON text: `[0.1, 0.2, …]` (a `JSONField`, or a `TextField` of JSON).
    Json,
    /// A blob of packed little-endian floats (a `BinaryField`).
    Blob(BlobWidth),
}

impl Source {
    pub fn describe(self) -> &'static str {
        match self {
            Source::Json => "JSON lists of numbers",
            Source::Blob(BlobWidth::F32) => "packed float32 blobs",
            Source::Blob(BlobWidth::F64) => "packed float64 blobs",
        }
    }
}

/// One column of embeddings found in the SQLite file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Embeddings {
    /// The SQLite table and column.
    pub table: String,
    pub column: String,
    pub source: Source,
    /// The most common number of dimensions.
    pub dim: usize,
    pub rows: u64,
    pub nulls: u64,
    /// Values pgvector would refuse (another length, NaN, infinity, empty), per row.
    pub problems: Vec<Problem>,
    /// Problems beyond those listed.
    pub unlisted: u64,
    /// What `vector(dim)` keeps of the values that convert.
    pub as_vector: Precision,
    /// What `halfvec(dim)` keeps; rows beyond its range are counted in `half_overflow`.
    pub as_half: Precision,
    pub half_overflow: u64,
}

impl Embeddings {
    /// The precision report for the chosen type.
    pub fn precision(&self, kind: VecKind) -> &Precision {
        match kind {
            VecKind::Vector => &self.as_vector,
            VecKind::Half => &self.as_half,
        }
    }

    /// One line: "classifier_embedding.vector_json: 384-dimension JSON lists of numbers, …".
    pub fn summary(&self) -> String {
        let problems = self.problems.len() as u64 + self.unlisted;
        format!(
            "{}.{}: {} {}-dimension {} ({} NULL){}",
            self.table,
            self.column,
            self.rows,
            self.dim,
            self.source.describe(),
            self.nulls,
            if problems > 0 {
                format!("; {problems} value(s) pgvector would refuse")
            } else {
                String::new()
            }
        )
    }
}

/// Every embeddings column of the SQLite database `conn` (user tables only).
pub fn detect(conn: &Connection) -> Result<Vec<Embeddings>> {
    let tables: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             AND name <> 'django_migrations' ORDER BY name",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut found = Vec::new();
    for table in tables {
        let columns: Vec<(String, String, bool)> = conn
            .prepare(&format!("PRAGMA table_info({})", quote_sqlite(&table)))?
            .query_map([], |r| Ok((r.get(1)?, r.get(2)?, r.get::<_, i64>(5)? > 0)))?
            .collect::<Result<_, _>>()?;
        // Virtual tables (full-text indexes) have no rowid worth reading.
        let pk: Vec<&str> = columns
            .iter()
            .filter(|c| c.2)
            .map(|c| c.0.as_str())
            .collect();
        let key = match pk.as_slice() {
            [one] => quote_sqlite(one),
            _ => "rowid".into(),
        };
        for (column, decl, _) in &columns {
            let decl = decl.to_ascii_lowercase();
            if [
                "int", "real", "float", "double", "bool", "date", "time", "decimal", "numeric",
            ]
            .iter()
            .any(|t| decl.contains(t))
            {
                continue;
            }
            let found_one = scan_column(conn, &table, column, &key)
                .with_context(|| format!("reading {table}.{column}"))?;
            found.extend(found_one);
        }
    }
    Ok(found)
}

/// Decide from a sample whether `column` holds embeddings, then read it in full.
fn scan_column(
    conn: &Connection,
    table: &str,
    column: &str,
    key: &str,
) -> Result<Option<Embeddings>> {
    let col = quote_sqlite(column);
    let from = quote_sqlite(table);
    let mut stmt = conn.prepare(&format!(
        "SELECT {col} FROM {from} WHERE {col} IS NOT NULL LIMIT {SAMPLE}"
    ))?;
    let mut cursor = stmt.query([])?;
    let mut source = None;
    let mut lengths: BTreeMap<usize, usize> = BTreeMap::new();
    let mut fractional = false;
    let mut e = Elements::default();
    while let Some(row) = cursor.next()? {
        let v = row.get_ref(0)?;
        let this = match v {
            ValueRef::Text(t) if t.trim_ascii_start().first() == Some(&b'[') => Source::Json,
            ValueRef::Blob(b) => match blob_width(b) {
                Some(w) => Source::Blob(w),
                None => return Ok(None),
            },
            _ => return Ok(None),
        };
        if *source.get_or_insert(this) != this {
            return Ok(None);
        }
        let width = match this {
            Source::Blob(w) => Some(w),
            Source::Json => None,
        };
        match vector::elements(v, None, width, false, &mut e) {
            Ok(()) => {}
            Err(_) => return Ok(None),
        }
        fractional |= this != Source::Json || e.f32s.iter().any(|f| f.fract() != 0.0);
        *lengths.entry(e.f32s.len()).or_default() += 1;
    }
    let Some(source) = source else {
        return Ok(None);
    };
    let dim = lengths
        .iter()
        .max_by_key(|(len, n)| (**n, **len))
        .map_or(0, |(len, _)| *len);
    if dim < MIN_DIM || !fractional {
        return Ok(None);
    }
    let width = match source {
        Source::Blob(w) => Some(w),
        Source::Json => None,
    };
    let mut found = Embeddings {
        table: table.into(),
        column: column.into(),
        source,
        dim,
        rows: 0,
        nulls: 0,
        problems: Vec::new(),
        unlisted: 0,
        as_vector: Precision::new(),
        as_half: Precision::new(),
        half_overflow: 0,
    };
    let mut stmt = conn.prepare(&format!("SELECT {key}, {col} FROM {from}"))?;
    let mut cursor = stmt.query([])?;
    while let Some(row) = cursor.next()? {
        found.rows += 1;
        let v = row.get_ref(1)?;
        if v == ValueRef::Null {
            found.nulls += 1;
            continue;
        }
        let checked = vector::elements(v, Some(dim), width, true, &mut e)
            .and_then(|()| vector::check(&e, Some(dim)));
        match checked {
            Ok(()) => {
                found.as_vector.add(&e, VecKind::Vector);
                if vector::encode(&e, VecKind::Half, Some(dim), &mut Vec::new()).is_ok() {
                    found.as_half.add(&e, VecKind::Half);
                } else {
                    found.half_overflow += 1;
                }
            }
            Err(issue) => {
                if found.problems.len() >= MAX_LISTED {
                    found.unlisted += 1;
                    continue;
                }
                found
                    .problems
                    .push(problem(table, column, row.get_ref(0)?, v, &issue));
            }
        }
    }
    Ok(Some(found))
}

fn problem(
    table: &str,
    column: &str,
    key: ValueRef<'_>,
    v: ValueRef<'_>,
    issue: &VecIssue,
) -> Problem {
    Problem {
        table: table.into(),
        pk: super::rows::key_text(key),
        column: column.into(),
        issue: issue.describe(),
        excerpt: super::convert::excerpt(v),
        fix: None,
    }
}

/// The float width a blob reads as, if any: float32 when every element is a plausible
/// embedding value, else float64 when those are, else none (pickles, images, weights…).
fn blob_width(b: &[u8]) -> Option<BlobWidth> {
    let plausible = |x: f64| x == 0.0 || (x.is_finite() && x.abs() < 1e6 && x.abs() > 1e-30);
    if b.len() >= 4 * MIN_DIM && b.len() % 4 == 0 {
        let mut all_zero = true;
        let ok = b.chunks_exact(4).all(|c| {
            let x = f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64;
            all_zero &= x == 0.0;
            plausible(x)
        });
        if ok && !all_zero {
            return Some(BlobWidth::F32);
        }
    }
    if b.len() >= 8 * MIN_DIM && b.len() % 8 == 0 {
        let ok = b
            .chunks_exact(8)
            .all(|c| plausible(f64::from_le_bytes(c.try_into().unwrap_or([0xff; 8]))));
        if ok {
            return Some(BlobWidth::F64);
        }
    }
    None
}

#[cfg(test)]
#[path = "embeddings_tests.rs"]
mod tests;
