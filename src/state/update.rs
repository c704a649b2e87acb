//! Transitions: one function per message kind, each returning the effects to run.

use super::{
    ChoiceId, CopyAnswers, Effect, JobEvent, JobId, LOG_LINES, Migration, Msg, Question, Status,
    Step,
};
use super::{
    backup_steps, cutover_steps, embeddings_steps, finish_steps, given, resume, schema_steps,
};
use crate::data::copy::ProblemPolicy;
use crate::rules::{self, CopyNext};

/// Apply one message to the run and return the effects the driver must carry out.
pub fn update(m: &mut Migration, msg: Msg) -> Vec<Effect> {
    let mut fx = Vec::new();
    let answers_or_setup = matches!(
        msg,
        Msg::Resume(_) | Msg::Quit | Msg::Interrupted { .. } | Msg::Given(_)
    );
    if m.resume_offer.is_some() && !answers_or_setup {
        // Until the user answers the resume question, nothing else may change the run (what
        // the driver loaded or was given is not the user's doing).
        return fx;
    }
    match msg {
        Msg::Activate => activate(m, &mut fx),
        Msg::Retry => retry(m, &mut fx),
        Msg::Skip => skip(m, &mut fx),
        Msg::Select(step) => look_at(m, step, &mut fx),
        Msg::Next => {
            if let Some(next) = m.cursor.next() {
                look_at(m, next, &mut fx)
            }
        }
        Msg::Prev => {
            if let Some(prev) = m.cursor.prev() {
                look_at(m, prev, &mut fx)
            }
        }
        Msg::Decide(id) => decide(m, id, &mut fx),
        Msg::SubmitDirect { target, direct } => {
            if m.job.is_none() && m.may_start(Step::Connect) {
                m.options.direct_url = Some(*direct);
                fx = update(m, Msg::SubmitConnection(target));
            }
        }
        Msg::SubmitConnection(config) => {
            if m.job.is_none() && m.may_start(Step::Connect) {
                if m.connect.target.as_ref().is_some_and(|old| *old != config) {
                    // Another target: what the later steps did was for the old one.
                    reopen_after_connect(m);
                }
                m.connect.target = Some(config);
                m.connect.server = None;
                m.connect.pool = None;
                m.connect.field = None;
                start(m, Step::Connect, &mut fx);
            }
        }
        Msg::SubmitAdmin(config) => {
            if m.job.is_none() && m.may_start(Step::FixPermissions) {
                m.permissions.admin = Some(config);
                // Diagnose again, now with the admin's view: the recipes depend on it.
                start(m, Step::FixPermissions, &mut fx);
            }
        }
        Msg::EmbeddingType { column, ty } => embeddings_steps::set_type(m, column, ty),
        Msg::EmbeddingIndex { column, index } => embeddings_steps::set_index(m, column, index),
        Msg::ToggleApp(label) => backup_steps::toggle_app(m, &label, &mut fx),
        Msg::OfferRestore => finish_steps::offer_restore(m, &mut fx),
        Msg::TogglePause => {
            if let Some((job, Step::CopyRows)) = m.job {
                m.copy.paused = !m.copy.paused;
                fx.push(Effect::Pause {
                    job,
                    paused: m.copy.paused,
                });
            }
        }
        Msg::Cancel => {
            if let Some((job, _)) = m.job {
                fx.push(Effect::Cancel { job });
            }
        }
        Msg::SyncNow => cutover_steps::sync_now(m, &mut fx),
        Msg::Resume(resume) => {
            if let Some(offer) = m.resume_offer.take() {
                if resume {
                    m.cursor = offer.step;
                    // Before a done step is trusted, check that its result still stands.
                    resume::start_check(m, &mut fx);
                } else {
                    let options = m.options.clone();
                    *m = Migration::new(options);
                }
                fx.push(Effect::Save);
            }
        }
        Msg::Quit => {
            m.quitting = true;
            if let Some((job, _)) = m.job {
                fx.push(Effect::Cancel { job });
            }
            fx.push(Effect::Save);
            fx.push(Effect::Quit);
        }
        Msg::Interrupted { saved_at } => given::interrupted(m, saved_at),
        Msg::Given(what) => given::given(m, what),
        Msg::Job(id, event) => job_event(m, id, event, &mut fx),
    }
    fx
}

/// The steps after Connect back to pending, and what they learnt about the old target
/// forgotten, whole parts at a time (the backup, reset and dry run are about the project
/// and stay; so do the embeddings choice and the settings style, which are the user's).
fn reopen_after_connect(m: &mut Migration) {
    for step in REOPENED_BY_CONNECT {
        m.step_mut(step).status = Status::Pending;
        m.reset_part(step);
    }
}

