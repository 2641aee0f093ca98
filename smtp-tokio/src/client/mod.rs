//! Sending mail on tokio: a [`Connection`] to one server, set up as
//! [`ClientOptions`] say (plain, STARTTLS required or opportunistic, implicit
//! TLS; AUTH), that sends messages one after another, and a small [`Pool`].
//!
//! ```no_run
//! use smtp_tokio::client::{ClientOptions, Connection};
//! use smtp_tokio::proto::client::Envelope;
//!
//! # async fn send() -> Result<(), smtp_tokio::client::Error> {
//! let options = ClientOptions::from_url("smtp://me%40example.com:app-password@smtp.example.com:587?tls=required")?;
//! let mut connection = Connection::connect(&options).await?;
//! let envelope = Envelope::parse("me@example.com", ["you@example.org"]).expect("valid addresses");
//! let result = connection
//!     .send(envelope, &b"Subject: hello\r\n\r\nHi!\r\n"[..])
//!     .await?;
//! for rcpt in &result.recipients {
//!     println!("{} {}", rcpt.path, rcpt.reply());
//! }
//! connection.quit().await?;
//! # Ok(()) }
//! ```
//!
//! # Settings of well-known providers
//!
//! Each takes an app password (made in the account's security settings when
//! two-step verification is on) or an OAuth 2.0 access token (`auth=xoauth2`);
//! `%40` is the `@` of the user name.
//!
//! | provider | URL |
//! |---|---|
//! | Gmail / Google Workspace | `smtp://me%40gmail.com:APP-PASSWORD@smtp.gmail.com:587?tls=required` or `smtps://…@smtp.gmail.com:465`; OAuth: `…?tls=required&auth=xoauth2` with the access token as password |
//! | Outlook.com / Microsoft 365 | `smtp://me%40outlook.com:TOKEN@smtp-mail.outlook.com:587?tls=required&auth=xoauth2` (Microsoft 365: `smtp.office365.com:587`; basic AUTH is being retired there, so use the token) |
//! | Yahoo Mail | `smtps://me%40yahoo.com:APP-PASSWORD@smtp.mail.yahoo.com:465` |
//! | Zoho Mail | `smtps://me%40zoho.com:APP-PASSWORD@smtp.zoho.com:465` (`smtppro.zoho.com` for a domain of your own) |
//! | Fastmail | `smtps://me%40fastmail.com:APP-PASSWORD@smtp.fastmail.com:465` |

mod pool;

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use rustls_pki_types::ServerName;
use smtp_proto::client::{ClientError, ClientEvent, ClientSession, Envelope, TransactionResult};
use smtp_proto::ext::Capabilities;
use smtp_proto::output::Output;
use smtp_proto::reply::Reply;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tracing::debug;

pub use pool::Pool;
pub use smtp_adapter::options::{ClientOptions, Error, Security, UrlError};

use crate::clock;
use crate::stream::Stream;

/// Where the body of a message comes from: bytes in memory or any reader.
const BODY_READ: usize = 64 * 1024;

