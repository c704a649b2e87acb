//! Managed providers' role models and connection strings, simulated on the harness's real
//! PostgreSQL 15 and 17 (issue 19): a hidden superuser makes the provider's roles with their
//! attributes and groups, then `dj2pg migrate` runs headless with the string the provider's
//! console hands out, and the app reads and writes through Django with the settings dj2pg
//! wrote (only the password given, every other value the written default).

mod common;

use common::flow::{
    as_superuser, dj2pg, django_reads_and_writes, migrate, password, settings_py, text,
};
use dj2pg::pg::Secret;

/// Neon: the database's owner `neondb_owner`, in `neon_superuser` (CREATEDB CREATEROLE), and
/// the console's string with `sslmode=require&channel_binding=require` (`extra`: more of
/// libpq's parameters).
fn neon(major: u32, extra: &str) {
    let python = common::django_venv();
    let cluster = common::cluster_pg(major);
    let pw = password();
    as_superuser(
        &cluster,
        "postgres",
        &[
            "CREATE ROLE neon_superuser NOLOGIN CREATEDB CREATEROLE".into(),
            format!(
                "CREATE ROLE neondb_owner LOGIN PASSWORD '{pw}' CREATEDB CREATEROLE \
                 IN ROLE neon_superuser"
            ),
            "CREATE DATABASE neondb OWNER neondb_owner".into(),
        ],
    );
    let (tmp, project) = common::sample_project(300);
    let url = format!(
        "postgresql://neondb_owner:{pw}@127.0.0.1:{}/neondb?sslmode=require&channel_binding=require{extra}",
        cluster.port()
    );
    let out = migrate(tmp.path(), &project, &python, &url, &[]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(!t.contains("not supported"), "{t}");
    assert!(
        t.contains("channel_binding=require"),
        "the target states it: {t}"
    );
    assert!(
        t.contains("Neon (role neon_superuser in the catalog)"),
        "{t}"
    );
    assert!(!t.contains(&pw), "the password reached the output: {t}");
    let settings = settings_py(&project);
    assert!(
        settings.contains("\"channel_binding\": \"require\""),
        "channel_binding carried into the settings:\n{settings}"
    );
    assert!(!settings.contains(&pw), "password in settings.py");
    let orm = django_reads_and_writes(&python, &project, &pw);
    assert!(orm.contains("orm-ok neondb_owner"), "{orm}");
    assert!(orm.contains("tls"), "{orm}");
}

#[test]
fn neon_console_string_with_channel_binding_passes_the_whole_flow_on_pg15() {
    neon(15, "");
}

#[test]
fn neon_console_string_with_channel_binding_passes_the_whole_flow_on_pg17() {
    neon(17, "");
}

/// PostgreSQL 17's direct TLS (`sslnegotiation=direct`, no SSLRequest round trip), on dj2pg's
/// connections, the copy's own sessions and, through the written settings, Django's.
#[test]
fn neon_string_with_direct_tls_negotiation_passes_the_whole_flow_on_pg17() {
    neon(17, "&sslnegotiation=direct&target_session_attrs=read-write");
}

/// Heroku: the one credential owns the database and `public`, cannot create roles or
/// databases; its URL (`postgres://`) has no sslmode. dj2pg connects over TLS (libpq's
/// `prefer`), so the settings it writes must insist on TLS: `require`, never `prefer`.
fn heroku(major: u32) {
    let python = common::django_venv();
    let cluster = common::cluster_pg(major);
    let pw = password();
    as_superuser(
        &cluster,
        "postgres",
        &[
            format!("CREATE ROLE u1abcdef LOGIN PASSWORD '{pw}' NOCREATEDB NOCREATEROLE"),
            "CREATE DATABASE d9xyz OWNER u1abcdef".into(),
        ],
    );
    as_superuser(
        &cluster,
        "d9xyz",
        &["ALTER SCHEMA public OWNER TO u1abcdef".into()],
    );
    let (tmp, project) = common::sample_project(300);
    let url = format!(
        "postgres://u1abcdef:{pw}@127.0.0.1:{}/d9xyz",
        cluster.port()
    );
    let out = migrate(tmp.path(), &project, &python, &url, &[]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(
        t.contains("u1abcdef owns its database d9xyz and cannot create roles"),
        "the owner-only role model, from the catalog: {t}"
    );
    let settings = settings_py(&project);
    assert!(
        settings.contains("os.environ.get(\"POSTGRES_SSLMODE\", \"require\")"),
        "TLS was used, so the written sslmode is require:\n{settings}"
    );
    assert!(!settings.contains("\"prefer\""), "{settings}");
    let orm = django_reads_and_writes(&python, &project, &pw);
    assert!(
        orm.contains("orm-ok u1abcdef") && orm.contains("tls"),
        "{orm}"
    );
}

#[test]
fn heroku_owner_only_url_without_sslmode_writes_require_not_prefer_on_pg15() {
    heroku(15);
}

#[test]
fn heroku_owner_only_url_without_sslmode_writes_require_not_prefer_on_pg17() {
    heroku(17);
}

/// Issue 18: a password with `@`, `#` and `/` pasted unencoded is refused before any step,
/// with the encoded form shown masked, never the password.
#[test]
fn an_unencoded_password_is_refused_with_its_encoded_form_and_never_shown() {
    let tmp = tempfile::tempdir().unwrap();
    let python = common::django_venv();
    let (_t, project) = common::sample_project(50);
    let out = migrate(
        tmp.path(),
        &project,
        &python,
        "postgresql://app:p@ss#w/rd@127.0.0.1:55499/db?sslmode=require",
        &[],
    );
    let t = text(&out);
    assert_ne!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("Percent-encode the password"), "{t}");
    assert!(t.contains("app:…%40…%23…%2F…@127.0.0.1:55499/db"), "{t}");
    assert!(t.contains("PGPASSWORD"), "{t}");
    for part in ["p@ss", "ss#w", "w/rd"] {
        assert!(!t.contains(part), "{part} shown: {t}");
    }
    assert!(
        !project.join(".dj2pg").exists(),
        "no backup behind a refused URL"
    );
}

/// `channel_binding=require` is honoured, not ignored: a server that logs the client in
/// without binding the login to TLS (here: no TLS offered, then no password asked) is
/// refused, by the `postgres` crate's connections and by the copy's own sessions alike.
#[test]
fn channel_binding_require_refuses_a_login_that_is_not_bound() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 1024];
                // SSLRequest: no TLS here.
                if s.read(&mut buf).unwrap_or(0) == 8 {
                    let _ = s.write_all(b"N");
                    let _ = s.read(&mut buf);
                }
                // StartupMessage read: AuthenticationOk (trust), as a server without a
                // password would.
                let _ = s.write_all(&[b'R', 0, 0, 0, 8, 0, 0, 0, 0]);
                let _ = s.read(&mut buf);
            });
        }
    });
    let (c, _) = dj2pg::pg::ConnConfig::from_url(&format!(
        "postgresql://app@127.0.0.1:{port}/appdb?sslmode=prefer&channel_binding=require"
    ))
    .unwrap();
    let pw = Secret::new("x");
    let e = c.connect(Some(&pw)).err().expect("refused").to_string();
    assert!(e.contains("did not bind the login to TLS"), "{e}");
    let e = dj2pg::pg::wire::Wire::connect(&c, Some(&pw), "")
        .err()
        .expect("refused")
        .to_string();
    assert!(e.contains("did not bind the login to TLS"), "{e}");
}

