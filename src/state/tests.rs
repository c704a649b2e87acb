//! Transition tests: pure, no IO, one per rule of the state machine.

use super::*;
mod cutover_tests;
mod embeddings_tests;
mod given_tests;
mod parts_tests;
mod provider_tests;
mod resume_tests;
use crate::data::copy::{CopyReport, PreflightReport, Problem, ProblemPolicy, TableCheck};
use crate::data::django::{DatabaseInfo, Discovery, Method, SqliteSummary};
use crate::data::pg::{ConnConfig, ServerInfo, SslMode};
use std::path::PathBuf;

fn run() -> Migration {
    Migration::new(RunOptions {
        project: PathBuf::from("/p"),
        ..RunOptions::default()
    })
}

fn discovery() -> Discovery {
    Discovery {
        project_dir: "/p".into(),
        manage_py: "/p/manage.py".into(),
        python: Some("/p/.venv/bin/python".into()),
        python_source: "PATH".into(),
        method: Method::Introspected,
        django_version: Some("5.2".into()),
        settings_module: Some("aiproto.settings".into()),
        database: DatabaseInfo {
            engine: "django.db.backends.sqlite3".into(),
            name: Some("/p/db.sqlite3".into()),
        },
        use_tz: Some(true),
        time_zone: Some("UTC".into()),
        postgres_driver: None,
        apps: vec![],
        sqlite: Some(SqliteSummary {
            path: "/p/db.sqlite3".into(),
            size_bytes: 1,
            tables: vec![("a".into(), 3)],
        }),
        warnings: vec![],
    }
}

fn target() -> ConnConfig {
    ConnConfig {
        host: "h".into(),
        port: 25060,
        dbname: "appdb".into(),
        user: "app".into(),
        sslmode: SslMode::Require,
        sslrootcert: None,
        ..ConnConfig::default()
    }
}

fn server() -> ServerInfo {
    ServerInfo {
        version: "15".into(),
        version_num: 150000,
        tls: true,
        user: "app".into(),
        database: "db".into(),
        database_owner: "doadmin".into(),
        is_superuser: false,
        schema_usage: true,
        schema_create: true,
        tables: vec![],
        provider: None,
        timeouts: vec![],
    }
}

/// Start the step on screen and return its job id.
fn started(m: &mut Migration) -> JobId {
    let fx = update(m, Msg::Activate);
    assert!(fx.contains(&Effect::Save), "{fx:?}");
    m.job.expect("a job").0
}

/// A run whose Discover is done.
fn discovered() -> Migration {
    let mut m = run();
    let id = started(&mut m);
    update(
        &mut m,
        Msg::Job(id, JobEvent::Discovered(Box::new(discovery()))),
    );
    // The steps between Discover and Connect, as if they passed.
    for step in [Step::Backup, Step::ResetMigrations, Step::DryRun] {
        {
            m.step_mut(step).status = Status::Done {
                summary: "passed".into(),
            };
        }
    }
    m
}

/// `at_copy`'s steps between Connect and Copy rows, as if they passed.
fn schema_ready(m: &mut Migration) {
    for step in [Step::FixPermissions, Step::CreateSchema] {
        m.step_mut(step).status = Status::Done {
            summary: "passed".into(),
        };
    }
}

/// A run that discovered and connected, looking at Copy rows.
fn at_copy() -> Migration {
    let mut m = discovered();
    update(&mut m, Msg::Select(Step::Connect));
    update(&mut m, Msg::SubmitConnection(target()));
    let id = m.job.unwrap().0;
    update(
        &mut m,
        Msg::Job(id, JobEvent::Connected(Box::new(server()))),
    );
    schema_ready(&mut m);
    update(&mut m, Msg::Select(Step::CopyRows));
    m
}

#[test]
fn new_run_marks_unbuilt_steps_honestly() {
    let m = run();
    assert_eq!(m.status(Step::Discover), &Status::Pending);
    for step in Step::ALL {
        assert_eq!(m.status(step), &Status::Pending);
    }
    assert_eq!(m.frontier(), Step::Discover);
}

