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

//!
//! Files: this one (what is recorded, the check's start and end, reopening), [`verdicts`]
//! (the judging), [`flags`] (the flags of a resumed headless run).

mod flags;
mod verdicts;

pub use flags::{FlagOutcome, Flags, apply_flags};
pub use verdicts::verdicts;

use super::update::set_status;
use super::{CopyAnswers, Effect, Migration, Status, Step};
use crate::data::resume::{CheckInput, FileStamp, Observed, Record, TargetIdentity};
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

pub(super) fn done(m: &Migration, step: Step) -> bool {
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
        && let Some(b) = &m.backup.report
    {
        input.backup_dir = Some(b.backup_dir.clone());
        input.backup_sqlite = b.sqlite.as_ref().map(|s| s.file.clone());
    }
    if done(m, Step::ResetMigrations)
        && let (Some(d), Some(r)) = (&m.discovery, &m.reset.report)
    {
        input.project_dir = Some(d.project_dir.clone());
        input.moved = r.moved.clone();
        input.regenerated = m
            .reset
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
        input.target = m.connect.target.clone();
    }
    input.schema = done(m, Step::CreateSchema);
    if done(m, Step::CopyRows)
        && let Some(r) = &m.copy.report
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
    let job = super::update::next_job(m);
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
        Step::Backup => m.backup.report = None,
        Step::ResetMigrations => {
            m.reset.scan = None;
            m.reset.report = None;
            m.reset.regenerated = None;
        }
        Step::DryRun => m.dry_run.report = None,
        Step::Connect => {
            m.connect.server = None;
            m.connect.field = None;
            m.witness.target = None;
        }
        Step::FixPermissions => {
            m.permissions.diagnosis = None;
            m.permissions.recipes.clear();
            m.permissions.applied = None;
            m.permissions.dba_script = None;
        }
        Step::CreateSchema => {
            m.schema.report = None;
            m.witness.schema = None;
        }
        Step::CopyRows => {
            m.copy.preflight = None;
            m.copy.answers = CopyAnswers::default();
            m.copy.progress = None;
            m.copy.report = None;
            m.witness.copied_at = None;
        }
        Step::Cutover => m.cutover = Default::default(),
        Step::UpdateSettings => {
            m.settings.plan = None;
            m.settings.validation = None;
        }
        Step::Done => m.done.report_files.clear(),
    }
}
