//! `--sync`: the cutover. A full `dj2pg copy`, then 1% of the rows changed in the SQLite
//! file (updates, deletes and inserts over the big tables, embeddings included, and one
//! update in a few small ones), then `dj2pg sync`; then a sync with nothing changed. Reports
//! the sync's time as a ratio of the copy's and the round trips each took (through the
//! delaying proxy with `--rtt-ms`).

use super::{Table, proxy, say, timed, truncate_all};
use anyhow::{Result, bail};
use std::path::Path;
use std::process::Command;

/// One round's figures: seconds and round trips (`None` without the proxy).
struct Round {
    copy: (f64, Option<usize>),
    sync: (f64, Option<usize>),
    idle: (f64, Option<usize>),
    changed_rows: u64,
    changed_tables: usize,
}

/// Run `rounds` rounds and print the medians.
#[allow(clippy::too_many_arguments)]
pub fn run(
    dir: &Path,
    dj2pg: &Path,
    db: &Path,
    url: &str,
    password: &str,
    proxy: Option<&proxy::Proxy>,
    pg: &mut postgres::Client,
    tables: &[Table],
    rounds: u64,
) -> Result<()> {
    let mut results = Vec::new();
    for round in 1..=rounds {
        say(&format!("sync round {round} of {rounds}"));
        truncate_all(pg, tables)?;
        let state = dir.join("sync-state");
        let _ = std::fs::remove_dir_all(&state);
        let step = |args: &[&str], log: &str| -> Result<(f64, Option<usize>)> {
            if let Some(p) = proxy {
                p.take();
            }
            let mut cmd = Command::new(dj2pg);
            cmd.args(args)
                .arg("--from")
                .arg(db)
                .args(["--to", url, "--yes"])
                .env("PGPASSWORD", password)
                .env("DJ2PG_STATE_DIR", &state)
                .env_remove("DJ2PG_TARGET_URL");
            say(&format!("timing dj2pg {}…", args[0]));
            let (secs, out) = timed(&mut cmd, &dir.join(log))?;
            if !out.success {
                bail!("dj2pg {} failed:\n{}", args[0], out.tail);
            }
            Ok((secs, proxy.map(|p| p.take().total())))
        };
        let copy = step(&["copy", "--quiet"], "sync-copy.log")?;
        let (changed_rows, changed_tables) = change_one_percent(db, round)?;
        let sync = step(&["sync"], "sync.log")?;
        let idle = step(&["sync"], "sync-idle.log")?;
        results.push(Round {
            copy,
            sync,
            idle,
            changed_rows,
            changed_tables,
        });
    }
    let median = |f: &dyn Fn(&Round) -> f64| {
        let mut v: Vec<f64> = results.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let trips = |f: &dyn Fn(&Round) -> Option<usize>| {
        results
            .last()
            .and_then(f)
            .map_or("-".to_string(), |n| n.to_string())
    };
    let last = results
        .last()
        .map_or((0, 0), |r| (r.changed_rows, r.changed_tables));
    let (copy, sync, idle) = (
        median(&|r| r.copy.0),
        median(&|r| r.sync.0),
        median(&|r| r.idle.0),
    );
    println!();
    println!(
        "cutover: {} rows changed in {} tables (1% of the rows), {} round(s), medians",
        last.0,
        last.1,
        results.len()
    );
    println!("{:<34} {:>9} {:>12}", "run", "seconds", "round trips");
    println!(
        "{:<34} {:>9.2} {:>12}",
        "dj2pg copy (full)",
        copy,
        trips(&|r| r.copy.1)
    );
    println!(
        "{:<34} {:>9.2} {:>12}",
        "dj2pg sync (1% changed)",
        sync,
        trips(&|r| r.sync.1)
    );
    println!(
        "{:<34} {:>9.2} {:>12}",
        "dj2pg sync (nothing changed)",
        idle,
        trips(&|r| r.idle.1)
    );
    println!("sync / copy: {:.3} (goal: at most 0.15)", sync / copy);
    Ok(())
}

/// Change about 1% of the rows of the big tables (a third updated, a third deleted, a
/// third inserted) and one row of a few small ones, keeping every foreign key whole.
/// Each round picks other rows (residues shifted by the round), so that every round's
/// updates and deletes change rows that are still there. Returns the rows changed and the
/// tables they are in.
fn change_one_percent(db: &Path, round: u64) -> Result<(u64, usize)> {
    let (r1, r2, r3) = (
        (3 * round + 1) % 300,
        (3 * round + 2) % 300,
        (3 * round + 3) % 300,
    );
    let conn = rusqlite::Connection::open(db)?;
    let before = conn.total_changes();
    let copy_rows = |table: &str, fresh: &[(&str, &str)], filter: &str| -> Result<String> {
        let mut stmt = conn.prepare(&format!("PRAGMA table_info(\"{table}\")"))?;
        let cols: Vec<String> = stmt
            .query_map([], |r| r.get::<_, String>(1))?
            .collect::<rusqlite::Result<_>>()?;
        let cols: Vec<String> = cols.into_iter().filter(|c| c != "id").collect();
        let values: Vec<String> = cols
            .iter()
            .map(|c| {
                fresh
                    .iter()
                    .find(|(name, _)| name == c)
                    .map_or(format!("\"{c}\""), |(_, v)| v.to_string())
            })
            .collect();
        Ok(format!(
            "INSERT INTO \"{table}\" ({}) SELECT {} FROM \"{table}\" {filter};",
            cols.iter()
                .map(|c| format!("\"{c}\""))
                .collect::<Vec<_>>()
                .join(", "),
            values.join(", ")
        ))
    };
    let mut sql = format!(
        "BEGIN;
         UPDATE classifier_trainingexample SET text = text || ' (edited)', weight = weight + 1 WHERE id % 300 = {r1};
         UPDATE classifier_embedding SET vector_json = (SELECT e.vector_json FROM classifier_embedding e WHERE e.id < classifier_embedding.id ORDER BY e.id DESC LIMIT 1),
             vector_blob = (SELECT e.vector_blob FROM classifier_embedding e WHERE e.id < classifier_embedding.id ORDER BY e.id DESC LIMIT 1)
             WHERE id % 300 = {r1} AND id > (SELECT min(id) FROM classifier_embedding);
         UPDATE classifier_prediction SET score = score / 2 WHERE id % 300 = {r1};
         UPDATE classifier_feedback SET comment = comment || ' (edited)' WHERE id % 300 = {r1};
         UPDATE classifier_label SET color = printf('#%06d', {round}) WHERE id = (SELECT min(id) FROM classifier_label);
         UPDATE classifier_dataset SET description = description || ' (edited)' WHERE id = (SELECT min(id) FROM classifier_dataset);
         DELETE FROM classifier_feedback WHERE id % 300 = {r2}
             OR prediction_id IN (SELECT id FROM classifier_prediction WHERE id % 300 = {r2});
         DELETE FROM classifier_prediction WHERE id % 300 = {r2};
         UPDATE classifier_prediction SET example_id = NULL WHERE example_id % 300 = {r2};
         DELETE FROM classifier_embedding WHERE example_id % 300 = {r2} OR id % 300 = {r2};
         DELETE FROM classifier_trainingexample WHERE id % 300 = {r2};",
    );
    sql.push_str(&copy_rows(
        "classifier_trainingexample",
        &[("text", "text || ' (new)'")],
        &format!("WHERE id % 300 = {r3}"),
    )?);
    sql.push_str(
        "INSERT INTO classifier_embedding (example_id, vector_json, vector_blob, dim)
             SELECT t.id, e.vector_json, e.vector_blob, e.dim FROM classifier_trainingexample t
             JOIN classifier_embedding e ON e.id = (SELECT min(id) FROM classifier_embedding)
             WHERE t.text LIKE '% (new)' AND NOT EXISTS
                 (SELECT 1 FROM classifier_embedding x WHERE x.example_id = t.id);",
    );
    sql.push_str(&copy_rows(
        "classifier_prediction",
        &[("request_id", "lower(hex(randomblob(16)))")],
        &format!("WHERE id % 300 = {r3}"),
    )?);
    sql.push_str(&copy_rows(
        "classifier_feedback",
        &[],
        &format!("WHERE id % 300 = {r3}"),
    )?);
    sql.push_str("COMMIT;");
    conn.execute_batch(&sql)?;
    Ok((conn.total_changes() - before, 8))
}
