//! Waiting for a step's jobs and answering its questions the way the flags say.

use super::answers::headless_choice;
use super::perform;
use crate::cli::MigrateArgs;
use crate::data::settings::SettingsChange;
use crate::output::{Data, Event, Name, Printer};
use crate::rules;
use crate::runner::Runner;
use crate::state::{self, ChoiceId, JobEvent, Migration, Msg, Question, Status, Step};
use anyhow::{Result, bail};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

/// Wait for the running job (and any job it chains into) to end, answering questions the
/// way the flags say. Returns when no job runs and no question can be answered.
pub(super) fn drive(
    m: &mut Migration,
    runner: &mut Runner,
    rx: &mpsc::Receiver<Msg>,
    printer: &mut Printer<'_>,
    args: &MigrateArgs,
) -> Result<()> {
    loop {
        if m.job.is_none() {
            if !answer(m, runner, printer, args)? {
                return Ok(());
            }
            continue;
        }
        let msg = match rx.recv_timeout(POLL) {
            Ok(msg) => Some(msg),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => bail!("a worker stopped without reporting"),
        };
        // A running copy's newest progress, read from its slot on each poll, before the
        // message: a copy's end is printed after its last progress.
        for msg in runner.take_progress().into_iter().chain(msg) {
            print_event(m, printer, &msg);
            let fx = state::update(m, msg);
            perform(m, runner, fx)?;
        }
        printer.flush_progress();
    }
}

/// How long `drive` waits for a job's message before it reads the copy's progress again.
const POLL: Duration = Duration::from_millis(150);

/// What a job's message prints as it arrives (its lines and its progress).
fn print_event(m: &Migration, printer: &mut Printer<'_>, msg: &Msg) {
    let Msg::Job(id, event) = msg else { return };
    let step = m.job.map(|(_, s)| s).unwrap_or(m.cursor);
    match event {
        JobEvent::Log(line) => printer.say(step, Name::Log, line),
        JobEvent::Said(name, text) => printer.say(step, *name, text),
        // Only the running copy's: the last read of a slot may follow its job's end.
        JobEvent::CopyProgress(p) if m.job.is_some_and(|(j, _)| j == *id) => {
            printer.progress(&Event::progress(step, p))
        }
        _ => {}
    }
}

/// Answer the question on screen, if any: false when there is none or the run stops here.
fn answer(
    m: &mut Migration,
    runner: &mut Runner,
    printer: &mut Printer<'_>,
    args: &MigrateArgs,
) -> Result<bool> {
    let step = m.cursor;
    let Status::NeedsDecision { kind, question, .. } = m.status(step).clone() else {
        return Ok(false);
    };
    if kind == Question::ResetConfirm && !select_apps(m, runner, printer, args)? {
        return Ok(false);
    }
    if kind == Question::Embeddings && !super::embeddings::choose(m, runner, printer, args)? {
        return Ok(false);
    }
    if kind == Question::EmbeddingsDiff {
        super::embeddings::print_diff(m, printer);
    }
    if kind == Question::SettingsWrite {
        print_settings_plan(m, printer);
        if args.no_settings_rewrite {
            printer.say(
                step,
                Name::Hint,
                "--no-settings-rewrite: paste the snippet above where DATABASES is set",
            );
            let fx = state::update(m, Msg::Skip);
            perform(m, runner, fx)?;
            return Ok(false);
        }
    }
    let Some(wanted) = headless_choice(m, kind, printer, args) else {
        return Ok(false);
    };
    printer.say(step, Name::Question, &question);
    if wanted == ChoiceId::Abort
        && rules::is_copy_question(kind)
        && let Some(report) = &m.copy.preflight
    {
        let why = rules::stop_message(report, kind, rules::Surface::CommandLine);
        printer.say(step, Name::Answer, &format!("abort: {why}"));
    } else {
        printer.say(step, Name::Answer, wanted.slug());
    }
    let before = m.status(step).clone();
    let fx = state::update(m, Msg::Decide(wanted));
    perform(m, runner, fx)?;
    if m.job.is_none() && *m.status(step) == before {
        // The answer changed nothing: asking again would loop forever.
        let text = format!("{} had no effect here", wanted.slug());
        printer.say(step, Name::Stopped, &text);
        return Ok(false);
    }
    Ok(true)
}

/// The planned settings change: the plan as data, then the diff (or the snippet), the
/// notes and the variables as lines — never the whole new file (it holds the project's own
/// secrets: SECRET_KEY and the like).
fn print_settings_plan(m: &Migration, printer: &mut Printer<'_>) {
    let step = Step::UpdateSettings;
    let Some(plan) = &m.settings.plan else { return };
    let change = match &plan.change {
        SettingsChange::Rewrite { file, diff, .. } => {
            serde_json::json!({"file": file, "diff": diff.unified})
        }
        SettingsChange::Manual {
            reason, snippet, ..
        } => serde_json::json!({"manual": reason, "snippet": snippet}),
    };
    let value = serde_json::json!({
        "change": change, "notes": plan.notes, "env": plan.shell_lines,
    });
    printer.emit(&Event::data(step, Name::Plan, Data::Json(value)));
    match &plan.change {
        SettingsChange::Rewrite { diff, .. } => {
            for line in diff.unified.lines() {
                printer.say(step, Name::Diff, line);
            }
        }
        SettingsChange::Manual {
            reason, snippet, ..
        } => {
            printer.say(step, Name::Manual, reason);
            for line in snippet.lines() {
                printer.say(step, Name::Snippet, line);
            }
        }
    }
    for note in &plan.notes {
        printer.say(step, Name::Note, note);
    }
    for line in &plan.shell_lines {
        printer.say(step, Name::Env, line);
    }
}

/// `--reset-migrations`: select its apps, printing the preview of what will move. False
/// (after saying why) when the flag names an app that cannot be reset.
fn select_apps(
    m: &mut Migration,
    runner: &mut Runner,
    printer: &mut Printer<'_>,
    args: &MigrateArgs,
) -> Result<bool> {
    let Some(scan) = m.reset.scan.clone() else {
        return Ok(true);
    };
    let wanted = match scan.select(&args.reset_migrations) {
        Ok(w) => w,
        Err(why) => {
            let text = format!("--reset-migrations: {why}");
            printer.say(Step::ResetMigrations, Name::Failed, &text);
            return Ok(false);
        }
    };
    for label in &wanted {
        if !m.reset.selection.contains(label) {
            let fx = state::update(m, Msg::ToggleApp(label.clone()));
            perform(m, runner, fx)?;
        }
    }
    for line in crate::backup::reset_preview_lines(&scan, &m.reset.selection, false) {
        printer.say(Step::ResetMigrations, Name::Preview, &line);
    }
    Ok(true)
}
