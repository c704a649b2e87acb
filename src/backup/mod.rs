//! Backups: the Backup step (git state, verified SQLite copy, migrations archive, manifest),
//! the reset's move of migration files into the archive, and `dj2pg restore`.
//!
//! Invariants:
//! - The user's SQLite file is only ever opened read-only.
//! - Nothing in the project is deleted: the reset and restore *move* files into the backup
//!   folder, and record every move (with its SHA-256) in `manifest.json`.
//! - Nothing outside the project folder is touched (canonical paths are checked).
//! - A failed backup leaves nothing half-written: files carry temporary names until
//!   verified, and whatever this run created is removed on failure.

mod archive;
mod earlier;
mod folder;
mod git;
mod hash;
mod manifest;
mod paths;
mod report;
mod reset;
mod restore;
mod run;
mod settings_records;
mod space;
mod sqlite;
mod sqlite_errors;

pub use archive::{ARCHIVE_DIR, archive_migrations};
pub use earlier::{EarlierRun, latest_finished_run};
pub use folder::{DJ2PG_DIR, default_backup_dir, ensure_gitignore, ensure_ignored};
pub use git::git_state;
pub use hash::sha256_file;
pub use manifest::{MANIFEST_FILE, add_entries, read_manifest, write_manifest};
pub use paths::relative_to;
pub use report::{backup_lines, reset_preview_lines, restore_command, restore_lines};
pub use reset::{RESET_DIR, files_to_go, record_regenerated, record_written, reset_migrations};
pub use restore::{REGENERATED_DIR, restore};
pub use run::{DEFAULT_BUSY_TIMEOUT_MS, backup_request, run_backup};
pub use settings_records::SETTINGS_BACKUP_FILE;
pub use sqlite::{CopyFailure, CopyOptions, backup_sqlite, snapshot};
