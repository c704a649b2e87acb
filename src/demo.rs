//! `dj2pg demo`: the newcomer's first command.
//!
//! It writes the sample AI-prototype project into a folder, fills its SQLite file, starts a
//! throwaway local PostgreSQL (like the test harness's: TLS, scram-sha-256, a `doadmin`
//! that is not a superuser, an app role), and opens the wizard with the Connect form
//! pre-filled. The cluster is stopped and removed when the wizard closes; the project
//! folder is kept so the user can look at it.

use crate::cli::{DemoArgs, ProjectArgs, TargetArgs, WizardArgs};
use crate::pg::cluster::{ClusterOptions, TempCluster};
use crate::tui::Prefill;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn say(line: &str) {
    println!("dj2pg demo: {line}");
}

pub fn run(args: DemoArgs) -> Result<ExitCode> {
    // Before the venv and the throwaway server: the demo ends in the wizard.
    crate::wizard::ensure_terminal()?;
    let dir = match &args.dir {
        Some(d) => {
            std::fs::create_dir_all(d)
                .with_context(|| format!("could not create {}", d.display()))?;
            d.clone()
        }
        None => tempfile::Builder::new()
            .prefix("dj2pg-demo-")
            .tempdir()
            .context("could not create a temporary folder")?
            .keep(),
    };
    // Only a folder the demo fills itself becomes a repository (not one that held files).
    let fresh_folder = std::fs::read_dir(&dir).is_ok_and(|mut d| d.next().is_none());
    say(&format!("writing the sample project to {}", dir.display()));
    crate::assets::write_sample_project(&dir)?;

    let python = crate::django::venv::ensure_venv(
        &cache_dir(),
        crate::assets::REQUIREMENTS_TXT,
        &mut |l| say(l),
    )?;
    link_venv(&dir, &python);

    fill_sqlite(&python, &dir, args.rows)?;
    if fresh_folder {
        git_commit(&dir);
    }

    let (cluster, target, password, admin) = match &args.to {
        Some(url) => {
            let (config, password) = crate::cli::parse_target(url)?;
            (None, Some(config), password, None)
        }
        None => {
            match demo_server() {
                Ok(cluster) => {
                    // The app role starts like a fresh DigitalOcean user: no privilege on
                    // schema public, no tables. Fix permissions and Create schema do the rest,
                    // with the throwaway server's admin offered to the wizard.
                    let target = cluster.app();
                    let password = Some(cluster.app_password().clone());
                    let admin = (cluster.admin(), Some(cluster.admin_password().clone()));
                    (Some(cluster), Some(target), password, Some(admin))
                }
                Err(e) => {
                    say(&format!("no local PostgreSQL: {e:#}"));
                    say(
                        "the wizard opens with an empty Connect form: paste the URL of a PostgreSQL you can use",
                    );
                    say(
                        "(its schema must exist: run `python manage.py migrate` against it from the project folder)",
                    );
                    (None, None, None, None)
                }
            }
        }
    };
    if let Some(target) = &target {
        say(&format!("target: {}", target.display_url()));
    }
    if let Some((admin, _)) = &admin {
        say(&format!(
            "admin for Fix permissions: {} (not a superuser, like DigitalOcean's)",
            admin.display_url()
        ));
    }
    // The throwaway server's passwords are shown on purpose: clear a field once and the
    // demo could not go on without them. They open nothing once the server is removed.
    let notice = cluster.as_ref().map(|c| {
        format!(
            "Demo server (throwaway, removed when you quit): app password {}, doadmin password {}",
            c.app_password().expose(),
            c.admin_password().expose()
        )
    });
    if let Some(n) = &notice {
        say(n);
    }
    say("opening the wizard (q quits; the folder is kept, the throwaway server is removed)");

    let code = crate::wizard::launch_with(
        WizardArgs {
            project: ProjectArgs {
                project: dir.clone(),
                python: Some(python),
            },
            target: TargetArgs { to: None },
            backup_dir: None,
            fresh: true,
            direct_url: None,
        },
        Prefill {
            url: target.map(|t| t.display_url()),
            password,
            notice,
            disposable: cluster.is_some(),
        },
        admin,
    );
    drop(cluster);
    say(&format!("the sample project stays in {}", dir.display()));
    code
}

