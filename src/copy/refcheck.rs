//! References to rows that do not exist: a foreign-key value whose parent row is gone.
//!
//! SQLite only enforces foreign keys when asked; Django checks them at commit, but rows
//! deleted with `db_constraint=False`, raw SQL or an old Django can dangle, and PostgreSQL
//! would refuse them at the end of the load. Every row is checked as it streams past.
//!
//! Django's keys are integers, so the parent's keys are read once into a bitmap over their
//! range ([`IdSet`]) and each child value is looked up in it while the row is encoded: no
//! second pass, no index lookup per row (an anti-join per foreign key was a third of the
//! copy's CPU at 1M rows). Sets are shared by the tables that reference the same parent.
//! Keys that are not all integers (text or UUID keys), or whose range would not fit the
//! memory budget, are checked with the anti-join instead, by row key.
//!
//! Rows the load leaves out (skipped, or not fixable) are recorded as it goes ([`LeftOut`]):
//! a parent is committed before its children load, so a child row pointing at a row that
//! was left out is caught the same way, named as such, and left out in turn — instead of
//! failing its table's foreign key at commit. (For integer keys; rows pointing at text
//! keys that were left out still fail at commit, with PostgreSQL's message.)

use super::plan::TablePlan;
use super::schema::quote_sqlite;
use rusqlite::Connection;
use rusqlite::types::ValueRef;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};

/// Rows found by the anti-join: row key → (column index, parent table).
pub type Dangling = HashMap<String, Vec<(usize, String)>>;

/// The memory all parent key sets of one pass may take together.
const BUDGET_BYTES: usize = 64 << 20;

/// The keys of a parent table's column, as a bitmap over `min..=max`.
#[derive(Debug)]
pub struct IdSet {
    min: i64,
    bits: Vec<u64>,
}

impl IdSet {
    fn with_range(min: i64, max: i64) -> IdSet {
        let span = (max as i128 - min as i128 + 1) as usize;
        IdSet {
            min,
            bits: vec![0; span.div_ceil(64)],
        }
    }

    fn insert(&mut self, id: i64) {
        let at = (id as i128 - self.min as i128) as usize;
        self.bits[at / 64] |= 1 << (at % 64);
    }

    pub fn contains(&self, id: i64) -> bool {
        let at = id as i128 - self.min as i128;
        if at < 0 {
            return false;
        }
        let at = at as usize;
        self.bits
            .get(at / 64)
            .is_some_and(|w| w & (1 << (at % 64)) != 0)
    }

    /// Whether a child value equals one of the keys, as SQLite's `=` would find it.
    fn holds(&self, v: ValueRef<'_>) -> bool {
        match v {
            ValueRef::Null => true,
            ValueRef::Integer(i) => self.contains(i),
            ValueRef::Real(f) => integral(f).is_some_and(|i| self.contains(i)),
            // Text only equals an integer key after numeric affinity (a TEXT-affinity
            // column holding "5"); in an INTEGER column such text is never numeric.
            ValueRef::Text(b) => std::str::from_utf8(b).ok().is_some_and(|s| {
                let s = s.trim();
                s.parse::<i64>()
                    .ok()
                    .or_else(|| s.parse::<f64>().ok().and_then(integral))
                    .is_some_and(|i| self.contains(i))
            }),
            ValueRef::Blob(_) => false,
        }
    }
}

fn integral(f: f64) -> Option<i64> {
    (f.fract() == 0.0 && f >= i64::MIN as f64 && f < i64::MAX as f64).then_some(f as i64)
}

/// A parent's key set once built; `None` inside: checked by the anti-join.
type SetCell = OnceLock<Option<Arc<IdSet>>>;

/// The parent key sets of one pass, built on first use and shared by every worker.
#[derive(Default)]
pub struct Parents {
    sets: Mutex<HashMap<(String, String), Arc<SetCell>>>,
    used: Mutex<usize>,
}

impl Parents {
    /// The key set of `table.column`, or `None` when it cannot be one (keys that are not
    /// all integers, or a range beyond the budget).
    fn get(
        &self,
        conn: &Connection,
        table: &str,
        column: &str,
    ) -> rusqlite::Result<Option<Arc<IdSet>>> {
        let cell = {
            let mut sets = self.sets.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(
                sets.entry((table.to_string(), column.to_string()))
                    .or_default(),
            )
        };
        if let Some(set) = cell.get() {
            return Ok(set.clone());
        }
        let built = self.build(conn, table, column)?.map(Arc::new);
        Ok(cell.get_or_init(|| built).clone())
    }

