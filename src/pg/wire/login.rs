//! Opening a [`Wire`] session: TCP, TLS (as [`ConnConfig::ssl_connector`] sets it up,
//! with the channel binding SCRAM-SHA-256-PLUS needs), the startup packet and the login
//! (SCRAM-SHA-256, MD5 or a cleartext password), all under one deadline that a stop
//! signal also ends.

use super::{COPY_CHUNK, SEND_AT, Wire, server_error};
use crate::pg::{ChannelBinding, ConnConfig, Secret, SslMode};
use anyhow::{Context as _, Result, anyhow, bail};
use bytes::BytesMut;
use fallible_iterator::FallibleIterator;
use postgres_protocol::authentication::{md5_hash, sasl};
use postgres_protocol::message::backend::Message;
use postgres_protocol::message::frontend;
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// The connection attempt's deadline ([`ConnConfig::connect_timeout`]): reads wake up every
/// [`SLICE`] to check it and the stop signals ([`crate::interrupt`]).
pub(super) struct Handshake {
    deadline: Option<Instant>,
    timed_out: String,
    cancelled: String,
}

/// How often a read of the login wakes up to check the deadline and the signals.
const SLICE: Duration = Duration::from_millis(100);

impl Handshake {
    /// Why to stop waiting now, if there is a reason.
    pub(super) fn check(&self) -> Option<&str> {
        if crate::interrupt::requested() {
            return Some(&self.cancelled);
        }
        match self.deadline {
            Some(d) if Instant::now() >= d => Some(&self.timed_out),
            _ => None,
        }
    }
}

/// The `tls-server-end-point` channel binding data (RFC 5929): the server certificate's
/// hash, with the certificate's own signature digest (SHA-256 for MD5 and SHA-1), as
/// `postgres-openssl` computes it for the `postgres` crate's connections.
fn tls_server_end_point(ssl: &openssl::ssl::SslRef) -> Option<Vec<u8>> {
    use openssl::hash::MessageDigest;
    use openssl::nid::Nid;
    let cert = ssl.peer_certificate()?;
    let algorithms = cert
        .signature_algorithm()
        .object()
        .nid()
        .signature_algorithms()?;
    let md = match algorithms.digest {
        Nid::MD5 | Nid::SHA1 => MessageDigest::sha256(),
        nid => MessageDigest::from_nid(nid)?,
    };
    cert.digest(md).ok().map(|d| d.to_vec())
}

impl Wire {
    /// Connect and log in. `options` are server settings for the session, sent in the
    /// startup packet (`-c name=value ...`): no round trip of their own.
    ///
    /// TCP, TLS and the startup exchange share one deadline, [`ConnConfig::connect_timeout`]
    /// (libpq's `connect_timeout`), and a stop signal ends the attempt at once.
    pub fn connect(config: &ConnConfig, password: Option<&Secret>, options: &str) -> Result<Wire> {
        let timeout = config.connect_timeout();
        let handshake = Handshake {
            deadline: timeout.map(|t| Instant::now() + t),
            timed_out: timeout
                .map(|t| config.timed_out(t).message)
                .unwrap_or_default(),
            cancelled: config.cancelled().message,
        };
        let addr = format!("{}:{}", config.host, config.port);
        let tcp = connect_tcp(&addr, &handshake)?;
        tcp.set_nodelay(true)?;
        tcp.set_read_timeout(Some(SLICE))?;
        let control = tcp.try_clone()?;
        let mut wire = Wire {
            stream: Box::new(tcp.try_clone()?),
            send: BytesMut::with_capacity(SEND_AT + COPY_CHUNK + 64),
            recv: BytesMut::with_capacity(64 * 1024),
            sent: false,
            round_trips: 0,
            broken: false,
            handshake: Some(handshake),
        };
        let mut binding = None;
        if config.sslmode != SslMode::Disable {
            let answer = if config.ssl_direct {
                // sslnegotiation=direct: TLS from the first byte (PostgreSQL 17+).
                b'S'
            } else {
                frontend::ssl_request(&mut wire.send);
                wire.flush()?;
                let mut answer = [0u8; 1];
                if wire.read_some(&mut answer)? == 0 {
                    bail!("{}", config.not_postgres().message);
                }
                wire.round_trips += 1;
                wire.sent = false;
                answer[0]
            };
            match answer {
                b'S' => {
                    let ssl = config
                        .ssl_connector()
                        .map_err(|e| anyhow!("{}", e.message))?;
                    let mut attempt = ssl
                        .configure()?
                        .verify_hostname(config.verify_hostname())
                        .connect(&config.host, tcp);
                    let tls = loop {
                        match attempt {
                            Ok(tls) => break tls,
                            Err(openssl::ssl::HandshakeError::WouldBlock(mid)) => {
                                if let Some(why) = wire.handshake.as_ref().and_then(|h| h.check()) {
                                    bail!("{why}");
                                }
                                attempt = mid.handshake();
                            }
                            Err(e) => bail!("TLS with {addr} failed: {e}"),
                        }
                    };
                    binding = tls_server_end_point(tls.ssl());
                    wire.stream = Box::new(tls);
                    // The TLS handshake's own exchanges (one for TLS 1.3).
                    wire.round_trips += 1;
                }
                b'N' if config.sslmode == SslMode::Prefer => {}
                b'N' => bail!(
                    "the server at {addr} does not offer TLS: use sslmode=disable only on a \
                     trusted network"
                ),
                _ => bail!("{}", config.not_postgres().message),
            }
        }
        let params = [
            ("user", config.user.as_str()),
            ("database", config.dbname.as_str()),
            ("application_name", "dj2pg"),
            ("options", options),
        ];
        frontend::startup_message(params.iter().copied(), &mut wire.send)?;
        wire.flush()?;
        let password = config.resolve_password(password);
        wire.authenticate(config, password.as_ref(), binding)?;
        loop {
            match wire.message()? {
                Message::ReadyForQuery(_) => {
                    // Logged in: from here on reads wait as long as the server works.
                    control.set_read_timeout(None)?;
                    wire.handshake = None;
                    return Ok(wire);
                }
                Message::ErrorResponse(e) => bail!("{}", server_error(e.fields())),
                _ => {}
            }
        }
    }

