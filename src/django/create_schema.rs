//! Create schema: Django's `migrate` on PostgreSQL through the overlay, as the role that will
//! own the tables, the password in the child's environment only, the log streamed; a failure
//! is typed ([`MigrateFailure`]) so the state machine can send the user to the step that
//! fixes it (Fix permissions for `permission denied for schema`, Connect for a bad password).

pub use crate::data::commands::CreateSchemaInput;
use crate::data::commands::{CreateSchemaReport, MigrateFailure};
use crate::django::commands::{Scrubber, run_streamed};
use crate::django::driver::check_driver;
use crate::django::dry_run::display;
use crate::django::overlay::{Overlay, PgTarget};
use crate::pg::Secret;
use anyhow::Result;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// Check the driver, then run `migrate --noinput` on PostgreSQL. A failed `migrate` is a
/// report with its log and a [`MigrateFailure`]; an error means nothing could be run.
pub fn create_schema(
    input: CreateSchemaInput,
    password: Option<Secret>,
    on_line: &mut dyn FnMut(String),
    cancel: Arc<AtomicBool>,
) -> Result<CreateSchemaReport> {
    let driver = check_driver(&input.python)?;
    // Django's migrate runs under the role's or database's timeouts (dj2pg's own sessions
    // override them): said before it starts.
    let warnings: Vec<String> = (!input.timeouts.is_empty())
        .then(|| crate::data::pg::timeouts_note(&input.timeouts))
        .into_iter()
        .collect();
    for w in &warnings {
        on_line(format!("note: {w}"));
    }
    if driver.driver.is_none() {
        return Ok(CreateSchemaReport {
            driver,
            migrate: None,
            failure: Some(MigrateFailure::DriverMissing),
            warnings,
            names: None,
        });
    }
    let overlay = Overlay::write(&input.project_dir, &input.settings_module)?;
    let password = input.target.resolve_password(password.as_ref());
    let scrub = Scrubber::new(password.as_ref().map(Secret::expose));
    let pg = PgTarget {
        config: input.target.clone(),
        password,
        search_path: input.search_path.clone(),
    };
    let args = ["migrate", "--noinput"];
    let shown = format!(
        "{}   (on {})",
        display(&input.python, &args),
        input.target.display_url()
    );
    on_line(format!("$ {shown}"));
    let migrate = run_streamed(
        overlay.command(&input.python, Some(&pg), &args),
        &shown,
        &scrub,
        on_line,
        &cancel,
    )?;
    let failure = if migrate.succeeded() || migrate.cancelled() {
        None
    } else {
        Some(classify(&migrate.text()))
    };
    // The copy matches the two databases through Django's names (a model's table over 63
    // characters has another name on PostgreSQL); without them it falls back on the rules.
    let names = if failure.is_none() && migrate.succeeded() {
        match crate::django::model_names(&input.python, &input.project_dir, &input.settings_module)
        {
            Ok(names) => {
                let renamed = names.tables.iter().filter(|t| t.sqlite != t.pg).count();
                on_line(format!(
                    "Django named {} model table(s){}",
                    names.tables.len(),
                    if renamed > 0 {
                        format!(
                            ", {renamed} of them differently on PostgreSQL (names over 63 characters)"
                        )
                    } else {
                        String::new()
                    }
                ));
                Some(names)
            }
            Err(e) => {
                on_line(format!(
                    "could not ask Django for the models' names ({e:#}): the copy matches tables by Django's naming rules instead"
                ));
                None
            }
        }
    } else {
        None
    };
    Ok(CreateSchemaReport {
        driver,
        migrate: Some(migrate),
        failure,
        warnings,
        names,
    })
}

/// Why `migrate` failed, from Django's and libpq's words.
pub fn classify(log: &str) -> MigrateFailure {
    // ASCII lowercasing keeps byte offsets, so a match in `lower` indexes `log` too.
    let lower = log.to_ascii_lowercase();
    if let Some(at) = lower.find("permission denied for schema ") {
        let start = at + "permission denied for schema ".len();
        let schema = log
            .get(start..)
            .and_then(|rest| rest.split(|c: char| c.is_whitespace() || c == ')').next())
            .map(|s| s.trim_matches('"').to_string())
            .filter(|s| !s.is_empty());
        return MigrateFailure::SchemaPermission { schema };
    }
    if lower.contains("migrationschemamissing") {
        return MigrateFailure::SchemaPermission { schema: None };
    }
    if lower.contains("password authentication failed")
        || lower.contains("no password supplied")
        || lower.contains("fe_sendauth")
    {
        return MigrateFailure::Authentication;
    }
    if lower.contains("canceling statement due to statement timeout")
        || lower.contains("idle-in-transaction timeout")
    {
        return MigrateFailure::Timeout;
    }
    if lower.contains("error loading psycopg") || lower.contains("no module named 'psycopg") {
        return MigrateFailure::DriverMissing;
    }
    const CONNECT: [&str; 8] = [
        "could not connect",
        "connection refused",
        "could not translate host name",
        "name or service not known",
        "timeout expired",
        "connection to server at",
        "server closed the connection",
        "ssl",
    ];
    if lower.contains("operationalerror") && CONNECT.iter().any(|m| lower.contains(m))
        || lower.contains("could not connect to server")
        || lower.contains("connection refused")
    {
        return MigrateFailure::CannotConnect;
    }
    MigrateFailure::Other
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_typed_from_the_log() {
        let schema = "django.db.migrations.exceptions.MigrationSchemaMissing: Unable to create the django_migrations table (permission denied for schema public\nLINE 1: CREATE TABLE \"django_migrations\" ...)";
        assert_eq!(
            classify(schema),
            MigrateFailure::SchemaPermission {
                schema: Some("public".into())
            }
        );
        assert_eq!(
            classify(
                "psycopg.OperationalError: connection failed: connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  password authentication failed for user \"app\""
            ),
            MigrateFailure::Authentication
        );
        assert_eq!(
            classify(
                "django.db.utils.OperationalError: connection failed: connection to server at \"127.0.0.1\", port 1 failed: Connection refused"
            ),
            MigrateFailure::CannotConnect
        );
        assert_eq!(
            classify(
                "django.core.exceptions.ImproperlyConfigured: Error loading psycopg2 or psycopg module"
            ),
            MigrateFailure::DriverMissing
        );
        assert_eq!(classify("ValueError: bad RunPython"), MigrateFailure::Other);
    }

    #[test]
    fn a_statement_cut_by_the_roles_timeout_is_named() {
        assert_eq!(
            classify(
                "django.db.utils.OperationalError: canceling statement due to statement timeout"
            ),
            MigrateFailure::Timeout
        );
    }
}
