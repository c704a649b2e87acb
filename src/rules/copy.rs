//! The copy's questions, after its preflight and before anything is written: in which
//! order, how each is asked, what each answer means, and what the flags answer headless.

use super::{Choice, ChoiceId, Question, Surface, choice};
use crate::data::copy::{PreflightReport, ProblemPolicy};
use serde::{Deserialize, Serialize};

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

/// The unmapped data, one `table x (n rows)` / `column t.c (n values)` after the other.
fn unmapped_list(report: &PreflightReport) -> String {
    report
        .unmapped
        .iter()
        .map(|u| u.describe())
        .collect::<Vec<_>>()
        .join("; ")
}

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

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}
