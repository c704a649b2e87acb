//! The driver: messages in, effects out, frames drawn. The only part of the shell that
//! does IO (terminal, state file, runner).

use super::terminal::TerminalGuard;
use super::ui_state::UiState;
use super::{Prefill, handle_key, handle_paste, view};
use crate::pg::ConnConfig;
use crate::runner::Runner;
use crate::state::{self, Effect, JobEvent, Migration, Msg, Role, Status, Step};
use crossterm::event::{self, Event};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

const FRAME: Duration = Duration::from_millis(16);
const TICK: Duration = Duration::from_millis(100);
/// How long to wait for a key when nothing runs (worker messages only come from jobs).
const IDLE: Duration = Duration::from_millis(500);

struct Driver {
    m: Migration,
    ui: UiState,
    runner: Runner,
    quit: bool,
    /// A second quit while a file-moving job finishes: leave now anyway.
    force: bool,
    /// The quit came from Ctrl-C (the exit status says so: 130).
    ctrl_c: bool,
}

impl Driver {
    /// Apply one message and carry out its effects.
    fn apply(&mut self, msg: Msg) {
        if matches!(msg, Msg::Quit) && self.quit {
            self.force = true;
            return;
        }
        if matches!(msg, Msg::SubmitConnection(_) | Msg::SubmitDirect { .. })
            && let Some(secret) = self.ui.connect.secret()
        {
            // The runner holds the secret; the run (which is saved) never does. An empty
            // field keeps whatever the command line gave the runner.
            self.runner.password = Some(secret);
        }
        if matches!(msg, Msg::SubmitAdmin(_))
            && let Some(secret) = self.ui.admin.take_secret()
        {
            // Likewise the admin's: the form forgets it once the runner holds it.
            self.runner.admin_password = Some(secret);
        }
        if let Some((role, secret)) = self.ui.password.take() {
            match role {
                Role::App => self.runner.password = Some(secret),
                Role::Admin => self.runner.admin_password = Some(secret),
            }
        }
        // A resumed run knows no password: ask for the one this message needs first.
        let (app_pw, admin_pw) = (&self.runner.password, &self.runner.admin_password);
        let have = |role: Role, config: &ConnConfig| match role {
            Role::App => config.resolve_password(app_pw.as_ref()).is_some(),
            Role::Admin => admin_pw.is_some(),
        };
        let declined = self.ui.password.take_declined();
        if let Some((role, config)) = super::password_prompt::needed(&self.m, &msg, have)
            && !declined
        {
            self.ui.password.ask(role, config, msg);
            return;
        }
        let failure = self.password_failure(&msg);
        for effect in state::update(&mut self.m, msg) {
            match effect {
                Effect::Save => {
                    if let Err(e) = crate::store::save(&self.m) {
                        self.ui.status = Some(format!("Could not save the run: {e:#}"));
                    }
                }
                Effect::Quit => self.quit = true,
                other => self.runner.run(other),
            }
        }
        if let Some(role) = failure {
            self.point_at_password(role);
        }
        super::after_update(&self.m, &mut self.ui);
    }

    /// A running copy's newest progress, read right before a frame is drawn; the state
    /// applies it like any message, so it stays the one owner of the run.
    fn read_progress(&mut self) {
        for msg in self.runner.take_progress() {
            self.apply(msg);
        }
    }

    /// Whether `msg` reports that the running job failed on a password: whose.
    fn password_failure(&self, msg: &Msg) -> Option<Role> {
        let Msg::Job(id, JobEvent::Failed(text)) = msg else {
            return None;
        };
        let (job, step) = self.m.job?;
        if job != *id || step == Step::Connect {
            // Connect has its own form, which the failure focuses.
            return None;
        }
        if text.starts_with(crate::pg::privileges::ADMIN_CONNECTION) {
            return Some(Role::Admin);
        }
        let password = text.contains("password") && text.contains("(check the password)");
        password.then(|| {
            self.m.table_owner().map_or(Role::App, |(_, r)| {
                if step == Step::FixPermissions {
                    Role::App
                } else {
                    r
                }
            })
        })
    }

    /// A step failed on a password: forget the one that failed and open what takes a new
    /// one — the admin login at Fix permissions (its `l`), else the password prompt,
    /// which retries the step once given.
    fn point_at_password(&mut self, role: Role) {
        let step = self.m.cursor;
        match role {
            Role::Admin => {
                self.runner.admin_password = None;
                if step == Step::FixPermissions {
                    self.ui.admin.open(&self.m);
                    if let Status::Failed { message } = self.m.status(step) {
                        self.ui.admin.error = Some(message.clone());
                    }
                }
            }
            Role::App => {
                self.runner.password = None;
                let config = match step {
                    Step::FixPermissions => self.m.connect.target.clone(),
                    _ => self.m.table_owner().map(|(c, _)| c),
                };
                if let Some(config) = config {
                    self.ui.password.ask(role, config, Msg::Retry);
                }
            }
        }
    }
}

