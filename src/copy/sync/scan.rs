//! Finding what changed by reading the SQLite file once: every row of every synced table is
//! hashed as SQLite holds it (XXH3 of its values, no conversion, no allocation per row) and
//! compared by primary key with the hashes kept from the last time PostgreSQL was made equal
//! to the file (`hashes.bin` in the store). Only the keys that differ are looked at again.
//!
//! A table without a primary key (or whose key is not copied) has no keys to compare: it
//! keeps its row count and an order-independent sum of its rows' hashes, and when either
//! moved it is reloaded whole.
//!
//! Invariant: the key lists are sorted by their encoded bytes (any total order will do, as
//! long as both sides use the same one); the encoding is injective, so a key decodes back
//! into the values SQLite holds.

use super::super::schema::quote_sqlite;
use super::diff::Key;
use anyhow::{Context as _, Result, bail};
use rusqlite::Connection;
use rusqlite::types::{Value, ValueRef};
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::path::Path;
use xxhash_rust::xxh3::{xxh3_64, xxh3_128};

/// The format of `hashes.bin`.
const MAGIC: &[u8; 8] = b"dj2pgH1\n";

/// A table the sync follows, and the key that names its rows (empty: compared whole).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Followed {
    pub name: String,
    pub pk: Vec<String>,
}

/// One table's rows as hashes by key.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TableHashes {
    pub name: String,
    /// The keys, encoded one after the other; `ends[i]` is where key `i` ends.
    keys: Vec<u8>,
    ends: Vec<u64>,
    hashes: Vec<u64>,
    /// A table compared whole: its rows and the wrapping sum of their 128-bit hashes.
    whole: Option<(u64, u128)>,
}

impl TableHashes {
    pub fn rows(&self) -> u64 {
        match self.whole {
            Some((n, _)) => n,
            None => self.hashes.len() as u64,
        }
    }

    fn key(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.keys[start..self.ends[i] as usize]
    }
}

/// What changed in one table between two scans.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Compared {
    pub inserted: Vec<Key>,
    pub updated: Vec<Key>,
    pub deleted: Vec<Key>,
    pub whole: bool,
}

/// Hash every row of `db.table` (a schema name of `conn`: `main`, or an attached one).
pub fn scan(conn: &Connection, db: &str, t: &Followed) -> Result<TableHashes> {
    let name = quote_sqlite(&t.name);
    let mut stmt = conn
        .prepare(&format!("SELECT * FROM {db}.{name}"))
        .with_context(|| format!("could not read {}", t.name))?;
    let columns: Vec<String> = stmt.column_names().iter().map(|c| c.to_string()).collect();
    let pk: Vec<usize> =
        t.pk.iter()
            .map(|k| columns.iter().position(|c| c == k))
            .collect::<Option<_>>()
            .with_context(|| format!("{} no longer has its primary key", t.name))?;
    let n = columns.len();
    let mut out = TableHashes {
        name: t.name.clone(),
        whole: pk.is_empty().then_some((0, 0)),
        ..TableHashes::default()
    };
    let mut rows = stmt.query([])?;
    let mut buf = Vec::with_capacity(256);
    let mut sorted = true;
    while let Some(row) = rows.next()? {
        buf.clear();
        for i in 0..n {
            put(&mut buf, row.get_ref(i)?);
        }
        if let Some((count, sum)) = out.whole.as_mut() {
            *count += 1;
            *sum = sum.wrapping_add(xxh3_128(&buf));
            continue;
        }
        let start = out.keys.len();
        for &p in &pk {
            put(&mut out.keys, row.get_ref(p)?);
        }
        if sorted && let Some(&prev_end) = out.ends.last() {
            let prev_start = out.ends.len().checked_sub(2).map_or(0, |i| out.ends[i]) as usize;
            sorted = out.keys[prev_start..prev_end as usize] < out.keys[start..];
        }
        out.ends.push(out.keys.len() as u64);
        out.hashes.push(xxh3_64(&buf));
    }
    if !sorted {
        sort(&mut out);
    }
    Ok(out)
}

