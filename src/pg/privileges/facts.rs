//! Reading privilege facts from the server. Read-only queries, all made in the session's
//! current database, which callers make the app database (grants on a schema live in the
//! database they were run in). Every role and schema name is a bound parameter, never spliced.

use crate::data::privileges::{AdminFacts, AppFacts, OwnedObject};
use anyhow::{Context, Result, bail};
use postgres::Client;

/// Server version and database owner, from any session in the app database.
pub(crate) struct DbFacts {
    pub version: String,
    pub version_num: i32,
    pub database: String,
    pub owner: String,
    pub schemas: Vec<(String, String)>,
}

pub(crate) fn db_facts(client: &mut Client) -> Result<DbFacts> {
    let row = client
        .query_one(
            "SELECT current_setting('server_version'), current_setting('server_version_num')::int,
                    current_database()::text, pg_get_userbyid(d.datdba)::text
               FROM pg_database d WHERE d.datname = current_database()",
            &[],
        )
        .context("could not read the database's owner")?;
    let schemas = client
        .query(
            "SELECT nspname::text, pg_get_userbyid(nspowner)::text FROM pg_namespace
              WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' ORDER BY 1",
            &[],
        )
        .context("could not list the schemas")?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    Ok(DbFacts {
        version: row.get(0),
        version_num: row.get(1),
        database: row.get(2),
        owner: row.get(3),
        schemas,
    })
}

/// What `role` may do in `schema` of the current database. Works from a session of the app
/// role itself or of any other role (the `has_*_privilege(role, ...)` functions take a role).
/// `admin` names the role whose default privileges and CREATE right recipe C relies on.
pub(crate) fn app_facts(
    client: &mut Client,
    role: &str,
    schema: &str,
    admin: Option<&str>,
) -> Result<AppFacts> {
    let row = client
        .query_opt(
            "SELECT r.rolsuper,
                    has_database_privilege($1::name, current_database()::text, 'CONNECT'),
                    pg_has_role($1::name, d.datdba, 'USAGE'),
                    (SELECT array_to_string(s.setconfig, ', ') FROM pg_db_role_setting s
                      WHERE s.setdatabase = d.oid AND s.setrole = r.oid)
               FROM pg_roles r, pg_database d
              WHERE r.rolname = $1::name AND d.datname = current_database()",
            &[&role],
        )
        .with_context(|| format!("could not read the privileges of role {role:?}"))?;
    let Some(row) = row else {
        bail!("role {role:?} does not exist on this server (check the user name)");
    };
    let settings: Option<String> = row.get(3);
    let search_path_setting = settings.and_then(|s| {
        s.split(", ")
            .find_map(|kv| kv.strip_prefix("search_path=").map(str::to_string))
    });
    let mut facts = AppFacts {
        role: role.to_string(),
        is_superuser: row.get(0),
        connect: row.get(1),
        connect_error: None,
        owns_database: row.get(2),
        schema_exists: false,
        schema_usage: false,
        schema_create: false,
        search_path_setting,
        not_owned: Vec::new(),
        no_access: Vec::new(),
        default_privileges_from_admin: false,
        admin_schema_create: None,
    };
    if !schema_exists(client, schema)? {
        return Ok(facts);
    }
    facts.schema_exists = true;
    let row = client
        .query_one(
            "SELECT has_schema_privilege($1::name, $2::text, 'USAGE'),
                    has_schema_privilege($1::name, $2::text, 'CREATE')",
            &[&role, &schema],
        )
        .context("could not read the schema's privileges")?;
    facts.schema_usage = row.get(0);
    facts.schema_create = row.get(1);
    facts.not_owned = client
        .query(
            "SELECT c.relname::text,
                    CASE c.relkind WHEN 'S' THEN 'sequence' WHEN 'v' THEN 'view'
                         WHEN 'm' THEN 'materialized view' WHEN 'f' THEN 'foreign table'
                         ELSE 'table' END,
                    pg_get_userbyid(c.relowner)::text
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = $2::name AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
                AND NOT pg_has_role($1::name, c.relowner, 'USAGE')
              ORDER BY 1",
            &[&role, &schema],
        )
        .context("could not read who owns the tables")?
        .iter()
        .map(|r| OwnedObject {
            name: r.get(0),
            kind: r.get(1),
            owner: r.get(2),
        })
        .collect();
    // Each privilege separately: a list in has_table_privilege means "any of".
    facts.no_access = client
        .query(
            "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = $2::name AND (
                    (c.relkind IN ('r', 'p') AND NOT (
                        has_table_privilege($1::name, c.oid, 'SELECT')
                        AND has_table_privilege($1::name, c.oid, 'INSERT')
                        AND has_table_privilege($1::name, c.oid, 'UPDATE')
                        AND has_table_privilege($1::name, c.oid, 'DELETE')))
                 OR (c.relkind = 'S' AND NOT (
                        has_sequence_privilege($1::name, c.oid, 'USAGE')
                        AND has_sequence_privilege($1::name, c.oid, 'SELECT'))))
              ORDER BY 1",
            &[&role, &schema],
        )
        .context("could not read the table privileges")?
        .iter()
        .map(|r| r.get(0))
        .collect();
    if let Some(admin) = admin {
        let row = client
            .query_one(
                "WITH d AS (
                   SELECT d.defaclobjtype AS t, a.privilege_type AS p
                     FROM pg_default_acl d, aclexplode(d.defaclacl) a
                    WHERE d.defaclrole = (SELECT oid FROM pg_roles WHERE rolname = $3::name)
                      AND d.defaclnamespace IN (0, (SELECT oid FROM pg_namespace WHERE nspname = $2::name))
                      AND a.grantee = (SELECT oid FROM pg_roles WHERE rolname = $1::name))
                 SELECT (SELECT count(DISTINCT p) FROM d WHERE t = 'r'
                          AND p IN ('SELECT', 'INSERT', 'UPDATE', 'DELETE')) = 4
                    AND (SELECT count(DISTINCT p) FROM d WHERE t = 'S'
                          AND p IN ('USAGE', 'SELECT')) = 2,
                        COALESCE((SELECT has_schema_privilege($3::name, $2::text, 'CREATE')
                                    AND has_schema_privilege($3::name, $2::text, 'USAGE')
                                   WHERE EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $3::name)),
                                 false)",
                &[&role, &schema, &admin],
            )
            .context("could not read the default privileges")?;
        facts.default_privileges_from_admin = row.get(0);
        facts.admin_schema_create = Some(row.get(1));
    }
    Ok(facts)
}

