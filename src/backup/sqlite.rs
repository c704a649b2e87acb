//! The SQLite copy: SQLite's online backup API from the source opened read-only, inside
//! one read transaction (so the copy and the source's row counts are the same snapshot,
//! and a WAL file's committed frames are included), into a temporary name; then
//! `PRAGMA integrity_check`, row counts and SHA-256 on the copy, and only then the rename.
//!
//! Invariants: the source is never opened for writing; a copy that was not verified never
//! carries the final name; the temporary files are listed in [`Created`] so a failure
//! removes them.

use super::folder::Created;
use super::hash::sha256_file;
use super::sqlite_errors::{check_header, classify, locked};
use crate::data::backup::{CheckKind, SqliteBackup, TableCount};
use rusqlite::{Connection, OpenFlags, backup::StepResult};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Why the SQLite copy stopped: the checklist item to mark failed, and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyFailure {
    pub kind: CheckKind,
    pub message: String,
}

impl std::fmt::Display for CopyFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CopyFailure {}

pub(super) fn fail(kind: CheckKind, message: String) -> CopyFailure {
    CopyFailure { kind, message }
}

/// The options of one copy.
pub struct CopyOptions<'a> {
    /// How long to wait for a writer holding the database locked.
    pub busy_timeout: Duration,
    pub cancel: &'a AtomicBool,
}

/// Bytes of the source and its `-wal` file: what the copy needs on disk, about.
pub fn source_bytes(source: &Path) -> (u64, u64) {
    let main = std::fs::metadata(source).map(|m| m.len()).unwrap_or(0);
    let wal = std::fs::metadata(wal_path(source))
        .map(|m| m.len())
        .unwrap_or(0);
    (main, wal)
}

fn wal_path(source: &Path) -> PathBuf {
    let mut s = source.as_os_str().to_os_string();
    s.push("-wal");
    PathBuf::from(s)
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}

/// Copy `source` into `dest_dir/<its file name>`, verified. See the module docs.
pub fn backup_sqlite(
    source: &Path,
    dest_dir: &Path,
    opts: &CopyOptions<'_>,
    log: &mut dyn FnMut(String),
    created: &mut Created,
) -> Result<SqliteBackup, CopyFailure> {
    let shown = source.display().to_string();
    check_header(source)?;
    let file_name = source
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "db.sqlite3".into());
    let final_path = dest_dir.join(&file_name);
    let partial = dest_dir.join(format!("{file_name}.partial"));
    check_destination_free(&final_path, &partial)?;

    let src = open_source(source, &shown, opts)?;
    let (_, wal_bytes) = source_bytes(source);
    let journal_mode: String = src
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .map_err(|e| classify(&shown, CheckKind::SqliteCopy, "read", &e, opts))?;
    let (tables, source_counts) = begin_snapshot(&src, &shown, opts)?;
    log(format!(
        "reading {shown}: {} tables, as one consistent snapshot (SQLite journal mode \
         {journal_mode}{})",
        tables.len(),
        if wal_bytes > 0 {
            format!(", {wal_bytes} bytes of WAL included")
        } else {
            String::new()
        }
    ));
    copy_to_partial(src, &partial, &shown, opts, log, created)?;

    let (integrity, copy_counts) = verify_copy(&partial, &shown, &tables, opts)?;
    let counts = compare_counts(&shown, &tables, source_counts, copy_counts)?;
    let (sha256, size) = hash_and_rename(&partial, &final_path, created)?;
    log(format!(
        "copy verified: {} ({size} bytes, sha256 {sha256})",
        final_path.display()
    ));
    Ok(SqliteBackup {
        source: source.to_path_buf(),
        file: file_name,
        size,
        sha256,
        integrity,
        source_journal_mode: journal_mode.to_lowercase(),
        source_wal_bytes: wal_bytes,
        tables: counts,
    })
}

/// The backup folder must not already hold the copy or a leftover partial copy.
fn check_destination_free(final_path: &Path, partial: &Path) -> Result<(), CopyFailure> {
    if final_path.exists() || partial.exists() {
        return Err(fail(
            CheckKind::SqliteCopy,
            format!(
                "{} already exists: choose an empty backup folder",
                final_path.display()
            ),
        ));
    }
    Ok(())
}

