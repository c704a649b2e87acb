//! Nothing lost in the field: names over 63 characters, data without a place on PostgreSQL,
//! a writer during the copy, durations as Django writes them. Real PostgreSQL, real Django.

mod common;

use common::*;
use dj2pg::copy::standalone::{StandaloneArgs, run_standalone};
use dj2pg::data::copy::ProblemPolicy;
use dj2pg::pg::cluster::TempCluster;
use std::path::Path;

fn args(c: &TempCluster, project: &Path) -> StandaloneArgs {
    StandaloneArgs {
        from: project.join("db.sqlite3"),
        to: c.app(),
        password: Some(c.app_password().clone()),
        jobs: 2,
        rejects: None,
        on_bad_data: ProblemPolicy::Abort,
        yes: true,
        json: false,
        quiet: true,
        use_tz: true,
        time_zone: "UTC".into(),
        bulk_min_rows: 0,
        batch_rows: dj2pg::data::copy::DEFAULT_BATCH_ROWS,
        lz4: true,
        siblings_together: true,
        leave_behind: Vec::new(),
    }
}

/// `dj2pg migrate --yes` of `project` into `c` as the app role, with the admin's URL and
/// both passwords in the environment (the one-command headless run).
fn migrate_headless(
    c: &TempCluster,
    python: &Path,
    project: &Path,
    state: &Path,
    extra: &[&str],
) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_dj2pg"))
        .args(["migrate", "--project"])
        .arg(project)
        .arg("--python")
        .arg(python)
        .args(["--allow-dirty", "--yes"])
        .args(extra)
        .arg("--to")
        .arg(c.app().display_url())
        .arg("--admin-url")
        .arg(c.admin().display_url())
        .env("DJ2PG_STATE_DIR", state)
        .env("PGPASSWORD", c.app_password().expose())
        .env("DJ2PG_ADMIN_PASSWORD", c.admin_password().expose())
        .output()
        .expect("run dj2pg")
}

/// A 67-character model table (Django shortens it with a hash on PostgreSQL only), its
/// automatic many-to-many table, a 71-character `db_table` (PostgreSQL cuts it) and two
/// `db_column`s over 63 characters.
const LONG_MODELS: &str = r#"from django.db import models


class Tag(models.Model):
    name = models.CharField(max_length=20)


class AVeryLongModelNameThatGoesOnAndOnBeyondWhatPostgresAllows(models.Model):
    title = models.CharField(max_length=50)
    tags = models.ManyToManyField(Tag)
    score = models.IntegerField(
        null=True,
        db_column="a_column_name_that_is_much_longer_than_sixty_three_characters_score",
    )


class Explicit(models.Model):
    note = models.TextField()
    weight = models.FloatField(
        db_column="another_column_name_far_longer_than_sixty_three_characters_weight",
    )

    class Meta:
        db_table = "longnames_explicit_table_name_that_is_far_too_long_for_postgresql_xyz"
"#;

const FILL: &str = r#"
from longnames.models import Tag, AVeryLongModelNameThatGoesOnAndOnBeyondWhatPostgresAllows as L, Explicit
tags = [Tag.objects.create(name='t%d' % i) for i in range(5)]
for i in range(120):
    o = L.objects.create(title='row %d' % i, score=i * 7)
    o.tags.set(tags[: i % 5 + 1])
for i in range(80):
    Explicit.objects.create(note='note %d' % i, weight=i / 3)
print('filled')
"#;

/// The sample project with the `longnames` app added, migrated and filled on SQLite.
fn long_names_project(python: &Path) -> (tempfile::TempDir, std::path::PathBuf) {
    let (tmp, project) = sample_project(600);
    let app = project.join("longnames");
    std::fs::create_dir_all(app.join("migrations")).unwrap();
    std::fs::write(app.join("__init__.py"), "").unwrap();
    std::fs::write(app.join("migrations/__init__.py"), "").unwrap();
    std::fs::write(app.join("models.py"), LONG_MODELS).unwrap();
    let settings = project.join("aiproto/settings.py");
    let mut text = std::fs::read_to_string(&settings).unwrap();
    text.push_str("\nINSTALLED_APPS += ['longnames']\n");
    std::fs::write(&settings, text).unwrap();
    for args in [
        &["makemigrations", "longnames"][..],
        &["migrate"],
        &["shell", "-c", FILL],
    ] {
        let out = manage_py(python, &project, args, &[]);
        assert!(out.status.success(), "{args:?}: {}", output_text(&out));
    }
    (tmp, project)
}

