//! Update settings: locate `DATABASES` and plan an env-driven rewrite (no IO here) → the
//! diff is shown and the user confirms (or picks the other style) → the file is backed up
//! into the backup folder, written atomically and validated through Django with the
//! environment set → done only when Django reads PostgreSQL; otherwise the old file is
//! offered back. Settings that cannot be rewritten safely show the snippet to paste and are
//! left alone.

use crate::data::settings::{
    Applied, RewritePlan, SettingsChange, SettingsStyle, SettingsTarget, Validation,
};
use crate::rules::Choice;
use crate::state::Role;
use crate::state::update::{self, fail, finish, launch};
use crate::state::{ChoiceId, Effect, JobId, Migration, Question, Status, Step};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// What Update settings knows (the style asked for is the user's answer:
/// `Migration::settings_style`, kept when the target changes).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SettingsPart {
    /// The change planned.
    pub plan: Option<RewritePlan>,
    /// What was written.
    pub applied: Option<Applied>,
    /// What Django said with the new settings.
    pub validation: Option<Validation>,
}

/// Update settings' first job: the plan.
pub(in crate::state) fn effect(m: &Migration, job: JobId) -> Result<Effect, String> {
    let (python, project_dir, settings_module) = settings_inputs(m)?;
    Ok(Effect::PlanSettings {
        job,
        python,
        project_dir,
        settings_module,
        target: settings_target(m),
        style: m.settings_style,
    })
}

fn settings_inputs(m: &Migration) -> Result<(PathBuf, PathBuf, String), String> {
    let (d, python) = super::python(m)?;
    let settings = d
        .settings_module
        .clone()
        .ok_or("Discover could not tell the settings module (DJANGO_SETTINGS_MODULE).")?;
    if m.connect.target.is_none() {
        return Err("Connect to PostgreSQL first (step Connect).".into());
    }
    Ok((python, d.project_dir.clone(), settings))
}

/// What the settings connect to at run time: the app's server and database, as the role
/// the permission fix left for run time (the app role), with recipe B's search_path.
pub fn settings_target(m: &Migration) -> SettingsTarget {
    let mut config = m
        .connect
        .target
        .clone()
        .unwrap_or_else(|| crate::data::pg::ConnConfig {
            host: String::new(),
            port: 5432,
            dbname: String::new(),
            user: String::new(),
            sslmode: crate::data::pg::SslMode::Require,
            sslrootcert: None,
            ..Default::default()
        });
    if let Some(user) = m
        .applied_recipe()
        .map(|r| r.roles_after.settings_user.clone())
    {
        config.user = user;
    }
    // The sslmode written is at least what was used: a URL without one means libpq's
    // `prefer`, which a machine on the path can downgrade to no encryption at all. dj2pg's
    // own connection used TLS, so the app is told to insist on it.
    if config.sslmode == crate::data::pg::SslMode::Prefer
        && m.connect.server.as_ref().is_some_and(|s| s.tls)
    {
        config.sslmode = crate::data::pg::SslMode::Require;
    }
    let mut target = SettingsTarget::from_conn(&config, m.search_path());
    // Behind a pool the settings keep it (its database name too), with no startup options
    // and DISABLE_SERVER_SIDE_CURSORS.
    target.pool |= m.connect.pool.is_some();
    target
}

pub(in crate::state) fn planned(m: &mut Migration, plan: RewritePlan, fx: &mut Vec<Effect>) {
    let (question, choices) = write_question(&plan, m.settings_style);
    m.settings.plan = Some(plan);
    m.settings.applied = None;
    m.settings.validation = None;
    finish(
        m,
        Step::UpdateSettings,
        Status::NeedsDecision {
            kind: Question::SettingsWrite,
            question,
            choices,
        },
        fx,
    );
}

