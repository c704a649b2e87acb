//! Signals that stop a headless run cleanly: SIGINT (Ctrl-C), SIGTERM (a service manager,
//! `kill`) and SIGHUP (the terminal or SSH session closed). The first one asks the work to
//! stop at a safe point (the run stays resumable) and ends any connection attempt at once;
//! a second one of the same kind exits immediately. Either way the exit status is the one
//! shells give a process killed by that signal (128 + its number: 130, 143, 129), so a
//! script or CI job never mistakes an interrupted run for a finished one.

use anyhow::{Context, Result};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};

/// The signals that stop a run.
pub const SIGNALS: [i32; 3] = [
    signal_hook::consts::SIGINT,
    signal_hook::consts::SIGTERM,
    signal_hook::consts::SIGHUP,
];

/// Set by any of [`SIGNALS`] once [`install`] ran: connection attempts give up at once.
static REQUESTED: LazyLock<Arc<AtomicBool>> = LazyLock::new(|| Arc::new(AtomicBool::new(false)));
/// The number of the first signal received (0: none).
static SIGNAL: LazyLock<Arc<AtomicUsize>> = LazyLock::new(|| Arc::new(AtomicUsize::new(0)));

/// Route the stop signals to `flag` (the work's cancel flag) and to [`requested`].
pub fn install(flag: &Arc<AtomicBool>) -> Result<()> {
    for sig in SIGNALS {
        let code = exit_status(sig);
        // Registered first, so it sees the flag as the previous signal left it: a second
        // signal exits now, with the shell's status for it.
        signal_hook::flag::register_conditional_shutdown(sig, code.into(), flag.clone())
            .context("could not install the signal handlers")?;
        signal_hook::flag::register(sig, flag.clone())
            .context("could not install the signal handlers")?;
        signal_hook::flag::register(sig, Arc::clone(&REQUESTED))
            .context("could not install the signal handlers")?;
        signal_hook::flag::register_usize(sig, Arc::clone(&SIGNAL), sig as usize)
            .context("could not install the signal handlers")?;
    }
    Ok(())
}

/// Whether a stop signal arrived (only after [`install`]).
pub fn requested() -> bool {
    REQUESTED.load(Ordering::Relaxed)
}

/// The first stop signal received, if any.
pub fn signal() -> Option<i32> {
    match SIGNAL.load(Ordering::Relaxed) {
        0 => None,
        n => i32::try_from(n).ok(),
    }
}

/// The exit status shells report for a process ended by `sig`: 128 + its number.
pub fn exit_status(sig: i32) -> u8 {
    u8::try_from(128 + sig).unwrap_or(1)
}

/// The exit code of a run that a stop signal interrupted, if one did.
pub fn exit_code() -> Option<ExitCode> {
    signal().map(|s| ExitCode::from(exit_status(s)))
}

/// The signal's name, for messages.
pub fn name(sig: i32) -> &'static str {
    match sig {
        signal_hook::consts::SIGINT => "Ctrl-C (SIGINT)",
        signal_hook::consts::SIGTERM => "SIGTERM",
        signal_hook::consts::SIGHUP => "SIGHUP",
        _ => "a signal",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_the_shells() {
        assert_eq!(exit_status(signal_hook::consts::SIGINT), 130);
        assert_eq!(exit_status(signal_hook::consts::SIGTERM), 143);
        assert_eq!(exit_status(signal_hook::consts::SIGHUP), 129);
    }
}