#[test]
fn names_over_63_characters_are_copied_verified_and_read_back_by_django() {
    let c = cluster();
    let python = django_venv();
    let (_tmp, project) = long_names_project(&python);
    migrate_as_app(&c, &python, &project);
    // The shortened names really differ from SQLite's: otherwise this test proves nothing.
    let pg_tables: Vec<String> = rows(
        &c.app(),
        c.app_password(),
        "SELECT relname::text FROM pg_class WHERE relname LIKE 'longnames_%' AND relkind = 'r' ORDER BY 1",
    )
    .into_iter()
    .filter_map(|r| r[0].clone())
    .collect();
    let sqlite_tables: Vec<String> = sqlite_counts(&project.join("db.sqlite3"))
        .into_iter()
        .map(|(t, _)| t)
        .filter(|t| t.starts_with("longnames_"))
        .collect();
    assert_eq!(sqlite_tables.len(), 4, "{sqlite_tables:?}");
    assert_eq!(
        sqlite_tables.iter().filter(|t| t.len() > 63).count(),
        3,
        "{sqlite_tables:?}"
    );
    assert!(
        sqlite_tables
            .iter()
            .filter(|t| t.len() > 63)
            .all(|t| !pg_tables.contains(t)),
        "{pg_tables:?}"
    );

    let mut out = Vec::new();
    let report = run_standalone(args(&c, &project), &mut out)
        .unwrap_or_else(|e| panic!("{e:#}\n{}", String::from_utf8_lossy(&out)));
    let printed = String::from_utf8_lossy(&out);
    assert!(report.all_verified(), "{printed}");
    assert!(report.left_behind.is_empty(), "{printed}");
    // Every long table is in the report with all its rows.
    let sqlite = sqlite_counts(&project.join("db.sqlite3"));
    for (table, n) in sqlite.iter().filter(|(t, _)| t.starts_with("longnames_")) {
        let check = report
            .checks
            .iter()
            .find(|c| &c.table == table)
            .unwrap_or_else(|| panic!("{table} is not in the copy's checks:\n{printed}"));
        assert_eq!(check.target_rows, *n, "{table}");
        assert!(
            *n > 0,
            "{table} is empty in SQLite: the test filled nothing"
        );
    }
    // Django on PostgreSQL reads every value, the long columns included.
    let text = compare_with_django(&c, &python, &project);
    assert!(text.contains(" 0 differences"), "{text}");
    let nulls = scalar(
        &c.app(),
        c.app_password(),
        "SELECT count(*) FROM longnames_explicit_table_name_that_is_far_too_long_for_postgres WHERE another_column_name_far_longer_than_sixty_three_characters_weig IS NULL",
    );
    assert_eq!(nulls.as_deref(), Some("0"));
}

#[test]
fn data_without_a_place_on_postgresql_stops_the_copy_unless_named() {
    let c = cluster();
    let python = django_venv();
    let (_tmp, project) = sample_project(600);
    migrate_as_app(&c, &python, &project);
    // Data the PostgreSQL schema has no place for: a table and a column of SQLite only.
    let db = project.join("db.sqlite3");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "CREATE TABLE legacy_notes (id INTEGER PRIMARY KEY, body TEXT);
         INSERT INTO legacy_notes (body) VALUES ('a'), ('b'), ('c');
         ALTER TABLE classifier_label ADD COLUMN old_colour TEXT;
         UPDATE classifier_label SET old_colour = 'red';",
    )
    .unwrap();
    drop(conn);

    let mut out = Vec::new();
    let e = run_standalone(args(&c, &project), &mut out).unwrap_err();
    let msg = format!("{e:#}");
    assert!(
        msg.contains("table legacy_notes (3 row(s))")
            && msg.contains("column classifier_label.old_colour")
            && msg.contains("--leave-behind classifier_label.old_colour,legacy_notes"),
        "{msg}"
    );
    let copied = scalar(
        &c.app(),
        c.app_password(),
        "SELECT count(*) FROM classifier_trainingexample",
    );
    assert_eq!(copied.as_deref(), Some("0"), "nothing may be written");

    // Named, they are left behind on purpose, and the report says so table by table.
    let mut a = args(&c, &project);
    a.leave_behind = vec!["legacy_notes".into(), "classifier_label.old_colour".into()];
    let mut out = Vec::new();
    let report = run_standalone(a, &mut out)
        .unwrap_or_else(|e| panic!("{e:#}\n{}", String::from_utf8_lossy(&out)));
    let printed = String::from_utf8_lossy(&out);
    assert!(report.all_verified(), "{printed}");
    let label = report
        .checks
        .iter()
        .find(|c| c.table == "classifier_label")
        .unwrap();
    assert_eq!(label.verdict(), "OK without old_colour", "{printed}");
    assert!(
        printed.contains("left behind, as chosen: column classifier_label.old_colour (5 value(s)); table legacy_notes (3 row(s))"),
        "{printed}"
    );
}