#[test]
fn activate_on_pending_discover_starts_it() {
    let mut m = run();
    let fx = update(&mut m, Msg::Activate);
    assert!(matches!(fx[0], Effect::Discover { job: 1, .. }));
    assert!(m.status(Step::Discover).is_running());
    assert_eq!(m.step(Step::Discover).attempts, 1);
}

#[test]
fn activate_while_a_job_runs_does_nothing() {
    let mut m = run();
    started(&mut m);
    assert!(update(&mut m, Msg::Activate).is_empty());
}

#[test]
fn discovered_marks_done_and_keeps_the_cursor() {
    let mut m = run();
    let id = started(&mut m);
    let fx = update(
        &mut m,
        Msg::Job(id, JobEvent::Discovered(Box::new(discovery()))),
    );
    assert_eq!(fx, vec![Effect::Save]);
    assert!(
        matches!(m.status(Step::Discover), Status::Done { summary } if summary.contains("1 table, 3 rows"))
    );
    assert_eq!(m.cursor, Step::Discover);
    assert!(m.job.is_none());
}

#[test]
fn activate_on_done_step_moves_on_without_rerunning() {
    let mut m = discovered();
    let fx = update(&mut m, Msg::Activate);
    assert_eq!(fx, vec![Effect::Save]);
    assert_eq!(m.cursor, Step::Backup);
    assert_eq!(m.step(Step::Discover).attempts, 1);
}

#[test]
fn stale_job_events_are_dropped() {
    let mut m = run();
    let id = started(&mut m);
    update(&mut m, Msg::Job(id, JobEvent::Failed("boom".into())));
    let retry = {
        update(&mut m, Msg::Retry);
        m.job.unwrap().0
    };
    assert_ne!(retry, id);
    let fx = update(
        &mut m,
        Msg::Job(id, JobEvent::Discovered(Box::new(discovery()))),
    );
    assert!(fx.is_empty());
    assert!(m.status(Step::Discover).is_running());
}

#[test]
fn failed_step_can_be_retried() {
    let mut m = run();
    let id = started(&mut m);
    update(
        &mut m,
        Msg::Job(id, JobEvent::Failed("no manage.py".into())),
    );
    assert!(
        matches!(m.status(Step::Discover), Status::Failed { message } if message == "no manage.py")
    );
    let fx = update(&mut m, Msg::Retry);
    assert!(matches!(fx[0], Effect::Discover { .. }));
    assert_eq!(m.step(Step::Discover).attempts, 2);
}

#[test]
fn retry_only_applies_to_failed_steps() {
    let mut m = run();
    assert!(update(&mut m, Msg::Retry).is_empty());
}

#[test]
fn looking_at_a_step_never_runs_it() {
    let mut m = run();
    let fx = update(&mut m, Msg::Select(Step::CopyRows));
    assert_eq!(fx, vec![Effect::Save]);
    assert_eq!(m.status(Step::CopyRows), &Status::Pending);
    update(&mut m, Msg::Prev);
    update(&mut m, Msg::Next);
    assert!(m.job.is_none());
}

#[test]
fn a_step_does_not_start_before_earlier_ones_finish() {
    let mut m = run();
    update(&mut m, Msg::Select(Step::CopyRows));
    assert!(update(&mut m, Msg::Activate).is_empty());
    assert_eq!(m.status(Step::CopyRows), &Status::Pending);
}

#[test]
fn skip_only_where_the_design_allows_it() {
    let mut m = run();
    assert!(
        update(&mut m, Msg::Skip).is_empty(),
        "Discover cannot be skipped"
    );
    let mut m = at_copy();
    assert!(
        update(&mut m, Msg::Skip).is_empty(),
        "Copy rows cannot be skipped"
    );
    update(&mut m, Msg::Select(Step::Backup));
    assert!(
        update(&mut m, Msg::Skip).is_empty(),
        "Backup cannot be skipped"
    );
}

#[test]
fn skip_a_skippable_step() {
    let mut m = run();
    m.step_mut(Step::DryRun).status = Status::Pending;
    m.cursor = Step::DryRun;
    let fx = update(&mut m, Msg::Skip);
    assert_eq!(fx, vec![Effect::Save]);
    assert!(matches!(m.status(Step::DryRun), Status::Skipped { .. }));
    assert_eq!(m.cursor, Step::Connect);
}

