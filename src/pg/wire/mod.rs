//! A PostgreSQL session on the raw wire protocol, for the copy's pipelined batches.
//!
//! The `postgres` crate waits for the server after every statement and prepares each
//! `COPY` before running it: three round trips per table, which is what a server tens of
//! milliseconds away charges for (DigitalOcean from a laptop). The protocol itself allows
//! more: one simple `Query` message may hold many statements, `COPY ... FROM STDIN` among
//! them, and the client may send every table's `CopyData` right behind it without waiting
//! for each `CopyInResponse` — the server reads them in order. So a batch of small tables
//! (load, read back, `ANALYZE`) costs one round trip in all. On an error the server
//! discards the rest of the query, answers `ReadyForQuery`, and ignores the `CopyData` still
//! arriving (the protocol says so for exactly this case), so the session stays usable and
//! the batch's implicit transaction has rolled back.
//!
//! Messages are encoded and parsed by `postgres-protocol` (the `postgres` crate's own
//! layer), SCRAM-SHA-256 and MD5 too; TLS is the same OpenSSL set-up as
//! [`ConnConfig::ssl_connector`]. This session only runs simple queries and COPY: everything
//! else goes through the `postgres` crate.
//!
//! Round trips are counted where the client waits: a read that must block after the client
//! sent something is one round trip ([`Wire::round_trips`]).

mod login;

use anyhow::{Result, anyhow, bail};
use bytes::{Buf, BytesMut};
use fallible_iterator::FallibleIterator;
use login::Handshake;
use postgres_protocol::message::backend::Message;
use postgres_protocol::message::frontend;
use std::io::{Read, Write};

/// Bytes queued before they are written to the socket.
const SEND_AT: usize = 256 * 1024;
/// The largest `CopyData` message sent (the server accepts up to 1 GB; smaller ones keep
/// its receive buffer and ours moving).
const COPY_CHUNK: usize = 64 * 1024;

trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

/// An error the server reported, with the fields the copy names in its messages.
#[derive(Debug, Clone, Default, thiserror::Error)]
#[error("{message}{}", detail.as_ref().map(|d| format!(" ({d})")).unwrap_or_default())]
pub struct ServerError {
    pub code: String,
    pub message: String,
    pub detail: Option<String>,
    /// `CONTEXT`: for COPY, "COPY table, line N, column c: ...".
    pub context: Option<String>,
    pub constraint: Option<String>,
    pub table: Option<String>,
}

/// One session.
pub struct Wire {
    stream: Box<dyn Stream>,
    send: BytesMut,
    recv: BytesMut,
    /// Something was sent since the last time the client waited for the server.
    sent: bool,
    round_trips: u64,
    broken: bool,
    /// While logging in: when to give up (`None`: no deadline) and what to say then.
    handshake: Option<Handshake>,
}

#[derive(Debug)]
pub enum Reply {
    /// `CommandComplete`'s tag ("COPY 12", "ANALYZE", "BEGIN").
    Done(String),
    /// The server reported an error; the rest of the query was skipped.
    Failed(ServerError),
}

impl Wire {
    /// Round trips this session has waited for so far.
    pub fn round_trips(&self) -> u64 {
        self.round_trips
    }

    /// Whether the session can no longer be used (a failed read or write).
    pub fn is_broken(&self) -> bool {
        self.broken
    }

    /// Queue a simple query (one or more statements separated by `;`).
    pub fn query(&mut self, sql: &str) -> Result<()> {
        frontend::query(sql, &mut self.send)?;
        self.maybe_send()
    }

    /// Queue `data` as `CopyData` messages for the current `COPY ... FROM STDIN`.
    pub fn copy_data(&mut self, mut data: &[u8]) -> Result<()> {
        while !data.is_empty() {
            let n = data.len().min(COPY_CHUNK);
            // CopyData: 'd', length (itself included), bytes.
            self.send.extend_from_slice(b"d");
            self.send.extend_from_slice(&((n + 4) as i32).to_be_bytes());
            self.send.extend_from_slice(&data[..n]);
            data = &data[n..];
            self.maybe_send()?;
        }
        Ok(())
    }

