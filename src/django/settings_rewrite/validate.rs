//! Validating the written settings: Django itself, with the project's real settings module
//! (no overlay) and the new environment variables, must pass `check --database default`
//! and read `django_migrations` from PostgreSQL.
//!
//! The password reaches the child through its environment only; its output is scrubbed of
//! it (plain and percent-encoded) before it is returned.

use super::envvars::{fill_password, pct};
use crate::data::settings::{CommandOutcome, EnvVar, Validation};
use crate::pg::Secret;
use anyhow::{Context, Result};
use std::path::Path;
use std::process::Command;

/// The read: through Django's connection, so it uses exactly the written settings.
const READ_CODE: &str = "from django.db import connection\n\
with connection.cursor() as c:\n    \
c.execute('SELECT count(*) FROM django_migrations')\n    \
n = c.fetchone()[0]\n\
print('dj2pg-read vendor=%s rows=%d' % (connection.vendor, n))\n";

/// The environment for the validation (or for the user's own shell): the plan's variables
/// with the password filled in. Keep it in memory; never print it.
pub fn validation_env(env: &[EnvVar], password: Option<&Secret>) -> Vec<(String, String)> {
    fill_password(env, password.map(Secret::expose).unwrap_or(""))
}

/// Run `manage.py check --database default` and a read of `django_migrations` with
/// `python` in `project_dir`, `DJANGO_SETTINGS_MODULE=settings_module`, and `env` (the
/// plan's variables, see [`validation_env`]) added to the environment. `password` is only
/// used to scrub the output.
pub fn validate(
    python: &Path,
    project_dir: &Path,
    settings_module: &str,
    env: &[(String, String)],
    password: Option<&Secret>,
) -> Result<Validation> {
    let scrub = |text: &str| -> String {
        match password.map(Secret::expose).filter(|p| !p.is_empty()) {
            Some(p) => text.replace(p, "****").replace(&pct(p, &[]), "****"),
            None => text.to_string(),
        }
    };
    let run = |args: &[&str], display: &str| -> Result<CommandOutcome> {
        let mut cmd = Command::new(python);
        cmd.arg("manage.py")
            .args(args)
            .current_dir(project_dir)
            .env("DJANGO_SETTINGS_MODULE", settings_module)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env_remove("PYTHONSTARTUP");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd
            .output()
            .with_context(|| format!("could not run {} manage.py", python.display()))?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(CommandOutcome {
            command: format!("python manage.py {display}"),
            success: out.status.success(),
            output: scrub(&text),
        })
    };
    let check = run(
        &["check", "--database", "default"],
        "check --database default",
    )?;
    if !check.success {
        let message = format!(
            "manage.py check --database default failed with the new settings: {}",
            last_line(&check.output)
        );
        return Ok(Validation {
            ok: false,
            check,
            read: None,
            vendor: None,
            migrations_rows: None,
            message,
        });
    }
    let read = run(
        &["shell", "-c", READ_CODE],
        "shell -c \"<count django_migrations through django.db.connection>\"",
    )?;
    let marker = read
        .output
        .lines()
        .find_map(|l| l.trim().strip_prefix("dj2pg-read "))
        .map(str::to_string);
    let vendor = marker
        .as_deref()
        .and_then(|m| m.split_whitespace().find_map(|w| w.strip_prefix("vendor=")))
        .map(str::to_string);
    let rows = marker
        .as_deref()
        .and_then(|m| m.split_whitespace().find_map(|w| w.strip_prefix("rows=")))
        .and_then(|n| n.parse::<u64>().ok());
    let (ok, message) = match (read.success, vendor.as_deref(), rows) {
        (true, Some("postgresql"), Some(n)) => (
            true,
            format!(
                "Django connects to PostgreSQL with the new settings: check passed, {n} applied migrations read"
            ),
        ),
        (true, Some(other), _) => (
            false,
            format!(
                "the new settings connect to {other}, not PostgreSQL: is another settings module in use?"
            ),
        ),
        _ => (
            false,
            format!(
                "Django could not read from PostgreSQL with the new settings: {}",
                last_line(&read.output)
            ),
        ),
    };
    Ok(Validation {
        ok,
        check,
        read: Some(read),
        vendor,
        migrations_rows: rows,
        message,
    })
}

/// The last non-empty line (a Python traceback ends with the error itself).
fn last_line(text: &str) -> String {
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("(no output)")
        .trim()
        .to_string()
}
