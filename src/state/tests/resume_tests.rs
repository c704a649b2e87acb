//! A resume checks before it trusts: which steps reopen for what the check saw, and what
//! becomes of flags that differ from the saved run. Pure: the observations are made up.

use super::*;
use crate::data::backup::{
    BackupOutcome, BackupReport, GitState, MigrationsArchive, MovedFile, ResetReport, SqliteBackup,
};
use crate::data::commands::{CommandOutcome, CommandStatus, MakeMigrationsReport};
use crate::data::resume::{BackupSeen, FileStamp, Observed, Seen, TargetIdentity, TargetSeen};
use crate::state::resume::{FlagOutcome, Flags, Witness, apply_flags, dependents};

/// The copied table as the copy names it on PostgreSQL.
const A: &str = r#""public"."a""#;

fn stamp(inode: u64) -> FileStamp {
    FileStamp {
        size: 100,
        modified_ns: Some(1),
        created_ns: Some(1),
        inode: Some((1, inode)),
    }
}

fn identity(db_oid: u32) -> TargetIdentity {
    TargetIdentity {
        system_identifier: Some("7300000000000000001".into()),
        database: "appdb".into(),
        database_oid: db_oid,
        role: "app".into(),
        role_oid: 16390,
    }
}

const BACKUP: &str = "/p/.dj2pg/backups/20261201-135000";

/// A run done up to Copy rows (verified), saved, and offered for resuming at Update settings.
fn prepared() -> Migration {
    let mut m = at_copy();
    m.step_mut(Step::CopyRows).status = Status::Done {
        summary: "3 rows".into(),
    };
    m.backup.report = Some(BackupReport {
        outcome: BackupOutcome::Verified,
        backup_dir: BACKUP.into(),
        checklist: vec![],
        git: GitState::Clean,
        sqlite: Some(SqliteBackup {
            source: "/p/db.sqlite3".into(),
            file: "db.sqlite3".into(),
            size: 100,
            sha256: "abcdef".into(),
            integrity: "ok".into(),
            source_journal_mode: "delete".into(),
            source_wal_bytes: 0,
            tables: vec![],
        }),
        migrations: MigrationsArchive::default(),
        gitignore: None,
    });
    m.reset.report = Some(ResetReport {
        backup_dir: BACKUP.into(),
        moved: vec![MovedFile {
            app: "classifier".into(),
            original: "classifier/migrations/0001_initial.py".into(),
            archived: "reset/classifier/0001_initial.py".into(),
            sha256: "0ld".into(),
            size: 10,
        }],
        refused: vec![],
    });
    m.reset.regenerated = Some(MakeMigrationsReport {
        run: CommandOutcome {
            display: "python manage.py makemigrations".into(),
            status: CommandStatus::Succeeded,
            lines: vec![],
            omitted_lines: 0,
            duration_ms: 1,
        },
        created: vec!["/p/classifier/migrations/0001_initial.py".into()],
    });
    m.copy.report = Some(CopyReport {
        checks: vec![TableCheck {
            table: "a".into(),
            source_rows: 3,
            target_rows: 3,
            checksum_match: true,
            rejected_rows: 0,
            left_behind: Vec::new(),
            target: A.into(),
        }],
        ..CopyReport::default()
    });
    m.witness = Witness {
        sqlite: Some((stamp(7), "2026-12-01 13:50".into())),
        target: Some((identity(16384), "2026-12-01 13:55".into())),
        schema: Some((
            vec!["classifier.0001_initial".into()],
            "2026-12-01 14:00".into(),
        )),
        copied_at: Some("2026-12-01 14:02".into()),
    };
    m.cursor = Step::UpdateSettings;
    m.resume_offer = Some(ResumeOffer {
        step: Step::UpdateSettings,
        saved_at: "2026-12-01 14:03".into(),
    });
    m
}

/// What the check sees when nothing changed.
fn unchanged() -> Observed {
    Observed {
        manage_py: Some(true),
        sqlite: Some(Seen::Found(stamp(7))),
        backup: Some(BackupSeen {
            dir_exists: true,
            manifest: Seen::Found(Some((100, "abcdef".into()))),
            copy_size: Seen::Found(100),
        }),
        moved_back: vec![],
        regenerated_missing: vec![],
        target: Some(Ok(TargetSeen {
            identity: identity(16384),
            applied: Some(Ok(vec!["classifier.0001_initial".into()])),
            counts: vec![(A.into(), Ok(3))],
        })),
        password_given: true,
    }
}

