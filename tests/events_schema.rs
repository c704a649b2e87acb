//! The `--json` vocabulary is an interface for scripts (README, "JSON lines"): every line
//! of a whole `dj2pg migrate --json` of the sample project, of `dj2pg copy --json` and of
//! `dj2pg sync --json` validates against assets/events.schema.json, and neither the JSON nor the text of a
//! whole run names a key of the wizard.

mod common;

use common::flow::dj2pg;
use common::output_text as printed;
use std::path::Path;
use std::process::Output;

const SCHEMA: &str = include_str!("../assets/events.schema.json");

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every line of `out` as JSON, each valid against the schema (all errors of a line named).
fn validated(out: &Output) -> Vec<serde_json::Value> {
    let schema: serde_json::Value = serde_json::from_str(SCHEMA).expect("the schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("the schema is a JSON Schema");
    let text = stdout(out);
    assert!(!text.trim().is_empty(), "no output: {}", printed(out));
    text.lines()
        .map(|line| {
            let value: serde_json::Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
            let errors: Vec<String> = validator
                .iter_errors(&value)
                .map(|e| format!("{e} at {}", e.instance_path()))
                .collect();
            assert!(errors.is_empty(), "{line}\n{errors:#?}");
            value
        })
        .collect()
}

/// Lines that name a key of the wizard.
fn key_hints(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| l.contains("press ") || l.contains("Press "))
        .collect()
}

/// The sample project's whole run as the other headless tests run it, with `extra` flags.
fn whole_run(
    cluster: &dj2pg::pg::cluster::TempCluster,
    python: &Path,
    project: &Path,
    state: &Path,
    extra: &[&str],
) -> Output {
    let url = cluster.app().display_url();
    let admin = cluster.admin().display_url();
    let mut args = common::flow::migrate_args(project, python, &url, &["--admin-url", &admin]);
    args.extend_from_slice(&["--reset-migrations", "all"]);
    args.extend_from_slice(extra);
    dj2pg(
        state,
        &args,
        &[
            ("PGPASSWORD", cluster.app_password().expose()),
            ("DJ2PG_ADMIN_PASSWORD", cluster.admin_password().expose()),
        ],
    )
}

/// `dj2pg COMMAND --from db.sqlite3 --to URL` (`copy` or `sync`) with `extra` flags.
fn from_sqlite(
    cluster: &dj2pg::pg::cluster::TempCluster,
    project: &Path,
    state: &Path,
    command: &str,
    extra: &[&str],
) -> Output {
    let from = project.join("db.sqlite3");
    let url = cluster.app().display_url();
    let mut args = vec![command, "--from", from.to_str().unwrap(), "--to", &url];
    args.extend_from_slice(extra);
    dj2pg(
        state,
        &args,
        &[("PGPASSWORD", cluster.app_password().expose())],
    )
}

/// `dj2pg copy … --yes` again into the migrated database (`--yes` empties the tables the
/// migrate's copy filled).
fn copy_again(
    cluster: &dj2pg::pg::cluster::TempCluster,
    project: &Path,
    state: &Path,
    extra: &[&str],
) -> Output {
    let mut flags = vec!["--yes"];
    flags.extend_from_slice(extra);
    from_sqlite(cluster, project, state, "copy", &flags)
}

/// `dj2pg sync …` with `extra` flags.
fn sync(
    cluster: &dj2pg::pg::cluster::TempCluster,
    project: &Path,
    state: &Path,
    extra: &[&str],
) -> Output {
    from_sqlite(cluster, project, state, "sync", extra)
}

fn events<'a>(lines: &'a [serde_json::Value], name: &str) -> Vec<&'a serde_json::Value> {
    lines.iter().filter(|e| e["event"] == name).collect()
}

