//! The flags of a resumed headless run that differ from the saved run: applied (reopening
//! what they affect) or refused, naming the flag; never ignored.

use super::{dependents, done, reopen};
use crate::data::pg::ConnConfig;
use crate::data::settings::SettingsStyle;
use crate::state::{Migration, RunOptions, Status, Step};

/// The flags of a resumed headless run that a saved run can differ in.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Flags {
    /// The run options as the flags give them now (`project` is the same by construction).
    pub options: RunOptions,
    /// `--to`, when given.
    pub target: Option<ConnConfig>,
    /// `--settings-style`, when given.
    pub settings_style: Option<SettingsStyle>,
}

/// What became of one flag that differs from the saved run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FlagOutcome {
    /// Applied; the steps it reopened (none when it only changes how later work runs).
    Applied {
        flag: &'static str,
        text: String,
        reopened: Vec<Step>,
    },
    /// Refused: the run is left as it was; the text says why and what to do.
    Refused { flag: &'static str, text: String },
}

/// `--reset-migrations`' value with its default spelled out.
fn reset_spec(spec: &str) -> String {
    let spec = spec.trim();
    if spec.is_empty() {
        "none".into()
    } else {
        spec.to_string()
    }
}

/// Compare the flags of a resumed run with the saved run. When one is refused, the run is
/// left exactly as it was and only the refusals are returned; otherwise every difference
/// is applied (steps reopened as needed) and listed.
pub fn apply_flags(m: &mut Migration, flags: &Flags) -> Vec<FlagOutcome> {
    let mut trial = m.clone();
    let outcomes = apply_flags_to(&mut trial, flags);
    let refused: Vec<FlagOutcome> = outcomes
        .iter()
        .filter(|o| matches!(o, FlagOutcome::Refused { .. }))
        .cloned()
        .collect();
    if !refused.is_empty() {
        return refused;
    }
    *m = trial;
    outcomes
}

fn apply_flags_to(m: &mut Migration, flags: &Flags) -> Vec<FlagOutcome> {
    let mut out = Vec::new();
    python_flag(m, flags, &mut out);
    backup_dir_flag(m, flags, &mut out);
    reset_flag(m, flags, &mut out);
    target_flag(m, flags, &mut out);
    settings_style_flag(m, flags, &mut out);
    copy_flags(m, &flags.options, &mut out);
    out
}

fn applied(flag: &'static str, text: String, reopened: Vec<Step>) -> FlagOutcome {
    FlagOutcome::Applied {
        flag,
        text,
        reopened,
    }
}

/// `--python`: Discover (and all after it) runs again with the new interpreter.
fn python_flag(m: &mut Migration, flags: &Flags, out: &mut Vec<FlagOutcome>) {
    let Some(python) = &flags.options.python else {
        return;
    };
    if m.options.python.as_ref() == Some(python) {
        return;
    }
    let text = format!(
        "--python {} (the saved run used {})",
        python.display(),
        m.options.python.as_ref().map_or_else(
            || "the one Discover found".into(),
            |p| p.display().to_string()
        )
    );
    m.options.python = Some(python.clone());
    let steps = reopen_for(m, Step::Discover, "--python");
    out.push(applied("--python", text, steps));
}

/// `--backup-dir`: refused once the reset moved the old migrations into the saved folder.
fn backup_dir_flag(m: &mut Migration, flags: &Flags, out: &mut Vec<FlagOutcome>) {
    let Some(dir) = &flags.options.backup_dir else {
        return;
    };
    if m.options.backup_dir.as_ref() == Some(dir) {
        return;
    }
    let was = m
        .options
        .backup_dir
        .as_ref()
        .map_or_else(|| "the default folder".into(), |p| p.display().to_string());
    if done(m, Step::ResetMigrations) {
        out.push(FlagOutcome::Refused {
            flag: "--backup-dir",
            text: format!(
                "--backup-dir {} differs from the saved run's ({was}), whose reset moved \
                 the old migrations into {}: a new backup folder would not hold them. \
                 Run again without --backup-dir (or with the same one), or start over \
                 with --fresh after putting the old migrations back (dj2pg restore).",
                dir.display(),
                m.backup
                    .report
                    .as_ref()
                    .map_or_else(|| was.clone(), |b| b.backup_dir.display().to_string())
            ),
        });
        return;
    }
    m.options.backup_dir = Some(dir.clone());
    let steps = if done(m, Step::Backup) {
        reopen_for(m, Step::Backup, "--backup-dir")
    } else {
        Vec::new()
    };
    out.push(applied(
        "--backup-dir",
        format!("--backup-dir {} (the saved run: {was})", dir.display()),
        steps,
    ));
}

