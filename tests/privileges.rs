//! Fix permissions against the harness's DigitalOcean-like server (TLS, scram, `doadmin` with
//! CREATEDB CREATEROLE but not a superuser, `app` without privileges), on PostgreSQL 15 and
//! 17: 16 changed what CREATEROLE allows, and managed servers run both.
//!
//! Every fix is verified the way a user would: the app role actually creates a table (or, for
//! the runtime role, reads and writes a table the admin creates after the fix), and every
//! predicted "unavailable" is tried to show the server refuses it with the predicted reason.

mod common;

use common::*;
use dj2pg::data::privileges::{CheckKind, Diagnosis, Goal, Recipe, RecipeId, RecipeOptions};
use dj2pg::pg::cluster::TempCluster;
use dj2pg::pg::privileges::{apply, dba_script, diagnose, execute, recheck, recipes};

/// Runs a test body on PostgreSQL 15 and on 17.
macro_rules! on_15_and_17 {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn pg15() {
                super::$name(15)
            }
            #[test]
            fn pg17() {
                super::$name(17)
            }
        }
    )*};
}

on_15_and_17!(
    fresh_app_role_is_diagnosed,
    recipe_a_grant_schema_fixes_it,
    recipe_b_own_schema_fixes_it,
    recipe_c_runtime_role_reaches_later_tables,
    recipe_d_make_owner,
    owner_change_unavailable_without_membership,
    grant_in_defaultdb_is_not_effective,
    dba_script_runs_in_the_app_database,
    missing_connect_is_found_and_granted,
);

fn log() -> impl FnMut(String) {
    |line| eprintln!("[fix] {line}")
}

fn diag(c: &TempCluster) -> Diagnosis {
    diagnose(
        &c.app(),
        Some(c.app_password()),
        Some((&c.admin(), Some(c.admin_password()))),
        "public",
        &mut log(),
    )
    .unwrap_or_else(|e| panic!("diagnose: {e:#}"))
}

fn recipe(d: &Diagnosis, id: RecipeId) -> Recipe {
    recipes(d, &RecipeOptions::default())
        .into_iter()
        .find(|r| r.id == id)
        .expect("every recipe is listed")
}

fn run(c: &TempCluster, r: &Recipe) -> dj2pg::data::privileges::ApplyReport {
    apply(
        r,
        &c.app(),
        Some(c.app_password()),
        &c.admin(),
        Some(c.admin_password()),
        &mut log(),
    )
    .unwrap_or_else(|e| panic!("apply {}: {e:#}", r.id.as_str()))
}

fn app_creates_table(c: &TempCluster) -> Result<(), String> {
    try_exec(
        &c.app(),
        c.app_password(),
        "CREATE TABLE made_by_app (id serial PRIMARY KEY, v text); \
         INSERT INTO made_by_app (v) VALUES ('x')",
    )
}

fn assert_fixed(c: &TempCluster, r: &Recipe) {
    let report = run(c, r);
    assert_eq!(report.ran_in, "appdb");
    assert!(report.recheck.effective, "{:#?}", report.recheck.checks);
    app_creates_table(c).unwrap_or_else(|e| panic!("app still cannot create: {e}"));
}

fn major_of(d: &Diagnosis) -> i32 {
    d.server_version_num / 10000
}

fn fresh_app_role_is_diagnosed(major: u32) {
    let c = cluster_pg(major);
    let e = app_creates_table(&c).expect_err("a fresh app role may not create in public");
    assert!(e.contains("permission denied for schema public"), "{e}");

    let d = diag(&c);
    assert_eq!(major_of(&d), major as i32, "{}", d.server_version);
    assert!(d.fix_needed());
    let create = d
        .checks
        .iter()
        .find(|c| c.kind == CheckKind::SchemaCreate)
        .expect("CREATE check");
    assert!(!create.ok);
    assert!(
        create
            .detail
            .contains("permission denied for schema public"),
        "{}",
        create.detail
    );
    assert_eq!(
        d.missing().map(|c| c.kind).collect::<Vec<_>>(),
        vec![CheckKind::SchemaCreate]
    );
    assert!(
        d.summary.contains("Missing: CREATE on schema"),
        "{}",
        d.summary
    );
    let a = d.admin.as_ref().expect("admin facts");
    assert!(!a.is_superuser && a.createrole && a.createdb && a.owns_database);
    assert!(!a.member_of_app && !a.can_set_role_app && !a.admin_option_on_app);
    assert_eq!(a.membership_rules_16, major >= 16);
    assert_eq!(a.schema_owner.as_deref(), Some("pg_database_owner"));
    assert!(
        a.schema_grant_option,
        "doadmin owns appdb, hence public there"
    );
    assert_eq!(d.database_owner, "doadmin");
    for r in recipes(&d, &RecipeOptions::default()) {
        eprintln!(
            "{} {:?}\n  {}\n  {:?}",
            r.id.letter(),
            r.available,
            r.sql.join(";\n  "),
            r.roles_after
        );
    }

    // As the admin itself, nothing is missing.
    let as_admin = diagnose(
        &c.admin(),
        Some(c.admin_password()),
        None,
        "public",
        &mut log(),
    )
    .expect("diagnose as admin");
    assert!(!as_admin.fix_needed(), "{:#?}", as_admin.checks);
    assert!(
        as_admin.summary.contains("no fix needed"),
        "{}",
        as_admin.summary
    );
}

