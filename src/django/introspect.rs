//! Running `assets/introspect.py` with the project's Python and reading its JSON.

use super::AppInfo;
use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::path::Path;
use std::process::Command;

/// What introspect.py prints (schema 1).
#[derive(Clone, Debug, Deserialize)]
pub struct Introspection {
    pub schema: u32,
    pub python: Option<String>,
    pub django_version: String,
    pub settings_module: String,
    pub database: DbJson,
    pub use_tz: Option<bool>,
    pub time_zone: Option<String>,
    pub postgres_driver: Option<String>,
    pub apps: Vec<AppInfo>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct DbJson {
    pub engine: String,
    pub name: Option<String>,
}

/// Run the introspection script with `python`, in `project_dir`.
///
/// Errors carry the interpreter's stderr (its last lines), so a broken settings.py or a
/// Python without Django is shown as Python itself explains it.
pub fn run_introspection(python: &Path, project_dir: &Path) -> Result<Introspection> {
    let script_dir = tempfile::tempdir().context("could not create a temporary directory")?;
    let script = script_dir.path().join("dj2pg_introspect.py");
    std::fs::write(&script, crate::assets::INTROSPECT_PY)
        .context("could not write the introspection script")?;
    let output = Command::new(python)
        .arg(&script)
        .arg("--project")
        .arg(project_dir)
        .current_dir(project_dir)
        // The introspection must not be steered by a stale module from the caller's shell.
        .env_remove("PYTHONSTARTUP")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .with_context(|| format!("could not run the project's Python {}", python.display()))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        bail!(
            "{} could not introspect the project ({}):\n{}",
            python.display(),
            output.status,
            tail(&stderr, 15)
        );
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let parsed: Introspection = serde_json::from_str(stdout.trim()).with_context(|| {
        format!(
            "the introspection script printed something that is not its JSON:\n{}",
            tail(&stdout, 5)
        )
    })?;
    if parsed.schema != 1 {
        bail!(
            "the introspection script speaks schema {}, dj2pg expects 1",
            parsed.schema
        );
    }
    Ok(parsed)
}

/// The last `n` lines of `text`.
pub(crate) fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.trim_end().lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
