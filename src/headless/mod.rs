//! The headless runner: the wizard's state machine without a terminal.
//!
//! It sends the same messages a user would (Activate, SubmitConnection, Decide), carries
//! out the same effects through the same [`Runner`], and prints one [`crate::output`]
//! event per line (text, or JSON lines with `--json`). Decisions a user would make on
//! screen come from flags: `--yes` empties non-empty targets, `--on-bad-data` picks the
//! policy for values PostgreSQL would reject. The exit code is 0 only when every step that
//! ran succeeded.
//!
//! Here: the run's start and the loop over the steps; [`inputs`] checks the flags first,
//! [`resume`] resumes a saved run, [`drive`] waits for jobs and answers questions with
//! [`answers`], [`report`] prints what a done step leaves, [`copy`] is `dj2pg copy`.

mod answers;
mod copy;
mod drive;
mod embeddings;
mod inputs;
mod report;
mod resume;

pub use copy::copy;

use crate::cli::MigrateArgs;
use crate::data::settings::SettingsStyle;
use crate::output::{Layout, Name, Printer};
use crate::pg::{ConnConfig, Secret};
use crate::runner::Runner;
use crate::state::{self, ChoiceId, Effect, Given, Migration, Msg, RunOptions, Status, Step};
use crate::surface::Surface;
use anyhow::{Context, Result};
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Duration;

