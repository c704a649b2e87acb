//! The run's report, built from the run (pure): what was backed up where, what moved, the
//! SQL that ran, rows per table, the settings change and how to roll all of it back.

use super::{Migration, Status, restore_hint};
use crate::data::report::{RunReport, StepLine};

pub fn build(m: &Migration) -> RunReport {
    let steps = m
        .steps
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
        .collect();
    let backup_dir = m.backup.as_ref().map(|b| b.backup_dir.clone());
    let sqlite_backup = m.backup.as_ref().and_then(|b| {
        let s = b.sqlite.as_ref()?;
        Some((b.backup_dir.join(&s.file), s.sha256.clone(), s.size))
    });
    let migrations_moved = m
        .reset_report
        .iter()
        .flat_map(|r| r.moved.iter().map(|f| f.original.clone()))
        .collect();
    let migrations_written = m
        .regenerated
        .iter()
        .flat_map(|r| r.created.clone())
        .collect();
    let (permission_fix, sql_run) = match (&m.applied, m.applied_recipe()) {
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
    };
    let (tables, copy_elapsed_ms, derived, copy_notes) = match &m.copy_report {
        Some(r) => (
            r.checks.clone(),
            r.elapsed_ms,
            r.derived.clone(),
            r.notes.clone(),
        ),
        None => (Vec::new(), 0, Vec::new(), Vec::new()),
    };
    let settings_file = m.settings_applied.as_ref().map(|a| a.settings_file.clone());
    let settings_backup = m
        .settings_applied
        .as_ref()
        .map(|a| a.backup.archived.clone());
    let env_lines = m
        .settings_plan
        .as_ref()
        .map(|p| p.shell_lines.clone())
        .unwrap_or_default();
    let mut other_environments = Vec::new();
    if !m.reset_report.as_ref().is_none_or(|r| r.moved.is_empty()) {
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
    if let (Some(g), Some(answer)) = (&m.default_grants, m.grants_answer) {
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
    if let Some(p) = &m.pool {
        other_environments.push(format!(
            "The settings use the connection pool ({}). Run later migrations over the direct \
             connection, which dj2pg used for the schema and the copy: \
             POSTGRES_HOST={} POSTGRES_PORT={} POSTGRES_DB={} python manage.py migrate \
             (or the same in DATABASE_URL).",
            p.reason, p.direct.host, p.direct.port, p.direct.dbname
        ));
    }
    for d in &derived {
        other_environments.push(format!("{}: {}.", d.table, d.rebuild_hint()));
    }
    let mut rollback = Vec::new();
    if backup_dir.is_some() {
        rollback.push(
            "The command above puts the old migrations and settings.py back byte for byte.".into(),
        );
        rollback.push(
            "Your SQLite file was never modified: with the old settings.py, Django uses it \
             again as it was."
                .into(),
        );
    }
    let rollback_command = backup_dir.is_some().then(|| restore_hint(m));
    let cutover_note = match m.status(super::Step::Cutover) {
        _ if !m.cutover.runs.is_empty() => None,
        Status::Skipped { reason } => Some(format!(
            "Skipped ({reason}): rows the app wrote after the copy's snapshot are not in \
             PostgreSQL; dj2pg sync moves them."
        )),
        Status::Pending => None,
        other => Some(format!("Cutover: {}.", other.label())),
    };
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
        other_environments,
        rollback_command,
        rollback,
    }
}
