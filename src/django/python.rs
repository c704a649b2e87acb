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
        return Some(PythonChoice {
            path: p.to_path_buf(),
            source: "--python".into(),
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
}