#[test]
fn connect_submission_starts_connect_without_a_password_in_state() {
    let mut m = discovered();
    update(&mut m, Msg::Select(Step::Connect));
    let fx = update(&mut m, Msg::SubmitConnection(target()));
    assert!(matches!(&fx[0], Effect::Connect { config, .. } if config.port == 25060));
    let json = serde_json::to_string(&m).unwrap();
    assert!(!json.to_lowercase().contains("password"), "{json}");
}

#[test]
fn connect_failure_keeps_the_target_for_a_retry() {
    let mut m = discovered();
    update(&mut m, Msg::Select(Step::Connect));
    update(&mut m, Msg::SubmitConnection(target()));
    let id = m.job.unwrap().0;
    update(
        &mut m,
        Msg::Job(
            id,
            JobEvent::ConnectFailed(crate::data::pg::ConnectError {
                field: crate::data::pg::Field::Password,
                message: "bad password".into(),
            }),
        ),
    );
    assert_eq!(m.connect.field, Some(crate::data::pg::Field::Password));
    let fx = update(&mut m, Msg::Retry);
    assert!(matches!(&fx[0], Effect::Connect { config, .. } if *config == target()));
}

#[test]
fn copy_starts_with_a_preflight_then_loads_when_clean() {
    let mut m = at_copy();
    let fx = update(&mut m, Msg::Activate);
    assert!(
        matches!(&fx[0], Effect::Preflight { sqlite, .. } if sqlite == &PathBuf::from("/p/db.sqlite3"))
    );
    let id = m.job.unwrap().0;
    let fx = update(&mut m, Msg::Job(id, JobEvent::Preflight(Box::default())));
    assert!(
        matches!(
            &fx[0],
            Effect::Copy {
                policy: ProblemPolicy::Abort,
                ..
            }
        ),
        "{fx:?}"
    );
    assert!(m.status(Step::CopyRows).is_running());
}

#[test]
fn preflight_problems_ask_and_abort_is_the_first_choice() {
    let mut m = at_copy();
    update(&mut m, Msg::Activate);
    let id = m.job.unwrap().0;
    let report = PreflightReport {
        problems: vec![Problem {
            table: "t".into(),
            pk: "7".into(),
            column: "name".into(),
            issue: "text longer than varchar(100)".into(),
            excerpt: "aaaa…".into(),
            fix: Some("truncate to 100".into()),
        }],
        ..PreflightReport::default()
    };
    update(&mut m, Msg::Job(id, JobEvent::Preflight(Box::new(report))));
    let Status::NeedsDecision {
        choices, question, ..
    } = m.status(Step::CopyRows)
    else {
        panic!("expected a decision, got {:?}", m.status(Step::CopyRows));
    };
    assert!(question.contains("1 value"));
    assert_eq!(choices[0].id, ChoiceId::Abort);
    assert!(m.job.is_none());
    update(&mut m, Msg::Decide(ChoiceId::Abort));
    // An abort is the user's choice: stopped, not failed.
    assert!(matches!(m.status(Step::CopyRows), Status::Stopped { .. }));
}

#[test]
fn choosing_skip_rows_starts_the_copy_with_that_policy() {
    let mut m = at_copy();
    update(&mut m, Msg::Activate);
    let id = m.job.unwrap().0;
    let report = PreflightReport {
        problems: vec![Problem {
            table: "t".into(),
            pk: "1".into(),
            column: "c".into(),
            issue: "NUL byte".into(),
            excerpt: "a\\0b".into(),
            fix: None,
        }],
        ..PreflightReport::default()
    };
    update(&mut m, Msg::Job(id, JobEvent::Preflight(Box::new(report))));
    // A choice of another question is not an answer to this one.
    assert!(update(&mut m, Msg::Decide(ChoiceId::EmptyAndLoad)).is_empty());
    let fx = update(&mut m, Msg::Decide(ChoiceId::SkipRows));
    assert!(matches!(
        &fx[0],
        Effect::Copy {
            policy: ProblemPolicy::SkipRows,
            ..
        }
    ));
}

