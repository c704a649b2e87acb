//! `dj2pg sync --from FILE --to URL`: what changed since the copy (per table), the
//! conflicts, then the changes applied and verified, as text or JSON lines: the events of
//! the Cutover step, in the vocabulary of `dj2pg migrate` and `dj2pg copy`.

use super::{OnConflict, Store, SyncReport};
use crate::copy::Stop;
use crate::output::{Data, Event, Layout, Name, Printer};
use crate::pg::{ConnConfig, Secret};
use crate::state::Step;
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

/// `dj2pg sync` is the wizard's Cutover step alone: its events carry that step.
const STEP: Step = Step::Cutover;

/// Run `dj2pg sync`, printing the same events as `dj2pg migrate`'s Cutover (text or JSON
/// lines, see `crate::output`).
pub fn run(args: SyncArgs, out: &mut dyn Write, stop: Stop) -> Result<Ending> {
    let mut o = Printer::new(Box::new(out), args.json, false, Layout::Plain);
    if args.forget {
        let store = Store::of(&args.from, &args.to)?;
        let text = if store.forget()? {
            format!(
                "Removed the snapshot kept for syncs in {}",
                store.dir().display()
            )
        } else {
            "Nothing was kept for syncs of this file into this database.".to_string()
        };
        o.say(STEP, Name::Done, &text);
        return Ok(Ending::Synced);
    }
    let started = std::time::Instant::now();
    let prepared = super::prepare(&args.from, &args.to, args.password.as_ref(), stop)?;
    let look = prepared.look().clone();
    let text = format!(
        "Changes in {} since the snapshot of {} ({} rows read in {:.1} s):",
        args.from.display(),
        prepared.since().format("%Y-%m-%d %H:%M:%S UTC"),
        look.rows,
        started.elapsed().as_secs_f64()
    );
    o.emit(&Event::changes(STEP, text, &look));
    if look.changes.is_empty() {
        let report = prepared.apply(args.on_conflict)?;
        o.emit(&Event::data(STEP, Name::Report, Data::of(&report)));
        o.say(
            STEP,
            Name::Done,
            "Nothing changed: PostgreSQL already holds every row of the SQLite file. Nothing was moved.",
        );
        return Ok(Ending::Synced);
    }
    let rows = look.rows_changed();
    if !args.yes && !confirm(&mut o, rows)? {
        o.say(STEP, Name::Declined, "Nothing was changed.");
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
fn confirm(o: &mut Printer<'_>, rows: u64) -> Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!(
            "{rows} row change(s) to apply and no terminal to ask: run again with --yes to apply them"
        );
    }
    o.ask(&Event::say(
        STEP,
        Name::Question,
        format!(
            "Apply these {rows} change(s) to PostgreSQL now? Stop the app (or put it in maintenance) first. [y/N]"
        ),
    ));
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

fn print_report(o: &mut Printer<'_>, r: &SyncReport, on_conflict: OnConflict) {
    for c in &r.applied.conflicts {
        let text = format!("{} key {}: {}", c.table, c.key, c.what);
        o.emit(&Event::say(STEP, Name::Conflict, text).with(Data::of(c)));
    }
    if r.applied.committed {
        for t in r.applied.tables.iter().filter(|t| t.moved() > 0) {
            o.emit(&Event::synced(STEP, t));
        }
    }
    o.emit(&Event::data(STEP, Name::Report, Data::of(r)));
    if !r.applied.committed {
        let text = format!(
            "{} conflict(s): rows changed on PostgreSQL since the snapshot that SQLite changed too. Nothing was changed. Run again with --on-conflict=keep-postgres (leave those rows as PostgreSQL has them) or --on-conflict=take-sqlite (write SQLite's over them).",
            r.applied.conflicts.len()
        );
        o.say(STEP, Name::Stopped, &text);
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
    let text = format!(
        "Synced and verified: {} row(s) moved in {:.2} s ({} round trips){kept}. PostgreSQL now matches the SQLite file as of {}.",
        r.applied.moved(),
        r.window_ms as f64 / 1000.0,
        r.round_trips,
        r.to_snapshot
    );
    o.say(STEP, Name::Done, &text);
}
