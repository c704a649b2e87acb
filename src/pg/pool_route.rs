//! Is the target a connection pool, and where is the server behind it?
//!
//! PgBouncer in transaction mode (DigitalOcean's pools on 25061, Supabase's Supavisor on
//! 6543, Azure's built-in PgBouncer on 6432, Neon's `-pooler` hosts) refuses startup
//! `options`, hands each transaction to whichever server connection is free, and its database
//! name may be the pool's own. Django's `migrate` and the copy's long COPY transactions need
//! the server itself, so they run over the direct connection; the app's settings keep the
//! pool.
//!
//! The one place pools are recognised. Signs, on the connection to the target: the
//! provider's pool port or host; the startup `options` refused
//! ([`refused_startup_options`]) or ignored (`TimeZone` is not the `UTC` dj2pg asked for); the database
//! behind it (`current_database()`) not the URL's. The server's own port
//! (`inet_server_port()`) differing from the one dialled is a weaker sign (a port forward
//! looks the same): it counts only when that port answers as the same database. Never the
//! host name alone: every candidate for the direct connection is connected to and checked.

use super::{ConnConfig, ConnectError, Field, Secret};
use crate::data::pg::PoolRoute;

/// What the provider's pool looks like, and where its direct connection usually is.
struct Known {
    reason: &'static str,
    host: Option<String>,
    port: u16,
}

/// The provider's pool, recognised from the port or the host's shape.
fn known_pool(config: &ConnConfig) -> Option<Known> {
    let host = config.host.to_ascii_lowercase();
    if let Some(direct) = host.split_once("-pooler.").map(|(a, b)| format!("{a}.{b}")) {
        return Some(Known {
            reason: "the host is a Neon pooler (-pooler)",
            host: Some(direct),
            port: config.port,
        });
    }
    Some(match config.port {
        25061 => Known {
            reason: "port 25061 is DigitalOcean's connection-pool port",
            host: None,
            port: 25060,
        },
        6543 => Known {
            reason: "port 6543 is Supabase's transaction pooler (Supavisor)",
            // Its session mode, on the same host: one server connection per client.
            host: None,
            port: 5432,
        },
        6432 => Known {
            reason: "port 6432 is PgBouncer's (Azure's built-in pool among others)",
            host: None,
            port: 5432,
        },
        _ => return None,
    })
}

/// A pool's refusal of the startup `options` dj2pg sends (PgBouncer: `unsupported startup
/// parameter: options`): the login is tried again without them, and the session that gets
/// in only serves [`route`] to recognise the pool. The one place a pool is told from its
/// error.
pub fn refused_startup_options(message: &str) -> bool {
    message.contains("unsupported startup parameter")
}

