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

/// The text of `.env.example`: names and non-secret values, the password empty.
pub(super) fn env_example(vars: &[EnvVar], settings_file: &str) -> String {
    let mut out = format!(
        "# The environment the PostgreSQL settings in {settings_file} read (written by dj2pg).\n\
         # Copy it to .env (never commit that one) and fill in the password.\n"
    );
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
        assert!(!env_example(&vars, "s.py").contains("p@ss"));
    }

    #[test]
    fn env_example_leaves_the_password_empty() {
        let text = env_example(&env_vars(&target(), Shape::Env), "s.py");
        assert!(text.contains("\nPOSTGRES_PASSWORD=\n"), "{text}");
        assert!(text.contains("POSTGRES_SSLROOTCERT=/etc/ca.crt"));
    }
}