    fn build(
        &self,
        conn: &Connection,
        table: &str,
        column: &str,
    ) -> rusqlite::Result<Option<IdSet>> {
        let (t, c) = (quote_sqlite(table), quote_sqlite(column));
        let (min, max) = conn.query_row(
            &format!("SELECT min({c}), max({c}) FROM {t} WHERE {c} IS NOT NULL"),
            [],
            |r| Ok((r.get_ref(0)?.as_i64().ok(), r.get_ref(1)?.as_i64().ok())),
        )?;
        let (min, max) = match (min, max) {
            (Some(a), Some(b)) => (a, b),
            // Empty, or keys that are not integers: the anti-join decides.
            _ => return Ok(None),
        };
        let span = max as i128 - min as i128 + 1;
        let bytes = (span as u128).div_ceil(64) as usize * 8;
        {
            let mut used = self.used.lock().unwrap_or_else(|p| p.into_inner());
            if span > (BUDGET_BYTES as i128) * 8 || *used + bytes > BUDGET_BYTES {
                return Ok(None);
            }
            *used += bytes;
        }
        let set = read_ids(conn, &t, &c, min, max);
        if !matches!(set, Ok(Some(_))) {
            *self.used.lock().unwrap_or_else(|p| p.into_inner()) -= bytes;
        }
        set
    }
}

/// Every key of `t.c` into a set over `min..=max`; `None` if one is not an integer.
fn read_ids(
    conn: &Connection,
    t: &str,
    c: &str,
    min: i64,
    max: i64,
) -> rusqlite::Result<Option<IdSet>> {
    let mut set = IdSet::with_range(min, max);
    let mut stmt = conn.prepare(&format!("SELECT {c} FROM {t} WHERE {c} IS NOT NULL"))?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        match row.get_ref(0)? {
            ValueRef::Integer(i) if (min..=max).contains(&i) => set.insert(i),
            // A real or text key between min and max: not a plain integer key.
            _ => return Ok(None),
        }
    }
    Ok(Some(set))
}

/// The integer keys of the rows the load left out, by (table, column), for the columns
/// other tables reference.
#[derive(Default)]
pub struct LeftOut {
    keys: Mutex<HashMap<(String, String), HashSet<i64>>>,
}

impl LeftOut {
    /// Record a row of `table` that was left out: the values of its referenced columns.
    pub fn record(&self, table: &TablePlan, referenced: &[usize], row: &rusqlite::Row<'_>) {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        for &i in referenced {
            if let Ok(ValueRef::Integer(k)) = row.get_ref(i + 1) {
                keys.entry((table.name.clone(), table.columns[i].name.clone()))
                    .or_default()
                    .insert(k);
            }
        }
    }

    /// Record keys of `table.column` as left out.
    pub fn record_keys(&self, table: &str, column: &str, keys: HashSet<i64>) {
        if keys.is_empty() {
            return;
        }
        let mut all = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        all.entry((table.to_string(), column.to_string()))
            .or_default()
            .extend(keys);
    }

    fn of(&self, table: &str, column: &str) -> Option<Arc<HashSet<i64>>> {
        let keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        keys.get(&(table.to_string(), column.to_string()))
            .map(|k| Arc::new(k.clone()))
    }
}

/// The columns of `table` (by index) that some table of the plan references.
pub fn referenced_columns(plan: &super::plan::Plan, table: &TablePlan) -> Vec<usize> {
    let mut cols: Vec<usize> = plan
        .tables
        .iter()
        .flat_map(|t| t.refs.iter())
        .filter(|r| r.ref_table == table.name)
        .filter_map(|r| table.columns.iter().position(|c| c.name == r.ref_column))
        .collect();
    cols.sort_unstable();
    cols.dedup();
    cols
}

