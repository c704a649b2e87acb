//! Carries out the state machine's effects on worker threads and reports back as `Msg`s.
//!
//! Shared by the terminal wizard and the headless runner, so both do exactly the same
//! work. Each effect's work is a function in [`crate::jobs`] of its owned input and a
//! [`Job`]; this file only hands each effect to its function with the secrets it needs.
//! Secrets (the target's and the admin's passwords) live here, in memory only.

use crate::copy::ProgressSlot;
use crate::jobs::{self, Job, Outcome};
use crate::pg::Secret;
use crate::state::{Effect, JobEvent, JobId, Msg, Role};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::mpsc::Sender;

pub use crate::jobs::JobControl;

/// The effect executor.
pub struct Runner {
    tx: Sender<Msg>,
    /// The target's password, given on the form, the command line or the environment.
    pub password: Option<Secret>,
    /// The admin's password (Fix permissions), given on its prompt or the command line.
    pub admin_password: Option<Secret>,
    /// Whether a job may install a Python package the change needs into the project's
    /// environment (pgvector-python): the wizard's diff screen says it does; `migrate` only
    /// with `--install-driver`.
    pub install_packages: bool,
    jobs: HashMap<JobId, JobControl>,
    /// The newest progress of each running copy, read by the driver when it draws
    /// ([`take_progress`](Runner::take_progress)).
    progress: HashMap<JobId, ProgressSlot>,
}

impl Runner {
    pub fn new(tx: Sender<Msg>) -> Runner {
        jobs::install_panic_hook();
        Runner {
            tx,
            password: None,
            admin_password: None,
            install_packages: true,
            jobs: HashMap::new(),
            progress: HashMap::new(),
        }
    }

    /// Start the work of one effect. `Save` and `Quit` belong to the driver and are ignored.
    pub fn run(&mut self, effect: Effect) {
        match effect {
            Effect::Save | Effect::Quit => {}
            Effect::Pause { job, paused } => {
                if let Some(c) = self.jobs.get(&job) {
                    c.pause.store(paused, Ordering::SeqCst);
                }
            }
            Effect::Cancel { job } => {
                if let Some(c) = self.jobs.get(&job) {
                    c.cancel.store(true, Ordering::SeqCst);
                }
            }
            e @ (Effect::Discover { .. }
            | Effect::Backup { .. }
            | Effect::ScanMigrations { .. }
            | Effect::ResetMigrations { .. }
            | Effect::DryRun { .. }
            | Effect::Restore { .. }) => self.project(e),
            e @ (Effect::Connect { .. }
            | Effect::Diagnose { .. }
            | Effect::ApplyRecipe { .. }
            | Effect::SaveDbaScript { .. }
            | Effect::CreateSchema { .. }
            | Effect::FindEmbeddings { .. }
            | Effect::PlanEmbeddings { .. }
            | Effect::ApplyEmbeddings { .. }) => self.target(e),
            e @ (Effect::Preflight { .. }
            | Effect::Copy { .. }
            | Effect::WatchChanges { .. }
            | Effect::Sync { .. }) => self.copy(e),
            e => self.finish(e),
        }
    }

    /// The jobs on the project's files.
    fn project(&mut self, effect: Effect) {
        use jobs::project as p;
        match effect {
            Effect::Discover {
                job,
                project,
                python,
            } => self.spawn(job, "discover", move |j| {
                p::discover(j, &project, python.as_deref())
            }),
            Effect::Backup {
                job,
                discovery,
                backup_dir,
            } => self.spawn(job, "backup", move |j| {
                p::backup(j, &discovery, backup_dir.as_deref())
            }),
            Effect::ScanMigrations {
                job,
                python,
                project_dir,
                settings_module,
            } => self.spawn(job, "scan-migrations", move |_| {
                p::scan_migrations(&python, &project_dir, settings_module.as_deref())
            }),
            Effect::ResetMigrations {
                job,
                project_dir,
                backup_dir,
                scan,
                selected,
                python,
                settings_module,
            } => {
                let reset = p::ResetJob {
                    project_dir,
                    backup_dir,
                    scan: *scan,
                    selected,
                    python,
                    settings_module,
                };
                self.spawn(job, "reset-migrations", move |j| {
                    p::reset_migrations(j, reset)
                })
            }
            Effect::DryRun { job, input } => {
                self.spawn(job, "dry-run", move |j| p::dry_run(j, input))
            }
            Effect::Restore {
                job,
                project_dir,
                backup_dir,
                yes,
            } => self.spawn(job, "restore", move |j| {
                p::restore(j, &project_dir, &backup_dir, yes)
            }),
            _ => unreachable!("Runner::run hands each effect to its group"),
        }
    }

