//! The reset: move exactly the previewed migration files (and compiled files) of the
//! selected apps into `<backup>/reset/<label>/`, recording each move in the manifest.
//!
//! Invariants: a file is moved, never deleted; `__init__.py` stays; the reset refuses to
//! start when a folder changed since the preview (so it moves exactly what was shown);
//! if a move fails halfway, the files already moved are put back before the error.

use super::hash::{rel_to_string, sha256_file, walk_files};
use super::manifest::{project_and_manifest, write_manifest};
use super::paths::{check_label, inside_project, move_back, move_file, relative_to, safe_join};
use crate::data::backup::{
    ArchivedFile, EntryKind, Manifest, ManifestEntry, MigrationScan, MovedFile, ResetApp,
    ResetRecord, ResetReport,
};
use anyhow::{Context, Result, bail};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The reset's folder inside the backup folder.
pub const RESET_DIR: &str = "reset";

/// The files the reset takes from a migrations folder: every top-level `.py` except
/// `__init__.py`, and everything in `__pycache__/` (what `find -delete` leaves behind).
pub fn files_to_go(dir: &Path) -> Result<Vec<String>> {
    Ok(walk_files(dir)?
        .into_iter()
        .filter(|rel| {
            rel.starts_with("__pycache__/")
                || (!rel.contains('/') && rel.ends_with(".py") && rel != "__init__.py")
        })
        .collect())
}

/// Move the previewed files of the `selected` apps into the backup folder (which must
/// hold a manifest: the Backup step comes first). `scan` is the preview the user saw.
pub fn reset_migrations(
    project_dir: &Path,
    backup_dir: &Path,
    scan: &MigrationScan,
    selected: &[String],
    log: &mut dyn FnMut(String),
) -> Result<ResetReport> {
    let (project, mut manifest) = project_and_manifest(project_dir, backup_dir)?;
    let already: BTreeSet<&str> = manifest
        .reset
        .iter()
        .flat_map(|r| r.apps.iter().map(|a| a.label.as_str()))
        .collect();

    // Check everything before moving anything.
    let mut plan = Vec::new();
    for label in selected {
        plan.push(check_app(&project, backup_dir, scan, label, &already)?);
    }

    let mut moved: Vec<Move> = Vec::new();
    let mut record = ResetRecord {
        at: chrono::Utc::now().to_rfc3339(),
        apps: Vec::new(),
    };
    let result = (|| -> Result<()> {
        for (label, real, files) in &plan {
            let app = move_app(&project, backup_dir, label, real, files, &mut moved)?;
            log(format!(
                "{label}: moved {} file(s) from {} into {}",
                files.len(),
                app.migrations_dir.display(),
                backup_dir.join(RESET_DIR).join(label).display()
            ));
            record.apps.push(app);
        }
        record_in_manifest(&mut manifest, &moved, &record);
        write_manifest(backup_dir, &manifest)
    })();

    if let Err(e) = result {
        return Err(put_back(&moved, e));
    }
    Ok(ResetReport {
        backup_dir: backup_dir.to_path_buf(),
        moved: moved.into_iter().map(|(_, _, m)| m).collect(),
        refused: Vec::new(),
    })
}

/// One file moved: where it was, where it is now, and its record.
type Move = (PathBuf, PathBuf, MovedFile);

/// Refuse an app the reset must not touch (third-party, already reset, no migrations
/// folder) or whose folder changed since the preview; otherwise its label, real folder
/// and the files to move.
fn check_app(
    project: &Path,
    backup_dir: &Path,
    scan: &MigrationScan,
    label: &str,
    already: &BTreeSet<&str>,
) -> Result<(String, PathBuf, BTreeSet<String>)> {
    check_label(label)?;
    let app = scan
        .app(label)
        .with_context(|| format!("the app {label} is not in the migration scan"))?;
    if !app.local {
        bail!("{label} is a third-party app: dj2pg never touches it");
    }
    if already.contains(label) {
        bail!(
            "{label} was already reset into {}: restore it first, or take a new backup",
            backup_dir.display()
        );
    }
    let dir = app
        .migrations_dir
        .as_deref()
        .with_context(|| format!("{label} has no migrations folder to reset"))?;
    let real = inside_project(project, dir, "migrations folder")
        .with_context(|| format!("app {label}"))?;
    let previewed: BTreeSet<String> = app.files.iter().map(|f| f.rel_path.clone()).collect();
    let now: BTreeSet<String> = files_to_go(&real)?.into_iter().collect();
    if previewed != now {
        let added: Vec<_> = now.difference(&previewed).cloned().collect();
        let gone: Vec<_> = previewed.difference(&now).cloned().collect();
        let listed = |files: Vec<String>| {
            if files.is_empty() {
                "none".into()
            } else {
                files.join(", ")
            }
        };
        bail!(
            "the migrations of {label} changed since the preview (new: {}; gone: {}): scan again before resetting",
            listed(added),
            listed(gone)
        );
    }
    Ok((label.to_string(), real, now))
}

