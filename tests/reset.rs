//! The migration scan, the reset (a move into the backup) and restore, on temporary copies
//! of the sample project run by the real Django of the harness venv, with synthetic apps
//! for every case of the issue: RunSQL, SeparateDatabaseAndState, an external operation,
//! a squash, a cross-app dependency, MIGRATION_MODULES (relocated and None), a folder
//! without `__init__.py`, a symlinked app outside the project, stale `.pyc` files.

mod common;

use dj2pg::backup::{
    backup_request, read_manifest, record_regenerated, reset_migrations, restore, run_backup,
    sha256_file,
};
use dj2pg::data::backup::{
    EntryKind, MigrationFileKind, MigrationScan, MigrationWarning, MigrationsSetup,
};
use dj2pg::django::migrations::scan_migrations;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn app_pkg(project: &Path, name: &str) {
    write(&project.join(name).join("__init__.py"), "");
    write(&project.join(name).join("models.py"), "");
}

const HEADER: &str = "from django.db import migrations, models\n\n";

/// The sample project plus synthetic apps covering every warning, wired into settings.
fn project_with_synthetic_apps() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let python = common::django_venv();
    let (tmp, project) = common::sample_project(200);
    // extras: RunSQL (elidable), SeparateDatabaseAndState around RunPython, an operation from
    // django.contrib.postgres, a helper module, and a dependency on classifier's data migration.
    app_pkg(&project, "extras");
    let m = project.join("extras/migrations");
    write(&m.join("__init__.py"), "");
    write(
        &m.join("0001_initial.py"),
        &format!(
            "{HEADER}class Migration(migrations.Migration):\n    initial = True\n    dependencies = [('classifier', '0002_default_labels')]\n    operations = [migrations.CreateModel(name='Note', fields=[('id', models.AutoField(primary_key=True))])]\n"
        ),
    );
    write(
        &m.join("0002_sql.py"),
        &format!(
            "{HEADER}class Migration(migrations.Migration):\n    dependencies = [('extras', '0001_initial')]\n    operations = [migrations.RunSQL('CREATE INDEX note_x ON extras_note(id)', migrations.RunSQL.noop, elidable=True)]\n"
        ),
    );
    write(
        &m.join("0003_split.py"),
        &format!(
            "{HEADER}def fwd(apps, se):\n    pass\n\nclass Migration(migrations.Migration):\n    dependencies = [('extras', '0002_sql')]\n    operations = [\n        migrations.SeparateDatabaseAndState(\n            database_operations=[migrations.RunPython(fwd)],\n            state_operations=[],\n        ),\n    ]\n"
        ),
    );
    write(
        &m.join("0004_ext.py"),
        "from django.contrib.postgres.operations import CreateExtension\nfrom django.db import migrations\n\nclass Migration(migrations.Migration):\n    dependencies = [('extras', '0003_split')]\n    operations = [CreateExtension('pg_trgm')]\n",
    );
    write(&m.join("_helpers.py"), "X = 1\n");
    // squashy: a squashed migration.
    app_pkg(&project, "squashy");
    let m = project.join("squashy/migrations");
    write(&m.join("__init__.py"), "");
    write(
        &m.join("0001_squashed_0003_all.py"),
        &format!(
            "{HEADER}class Migration(migrations.Migration):\n    replaces = [('squashy', '0001_initial'), ('squashy', '0002_more'), ('squashy', '0003_all')]\n    operations = []\n"
        ),
    );
    // moved: migrations relocated by MIGRATION_MODULES; off: migrations disabled.
    app_pkg(&project, "moved");
    write(&project.join("moved/db_migrations/__init__.py"), "");
    write(
        &project.join("moved/db_migrations/0001_initial.py"),
        &format!("{HEADER}class Migration(migrations.Migration):\n    operations = []\n"),
    );
    app_pkg(&project, "off");
    write(&project.join("off/migrations/__init__.py"), "");
    write(
        &project.join("off/migrations/0001_initial.py"),
        &format!("{HEADER}class Migration(migrations.Migration):\n    operations = []\n"),
    );
    // noinit: a migrations folder without __init__.py.
    app_pkg(&project, "noinit");
    write(
        &project.join("noinit/migrations/0001_initial.py"),
        &format!("{HEADER}class Migration(migrations.Migration):\n    operations = []\n"),
    );
    // outside: an app that lives outside the project, symlinked into it.
    let outside = tmp.path().join("elsewhere/outside");
    write(&outside.join("__init__.py"), "");
    write(&outside.join("migrations/__init__.py"), "");
    write(
        &outside.join("migrations/0001_initial.py"),
        &format!("{HEADER}class Migration(migrations.Migration):\n    operations = []\n"),
    );
    std::os::unix::fs::symlink(&outside, project.join("outside")).unwrap();

    let settings = project.join("aiproto/settings.py");
    let mut text = std::fs::read_to_string(&settings).unwrap();
    text.push_str(
        "\nINSTALLED_APPS += ['extras', 'squashy', 'moved', 'off', 'noinit', 'outside']\n\
         MIGRATION_MODULES = {'moved': 'moved.db_migrations', 'off': None}\n",
    );
    std::fs::write(&settings, text).unwrap();

    // A stale compiled file: its .py is gone (what `find -delete` leaves behind).
    common::compile_all(&python, &project.join("classifier/migrations"));
    write(
        &project.join("classifier/migrations/__pycache__/0003_gone.cpython-312.pyc"),
        "stale",
    );
    (tmp, project, python)
}

