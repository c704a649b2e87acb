//! What of the old `default` database is carried into the new one, and how.
//!
//! The old settings were usually SQLite's (whose OPTIONS mean nothing to PostgreSQL), but
//! they may already have been a hand-written PostgreSQL config. Only libpq connection
//! keywords and Django's own OPTIONS survive: `default_transaction_isolation` becomes
//! Django's `isolation_level`, `timezone` is left to Django's `TIME_ZONE`, anything else
//! libpq would reject is left out — each with a note.

use crate::data::settings::{OldAlias, OldEntry, OldValue, Site};

/// One `key: value` of the generated dict, as Python source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Item {
    pub key: String,
    pub expr: String,
    pub comment: Option<String>,
}

impl Item {
    fn new(key: &str, expr: &str, comment: Option<&str>) -> Item {
        Item {
            key: key.into(),
            expr: expr.into(),
            comment: comment.map(str::to_string),
        }
    }
}

/// What the generator adds beside the connection values.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Carried {
    /// Keys of the default database dict (`CONN_MAX_AGE`, …).
    pub top: Vec<Item>,
    /// Keys of its `OPTIONS`.
    pub options: Vec<Item>,
    /// The old libpq `options` string (Python source), to merge with `search_path`.
    pub libpq_options: Option<String>,
    /// Other aliases, carried over as written.
    pub aliases: Vec<OldAlias>,
    /// `IsolationLevel` must be imported.
    pub isolation_import: bool,
    pub notes: Vec<String>,
}

/// libpq connection keywords (PostgreSQL 17's list, less those dj2pg writes itself).
const LIBPQ_KEYWORDS: &[&str] = &[
    "connect_timeout",
    "application_name",
    "fallback_application_name",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_count",
    "tcp_user_timeout",
    "target_session_attrs",
    "load_balance_hosts",
    "sslcert",
    "sslkey",
    "sslcrl",
    "sslcrldir",
    "sslsni",
    "sslcompression",
    "ssl_min_protocol_version",
    "ssl_max_protocol_version",
    "sslcertmode",
    "sslnegotiation",
    "gssencmode",
    "gsslib",
    "gssdelegation",
    "krbsrvname",
    "channel_binding",
    "require_auth",
    "client_encoding",
    "service",
    "hostaddr",
    "replication",
];

/// OPTIONS keys Django's PostgreSQL backend (or the driver) takes itself.
const DJANGO_OPTIONS: &[&str] = &[
    "isolation_level",
    "server_side_binding",
    "pool",
    "assume_role",
    "prepare_threshold",
    "cursor_factory",
];

/// Keys of a database dict kept whatever the old engine was.
const KEEP_ALWAYS: &[&str] = &[
    "ATOMIC_REQUESTS",
    "AUTOCOMMIT",
    "CONN_MAX_AGE",
    "CONN_HEALTH_CHECKS",
];

/// Keys dj2pg writes itself.
const REPLACED: &[&str] = &[
    "ENGINE", "NAME", "USER", "PASSWORD", "HOST", "PORT", "OPTIONS",
];

/// `default_transaction_isolation`'s values and Django's `IsolationLevel` members.
fn isolation_member(value: &str) -> Option<&'static str> {
    let v: String = value
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| if c == '_' || c == '-' { ' ' } else { c })
        .collect();
    match v.split_whitespace().collect::<Vec<_>>().join(" ").as_str() {
        "read uncommitted" => Some("READ_UNCOMMITTED"),
        "read committed" => Some("READ_COMMITTED"),
        "repeatable read" => Some("REPEATABLE_READ"),
        "serializable" => Some("SERIALIZABLE"),
        _ => None,
    }
}

/// What to carry over from the located site (`None` when there is no site: the snippet).
pub(super) fn carry_over(site: Option<&Site>, pool: bool) -> Carried {
    let mut c = Carried::default();
    let Some(site) = site else { return c };
    c.aliases = site.aliases.clone();
    if !c.aliases.is_empty() {
        let names: Vec<String> = c
            .aliases
            .iter()
            .map(|a| a.alias.clone().unwrap_or_else(|| "**…".into()))
            .collect();
        c.notes.push(format!(
            "the other database aliases ({}) are kept as they were written",
            names.join(", ")
        ));
    }
    match site.default.as_ref().or(site.whole.as_ref()) {
        Some(OldValue::Dict {
            entries,
            options,
            options_source,
        }) => carry_dict(&mut c, entries, options.as_deref(), options_source, pool),
        Some(OldValue::DjDatabaseUrl { call, kwargs }) => {
            for k in kwargs {
                match k.key.as_str() {
                    "conn_max_age" => c.top.push(Item::new("CONN_MAX_AGE", &k.source, Some("kept from the old settings"))),
                    "conn_health_checks" => c.top.push(Item::new("CONN_HEALTH_CHECKS", &k.source, Some("kept from the old settings"))),
                    "ssl_require" => c.notes.push(
                        "ssl_require was dropped: dj-database-url's ssl_require overwrites the URL's sslmode with \"require\" (a verify-full URL would silently stop verifying); the sslmode is set explicitly instead".into(),
                    ),
                    "default" => c.notes.push(format!(
                        "the old dj_database_url.{call}() fallback (default={}) is gone: the environment now decides",
                        k.source
                    )),
                    other => c.notes.push(format!(
                        "dj_database_url.{call}() argument {other}={} was not carried over",
                        k.source
                    )),
                }
            }
        }
        Some(OldValue::Expression { source }) => c.notes.push(format!(
            "the old value `{}` is replaced whole",
            first_line(source)
        )),
        None => {}
    }
    if site.default.is_none()
        && site.whole.is_none()
        && site.kind == crate::data::settings::SiteKind::Assign
    {
        c.notes
            .push("the old DATABASES had no \"default\" entry".into());
    }
    for m in &site.mutations {
        c.notes.push(format!(
            "line {} (`{}`) changed DATABASES[\"default\"] after it was set: it is commented out, since the new settings replace it",
            m.start_line,
            first_line(&m.text)
        ));
    }
    c
}

