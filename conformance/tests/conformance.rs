//! The conformance matrix: every transcript of
//! `smtp-proto/tests/transcripts/` against every driver, over real loopback
//! sockets (ARCHITECTURE.md, "Conformance transcripts").
//!
//! The drivers ([`Driver`]) are the bare core (the testkit's own runners,
//! [`run_server_transcript`] and [`run_client_transcript`], under five
//! chunkings), smtp-tokio, smtp-async-std on smol and on async-std, and
//! smtp-blocking. The replay logic below is written once; a driver only
//! starts its server ([`start_server`]) and runs its client `Connection`
//! ([`spawn_application`]).
//!
//! * Server transcripts: each runs against a fresh server of the driver on
//!   `127.0.0.1:0`, configured by the transcript's `@config`, whose handler
//!   ([`Scripted`], an async `Handler` and a `SyncHandler` at once) reports
//!   every event it receives and answers the decision of the transcript's
//!   `E:` line. The `C:` bytes go over a tokio [`TcpStream`] (with STARTTLS
//!   and implicit TLS done by a real rustls client), the `S:` lines are
//!   checked against what the server wrote, byte for byte, `S~ close`
//!   against the socket closing, `D:` against the content the handler got,
//!   and `E:` against the handler's events, in order and each within the
//!   input step it belongs to.
//! * Client transcripts: an application (a tokio task, or a thread running
//!   smol, async-std or plain blocking calls) drives the driver's
//!   `Connection` (`connect`, then `send`, `rset`, `noop`, `quit` for the
//!   `A:` lines) and reports what each call returned, described as the
//!   core's event would be; a scripted server on a tokio `TcpListener`
//!   writes the `S:` bytes (with a real rustls server for STARTTLS and
//!   implicit TLS) and checks the `C:` lines the client wrote, `C~ close`
//!   and `C~ silent`.
//!
//! Every transcript is played under several splittings of the peer's bytes
//! (whole, byte by byte, random pieces), with pauses between the pieces so
//! that they arrive as separate reads. Steps that have no meaning over a
//! socket (a virtual clock, bytes that must arrive in one read, a held
//! decision and backpressure) make the transcript skipped, by a rule that is
//! printed; the number replayed by each driver must not fall below its floor.
//!
//! Each (transcript, driver) cell is printed as one line,
//! `CONFORMANCE <server|client> <file> <driver> <pass|fail|skip>[: reason]`,
//! which `cargo xtask conformance` turns into the matrix.

use std::fmt::Write as _;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rustls_pki_types::ServerName;
use smtp_adapter::handler::{ConnectionInfo, Envelope, Handler, Message, SyncHandler};
use smtp_adapter::options::{ClientOptions, Error as ClientError, Security};
use smtp_adapter::tls::{TlsIdentity, Trust};
use smtp_proto::Protocol;
use smtp_proto::client::{
    ClientConfig, ClientEvent, Envelope as MailEnvelope, TlsPolicy, TransactionResult,
};
use smtp_proto::ext::Capabilities;
use smtp_proto::reply::{EnhancedCode, Reply, ReplyCode};
use smtp_proto::server::{Decision, HelloKind, ServerConfig, ServerEvent};
use smtp_proto::testkit::{
    AppCall, Chunking, ClientScript, ClientStep, Script, Splitter, Step, apply_client_config,
    apply_config, describe_client_event, describe_server_event, escape, matches, parse_app_call,
    parse_client_script, parse_decision, parse_script, run_client_transcript,
    run_server_transcript, written,
};
use smtp_proto::wire::command::HeloName;
use smtp_proto::wire::command::Verb;
use smtp_proto::wire::params::{MailParameters, RcptParameters};
use smtp_proto::wire::path::{ForwardPath, ReversePath};
use smtp_proto::wire::sasl::{Credentials, Mechanism};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

/// A column of the matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Driver {
    /// The testkit's runners on a bare session, no socket.
    Core,
    /// smtp-tokio.
    Tokio,
    /// smtp-async-std under `smol::block_on`.
    Smol,
    /// smtp-async-std under `async_std::task::block_on`.
    AsyncStd,
    /// smtp-blocking (threads, `SyncHandler`).
    Blocking,
}

impl Driver {
    fn name(self) -> &'static str {
        match self {
            Driver::Core => "core",
            Driver::Tokio => "tokio",
            Driver::Smol => "smol",
            Driver::AsyncStd => "async-std",
            Driver::Blocking => "blocking",
        }
    }
}

/// The splittings every transcript is played under, by every driver (the
/// same as the core's own test, `smtp-proto/tests/transcripts.rs`): the
/// whole matrix takes about 40 s on two idle cores (a minute under load).
const CHUNKINGS: [Chunking; 5] = [
    Chunking::Whole,
    Chunking::ByteByByte,
    Chunking::Random(0x5eed),
    Chunking::Random(0xdead_beef),
    Chunking::Random(42),
];

/// How long the peer waits for bytes (or an event) the transcript says must come.
const EXPECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long nothing must arrive for `S~ silent` and at the end of a transcript.
const SILENCE: Duration = Duration::from_millis(30);
/// How long one replay may take in all.
const RUN_TIMEOUT: Duration = Duration::from_secs(30);
/// Replays running at once (each holds a listener and two sockets).
const CONCURRENCY: usize = 32;

/// The server transcripts every socket driver replays; losing any fails the test.
const SERVER_REPLAYED: usize = 125;
/// Every server transcript: the core replays them all.
const SERVER_ALL: usize = 138;
/// Every client transcript: the core replays them all.
const CLIENT_ALL: usize = 105;

fn transcripts(kind: &str) -> Vec<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../smtp-proto/tests/transcripts")
        .join(kind);
    smtp_proto::testkit::load_transcripts(&dir)
}

/// Pauses between two pieces of the peer's bytes so that they arrive as
/// separate reads: a real sleep for the first pieces of a step and now and
/// then after that, a yield otherwise (floods are thousands of pieces).
async fn pause(piece: usize) {
    if piece < 16 || piece % 128 == 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    } else {
        tokio::task::yield_now().await;
    }
}

// ---------------------------------------------------------------------------
// The test's end of a connection
// ---------------------------------------------------------------------------

/// A socket that is plaintext or TLS (either side).
enum Stream {
    Plain(TcpStream),
    Tls(Box<dyn Io>),
    /// During a failed handshake.
    Gone,
}

impl Stream {
    fn io(&mut self) -> io::Result<&mut (dyn Io + '_)> {
        match self {
            Stream::Plain(s) => Ok(s),
            Stream::Tls(s) => Ok(s.as_mut()),
            Stream::Gone => Err(io::Error::new(io::ErrorKind::NotConnected, "no stream")),
        }
    }

    fn take_plain(&mut self) -> Result<TcpStream, String> {
        match std::mem::replace(self, Stream::Gone) {
            Stream::Plain(tcp) => Ok(tcp),
            _ => Err("TLS is already up".into()),
        }
    }

