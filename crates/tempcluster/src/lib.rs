//! Throwaway local PostgreSQL clusters, for dj2pg's integration tests, benches and `dj2pg demo`.
//!
//! Not part of the product's main job: dj2pg depends on this crate only through its `demo`
//! feature (on by default), so `cargo build --no-default-features` builds the migration tool
//! without any of it (no `initdb`, `runuser`, superuser roles, orphan reaping, or package
//! fetcher). The crate hands out plain data ([`Login`], [`Password`]); dj2pg turns it into its
//! own connection settings (`dj2pg::pg::cluster`).
//!
//! [`TempCluster::start`] owns everything about one such cluster: it finds the server binaries,
//! runs `initdb` in a fresh directory under the temp dir, turns TLS on with a self-signed
//! certificate made here, starts `postgres` on a free loopback port and creates the roles of a
//! DigitalOcean-like managed server:
//!
//! - `postgres`: the bootstrap superuser (random password), for test setup only;
//! - `doadmin`: `LOGIN CREATEDB CREATEROLE`, **not** a superuser; owns the app database and a
//!   `defaultdb` (so the "GRANT run in the wrong database" trap can be reproduced);
//! - `app`: `LOGIN` and nothing else. On PostgreSQL 15+ the `public` schema belongs to
//!   `pg_database_owner` and `PUBLIC` has no `CREATE` on it, so Django's `migrate` as `app`
//!   fails with `permission denied for schema public` until someone grants it.
//!
//! Authentication is `scram-sha-256` everywhere. `pg_hba.conf` accepts TLS (`hostssl`) from
//! 127.0.0.1 and, unless [`ClusterOptions::tls_only`] is set, plain TCP (`hostnossl`) too, so
//! that `sslmode=disable` behaviour can be tested; with `tls_only` a plain connection is refused
//! with "no pg_hba.conf entry ... no encryption", as on DigitalOcean. The server's default
//! `TimeZone` is not UTC (`America/New_York` by default) so time zone bugs show up. Durability
//! is off (`fsync`, `synchronous_commit`, `full_page_writes`): the data is throwaway.
//!
//! When the process runs as root, `initdb`, `postgres` and `pg_ctl` run as the `postgres`
//! account (through `setpriv`, else `runuser`) and the directory is chowned to it.
//!
//! Cleanup: [`TempCluster::stop`] and `Drop` (also while a test panics) ask the postmaster for
//! an immediate shutdown (SIGQUIT via `pg_ctl kill`), SIGKILL it after 5 s, and delete the
//! directory. If the owning process is killed outright, `setpriv --pdeathsig KILL` (Linux,
//! util-linux) makes the postmaster die with it; note that this signal follows the *thread*
//! that started the cluster, so start and drop a cluster on the same thread (as a `#[test]`

mod bins;
mod cluster;
pub mod provision;
mod runner;
mod tls;

pub use bins::{DEFAULT_MAJOR, find_pg_bin, pg_bin_dir, provisioned, server_major, speaks_tls};
pub use cluster::{ClusterOptions, TempCluster};
pub use provision::cache_dir;

use std::fmt;

/// A password the cluster made or was given. `Debug` is masked, so options and clusters can be
/// printed in a failing test without leaking it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn new(s: impl Into<String>) -> Password {
        Password(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// How to reach one role of a running cluster, as plain data for the caller's own connection
/// type: loopback host and port, the database, the role and its password, and whether the
/// server speaks TLS (`sslmode=require` then; `disable` for a server built without OpenSSL).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Login {
    pub host: String,
    pub port: u16,
    pub dbname: String,
    pub user: String,
    pub password: Password,
    pub tls: bool,
}
