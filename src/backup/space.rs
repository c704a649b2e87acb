//! Free space on the file system that will hold the backup.

use anyhow::{Context, Result};
use std::path::Path;

/// Bytes available to an unprivileged writer on the file system holding `path` (which
/// must exist).
#[cfg(unix)]
pub fn available_bytes(path: &Path) -> Result<u64> {
    let st = rustix::fs::statvfs(path)
        .with_context(|| format!("could not read the free space of {}", path.display()))?;
    Ok(st.f_bavail.saturating_mul(st.f_frsize))
}

/// Elsewhere we cannot ask cheaply; the write itself reports a full disk.
#[cfg(not(unix))]
pub fn available_bytes(_path: &Path) -> Result<u64> {
    Ok(u64::MAX)
}
