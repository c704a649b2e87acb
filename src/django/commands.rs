//! Running a child process (a `manage.py` command, `pip`) with its output streamed line by
//! line as it comes, cancellable, and kept (bounded) for the report.
//!
//! Invariants:
//! - stdout and stderr are read by one thread each and merged in arrival order;
//! - every line goes through [`Scrubber`] before it reaches the callback or the report, so a
//!   secret the child echoes (a password in a connection error) is masked;
//! - the child leads its own process group, and cancelling kills the whole group (SIGTERM,
//!   then SIGKILL after a grace period), so a `manage.py` that forked workers leaves none;
//! - the run returns promptly once the child is gone, even when a grandchild that escaped the
//!   group still holds the pipes open.

use crate::data::commands::{CommandOutcome, CommandStatus};
use anyhow::{Context, Result};
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Lines kept from the start of the output.
const HEAD_LINES: usize = 300;
/// Lines kept from the end of the output (where errors are).
const TAIL_LINES: usize = 3000;
/// Longest line kept, in characters (a minified JSON dump must not fill memory).
const MAX_LINE_CHARS: usize = 4000;
/// How long a cancelled child gets between SIGTERM and SIGKILL.
const KILL_GRACE: Duration = Duration::from_millis(1500);
/// How long to keep reading after the child exited, for a grandchild holding the pipes.
const DRAIN_AFTER_EXIT: Duration = Duration::from_secs(2);

/// Masks secrets in output lines: each secret as given and percent-encoded (as in a URL).
#[derive(Clone, Debug, Default)]
pub struct Scrubber {
    secrets: Vec<String>,
}

impl Scrubber {
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Scrubber {
        let mut list = Vec::new();
        for s in secrets.into_iter().filter(|s| !s.is_empty()) {
            let encoded: String = url::form_urlencoded::byte_serialize(s.as_bytes()).collect();
            let percent = encoded.replace('+', "%20");
            for form in [s.to_string(), encoded, percent] {
                if !list.contains(&form) {
                    list.push(form);
                }
            }
        }
        // Longest first, so a secret containing another is masked whole.
        list.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Scrubber { secrets: list }
    }

    pub fn scrub(&self, line: &str) -> String {
        let mut out = line.to_string();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), "****");
            }
        }
        out
    }
}

/// The output kept for the report: the first and last lines, with a count of those dropped.
#[derive(Debug, Default)]
struct BoundedLog {
    head: Vec<String>,
    tail: std::collections::VecDeque<String>,
    omitted: u64,
}

impl BoundedLog {
    fn push(&mut self, line: String) {
        if self.head.len() < HEAD_LINES {
            self.head.push(line);
            return;
        }
        if self.tail.len() == TAIL_LINES {
            self.tail.pop_front();
            self.omitted += 1;
        }
        self.tail.push_back(line);
    }

    fn into_lines(self) -> (Vec<String>, u64) {
        let mut lines = self.head;
        if self.omitted > 0 {
            lines.push(format!("… {} lines omitted …", self.omitted));
        }
        lines.extend(self.tail);
        (lines, self.omitted)
    }
}

/// Run `cmd`, streaming its merged output to `on_line` (scrubbed of `scrubber`'s secrets),
/// until it exits or `cancel` is set. `display` is the command as the report shows it (it
/// must not hold secrets). Fails only when the process cannot be started.
pub fn run_streamed(
    mut cmd: Command,
    display: &str,
    scrubber: &Scrubber,
    on_line: &mut dyn FnMut(String),
    cancel: &AtomicBool,
) -> Result<CommandOutcome> {
    let started = Instant::now();
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = cmd
        .spawn()
        .with_context(|| format!("could not start {display}"))?;
    let (tx, rx) = mpsc::channel::<String>();
    let readers: Vec<_> = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .flatten()
    .map(|pipe| {
        let tx = tx.clone();
        std::thread::spawn(move || read_lines(pipe, &tx))
    })
    .collect();
    drop(tx);

    let mut log = BoundedLog::default();
    let mut deliver = |line: String, log: &mut BoundedLog| {
        let line = scrubber.scrub(&truncate_chars(&line, MAX_LINE_CHARS));
        on_line(line.clone());
        log.push(line);
    };
    let mut exit: Option<ExitStatus> = None;
    let mut exited_at: Option<Instant> = None;
    let mut cancelled = false;
    loop {
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(line) => deliver(line, &mut log),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                if exit.is_none() {
                    exit = Some(wait_or_kill(&mut child, cancel, &mut cancelled)?);
                }
                break;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        if !cancelled && cancel.load(Ordering::Relaxed) {
            cancelled = true;
            exit = Some(kill_group(&mut child)?);
            exited_at = Some(Instant::now());
        }
        if exit.is_none() {
            if let Some(status) = child.try_wait().context("could not wait for the child")? {
                exit = Some(status);
                exited_at = Some(Instant::now());
            }
        }
        if exited_at.is_some_and(|t| t.elapsed() > DRAIN_AFTER_EXIT) {
            // A grandchild still holds the pipes: stop waiting for it, and end it.
            signal_group(&child, nix::sys::signal::Signal::SIGKILL);
            break;
        }
    }
    // Lines already in the channel are part of the output.
    while let Ok(line) = rx.try_recv() {
        deliver(line, &mut log);
    }
    drop(rx);
    for r in readers {
        if r.is_finished() {
            let _ = r.join();
        }
    }
    let status = if cancelled {
        CommandStatus::Cancelled
    } else {
        match exit {
            Some(s) if s.success() => CommandStatus::Succeeded,
            Some(s) => CommandStatus::Failed {
                exit_code: s.code(),
            },
            None => CommandStatus::Failed { exit_code: None },
        }
    };
    let (lines, omitted_lines) = log.into_lines();
    Ok(CommandOutcome {
        display: display.to_string(),
        status,
        lines,
        omitted_lines,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    })
}

