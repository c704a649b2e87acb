//! `dj2pg copy --from FILE --to URL`: the copy engine alone, printing the preflight report,
//! progress (at most about once a second) and the verification table, as text or JSON lines.

use super::{Context, CopyProgress, CopyReport, CopySettings, PreflightReport, Stop};
use crate::data::copy::ProblemPolicy;
use crate::pg::{ConnConfig, Secret};
use crate::rules::{self, CopyNext};
use anyhow::{Result, bail};
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

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

struct Out<'a> {
    w: &'a mut dyn Write,
    json: bool,
}

impl Out<'_> {
    fn line(&mut self, event: &str, text: &str) {
        let _ = if self.json {
            writeln!(
                self.w,
                "{}",
                serde_json::json!({ "event": event, "message": text })
            )
        } else {
            writeln!(self.w, "{text}")
        };
    }

    fn data(&mut self, event: &str, text: &str, data: serde_json::Value) {
        if self.json {
            let _ = writeln!(
                self.w,
                "{}",
                serde_json::json!({ "event": event, "data": data })
            );
        } else {
            let _ = writeln!(self.w, "{text}");
        }
    }
}

/// Run a whole copy: preflight, confirmation rules, load, verification.
pub fn run_standalone(args: StandaloneArgs, out: &mut dyn Write) -> Result<CopyReport> {
    run_with_stop(args, out, Stop::default())
}

/// The same, with cancel/pause flags the caller controls (Ctrl-C, tests).
pub fn run_with_stop(args: StandaloneArgs, out: &mut dyn Write, stop: Stop) -> Result<CopyReport> {
    let mut o = Out {
        w: out,
        json: args.json,
    };
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
    o.line(
        "start",
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
        o.line(
            "snapshot",
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
    let mut last: Option<Instant> = None;
    let quiet = args.quiet;
    let mut on_progress = |p: &CopyProgress| {
        if quiet || last.is_some_and(|t| t.elapsed() < Duration::from_secs(1)) {
            return;
        }
        last = Some(Instant::now());
        o.data(
            "progress",
            &p.line(),
            serde_json::to_value(p).unwrap_or_default(),
        );
    };
    let result = super::load::run(&cx, &plan, policy, &mut on_progress)?;
    print_report(&mut o, &result);
    Ok(result)
}

fn print_preflight(o: &mut Out<'_>, r: &PreflightReport, took: Duration) {
    for note in &r.notes {
        o.line("note", &format!("note: {note}"));
    }
    for p in &r.problems {
        let fix = p
            .fix
            .as_deref()
            .map(|f| format!(" [fix: {f}]"))
            .unwrap_or_default();
        o.data(
            "problem",
            &format!(
                "problem: {} pk={} {}: {} ({}){fix}",
                p.table, p.pk, p.column, p.issue, p.excerpt
            ),
            serde_json::to_value(p).unwrap_or_default(),
        );
    }
    for d in &r.derived {
        o.line(
            "derived",
            &format!(
                "derived: {} ({} rows) is {}: left empty; {}",
                d.table,
                d.source_rows,
                d.reason,
                d.rebuild_hint()
            ),
        );
    }
    for (t, n) in &r.nonempty_targets {
        o.line(
            "nonempty-target",
            &format!("target table {t} already holds {n} row(s)"),
        );
    }
    let rows: u64 = r.tables.iter().map(|(_, n)| n).sum();
    o.line(
        "preflight",
        &format!(
            "preflight: {} tables, {rows} rows, {} problem(s), {} non-empty target table(s) ({:.1} s)",
            r.tables.len(),
            r.problems.len(),
            r.nonempty_targets.len(),
            took.as_secs_f64()
        ),
    );
}

fn print_report(o: &mut Out<'_>, r: &CopyReport) {
    for note in &r.notes {
        o.line("note", &format!("note: {note}"));
    }
    if !o.json {
        o.line(
            "",
            &format!(
                "{:<40} {:>10} {:>10} {:>9}  checksum",
                "table", "source", "target", "rejected"
            ),
        );
    }
    for c in &r.checks {
        o.data(
            "check",
            &format!(
                "{:<40} {:>10} {:>10} {:>9}  {}",
                c.table,
                c.source_rows,
                c.target_rows,
                c.rejected_rows,
                c.verdict()
            ),
            serde_json::to_value(c).unwrap_or_default(),
        );
    }
    o.data(
        "done",
        &r.summary_line(),
        serde_json::to_value(r).unwrap_or_default(),
    );
}
