//! The decision rules: what a step needs from the user before it may go on, in which order,
//! and what each answer means. Pure functions of plain data (`crate::data`), so the wizard
//! (through the state machine), `dj2pg migrate` and `dj2pg copy` ask exactly the same
//! questions in the same order and read the answers the same way.
//!
//! The copy asks, after its preflight and before anything is written:
//! 0. SQLite data with no place on PostgreSQL — leave it behind (reported), or abort;
//! 1. derived tables (a search index) — leave them empty and rebuild them, or abort;
//! 2. values PostgreSQL would reject — abort (the default), skip those rows, or fix them;
//! 3. target tables that already hold rows — empty them and load, or abort.
//!
//! Every question is asked and its answer recorded ([`CopyAnswers`]); an answer to an
//! earlier question never answers a later one.

use crate::data::backup::{GitState, MigrationScan};
use crate::data::commands::DriverCheck;
use crate::data::copy::{PreflightReport, ProblemPolicy};
use crate::data::privileges::{Diagnosis, Recipe, RecipeId};
use serde::{Deserialize, Serialize};

/// The stable id of an answer: sent back in `Msg::Decide`, printed by the headless runner,
/// mapped from command-line flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChoiceId {
    /// Stop; nothing is written.
    Abort,
    /// Leave the rows with bad values out, into the reject files.
    SkipRows,
    /// Apply each problem's named fix.
    Fix,
    /// Empty the target tables that already hold rows, then load.
    EmptyAndLoad,
    /// Leave derived tables empty on PostgreSQL, to be rebuilt by the app.
    LeaveEmpty,
    /// Copy everything else and leave behind the SQLite data that has no place on
    /// PostgreSQL (reported table by table).
    LeaveBehind,
    /// Run this permission recipe as the admin.
    Recipe(RecipeId),
    /// Save the permission fix as a SQL script for a DBA.
    SaveSql,
    /// Check the permissions again (after a DBA ran the script).
    Recheck,
    /// Install the PostgreSQL driver into the project's Python.
    InstallDriver,
    /// Go on although the git tree is not clean (Backup).
    Continue,
    /// Move the selected apps' migrations into the backup and regenerate them.
    ResetSelected,
    /// Keep every migration as it is (Reset migrations).
    KeepMigrations,
    /// Write the settings change (backup first, atomic), then validate it.
    WriteSettings,
    /// Use the other settings style (env variables / DATABASE_URL).
    OtherStyle,
    /// Put the old settings file back.
    RevertSettings,
    /// Keep what is there (settings written but not validated; the snippet pasted by hand).
    KeepSettings,
    /// Put the old migrations and settings.py back (`dj2pg restore`).
    RestoreFiles,
    /// Restore, moving the files changed since into the backup first (`--yes`).
    RestoreAnyway,
    /// Leave the embeddings as they are.
    KeepEmbeddings,
    /// Turn the embeddings into pgvector's `vector`.
    ToVector,
    /// Turn the embeddings into pgvector's `halfvec`.
    ToHalfVec,
    /// Go on with the per-column embeddings choices shown.
    EmbeddingsChosen,
    /// Write the pgvector change shown as a diff.
    ApplyEmbeddings,
    /// Back to the per-column embeddings choices.
    BackToChoices,
    /// Run migrate, then revoke the default grants on the tables it made (Create schema).
    RevokeGrants,
    /// Run migrate and keep the default grants (stated in the report).
    KeepGrants,
    /// Cutover: leave the rows changed on both sides as PostgreSQL has them.
    KeepPostgres,
    /// Cutover: write SQLite's version over the rows changed on both sides.
    TakeSqlite,
}

