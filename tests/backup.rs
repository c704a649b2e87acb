//! The Backup step against real files: the sample project (real Django from the harness
//! venv), real SQLite files in WAL and rollback mode, other connections holding them open,
//! and every bad input of the issue (corrupt, not SQLite, locked, unwritable, full disk).

mod common;

use dj2pg::backup::{
    MANIFEST_FILE, backup_request, ensure_gitignore, git_state, read_manifest, run_backup,
    sha256_file,
};
use dj2pg::data::backup::{
    BackupOutcome, BackupReport, BackupRequest, CheckKind, CheckStatus, EntryKind, GitState,
    GitignoreChange,
};
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

fn run(req: BackupRequest) -> (BackupReport, Vec<String>) {
    let mut lines = Vec::new();
    let report = run_backup(
        req,
        &mut |l| lines.push(l),
        Arc::new(AtomicBool::new(false)),
    )
    .expect("run_backup");
    (report, lines)
}

fn request(project: &Path, db: Option<PathBuf>) -> BackupRequest {
    BackupRequest {
        project_dir: project.to_path_buf(),
        sqlite: db,
        backup_dir: None,
        apps: Vec::new(),
        busy_timeout_ms: 500,
    }
}

fn failure(report: &BackupReport) -> &str {
    match &report.outcome {
        BackupOutcome::Failed { message } => message,
        BackupOutcome::Verified => panic!("expected a failure, got {report:#?}"),
    }
}

/// A project folder with just a database file (no Django needed for SQLite-only cases).
fn bare_project() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("proj");
    std::fs::create_dir(&project).unwrap();
    (tmp, project)
}

fn make_db(path: &Path, rows: usize) {
    let c = Connection::open(path).unwrap();
    c.execute_batch(
        "CREATE TABLE item (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, n INTEGER);
         CREATE INDEX item_name ON item(name);
         CREATE TABLE tag (id INTEGER PRIMARY KEY, label TEXT);",
    )
    .unwrap();
    let tx = c.unchecked_transaction().unwrap();
    for i in 0..rows {
        tx.execute(
            "INSERT INTO item (name, n) VALUES (?1, ?2)",
            rusqlite::params![format!("item-{i:06}-{}", "x".repeat(i % 50)), i as i64],
        )
        .unwrap();
    }
    tx.execute("INSERT INTO tag (label) VALUES ('a'), ('b')", [])
        .unwrap();
    tx.commit().unwrap();
}

fn count(db: &Path, table: &str) -> u64 {
    let c = Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    c.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| {
        r.get::<_, i64>(0)
    })
    .unwrap() as u64
}

/// Nothing of ours is left in the project: no `.dj2pg` folder, no `.gitignore` written.
fn assert_nothing_left(project: &Path) {
    assert!(
        !project.join(".dj2pg").exists(),
        "a failed backup left {} behind",
        project.join(".dj2pg").display()
    );
    assert!(
        !project.join(".gitignore").exists(),
        "a failed backup touched .gitignore"
    );
}

