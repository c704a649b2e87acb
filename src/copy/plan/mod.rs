//! The plan: which tables and columns go where, in which order, and what is left out and why.
//!
//! Tables and columns are matched through Django's names where Django was asked, and by
//! Django's and PostgreSQL's shortening rules otherwise ([`super::names`]): a model's table
//! can be longer than 63 characters on SQLite and shortened on PostgreSQL. Everything on one
//! side only is said in plain words (`notes`); SQLite data with no place on PostgreSQL (a
//! table with rows, a column with values) is [`Unmapped`]: a question before anything is
//! written, unless the user named it to be left behind. What cannot work (a NOT NULL target
//! column without default and without a source, a table the role may not write) stops the
//! plan before anything is written.
//! Tables are ordered by foreign keys, parents first; a cycle becomes one group, loaded in
//! one transaction (Django's constraints are DEFERRABLE INITIALLY DEFERRED).

use super::names::{self, Found, NameMap};
use super::schema::{PgSchema, SqliteSchema, SqliteTable, quote_pg, quote_sqlite};
use super::types::PgType;
use crate::data::copy::{DerivedTable, Unmapped};
use anyhow::{Result, bail};

/// One column to copy.
#[derive(Clone, Debug, PartialEq)]
pub struct ColumnPlan {
    /// The SQLite column.
    pub name: String,
    /// The PostgreSQL column (another name when PostgreSQL cut a name over 63 bytes).
    pub target: String,
    pub ty: PgType,
    pub nullable: bool,
}

impl ColumnPlan {
    /// A column of the same name on both sides.
    pub fn same(name: &str, ty: PgType, nullable: bool) -> ColumnPlan {
        ColumnPlan {
            name: name.into(),
            target: name.into(),
            ty,
            nullable,
        }
    }
}

/// A foreign key of a planned table, for the dangling-reference check, in SQLite's names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefPlan {
    pub column: String,
    pub ref_table: String,
    pub ref_column: String,
}

/// One table to copy.
#[derive(Clone, Debug, PartialEq)]
pub struct TablePlan {
    /// The SQLite table.
    pub name: String,
    /// `"schema"."table"` on PostgreSQL.
    pub target: String,
    /// The PostgreSQL table's own name (another one when Django or PostgreSQL shortened it).
    pub pg_name: String,
    pub columns: Vec<ColumnPlan>,
    /// Source primary-key columns (for naming rows in reports).
    pub pk: Vec<String>,
    pub has_rowid: bool,
    pub source_rows: u64,
    /// (column, sequence) pairs to reset after the load.
    pub sequences: Vec<(String, String)>,
    /// SQLite's AUTOINCREMENT counter for this table.
    pub sqlite_seq: Option<i64>,
    /// Planned tables this one references through a foreign-key constraint.
    pub parents: Vec<usize>,
    pub refs: Vec<RefPlan>,
}

impl TablePlan {
    /// `SELECT <key>, <columns> FROM t`, the key first (rowid, or the primary key).
    pub fn select_sql(&self, range: bool) -> String {
        let mut cols = vec![self.key_expr()];
        cols.extend(self.columns.iter().map(|c| quote_sqlite(&c.name)));
        let mut sql = format!(
            "SELECT {} FROM {}",
            cols.join(", "),
            quote_sqlite(&self.name)
        );
        if range {
            sql.push_str(" WHERE rowid >= ?1 AND rowid < ?2");
        }
        sql
    }

    /// Whether a foreign key of this table points at the table itself (a row may then
    /// reference a row loaded after it).
    pub fn references_itself(&self) -> bool {
        self.refs.iter().any(|r| r.ref_table == self.name)
    }

    /// An expression naming the row: the primary key (as text), else the rowid.
    pub fn key_expr(&self) -> String {
        match self.pk.as_slice() {
            [] if self.has_rowid => "'rowid ' || rowid".into(),
            [] => "NULL".into(),
            [one] => quote_sqlite(one),
            many => many
                .iter()
                .map(|c| quote_sqlite(c))
                .collect::<Vec<_>>()
                .join(" || ',' || "),
        }
    }

    /// `COPY t ("a", "b") FROM STDIN (FORMAT binary)`; with `freeze`, rows are written
    /// frozen (allowed only when the table was emptied in the same transaction).
    pub fn copy_in_sql(&self, freeze: bool) -> String {
        format!(
            "COPY {} ({}) FROM STDIN (FORMAT binary{})",
            self.target,
            self.column_list(),
            if freeze { ", FREEZE" } else { "" }
        )
    }

