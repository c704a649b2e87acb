//! The jobs of Copy rows and Cutover: preflight, the copy with its progress, the watch for
//! changes while the app still runs, and the sync.

use super::{Job, Outcome};
use crate::copy::CopyProgress;
use crate::data::copy::ProblemPolicy;
use crate::data::resume::Record;
use crate::pg::{ConnConfig, Secret};
use crate::resume_check::now_text;
use crate::state::{JobEvent, JobId, Msg};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::mpsc::Sender;
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

/// The copy, its progress at most ten times a second (a new stage at once).
pub fn copy(job: &Job, c: CopyJob, policy: ProblemPolicy) -> Outcome {
    let mut throttle = Throttle::new(job.tx.clone(), job.id);
    let result = c
        .context(job)
        .and_then(|cx| crate::copy::copy(&cx, policy, &mut |p| throttle.offer(p)));
    throttle.flush();
    let report = result?;
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

/// Progress to the state machine at most ten times a second; the newest value wins, and
/// the last one is always delivered.
pub(crate) struct Throttle {
    tx: Sender<Msg>,
    job: JobId,
    last_sent: Option<Instant>,
    /// The stage of the last progress sent: a new stage is sent at once.
    last_stage: Option<String>,
    pending: Option<CopyProgress>,
}

impl Throttle {
    pub(crate) fn new(tx: Sender<Msg>, job: JobId) -> Throttle {
        Throttle {
            tx,
            job,
            last_sent: None,
            last_stage: None,
            pending: None,
        }
    }

    /// Send `p` unless one was sent less than 100 ms ago (then keep it for later). A change
    /// of stage always goes at once: kept back, a short stage followed by a long one (a
    /// quick ANALYZE, then the verification) would show the older stage the whole time.
    pub(crate) fn offer(&mut self, p: &CopyProgress) {
        let new_stage = self.last_stage.as_deref() != Some(p.stage.as_str());
        if !new_stage
            && self
                .last_sent
                .is_some_and(|t| t.elapsed() < Duration::from_millis(100))
        {
            self.pending = Some(p.clone());
            return;
        }
        self.pending = None;
        self.last_sent = Some(Instant::now());
        self.last_stage = Some(p.stage.clone());
        let _ = self.tx.send(Msg::Job(
            self.job,
            JobEvent::CopyProgress(Box::new(p.clone())),
        ));
    }

    pub(crate) fn flush(&mut self) {
        if let Some(p) = self.pending.take() {
            let _ = self
                .tx
                .send(Msg::Job(self.job, JobEvent::CopyProgress(Box::new(p))));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(stage: &str) -> CopyProgress {
        CopyProgress {
            stage: stage.into(),
            ..CopyProgress::default()
        }
    }

    #[test]
    fn a_new_stage_is_sent_at_once_the_same_stage_is_throttled() {
        let (tx, rx) = std::sync::mpsc::channel();
        let mut t = Throttle::new(tx, 1);
        for stage in ["analyzing", "analyzing", "verifying"] {
            t.offer(&progress(stage));
        }
        let sent: Vec<String> = rx
            .try_iter()
            .filter_map(|m| match m {
                Msg::Job(_, JobEvent::CopyProgress(p)) => Some(p.stage),
                _ => None,
            })
            .collect();
        assert_eq!(sent, ["analyzing", "verifying"]);
    }
}
