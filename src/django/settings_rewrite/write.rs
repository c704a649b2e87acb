//! Writing the plan: back up, write atomically, and put the old file back.
//!
//! A file is replaced by writing a temporary file in the same directory with the same
//! permissions (and owner, where allowed), syncing it, renaming it over the original and
//! syncing the directory: a crash leaves either the old file or the new one, never half.
//! Backups are byte-for-byte copies, checked by SHA-256 and listed in
//! `settings-backup.json` in the backup folder (a JSON list of [`BackupRecord`]).

use crate::data::settings::{Applied, BackupRecord, RewritePlan, SettingsChange};
use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The manifest file in the backup folder.
pub const MANIFEST: &str = "settings-backup.json";

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Write the plan's new settings text and `.env.example` (in the project directory), after
/// backing up the settings file (and any older `.env.example`) into `backup_dir`.
///
/// Refuses a [`SettingsChange::Manual`] plan, and a settings file that changed since the
/// plan was made.
pub fn apply(plan: &RewritePlan, backup_dir: &Path) -> Result<Applied> {
    let SettingsChange::Rewrite {
        file,
        original_sha256,
        new_text,
        ..
    } = &plan.change
    else {
        bail!("the settings cannot be rewritten safely: paste the snippet by hand");
    };
    if new_text.is_empty() {
        bail!(
            "the planned change of {} is no longer in memory (dj2pg was restarted): plan it again (r)",
            file.display()
        );
    }
    let real = std::fs::canonicalize(file)
        .with_context(|| format!("could not find {}", file.display()))?;
    let current =
        std::fs::read(&real).with_context(|| format!("could not read {}", real.display()))?;
    if &sha256_hex(&current) != original_sha256 {
        bail!(
            "{} changed since the change was planned: plan it again so the diff shows what will be written",
            file.display()
        );
    }
    let manifest = backup_dir.join(MANIFEST);
    let backup = backup_file(&real, &plan.project_dir, backup_dir, "settings", &current)?;
    atomic_write(&real, new_text.as_bytes())?;
    let env_example = plan.project_dir.join(".env.example");
    // A .env.example an earlier run of dj2pg wrote (recorded with its hash) is dj2pg's own:
    // it is rewritten and re-recorded, never backed up as if it were the user's.
    let ours = std::fs::read(&env_example)
        .is_ok_and(|old| written_by_dj2pg(&plan.project_dir, backup_dir, &env_example, &old));
    let (env_example_backup, env_text) = match std::fs::read(&env_example) {
        Ok(_) if ours => (None, plan.env_example.clone()),
        Ok(old) => {
            let text = merge_env_example(&String::from_utf8_lossy(&old), plan);
            let backup = (old != text.as_bytes())
                .then(|| {
                    backup_file(
                        &env_example,
                        &plan.project_dir,
                        backup_dir,
                        "env-example",
                        &old,
                    )
                })
                .transpose()?;
            (backup, text)
        }
        Err(_) => (None, plan.env_example.clone()),
    };
    let created = ours || !env_example.exists();
    atomic_write(&env_example, env_text.as_bytes())?;
    // Created by dj2pg: recorded so that `dj2pg restore` moves it out again.
    if created && crate::backup::read_manifest(backup_dir).is_ok() {
        crate::backup::record_written(
            &plan.project_dir,
            backup_dir,
            std::slice::from_ref(&env_example),
        )?;
    }
    // .env.example says to keep the real values in .env: make sure git never takes it.
    crate::backup::ensure_ignored(
        &plan.project_dir,
        ".env",
        "# secrets for the settings (see .env.example; written by dj2pg)",
    )?;
    Ok(Applied {
        settings_file: real,
        backup,
        written_sha256: sha256_hex(new_text.as_bytes()),
        env_example,
        env_example_backup,
        manifest,
    })
}

/// `file` (now holding `bytes`) is one dj2pg wrote and recorded in the backup's manifest.
fn written_by_dj2pg(project: &Path, backup_dir: &Path, file: &Path, bytes: &[u8]) -> bool {
    let Ok(manifest) = crate::backup::read_manifest(backup_dir) else {
        return false;
    };
    let rel = crate::backup::relative_to(project, file);
    let sha = sha256_hex(bytes);
    manifest.entries.iter().any(|e| {
        e.kind == crate::data::backup::EntryKind::Regenerated
            && e.original == rel
            && e.sha256 == sha
    })
}

