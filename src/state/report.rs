//! The run's report, built from the run (pure): what was backed up where, what moved, the
//! SQL that ran, rows per table, the settings change and how to roll all of it back.

use super::{Migration, Status, restore_hint};
use crate::data::copy::DerivedTable;
use crate::data::report::{RunReport, StepLine};

/// The run's report.
pub fn build(m: &Migration) -> RunReport {
    let steps = step_lines(m);
    let backup_dir = m.backup.report.as_ref().map(|b| b.backup_dir.clone());
    let sqlite_backup = m.backup.report.as_ref().and_then(|b| {
        let s = b.sqlite.as_ref()?;
        Some((b.backup_dir.join(&s.file), s.sha256.clone(), s.size))
    });
    let migrations_moved = m
        .reset
        .report
        .iter()
        .flat_map(|r| r.moved.iter().map(|f| f.original.clone()))
        .collect();
    let migrations_written = m
        .reset
        .regenerated
        .iter()
        .flat_map(|r| r.created.clone())
        .collect();
    let (permission_fix, sql_run) = permission_fix(m);
    let (tables, copy_elapsed_ms, derived, copy_notes) = match &m.copy.report {
        Some(r) => (
            r.checks.clone(),
            r.elapsed_ms,
            r.derived.clone(),
            r.notes.clone(),
        ),
        None => (Vec::new(), 0, Vec::new(), Vec::new()),
    };
    let settings_file = m.settings.applied.as_ref().map(|a| a.settings_file.clone());
    let settings_backup = m
        .settings
        .applied
        .as_ref()
        .map(|a| a.backup.archived.clone());
    let env_lines = m
        .settings
        .plan
        .as_ref()
        .map(|p| p.shell_lines.clone())
        .unwrap_or_default();
    let other_environments = other_environments(m, &env_lines, &derived);
    let rollback = rollback(backup_dir.is_some());
    let rollback_command = backup_dir.is_some().then(|| restore_hint(m));
    let cutover_note = cutover_note(m);
    RunReport {
        project: m.options.project.clone(),
        steps,
        backup_dir,
        sqlite_backup,
        migrations_moved,
        migrations_written,
        permission_fix,
        sql_run,
        tables,
        copy_elapsed_ms,
        copy_notes,
        derived,
        cutover: m.cutover.runs.clone(),
        cutover_note,
        settings_file,
        settings_backup,
        env_lines,
        provider: provider_notes(m),
        other_environments,
        rollback_command,
        rollback,
    }
}

/// One line per step (Done is the report itself): status and what it said last.
fn step_lines(m: &Migration) -> Vec<StepLine> {
    m.steps
        .iter()
        .filter(|s| s.step != super::Step::Done)
        .map(|s| StepLine {
            step: s.step.title().into(),
            status: s.status.label().into(),
            text: match &s.status {
                Status::Done { summary } => summary.clone(),
                Status::Skipped { reason } => reason.clone(),
                Status::Failed { message } | Status::Stopped { message } => message.clone(),
                Status::NeedsDecision { question, .. } => question.clone(),
                _ => String::new(),
            },
        })
        .collect()
}

/// The permission fix that ran (recipe, database, whether the re-check found it
/// effective) and its SQL.
fn permission_fix(m: &Migration) -> (Option<String>, Vec<String>) {
    match (&m.permissions.applied, m.applied_recipe()) {
        (Some(a), Some(r)) => (
            Some(format!(
                "Recipe {} ({}) ran as the admin in database {}; re-checked as the app role: {}.",
                r.id.letter(),
                r.title,
                a.ran_in,
                if a.recheck.effective {
                    "effective"
                } else {
                    "NOT effective"
                }
            )),
            a.sql.clone(),
        ),
        _ => (None, Vec::new()),
    }
}