#[test]
fn nonempty_target_asks_before_truncating() {
    let mut m = at_copy();
    update(&mut m, Msg::Activate);
    let id = m.job.unwrap().0;
    let report = PreflightReport {
        nonempty_targets: vec![("django_content_type".into(), 30)],
        ..PreflightReport::default()
    };
    let fx = update(&mut m, Msg::Job(id, JobEvent::Preflight(Box::new(report))));
    assert_eq!(fx, vec![Effect::Save]);
    let fx = update(&mut m, Msg::Decide(ChoiceId::EmptyAndLoad));
    assert!(matches!(&fx[0], Effect::Copy { .. }));
}

/// Finding 3 of the hardening issue: choosing skip (or fix) for bad values used to start
/// the copy at once, emptying target tables that hold rows without asking.
#[test]
fn skipping_bad_rows_still_asks_before_emptying_nonempty_targets() {
    let mut m = at_copy();
    update(&mut m, Msg::Activate);
    let id = m.job.unwrap().0;
    let report = PreflightReport {
        problems: vec![Problem {
            table: "t".into(),
            pk: "1".into(),
            column: "c".into(),
            issue: "NUL byte".into(),
            excerpt: "a\\0b".into(),
            fix: None,
        }],
        nonempty_targets: vec![("classifier_label".into(), 4)],
        ..PreflightReport::default()
    };
    update(&mut m, Msg::Job(id, JobEvent::Preflight(Box::new(report))));
    for policy in [ChoiceId::SkipRows, ChoiceId::Fix] {
        let mut m = m.clone();
        let fx = update(&mut m, Msg::Decide(policy));
        assert!(
            !fx.iter().any(|e| matches!(e, Effect::Copy { .. })),
            "{policy:?} started the copy unasked: {fx:?}"
        );
        let Status::NeedsDecision { kind, question, .. } = m.status(Step::CopyRows) else {
            panic!(
                "expected the non-empty question, got {:?}",
                m.status(Step::CopyRows)
            );
        };
        assert_eq!(*kind, Question::NonEmptyTargets);
        assert!(question.contains("4 row(s)"), "{question}");
        // Abort at the second question writes nothing and says why.
        let mut aborted = m.clone();
        let fx = update(&mut aborted, Msg::Decide(ChoiceId::Abort));
        assert!(!fx.iter().any(|e| matches!(e, Effect::Copy { .. })));
        assert!(
            matches!(aborted.status(Step::CopyRows), Status::Stopped { message } if message.contains("classifier_label (4)"))
        );
        let fx = update(&mut m, Msg::Decide(ChoiceId::EmptyAndLoad));
        let want = if policy == ChoiceId::Fix {
            ProblemPolicy::Fix
        } else {
            ProblemPolicy::SkipRows
        };
        assert!(
            matches!(&fx[0], Effect::Copy { policy, .. } if *policy == want),
            "{fx:?}"
        );
        assert_eq!(m.copy.answers.nonempty_targets, Some(true));
    }
}

#[test]
fn pause_and_cancel_reach_the_copy_job() {
    let mut m = at_copy();
    update(&mut m, Msg::Activate);
    let id = m.job.unwrap().0;
    update(&mut m, Msg::Job(id, JobEvent::Preflight(Box::default())));
    let copy = m.job.unwrap().0;
    assert_eq!(
        update(&mut m, Msg::TogglePause),
        vec![Effect::Pause {
            job: copy,
            paused: true
        }]
    );
    assert!(m.copy.paused);
    assert_eq!(
        update(&mut m, Msg::Cancel),
        vec![Effect::Cancel { job: copy }]
    );
    update(&mut m, Msg::Job(copy, JobEvent::Cancelled));
    assert!(
        matches!(m.status(Step::CopyRows), Status::Stopped { message } if message.contains("resume"))
    );
    assert!(!m.copy.paused);
}

#[test]
fn copy_done_only_when_verified() {
    let mut m = at_copy();
    update(&mut m, Msg::Activate);
    let id = m.job.unwrap().0;
    update(&mut m, Msg::Job(id, JobEvent::Preflight(Box::default())));
    let copy = m.job.unwrap().0;
    let report = CopyReport {
        checks: vec![TableCheck {
            table: "a".into(),
            source_rows: 3,
            target_rows: 2,
            checksum_match: false,
            rejected_rows: 0,
            left_behind: Vec::new(),
            target: String::new(),
        }],
        ..CopyReport::default()
    };
    update(
        &mut m,
        Msg::Job(copy, JobEvent::CopyFinished(Box::new(report))),
    );
    assert!(
        matches!(m.status(Step::CopyRows), Status::Failed { message } if message.contains("do not match"))
    );
}

