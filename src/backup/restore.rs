//! `dj2pg restore`: put the migrations the reset moved back byte for byte, move the files
//! written since (regenerated migrations, compiled files) into the archive, and copy back
//! a settings.py the manifest recorded.
//!
//! Invariants: the whole plan is made and checked before anything moves; a file that
//! changed after the reset (neither the old file nor what dj2pg wrote) is a conflict, and
//! with conflicts nothing moves unless `yes`; with `yes` the changed file goes into the
//! archive, it is never overwritten in place; every file put back is verified by SHA-256;
//! a failure midway undoes the moves made so far.

use super::hash::{rel_to_string, sha256_file, walk_files};
use super::manifest::{project_and_manifest, write_manifest};
use super::paths::{move_back, move_file, safe_join, unique_path};
use crate::data::backup::{
    EntryKind, Manifest, ManifestEntry, MovedFile, ResetApp, RestoreConflict, RestoreReport,
};
use anyhow::{Context, Result, bail};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Where restore puts the files it moves out of the project.
pub const REGENERATED_DIR: &str = "regenerated";

/// One step of the plan.
enum Action {
    /// Move the file at `path` (relative to the project) into the archive.
    Displace { path: PathBuf, app: Option<String> },
    /// Bring `entry` back from the archive: moved for reset files, copied for settings.
    PutBack {
        entry: ManifestEntry,
        source: PathBuf,
        copy: bool,
    },
}

/// Restore the project from `backup_dir` (see the module docs).
pub fn restore(project_dir: &Path, backup_dir: &Path, yes: bool) -> Result<RestoreReport> {
    let (project, mut manifest) = project_and_manifest(project_dir, backup_dir)?;
    let mut report = RestoreReport::default();
    if manifest.project_dir != project {
        report.notes.push(format!(
            "the backup was taken of {}; restoring into {}",
            manifest.project_dir.display(),
            project.display()
        ));
    }
    let (actions, conflicts) = plan(&project, backup_dir, &manifest, &mut report)?;
    report.conflicts = conflicts;
    if !report.conflicts.is_empty() && !yes {
        report.notes.push(
            "nothing was changed: rerun with --yes to move the changed files into the archive \
             (regenerated/...) and put the old ones back"
                .into(),
        );
        return Ok(report);
    }

    // Carry it out, keeping an undo list: (where it is now, where it was) for moves; a
    // copied file is undone by moving it aside too (never deleted).
    let mut undo: Vec<(PathBuf, PathBuf)> = Vec::new();
    let mut new_entries = Vec::new();
    let result = (|| -> Result<()> {
        for action in &actions {
            match action {
                Action::Displace { path, app } => {
                    let src = safe_join(&project, path)?;
                    let (sha256, size) = sha256_file(&src)?;
                    let archived_abs = unique_path(&backup_dir.join(REGENERATED_DIR).join(path));
                    let archived = archived_abs
                        .strip_prefix(backup_dir)
                        .map(Path::to_path_buf)
                        .unwrap_or_else(|_| archived_abs.clone());
                    move_file(&src, &archived_abs)?;
                    undo.push((archived_abs.clone(), src.clone()));
                    new_entries.push(ManifestEntry {
                        kind: EntryKind::RestoreDisplaced,
                        original: path.clone(),
                        archived: archived.clone(),
                        sha256: sha256.clone(),
                        size,
                        replaced_by_sha256: None,
                        app: app.clone(),
                    });
                    report.displaced.push(MovedFile {
                        app: app.clone().unwrap_or_default(),
                        original: path.clone(),
                        archived,
                        sha256,
                        size,
                    });
                }
                Action::PutBack {
                    entry,
                    source,
                    copy,
                } => {
                    let dst = safe_join(&project, &entry.original)?;
                    if *copy {
                        if let Some(parent) = dst.parent() {
                            std::fs::create_dir_all(parent).with_context(|| {
                                format!("could not create {}", parent.display())
                            })?;
                        }
                        copy_new(source, &dst)?;
                        undo.push((
                            dst.clone(),
                            unique_path(&backup_dir.join(REGENERATED_DIR).join(&entry.original)),
                        ));
                    } else {
                        move_file(source, &dst)?;
                        undo.push((dst.clone(), source.clone()));
                    }
                    let (got, _) = sha256_file(&dst)?;
                    if got != entry.sha256 {
                        bail!(
                            "{} was put back but its SHA-256 differs from the manifest's: the archive is damaged",
                            dst.display()
                        );
                    }
                    report.restored.push(entry.original.clone());
                }
            }
        }
        manifest.entries.extend(new_entries.clone());
        write_manifest(backup_dir, &manifest)
    })();
    if let Err(e) = result {
        let stuck: Vec<String> = move_back(undo.iter().map(|(now, was)| (&**now, &**was)))
            .into_iter()
            .map(|(now, was, e2)| {
                format!("{} (should be at {}: {e2:#})", now.display(), was.display())
            })
            .collect();
        if stuck.is_empty() {
            bail!("restore stopped and every change so far was undone: {e:#}");
        }
        bail!(
            "restore stopped ({e:#}) and these could not be undone; move them by hand: {}",
            stuck.join("; ")
        );
    }
    report.applied = true;
    Ok(report)
}

