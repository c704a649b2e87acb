//! The newest progress of a running load, read by whoever draws it when it draws.
//!
//! The load offers a [`CopyProgress`] many times a second; each offer overwrites one
//! latest-value slot, and nothing else happens: no thread, no message. The driver (the
//! wizard before each frame, `migrate` and `copy` on each poll) takes the slot's value
//! when it draws, if a new one came. So what it shows is always the newest value — a new
//! stage too, even when no later offer follows it (a quick `ANALYZE`, then a long, quiet
//! verification shows "verifying", never the stage before it) — and a load that offers
//! faster than anyone draws floods no one.

use crate::data::copy::CopyProgress;
use std::sync::{Arc, Mutex, MutexGuard};

/// One latest-value slot, shared by the load (which offers) and the driver (which takes).
#[derive(Clone, Default)]
pub struct ProgressSlot(Arc<Mutex<Option<CopyProgress>>>);

impl ProgressSlot {
    fn lock(&self) -> MutexGuard<'_, Option<CopyProgress>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The load's newest progress: it replaces whatever was not taken yet.
    pub fn offer(&self, p: &CopyProgress) {
        *self.lock() = Some(p.clone());
    }

    /// The newest value, if one came since the last take.
    pub fn take(&self) -> Option<CopyProgress> {
        self.lock().take()
    }

    /// Whether this is the last handle: the load that offered into it is gone, so nothing
    /// new can come.
    pub fn is_orphaned(&self) -> bool {
        Arc::strong_count(&self.0) == 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::copy::Stage;

    fn progress(stage: Stage, elapsed_ms: u64) -> CopyProgress {
        CopyProgress {
            stage,
            elapsed_ms,
            ..CopyProgress::default()
        }
    }

    fn taken(slot: &ProgressSlot) -> Option<(Stage, u64)> {
        slot.take().map(|p| (p.stage, p.elapsed_ms))
    }

    #[test]
    fn the_newest_value_is_read_without_another_offer() {
        let load = ProgressSlot::default();
        let drawer = load.clone();
        // A quick stage, then a new one at once, then a long quiet one: no later offer.
        load.offer(&progress(Stage::Loading, 1));
        load.offer(&progress(Stage::Verifying, 2));
        // The drawer reads when it draws: the newest stage, never the one before it.
        assert_eq!(taken(&drawer), Some((Stage::Verifying, 2)));
        // Nothing new: nothing to apply, and the drawer keeps what it showed.
        assert_eq!(taken(&drawer), None);
        load.offer(&progress(Stage::Verifying, 3));
        assert_eq!(taken(&drawer), Some((Stage::Verifying, 3)));
    }

    #[test]
    fn a_value_offered_from_another_thread_is_read_and_the_slot_knows_the_load_is_gone() {
        let drawer = ProgressSlot::default();
        let load = drawer.clone();
        assert!(!drawer.is_orphaned());
        std::thread::spawn(move || {
            for ms in 0..1000 {
                load.offer(&progress(Stage::Loading, ms));
            }
            load.offer(&progress(Stage::Analyzing, 1000));
        })
        .join()
        .expect("the load thread");
        assert!(drawer.is_orphaned(), "the load dropped its handle");
        assert_eq!(taken(&drawer), Some((Stage::Analyzing, 1000)));
    }
}
