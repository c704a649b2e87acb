//! The headless runner: the wizard's state machine without a terminal.
//!
//! It sends the same messages a user would (Activate, SubmitConnection, Decide), carries
//! out the same effects through the same [`Runner`], and prints one line per event (or
//! JSON lines). Decisions a user would make on screen come from flags: `--yes` empties
//! non-empty targets, `--on-bad-data` picks the policy for values PostgreSQL would reject.
//! The exit code is 0 only when every step that ran succeeded.

use crate::cli::{CopyArgs, MigrateArgs};
use crate::data::settings::SettingsStyle;
use crate::pg::Secret;
use crate::rules;
use crate::runner::Runner;
use crate::state::{
    self, ChoiceId, Effect, JobEvent, Migration, Msg, Question, RunOptions, Status, Step,
};
use anyhow::{Context, Result};
use std::io::Write;
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How lines are printed.
struct Printer {
    json: bool,
    quiet: bool,
    last_progress: Option<Instant>,
}

impl Printer {
    fn event(&mut self, step: Step, event: &str, text: &str) {
        let mut out = std::io::stdout().lock();
        if self.json {
            let line = serde_json::json!({"step": step.slug(), "event": event, "message": text});
            let _ = writeln!(out, "{line}");
        } else {
            let _ = writeln!(out, "[{}] {event}: {text}", step.slug());
        }
    }

    fn value(&mut self, step: Step, event: &str, value: serde_json::Value) {
        if self.json {
            let line = serde_json::json!({"step": step.slug(), "event": event, "data": value});
            let _ = writeln!(std::io::stdout().lock(), "{line}");
        }
    }

    /// Progress at most once a second, so logs stay readable; none with `--quiet`.
    fn progress(&mut self, step: Step, text: &str) {
        if self.quiet {
            return;
        }
        let now = Instant::now();
        if self
            .last_progress
            .is_some_and(|t| now.duration_since(t) < Duration::from_secs(1))
        {
            return;
        }
        self.last_progress = Some(now);
        self.event(step, "progress", text);
    }
}

/// The connection settings the flags give, checked before anything runs.
struct Inputs {
    target: Option<(crate::pg::ConnConfig, Option<Secret>)>,
    admin: Option<(crate::pg::ConnConfig, Option<Secret>)>,
    embeddings: crate::django::pgvector_plan::Choice,
    direct: Option<crate::pg::ConnConfig>,
}

/// Every flag and URL checked before the first step, so a typo costs no backup: the
/// messages name the flag once and what to give instead.
fn check_inputs(args: &MigrateArgs) -> Result<Inputs> {
    if args.copy.jobs == 0 {
        anyhow::bail!("--jobs: give at least 1 (the number of parallel connections)");
    }
    for label in crate::data::django::reset_labels(&args.reset_migrations) {
        if !label.chars().all(|c| c.is_alphanumeric() || c == '_') {
            anyhow::bail!(
                "--reset-migrations: {label:?} is not an app label: give all, none, or app \
                 labels separated by commas (classifier,shop)"
            );
        }
    }
    let target = args
        .target
        .to
        .as_deref()
        .map(crate::cli::parse_target)
        .transpose()?;
    let admin = args
        .admin_url
        .as_deref()
        .map(|url| {
            crate::pg::ConnConfig::from_url(url).map_err(|e| anyhow::anyhow!("--admin-url: {e:#}"))
        })
        .transpose()?;
    let embeddings = crate::django::pgvector_plan::Choice::parse(
        &args.embeddings,
        args.embeddings_index.as_deref(),
    )?;
    let direct = args
        .direct_url
        .as_deref()
        .map(crate::cli::parse_direct)
        .transpose()?;
    Ok(Inputs {
        target,
        admin,
        embeddings,
        direct,
    })
}

