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

/// Flags a running job watches.
#[derive(Clone, Default)]
pub struct JobControl {
    pub cancel: Arc<AtomicBool>,
    pub pause: Arc<AtomicBool>,
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
            Effect::Preflight { job, .. } | Effect::Copy { job, .. } => {
                let _ = self.tx.send(Msg::Job(
                    job,
                    JobEvent::Failed("the copy engine is not built yet in this version".into()),
                ));
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
