//! The other steps' questions: Fix permissions, default grants, the driver, embeddings,
//! git, Reset migrations.

use super::{Choice, ChoiceId, Surface, choice};
use crate::data::backup::{GitState, MigrationScan};
use crate::data::commands::DriverCheck;
use crate::data::privileges::{Diagnosis, Recipe, RecipeId};

/// The Fix permissions question: what is missing, and the fixes that can work. Every
/// available recipe is a choice (keys 1–4, the recommended one first); saving the SQL for a
/// DBA and checking again are always offered. Without admin credentials the recipes are
/// predictions only, so the question says to log in as the admin first.
pub fn permission_question(
    diag: &Diagnosis,
    recipes: &[Recipe],
    admin_known: bool,
    surface: Surface,
) -> (String, Vec<Choice>) {
    // The diagnosis's summary already names what is missing.
    let mut question = diag.summary.clone();
    let mut choices = Vec::new();
    if admin_known {
        let mut available: Vec<&Recipe> = recipes.iter().filter(|r| r.available.is_ok()).collect();
        available.sort_by_key(|r| !r.recommended);
        for (i, r) in available.iter().enumerate() {
            let key = char::from_digit(i as u32 + 1, 10).unwrap_or('?');
            let star = if r.recommended { " (recommended)" } else { "" };
            choices.push(Choice {
                id: ChoiceId::Recipe(r.id),
                key,
                label: format!("Run recipe {}: {}{star}", r.id.letter(), r.title),
            });
        }
        if available.is_empty() {
            question.push_str(" No recipe can work for this admin: save the SQL for a DBA.");
        }
    } else {
        question.push_str(match surface {
            Surface::Wizard => {
                " Log in as the admin (l) to run a fix here, or save the SQL for a DBA."
            }
            Surface::CommandLine => {
                " Pass --admin-url (its password in $DJ2PG_ADMIN_PASSWORD) to run a fix here, \
                 or give the saved SQL to a DBA."
            }
        });
    }
    choices.push(choice(ChoiceId::SaveSql, 'w', "Save the SQL for a DBA"));
    choices.push(choice(
        ChoiceId::Recheck,
        'c',
        "Check again (after a DBA ran it)",
    ));
    // The way out when the extension cannot (or should not) be made: no pgvector column.
    if diag.extension.is_some() {
        choices.push(choice(
            ChoiceId::KeepEmbeddings,
            'e',
            "Keep the embeddings as they are (no vector extension needed)",
        ));
    }
    (question, choices)
}

/// The recipe the command line runs: the one asked for (`--fix-permissions`), else the
/// recommended one, if it can work.
pub fn flag_recipe(recipes: &[Recipe], wanted: Option<RecipeId>) -> Option<&Recipe> {
    let r = match wanted {
        Some(id) => recipes.iter().find(|r| r.id == id),
        None => recipes.iter().find(|r| r.recommended),
    }?;
    r.available.is_ok().then_some(r)
}

/// The SQL that makes a dedicated role for the app, whose tables no default privilege of
/// `grants.role` reaches.
/// Run as `grants.role` (it may create roles: Supabase's `postgres` has CREATEROLE),
/// connected to the app's database.
pub fn dedicated_role_sql() -> Vec<String> {
    vec![
        "CREATE ROLE django_app LOGIN PASSWORD 'choose-a-password';".into(),
        "GRANT USAGE, CREATE ON SCHEMA public TO django_app;".into(),
    ]
}

/// The question when `migrate` would publish Django's tables through default privileges.
pub fn default_grants_question(
    g: &crate::data::privileges::DefaultGrants,
) -> (String, Vec<Choice>) {
    (
        format!(
            "Every table {role} creates in schema public is granted to {who} ({what}) by \
             default privileges (ALTER DEFAULT PRIVILEGES): on Supabase these are the public \
             API roles, so Django's tables — auth_user with its password hashes, \
             django_session — would be readable through the API. Recommended: stop, and let \
             the admin make a role of its own for the app (the SQL is shown), then run dj2pg \
             with that role's URL. Or revoke these grants on the tables migrate creates, or \
             keep them (the report says so).",
            role = g.role,
            who = g.grantee_words(),
            what = if g.privileges.is_empty() {
                "sequences".to_string()
            } else {
                g.privileges.join(", ")
            },
        ),
        vec![
            choice(
                ChoiceId::Abort,
                'a',
                "Stop: make a role for the app first (recommended)",
            ),
            choice(
                ChoiceId::RevokeGrants,
                'v',
                "Revoke them on Django's tables after migrate",
            ),
            choice(
                ChoiceId::KeepGrants,
                'g',
                "Keep the grants (stated in the report)",
            ),
        ],
    )
}