/// Encode one value: a tag, then the bytes (lengths before texts and blobs), so that two
/// different values never encode the same and the encoding decodes back.
fn put(out: &mut Vec<u8>, v: ValueRef<'_>) {
    match v {
        ValueRef::Null => out.push(0),
        ValueRef::Integer(i) => {
            out.push(1);
            // Sign bit flipped: byte order is numeric order (rowid order needs no sort).
            out.extend_from_slice(&((i as u64) ^ (1 << 63)).to_be_bytes());
        }
        ValueRef::Real(f) => {
            out.push(2);
            out.extend_from_slice(&f.to_bits().to_be_bytes());
        }
        ValueRef::Text(b) => {
            out.push(3);
            out.extend_from_slice(&(b.len() as u32).to_be_bytes());
            out.extend_from_slice(b);
        }
        ValueRef::Blob(b) => {
            out.push(4);
            out.extend_from_slice(&(b.len() as u32).to_be_bytes());
            out.extend_from_slice(b);
        }
    }
}

/// Decode a key encoded by [`put`].
fn decode(mut b: &[u8]) -> Key {
    let mut out = Vec::new();
    let take = |b: &mut &[u8], n: usize| -> Vec<u8> {
        let n = n.min(b.len());
        let (head, tail) = b.split_at(n);
        *b = tail;
        head.to_vec()
    };
    let word = |b: &mut &[u8]| -> u64 {
        let mut w = [0u8; 8];
        let bytes = take(b, 8);
        w[..bytes.len()].copy_from_slice(&bytes);
        u64::from_be_bytes(w)
    };
    while let Some((&tag, rest)) = b.split_first() {
        b = rest;
        out.push(match tag {
            1 => Value::Integer((word(&mut b) ^ (1 << 63)) as i64),
            2 => Value::Real(f64::from_bits(word(&mut b))),
            3 | 4 => {
                let mut l = [0u8; 4];
                let bytes = take(&mut b, 4);
                l[..bytes.len()].copy_from_slice(&bytes);
                let data = take(&mut b, u32::from_be_bytes(l) as usize);
                if tag == 3 {
                    Value::Text(String::from_utf8_lossy(&data).into_owned())
                } else {
                    Value::Blob(data)
                }
            }
            _ => Value::Null,
        });
    }
    out
}

fn sort(t: &mut TableHashes) {
    let mut order: Vec<usize> = (0..t.hashes.len()).collect();
    order.sort_unstable_by(|&a, &b| t.key(a).cmp(t.key(b)));
    let mut keys = Vec::with_capacity(t.keys.len());
    let mut ends = Vec::with_capacity(t.ends.len());
    let mut hashes = Vec::with_capacity(t.hashes.len());
    for i in order {
        keys.extend_from_slice(t.key(i));
        ends.push(keys.len() as u64);
        hashes.push(t.hashes[i]);
    }
    (t.keys, t.ends, t.hashes) = (keys, ends, hashes);
}

/// What changed from `old` to `new` (the same table), by key.
pub fn compare(old: &TableHashes, new: &TableHashes) -> Compared {
    let mut c = Compared::default();
    if let (Some(a), Some(b)) = (old.whole, new.whole) {
        c.whole = a != b;
        return c;
    }
    let (mut i, mut j) = (0, 0);
    let (n, m) = (old.hashes.len(), new.hashes.len());
    while i < n || j < m {
        let order = match (i < n, j < m) {
            (true, true) => old.key(i).cmp(new.key(j)),
            (true, false) => std::cmp::Ordering::Less,
            _ => std::cmp::Ordering::Greater,
        };
        match order {
            std::cmp::Ordering::Less => {
                c.deleted.push(decode(old.key(i)));
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                c.inserted.push(decode(new.key(j)));
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                if old.hashes[i] != new.hashes[j] {
                    c.updated.push(decode(new.key(j)));
                }
                i += 1;
                j += 1;
            }
        }
    }
    c
}

/// Write every table's hashes to `path` (through a temporary file and a rename).
pub fn save(path: &Path, tables: &[TableHashes]) -> Result<()> {
    crate::atomic::write_with(path, |w| {
        w.write_all(MAGIC)?;
        w.write_all(&(tables.len() as u64).to_le_bytes())?;
        for t in tables {
            let (rows, sum) = t.whole.unwrap_or((u64::MAX, 0));
            for n in [
                t.name.len() as u64,
                rows,
                t.keys.len() as u64,
                t.ends.len() as u64,
            ] {
                w.write_all(&n.to_le_bytes())?;
            }
            w.write_all(t.name.as_bytes())?;
            w.write_all(&sum.to_le_bytes())?;
            w.write_all(&t.keys)?;
            for e in &t.ends {
                w.write_all(&e.to_le_bytes())?;
            }
            for h in &t.hashes {
                w.write_all(&h.to_le_bytes())?;
            }
        }
        Ok(())
    })
}

