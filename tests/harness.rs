//! The test harness is what DESIGN.md says: a real PostgreSQL with TLS and scram-sha-256, a
//! DigitalOcean-like `doadmin` that is not a superuser, a fresh `app` role without privileges,
//! and a real Django that reproduces the PostgreSQL 15 `migrate` failure the tool must fix.

mod common;

use common::*;
use dj2pg::pg::cluster::{ClusterOptions, TempCluster};
use dj2pg::pg::{Field, Secret, SslMode};
use dj2pg_tempcluster::find_pg_bin;
use std::time::{Duration, Instant};

#[test]
fn server_binaries_are_found() {
    let initdb = find_pg_bin("initdb").expect("initdb");
    assert!(initdb.is_file(), "{}", initdb.display());
    assert!(find_pg_bin("no-such-pg-program").is_none());
}

#[test]
fn connections_use_tls_and_scram() {
    let c = cluster();
    let ssl = scalar(
        &c.app(),
        c.app_password(),
        "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
    );
    assert_eq!(ssl.as_deref(), Some("t"));
    let stored = scalar(
        &c.superuser(),
        c.superuser_password(),
        "SELECT rolpassword FROM pg_authid WHERE rolname = 'app'",
    )
    .expect("app has a password");
    assert!(stored.starts_with("SCRAM-SHA-256$"), "not a SCRAM verifier");

    let e = c
        .app()
        .connect(Some(&Secret::new("wrong")))
        .err()
        .expect("wrong password refused");
    assert_eq!(e.field, Field::Password, "{e}");
    let e = c
        .admin()
        .connect(Some(c.app_password()))
        .err()
        .expect("app's password is not doadmin's");
    assert_eq!(e.field, Field::Password, "{e}");
}

#[test]
fn certificate_verifies_as_ca_and_for_both_host_names() {
    let c = cluster();
    for (host, mode) in [
        ("127.0.0.1", SslMode::VerifyCa),
        ("127.0.0.1", SslMode::VerifyFull),
        ("localhost", SslMode::VerifyFull),
    ] {
        let mut config = c.admin();
        config.host = host.into();
        config.sslmode = mode;
        config.sslrootcert = Some(c.ca_file().to_path_buf());
        let mut client = config
            .connect(Some(c.admin_password()))
            .unwrap_or_else(|e| panic!("{}: {e}", config.display_url()));
        let row = client
            .query_one("SELECT current_user::text", &[])
            .expect("query");
        assert_eq!(row.get::<_, String>(0), "doadmin");
    }
    let mut config = c.admin();
    config.sslmode = SslMode::VerifyCa;
    let e = config
        .connect(Some(c.admin_password()))
        .err()
        .expect("verify-ca needs a CA file");
    assert_eq!(e.field, Field::CaFile, "{e}");
}

#[test]
fn plain_tcp_is_allowed_by_default_and_refused_when_tls_only() {
    let c = cluster();
    let mut plain = c.app();
    plain.sslmode = SslMode::Disable;
    assert_eq!(
        scalar(
            &plain,
            c.app_password(),
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
        )
        .as_deref(),
        Some("f")
    );
    drop(c);

    let c = cluster_with(ClusterOptions {
        tls_only: true,
        ..ClusterOptions::default()
    });
    let mut plain = c.app();
    plain.sslmode = SslMode::Disable;
    let e = plain
        .connect(Some(c.app_password()))
        .err()
        .expect("plain TCP refused");
    assert_eq!(e.field, Field::SslMode, "{e}");
    exec(&c.app(), c.app_password(), "SELECT 1");
}