/// Both pipes closed: the child is exiting; wait for it, still honouring a cancel.
fn wait_or_kill(
    child: &mut Child,
    cancel: &AtomicBool,
    cancelled: &mut bool,
) -> Result<ExitStatus> {
    loop {
        if let Some(status) = child.try_wait().context("could not wait for the child")? {
            return Ok(status);
        }
        if cancel.load(Ordering::Relaxed) {
            *cancelled = true;
            return kill_group(child);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// SIGTERM to the child's process group, SIGKILL after [`KILL_GRACE`]; returns its status.
fn kill_group(child: &mut Child) -> Result<ExitStatus> {
    signal_group(child, nix::sys::signal::Signal::SIGTERM);
    let deadline = Instant::now() + KILL_GRACE;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().context("could not wait for the child")? {
            // The leader is gone; make sure nothing it started lingers.
            signal_group(child, nix::sys::signal::Signal::SIGKILL);
            return Ok(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    signal_group(child, nix::sys::signal::Signal::SIGKILL);
    child.wait().context("could not wait for the killed child")
}

fn signal_group(child: &Child, signal: nix::sys::signal::Signal) {
    // The child was spawned with process_group(0): its pid is its group id. A group that is
    // already gone (ESRCH) is what we want anyway.
    if let Ok(pid) = i32::try_from(child.id()) {
        let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pid), signal);
    }
}

fn read_lines(pipe: Box<dyn Read + Send>, tx: &mpsc::Sender<String>) {
    let mut reader = BufReader::new(pipe);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let text = String::from_utf8_lossy(&buf);
                let line = text.trim_end_matches(['\n', '\r']).to_string();
                if tx.send(line).is_err() {
                    return;
                }
            }
        }
    }
}

/// At most `max` characters of `s` (char-aware), marked when cut.
fn truncate_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_as_given_and_url_encoded() {
        let s = Scrubber::new(["p@ss word", ""]);
        assert_eq!(
            s.scrub("failed for p@ss word and p%40ss+word and p%40ss%20word"),
            "failed for **** and **** and ****"
        );
        assert_eq!(Scrubber::new([]).scrub("plain"), "plain");
    }

    #[test]
    fn the_log_keeps_head_and_tail() {
        let mut log = BoundedLog::default();
        for i in 0..(HEAD_LINES + TAIL_LINES + 10) {
            log.push(i.to_string());
        }
        let (lines, omitted) = log.into_lines();
        assert_eq!(omitted, 10);
        assert_eq!(lines[0], "0");
        assert_eq!(lines[HEAD_LINES], "… 10 lines omitted …");
        assert_eq!(
            lines.last().unwrap(),
            &(HEAD_LINES + TAIL_LINES + 9).to_string()
        );
    }

    #[test]
    fn long_lines_are_cut_on_a_char_boundary() {
        assert_eq!(truncate_chars("ééé", 2), "éé…");
        assert_eq!(truncate_chars("ab", 2), "ab");
    }

    #[test]
    fn output_streams_merged_and_exit_codes_are_kept() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo one; echo two >&2; echo secret-x; exit 3"]);
        let mut seen = Vec::new();
        let out = run_streamed(
            cmd,
            "sh",
            &Scrubber::new(["secret-x"]),
            &mut |l| seen.push(l),
            &AtomicBool::new(false),
        )
        .unwrap();
        assert_eq!(out.status, CommandStatus::Failed { exit_code: Some(3) });
        assert_eq!(seen.len(), 3);
        assert!(seen.contains(&"two".to_string()));
        assert!(seen.contains(&"****".to_string()));
        assert_eq!(out.lines.len(), 3);
    }
}
