//! Where a PostgreSQL target lives and what it told us: connection settings without the
//! password (see `pg::Secret`), libpq's `sslmode`, the form field a failure points at, and
//! the server's description. Plain data held by the state machine.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// libpq's `sslmode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum SslMode {
    Disable,
    Prefer,
    #[default]
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    pub const ALL: [SslMode; 5] = [
        SslMode::Disable,
        SslMode::Prefer,
        SslMode::Require,
        SslMode::VerifyCa,
        SslMode::VerifyFull,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    pub fn parse(s: &str) -> Option<SslMode> {
        SslMode::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// libpq's `channel_binding`: whether SCRAM binds the login to the TLS channel
/// (SCRAM-SHA-256-PLUS), which a machine in the middle with its own certificate cannot fake.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChannelBinding {
    Disable,
    /// libpq's default: bind when TLS is used and the server offers SCRAM-SHA-256-PLUS.
    #[default]
    Prefer,
    Require,
}

impl ChannelBinding {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelBinding::Disable => "disable",
            ChannelBinding::Prefer => "prefer",
            ChannelBinding::Require => "require",
        }
    }
    pub fn parse(s: &str) -> Option<ChannelBinding> {
        [
            ChannelBinding::Disable,
            ChannelBinding::Prefer,
            ChannelBinding::Require,
        ]
        .into_iter()
        .find(|m| m.as_str() == s)
    }
}

/// libpq's `target_session_attrs` values (libpq 14+).
pub const TARGET_SESSION_ATTRS: [&str; 6] = [
    "any",
    "read-write",
    "read-only",
    "primary",
    "standby",
    "prefer-standby",
];

/// Where a target lives and how to reach it. No password: see [`Secret`].
///
/// The libpq parameters after `connect_timeout` are kept as the provider's connection string
/// gave them: dj2pg honours them on its own connections (`pg::conn`) and carries them into
/// the settings it writes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnConfig {
    pub host: String,
    pub port: u16,
    pub dbname: String,
    pub user: String,
    pub sslmode: SslMode,
    /// CA certificate file for `verify-ca` / `verify-full`.
    pub sslrootcert: Option<PathBuf>,
    /// libpq's `connect_timeout` (seconds) from the URL: one deadline for TCP, TLS and the
    /// startup exchange. `None`: `$PGCONNECT_TIMEOUT`, else 10 s (`pg::conn::connect_timeout`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_timeout: Option<u32>,
    /// libpq's `channel_binding` (Neon's strings carry `require`). `None`: `prefer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_binding: Option<ChannelBinding>,
    /// libpq's `target_session_attrs`, one of [`TARGET_SESSION_ATTRS`]. dj2pg writes, so its
    /// own sessions always need a server that accepts writes; the value is carried as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_session_attrs: Option<String>,
    /// libpq's `options` from the URL (e.g. Neon's `endpoint=ep-…`, or `-c name=value`),
    /// sent in the startup packet ahead of dj2pg's own settings; never to a pool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<String>,
    /// libpq's `sslnegotiation=direct` (PostgreSQL 17+: TLS from the first byte, no
    /// SSLRequest round trip). `false`: `postgres`, the default.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ssl_direct: bool,
}

impl ConnConfig {
    /// `sslrootcert=system`: the operating system's trusted CAs instead of a file.
    pub fn is_system_ca(&self) -> bool {
        self.sslrootcert.as_deref() == Some(std::path::Path::new("system"))
    }

    /// The libpq parameters beyond host, port, database, user, sslmode and sslrootcert, as
    /// `(name, value)`, in the order libpq documents them: what the written settings carry.
    pub fn libpq_parameters(&self) -> Vec<(&'static str, String)> {
        let mut p = Vec::new();
        if let Some(t) = self.connect_timeout {
            p.push(("connect_timeout", t.to_string()));
        }
        if let Some(o) = &self.options {
            p.push(("options", o.clone()));
        }
        if let Some(cb) = self.channel_binding {
            p.push(("channel_binding", cb.as_str().to_string()));
        }
        if self.ssl_direct {
            p.push(("sslnegotiation", "direct".to_string()));
        }
        if let Some(t) = &self.target_session_attrs {
            p.push(("target_session_attrs", t.clone()));
        }
        p
    }
}

/// A connection pool recognised in front of the target (`pg::pool_route`), and the direct
/// connection that schema creation and the copy use instead. The app's settings keep the
/// pool.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolRoute {
    /// How the pool was recognised, in a sentence.
    pub reason: String,
    /// The database behind the pool (`current_database()`; a pool's name may differ).
    pub database: String,
    /// The same role and database without the pool: the schema and the copy go here.
    pub direct: ConnConfig,
    /// Where the direct connection came from (`--direct-url`, the provider's direct port,
    /// the server's own port).
    pub direct_from: String,
}

