//! Copy rows.

use crate::data::copy::{CopyProgress, CopyReport, PreflightReport};
use crate::rules::CopyAnswers;
use serde::{Deserialize, Serialize};

/// What Copy rows knows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CopyPart {
    pub preflight: Option<PreflightReport>,
    /// The answers given to the copy's questions since its last preflight.
    #[serde(default)]
    pub answers: CopyAnswers,
    /// The running copy's latest progress.
    pub progress: Option<CopyProgress>,
    pub report: Option<CopyReport>,
    /// Whether the copy job is paused (the driver also tells the worker).
    #[serde(default)]
    pub paused: bool,
}
