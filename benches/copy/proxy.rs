//! The delaying loopback proxy between the tools and the server, and what it sees on the
//! wire: connections opened and round trips.
//!
//! A round trip is counted per connection, at the proxy's server-facing side, each time the
//! server sends after the client sent (a turnaround: client→server bytes, then
//! server→client bytes). Pipelined statements that reach the server before its first
//! answer cost one round trip; a `COPY` stream costs one (its answer comes after
//! `CopyDone`); the TLS handshake and the password exchange cost theirs, as on a real link.
//! Each turnaround is recorded with its connection and the wall-clock time (unix µs) the
//! server's answer reached the proxy, half way through the round trip as the client sees
//! it, so that it falls inside the stage the client was in.
//!
//! An answer that comes after the client has closed its side (the server's TLS
//! `close_notify` answering the client's `Terminate`) is nobody's wait: it is counted
//! apart, as a closing turnaround, not as a round trip.

use anyhow::Result;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// One turnaround on one connection.
#[derive(Clone, Copy)]
pub struct Turnaround {
    /// The proxy's number for the connection (unique for the whole bench).
    pub conn: u64,
    /// When the server's answer reached the proxy, in µs since the Unix epoch.
    pub unix_micros: i64,
}

/// What the proxy saw during one tool run.
#[derive(Default)]
pub struct WireStats {
    /// Connections the tool opened.
    pub connections: u64,
    /// Every turnaround, in time order per connection.
    pub turnarounds: Vec<Turnaround>,
    /// Turnarounds after the client had closed its side (not round trips).
    pub closing: u64,
}

impl WireStats {
    /// Round trips of all connections together.
    pub fn total(&self) -> usize {
        self.turnarounds.len()
    }

    /// The most round trips any one connection took.
    pub fn most_on_one(&self) -> usize {
        let mut per: std::collections::HashMap<u64, usize> = Default::default();
        for t in &self.turnarounds {
            *per.entry(t.conn).or_default() += 1;
        }
        per.into_values().max().unwrap_or(0)
    }
}

/// The running proxy: its port, and the log the connection threads write to.
pub struct Proxy {
    pub port: u16,
    log: Arc<Mutex<WireStats>>,
}

impl Proxy {
    /// A loopback TCP proxy to `target` that holds every chunk back by `delay` in each
    /// direction: the tools then see the server `2 × delay` away, as a managed database is
    /// from a laptop. It runs until the bench ends.
    pub fn start(target: u16, delay: Duration) -> Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let log = Arc::new(Mutex::new(WireStats::default()));
        let conn_log = Arc::clone(&log);
        std::thread::spawn(move || {
            let next_conn = AtomicU64::new(1);
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                    continue;
                };
                let _ = (client.set_nodelay(true), server.set_nodelay(true));
                let conn = next_conn.fetch_add(1, Ordering::Relaxed);
                lock(&conn_log).connections += 1;
                let state = Arc::new(ConnState::default());
                let (Ok(c1), Ok(c2), Ok(s1), Ok(s2)) = (
                    client.try_clone(),
                    client.try_clone(),
                    server.try_clone(),
                    server.try_clone(),
                ) else {
                    continue;
                };
                let up = Side::ToServer(Arc::clone(&state));
                let down = Side::FromServer {
                    state,
                    conn,
                    log: Arc::clone(&conn_log),
                };
                std::thread::spawn(move || delay_pipe(c1, s1, delay, up));
                std::thread::spawn(move || delay_pipe(s2, c2, delay, down));
            }
        });
        Ok(Proxy { port, log })
    }

    /// What was seen since the last call (the log starts afresh).
    pub fn take(&self) -> WireStats {
        let mut stats = std::mem::take(&mut *lock(&self.log));
        stats.turnarounds.sort_by_key(|t| (t.conn, t.unix_micros));
        stats
    }
}

fn lock(log: &Mutex<WireStats>) -> std::sync::MutexGuard<'_, WireStats> {
    // A panicked pipe thread leaves counts that are still worth reading.
    log.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What the two pipes of one connection share.
#[derive(Default)]
struct ConnState {
    /// True from the moment client bytes go to the server until it answers.
    client_sent: AtomicBool,
    /// The client closed its side (the proxy read its end of file).
    client_closed: AtomicBool,
}

/// Which way a pipe carries bytes, and what it records.
enum Side {
    /// Client → server: marks that the client spoke, just before the bytes reach the server
    /// (it cannot answer bytes it has not received), and when it closed.
    ToServer(Arc<ConnState>),
    /// Server → client: an answer after the client spoke is a turnaround.
    FromServer {
        state: Arc<ConnState>,
        conn: u64,
        log: Arc<Mutex<WireStats>>,
    },
}

fn unix_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// Copy `from` to `to`, each chunk written `delay` after it was read.
fn delay_pipe(mut from: TcpStream, mut to: TcpStream, delay: Duration, side: Side) {
    let (tx, rx) = std::sync::mpsc::channel::<(Instant, Vec<u8>)>();
    let to_server = match &side {
        Side::ToServer(state) => Some(Arc::clone(state)),
        Side::FromServer { .. } => None,
    };
    let writer = std::thread::spawn(move || {
        for (due, data) in rx {
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            if let Some(state) = &to_server {
                state.client_sent.store(true, Ordering::SeqCst);
            }
            if to.write_all(&data).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => {
                if let Side::ToServer(state) = &side {
                    state.client_closed.store(true, Ordering::SeqCst);
                }
                break;
            }
            Ok(n) => {
                if let Side::FromServer { state, conn, log } = &side {
                    if state.client_sent.swap(false, Ordering::SeqCst) {
                        let mut log = lock(log);
                        if state.client_closed.load(Ordering::SeqCst) {
                            log.closing += 1;
                        } else {
                            log.turnarounds.push(Turnaround {
                                conn: *conn,
                                unix_micros: unix_micros(),
                            });
                        }
                    }
                }
                if tx
                    .send((Instant::now() + delay, buf[..n].to_vec()))
                    .is_err()
                {
                    break;
                }
            }
        }
    }
    drop(tx);
    let _ = writer.join();
}
