//! The work behind each effect, one function per effect, grouped by the part of the run it
//! serves. A job function takes its owned input and a [`Job`] (its id, the channel back to
//! the state machine, its cancel and pause flags) and returns its event or an error;
//! [`spawn`] maps errors and panics to the step's failure once, for every job.
//!
//! The functions never touch the state. Secrets come in as arguments from the
//! [`Runner`](crate::runner::Runner), which holds them in memory only.

pub mod copy;
pub mod finish;
mod panic;
pub mod project;
pub mod schema;
pub mod target;

use crate::data::resume::Record;
use crate::state::{JobEvent, JobId, Msg};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::Sender;

pub use panic::install_panic_hook;

/// What a job function returns: its event, or an error that becomes the step's failure.
pub type Outcome = anyhow::Result<JobEvent>;

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

/// A running job: who it is, where its events go, what it watches.
pub struct Job {
    pub id: JobId,
    pub tx: Sender<Msg>,
    pub control: JobControl,
}

impl Job {
    /// An event before the job's last one (a log line, a record, progress).
    pub fn send(&self, event: JobEvent) {
        let _ = self.tx.send(Msg::Job(self.id, event));
    }

    /// A fact the step rests on, for a later resume to check (sent before the job's own
    /// event).
    pub fn record(&self, r: Record) {
        self.send(JobEvent::Recorded(Box::new(r)));
    }

    /// The job's log lines, as they come, for its step's log pane.
    pub fn log(&self) -> impl FnMut(String) + use<> {
        let (tx, id) = (self.tx.clone(), self.id);
        move |line| {
            let _ = tx.send(Msg::Job(id, JobEvent::Log(line)));
        }
    }

    /// The job's report lines with their event names (see [`JobEvent::Said`]).
    pub fn say(&self) -> impl FnMut(crate::output::Name, &str) + use<> {
        let (tx, id) = (self.tx.clone(), self.id);
        move |name, text| {
            let _ = tx.send(Msg::Job(id, JobEvent::Said(name, text.to_string())));
        }
    }

    pub fn cancel(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.control.cancel)
    }
}

/// An error as the step's event: a cancelled copy is not a failure.
pub fn failure(e: anyhow::Error) -> JobEvent {
    if e.downcast_ref::<crate::copy::Cancelled>().is_some() {
        JobEvent::Cancelled
    } else {
        JobEvent::Failed(format!("{e:#}"))
    }
}

/// Run `work` on a thread of its own and report its event. A panic in the work (or in any
/// thread it scoped) does not hang the run: it becomes a failed step that names the panic,
/// so the driver ends or the user retries. `name` is the job's kind, for the thread's name
/// and the internal-error message.
pub fn spawn(job: Job, name: &'static str, work: impl FnOnce(&Job) -> Outcome + Send + 'static) {
    let (tx, id) = (job.tx.clone(), job.id);
    let spawned = std::thread::Builder::new()
        .name(format!("dj2pg-{name}"))
        .spawn(move || {
            let event = match std::panic::catch_unwind(AssertUnwindSafe(|| {
                panic::inject(name);
                work(&job)
            })) {
                Ok(Ok(event)) => event,
                Ok(Err(e)) => failure(e),
                Err(payload) => JobEvent::Failed(panic::internal_error(name, payload.as_ref())),
            };
            job.send(event);
        });
    if let Err(e) = spawned {
        let _ = tx.send(Msg::Job(
            id,
            JobEvent::Failed(format!("could not start the {name} job: {e}")),
        ));
    }
}