/// The steps whose work was about the target: a new target reopens them.
pub(super) const REOPENED_BY_CONNECT: [Step; 6] = [
    Step::FixPermissions,
    Step::CreateSchema,
    Step::CopyRows,
    Step::Cutover,
    Step::UpdateSettings,
    Step::Done,
];

fn look_at(m: &mut Migration, step: Step, fx: &mut Vec<Effect>) {
    if m.cursor != step {
        m.cursor = step;
        fx.push(Effect::Save);
    }
}

fn activate(m: &mut Migration, fx: &mut Vec<Effect>) {
    if m.job.is_some() {
        return;
    }
    let step = m.cursor;
    match m.status(step) {
        Status::Done { .. } | Status::Skipped { .. } => {
            if let Some(next) = step.next() {
                look_at(m, next, fx);
            }
        }
        Status::Pending if m.may_start(step) => start(m, step, fx),
        Status::Failed { .. } | Status::Stopped { .. } => retry(m, fx),
        _ => {}
    }
}

fn retry(m: &mut Migration, fx: &mut Vec<Effect>) {
    let step = m.cursor;
    if m.job.is_none() && m.may_run_again(step) && m.may_start(step) {
        start(m, step, fx);
    }
}

fn skip(m: &mut Migration, fx: &mut Vec<Effect>) {
    let step = m.cursor;
    if step == Step::Cutover {
        cutover_steps::stop_watch(m, fx);
    }
    let skippable_now = matches!(
        m.status(step),
        Status::Pending
            | Status::Failed { .. }
            | Status::Stopped { .. }
            | Status::NeedsDecision { .. }
    );
    if step.skippable() && skippable_now && m.job.is_none() {
        set_status(
            m,
            step,
            Status::Skipped {
                reason: "skipped by you".into(),
            },
        );
        fx.push(Effect::Save);
        if let Some(next) = step.next() {
            m.cursor = next;
        }
    }
}

/// Start `step`: a new job id, the step running, and the effect that does the work.
pub(super) fn start(m: &mut Migration, step: Step, fx: &mut Vec<Effect>) {
    if step == Step::Cutover {
        cutover_steps::start(m, fx);
        return;
    }
    let job = m.next_job;
    let effect = schema_steps::start_effect(m, step, job)
        .or_else(|| backup_steps::start_effect(m, step, job))
        .or_else(|| finish_steps::start_effect(m, step, job));
    if let Some(effect) = effect {
        match effect {
            Ok(effect) => {
                m.next_job += 1;
                m.step_mut(step).attempts += 1;
                running(m, step, job, "starting");
                fx.push(effect);
            }
            Err(message) => fail(m, step, &message),
        }
        fx.push(Effect::Save);
        return;
    }
    let effect = match step {
        Step::Discover => Effect::Discover {
            job,
            project: m.options.project.clone(),
            python: m.options.python.clone(),
        },
        Step::Connect => match &m.connect.target {
            Some(config) => Effect::Connect {
                job,
                config: config.clone(),
                direct: m.options.direct_url.clone(),
                admin: m.permissions.admin.clone(),
            },
            None => {
                fail(
                    m,
                    step,
                    "Fill in the connection form first (host, database, user).",
                );
                fx.push(Effect::Save);
                return;
            }
        },
        Step::CopyRows => match (m.sqlite_path().cloned(), m.table_owner()) {
            (Some(sqlite), Some((config, role))) => Effect::Preflight {
                job,
                sqlite,
                config,
                role,
                settings: m.copy_settings(),
            },
            (None, _) => {
                fail(m, step, "Discover found no SQLite file to copy from.");
                fx.push(Effect::Save);
                return;
            }
            (_, None) => {
                fail(m, step, "Connect to PostgreSQL first (step Connect).");
                fx.push(Effect::Save);
                return;
            }
        },
        // Unbuilt steps never start; they are passed over honestly.
        _ => return,
    };
    m.next_job += 1;
    m.job = Some((job, step));
    m.copy.paused = false;
    let state = m.step_mut(step);
    state.attempts += 1;
    state.status = Status::Running {
        detail: "starting".into(),
        fraction: None,
    };
    fx.push(effect);
    fx.push(Effect::Save);
}