fn warnings_of(scan: &MigrationScan, app: &str, file: &str) -> Vec<MigrationWarning> {
    scan.app(app)
        .unwrap_or_else(|| panic!("no app {app}"))
        .files
        .iter()
        .find(|f| f.rel_path == file)
        .unwrap_or_else(|| panic!("{app}: no {file} in {:?}", scan.app(app)))
        .warnings
        .clone()
}

#[test]
fn scan_of_the_sample_project_lists_its_files_and_its_data_migration() {
    let python = common::django_venv();
    let (_tmp, project) = common::sample_project(100);
    common::compile_all(&python, &project.join("classifier/migrations"));
    let scan = scan_migrations(&python, &project, None).expect("scan");
    let app = scan.app("classifier").unwrap();
    assert!(app.local && app.resettable());
    assert_eq!(app.setup, MigrationsSetup::Standard);
    let py: Vec<&str> = app
        .files
        .iter()
        .filter(|f| f.kind == MigrationFileKind::Migration)
        .map(|f| f.rel_path.as_str())
        .collect();
    assert_eq!(py, ["0001_initial.py", "0002_default_labels.py"]);
    // __init__.py stays; the compiled files (with __init__'s) go.
    assert!(app.files.iter().all(|f| f.rel_path != "__init__.py"));
    let compiled: Vec<&str> = app
        .files
        .iter()
        .filter(|f| f.kind == MigrationFileKind::Compiled)
        .map(|f| f.rel_path.as_str())
        .collect();
    assert_eq!(compiled.len(), 3, "{compiled:?}");
    assert!(compiled.iter().all(|c| c.starts_with("__pycache__/")));
    assert_eq!(
        warnings_of(&scan, "classifier", "0002_default_labels.py"),
        [MigrationWarning::RunPython { elidable: false }]
    );
    assert!(warnings_of(&scan, "classifier", "0001_initial.py").is_empty());
    // Third-party apps are listed, never with files.
    let auth = scan.app("auth").unwrap();
    assert!(!auth.local && auth.files.is_empty() && !auth.resettable());
    let hints = scan.keep_hints(&["classifier".into()], false);
    assert!(
        hints.iter().any(|h| h.contains("0002_default_labels.py")),
        "{hints:?}"
    );
    assert_eq!(scan.keep_hints(&["classifier".into()], true).len(), 2);
    assert_eq!(scan.select("all").unwrap(), ["classifier"]);
    assert_eq!(scan.select("none").unwrap(), Vec::<String>::new());
    assert!(scan.select("auth").unwrap_err().contains("third-party"));
    assert!(scan.select("nope").unwrap_err().contains("nope"));
    let (files, bytes) = scan.totals(&["classifier".into()]);
    assert_eq!(files, 5);
    assert!(bytes > 1000);
}