#[test]
fn sample_project_backup_is_verified_and_its_manifest_hashes_match() {
    let python = common::django_venv();
    let (_tmp, project) = common::sample_project(800);
    common::compile_all(&python, &project.join("classifier/migrations"));
    let d = dj2pg::django::discover(&project, Some(&python)).expect("discover");
    let db = project.join("db.sqlite3");
    let (db_sha, _) = sha256_file(&db).unwrap();

    let (report, _) = run(backup_request(&d, None));
    assert!(report.verified(), "{report:#?}");
    for item in &report.checklist {
        assert!(
            matches!(item.status, CheckStatus::Ok | CheckStatus::Warning),
            "{:?} is {:?}: {}",
            item.kind,
            item.status,
            item.summary
        );
    }
    // The folder is the default one, inside the project, and git-ignored.
    let dir = &report.backup_dir;
    assert!(dir.starts_with(project.canonicalize().unwrap().join(".dj2pg/backups")));
    // The sample project has a .gitignore: one line is appended.
    assert_eq!(report.gitignore, Some(GitignoreChange::Appended));
    let ignore = std::fs::read_to_string(project.join(".gitignore")).unwrap();
    assert_eq!(
        ignore.lines().filter(|l| *l == ".dj2pg/").count(),
        1,
        "{ignore}"
    );

    // The copy: integrity ok, counts equal the source's (read independently), hash right.
    let b = report.sqlite.as_ref().unwrap();
    let copy = dir.join("db.sqlite3");
    assert_eq!(b.integrity, "ok");
    assert!(!dir.join("db.sqlite3.partial").exists());
    let source_counts = common::sqlite_counts(&db);
    let copy_counts = common::sqlite_counts(&copy);
    assert_eq!(source_counts, copy_counts);
    assert!(source_counts.iter().map(|(_, n)| n).sum::<u64>() > 500);
    for (table, n) in &source_counts {
        let t = b.tables.iter().find(|t| &t.table == table).unwrap();
        assert_eq!((t.source_rows, t.copy_rows), (*n, *n), "{table}");
    }
    assert_eq!(sha256_file(&copy).unwrap(), (b.sha256.clone(), b.size));
    // The user's file was not modified.
    assert_eq!(sha256_file(&db).unwrap().0, db_sha);

    // Every manifest entry's archived file has the recorded hash; every file of the
    // migrations folder (with __pycache__) is archived.
    let m = read_manifest(dir).unwrap();
    assert_eq!(m.sqlite.as_ref(), Some(b));
    for e in &m.entries {
        let (sha, size) = sha256_file(&dir.join(&e.archived)).unwrap();
        assert_eq!((sha, size), (e.sha256.clone(), e.size), "{e:?}");
    }
    let archived: Vec<String> = m
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::MigrationArchive)
        .map(|e| e.original.to_string_lossy().into_owned())
        .collect();
    let on_disk: Vec<String> = common::tree_hashes(&project.join("classifier/migrations"), &[])
        .into_keys()
        .map(|k| format!("classifier/migrations/{k}"))
        .collect();
    assert!(
        on_disk.iter().any(|p| p.contains("__pycache__/")),
        "{on_disk:?}"
    );
    let mut archived_sorted = archived.clone();
    archived_sorted.sort();
    assert_eq!(archived_sorted, on_disk);
    assert!(dir.join(MANIFEST_FILE).is_file());
}