#[test]
fn quit_cancels_the_job_saves_and_quits() {
    let mut m = run();
    let id = started(&mut m);
    let fx = update(&mut m, Msg::Quit);
    assert_eq!(
        fx,
        vec![Effect::Cancel { job: id }, Effect::Save, Effect::Quit]
    );
}

#[test]
fn resume_offer_blocks_other_messages_until_answered() {
    let mut m = run();
    m.resume_offer = Some(ResumeOffer {
        step: Step::Connect,
        saved_at: "now".into(),
    });
    assert!(update(&mut m, Msg::Activate).is_empty());
    update(&mut m, Msg::Resume(true));
    assert_eq!(m.cursor, Step::Connect);
    assert!(m.resume_offer.is_none());
}

#[test]
fn start_over_resets_the_run() {
    let mut m = discovered();
    m.resume_offer = Some(ResumeOffer {
        step: Step::Backup,
        saved_at: "now".into(),
    });
    update(&mut m, Msg::Resume(false));
    assert_eq!(m.status(Step::Discover), &Status::Pending);
    assert!(m.discovery.is_none());
}

#[test]
fn interrupted_running_step_becomes_retryable_at_the_same_step() {
    let mut m = at_copy();
    update(&mut m, Msg::Activate);
    m.cursor = Step::Discover;
    update(
        &mut m,
        Msg::Interrupted {
            saved_at: "now".into(),
        },
    );
    assert_eq!(m.cursor, Step::CopyRows);
    assert!(m.job.is_none());
    assert!(
        matches!(m.status(Step::CopyRows), Status::Stopped { message } if message.contains("Interrupted"))
    );
    // The resume is offered at the interrupted step; once taken, the step can be retried.
    assert_eq!(m.resume_offer.take().map(|o| o.step), Some(Step::CopyRows));
    let fx = update(&mut m, Msg::Retry);
    assert!(matches!(fx[0], Effect::Preflight { .. }));
}

#[test]
fn done_step_summarises_honestly() {
    let mut m = at_copy();
    for s in Step::ALL {
        if m.status(s) == &Status::Pending && s != Step::Done {
            m.step_mut(s).status = Status::Done {
                summary: "x".into(),
            };
        }
    }
    update(&mut m, Msg::Select(Step::Done));
    let fx = update(&mut m, Msg::Activate);
    let Effect::WriteReport { job, dir, report } = &fx[0] else {
        panic!("{fx:?}")
    };
    assert_eq!(
        dir,
        &PathBuf::from("/p/.dj2pg"),
        "no backup: the project's .dj2pg"
    );
    assert_eq!(report.steps.len(), Step::ALL.len() - 1);
    assert!(report.markdown().contains("# dj2pg report"));
    let files = vec![dir.join("report.md"), dir.join("report.json")];
    update(
        &mut m,
        Msg::Job(*job, JobEvent::ReportWritten(files.clone())),
    );
    assert!(
        matches!(m.status(Step::Done), Status::Done { summary } if summary.contains("/p/.dj2pg"))
    );
    assert_eq!(m.done.report_files, files);
    assert!(m.finished());
}

#[test]
fn copy_settings_follow_the_projects_time_zone_rules_and_options() {
    let mut m = at_copy();
    m.options.jobs = 3;
    m.options.rejects_dir = Some("/tmp/rejects".into());
    m.options.bulk_min_rows = Some(50);
    if let Some(d) = m.discovery.as_mut() {
        d.use_tz = Some(false);
        d.time_zone = Some("Europe/Berlin".into());
    }
    let fx = update(&mut m, Msg::Activate);
    let Effect::Preflight { settings, .. } = &fx[0] else {
        panic!("{fx:?}")
    };
    assert!(!settings.use_tz);
    assert_eq!(settings.time_zone, "Europe/Berlin");
    assert_eq!(settings.jobs, 3);
    assert_eq!(settings.bulk_min_rows, 50);
    assert_eq!(
        settings.rejects.as_deref(),
        Some(std::path::Path::new("/tmp/rejects"))
    );
}

