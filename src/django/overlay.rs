//! The settings overlay: a generated launcher that loads the project's own settings module,
//! unchanged and exactly as `manage.py` would, then overrides only `DATABASES` before Django
//! sets up, pointing `default` either at PostgreSQL (every value, the password above all,
//! read from the environment of the process) or at a new scratch SQLite file in the
//! overlay's own temporary directory; then it runs the project's `manage.py`.
//!
//! Not a settings module that star-imports the project's: a settings module may read
//! `django.conf.settings` while it is imported (to configure Sentry, logging, a plugin
//! registry), and through such a module it would find the overlay half-built.
//!
//! Invariants:
//! - the overlay lives in a temporary directory put first on `PYTHONPATH`, never inside the
//!   user's project, and the child runs with `PYTHONDONTWRITEBYTECODE=1`, so running Django
//!   through it writes no file of theirs (no settings, no `.pyc`);
//! - the SQLite overlay replaces the whole `DATABASES`, so the user's SQLite file is never
//!   opened by Django at all;
//! - no secret is in the overlay file or on the child's command line: the password is only
//!   in the child's environment ([`Overlay::command`] with a [`PgTarget`]).

use crate::pg::{ConnConfig, Secret};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The launcher's file name in the overlay directory.
pub const OVERLAY_LAUNCHER: &str = "dj2pg_manage.py";

/// The scratch SQLite file's name inside the overlay directory.
const SCRATCH_DB: &str = "scratch.sqlite3";

/// Where the overlay points `DATABASES['default']`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OverlayKind {
    /// PostgreSQL, from `DJ2PG_DB_*` environment variables.
    Postgres,
    /// A new, empty SQLite file in the overlay directory.
    ScratchSqlite,
}

/// Where a PostgreSQL overlay connects, and as whom. The password goes into the child's
/// environment only.
#[derive(Clone, Debug)]
pub struct PgTarget {
    pub config: ConnConfig,
    pub password: Option<Secret>,
    /// A schema to put first on the `search_path` (recipe "dedicated schema"): sent as libpq
    /// `options='-c search_path=…'`, since `search_path` is not a connection parameter.
    pub search_path: Option<String>,
}

/// A written overlay; dropping it removes the directory (and the scratch SQLite file).
pub struct Overlay {
    dir: tempfile::TempDir,
    project_dir: PathBuf,
    kind: OverlayKind,
}

const PG_DATABASES: &str = r#"DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": os.environ["DJ2PG_DB_HOST"],
        "PORT": os.environ["DJ2PG_DB_PORT"],
        "NAME": os.environ["DJ2PG_DB_NAME"],
        "USER": os.environ["DJ2PG_DB_USER"],
        "PASSWORD": os.environ.get("DJ2PG_DB_PASSWORD", ""),
        "OPTIONS": {
            "sslmode": os.environ.get("DJ2PG_DB_SSLMODE", "require"),
            **({"sslrootcert": os.environ["DJ2PG_DB_SSLROOTCERT"]} if os.environ.get("DJ2PG_DB_SSLROOTCERT") else {}),
            # libpq's options string: spaces and backslashes in the value are escaped with '\'.
            **({"options": "-c search_path=" + os.environ["DJ2PG_DB_SEARCH_PATH"].replace("\\", "\\\\").replace(" ", "\\ ")} if os.environ.get("DJ2PG_DB_SEARCH_PATH") else {}),
        },
    }
}
"#;

const SQLITE_DATABASES: &str = r#"DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ["DJ2PG_SCRATCH_SQLITE"],
    }
}
"#;

impl Overlay {
    /// Write a PostgreSQL overlay over `settings_module` (e.g. `aiproto.settings`).
    pub fn write(project_dir: &Path, settings_module: &str) -> Result<Overlay> {
        Self::write_kind(project_dir, settings_module, OverlayKind::Postgres)
    }

