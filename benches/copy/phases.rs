//! dj2pg's phase log (`DJ2PG_PHASE_LOG=<file>`) and the attribution of the proxy's round
//! trips to its stages.
//!
//! dj2pg writes `<unix_micros> stage <name>` each time its stage changes and, per table at
//! the end, `<unix_micros> table <name> round_trips=<n>`. A turnaround belongs to the
//! stage whose line is the last one at or before it; before the first line it belongs to
//! "connecting" (the process starting, connecting and planning before it said anything).
//! A stage's wall time runs from its line to the next stage line (the last one to the end
//! of the process); a stage entered twice adds up under one name.

use crate::proxy::WireStats;
use std::path::Path;

/// What dj2pg wrote to its phase log.
pub struct PhaseLog {
    /// (unix µs, stage name) in file order.
    pub stages: Vec<(i64, String)>,
    /// (table, round trips dj2pg counted for it).
    pub tables: Vec<(String, u64)>,
    /// Lines that were neither form.
    pub unparsed: usize,
}

/// The log at `path`, or None when it is absent or holds nothing (a dj2pg that does not
/// write one).
pub fn read(path: &Path) -> Option<PhaseLog> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut log = PhaseLog {
        stages: Vec::new(),
        tables: Vec::new(),
        unparsed: 0,
    };
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let mut parts = line.splitn(3, ' ');
        let (Some(t), Some(kind), Some(rest)) = (parts.next(), parts.next(), parts.next()) else {
            log.unparsed += 1;
            continue;
        };
        let Ok(t) = t.parse::<i64>() else {
            log.unparsed += 1;
            continue;
        };
        match kind {
            "stage" => log.stages.push((t, rest.trim().to_string())),
            "table" => match rest
                .rsplit_once(" round_trips=")
                .and_then(|(name, n)| Some((name, n.trim().parse::<u64>().ok()?)))
            {
                Some((name, n)) => log.tables.push((name.to_string(), n)),
                None => log.unparsed += 1,
            },
            _ => log.unparsed += 1,
        }
    }
    (!log.stages.is_empty() || !log.tables.is_empty()).then_some(log)
}

/// One row of the per-phase table.
pub struct Phase {
    pub name: String,
    pub round_trips: usize,
    pub secs: f64,
}

/// The round trips and wall time of each stage, in the order the stages first came;
/// `start`/`end` are the process's own start and end (unix µs).
pub fn attribute(log: &PhaseLog, wire: &WireStats, start: i64, end: i64) -> Vec<Phase> {
    let mut stages = log.stages.clone();
    stages.sort_by_key(|(t, _)| *t);
    // Interval boundaries: "connecting" from the start, each stage to the next one's line.
    let mut bounds: Vec<(i64, &str)> = vec![(
        start.min(stages.first().map_or(start, |s| s.0)),
        "connecting",
    )];
    bounds.extend(stages.iter().map(|(t, n)| (*t, n.as_str())));
    let mut phases: Vec<Phase> = Vec::new();
    let mut add =
        |name: &str, rts: usize, secs: f64| match phases.iter_mut().find(|p| p.name == name) {
            Some(p) => {
                p.round_trips += rts;
                p.secs += secs;
            }
            None => phases.push(Phase {
                name: name.to_string(),
                round_trips: rts,
                secs,
            }),
        };
    let mut times: Vec<i64> = wire.turnarounds.iter().map(|t| t.unix_micros).collect();
    times.sort_unstable();
    for (i, (from, name)) in bounds.iter().enumerate() {
        let to = bounds.get(i + 1).map_or(i64::MAX, |b| b.0);
        let lo = times.partition_point(|&t| t < *from);
        let hi = times.partition_point(|&t| t < to);
        // A turnaround before the process start (cannot happen) still counts, as connecting.
        let lo = if i == 0 { 0 } else { lo };
        let wall_to = if to == i64::MAX { end.max(*from) } else { to };
        add(name, hi - lo, (wall_to - from) as f64 / 1e6);
    }
    phases
}

/// Print the per-phase table and the per-table round trips (top 15, then a summary).
pub fn print(log: &PhaseLog, wire: &WireStats, start: i64, end: i64) {
    if log.stages.is_empty() {
        println!("  per-phase: dj2pg wrote no stage lines");
    } else {
        println!("  {:<28} {:>11} {:>12}", "phase", "round trips", "wall s");
        for p in attribute(log, wire, start, end) {
            println!("  {:<28} {:>11} {:>12.3}", p.name, p.round_trips, p.secs);
        }
    }
    if log.tables.is_empty() {
        println!("  per-table: dj2pg wrote no table lines");
    } else {
        let mut tables = log.tables.clone();
        tables.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        println!(
            "  per table, as dj2pg counted them (shared batches count once for every table in them), top {} of {}:",
            tables.len().min(15),
            tables.len()
        );
        for (name, n) in tables.iter().take(15) {
            println!("    {name:<44} {n:>6}");
        }
        let le2 = tables.iter().filter(|t| t.1 <= 2).count();
        let le5 = tables.iter().filter(|t| t.1 > 2 && t.1 <= 5).count();
        let more = tables.len() - le2 - le5;
        let sum: u64 = tables.iter().map(|t| t.1).sum();
        println!(
            "  tables with <= 2 round trips: {le2}, 3-5: {le5}, more than 5: {more}; sum over tables {sum}"
        );
    }
    if log.unparsed > 0 {
        println!("  ({} phase-log lines not understood)", log.unparsed);
    }
}