    /// The jobs on the target server: Connect, Fix permissions, Create schema.
    fn target(&mut self, effect: Effect) {
        use jobs::{schema as s, target as t};
        let (app_pw, admin_pw) = (self.password.clone(), self.admin_password.clone());
        match effect {
            Effect::Connect {
                job,
                config,
                direct,
                admin,
            } => self.spawn(job, "connect", move |j| {
                t::connect(j, &config, direct.as_ref(), admin.as_ref(), app_pw.as_ref())
            }),
            Effect::Diagnose {
                job,
                app,
                admin,
                schema,
                vector,
                provider,
            } => {
                let work = t::DiagnoseJob {
                    app: (app, app_pw),
                    admin: admin.map(|a| (a, admin_pw)),
                    schema,
                    vector,
                    provider,
                };
                self.spawn(job, "diagnose", move |j| t::diagnose(j, work))
            }
            Effect::ApplyRecipe {
                job,
                recipe,
                app,
                admin,
            } => self.spawn(job, "fix-permissions", move |j| {
                t::apply_recipe(
                    j,
                    &recipe,
                    (&app, app_pw.as_ref()),
                    (&admin, admin_pw.as_ref()),
                )
            }),
            Effect::SaveDbaScript {
                job,
                recipe,
                diagnosis,
                app,
                path,
            } => self.spawn(job, "save-sql", move |_| {
                t::save_dba_script(&recipe, &diagnosis, &app, &path)
            }),
            Effect::CreateSchema {
                job,
                input,
                role,
                grants,
                app_roles,
            } => {
                let work = s::SchemaJob {
                    input,
                    password: self.secret(role),
                    grants,
                    app_roles,
                };
                self.spawn(job, "create-schema", move |j| s::create_schema(j, work))
            }
            Effect::FindEmbeddings { job, discovery } => {
                self.spawn(job, "find-embeddings", move |j| {
                    s::find_embeddings(j, &discovery)
                })
            }
            Effect::PlanEmbeddings {
                job,
                discovery,
                columns,
            } => self.spawn(job, "plan-embeddings", move |_| {
                s::plan_embeddings(&discovery, &columns)
            }),
            Effect::ApplyEmbeddings {
                job,
                discovery,
                backup_dir,
                target,
                admin,
                columns,
            } => {
                let work = s::EmbeddingsJob {
                    discovery,
                    backup_dir,
                    target: (target, app_pw),
                    admin: admin.map(|a| (a, admin_pw)),
                    columns,
                    install: self.install_packages,
                };
                self.spawn(job, "apply-embeddings", move |j| {
                    s::apply_embeddings(j, work)
                })
            }
            _ => unreachable!("Runner::run hands each effect to its group"),
        }
    }

    /// The jobs of Copy rows and Cutover.
    fn copy(&mut self, effect: Effect) {
        use jobs::copy as c;
        match effect {
            Effect::Preflight {
                job,
                sqlite,
                config,
                role,
                settings,
            } => {
                let work = c::CopyJob {
                    sqlite,
                    config,
                    password: self.secret(role),
                    settings,
                };
                self.spawn(job, "preflight", move |j| c::preflight(j, work))
            }
            Effect::Copy {
                job,
                sqlite,
                config,
                role,
                policy,
                settings,
            } => {
                let work = c::CopyJob {
                    sqlite,
                    config,
                    password: self.secret(role),
                    settings,
                };
                let progress = ProgressSlot::default();
                self.progress.insert(job, progress.clone());
                self.spawn(job, "copy", move |j| c::copy(j, work, policy, progress))
            }
            Effect::WatchChanges {
                job,
                sqlite,
                config,
            } => self.spawn(job, "watch", move |j| c::watch_changes(j, &sqlite, &config)),
            Effect::Sync {
                job,
                sqlite,
                config,
                role,
                on_conflict,
            } => {
                let password = self.secret(role);
                self.spawn(job, "sync", move |j| {
                    c::sync(j, &sqlite, &config, password.as_ref(), on_conflict)
                })
            }
            _ => unreachable!("Runner::run hands each effect to its group"),
        }
    }

