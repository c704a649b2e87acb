//! Trustworthy at the keyboard (issue 18), against the real binary, a real PostgreSQL and
//! stand-ins for what users point dj2pg at by mistake:
//!
//! - the printed restore command pastes: run through `sh -c` on a project folder whose
//!   path has a space and an accent, it puts every file back;
//! - no wait without an end: a listener that accepts and never answers fails the
//!   connection within its deadline (`postgres` connections and the copy's wire sessions);
//! - something that answers but is not PostgreSQL (a web server) is named as such;
//! - SIGTERM ends `dj2pg copy` within seconds with status 143, waiting or working, and the
//!   run resumes.

mod common;
mod pty;

use common::*;
use dj2pg::pg::cluster::TempCluster;
use dj2pg::pg::{ConnConfig, Field, Secret};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn dj2pg_cmd(state: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dj2pg"));
    cmd.args(args)
        .env("DJ2PG_STATE_DIR", state)
        .env_remove("PGPASSWORD")
        .env_remove("PGCONNECT_TIMEOUT")
        .env_remove("DJ2PG_TARGET_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Wait for `child` to end, killing it (and failing) after `secs`.
fn wait_within(mut child: Child, secs: u64, what: &str) -> Output {
    let deadline = Instant::now() + pty::scaled(secs);
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "{what} still running after {secs} s:\n{}",
                output_text(&out)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A TCP listener that accepts every connection and never sends a byte (a firewall's
/// tarpit, a hung server). Each accepted connection is reported on the channel.
fn silent_listener() -> (u16, mpsc::Receiver<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
            let _ = tx.send(());
        }
    });
    (port, rx)
}

/// A web server on a port: whatever arrives is answered with an HTTP 400 and the
/// connection closed, as nginx or a framework's dev server does with bytes it cannot read.
fn http_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut buf = [0u8; 1024];
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                if matches!(stream.read(&mut buf), Ok(n) if n > 0) {
                    let _ = stream.write_all(
                        b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/html\r\n\
                          Content-Length: 11\r\nConnection: close\r\n\r\nBad Request",
                    );
                }
            });
        }
    });
    port
}

fn config(port: u16, query: &str) -> ConnConfig {
    ConnConfig::from_url(&format!("postgresql://app@127.0.0.1:{port}/appdb?{query}"))
        .expect("url")
        .0
}

// ---- the printed restore command pastes ------------------------------------------------

#[test]
fn printed_restore_command_runs_through_sh_in_a_folder_with_a_space_and_an_accent() {
    let python = django_venv();
    let cluster = cluster();
    let (tmp, sample) = sample_project(300);
    let project = tmp.path().join("my projé 1");
    std::fs::rename(&sample, &project).expect("move the project");
    let before = tree_hashes(&project, &[".dj2pg", "__pycache__"]);
    let state = tmp.path().join("state");
    let url = cluster.app().display_url();
    let admin = cluster.admin().display_url();
    let args = [
        "migrate",
        "--project",
        project.to_str().unwrap(),
        "--python",
        python.to_str().unwrap(),
        "--allow-dirty",
        "--to",
        &url,
        "--admin-url",
        &admin,
        "--yes",
        "--quiet",
        "--reset-migrations",
        "all",
    ];
    let env = [
        ("PGPASSWORD", cluster.app_password().expose()),
        ("DJ2PG_ADMIN_PASSWORD", cluster.admin_password().expose()),
    ];
    let out = wait_within(
        dj2pg_cmd(&state, &args, &env).spawn().unwrap(),
        600,
        "migrate",
    );
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let cmd = stdout
        .lines()
        .find_map(|l| l.strip_prefix("[done] rollback: "))
        .unwrap_or_else(|| panic!("no rollback line:\n{text}"))
        .to_string();
    assert!(cmd.starts_with("dj2pg restore "), "{cmd}");
    assert!(cmd.contains("'"), "the path is quoted: {cmd}");

    // The same command, once, in its own block of report.md.
    let report = stdout
        .lines()
        .find_map(|l| l.strip_prefix("[done] report: "))
        .filter(|p| p.ends_with(".md"))
        .unwrap_or_else(|| panic!("no report line:\n{text}"));
    let md = std::fs::read_to_string(report).unwrap();
    assert!(md.contains(&format!("```sh\n{cmd}\n```")), "{md}");

    // Pasted into a shell, from another folder: `dj2pg` found on PATH, as installed.
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_dj2pg")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("{cmd} --yes"))
        .current_dir(tmp.path())
        .env("PATH", path)
        .env("DJ2PG_STATE_DIR", &state)
        .output()
        .expect("sh");
    assert_eq!(out.status.code(), Some(0), "{cmd}\n{}", output_text(&out));
    let skip = [".dj2pg", "__pycache__", ".env.example", ".gitignore"];
    let mut before = before;
    before.remove(".gitignore");
    assert_eq!(
        tree_hashes(&project, &skip),
        before,
        "the pasted command gives back every file"
    );
}

