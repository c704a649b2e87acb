//! The settings backups restore puts back: `SettingsBackup` entries of `manifest.json`,
//! and the records the Update settings step keeps in `settings-backup.json` (a JSON list
//! of `{kind, original, archived, sha256}` with absolute paths, written by
//! `crate::django::settings_rewrite`). Read here with a local type so this module does not
//! depend on that step's code.

use super::paths::relative_to;
use crate::data::backup::{EntryKind, Manifest, ManifestEntry};
use anyhow::{Context, Result};
use serde::Deserialize;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The Update settings step's list of backups in the backup folder.
pub const SETTINGS_BACKUP_FILE: &str = "settings-backup.json";

#[derive(Deserialize)]
struct Record {
    kind: String,
    original: PathBuf,
    archived: PathBuf,
    sha256: String,
}

/// Every settings-like file to put back, oldest backup first per file (a second rewrite
/// backs up dj2pg's own output, which is not what the user wants back). Records naming a
/// file outside the project or the backup folder are left out, with a note.
pub fn settings_entries(
    project: &Path,
    backup_dir: &Path,
    manifest: &Manifest,
    notes: &mut Vec<String>,
) -> Result<Vec<ManifestEntry>> {
    let mut out: Vec<ManifestEntry> = manifest
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::SettingsBackup)
        .cloned()
        .collect();
    let path = backup_dir.join(SETTINGS_BACKUP_FILE);
    let records: Vec<Record> = match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not a list of settings backups", path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e).with_context(|| format!("could not read {}", path.display())),
    };
    let backup_real =
        std::fs::canonicalize(backup_dir).unwrap_or_else(|_| backup_dir.to_path_buf());
    for r in records {
        let original = relative_to(project, &r.original);
        let archived = r
            .archived
            .strip_prefix(&backup_real)
            .or_else(|_| r.archived.strip_prefix(backup_dir))
            .map(Path::to_path_buf)
            .unwrap_or_else(|_| r.archived.clone());
        if original.is_absolute() || archived.is_absolute() {
            notes.push(format!(
                "{}: its {} backup is outside the project or the backup folder; put it back by hand from {}",
                r.original.display(),
                r.kind,
                r.archived.display()
            ));
            continue;
        }
        out.push(ManifestEntry {
            kind: EntryKind::SettingsBackup,
            original,
            archived,
            sha256: r.sha256,
            size: 0,
            replaced_by_sha256: None,
            app: None,
        });
    }
    let mut seen = BTreeSet::new();
    out.retain(|e| seen.insert(e.original.clone()));
    Ok(out)
}