pub fn run(
    m: Migration,
    runner: Runner,
    rx: Receiver<Msg>,
    prefill: Prefill,
) -> anyhow::Result<super::Ended> {
    let ui = UiState::new(&m, &prefill);
    let mut d = Driver {
        m,
        ui,
        runner,
        quit: false,
        force: false,
        ctrl_c: false,
    };
    // SIGTERM or a closed terminal (SIGHUP) ends the wizard the way `q` does: the job is
    // cancelled cleanly, the run saved, the terminal restored. (In raw mode Ctrl-C is a
    // key; a SIGINT sent by `kill` counts too.)
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let signal = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for sig in crate::interrupt::SIGNALS {
        signal_hook::flag::register(sig, stop.clone())?;
        signal_hook::flag::register_usize(sig, signal.clone(), sig as usize)?;
    }
    // No terminal to take over (no /dev/tty: "No such device or address"): say what to do.
    let _guard = TerminalGuard::enter()
        .map_err(|e| anyhow::anyhow!("{} ({e:#})", crate::wizard::NEEDS_A_TERMINAL))?;
    let mut terminal = Terminal::new(CrosstermBackend::new(std::io::stdout()))?;
    terminal.clear()?;
    let size = terminal.size()?;
    d.ui.too_small
        .set(view::is_too_small(size.width, size.height));
    let input = spawn_input_reader();
    let mut dirty = true;
    let mut last_draw: Option<Instant> = None;
    let mut last_tick = Instant::now();
    // Quitting waits for a job that moves or writes the user's files to end (it has no
    // clean stopping point); everything else stops at once, cleanly.
    while !d.quit || (d.m.job_must_finish() && !d.force) {
        if stop.load(std::sync::atomic::Ordering::Relaxed) && !d.quit {
            d.apply(Msg::Quit);
        }
        if d.quit {
            d.ui.status = Some(format!(
                "Quitting once {} has finished moving files (it cannot stop halfway); Ctrl-C \
                 again quits now",
                d.m.job.map_or("the step", |(_, s)| s.title())
            ));
            dirty = true;
        }
        // Until the channel is empty (or every sender is gone: then no job can report).
        while let Ok(msg) = rx.try_recv() {
            d.apply(msg);
            dirty = true;
        }
        if d.quit && (!d.m.job_must_finish() || d.force) {
            break;
        }
        let running = d.m.job.is_some();
        if running && last_tick.elapsed() >= TICK {
            d.ui.tick = d.ui.tick.wrapping_add(1);
            last_tick = Instant::now();
            dirty = true;
        }
        let since_draw = last_draw.map_or(FRAME, |t| t.elapsed());
        if dirty && since_draw >= FRAME {
            d.read_progress();
            terminal.draw(|f| view::draw(f, &d.m, &d.ui))?;
            last_draw = Some(Instant::now());
            dirty = false;
        }
        let timeout = if dirty {
            FRAME.saturating_sub(since_draw)
        } else if running {
            TICK.saturating_sub(last_tick.elapsed())
        } else {
            IDLE
        };
        match input.recv_timeout(timeout) {
            Ok(event) => {
                match event? {
                    Event::Key(key) => {
                        if super::keys::is_ctrl_c(&key) {
                            d.ctrl_c = true;
                        }
                        if let Some(msg) = handle_key(&d.m, &mut d.ui, key) {
                            d.apply(msg);
                        }
                    }
                    Event::Paste(text) => handle_paste(&d.m, &mut d.ui, &text),
                    Event::Resize(w, h) => d.ui.too_small.set(view::is_too_small(w, h)),
                    _ => {}
                }
                // Resize, focus and mouse events only need a redraw.
                dirty = true;
            }
            Err(RecvTimeoutError::Timeout) => {}
            // The terminal is gone: quit as on SIGHUP.
            Err(RecvTimeoutError::Disconnected) => {
                stop.store(true, std::sync::atomic::Ordering::Relaxed)
            }
        }
    }
    drop(terminal);
    let signal = match signal.load(std::sync::atomic::Ordering::Relaxed) {
        0 => None,
        n => i32::try_from(n).ok(),
    };
    Ok(super::Ended {
        run: d.m,
        signal,
        ctrl_c: d.ctrl_c,
    })
}

/// Terminal events, read on a thread of their own. crossterm's reader never returns once
/// the terminal has hung up (its read gives end-of-file, and it reads again, forever), so
/// reading on the loop's own thread left a closed wizard spinning at full CPU instead of
/// seeing the SIGHUP and quitting. The loop now waits on this channel with its timeout
/// and stays free to quit; the reader thread ends with the process.
fn spawn_input_reader() -> Receiver<std::io::Result<Event>> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        loop {
            let event = event::read();
            let failed = event.is_err();
            if tx.send(event).is_err() || failed {
                return;
            }
        }
    });
    rx
}
