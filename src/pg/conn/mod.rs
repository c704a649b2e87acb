//! Connection settings and connecting with TLS.
//!
//! `sslmode` follows libpq: `disable` never encrypts, `prefer` tries TLS first, `require`
//! encrypts without verifying the certificate, `verify-ca` verifies the chain against the CA
//! file, `verify-full` also checks the host name. The password is a [`Secret`]: it is never
//! serialized, and its `Debug`/`Display` are masked.

mod errors;

pub use crate::data::pg::{ChannelBinding, ConnConfig, ConnectError, Field, SslMode};
use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode};
use postgres_openssl::MakeTlsConnector;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// dj2pg's own sessions run without the role's or database's timeouts (Supabase sets a
/// 2-minute `statement_timeout` on `postgres`): a permission fix or a check on a busy server
/// is not cut off half way. Sent in the startup packet (no round trip); a pool refuses it,
/// and the session through the pool only recognises the pool.
pub const SESSION_DEFAULTS: &str =
    "-c statement_timeout=0 -c idle_in_transaction_session_timeout=0";

/// A password or other secret. Never printed, never saved.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }
    /// The secret itself, for the one place that needs it (the connection).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(****)")
    }
}

impl ConnConfig {
    /// How long a connection attempt may take, TCP, TLS and the startup exchange together
    /// (libpq's `connect_timeout`): the URL's parameter, else `$PGCONNECT_TIMEOUT`, else
    /// [`DEFAULT_CONNECT_TIMEOUT`]. As in libpq, 1 counts as 2 and 0 waits without end
    /// (`None`); Esc in the wizard and Ctrl-C/SIGTERM headless still stop it.
    pub fn connect_timeout(&self) -> Option<Duration> {
        let secs = match self.connect_timeout {
            Some(t) => i64::from(t),
            None => match std::env::var("PGCONNECT_TIMEOUT")
                .ok()
                .and_then(|v| v.trim().parse::<i64>().ok())
            {
                Some(t) => t,
                None => return Some(DEFAULT_CONNECT_TIMEOUT),
            },
        };
        match secs {
            ..=0 => None,
            1 => Some(Duration::from_secs(2)),
            n => Some(Duration::from_secs(n.unsigned_abs())),
        }
    }

    /// The same server as another role, or another database on it.
    pub fn with_user(&self, user: &str) -> ConnConfig {
        ConnConfig {
            user: user.into(),
            ..self.clone()
        }
    }

    pub fn with_dbname(&self, dbname: &str) -> ConnConfig {
        ConnConfig {
            dbname: dbname.into(),
            ..self.clone()
        }
    }

    /// The password to use: the one given, else `$PGPASSWORD`, else a matching `.pgpass` line.
    pub fn resolve_password(&self, given: Option<&Secret>) -> Option<Secret> {
        if let Some(p) = given {
            return Some(p.clone());
        }
        if let Ok(p) = std::env::var("PGPASSWORD") {
            return Some(Secret::new(p));
        }
        let pgpass = std::env::var_os("PGPASSFILE")
            .map(PathBuf::from)
            .or_else(|| directories::BaseDirs::new().map(|d| d.home_dir().join(".pgpass")))?;
        let text = std::fs::read_to_string(pgpass).ok()?;
        pgpass_lookup(&text, self).map(Secret::new)
    }

    /// Connect, mapping every failure to the field to fix. The session overrides the role's
    /// or database's timeouts ([`SESSION_DEFAULTS`]).
    pub fn connect(&self, password: Option<&Secret>) -> Result<postgres::Client, ConnectError> {
        self.connect_with(password, SESSION_DEFAULTS)
    }

    /// [`ConnConfig::connect`], with more server settings for the session in the startup
    /// packet (`-c name=value ...`, no round trip of their own).
    pub fn connect_with(
        &self,
        password: Option<&Secret>,
        options: &str,
    ) -> Result<postgres::Client, ConnectError> {
        self.connect_until(password, options, None)
    }