/// `--reset-migrations`: refused once the reset or the schema it feeds is done.
fn reset_flag(m: &mut Migration, flags: &Flags, out: &mut Vec<FlagOutcome>) {
    let new = &flags.options;
    let (Some(old), Some(spec)) = (&m.options.reset_migrations, &new.reset_migrations) else {
        if m.options.reset_migrations.is_none() {
            m.options.reset_migrations = new.reset_migrations.clone();
        }
        return;
    };
    let (old, spec) = (reset_spec(old), reset_spec(spec));
    if old == spec {
        return;
    }
    if done(m, Step::ResetMigrations) {
        out.push(FlagOutcome::Refused {
            flag: "--reset-migrations",
            text: format!(
                "--reset-migrations={spec} differs from the saved run's \
                 --reset-migrations={old}, whose reset is done (the files are moved and \
                 regenerated). Run again with --reset-migrations={old} to go on, or put \
                 the old migrations back ({}) and start over with --fresh.",
                crate::state::restore_hint(m)
            ),
        });
    } else if done(m, Step::CreateSchema) {
        out.push(FlagOutcome::Refused {
            flag: "--reset-migrations",
            text: format!(
                "--reset-migrations={spec} differs from the saved run's \
                 --reset-migrations={old}, and the schema on PostgreSQL was already \
                 created from the migrations as they were. Run again with \
                 --reset-migrations={old}, or start over with --fresh."
            ),
        });
    } else {
        m.options.reset_migrations = Some(spec.clone());
        m.reset.selection.clear();
        let steps = reopen_for(m, Step::ResetMigrations, "--reset-migrations");
        out.push(applied(
            "--reset-migrations",
            format!("--reset-migrations={spec} (the saved run: {old})"),
            steps,
        ));
    }
}

/// `--to` another target than the one a done Connect reached: Connect and after reopen.
fn target_flag(m: &mut Migration, flags: &Flags, out: &mut Vec<FlagOutcome>) {
    let Some(to) = &flags.target else {
        return;
    };
    if !(m.connect.target.as_ref().is_some_and(|t| t != to) && done(m, Step::Connect)) {
        return;
    }
    let was = m
        .connect
        .target
        .as_ref()
        .map(ConnConfig::display_url)
        .unwrap_or_default();
    let steps = reopen_for(m, Step::Connect, "--to");
    out.push(applied(
        "--to",
        format!("--to {} (the saved run: {was})", to.display_url()),
        steps,
    ));
}

/// `--settings-style`: refused once settings.py was rewritten the other way.
fn settings_style_flag(m: &mut Migration, flags: &Flags, out: &mut Vec<FlagOutcome>) {
    let Some(style) = flags.settings_style else {
        return;
    };
    if style == m.settings_style {
        return;
    }
    let (now, was) = (style.as_str(), m.settings_style.as_str());
    if m.settings.applied.is_some() {
        out.push(FlagOutcome::Refused {
            flag: "--settings-style",
            text: format!(
                "--settings-style {now} differs from the saved run's ({was}), and \
                 settings.py was already rewritten that way. Run again with \
                 --settings-style {was}, or put the old settings back ({}) first.",
                crate::state::restore_hint(m)
            ),
        });
        return;
    }
    m.settings_style = style;
    let steps = if done(m, Step::UpdateSettings) {
        reopen_for(m, Step::UpdateSettings, "--settings-style")
    } else {
        Vec::new()
    };
    out.push(applied(
        "--settings-style",
        format!("--settings-style {now} (the saved run: {was})"),
        steps,
    ));
}

