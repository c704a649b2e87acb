//! Files dj2pg carries inside its binary: the introspection script and the sample project.

/// Run by the project's Python to describe the project as JSON (see the script's docstring).
pub const INTROSPECT_PY: &str = include_str!("../assets/introspect.py");
