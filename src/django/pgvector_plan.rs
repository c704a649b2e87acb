//! From the embeddings found in the SQLite file and the user's choice to the project change
//! on disk: which fields change (and how), the files' new text as diffs, the app code that
//! reads the old fields, and the writing itself, with backups `dj2pg restore` puts back.
//!
//! The choice is `keep` (the default: nothing changes), `vector` or `halfvec`, for all
//! columns or per field (`app.Model.field=halfvec`), and an index (HNSW with a metric, or
//! none). A choice the dimension limits forbid is refused with the reason, before anything
//! is written. Files: models.py and requirements.txt are backed up into the backup folder
//! and recorded in `settings-backup.json` (restore copies them back); the new migration is
//! a file written after the reset, which restore moves out of the project like any other.

use super::pgvector::{self as pv, Change, Metric};
use crate::copy::embeddings::Embeddings;
use crate::copy::vector::VecKind;
use crate::data::django::{AppInfo, Discovery, FieldInfo, ModelInfo};
use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The requirement line dj2pg adds.
pub const REQUIREMENT: &str = "pgvector>=0.4";

/// What to do with one embeddings column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Keep,
    To(VecKind),
}

impl Target {
    fn parse(s: &str) -> Option<Target> {
        match s {
            "keep" => Some(Target::Keep),
            "vector" => Some(Target::To(VecKind::Vector)),
            "halfvec" => Some(Target::To(VecKind::Half)),
            _ => None,
        }
    }
}

/// The user's choice: a default and per-field overrides (`app.Model.field`), and the index.
#[derive(Clone, Debug, PartialEq)]
pub struct Choice {
    pub default: Target,
    pub per_field: BTreeMap<String, Target>,
    pub index: Option<Metric>,
    /// Per-field index overrides (the wizard's choice screen), over `index`.
    pub per_field_index: BTreeMap<String, Option<Metric>>,
}

impl Default for Choice {
    fn default() -> Choice {
        Choice {
            default: Target::Keep,
            per_field: BTreeMap::new(),
            index: Some(Metric::Cosine),
            per_field_index: BTreeMap::new(),
        }
    }
}

impl Choice {
    /// `--embeddings` values (`keep|vector|halfvec`, or `app.Model.field=…`) and
    /// `--embeddings-index` (`hnsw-cosine|hnsw-l2|hnsw-ip|none`).
    pub fn parse(values: &[String], index: Option<&str>) -> Result<Choice> {
        let mut c = Choice::default();
        let bad = |v: &str| {
            anyhow::anyhow!(
                "--embeddings={v}: use keep, vector or halfvec, for all columns or per field \
                 as app.Model.field=halfvec"
            )
        };
        for v in values {
            match v.split_once('=') {
                Some((field, t)) => {
                    if field.split('.').count() != 3 {
                        return Err(bad(v));
                    }
                    c.per_field
                        .insert(field.to_string(), Target::parse(t).ok_or_else(|| bad(v))?);
                }
                None => c.default = Target::parse(v).ok_or_else(|| bad(v))?,
            }
        }
        if let Some(i) = index {
            c.index =
                match i {
                    "none" => None,
                    _ => Some(i.strip_prefix("hnsw-").and_then(Metric::parse).ok_or_else(
                        || {
                            anyhow::anyhow!(
                                "--embeddings-index={i}: use hnsw-cosine, hnsw-l2, hnsw-ip or none"
                            )
                        },
                    )?),
                };
        }
        Ok(c)
    }

    /// What `key` (`app.Model.field`) is to become: its own override, else the default.
    pub fn target(&self, key: &str) -> Target {
        self.per_field.get(key).copied().unwrap_or(self.default)
    }

    /// The index `key` gets: its own override, else `--embeddings-index`'s.
    pub fn index_for(&self, key: &str) -> Option<Metric> {
        self.per_field_index.get(key).copied().unwrap_or(self.index)
    }
}

/// One file of the change.
#[derive(Clone, Debug, PartialEq)]
pub struct FileChange {
    pub path: PathBuf,
    /// `None`: a new file.
    pub old: Option<String>,
    pub new: String,
}

/// The whole project change, not yet written.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProjectChange {
    pub changes: Vec<Change>,
    pub files: Vec<FileChange>,
    /// Arguments dropped from the old fields, in words.
    pub dropped: Vec<String>,
    /// `path:line: text` of app code that reads a changed field (to check by hand).
    pub readers: Vec<String>,
    /// Fields found but kept as they are, with why.
    pub kept: Vec<String>,
}

impl ProjectChange {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Every file's diff, as unified text.
    pub fn diff(&self, project: &Path) -> String {
        let mut out = String::new();
        for f in &self.files {
            let name = f
                .path
                .strip_prefix(project)
                .unwrap_or(&f.path)
                .display()
                .to_string();
            let d =
                super::settings_rewrite::diff_texts(f.old.as_deref().unwrap_or(""), &f.new, &name);
            out.push_str(&d.unified);
        }
        out
    }
}

