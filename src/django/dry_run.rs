//! The Dry run on SQLite and the `makemigrations` after Reset migrations: both run Django
//! through a scratch-SQLite overlay, so the user's SQLite file is never opened by Django.
//!
//! The dry run: `makemigrations --check --dry-run` (models that drifted from their
//! migrations: a warning), then `migrate` from zero on the scratch file, then the fresh schema
//! compared with the user's data ([`compare_schemas`], both files read-only).

pub use crate::data::commands::MakeMigrationsInput;
use crate::data::commands::{
    CommandOutcome, CommandStatus, DryRunInput, DryRunReport, MakeMigrationsReport,
};
use crate::django::commands::{Scrubber, run_streamed};
use crate::django::overlay::Overlay;
use crate::django::schema_diff::compare_schemas;
use anyhow::{Context, Result};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// Run the dry run. A failing `migrate` is a report (with its whole log), not an error; an
/// error means dj2pg could not run anything (no Python, no temp dir, unreadable data file).
pub fn dry_run(
    input: DryRunInput,
    on_line: &mut dyn FnMut(String),
    cancel: Arc<AtomicBool>,
) -> Result<DryRunReport> {
    let overlay = Overlay::write_sqlite(&input.project_dir, &input.settings_module)?;
    let scrub = Scrubber::default();
    let check_args = ["makemigrations", "--check", "--dry-run", "--noinput"];
    on_line(format!("$ {}", display(&input.python, &check_args)));
    let makemigrations = run_streamed(
        overlay.command(&input.python, None, &check_args),
        &display(&input.python, &check_args),
        &scrub,
        on_line,
        &cancel,
    )?;
    let drifted_apps = drifted_apps(&makemigrations);
    let mut report = DryRunReport {
        makemigrations,
        drifted_apps,
        migrate: None,
        schema: None,
        schema_error: None,
    };
    // Exit 1 with "Migrations for 'app'" is --check reporting drift; any other failure means
    // the project did not load (the traceback is in the log) and migrate would fail the same.
    let loaded = report.makemigrations.succeeded() || !report.drifted_apps.is_empty();
    if report.cancelled() || !loaded {
        return Ok(report);
    }
    let migrate_args = ["migrate", "--noinput"];
    on_line(format!("$ {}", display(&input.python, &migrate_args)));
    let migrate = run_streamed(
        overlay.command(&input.python, None, &migrate_args),
        &display(&input.python, &migrate_args),
        &scrub,
        on_line,
        &cancel,
    )?;
    let ok = migrate.succeeded();
    report.migrate = Some(migrate);
    if ok {
        if let (Some(data), Some(fresh)) = (&input.sqlite_path, overlay.scratch_sqlite()) {
            let diff = compare_schemas(&fresh, data).with_context(|| {
                format!("could not compare the fresh schema with {}", data.display())
            })?;
            report.schema = Some(diff);
        }
    }
    Ok(report)
}

/// The app labels of `makemigrations --check` output (`Migrations for 'classifier':`).
fn drifted_apps(out: &CommandOutcome) -> Vec<String> {
    if out.status != (CommandStatus::Failed { exit_code: Some(1) }) {
        return Vec::new();
    }
    let mut apps: Vec<String> = out
        .lines
        .iter()
        .filter_map(|l| {
            let rest = l.trim().strip_prefix("Migrations for '")?;
            let end = rest.find("':")?;
            Some(rest[..end].to_string())
        })
        .collect();
    apps.dedup();
    apps
}


/// `makemigrations APP...` through the scratch-SQLite overlay (the real database would hold
/// the history of the migrations just moved away). Reports the files that appeared.
pub fn make_migrations(
    input: MakeMigrationsInput,
    on_line: &mut dyn FnMut(String),
    cancel: Arc<AtomicBool>,
) -> Result<MakeMigrationsReport> {
    let overlay = Overlay::write_sqlite(&input.project_dir, &input.settings_module)?;
    let before = snapshot(&input.apps)?;
    let mut args = vec!["makemigrations", "--noinput"];
    args.extend(input.apps.iter().map(|(label, _)| label.as_str()));
    on_line(format!("$ {}", display(&input.python, &args)));
    let run = run_streamed(
        overlay.command(&input.python, None, &args),
        &display(&input.python, &args),
        &Scrubber::default(),
        on_line,
        &cancel,
    )?;
    let after = snapshot(&input.apps)?;
    Ok(MakeMigrationsReport {
        run,
        created: after.difference(&before).cloned().collect(),
    })
}

/// The migration files (`*.py`) in each folder; a missing folder has none.
fn snapshot(apps: &[(String, PathBuf)]) -> Result<BTreeSet<PathBuf>> {
    let mut files = BTreeSet::new();
    for (label, dir) in apps {
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(e).with_context(|| {
                    format!(
                        "could not list the migrations of {label} in {}",
                        dir.display()
                    )
                });
            }
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "py") && path.is_file() {
                files.insert(path);
            }
        }
    }
    Ok(files)
}

/// `python manage.py ARGS`, as the log shows it (the `--settings` overlay left out: it is
/// dj2pg's, not the user's).
pub(crate) fn display(python: &Path, args: &[&str]) -> String {
    format!("{} manage.py {}", python.display(), args.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(code: i32, lines: &[&str]) -> CommandOutcome {
        CommandOutcome {
            display: String::new(),
            status: CommandStatus::Failed {
                exit_code: Some(code),
            },
            lines: lines.iter().map(|s| s.to_string()).collect(),
            omitted_lines: 0,
            duration_ms: 0,
        }
    }

    #[test]
    fn drift_is_read_from_check_output_only_on_exit_1() {
        let lines = [
            "Migrations for 'classifier':",
            "  classifier/migrations/0003_label_notes.py",
            "    + Add field notes to label",
            "Migrations for 'shop':",
        ];
        assert_eq!(drifted_apps(&outcome(1, &lines)), ["classifier", "shop"]);
        assert!(drifted_apps(&outcome(2, &lines)).is_empty());
        assert!(drifted_apps(&outcome(1, &["Traceback (most recent call last):"])).is_empty());
    }
}
