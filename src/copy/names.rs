//! Where a SQLite table or column lives on PostgreSQL.
//!
//! The same model can have two table names: Django shortens a generated table name longer
//! than PostgreSQL's 63-byte limit with a hash (`django.db.backends.utils.truncate_name`)
//! when the project runs on PostgreSQL, but not on SQLite, which has no limit; and
//! PostgreSQL itself cuts every longer identifier (an explicit `db_table`, a long
//! `db_column`) to 63 bytes. An automatic many-to-many table of a long model is named after
//! the model's *shortened* table on PostgreSQL, so no rule applied to the SQLite name alone
//! finds it.
//!
//! So the names come from Django where Django can be asked ([`NameMap`], built by
//! `django::model_names` from the project's models under both backends), and from the
//! rules otherwise (`dj2pg copy` on a bare SQLite file): the exact name, Django's hashed
//! shortening, PostgreSQL's cut, and, for an automatic many-to-many table, Django's rule
//! applied to its model's PostgreSQL table.

pub use crate::data::copy::{NameMap, TableNames};
use md5::{Digest, Md5};

/// PostgreSQL's longest identifier, in bytes (`NAMEDATALEN - 1`).
pub const PG_MAX_IDENTIFIER: usize = 63;

/// The characters of its name Django keeps when it shortens one, before the hash.
const DJANGO_HASH_LEN: usize = 4;

/// The name PostgreSQL stores for `name`: cut to 63 bytes at a character boundary, as its
/// parser does (with a NOTICE) for every longer identifier.
pub fn pg_clip(name: &str) -> String {
    if name.len() <= PG_MAX_IDENTIFIER {
        return name.to_string();
    }
    let mut end = PG_MAX_IDENTIFIER;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name[..end].to_string()
}

/// Django's `truncate_name(name, 63)`: a name longer than 63 characters becomes its first
/// 59 characters and the first 4 hex digits of the MD5 of the whole name.
pub fn django_truncate(name: &str) -> String {
    if name.chars().count() <= PG_MAX_IDENTIFIER {
        return name.to_string();
    }
    let digest = hex::encode(Md5::digest(name.as_bytes()));
    let head: String = name
        .chars()
        .take(PG_MAX_IDENTIFIER - DJANGO_HASH_LEN)
        .collect();
    format!("{head}{}", &digest[..DJANGO_HASH_LEN])
}

/// How a table was found on PostgreSQL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Found {
    /// The same name.
    Same,
    /// Django's model registry named it.
    Django,
    /// Django's or PostgreSQL's shortening rule.
    Rule,
}

/// The PostgreSQL table for the SQLite table `sqlite`, among `pg_tables`; `sqlite_tables`
/// are all the SQLite file's tables (an automatic many-to-many table is named after its
/// model's table).
pub fn find_table<'a>(
    sqlite: &str,
    map: Option<&NameMap>,
    pg_tables: &[&'a str],
    sqlite_tables: &[&str],
) -> Option<(&'a str, Found)> {
    let exists = |n: &str| pg_tables.iter().copied().find(|t| *t == n);
    if let Some(t) = map.and_then(|m| m.table(sqlite)) {
        if let Some(t) = exists(&pg_clip(&t.pg)) {
            return Some((
                t,
                if t == sqlite {
                    Found::Same
                } else {
                    Found::Django
                },
            ));
        }
    }
    if let Some(t) = exists(sqlite) {
        return Some((t, Found::Same));
    }
    if sqlite.len() <= PG_MAX_IDENTIFIER {
        return None;
    }
    for candidate in [pg_clip(&django_truncate(sqlite)), pg_clip(sqlite)] {
        if let Some(t) = exists(&candidate) {
            return Some((t, Found::Rule));
        }
    }
    // An automatic many-to-many table `<model table>_<field>` of a model whose table Django
    // shortened: on PostgreSQL it is named after the shortened table.
    for model in sqlite_tables {
        let Some(field) = sqlite
            .strip_prefix(*model)
            .and_then(|rest| rest.strip_prefix('_'))
        else {
            continue;
        };
        if model.chars().count() <= PG_MAX_IDENTIFIER || field.is_empty() {
            continue;
        }
        if let Some((pg_model, _)) = find_table(model, map, pg_tables, sqlite_tables) {
            let candidate = pg_clip(&django_truncate(&format!("{pg_model}_{field}")));
            if let Some(t) = exists(&candidate) {
                return Some((t, Found::Rule));
            }
        }
    }
    None
}