/// Move one app's `files` from `real` into `<backup>/reset/<label>/` (each move pushed on
/// `moved` as it happens, so a failure can put them back); then hash what stays.
fn move_app(
    project: &Path,
    backup_dir: &Path,
    label: &str,
    real: &Path,
    files: &BTreeSet<String>,
    moved: &mut Vec<Move>,
) -> Result<ResetApp> {
    let rel_dir = relative_to(project, real);
    for rel in files {
        let src = real.join(rel);
        let archived = PathBuf::from(RESET_DIR).join(label).join(rel);
        let dst = safe_join(backup_dir, &archived)?;
        let (sha256, size) = sha256_file(&src)?;
        move_file(&src, &dst)?;
        moved.push((
            src,
            dst,
            MovedFile {
                app: label.to_string(),
                original: rel_dir.join(rel),
                archived,
                sha256,
                size,
            },
        ));
    }
    let mut kept = Vec::new();
    for rel in walk_files(real)? {
        let (sha256, size) = sha256_file(&real.join(&rel))?;
        kept.push(ArchivedFile {
            rel_path: rel,
            size,
            sha256,
        });
    }
    Ok(ResetApp {
        label: label.to_string(),
        migrations_dir: rel_dir,
        kept,
    })
}

/// Add every move and the reset's record to the manifest (a later reset of other apps
/// extends the first record).
fn record_in_manifest(manifest: &mut Manifest, moved: &[Move], record: &ResetRecord) {
    for (_, _, m) in moved {
        manifest.entries.push(ManifestEntry {
            kind: EntryKind::ResetMoved,
            original: m.original.clone(),
            archived: m.archived.clone(),
            sha256: m.sha256.clone(),
            size: m.size,
            replaced_by_sha256: None,
            app: Some(m.app.clone()),
        });
    }
    match &mut manifest.reset {
        Some(r) => r.apps.extend(record.apps.clone()),
        None => manifest.reset = Some(record.clone()),
    }
}

/// After a failure `e`: put every moved file back, latest first; the error to return
/// names the files that could not be put back.
fn put_back(moved: &[Move], e: anyhow::Error) -> anyhow::Error {
    let not_back: Vec<String> = move_back(moved.iter().map(|(src, dst, _)| (&**dst, &**src)))
        .into_iter()
        .map(|(dst, src, e2)| format!("{} (still at {}: {e2:#})", src.display(), dst.display()))
        .collect();
    if not_back.is_empty() {
        return anyhow::anyhow!(
            "the reset stopped and every file moved so far was put back: {e:#}"
        );
    }
    anyhow::anyhow!(
        "the reset stopped ({e:#}) and these files could not be put back; move them by hand: {}",
        not_back.join("; ")
    )
}

/// After `makemigrations` ran on the reset apps: record the files it wrote (their hashes)
/// so `restore` can tell them from files the user changed later. Returns the new entries.
pub fn record_regenerated(project_dir: &Path, backup_dir: &Path) -> Result<Vec<ManifestEntry>> {
    let (project, mut manifest) = project_and_manifest(project_dir, backup_dir)?;
    let Some(reset) = manifest.reset.clone() else {
        bail!(
            "{} records no reset: nothing was regenerated",
            backup_dir.display()
        );
    };
    let mut new = Vec::new();
    for app in &reset.apps {
        let dir = safe_join(&project, &app.migrations_dir)?;
        let kept: BTreeSet<&str> = app.kept.iter().map(|k| k.rel_path.as_str()).collect();
        for rel in walk_files(&dir)? {
            if kept.contains(rel.as_str()) {
                continue;
            }
            let (sha256, size) = sha256_file(&dir.join(&rel))?;
            new.push(ManifestEntry {
                kind: EntryKind::Regenerated,
                original: app.migrations_dir.join(&rel),
                archived: PathBuf::new(),
                sha256,
                size,
                replaced_by_sha256: None,
                app: Some(app.label.clone()),
            });
        }
    }
    let paths: BTreeSet<String> = new.iter().map(|e| rel_to_string(&e.original)).collect();
    manifest.entries.retain(|e| {
        !(e.kind == EntryKind::Regenerated && paths.contains(&rel_to_string(&e.original)))
    });
    manifest.entries.extend(new.clone());
    write_manifest(backup_dir, &manifest)?;
    Ok(new)
}

/// Files dj2pg wrote into the project outside a reset (the pgvector migration), recorded as
/// [`EntryKind::Regenerated`] with their hash, so that restore moves them out as it does
/// makemigrations' files, and tells an untouched one from one the user edited since.
pub fn record_written(project_dir: &Path, backup_dir: &Path, files: &[PathBuf]) -> Result<()> {
    let (project, mut manifest) = project_and_manifest(project_dir, backup_dir)?;
    let mut new = Vec::new();
    for file in files {
        let original = relative_to(&project, file);
        if original.is_absolute() {
            bail!("{} is outside the project: not recorded", file.display());
        }
        let (sha256, size) = sha256_file(&safe_join(&project, &original)?)?;
        new.push(ManifestEntry {
            kind: EntryKind::Regenerated,
            original,
            archived: PathBuf::new(),
            sha256,
            size,
            replaced_by_sha256: None,
            app: None,
        });
    }
    let paths: BTreeSet<String> = new.iter().map(|e| rel_to_string(&e.original)).collect();
    manifest.entries.retain(|e| {
        !(e.kind == EntryKind::Regenerated && paths.contains(&rel_to_string(&e.original)))
    });
    manifest.entries.extend(new);
    write_manifest(backup_dir, &manifest)
}
