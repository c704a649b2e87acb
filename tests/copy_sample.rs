//! The copy engine against a real PostgreSQL and the real sample project: schema made by
//! Django's `migrate` (as `app`, after the admin's schema GRANT), rows copied by dj2pg as
//! `app`, then checked independently through Django's ORM reading both databases.

mod common;

use common::*;
use dj2pg::copy::standalone::{StandaloneArgs, run_standalone, run_with_stop};
use dj2pg::copy::{Cancelled, Context, CopySettings, Stop, TablePhase};
use dj2pg::data::copy::{ProblemPolicy, Stage};
use dj2pg::pg::cluster::TempCluster;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

/// A cluster with the sample project's schema migrated as `app`, and the project.
fn migrated(rows: usize, extra: &[&str]) -> (TempCluster, PathBuf, tempfile::TempDir, PathBuf) {
    let c = cluster();
    let python = django_venv();
    let (tmp, project) = sample_project_with(rows, extra);
    migrate_as_app(&c, &python, &project);
    (c, python, tmp, project)
}

fn args(c: &TempCluster, project: &Path) -> StandaloneArgs {
    StandaloneArgs {
        from: project.join("db.sqlite3"),
        to: c.app(),
        password: Some(c.app_password().clone()),
        jobs: 3,
        rejects: None,
        on_bad_data: ProblemPolicy::Abort,
        yes: true,
        json: false,
        quiet: false,
        use_tz: true,
        time_zone: "UTC".into(),
        // Bulk mode for every table, however small (the sample here is small).
        bulk_min_rows: 0,
        batch_rows: dj2pg::data::copy::DEFAULT_BATCH_ROWS,
        lz4: true,
        siblings_together: true,
        leave_behind: Vec::new(),
    }
}

