//! Backup: what it made and verified.

use crate::data::backup::BackupReport;
use serde::{Deserialize, Serialize};

/// What Backup knows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BackupPart {
    /// What Backup made and verified.
    pub report: Option<BackupReport>,
}
