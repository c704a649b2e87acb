//! Copy progress as a folded value: workers report, the driver folds, the UI draws the
//! newest snapshot. Serializable, so the state file shows where a copy stopped.

use serde::{Deserialize, Serialize};

/// Where one table is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TablePhase {
    Waiting,
    Loading,
    Loaded,
    Verified,
    Mismatch,
    Failed,
}

impl TablePhase {
    pub fn label(self) -> &'static str {
        match self {
            TablePhase::Waiting => "waiting",
            TablePhase::Loading => "loading",
            TablePhase::Loaded => "loaded",
            TablePhase::Verified => "verified",
            TablePhase::Mismatch => "MISMATCH",
            TablePhase::Failed => "failed",
        }
    }

    pub fn finished(self) -> bool {
        matches!(
            self,
            TablePhase::Loaded | TablePhase::Verified | TablePhase::Mismatch | TablePhase::Failed
        )
    }
}

/// One table's progress.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TableProgress {
    pub table: String,
    pub rows_done: u64,
    pub rows_total: u64,
    pub phase: TablePhase,
}

/// The whole copy's progress.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CopyProgress {
    pub tables: Vec<TableProgress>,
    /// Milliseconds since the load started (pauses excluded).
    pub elapsed_ms: u64,
    /// Recent throughput, rows per second.
    pub rows_per_sec: f64,
    /// What is happening now ("loading", "resetting sequences", "verifying", …).
    pub stage: String,
}

impl CopyProgress {
    pub fn rows_done(&self) -> u64 {
        self.tables.iter().map(|t| t.rows_done).sum()
    }

    pub fn rows_total(&self) -> u64 {
        self.tables.iter().map(|t| t.rows_total).sum()
    }

    pub fn tables_finished(&self) -> usize {
        self.tables.iter().filter(|t| t.phase.finished()).count()
    }

    /// 0.0..=1.0 by rows.
    pub fn fraction(&self) -> f64 {
        let total = self.rows_total();
        if total == 0 {
            return if self.tables.iter().all(|t| t.phase.finished()) {
                1.0
            } else {
                0.0
            };
        }
        (self.rows_done() as f64 / total as f64).clamp(0.0, 1.0)
    }

    /// Seconds left at the current rate, when that can be told.
    pub fn eta_secs(&self) -> Option<u64> {
        let left = self.rows_total().saturating_sub(self.rows_done());
        (self.rows_per_sec > 0.0).then(|| (left as f64 / self.rows_per_sec).ceil() as u64)
    }

    /// One line for the sidebar, the headless runner and the log.
    pub fn line(&self) -> String {
        let eta = self
            .eta_secs()
            .map(|s| format!(", ETA {}", crate::copy::progress::hms(s)))
            .unwrap_or_default();
        format!(
            "{}: {}/{} rows ({:.0}%), {}/{} tables, {:.0} rows/s{eta}",
            self.stage,
            self.rows_done(),
            self.rows_total(),
            self.fraction() * 100.0,
            self.tables_finished(),
            self.tables.len(),
            self.rows_per_sec
        )
    }
}

pub use crate::units::hms;
