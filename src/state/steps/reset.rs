//! Reset migrations (optional): the scan lists, per local app, exactly the files that would
//! go and what `makemigrations` will not regenerate; the user selects apps (none at first)
//! and confirms explicitly; the files are *moved* into the backup, then `makemigrations` runs
//! for those apps on a scratch SQLite file.

use super::backup::restore_hint;
use crate::data::backup::{MigrationScan, ResetReport};
use crate::data::commands::MakeMigrationsReport;
use crate::rules;
use crate::state::update::{fail, finish, launch};
use crate::state::{ChoiceId, Effect, JobId, Migration, Question, Status, Step};
use serde::{Deserialize, Serialize};

/// What Reset migrations knows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ResetPart {
    /// What would go, per app.
    pub scan: Option<MigrationScan>,
    /// The apps selected (none until the user says so), in the scan's order.
    #[serde(default)]
    pub selection: Vec<String>,
    /// What moved into the backup.
    pub report: Option<ResetReport>,
    /// What makemigrations wrote.
    pub regenerated: Option<MakeMigrationsReport>,
}

/// Reset migrations' first job: the scan.
pub(in crate::state) fn effect(m: &Migration, job: JobId) -> Result<Effect, String> {
    let (d, python) = super::python(m)?;
    Ok(Effect::ScanMigrations {
        job,
        python,
        project_dir: d.project_dir.clone(),
        settings_module: d.settings_module.clone(),
    })
}

pub(in crate::state) fn scanned(m: &mut Migration, scan: MigrationScan, fx: &mut Vec<Effect>) {
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
pub(in crate::state) fn toggle_app(m: &mut Migration, label: &str, fx: &mut Vec<Effect>) {
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

pub(in crate::state) fn decide_reset(m: &mut Migration, id: ChoiceId, fx: &mut Vec<Effect>) {
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

pub(in crate::state) fn reset_done(
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
