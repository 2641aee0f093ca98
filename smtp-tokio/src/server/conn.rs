//! One connection: the drain loop of ARCHITECTURE.md between a socket and a
//! [`ServerSession`], with the application's [`Handler`] answering decisions.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use smtp_proto::output::Output;
use smtp_proto::server::{Decision, ServerConfig, ServerEvent, ServerSession};
use tokio::io::AsyncWriteExt;
use tokio::sync::watch;
use tracing::{Instrument, debug, info, warn};

use smtp_adapter::handler::internal_error;

use super::{ConnectionInfo, Envelope, Handler, Message};
use crate::clock;
use crate::stream::Stream;

/// How much is read from the socket at a time; reserved only while reading.
const READ_SIZE: usize = 8 * 1024;

/// What a connection needs from its server.
pub(crate) struct Shared {
    pub(crate) config: Arc<ServerConfig>,
    pub(crate) tls: Option<Arc<rustls::ServerConfig>>,
    pub(crate) write_timeout: Duration,
    pub(crate) handshake_timeout: Duration,
}

/// Where a graceful shutdown stands, as seen by a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shutdown {
    Running,
    /// Stop accepting; sessions go on until the grace period ends.
    Draining,
    /// The grace period is over: `421` and close.
    Now,
}

/// Runs one connection to its end. Errors are logged, never returned: a
/// connection's failure is the peer's problem, not the server's.
pub(crate) async fn serve<H: Handler>(
    tcp: tokio::net::TcpStream,
    info: ConnectionInfo,
    shared: Arc<Shared>,
    handler: H,
    shutdown: watch::Receiver<Shutdown>,
) {
    let span = tracing::info_span!(
        "smtp",
        peer = %info.peer,
        tls = info.implicit_tls,
        user = tracing::field::Empty
    );
    async move {
        debug!("connected");
        match run(tcp, info, &shared, handler, shutdown).await {
            Ok(()) => debug!("closed"),
            Err(e) => info!(error = %e, "connection ended"),
        }
    }
    .instrument(span)
    .await
}

struct Conn<H> {
    stream: Stream,
    session: ServerSession,
    handler: H,
    /// Read from the socket and not taken by the session yet.
    unread: BytesMut,
    /// Content collected for [`Handler::BUFFER_CONTENT`].
    content: BytesMut,
}

async fn run<H: Handler>(
    tcp: tokio::net::TcpStream,
    info: ConnectionInfo,
    shared: &Shared,
    handler: H,
    mut shutdown: watch::Receiver<Shutdown>,
) -> io::Result<()> {
    let _ = tcp.set_nodelay(true);
    let mut stream = Stream::Plain(tcp);
    let session = if info.implicit_tls {
        let tls = shared
            .tls
            .clone()
            .ok_or_else(|| io::Error::other("no certificate"))?;
        tokio::time::timeout(shared.handshake_timeout, stream.accept_tls(tls))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out"))??;
        ServerSession::new_tls(shared.config.clone(), clock::now())
    } else {
        ServerSession::new(shared.config.clone(), clock::now())
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
                Output::Transmit(bytes) => conn.write(&bytes, shared.write_timeout).await?,
                Output::StartTls => {
                    let tls = shared
                        .tls
                        .clone()
                        .ok_or_else(|| io::Error::other("no certificate"))?;
                    // Nothing read in plaintext after STARTTLS survives into
                    // the TLS session (RFC 3207 §5, ARCHITECTURE.md R9).
                    conn.unread.clear();
                    conn.unread = BytesMut::new();
                    tokio::time::timeout(shared.handshake_timeout, conn.stream.accept_tls(tls))
                        .await
                        .map_err(|_| {
                            io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out")
                        })??;
                    debug!("TLS established");
                    tracing::Span::current().record("tls", true);
                    misuse(conn.session.handle_tls_established(clock::now()))?;
                }
                Output::Close => {
                    let _ =
                        tokio::time::timeout(shared.write_timeout, conn.stream.shutdown()).await;
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
        let state = *shutdown.borrow();
        if state == Shutdown::Now {
            misuse(conn.session.handle_shutdown(clock::now()))?;
            continue;
        }
        tokio::select! {
            read = conn.stream.read_into(&mut conn.unread, READ_SIZE), if wants_read => {
                if read? == 0 {
                    misuse(conn.session.handle_eof(clock::now()))?;
                } else {
                    let n = misuse(conn.session.handle_bytes(clock::now(), &conn.unread))?;
                    let _ = conn.unread.split_to(n);
                }
            }
            () = clock::sleep_until(deadline) => {
                misuse(conn.session.handle_timeout(clock::now()))?;
            }
            changed = shutdown.changed() => {
                // A server that is gone cannot wait for this session either.
                if changed.is_err() || *shutdown.borrow() == Shutdown::Now {
                    misuse(conn.session.handle_shutdown(clock::now()))?;
                }
            }
        }
    }
}

/// The session refused a call: a bug in this adapter, reported as an error
/// of the connection.
fn misuse<T>(result: Result<T, smtp_proto::output::ApiMisuse>) -> io::Result<T> {
    result.map_err(|e| io::Error::other(format!("smtp-proto API misuse: {e}")))
}

impl<H: Handler> Conn<H> {
    async fn write(&mut self, bytes: &Bytes, timeout: Duration) -> io::Result<()> {
        // RFC 5321 §4.5.3.2: a peer that does not read its replies is cut off.
        tokio::time::timeout(timeout, async {
            self.stream.write_all(bytes).await?;
            self.stream.flush().await
        })
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "write timed out"))?
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

#[cfg(test)]
mod tests {
    /// An idle connection costs its task (this future), the session and the
    /// socket, nothing else: the future stays small (3.1 KB in a debug build
    /// when this was written) so that thousands of idle connections are cheap.
    #[tokio::test]
    async fn the_connection_future_is_small() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let shared = std::sync::Arc::new(super::Shared {
            config: std::sync::Arc::new(smtp_proto::server::ServerConfig::new("x")),
            tls: None,
            write_timeout: std::time::Duration::from_secs(1),
            handshake_timeout: std::time::Duration::from_secs(1),
        });
        let (_tx, rx) = tokio::sync::watch::channel(super::Shutdown::Running);
        let info = super::ConnectionInfo {
            peer: addr,
            local: addr,
            implicit_tls: false,
        };
        let dir = tempfile::tempdir().unwrap();
        let m = crate::maildir::Maildir::new(dir.path(), "x").unwrap();
        let fut = super::serve(tcp, info, shared, m, rx);
        let size = std::mem::size_of_val(&fut);
        assert!(size < 6 * 1024, "the connection future is {size} bytes");
    }
}