#[test]
fn a_run_saved_before_bulk_min_rows_existed_still_loads() {
    let mut json = serde_json::to_value(run()).unwrap();
    json["options"]
        .as_object_mut()
        .unwrap()
        .remove("bulk_min_rows");
    let m: Migration = serde_json::from_value(json).unwrap();
    assert_eq!(m.options.bulk_min_rows, None);
    assert_eq!(m.copy_settings().bulk_min_rows, 10_000);
}

mod schema_steps {
    //! Dry run, Fix permissions and Create schema, as transitions.
    use super::*;
    use crate::data::commands::{
        CommandOutcome, CommandStatus, CreateSchemaReport, DriverCheck, MigrateFailure,
    };
    use crate::data::privileges::{ApplyReport, Recheck, RecipeId, RecipeOptions};
    use crate::pg::privileges::{self, tests as fx};

    fn at(step: Step) -> Migration {
        let mut m = at_copy();
        // The embeddings question (tests/embeddings_tests.rs) is answered.
        m.embeddings.choice = Some(crate::data::embeddings::EmbeddingsChoice::Keep);
        for s in Step::ALL {
            if s >= step {
                m.step_mut(s).status = Status::Pending;
            }
        }
        update(&mut m, Msg::Select(step));
        m
    }

    fn outcome(ok: bool) -> CommandOutcome {
        CommandOutcome {
            display: "python manage.py migrate".into(),
            status: if ok {
                CommandStatus::Succeeded
            } else {
                CommandStatus::Failed { exit_code: Some(1) }
            },
            lines: vec!["Applying classifier.0001_initial... OK".into()],
            omitted_lines: 0,
            duration_ms: 10,
        }
    }

    fn driver(present: bool) -> DriverCheck {
        DriverCheck {
            python: "/p/bin/python".into(),
            driver: present.then(|| ("psycopg".into(), "3.2".into())),
            import_error: None,
            in_virtualenv: true,
            install_command: (!present).then(|| {
                vec![
                    "/p/bin/python".into(),
                    "-m".into(),
                    "pip".into(),
                    "install".into(),
                    "psycopg[binary]".into(),
                ]
            }),
        }
    }

    #[test]
    fn a_missing_schema_privilege_asks_and_without_an_admin_offers_the_dba_sql() {
        let mut m = at(Step::FixPermissions);
        let fx1 = update(&mut m, Msg::Activate);
        let Effect::Diagnose {
            job, admin, app, ..
        } = &fx1[0]
        else {
            panic!("{fx1:?}")
        };
        assert!(admin.is_none());
        assert_eq!(app.dbname, "appdb", "diagnosed in the app's own database");
        let d = fx::diagnosis(fx::app(), None);
        let recipes = privileges::recipes(&d, &RecipeOptions::default());
        update(
            &mut m,
            Msg::Job(*job, JobEvent::Diagnosed(Box::new(d), recipes)),
        );
        let Status::NeedsDecision {
            kind,
            choices,
            question,
        } = m.status(Step::FixPermissions)
        else {
            panic!("{:?}", m.status(Step::FixPermissions))
        };
        assert_eq!(*kind, Question::PermissionFix);
        assert!(question.contains("Log in as the admin"), "{question}");
        let ids: Vec<ChoiceId> = choices.iter().map(|c| c.id).collect();
        assert_eq!(
            ids,
            [ChoiceId::SaveSql, ChoiceId::Recheck],
            "no recipe runs without the admin"
        );
        let out = update(&mut m, Msg::Decide(ChoiceId::SaveSql));
        assert!(
            matches!(&out[0], Effect::SaveDbaScript { path, .. } if path.ends_with(".dj2pg/fix-permissions.sql"))
        );
    }

