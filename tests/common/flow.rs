//! The headless whole flow as a provider's user runs it: `dj2pg migrate` with the string the
//! provider's console hands out, then the app reading and writing through Django with the
//! settings dj2pg wrote (only the password given). Shared by the provider simulations.

use dj2pg::pg::cluster::TempCluster;
use dj2pg::pg::{ConnConfig, Secret};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Run dj2pg with `args`, its state in `state_dir`, no password from the caller's
/// environment, and `env` added.
pub fn dj2pg(state_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dj2pg"));
    cmd.args(args)
        .env("DJ2PG_STATE_DIR", state_dir)
        .env_remove("PGPASSWORD")
        .env_remove("DJ2PG_TARGET_URL")
        .env_remove("DJ2PG_ADMIN_URL")
        .env_remove("DJ2PG_ADMIN_PASSWORD");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run dj2pg")
}

pub fn text(out: &Output) -> String {
    super::output_text(out)
}

/// A password a provider would generate: letters and digits only.
pub fn password() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(7);
    format!("Pw{nanos:x}{:x}", std::process::id())
}

/// Run statements one by one as the hidden superuser, in database `db`.
pub fn as_superuser(c: &TempCluster, db: &str, statements: &[String]) {
    let mut su = c.superuser();
    su.dbname = db.into();
    for sql in statements {
        super::exec(&su, c.superuser_password(), sql);
    }
}

/// Run statements one by one as `user` (password `pw`), in database `db`: what a provider's
/// admin does in SQL.
pub fn as_role(c: &TempCluster, user: &str, pw: &str, db: &str, statements: &[String]) {
    let mut cfg: ConnConfig = c.superuser();
    cfg.user = user.into();
    cfg.dbname = db.into();
    let pw = Secret::new(pw);
    for sql in statements {
        super::exec(&cfg, &pw, sql);
    }
}

/// The headless whole flow on `project` with `url` (password in the URL, as pasted).
pub fn migrate(tmp: &Path, project: &Path, python: &Path, url: &str, extra: &[&str]) -> Output {
    dj2pg(
        &tmp.join("state"),
        &migrate_args(project, python, url, extra),
        &[],
    )
}

/// `migrate --project P --python PY --allow-dirty --to URL --yes EXTRA…`.
pub fn migrate_args<'a>(
    project: &'a Path,
    python: &'a Path,
    url: &'a str,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec![
        "migrate",
        "--project",
        project.to_str().unwrap(),
        "--python",
        python.to_str().unwrap(),
        "--allow-dirty",
        "--to",
        url,
        "--yes",
    ];
    args.extend_from_slice(extra);
    args
}

/// The app, through Django and the written settings, with only the password given: counts,
/// creates, changes and deletes a row. Returns what the script printed.
pub fn django_reads_and_writes(python: &Path, project: &Path, password: &str) -> String {
    let orm = r#"
import django, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aiproto.settings")
django.setup()
from django.db import connection
from classifier.models import Label
n = Label.objects.count()
l = Label.objects.create(name="provider-check")
l.name = "provider-checked"; l.save()
l.delete()
with connection.cursor() as c:
    c.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
    tls = c.fetchone()[0]
print("orm-ok", connection.settings_dict["USER"], n, "tls" if tls else "plain")
"#;
    let out = Command::new(python)
        .args(["-c", orm])
        .current_dir(project)
        .env_remove("PGPASSWORD")
        .env_remove("DATABASE_URL")
        .env("POSTGRES_PASSWORD", password)
        .output()
        .expect("run the project's Python");
    let t = text(&out);
    assert!(
        out.status.success(),
        "Django with the written settings:\n{t}"
    );
    t
}

pub fn settings_py(project: &Path) -> String {
    std::fs::read_to_string(project.join("aiproto/settings.py")).expect("settings.py")
}

/// The report.md the run wrote.
pub fn report_md(project: &Path) -> String {
    let report: PathBuf = std::fs::read_dir(project.join(".dj2pg/backups"))
        .unwrap()
        .flatten()
        .map(|e| e.path().join("report.md"))
        .find(|p| p.is_file())
        .expect("report.md");
    std::fs::read_to_string(report).unwrap()
}

/// The `[step] done: …` line of `step` in the headless output.
pub fn done_line<'a>(t: &'a str, step: &str) -> &'a str {
    let prefix = format!("[{step}] done");
    t.lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no {prefix} line:\n{t}"))
}

/// Every row of the sample's `classifier_*` tables is on the server, read as `user`.
pub fn rows_arrived(c: &TempCluster, project: &Path, user: &str, pw: &str, db: &str) {
    let mut cfg: ConnConfig = c.superuser();
    cfg.user = user.into();
    cfg.dbname = db.into();
    let pw = Secret::new(pw);
    let counts = super::sqlite_counts(&project.join("db.sqlite3"));
    for (table, n) in counts.iter().filter(|(t, _)| t.starts_with("classifier_")) {
        let got = super::rows(&cfg, &pw, &format!("SELECT count(*)::text FROM {table}"));
        assert_eq!(got, vec![vec![Some(n.to_string())]], "{table}");
    }
}

/// Who owns the sample's `classifier_*` tables in `db`.
pub fn table_owners(c: &TempCluster, db: &str) -> Vec<String> {
    let mut su = c.superuser();
    su.dbname = db.into();
    super::rows(
        &su,
        c.superuser_password(),
        "SELECT DISTINCT pg_get_userbyid(relowner)::text FROM pg_class \
         WHERE relname LIKE 'classifier_%' AND relkind = 'r' ORDER BY 1",
    )
    .into_iter()
    .flatten()
    .flatten()
    .collect()
}
