//! A measurement, not a timed test: `cargo test --release --test copy_perf -- --ignored --nocapture`
//! with `DJ2PG_PERF_ROWS` (default 1 000 000) rows in the sample project. Prints the
//! preflight and copy times, rows/s and this process's peak RSS.

mod common;

use common::*;
use dj2pg::copy::{Context, CopySettings, Stop};
use dj2pg::state::ProblemPolicy;
use std::time::Instant;

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

#[test]
#[ignore = "a measurement; run explicitly with --release --ignored"]
fn measure_copy_speed_and_memory() {
    let rows: usize = std::env::var("DJ2PG_PERF_ROWS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let jobs: usize = std::env::var("DJ2PG_PERF_JOBS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4);
    let c = cluster();
    let python = django_venv();
    let t = Instant::now();
    let (_tmp, project) = sample_project(rows);
    eprintln!(
        "generated {rows} rows in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    migrate_as_app(&c, &python, &project);
    let sqlite = project.join("db.sqlite3");
    eprintln!(
        "SQLite file: {:.1} MB, RSS before copy {:.0} MB",
        std::fs::metadata(&sqlite).unwrap().len() as f64 / 1e6,
        peak_rss_mb()
    );
    let settings = CopySettings {
        jobs,
        ..CopySettings::default()
    };
    let cx = Context::new(
        &sqlite,
        c.app(),
        Some(c.app_password().clone()),
        settings,
        Stop::default(),
    )
    .unwrap();
    let t = Instant::now();
    let pre = dj2pg::copy::preflight(&cx).unwrap();
    let pre_s = t.elapsed().as_secs_f64();
    let total: u64 = pre.tables.iter().map(|(_, n)| n).sum();
    let t = Instant::now();
    let report = dj2pg::copy::copy(&cx, ProblemPolicy::Abort, &mut |_| {}).unwrap();
    let copy_s = t.elapsed().as_secs_f64();
    assert!(report.all_verified(), "{report:?}");
    eprintln!(
        "rows {total}; preflight {pre_s:.1} s ({:.0} rows/s); copy+verify {copy_s:.1} s ({:.0} rows/s); {:?}; peak RSS {:.0} MB",
        total as f64 / pre_s,
        total as f64 / copy_s,
        report.notes.iter().find(|n| n.starts_with("Timings")),
        peak_rss_mb()
    );

    // The floor: psql \copy of the same rows as CSV (exported from what dj2pg loaded), one
    // table after another on one connection, into emptied tables.
    let psql = dj2pg::pg::cluster::find_pg_bin("psql").expect("psql");
    let dir = tempfile::tempdir().unwrap();
    let app = c.app();
    let env = [
        ("PGPASSWORD", c.app_password().expose().to_string()),
        ("PGSSLMODE", "require".to_string()),
    ];
    let run_psql = |sql: &str| {
        let out = std::process::Command::new(&psql)
            .args([
                "-h",
                &app.host,
                "-p",
                &app.port.to_string(),
                "-U",
                &app.user,
                "-d",
                &app.dbname,
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ])
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", output_text(&out));
    };
    let tables: Vec<String> = report
        .checks
        .iter()
        .filter(|c| c.target_rows > 0)
        .map(|c| c.table.clone())
        .collect();
    for t in &tables {
        run_psql(&format!(
            "\\copy {t} TO '{}' CSV",
            dir.path().join(t).display()
        ));
    }
    let all: Vec<String> = report.checks.iter().map(|c| c.table.clone()).collect();
    run_psql(&format!("TRUNCATE {}", all.join(", ")));
    let t = Instant::now();
    let script: String = tables
        .iter()
        .map(|t| format!("\\copy {t} FROM '{}' CSV\n", dir.path().join(t).display()))
        .collect();
    let file = dir.path().join("load.sql");
    std::fs::write(&file, format!("BEGIN;\n{script}COMMIT;\n")).unwrap();
    let out = std::process::Command::new(&psql)
        .args([
            "-h",
            &app.host,
            "-p",
            &app.port.to_string(),
            "-U",
            &app.user,
            "-d",
            &app.dbname,
            "-v",
            "ON_ERROR_STOP=1",
            "-f",
        ])
        .arg(&file)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", output_text(&out));
    let floor_s = t.elapsed().as_secs_f64();
    eprintln!(
        "psql \\copy CSV floor: {floor_s:.1} s ({:.0} rows/s)",
        total as f64 / floor_s
    );
}
