//! Transitions of Cutover. Pure: effects out, events in.
//!
//! In the wizard the step starts a watch job that looks at the SQLite file every couple of
//! seconds while the app still runs (`ChangesSeen`; the step stays running, with
//! `cutover.watching`). `SyncNow` (the user says the app is stopped) replaces the watch with
//! a sync job; its start is the start of the cutover window. The sync ends done (committed
//! and verified) or asks about conflicts (keep PostgreSQL's / take SQLite's, then it syncs
//! again). A command (headless `migrate`) has nobody to stop the app on cue: it syncs at
//! once. A done or skipped Cutover can run again (`Retry`): a new watch, a new sync.

use crate::data::pg::ConnConfig;
use crate::data::sync::{Look, OnConflict, SyncReport};
use crate::rules::Choice;
use crate::state::update::{finish, try_launch};
use crate::state::{ChoiceId, Effect, Migration, Question, Role, Status, Step};
use crate::surface::Surface;

const STEP: Step = Step::Cutover;

/// Start the step: watch (the wizard) or sync at once (a command).
pub(in crate::state) fn start(m: &mut Migration, fx: &mut Vec<Effect>) {
    let watch = m.surface != Surface::CommandLine;
    let detail = if watch { WATCHING } else { SYNCING };
    let started = try_launch(m, STEP, detail, None, fx, |m, job| {
        let (sqlite, config, role) =
            ends(m).ok_or("Cutover needs the SQLite file (Discover) and the target (Connect).")?;
        Ok(if watch {
            Effect::WatchChanges {
                job,
                sqlite,
                config,
            }
        } else {
            Effect::Sync {
                job,
                sqlite,
                config,
                role,
                on_conflict: OnConflict::Stop,
            }
        })
    });
    if started {
        m.step_mut(STEP).attempts += 1;
        m.cutover.conflicts.clear();
        m.cutover.watching = watch;
        if watch {
            m.cutover.look = None;
        }
    }
}

/// What a watch or a sync reads and writes: the SQLite file, and the target as the role that
/// owns the tables.
fn ends(m: &Migration) -> Option<(std::path::PathBuf, ConnConfig, Role)> {
    let (config, role) = m.table_owner()?;
    Some((m.sqlite_path()?.clone(), config, role))
}

const WATCHING: &str = "looking at what changed since the copy's snapshot";
const SYNCING: &str = "syncing: reading the SQLite file, applying the changes, verifying";

/// Whether `SyncNow` does something now: the step on screen may run, and it is watching,
/// or waiting to start or to run again.
pub fn can_sync_now(m: &Migration) -> bool {
    m.cursor == STEP
        && m.may_start(STEP)
        && match m.job {
            Some((_, step)) => step == STEP && m.cutover.watching,
            None => matches!(
                m.status(STEP),
                Status::Pending | Status::Failed { .. } | Status::Stopped { .. }
            ),
        }
}

/// The user says the app is stopped: the watch (if any) ends, the sync starts.
pub(in crate::state) fn sync_now(m: &mut Migration, fx: &mut Vec<Effect>) {
    if !can_sync_now(m) {
        return;
    }
    if let Some((job, _)) = m.job.take() {
        fx.push(Effect::Cancel { job });
    } else {
        m.step_mut(STEP).attempts += 1;
    }
    sync(m, OnConflict::Stop, fx);
}

fn sync(m: &mut Migration, on_conflict: OnConflict, fx: &mut Vec<Effect>) {
    let started = try_launch(m, STEP, SYNCING, None, fx, |m, job| {
        let (sqlite, config, role) =
            ends(m).ok_or("The SQLite file or the target is no longer known; retry.")?;
        Ok(Effect::Sync {
            job,
            sqlite,
            config,
            role,
            on_conflict,
        })
    });
    if started {
        m.cutover.watching = false;
    }
}

/// The watch's latest look: the step keeps running.
pub(in crate::state) fn seen(m: &mut Migration, look: Look) {
    let n = look.rows_changed();
    m.step_mut(STEP).status = Status::Running {
        detail: format!(
            "watching: {n} row(s) changed in {} table(s) since the copy",
            look.changes.len()
        ),
        fraction: None,
    };
    m.cutover.look = Some(look);
}

/// A sync ended.
pub(in crate::state) fn synced(m: &mut Migration, report: SyncReport, fx: &mut Vec<Effect>) {
    m.cutover.watching = false;
    if !report.applied.committed {
        let n = report.applied.conflicts.len();
        m.cutover.conflicts = report.applied.conflicts.clone();
        let c = |id, key, label: &str| Choice {
            id,
            key,
            label: label.into(),
        };
        let status = Status::NeedsDecision {
            kind: Question::SyncConflicts,
            question: format!(
                "{n} row(s) changed on PostgreSQL since the copy, and in SQLite too (listed \
                 below): nothing was written. Keep PostgreSQL's version of them, or write \
                 SQLite's over them? Either way the other changes are applied."
            ),
            choices: vec![
                c(ChoiceId::KeepPostgres, 'p', "Keep PostgreSQL's rows"),
                c(ChoiceId::TakeSqlite, 't', "Take SQLite's rows"),
            ],
        };
        finish(m, STEP, status, fx);
        return;
    }
    m.cutover.conflicts.clear();
    let summary = summary(&report);
    m.cutover.look = None;
    m.cutover.runs.push(report);
    finish(m, STEP, Status::Done { summary }, fx);
}

/// One line for a committed sync.
pub fn summary(r: &SyncReport) -> String {
    let took = crate::data::sync::duration_text(r.cutover_ms);
    let moved = r.applied.moved();
    if r.changes.is_empty() {
        return format!(
            "nothing changed since the copy's snapshot: PostgreSQL holds every row (checked in \
             {took})"
        );
    }
    let kept: u64 = r.applied.tables.iter().map(|t| t.kept_postgres).sum();
    let kept = if kept > 0 {
        format!("; {kept} conflict(s) kept as PostgreSQL had them")
    } else {
        String::new()
    };
    format!(
        "synced and verified: {moved} row(s) moved in {} table(s); cutover window {took} \
         from \"stopped\" to verified{kept}",
        r.changes.len()
    )
}

pub(in crate::state) fn decide(m: &mut Migration, id: ChoiceId, fx: &mut Vec<Effect>) {
    match id {
        ChoiceId::KeepPostgres => sync(m, OnConflict::KeepPostgres, fx),
        ChoiceId::TakeSqlite => sync(m, OnConflict::TakeSqlite, fx),
        _ => {}
    }
}

/// Skipping while the watch runs ends the watch.
pub(in crate::state) fn stop_watch(m: &mut Migration, fx: &mut Vec<Effect>) {
    if m.cutover.watching
        && let Some((job, STEP)) = m.job
    {
        fx.push(Effect::Cancel { job });
        m.job = None;
        m.cutover.watching = false;
        m.step_mut(STEP).status = Status::Pending;
    }
}