/// The app keeps serving: a training example and a prediction that refers to it, in one
/// transaction, as fast as SQLite takes them, in WAL mode, for as long as the copy runs.
const WRITER: &str = r#"
import sqlite3, sys, time, uuid
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
db.execute('PRAGMA journal_mode=WAL')
stop_file = sys.argv[2]
n = 0
import os
while not os.path.exists(stop_file):
    db.execute('BEGIN IMMEDIATE')
    cur = db.execute(
        "INSERT INTO classifier_trainingexample (dataset_id, text, weight, added_on, token_count, meta) "
        "VALUES ((SELECT min(id) FROM classifier_dataset), 'live %d', 1.0, '2026-12-02', 3, '{}')" % n)
    db.execute(
        "INSERT INTO classifier_prediction (model_version_id, example_id, input_text, score, confidence, "
        "latency_ms, served_at, request_id, big_counter, small_rank) VALUES "
        "((SELECT min(id) FROM classifier_modelversion), ?, 'live', 0.5, '0.5000', 3, '2026-12-02 10:00:00', ?, 0, 0)",
        (cur.lastrowid, uuid.uuid4().hex))
    db.execute('COMMIT')
    n += 1
    time.sleep(0.002)
print(n)
"#;

#[test]
fn a_writer_during_the_copy_never_breaks_it_one_snapshot_is_copied() {
    let c = cluster();
    let python = django_venv();
    let (tmp, project) = sample_project(20_000);
    migrate_as_app(&c, &python, &project);
    let db = project.join("db.sqlite3");
    let stop_file = tmp.path().join("stop-writer");
    let writer = std::process::Command::new(&python)
        .args(["-c", WRITER])
        .arg(&db)
        .arg(&stop_file)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start the writer");
    // The writer is running before the copy starts.
    let started = std::time::Instant::now();
    while sqlite_rows(
        &db,
        "SELECT count(*) FROM classifier_trainingexample WHERE text LIKE 'live %'",
    ) < 20
    {
        assert!(started.elapsed().as_secs() < 60, "the writer wrote nothing");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let mut a = args(&c, &project);
    a.batch_rows = 0; // every table on its own: the reads are as far apart as they get
    let mut out = Vec::new();
    let result = run_standalone(a, &mut out);
    std::fs::write(&stop_file, "").unwrap();
    let written = writer.wait_with_output().expect("the writer ends");
    let printed = String::from_utf8_lossy(&out);
    let report = result.unwrap_or_else(|e| panic!("{e:#}\n{printed}"));
    assert!(report.all_verified(), "{printed}");
    assert!(report.snapshot_at.is_some(), "{printed}");
    assert!(printed.contains("one snapshot"), "{printed}");
    // The writer went on during the copy; PostgreSQL holds one moment of it, whole: each
    // live prediction's example is there (the foreign key), and the pairs are complete.
    let live = |sql: &str| {
        scalar(&c.app(), c.app_password(), sql)
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(-1)
    };
    let examples = live("SELECT count(*) FROM classifier_trainingexample WHERE text LIKE 'live %'");
    let predictions = live("SELECT count(*) FROM classifier_prediction WHERE input_text = 'live'");
    assert_eq!(examples, predictions, "a pair was split: {printed}");
    let in_sqlite = sqlite_rows(
        &db,
        "SELECT count(*) FROM classifier_trainingexample WHERE text LIKE 'live %'",
    );
    assert!(
        (examples as u64) < in_sqlite,
        "the writer wrote {} pairs, {in_sqlite} in SQLite, {examples} copied: it did not write during the copy",
        String::from_utf8_lossy(&written.stdout).trim()
    );
}

fn sqlite_rows(db: &Path, sql: &str) -> u64 {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .unwrap();
    conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap() as u64
}

/// A settings module that reads `django.conf.settings` while it is imported, as tools that
/// configure Sentry or a plugin registry from their settings do: the dry run, migrate on
/// PostgreSQL and the validation of the written settings all run it.
const READS_SETTINGS_AT_IMPORT: &str = r#"

# dj2pg test: read settings while this module is being imported.
SENTRY_DSN = ''
from django.conf import settings as _live_settings  # noqa: E402
if _live_settings.SENTRY_DSN:  # AttributeError if Django sees a half-built module
    raise RuntimeError('unexpected DSN')
"#;

#[test]
fn a_settings_module_that_reads_settings_at_import_goes_through_the_whole_flow() {
    let python = django_venv();
    let c = cluster();
    let (tmp, project) = sample_project(400);
    let settings = project.join("aiproto/settings.py");
    let mut text = std::fs::read_to_string(&settings).unwrap();
    text.push_str(READS_SETTINGS_AT_IMPORT);
    std::fs::write(&settings, text).unwrap();
    // The project's own manage.py works with it.
    let out = manage_py(&python, &project, &["check"], &[]);
    assert!(out.status.success(), "{}", output_text(&out));

    let out = migrate_headless(&c, &python, &project, &tmp.path().join("state"), &[]);
    let printed = output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{printed}");
    for step in ["dry-run", "create-schema", "copy-rows", "update-settings"] {
        assert!(
            printed.contains(&format!("[{step}] done")),
            "{step} not done:\n{printed}"
        );
    }
    assert!(!printed.contains("AttributeError"), "{printed}");
}

/// What Django itself writes for each copied duration, next to what the copy wrote.
const DURATIONS_AS_DJANGO_WRITES_THEM: &str = r#"
from classifier.models import ModelVersion
from django.db import connection
bad = n = 0
for mv in ModelVersion.objects.all():
    with connection.cursor() as c:
        c.execute(
            "SELECT %s::interval::text, EXTRACT(day FROM %s::interval), t.training_duration::text, "
            "EXTRACT(day FROM t.training_duration) FROM classifier_modelversion t WHERE t.id = %s",
            [mv.training_duration, mv.training_duration, mv.id])
        django_text, django_days, copied_text, copied_days = c.fetchone()
    n += 1
    if (django_text, django_days) != (copied_text, copied_days):
        bad += 1
        print('DIFF', mv.id, django_text, django_days, copied_text, copied_days)
print('checked %d durations, %d differ' % (n, bad))
"#;

#[test]
fn durations_arrive_field_for_field_as_django_writes_them() {
    let c = cluster();
    let python = django_venv();
    let (_tmp, project) = sample_project(400);
    migrate_as_app(&c, &python, &project);
    // 400 days 5 hours, a negative microsecond, and 90 seconds.
    let conn = rusqlite::Connection::open(project.join("db.sqlite3")).unwrap();
    conn.execute_batch(
        "UPDATE classifier_modelversion SET training_duration = 34578000000000 WHERE id = 1;
         UPDATE classifier_modelversion SET training_duration = -1 WHERE id = 2;
         UPDATE classifier_modelversion SET training_duration = 90000000 WHERE id = 3;",
    )
    .unwrap();
    drop(conn);
    let mut out = Vec::new();
    let report = run_standalone(args(&c, &project), &mut out)
        .unwrap_or_else(|e| panic!("{e:#}\n{}", String::from_utf8_lossy(&out)));
    assert!(report.all_verified());
    let copied = scalar(
        &c.app(),
        c.app_password(),
        "SELECT training_duration::text || ' / ' || EXTRACT(day FROM training_duration) FROM classifier_modelversion WHERE id = 1",
    );
    assert_eq!(copied.as_deref(), Some("400 days 05:00:00 / 400"));
    write_pg_settings(&project);
    let out = manage_py(
        &python,
        &project,
        &[
            "shell",
            "-c",
            DURATIONS_AS_DJANGO_WRITES_THEM,
            &format!("--settings={PG_SETTINGS}"),
        ],
        &pg_env(&c.app(), c.app_password()),
    );
    let text = output_text(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains(", 0 differ"), "{text}");
    assert!(!text.contains("checked 0 durations"), "{text}");
}

#[test]
fn migrate_copies_long_names_through_django_and_exits_0_only_when_every_row_arrived() {
    let c = cluster();
    let python = django_venv();
    let (tmp, project) = long_names_project(&python);
    let out = migrate_headless(
        &c,
        &python,
        &project,
        &tmp.path().join("state"),
        &["--no-settings-rewrite"],
    );
    let printed = output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{printed}");
    // Django itself named the tables for the copy.
    assert!(
        printed.contains("2 of them differently on PostgreSQL"),
        "{printed}"
    );
    let sqlite = sqlite_counts(&project.join("db.sqlite3"));
    for (table, n) in sqlite.iter().filter(|(t, _)| t.starts_with("longnames_")) {
        assert!(
            printed.contains(&format!(
                "{table}: {n} source rows, {n} copied, 0 rejected, checksum OK"
            )),
            "{table} ({n} rows) not copied and verified:\n{printed}"
        );
    }
    let text = compare_with_django(&c, &python, &project);
    assert!(text.contains(" 0 differences"), "{text}");
}