// ---- no wait without an end -------------------------------------------------------------

#[test]
fn a_silent_listener_fails_the_connection_within_its_deadline() {
    let (port, _accepted) = silent_listener();
    for sslmode in ["require", "prefer", "disable"] {
        let c = config(port, &format!("sslmode={sslmode}&connect_timeout=2"));
        let started = Instant::now();
        let e = c
            .connect(Some(&Secret::new("x")))
            .err()
            .expect("a silent server cannot log us in");
        let took = started.elapsed();
        assert!(took < pty::scaled(15), "{sslmode}: waited {took:?}");
        assert!(
            e.message.contains("within 2 s") && e.message.contains("connect_timeout"),
            "{sslmode}: {e}"
        );
        assert_eq!(e.field, Field::Port, "{e}");

        // The copy's own sessions keep the same deadline.
        let started = Instant::now();
        let e = dj2pg::pg::wire::Wire::connect(&c, Some(&Secret::new("x")), "")
            .err()
            .expect("a silent server cannot log us in");
        assert!(
            started.elapsed() < pty::scaled(15),
            "{sslmode}: wire waited"
        );
        assert!(format!("{e:#}").contains("within 2 s"), "{sslmode}: {e:#}");
    }
}

#[test]
fn dj2pg_copy_against_a_silent_listener_ends_with_a_clear_message() {
    let (port, _accepted) = silent_listener();
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("x.sqlite3");
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch("CREATE TABLE t (id integer primary key)")
        .unwrap();
    let url = format!("postgresql://app@127.0.0.1:{port}/appdb?sslmode=require&connect_timeout=2");
    let child = dj2pg_cmd(
        &tmp.path().join("state"),
        &["copy", "--from", db.to_str().unwrap(), "--to", &url],
        &[("PGPASSWORD", "x")],
    )
    .spawn()
    .unwrap();
    let out = wait_within(child, 30, "dj2pg copy against a silent listener");
    let text = output_text(&out);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("within 2 s (connect_timeout)"), "{text}");
}

// ---- not PostgreSQL ---------------------------------------------------------------------

#[test]
fn a_web_server_on_the_port_is_named_not_postgresql() {
    let port = http_server();
    let tmp = tempfile::tempdir().unwrap();
    for sslmode in ["require", "prefer", "disable", "verify-full"] {
        let mut c = config(port, &format!("sslmode={sslmode}&connect_timeout=5"));
        if sslmode == "verify-full" {
            c.sslrootcert = Some(cluster_ca(tmp.path()));
        }
        let e = c
            .connect(Some(&Secret::new("x")))
            .err()
            .expect("not PostgreSQL");
        assert!(
            e.message.contains("is not PostgreSQL") && e.message.contains("25060"),
            "{sslmode}: {e}"
        );
        assert!(!e.message.contains("sslmode=disable"), "{sslmode}: {e}");
        assert_eq!(e.field, Field::Port, "{sslmode}: {e}");
        if sslmode != "disable" {
            let e = dj2pg::pg::wire::Wire::connect(&c, Some(&Secret::new("x")), "")
                .err()
                .expect("not PostgreSQL");
            assert!(format!("{e:#}").contains("is not PostgreSQL"), "{e:#}");
        }
    }
    // A PostgreSQL that only declines TLS ('N') still gets the TLS advice: the two are
    // told apart by what answers, not guessed.
    let port = postgres_without_tls();
    let c = config(port, "sslmode=require&connect_timeout=5");
    let e = c.connect(Some(&Secret::new("x"))).err().expect("no TLS");
    assert!(e.message.contains("does not offer TLS"), "{e}");
    assert!(!e.message.contains("not PostgreSQL"), "{e}");
    assert_eq!(e.field, Field::SslMode, "{e}");
    let e = dj2pg::pg::wire::Wire::connect(&c, Some(&Secret::new("x")), "")
        .err()
        .expect("no TLS");
    assert!(format!("{e:#}").contains("does not offer TLS"), "{e:#}");
}

