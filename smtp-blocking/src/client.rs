//! Sending mail without an async runtime: a [`Connection`] to one server,
//! set up as [`ClientOptions`] say (plain, STARTTLS required or opportunistic,
//! implicit TLS; AUTH), that sends messages one after another.
//!
//! ```no_run
//! use smtp_blocking::client::{ClientOptions, Connection};
//! use smtp_blocking::proto::client::Envelope;
//!
//! # fn send() -> Result<(), smtp_blocking::client::Error> {
//! let options = ClientOptions::from_url("smtp://me%40example.com:app-password@smtp.example.com:587?tls=required")?;
//! let mut connection = Connection::connect(&options)?;
//! let envelope = Envelope::parse("me@example.com", ["you@example.org"]).expect("valid addresses");
//! let result = connection.send(envelope, &b"Subject: hello\r\n\r\nHi!\r\n"[..])?;
//! for rcpt in &result.recipients {
//!     println!("{} {}", rcpt.path, rcpt.reply());
//! }
//! connection.quit()?;
//! # Ok(()) }
//! ```

use std::collections::VecDeque;
use std::io::{self, Read};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use smtp_adapter::options::TlsSettings;
use smtp_proto::client::{ClientError, ClientEvent, ClientSession, Envelope, TransactionResult};
use smtp_proto::ext::Capabilities;
use smtp_proto::output::Output;
use smtp_proto::reply::Reply;
use tracing::debug;

pub use smtp_adapter::options::{ClientOptions, Error, Security, UrlError};

use crate::clock;
use crate::stream::{Stream, is_timeout};

/// How much of the body is read at a time.
const BODY_READ: usize = 64 * 1024;

/// How much is read from the socket at a time.
const READ_SIZE: usize = 8 * 1024;

/// One connection to a server, set up and ready to send.
pub struct Connection {
    stream: Stream,
    session: ClientSession,
    unread: Vec<u8>,
    tls: Option<TlsSettings>,
    handshake_timeout: Duration,
    /// Events of the batch being drained, handed out once its bytes are
    /// written (ARCHITECTURE.md R2: events come first in a drain, the
    /// batch's `Transmit` last).
    events: VecDeque<ClientEvent>,
    /// The session said `Close` and the connection was shut down.
    closed: bool,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("tls", &self.stream.is_tls())
            .field("ready", &self.session.is_ready())
            .finish_non_exhaustive()
    }
}

/// Connects to the first address of `host:port` that answers in time.
fn connect_tcp(options: &ClientOptions) -> io::Result<TcpStream> {
    let mut last = None;
    for addr in (options.host.as_str(), options.port).to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, options.connect_timeout) {
            Ok(tcp) => return Ok(tcp),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address")))
}

impl Connection {
    /// Connects and sets the session up: greeting, EHLO, STARTTLS and EHLO
    /// again, AUTH, as the options say.
    pub fn connect(options: &ClientOptions) -> Result<Connection, Error> {
        let config = Arc::new(options.session_config()?);
        let tcp = connect_tcp(options).map_err(Error::Io)?;
        let _ = tcp.set_nodelay(true);
        tcp.set_write_timeout(Some(options.write_timeout.max(Duration::from_millis(1))))
            .map_err(Error::Io)?;
        let tls = options.tls_settings()?;
        let mut stream = Stream::Plain(tcp);
        let session = if options.security == Security::ImplicitTls {
            let TlsSettings {
                config: tls_config,
                name,
            } = TlsSettings::for_handshake(&tls)?;
            stream
                .connect_tls(tls_config, name, options.connect_timeout)
                .map_err(Error::Tls)?;
            ClientSession::new_tls(config, clock::now())
        } else {
            ClientSession::new(config, clock::now())
        };
        let mut connection = Connection {
            stream,
            session,
            unread: Vec::new(),
            tls,
            handshake_timeout: options.connect_timeout,
            events: VecDeque::new(),
            closed: false,
        };
        loop {
            match connection.next_event()? {
                ClientEvent::Ready(_) => return Ok(connection),
                ClientEvent::Error(e) => return Err(Error::Session(e)),
                other => debug!(?other, "while setting up"),
            }
        }
    }

    /// What the server offers (after TLS, what it offers under TLS).
    pub fn capabilities(&self) -> Option<&Capabilities> {
        self.session.capabilities()
    }

    /// Whether TLS is up.
    pub fn is_tls(&self) -> bool {
        self.session.is_tls()
    }

    /// Whether the session is ready for another message.
    pub fn is_ready(&self) -> bool {
        self.session.is_ready()
    }

    /// Sends one message: the envelope, then the body read to its end. The
    /// body is the message as it should arrive (headers, empty line, text);
    /// dot-stuffing and line endings are the session's job. Returns one result
    /// per recipient (some may be refused while others are delivered); a
    /// transaction refused as a whole is [`Error::Refused`], and the
    /// connection stays usable for the next message.
    pub fn send(
        &mut self,
        envelope: Envelope,
        mut body: impl Read,
    ) -> Result<TransactionResult, Error> {
        self.session
            .send_mail(clock::now(), envelope)
            .map_err(Error::Envelope)?;
        let mut chunk = vec![0u8; BODY_READ];
        // What was read from the body and not taken by the session yet.
        let (mut start, mut end) = (0, 0);
        let mut ended = false;
        loop {
            match self.next_event()? {
                ClientEvent::BodyWanted if !ended => loop {
                    if start == end {
                        let n = loop {
                            match body.read(&mut chunk) {
                                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                                other => break other.map_err(Error::Io)?,
                            }
                        };
                        if n == 0 {
                            self.session
                                .end_body(clock::now())
                                .map_err(Error::Envelope)?;
                            ended = true;
                            break;
                        }
                        (start, end) = (0, n);
                    }
                    start += self
                        .session
                        .body(clock::now(), &chunk[start..end])
                        .map_err(Error::Envelope)?;
                    if start < end {
                        // The session's buffer is full: wait for BodyWanted.
                        break;
                    }
                },
                ClientEvent::TransactionComplete(result) => return Ok(result),
                ClientEvent::TransactionFailed(failure) => return Err(Error::Refused(failure)),
                ClientEvent::Error(e) => return Err(Error::Session(e)),
                other => debug!(?other, "while sending"),
            }
        }
    }

