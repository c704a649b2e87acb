//! Django's names for every model's table and columns on SQLite and on PostgreSQL, so the
//! copy matches the two databases through Django rather than by name (a model's table over
//! 63 characters has another name on PostgreSQL; see `copy::names`).
//!
//! `assets/model_names.py` runs twice with the project's Python, once per backend, each
//! time loading the project's own settings module and replacing only `DATABASES` (nothing
//! connects); the two answers are joined by model label and field.

use crate::data::copy::{NameMap, TableNames};
use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

#[derive(Deserialize)]
struct ModelNames {
    model: String,
    table: String,
    columns: Vec<(String, String)>,
}

/// Ask Django for every model's names under SQLite and under PostgreSQL.
pub fn model_names(python: &Path, project_dir: &Path, settings_module: &str) -> Result<NameMap> {
    let dir = tempfile::tempdir().context("could not create a temporary directory")?;
    let script = dir.path().join("dj2pg_model_names.py");
    std::fs::write(&script, crate::assets::MODEL_NAMES_PY)
        .context("could not write the model names script")?;
    let ask = |engine: &str| -> Result<Vec<ModelNames>> {
        let out = Command::new(python)
            .arg(&script)
            .args([engine, settings_module])
            .current_dir(project_dir)
            .env_remove("PYTHONSTARTUP")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .output()
            .with_context(|| format!("could not run {}", python.display()))?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            let last: Vec<&str> = err.lines().rev().take(3).collect();
            bail!(
                "Django could not name the models for {engine}: {}",
                last.into_iter().rev().collect::<Vec<_>>().join(" / ")
            );
        }
        serde_json::from_slice(&out.stdout)
            .with_context(|| format!("the model names script printed no JSON for {engine}"))
    };
    let sqlite = ask("sqlite3")?;
    let pg: HashMap<String, ModelNames> = ask("postgresql")?
        .into_iter()
        .map(|m| (m.model.clone(), m))
        .collect();
    Ok(join(sqlite, &pg))
}

fn join(sqlite: Vec<ModelNames>, pg: &HashMap<String, ModelNames>) -> NameMap {
    let mut tables = Vec::new();
    for s in sqlite {
        let Some(p) = pg.get(&s.model) else { continue };
        let pg_columns: HashMap<&str, &str> = p
            .columns
            .iter()
            .map(|(a, c)| (a.as_str(), c.as_str()))
            .collect();
        let columns = s
            .columns
            .iter()
            .filter_map(|(attname, col)| {
                pg_columns
                    .get(attname.as_str())
                    .map(|pc| (col.clone(), pc.to_string()))
            })
            .collect();
        tables.push(TableNames {
            model: s.model,
            sqlite: s.table,
            pg: p.table.clone(),
            columns,
        });
    }
    NameMap { tables }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_two_answers_join_by_model_and_field() {
        let m = |model: &str, table: &str, cols: &[(&str, &str)]| ModelNames {
            model: model.into(),
            table: table.into(),
            columns: cols
                .iter()
                .map(|(a, c)| (a.to_string(), c.to_string()))
                .collect(),
        };
        let sqlite = vec![
            m("ml.Long", "ml_long_sqlite", &[("id", "id"), ("x", "x_col")]),
            m("ml.Gone", "ml_gone", &[("id", "id")]),
        ];
        let pg: HashMap<_, _> = [m("ml.Long", "ml_long_pg", &[("id", "id"), ("x", "x_pg")])]
            .into_iter()
            .map(|n| (n.model.clone(), n))
            .collect();
        let map = join(sqlite, &pg);
        assert_eq!(map.tables.len(), 1);
        let t = map.table("ml_long_sqlite").unwrap();
        assert_eq!(t.pg, "ml_long_pg");
        assert_eq!(
            t.columns,
            [
                ("id".to_string(), "id".to_string()),
                ("x_col".to_string(), "x_pg".to_string())
            ]
        );
    }
}
