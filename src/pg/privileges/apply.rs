//! Running a recipe as the admin, in one transaction, in the app database; and the same SQL as
//! a script for a DBA.

use super::recheck;
use crate::data::privileges::{ApplyReport, Diagnosis, Recipe};
use crate::pg::{ConnConfig, Secret};
use anyhow::{Result, anyhow, bail};
use std::path::Path;

/// Run `recipe` as the admin connected to the app database (`recipe.database`; the admin's own
/// `dbname` is ignored), in one transaction, then re-check its goal as the app role connected
/// to the app database. An unavailable recipe is not tried: its reason is the error. A fix
/// that ran but left a check failing comes back with `recheck.effective == false`.
pub fn apply(
    recipe: &Recipe,
    app: &ConnConfig,
    app_pw: Option<&Secret>,
    admin: &ConnConfig,
    admin_pw: Option<&Secret>,
    log: &mut dyn FnMut(String),
) -> Result<ApplyReport> {
    if let Err(reason) = &recipe.available {
        bail!(
            "recipe {} ({}) cannot work here: {reason}",
            recipe.id.letter(),
            recipe.id.as_str()
        );
    }
    let ran_in = execute(admin, admin_pw, &recipe.database, &recipe.sql, log)?;
    log(format!(
        "re-checking as {} in {}",
        app.user, recipe.database
    ));
    let app_in = app.with_dbname(&recipe.database);
    let mut recheck = recheck(&recipe.goal, &app_in, app_pw)?;
    if let Some(name) = &recipe.extension {
        let check = super::extension::extension_check(&app_in, app_pw, name)?;
        recheck.effective &= check.ok;
        recheck.checks.push(check);
    }
    for c in recheck.checks.iter().filter(|c| !c.ok) {
        log(format!("still missing: {}: {}", c.name, c.detail));
    }
    Ok(ApplyReport {
        recipe: recipe.id,
        sql: recipe.sql.clone(),
        ran_in,
        recheck,
    })
}

/// Run `sql` as `admin` connected to `database`, statement by statement in one transaction
/// (all or nothing), logging each. Returns the session's `current_database()`. A failing
/// statement rolls everything back and the error quotes it with the server's message.
pub fn execute(
    admin: &ConnConfig,
    admin_pw: Option<&Secret>,
    database: &str,
    sql: &[String],
    log: &mut dyn FnMut(String),
) -> Result<String> {
    let cfg = admin.with_dbname(database);
    let mut client = cfg.connect(admin_pw).map_err(|e| {
        anyhow!(
            "{} ({} to {database}): {e}",
            super::ADMIN_CONNECTION,
            cfg.user
        )
    })?;
    let mut tx = client.transaction()?;
    let ran_in: String = tx.query_one("SELECT current_database()::text", &[])?.get(0);
    for stmt in sql {
        log(format!("{stmt};"));
        if let Err(e) = tx.batch_execute(stmt) {
            let why = match e.as_db_error() {
                Some(db) => {
                    let mut m = format!("{}: {}", db.severity(), db.message());
                    if let Some(d) = db.detail() {
                        m.push_str(&format!(" ({d})"));
                    }
                    if stmt.starts_with("CREATE EXTENSION")
                        && *db.code() == postgres::error::SqlState::INSUFFICIENT_PRIVILEGE
                    {
                        m.push_str(&format!(
                            ". {} may not create it: an extension that is not trusted (pgvector \
                             is not) needs a superuser or the provider's admin (DigitalOcean: \
                             doadmin; Amazon RDS: a member of rds_superuser; Cloud SQL: \
                             cloudsqlsuperuser); log in as one",
                            cfg.user
                        ));
                    }
                    m
                }
                None => e.to_string(),
            };
            log(format!("failed, rolled back: {why}"));
            bail!("{stmt}: {why} (nothing was changed: the transaction was rolled back)");
        }
    }
    tx.commit()?;
    log(format!("committed in {ran_in}"));
    Ok(ran_in)
}

/// The recipe as a psql script for a DBA, to be saved at `path`: it connects to the app
/// database itself (the mistake of running it in `defaultdb` cannot happen), stops at the
/// first error, and runs in one transaction. Its header holds the psql command that runs
/// it, quoted for the shell with the file's real path. No secrets: roles, database and host
/// only.
pub fn dba_script(recipe: &Recipe, diag: &Diagnosis, app: &ConnConfig, path: &Path) -> String {
    let admin = diag
        .admin
        .as_ref()
        .map_or("an admin (e.g. doadmin)", |a| a.role.as_str());
    let mut s = format!(
        "-- dj2pg, Fix permissions: recipe {} ({}): {}\n",
        recipe.id.letter(),
        recipe.id.as_str(),
        recipe.title
    );
    for line in wrap(&recipe.explanation, 90) {
        s.push_str(&format!("-- {line}\n"));
    }
    let conninfo = [
        ("host", app.host.as_str()),
        ("port", &app.port.to_string()),
        ("dbname", recipe.database.as_str()),
        ("user", "ADMIN"),
        ("sslmode", app.sslmode.as_str()),
    ]
    .iter()
    .map(|(k, v)| format!("{k}={}", conninfo_value(v)))
    .collect::<Vec<_>>()
    .join(" ");
    let psql = crate::shell::command([
        "psql",
        conninfo.as_str(),
        "-f",
        &crate::shell::path_word(path),
    ]);
    s.push_str(&format!(
        "--\n-- Run as {admin} or a superuser (ADMIN below), e.g.:\n--   {psql}\n"
    ));
    s.push_str(&format!(
        "-- It must run in database {}, not defaultdb: schema grants are per database.\n",
        recipe.database
    ));
    s.push_str(
        "-- Then check again: the key c on the dj2pg wizard's Fix permissions step, or the \
         same `dj2pg migrate` command run again.\n\n",
    );
    s.push_str("\\set ON_ERROR_STOP on\n");
    s.push_str(&format!(
        "\\connect '{}'\n",
        recipe.database.replace('\'', "''")
    ));
    s.push_str("BEGIN;\n");
    for stmt in &recipe.sql {
        s.push_str(stmt);
        s.push_str(";\n");
    }
    s.push_str("COMMIT;\n");
    s
}

/// A value of a libpq connection string: quoted (`'…'`, with `\` escapes) when it is
/// empty or holds a space, a quote or a backslash.
fn conninfo_value(v: &str) -> String {
    if !v.is_empty() && !v.contains([' ', '\'', '\\', '\t', '\n']) {
        return v.to_string();
    }
    format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"))
}

fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let last = lines.last_mut().map(|l| l.chars().count()).unwrap_or(0);
        if last > 0 && last + 1 + word.chars().count() > width {
            lines.push(String::new());
        }
        if let Some(l) = lines.last_mut() {
            if !l.is_empty() {
                l.push(' ');
            }
            l.push_str(word);
        }
    }
    lines
}
