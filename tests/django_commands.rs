//! The Dry run, the `makemigrations` after a reset, and Create schema, run through the real
//! Django of the harness's virtualenv on copies of the sample project, and (Create schema)
//! against the harness's DigitalOcean-like PostgreSQL, where the fresh `app` role may not
//! create tables in `public` until it is granted.

mod common;

use dj2pg::data::commands::{CommandStatus, DryRunInput, MigrateFailure, SchemaProblem};
use dj2pg::django::commands::{Scrubber, run_streamed};
use dj2pg::django::overlay::Overlay;
use dj2pg::django::{
    CreateSchemaInput, MakeMigrationsInput, check_driver, create_schema, dry_run, install_driver,
    make_migrations,
};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

fn no_cancel() -> Arc<AtomicBool> {
    Arc::new(AtomicBool::new(false))
}

fn dry_input(python: &Path, project: &Path) -> DryRunInput {
    DryRunInput {
        python: python.to_path_buf(),
        project_dir: project.to_path_buf(),
        settings_module: "aiproto.settings".into(),
        sqlite_path: Some(project.join("db.sqlite3")),
    }
}

/// Every file under `dir` with the SHA-256 of its content: any write shows up here.
fn tree_hashes(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let hash = hex::encode(Sha256::digest(std::fs::read(&path).unwrap()));
                out.insert(path, hash);
            }
        }
    }
    out
}

/// A virtualenv without Django or psycopg (and without pip).
fn bare_venv(dir: &Path) -> PathBuf {
    let bare = dir.join("bare-venv");
    let ok = Command::new("python3")
        .args(["-m", "venv", "--without-pip"])
        .arg(&bare)
        .status()
        .expect("run python3");
    assert!(ok.success(), "python3 -m venv failed: install python3-venv");
    bare.join("bin/python")
}

#[test]
fn the_dry_run_passes_on_the_sample_and_never_touches_the_users_files() {
    let python = common::django_venv();
    let (_tmp, project) = common::sample_project(300);
    let db = project.join("db.sqlite3");
    let mtime = std::fs::metadata(&db).unwrap().modified().unwrap();
    let before = tree_hashes(&project);

    let mut seen = Vec::new();
    let report = dry_run(
        dry_input(&python, &project),
        &mut |l| seen.push(l),
        no_cancel(),
    )
    .unwrap();

    let log = report.log().join("\n");
    assert!(report.passed(), "{log}");
    assert!(report.drifted_apps.is_empty(), "{log}");
    assert!(log.contains("No changes detected"), "{log}");
    assert!(
        log.contains("Applying classifier.0001_initial... OK")
            && log.contains("Applying classifier.0002_default_labels... OK"),
        "{log}"
    );
    // The callback saw every line of the report, in order (plus the `$ command` headers).
    let streamed: Vec<_> = seen
        .iter()
        .filter(|l| !l.starts_with("$ "))
        .cloned()
        .collect();
    assert_eq!(streamed, report.log());
    let schema = report.schema.as_ref().expect("a schema comparison");
    assert!(schema.tables_compared >= 10, "{schema:?}");
    assert!(schema.problems.is_empty(), "{schema:?}");
    assert!(schema.new_tables.is_empty(), "{schema:?}");

    assert_eq!(
        tree_hashes(&project),
        before,
        "a file of the project changed"
    );
    assert_eq!(std::fs::metadata(&db).unwrap().modified().unwrap(), mtime);
}

