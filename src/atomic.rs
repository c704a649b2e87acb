//! The one way dj2pg replaces a file: written beside it in a temporary file, flushed to disk
//! (`fsync`), renamed over it, and the folder flushed too, so a crash leaves either the old
//! file or the new one, never a part. An existing file keeps its permissions (and owner
//! where allowed); a new one gets the usual 0644. Used for settings.py, the state file,
//! backup manifests, report.md and the DBA script, and the sync's records.

use anyhow::{Context, Result};
use std::io::Write;
use std::path::Path;

/// Replace `path` with `bytes` atomically (creating its folder).
pub fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    write_with(path, |w| w.write_all(bytes))
}

/// Replace `path` atomically with what `fill` writes (buffered), for large files.
pub fn write_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("could not create {}", dir.display()))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".dj2pg-")
        .tempfile_in(dir)
        .with_context(|| format!("could not create a temporary file in {}", dir.display()))?;
    {
        let mut w = std::io::BufWriter::with_capacity(1 << 16, tmp.as_file_mut());
        fill(&mut w)
            .and_then(|()| w.flush())
            .with_context(|| format!("could not write {}", path.display()))?;
    }
    match std::fs::metadata(path) {
        Ok(meta) => {
            std::fs::set_permissions(tmp.path(), meta.permissions()).with_context(|| {
                format!("could not set the permissions of {}", tmp.path().display())
            })?;
            keep_owner(tmp.path(), &meta);
        }
        Err(_) => {
            use std::os::unix::fs::PermissionsExt;
            // A new file: the usual 0644 rather than tempfile's private 0600.
            let _ = std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o644));
        }
    }
    tmp.as_file()
        .sync_all()
        .with_context(|| format!("could not flush {} to disk", path.display()))?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("could not replace {}", path.display()))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn keep_owner(path: &Path, meta: &std::fs::Metadata) {
    use std::os::unix::fs::MetadataExt;
    // Only root may give a file away; for anyone else the owner is already theirs.
    let _ = std::os::unix::fs::chown(path, Some(meta.uid()), Some(meta.gid()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn replaces_whole_keeps_permissions_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/settings.py");
        write(&path, b"first").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"first");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o644, "a new file is 0644");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        write_with(&path, |w| w.write_all(b"second")).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        assert_eq!(mode(&path), 0o600, "an existing file keeps its mode");
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("settings.py")]);
    }

    #[test]
    fn a_failed_fill_leaves_the_old_file_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.md");
        write(&path, b"old").unwrap();
        let err = write_with(&path, |w| {
            w.write_all(b"half")?;
            Err(std::io::Error::other("disk full"))
        })
        .unwrap_err();
        assert!(format!("{err:#}").contains("report.md"), "{err:#}");
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
    }
}