/// Decide every action before touching anything. Errors when an archived file is missing
/// or damaged (and the Backup step's copy cannot stand in).
fn plan(
    project: &Path,
    backup_dir: &Path,
    manifest: &Manifest,
    report: &mut RestoreReport,
) -> Result<(Vec<Action>, Vec<RestoreConflict>)> {
    let records = Records::of(manifest);
    let mut steps = Steps::default();
    match &manifest.reset {
        None => report
            .notes
            .push("the backup records no reset: no migrations to put back".into()),
        Some(reset) => {
            for app in &reset.apps {
                plan_app(project, backup_dir, app, &records, report, &mut steps)?;
            }
        }
    }
    plan_written(project, manifest, &mut steps)?;
    plan_settings(project, backup_dir, manifest, report, &mut steps)?;
    let Steps {
        mut displace,
        put_back,
        conflicts,
    } = steps;
    displace.extend(put_back);
    Ok((displace, conflicts))
}

/// The manifest's entries that restore looks files up in, keyed by original path.
struct Records<'a> {
    /// What makemigrations wrote after the reset: path → its hash.
    regenerated: BTreeMap<String, &'a str>,
    /// The Backup step's copies: (path, hash) → entry.
    archive_copies: BTreeMap<(String, &'a str), &'a ManifestEntry>,
    /// What the reset moved into the archive: path → entry.
    moved: BTreeMap<String, &'a ManifestEntry>,
}

impl<'a> Records<'a> {
    fn of(manifest: &'a Manifest) -> Self {
        let of_kind = |kind: EntryKind| manifest.entries.iter().filter(move |e| e.kind == kind);
        Records {
            regenerated: of_kind(EntryKind::Regenerated)
                .map(|e| (rel_to_string(&e.original), e.sha256.as_str()))
                .collect(),
            archive_copies: of_kind(EntryKind::MigrationArchive)
                .map(|e| ((rel_to_string(&e.original), e.sha256.as_str()), e))
                .collect(),
            moved: of_kind(EntryKind::ResetMoved)
                .map(|e| (rel_to_string(&e.original), e))
                .collect(),
        }
    }
}

/// The plan being made: files to move out first, then files to put back, and conflicts.
#[derive(Default)]
struct Steps {
    displace: Vec<Action>,
    put_back: Vec<Action>,
    conflicts: Vec<RestoreConflict>,
}

/// One app's migrations folder: note kept files that are gone, move out what was written
/// since the reset, put back what the reset moved.
fn plan_app(
    project: &Path,
    backup_dir: &Path,
    app: &ResetApp,
    records: &Records<'_>,
    report: &mut RestoreReport,
    steps: &mut Steps,
) -> Result<()> {
    let dir = safe_join(project, &app.migrations_dir)?;
    let now = if dir.is_dir() {
        walk_files(&dir)?
    } else {
        Vec::new()
    };
    for k in &app.kept {
        if !now.contains(&k.rel_path) {
            report.notes.push(format!(
                "{} (left in place by the reset) is gone; the Backup step's copy is in {}",
                app.migrations_dir.join(&k.rel_path).display(),
                backup_dir
                    .join(super::ARCHIVE_DIR)
                    .join(&app.label)
                    .display()
            ));
        }
    }
    let in_place = displace_written_since(app, &dir, now, records, report, steps)?;
    for (k, entry) in records
        .moved
        .iter()
        .filter(|(_, e)| e.app.as_deref() == Some(&app.label))
    {
        if in_place.contains(k) {
            continue;
        }
        let source = archived_source(backup_dir, entry, &records.archive_copies)?;
        let copy = source != safe_join(backup_dir, &entry.archived)?;
        steps.put_back.push(Action::PutBack {
            entry: (*entry).clone(),
            source,
            copy,
        });
    }
    Ok(())
}

/// Every file now in the app's folder that the reset did not keep goes into the archive,
/// as a conflict when it changed after the reset or after makemigrations. Returns the
/// files the reset moved that are already back in place.
fn displace_written_since(
    app: &ResetApp,
    dir: &Path,
    now: Vec<String>,
    records: &Records<'_>,
    report: &mut RestoreReport,
    steps: &mut Steps,
) -> Result<BTreeSet<String>> {
    let kept: BTreeMap<&str, &str> = app
        .kept
        .iter()
        .map(|k| (k.rel_path.as_str(), k.sha256.as_str()))
        .collect();
    let app_has_record = records
        .regenerated
        .keys()
        .any(|k| Path::new(k).starts_with(&app.migrations_dir));
    let mut in_place = BTreeSet::new();
    for rel in now {
        let path = app.migrations_dir.join(&rel);
        let k = rel_to_string(&path);
        let (sha, _) = sha256_file(&dir.join(&rel))?;
        if let Some(kept_sha) = kept.get(rel.as_str()) {
            if *kept_sha != sha {
                report.notes.push(format!(
                    "{} changed after the reset; the reset did not move it, so it is left as it is",
                    path.display()
                ));
            }
            continue;
        }
        let compiled = rel.starts_with("__pycache__/") || rel.ends_with(".pyc");
        let old = records.moved.get(&k);
        if old.is_some_and(|o| o.sha256 == sha) {
            in_place.insert(k.clone());
            report.already_in_place.push(path.clone());
            continue;
        }
        let made_by_dj2pg = records.regenerated.get(&k).is_some_and(|r| *r == sha);
        let reason = if compiled || made_by_dj2pg {
            None
        } else if old.is_some() {
            Some(
                "changed after the reset: it is neither the file the reset moved nor the one makemigrations wrote",
            )
        } else if app_has_record {
            Some("created or changed after makemigrations ran")
        } else {
            None // written after the reset, and no record says otherwise
        };
        if let Some(reason) = reason {
            steps.conflicts.push(RestoreConflict {
                path: path.clone(),
                reason: reason.into(),
            });
        }
        steps.displace.push(Action::Displace {
            path,
            app: Some(app.label.clone()),
        });
    }
    Ok(in_place)
}