    #[test]
    fn with_the_admin_the_recommended_recipe_runs_and_only_an_effective_fix_is_done() {
        let mut m = at(Step::FixPermissions);
        m.permissions.admin = Some(ConnConfig {
            user: "doadmin".into(),
            dbname: "defaultdb".into(),
            ..target()
        });
        let out = update(&mut m, Msg::Activate);
        let Effect::Diagnose { job, admin, .. } = &out[0] else {
            panic!("{out:?}")
        };
        assert!(admin.is_some());
        let d = fx::diagnosis(fx::app(), Some(fx::doadmin(true)));
        let recipes = privileges::recipes(&d, &RecipeOptions::default());
        update(
            &mut m,
            Msg::Job(*job, JobEvent::Diagnosed(Box::new(d), recipes)),
        );
        let Status::NeedsDecision { choices, .. } = m.status(Step::FixPermissions).clone() else {
            panic!()
        };
        assert_eq!(choices[0].id, ChoiceId::Recipe(RecipeId::GrantSchema));
        assert_eq!(choices[0].key, '1');
        // On 16+ rules, D (make owner) is predicted unavailable and not offered.
        assert!(
            !choices
                .iter()
                .any(|c| c.id == ChoiceId::Recipe(RecipeId::MakeOwner))
        );
        let out = update(&mut m, Msg::Decide(ChoiceId::Recipe(RecipeId::GrantSchema)));
        let Effect::ApplyRecipe { job, recipe, .. } = &out[0] else {
            panic!("{out:?}")
        };
        assert_eq!(recipe.id, RecipeId::GrantSchema);
        let report = |effective| ApplyReport {
            recipe: RecipeId::GrantSchema,
            sql: recipe.sql.clone(),
            ran_in: "defaultdb".into(),
            recheck: Recheck {
                goal: recipe.goal.clone(),
                database: "appdb".into(),
                checks: vec![],
                effective,
            },
        };
        let mut twin = m.clone();
        update(
            &mut twin,
            Msg::Job(*job, JobEvent::Applied(Box::new(report(false)))),
        );
        assert!(
            matches!(twin.status(Step::FixPermissions), Status::Failed { message } if message.contains("changed nothing")),
            "a grant that reports success but changes nothing is not done"
        );
        update(
            &mut m,
            Msg::Job(*job, JobEvent::Applied(Box::new(report(true)))),
        );
        assert!(matches!(
            m.status(Step::FixPermissions),
            Status::Done { .. }
        ));
        assert_eq!(m.table_owner().map(|(_, r)| r), Some(Role::App));
    }

    #[test]
    fn recipe_c_makes_the_admin_run_migrate_and_the_copy_in_the_app_database() {
        let mut m = at(Step::CreateSchema);
        m.permissions.admin = Some(ConnConfig {
            user: "doadmin".into(),
            dbname: "defaultdb".into(),
            ..target()
        });
        let d = fx::diagnosis(fx::app(), Some(fx::doadmin(true)));
        m.permissions.recipes = privileges::recipes(&d, &RecipeOptions::default());
        let c = m
            .permissions
            .recipes
            .iter()
            .find(|r| r.id == RecipeId::RuntimeRole)
            .unwrap()
            .clone();
        m.permissions.applied = Some(ApplyReport {
            recipe: c.id,
            sql: c.sql.clone(),
            ran_in: "appdb".into(),
            recheck: Recheck {
                goal: c.goal.clone(),
                database: "appdb".into(),
                checks: vec![],
                effective: true,
            },
        });
        let out = update(&mut m, Msg::Activate);
        let Effect::CreateSchema { input, role, .. } = &out[0] else {
            panic!("{out:?}")
        };
        assert_eq!(*role, Role::Admin);
        assert_eq!(input.target.user, "doadmin");
        assert_eq!(input.target.dbname, "appdb", "not the admin's defaultdb");
    }

    #[test]
    fn migrate_denied_on_the_schema_reopens_fix_permissions() {
        let mut m = at(Step::CreateSchema);
        m.step_mut(Step::FixPermissions).status = Status::Skipped {
            reason: "skipped".into(),
        };
        let out = update(&mut m, Msg::Activate);
        let Effect::CreateSchema { job, role, .. } = &out[0] else {
            panic!("{out:?}")
        };
        assert_eq!(*role, Role::App);
        let report = CreateSchemaReport {
            driver: driver(true),
            migrate: Some(outcome(false)),
            failure: Some(MigrateFailure::SchemaPermission {
                schema: Some("public".into()),
            }),
            warnings: vec![],
            names: None,
        };
        update(
            &mut m,
            Msg::Job(*job, JobEvent::SchemaCreated(Box::new(report))),
        );
        assert!(
            matches!(m.status(Step::CreateSchema), Status::Failed { message } if message.contains("Fix permissions"))
        );
        assert_eq!(m.status(Step::FixPermissions), &Status::Pending);
        assert!(
            !m.may_start(Step::CreateSchema),
            "migrate waits for the fix"
        );
    }

