//! The IO of a resume's checks: look again at what the done steps rest on (the project's
//! files, the backup folder, the target database) and report what is there, without
//! judging it. The state machine compares it with what was recorded
//! (`state::resume::verdicts`). Read-only: nothing here writes a file or a row.
//!
//! Also the recording side: the facts a worker notes when its step finishes (the SQLite
//! file's identity, the target's identity, the migrations `django_migrations` holds).

use crate::data::resume::{
    BackupSeen, CheckInput, FileStamp, Observed, Seen, TargetIdentity, TargetSeen,
};
use crate::pg::Secret;
use anyhow::{Context, Result};
use std::path::Path;

/// The local time, as records and messages show it.
pub fn now_text() -> String {
    chrono::Local::now().format("%Y-%m-%d %H:%M").to_string()
}

/// How `path` looks to `stat`: size, times, inode.
pub fn stamp(path: &Path) -> std::io::Result<FileStamp> {
    let md = std::fs::metadata(path)?;
    let ns = |t: std::io::Result<std::time::SystemTime>| {
        t.ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_nanos() as i128)
    };
    #[cfg(unix)]
    let inode = {
        use std::os::unix::fs::MetadataExt;
        Some((md.dev(), md.ino()))
    };
    #[cfg(not(unix))]
    let inode = None;
    Ok(FileStamp {
        size: md.len(),
        modified_ns: ns(md.modified()),
        created_ns: ns(md.created()),
        inode,
    })
}

/// Which server, database and role this connection reached. The system identifier needs
/// `pg_control_system()`, which a managed server may refuse to an ordinary role: then it
/// is `None` and the database's and role's OIDs decide alone.
pub fn target_identity(client: &mut postgres::Client) -> Result<TargetIdentity> {
    let row = client
        .query_one(
            "SELECT current_database()::text, d.oid, current_user::text, r.oid
               FROM pg_database d, pg_roles r
              WHERE d.datname = current_database() AND r.rolname = current_user",
            &[],
        )
        .context("could not read the database's and the role's identity")?;
    let system_identifier = client
        .query_one(
            "SELECT system_identifier::text FROM pg_control_system()",
            &[],
        )
        .ok()
        .map(|r| r.get::<_, String>(0));
    Ok(TargetIdentity {
        system_identifier,
        database: row.get(0),
        database_oid: row.get(1),
        role: row.get(2),
        role_oid: row.get(3),
    })
}

/// The migrations `django_migrations` records, as `app.name`, sorted.
pub fn applied_migrations(client: &mut postgres::Client) -> Result<Vec<String>, String> {
    client
        .query(
            "SELECT app || '.' || name FROM django_migrations ORDER BY 1",
            &[],
        )
        .map(|rows| rows.iter().map(|r| r.get::<_, String>(0)).collect())
        .map_err(|e| db_text(&e))
}

/// Look at everything `input` names. Never fails: what cannot be looked at is reported as
/// such, so the state machine can reopen the step and say why.
pub fn observe(input: &CheckInput, password: Option<&Secret>) -> Observed {
    let mut seen = Observed {
        password_given: password.is_some(),
        ..Observed::default()
    };
    if let Some(manage) = &input.manage_py {
        seen.manage_py = Some(manage.is_file());
    }
    if let Some(sqlite) = &input.sqlite {
        seen.sqlite = Some(match stamp(sqlite) {
            Ok(s) => Seen::Found(s),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Seen::Missing,
            Err(e) => Seen::Unreadable(e.to_string()),
        });
    }
    if let Some(dir) = &input.backup_dir {
        seen.backup = Some(backup_seen(dir, input.backup_sqlite.as_deref()));
    }
    if let Some(project) = &input.project_dir {
        for moved in &input.moved {
            let path = project.join(&moved.original);
            if crate::backup::sha256_file(&path).is_ok_and(|(sha, _)| sha == moved.sha256) {
                seen.moved_back.push(moved.original.clone());
            }
        }
    }
    seen.regenerated_missing = input
        .regenerated
        .iter()
        .filter(|p| !p.is_file())
        .cloned()
        .collect();
    if let Some(target) = &input.target {
        seen.target = Some(target_seen(target, password, input));
    }
    seen
}

fn backup_seen(dir: &Path, sqlite_file: Option<&str>) -> BackupSeen {
    let dir_exists = dir.is_dir();
    let manifest = if !dir_exists || !dir.join(crate::backup::MANIFEST_FILE).exists() {
        Seen::Missing
    } else {
        match crate::backup::read_manifest(dir) {
            Ok(m) => Seen::Found(m.sqlite.map(|s| (s.size, s.sha256))),
            Err(e) => Seen::Unreadable(format!("{e:#}")),
        }
    };
    let copy_size = match sqlite_file {
        None => Seen::Found(0),
        Some(file) => match std::fs::metadata(dir.join(file)) {
            Ok(md) => Seen::Found(md.len()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Seen::Missing,
            Err(e) => Seen::Unreadable(e.to_string()),
        },
    };
    BackupSeen {
        dir_exists,
        manifest,
        copy_size,
    }
}

fn target_seen(
    target: &crate::pg::ConnConfig,
    password: Option<&Secret>,
    input: &CheckInput,
) -> Result<TargetSeen, String> {
    let mut client = target.connect(password).map_err(|e| e.message)?;
    let identity = target_identity(&mut client).map_err(|e| format!("{e:#}"))?;
    let applied = input.schema.then(|| applied_migrations(&mut client));
    let counts = input
        .tables
        .iter()
        .map(|t| {
            // Each name is already SQL: `"schema"."table"`.
            let sql = format!("SELECT count(*) FROM {t}");
            let n = client
                .query_one(sql.as_str(), &[])
                .map(|r| r.get::<_, i64>(0).max(0) as u64)
                .map_err(|e| db_text(&e));
            (t.clone(), n)
        })
        .collect();
    Ok(TargetSeen {
        identity,
        applied,
        counts,
    })
}

/// The server's own words for a failed query (`relation "x" does not exist`).
fn db_text(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db.message().to_string(),
        None => e.to_string(),
    }
}
