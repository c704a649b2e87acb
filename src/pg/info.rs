//! What a connected server tells us: version, TLS, who we are, what we may do, what the
//! target database already holds. Read-only queries only.

pub use crate::data::pg::ServerInfo;
use anyhow::{Context, Result};

/// Ask the server about itself and the current database.
pub fn describe(client: &mut postgres::Client) -> Result<ServerInfo> {
    let row = client
        .query_one(
            "SELECT current_setting('server_version'), current_setting('server_version_num')::int,
                    current_user::text, current_database()::text,
                    pg_get_userbyid(d.datdba)::text,
                    r.rolsuper,
                    has_schema_privilege('public', 'USAGE'),
                    has_schema_privilege('public', 'CREATE'),
                    COALESCE((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false)
               FROM pg_database d, pg_roles r
              WHERE d.datname = current_database() AND r.rolname = current_user",
            &[],
        )
        .context("could not read the server's description")?;
    let tables = client
        .query(
            "SELECT c.relname::text, pg_get_userbyid(c.relowner)::text
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
              ORDER BY 1",
            &[],
        )
        .context("could not list the tables of schema public")?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    Ok(ServerInfo {
        version: row.get(0),
        version_num: row.get(1),
        user: row.get(2),
        database: row.get(3),
        database_owner: row.get(4),
        is_superuser: row.get(5),
        schema_usage: row.get(6),
        schema_create: row.get(7),
        tls: row.get(8),
        tables,
        provider: None,
        timeouts: Vec::new(),
    })
}

/// The role's or database's timeouts that are set (`statement_timeout`,
/// `idle_in_transaction_session_timeout`), as `(name, value)`, read on a session that did
/// not override them: the first one Connect opens (through a pool, a server session of the
/// same role and database). dj2pg's own later sessions override them
/// ([`crate::pg::SESSION_DEFAULTS`]); Django's migrate runs under them.
pub fn timeouts(client: &mut postgres::Client) -> Vec<(String, String)> {
    client
        .query(
            "SELECT name::text, current_setting(name) FROM pg_settings
              WHERE name IN ('statement_timeout', 'idle_in_transaction_session_timeout')
                AND setting <> '0' ORDER BY 1",
            &[],
        )
        .map(|rows| rows.iter().map(|r| (r.get(0), r.get(1))).collect())
        .unwrap_or_default()
}
