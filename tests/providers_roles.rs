//! The managed providers' role models issue 19 lists beyond DigitalOcean, Neon, Supabase and
//! Heroku (`tests/providers.rs`), simulated on PostgreSQL 15 and 17: a hidden superuser makes
//! the provider's own group role and its admin with the attributes the provider documents,
//! the admin makes what it makes in SQL, then `dj2pg migrate` runs headless with the string
//! the provider's console hands out, and the app reads and writes through Django with the
//! settings dj2pg wrote. The provider and its role model are recognised from the catalog
//! (the host is 127.0.0.1 throughout: never from the host name).

mod common;

use common::flow::{
    as_role, as_superuser, django_reads_and_writes, done_line, migrate, password, report_md,
    rows_arrived, settings_py, table_owners, text,
};
use dj2pg::pg::Secret;

/// AWS RDS: the master user (`dbmaster`) in `rds_superuser`, CREATEDB CREATEROLE, not a
/// superuser; it creates the database and the app role in SQL. The app's string verifies the
/// server with the RDS CA bundle; the master's string is the admin URL. The app role may not
/// create in `public` (PostgreSQL 15+), so Fix permissions runs a recipe as the master.
fn rds(major: u32) {
    let python = common::django_venv();
    let cluster = common::cluster_pg(major);
    let (master_pw, app_pw) = (password(), format!("{}a", password()));
    as_superuser(
        &cluster,
        "postgres",
        &[
            "CREATE ROLE rds_superuser NOLOGIN".into(),
            format!(
                "CREATE ROLE dbmaster LOGIN PASSWORD '{master_pw}' CREATEDB CREATEROLE \
                 IN ROLE rds_superuser"
            ),
        ],
    );
    as_role(
        &cluster,
        "dbmaster",
        &master_pw,
        "postgres",
        &[
            "CREATE DATABASE shop".into(),
            format!("CREATE ROLE webapp LOGIN PASSWORD '{app_pw}'"),
        ],
    );
    let (tmp, project) = common::sample_project(300);
    let ca = cluster.ca_file().display().to_string();
    let port = cluster.port();
    let url = format!(
        "postgresql://webapp:{app_pw}@127.0.0.1:{port}/shop?sslmode=verify-full&sslrootcert={ca}"
    );
    let admin = format!(
        "postgresql://dbmaster:{master_pw}@127.0.0.1:{port}/postgres?sslmode=verify-full&sslrootcert={ca}"
    );
    let out = migrate(
        tmp.path(),
        &project,
        &python,
        &url,
        &["--admin-url", &admin],
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    let connect = done_line(&t, "connect");
    assert!(
        connect.contains("AWS RDS") && connect.contains("rds_superuser"),
        "{connect}"
    );
    let fix = done_line(&t, "fix-permissions");
    assert!(fix.contains("webapp"), "{fix}");
    for pw in [&master_pw, &app_pw] {
        assert!(
            !t.contains(pw.as_str()),
            "a password reached the output: {t}"
        );
    }
    assert_eq!(table_owners(&cluster, "shop"), vec!["webapp".to_string()]);
    rows_arrived(&cluster, &project, "webapp", &app_pw, "shop");
    let md = report_md(&project);
    assert!(
        md.contains("AWS RDS") && md.contains("rds_superuser"),
        "{md}"
    );
    let settings = settings_py(&project);
    assert!(settings.contains("\"verify-full\""), "{settings}");
    let orm = django_reads_and_writes(&python, &project, &app_pw);
    assert!(
        orm.contains("orm-ok webapp") && orm.contains("tls"),
        "{orm}"
    );
    // The master user is found in the catalog, for the admin login to start with.
    let (config, _) = dj2pg::pg::ConnConfig::from_url(&url).unwrap();
    let mut client = common::connect(&config, &Secret::new(&app_pw));
    let p = dj2pg::pg::provider::recognise(&mut client, "127.0.0.1").expect("recognised");
    assert_eq!(p.admin_role.as_deref(), Some("dbmaster"));
}

#[test]
fn rds_master_user_in_rds_superuser_fixes_the_app_role_made_in_sql_on_pg15() {
    rds(15);
}

#[test]
fn rds_master_user_in_rds_superuser_fixes_the_app_role_made_in_sql_on_pg17() {
    rds(17);
}

/// Google Cloud SQL: `postgres` (simulated as `cspostgres`) and the console's users join
/// `cloudsqlsuperuser` (CREATEDB CREATEROLE, not a superuser); a database made in the
/// console belongs to `cloudsqlsuperuser`. The app uses a console user, its string verifies
/// the instance's CA (`verify-ca`: the certificate names the instance, not the address).
fn cloud_sql(major: u32) {
    let python = common::django_venv();
    let cluster = common::cluster_pg(major);
    let app_pw = password();
    as_superuser(
        &cluster,
        "postgres",
        &[
            "CREATE ROLE cloudsqlsuperuser NOLOGIN CREATEDB CREATEROLE".into(),
            format!(
                "CREATE ROLE cspostgres LOGIN PASSWORD '{app_pw}x' CREATEDB CREATEROLE \
                 IN ROLE cloudsqlsuperuser"
            ),
            format!(
                "CREATE ROLE webapp LOGIN PASSWORD '{app_pw}' CREATEDB CREATEROLE \
                 IN ROLE cloudsqlsuperuser"
            ),
            "CREATE DATABASE shop OWNER cloudsqlsuperuser".into(),
        ],
    );
    let (tmp, project) = common::sample_project(300);
    let url = format!(
        "postgresql://webapp:{app_pw}@127.0.0.1:{}/shop?sslmode=verify-ca&sslrootcert={}",
        cluster.port(),
        cluster.ca_file().display()
    );
    let out = migrate(tmp.path(), &project, &python, &url, &[]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    let connect = done_line(&t, "connect");
    assert!(
        connect.contains("Cloud SQL") && connect.contains("cloudsqlsuperuser"),
        "{connect}"
    );
    assert!(!t.contains(&app_pw), "the password reached the output: {t}");
    assert_eq!(table_owners(&cluster, "shop"), vec!["webapp".to_string()]);
    rows_arrived(&cluster, &project, "webapp", &app_pw, "shop");
    let md = report_md(&project);
    assert!(md.contains("Cloud SQL"), "{md}");
    let settings = settings_py(&project);
    assert!(settings.contains("\"verify-ca\""), "{settings}");
    let orm = django_reads_and_writes(&python, &project, &app_pw);
    assert!(
        orm.contains("orm-ok webapp") && orm.contains("tls"),
        "{orm}"
    );
}

#[test]
fn cloud_sql_console_user_in_cloudsqlsuperuser_passes_the_whole_flow_on_pg15() {
    cloud_sql(15);
}

#[test]
fn cloud_sql_console_user_in_cloudsqlsuperuser_passes_the_whole_flow_on_pg17() {
    cloud_sql(17);
}

/// Azure Database for PostgreSQL, flexible server: the named admin (`myadmin`) in
/// `azure_pg_admin`, CREATEDB CREATEROLE; it creates the database and the app role in SQL.
/// The app's string is the built-in PgBouncer (transaction mode, the database's own name);
/// the admin's is the server's own port. The schema and the copy go direct, the settings keep
/// the pool.
fn azure(major: u32) {
    let python = common::django_venv();
    let cluster = common::cluster_pg(major);
    let (admin_pw, app_pw) = (password(), format!("{}a", password()));
    as_superuser(
        &cluster,
        "postgres",
        &[
            "CREATE ROLE azure_pg_admin NOLOGIN".into(),
            format!(
                "CREATE ROLE myadmin LOGIN PASSWORD '{admin_pw}' CREATEDB CREATEROLE \
                 IN ROLE azure_pg_admin"
            ),
        ],
    );
    as_role(
        &cluster,
        "myadmin",
        &admin_pw,
        "postgres",
        &[
            "CREATE DATABASE shop".into(),
            format!("CREATE ROLE webapp LOGIN PASSWORD '{app_pw}'"),
        ],
    );
    let secret = Secret::new(&app_pw);
    let bouncer = common::pgbouncer::pgbouncer(&cluster, "shop", "shop", &[("webapp", &secret)]);
    let (tmp, project) = common::sample_project(300);
    let url = format!(
        "postgresql://webapp:{app_pw}@127.0.0.1:{}/shop?sslmode=require",
        bouncer.port()
    );
    let admin = format!(
        "postgresql://myadmin:{admin_pw}@127.0.0.1:{}/postgres?sslmode=require",
        cluster.port()
    );
    let out = migrate(
        tmp.path(),
        &project,
        &python,
        &url,
        &["--admin-url", &admin],
    );
    let t = text(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{t}\nPgBouncer:\n{}",
        bouncer.log()
    );
    let connect = done_line(&t, "connect");
    assert!(
        connect.contains("Azure") && connect.contains("azure_pg_admin"),
        "{connect}"
    );
    assert!(connect.contains("connection pool"), "{connect}");
    assert!(
        connect.contains(&format!("127.0.0.1:{}/shop", cluster.port())),
        "the direct connection is named: {connect}"
    );
    for pw in [&admin_pw, &app_pw] {
        assert!(
            !t.contains(pw.as_str()),
            "a password reached the output: {t}"
        );
    }
    assert_eq!(table_owners(&cluster, "shop"), vec!["webapp".to_string()]);
    rows_arrived(&cluster, &project, "webapp", &app_pw, "shop");
    let settings = settings_py(&project);
    assert!(
        settings.contains(&format!("\"POSTGRES_PORT\", \"{}\"", bouncer.port())),
        "{settings}"
    );
    assert!(
        settings.contains("\"DISABLE_SERVER_SIDE_CURSORS\": True"),
        "{settings}"
    );
    let md = report_md(&project);
    assert!(
        md.contains("Azure") && md.contains("connection pool"),
        "{md}"
    );
    assert!(md.contains("the admin URL's host and port"), "{md}");
    let logins = |log: String| log.matches("login attempt: db=shop user=webapp").count();
    let before = logins(bouncer.log());
    let orm = django_reads_and_writes(&python, &project, &app_pw);
    assert!(orm.contains("orm-ok webapp"), "{orm}");
    assert!(logins(bouncer.log()) > before, "{}", bouncer.log());
}

#[test]
fn azure_admin_in_azure_pg_admin_app_through_pgbouncer_passes_on_pg15() {
    azure(15);
}

#[test]
fn azure_admin_in_azure_pg_admin_app_through_pgbouncer_passes_on_pg17() {
    azure(17);
}

/// Render: the one user named at creation owns its database, creates no roles and no
/// databases; the external string has no sslmode. The role model (an owner-only credential)
/// is read from the catalog and stated: no other role, no admin to look for.
fn render(major: u32) {
    let python = common::django_venv();
    let cluster = common::cluster_pg(major);
    let pw = password();
    as_superuser(
        &cluster,
        "postgres",
        &[
            format!("CREATE ROLE shop_user LOGIN PASSWORD '{pw}' NOCREATEDB NOCREATEROLE"),
            "CREATE DATABASE shop_x7k2 OWNER shop_user".into(),
        ],
    );
    let (tmp, project) = common::sample_project(300);
    let url = format!(
        "postgresql://shop_user:{pw}@127.0.0.1:{}/shop_x7k2",
        cluster.port()
    );
    let out = migrate(tmp.path(), &project, &python, &url, &[]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    let connect = done_line(&t, "connect");
    assert!(
        connect.contains("owns its database") && connect.contains("cannot create roles"),
        "{connect}"
    );
    assert!(!t.contains(&pw), "the password reached the output: {t}");
    assert_eq!(
        table_owners(&cluster, "shop_x7k2"),
        vec!["shop_user".to_string()]
    );
    rows_arrived(&cluster, &project, "shop_user", &pw, "shop_x7k2");
    let settings = settings_py(&project);
    assert!(
        settings.contains("os.environ.get(\"POSTGRES_SSLMODE\", \"require\")"),
        "TLS was used, so the written sslmode is require:\n{settings}"
    );
    let md = report_md(&project);
    assert!(md.contains("owns its database"), "{md}");
    let orm = django_reads_and_writes(&python, &project, &pw);
    assert!(
        orm.contains("orm-ok shop_user") && orm.contains("tls"),
        "{orm}"
    );
}

#[test]
fn render_owner_only_user_without_sslmode_passes_the_whole_flow_on_pg15() {
    render(15);
}

#[test]
fn render_owner_only_user_without_sslmode_passes_the_whole_flow_on_pg17() {
    render(17);
}

/// The role's and the database's timeouts (Supabase gives `postgres` a 2-minute
/// statement_timeout): read at Connect on a session of the role as it is, stated on Connect,
/// before migrate (which runs under them) and in the report; dj2pg's own sessions override
/// them.
#[test]
fn role_and_database_timeouts_are_read_stated_and_overridden_by_dj2pgs_sessions() {
    let python = common::django_venv();
    let cluster = common::cluster();
    let pw = password();
    as_superuser(
        &cluster,
        "postgres",
        &[
            format!("CREATE ROLE shop_user LOGIN PASSWORD '{pw}'"),
            "ALTER ROLE shop_user SET statement_timeout = '2min'".into(),
            "CREATE DATABASE shop OWNER shop_user".into(),
            "ALTER DATABASE shop SET idle_in_transaction_session_timeout = '30s'".into(),
        ],
    );
    let url = format!(
        "postgresql://shop_user:{pw}@127.0.0.1:{}/shop?sslmode=require",
        cluster.port()
    );
    let (config, _) = dj2pg::pg::ConnConfig::from_url(&url).unwrap();
    let secret = Secret::new(&pw);
    let show = |client: &mut postgres::Client| -> (String, String) {
        let row = client
            .query_one(
                "SELECT current_setting('statement_timeout'), \
                 current_setting('idle_in_transaction_session_timeout')",
                &[],
            )
            .unwrap();
        (row.get(0), row.get(1))
    };
    let mut own = common::connect(&config, &secret);
    assert_eq!(show(&mut own), ("0".into(), "0".into()), "dj2pg's session");
    let mut plain = config.connect_with(Some(&secret), "").unwrap();
    assert_eq!(
        dj2pg::pg::timeouts(&mut plain),
        vec![
            (
                "idle_in_transaction_session_timeout".to_string(),
                "30s".to_string()
            ),
            ("statement_timeout".to_string(), "2min".to_string())
        ]
    );

    let (tmp, project) = common::sample_project(200);
    let out = migrate(tmp.path(), &project, &python, &url, &[]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    let connect = done_line(&t, "connect");
    assert!(
        connect.contains("idle_in_transaction_session_timeout=30s, statement_timeout=2min")
            && connect.contains("dj2pg's own sessions override it")
            && connect.contains("Django's migrate runs under it"),
        "{connect}"
    );
    assert!(
        t.lines()
            .any(|l| l.starts_with("[create-schema] log: note: ")
                && l.contains("statement_timeout=2min")),
        "stated before migrate runs under it:\n{t}"
    );
    let md = report_md(&project);
    assert!(
        md.contains("## Provider") && md.contains("statement_timeout=2min"),
        "{md}"
    );
}

/// A pool whose server's address nothing reveals (PgBouncer reaching the server over a Unix
/// socket, as a pool on another host): no direct connection can be derived, so the run
/// stops at Connect before any backup of the target is touched, naming `--direct-url`
/// (the wizard asks for it in its Direct field); given it, the schema and the copy go there
/// and the settings keep the pool.
#[test]
fn a_pool_that_hides_its_server_asks_for_the_direct_connection_then_passes() {
    let python = common::django_venv();
    let cluster = common::cluster_pg(17);
    let app_pw = cluster.app_password().clone();
    common::exec(
        &cluster.admin(),
        cluster.admin_password(),
        "GRANT ALL ON SCHEMA public TO app",
    );
    let bouncer =
        common::pgbouncer::pgbouncer_via(&cluster, "app-pool", "appdb", &[("app", &app_pw)], true);
    let (tmp, project) = common::sample_project(200);
    let url = format!(
        "postgresql://app:{}@127.0.0.1:{}/app-pool?sslmode=require",
        app_pw.expose(),
        bouncer.port()
    );
    let out = migrate(tmp.path(), &project, &python, &url, &[]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}\n{}", bouncer.log());
    let failed = t
        .lines()
        .find(|l| l.starts_with("[connect] failed"))
        .unwrap_or_else(|| panic!("{t}"));
    assert!(
        failed.contains("is a connection pool") && failed.contains("--direct-url"),
        "{failed}"
    );
    assert!(
        table_owners(&cluster, "appdb").is_empty(),
        "nothing created"
    );

    let direct = format!(
        "postgresql://app@127.0.0.1:{}/appdb?sslmode=require",
        cluster.port()
    );
    let out = migrate(
        tmp.path(),
        &project,
        &python,
        &url,
        &["--direct-url", &direct],
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}\n{}", bouncer.log());
    let connect = done_line(&t, "connect");
    assert!(connect.contains("given with --direct-url"), "{connect}");
    assert_eq!(table_owners(&cluster, "appdb"), vec!["app".to_string()]);
    rows_arrived(&cluster, &project, "app", app_pw.expose(), "appdb");
    let settings = settings_py(&project);
    assert!(
        settings.contains(&format!("\"POSTGRES_PORT\", \"{}\"", bouncer.port())),
        "{settings}"
    );
    let orm = django_reads_and_writes(&python, &project, app_pw.expose());
    assert!(orm.contains("orm-ok app"), "{orm}");
}
