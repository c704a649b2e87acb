//! The jobs on the project's files: Discover, Backup, Reset migrations, the Dry run, restore.

use super::{Job, Outcome};
use crate::data::backup::MigrationScan;
use crate::data::resume::Record;
use crate::resume_check::now_text;
use crate::state::JobEvent;
use anyhow::anyhow;
use std::path::{Path, PathBuf};

/// Read the project (and record the SQLite file's identity for a resume to check).
pub fn discover(job: &Job, project: &Path, python: Option<&Path>) -> Outcome {
    match crate::django::discover(project, python) {
        Ok(d) => {
            if let Some(s) = &d.sqlite
                && let Ok(stamp) = crate::resume_check::stamp(&s.path)
            {
                job.record(Record::Sqlite {
                    stamp,
                    at: now_text(),
                });
            }
            Ok(JobEvent::Discovered(Box::new(d)))
        }
        // A project dj2pg already moved no longer uses SQLite: say so.
        Err(e) => Err(match crate::backup::latest_finished_run(project) {
            Some(run) => anyhow!(run.explain(&format!("{e:#}"))),
            None => e,
        }),
    }
}

pub fn backup(
    job: &Job,
    discovery: &crate::data::django::Discovery,
    backup_dir: Option<&Path>,
) -> Outcome {
    let request = crate::backup::backup_request(discovery, backup_dir);
    let r = crate::backup::run_backup(request, &mut job.log(), job.cancel())?;
    Ok(JobEvent::BackedUp(Box::new(r)))
}

pub fn scan_migrations(python: &Path, project_dir: &Path, settings: Option<&str>) -> Outcome {
    let s = crate::django::migrations::scan_migrations(python, project_dir, settings)?;
    Ok(JobEvent::Scanned(Box::new(s)))
}

/// What a reset job needs.
pub struct ResetJob {
    pub project_dir: PathBuf,
    pub backup_dir: PathBuf,
    pub scan: MigrationScan,
    pub selected: Vec<String>,
    pub python: PathBuf,
    pub settings_module: String,
}

/// Move the files into the backup, run makemigrations for those apps, and record what it
/// wrote (so `dj2pg restore` can tell regenerated files from edited ones).
pub fn reset_migrations(job: &Job, r: ResetJob) -> Outcome {
    let mut log = job.log();
    let report = crate::backup::reset_migrations(
        &r.project_dir,
        &r.backup_dir,
        &r.scan,
        &r.selected,
        &mut log,
    )?;
    let apps = r
        .scan
        .apps
        .iter()
        .filter(|a| r.selected.contains(&a.label))
        .filter_map(|a| Some((a.label.clone(), a.migrations_dir.clone()?)))
        .collect();
    let input = crate::data::commands::MakeMigrationsInput {
        python: r.python,
        project_dir: r.project_dir.clone(),
        settings_module: r.settings_module,
        apps,
    };
    let made = crate::django::make_migrations(input, &mut log, job.cancel())?;
    if made.run.succeeded()
        && let Err(e) = crate::backup::record_regenerated(&r.project_dir, &r.backup_dir)
    {
        log(format!("could not record the regenerated files: {e:#}"));
    }
    Ok(JobEvent::ResetDone(Box::new(report), Box::new(made)))
}

pub fn dry_run(job: &Job, input: crate::data::commands::DryRunInput) -> Outcome {
    let r = crate::django::dry_run(input, &mut job.log(), job.cancel())?;
    Ok(JobEvent::DryRunFinished(Box::new(r)))
}

/// `dj2pg restore` from the wizard: put the project's files back, line by line in the log.
pub fn restore(job: &Job, project_dir: &Path, backup_dir: &Path, yes: bool) -> Outcome {
    let r = crate::backup::restore(project_dir, backup_dir, yes)?;
    crate::backup::restore_lines(&r)
        .into_iter()
        .for_each(job.log());
    Ok(JobEvent::Restored(Box::new(r)))
}
