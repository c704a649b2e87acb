//! Transitions: one function per message kind, each returning the effects to run. What a
//! step does is in its own file under `steps/`; this file routes to it and holds what every
//! step shares (how a job starts and ends).

use super::steps::{
    backup, connect, copy, cutover, discover, done, dry_run, embeddings, permissions, reset,
    schema, settings,
};
use super::{ChoiceId, Effect, JobEvent, JobId, LOG_LINES, Migration, Msg, Question, Status, Step};
use super::{given, resume};

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
        Msg::SubmitDirect { target, direct } => connect::submit_direct(m, target, *direct, &mut fx),
        Msg::SubmitConnection(config) => connect::submit(m, config, &mut fx),
        Msg::SubmitAdmin(config) => permissions::submit_admin(m, config, &mut fx),
        Msg::EmbeddingType { column, ty } => embeddings::set_type(m, column, ty),
        Msg::EmbeddingIndex { column, index } => embeddings::set_index(m, column, index),
        Msg::ToggleApp(label) => reset::toggle_app(m, &label, &mut fx),
        Msg::OfferRestore => done::offer_restore(m, &mut fx),
        Msg::TogglePause => copy::toggle_pause(m, &mut fx),
        Msg::Cancel => {
            if let Some((job, _)) = m.job {
                fx.push(Effect::Cancel { job });
            }
        }
        Msg::SyncNow => cutover::sync_now(m, &mut fx),
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
        cutover::stop_watch(m, fx);
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

/// Start `step`: its job (from the step's file), the step running, a new attempt.
pub(super) fn start(m: &mut Migration, step: Step, fx: &mut Vec<Effect>) {
    let make: fn(&Migration, JobId) -> Result<Effect, String> = match step {
        Step::Discover => discover::effect,
        Step::Backup => backup::effect,
        Step::ResetMigrations => reset::effect,
        Step::DryRun => dry_run::effect,
        Step::Connect => connect::effect,
        Step::FixPermissions => permissions::effect,
        Step::CreateSchema => schema::effect,
        Step::CopyRows => copy::effect,
        // A watch or a sync, after its own checks.
        Step::Cutover => return cutover::start(m, fx),
        Step::UpdateSettings => settings::effect,
        Step::Done => done::effect,
    };
    if try_launch(m, step, "starting", None, fx, make) {
        m.step_mut(step).attempts += 1;
    }
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
        Question::PermissionFix => permissions::decide_permissions(m, id, fx),
        Question::InstallDriver => schema::decide_driver(m, id, fx),
        Question::Embeddings => embeddings::decide_columns(m, id, fx),
        Question::EmbeddingsDiff => embeddings::decide_diff(m, id, fx),
        Question::DefaultGrants => schema::decide_grants(m, id, fx),
        Question::GitNotClean => backup::decide_git(m, id, fx),
        Question::ResetConfirm => reset::decide_reset(m, id, fx),
        Question::SettingsWrite => settings::decide_settings(m, id, fx),
        Question::SettingsInvalid => settings::decide_invalid(m, id, fx),
        Question::Restore => done::decide_restore(m, id, fx),
        Question::SyncConflicts => cutover::decide(m, id, fx),
        q if step == Step::CopyRows => copy::answer(m, q, id, fx),
        _ => {}
    }
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
        // On a narrow log pane the findings read best bare; the other lines say what
        // they are (written:, proof:, reader:, report:).
        JobEvent::Said(crate::output::Name::Embeddings, text) => push_log(m, step, text),
        JobEvent::Said(name, text) => push_log(m, step, format!("{name}: {text}")),
        JobEvent::Discovered(d) => discover::discovered(m, step, *d, fx),
        JobEvent::PoolRouted(route) => connect::pool_routed(m, *route),
        JobEvent::Connected(info) => connect::connected(m, step, *info, fx),
        JobEvent::ConnectStopped => connect::stopped(m, step, fx),
        JobEvent::ConnectFailed(e) => connect::failed(m, step, e, fx),
        JobEvent::BackedUp(r) => backup::backed_up(m, *r, fx),
        JobEvent::Scanned(s) => reset::scanned(m, *s, fx),
        JobEvent::ResetDone(r, made) => reset::reset_done(m, *r, *made, fx),
        JobEvent::DryRunFinished(r) => dry_run::dry_run_finished(m, *r, fx),
        JobEvent::Diagnosed(d, recipes) => permissions::diagnosed(m, *d, recipes, fx),
        JobEvent::Applied(r) => permissions::applied(m, *r, fx),
        JobEvent::DbaScriptSaved(path) => permissions::dba_script_saved(m, path, fx),
        JobEvent::DefaultGrantsFound(g) => schema::grants_found(m, *g, fx),
        JobEvent::SchemaCreated(r) => schema::schema_created(m, *r, fx),
        JobEvent::DriverInstalled(r) => schema::driver_installed(m, *r, fx),
        JobEvent::EmbeddingsFound(cols) => embeddings::found(m, cols, fx),
        JobEvent::EmbeddingsPlanned(d) => embeddings::planned(m, *d, fx),
        JobEvent::EmbeddingsApplied(c) => embeddings::applied(m, c, fx),
        JobEvent::Preflight(report) => copy::preflight_done(m, *report, fx),
        JobEvent::CopyProgress(p) => copy::progress(m, step, *p, fx),
        JobEvent::CopyFinished(report) => copy::finished(m, step, *report, fx),
        JobEvent::ChangesSeen(look) => cutover::seen(m, *look),
        JobEvent::Synced(report) => cutover::synced(m, *report, fx),
        JobEvent::SettingsPlanned(p) => settings::planned(m, *p, fx),
        JobEvent::SettingsApplied(a, v) => settings::applied(m, a.map(|a| *a), *v, fx),
        JobEvent::SettingsReverted => settings::reverted(m, fx),
        JobEvent::ReportWritten(paths) => done::report_written(m, paths, fx),
        JobEvent::Restored(r) => done::restored(m, *r, fx),
        JobEvent::Recorded(r) => resume::record(m, *r),
        // Only the resume check's job reports this (handled above).
        JobEvent::Checked(_) => {}
        JobEvent::Cancelled => {
            let message = format!(
                "Cancelled by you; nothing is lost. {}",
                m.surface.again("resume")
            );
            finish(m, step, Status::Stopped { message }, fx);
        }
        JobEvent::Failed(message) => finish(m, step, Status::Failed { message }, fx),
    }
}

