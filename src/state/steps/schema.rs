//! Create schema: `migrate` as the role that will own the tables; default grants to other
//! roles are asked about first; a missing driver asks to install it; a permission failure
//! sends the user back to Fix permissions. (The embeddings change planned before `migrate`
//! is `steps::embeddings`.)

use crate::data::commands::{CreateSchemaInput, CreateSchemaReport, DriverInstall, MigrateFailure};
use crate::data::privileges::{DefaultGrants, GrantsAnswer};
use crate::rules;
use crate::state::update::{self, fail, finish, launch, set_status, stop};
use crate::state::{ChoiceId, Effect, JobId, Migration, Question, Status, Step};
use serde::{Deserialize, Serialize};

/// What Create schema knows (the embeddings, chosen at the dry run and changed here, are
/// their own part: `Migration::embeddings`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SchemaPart {
    /// What migrate did.
    pub report: Option<CreateSchemaReport>,
    /// Default privileges of the role that runs migrate granting its new tables to other
    /// roles (Supabase's API roles), and what the user chose about them.
    pub default_grants: Option<DefaultGrants>,
    pub grants_answer: Option<GrantsAnswer>,
}

/// Create schema's job: the embeddings first when a change is chosen (planned and shown),
/// or asked here for a run saved before the dry run asked; else `migrate`.
pub(in crate::state) fn effect(m: &Migration, job: JobId) -> Result<Effect, String> {
    let changes = m.embeddings.plan.as_ref().is_some_and(|p| p.changes());
    if m.embeddings.choice.is_none() && changes {
        return match (&m.discovery, &m.embeddings.plan) {
            (Some(d), Some(p)) => Ok(Effect::PlanEmbeddings {
                job,
                discovery: Box::new(d.clone()),
                columns: p.columns.clone(),
            }),
            _ => Err("Run Discover first.".into()),
        };
    }
    if m.embeddings.choice.is_none() && m.embeddings.plan.is_none() && m.sqlite_path().is_some() {
        return match &m.discovery {
            Some(d) => Ok(Effect::FindEmbeddings {
                job,
                discovery: Box::new(d.clone()),
            }),
            None => Err("Run Discover first.".into()),
        };
    }
    let (python, project_dir, settings_module) = super::project(m)?;
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
}

pub(in crate::state) fn schema_created(
    m: &mut Migration,
    report: CreateSchemaReport,
    fx: &mut Vec<Effect>,
) {
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

pub(in crate::state) fn decide_driver(m: &mut Migration, id: ChoiceId, fx: &mut Vec<Effect>) {
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

pub(in crate::state) fn driver_installed(
    m: &mut Migration,
    report: DriverInstall,
    fx: &mut Vec<Effect>,
) {
    if report.after.driver.is_some() {
        // The driver imports now: run migrate again at once.
        m.job = None;
        update::start(m, Step::CreateSchema, fx);
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
pub(in crate::state) fn grants_found(
    m: &mut Migration,
    grants: DefaultGrants,
    fx: &mut Vec<Effect>,
) {
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

pub(in crate::state) fn decide_grants(m: &mut Migration, id: ChoiceId, fx: &mut Vec<Effect>) {
    match id {
        ChoiceId::RevokeGrants | ChoiceId::KeepGrants => {
            m.schema.grants_answer = Some(if id == ChoiceId::RevokeGrants {
                GrantsAnswer::Revoke
            } else {
                GrantsAnswer::Keep
            });
            update::start(m, Step::CreateSchema, fx);
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