    /// [`ConnConfig::connect_with`] within [`ConnConfig::connect_timeout`], given up at once
    /// when `cancel` is set (Esc on the Connect screen) or a stop signal arrived
    /// ([`crate::interrupt`]).
    ///
    /// The `postgres` crate bounds only the TCP connect: its TLS handshake and startup
    /// exchange would wait without end on a server that accepts and never answers. So the
    /// attempt runs on a thread of its own and this one waits for it with the deadline. An
    /// abandoned attempt holds its socket until the server closes it (or the process ends);
    /// it never touches the run.
    pub fn connect_until(
        &self,
        password: Option<&Secret>,
        options: &str,
        cancel: Option<&AtomicBool>,
    ) -> Result<postgres::Client, ConnectError> {
        let started = Instant::now();
        match self.attempt(password, Some(options), cancel, started) {
            // A connection pool (PgBouncer in transaction mode) refuses every startup
            // parameter it does not know, `options` among them: the same login without
            // them reaches the pool, for the light queries that recognise it
            // (`pg::pool_route`). Schema and copy then go over the direct connection.
            Err(e) if super::pool_route::refused_startup_options(&e.message) => {
                self.attempt(password, None, cancel, started)
            }
            other => other,
        }
    }

    /// One connection attempt; `options: None` sends no `options` startup parameter at all.
    fn attempt(
        &self,
        password: Option<&Secret>,
        options: Option<&str>,
        cancel: Option<&AtomicBool>,
        started: Instant,
    ) -> Result<postgres::Client, ConnectError> {
        let timeout = self.connect_timeout();
        let (pg, tls) = self.postgres_config(password, options, timeout)?;
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("dj2pg-connect".into())
            .spawn(move || {
                let _ = tx.send(pg.connect(tls));
            })
            .map_err(|e| ConnectError {
                field: Field::Host,
                message: format!("could not start the connection attempt: {e}"),
            })?;
        loop {
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(Ok(client)) => return Ok(client),
                Ok(Err(e)) => return Err(self.map_error(&e, timeout)),
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(ConnectError {
                        field: Field::Host,
                        message: "the connection attempt ended without a result".into(),
                    });
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) || crate::interrupt::requested() {
                return Err(self.cancelled());
            }
            if let Some(t) = timeout
                && started.elapsed() >= t
            {
                return Err(self.timed_out(t));
            }
        }
    }

    /// The attempt was given up on purpose.
    pub(crate) fn cancelled(&self) -> ConnectError {
        ConnectError {
            field: Field::Host,
            message: format!(
                "the connection attempt to {}:{} was stopped before the server answered",
                self.host, self.port
            ),
        }
    }

    /// The deadline passed before the server finished the startup exchange.
    pub(crate) fn timed_out(&self, t: Duration) -> ConnectError {
        ConnectError {
            field: Field::Port,
            message: format!(
                "{}:{} did not complete a PostgreSQL login within {} s (connect_timeout): a \
                 firewall or trusted-sources list dropping the connection, a wrong host, or \
                 something that is not PostgreSQL on this port (DigitalOcean: 25060); a slow \
                 network may need connect_timeout=30 in the URL",
                self.host,
                self.port,
                t.as_secs()
            ),
        }
    }

    /// The `postgres` crate's settings and TLS for this target.
    fn postgres_config(
        &self,
        password: Option<&Secret>,
        options: Option<&str>,
        timeout: Option<Duration>,
    ) -> Result<(postgres::Config, MakeTlsConnector), ConnectError> {
        let mut pg = postgres::Config::new();
        if let Some(t) = timeout {
            pg.connect_timeout(t);
        }
        pg.host(&self.host)
            .port(self.port)
            .dbname(&self.dbname)
            .user(&self.user)
            .application_name("dj2pg")
            .channel_binding(match self.channel_binding.unwrap_or_default() {
                ChannelBinding::Disable => postgres::config::ChannelBinding::Disable,
                ChannelBinding::Prefer => postgres::config::ChannelBinding::Prefer,
                ChannelBinding::Require => postgres::config::ChannelBinding::Require,
            })
            .target_session_attrs(self.own_session_attrs())
            .ssl_negotiation(if self.ssl_direct {
                postgres::config::SslNegotiation::Direct
            } else {
                postgres::config::SslNegotiation::Postgres
            });
        if let Some(o) = options {
            pg.options(&self.startup_options(o));
        }
        if let Some(p) = self.resolve_password(password) {
            pg.password(p.expose());
        }
        pg.ssl_mode(match self.sslmode {
            SslMode::Disable => postgres::config::SslMode::Disable,
            SslMode::Prefer => postgres::config::SslMode::Prefer,
            _ => postgres::config::SslMode::Require,
        });
        let tls = self.tls_connector()?;
        Ok((pg, tls))
    }

    /// `target_session_attrs` for dj2pg's own sessions: as given for `any`, `read-write` and
    /// `primary` (checked like `read-write`); dj2pg writes, so the read-only values
    /// (`read-only`, `standby`, `prefer-standby`) also mean a server that accepts writes here —
    /// they stay in the written settings for the app. Unset: `any`, no extra round trip.
    fn own_session_attrs(&self) -> postgres::config::TargetSessionAttrs {
        match self.target_session_attrs.as_deref() {
            None | Some("any") => postgres::config::TargetSessionAttrs::Any,
            Some(_) => postgres::config::TargetSessionAttrs::ReadWrite,
        }
    }

    /// The startup packet's `options`: the URL's own (Neon's `endpoint=…`) first, then
    /// `TimeZone=UTC` and the caller's `-c name=value` settings.
    pub fn startup_options(&self, extra: &str) -> String {
        // Naive timestamps are UTC in Django's SQLite files; never let the role's or the
        // server's default time zone reinterpret them.
        let mut o = String::new();
        if let Some(url) = &self.options {
            o.push_str(url);
            o.push(' ');
        }
        o.push_str("-c TimeZone=UTC");
        if !extra.trim().is_empty() {
            o.push(' ');
            o.push_str(extra.trim());
        }
        o
    }

    fn tls_connector(&self) -> Result<MakeTlsConnector, ConnectError> {
        let mut connector = MakeTlsConnector::new(self.ssl_connector()?);
        if self.sslmode != SslMode::VerifyFull {
            connector.set_callback(|ctx, _| {
                ctx.set_verify_hostname(false);
                Ok(())
            });
        }
        Ok(connector)
    }

    /// The OpenSSL client for this `sslmode` (CA file for verify-ca/verify-full; the host
    /// name is checked only for verify-full, see [`ConnConfig::verify_hostname`]). Shared
    /// by the `postgres` connections and the copy's pipelined sessions (`pg::wire`).
    pub fn ssl_connector(&self) -> Result<SslConnector, ConnectError> {
        let tls_err = |field: Field, what: String| ConnectError {
            field,
            message: what,
        };
        let mut builder = SslConnector::builder(SslMethod::tls_client())
            .map_err(|e| tls_err(Field::SslMode, format!("could not set up TLS: {e}")))?;
        if self.ssl_direct {
            // Direct TLS (PostgreSQL 17) requires the "postgresql" ALPN protocol.
            postgres_openssl::set_postgresql_alpn(&mut builder)
                .map_err(|e| tls_err(Field::SslMode, format!("could not set up TLS: {e}")))?;
        }
        match self.sslmode {
            SslMode::VerifyCa | SslMode::VerifyFull if self.is_system_ca() => {
                let bundle = system_ca_bundle().ok_or_else(|| {
                    tls_err(
                        Field::CaFile,
                        "sslrootcert=system: no system CA bundle was found (looked at \
                         $SSL_CERT_FILE and the usual places such as \
                         /etc/ssl/certs/ca-certificates.crt; on Debian install ca-certificates)"
                            .into(),
                    )
                })?;
                builder.set_ca_file(&bundle).map_err(|e| {
                    tls_err(
                        Field::CaFile,
                        format!(
                            "the system CA bundle {} could not be read: {e}",
                            bundle.display()
                        ),
                    )
                })?;
                builder.set_verify(SslVerifyMode::PEER);
            }
            SslMode::VerifyCa | SslMode::VerifyFull => {
                let ca = self.sslrootcert.as_deref().ok_or_else(|| {
                    tls_err(
                        Field::CaFile,
                        format!(
                            "sslmode={} needs a CA file (DigitalOcean: download ca-certificate.crt from the database's page)",
                            self.sslmode.as_str()
                        ),
                    )
                })?;
                check_readable(ca)?;
                builder.set_ca_file(ca).map_err(|e| {
                    tls_err(
                        Field::CaFile,
                        format!("{} is not a PEM CA certificate: {e}", ca.display()),
                    )
                })?;
                builder.set_verify(SslVerifyMode::PEER);
            }
            _ => builder.set_verify(SslVerifyMode::NONE),
        }
        Ok(builder.build())
    }

    /// Whether TLS checks the server's name against its certificate (verify-full only).
    pub fn verify_hostname(&self) -> bool {
        self.sslmode == SslMode::VerifyFull
    }

    /// `channel_binding=require` and the login was not bound to the TLS channel.
    pub(crate) fn channel_binding_refused(&self) -> ConnectError {
        ConnectError {
            field: Field::SslMode,
            message: format!(
                "channel_binding=require, but {}:{} did not bind the login to TLS \
                 (SCRAM-SHA-256-PLUS): it needs TLS in use (sslmode=require or stronger) and \
                 scram-sha-256 password authentication (PostgreSQL 11+); a server that logs \
                 in with md5, a plain password or no password, or a pool or proxy that ends TLS \
                 itself, cannot bind. Remove channel_binding=require only if you trust the \
                 network path",
                self.host, self.port
            ),
        }
    }

    /// Something answered at host:port but it is not PostgreSQL (a web server, say).
    pub(crate) fn not_postgres(&self) -> ConnectError {
        ConnectError {
            field: Field::Port,
            message: format!(
                "{}:{} answered, but it is not PostgreSQL: check the port (PostgreSQL's is \
                 usually 5432; DigitalOcean: 25060, its pools 25061)",
                self.host, self.port
            ),
        }
    }
}

