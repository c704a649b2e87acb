//! `dj2pg copy --from FILE --to URL`: the copy engine alone, printing the preflight report,
//! progress (read from the load's slot, at most about once a second within a stage) and the verification table, as text or JSON lines.

use super::{Context, CopyProgress, CopyReport, CopySettings, PreflightReport, ProgressSlot, Stop};
use crate::data::copy::ProblemPolicy;
use crate::output::{Event, Layout, Name, Printer};
use crate::pg::{ConnConfig, Secret};
use crate::rules::{self, CopyNext};
use crate::state::Step;
use anyhow::{Result, bail};
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// `dj2pg copy` is the Copy rows step alone: its events carry that step.
const STEP: Step = Step::CopyRows;

/// What `dj2pg copy` was asked to do.
#[derive(Clone, Debug)]
pub struct StandaloneArgs {
    pub from: PathBuf,
    pub to: ConnConfig,
    pub password: Option<Secret>,
    pub jobs: usize,
    pub rejects: Option<PathBuf>,
    pub on_bad_data: ProblemPolicy,
    /// Empty target tables that already hold rows without asking.
    pub yes: bool,
    /// JSON lines instead of text.
    pub json: bool,
    /// No progress lines (the preflight report and the verification table still print).
    pub quiet: bool,
    pub use_tz: bool,
    pub time_zone: String,
    /// Tables from this many rows load in bulk mode (see `CopySettings::bulk_min_rows`).
    pub bulk_min_rows: u64,
    /// Most rows of one batch of small tables (see `CopySettings::batch_rows`).
    pub batch_rows: u64,
    /// lz4 compression of large values where the server offers it (`CopySettings::lz4`).
    pub lz4: bool,
    /// Bulk siblings load at the same time (`CopySettings::siblings_together`).
    pub siblings_together: bool,
    /// SQLite tables and columns with no place on PostgreSQL to leave behind.
    pub leave_behind: Vec<String>,
}

/// Run a whole copy: preflight, confirmation rules, load, verification.
pub fn run_standalone(args: StandaloneArgs, out: &mut dyn Write) -> Result<CopyReport> {
    run_with_stop(args, out, Stop::default())
}

/// The same, with cancel/pause flags the caller controls (Ctrl-C, tests).
pub fn run_with_stop(args: StandaloneArgs, out: &mut dyn Write, stop: Stop) -> Result<CopyReport> {
    let mut o = Printer::new(Box::new(out), args.json, args.quiet, Layout::Plain);
    let settings = CopySettings {
        rejects: args.rejects.clone(),
        use_tz: args.use_tz,
        time_zone: args.time_zone.clone(),
        bulk_min_rows: args.bulk_min_rows,
        batch_rows: args.batch_rows,
        lz4: args.lz4,
        siblings_together: args.siblings_together,
        leave_behind: args.leave_behind.clone(),
        ..CopySettings::with_jobs(args.jobs)
    };
    let cx = Context::new(
        &args.from,
        args.to.clone(),
        args.password.clone(),
        settings,
        stop,
    )?;
    o.say(
        STEP,
        Name::Start,
        &format!(
            "Copying {} into {} ({} connections)",
            args.from.display(),
            args.to.display_url(),
            cx.jobs()
        ),
    );
    let started = Instant::now();
    let plan = cx.plan()?;
    if let Some(at) = cx.snapshot_at() {
        o.say(
            STEP,
            Name::Snapshot,
            &format!(
                "Reading one snapshot of {} taken at {} UTC: what the app writes from now on is not copied.",
                args.from.display(),
                at.format("%H:%M:%S")
            ),
        );
    }
    // The load's sessions open while the preflight reads the SQLite file.
    cx.prewarm();
    let report = super::preflight::run(&cx, &plan, args.on_bad_data)?;
    print_preflight(&mut o, &report, started.elapsed());
    // The same questions, in the same order, as the wizard and `dj2pg migrate`: the flags
    // are the answers.
    let answers = rules::answers_from_flags(args.on_bad_data, args.yes);
    let policy = match rules::copy_next(&report, &answers) {
        CopyNext::Go(policy) => policy,
        CopyNext::Stop(q) => bail!(
            "{}",
            rules::stop_message(&report, q, rules::Surface::CommandLine)
        ),
        CopyNext::Ask(q) => {
            bail!("internal error: the flags left {q:?} unanswered — please report it")
        }
    };
    let result = load_showing_progress(&mut o, |on_progress| {
        super::load::run(&cx, &plan, policy, on_progress)
    })?;
    print_report(&mut o, &result);
    Ok(result)
}

/// How often the progress is read while the load runs.
const POLL: Duration = Duration::from_millis(150);

/// Run `load` on a thread of its own, its progress going to a [`ProgressSlot`] that is
/// read and printed every [`POLL`] here, as `dj2pg migrate` does.
fn load_showing_progress(
    o: &mut Printer<'_>,
    load: impl FnOnce(&mut dyn FnMut(&CopyProgress)) -> Result<CopyReport> + Send,
) -> Result<CopyReport> {
    let slot = ProgressSlot::default();
    let offer = slot.clone();
    std::thread::scope(|s| {
        let here = std::thread::current();
        let loading = s.spawn(move || {
            let result = load(&mut |p| offer.offer(p));
            here.unpark();
            result
        });
        let show = |o: &mut Printer<'_>| {
            if let Some(p) = slot.take() {
                o.progress(&Event::progress(STEP, &p));
            }
            o.flush_progress();
        };
        while !loading.is_finished() {
            show(o);
            std::thread::park_timeout(POLL);
        }
        show(o);
        loading
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

fn print_preflight(o: &mut Printer<'_>, r: &PreflightReport, took: Duration) {
    for note in &r.notes {
        o.say(STEP, Name::Note, note);
    }
    for p in &r.problems {
        o.emit(&Event::problem(STEP, p));
    }
    for d in &r.derived {
        let text = format!(
            "{} ({} rows) is {}: left empty; {}",
            d.table,
            d.source_rows,
            d.reason,
            d.rebuild_hint()
        );
        o.say(STEP, Name::Derived, &text);
    }
    for (t, n) in &r.nonempty_targets {
        o.emit(&Event::nonempty_target(STEP, t, *n));
    }
    let rows: u64 = r.tables.iter().map(|(_, n)| n).sum();
    let text = format!(
        "{} tables, {rows} rows, {} problem(s), {} non-empty target table(s) ({:.1} s)",
        r.tables.len(),
        r.problems.len(),
        r.nonempty_targets.len(),
        took.as_secs_f64()
    );
    o.say(STEP, Name::Preflight, &text);
}

fn print_report(o: &mut Printer<'_>, r: &CopyReport) {
    for note in &r.notes {
        o.say(STEP, Name::Note, note);
    }
    for c in &r.checks {
        o.emit(&Event::verified(STEP, c));
    }
    o.emit(&Event::copied(STEP, r));
}
