//! A resume checks before it trusts. Pure: the worker (`crate::resume_check`) looks, this
//! module judges.
//!
//! - While a run goes, workers record what a finished step rests on ([`Witness`]): the
//!   SQLite file's identity (Discover), the target's identity (Connect), the migrations
//!   `django_migrations` holds (Create schema), when the copy ended. Backup, Reset
//!   migrations and Copy rows rest on their own reports, already in the run.
//! - When a saved run is resumed, one read-only job looks at all of it again
//!   ([`check_input`] → `Effect::CheckResume` → `JobEvent::Checked`).
//! - [`verdicts`] says, per done step, whether its result still stands, with a sentence
//!   naming what changed; [`reopen`] sends a step whose result is gone back to pending,
//!   with every step that rests on it ([`rests_on`]). A check that could not be made (no
//!   password, server down) never passes: the step is reopened and the sentence says why.
//! - [`apply_flags`]: flags of a resumed headless run that differ from the saved run are
//!   applied (reopening what they affect) or refused, naming the flag; never ignored.

use super::update::set_status;
use super::{CopyAnswers, Effect, Migration, RunOptions, Status, Step};
use crate::data::pg::ConnConfig;
use crate::data::resume::{
    CheckInput, FileStamp, Observed, Record, Seen, TargetIdentity, TargetSeen,
};
use crate::data::settings::SettingsStyle;
use serde::{Deserialize, Serialize};

/// What done steps rest on, recorded when they finished (local time as text).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Witness {
    /// Discover: the SQLite file.
    pub sqlite: Option<(FileStamp, String)>,
    /// Connect: the database, role and server reached.
    pub target: Option<(TargetIdentity, String)>,
    /// Create schema: `django_migrations` after `migrate`.
    pub schema: Option<(Vec<String>, String)>,
    /// Copy rows: when the verified copy ended.
    pub copied_at: Option<String>,
}

/// One step's result on resume: still standing, or reopened, with the sentence saying so.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub step: Step,
    pub holds: bool,
    pub text: String,
}

/// The steps whose result `step` uses directly. Everything a step's check covers is
/// redone when it fails, and so is every step resting on it, directly or not.
pub fn rests_on(step: Step) -> &'static [Step] {
    match step {
        Step::Discover | Step::Connect => &[],
        Step::Backup => &[Step::Discover],
        // The reset moved the old files into the backup folder.
        Step::ResetMigrations => &[Step::Discover, Step::Backup],
        Step::DryRun => &[Step::Discover, Step::ResetMigrations],
        Step::FixPermissions => &[Step::Connect],
        // migrate applies the migration files, as the role the permission fix made able.
        Step::CreateSchema => &[
            Step::Discover,
            Step::ResetMigrations,
            Step::Connect,
            Step::FixPermissions,
        ],
        Step::CopyRows => &[Step::Discover, Step::CreateSchema],
        // The sync applies what changed since the copy's snapshot.
        Step::Cutover => &[Step::CopyRows],
        // The old settings go into the backup folder; validation reads the schema.
        Step::UpdateSettings => &[
            Step::Discover,
            Step::Backup,
            Step::Connect,
            Step::CreateSchema,
        ],
        Step::Done => &[
            Step::Backup,
            Step::ResetMigrations,
            Step::DryRun,
            Step::FixPermissions,
            Step::CopyRows,
            Step::UpdateSettings,
        ],
    }
}

/// Every step resting on `step`, directly or through others, in wizard order.
pub fn dependents(step: Step) -> Vec<Step> {
    let mut out: Vec<Step> = Vec::new();
    for s in Step::ALL {
        if rests_on(s).iter().any(|d| *d == step || out.contains(d)) {
            out.push(s);
        }
    }
    out
}

/// Keep a fact a worker recorded.
pub(super) fn record(m: &mut Migration, r: Record) {
    match r {
        Record::Sqlite { stamp, at } => m.witness.sqlite = Some((stamp, at)),
        Record::Target { identity, at } => m.witness.target = Some((identity, at)),
        Record::Schema { applied, at } => m.witness.schema = Some((applied, at)),
        Record::Copied { at } => m.witness.copied_at = Some(at),
    }
}

