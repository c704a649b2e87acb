//! The runner's Preflight and Copy effects on worker threads: the events the state machine
//! gets, progress read from the runner's slot the way a driver reads it when it draws (the
//! newest value, the last one — stage `done` — too), and Cancel reported as `Cancelled`
//! (then a resumed copy verifies).

mod common;

use common::*;
use dj2pg::copy::CopySettings;
use dj2pg::data::copy::{ProblemPolicy, Stage};
use dj2pg::runner::Runner;
use dj2pg::state::{Effect, JobEvent, Msg, Role};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The next thing about `job` a driver polling every 50 ms sees: a copy's newest progress
/// from the runner's slot, else the next message on the channel. News of another job (a
/// cancelled copy's last value, read once after its end) is passed over, as the state
/// passes over a stale worker's news.
fn next_event(rx: &mpsc::Receiver<Msg>, runner: &mut Runner, job: u64) -> JobEvent {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        for msg in runner.take_progress() {
            let Msg::Job(id, e) = msg else { unreachable!() };
            if id == job {
                return e;
            }
        }
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(Msg::Job(id, e)) if id == job => return e,
            Ok(Msg::Job(..)) => {}
            Ok(other) => panic!("unexpected {other:?}"),
            Err(_) => assert!(Instant::now() < deadline, "a worker reports"),
        }
    }
}

#[test]
fn preflight_then_copy_report_through_the_runner() {
    let c = cluster();
    let python = django_venv();
    let (_tmp, project) = sample_project(20_000);
    migrate_as_app(&c, &python, &project);
    let sqlite = project.join("db.sqlite3");

    let (tx, rx) = mpsc::channel();
    let mut runner = Runner::new(tx);
    runner.password = Some(c.app_password().clone());
    let settings = CopySettings {
        jobs: 2,
        ..CopySettings::with_jobs(2)
    };
    runner.run(Effect::Preflight {
        job: 1,
        role: Role::App,
        sqlite: sqlite.clone(),
        config: c.app(),
        settings: settings.clone(),
    });
    let JobEvent::Preflight(report) = next_event(&rx, &mut runner, 1) else {
        panic!("preflight report expected")
    };
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert!(
        report
            .nonempty_targets
            .iter()
            .any(|(t, _)| t == "classifier_label"),
        "the RunPython migration wrote labels on PostgreSQL: {:?}",
        report.nonempty_targets
    );

    // Cancel as soon as the load reports progress.
    runner.run(Effect::Copy {
        job: 2,
        role: Role::App,
        sqlite: sqlite.clone(),
        config: c.app(),
        settings: settings.clone(),
        policy: ProblemPolicy::Abort,
    });
    loop {
        match next_event(&rx, &mut runner, 2) {
            JobEvent::CopyProgress(p) if p.stage == Stage::Loading => {
                runner.run(Effect::Cancel { job: 2 });
            }
            JobEvent::CopyProgress(_) => {}
            JobEvent::Cancelled => break,
            JobEvent::Recorded(_) => {}
            JobEvent::CopyFinished(_) => break, // finished before the cancel landed
            other => panic!("unexpected {other:?}"),
        }
    }

    runner.run(Effect::Copy {
        job: 3,
        role: Role::App,
        sqlite,
        config: c.app(),
        settings: settings.clone(),
        policy: ProblemPolicy::Abort,
    });
    let mut stages: Vec<Stage> = Vec::new();
    let mut last = None;
    let report = loop {
        match next_event(&rx, &mut runner, 3) {
            JobEvent::CopyProgress(p) => {
                stages.push(p.stage);
                last = Some(p);
            }
            JobEvent::CopyFinished(r) => break r,
            // What a later resume checks (the copy's moment).
            JobEvent::Recorded(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    };
    assert!(report.all_verified(), "{report:?}");
    // The load's last offer (stage done) came with nothing after it: the driver still
    // read it, before the job's end.
    assert_eq!(stages.last(), Some(&Stage::Done), "{stages:?}");
    // A reader sees the newest value only, so a short stage (this resumed load, after the
    // cancel) may pass between two reads; what it does see never goes backwards.
    let order: Vec<usize> = stages.iter().map(|s| *s as usize).collect();
    assert!(order.windows(2).all(|w| w[0] <= w[1]), "{stages:?}");
    let last = last.expect("progress was read");
    assert_eq!(last.rows_done(), last.rows_total(), "{last:?}");
    let source: u64 = report.checks.iter().map(|c| c.source_rows).sum();
    assert_eq!(
        last.rows_total(),
        source,
        "every source row is counted: {last:?}"
    );
    // The copy ended: its slot gives nothing more.
    assert!(runner.take_progress().is_empty());
}
