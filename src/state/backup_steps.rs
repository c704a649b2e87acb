//! Transitions of Backup and Reset migrations. Pure: effects out, events in.
//!
//! - Backup (never skipped): the worker copies the SQLite file with the online backup API,
//!   verifies it and archives every local migrations folder; a git tree that is not clean
//!   (or no repository) is a warning the user acknowledges, never a silent pass.
//! - Reset migrations (optional): the scan lists, per local app, exactly the files that
//!   would go and what `makemigrations` will not regenerate; the user selects apps (none
//!   at first) and confirms explicitly; the files are *moved* into the backup, then
//!   `makemigrations` runs for those apps on a scratch SQLite file.

use super::update::{fail, finish, launch, stop};
use super::{ChoiceId, Effect, Migration, Question, Status, Step};
use crate::data::backup::{BackupOutcome, BackupReport, GitState, MigrationScan, ResetReport};
use crate::data::commands::MakeMigrationsReport;
use crate::rules;

pub(super) fn start_effect(m: &Migration, step: Step, job: u64) -> Option<Result<Effect, String>> {
    Some(match step {
        Step::Backup => match &m.discovery {
            Some(d) => Ok(Effect::Backup {
                job,
                discovery: Box::new(d.clone()),
                backup_dir: m.options.backup_dir.clone(),
            }),
            None => Err("Discover the project first (step Discover).".into()),
        },
        Step::ResetMigrations => match &m.discovery {
            Some(d) => match (&d.python, &d.settings_module) {
                (Some(python), settings) => Ok(Effect::ScanMigrations {
                    job,
                    python: python.clone(),
                    project_dir: d.project_dir.clone(),
                    settings_module: settings.clone(),
                }),
                (None, _) => Err(
                    "Discover found no Python for this project: pass --python path/to/venv/bin/python."
                        .into(),
                ),
            },
            None => Err("Discover the project first (step Discover).".into()),
        },
        _ => return None,
    })
}

pub(super) fn backed_up(m: &mut Migration, report: BackupReport, fx: &mut Vec<Effect>) {
    let status = if !report.verified() {
        Status::Failed {
            message: match &report.outcome {
                BackupOutcome::Failed { message } => message.clone(),
                BackupOutcome::Verified => "the backup could not be verified".into(),
            },
        }
    } else {
        match &report.git {
            GitState::Clean => Status::Done {
                summary: backup_summary(&report),
            },
            other => {
                let (question, choices) = rules::git_question(other);
                Status::NeedsDecision {
                    kind: Question::GitNotClean,
                    question,
                    choices,
                }
            }
        }
    };
    m.backup.report = Some(report);
    finish(m, Step::Backup, status, fx);
}

fn backup_summary(r: &BackupReport) -> String {
    let sqlite = r
        .sqlite
        .as_ref()
        .map(|s| {
            format!(
                "SQLite copy verified ({} rows, sha256 {}…)",
                crate::units::thousands(s.total_rows()),
                s.sha256.chars().take(12).collect::<String>()
            )
        })
        .unwrap_or_else(|| "no SQLite file to copy".into());
    format!(
        "{sqlite}; {} migration file(s) archived; in {}",
        r.migrations.total_files(),
        r.backup_dir.display()
    )
}

pub(super) fn decide_git(m: &mut Migration, id: ChoiceId, fx: &mut Vec<Effect>) {
    let Some(report) = &m.backup.report else {
        return;
    };
    match id {
        ChoiceId::Continue => {
            let summary = format!(
                "{} (git: {}, acknowledged)",
                backup_summary(report),
                rules::git_words(&report.git)
            );
            finish(m, Step::Backup, Status::Done { summary }, fx);
        }
        ChoiceId::Abort => {
            let message = stopped_for_git(m);
            stop(m, Step::Backup, &message);
            fx.push(Effect::Save);
        }
        _ => {}
    }
}

/// Why the run stopped at the git question, with what to do: commit in a repository, or
/// make one first where there is none (`git commit -am` would fail there).
fn stopped_for_git(m: &Migration) -> String {
    let not_a_repo = m
        .backup
        .report
        .as_ref()
        .is_some_and(|b| matches!(b.git, GitState::NotARepository { .. }));
    let commit = if not_a_repo {
        "This folder is not in a git repository: to keep this code in git, make one first \
         (git init && git add -A && git commit -m 'before dj2pg')"
    } else {
        "Commit your changes first (git add -A && git commit)"
    };
    let then = match m.surface {
        crate::surface::Surface::Wizard => "then press r to take a fresh backup".to_string(),
        crate::surface::Surface::CommandLine => {
            "then run the same command again (it takes a fresh backup), or pass --allow-dirty \
             to go on without"
                .to_string()
        }
    };
    format!("As you chose; the backup is kept. {commit}; {then}.")
}

