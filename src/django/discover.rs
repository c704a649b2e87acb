//! The Discover step's work: manage.py, Python, Django's own description, the SQLite file.

use super::introspect::run_introspection;
use super::python::pick_python;
use super::scan;
use super::sqlite::summarize_sqlite;
use super::{DatabaseInfo, Discovery, Method};
use anyhow::{Result, bail};
use std::path::{Path, PathBuf};

/// Find `manage.py` in `dir` or below it (not inside virtualenvs, VCS or caches).
pub fn find_manage_py(dir: &Path) -> Result<PathBuf> {
    if !dir.is_dir() {
        bail!(
            "{} is not a directory: pass the folder that holds manage.py (--project DIR)",
            dir.display()
        );
    }
    let direct = dir.join("manage.py");
    if direct.is_file() {
        return Ok(direct);
    }
    let mut found = Vec::new();
    search(dir, 0, &mut found);
    found.sort_by_key(|p| p.components().count());
    match found.as_slice() {
        [] => bail!(
            "no manage.py in {} or below it: pass the folder of your Django project with --project DIR",
            dir.display()
        ),
        [one] => Ok(one.clone()),
        [first, second, ..] if first.components().count() < second.components().count() => {
            Ok(first.clone())
        }
        many => bail!(
            "several Django projects below {}: {}. Pass the one to migrate with --project DIR",
            dir.display(),
            many.iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn search(dir: &Path, depth: usize, found: &mut Vec<PathBuf>) {
    if depth > 3 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if path.is_dir() && !scan::is_ignored_dir(&name) {
            if path.join("manage.py").is_file() {
                found.push(path.join("manage.py"));
            } else {
                search(&path, depth + 1, found);
            }
        }
    }
}

/// Discover the project in `project` (or below it).
///
/// Fails, with a message naming what to fix, when there is no manage.py, when the default
/// database is not SQLite, or when the SQLite file is missing or unreadable. When Django
/// cannot be run, falls back to a static scan and records why in `method`.
pub fn discover(project: &Path, python: Option<&Path>) -> Result<Discovery> {
    let manage_py = find_manage_py(project)?;
    let project_dir = manage_py
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| project.to_path_buf());
    let project_dir = project_dir.canonicalize().unwrap_or(project_dir);
    let choice = pick_python(&project_dir, python);
    let mut warnings = Vec::new();

    let introspected = match &choice {
        Some(c) if python.is_some() && !c.path.exists() => Err(anyhow::anyhow!(
            "the Python given with --python, {}, does not exist",
            c.path.display()
        )),
        Some(c) => run_introspection(&c.path, &project_dir),
        None => Err(anyhow::anyhow!(
            "no Python interpreter found (tried $VIRTUAL_ENV, .venv, venv, env, python3 on PATH)"
        )),
    };

    let mut d = match introspected {
        Ok(i) => Discovery {
            project_dir: project_dir.clone(),
            manage_py: manage_py.clone(),
            python: choice.as_ref().map(|c| c.path.clone()),
            python_source: choice
                .as_ref()
                .map(|c| c.source.clone())
                .unwrap_or_default(),
            method: Method::Introspected,
            django_version: Some(i.django_version),
            settings_module: Some(i.settings_module),
            database: DatabaseInfo {
                engine: i.database.engine,
                name: i.database.name.map(|n| absolute(&project_dir, &n)),
            },
            use_tz: i.use_tz,
            time_zone: i.time_zone,
            postgres_driver: i.postgres_driver,
            apps: i.apps,
            sqlite: None,
            warnings: Vec::new(),
        },
        Err(e) => {
            if python.is_some() && choice.as_ref().is_some_and(|c| !c.path.exists()) {
                return Err(e);
            }
            let reason = format!("{e:#}");
            warnings.push(format!(
                "Django could not be run, so this is a static scan of the tree (less precise). Why: {reason}"
            ));
            static_discovery(
                &project_dir,
                &manage_py,
                choice.map(|c| (c.path, c.source)),
                reason,
            )
        }
    };

    if let Method::StaticScan { reason } = &d.method
        && (d.database.engine == "unknown" || d.database.name.is_none())
    {
        // The tree alone did not say which database: a db.sqlite3 beside manage.py is the
        // Django default; anything else needs Django itself.
        let default_file = project_dir.join("db.sqlite3");
        if default_file.is_file() {
            d.database = DatabaseInfo {
                engine: "django.db.backends.sqlite3".into(),
                name: Some(default_file.clone()),
            };
            warnings.push(format!(
                "settings.py could not be read without Django, so {} (Django's default) is assumed to be the database",
                default_file.display()
            ));
        } else {
            bail!(
                "without running Django, dj2pg cannot tell which database settings.py uses. Make the project's Python work (why it did not: {reason}), or pass --python"
            );
        }
    }
    if !d.database.engine.ends_with("sqlite3") {
        bail!(
            "DATABASES['default'] in {} uses ENGINE {:?}, not SQLite: dj2pg moves SQLite projects. Point --project at a project that still runs on SQLite.",
            d.settings_module.as_deref().unwrap_or("settings.py"),
            d.database.engine
        );
    }
    let Some(db_path) = d.database.name.clone() else {
        bail!(
            "DATABASES['default']['NAME'] is not set: dj2pg cannot tell which SQLite file to copy"
        );
    };
    if db_path.as_os_str() == ":memory:" || !db_path.exists() {
        bail!(
            "the SQLite file {} named by DATABASES['default']['NAME'] does not exist. Run the app once (or fix NAME) so there is data to copy.",
            db_path.display()
        );
    }
    d.sqlite = Some(summarize_sqlite(&db_path)?);

    for app in d.local_apps() {
        for f in &app.data_migrations {
            warnings.push(format!(
                "{}/migrations/{f} is a data migration (RunPython/RunSQL): makemigrations will not regenerate it",
                app.label
            ));
        }
    }
    if d.method == Method::Introspected && d.postgres_driver.is_none() {
        warnings.push(
            "the project's Python has no PostgreSQL driver yet: Create schema will need `pip install \"psycopg[binary]\"`".into(),
        );
    }
    d.warnings.splice(0..0, warnings);
    Ok(d)
}

fn static_discovery(
    project_dir: &Path,
    manage_py: &Path,
    python: Option<(PathBuf, String)>,
    reason: String,
) -> Discovery {
    let settings_module = scan::settings_module_from_manage_py(manage_py);
    let database = settings_module
        .as_deref()
        .map(|m| scan::database_from_settings(project_dir, &scan::settings_file(project_dir, m)))
        .unwrap_or(DatabaseInfo {
            engine: "unknown".into(),
            name: None,
        });
    let (python, python_source) = python.map(|(p, s)| (Some(p), s)).unwrap_or_default();
    Discovery {
        project_dir: project_dir.to_path_buf(),
        manage_py: manage_py.to_path_buf(),
        python,
        python_source,
        method: Method::StaticScan { reason },
        django_version: None,
        settings_module,
        database,
        use_tz: None,
        time_zone: None,
        postgres_driver: None,
        apps: scan::scan_apps(project_dir),
        sqlite: None,
        warnings: Vec::new(),
    }
}

fn absolute(base: &Path, name: &str) -> PathBuf {
    let p = PathBuf::from(name);
    if p.is_absolute() { p } else { base.join(p) }
}