/// How the copy runs: the rows it leaves are the same whatever these say, so a done,
/// verified copy stands; they apply to any copy still to run.
fn copy_flags(m: &mut Migration, new: &RunOptions, out: &mut Vec<FlagOutcome>) {
    let note = if done(m, Step::CopyRows) {
        "; Copy rows is done and verified, so it does not run again"
    } else {
        ""
    };
    let mut copy_flag = |flag: &'static str, changed: bool, text: String| {
        if changed {
            out.push(applied(flag, format!("{text}{note}"), Vec::new()));
        }
    };
    let old = m.options.clone();
    copy_flag(
        "--jobs",
        new.jobs != old.jobs,
        format!("--jobs {} (the saved run: {})", new.jobs, old.jobs),
    );
    copy_flag(
        "--bulk-min-rows",
        new.bulk_min_rows.is_some() && new.bulk_min_rows != old.bulk_min_rows,
        format!(
            "--bulk-min-rows {} (the saved run: {})",
            opt(new.bulk_min_rows),
            opt(old.bulk_min_rows)
        ),
    );
    copy_flag(
        "--batch-rows",
        new.batch_rows.is_some() && new.batch_rows != old.batch_rows,
        format!(
            "--batch-rows {} (the saved run: {})",
            opt(new.batch_rows),
            opt(old.batch_rows)
        ),
    );
    copy_flag(
        "--server-compression",
        new.lz4.is_some() && new.lz4 != old.lz4,
        format!(
            "--server-compression {} (the saved run: {})",
            if new.lz4 == Some(false) { "on" } else { "off" },
            if old.lz4 == Some(false) { "on" } else { "off" }
        ),
    );
    copy_flag(
        "--rejects",
        new.rejects_dir.is_some() && new.rejects_dir != old.rejects_dir,
        format!(
            "--rejects {} (the saved run: {})",
            path_or(&new.rejects_dir),
            path_or(&old.rejects_dir)
        ),
    );
    copy_flag(
        "--leave-behind",
        new.leave_behind != old.leave_behind,
        format!(
            "--leave-behind {} (the saved run: {})",
            list_or_none(&new.leave_behind),
            list_or_none(&old.leave_behind)
        ),
    );
    m.options.jobs = new.jobs;
    m.options.leave_behind = new.leave_behind.clone();
    if new.bulk_min_rows.is_some() {
        m.options.bulk_min_rows = new.bulk_min_rows;
    }
    if new.batch_rows.is_some() {
        m.options.batch_rows = new.batch_rows;
    }
    if new.lz4.is_some() {
        m.options.lz4 = new.lz4;
    }
    if new.rejects_dir.is_some() {
        m.options.rejects_dir = new.rejects_dir.clone();
    }
}

fn list_or_none(names: &[String]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(",")
    }
}

/// Reopen `step` and what rests on it because `flag` changed; the steps that were not
/// pending already (what the change undoes).
fn reopen_for(m: &mut Migration, step: Step, flag: &str) -> Vec<Step> {
    let mut steps = vec![step];
    steps.extend(dependents(step));
    steps.retain(|s| {
        matches!(
            m.status(*s),
            Status::Done { .. }
                | Status::Skipped { .. }
                | Status::Failed { .. }
                | Status::Stopped { .. }
                | Status::NeedsDecision { .. }
        )
    });
    if !steps.is_empty() {
        reopen(m, &[(step, format!("{flag} differs from the saved run"))]);
    }
    steps
}

fn opt(n: Option<u64>) -> String {
    n.map_or_else(|| "the default".into(), |n| n.to_string())
}

fn path_or(p: &Option<std::path::PathBuf>) -> String {
    p.as_ref()
        .map_or_else(|| "none".into(), |p| p.display().to_string())
}