    /// The jobs that finish a run: driver, settings, report, resume check.
    fn finish(&mut self, effect: Effect) {
        use jobs::finish as f;
        match effect {
            Effect::InstallDriver { job, check } => {
                self.spawn(job, "install-driver", move |j| f::install_driver(j, check))
            }
            Effect::PlanSettings {
                job,
                python,
                project_dir,
                settings_module,
                target,
                style,
            } => self.spawn(job, "plan-settings", move |_| {
                f::plan_settings(&python, &project_dir, &settings_module, &target, style)
            }),
            Effect::ApplySettings {
                job,
                plan,
                write,
                backup_dir,
                python,
                project_dir,
                settings_module,
                role,
            } => {
                let work = f::SettingsJob {
                    plan,
                    write,
                    backup_dir,
                    python,
                    project_dir,
                    settings_module,
                    password: self.secret(role),
                };
                self.spawn(job, "update-settings", move |j| f::apply_settings(j, work))
            }
            Effect::RevertSettings { job, applied } => {
                self.spawn(job, "revert-settings", move |_| {
                    f::revert_settings(&applied)
                })
            }
            Effect::WriteReport { job, dir, report } => {
                self.spawn(job, "report", move |_| f::write_report(&dir, &report))
            }
            Effect::CheckResume { job, input } => {
                let password = self.password.clone();
                self.spawn(job, "resume-check", move |_| {
                    f::check_resume(&input, password.as_ref())
                })
            }
            _ => unreachable!("Runner::run hands each effect to its group"),
        }
    }

    /// The copies' progress that came since the last call, newest only, as the same
    /// message a job sends, for the driver to apply (and show) right before it draws. A
    /// slot whose copy has ended is read a last time and dropped; the copy's own end comes
    /// on the channel, and the state ignores progress of a job that has ended.
    pub fn take_progress(&mut self) -> Vec<Msg> {
        let mut taken = Vec::new();
        self.progress.retain(|&job, slot| {
            // Orphaned before the take: that take is the copy's last value.
            let ended = slot.is_orphaned();
            if let Some(p) = slot.take() {
                taken.push(Msg::Job(job, JobEvent::CopyProgress(Box::new(p))));
            }
            !ended
        });
        taken
    }

    /// Start `work` as job `id` on a thread of its own (see [`jobs::spawn`]).
    fn spawn(
        &mut self,
        id: JobId,
        name: &'static str,
        work: impl FnOnce(&Job) -> Outcome + Send + 'static,
    ) {
        let job = Job {
            id,
            tx: self.tx.clone(),
            control: self.control(id),
        };
        jobs::spawn(job, name, work);
    }

    /// The password of `role`, held here in memory only.
    fn secret(&self, role: Role) -> Option<Secret> {
        match role {
            Role::App => self.password.clone(),
            Role::Admin => self.admin_password.clone(),
        }
    }

    /// Register the control flags of a new job.
    pub fn control(&mut self, job: JobId) -> JobControl {
        self.jobs.entry(job).or_default().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::copy::{CopyProgress, Stage};

    #[test]
    fn a_copys_progress_is_read_newest_first_and_its_slot_goes_with_the_copy() {
        let (tx, _rx) = std::sync::mpsc::channel();
        let mut runner = Runner::new(tx);
        let load = ProgressSlot::default();
        runner.progress.insert(7, load.clone());
        assert!(runner.take_progress().is_empty(), "nothing offered yet");
        for stage in [Stage::Loading, Stage::Verifying] {
            load.offer(&CopyProgress {
                stage,
                ..CopyProgress::default()
            });
        }
        let read = runner.take_progress();
        assert!(
            matches!(&read[..], [Msg::Job(7, JobEvent::CopyProgress(p))] if p.stage == Stage::Verifying),
            "{read:?}"
        );
        load.offer(&CopyProgress::default());
        drop(load); // the copy ended after its last offer
        assert_eq!(runner.take_progress().len(), 1, "the last value is read");
        assert!(runner.progress.is_empty(), "and the slot dropped");
    }
}
