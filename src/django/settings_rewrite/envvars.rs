//! The environment variables the new settings read: their list (the password as a
//! placeholder), `.env.example` (the password line empty) and `export` lines to show.

use super::generate::{Shape, verifies};
use crate::data::settings::{EnvVar, PASSWORD_PLACEHOLDER, SecretSlot, SettingsTarget};

fn var(name: &str, value: impl Into<String>, secret: SecretSlot) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: value.into(),
        secret,
    }
}

/// Percent-encode everything but RFC 3986's unreserved characters (and `keep`).
pub(super) fn pct(s: &str, keep: &[u8]) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || keep.contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// `postgresql://user:PASSWORD@host:port/db?sslmode=…`, `password` in the userinfo.
pub(super) fn database_url(t: &SettingsTarget, password: &str) -> String {
    let host = if t.host.contains(':') {
        format!("[{}]", t.host)
    } else {
        t.host.clone()
    };
    let mut url = format!(
        "postgresql://{}:{}@{host}:{}/{}?sslmode={}",
        pct(&t.user, &[]),
        password,
        t.port,
        pct(&t.dbname, &[]),
        pct(&t.sslmode, &[])
    );
    if let (true, Some(ca)) = (verifies(&t.sslmode), &t.sslrootcert) {
        url.push_str("&sslrootcert=");
        url.push_str(&pct(&ca.to_string_lossy(), b"/:"));
    }
    for (k, v) in &t.libpq {
        url.push_str(&format!("&{k}={}", pct(v, &[])));
    }
    if let (false, Some(o)) = (t.pool, &t.startup_options) {
        url.push_str(&format!("&options={}", pct(o, &[])));
    }
    url
}

/// The variables for `shape`, password as [`PASSWORD_PLACEHOLDER`].
pub(super) fn env_vars(t: &SettingsTarget, shape: Shape) -> Vec<EnvVar> {
    match shape {
        Shape::Env => {
            let mut v = vec![
                var("POSTGRES_HOST", &t.host, SecretSlot::None),
                var("POSTGRES_PORT", t.port.to_string(), SecretSlot::None),
                var("POSTGRES_DB", &t.dbname, SecretSlot::None),
                var("POSTGRES_USER", &t.user, SecretSlot::None),
                var("POSTGRES_PASSWORD", PASSWORD_PLACEHOLDER, SecretSlot::Whole),
                var("POSTGRES_SSLMODE", &t.sslmode, SecretSlot::None),
            ];
            if verifies(&t.sslmode) {
                let ca = t
                    .sslrootcert
                    .as_ref()
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_default();
                v.push(var("POSTGRES_SSLROOTCERT", ca, SecretSlot::None));
            }
            v
        }
        Shape::DjDatabaseUrl | Shape::UrlLib => vec![var(
            "DATABASE_URL",
            database_url(t, PASSWORD_PLACEHOLDER),
            SecretSlot::InUrl,
        )],
    }
}

/// What loads `.env` into the environment in a project's settings, if anything does:
/// python-dotenv's `load_dotenv()` or django-environ's `read_env()`.
pub fn dotenv_loader(settings_text: &str) -> Option<&'static str> {
    let code = settings_text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    if code.contains("load_dotenv(") || code.contains("dotenv_values(") {
        Some("python-dotenv")
    } else if code.contains("read_env(") {
        Some("django-environ")
    } else {
        None
    }
}

/// The text of `.env.example`: names and non-secret values, the password empty, and how
/// the values reach Django: Django reads the process environment, so a `.env` file does
/// nothing unless the project loads it (`loader`) or something exports it.
pub(super) fn env_example(vars: &[EnvVar], settings_file: &str, loader: Option<&str>) -> String {
    let mut out = format!(
        "# The environment the PostgreSQL settings in {settings_file} read (written by dj2pg).\n"
    );
    match loader {
        Some(loader) => out.push_str(&format!(
            "# {settings_file} loads .env with {loader}: copy this file to .env next to it and\n\
             # fill in the password. .env is in .gitignore: never commit it.\n"
        )),
        None => out.push_str(
            "# Django reads the process environment, not this file. Set these where the app runs:\n\
             #   a shell: export each line (or: set -a; . ./.env; set +a) before manage.py;\n\
             #   a process manager: systemd EnvironmentFile=, docker run --env-file .env,\n\
             #   supervisor environment=;\n\
             #   a platform (DigitalOcean App Platform, Heroku, Render…): its environment\n\
             #   variables settings, the password as a secret.\n\
             # Keep the real values in .env (in .gitignore: never commit it), not in this file.\n",
        ),
    }
    for v in vars {
        match v.secret {
            SecretSlot::None => out.push_str(&format!("{}={}\n", v.name, v.value)),
            SecretSlot::Whole => out.push_str(&format!("{}=\n", v.name)),
            SecretSlot::InUrl => {
                out.push_str("# Put the password (percent-encoded) in place of PASSWORD.\n");
                out.push_str(&format!(
                    "{}={}\n",
                    v.name,
                    v.value.replacen(PASSWORD_PLACEHOLDER, "PASSWORD", 1)
                ));
            }
        }
    }
    out
}