/// What other environments (staging, production) need: the faked migrations, the
/// variables, the default grants, the pool, the derived tables to rebuild.
fn other_environments(
    m: &Migration,
    env_lines: &[String],
    derived: &[DerivedTable],
) -> Vec<String> {
    let mut other_environments = Vec::new();
    if !m.reset.report.as_ref().is_none_or(|r| r.moved.is_empty()) {
        other_environments.push(
            "A database that already applied the old migrations (staging, production) needs \
             the new ones faked once: `python manage.py migrate --fake-initial` (or `--fake` \
             app by app), after deploying the new migration files."
                .into(),
        );
    }
    if !env_lines.is_empty() {
        other_environments.push(
            "Set the variables above in each environment (the password comes from your \
             provider's dashboard; it is in no file dj2pg wrote)."
                .into(),
        );
    }
    if let (Some(g), Some(answer)) = (&m.schema.default_grants, m.schema.grants_answer) {
        other_environments.push(match answer {
            crate::data::privileges::GrantsAnswer::Keep => format!(
                "Django's tables are granted to {} ({}) by {}'s default privileges, kept as you \
                 chose: on Supabase they are reachable through the public API unless row-level \
                 security or a revoke stops it.",
                g.grantee_words(),
                g.privileges.join(", "),
                g.role
            ),
            crate::data::privileges::GrantsAnswer::Revoke => format!(
                "{}'s default grants to {} were revoked on the tables and sequences migrate \
                 created. Tables made later by the same role (a new migration) get them again: \
                 revoke them there too, or move the app to a role of its own.",
                g.role,
                g.grantee_words()
            ),
        });
    }
    if let Some(p) = &m.connect.pool {
        other_environments.push(format!(
            "The settings use the connection pool ({}). Run later migrations over the direct \
             connection, which dj2pg used for the schema and the copy: \
             POSTGRES_HOST={} POSTGRES_PORT={} POSTGRES_DB={} python manage.py migrate \
             (or the same in DATABASE_URL).",
            p.reason, p.direct.host, p.direct.port, p.direct.dbname
        ));
    }
    for d in derived {
        other_environments.push(format!("{}: {}.", d.table, d.rebuild_hint()));
    }
    other_environments
}

/// How to roll back, when there is a backup to roll back from.
fn rollback(backed_up: bool) -> Vec<String> {
    let mut rollback = Vec::new();
    if backed_up {
        rollback.push(
            "The command above puts the old migrations and settings.py back byte for byte.".into(),
        );
        rollback.push(
            "Your SQLite file was never modified: with the old settings.py, Django uses it \
             again as it was."
                .into(),
        );
    }
    rollback
}

/// What the report says of Cutover when it did not run.
fn cutover_note(m: &Migration) -> Option<String> {
    match m.status(super::Step::Cutover) {
        _ if !m.cutover.runs.is_empty() => None,
        Status::Skipped { reason } => Some(format!(
            "Skipped ({reason}): rows the app wrote after the copy's snapshot are not in \
             PostgreSQL; dj2pg sync moves them."
        )),
        Status::Pending => None,
        other => Some(format!("Cutover: {}.", other.label())),
    }
}

/// The provider and its role model as Connect recognised them (from the catalog), where its
/// admin credentials are found, the permission recipe chosen for that model, the pool's rule
/// and the role's timeouts: on Fix permissions and in the report. Empty when nothing about
/// the server calls for it.
pub fn provider_notes(m: &Migration) -> Vec<String> {
    let mut v = permission_notes(m);
    let info = m.connect.server.as_ref();
    match (&m.connect.pool, info.and_then(|i| i.provider.as_ref())) {
        (Some(p), _) => v.push(format!(
            "Connection pool ({}): the schema and the copy went over {}:{}/{} ({}); the \
             settings keep the pool, with DISABLE_SERVER_SIDE_CURSORS = True and no startup \
             options.",
            p.reason, p.direct.host, p.direct.port, p.direct.dbname, p.direct_from
        )),
        (None, Some(prov)) => {
            if let Some(rule) = &prov.pool {
                v.push(format!("Its pool: {rule}."));
            }
        }
        (None, None) => {}
    }
    if let Some(ca) = info
        .and_then(|i| i.provider.as_ref())
        .and_then(|p| p.ca.as_ref())
    {
        v.push(format!("CA file: {ca}."));
    }
    if let Some(i) = info.filter(|i| !i.timeouts.is_empty()) {
        v.push(crate::data::pg::timeouts_note(&i.timeouts));
    }
    v
}

/// The provider and the connected role's place in its role model, where the admin's
/// credentials are found, and the permission recipe chosen for that model: Fix permissions'
/// own part of [`provider_notes`].
pub fn permission_notes(m: &Migration) -> Vec<String> {
    let mut v = Vec::new();
    let info = m.connect.server.as_ref();
    if let Some(p) = info.and_then(|i| i.provider.as_ref()) {
        v.push(match &p.name {
            Some(n) => format!("{n}, recognised from {}: {}.", p.evidence, p.role_model),
            None => format!("Recognised from the catalog: {}.", p.role_model),
        });
        v.push(format!("Admin credentials: {}.", p.admin));
    }
    if let Some(r) = m.applied_recipe() {
        v.push(format!(
            "Permission recipe for this role model: {} ({}), run as {}.",
            r.id.letter(),
            r.title,
            m.permissions
                .admin
                .as_ref()
                .map_or("the admin", |a| a.user.as_str())
        ));
    } else if let Some(r) = m.permissions.recipes.iter().find(|r| r.recommended) {
        v.push(format!(
            "Permission recipe recommended for this role model: {} ({}).",
            r.id.letter(),
            r.title
        ));
    } else if matches!(m.status(super::Step::FixPermissions), Status::Done { .. }) && !v.is_empty()
    {
        v.push("Permission recipe: none needed, the role may create in public.".into());
    }
    v
}