#[test]
fn scan_of_synthetic_apps_reports_every_case() {
    let (_tmp, project, python) = project_with_synthetic_apps();
    let scan = scan_migrations(&python, &project, None).expect("scan");

    assert_eq!(
        warnings_of(&scan, "extras", "0002_sql.py"),
        [MigrationWarning::RunSql { elidable: true }]
    );
    assert_eq!(
        warnings_of(&scan, "extras", "0003_split.py"),
        [
            MigrationWarning::SeparateDatabaseAndState,
            MigrationWarning::RunPython { elidable: false }
        ]
    );
    assert_eq!(
        warnings_of(&scan, "extras", "0004_ext.py"),
        [MigrationWarning::ExternalOperation {
            name: "django.contrib.postgres.operations.CreateExtension".into()
        }]
    );
    assert_eq!(
        warnings_of(&scan, "extras", "_helpers.py"),
        [MigrationWarning::NotAMigration]
    );
    assert_eq!(
        warnings_of(&scan, "squashy", "0001_squashed_0003_all.py"),
        [MigrationWarning::Squashed {
            replaces: vec![
                "squashy.0001_initial".into(),
                "squashy.0002_more".into(),
                "squashy.0003_all".into()
            ]
        }]
    );
    // The cross-app dependency is reported on the migration it names.
    assert_eq!(
        warnings_of(&scan, "classifier", "0002_default_labels.py"),
        [
            MigrationWarning::RunPython { elidable: false },
            MigrationWarning::DependedOnBy {
                app: "extras".into(),
                migration: "0001_initial".into(),
                local: true
            }
        ]
    );
    // ... and disappears from the warnings when extras is reset as well.
    let alone = scan.warnings_for_selection(&["classifier".into()]);
    assert!(
        alone
            .iter()
            .any(|(_, _, m)| m.contains("NodeNotFoundError")),
        "{alone:?}"
    );
    let both = scan.warnings_for_selection(&["classifier".into(), "extras".into()]);
    assert!(
        !both.iter().any(|(_, _, m)| m.contains("NodeNotFoundError")),
        "{both:?}"
    );
    // Stale compiled file.
    assert_eq!(
        warnings_of(&scan, "classifier", "__pycache__/0003_gone.cpython-312.pyc"),
        [MigrationWarning::StaleCompiled]
    );
    // MIGRATION_MODULES: relocated, and None.
    let moved = scan.app("moved").unwrap();
    assert_eq!(
        moved.setup,
        MigrationsSetup::Relocated {
            module: "moved.db_migrations".into()
        }
    );
    assert!(
        moved
            .migrations_dir
            .as_ref()
            .unwrap()
            .ends_with("moved/db_migrations")
    );
    assert_eq!(moved.files.len(), 1);
    let off = scan.app("off").unwrap();
    assert_eq!(off.setup, MigrationsSetup::Disabled);
    assert!(off.files.is_empty() && !off.resettable());
    // A folder without __init__.py is ignored by Django: nothing to reset, and a note.
    let noinit = scan.app("noinit").unwrap();
    assert_eq!(noinit.setup, MigrationsSetup::NoInitPy);
    assert!(noinit.files.is_empty());
    assert!(noinit.notes.iter().any(|n| n.contains("__init__.py")));
    // A symlinked app outside the project is third-party: kept.
    let outside = scan.app("outside").unwrap();
    assert!(!outside.local && outside.files.is_empty());
}

