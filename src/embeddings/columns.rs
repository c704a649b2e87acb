//! The wizard's side of the embeddings step: the columns found, as the state keeps them
//! (one [`EmbeddingColumn`] each, with what may be chosen for it); the per-column choice
//! turned into the engine's [`Choice`] (the same one `--embeddings` flags parse to, so one
//! code path plans and writes the change); and the change planned as diffs, written by
//! nobody until the user applies it.

use super::{already_changed, find};
use crate::copy::embeddings::Embeddings;
use crate::copy::vector::{Precision, VecKind};
use crate::data::django::Discovery;
use crate::data::embeddings::{EmbeddingColumn, EmbeddingsChoice, EmbeddingsDiff, IndexChoice};
use crate::django::pgvector::Metric;
use crate::django::pgvector_plan::{self as plan, Choice, Target};
use anyhow::Result;

/// What was found, one entry per column, every column kept until the user chooses.
pub fn columns(d: &Discovery, found: &[Embeddings]) -> Vec<EmbeddingColumn> {
    found
        .iter()
        .map(|e| {
            let located = plan::locate(d, e);
            let field = located.map_or_else(
                || format!("{}.{}", e.table, e.column),
                |(app, model, field)| format!("{}.{}.{}", app.label, model.name, field.name),
            );
            let problems = e.problems.len() as u64 + e.unlisted;
            let keep_only = match located {
                None => Some("no Django model field holds it".to_string()),
                Some((app, ..)) if !app.local => {
                    Some("a third-party app, which dj2pg never changes".into())
                }
                Some((app, ..)) if app.path.is_none() || app.migrations_dir.is_none() => {
                    Some("the app's folder or migrations folder is unknown".into())
                }
                Some((.., field)) if field.declared_in.is_some() => {
                    field.declared_in.as_ref().map(|base| {
                        let file = base.source.as_deref().map_or(String::new(), |f| {
                            let f = f.strip_prefix(&d.project_dir).unwrap_or(f);
                            format!(" ({})", f.display())
                        });
                        format!(
                            "declared on the abstract model {}{file}, shared by every model \
                             inheriting it: change it there by hand",
                            base.name
                        )
                    })
                }
                _ if problems > 0 => Some(format!(
                    "{problems} value(s) pgvector would refuse (listed in the log)"
                )),
                _ => None,
            };
            EmbeddingColumn {
                field,
                keep_only,
                dim: e.dim,
                rows: e.rows,
                nulls: e.nulls,
                precision_vector: short(&e.as_vector),
                precision_half: short(&e.as_half),
                half_overflow: e.half_overflow,
                ty: EmbeddingsChoice::Keep,
                index: IndexChoice::HnswCosine,
            }
        })
        .collect()
}

/// "exact", or the largest relative error in two digits.
fn short(p: &Precision) -> String {
    if p.exact {
        "exact".into()
    } else {
        format!("rel err ≤{:.1e}", p.max_rel_err)
    }
}

/// The per-column choice as the engine's choice (columns with no model field stay kept).
pub fn choice(cols: &[EmbeddingColumn]) -> Choice {
    let mut c = Choice::default();
    for col in cols.iter().filter(|c| c.keep_only.is_none()) {
        let target = match col.ty {
            EmbeddingsChoice::Keep => Target::Keep,
            EmbeddingsChoice::Vector => Target::To(VecKind::Vector),
            EmbeddingsChoice::HalfVec => Target::To(VecKind::Half),
        };
        let index = match col.index {
            IndexChoice::HnswCosine => Some(Metric::Cosine),
            IndexChoice::HnswL2 => Some(Metric::L2),
            IndexChoice::HnswIp => Some(Metric::InnerProduct),
            IndexChoice::None => None,
        };
        c.per_field.insert(col.field.clone(), target);
        c.per_field_index.insert(col.field.clone(), index);
    }
    c
}

/// What the engine's choice (the `--embeddings` flags) wants for one column, in the
/// choice screen's terms: the inverse of [`choice`].
pub fn wanted(c: &Choice, field: &str) -> (EmbeddingsChoice, IndexChoice) {
    let ty = match c.target(field) {
        Target::Keep => EmbeddingsChoice::Keep,
        Target::To(VecKind::Vector) => EmbeddingsChoice::Vector,
        Target::To(VecKind::Half) => EmbeddingsChoice::HalfVec,
    };
    let index = match c.index_for(field) {
        Some(Metric::Cosine) => IndexChoice::HnswCosine,
        Some(Metric::L2) => IndexChoice::HnswL2,
        Some(Metric::InnerProduct) => IndexChoice::HnswIp,
        None => IndexChoice::None,
    };
    (ty, index)
}

/// The project change the choice makes, as one diff per file (the same renderer as the
/// settings diff), and the notes that go with it. Writes nothing.
pub fn preview(d: &Discovery, cols: &[EmbeddingColumn]) -> Result<EmbeddingsDiff> {
    let mut out = EmbeddingsDiff::default();
    if already_changed(d) {
        out.notes
            .push("The project already has dj2pg's pgvector migration: nothing to change.".into());
        return Ok(out);
    }
    let found = find(d)?;
    let change = plan::plan(d, &found, &choice(cols))?;
    for f in &change.files {
        let name = f
            .path
            .strip_prefix(&d.project_dir)
            .unwrap_or(&f.path)
            .display()
            .to_string();
        let diff = crate::django::settings_rewrite::diff_texts(
            f.old.as_deref().unwrap_or(""),
            &f.new,
            &name,
        );
        out.files.push((name, diff));
    }
    out.notes.extend(change.kept.iter().cloned());
    out.notes.extend(
        change
            .dropped
            .iter()
            .map(|a| format!("argument dropped (a vector field has no use for it): {a}")),
    );
    if !change.readers.is_empty() {
        out.notes.push(format!(
            "{} line(s) of app code read the changed fields (a list of floats now, not JSON \
             text or bytes); listed in embeddings.md:",
            change.readers.len()
        ));
        out.notes
            .extend(change.readers.iter().take(5).map(|r| format!("  {r}")));
    }
    Ok(out)
}
