//! Backup (never skipped): the worker copies the SQLite file with the online backup API,
//! verifies it and archives every local migrations folder; a git tree that is not clean (or
//! no repository) is a warning the user acknowledges, never a silent pass.

use crate::data::backup::{BackupOutcome, BackupReport, GitState};
use crate::rules;
use crate::state::update::{finish, stop};
use crate::state::{ChoiceId, Effect, JobId, Migration, Question, Status, Step};
use serde::{Deserialize, Serialize};

/// What Backup knows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BackupPart {
    /// What Backup made and verified.
    pub report: Option<BackupReport>,
}

/// Backup's job.
pub(in crate::state) fn effect(m: &Migration, job: JobId) -> Result<Effect, String> {
    match &m.discovery {
        Some(d) => Ok(Effect::Backup {
            job,
            discovery: Box::new(d.clone()),
            backup_dir: m.options.backup_dir.clone(),
        }),
        None => Err("Discover the project first (step Discover).".into()),
    }
}

pub(in crate::state) fn backed_up(m: &mut Migration, report: BackupReport, fx: &mut Vec<Effect>) {
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

pub(in crate::state) fn decide_git(m: &mut Migration, id: ChoiceId, fx: &mut Vec<Effect>) {
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