fn schema_exists(client: &mut Client, schema: &str) -> Result<bool> {
    Ok(client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1::name)",
            &[&schema],
        )
        .context("could not look the schema up")?
        .get(0))
}

/// What `admin` (the session's own role) may do about `app` and `schema`.
pub(crate) fn admin_facts(client: &mut Client, app: &str, schema: &str) -> Result<AdminFacts> {
    // PostgreSQL 16 added pg_auth_members.set_option together with its new membership rules
    // (and pg_has_role's 'SET'): decide from the catalog, not from the version number.
    let rules_16: bool = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_attribute
                     WHERE attrelid = 'pg_catalog.pg_auth_members'::regclass
                       AND attname = 'set_option' AND NOT attisdropped)",
            &[],
        )
        .context("could not read pg_auth_members' columns")?
        .get(0);
    let set_test = if rules_16 { "SET" } else { "MEMBER" };
    let sql = format!(
        "SELECT a.rolname::text, a.rolsuper, a.rolcreaterole, a.rolcreatedb,
                pg_has_role(a.oid, p.oid, 'MEMBER'),
                pg_has_role(a.oid, p.oid, '{set_test}'),
                pg_has_role(a.oid, p.oid, 'MEMBER WITH ADMIN OPTION'),
                a.rolsuper OR pg_has_role(a.oid, d.datdba, 'USAGE'),
                has_database_privilege(a.oid, d.oid, 'CREATE'),
                has_database_privilege(a.oid, d.oid, 'CONNECT WITH GRANT OPTION'),
                p.rolsuper
           FROM pg_roles a, pg_roles p, pg_database d
          WHERE a.rolname = current_user AND p.rolname = $1::name
            AND d.datname = current_database()"
    );
    let Some(row) = client
        .query_opt(&sql, &[&app])
        .context("could not read the admin's capabilities")?
    else {
        bail!("role {app:?} does not exist on this server (check the user name)");
    };
    let mut facts = AdminFacts {
        role: row.get(0),
        is_superuser: row.get(1),
        createrole: row.get(2),
        createdb: row.get(3),
        member_of_app: row.get(4),
        can_set_role_app: row.get(5),
        admin_option_on_app: row.get(6),
        owns_database: row.get(7),
        database_create: row.get(8),
        database_connect_grant: row.get(9),
        app_is_superuser: row.get(10),
        membership_set_option: None,
        membership_admin_option: None,
        membership_rules_16: rules_16,
        schema_exists: false,
        schema_owner: None,
        schema_usage: false,
        schema_create: false,
        schema_grant_option: false,
    };
    if rules_16 {
        let row = client
            .query_one(
                "SELECT bool_or(m.set_option), bool_or(m.admin_option) FROM pg_auth_members m
                  WHERE m.member = (SELECT oid FROM pg_roles WHERE rolname = current_user)
                    AND m.roleid = (SELECT oid FROM pg_roles WHERE rolname = $1::name)",
                &[&app],
            )
            .context("could not read the admin's membership options")?;
        facts.membership_set_option = row.get(0);
        facts.membership_admin_option = row.get(1);
    }
    if schema_exists(client, schema)? {
        let row = client
            .query_one(
                "SELECT (SELECT pg_get_userbyid(nspowner)::text FROM pg_namespace
                          WHERE nspname = $1::name),
                        has_schema_privilege($1::text, 'USAGE'),
                        has_schema_privilege($1::text, 'CREATE'),
                        has_schema_privilege($1::text, 'USAGE WITH GRANT OPTION')
                        AND has_schema_privilege($1::text, 'CREATE WITH GRANT OPTION')",
                &[&schema],
            )
            .context("could not read the admin's schema privileges")?;
        facts.schema_exists = true;
        facts.schema_owner = row.get(0);
        facts.schema_usage = row.get(1);
        facts.schema_create = row.get(2);
        facts.schema_grant_option = row.get(3);
    }
    Ok(facts)
}
