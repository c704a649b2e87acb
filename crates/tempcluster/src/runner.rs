//! Running the server binaries as the right account, finding programs, and reaping the
//! directories of clusters whose owner died.

use crate::bins::find_pg_bin;
use crate::cluster::{DIR_PREFIX, SERVER_ACCOUNT};
use anyhow::{Context, Result, bail};
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

/// How to run the server binaries: directly, or as the `postgres` account when we are root.
#[derive(Clone, Debug)]
pub(crate) struct Runner {
    /// `(uid, gid)` of the account to run as, when root.
    account: Option<(u32, u32)>,
    setpriv: Option<PathBuf>,
    runuser: Option<PathBuf>,
    die_with_parent: bool,
    cwd: PathBuf,
}

impl Runner {
    pub(crate) fn for_dir(base: &Path, die_with_parent: bool) -> Result<Runner> {
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

    pub(crate) fn command(&self, program: &Path) -> Command {
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
    pub(crate) fn give(&self, path: &Path) -> Result<()> {
        if let Some((uid, gid)) = self.account {
            std::os::unix::fs::chown(path, Some(uid), Some(gid))
                .with_context(|| format!("cannot chown {} to {SERVER_ACCOUNT}", path.display()))?;
        }
        Ok(())
    }
}

pub(crate) fn find_on_path(name: &str) -> Option<PathBuf> {
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

/// Remove `dj2pg-pg-*` directories whose owning process is gone (killed before its `Drop`),
/// stopping their postmaster first if it survived. Linux only (needs `/proc`); best effort.
pub(crate) fn reap_orphans(root: &Path) {
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
