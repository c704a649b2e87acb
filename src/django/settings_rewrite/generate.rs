//! The new `DATABASES` code, as Python source.
//!
//! Three shapes: `POSTGRES_*` variables through `os.environ` ([`Shape::Env`]); one
//! `DATABASE_URL` read by dj-database-url ([`Shape::DjDatabaseUrl`]), or, when the project
//! does not have it, by `urllib.parse` in a few generated lines ([`Shape::UrlLib`]).
//! Non-secret values default to the connection dj2pg tested; the password has no default
//! and never appears. `ssl_require` is never passed to dj-database-url (it overwrites the
//! URL's sslmode with `require`); the sslmode is set explicitly, the URL's winning.

use super::options::{Carried, Item};
use crate::data::settings::{SettingsTarget, SiteKind};
use crate::pg::privileges::search_path_option;

/// Which code is generated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Shape {
    Env,
    DjDatabaseUrl,
    UrlLib,
}

/// The generated statements and the imports they need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Generated {
    /// Lines of code, without line endings.
    pub lines: Vec<String>,
    /// `(module or module:name as the locator reports imports, statement)`.
    pub imports: Vec<(String, String)>,
    pub notes: Vec<String>,
}

pub(super) const ISOLATION_IMPORT: (&str, &str) = (
    "django.db.backends.postgresql.psycopg_any:IsolationLevel",
    "from django.db.backends.postgresql.psycopg_any import IsolationLevel",
);

/// A Python string literal for `s` (JSON's escapes are valid Python escapes).
pub(super) fn py_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// Whether the mode verifies the server's certificate (and so needs `sslrootcert`).
pub(super) fn verifies(sslmode: &str) -> bool {
    matches!(sslmode, "verify-ca" | "verify-full")
}

/// Generate the code replacing a statement of `kind`.
pub(super) fn generate(
    target: &SettingsTarget,
    shape: Shape,
    kind: SiteKind,
    carried: &Carried,
) -> Generated {
    let mut g = Generated {
        lines: Vec::new(),
        imports: vec![("os".into(), "import os".into())],
        notes: Vec::new(),
    };
    let mut options: Vec<Item> = carried.options.clone();
    if let Some(item) = libpq_options_item(target, carried, &mut g.notes) {
        options.push(item);
    }
    // Carried after the old settings' entries, so a key both name is written once, ours.
    let libpq = libpq_items(target, shape);
    options.retain(|o| !libpq.iter().any(|l| l.key == o.key));
    if shape != Shape::DjDatabaseUrl {
        options.extend(libpq.iter().cloned());
    }
    if carried.isolation_import {
        g.imports
            .push((ISOLATION_IMPORT.0.into(), ISOLATION_IMPORT.1.into()));
    }
    if target.sslrootcert.is_some() && !verifies(&target.sslmode) {
        g.notes.push(format!(
            "sslrootcert is not written: with sslmode={} libpq would still verify against it (like verify-ca) whenever the file exists; choose verify-full to verify the server",
            target.sslmode
        ));
    }
    match shape {
        Shape::Env | Shape::UrlLib => dict_code(&mut g, target, shape, kind, carried, &options),
        Shape::DjDatabaseUrl => dj_code(&mut g, target, kind, carried, &options, &libpq),
    }
    g
}

