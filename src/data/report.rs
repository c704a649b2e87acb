//! The run's report: what the Done screen shows and what is written next to the backup as
//! `report.md` and `report.json`. Plain data, built from the run by `state::report`; it
//! never holds a secret (the password appears as a placeholder in the variables).

use crate::data::copy::{DerivedTable, TableCheck};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::PathBuf;

/// One step's outcome, in one line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepLine {
    pub step: String,
    pub status: String,
    pub text: String,
}

/// Everything the user needs after the migration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    pub project: PathBuf,
    pub steps: Vec<StepLine>,
    pub backup_dir: Option<PathBuf>,
    /// The verified SQLite copy: file, SHA-256, size.
    pub sqlite_backup: Option<(PathBuf, String, u64)>,
    /// Migration files moved into the backup (relative to the project).
    pub migrations_moved: Vec<PathBuf>,
    /// Migration files makemigrations wrote after the reset.
    pub migrations_written: Vec<PathBuf>,
    /// The permission fix that ran (recipe letter and title) and its SQL, as run.
    pub permission_fix: Option<String>,
    pub sql_run: Vec<String>,
    pub tables: Vec<TableCheck>,
    pub copy_elapsed_ms: u64,
    /// What the copy noted (kept tables, batches, lz4 compression, timings).
    #[serde(default)]
    pub copy_notes: Vec<String>,
    pub derived: Vec<DerivedTable>,
    /// The Cutover syncs that committed: the window and the rows each moved.
    #[serde(default)]
    pub cutover: Vec<crate::data::sync::SyncReport>,
    /// The Cutover step's line when no sync committed (skipped, or why not).
    #[serde(default)]
    pub cutover_note: Option<String>,
    /// The settings file changed, and where its old version is.
    pub settings_file: Option<PathBuf>,
    pub settings_backup: Option<PathBuf>,
    /// The lines that set the variables the settings read (the password as a placeholder).
    pub env_lines: Vec<String>,
    /// The managed provider and its role model, where its admin is, the recipe chosen, the
    /// pool's rule, the timeouts (`state::report::provider_notes`).
    #[serde(default)]
    pub provider: Vec<String>,
    /// What the other environments (staging, production) need.
    pub other_environments: Vec<String>,
    /// How to undo all of it.
    pub rollback: Vec<String>,
    /// The command that puts the project's files back, quoted for the shell
    /// (`dj2pg restore …`), shown on a line of its own so it pastes.
    #[serde(default)]
    pub rollback_command: Option<String>,
}

impl RunReport {
    pub fn rows_copied(&self) -> u64 {
        self.tables.iter().map(|t| t.target_rows).sum()
    }

    /// Rows per second of the copy, when it ran.
    pub fn rows_per_sec(&self) -> Option<f64> {
        (self.copy_elapsed_ms > 0)
            .then(|| self.rows_copied() as f64 * 1000.0 / self.copy_elapsed_ms as f64)
    }

