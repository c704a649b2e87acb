//! A job's panic as its step's failure, with the place it happened; nothing printed over
//! the wizard's screen.

use std::sync::{Mutex, Once};

/// Where the last panic of a worker thread happened (the payload does not say).
static LAST_PANIC_AT: Mutex<Option<String>> = Mutex::new(None);
static HOOK: Once = Once::new();

/// The failed step's message for a panic: what it said and where, and what to do.
pub(super) fn internal_error(name: &str, payload: &(dyn std::any::Any + Send)) -> String {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into());
    let at = LAST_PANIC_AT
        .lock()
        .map(|mut l| l.take())
        .unwrap_or_default()
        .map(|l| format!(" at {l}"))
        .unwrap_or_default();
    format!(
        "internal error in the {name} job: {what}{at} — please report it (nothing was lost; \
         the step can run again)"
    )
}

/// Panics of worker threads are reported as failed steps, so they print nothing (printing
/// would scribble over the wizard's screen); the main thread's go to the previous hook.
/// `DJ2PG_DEBUG_PANICS` set prints workers' panics too, for debugging (not
/// `RUST_BACKTRACE`, which CI and many shells set for other reasons).
pub fn install_panic_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        let verbose = std::env::var_os("DJ2PG_DEBUG_PANICS").is_some();
        std::panic::set_hook(Box::new(move |info| {
            // A job's panic becomes its Failed event (shown in the step): keep the terminal
            // clean of it. Any other thread's panic (main, a test's thread) prints as usual.
            let main = !std::thread::current()
                .name()
                .is_some_and(|n| n.starts_with("dj2pg-"));
            if !main {
                if let Ok(mut at) = LAST_PANIC_AT.lock() {
                    *at = info
                        .location()
                        .map(|l| format!("{}:{}", l.file(), l.line()));
                }
            }
            if main || verbose {
                previous(info);
            }
        }));
    });
}

/// Tests inject a panic into a job by its name (`DJ2PG_TEST_PANIC=copy`); debug builds only.
pub(super) fn inject(name: &str) {
    #[cfg(debug_assertions)]
    if std::env::var("DJ2PG_TEST_PANIC").is_ok_and(|n| n == name) {
        panic!("injected by DJ2PG_TEST_PANIC={name}");
    }
    let _ = name;
}