impl ChoiceId {
    /// The few words of the hint bar (80 columns hold many choices at once).
    pub fn hint(self) -> String {
        match self {
            ChoiceId::Recipe(r) => format!("recipe {}", r.letter()),
            ChoiceId::EmptyAndLoad => "empty+copy".into(),
            ChoiceId::ResetSelected => "reset".into(),
            ChoiceId::KeepMigrations => "keep".into(),
            ChoiceId::WriteSettings => "write".into(),
            ChoiceId::OtherStyle => "other style".into(),
            ChoiceId::RevertSettings => "revert".into(),
            ChoiceId::KeepSettings => "keep".into(),
            ChoiceId::SaveSql => "save SQL".into(),
            ChoiceId::KeepEmbeddings => "no pgvector".into(),
            ChoiceId::EmbeddingsChosen => "go on".into(),
            ChoiceId::ApplyEmbeddings => "apply".into(),
            ChoiceId::BackToChoices => "go back".into(),
            ChoiceId::RevokeGrants => "revoke".into(),
            ChoiceId::KeepGrants => "keep".into(),
            ChoiceId::KeepPostgres => "keep PostgreSQL's".into(),
            ChoiceId::TakeSqlite => "take SQLite's".into(),
            other => other.slug().into(),
        }
    }

    /// The machine name (JSON output, hints).
    pub fn slug(self) -> &'static str {
        match self {
            ChoiceId::Abort => "abort",
            ChoiceId::SkipRows => "skip-rows",
            ChoiceId::Fix => "fix",
            ChoiceId::EmptyAndLoad => "empty-and-load",
            ChoiceId::LeaveEmpty => "leave-empty",
            ChoiceId::LeaveBehind => "leave-behind",
            ChoiceId::Recipe(r) => r.as_str(),
            ChoiceId::SaveSql => "save-sql",
            ChoiceId::Recheck => "recheck",
            ChoiceId::InstallDriver => "install-driver",
            ChoiceId::Continue => "continue",
            ChoiceId::ResetSelected => "reset-selected",
            ChoiceId::KeepMigrations => "keep-migrations",
            ChoiceId::WriteSettings => "write-settings",
            ChoiceId::OtherStyle => "other-style",
            ChoiceId::RevertSettings => "revert-settings",
            ChoiceId::KeepSettings => "keep-settings",
            ChoiceId::RestoreFiles => "restore",
            ChoiceId::RestoreAnyway => "restore-anyway",
            ChoiceId::KeepEmbeddings => "keep-embeddings",
            ChoiceId::ToVector => "vector",
            ChoiceId::ToHalfVec => "halfvec",
            ChoiceId::EmbeddingsChosen => "embeddings-chosen",
            ChoiceId::ApplyEmbeddings => "apply-embeddings",
            ChoiceId::BackToChoices => "back-to-choices",
            ChoiceId::RevokeGrants => "revoke-grants",
            ChoiceId::KeepGrants => "keep-grants",
            ChoiceId::KeepPostgres => "keep-postgres",
            ChoiceId::TakeSqlite => "take-sqlite",
        }
    }
}

/// A choice offered when a step needs the user's decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    pub id: ChoiceId,
    /// The key that picks it on screen.
    pub key: char,
    pub label: String,
}

fn choice(id: ChoiceId, key: char, label: &str) -> Choice {
    Choice {
        id,
        key,
        label: label.into(),
    }
}

/// Which question a step is waiting on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Question {
    /// SQLite tables or columns that hold data and have no place on PostgreSQL.
    UnmappedData,
    /// Tables of derived data that are not copied.
    DerivedTables,
    /// Values PostgreSQL would reject.
    BadValues,
    /// Target tables that already hold rows.
    NonEmptyTargets,
    /// The app role lacks what `migrate` and the copy need: which fix.
    PermissionFix,
    /// The project's Python has no PostgreSQL driver: install it?
    InstallDriver,
    /// The backup is made, but the git tree is not clean (or not a repository).
    GitNotClean,
    /// Which apps' migrations to reset (space toggles), then confirm.
    ResetConfirm,
    /// Write the settings change shown?
    SettingsWrite,
    /// The written settings did not validate: put the old file back?
    SettingsInvalid,
    /// Roll the project's files back from the backup (Done)?
    Restore,
    /// The SQLite file holds embeddings: per column, keep them or make them pgvector
    /// columns (Create schema's choice screen)?
    Embeddings,
    /// The pgvector change, shown as a diff: write it, or go back to the choices?
    EmbeddingsDiff,
    /// The role that runs migrate hands its new tables to other roles (Supabase's API
    /// roles) through default privileges: stop, revoke after migrate, or keep?
    DefaultGrants,
    /// Cutover: rows changed on PostgreSQL since the copy that SQLite changed too.
    SyncConflicts,
}