/// The install-driver question.
pub fn driver_question(check: &DriverCheck) -> (String, Vec<Choice>) {
    let cmd = check
        .install_display()
        .unwrap_or_else(|| "pip install 'psycopg[binary]'".into());
    (
        format!(
            "The project's Python ({}) cannot import psycopg or psycopg2, which Django needs \
             for PostgreSQL. Install it with: {cmd}",
            check.python.display()
        ),
        vec![
            choice(ChoiceId::InstallDriver, 'i', "Install it now"),
            choice(
                ChoiceId::Abort,
                'a',
                "Not now (install it yourself, then retry)",
            ),
        ],
    )
}

/// The embeddings choice screen's question: the columns and their choices are drawn by
/// the screen; `a` goes on with them.
pub fn embeddings_question(columns: usize) -> (String, Vec<Choice>) {
    (
        format!(
            "{columns} column(s) of embeddings: keep each as it is, or make it a pgvector \
             column. A change is shown as a diff before anything is written."
        ),
        vec![choice(
            ChoiceId::EmbeddingsChosen,
            'a',
            "Go on with these choices",
        )],
    )
}

/// The pgvector change as a diff: write it, or go back to the choices.
pub fn embeddings_diff_question() -> (String, Vec<Choice>) {
    (
        "The pgvector change, not written yet: the models, requirements.txt and a generated \
         migration (extension, conversion, index; nothing on SQLite). Applying backs the files \
         up (dj2pg restore undoes it), installs pgvector-python if missing, then runs migrate."
            .into(),
        vec![
            choice(ChoiceId::ApplyEmbeddings, 'a', "Apply: write these files"),
            choice(ChoiceId::BackToChoices, 'b', "Go back to the choices"),
        ],
    )
}

/// The git tree's state in a few words.
pub fn git_words(git: &GitState) -> String {
    match git {
        GitState::Clean => "clean".into(),
        GitState::Dirty { changed } => format!("{} uncommitted change(s)", changed.len()),
        GitState::NotARepository { .. } => "not a repository".into(),
    }
}

/// The backup is made but the code is not safe in git: go on, or commit first?
pub fn git_question(git: &GitState) -> (String, Vec<Choice>) {
    let why = match git {
        GitState::Dirty { changed } => {
            let shown: Vec<&str> = changed.iter().take(5).map(String::as_str).collect();
            let more = changed.len().saturating_sub(shown.len());
            format!(
                "The backup is verified, but the git tree has {} uncommitted change(s) ({}{}): \
                 commit them first if you want to get this code back with git.",
                changed.len(),
                shown.join(", "),
                if more > 0 {
                    format!(", and {more} more")
                } else {
                    String::new()
                }
            )
        }
        GitState::NotARepository { reason } => {
            format!("The backup is verified, but {reason}.")
        }
        GitState::Clean => "The git tree is clean.".into(),
    };
    (
        why,
        vec![
            choice(ChoiceId::Continue, 'y', "Go on with this backup"),
            choice(ChoiceId::Abort, 'a', "Stop, so I can commit first"),
        ],
    )
}

/// The Reset migrations confirmation for the apps selected so far.
pub fn reset_question(
    scan: &MigrationScan,
    selected: &[String],
    surface: Surface,
) -> (String, Vec<Choice>) {
    let (files, bytes) = scan.totals(selected);
    let mut question = if selected.is_empty() && surface == Surface::CommandLine {
        "No app is selected (--reset-migrations none): every migration stays as it is.".to_string()
    } else if selected.is_empty() {
        "Space selects the apps whose migrations go (none yet). Nothing moves before you confirm."
            .to_string()
    } else {
        format!(
            "{files} file(s) ({}) of {} will be MOVED into the backup (never deleted), then \
             makemigrations writes fresh ones.",
            crate::units::human_bytes(bytes),
            selected.join(", ")
        )
    };
    for hint in scan.keep_hints(selected, false) {
        question.push(' ');
        question.push_str(&hint);
    }
    let mut choices = Vec::new();
    if !selected.is_empty() {
        choices.push(choice(
            ChoiceId::ResetSelected,
            'y',
            "Move these files and regenerate the migrations",
        ));
    }
    choices.push(choice(
        ChoiceId::KeepMigrations,
        'n',
        "Keep every migration as it is",
    ));
    (question, choices)
}