fn done(m: &Migration, step: Step) -> bool {
    matches!(m.status(step), Status::Done { .. })
}

/// What the resume check must look at: what the done steps rest on, nothing else.
pub fn check_input(m: &Migration) -> CheckInput {
    let mut input = CheckInput::default();
    if done(m, Step::Discover)
        && let Some(d) = &m.discovery
    {
        input.manage_py = Some(d.manage_py.clone());
        input.sqlite = m.sqlite_path().cloned();
    }
    if done(m, Step::Backup)
        && let Some(b) = &m.backup
    {
        input.backup_dir = Some(b.backup_dir.clone());
        input.backup_sqlite = b.sqlite.as_ref().map(|s| s.file.clone());
    }
    if done(m, Step::ResetMigrations)
        && let (Some(d), Some(r)) = (&m.discovery, &m.reset_report)
    {
        input.project_dir = Some(d.project_dir.clone());
        input.moved = r.moved.clone();
        input.regenerated = m
            .regenerated
            .as_ref()
            .map(|g| g.created.clone())
            .unwrap_or_default();
    }
    let on_target = [
        Step::Connect,
        Step::FixPermissions,
        Step::CreateSchema,
        Step::CopyRows,
    ];
    if on_target.iter().any(|s| done(m, *s)) {
        input.target = m.target.clone();
    }
    input.schema = done(m, Step::CreateSchema);
    if done(m, Step::CopyRows)
        && let Some(r) = &m.copy_report
    {
        input.tables = r.checks.iter().map(|c| c.target_sql()).collect();
    }
    input
}

/// Whether a resumed run has anything to check.
fn anything_done(m: &Migration) -> bool {
    m.steps
        .iter()
        .any(|s| matches!(s.status, Status::Done { .. }))
}

/// Start the resume check (on `Msg::Resume(true)`), when a step is done.
pub(super) fn start_check(m: &mut Migration, fx: &mut Vec<Effect>) {
    m.resume_findings.clear();
    if !anything_done(m) || m.job.is_some() {
        return;
    }
    let job = m.next_job;
    m.next_job += 1;
    // The job belongs to no step's status: nothing runs on screen, and no step is started
    // until it reports.
    m.job = Some((job, m.cursor));
    m.resume_check = Some(job);
    fx.push(Effect::CheckResume {
        job,
        input: Box::new(check_input(m)),
    });
}

/// The resume check reported: judge, reopen what no longer stands.
pub(super) fn checked(m: &mut Migration, seen: &Observed, fx: &mut Vec<Effect>) {
    m.job = None;
    m.resume_check = None;
    let findings = verdicts(m, seen);
    let gone: Vec<(Step, String)> = findings
        .iter()
        .filter(|f| !f.holds)
        .map(|f| (f.step, f.text.clone()))
        .collect();
    m.resume_findings = findings;
    let more = reopen(m, &gone);
    m.resume_findings.extend(more);
    // In wizard order, as the steps are shown.
    m.resume_findings.sort_by_key(|f| f.step);
    fx.push(Effect::Save);
}

/// The resume check could not run (or was cancelled): nothing done is trusted.
pub(super) fn check_failed(m: &mut Migration, why: &str, fx: &mut Vec<Effect>) {
    m.job = None;
    m.resume_check = None;
    let gone: Vec<(Step, String)> = Step::ALL
        .iter()
        .filter(|s| done(m, **s))
        .map(|s| {
            (
                *s,
                format!("the resume check could not tell whether it still stands ({why})"),
            )
        })
        .collect();
    m.resume_findings = gone
        .iter()
        .map(|(step, text)| Finding {
            step: *step,
            holds: false,
            text: text.clone(),
        })
        .collect();
    let more = reopen(m, &gone);
    m.resume_findings.extend(more);
    fx.push(Effect::Save);
}

