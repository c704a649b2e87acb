//! Opening the terminal wizard: find or resume the run, then hand it to the TUI.

use crate::cli::WizardArgs;
use crate::pg::{ConnConfig, Secret};
use crate::runner::Runner;
use crate::state::{self, Given, Migration, Msg, RunOptions};
use crate::tui::Prefill;
use anyhow::Result;
use std::process::ExitCode;
use std::sync::mpsc;

/// `dj2pg wizard` (and plain `dj2pg`).
pub fn launch(args: WizardArgs) -> Result<ExitCode> {
    let (url, password) = match &args.target.to {
        Some(u) => {
            let (config, password) = crate::cli::parse_target(u)?;
            (Some(config.display_url()), password)
        }
        None => (None, None),
    };
    launch_with(
        args,
        Prefill {
            url,
            password,
            notice: None,
            disposable: false,
        },
        None,
    )
}

/// Open the wizard with the Connect form pre-filled (the demo passes its local server), and
/// an admin for Fix permissions when one is known (the demo's throwaway `doadmin`).
pub fn launch_with(
    args: WizardArgs,
    mut prefill: Prefill,
    admin: Option<(ConnConfig, Option<Secret>)>,
) -> Result<ExitCode> {
    ensure_terminal()?;
    let project = args.project.project.clone();
    if args.fresh {
        crate::store::forget(&project)?;
    }
    let loaded = crate::store::load(&project)?;
    if loaded.notice.is_some() {
        prefill.notice = loaded.notice;
    }
    let disposable = prefill.disposable;
    let mut m = match loaded.run {
        Some(saved) => saved,
        None => Migration::new(RunOptions {
            project,
            python: args.project.python.clone(),
            jobs: crate::cli::default_jobs(),
            rejects_dir: None,
            bulk_min_rows: None,
            batch_rows: None,
            lz4: None,
            backup_dir: args.backup_dir.clone(),
            leave_behind: Vec::new(),
            reset_migrations: None,
            direct_url: None,
        }),
    };
    if let Some(url) = &args.direct_url {
        let direct = crate::cli::parse_direct(url)?;
        state::update(&mut m, Msg::Given(Given::Direct(direct)));
    }
    let (tx, rx) = mpsc::channel();
    let mut runner = Runner::new(tx);
    runner.password = prefill.password.clone();
    if let Some((config, password)) = admin {
        state::update(&mut m, Msg::Given(Given::Admin(config)));
        runner.admin_password = password;
    }
    if runner.admin_password.is_none() {
        // A resumed run whose tables belong to the admin (recipe C) needs its password
        // again; the environment can give it, as for `dj2pg migrate`.
        runner.admin_password = std::env::var("DJ2PG_ADMIN_PASSWORD").ok().map(Secret::new);
    }
    let ended = crate::tui::run(m, runner, rx, prefill)?;
    let end = &ended.run;
    if end.finished() {
        println!("dj2pg: the run is complete.");
    } else if disposable {
        println!(
            "dj2pg: stopped at step \"{}\". The demo's throwaway PostgreSQL is removed now, \
             with what was copied into it: this run cannot be resumed; `dj2pg demo` starts \
             a new one.",
            end.cursor.title()
        );
    } else {
        println!(
            "dj2pg: progress saved at step \"{}\". Run the same command again to resume.",
            end.cursor.title()
        );
    }
    if let Some(cmd) = rollback_command(end) {
        // Once, unboxed and on a line of its own: it pastes whole from any terminal width.
        println!("dj2pg: to put the old migrations and settings.py back, run:");
        println!("{cmd}");
    }
    Ok(ExitCode::from(ended.exit_status()))
}

/// The restore command, when the run changed the project's files (moved migrations or
/// rewrote settings.py) and has a backup to restore them from.
pub fn rollback_command(m: &crate::state::Migration) -> Option<String> {
    let moved = m.reset.report.as_ref().is_some_and(|r| !r.moved.is_empty());
    let rewrote = m.settings.applied.is_some();
    (m.backup.report.is_some() && (moved || rewrote)).then(|| state::restore_hint(m))
}

/// What to say when there is no terminal to draw the wizard on (a pipe, cron, CI).
pub const NEEDS_A_TERMINAL: &str = "dj2pg needs a terminal for the wizard (its output is not \
     one here); for scripts and CI use `dj2pg migrate --yes --to postgresql://…` (see `dj2pg \
     migrate --help`)";

/// The wizard draws on stdout and reads keys from the terminal: stop before any work when
/// stdout is not a terminal.
pub fn ensure_terminal() -> Result<()> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() {
        anyhow::bail!("{NEEDS_A_TERMINAL}");
    }
    Ok(())
}

/// The password given to the wizard from the environment, if any (never from a file we write).
pub fn env_password() -> Option<Secret> {
    std::env::var("PGPASSWORD").ok().map(Secret::new)
}
