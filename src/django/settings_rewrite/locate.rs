//! Running `assets/settings_locate.py` with the project's Python and reading its JSON.

use crate::data::settings::{LocateOutcome, SettingsLocation, Site};
use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What the script prints (schema 1).
#[derive(Deserialize)]
struct LocateJson {
    schema: u32,
    settings_module: String,
    settings_file: PathBuf,
    chain: Vec<PathBuf>,
    dj_database_url: bool,
    postgres_driver: Option<String>,
    notes: Vec<String>,
    rewritable: bool,
    reason: Option<String>,
    site: Option<Site>,
}

/// Find where `settings_module` (e.g. `aiproto.settings`) sets `DATABASES`, following its
/// star imports, with `python` (the project's interpreter) run in `project_dir`.
///
/// Nothing of the project is imported: the files are parsed only. Errors carry the script's
/// message (a settings file that does not parse names its file and line).
pub fn locate(
    python: &Path,
    project_dir: &Path,
    settings_module: &str,
) -> Result<SettingsLocation> {
    let dir = tempfile::tempdir().context("could not create a temporary directory")?;
    let script = dir.path().join("dj2pg_settings_locate.py");
    std::fs::write(&script, crate::assets::SETTINGS_LOCATE_PY)
        .context("could not write the settings locator script")?;
    let output = Command::new(python)
        .arg(&script)
        .arg("--project")
        .arg(project_dir)
        .arg("--settings")
        .arg(settings_module)
        .current_dir(project_dir)
        .env_remove("PYTHONSTARTUP")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .with_context(|| format!("could not run the project's Python {}", python.display()))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        bail!(
            "could not read the settings {settings_module} ({}):\n{}",
            output.status,
            crate::django::introspect::tail(&stderr, 10)
        );
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let parsed: LocateJson = serde_json::from_str(stdout.trim()).with_context(|| {
        format!("the settings locator printed something that is not its JSON:\n{stdout}")
    })?;
    if parsed.schema != 1 {
        bail!(
            "the settings locator speaks schema {}, dj2pg expects 1",
            parsed.schema
        );
    }
    let outcome = match (parsed.rewritable, parsed.site) {
        (true, Some(site)) => LocateOutcome::Rewritable(Box::new(site)),
        (_, _) => LocateOutcome::NotRewritable {
            reason: parsed
                .reason
                .unwrap_or_else(|| "the locator gave no reason".into()),
        },
    };
    Ok(SettingsLocation {
        settings_module: parsed.settings_module,
        settings_file: parsed.settings_file,
        chain: parsed.chain,
        dj_database_url: parsed.dj_database_url,
        postgres_driver: parsed.postgres_driver,
        outcome,
        notes: parsed.notes,
    })
}