/// Resume `m` and let the check report `seen`.
fn resume_with(m: &mut Migration, seen: Observed) {
    let fx = update(m, Msg::Resume(true));
    let job = fx
        .iter()
        .find_map(|e| match e {
            Effect::CheckResume { job, .. } => Some(*job),
            _ => None,
        })
        .expect("a resume check starts");
    update(m, Msg::Job(job, JobEvent::Checked(Box::new(seen))));
}

fn finding(m: &Migration, step: Step) -> &resume::Finding {
    m.resume_findings
        .iter()
        .find(|f| f.step == step)
        .unwrap_or_else(|| panic!("no finding for {step:?}: {:#?}", m.resume_findings))
}

fn pending(m: &Migration, steps: &[Step]) {
    for s in steps {
        assert_eq!(m.status(*s), &Status::Pending, "{s:?}");
    }
}

fn done(m: &Migration, steps: &[Step]) {
    for s in steps {
        assert!(
            matches!(m.status(*s), Status::Done { .. }),
            "{s:?}: {:?}",
            m.status(*s)
        );
    }
}

#[test]
fn the_dependents_of_a_step_are_the_steps_resting_on_it() {
    assert_eq!(
        dependents(Step::Connect),
        vec![
            Step::FixPermissions,
            Step::CreateSchema,
            Step::CopyRows,
            Step::Cutover,
            Step::UpdateSettings,
            Step::Done
        ]
    );
    let of_discover = dependents(Step::Discover);
    assert!(!of_discover.contains(&Step::Connect), "{of_discover:?}");
    assert!(of_discover.contains(&Step::CopyRows), "{of_discover:?}");
    assert_eq!(
        dependents(Step::CopyRows),
        vec![Step::Cutover, Step::Done],
        "only the sync of the copy's snapshot and the report rest on the copy"
    );
}

#[test]
fn resuming_checks_first_and_looks_only_at_what_done_steps_rest_on() {
    let mut m = prepared();
    let fx = update(&mut m, Msg::Resume(true));
    let Some(Effect::CheckResume { input, .. }) =
        fx.iter().find(|e| matches!(e, Effect::CheckResume { .. }))
    else {
        panic!("no check: {fx:?}");
    };
    assert_eq!(
        input.sqlite.as_deref(),
        Some(std::path::Path::new("/p/db.sqlite3"))
    );
    assert_eq!(
        input.backup_dir.as_deref(),
        Some(std::path::Path::new(BACKUP))
    );
    assert_eq!(input.moved.len(), 1);
    assert_eq!(input.target, Some(target()));
    assert!(input.schema);
    assert_eq!(input.tables, vec![A.to_string()]);
    // Nothing is started, and nothing changed, until the check reports.
    assert!(update(&mut m, Msg::Activate).is_empty());
    done(&m, &[Step::Discover, Step::CopyRows]);
}

#[test]
fn a_fresh_run_has_nothing_to_check() {
    let mut m = run();
    m.resume_offer = Some(ResumeOffer {
        step: Step::Discover,
        saved_at: "now".into(),
    });
    let fx = update(&mut m, Msg::Resume(true));
    assert!(!fx.iter().any(|e| matches!(e, Effect::CheckResume { .. })));
    assert!(m.job.is_none());
}

#[test]
fn nothing_changed_keeps_every_done_step_and_says_so() {
    let mut m = prepared();
    resume_with(&mut m, unchanged());
    done(
        &m,
        &[
            Step::Discover,
            Step::Backup,
            Step::ResetMigrations,
            Step::Connect,
            Step::CreateSchema,
            Step::CopyRows,
        ],
    );
    assert!(
        m.resume_findings.iter().all(|f| f.holds),
        "{:#?}",
        m.resume_findings
    );
    assert!(m.job.is_none() && m.resume_check.is_none());
    // The first step not done: Cutover, after the copy.
    assert_eq!(m.cursor, Step::Cutover);
}

