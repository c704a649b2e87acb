//! Discover against the real sample project, through the real Python and Django of the
//! harness's virtualenv, and every bad input a user can give it.

mod common;

use dj2pg::django::{Method, discover};
use std::path::Path;
use std::process::Command;

/// Independent count of user tables and rows, straight from SQLite.
fn count_sqlite(path: &Path) -> (usize, u64) {
    let counts = common::sqlite_counts(path);
    (counts.len(), counts.iter().map(|(_, n)| n).sum())
}

/// A virtualenv without Django: the Python of a project whose venv is broken.
fn bare_venv(dir: &Path) -> std::path::PathBuf {
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
fn discovers_the_sample_project_through_real_django() {
    let python = common::django_venv();
    let (_tmp, project) = common::sample_project(600);
    let before = std::fs::read(project.join("db.sqlite3")).unwrap();

    // Point at the folder above the project: manage.py is found below it.
    let d = discover(project.parent().unwrap(), Some(&python)).expect("discovery");

    assert_eq!(d.method, Method::Introspected);
    assert!(
        d.django_version.as_deref().unwrap().starts_with("5.2"),
        "{:?}",
        d.django_version
    );
    assert_eq!(d.settings_module.as_deref(), Some("aiproto.settings"));
    assert_eq!(d.use_tz, Some(true));
    assert_eq!(d.time_zone.as_deref(), Some("UTC"));
    assert_eq!(d.postgres_driver.as_deref(), Some("psycopg"));
    let sqlite = d.sqlite.as_ref().expect("sqlite summary");
    assert_eq!(
        sqlite.path,
        project.join("db.sqlite3").canonicalize().unwrap()
    );
    let (tables, rows) = count_sqlite(&sqlite.path);
    assert_eq!(sqlite.tables.len(), tables);
    assert_eq!(sqlite.total_rows(), rows);
    assert!(rows >= 500, "the generator made {rows} rows");

    let classifier = d
        .apps
        .iter()
        .find(|a| a.label == "classifier")
        .expect("classifier app");
    assert!(classifier.local);
    assert_eq!(
        classifier.migration_files,
        ["0001_initial.py", "0002_default_labels.py"]
    );
    assert_eq!(classifier.data_migrations, ["0002_default_labels.py"]);
    let dataset = classifier
        .models
        .iter()
        .find(|m| m.table == "classifier_dataset")
        .unwrap();
    let name = dataset.fields.iter().find(|f| f.column == "name").unwrap();
    assert_eq!(
        (name.internal_type.as_str(), name.max_length),
        ("CharField", Some(100))
    );
    let auth = d.apps.iter().find(|a| a.label == "auth").unwrap();
    assert!(
        !auth.local,
        "django.contrib.auth lives in site-packages: never ours to touch"
    );
    assert!(
        d.warnings
            .iter()
            .any(|w| w.contains("0002_default_labels.py") && w.contains("data migration")),
        "{:?}",
        d.warnings
    );
    assert_eq!(
        std::fs::read(project.join("db.sqlite3")).unwrap(),
        before,
        "Discover must not write the SQLite file"
    );
}

#[test]
fn a_python_without_django_falls_back_to_a_static_scan_and_says_why() {
    let (tmp, project) = common::sample_project(300);
    let bare = bare_venv(tmp.path());
    let d = discover(&project, Some(&bare)).expect("static discovery");
    let Method::StaticScan { reason } = &d.method else {
        panic!("expected a static scan, got {:?}", d.method)
    };
    assert!(reason.contains("Django is not importable"), "{reason}");
    assert!(
        d.warnings.iter().any(|w| w.contains("static scan")),
        "{:?}",
        d.warnings
    );
    assert_eq!(d.settings_module.as_deref(), Some("aiproto.settings"));
    let (tables, _) = count_sqlite(&project.join("db.sqlite3"));
    assert_eq!(d.sqlite.as_ref().unwrap().tables.len(), tables);
    assert!(
        d.apps
            .iter()
            .any(|a| a.label == "classifier" && a.migration_files.len() == 2)
    );
}

#[test]
fn a_crashing_settings_module_shows_pythons_own_error() {
    let python = common::django_venv();
    let (_tmp, project) = common::sample_project(300);
    let settings = project.join("aiproto/settings.py");
    let mut text = std::fs::read_to_string(&settings).unwrap();
    text.push_str("\nraise RuntimeError('settings exploded: SECRET_SAUCE missing')\n");
    std::fs::write(&settings, text).unwrap();
    let d = discover(&project, Some(&python)).expect("falls back");
    let Method::StaticScan { reason } = &d.method else {
        panic!("{:?}", d.method)
    };
    assert!(
        reason.contains("settings exploded: SECRET_SAUCE missing"),
        "stderr not shown: {reason}"
    );
}

#[test]
fn a_non_sqlite_database_is_refused_by_name() {
    let python = common::django_venv();
    let (_tmp, project) = common::sample_project(300);
    let settings = project.join("aiproto/settings.py");
    let text = std::fs::read_to_string(&settings).unwrap().replace(
        "django.db.backends.sqlite3",
        "django.db.backends.postgresql",
    );
    std::fs::write(&settings, text).unwrap();
    let e = discover(&project, Some(&python)).unwrap_err().to_string();
    assert!(
        e.contains("django.db.backends.postgresql") && e.contains("not SQLite"),
        "{e}"
    );
}

#[test]
fn a_missing_or_corrupt_sqlite_file_is_named() {
    let python = common::django_venv();
    let (_tmp, project) = common::sample_project(300);
    let db = project.join("db.sqlite3");
    std::fs::rename(&db, project.join("elsewhere.sqlite3")).unwrap();
    let e = discover(&project, Some(&python)).unwrap_err().to_string();
    assert!(
        e.contains("db.sqlite3") && e.contains("does not exist"),
        "{e}"
    );
    std::fs::write(&db, b"definitely not a database, just some bytes").unwrap();
    let e = discover(&project, Some(&python)).unwrap_err().to_string();
    assert!(e.contains("is not a SQLite database"), "{e}");
}

#[test]
fn no_manage_py_says_where_it_looked() {
    let dir = tempfile::tempdir().unwrap();
    let e = discover(dir.path(), None).unwrap_err().to_string();
    assert!(e.contains("no manage.py") && e.contains("--project"), "{e}");
}

#[test]
fn a_static_scan_of_unreadable_settings_assumes_the_default_file_and_says_so() {
    let (tmp, project) = common::sample_project(300);
    let settings = project.join("aiproto/settings.py");
    let text = std::fs::read_to_string(&settings).unwrap().replace(
        "'ENGINE': 'django.db.backends.sqlite3',",
        "'ENGINE': os.environ.get('DB_ENGINE', 'django.db.backends.sqlite3'),",
    );
    assert!(
        text.contains("DB_ENGINE"),
        "the sample settings changed shape"
    );
    std::fs::write(&settings, text).unwrap();
    let bare = bare_venv(tmp.path());
    let d = discover(&project, Some(&bare)).expect("discovery");
    assert!(matches!(d.method, Method::StaticScan { .. }));
    assert!(
        d.warnings
            .iter()
            .any(|w| w.contains("is assumed to be the database")),
        "{:?}",
        d.warnings
    );
    assert!(d.sqlite.is_some());

    std::fs::remove_file(project.join("db.sqlite3")).unwrap();
    let e = discover(&project, Some(&bare)).unwrap_err().to_string();
    assert!(
        e.contains("cannot tell which database") && e.contains("Django is not importable"),
        "{e}"
    );
}