/// The copy's answers so far. `None`: not asked yet.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyAnswers {
    /// `true`: leave behind the SQLite data that has no place on PostgreSQL.
    #[serde(default)]
    pub unmapped: Option<bool>,
    /// `true`: leave derived tables empty and rebuild them.
    pub derived: Option<bool>,
    pub bad_values: Option<ProblemPolicy>,
    /// `true`: empty target tables that hold rows, then load.
    pub nonempty_targets: Option<bool>,
}

/// What the copy needs next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CopyNext {
    /// Ask this question.
    Ask(Question),
    /// The user answered "abort" to this question: nothing may be written.
    Stop(Question),
    /// Everything needed is answered: load with this policy.
    Go(ProblemPolicy),
}

/// The copy's next need, given its preflight and the answers so far.
pub fn copy_next(report: &PreflightReport, answers: &CopyAnswers) -> CopyNext {
    if !report.unmapped.is_empty() {
        match answers.unmapped {
            None => return CopyNext::Ask(Question::UnmappedData),
            Some(false) => return CopyNext::Stop(Question::UnmappedData),
            Some(true) => {}
        }
    }
    if !report.derived.is_empty() {
        match answers.derived {
            None => return CopyNext::Ask(Question::DerivedTables),
            Some(false) => return CopyNext::Stop(Question::DerivedTables),
            Some(true) => {}
        }
    }
    let mut policy = ProblemPolicy::Abort;
    if !report.problems.is_empty() {
        match answers.bad_values {
            None => return CopyNext::Ask(Question::BadValues),
            Some(ProblemPolicy::Abort) => return CopyNext::Stop(Question::BadValues),
            Some(p) => policy = p,
        }
    }
    if !report.nonempty_targets.is_empty() {
        match answers.nonempty_targets {
            None => return CopyNext::Ask(Question::NonEmptyTargets),
            Some(false) => return CopyNext::Stop(Question::NonEmptyTargets),
            Some(true) => {}
        }
    }
    CopyNext::Go(policy)
}

/// Record `id` as the answer to `q`. Returns false (and records nothing) when `id` is not
/// one of the question's choices.
pub fn answer(answers: &mut CopyAnswers, q: Question, id: ChoiceId) -> bool {
    match (q, id) {
        (Question::UnmappedData, ChoiceId::LeaveBehind) => answers.unmapped = Some(true),
        (Question::UnmappedData, ChoiceId::Abort) => answers.unmapped = Some(false),
        (Question::DerivedTables, ChoiceId::LeaveEmpty) => answers.derived = Some(true),
        (Question::DerivedTables, ChoiceId::Abort) => answers.derived = Some(false),
        (Question::BadValues, ChoiceId::Abort) => answers.bad_values = Some(ProblemPolicy::Abort),
        (Question::BadValues, ChoiceId::SkipRows) => {
            answers.bad_values = Some(ProblemPolicy::SkipRows)
        }
        (Question::BadValues, ChoiceId::Fix) => answers.bad_values = Some(ProblemPolicy::Fix),
        (Question::NonEmptyTargets, ChoiceId::EmptyAndLoad) => {
            answers.nonempty_targets = Some(true)
        }
        (Question::NonEmptyTargets, ChoiceId::Abort) => answers.nonempty_targets = Some(false),
        _ => return false,
    }
    true
}

/// Whether `q` is one of the copy's questions (`answer`, `ask` and `stop_message` take them).
pub fn is_copy_question(q: Question) -> bool {
    matches!(
        q,
        Question::UnmappedData
            | Question::DerivedTables
            | Question::BadValues
            | Question::NonEmptyTargets
    )
}

