//! A virtualenv with pinned packages, created once and cached (the demo and the tests).

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Make sure a virtualenv with exactly `requirements` installed exists under `parent`, and
/// return its Python. The venv's folder name carries a hash of the requirements, so a
/// change of pins makes a new one; it is built in a temporary folder and renamed into place,
/// so concurrent callers never see a half-built venv.
pub fn ensure_venv(
    parent: &Path,
    requirements: &str,
    say: &mut dyn FnMut(&str),
) -> Result<PathBuf> {
    let hash = hex::encode(Sha256::digest(requirements.as_bytes()));
    let venv = parent.join(format!("venv-{}", &hash[..12]));
    let python = venv.join("bin/python");
    if python.exists() {
        return Ok(python);
    }
    std::fs::create_dir_all(parent)
        .with_context(|| format!("could not create {}", parent.display()))?;
    let building = tempfile::Builder::new()
        .prefix("venv-building-")
        .tempdir_in(parent)
        .context("could not create a folder for the virtualenv")?;
    // venvs hard-code their own path in scripts; build where it will live, then swap in.
    let staging = building.path().join("v");
    say("creating a virtualenv for Django (once; cached for next time)…");
    let pip = make_venv(&staging, say)?;
    let req = building.path().join("requirements.txt");
    std::fs::write(&req, requirements)?;
    say("installing Django and psycopg from PyPI…");
    let mut install = Command::new(staging.join("bin/python"));
    match &pip {
        Pip::Bundled => install.args(["-m", "pip"]),
        Pip::Wheel(wheel) => install.arg(wheel.join("pip")),
    };
    install.args(["install", "--quiet", "--disable-pip-version-check"]);
    if let Pip::Wheel(wheel) = &pip {
        install.arg(wheel); // pip, run from its own wheel, installs itself too
    }
    let out = install
        .arg("-r")
        .arg(&req)
        .output()
        .context("could not run pip in the new virtualenv")?;
    if !out.status.success() {
        bail!(
            "pip could not install the pinned packages (is PyPI reachable?):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Move into place: pip wrote absolute paths of the staging dir into scripts, but
    // `python -m` use (all dj2pg does) is independent of them.
    match std::fs::rename(&staging, &venv) {
        Ok(()) => {}
        Err(_) if python.exists() => {} // another process won the race
        Err(e) => {
            return Err(e)
                .with_context(|| format!("could not move the venv to {}", venv.display()));
        }
    }
    Ok(python)
}

/// Where the new venv's pip comes from.
enum Pip {
    /// `python -m venv` installed it (ensurepip).
    Bundled,
    /// The pinned pip wheel, for a Python without ensurepip (Debian without `python3-venv`).
    Wheel(PathBuf),
}

/// `python3 -m venv DIR`; where that fails for want of ensurepip (Debian and Ubuntu leave it
/// out of `python3` and put it in `python3-venv`), a venv without pip and pip's own wheel
/// from PyPI instead, so nothing has to be installed by hand.
fn make_venv(staging: &Path, say: &mut dyn FnMut(&str)) -> Result<Pip> {
    let with_pip = Command::new("python3")
        .args(["-m", "venv"])
        .arg(staging)
        .output()
        .context(
            "python3 was not found: install Python 3 (Debian/Ubuntu: apt-get install python3)",
        )?;
    if with_pip.status.success() {
        return Ok(Pip::Bundled);
    }
    let _ = std::fs::remove_dir_all(staging);
    let bare = Command::new("python3")
        .args(["-m", "venv", "--without-pip"])
        .arg(staging)
        .output()
        .context("could not run python3")?;
    if !bare.status.success() {
        bail!(
            "`python3 -m venv` failed: {} (Debian/Ubuntu: apt-get install python3-venv)",
            String::from_utf8_lossy(&with_pip.stderr).trim()
        );
    }
    say("this Python has no ensurepip (python3-venv): using pip's own wheel instead…");
    let wheel =
        dj2pg_tempcluster::provision::ensure(&dj2pg_tempcluster::provision::pip_wheel(), say)?;
    Ok(Pip::Wheel(wheel))
}