    /// The Cutover section: each sync's window and the rows it moved, per table.
    fn cutover_markdown(&self, s: &mut String) {
        if self.cutover.is_empty() && self.cutover_note.is_none() {
            return;
        }
        let _ = writeln!(s, "\n## Cutover\n");
        if let Some(note) = &self.cutover_note {
            let _ = writeln!(s, "{note}\n");
        }
        for (i, r) in self.cutover.iter().enumerate() {
            let _ = writeln!(
                s,
                "Sync {}: cutover window {} (from \"the app is stopped\" to synced and \
                 verified), {} row(s) moved, {} round trip(s) to PostgreSQL; PostgreSQL matches \
                 the SQLite file as of {}.\n",
                i + 1,
                crate::data::sync::duration_text(r.cutover_ms),
                r.applied.moved(),
                r.round_trips,
                r.to_snapshot
            );
            if r.applied.tables.is_empty() {
                continue;
            }
            let _ = writeln!(
                s,
                "| table | inserted | updated | deleted | kept (PostgreSQL's) |\n|---|---:|---:|---:|---:|"
            );
            for t in &r.applied.tables {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {} |",
                    t.table,
                    t.inserted + t.reloaded.unwrap_or(0),
                    t.updated,
                    t.deleted,
                    t.kept_postgres
                );
            }
            let _ = writeln!(s);
        }
    }

    /// `report.md`.
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# dj2pg report: {}\n", self.project.display());
        let _ = writeln!(s, "## Steps\n");
        for l in &self.steps {
            let _ = writeln!(s, "- **{}** ({}): {}", l.step, l.status, l.text);
        }
        if let Some(dir) = &self.backup_dir {
            let _ = writeln!(s, "\n## Backup\n\nFolder: `{}`\n", dir.display());
            if let Some((file, sha, size)) = &self.sqlite_backup {
                let _ = writeln!(
                    s,
                    "- SQLite copy `{}`: {} bytes, SHA-256 `{sha}`",
                    file.display(),
                    size
                );
            }
        }
        if !self.migrations_moved.is_empty() {
            let _ = writeln!(s, "\n## Migration files moved into the backup\n");
            for f in &self.migrations_moved {
                let _ = writeln!(s, "- `{}`", f.display());
            }
            let _ = writeln!(s, "\nWritten by makemigrations:\n");
            for f in &self.migrations_written {
                let _ = writeln!(s, "- `{}`", f.display());
            }
        }
        if !self.provider.is_empty() {
            let _ = writeln!(s, "\n## Provider\n");
            for l in &self.provider {
                let _ = writeln!(s, "- {l}");
            }
        }
        if let Some(fix) = &self.permission_fix {
            let _ = writeln!(s, "\n## Permissions\n\n{fix}\n\n```sql");
            for q in &self.sql_run {
                let _ = writeln!(s, "{q};");
            }
            let _ = writeln!(s, "```");
        }
        if !self.tables.is_empty() {
            let _ = writeln!(s, "\n## Rows copied and verified\n");
            let _ = writeln!(
                s,
                "| table | SQLite | PostgreSQL | rejected | checksum |\n|---|---:|---:|---:|---|"
            );
            for t in &self.tables {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {} |",
                    t.table,
                    t.source_rows,
                    t.target_rows,
                    t.rejected_rows,
                    t.verdict()
                );
            }
            let rate = self
                .rows_per_sec()
                .map(|r| format!(", {r:.0} rows/s"))
                .unwrap_or_default();
            let _ = writeln!(
                s,
                "\n{} rows in {:.1} s{rate}.",
                self.rows_copied(),
                self.copy_elapsed_ms as f64 / 1000.0
            );
            for note in &self.copy_notes {
                let _ = writeln!(s, "\n- {note}");
            }
        }
        self.cutover_markdown(&mut s);
        if !self.derived.is_empty() {
            let _ = writeln!(s, "\n## Left empty, to rebuild\n");
            for d in &self.derived {
                let _ = writeln!(s, "- `{}`: {}; {}", d.table, d.reason, d.rebuild_hint());
            }
        }
        if let Some(file) = &self.settings_file {
            let _ = writeln!(
                s,
                "\n## Settings\n\n`{}` now reads DATABASES from the environment",
                file.display()
            );
            if let Some(b) = &self.settings_backup {
                let _ = writeln!(s, "(the old file is in `{}`).", b.display());
            }
        }
        if !self.env_lines.is_empty() {
            let _ = writeln!(s, "\nSet these where the app runs:\n\n```sh");
            for l in &self.env_lines {
                let _ = writeln!(s, "{l}");
            }
            let _ = writeln!(s, "```");
        }
        for (title, lines) in [
            ("Other environments", &self.other_environments),
            ("Rolling back", &self.rollback),
        ] {
            if !lines.is_empty() {
                let _ = writeln!(s, "\n## {title}\n");
                if title == "Rolling back"
                    && let Some(cmd) = &self.rollback_command
                {
                    // A fenced block of its own: copied whole, never wrapped or re-quoted.
                    let _ = writeln!(s, "```sh\n{cmd}\n```\n");
                }
                for l in lines {
                    let _ = writeln!(s, "- {l}");
                }
            }
        }
        s
    }
}
