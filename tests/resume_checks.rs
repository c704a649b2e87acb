//! A resume checks before it trusts (issue 16, item 3): the real binary, the real sample
//! project and Django, a real PostgreSQL.
//!
//! - A run stopped at Update settings; then the project is replaced by a fresh copy at the
//!   same path (its backup folder gone, the old migrations back) and the database dropped
//!   and created anew. The same command again redoes what no longer stands, each with the
//!   reason, and ends with the rows in PostgreSQL.
//! - Flags that differ from the saved run are applied (reopening what they affect) or
//!   refused with the flag named, never ignored.

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn text(out: &Output) -> String {
    format!(
        "{}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `dj2pg migrate` on `project` with `extra` flags, state in `state`, the passwords in the
/// environment only.
fn migrate(
    state: &Path,
    project: &Path,
    python: &Path,
    extra: &[&str],
    env: &[(&str, &str)],
) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dj2pg"));
    cmd.args(["migrate", "--project"])
        .arg(project)
        .arg("--python")
        .arg(python)
        .arg("--allow-dirty")
        .args(extra)
        .env("DJ2PG_STATE_DIR", state)
        .env_remove("PGPASSWORD")
        .env_remove("DJ2PG_TARGET_URL")
        .env_remove("DJ2PG_ADMIN_URL")
        .env_remove("DJ2PG_TEST_PANIC");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run dj2pg")
}

/// The project replaced by a fresh copy at the same path: the sample's files (its old
/// migrations included), a newly generated SQLite file, no `.dj2pg` folder.
fn replace_project(project: &Path, python: &Path) {
    std::fs::remove_dir_all(project).expect("remove the project");
    common::copy_tree(&common::repo_root().join("assets/sample_project"), project);
    let out = Command::new(python)
        .arg(project.join("generate_data.py"))
        .arg("--db")
        .arg(project.join("db.sqlite3"))
        .args(["--rows", "300"])
        .current_dir(project)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("generate_data.py");
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn a_resume_after_the_project_was_replaced_and_the_database_recreated_redoes_what_changed() {
    let python = common::django_venv();
    let cluster = common::cluster();
    let (tmp, project) = common::sample_project(300);
    let state = tmp.path().join("state");
    let url = cluster.app().display_url();
    let admin = cluster.admin().display_url();
    let flags = [
        "--to",
        url.as_str(),
        "--admin-url",
        admin.as_str(),
        "--yes",
        "--reset-migrations=all",
    ];
    let passwords = [
        ("PGPASSWORD", cluster.app_password().expose()),
        ("DJ2PG_ADMIN_PASSWORD", cluster.admin_password().expose()),
    ];

    // 1. A run that stops at Update settings (its planning job fails on purpose).
    let mut env = passwords.to_vec();
    env.push(("DJ2PG_TEST_PANIC", "plan-settings"));
    let out = migrate(&state, &project, &python, &flags, &env);
    let first = text(&out);
    assert_eq!(out.status.code(), Some(1), "{first}");
    assert!(first.contains("[copy-rows] done"), "{first}");
    assert!(first.contains("[update-settings] failed"), "{first}");

    // 2. The world changes: a fresh copy of the project, the database made anew.
    replace_project(&project, &python);
    let su = cluster.superuser();
    common::exec(
        &su,
        cluster.superuser_password(),
        "DROP DATABASE appdb WITH (FORCE)",
    );
    common::exec(
        &su,
        cluster.superuser_password(),
        "CREATE DATABASE appdb OWNER doadmin",
    );

    // 3. The same command again.
    let out = migrate(&state, &project, &python, &flags, &passwords);
    let second = text(&out);
    assert!(second.contains("resuming the saved run"), "{second}");
    // What no longer stands is reopened with what changed, and never reported done.
    assert!(
        second.contains("[backup] reopened: the backup folder") && second.contains("is gone"),
        "{second}"
    );
    assert!(
        second.contains("[reset-migrations] reopened: the old migration files"),
        "{second}"
    );
    assert!(
        second.contains("[connect] reopened: the database appdb at")
            && second.contains("was recreated since the copy on"),
        "{second}"
    );
    for step in [
        "backup",
        "reset-migrations",
        "dry-run",
        "connect",
        "fix-permissions",
        "create-schema",
        "copy-rows",
    ] {
        assert!(
            !second.contains(&format!("[{step}] already-done")),
            "{step} trusted:\n{second}"
        );
        assert!(
            second.contains(&format!("[{step}] done")),
            "{step} not redone:\n{second}"
        );
    }
    assert_eq!(out.status.code(), Some(0), "{second}");
    assert!(second.contains("[update-settings] done"), "{second}");
    assert!(!second.contains(cluster.app_password().expose()));
    assert!(!second.contains(cluster.admin_password().expose()));

    // Independently: every table holds exactly the new SQLite file's rows.
    for (table, rows) in common::sqlite_counts(&project.join("db.sqlite3")) {
        if table == "django_migrations" || table == "sqlite_sequence" {
            continue;
        }
        let got = common::scalar(
            &cluster.app(),
            cluster.app_password(),
            &format!("SELECT count(*) FROM \"{table}\""),
        );
        assert_eq!(got, Some(rows.to_string()), "row count of {table}");
    }
}

/// A PostgreSQL URL where nothing listens: Connect fails at once.
const NOWHERE: &str = "postgresql://app@127.0.0.1:1/appdb?sslmode=disable&connect_timeout=2";

#[test]
fn a_changed_reset_flag_on_resume_is_refused_naming_it_or_applied_never_ignored() {
    let python = common::django_venv();
    // A target where nothing listens: the runs stop at Connect, and what comes before is
    // enough here (a target is required before anything runs).
    let (tmp, project) = common::sample_project(200);
    let state = tmp.path().join("state");

    // A reset done with `all`; a second run with a typo is refused, nothing is run.
    let out = migrate(
        &state,
        &project,
        &python,
        &["--reset-migrations=all", "--to", NOWHERE],
        &[],
    );
    let first = text(&out);
    assert!(first.contains("[reset-migrations] done"), "{first}");
    let out = migrate(
        &state,
        &project,
        &python,
        &["--reset-migrations=mll", "--to", NOWHERE],
        &[],
    );
    let second = text(&out);
    assert_eq!(out.status.code(), Some(1), "{second}");
    assert!(
        second.contains("refused: --reset-migrations: --reset-migrations=mll differs")
            && second.contains("--reset-migrations=all"),
        "{second}"
    );
    assert!(!second.contains("already-done"), "{second}");
    assert!(
        !second.contains("] start:"),
        "nothing runs after a refusal:\n{second}"
    );
    // The same flag as before goes on as usual.
    let out = migrate(
        &state,
        &project,
        &python,
        &["--reset-migrations=all", "--to", NOWHERE],
        &[],
    );
    let third = text(&out);
    assert!(third.contains("[reset-migrations] already-done"), "{third}");
    assert!(!third.contains("refused: --"), "{third}");

    // Migrations kept at first; asking for the reset on resume applies it: the reset and
    // the dry run run (again), and a different --jobs is applied and said.
    let (tmp2, project2) = common::sample_project(200);
    let state2 = tmp2.path().join("state");
    let out = migrate(
        &state2,
        &project2,
        &python,
        &["--jobs", "2", "--to", NOWHERE],
        &[],
    );
    let first = text(&out);
    assert!(first.contains("[reset-migrations] skipped"), "{first}");
    let out = migrate(
        &state2,
        &project2,
        &python,
        &["--jobs", "3", "--reset-migrations", "all", "--to", NOWHERE],
        &[],
    );
    let second = text(&out);
    assert!(
        second.contains("--reset-migrations: applied: --reset-migrations=all")
            && second.contains("reopened Reset migrations, Dry run on SQLite"),
        "{second}"
    );
    assert!(second.contains("--jobs: applied: --jobs 3"), "{second}");
    assert!(second.contains("[reset-migrations] done"), "{second}");
    assert!(second.contains("[dry-run] done"), "{second}");
    assert!(!second.contains("[reset-migrations] skipped"), "{second}");
}
