//! Update settings end to end on copies of the sample project: locate `DATABASES` with the
//! real Python, plan, write, and validate with the real Django against the harness's real
//! PostgreSQL (TLS, scram, a non-superuser `doadmin`, a fresh `app`), with the password in
//! the environment only. Then the old file back, byte for byte.

mod common;

use dj2pg::data::settings::{
    Applied, Classification, LocateOutcome, RewritePlan, SettingsChange, SettingsStyle,
    SettingsTarget,
};
use dj2pg::django::overlay::Overlay;
use dj2pg::django::settings_rewrite::{
    apply, locate, plan_rewrite, revert, target_from_conn, validate, validation_env,
};
use dj2pg::pg::Secret;
use dj2pg::pg::cluster::TempCluster;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// What Fix permissions and Create schema leave behind: `app` may use and create in
/// `public` (granted by doadmin, connected to appdb), and Django's tables exist, owned by it.
fn migrated(c: &TempCluster, python: &Path, project: &Path) {
    common::exec(
        &c.admin(),
        c.admin_password(),
        "GRANT USAGE, CREATE ON SCHEMA public TO app",
    );
    let overlay = Overlay::write(project, "aiproto.settings").expect("overlay");
    let out = overlay
        .manage(
            python,
            &c.app(),
            Some(c.app_password()),
            &["migrate", "--noinput"],
        )
        .expect("run migrate");
    assert!(
        out.status.success(),
        "migrate failed:\n{}",
        common::output_text(&out)
    );
}

/// Every text a user (or a log) could see of this run, to search for the password.
fn everything_shown(plan: &RewritePlan, applied: &Applied, extra: &[String]) -> String {
    let mut all = serde_json::to_string(plan).unwrap();
    all.push_str(&serde_json::to_string(applied).unwrap());
    for line in &plan.shell_lines {
        all.push_str(line);
    }
    for e in extra {
        all.push_str(e);
    }
    all
}