/// DigitalOcean's connection pool: PgBouncer in transaction mode, TLS, a pool named
/// `app-pool` for database `appdb`, startup options refused. Given the pool's string, dj2pg
/// recognises the pool before any step uses it, creates the schema and copies over the
/// direct connection, and writes settings that keep the pool (its name, its port) with
/// DISABLE_SERVER_SIDE_CURSORS and no startup options; the app then reads and writes through
/// the pool with them.
fn digitalocean_pool(major: u32) {
    let python = common::django_venv();
    let cluster = common::cluster_pg(major);
    let app_pw = cluster.app_password().clone();
    let bouncer = common::pgbouncer::pgbouncer(&cluster, "app-pool", "appdb", &[("app", &app_pw)]);
    let (tmp, project) = common::sample_project(400);
    let url = format!(
        "postgresql://app@127.0.0.1:{}/app-pool?sslmode=require",
        bouncer.port()
    );
    let admin = cluster.admin().display_url();
    let out = dj2pg(
        &tmp.path().join("state"),
        &[
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
        ],
        &[
            ("PGPASSWORD", app_pw.expose()),
            ("DJ2PG_ADMIN_PASSWORD", cluster.admin_password().expose()),
        ],
    );
    let t = text(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{t}\nPgBouncer:\n{}",
        bouncer.log()
    );
    let connect = t
        .lines()
        .find(|l| l.starts_with("[connect] done"))
        .unwrap_or_else(|| panic!("{t}"));
    assert!(connect.contains("connection pool"), "{connect}");
    assert!(
        connect.contains(&format!("127.0.0.1:{}/appdb", cluster.port())),
        "the direct connection is named: {connect}"
    );
    // The tables were made over the direct connection, as the app role, and hold the rows.
    let mut su = cluster.superuser();
    su.dbname = "appdb".into();
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
            &app_pw,
            &format!("SELECT count(*)::text FROM {table}"),
        );
        assert_eq!(got, vec![vec![Some(n.to_string())]], "{table}");
    }
    // The settings keep the pool.
    let settings = settings_py(&project);
    assert!(
        settings.contains(&format!("\"POSTGRES_PORT\", \"{}\"", bouncer.port())),
        "{settings}"
    );
    assert!(
        settings.contains("\"POSTGRES_DB\", \"app-pool\""),
        "{settings}"
    );
    assert!(
        settings.contains("\"DISABLE_SERVER_SIDE_CURSORS\": True"),
        "{settings}"
    );
    assert!(!settings.contains("\"options\""), "{settings}");
    // The report says so, with the command for later migrations.
    let report = std::fs::read_dir(project.join(".dj2pg/backups"))
        .unwrap()
        .flatten()
        .map(|e| e.path().join("report.md"))
        .find(|p| p.is_file())
        .expect("report.md");
    let md = std::fs::read_to_string(report).unwrap();
    assert!(
        md.contains("connection pool")
            && md.contains(&format!(
                "POSTGRES_PORT={} POSTGRES_DB=appdb",
                cluster.port()
            )),
        "{md}"
    );
    let logins = |log: String| log.matches("login attempt: db=app-pool").count();
    let before = logins(bouncer.log());
    let orm = django_reads_and_writes(&python, &project, app_pw.expose());
    assert!(orm.contains("orm-ok app"), "{orm}");
    // Through the pool: PgBouncer logged the app in.
    assert!(
        logins(bouncer.log()) > before,
        "PgBouncer log:\n{}",
        bouncer.log()
    );
}