fn carry_dict(
    c: &mut Carried,
    entries: &[OldEntry],
    options: Option<&[OldEntry]>,
    options_source: &Option<String>,
    pool: bool,
) {
    let engine = entries
        .iter()
        .find(|e| e.key.as_deref() == Some("ENGINE"))
        .and_then(|e| e.value.clone())
        .unwrap_or_default();
    let was_postgres = engine.contains("postgresql") || engine.contains("postgis");
    let mut dropped = Vec::new();
    for e in entries {
        let Some(key) = e.key.as_deref() else {
            dropped.push(format!("**{}", e.source.trim_start_matches("**")));
            continue;
        };
        if key == "PASSWORD" && e.value.as_deref().is_some_and(|v| !v.is_empty()) {
            c.notes.push(
                "the old settings held a PASSWORD literal: it is gone from the file now, but it is still in your version control history — change that password".into(),
            );
        }
        if REPLACED.contains(&key) || (pool && key == "DISABLE_SERVER_SIDE_CURSORS") {
            continue;
        }
        if KEEP_ALWAYS.contains(&key)
            || (was_postgres && matches!(key, "TEST" | "DISABLE_SERVER_SIDE_CURSORS"))
        {
            c.top.push(Item::new(
                key,
                &e.source,
                Some("kept from the old settings"),
            ));
        } else {
            dropped.push(key.to_string());
        }
    }
    if !dropped.is_empty() {
        c.notes.push(format!(
            "left out of the old default database ({}): {}",
            if engine.is_empty() {
                "engine unknown"
            } else {
                engine.as_str()
            },
            dropped.join(", ")
        ));
    }
    if let Some(src) = options_source {
        c.notes.push(format!(
            "the old OPTIONS (`{}`) is not a dict literal and was left out",
            first_line(src)
        ));
    }
    let Some(options) = options else { return };
    if !was_postgres {
        let keys: Vec<String> = options.iter().filter_map(|o| o.key.clone()).collect();
        if !keys.is_empty() {
            c.notes.push(format!(
                "the old {engine} OPTIONS ({}) mean nothing to PostgreSQL and were left out",
                keys.join(", ")
            ));
        }
        return;
    }
    carry_options(c, options);
}

fn carry_options(c: &mut Carried, options: &[OldEntry]) {
    for o in options {
        let Some(key) = o.key.as_deref() else {
            c.notes
                .push(format!("OPTIONS entry `{}` was left out", o.source));
            continue;
        };
        match key {
            "sslmode" | "sslrootcert" => {}
            "password" | "passfile" => c.notes.push(format!(
                "OPTIONS[{key:?}] was left out: the password comes from the environment only"
            )),
            "options" => c.libpq_options = Some(o.source.clone()),
            "default_transaction_isolation" => match o.value.as_deref().and_then(isolation_member) {
                Some(member) => {
                    c.isolation_import = true;
                    c.options.push(Item::new(
                        "isolation_level",
                        &format!("IsolationLevel.{member}"),
                        Some("was default_transaction_isolation, which libpq rejects"),
                    ));
                    c.notes.push(format!(
                        "OPTIONS[\"default_transaction_isolation\"] = {} is not a libpq connection option (psycopg rejects it): it became Django's OPTIONS[\"isolation_level\"] = IsolationLevel.{member}",
                        o.source
                    ));
                }
                None => c.notes.push(format!(
                    "OPTIONS[\"default_transaction_isolation\"] = {} is not a libpq option and its level is not one dj2pg knows: it was left out; set OPTIONS[\"isolation_level\"] by hand",
                    o.source
                )),
            },
            "timezone" => c.notes.push(format!(
                "OPTIONS[\"timezone\"] = {} is not a libpq connection option (psycopg rejects it) and was left out: Django sets each connection's time zone itself, to UTC when USE_TZ = True and to TIME_ZONE otherwise (an options='-c timezone=…' would be overridden by it); set TIME_ZONE if you need another zone",
                o.source
            )),
            k if LIBPQ_KEYWORDS.contains(&k) || DJANGO_OPTIONS.contains(&k) => {
                c.options.push(Item::new(k, &o.source, Some("kept from the old settings")));
            }
            other => c.notes.push(format!(
                "OPTIONS[{other:?}] = {} was left out: it is not a libpq connection option, and psycopg would refuse to connect",
                o.source
            )),
        }
    }
}

/// The first line of a source excerpt, for notes.
pub(super) fn first_line(s: &str) -> String {
    let mut lines = s.lines();
    let first = lines.next().unwrap_or_default().trim().to_string();
    if lines.next().is_some() {
        format!("{first} …")
    } else {
        first
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isolation_levels_map_to_django_members() {
        assert_eq!(isolation_member("read committed"), Some("READ_COMMITTED"));
        assert_eq!(
            isolation_member(" REPEATABLE_READ"),
            Some("REPEATABLE_READ")
        );
        assert_eq!(isolation_member("serializable"), Some("SERIALIZABLE"));
        assert_eq!(isolation_member("snapshot"), None);
    }
}
