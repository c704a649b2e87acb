//! Text forms of the reports, for `dj2pg restore` and the headless runner.

use crate::data::backup::{BackupReport, CheckStatus, RestoreReport};
use std::path::Path;
use std::process::ExitCode;

/// The lines `dj2pg restore` prints.
pub fn restore_lines(r: &RestoreReport) -> Vec<String> {
    let mut out = Vec::new();
    for p in &r.restored {
        out.push(format!("restored   {}", p.display()));
    }
    for p in &r.already_in_place {
        out.push(format!("in place   {}", p.display()));
    }
    for m in &r.displaced {
        out.push(format!(
            "archived   {} -> {}",
            m.original.display(),
            m.archived.display()
        ));
    }
    for c in &r.conflicts {
        out.push(format!("CONFLICT   {}: {}", c.path.display(), c.reason));
    }
    for n in &r.notes {
        out.push(format!("note: {n}"));
    }
    out.push(if r.applied {
        format!(
            "restore done: {} file(s) put back (verified by SHA-256), {} moved into the archive",
            r.restored.len(),
            r.displaced.len()
        )
    } else {
        format!(
            "restore stopped: {} conflict(s), nothing was changed",
            r.conflicts.len()
        )
    });
    out
}

/// The Backup checklist as lines (`[ok] SQLite copy ...`).
pub fn backup_lines(r: &BackupReport) -> Vec<String> {
    let mut out = Vec::new();
    for item in &r.checklist {
        let mark = match item.status {
            CheckStatus::Pending => "[  ]",
            CheckStatus::Ok => "[ok]",
            CheckStatus::Warning => "[!!]",
            CheckStatus::Failed => "[XX]",
            CheckStatus::Skipped => "[--]",
        };
        out.push(format!("{mark} {}: {}", item.kind.title(), item.summary));
        out.extend(item.detail.iter().map(|d| format!("       {d}")));
    }
    out
}

/// `dj2pg restore --project DIR --backup DIR [--yes]`: print the report; exit 0 when
/// restored, 1 when conflicts stopped it.
pub fn restore_command(project: &Path, backup: &Path, yes: bool) -> anyhow::Result<ExitCode> {
    let report = super::restore(project, backup, yes)?;
    for line in restore_lines(&report) {
        println!("{line}");
    }
    Ok(if report.applied {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