    /// End the current `COPY ... FROM STDIN`.
    pub fn copy_done(&mut self) -> Result<()> {
        frontend::copy_done(&mut self.send);
        self.maybe_send()
    }

    fn maybe_send(&mut self) -> Result<()> {
        if self.send.len() >= SEND_AT {
            self.flush()?;
        }
        Ok(())
    }

    /// Write everything queued.
    pub fn flush(&mut self) -> Result<()> {
        if self.send.is_empty() {
            return Ok(());
        }
        let r = self
            .stream
            .write_all(&self.send)
            .and_then(|_| self.stream.flush());
        self.send.clear();
        if let Err(e) = r {
            self.broken = true;
            return Err(anyhow!("the connection to the server broke: {e}"));
        }
        self.sent = true;
        Ok(())
    }

    /// The next message from the server (notices and parameter changes skipped by callers).
    pub fn message(&mut self) -> Result<Message> {
        self.flush()?;
        loop {
            match Message::parse(&mut self.recv) {
                Ok(Some(m)) => return Ok(m),
                Ok(None) => {}
                Err(e) => {
                    self.broken = true;
                    return Err(anyhow!("the server sent a message dj2pg cannot read: {e}"));
                }
            }
            if self.sent {
                self.round_trips += 1;
                self.sent = false;
            }
            let mut chunk = [0u8; 64 * 1024];
            let n = match self.read_some(&mut chunk)? {
                0 => {
                    self.broken = true;
                    bail!("the server closed the connection")
                }
                n => n,
            };
            self.recv.extend_from_slice(&chunk[..n]);
        }
    }

    /// One read from the server (0 at its end); while logging in, within the deadline.
    fn read_some(&mut self, buf: &mut [u8]) -> Result<usize> {
        loop {
            match self.stream.read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e)
                    if self.handshake.is_some()
                        && matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) =>
                {
                    if let Some(why) = self.handshake.as_ref().and_then(|h| h.check()) {
                        self.broken = true;
                        bail!("{why}");
                    }
                }
                Err(e) => {
                    self.broken = true;
                    bail!("the connection to the server broke: {e}")
                }
            }
        }
    }

    /// The next message that is not a notice or a parameter change.
    pub fn reply(&mut self) -> Result<Message> {
        loop {
            match self.message()? {
                Message::NoticeResponse(_)
                | Message::ParameterStatus(_)
                | Message::NotificationResponse(_) => {}
                m => return Ok(m),
            }
        }
    }

    /// Read the answer of one statement that sends no data (not a COPY): its tag, or the
    /// server's error (after which the rest of the query is skipped: call
    /// [`Wire::finish_query`]).
    pub fn statement(&mut self) -> Result<Reply> {
        loop {
            match self.reply()? {
                Message::CommandComplete(c) => return Ok(Reply::Done(c.tag()?.to_string())),
                Message::EmptyQueryResponse => return Ok(Reply::Done(String::new())),
                Message::ErrorResponse(e) => return Ok(Reply::Failed(server_error(e.fields()))),
                Message::RowDescription(_) | Message::DataRow(_) => {}
                Message::CopyInResponse(_) => {}
                Message::ReadyForQuery(_) => bail!("the server ended the query early"),
                _ => {}
            }
        }
    }

    /// Read the rows of one statement that returns rows (as text, `None` for NULL), or the
    /// server's error.
    pub fn rows(&mut self) -> Result<std::result::Result<Vec<Vec<Option<String>>>, ServerError>> {
        let mut rows = Vec::new();
        loop {
            match self.reply()? {
                Message::DataRow(body) => {
                    let buf = body.buffer();
                    let mut ranges = body.ranges();
                    let mut row = Vec::new();
                    while let Some(r) = ranges.next()? {
                        row.push(r.map(|r| String::from_utf8_lossy(&buf[r]).into_owned()));
                    }
                    rows.push(row);
                }
                Message::CommandComplete(_) | Message::EmptyQueryResponse => return Ok(Ok(rows)),
                Message::ErrorResponse(e) => return Ok(Err(server_error(e.fields()))),
                Message::ReadyForQuery(_) => bail!("the server ended the query early"),
                _ => {}
            }
        }
    }

    /// Read up to the end of a query (`ReadyForQuery`), returning the first error the
    /// server reported on the way (a failed commit, for instance).
    pub fn end_query(&mut self) -> Result<Option<ServerError>> {
        let mut first = None;
        loop {
            match self.reply()? {
                Message::ErrorResponse(e) if first.is_none() => {
                    first = Some(server_error(e.fields()))
                }
                Message::ReadyForQuery(_) => return Ok(first),
                _ => {}
            }
        }
    }

    /// Read up to the end of a query (`ReadyForQuery`), skipping whatever is left.
    pub fn finish_query(&mut self) -> Result<()> {
        loop {
            if let Message::ReadyForQuery(_) = self.reply()? {
                return Ok(());
            }
        }
    }

    /// A `COPY ... TO STDOUT` answer as a reader of its data; `Ok(Err(e))` when the server
    /// refused the statement.
    pub fn copy_out(&mut self) -> Result<std::result::Result<CopyOut<'_>, ServerError>> {
        loop {
            match self.reply()? {
                Message::CopyOutResponse(_) => {
                    return Ok(Ok(CopyOut {
                        wire: self,
                        chunk: bytes::Bytes::new(),
                        done: false,
                    }));
                }
                Message::ErrorResponse(e) => return Ok(Err(server_error(e.fields()))),
                Message::ReadyForQuery(_) => bail!("the server ended the query early"),
                _ => {}
            }
        }
    }

    /// Run `sql` (simple query, no data) and wait for it: one round trip.
    pub fn execute(&mut self, sql: &str) -> Result<()> {
        self.query(sql)?;
        match self.end_query()? {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }
}

