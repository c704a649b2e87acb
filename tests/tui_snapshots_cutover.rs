//! Screen snapshots (80x24) of Cutover: the live counts while the app still runs, the
//! conflicts question, the done step with its cutover window; and its keys (Enter syncs
//! while watching, `s` skips, `r` syncs again). The real state machine drives the run;
//! the workers' reports are hand-built.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use dj2pg::data::sync::{Applied, Conflict, Counts, Look, SyncReport, TableResult};
use dj2pg::state::{self, Effect, JobEvent, Migration, Msg, Status, Step};
use dj2pg::tui::{UiState, handle_key};

mod tui_common;
use tui_common::*;

/// A connected run whose copy is done, looking at Cutover.
fn at_cutover() -> Migration {
    let mut m = connected();
    for s in &Step::ALL[..Step::Cutover.index()] {
        if !m.status(*s).lets_next_start() {
            m.step_mut(*s).status = Status::Done {
                summary: "ok".into(),
            };
        }
    }
    m.cursor = Step::Cutover;
    m
}

fn press(m: &mut Migration, code: KeyCode) -> (Option<Msg>, Vec<Effect>) {
    let msg = handle_key(
        m,
        &mut UiState::default(),
        KeyEvent::new(code, KeyModifiers::NONE),
    );
    let fx = msg
        .clone()
        .map(|msg| state::update(m, msg))
        .unwrap_or_default();
    (msg, fx)
}

fn counts(table: &str, inserted: u64, updated: u64, deleted: u64) -> Counts {
    Counts {
        table: table.into(),
        inserted,
        updated,
        deleted,
        whole: false,
    }
}

fn look() -> Look {
    Look {
        since: "2025-01-14T09:41:07.512Z".into(),
        changes: vec![
            counts("predictions_prediction", 412, 37, 0),
            counts("reviews_review", 9, 3, 1),
            counts("ml_models_modelversion", 0, 1, 0),
        ],
        rows: 202_431,
        scan_ms: 180,
    }
}

/// Cutover watching, after two looks at the file.
fn watching() -> Migration {
    let mut m = at_cutover();
    let (msg, _) = press(&mut m, KeyCode::Enter);
    assert_eq!(msg, Some(Msg::Activate));
    let job = m.job.expect("the watch").0;
    let mut first = look();
    first.changes.truncate(1);
    state::update(
        &mut m,
        Msg::Job(job, JobEvent::ChangesSeen(Box::new(first))),
    );
    state::update(
        &mut m,
        Msg::Job(job, JobEvent::ChangesSeen(Box::new(look()))),
    );
    m
}

fn synced() -> SyncReport {
    let table = |t: &str, i, u, d| TableResult {
        table: t.into(),
        inserted: i,
        updated: u,
        deleted: d,
        ..TableResult::default()
    };
    SyncReport {
        from_snapshot: "2025-01-14T09:41:07.512Z".into(),
        to_snapshot: "2025-01-14T09:52:30.104Z".into(),
        changes: look().changes,
        applied: Applied {
            tables: vec![
                table("ml_models_modelversion", 0, 1, 0),
                table("reviews_review", 9, 3, 1),
                table("predictions_prediction", 415, 37, 0),
            ],
            conflicts: vec![],
            committed: true,
        },
        window_ms: 240,
        scan_ms: 190,
        round_trips: 9,
        cutover_ms: 610,
    }
}

#[test]
fn cutover_pending_explains_the_window() {
    insta::assert_snapshot!(snap(&at_cutover(), &UiState::default()));
}

#[test]
fn cutover_watching_shows_live_counts_and_asks_to_stop_the_app() {
    let m = watching();
    let screen = snap(&m, &UiState::default());
    assert!(screen.contains("Enter app stopped: sync"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn enter_while_watching_syncs_and_s_skips() {
    let mut m = watching();
    let watch = m.job.unwrap().0;
    let (msg, fx) = press(&mut m, KeyCode::Enter);
    assert_eq!(msg, Some(Msg::SyncNow));
    assert!(fx.contains(&Effect::Cancel { job: watch }), "{fx:?}");
    assert!(
        fx.iter().any(|e| matches!(e, Effect::Sync { .. })),
        "{fx:?}"
    );

    let mut m = watching();
    let (msg, _) = press(&mut m, KeyCode::Char('s'));
    assert_eq!(msg, Some(Msg::Skip));
    assert!(matches!(m.status(Step::Cutover), Status::Skipped { .. }));
}

#[test]
fn cutover_conflicts_are_listed_with_table_and_key() {
    let mut m = watching();
    press(&mut m, KeyCode::Enter);
    let job = m.job.unwrap().0;
    let report = SyncReport {
        applied: Applied {
            conflicts: vec![
                Conflict {
                    table: "ml_models_modelversion".into(),
                    key: "7".into(),
                    what: "changed in PostgreSQL since the snapshot".into(),
                },
                Conflict {
                    table: "reviews_review".into(),
                    key: "20118".into(),
                    what: "PostgreSQL already holds a different row with this key".into(),
                },
            ],
            committed: false,
            ..Applied::default()
        },
        ..SyncReport::default()
    };
    state::update(&mut m, Msg::Job(job, JobEvent::Synced(Box::new(report))));
    insta::assert_snapshot!(snap(&m, &UiState::default()));
}

#[test]
fn cutover_done_reports_the_window_and_r_syncs_again() {
    let mut m = watching();
    press(&mut m, KeyCode::Enter);
    let job = m.job.unwrap().0;
    state::update(&mut m, Msg::Job(job, JobEvent::Synced(Box::new(synced()))));
    let screen = snap(&m, &UiState::default());
    assert!(screen.contains("r sync again"), "{screen}");
    insta::assert_snapshot!(screen);
    let (msg, fx) = press(&mut m, KeyCode::Char('r'));
    assert_eq!(msg, Some(Msg::Retry));
    assert!(
        fx.iter().any(|e| matches!(e, Effect::WatchChanges { .. })),
        "{fx:?}"
    );
}
