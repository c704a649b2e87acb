//! Connection pools in front of the server. PgBouncer (and DigitalOcean's pools, which are
//! PgBouncer on port 25061) reject startup parameters such as `options` and, in transaction
//! mode, break `migrate` and long COPY transactions: the schema and the copy need the direct
//! port (DigitalOcean: 25060).
//!
//! Signs, cheapest first: the port ([`pool_by_port`]); a connection refused with PgBouncer's
//! `unsupported startup parameter` ([`pool_from_error`]); and, once connected, the server
//! reporting a different port than the one dialled (`inet_server_port()`), which is what any
//! pool or proxy on another port looks like ([`detect_pool`]).

use crate::data::privileges::PoolFinding;
use crate::pg::{ConnConfig, Secret};
use anyhow::Result;

/// DigitalOcean's pool port.
const DO_POOL_PORT: u16 = 25061;
/// DigitalOcean's direct port.
const DO_DIRECT_PORT: u16 = 25060;
/// PgBouncer's default port.
const PGBOUNCER_PORT: u16 = 6432;

fn advice(direct: Option<u16>) -> String {
    let port = direct.map_or("the server's direct port".to_string(), |p| {
        format!("port {p}")
    });
    format!(
        "Connection pools reject startup parameters and break migrations and long COPY \
         transactions: use {port} for the schema and the copy. If the app keeps using the pool \
         at run time, its settings need DISABLE_SERVER_SIDE_CURSORS = True."
    )
}

/// A pool recognised from the port alone (DigitalOcean's 25061, PgBouncer's 6432).
pub fn pool_by_port(config: &ConnConfig) -> Option<PoolFinding> {
    let (reason, direct) = match config.port {
        DO_POOL_PORT => (
            "port 25061 is DigitalOcean's connection-pool port (and the database name there is \
             the pool's name)",
            Some(DO_DIRECT_PORT),
        ),
        PGBOUNCER_PORT => ("port 6432 is PgBouncer's default port", None),
        _ => return None,
    };
    Some(PoolFinding {
        reason: reason.into(),
        direct_port: direct,
        advice: advice(direct),
    })
}

/// A pool recognised from a connection error (PgBouncer refuses unknown startup parameters).
pub fn pool_from_error(config: &ConnConfig, message: &str) -> Option<PoolFinding> {
    let lower = message.to_lowercase();
    if !(lower.contains("unsupported startup parameter") || lower.contains("pgbouncer")) {
        return None;
    }
    let direct = (config.port == DO_POOL_PORT).then_some(DO_DIRECT_PORT);
    Some(PoolFinding {
        reason: format!("the server answered like PgBouncer: {message}"),
        direct_port: direct,
        advice: advice(direct),
    })
}

/// On an open connection: the server's own port differs from the one dialled, so something
/// (a pool, a proxy) sits in between.
pub fn detect_pool(
    config: &ConnConfig,
    client: &mut postgres::Client,
) -> Result<Option<PoolFinding>> {
    let port: Option<i32> = client.query_one("SELECT inet_server_port()", &[])?.get(0);
    Ok(match port {
        Some(p) if p != i32::from(config.port) => {
            let direct = u16::try_from(p).ok();
            Some(PoolFinding {
                reason: format!(
                    "dialled port {} but the server listens on port {p}: a connection pool or \
                     proxy is in between",
                    config.port
                ),
                direct_port: direct,
                advice: advice(direct),
            })
        }
        _ => pool_by_port(config),
    })
}

/// All the signs: connect (a refusal that looks like PgBouncer is a finding, other connection
/// errors are errors), then [`detect_pool`].
pub fn check_pool(config: &ConnConfig, password: Option<&Secret>) -> Result<Option<PoolFinding>> {
    match config.connect(password) {
        Ok(mut client) => detect_pool(config, &mut client),
        Err(e) => match pool_from_error(config, &e.message) {
            Some(f) => Ok(Some(f)),
            None => Err(e.into()),
        },
    }
}
