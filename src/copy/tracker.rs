//! Live counters the load workers bump, and the clock that leaves pauses out; the
//! coordinator folds them into a [`CopyProgress`] snapshot a few times a second.

use crate::data::copy::{CopyProgress, Stage, StageTime, TablePhase, TableProgress};
use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::Instant;

const PHASES: [TablePhase; 6] = [
    TablePhase::Waiting,
    TablePhase::Loading,
    TablePhase::Loaded,
    TablePhase::Verified,
    TablePhase::Mismatch,
    TablePhase::Failed,
];

/// Shared by the workers: per-table rows done and phase.
pub struct Tracker {
    names: Vec<String>,
    totals: Vec<AtomicU64>,
    done: Vec<AtomicU64>,
    phase: Vec<AtomicU8>,
    /// The current stage, when it began, and how long the stages before it took.
    stage: Mutex<Stages>,
}

struct Stages {
    now: Stage,
    since: Instant,
    past: Vec<StageTime>,
}

impl Tracker {
    pub fn new(tables: &[(String, u64)]) -> Tracker {
        Tracker {
            names: tables.iter().map(|(n, _)| n.clone()).collect(),
            totals: tables.iter().map(|(_, r)| AtomicU64::new(*r)).collect(),
            done: tables.iter().map(|_| AtomicU64::new(0)).collect(),
            phase: tables.iter().map(|_| AtomicU8::new(0)).collect(),
            stage: Mutex::new(Stages {
                now: Stage::Starting,
                since: Instant::now(),
                past: Vec::new(),
            }),
        }
    }

    pub fn add_rows(&self, table: usize, n: u64) {
        self.done[table].fetch_add(n, Ordering::Relaxed);
    }

    pub fn set_rows(&self, table: usize, n: u64) {
        self.done[table].store(n, Ordering::Relaxed);
    }

    pub fn set_phase(&self, table: usize, phase: TablePhase) {
        let i = PHASES.iter().position(|p| *p == phase).unwrap_or(0);
        self.phase[table].store(i as u8, Ordering::Relaxed);
    }

    /// Enter `stage`; the one it ends is timed.
    pub fn set_stage(&self, stage: Stage) {
        super::phase_log::stage(stage.as_str());
        let mut s = self.stage.lock().unwrap_or_else(|p| p.into_inner());
        let ms = s.since.elapsed().as_millis() as u64;
        let ended = s.now;
        s.past.push(StageTime { stage: ended, ms });
        s.now = stage;
        s.since = Instant::now();
    }

    /// The stages ended so far, in order, with how long each took.
    pub fn timings(&self) -> Vec<StageTime> {
        let s = self.stage.lock().unwrap_or_else(|p| p.into_inner());
        s.past.clone()
    }

    fn stage(&self) -> Stage {
        self.stage.lock().map(|s| s.now).unwrap_or_default()
    }

    fn rows_done(&self) -> u64 {
        self.done.iter().map(|d| d.load(Ordering::Relaxed)).sum()
    }

    pub fn snapshot(&self, clock: &Clock) -> CopyProgress {
        CopyProgress {
            tables: (0..self.names.len())
                .map(|i| TableProgress {
                    table: self.names[i].clone(),
                    rows_done: self.done[i].load(Ordering::Relaxed),
                    rows_total: self.totals[i].load(Ordering::Relaxed),
                    phase: PHASES[self.phase[i].load(Ordering::Relaxed) as usize % PHASES.len()],
                })
                .collect(),
            elapsed_ms: clock.active_ms,
            rows_per_sec: clock.rate(),
            stage: self.stage(),
        }
    }
}

/// Elapsed time without pauses, and a rate over the last few seconds of activity.
pub struct Clock {
    last: Instant,
    pub active_ms: u64,
    samples: VecDeque<(u64, u64)>,
}

impl Default for Clock {
    fn default() -> Self {
        Clock {
            last: Instant::now(),
            active_ms: 0,
            samples: VecDeque::new(),
        }
    }
}