/// The source, opened read-only, waiting up to the busy timeout for a writer.
fn open_source(
    source: &Path,
    shown: &str,
    opts: &CopyOptions<'_>,
) -> Result<Connection, CopyFailure> {
    Connection::open_with_flags(
        source,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .and_then(|c| c.busy_timeout(opts.busy_timeout).map(|_| c))
    .map_err(|e| classify(shown, CheckKind::SqliteCopy, "open", &e, opts))
}

/// Open the read transaction that the counts and the whole copy share (one consistent
/// snapshot: in WAL mode writers go on meanwhile; in rollback mode they wait for us), and
/// count every table's rows in it.
fn begin_snapshot(
    src: &Connection,
    shown: &str,
    opts: &CopyOptions<'_>,
) -> Result<(Vec<String>, Vec<u64>), CopyFailure> {
    src.execute_batch("BEGIN")
        .map_err(|e| classify(shown, CheckKind::SqliteCopy, "read", &e, opts))?;
    let tables =
        list_tables(src).map_err(|e| classify(shown, CheckKind::SqliteCopy, "read", &e, opts))?;
    let mut source_counts = Vec::with_capacity(tables.len());
    for t in &tables {
        let n = count_rows(src, t).map_err(|e| {
            classify(
                shown,
                CheckKind::RowCounts,
                &format!("count the rows of {t} in"),
                &e,
                opts,
            )
        })?;
        source_counts.push(n);
    }
    Ok((tables, source_counts))
}

/// Copy the snapshot into `partial`, end the read transaction, and leave the copy one
/// self-contained file in rollback mode.
fn copy_to_partial(
    src: Connection,
    partial: &Path,
    shown: &str,
    opts: &CopyOptions<'_>,
    log: &mut dyn FnMut(String),
    created: &mut Created,
) -> Result<(), CopyFailure> {
    let shown_partial = partial.display().to_string();
    created.file(partial.to_path_buf());
    created.file(with_suffix(partial, "-journal"));
    let mut dst = Connection::open(partial)
        .map_err(|e| classify(&shown_partial, CheckKind::SqliteCopy, "create", &e, opts))?;
    run_backup(&src, &mut dst, shown, opts, log)?;
    let _ = src.execute_batch("COMMIT");
    drop(src);
    // The backup copies page 1 verbatim, so a WAL source gives a WAL-flagged copy, which
    // grows `-wal`/`-shm` files whenever it is opened. Rollback mode keeps the copy one
    // self-contained file whose hash does not depend on who opened it last.
    created.file(with_suffix(partial, "-wal"));
    created.file(with_suffix(partial, "-shm"));
    let mode: String = dst
        .query_row("PRAGMA journal_mode=DELETE", [], |r| r.get(0))
        .map_err(|e| classify(&shown_partial, CheckKind::SqliteCopy, "finish", &e, opts))?;
    if !mode.eq_ignore_ascii_case("delete") {
        return Err(fail(
            CheckKind::SqliteCopy,
            format!("the copy {} stayed in {mode} mode", partial.display()),
        ));
    }
    dst.close()
        .map_err(|(_, e)| classify(&shown_partial, CheckKind::SqliteCopy, "finish", &e, opts))
}

/// Each table's rows in the source and in the copy; a failure naming every table whose
/// counts differ.
fn compare_counts(
    shown: &str,
    tables: &[String],
    source_counts: Vec<u64>,
    copy_counts: Vec<u64>,
) -> Result<Vec<TableCount>, CopyFailure> {
    let mut counts = Vec::with_capacity(tables.len());
    let mut mismatches = Vec::new();
    for ((t, s), c) in tables.iter().zip(source_counts).zip(copy_counts) {
        if s != c {
            mismatches.push(format!("{t}: source {s}, copy {c}"));
        }
        counts.push(TableCount {
            table: t.clone(),
            source_rows: s,
            copy_rows: c,
        });
    }
    if !mismatches.is_empty() {
        return Err(fail(
            CheckKind::RowCounts,
            format!(
                "the copy of {shown} does not hold the same rows as the source: {}",
                mismatches.join("; ")
            ),
        ));
    }
    Ok(counts)
}

/// Hash the verified copy, then give it its final name: (sha256, size).
fn hash_and_rename(
    partial: &Path,
    final_path: &Path,
    created: &mut Created,
) -> Result<(String, u64), CopyFailure> {
    let (sha256, size) =
        sha256_file(partial).map_err(|e| fail(CheckKind::Checksum, format!("{e:#}")))?;
    std::fs::rename(partial, final_path).map_err(|e| {
        fail(
            CheckKind::Checksum,
            format!(
                "could not rename {} to its final name: {e}",
                partial.display()
            ),
        )
    })?;
    created.file(final_path.to_path_buf());
    Ok((sha256, size))
}

/// Copy `source` as it is at this moment into `dest` (a new file), for reading: the copy
/// engine's one snapshot. One read transaction around the online backup API, so every
/// table is read as of the same instant however many connections read the copy later, and
/// writers go on meanwhile (WAL mode) or wait a moment (rollback mode). The copy is left in
/// rollback mode, so opening it read-only needs no `-wal`/`-shm` files.
pub fn snapshot(source: &Path, dest: &Path, opts: &CopyOptions<'_>) -> Result<(), CopyFailure> {
    let shown = source.display().to_string();
    check_header(source)?;
    let src = open_source(source, &shown, opts)?;
    // The read transaction starts at the first read: this one.
    src.execute_batch("BEGIN; SELECT count(*) FROM sqlite_master;")
        .map_err(|e| classify(&shown, CheckKind::SqliteCopy, "read", &e, opts))?;
    let shown_dest = dest.display().to_string();
    let mut dst = Connection::open(dest)
        .map_err(|e| classify(&shown_dest, CheckKind::SqliteCopy, "create", &e, opts))?;
    run_backup(&src, &mut dst, &shown, opts, &mut |_| {})?;
    let _ = src.execute_batch("COMMIT");
    dst.query_row("PRAGMA journal_mode=DELETE", [], |r| r.get::<_, String>(0))
        .map_err(|e| classify(&shown_dest, CheckKind::SqliteCopy, "finish", &e, opts))?;
    dst.close()
        .map_err(|(_, e)| classify(&shown_dest, CheckKind::SqliteCopy, "finish", &e, opts))?;
    Ok(())
}

/// Ordinary tables (virtual tables are left out: their module may not be compiled in,
/// and their content lives in shadow tables, which are counted).
fn list_tables(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' \
         AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' ORDER BY name",
    )?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    rows.collect()
}

