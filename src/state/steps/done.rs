//! Done: the run's report (`report.md` and `report.json`) is written next to the backup;
//! from here the user may put the project's files back (`u`), asked first.

use crate::data::backup::RestoreReport;
use crate::rules::Choice;
use crate::state::update::{finish, launch};
use crate::state::{ChoiceId, Effect, JobId, Migration, Question, Status, Step};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// What Done knows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DonePart {
    /// The report files Done wrote.
    #[serde(default)]
    pub report_files: Vec<PathBuf>,
    /// What the last restore from the Done screen did.
    pub restored: Option<RestoreReport>,
}

/// Done's job: the report.
pub(in crate::state) fn effect(m: &Migration, job: JobId) -> Result<Effect, String> {
    Ok(Effect::WriteReport {
        job,
        dir: report_dir(m),
        report: Box::new(crate::state::report::build(m)),
    })
}

/// Where the backup (and so the report) lives; the project's `.dj2pg/` before Backup ran.
pub fn report_dir(m: &Migration) -> PathBuf {
    m.backup
        .report
        .as_ref()
        .map(|b| b.backup_dir.clone())
        .unwrap_or_else(|| m.options.project.join(crate::data::backup::DJ2PG_DIR))
}

pub(in crate::state) fn report_written(
    m: &mut Migration,
    paths: Vec<PathBuf>,
    fx: &mut Vec<Effect>,
) {
    m.done.report_files = paths;
    let summary = done_summary(m);
    finish(m, Step::Done, Status::Done { summary }, fx);
}

/// `u` on the Done screen: ask before putting anything back.
pub(in crate::state) fn offer_restore(m: &mut Migration, fx: &mut Vec<Effect>) {
    if m.job.is_some()
        || m.backup.report.is_none()
        || !matches!(m.status(Step::Done), Status::Done { .. })
    {
        return;
    }
    let c = |id, key, label: &str| Choice {
        id,
        key,
        label: label.into(),
    };
    m.step_mut(Step::Done).status = Status::NeedsDecision {
        kind: Question::Restore,
        question: format!(
            "Put the old migrations and settings.py back from the backup, byte for byte (the \
             regenerated migrations move into the backup; PostgreSQL is left as it is; the same \
             as `{}`)?",
            crate::state::restore_hint(m)
        ),
        choices: vec![
            c(ChoiceId::RestoreFiles, 'y', "Restore the project's files"),
            c(ChoiceId::Abort, 'n', "No, keep the migrated project"),
        ],
    };
    fx.push(Effect::Save);
}

pub(in crate::state) fn decide_restore(m: &mut Migration, id: ChoiceId, fx: &mut Vec<Effect>) {
    match id {
        ChoiceId::RestoreFiles | ChoiceId::RestoreAnyway => {
            let Some(backup_dir) = m.backup.report.as_ref().map(|b| b.backup_dir.clone()) else {
                return;
            };
            let project_dir = m
                .discovery
                .as_ref()
                .map_or_else(|| m.options.project.clone(), |d| d.project_dir.clone());
            launch(m, Step::Done, "putting the old files back", fx, |_, job| {
                Effect::Restore {
                    job,
                    project_dir,
                    backup_dir,
                    yes: id == ChoiceId::RestoreAnyway,
                }
            });
        }
        ChoiceId::Abort => {
            let summary = done_summary(m);
            finish(m, Step::Done, Status::Done { summary }, fx);
        }
        _ => {}
    }
}

pub(in crate::state) fn restored(m: &mut Migration, report: RestoreReport, fx: &mut Vec<Effect>) {
    let status = if report.applied {
        Status::Done {
            summary: format!(
                "restored: {} file(s) put back (verified by SHA-256), {} moved into the backup; \
                 with the old settings.py the project uses its SQLite file again",
                report.restored.len(),
                report.displaced.len()
            ),
        }
    } else {
        let list: Vec<String> = report
            .conflicts
            .iter()
            .map(|c| format!("{} ({})", c.path.display(), c.reason))
            .collect();
        let c = |id, key, label: &str| Choice {
            id,
            key,
            label: label.into(),
        };
        Status::NeedsDecision {
            kind: Question::Restore,
            question: format!(
                "Nothing was changed: {} file(s) changed since dj2pg wrote them: {}.",
                list.len(),
                list.join("; ")
            ),
            choices: vec![
                c(
                    ChoiceId::RestoreAnyway,
                    'y',
                    "Move my versions into the backup, then restore",
                ),
                c(ChoiceId::Abort, 'n', "Keep everything as it is"),
            ],
        }
    };
    m.done.restored = Some(report);
    finish(m, Step::Done, status, fx);
}

fn done_summary(m: &Migration) -> String {
    let done = m
        .steps
        .iter()
        .filter(|s| matches!(s.status, Status::Done { .. }) && s.step != Step::Done)
        .count();
    format!(
        "{done} steps done; the report is in {}",
        report_dir(m).display()
    )
}
