//! Django: finding the project, its Python, and what Django says about it.
//!
//! Discovery runs `assets/introspect.py` with the project's own interpreter (JSON out).
//! When that interpreter or Django cannot run, a static scan of the tree stands in, and
//! the discovery says so.

mod describe;
mod discover;
mod introspect;
pub mod overlay;
mod python;
mod scan;
mod sqlite;
pub mod venv;

pub use describe::describe_lines;
pub use discover::{discover, find_manage_py};
pub use introspect::{Introspection, run_introspection};
pub use python::{PythonChoice, pick_python};
pub use sqlite::summarize_sqlite;

pub use crate::data::django::{
    AppInfo, DatabaseInfo, Discovery, FieldInfo, Method, ModelInfo, SqliteSummary,
};
