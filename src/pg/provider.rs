//! Which managed provider runs the server, and where the connected role stands in its role
//! model, from what the server itself shows: the group roles each provider creates
//! (`rds_superuser`, `cloudsqlsuperuser`, `azure_pg_admin`, `neon_superuser`, Supabase's API
//! roles), the connected role's attributes and memberships, and who owns the database. The
//! host name's shape only names a provider whose roles a client cannot see (DigitalOcean,
//! Heroku, Render); the role model always comes from the catalog.
//!
//! Said on Connect, on Fix permissions and in the report, so the user knows which of the
//! provider's rules apply (where its admin is, its pool, its CA file); never used to pick a
//! recipe (those come from the admin's capabilities, `pg::privileges`).

use crate::data::pg::Provider;

/// What each provider documents.
struct Known {
    name: &'static str,
    /// The group roles the provider creates (all present: this provider).
    groups: &'static [&'static str],
    /// Host name endings.
    hosts: &'static [&'static str],
    /// The host names it only when the catalog shows its role model, an owner-only
    /// credential (Heroku's hosts are any EC2 host's).
    owner_only: bool,
    admin: &'static str,
    /// The admin's fixed role name, when the provider names it (else: a login role in the
    /// first group, read from the catalog).
    admin_name: Option<&'static str>,
    pool: Option<&'static str>,
    ca: Option<&'static str>,
}

const KNOWN: [Known; 8] = [
    Known {
        name: "AWS RDS/Aurora",
        groups: &["rds_superuser"],
        hosts: &[".rds.amazonaws.com"],
        owner_only: false,
        admin: "the master user named when the instance was made (RDS console: Configuration; \
                its password in Secrets Manager when RDS manages it), in rds_superuser",
        admin_name: None,
        pool: Some(
            "RDS Proxy, when used, pins a session that sets session state: the schema and \
             the copy work through it",
        ),
        ca: Some("global-bundle.pem from AWS's trust store, with sslmode=verify-full"),
    },
    Known {
        name: "Google Cloud SQL",
        groups: &["cloudsqlsuperuser"],
        hosts: &[],
        owner_only: false,
        admin: "postgres or a user made in the console (Users page), both in \
                cloudsqlsuperuser",
        admin_name: None,
        pool: None,
        ca: Some("server-ca.pem (Connections, Security), with sslmode=verify-ca"),
    },
    Known {
        name: "Azure Database for PostgreSQL",
        groups: &["azure_pg_admin"],
        hosts: &[".postgres.database.azure.com"],
        owner_only: false,
        admin: "the administrator login named when the server was made (portal: Overview), \
                in azure_pg_admin",
        admin_name: None,
        pool: Some(
            "built-in PgBouncer on port 6432, transaction mode, same database names: schema \
             and copy go to port 5432, the settings may keep 6432",
        ),
        ca: Some("a public CA: sslrootcert=system with sslmode=verify-full"),
    },
    Known {
        name: "Neon",
        groups: &["neon_superuser"],
        hosts: &[".neon.tech"],
        owner_only: false,
        admin: "the database's <db>_owner role (console: Connect), in neon_superuser",
        admin_name: None,
        pool: Some(
            "PgBouncer on the -pooler host (transaction mode): schema and copy go to the \
             host without -pooler",
        ),
        ca: Some("a public CA: sslrootcert=system with sslmode=verify-full"),
    },
    Known {
        name: "Supabase",
        groups: &["anon", "authenticated"],
        hosts: &[".supabase.co", ".supabase.com"],
        owner_only: false,
        admin: "postgres (dashboard: Connect); its new tables in public go to the API roles \
                anon and authenticated by default",
        admin_name: Some("postgres"),
        pool: Some(
            "Supavisor on the pooler host: 6543 transaction mode, 5432 session mode, user \
             postgres.<ref>; direct host db.<ref>.supabase.co",
        ),
        ca: Some("prod-ca-2021.crt (Database settings, SSL)"),
    },
    Known {
        name: "DigitalOcean",
        groups: &[],
        hosts: &[".ondigitalocean.com"],
        owner_only: false,
        admin: "doadmin (the cluster's page: Connection details), CREATEDB CREATEROLE",
        admin_name: Some("doadmin"),
        pool: Some(
            "PgBouncer on port 25061, the database name is the pool's: schema and copy go \
             to port 25060",
        ),
        ca: Some("ca-certificate.crt from the cluster's page, with sslmode=verify-full"),
    },
    Known {
        name: "Heroku",
        groups: &[],
        hosts: &[".compute-1.amazonaws.com", ".compute.amazonaws.com"],
        owner_only: true,
        admin: "none: the one credential in DATABASE_URL owns the database",
        admin_name: None,
        pool: Some("server-side PgBouncer (transaction mode) when enabled on the add-on"),
        ca: None,
    },
    Known {
        name: "Render",
        groups: &[],
        hosts: &[".render.com"],
        owner_only: true,
        admin: "none: the one user named when the database was made owns it",
        admin_name: None,
        pool: Some("PgBouncer on paid plans"),
        ca: None,
    },
];