/// Look at the open connection to `target` and, when it is a pool, find and check the
/// direct connection (`given`: `--direct-url` or the Connect form's Direct field, tried
/// first; then the admin's host and port, the provider's direct port, the server's own
/// port). `Ok(None)`: not a pool. When none answers, the error points at
/// [`Field::Direct`]: the wizard asks for it once.
pub fn route(
    target: &ConnConfig,
    given: Option<&ConnConfig>,
    admin: Option<&ConnConfig>,
    password: Option<&Secret>,
    client: &mut postgres::Client,
) -> Result<Option<(PoolRoute, postgres::Client)>, ConnectError> {
    let row = client
        .query_one(
            "SELECT current_database()::text, inet_server_port(), current_setting('TimeZone')",
            &[],
        )
        .map_err(|e| ConnectError {
            field: Field::Host,
            message: format!("could not ask the server about itself: {e}"),
        })?;
    let database: String = row.get(0);
    let server_port: Option<i32> = row.get(1);
    let time_zone: String = row.get(2);
    let known = known_pool(target);
    let mut strong: Vec<String> = Vec::new();
    if let Some(k) = &known {
        strong.push(k.reason.to_string());
    }
    if time_zone != "UTC" {
        strong.push(
            "it refused or ignored the session settings sent at login (startup options)".into(),
        );
    }
    if database != target.dbname {
        strong.push(format!(
            "the database behind {:?} is {database:?}",
            target.dbname
        ));
    }
    let server_port = server_port.and_then(|p| u16::try_from(p).ok());
    let weak = server_port.filter(|p| *p != target.port);
    if strong.is_empty() && weak.is_none() && given.is_none() {
        return Ok(None);
    }
    // Candidates for the direct connection, best first.
    let same = |host: Option<&str>, port: u16| ConnConfig {
        host: host.unwrap_or(&target.host).to_string(),
        port,
        dbname: database.clone(),
        options: target.options.clone(),
        ..target.clone()
    };
    let mut candidates: Vec<(ConnConfig, String)> = Vec::new();
    if let Some(g) = given {
        candidates.push((g.clone(), "given with --direct-url".into()));
    }
    if let Some(a) = admin.filter(|a| (a.host.as_str(), a.port) != (&target.host, target.port)) {
        candidates.push((
            same(Some(a.host.as_str()), a.port),
            "the admin URL's host and port".into(),
        ));
    }
    if let Some(k) = &known {
        candidates.push((
            same(k.host.as_deref(), k.port),
            "the provider's direct port".into(),
        ));
    }
    if let Some(p) = server_port.filter(|p| *p != target.port) {
        candidates.push((
            same(None, p),
            "the server's own port behind the pool".into(),
        ));
    }
    let mut tried: Vec<String> = Vec::new();
    for (candidate, from) in candidates {
        match check_direct(&candidate, password, &database) {
            Ok(direct_client) => {
                let mut reason = strong.clone();
                if reason.is_empty() {
                    reason.push(format!(
                        "the server listens on port {} behind port {}",
                        candidate.port, target.port
                    ));
                }
                return Ok(Some((
                    PoolRoute {
                        reason: reason.join("; "),
                        database: database.clone(),
                        direct: candidate,
                        direct_from: from,
                    },
                    direct_client,
                )));
            }
            Err(e) => tried.push(format!("{} ({from}): {e}", candidate.display_url())),
        }
    }
    if strong.is_empty() {
        // Only the port differed and nothing answers there: a port forward, not a pool.
        return Ok(None);
    }
    Err(ConnectError {
        field: Field::Direct,
        message: format!(
            "{}:{} is a connection pool ({}): dj2pg creates the schema and copies over the \
             direct connection, but {}. Give the provider's direct connection string (the \
             same role and database, without the pool)",
            target.host,
            target.port,
            strong.join("; "),
            if tried.is_empty() {
                "it is not known for this server".to_string()
            } else {
                format!("it did not answer: {}", tried.join("; "))
            }
        ),
    })
}

/// Connect to a candidate with dj2pg's session settings and check that it is the server
/// itself behind the pool: the settings apply and the database is the same.
fn check_direct(
    candidate: &ConnConfig,
    password: Option<&Secret>,
    database: &str,
) -> anyhow::Result<postgres::Client> {
    let mut client = candidate
        .connect(password)
        .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    let row = client.query_one(
        "SELECT current_database()::text, current_setting('TimeZone')",
        &[],
    )?;
    let (db, tz): (String, String) = (row.get(0), row.get(1));
    if tz != "UTC" {
        anyhow::bail!("it is a pool too (it did not apply the session settings)");
    }
    if db != database {
        anyhow::bail!("it is database {db:?}, not {database:?}");
    }
    Ok(client)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(url: &str) -> ConnConfig {
        ConnConfig::from_url(url).unwrap().0
    }

    #[test]
    fn providers_pools_are_known_with_their_direct_connection() {
        let k = known_pool(&config("postgresql://u@db-x.ondigitalocean.com:25061/pool")).unwrap();
        assert_eq!((k.host, k.port), (None, 25060));
        let k = known_pool(&config(
            "postgresql://postgres.ref@aws-0-eu-central-1.pooler.supabase.com:6543/postgres",
        ))
        .unwrap();
        assert_eq!(k.port, 5432);
        let k = known_pool(&config(
            "postgresql://u@ep-x-123-pooler.eu-central-1.aws.neon.tech/neondb",
        ))
        .unwrap();
        assert_eq!(
            k.host.as_deref(),
            Some("ep-x-123.eu-central-1.aws.neon.tech")
        );
        assert!(known_pool(&config("postgresql://u@db.example.com:5432/app")).is_none());
    }
}
