//! `dj2pg migrate` checks every flag and the URL before its Backup step (issue 18): a
//! missing target, a bad sslmode or a mistyped app label costs no backup, and the message
//! names the flag once and what to give instead (the nearest local app label).

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn migrate(state: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dj2pg"))
        .args(args)
        .env("DJ2PG_STATE_DIR", state)
        .env_remove("PGPASSWORD")
        .env_remove("DJ2PG_TARGET_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("run dj2pg")
}

fn backups(project: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(project.join(".dj2pg/backups"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

#[test]
fn migrate_checks_its_inputs_before_any_backup_exists() {
    let python = django_venv();
    let (tmp, project) = sample_project(200);
    let state = tmp.path().join("state");
    let base = [
        "migrate",
        "--project",
        project.to_str().unwrap(),
        "--python",
        python.to_str().unwrap(),
        "--allow-dirty",
    ];
    let run = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        migrate(&state, &args)
    };

    // No target: said at once, nothing run.
    let out = run(&[]);
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("--to postgresql://"), "{text}");
    assert!(!text.contains("[discover]"), "{text}");
    assert!(backups(&project).is_empty(), "{text}");

    // A bad sslmode: said at once.
    let out = run(&["--to", "postgresql://app@127.0.0.1:1/db?sslmode=strict"]);
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("sslmode=strict"), "{text}");
    assert!(backups(&project).is_empty(), "{text}");

    // A mistyped app label: after Discover lists the apps, before the backup; with the
    // nearest local label, and the flag's name once.
    let target = "postgresql://app@127.0.0.1:1/db?sslmode=disable";
    let out = run(&["--to", target, "--reset-migrations", "classifer"]);
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(r#"no installed app is labelled "classifer": did you mean "classifier"?"#),
        "{text}"
    );
    assert_eq!(text.matches("--reset-migrations").count(), 1, "{text}");
    assert!(!text.contains("[backup] start"), "{text}");
    assert!(backups(&project).is_empty(), "{text}");

    // A third-party app: kept, said before the backup too.
    let out = run(&["--to", target, "--reset-migrations", "auth"]);
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("third-party"), "{text}");
    assert!(backups(&project).is_empty(), "{text}");
}

#[test]
fn the_wizard_without_a_terminal_says_what_to_use_instead() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("manage.py"), "").unwrap();
    // Output to a pipe, no terminal at hand: as under cron or CI.
    let out = Command::new(env!("CARGO_BIN_EXE_dj2pg"))
        .current_dir(tmp.path())
        .env("DJ2PG_STATE_DIR", tmp.path().join("state"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("run dj2pg");
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("needs a terminal"), "{text}");
    assert!(text.contains("dj2pg migrate --yes"), "{text}");
    assert!(!text.contains("os error"), "{text}");
    assert!(!tmp.path().join("state").exists(), "nothing saved: {text}");
}