/// What a saved run cannot supply either: the target, and a usable backup folder.
fn check_inputs_against(m: &Migration, args: &MigrateArgs, target_given: bool) -> Result<()> {
    let connected = matches!(m.status(Step::Connect), Status::Done { .. });
    if !target_given && m.target.is_none() && !connected {
        anyhow::bail!(
            "--to: dj2pg migrate needs the target: pass --to \
             postgresql://USER@HOST:PORT/DB?sslmode=require (or set DJ2PG_TARGET_URL), with \
             the password in $PGPASSWORD or ~/.pgpass"
        );
    }
    if let (Some(dir), None) = (&args.backup_dir, &m.backup) {
        let occupied = dir.is_file()
            || std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some());
        if occupied {
            anyhow::bail!(
                "--backup-dir: {} is not an empty folder: give a new or empty one, so no \
                 earlier backup is mixed in",
                dir.display()
            );
        }
    }
    Ok(())
}

/// `dj2pg migrate`. A run stopped by Ctrl-C, SIGTERM or SIGHUP exits with the shell's
/// status for that signal (130, 143, 129); it can be resumed.
pub fn run(args: MigrateArgs) -> Result<ExitCode> {
    let result = run_steps(args);
    match crate::interrupt::signal() {
        Some(sig) => {
            eprintln!(
                "dj2pg: stopped by {}; the run is saved: run the same command again to resume",
                crate::interrupt::name(sig)
            );
            Ok(ExitCode::from(crate::interrupt::exit_status(sig)))
        }
        None => result,
    }
}