#[test]
fn sample_project_copies_every_value_and_django_can_insert_next() {
    let (c, python, _tmp, project) = migrated(3000, &[]);
    let mut out = Vec::new();
    let report = run_standalone(args(&c, &project), &mut out)
        .unwrap_or_else(|e| panic!("{e:#}\n{}", String::from_utf8_lossy(&out)));
    let printed = String::from_utf8_lossy(&out);
    assert!(report.all_verified(), "{printed}");
    assert!(printed.contains("checksum"), "{printed}");
    assert!(
        !printed.contains("compared again value by value"),
        "the jsonb text dj2pg sends should read back byte for byte:\n{printed}"
    );
    assert!(
        report
            .checks
            .iter()
            .any(|c| c.table == "classifier_prediction" && c.target_rows > 500),
        "{report:?}"
    );

    let text = compare_with_django(&c, &python, &project);
    assert!(text.contains(" 0 differences"), "{text}");
    assert_eq!(
        not_analyzed(&c),
        Vec::<String>::new(),
        "every table is analyzed"
    );

    // The server's default time zone is not UTC; values are instants all the same.
    assert_ne!(c.options().timezone, "UTC");
    // DurationField: 90 s is '00:01:30', to the microsecond.
    let durations = rows(
        &c.app(),
        c.app_password(),
        "SELECT training_duration::text FROM classifier_modelversion WHERE training_duration IN ('90 seconds', '-00:00:00.000001')",
    );
    assert!(
        durations
            .iter()
            .any(|r| r[0].as_deref() == Some("00:01:30")),
        "{durations:?}"
    );
    // -1 µs as Django (psycopg) writes a timedelta: its days floored, the rest positive.
    assert!(
        durations
            .iter()
            .any(|r| r[0].as_deref() == Some("-1 days +23:59:59.999999")),
        "{durations:?}"
    );
    // Timestamps keep microseconds.
    let micros = scalar(
        &c.app(),
        c.app_password(),
        "SELECT count(*) FROM classifier_prediction WHERE extract(microseconds FROM served_at)::int8 % 1000000 <> 0",
    );
    assert_ne!(micros.as_deref(), Some("0"));

    // Sequences: Django inserts the next objects without an id clash, past sqlite_sequence.
    let sqlite = rusqlite::Connection::open(project.join("db.sqlite3")).unwrap();
    let seq: i64 = sqlite
        .query_row(
            "SELECT seq FROM sqlite_sequence WHERE name = 'classifier_prediction'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let create = "from classifier.models import Label, Prediction, ModelVersion\n\
                  l = Label.objects.create(name='after-copy')\n\
                  mv = ModelVersion.objects.first()\n\
                  import datetime, decimal\n\
                  from django.utils import timezone\n\
                  p = Prediction.objects.create(model_version=mv, input_text='x', score=0.5, confidence=decimal.Decimal('0.5'), latency_ms=1, served_at=timezone.now())\n\
                  print('NEW', l.pk, p.pk)";
    let out = manage_py(
        &python,
        &project,
        &["shell", "-c", create, &format!("--settings={PG_SETTINGS}")],
        &pg_env(&c.app(), c.app_password()),
    );
    let text = output_text(&out);
    assert!(out.status.success(), "{text}");
    let line = text
        .lines()
        .find(|l| l.starts_with("NEW"))
        .unwrap_or_else(|| panic!("{text}"));
    let ids: Vec<i64> = line
        .split_whitespace()
        .skip(1)
        .map(|s| s.parse().unwrap())
        .collect();
    assert_eq!(
        ids[1],
        seq + 1,
        "Prediction ids continue after SQLite's AUTOINCREMENT counter"
    );

    // A second run keeps every table (already verified) and writes nothing.
    let mut out = Vec::new();
    let again = run_standalone(args(&c, &project), &mut out);
    // Two rows were added on PostgreSQL meanwhile: those tables are reloaded, the rest kept.
    let again = again.unwrap_or_else(|e| panic!("{e:#}\n{}", String::from_utf8_lossy(&out)));
    assert!(again.all_verified());
    assert!(
        again.notes.iter().any(|n| n.contains("kept")),
        "{:?}",
        again.notes
    );
}

#[test]
fn cancelled_mid_table_resumes_to_exact_rows() {
    let (c, python, _tmp, project) = migrated(20_000, &[]);
    let settings = CopySettings {
        jobs: 3,
        slice_rows: 2000,
        // The plain load (deferred checks, rowid slices); bulk mode is killed in copy_kill.
        bulk: false,
        ..CopySettings::with_jobs(2)
    };
    let stop = Stop::default();
    let cx = Context::new(
        &project.join("db.sqlite3"),
        c.app(),
        Some(c.app_password().clone()),
        settings.clone(),
        stop.clone(),
    )
    .unwrap();
    let mut partial_seen = false;
    let mut paused_ticks = 0;
    let result = dj2pg::copy::copy(&cx, ProblemPolicy::Abort, &mut |p| {
        if p.stage == Stage::Loading && !stop.pause.load(Ordering::SeqCst) {
            // Freeze the workers at their next batch, then cancel while tables are half done.
            stop.pause.store(true, Ordering::SeqCst);
            return;
        }
        if stop.pause.load(Ordering::SeqCst) && !stop.cancel.load(Ordering::SeqCst) {
            paused_ticks += 1;
            partial_seen = p.tables.iter().any(|t| {
                t.phase == TablePhase::Loading && t.rows_done > 0 && t.rows_done < t.rows_total
            });
            // Small tables finish without reaching a batch boundary; wait for a big one.
            if partial_seen || paused_ticks > 100 {
                stop.cancel.store(true, Ordering::SeqCst);
            }
        }
    });
    let e = result.expect_err("cancelled");
    assert!(e.downcast_ref::<Cancelled>().is_some(), "{e:#}");
    assert!(
        partial_seen,
        "the cancel came while a table was half loaded"
    );

    // Resume: a fresh run, no side state.
    let mut out = Vec::new();
    let mut a = args(&c, &project);
    a.jobs = 3;
    let report = run_with_stop(a, &mut out, Stop::default())
        .unwrap_or_else(|e| panic!("{e:#}\n{}", String::from_utf8_lossy(&out)));
    assert!(report.all_verified(), "{}", String::from_utf8_lossy(&out));
    let sqlite = rusqlite::Connection::open(project.join("db.sqlite3")).unwrap();
    for check in &report.checks {
        let n: i64 = sqlite
            .query_row(
                &format!("SELECT count(*) FROM \"{}\"", check.table),
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(check.target_rows as i64, n, "{}", check.table);
    }
    let text = compare_with_django(&c, &python, &project);
    assert!(text.contains(" 0 differences"), "{text}");
}

#[test]
fn bad_values_are_all_reported_then_skipped_into_reject_files() {
    let (c, _python, tmp, project) = migrated(400, &["--bad"]);
    let mut out = Vec::new();
    let e = run_standalone(args(&c, &project), &mut out).expect_err("abort by default");
    let printed = String::from_utf8_lossy(&out).to_string();
    assert!(e.to_string().contains("nothing was written"), "{e:#}");
    for (table, column) in [
        ("classifier_dataset", "name"),
        ("classifier_trainingexample", "text"),
        ("classifier_trainingexample", "meta"),
        ("classifier_trainingexample", "added_on"),
        ("classifier_trainingexample", "token_count"),
        ("classifier_prediction", "small_rank"),
        ("classifier_modelversion", "metrics"),
    ] {
        assert!(
            printed
                .lines()
                .any(|l| l.starts_with(&format!("problem: {table} pk="))
                    && l.contains(&format!(" {column}: "))),
            "{table}.{column} not reported:\n{printed}"
        );
    }
    // Nothing was written.
    let n = scalar(
        &c.app(),
        c.app_password(),
        "SELECT count(*) FROM classifier_trainingexample",
    );
    assert_eq!(n.as_deref(), Some("0"));

    let rejects = tmp.path().join("rejects");
    let mut a = args(&c, &project);
    a.on_bad_data = ProblemPolicy::SkipRows;
    a.rejects = Some(rejects.clone());
    let mut out = Vec::new();
    let report = run_standalone(a, &mut out)
        .unwrap_or_else(|e| panic!("{e:#}\n{}", String::from_utf8_lossy(&out)));
    assert!(report.all_verified(), "{}", String::from_utf8_lossy(&out));
    let rejected: u64 = report.checks.iter().map(|c| c.rejected_rows).sum();
    assert!(rejected >= 7, "{report:?}");
    let lines = std::fs::read_to_string(rejects.join("classifier_trainingexample.jsonl")).unwrap();
    assert!(lines.lines().count() >= 4, "{lines}");
    let first: serde_json::Value = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
    assert!(
        first["problems"][0]["issue"].is_string() && first["row"].is_object(),
        "{first}"
    );

    // Fix: truncate and strip NUL; the rest still skipped.
    let mut a = args(&c, &project);
    a.on_bad_data = ProblemPolicy::Fix;
    a.rejects = Some(rejects);
    let mut out = Vec::new();
    let report = run_standalone(a, &mut out)
        .unwrap_or_else(|e| panic!("{e:#}\n{}", String::from_utf8_lossy(&out)));
    assert!(report.all_verified());
    let long = scalar(
        &c.app(),
        c.app_password(),
        "SELECT max(length(name)) FROM classifier_dataset",
    );
    assert_eq!(
        long.as_deref(),
        Some("100"),
        "the long name was truncated to 100"
    );
}

#[test]
fn small_tables_load_in_batches_with_every_value_and_analyzed() {
    let (c, python, _tmp, project) = migrated(3000, &[]);
    let mut out = Vec::new();
    let a = StandaloneArgs {
        bulk_min_rows: dj2pg::data::copy::DEFAULT_BULK_MIN_ROWS,
        ..args(&c, &project)
    };
    let report = run_standalone(a, &mut out)
        .unwrap_or_else(|e| panic!("{e:#}\n{}", String::from_utf8_lossy(&out)));
    let printed = String::from_utf8_lossy(&out);
    assert!(report.all_verified(), "{printed}");
    // Every table of the sample is small: all that hold rows went in batches (empty ones
    // are already as the source, nothing to load).
    let with_rows = report.checks.iter().filter(|c| c.source_rows > 0).count();
    let note = report
        .notes
        .iter()
        .find(|n| n.contains("in batches"))
        .unwrap_or_else(|| panic!("no batch note: {:?}", report.notes));
    let kept = report
        .notes
        .iter()
        .find_map(|n| n.strip_prefix("Already copied and verified, kept: "))
        .map_or(0, |l| l.split(", ").count());
    assert!(
        note.starts_with(&format!("{} table(s)", with_rows - kept))
            && note.contains(": 1 round trip(s)"),
        "{note}\n{printed}"
    );
    let text = compare_with_django(&c, &python, &project);
    assert!(text.contains(" 0 differences"), "{text}");
    assert_eq!(
        not_analyzed(&c),
        Vec::<String>::new(),
        "every table is analyzed"
    );
}

#[test]
fn a_refused_row_in_a_batch_names_its_table_and_leaves_the_whole_batch_unwritten() {
    let (c, _python, _tmp, project) = migrated(3000, &[]);
    // A rule of the target that one small table's rows break (every dataset has id > 0).
    common::rows(
        &c.app(),
        c.app_password(),
        "ALTER TABLE classifier_dataset ADD CONSTRAINT refuses_every_row CHECK (id < 0)",
    );
    let batched = || StandaloneArgs {
        bulk_min_rows: dj2pg::data::copy::DEFAULT_BULK_MIN_ROWS,
        ..args(&c, &project)
    };
    let mut out = Vec::new();
    let err = run_standalone(batched(), &mut out).expect_err("the check constraint refuses");
    let msg = format!("{err:#}");
    assert!(
        msg.contains("classifier_dataset") && msg.contains("refuses_every_row"),
        "the message names the table and the rule: {msg}"
    );
    // The batch was one transaction: none of its tables holds a row.
    for table in [
        "auth_group",
        "auth_user",
        "classifier_label",
        "classifier_dataset",
    ] {
        assert_eq!(
            scalar(
                &c.app(),
                c.app_password(),
                &format!("SELECT count(*) FROM {table}")
            )
            .as_deref(),
            Some("0"),
            "{table} after the failed batch"
        );
    }
    // Fixed on the target, the same command copies everything.
    common::rows(
        &c.app(),
        c.app_password(),
        "ALTER TABLE classifier_dataset DROP CONSTRAINT refuses_every_row",
    );
    let mut out = Vec::new();
    let report = run_standalone(batched(), &mut out)
        .unwrap_or_else(|e| panic!("{e:#}\n{}", String::from_utf8_lossy(&out)));
    assert!(report.all_verified(), "{}", String::from_utf8_lossy(&out));
}

/// The compression of `classifier_embedding.vector_json` values, as PostgreSQL stored them.
fn json_compression(c: &TempCluster) -> Vec<Option<String>> {
    rows(
        &c.app(),
        c.app_password(),
        "SELECT DISTINCT pg_column_compression(vector_json) FROM classifier_embedding",
    )
    .into_iter()
    .map(|r| r[0].clone())
    .collect()
}

#[test]
fn long_json_is_compressed_with_lz4_unless_the_server_default_is_asked_for() {
    // 384-dimension embeddings: each JSON list is several kB, so PostgreSQL compresses it.
    let (c, _python, _tmp, project) = migrated(1500, &["--dim", "384"]);
    let batched = StandaloneArgs {
        bulk_min_rows: dj2pg::data::copy::DEFAULT_BULK_MIN_ROWS,
        ..args(&c, &project)
    };
    let mut out = Vec::new();
    let report = run_standalone(batched, &mut out)
        .unwrap_or_else(|e| panic!("{e:#}\n{}", String::from_utf8_lossy(&out)));
    assert!(report.all_verified(), "{}", String::from_utf8_lossy(&out));
    assert_eq!(json_compression(&c), [Some("lz4".to_string())]);
    assert!(
        report.notes.iter().any(|n| n.contains("lz4")),
        "{:?}",
        report.notes
    );

    // Reloaded (in bulk mode this time) with the server's default: pglz.
    rows(&c.app(), c.app_password(), "TRUNCATE classifier_embedding");
    let server_default = StandaloneArgs {
        lz4: false,
        ..args(&c, &project)
    };
    let mut out = Vec::new();
    let report = run_standalone(server_default, &mut out)
        .unwrap_or_else(|e| panic!("{e:#}\n{}", String::from_utf8_lossy(&out)));
    assert!(report.all_verified(), "{}", String::from_utf8_lossy(&out));
    assert_eq!(json_compression(&c), [Some("pglz".to_string())]);
    assert!(
        !report.notes.iter().any(|n| n.contains("lz4")),
        "{:?}",
        report.notes
    );
}

#[test]
fn bulk_siblings_load_together_with_every_value_and_every_constraint_back() {
    // 8,000 rows: training examples with two bulk children (embeddings, predictions).
    let (c, python, _tmp, project) = migrated(8000, &[]);
    let migrated_schema = schema_of(&c);
    let mut out = Vec::new();
    let a = StandaloneArgs {
        jobs: 4,
        ..args(&c, &project)
    };
    let report = run_standalone(a, &mut out)
        .unwrap_or_else(|e| panic!("{e:#}\n{}", String::from_utf8_lossy(&out)));
    assert!(report.all_verified(), "{}", String::from_utf8_lossy(&out));
    // Whether a sibling found a free worker while the other loaded depends on timing (the
    // decision itself is a unit test in `copy::schedule`); when one did, it is named.
    if let Some(note) = report
        .notes
        .iter()
        .find(|n| n.starts_with("Loaded beside a table sharing its parent"))
    {
        assert!(
            note.contains("classifier_") || note.contains("auth_"),
            "{note}"
        );
    }
    assert_eq!(
        schema_of(&c),
        migrated_schema,
        "every foreign key and index is back"
    );
    let text = compare_with_django(&c, &python, &project);
    assert!(text.contains(" 0 differences"), "{text}");
}

#[test]
fn the_table_that_is_most_of_the_work_loads_in_slices_at_once_with_every_value_and_constraint() {
    // Embeddings of 384 floats (a JSON list and a packed blob: ~6 KB a row) are most of
    // this project's work: in one bulk transaction they would keep one connection busy
    // while the other has nothing left to do.
    let (c, python, _tmp, project) = migrated(45_000, &["--dim", "384"]);
    let migrated_schema = schema_of(&c);
    let mut out = Vec::new();
    let a = StandaloneArgs {
        jobs: 2,
        bulk_min_rows: CopySettings::with_jobs(2).bulk_min_rows,
        ..args(&c, &project)
    };
    let report = run_standalone(a, &mut out)
        .unwrap_or_else(|e| panic!("{e:#}\n{}", String::from_utf8_lossy(&out)));
    let text = String::from_utf8_lossy(&out).into_owned();
    assert!(report.all_verified(), "{text}");
    let note = report
        .notes
        .iter()
        .find(|n| n.starts_with("Most of the work"))
        .unwrap_or_else(|| panic!("no slicing note: {:?}", report.notes));
    assert!(
        note.contains("2 slices") && note.contains("classifier_embedding"),
        "{note}"
    );
    // Two slices, two transactions: the rows carry two creating transaction ids.
    let mut pg = connect(&c.app(), c.app_password());
    let xids: i64 = pg
        .query_one(
            "SELECT count(DISTINCT xmin::text) FROM classifier_embedding",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(xids, 2, "the embeddings were loaded by two transactions");
    assert_eq!(
        schema_of(&c),
        migrated_schema,
        "every foreign key and index is in place"
    );
    let text = compare_with_django(&c, &python, &project);
    assert!(text.contains(" 0 differences"), "{text}");
}
