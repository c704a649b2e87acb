//! Transitions of the steps that prepare the PostgreSQL schema: Dry run on SQLite, Fix
//! permissions and Create schema. Pure, like the rest of `state`: effects out, events in.
//!
//! - Dry run: runs once the project is discovered; a failing `migrate` fails the step (fix
//!   the code, `r`); schema mismatches are listed and do not stop it.
//! - Fix permissions: diagnose (as the app role, and as the admin when its credentials are
//!   known) → done when nothing is missing, else the question of `rules::permission_question`
//!   → a recipe runs as the admin → re-checked as the app role: done only when effective.
//! - Create schema: `migrate` as the role that will own the tables; a missing driver asks to
//!   install it; a permission failure sends the user back to Fix permissions.

use super::update::{fail, finish, launch, set_status, stop};
use super::{ChoiceId, Effect, Migration, Question, Status, Step};
use crate::data::commands::{
    CreateSchemaInput, CreateSchemaReport, DriverInstall, DryRunInput, DryRunReport, MigrateFailure,
};
use crate::data::privileges::{ApplyReport, DefaultGrants, Diagnosis, GrantsAnswer, Recipe};
use crate::rules;
use std::path::PathBuf;

/// The schema Django migrates into (recipe B moves it, through `search_path`).
const SCHEMA: &str = "public";

