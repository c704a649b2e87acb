//! End to end: the real `dj2pg` binary in a pseudo-terminal, driven by keys, read from the
//! screen, against the real sample project, Django and PostgreSQL. Then an independent
//! check (plain SQL on both sides) that every row arrived.

mod common;
mod pty;

use portable_pty::CommandBuilder;
use pty::Term;
use std::path::Path;

fn command<S: AsRef<std::ffi::OsStr>>(args: &[S], state: &Path) -> CommandBuilder {
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_dj2pg"));
    cmd.args(args);
    cmd.env("DJ2PG_STATE_DIR", state);
    cmd.env("DJ2PG_CACHE_DIR", common::target_dir().join("test-venv"));
    cmd.env("TERM", "xterm-256color");
    cmd.env_remove("PGPASSWORD");
    cmd
}

/// `dj2pg wizard --project P --python PY`.
fn wizard_args(project: &Path, python: &Path) -> Vec<String> {
    let (p, py) = (project.to_str().unwrap(), python.to_str().unwrap());
    ["wizard", "--project", p, "--python", py]
        .map(String::from)
        .to_vec()
}

/// Run Discover in a freshly started wizard and wait for its summary.
fn discovered(mut term: Term) -> Term {
    term.wait_for("Press Enter to discover", 30);
    term.enter();
    term.wait_for("Local apps", 60);
    term
}