    /// The client side of a TLS handshake on this plaintext stream.
    async fn start_tls(&mut self) -> Result<(), String> {
        let tcp = self.take_plain()?;
        let config = Trust::Insecure
            .client_config()
            .map_err(|e| format!("TLS config: {e}"))?;
        let name = ServerName::try_from("mx.test").expect("a server name");
        let tls = tokio::time::timeout(
            EXPECT_TIMEOUT,
            tokio_rustls::TlsConnector::from(config).connect(name, tcp),
        )
        .await
        .map_err(|_| "TLS handshake timed out".to_string())?
        .map_err(|e| format!("TLS handshake failed: {e}"))?;
        *self = Stream::Tls(Box::new(tls));
        Ok(())
    }

    /// The server side of a TLS handshake on this plaintext stream.
    async fn accept_tls(&mut self, config: Arc<rustls::ServerConfig>) -> Result<(), String> {
        let tcp = self.take_plain()?;
        let tls = tokio::time::timeout(
            EXPECT_TIMEOUT,
            tokio_rustls::TlsAcceptor::from(config).accept(tcp),
        )
        .await
        .map_err(|_| "TLS handshake timed out".to_string())?
        .map_err(|e| format!("TLS handshake failed: {e}"))?;
        *self = Stream::Tls(Box::new(tls));
        Ok(())
    }
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// The peer of the session under test, over a real socket: sends its bytes
/// under a splitting and reads the session's lines.
struct Peer {
    stream: Stream,
    splitter: Splitter,
    /// Read and not matched yet.
    input: Vec<u8>,
    /// The other side closed (or reset) the connection.
    eof: bool,
    /// Writing failed or was shut down: nothing more is sent.
    write_closed: bool,
    /// A close step saw the connection closed.
    close_expected: bool,
    /// Every complete line read so far, for error messages.
    lines: Vec<Vec<u8>>,
}

impl Peer {
    fn new(stream: Stream, chunking: Chunking) -> Self {
        Peer {
            stream,
            splitter: Splitter::new(chunking),
            input: Vec::new(),
            eof: false,
            write_closed: false,
            close_expected: false,
            lines: Vec::new(),
        }
    }

    /// Reads once, waiting at most `wait`: whether anything happened (bytes
    /// or the end of the connection). A reset counts as the end.
    async fn fill(&mut self, wait: Duration) -> bool {
        if self.eof {
            return true;
        }
        let mut buf = [0u8; 16 * 1024];
        let Ok(io) = self.stream.io() else {
            self.eof = true;
            return true;
        };
        match tokio::time::timeout(wait, io.read(&mut buf)).await {
            Err(_) => false,
            Ok(Ok(0)) | Ok(Err(_)) => {
                self.eof = true;
                true
            }
            Ok(Ok(n)) => {
                self.input.extend_from_slice(&buf[..n]);
                true
            }
        }
    }

    /// The next line the other side wrote, without its CRLF.
    async fn line(&mut self) -> Result<Vec<u8>, String> {
        let deadline = Instant::now() + EXPECT_TIMEOUT;
        loop {
            if let Some(pos) = self.input.windows(2).position(|w| w == b"\r\n") {
                let mut line: Vec<u8> = self.input.drain(..pos + 2).collect();
                line.truncate(pos);
                self.lines.push(line.clone());
                return Ok(line);
            }
            if self.eof {
                return Err(format!(
                    "the connection closed{}",
                    self.pending_text(" after writing ")
                ));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || !self.fill(left).await {
                return Err(format!("timed out{}", self.pending_text(", with ")));
            }
        }
    }

    fn pending_text(&self, before: &str) -> String {
        if self.input.is_empty() {
            String::new()
        } else {
            format!("{before}{} (no CRLF)", escape(&self.input))
        }
    }

    /// The next line is `text` (or starts with it, with `prefix`).
    async fn expect_line(&mut self, tag: &str, text: &[u8], prefix: bool) -> Result<(), String> {
        let expected = written(text, prefix);
        let line = self
            .line()
            .await
            .map_err(|e| format!("expected {tag}: {expected}, but {e}"))?;
        if !matches(&line, text, prefix) {
            return Err(format!(
                "line mismatch:\n  expected {tag}: {expected}\n  got      {tag}: {}",
                escape(&line)
            ));
        }
        Ok(())
    }

    /// The output continues with exactly `bytes`, without CRLF.
    async fn expect_unterminated(&mut self, tag: &str, bytes: &[u8]) -> Result<(), String> {
        let deadline = Instant::now() + EXPECT_TIMEOUT;
        while self.input.len() < bytes.len() && !self.eof {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || !self.fill(left).await {
                break;
            }
        }
        if !self.input.starts_with(bytes) {
            return Err(format!(
                "expected {tag}+ {}, got {}",
                escape(bytes),
                escape(&self.input)
            ));
        }
        self.input.drain(..bytes.len());
        Ok(())
    }

    /// Whatever was read and not matched is unexpected output.
    fn nothing_unmatched(&self, tag: &str) -> Result<(), String> {
        if self.input.is_empty() {
            Ok(())
        } else {
            Err(format!("unexpected output: {tag}: {}", escape(&self.input)))
        }
    }

    /// The other side closes the connection (after nothing more).
    async fn expect_close(&mut self, tag: &str) -> Result<(), String> {
        let deadline = Instant::now() + EXPECT_TIMEOUT;
        while !self.eof {
            self.nothing_unmatched(tag)?;
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || !self.fill(left).await {
                return Err("expected the connection to close".into());
            }
        }
        self.nothing_unmatched(tag)?;
        self.close_expected = true;
        Ok(())
    }

    /// Nothing more arrives for a moment.
    async fn expect_silence(&mut self, tag: &str) -> Result<(), String> {
        self.nothing_unmatched(tag)?;
        self.fill(SILENCE).await;
        self.nothing_unmatched(tag)
    }

    /// At the end: nothing unmatched arrives, and the connection is closed
    /// only if the transcript said so.
    async fn finish(&mut self, tag: &str, who: &str) -> Result<(), String> {
        self.expect_silence(tag).await?;
        if self.eof && !self.close_expected {
            return Err(format!(
                "the {who} closed, but the transcript does not say so"
            ));
        }
        Ok(())
    }

    /// Sends `bytes` in pieces as the splitting says, pausing between them.
    /// After the other side closed, nothing is sent (as the core's runner
    /// drops input to a closed session).
    async fn send(&mut self, bytes: &[u8]) {
        let mut rest = bytes;
        let mut piece = 0;
        while !rest.is_empty() && !self.write_closed && !self.eof {
            let n = self.splitter.next_len(rest.len());
            let Ok(io) = self.stream.io() else { return };
            let written = async {
                io.write_all(&rest[..n]).await?;
                io.flush().await
            };
            if written.await.is_err() {
                self.write_closed = true;
                return;
            }
            rest = &rest[n..];
            if !rest.is_empty() {
                pause(piece).await;
                piece += 1;
            }
        }
    }

    /// Closes our side of the connection (`C~ eof`, `S~ eof`).
    async fn shutdown(&mut self) {
        if let Ok(io) = self.stream.io() {
            let _ = io.shutdown().await;
        }
        self.write_closed = true;
    }
}

// ---------------------------------------------------------------------------
// Server transcripts
// ---------------------------------------------------------------------------

/// Why a server transcript cannot be replayed over a socket, if it cannot.
fn server_skip(script: &Script) -> Option<&'static str> {
    for step in &script.steps {
        let why = match step {
            Step::Advance(_) => "T+: the virtual clock",
            Step::ClientAtOnce(_) => "C!: bytes that must arrive in one read",
            Step::StartTlsPending => "S~ starttls-pending: a handshake that never finishes",
            Step::Release(_) | Step::ExpectNotReading => {
                "-> hold / R: / S~ not-reading: a held decision and backpressure"
            }
            Step::Event {
                decision: Some(d), ..
            } if d == "hold" => "-> hold / R: / S~ not-reading: a held decision and backpressure",
            _ => continue,
        };
        return Some(why);
    }
    None
}

/// The splittings a server transcript keeps its meaning under, and why not
/// all of them. Plaintext pipelined behind STARTTLS in one `C:` step is
/// discarded by the server (RFC 3207 §4.2) only when it arrived with the
/// STARTTLS, before the handshake began; sent in pieces it reaches the TLS
/// handshake instead and breaks it (as it would in any server): such a
/// transcript is replayed whole only.
fn server_chunkings(script: &Script) -> (Vec<Chunking>, Vec<&'static str>) {
    let injects = script.steps.iter().any(|step| {
        let Step::Client(bytes) = step else {
            return false;
        };
        let mut rest = &bytes[..];
        while let Some(end) = rest.windows(2).position(|w| w == b"\r\n") {
            if rest[..end].eq_ignore_ascii_case(b"STARTTLS") {
                return end + 2 < rest.len();
            }
            rest = &rest[end + 2..];
        }
        false
    });
    if injects {
        (
            vec![Chunking::Whole],
            vec![
                "plaintext pipelined behind STARTTLS: whole only (it must arrive in the STARTTLS's read)",
            ],
        )
    } else {
        (CHUNKINGS.to_vec(), Vec::new())
    }
}

/// An `E:` line of the transcript.
struct Expected {
    /// Its 1-based step index.
    step: usize,
    pattern: Vec<u8>,
    prefix: bool,
    decision: Option<String>,
    /// The input step its event must come during (0: the connection).
    window: usize,
}

/// What the handler saw, shared with the test.
#[derive(Default)]
struct Seen {
    /// How many `E:` lines were matched.
    next: usize,
    /// The input step the test is playing.
    input_step: usize,
    /// The transcript is over: later events (from the test hanging up) are
    /// not checked.
    done: bool,
    /// The first mismatch.
    failure: Option<String>,
    /// Every event, described.
    events: Vec<String>,
    /// The content of the message being received.
    content: Vec<u8>,
    last_message: Option<Vec<u8>>,
}

struct Expectations {
    expected: Vec<Expected>,
    seen: Mutex<Seen>,
}

/// The application: reports each event and answers as the transcript says.
#[derive(Clone)]
struct Scripted(Arc<Expectations>);

fn internal_error() -> Decision {
    Decision::Reject(Reply::new(
        ReplyCode::new(451).expect("a reply code"),
        EnhancedCode::new(4, 3, 0),
        "transcript mismatch",
    ))
}

impl Scripted {
    /// Matches `event` against the next `E:` line and returns its decision
    /// (ignored for informational events).
    fn see(&self, event: &ServerEvent) -> Decision {
        let mut seen = self.0.seen.lock().expect("not poisoned");
        if seen.done {
            return internal_error();
        }
        let described = describe_server_event(event);
        seen.events.push(described.clone());
        match self.check(&mut seen, event, &described) {
            Ok(decision) => decision,
            Err(e) => {
                seen.failure.get_or_insert(e);
                internal_error()
            }
        }
    }

