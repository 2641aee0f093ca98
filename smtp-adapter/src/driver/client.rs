//! One client connection: the drain loop of ARCHITECTURE.md between a
//! [`Transport`] and a [`ClientSession`], with calls for the application.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use rustls_pki_types::ServerName;
use smtp_proto::client::{ClientError, ClientEvent, ClientSession, Envelope, TransactionResult};
use smtp_proto::ext::Capabilities;
use smtp_proto::output::Output;
use smtp_proto::reply::Reply;
use tracing::debug;

use super::{Input, Runtime, Transport, clock, wait_input, within};
use crate::options::{ClientOptions, Error, Security, TlsSettings};

/// How much of a body is read at a time.
const BODY_READ: usize = 64 * 1024;

/// Where a message's body comes from: bytes in memory (`&[u8]`), or a reader
/// of the adapter's runtime (each adapter has a `Reader` wrapper for those).
pub trait Body: Send {
    /// Reads the next piece into `buf`; `Ok(0)` at the end.
    fn read_into(&mut self, buf: &mut BytesMut) -> impl Future<Output = io::Result<usize>> + Send;
}

impl Body for &[u8] {
    async fn read_into(&mut self, buf: &mut BytesMut) -> io::Result<usize> {
        let n = self.len().min(BODY_READ);
        buf.extend_from_slice(&self[..n]);
        *self = &self[n..];
        Ok(n)
    }
}

/// How an adapter opens a client's socket.
pub trait Connect: Runtime {
    /// The adapter's connection.
    type Stream: Transport;

    /// Opens a TCP connection to the first address of the options' host and
    /// port that answers (with `TCP_NODELAY` set: a batch is one write). The
    /// caller bounds it with the connect timeout.
    fn connect(options: &ClientOptions) -> impl Future<Output = io::Result<Self::Stream>> + Send;
}

/// One connection to a server, set up and ready to send: the client drain
/// loop over an adapter's socket and timers (`R`). Each asynchronous adapter
/// names it `client::Connection`; the blocking one runs it on its thread.
pub struct ClientConnection<R: Connect> {
    stream: R::Stream,
    session: ClientSession,
    unread: BytesMut,
    tls: Option<TlsSettings>,
    write_timeout: Duration,
    /// Events of the batch being drained, handed out once its bytes are
    /// written (ARCHITECTURE.md R2: events come first in a drain, the
    /// batch's `Transmit` last).
    events: VecDeque<ClientEvent>,
    /// The session said `Close` and the connection was shut down.
    closed: bool,
}

impl<R: Connect> std::fmt::Debug for ClientConnection<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConnection")
            .field("tls", &self.session.is_tls())
            .field("ready", &self.session.is_ready())
            .finish_non_exhaustive()
    }
}

impl<R: Connect> ClientConnection<R> {
    /// Connects and sets the session up: the implicit-TLS handshake (with
    /// [`Security::ImplicitTls`]), then greeting, EHLO, STARTTLS and EHLO
    /// again, AUTH, as the options say.
    pub async fn connect(options: &ClientOptions) -> Result<Self, Error> {
        let connect = R::connect(options);
        let stream = within::<R, _>(options.connect_timeout, "connect", connect)
            .await
            .map_err(Error::Io)?;
        Self::start(stream, options).await
    }

    async fn start(mut stream: R::Stream, options: &ClientOptions) -> Result<Self, Error> {
        let config = Arc::new(options.session_config()?);
        let tls = options.tls_settings()?;
        let session = if options.security == Security::ImplicitTls {
            let TlsSettings {
                config: tls_config,
                name,
            } = TlsSettings::for_handshake(&tls)?;
            handshake::<R>(&mut stream, tls_config, name, options.connect_timeout).await?;
            ClientSession::new_tls(config, clock::now())
        } else {
            ClientSession::new(config, clock::now())
        };
        let mut connection = ClientConnection {
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

    /// Sends one message: the envelope, then the body read to its end (bytes,
    /// `&[u8]`, or a runtime's reader in the adapter's `Reader`). The body is
    /// the message as it should arrive (headers, empty line, text);
    /// dot-stuffing and line endings are the session's job. Returns one result
    /// per recipient (some may be refused while others are delivered); a
    /// transaction refused as a whole is [`Error::Refused`], and the
    /// connection stays usable for the next message.
    pub async fn send(
        &mut self,
        envelope: Envelope,
        mut body: impl Body,
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
                        if body.read_into(&mut pending).await.map_err(Error::Io)? == 0 {
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
                    within::<R, _>(self.write_timeout, "write", self.stream.write_all(&bytes))
                        .await
                        .map_err(Error::Io)?;
                }
                Output::StartTls => {
                    let TlsSettings { config, name } = TlsSettings::for_handshake(&self.tls)?;
                    // Nothing the server sent in plaintext after its 220
                    // survives into the TLS session (RFC 3207 §5).
                    self.unread = BytesMut::new();
                    handshake::<R>(&mut self.stream, config, name, self.write_timeout).await?;
                    misuse(self.session.handle_tls_established(clock::now()))?;
                }
                Output::Close => {
                    if !self.closed {
                        self.closed = true;
                        let _ =
                            within::<R, _>(self.write_timeout, "shutdown", self.stream.shutdown())
                                .await;
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
                    let input = wait_input::<R, R::Stream>(
                        &mut self.stream,
                        &mut self.unread,
                        wants_read,
                        deadline,
                        None,
                    )
                    .await
                    .map_err(Error::Io)?;
                    match input {
                        Input::Read => {
                            let n = misuse(self.session.handle_bytes(clock::now(), &self.unread))?;
                            let _ = self.unread.split_to(n);
                        }
                        Input::Eof => misuse(self.session.handle_eof(clock::now()))?,
                        Input::Deadline | Input::Shutdown => {
                            misuse(self.session.handle_timeout(clock::now()))?
                        }
                        Input::Again => {}
                    }
                }
                _ => return Err(Error::Closed),
            }
        }
    }
}

/// The client side of a TLS handshake (implicit TLS or STARTTLS), bounded in time.
async fn handshake<R: Connect>(
    stream: &mut R::Stream,
    config: Arc<rustls::ClientConfig>,
    name: ServerName<'static>,
    timeout: Duration,
) -> Result<(), Error> {
    within::<R, _>(timeout, "TLS handshake", stream.connect_tls(config, name))
        .await
        .map_err(Error::Tls)
}

fn misuse<T>(result: Result<T, smtp_proto::output::ApiMisuse>) -> Result<T, Error> {
    result.map_err(|e| Error::Envelope(ClientError::Misuse(e)))
}