#[test]
fn sample_project_env_style_is_written_validated_and_reverted() {
    let python = common::django_venv();
    let c = common::cluster();
    let (_tmp, project) = common::sample_project(40);
    migrated(&c, &python, &project);
    let settings = project.join("aiproto/settings.py");
    std::fs::set_permissions(&settings, std::fs::Permissions::from_mode(0o640)).unwrap();
    let original = std::fs::read(&settings).unwrap();

    let location = locate(&python, &project, "aiproto.settings").expect("locate");
    let LocateOutcome::Rewritable(site) = &location.outcome else {
        panic!("sample settings not rewritable: {:?}", location.outcome);
    };
    assert_eq!(site.classification, Classification::PlainAssignment);
    assert_eq!((site.start_line, site.end_line), (81, 86));
    assert_eq!(location.postgres_driver.as_deref(), Some("psycopg"));

    let target = target_from_conn(&c.app(), None);
    let plan = plan_rewrite(&project, &location, &target, SettingsStyle::Env).expect("plan");
    let SettingsChange::Rewrite { new_text, diff, .. } = &plan.change else {
        panic!("expected a rewrite: {:?}", plan.change);
    };
    assert!(
        diff.unified
            .contains("-        'ENGINE': 'django.db.backends.sqlite3',"),
        "{}",
        diff.unified
    );
    assert!(
        diff.unified
            .contains("+        \"ENGINE\": \"django.db.backends.postgresql\",")
    );
    assert!(new_text.contains("os.environ.get(\"POSTGRES_PASSWORD\", \"\")"));
    let names: Vec<&str> = plan.env.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "POSTGRES_HOST",
            "POSTGRES_PORT",
            "POSTGRES_DB",
            "POSTGRES_USER",
            "POSTGRES_PASSWORD",
            "POSTGRES_SSLMODE"
        ]
    );

    assert!(
        plan.snippet.starts_with("import os\n\n# PostgreSQL"),
        "{}",
        plan.snippet
    );
    assert!(plan.snippet.contains("DATABASES = {"));

    // The project already has a .env.example: its other lines stay, ours replace the old.
    let old_env_example = "DJANGO_SECRET_KEY=\nPOSTGRES_HOST=old.example.com\n";
    std::fs::write(project.join(".env.example"), old_env_example).unwrap();
    let backup_dir = tempfile::tempdir().unwrap();
    let applied = apply(&plan, backup_dir.path()).expect("apply");
    let written = std::fs::read_to_string(&settings).unwrap();
    assert_eq!(&written, new_text);
    // .env.example says where the values go; .env, where the password goes, is ignored.
    let gitignore = std::fs::read_to_string(project.join(".gitignore")).unwrap_or_default();
    assert!(gitignore.lines().any(|l| l == ".env"), "{gitignore}");
    let example = std::fs::read_to_string(project.join(".env.example")).unwrap();
    assert!(
        example.contains("Django reads the process environment"),
        "{example}"
    );
    let mode = std::fs::metadata(&settings).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o640, "the written settings.py lost its permissions");
    assert_eq!(std::fs::read(&applied.backup.archived).unwrap(), original);
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(backup_dir.path().join("settings-backup.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(manifest[0]["kind"], "settings");
    assert_eq!(
        manifest[0]["sha256"].as_str(),
        Some(applied.backup.sha256.as_str())
    );
    let env_example = std::fs::read_to_string(project.join(".env.example")).unwrap();
    assert!(
        env_example.contains("\nPOSTGRES_PASSWORD=\n"),
        "{env_example}"
    );
    assert!(env_example.contains(&format!("POSTGRES_PORT={}", c.port())));
    assert!(
        env_example.starts_with("DJANGO_SECRET_KEY=\n"),
        "{env_example}"
    );
    assert!(!env_example.contains("old.example.com"), "{env_example}");
    assert_eq!(manifest[1]["kind"], "env-example");

    // The project's real settings and the environment: Django reads PostgreSQL.
    let password = c.app_password();
    let env = validation_env(&plan.env, Some(password));
    let ok =
        validate(&python, &project, "aiproto.settings", &env, Some(password)).expect("validate");
    assert!(ok.ok, "{}\n{}\n{:?}", ok.message, ok.check.output, ok.read);
    assert_eq!(ok.vendor.as_deref(), Some("postgresql"));
    let applied_migrations =
        common::scalar(&c.app(), password, "SELECT count(*) FROM django_migrations");
    assert_eq!(
        ok.migrations_rows.map(|n| n.to_string()),
        applied_migrations
    );

    // A wrong password: a clear failure, and neither password anywhere in the output.
    let wrong = Secret::new("Wr0ng-pass-Xy9");
    let bad_env = validation_env(&plan.env, Some(&wrong));
    let bad = validate(
        &python,
        &project,
        "aiproto.settings",
        &bad_env,
        Some(&wrong),
    )
    .expect("validate");
    assert!(!bad.ok);
    let bad_text = format!("{}{}{:?}", bad.message, bad.check.output, bad.read);
    assert!(
        bad_text.contains("password authentication failed"),
        "{bad_text}"
    );
    assert!(
        !bad_text.contains(wrong.expose()),
        "the wrong password leaked: {bad_text}"
    );

    let shown = everything_shown(
        &plan,
        &applied,
        &[
            written.clone(),
            env_example,
            serde_json::to_string(&ok).unwrap(),
            bad_text,
        ],
    );
    assert!(!shown.contains(password.expose()), "the password leaked");

    revert(&applied).expect("revert");
    assert_eq!(
        std::fs::read(&settings).unwrap(),
        original,
        "revert is not byte-identical"
    );
    let mode = std::fs::metadata(&settings).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o640);
}

/// `aiproto/settings.py` split into a package: `base.py` (the old file) and `dev.py`
/// (`from .base import *`), used as `aiproto.settings.dev`.
fn split_settings(project: &Path) {
    let dir = project.join("aiproto/settings");
    let old = std::fs::read_to_string(project.join("aiproto/settings.py")).unwrap();
    std::fs::remove_file(project.join("aiproto/settings.py")).unwrap();
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("__init__.py"), "").unwrap();
    let base = old.replace(
        "Path(__file__).resolve().parent.parent",
        "Path(__file__).resolve().parent.parent.parent",
    );
    std::fs::write(dir.join("base.py"), base).unwrap();
    std::fs::write(
        dir.join("dev.py"),
        "from .base import *  # noqa\n\nDEBUG = True\n",
    )
    .unwrap();
}

