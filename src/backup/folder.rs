//! The backup folder: where it goes, creating it safely, keeping it out of git, and
//! removing only what this run wrote when the run fails.

use crate::data::backup::GitignoreChange;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

pub use crate::data::backup::DJ2PG_DIR;

/// `<project>/.dj2pg/backups/<timestamp>/`, the timestamp in UTC (`20261201-223045`).
/// A second backup within the same second (a retry right after a stop) gets `-2`, `-3`…
/// rather than the earlier backup's folder, which a backup never writes into.
pub fn default_backup_dir(project_dir: &Path, now: chrono::DateTime<chrono::Utc>) -> PathBuf {
    let parent = project_dir.join(DJ2PG_DIR).join("backups");
    let stamp = now.format("%Y%m%d-%H%M%S").to_string();
    let first = parent.join(&stamp);
    if !first.exists() {
        return first;
    }
    (2u32..)
        .map(|n| parent.join(format!("{stamp}-{n}")))
        .find(|p| !p.exists())
        .unwrap_or(first)
}

/// Files and folders this run created, removed in reverse order unless [`Created::keep`]
/// is called: a failed backup leaves nothing half-written behind. Only paths this run
/// created are ever listed, so nothing of the user's can be removed.
#[derive(Debug, Default)]
pub struct Created {
    paths: Vec<(PathBuf, bool)>,
    kept: bool,
}

impl Created {
    pub fn file(&mut self, path: PathBuf) {
        self.paths.push((path, false));
    }
    pub fn dir(&mut self, path: PathBuf) {
        self.paths.push((path, true));
    }
    /// The run succeeded: leave everything in place.
    pub fn keep(mut self) {
        self.kept = true;
    }
}

impl Drop for Created {
    fn drop(&mut self) {
        if self.kept {
            return;
        }
        for (path, is_dir) in self.paths.iter().rev() {
            // Best effort: a folder is only removed when empty, so a file someone else put
            // there survives.
            let _ = if *is_dir {
                std::fs::remove_dir(path)
            } else {
                std::fs::remove_file(path)
            };
        }
    }
}

/// Create `dir` (and, for the default location, its missing parents), recording what was
/// created. A folder given by the user must have an existing parent (a missing one is
/// often an unmounted drive) and must be empty.
pub fn prepare_dir(dir: &Path, create_parents: bool, created: &mut Created) -> Result<()> {
    if dir.exists() {
        if !dir.is_dir() {
            bail!(
                "the backup folder {} exists and is not a folder: choose another",
                dir.display()
            );
        }
        let mut entries = std::fs::read_dir(dir)
            .with_context(|| format!("could not read the backup folder {}", dir.display()))?;
        if entries.next().is_some() {
            bail!(
                "the backup folder {} is not empty: choose a new folder so no earlier backup is mixed in",
                dir.display()
            );
        }
        return check_writable(dir);
    }
    let parent = dir.parent().unwrap_or(Path::new("/"));
    if !parent.is_dir() && !create_parents {
        bail!(
            "the backup folder's parent {} does not exist (is the drive mounted?): create it or choose another folder",
            parent.display()
        );
    }
    // Create from the top so each created level is recorded for removal on failure.
    let mut missing = Vec::new();
    let mut cur = Some(dir);
    while let Some(p) = cur {
        if p.exists() {
            break;
        }
        missing.push(p.to_path_buf());
        cur = p.parent();
    }
    for p in missing.into_iter().rev() {
        std::fs::create_dir(&p).map_err(|e| unwritable(&p, e))?;
        created.dir(p);
    }
    check_writable(dir)
}

/// Try to create (and remove) a file: permission bits do not tell the whole story
/// (read-only mounts, immutable flags, ACLs).
fn check_writable(dir: &Path) -> Result<()> {
    let probe = dir.join(".dj2pg-write-test");
    std::fs::write(&probe, b"").map_err(|e| unwritable(dir, e))?;
    std::fs::remove_file(&probe)
        .with_context(|| format!("could not remove {}", probe.display()))?;
    Ok(())
}

fn unwritable(path: &Path, e: std::io::Error) -> anyhow::Error {
    anyhow::anyhow!(
        "cannot write in the backup folder {} ({e}): choose a folder you can write to (--backup-dir)",
        path.display()
    )
}

/// Make sure `.dj2pg/` is in the project's `.gitignore` (create it, or append one line).
/// Idempotent: an existing `.dj2pg`, `.dj2pg/`, `/.dj2pg` or `/.dj2pg/` line counts.
pub fn ensure_gitignore(project_dir: &Path) -> Result<GitignoreChange> {
    ensure_ignored(
        project_dir,
        &format!("{DJ2PG_DIR}/"),
        "# dj2pg backups (database copies)",
    )
}

/// Make sure `entry` (a file or `folder/` at the project's top) is in `.gitignore`, after
/// `comment`: created, or one line appended. Idempotent: the entry with or without a
/// leading or trailing `/` counts.
pub fn ensure_ignored(project_dir: &Path, entry: &str, comment: &str) -> Result<GitignoreChange> {
    let path = project_dir.join(".gitignore");
    let line = entry.to_string();
    let bare = entry.trim_start_matches('/').trim_end_matches('/');
    match std::fs::read(&path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let present = text.lines().any(|l| {
                let l = l.trim();
                l.trim_start_matches('/').trim_end_matches('/') == bare
            });
            if present {
                return Ok(GitignoreChange::AlreadyIgnored);
            }
            let mut new = bytes.clone();
            if !new.is_empty() && !new.ends_with(b"\n") {
                new.push(b'\n');
            }
            new.extend_from_slice(format!("{comment}\n{line}\n").as_bytes());
            std::fs::write(&path, new)
                .with_context(|| format!("could not update {}", path.display()))?;
            Ok(GitignoreChange::Appended)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::write(&path, format!("{comment}\n{line}\n"))
                .with_context(|| format!("could not create {}", path.display()))?;
            Ok(GitignoreChange::Created)
        }
        Err(e) => Err(e).with_context(|| format!("could not read {}", path.display())),
    }
}

/// Is `dir` inside `<project>/.dj2pg/` (so the .gitignore line covers it)?
pub fn inside_dj2pg_dir(project_dir: &Path, dir: &Path) -> bool {
    let base = project_dir.join(DJ2PG_DIR);
    match (std::fs::canonicalize(&base), std::fs::canonicalize(dir)) {
        (Ok(b), Ok(d)) => d.starts_with(b),
        _ => dir.starts_with(&base),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_backup_in_the_same_second_gets_a_folder_of_its_own() {
        let tmp = tempfile::tempdir().unwrap();
        let now = chrono::Utc::now();
        let first = default_backup_dir(tmp.path(), now);
        std::fs::create_dir_all(&first).unwrap();
        let second = default_backup_dir(tmp.path(), now);
        assert_ne!(first, second);
        assert!(second.to_string_lossy().ends_with("-2"), "{second:?}");
    }
}