impl Drop for Wire {
    fn drop(&mut self) {
        if !self.broken {
            frontend::terminate(&mut self.send);
            let _ = self.stream.write_all(&self.send);
        }
    }
}

/// The data of one `COPY ... TO STDOUT`, read message by message.
pub struct CopyOut<'a> {
    wire: &'a mut Wire,
    chunk: bytes::Bytes,
    done: bool,
}

impl Read for CopyOut<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.chunk.is_empty() && !self.done {
            match self.wire.reply().map_err(std::io::Error::other)? {
                Message::CopyData(d) => self.chunk = d.into_bytes(),
                Message::CopyDone => self.done = true,
                Message::ErrorResponse(e) => {
                    self.done = true;
                    return Err(std::io::Error::other(server_error(e.fields())));
                }
                _ => {}
            }
        }
        let n = out.len().min(self.chunk.len());
        out[..n].copy_from_slice(&self.chunk[..n]);
        self.chunk.advance(n);
        Ok(n)
    }
}

impl CopyOut<'_> {
    /// Read to the end of the data and the statement's `CommandComplete`.
    pub fn finish(mut self) -> Result<()> {
        std::io::copy(&mut self, &mut std::io::sink())?;
        match self.wire.statement()? {
            Reply::Done(_) => Ok(()),
            Reply::Failed(e) => Err(e.into()),
        }
    }
}

pub fn server_error(
    mut fields: postgres_protocol::message::backend::ErrorFields<'_>,
) -> ServerError {
    let mut e = ServerError::default();
    while let Ok(Some(f)) = fields.next() {
        let v = String::from_utf8_lossy(f.value_bytes()).into_owned();
        match f.type_() {
            b'C' => e.code = v,
            b'M' => e.message = v,
            b'D' => e.detail = Some(v),
            b'W' => e.context = Some(v),
            b'n' => e.constraint = Some(v),
            b't' => e.table = Some(v),
            _ => {}
        }
    }
    e
}
