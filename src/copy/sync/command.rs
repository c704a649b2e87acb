//! `dj2pg sync --from FILE --to URL`: what changed since the copy (per table), the
//! conflicts, then the changes applied and verified, as text or JSON lines.

use super::{OnConflict, Prepared, Store, SyncReport};
use crate::copy::Stop;
use crate::pg::{ConnConfig, Secret};
use anyhow::{Result, bail};
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

/// What `dj2pg sync` was asked to do.
#[derive(Clone, Debug)]
pub struct SyncArgs {
    pub from: PathBuf,
    pub to: ConnConfig,
    pub password: Option<Secret>,
    /// Apply without asking.
    pub yes: bool,
    pub json: bool,
    pub on_conflict: OnConflict,
    /// Only remove what the copy kept for syncs.
    pub forget: bool,
}

/// How the command ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ending {
    /// Synced and verified (or nothing to do).
    Synced,
    /// Conflicts and no `--on-conflict`: nothing changed.
    Conflicts,
    /// The user said no.
    Declined,
}

struct Out<'a> {
    w: &'a mut dyn Write,
    json: bool,
}

impl Out<'_> {
    fn say(&mut self, event: &str, text: &str, data: serde_json::Value) {
        let _ = if self.json {
            writeln!(
                self.w,
                "{}",
                serde_json::json!({ "event": event, "message": text, "data": data })
            )
        } else {
            writeln!(self.w, "{text}")
        };
    }
}

/// Run `dj2pg sync`.
pub fn run(args: SyncArgs, out: &mut dyn Write, stop: Stop) -> Result<Ending> {
    let mut o = Out {
        w: out,
        json: args.json,
    };
    if args.forget {
        let store = Store::of(&args.from, &args.to)?;
        let gone = store.forget()?;
        o.say(
            "forgotten",
            &if gone {
                format!(
                    "Removed the snapshot kept for syncs in {}",
                    store.dir().display()
                )
            } else {
                "Nothing was kept for syncs of this file into this database.".to_string()
            },
            serde_json::Value::Null,
        );
        return Ok(Ending::Synced);
    }
    let started = std::time::Instant::now();
    let prepared = super::prepare(&args.from, &args.to, args.password.as_ref(), stop)?;
    let changes = prepared.changes();
    let rows: u64 = changes.iter().map(|c| c.rows()).sum();
    o.say(
        "changes",
        &format!(
            "Changes in {} since the snapshot of {} ({} rows read in {:.1} s):",
            args.from.display(),
            prepared.since().format("%Y-%m-%d %H:%M:%S UTC"),
            prepared.look().rows,
            started.elapsed().as_secs_f64()
        ),
        serde_json::to_value(&changes).unwrap_or_default(),
    );
    if changes.is_empty() {
        let report = prepared.apply(args.on_conflict)?;
        o.say(
            "done",
            "Nothing changed: PostgreSQL already holds every row of the SQLite file. Nothing was moved.",
            serde_json::to_value(&report).unwrap_or_default(),
        );
        return Ok(Ending::Synced);
    }
    if !o.json {
        o.say(
            "",
            &format!(
                "{:<40} {:>9} {:>9} {:>9}",
                "table", "inserted", "updated", "deleted"
            ),
            serde_json::Value::Null,
        );
        for c in &changes {
            let line = if c.whole {
                format!("{:<40} changed; no primary key: reloaded whole", c.table)
            } else {
                format!(
                    "{:<40} {:>9} {:>9} {:>9}",
                    c.table, c.inserted, c.updated, c.deleted
                )
            };
            o.say("table", &line, serde_json::Value::Null);
        }
    }
    if !args.yes && !confirm(&mut o, &prepared, rows)? {
        o.say("declined", "Nothing was changed.", serde_json::Value::Null);
        return Ok(Ending::Declined);
    }
    let report = prepared.apply(args.on_conflict)?;
    print_report(&mut o, &report, args.on_conflict);
    Ok(if report.applied.committed {
        Ending::Synced
    } else {
        Ending::Conflicts
    })
}

/// Ask on a terminal; without one, `--yes` is required.
fn confirm(o: &mut Out<'_>, p: &Prepared, rows: u64) -> Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!(
            "{rows} row change(s) to apply and no terminal to ask: run again with --yes to apply them"
        );
    }
    let _ = p;
    let _ = write!(
        o.w,
        "Apply these {rows} change(s) to PostgreSQL now? Stop the app (or put it in maintenance) first. [y/N] "
    );
    let _ = o.w.flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

fn print_report(o: &mut Out<'_>, r: &SyncReport, on_conflict: OnConflict) {
    for c in &r.applied.conflicts {
        o.say(
            "conflict",
            &format!("conflict: {} key {}: {}", c.table, c.key, c.what),
            serde_json::to_value(c).unwrap_or_default(),
        );
    }
    if !r.applied.committed {
        o.say(
            "stopped",
            &format!(
                "{} conflict(s): rows changed on PostgreSQL since the snapshot that SQLite changed too. Nothing was changed. Run again with --on-conflict=keep-postgres (leave those rows as PostgreSQL has them) or --on-conflict=take-sqlite (write SQLite's over them).",
                r.applied.conflicts.len()
            ),
            serde_json::to_value(r).unwrap_or_default(),
        );
        return;
    }
    let kept = match on_conflict {
        OnConflict::KeepPostgres if !r.applied.conflicts.is_empty() => format!(
            "; {} conflict(s) left as PostgreSQL has them",
            r.applied.conflicts.len()
        ),
        OnConflict::TakeSqlite if !r.applied.conflicts.is_empty() => format!(
            "; {} conflict(s) overwritten with SQLite's rows",
            r.applied.conflicts.len()
        ),
        _ => String::new(),
    };
    o.say(
        "done",
        &format!(
            "Synced and verified: {} row(s) moved in {:.2} s ({} round trips){kept}. PostgreSQL now matches the SQLite file as of {}.",
            r.applied.moved(),
            r.window_ms as f64 / 1000.0,
            r.round_trips,
            r.to_snapshot
        ),
        serde_json::to_value(r).unwrap_or_default(),
    );
}