/// Every provider's group roles, for one catalog query.
fn all_groups() -> Vec<String> {
    KNOWN
        .iter()
        .flat_map(|k| k.groups.iter().map(|g| g.to_string()))
        .collect()
}

/// The catalog's facts about the connected role.
struct Facts {
    user: String,
    database: String,
    owner: String,
    superuser: bool,
    createrole: bool,
    createdb: bool,
    owns_database: bool,
    /// Provider group roles that exist.
    present: Vec<String>,
    /// Provider group roles the connected role is a member of.
    member_of: Vec<String>,
    /// Per provider group role: its first login member that may create roles and is not a
    /// superuser (the provider's admin), as `(group, role)`.
    admins: Vec<(String, String)>,
    version_num: i32,
}

fn facts(client: &mut postgres::Client) -> Option<Facts> {
    let groups = all_groups();
    let row = client
        .query_one(
            "SELECT current_user::text, current_database()::text,
                    pg_get_userbyid(d.datdba)::text, r.rolsuper, r.rolcreaterole,
                    r.rolcreatedb, pg_has_role(current_user, d.datdba, 'USAGE'),
                    ARRAY(SELECT g.rolname::text FROM pg_roles g
                           WHERE g.rolname = ANY($1::text[]) ORDER BY 1),
                    ARRAY(SELECT g.rolname::text FROM pg_roles g
                           WHERE g.rolname = ANY($1::text[])
                             AND pg_has_role(current_user, g.oid, 'MEMBER') ORDER BY 1),
                    current_setting('server_version_num')::int
               FROM pg_roles r, pg_database d
              WHERE r.rolname = current_user AND d.datname = current_database()",
            &[&groups],
        )
        .ok()?;
    Some(Facts {
        user: row.get(0),
        database: row.get(1),
        owner: row.get(2),
        superuser: row.get(3),
        createrole: row.get(4),
        createdb: row.get(5),
        owns_database: row.get(6),
        present: row.get(7),
        member_of: row.get(8),
        version_num: row.get(9),
        admins: admins(client, &groups),
    })
}

/// The first login member of each provider group that may create roles and is not a
/// superuser: the provider's admin (RDS's master user, Azure's administrator login).
/// `pg_has_role` on another role needs no privilege; the current user comes last.
fn admins(client: &mut postgres::Client, groups: &[String]) -> Vec<(String, String)> {
    client
        .query(
            "SELECT DISTINCT ON (g.rolname) g.rolname::text, r.rolname::text
               FROM pg_roles g, pg_roles r
              WHERE g.rolname = ANY($1::text[]) AND r.rolcanlogin AND NOT r.rolsuper
                AND r.rolcreaterole AND r.oid <> g.oid AND pg_has_role(r.oid, g.oid, 'MEMBER')
              ORDER BY g.rolname, r.rolname = current_user, r.oid",
            &[&groups],
        )
        .map(|rows| rows.iter().map(|r| (r.get(0), r.get(1))).collect())
        .unwrap_or_default()
}

/// Who may run `CREATE EXTENSION vector` on this provider (pgvector is not a trusted
/// extension), and the schema it goes into when the provider has one for extensions.
pub fn vector_rule(provider: Option<&str>) -> (String, Option<&'static str>) {
    let rule = match provider {
        Some("DigitalOcean") => "DigitalOcean: doadmin can create it",
        Some("AWS RDS/Aurora") => "Amazon RDS: a member of rds_superuser creates it",
        Some("Google Cloud SQL") => "Cloud SQL: a member of cloudsqlsuperuser creates it",
        Some("Azure Database for PostgreSQL") => {
            "Azure: add VECTOR to the server parameter azure.extensions first, then the \
             admin creates it"
        }
        Some("Supabase") => {
            "Supabase: the postgres role creates it in schema extensions (or enable it in \
             the dashboard)"
        }
        Some("Neon") => "Neon: the neon_superuser role creates it",
        _ => {
            "a superuser (or the provider's admin) creates it: pgvector is not a trusted extension"
        }
    };
    let schema = (provider == Some("Supabase")).then_some("extensions");
    (rule.to_string(), schema)
}

/// The provider and the connected role's place in its role model, from the catalog (and
/// the host for a provider whose roles a client cannot see). `None`: no provider is
/// recognised and the role model says nothing a self-managed server would not.
pub fn recognise(client: &mut postgres::Client, host: &str) -> Option<Provider> {
    identify(&facts(client)?, host)
}