fn libpq_options_item(
    target: &SettingsTarget,
    c: &Carried,
    notes: &mut Vec<String>,
) -> Option<Item> {
    let search = target.search_path.as_deref().filter(|s| !s.is_empty());
    let url_options = target.startup_options.as_deref().filter(|o| !o.is_empty());
    if target.pool {
        if let Some(schema) = search {
            notes.push(format!(
                "search_path is not set through options='-c search_path=…': connection pools reject that startup parameter. Run once, as the admin: ALTER ROLE {} SET search_path = {schema};",
                target.user
            ));
        }
        if let Some(o) = url_options {
            notes.push(format!(
                "options={o} from the connection string is not written: connection pools reject startup options"
            ));
        }
        return c.libpq_options.as_ref().map(|o| Item {
            key: "options".into(),
            expr: o.clone(),
            comment: Some("kept from the old settings".into()),
        });
    }
    let mut parts: Vec<String> = Vec::new();
    if let Some(o) = url_options {
        parts.push(o.to_string());
    }
    if let Some(sp) = search.map(search_path_option) {
        parts.push(sp);
    }
    let new = (!parts.is_empty()).then(|| parts.join(" "));
    let expr = match (&c.libpq_options, &new) {
        (None, None) => return None,
        (Some(old), None) => old.clone(),
        (None, Some(n)) => py_str(n),
        (Some(old), Some(n)) => format!("{old} + {}", py_str(&format!(" {n}"))),
    };
    let comment = match (search, url_options) {
        (Some(s), _) => format!("the app's tables live in schema {s}"),
        (None, Some(_)) => "from the connection string dj2pg tested".into(),
        (None, None) => "kept from the old settings".into(),
    };
    Some(Item {
        key: "options".into(),
        expr,
        comment: Some(comment),
    })
}

/// The connection string's other libpq parameters (`channel_binding=require` and the like),
/// as `OPTIONS` entries: psycopg hands them to libpq as they are.
fn libpq_items(target: &SettingsTarget, shape: Shape) -> Vec<Item> {
    target
        .libpq
        .iter()
        .map(|(k, v)| Item {
            key: k.clone(),
            expr: match shape {
                Shape::UrlLib => format!("_dj2pg_query.get({}, {})", py_str(k), py_str(v)),
                Shape::Env | Shape::DjDatabaseUrl => py_str(v),
            },
            comment: Some("from the connection string dj2pg tested".into()),
        })
        .collect()
}

fn pool_comment(target: &SettingsTarget) -> [String; 2] {
    [
        format!(
            "# Port {} is a connection pool (PgBouncer, transaction mode): a server-side cursor",
            target.port
        ),
        "# cannot outlive its transaction there, so Django must not use them.".into(),
    ]
}

fn item_line(indent: &str, it: &Item) -> String {
    let mut line = format!("{indent}{}: {},", py_str(&it.key), it.expr);
    if let Some(c) = &it.comment {
        line.push_str(&format!("  # {c}"));
    }
    line
}

fn url_example(target: &SettingsTarget) -> String {
    let mut q = format!("sslmode={}", target.sslmode);
    if verifies(&target.sslmode) {
        q.push_str("&sslrootcert=/path/to/ca-certificate.crt");
    }
    for (k, v) in &target.libpq {
        q.push_str(&format!("&{k}={v}"));
    }
    format!("postgresql://USER:PASSWORD@HOST:PORT/NAME?{q}")
}

fn dict_code(
    g: &mut Generated,
    t: &SettingsTarget,
    shape: Shape,
    kind: SiteKind,
    c: &Carried,
    options: &[Item],
) {
    let (conn, ssl) = if shape == Shape::Env {
        env_values(g, t)
    } else {
        urllib_values(g, t)
    };
    write_dict(g, t, kind, c, options, &conn, &ssl);
}

/// Python expressions for the connection's keys and its SSL options, in order.
type Values = (Vec<(String, String)>, Vec<(String, String)>);

