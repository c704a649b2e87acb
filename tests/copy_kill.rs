//! `kill -9` of the real `dj2pg copy` while a large table is being loaded, then a plain
//! re-run: it resumes (no side state) and ends with exactly the source's rows.

mod common;

use common::*;
use dj2pg::pg::cluster::TempCluster;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn kill_9_mid_table_then_rerun_ends_with_exact_rows() {
    let c = cluster();
    let python = django_venv();
    let (_tmp, project) = sample_project(100_000);
    migrate_as_app(&c, &python, &project);
    let url = TempCluster::url(&c.app(), c.app_password());
    let db = project.join("db.sqlite3");
    let run = || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dj2pg"));
        cmd.args(["copy", "--from"])
            .arg(&db)
            .args(["--to", &url, "--yes", "--jobs", "2"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    };

    // Bulk mode drops foreign keys and indexes inside each table's transaction: whatever
    // happens, the schema must be exactly what migrate made.
    let schema = || schema_of(&c);
    let migrated = schema();
    assert!(migrated.len() > 20, "{migrated:?}");

    let mut child = run().spawn().expect("dj2pg copy starts");
    // Wait until a large table's COPY is running, then kill without warning.
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut seen = false;
    while Instant::now() < deadline {
        // As app: a role sees the query text of its own sessions only.
        let active = scalar(
            &c.app(),
            c.app_password(),
            // A bulk load is one query: the drops, then the COPY, the rebuilds, the COMMIT.
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() AND query LIKE '%FROM STDIN%' \
             AND (query LIKE '%classifier_prediction%' OR query LIKE '%classifier_embedding%' \
                  OR query LIKE '%classifier_feedback%' OR query LIKE '%classifier_trainingexample%')",
        );
        if active.as_deref() != Some("0") {
            seen = true;
            std::thread::sleep(Duration::from_millis(150));
            break;
        }
        if child.try_wait().unwrap().is_some() {
            let out = child.wait_with_output().unwrap();
            panic!(
                "dj2pg copy ended before it could be killed:\n{}",
                output_text(&out)
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(seen, "a large table's COPY was seen running");
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert!(!status.success(), "killed");
    // A query the client had sent in full (a pipelined bulk load: drops, COPY and its
    // rows, rebuilds, COMMIT) may still be finishing on the server; each ends committed or
    // rolled back. Read the schema once the killed client's sessions are gone, not while a
    // commit is swapping its indexes (the catalog functions then read a newer catalog).
    let deadline = Instant::now() + Duration::from_secs(60);
    while scalar(
        &c.app(),
        c.app_password(),
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'dj2pg' AND pid <> pg_backend_pid()",
    )
    .as_deref()
        != Some("0")
    {
        assert!(Instant::now() < deadline, "the killed copy's sessions never ended");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        schema(),
        migrated,
        "the kill rolled back every dropped constraint and index"
    );

    // The kill left work undone: some table does not hold its rows yet.
    let sqlite = rusqlite::Connection::open(&db).unwrap();
    let count = |table: &str| -> (i64, Option<String>) {
        let want: i64 = sqlite
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap();
        let got = scalar(
            &c.app(),
            c.app_password(),
            &format!("SELECT count(*) FROM {table}"),
        );
        (want, got)
    };
    let big = [
        "classifier_trainingexample",
        "classifier_prediction",
        "classifier_embedding",
        "classifier_feedback",
    ];
    assert!(
        big.iter().any(|t| {
            let (want, got) = count(t);
            got != Some(want.to_string())
        }),
        "the kill came before the large tables were complete"
    );

    let out = run().output().unwrap();
    let text = output_text(&out);
    assert!(out.status.success(), "the re-run finishes:\n{text}");
    assert!(text.contains("copied and verified"), "{text}");
    assert_eq!(schema(), migrated, "constraints and indexes all back");

    for table in [
        "classifier_dataset",
        "classifier_trainingexample",
        "classifier_prediction",
        "classifier_embedding",
        "classifier_feedback",
        "django_content_type",
        "auth_permission",
    ] {
        let (want, got) = count(table);
        assert_eq!(got, Some(want.to_string()), "{table}");
        let dup = scalar(
            &c.app(),
            c.app_password(),
            &format!("SELECT count(*) - count(DISTINCT id) FROM {table}"),
        );
        assert_eq!(dup.as_deref(), Some("0"), "no duplicates in {table}");
    }
}
