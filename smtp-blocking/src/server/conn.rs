//! One connection on one worker thread: the drain loop of ARCHITECTURE.md
//! between a blocking socket and a [`ServerSession`], with the application's
//! [`SyncHandler`] answering decisions.

use std::io::{self, Read};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use smtp_proto::output::Output;
use smtp_proto::server::{Decision, ServerConfig, ServerEvent, ServerSession};
use tracing::{debug, info, warn};

use smtp_adapter::handler::internal_error;

use super::{ConnectionInfo, Envelope, Message, SyncHandler};
use crate::clock;
use crate::stream::{Stream, is_timeout};

/// How much is read from the socket at a time, into a buffer on the worker's
/// stack; only what the session could not take yet is kept on the heap.
const READ_SIZE: usize = 8 * 1024;

/// What a connection needs from its server.
pub(crate) struct Shared {
    pub(crate) config: Arc<ServerConfig>,
    pub(crate) tls: Option<Arc<rustls::ServerConfig>>,
    pub(crate) write_timeout: Duration,
    pub(crate) handshake_timeout: Duration,
    /// The grace period of a shutdown is over: `421` and close.
    pub(crate) shutdown_now: AtomicBool,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").finish_non_exhaustive()
    }
}

/// Runs one connection to its end. Errors are logged, never returned: a
/// connection's failure is the peer's problem, not the server's.
pub(crate) fn serve<H: SyncHandler>(
    tcp: TcpStream,
    info: ConnectionInfo,
    shared: &Shared,
    handler: H,
) {
    let span = tracing::info_span!("smtp", peer = %info.peer, tls = info.implicit_tls);
    let _entered = span.enter();
    debug!("connected");
    match run(tcp, info, shared, handler) {
        Ok(()) => debug!("closed"),
        Err(e) => info!(error = %e, "connection ended"),
    }
}

struct Conn<H> {
    stream: Stream,
    session: ServerSession,
    handler: H,
    /// Read from the socket and not taken by the session yet.
    unread: Vec<u8>,
    /// Content collected for [`SyncHandler::BUFFER_CONTENT`].
    content: BytesMut,
}

fn run<H: SyncHandler>(
    tcp: TcpStream,
    info: ConnectionInfo,
    shared: &Shared,
    handler: H,
) -> io::Result<()> {
    let _ = tcp.set_nodelay(true);
    tcp.set_write_timeout(Some(shared.write_timeout.max(Duration::from_millis(1))))?;
    let mut stream = Stream::Plain(tcp);
    let session = if info.implicit_tls {
        let tls = shared
            .tls
            .clone()
            .ok_or_else(|| io::Error::other("no certificate"))?;
        stream.accept_tls(tls, shared.handshake_timeout)?;
        ServerSession::new_tls(shared.config.clone(), clock::now())
    } else {
        ServerSession::new(shared.config.clone(), clock::now())
    };
    let mut conn = Conn {
        stream,
        session,
        handler,
        unread: Vec::new(),
        content: BytesMut::new(),
    };
    let mut buf = [0u8; READ_SIZE];
    loop {
        // 1. Drain.
        let (deadline, wants_read) = loop {
            match conn.session.poll_output() {
                Output::Event(event) => conn.on_event(event, &info)?,
                // One write per batch, under the write timeout (RFC 5321
                // §4.5.3.2: a peer that does not read its replies is cut off).
                Output::Transmit(bytes) => conn.stream.write_batch(&bytes)?,
                Output::StartTls => {
                    let tls = shared
                        .tls
                        .clone()
                        .ok_or_else(|| io::Error::other("no certificate"))?;
                    // Nothing read in plaintext after STARTTLS survives into
                    // the TLS session (RFC 3207 §5, ARCHITECTURE.md R9).
                    conn.unread = Vec::new();
                    conn.stream.accept_tls(tls, shared.handshake_timeout)?;
                    debug!("TLS established");
                    misuse(conn.session.handle_tls_established(clock::now()))?;
                }
                Output::Close => {
                    conn.stream.close();
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
            conn.unread.drain(..n);
            if conn.unread.is_empty() {
                // Idle: no read buffer on the heap.
                conn.unread = Vec::new();
            }
            if n > 0 {
                continue;
            }
        }
        if shared.shutdown_now.load(Ordering::SeqCst) {
            misuse(conn.session.handle_shutdown(clock::now()))?;
            continue;
        }
        let timeout = clock::until(deadline);
        if timeout.is_some_and(|t| t.is_zero()) {
            misuse(conn.session.handle_timeout(clock::now()))?;
            continue;
        }
        if !wants_read {
            // Only time can move the session on (or nothing can).
            match timeout {
                Some(t) => std::thread::sleep(t),
                None => return Err(io::Error::other("the session waits for nothing")),
            }
            continue;
        }
        // 3. Read, with the socket's read timeout at the session's deadline.
        conn.stream.set_read_timeout(timeout)?;
        let read = conn.stream.read(&mut buf);
        if shared.shutdown_now.load(Ordering::SeqCst) {
            // The server woke this read up: its grace period is over.
            misuse(conn.session.handle_shutdown(clock::now()))?;
            continue;
        }
        match read {
            // Under TLS a peer gone without close_notify is an end of input too.
            Ok(0) => misuse(conn.session.handle_eof(clock::now()))?,
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                misuse(conn.session.handle_eof(clock::now()))?
            }
            Ok(n) => {
                let taken = misuse(conn.session.handle_bytes(clock::now(), &buf[..n]))?;
                conn.unread.extend_from_slice(&buf[taken..n]);
            }
            Err(e) if is_timeout(&e) => {
                // A timeout before the deadline (it was rounded) just reads again.
                if clock::until(deadline).is_some_and(|t| t.is_zero()) {
                    misuse(conn.session.handle_timeout(clock::now()))?;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// The session refused a call: a bug in this adapter, reported as an error
/// of the connection.
fn misuse<T>(result: Result<T, smtp_proto::output::ApiMisuse>) -> io::Result<T> {
    result.map_err(|e| io::Error::other(format!("smtp-proto API misuse: {e}")))
}

impl<H: SyncHandler> Conn<H> {
    fn envelope(&self) -> Envelope {
        Envelope::of(&self.session)
    }

    fn on_event(&mut self, event: ServerEvent, info: &ConnectionInfo) -> io::Result<()> {
        let decision = match &event {
            ServerEvent::Connected => self.handler.connect(info),
            ServerEvent::Hello { kind, name } => self.handler.hello(*kind, name),
            ServerEvent::Auth {
                mechanism,
                credentials,
            } => self.handler.auth(mechanism, credentials),
            ServerEvent::MailFrom { from, params } => self.handler.mail_from(from, params),
            ServerEvent::RcptTo { to, params } => self.handler.rcpt_to(to, params),
            ServerEvent::DataStart => {
                let envelope = self.envelope();
                self.content.clear();
                self.handler.data_start(&envelope)
            }
            ServerEvent::MessageData(piece) => {
                if H::BUFFER_CONTENT {
                    self.content.extend_from_slice(piece);
                } else {
                    self.handler.data(Bytes::clone(piece));
                }
                return Ok(());
            }
            ServerEvent::MessageEnd(findings) => {
                let message = Message {
                    envelope: self.envelope(),
                    findings: *findings,
                    content: std::mem::take(&mut self.content).freeze(),
                };
                let decision = self.handler.message(&message);
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
                self.handler.notice(other);
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