    /// Log in. `binding` is the TLS channel's `tls-server-end-point` hash, when TLS is in
    /// use: with it SCRAM-SHA-256-PLUS binds the login to this channel (libpq's
    /// `channel_binding`; `require` refuses any login that is not bound).
    fn authenticate(
        &mut self,
        config: &ConnConfig,
        password: Option<&Secret>,
        binding: Option<Vec<u8>>,
    ) -> Result<()> {
        let need = || anyhow!("user {:?} needs a password", config.user);
        let mode = config.channel_binding.unwrap_or_default();
        let binding = binding.filter(|_| mode != ChannelBinding::Disable);
        let unbound = || -> Result<()> {
            if mode == ChannelBinding::Require {
                bail!("{}", config.channel_binding_refused().message);
            }
            Ok(())
        };
        let mut bound = false;
        loop {
            match self.message()? {
                Message::AuthenticationOk => {
                    if !bound {
                        unbound()?;
                    }
                    return Ok(());
                }
                Message::AuthenticationCleartextPassword => {
                    unbound()?;
                    let p = password.ok_or_else(need)?;
                    frontend::password_message(p.expose().as_bytes(), &mut self.send)?;
                    self.flush()?;
                }
                Message::AuthenticationMd5Password(body) => {
                    unbound()?;
                    let p = password.ok_or_else(need)?;
                    let hash = md5_hash(config.user.as_bytes(), p.expose().as_bytes(), body.salt());
                    frontend::password_message(hash.as_bytes(), &mut self.send)?;
                    self.flush()?;
                }
                Message::AuthenticationSasl(body) => {
                    let p = password.ok_or_else(need)?;
                    let mut mechanisms = body.mechanisms();
                    let (mut scram, mut plus) = (false, false);
                    while let Some(m) = mechanisms.next()? {
                        scram |= m == sasl::SCRAM_SHA_256;
                        plus |= m == sasl::SCRAM_SHA_256_PLUS;
                    }
                    // As libpq: bind when both sides can; "y" tells the server this client
                    // could have bound, so a downgrade by someone in the middle shows.
                    let (cb, mechanism) = match (plus, binding.clone()) {
                        (true, Some(b)) => (
                            sasl::ChannelBinding::tls_server_end_point(b),
                            sasl::SCRAM_SHA_256_PLUS,
                        ),
                        (false, Some(_)) if scram => {
                            (sasl::ChannelBinding::unrequested(), sasl::SCRAM_SHA_256)
                        }
                        _ if scram => (sasl::ChannelBinding::unsupported(), sasl::SCRAM_SHA_256),
                        _ => bail!(
                            "the server offers no SASL mechanism dj2pg speaks (SCRAM-SHA-256)"
                        ),
                    };
                    bound = mechanism == sasl::SCRAM_SHA_256_PLUS;
                    if !bound {
                        unbound()?;
                    }
                    let mut s = sasl::ScramSha256::new(p.expose().as_bytes(), cb);
                    frontend::sasl_initial_response(mechanism, s.message(), &mut self.send)?;
                    self.flush()?;
                    match self.message()? {
                        Message::AuthenticationSaslContinue(b) => s.update(b.data())?,
                        Message::ErrorResponse(e) => bail!("{}", server_error(e.fields())),
                        _ => bail!("unexpected message during SCRAM authentication"),
                    }
                    frontend::sasl_response(s.message(), &mut self.send)?;
                    self.flush()?;
                    match self.message()? {
                        Message::AuthenticationSaslFinal(b) => s.finish(b.data())?,
                        Message::ErrorResponse(e) => bail!("{}", server_error(e.fields())),
                        _ => bail!("unexpected message during SCRAM authentication"),
                    }
                }
                Message::ErrorResponse(e) => bail!("{}", server_error(e.fields())),
                Message::NoticeResponse(_) | Message::ParameterStatus(_) => {}
                _ => bail!("the server asked for an authentication method dj2pg does not speak"),
            }
        }
    }
}

fn connect_tcp(addr: &str, handshake: &Handshake) -> Result<TcpStream> {
    use std::net::ToSocketAddrs;
    let mut last = None;
    for a in addr
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve {addr}"))?
    {
        let left = match handshake.deadline {
            Some(d) => d.saturating_duration_since(Instant::now()),
            None => Duration::from_secs(3600),
        };
        if left.is_zero() {
            bail!("{}", handshake.timed_out);
        }
        match TcpStream::connect_timeout(&a, left) {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
    }
    Err(match last {
        Some(e) => anyhow!("cannot connect to {addr}: {e}"),
        None => anyhow!("{addr} resolves to no address"),
    })
}