    fn check(
        &self,
        seen: &mut Seen,
        event: &ServerEvent,
        described: &str,
    ) -> Result<Decision, String> {
        let Some(expected) = self.0.expected.get(seen.next) else {
            return Err(format!(
                "unexpected event: E: {}",
                escape(described.as_bytes())
            ));
        };
        if !matches(described.as_bytes(), &expected.pattern, expected.prefix) {
            return Err(format!(
                "event mismatch:\n  expected E: {}\n  got      E: {}",
                written(&expected.pattern, expected.prefix),
                escape(described.as_bytes())
            ));
        }
        if expected.window != seen.input_step {
            return Err(format!(
                "event {described} happened during step {}, but its E: line (step {}) \
                 belongs to the input of step {}",
                seen.input_step, expected.step, expected.window
            ));
        }
        seen.next += 1;
        match (&expected.decision, event.needs_decision()) {
            (None, false) => Ok(Decision::Accept),
            (Some(d), true) => parse_decision(d),
            (Some(_), false) => Err(format!("E: {described} needs no decision")),
            (None, true) => Err(format!("E: {described} needs ' -> decision'")),
        }
    }
}

impl Handler for Scripted {
    async fn connect(&mut self, _info: &ConnectionInfo) -> Decision {
        self.see(&ServerEvent::Connected)
    }

    async fn hello(&mut self, kind: HelloKind, name: &HeloName<'static>) -> Decision {
        self.see(&ServerEvent::Hello {
            kind,
            name: name.clone(),
        })
    }

    async fn auth(
        &mut self,
        mechanism: &Mechanism<'static>,
        credentials: &Credentials,
    ) -> Decision {
        self.see(&ServerEvent::Auth {
            mechanism: mechanism.clone(),
            credentials: credentials.clone(),
        })
    }

    async fn mail_from(
        &mut self,
        from: &ReversePath<'static>,
        params: &MailParameters<'static>,
    ) -> Decision {
        self.see(&ServerEvent::MailFrom {
            from: from.clone(),
            params: params.clone(),
        })
    }

    async fn rcpt_to(
        &mut self,
        to: &ForwardPath<'static>,
        params: &RcptParameters<'static>,
    ) -> Decision {
        self.see(&ServerEvent::RcptTo {
            to: to.clone(),
            params: params.clone(),
        })
    }

    async fn data_start(&mut self, _envelope: &Envelope) -> Decision {
        self.0.seen.lock().expect("not poisoned").content.clear();
        self.see(&ServerEvent::DataStart)
    }

    async fn data(&mut self, piece: Bytes) {
        let mut seen = self.0.seen.lock().expect("not poisoned");
        seen.content.extend_from_slice(&piece);
    }

    async fn message(&mut self, message: &Message) -> Decision {
        {
            let mut seen = self.0.seen.lock().expect("not poisoned");
            seen.last_message = Some(std::mem::take(&mut seen.content));
        }
        self.see(&ServerEvent::MessageEnd(message.findings))
    }

    async fn notice(&mut self, event: &ServerEvent) {
        if matches!(event, ServerEvent::TransactionReset) {
            self.0.seen.lock().expect("not poisoned").content.clear();
        }
        self.see(event);
    }
}

/// The same handler for smtp-blocking: every method forwards to the same
/// expectations as the asynchronous one.
impl SyncHandler for Scripted {
    fn connect(&mut self, _info: &ConnectionInfo) -> Decision {
        self.see(&ServerEvent::Connected)
    }

