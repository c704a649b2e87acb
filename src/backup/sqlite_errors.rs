//! SQLite failures as messages a user can act on: not a database (or encrypted), locked
//! by a writer, damaged, a full disk. Each names the file.

use super::sqlite::{CopyFailure, CopyOptions, fail};
use crate::data::backup::CheckKind;
use rusqlite::ErrorCode;
use std::io::Read;
use std::path::Path;

/// An SQLite file starts with `SQLite format 3\0`; an encrypted one (SQLCipher) or any
/// other file does not. Checked before SQLite sees it, for a message that says so.
pub(super) fn check_header(source: &Path) -> Result<(), CopyFailure> {
    let shown = source.display();
    let mut file = std::fs::File::open(source).map_err(|e| {
        fail(
            CheckKind::SqliteCopy,
            format!("cannot open the database {shown}: {e}"),
        )
    })?;
    let mut header = [0u8; 16];
    let mut read = 0;
    while read < header.len() {
        match file.read(&mut header[read..]) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(e) => {
                return Err(fail(
                    CheckKind::SqliteCopy,
                    format!("cannot read the database {shown}: {e}"),
                ));
            }
        }
    }
    if read == 0 {
        return Err(fail(
            CheckKind::SqliteCopy,
            format!(
                "{shown} is empty (0 bytes): there is no database to back up; check DATABASES['default']['NAME']"
            ),
        ));
    }
    if &header[..read] != b"SQLite format 3\0" {
        return Err(fail(
            CheckKind::SqliteCopy,
            format!(
                "{shown} is not an SQLite database (it may be encrypted, e.g. with SQLCipher, \
                 or another kind of file): check DATABASES['default']['NAME']"
            ),
        ));
    }
    Ok(())
}

pub(super) fn locked(shown: &str, opts: &CopyOptions<'_>) -> CopyFailure {
    fail(
        CheckKind::SqliteCopy,
        format!(
            "the database {shown} is locked by another program writing to it (waited {} s): \
             stop the Django app or the script using it, then retry",
            opts.busy_timeout.as_secs_f32()
        ),
    )
}

/// Turn an SQLite error into a message that names the file and what to do.
pub(super) fn classify(
    shown: &str,
    kind: CheckKind,
    action: &str,
    e: &rusqlite::Error,
    opts: &CopyOptions<'_>,
) -> CopyFailure {
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy) | Some(ErrorCode::DatabaseLocked) => locked(shown, opts),
        Some(ErrorCode::NotADatabase) => fail(
            CheckKind::SqliteCopy,
            format!(
                "{shown} is not an SQLite database (it may be encrypted, e.g. with SQLCipher): \
                 check DATABASES['default']['NAME']"
            ),
        ),
        Some(ErrorCode::DatabaseCorrupt) => fail(
            CheckKind::Integrity,
            format!(
                "the database {shown} is damaged (SQLite: {e}); repair it first \
                 (e.g. `sqlite3 {shown} .recover`)"
            ),
        ),
        Some(ErrorCode::DiskFull) => fail(
            kind,
            format!(
                "the disk is full while copying {shown}: free some space or choose another backup folder"
            ),
        ),
        Some(ErrorCode::CannotOpen)
        | Some(ErrorCode::PermissionDenied)
        | Some(ErrorCode::ReadOnly) => fail(
            kind,
            format!(
                "could not {action} {shown}: {e} (check the permissions of the file and its \
                 folder; a leftover -journal file from an interrupted write is rolled back \
                 only when the app or sqlite3 opens the database once)"
            ),
        ),
        _ => fail(kind, format!("could not {action} {shown}: {e}")),
    }
}