/// Plan the change for `found` (the SQLite file's embeddings) under `choice`.
pub fn plan(d: &Discovery, found: &[Embeddings], choice: &Choice) -> Result<ProjectChange> {
    let mut out = ProjectChange::default();
    // Per app: its migrations folder, and each change with the file that declares its model.
    let mut per_app: BTreeMap<String, (PathBuf, Vec<(PathBuf, Change)>)> = BTreeMap::new();
    for e in found {
        let Some((app, model, field)) = locate(d, e) else {
            out.kept.push(format!(
                "{}.{}: no Django model field holds it; kept as it is",
                e.table, e.column
            ));
            continue;
        };
        let key = format!("{}.{}.{}", app.label, model.name, field.name);
        let kind = match choice.target(&key) {
            Target::Keep => {
                out.kept.push(format!(
                    "{key}: kept as {} (choose --embeddings=vector or halfvec)",
                    field.internal_type
                ));
                continue;
            }
            Target::To(kind) => kind,
        };
        if !app.local {
            bail!("{key} belongs to a third-party app, which dj2pg never changes: keep it");
        }
        let (Some(dir), Some(migrations)) = (app.path.clone(), app.migrations_dir.clone()) else {
            bail!("{key}: the app's folder or migrations folder is unknown: keep it");
        };
        if let Some(base) = &field.declared_in {
            bail!(
                "{key} is declared on the abstract model {}{}, which every model inheriting it \
                 shares: change it there by hand, or keep it",
                base.name,
                base.source
                    .as_deref()
                    .map(|f| format!(" ({})", shown(&d.project_dir, f)))
                    .unwrap_or_default()
            );
        }
        if !e.problems.is_empty() || e.unlisted > 0 {
            bail!(
                "{key}: {} value(s) pgvector would refuse (first: {} pk={}: {}); fix them or keep the field",
                e.problems.len() as u64 + e.unlisted,
                e.problems.first().map_or("", |p| p.table.as_str()),
                e.problems.first().map_or("", |p| p.pk.as_str()),
                e.problems.first().map_or("", |p| p.issue.as_str()),
            );
        }
        if kind == VecKind::Half && e.half_overflow > 0 {
            bail!(
                "{key}: {} vector(s) hold values beyond halfvec's range (±65504): choose vector",
                e.half_overflow
            );
        }
        let change = Change {
            app_label: app.label.clone(),
            model: model.name.clone(),
            field: field.name.clone(),
            kind,
            dim: e.dim,
            index: choice.index_for(&key),
            source: e.source,
        };
        change.check()?;
        // A models package (models/__init__.py importing models/embedding.py): the module
        // that defines the class, as Django reported it, when it lies in the app's folder.
        let file = model
            .source
            .clone()
            .filter(|f| f.starts_with(&dir) && f.is_file())
            .unwrap_or_else(|| dir.join("models.py"));
        per_app
            .entry(app.label.clone())
            .or_insert_with(|| (migrations, Vec::new()))
            .1
            .push((file, change));
    }
    for (label, (migrations, changes)) in per_app {
        let (ordered, edit) = rewrite_files(&d.project_dir, &changes, &mut out.files)?;
        let (name, leaf) = pv::next_migration(&migrations)?;
        let refs: Vec<&Change> = ordered.iter().collect();
        let migration = pv::migration(&label, leaf.as_deref(), &refs, &edit);
        out.dropped.extend(edit.dropped.iter().cloned());
        out.files.push(FileChange {
            path: migrations.join(format!("{name}.py")),
            old: None,
            new: migration,
        });
        out.changes.extend(ordered);
    }
    if out.changes.is_empty() {
        return Ok(out);
    }
    let req = d.project_dir.join("requirements.txt");
    if let Ok(old) = std::fs::read_to_string(&req)
        && !old
            .lines()
            .any(|l| l.trim_start().to_ascii_lowercase().starts_with("pgvector"))
    {
        let mut new = old.clone();
        if !new.is_empty() && !new.ends_with('\n') {
            new.push('\n');
        }
        new.push_str(REQUIREMENT);
        new.push('\n');
        out.files.push(FileChange {
            path: req,
            old: Some(old),
            new,
        });
    }
    out.readers = readers(&d.project_dir, &out.changes);
    Ok(out)
}

/// Rewrite the fields of one app, file by file: each file's change is pushed to `files`, and
/// the changes come back in the order of the returned edit's arguments (for the migration).
fn rewrite_files(
    project: &Path,
    changes: &[(PathBuf, Change)],
    files: &mut Vec<FileChange>,
) -> Result<(Vec<Change>, pv::ModelsEdit)> {
    let mut by_file: BTreeMap<&Path, Vec<&Change>> = BTreeMap::new();
    for (file, c) in changes {
        by_file.entry(file.as_path()).or_default().push(c);
    }
    let mut ordered = Vec::new();
    let mut all = pv::ModelsEdit::default();
    for (file, refs) in by_file {
        let old = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", shown(project, file)))?;
        let edit = pv::rewrite_models(&old, &refs).with_context(|| shown(project, file))?;
        files.push(FileChange {
            path: file.to_path_buf(),
            old: Some(old),
            new: edit.text,
        });
        all.args.extend(edit.args);
        all.old_types.extend(edit.old_types);
        all.dropped.extend(edit.dropped);
        ordered.extend(refs.into_iter().cloned());
    }
    Ok((ordered, all))
}