fn decide(m: &mut Migration, id: ChoiceId, fx: &mut Vec<Effect>) {
    let step = m.cursor;
    let Status::NeedsDecision { kind, choices, .. } = m.status(step) else {
        return;
    };
    let kind = *kind;
    // An answer may start work: only when every earlier step lets this one run.
    if m.job.is_some() || !choices.iter().any(|c| c.id == id) || !m.may_start(step) {
        return;
    }
    match kind {
        Question::PermissionFix => schema_steps::decide_permissions(m, id, fx),
        Question::InstallDriver => schema_steps::decide_driver(m, id, fx),
        Question::Embeddings => embeddings_steps::decide_columns(m, id, fx),
        Question::EmbeddingsDiff => embeddings_steps::decide_diff(m, id, fx),
        Question::DefaultGrants => schema_steps::decide_grants(m, id, fx),
        Question::GitNotClean => backup_steps::decide_git(m, id, fx),
        Question::ResetConfirm => backup_steps::decide_reset(m, id, fx),
        Question::SettingsWrite => finish_steps::decide_settings(m, id, fx),
        Question::SettingsInvalid => finish_steps::decide_invalid(m, id, fx),
        Question::Restore => finish_steps::decide_restore(m, id, fx),
        Question::SyncConflicts => cutover_steps::decide(m, id, fx),
        q if step == Step::CopyRows && rules::answer(&mut m.copy.answers, q, id) => {
            advance_copy(m, fx)
        }
        _ => {}
    }
}

/// After the preflight or an answer: ask the copy's next question, stop, or load. The
/// order and meaning of the questions are `rules::copy_next`'s, shared with the commands.
fn advance_copy(m: &mut Migration, fx: &mut Vec<Effect>) {
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
        CopyNext::Go(policy) => start_copy(m, policy, fx),
    }
}

fn start_copy(m: &mut Migration, policy: ProblemPolicy, fx: &mut Vec<Effect>) {
    let (Some(sqlite), Some((config, role))) = (m.sqlite_path().cloned(), m.table_owner()) else {
        fail(
            m,
            Step::CopyRows,
            "The SQLite file or the target is no longer known; retry.",
        );
        fx.push(Effect::Save);
        return;
    };
    let job = m.next_job;
    m.next_job += 1;
    m.job = Some((job, Step::CopyRows));
    m.copy.paused = false;
    m.step_mut(Step::CopyRows).status = Status::Running {
        detail: "loading".into(),
        fraction: Some(0.0),
    };
    fx.push(Effect::Copy {
        job,
        sqlite,
        config,
        role,
        policy,
        settings: m.copy_settings(),
    });
    fx.push(Effect::Save);
}