/// The CA file's path the target names, or empty.
fn ca_path(t: &SettingsTarget) -> String {
    t.sslrootcert
        .as_ref()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Every value from its own environment variable, the target's as the default (never the
/// password); the header comment says so.
fn env_values(g: &mut Generated, t: &SettingsTarget) -> Values {
    let env = |name: &str, default: &str| {
        format!("os.environ.get({}, {})", py_str(name), py_str(default))
    };
    let port = t.port.to_string();
    let ca = ca_path(t);
    let mut conn: Vec<(String, String)> = Vec::new();
    let mut ssl: Vec<(String, String)> = Vec::new();
    g.lines.push(
        "# PostgreSQL, every value from the environment (written by dj2pg; see .env.example)."
            .into(),
    );
    g.lines.push(
        "# The password is never in this file: set POSTGRES_PASSWORD in the environment.".into(),
    );
    conn.push(("HOST".into(), env("POSTGRES_HOST", &t.host)));
    conn.push(("PORT".into(), env("POSTGRES_PORT", &port)));
    conn.push(("NAME".into(), env("POSTGRES_DB", &t.dbname)));
    conn.push(("USER".into(), env("POSTGRES_USER", &t.user)));
    conn.push(("PASSWORD".into(), env("POSTGRES_PASSWORD", "")));
    ssl.push(("sslmode".into(), env("POSTGRES_SSLMODE", &t.sslmode)));
    if verifies(&t.sslmode) {
        ssl.push(("sslrootcert".into(), env("POSTGRES_SSLROOTCERT", &ca)));
    }
    (conn, ssl)
}

/// Every value from DATABASE_URL read with urllib.parse (dj-database-url is not
/// installed); the header comment shows the URL's form.
fn urllib_values(g: &mut Generated, t: &SettingsTarget) -> Values {
    let ca = ca_path(t);
    let mut conn: Vec<(String, String)> = Vec::new();
    let mut ssl: Vec<(String, String)> = Vec::new();
    g.imports
        .push(("urllib.parse".into(), "import urllib.parse".into()));
    g.lines.push("# PostgreSQL from the DATABASE_URL environment variable (written by dj2pg; see .env.example):".into());
    g.lines.push(format!("#   {}", url_example(t)));
    g.lines
        .push("# dj-database-url is not installed, so the URL is read with urllib.parse.".into());
    g.lines
        .push("_dj2pg_url = urllib.parse.urlsplit(os.environ.get(\"DATABASE_URL\", \"\"))".into());
    g.lines
        .push("_dj2pg_query = dict(urllib.parse.parse_qsl(_dj2pg_url.query))".into());
    conn.push(("HOST".into(), "_dj2pg_url.hostname or \"\"".into()));
    conn.push(("PORT".into(), "_dj2pg_url.port or \"\"".into()));
    conn.push((
        "NAME".into(),
        "urllib.parse.unquote(_dj2pg_url.path.lstrip(\"/\"))".into(),
    ));
    conn.push((
        "USER".into(),
        "urllib.parse.unquote(_dj2pg_url.username or \"\")".into(),
    ));
    conn.push((
        "PASSWORD".into(),
        "urllib.parse.unquote(_dj2pg_url.password or \"\")".into(),
    ));
    ssl.push((
        "sslmode".into(),
        format!("_dj2pg_query.get(\"sslmode\", {})", py_str(&t.sslmode)),
    ));
    if verifies(&t.sslmode) {
        ssl.push((
            "sslrootcert".into(),
            format!("_dj2pg_query.get(\"sslrootcert\", {})", py_str(&ca)),
        ));
    }
    (conn, ssl)
}

/// The `DATABASES` dict (or its `"default"` entry) with the values, the SSL and carried
/// options, the pool settings, the carried keys and the old aliases.
fn write_dict(
    g: &mut Generated,
    t: &SettingsTarget,
    kind: SiteKind,
    c: &Carried,
    options: &[Item],
    conn: &[(String, String)],
    ssl: &[(String, String)],
) {
    let (open, inner) = match kind {
        SiteKind::Assign => {
            g.lines.push("DATABASES = {".into());
            g.lines.push("    \"default\": {".into());
            ("    ", "        ")
        }
        SiteKind::AssignDefault => {
            g.lines.push("DATABASES[\"default\"] = {".into());
            ("", "    ")
        }
    };
    g.lines.push(format!(
        "{inner}\"ENGINE\": \"django.db.backends.postgresql\","
    ));
    for (k, v) in conn {
        g.lines.push(format!("{inner}{}: {v},", py_str(k)));
    }
    g.lines.push(format!("{inner}\"OPTIONS\": {{"));
    let deeper = format!("{inner}    ");
    for (k, v) in ssl {
        g.lines.push(format!("{deeper}{}: {v},", py_str(k)));
    }
    for it in options {
        g.lines.push(item_line(&deeper, it));
    }
    g.lines.push(format!("{inner}}},"));
    if t.pool {
        for l in pool_comment(t) {
            g.lines.push(format!("{inner}{l}"));
        }
        g.lines
            .push(format!("{inner}\"DISABLE_SERVER_SIDE_CURSORS\": True,"));
    }
    for it in &c.top {
        g.lines.push(item_line(inner, it));
    }
    match kind {
        SiteKind::Assign => {
            g.lines.push(format!("{open}}},"));
            for a in &c.aliases {
                g.lines.push(alias_line(a));
            }
            g.lines.push("}".into());
        }
        SiteKind::AssignDefault => g.lines.push("}".into()),
    }
}

fn alias_line(a: &crate::data::settings::OldAlias) -> String {
    match &a.alias {
        Some(name) => format!("    {}: {},", py_str(name), a.source),
        None => format!("    {},", a.source),
    }
}

fn dj_code(
    g: &mut Generated,
    t: &SettingsTarget,
    kind: SiteKind,
    c: &Carried,
    options: &[Item],
    libpq: &[Item],
) {
    g.imports
        .push(("dj_database_url".into(), "import dj_database_url".into()));
    g.lines.push("# PostgreSQL from the DATABASE_URL environment variable (written by dj2pg; see .env.example):".into());
    g.lines.push(format!("#   {}", url_example(t)));
    g.lines.push("# ssl_require is not passed: dj-database-url would overwrite the URL's sslmode with \"require\".".into());
    let call = "dj_database_url.config(env=\"DATABASE_URL\")";
    match kind {
        SiteKind::Assign => {
            g.lines.push("DATABASES = {".into());
            g.lines.push(format!("    \"default\": {call},"));
            for a in &c.aliases {
                g.lines.push(alias_line(a));
            }
            g.lines.push("}".into());
        }
        SiteKind::AssignDefault => g.lines.push(format!("DATABASES[\"default\"] = {call}")),
    }
    let d = "DATABASES[\"default\"]";
    g.lines.push(
        "# Without an sslmode in DATABASE_URL, still encrypt (and verify) as dj2pg tested.".into(),
    );
    g.lines.push(format!(
        "{d}.setdefault(\"OPTIONS\", {{}}).setdefault(\"sslmode\", {})",
        py_str(&t.sslmode)
    ));
    if verifies(&t.sslmode) {
        let ca = t
            .sslrootcert
            .as_ref()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        g.lines.push(format!(
            "{d}[\"OPTIONS\"].setdefault(\"sslrootcert\", {})",
            py_str(&ca)
        ));
    }
    // dj-database-url copies the URL's query into OPTIONS: the URL's value wins.
    for it in libpq {
        g.lines.push(format!(
            "{d}[\"OPTIONS\"].setdefault({}, {})",
            py_str(&it.key),
            it.expr
        ));
    }
    for it in options {
        let mut line = format!("{d}[\"OPTIONS\"][{}] = {}", py_str(&it.key), it.expr);
        if let Some(cm) = &it.comment {
            line.push_str(&format!("  # {cm}"));
        }
        g.lines.push(line);
    }
    for it in &c.top {
        let mut line = format!("{d}[{}] = {}", py_str(&it.key), it.expr);
        if let Some(cm) = &it.comment {
            line.push_str(&format!("  # {cm}"));
        }
        g.lines.push(line);
    }
    if t.pool {
        g.lines.extend(pool_comment(t));
        g.lines
            .push(format!("{d}[\"DISABLE_SERVER_SIDE_CURSORS\"] = True"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_path_quotes_odd_schema_names() {
        assert_eq!(search_path_option("ml"), "-c search_path=ml");
        assert_eq!(search_path_option("My App"), "-c search_path=\"My\\ App\"");
    }

    #[test]
    fn py_str_escapes_quotes_and_backslashes() {
        assert_eq!(py_str("a\"b\\c"), "\"a\\\"b\\\\c\"");
    }
}
