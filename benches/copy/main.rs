//! The copy benchmark: `dj2pg copy` against the `psql \copy` floor (and the raw floor:
//! the same script into tables without foreign keys and indexes) and pgloader, same data,
//! same server, one run. See `benches/README.md`.
//!
//!     cargo bench --bench copy -- [--rows N] [--dim N] [--many-tables] [--rtt-ms MS] [--jobs N] [--keep]
//!
//! Steps: write the sample project (with `--many-tables`, plus a generated `cms` app:
//! `manytables.rs`), generate about N rows into its SQLite file, start a throwaway
//! PostgreSQL, `manage.py migrate` there as `app`, export every copied table to CSV already
//! in PostgreSQL's input format (not timed), then time, each on emptied tables: the
//! `psql \copy` script (the floor), the same script with the foreign keys and indexes off
//! (`schema.rs`), `dj2pg copy` (with its peak RSS), and pgloader in data-only mode when it
//! is installed. After each run the target's row counts must equal the source's, and each
//! table's content is compared with what the floor loaded. With `--rtt-ms` the tools go
//! through a delaying proxy that also counts their round trips (`proxy.rs`), attributed to
//! dj2pg's stages when it writes a phase log (`phases.rs`).

mod manytables;
mod phases;
mod proxy;
mod report;
mod schema;
mod sync;

use anyhow::{Context, Result, bail};
use dj2pg::django::overlay::Overlay;
use dj2pg::pg::cluster::{ClusterOptions, TempCluster};
use rusqlite::types::ValueRef;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const DJ2PG: &str = env!("CARGO_BIN_EXE_dj2pg");
const GNU_TIME: &str = "/usr/bin/time";
const FLOOR: &str = "psql \\copy (floor)";
/// Above this `--dim` pgloader gets smaller batches (see `time_pgloader`).
const PGLOADER_SMALL_BATCHES_ABOVE_DIM: u64 = 64;
const RAW_FLOOR: &str = "psql \\copy, no indexes/FKs (raw floor)";

/// Which Django project the data comes from.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Project {
    /// The sample project: 18 tables, most rows in four of them.
    Sample,
    /// The sample plus a generated CMS app: about 80 tables, most under 100 rows.
    Many,
}

/// dj2pg copy against the psql \copy floor and pgloader, on the same data and server.
#[derive(clap::Parser)]
#[command(name = "cargo bench --bench copy --")]
struct Args {
    /// About how many rows the sample data gets (1_000_000 is fine).
    #[arg(long, default_value = "200000", value_parser = count)]
    rows: usize,
    /// Dimensions of the sample's embeddings (a JSON list and a packed float32 blob).
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u64).range(1..))]
    dim: u64,
    /// Which project: the sample, or the sample plus a generated ~62-table CMS app.
    #[arg(long, value_enum, default_value = "sample")]
    project: Project,
    /// Same as `--project many`.
    #[arg(long)]
    many_tables: bool,
    /// Another dj2pg binary to time instead of the one built with the bench.
    #[arg(long)]
    dj2pg: Option<PathBuf>,
    /// dj2pg's parallel connections (default: its own).
    #[arg(long, short = 'j')]
    jobs: Option<usize>,
    /// Keep the generated project and the server's data directory.
    #[arg(long)]
    keep: bool,
    /// Rounds of every tool, interleaved; the report gives each tool's median.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    repeat: u64,
    /// Round-trip time to add between the tools and the server (a delaying proxy).
    #[arg(long, default_value_t = 0)]
    rtt_ms: u64,
    /// The cutover instead: a full copy, 1% of the rows changed, then `dj2pg sync`.
    #[arg(long)]
    sync: bool,
    /// Passed by `cargo bench` to every bench binary.
    #[arg(long, hide = true)]
    bench: bool,
}

/// A count that may be written with `_` separators.
fn count(v: &str) -> Result<usize, String> {
    v.replace('_', "")
        .parse()
        .map_err(|_| format!("{v}: not a number"))
}

/// A table dj2pg copies: its columns (SQLite order) with their PostgreSQL types.
struct Table {
    name: String,
    columns: Vec<(String, String)>,
    rows: u64,
}

