//! No input can crash or hang a run: the findings of the hardening issue, each against the
//! real binary (or the real engine) and a real PostgreSQL.
//!
//! - a multibyte character inside a datetime is a preflight problem, not a panic;
//! - a panicking worker ends `dj2pg migrate` and the wizard with a failed step;
//! - `dj2pg copy` asks (through its flags) both questions: bad values, then non-empty targets;
//! - a search-index table (Wagtail's) no longer blocks the copy: it is left empty, with the
//!   command that rebuilds it.

mod common;
mod pty;

use common::*;
use dj2pg::pg::cluster::TempCluster;
use portable_pty::CommandBuilder;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Run the binary to its end, failing (instead of hanging the suite) after `secs`.
fn dj2pg_within(secs: u64, args: &[&str], env: &[(&str, &str)], state: &Path) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dj2pg"));
    cmd.args(args)
        .env("DJ2PG_STATE_DIR", state)
        .env_remove("PGPASSWORD")
        .env_remove("DJ2PG_TARGET_URL")
        .env_remove("DJ2PG_TEST_PANIC")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("run dj2pg");
    let deadline = Instant::now() + pty::scaled(secs);
    loop {
        if child.try_wait().expect("wait for dj2pg").is_some() {
            return child.wait_with_output().expect("dj2pg's output");
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().expect("dj2pg's output");
            panic!(
                "dj2pg {args:?} hung for {secs} s:\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A cluster where `app` may create tables in public, with `pg_schema` made by `app`, and a
/// SQLite file made of `sqlite_schema`.
fn setup(pg_schema: &str, sqlite_schema: &str) -> (TempCluster, tempfile::TempDir, String) {
    let c = cluster();
    exec(
        &c.admin(),
        c.admin_password(),
        "GRANT USAGE, CREATE ON SCHEMA public TO app",
    );
    exec(&c.app(), c.app_password(), pg_schema);
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("db.sqlite3");
    let conn = rusqlite::Connection::open(&file).unwrap();
    conn.execute_batch(sqlite_schema).unwrap();
    drop(conn);
    let file = file.to_str().unwrap().to_string();
    (c, tmp, file)
}

#[test]
fn a_multibyte_character_in_a_datetime_is_listed_by_preflight_not_a_panic() {
    let (c, tmp, file) = setup(
        "CREATE TABLE ev (id bigint PRIMARY KEY, at timestamptz, label varchar(5))",
        "CREATE TABLE ev (id integer PRIMARY KEY, at datetime, label varchar(5));
         INSERT INTO ev VALUES (1, '2024-01-15 12:00:00é12345', 'ok'),
                               (2, '2024-01-15 12:00:00', 'ünïcødé!'),
                               (3, '2024-01-15 12:00:00+25:00', 'ok');",
    );
    let before = std::fs::read(&file).unwrap();
    let url = c.app().display_url();
    let out = dj2pg_within(
        120,
        &["copy", "--from", &file, "--to", &url],
        &[("PGPASSWORD", c.app_password().expose())],
        &tmp.path().join("state"),
    );
    let printed = text(&out);
    assert!(!printed.contains("panicked"), "{printed}");
    assert_eq!(out.status.code(), Some(2), "{printed}");
    for want in [
        "problem: ev pk=1 at: is not a valid datetime (YYYY-MM-DD HH:MM:SS[.ffffff]) (2024-01-15 12:00:00é12345)",
        "problem: ev pk=2 label: is 8 characters long; the column holds at most 5",
        "problem: ev pk=3 at: has an impossible UTC offset (2024-01-15 12:00:00+25:00)",
        "3 value(s) would fail in PostgreSQL",
    ] {
        assert!(printed.contains(want), "missing {want:?}:\n{printed}");
    }
    let rows = rows(&c.app(), c.app_password(), "SELECT count(*)::text FROM ev");
    assert_eq!(rows, vec![vec![Some("0".to_string())]], "nothing written");
    assert_eq!(
        std::fs::read(&file).unwrap(),
        before,
        "SQLite file untouched"
    );
}

#[test]
fn skipping_bad_rows_does_not_answer_the_nonempty_question() {
    let (c, tmp, file) = setup(
        "CREATE TABLE t (id bigint PRIMARY KEY, name varchar(3));
         INSERT INTO t VALUES (99, 'old');",
        "CREATE TABLE t (id integer PRIMARY KEY, name varchar(3));
         INSERT INTO t VALUES (1, 'abc'), (2, 'too long');",
    );
    let url = c.app().display_url();
    let state = tmp.path().join("state");
    let env = [("PGPASSWORD", c.app_password().expose())];
    let rejects = tmp.path().join("rejects");
    let rejects = rejects.to_str().unwrap();
    let base = ["copy", "--from", &file, "--to", &url, "--rejects", rejects];
    let skip: Vec<&str> = base
        .iter()
        .copied()
        .chain(["--on-bad-data", "skip"])
        .collect();
    let out = dj2pg_within(120, &skip, &env, &state);
    let printed = text(&out);
    assert_ne!(out.status.code(), Some(0), "{printed}");
    assert!(
        printed.contains("Target tables already hold rows: t (1)") && printed.contains("--yes"),
        "{printed}"
    );
    let kept = rows(&c.app(), c.app_password(), "SELECT id::text FROM t");
    assert_eq!(
        kept,
        vec![vec![Some("99".to_string())]],
        "not emptied unasked"
    );

    let yes: Vec<&str> = skip.iter().copied().chain(["--yes"]).collect();
    let out = dj2pg_within(120, &yes, &env, &state);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let now = rows(
        &c.app(),
        c.app_password(),
        "SELECT id::text FROM t ORDER BY id",
    );
    assert_eq!(now, vec![vec![Some("1".to_string())]]);
}

/// Wagtail's search index on PostgreSQL: tsvector columns and NOT NULL text columns that
/// the SQLite table (kept beside an FTS5 index) does not have.
const WAGTAIL_PG: &str = r#"
CREATE TABLE page (id bigint PRIMARY KEY, title varchar(255) NOT NULL);
CREATE TABLE wagtailsearch_indexentry (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    content_type_id integer NOT NULL,
    object_id varchar(50) NOT NULL,
    title_norm double precision NOT NULL,
    autocomplete tsvector NOT NULL,
    title tsvector NOT NULL,
    body tsvector NOT NULL
);
"#;

const WAGTAIL_SQLITE: &str = r#"
CREATE TABLE page (id integer PRIMARY KEY, title varchar(255) NOT NULL);
CREATE TABLE wagtailsearch_indexentry (
    id integer PRIMARY KEY AUTOINCREMENT, content_type_id integer NOT NULL,
    object_id varchar(50) NOT NULL, title_norm real NOT NULL
);
CREATE VIRTUAL TABLE wagtailsearch_sqliteftsindexentry USING fts5(autocomplete, title, body);
INSERT INTO page VALUES (1, 'Welcome'), (2, 'About');
INSERT INTO wagtailsearch_indexentry VALUES (1, 3, '1', 1.0), (2, 3, '2', 1.0);
INSERT INTO wagtailsearch_sqliteftsindexentry VALUES ('welcome', 'welcome', ''), ('about', 'about', '');
"#;

#[test]
fn a_wagtail_search_index_is_left_empty_with_its_rebuild_command_not_a_blocker() {
    let (c, tmp, file) = setup(WAGTAIL_PG, WAGTAIL_SQLITE);
    let url = c.app().display_url();
    let out = dj2pg_within(
        120,
        &["copy", "--from", &file, "--to", &url],
        &[("PGPASSWORD", c.app_password().expose())],
        &tmp.path().join("state"),
    );
    let printed = text(&out);
    assert_eq!(out.status.code(), Some(0), "{printed}");
    assert!(
        printed.contains("derived: wagtailsearch_indexentry (2 rows)")
            && printed.contains("python manage.py update_index"),
        "{printed}"
    );
    let pages = rows(
        &c.app(),
        c.app_password(),
        "SELECT count(*)::text FROM page",
    );
    assert_eq!(pages, vec![vec![Some("2".to_string())]]);
    let index = rows(
        &c.app(),
        c.app_password(),
        "SELECT count(*)::text FROM wagtailsearch_indexentry",
    );
    assert_eq!(
        index,
        vec![vec![Some("0".to_string())]],
        "never rows with empty vectors"
    );
}

#[test]
fn a_panicking_worker_ends_migrate_with_a_failed_step() {
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("proj");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(project.join("manage.py"), "").unwrap();
    let state = tmp.path().join("state");
    let out = dj2pg_within(
        60,
        &[
            "migrate",
            "--project",
            project.to_str().unwrap(),
            "--to",
            "postgresql://app@127.0.0.1:1/appdb?sslmode=disable",
        ],
        &[("DJ2PG_TEST_PANIC", "discover")],
        &state,
    );
    let printed = text(&out);
    assert_eq!(out.status.code(), Some(1), "{printed}");
    assert!(
        printed.contains("[discover] failed: internal error in the discover job")
            && printed.contains("injected by DJ2PG_TEST_PANIC")
            && printed.contains("please report it"),
        "{printed}"
    );
    // The run was saved with the failure, so it can be retried.
    let saved: Vec<_> = std::fs::read_dir(&state).unwrap().collect();
    assert_eq!(saved.len(), 1, "one state file");
}

#[test]
fn a_panicking_worker_leaves_the_wizard_usable_and_it_quits_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("proj");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(project.join("manage.py"), "").unwrap();
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_dj2pg"));
    cmd.args(["wizard", "--project", project.to_str().unwrap()]);
    cmd.env("DJ2PG_STATE_DIR", tmp.path().join("state"));
    cmd.env("DJ2PG_TEST_PANIC", "discover");
    cmd.env("TERM", "xterm-256color");
    let mut term = pty::Term::spawn(cmd, 80, 24);
    term.wait_for("Press Enter to discover", 30);
    term.enter();
    let screen = term.wait_for("internal error", 30);
    assert!(screen.contains("failed"), "{screen}");
    assert!(!screen.contains("running"), "{screen}");
    // Still alive and answering keys: r retries (and fails again the same way).
    term.send("r");
    term.wait_for("internal error", 30);
    term.send("q");
    term.wait_for("Quit", 10);
    term.send("y");
    let status = term.wait_exit(20);
    // Quit with the run unfinished: not a success for the shell.
    assert_eq!(status.exit_code(), 1, "{}", term.output_tail());
    assert!(term.terminal_restored(), "{}", term.output_tail());
}