fn recipe_a_grant_schema_fixes_it(major: u32) {
    let c = cluster_pg(major);
    let d = diag(&c);
    let a = recipe(&d, RecipeId::GrantSchema);
    assert_eq!(a.available, Ok(()));
    assert!(a.recommended);
    assert_eq!(
        a.sql,
        vec![r#"GRANT USAGE, CREATE ON SCHEMA "public" TO "app""#]
    );
    assert_fixed(&c, &a);
    assert!(!diag(&c).fix_needed(), "no fix needed after A");
}

fn recipe_b_own_schema_fixes_it(major: u32) {
    let c = cluster_pg(major);
    let mut d = diag(&c);
    let mut b = recipe(&d, RecipeId::OwnSchema);
    if major >= 16 {
        // doadmin did not create app: it may neither SET ROLE app nor grant it to itself.
        let reason = b
            .available
            .clone()
            .expect_err("B needs SET ROLE app on 16+");
        assert!(
            reason.contains(r#"must be able to SET ROLE "app""#),
            "{reason}"
        );
        exec(
            &c.superuser(),
            c.superuser_password(),
            "GRANT app TO doadmin",
        );
        d = diag(&c);
        b = recipe(&d, RecipeId::OwnSchema);
        assert!(d.admin.as_ref().is_some_and(|a| a.can_set_role_app));
        assert_eq!(
            d.admin.as_ref().and_then(|a| a.membership_set_option),
            Some(true)
        );
    }
    assert_eq!(b.available, Ok(()), "{:?}", b.sql);
    let mut expected = vec![];
    if major < 16 {
        // PostgreSQL 15: CREATEROLE may grant any non-superuser role.
        expected.push(r#"GRANT "app" TO "doadmin""#.to_string());
    }
    expected.extend([
        r#"CREATE SCHEMA "app" AUTHORIZATION "app""#.to_string(),
        r#"SET LOCAL ROLE "app""#.into(),
        r#"ALTER ROLE "app" IN DATABASE "appdb" SET search_path = "app""#.into(),
        "RESET ROLE".into(),
    ]);
    assert_eq!(b.sql, expected);
    assert_eq!(b.roles_after.search_path.as_deref(), Some("app"));
    assert_eq!(
        b.goal,
        Goal::AppOwnsTables {
            schema: "app".into()
        }
    );
    assert_fixed(&c, &b);
    assert_eq!(
        scalar(
            &c.app(),
            c.app_password(),
            "SELECT n.nspname || ' ' || pg_get_userbyid(t.relowner) FROM pg_class t \
             JOIN pg_namespace n ON n.oid = t.relnamespace WHERE t.relname = 'made_by_app'"
        )
        .as_deref(),
        Some("app app"),
        "the table went into schema app, owned by app"
    );
}

fn recipe_c_runtime_role_reaches_later_tables(major: u32) {
    let c = cluster_pg(major);
    let (admin, pw) = (c.admin(), c.admin_password());
    exec(
        &admin,
        pw,
        "CREATE TABLE before_fix (id serial PRIMARY KEY, v text)",
    );
    let d = diag(&c);
    let r = recipe(&d, RecipeId::RuntimeRole);
    assert_eq!(r.available, Ok(()));
    assert_eq!(
        r.sql,
        vec![
            r#"GRANT USAGE ON SCHEMA "public" TO "app""#,
            r#"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "public" TO "app""#,
            r#"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "public" TO "app""#,
            r#"ALTER DEFAULT PRIVILEGES FOR ROLE "doadmin" IN SCHEMA "public" GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "app""#,
            r#"ALTER DEFAULT PRIVILEGES FOR ROLE "doadmin" IN SCHEMA "public" GRANT USAGE, SELECT ON SEQUENCES TO "app""#,
        ]
    );
    assert_eq!(r.roles_after.schema_and_copy, "doadmin");
    assert_eq!(r.roles_after.settings_user, "app");
    let report = run(&c, &r);
    assert!(report.recheck.effective, "{:#?}", report.recheck.checks);

    // A table a later migration (run as the admin) creates, after the fix.
    exec(
        &admin,
        pw,
        "CREATE TABLE after_fix (id serial PRIMARY KEY, v text)",
    );
    for table in ["before_fix", "after_fix"] {
        exec(
            &c.app(),
            c.app_password(),
            &format!(
                "INSERT INTO {table} (v) VALUES ('a'), ('b'); UPDATE {table} SET v = 'c' WHERE id = 1; \
                 DELETE FROM {table} WHERE id = 2"
            ),
        );
        assert_eq!(
            scalar(
                &c.app(),
                c.app_password(),
                &format!("SELECT string_agg(v, ',') FROM {table}")
            )
            .as_deref(),
            Some("c"),
            "{table}"
        );
    }
    let again = recheck(&r.goal, &c.app(), Some(c.app_password())).expect("recheck");
    assert!(again.effective, "{:#?}", again.checks);
}

fn recipe_d_make_owner(major: u32) {
    let c = cluster_pg(major);
    let mut d = diag(&c);
    let mut r = recipe(&d, RecipeId::MakeOwner);
    if major >= 16 {
        let reason = r
            .available
            .clone()
            .expect_err("D needs SET ROLE app on 16+");
        assert!(
            reason.contains(r#"must be able to SET ROLE "app""#),
            "{reason}"
        );
        assert!(
            reason.contains(r#"permission denied to grant role "app""#),
            "{reason}"
        );
        // Prove both predictions: the server refuses exactly so.
        let e = execute(
            &c.admin(),
            Some(c.admin_password()),
            "appdb",
            &r.sql,
            &mut log(),
        )
        .expect_err("ALTER DATABASE OWNER refused");
        assert!(
            format!("{e:#}").contains(r#"must be able to SET ROLE "app""#),
            "{e:#}"
        );
        let grant = vec![r#"GRANT "app" TO "doadmin""#.to_string()];
        let e = execute(
            &c.admin(),
            Some(c.admin_password()),
            "appdb",
            &grant,
            &mut log(),
        )
        .expect_err("GRANT app refused");
        assert!(
            format!("{e:#}").contains(r#"permission denied to grant role "app""#),
            "{e:#}"
        );
        // Whoever created app (here the superuser) grants it; then D works.
        exec(
            &c.superuser(),
            c.superuser_password(),
            "GRANT app TO doadmin",
        );
        d = diag(&c);
        r = recipe(&d, RecipeId::MakeOwner);
        assert_eq!(r.sql, vec![r#"ALTER DATABASE "appdb" OWNER TO "app""#]);
    } else {
        assert_eq!(
            r.sql,
            vec![
                r#"GRANT "app" TO "doadmin""#,
                r#"ALTER DATABASE "appdb" OWNER TO "app""#
            ]
        );
    }
    assert_eq!(r.available, Ok(()));
    assert_fixed(&c, &r);
    assert_eq!(
        scalar(
            &c.app(),
            c.app_password(),
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'appdb'"
        )
        .as_deref(),
        Some("app")
    );
}

/// An admin without CREATEROLE or membership: D (and B) unavailable on every version, and
/// the server agrees.
fn owner_change_unavailable_without_membership(major: u32) {
    let c = cluster_pg(major);
    exec(
        &c.superuser(),
        c.superuser_password(),
        "ALTER ROLE doadmin NOCREATEROLE",
    );
    let d = diag(&c);
    let r = recipe(&d, RecipeId::MakeOwner);
    let reason = r.available.clone().expect_err("D unavailable");
    let server_says = if major >= 16 {
        r#"must be able to SET ROLE "app""#
    } else {
        r#"must be member of role "app""#
    };
    assert!(reason.contains(server_says), "{reason}");
    let b = recipe(&d, RecipeId::OwnSchema);
    assert!(
        b.available.as_ref().is_err_and(|e| e.contains(server_says)),
        "{:?}",
        b.available
    );
    let e = execute(
        &c.admin(),
        Some(c.admin_password()),
        "appdb",
        &r.sql,
        &mut log(),
    )
    .expect_err("refused");
    assert!(format!("{e:#}").contains(server_says), "{e:#}");
    let e = apply(
        &r,
        &c.app(),
        Some(c.app_password()),
        &c.admin(),
        Some(c.admin_password()),
        &mut log(),
    )
    .expect_err("apply does not try an unavailable recipe");
    assert!(format!("{e:#}").contains("cannot work here"), "{e:#}");
    // A still works: doadmin owns the database, hence public.
    let a = recipe(&d, RecipeId::GrantSchema);
    assert!(a.recommended && a.available.is_ok());
}

fn grant_in_defaultdb_is_not_effective(major: u32) {
    let c = cluster_pg(major);
    let d = diag(&c);
    let a = recipe(&d, RecipeId::GrantSchema);
    // The manual recipe's mistake: the same GRANT, connected to defaultdb. It succeeds...
    let ran_in = execute(
        &c.admin(),
        Some(c.admin_password()),
        "defaultdb",
        &a.sql,
        &mut log(),
    )
    .expect("the GRANT succeeds in defaultdb");
    assert_eq!(ran_in, "defaultdb");
    // ...and changes nothing where it matters.
    let check = recheck(&a.goal, &c.app(), Some(c.app_password())).expect("recheck");
    assert_eq!(check.database, "appdb");
    assert!(!check.effective);
    assert!(
        check
            .checks
            .iter()
            .any(|c| c.kind == CheckKind::SchemaCreate && !c.ok),
        "{:#?}",
        check.checks
    );
    assert!(app_creates_table(&c).is_err());
    assert!(diag(&c).fix_needed());
}

fn dba_script_runs_in_the_app_database(major: u32) {
    let c = cluster_pg(major);
    let d = diag(&c);
    let a = recipe(&d, RecipeId::GrantSchema);
    // Saved where a project folder with a space and an accent keeps it.
    let dir = tempfile::tempdir().expect("tempdir");
    let folder = dir.path().join("my projé 1");
    std::fs::create_dir_all(&folder).expect("mkdir");
    let file = folder.join("fix-permissions.sql");
    let script = dba_script(&a, &d, &c.app(), &file);
    for secret in [c.admin_password(), c.app_password(), c.superuser_password()] {
        assert!(
            !script.contains(secret.expose()),
            "a password in the script"
        );
    }
    assert!(script.contains("\\connect 'appdb'"), "{script}");
    assert!(
        script.contains("GRANT USAGE, CREATE ON SCHEMA \"public\" TO \"app\";"),
        "{script}"
    );
    std::fs::write(&file, &script).expect("write script");
    assert!(!script.contains("this-file.sql"), "{script}");
    assert!(
        script.contains("the key c on the dj2pg wizard's Fix permissions step"),
        "{script}"
    );
    // The DBA pastes the command from the header into a shell, naming the admin, and
    // connected to defaultdb out of habit: the quoted path holds, the script switches.
    let printed = script
        .lines()
        .find_map(|l| l.strip_prefix("--   psql "))
        .unwrap_or_else(|| panic!("no psql command in\n{script}"));
    let pasted = format!("psql {printed}")
        .replace("user=ADMIN", "user=doadmin")
        .replace("dbname=appdb", "dbname=defaultdb");
    let psql = dj2pg_tempcluster::find_pg_bin("psql")
        .unwrap_or_else(|| common::debian_program(&["/usr/bin/psql"], "postgresql-client"));
    let path = format!(
        "{}:{}",
        psql.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(&pasted)
        .current_dir(dir.path())
        .env("PATH", path)
        .env("PGPASSWORD", c.admin_password().expose())
        .output()
        .expect("run psql");
    assert!(out.status.success(), "{pasted}\n{}", output_text(&out));
    let check = recheck(&a.goal, &c.app(), Some(c.app_password())).expect("recheck");
    assert!(check.effective, "{:#?}", check.checks);
    app_creates_table(&c).expect("app creates after the DBA ran the script");
}

fn missing_connect_is_found_and_granted(major: u32) {
    let c = cluster_pg(major);
    exec(
        &c.admin(),
        c.admin_password(),
        "REVOKE CONNECT ON DATABASE appdb FROM PUBLIC",
    );
    let d = diag(&c);
    let connect = &d.checks[0];
    assert_eq!(connect.kind, CheckKind::Connect);
    assert!(!connect.ok, "{connect:?}");
    assert!(
        connect.detail.contains("permission denied for database"),
        "{}",
        connect.detail
    );
    let a = recipe(&d, RecipeId::GrantSchema);
    assert_eq!(
        a.sql,
        vec![
            r#"GRANT CONNECT ON DATABASE "appdb" TO "app""#,
            r#"GRANT USAGE, CREATE ON SCHEMA "public" TO "app""#
        ]
    );
    assert_fixed(&c, &a);
}
