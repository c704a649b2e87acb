//! The throwaway clusters of `dj2pg demo` and the tests (crate `dj2pg-tempcluster`), as dj2pg's
//! own connection settings: the crate hands out plain data ([`dj2pg_tempcluster::Login`]) and
//! this turns it into [`ConnConfig`] and [`Secret`]. Feature `demo` only.

use super::{ConnConfig, Secret, SslMode};
use anyhow::Result;
use dj2pg_tempcluster::Login;
use std::path::Path;

pub use dj2pg_tempcluster::ClusterOptions;

/// A running throwaway cluster (see [`dj2pg_tempcluster::TempCluster`]). Stopped and deleted on
/// `Drop`.
#[derive(Debug)]
pub struct TempCluster {
    inner: dj2pg_tempcluster::TempCluster,
    superuser_password: Secret,
    admin_password: Secret,
    app_password: Secret,
}

impl TempCluster {
    pub fn start(opts: ClusterOptions) -> Result<TempCluster> {
        let inner = dj2pg_tempcluster::TempCluster::start(opts)?;
        let secret = |login: Login| Secret::new(login.password.expose());
        Ok(TempCluster {
            superuser_password: secret(inner.superuser()),
            admin_password: secret(inner.admin()),
            app_password: secret(inner.app()),
            inner,
        })
    }

    pub fn port(&self) -> u16 {
        self.inner.port()
    }
    pub fn host(&self) -> &str {
        self.inner.host()
    }
    /// The self-signed server certificate: use it as `sslrootcert` for `verify-ca`/`verify-full`
    /// (its SAN holds `127.0.0.1` and `localhost`).
    pub fn ca_file(&self) -> &Path {
        self.inner.ca_file()
    }
    pub fn data_dir(&self) -> &Path {
        self.inner.data_dir()
    }
    /// The server's log (stderr of `postgres`).
    pub fn log_file(&self) -> &Path {
        self.inner.log_file()
    }
    /// The postmaster's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.inner.pid()
    }
    pub fn options(&self) -> &ClusterOptions {
        self.inner.options()
    }

    /// `doadmin` at the app database, `sslmode=require` (`disable` on a server without TLS).
    pub fn admin(&self) -> ConnConfig {
        config(self.inner.admin())
    }
    /// The app role at the app database, `sslmode=require` (`disable` without TLS).
    pub fn app(&self) -> ConnConfig {
        config(self.inner.app())
    }
    /// The bootstrap superuser at the `postgres` database. For test setup only.
    pub fn superuser(&self) -> ConnConfig {
        config(self.inner.superuser())
    }
    pub fn superuser_password(&self) -> &Secret {
        &self.superuser_password
    }
    pub fn admin_password(&self) -> &Secret {
        &self.admin_password
    }
    pub fn app_password(&self) -> &Secret {
        &self.app_password
    }

    /// `postgresql://user:password@127.0.0.1:port/db?sslmode=...`, password %-encoded.
    pub fn url(config: &ConnConfig, password: &Secret) -> String {
        let display = config.display_url();
        let enc: String = password
            .expose()
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect();
        let prefix = format!("postgresql://{}@", config.user);
        display.replacen(&prefix, &format!("postgresql://{}:{enc}@", config.user), 1)
    }

    /// Stop the server and delete its directory, reporting failures (`Drop` ignores them).
    pub fn stop(self) -> Result<()> {
        self.inner.stop()
    }
}

fn config(login: Login) -> ConnConfig {
    ConnConfig {
        host: login.host,
        port: login.port,
        dbname: login.dbname,
        user: login.user,
        sslmode: if login.tls {
            SslMode::Require
        } else {
            SslMode::Disable
        },
        sslrootcert: None,
        ..ConnConfig::default()
    }
}
