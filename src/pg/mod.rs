//! PostgreSQL: connection settings (URL, libpq environment, `.pgpass`), TLS with libpq's
//! `sslmode` semantics, what a server tells us about itself, privilege diagnosis and fix
//! recipes (`privileges`), and throwaway local clusters of a chosen major version.

pub mod cluster;
mod conn;
mod info;
pub mod privileges;

pub use conn::{ConnConfig, ConnectError, Field, Secret, SslMode};
pub use info::{ServerInfo, describe};
