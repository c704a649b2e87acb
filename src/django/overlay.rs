//! The settings overlay: a generated settings module that imports the project's settings
//! and points `DATABASES['default']` at PostgreSQL, with every value (the password above
//! all) read from the environment of the `manage.py` process.
//!
//! The overlay lives in a temporary directory put first on `PYTHONPATH`, never inside the
//! user's project, so running Django against PostgreSQL changes no file of theirs.

use crate::pg::{ConnConfig, Secret};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The module name of the overlay.
pub const OVERLAY_MODULE: &str = "dj2pg_overlay_settings";

/// A written overlay; dropping it removes the directory.
pub struct Overlay {
    dir: tempfile::TempDir,
    project_dir: PathBuf,
}

impl Overlay {
    /// Write an overlay over `settings_module` (e.g. `aiproto.settings`).
    pub fn write(project_dir: &Path, settings_module: &str) -> Result<Overlay> {
        let dir = tempfile::Builder::new()
            .prefix("dj2pg-overlay-")
            .tempdir()
            .context("could not create a temporary directory for the settings overlay")?;
        let text = format!(
            r#""""Written by dj2pg: {settings_module} with DATABASES pointed at PostgreSQL.

Every connection value comes from the environment; nothing secret is in this file.
"""
import os

from {settings_module} import *  # noqa: F401,F403

DATABASES = {{
    "default": {{
        "ENGINE": "django.db.backends.postgresql",
        "HOST": os.environ["DJ2PG_DB_HOST"],
        "PORT": os.environ["DJ2PG_DB_PORT"],
        "NAME": os.environ["DJ2PG_DB_NAME"],
        "USER": os.environ["DJ2PG_DB_USER"],
        "PASSWORD": os.environ.get("DJ2PG_DB_PASSWORD", ""),
        "OPTIONS": {{
            "sslmode": os.environ.get("DJ2PG_DB_SSLMODE", "require"),
            **({{"sslrootcert": os.environ["DJ2PG_DB_SSLROOTCERT"]}} if os.environ.get("DJ2PG_DB_SSLROOTCERT") else {{}}),
        }},
    }}
}}
"#
        );
        std::fs::write(dir.path().join(format!("{OVERLAY_MODULE}.py")), text)
            .context("could not write the settings overlay")?;
        Ok(Overlay {
            dir,
            project_dir: project_dir.to_path_buf(),
        })
    }

    /// `python manage.py ARGS --settings=overlay`, against `target`, the password in the
    /// environment only.
    pub fn manage(
        &self,
        python: &Path,
        target: &ConnConfig,
        password: Option<&Secret>,
        args: &[&str],
    ) -> Result<Output> {
        let mut cmd = Command::new(python);
        cmd.arg("manage.py")
            .args(args)
            .arg(format!("--settings={OVERLAY_MODULE}"))
            .current_dir(&self.project_dir)
            .env(
                "PYTHONPATH",
                python_path(self.dir.path(), &self.project_dir),
            )
            .env("DJANGO_SETTINGS_MODULE", OVERLAY_MODULE)
            .env("DJ2PG_DB_HOST", &target.host)
            .env("DJ2PG_DB_PORT", target.port.to_string())
            .env("DJ2PG_DB_NAME", &target.dbname)
            .env("DJ2PG_DB_USER", &target.user)
            .env("DJ2PG_DB_SSLMODE", target.sslmode.as_str());
        if let Some(ca) = &target.sslrootcert {
            cmd.env("DJ2PG_DB_SSLROOTCERT", ca);
        }
        if let Some(p) = target.resolve_password(password) {
            cmd.env("DJ2PG_DB_PASSWORD", p.expose());
        }
        cmd.output()
            .with_context(|| format!("could not run {} manage.py", python.display()))
    }
}

fn python_path(overlay: &Path, project: &Path) -> std::ffi::OsString {
    let mut parts = vec![overlay.to_path_buf(), project.to_path_buf()];
    if let Some(existing) = std::env::var_os("PYTHONPATH") {
        parts.extend(std::env::split_paths(&existing));
    }
    std::env::join_paths(parts).unwrap_or_default()
}