fn found(step: Step, holds: bool, text: String) -> Finding {
    Finding { step, holds, text }
}

/// Per done step: does its result still stand, given what the check saw? Pure.
pub fn verdicts(m: &Migration, seen: &Observed) -> Vec<Finding> {
    let mut out = Vec::new();
    if done(m, Step::Discover) {
        out.push(discover_verdict(m, seen));
    }
    if done(m, Step::Backup)
        && let Some(f) = backup_verdict(m, seen)
    {
        out.push(f);
    }
    if done(m, Step::ResetMigrations) {
        out.push(reset_verdict(seen));
    }
    if let Some(target) = &seen.target {
        out.extend(target_verdicts(m, target, seen.password_given));
    }
    out
}

fn discover_verdict(m: &Migration, seen: &Observed) -> Finding {
    let step = Step::Discover;
    let project = m.options.project.display();
    if seen.manage_py == Some(false) {
        return found(step, false, format!("manage.py is gone from {project}"));
    }
    let Some(path) = m.sqlite_path() else {
        return found(
            step,
            true,
            "the project is still there (it has no SQLite file)".into(),
        );
    };
    let path = path.display();
    match (&seen.sqlite, &m.witness.sqlite) {
        (None, _) => found(step, true, format!("the project is still at {project}")),
        (Some(Seen::Missing), _) => found(step, false, format!("the SQLite file {path} is gone")),
        (Some(Seen::Unreadable(e)), _) => found(
            step,
            false,
            format!("the SQLite file {path} cannot be looked at ({e})"),
        ),
        (Some(Seen::Found(_)), None) => found(
            step,
            false,
            format!(
                "nothing was recorded about the SQLite file {path} when Discover ran, so it \
                 cannot be told the same"
            ),
        ),
        (Some(Seen::Found(now)), Some((then, at))) => {
            if then.replaced_by(now) {
                found(
                    step,
                    false,
                    format!(
                        "the SQLite file {path} is another file than the one Discover found \
                         on {at} (the project was replaced, or the file copied over)"
                    ),
                )
            } else {
                found(
                    step,
                    true,
                    format!("the SQLite file {path} is the same file"),
                )
            }
        }
    }
}

fn backup_verdict(m: &Migration, seen: &Observed) -> Option<Finding> {
    let step = Step::Backup;
    let report = m.backup.as_ref()?;
    let dir = report.backup_dir.display();
    let Some(b) = &seen.backup else {
        return Some(found(
            step,
            false,
            format!("the backup folder {dir} was not checked"),
        ));
    };
    if !b.dir_exists {
        return Some(found(
            step,
            false,
            format!("the backup folder {dir} is gone"),
        ));
    }
    let manifest = match &b.manifest {
        Seen::Missing => Err(format!(
            "the backup folder {dir} has no manifest.json any more"
        )),
        Seen::Unreadable(e) => Err(format!("the manifest of {dir} cannot be read ({e})")),
        Seen::Found(recorded) => match (&report.sqlite, recorded) {
            (Some(made), Some((size, sha))) if (made.size, &made.sha256) != (*size, sha) => {
                Err(format!(
                    "the manifest of {dir} describes another SQLite copy (sha256 {}…) than \
                     the one this run made (sha256 {}…)",
                    short(sha),
                    short(&made.sha256)
                ))
            }
            (Some(_), None) => Err(format!(
                "the manifest of {dir} no longer lists the SQLite copy"
            )),
            _ => Ok(()),
        },
    };
    if let Err(text) = manifest {
        return Some(found(step, false, text));
    }
    if let Some(made) = &report.sqlite {
        let file = report.backup_dir.join(&made.file);
        let file = file.display();
        let bad = match &b.copy_size {
            Seen::Missing => Some(format!("the SQLite copy {file} is gone")),
            Seen::Unreadable(e) => Some(format!("the SQLite copy {file} cannot be read ({e})")),
            Seen::Found(n) if *n != made.size => Some(format!(
                "the SQLite copy {file} has {n} bytes; the backup made {}",
                made.size
            )),
            Seen::Found(_) => None,
        };
        if let Some(text) = bad {
            return Some(found(step, false, text));
        }
    }
    Some(found(
        step,
        true,
        format!("the backup folder {dir}, its manifest and the SQLite copy are as made"),
    ))
}