    fn hello(&mut self, kind: HelloKind, name: &HeloName<'static>) -> Decision {
        self.see(&ServerEvent::Hello {
            kind,
            name: name.clone(),
        })
    }

    fn auth(&mut self, mechanism: &Mechanism<'static>, credentials: &Credentials) -> Decision {
        self.see(&ServerEvent::Auth {
            mechanism: mechanism.clone(),
            credentials: credentials.clone(),
        })
    }

    fn mail_from(
        &mut self,
        from: &ReversePath<'static>,
        params: &MailParameters<'static>,
    ) -> Decision {
        self.see(&ServerEvent::MailFrom {
            from: from.clone(),
            params: params.clone(),
        })
    }

    fn rcpt_to(&mut self, to: &ForwardPath<'static>, params: &RcptParameters<'static>) -> Decision {
        self.see(&ServerEvent::RcptTo {
            to: to.clone(),
            params: params.clone(),
        })
    }

    fn data_start(&mut self, _envelope: &Envelope) -> Decision {
        self.0.seen.lock().expect("not poisoned").content.clear();
        self.see(&ServerEvent::DataStart)
    }

    fn data(&mut self, piece: Bytes) {
        let mut seen = self.0.seen.lock().expect("not poisoned");
        seen.content.extend_from_slice(&piece);
    }

    fn message(&mut self, message: &Message) -> Decision {
        {
            let mut seen = self.0.seen.lock().expect("not poisoned");
            seen.last_message = Some(std::mem::take(&mut seen.content));
        }
        self.see(&ServerEvent::MessageEnd(message.findings))
    }

    fn notice(&mut self, event: &ServerEvent) {
        if matches!(event, ServerEvent::TransactionReset) {
            self.0.seen.lock().expect("not poisoned").content.clear();
        }
        self.see(event);
    }
}

/// A server of some driver, running with a [`Scripted`] handler.
struct RunningServer {
    addr: SocketAddr,
    /// Asks it to shut down.
    stop: Box<dyn FnOnce() + Send>,
    /// Completes when it has shut down.
    done: tokio::sync::oneshot::Receiver<()>,
}

impl RunningServer {
    /// Shuts it down and waits (a while) for it to end.
    async fn stop(self) {
        (self.stop)();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.done).await;
    }
}

/// The same builder calls on every driver's `ServerBuilder`.
macro_rules! builder {
    ($server:ty, $config:expr, $implicit_tls:expr, $tls:expr) => {{
        let any: SocketAddr = "127.0.0.1:0".parse().expect("an address");
        let mut builder = <$server>::builder($config)
            .grace_period(Duration::from_millis(10))
            .handshake_timeout(EXPECT_TIMEOUT);
        builder = if $implicit_tls {
            builder.listen_tls(any)
        } else {
            builder.listen(any)
        };
        if let Some(identity) = $tls {
            builder = builder.tls(identity);
        }
        builder
    }};
}

/// Starts `driver`'s server for a transcript: the tokio one as a task, the
/// others on a thread of their own (under `smol::block_on`,
/// `async_std::task::block_on`, or the blocking server's own threads).
async fn start_server(
    driver: Driver,
    config: ServerConfig,
    implicit_tls: bool,
    tls: Option<TlsIdentity>,
    handler: Scripted,
) -> Result<RunningServer, String> {
    let bind = |e: io::Error| format!("bind: {e}");
    let (done_tx, done) = tokio::sync::oneshot::channel::<()>();
    let (stop_tx, stopped) = tokio::sync::oneshot::channel::<()>();
    let signal = async {
        let _ = stopped.await;
    };
    let stop: Box<dyn FnOnce() + Send> = Box::new(move || {
        let _ = stop_tx.send(());
    });
    let server = match driver {
        Driver::Core => return Err("the core has no server".into()),
        Driver::Tokio => {
            let server = builder!(smtp_tokio::server::Server, config, implicit_tls, tls)
                .bind()
                .await
                .map_err(bind)?;
            let addr = server.local_addrs()[0];
            tokio::spawn(async move {
                let _ = server.run_until(handler, signal).await;
                let _ = done_tx.send(());
            });
            RunningServer { addr, stop, done }
        }
        Driver::Smol | Driver::AsyncStd => {
            let server = builder!(smtp_async_std::server::Server, config, implicit_tls, tls)
                .bind()
                .map_err(bind)?;
            let addr = server.local_addrs()[0];
            let run = async move {
                let _ = server.run_until(handler, signal).await;
                let _ = done_tx.send(());
            };
            std::thread::spawn(move || {
                if driver == Driver::Smol {
                    smol::block_on(run);
                } else {
                    async_std::task::block_on(run);
                }
            });
            RunningServer { addr, stop, done }
        }
        Driver::Blocking => {
            let server = builder!(smtp_blocking::server::Server, config, implicit_tls, tls)
                .bind()
                .map_err(bind)?;
            let addr = server.local_addrs()[0];
            let handle = smtp_blocking::server::Stop::new();
            let stopper = handle.clone();
            std::thread::spawn(move || {
                let _ = server.run_until(handler, handle);
                let _ = done_tx.send(());
            });
            drop(signal);
            RunningServer {
                addr,
                stop: Box::new(move || stopper.stop()),
                done,
            }
        }
    };
    Ok(server)
}

/// One replay of a server transcript under one splitting.
async fn replay_server(
    script: &Script,
    chunking: Chunking,
    driver: Driver,
    identity: &TlsIdentity,
) -> Result<(), String> {
    let mut config = ServerConfig::new("mx.test");
    for (k, v) in &script.config {
        apply_config(&mut config, k, v)?;
    }
    let tls = config.extensions.starttls || script.implicit_tls;

    // The E: lines, and the input step each belongs to.
    let mut expected = Vec::new();
    let mut window = 0;
    for (i, step) in script.steps.iter().enumerate() {
        if let Step::Event {
            pattern,
            prefix,
            decision,
        } = step
        {
            expected.push(Expected {
                step: i + 1,
                pattern: pattern.clone(),
                prefix: *prefix,
                decision: decision.clone(),
                window,
            });
        }
        if step.is_input() {
            window = i + 1;
        }
    }
    let shared = Arc::new(Expectations {
        expected,
        seen: Mutex::new(Seen::default()),
    });
    let server = start_server(
        driver,
        config,
        script.implicit_tls,
        tls.then(|| identity.clone()),
        Scripted(shared.clone()),
    )
    .await?;

    let result = play_server(script, chunking, server.addr, &shared).await;
    let handler_result = {
        let mut seen = shared.seen.lock().expect("not poisoned");
        seen.done = true;
        match (&seen.failure, shared.expected.get(seen.next)) {
            (Some(f), _) => Err(f.clone()),
            (None, Some(e)) => Err(format!(
                "event of step {} never happened: E: {}",
                e.step,
                written(&e.pattern, e.prefix)
            )),
            (None, None) => Ok(()),
        }
    };
    server.stop().await;
    // A handler failure comes first: it is usually why the bytes differ.
    match (handler_result, result) {
        (Err(h), Err((at, peer))) => Err(format!("{at}: {h}\n(and the peer saw: {peer})")),
        (Err(h), Ok(())) => Err(format!("handler: {h}")),
        (Ok(()), Err((at, peer))) => Err(format!("{at}: {peer}")),
        (Ok(()), Ok(())) => Ok(()),
    }
    .map_err(|e| {
        let seen = shared.seen.lock().expect("not poisoned");
        let mut e = e;
        e.push_str("\nevents the handler saw:");
        for event in &seen.events {
            let _ = write!(e, "\n  E: {}", escape(event.as_bytes()));
        }
        e
    })
}