/// `path` as the user knows it: relative to the project when inside it.
fn shown(project: &Path, path: &Path) -> String {
    path.strip_prefix(project)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The Django app, model and field whose column holds `e`.
pub fn locate<'d>(
    d: &'d Discovery,
    e: &Embeddings,
) -> Option<(&'d AppInfo, &'d ModelInfo, &'d FieldInfo)> {
    d.apps.iter().find_map(|app| {
        app.models.iter().find_map(|m| {
            (m.table == e.table)
                .then(|| m.fields.iter().find(|f| f.column == e.column))
                .flatten()
                .map(|f| (app, m, f))
        })
    })
}

/// Lines of the project's Python (migrations and dj2pg's own files aside) that name a
/// changed field: after the change they read a list of floats (a DRF serializer outputs a
/// string), not JSON text or bytes.
fn readers(project: &Path, changes: &[Change]) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![project.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut entries: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        entries.sort();
        for p in entries {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if p.is_dir() {
                if !name.starts_with('.')
                    && !matches!(
                        name,
                        "migrations" | "__pycache__" | "node_modules" | "venv" | "site-packages"
                    )
                {
                    stack.push(p);
                }
                continue;
            }
            if !name.ends_with(".py") {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&p) else {
                continue;
            };
            for (n, line) in text.lines().enumerate() {
                // A model's own methods read the field too; its definition (`vector =
                // models.JSONField(…)`) does not count, an assignment from it does.
                let defines = |field: &str| {
                    line.trim_start().strip_prefix(field).is_some_and(|rest| {
                        let rest = rest.trim_start();
                        rest.starts_with('=') && !rest.starts_with("==") && rest.contains("Field(")
                    })
                };
                let hit = changes.iter().any(|c| {
                    !defines(&c.field)
                        && (line.contains(&format!(".{}", c.field))
                            || line.contains(&format!("'{}'", c.field))
                            || line.contains(&format!("\"{}\"", c.field)))
                });
                if hit {
                    let rel = p.strip_prefix(project).unwrap_or(&p);
                    out.push(format!("{}:{}: {}", rel.display(), n + 1, line.trim()));
                }
            }
        }
    }
    out
}

/// Write the change: back up the files it replaces (recorded for `dj2pg restore`), then
/// write each atomically. Refuses when a file changed since the plan.
pub fn apply(change: &ProjectChange, project: &Path, backup_dir: &Path) -> Result<Vec<PathBuf>> {
    for f in &change.files {
        let now = std::fs::read_to_string(&f.path).ok();
        if now != f.old {
            bail!(
                "{} changed since the change was planned: plan it again",
                f.path.display()
            );
        }
    }
    let mut written = Vec::new();
    for f in &change.files {
        if let Some(old) = &f.old {
            super::settings_rewrite::backup_copy(
                &f.path,
                project,
                backup_dir,
                "embeddings",
                old.as_bytes(),
            )?;
        }
        super::settings_rewrite::write_atomically(&f.path, f.new.as_bytes())?;
        written.push(f.path.clone());
    }
    // The new migration is dj2pg's own: record its hash so that restore moves it out (and
    // tells it from a user's edit) — with the regenerated ones when a reset was made, by
    // itself otherwise.
    if let Ok(manifest) = crate::backup::read_manifest(backup_dir) {
        let reset_dirs: Vec<PathBuf> = manifest
            .reset
            .iter()
            .flat_map(|r| {
                r.apps
                    .iter()
                    .map(|a| manifest.project_dir.join(&a.migrations_dir))
            })
            .collect();
        if !reset_dirs.is_empty() {
            crate::backup::record_regenerated(project, backup_dir)?;
        }
        let created: Vec<PathBuf> = change
            .files
            .iter()
            .filter(|f| f.old.is_none())
            .map(|f| std::fs::canonicalize(&f.path).unwrap_or_else(|_| f.path.clone()))
            .filter(|p| !reset_dirs.iter().any(|d| p.starts_with(d)))
            .collect();
        crate::backup::record_written(project, backup_dir, &created)?;
    }
    Ok(written)
}

/// The nearest-neighbour query that proves the change, for the report.
pub fn proof_query(c: &Change) -> String {
    match c.index {
        Some(m) => format!(
            "from pgvector.django import {f}\n{model}.objects.order_by({f}('{field}', query_vector))[:5]",
            f = m.django_function(),
            model = c.model,
            field = c.field
        ),
        None => format!(
            "from pgvector.django import CosineDistance\n{}.objects.order_by(CosineDistance('{}', query_vector))[:5]",
            c.model, c.field
        ),
    }
}
