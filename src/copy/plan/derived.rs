//! Tables of derived data (search indexes): left out of the copy, left empty on PostgreSQL
//! and rebuilt by the app.

use crate::copy::schema::{PgTable, SqliteTable};
use crate::copy::types::PgType;
use crate::data::copy::DerivedTable;

/// Search-index tables whose rows are derived from other tables and are kept in another
/// form on PostgreSQL, with the command that rebuilds them.
const KNOWN_INDEXES: &[(&str, &str)] = &[
    // Wagtail: FTS5 on SQLite, tsvector columns on PostgreSQL.
    ("wagtailsearch_indexentry", "python manage.py update_index"),
];

/// Whether `t` holds derived data that must be rebuilt rather than copied: a known search
/// index, or a table with a search vector (`tsvector`) that is NOT NULL without a default,
/// which no SQLite value can fill. Copying such rows with empty vectors would make search
/// silently return nothing, so they are left empty.
pub(super) fn derived_table(s: &SqliteTable, t: &PgTable) -> Option<DerivedTable> {
    let known = KNOWN_INDEXES.iter().find(|(name, _)| *name == t.name);
    let vectors: Vec<&str> = t
        .columns
        .iter()
        .filter(|c| c.ty == PgType::TsVector && !c.generated)
        .map(|c| c.name.as_str())
        .collect();
    let required_vector = t
        .columns
        .iter()
        .any(|c| c.ty == PgType::TsVector && !c.generated && c.not_null && !c.has_default);
    if known.is_none() && !required_vector {
        return None;
    }
    let reason = if vectors.is_empty() {
        "a search index, kept differently by each database backend".to_string()
    } else {
        format!(
            "a search index: {} {} search vectors (tsvector) on PostgreSQL, which SQLite does not hold",
            vectors.join(", "),
            if vectors.len() == 1 { "is a" } else { "are" }
        )
    };
    let rebuild = known.map(|(_, cmd)| cmd.to_string()).or_else(|| {
        t.name
            .starts_with("wagtailsearch_")
            .then(|| "python manage.py update_index".to_string())
    });
    Some(DerivedTable {
        table: t.name.clone(),
        source_rows: s.rows,
        reason,
        rebuild,
    })
}