/// Plays the steps as the client; errors come with where they happened.
async fn play_server(
    script: &Script,
    chunking: Chunking,
    addr: std::net::SocketAddr,
    shared: &Expectations,
) -> Result<(), (String, String)> {
    let at = |i: usize| {
        let line = i
            .checked_sub(1)
            .and_then(|i| script.step_lines.get(i))
            .copied()
            .unwrap_or(0);
        format!("step {i} (line {line})")
    };
    let tcp = TcpStream::connect(addr)
        .await
        .map_err(|e| (at(0), format!("connect: {e}")))?;
    let _ = tcp.set_nodelay(true);
    let mut peer = Peer::new(Stream::Plain(tcp), chunking);
    if script.implicit_tls {
        peer.stream.start_tls().await.map_err(|e| (at(0), e))?;
    }
    let mut event_index = 0;
    for (i, step) in script.steps.iter().enumerate() {
        let index = i + 1;
        if step.is_input() {
            shared.seen.lock().expect("not poisoned").input_step = index;
        }
        let result = match step {
            Step::Client(bytes) => {
                peer.send(bytes).await;
                Ok(())
            }
            Step::Server { text, prefix } => peer.expect_line("S", text, *prefix).await,
            Step::Unterminated(bytes) => peer.expect_unterminated("S", bytes).await,
            Step::ExpectClose => peer.expect_close("S").await,
            Step::ExpectSilence => peer.expect_silence("S").await,
            Step::ExpectStartTls => match peer.nothing_unmatched("S") {
                Ok(()) => peer.stream.start_tls().await,
                Err(e) => Err(e),
            },
            Step::Eof => {
                peer.shutdown().await;
                Ok(())
            }
            Step::Event { .. } => {
                event_index += 1;
                wait_for_event(shared, event_index).await
            }
            Step::Content(expected) => {
                let seen = shared.seen.lock().expect("not poisoned");
                if seen.last_message.as_deref() == Some(expected.as_slice()) {
                    Ok(())
                } else {
                    Err(format!(
                        "message content mismatch:\n  expected {}\n  got      {}",
                        escape(expected),
                        seen.last_message
                            .as_deref()
                            .map_or("no message".into(), escape)
                    ))
                }
            }
            Step::ClientAtOnce(_)
            | Step::StartTlsPending
            | Step::Advance(_)
            | Step::Release(_)
            | Step::ExpectNotReading => Err("a step that cannot be replayed".into()),
        };
        result.map_err(|e| (at(index), with_lines(e, &peer, "S")))?;
    }
    peer.finish("S", "server")
        .await
        .map_err(|e| (at(0), with_lines(e, &peer, "S")))
}

fn with_lines(mut e: String, peer: &Peer, tag: &str) -> String {
    let _ = write!(e, "\nlines read:");
    for line in &peer.lines {
        let _ = write!(e, "\n  {tag}: {}", escape(line));
    }
    e
}