/// A new job id.
pub(super) fn next_job(m: &mut Migration) -> JobId {
    let job = m.next_job;
    m.next_job += 1;
    job
}

/// Start a job of `step` (the one way every step starts its work): the effect `make` builds
/// from the run and the next job id, the step shown running with `detail` (and `fraction`),
/// then a save. When `make` says why the job cannot start, the step fails with that and no
/// job id is used. Returns whether the job started.
pub(super) fn try_launch(
    m: &mut Migration,
    step: Step,
    detail: &str,
    fraction: Option<f64>,
    fx: &mut Vec<Effect>,
    make: impl FnOnce(&Migration, JobId) -> Result<Effect, String>,
) -> bool {
    let started = match make(m, m.next_job) {
        Ok(effect) => {
            let job = next_job(m);
            m.job = Some((job, step));
            m.copy.paused = false;
            m.step_mut(step).status = Status::Running {
                detail: detail.into(),
                fraction,
            };
            fx.push(effect);
            true
        }
        Err(message) => {
            fail(m, step, &message);
            false
        }
    };
    fx.push(Effect::Save);
    started
}

/// [`try_launch`] for a job that always can start, shown without a fraction.
pub(super) fn launch(
    m: &mut Migration,
    step: Step,
    detail: &str,
    fx: &mut Vec<Effect>,
    make: impl FnOnce(&Migration, JobId) -> Effect,
) {
    try_launch(m, step, detail, None, fx, |m, job| Ok(make(m, job)));
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