/// A CA file for verify-full (a copy of the harness's; the server never gets as far as
/// TLS).
fn cluster_ca(dir: &Path) -> PathBuf {
    let ca = dir.join("ca.crt");
    std::fs::copy(cluster().ca_file(), &ca).expect("copy the CA");
    ca
}

/// A server that answers a TLS request the way a PostgreSQL without TLS does ('N'), then
/// closes.
fn postgres_without_tls() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut request = [0u8; 8];
            if stream.read_exact(&mut request).is_ok() {
                let _ = stream.write_all(b"N");
            }
        }
    });
    port
}

// ---- SIGTERM stops `dj2pg copy` -----------------------------------------------------------

fn term(child: &Child, sig: nix::sys::signal::Signal) {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, sig).expect("send the signal");
}

#[test]
fn sigterm_or_sighup_ends_a_waiting_copy_within_seconds_with_the_shells_status() {
    use nix::sys::signal::Signal;
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("x.sqlite3");
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch("CREATE TABLE t (id integer primary key)")
        .unwrap();
    for (sig, status) in [(Signal::SIGTERM, 143), (Signal::SIGHUP, 129)] {
        let (port, accepted) = silent_listener();
        // A deadline far away: the signal, not the deadline, must end it.
        let url =
            format!("postgresql://app@127.0.0.1:{port}/appdb?sslmode=require&connect_timeout=600");
        let child = dj2pg_cmd(
            &tmp.path().join("state"),
            &["copy", "--from", db.to_str().unwrap(), "--to", &url],
            &[("PGPASSWORD", "x")],
        )
        .spawn()
        .unwrap();
        accepted
            .recv_timeout(pty::scaled(30))
            .expect("dj2pg copy connects to the listener");
        std::thread::sleep(Duration::from_millis(300));
        term(&child, sig);
        let out = wait_within(child, 20, "dj2pg copy after a stop signal");
        assert_eq!(out.status.code(), Some(status), "{}", output_text(&out));
        assert!(
            output_text(&out).contains("stopped by"),
            "{}",
            output_text(&out)
        );
    }
}

#[test]
fn sigterm_mid_copy_stops_cleanly_with_143_and_the_rerun_completes() {
    let c = cluster();
    let python = django_venv();
    let (tmp, project) = sample_project(100_000);
    migrate_as_app(&c, &python, &project);
    let url = TempCluster::url(&c.app(), c.app_password());
    let db = project.join("db.sqlite3");
    let state = tmp.path().join("state");
    let run = || {
        dj2pg_cmd(
            &state,
            &[
                "copy",
                "--from",
                db.to_str().unwrap(),
                "--to",
                &url,
                "--yes",
                "--jobs",
                "2",
            ],
            &[],
        )
    };
    let child = run().spawn().expect("dj2pg copy starts");
    // Wait until a large table's COPY is running, then ask it to stop.
    let deadline = Instant::now() + pty::scaled(120);
    loop {
        let active = scalar(
            &c.app(),
            c.app_password(),
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' \
             AND pid <> pg_backend_pid() AND query LIKE '%FROM STDIN%'",
        );
        if active.as_deref() != Some("0") {
            break;
        }
        assert!(Instant::now() < deadline, "no COPY was seen running");
        std::thread::sleep(Duration::from_millis(10));
    }
    term(&child, nix::sys::signal::Signal::SIGTERM);
    let out = wait_within(child, 60, "dj2pg copy after SIGTERM");
    assert_eq!(out.status.code(), Some(143), "{}", output_text(&out));

    let out = wait_within(run().spawn().unwrap(), 300, "the re-run");
    let text = output_text(&out);
    assert!(out.status.success(), "the re-run finishes:\n{text}");
    for (table, n) in sqlite_counts(&db)
        .iter()
        .filter(|(t, _)| t.starts_with("classifier_"))
    {
        let got = scalar(
            &c.app(),
            c.app_password(),
            &format!("SELECT count(*) FROM {table}"),
        );
        assert_eq!(got, Some(n.to_string()), "{table}");
    }
}
