//! The runner's Preflight and Copy effects on worker threads: the events the state machine
//! gets, progress throttled to at most ten messages a second, and Cancel reported as
//! `Cancelled` (then a resumed copy verifies).

mod common;

use common::*;
use dj2pg::copy::CopySettings;
use dj2pg::data::copy::{ProblemPolicy, Stage};
use dj2pg::runner::Runner;
use dj2pg::state::{Effect, JobEvent, Msg, Role};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn next_event(rx: &mpsc::Receiver<Msg>) -> (Instant, JobEvent) {
    match rx
        .recv_timeout(Duration::from_secs(300))
        .expect("a worker reports")
    {
        Msg::Job(_, e) => (Instant::now(), e),
        other => panic!("unexpected {other:?}"),
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
    let JobEvent::Preflight(report) = next_event(&rx).1 else {
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
        match next_event(&rx).1 {
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
    let mut times = Vec::new();
    let mut stages: Vec<Stage> = Vec::new();
    let report = loop {
        match next_event(&rx) {
            (t, JobEvent::CopyProgress(p)) => {
                // A new stage is sent at once; within a stage at most ~10 a second.
                if stages.last() == Some(&p.stage) {
                    times.push(t);
                }
                stages.push(p.stage);
            }
            (_, JobEvent::CopyFinished(r)) => break r,
            // What a later resume checks (the copy's moment).
            (_, JobEvent::Recorded(_)) => {}
            (_, other) => panic!("unexpected {other:?}"),
        }
    };
    assert!(report.all_verified(), "{report:?}");
    // At most ~10 progress messages a second (the last one may follow closely).
    if times.len() > 2 {
        let span = times[times.len() - 2]
            .duration_since(times[0])
            .as_secs_f64();
        assert!(
            (times.len() - 2) as f64 <= span * 10.0 + 1.0,
            "{} in {span}s",
            times.len()
        );
    }
}
