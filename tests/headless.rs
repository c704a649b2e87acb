//! `dj2pg migrate` without a terminal: the real binary, the real sample project, a real
//! PostgreSQL. JSON lines are parsed and checked as a script would.

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn dj2pg(state_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dj2pg"));
    cmd.args(args)
        .env("DJ2PG_STATE_DIR", state_dir)
        .env_remove("PGPASSWORD")
        .env_remove("DJ2PG_TARGET_URL");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run dj2pg")
}

/// `migrate --project P --python PY --allow-dirty EXTRA…` (the sample project is copied
/// into a temporary folder that is not a git repository: Backup asks to acknowledge that).
fn migrate_args<'a>(project: &'a Path, python: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "migrate",
        "--project",
        project.to_str().unwrap(),
        "--python",
        python.to_str().unwrap(),
        "--allow-dirty",
    ];
    args.extend_from_slice(extra);
    args
}

fn events(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn has(events: &[serde_json::Value], step: &str, event: &str) -> bool {
    events
        .iter()
        .any(|e| e["step"] == step && e["event"] == event)
}

#[test]
fn migrate_discovers_then_stops_at_connect_when_nothing_listens_and_resumes() {
    let python = common::django_venv();
    let (tmp, project) = common::sample_project(400);
    let state = tmp.path().join("state");
    // Nothing listens on port 1: the run gets as far as Connect, and fails there. (Without
    // --to at all it would not start: tests/trust.rs.)
    let to = [
        "--json",
        "--to",
        "postgresql://app@127.0.0.1:1/appdb?sslmode=disable",
    ];

    let out = dj2pg(&state, &migrate_args(&project, &python, &to), &[]);
    let ev = events(&out);
    assert_eq!(out.status.code(), Some(1), "{ev:#?}");
    assert!(has(&ev, "discover", "done"), "{ev:#?}");
    let discovery = ev
        .iter()
        .find(|e| e["event"] == "discovery")
        .expect("discovery data");
    assert_eq!(discovery["data"]["settings_module"], "aiproto.settings");
    // The steps before Connect ran for real: the backup, the reset question (kept by
    // default), the dry run.
    assert!(has(&ev, "backup", "done"), "{ev:#?}");
    assert!(has(&ev, "reset-migrations", "skipped"), "{ev:#?}");
    assert!(has(&ev, "dry-run", "done"), "{ev:#?}");
    let failed = ev
        .iter()
        .find(|e| e["step"] == "connect" && e["event"] == "failed")
        .expect("connect failure");
    assert!(
        failed["message"]
            .as_str()
            .unwrap()
            .contains("nothing accepts connections at 127.0.0.1:1"),
        "{failed}"
    );

    // The second run resumes: Discover is not run again.
    let out = dj2pg(&state, &migrate_args(&project, &python, &to), &[]);
    let ev = events(&out);
    assert!(has(&ev, "discover", "already-done"), "{ev:#?}");
    assert!(!has(&ev, "discover", "start"), "{ev:#?}");
    assert!(ev.iter().any(|e| e["event"] == "resume"), "{ev:#?}");

    // --fresh starts over.
    let mut fresh = to.to_vec();
    fresh.push("--fresh");
    let out = dj2pg(&state, &migrate_args(&project, &python, &fresh), &[]);
    assert!(has(&events(&out), "discover", "start"));
}

#[test]
fn migrate_names_pgpassword_when_the_password_is_wrong() {
    let python = common::django_venv();
    let cluster = common::cluster();
    let (tmp, project) = common::sample_project(300);
    let url = cluster.app().display_url();
    let out = dj2pg(
        &tmp.path().join("state"),
        &migrate_args(&project, &python, &["--to", &url]),
        &[("PGPASSWORD", "not-the-password")],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("[connect] failed") && text.contains("$PGPASSWORD"),
        "{text}"
    );
    assert!(
        !text.contains("not-the-password"),
        "a password reached the output: {text}"
    );
}

#[test]
fn migrate_connects_over_tls_and_describes_the_target() {
    let python = common::django_venv();
    let cluster = common::cluster();
    let (tmp, project) = common::sample_project(300);
    let url = cluster.app().display_url();
    let out = dj2pg(
        &tmp.path().join("state"),
        &migrate_args(&project, &python, &["--to", &url, "--json"]),
        &[("PGPASSWORD", cluster.app_password().expose())],
    );
    let ev = events(&out);
    let done = ev
        .iter()
        .find(|e| e["step"] == "connect" && e["event"] == "done")
        .unwrap_or_else(|| panic!("{ev:#?}"));
    let summary = done["message"].as_str().unwrap();
    assert!(
        summary.contains("as app on appdb") && summary.contains("TLS"),
        "{summary}"
    );
    // The state file never holds the password.
    for entry in std::fs::read_dir(tmp.path().join("state")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(
            !text.contains(cluster.app_password().expose()),
            "password saved to disk"
        );
    }
}

/// Issue 11's headless goal: on a fresh copy of the sample project and a fresh app role
/// (no privilege on schema public), one command goes from Discover through Copy rows:
/// the dry run, the permission fix run as the admin, migrate, the copy.
#[test]
fn migrate_with_an_admin_url_fixes_permissions_creates_the_schema_and_copies() {
    let python = common::django_venv();
    let cluster = common::cluster();
    let (tmp, project) = common::sample_project(600);
    let before = common::tree_hashes(&project, &[".dj2pg", "__pycache__"]);
    let url = cluster.app().display_url();
    let admin = cluster.admin().display_url();
    let out = dj2pg(
        &tmp.path().join("state"),
        &migrate_args(
            &project,
            &python,
            &[
                "--to",
                &url,
                "--admin-url",
                &admin,
                "--yes",
                "--json",
                "--reset-migrations",
                "all",
            ],
        ),
        &[
            ("PGPASSWORD", cluster.app_password().expose()),
            ("DJ2PG_ADMIN_PASSWORD", cluster.admin_password().expose()),
        ],
    );
    let ev = events(&out);
    assert_eq!(out.status.code(), Some(0), "{ev:#?}");
    for step in [
        "backup",
        "reset-migrations",
        "dry-run",
        "fix-permissions",
        "create-schema",
        "copy-rows",
        "cutover",
        "update-settings",
        "done",
    ] {
        assert!(has(&ev, step, "done"), "{step} not done: {ev:#?}");
    }
    // Cutover runs as a step right after the copy: nothing changed in between, nothing moved.
    let cutover = ev
        .iter()
        .find(|e| e["step"] == "cutover" && e["event"] == "done")
        .unwrap();
    assert!(
        cutover["message"]
            .as_str()
            .unwrap()
            .contains("nothing changed since the copy's snapshot"),
        "{cutover}"
    );
    let fix = ev
        .iter()
        .find(|e| e["step"] == "fix-permissions" && e["event"] == "done")
        .unwrap();
    assert!(
        fix["message"].as_str().unwrap().contains("recipe A"),
        "{fix}"
    );
    // Django's tables belong to the app role, and hold the SQLite rows.
    let mut su = cluster.superuser();
    su.dbname = cluster.app().dbname;
    let owner = common::rows(
        &su,
        cluster.superuser_password(),
        "SELECT DISTINCT pg_get_userbyid(relowner)::text FROM pg_class \
         WHERE relname LIKE 'classifier_%' AND relkind = 'r'",
    );
    assert_eq!(owner, vec![vec![Some("app".to_string())]]);
    let counts = common::sqlite_counts(&project.join("db.sqlite3"));
    for (table, n) in counts.iter().filter(|(t, _)| t.starts_with("classifier_")) {
        let got = common::rows(
            &cluster.app(),
            cluster.app_password(),
            &format!("SELECT count(*)::text FROM {table}"),
        );
        assert_eq!(got, vec![vec![Some(n.to_string())]], "{table}");
    }
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains(cluster.admin_password().expose()));
    assert!(!text.contains(cluster.app_password().expose()));
    // settings.py reads the environment; no password in any file of the project.
    let settings = std::fs::read_to_string(project.join("aiproto/settings.py")).unwrap();
    assert!(settings.contains("os.environ"), "{settings}");
    for (path, _) in common::tree_hashes(&project, &["__pycache__"]) {
        let bytes = std::fs::read(project.join(&path)).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains(cluster.app_password().expose()),
            "password in {path}"
        );
        assert!(
            !text.contains(cluster.admin_password().expose()),
            "password in {path}"
        );
    }
    // The report is next to the backup; restore gives the project's files back byte for byte.
    let report = ev
        .iter()
        .find(|e| e["step"] == "done" && e["event"] == "report")
        .and_then(|e| e["message"].as_str())
        .unwrap_or_else(|| panic!("no report: {ev:#?}"));
    let md = std::fs::read_to_string(report).unwrap();
    assert!(
        md.contains("## Rows copied and verified") && md.contains("dj2pg restore"),
        "{md}"
    );
    let backup = std::path::Path::new(report).parent().unwrap();
    let out = dj2pg(
        &tmp.path().join("state"),
        &[
            "restore",
            "--project",
            project.to_str().unwrap(),
            "--backup",
            backup.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // Left out: what dj2pg adds beside the project's files on purpose (its folder, the
    // .gitignore lines that keep it and .env out of git). The .env.example it wrote is
    // moved out by restore like its other files.
    let skip = [".dj2pg", "__pycache__", ".gitignore"];
    let mut before = before;
    before.remove(".gitignore");
    let after = common::tree_hashes(&project, &skip);
    assert_eq!(after, before, "restore gives back every file");
}

#[test]
fn migrate_without_an_admin_stops_with_the_sql_for_a_dba() {
    let python = common::django_venv();
    let cluster = common::cluster();
    let (tmp, project) = common::sample_project(300);
    let url = cluster.app().display_url();
    let out = dj2pg(
        &tmp.path().join("state"),
        &migrate_args(&project, &python, &["--to", &url]),
        &[("PGPASSWORD", cluster.app_password().expose())],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("[fix-permissions] sql: GRANT USAGE, CREATE ON SCHEMA \"public\" TO \"app\""),
        "{text}"
    );
    assert!(text.contains("--admin-url"), "{text}");
    let script = project.join(".dj2pg/fix-permissions.sql");
    let sql = std::fs::read_to_string(&script).expect("the SQL is saved for a DBA");
    assert!(sql.contains("\\connect"), "{sql}");
    assert!(
        !text.contains("[create-schema] start"),
        "migrate never ran: {text}"
    );
}

/// Recipe C end to end: the admin owns the tables (migrate and the copy run as it), the
/// app role is a runtime role. Afterwards Django's ORM, as the app role through the new
/// settings and the environment only, reads and writes — also in a table that a later
/// migration (run as the admin) creates, through the default privileges.
#[test]
fn recipe_c_admin_owns_the_tables_and_the_app_role_reads_and_writes_through_django() {
    let python = common::django_venv();
    let cluster = common::cluster();
    let (tmp, project) = common::sample_project(300);
    let url = cluster.app().display_url();
    let admin = cluster.admin().display_url();
    let out = dj2pg(
        &tmp.path().join("state"),
        &migrate_args(
            &project,
            &python,
            &[
                "--to",
                &url,
                "--admin-url",
                &admin,
                "--fix-permissions",
                "runtime-role",
                "--yes",
            ],
        ),
        &[
            ("PGPASSWORD", cluster.app_password().expose()),
            ("DJ2PG_ADMIN_PASSWORD", cluster.admin_password().expose()),
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("[fix-permissions] done: recipe C"), "{text}");
    assert!(
        text.contains("created the schema on PostgreSQL as doadmin"),
        "{text}"
    );
    let mut su = cluster.superuser();
    su.dbname = cluster.app().dbname;
    let owners = common::rows(
        &su,
        cluster.superuser_password(),
        "SELECT DISTINCT pg_get_userbyid(relowner)::text FROM pg_class \
         WHERE relname LIKE 'classifier_%' AND relkind = 'r'",
    );
    assert_eq!(owners, vec![vec![Some("doadmin".to_string())]]);

    let env = |user: &str, password: &str| {
        vec![
            ("POSTGRES_HOST", "127.0.0.1".to_string()),
            ("POSTGRES_PORT", cluster.app().port.to_string()),
            ("POSTGRES_DB", cluster.app().dbname),
            ("POSTGRES_USER", user.to_string()),
            ("POSTGRES_PASSWORD", password.to_string()),
            ("POSTGRES_SSLMODE", "require".to_string()),
        ]
    };
    let py = |args: &[&str], env: &[(&str, String)]| {
        let mut cmd = std::process::Command::new(&python);
        cmd.args(args)
            .current_dir(&project)
            .env_remove("PGPASSWORD");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run the project's Python");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{args:?}:\n{text}");
        text
    };
    let app_env = env("app", cluster.app_password().expose());
    let orm = r#"
import django, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aiproto.settings")
django.setup()
from django.db import connection
from classifier.models import Label
n = Label.objects.count()
l = Label.objects.create(name="runtime-role-check")
l.name = "runtime-role-checked"; l.save()
l.delete()
print("orm-ok", connection.settings_dict["USER"], n)
"#;
    let out = py(&["-c", orm], &app_env);
    assert!(out.contains("orm-ok app"), "{out}");

    // A later migration, run as the admin that owns the tables.
    let models = project.join("classifier/models.py");
    let mut text = std::fs::read_to_string(&models).unwrap();
    text.push_str("\n\nclass RuntimeNote(models.Model):\n    text = models.TextField()\n");
    std::fs::write(&models, text).unwrap();
    let admin_env = env("doadmin", cluster.admin_password().expose());
    py(&["manage.py", "makemigrations", "classifier"], &admin_env);
    py(&["manage.py", "migrate", "--noinput"], &admin_env);
    let later = r#"
import django, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aiproto.settings")
django.setup()
from classifier.models import RuntimeNote
note = RuntimeNote.objects.create(text="written by the runtime role")
print("later-ok", RuntimeNote.objects.filter(pk=note.pk).count())
"#;
    let out = py(&["-c", later], &app_env);
    assert!(out.contains("later-ok 1"), "{out}");
}
