//! The jobs that finish a run: the PostgreSQL driver, Update settings (plan, write,
//! validate, revert), the run's report, and the resume check.

use super::{Job, Outcome};
use crate::data::commands::DriverCheck;
use crate::data::resume::CheckInput;
use crate::data::settings::{Applied, RewritePlan, SettingsStyle, SettingsTarget};
use crate::django::settings_rewrite;
use crate::pg::Secret;
use crate::state::JobEvent;
use std::path::{Path, PathBuf};

pub fn install_driver(job: &Job, check: DriverCheck) -> Outcome {
    let r = crate::django::install_driver(check, &mut job.log(), job.cancel())?;
    Ok(JobEvent::DriverInstalled(Box::new(r)))
}

/// Where the settings are and what the change would be (nothing written).
pub fn plan_settings(
    python: &Path,
    project_dir: &Path,
    settings_module: &str,
    target: &SettingsTarget,
    style: SettingsStyle,
) -> Outcome {
    let loc = settings_rewrite::locate(python, project_dir, settings_module)?;
    let plan = settings_rewrite::plan_rewrite(project_dir, &loc, target, style)?;
    Ok(JobEvent::SettingsPlanned(Box::new(plan)))
}

/// What writing the settings needs.
pub struct SettingsJob {
    pub plan: Box<RewritePlan>,
    /// Write the file (false: only validate what is there).
    pub write: bool,
    pub backup_dir: PathBuf,
    pub python: PathBuf,
    pub project_dir: PathBuf,
    pub settings_module: String,
    pub password: Option<Secret>,
}

/// Write the settings (backed up first), then validate them with the project's Django.
pub fn apply_settings(job: &Job, s: SettingsJob) -> Outcome {
    let mut log = job.log();
    let applied = if s.write {
        let a = settings_rewrite::apply(&s.plan, &s.backup_dir)?;
        log(format!(
            "wrote {} (the old file is in {})",
            a.settings_file.display(),
            a.backup.archived.display()
        ));
        Some(a)
    } else {
        None
    };
    let env = settings_rewrite::validation_env(&s.plan.env, s.password.as_ref());
    let v = settings_rewrite::validate(
        &s.python,
        &s.project_dir,
        &s.settings_module,
        &env,
        s.password.as_ref(),
    )?;
    for run in std::iter::once(&v.check).chain(v.read.iter()) {
        log(format!("$ {}", run.command));
        run.output.lines().for_each(|l| log(l.to_string()));
    }
    Ok(JobEvent::SettingsApplied(
        applied.map(Box::new),
        Box::new(v),
    ))
}

pub fn revert_settings(applied: &Applied) -> Outcome {
    settings_rewrite::revert(applied)?;
    Ok(JobEvent::SettingsReverted)
}

/// report.md and report.json in the run's folder.
pub fn write_report(dir: &Path, report: &crate::data::report::RunReport) -> Outcome {
    let md = dir.join("report.md");
    let json = dir.join("report.json");
    let text = serde_json::to_vec_pretty(report).unwrap_or_default();
    crate::atomic::write(&md, report.markdown().as_bytes())?;
    crate::atomic::write(&json, &text)?;
    Ok(JobEvent::ReportWritten(vec![md, json]))
}

/// What the done steps rest on, as it is now (a resume compares it with the records).
pub fn check_resume(input: &CheckInput, password: Option<&Secret>) -> Outcome {
    let seen = crate::resume_check::observe(input, password);
    Ok(JobEvent::Checked(Box::new(seen)))
}