/// Files dj2pg wrote outside every reset app's folder (the pgvector migration of a run
/// without a reset): moved out, a conflict when changed since; gone already, nothing to do.
fn plan_written(project: &Path, manifest: &Manifest, steps: &mut Steps) -> Result<()> {
    let reset_dirs: Vec<&Path> = manifest
        .reset
        .iter()
        .flat_map(|r| r.apps.iter().map(|a| a.migrations_dir.as_path()))
        .collect();
    let written = manifest.entries.iter().filter(|e| {
        e.kind == EntryKind::Regenerated && !reset_dirs.iter().any(|d| e.original.starts_with(d))
    });
    for entry in written {
        let path = safe_join(project, &entry.original)?;
        if !path.is_file() {
            continue;
        }
        let (sha, _) = sha256_file(&path)?;
        if sha != entry.sha256 {
            steps.conflicts.push(RestoreConflict {
                path: entry.original.clone(),
                reason: "changed after dj2pg wrote it".into(),
            });
        }
        steps.displace.push(Action::Displace {
            path: entry.original.clone(),
            app: None,
        });
    }
    Ok(())
}

/// The settings files the manifest recorded: copied back, the current file moved out
/// first (a conflict when it changed after dj2pg rewrote it).
fn plan_settings(
    project: &Path,
    backup_dir: &Path,
    manifest: &Manifest,
    report: &mut RestoreReport,
    steps: &mut Steps,
) -> Result<()> {
    for entry in &super::settings_records::settings_entries(
        project,
        backup_dir,
        manifest,
        &mut report.notes,
    )? {
        let dst = safe_join(project, &entry.original)?;
        let source = safe_join(backup_dir, &entry.archived)?;
        verify(&source, &entry.sha256)?;
        if dst.exists() {
            let (sha, _) = sha256_file(&dst)?;
            if sha == entry.sha256 {
                report.already_in_place.push(entry.original.clone());
                continue;
            }
            // Only a recorded hash of what dj2pg wrote can tell a later edit apart; without
            // one the current file simply goes into the archive (it is kept, not lost).
            match entry.replaced_by_sha256.as_deref() {
                Some(written) if written != sha => steps.conflicts.push(RestoreConflict {
                    path: entry.original.clone(),
                    reason: "changed after dj2pg rewrote it".into(),
                }),
                _ => {}
            }
            steps.displace.push(Action::Displace {
                path: entry.original.clone(),
                app: None,
            });
        }
        steps.put_back.push(Action::PutBack {
            entry: entry.clone(),
            source,
            copy: true,
        });
    }
    Ok(())
}

/// The archived file to bring back: the reset's copy, or else the Backup step's copy of
/// the same content. Verified by hash before it is used.
fn archived_source(
    backup_dir: &Path,
    entry: &ManifestEntry,
    archive_copies: &BTreeMap<(String, &str), &ManifestEntry>,
) -> Result<PathBuf> {
    let primary = safe_join(backup_dir, &entry.archived)?;
    if verify(&primary, &entry.sha256).is_ok() {
        return Ok(primary);
    }
    if let Some(copy) = archive_copies.get(&(rel_to_string(&entry.original), entry.sha256.as_str()))
    {
        let alt = safe_join(backup_dir, &copy.archived)?;
        if verify(&alt, &entry.sha256).is_ok() {
            return Ok(alt);
        }
    }
    bail!(
        "the archived copy of {} ({}) is missing or damaged, and the backup holds no other copy: nothing was changed",
        entry.original.display(),
        primary.display()
    )
}

fn verify(path: &Path, sha256: &str) -> Result<()> {
    let (got, _) = sha256_file(path)?;
    if got != sha256 {
        bail!("{} does not match the manifest's SHA-256", path.display());
    }
    Ok(())
}

/// Copy `from` to a `to` that must not exist.
fn copy_new(from: &Path, to: &Path) -> Result<()> {
    if to.exists() {
        bail!("{} already exists: not overwriting it", to.display());
    }
    std::fs::copy(from, to)
        .with_context(|| format!("could not copy {} to {}", from.display(), to.display()))?;
    Ok(())
}
