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

    term.send("q");
    term.wait_for("Quit?", 10);
    term.send("y");
    let status = term.wait_exit(30);
    assert!(status.success(), "{status:?}");
    assert!(
        term.terminal_restored(),
        "the terminal was left in the alternate screen or without a cursor"
    );
}

#[test]
fn the_whole_wizard_from_discover_to_done_then_every_row_is_checked() {
    let python = common::django_venv();
    let cluster = common::cluster();
    let (tmp, project) = common::sample_project(2500);
    // What Fix permissions and Create schema (not built yet) will do: grant, then migrate.
    common::migrate_as_app(&cluster, &python, &project);

    let url = cluster.app().display_url();
    let mut args = wizard_args(&project, &python);
    args.extend(["--to".to_string(), url]);
    let mut cmd = command(&args, &tmp.path().join("state"));
    cmd.env("PGPASSWORD", cluster.app_password().expose());
    let mut term = discovered(Term::spawn(cmd, 100, 30));
    // Enter moves on from each finished or not-built step until the Connect form.
    for _ in 0..4 {
        term.enter();
    }
    term.wait_for("Enter connects", 10);
    term.enter();
    term.wait_for("Connected: app@127.0.0.1", 30);
    for _ in 0..3 {
        term.enter();
    }
    term.wait_for("8/10 Copy rows", 10);
    term.enter();
    let screen = term.wait_for("[y]", 60);
    assert!(screen.contains("Empty them and copy"), "{screen}");
    term.send("y");
    let screen = term.wait_for("copied and verified", 120);
    assert!(!screen.contains("MISMATCH"), "{screen}");
    term.enter();
    term.enter();
    term.enter();
    term.wait_for("not built yet in this version", 10);
    term.send("q");
    term.wait_for("Quit?", 10);
    term.send("y");
    assert!(term.wait_exit(30).success());
    assert!(term.terminal_restored());

    // Independently: every SQLite table's rows are in PostgreSQL.
    for (table, rows) in common::sqlite_counts(&project.join("db.sqlite3")) {
        if table == "django_migrations" {
            continue; // the target keeps the rows its own migrate wrote
        }
        let got = common::scalar(
            &cluster.app(),
            cluster.app_password(),
            &format!("SELECT count(*) FROM \"{table}\""),
        );
        assert_eq!(got, Some(rows.to_string()), "row count of {table}");
    }
}

#[test]
fn a_killed_wizard_offers_to_resume_at_the_same_step() {
    let (tmp, project) = common::sample_project(300);
    let state = tmp.path().join("state");
    let args = wizard_args(&project, &common::django_venv());
    let mut term = discovered(Term::spawn(command(&args, &state), 100, 30));
    for _ in 0..4 {
        term.enter();
    }
    term.wait_for("Enter connects", 10);
    term.kill9();

    let mut term = Term::spawn(command(&args, &state), 100, 30);
    let screen = term.wait_for("Resume?", 30);
    assert!(
        screen.contains("Connect"),
        "the offer names the step:\n{screen}"
    );
    term.send("y");
    let screen = term.wait_for("Enter connects", 10);
    assert!(screen.contains("5/10 Connect"), "{screen}");
    assert!(
        screen.contains("✓ Discover"),
        "Discover stays done:\n{screen}"
    );
    term.send("\x03"); // Ctrl-C always exits cleanly
    assert!(term.wait_exit(30).success());
    assert!(term.terminal_restored());
}

#[test]
fn sigterm_ends_the_wizard_cleanly_and_the_run_resumes() {
    let (tmp, project) = common::sample_project(300);
    let state = tmp.path().join("state");
    let args = wizard_args(&project, &common::django_venv());
    let mut term = discovered(Term::spawn(command(&args, &state), 100, 30));
    term.signal("TERM");
    assert!(term.wait_exit(30).success());
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
    assert!(term.wait_exit(30).success());
}