    /// The PostgreSQL name of the SQLite column `source` (itself when it is not copied).
    pub fn target_of<'a>(&'a self, source: &'a str) -> &'a str {
        self.columns
            .iter()
            .find(|c| c.name == source)
            .map_or(source, |c| c.target.as_str())
    }

    /// Refuse a table with no column to copy (its `COPY` would have no column list).
    pub fn ensure_copyable(&self) -> Result<()> {
        if self.columns.is_empty() {
            bail!("table {} has no column that can be copied", self.name);
        }
        Ok(())
    }

    pub fn column_list(&self) -> String {
        self.columns
            .iter()
            .map(|c| quote_pg(&c.target))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
impl TablePlan {
    /// A table of `rows` rows referencing `parents`, without columns: for tests of the
    /// load's order and decisions.
    pub fn bare(name: &str, rows: u64, parents: &[usize]) -> TablePlan {
        TablePlan {
            name: name.into(),
            target: name.into(),
            pg_name: name.into(),
            columns: Vec::new(),
            pk: Vec::new(),
            has_rowid: true,
            source_rows: rows,
            sequences: Vec::new(),
            sqlite_seq: None,
            parents: parents.to_vec(),
            refs: Vec::new(),
        }
    }
}

/// The whole plan.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// In load order: every table after the tables it references (cycles excepted).
    pub tables: Vec<TablePlan>,
    /// Groups of table indexes in load order; a group of several tables is a cycle.
    pub groups: Vec<Vec<usize>>,
    pub notes: Vec<String>,
    /// Target tables outside the plan that reference planned tables: (table, referenced).
    pub outside_referrers: Vec<(String, String, String)>,
    /// Tables of derived data, left out of the plan: left empty and rebuilt by the app.
    pub derived: Vec<DerivedTable>,
    /// SQLite data with no place on PostgreSQL (named by the user to be left behind, or not).
    pub unmapped: Vec<Unmapped>,
    /// Large values are compressed with lz4 in this run's sessions (see
    /// `CopySettings::lz4`): the server offers it and the settings ask for it.
    pub lz4: bool,
}

impl Plan {
    pub fn index(&self, name: &str) -> Option<usize> {
        self.tables.iter().position(|t| t.name == name)
    }

    /// The columns of SQLite table `table` that hold values and are left behind.
    pub fn left_behind(&self, table: &str) -> Vec<String> {
        self.unmapped
            .iter()
            .filter(|u| u.table == table)
            .filter_map(|u| u.column.clone())
            .collect()
    }
}

/// What the plan needs besides the two schemas.
pub struct Inputs<'a> {
    /// The role the copy runs as.
    pub user: &'a str,
    /// Django's names of every model on both backends, when Django was asked.
    pub names: Option<&'a NameMap>,
    /// Tables (`table`) and columns (`table.column`) the user named to be left behind.
    pub leave_behind: &'a [String],
    /// How many non-NULL values a SQLite column holds (asked only of columns without a
    /// place on PostgreSQL).
    pub values_in: &'a mut dyn FnMut(&str, &str) -> Result<u64>,
}

mod columns;
mod derived;
mod order;

#[cfg(test)]
use order::order;

/// Match the two schemas.
pub fn build(src: &SqliteSchema, dst: &PgSchema, inputs: Inputs<'_>) -> Result<Plan> {
    let mut b = Builder {
        inputs,
        notes: Vec::new(),
        errors: Vec::new(),
        unmapped: Vec::new(),
    };
    for (name, why) in &src.set_aside {
        b.notes
            .push(format!("SQLite table {name} is not copied: {why}."));
    }
    let mut tables = Vec::new();
    let mut derived = Vec::new();
    let mut matched = vec![false; dst.tables.len()];
    for s in &src.tables {
        match b.table(src, dst, s, &mut matched)? {
            Some(Planned::Table(t)) => tables.push(t),
            Some(Planned::Derived(d)) => derived.push(d),
            None => {}
        }
    }
    for (t, matched) in dst.tables.iter().zip(&matched) {
        if t.name != "django_migrations" && !matched {
            b.notes.push(format!(
                "PostgreSQL table {} has no SQLite counterpart: left as it is.",
                t.name
            ));
        }
    }
    b.check_leave_behind();
    if !b.errors.is_empty() {
        bail!("the copy cannot start:\n- {}", b.errors.join("\n- "));
    }
    let mut outside_referrers = Vec::new();
    order::link_foreign_keys(&mut tables, &dst.foreign_keys, &mut outside_referrers);
    let (tables, groups) = order::order(tables);
    Ok(Plan {
        tables,
        groups,
        notes: b.notes,
        outside_referrers,
        derived,
        unmapped: b.unmapped,
        lz4: dst.lz4,
    })
}

