//! The PostgreSQL driver of the project's Python: whether psycopg (3) or psycopg2 imports,
//! and, when neither does, the install command for the project's own environment and a
//! streamed, cancellable run of it (only on the user's confirmation).

use crate::data::commands::{DriverCheck, DriverInstall};
use crate::django::commands::{Scrubber, run_streamed};
use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// Imports each driver in turn and says which one works, why an installed one would not, the
/// Django version (psycopg 3 needs Django 4.2+) and whether this is a virtualenv. JSON out.
const CHECK_SCRIPT: &str = r#"
import importlib, json, sys
out = {"driver": None, "version": None, "error": None, "django": None,
       "venv": sys.prefix != getattr(sys, "base_prefix", sys.prefix)}
try:
    import django
    out["django"] = list(django.VERSION[:2])
except Exception:
    pass
for name in ("psycopg", "psycopg2"):
    try:
        m = importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name != name and out["error"] is None:
            out["error"] = "%s: %s" % (name, e)
        continue
    except Exception as e:
        if out["error"] is None:
            out["error"] = "%s: %s" % (name, e)
        continue
    out["driver"] = name
    out["version"] = str(getattr(m, "__version__", "")).split(" ")[0]
    break
print(json.dumps(out))
"#;

#[derive(serde::Deserialize)]
struct CheckOut {
    driver: Option<String>,
    version: Option<String>,
    error: Option<String>,
    django: Option<Vec<u32>>,
    venv: bool,
}

/// Ask the project's Python which PostgreSQL driver it can import.
pub fn check_driver(python: &Path) -> Result<DriverCheck> {
    let out = Command::new(python)
        .args(["-c", CHECK_SCRIPT])
        .stdin(Stdio::null())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .with_context(|| format!("could not run the project's Python {}", python.display()))?;
    if !out.status.success() {
        bail!(
            "{} could not check for a PostgreSQL driver ({}): {}",
            python.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let parsed: CheckOut = serde_json::from_str(stdout.trim()).with_context(|| {
        format!(
            "{} printed something unexpected while checking for a driver: {}",
            python.display(),
            stdout.trim()
        )
    })?;
    let driver = parsed
        .driver
        .map(|name| (name, parsed.version.unwrap_or_default()));
    // Django before 4.2 only speaks psycopg2.
    let package = match parsed.django.as_deref() {
        Some([major, minor, ..]) if (*major, *minor) < (4, 2) => "psycopg2-binary",
        _ => "psycopg[binary]",
    };
    let install_command = driver.is_none().then(|| {
        vec![
            python.display().to_string(),
            "-m".into(),
            "pip".into(),
            "install".into(),
            package.into(),
        ]
    });
    Ok(DriverCheck {
        python: python.to_path_buf(),
        driver,
        import_error: parsed.error,
        in_virtualenv: parsed.venv,
        install_command,
    })
}

/// Run `check.install_command` (the user confirmed it), streamed, then check again.
pub fn install_driver(
    check: DriverCheck,
    on_line: &mut dyn FnMut(String),
    cancel: Arc<AtomicBool>,
) -> Result<DriverInstall> {
    let Some(argv) = check.install_command.clone() else {
        bail!("a PostgreSQL driver is already installed: nothing to install");
    };
    let display = check.install_display().unwrap_or_default();
    let mut cmd = Command::new(&check.python);
    cmd.args(argv.iter().skip(1))
        .args(["--disable-pip-version-check", "--no-input"])
        .stdin(Stdio::null())
        .env("PYTHONUNBUFFERED", "1");
    on_line(format!("$ {display}"));
    let run = run_streamed(cmd, &display, &Scrubber::default(), on_line, &cancel)?;
    let after = check_driver(&check.python)?;
    Ok(DriverInstall { run, after })
}
