//! The answers the flags give to the wizard's questions, printing what each question is
//! about first; `None` when the run must stop there (after saying how to go on).

use crate::cli::MigrateArgs;
use crate::data::settings::SettingsChange;
use crate::output::{Event, Name, Printer};
use crate::rules;
use crate::state::{ChoiceId, Migration, Question, Step};

/// The answer the flags give to the question `kind`.
pub(super) fn headless_choice(
    m: &Migration,
    kind: Question,
    printer: &mut Printer<'_>,
    args: &MigrateArgs,
) -> Option<ChoiceId> {
    let step = m.cursor;
    match kind {
        Question::PermissionFix => permission_fix(m, printer, args),
        Question::GitNotClean => Some(given_or_abort(
            args.allow_dirty.then_some(ChoiceId::Continue),
            step,
            printer,
            "commit first, or pass --allow-dirty to go on with this backup",
        )),
        Question::SettingsWrite => match &m.settings.plan {
            Some(p) if matches!(p.change, SettingsChange::Manual { .. }) => {
                printer.say(
                    step,
                    Name::Stopped,
                    "these settings cannot be rewritten safely: paste the snippet above, then run again",
                );
                None
            }
            _ => Some(ChoiceId::WriteSettings),
        },
        Question::SettingsInvalid => Some(ChoiceId::RevertSettings),
        Question::ResetConfirm => Some(if m.reset.selection.is_empty() {
            ChoiceId::KeepMigrations
        } else {
            ChoiceId::ResetSelected
        }),
        // The `--embeddings` flags set each column first (`super::embeddings::choose`).
        Question::Embeddings => Some(ChoiceId::EmbeddingsChosen),
        Question::EmbeddingsDiff => Some(ChoiceId::ApplyEmbeddings),
        Question::SyncConflicts => sync_conflicts(m, printer, args),
        Question::DefaultGrants => Some(default_grants(step, printer, args)),
        Question::InstallDriver => Some(given_or_abort(
            args.install_driver.then_some(ChoiceId::InstallDriver),
            step,
            printer,
            "pass --install-driver to let dj2pg install it into the project's Python",
        )),
        copy => Some(copy_question(m, copy, printer, args)),
    }
}

/// The answer a flag gave, else abort after the hint that names the flag.
fn given_or_abort(
    given: Option<ChoiceId>,
    step: Step,
    printer: &mut Printer<'_>,
    hint: &str,
) -> ChoiceId {
    given.unwrap_or_else(|| {
        printer.say(step, Name::Hint, hint);
        ChoiceId::Abort
    })
}

/// Fix permissions: the recipe `--fix-permissions` names (with `--admin-url`), else the
/// SQL saved for a DBA, printed once it exists.
fn permission_fix(
    m: &Migration,
    printer: &mut Printer<'_>,
    args: &MigrateArgs,
) -> Option<ChoiceId> {
    let step = m.cursor;
    let wanted = match args.fix_permissions.as_deref() {
        None | Some("recommended") => None,
        Some(other) => crate::data::privileges::RecipeId::parse(other),
    };
    let recipe = rules::flag_recipe(&m.permissions.recipes, wanted)
        .filter(|_| m.permissions.admin.is_some())
        .map(|r| r.id);
    // Said once: not on the pass that only saves the SQL (the next pass prints it with it).
    if recipe.is_some() || m.permissions.dba_script.is_some() {
        print_missing(m, step, printer);
    }
    if let Some(id) = recipe {
        return Some(ChoiceId::Recipe(id));
    }
    if m.permissions.admin.is_some() && m.permissions.dba_script.is_some() {
        for r in &m.permissions.recipes {
            if let Err(why) = &r.available {
                let text = format!("recipe {}: {why}", r.id.letter());
                printer.say(step, Name::Unavailable, &text);
            }
        }
    }
    let path = match &m.permissions.dba_script {
        None => return Some(ChoiceId::SaveSql),
        Some(path) => path,
    };
    if let Ok(sql) = std::fs::read_to_string(path) {
        for line in sql.lines() {
            printer.say(step, Name::Sql, line);
        }
    }
    let text = format!(
        "the app role lacks privileges: run the SQL above (saved in {}) as an admin, or pass \
         --admin-url postgresql://doadmin@HOST:PORT/DB to let dj2pg run it; then run the same \
         command again",
        path.display()
    );
    printer.say(step, Name::Stopped, &text);
    None
}

