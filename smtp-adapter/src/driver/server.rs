//! One server connection: the drain loop of ARCHITECTURE.md between a
//! [`Transport`] and a [`ServerSession`], with the application's [`Handler`]
//! answering decisions.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use smtp_proto::output::Output;
use smtp_proto::server::{Decision, ServerConfig, ServerEvent, ServerSession};
use tracing::{Instrument, debug, info, warn};

use super::{Input, Runtime, Shutdown, Transport, clock, misuse, wait_input, within};
use crate::handler::{ConnectionInfo, Envelope, Handler, Message, internal_error};

/// What every connection of a server shares.
#[derive(Debug)]
pub struct ConnectionSettings {
    /// The core's configuration.
    pub config: Arc<ServerConfig>,
    /// The TLS configuration, for STARTTLS and implicit TLS.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// How long writing one batch of replies may take.
    pub write_timeout: Duration,
    /// How long a TLS handshake may take.
    pub handshake_timeout: Duration,
}

/// Runs one connection to its end: the implicit-TLS handshake when
/// `info.implicit_tls`, then the session. Errors are logged, never returned:
/// a connection's failure is the peer's problem, not the server's. The
/// session is cut off with `421 4.3.2` once `shutdown` says so.
pub async fn serve_connection<R: Runtime, T: Transport, H: Handler>(
    stream: T,
    info: ConnectionInfo,
    settings: Arc<ConnectionSettings>,
    handler: H,
    shutdown: Shutdown,
) {
    let span = tracing::info_span!(
        "smtp",
        peer = %info.peer,
        tls = info.implicit_tls,
        user = tracing::field::Empty
    );
    async move {
        debug!("connected");
        match run::<R, T, H>(stream, info, &settings, handler, shutdown).await {
            Ok(()) => debug!("closed"),
            Err(e) => info!(error = %e, "connection ended"),
        }
    }
    .instrument(span)
    .await
}

struct Conn<T, H> {
    stream: T,
    session: ServerSession,
    handler: H,
    /// Read from the socket and not taken by the session yet.
    unread: BytesMut,
    /// Content collected for [`Handler::BUFFER_CONTENT`].
    content: BytesMut,
}

async fn run<R: Runtime, T: Transport, H: Handler>(
    mut stream: T,
    info: ConnectionInfo,
    settings: &ConnectionSettings,
    handler: H,
    shutdown: Shutdown,
) -> io::Result<()> {
    let session = if info.implicit_tls {
        let tls = settings
            .tls
            .clone()
            .ok_or_else(|| io::Error::other("no certificate"))?;
        // Boxed: a handshake's state is large and needed once, so it does not
        // belong in every idle connection's future.
        within::<R, _>(
            settings.handshake_timeout,
            "TLS handshake",
            Box::pin(stream.accept_tls(tls)),
        )
        .await?;
        ServerSession::new_tls(settings.config.clone(), clock::now())
    } else {
        ServerSession::new(settings.config.clone(), clock::now())
    };
    let mut conn = Conn {
        stream,
        session,
        handler,
        unread: BytesMut::new(),
        content: BytesMut::new(),
    };
    loop {
        // 1. Drain.
        let (deadline, wants_read) = loop {
            match conn.session.poll_output() {
                Output::Event(event) => conn.on_event(event, &info).await?,
                Output::Transmit(bytes) => conn.write::<R>(&bytes, settings.write_timeout).await?,
                Output::StartTls => {
                    let tls = settings
                        .tls
                        .clone()
                        .ok_or_else(|| io::Error::other("no certificate"))?;
                    // Nothing read in plaintext after STARTTLS survives into
                    // the TLS session (RFC 3207 §5, ARCHITECTURE.md R9).
                    conn.unread = BytesMut::new();
                    let handshake = Box::pin(conn.stream.accept_tls(tls));
                    within::<R, _>(settings.handshake_timeout, "TLS handshake", handshake).await?;
                    debug!("TLS established");
                    tracing::Span::current().record("tls", true);
                    misuse(conn.session.handle_tls_established(clock::now()))?;
                }
                Output::Close => {
                    let _ =
                        within::<R, _>(settings.write_timeout, "shutdown", conn.stream.shutdown())
                            .await;
                    return Ok(());
                }
                Output::Wait {
                    deadline,
                    wants_read,
                } => break (deadline, wants_read),
                _ => return Err(io::Error::other("unknown output")),
            }
        };
        // 2. Wait: input left over from an earlier read first.
        if wants_read && !conn.unread.is_empty() {
            let n = misuse(conn.session.handle_bytes(clock::now(), &conn.unread))?;
            let _ = conn.unread.split_to(n);
            if n > 0 {
                continue;
            }
        }
        if conn.unread.is_empty() {
            // Idle: no read buffer until there is something to read.
            conn.unread = BytesMut::new();
        }
        let input = wait_input::<R, T>(
            &mut conn.stream,
            &mut conn.unread,
            wants_read,
            deadline,
            Some(&shutdown),
        )
        .await?;
        match input {
            Input::Read => {
                let n = misuse(conn.session.handle_bytes(clock::now(), &conn.unread))?;
                let _ = conn.unread.split_to(n);
            }
            Input::Eof => misuse(conn.session.handle_eof(clock::now()))?,
            Input::Deadline => misuse(conn.session.handle_timeout(clock::now()))?,
            Input::Shutdown => misuse(conn.session.handle_shutdown(clock::now()))?,
            Input::Again => {}
        }
    }
}