/// Waits until the handler matched `count` `E:` lines (or failed).
async fn wait_for_event(shared: &Expectations, count: usize) -> Result<(), String> {
    let deadline = Instant::now() + EXPECT_TIMEOUT;
    loop {
        {
            let seen = shared.seen.lock().expect("not poisoned");
            if let Some(f) = &seen.failure {
                return Err(format!("handler: {f}"));
            }
            if seen.next >= count {
                return Ok(());
            }
        }
        if Instant::now() >= deadline {
            return Err("the event did not happen".into());
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

// ---------------------------------------------------------------------------
// Client transcripts
// ---------------------------------------------------------------------------

/// The client transcripts every socket driver replays; losing any fails the test.
const CLIENT_REPLAYED: usize = 80;

/// The `ClientOptions` a client transcript's `@config` comes to, if the
/// options can say all of it (they set the EHLO name, LMTP, the TLS policy,
/// the credentials and CHUNKING; the rest keeps the core's defaults).
fn client_options(script: &ClientScript, port: u16) -> Result<ClientOptions, &'static str> {
    let mut wanted = ClientConfig::new("client.test").expect("a name");
    for (k, v) in &script.config {
        apply_client_config(&mut wanted, k, v).map_err(|_| "a bad @config")?;
    }
    let mut options = ClientOptions::new("127.0.0.1", port);
    options.hello_name = wanted.hello_name.to_string();
    options.lmtp = wanted.protocol == Protocol::Lmtp;
    options.security = match (script.implicit_tls, wanted.tls) {
        (true, TlsPolicy::Opportunistic) => Security::ImplicitTls,
        (true, _) => return Err("@implicit-tls with a STARTTLS policy"),
        (false, TlsPolicy::Disabled) => Security::Plain,
        (false, TlsPolicy::Opportunistic) => Security::StartTlsOpportunistic,
        (false, TlsPolicy::Required) => Security::StartTlsRequired,
    };
    options.trust = Trust::Insecure;
    options.credentials = wanted.credentials.clone();
    options.chunking = wanted.use_chunking;
    options.connect_timeout = EXPECT_TIMEOUT;
    options.write_timeout = EXPECT_TIMEOUT;
    // What `Connection` will run with.
    let mut ours = ClientConfig::new(&options.hello_name).expect("a name");
    ours.tls = wanted.tls;
    ours.credentials = options.credentials.clone();
    ours.protocol = wanted.protocol;
    ours.use_chunking = options.chunking;
    if ours != wanted {
        return Err(
            "@config that ClientOptions cannot express (timeouts, limits, chunk size, ...)",
        );
    }
    Ok(options)
}

/// Why a client transcript cannot be replayed through `Connection`, if it cannot.
fn client_skip(script: &ClientScript) -> Option<&'static str> {
    if let Err(why) = client_options(script, 25) {
        return Some(why);
    }
    // Connection reads only during a call (connect, send, rset, noop, quit),
    // and its calls run one after the other: every event must be the
    // outcome of the call in progress, and no call may start while another
    // is in progress.
    let mut in_progress = true;
    for step in &script.steps {
        match step {
            ClientStep::Event { pattern, .. } if !pattern.starts_with(b"Authenticated") => {
                if !in_progress {
                    return Some(
                        "an event while no call is in progress (Connection reads only during a call)",
                    );
                }
                in_progress = false;
            }
            ClientStep::App { error, .. } => {
                if in_progress {
                    return Some(
                        "a call while another is in progress (Connection's calls are sequential)",
                    );
                }
                in_progress = error.is_none();
            }
            _ => {}
        }
        let why = match step {
            ClientStep::Advance(_) => "T+: the virtual clock",
            ClientStep::ServerAtOnce(_) => "S!: bytes that must arrive in one read",
            ClientStep::StartTlsPending => "starttls-pending: a handshake that never finishes",
            ClientStep::App { call, .. } => match parse_app_call(call) {
                Ok(AppCall::SendMail { body: None, .. } | AppCall::Body(_) | AppCall::EndBody) => {
                    "a streamed body (Connection::send takes the whole body)"
                }
                Ok(_) => continue,
                Err(_) => "an A: call that does not parse",
            },
            _ => continue,
        };
        return Some(why);
    }
    None
}

/// The splittings a client transcript keeps its meaning under, and what of
/// it is not checked. Plaintext the server sends behind its `220` to
/// STARTTLS, in the same step, is discarded by the client only when it
/// arrived with the `220` (RFC 3207 §4.2): such a transcript is replayed
/// whole only. `E: Authenticated` lines are not checked: `Connection`
/// does not report that event (the AUTH exchange is still checked line by
/// line, and a failure is reported as the error of `connect`).
fn client_chunkings(script: &ClientScript) -> (Vec<Chunking>, Vec<&'static str>) {
    let mut notes = Vec::new();
    let injects = script.steps.windows(2).any(|w| match w {
        [ClientStep::Server(bytes), ClientStep::StartTls] => bytes
            .windows(2)
            .position(|w| w == b"\r\n")
            .is_some_and(|end| end + 2 < bytes.len()),
        _ => false,
    });
    let chunkings = if injects {
        notes.push(
            "plaintext behind the 220 to STARTTLS: whole only (it must arrive in the 220's read)",
        );
        vec![Chunking::Whole]
    } else {
        CHUNKINGS.to_vec()
    };
    let authenticated = script.steps.iter().any(
        |s| matches!(s, ClientStep::Event { pattern, .. } if pattern.starts_with(b"Authenticated")),
    );
    if authenticated {
        notes.push("E: Authenticated not checked (Connection does not report it)");
    }
    (chunkings, notes)
}

/// What the application (the task driving `Connection`) reports.
#[derive(Debug)]
enum Outcome {
    /// A result the API gives, described as the core's event would be.
    Event(String),
    /// A call refused at once (`Error::Envelope`): its `ClientError`, `Debug` form.
    CallError(String),
}

/// A driver's client `Connection`, as the application uses it. The
/// blocking one's calls simply block (it runs on a thread of its own).
trait Client: Sized + Send {
    fn connect(options: &ClientOptions) -> impl Future<Output = Result<Self, ClientError>> + Send;
    fn capabilities(&self) -> Option<&Capabilities>;
    fn send(
        &mut self,
        envelope: MailEnvelope,
        body: &[u8],
    ) -> impl Future<Output = Result<TransactionResult, ClientError>> + Send;
    fn rset(&mut self) -> impl Future<Output = Result<Reply, ClientError>> + Send;
    fn noop(&mut self) -> impl Future<Output = Result<Reply, ClientError>> + Send;
    fn quit(self) -> impl Future<Output = Result<(), ClientError>> + Send;
}

/// The two asynchronous `Connection`s have the same methods.
macro_rules! async_client {
    ($connection:ty) => {
        impl Client for $connection {
            async fn connect(options: &ClientOptions) -> Result<Self, ClientError> {
                <$connection>::connect(options).await
            }
            fn capabilities(&self) -> Option<&Capabilities> {
                <$connection>::capabilities(self)
            }
            async fn send(
                &mut self,
                envelope: MailEnvelope,
                body: &[u8],
            ) -> Result<TransactionResult, ClientError> {
                <$connection>::send(self, envelope, body).await
            }
            async fn rset(&mut self) -> Result<Reply, ClientError> {
                <$connection>::rset(self).await
            }
            async fn noop(&mut self) -> Result<Reply, ClientError> {
                <$connection>::noop(self).await
            }
            async fn quit(self) -> Result<(), ClientError> {
                <$connection>::quit(self).await
            }
        }
    };
}

async_client!(smtp_tokio::client::Connection);
async_client!(smtp_async_std::client::Connection);

impl Client for smtp_blocking::client::Connection {
    async fn connect(options: &ClientOptions) -> Result<Self, ClientError> {
        smtp_blocking::client::Connection::connect(options)
    }
    fn capabilities(&self) -> Option<&Capabilities> {
        smtp_blocking::client::Connection::capabilities(self)
    }
    async fn send(
        &mut self,
        envelope: MailEnvelope,
        body: &[u8],
    ) -> Result<TransactionResult, ClientError> {
        smtp_blocking::client::Connection::send(self, envelope, body)
    }
    async fn rset(&mut self) -> Result<Reply, ClientError> {
        smtp_blocking::client::Connection::rset(self)
    }
    async fn noop(&mut self) -> Result<Reply, ClientError> {
        smtp_blocking::client::Connection::noop(self)
    }
    async fn quit(self) -> Result<(), ClientError> {
        smtp_blocking::client::Connection::quit(self)
    }
}

type Calls = tokio::sync::mpsc::UnboundedReceiver<AppCall>;
type Outcomes = tokio::sync::mpsc::UnboundedSender<Outcome>;

/// Runs the application's side with `driver`'s client: the tokio one as a
/// task, the others on a thread of their own (under `smol::block_on`,
/// `async_std::task::block_on`, or plain blocking calls). The receiver
/// completes when the application has ended.
fn spawn_application(
    driver: Driver,
    options: ClientOptions,
    calls: Calls,
    outcomes: Outcomes,
) -> tokio::sync::oneshot::Receiver<()> {
    let (done_tx, done) = tokio::sync::oneshot::channel();
    match driver {
        Driver::Core => drop(done_tx),
        Driver::Tokio => {
            tokio::spawn(async move {
                application::<smtp_tokio::client::Connection>(options, calls, outcomes).await;
                let _ = done_tx.send(());
            });
        }
        Driver::Smol | Driver::AsyncStd | Driver::Blocking => {
            std::thread::spawn(move || {
                type AsyncStd = smtp_async_std::client::Connection;
                type Blocking = smtp_blocking::client::Connection;
                match driver {
                    Driver::Smol => {
                        smol::block_on(application::<AsyncStd>(options, calls, outcomes))
                    }
                    Driver::AsyncStd => {
                        async_std::task::block_on(application::<AsyncStd>(options, calls, outcomes))
                    }
                    _ => futures_lite::future::block_on(application::<Blocking>(
                        options, calls, outcomes,
                    )),
                }
                let _ = done_tx.send(());
            });
        }
    }
    done
}

/// Runs the application's side: `Connection::connect`, then each call the
/// test hands over, reporting what each returned.
async fn application<C: Client>(options: ClientOptions, mut calls: Calls, outcomes: Outcomes) {
    let describe = |e: ClientEvent| Outcome::Event(describe_client_event(&e));
    let report = |o: Outcome| {
        let _ = outcomes.send(o);
    };
    let other = |e: ClientError| match e {
        ClientError::Session(e) => describe(ClientEvent::Error(e)),
        ClientError::Refused(f) => describe(ClientEvent::TransactionFailed(f)),
        ClientError::Envelope(e) => Outcome::CallError(format!("{e:?}")),
        other => Outcome::Event(format!("(connection error: {other})")),
    };
    let mut connection = match C::connect(&options).await {
        Ok(c) => {
            let caps = c.capabilities().cloned().expect("ready");
            report(describe(ClientEvent::Ready(caps)));
            Some(c)
        }
        Err(e) => {
            report(other(e));
            None
        }
    };
    while let Some(call) = calls.recv().await {
        let Some(c) = connection.as_mut() else {
            report(Outcome::CallError("(no connection)".into()));
            continue;
        };
        match call {
            AppCall::SendMail {
                envelope,
                body: Some(body),
            } => match c.send(envelope, &body[..]).await {
                Ok(result) => report(describe(ClientEvent::TransactionComplete(result))),
                Err(e) => report(other(e)),
            },
            AppCall::Rset | AppCall::Noop => {
                let (verb, result) = if call == AppCall::Rset {
                    (Verb::Rset, c.rset().await)
                } else {
                    (Verb::Noop, c.noop().await)
                };
                match result {
                    Ok(reply) => report(describe(ClientEvent::Reply { verb, reply })),
                    Err(e) => report(other(e)),
                }
            }
            AppCall::Quit => {
                if let Err(e) = connection.take().expect("a connection").quit().await {
                    report(other(e));
                }
            }
            streamed => report(Outcome::CallError(format!("cannot replay {streamed:?}"))),
        }
    }
}

/// One replay of a client transcript under one splitting.
async fn replay_client(
    script: &ClientScript,
    chunking: Chunking,
    driver: Driver,
    tls: &Arc<rustls::ServerConfig>,
) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("bind: {e}"))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let options = client_options(script, port).map_err(str::to_string)?;
    let (call_tx, call_rx) = tokio::sync::mpsc::unbounded_channel();
    let (out_tx, mut out_rx) = tokio::sync::mpsc::unbounded_channel();
    let app = spawn_application(driver, options, call_rx, out_tx);
    let result = async {
        let (tcp, _) = tokio::time::timeout(EXPECT_TIMEOUT, listener.accept())
            .await
            .map_err(|_| "the client did not connect".to_string())?
            .map_err(|e| format!("accept: {e}"))?;
        let _ = tcp.set_nodelay(true);
        let mut peer = Peer::new(Stream::Plain(tcp), chunking);
        if script.implicit_tls {
            peer.stream.accept_tls(tls.clone()).await?;
        }
        play_client(script, &mut peer, tls, &call_tx, &mut out_rx).await
    }
    .await;
    drop(call_tx);
    let _ = tokio::time::timeout(Duration::from_secs(5), app).await;
    result
}

