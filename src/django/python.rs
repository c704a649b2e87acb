//! Which Python runs the project: the one the user named, the active virtualenv, a
//! virtualenv inside the project, or `python3` from PATH, in that order.

use std::path::{Path, PathBuf};

/// The interpreter chosen and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PythonChoice {
    pub path: PathBuf,
    /// `--python`, `$VIRTUAL_ENV`, `.venv`, `venv`, `env`, or `PATH`.
    pub source: String,
}

/// Pick the project's Python. `None` only when nothing at all is found.
pub fn pick_python(project_dir: &Path, explicit: Option<&Path>) -> Option<PythonChoice> {
    if let Some(p) = explicit {
        // Named, but the project's own virtualenv (the demo names the `.venv` it links):
        // say so, rather than "--python" nobody typed.
        let own = [".venv", "venv", "env"]
            .into_iter()
            .find(|name| same_venv_python(&venv_python(&project_dir.join(name)), p));
        return Some(PythonChoice {
            path: p.to_path_buf(),
            source: own.unwrap_or("--python").into(),
        });
    }
    if let Some(venv) = std::env::var_os("VIRTUAL_ENV") {
        let p = venv_python(Path::new(&venv));
        if p.exists() {
            return Some(PythonChoice {
                path: p,
                source: "$VIRTUAL_ENV".into(),
            });
        }
    }
    for name in [".venv", "venv", "env"] {
        let p = venv_python(&project_dir.join(name));
        if p.exists() {
            return Some(PythonChoice {
                path: p,
                source: name.into(),
            });
        }
    }
    find_on_path("python3")
        .or_else(|| find_on_path("python"))
        .map(|path| PythonChoice {
            path,
            source: "PATH".into(),
        })
}

/// Whether two interpreter paths are the same virtualenv's: the same name in the same
/// `bin` folder once links are resolved. (Not the interpreters themselves: every venv's
/// `python` links to the same system one.)
fn same_venv_python(a: &Path, b: &Path) -> bool {
    let dir = |p: &Path| p.parent().and_then(|d| d.canonicalize().ok());
    a.is_file() && a.file_name() == b.file_name() && dir(a).is_some() && dir(a) == dir(b)
}

fn venv_python(venv: &Path) -> PathBuf {
    venv.join("bin").join("python")
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_python_wins_then_project_venvs() {
        let dir = tempfile::tempdir().unwrap();
        let explicit = pick_python(dir.path(), Some(Path::new("/opt/py/bin/python"))).unwrap();
        assert_eq!(explicit.source, "--python");

        std::fs::create_dir_all(dir.path().join("venv/bin")).unwrap();
        std::fs::write(dir.path().join("venv/bin/python"), "").unwrap();
        // $VIRTUAL_ENV may be set by whoever runs the tests; only check when it is not.
        if std::env::var_os("VIRTUAL_ENV").is_none() {
            let found = pick_python(dir.path(), None).unwrap();
            assert_eq!(found.source, "venv");
            assert_eq!(found.path, dir.path().join("venv/bin/python"));
        }
    }

    #[test]
    fn a_named_python_that_is_the_projects_own_venv_is_not_called_from_python_flag() {
        let project = tempfile::tempdir().unwrap();
        let cache = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(cache.path().join("venv/bin")).unwrap();
        let python = cache.path().join("venv/bin/python");
        std::fs::write(&python, "").unwrap();
        std::os::unix::fs::symlink(cache.path().join("venv"), project.path().join(".venv"))
            .unwrap();
        // The demo's way: the cached venv, linked as the project's .venv.
        assert_eq!(
            pick_python(project.path(), Some(&python)).unwrap().source,
            ".venv"
        );
        // Another interpreter, even beside it, really came from --python.
        let other = cache.path().join("venv/bin/python3.12");
        std::fs::write(&other, "").unwrap();
        assert_eq!(
            pick_python(project.path(), Some(&other)).unwrap().source,
            "--python"
        );
        let elsewhere = tempfile::tempdir().unwrap();
        assert_eq!(
            pick_python(elsewhere.path(), Some(&python)).unwrap().source,
            "--python"
        );
    }
}
