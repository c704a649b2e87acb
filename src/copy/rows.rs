//! Reading a table's rows from SQLite and turning each into a binary COPY tuple.
//!
//! Shared by preflight (which collects every issue), the load (which applies the chosen
//! policy) and resume (which checksums the source). Rows are streamed from a prepared
//! statement, so memory does not grow with the table.

use super::convert::{self, Fix, Issue, Written, Zone};
use super::plan::TablePlan;
use super::refcheck::{Missing, RefCheck};
use rusqlite::types::ValueRef;

/// What became of one row.
#[derive(Debug)]
pub enum RowOutcome {
    /// Written to the buffer; fixes applied, by column index.
    Written(Vec<(usize, Fix)>),
    /// Not written; every issue found, by column index.
    Rejected(Vec<(usize, Issue)>),
}

/// The text naming a row (its primary key, or rowid).
pub fn key_text(v: ValueRef<'_>) -> String {
    match v {
        ValueRef::Null => "?".into(),
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(f) => format!("{f:?}"),
        ValueRef::Text(b) | ValueRef::Blob(b) => String::from_utf8_lossy(b).into_owned(),
    }
}

/// Encode the row (key at index 0, then the plan's columns) as a COPY tuple appended to
/// `buf`, checking its references with `refs` (`key`: the row's key text, when `refs` needs it). With `fix`, fixable issues are repaired. On any unfixed issue `buf` is left as it
/// was and every issue of the row is returned.
pub fn encode_row(
    table: &TablePlan,
    row: &rusqlite::Row<'_>,
    zone: &Zone,
    fix: bool,
    refs: &RefCheck,
    key: Option<&str>,
    buf: &mut Vec<u8>,
) -> rusqlite::Result<RowOutcome> {
    let start = buf.len();
    buf.extend_from_slice(&(table.columns.len() as i16).to_be_bytes());
    let mut fixes = Vec::new();
    let mut issues = Vec::new();
    for (i, col) in table.columns.iter().enumerate() {
        let v = row.get_ref(i + 1)?;
        let len_at = buf.len();
        buf.extend_from_slice(&[0; 4]);
        let result = match refs.missing(i, v, key) {
            Some(_) if fix && col.nullable => Ok(Written::Fixed(Fix::SetNull)),
            Some(Missing::Gone(parent)) => Err(Issue {
                what: format!("refers to a row of {parent} that does not exist (deleted?)"),
                fix: col.nullable.then_some(Fix::SetNull),
            }),
            Some(Missing::LeftOut(parent)) => Err(Issue {
                what: format!(
                    "refers to a row of {parent} that was left out (see {parent}'s rejects)"
                ),
                fix: col.nullable.then_some(Fix::SetNull),
            }),
            None => convert::encode(v, &col.ty, zone, fix, buf),
        };
        let null = match result {
            Ok(Written::Null) if !col.nullable => {
                issues.push((
                    i,
                    Issue {
                        what: "is NULL, but the PostgreSQL column is NOT NULL".into(),
                        fix: None,
                    },
                ));
                true
            }
            Ok(Written::Null) | Ok(Written::Fixed(Fix::SetNull)) => {
                if let Ok(Written::Fixed(f)) = result {
                    fixes.push((i, f));
                }
                true
            }
            Ok(Written::Value) => false,
            Ok(Written::Fixed(f)) => {
                fixes.push((i, f));
                false
            }
            Err(issue) => {
                issues.push((i, issue));
                true
            }
        };
        let len: i32 = if null {
            buf.truncate(len_at + 4);
            -1
        } else {
            (buf.len() - len_at - 4) as i32
        };
        buf[len_at..len_at + 4].copy_from_slice(&len.to_be_bytes());
    }
    if issues.is_empty() {
        Ok(RowOutcome::Written(fixes))
    } else {
        buf.truncate(start);
        Ok(RowOutcome::Rejected(issues))
    }
}

/// One JSON line for the reject file: the row as SQLite holds it, and why it was left out.
pub fn reject_line(
    table: &TablePlan,
    key: &str,
    row: &rusqlite::Row<'_>,
    issues: &[(usize, Issue)],
) -> String {
    let mut values = serde_json::Map::new();
    for (i, col) in table.columns.iter().enumerate() {
        let v = match row.get_ref(i + 1) {
            Ok(ValueRef::Null) | Err(_) => serde_json::Value::Null,
            Ok(ValueRef::Integer(n)) => n.into(),
            Ok(ValueRef::Real(f)) => f.into(),
            Ok(ValueRef::Text(b)) => match std::str::from_utf8(b) {
                Ok(s) => s.into(),
                Err(_) => serde_json::json!({ "invalid_utf8_hex": hex::encode(b) }),
            },
            Ok(ValueRef::Blob(b)) => serde_json::json!({ "blob_hex": hex::encode(b) }),
        };
        values.insert(col.name.clone(), v);
    }
    let problems: Vec<_> = issues
        .iter()
        .map(|(i, issue)| serde_json::json!({ "column": table.columns[*i].name, "issue": issue.what }))
        .collect();
    serde_json::json!({ "table": table.name, "pk": key, "problems": problems, "row": values })
        .to_string()
}

/// The excerpt of column `i` of a row, for reports.
pub fn excerpt(row: &rusqlite::Row<'_>, i: usize) -> String {
    row.get_ref(i + 1).map(convert::excerpt).unwrap_or_default()
}
