//! Dry run on SQLite: runs once the project is discovered; a failing `migrate` fails the
//! step (fix the code, retry); schema mismatches are listed and do not stop it.

use crate::data::commands::{DryRunInput, DryRunReport};
use crate::state::update::{finish, launch};
use crate::state::{Effect, JobId, Migration, Status, Step};
use serde::{Deserialize, Serialize};

/// What Dry run knows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DryRunPart {
    /// The dry run's report.
    pub report: Option<DryRunReport>,
}

/// Dry run's job.
pub(in crate::state) fn effect(m: &Migration, job: JobId) -> Result<Effect, String> {
    super::project(m).map(|(python, project_dir, settings_module)| Effect::DryRun {
        job,
        input: DryRunInput {
            python,
            project_dir,
            settings_module,
            sqlite_path: m.sqlite_path().cloned(),
        },
    })
}

pub(in crate::state) fn dry_run_finished(
    m: &mut Migration,
    report: DryRunReport,
    fx: &mut Vec<Effect>,
) {
    let status = if report.cancelled() {
        Status::Stopped {
            message: format!(
                "Cancelled by you; nothing was changed. {}",
                m.surface.again("run it again")
            ),
        }
    } else if !report.passed() {
        let why = match &report.migrate {
            None => "the project does not load (makemigrations failed)",
            Some(_) => "migrate failed on a new, empty SQLite file",
        };
        Status::Failed {
            message: format!(
                "The fresh migrations do not pass: {why}. The log says where; fix the code, \
                 then {}. Your SQLite file was not touched.",
                m.surface.then_again("run it again")
            ),
        }
    } else if m.embeddings.choice.is_none()
        && m.embeddings.plan.is_none()
        && let Some(d) = m.discovery.clone().filter(|_| m.sqlite_path().is_some())
    {
        // Passed: the embeddings are chosen now, so Fix permissions knows whether the
        // vector extension is needed (see `steps::embeddings`).
        m.dry_run.report = Some(report);
        launch(
            m,
            Step::DryRun,
            "looking for embeddings in the SQLite file",
            fx,
            |_, job| Effect::FindEmbeddings {
                job,
                discovery: Box::new(d),
            },
        );
        return;
    } else {
        Status::Done {
            summary: dry_run_summary(&report),
        }
    };
    m.dry_run.report = Some(report);
    finish(m, Step::DryRun, status, fx);
}

pub(in crate::state) fn dry_run_summary(r: &DryRunReport) -> String {
    let mut s = "migrations pass on a fresh SQLite file".to_string();
    if !r.drifted_apps.is_empty() {
        s.push_str(&format!(
            "; models changed without a migration in {}",
            r.drifted_apps.join(", ")
        ));
    }
    match &r.schema {
        Some(diff) if diff.problems.is_empty() => s.push_str("; your data fits the new schema"),
        Some(diff) => s.push_str(&format!(
            "; {} schema difference(s) with your data (listed)",
            diff.problems.len()
        )),
        None => {}
    }
    s
}
