//! Connect: the target the user chose, what the server said, the pool in front of it.

use crate::data::pg::{ConnConfig, Field, PoolRoute, ServerInfo};
use serde::{Deserialize, Serialize};

/// What Connect knows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ConnectPart {
    /// The connection the user chose; the password is never part of it on disk.
    pub target: Option<ConnConfig>,
    pub server: Option<ServerInfo>,
    /// The connection pool Connect found in front of the target, and the direct
    /// connection the schema and the copy use instead ([`super::super::Migration::work_target`]).
    #[serde(default)]
    pub pool: Option<PoolRoute>,
    /// The form field the last failed Connect points at (cleared by a new attempt).
    #[serde(default)]
    pub field: Option<Field>,
}