    #[test]
    fn a_missing_driver_is_offered_and_installed_then_migrate_runs_again() {
        let mut m = at(Step::CreateSchema);
        let out = update(&mut m, Msg::Activate);
        let Effect::CreateSchema { job, .. } = &out[0] else {
            panic!("{out:?}")
        };
        let report = CreateSchemaReport {
            driver: driver(false),
            migrate: None,
            failure: Some(MigrateFailure::DriverMissing),
            warnings: vec![],
            names: None,
        };
        update(
            &mut m,
            Msg::Job(*job, JobEvent::SchemaCreated(Box::new(report))),
        );
        let Status::NeedsDecision { kind, question, .. } = m.status(Step::CreateSchema) else {
            panic!()
        };
        assert_eq!(*kind, Question::InstallDriver);
        assert!(question.contains("pip install"), "{question}");
        let out = update(&mut m, Msg::Decide(ChoiceId::InstallDriver));
        let Effect::InstallDriver { job, .. } = &out[0] else {
            panic!("{out:?}")
        };
        let installed = crate::data::commands::DriverInstall {
            run: outcome(true),
            after: driver(true),
        };
        let out = update(
            &mut m,
            Msg::Job(*job, JobEvent::DriverInstalled(Box::new(installed))),
        );
        assert!(matches!(&out[0], Effect::CreateSchema { .. }), "{out:?}");
    }

    #[test]
    fn a_dry_run_whose_migrate_fails_is_a_retryable_failure() {
        let mut m = discovered();
        m.step_mut(Step::DryRun).status = Status::Pending;
        update(&mut m, Msg::Select(Step::DryRun));
        let out = update(&mut m, Msg::Activate);
        let Effect::DryRun { job, input } = &out[0] else {
            panic!("{out:?}")
        };
        assert_eq!(input.settings_module, "aiproto.settings");
        let report = crate::data::commands::DryRunReport {
            makemigrations: outcome(true),
            drifted_apps: vec![],
            migrate: Some(outcome(false)),
            schema: None,
            schema_error: None,
        };
        update(
            &mut m,
            Msg::Job(*job, JobEvent::DryRunFinished(Box::new(report))),
        );
        assert!(
            matches!(m.status(Step::DryRun), Status::Failed { message } if message.contains("not touched"))
        );
        assert!(matches!(
            update(&mut m, Msg::Retry)[0],
            Effect::DryRun { .. }
        ));
    }
}

/// Editing the connection after later steps ran: they were about the old target, so they
/// are pending again and what they learnt is forgotten (the backup and dry run stay).
#[test]
fn another_target_reopens_the_steps_after_connect() {
    let mut m = at_copy();
    m.step_mut(Step::CopyRows).status = Status::Done {
        summary: "copied".into(),
    };
    m.permissions.admin = Some(target());
    update(&mut m, Msg::Select(Step::Connect));
    let mut other = target();
    other.host = "db-other.ondigitalocean.com".into();
    let fx = update(&mut m, Msg::SubmitConnection(other.clone()));
    assert!(matches!(&fx[0], Effect::Connect { config, .. } if *config == other));
    for step in [Step::FixPermissions, Step::CreateSchema, Step::CopyRows] {
        assert_eq!(m.status(step), &Status::Pending, "{step:?}");
    }
    assert!(matches!(m.status(Step::DryRun), Status::Done { .. }));
    assert!(m.permissions.admin.is_none() && m.copy.report.is_none());
    // The same target again (a retry) keeps everything.
    let mut m = at_copy();
    m.step_mut(Step::CopyRows).status = Status::Done {
        summary: "copied".into(),
    };
    update(&mut m, Msg::Select(Step::Connect));
    update(&mut m, Msg::SubmitConnection(target()));
    assert!(matches!(m.status(Step::CopyRows), Status::Done { .. }));
}
