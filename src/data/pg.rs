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

/// Where a target lives and how to reach it. No password: see [`Secret`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
}

impl ServerInfo {
    pub fn summary_line(&self) -> String {
        format!(
            "PostgreSQL {} as {} on {}, {}, {} table(s) in public",
            self.version,
            self.user,
            self.database,
            if self.tls { "TLS" } else { "NOT encrypted" },
            self.tables.len()
        )
    }
}