impl Clock {
    /// Advance: time passed while paused does not count.
    pub fn tick(&mut self, paused: bool, tracker: &Tracker) {
        let now = Instant::now();
        if !paused {
            self.active_ms += now.duration_since(self.last).as_millis() as u64;
        }
        self.last = now;
        self.samples
            .push_back((self.active_ms, tracker.rows_done()));
        while self
            .samples
            .front()
            .is_some_and(|(t, _)| self.active_ms.saturating_sub(*t) > 3000)
        {
            self.samples.pop_front();
        }
    }

    fn rate(&self) -> f64 {
        match (self.samples.front(), self.samples.back()) {
            (Some((t0, r0)), Some((t1, r1))) if t1 > t0 => {
                (r1.saturating_sub(*r0)) as f64 * 1000.0 / (t1 - t0) as f64
            }
            _ => 0.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_folds_counters() {
        let t = Tracker::new(&[("a".into(), 10), ("b".into(), 0)]);
        t.add_rows(0, 4);
        t.set_phase(0, TablePhase::Loading);
        t.set_phase(1, TablePhase::Verified);
        t.set_stage(Stage::Loading);
        let mut c = Clock::default();
        c.tick(true, &t);
        let p = t.snapshot(&c);
        assert_eq!(p.rows_done(), 4);
        assert_eq!(p.tables[0].phase, TablePhase::Loading);
        assert_eq!(p.tables[1].phase, TablePhase::Verified);
        assert_eq!(p.stage, Stage::Loading);
        assert_eq!(p.elapsed_ms, 0, "paused time does not count");
    }

    #[test]
    fn a_stage_is_serialized_as_the_words_of_the_progress_line() {
        // `copy --json` and saved runs carry these words: they must not change.
        let words = [
            (Stage::Starting, "starting"),
            (Stage::CheckingTarget, "checking the target"),
            (Stage::EmptyingTargets, "emptying target tables"),
            (Stage::Loading, "loading"),
            (Stage::ResettingSequences, "resetting sequences"),
            (Stage::Analyzing, "analyzing"),
            (Stage::Verifying, "verifying"),
            (Stage::Done, "done"),
        ];
        for (stage, text) in words {
            assert_eq!(serde_json::to_value(stage).unwrap(), text);
            assert_eq!(stage.to_string(), text);
            let back: Stage = serde_json::from_value(text.into()).unwrap();
            assert_eq!(back, stage);
        }
        // A run saved before any stage was set (or by another version).
        let old: Stage = serde_json::from_value("".into()).unwrap();
        assert_eq!(old, Stage::Starting);
    }

    #[test]
    fn the_timings_note_is_written_from_the_stage_times() {
        let t = |stage, ms| StageTime { stage, ms };
        let timings = [
            t(Stage::Starting, 100),
            t(Stage::CheckingTarget, 1_200),
            t(Stage::EmptyingTargets, 200),
            t(Stage::Loading, 9_000),
            t(Stage::ResettingSequences, 50),
            t(Stage::Analyzing, 250),
            t(Stage::Verifying, 700),
        ];
        assert_eq!(
            crate::data::copy::timings_note(&timings, 3),
            "Timings: checking the target 1.5 s, load 9.0 s (with 3 table(s) read back as soon \
             as committed), sequences and ANALYZE 0.3 s, verification of the rest 0.7 s."
        );
    }

    #[test]
    fn each_stage_is_timed_when_the_next_begins() {
        let t = Tracker::new(&[]);
        t.set_stage(Stage::CheckingTarget);
        std::thread::sleep(std::time::Duration::from_millis(20));
        t.set_stage(Stage::Loading);
        t.set_stage(Stage::Done);
        let timings = t.timings();
        let stages: Vec<Stage> = timings.iter().map(|s| s.stage).collect();
        assert_eq!(
            stages,
            [Stage::Starting, Stage::CheckingTarget, Stage::Loading]
        );
        assert!(timings[1].ms >= 20, "{timings:?}");
    }
}