#[test]
fn roles_look_like_a_managed_server() {
    let c = cluster();
    let (su, pw) = (c.superuser(), c.superuser_password());
    let roles = rows(
        &su,
        pw,
        "SELECT rolname, rolsuper, rolcreatedb, rolcreaterole, rolcanlogin FROM pg_roles \
         WHERE rolname IN ('doadmin', 'app') ORDER BY rolname",
    );
    let t = |s: &str| Some(s.to_string());
    assert_eq!(
        roles,
        vec![
            vec![t("app"), t("f"), t("f"), t("f"), t("t")],
            vec![t("doadmin"), t("f"), t("t"), t("t"), t("t")],
        ]
    );
    let owners = rows(
        &su,
        pw,
        "SELECT datname, pg_get_userbyid(datdba) FROM pg_database \
         WHERE datname IN ('appdb', 'defaultdb') ORDER BY 1",
    );
    assert_eq!(
        owners,
        vec![
            vec![t("appdb"), t("doadmin")],
            vec![t("defaultdb"), t("doadmin")]
        ]
    );
    // PostgreSQL 15+: public belongs to pg_database_owner, PUBLIC may not create in it.
    let mut in_appdb = su.clone();
    in_appdb.dbname = "appdb".into();
    assert_eq!(
        scalar(
            &in_appdb,
            pw,
            "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'public'"
        )
        .as_deref(),
        Some("pg_database_owner")
    );
    let e = try_exec(&c.app(), c.app_password(), "CREATE TABLE t (id int)")
        .expect_err("app may not create");
    assert!(e.contains("permission denied for schema public"), "{e}");
    // doadmin owns appdb, hence public there.
    exec(
        &c.admin(),
        c.admin_password(),
        "CREATE TABLE admin_t (id int); DROP TABLE admin_t",
    );
}

#[test]
fn server_default_time_zone_is_not_utc() {
    let c = cluster();
    // A raw connection without dj2pg's `-c TimeZone=UTC` sees the server's default.
    let mut client = postgres::Config::new()
        .host(c.host())
        .port(c.port())
        .dbname("appdb")
        .user("app")
        .password(c.app_password().expose())
        .connect(postgres::NoTls)
        .expect("plain connection");
    let tz: String = client.query_one("SHOW TimeZone", &[]).expect("SHOW").get(0);
    assert_eq!(tz, "America/New_York");
    // dj2pg's own connections pin UTC.
    assert_eq!(
        scalar(&c.app(), c.app_password(), "SHOW TimeZone").as_deref(),
        Some("UTC")
    );
}

/// The bug report this tool exists for: PostgreSQL 15, a fresh user, `migrate` fails with
/// MigrationSchemaMissing (permission denied for schema public); the admin's GRANT, run in the
/// app database, fixes it.
#[test]
fn django_migrate_as_fresh_user_fails_until_schema_grant() {
    let c = cluster();
    let python = django_venv();
    let (_tmp, project) = sample_project(300);

    let out = migrate_on_pg(&python, &project, &c.app(), c.app_password());
    let text = output_text(&out);
    assert!(!out.status.success(), "migrate should fail:\n{text}");
    assert!(
        text.contains("Unable to create the django_migrations table"),
        "{text}"
    );
    assert!(
        text.contains("permission denied for schema public"),
        "{text}"
    );

    // The classic wrong fix: the GRANT in defaultdb changes nothing in appdb.
    let mut defaultdb = c.admin();
    defaultdb.dbname = "defaultdb".into();
    exec(
        &defaultdb,
        c.admin_password(),
        "GRANT ALL ON SCHEMA public TO app",
    );
    let out = migrate_on_pg(&python, &project, &c.app(), c.app_password());
    assert!(output_text(&out).contains("permission denied for schema public"));

    exec(
        &c.admin(),
        c.admin_password(),
        "GRANT ALL ON SCHEMA public TO app",
    );
    let out = migrate_on_pg(&python, &project, &c.app(), c.app_password());
    assert!(
        out.status.success(),
        "migrate after GRANT:\n{}",
        output_text(&out)
    );
    let owner = scalar(
        &c.admin(),
        c.admin_password(),
        "SELECT tableowner FROM pg_tables WHERE tablename = 'classifier_trainingexample'",
    );
    assert_eq!(
        owner.as_deref(),
        Some("app"),
        "tables belong to the role that ran migrate"
    );
    let labels = scalar(
        &c.app(),
        c.app_password(),
        "SELECT count(*) FROM classifier_label",
    );
    assert_eq!(
        labels.as_deref(),
        Some("3"),
        "the RunPython data migration ran"
    );
}

