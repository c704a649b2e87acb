//! The project change that turns embedding fields into pgvector fields: the model field
//! becomes `pgvector.django.VectorField(dimensions=n)` (or `HalfVectorField`), and a
//! migration dj2pg writes itself does the PostgreSQL side.
//!
//! Why dj2pg writes the migration: Django's `makemigrations` for this change writes
//! `ALTER … TYPE vector(n) USING col::vector(n)`, which PostgreSQL refuses from `jsonb` and
//! `bytea`; it never creates the extension; and pgvector's `HnswIndex` in a model's `Meta`
//! breaks `migrate` on SQLite. The generated migration keeps Django's state change (an
//! `AlterField`, so `makemigrations --check` stays clean) and replaces the database side
//! with a function that does nothing unless `connection.vendor == 'postgresql'`: create the
//! extension when missing, convert each column in place (from JSON text on the server, from
//! packed floats in Python), then build its index. Backwards turns the columns back into
//! what they were (values narrowed to float4/half stay narrowed).
//!
//! Everything here is text in, text out: files are written by the caller, with backups.

use crate::copy::embeddings::Source;
use crate::copy::vector::{BlobWidth, VecKind};
use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The index a vector column gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Metric {
    Cosine,
    L2,
    InnerProduct,
}

impl Metric {
    pub fn parse(s: &str) -> Option<Metric> {
        match s {
            "cosine" => Some(Metric::Cosine),
            "l2" => Some(Metric::L2),
            "ip" | "inner" | "inner-product" => Some(Metric::InnerProduct),
            _ => None,
        }
    }
    /// pgvector's operator class for this metric on `kind`.
    pub fn opclass(self, kind: VecKind) -> String {
        let ty = match kind {
            VecKind::Vector => "vector",
            VecKind::Half => "halfvec",
        };
        let m = match self {
            Metric::Cosine => "cosine",
            Metric::L2 => "l2",
            Metric::InnerProduct => "ip",
        };
        format!("{ty}_{m}_ops")
    }
    /// The Django distance function that uses this index.
    pub fn django_function(self) -> &'static str {
        match self {
            Metric::Cosine => "CosineDistance",
            Metric::L2 => "L2Distance",
            Metric::InnerProduct => "MaxInnerProduct",
        }
    }
}

/// One field to change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub app_label: String,
    /// The model's class name, as written in models.py.
    pub model: String,
    pub field: String,
    pub kind: VecKind,
    pub dim: usize,
    /// An HNSW index with this metric, or none.
    pub index: Option<Metric>,
    pub source: Source,
}

impl Change {
    /// The dimension limits, explained: `Err` says why the choice cannot be made.
    pub fn check(&self) -> Result<()> {
        if self.dim > crate::copy::vector::MAX_DIM {
            bail!(
                "{}.{}.{} has {} dimensions; pgvector holds at most {}: keep it as it is",
                self.app_label,
                self.model,
                self.field,
                self.dim,
                crate::copy::vector::MAX_DIM
            );
        }
        if self.index.is_some() && self.dim > self.kind.index_max_dim() {
            bail!(
                "{}.{}.{}: an HNSW index on {} holds at most {} dimensions, and this one has {}; \
                 choose {}no index",
                self.app_label,
                self.model,
                self.field,
                self.kind.sql(self.dim),
                self.kind.index_max_dim(),
                self.dim,
                if self.kind == VecKind::Vector && self.dim <= VecKind::Half.index_max_dim() {
                    "halfvec (up to 4,000 dimensions indexed) or "
                } else {
                    ""
                }
            );
        }
        Ok(())
    }

    fn field_class(&self) -> &'static str {
        match self.kind {
            VecKind::Vector => "VectorField",
            VecKind::Half => "HalfVectorField",
        }
    }
}

/// A models file after the change, and each field's arguments as kept (for the migration).
#[derive(Default)]
pub struct ModelsEdit {
    pub text: String,
    /// Per change, in order: the arguments of the new field, e.g. `dimensions=384, null=True`.
    pub args: Vec<String>,
    /// The old field's database type on PostgreSQL (`jsonb`, `text`, `bytea`), per change.
    pub old_types: Vec<&'static str>,
    /// Arguments dropped, in words, for the preview.
    pub dropped: Vec<String>,
}

