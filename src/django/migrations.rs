//! The migration scan for the Reset migrations step: runs `assets/migration_scan.py` with
//! the project's Python and returns what a reset would move, per app, with warnings.
//!
//! The script reads migration files with Python's `ast` (it never imports them) and asks
//! Django only for the app registry and `MIGRATION_MODULES`.

use super::introspect::tail;
use crate::data::backup::{AppScan, MigrationScan};
use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::path::Path;
use std::process::Command;

#[derive(Deserialize)]
struct ScanJson {
    schema: u32,
    apps: Vec<AppScan>,
    #[serde(default)]
    warnings: Vec<String>,
}

/// Scan every installed app's migrations with `python` (the project's interpreter), in
/// `project_dir`. `settings`: the settings module, when it is not the one manage.py names.
///
/// Third-party apps are listed (never with files: they are kept) because their migrations
/// may depend on a local app's by name.
pub fn scan_migrations(
    python: &Path,
    project_dir: &Path,
    settings: Option<&str>,
) -> Result<MigrationScan> {
    let dir = tempfile::tempdir().context("could not create a temporary directory")?;
    std::fs::write(
        dir.path().join("dj2pg_introspect.py"),
        crate::assets::INTROSPECT_PY,
    )
    .context("could not write the introspection helpers")?;
    let script = dir.path().join("dj2pg_migration_scan.py");
    std::fs::write(&script, crate::assets::MIGRATION_SCAN_PY)
        .context("could not write the migration scan script")?;
    let mut cmd = Command::new(python);
    cmd.arg(&script)
        .arg("--project")
        .arg(project_dir)
        .current_dir(project_dir)
        .env_remove("PYTHONSTARTUP")
        // The scan must not itself leave new .pyc files in the folders it lists.
        .env("PYTHONDONTWRITEBYTECODE", "1");
    if let Some(s) = settings {
        cmd.arg("--settings").arg(s);
    }
    let output = cmd
        .output()
        .with_context(|| format!("could not run the project's Python {}", python.display()))?;
    if !output.status.success() {
        bail!(
            "{} could not scan the migrations ({}):\n{}",
            python.display(),
            output.status,
            tail(&String::from_utf8_lossy(&output.stderr), 15)
        );
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let parsed: ScanJson = serde_json::from_str(stdout.trim()).with_context(|| {
        format!(
            "the migration scan printed something that is not its JSON:\n{}",
            tail(&stdout, 5)
        )
    })?;
    if parsed.schema != 1 {
        bail!(
            "the migration scan speaks schema {}, dj2pg expects 1",
            parsed.schema
        );
    }
    Ok(MigrationScan {
        apps: parsed.apps,
        warnings: parsed.warnings,
    })
}