/// The form field a connection failure points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Field {
    Host,
    Port,
    Database,
    User,
    Password,
    SslMode,
    CaFile,
    /// The direct connection behind a pool (`--direct-url`; the Connect form's Direct field).
    Direct,
}

impl Field {
    pub fn label(self) -> &'static str {
        match self {
            Field::Host => "host",
            Field::Port => "port",
            Field::Database => "database",
            Field::User => "user",
            Field::Password => "password",
            Field::SslMode => "SSL mode",
            Field::CaFile => "CA file",
            Field::Direct => "direct connection",
        }
    }
}

/// A connection failure, mapped to the field to fix. Its `Display` names the setting in
/// words true on every surface; [`ConnectError::render`] says where to fix it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message} (check the {})", field.label())]
pub struct ConnectError {
    pub field: Field,
    pub message: String,
}

impl ConnectError {
    /// The message with where to fix it on `surface` (the form field, or the URL part or
    /// environment variable).
    pub fn render(&self, surface: crate::surface::Surface) -> String {
        format!("{} ({})", self.message, surface.check(self.field))
    }
}

/// The managed provider in front of the target and its role model: who its admin is and
/// where its credentials are found, its pool's rule, its CA file. Recognised from the
/// catalog (the provider's own group role, the connected role's attributes and what it
/// owns); the host's shape only names a provider whose roles a client cannot see.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provider {
    /// `AWS RDS/Aurora`; `None` when only the role model is known.
    pub name: Option<String>,
    /// How the provider was recognised (`role rds_superuser in the catalog`, `the host name`).
    pub evidence: String,
    /// The connected role's place in the role model, read from the catalog.
    pub role_model: String,
    /// Where the provider's admin credentials are found.
    pub admin: String,
    /// The admin's role name as the catalog shows it (a login role in the provider's group,
    /// `dbmaster`), or the provider's fixed one (`doadmin`, `postgres`): the admin login
    /// starts with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_role: Option<String>,
    /// The provider's connection pool and its rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    /// The CA file to verify the server with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca: Option<String>,
}

impl Provider {
    /// The provider and the role model, in one line (Connect's summary).
    pub fn line(&self) -> String {
        match &self.name {
            Some(n) => format!("{n} ({}): {}", self.evidence, self.role_model),
            None => self.role_model.clone(),
        }
    }

    /// Every fact, one per line (the Connect screen, the report).
    pub fn lines(&self) -> Vec<String> {
        let mut v = vec![self.line(), format!("Admin: {}", self.admin)];
        if let Some(p) = &self.pool {
            v.push(format!("Pool: {p}"));
        }
        if let Some(c) = &self.ca {
            v.push(format!("CA file: {c}"));
        }
        v
    }
}

/// A description of the target, shown by the Connect step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerInfo {
    pub version: String,
    pub version_num: i32,
    pub tls: bool,
    pub user: String,
    pub database: String,
    pub database_owner: String,
    pub is_superuser: bool,
    pub schema_usage: bool,
    pub schema_create: bool,
    /// Tables in `public` and their owners.
    pub tables: Vec<(String, String)>,
    /// The managed provider and the connected role's place in its role model, as the
    /// catalog (and, for the name only, the host) shows them (`pg::provider`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<Provider>,
    /// The role's or database's timeouts that are set (`statement_timeout`,
    /// `idle_in_transaction_session_timeout`), as `(name, value)`: dj2pg's copy overrides
    /// them, Django's `migrate` runs under them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timeouts: Vec<(String, String)>,
}

impl ServerInfo {
    pub fn summary_line(&self) -> String {
        let mut s = format!(
            "PostgreSQL {} as {} on {}, {}, {} table(s) in public",
            self.version,
            self.user,
            self.database,
            if self.tls { "TLS" } else { "NOT encrypted" },
            self.tables.len()
        );
        if let Some(p) = &self.provider {
            s.push_str(&format!("; {}", p.line()));
        }
        if !self.timeouts.is_empty() {
            s.push_str(&format!("; {}", timeouts_note(&self.timeouts)));
        }
        s
    }
}

/// The role's or database's timeouts, and what they cut: not dj2pg's own sessions, which
/// override them, but Django's `migrate` (Create schema, and later migrations) runs under
/// them.
pub fn timeouts_note(timeouts: &[(String, String)]) -> String {
    let set: Vec<String> = timeouts.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!(
        "{} set for this role or database: dj2pg's own sessions override it, Django's migrate \
         runs under it, so a longer migration is cut off (run such a one with \
         PGOPTIONS=\"-c statement_timeout=0\" over the direct connection)",
        set.join(", ")
    )
}
