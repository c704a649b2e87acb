//! Fix permissions: diagnose what the app role may do in the app database, offer recipes whose
//! availability is predicted from the admin's capabilities, run one, and re-check.
//!
//! Invariants:
//! - every check and every fix happens **connected to the app database**: schema privileges
//!   live per database, and a `GRANT ... ON SCHEMA public` run in `defaultdb` succeeds and
//!   changes nothing in `appdb`. [`diagnose`] and [`apply`] take the admin's connection settings
//!   but always connect to the app's database; [`recheck`] connects as the app role;
//! - recipes are decided from `rolsuper`, `rolcreaterole`, `pg_has_role(...)` and the catalog's
//!   membership columns, never from the version number (see [`recipes`]);
//! - SQL shown and run quotes every identifier with postgres-protocol's escaping, and never
//!   holds a password; the DBA script ([`dba_script`]) is safe to save.

mod apply;
mod checks;
mod extension;
mod facts;
mod recipes;

pub use apply::{apply, dba_script, execute};
pub use checks::{checks_for, summary};
pub use extension::{add_to_recipes, vector_need};
pub use recipes::{recipes, search_path_option, search_path_value};

use super::{ConnConfig, Secret};
use crate::data::privileges::{Diagnosis, Goal, Recheck};
use anyhow::{Context, Result, anyhow};

/// How a failure to log in as the admin begins, so the wizard can point at the admin login.
pub const ADMIN_CONNECTION: &str = "admin connection";

/// Diagnose `schema` (`public` unless the user chose another) for the app role, connected to
/// the app's database (`app.dbname`). The app role's part runs as the app role; when it cannot
/// connect for lack of CONNECT, that is a finding, and its privileges are read through the
/// admin. `admin` (same server; its `dbname` is ignored) adds the admin's capabilities, which
/// decide the recipes. Fails on a wrong password, an unknown role or an unreachable server.
pub fn diagnose(
    app: &ConnConfig,
    app_pw: Option<&Secret>,
    admin: Option<(&ConnConfig, Option<&Secret>)>,
    schema: &str,
    log: &mut dyn FnMut(String),
) -> Result<Diagnosis> {
    let db = &app.dbname;
    let mut admin_client = match admin {
        Some((cfg, pw)) => {
            let cfg = cfg.with_dbname(db);
            log(format!("connecting as {} to {db}", cfg.user));
            Some(
                cfg.connect(pw)
                    .map_err(|e| anyhow!("{ADMIN_CONNECTION} ({}): {e}", cfg.user))?,
            )
        }
        None => None,
    };
    log(format!("connecting as {} to {db}", app.user));
    let (mut app_client, connect_error) = match app.connect(app_pw) {
        Ok(c) => (Some(c), None),
        // No CONNECT privilege: a finding, not a failure, if the admin can look instead.
        Err(e)
            if admin_client.is_some() && e.message.contains("permission denied for database") =>
        {
            (None, Some(e.message))
        }
        Err(e) => return Err(anyhow!("connection as {}: {e}", app.user)),
    };
    let client = match (app_client.as_mut(), admin_client.as_mut()) {
        (Some(c), _) | (None, Some(c)) => c,
        (None, None) => return Err(anyhow!("no connection to {db}")),
    };
    let dbf = facts::db_facts(client)?;
    let admin_name = admin.map(|(cfg, _)| cfg.user.as_str());
    let mut app_facts = facts::app_facts(client, &app.user, schema, admin_name)?;
    if let Some(e) = connect_error {
        app_facts.connect = false;
        app_facts.connect_error = Some(e);
    }
    let admin_facts = match admin_client.as_mut() {
        Some(c) => Some(facts::admin_facts(c, &app.user, schema)?),
        None => None,
    };
    let goal = Goal::AppOwnsTables {
        schema: schema.to_string(),
    };
    let checks = checks::checks_for(&goal, &dbf.database, &dbf.owner, &app_facts);
    let summary = checks::summary(&goal, &dbf.database, &app.user, &checks);
    log(summary.clone());
    Ok(Diagnosis {
        server_version: dbf.version,
        server_version_num: dbf.version_num,
        database: dbf.database,
        database_owner: dbf.owner,
        schema: schema.to_string(),
        schemas: dbf.schemas,
        app: app_facts,
        admin: admin_facts,
        checks,
        summary,
        extension: None,
    })
}

/// The checks of `goal`, made as the app role connected to the app database: after a fix, or
/// when the user presses "re-check" after a DBA ran the saved script. Needs no admin.
pub fn recheck(goal: &Goal, app: &ConnConfig, app_pw: Option<&Secret>) -> Result<Recheck> {
    let mut client = app
        .connect(app_pw)
        .map_err(|e| anyhow!("connection as {}: {e}", app.user))?;
    let dbf = facts::db_facts(&mut client)?;
    let admin = match goal {
        Goal::RuntimeRole { admin, .. } => Some(admin.as_str()),
        Goal::AppOwnsTables { .. } => None,
    };
    let facts = facts::app_facts(&mut client, &app.user, goal.schema(), admin)
        .with_context(|| format!("re-checking as {} in {}", app.user, dbf.database))?;
    let checks = checks::checks_for(goal, &dbf.database, &dbf.owner, &facts);
    Ok(Recheck {
        goal: goal.clone(),
        database: dbf.database,
        effective: checks.iter().all(|c| c.ok),
        checks,
    })
}

#[cfg(test)]
pub(crate) mod tests;