fn short(sha: &str) -> String {
    sha.chars().take(12).collect()
}

fn some_paths(paths: &[std::path::PathBuf]) -> String {
    let mut names: Vec<String> = paths
        .iter()
        .take(3)
        .map(|p| p.display().to_string())
        .collect();
    if paths.len() > 3 {
        names.push(format!("and {} more", paths.len() - 3));
    }
    names.join(", ")
}

fn reset_verdict(seen: &Observed) -> Finding {
    let step = Step::ResetMigrations;
    if !seen.moved_back.is_empty() {
        return found(
            step,
            false,
            format!(
                "the old migration files the reset moved away are back ({}): the project \
                 was restored or replaced since",
                some_paths(&seen.moved_back)
            ),
        );
    }
    if !seen.regenerated_missing.is_empty() {
        return found(
            step,
            false,
            format!(
                "the migration files makemigrations wrote are gone ({})",
                some_paths(&seen.regenerated_missing)
            ),
        );
    }
    found(
        step,
        true,
        "the reset migrations are in place; the old files are not back".into(),
    )
}

/// Where the target is, for sentences: `appdb at host:port`.
fn where_(t: &ConnConfig) -> String {
    format!("{} at {}:{}", t.dbname, t.host, t.port)
}

fn target_verdicts(
    m: &Migration,
    target: &Result<TargetSeen, String>,
    password_given: bool,
) -> Vec<Finding> {
    let Some(config) = &m.target else {
        return Vec::new();
    };
    let at = where_(config);
    // The step that answers for the target: Connect when done, else the first done one.
    let Some(owner) = [
        Step::Connect,
        Step::FixPermissions,
        Step::CreateSchema,
        Step::CopyRows,
    ]
    .into_iter()
    .find(|s| done(m, *s)) else {
        return Vec::new();
    };
    let seen = match target {
        Err(e) => {
            let how = if password_given {
                String::new()
            } else {
                " No password was given to check it: set PGPASSWORD, or give it in the \
                 Connect form, and Connect runs again."
                    .to_string()
            };
            return vec![found(
                owner,
                false,
                format!(
                    "could not check that the database {at} is still the one this run \
                     prepared: {e}.{how}"
                ),
            )];
        }
        Ok(seen) => seen,
    };
    let since = match (&m.witness.copied_at, &m.witness.target) {
        (Some(copied), _) if done(m, Step::CopyRows) => format!("the copy on {copied}"),
        (_, Some((_, connected))) => format!("Connect on {connected}"),
        _ => "this run prepared it".into(),
    };
    let Some((then, _)) = &m.witness.target else {
        return vec![found(
            owner,
            false,
            format!(
                "nothing was recorded about the database {at} when Connect ran, so it cannot \
                 be told the same"
            ),
        )];
    };
    let now = &seen.identity;
    if let (Some(a), Some(b)) = (&then.system_identifier, &now.system_identifier)
        && a != b
    {
        return vec![found(
            owner,
            false,
            format!(
                "{}:{} is another PostgreSQL server than at {since} (system identifier {b}, \
                 was {a})",
                config.host, config.port
            ),
        )];
    }
    if then.database_oid != now.database_oid || then.database != now.database {
        return vec![found(
            owner,
            false,
            format!("the database {at} was recreated since {since}"),
        )];
    }
    if then.role_oid != now.role_oid || then.role != now.role {
        return vec![found(
            owner,
            false,
            format!("the role {} was recreated since {since}", now.role),
        )];
    }
    let mut out = vec![found(
        owner,
        true,
        format!("the database {at} is the same one (same server, database and role)"),
    )];
    if done(m, Step::CreateSchema) {
        out.push(schema_verdict(m, seen, &at));
    }
    if done(m, Step::CopyRows) {
        out.push(copy_verdict(m, seen, &at));
    }
    out
}

