//! What a resume checks before it trusts a done step: the facts recorded when a step
//! finished (a [`Record`]), what the resume check is asked to look at ([`CheckInput`]) and
//! what it saw ([`Observed`]). Plain data: `crate::resume_check` fills it (IO), the state
//! machine compares it (pure).

use crate::data::backup::MovedFile;
use crate::data::pg::ConnConfig;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// A file as `stat` saw it: enough to tell the same file, written to, from another file put
/// at the same path (a fresh copy of the project).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStamp {
    pub size: u64,
    /// Modification time, nanoseconds since the epoch.
    pub modified_ns: Option<i128>,
    /// Creation (birth) time where the file system keeps one, nanoseconds since the epoch.
    pub created_ns: Option<i128>,
    /// (device, inode) on Unix.
    pub inode: Option<(u64, u64)>,
}

impl FileStamp {
    /// Whether `now` is another file than `self` (not the same file written to since).
    pub fn replaced_by(&self, now: &FileStamp) -> bool {
        fn differs<T: PartialEq>(a: Option<T>, b: Option<T>) -> bool {
            matches!((a, b), (Some(x), Some(y)) if x != y)
        }
        differs(self.inode, now.inode) || differs(self.created_ns, now.created_ns)
    }
}

/// Which database a connection reached: a database dropped and created again, or another
/// server at the same address, has other values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetIdentity {
    /// `pg_control_system()`'s system identifier (as text: it is a 64-bit number); `None`
    /// when the role may not call it (some managed servers revoke it): the OIDs then decide.
    pub system_identifier: Option<String>,
    pub database: String,
    pub database_oid: u32,
    pub role: String,
    pub role_oid: u32,
}

/// A fact recorded by a worker when its step finished, with the local time it was seen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Record {
    /// Discover: the SQLite file.
    Sqlite { stamp: FileStamp, at: String },
    /// Connect: the target.
    Target {
        identity: TargetIdentity,
        at: String,
    },
    /// Create schema: the migrations `django_migrations` holds (`app.name`).
    Schema { applied: Vec<String>, at: String },
    /// Copy rows: the verified copy ended.
    Copied { at: String },
}

/// What the resume check looks at: only what done steps rest on.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckInput {
    /// Discover: manage.py and the SQLite file.
    pub manage_py: Option<PathBuf>,
    pub sqlite: Option<PathBuf>,
    /// Backup: the folder, and the SQLite copy's file name inside it.
    pub backup_dir: Option<PathBuf>,
    pub backup_sqlite: Option<String>,
    /// Reset migrations: the project, the files moved away (they must not be back) and the
    /// files makemigrations wrote (they must be there).
    pub project_dir: Option<PathBuf>,
    pub moved: Vec<MovedFile>,
    pub regenerated: Vec<PathBuf>,
    /// Connect (and what rests on it): the app role's connection, password from the runner.
    pub target: Option<ConnConfig>,
    /// Create schema: read `django_migrations`.
    pub schema: bool,
    /// Copy rows: the tables whose rows to count.
    pub tables: Vec<String>,
}

/// A file as the check found it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Seen<T> {
    Found(T),
    Missing,
    /// It could not be looked at; the text says why.
    Unreadable(String),
}

/// The backup folder as the check found it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupSeen {
    pub dir_exists: bool,
    /// The manifest's SQLite copy: (size, sha256) as the manifest records them, or why it
    /// cannot be read.
    pub manifest: Seen<Option<(u64, String)>>,
    /// The SQLite copy's size on disk.
    pub copy_size: Seen<u64>,
}

/// What the target showed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetSeen {
    pub identity: TargetIdentity,
    /// `django_migrations` (`app.name`), or why it cannot be read (e.g. it does not exist).
    pub applied: Option<Result<Vec<String>, String>>,
    /// Per table: its row count, or why it cannot be counted.
    pub counts: Vec<(String, Result<u64, String>)>,
}

/// What the resume check saw. `None` where it was not asked to look.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observed {
    pub manage_py: Option<bool>,
    pub sqlite: Option<Seen<FileStamp>>,
    pub backup: Option<BackupSeen>,
    /// Moved files whose old content is back at their original path (relative paths).
    pub moved_back: Vec<PathBuf>,
    /// Regenerated migration files that are gone.
    pub regenerated_missing: Vec<PathBuf>,
    /// The target, or why it could not be reached (`password_given` says whether a
    /// password was available to try).
    pub target: Option<Result<TargetSeen, String>>,
    pub password_given: bool,
}