/// Fill the sample project's `db.sqlite3` with about `rows` rows (its `generate_data.py`).
fn fill_sqlite(python: &Path, dir: &Path, rows: usize) -> Result<()> {
    say(&format!("filling db.sqlite3 with about {rows} rows…"));
    let out = Command::new(python)
        .arg("generate_data.py")
        .arg("--db")
        .arg(dir.join("db.sqlite3"))
        .arg("--rows")
        .arg(rows.to_string())
        .arg("--force")
        .current_dir(dir)
        .output()
        .context("could not run generate_data.py")?;
    if !out.status.success() {
        bail!(
            "generate_data.py failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// The demo's server: PostgreSQL 16 with pgvector, so that choosing `vector` for an
/// embeddings column works to the end. First npm's PostgreSQL 16 with pgvector copied in
/// (TLS, like a managed server); then the pinned PyPI wheel alone (no OpenSSL in that build:
/// `sslmode=disable` on loopback); then the system's or npm's PostgreSQL 15 (TLS, no
/// pgvector). Each fallback says why.
fn demo_server() -> Result<TempCluster> {
    use dj2pg_tempcluster::provision;
    let tls = provision::pgvector_tls_package().and_then(|pkg| {
        let bin = pgvector_server(&pkg, "demo-pg16-pgvector-tls-trusted", &mut |l| say(l))?;
        say("starting a throwaway PostgreSQL 16 with pgvector on 127.0.0.1 (TLS, scram-sha-256)…");
        TempCluster::start(ClusterOptions {
            pg_bin: Some(bin),
            ..ClusterOptions::default()
        })
    });
    let started = tls.or_else(|e| {
        say(&format!(
            "no PostgreSQL with pgvector and TLS ({e:#}): trying the build without TLS"
        ));
        let pkg = provision::pgvector_package()?;
        let bin = pgvector_server(&pkg, "demo-pg16-pgvector-trusted", &mut |l| say(l))?;
        say(
            "starting a throwaway PostgreSQL 16 with pgvector on 127.0.0.1 (scram-sha-256; no \
             TLS: this server build has no OpenSSL, so the demo connects with sslmode=disable \
             on loopback — use sslmode=require or verify-full for a real server)…",
        );
        TempCluster::start(ClusterOptions {
            pg_bin: Some(bin),
            tls: false,
            ..ClusterOptions::default()
        })
    });
    match started {
        Ok(cluster) => {
            say(
                "pgvector is marked trusted in the demo's copy of that server, so doadmin (the \
                 database owner, not a superuser) can create it at Fix permissions, as \
                 DigitalOcean's doadmin can",
            );
            Ok(cluster)
        }
        Err(e) => {
            say(&format!(
                "no PostgreSQL with pgvector ({e:#}): the embeddings can only be kept"
            ));
            say("starting a throwaway PostgreSQL on 127.0.0.1 (TLS, scram-sha-256)…");
            TempCluster::start(ClusterOptions::default())
        }
    }
}

/// The demo's own copy (`name` in the cache) of a pgvector server package, made once from
/// the cached package, with `trusted = true` in `vector.control` (the package's own copy
/// stays as it is: the tests check that an admin who is not a superuser is refused there).
/// Returns its `bin`.
fn pgvector_server(
    pkg: &dj2pg_tempcluster::provision::Package,
    name: &str,
    say: &mut dyn FnMut(&str),
) -> Result<PathBuf> {
    use dj2pg_tempcluster::provision;
    let bin = provision::ensure(pkg, say)?;
    // The whole unpacked package: its programs find their libraries beside it (RPATH).
    let unpacked = provision::cache_root().join(pkg.name);
    let inside = bin
        .strip_prefix(&unpacked)
        .context("the pgvector server is not where it was unpacked")?;
    let root = provision::cache_root().join(name);
    let demo_bin = root.join(inside);
    if demo_bin.join("postgres").is_file() {
        return Ok(demo_bin);
    }
    let tmp = provision::cache_root().join(format!(".{name}.{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let out = Command::new("cp")
        .arg("-a")
        .arg(&unpacked)
        .arg(&tmp)
        .output()
        .context("could not run cp")?;
    if !out.status.success() {
        bail!(
            "cp -a {}: {}",
            unpacked.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let control = tmp
        .join(inside)
        .join("../share/postgresql/extension/vector.control");
    let mut text = std::fs::read_to_string(&control)
        .with_context(|| format!("could not read {}", control.display()))?;
    if !text.lines().any(|l| l.trim_start().starts_with("trusted")) {
        text.push_str("trusted = true\n");
    }
    std::fs::write(&control, text)
        .with_context(|| format!("could not write {}", control.display()))?;
    if let Err(e) = std::fs::rename(&tmp, &root) {
        let _ = std::fs::remove_dir_all(&tmp);
        // Made by another demo meanwhile: use that one.
        if !demo_bin.join("postgres").is_file() {
            return Err(e).with_context(|| format!("could not create {}", root.display()));
        }
    }
    Ok(demo_bin)
}

/// The sample project as a git repository with one commit, like a user's: Backup's git
/// check passes, and what the wizard changes shows in `git status` afterwards. Without git
/// (or when it refuses), a line says so and Backup will warn instead.
fn git_commit(dir: &Path) {
    let git = |args: &[&str]| -> Result<(), String> {
        let out = std::process::Command::new("git")
            .args([
                "-c",
                "user.name=dj2pg demo",
                "-c",
                "user.email=demo@dj2pg.invalid",
            ])
            .args([
                "-c",
                "commit.gpgsign=false",
                "-c",
                "core.hooksPath=/dev/null",
            ])
            .args(args)
            .current_dir(dir)
            // The user's shell may point git elsewhere: this is the demo folder's own.
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .env_remove("GIT_INDEX_FILE")
            .output()
            .map_err(|e| format!("git could not run ({e})"))?;
        if out.status.success() {
            return Ok(());
        }
        let why = String::from_utf8_lossy(&out.stderr);
        let why = why.lines().next().unwrap_or("no message");
        Err(format!("git {} failed: {why}", args[0]))
    };
    let done = git(&["init", "-q"])
        .and_then(|()| git(&["add", "-A"]))
        .and_then(|()| {
            git(&[
                "commit",
                "-q",
                "-m",
                "The sample project, as dj2pg demo wrote it",
            ])
        });
    match done {
        Ok(()) => say("the project is a git repository with one commit, as yours would be"),
        Err(why) => say(&format!(
            "{why}: Backup will say the project is not in a git repository"
        )),
    }
}

/// `.venv` in the project pointing at the cached venv, so Discover finds it as a user's would.
fn link_venv(dir: &Path, python: &Path) {
    if let Some(venv) = python.parent().and_then(Path::parent) {
        let _ = std::os::unix::fs::symlink(venv, dir.join(".venv"));
    }
}

/// Where the demo keeps its venv (and the tests theirs): `$DJ2PG_CACHE_DIR`, else the user's
/// cache folder.
pub fn cache_dir() -> PathBuf {
    dj2pg_tempcluster::cache_dir()
}