#[test]
fn a_replaced_project_and_a_recreated_database_reopen_everything_with_reasons() {
    let mut m = prepared();
    let mut seen = unchanged();
    seen.sqlite = Some(Seen::Found(stamp(8)));
    seen.backup = Some(BackupSeen {
        dir_exists: false,
        manifest: Seen::Missing,
        copy_size: Seen::Missing,
    });
    seen.moved_back = vec!["classifier/migrations/0001_initial.py".into()];
    seen.target = Some(Ok(TargetSeen {
        identity: identity(16500),
        applied: Some(Err("relation \"django_migrations\" does not exist".into())),
        counts: vec![(A.into(), Err("relation \"a\" does not exist".into()))],
    }));
    resume_with(&mut m, seen);
    pending(
        &m,
        &[
            Step::Discover,
            Step::Backup,
            Step::ResetMigrations,
            Step::DryRun,
            Step::Connect,
            Step::FixPermissions,
            Step::CreateSchema,
            Step::CopyRows,
            Step::UpdateSettings,
        ],
    );
    assert!(finding(&m, Step::Discover).text.contains("another file"));
    assert!(
        finding(&m, Step::Backup)
            .text
            .contains(&format!("the backup folder {BACKUP} is gone"))
    );
    assert!(finding(&m, Step::ResetMigrations).text.contains("are back"));
    let connect = &finding(&m, Step::Connect).text;
    assert!(
        connect.contains(
            "the database appdb at h:25060 was recreated since the copy on 2026-12-01 14:02"
        ),
        "{connect}"
    );
    // The reason is in the step's log, for the wizard's screen.
    assert!(
        m.step(Step::Backup)
            .log
            .iter()
            .any(|l| l.contains("Reopened on resume") && l.contains("is gone"))
    );
    // What the reopened steps learnt is forgotten; the cursor goes back to the first one.
    assert!(m.backup.report.is_none() && m.copy.report.is_none() && m.connect.server.is_none());
    assert_eq!(m.cursor, Step::Discover);
    assert!(m.resume_findings.iter().all(|f| !f.holds));
}

#[test]
fn a_recreated_database_reopens_connect_and_what_rests_on_it_only() {
    let mut m = prepared();
    let mut seen = unchanged();
    seen.target = Some(Ok(TargetSeen {
        identity: identity(16500),
        applied: Some(Ok(vec![])),
        counts: vec![],
    }));
    resume_with(&mut m, seen);
    done(
        &m,
        &[
            Step::Discover,
            Step::Backup,
            Step::ResetMigrations,
            Step::DryRun,
        ],
    );
    pending(
        &m,
        &[
            Step::Connect,
            Step::FixPermissions,
            Step::CreateSchema,
            Step::CopyRows,
        ],
    );
    assert_eq!(m.cursor, Step::Connect);
    assert!(!finding(&m, Step::CopyRows).holds);
    // The target itself is kept: Connect runs again on it.
    assert_eq!(m.connect.target, Some(target()));
}

#[test]
fn another_server_at_the_same_address_is_named() {
    let mut m = prepared();
    let mut seen = unchanged();
    let mut other = identity(16384);
    other.system_identifier = Some("7399999999999999999".into());
    seen.target = Some(Ok(TargetSeen {
        identity: other,
        applied: Some(Ok(vec!["classifier.0001_initial".into()])),
        counts: vec![(A.into(), Ok(3))],
    }));
    resume_with(&mut m, seen);
    assert!(
        finding(&m, Step::Connect)
            .text
            .contains("another PostgreSQL server")
    );
    pending(&m, &[Step::Connect, Step::CopyRows]);
}

#[test]
fn without_the_system_identifier_the_oids_decide() {
    let mut m = prepared();
    let mut seen = unchanged();
    if let Some(Ok(t)) = &mut seen.target {
        // The role may not call pg_control_system() on this server.
        t.identity.system_identifier = None;
    }
    resume_with(&mut m, seen);
    done(&m, &[Step::Connect, Step::CreateSchema, Step::CopyRows]);
}

#[test]
fn a_target_that_cannot_be_checked_is_not_trusted_and_the_missing_password_is_named() {
    let mut m = prepared();
    let mut seen = unchanged();
    seen.target = Some(Err("password authentication failed for user \"app\"".into()));
    seen.password_given = false;
    resume_with(&mut m, seen);
    pending(&m, &[Step::Connect, Step::CreateSchema, Step::CopyRows]);
    done(&m, &[Step::Backup]);
    let text = &finding(&m, Step::Connect).text;
    assert!(
        text.contains("could not check") && text.contains("No password was given"),
        "{text}"
    );
}