/// Read what [`save`] wrote.
pub fn load(path: &Path) -> Result<Vec<TableHashes>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .with_context(|| format!("could not read {}", path.display()))?;
    let damaged = || {
        anyhow::anyhow!(
            "{} is damaged; run dj2pg copy again (or dj2pg sync --forget)",
            path.display()
        )
    };
    let mut at = 0usize;
    let mut take = |n: usize| -> Result<&[u8]> {
        let s = bytes.get(at..at + n).ok_or_else(damaged)?;
        at += n;
        Ok(s)
    };
    if take(8)? != MAGIC {
        bail!(
            "{} was written by another version of dj2pg; run dj2pg copy again",
            path.display()
        );
    }
    let word = |s: &[u8]| u64::from_le_bytes(s.try_into().unwrap_or([0; 8]));
    let count = word(take(8)?);
    let mut out = Vec::new();
    for _ in 0..count {
        let header: Vec<u64> = (0..4).map(|_| take(8).map(word)).collect::<Result<_>>()?;
        let [name_len, rows, keys_len, n] = header[..] else {
            return Err(damaged());
        };
        let name = String::from_utf8_lossy(take(name_len as usize)?).into_owned();
        let sum = u128::from_le_bytes(take(16)?.try_into().unwrap_or([0; 16]));
        let keys = take(keys_len as usize)?.to_vec();
        let ends: Vec<u64> = take(n as usize * 8)?.chunks(8).map(word).collect();
        let hashes: Vec<u64> = take(n as usize * 8)?.chunks(8).map(word).collect();
        out.push(TableHashes {
            name,
            keys,
            ends,
            hashes,
            whole: (rows != u64::MAX).then_some((rows, sum)),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db(sql: &str) -> Connection {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(sql).unwrap();
        c
    }

    #[test]
    fn inserts_updates_and_deletes_are_found_by_key_for_every_kind_of_key() {
        let old = db(
            "CREATE TABLE t (a integer, b text, v real, PRIMARY KEY (a, b));
             INSERT INTO t VALUES (1, 'x', 1.0), (1, 'y', 2.0), (2, 'x', 3.0), (-5, 'z', 0);
             CREATE TABLE n (s text PRIMARY KEY, v) ; INSERT INTO n VALUES ('b', 1), ('a', 2);
             CREATE TABLE w (x, y); INSERT INTO w VALUES (1, 2), (3, 4);",
        );
        let new = db(
            "CREATE TABLE t (a integer, b text, v real, PRIMARY KEY (a, b));
             INSERT INTO t VALUES (1, 'x', 1.0), (1, 'y', 2.5), (3, 'q', 3.0), (-5, 'z', 0);
             CREATE TABLE n (s text PRIMARY KEY, v) ; INSERT INTO n VALUES ('a', 2), ('b', 1);
             CREATE TABLE w (x, y); INSERT INTO w VALUES (3, 4), (1, 2);",
        );
        let t = Followed {
            name: "t".into(),
            pk: vec!["a".into(), "b".into()],
        };
        let (a, b) = (
            scan(&old, "main", &t).unwrap(),
            scan(&new, "main", &t).unwrap(),
        );
        let c = compare(&a, &b);
        let k = |a: i64, b: &str| vec![Value::Integer(a), Value::Text(b.into())];
        assert_eq!(c.inserted, vec![k(3, "q")]);
        assert_eq!(c.updated, vec![k(1, "y")]);
        assert_eq!(c.deleted, vec![k(2, "x")]);
        // A text key scanned in another order; a table compared whole, rows reordered.
        let n = Followed {
            name: "n".into(),
            pk: vec!["s".into()],
        };
        let c = compare(
            &scan(&old, "main", &n).unwrap(),
            &scan(&new, "main", &n).unwrap(),
        );
        assert_eq!(c, Compared::default());
        let w = Followed {
            name: "w".into(),
            pk: vec![],
        };
        let (wa, wb) = (
            scan(&old, "main", &w).unwrap(),
            scan(&new, "main", &w).unwrap(),
        );
        assert!(!compare(&wa, &wb).whole);
        new.execute_batch("UPDATE w SET y = 5 WHERE x = 3").unwrap();
        assert!(compare(&wa, &scan(&new, "main", &w).unwrap()).whole);
        // Saved and read back, the same.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hashes.bin");
        save(&file, &[a.clone(), wa.clone()]).unwrap();
        assert_eq!(load(&file).unwrap(), vec![a, wa]);
    }
}
