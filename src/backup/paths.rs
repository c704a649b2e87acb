//! Path rules shared by the archive, the reset and restore: what is inside the project,
//! and joining a manifest's relative path without escaping its base folder.

use anyhow::{Context, Result, bail};
use std::path::{Component, Path, PathBuf};

/// The canonical form of `dir` if it is inside the canonical `project` (symlinks resolved,
/// so a symlinked app pointing outside the project is refused), and not inside a
/// virtualenv or dj2pg's own folder.
pub fn inside_project(project: &Path, dir: &Path, what: &str) -> Result<PathBuf> {
    let project = std::fs::canonicalize(project)
        .with_context(|| format!("the project folder {} cannot be read", project.display()))?;
    let real = std::fs::canonicalize(dir)
        .with_context(|| format!("the {what} {} cannot be read", dir.display()))?;
    if !real.starts_with(&project) {
        bail!(
            "the {what} {} is outside the project {} (resolved to {}): dj2pg never touches files outside the project",
            dir.display(),
            project.display(),
            real.display()
        );
    }
    let rel = real.strip_prefix(&project).unwrap_or(Path::new(""));
    let mut cur = project.clone();
    for c in rel.components() {
        let name = c.as_os_str().to_string_lossy();
        if name == super::folder::DJ2PG_DIR
            || name == "site-packages"
            || name == "dist-packages"
            || (cur != project && cur.join("pyvenv.cfg").exists())
        {
            bail!(
                "the {what} {} is inside a virtualenv or dj2pg's own folder: it is not the project's code",
                dir.display()
            );
        }
        cur.push(c);
    }
    Ok(real)
}

/// `path` relative to `project` (both resolved when they exist); `path` itself when it is
/// outside the project.
pub fn relative_to(project: &Path, path: &Path) -> PathBuf {
    let project = std::fs::canonicalize(project).unwrap_or_else(|_| project.to_path_buf());
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    path.strip_prefix(&project)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| path.to_path_buf())
}

/// `base/rel`, refusing a `rel` that is absolute or climbs out with `..` (a manifest is a
/// file on disk: it must not be able to make restore write anywhere else).
pub fn safe_join(base: &Path, rel: &Path) -> Result<PathBuf> {
    if rel.as_os_str().is_empty() {
        bail!("an empty path in the manifest");
    }
    for c in rel.components() {
        match c {
            Component::Normal(_) | Component::CurDir => {}
            _ => bail!(
                "the manifest names {}, which is not a plain relative path: refusing it",
                rel.display()
            ),
        }
    }
    Ok(base.join(rel))
}

/// An app label usable as a folder name (Django labels are Python identifiers).
pub fn check_label(label: &str) -> Result<()> {
    if label.is_empty()
        || label == "."
        || label == ".."
        || label.contains(['/', '\\'])
        || label.contains('\0')
    {
        bail!("the app label {label:?} cannot be used as a folder name");
    }
    Ok(())
}

/// Undo moves after a failure: each `(now, was)` moved back, latest first. Returns the
/// ones that could not be moved back, with why, for the message that lists them.
pub fn move_back<'a>(
    moves: impl DoubleEndedIterator<Item = (&'a Path, &'a Path)>,
) -> Vec<(&'a Path, &'a Path, anyhow::Error)> {
    moves
        .rev()
        .filter_map(|(now, was)| move_file(now, was).err().map(|e| (now, was, e)))
        .collect()
}

/// Move a file: `rename` when on the same file system, else copy, fsync, verify and only
/// then remove the source. Parents of `to` are created. Never overwrites `to`.
pub fn move_file(from: &Path, to: &Path) -> Result<()> {
    if to.exists() {
        bail!("{} already exists: not overwriting it", to.display());
    }
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("could not create {}", parent.display()))?;
    }
    match std::fs::rename(from, to) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::CrossesDevices => {
            let (want, _) = super::hash::sha256_file(from)?;
            std::fs::copy(from, to).with_context(|| {
                format!("could not copy {} to {}", from.display(), to.display())
            })?;
            std::fs::File::open(to)
                .and_then(|f| f.sync_all())
                .with_context(|| format!("could not flush {}", to.display()))?;
            let (got, _) = super::hash::sha256_file(to)?;
            if got != want {
                let _ = std::fs::remove_file(to);
                bail!(
                    "the copy of {} at {} differs from it",
                    from.display(),
                    to.display()
                );
            }
            std::fs::remove_file(from)
                .with_context(|| format!("could not remove {} after copying it", from.display()))
        }
        Err(e) => {
            Err(e).with_context(|| format!("could not move {} to {}", from.display(), to.display()))
        }
    }
}

/// `path`, or `path.1`, `path.2`, ... : the first that does not exist.
pub fn unique_path(path: &Path) -> PathBuf {
    if !path.exists() {
        return path.to_path_buf();
    }
    (1..)
        .map(|n| {
            let mut s = path.as_os_str().to_os_string();
            s.push(format!(".{n}"));
            PathBuf::from(s)
        })
        .find(|p| !p.exists())
        .unwrap_or_else(|| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_join_refuses_escapes() {
        let base = Path::new("/b");
        assert_eq!(
            safe_join(base, Path::new("a/b.py")).unwrap(),
            Path::new("/b/a/b.py")
        );
        assert!(safe_join(base, Path::new("../x")).is_err());
        assert!(safe_join(base, Path::new("/etc/passwd")).is_err());
        assert!(safe_join(base, Path::new("")).is_err());
    }

    #[test]
    fn labels_must_be_folder_names() {
        assert!(check_label("classifier").is_ok());
        assert!(check_label("../x").is_err());
        assert!(check_label("").is_err());
    }
}
