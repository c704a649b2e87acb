//! One way to count a SQLite file's tables, the same on every screen (Discover, Backup,
//! Copy rows, the report): SQLite's own tables (`sqlite_sequence`, `sqlite_stat1`) apart,
//! and Django's bookkeeping named, so that "19 tables" on one screen and "20" or "18" on
//! the next do not look like lost data.

use crate::units::thousands;

/// Tables Django keeps for itself rather than for the project's models: which migrations
/// ran, the content types and permissions derived from the models, sessions, the admin's
/// log. `django_migrations` is the one the copy leaves out (PostgreSQL keeps the rows its
/// own `migrate` wrote, which match the migration files).
pub const BOOKKEEPING: [&str; 5] = [
    "django_migrations",
    "django_content_type",
    "auth_permission",
    "django_session",
    "django_admin_log",
];

/// SQLite's own table (`sqlite_sequence`: the AUTOINCREMENT counters), not the project's.
pub fn sqlite_internal(table: &str) -> bool {
    table.starts_with("sqlite_")
}

pub fn is_bookkeeping(table: &str) -> bool {
    BOOKKEEPING.contains(&table)
}

/// "5 of them Django's bookkeeping, 142 rows", when there are any (SQLite's own apart).
pub fn bookkeeping_phrase<'a>(tables: impl IntoIterator<Item = (&'a str, u64)>) -> Option<String> {
    let (books, rows) = tables
        .into_iter()
        .filter(|(t, _)| is_bookkeeping(t))
        .fold((0usize, 0u64), |(n, r), (_, rows)| (n + 1, r + rows));
    (books > 0).then(|| {
        format!(
            "{books} of them Django's bookkeeping, {}",
            count(rows, "row")
        )
    })
}

/// "19 tables, 4,998 rows (5 of them Django's bookkeeping, 142 rows)", SQLite's own
/// tables left out.
pub fn counts_phrase<'a>(tables: impl IntoIterator<Item = (&'a str, u64)>) -> String {
    let (mut n, mut rows, mut books, mut book_rows) = (0usize, 0u64, 0usize, 0u64);
    for (t, r) in tables {
        if sqlite_internal(t) {
            continue;
        }
        n += 1;
        rows += r;
        if is_bookkeeping(t) {
            books += 1;
            book_rows += r;
        }
    }
    let mut s = format!("{}, {}", count(n as u64, "table"), count(rows, "row"));
    if books > 0 {
        s.push_str(&format!(
            " ({books} of them Django's bookkeeping, {})",
            count(book_rows, "row")
        ));
    }
    s
}

/// "1 row", "4,998 rows".
fn count(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{} {noun}s", thousands(n))
    }
}

/// Which of the non-empty target tables the project's own data migrations most likely
/// filled when `migrate` ran on PostgreSQL (a table of an app that has data migrations),
/// said in a sentence; `None` when no such table.
pub fn written_by_data_migrations(
    nonempty: &[(String, u64)],
    apps: &[crate::data::django::AppInfo],
) -> Option<String> {
    let named: Vec<String> = nonempty
        .iter()
        .filter_map(|(table, rows)| {
            let app = apps.iter().find(|a| {
                a.local
                    && !a.data_migrations.is_empty()
                    && table.starts_with(&format!("{}_", a.label))
            })?;
            Some(format!(
                "{table} ({rows} row(s)) by {}'s data migration {}",
                app.label,
                app.data_migrations.join(", ")
            ))
        })
        .collect();
    (!named.is_empty()).then(|| {
        format!(
            "These rows were most likely written minutes ago by your own data migrations, when \
             Create schema ran migrate on PostgreSQL: {}. Emptying the tables and copying \
             the SQLite rows leaves them exactly as in SQLite.",
            named.join("; ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_own_tables_are_left_out_and_django_bookkeeping_is_named() {
        let t = [
            ("sqlite_sequence", 17),
            ("django_migrations", 20),
            ("auth_permission", 52),
            ("classifier_label", 5),
        ];
        assert_eq!(
            counts_phrase(t),
            "3 tables, 77 rows (2 of them Django's bookkeeping, 72 rows)"
        );
    }

    #[test]
    fn rows_a_data_migration_wrote_are_named_as_such() {
        let app = |label: &str, data: &[&str]| crate::data::django::AppInfo {
            label: label.into(),
            name: label.into(),
            path: None,
            local: true,
            migrations_dir: None,
            migration_files: Vec::new(),
            data_migrations: data.iter().map(|d| d.to_string()).collect(),
            models: Vec::new(),
        };
        let apps = [
            app("classifier", &["0002_default_labels.py"]),
            app("shop", &[]),
        ];
        let nonempty = vec![
            ("classifier_label".to_string(), 3),
            ("shop_item".to_string(), 2),
        ];
        let said = written_by_data_migrations(&nonempty, &apps).unwrap();
        assert!(
            said.contains(
                "classifier_label (3 row(s)) by classifier's data migration 0002_default_labels.py"
            ),
            "{said}"
        );
        assert!(!said.contains("shop_item"), "{said}");
        assert_eq!(written_by_data_migrations(&nonempty[1..], &apps), None);
    }
}