#[test]
fn sample_project_has_generated_data() {
    let (_tmp, project) = sample_project(400);
    assert!(project.join("manage.py").is_file());
    assert!(!project.join("__pycache__").exists());
    let db = rusqlite::Connection::open(project.join("db.sqlite3")).expect("open sqlite");
    let examples: i64 = db
        .query_row("SELECT count(*) FROM classifier_trainingexample", [], |r| {
            r.get(0)
        })
        .expect("count");
    assert!(examples > 50, "{examples} training examples");
}

#[test]
fn drop_stops_the_server_and_removes_its_directory() {
    let c = cluster();
    let (port, dir, pid) = (
        c.port(),
        c.data_dir().to_path_buf(),
        c.pid().expect("running"),
    );
    assert!(std::net::TcpStream::connect((c.host(), port)).is_ok());
    let started = Instant::now();
    drop(c);
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(!dir.exists(), "{} still exists", dir.display());
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "port {port} still open"
    );
    assert!(!process_alive(pid), "postmaster {pid} still running");

    let c = cluster();
    let dir = c.data_dir().to_path_buf();
    c.stop().expect("stop");
    assert!(!dir.exists());
}

#[test]
fn a_panicking_test_still_removes_its_cluster() {
    let seen = std::sync::Mutex::new(None);
    let result = std::panic::catch_unwind(|| {
        let c = cluster();
        *seen.lock().unwrap() = Some((c.data_dir().to_path_buf(), c.pid().expect("pid")));
        panic!("a failing test");
    });
    assert!(result.is_err());
    let (dir, pid) = seen.lock().unwrap().take().expect("cluster started");
    assert!(!dir.exists(), "{} still exists", dir.display());
    assert!(!process_alive(pid), "postmaster {pid} still running");
}

#[test]
fn killed_owner_takes_its_postmaster_along() {
    // Run the helper test below in a child process, read its cluster's pid, SIGKILL the child.
    let exe = std::env::current_exe().expect("current exe");
    let mut child = std::process::Command::new(exe)
        .args([
            "--exact",
            "helper_start_cluster_and_wait",
            "--ignored",
            "--nocapture",
        ])
        .env("DJ2PG_HARNESS_HELPER", "1")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn helper");
    let mut line = String::new();
    let mut reader = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let (pid, dir) = loop {
        line.clear();
        let n = std::io::BufRead::read_line(&mut reader, &mut line).expect("read");
        assert!(n > 0, "the helper ended without starting a cluster");
        if let Some(rest) = line.trim().strip_prefix("CLUSTER ") {
            let (pid, dir) = rest.split_once(' ').expect("pid and dir");
            break (
                pid.parse::<u32>().expect("pid"),
                std::path::PathBuf::from(dir),
            );
        }
    };
    assert!(process_alive(pid));
    child.kill().expect("kill helper");
    child.wait().expect("wait helper");
    let deadline = Instant::now() + Duration::from_secs(10);
    while process_alive(pid) {
        assert!(
            Instant::now() < deadline,
            "postmaster {pid} outlived its killed owner"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // A start reaps the directory the killed process left behind: the next one here, or a
    // start by another test of this binary running meanwhile (so it may be gone already).
    let _next = cluster();
    assert!(!dir.exists(), "{} was not reaped", dir.display());
}

#[test]
#[ignore = "helper process for killed_owner_takes_its_postmaster_along"]
fn helper_start_cluster_and_wait() {
    if std::env::var_os("DJ2PG_HARNESS_HELPER").is_none() {
        return;
    }
    let c = cluster();
    println!(
        "CLUSTER {} {}",
        c.pid().expect("pid"),
        c.data_dir().parent().expect("base").display()
    );
    std::thread::sleep(Duration::from_secs(60));
}

#[test]
fn cluster_start_time_is_reasonable() {
    let started = Instant::now();
    let c = TempCluster::start(ClusterOptions::default()).expect("start");
    let took = started.elapsed();
    eprintln!("[harness] cluster start took {took:?}");
    assert!(took < Duration::from_secs(20), "{took:?}");
    drop(c);
}

/// A live process (zombies count as gone).
fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z') && !rest.starts_with('X')),
        Err(_) => false,
    }
}