impl<T: Transport, H: Handler> Conn<T, H> {
    async fn write<R: Runtime>(&mut self, bytes: &Bytes, timeout: Duration) -> io::Result<()> {
        // RFC 5321 §4.5.3.2: a peer that does not read its replies is cut off.
        within::<R, _>(timeout, "write", self.stream.write_all(bytes)).await
    }

    fn envelope(&self) -> Envelope {
        Envelope::of(&self.session)
    }

    async fn on_event(&mut self, event: ServerEvent, info: &ConnectionInfo) -> io::Result<()> {
        let decision = match &event {
            ServerEvent::Connected => self.handler.connect(info).await,
            ServerEvent::Hello { kind, name } => self.handler.hello(*kind, name).await,
            ServerEvent::Auth {
                mechanism,
                credentials,
            } => {
                let decision = self.handler.auth(mechanism, credentials).await;
                if matches!(decision, Decision::Accept | Decision::AcceptWith(_)) {
                    let user = match credentials {
                        smtp_proto::wire::sasl::Credentials::Password { username, .. } => {
                            Some(username.as_str())
                        }
                        smtp_proto::wire::sasl::Credentials::Bearer { user, .. } => user.as_deref(),
                        _ => None,
                    };
                    if let Some(user) = user {
                        tracing::Span::current().record("user", user);
                    }
                }
                decision
            }
            ServerEvent::MailFrom { from, params } => self.handler.mail_from(from, params).await,
            ServerEvent::RcptTo { to, params } => self.handler.rcpt_to(to, params).await,
            ServerEvent::DataStart => {
                let envelope = self.envelope();
                self.content.clear();
                self.handler.data_start(&envelope).await
            }
            ServerEvent::MessageData(piece) => {
                if H::BUFFER_CONTENT {
                    self.content.extend_from_slice(piece);
                } else {
                    self.handler.data(piece.clone()).await;
                }
                return Ok(());
            }
            ServerEvent::MessageEnd(findings) => {
                let message = Message {
                    envelope: self.envelope(),
                    findings: *findings,
                    content: std::mem::take(&mut self.content).freeze(),
                };
                let decision = self.handler.message(&message).await;
                info!(
                    from = %message.envelope.sender,
                    recipients = message.envelope.recipients.len(),
                    size = findings.size,
                    accepted = matches!(decision, Decision::Accept | Decision::AcceptWith(_)),
                    "message"
                );
                decision
            }
            other => {
                if matches!(other, ServerEvent::TransactionReset) {
                    self.content = BytesMut::new();
                }
                if let ServerEvent::ClientFault(reply) = other {
                    debug!(%reply, "client fault");
                }
                self.handler.notice(other).await;
                return Ok(());
            }
        };
        if let Err(e) = self.session.respond(clock::now(), decision) {
            warn!(error = %e, "the handler's decision does not fit; refusing");
            misuse(self.session.respond(clock::now(), internal_error()))?;
        }
        Ok(())
    }
}