/// Arguments a vector field has no use for (or that would break it).
const DROPPED: &[&str] = &[
    "encoder",
    "decoder",
    "max_length",
    "db_collation",
    "editable",
];

/// Rewrite each changed field's definition in `text` (one models file) and import the pgvector
/// field classes.
pub fn rewrite_models(text: &str, changes: &[&Change]) -> Result<ModelsEdit> {
    let mut out = text.to_string();
    let mut args = Vec::new();
    let mut old_types = Vec::new();
    let mut dropped = Vec::new();
    for c in changes {
        let (start, end) = class_body(&out, &c.model)
            .ok_or_else(|| anyhow::anyhow!("class {} is not defined here", c.model))?;
        let body = &out[start..end];
        let (call_start, class, open) = field_call(body, &c.field).ok_or_else(|| {
            anyhow::anyhow!(
                "{}.{} is not written as `{} = models.JSONField(…)`, TextField or BinaryField: \
                 change it by hand",
                c.model,
                c.field,
                c.field
            )
        })?;
        let close = matching_paren(body, open).ok_or_else(|| {
            anyhow::anyhow!("cannot read the arguments of {}.{}", c.model, c.field)
        })?;
        let mut kept = vec![format!("dimensions={}", c.dim)];
        for arg in split_args(&body[open + 1..close]) {
            let name = arg.split('=').next().unwrap_or("").trim();
            let is_list_default = name == "default"
                && matches!(arg.split_once('=').map(|x| x.1.trim()), Some("list" | "[]"));
            if DROPPED.contains(&name) || is_list_default {
                dropped.push(format!("{}.{}: {arg}", c.model, c.field));
            } else if !arg.is_empty() {
                kept.push(arg);
            }
        }
        let joined = kept.join(", ");
        old_types.push(match class {
            "JSONField" => "jsonb",
            "TextField" => "text",
            _ => "bytea",
        });
        let new_call = format!("{}({joined})", c.field_class());
        out.replace_range(start + call_start..start + close + 1, &new_call);
        args.push(joined);
    }
    let mut classes: Vec<&str> = changes.iter().map(|c| c.field_class()).collect();
    classes.sort();
    classes.dedup();
    let import = format!("from pgvector.django import {}\n", classes.join(", "));
    if !out.contains(import.trim_end()) {
        let at = import_position(&out);
        out.insert_str(at, &import);
    }
    Ok(ModelsEdit {
        text: out,
        args,
        old_types,
        dropped,
    })
}

/// The byte range of `class Name(…):`'s body: from its line to the next line at column 0.
fn class_body(text: &str, model: &str) -> Option<(usize, usize)> {
    let mut pos = 0;
    let mut start = None;
    for line in text.split_inclusive('\n') {
        let at_col0 = !line.starts_with([' ', '\t', '\n', '\r', '#']);
        if let Some(s) = start {
            if at_col0 && pos > s {
                return Some((s, pos));
            }
        } else if let Some(rest) = line.strip_prefix("class ") {
            let name = rest.split(['(', ':', ' ']).next().unwrap_or("");
            if name == model {
                start = Some(pos);
            }
        }
        pos += line.len();
    }
    start.map(|s| (s, text.len()))
}

/// In a class body: where `field = models.XField(` starts its call, the class, and the
/// offset of its `(`.
fn field_call(body: &str, field: &str) -> Option<(usize, &'static str, usize)> {
    let mut pos = 0;
    for line in body.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix(field) {
            let rest_trim = rest.trim_start();
            if let Some(value) = rest_trim.strip_prefix('=') {
                let value = value.trim_start();
                let call_at = pos + line.len() - value.len();
                let name = value.strip_prefix("models.").unwrap_or(value);
                for class in ["JSONField", "TextField", "BinaryField"] {
                    if name.starts_with(&format!("{class}(")) {
                        let open = call_at + (value.len() - name.len()) + class.len();
                        return Some((call_at, class, open));
                    }
                }
                return None;
            }
        }
        pos += line.len();
    }
    None
}