#[test]
fn split_settings_database_url_verify_full_validates() {
    let python = common::django_venv();
    let c = common::cluster();
    let (_tmp, project) = common::sample_project(20);
    migrated(&c, &python, &project);
    split_settings(&project);
    let module = "aiproto.settings.dev";

    let location = locate(&python, &project, module).expect("locate");
    let LocateOutcome::Rewritable(site) = &location.outcome else {
        panic!("split settings not rewritable: {:?}", location.outcome);
    };
    assert!(
        site.file.ends_with("aiproto/settings/base.py"),
        "{}",
        site.file.display()
    );
    assert!(location.settings_file.ends_with("aiproto/settings/dev.py"));
    assert_eq!(location.chain.len(), 2, "{:?}", location.chain);
    assert!(
        !location.dj_database_url,
        "the harness venv has no dj-database-url"
    );

    let mut target = target_from_conn(&c.app(), None);
    target.sslmode = "verify-full".into();
    target.sslrootcert = Some(c.ca_file().to_path_buf());
    let plan =
        plan_rewrite(&project, &location, &target, SettingsStyle::DatabaseUrl).expect("plan");
    let SettingsChange::Rewrite { file, new_text, .. } = &plan.change else {
        panic!("expected a rewrite: {:?}", plan.change);
    };
    assert!(file.ends_with("base.py"));
    assert!(new_text.contains("import urllib.parse"), "{new_text}");
    assert!(!new_text.contains("ssl_require"));
    assert!(
        plan.notes
            .iter()
            .any(|n| n.contains("dj-database-url is not installed")),
        "{:?}",
        plan.notes
    );
    assert_eq!(plan.env.len(), 1);
    assert!(
        plan.env[0]
            .value
            .contains("sslmode=verify-full&sslrootcert="),
        "{}",
        plan.env[0].value
    );

    let backup_dir = tempfile::tempdir().unwrap();
    let applied = apply(&plan, backup_dir.path()).expect("apply");
    let password = c.app_password();
    let env = validation_env(&plan.env, Some(password));
    let v = validate(&python, &project, module, &env, Some(password)).expect("validate");
    assert!(v.ok, "{}\n{}\n{:?}", v.message, v.check.output, v.read);

    // verify-full really verifies: the wrong CA file fails the read.
    let other = common::cluster();
    let mut wrong_ca = target.clone();
    wrong_ca.sslrootcert = Some(other.ca_file().to_path_buf());
    let plan2 = plan_rewrite(
        &project,
        &location_after(&python, &project, module),
        &wrong_ca,
        SettingsStyle::DatabaseUrl,
    )
    .expect("plan");
    let env2 = validation_env(&plan2.env, Some(password));
    let v2 = validate(&python, &project, module, &env2, Some(password)).expect("validate");
    assert!(
        !v2.ok,
        "a wrong CA file must fail verify-full: {}",
        v2.message
    );
    assert!(!format!("{:?}", v2).contains(password.expose()));
    revert(&applied).expect("revert");
}

fn location_after(
    python: &Path,
    project: &Path,
    module: &str,
) -> dj2pg::data::settings::SettingsLocation {
    locate(python, project, module).expect("locate")
}

#[test]
fn apply_refuses_a_file_changed_after_planning_and_a_manual_plan() {
    let python = common::django_venv();
    let (_tmp, project) = common::sample_project(5);
    let location = locate(&python, &project, "aiproto.settings").expect("locate");
    let target = SettingsTarget {
        host: "db.example.com".into(),
        port: 25060,
        dbname: "appdb".into(),
        user: "app".into(),
        sslmode: "require".into(),
        sslrootcert: None,
        search_path: None,
        pool: false,
        ..Default::default()
    };
    let plan = plan_rewrite(&project, &location, &target, SettingsStyle::Env).expect("plan");
    let settings = project.join("aiproto/settings.py");
    let mut text = std::fs::read_to_string(&settings).unwrap();
    text.push_str("\nDEBUG = False\n");
    std::fs::write(&settings, &text).unwrap();
    let backup = tempfile::tempdir().unwrap();
    let err = apply(&plan, backup.path()).unwrap_err().to_string();
    assert!(
        err.contains("changed since the change was planned"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(&settings).unwrap(),
        text,
        "the file was touched"
    );
    assert!(!backup.path().join("settings-backup.json").exists());

    let mut manual = plan.clone();
    manual.change = SettingsChange::Manual {
        reason: "test".into(),
        file: None,
        snippet: String::new(),
    };
    assert!(apply(&manual, backup.path()).is_err());
}
