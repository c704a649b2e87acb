//! A real PgBouncer in transaction mode (Debian's `pgbouncer` package) in front of a harness
//! cluster, as DigitalOcean's connection pools are: TLS required from the client, SCRAM, a
//! pool name that is not the database's, startup `options` refused. Run as the `postgres`
//! account when the tests run as root, like the cluster, and killed on drop (and with the
//! test process, through `setpriv --pdeathsig`).

use dj2pg::pg::Secret;
use dj2pg::pg::cluster::TempCluster;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct TempPgBouncer {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
    log: PathBuf,
}

impl TempPgBouncer {
    pub fn port(&self) -> u16 {
        self.port
    }
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for TempPgBouncer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn pgbouncer_bin() -> PathBuf {
    super::debian_program(&["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"], "pgbouncer")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// PgBouncer on a free port, pool `pool` → database `db` of `cluster`, for `users` with their
/// passwords (a pool authenticates its clients itself, then logs in to the server as them).
pub fn pgbouncer(
    cluster: &TempCluster,
    pool: &str,
    db: &str,
    users: &[(&str, &Secret)],
) -> TempPgBouncer {
    pgbouncer_via(cluster, pool, db, users, false)
}

/// [`pgbouncer`], reaching the server over its Unix socket when `socket` is set: behind it
/// the server shows no port (`inet_server_port()` is NULL), as a pool on another host whose
/// direct address nothing reveals.
pub fn pgbouncer_via(
    cluster: &TempCluster,
    pool: &str,
    db: &str,
    users: &[(&str, &Secret)],
    socket: bool,
) -> TempPgBouncer {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let root = super::is_root();
    // The cluster's own certificate and key: readable by the account the cluster runs as.
    let cert = cluster.ca_file().to_path_buf();
    let key = cert.with_file_name("server.key");
    let userlist = dir.path().join("userlist.txt");
    let text: String = users
        .iter()
        .map(|(u, p)| format!("\"{u}\" \"{}\"\n", p.expose()))
        .collect();
    write_private(&userlist, &text, root);
    let log = dir.path().join("pgbouncer.log");
    let ini = dir.path().join("pgbouncer.ini");
    let conf = format!(
        "[databases]\n{pool} = host={server} port={cport} dbname={db}\n\n[pgbouncer]\n\
         listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n\
         auth_type = scram-sha-256\nauth_file = {userlist}\npool_mode = transaction\n\
         client_tls_sslmode = require\nclient_tls_cert_file = {cert}\nclient_tls_key_file = {key}\n\
         server_tls_sslmode = require\nlogfile = {log}\npidfile =\nmax_client_conn = 100\n\
         default_pool_size = 20\n",
        cport = cluster.port(),
        server = if socket {
            cluster.data_dir().display().to_string()
        } else {
            "127.0.0.1".to_string()
        },
        userlist = userlist.display(),
        cert = cert.display(),
        key = key.display(),
        log = log.display(),
    );
    write_private(&ini, &conf, root);
    std::fs::write(&log, "").expect("log file");
    if root {
        chown_postgres(dir.path());
        chown_postgres(&log);
    }
    let mut cmd = Command::new("setpriv");
    if root {
        cmd.args([
            "--reuid",
            "postgres",
            "--regid",
            "postgres",
            "--init-groups",
        ]);
    }
    cmd.args(["--pdeathsig", "KILL", "--"])
        .arg(pgbouncer_bin())
        .arg(&ini)
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let child = cmd
        .spawn()
        .expect("start pgbouncer (setpriv is in util-linux)");
    let bouncer = TempPgBouncer {
        child,
        port,
        _dir: dir,
        log,
    };
    let until = Instant::now() + Duration::from_secs(15);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < until,
            "PgBouncer did not listen on {port}:\n{}",
            bouncer.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    bouncer
}

fn write_private(path: &Path, text: &str, root: bool) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).expect("write");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    if root {
        chown_postgres(path);
    }
}

fn chown_postgres(path: &Path) {
    let out = Command::new("chown")
        .args(["postgres:postgres", &path.display().to_string()])
        .output()
        .expect("chown");
    assert!(out.status.success(), "chown {}", path.display());
}