fn schema_verdict(m: &Migration, seen: &TargetSeen, at: &str) -> Finding {
    let step = Step::CreateSchema;
    let Some((recorded, when)) = &m.witness.schema else {
        return found(
            step,
            false,
            "nothing was recorded about the migrations Create schema applied".into(),
        );
    };
    match &seen.applied {
        None => found(step, false, "django_migrations was not checked".into()),
        Some(Err(e)) => found(
            step,
            false,
            format!(
                "django_migrations cannot be read in {at} ({e}): the schema Create schema \
                 made on {when} is gone"
            ),
        ),
        Some(Ok(now)) => {
            let missing: Vec<&String> = recorded.iter().filter(|r| !now.contains(r)).collect();
            if missing.is_empty() {
                found(
                    step,
                    true,
                    format!(
                        "django_migrations holds the {} migration(s) Create schema applied",
                        recorded.len()
                    ),
                )
            } else {
                found(
                    step,
                    false,
                    format!(
                        "django_migrations in {at} lacks {} of the migrations Create schema \
                         applied on {when} (e.g. {})",
                        missing.len(),
                        missing[0]
                    ),
                )
            }
        }
    }
}

fn copy_verdict(m: &Migration, seen: &TargetSeen, at: &str) -> Finding {
    let step = Step::CopyRows;
    let Some(report) = &m.copy_report else {
        return found(step, false, "the copy's report is gone".into());
    };
    let when = m
        .witness
        .copied_at
        .as_deref()
        .map(|t| format!(" on {t}"))
        .unwrap_or_default();
    let mut changed = Vec::new();
    for check in &report.checks {
        match seen.counts.iter().find(|(t, _)| *t == check.target_sql()) {
            None => changed.push(format!("{} was not counted", check.table)),
            Some((_, Err(e))) => changed.push(format!("{}: {e}", check.table)),
            Some((_, Ok(n))) if *n != check.target_rows => changed.push(format!(
                "{} holds {n} row(s), the copy{when} left {}",
                check.table, check.target_rows
            )),
            Some(_) => {}
        }
    }
    if changed.is_empty() {
        return found(
            step,
            true,
            format!(
                "the {} copied table(s) in {at} hold the rows the copy left",
                report.checks.len()
            ),
        );
    }
    let n = changed.len();
    changed.truncate(3);
    found(
        step,
        false,
        format!(
            "the copied rows in {at} changed since the copy{when}: {}{} (the copy runs \
             again, and keeps the tables its own check finds intact)",
            changed.join("; "),
            if n > 3 {
                format!("; {} more table(s)", n - 3)
            } else {
                String::new()
            }
        ),
    )
}

/// Send each step of `gone` back to pending with its reason, and every step resting on it
/// with a sentence naming that step. Returns the findings for the dependents.
pub fn reopen(m: &mut Migration, gone: &[(Step, String)]) -> Vec<Finding> {
    let mut extra = Vec::new();
    let mut reopened: Vec<Step> = Vec::new();
    for (step, why) in gone {
        reopen_one(m, *step, &format!("Reopened on resume: {why}."));
        reopened.push(*step);
    }
    for (step, _) in gone {
        for dep in dependents(*step) {
            if reopened.contains(&dep) {
                continue;
            }
            let was = m.status(dep).clone();
            reopen_one(
                m,
                dep,
                &format!(
                    "Reopened on resume: it rests on {}, which is redone.",
                    step.title()
                ),
            );
            reopened.push(dep);
            if matches!(was, Status::Done { .. } | Status::Skipped { .. }) {
                extra.push(Finding {
                    step: dep,
                    holds: false,
                    text: format!("it rests on {}, which is redone", step.title()),
                });
            }
        }
    }
    let frontier = m.frontier();
    if frontier < m.cursor {
        m.cursor = frontier;
    }
    extra
}