#[test]
fn a_model_changed_without_a_migration_is_reported_as_drift() {
    let python = common::django_venv();
    let (_tmp, project) = common::sample_project(50);
    let models = project.join("classifier/models.py");
    let text = std::fs::read_to_string(&models).unwrap().replace(
        "    color = models.CharField(max_length=7, default='#888888')\n",
        "    color = models.CharField(max_length=7, default='#888888')\n    notes = models.TextField(default='')\n",
    );
    assert!(text.contains("notes = "), "the sample's Label model moved");
    std::fs::write(&models, text).unwrap();
    let migrations = tree_hashes(&project.join("classifier/migrations"));

    let report = dry_run(dry_input(&python, &project), &mut |_| {}, no_cancel()).unwrap();

    let log = report.makemigrations.text();
    assert_eq!(report.drifted_apps, ["classifier"], "{log}");
    assert!(log.contains("notes"), "{log}");
    assert!(
        report.passed(),
        "drift is a warning: migrate still runs\n{log}"
    );
    assert_eq!(
        tree_hashes(&project.join("classifier/migrations")),
        migrations,
        "--dry-run must not write a migration"
    );
}

#[test]
fn the_schema_diff_names_data_the_new_schema_cannot_hold() {
    let python = common::django_venv();
    let (_tmp, project) = common::sample_project(50);
    let db = project.join("db.sqlite3");
    {
        // The user's data drifted from the code: a column the models no longer have (with
        // values), a column the models need but the data lost, a table nobody models.
        let c = rusqlite::Connection::open(&db).unwrap();
        c.execute_batch(
            "ALTER TABLE classifier_label ADD COLUMN legacy_code text;
             UPDATE classifier_label SET legacy_code = 'L' || id;
             ALTER TABLE classifier_label DROP COLUMN color;
             CREATE TABLE old_scores (id integer primary key, score real);
             INSERT INTO old_scores (score) VALUES (0.5), (0.7);",
        )
        .unwrap();
    }
    let labels = common::sqlite_counts(&db)
        .into_iter()
        .find(|(t, _)| t == "classifier_label")
        .map(|(_, n)| n)
        .unwrap();
    assert!(labels >= 3, "the sample has labels");

    let report = dry_run(dry_input(&python, &project), &mut |_| {}, no_cancel()).unwrap();

    assert!(report.passed(), "{}", report.log().join("\n"));
    let schema = report.schema.unwrap();
    assert_eq!(
        schema.problems,
        vec![
            SchemaProblem::ColumnMissing {
                table: "classifier_label".into(),
                column: "legacy_code".into(),
                non_null_rows: labels,
            },
            SchemaProblem::NotNullUnfilled {
                table: "classifier_label".into(),
                column: "color".into(),
                column_type: "varchar(7)".into(),
                rows: labels,
            },
            SchemaProblem::TableMissing {
                table: "old_scores".into(),
                rows: 2,
            },
        ]
    );
    assert!(!schema.fits());
}

#[test]
fn output_streams_while_the_command_still_runs() {
    let python = common::django_venv();
    let (_tmp, project) = common::sample_project(20);
    let overlay = Overlay::write_sqlite(&project, "aiproto.settings").unwrap();
    let cmd = overlay.command(
        &python,
        None,
        &[
            "shell",
            "-c",
            "import sys, time; print('first'); print('to stderr', file=sys.stderr); time.sleep(3); print('second')",
        ],
    );
    let start = Instant::now();
    let mut seen: Vec<(String, Duration)> = Vec::new();
    let out = run_streamed(
        cmd,
        "manage.py shell",
        &Scrubber::default(),
        &mut |l| seen.push((l, start.elapsed())),
        &AtomicBool::new(false),
    )
    .unwrap();
    let total = start.elapsed();
    assert!(out.succeeded(), "{}", out.text());
    let names: Vec<_> = seen.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(names.last(), Some(&"second"), "{names:?}");
    assert!(names.contains(&"to stderr"), "{names:?}");
    let first = seen.iter().find(|(l, _)| l == "first").unwrap().1;
    assert!(
        total - first >= Duration::from_secs(2),
        "the first line came at {first:?}, the run ended at {total:?}: not streamed"
    );
}