/// One timed run.
struct Run {
    tool: String,
    secs: f64,
    peak_kb: Option<u64>,
    /// User + system CPU seconds of the process (GNU time), for dj2pg.
    cpu_secs: Option<f64>,
    /// Why the run does not count (failed, lost rows).
    error: Option<String>,
    note: Option<String>,
    /// The process's start and end, unix µs (to place the proxy's round trips).
    span: (i64, i64),
    /// What the proxy saw (only with --rtt-ms).
    wire: Option<proxy::WireStats>,
    /// dj2pg's phase log, when it wrote one.
    phases: Option<phases::PhaseLog>,
}

impl Run {
    fn new(tool: &str, secs: f64, out: &Exit, error: Option<String>) -> Run {
        Run {
            tool: tool.into(),
            secs,
            peak_kb: None,
            cpu_secs: None,
            error,
            note: None,
            span: out.span,
            wire: None,
            phases: None,
        }
    }
}

fn main() {
    if let Err(e) = run() {
        eprintln!("bench copy: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let args = parse_args()?;
    let work = tempfile::Builder::new().prefix("dj2pg-bench-").tempdir()?;
    let dir = work.path().to_path_buf();
    let result = bench(&args, &dir);
    if args.keep {
        let kept = work.keep();
        say(&format!("kept {}", kept.display()));
    }
    result
}

fn bench(args: &Args, dir: &Path) -> Result<()> {
    let many = args.many_tables || args.project == Project::Many;
    let project = dir.join("project");
    dj2pg::assets::write_sample_project(&project)?;
    let python = dj2pg::django::venv::ensure_venv(
        &target_dir().join("bench-cache"),
        dj2pg::assets::REQUIREMENTS_TXT,
        &mut |l| say(l),
    )?;

    let db = project.join("db.sqlite3");
    let t = Instant::now();
    if many {
        say("adding the generated cms app to the project (makemigrations cms)…");
        manytables::add_cms_app(&project, &python, args.rows)?;
    }
    say(&format!(
        "generating about {} rows (embeddings of {} dimensions)…",
        args.rows, args.dim
    ));
    let mut gen_cmd = Command::new(&python);
    gen_cmd
        .arg("generate_data.py")
        .arg("--db")
        .arg(&db)
        .args(["--rows", &args.rows.to_string(), "--force"])
        .args(["--dim", &args.dim.to_string()])
        .current_dir(&project);
    checked(&mut gen_cmd, "generate_data.py")?;
    if many {
        say("filling the cms tables through the ORM…");
        manytables::fill_cms(&project, &python, &db)?;
    }
    say(&format!("generated in {:.1}s", t.elapsed().as_secs_f64()));

    say("starting PostgreSQL and migrating the schema with Django…");
    let cluster = TempCluster::start(ClusterOptions::default())?;
    let mut admin = cluster
        .admin()
        .connect(Some(cluster.admin_password()))
        .map_err(|e| anyhow::anyhow!("connect as doadmin: {e}"))?;
    admin.batch_execute("GRANT ALL ON SCHEMA public TO app")?;
    let overlay = Overlay::write(&project, "aiproto.settings")?;
    let out = overlay.manage(
        &python,
        &cluster.app(),
        Some(cluster.app_password()),
        &["migrate", "--noinput"],
    )?;
    if !out.status.success() {
        bail!(
            "manage.py migrate failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut pg = cluster
        .app()
        .connect(Some(cluster.app_password()))
        .map_err(|e| anyhow::anyhow!("connect as app: {e}"))?;
    let tables = plan_tables(&db, &mut pg)?;
    let total: u64 = tables.iter().map(|t| t.rows).sum();
    say(&format!("{} tables, {total} rows to copy", tables.len()));

    let csv_dir = dir.join("csv");
    std::fs::create_dir_all(&csv_dir)?;
    let t = Instant::now();
    export_csv(&db, &tables, &csv_dir)?;
    say(&format!(
        "CSV exported (not timed) in {:.1}s",
        t.elapsed().as_secs_f64()
    ));

    let password = cluster.app_password().expose().to_string();
    // The tools connect through a delaying proxy when a round-trip time is asked for; it
    // also counts their connections and round trips. The bench's own connection (`pg`:
    // truncating, checking) goes to the server directly.
    let proxy = if args.rtt_ms > 0 {
        say(&format!(
            "the tools reach the server through a proxy adding {} ms per round trip",
            args.rtt_ms
        ));
        Some(proxy::Proxy::start(
            cluster.port(),
            Duration::from_micros(args.rtt_ms * 500),
        )?)
    } else {
        None
    };
    let port = proxy.as_ref().map_or(cluster.port(), |p| p.port);
    // Before a tool runs, forget what the proxy saw; after, give it to the run.
    let clear = || {
        if let Some(p) = &proxy {
            p.take();
        }
    };
    let on_wire = |run: &mut Run| {
        if let Some(p) = &proxy {
            run.wire = Some(p.take());
        }
    };
    let mut runs = Vec::new();
    let mut checker = Checker {
        tables: &tables,
        reference: None,
    };

    let url = format!("postgresql://app@127.0.0.1:{port}/appdb?sslmode=require");
    let dj2pg_bin = args.dj2pg.clone().unwrap_or_else(|| PathBuf::from(DJ2PG));
    if args.sync {
        sync::run(
            dir,
            &dj2pg_bin,
            &db,
            &url,
            &password,
            proxy.as_ref(),
            &mut pg,
            &tables,
            args.repeat,
        )?;
        drop(pg);
        return cluster.stop();
    }
    let quiet_flag = no_progress_flag(&dj2pg_bin);
    let pgloader = which("pgloader").is_some();
    if !pgloader {
        say("pgloader not installed (apt-get install pgloader)");
    }
    let floor_script = write_psql_script(dir, &tables, &csv_dir)?;
    // Round by round, every tool once, so that a slow spell of the machine hits all alike.
    for round in 1..=args.repeat {
        if args.repeat > 1 {
            say(&format!("round {round} of {}", args.repeat));
        }
        truncate_all(&mut pg, &tables)?;
        clear();
        let mut floor = time_psql(dir, &floor_script, port, &password, FLOOR)?;
        on_wire(&mut floor);
        checker.check(&mut pg, &mut floor)?;
        runs.push(floor);

        // The raw floor: the same script into tables without foreign keys and indexes,
        // which are put back (untimed, on the emptied tables) for the runs after it.
        truncate_all(&mut pg, &tables)?;
        let stripped = schema::strip(&mut pg)?;
        if round == 1 {
            say(&format!("raw floor: took off {}", stripped.describe()));
        }
        clear();
        let raw = time_psql(dir, &floor_script, port, &password, RAW_FLOOR);
        let checked = raw.and_then(|mut raw| {
            on_wire(&mut raw);
            checker.check(&mut pg, &mut raw)?;
            Ok(raw)
        });
        truncate_all(&mut pg, &tables)?;
        schema::restore(&mut pg, &stripped)?;
        runs.push(checked?);

        // The two dj2pg runs swap places every round: the first after the floor's load
        // meets its checkpoint, which should not count against either.
        let order = if round % 2 == 1 {
            [false, true]
        } else {
            [true, false]
        };
        for quiet in order {
            if quiet && quiet_flag.is_none() {
                continue;
            }
            truncate_all(&mut pg, &tables)?;
            clear();
            let mut run = time_dj2pg(
                dir,
                &dj2pg_bin,
                &db,
                &url,
                &password,
                args.jobs,
                quiet_flag.filter(|_| quiet),
            )?;
            on_wire(&mut run);
            checker.check(&mut pg, &mut run)?;
            runs.push(run);
        }

        if pgloader {
            truncate_all(&mut pg, &tables)?;
            clear();
            let mut run = time_pgloader(dir, &db, port, &password, cluster.ca_file(), args.dim)?;
            on_wire(&mut run);
            if run.error.is_none() {
                checker.check(&mut pg, &mut run)?;
            }
            runs.push(run);
        }
    }

    let header = report::Header {
        project: if many {
            "many tables (sample + generated cms app)"
        } else {
            "sample"
        },
        tables: tables.len(),
        rows: total,
        dim: args.dim,
        rtt_ms: args.rtt_ms,
        jobs: args.jobs,
        repeat: args.repeat,
    };
    report::report(&runs, &header, quiet_flag);
    drop(pg);
    cluster.stop()
}

fn parse_args() -> Result<Args> {
    Ok(<Args as clap::Parser>::parse())
}

/// The tables dj2pg copies (every SQLite user table but `django_migrations`), with the
/// PostgreSQL type of each column and the source row count.
fn plan_tables(db: &Path, pg: &mut postgres::Client) -> Result<Vec<Table>> {
    let lite = open_sqlite(db)?;
    let names: Vec<String> = lite
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' \
             ESCAPE '\\' AND name <> 'django_migrations' ORDER BY name",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut tables = Vec::new();
    for name in names {
        let pg_types: BTreeMap<String, String> = pg
            .query(
                "SELECT column_name::text, data_type::text FROM information_schema.columns \
                 WHERE table_schema = 'public' AND table_name = $1",
                &[&name],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        if pg_types.is_empty() {
            bail!("table {name} is in the SQLite file but not in PostgreSQL after migrate");
        }
        let columns = lite
            .prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")?
            .query_map([&name], |r| r.get::<_, String>(0))?
            .map(|c| {
                let c = c?;
                let ty = pg_types.get(&c).cloned().unwrap_or_default();
                Ok((c, ty))
            })
            .collect::<Result<Vec<_>>>()?;
        let rows: i64 =
            lite.query_row(&format!("SELECT count(*) FROM {}", ident(&name)), [], |r| {
                r.get(0)
            })?;
        tables.push(Table {
            name,
            columns,
            rows: rows as u64,
        });
    }
    Ok(tables)
}

fn open_sqlite(db: &Path) -> Result<rusqlite::Connection> {
    rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .with_context(|| format!("open {}", db.display()))
}

/// Write `<table>.csv` per table in PostgreSQL's CSV input format: NULL is an unquoted empty
/// field, every text is quoted. Django's SQLite encodings are converted by the target type:
/// booleans 0/1 → f/t, durations (integer µs) → `N microseconds`, blobs → `\x` hex; uuids
/// (32 hex digits), naive UTC datetimes (loaded with TimeZone=UTC) and JSON pass as they are.
fn export_csv(db: &Path, tables: &[Table], dir: &Path) -> Result<()> {
    let lite = open_sqlite(db)?;
    for table in tables {
        let cols: Vec<String> = table.columns.iter().map(|(c, _)| ident(c)).collect();
        let sql = format!("SELECT {} FROM {}", cols.join(", "), ident(&table.name));
        let mut stmt = lite.prepare(&sql)?;
        let mut rows = stmt.query([])?;
        let path = dir.join(format!("{}.csv", table.name));
        let mut out = BufWriter::with_capacity(1 << 20, File::create(&path)?);
        while let Some(row) = rows.next()? {
            for (i, (_, ty)) in table.columns.iter().enumerate() {
                if i > 0 {
                    out.write_all(b",")?;
                }
                write_csv_value(&mut out, row.get_ref(i)?, ty)?;
            }
            out.write_all(b"\n")?;
        }
        out.flush()
            .with_context(|| format!("write {}", path.display()))?;
    }
    Ok(())
}

fn write_csv_value(out: &mut impl Write, v: ValueRef<'_>, pg_type: &str) -> std::io::Result<()> {
    match v {
        ValueRef::Null => Ok(()),
        ValueRef::Integer(i) => match pg_type {
            "boolean" => out.write_all(if i != 0 { b"t" } else { b"f" }),
            "interval" => write!(out, "{i} microseconds"),
            _ => write!(out, "{i}"),
        },
        // Debug gives the shortest round-trip form with an exponent when needed (1e-300).
        ValueRef::Real(f) => write!(out, "{f:?}"),
        ValueRef::Text(t) => {
            out.write_all(b"\"")?;
            for chunk in t.split_inclusive(|&b| b == b'"') {
                out.write_all(chunk)?;
                if chunk.ends_with(b"\"") {
                    out.write_all(b"\"")?;
                }
            }
            out.write_all(b"\"")
        }
        ValueRef::Blob(b) => write!(out, "\\x{}", hex::encode(b)),
    }
}

fn truncate_all(pg: &mut postgres::Client, tables: &[Table]) -> Result<()> {
    let list: Vec<String> = tables.iter().map(|t| ident(&t.name)).collect();
    pg.batch_execute(&format!("TRUNCATE {}", list.join(", ")))
        .context("TRUNCATE the target tables")
}

/// The floor's script: one psql session, one transaction (Django's foreign keys are
/// DEFERRABLE INITIALLY DEFERRED, so table order does not matter), TRUNCATE then `\copy`
/// per table. The raw floor runs the same script.
fn write_psql_script(dir: &Path, tables: &[Table], csv_dir: &Path) -> Result<PathBuf> {
    let mut script = String::from("\\set ON_ERROR_STOP on\nSET TimeZone = 'UTC';\nBEGIN;\n");
    let list: Vec<String> = tables.iter().map(|t| ident(&t.name)).collect();
    writeln!(script, "TRUNCATE {};", list.join(", "))?;
    for t in tables {
        let cols: Vec<String> = t.columns.iter().map(|(c, _)| ident(c)).collect();
        let file = csv_dir.join(format!("{}.csv", t.name));
        writeln!(
            script,
            "\\copy {} ({}) FROM '{}' WITH (FORMAT csv)",
            ident(&t.name),
            cols.join(", "),
            file.display()
        )?;
    }
    script.push_str("COMMIT;\n");
    let path = dir.join("floor.sql");
    std::fs::write(&path, script)?;
    Ok(path)
}

/// Time one `psql -f script` process, the whole of it (connecting included).
fn time_psql(dir: &Path, script: &Path, port: u16, password: &str, label: &str) -> Result<Run> {
    say(&format!("timing {label}…"));
    let mut cmd = Command::new("psql");
    cmd.arg(format!(
        "host=127.0.0.1 port={port} dbname=appdb user=app sslmode=require"
    ))
    .args(["-X", "-q", "-f"])
    .arg(script)
    .env("PGPASSWORD", password);
    let log = if label == FLOOR {
        "floor.log"
    } else {
        "raw-floor.log"
    };
    let (secs, out) = timed(&mut cmd, &dir.join(log))?;
    let error = (!out.success).then(|| format!("psql failed:\n{}", out.tail));
    Ok(Run::new(label, secs, &out, error))
}

/// `dj2pg copy`, under GNU time for its peak RSS when available, else polling VmHWM.
#[allow(clippy::too_many_arguments)]
fn time_dj2pg(
    dir: &Path,
    dj2pg: &Path,
    db: &Path,
    url: &str,
    password: &str,
    jobs: Option<usize>,
    quiet: Option<&str>,
) -> Result<Run> {
    let rss_file = dir.join("dj2pg.rss");
    let gnu_time = Path::new(GNU_TIME).exists();
    let mut cmd = if gnu_time {
        let mut c = Command::new(GNU_TIME);
        c.args(["-f", "%M %U %S", "-o"]).arg(&rss_file).arg(dj2pg);
        c
    } else {
        Command::new(dj2pg)
    };
    cmd.args(["copy", "--from"])
        .arg(db)
        .args(["--to", url, "--yes"]);
    if let Some(j) = jobs {
        cmd.args(["--jobs", &j.to_string()]);
    }
    if let Some(flag) = quiet {
        cmd.arg(flag);
    }
    let label = if quiet.is_some() {
        "dj2pg copy (no progress)"
    } else {
        "dj2pg copy"
    };
    let (log, phase_log) = if quiet.is_some() {
        ("dj2pg-quiet.log", "dj2pg-quiet-phases.log")
    } else {
        ("dj2pg.log", "dj2pg-phases.log")
    };
    let (log, phase_log) = (dir.join(log), dir.join(phase_log));
    // A file left from an earlier round must not pass for this run's.
    if phase_log.exists() {
        std::fs::remove_file(&phase_log)?;
    }
    cmd.env("PGPASSWORD", password)
        .env("DJ2PG_PHASE_LOG", &phase_log)
        .env_remove("DJ2PG_TARGET_URL");
    say(&format!("timing {label}…"));
    let (secs, out) = timed(&mut cmd, &log)?;
    // GNU time's last line: "<peak KB> <user s> <system s>".
    let timed_line = std::fs::read_to_string(&rss_file)
        .ok()
        .and_then(|s| s.lines().last().map(str::to_string))
        .unwrap_or_default();
    let fields: Vec<&str> = timed_line.split_whitespace().collect();
    let peak_kb = if gnu_time {
        fields.first().and_then(|f| f.parse().ok())
    } else {
        out.polled_hwm_kb
    };
    let cpu_secs = match fields.as_slice() {
        [_, u, s] if gnu_time => u
            .parse::<f64>()
            .ok()
            .zip(s.parse::<f64>().ok())
            .map(|(u, s)| u + s),
        _ => None,
    };
    let output = std::fs::read(&log).unwrap_or_default();
    let lines = output.iter().filter(|&&b| b == b'\n').count();
    let error = (!out.success).then(|| format!("dj2pg copy failed:\n{}", out.tail));
    let mut run = Run::new(label, secs, &out, error);
    run.peak_kb = peak_kb;
    run.cpu_secs = cpu_secs;
    run.note = Some(format!("{lines} output lines, {} bytes", output.len()));
    run.phases = phases::read(&phase_log);
    Ok(run)
}

/// The flag that turns dj2pg copy's progress output off, if the CLI has one.
fn no_progress_flag(dj2pg: &Path) -> Option<&'static str> {
    let help = Command::new(dj2pg).args(["copy", "--help"]).output().ok()?;
    let help = String::from_utf8_lossy(&help.stdout);
    ["--no-progress", "--quiet"]
        .into_iter()
        .find(|f| help.contains(f))
}

fn time_pgloader(
    dir: &Path,
    db: &Path,
    port: u16,
    password: &str,
    ca_file: &Path,
    dim: u64,
) -> Result<Run> {
    // With long embeddings pgloader's default batches (25000 rows, 100000 prefetched, as
    // Lisp strings of 4 bytes a character) exhaust Debian's SBCL heap ("Heap exhausted"):
    // smaller ones then. The default stays for the sample's 12 dimensions, comparable with
    // earlier figures.
    let small = if dim > PGLOADER_SMALL_BATCHES_ABOVE_DIM {
        ", batch rows = 2000, prefetch rows = 4000, batch size = 16 MB"
    } else {
        ""
    };
    let load = format!(
        "LOAD DATABASE\n  FROM sqlite://{db}\n  INTO postgresql://app:{password}@127.0.0.1:{port}/appdb?sslmode=require\n\
         WITH data only, truncate, create no tables, create no indexes, reset no sequences{small}\n\
         SET work_mem to '64MB', maintenance_work_mem to '256MB', timezone to 'UTC'\n\
         EXCLUDING TABLE NAMES LIKE 'django_migrations';\n",
        db = db.display()
    );
    let path = dir.join("bench.load");
    std::fs::write(&path, load)?;
    say("timing pgloader (data only)…");
    let mut cmd = Command::new("pgloader");
    if !small.is_empty() {
        // Smaller batches alone still exhausted the 1 GB heap at 1M rows of 384
        // dimensions: an SBCL runtime option, which must come first.
        cmd.args(["--dynamic-space-size", "8192"]);
    }
    // sslmode=require does not verify the certificate (libpq) but pgloader does, and
    // ignores --no-ssl-cert-verification in a load file (dimitri/pgloader#1360): trust the
    // cluster's self-signed certificate through OpenSSL's SSL_CERT_FILE instead.
    cmd.env("SSL_CERT_FILE", ca_file)
        .arg("--no-ssl-cert-verification")
        .arg("--root-dir")
        .arg(dir.join("pgloader"))
        .arg(&path);
    let (secs, out) = timed(&mut cmd, &dir.join("pgloader.log"))?;
    // pgloader exits 0 even when it rejected rows; the row check catches those.
    let error = (!out.success).then(|| format!("pgloader failed:\n{}", out.tail));
    let mut run = Run::new("pgloader (data only)", secs, &out, error);
    if !small.is_empty() {
        run.note = Some(format!(
            "--dynamic-space-size 8192 (MB of heap), load file WITH{}",
            small.trim_start_matches(',')
        ));
    }
    Ok(run)
}

struct Exit {
    success: bool,
    /// Start and end of the process, unix µs.
    span: (i64, i64),
    tail: String,
    polled_hwm_kb: Option<u64>,
}

/// Run `cmd` with stdout+stderr to `log`, timing its wall clock and polling its VmHWM.
fn timed(cmd: &mut Command, log: &Path) -> Result<(f64, Exit)> {
    let file = File::create(log)?;
    cmd.stdin(Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(file);
    let start = Instant::now();
    let start_us = unix_micros();
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot run {:?}", cmd.get_program()))?;
    let status_path = format!("/proc/{}/status", child.id());
    let mut hwm = None;
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break s;
        }
        if let Some(kb) = read_hwm_kb(&status_path) {
            hwm = Some(kb);
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let secs = start.elapsed().as_secs_f64();
    let span = (start_us, unix_micros());
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(15)..].join("\n");
    Ok((
        secs,
        Exit {
            success: status.success(),
            span,
            tail,
            polled_hwm_kb: hwm,
        },
    ))
}

fn read_hwm_kb(status_path: &str) -> Option<u64> {
    let text = std::fs::read_to_string(status_path).ok()?;
    let line = text.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Checks each run's result: row counts against the source (a mismatch voids the run), and
/// table contents against what the floor loaded (a difference is reported).
struct Checker<'a> {
    tables: &'a [Table],
    reference: Option<BTreeMap<String, String>>,
}

impl Checker<'_> {
    fn check(&mut self, pg: &mut postgres::Client, run: &mut Run) -> Result<()> {
        if run.error.is_some() {
            return Ok(());
        }
        let mut lost = Vec::new();
        let mut digests = BTreeMap::new();
        for t in self.tables {
            let q = format!(
                // Order-independent and bounded in memory (a sorted string_agg of a 1M-row
                // table of embeddings passes PostgreSQL's 1 GB string limit): the sum of
                // each row's md5, first 60 bits, as numeric.
                "SELECT count(*), coalesce(sum(('x' || substr(md5(x::text), 1, 15))::bit(60)::int8::numeric), 0)::text FROM {} x",
                ident(&t.name)
            );
            let row = pg.query_one(&q, &[])?;
            let n: i64 = row.get(0);
            if n as u64 != t.rows {
                lost.push(format!("{}: {} of {} rows", t.name, n, t.rows));
            }
            digests.insert(t.name.clone(), row.get::<_, String>(1));
        }
        if !lost.is_empty() {
            let msg = format!("ROW COUNTS DIFFER FROM THE SOURCE: {}", lost.join("; "));
            eprintln!("ERROR {}: {msg}", run.tool);
            run.error = Some(msg);
            return Ok(());
        }
        match &self.reference {
            None => self.reference = Some(digests),
            Some(reference) => {
                let differ: Vec<&str> = self
                    .tables
                    .iter()
                    .filter(|t| reference.get(&t.name) != digests.get(&t.name))
                    .map(|t| t.name.as_str())
                    .collect();
                if !differ.is_empty() {
                    let note = format!("values differ from the floor's in: {}", differ.join(", "));
                    say(&format!("{}: {note}", run.tool));
                    run.note = Some(match run.note.take() {
                        Some(n) => format!("{n}; {note}"),
                        None => note,
                    });
                }
            }
        }
        Ok(())
    }
}

fn unix_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn checked(cmd: &mut Command, what: &str) -> Result<()> {
    let out = cmd.output().with_context(|| format!("cannot run {what}"))?;
    if !out.status.success() {
        bail!(
            "{what} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// Cargo's target directory: this binary is `<target>/<profile>/deps/copy-<hash>`.
fn target_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.to_path_buf()))
        .filter(|t| t.join("CACHEDIR.TAG").exists())
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"))
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn say(line: &str) {
    eprintln!("[bench] {line}");
}
