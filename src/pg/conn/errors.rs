//! What a failed connection means: the form field to fix and plain words, from the
//! server's error code or the client's error text, asking the address whether it speaks
//! PostgreSQL at all where the error leaves that in doubt.

use super::{ConnConfig, ConnectError, Field};
use std::time::Duration;

impl ConnConfig {
    pub(super) fn map_error(&self, e: &postgres::Error, timeout: Option<Duration>) -> ConnectError {
        use postgres::error::SqlState;
        let err = |field, message: String| ConnectError { field, message };
        if let Some(db) = e.as_db_error() {
            let code = db.code();
            let msg = db.message().to_string();
            return if *code == SqlState::INVALID_PASSWORD {
                err(
                    Field::Password,
                    format!("the server refused the password of user {:?}", self.user),
                )
            } else if *code == SqlState::INVALID_CATALOG_NAME {
                err(
                    Field::Database,
                    format!("database {:?} does not exist on {}", self.dbname, self.host),
                )
            } else if *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION {
                if msg.contains("no pg_hba.conf entry") && msg.contains("no encryption") {
                    err(Field::SslMode, format!("the server requires TLS: {msg}"))
                } else {
                    err(Field::User, msg)
                }
            } else if *code == SqlState::INSUFFICIENT_PRIVILEGE {
                err(Field::User, msg)
            } else if *code == SqlState::TOO_MANY_CONNECTIONS {
                err(
                    Field::Port,
                    format!("{msg} (a pool port? use the direct port)"),
                )
            } else {
                err(Field::Host, msg)
            };
        }
        let text = full_chain(e);
        let lower = text.to_lowercase();
        if lower.contains("channel binding") {
            return self.channel_binding_refused();
        }
        if lower.contains("does not allow writes") {
            return err(
                Field::Host,
                format!(
                    "{}:{} accepts only reads (a standby or read replica); dj2pg writes, so it \
                     needs the primary's host{}",
                    self.host,
                    self.port,
                    self.target_session_attrs
                        .as_deref()
                        .map(|t| format!(" (target_session_attrs={t} stays in the settings)"))
                        .unwrap_or_default()
                ),
            );
        }
        if lower.contains("password missing") || lower.contains("password authentication") {
            err(
                Field::Password,
                format!("user {:?} needs a password", self.user),
            )
        } else if lower.contains("server does not support tls")
            || lower.contains("server does not support ssl")
        {
            // The client saw anything but 'S' to its TLS request: PostgreSQL says 'N';
            // a web server or anything else says something else, or closes.
            match probe(self, timeout) {
                Probe::NotPostgres => self.not_postgres(),
                _ => err(
                    Field::SslMode,
                    "the server does not offer TLS: use sslmode=disable only on a trusted network"
                        .into(),
                ),
            }
        } else if lower.contains("certificate verify failed")
            || lower.contains("self-signed")
            || lower.contains("self signed")
        {
            let field = if lower.contains("hostname mismatch") {
                Field::Host
            } else {
                Field::CaFile
            };
            err(
                field,
                format!("the server's certificate was not trusted: {text}"),
            )
        } else if lower.contains("refused") {
            err(
                Field::Port,
                format!(
                    "nothing accepts connections at {}:{} (connection refused)",
                    self.host, self.port
                ),
            )
        } else if lower.contains("timed out") || lower.contains("timeout") {
            err(
                Field::Host,
                format!(
                    "{}:{} did not answer in time (firewall, trusted sources, or a wrong host?)",
                    self.host, self.port
                ),
            )
        } else if lower.contains("failed to lookup") || lower.contains("name or service") {
            err(
                Field::Host,
                format!("the host name {:?} could not be resolved", self.host),
            )
        } else if probe(self, timeout) == Probe::NotPostgres {
            // Whatever the client made of the answer ("bytes remaining on stream",
            // "unexpected message", a closed connection), the server is not PostgreSQL.
            self.not_postgres()
        } else if lower.contains("ssl") || lower.contains("tls") {
            err(Field::SslMode, text)
        } else {
            err(Field::Host, text)
        }
    }
}

/// What answers at a target's address, asked the way every PostgreSQL client starts: a
/// TLS request, which any PostgreSQL (also one without TLS) answers with one byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Probe {
    Postgres,
    NotPostgres,
    /// No connection, or no answer in time: nothing learnt.
    Unknown,
}

/// Ask `config`'s address whether it speaks PostgreSQL (after a failure that leaves it in
/// doubt), within `timeout` (at most 5 s).
pub(crate) fn probe(config: &ConnConfig, timeout: Option<Duration>) -> Probe {
    use std::io::{Read, Write};
    use std::net::ToSocketAddrs;
    let t = timeout
        .unwrap_or(Duration::from_secs(5))
        .min(Duration::from_secs(5));
    let Some(addr) = (config.host.as_str(), config.port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
    else {
        return Probe::Unknown;
    };
    let Ok(mut tcp) = std::net::TcpStream::connect_timeout(&addr, t) else {
        return Probe::Unknown;
    };
    let _ = tcp.set_read_timeout(Some(t));
    let _ = tcp.set_write_timeout(Some(t));
    let mut request = bytes::BytesMut::new();
    postgres_protocol::message::frontend::ssl_request(&mut request);
    if tcp.write_all(&request).is_err() {
        return Probe::Unknown;
    }
    let mut answer = [0u8; 1];
    match tcp.read(&mut answer) {
        Ok(1) if matches!(answer[0], b'S' | b'N') => Probe::Postgres,
        // Another byte, or a close without a word: not PostgreSQL.
        Ok(_) => Probe::NotPostgres,
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => Probe::NotPostgres,
        Err(_) => Probe::Unknown,
    }
}

fn full_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}
