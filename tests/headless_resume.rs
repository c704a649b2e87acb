//! `dj2pg migrate` killed (SIGKILL) while Copy rows loads a large table, then the same
//! command again: it resumes from the saved run (the steps already done are not run again)
//! and ends with every table verified and exactly the SQLite rows in PostgreSQL.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn migrate_killed_during_the_copy_resumes_to_the_same_verified_state() {
    let python = common::django_venv();
    let cluster = common::cluster();
    let (tmp, project) = common::sample_project(100_000);
    let state = tmp.path().join("state");
    let url = cluster.app().display_url();
    let admin = cluster.admin().display_url();
    let run = || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dj2pg"));
        cmd.args(["migrate", "--project"])
            .arg(&project)
            .arg("--python")
            .arg(&python)
            .args([
                "--to",
                &url,
                "--admin-url",
                &admin,
                "--yes",
                "--allow-dirty",
            ])
            .args(["--jobs", "2", "--no-settings-rewrite"])
            .env("DJ2PG_STATE_DIR", &state)
            .env("PGPASSWORD", cluster.app_password().expose())
            .env("DJ2PG_ADMIN_PASSWORD", cluster.admin_password().expose())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    };
    let mut child = run().spawn().expect("dj2pg migrate starts");
    // Wait until a large table's COPY runs (the earlier steps take a while), then kill.
    // A bulk load is one query (drops, COPY, rebuilds, COMMIT): its text holds the COPY.
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut seen = false;
    while Instant::now() < deadline {
        let active = common::try_rows(
            &cluster.app(),
            cluster.app_password(),
            "SELECT count(*)::text FROM pg_stat_activity WHERE state = 'active' \
             AND pid <> pg_backend_pid() AND query LIKE '%FROM STDIN%' AND (query LIKE '%classifier_prediction%' \
             OR query LIKE '%classifier_embedding%' OR query LIKE '%classifier_trainingexample%')",
        )
        .ok()
        .and_then(|r| r.first()?.first()?.clone());
        if active.as_deref().is_some_and(|n| n != "0") {
            seen = true;
            std::thread::sleep(Duration::from_millis(100));
            break;
        }
        if child.try_wait().expect("poll dj2pg").is_some() {
            let out = child.wait_with_output().expect("output");
            panic!(
                "dj2pg migrate ended before it could be killed:\n{}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(seen, "a large table's COPY was seen running");
    child.kill().expect("SIGKILL");
    assert!(!child.wait().expect("wait").success());

    let out = run().output().expect("dj2pg migrate again");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("resuming the saved run"), "{text}");
    for step in ["backup", "dry-run", "fix-permissions", "create-schema"] {
        assert!(
            text.contains(&format!("[{step}] already-done")),
            "{step} was run again:\n{text}"
        );
    }
    assert!(
        text.contains("[copy-rows] done") && !text.contains("MISMATCH"),
        "{text}"
    );
    // Independently: every table holds exactly the SQLite rows, no duplicates.
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