#[test]
fn reset_refuses_third_party_and_outside_apps_and_a_changed_folder() {
    let (_tmp, project, python) = project_with_synthetic_apps();
    let d = dj2pg::django::discover(&project, Some(&python)).expect("discover");
    let report = run_backup(
        backup_request(&d, None),
        &mut |_| {},
        Arc::new(AtomicBool::new(false)),
    )
    .unwrap();
    assert!(report.verified(), "{report:#?}");
    let backup = report.backup_dir.clone();
    let mut scan = scan_migrations(&python, &project, None).expect("scan");
    let before = common::tree_hashes(&project, &[".dj2pg"]);
    for app in ["auth", "outside", "off"] {
        let err = reset_migrations(&project, &backup, &scan, &[app.to_string()], &mut |_| {})
            .expect_err(app);
        let msg = format!("{err:#}");
        assert!(
            msg.contains("third-party") || msg.contains("no migrations folder"),
            "{app}: {msg}"
        );
    }
    // A symlink smuggled into a scan (as if Discover had been fooled) is still refused.
    let outside = scan.apps.iter_mut().find(|a| a.label == "outside").unwrap();
    outside.local = true;
    let err = reset_migrations(&project, &backup, &scan, &["outside".into()], &mut |_| {})
        .expect_err("outside the project");
    assert!(
        format!("{err:#}").contains("outside the project"),
        "{err:#}"
    );
    // A file added after the preview stops the reset before anything moves.
    write(
        &project.join("classifier/migrations/0003_new.py"),
        "x = 1\n",
    );
    let err = reset_migrations(
        &project,
        &backup,
        &scan,
        &["classifier".into()],
        &mut |_| {},
    )
    .expect_err("changed since the preview");
    assert!(format!("{err:#}").contains("0003_new.py"), "{err:#}");
    std::fs::remove_file(project.join("classifier/migrations/0003_new.py")).unwrap();
    assert_eq!(common::tree_hashes(&project, &[".dj2pg"]), before);

    // The cross-app warning is real: resetting classifier alone breaks extras' migration
    // graph exactly as the scan said; restore mends it.
    let out = common::manage_py(&python, &project, &["showmigrations", "classifier"], &[]);
    assert!(out.status.success(), "{}", common::output_text(&out));
    reset_migrations(
        &project,
        &backup,
        &scan,
        &["classifier".into()],
        &mut |_| {},
    )
    .expect("reset");
    let out = common::manage_py(&python, &project, &["showmigrations", "classifier"], &[]);
    let text = common::output_text(&out);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("NodeNotFoundError") && text.contains("0002_default_labels"),
        "{text}"
    );
    let r = restore(&project, &backup, false).unwrap();
    assert!(r.applied && r.conflicts.is_empty(), "{r:#?}");
    assert_eq!(common::tree_hashes(&project, &[".dj2pg"]), before);
    let out = common::manage_py(&python, &project, &["showmigrations", "classifier"], &[]);
    assert!(out.status.success(), "{}", common::output_text(&out));
}

