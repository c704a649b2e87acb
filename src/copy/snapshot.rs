//! The one moment of the SQLite file a copy reads, and the read-only connections that
//! read it: a point-in-time copy made with SQLite's online backup API the first time the
//! context reads, or a snapshot a sync took and keeps.

use super::Context;
use anyhow::{Context as _, Result};
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The one moment of the SQLite file a copy reads: a point-in-time copy made with the
/// online backup API when the context first reads (in a temporary folder removed with the
/// context), or one a sync took and keeps ([`Context::read_from`]).
pub(super) struct Snapshot {
    /// The temporary folder, when the context made the snapshot itself.
    _dir: Option<tempfile::TempDir>,
    file: PathBuf,
    taken_at: chrono::DateTime<chrono::Utc>,
}

impl Snapshot {
    fn file(&self) -> PathBuf {
        self.file.clone()
    }
}

impl Context {
    /// Take the copy's snapshot of the SQLite file now (once; later calls keep the first).
    /// Every table is then read as of this one moment, whatever the number of connections
    /// and whatever the app writes meanwhile. Returns when it was taken.
    pub fn snapshot(&self) -> Result<chrono::DateTime<chrono::Utc>> {
        let mut slot = self.snapshot.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = slot.as_ref() {
            return Ok(s.taken_at);
        }
        let dir = tempfile::Builder::new()
            .prefix("dj2pg-snapshot-")
            .tempdir()
            .context("could not create a temporary folder for the SQLite snapshot (set TMPDIR to a folder with room for a copy of the file)")?;
        let snapshot = Snapshot {
            file: dir.path().join("snapshot.sqlite3"),
            _dir: Some(dir),
            taken_at: chrono::Utc::now(),
        };
        let opts = crate::backup::CopyOptions {
            busy_timeout: Duration::from_millis(crate::backup::DEFAULT_BUSY_TIMEOUT_MS),
            cancel: &self.stop.cancel,
        };
        crate::backup::snapshot(&self.sqlite, &snapshot.file(), &opts).map_err(|e| {
            anyhow::anyhow!(
                "could not take a snapshot of {} to copy from: {e} (TMPDIR must have room for a copy of the file)",
                self.sqlite.display()
            )
        })?;
        let at = snapshot.taken_at;
        *slot = Some(snapshot);
        Ok(at)
    }

    /// Read from `file`, a snapshot already taken at `taken_at` (a sync's), instead of
    /// taking one. The caller keeps the file.
    pub fn read_from(&self, file: PathBuf, taken_at: chrono::DateTime<chrono::Utc>) {
        *self.snapshot.lock().unwrap_or_else(|p| p.into_inner()) = Some(Snapshot {
            _dir: None,
            file,
            taken_at,
        });
    }

    /// Keep the snapshot this context read as `dest` (moved when on the same file system,
    /// else copied), for a later sync; the context reads it there from now on.
    pub fn keep_snapshot(&self, dest: &Path) -> Result<()> {
        let mut slot = self.snapshot.lock().unwrap_or_else(|p| p.into_inner());
        let Some(snap) = slot.as_mut() else {
            anyhow::bail!("no snapshot was taken");
        };
        if std::fs::rename(&snap.file, dest).is_err() {
            std::fs::copy(&snap.file, dest)
                .with_context(|| format!("could not keep the snapshot as {}", dest.display()))?;
        }
        snap.file = dest.to_path_buf();
        Ok(())
    }

    /// When the snapshot was taken, if it was.
    pub fn snapshot_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.snapshot
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|s| s.taken_at)
    }

    pub fn open_sqlite(&self) -> Result<Connection> {
        self.snapshot()?;
        let file = self
            .snapshot
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(Snapshot::file)
            .unwrap_or_else(|| self.sqlite.clone());
        // Read-only: SQLite itself refuses any write through this handle.
        Connection::open_with_flags(
            &file,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX
                | rusqlite::OpenFlags::SQLITE_OPEN_URI,
        )
        .with_context(|| {
            format!(
                "cannot open the SQLite file {} read-only",
                self.sqlite.display()
            )
        })
    }
}