#[test]
fn a_schema_without_its_migrations_reopens_create_schema_and_the_copy() {
    let mut m = prepared();
    let mut seen = unchanged();
    if let Some(Ok(t)) = &mut seen.target {
        t.applied = Some(Ok(vec![]));
    }
    resume_with(&mut m, seen);
    done(&m, &[Step::Connect, Step::FixPermissions]);
    pending(&m, &[Step::CreateSchema, Step::CopyRows]);
    assert!(finding(&m, Step::CreateSchema).text.contains("lacks 1"));
}

#[test]
fn changed_row_counts_reopen_the_copy_only() {
    let mut m = prepared();
    let mut seen = unchanged();
    if let Some(Ok(t)) = &mut seen.target {
        t.counts = vec![(A.into(), Ok(1))];
    }
    resume_with(&mut m, seen);
    done(&m, &[Step::CreateSchema]);
    pending(&m, &[Step::CopyRows]);
    let text = &finding(&m, Step::CopyRows).text;
    assert!(
        text.contains("a holds 1 row(s), the copy on 2026-12-01 14:02 left 3"),
        "{text}"
    );
}

#[test]
fn a_changed_backup_copy_reopens_backup_and_what_rests_on_it() {
    let mut m = prepared();
    let mut seen = unchanged();
    seen.backup = Some(BackupSeen {
        dir_exists: true,
        manifest: Seen::Found(Some((100, "abcdef".into()))),
        copy_size: Seen::Found(12),
    });
    resume_with(&mut m, seen);
    done(&m, &[Step::Discover, Step::Connect, Step::FixPermissions]);
    pending(
        &m,
        &[
            Step::Backup,
            Step::ResetMigrations,
            Step::DryRun,
            Step::CreateSchema,
        ],
    );
    assert!(finding(&m, Step::Backup).text.contains("has 12 bytes"));
}

#[test]
fn a_check_that_could_not_run_trusts_nothing() {
    let mut m = prepared();
    let fx = update(&mut m, Msg::Resume(true));
    let job = fx
        .iter()
        .find_map(|e| match e {
            Effect::CheckResume { job, .. } => Some(*job),
            _ => None,
        })
        .unwrap();
    update(
        &mut m,
        Msg::Job(job, JobEvent::Failed("internal error".into())),
    );
    for s in [Step::Discover, Step::Connect, Step::CopyRows] {
        assert_eq!(m.status(s), &Status::Pending, "{s:?}");
    }
    assert!(m.job.is_none());
}

#[test]
fn an_interrupted_check_runs_again_on_the_next_resume() {
    let mut m = prepared();
    update(&mut m, Msg::Resume(true));
    assert!(m.resume_check.is_some());
    update(
        &mut m,
        Msg::Interrupted {
            saved_at: "now".into(),
        },
    );
    assert!(m.resume_check.is_none() && m.job.is_none());
    done(&m, &[Step::Discover, Step::CopyRows]);
}

#[test]
fn recorded_facts_are_kept_for_the_next_resume() {
    let mut m = run();
    let id = started(&mut m);
    update(
        &mut m,
        Msg::Job(
            id,
            JobEvent::Recorded(Box::new(crate::data::resume::Record::Sqlite {
                stamp: stamp(3),
                at: "t".into(),
            })),
        ),
    );
    assert_eq!(m.witness.sqlite, Some((stamp(3), "t".into())));
}

/// The flags the saved run was made with.
fn same_flags(m: &Migration) -> Flags {
    Flags {
        options: m.options.clone(),
        target: m.connect.target.clone(),
        settings_style: Some(m.settings_style),
    }
}

#[test]
fn the_same_flags_change_nothing() {
    let mut m = prepared();
    m.options.reset_migrations = Some("all".into());
    let before = m.clone();
    let out = apply_flags(&mut m, &same_flags(&before));
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(m, before);
}

#[test]
fn a_different_reset_after_the_reset_is_refused_naming_the_flag_and_changes_nothing() {
    let mut m = prepared();
    m.options.reset_migrations = Some("all".into());
    let before = m.clone();
    let mut flags = same_flags(&m);
    flags.options.reset_migrations = Some("mll".into());
    flags.options.jobs = 7; // applied alone it would be; with a refusal nothing is
    let out = apply_flags(&mut m, &flags);
    let [FlagOutcome::Refused { flag, text }] = out.as_slice() else {
        panic!("{out:?}");
    };
    assert_eq!(*flag, "--reset-migrations");
    assert!(
        text.contains("--reset-migrations=mll") && text.contains("=all"),
        "{text}"
    );
    assert_eq!(m, before, "a refusal leaves the run as it was");
}