fn job_event(m: &mut Migration, id: JobId, event: JobEvent, fx: &mut Vec<Effect>) {
    let Some((current, step)) = m.job else { return };
    if current != id {
        return; // a stale worker: its news no longer matters
    }
    if m.resume_check == Some(id) {
        match event {
            JobEvent::Checked(seen) => resume::checked(m, &seen, fx),
            JobEvent::Failed(why) => resume::check_failed(m, &why, fx),
            JobEvent::Cancelled => resume::check_failed(m, "cancelled", fx),
            _ => {}
        }
        return;
    }
    match event {
        JobEvent::Log(line) => push_log(m, step, line),
        JobEvent::Discovered(d) => {
            let summary = d.summary_line();
            m.discovery = Some(*d);
            finish(m, step, Status::Done { summary }, fx);
        }
        JobEvent::PoolRouted(route) => m.connect.pool = Some(*route),
        JobEvent::DefaultGrantsFound(g) => schema_steps::grants_found(m, *g, fx),
        JobEvent::Connected(info) => {
            let mut summary = info.summary_line();
            if let Some(p) = &m.connect.pool {
                summary.push_str(&format!(
                    "; through a connection pool ({}): the schema and the copy go over the \
                     direct connection {} ({}), the app's settings keep the pool",
                    p.reason,
                    p.direct.display_url(),
                    p.direct_from
                ));
            }
            m.connect.server = Some(*info);
            finish(m, step, Status::Done { summary }, fx);
        }
        JobEvent::Preflight(report) => {
            // A new preflight asks its questions afresh: the old answers were about other
            // findings.
            m.copy.preflight = Some(*report);
            m.copy.answers = CopyAnswers::default();
            m.job = None;
            m.copy.paused = false;
            advance_copy(m, fx);
        }
        JobEvent::CopyProgress(p) => {
            m.step_mut(step).status = Status::Running {
                detail: p.line(),
                fraction: Some(p.fraction()),
            };
            let table_finished = m.copy.progress.as_ref().map(|old| old.tables_finished())
                != Some(p.tables_finished());
            m.copy.progress = Some(*p);
            if table_finished {
                fx.push(Effect::Save);
            }
        }
        JobEvent::CopyFinished(report) => {
            let status = if report.all_verified() {
                Status::Done {
                    summary: report.summary_line(),
                }
            } else {
                Status::Failed {
                    message: report.summary_line(),
                }
            };
            m.copy.report = Some(*report);
            // A new copy is a new snapshot: what Cutover saw or did was about the old one.
            m.reset_part(Step::Cutover);
            set_status(m, Step::Cutover, Status::Pending);
            finish(m, step, status, fx);
        }
        JobEvent::ChangesSeen(look) => cutover_steps::seen(m, *look),
        JobEvent::Synced(report) => cutover_steps::synced(m, *report, fx),
        JobEvent::SettingsPlanned(p) => finish_steps::planned(m, *p, fx),
        JobEvent::SettingsApplied(a, v) => finish_steps::applied(m, a.map(|a| *a), *v, fx),
        JobEvent::SettingsReverted => finish_steps::reverted(m, fx),
        JobEvent::Recorded(r) => resume::record(m, *r),
        // Only the resume check's job reports this (handled above).
        JobEvent::Checked(_) => {}
        JobEvent::ReportWritten(paths) => finish_steps::report_written(m, paths, fx),
        JobEvent::Restored(r) => finish_steps::restored(m, *r, fx),
        JobEvent::BackedUp(r) => backup_steps::backed_up(m, *r, fx),
        JobEvent::Scanned(s) => backup_steps::scanned(m, *s, fx),
        JobEvent::ResetDone(r, made) => backup_steps::reset_done(m, *r, *made, fx),
        JobEvent::DryRunFinished(r) => schema_steps::dry_run_finished(m, *r, fx),
        JobEvent::Diagnosed(d, recipes) => schema_steps::diagnosed(m, *d, recipes, fx),
        JobEvent::Applied(r) => schema_steps::applied(m, *r, fx),
        JobEvent::DbaScriptSaved(path) => schema_steps::dba_script_saved(m, path, fx),
        JobEvent::SchemaCreated(r) => schema_steps::schema_created(m, *r, fx),
        JobEvent::DriverInstalled(r) => schema_steps::driver_installed(m, *r, fx),
        JobEvent::EmbeddingsFound(cols) => embeddings_steps::found(m, cols, fx),
        JobEvent::EmbeddingsPlanned(d) => embeddings_steps::planned(m, *d, fx),
        JobEvent::EmbeddingsApplied(c) => embeddings_steps::applied(m, c, fx),
        JobEvent::Cancelled => {
            let message = format!(
                "Cancelled by you; nothing is lost. {}",
                m.surface.again("resume")
            );
            finish(m, step, Status::Stopped { message }, fx);
        }
        JobEvent::Failed(message) => finish(m, step, Status::Failed { message }, fx),
        JobEvent::ConnectStopped => {
            let message = format!(
                "You stopped the connection attempt before the server answered. {}",
                m.surface.connect_again()
            );
            finish(m, step, Status::Failed { message }, fx)
        }
        JobEvent::ConnectFailed(e) => {
            m.connect.field = Some(e.field);
            let message = e.render(m.surface);
            finish(m, step, Status::Failed { message }, fx)
        }
    }
}

/// A new job id.
pub(super) fn next_job(m: &mut Migration) -> JobId {
    let job = m.next_job;
    m.next_job += 1;
    job
}

/// Start a job of `step` (the one way every step starts its work): the next job id, the
/// step shown running with `detail`, the effect `make` builds from the run and the id, then
/// a save.
pub(super) fn launch(
    m: &mut Migration,
    step: Step,
    detail: &str,
    fx: &mut Vec<Effect>,
    make: impl FnOnce(&Migration, JobId) -> Effect,
) {
    let job = next_job(m);
    let effect = make(m, job);
    running(m, step, job, detail);
    fx.push(effect);
    fx.push(Effect::Save);
}

/// `step` runs job `job`.
pub(super) fn running(m: &mut Migration, step: Step, job: JobId, detail: &str) {
    m.job = Some((job, step));
    m.copy.paused = false;
    m.step_mut(step).status = Status::Running {
        detail: detail.into(),
        fraction: None,
    };
}

pub(super) fn finish(m: &mut Migration, step: Step, status: Status, fx: &mut Vec<Effect>) {
    m.job = None;
    m.copy.paused = false;
    set_status(m, step, status);
    fx.push(Effect::Save);
}

/// The user stopped `step` on purpose: not a failure (see `Status::Stopped`).
pub(super) fn stop(m: &mut Migration, step: Step, message: &str) {
    set_status(
        m,
        step,
        Status::Stopped {
            message: message.into(),
        },
    );
}

pub(super) fn fail(m: &mut Migration, step: Step, message: &str) {
    set_status(
        m,
        step,
        Status::Failed {
            message: message.into(),
        },
    );
}

pub(super) fn set_status(m: &mut Migration, step: Step, status: Status) {
    m.step_mut(step).status = status;
}

fn push_log(m: &mut Migration, step: Step, line: String) {
    let log = &mut m.step_mut(step).log;
    log.push(line);
    if log.len() > LOG_LINES {
        let extra = log.len() - LOG_LINES;
        log.drain(..extra);
    }
}
