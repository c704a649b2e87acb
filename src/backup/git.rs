//! The project's git state, read with `git status --porcelain` (never changed).

use crate::data::backup::GitState;
use std::path::Path;
use std::process::Command;

/// Is `project_dir` a clean git tree, a dirty one (with the changed files), or not a
/// repository at all? A missing `git` counts as "not a repository", with the reason.
pub fn git_state(project_dir: &Path) -> GitState {
    let output = Command::new("git")
        .arg("-C")
        .arg(project_dir)
        .args(["status", "--porcelain=v1", "--untracked-files=all"])
        // A user's pager or locale must not change what we parse.
        .env("GIT_PAGER", "cat")
        .env("LC_ALL", "C")
        .output();
    let output = match output {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return GitState::NotARepository {
                reason: "git is not installed (or not on PATH): the code cannot be checked".into(),
            };
        }
        Err(e) => {
            return GitState::NotARepository {
                reason: format!("git could not run: {e}"),
            };
        }
    };
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let first = stderr.lines().next().unwrap_or("").trim();
        let reason = if first.contains("not a git repository") {
            format!(
                "{} is not in a git repository: commit the code first, or accept that \
                 only the backup folder can bring it back",
                project_dir.display()
            )
        } else {
            format!("git status failed: {first}")
        };
        return GitState::NotARepository { reason };
    }
    let changed: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        // Our own folder is ignored once .gitignore is updated; before that it is noise.
        .filter(|l| {
            let path = porcelain_path(l);
            !(path.starts_with(super::DJ2PG_DIR) && path[super::DJ2PG_DIR.len()..].starts_with('/'))
        })
        // A SQLite file's own -wal/-shm/-journal come and go while the app runs: they are
        // the database's state (the backup reads it), not uncommitted code.
        .filter(|l| !is_sqlite_side_file(project_dir, porcelain_path(l)))
        .map(str::to_string)
        .collect();
    if changed.is_empty() {
        GitState::Clean
    } else {
        GitState::Dirty { changed }
    }
}

/// The path part of a porcelain v1 line (`XY path`).
fn porcelain_path(line: &str) -> &str {
    line.get(3..).unwrap_or("").trim_matches('"')
}

/// `path` (relative to the project) is `X-wal`, `X-shm` or `X-journal` next to a file `X`.
fn is_sqlite_side_file(project_dir: &Path, path: &str) -> bool {
    ["-wal", "-shm", "-journal"].iter().any(|suffix| {
        path.strip_suffix(suffix)
            .is_some_and(|db| !db.is_empty() && project_dir.join(db).is_file())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sqlite_files_wal_and_shm_are_not_uncommitted_code() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("db.sqlite3"), b"").unwrap();
        assert!(is_sqlite_side_file(dir.path(), "db.sqlite3-wal"));
        assert!(is_sqlite_side_file(dir.path(), "db.sqlite3-shm"));
        assert!(is_sqlite_side_file(dir.path(), "db.sqlite3-journal"));
        // Without the database beside it, a file of that name is the user's.
        assert!(!is_sqlite_side_file(dir.path(), "other.db-wal"));
        assert!(!is_sqlite_side_file(dir.path(), "-wal"));
        assert!(!is_sqlite_side_file(dir.path(), "notes.txt"));
    }

    #[test]
    fn a_clean_tree_with_a_live_wal_database_is_clean() {
        let dir = tempfile::tempdir().unwrap();
        let git = |args: &[&str]| {
            let out = Command::new("git")
                .arg("-C")
                .arg(dir.path())
                .args(args)
                .output()
                .unwrap();
            assert!(out.status.success(), "{args:?}: {out:?}");
        };
        git(&["init", "-q"]);
        std::fs::write(dir.path().join("db.sqlite3"), b"x").unwrap();
        git(&["add", "-A"]);
        git(&[
            "-c",
            "user.email=t@t",
            "-c",
            "user.name=t",
            "commit",
            "-qm",
            "init",
        ]);
        std::fs::write(dir.path().join("db.sqlite3-wal"), b"w").unwrap();
        std::fs::write(dir.path().join("db.sqlite3-shm"), b"s").unwrap();
        assert_eq!(git_state(dir.path()), GitState::Clean);
        std::fs::write(dir.path().join("views.py"), b"").unwrap();
        assert!(matches!(git_state(dir.path()), GitState::Dirty { .. }));
    }

    #[test]
    fn porcelain_path_skips_the_status_columns() {
        assert_eq!(porcelain_path(" M a/b.py"), "a/b.py");
        assert_eq!(porcelain_path("?? .dj2pg/"), ".dj2pg/");
        assert_eq!(porcelain_path("?"), "");
    }
}