async fn play_client(
    script: &ClientScript,
    peer: &mut Peer,
    tls: &Arc<rustls::ServerConfig>,
    calls: &tokio::sync::mpsc::UnboundedSender<AppCall>,
    outcomes: &mut tokio::sync::mpsc::UnboundedReceiver<Outcome>,
) -> Result<(), String> {
    let at = |i: usize| {
        let line = i
            .checked_sub(1)
            .and_then(|i| script.step_lines.get(i))
            .copied()
            .unwrap_or(0);
        format!("step {i} (line {line})")
    };
    let next_outcome = async |outcomes: &mut tokio::sync::mpsc::UnboundedReceiver<Outcome>| {
        match tokio::time::timeout(EXPECT_TIMEOUT, outcomes.recv()).await {
            Ok(Some(o)) => Ok(o),
            Ok(None) => Err("the application ended".to_string()),
            Err(_) => Err("timed out".to_string()),
        }
    };
    for (i, step) in script.steps.iter().enumerate() {
        let index = i + 1;
        let result = match step {
            ClientStep::Server(bytes) => {
                peer.send(bytes).await;
                Ok(())
            }
            ClientStep::Client { text, prefix } => peer.expect_line("C", text, *prefix).await,
            ClientStep::Unterminated(bytes) => peer.expect_unterminated("C", bytes).await,
            ClientStep::ExpectClose => peer.expect_close("C").await,
            ClientStep::ExpectSilence => peer.expect_silence("C").await,
            ClientStep::StartTls => match peer.nothing_unmatched("C") {
                Ok(()) => peer.stream.accept_tls(tls.clone()).await,
                Err(e) => Err(e),
            },
            ClientStep::Eof => {
                peer.shutdown().await;
                Ok(())
            }
            ClientStep::App { call, error } => {
                let parsed = parse_app_call(call)?;
                let _ = calls.send(parsed);
                match error {
                    None => Ok(()),
                    Some((pattern, prefix)) => match next_outcome(outcomes).await {
                        Ok(Outcome::CallError(got))
                            if matches(got.as_bytes(), pattern.as_bytes(), *prefix) =>
                        {
                            Ok(())
                        }
                        Ok(got) => Err(format!("{call}: expected error {pattern}, got {got:?}")),
                        Err(e) => Err(format!("{call}: expected error {pattern}, but {e}")),
                    },
                }
            }
            ClientStep::Event { pattern, prefix } => {
                if pattern.starts_with(b"Authenticated") {
                    // Connection does not report it (see client_partial).
                    continue;
                }
                let expected = written(pattern, *prefix);
                match next_outcome(outcomes).await {
                    Ok(Outcome::Event(got)) if matches(got.as_bytes(), pattern, *prefix) => Ok(()),
                    Ok(got) => Err(format!(
                        "event mismatch:\n  expected E: {expected}\n  got      {got:?}"
                    )),
                    Err(e) => Err(format!("expected E: {expected}, but {e}")),
                }
            }
            ClientStep::ServerAtOnce(_) | ClientStep::StartTlsPending | ClientStep::Advance(_) => {
                Err("a step that cannot be replayed".into())
            }
        };
        result.map_err(|e| format!("{}: {}", at(index), with_lines(e, peer, "C")))?;
    }
    peer.finish("C", "client")
        .await
        .map_err(|e| format!("{}: {}", at(0), with_lines(e, peer, "C")))?;
    if let Ok(o) = outcomes.try_recv() {
        return Err(format!("unexpected outcome at the end: {o:?}"));
    }
    Ok(())
}

/// A self-signed certificate for the scripted server's TLS.
fn server_tls() -> Arc<rustls::ServerConfig> {
    let made = rcgen::generate_simple_self_signed(vec!["mx.test".to_string()]).expect("a cert");
    let key = rustls_pki_types::PrivateKeyDer::Pkcs8(rustls_pki_types::PrivatePkcs8KeyDer::from(
        made.key_pair.serialize_der(),
    ));
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(vec![made.cert.der().clone()], key)
        .expect("a server config");
    Arc::new(config)
}

// ---------------------------------------------------------------------------
// The matrix
// ---------------------------------------------------------------------------

/// One cell of the matrix, printed as a `CONFORMANCE` line.
fn cell(kind: &str, file: &str, driver: Driver, outcome: &str) {
    println!("CONFORMANCE {kind} {file} {} {outcome}", driver.name());
}

/// The first line of a failure, for its `CONFORMANCE` line.
fn first_line(e: &str) -> &str {
    e.lines().next().unwrap_or("")
}

