//! A table's columns: each SQLite column matched to its PostgreSQL column (through
//! Django's names, or PostgreSQL's 63-byte cut), and each PostgreSQL column copied, left
//! to its default, or refused with the reason.

use super::{Builder, ColumnPlan};
use crate::copy::names;
use crate::copy::schema::{PgTable, SqliteTable};
use crate::copy::types::PgType;
use crate::data::copy::Unmapped;
use anyhow::Result;
use std::collections::HashMap;

impl Builder<'_> {
    /// PostgreSQL column → SQLite column. A SQLite column without a place is noted when
    /// it holds no values, and is unmapped data otherwise.
    pub(super) fn sources<'a>(
        &mut self,
        s: &'a SqliteTable,
        t: &'a PgTable,
    ) -> Result<HashMap<&'a str, &'a str>> {
        let table_names = self.inputs.names.and_then(|m| m.table(&s.name));
        let pg_cols: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
        let mut source_of: HashMap<&str, &str> = HashMap::new();
        for sc in &s.columns {
            // The PostgreSQL column, borrowed from `t` (as long as the map lives).
            let found = names::find_column(&sc.name, table_names, &pg_cols)
                .and_then(|pc| t.columns.iter().find(|c| c.name == pc))
                .map(|c| c.name.as_str());
            match found {
                Some(pc) if !source_of.contains_key(pc) => {
                    source_of.insert(pc, &sc.name);
                    if pc != sc.name {
                        self.notes.push(format!(
                            "{}.{} is {}.{pc} on PostgreSQL (PostgreSQL cuts names over 63 bytes).",
                            s.name, sc.name, t.name
                        ));
                    }
                }
                _ => {
                    let values = (self.inputs.values_in)(&s.name, &sc.name)?;
                    if values == 0 {
                        self.notes.push(format!(
                            "{}.{} exists only in SQLite and holds no values: nothing to copy.",
                            s.name, sc.name
                        ));
                    } else {
                        let named = self.named(&s.name, Some(&sc.name));
                        self.unmapped.push(Unmapped {
                            table: s.name.clone(),
                            column: Some(sc.name.clone()),
                            rows: values,
                            named,
                        });
                    }
                }
            }
        }
        Ok(source_of)
    }

    /// The columns to copy into `t` and its sequences to reset; columns left out are
    /// noted, or refused when the load could not fill them.
    pub(super) fn columns(
        &mut self,
        t: &PgTable,
        source_of: &HashMap<&str, &str>,
    ) -> (Vec<ColumnPlan>, Vec<(String, String)>) {
        let mut columns = Vec::new();
        let mut sequences = Vec::new();
        for c in &t.columns {
            if let Some(seq) = &c.sequence {
                sequences.push((c.name.clone(), seq.clone()));
            }
            if c.generated {
                self.notes.push(format!(
                    "{}.{} is GENERATED ALWAYS on PostgreSQL: left out of the copy; PostgreSQL computes it, and its indexes are built from the computed values.",
                    t.name, c.name
                ));
                continue;
            }
            if !c.ty.copyable() {
                let what = if c.ty == PgType::TsVector {
                    "a search vector (tsvector): derived data, left out of the copy; fill it from the text columns (UPDATE … SET col = to_tsvector(…)) and rebuild its index afterwards".to_string()
                } else {
                    format!(
                        "of type {}, which dj2pg does not convert: left out of the copy",
                        c.type_sql
                    )
                };
                if c.not_null && !c.has_default {
                    self.errors.push(format!(
                        "{}.{} is {what}, but it is NOT NULL without a default.",
                        t.name, c.name
                    ));
                } else {
                    self.notes.push(format!("{}.{} is {what}.", t.name, c.name));
                }
                continue;
            }
            let Some(&source) = source_of.get(c.name.as_str()) else {
                if c.not_null && !c.has_default && !c.identity {
                    self.errors.push(format!(
                        "{}.{} ({}) is NOT NULL without a default on PostgreSQL, and the SQLite table has no such column: add a default or make it nullable, or migrate the SQLite schema first.",
                        t.name, c.name, c.type_sql
                    ));
                } else {
                    self.notes.push(format!(
                        "{}.{} exists only on PostgreSQL: it gets its default (or NULL).",
                        t.name, c.name
                    ));
                }
                continue;
            };
            columns.push(ColumnPlan {
                name: source.to_string(),
                target: c.name.clone(),
                ty: c.ty.clone(),
                nullable: !c.not_null,
            });
        }
        (columns, sequences)
    }
}