fn count_rows(conn: &Connection, table: &str) -> rusqlite::Result<u64> {
    let sql = format!("SELECT count(*) FROM \"{}\"", table.replace('"', "\"\""));
    conn.query_row(&sql, [], |r| r.get::<_, i64>(0))
        .map(|n| n.max(0) as u64)
}

/// Copy page by page (progress and cancel between steps). Because the source holds a read
/// transaction, the snapshot cannot change under the copy and it never restarts.
fn run_backup(
    src: &Connection,
    dst: &mut Connection,
    shown: &str,
    opts: &CopyOptions<'_>,
    log: &mut dyn FnMut(String),
) -> Result<(), CopyFailure> {
    let backup = rusqlite::backup::Backup::new(src, dst).map_err(|e| {
        classify(
            shown,
            CheckKind::SqliteCopy,
            "start the backup of",
            &e,
            opts,
        )
    })?;
    let mut deadline: Option<Instant> = None;
    let mut last_tenth = 0;
    loop {
        if opts.cancel.load(Ordering::Relaxed) {
            return Err(fail(
                CheckKind::SqliteCopy,
                format!("the backup of {shown} was cancelled; nothing was kept"),
            ));
        }
        match backup.step(1024) {
            Ok(StepResult::Done) => break,
            Ok(StepResult::More) => {
                deadline = None;
                let p = backup.progress();
                if p.pagecount > 0 {
                    let done = p.pagecount - p.remaining;
                    let tenth = done * 10 / p.pagecount;
                    if tenth > last_tenth {
                        last_tenth = tenth;
                        log(format!("copied {done} of {} pages", p.pagecount));
                    }
                }
            }
            Ok(StepResult::Busy) | Ok(StepResult::Locked) => {
                let d = *deadline.get_or_insert_with(|| Instant::now() + opts.busy_timeout);
                if Instant::now() >= d {
                    return Err(locked(shown, opts));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            Ok(_) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => return Err(classify(shown, CheckKind::SqliteCopy, "copy", &e, opts)),
        }
    }
    Ok(())
}

/// Integrity check and row counts on the copy (opened read-only).
fn verify_copy(
    partial: &Path,
    shown: &str,
    tables: &[String],
    opts: &CopyOptions<'_>,
) -> Result<(String, Vec<u64>), CopyFailure> {
    let conn = Connection::open_with_flags(partial, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| classify(shown, CheckKind::Integrity, "open the copy of", &e, opts))?;
    let mut stmt = conn
        .prepare("PRAGMA integrity_check(100)")
        .map_err(|e| classify(shown, CheckKind::Integrity, "check", &e, opts))?;
    let words: Vec<String> = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .and_then(|rows| rows.collect())
        .map_err(|e| classify(shown, CheckKind::Integrity, "check", &e, opts))?;
    drop(stmt);
    if words != ["ok"] {
        return Err(fail(
            CheckKind::Integrity,
            format!(
                "the database {shown} fails SQLite's integrity check, so it cannot be migrated \
                 safely; repair it first (e.g. `sqlite3 {shown} .recover`). The checker says:\n{}",
                words.join("\n")
            ),
        ));
    }
    let mut counts = Vec::with_capacity(tables.len());
    for t in tables {
        counts.push(count_rows(&conn, t).map_err(|e| {
            classify(
                shown,
                CheckKind::RowCounts,
                &format!("count the rows of {t} in the copy of"),
                &e,
                opts,
            )
        })?);
    }
    Ok(("ok".into(), counts))
}
