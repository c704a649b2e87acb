//! The checks of a [`Goal`], made from the facts: pure, so the wording and the verdicts are
//! unit-tested without a server.

use crate::data::privileges::{AppFacts, Check, CheckKind, Goal};

/// The diagnosis table for `goal`, in the order the screen shows it.
pub fn checks_for(goal: &Goal, database: &str, database_owner: &str, app: &AppFacts) -> Vec<Check> {
    let role = &app.role;
    let schema = goal.schema();
    let mut checks = vec![Check {
        kind: CheckKind::Connect,
        name: format!("CONNECT on database \"{database}\""),
        ok: app.connect,
        detail: match (&app.connect_error, app.connect) {
            (Some(e), _) => format!("{role} could not connect: {e}"),
            (None, true) => format!("{role} may connect to {database}"),
            (None, false) => format!("{role} has no CONNECT privilege on {database}"),
        },
    }];
    if !app.schema_exists {
        checks.push(Check {
            kind: CheckKind::SchemaExists,
            name: format!("schema \"{schema}\" exists"),
            ok: false,
            detail: format!("database {database} has no schema {schema}"),
        });
        return checks;
    }
    checks.push(Check {
        kind: CheckKind::SchemaUsage,
        name: format!("USAGE on schema \"{schema}\""),
        ok: app.is_superuser || app.schema_usage,
        detail: if app.schema_usage || app.is_superuser {
            format!("{role} may look up objects in {schema}")
        } else {
            format!("{role} may not even see the tables in {schema}")
        },
    });
    match goal {
        Goal::AppOwnsTables { .. } => {
            let ok = app.is_superuser || app.schema_create;
            let detail = if ok {
                format!("{role} may create tables in {schema}: Django's migrate can run as {role}")
            } else if schema == "public" {
                format!(
                    "{role} may not create tables in public, so Django's migrate would stop \
                     with \"permission denied for schema public\" (the MigrationSchemaMissing \
                     error). Since PostgreSQL 15 only the database owner ({database_owner}) \
                     may create in public unless it grants CREATE"
                )
            } else {
                format!("{role} may not create tables in {schema}")
            };
            checks.push(Check {
                kind: CheckKind::SchemaCreate,
                name: format!("CREATE on schema \"{schema}\""),
                ok,
                detail,
            });
            checks.push(Check {
                kind: CheckKind::TablesOwned,
                name: format!("{role} owns the existing tables in \"{schema}\""),
                ok: app.is_superuser || app.not_owned.is_empty(),
                detail: if app.not_owned.is_empty() {
                    format!("no object in {schema} belongs to another role")
                } else {
                    format!(
                        "{} object(s) belong to other roles, and migrate as {role} could not \
                         alter them: {}",
                        app.not_owned.len(),
                        list(
                            app.not_owned
                                .iter()
                                .map(|o| format!("{} {} (owner {})", o.kind, o.name, o.owner))
                        )
                    )
                },
            });
        }
        Goal::RuntimeRole { admin, .. } => {
            let admin_ok = app.admin_schema_create.unwrap_or(false);
            checks.push(Check {
                kind: CheckKind::AdminCreate,
                name: format!("{admin} may create in schema \"{schema}\""),
                ok: admin_ok,
                detail: if admin_ok {
                    format!("{admin} runs migrate and owns the tables")
                } else {
                    format!(
                        "{admin} may not create tables in {schema}, so migrate as {admin} fails"
                    )
                },
            });
            checks.push(Check {
                kind: CheckKind::TableAccess,
                name: format!("{role} may read and write every table and sequence"),
                ok: app.is_superuser || app.no_access.is_empty(),
                detail: if app.no_access.is_empty() {
                    format!("SELECT, INSERT, UPDATE, DELETE on every table in {schema}")
                } else {
                    format!(
                        "missing SELECT/INSERT/UPDATE/DELETE (sequences: USAGE/SELECT) on {}",
                        list(app.no_access.iter().cloned())
                    )
                },
            });
            checks.push(Check {
                kind: CheckKind::DefaultPrivileges,
                name: format!("default privileges for tables {admin} creates later"),
                ok: app.is_superuser || app.default_privileges_from_admin,
                detail: if app.default_privileges_from_admin {
                    format!("tables and sequences later migrations create are granted to {role}")
                } else {
                    format!(
                        "GRANT ... ON ALL TABLES covers only today's tables: without ALTER \
                         DEFAULT PRIVILEGES FOR ROLE {admin}, {role} cannot use tables a later \
                         migration creates"
                    )
                },
            });
        }
    }
    checks
}

/// One or two sentences: what the next steps need, and what is missing.
pub fn summary(goal: &Goal, database: &str, role: &str, checks: &[Check]) -> String {
    let schema = goal.schema();
    let need = match goal {
        Goal::AppOwnsTables { .. } => format!(
            "Django's migrate runs as {role}: it needs CONNECT on {database}, USAGE and CREATE \
             on schema {schema}, and must own any table already there; the copy then runs as \
             {role}, the tables' owner."
        ),
        Goal::RuntimeRole { admin, .. } => format!(
            "migrate and the copy run as {admin}; {role} needs USAGE on schema {schema}, \
             SELECT, INSERT, UPDATE, DELETE on every table (also future ones) and USAGE, SELECT \
             on the sequences."
        ),
    };
    let missing: Vec<&str> = checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| c.name.as_str())
        .collect();
    if missing.is_empty() {
        format!("{need} Nothing is missing: no fix needed.")
    } else {
        format!("{need} Missing: {}.", missing.join("; "))
    }
}

/// At most five items, then "and N more".
fn list(items: impl Iterator<Item = String>) -> String {
    let items: Vec<String> = items.collect();
    let mut text = items.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
    if items.len() > 5 {
        text.push_str(&format!(" and {} more", items.len() - 5));
    }
    text
}
