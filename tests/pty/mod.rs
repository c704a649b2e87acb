//! Driving the real `dj2pg` binary in a pseudo-terminal, as a person would: send keys,
//! wait for text on the screen (never a fixed sleep), read the screen.
//!
//! Timeouts can be lengthened on slow machines with `DJ2PG_TEST_TIMEOUT_SCALE=3`.

#![allow(dead_code)]

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Term {
    parser: Arc<Mutex<vt100::Parser>>,
    writer: Arc<Mutex<Box<dyn Write + Send>>>,
    child: Box<dyn Child + Send + Sync>,
    _master: Box<dyn MasterPty + Send>,
    /// Everything the program printed, for failure messages.
    raw: Arc<Mutex<Vec<u8>>>,
}

pub fn scaled(secs: u64) -> Duration {
    let scale: f64 = std::env::var("DJ2PG_TEST_TIMEOUT_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    Duration::from_secs_f64(secs as f64 * scale)
}

impl Term {
    /// Start `cmd` in a `cols`×`rows` terminal.
    pub fn spawn(cmd: CommandBuilder, cols: u16, rows: u16) -> Term {
        let pty = native_pty_system();
        let pair = pty
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("open a pseudo-terminal");
        let child = pair
            .slave
            .spawn_command(cmd)
            .expect("spawn dj2pg in the pty");
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().expect("pty reader");
        let writer = Arc::new(Mutex::new(pair.master.take_writer().expect("pty writer")));
        let parser = Arc::new(Mutex::new(vt100::Parser::new(rows, cols, 0)));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let (p, r, w) = (parser.clone(), raw.clone(), writer.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let chunk = &buf[..n];
                        let mut parser = p.lock().unwrap();
                        parser.process(chunk);
                        // Answer "where is the cursor?" (DSR 6) as a real terminal does.
                        if chunk.windows(4).any(|win| win == b"\x1b[6n") {
                            let (row, col) = parser.screen().cursor_position();
                            let reply = format!("\x1b[{};{}R", row + 1, col + 1);
                            let mut w = w.lock().unwrap();
                            let _ = w.write_all(reply.as_bytes());
                            let _ = w.flush();
                        }
                        r.lock().unwrap().extend_from_slice(chunk);
                    }
                }
            }
        });
        Term {
            parser,
            writer,
            child,
            _master: pair.master,
            raw,
        }
    }

    pub fn screen(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    /// Wait until `text` is on the screen; panic with the screen when it never comes.
    pub fn wait_for(&mut self, text: &str, secs: u64) -> String {
        let deadline = Instant::now() + scaled(secs);
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "dj2pg exited ({status:?}) before {text:?} appeared. Last screen:\n{screen}\nOutput tail:\n{}",
                    self.output_tail()
                );
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {text:?}. Screen:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Wait until none of `text` is on the screen.
    pub fn wait_gone(&mut self, text: &str, secs: u64) {
        let deadline = Instant::now() + scaled(secs);
        while self.screen().contains(text) {
            assert!(
                Instant::now() < deadline,
                "{text:?} stayed on screen:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn send(&mut self, keys: &str) {
        let mut w = self.writer.lock().unwrap();
        w.write_all(keys.as_bytes()).expect("write keys");
        w.flush().expect("flush keys");
    }

    pub fn enter(&mut self) {
        self.send("\r");
    }

    /// Whether the program left the alternate screen and showed the cursor again.
    /// Whether the terminal left the alternate screen and shows the cursor again. The
    /// reader thread may still be parsing the last bytes when the child has exited (a
    /// loaded machine), so this waits a little for them before answering no.
    pub fn terminal_restored(&self) -> bool {
        let deadline = Instant::now() + scaled(5);
        loop {
            {
                let p = self.parser.lock().unwrap();
                if !p.screen().alternate_screen() && !p.screen().hide_cursor() {
                    return true;
                }
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn wait_exit(&mut self, secs: u64) -> portable_pty::ExitStatus {
        let deadline = Instant::now() + scaled(secs);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            if Instant::now() > deadline {
                panic!("dj2pg did not exit. Screen:\n{}", self.screen());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Send a signal by name (`TERM`, `HUP`, …).
    pub fn signal(&mut self, name: &str) {
        let pid = self.child.process_id().expect("dj2pg's pid");
        let status = std::process::Command::new("kill")
            .args([&format!("-{name}"), &pid.to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} {pid} failed");
    }

    /// kill -9: no chance to clean up, like a crash or a closed laptop.
    pub fn kill9(&mut self) {
        let pid = self.child.process_id().expect("dj2pg's pid");
        let status = std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -KILL {pid} failed");
        let _ = self.child.wait();
    }

    pub fn output_tail(&self) -> String {
        let raw = self.raw.lock().unwrap();
        String::from_utf8_lossy(&raw[raw.len().saturating_sub(3000)..]).into_owned()
    }
}

impl Drop for Term {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
    }
}
