//! Create schema.

use crate::data::commands::CreateSchemaReport;
use crate::data::privileges::{DefaultGrants, GrantsAnswer};
use serde::{Deserialize, Serialize};

/// What Create schema knows (the embeddings answer and plan are still
/// `Migration::embeddings` and `Migration::embeddings_plan`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SchemaPart {
    /// What migrate did.
    pub report: Option<CreateSchemaReport>,
    /// Default privileges of the role that runs migrate granting its new tables to other
    /// roles (Supabase's API roles), and what the user chose about them.
    pub default_grants: Option<DefaultGrants>,
    pub grants_answer: Option<GrantsAnswer>,
}
