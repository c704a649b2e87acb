//! The migrations archive: a copy of every local app's migrations folder (with
//! `__pycache__`) into `<backup>/migrations/<label>/`, each copy verified by SHA-256.
//!
//! Invariant: only folders inside the project (canonical paths) are read; anything else
//! is refused before a byte is copied.

use super::folder::Created;
use super::hash::{sha256_file, walk_files};
use super::paths::{check_label, inside_project, relative_to};
use crate::data::backup::{AppMigrationsDir, ArchivedApp, ArchivedFile, MigrationsArchive};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

/// The archive's folder inside the backup folder.
pub const ARCHIVE_DIR: &str = "migrations";

/// Check every app's folder first (all inside the project), then copy them all.
pub fn archive_migrations(
    project_dir: &Path,
    apps: &[AppMigrationsDir],
    backup_dir: &Path,
    created: &mut Created,
) -> Result<MigrationsArchive> {
    let mut checked = Vec::new();
    for app in apps {
        check_label(&app.label)?;
        if !app.migrations_dir.exists() {
            // Discover listed it, but it is gone: nothing to archive, say so.
            bail!(
                "the migrations folder of {} ({}) does not exist any more: run Discover again",
                app.label,
                app.migrations_dir.display()
            );
        }
        let real = inside_project(project_dir, &app.migrations_dir, "migrations folder")
            .with_context(|| format!("app {}", app.label))?;
        checked.push((app.label.clone(), real));
    }
    let mut out = MigrationsArchive::default();
    for (label, real) in checked {
        let archive_dir = PathBuf::from(ARCHIVE_DIR).join(&label);
        let dest_root = backup_dir.join(&archive_dir);
        let mut files = Vec::new();
        for rel in walk_files(&real)? {
            let src = real.join(&rel);
            let dst = dest_root.join(&rel);
            if let Some(parent) = dst.parent() {
                create_dirs(parent, created)?;
            }
            created.file(dst.clone());
            std::fs::copy(&src, &dst).with_context(|| {
                format!("could not copy {} to {}", src.display(), dst.display())
            })?;
            let (want, size) = sha256_file(&src)?;
            let (got, _) = sha256_file(&dst)?;
            if want != got {
                bail!(
                    "the archived copy {} differs from {} (was it changed meanwhile?)",
                    dst.display(),
                    src.display()
                );
            }
            files.push(ArchivedFile {
                rel_path: rel,
                size,
                sha256: want,
            });
        }
        out.apps.push(ArchivedApp {
            label,
            source_dir: relative_to(project_dir, &real),
            archive_dir,
            files,
        });
    }
    Ok(out)
}

/// `create_dir_all`, recording each folder it creates.
pub fn create_dirs(dir: &Path, created: &mut Created) -> Result<()> {
    let mut missing = Vec::new();
    let mut cur = Some(dir);
    while let Some(p) = cur {
        if p.is_dir() {
            break;
        }
        missing.push(p.to_path_buf());
        cur = p.parent();
    }
    for p in missing.into_iter().rev() {
        std::fs::create_dir(&p).with_context(|| format!("could not create {}", p.display()))?;
        created.dir(p);
    }
    Ok(())
}