pub(super) fn scanned(m: &mut Migration, scan: MigrationScan, fx: &mut Vec<Effect>) {
    // Nothing is selected until the user says so.
    m.reset
        .selection
        .retain(|a| scan.app(a).is_some_and(|s| s.resettable()));
    m.reset.scan = Some(scan);
    let status = reset_question(m);
    finish(m, Step::ResetMigrations, status, fx);
}

/// The confirm question for the current selection.
fn reset_question(m: &Migration) -> Status {
    let Some(scan) = &m.reset.scan else {
        return Status::Pending;
    };
    let (question, choices) = rules::reset_question(scan, &m.reset.selection, m.surface);
    Status::NeedsDecision {
        kind: Question::ResetConfirm,
        question,
        choices,
    }
}

/// Space on an app: select it for the reset, or not. Only resettable (local) apps.
pub(super) fn toggle_app(m: &mut Migration, label: &str, fx: &mut Vec<Effect>) {
    if m.job.is_some()
        || !matches!(
            m.status(Step::ResetMigrations),
            Status::NeedsDecision { .. }
        )
    {
        return;
    }
    let Some(scan) = &m.reset.scan else {
        return;
    };
    if !scan.app(label).is_some_and(|a| a.resettable()) {
        return;
    }
    if let Some(i) = m.reset.selection.iter().position(|a| a == label) {
        m.reset.selection.remove(i);
    } else {
        m.reset.selection.push(label.to_string());
        // Keep the scan's order, so the preview and the report read the same.
        let order: Vec<&str> = scan.apps.iter().map(|a| a.label.as_str()).collect();
        m.reset
            .selection
            .sort_by_key(|a| order.iter().position(|o| o == a).unwrap_or(usize::MAX));
    }
    let status = reset_question(m);
    m.step_mut(Step::ResetMigrations).status = status;
    fx.push(Effect::Save);
}

pub(super) fn decide_reset(m: &mut Migration, id: ChoiceId, fx: &mut Vec<Effect>) {
    match id {
        ChoiceId::ResetSelected => {
            let (Some(scan), Some(backup), Some(d)) = (
                m.reset.scan.clone(),
                m.backup.report.as_ref(),
                m.discovery.as_ref(),
            ) else {
                return;
            };
            if m.reset.selection.is_empty() {
                return;
            }
            let (Some(python), Some(settings_module)) =
                (d.python.clone(), d.settings_module.clone())
            else {
                fail(
                    m,
                    Step::ResetMigrations,
                    "Nothing was moved: makemigrations needs the settings module, which \
                     Discover could not tell (DJANGO_SETTINGS_MODULE in manage.py). Pass \
                     --python with the project's interpreter, or keep the migrations (k).",
                );
                fx.push(Effect::Save);
                return;
            };
            let (project_dir, backup_dir) = (d.project_dir.clone(), backup.backup_dir.clone());
            launch(
                m,
                Step::ResetMigrations,
                "moving the files into the backup",
                fx,
                |m, job| Effect::ResetMigrations {
                    job,
                    project_dir,
                    backup_dir,
                    scan: Box::new(scan),
                    selected: m.reset.selection.clone(),
                    python,
                    settings_module,
                },
            );
        }
        ChoiceId::KeepMigrations => {
            finish(
                m,
                Step::ResetMigrations,
                Status::Skipped {
                    reason: "migrations kept as they are (nothing moved)".into(),
                },
                fx,
            );
        }
        _ => {}
    }
}

pub(super) fn reset_done(
    m: &mut Migration,
    report: ResetReport,
    made: MakeMigrationsReport,
    fx: &mut Vec<Effect>,
) {
    let status = if made.run.succeeded() {
        Status::Done {
            summary: format!(
                "{} file(s) of {} moved into the backup; makemigrations wrote {} new file(s)",
                report.moved.len(),
                m.reset.selection.join(", "),
                made.created.len()
            ),
        }
    } else {
        Status::Failed {
            message: format!(
                "The old files are in the backup, but makemigrations failed (see the log). \
                 Fix the models, then {}; or put everything back: {}",
                m.surface.then_again("run it again"),
                restore_hint(m)
            ),
        }
    };
    m.reset.report = Some(report);
    m.reset.regenerated = Some(made);
    finish(m, Step::ResetMigrations, status, fx);
}

/// The command that undoes the reset (and the settings change), quoted for the shell and
/// with absolute paths, so it pastes from any folder (`crate::shell`).
pub fn restore_hint(m: &Migration) -> String {
    let project = m
        .discovery
        .as_ref()
        .map_or_else(|| m.options.project.clone(), |d| d.project_dir.clone());
    match m.backup.report.as_ref() {
        Some(b) => crate::shell::restore_command(&project, &b.backup_dir),
        None => format!(
            "{} --backup BACKUP_DIR",
            crate::shell::command([
                "dj2pg",
                "restore",
                "--project",
                &crate::shell::path_word(&project)
            ])
        ),
    }
}
