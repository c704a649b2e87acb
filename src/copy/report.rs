//! What preflight and the load report. (Contract with `state`; the engine fills them.)

use serde::{Deserialize, Serialize};

/// A value that would fail in PostgreSQL, found before anything is written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    pub table: String,
    /// The row's primary key (or rowid) as text.
    pub pk: String,
    pub column: String,
    /// What is wrong, in plain words.
    pub issue: String,
    /// A short excerpt of the value.
    pub excerpt: String,
    /// The fix `ProblemPolicy::Fix` would apply, if there is one.
    pub fix: Option<String>,
}

/// The preflight's findings. Nothing has been written when it exists.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PreflightReport {
    pub problems: Vec<Problem>,
    /// Target tables that already hold rows, with their counts.
    pub nonempty_targets: Vec<(String, u64)>,
    /// Plain-words notes on the plan (tables or columns on one side only, generated columns…).
    pub notes: Vec<String>,
    /// Source tables and their row counts, in load order.
    pub tables: Vec<(String, u64)>,
}

impl PreflightReport {
    pub fn problem_count(&self) -> usize {
        self.problems.len()
    }

    pub fn nonempty_target_tables(&self) -> &[(String, u64)] {
        &self.nonempty_targets
    }
}

/// One table's verification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableCheck {
    pub table: String,
    pub source_rows: u64,
    pub target_rows: u64,
    pub checksum_match: bool,
    pub rejected_rows: u64,
}

/// The end of a copy.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CopyReport {
    pub checks: Vec<TableCheck>,
    pub elapsed_ms: u64,
    pub notes: Vec<String>,
}

impl CopyReport {
    pub fn all_verified(&self) -> bool {
        self.checks
            .iter()
            .all(|c| c.checksum_match && c.source_rows == c.target_rows + c.rejected_rows)
    }

    pub fn summary_line(&self) -> String {
        let rows: u64 = self.checks.iter().map(|c| c.target_rows).sum();
        let bad = self
            .checks
            .iter()
            .filter(|c| !(c.checksum_match && c.source_rows == c.target_rows + c.rejected_rows))
            .count();
        if bad == 0 {
            format!(
                "{} rows in {} tables copied and verified in {}",
                crate::units::thousands(rows),
                self.checks.len(),
                super::progress::hms(self.elapsed_ms / 1000)
            )
        } else {
            format!(
                "{bad} of {} tables do not match after the copy",
                self.checks.len()
            )
        }
    }
}
