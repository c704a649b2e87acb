//! Files dj2pg carries inside its binary: the introspection and migration-scan scripts and
//! the sample project.

use anyhow::{Context, Result};
use std::path::Path;

/// Run by the project's Python to describe the project as JSON (see the script's docstring).
pub const INTROSPECT_PY: &str = include_str!("../assets/introspect.py");

/// Run by the project's Python next to [`INTROSPECT_PY`] (whose helpers it imports) to list
/// what a migrations reset would move and why some of it needs a look (JSON out).
pub const MIGRATION_SCAN_PY: &str = include_str!("../assets/migration_scan.py");

/// Run by the project's Python to find where `DATABASES` is set, with Python's own `ast`
/// (see the script's docstring); used by `django::settings_rewrite::locate`.
pub const SETTINGS_LOCATE_PY: &str = include_str!("../assets/settings_locate.py");

/// Run by the project's Python, once per database backend, to list Django's table and
/// column names for every model (`django::model_names`).
pub const MODEL_NAMES_PY: &str = include_str!("../assets/model_names.py");

/// The Python packages the sample project (and the test harness) pins.
pub const REQUIREMENTS_TXT: &str = include_str!("../assets/requirements.txt");

include!(concat!(env!("OUT_DIR"), "/sample_project.rs"));

/// Write the sample project into `dir`.
pub fn write_sample_project(dir: &Path) -> Result<()> {
    for (rel, bytes) in SAMPLE_PROJECT {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("could not create {}", parent.display()))?;
        }
        std::fs::write(&path, bytes)
            .with_context(|| format!("could not write {}", path.display()))?;
    }
    Ok(())
}
