//! Discovery in plain lines, for the headless runner and logs.

use super::{Discovery, Method};

/// Human units: 1.2 MB.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1000.0 && unit < UNITS.len() - 1 {
        v /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

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
            s.total_rows()
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

#[cfg(test)]
mod tests {
    use super::human_bytes;

    #[test]
    fn human_units() {
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1_234_567), "1.2 MB");
    }
}