/// An existing `.env.example` keeps its other lines (e.g. `DJANGO_SECRET_KEY=`); the lines
/// of the plan's variables (and dj2pg's own comments) are replaced by the plan's block.
fn merge_env_example(old: &str, plan: &RewritePlan) -> String {
    let ours: Vec<&str> = plan.env_example.lines().collect();
    let names: Vec<String> = plan.env.iter().map(|v| format!("{}=", v.name)).collect();
    let mut kept: Vec<&str> = old
        .lines()
        .filter(|l| {
            !ours.contains(l) && !names.iter().any(|n| l.trim_start().starts_with(n.as_str()))
        })
        .collect();
    while kept.last().is_some_and(|l| l.trim().is_empty()) {
        kept.pop();
    }
    if kept.is_empty() {
        return plan.env_example.clone();
    }
    format!("{}\n\n{}", kept.join("\n"), plan.env_example)
}

/// Put the backed-up settings file (and `.env.example`, if one was replaced) back, byte for
/// byte. The `.env.example` dj2pg created is left: it holds no secret.
pub fn revert(applied: &Applied) -> Result<()> {
    for record in std::iter::once(&applied.backup).chain(applied.env_example_backup.as_ref()) {
        let bytes = std::fs::read(&record.archived)
            .with_context(|| format!("could not read the backup {}", record.archived.display()))?;
        if sha256_hex(&bytes) != record.sha256 {
            bail!(
                "the backup {} does not match its recorded SHA-256: not restored",
                record.archived.display()
            );
        }
        atomic_write(&record.original, &bytes)?;
    }
    Ok(())
}

/// Copy `bytes` (the content of `original`) into `backup_dir/settings/<path in project>`,
/// verify the copy and record it in the manifest.
pub(crate) fn backup_file(
    original: &Path,
    project_dir: &Path,
    backup_dir: &Path,
    kind: &str,
    bytes: &[u8],
) -> Result<BackupRecord> {
    let project = std::fs::canonicalize(project_dir).unwrap_or_else(|_| project_dir.to_path_buf());
    let rel = original
        .strip_prefix(&project)
        .or_else(|_| original.strip_prefix(project_dir))
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| PathBuf::from(original.file_name().unwrap_or_default()));
    let mut archived = backup_dir.join("settings").join(&rel);
    let mut n = 1;
    while archived.exists() {
        archived = backup_dir
            .join("settings")
            .join(format!("{}.{n}", rel.display()));
        n += 1;
    }
    if let Some(parent) = archived.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("could not create {}", parent.display()))?;
    }
    std::fs::write(&archived, bytes)
        .with_context(|| format!("could not write the backup {}", archived.display()))?;
    if let Ok(meta) = std::fs::metadata(original) {
        let _ = std::fs::set_permissions(&archived, meta.permissions());
    }
    let sha256 = sha256_hex(bytes);
    let copy = std::fs::read(&archived)
        .with_context(|| format!("could not read back the backup {}", archived.display()))?;
    if sha256_hex(&copy) != sha256 {
        bail!(
            "the backup {} does not match {}",
            archived.display(),
            original.display()
        );
    }
    let record = BackupRecord {
        kind: kind.into(),
        original: original.to_path_buf(),
        archived,
        sha256,
    };
    let manifest = backup_dir.join(MANIFEST);
    let mut records: Vec<BackupRecord> = match std::fs::read(&manifest) {
        Ok(text) => serde_json::from_slice(&text)
            .with_context(|| format!("{} is not a list of backups", manifest.display()))?,
        Err(_) => Vec::new(),
    };
    records.push(record.clone());
    let json = serde_json::to_vec_pretty(&records).context("could not encode the backup list")?;
    atomic_write(&manifest, &json)?;
    Ok(record)
}

/// Replace `path` with `bytes` atomically (see [`crate::atomic`]).
pub(crate) fn atomic_write(path: &Path, bytes: &[u8]) -> Result<()> {
    crate::atomic::write(path, bytes)
}