fn run_steps(args: MigrateArgs) -> Result<ExitCode> {
    let inputs = check_inputs(&args)?;
    let options_direct = inputs.direct.clone();
    let project = args.project.project.clone();
    let options = RunOptions {
        project: project.clone(),
        python: args.project.python.clone(),
        jobs: args.copy.jobs,
        rejects_dir: args.copy.rejects.clone(),
        bulk_min_rows: Some(args.copy.bulk_min_rows),
        batch_rows: Some(args.copy.batch_rows),
        lz4: Some(!args.copy.server_compression),
        backup_dir: args.backup_dir.clone(),
        leave_behind: args.copy.leave_behind.clone(),
        reset_migrations: Some(args.reset_migrations.clone()),
        direct_url: inputs.direct.clone(),
    };
    if args.fresh {
        state::persist::forget(&project)?;
    }
    let mut printer = Printer {
        json: args.copy.json,
        quiet: args.copy.quiet,
        last_progress: None,
    };
    let (tx, rx) = mpsc::channel();
    let interrupted = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    crate::interrupt::install(&interrupted)?;
    forward_interrupt(interrupted, tx.clone());
    let mut runner = Runner::new(tx);
    // The passwords first: the resume check of a saved run needs the target's.
    let target_given = inputs.target.is_some();
    let target = match inputs.target {
        Some((config, password)) => {
            runner.password = password;
            Some(config)
        }
        None => None,
    };
    let admin = match inputs.admin {
        Some((config, password)) => {
            runner.admin_password =
                password.or_else(|| std::env::var("DJ2PG_ADMIN_PASSWORD").ok().map(Secret::new));
            Some(config)
        }
        None => None,
    };
    let settings_style = args
        .settings_style
        .as_deref()
        .and_then(SettingsStyle::parse);
    let loaded = state::persist::load(&project)?;
    if let Some(notice) = &loaded.notice {
        printer.event(Step::Discover, "notice", notice);
    }
    let mut m = match loaded.run {
        Some(mut saved) => {
            saved.surface = crate::surface::Surface::CommandLine;
            let at = saved
                .resume_offer
                .as_ref()
                .map(|o| o.step)
                .unwrap_or(Step::Discover);
            printer.event(at, "resume", "resuming the saved run of this project");
            let flags = state::resume::Flags {
                options,
                target: target.clone(),
                settings_style,
            };
            if !resume(&mut saved, &mut runner, &rx, &mut printer, &flags)? {
                return Ok(ExitCode::FAILURE);
            }
            saved
        }
        None => {
            let mut m = Migration::new(options);
            m.surface = crate::surface::Surface::CommandLine;
            if let Some(style) = settings_style {
                m.settings_style = style;
            }
            m
        }
    };
    check_inputs_against(&m, &args, target_given)?;
    if let Some(direct) = &options_direct {
        m.options.direct_url = Some(direct.clone());
    }
    if m.admin.is_none() {
        // Known before Connect: behind a pool, its host and port are a candidate for the
        // direct connection (`pg::pool_route`).
        m.admin = admin.clone();
    }

    for step in Step::ALL {
        if step == Step::Backup
            && let Some(d) = &m.discovery
            && let Err(why) = d.check_reset_labels(&args.reset_migrations)
        {
            // Known as soon as Discover has listed the apps: stop before the backup.
            printer.event(
                Step::ResetMigrations,
                "failed",
                &format!("--reset-migrations: {why}"),
            );
            return Ok(ExitCode::FAILURE);
        }
        let fx = state::update(&mut m, Msg::Select(step));
        perform(&mut m, &mut runner, fx)?;
        if step == Step::Cutover
            && args.skip_cutover
            && !matches!(m.status(step), Status::Done { .. } | Status::Skipped { .. })
        {
            let fx = state::update(&mut m, Msg::Skip);
            perform(&mut m, &mut runner, fx)?;
            printer.event(
                step,
                "skipped",
                "--skip-cutover: rows the app writes after the copy's snapshot are not \
                 moved; run dj2pg sync --from FILE --to URL after stopping the app",
            );
            continue;
        }
        match m.status(step).clone() {
            Status::Done { summary } if step != Step::Done => {
                printer.event(step, "already-done", &summary);
                continue;
            }
            Status::Skipped { reason } => {
                printer.event(step, "skipped", &reason);
                continue;
            }
            _ => {}
        }
        if step == Step::CreateSchema
            && !embeddings_change(
                &mut m,
                &runner,
                &inputs.embeddings,
                &admin,
                &args,
                &mut printer,
            )
        {
            return Ok(ExitCode::FAILURE);
        }
        let fx = if step == Step::Connect {
            let Some(config) = target.clone().or_else(|| m.target.clone()) else {
                printer.event(step, "failed", "Connect needs the target: pass --to postgresql://USER@HOST:PORT/DB?sslmode=require");
                return Ok(ExitCode::FAILURE);
            };
            state::update(&mut m, Msg::SubmitConnection(config))
        } else if step == Step::FixPermissions
            && let Some(config) = admin.clone()
        {
            state::update(&mut m, Msg::SubmitAdmin(config))
        } else if step == Step::FixPermissions
            && matches!(m.status(step), Status::NeedsDecision { .. })
        {
            // Run again after a DBA ran the saved SQL: check again first.
            state::update(&mut m, Msg::Decide(ChoiceId::Recheck))
        } else if m.status(step).can_run_again() {
            state::update(&mut m, Msg::Retry)
        } else {
            state::update(&mut m, Msg::Activate)
        };
        printer.event(step, "start", step.purpose());
        perform(&mut m, &mut runner, fx)?;
        drive(&mut m, &mut runner, &rx, &mut printer, &args)?;
        match m.status(step).clone() {
            Status::Done { summary } => {
                report_done(&m, step, &mut printer);
                printer.event(step, "done", &summary);
            }
            Status::Skipped { reason } => printer.event(step, "skipped", &reason),
            Status::Failed { message } => {
                printer.event(step, "failed", &message);
                return Ok(ExitCode::FAILURE);
            }
            Status::Stopped { message } => {
                printer.event(step, "stopped", &message);
                return Ok(ExitCode::FAILURE);
            }
            other => {
                printer.event(step, "stopped", other.label());
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Embeddings, before Create schema runs `migrate` (see `crate::embeddings`): printed as
/// events of Create schema. False when the chosen change cannot be made.
fn embeddings_change(
    m: &mut Migration,
    runner: &Runner,
    choice: &crate::django::pgvector_plan::Choice,
    admin: &Option<crate::pg::ConnConfig>,
    args: &MigrateArgs,
    printer: &mut Printer,
) -> bool {
    let Some(discovery) = &m.discovery else {
        return true;
    };
    let inputs = crate::embeddings::Inputs {
        discovery,
        backup_dir: m.backup.as_ref().map(|b| b.backup_dir.as_path()),
        target: m.target.as_ref().map(|t| (t, runner.password.as_ref())),
        admin: admin.as_ref().map(|a| (a, runner.admin_password.as_ref())),
        install: args.install_driver,
    };
    let step = Step::CreateSchema;
    match crate::embeddings::run(&inputs, choice, &mut |event, text| {
        printer.event(step, event, text)
    }) {
        Ok(change) => {
            // Decided by the flags: the state machine does not ask again.
            m.embeddings = Some(if change.is_empty() {
                crate::data::embeddings::EmbeddingsChoice::Keep
            } else if change
                .changes
                .iter()
                .all(|c| c.kind == crate::copy::vector::VecKind::Half)
            {
                crate::data::embeddings::EmbeddingsChoice::HalfVec
            } else {
                crate::data::embeddings::EmbeddingsChoice::Vector
            });
            true
        }
        Err(e) => {
            printer.event(step, "failed", &format!("embeddings: {e:#}"));
            false
        }
    }
}

/// Resume a saved run: check that what its done steps rest on still stands (reopening what
/// does not, each with its reason), then apply the flags that differ from the saved run.
/// False (after saying which flag and why) when a flag is refused: nothing was changed.
fn resume(
    m: &mut Migration,
    runner: &mut Runner,
    rx: &mpsc::Receiver<Msg>,
    printer: &mut Printer,
    flags: &state::resume::Flags,
) -> Result<bool> {
    let fx = state::update(m, Msg::Resume(true));
    perform(m, runner, fx)?;
    while m.job.is_some() {
        let msg = rx
            .recv()
            .context("the resume check stopped without reporting")?;
        let fx = state::update(m, msg);
        perform(m, runner, fx)?;
    }
    for f in &m.resume_findings {
        let event = if f.holds { "checked" } else { "reopened" };
        printer.event(f.step, event, &f.text);
    }
    let outcomes = state::resume::apply_flags(m, flags);
    let mut refused = false;
    for o in &outcomes {
        match o {
            state::resume::FlagOutcome::Applied {
                flag,
                text,
                reopened,
            } => {
                let mut line = format!("{flag}: applied: {text}");
                if !reopened.is_empty() {
                    let names: Vec<&str> = reopened.iter().map(|s| s.title()).collect();
                    line.push_str(&format!("; reopened {}", names.join(", ")));
                }
                printer.event(m.cursor, "flag", &line);
            }
            state::resume::FlagOutcome::Refused { flag, text } => {
                refused = true;
                printer.event(m.cursor, "refused", &format!("{flag}: {text}"));
            }
        }
    }
    if !outcomes.is_empty() {
        let fx = vec![Effect::Save];
        perform(m, runner, fx)?;
    }
    Ok(!refused)
}

/// Turn a Ctrl-C into `Msg::Cancel` for the running job (checked ten times a second).
fn forward_interrupt(flag: std::sync::Arc<std::sync::atomic::AtomicBool>, tx: mpsc::Sender<Msg>) {
    std::thread::spawn(move || {
        while !flag.load(std::sync::atomic::Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = tx.send(Msg::Cancel);
    });
}

/// Wait for the running job (and any job it chains into) to end, answering questions the
/// way the flags say. Returns when no job runs and no question can be answered.
fn drive(
    m: &mut Migration,
    runner: &mut Runner,
    rx: &mpsc::Receiver<Msg>,
    printer: &mut Printer,
    args: &MigrateArgs,
) -> Result<()> {
    loop {
        if m.job.is_none() {
            let step = m.cursor;
            let Status::NeedsDecision { kind, question, .. } = m.status(step).clone() else {
                return Ok(());
            };
            if kind == Question::ResetConfirm && !select_apps(m, runner, printer, args)? {
                return Ok(());
            }
            if kind == Question::SettingsWrite {
                print_settings_plan(m, printer);
                if args.no_settings_rewrite {
                    printer.event(
                        step,
                        "hint",
                        "--no-settings-rewrite: paste the snippet above where DATABASES is set",
                    );
                    let fx = state::update(m, Msg::Skip);
                    perform(m, runner, fx)?;
                    return Ok(());
                }
            }
            let Some(wanted) = headless_choice(m, kind, printer, args) else {
                return Ok(());
            };
            printer.event(step, "question", &question);
            if wanted == ChoiceId::Abort
                && rules::is_copy_question(kind)
                && let Some(report) = &m.preflight
            {
                let why = rules::stop_message(report, kind, rules::Surface::CommandLine);
                printer.event(step, "answer", &format!("abort: {why}"));
            } else {
                printer.event(step, "answer", wanted.slug());
            }
            let before = m.status(step).clone();
            let fx = state::update(m, Msg::Decide(wanted));
            perform(m, runner, fx)?;
            if m.job.is_none() && *m.status(step) == before {
                // The answer changed nothing: asking again would loop forever.
                printer.event(
                    step,
                    "stopped",
                    &format!("{} had no effect here", wanted.slug()),
                );
                return Ok(());
            }
            continue;
        }
        let msg = rx.recv().context("a worker stopped without reporting")?;
        if let Msg::Job(_, event) = &msg {
            let step = m.job.map(|(_, s)| s).unwrap_or(m.cursor);
            match event {
                JobEvent::Log(line) => printer.event(step, "log", line),
                JobEvent::CopyProgress(p) => printer.progress(step, &p.line()),
                _ => {}
            }
        }
        let fx = state::update(m, msg);
        perform(m, runner, fx)?;
    }
}

/// The planned settings change: the diff (or the snippet), the notes, the variables.
fn print_settings_plan(m: &Migration, printer: &mut Printer) {
    let step = Step::UpdateSettings;
    let Some(plan) = &m.settings_plan else { return };
    // The diff, the notes and the variables, never the whole new file (it holds the
    // project's own secrets: SECRET_KEY and the like).
    if printer.json {
        let diff = match &plan.change {
            crate::data::settings::SettingsChange::Rewrite { file, diff, .. } => {
                serde_json::json!({"file": file, "diff": diff.unified})
            }
            crate::data::settings::SettingsChange::Manual {
                reason, snippet, ..
            } => {
                serde_json::json!({"manual": reason, "snippet": snippet})
            }
        };
        let value = serde_json::json!({
            "change": diff, "notes": plan.notes, "env": plan.shell_lines,
        });
        printer.value(step, "plan", value);
        return;
    }
    match &plan.change {
        crate::data::settings::SettingsChange::Rewrite { diff, .. } => {
            for line in diff.unified.lines() {
                printer.event(step, "diff", line);
            }
        }
        crate::data::settings::SettingsChange::Manual {
            reason, snippet, ..
        } => {
            printer.event(step, "manual", reason);
            for line in snippet.lines() {
                printer.event(step, "snippet", line);
            }
        }
    }
    for note in &plan.notes {
        printer.event(step, "note", note);
    }
    for line in &plan.shell_lines {
        printer.event(step, "env", line);
    }
}

/// `--reset-migrations`: select its apps, printing the preview of what will move. False
/// (after saying why) when the flag names an app that cannot be reset.
fn select_apps(
    m: &mut Migration,
    runner: &mut Runner,
    printer: &mut Printer,
    args: &MigrateArgs,
) -> Result<bool> {
    let Some(scan) = m.migration_scan.clone() else {
        return Ok(true);
    };
    let wanted = match scan.select(&args.reset_migrations) {
        Ok(w) => w,
        Err(why) => {
            printer.event(
                Step::ResetMigrations,
                "failed",
                &format!("--reset-migrations: {why}"),
            );
            return Ok(false);
        }
    };
    for label in &wanted {
        if !m.reset_selection.contains(label) {
            let fx = state::update(m, Msg::ToggleApp(label.clone()));
            perform(m, runner, fx)?;
        }
    }
    for line in crate::backup::reset_preview_lines(&scan, &m.reset_selection, false) {
        printer.event(Step::ResetMigrations, "preview", &line);
    }
    Ok(true)
}

/// The answer the flags give to the question `kind`, printing what the question is about;
/// `None` when the run must stop here (it then says how to go on).
fn headless_choice(
    m: &Migration,
    kind: Question,
    printer: &mut Printer,
    args: &MigrateArgs,
) -> Option<ChoiceId> {
    let step = m.cursor;
    match kind {
        Question::PermissionFix => {
            if let Some(d) = &m.diagnosis {
                for c in d.missing() {
                    printer.event(step, "missing", &format!("{}: {}", c.name, c.detail));
                }
            }
            let wanted = match args.fix_permissions.as_deref() {
                None | Some("recommended") => None,
                Some(other) => crate::data::privileges::RecipeId::parse(other),
            };
            if m.admin.is_some()
                && let Some(r) = rules::flag_recipe(&m.recipes, wanted)
            {
                return Some(ChoiceId::Recipe(r.id));
            }
            if m.admin.is_some() {
                for r in &m.recipes {
                    if let Err(why) = &r.available {
                        printer.event(
                            step,
                            "unavailable",
                            &format!("recipe {}: {why}", r.id.letter()),
                        );
                    }
                }
            }
            match &m.dba_script {
                None => Some(ChoiceId::SaveSql),
                Some(path) => {
                    if let Ok(sql) = std::fs::read_to_string(path) {
                        for line in sql.lines() {
                            printer.event(step, "sql", line);
                        }
                    }
                    printer.event(
                        step,
                        "stopped",
                        &format!(
                            "the app role lacks privileges: run the SQL above (saved in {}) as \
                             an admin, or pass --admin-url postgresql://doadmin@HOST:PORT/DB \
                             to let dj2pg run it; then run the same command again",
                            path.display()
                        ),
                    );
                    None
                }
            }
        }
        Question::GitNotClean => Some(if args.allow_dirty {
            ChoiceId::Continue
        } else {
            printer.event(
                step,
                "hint",
                "commit first, or pass --allow-dirty to go on with this backup",
            );
            ChoiceId::Abort
        }),
        Question::SettingsWrite => Some(match &m.settings_plan {
            Some(p)
                if matches!(
                    p.change,
                    crate::data::settings::SettingsChange::Manual { .. }
                ) =>
            {
                printer.event(
                    step,
                    "stopped",
                    "these settings cannot be rewritten safely: paste the snippet above, then run again",
                );
                return None;
            }
            _ => ChoiceId::WriteSettings,
        }),
        Question::SettingsInvalid => Some(ChoiceId::RevertSettings),
        Question::ResetConfirm => Some(if m.reset_selection.is_empty() {
            ChoiceId::KeepMigrations
        } else {
            ChoiceId::ResetSelected
        }),
        // The `--embeddings` flags answered it before Create schema started.
        Question::Embeddings => Some(ChoiceId::KeepEmbeddings),
        Question::SyncConflicts => {
            for c in &m.cutover.conflicts {
                printer.event(
                    step,
                    "conflict",
                    &format!("{} key {}: {}", c.table, c.key, c.what),
                );
            }
            match args.on_conflict {
                Some(crate::cli::ConflictChoice::KeepPostgres) => Some(ChoiceId::KeepPostgres),
                Some(crate::cli::ConflictChoice::TakeSqlite) => Some(ChoiceId::TakeSqlite),
                None => {
                    printer.event(
                        step,
                        "stopped",
                        "rows changed on both sides (above); nothing was written: run the \
                         same command again with --on-conflict keep-postgres or \
                         --on-conflict take-sqlite",
                    );
                    None
                }
            }
        }
        Question::DefaultGrants => Some(match args.default_grants.as_deref() {
            Some("revoke") => ChoiceId::RevokeGrants,
            Some("keep") => ChoiceId::KeepGrants,
            _ => {
                for line in rules::dedicated_role_sql() {
                    printer.event(step, "sql", &line);
                }
                printer.event(
                    step,
                    "hint",
                    "run the SQL above as the admin, connected to the app's database, and use \
                     that role in --to (recommended), or pass --default-grants revoke (or keep)",
                );
                ChoiceId::Abort
            }
        }),
        Question::InstallDriver => Some(if args.install_driver {
            ChoiceId::InstallDriver
        } else {
            printer.event(
                step,
                "hint",
                "pass --install-driver to let dj2pg install it into the project's Python",
            );
            ChoiceId::Abort
        }),
        copy => {
            if let Some(report) = &m.preflight {
                for p in &report.problems {
                    printer.event(
                        step,
                        "problem",
                        &format!(
                            "{} pk={} {}: {} ({})",
                            p.table, p.pk, p.column, p.issue, p.excerpt
                        ),
                    );
                }
                for (table, rows) in &report.nonempty_targets {
                    printer.event(
                        step,
                        "nonempty-target",
                        &format!("{table} holds {rows} row(s)"),
                    );
                }
            }
            let flags = rules::answers_from_flags(args.copy.on_bad_data.into(), args.copy.yes);
            Some(rules::flag_choice(&flags, copy))
        }
    }
}

/// Details worth a line after a step is done.
fn report_done(m: &Migration, step: Step, printer: &mut Printer) {
    match step {
        Step::Discover => {
            if let Some(d) = &m.discovery {
                printer.value(
                    step,
                    "discovery",
                    serde_json::to_value(d).unwrap_or_default(),
                );
                if !printer.json {
                    for line in crate::django::describe_lines(d) {
                        printer.event(step, "info", &line);
                    }
                }
            }
        }
        Step::Done => {
            for f in &m.report_files {
                printer.event(step, "report", &f.display().to_string());
            }
            printer.event(step, "rollback", &state::restore_hint(m));
        }
        Step::Backup => {
            if let Some(r) = &m.backup {
                printer.value(step, "report", serde_json::to_value(r).unwrap_or_default());
                if !printer.json {
                    for line in crate::backup::backup_lines(r) {
                        printer.event(step, "info", &line);
                    }
                }
            }
        }
        Step::Cutover => {
            if let Some(r) = m.cutover.runs.last() {
                printer.value(step, "report", serde_json::to_value(r).unwrap_or_default());
                for t in r.applied.tables.iter().filter(|t| t.moved() > 0) {
                    printer.event(
                        step,
                        "synced",
                        &format!(
                            "{}: {} inserted, {} updated, {} deleted",
                            t.table,
                            t.inserted + t.reloaded.unwrap_or(0),
                            t.updated,
                            t.deleted
                        ),
                    );
                }
            }
        }
        Step::CopyRows => {
            if let Some(r) = &m.copy_report {
                printer.value(step, "report", serde_json::to_value(r).unwrap_or_default());
                for c in &r.checks {
                    printer.event(
                        step,
                        "verified",
                        &format!(
                            "{}: {} source rows, {} copied, {} rejected, checksum {}",
                            c.table,
                            c.source_rows,
                            c.target_rows,
                            c.rejected_rows,
                            c.verdict()
                        ),
                    );
                }
            }
        }
        _ => {}
    }
}

/// Carry out effects: save here, everything else through the runner.
fn perform(m: &mut Migration, runner: &mut Runner, fx: Vec<Effect>) -> Result<()> {
    for effect in fx {
        match effect {
            Effect::Save => {
                state::persist::save(m).context("could not save the run's state")?;
            }
            other => runner.run(other),
        }
    }
    Ok(())
}

/// `dj2pg copy`: the copy engine alone.
pub fn copy(args: CopyArgs) -> Result<ExitCode> {
    let Some(url) = args.target.to.as_deref() else {
        anyhow::bail!(
            "dj2pg copy needs the target: --to postgresql://USER@HOST:PORT/DB?sslmode=require"
        );
    };
    let (to, password) = crate::cli::parse_target(url)?;
    let (use_tz, time_zone) = match args.time_zone {
        Some(tz) => (false, tz),
        None => (true, "UTC".to_string()),
    };
    let stop = crate::copy::Stop::default();
    crate::interrupt::install(&stop.cancel)?;
    let result = crate::copy::standalone::run_with_stop(
        crate::copy::standalone::StandaloneArgs {
            from: args.from,
            to,
            password,
            jobs: args.copy.jobs,
            rejects: args.copy.rejects,
            on_bad_data: args.copy.on_bad_data.into(),
            yes: args.copy.yes,
            json: args.copy.json,
            quiet: args.copy.quiet,
            use_tz,
            time_zone,
            bulk_min_rows: args.copy.bulk_min_rows,
            batch_rows: args.copy.batch_rows,
            lz4: !args.copy.server_compression,
            siblings_together: !args.copy.siblings_apart,
            leave_behind: args.copy.leave_behind,
        },
        &mut std::io::stdout().lock(),
        stop,
    );
    if let Some(sig) = crate::interrupt::signal() {
        // Stopped on purpose: what was committed stays; the same command picks up the rest.
        eprintln!(
            "dj2pg copy: stopped by {}; run the same command again to copy the rest",
            crate::interrupt::name(sig)
        );
        return Ok(ExitCode::from(crate::interrupt::exit_status(sig)));
    }
    let report = result?;
    Ok(if report.all_verified() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
