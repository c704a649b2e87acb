//! The bench's report: one line per tool (median of the rounds), the figures the targets
//! are about as time ratios, and with `--rtt-ms` what the proxy counted on the wire.

use crate::{FLOOR, GNU_TIME, RAW_FLOOR, Run, cpus, phases};
use std::path::Path;

/// What the run was about, for the report's heading.
pub struct Header {
    pub project: &'static str,
    pub tables: usize,
    pub rows: u64,
    pub dim: u64,
    pub rtt_ms: u64,
    pub jobs: Option<usize>,
    pub repeat: u64,
}

/// One tool's runs summed up: medians, and the spread of the times.
pub struct Summary<'a> {
    tool: &'a str,
    secs: f64,
    min: f64,
    max: f64,
    peak_kb: Option<u64>,
    cpu_secs: Option<f64>,
    runs: usize,
    failed: Vec<&'a Run>,
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

fn summarize(runs: &[Run]) -> Vec<Summary<'_>> {
    let mut tools: Vec<&str> = Vec::new();
    for r in runs {
        if !tools.contains(&r.tool.as_str()) {
            tools.push(&r.tool);
        }
    }
    tools
        .into_iter()
        .map(|tool| {
            let all: Vec<&Run> = runs.iter().filter(|r| r.tool == tool).collect();
            let ok: Vec<&Run> = all.iter().copied().filter(|r| r.error.is_none()).collect();
            let secs: Vec<f64> = ok.iter().map(|r| r.secs).collect();
            Summary {
                tool,
                secs: median(secs.clone()).unwrap_or(f64::NAN),
                min: secs.iter().copied().fold(f64::INFINITY, f64::min),
                max: secs.iter().copied().fold(0.0, f64::max),
                peak_kb: ok.iter().filter_map(|r| r.peak_kb).max(),
                cpu_secs: median(ok.iter().filter_map(|r| r.cpu_secs).collect()),
                runs: ok.len(),
                failed: all.into_iter().filter(|r| r.error.is_some()).collect(),
            }
        })
        .collect()
}