#[test]
fn reset_moves_exactly_the_preview_the_app_still_imports_and_restore_is_byte_identical() {
    let python = common::django_venv();
    let (_tmp, project) = common::sample_project(200);
    common::compile_all(&python, &project.join("classifier/migrations"));
    write(
        &project.join("classifier/migrations/__pycache__/0009_gone.cpython-312.pyc"),
        "stale",
    );
    let d = dj2pg::django::discover(&project, Some(&python)).expect("discover");
    let report = run_backup(
        backup_request(&d, None),
        &mut |_| {},
        Arc::new(AtomicBool::new(false)),
    )
    .unwrap();
    assert!(report.verified(), "{report:#?}");
    let backup = report.backup_dir.clone();
    let scan = scan_migrations(&python, &project, None).expect("scan");
    let preview: Vec<String> = scan
        .app("classifier")
        .unwrap()
        .files
        .iter()
        .map(|f| f.rel_path.clone())
        .collect();
    let before = common::tree_hashes(&project, &[".dj2pg"]);

    let moved = reset_migrations(
        &project,
        &backup,
        &scan,
        &["classifier".into()],
        &mut |_| {},
    )
    .expect("reset");
    let mut moved_names: Vec<String> = moved
        .moved
        .iter()
        .map(|m| {
            m.original
                .strip_prefix("classifier/migrations")
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    moved_names.sort();
    let mut preview_sorted = preview.clone();
    preview_sorted.sort();
    assert_eq!(moved_names, preview_sorted);
    // Left: only __init__.py (and the emptied __pycache__ folder); everything else archived
    // with its hash.
    let left = common::tree_hashes(&project.join("classifier/migrations"), &[]);
    assert_eq!(left.keys().collect::<Vec<_>>(), ["__init__.py"]);
    for m in &moved.moved {
        assert_eq!(sha256_file(&backup.join(&m.archived)).unwrap().0, m.sha256);
        assert_eq!(before[&m.original.to_string_lossy().into_owned()], m.sha256);
    }
    let manifest = read_manifest(&backup).unwrap();
    assert_eq!(
        manifest
            .entries
            .iter()
            .filter(|e| e.kind == EntryKind::ResetMoved)
            .count(),
        preview.len()
    );
    // The app still imports and the project still checks.
    let out = common::manage_py(&python, &project, &["check"], &[]);
    assert!(out.status.success(), "{}", common::output_text(&out));

    // makemigrations regenerates (this is the Django-commands step; here to be realistic),
    // its output is recorded, and restore swaps everything back byte for byte.
    let out = common::manage_py(&python, &project, &["makemigrations", "classifier"], &[]);
    assert!(out.status.success(), "{}", common::output_text(&out));
    assert!(
        project
            .join("classifier/migrations/0001_initial.py")
            .is_file()
    );
    let regenerated = record_regenerated(&project, &backup).unwrap();
    assert_eq!(regenerated.len(), 1, "{regenerated:?}");

    let r = restore(&project, &backup, false).expect("restore");
    assert!(r.applied && r.conflicts.is_empty(), "{r:#?}");
    assert_eq!(r.restored.len(), preview.len());
    assert_eq!(r.displaced.len(), 1);
    let archived_new = backup.join(&r.displaced[0].archived);
    assert!(archived_new.starts_with(backup.join("regenerated")));
    assert_eq!(sha256_file(&archived_new).unwrap().0, regenerated[0].sha256);
    assert_eq!(
        common::tree_hashes(&project, &[".dj2pg"]),
        before,
        "the tree is not byte-identical"
    );

    // A second restore changes nothing and says everything is in place.
    let again = restore(&project, &backup, false).unwrap();
    assert!(
        again.restored.is_empty() && again.displaced.is_empty(),
        "{again:#?}"
    );
    assert_eq!(again.already_in_place.len(), preview.len());
    assert_eq!(common::tree_hashes(&project, &[".dj2pg"]), before);
}

#[test]
fn restore_lists_a_file_changed_after_the_reset_and_only_moves_it_with_yes() {
    let python = common::django_venv();
    let (_tmp, project) = common::sample_project(100);
    let d = dj2pg::django::discover(&project, Some(&python)).expect("discover");
    let report = run_backup(
        backup_request(&d, None),
        &mut |_| {},
        Arc::new(AtomicBool::new(false)),
    )
    .unwrap();
    let backup = report.backup_dir.clone();
    let scan = scan_migrations(&python, &project, None).expect("scan");
    let before = common::tree_hashes(&project, &[".dj2pg"]);
    reset_migrations(
        &project,
        &backup,
        &scan,
        &["classifier".into()],
        &mut |_| {},
    )
    .expect("reset");
    let out = common::manage_py(&python, &project, &["makemigrations", "classifier"], &[]);
    assert!(out.status.success(), "{}", common::output_text(&out));
    record_regenerated(&project, &backup).unwrap();
    // The user edits the regenerated migration and adds one of their own.
    let new = project.join("classifier/migrations/0001_initial.py");
    let mut text = std::fs::read_to_string(&new).unwrap();
    text.push_str("# edited by hand\n");
    std::fs::write(&new, &text).unwrap();
    write(
        &project.join("classifier/migrations/0002_mine.py"),
        "# mine\n",
    );
    let edited = common::tree_hashes(&project, &[".dj2pg"]);

    // Without --yes: the conflicts are listed and nothing moves (also through the binary).
    let r = restore(&project, &backup, false).unwrap();
    assert!(!r.applied, "{r:#?}");
    let paths: Vec<String> = r
        .conflicts
        .iter()
        .map(|c| c.path.to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        paths,
        [
            "classifier/migrations/0001_initial.py",
            "classifier/migrations/0002_mine.py"
        ]
    );
    assert_eq!(common::tree_hashes(&project, &[".dj2pg"]), edited);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dj2pg"))
        .args(["restore", "--project"])
        .arg(&project)
        .arg("--backup")
        .arg(&backup)
        .output()
        .unwrap();
    let text_out = common::output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{text_out}");
    assert!(
        text_out.contains("CONFLICT   classifier/migrations/0001_initial.py"),
        "{text_out}"
    );
    assert!(text_out.contains("nothing was changed"), "{text_out}");
    assert_eq!(common::tree_hashes(&project, &[".dj2pg"]), edited);

    // With --yes: the edited files go into the archive (kept, with their hashes) and the
    // old tree comes back byte for byte.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dj2pg"))
        .args(["restore", "--yes", "--project"])
        .arg(&project)
        .arg("--backup")
        .arg(&backup)
        .output()
        .unwrap();
    let text_out = common::output_text(&out);
    assert!(out.status.success(), "{text_out}");
    assert!(text_out.contains("restore done"), "{text_out}");
    assert_eq!(common::tree_hashes(&project, &[".dj2pg"]), before);
    let m = read_manifest(&backup).unwrap();
    let displaced: Vec<_> = m
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::RestoreDisplaced)
        .collect();
    assert_eq!(displaced.len(), 2);
    for e in displaced {
        let key = e.original.to_string_lossy().into_owned();
        assert_eq!(
            sha256_file(&backup.join(&e.archived)).unwrap().0,
            edited[&key],
            "{key}"
        );
    }
}

#[test]
fn restore_puts_back_a_recorded_settings_backup() {
    let python = common::django_venv();
    let (_tmp, project) = common::sample_project(50);
    let d = dj2pg::django::discover(&project, Some(&python)).expect("discover");
    let report = run_backup(
        backup_request(&d, None),
        &mut |_| {},
        Arc::new(AtomicBool::new(false)),
    )
    .unwrap();
    let backup = report.backup_dir.clone();
    // What the Update settings step will do: keep the old file in the backup, record it
    // (with the hash of what it wrote), rewrite settings.py.
    let settings = project.join("aiproto/settings.py");
    let (old_sha, size) = sha256_file(&settings).unwrap();
    std::fs::create_dir_all(backup.join("settings")).unwrap();
    std::fs::copy(&settings, backup.join("settings/settings.py")).unwrap();
    std::fs::write(&settings, "# rewritten by dj2pg\n").unwrap();
    let (new_sha, _) = sha256_file(&settings).unwrap();
    dj2pg::backup::add_entries(
        &backup,
        vec![dj2pg::data::backup::ManifestEntry {
            kind: EntryKind::SettingsBackup,
            original: "aiproto/settings.py".into(),
            archived: "settings/settings.py".into(),
            sha256: old_sha.clone(),
            size,
            replaced_by_sha256: Some(new_sha),
            app: None,
        }],
    )
    .unwrap();
    // The user edited the rewritten file: a conflict, nothing changes without --yes.
    std::fs::write(&settings, "# rewritten by dj2pg\n# and edited\n").unwrap();
    let r = restore(&project, &backup, false).unwrap();
    assert!(!r.applied, "{r:#?}");
    assert_eq!(r.conflicts.len(), 1);
    assert_eq!(r.conflicts[0].path, Path::new("aiproto/settings.py"));
    assert_eq!(
        std::fs::read_to_string(&settings).unwrap(),
        "# rewritten by dj2pg\n# and edited\n"
    );
    std::fs::write(&settings, "# rewritten by dj2pg\n").unwrap();

    let r = restore(&project, &backup, false).unwrap();
    assert!(r.applied && r.conflicts.is_empty(), "{r:#?}");
    assert_eq!(sha256_file(&settings).unwrap().0, old_sha);
    assert!(r.notes.iter().any(|n| n.contains("no reset")), "{r:#?}");
    // The rewritten file is kept in the archive.
    assert_eq!(r.displaced.len(), 1);
    assert_eq!(
        std::fs::read_to_string(backup.join(&r.displaced[0].archived)).unwrap(),
        "# rewritten by dj2pg\n"
    );
}

#[test]
fn a_move_failing_halfway_puts_back_what_was_moved() {
    let python = common::django_venv();
    let (_tmp, project) = common::sample_project(50);
    let migrations = project.join("classifier/migrations");
    common::compile_all(&python, &migrations);
    let d = dj2pg::django::discover(&project, Some(&python)).expect("discover");
    let report = run_backup(
        backup_request(&d, None),
        &mut |_| {},
        Arc::new(AtomicBool::new(false)),
    )
    .unwrap();
    let backup = report.backup_dir.clone();
    let scan = scan_migrations(&python, &project, None).expect("scan");
    let before = common::tree_hashes(&project, &[".dj2pg"]);
    // The .py files move first; the compiled ones cannot leave a read-only __pycache__.
    let guard = common::ReadOnlyDir::new(&migrations.join("__pycache__"));
    let err = reset_migrations(
        &project,
        &backup,
        &scan,
        &["classifier".into()],
        &mut |_| {},
    )
    .expect_err("the __pycache__ folder is read-only");
    drop(guard);
    let msg = format!("{err:#}");
    assert!(
        msg.contains("every file moved so far was put back"),
        "{msg}"
    );
    assert!(msg.contains("__pycache__"), "{msg}");
    assert_eq!(common::tree_hashes(&project, &[".dj2pg"]), before);
    assert!(read_manifest(&backup).unwrap().reset.is_none());
    // A read-only migrations folder: nothing moves at all.
    let guard = common::ReadOnlyDir::new(&migrations);
    let err = reset_migrations(
        &project,
        &backup,
        &scan,
        &["classifier".into()],
        &mut |_| {},
    )
    .expect_err("read-only migrations folder");
    drop(guard);
    assert!(format!("{err:#}").contains("0001_initial.py"), "{err:#}");
    assert_eq!(common::tree_hashes(&project, &[".dj2pg"]), before);
}

#[test]
fn restore_reads_the_update_settings_steps_backup_list_and_takes_the_oldest_copy() {
    let python = common::django_venv();
    let (_tmp, project) = common::sample_project(50);
    let d = dj2pg::django::discover(&project, Some(&python)).expect("discover");
    let report = run_backup(
        backup_request(&d, None),
        &mut |_| {},
        Arc::new(AtomicBool::new(false)),
    )
    .unwrap();
    let backup = report.backup_dir.clone();
    let settings = project.join("aiproto/settings.py").canonicalize().unwrap();
    let env_example = project.join(".env.example");
    std::fs::write(&env_example, "OLD=1\n").unwrap();
    let (settings_sha, _) = sha256_file(&settings).unwrap();
    let (env_sha, _) = sha256_file(&env_example).unwrap();
    let before = common::tree_hashes(&project, &[".dj2pg"]);
    // settings-backup.json as the Update settings step writes it: absolute paths, and here
    // two rewrites (the second backed up dj2pg's own first output).
    std::fs::create_dir_all(backup.join("settings/aiproto")).unwrap();
    std::fs::copy(&settings, backup.join("settings/aiproto/settings.py")).unwrap();
    std::fs::write(
        backup.join("settings/aiproto/settings.py.1"),
        "# first rewrite\n",
    )
    .unwrap();
    std::fs::copy(&env_example, backup.join("settings/.env.example")).unwrap();
    let (first_sha, _) = sha256_file(&backup.join("settings/aiproto/settings.py.1")).unwrap();
    let records = serde_json::json!([
        {"kind": "settings", "original": settings, "archived": backup.join("settings/aiproto/settings.py"), "sha256": settings_sha},
        {"kind": "env-example", "original": env_example.canonicalize().unwrap(), "archived": backup.join("settings/.env.example"), "sha256": env_sha},
        {"kind": "settings", "original": settings, "archived": backup.join("settings/aiproto/settings.py.1"), "sha256": first_sha},
    ]);
    std::fs::write(
        backup.join(dj2pg::backup::SETTINGS_BACKUP_FILE),
        records.to_string(),
    )
    .unwrap();
    std::fs::write(&settings, "# second rewrite\n").unwrap();
    std::fs::write(&env_example, "DATABASE_URL=\n").unwrap();

    let r = restore(&project, &backup, false).unwrap();
    assert!(r.applied && r.conflicts.is_empty(), "{r:#?}");
    assert_eq!(r.restored.len(), 2, "{r:#?}");
    assert_eq!(common::tree_hashes(&project, &[".dj2pg"]), before);
    // What dj2pg had written is kept in the archive.
    let kept: Vec<String> = r
        .displaced
        .iter()
        .map(|m| std::fs::read_to_string(backup.join(&m.archived)).unwrap())
        .collect();
    assert!(kept.contains(&"# second rewrite\n".to_string()), "{kept:?}");
}
