//! One language per surface (issue 18): `dj2pg migrate` names flags and environment
//! variables, never the wizard's keys or form fields. The real binary on the sample project,
//! through the runs a user meets: a folder that is not a git repository, a wrong and a
//! missing password, a stop for a DBA, then the whole way to Done.

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn dj2pg(state_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dj2pg"));
    cmd.args(args)
        .env("DJ2PG_STATE_DIR", state_dir)
        .env_remove("PGPASSWORD")
        .env_remove("DJ2PG_ADMIN_PASSWORD")
        .env_remove("DJ2PG_TARGET_URL");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run dj2pg")
}

/// Words that belong to the wizard: keys to press, form fields, the Space bar.
fn wizard_words(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| {
            ["press ", "Press ", " field)", " field.", "Space "]
                .iter()
                .any(|w| l.contains(w))
        })
        .map(str::to_string)
        .collect()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn a_headless_run_names_flags_and_variables_never_keys_or_fields() {
    let python = common::django_venv();
    let cluster = common::cluster();
    let (tmp, project) = common::sample_project(300);
    let py = python.to_str().unwrap();
    let dir = project.to_str().unwrap();
    let url = cluster.app().display_url();
    let admin = cluster.admin().display_url();
    let state = tmp.path().join("state");
    let mut all = String::new();

    // Not a git repository, no --allow-dirty: the run stops after the backup.
    let base = ["migrate", "--project", dir, "--python", py, "--to", &url];
    let out = dj2pg(
        &state,
        &base,
        &[("PGPASSWORD", cluster.app_password().expose())],
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("--allow-dirty"),
        "names the flag that goes on: {t}"
    );
    assert!(
        !t.contains("git commit -am") && t.contains("git init"),
        "a folder that is not a repository needs one first: {t}"
    );
    all.push_str(&t);

    let mut args = base.to_vec();
    args.push("--allow-dirty");
    // A wrong password, then none at all.
    let out = dj2pg(&state, &args, &[("PGPASSWORD", "not-the-password")]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("[connect] failed") && t.contains("PGPASSWORD"),
        "{t}"
    );
    all.push_str(&t);
    let out = dj2pg(&state, &args, &[]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("PGPASSWORD"), "{t}");
    all.push_str(&t);

    // No admin: the run stops with the SQL for a DBA, and says how to go on.
    let out = dj2pg(
        &state,
        &args,
        &[("PGPASSWORD", cluster.app_password().expose())],
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("fix-permissions.sql"), "{t}");
    assert!(t.contains("--admin-url"), "{t}");
    all.push_str(&t);

    // With the admin, to the end.
    args.extend(["--admin-url", &admin, "--yes"]);
    let out = dj2pg(
        &state,
        &args,
        &[
            ("PGPASSWORD", cluster.app_password().expose()),
            ("DJ2PG_ADMIN_PASSWORD", cluster.admin_password().expose()),
        ],
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    all.push_str(&t);

    // Run again on the moved project, state forgotten: dj2pg recognises its own run.
    args.push("--fresh");
    let out = dj2pg(
        &state,
        &args,
        &[("PGPASSWORD", cluster.app_password().expose())],
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("dj2pg already moved this project to PostgreSQL on")
            && t.contains("report.md")
            && t.contains("dj2pg restore --project"),
        "{t}"
    );
    all.push_str(&t);

    // DBA terms come after a plain sentence, never alone (issue 18, "words for DBAs").
    for term in [
        "(delete mode",
        "hold(s) data",
        "through a settings overlay",
        "with the online backup API",
        "is a runtime role",
    ] {
        assert!(
            !all.contains(term),
            "{term:?} without a plain sentence:\n{all}"
        );
    }
    let found = wizard_words(&all);
    assert!(
        found.is_empty(),
        "wizard words headless:\n{}",
        found.join("\n")
    );
}
