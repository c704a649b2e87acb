//! Cutover: watch while the app runs, sync when the user says it stopped, conflicts asked
//! about, run again; a command syncs at once.

use super::*;
use crate::data::sync::{Applied, Conflict, Counts, Look, OnConflict, SyncReport, TableResult};

/// A run whose copy is done, looking at Cutover.
fn at_cutover() -> Migration {
    let mut m = at_copy();
    m.step_mut(Step::CopyRows).status = Status::Done {
        summary: "copied".into(),
    };
    update(&mut m, Msg::Select(Step::Cutover));
    m
}

fn look(rows: u64) -> Look {
    Look {
        since: "2026-12-02T19:40:12.000Z".into(),
        changes: vec![Counts {
            table: "classifier_prediction".into(),
            inserted: rows,
            updated: 1,
            deleted: 0,
            whole: false,
        }],
        rows: 1000,
        scan_ms: 40,
    }
}

fn committed(moved: u64) -> SyncReport {
    SyncReport {
        changes: look(moved).changes,
        applied: Applied {
            tables: vec![TableResult {
                table: "classifier_prediction".into(),
                inserted: moved,
                updated: 1,
                ..TableResult::default()
            }],
            conflicts: vec![],
            committed: true,
        },
        cutover_ms: 1200,
        ..SyncReport::default()
    }
}

#[test]
fn activate_watches_the_file_until_the_user_says_the_app_stopped() {
    let mut m = at_cutover();
    let fx = update(&mut m, Msg::Activate);
    let watch = m.job.expect("the watch job").0;
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::WatchChanges { job, .. } if *job == watch)),
        "{fx:?}"
    );
    assert!(m.cutover.watching);
    // Each look replaces the last; the step keeps running.
    update(
        &mut m,
        Msg::Job(watch, JobEvent::ChangesSeen(Box::new(look(3)))),
    );
    update(
        &mut m,
        Msg::Job(watch, JobEvent::ChangesSeen(Box::new(look(7)))),
    );
    assert_eq!(m.cutover.look.as_ref().map(Look::rows_changed), Some(8));
    assert!(
        matches!(m.status(Step::Cutover), Status::Running { detail, .. } if detail.contains("8 row(s)"))
    );
    // "Stopped": the watch is cancelled and the sync starts, asking about conflicts first.
    let fx = update(&mut m, Msg::SyncNow);
    assert!(fx.contains(&Effect::Cancel { job: watch }), "{fx:?}");
    let sync = m.job.expect("the sync job").0;
    assert_ne!(sync, watch);
    assert!(fx.iter().any(|e| matches!(
        e,
        Effect::Sync { job, on_conflict: OnConflict::Stop, .. } if *job == sync
    )));
    assert!(!m.cutover.watching);
    // The watch's last words are stale.
    update(&mut m, Msg::Job(watch, JobEvent::Cancelled));
    assert!(m.status(Step::Cutover).is_running());
    update(
        &mut m,
        Msg::Job(sync, JobEvent::Synced(Box::new(committed(7)))),
    );
    let Status::Done { summary } = m.status(Step::Cutover) else {
        panic!("{:?}", m.status(Step::Cutover));
    };
    assert!(summary.contains("8 row(s) moved"), "{summary}");
    assert!(summary.contains("cutover window 1.2 s"), "{summary}");
    assert_eq!(m.cutover.runs.len(), 1);
    // In the report too.
    let report = report::build(&m);
    assert_eq!(report.cutover.len(), 1);
    assert!(report.markdown().contains("cutover window 1.2 s"));
}

#[test]
fn conflicts_are_listed_and_the_answer_syncs_again_with_it() {
    let mut m = at_cutover();
    update(&mut m, Msg::Activate);
    update(&mut m, Msg::SyncNow);
    let sync = m.job.unwrap().0;
    let stopped = SyncReport {
        applied: Applied {
            conflicts: vec![Conflict {
                table: "classifier_label".into(),
                key: "4".into(),
                what: "changed in PostgreSQL since the snapshot".into(),
            }],
            committed: false,
            ..Applied::default()
        },
        ..SyncReport::default()
    };
    update(&mut m, Msg::Job(sync, JobEvent::Synced(Box::new(stopped))));
    assert!(matches!(
        m.status(Step::Cutover),
        Status::NeedsDecision { kind: Question::SyncConflicts, choices, .. } if choices.len() == 2
    ));
    assert_eq!(m.cutover.conflicts[0].key, "4");
    let fx = update(&mut m, Msg::Decide(ChoiceId::KeepPostgres));
    assert!(fx.iter().any(|e| matches!(
        e,
        Effect::Sync {
            on_conflict: OnConflict::KeepPostgres,
            ..
        }
    )));
}

#[test]
fn skipping_while_watching_ends_the_watch() {
    let mut m = at_cutover();
    update(&mut m, Msg::Activate);
    let watch = m.job.unwrap().0;
    let fx = update(&mut m, Msg::Skip);
    assert!(fx.contains(&Effect::Cancel { job: watch }), "{fx:?}");
    assert!(m.job.is_none());
    assert!(matches!(m.status(Step::Cutover), Status::Skipped { .. }));
    assert_eq!(m.cursor, Step::UpdateSettings);
}

#[test]
fn a_done_cutover_can_run_again() {
    let mut m = at_cutover();
    update(&mut m, Msg::Activate);
    update(&mut m, Msg::SyncNow);
    let sync = m.job.unwrap().0;
    update(
        &mut m,
        Msg::Job(sync, JobEvent::Synced(Box::new(committed(2)))),
    );
    assert!(m.may_run_again(Step::Cutover));
    let fx = update(&mut m, Msg::Retry);
    assert!(
        fx.iter().any(|e| matches!(e, Effect::WatchChanges { .. })),
        "{fx:?}"
    );
    assert_eq!(m.step(Step::Cutover).attempts, 2);
}

#[test]
fn a_command_syncs_at_once_and_a_new_copy_resets_the_step() {
    let mut m = at_cutover();
    m.surface = crate::surface::Surface::CommandLine;
    let fx = update(&mut m, Msg::Activate);
    assert!(
        fx.iter().any(|e| matches!(e, Effect::Sync { .. })),
        "{fx:?}"
    );
    assert!(!fx.iter().any(|e| matches!(e, Effect::WatchChanges { .. })));
    let sync = m.job.unwrap().0;
    update(
        &mut m,
        Msg::Job(sync, JobEvent::Synced(Box::new(committed(0)))),
    );
    assert!(matches!(m.status(Step::Cutover), Status::Done { .. }));
    // A new copy takes a new snapshot: Cutover is pending again.
    m.step_mut(Step::CopyRows).status = Status::Pending;
    update(&mut m, Msg::Select(Step::CopyRows));
    update(&mut m, Msg::Activate);
    let pre = m.job.unwrap().0;
    update(&mut m, Msg::Job(pre, JobEvent::Preflight(Box::default())));
    let copy = m.job.unwrap().0;
    update(
        &mut m,
        Msg::Job(copy, JobEvent::CopyFinished(Box::default())),
    );
    assert_eq!(*m.status(Step::Cutover), Status::Pending);
    assert!(m.cutover.runs.is_empty());
}
