//! Update settings on synthetic settings layouts, located by the real Python's `ast`; the
//! new files are then run by that Python (with Django and psycopg of the harness venv) to
//! check what `DATABASES` really holds, and that psycopg accepts every OPTIONS key.

mod common;

use dj2pg::data::settings::{
    Classification, LocateOutcome, RewritePlan, SettingsChange, SettingsLocation, SettingsStyle,
    SettingsTarget, SiteKind,
};
use dj2pg::django::settings_rewrite::{apply, locate, plan_rewrite};
use std::path::{Path, PathBuf};
use std::process::Command;

fn target() -> SettingsTarget {
    SettingsTarget {
        host: "db-postgresql-nyc3-12345.b.db.ondigitalocean.com".into(),
        port: 25060,
        dbname: "appdb".into(),
        user: "app".into(),
        sslmode: "verify-full".into(),
        sslrootcert: Some("/home/me/ca-certificate.crt".into()),
        search_path: None,
        pool: false,
        ..Default::default()
    }
}

/// A project dir holding `files` (path, text); returns the guard and the dir.
fn layout(files: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::Builder::new()
        .prefix("dj2pg-layout-")
        .tempdir()
        .unwrap();
    let dir = tmp.path().join("proj");
    for (rel, text) in files {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    (tmp, dir)
}

fn located(dir: &Path, module: &str) -> SettingsLocation {
    locate(&common::django_venv(), dir, module).unwrap_or_else(|e| panic!("locate: {e:#}"))
}

fn new_text(plan: &RewritePlan) -> &str {
    match &plan.change {
        SettingsChange::Rewrite { new_text, .. } => new_text,
        other => panic!("expected a rewrite: {other:?}"),
    }
}

/// Run `file` with the venv's Python (cwd `dir`, `env` set) and return its DATABASES as
/// JSON, plus whether psycopg accepts the default database's OPTIONS as connection keywords
/// (Django's own keys taken out, as its backend does).
fn run_settings(dir: &Path, file: &Path, env: &[(&str, &str)]) -> (serde_json::Value, String) {
    let code = r#"
import json, runpy, sys
import psycopg
ns = runpy.run_path(sys.argv[1])
dbs = ns["DATABASES"]
opts = dict(dbs["default"].get("OPTIONS", {}))
for k in ("isolation_level", "server_side_binding", "pool", "assume_role", "prepare_threshold", "cursor_factory"):
    opts.pop(k, None)
try:
    psycopg.conninfo.make_conninfo("", **{k: str(v) for k, v in opts.items()})
    verdict = "accepted"
except Exception as e:
    verdict = "rejected: %s" % e
print(json.dumps({"databases": dbs, "libpq": verdict}, default=lambda o: int(o) if isinstance(o, int) else str(o)))
"#;
    let mut cmd = Command::new(common::django_venv());
    cmd.arg("-c")
        .arg(code)
        .arg(file)
        .current_dir(dir)
        .env("PYTHONDONTWRITEBYTECODE", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "running {}:\n{}",
        file.display(),
        common::output_text(&out)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    (
        v["databases"].clone(),
        v["libpq"].as_str().unwrap().to_string(),
    )
}

const OLD_PG: &str = r#""""Settings that already spoke PostgreSQL, with OPTIONS libpq rejects."""
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent

DATABASES = {
    "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"},
    "analytics": {"ENGINE": "django.db.backends.sqlite3", "NAME": "analytics.sqlite3"},
}

DATABASES["default"] = {
    "ENGINE": "django.db.backends.postgresql",
    "NAME": "old",
    "PASSWORD": "hunter2-old",
    "OPTIONS": {
        "default_transaction_isolation": "serializable",
        "timezone": "UTC",
        "connect_timeout": 5,
    },
    "CONN_MAX_AGE": 60,
}
"#;

#[test]
fn default_subscript_with_rejected_options_is_translated() {
    let (_t, dir) = layout(&[("conf.py", OLD_PG)]);
    // The old file really is refused by psycopg: the check below can fail.
    let (_, verdict) = run_settings(&dir, &dir.join("conf.py"), &[]);
    assert!(verdict.starts_with("rejected"), "{verdict}");

    let loc = located(&dir, "conf");
    let LocateOutcome::Rewritable(site) = &loc.outcome else {
        panic!("{:?}", loc.outcome)
    };
    assert_eq!(site.kind, SiteKind::AssignDefault);
    assert_eq!(site.classification, Classification::DefaultAssignment);
    assert_eq!(site.start_line, 11);

    let plan = plan_rewrite(&dir, &loc, &target(), SettingsStyle::Env).unwrap();
    let text = new_text(&plan);
    assert!(text.contains("DATABASES[\"default\"] = {"), "{text}");
    // `import os` goes with the other imports, above `from pathlib import Path`.
    assert!(text.contains("\"\"\"\nimport os\nfrom django.db.backends.postgresql.psycopg_any import IsolationLevel\nfrom pathlib import Path\n"), "{text}");
    assert!(!text.contains("hunter2-old"));
    assert!(
        plan.notes
            .iter()
            .any(|n| n.contains("isolation_level") && n.contains("SERIALIZABLE")),
        "{:?}",
        plan.notes
    );
    assert!(
        plan.notes.iter().any(|n| n.contains("TIME_ZONE")),
        "{:?}",
        plan.notes
    );
    assert!(
        plan.notes.iter().any(|n| n.contains("PASSWORD literal")),
        "{:?}",
        plan.notes
    );

    let backup = tempfile::tempdir().unwrap();
    apply(&plan, backup.path()).unwrap();
    let (dbs, verdict) = run_settings(
        &dir,
        &dir.join("conf.py"),
        &[("POSTGRES_PASSWORD", "s3cret")],
    );
    assert_eq!(verdict, "accepted");
    let d = &dbs["default"];
    assert_eq!(d["ENGINE"], "django.db.backends.postgresql");
    assert_eq!(d["HOST"], target().host);
    assert_eq!(d["PASSWORD"], "s3cret");
    assert_eq!(d["CONN_MAX_AGE"], 60);
    assert_eq!(d["OPTIONS"]["connect_timeout"], 5);
    assert_eq!(d["OPTIONS"]["sslmode"], "verify-full");
    assert_eq!(d["OPTIONS"]["sslrootcert"], "/home/me/ca-certificate.crt");
    // psycopg's IsolationLevel.SERIALIZABLE is 4.
    assert_eq!(d["OPTIONS"]["isolation_level"], 4);
    assert!(
        d["OPTIONS"].get("timezone").is_none()
            && d["OPTIONS"].get("default_transaction_isolation").is_none()
    );
    assert_eq!(
        dbs["analytics"]["NAME"], "analytics.sqlite3",
        "another alias was changed"
    );
}

const DJ_URL: &str = r#"import os

import dj_database_url

DATABASES = {
    "default": dj_database_url.config(default="sqlite:///db.sqlite3", conn_max_age=600, ssl_require=True),
}
"#;

/// dj-database-url is not in assets/requirements.txt, so this file is only parsed and the
/// generated code only inspected; importing it for real needs the package installed.
#[test]
fn dj_database_url_config_is_classified_and_never_gets_ssl_require() {
    let (_t, dir) = layout(&[("conf.py", DJ_URL)]);
    let mut loc = located(&dir, "conf");
    let LocateOutcome::Rewritable(site) = &loc.outcome else {
        panic!("{:?}", loc.outcome)
    };
    assert_eq!(site.classification, Classification::DjDatabaseUrl);
    // As if the project had dj-database-url installed.
    loc.dj_database_url = true;
    let plan = plan_rewrite(&dir, &loc, &target(), SettingsStyle::DatabaseUrl).unwrap();
    let text = new_text(&plan);
    assert!(
        text.contains("\"default\": dj_database_url.config(env=\"DATABASE_URL\"),"),
        "{text}"
    );
    assert!(!text.contains("ssl_require="), "{text}");
    assert!(text.contains(".setdefault(\"sslmode\", \"verify-full\")"));
    assert!(text.contains("DATABASES[\"default\"][\"CONN_MAX_AGE\"] = 600"));
    assert_eq!(text.matches("import dj_database_url").count(), 1, "{text}");
    assert!(
        plan.env[0]
            .value
            .starts_with("postgresql://app:<password>@")
    );
    assert!(plan.env[0].value.contains("sslmode=verify-full"));
    assert!(
        plan.notes
            .iter()
            .any(|n| n.contains("ssl_require was dropped")),
        "{:?}",
        plan.notes
    );
}

/// The Heroku pattern. (Without `import dj_database_url`, which the harness venv lacks: the
/// rewritten file is run below; the locator only parses the call.)
const HEROKU: &str = r#"import sys

DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"}}
DEBUG = True
DATABASES["default"].update(dj_database_url.config(conn_max_age=500, ssl_require=True))
"#;

#[test]
fn heroku_style_update_is_commented_out_and_the_urllib_fallback_runs() {
    let (_t, dir) = layout(&[("conf.py", HEROKU)]);
    let loc = located(&dir, "conf");
    let LocateOutcome::Rewritable(site) = &loc.outcome else {
        panic!("{:?}", loc.outcome)
    };
    assert_eq!(site.classification, Classification::DjDatabaseUrl);
    assert_eq!(site.mutations.len(), 1);
    let mut t = target();
    t.search_path = Some("ml".into());
    let plan = plan_rewrite(&dir, &loc, &t, SettingsStyle::DatabaseUrl).unwrap();
    let text = new_text(&plan);
    assert!(
        text.contains("# DATABASES[\"default\"].update(dj_database_url.config("),
        "{text}"
    );
    // `import os` had to be added; it goes before the first import.
    assert!(
        text.starts_with("import os\nimport urllib.parse\nimport sys\n"),
        "{text}"
    );
    let url = "postgresql://app:p%40ss@db.example.com:25061/pool1?sslmode=verify-full&sslrootcert=/ca.crt";
    // Run it: the urllib.parse code must decode the URL as dj-database-url would.
    let backup = tempfile::tempdir().unwrap();
    apply(&plan, backup.path()).unwrap();
    let (dbs, verdict) = run_settings(&dir, &dir.join("conf.py"), &[("DATABASE_URL", url)]);
    assert_eq!(verdict, "accepted");
    let d = &dbs["default"];
    assert_eq!(
        (d["HOST"].as_str(), d["PORT"].as_i64()),
        (Some("db.example.com"), Some(25061))
    );
    assert_eq!(
        (d["NAME"].as_str(), d["USER"].as_str()),
        (Some("pool1"), Some("app"))
    );
    assert_eq!(d["PASSWORD"], "p@ss");
    assert_eq!(d["OPTIONS"]["sslrootcert"], "/ca.crt");
    assert_eq!(d["OPTIONS"]["options"], "-c search_path=ml");
}

#[test]
fn pool_port_gets_disable_server_side_cursors_with_a_reason() {
    let (_t, dir) = layout(&[("conf.py", "DATABASES = {\"default\": {}}\n")]);
    let loc = located(&dir, "conf");
    let mut t = target();
    t.port = 25061;
    t.pool = true;
    t.search_path = Some("ml".into());
    for style in [SettingsStyle::Env, SettingsStyle::DatabaseUrl] {
        let plan = plan_rewrite(&dir, &loc, &t, style).unwrap();
        let text = new_text(&plan).to_string();
        assert!(text.contains("connection pool"), "{text}");
        assert!(text.contains("DISABLE_SERVER_SIDE_CURSORS"));
        // Pools reject the `options` startup parameter: the role's search_path instead.
        assert!(!text.contains("search_path"), "{text}");
        assert!(
            plan.notes
                .iter()
                .any(|n| n.contains("ALTER ROLE app SET search_path = ml"))
        );
        let file = dir.join(format!("gen_{}.py", style.as_str().replace('-', "_")));
        std::fs::write(&file, &text).unwrap();
        let url = "postgresql://app:x@h:25061/pool1?sslmode=verify-full";
        let (dbs, verdict) = run_settings(&dir, &file, &[("DATABASE_URL", url)]);
        assert_eq!(verdict, "accepted");
        assert_eq!(
            dbs["default"]["DISABLE_SERVER_SIDE_CURSORS"], true,
            "{style:?}"
        );
        assert!(text.starts_with("import os\n"), "{text}");
    }
}

#[test]
fn split_settings_follow_star_imports_into_base() {
    let (_t, dir) = layout(&[
        ("mysite/__init__.py", ""),
        ("mysite/settings/__init__.py", ""),
        (
            "mysite/settings/base.py",
            "DEBUG = False\nDATABASES = {\"default\": {\"ENGINE\": \"django.db.backends.sqlite3\", \"NAME\": \"db\"}}\n",
        ),
        (
            "mysite/settings/dev.py",
            "from .base import *  # noqa\ntry:\n    from .local import *\nexcept ImportError:\n    pass\nDEBUG = True\n",
        ),
    ]);
    let loc = located(&dir, "mysite.settings.dev");
    let LocateOutcome::Rewritable(site) = &loc.outcome else {
        panic!("{:?}", loc.outcome)
    };
    assert!(site.file.ends_with("mysite/settings/base.py"));
    assert!(
        loc.notes
            .iter()
            .any(|n| n.contains("mysite.settings.local")),
        "{:?}",
        loc.notes
    );
    let plan = plan_rewrite(&dir, &loc, &target(), SettingsStyle::Env).unwrap();
    assert!(
        plan.notes.iter().any(|n| n.contains("star-imports")),
        "{:?}",
        plan.notes
    );
    // base.py had no imports and no docstring: `import os` opens the file.
    assert!(
        new_text(&plan).starts_with("import os\n\nDEBUG = False\n"),
        "{}",
        new_text(&plan)
    );

    // A local.py that sets DATABASES inside the try: which one wins is only known at run time.
    std::fs::write(dir.join("mysite/settings/local.py"), "DATABASES = {}\n").unwrap();
    let loc = located(&dir, "mysite.settings.dev");
    match &loc.outcome {
        LocateOutcome::NotRewritable { reason } => {
            assert!(reason.contains("local.py line 1"), "{reason}")
        }
        other => panic!("expected not rewritable: {other:?}"),
    }
}

#[test]
fn dynamic_and_installed_settings_get_a_snippet_and_the_file_is_left_alone() {
    let dynamic = "import os\nDEBUG = True\nif DEBUG:\n    DATABASES = {\"default\": {}}\nelse:\n    DATABASES = {\"default\": {\"NAME\": \"x\"}}\n";
    let installed = "from django.conf.global_settings import *  # noqa\nDEBUG = True\n";
    for (text, expect) in [
        (dynamic, "if/for/while/try/with"),
        (installed, "outside the project"),
    ] {
        let (_t, dir) = layout(&[("conf.py", text)]);
        let loc = located(&dir, "conf");
        let plan = plan_rewrite(&dir, &loc, &target(), SettingsStyle::Env).unwrap();
        let SettingsChange::Manual {
            reason, snippet, ..
        } = &plan.change
        else {
            panic!("expected a snippet for {expect}: {:?}", plan.change)
        };
        assert!(reason.contains(expect), "{reason}");
        assert!(snippet.starts_with("import os\n\n"), "{snippet}");
        assert!(snippet.contains("\"PASSWORD\": os.environ.get(\"POSTGRES_PASSWORD\", \"\"),"));
        let backup = tempfile::tempdir().unwrap();
        assert!(apply(&plan, backup.path()).is_err());
        assert_eq!(std::fs::read_to_string(dir.join("conf.py")).unwrap(), text);
        // The snippet is valid Python that psycopg accepts.
        std::fs::write(dir.join("snippet.py"), snippet).unwrap();
        let (_, verdict) = run_settings(&dir, &dir.join("snippet.py"), &[]);
        assert_eq!(verdict, "accepted");
    }
    // The settings module itself inside site-packages.
    let (_t, dir) = layout(&[("conf.py", "")]);
    let loc = located(&dir, "django.conf.global_settings");
    assert!(
        matches!(&loc.outcome, LocateOutcome::NotRewritable { reason } if reason.contains("site-packages")),
        "{:?}",
        loc.outcome
    );
}

#[test]
fn crlf_files_and_form_feeds_keep_their_lines() {
    // A form feed (as in GNU-style section breaks) must not shift the line numbers, and a
    // CRLF file stays CRLF.
    let text =
        "import os\r\n# section\x0c\r\nDEBUG = True\r\nDATABASES = {\"default\": {}}\r\nX = 1\r\n";
    let (_t, dir) = layout(&[("conf.py", text)]);
    let loc = located(&dir, "conf");
    let LocateOutcome::Rewritable(site) = &loc.outcome else {
        panic!("{:?}", loc.outcome)
    };
    assert_eq!(site.start_line, 4);
    let plan = plan_rewrite(&dir, &loc, &target(), SettingsStyle::Env).unwrap();
    let new = new_text(&plan);
    assert_eq!(
        new.matches('\n').count(),
        new.matches("\r\n").count(),
        "{new:?}"
    );
    assert!(
        new.starts_with("import os\r\n# section\x0c\r\nDEBUG = True\r\n# PostgreSQL"),
        "{new:?}"
    );
    assert!(new.ends_with("}\r\nX = 1\r\n"), "{new:?}");
    let backup = tempfile::tempdir().unwrap();
    apply(&plan, backup.path()).unwrap();
    let (dbs, verdict) = run_settings(&dir, &dir.join("conf.py"), &[]);
    assert_eq!(verdict, "accepted");
    assert_eq!(dbs["default"]["NAME"], "appdb");
}
