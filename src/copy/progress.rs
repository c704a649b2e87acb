//! The newest progress of a running load, delivered to whoever draws it without flooding
//! them and without holding anything back.
//!
//! The load offers a [`CopyProgress`] many times a second; each offer overwrites one
//! latest-value slot. A pump thread hands the slot's value on at most every `every`, a new
//! stage at once, and — unlike a throttle that keeps a value until the next offer — also
//! when no further offer comes: a short stage followed by a long quiet one (a quick
//! `ANALYZE`, then the verification) shows the newest value, never the one before it.

use crate::data::copy::{CopyProgress, Stage};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

#[derive(Default)]
struct Slot {
    latest: Option<CopyProgress>,
    /// `latest` has not been handed on yet.
    unsent: bool,
    /// The load ended: hand on what is unsent, then stop.
    closed: bool,
}

#[derive(Default)]
struct Shared {
    slot: Mutex<Slot>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The slot and its pump thread; [`finish`](ProgressPump::finish) (or dropping it) hands
/// on the last value before it returns.
pub struct ProgressPump {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl ProgressPump {
    /// Start a pump that calls `send` with the newest value, at most every `every` within
    /// a stage.
    pub fn start(every: Duration, send: impl FnMut(CopyProgress) + Send + 'static) -> Self {
        let shared = Arc::new(Shared::default());
        let pump = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("copy progress".into())
            .spawn(move || pump_loop(&pump, every, send))
            .ok();
        ProgressPump { shared, thread }
    }

    /// The load's newest progress: it replaces whatever was not handed on yet.
    pub fn offer(&self, p: &CopyProgress) {
        let mut slot = self.shared.lock();
        slot.latest = Some(p.clone());
        slot.unsent = true;
        drop(slot);
        self.shared.changed.notify_one();
    }

    /// Hand on what is left and stop the pump.
    pub fn finish(mut self) {
        self.close();
    }

    fn close(&mut self) {
        self.shared.lock().closed = true;
        self.shared.changed.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for ProgressPump {
    fn drop(&mut self) {
        self.close();
    }
}

fn pump_loop(shared: &Shared, every: Duration, mut send: impl FnMut(CopyProgress)) {
    let mut last: Option<(Instant, Stage)> = None;
    let mut slot = shared.lock();
    loop {
        if !slot.unsent {
            if slot.closed {
                return;
            }
            slot = shared.changed.wait(slot).unwrap_or_else(|p| p.into_inner());
            continue;
        }
        let stage = slot.latest.as_ref().map(|p| p.stage).unwrap_or_default();
        let wait = match last {
            Some((at, last_stage)) if last_stage == stage && !slot.closed => {
                every.saturating_sub(at.elapsed())
            }
            _ => Duration::ZERO,
        };
        if !wait.is_zero() {
            slot = shared
                .changed
                .wait_timeout(slot, wait)
                .unwrap_or_else(|p| p.into_inner())
                .0;
            continue;
        }
        slot.unsent = false;
        let Some(p) = slot.latest.clone() else {
            continue;
        };
        drop(slot);
        last = Some((Instant::now(), p.stage));
        send(p);
        slot = shared.lock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    fn progress(stage: Stage, elapsed_ms: u64) -> CopyProgress {
        CopyProgress {
            stage,
            elapsed_ms,
            ..CopyProgress::default()
        }
    }

    fn received(rx: &mpsc::Receiver<CopyProgress>) -> Vec<(Stage, u64)> {
        rx.try_iter().map(|p| (p.stage, p.elapsed_ms)).collect()
    }

    #[test]
    fn the_newest_value_is_handed_on_without_another_offer() {
        let (tx, rx) = mpsc::channel();
        let pump = ProgressPump::start(Duration::from_millis(100), move |p| {
            let _ = tx.send(p);
        });
        pump.offer(&progress(Stage::Analyzing, 1));
        // The first value is handed on at once; the second comes within the 100 ms.
        std::thread::sleep(Duration::from_millis(30));
        pump.offer(&progress(Stage::Analyzing, 2));
        // No further offer (a long, quiet verification would be the same): the newest
        // value still reaches the drawer, once its turn comes. A throttle that keeps it
        // until the next offer would leave the drawer at the first one.
        std::thread::sleep(Duration::from_millis(400));
        assert_eq!(
            received(&rx),
            [(Stage::Analyzing, 1), (Stage::Analyzing, 2)]
        );
        pump.finish();
    }

    #[test]
    fn a_new_stage_goes_at_once_and_the_same_stage_is_throttled() {
        let (tx, rx) = mpsc::channel();
        let pump = ProgressPump::start(Duration::from_secs(60), move |p| {
            let _ = tx.send(p);
        });
        for (stage, ms) in [
            (Stage::Analyzing, 1),
            (Stage::Analyzing, 2),
            (Stage::Analyzing, 3),
        ] {
            pump.offer(&progress(stage, ms));
            std::thread::sleep(Duration::from_millis(30));
        }
        pump.offer(&progress(Stage::Verifying, 4));
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(
            received(&rx),
            [(Stage::Analyzing, 1), (Stage::Verifying, 4)],
            "within a minute's throttle, only the stages' first values went"
        );
        pump.offer(&progress(Stage::Verifying, 5));
        // Finishing hands on what the throttle still held.
        pump.finish();
        assert_eq!(received(&rx), [(Stage::Verifying, 5)]);
    }
}