/// One step back to pending, what it learnt forgotten, the reason in its log.
fn reopen_one(m: &mut Migration, step: Step, line: &str) {
    set_status(m, step, Status::Pending);
    let log = &mut m.step_mut(step).log;
    log.push(line.to_string());
    match step {
        Step::Discover => m.witness.sqlite = None,
        Step::Backup => m.backup = None,
        Step::ResetMigrations => {
            m.migration_scan = None;
            m.reset_report = None;
            m.regenerated = None;
        }
        Step::DryRun => m.dry_run = None,
        Step::Connect => {
            m.server = None;
            m.connect_field = None;
            m.witness.target = None;
        }
        Step::FixPermissions => {
            m.diagnosis = None;
            m.recipes.clear();
            m.applied = None;
            m.dba_script = None;
        }
        Step::CreateSchema => {
            m.schema = None;
            m.witness.schema = None;
        }
        Step::CopyRows => {
            m.preflight = None;
            m.copy_answers = CopyAnswers::default();
            m.copy = None;
            m.copy_report = None;
            m.witness.copied_at = None;
        }
        Step::Cutover => m.cutover = Default::default(),
        Step::UpdateSettings => {
            m.settings_plan = None;
            m.settings_validation = None;
        }
        Step::Done => m.report_files.clear(),
    }
}

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
    let new = &flags.options;
    let applied = |flag, text: String, reopened: Vec<Step>| FlagOutcome::Applied {
        flag,
        text,
        reopened,
    };

    if let Some(python) = &new.python
        && m.options.python.as_ref() != Some(python)
    {
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

    if let Some(dir) = &new.backup_dir
        && m.options.backup_dir.as_ref() != Some(dir)
    {
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
                        .as_ref()
                        .map_or_else(|| was.clone(), |b| b.backup_dir.display().to_string())
                ),
            });
        } else {
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
    }

    if let (Some(old), Some(spec)) = (&m.options.reset_migrations, &new.reset_migrations)
        && reset_spec(old) != reset_spec(spec)
    {
        let (old, spec) = (reset_spec(old), reset_spec(spec));
        if done(m, Step::ResetMigrations) {
            out.push(FlagOutcome::Refused {
                flag: "--reset-migrations",
                text: format!(
                    "--reset-migrations={spec} differs from the saved run's \
                     --reset-migrations={old}, whose reset is done (the files are moved and \
                     regenerated). Run again with --reset-migrations={old} to go on, or put \
                     the old migrations back ({}) and start over with --fresh.",
                    super::restore_hint(m)
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
            m.reset_selection.clear();
            let steps = reopen_for(m, Step::ResetMigrations, "--reset-migrations");
            out.push(applied(
                "--reset-migrations",
                format!("--reset-migrations={spec} (the saved run: {old})"),
                steps,
            ));
        }
    } else if m.options.reset_migrations.is_none() {
        m.options.reset_migrations = new.reset_migrations.clone();
    }

    if let Some(to) = &flags.target
        && m.target.as_ref().is_some_and(|t| t != to)
        && done(m, Step::Connect)
    {
        let was = m
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

    if let Some(style) = flags.settings_style
        && style != m.settings_style
    {
        let (now, was) = (style.as_str(), m.settings_style.as_str());
        if m.settings_applied.is_some() {
            out.push(FlagOutcome::Refused {
                flag: "--settings-style",
                text: format!(
                    "--settings-style {now} differs from the saved run's ({was}), and \
                     settings.py was already rewritten that way. Run again with \
                     --settings-style {was}, or put the old settings back ({}) first.",
                    super::restore_hint(m)
                ),
            });
        } else {
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
    }

    // How the copy runs: the rows it leaves are the same whatever these say, so a done,
    // verified copy stands; they apply to any copy still to run.
    let copy_done = done(m, Step::CopyRows);
    let note = if copy_done {
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
    out
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