/// Print the report of all runs.
pub fn report(runs: &[Run], h: &Header, quiet_flag: Option<&str>) {
    let summaries = summarize(runs);
    let ok = |tool: &str| summaries.iter().find(|s| s.tool == tool && s.runs > 0);
    let rate = |s: &Summary| h.rows as f64 / s.secs;
    let floor = ok(FLOOR);
    let raw = ok(RAW_FLOOR);
    let jobs = h
        .jobs
        .map_or("dj2pg's default".to_string(), |j| j.to_string());
    let rtt = if h.rtt_ms > 0 {
        format!("+{} ms round trip (proxy)", h.rtt_ms)
    } else {
        "no added round trip (rtt 0)".to_string()
    };
    println!(
        "\n== dj2pg copy benchmark: project {} ({} tables), {} rows, dim {}, {rtt}, --jobs {jobs}, {} CPUs, {} ==",
        h.project,
        h.tables,
        h.rows,
        h.dim,
        cpus(),
        if h.repeat > 1 {
            format!("median of {} rounds", h.repeat)
        } else {
            "one round".to_string()
        }
    );
    println!(
        "{:<40} {:>8} {:>13} {:>9} {:>8} {:>7} {:>9}",
        "tool", "seconds", "min-max", "rows/s", "t/floor", "CPU s", "peak RSS"
    );
    for s in &summaries {
        if s.runs == 0 {
            println!("{:<40} {:>8}", s.tool, "FAILED");
            continue;
        }
        let ratio = floor.map_or("-".into(), |f| format!("{:.2}", s.secs / f.secs));
        let rss = s
            .peak_kb
            .map_or("-".into(), |kb| format!("{:.1} MB", kb as f64 / 1024.0));
        let cpu = s.cpu_secs.map_or("-".into(), |c| format!("{c:.2}"));
        println!(
            "{:<40} {:>8.2} {:>13} {:>9.0} {:>8} {:>7} {:>9}",
            s.tool,
            s.secs,
            format!("{:.2}-{:.2}", s.min, s.max),
            rate(s),
            ratio,
            cpu,
            rss
        );
    }
    println!("(t/floor: the tool's seconds / the floor's seconds; lower is faster)");
    let dj = ok("dj2pg copy");
    println!();
    match (dj, floor) {
        (Some(d), Some(f)) => println!(
            "dj2pg / psql \\copy floor = {:.2} time ratio (dj2pg s / floor s; target <= 1.0, also at 30 and 80 ms rtt)",
            d.secs / f.secs
        ),
        _ => println!("dj2pg / psql \\copy floor = n/a"),
    }
    match (dj, raw) {
        (Some(d), Some(r)) => println!(
            "dj2pg / raw floor = {:.2} time ratio (dj2pg s / raw floor s; target <= 1.0 at >= 1M rows, rtt 0)",
            d.secs / r.secs
        ),
        _ => println!("dj2pg / raw floor = n/a"),
    }
    match (
        dj,
        summaries.iter().find(|s| s.tool.starts_with("pgloader")),
    ) {
        (Some(d), Some(p)) if p.runs > 0 => println!(
            "dj2pg / pgloader = {:.2}x faster (pgloader s / dj2pg s; target >= 3x at >= 1M rows)",
            p.secs / d.secs
        ),
        (_, None) => {
            println!("dj2pg / pgloader = n/a (pgloader not installed: apt-get install pgloader)")
        }
        _ => println!("dj2pg / pgloader = n/a"),
    }
    match dj.and_then(|d| d.peak_kb) {
        Some(kb) => println!(
            "dj2pg peak RSS = {:.1} MB   (target < 150 MB; {}, highest of the rounds)",
            kb as f64 / 1024.0,
            if Path::new(GNU_TIME).exists() {
                "GNU time %M"
            } else {
                "polled VmHWM"
            }
        ),
        None => println!("dj2pg peak RSS = n/a"),
    }
    let quiet = ok("dj2pg copy (no progress)");
    match (dj, quiet) {
        (Some(d), Some(q)) => {
            println!(
                "progress display = {:+.1}% of copy time   (target < 2%; run with vs without {})",
                (d.secs - q.secs) / d.secs * 100.0,
                quiet_flag.unwrap_or("")
            );
            if let (Some(dc), Some(qc)) = (d.cpu_secs, q.cpu_secs) {
                println!(
                    "progress display = {:+.1}% of dj2pg's CPU time (same comparison, user+system)",
                    (dc - qc) / dc * 100.0
                );
            }
        }
        _ if quiet_flag.is_none() => println!(
            "progress display = not measured: `dj2pg copy` has no flag to turn progress off \
             (its output went to a file)"
        ),
        _ => println!("progress display = n/a"),
    }
    wire_report(runs, &summaries, h);
    // Each tool's note from its last round.
    for s in &summaries {
        if let Some(note) = runs
            .iter()
            .rev()
            .find(|r| r.tool == s.tool)
            .and_then(|r| r.note.as_ref())
        {
            println!("note {}: {note}", s.tool);
        }
    }
    for s in &summaries {
        for r in &s.failed {
            if let Some(err) = &r.error {
                println!("\n{} did not count:\n{err}", r.tool);
            }
        }
    }
}

/// Connections and round trips per tool (its last round), and dj2pg's per phase and table.
fn wire_report(runs: &[Run], summaries: &[Summary], h: &Header) {
    if h.rtt_ms == 0 {
        println!(
            "\nround trips: not counted (they are counted by the delaying proxy: pass --rtt-ms)"
        );
        return;
    }
    println!(
        "\n-- round trips at the proxy{} (per connection, a round trip = the server sending after the client sent) --",
        if h.repeat > 1 { ", last round" } else { "" }
    );
    println!(
        "{:<40} {:>11} {:>11} {:>22} {:>9}",
        "tool", "connections", "round trips", "most on one connection", "at close"
    );
    let last = |tool: &str| {
        runs.iter()
            .rev()
            .find(|r| r.tool == tool && r.wire.is_some())
    };
    for s in summaries {
        if let Some(w) = last(s.tool).and_then(|r| r.wire.as_ref()) {
            println!(
                "{:<40} {:>11} {:>11} {:>22} {:>9}",
                s.tool,
                w.connections,
                w.total(),
                w.most_on_one(),
                w.closing
            );
        }
    }
    println!(
        "(at close: the server's answers after the client had closed its side, e.g. TLS \
         close_notify after Terminate; nobody waits for them, so they are not round trips)"
    );
    for s in summaries.iter().filter(|s| s.tool.starts_with("dj2pg")) {
        let Some(run) = last(s.tool) else { continue };
        let Some(wire) = &run.wire else { continue };
        println!("\n{}:", s.tool);
        match &run.phases {
            Some(log) => phases::print(log, wire, run.span.0, run.span.1),
            None => println!(
                "  per-phase: not reported by dj2pg (no DJ2PG_PHASE_LOG lines: run the bench with \
                 `cargo bench --features bench-log --bench copy`); totals above"
            ),
        }
    }
}