#[test]
fn cancel_kills_a_long_command_and_what_it_started() {
    let python = common::django_venv();
    let (_tmp, project) = common::sample_project(20);
    let overlay = Overlay::write_sqlite(&project, "aiproto.settings").unwrap();
    let cmd = overlay.command(
        &python,
        None,
        &[
            "shell",
            "-c",
            "import subprocess, time; p = subprocess.Popen(['sleep', '60']); print(p.pid); time.sleep(60)",
        ],
    );
    let cancel = AtomicBool::new(false);
    let mut grandchild: Option<u32> = None;
    let mut cancelled_at = None;
    let out = run_streamed(
        cmd,
        "manage.py shell",
        &Scrubber::default(),
        &mut |l| {
            if let Ok(pid) = l.trim().parse() {
                grandchild = Some(pid);
                cancelled_at = Some(Instant::now());
                cancel.store(true, Ordering::Relaxed);
            }
        },
        &cancel,
    )
    .unwrap();
    let took = cancelled_at.expect("the pid line arrived").elapsed();
    assert_eq!(out.status, CommandStatus::Cancelled);
    assert!(took < Duration::from_secs(5), "cancel took {took:?}");
    let pid = grandchild.unwrap();
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // Gone, or a zombie waiting for init to reap it: either way no longer running.
        let state = stat
            .rsplit(')')
            .next()
            .and_then(|r| r.split_whitespace().next());
        if stat.is_empty() || state == Some("Z") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the `sleep` child {pid} survived: {stat}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Every file in the system temp dir whose name starts with the overlay prefix, grepped.
fn overlay_files_containing(needle: &str) -> (usize, Vec<PathBuf>) {
    let mut checked = 0;
    let mut hits = Vec::new();
    for entry in std::fs::read_dir(std::env::temp_dir()).unwrap().flatten() {
        if !entry
            .file_name()
            .to_string_lossy()
            .starts_with("dj2pg-overlay-")
        {
            continue;
        }
        for (path, _) in tree_hashes(&entry.path()) {
            checked += 1;
            let bytes = std::fs::read(&path).unwrap_or_default();
            if String::from_utf8_lossy(&bytes).contains(needle) {
                hits.push(path);
            }
        }
    }
    (checked, hits)
}

#[test]
fn migrate_as_the_fresh_app_role_fails_on_the_schema_and_passes_once_granted() {
    let c = common::cluster();
    let python = common::django_venv();
    let (_tmp, project) = common::sample_project(20);
    let input = CreateSchemaInput {
        python: python.clone(),
        project_dir: project.clone(),
        settings_module: "aiproto.settings".into(),
        target: c.app(),
        search_path: None,
        timeouts: Vec::new(),
    };
    let password = c.app_password().expose().to_string();
    let mut lines = Vec::new();
    let mut overlay_checked = 0;
    let report = create_schema(
        input.clone(),
        Some(c.app_password().clone()),
        &mut |l| {
            if overlay_checked == 0 {
                // The overlay exists while migrate runs: it must not hold the password.
                let (checked, hits) = overlay_files_containing(&password);
                assert!(hits.is_empty(), "the password is in {hits:?}");
                overlay_checked = checked;
            }
            lines.push(l)
        },
        no_cancel(),
    )
    .unwrap();
    assert!(overlay_checked > 0, "no overlay file was found to check");
    let log = report.migrate.as_ref().unwrap().text();
    assert_eq!(
        report.failure,
        Some(MigrateFailure::SchemaPermission {
            schema: Some("public".into())
        }),
        "{log}"
    );
    assert!(log.contains("permission denied for schema public"), "{log}");
    assert_eq!(report.driver.driver.as_ref().unwrap().0, "psycopg");

    common::exec(
        &c.admin(),
        c.admin_password(),
        "GRANT USAGE, CREATE ON SCHEMA public TO app",
    );
    let report = create_schema(
        input,
        Some(c.app_password().clone()),
        &mut |l| lines.push(l),
        no_cancel(),
    )
    .unwrap();
    let log = report.migrate.as_ref().unwrap().text();
    assert!(report.passed(), "{log}");
    assert!(
        log.contains("Applying classifier.0002_default_labels... OK"),
        "{log}"
    );
    let applied: u64 = common::scalar(
        &c.app(),
        c.app_password(),
        "SELECT count(*) FROM django_migrations",
    )
    .unwrap()
    .parse()
    .unwrap();
    assert!(applied >= 15, "{applied} migrations recorded");
    let owner = common::scalar(
        &c.admin(),
        c.admin_password(),
        "SELECT tableowner FROM pg_tables WHERE tablename = 'classifier_label'",
    );
    assert_eq!(owner.as_deref(), Some("app"));
    assert!(lines.iter().all(|l| !l.contains(&password)));
    assert!(
        tree_hashes(&project)
            .keys()
            .all(|p| !p.to_string_lossy().contains("overlay"))
    );
}

#[test]
fn a_wrong_password_is_an_authentication_failure_and_is_never_shown() {
    let c = common::cluster();
    let python = common::django_venv();
    let (_tmp, project) = common::sample_project(20);
    let wrong = dj2pg::pg::Secret::new("Wr0ng-pa55word-for-app");
    let mut lines = Vec::new();
    let report = create_schema(
        CreateSchemaInput {
            python,
            project_dir: project,
            settings_module: "aiproto.settings".into(),
            target: c.app(),
            search_path: None,
            timeouts: Vec::new(),
        },
        Some(wrong.clone()),
        &mut |l| lines.push(l),
        no_cancel(),
    )
    .unwrap();
    let log = report.migrate.as_ref().unwrap().text();
    assert_eq!(
        report.failure,
        Some(MigrateFailure::Authentication),
        "{log}"
    );
    assert!(log.contains("password authentication failed"), "{log}");
    assert!(lines.iter().all(|l| !l.contains(wrong.expose())));
}

#[test]
fn makemigrations_after_a_reset_writes_a_fresh_initial_migration() {
    let python = common::django_venv();
    let (tmp, project) = common::sample_project(20);
    let db = project.join("db.sqlite3");
    let db_hash = hex::encode(Sha256::digest(std::fs::read(&db).unwrap()));
    let migrations = project.join("classifier/migrations");
    let archive = tmp.path().join("archive");
    std::fs::create_dir_all(&archive).unwrap();
    for name in ["0001_initial.py", "0002_default_labels.py"] {
        std::fs::rename(migrations.join(name), archive.join(name)).unwrap();
    }

    let mut lines = Vec::new();
    let report = make_migrations(
        MakeMigrationsInput {
            python,
            project_dir: project.clone(),
            settings_module: "aiproto.settings".into(),
            apps: vec![("classifier".into(), migrations.clone())],
        },
        &mut |l| lines.push(l),
        no_cancel(),
    )
    .unwrap();

    assert!(report.run.succeeded(), "{}", report.run.text());
    assert_eq!(report.created, [migrations.join("0001_initial.py")]);
    let text = std::fs::read_to_string(&report.created[0]).unwrap();
    assert!(
        text.contains("migrations.CreateModel") && text.contains("name='ModelVersion'"),
        "{text}"
    );
    assert!(
        lines.iter().any(|l| l.contains("0001_initial.py")),
        "{lines:?}"
    );
    assert_eq!(
        hex::encode(Sha256::digest(std::fs::read(&db).unwrap())),
        db_hash,
        "makemigrations must not touch the user's database"
    );
}

#[test]
fn the_driver_check_finds_psycopg_and_offers_the_install_without_it() {
    let python = common::django_venv();
    let check = check_driver(&python).unwrap();
    let (name, version) = check.driver.clone().expect("psycopg in the test venv");
    assert_eq!(name, "psycopg");
    assert!(version.starts_with("3."), "{version}");
    assert!(check.install_command.is_none());
    assert!(check.in_virtualenv);

    let tmp = tempfile::tempdir().unwrap();
    let bare = bare_venv(tmp.path());
    let check = check_driver(&bare).unwrap();
    assert_eq!(check.driver, None);
    assert!(check.in_virtualenv);
    assert_eq!(
        check.install_command.as_deref().unwrap(),
        [
            bare.display().to_string(),
            "-m".into(),
            "pip".into(),
            "install".into(),
            "psycopg[binary]".into()
        ]
    );
    assert!(
        check
            .install_display()
            .unwrap()
            .ends_with("-m pip install 'psycopg[binary]'")
    );

    // This venv has no pip: the install runs, fails with pip's words, and the check after
    // it still finds no driver. (A real install needs PyPI; the flow is the same.)
    let mut lines = Vec::new();
    let install = install_driver(check, &mut |l| lines.push(l), no_cancel()).unwrap();
    assert!(!install.run.succeeded());
    assert!(
        install.run.text().contains("No module named pip"),
        "{lines:?}"
    );
    assert_eq!(install.after.driver, None);

    // Create schema with this Python stops before migrate, with the typed reason.
    let (_ptmp, project) = common::sample_project(20);
    let (config, _) =
        dj2pg::pg::ConnConfig::from_url("postgresql://app@127.0.0.1:1/appdb").unwrap();
    let report = create_schema(
        CreateSchemaInput {
            python: bare,
            project_dir: project,
            settings_module: "aiproto.settings".into(),
            target: config,
            search_path: None,
            timeouts: Vec::new(),
        },
        None,
        &mut |_| {},
        no_cancel(),
    )
    .unwrap();
    assert_eq!(report.failure, Some(MigrateFailure::DriverMissing));
    assert!(report.migrate.is_none());
}

#[test]
fn a_search_path_puts_the_tables_in_a_dedicated_schema() {
    let c = common::cluster();
    let python = common::django_venv();
    let (_tmp, project) = common::sample_project(20);
    // The app role gets a schema of its own (what the "dedicated schema" recipe sets up);
    // `public` stays closed to it, so a table landing there would fail the migrate.
    common::exec(
        &c.admin(),
        c.admin_password(),
        "GRANT CREATE ON DATABASE appdb TO app",
    );
    common::exec(&c.app(), c.app_password(), "CREATE SCHEMA ml_app");
    let report = create_schema(
        CreateSchemaInput {
            python,
            project_dir: project,
            settings_module: "aiproto.settings".into(),
            target: c.app(),
            search_path: Some("ml_app".into()),
            timeouts: Vec::new(),
        },
        Some(c.app_password().clone()),
        &mut |_| {},
        no_cancel(),
    )
    .unwrap();
    assert!(report.passed(), "{}", report.migrate.unwrap().text());
    let schemas = common::rows(
        &c.app(),
        c.app_password(),
        "SELECT DISTINCT schemaname::text FROM pg_tables WHERE tablename LIKE 'classifier_%'",
    );
    assert_eq!(schemas, vec![vec![Some("ml_app".to_string())]]);
}

#[test]
fn a_project_that_does_not_load_fails_the_dry_run_with_pythons_words() {
    let python = common::django_venv();
    let (_tmp, project) = common::sample_project(20);
    let models = project.join("classifier/models.py");
    let mut text = std::fs::read_to_string(&models).unwrap();
    text.push_str("\nraise RuntimeError('broken on purpose by the test')\n");
    std::fs::write(&models, text).unwrap();

    let report = dry_run(dry_input(&python, &project), &mut |_| {}, no_cancel()).unwrap();

    assert!(!report.passed());
    assert!(report.drifted_apps.is_empty());
    assert!(
        report.migrate.is_none(),
        "migrate must not run on a project that does not load"
    );
    let log = report.makemigrations.text();
    assert!(
        log.contains("RuntimeError: broken on purpose by the test"),
        "{log}"
    );
    assert!(
        log.contains("Traceback"),
        "the whole traceback is kept: {log}"
    );
}
