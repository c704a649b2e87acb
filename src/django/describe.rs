//! Discovery in plain lines, for the headless runner and logs.

use super::{Discovery, Method};
use crate::units::{human_bytes, thousands};

/// The discovery summary, one fact a line.
pub fn describe_lines(d: &Discovery) -> Vec<String> {
    let mut lines = vec![format!("project: {}", d.project_dir.display())];
    lines.push(format!(
        "python: {} ({})",
        d.python
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "none".into()),
        d.python_source
    ));
    match &d.method {
        Method::Introspected => lines.push("method: asked Django itself".into()),
        Method::StaticScan { reason } => {
            lines.push(format!("method: static scan of the tree, because {reason}"))
        }
    }
    lines.push(format!(
        "django: {}, settings {}",
        d.django_version.as_deref().unwrap_or("unknown"),
        d.settings_module.as_deref().unwrap_or("unknown")
    ));
    if let (Some(tz), Some(use_tz)) = (&d.time_zone, d.use_tz) {
        lines.push(format!("time: USE_TZ = {use_tz}, TIME_ZONE = {tz}"));
    }
    if let Some(s) = &d.sqlite {
        lines.push(format!(
            "sqlite: {} ({}), {} tables, {} rows",
            s.path.display(),
            human_bytes(s.size_bytes),
            s.tables.len(),
            thousands(s.total_rows())
        ));
    }
    for app in d.local_apps() {
        lines.push(format!(
            "local app {}: {} model(s), {} migration file(s){}",
            app.label,
            app.models.len(),
            app.migration_files.len(),
            if app.data_migrations.is_empty() {
                String::new()
            } else {
                format!(", data migrations: {}", app.data_migrations.join(", "))
            }
        ));
    }
    let third: Vec<&str> = d.third_party_apps().map(|a| a.label.as_str()).collect();
    lines.push(format!(
        "third-party apps ({}): {}",
        third.len(),
        third.join(", ")
    ));
    for w in &d.warnings {
        lines.push(format!("warning: {w}"));
    }
    lines
}
