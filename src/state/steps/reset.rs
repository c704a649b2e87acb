//! Reset migrations: the scan, the apps selected, what moved and what makemigrations wrote.

use crate::data::backup::{MigrationScan, ResetReport};
use crate::data::commands::MakeMigrationsReport;
use serde::{Deserialize, Serialize};

/// What Reset migrations knows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ResetPart {
    /// What would go, per app.
    pub scan: Option<MigrationScan>,
    /// The apps selected (none until the user says so), in the scan's order.
    #[serde(default)]
    pub selection: Vec<String>,
    /// What moved into the backup.
    pub report: Option<ResetReport>,
    /// What makemigrations wrote.
    pub regenerated: Option<MakeMigrationsReport>,
}
