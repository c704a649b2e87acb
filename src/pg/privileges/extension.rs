//! The `vector` extension as a Fix permissions item: when a column becomes a pgvector
//! column and the app database lacks the extension, the admin creates it — pgvector is not
//! a trusted extension, so the app role cannot — with the provider's rule stated
//! (`pg::provider::vector_rule`). The statement is put first in every recipe, so it runs as
//! the admin, connected to the app database, in the recipe's transaction.

use crate::data::privileges::{ExtensionNeed, Recipe};
use crate::pg::{ConnConfig, Secret};
use anyhow::{Result, anyhow};

/// `None` when the app database has the extension; else what is missing and who may create
/// it. Looked at as the app role (the catalog is readable by every role).
pub fn vector_need(
    app: &ConnConfig,
    app_pw: Option<&Secret>,
    provider: Option<&str>,
) -> Result<Option<ExtensionNeed>> {
    let mut c = app
        .connect(app_pw)
        .map_err(|e| anyhow!("connection as {}: {e}", app.user))?;
    let installed = c
        .query_opt("SELECT 1 FROM pg_extension WHERE extname = 'vector'", &[])?
        .is_some();
    if installed {
        return Ok(None);
    }
    let available = c
        .query_opt(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'vector'",
            &[],
        )?
        .is_some();
    let (rule, schema) = crate::pg::provider::vector_rule(provider);
    let sql = match schema {
        Some(s) => format!(
            "CREATE EXTENSION IF NOT EXISTS vector SCHEMA {}",
            crate::pg::quote_ident(s)
        ),
        None => "CREATE EXTENSION IF NOT EXISTS vector".to_string(),
    };
    Ok(Some(ExtensionNeed {
        name: "vector".into(),
        sql,
        available,
        rule,
    }))
}

/// Every recipe creates the extension first; none can when the server does not offer it.
pub fn add_to_recipes(need: &ExtensionNeed, recipes: &mut [Recipe]) {
    for r in recipes {
        r.sql.insert(0, need.sql.clone());
        r.extension = Some(need.name.clone());
        if !need.available && r.available.is_ok() {
            r.available = Err(format!(
                "this server has no pgvector (no 'vector' in pg_available_extensions): choose a \
                 server or plan with pgvector, or keep the embeddings ({})",
                need.rule
            ));
        }
    }
}

/// The re-check after a recipe that created `name`: is it in the app database now, as the
/// app role sees it?
pub fn extension_check(
    app: &ConnConfig,
    app_pw: Option<&Secret>,
    name: &str,
) -> Result<crate::data::privileges::Check> {
    let mut c = app
        .connect(app_pw)
        .map_err(|e| anyhow!("connection as {}: {e}", app.user))?;
    let db: String = c.query_one("SELECT current_database()::text", &[])?.get(0);
    let ok = c
        .query_opt("SELECT 1 FROM pg_extension WHERE extname = $1", &[&name])?
        .is_some();
    Ok(crate::data::privileges::Check {
        kind: crate::data::privileges::CheckKind::Extension,
        name: format!("extension {name} in database {db}"),
        ok,
        detail: if ok {
            format!("{name} is installed in {db}")
        } else {
            format!(
                "{name} is still not installed in {db}: the recipe's CREATE EXTENSION did not take effect there"
            )
        },
    })
}