    /// `RSET` (RFC 5321 §4.1.1.5), e.g. before reusing a connection; returns the reply.
    pub fn rset(&mut self) -> Result<Reply, Error> {
        self.session
            .rset(clock::now())
            .map_err(|e| Error::Envelope(e.into()))?;
        self.wait_reply()
    }

    /// `NOOP` (RFC 5321 §4.1.1.9), to check that the connection is alive.
    pub fn noop(&mut self) -> Result<Reply, Error> {
        self.session
            .noop(clock::now())
            .map_err(|e| Error::Envelope(e.into()))?;
        self.wait_reply()
    }

    fn wait_reply(&mut self) -> Result<Reply, Error> {
        loop {
            match self.next_event()? {
                ClientEvent::Reply { reply, .. } => return Ok(reply),
                ClientEvent::Error(e) => return Err(Error::Session(e)),
                other => debug!(?other, "while waiting for a reply"),
            }
        }
    }

    /// `QUIT` and close (RFC 5321 §4.1.1.10).
    pub fn quit(mut self) -> Result<(), Error> {
        if self.session.is_closed() {
            return Ok(());
        }
        self.session
            .quit(clock::now())
            .map_err(|e| Error::Envelope(e.into()))?;
        loop {
            match self.next_event() {
                Err(Error::Closed) => return Ok(()),
                Err(e) => return Err(e),
                Ok(ClientEvent::Error(e)) => return Err(Error::Session(e)),
                Ok(_) => {}
            }
        }
    }

    /// The drain loop (ARCHITECTURE.md) until the session has an event for
    /// the application. An event is handed out only once the batch it came
    /// in was drained (its bytes written, a `Close` acted on), so that what
    /// the session wrote after it (the RSET after a refused transaction, the
    /// QUIT after a fatal error) goes out even if the caller stops there.
    /// `Err(Closed)` once the session is over.
    fn next_event(&mut self) -> Result<ClientEvent, Error> {
        let mut buf = [0u8; READ_SIZE];
        loop {
            match self.session.poll_output() {
                Output::Event(event) => self.events.push_back(event),
                Output::Transmit(bytes) => self.stream.write_batch(&bytes).map_err(Error::Io)?,
                Output::StartTls => {
                    let TlsSettings { config, name } = TlsSettings::for_handshake(&self.tls)?;
                    // Nothing the server sent in plaintext after its 220
                    // survives into the TLS session (RFC 3207 §5).
                    self.unread = Vec::new();
                    self.stream
                        .connect_tls(config, name, self.handshake_timeout)
                        .map_err(Error::Tls)?;
                    misuse(self.session.handle_tls_established(clock::now()))?;
                }
                Output::Close => {
                    if !self.closed {
                        self.closed = true;
                        self.stream.close();
                    }
                    return self.events.pop_front().ok_or(Error::Closed);
                }
                Output::Wait {
                    deadline,
                    wants_read,
                } => {
                    if let Some(event) = self.events.pop_front() {
                        return Ok(event);
                    }
                    if wants_read && !self.unread.is_empty() {
                        let n = misuse(self.session.handle_bytes(clock::now(), &self.unread))?;
                        self.unread.drain(..n);
                        if n > 0 {
                            continue;
                        }
                    }
                    let timeout = clock::until(deadline);
                    if timeout.is_some_and(|t| t.is_zero()) {
                        misuse(self.session.handle_timeout(clock::now()))?;
                        continue;
                    }
                    if !wants_read {
                        match timeout {
                            Some(t) => {
                                std::thread::sleep(t);
                                continue;
                            }
                            // Only the application can move the session on.
                            None => {
                                return Err(Error::Envelope(ClientError::Misuse(
                                    smtp_proto::output::ApiMisuse::InvalidState,
                                )));
                            }
                        }
                    }
                    self.stream.set_read_timeout(timeout).map_err(Error::Io)?;
                    match self.stream.read(&mut buf) {
                        Ok(0) => misuse(self.session.handle_eof(clock::now()))?,
                        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                            misuse(self.session.handle_eof(clock::now()))?
                        }
                        Ok(n) => {
                            let taken = misuse(self.session.handle_bytes(clock::now(), &buf[..n]))?;
                            self.unread.extend_from_slice(&buf[taken..n]);
                        }
                        Err(e) if is_timeout(&e) => {
                            if clock::until(deadline).is_some_and(|t| t.is_zero()) {
                                misuse(self.session.handle_timeout(clock::now()))?;
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(Error::Io(e)),
                    }
                }
                _ => return Err(Error::Closed),
            }
        }
    }
}

fn misuse<T>(result: Result<T, smtp_proto::output::ApiMisuse>) -> Result<T, Error> {
    result.map_err(|e| Error::Envelope(ClientError::Misuse(e)))
}
