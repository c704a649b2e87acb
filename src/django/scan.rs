//! The static scan: what can be learnt from the tree when Django cannot be run.
//!
//! It is a fallback and says so: apps are directories with `models.py` or `apps.py`, the
//! settings module comes from manage.py, the SQLite file from a literal `NAME` in settings.

use super::{AppInfo, DatabaseInfo};
use std::path::{Path, PathBuf};

/// Directories never searched: virtualenvs, VCS, caches, node_modules.
pub(crate) fn is_ignored_dir(name: &str) -> bool {
    name.starts_with('.')
        || matches!(
            name,
            "venv"
                | "env"
                | "node_modules"
                | "__pycache__"
                | "site-packages"
                | "dist-packages"
                | "static"
                | "media"
                | "build"
                | "dist"
                | "target"
        )
}

/// `DJANGO_SETTINGS_MODULE` as manage.py sets it.
pub fn settings_module_from_manage_py(manage_py: &Path) -> Option<String> {
    let text = std::fs::read_to_string(manage_py).ok()?;
    let at = text.find("DJANGO_SETTINGS_MODULE")?;
    let rest = &text[at + "DJANGO_SETTINGS_MODULE".len()..];
    // Skip the key's closing quote and the comma: `'KEY', 'value'`.
    let rest = &rest[rest.find(',')? + 1..];
    let quote_at = rest.find(['\'', '"'])?;
    let quote = rest.as_bytes()[quote_at] as char;
    let rest = &rest[quote_at + 1..];
    let end = rest.find(quote)?;
    Some(rest[..end].to_string())
}

/// The settings file of a dotted module, relative to the project directory.
pub fn settings_file(project_dir: &Path, module: &str) -> PathBuf {
    let mut p = project_dir.to_path_buf();
    for part in module.split('.') {
        p.push(part);
    }
    p.set_extension("py");
    p
}

/// The default database, read from settings.py's text (best effort).
pub fn database_from_settings(project_dir: &Path, settings: &Path) -> DatabaseInfo {
    let text = std::fs::read_to_string(settings).unwrap_or_default();
    let engine = find_quoted_after(&text, "ENGINE").unwrap_or_else(|| "unknown".into());
    let name = find_name(&text).map(|n| {
        let p = PathBuf::from(n);
        if p.is_absolute() {
            p
        } else {
            project_dir.join(p)
        }
    });
    DatabaseInfo { engine, name }
}

fn find_quoted_after(text: &str, key: &str) -> Option<String> {
    let at = text
        .find(&format!("'{key}'"))
        .or_else(|| text.find(&format!("\"{key}\"")))?;
    let rest = &text[at + key.len() + 2..];
    let rest = rest.trim_start().strip_prefix(':')?.trim_start();
    let quote = rest.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let rest = &rest[1..];
    Some(rest[..rest.find(quote)?].to_string())
}

/// `'NAME': BASE_DIR / 'db.sqlite3'`, `os.path.join(BASE_DIR, 'db.sqlite3')` or a literal.
fn find_name(text: &str) -> Option<String> {
    let at = text.find("'NAME'").or_else(|| text.find("\"NAME\""))?;
    let line = text[at..].lines().next()?;
    let quoted: Vec<&str> = line.split(['\'', '"']).collect();
    // quoted[1] is NAME itself; the last quoted string on the line is the file name.
    quoted
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, s)| *s)
        .rfind(|s| *s != "NAME")
        .map(str::to_string)
}

/// Local apps: directories under the project with `models.py` or `apps.py`.
pub fn scan_apps(project_dir: &Path) -> Vec<AppInfo> {
    let mut apps = Vec::new();
    walk(project_dir, project_dir, 0, &mut apps);
    apps.sort_by(|a, b| a.label.cmp(&b.label));
    apps
}

fn walk(root: &Path, dir: &Path, depth: usize, apps: &mut Vec<AppInfo>) {
    if depth > 4 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut subdirs = Vec::new();
    for e in entries.flatten() {
        let path = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if path.is_dir() && !is_ignored_dir(&name) && name != "migrations" {
            subdirs.push(path);
        }
    }
    if dir != root && (dir.join("models.py").is_file() || dir.join("apps.py").is_file()) {
        let label = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name = dir
            .strip_prefix(root)
            .map(|p| p.to_string_lossy().replace('/', "."))
            .unwrap_or_else(|_| label.clone());
        let migrations_dir = Some(dir.join("migrations")).filter(|d| d.is_dir());
        let (migration_files, data_migrations) = migrations_dir
            .as_deref()
            .map(list_migrations)
            .unwrap_or_default();
        apps.push(AppInfo {
            label,
            name,
            path: Some(dir.to_path_buf()),
            local: true,
            migrations_dir,
            migration_files,
            data_migrations,
            models: Vec::new(),
        });
    }
    for sub in subdirs {
        walk(root, &sub, depth + 1, apps);
    }
}

/// Migration files of a folder (sorted) and those that are data migrations.
pub fn list_migrations(dir: &Path) -> (Vec<String>, Vec<String>) {
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".py") && n != "__init__.py")
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let data = files
        .iter()
        .filter(|f| {
            std::fs::read_to_string(dir.join(f))
                .map(|t| t.contains("RunPython") || t.contains("RunSQL"))
                .unwrap_or(false)
        })
        .cloned()
        .collect();
    (files, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_settings_module_and_sqlite_name() {
        let dir = tempfile::tempdir().unwrap();
        let manage = dir.path().join("manage.py");
        std::fs::write(
            &manage,
            "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'mysite.settings')\n",
        )
        .unwrap();
        assert_eq!(
            settings_module_from_manage_py(&manage).as_deref(),
            Some("mysite.settings")
        );
        let settings = settings_file(dir.path(), "mysite.settings");
        assert_eq!(settings, dir.path().join("mysite/settings.py"));
        std::fs::create_dir_all(settings.parent().unwrap()).unwrap();
        std::fs::write(
            &settings,
            "DATABASES = {\n  'default': {\n    'ENGINE': 'django.db.backends.sqlite3',\n    'NAME': BASE_DIR / 'db.sqlite3',\n  }\n}\n",
        )
        .unwrap();
        let db = database_from_settings(dir.path(), &settings);
        assert_eq!(db.engine, "django.db.backends.sqlite3");
        assert_eq!(db.name, Some(dir.path().join("db.sqlite3")));
    }

    #[test]
    fn finds_local_apps_and_data_migrations_but_not_venvs() {
        let dir = tempfile::tempdir().unwrap();
        let app = dir.path().join("shop");
        std::fs::create_dir_all(app.join("migrations")).unwrap();
        std::fs::write(app.join("models.py"), "").unwrap();
        std::fs::write(app.join("migrations/__init__.py"), "").unwrap();
        std::fs::write(app.join("migrations/0001_initial.py"), "ops = []").unwrap();
        std::fs::write(
            app.join("migrations/0002_fill.py"),
            "migrations.RunPython(f)",
        )
        .unwrap();
        let venv_app = dir.path().join(".venv/lib/site-packages/thing");
        std::fs::create_dir_all(&venv_app).unwrap();
        std::fs::write(venv_app.join("models.py"), "").unwrap();
        let apps = scan_apps(dir.path());
        assert_eq!(apps.len(), 1, "{apps:?}");
        assert_eq!(apps[0].label, "shop");
        assert_eq!(
            apps[0].migration_files,
            vec!["0001_initial.py", "0002_fill.py"]
        );
        assert_eq!(apps[0].data_migrations, vec!["0002_fill.py"]);
    }
}