#[test]
fn every_json_line_of_a_whole_migrate_copy_and_sync_validates_against_the_schema() {
    let python = common::django_venv();
    let cluster = common::cluster();
    let (tmp, project) = common::sample_project(600);
    let state = tmp.path().join("state");

    let out = whole_run(&cluster, &python, &project, &state, &["--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", printed(&out));
    let ev = validated(&out);
    assert!(ev.iter().all(|e| e["v"] == 1));
    for step in [
        "discover",
        "backup",
        "copy-rows",
        "cutover",
        "update-settings",
        "done",
    ] {
        assert!(
            ev.iter().any(|e| e["step"] == step && e["event"] == "done"),
            "{step} not done"
        );
    }
    // The copy's per-table verdict is an object in migrate too, and agrees with the copy.
    let verified: Vec<_> = ev.iter().filter(|e| e["event"] == "verified").collect();
    assert!(!verified.is_empty(), "{ev:#?}");
    assert!(verified.iter().all(|e| e["data"]["checksum_match"] == true));
    assert_eq!(key_hints(&stdout(&out)), Vec::<&str>::new());

    // One table that no longer holds exactly the SQLite rows: --yes empties it again.
    common::rows(
        &cluster.app(),
        cluster.app_password(),
        "DELETE FROM classifier_feedback WHERE id = (SELECT max(id) FROM classifier_feedback) \
         RETURNING id::text",
    );
    let out = copy_again(&cluster, &project, &state, &["--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", printed(&out));
    let copied = validated(&out);
    assert!(copied.iter().all(|e| e["step"] == "copy-rows"));
    // The same names for the same things as migrate: one `verified` per table, a
    // `nonempty-target` for the table --yes emptied, `done` with the whole report.
    let tables = copied.iter().filter(|e| e["event"] == "verified").count();
    assert_eq!(tables, verified.len(), "{copied:#?}");
    assert!(
        copied
            .iter()
            .any(|e| e["event"] == "nonempty-target" && e["data"]["table"] == "classifier_feedback"),
        "{copied:#?}"
    );
    let done = copied.iter().find(|e| e["event"] == "done").expect("done");
    assert_eq!(
        done["data"]["checks"].as_array().map(Vec::len),
        Some(tables)
    );
    assert_eq!(key_hints(&stdout(&out)), Vec::<&str>::new());

    // Rows changed in SQLite after that copy: `dj2pg sync` prints the Cutover step's events.
    let sqlite = rusqlite::Connection::open(project.join("db.sqlite3")).unwrap();
    sqlite
        .execute_batch(
            "UPDATE classifier_label SET color = '#123456' \
               WHERE id = (SELECT min(id) FROM classifier_label); \
             DELETE FROM classifier_feedback WHERE id = (SELECT min(id) FROM classifier_feedback); \
             INSERT INTO classifier_feedback (prediction_id, correct, comment, created_at) \
               VALUES ((SELECT min(id) FROM classifier_prediction), 1, 'after the copy', \
                       '2026-12-03 10:00:00');",
        )
        .unwrap();
    let out = sync(&cluster, &project, &state, &["--yes", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", printed(&out));
    let synced = validated(&out);
    assert!(synced.iter().all(|e| e["step"] == "cutover"), "{synced:#?}");
    let changes = events(&synced, "changes");
    assert_eq!(changes.len(), 1, "{synced:#?}");
    let tables = |v: &serde_json::Value| -> Vec<String> {
        let mut t: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["table"].as_str().unwrap().to_string())
            .collect();
        t.sort();
        t
    };
    let changed = ["classifier_feedback", "classifier_label"];
    assert_eq!(tables(&changes[0]["data"]["changes"]), changed);
    let moved: Vec<serde_json::Value> = events(&synced, "synced")
        .iter()
        .map(|e| e["data"].clone())
        .collect();
    assert_eq!(tables(&serde_json::Value::Array(moved)), changed);
    let report = events(&synced, "report");
    assert_eq!(report[0]["data"]["applied"]["committed"], true);
    let done = events(&synced, "done");
    assert!(
        done[0]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Synced and verified")),
        "{synced:#?}"
    );

    // Nothing changed since: `changes` lists none, and `done` says so.
    let out = sync(&cluster, &project, &state, &["--yes", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", printed(&out));
    let again = validated(&out);
    assert_eq!(
        events(&again, "changes")[0]["data"]["changes"],
        serde_json::json!([])
    );
    assert_eq!(events(&again, "done").len(), 1, "{again:#?}");

    // A row changed on both sides: one `conflict` with its key, then `stopped` (exit 1).
    let label = "(SELECT min(id) FROM classifier_label)";
    common::rows(
        &cluster.app(),
        cluster.app_password(),
        &format!(
            "UPDATE classifier_label SET color = '#654321' WHERE id = {label} RETURNING id::text"
        ),
    );
    sqlite
        .execute_batch(&format!(
            "UPDATE classifier_label SET color = '#abcdef' WHERE id = {label}"
        ))
        .unwrap();
    let out = sync(&cluster, &project, &state, &["--yes", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", printed(&out));
    let stopped = validated(&out);
    let conflicts = events(&stopped, "conflict");
    assert_eq!(conflicts.len(), 1, "{stopped:#?}");
    assert_eq!(conflicts[0]["data"]["table"], "classifier_label");
    assert_eq!(events(&stopped, "stopped").len(), 1, "{stopped:#?}");
    assert!(events(&stopped, "synced").is_empty(), "{stopped:#?}");
    assert_eq!(key_hints(&stdout(&out)), Vec::<&str>::new());
}

#[test]
fn the_text_of_a_whole_run_is_the_same_vocabulary_and_names_no_key() {
    let python = common::django_venv();
    let cluster = common::cluster();
    let (tmp, project) = common::sample_project(300);
    let state = tmp.path().join("state");
    let schema: serde_json::Value = serde_json::from_str(SCHEMA).unwrap();
    let names = |what: &str| -> Vec<String> {
        schema["properties"][what]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    let (steps, events) = (names("step"), names("event"));

    let out = whole_run(&cluster, &python, &project, &state, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", printed(&out));
    let text = stdout(&out);
    // `[step] event: message`, with the step and the event from the schema's lists.
    for line in text.lines() {
        let (step, rest) = line
            .strip_prefix('[')
            .and_then(|l| l.split_once("] "))
            .unwrap_or_else(|| panic!("not `[step] event: …`: {line}"));
        let (event, _) = rest
            .split_once(": ")
            .unwrap_or_else(|| panic!("not `[step] event: …`: {line}"));
        assert!(steps.iter().any(|s| s == step), "{line}");
        assert!(events.iter().any(|e| e == event), "{line}");
    }
    assert_eq!(key_hints(&printed(&out)), Vec::<&str>::new());

    let out = copy_again(&cluster, &project, &state, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", printed(&out));
    assert!(
        stdout(&out).contains("copied and verified"),
        "{}",
        printed(&out)
    );
    assert_eq!(key_hints(&printed(&out)), Vec::<&str>::new());
}