/// The default of [`ConnConfig::connect_timeout`], libpq's advice for interactive use.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The operating system's CA bundle for `sslrootcert=system` (OpenSSL is built into dj2pg,
/// so its own default paths would not be the system's): `$SSL_CERT_FILE`, else the first
/// bundle found where Debian/Ubuntu, Fedora/RHEL, Alpine/macOS and openSUSE keep it.
fn system_ca_bundle() -> Option<PathBuf> {
    let env = std::env::var_os("SSL_CERT_FILE").map(PathBuf::from);
    env.into_iter()
        .chain(
            [
                "/etc/ssl/certs/ca-certificates.crt",
                "/etc/pki/tls/certs/ca-bundle.crt",
                "/etc/ssl/cert.pem",
                "/etc/ssl/ca-bundle.pem",
            ]
            .map(PathBuf::from),
        )
        .find(|p| p.is_file())
}

fn check_readable(path: &Path) -> Result<(), ConnectError> {
    std::fs::metadata(path)
        .map(|_| ())
        .map_err(|e| ConnectError {
            field: Field::CaFile,
            message: format!("cannot read the CA file {}: {e}", path.display()),
        })
}

/// Find the password for `config` in the text of a `.pgpass` file
/// (`host:port:database:user:password`, `*` matches anything, `\` escapes).
pub(crate) fn pgpass_lookup(text: &str, config: &ConnConfig) -> Option<String> {
    let port = config.port.to_string();
    let wanted = [
        config.host.as_str(),
        port.as_str(),
        config.dbname.as_str(),
        config.user.as_str(),
    ];
    for line in text.lines() {
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields = split_pgpass(line);
        if fields.len() != 5 {
            continue;
        }
        if fields[..4]
            .iter()
            .zip(wanted)
            .all(|(f, w)| f == "*" || f == w)
        {
            return Some(fields[4].clone());
        }
    }
    None
}

fn split_pgpass(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    if let Some(f) = fields.last_mut() {
                        f.push(n)
                    }
                }
            }
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => {
                if let Some(f) = fields.last_mut() {
                    f.push(c)
                }
            }
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_debug_is_masked() {
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "Secret(****)");
    }

    #[test]
    fn pgpass_matches_wildcards_and_escapes() {
        let (c, _) = ConnConfig::from_url("postgresql://app@db:25060/appdb").unwrap();
        let text = "# comment\nother:*:*:*:no\ndb:25060:*:app:pa\\:ss\n";
        assert_eq!(pgpass_lookup(text, &c).as_deref(), Some("pa:ss"));
        assert_eq!(pgpass_lookup("db:5432:*:app:x\n", &c), None);
    }
}
