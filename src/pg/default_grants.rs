//! Default privileges that publish the tables `migrate` creates (Supabase's API roles).
//!
//! `ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT ALL ON TABLES TO anon,
//! authenticated, service_role` is how Supabase makes new tables reachable through its
//! REST API: Django's `auth_user` (password hashes) and `django_session` would be among them.
//! Read from `pg_default_acl` for the role that runs `migrate` (its entries for `public`
//! and its global ones), so it is found on any server, never from the host name. After
//! `migrate`, the grants are revoked on the tables and sequences it created, found by
//! comparing `public` before and after — never on tables that were already there.

use crate::data::privileges::DefaultGrants;
use crate::pg::quote_ident;
use anyhow::{Context, Result};

/// The default grants of the current role on its new tables and sequences in `public` to
/// other roles, if there are any. `app_roles` are not other roles: the app's own role, to
/// which the runtime-role recipe grants the admin's new tables on purpose.
pub fn find(client: &mut postgres::Client, app_roles: &[String]) -> Result<Option<DefaultGrants>> {
    let rows = client
        .query(
            "SELECT DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC'
                                  ELSE pg_get_userbyid(a.grantee)::text END,
                    a.privilege_type::text, d.defaclobjtype::text
               FROM pg_default_acl d, aclexplode(d.defaclacl) a
              WHERE d.defaclrole = (SELECT oid FROM pg_roles WHERE rolname = current_user)
                AND d.defaclobjtype IN ('r', 'S')
                AND d.defaclnamespace IN (0, 'public'::regnamespace)
                AND a.grantee <> d.defaclrole
              ORDER BY 1, 2",
            &[],
        )
        .context("could not read the default privileges (pg_default_acl)")?;
    let mut grantees: Vec<String> = Vec::new();
    let mut privileges: Vec<String> = Vec::new();
    for row in &rows {
        let (who, what, kind): (String, String, String) = (row.get(0), row.get(1), row.get(2));
        if app_roles.contains(&who) {
            continue;
        }
        if !grantees.contains(&who) {
            grantees.push(who);
        }
        if kind == "r" && !privileges.contains(&what) {
            privileges.push(what);
        }
    }
    if grantees.is_empty() {
        return Ok(None);
    }
    let role: String = client.query_one("SELECT current_user::text", &[])?.get(0);
    Ok(Some(DefaultGrants {
        role,
        grantees,
        privileges,
    }))
}

/// The tables and sequences in `public` now, as `(name, kind)`.
pub fn relations(client: &mut postgres::Client) -> Result<Vec<(String, String)>> {
    Ok(client
        .query(
            "SELECT c.relname::text, c.relkind::text FROM pg_class c
              WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'S')
              ORDER BY 1",
            &[],
        )
        .context("could not list the tables of schema public")?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}

/// What [`revoke_new`] did: the SQL run, and on how many tables and sequences.
pub struct Revoked {
    pub sql: Vec<String>,
    pub tables: usize,
    pub sequences: usize,
}

/// Revoke every privilege of `grants`' grantees on the relations that are in `after` and
/// not in `before` (what `migrate` made), in one transaction.
pub fn revoke_new(
    client: &mut postgres::Client,
    grants: &DefaultGrants,
    before: &[(String, String)],
    after: &[(String, String)],
) -> Result<Revoked> {
    let from = grants
        .grantees
        .iter()
        .map(|g| {
            if g == "PUBLIC" {
                g.clone()
            } else {
                quote_ident(g)
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    let new: Vec<&(String, String)> = after.iter().filter(|r| !before.contains(r)).collect();
    let mut sql = Vec::new();
    let sequences = new.iter().filter(|(_, k)| k == "S").count();
    let revoked = |sql| Revoked {
        sql,
        tables: new.len() - sequences,
        sequences,
    };
    for kind in ["TABLE", "SEQUENCE"] {
        let names: Vec<String> = new
            .iter()
            .filter(|(_, k)| (k == "S") == (kind == "SEQUENCE"))
            .map(|(n, _)| format!("public.{}", quote_ident(n)))
            .collect();
        if !names.is_empty() {
            sql.push(format!(
                "REVOKE ALL ON {kind} {} FROM {from};",
                names.join(", ")
            ));
        }
    }
    if sql.is_empty() {
        return Ok(revoked(sql));
    }
    let mut tx = client.transaction()?;
    for s in &sql {
        tx.batch_execute(s)
            .with_context(|| format!("could not revoke the default grants: {s}"))?;
    }
    tx.commit()?;
    Ok(revoked(sql))
}