/// The offset of the `)` closing the `(` at `open`, skipping strings and nesting.
fn matching_paren(s: &str, open: usize) -> Option<usize> {
    let b = s.as_bytes();
    let mut depth = 0i32;
    let mut quote: Option<u8> = None;
    let mut i = open;
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(q) => {
                if c == b'\\' {
                    i += 1;
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                b'\'' | b'"' => quote = Some(c),
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(i);
                    }
                }
                _ => {}
            },
        }
        i += 1;
    }
    None
}

/// Top-level comma-separated arguments, trimmed (newlines and comments inside kept as is).
fn split_args(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    let mut cur = String::new();
    let mut escaped = false;
    for c in s.chars() {
        if let Some(q) = quote {
            cur.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '\'' | '"' => quote = Some(c),
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(cur.trim().to_string());
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out.retain(|a| !a.is_empty());
    out
}

/// After the module's last top-level import (before the first class or def).
fn import_position(text: &str) -> usize {
    let mut pos = 0;
    let mut after = 0;
    for line in text.split_inclusive('\n') {
        if line.starts_with("import ") || line.starts_with("from ") {
            after = pos + line.len();
        } else if line.starts_with("class ") || line.starts_with("def ") {
            break;
        }
        pos += line.len();
    }
    after
}

/// The next migration of an app: (`NNNN_dj2pg_pgvector`, the leaf it depends on).
pub fn next_migration(migrations_dir: &Path) -> Result<(String, Option<String>)> {
    let mut names: Vec<String> = std::fs::read_dir(migrations_dir)?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| n.ends_with(".py") && n.as_bytes().first().is_some_and(u8::is_ascii_digit))
        .map(|n| n.trim_end_matches(".py").to_string())
        .collect();
    names.sort();
    let leaf = names.last().cloned();
    let number = leaf
        .as_deref()
        .and_then(|n| n.split('_').next())
        .and_then(|n| n.parse::<u32>().ok())
        .map_or(1, |n| n + 1);
    Ok((format!("{number:04}_dj2pg_pgvector"), leaf))
}

/// The migration's text.
pub fn migration(
    app_label: &str,
    leaf: Option<&str>,
    changes: &[&Change],
    edit: &ModelsEdit,
) -> String {
    let py = |s: &str| format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"));
    let mut columns = String::new();
    let mut state = String::new();
    for (i, c) in changes.iter().enumerate() {
        let source = match c.source {
            Source::Json => "'json'".to_string(),
            Source::Blob(BlobWidth::F32) => "'<f'".into(),
            Source::Blob(BlobWidth::F64) => "'<d'".into(),
        };
        let (method, opclass) = match c.index {
            Some(m) => ("'hnsw'".to_string(), py(&m.opclass(c.kind))),
            None => ("None".into(), "None".into()),
        };
        columns.push_str(&format!(
            "    ({}, {}, {}, {}, {source}, {method}, {opclass}),\n",
            py(&c.model.to_lowercase()),
            py(&c.field),
            py(&c.kind.sql(c.dim)),
            py(edit.old_types[i]),
        ));
        state.push_str(&format!(
            "                migrations.AlterField(\n                    model_name={},\n                    \
             name={},\n                    field=pgvector.django.{}({}),\n                ),\n",
            py(&c.model.to_lowercase()),
            py(&c.field),
            c.field_class(),
            edit.args[i],
        ));
    }
    let deps = match leaf {
        Some(l) => format!("        ({}, {}),\n", py(app_label), py(l)),
        None => String::new(),
    };
    include_str!("../../assets/pgvector_migration.py")
        .replace("{APP}", &py(app_label))
        .replace("{COLUMNS}", &columns)
        .replace("{DEPS}", &deps)
        .replace("{STATE}", &state)
}

#[cfg(test)]
#[path = "pgvector_tests.rs"]
mod tests;