/// How a column came out.
#[derive(Debug, Default)]
struct Column {
    passed: usize,
    failed: Vec<String>,
    skipped: usize,
}

impl Column {
    /// Prints the totals and fails the test on any failure or on fewer
    /// transcripts passed than `floor`.
    fn check(self, kind: &str, driver: Driver, floor: usize) {
        println!(
            "{kind} {}: {} passed, {} failed, {} skipped",
            driver.name(),
            self.passed,
            self.failed.len(),
            self.skipped
        );
        assert!(
            self.failed.is_empty(),
            "{} {kind} transcripts failed on {}:\n{}",
            self.failed.len(),
            driver.name(),
            self.failed.join("\n\n")
        );
        assert!(
            self.passed >= floor,
            "only {} {kind} transcripts replayed on {}, expected at least {floor}",
            self.passed,
            driver.name()
        );
    }
}

/// The core's column: the testkit's runner on a bare session, under every
/// chunking of [`CHUNKINGS`]; nothing is skipped.
fn core_column<S>(
    kind: &str,
    parse: fn(&str) -> Result<S, String>,
    run: fn(&S, Chunking) -> Result<(), smtp_proto::testkit::TranscriptError>,
) -> Column {
    let mut column = Column::default();
    for (file, text) in transcripts(kind) {
        let result = parse(&text).and_then(|script| {
            CHUNKINGS.iter().try_for_each(|&chunking| {
                run(&script, chunking).map_err(|e| format!("({chunking:?}): {e}"))
            })
        });
        match result {
            Ok(()) => {
                cell(kind, &file, Driver::Core, "pass");
                column.passed += 1;
            }
            Err(e) => {
                cell(
                    kind,
                    &file,
                    Driver::Core,
                    &format!("fail: {}", first_line(&e)),
                );
                column.failed.push(format!("{file}: {e}"));
            }
        }
    }
    column
}

/// A replay function that can be sent to tasks.
trait AsyncReplay<S>: Clone + Send + 'static {
    fn replay(
        &self,
        script: Arc<S>,
        chunking: Chunking,
        driver: Driver,
    ) -> impl Future<Output = Result<(), String>> + Send;
}

#[derive(Clone)]
struct ServerReplay(TlsIdentity);

impl AsyncReplay<Script> for ServerReplay {
    async fn replay(
        &self,
        script: Arc<Script>,
        chunking: Chunking,
        driver: Driver,
    ) -> Result<(), String> {
        replay_server(&script, chunking, driver, &self.0).await
    }
}

#[derive(Clone)]
struct ClientReplay(Arc<rustls::ServerConfig>);

impl AsyncReplay<ClientScript> for ClientReplay {
    async fn replay(
        &self,
        script: Arc<ClientScript>,
        chunking: Chunking,
        driver: Driver,
    ) -> Result<(), String> {
        replay_client(&script, chunking, driver, &self.0).await
    }
}

/// A socket driver's column: plays every transcript of `kind` under the
/// driver's splittings, concurrently, and prints a cell per transcript (a
/// pass needs every splitting to pass; a skip names its rule).
async fn socket_column<S: Send + Sync + 'static>(
    kind: &'static str,
    driver: Driver,
    parse: fn(&str) -> Result<S, String>,
    skip: fn(&S) -> Option<&'static str>,
    chunkings: fn(&S) -> (Vec<Chunking>, Vec<&'static str>),
    replay: impl AsyncReplay<S>,
) -> Column {
    let limit = Arc::new(Semaphore::new(CONCURRENCY));
    let mut tasks = tokio::task::JoinSet::new();
    // Per transcript: its skip rule or its first failure.
    let mut cells: Vec<(String, Result<(), String>, Option<&'static str>)> = Vec::new();
    for (file, text) in transcripts(kind) {
        let script = match parse(&text) {
            Ok(s) => Arc::new(s),
            Err(e) => {
                cells.push((file, Err(e), None));
                continue;
            }
        };
        if let Some(why) = skip(&script) {
            cells.push((file, Ok(()), Some(why)));
            continue;
        }
        let (chunkings, partial) = chunkings(&script);
        for why in partial {
            println!("{kind} {}: {file}: {why}", driver.name());
        }
        let index = cells.len();
        cells.push((file.clone(), Ok(()), None));
        for chunking in chunkings {
            let (script, limit, replay) = (script.clone(), limit.clone(), replay.clone());
            tasks.spawn(async move {
                let _permit = limit.acquire_owned().await.expect("open");
                let result =
                    tokio::time::timeout(RUN_TIMEOUT, replay.replay(script, chunking, driver))
                        .await;
                let result = match result {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(e)) => Err(format!("({chunking:?}): {e}")),
                    Err(_) => Err(format!("({chunking:?}): timed out")),
                };
                (index, result)
            });
        }
    }
    while let Some(joined) = tasks.join_next().await {
        let (index, result) = joined.expect("no panic");
        if let (Err(e), Ok(())) = (result, &cells[index].1) {
            cells[index].1 = Err(e);
        }
    }
    let mut column = Column::default();
    for (file, result, skipped) in cells {
        match (result, skipped) {
            (Ok(()), Some(why)) => {
                cell(kind, &file, driver, &format!("skip: {why}"));
                column.skipped += 1;
            }
            (Ok(()), None) => {
                cell(kind, &file, driver, "pass");
                column.passed += 1;
            }
            (Err(e), _) => {
                cell(kind, &file, driver, &format!("fail: {}", first_line(&e)));
                column.failed.push(format!("{file} {e}"));
            }
        }
    }
    column
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// The server column of a socket driver.
fn server_column(driver: Driver) {
    let identity = TlsIdentity::self_signed("mx.test").expect("a certificate");
    let column = runtime().block_on(socket_column(
        "server",
        driver,
        parse_script,
        server_skip,
        server_chunkings,
        ServerReplay(identity),
    ));
    column.check("server", driver, SERVER_REPLAYED);
}

/// The client column of a socket driver.
fn client_column(driver: Driver) {
    let column = runtime().block_on(socket_column(
        "client",
        driver,
        parse_client_script,
        client_skip,
        client_chunkings,
        ClientReplay(server_tls()),
    ));
    column.check("client", driver, CLIENT_REPLAYED);
}

#[test]
fn server_core() {
    let column = core_column("server", parse_script, run_server_transcript);
    column.check("server", Driver::Core, SERVER_ALL);
}

#[test]
fn client_core() {
    let column = core_column("client", parse_client_script, run_client_transcript);
    column.check("client", Driver::Core, CLIENT_ALL);
}

#[test]
fn server_tokio() {
    server_column(Driver::Tokio);
}

#[test]
fn server_smol() {
    server_column(Driver::Smol);
}

#[test]
fn server_async_std() {
    server_column(Driver::AsyncStd);
}

#[test]
fn server_blocking() {
    server_column(Driver::Blocking);
}

#[test]
fn client_tokio() {
    client_column(Driver::Tokio);
}

#[test]
fn client_smol() {
    client_column(Driver::Smol);
}

#[test]
fn client_async_std() {
    client_column(Driver::AsyncStd);
}

#[test]
fn client_blocking() {
    client_column(Driver::Blocking);
}
