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
mod url;

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use rustls_pki_types::ServerName;
use smtp_proto::Protocol;
use smtp_proto::client::{
    ClientConfig, ClientError, ClientEvent, ClientSession, Envelope, SessionError, TlsPolicy,
    TransactionFailure, TransactionResult,
};
use smtp_proto::ext::Capabilities;
use smtp_proto::output::Output;
use smtp_proto::reply::Reply;
use smtp_proto::wire::sasl::Credentials;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tracing::debug;

pub use pool::Pool;
pub use url::UrlError;

use crate::clock;
use crate::stream::Stream;
use crate::tls::Trust;

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Plaintext; STARTTLS is never sent.
    Plain,
    /// STARTTLS before anything else, or fail: never falls back to plaintext
    /// (RFC 3207, RFC 8314 §3.2). Submission on port 587.
    StartTlsRequired,
    /// STARTTLS when offered, plaintext otherwise (RFC 3207 §4.1; relay on port
    /// 25). Protects against passive eavesdropping only.
    StartTlsOpportunistic,
    /// TLS from the first byte (RFC 8314 §3.3, port 465).
    ImplicitTls,
}

/// Where and how to connect.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientOptions {
    /// The server's host name or address (also the name its certificate must carry).
    pub host: String,
    /// The server's port.
    pub port: u16,
    /// TLS.
    pub security: Security,
    /// What vouches for the server's certificate.
    pub trust: Trust,
    /// AUTH credentials (RFC 4954): PLAIN is preferred, then LOGIN; bearer
    /// tokens use XOAUTH2 or OAUTHBEARER.
    pub credentials: Option<Credentials>,
    /// The name given in EHLO/LHLO.
    pub hello_name: String,
    /// Speak LMTP (RFC 2033).
    pub lmtp: bool,
    /// Send content with BDAT when the server offers CHUNKING (RFC 3030).
    pub chunking: bool,
    /// How long connecting (TCP and TLS) may take.
    pub connect_timeout: Duration,
    /// How long writing one batch of commands or content may take.
    pub write_timeout: Duration,
}

impl ClientOptions {
    /// A server, with opportunistic STARTTLS, webpki roots, no AUTH, and
    /// `localhost` as the EHLO name.
    pub fn new(host: &str, port: u16) -> ClientOptions {
        ClientOptions {
            host: host.to_string(),
            port,
            security: Security::StartTlsOpportunistic,
            trust: Trust::WebPki,
            credentials: None,
            hello_name: "localhost".to_string(),
            lmtp: false,
            chunking: false,
            connect_timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(180),
        }
    }

    /// Settings from a URL:
    ///
    /// * `smtp://host[:port]` (default port 25): opportunistic STARTTLS;
    ///   `?tls=required` makes it mandatory (submission, port 587),
    ///   `?tls=none` turns it off;
    /// * `smtps://host[:port]` (default port 465): implicit TLS (RFC 8314);
    /// * `lmtp://host[:port]` (default port 24): LMTP;
    /// * `user:password@` before the host gives AUTH credentials
    ///   (percent-encoded: `%40` for `@`); with `?auth=xoauth2` the password
    ///   is an OAuth 2.0 access token;
    /// * `?helo=NAME` sets the EHLO name.
    ///
    /// ```
    /// use smtp_tokio::client::{ClientOptions, Security};
    /// let o = ClientOptions::from_url("smtp://user:pass@mail.example.com:587?tls=required").unwrap();
    /// assert_eq!((o.host.as_str(), o.port, o.security), ("mail.example.com", 587, Security::StartTlsRequired));
    /// let o = ClientOptions::from_url("smtps://user:pass@mail.example.com").unwrap();
    /// assert_eq!((o.port, o.security), (465, Security::ImplicitTls));
    /// ```
    pub fn from_url(url: &str) -> Result<ClientOptions, UrlError> {
        url::parse(url)
    }

    fn session_config(&self) -> Result<ClientConfig, Error> {
        let mut config = ClientConfig::new(&self.hello_name)
            .map_err(|e| Error::Config(format!("EHLO name: {e}")))?;
        config.tls = match self.security {
            Security::Plain => TlsPolicy::Disabled,
            Security::StartTlsRequired => TlsPolicy::Required,
            Security::StartTlsOpportunistic | Security::ImplicitTls => TlsPolicy::Opportunistic,
        };
        config.credentials = self.credentials.clone();
        config.protocol = if self.lmtp {
            Protocol::Lmtp
        } else {
            Protocol::Smtp
        };
        config.use_chunking = self.chunking;
        Ok(config)
    }
}

/// Why sending failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server refused the transaction (the sender, every recipient, or
    /// DATA), with its replies. The connection is still usable.
    #[error("refused by the server: {}", refusal_text(.0))]
    Refused(TransactionFailure),
    /// The session ended: greeting or EHLO refused, STARTTLS unavailable or
    /// refused, AUTH failed, a protocol fault of the server, a timeout.
    #[error("SMTP session failed: {0}")]
    Session(#[source] SessionError),
    /// The envelope cannot be sent to this server (an extension it lacks, a
    /// size over its limit, a bad address), or the connection is not ready.
    #[error("cannot send this envelope: {0}")]
    Envelope(#[source] ClientError),
    /// The TLS handshake failed (certificate not trusted, no common cipher...).
    #[error("TLS failed: {0}")]
    Tls(#[source] io::Error),
    /// Connecting, reading or writing failed, or timed out.
    #[error("connection failed: {0}")]
    Io(#[source] io::Error),
    /// Bad settings.
    #[error("bad configuration: {0}")]
    Config(String),
    /// A URL that could not be read.
    #[error(transparent)]
    Url(#[from] UrlError),
    /// The connection is closed.
    #[error("the connection is closed")]
    Closed,
}

fn refusal_text(failure: &TransactionFailure) -> String {
    match failure {
        TransactionFailure::MailRefused(r) => format!("MAIL: {r}"),
        TransactionFailure::NoRecipientAccepted(rcpts) => rcpts
            .iter()
            .map(|r| format!("{}: {}", r.path, r.reply()))
            .collect::<Vec<_>>()
            .join("; "),
        TransactionFailure::DataRefused { reply, .. } => format!("DATA: {reply}"),
        other => format!("{other:?}"),
    }
}

impl Error {
    /// The server's reply, when it refused something.
    pub fn reply(&self) -> Option<&Reply> {
        match self {
            Error::Refused(TransactionFailure::MailRefused(r))
            | Error::Refused(TransactionFailure::DataRefused { reply: r, .. }) => Some(r),
            Error::Refused(TransactionFailure::NoRecipientAccepted(rcpts)) => {
                rcpts.first().map(|r| r.reply())
            }
            Error::Session(
                SessionError::GreetingRefused(r)
                | SessionError::ServiceUnavailable(r)
                | SessionError::HelloRefused(r)
                | SessionError::TlsRefused(r),
            ) => Some(r),
            _ => None,
        }
    }

    /// Whether trying again later may work (a 4yz reply, a timeout, a
    /// connection error), as opposed to a permanent refusal (5yz).
    pub fn is_transient(&self) -> bool {
        match self.reply() {
            Some(r) => r.code().is_transient_negative(),
            None => !matches!(self, Error::Config(_) | Error::Url(_) | Error::Envelope(_)),
        }
    }
}

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
