//! Carries out the state machine's effects on worker threads and reports back as `Msg`s.
//!
//! Shared by the terminal wizard and the headless runner, so both do exactly the same
//! work. Workers take owned inputs, a cancel flag and a sender; they never touch the state.
//! Secrets (the target's password) live here, in memory only.

use crate::pg::Secret;
use crate::state::{Effect, JobEvent, JobId, Msg};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use crate::copy::CopyProgress;

/// Flags a running job watches.
#[derive(Clone, Default)]
pub struct JobControl {
    pub cancel: Arc<AtomicBool>,
    pub pause: Arc<AtomicBool>,
}

impl JobControl {
    /// The copy engine's view of the same flags.
    pub fn stop(&self) -> crate::copy::Stop {
        crate::copy::Stop {
            cancel: Arc::clone(&self.cancel),
            pause: Arc::clone(&self.pause),
        }
    }
}

/// A copy's failure as an event: a cancellation is not a failure.
fn failure(e: anyhow::Error) -> JobEvent {
    if e.downcast_ref::<crate::copy::Cancelled>().is_some() {
        JobEvent::Cancelled
    } else {
        JobEvent::Failed(format!("{e:#}"))
    }
}

/// Progress to the state machine at most ten times a second; the newest value wins, and
/// the last one is always delivered.
struct Throttle {
    tx: Sender<Msg>,
    job: JobId,
    last_sent: Option<Instant>,
    pending: Option<CopyProgress>,
}

impl Throttle {
    fn new(tx: Sender<Msg>, job: JobId) -> Throttle {
        Throttle {
            tx,
            job,
            last_sent: None,
            pending: None,
        }
    }

    fn offer(&mut self, p: &CopyProgress) {
        if self
            .last_sent
            .is_some_and(|t| t.elapsed() < Duration::from_millis(100))
        {
            self.pending = Some(p.clone());
            return;
        }
        self.pending = None;
        self.last_sent = Some(Instant::now());
        let _ = self.tx.send(Msg::Job(
            self.job,
            JobEvent::CopyProgress(Box::new(p.clone())),
        ));
    }

    fn flush(&mut self) {
        if let Some(p) = self.pending.take() {
            let _ = self
                .tx
                .send(Msg::Job(self.job, JobEvent::CopyProgress(Box::new(p))));
        }
    }
}

/// The effect executor.
pub struct Runner {
    tx: Sender<Msg>,
    /// The target's password, given on the form, the command line or the environment.
    pub password: Option<Secret>,
    jobs: HashMap<JobId, JobControl>,
}

impl Runner {
    pub fn new(tx: Sender<Msg>) -> Runner {
        Runner {
            tx,
            password: None,
            jobs: HashMap::new(),
        }
    }

    /// Start the work of one effect. `Save` and `Quit` belong to the driver and are ignored.
    pub fn run(&mut self, effect: Effect) {
        match effect {
            Effect::Save | Effect::Quit => {}
            Effect::Discover {
                job,
                project,
                python,
            } => {
                let tx = self.tx.clone();
                std::thread::spawn(move || {
                    let event = match crate::django::discover(&project, python.as_deref()) {
                        Ok(d) => JobEvent::Discovered(Box::new(d)),
                        Err(e) => JobEvent::Failed(format!("{e:#}")),
                    };
                    let _ = tx.send(Msg::Job(job, event));
                });
            }
            Effect::Connect { job, config } => {
                let tx = self.tx.clone();
                let password = self.password.clone();
                std::thread::spawn(move || {
                    let event = match config.connect(password.as_ref()) {
                        Ok(mut client) => match crate::pg::describe(&mut client) {
                            Ok(info) => JobEvent::Connected(Box::new(info)),
                            Err(e) => JobEvent::Failed(format!("{e:#}")),
                        },
                        Err(e) => JobEvent::Failed(e.to_string()),
                    };
                    let _ = tx.send(Msg::Job(job, event));
                });
            }
            Effect::Preflight {
                job,
                sqlite,
                config,
                settings,
            } => {
                let tx = self.tx.clone();
                let password = self.password.clone();
                let control = self.control(job);
                std::thread::spawn(move || {
                    let stop = control.stop();
                    let event =
                        match crate::copy::Context::new(&sqlite, config, password, settings, stop)
                            .and_then(|cx| crate::copy::preflight(&cx))
                        {
                            Ok(report) => JobEvent::Preflight(Box::new(report)),
                            Err(e) => failure(e),
                        };
                    let _ = tx.send(Msg::Job(job, event));
                });
            }
            Effect::Copy {
                job,
                sqlite,
                config,
                policy,
                settings,
            } => {
                let tx = self.tx.clone();
                let password = self.password.clone();
                let control = self.control(job);
                std::thread::spawn(move || {
                    let stop = control.stop();
                    let mut throttle = Throttle::new(tx.clone(), job);
                    let result =
                        crate::copy::Context::new(&sqlite, config, password, settings, stop)
                            .and_then(|cx| {
                                crate::copy::copy(&cx, policy, &mut |p| throttle.offer(p))
                            });
                    throttle.flush();
                    let event = match result {
                        Ok(report) => JobEvent::CopyFinished(Box::new(report)),
                        Err(e) => failure(e),
                    };
                    let _ = tx.send(Msg::Job(job, event));
                });
            }
            Effect::Pause { job, paused } => {
                if let Some(c) = self.jobs.get(&job) {
                    c.pause.store(paused, Ordering::SeqCst);
                }
            }
            Effect::Cancel { job } => {
                if let Some(c) = self.jobs.get(&job) {
                    c.cancel.store(true, Ordering::SeqCst);
                }
            }
        }
    }

    /// Register the control flags of a new job.
    pub fn control(&mut self, job: JobId) -> JobControl {
        self.jobs.entry(job).or_default().clone()
    }
}