/// The question's text and its choices, the default first.
pub fn ask(report: &PreflightReport, q: Question) -> (String, Vec<Choice>) {
    match q {
        Question::UnmappedData => (
            format!(
                "{} in the SQLite file hold{} data but ha{} no place in the PostgreSQL schema \
                 Django made: {}. Copying the rest would leave {} behind. Nothing has been \
                 written. (Is an app missing from INSTALLED_APPS, or a migration not applied \
                 to PostgreSQL?)",
                plural(
                    report.unmapped.len(),
                    "table or column",
                    "tables or columns"
                ),
                if report.unmapped.len() == 1 { "s" } else { "" },
                if report.unmapped.len() == 1 {
                    "s"
                } else {
                    "ve"
                },
                unmapped_list(report),
                if report.unmapped.len() == 1 {
                    "it"
                } else {
                    "them"
                },
            ),
            vec![
                choice(
                    ChoiceId::Abort,
                    'a',
                    "Abort: fix the schema first, then retry (default)",
                ),
                choice(
                    ChoiceId::LeaveBehind,
                    'l',
                    "Leave them behind and copy the rest (said in the report)",
                ),
            ],
        ),
        Question::DerivedTables => {
            let list: Vec<String> = report
                .derived
                .iter()
                .map(|d| format!("{} ({})", d.table, d.rebuild_hint()))
                .collect();
            (
                format!(
                    "{} table(s) hold derived data that PostgreSQL keeps in another form: {}. \
                     They are not copied (rows without their search vectors would make search \
                     return nothing); they stay empty until rebuilt after the migration.",
                    report.derived.len(),
                    list.join("; ")
                ),
                vec![
                    choice(
                        ChoiceId::LeaveEmpty,
                        'e',
                        "Leave them empty and rebuild them afterwards (default)",
                    ),
                    choice(ChoiceId::Abort, 'a', "Abort"),
                ],
            )
        }
        Question::BadValues => (
            format!(
                "{} value(s) would fail in PostgreSQL (listed above). Nothing has been written.",
                report.problems.len()
            ),
            vec![
                choice(
                    ChoiceId::Abort,
                    'a',
                    "Abort and fix the data first (default)",
                ),
                choice(
                    ChoiceId::SkipRows,
                    's',
                    "Skip those rows, recording them in the reject files",
                ),
                choice(
                    ChoiceId::Fix,
                    'f',
                    "Apply each listed fix (truncate, strip NUL) and report it",
                ),
            ],
        ),
        Question::NonEmptyTargets => {
            let rows: u64 = report.nonempty_targets.iter().map(|(_, n)| n).sum();
            (
                format!(
                    "{} target table(s) already hold {rows} row(s) (listed above); they will be \
                     emptied and loaded with the SQLite rows and ids.",
                    report.nonempty_targets.len()
                ),
                vec![
                    choice(ChoiceId::EmptyAndLoad, 'y', "Empty them and copy"),
                    choice(ChoiceId::Abort, 'a', "Abort"),
                ],
            )
        }
        // Not the copy's: `permission_question` and `driver_question` ask these.
        _ => (String::new(), Vec::new()),
    }
}

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
        "The pgvector change, not written yet: models.py, requirements.txt and a generated \
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

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// The unmapped data, one `table x (n rows)` / `column t.c (n values)` after the other.
fn unmapped_list(report: &PreflightReport) -> String {
    report
        .unmapped
        .iter()
        .map(|u| u.describe())
        .collect::<Vec<_>>()
        .join("; ")
}

/// How a stop is explained: the wizard points at keys, the commands at flags.
pub use crate::surface::Surface;

