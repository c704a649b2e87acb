//! Django: finding the project, its Python, and what Django says about it.
//!
//! Discovery runs `assets/introspect.py` with the project's own interpreter (JSON out).
//! When that interpreter or Django cannot run, a static scan of the tree stands in, and
//! the discovery says so.

pub mod commands;
pub mod create_schema;
mod describe;
mod discover;
pub mod driver;
pub mod dry_run;
mod introspect;
pub mod migrations;
mod model_names;
pub mod overlay;
pub mod pgvector;
pub mod pgvector_plan;
mod python;
mod scan;
pub mod schema_diff;
pub mod settings_rewrite;
mod sqlite;
/// The demo's (and the tests') cached Django venv; its pip fallback is the pinned package.
#[cfg(feature = "demo")]
pub mod venv;

pub use create_schema::{CreateSchemaInput, create_schema};
pub use describe::describe_lines;
pub use discover::{discover, find_manage_py};
pub use driver::{check_driver, install_driver};
pub use dry_run::{MakeMigrationsInput, dry_run, make_migrations};
pub use introspect::{Introspection, run_introspection};
pub use model_names::model_names;
pub use python::{PythonChoice, pick_python};
pub use sqlite::summarize_sqlite;

pub use crate::data::django::{
    AppInfo, DatabaseInfo, Discovery, FieldInfo, Method, ModelInfo, SqliteSummary,
};