/// Why a reference does not hold.
#[derive(Debug, PartialEq, Eq)]
pub enum Missing<'a> {
    /// The parent row is not in the SQLite file.
    Gone(&'a str),
    /// The parent row was left out of this load.
    LeftOut(&'a str),
}

/// How one table's references are checked.
#[derive(Debug, Default)]
pub struct RefCheck {
    /// Per planned column: the parent table, its key set and the keys left out of it,
    /// when checked in memory.
    by_column: Vec<Option<InMemory>>,
    /// Rows the anti-join found, for the other references.
    by_key: Dangling,
}

/// A reference checked in memory.
#[derive(Clone, Debug)]
struct InMemory {
    parent: String,
    keys: Arc<IdSet>,
    left_out: Option<Arc<HashSet<i64>>>,
}

impl RefCheck {
    /// Prepare the checks of `table`'s single-column foreign keys; `left_out`: the rows
    /// this load left out of the parents so far (they committed before this table loads).
    pub fn build(
        conn: &Connection,
        table: &TablePlan,
        parents: &Parents,
        left_out: Option<&LeftOut>,
    ) -> rusqlite::Result<RefCheck> {
        let mut check = RefCheck {
            by_column: vec![None; table.columns.len()],
            by_key: HashMap::new(),
        };
        for r in &table.refs {
            let Some(col) = table.columns.iter().position(|c| c.name == r.column) else {
                continue;
            };
            match parents.get(conn, &r.ref_table, &r.ref_column)? {
                Some(keys) => {
                    check.by_column[col] = Some(InMemory {
                        parent: r.ref_table.clone(),
                        keys,
                        left_out: left_out.and_then(|l| l.of(&r.ref_table, &r.ref_column)),
                    })
                }
                None => anti_join(conn, table, col, r, &mut check.by_key)?,
            }
        }
        Ok(check)
    }

    /// Whether rows must be named by their key for [`RefCheck::missing`].
    pub fn needs_key(&self) -> bool {
        !self.by_key.is_empty()
    }

    /// The parent row that column `i`'s value `v` names and that will not be there, if
    /// any. `key` is the row's key text, needed only when [`RefCheck::needs_key`].
    pub fn missing(&self, i: usize, v: ValueRef<'_>, key: Option<&str>) -> Option<Missing<'_>> {
        if let Some(Some(m)) = self.by_column.get(i) {
            if !m.keys.holds(v) {
                return Some(Missing::Gone(&m.parent));
            }
            let left_out = match (v, &m.left_out) {
                (ValueRef::Integer(k), Some(l)) => l.contains(&k),
                _ => false,
            };
            return left_out.then_some(Missing::LeftOut(&m.parent));
        }
        let found = self.by_key.get(key?)?;
        found
            .iter()
            .find(|(c, _)| *c == i)
            .map(|(_, parent)| Missing::Gone(parent.as_str()))
    }
}

/// The rows of `table` whose `r.column` names no row of the parent, by SQL.
fn anti_join(
    conn: &Connection,
    table: &TablePlan,
    col: usize,
    r: &super::plan::RefPlan,
    out: &mut Dangling,
) -> rusqlite::Result<()> {
    let sql = format!(
        "SELECT {key} FROM {t} AS c WHERE c.{col} IS NOT NULL AND NOT EXISTS \
         (SELECT 1 FROM {p} AS p WHERE p.{pc} = c.{col})",
        key = table.key_expr(),
        t = quote_sqlite(&table.name),
        col = quote_sqlite(&r.column),
        p = quote_sqlite(&r.ref_table),
        pc = quote_sqlite(&r.ref_column),
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        out.entry(super::rows::key_text(row.get_ref(0)?))
            .or_default()
            .push((col, r.ref_table.clone()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_set_holds_exactly_its_keys() {
        let mut s = IdSet::with_range(-3, 130);
        for id in [-3, 0, 63, 64, 130] {
            s.insert(id);
        }
        for id in [-3, 0, 63, 64, 130] {
            assert!(s.contains(id), "{id}");
        }
        for id in [-4, -2, 1, 62, 65, 129, 131, i64::MIN, i64::MAX] {
            assert!(!s.contains(id), "{id}");
        }
        assert!(s.holds(ValueRef::Real(64.0)));
        assert!(!s.holds(ValueRef::Real(64.5)));
        assert!(s.holds(ValueRef::Text(b" 63 ")));
        assert!(!s.holds(ValueRef::Text(b"abc")));
        assert!(!s.holds(ValueRef::Blob(&[64])));
        assert!(s.holds(ValueRef::Null));
    }

    fn db(sql: &str) -> Connection {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(sql).unwrap();
        c
    }

    #[test]
    fn integer_keys_make_a_set_other_keys_do_not() {
        let c = db("CREATE TABLE p (id INTEGER PRIMARY KEY, code TEXT);
             INSERT INTO p VALUES (1, 'a'), (5, 'b'), (1000, 'c');");
        let parents = Parents::default();
        let set = parents.get(&c, "p", "id").unwrap().unwrap();
        assert!(set.contains(5) && set.contains(1000) && !set.contains(4));
        assert!(parents.get(&c, "p", "code").unwrap().is_none());
        // Shared: the second lookup is the same set.
        assert!(Arc::ptr_eq(
            &set,
            &parents.get(&c, "p", "id").unwrap().unwrap()
        ));
    }

    #[test]
    fn a_range_beyond_the_budget_falls_back() {
        let c = db("CREATE TABLE p (id INTEGER PRIMARY KEY);
             INSERT INTO p VALUES (1), (9000000000000);");
        assert!(Parents::default().get(&c, "p", "id").unwrap().is_none());
    }

    fn child(refs: &[(&str, &str, &str)]) -> TablePlan {
        use super::super::plan::{ColumnPlan, RefPlan};
        use super::super::types::PgType;
        TablePlan {
            name: "c".into(),
            target: "\"public\".\"c\"".into(),
            pg_name: "c".into(),
            columns: ["id", "p_id", "code"]
                .iter()
                .map(|n| ColumnPlan::same(n, PgType::Text, true))
                .collect(),
            pk: vec!["id".into()],
            has_rowid: true,
            source_rows: 3,
            sequences: Vec::new(),
            sqlite_seq: None,
            parents: Vec::new(),
            refs: refs
                .iter()
                .map(|(c, t, rc)| RefPlan {
                    column: c.to_string(),
                    ref_table: t.to_string(),
                    ref_column: rc.to_string(),
                })
                .collect(),
        }
    }

    #[test]
    fn missing_parents_are_found_by_set_and_by_anti_join() {
        let c = db("CREATE TABLE p (id INTEGER PRIMARY KEY, code TEXT UNIQUE);
             INSERT INTO p VALUES (1, 'a'), (2, 'b');
             CREATE TABLE c (id INTEGER PRIMARY KEY, p_id INTEGER, code TEXT);
             INSERT INTO c VALUES (10, 1, 'a'), (11, 3, 'z'), (12, NULL, NULL);");
        let table = child(&[("p_id", "p", "id"), ("code", "p", "code")]);
        let check = RefCheck::build(&c, &table, &Parents::default(), None).unwrap();
        // The integer key is checked in memory, the text key by the anti-join (by row key).
        assert!(check.needs_key());
        let gone = Some(Missing::Gone("p"));
        assert_eq!(check.missing(1, ValueRef::Integer(1), Some("10")), None);
        assert_eq!(check.missing(1, ValueRef::Integer(3), Some("11")), gone);
        assert_eq!(check.missing(1, ValueRef::Null, Some("12")), None);
        assert_eq!(check.missing(2, ValueRef::Text(b"a"), Some("10")), None);
        assert_eq!(check.missing(2, ValueRef::Text(b"z"), Some("11")), gone);
        assert_eq!(check.missing(2, ValueRef::Null, Some("12")), None);

        // Parent row 2 left out of the load: a reference to it is named as such.
        let mut parent = child(&[]);
        parent.name = "p".into();
        let left_out = LeftOut::default();
        let mut stmt = c.prepare("SELECT id, id FROM p WHERE id = 2").unwrap();
        let mut rows = stmt.query([]).unwrap();
        left_out.record(&parent, &[0], rows.next().unwrap().unwrap());
        let check = RefCheck::build(&c, &table, &Parents::default(), Some(&left_out)).unwrap();
        assert_eq!(check.missing(1, ValueRef::Integer(1), None), None);
        assert_eq!(
            check.missing(1, ValueRef::Integer(2), None),
            Some(Missing::LeftOut("p"))
        );
    }
}