/// `dj2pg migrate`. A run stopped by Ctrl-C, SIGTERM or SIGHUP exits with the shell's
/// status for that signal (130, 143, 129); it can be resumed.
pub fn run(args: MigrateArgs) -> Result<ExitCode> {
    let result = run_steps(&args);
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

fn run_steps(args: &MigrateArgs) -> Result<ExitCode> {
    let Some(mut run) = Run::start(args)? else {
        return Ok(ExitCode::FAILURE);
    };
    for step in Step::ALL {
        if !run.step(step)? {
            return Ok(ExitCode::FAILURE);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A headless run in progress: the run, the runner and its channel, the printer, and what
/// the flags give.
struct Run<'a> {
    args: &'a MigrateArgs,
    m: Migration,
    runner: Runner,
    rx: mpsc::Receiver<Msg>,
    printer: Printer<'static>,
    target: Option<ConnConfig>,
    admin: Option<ConnConfig>,
}

/// The options of a run, from the flags.
fn run_options(args: &MigrateArgs, direct: Option<ConnConfig>) -> RunOptions {
    RunOptions {
        project: args.project.project.clone(),
        python: args.project.python.clone(),
        jobs: args.copy.jobs,
        rejects_dir: args.copy.rejects.clone(),
        bulk_min_rows: Some(args.copy.bulk_min_rows),
        batch_rows: Some(args.copy.batch_rows),
        lz4: Some(!args.copy.server_compression),
        backup_dir: args.backup_dir.clone(),
        leave_behind: args.copy.leave_behind.clone(),
        reset_migrations: Some(args.reset_migrations.clone()),
        direct_url: direct,
    }
}

/// A connection from the flags: its settings, and the password it came with (else `env`'s).
fn with_password(
    given: Option<(ConnConfig, Option<Secret>)>,
    password: &mut Option<Secret>,
    env: Option<&str>,
) -> Option<ConnConfig> {
    let (config, given) = given?;
    *password = given.or_else(|| env.and_then(|v| std::env::var(v).ok().map(Secret::new)));
    Some(config)
}

impl<'a> Run<'a> {
    /// Check the flags, then start (or resume) the run. `None` when a flag is refused by the
    /// saved run (it said why).
    fn start(args: &'a MigrateArgs) -> Result<Option<Run<'a>>> {
        let inputs = inputs::check_inputs(args)?;
        let options_direct = inputs.direct.clone();
        let project = args.project.project.clone();
        let options = run_options(args, inputs.direct.clone());
        if args.fresh {
            crate::store::forget(&project)?;
        }
        let mut printer = Printer::new(
            Box::new(std::io::stdout()),
            args.copy.json,
            args.copy.quiet,
            Layout::Steps,
        );
        let (tx, rx) = mpsc::channel();
        let interrupted = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        crate::interrupt::install(&interrupted)?;
        forward_interrupt(interrupted, tx.clone());
        let mut runner = Runner::new(tx);
        runner.install_packages = args.install_driver;
        // The passwords first: the resume check of a saved run needs the target's.
        let target_given = inputs.target.is_some();
        let target = with_password(inputs.target, &mut runner.password, None);
        let admin = with_password(
            inputs.admin,
            &mut runner.admin_password,
            Some("DJ2PG_ADMIN_PASSWORD"),
        );
        let settings_style = args
            .settings_style
            .as_deref()
            .and_then(SettingsStyle::parse);
        let loaded = crate::store::load(&project)?;
        if let Some(notice) = &loaded.notice {
            printer.say(Step::Discover, Name::Notice, notice);
        }
        let mut m = match loaded.run {
            Some(mut saved) => {
                state::update(&mut saved, Msg::Given(Given::Surface(Surface::CommandLine)));
                let at = saved
                    .resume_offer
                    .as_ref()
                    .map(|o| o.step)
                    .unwrap_or(Step::Discover);
                printer.say(at, Name::Resume, "resuming the saved run of this project");
                let flags = state::resume::Flags {
                    options,
                    target: target.clone(),
                    settings_style,
                };
                if !resume::resume(&mut saved, &mut runner, &rx, &mut printer, &flags)? {
                    return Ok(None);
                }
                saved
            }
            None => {
                let mut m = Migration::new(options);
                state::update(&mut m, Msg::Given(Given::Surface(Surface::CommandLine)));
                if let Some(style) = settings_style {
                    state::update(&mut m, Msg::Given(Given::SettingsStyle(style)));
                }
                m
            }
        };
        inputs::check_inputs_against(&m, args, target_given)?;
        if let Some(direct) = options_direct {
            state::update(&mut m, Msg::Given(Given::Direct(direct)));
        }
        if let Some(admin) = &admin {
            // Known before Connect: behind a pool, its host and port are a candidate for the
            // direct connection (`pg::pool_route`). A run that has one keeps it.
            state::update(&mut m, Msg::Given(Given::Admin(admin.clone())));
        }
        Ok(Some(Run {
            args,
            m,
            runner,
            rx,
            printer,
            target,
            admin,
        }))
    }

    fn update(&mut self, msg: Msg) -> Result<()> {
        let fx = state::update(&mut self.m, msg);
        perform(&mut self.m, &mut self.runner, fx)
    }

    /// Run one step (or note that it is done or skipped). False when the run stops here.
    fn step(&mut self, step: Step) -> Result<bool> {
        if let Some(go_on) = self.settled(step)? {
            return Ok(go_on);
        }
        let Some(msg) = self.activation(step) else {
            return Ok(false);
        };
        let fx = state::update(&mut self.m, msg);
        self.printer.say(step, Name::Start, step.purpose());
        perform(&mut self.m, &mut self.runner, fx)?;
        drive::drive(
            &mut self.m,
            &mut self.runner,
            &self.rx,
            &mut self.printer,
            self.args,
        )?;
        Ok(self.finish(step))
    }

    /// Select `step`; `Some(go on)` when it needs no run: done or skipped before, skipped
    /// by a flag, or (before Backup) refused by `--reset-migrations`.
    fn settled(&mut self, step: Step) -> Result<Option<bool>> {
        if step == Step::Backup
            && let Some(d) = &self.m.discovery
            && let Err(why) = d.check_reset_labels(&self.args.reset_migrations)
        {
            // Known as soon as Discover has listed the apps: stop before the backup.
            let text = format!("--reset-migrations: {why}");
            self.printer.say(Step::ResetMigrations, Name::Failed, &text);
            return Ok(Some(false));
        }
        self.update(Msg::Select(step))?;
        if step == Step::Cutover
            && self.args.skip_cutover
            && !matches!(
                self.m.status(step),
                Status::Done { .. } | Status::Skipped { .. }
            )
        {
            self.update(Msg::Skip)?;
            self.printer.say(
                step,
                Name::Skipped,
                "--skip-cutover: rows the app writes after the copy's snapshot are not \
                 moved; run dj2pg sync --from FILE --to URL after stopping the app",
            );
            return Ok(Some(true));
        }
        match self.m.status(step).clone() {
            Status::Done { summary } if step != Step::Done => {
                self.printer.say(step, Name::AlreadyDone, &summary);
                Ok(Some(true))
            }
            Status::Skipped { reason } => {
                self.printer.say(step, Name::Skipped, &reason);
                Ok(Some(true))
            }
            _ => Ok(None),
        }
    }

    /// The message that starts `step`; `None` (after saying why) when it cannot start.
    fn activation(&mut self, step: Step) -> Option<Msg> {
        let status = self.m.status(step);
        Some(if step == Step::Connect {
            let Some(config) = self
                .target
                .clone()
                .or_else(|| self.m.connect.target.clone())
            else {
                self.printer.say(
                    step,
                    Name::Failed,
                    "Connect needs the target: pass --to postgresql://USER@HOST:PORT/DB?sslmode=require",
                );
                return None;
            };
            Msg::SubmitConnection(config)
        } else if step == Step::FixPermissions
            && let Some(config) = self.admin.clone()
        {
            Msg::SubmitAdmin(config)
        } else if step == Step::FixPermissions && matches!(status, Status::NeedsDecision { .. }) {
            // Run again after a DBA ran the saved SQL: check again first.
            Msg::Decide(ChoiceId::Recheck)
        } else if status.can_run_again() {
            Msg::Retry
        } else {
            Msg::Activate
        })
    }

    /// Print how `step` ended; false unless it is done or skipped.
    fn finish(&mut self, step: Step) -> bool {
        let (event, text) = match self.m.status(step).clone() {
            Status::Done { summary } => {
                report::report_done(&self.m, step, &mut self.printer);
                self.printer.say(step, Name::Done, &summary);
                return true;
            }
            Status::Skipped { reason } => {
                self.printer.say(step, Name::Skipped, &reason);
                return true;
            }
            Status::Failed { message } => (Name::Failed, message),
            Status::Stopped { message } => (Name::Stopped, message),
            // A question the flags did not answer: the answer said why and how to go on.
            Status::NeedsDecision { .. } => return false,
            other => (Name::Stopped, other.label().to_string()),
        };
        self.printer.say(step, event, &text);
        false
    }
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

/// Carry out effects: save here, everything else through the runner.
fn perform(m: &mut Migration, runner: &mut Runner, fx: Vec<Effect>) -> Result<()> {
    for effect in fx {
        match effect {
            Effect::Save => {
                crate::store::save(m).context("could not save the run's state")?;
            }
            other => runner.run(other),
        }
    }
    Ok(())
}
