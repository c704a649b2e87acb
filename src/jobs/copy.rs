//! The jobs of Copy rows and Cutover: preflight, the copy with its progress, the watch for
//! changes while the app still runs, and the sync.

use super::{Job, Outcome};
use crate::copy::ProgressSlot;
use crate::data::copy::ProblemPolicy;
use crate::data::resume::Record;
use crate::pg::{ConnConfig, Secret};
use crate::resume_check::now_text;
use crate::state::JobEvent;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// What the copy engine needs from the run.
pub struct CopyJob {
    pub sqlite: PathBuf,
    pub config: ConnConfig,
    pub password: Option<Secret>,
    pub settings: crate::data::copy::CopySettings,
}

impl CopyJob {
    fn context(self, job: &Job) -> anyhow::Result<crate::copy::Context> {
        crate::copy::Context::new(
            &self.sqlite,
            self.config,
            self.password,
            self.settings,
            job.control.stop(),
        )
    }
}

pub fn preflight(job: &Job, c: CopyJob) -> Outcome {
    let report = crate::copy::preflight(&c.context(job)?)?;
    Ok(JobEvent::Preflight(Box::new(report)))
}

/// The copy. Its progress only overwrites `progress`, the slot the driver reads when it
/// draws (see [`ProgressSlot`]); the report is the job's event, on the channel as ever.
pub fn copy(job: &Job, c: CopyJob, policy: ProblemPolicy, progress: ProgressSlot) -> Outcome {
    let report = crate::copy::copy(&c.context(job)?, policy, &mut |p| progress.offer(p))?;
    job.record(Record::Copied { at: now_text() });
    Ok(JobEvent::CopyFinished(Box::new(report)))
}

/// Cutover's sync: apply what changed in SQLite since the copy's snapshot, timed.
pub fn sync(
    job: &Job,
    sqlite: &Path,
    config: &ConnConfig,
    password: Option<&Secret>,
    on_conflict: crate::data::sync::OnConflict,
) -> Outcome {
    let started = Instant::now();
    let prepared = crate::copy::sync::prepare(sqlite, config, password, job.control.stop())?;
    let mut report = prepared.apply(on_conflict)?;
    report.cutover_ms = started.elapsed().as_millis() as u64;
    Ok(JobEvent::Synced(Box::new(report)))
}

/// How often Cutover looks at the SQLite file while the app still runs, at most.
const WATCH_EVERY: Duration = Duration::from_secs(2);

/// Cutover's watch: a look at what changed every [`WATCH_EVERY`] (or, on a file that takes
/// long to read, twice as long as a look takes, so the watch never keeps a core busy)
/// until cancelled (the user said the app is stopped, or skipped the step). Reads the
/// SQLite file only.
pub fn watch_changes(job: &Job, sqlite: &Path, config: &ConnConfig) -> Outcome {
    loop {
        let started = Instant::now();
        let look = crate::copy::sync::look(sqlite, config)?;
        job.send(JobEvent::ChangesSeen(Box::new(look)));
        let next = Instant::now() + WATCH_EVERY.max(started.elapsed() * 2);
        while Instant::now() < next {
            if job.control.cancel.load(Ordering::SeqCst) {
                return Ok(JobEvent::Cancelled);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
