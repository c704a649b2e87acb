//! PostgreSQL: connection settings (URL, libpq environment, `.pgpass`), TLS with libpq's
//! `sslmode` semantics, what a server tells us about itself, privilege diagnosis and fix
//! recipes (`privileges`), and (feature `demo`) the throwaway local clusters of the demo and
//! the tests as these settings (`cluster`, over the `dj2pg-tempcluster` crate).

#[cfg(feature = "demo")]
pub mod cluster;
mod conn;
pub mod default_grants;
mod info;
pub mod pool_route;
pub mod privileges;
pub mod provider;
mod url;
mod url_shape;
pub mod wire;

pub use conn::{
    ChannelBinding, ConnConfig, ConnectError, Field, SESSION_DEFAULTS, Secret, SslMode,
};
pub use info::{ServerInfo, describe, timeouts};
pub use url::percent_decode;

/// `"name"` with any `"` doubled: a PostgreSQL (and SQLite) identifier, safe in SQL text.
pub fn quote_ident(name: &str) -> String {
    postgres_protocol::escape::escape_identifier(name)
}

/// `'text'` with any `'` doubled (and `E'…'` when it holds a backslash): a SQL literal that is
/// safe whatever `standard_conforming_strings` says.
pub fn quote_literal(text: &str) -> String {
    postgres_protocol::escape::escape_literal(text)
}