/// The plan as it is built: its inputs, what it says, and what stops it.
struct Builder<'i> {
    inputs: Inputs<'i>,
    notes: Vec<String>,
    errors: Vec<String>,
    unmapped: Vec<Unmapped>,
}

/// What one SQLite table becomes.
enum Planned {
    Table(TablePlan),
    Derived(DerivedTable),
}

impl Builder<'_> {
    /// The user named SQLite `table` (or its `column`) to be left behind.
    fn named(&self, table: &str, column: Option<&str>) -> bool {
        self.inputs.leave_behind.iter().any(|n| match column {
            None => n == table,
            Some(c) => n.split_once('.') == Some((table, c)),
        })
    }

    /// SQLite table `s`: its PostgreSQL table, and what to copy there; `None` when it
    /// has none (noted, or unmapped) or is refused.
    fn table(
        &mut self,
        src: &SqliteSchema,
        dst: &PgSchema,
        s: &SqliteTable,
        matched: &mut [bool],
    ) -> Result<Option<Planned>> {
        let pg_names: Vec<&str> = dst.tables.iter().map(|t| t.name.as_str()).collect();
        let sqlite_names: Vec<&str> = src.tables.iter().map(|t| t.name.as_str()).collect();
        let map = self.inputs.names;
        let Some((pg_name, found)) = names::find_table(&s.name, map, &pg_names, &sqlite_names)
        else {
            self.no_table(s);
            return Ok(None);
        };
        let Some(ti) = dst.tables.iter().position(|t| t.name == pg_name) else {
            return Ok(None);
        };
        if std::mem::replace(&mut matched[ti], true) {
            self.errors.push(format!(
                "two SQLite tables map to the PostgreSQL table {pg_name}; the second is {}: rename one of them.",
                s.name
            ));
            return Ok(None);
        }
        let t = &dst.tables[ti];
        if found != Found::Same {
            self.notes.push(format!(
                "SQLite table {} is {} on PostgreSQL ({}).",
                s.name,
                t.name,
                if found == Found::Django {
                    "Django's name for the model there"
                } else {
                    "Django and PostgreSQL shorten names over 63 characters"
                }
            ));
        }
        if let Some(d) = derived::derived_table(s, t) {
            return Ok(Some(Planned::Derived(d)));
        }
        if !(t.can_select && t.can_insert && t.can_truncate) {
            self.errors.push(format!(
                "table {} belongs to role {:?}, and {:?} may not empty and fill it (needs SELECT, INSERT, TRUNCATE): run the copy as {:?}, the role that ran migrate, or grant those privileges.",
                t.name, t.owner, self.inputs.user, t.owner
            ));
        }
        let source_of = self.sources(s, t)?;
        let (columns, sequences) = self.columns(t, &source_of);
        if s.pk.is_empty() {
            self.notes.push(format!(
                "SQLite table {} has no primary key: rows are named by rowid in reports.",
                s.name
            ));
        }
        Ok(Some(Planned::Table(TablePlan {
            name: s.name.clone(),
            target: t.qualified(),
            pg_name: t.name.clone(),
            columns,
            pk: s.pk.clone(),
            has_rowid: s.has_rowid,
            source_rows: s.rows,
            sequences,
            sqlite_seq: src.sequences.get(&s.name).copied(),
            parents: Vec::new(),
            refs: Vec::new(),
        })))
    }

    /// SQLite table `s` has no table on PostgreSQL: nothing to copy, or data to ask about.
    fn no_table(&mut self, s: &SqliteTable) {
        if s.rows == 0 {
            self.notes.push(format!(
                "SQLite table {} (empty) has no table on PostgreSQL: nothing to copy.",
                s.name
            ));
        } else {
            self.unmapped.push(Unmapped {
                table: s.name.clone(),
                column: None,
                rows: s.rows,
                named: self.named(&s.name, None),
            });
        }
    }

    /// Every `--leave-behind` name is data without a place; each one named is noted.
    fn check_leave_behind(&mut self) {
        for n in self.inputs.leave_behind {
            let (table, column) = match n.split_once('.') {
                Some((t, c)) => (t, Some(c)),
                None => (n.as_str(), None),
            };
            if !self
                .unmapped
                .iter()
                .any(|u| u.table == table && u.column.as_deref() == column)
            {
                self.errors.push(format!(
                    "--leave-behind {n}: no SQLite {} of that name holds data without a place on PostgreSQL{}.",
                    if column.is_some() { "column" } else { "table" },
                    nearest_unmapped(&self.unmapped)
                ));
            }
        }
        for u in self.unmapped.iter().filter(|u| u.named) {
            self.notes.push(format!(
                "{} has no place on PostgreSQL: left behind, as --leave-behind asked.",
                u.describe()
            ));
        }
    }
}