#[test]
fn digitalocean_pool_string_schema_and_copy_go_direct_settings_keep_the_pool_on_pg15() {
    digitalocean_pool(15);
}

#[test]
fn digitalocean_pool_string_schema_and_copy_go_direct_settings_keep_the_pool_on_pg17() {
    digitalocean_pool(17);
}

/// Supabase: the dashboard's string for `postgres` (simulated as `sbpostgres`, the harness's
/// superuser being `postgres`): CREATEROLE CREATEDB BYPASSRLS, not a superuser, with default
/// privileges granting every new table and sequence in `public` to the API roles `anon`,
/// `authenticated` and `service_role`, a 2-minute statement_timeout, no sslmode in the URL.
/// dj2pg asks before creating anything; headless without `--default-grants` stops with the
/// SQL for a role of the app's own, nothing created; with `--default-grants revoke` Django's
/// tables are not the API roles' and a table that was there before keeps its grants.
fn supabase(major: u32) {
    let python = common::django_venv();
    let cluster = common::cluster_pg(major);
    let pw = password();
    as_superuser(
        &cluster,
        "postgres",
        &[
            "CREATE ROLE anon NOLOGIN".into(),
            "CREATE ROLE authenticated NOLOGIN".into(),
            "CREATE ROLE service_role NOLOGIN BYPASSRLS".into(),
            format!("CREATE ROLE sbpostgres LOGIN PASSWORD '{pw}' CREATEROLE CREATEDB BYPASSRLS"),
            "ALTER ROLE sbpostgres SET statement_timeout = '2min'".into(),
            "CREATE DATABASE sbdb".into(),
        ],
    );
    as_superuser(
        &cluster,
        "sbdb",
        &[
            "GRANT ALL ON SCHEMA public TO sbpostgres, anon, authenticated, service_role".into(),
            "ALTER DEFAULT PRIVILEGES FOR ROLE sbpostgres IN SCHEMA public GRANT ALL ON TABLES \
             TO anon, authenticated, service_role"
                .into(),
            "ALTER DEFAULT PRIVILEGES FOR ROLE sbpostgres IN SCHEMA public GRANT ALL ON \
             SEQUENCES TO anon, authenticated, service_role"
                .into(),
            // The user's own API table, made before dj2pg: its grants are theirs to keep.
            "SET ROLE sbpostgres; CREATE TABLE public.profiles (id int PRIMARY KEY); RESET ROLE"
                .into(),
        ],
    );
    let (tmp, project) = common::sample_project(300);
    let url = format!(
        "postgresql://sbpostgres:{pw}@127.0.0.1:{}/sbdb",
        cluster.port()
    );
    let mut su = cluster.superuser();
    su.dbname = "sbdb".into();
    let tables = || {
        common::rows(
            &su,
            cluster.superuser_password(),
            "SELECT count(*)::text FROM pg_tables WHERE schemaname = 'public'",
        )
    };

    let out = migrate(tmp.path(), &project, &python, &url, &[]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("anon, authenticated and service_role") && t.contains("auth_user"),
        "{t}"
    );
    assert!(t.contains("CREATE ROLE django_app"), "{t}");
    let connect = t
        .lines()
        .find(|l| l.starts_with("[connect] done"))
        .unwrap_or_else(|| panic!("{t}"));
    assert!(
        connect.contains("Supabase (role anon and authenticated in the catalog)")
            && connect.contains("statement_timeout=2min"),
        "{connect}"
    );
    assert!(t.contains("--default-grants"), "{t}");
    assert_eq!(
        tables(),
        vec![vec![Some("1".into())]],
        "nothing created: {t}"
    );

    let out = migrate(
        tmp.path(),
        &project,
        &python,
        &url,
        &["--default-grants", "revoke"],
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(
        t.contains("REVOKE ALL ON TABLE public.") && t.contains("public.\"auth_user\","),
        "{t}"
    );
    let exposed = common::rows(
        &su,
        cluster.superuser_password(),
        "SELECT c.relname::text || ' ' || r.rolname::text FROM pg_class c, pg_roles r \
         WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'S') \
           AND r.rolname IN ('anon', 'authenticated', 'service_role') \
           AND (CASE c.relkind WHEN 'S' THEN has_sequence_privilege(r.oid, c.oid, 'USAGE') \
                ELSE has_table_privilege(r.oid, c.oid, 'SELECT') END) \
         ORDER BY 1",
    );
    let names: Vec<String> = exposed.into_iter().flatten().flatten().collect();
    assert_eq!(
        names,
        vec![
            "profiles anon".to_string(),
            "profiles authenticated".into(),
            "profiles service_role".into()
        ],
        "only the table that was there before keeps the API roles' grants"
    );
    let report = std::fs::read_dir(project.join(".dj2pg/backups"))
        .unwrap()
        .flatten()
        .map(|e| e.path().join("report.md"))
        .find(|p| p.is_file())
        .expect("report.md");
    let md = std::fs::read_to_string(report).unwrap();
    assert!(md.contains("default grants to anon"), "{md}");
    let settings = settings_py(&project);
    assert!(
        settings.contains("os.environ.get(\"POSTGRES_SSLMODE\", \"require\")"),
        "{settings}"
    );
    let orm = django_reads_and_writes(&python, &project, &pw);
    assert!(
        orm.contains("orm-ok sbpostgres") && orm.contains("tls"),
        "{orm}"
    );
}

#[test]
fn supabase_default_grants_to_api_roles_are_asked_about_then_revoked_on_djangos_tables_on_pg15() {
    supabase(15);
}

#[test]
fn supabase_default_grants_to_api_roles_are_asked_about_then_revoked_on_djangos_tables_on_pg17() {
    supabase(17);
}
