//! Dry run on SQLite.

use crate::data::commands::DryRunReport;
use serde::{Deserialize, Serialize};

/// What Dry run knows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DryRunPart {
    /// The dry run's report.
    pub report: Option<DryRunReport>,
}