/// [`recognise`] from the catalog's facts, read.
fn identify(f: &Facts, host: &str) -> Option<Provider> {
    let by_catalog = KNOWN.iter().find(|k| {
        !k.groups.is_empty() && k.groups.iter().all(|g| f.present.iter().any(|p| p == g))
    });
    let owner_only = !f.superuser && !f.createrole && f.owns_database;
    let by_host = || {
        let h = host.to_ascii_lowercase();
        KNOWN
            .iter()
            .filter(|k| owner_only || !k.owner_only)
            .find(|k| k.hosts.iter().any(|s| h.ends_with(s)))
    };
    let (known, evidence) = match by_catalog {
        Some(k) => (
            Some(k),
            format!("role {} in the catalog", k.groups.join(" and ")),
        ),
        None => match by_host() {
            Some(k) => (Some(k), "the host name".to_string()),
            None => (None, "the catalog".to_string()),
        },
    };
    if known.is_none() && !owner_only {
        return None;
    }
    Some(Provider {
        name: known.map(|k| k.name.to_string()),
        evidence,
        role_model: role_model(f, known),
        admin: match known {
            Some(k) if !owner_only || k.groups.is_empty() => k.admin.to_string(),
            _ => format!(
                "none above {}: it owns {}, and the app uses it",
                f.user, f.database
            ),
        },
        admin_role: known.and_then(|k| {
            k.admin_name.map(str::to_string).or_else(|| {
                let group = k.groups.first()?;
                f.admins
                    .iter()
                    .find(|(g, _)| g == group)
                    .map(|(_, r)| r.clone())
            })
        }),
        pool: known.and_then(|k| k.pool).map(str::to_string),
        ca: known.and_then(|k| k.ca).map(str::to_string),
    })
}

/// Where the connected role stands: the provider's admin, a role that creates roles, the
/// one owner credential, or an app role someone else fixes.
fn role_model(f: &Facts, known: Option<&Known>) -> String {
    let u = &f.user;
    let attrs = match (f.createdb, f.createrole) {
        (true, true) => "CREATEDB CREATEROLE, not a superuser",
        (false, true) => "CREATEROLE, not a superuser",
        (true, false) => "CREATEDB, not a superuser",
        (false, false) => "no CREATEDB or CREATEROLE",
    };
    let group = known.and_then(|k| {
        k.groups
            .iter()
            .find(|g| f.member_of.iter().any(|m| m == *g))
    });
    if f.superuser {
        return format!("{u} is a superuser");
    }
    let mut s = match group {
        Some(g) => format!("{u} is in {g} ({attrs})"),
        None if f.createrole => format!("{u} may create roles ({attrs})"),
        None if f.owns_database => format!(
            "{u} owns its database {} and cannot create roles: the one credential, which the \
             app uses (Heroku's and Render's model)",
            f.database
        ),
        None => format!(
            "{u} is an app role: {} owns {} and {u} creates no roles, so an admin fixes its \
             privileges",
            f.owner, f.database
        ),
    };
    if f.createrole && f.version_num >= 160000 {
        s.push_str(
            "; on PostgreSQL 16+ CREATEROLE manages only the roles it made or holds ADMIN on",
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(superuser: bool, createrole: bool, owns: bool, member_of: &[&str]) -> Facts {
        Facts {
            user: "u".into(),
            database: "d".into(),
            owner: "o".into(),
            superuser,
            createrole,
            createdb: createrole,
            owns_database: owns,
            present: member_of.iter().map(|s| s.to_string()).collect(),
            member_of: member_of.iter().map(|s| s.to_string()).collect(),
            version_num: 170000,
            admins: Vec::new(),
        }
    }

    #[test]
    fn the_role_model_comes_from_the_catalog() {
        let rds = &KNOWN[0];
        let m = role_model(&f(false, true, true, &["rds_superuser"]), Some(rds));
        assert!(
            m.starts_with("u is in rds_superuser (CREATEDB CREATEROLE"),
            "{m}"
        );
        assert!(m.contains("16+"), "{m}");
        let m = role_model(&f(false, false, true, &[]), None);
        assert!(
            m.contains("owns its database d and cannot create roles"),
            "{m}"
        );
        let m = role_model(&f(false, false, false, &[]), None);
        assert!(m.contains("app role: o owns d"), "{m}");
    }

    #[test]
    fn a_host_names_an_owner_only_provider_only_when_the_catalog_shows_that_model() {
        let ec2 = "ec2-3-1-2-3.compute-1.amazonaws.com";
        assert_eq!(identify(&f(false, true, false, &[]), ec2), None);
        let p = identify(&f(false, false, true, &[]), ec2).expect("owner-only");
        assert_eq!(p.name.as_deref(), Some("Heroku"));
        let p = identify(&f(false, true, false, &[]), "x.db.ondigitalocean.com").unwrap();
        assert_eq!(p.admin_role.as_deref(), Some("doadmin"));
    }

    #[test]
    fn every_provider_says_where_its_admin_is() {
        for k in &KNOWN {
            assert!(!k.admin.is_empty(), "{}", k.name);
            assert!(!k.groups.is_empty() || !k.hosts.is_empty(), "{}", k.name);
        }
    }
}