fn write_question(plan: &RewritePlan, style: SettingsStyle) -> (String, Vec<Choice>) {
    let other = match style {
        SettingsStyle::Env => "DATABASE_URL instead of POSTGRES_* variables",
        SettingsStyle::DatabaseUrl => "POSTGRES_* variables instead of DATABASE_URL",
    };
    let c = |id, key, label: &str| Choice {
        id,
        key,
        label: label.into(),
    };
    match &plan.change {
        SettingsChange::Rewrite { file, .. } => (
            format!(
                "Write this change to {}? It is backed up first, written atomically, then \
                 checked through Django with the variables below set; the password is never \
                 in the file.",
                file.display()
            ),
            vec![
                c(ChoiceId::WriteSettings, 'w', "Write it and check it"),
                c(ChoiceId::OtherStyle, 'e', &format!("Use {other}")),
            ],
        ),
        SettingsChange::Manual { reason, .. } => (
            format!(
                "dj2pg will not edit these settings ({reason}): paste the snippet shown where \
                 DATABASES is set, set the variables, then check it."
            ),
            vec![
                c(
                    ChoiceId::KeepSettings,
                    'c',
                    "I pasted it: check it through Django",
                ),
                c(ChoiceId::OtherStyle, 'e', &format!("Use {other}")),
            ],
        ),
    }
}

pub(in crate::state) fn decide_settings(m: &mut Migration, id: ChoiceId, fx: &mut Vec<Effect>) {
    let Ok((python, project_dir, settings_module)) = settings_inputs(m) else {
        return;
    };
    match id {
        ChoiceId::OtherStyle => {
            m.settings_style = match m.settings_style {
                SettingsStyle::Env => SettingsStyle::DatabaseUrl,
                SettingsStyle::DatabaseUrl => SettingsStyle::Env,
            };
            update::start(m, Step::UpdateSettings, fx);
        }
        ChoiceId::WriteSettings | ChoiceId::KeepSettings => {
            let Some(plan) = m.settings.plan.clone() else {
                return;
            };
            let write = id == ChoiceId::WriteSettings;
            let detail = if write {
                "writing settings.py, then checking it through Django"
            } else {
                "checking the settings through Django"
            };
            launch(m, Step::UpdateSettings, detail, fx, |m, job| {
                Effect::ApplySettings {
                    job,
                    plan: Box::new(plan),
                    write,
                    backup_dir: super::done::report_dir(m),
                    python,
                    project_dir,
                    settings_module,
                    role: Role::App,
                }
            });
        }
        _ => {}
    }
}

pub(in crate::state) fn applied(
    m: &mut Migration,
    applied: Option<Applied>,
    validation: Validation,
    fx: &mut Vec<Effect>,
) {
    let status = if validation.ok {
        let what = match &applied {
            Some(a) => format!(
                "{} now reads DATABASES from the environment",
                a.settings_file.display()
            ),
            None => "the settings you pasted".into(),
        };
        Status::Done {
            summary: format!("{what}; {}", validation.message),
        }
    } else if applied.is_some() {
        let c = |id, key, label: &str| Choice {
            id,
            key,
            label: label.into(),
        };
        Status::NeedsDecision {
            kind: Question::SettingsInvalid,
            question: format!(
                "The new settings did not pass: {} (output below).",
                validation.message
            ),
            choices: vec![
                c(
                    ChoiceId::RevertSettings,
                    'u',
                    "Put the old settings.py back",
                ),
                c(
                    ChoiceId::KeepSettings,
                    'n',
                    "Keep the new file (I will fix it)",
                ),
            ],
        }
    } else {
        Status::Failed {
            message: format!(
                "The settings did not pass: {}. Fix them, then {}.",
                validation.message,
                m.surface.then_again("check them again")
            ),
        }
    };
    m.settings.applied = applied;
    m.settings.validation = Some(validation);
    finish(m, Step::UpdateSettings, status, fx);
}

pub(in crate::state) fn decide_invalid(m: &mut Migration, id: ChoiceId, fx: &mut Vec<Effect>) {
    match id {
        ChoiceId::RevertSettings => {
            let Some(applied) = m.settings.applied.clone() else {
                return;
            };
            launch(
                m,
                Step::UpdateSettings,
                "putting the old settings back",
                fx,
                |_, job| Effect::RevertSettings {
                    job,
                    applied: Box::new(applied),
                },
            );
        }
        ChoiceId::KeepSettings => {
            let message = format!(
                "The new settings.py is kept but does not pass yet: fix it, then {}.",
                m.surface.then_again("check it again")
            );
            fail(m, Step::UpdateSettings, &message);
            fx.push(Effect::Save);
        }
        _ => {}
    }
}

pub(in crate::state) fn reverted(m: &mut Migration, fx: &mut Vec<Effect>) {
    m.settings.applied = None;
    finish(
        m,
        Step::UpdateSettings,
        Status::Failed {
            message: format!(
                "settings.py is back as it was (byte for byte). {}",
                m.surface.again("plan the change again")
            ),
        },
        fx,
    );
}
