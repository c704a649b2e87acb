//! `DJ2PG_PHASE_LOG=<file>`: the copy's stages and each table's round trips, appended as
//! lines for the benchmark (`benches/copy.rs`), which lines them up with the round trips its
//! delaying proxy counts on the wire:
//!
//! ```text
//! <unix micros> stage <stage name>
//! <unix micros> table <table name> round_trips=<n>
//! ```
//!
//! A table's round trips are those its own load and read-back waited for; a batch's are
//! counted once for every table in it. Unset (the normal case): nothing is written.
//!
//! Only with the `bench-log` cargo feature (`cargo bench --features bench-log --bench copy`):
//! without it `stage` and `table` are empty and the product has none of this.

/// The copy enters `name` ("planning", "preflight", "loading", ...).
pub fn stage(name: &str) {
    #[cfg(feature = "bench-log")]
    on::line(&format!("stage {name}"));
    let _ = name;
}

/// Table `name`'s round trips, once it is done.
pub fn table(name: &str, round_trips: u64) {
    #[cfg(feature = "bench-log")]
    on::line(&format!("table {name} round_trips={round_trips}"));
    let _ = (name, round_trips);
}

#[cfg(feature = "bench-log")]
mod on {
    use std::io::Write;
    use std::sync::{Mutex, OnceLock};
    use std::time::{SystemTime, UNIX_EPOCH};

    fn log() -> Option<&'static Mutex<std::fs::File>> {
        static LOG: OnceLock<Option<Mutex<std::fs::File>>> = OnceLock::new();
        LOG.get_or_init(|| {
            let path = std::env::var_os("DJ2PG_PHASE_LOG")?;
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .ok()
                .map(Mutex::new)
        })
        .as_ref()
    }

    pub(super) fn line(text: &str) {
        if let Some(f) = log() {
            let micros = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_micros());
            if let Ok(mut f) = f.lock() {
                let _ = writeln!(f, "{micros} {text}");
            }
        }
    }
}
