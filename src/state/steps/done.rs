//! Done.

use crate::data::backup::RestoreReport;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// What Done knows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DonePart {
    /// The report files Done wrote.
    #[serde(default)]
    pub report_files: Vec<PathBuf>,
    /// What the last restore from the Done screen did.
    pub restored: Option<RestoreReport>,
}