/// What the diagnosis found missing, one `missing` event each (the extension with its rule).
fn print_missing(m: &Migration, step: Step, printer: &mut Printer<'_>) {
    let Some(d) = &m.permissions.diagnosis else {
        return;
    };
    for c in d.missing() {
        printer.say(step, Name::Missing, &format!("{}: {}", c.name, c.detail));
    }
    if let Some(e) = &d.extension {
        let what = if e.available {
            format!(
                "missing, and --embeddings needs it; the app role cannot create it: the \
                 admin runs {} (first in every recipe). Rule: {}",
                e.sql, e.rule
            )
        } else {
            format!(
                "this server does not offer pgvector: run without --embeddings (the \
                 embeddings stay as they are), or use a server with it. Rule: {}",
                e.rule
            )
        };
        let text = format!("extension {} in database {}: {what}", e.name, d.database);
        printer.say(step, Name::Missing, &text);
    }
}

/// Cutover: rows changed on both sides, resolved by `--on-conflict`.
fn sync_conflicts(
    m: &Migration,
    printer: &mut Printer<'_>,
    args: &MigrateArgs,
) -> Option<ChoiceId> {
    let step = m.cursor;
    for c in &m.cutover.conflicts {
        let text = format!("{} key {}: {}", c.table, c.key, c.what);
        printer.say(step, Name::Conflict, &text);
    }
    match args.on_conflict {
        Some(crate::cli::ConflictChoice::KeepPostgres) => Some(ChoiceId::KeepPostgres),
        Some(crate::cli::ConflictChoice::TakeSqlite) => Some(ChoiceId::TakeSqlite),
        None => {
            printer.say(
                step,
                Name::Stopped,
                "rows changed on both sides (above); nothing was written: run the same command \
                 again with --on-conflict keep-postgres or --on-conflict take-sqlite",
            );
            None
        }
    }
}

/// Default privileges that publish new tables: `--default-grants`, else the SQL of a
/// dedicated role and a stop.
fn default_grants(step: Step, printer: &mut Printer<'_>, args: &MigrateArgs) -> ChoiceId {
    match args.default_grants.as_deref() {
        Some("revoke") => ChoiceId::RevokeGrants,
        Some("keep") => ChoiceId::KeepGrants,
        _ => {
            for line in rules::dedicated_role_sql() {
                printer.say(step, Name::Sql, &line);
            }
            printer.say(
                step,
                Name::Hint,
                "run the SQL above as the admin, connected to the app's database, and use that \
                 role in --to (recommended), or pass --default-grants revoke (or keep)",
            );
            ChoiceId::Abort
        }
    }
}

/// The copy's questions (bad data, non-empty targets): the preflight's findings, then the
/// answer `--on-bad-data` and `--yes` give, by the same rules as `dj2pg copy`.
fn copy_question(
    m: &Migration,
    kind: Question,
    printer: &mut Printer<'_>,
    args: &MigrateArgs,
) -> ChoiceId {
    let step = m.cursor;
    if let Some(report) = &m.copy.preflight {
        for p in &report.problems {
            printer.emit(&Event::problem(step, p));
        }
        for (table, rows) in &report.nonempty_targets {
            printer.emit(&Event::nonempty_target(step, table, *rows));
        }
    }
    let flags = rules::answers_from_flags(args.copy.on_bad_data.into(), args.copy.yes);
    rules::flag_choice(&flags, kind)
}
