//! Update settings.

use crate::data::settings::{Applied, RewritePlan, Validation};
use serde::{Deserialize, Serialize};

/// What Update settings knows (the style asked for is the user's answer:
/// `Migration::settings_style`, kept when the target changes).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SettingsPart {
    /// The change planned.
    pub plan: Option<RewritePlan>,
    /// What was written.
    pub applied: Option<Applied>,
    /// What Django said with the new settings.
    pub validation: Option<Validation>,
}
