//! Carries out the state machine's effects on worker threads and reports back as `Msg`s.
//!
//! Shared by the terminal wizard and the headless runner, so both do exactly the same
//! work. Workers take owned inputs, a cancel flag and a sender; they never touch the state.
//! Secrets (the target's password) live here, in memory only.

use crate::pg::Secret;
use crate::state::{Effect, JobEvent, JobId, Msg};
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, Once};
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
        install_panic_hook();
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
            } => spawn_job(
                &self.tx,
                job,
                "discover",
                move |_| match crate::django::discover(&project, python.as_deref()) {
                    Ok(d) => JobEvent::Discovered(Box::new(d)),
                    Err(e) => JobEvent::Failed(format!("{e:#}")),
                },
            ),
            Effect::Connect { job, config } => {
                let password = self.password.clone();
                spawn_job(&self.tx, job, "connect", move |_| {
                    match config.connect(password.as_ref()) {
                        Ok(mut client) => match crate::pg::describe(&mut client) {
                            Ok(info) => JobEvent::Connected(Box::new(info)),
                            Err(e) => JobEvent::Failed(format!("{e:#}")),
                        },
                        Err(e) => JobEvent::ConnectFailed(e),
                    }
                })
            }
            Effect::Preflight {
                job,
                sqlite,
                config,
                settings,
            } => {
                let password = self.password.clone();
                let stop = self.control(job).stop();
                spawn_job(
                    &self.tx,
                    job,
                    "preflight",
                    move |_| match crate::copy::Context::new(
                        &sqlite, config, password, settings, stop,
                    )
                    .and_then(|cx| crate::copy::preflight(&cx))
                    {
                        Ok(report) => JobEvent::Preflight(Box::new(report)),
                        Err(e) => failure(e),
                    },
                )
            }
            Effect::Copy {
                job,
                sqlite,
                config,
                policy,
                settings,
            } => {
                let password = self.password.clone();
                let stop = self.control(job).stop();
                spawn_job(&self.tx, job, "copy", move |tx| {
                    let mut throttle = Throttle::new(tx.clone(), job);
                    let result =
                        crate::copy::Context::new(&sqlite, config, password, settings, stop)
                            .and_then(|cx| {
                                crate::copy::copy(&cx, policy, &mut |p| throttle.offer(p))
                            });
                    throttle.flush();
                    match result {
                        Ok(report) => JobEvent::CopyFinished(Box::new(report)),
                        Err(e) => failure(e),
                    }
                })
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

/// Run `work` on a thread of its own and report its event as job `job`. A panic in the work
/// (or in any thread it scoped) does not hang the run: it becomes a failed step that names
/// the panic, so the driver ends or the user retries. `name` is the job's kind, for the
/// thread's name and the internal-error message.
pub fn spawn_job(
    tx: &Sender<Msg>,
    job: JobId,
    name: &'static str,
    work: impl FnOnce(&Sender<Msg>) -> JobEvent + Send + 'static,
) {
    let worker_tx = tx.clone();
    let spawned = std::thread::Builder::new()
        .name(format!("dj2pg-{name}"))
        .spawn(move || {
            let tx = worker_tx;
            let event = match std::panic::catch_unwind(AssertUnwindSafe(|| {
                inject_panic(name);
                work(&tx)
            })) {
                Ok(event) => event,
                Err(payload) => JobEvent::Failed(internal_error(name, payload.as_ref())),
            };
            let _ = tx.send(Msg::Job(job, event));
        });
    if let Err(e) = spawned {
        let _ = tx.send(Msg::Job(
            job,
            JobEvent::Failed(format!("could not start the {name} job: {e}")),
        ));
    }
}

/// The failed step's message for a panic: what it said and where, and what to do.
fn internal_error(name: &str, payload: &(dyn std::any::Any + Send)) -> String {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into());
    let at = LAST_PANIC_AT
        .lock()
        .map(|mut l| l.take())
        .unwrap_or_default()
        .map(|l| format!(" at {l}"))
        .unwrap_or_default();
    format!(
        "internal error in the {name} job: {what}{at} — please report it (nothing was lost; \
         press r to retry)"
    )
}

/// Where the last panic of a worker thread happened (the payload does not say).
static LAST_PANIC_AT: Mutex<Option<String>> = Mutex::new(None);
static HOOK: Once = Once::new();

/// Panics of worker threads are reported as failed steps, so they print nothing (printing
/// would scribble over the wizard's screen); the main thread's go to the previous hook.
/// `RUST_BACKTRACE` set prints workers' panics too, for debugging.
fn install_panic_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        let verbose = std::env::var_os("RUST_BACKTRACE").is_some();
        std::panic::set_hook(Box::new(move |info| {
            let main = std::thread::current().name() == Some("main");
            if !main {
                if let Ok(mut at) = LAST_PANIC_AT.lock() {
                    *at = info
                        .location()
                        .map(|l| format!("{}:{}", l.file(), l.line()));
                }
            }
            if main || verbose {
                previous(info);
            }
        }));
    });
}

/// Tests inject a panic into a job by its name (`DJ2PG_TEST_PANIC=copy`); debug builds only.
fn inject_panic(name: &str) {
    #[cfg(debug_assertions)]
    if std::env::var("DJ2PG_TEST_PANIC").is_ok_and(|n| n == name) {
        panic!("injected by DJ2PG_TEST_PANIC={name}");
    }
    let _ = name;
}
