//! One file per step: the step's part of the run (its data), its start, its job events and
//! its decisions. `Migration` holds the parts; [`Migration::reset_part`] forgets one whole.

pub mod backup;
pub mod connect;
pub mod copy;
pub mod cutover;
pub mod discover;
pub mod done;
pub mod dry_run;
pub mod embeddings;
pub mod permissions;
pub mod reset;
pub mod schema;
pub mod settings;

use super::{Migration, Step};
use crate::data::django::Discovery;
use std::path::PathBuf;

impl Migration {
    /// Forget what `step` learnt: its whole part back to the default, so a field added to
    /// a part is forgotten with it. The status is the caller's business.
    pub fn reset_part(&mut self, step: Step) {
        match step {
            Step::Discover => self.discovery = None,
            Step::Backup => self.backup = Default::default(),
            Step::ResetMigrations => self.reset = Default::default(),
            Step::DryRun => {
                // The embeddings are the dry run's last question.
                self.dry_run = Default::default();
                self.embeddings = Default::default();
            }
            Step::Connect => self.connect = Default::default(),
            Step::FixPermissions => self.permissions = Default::default(),
            Step::CreateSchema => self.schema = Default::default(),
            Step::CopyRows => self.copy = Default::default(),
            Step::Cutover => self.cutover = Default::default(),
            Step::UpdateSettings => self.settings = Default::default(),
            Step::Done => self.done = Default::default(),
        }
    }
}

/// The discovered project and its Python, or why a step that runs Django cannot start.
fn python(m: &Migration) -> Result<(&Discovery, PathBuf), String> {
    let d = m
        .discovery
        .as_ref()
        .ok_or("Discover the project first (step Discover).")?;
    let python = d.python.clone().ok_or(
        "Discover found no Python for this project: pass --python path/to/venv/bin/python.",
    )?;
    Ok((d, python))
}

/// What the Django steps (Dry run, Create schema) need from Discover, or why they cannot run.
fn project(m: &Migration) -> Result<(PathBuf, PathBuf, String), String> {
    let (d, python) = python(m)?;
    let settings = d.settings_module.clone().ok_or(
        "Discover could not tell the settings module (DJANGO_SETTINGS_MODULE in manage.py).",
    )?;
    if d.django_version.is_none() {
        return Err(format!(
            "Django is not importable by {}: pass the project's Python with --python.",
            python.display()
        ));
    }
    Ok((python, d.project_dir.clone(), settings))
}
