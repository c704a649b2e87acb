//! An earlier, finished dj2pg run on a project: recognised by the report it left next to
//! its backup (`.dj2pg/backups/<time>/report.md`). A project dj2pg already moved no longer
//! points at SQLite, so Discover fails on it; this lets the failure say what happened
//! instead (when, where the report is, how to undo it).

use super::DJ2PG_DIR;
use std::path::{Path, PathBuf};

/// The latest finished run found in `project` (or the folder below it that holds
/// `manage.py`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EarlierRun {
    /// The folder holding `manage.py` (what `dj2pg restore --project` takes).
    pub project_dir: PathBuf,
    pub backup_dir: PathBuf,
    pub report: PathBuf,
}

impl EarlierRun {
    /// When it ran, from the backup folder's name (`20261201-223045` → `2026-12-01 22:30
    /// UTC`), or the name itself.
    pub fn when(&self) -> String {
        let name = self
            .backup_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match chrono::NaiveDateTime::parse_from_str(&name[..name.len().min(15)], "%Y%m%d-%H%M%S") {
            Ok(t) => t.format("%Y-%m-%d %H:%M UTC").to_string(),
            Err(_) => name,
        }
    }

    /// A sentence for a failed Discover: what happened, the report, the restore command.
    pub fn explain(&self, why: &str) -> String {
        format!(
            "dj2pg already moved this project to PostgreSQL on {}: the report is {}. To undo \
             it (the old migrations and settings.py back): {}. (Discover: {why})",
            self.when(),
            self.report.display(),
            crate::shell::restore_command(&self.project_dir, &self.backup_dir)
        )
    }
}

pub fn latest_finished_run(project: &Path) -> Option<EarlierRun> {
    let mut candidates = vec![project.to_path_buf()];
    if let Ok(entries) = std::fs::read_dir(project) {
        candidates.extend(
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.join("manage.py").is_file()),
        );
    }
    candidates
        .into_iter()
        .filter_map(|dir| {
            let backups = dir.join(DJ2PG_DIR).join("backups");
            let latest = std::fs::read_dir(&backups)
                .ok()?
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.join("report.md").is_file())
                .max()?;
            Some(EarlierRun {
                report: latest.join("report.md"),
                backup_dir: latest,
                project_dir: dir,
            })
        })
        .max_by(|a, b| a.backup_dir.file_name().cmp(&b.backup_dir.file_name()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_report_is_found_and_dated() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(latest_finished_run(tmp.path()), None);
        for (name, report) in [
            ("20261201-100000", true),
            ("20261202-093000", true),
            ("20261203-080000", false),
        ] {
            let dir = tmp.path().join(".dj2pg/backups").join(name);
            std::fs::create_dir_all(&dir).unwrap();
            if report {
                std::fs::write(dir.join("report.md"), "# dj2pg report").unwrap();
            }
        }
        let run = latest_finished_run(tmp.path()).unwrap();
        assert!(run.backup_dir.ends_with("20261202-093000"), "{run:?}");
        assert_eq!(run.when(), "2026-12-02 09:30 UTC");
        let said = run.explain("not SQLite");
        assert!(
            said.contains("already moved") && said.contains("dj2pg restore"),
            "{said}"
        );
    }
}
