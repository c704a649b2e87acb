//! The load order: foreign keys linked between planned tables (in SQLite's names), then
//! tables ordered parents first, a cycle as one group.

use super::{RefPlan, TablePlan};
use crate::copy::schema::PgForeignKey;
use std::collections::HashMap;

pub(super) fn link_foreign_keys(
    tables: &mut [TablePlan],
    fks: &[PgForeignKey],
    outside: &mut Vec<(String, String, String)>,
) {
    // Foreign keys come in PostgreSQL's names; the plan speaks SQLite's.
    let index: HashMap<String, usize> = tables
        .iter()
        .enumerate()
        .map(|(i, t)| (t.pg_name.clone(), i))
        .collect();
    for fk in fks {
        match (index.get(&fk.table), index.get(&fk.ref_table)) {
            (Some(&c), Some(&p)) => {
                if c != p && !tables[c].parents.contains(&p) {
                    tables[c].parents.push(p);
                }
                if let ([col], [rcol]) = (fk.columns.as_slice(), fk.ref_columns.as_slice()) {
                    let source = |t: &TablePlan, n: &str| {
                        t.columns
                            .iter()
                            .find(|c| c.target == n)
                            .map(|c| c.name.clone())
                    };
                    if let (Some(column), Some(ref_column)) =
                        (source(&tables[c], col), source(&tables[p], rcol))
                    {
                        let ref_table = tables[p].name.clone();
                        tables[c].refs.push(RefPlan {
                            column,
                            ref_table,
                            ref_column,
                        });
                    }
                }
            }
            (None, Some(&p)) => outside.push((
                fk.table.clone(),
                fk.columns.join(", "),
                tables[p].name.clone(),
            )),
            _ => {}
        }
    }
}

/// Order tables parents-first with Tarjan's algorithm: it emits a strongly connected
/// component only after every component it reaches, and edges point child → parent.
pub(super) fn order(tables: Vec<TablePlan>) -> (Vec<TablePlan>, Vec<Vec<usize>>) {
    struct T<'a> {
        edges: Vec<&'a [usize]>,
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on_stack: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        out: Vec<Vec<usize>>,
    }
    fn visit(t: &mut T<'_>, v: usize) {
        t.index[v] = Some(t.next);
        t.low[v] = t.next;
        t.next += 1;
        t.stack.push(v);
        t.on_stack[v] = true;
        for &w in t.edges[v] {
            match t.index[w] {
                None => {
                    visit(t, w);
                    t.low[v] = t.low[v].min(t.low[w]);
                }
                Some(iw) if t.on_stack[w] => t.low[v] = t.low[v].min(iw),
                _ => {}
            }
        }
        if Some(t.low[v]) == t.index[v] {
            let mut group = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on_stack[w] = false;
                group.push(w);
                if w == v {
                    break;
                }
            }
            group.sort();
            t.out.push(group);
        }
    }
    let n = tables.len();
    let mut t = T {
        edges: tables.iter().map(|x| x.parents.as_slice()).collect(),
        index: vec![None; n],
        low: vec![0; n],
        on_stack: vec![false; n],
        stack: Vec::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in 0..n {
        if t.index[v].is_none() {
            visit(&mut t, v);
        }
    }
    let old_groups = t.out;
    // Renumber so that table order is load order.
    let mut new_of_old = vec![0; n];
    let mut order_old = Vec::with_capacity(n);
    for g in &old_groups {
        for &o in g {
            new_of_old[o] = order_old.len();
            order_old.push(o);
        }
    }
    let mut slots: Vec<Option<TablePlan>> = tables.into_iter().map(Some).collect();
    let mut ordered: Vec<TablePlan> = order_old.iter().filter_map(|&o| slots[o].take()).collect();
    for t in &mut ordered {
        t.parents = t.parents.iter().map(|&p| new_of_old[p]).collect();
    }
    let groups = old_groups
        .iter()
        .map(|g| g.iter().map(|&o| new_of_old[o]).collect())
        .collect();
    (ordered, groups)
}
