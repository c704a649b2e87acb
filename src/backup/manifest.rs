//! `manifest.json` in the backup folder: read, written atomically (temporary file, then
//! rename), and extended by later steps (the reset, the settings rewrite) with new entries.

use crate::data::backup::{Manifest, ManifestEntry};
use anyhow::{Context, Result, bail};
use std::path::Path;

/// The manifest's file name inside the backup folder.
pub const MANIFEST_FILE: &str = "manifest.json";

/// The version of the manifest format this build writes and reads.
pub const MANIFEST_SCHEMA: u32 = 1;

/// Read `<backup_dir>/manifest.json`.
pub fn read_manifest(backup_dir: &Path) -> Result<Manifest> {
    let path = backup_dir.join(MANIFEST_FILE);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "could not read {} (is {} a dj2pg backup folder?)",
            path.display(),
            backup_dir.display()
        )
    })?;
    let m: Manifest = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a dj2pg manifest", path.display()))?;
    if m.schema > MANIFEST_SCHEMA {
        bail!(
            "{} was written by a newer dj2pg (manifest schema {}): use that version",
            path.display(),
            m.schema
        );
    }
    Ok(m)
}

/// Write `<backup_dir>/manifest.json` atomically: readers see the old or the new file.
pub fn write_manifest(backup_dir: &Path, manifest: &Manifest) -> Result<()> {
    let path = backup_dir.join(MANIFEST_FILE);
    let json = serde_json::to_vec_pretty(manifest).context("could not encode the manifest")?;
    crate::atomic::write_with(&path, |w| {
        w.write_all(&json)?;
        w.write_all(b"\n")
    })?;
    Ok(())
}

/// Append entries to an existing manifest (e.g. the settings step's `SettingsBackup`).
pub fn add_entries(backup_dir: &Path, entries: Vec<ManifestEntry>) -> Result<()> {
    let mut m = read_manifest(backup_dir)?;
    m.entries.extend(entries);
    write_manifest(backup_dir, &m)
}

/// The project folder as an absolute path and the backup's manifest: what the reset, its
/// record of the regenerated files and the restore each start from.
pub fn project_and_manifest(
    project_dir: &Path,
    backup_dir: &Path,
) -> Result<(std::path::PathBuf, Manifest)> {
    let project = std::fs::canonicalize(project_dir).with_context(|| {
        format!(
            "the project folder {} cannot be read",
            project_dir.display()
        )
    })?;
    Ok((project, read_manifest(backup_dir)?))
}