    /// Write an overlay pointing `default` at a new scratch SQLite file (created by Django on
    /// first use) in the overlay's temporary directory.
    pub fn write_sqlite(project_dir: &Path, settings_module: &str) -> Result<Overlay> {
        Self::write_kind(project_dir, settings_module, OverlayKind::ScratchSqlite)
    }

    fn write_kind(project_dir: &Path, settings_module: &str, kind: OverlayKind) -> Result<Overlay> {
        // A module path is dotted identifiers; anything else would be Python code in the file.
        let valid = !settings_module.is_empty()
            && settings_module.split('.').all(|part| {
                let mut chars = part.chars();
                chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
                    && chars.all(|c| c == '_' || c.is_alphanumeric())
            });
        if !valid {
            anyhow::bail!(
                "the settings module {settings_module:?} is not a Python module path (like mysite.settings)"
            );
        }
        let dir = tempfile::Builder::new()
            .prefix("dj2pg-overlay-")
            .tempdir()
            .context("could not create a temporary directory for the settings overlay")?;
        let (what, databases) = match kind {
            OverlayKind::Postgres => ("PostgreSQL", PG_DATABASES),
            OverlayKind::ScratchSqlite => ("a scratch SQLite file", SQLITE_DATABASES),
        };
        let text = format!(
            r#""""Written by dj2pg: manage.py with {settings_module}, DATABASES pointed at {what}.

The project's settings module is loaded first, unchanged, as manage.py loads it; only
DATABASES is replaced, before Django sets up. Every connection value comes from the
environment; nothing secret is in this file.
"""
import os
import runpy
import sys

os.environ["DJANGO_SETTINGS_MODULE"] = "{settings_module}"
sys.path.insert(0, os.getcwd())

from django.conf import settings  # noqa: E402

settings.INSTALLED_APPS  # imports the project's settings, as Django's own commands do
{databases}settings.DATABASES = DATABASES
sys.argv = ["manage.py"] + sys.argv[1:]
runpy.run_path("manage.py", run_name="__main__")
"#
        );
        let path = dir.path().join(OVERLAY_LAUNCHER);
        std::fs::write(&path, text)
            .with_context(|| format!("could not write the settings overlay {}", path.display()))?;
        Ok(Overlay {
            dir,
            project_dir: project_dir.to_path_buf(),
            kind,
        })
    }

    pub fn kind(&self) -> OverlayKind {
        self.kind
    }

    /// The overlay's temporary directory (the module, and the scratch SQLite file).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn project_dir(&self) -> &Path {
        &self.project_dir
    }

    /// The scratch SQLite file of a [`OverlayKind::ScratchSqlite`] overlay.
    pub fn scratch_sqlite(&self) -> Option<PathBuf> {
        (self.kind == OverlayKind::ScratchSqlite).then(|| self.dir.path().join(SCRATCH_DB))
    }

    /// `python manage.py ARGS` in the project through the launcher, not yet started. `pg` is
    /// needed for a PostgreSQL overlay (its values and password go into the environment).
    pub fn command(&self, python: &Path, pg: Option<&PgTarget>, args: &[&str]) -> Command {
        let mut cmd = Command::new(python);
        cmd.arg(self.dir.path().join(OVERLAY_LAUNCHER))
            .args(args)
            .current_dir(&self.project_dir)
            .stdin(Stdio::null())
            .env(
                "PYTHONPATH",
                python_path(self.dir.path(), &self.project_dir),
            )
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("PYTHONUNBUFFERED", "1");
        if let Some(db) = self.scratch_sqlite() {
            cmd.env("DJ2PG_SCRATCH_SQLITE", db);
        }
        if let Some(pg) = pg {
            let target = &pg.config;
            cmd.env("DJ2PG_DB_HOST", &target.host)
                .env("DJ2PG_DB_PORT", target.port.to_string())
                .env("DJ2PG_DB_NAME", &target.dbname)
                .env("DJ2PG_DB_USER", &target.user)
                .env("DJ2PG_DB_SSLMODE", target.sslmode.as_str());
            if let Some(ca) = &target.sslrootcert {
                cmd.env("DJ2PG_DB_SSLROOTCERT", ca);
            }
            if let Some(schema) = &pg.search_path {
                cmd.env("DJ2PG_DB_SEARCH_PATH", schema);
            }
            if let Some(p) = target.resolve_password(pg.password.as_ref()) {
                cmd.env("DJ2PG_DB_PASSWORD", p.expose());
            }
        }
        cmd
    }

    /// `python manage.py ARGS --settings=overlay`, against `target`, the password in the
    /// environment only; waits and returns the whole output (see `commands::run_streamed` for
    /// a streamed, cancellable run).
    pub fn manage(
        &self,
        python: &Path,
        target: &ConnConfig,
        password: Option<&Secret>,
        args: &[&str],
    ) -> Result<Output> {
        let pg = PgTarget {
            config: target.clone(),
            password: password.cloned(),
            search_path: None,
        };
        self.command(python, Some(&pg), args)
            .output()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pg::SslMode;

    fn target() -> PgTarget {
        PgTarget {
            config: ConnConfig {
                host: "db.example.com".into(),
                port: 25060,
                dbname: "appdb".into(),
                user: "app".into(),
                sslmode: SslMode::Require,
                sslrootcert: None,
                ..ConnConfig::default()
            },
            password: Some(Secret::new("s3cret-pw")),
            search_path: Some("app schema".into()),
        }
    }

    #[test]
    fn the_password_is_in_the_environment_only() {
        let project = tempfile::tempdir().unwrap();
        let overlay = Overlay::write(project.path(), "aiproto.settings").unwrap();
        let cmd = overlay.command(Path::new("python3"), Some(&target()), &["migrate"]);
        assert!(
            cmd.get_args()
                .all(|a| !a.to_string_lossy().contains("s3cret-pw")),
            "{:?}",
            cmd.get_args().collect::<Vec<_>>()
        );
        let env: Vec<_> = cmd.get_envs().collect();
        assert!(
            env.iter()
                .any(|(k, v)| *k == "DJ2PG_DB_PASSWORD" && v.is_some_and(|v| v == "s3cret-pw"))
        );
        assert!(
            env.iter()
                .any(|(k, v)| *k == "DJ2PG_DB_SEARCH_PATH" && v.is_some_and(|v| v == "app schema"))
        );
        let file = std::fs::read_to_string(overlay.dir().join(OVERLAY_LAUNCHER)).unwrap();
        assert!(!file.contains("s3cret-pw"));
        assert!(file.contains(r#"os.environ["DJANGO_SETTINGS_MODULE"] = "aiproto.settings""#));
        assert!(
            !file.contains("import *"),
            "no star import of the project's settings"
        );
        assert!(overlay.scratch_sqlite().is_none());
    }

    #[test]
    fn the_sqlite_overlay_points_at_a_scratch_file_in_its_own_dir() {
        let project = tempfile::tempdir().unwrap();
        let overlay = Overlay::write_sqlite(project.path(), "aiproto.settings").unwrap();
        let db = overlay.scratch_sqlite().unwrap();
        assert!(db.starts_with(overlay.dir()));
        assert!(!db.starts_with(project.path()));
        let cmd = overlay.command(Path::new("python3"), None, &["migrate"]);
        assert!(
            cmd.get_envs()
                .any(|(k, v)| k == "DJ2PG_SCRATCH_SQLITE" && v == Some(db.as_os_str()))
        );
    }

    #[test]
    fn a_settings_module_that_is_not_a_module_path_is_refused() {
        let project = tempfile::tempdir().unwrap();
        for bad in ["", "a.b; import os", "1abc", "a..b"] {
            assert!(
                Overlay::write_sqlite(project.path(), bad).is_err(),
                "{bad:?}"
            );
        }
        assert!(Overlay::write_sqlite(project.path(), "my_site.settings.dev").is_ok());
    }
}