/// Why the copy stopped at `q`, and what to do about it.
pub fn stop_message(report: &PreflightReport, q: Question, surface: Surface) -> String {
    let cli = surface == Surface::CommandLine;
    match q {
        Question::UnmappedData if cli => format!(
            "SQLite data with no place on PostgreSQL: {}. Nothing was written. Make the \
             PostgreSQL schema hold it (the app in INSTALLED_APPS, its migrations applied), or \
             leave it behind on purpose with --leave-behind {}.",
            unmapped_list(report),
            report
                .unmapped
                .iter()
                .map(|u| u.name())
                .collect::<Vec<_>>()
                .join(",")
        ),
        Question::UnmappedData => "Stopped before writing anything, as you chose: some SQLite \
             data has no place on PostgreSQL. Fix the schema (or choose to leave it behind) \
             and retry."
            .into(),
        Question::DerivedTables => "Stopped before writing anything, as you chose: the derived \
             tables cannot be copied. Retry and leave them empty to go on."
            .into(),
        Question::BadValues if cli => format!(
            "{} value(s) would fail in PostgreSQL (listed above); nothing was written. Correct \
             them in the SQLite file, or pass --on-bad-data=skip (rows go to the rejects folder) \
             or --on-bad-data=fix (truncate, strip NUL).",
            report.problems.len()
        ),
        Question::BadValues => "Stopped before writing anything, as you chose. Fix the values \
             in the SQLite file (or choose skip/fix) and retry."
            .into(),
        Question::NonEmptyTargets => {
            let names: Vec<String> = report
                .nonempty_targets
                .iter()
                .map(|(t, n)| format!("{t} ({n})"))
                .collect();
            let how = if cli {
                "Pass --yes to empty them and load the SQLite rows with their ids."
            } else {
                "Retry and answer y to empty them and load the SQLite rows with their ids."
            };
            format!(
                "Target tables already hold rows: {}. Nothing was written. {how}",
                names.join(", ")
            )
        }
        _ => "Stopped, as you chose; retry when ready.".into(),
    }
}

/// The answers command-line flags give: `--on-bad-data` answers the bad-values question,
/// `--yes` the non-empty-targets question; derived tables are left empty (never copied).
pub fn answers_from_flags(on_bad_data: ProblemPolicy, yes: bool) -> CopyAnswers {
    CopyAnswers {
        // Named data is taken out of the question by the plan; the rest stops the copy.
        unmapped: Some(false),
        derived: Some(true),
        bad_values: Some(on_bad_data),
        nonempty_targets: Some(yes),
    }
}

