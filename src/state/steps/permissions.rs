//! Fix permissions: diagnose (as the app role, and as the admin when its credentials are
//! known) → done when nothing is missing, else the question of `rules::permission_question`
//! → a recipe runs as the admin → re-checked as the app role: done only when effective.

use crate::data::pg::ConnConfig;
use crate::data::privileges::{ApplyReport, Diagnosis, Recipe};
use crate::rules;
use crate::state::update::{self, finish, launch};
use crate::state::{ChoiceId, Effect, JobId, Migration, Question, Status, Step};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// What Fix permissions knows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PermissionsPart {
    /// The admin's connection; its password is never part of it on disk.
    pub admin: Option<ConnConfig>,
    /// What the diagnosis found, and the recipes it offers.
    pub diagnosis: Option<Diagnosis>,
    #[serde(default)]
    pub recipes: Vec<Recipe>,
    /// The recipe that ran, with its re-check.
    pub applied: Option<ApplyReport>,
    /// Where the SQL for a DBA was saved.
    pub dba_script: Option<PathBuf>,
}

/// The schema Django migrates into (recipe B moves it, through `search_path`).
pub(super) const SCHEMA: &str = "public";

/// The user gave the admin's connection: diagnose again, now with the admin's view (the
/// recipes depend on it).
pub(in crate::state) fn submit_admin(m: &mut Migration, config: ConnConfig, fx: &mut Vec<Effect>) {
    if m.job.is_none() && m.may_start(Step::FixPermissions) {
        m.permissions.admin = Some(config);
        update::start(m, Step::FixPermissions, fx);
    }
}

/// Fix permissions' first job: the diagnosis.
pub(in crate::state) fn effect(m: &Migration, job: JobId) -> Result<Effect, String> {
    let app = m
        .work_target()
        .ok_or("Connect to PostgreSQL first (step Connect).")?;
    Ok(Effect::Diagnose {
        job,
        app,
        admin: m.permissions.admin.clone(),
        schema: SCHEMA.into(),
        vector: m.embeddings.plan.as_ref().is_some_and(|p| p.changes()),
        provider: m
            .connect
            .server
            .as_ref()
            .and_then(|s| s.provider.as_ref())
            .and_then(|p| p.name.clone()),
    })
}

pub(in crate::state) fn diagnosed(
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
    m.permissions.diagnosis = Some(diag);
    ask(m, "", fx);
}

pub(in crate::state) fn applied(m: &mut Migration, report: ApplyReport, fx: &mut Vec<Effect>) {
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
pub(in crate::state) fn decide_permissions(m: &mut Migration, id: ChoiceId, fx: &mut Vec<Effect>) {
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
        ChoiceId::Recheck => update::start(m, Step::FixPermissions, fx),
        ChoiceId::KeepEmbeddings => {
            super::embeddings::keep_all(m);
            update::start(m, Step::FixPermissions, fx);
        }
        _ => {}
    }
}

/// The SQL file is written: the question stays, now saying where the file is.
pub(in crate::state) fn dba_script_saved(m: &mut Migration, path: PathBuf, fx: &mut Vec<Effect>) {
    m.permissions.dba_script = Some(path.clone());
    let then = match m.surface {
        rules::Surface::Wizard => "press c to check again",
        rules::Surface::CommandLine => "run the same command again: it checks first",
    };
    ask(
        m,
        &format!(
            " The SQL for a DBA is in {}: once it ran, {then}.",
            path.display()
        ),
        fx,
    );
}

/// Ask what to do about the diagnosis (`more` follows the question); nothing without one.
fn ask(m: &mut Migration, more: &str, fx: &mut Vec<Effect>) {
    let Some(diag) = &m.permissions.diagnosis else {
        return;
    };
    let (question, choices) = rules::permission_question(
        diag,
        &m.permissions.recipes,
        m.permissions.admin.is_some(),
        m.surface,
    );
    finish(
        m,
        Step::FixPermissions,
        Status::NeedsDecision {
            kind: Question::PermissionFix,
            question: format!("{question}{more}"),
            choices,
        },
        fx,
    );
}
