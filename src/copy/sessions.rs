//! The copy's PostgreSQL sessions: the control connection kept for the context's life,
//! the load's connections and pipelined sessions (opened ahead of the load, and given back
//! after use), all with the same session options.

use super::Context;
use anyhow::Result;
use std::sync::MutexGuard;
use std::sync::atomic::Ordering;

/// The copy's sessions: no statement or idle timeouts of the role may cut a long load, and
/// commits do not wait for the WAL flush (each table's commit is checked by verification
/// and resume, not by the durability of the commit record). Sent in the startup packet, so
/// they cost no round trip.
const SESSION_OPTIONS: &str = "-c statement_timeout=0 -c lock_timeout=0 \
     -c idle_in_transaction_session_timeout=0 -c synchronous_commit=off";

/// Sessions opened in the background, and how many are still on their way.
#[derive(Default)]
pub(super) struct Warm {
    started: bool,
    pending: usize,
    rx: Option<std::sync::mpsc::Receiver<Result<crate::pg::wire::Wire>>>,
}

/// The context's control connection, held for as long as this lives.
pub struct Control<'a>(MutexGuard<'a, Option<postgres::Client>>);

impl std::ops::Deref for Control<'_> {
    type Target = postgres::Client;
    fn deref(&self) -> &postgres::Client {
        self.0
            .as_ref()
            .expect("a Control always holds a connection")
    }
}

impl std::ops::DerefMut for Control<'_> {
    fn deref_mut(&mut self) -> &mut postgres::Client {
        self.0
            .as_mut()
            .expect("a Control always holds a connection")
    }
}

impl Context {
    /// The session options of the load: [`SESSION_OPTIONS`], and lz4 compression of large
    /// values when the plan found the server offers it and the settings want it.
    pub(super) fn load_options(&self) -> String {
        let mut o = SESSION_OPTIONS.to_string();
        if self.lz4.load(Ordering::Relaxed) {
            o.push_str(" -c default_toast_compression=lz4");
        }
        o
    }

    /// Start opening the load's sessions in the background (once): each costs several
    /// round trips (TCP, TLS, SCRAM), which then overlap the preflight and the target
    /// checks instead of delaying the first table.
    pub fn prewarm(&self) {
        let mut warm = self.warm.lock().unwrap_or_else(|p| p.into_inner());
        if warm.started {
            return;
        }
        warm.started = true;
        // The sessions follow the plan's settings (lz4), read when they open.
        let (tx, rx) = std::sync::mpsc::channel();
        let options = self.config.startup_options(&self.load_options());
        for _ in 0..self.jobs() {
            let (config, password, tx) = (self.config.clone(), self.password.clone(), tx.clone());
            let options = options.clone();
            std::thread::spawn(move || {
                let _ = tx.send(crate::pg::wire::Wire::connect(
                    &config,
                    password.as_ref(),
                    &options,
                ));
            });
        }
        warm.pending = self.jobs();
        warm.rx = Some(rx);
    }

    /// The control connection, opened (or opened again, if it broke) on first use.
    pub fn control(&self) -> Result<Control<'_>> {
        let mut slot = self.control.lock().unwrap_or_else(|p| p.into_inner());
        if slot.as_ref().is_none_or(|c| c.is_closed()) {
            *slot = Some(self.connect()?);
        }
        Ok(Control(slot))
    }

    /// A connection for the copy, with [`SESSION_OPTIONS`].
    pub fn connect(&self) -> Result<postgres::Client> {
        self.config
            .connect_with(self.password.as_ref(), &self.load_options())
            .map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// A pipelined session for batches ([`batch`]), with the same settings as
    /// [`Context::connect`].
    pub fn wire(&self) -> Result<crate::pg::wire::Wire> {
        if let Some(w) = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop() {
            return Ok(w);
        }
        {
            let mut warm = self.warm.lock().unwrap_or_else(|p| p.into_inner());
            if warm.pending > 0 {
                warm.pending -= 1;
                // One already on its way is nearer than a new one.
                if let Some(Ok(Ok(w))) = warm.rx.as_ref().map(|rx| rx.recv()) {
                    return Ok(w);
                }
            }
        }
        crate::pg::wire::Wire::connect(
            &self.config,
            self.password.as_ref(),
            &self.config.startup_options(&self.load_options()),
        )
    }

    /// Keep a session that ended its work cleanly for the next [`Context::wire`].
    pub(super) fn give_back(&self, w: crate::pg::wire::Wire) {
        if !w.is_broken() {
            self.idle.lock().unwrap_or_else(|p| p.into_inner()).push(w);
        }
    }
}
