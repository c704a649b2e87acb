//! Copy rows: a preflight looks at both sides → the copy's questions, one at a time, in the
//! order and meaning of `rules::copy_next` (shared with the commands) → the load, with
//! progress, pause and a report; a new copy is a new snapshot, so Cutover starts afresh.

use crate::data::copy::{CopyProgress, CopyReport, PreflightReport, ProblemPolicy};
use crate::rules::{self, CopyAnswers, CopyNext};
use crate::state::update::{self, fail, finish, set_status, stop};
use crate::state::{ChoiceId, Effect, JobId, Migration, Question, Status, Step};
use serde::{Deserialize, Serialize};

/// What Copy rows knows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CopyPart {
    pub preflight: Option<PreflightReport>,
    /// The answers given to the copy's questions since its last preflight.
    #[serde(default)]
    pub answers: CopyAnswers,
    /// The running copy's latest progress.
    pub progress: Option<CopyProgress>,
    pub report: Option<CopyReport>,
    /// Whether the copy job is paused (the driver also tells the worker).
    #[serde(default)]
    pub paused: bool,
}

/// Copy rows' first job: the preflight.
pub(in crate::state) fn effect(m: &Migration, job: JobId) -> Result<Effect, String> {
    match (m.sqlite_path().cloned(), m.table_owner()) {
        (Some(sqlite), Some((config, role))) => Ok(Effect::Preflight {
            job,
            sqlite,
            config,
            role,
            settings: m.copy_settings(),
        }),
        (None, _) => Err("Discover found no SQLite file to copy from.".into()),
        (_, None) => Err("Connect to PostgreSQL first (step Connect).".into()),
    }
}

/// The preflight reported. A new preflight asks its questions afresh: the old answers were
/// about other findings.
pub(in crate::state) fn preflight_done(
    m: &mut Migration,
    report: PreflightReport,
    fx: &mut Vec<Effect>,
) {
    m.copy.preflight = Some(report);
    m.copy.answers = CopyAnswers::default();
    m.job = None;
    m.copy.paused = false;
    advance(m, fx);
}

/// An answer to one of the copy's questions.
pub(in crate::state) fn answer(
    m: &mut Migration,
    kind: Question,
    id: ChoiceId,
    fx: &mut Vec<Effect>,
) {
    if rules::answer(&mut m.copy.answers, kind, id) {
        advance(m, fx);
    }
}

/// After the preflight or an answer: ask the copy's next question, stop, or load. The
/// order and meaning of the questions are `rules::copy_next`'s, shared with the commands.
fn advance(m: &mut Migration, fx: &mut Vec<Effect>) {
    let Some(report) = &m.copy.preflight else {
        fail(
            m,
            Step::CopyRows,
            "The preflight report is gone; retry the step.",
        );
        fx.push(Effect::Save);
        return;
    };
    match rules::copy_next(report, &m.copy.answers) {
        CopyNext::Ask(kind) => {
            let (mut question, choices) = rules::ask(report, kind);
            if kind == Question::NonEmptyTargets
                && let Some(d) = &m.discovery
                && let Some(why) = crate::data::tables::written_by_data_migrations(
                    &report.nonempty_targets,
                    &d.apps,
                )
            {
                question.push(' ');
                question.push_str(&why);
            }
            set_status(
                m,
                Step::CopyRows,
                Status::NeedsDecision {
                    kind,
                    question,
                    choices,
                },
            );
            fx.push(Effect::Save);
        }
        CopyNext::Stop(kind) => {
            let message = rules::stop_message(report, kind, m.surface);
            stop(m, Step::CopyRows, &message);
            fx.push(Effect::Save);
        }
        CopyNext::Go(policy) => load(m, policy, fx),
    }
}

/// The load: its own job, shown loading from 0.
fn load(m: &mut Migration, policy: ProblemPolicy, fx: &mut Vec<Effect>) {
    update::try_launch(m, Step::CopyRows, "loading", Some(0.0), fx, |m, job| {
        let (Some(sqlite), Some((config, role))) = (m.sqlite_path().cloned(), m.table_owner())
        else {
            return Err("The SQLite file or the target is no longer known; retry.".into());
        };
        Ok(Effect::Copy {
            job,
            sqlite,
            config,
            role,
            policy,
            settings: m.copy_settings(),
        })
    });
}

/// The load's progress; saved each time a table finishes.
pub(in crate::state) fn progress(
    m: &mut Migration,
    step: Step,
    p: CopyProgress,
    fx: &mut Vec<Effect>,
) {
    m.step_mut(step).status = Status::Running {
        detail: p.line(),
        fraction: Some(p.fraction()),
    };
    let table_finished =
        m.copy.progress.as_ref().map(|old| old.tables_finished()) != Some(p.tables_finished());
    m.copy.progress = Some(p);
    if table_finished {
        fx.push(Effect::Save);
    }
}

/// The load ended: done only when every table verified.
pub(in crate::state) fn finished(
    m: &mut Migration,
    step: Step,
    report: CopyReport,
    fx: &mut Vec<Effect>,
) {
    let status = if report.all_verified() {
        Status::Done {
            summary: report.summary_line(),
        }
    } else {
        Status::Failed {
            message: report.summary_line(),
        }
    };
    m.copy.report = Some(report);
    // A new copy is a new snapshot: what Cutover saw or did was about the old one.
    m.reset_part(Step::Cutover);
    set_status(m, Step::Cutover, Status::Pending);
    finish(m, step, status, fx);
}

/// `p`: pause or resume the running load (the driver tells the worker).
pub(in crate::state) fn toggle_pause(m: &mut Migration, fx: &mut Vec<Effect>) {
    if let Some((job, Step::CopyRows)) = m.job {
        m.copy.paused = !m.copy.paused;
        fx.push(Effect::Pause {
            job,
            paused: m.copy.paused,
        });
    }
}