#[test]
fn demo_opens_the_wizard_shows_the_right_counts_and_quits_cleanly() {
    common::django_venv(); // build the shared venv first, with the harness's messages
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let dir_arg = dir.to_str().unwrap().to_string();
    let cmd = command(
        &["demo", "--rows", "1500", "--dir", &dir_arg],
        &tmp.path().join("state"),
    );
    let mut term = Term::spawn(cmd, 100, 30);
    term.wait_for("Press Enter to discover", 240);
    term.enter();
    let screen = term.wait_for("Local apps", 60);

    let counts = common::sqlite_counts(&dir.join("db.sqlite3"));
    let total: u64 = counts.iter().map(|(_, n)| n).sum();
    let expected = format!(
        "{} tables · {} rows",
        counts.len(),
        dj2pg::units::thousands(total)
    );
    assert!(
        screen.contains(&expected),
        "expected {expected:?} on the Discover screen:\n{screen}"
    );
    assert!(screen.contains("Django     5.2"), "{screen}");
    // The project is a git repository with one clean commit (db.sqlite3 and .venv ignored),
    // so Backup's git check passes as on a user's project.
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(&dir)
            .output()
            .expect("git is needed for this test (apt-get install git)");
        assert!(out.status.success(), "git {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    assert_eq!(git(&["status", "--porcelain"]), "", "a clean tree");
    assert_eq!(git(&["rev-list", "--count", "HEAD"]).trim(), "1");
    // The throwaway credentials are in view: a cleared field can be filled again.
    assert!(
        screen.contains("Demo server (throwaway") && screen.contains("app password"),
        "{screen}"
    );

    term.send("q");
    let screen = term.wait_for("Quit?", 10);
    assert!(screen.contains("cannot be resumed"), "{screen}");
    term.send("y");
    let status = term.wait_exit(30);
    let said = term.output_tail();
    assert!(said.contains("throwaway PostgreSQL is removed"), "{said}");
    assert!(
        !said.contains("Run the same command again to resume"),
        "{said}"
    );
    // Quitting before the end is not success: scripts and shells see the run unfinished.
    assert_eq!(status.exit_code(), 1, "{status:?}");
    assert!(
        term.terminal_restored(),
        "the terminal was left in the alternate screen or without a cursor"
    );
}

/// Compares every model's rows through Django's ORM on both databases: the user's SQLite
/// file (its own settings' old NAME) and PostgreSQL through the new settings and the
/// environment. Independent of dj2pg's verifier.
const ORM_CHECK: &str = r#"
import os, sys, django
from django.conf import settings
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aiproto.settings")
settings.DATABASES["lite"] = {"ENGINE": "django.db.backends.sqlite3", "NAME": sys.argv[1]}
django.setup()
from django.apps import apps
from django.db import connections
assert connections["default"].vendor == "postgresql", connections["default"].vendor
bad, n = [], 0
for model in apps.get_models(include_auto_created=True):
    if model._meta.db_table == "django_migrations":
        continue
    rows = lambda db: list(model.objects.using(db).order_by("pk").values_list())
    a, b = rows("lite"), rows("default")
    n += len(a)
    if a != b:
        bad.append(f"{model._meta.db_table}: {len(a)} in SQLite, {len(b)} in PostgreSQL")
print(f"orm-check {n} rows; {len(bad)} table(s) differ")
for line in bad:
    print(line)
sys.exit(1 if bad else 0)
"#;

#[test]
fn the_whole_wizard_from_discover_to_done_then_every_row_is_checked() {
    let python = common::django_venv();
    let cluster = common::cluster();
    let (tmp, project) = common::sample_project(2500);
    let sqlite = project.join("db.sqlite3");
    let settings_before = std::fs::read(project.join("aiproto/settings.py")).unwrap();

    // A fresh app role, as on DigitalOcean: no privilege on schema public, no tables.
    let url = cluster.app().display_url();
    let mut args = wizard_args(&project, &python);
    args.extend(["--to".to_string(), url]);
    let mut term = discovered(Term::spawn(
        command(&args, &tmp.path().join("state")),
        80,
        24,
    ));
    term.enter(); // on to Backup
    term.wait_for("2/11 Backup", 10);
    term.enter();
    // The temporary project is not a git repository: a warning to acknowledge.
    term.wait_for("Go on with this backup", 60);
    term.send("y");
    term.wait_for("✓ Backup", 10);
    term.enter(); // on to Reset migrations
    term.enter();
    term.wait_for("Keep every migration", 60);
    term.send("n");
    term.wait_for("↷ Reset migrations", 10);
    term.enter(); // on to Dry run
    term.wait_for("4/11 Dry run", 10);
    term.enter();
    // Passed: the sample's embeddings are found and chosen per column: keep them all.
    term.wait_for("Embeddings found in the SQLite file", 120);
    term.send("a");
    term.wait_for("✓ Dry run on SQLite", 30);
    term.enter(); // on to Connect

    // A wrong password first, corrected in the form.
    term.wait_for("Enter connects", 10);
    term.send("\t"); // to the password field
    term.send("not-the-password");
    term.enter();
    let screen = term.wait_for("refused the password", 30);
    assert!(
        screen.contains("✗ Password"),
        "the form points at the field: {screen}"
    );
    // The field marked ✗ keeps the focus: erase it and type the right one.
    term.send(&"\x7f".repeat(40));
    term.send(cluster.app_password().expose());
    term.enter();
    term.wait_for("Connected: app@127.0.0.1", 30);
    term.enter(); // on to Fix permissions

    // Fix permissions: the diagnosis names the missing CREATE; a wrong admin password
    // fails the step, then the right one lets recipe A run and be re-checked.
    term.enter();
    // The ✗ line, not the intro (which names CREATE on schema too): the diagnosis is in.
    term.wait_for("✗ CREATE on schema", 60);
    term.send("l");
    term.wait_for("Enter log in", 10);
    term.send("wrong-admin-password");
    term.enter();
    // The failure opens the admin login again, its password field empty and focused.
    let screen = term.wait_for("refused", 60);
    assert!(screen.contains("Enter log in"), "{screen}");
    term.send(cluster.admin_password().expose());
    term.enter();
    term.wait_for("1 recipe A", 60); // the hint bar: recipe A is key 1
    term.send("1");
    term.wait_for("effective", 60);
    term.enter(); // on to Create schema
    term.enter();
    term.wait_for("✓ Create schema", 180);
    term.enter(); // on to Copy rows
    term.enter();
    // The sample's data migration filled classifier_label: emptying it is asked first.
    term.wait_for("Empty them and copy", 120);
    term.send("y");
    let screen = term.wait_for("copied and verified", 180);
    assert!(!screen.contains("MISMATCH"), "{screen}");
    term.enter(); // on to Cutover
    term.wait_for("9/11 Cutover", 10);

    // The app goes on writing after the copy: Cutover sees it, counts it, and moves it.
    let app = |sql: &str| {
        let conn = rusqlite::Connection::open(&sqlite).unwrap();
        conn.execute_batch(sql).unwrap();
    };
    app("UPDATE classifier_label SET color = '#abcdef' WHERE id = (SELECT min(id) FROM classifier_label);
         INSERT INTO classifier_feedback (prediction_id, correct, comment, created_at)
             SELECT prediction_id, correct, 'written after the copy', created_at
             FROM classifier_feedback ORDER BY id LIMIT 2;");
    term.enter(); // watch
    let screen = term.wait_for("3 row(s) changed;", 30);
    assert!(
        screen.contains("classifier_feedback") && screen.contains("classifier_label"),
        "{screen}"
    );
    assert!(screen.contains("Stop your app now"), "{screen}");
    app("DELETE FROM classifier_feedback WHERE id = (SELECT min(id) FROM classifier_feedback);");
    term.wait_for("4 row(s) changed;", 30); // the counts move while the app runs
    let sqlite_before = std::fs::read(&sqlite).unwrap();
    term.enter(); // the app is stopped: sync
    let screen = term.wait_for("synced and verified", 60);
    assert!(screen.contains("4 row(s) moved"), "{screen}");
    assert!(screen.contains("cutover window"), "{screen}");
    term.enter(); // on to Update settings
    term.enter();
    term.wait_for("Write it and check it", 60);
    term.send("w");
    term.wait_for("✓ Update settings", 120);
    term.enter(); // on to Done
    term.enter();
    term.wait_for("✓ Done", 30);
    // The report gives the cutover window and the rows moved.
    let backups = project.join(".dj2pg/backups");
    let report = std::fs::read_dir(&backups)
        .unwrap()
        .filter_map(|e| std::fs::read_to_string(e.unwrap().path().join("report.md")).ok())
        .next()
        .expect("report.md in the backup folder");
    assert!(report.contains("## Cutover"), "{report}");
    assert!(report.contains("4 row(s) moved"), "{report}");
    // The SQLite file was never modified by dj2pg (only by the "app" above, before Cutover).
    assert_eq!(std::fs::read(&sqlite).unwrap(), sqlite_before);
    // Independently, through Django's ORM on both databases, with the new settings and
    // the environment only (the password is in no file).
    let env = [
        ("POSTGRES_HOST", "127.0.0.1".to_string()),
        ("POSTGRES_PORT", cluster.app().port.to_string()),
        ("POSTGRES_DB", cluster.app().dbname),
        ("POSTGRES_USER", "app".to_string()),
        (
            "POSTGRES_PASSWORD",
            cluster.app_password().expose().to_string(),
        ),
        ("POSTGRES_SSLMODE", "require".to_string()),
    ];
    let run = |args: &[&str]| {
        let mut cmd = std::process::Command::new(&python);
        cmd.args(args)
            .current_dir(&project)
            .env_remove("PGPASSWORD");
        for (k, v) in &env {
            cmd.env(k, v);
        }
        cmd.output().expect("run the project's Python")
    };
    let out = run(&["-c", ORM_CHECK, sqlite.to_str().unwrap()]);
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("0 table(s) differ"), "{text}");
    let out = run(&["manage.py", "check", "--database", "default"]);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // Rolling back from the Done screen: u asks, y puts settings.py back byte for byte.
    term.send("u");
    term.wait_for("Restore the project's files", 10);
    term.send("y");
    term.wait_for("restored:", 60);
    assert_eq!(
        std::fs::read(project.join("aiproto/settings.py")).unwrap(),
        settings_before,
        "settings.py is back as it was"
    );
    term.send("q");
    term.wait_for("Quit?", 10);
    term.send("y");
    assert!(term.wait_exit(30).success());
    assert!(term.terminal_restored());
}

#[test]
fn a_killed_wizard_offers_to_resume_at_the_same_step() {
    let (tmp, project) = common::sample_project(300);
    let state = tmp.path().join("state");
    let args = wizard_args(&project, &common::django_venv());
    let mut term = discovered(Term::spawn(command(&args, &state), 100, 30));
    term.enter(); // on to Backup, then run it
    term.enter();
    term.wait_for("Go on with this backup", 60);
    term.send("y");
    term.wait_for("✓ Backup", 10);
    term.enter(); // on to Reset migrations
    term.wait_for("3/11 Reset migrations", 10);
    term.kill9();

    let mut term = Term::spawn(command(&args, &state), 100, 30);
    let screen = term.wait_for("Resume?", 30);
    assert!(
        screen.contains("Reset migrations"),
        "the offer names the step:\n{screen}"
    );
    term.send("y");
    let screen = term.wait_for("3/11 Reset migrations", 10);
    assert!(screen.contains("✓ Backup"), "Backup stays done:\n{screen}");
    assert!(
        screen.contains("✓ Discover"),
        "Discover stays done:\n{screen}"
    );
    term.send("\x03"); // Ctrl-C always exits cleanly, with the shell's status for it
    assert_eq!(term.wait_exit(30).exit_code(), 130);
    assert!(term.terminal_restored());
}

#[test]
fn sigterm_ends_the_wizard_cleanly_and_the_run_resumes() {
    let (tmp, project) = common::sample_project(300);
    let state = tmp.path().join("state");
    let args = wizard_args(&project, &common::django_venv());
    let mut term = discovered(Term::spawn(command(&args, &state), 100, 30));
    term.signal("TERM");
    assert_eq!(term.wait_exit(30).exit_code(), 143);
    assert!(
        term.terminal_restored(),
        "SIGTERM left the terminal in raw/alternate mode"
    );

    let mut term = Term::spawn(command(&args, &state), 100, 30);
    term.wait_for("Resume?", 30);
    term.send("y");
    let screen = term.wait_for("Local apps", 10);
    assert!(screen.contains("✓ Discover"), "{screen}");
    term.send("\x03");
    assert_eq!(term.wait_exit(30).exit_code(), 130);
}
