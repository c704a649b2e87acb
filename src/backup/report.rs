//! Text forms of the reports, for `dj2pg restore` and the headless runner.

use crate::data::backup::{BackupReport, CheckStatus, MigrationScan, RestoreReport};
use crate::units::human_bytes;
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

/// The reset preview as a tree (what the headless runner prints for
/// `--reset-migrations`): per app the files that would go with their warnings, third-party
/// apps as kept, totals, and the reasons keeping them may be wiser.
pub fn reset_preview_lines(
    scan: &MigrationScan,
    selected: &[String],
    applied_elsewhere: bool,
) -> Vec<String> {
    let mut out = Vec::new();
    for app in &scan.apps {
        if !app.local {
            continue;
        }
        let chosen = selected.contains(&app.label);
        let dir = app
            .migrations_dir
            .as_ref()
            .map(|d| d.display().to_string())
            .unwrap_or_else(|| "(no migrations folder)".into());
        out.push(format!(
            "{} {} ({dir}): {} file(s), {}",
            if chosen { "[x]" } else { "[ ]" },
            app.label,
            app.files.len(),
            human_bytes(app.total_bytes())
        ));
        out.extend(app.notes.iter().map(|n| format!("    note: {n}")));
        let n = app.files.len();
        for (i, f) in app.files.iter().enumerate() {
            let branch = if i + 1 == n { "└─" } else { "├─" };
            out.push(format!("    {branch} {}", f.rel_path));
            let pipe = if i + 1 == n { " " } else { "│" };
            out.extend(
                f.warnings
                    .iter()
                    .map(|w| format!("    {pipe}    ! {}", w.message())),
            );
        }
    }
    let kept = scan.kept_labels();
    if !kept.is_empty() {
        out.push(format!("kept (third-party): {}", kept.join(", ")));
    }
    let (files, bytes) = scan.totals(selected);
    out.push(format!(
        "would move {files} file(s), {} from {} app(s) into the backup",
        human_bytes(bytes),
        selected.len()
    ));
    out.extend(
        scan.keep_hints(selected, applied_elsewhere)
            .into_iter()
            .map(|h| format!("consider keeping them: {h}")),
    );
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::backup::{
        AppScan, FileToGo, MigrationFileKind, MigrationWarning, MigrationsSetup,
    };

    #[test]
    fn preview_shows_the_tree_warnings_kept_apps_and_totals() {
        let scan = MigrationScan {
            apps: vec![
                AppScan {
                    label: "shop".into(),
                    name: "shop".into(),
                    local: true,
                    migrations_module: Some("shop.migrations".into()),
                    migrations_dir: Some("/p/shop/migrations".into()),
                    setup: MigrationsSetup::Standard,
                    files: vec![
                        FileToGo {
                            rel_path: "0001_initial.py".into(),
                            kind: MigrationFileKind::Migration,
                            size: 2048,
                            warnings: vec![],
                        },
                        FileToGo {
                            rel_path: "0002_seed.py".into(),
                            kind: MigrationFileKind::Migration,
                            size: 100,
                            warnings: vec![MigrationWarning::RunPython { elidable: false }],
                        },
                    ],
                    notes: vec![],
                },
                AppScan {
                    label: "auth".into(),
                    name: "django.contrib.auth".into(),
                    local: false,
                    migrations_module: None,
                    migrations_dir: None,
                    setup: MigrationsSetup::Standard,
                    files: vec![],
                    notes: vec![],
                },
            ],
            warnings: vec![],
        };
        let lines = reset_preview_lines(&scan, &["shop".into()], false);
        let text = lines.join("\n");
        assert!(
            text.starts_with("[x] shop (/p/shop/migrations): 2 file(s)"),
            "{text}"
        );
        assert!(
            text.contains("├─ 0001_initial.py\n    └─ 0002_seed.py\n         ! RunPython"),
            "{text}"
        );
        assert!(text.contains("kept (third-party): auth"), "{text}");
        assert!(text.contains("would move 2 file(s)"), "{text}");
        assert!(text.contains("consider keeping them: shop"), "{text}");
    }
}