#[test]
fn wal_backup_holds_committed_wal_rows_not_uncommitted_ones_and_leaves_the_source_alone() {
    let (_tmp, project) = bare_project();
    let db = project.join("db.sqlite3");
    make_db(&db, 2000);
    // A running app: WAL mode, no automatic checkpoint, 300 committed rows only in the WAL.
    let app = Connection::open(&db).unwrap();
    let mode: String = app
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    app.execute_batch("PRAGMA wal_autocheckpoint=0").unwrap();
    app.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .unwrap();
    let main_before = std::fs::read(&db).unwrap();
    for i in 0..300 {
        app.execute("INSERT INTO item (name, n) VALUES ('wal', ?1)", [i])
            .unwrap();
    }
    // Another connection is in the middle of a transaction it has not committed.
    let writer = Connection::open(&db).unwrap();
    writer.execute_batch("BEGIN IMMEDIATE").unwrap();
    for i in 0..50 {
        writer
            .execute("INSERT INTO item (name, n) VALUES ('uncommitted', ?1)", [i])
            .unwrap();
    }
    let wal = project.join("db.sqlite3-wal");
    assert!(
        std::fs::metadata(&wal).unwrap().len() > 0,
        "the rows should sit in the WAL"
    );
    assert_eq!(
        std::fs::read(&db).unwrap(),
        main_before,
        "the WAL rows are not in the main file"
    );

    let (report, _) = run(request(&project, Some(db.clone())));
    assert!(report.verified(), "{report:#?}");
    let b = report.sqlite.as_ref().unwrap();
    assert_eq!(b.source_journal_mode, "wal");
    assert!(b.source_wal_bytes > 0);
    let copy = report.backup_dir.join("db.sqlite3");
    assert_eq!(
        count(&copy, "item"),
        2300,
        "committed WAL rows in, uncommitted out"
    );
    let c = Connection::open_with_flags(&copy, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let uncommitted: i64 = c
        .query_row(
            "SELECT count(*) FROM item WHERE name = 'uncommitted'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(uncommitted, 0);
    // A single self-contained file in rollback mode: nothing else in the folder.
    drop(c);
    let mut names: Vec<String> = std::fs::read_dir(&report.backup_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["db.sqlite3", "manifest.json"]);
    assert_eq!(
        sha256_file(&copy).unwrap().0,
        b.sha256,
        "opening the copy changed it"
    );
    assert_eq!(
        std::fs::read(&db).unwrap(),
        main_before,
        "the source's main file was modified"
    );
    writer.execute_batch("COMMIT").unwrap();
    assert_eq!(count(&db, "item"), 2350);
}

#[test]
fn backup_while_another_connection_keeps_writing_is_one_consistent_snapshot() {
    let (_tmp, project) = bare_project();
    let db = project.join("db.sqlite3");
    make_db(&db, 20_000);
    Connection::open(&db)
        .unwrap()
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get::<_, String>(0))
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (db, stop) = (db.clone(), stop.clone());
        std::thread::spawn(move || {
            let c = Connection::open(&db).unwrap();
            c.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                // Two tables in one transaction: a torn copy would show them out of step.
                let tx = c.unchecked_transaction().unwrap();
                tx.execute("INSERT INTO item (name, n) VALUES ('live', 1)", [])
                    .unwrap();
                tx.execute("INSERT INTO tag (label) VALUES ('live')", [])
                    .unwrap();
                tx.commit().unwrap();
                n += 1;
            }
            n
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(100));
    let (report, _) = run(request(&project, Some(db.clone())));
    stop.store(true, Ordering::Relaxed);
    let written = writer.join().unwrap();
    assert!(written > 0);
    assert!(report.verified(), "{report:#?}");
    let copy = report.backup_dir.join("db.sqlite3");
    let items = count(&copy, "item");
    let tags = count(&copy, "tag");
    assert_eq!(items - 20_000, tags - 2, "the copy is not one snapshot");
    assert!(items <= 20_000 + written);
}

#[test]
fn a_source_failing_its_integrity_check_stops_with_the_checkers_words_and_leaves_nothing() {
    let (_tmp, project) = bare_project();
    let db = project.join("db.sqlite3");
    make_db(&db, 500);
    {
        // Make the index describe another column than the one it holds: a real
        // inconsistency `PRAGMA integrity_check` reports, while the table stays readable.
        let c = Connection::open(&db).unwrap();
        c.execute_batch(
            "PRAGMA writable_schema=ON;
             UPDATE sqlite_master SET sql = 'CREATE INDEX item_name ON item(n)' WHERE name = 'item_name';
             PRAGMA writable_schema=OFF;",
        )
        .unwrap();
    }
    let before = sha256_file(&db).unwrap();
    let (report, _) = run(request(&project, Some(db.clone())));
    let msg = failure(&report);
    assert_eq!(
        report.item(CheckKind::Integrity).unwrap().status,
        CheckStatus::Failed
    );
    assert!(msg.contains("integrity check"), "{msg}");
    assert!(
        msg.contains("item_name"),
        "the checker's words are missing: {msg}"
    );
    assert!(msg.contains(&db.display().to_string()), "{msg}");
    assert_nothing_left(&project);
    assert_eq!(sha256_file(&db).unwrap(), before);
}

#[test]
fn a_text_file_named_db_sqlite3_and_an_encrypted_one_are_not_sqlite() {
    for (what, bytes) in [
        ("text", b"this is not a database\n".to_vec()),
        (
            "random",
            (0..4096u32)
                .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
                .collect(),
        ),
    ] {
        let (_tmp, project) = bare_project();
        let db = project.join("db.sqlite3");
        std::fs::write(&db, &bytes).unwrap();
        let (report, _) = run(request(&project, Some(db.clone())));
        let msg = failure(&report);
        assert!(msg.contains("is not an SQLite database"), "{what}: {msg}");
        assert!(msg.contains("encrypted"), "{what}: {msg}");
        assert!(msg.contains(&db.display().to_string()), "{what}: {msg}");
        assert_eq!(
            report.item(CheckKind::SqliteCopy).unwrap().status,
            CheckStatus::Failed
        );
        assert_nothing_left(&project);
        assert_eq!(std::fs::read(&db).unwrap(), bytes);
    }
}

#[test]
fn a_database_locked_by_a_writer_fails_after_the_busy_timeout_naming_the_file() {
    let (_tmp, project) = bare_project();
    let db = project.join("db.sqlite3");
    make_db(&db, 100);
    // Rollback-journal mode: an exclusive transaction keeps every reader out.
    let holder = Connection::open(&db).unwrap();
    holder
        .execute_batch("BEGIN EXCLUSIVE; INSERT INTO tag (label) VALUES ('held');")
        .unwrap();
    let started = std::time::Instant::now();
    let (report, _) = run(request(&project, Some(db.clone())));
    let msg = failure(&report);
    assert!(started.elapsed() >= std::time::Duration::from_millis(400));
    assert!(msg.contains("is locked by another program"), "{msg}");
    assert!(msg.contains(&db.display().to_string()), "{msg}");
    assert_nothing_left(&project);
    holder.execute_batch("ROLLBACK").unwrap();
}

#[test]
fn an_unwritable_folder_or_a_missing_parent_fails_clearly_and_leaves_nothing() {
    let (tmp, project) = bare_project();
    let db = project.join("db.sqlite3");
    make_db(&db, 50);

    // The project itself is read-only: the default folder cannot be created.
    let guard = common::ReadOnlyDir::new(&project);
    let (report, _) = run(request(&project, Some(db.clone())));
    let msg = failure(&report).to_string();
    drop(guard);
    assert_eq!(
        report.item(CheckKind::Folder).unwrap().status,
        CheckStatus::Failed
    );
    assert!(msg.contains("cannot write in the backup folder"), "{msg}");
    assert_nothing_left(&project);

    // A given folder inside a read-only one.
    let ro = tmp.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    let guard = common::ReadOnlyDir::new(&ro);
    let mut req = request(&project, Some(db.clone()));
    req.backup_dir = Some(ro.join("backup"));
    let (report, _) = run(req);
    drop(guard);
    assert!(failure(&report).contains(&ro.join("backup").display().to_string()));
    assert_eq!(std::fs::read_dir(&ro).unwrap().count(), 0);

    // A given folder whose parent does not exist (an unmounted drive).
    let mut req = request(&project, Some(db.clone()));
    req.backup_dir = Some(tmp.path().join("no-such-drive/backup"));
    let (report, _) = run(req);
    let msg = failure(&report);
    assert!(
        msg.contains("does not exist (is the drive mounted?)"),
        "{msg}"
    );
    assert!(!tmp.path().join("no-such-drive").exists());
}

/// A small tmpfs, unmounted on drop.
struct SmallFs(PathBuf);

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_is_caught_before_anything_is_written() {
    assert!(
        common::is_root(),
        "this test mounts a 256 KiB tmpfs to fill a disk for real: run it as root"
    );
    let (tmp, project) = bare_project();
    let db = project.join("db.sqlite3");
    make_db(&db, 20_000);
    assert!(std::fs::metadata(&db).unwrap().len() > 512 * 1024);
    let small = tmp.path().join("small");
    std::fs::create_dir(&small).unwrap();
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=256k", "tmpfs"])
        .arg(&small)
        .status()
        .expect("run mount");
    assert!(ok.success(), "mount -t tmpfs failed");
    let _fs = SmallFs(small.clone());
    let mut req = request(&project, Some(db.clone()));
    req.backup_dir = Some(small.join("backup"));
    let (report, _) = run(req);
    let msg = failure(&report);
    assert_eq!(
        report.item(CheckKind::FreeSpace).unwrap().status,
        CheckStatus::Failed
    );
    assert!(msg.contains("not enough free space"), "{msg}");
    assert_eq!(
        std::fs::read_dir(&small).unwrap().count(),
        0,
        "something was left on the full disk"
    );
}

#[test]
fn gitignore_gets_one_line_whatever_it_held_and_git_state_is_read() {
    let (_tmp, project) = bare_project();
    assert_eq!(
        ensure_gitignore(&project).unwrap(),
        GitignoreChange::Created
    );
    assert_eq!(
        ensure_gitignore(&project).unwrap(),
        GitignoreChange::AlreadyIgnored
    );
    let text = std::fs::read_to_string(project.join(".gitignore")).unwrap();
    assert_eq!(
        text.lines().filter(|l| l.trim() == ".dj2pg/").count(),
        1,
        "{text}"
    );

    // An existing file without a final newline, and one with a `/.dj2pg` spelling.
    std::fs::write(project.join(".gitignore"), "*.pyc\nvenv/").unwrap();
    assert_eq!(
        ensure_gitignore(&project).unwrap(),
        GitignoreChange::Appended
    );
    assert_eq!(
        ensure_gitignore(&project).unwrap(),
        GitignoreChange::AlreadyIgnored
    );
    let text = std::fs::read_to_string(project.join(".gitignore")).unwrap();
    assert!(text.starts_with("*.pyc\nvenv/\n"), "{text}");
    assert_eq!(
        text.lines().filter(|l| l.trim() == ".dj2pg/").count(),
        1,
        "{text}"
    );
    std::fs::write(project.join(".gitignore"), "/.dj2pg\n").unwrap();
    assert_eq!(
        ensure_gitignore(&project).unwrap(),
        GitignoreChange::AlreadyIgnored
    );

    // Git: not a repository, then clean, then dirty with the file named.
    std::fs::remove_file(project.join(".gitignore")).unwrap();
    assert!(matches!(
        git_state(&project),
        GitState::NotARepository { .. }
    ));
    let git = |args: &[&str]| {
        let ok = Command::new("git")
            .arg("-C")
            .arg(&project)
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .output()
            .expect("git is needed for this test (apt-get install git)");
        assert!(
            ok.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&ok.stderr)
        );
    };
    git(&["init", "-q"]);
    std::fs::write(project.join("app.py"), "x = 1\n").unwrap();
    git(&["add", "app.py"]);
    git(&["commit", "-qm", "init"]);
    assert_eq!(git_state(&project), GitState::Clean);
    std::fs::write(project.join("app.py"), "x = 2\n").unwrap();
    match git_state(&project) {
        GitState::Dirty { changed } => assert_eq!(changed, vec![" M app.py".to_string()]),
        other => panic!("expected dirty, got {other:?}"),
    }
    // Two backups: the .gitignore line is written once; the dj2pg folder is not "dirt".
    let db = project.join("db.sqlite3");
    make_db(&db, 10);
    git(&["add", "db.sqlite3", "app.py"]);
    git(&["commit", "-qm", "db"]);
    for _ in 0..2 {
        let (report, _) = run(request(&project, Some(db.clone())));
        assert!(report.verified(), "{report:#?}");
        std::thread::sleep(std::time::Duration::from_millis(1100)); // a new timestamp
    }
    let text = std::fs::read_to_string(project.join(".gitignore")).unwrap();
    assert_eq!(
        text.lines().filter(|l| l.trim() == ".dj2pg/").count(),
        1,
        "{text}"
    );
    match git_state(&project) {
        GitState::Dirty { changed } => assert_eq!(changed, vec!["?? .gitignore".to_string()]),
        other => panic!("only .gitignore should be new: {other:?}"),
    }
}