/// The choice the flags make for `q` (the headless runner answers the wizard's questions).
pub fn flag_choice(flags: &CopyAnswers, q: Question) -> ChoiceId {
    match q {
        Question::UnmappedData => match flags.unmapped {
            Some(true) => ChoiceId::LeaveBehind,
            _ => ChoiceId::Abort,
        },
        Question::DerivedTables => match flags.derived {
            Some(false) => ChoiceId::Abort,
            _ => ChoiceId::LeaveEmpty,
        },
        Question::BadValues => match flags.bad_values {
            Some(ProblemPolicy::SkipRows) => ChoiceId::SkipRows,
            Some(ProblemPolicy::Fix) => ChoiceId::Fix,
            _ => ChoiceId::Abort,
        },
        Question::NonEmptyTargets => match flags.nonempty_targets {
            Some(true) => ChoiceId::EmptyAndLoad,
            _ => ChoiceId::Abort,
        },
        // Decided by their own flags (`--admin-url`, `--fix-permissions`, `--install-driver`).
        Question::PermissionFix => ChoiceId::SaveSql,
        Question::InstallDriver => ChoiceId::Abort,
        Question::DefaultGrants => ChoiceId::Abort,
        // Decided by `--on-conflict`; without it the run stops and lists them.
        Question::SyncConflicts => ChoiceId::Abort,
        Question::GitNotClean => ChoiceId::Continue,
        Question::ResetConfirm => ChoiceId::KeepMigrations,
        Question::SettingsWrite => ChoiceId::WriteSettings,
        Question::SettingsInvalid => ChoiceId::RevertSettings,
        Question::Restore => ChoiceId::Abort,
        // Decided by `--embeddings` before Create schema asks.
        Question::Embeddings => ChoiceId::EmbeddingsChosen,
        Question::EmbeddingsDiff => ChoiceId::ApplyEmbeddings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::copy::{DerivedTable, Problem};

    fn report(problems: usize, nonempty: usize, derived: usize) -> PreflightReport {
        PreflightReport {
            problems: (0..problems)
                .map(|i| Problem {
                    table: "t".into(),
                    pk: i.to_string(),
                    column: "c".into(),
                    issue: "bad".into(),
                    excerpt: "x".into(),
                    fix: None,
                })
                .collect(),
            nonempty_targets: (0..nonempty).map(|i| (format!("n{i}"), 3)).collect(),
            derived: (0..derived)
                .map(|i| DerivedTable {
                    table: format!("wagtailsearch_{i}"),
                    source_rows: 1,
                    reason: "search index".into(),
                    rebuild: Some("python manage.py update_index".into()),
                })
                .collect(),
            ..PreflightReport::default()
        }
    }

    #[test]
    fn a_clean_preflight_goes_ahead_unasked() {
        assert_eq!(
            copy_next(&report(0, 0, 0), &CopyAnswers::default()),
            CopyNext::Go(ProblemPolicy::Abort)
        );
    }

    #[test]
    fn bad_values_are_asked_before_nonempty_targets_and_skip_does_not_answer_both() {
        let r = report(2, 1, 0);
        let mut a = CopyAnswers::default();
        assert_eq!(copy_next(&r, &a), CopyNext::Ask(Question::BadValues));
        assert!(answer(&mut a, Question::BadValues, ChoiceId::SkipRows));
        // The finding: skipping bad rows used to empty non-empty targets unasked.
        assert_eq!(copy_next(&r, &a), CopyNext::Ask(Question::NonEmptyTargets));
        assert!(answer(
            &mut a,
            Question::NonEmptyTargets,
            ChoiceId::EmptyAndLoad
        ));
        assert_eq!(copy_next(&r, &a), CopyNext::Go(ProblemPolicy::SkipRows));
    }

    #[test]
    fn derived_tables_come_first_and_abort_stops() {
        let r = report(1, 1, 1);
        let mut a = CopyAnswers::default();
        assert_eq!(copy_next(&r, &a), CopyNext::Ask(Question::DerivedTables));
        let (text, choices) = ask(&r, Question::DerivedTables);
        assert!(text.contains("python manage.py update_index"), "{text}");
        assert_eq!(choices[0].id, ChoiceId::LeaveEmpty);
        assert!(answer(&mut a, Question::DerivedTables, ChoiceId::Abort));
        assert_eq!(copy_next(&r, &a), CopyNext::Stop(Question::DerivedTables));
    }

    #[test]
    fn an_answer_of_another_question_is_refused() {
        let mut a = CopyAnswers::default();
        assert!(!answer(&mut a, Question::BadValues, ChoiceId::EmptyAndLoad));
        assert!(!answer(&mut a, Question::NonEmptyTargets, ChoiceId::Fix));
        assert_eq!(a, CopyAnswers::default());
    }

    #[test]
    fn flags_answer_every_question_and_stop_where_they_say_no() {
        let r = report(1, 1, 1);
        let skip_no_yes = answers_from_flags(ProblemPolicy::SkipRows, false);
        assert_eq!(
            copy_next(&r, &skip_no_yes),
            CopyNext::Stop(Question::NonEmptyTargets)
        );
        let msg = stop_message(&r, Question::NonEmptyTargets, Surface::CommandLine);
        assert!(msg.contains("--yes") && msg.contains("n0 (3)"), "{msg}");
        let all = answers_from_flags(ProblemPolicy::Fix, true);
        assert_eq!(copy_next(&r, &all), CopyNext::Go(ProblemPolicy::Fix));
        assert_eq!(
            flag_choice(&all, Question::DerivedTables),
            ChoiceId::LeaveEmpty
        );
        assert_eq!(
            flag_choice(&skip_no_yes, Question::NonEmptyTargets),
            ChoiceId::Abort
        );
        // Every choice offered can be recorded as the answer to its question.
        for q in [
            Question::DerivedTables,
            Question::BadValues,
            Question::NonEmptyTargets,
        ] {
            for c in ask(&r, q).1 {
                assert!(answer(&mut CopyAnswers::default(), q, c.id), "{q:?} {c:?}");
            }
        }
    }
}