#[test]
fn a_reset_asked_for_before_the_schema_exists_is_applied_and_reopens_the_reset() {
    let mut m = discovered();
    m.options.reset_migrations = Some("none".into());
    m.step_mut(Step::ResetMigrations).status = Status::Skipped {
        reason: "migrations kept".into(),
    };
    let mut flags = same_flags(&m);
    flags.options.reset_migrations = Some("all".into());
    let out = apply_flags(&mut m, &flags);
    let [FlagOutcome::Applied { flag, reopened, .. }] = out.as_slice() else {
        panic!("{out:?}");
    };
    assert_eq!(*flag, "--reset-migrations");
    assert_eq!(reopened, &vec![Step::ResetMigrations, Step::DryRun]);
    assert_eq!(m.status(Step::ResetMigrations), &Status::Pending);
    assert_eq!(m.options.reset_migrations.as_deref(), Some("all"));
    done(&m, &[Step::Backup]);
}

#[test]
fn a_reset_asked_for_after_the_schema_was_created_is_refused() {
    let mut m = prepared();
    m.options.reset_migrations = Some("none".into());
    m.step_mut(Step::ResetMigrations).status = Status::Skipped {
        reason: "kept".into(),
    };
    let mut flags = same_flags(&m);
    flags.options.reset_migrations = Some("all".into());
    let out = apply_flags(&mut m, &flags);
    assert!(
        matches!(out.as_slice(), [FlagOutcome::Refused { flag: "--reset-migrations", text }] if text.contains("schema")),
        "{out:?}"
    );
}

#[test]
fn another_target_reopens_connect_and_what_rests_on_it() {
    let mut m = prepared();
    let mut flags = same_flags(&m);
    let mut other = target();
    other.dbname = "otherdb".into();
    flags.target = Some(other);
    let out = apply_flags(&mut m, &flags);
    let [
        FlagOutcome::Applied {
            flag: "--to",
            reopened,
            ..
        },
    ] = out.as_slice()
    else {
        panic!("{out:?}");
    };
    assert_eq!(reopened[0], Step::Connect);
    assert!(reopened.contains(&Step::CopyRows));
    pending(&m, &[Step::Connect, Step::CopyRows]);
    done(&m, &[Step::Backup]);
}

#[test]
fn copy_options_apply_without_redoing_a_verified_copy_and_say_so() {
    let mut m = prepared();
    let mut flags = same_flags(&m);
    flags.options.jobs = m.options.jobs + 2;
    flags.options.batch_rows = Some(5);
    flags.options.leave_behind = vec!["legacy_notes".into()];
    let out = apply_flags(&mut m, &flags);
    assert_eq!(out.len(), 3, "{out:?}");
    for o in &out {
        let FlagOutcome::Applied { text, reopened, .. } = o else {
            panic!("{o:?}")
        };
        assert!(reopened.is_empty());
        assert!(text.contains("does not run again"), "{text}");
    }
    assert_eq!(m.options.batch_rows, Some(5));
    assert_eq!(m.options.leave_behind, ["legacy_notes"]);
    done(&m, &[Step::CopyRows]);
}

#[test]
fn another_settings_style_is_applied_until_settings_were_written() {
    let mut m = prepared();
    let mut flags = same_flags(&m);
    flags.settings_style = Some(crate::data::settings::SettingsStyle::DatabaseUrl);
    let out = apply_flags(&mut m, &flags);
    assert!(
        matches!(
            out.as_slice(),
            [FlagOutcome::Applied {
                flag: "--settings-style",
                ..
            }]
        ),
        "{out:?}"
    );
    assert_eq!(
        m.settings_style,
        crate::data::settings::SettingsStyle::DatabaseUrl
    );
}

#[test]
fn a_saved_run_keeps_its_witness_through_save_and_load() {
    let mut m = prepared();
    m.resume_offer = None;
    let bytes = serde_json::to_vec_pretty(&m).unwrap();
    let loaded = crate::store::parse(&bytes).unwrap();
    assert_eq!(loaded.witness, m.witness);
}
