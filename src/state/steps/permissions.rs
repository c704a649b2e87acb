//! Fix permissions.

use crate::data::pg::ConnConfig;
use crate::data::privileges::{ApplyReport, Diagnosis, Recipe};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// What Fix permissions knows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PermissionsPart {
    /// The admin's connection; its password is never part of it on disk.
    pub admin: Option<ConnConfig>,
    /// What the diagnosis found, and the recipes it offers.
    pub diagnosis: Option<Diagnosis>,
    #[serde(default)]
    pub recipes: Vec<Recipe>,
    /// The recipe that ran, with its re-check.
    pub applied: Option<ApplyReport>,
    /// Where the SQL for a DBA was saved.
    pub dba_script: Option<PathBuf>,
}