/// ` (those are: a, b.c)`, or nothing.
fn nearest_unmapped(unmapped: &[Unmapped]) -> String {
    if unmapped.is_empty() {
        return " (nothing needs naming)".into();
    }
    let names: Vec<String> = unmapped.iter().map(Unmapped::name).collect();
    format!(" (those are: {})", names.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str, parents: Vec<usize>) -> TablePlan {
        TablePlan {
            name: name.into(),
            target: name.into(),
            pg_name: name.into(),
            columns: Vec::new(),
            pk: vec!["id".into()],
            has_rowid: true,
            source_rows: 0,
            sequences: Vec::new(),
            sqlite_seq: None,
            parents,
            refs: Vec::new(),
        }
    }

    use crate::copy::schema::{PgColumn, PgTable, SqliteColumn, SqliteTable};

    fn pg_col(name: &str, ty: PgType, not_null: bool, has_default: bool) -> PgColumn {
        PgColumn {
            name: name.into(),
            attnum: 0,
            type_sql: ty.sql_name(),
            ty,
            not_null,
            has_default,
            identity: false,
            generated: false,
            sequence: None,
        }
    }

    fn schemas() -> (SqliteSchema, PgSchema) {
        let src = SqliteSchema {
            tables: vec![SqliteTable {
                name: "t".into(),
                columns: ["id", "a", "old"]
                    .iter()
                    .map(|n| SqliteColumn {
                        name: n.to_string(),
                        decl_type: "text".into(),
                    })
                    .collect(),
                pk: vec!["id".into()],
                has_rowid: true,
                rows: 5,
            }],
            ..Default::default()
        };
        let mut id = pg_col("id", PgType::Int8, true, true);
        id.sequence = Some("public.t_id_seq".into());
        let mut gen_col = pg_col("g", PgType::Text, false, false);
        gen_col.generated = true;
        let dst = PgSchema {
            tables: vec![PgTable {
                oid: 1,
                schema: "public".into(),
                name: "t".into(),
                owner: "app".into(),
                columns: vec![
                    id,
                    pg_col("a", PgType::Varchar(Some(5)), true, false),
                    gen_col,
                    pg_col("search", PgType::TsVector, false, false),
                    pg_col("new", PgType::Text, false, false),
                ],
                can_select: true,
                can_insert: true,
                can_truncate: true,
            }],
            foreign_keys: Vec::new(),
            lz4: false,
        };
        (src, dst)
    }

    /// Build with every one-sided SQLite column holding `values` values.
    fn build_with(
        src: &SqliteSchema,
        dst: &PgSchema,
        leave_behind: &[String],
        values: u64,
    ) -> Result<Plan> {
        let mut values_in = |_: &str, _: &str| Ok(values);
        build(
            src,
            dst,
            Inputs {
                user: "app",
                names: None,
                leave_behind,
                values_in: &mut values_in,
            },
        )
    }

    fn plain(src: &SqliteSchema, dst: &PgSchema) -> Result<Plan> {
        build_with(src, dst, &[], 0)
    }

    #[test]
    fn columns_match_by_name_and_one_sided_ones_are_said() {
        let (src, dst) = schemas();
        let plan = plain(&src, &dst).unwrap();
        let t = &plan.tables[0];
        let cols: Vec<_> = t.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(cols, ["id", "a"]);
        assert_eq!(
            t.sequences,
            [("id".to_string(), "public.t_id_seq".to_string())]
        );
        let notes = plan.notes.join("\n");
        for want in [
            "t.old exists only in SQLite and holds no values",
            "t.g is GENERATED ALWAYS",
            "t.search is a search vector",
            "t.new exists only on PostgreSQL",
        ] {
            assert!(notes.contains(want), "{want}: {notes}");
        }
        assert_eq!(
            t.copy_in_sql(false),
            r#"COPY "public"."t" ("id", "a") FROM STDIN (FORMAT binary)"#
        );
    }

    #[test]
    fn not_null_without_default_or_source_stops_the_plan() {
        let (src, mut dst) = schemas();
        dst.tables[0]
            .columns
            .push(pg_col("required", PgType::Int4, true, false));
        let e = plain(&src, &dst).unwrap_err().to_string();
        assert!(
            e.contains("t.required") && e.contains("NOT NULL without a default"),
            "{e}"
        );
        let (src, mut dst) = schemas();
        dst.tables[0].owner = "doadmin".into();
        dst.tables[0].can_truncate = false;
        let e = plain(&src, &dst).unwrap_err().to_string();
        assert!(e.contains("belongs to role \"doadmin\""), "{e}");
    }

    #[test]
    fn data_without_a_place_is_unmapped_until_named() {
        let (mut src, dst) = schemas();
        src.tables.push(SqliteTable {
            name: "gone".into(),
            columns: Vec::new(),
            pk: Vec::new(),
            has_rowid: true,
            rows: 7,
        });
        let plan = build_with(&src, &dst, &[], 3).unwrap();
        let names: Vec<_> = plan
            .unmapped
            .iter()
            .map(|u| (u.name(), u.rows, u.named))
            .collect();
        assert_eq!(
            names,
            [
                ("t.old".to_string(), 3, false),
                ("gone".to_string(), 7, false)
            ]
        );
        assert_eq!(plan.left_behind("t"), ["old"]);
        let named = ["t.old".to_string(), "gone".to_string()];
        let plan = build_with(&src, &dst, &named, 3).unwrap();
        assert!(plan.unmapped.iter().all(|u| u.named));
        // A name that matches nothing to leave behind is refused, with what there is.
        let e = build_with(&src, &dst, &["t.olf".to_string()], 3)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("--leave-behind t.olf") && e.contains("those are: t.old, gone"),
            "{e}"
        );
    }

    #[test]
    fn long_names_are_matched_through_the_shortening_rules() {
        let long_table = format!("ml_{}", "x".repeat(64));
        let long_col = format!("c_{}", "y".repeat(66));
        let src = SqliteSchema {
            tables: vec![SqliteTable {
                name: long_table.clone(),
                columns: ["id", long_col.as_str()]
                    .iter()
                    .map(|n| SqliteColumn {
                        name: n.to_string(),
                        decl_type: "text".into(),
                    })
                    .collect(),
                pk: vec!["id".into()],
                has_rowid: true,
                rows: 2,
            }],
            ..Default::default()
        };
        let pg_table = names::django_truncate(&long_table);
        let pg_colname = names::pg_clip(&long_col);
        let dst = PgSchema {
            tables: vec![PgTable {
                oid: 1,
                schema: "public".into(),
                name: pg_table.clone(),
                owner: "app".into(),
                columns: vec![
                    pg_col("id", PgType::Int8, true, true),
                    pg_col(&pg_colname, PgType::Text, false, false),
                ],
                can_select: true,
                can_insert: true,
                can_truncate: true,
            }],
            foreign_keys: Vec::new(),
            lz4: false,
        };
        let plan = plain(&src, &dst).unwrap();
        assert!(plan.unmapped.is_empty(), "{:?}", plan.unmapped);
        let t = &plan.tables[0];
        assert_eq!(t.name, long_table);
        assert_eq!(t.pg_name, pg_table);
        assert_eq!(t.columns[1].name, long_col);
        assert_eq!(t.columns[1].target, pg_colname);
        assert!(t.select_sql(false).contains(&long_col));
        assert!(t.copy_in_sql(false).contains(&pg_colname));
    }

    #[test]
    fn parents_first_and_cycles_grouped() {
        // 0 child → 1 parent; 2 ↔ 3 cycle, 3 → 1; 4 self-reference only.
        let tables = vec![
            table("child", vec![1]),
            table("parent", vec![]),
            table("a", vec![3]),
            table("b", vec![2, 1]),
            table("selfref", vec![]),
        ];
        let (ordered, groups) = order(tables);
        let names: Vec<_> = ordered.iter().map(|t| t.name.as_str()).collect();
        let pos = |n: &str| names.iter().position(|x| *x == n).unwrap();
        assert!(pos("parent") < pos("child"));
        assert!(pos("parent") < pos("a") && pos("parent") < pos("b"));
        let cycle: Vec<_> = groups.iter().filter(|g| g.len() > 1).collect();
        assert_eq!(cycle.len(), 1);
        assert_eq!(cycle[0].len(), 2);
        // Parent indexes were renumbered into the new order.
        for (i, t) in ordered.iter().enumerate() {
            for &p in &t.parents {
                assert!(p < i || groups.iter().any(|g| g.contains(&p) && g.contains(&i)));
            }
        }
    }
}