/// What the Django steps need from Discover, or why they cannot run.
fn project(m: &Migration) -> Result<(PathBuf, PathBuf, String), String> {
    let d = m
        .discovery
        .as_ref()
        .ok_or("Discover the project first (step Discover).")?;
    let python = d.python.clone().ok_or(
        "Discover found no Python for this project: pass --python path/to/venv/bin/python.",
    )?;
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

/// The effect that starts `step`, or the reason it cannot start.
pub(super) fn start_effect(m: &Migration, step: Step, job: u64) -> Option<Result<Effect, String>> {
    Some(match step {
        Step::DryRun => project(m).map(|(python, project_dir, settings_module)| Effect::DryRun {
            job,
            input: DryRunInput {
                python,
                project_dir,
                settings_module,
                sqlite_path: m.sqlite_path().cloned(),
            },
        }),
        Step::FixPermissions => match m.work_target() {
            Some(app) => Ok(Effect::Diagnose {
                job,
                app,
                admin: m.permissions.admin.clone(),
                schema: SCHEMA.into(),
                vector: m.embeddings_plan.as_ref().is_some_and(|p| p.changes()),
                provider: m
                    .connect
                    .server
                    .as_ref()
                    .and_then(|s| s.provider.as_ref())
                    .and_then(|p| p.name.clone()),
            }),
            None => Err("Connect to PostgreSQL first (step Connect).".into()),
        },
        // The pgvector change chosen at the end of the dry run: planned and shown first.
        Step::CreateSchema
            if m.embeddings.is_none()
                && m.embeddings_plan.as_ref().is_some_and(|p| p.changes()) =>
        {
            match (&m.discovery, &m.embeddings_plan) {
                (Some(d), Some(p)) => Ok(Effect::PlanEmbeddings {
                    job,
                    discovery: Box::new(d.clone()),
                    columns: p.columns.clone(),
                }),
                _ => Err("Run Discover first.".into()),
            }
        }
        // Not asked at the dry run (a run saved before it asked): ask here.
        Step::CreateSchema
            if m.embeddings.is_none()
                && m.embeddings_plan.is_none()
                && m.sqlite_path().is_some() =>
        {
            match &m.discovery {
                Some(d) => Ok(Effect::FindEmbeddings {
                    job,
                    discovery: Box::new(d.clone()),
                }),
                None => Err("Run Discover first.".into()),
            }
        }
        Step::CreateSchema => project(m).and_then(|(python, project_dir, settings_module)| {
            let (target, role) = m
                .table_owner()
                .ok_or("Connect to PostgreSQL first (step Connect).")?;
            Ok(Effect::CreateSchema {
                job,
                input: CreateSchemaInput {
                    python,
                    project_dir,
                    settings_module,
                    target,
                    search_path: m.search_path(),
                    timeouts: m
                        .connect
                        .server
                        .as_ref()
                        .map(|s| s.timeouts.clone())
                        .unwrap_or_default(),
                },
                role,
                grants: m.schema.grants_answer,
                app_roles: m
                    .connect
                    .target
                    .iter()
                    .map(|t| t.user.clone())
                    .chain(
                        m.applied_recipe()
                            .map(|r| r.roles_after.settings_user.clone()),
                    )
                    .collect(),
            })
        }),
        _ => return None,
    })
}

pub(super) fn dry_run_finished(m: &mut Migration, report: DryRunReport, fx: &mut Vec<Effect>) {
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
    } else if m.embeddings.is_none()
        && m.embeddings_plan.is_none()
        && let Some(d) = m.discovery.clone().filter(|_| m.sqlite_path().is_some())
    {
        // Passed: the embeddings are chosen now, so Fix permissions knows whether the
        // vector extension is needed (see `embeddings_steps`).
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

pub(super) fn dry_run_summary(r: &DryRunReport) -> String {
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

pub(super) fn diagnosed(
    m: &mut Migration,
    diag: Diagnosis,
    recipes: Vec<Recipe>,
    fx: &mut Vec<Effect>,
) {
    m.permissions.recipes = recipes;
    if !diag.fix_needed() {
        let summary = format!("no fix needed: {}", diag.summary);
        m.permissions.diagnosis = Some(diag);
        finish(m, Step::FixPermissions, Status::Done { summary }, fx);
        return;
    }
    let (question, choices) = rules::permission_question(
        &diag,
        &m.permissions.recipes,
        m.permissions.admin.is_some(),
        m.surface,
    );
    m.permissions.diagnosis = Some(diag);
    finish(
        m,
        Step::FixPermissions,
        Status::NeedsDecision {
            kind: Question::PermissionFix,
            question,
            choices,
        },
        fx,
    );
}

pub(super) fn applied(m: &mut Migration, report: ApplyReport, fx: &mut Vec<Effect>) {
    let letter = report.recipe.letter();
    let status = if report.recheck.effective {
        Status::Done {
            summary: format!(
                "recipe {letter} ran as the admin in {}; re-checked as {}: effective",
                report.ran_in,
                m.connect
                    .target
                    .as_ref()
                    .map_or("the app role", |t| t.user.as_str())
            ),
        }
    } else {
        let still: Vec<&str> = report
            .recheck
            .checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| c.name.as_str())
            .collect();
        Status::Failed {
            message: format!(
                "Recipe {letter} ran (in {}) but changed nothing for the app role: still \
                 missing {}. {}",
                report.ran_in,
                still.join("; "),
                m.surface.again("diagnose again")
            ),
        }
    };
    m.permissions.applied = Some(report);
    finish(m, Step::FixPermissions, status, fx);
}

/// The user picked an answer to the Fix permissions question.
pub(super) fn decide_permissions(m: &mut Migration, id: ChoiceId, fx: &mut Vec<Effect>) {
    let Some(diag) = m.permissions.diagnosis.clone() else {
        return;
    };
    match id {
        ChoiceId::Recipe(rid) => {
            let (Some(recipe), Some(app), Some(admin)) = (
                m.permissions.recipes.iter().find(|r| r.id == rid).cloned(),
                m.work_target(),
                m.permissions.admin.clone(),
            ) else {
                return;
            };
            if recipe.available.is_err() {
                return;
            }
            launch(
                m,
                Step::FixPermissions,
                "running the fix as the admin",
                fx,
                |_, job| Effect::ApplyRecipe {
                    job,
                    recipe: Box::new(recipe),
                    app,
                    admin,
                },
            );
        }
        ChoiceId::SaveSql => {
            let Some(app) = m.work_target() else { return };
            let recipe = m
                .permissions
                .recipes
                .iter()
                .find(|r| r.recommended)
                .or_else(|| m.permissions.recipes.first())
                .cloned();
            let Some(recipe) = recipe else { return };
            let path = m
                .options
                .project
                .join(crate::data::backup::DJ2PG_DIR)
                .join("fix-permissions.sql");
            launch(
                m,
                Step::FixPermissions,
                "saving the SQL for a DBA",
                fx,
                |_, job| Effect::SaveDbaScript {
                    job,
                    recipe: Box::new(recipe),
                    diagnosis: Box::new(diag),
                    app,
                    path,
                },
            );
        }
        ChoiceId::Recheck => super::update::start(m, Step::FixPermissions, fx),
        ChoiceId::KeepEmbeddings => {
            super::embeddings_steps::keep_all(m);
            super::update::start(m, Step::FixPermissions, fx);
        }
        _ => {}
    }
}

/// The SQL file is written: the question stays, now saying where the file is.
pub(super) fn dba_script_saved(m: &mut Migration, path: PathBuf, fx: &mut Vec<Effect>) {
    m.permissions.dba_script = Some(path.clone());
    let Some(diag) = &m.permissions.diagnosis else {
        return;
    };
    let (question, choices) = rules::permission_question(
        diag,
        &m.permissions.recipes,
        m.permissions.admin.is_some(),
        m.surface,
    );
    let then = match m.surface {
        rules::Surface::Wizard => "press c to check again",
        rules::Surface::CommandLine => "run the same command again: it checks first",
    };
    let question = format!(
        "{question} The SQL for a DBA is in {}: once it ran, {then}.",
        path.display()
    );
    finish(
        m,
        Step::FixPermissions,
        Status::NeedsDecision {
            kind: Question::PermissionFix,
            question,
            choices,
        },
        fx,
    );
}

pub(super) fn schema_created(m: &mut Migration, report: CreateSchemaReport, fx: &mut Vec<Effect>) {
    let step = Step::CreateSchema;
    let status = if report.cancelled() {
        Status::Stopped {
            message: format!("Cancelled by you. {}", m.surface.again("run migrate again")),
        }
    } else if report.passed() {
        let owner = m.table_owner().map(|(c, _)| c.user).unwrap_or_default();
        Status::Done {
            summary: format!("Django's migrate created the schema on PostgreSQL as {owner}"),
        }
    } else {
        match &report.failure {
            Some(MigrateFailure::DriverMissing) if report.driver.driver.is_some() => {
                // The driver imports, yet migrate could not load it: installing it again
                // would not help (and headless would loop).
                Status::Failed {
                    message: format!(
                        "migrate could not load the PostgreSQL driver although it is \
                         installed: the log says why (a broken install or a missing \
                         libpq); fix it, then {}.",
                        m.surface.then_again("run migrate again")
                    ),
                }
            }
            Some(MigrateFailure::DriverMissing) => {
                let (question, choices) = rules::driver_question(&report.driver);
                Status::NeedsDecision {
                    kind: Question::InstallDriver,
                    question,
                    choices,
                }
            }
            Some(f @ MigrateFailure::SchemaPermission { .. }) => {
                // The permission step must run again before migrate can pass.
                set_status(m, Step::FixPermissions, Status::Pending);
                Status::Failed {
                    message: format!(
                        "{}. Fix permissions was reopened: {}.",
                        capitalized(&f.describe()),
                        match m.surface {
                            rules::Surface::Wizard => "press Esc to go back to it",
                            rules::Surface::CommandLine =>
                                "run the same command again with --admin-url to fix them",
                        }
                    ),
                }
            }
            Some(f) => Status::Failed {
                message: format!(
                    "{}. The whole log says more; {}.",
                    capitalized(&f.describe()),
                    m.surface.then_again("retry")
                ),
            },
            None => Status::Failed {
                message: format!(
                    "migrate did not finish; see the log, then {}.",
                    m.surface.then_again("retry")
                ),
            },
        }
    };
    m.schema.report = Some(report);
    finish(m, step, status, fx);
}

pub(super) fn decide_driver(m: &mut Migration, id: ChoiceId, fx: &mut Vec<Effect>) {
    match id {
        ChoiceId::InstallDriver => {
            let Some(check) = m.schema.report.as_ref().map(|r| r.driver.clone()) else {
                return;
            };
            launch(
                m,
                Step::CreateSchema,
                "installing the PostgreSQL driver",
                fx,
                |_, job| Effect::InstallDriver { job, check },
            );
        }
        ChoiceId::Abort => {
            let cmd = m
                .schema
                .report
                .as_ref()
                .and_then(|r| r.driver.install_display())
                .unwrap_or_else(|| "pip install 'psycopg[binary]'".into());
            stop(
                m,
                Step::CreateSchema,
                &format!(
                    "Install the driver ({cmd}), then {}.",
                    match m.surface {
                        rules::Surface::Wizard => "press r",
                        rules::Surface::CommandLine =>
                            "run the same command again (or pass --install-driver)",
                    }
                ),
            );
            fx.push(Effect::Save);
        }
        _ => {}
    }
}

pub(super) fn driver_installed(m: &mut Migration, report: DriverInstall, fx: &mut Vec<Effect>) {
    if report.after.driver.is_some() {
        // The driver imports now: run migrate again at once.
        m.job = None;
        super::update::start(m, Step::CreateSchema, fx);
    } else {
        let tail = report.run.lines.last().cloned().unwrap_or_default();
        finish(
            m,
            Step::CreateSchema,
            Status::Failed {
                message: format!(
                    "The driver could not be installed ({tail}). Install it yourself, then \
                     {}.",
                    m.surface.then_again("run migrate again")
                ),
            },
            fx,
        );
    }
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Create schema found default grants to other roles before running migrate: ask.
pub(super) fn grants_found(m: &mut Migration, grants: DefaultGrants, fx: &mut Vec<Effect>) {
    let (question, choices) = rules::default_grants_question(&grants);
    m.schema.default_grants = Some(grants);
    finish(
        m,
        Step::CreateSchema,
        Status::NeedsDecision {
            kind: Question::DefaultGrants,
            question,
            choices,
        },
        fx,
    );
}

pub(super) fn decide_grants(m: &mut Migration, id: ChoiceId, fx: &mut Vec<Effect>) {
    match id {
        ChoiceId::RevokeGrants | ChoiceId::KeepGrants => {
            m.schema.grants_answer = Some(if id == ChoiceId::RevokeGrants {
                GrantsAnswer::Revoke
            } else {
                GrantsAnswer::Keep
            });
            super::update::start(m, Step::CreateSchema, fx);
        }
        ChoiceId::Abort => {
            let Some(g) = m.schema.default_grants.clone() else {
                return;
            };
            let sql = rules::dedicated_role_sql().join(" ");
            let db = m.work_target().map(|t| t.dbname).unwrap_or_default();
            fail(
                m,
                Step::CreateSchema,
                &format!(
                    "Stopped before migrate: nothing was created. Give the app a role of its \
                     own, whose tables no default privilege of {role} reaches: as {role}, \
                     connected to database {db}, run  {sql}  Then connect with that role \
                     (postgresql://django_app@…).",
                    role = g.role
                ),
            );
            fx.push(Effect::Save);
        }
        _ => {}
    }
}