/// Single-quote for a POSIX shell.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// `export NAME='value'` lines; the password stays a placeholder.
pub(super) fn shell_lines(vars: &[EnvVar]) -> Vec<String> {
    let mut lines: Vec<String> = vars
        .iter()
        .map(|v| format!("export {}={}", v.name, sh_quote(&v.value)))
        .collect();
    if vars.iter().any(|v| v.secret != SecretSlot::None) {
        lines.push(format!(
            "# replace {PASSWORD_PLACEHOLDER} with the password (in a URL, percent-encoded); \
             `read -rs VAR; export VAR` keeps it out of the shell history"
        ));
    }
    lines
}

/// The variables with the real password put in, for a child process's environment only.
pub(super) fn fill_password(vars: &[EnvVar], password: &str) -> Vec<(String, String)> {
    vars.iter()
        .map(|v| {
            let value = match v.secret {
                SecretSlot::None => v.value.clone(),
                SecretSlot::Whole => password.to_string(),
                SecretSlot::InUrl => v
                    .value
                    .replacen(PASSWORD_PLACEHOLDER, &pct(password, &[]), 1),
            };
            (v.name.clone(), value)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> SettingsTarget {
        SettingsTarget {
            host: "db.example.com".into(),
            port: 25060,
            dbname: "app db".into(),
            user: "app".into(),
            sslmode: "verify-full".into(),
            sslrootcert: Some("/etc/ca.crt".into()),
            search_path: None,
            pool: false,
            ..Default::default()
        }
    }

    #[test]
    fn url_encodes_password_and_names() {
        let vars = env_vars(&target(), Shape::UrlLib);
        let filled = fill_password(&vars, "p@ss/w:rd");
        assert_eq!(
            filled[0].1,
            "postgresql://app:p%40ss%2Fw%3Ard@db.example.com:25060/app%20db?sslmode=verify-full&sslrootcert=/etc/ca.crt"
        );
        assert!(!env_example(&vars, "s.py", None).contains("p@ss"));
    }

    #[test]
    fn env_example_leaves_the_password_empty() {
        let text = env_example(&env_vars(&target(), Shape::Env), "s.py", None);
        assert!(text.contains("\nPOSTGRES_PASSWORD=\n"), "{text}");
        assert!(text.contains("POSTGRES_SSLROOTCERT=/etc/ca.crt"));
    }

    #[test]
    fn env_example_says_how_the_values_reach_django() {
        let vars = env_vars(&target(), Shape::Env);
        let plain = env_example(&vars, "s.py", None);
        assert!(
            plain.contains("Django reads the process environment"),
            "{plain}"
        );
        assert!(
            plain.contains("export") && plain.contains("EnvironmentFile="),
            "{plain}"
        );
        assert!(!plain.contains("Copy it to .env"), "{plain}");
        let loaded = env_example(&vars, "s.py", Some("python-dotenv"));
        assert!(
            loaded.contains("s.py loads .env with python-dotenv"),
            "{loaded}"
        );
    }

    #[test]
    fn a_settings_file_that_loads_dotenv_is_recognised_and_a_comment_is_not() {
        assert_eq!(
            dotenv_loader("from dotenv import load_dotenv\nload_dotenv(BASE_DIR / '.env')\n"),
            Some("python-dotenv")
        );
        assert_eq!(
            dotenv_loader("import environ\nenv = environ.Env()\nenviron.Env.read_env()\n"),
            Some("django-environ")
        );
        assert_eq!(
            dotenv_loader("# load_dotenv() one day\nDEBUG = True\n"),
            None
        );
    }
}
