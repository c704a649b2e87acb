//! What a copy keeps for a later sync, and where: the SQLite snapshot it copied from and the
//! settings it copied with, in `.dj2pg/sync/<file>-<hash>/` next to the SQLite file (for a
//! Django project, its own `.dj2pg/` folder), keyed by the file and the target. Next to the
//! file, not in the user's data folder: it is as large as the file, it goes with the
//! project when the folder is removed, and the file's folder is writable (SQLite needs it
//! for its journal). The folder holds a `.gitignore` so git never picks a copy of the data.
//!
//! Invariants: `snapshot.sqlite3` is the SQLite state PostgreSQL was last made equal to
//! (by the copy, then by each sync, which writes the rows it moved into it after its
//! transaction committed verified); `hashes.bin` holds a hash of each of its rows by key
//! ([`super::scan`]), so a sync finds changes by reading the live file once and reads the
//! snapshot only for the rows that changed. Nothing secret is kept: the target is named by
//! its URL without the password.

use crate::data::copy::CopySettings;
use crate::pg::ConnConfig;
use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The format of `sync.json`. 2: the followed tables and `hashes.bin`.
const VERSION: u32 = 2;

/// One sync that ran, for the report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SyncLog {
    /// When it committed (RFC 3339, UTC).
    pub at: String,
    /// Rows written or deleted on PostgreSQL.
    pub rows: u64,
    /// From the start of applying to "synced and verified", in milliseconds.
    pub window_ms: u64,
}

/// What `sync.json` holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub version: u32,
    /// The user's SQLite file, as given to the copy.
    pub source: PathBuf,
    /// The target's URL, without its password.
    pub target: String,
    /// When the snapshot PostgreSQL now matches was taken (RFC 3339, UTC).
    pub taken_at: String,
    /// The copy's settings (time zone, tables left behind, Django's names): the sync
    /// converts rows exactly as the copy did.
    pub settings: CopySettings,
    /// The tables the copy moved, each with the key that names its rows.
    #[serde(default)]
    pub tables: Vec<super::scan::Followed>,
    #[serde(default)]
    pub syncs: Vec<SyncLog>,
}

impl Record {
    pub fn taken_at(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::parse_from_rfc3339(&self.taken_at)
            .map(|t| t.with_timezone(&chrono::Utc))
            .unwrap_or_default()
    }
}

/// The folder of one (SQLite file, target) pair.
#[derive(Clone, Debug)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    /// The store of copying `sqlite` into `target` (nothing is created yet).
    pub fn of(sqlite: &Path, target: &ConnConfig) -> Result<Store> {
        let canonical = sqlite
            .canonicalize()
            .with_context(|| format!("cannot find {}", sqlite.display()))?;
        let folder = canonical
            .parent()
            .context("the SQLite file has no folder")?
            .join(".dj2pg")
            .join("sync");
        Ok(Store::in_dir(&folder, sqlite, target))
    }

    fn in_dir(root: &Path, sqlite: &Path, target: &ConnConfig) -> Store {
        let canonical = sqlite
            .canonicalize()
            .unwrap_or_else(|_| sqlite.to_path_buf());
        let mut h = Sha256::new();
        h.update(canonical.to_string_lossy().as_bytes());
        h.update(b"\n");
        h.update(target_key(target).as_bytes());
        let stem: String = canonical
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "db".into())
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .take(40)
            .collect();
        Store {
            dir: root.join(format!("{stem}-{}", &hex::encode(h.finalize())[..16])),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The SQLite state PostgreSQL was last made equal to.
    pub fn snapshot(&self) -> PathBuf {
        self.dir.join("snapshot.sqlite3")
    }

    /// Each snapshot row's hash by key.
    pub fn hashes(&self) -> PathBuf {
        self.dir.join("hashes.bin")
    }

    fn record_file(&self) -> PathBuf {
        self.dir.join("sync.json")
    }

    /// Make the folder (private to the user: it holds a copy of their data).
    pub fn create(&self) -> Result<()> {
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("could not create {}", self.dir.display()))?;
        if let Some(root) = self.dir.parent() {
            let ignore = root.join(".gitignore");
            if !ignore.exists() {
                let _ = std::fs::write(
                    &ignore,
                    "# dj2pg's snapshots for dj2pg sync: copies of the data\n*\n",
                );
            }
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(0o700));
        }
        Ok(())
    }

    /// The record, when a copy left one (and its snapshot is still there).
    pub fn load(&self) -> Result<Option<Record>> {
        let file = self.record_file();
        if !file.exists() || !self.snapshot().exists() || !self.hashes().exists() {
            return Ok(None);
        }
        let text =
            std::fs::read(&file).with_context(|| format!("could not read {}", file.display()))?;
        let r: Record = serde_json::from_slice(&text).with_context(|| {
            format!(
                "{} is damaged; remove it and run dj2pg copy again",
                file.display()
            )
        })?;
        if r.version != VERSION {
            anyhow::bail!(
                "{} was written by another version of dj2pg; run dj2pg copy again",
                file.display()
            );
        }
        Ok(Some(r))
    }

    /// Write the record atomically.
    pub fn save(&self, r: &Record) -> Result<()> {
        self.create()?;
        let json = serde_json::to_vec_pretty(r)?;
        crate::atomic::write(&self.record_file(), &json)
    }

    /// A new record for a copy that read a snapshot taken at `taken_at`.
    pub fn new_record(
        sqlite: &Path,
        target: &ConnConfig,
        settings: &CopySettings,
        tables: Vec<super::scan::Followed>,
        taken_at: chrono::DateTime<chrono::Utc>,
    ) -> Record {
        Record {
            version: VERSION,
            source: sqlite.to_path_buf(),
            target: target.display_url(),
            taken_at: taken_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            settings: settings.clone(),
            tables,
            syncs: Vec::new(),
        }
    }

    /// Remove everything kept for this pair.
    pub fn forget(&self) -> Result<bool> {
        if !self.dir.exists() {
            return Ok(false);
        }
        std::fs::remove_dir_all(&self.dir)
            .with_context(|| format!("could not remove {}", self.dir.display()))?;
        Ok(true)
    }
}

/// The target's identity: who writes where (the password and TLS options do not change it).
fn target_key(c: &ConnConfig) -> String {
    format!("{}@{}:{}/{}", c.user, c.host, c.port, c.dbname)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_folder_per_file_and_target() {
        let root = Path::new("/x");
        let (a, _) = ConnConfig::from_url("postgresql://app@h:5432/db").unwrap();
        let (b, _) = ConnConfig::from_url("postgresql://app@h:5432/other").unwrap();
        let (a2, _) =
            ConnConfig::from_url("postgresql://app:secret@h:5432/db?sslmode=require").unwrap();
        let f = Path::new("/p/db.sqlite3");
        let sa = Store::in_dir(root, f, &a);
        assert_eq!(sa.dir, Store::in_dir(root, f, &a2).dir);
        assert_ne!(sa.dir, Store::in_dir(root, f, &b).dir);
        assert_ne!(
            sa.dir,
            Store::in_dir(root, Path::new("/q/db.sqlite3"), &a).dir
        );
        assert!(sa.dir.to_string_lossy().starts_with("/x/db_sqlite3-"));
    }
}