/// One connection to a server, set up and ready to send.
pub struct Connection {
    stream: Stream,
    session: ClientSession,
    unread: BytesMut,
    tls: Option<(Arc<rustls::ClientConfig>, ServerName<'static>)>,
    write_timeout: Duration,
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

impl Connection {
    /// Connects and sets the session up: greeting, EHLO, STARTTLS and EHLO
    /// again, AUTH, as the options say.
    pub async fn connect(options: &ClientOptions) -> Result<Connection, Error> {
        let config = Arc::new(options.session_config()?);
        let tcp = tokio::time::timeout(
            options.connect_timeout,
            TcpStream::connect((options.host.as_str(), options.port)),
        )
        .await
        .map_err(|_| Error::Io(io::Error::new(io::ErrorKind::TimedOut, "connect timed out")))?
        .map_err(Error::Io)?;
        let _ = tcp.set_nodelay(true);
        let tls = if options.security == Security::Plain {
            None
        } else {
            let name = ServerName::try_from(options.host.clone())
                .map_err(|e| Error::Config(format!("server name: {e}")))?;
            Some((options.trust.client_config().map_err(Error::Tls)?, name))
        };
        let mut stream = Stream::Plain(tcp);
        let session = if options.security == Security::ImplicitTls {
            let (tls_config, name) = tls.clone().expect("TLS settings");
            handshake(&mut stream, tls_config, name, options.connect_timeout).await?;
            ClientSession::new_tls(config, clock::now())
        } else {
            ClientSession::new(config, clock::now())
        };
        let mut connection = Connection {
            stream,
            session,
            unread: BytesMut::new(),
            tls,
            write_timeout: options.write_timeout,
            events: VecDeque::new(),
            closed: false,
        };
        loop {
            match connection.next_event().await? {
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
    pub async fn send<R: AsyncRead + Unpin>(
        &mut self,
        envelope: Envelope,
        mut body: R,
    ) -> Result<TransactionResult, Error> {
        self.session
            .send_mail(clock::now(), envelope)
            .map_err(Error::Envelope)?;
        let mut pending = BytesMut::new();
        let mut ended = false;
        loop {
            match self.next_event().await? {
                ClientEvent::BodyWanted if !ended => loop {
                    if pending.is_empty() {
                        pending.reserve(BODY_READ);
                        if body.read_buf(&mut pending).await.map_err(Error::Io)? == 0 {
                            self.session
                                .end_body(clock::now())
                                .map_err(Error::Envelope)?;
                            ended = true;
                            break;
                        }
                    }
                    let n = self
                        .session
                        .body(clock::now(), &pending)
                        .map_err(Error::Envelope)?;
                    let _ = pending.split_to(n);
                    if !pending.is_empty() {
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
    pub async fn rset(&mut self) -> Result<Reply, Error> {
        self.session
            .rset(clock::now())
            .map_err(|e| Error::Envelope(e.into()))?;
        self.wait_reply().await
    }

    /// `NOOP` (RFC 5321 §4.1.1.9), to check that the connection is alive.
    pub async fn noop(&mut self) -> Result<Reply, Error> {
        self.session
            .noop(clock::now())
            .map_err(|e| Error::Envelope(e.into()))?;
        self.wait_reply().await
    }

    async fn wait_reply(&mut self) -> Result<Reply, Error> {
        loop {
            match self.next_event().await? {
                ClientEvent::Reply { reply, .. } => return Ok(reply),
                ClientEvent::Error(e) => return Err(Error::Session(e)),
                other => debug!(?other, "while waiting for a reply"),
            }
        }
    }

    /// `QUIT` and close (RFC 5321 §4.1.1.10).
    pub async fn quit(mut self) -> Result<(), Error> {
        if self.session.is_closed() {
            return Ok(());
        }
        self.session
            .quit(clock::now())
            .map_err(|e| Error::Envelope(e.into()))?;
        loop {
            match self.next_event().await {
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
    async fn next_event(&mut self) -> Result<ClientEvent, Error> {
        loop {
            match self.session.poll_output() {
                Output::Event(event) => self.events.push_back(event),
                Output::Transmit(bytes) => {
                    tokio::time::timeout(self.write_timeout, async {
                        self.stream.write_all(&bytes).await?;
                        self.stream.flush().await
                    })
                    .await
                    .map_err(|_| {
                        Error::Io(io::Error::new(io::ErrorKind::TimedOut, "write timed out"))
                    })?
                    .map_err(Error::Io)?;
                }
                Output::StartTls => {
                    let (config, name) = self
                        .tls
                        .clone()
                        .ok_or_else(|| Error::Config("STARTTLS without TLS settings".into()))?;
                    // Nothing the server sent in plaintext after its 220
                    // survives into the TLS session (RFC 3207 §5).
                    self.unread = BytesMut::new();
                    handshake(&mut self.stream, config, name, self.write_timeout).await?;
                    misuse(self.session.handle_tls_established(clock::now()))?;
                }
                Output::Close => {
                    if !self.closed {
                        self.closed = true;
                        let _ =
                            tokio::time::timeout(self.write_timeout, self.stream.shutdown()).await;
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
                        let _ = self.unread.split_to(n);
                        if n > 0 {
                            continue;
                        }
                    }
                    if !wants_read && deadline.is_none() {
                        // Only the application can move the session on.
                        return Err(Error::Envelope(ClientError::Misuse(
                            smtp_proto::output::ApiMisuse::InvalidState,
                        )));
                    }
                    if wants_read && self.unread.capacity() - self.unread.len() < 1024 {
                        self.unread.reserve(8 * 1024);
                    }
                    tokio::select! {
                        read = self.stream.read_buf(&mut self.unread), if wants_read => {
                            if read.map_err(Error::Io)? == 0 {
                                misuse(self.session.handle_eof(clock::now()))?;
                            } else {
                                let n = misuse(self.session.handle_bytes(clock::now(), &self.unread))?;
                                let _ = self.unread.split_to(n);
                            }
                        }
                        () = clock::sleep_until(deadline) => {
                            misuse(self.session.handle_timeout(clock::now()))?;
                        }
                    }
                }
                _ => return Err(Error::Closed),
            }
        }
    }
}

/// The client side of a TLS handshake (implicit TLS or STARTTLS), bounded in time.
async fn handshake(
    stream: &mut Stream,
    config: Arc<rustls::ClientConfig>,
    name: ServerName<'static>,
    timeout: Duration,
) -> Result<(), Error> {
    tokio::time::timeout(timeout, stream.connect_tls(config, name))
        .await
        .map_err(|_| {
            Error::Tls(io::Error::new(
                io::ErrorKind::TimedOut,
                "TLS handshake timed out",
            ))
        })?
        .map_err(Error::Tls)
}

fn misuse<T>(result: Result<T, smtp_proto::output::ApiMisuse>) -> Result<T, Error> {
    result.map_err(|e| Error::Envelope(ClientError::Misuse(e)))
}