/// The PostgreSQL column for the SQLite column `sqlite` of a table, among `pg_columns`.
pub fn find_column<'a>(
    sqlite: &str,
    names: Option<&TableNames>,
    pg_columns: &'a [&'a str],
) -> Option<&'a str> {
    let exists = |n: &str| pg_columns.iter().copied().find(|c| *c == n);
    if let Some((_, pg)) = names.and_then(|t| t.columns.iter().find(|(s, _)| s == sqlite)) {
        if let Some(c) = exists(&pg_clip(pg)) {
            return Some(c);
        }
    }
    exists(sqlite).or_else(|| exists(&pg_clip(sqlite)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn django_truncate_matches_django() {
        // What Django 5.2's truncate_name(name, 63) returns for it (md5 of the whole name).
        let name = "classifier_averyveryverylongmodelnamethatkeepsgoingandgoingforeverok";
        assert_eq!(
            django_truncate(name),
            "classifier_averyveryverylongmodelnamethatkeepsgoingandgoingfa2e"
        );
        assert_eq!(django_truncate("short_name"), "short_name");
    }

    #[test]
    fn pg_clip_cuts_bytes_at_a_character_boundary() {
        let long = format!("{}é{}", "a".repeat(62), "b".repeat(10));
        let clipped = pg_clip(&long);
        assert_eq!(clipped, "a".repeat(62), "é would end at byte 64");
        assert_eq!(pg_clip("abc"), "abc");
        assert_eq!(pg_clip(&"x".repeat(80)).len(), 63);
    }

    #[test]
    fn tables_are_found_by_name_rule_and_prefix() {
        let model = format!("app_{}", "m".repeat(62));
        let hashed = django_truncate(&model);
        let explicit = format!("explicit_{}", "t".repeat(62));
        let clipped = pg_clip(&explicit);
        // The m2m of the long model, named after the hashed table on PostgreSQL.
        let m2m_pg = django_truncate(&format!("{hashed}_tags"));
        let pg = [
            "app_small",
            hashed.as_str(),
            clipped.as_str(),
            m2m_pg.as_str(),
        ];
        let m2m_sqlite = format!("{model}_tags");
        let sqlite = [
            "app_small",
            model.as_str(),
            explicit.as_str(),
            m2m_sqlite.as_str(),
        ];
        let find = |name: &str| find_table(name, None, &pg, &sqlite);
        assert_eq!(find("app_small"), Some(("app_small", Found::Same)));
        assert_eq!(find(&model), Some((hashed.as_str(), Found::Rule)));
        assert_eq!(find(&explicit), Some((clipped.as_str(), Found::Rule)));
        assert_eq!(find(&m2m_sqlite), Some((m2m_pg.as_str(), Found::Rule)));
        assert_eq!(find("app_gone"), None);
        // Django's answer wins over the rules.
        let map = NameMap {
            tables: vec![TableNames {
                model: "app.Small".into(),
                sqlite: "app_small".into(),
                pg: clipped.clone(),
                columns: Vec::new(),
            }],
        };
        assert_eq!(
            find_table("app_small", Some(&map), &pg, &sqlite),
            Some((clipped.as_str(), Found::Django))
        );
    }

    #[test]
    fn columns_are_found_by_django_then_by_pg_clip() {
        let long = "c".repeat(70);
        let clipped = pg_clip(&long);
        let pg = ["id", clipped.as_str(), "renamed"];
        assert_eq!(find_column("id", None, &pg), Some("id"));
        assert_eq!(find_column(&long, None, &pg), Some(clipped.as_str()));
        assert_eq!(find_column("other", None, &pg), None);
        let names = TableNames {
            columns: vec![("other".into(), "renamed".into())],
            ..Default::default()
        };
        assert_eq!(find_column("other", Some(&names), &pg), Some("renamed"));
    }
}
