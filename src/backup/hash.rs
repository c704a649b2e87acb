//! SHA-256 of files and walks of small folder trees (migrations folders).

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

/// SHA-256 (hex) and size of a file, read in chunks (a database may be large).
pub fn sha256_file(path: &Path) -> Result<(String, u64)> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("could not read {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = file
            .read(&mut buf)
            .with_context(|| format!("could not read {}", path.display()))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((hex::encode(hasher.finalize()), size))
}

/// Every regular file below `dir` (relative paths, `/`-separated, sorted). Symlinks are
/// not followed: a link inside a migrations folder could point anywhere.
pub fn walk_files(dir: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    walk(dir, Path::new(""), &mut out)?;
    out.sort();
    Ok(out)
}

fn walk(root: &Path, rel: &Path, out: &mut Vec<String>) -> Result<()> {
    let dir = root.join(rel);
    let entries =
        std::fs::read_dir(&dir).with_context(|| format!("could not list {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("could not list {}", dir.display()))?;
        let ty = entry
            .file_type()
            .with_context(|| format!("could not read {}", entry.path().display()))?;
        let rel_child: PathBuf = rel.join(entry.file_name());
        if ty.is_dir() {
            walk(root, &rel_child, out)?;
        } else if ty.is_file() {
            out.push(rel_to_string(&rel_child));
        }
    }
    Ok(())
}

/// A relative path as `/`-separated text (manifests are read on any platform).
pub fn rel_to_string(rel: &Path) -> String {
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}
