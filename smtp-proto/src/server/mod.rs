//! The server half of SMTP and LMTP as a sans-IO state machine.
//!
//! A [`ServerSession`] is fed bytes, end-of-input and timeouts through the
//! `handle_*` methods, and drained through [`ServerSession::poll_output`] until it
//! returns [`Output::Wait`]. Events that need a decision (see [`ServerEvent`]) pause
//! the session until [`ServerSession::respond`]; pipelined input waits, in order.
//!
//! ## Choices where the RFCs leave one
//!
//! * Message content is streamed to the application as [`ServerEvent::MessageData`]
//!   (dot-unstuffed, in order) instead of being collected by the core: the core's
//!   memory stays bounded by its input buffer whatever the message size, and the
//!   application decides where content goes (memory, disk, a filter).
//! * `new` and `handle_tls_established` take no peer or TLS details: nothing in the
//!   protocol depends on them, and the adapter already holds them for the application.
//! * Refusals follow Postfix where the RFCs leave a choice: `501` for malformed
//!   paths and parameters (`555` only for valid but unsupported ones), `554 5.5.1`
//!   for DATA after every RCPT was refused, `502` for VRFY when disabled, an error
//!   budget of 20 before `421 4.7.0`, and `252` for VRFY by default.
//! * A bare CR or LF in DATA never ends the message (only `CRLF.CRLF` does, RFC 5321
//!   §4.1.1.4); by default such a message is read to its end and refused with
//!   `550 5.6.0` (Postfix's `smtpd_forbid_bare_newline = reject`, without its
//!   disconnect), or normalised to CRLF when configured.
//! * Timeouts: the command deadline starts when the session becomes ready for the
//!   next command and is not moved by trickled bytes; the data deadline moves only
//!   after [`ServerTimeouts::data_progress`] octets. No deadline runs while the
//!   application is deciding.
//!
//! ## The adapter contract
//!
//! An adapter (the code that owns the socket) runs one loop per connection:
//!
//! 1. Drain: call [`poll_output`](ServerSession::poll_output) until it returns
//!    [`Output::Wait`] or [`Output::Close`]. Hand each [`Output::Event`] to the
//!    application; write each [`Output::Transmit`] to the socket (there is one
//!    per batch of replies: the session holds replies while it works through
//!    pipelined input and hands them out together, RFC 2920 §3.2); on
//!    [`Output::StartTls`] flush, run the TLS handshake, then call
//!    [`handle_tls_established`](ServerSession::handle_tls_established); on
//!    [`Output::Close`] flush and close.
//! 2. Decide: an event for which [`ServerEvent::needs_decision`] is true pauses
//!    the session until [`respond`](ServerSession::respond) (or, pairing it
//!    explicitly, [`respond_to`](ServerSession::respond_to) with the event's
//!    [`DecisionPoint`]). The decision may take as long as it likes, across an
//!    `.await` (DNS, a database, a policy service): meanwhile the loop keeps
//!    reading, pipelined input waits in order in the session's bounded buffer,
//!    and no deadline runs. Never answer an event that needs no decision.
//! 3. Wait: [`Output::Wait`] gives the next deadline (sleep until it, then call
//!    [`handle_timeout`](ServerSession::handle_timeout)) and whether the
//!    session wants input. Read only when `wants_read` is true, and give every
//!    read to [`handle_bytes`](ServerSession::handle_bytes), which **takes at
//!    most what fits** in its buffer ([`ServerConfig::max_input_buffer`]) and
//!    returns how much it took: keep the rest and offer it again after the next
//!    drain. That is how backpressure reaches the peer. At end of input call
//!    [`handle_eof`](ServerSession::handle_eof).
//!
//! Once the session has decided to close, every input method answers
//! [`ApiMisuse::Closed`] (including `respond` for a decision that was pending
//! when the peer went away: no reply goes to a closed peer), and
//! `poll_output` hands out what is left, then `Close` at every call.
//!
//! Time comes from the caller: [`Instant`] is a duration since an origin the
//! adapter picks. With `std`, take `std::time::Instant::now()` once as the
//! origin and pass `Instant::from_duration(origin.elapsed())`; a deadline is
//! `origin + deadline.as_duration()`, for tokio's `sleep_until` too (through
//! `tokio::time::Instant::from_std`). A deadline at or before now is simply due:
//! call `handle_timeout` at once.
//!
//! ```
//! use std::sync::Arc;
//! use smtp_proto::output::Output;
//! use smtp_proto::server::{Decision, ServerConfig, ServerEvent, ServerSession};
//! use smtp_proto::time::Instant;
//!
//! let now = Instant::ZERO;
//! let mut session = ServerSession::new(Arc::new(ServerConfig::new("mx.example.net")), now);
//! let mut wire = Vec::new();
//! let mut input: &[u8] = b"EHLO client.example\r\nNOOP\r\nQUIT\r\n";
//! loop {
//!     match session.poll_output() {
//!         Output::Transmit(bytes) => wire.extend_from_slice(&bytes),
//!         Output::Event(event) if event.needs_decision() => {
//!             session.respond(now, Decision::Accept).unwrap();
//!         }
//!         Output::Event(_) => {} // information only
//!         Output::Close => break,
//!         Output::Wait { wants_read, .. } => {
//!             assert!(wants_read && !input.is_empty(), "QUIT closes first");
//!             let taken = session.handle_bytes(now, input).unwrap();
//!             input = &input[taken..];
//!         }
//!         Output::StartTls => unreachable!("not offered"),
//!         _ => {}
//!     }
//! }
//! let text = String::from_utf8(wire).unwrap();
//! assert!(text.starts_with("220 mx.example.net ESMTP\r\n250-mx.example.net"));
//! assert!(text.ends_with("250 2.0.0 Ok\r\n221 2.0.0 Bye\r\n"));
//! ```
//!
//! More complete examples: STARTTLS and AUTH in [`ServerSession::handle_tls_established`],
//! LMTP per-recipient decisions in [`Decision::PerRecipient`].

mod config;
mod event;
mod handlers;
#[cfg(test)]
mod tests;

use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;

use bytes::{Buf, BytesMut};

pub use config::{Extensions, ServerConfig, ServerTimeouts, VrfyPolicy};
pub use event::{Decision, DecisionPoint, HelloKind, MessageFindings, ServerEvent};

use crate::Protocol;
use crate::output::{ApiMisuse, Output, Ready, ready_output, release_if_idle, take_bounded};
use crate::reply::Reply;
use crate::time::Instant;
use crate::wire::command::{CommandError, ParseOptions, Verb, parse_command};
use crate::wire::data::{BdatChunk, DataDecoder};
use crate::wire::line::{Framed, LineError, frame_line, skip_line};
use crate::wire::params::ParamError;
use crate::wire::path::PathOptions;
use crate::wire::path::{ForwardPath, Host, Mailbox, ReversePath};
use crate::wire::sasl::Mechanism;

/// Stop turning input into replies once this much output waits to be taken.
const OUTPUT_HIGH_WATER: usize = 16 * 1024;

/// DATA content is decoded while fewer events than this wait to be handed out.
const DATA_EVENTS: usize = 4;

/// An idle session keeps buffers up to this size; larger ones are released.
const IDLE_KEEP: usize = 1024;

/// Reads up to this size go into the small input block kept across
/// transactions (pipelined commands); longer ones get a block of their own.
const SMALL_READ: usize = 512;

/// An idle session keeps its command line scratch up to this size (a command
/// line is at most 512 octets, RFC 5321 §4.5.3.1.4; AUTH lines may be longer).
const IDLE_LINE: usize = 512;

/// What the session is doing.
#[derive(Debug)]
enum Phase {
    /// Waiting for the application's decision on an event.
    Pending(Pending),
    /// Reading commands.
    Command,
    /// The greeting was 554: only QUIT is served (RFC 5321 §3.1).
    Refused,
    /// Reading DATA content.
    Data(DataDecoder),
    /// Reading a BDAT chunk; `keep` is false when it is read only to be discarded.
    Bdat {
        chunk: BdatChunk,
        keep: bool,
        /// The reply that ends the chunk when it was refused, and whose doing
        /// the refusal is.
        refusal: Option<(Reply, Blame)>,
    },
    /// Reading a SASL continuation line.
    Sasl(SaslStep),
    /// STARTTLS answered: waiting for `handle_tls_established`.
    TlsHandshake,
    /// Over.
    Closed,
}

/// What a decision will be applied to.
#[derive(Debug)]
pub(crate) enum Pending {
    Greeting,
    Hello(HelloKind),
    Auth(Mechanism<'static>),
    Mail { smtputf8: bool, binary: bool },
    Rcpt,
    Data,
    Bdat { size: u64, last: bool },
    MessageEnd,
}

impl Pending {
    fn point(&self) -> DecisionPoint {
        match self {
            Pending::Greeting => DecisionPoint::Connected,
            Pending::Hello(_) => DecisionPoint::Hello,
            Pending::Auth(_) => DecisionPoint::Auth,
            Pending::Mail { .. } => DecisionPoint::MailFrom,
            Pending::Rcpt => DecisionPoint::RcptTo,
            Pending::Data | Pending::Bdat { .. } => DecisionPoint::DataStart,
            Pending::MessageEnd => DecisionPoint::MessageEnd,
        }
    }
}

/// The step of an AUTH exchange waiting for a client line.
#[derive(Debug)]
enum SaslStep {
    /// PLAIN, XOAUTH2 or OAUTHBEARER after an empty `334 `.
    Response(Mechanism<'static>),
    /// LOGIN after `334 VXNlcm5hbWU6`.
    LoginUser,
    /// LOGIN after `334 UGFzc3dvcmQ6`.
    LoginPassword(String),
    /// OAUTHBEARER failure (RFC 7628 §3.2.3): the client acknowledges the error
    /// challenge, then gets this reply.
    FailureAck(Reply),
}

/// Whose doing a refusal is: the client's (reported as
/// [`ServerEvent::ClientFault`], and maybe counted against the error budget),
/// or the application's own decision (not reported back to it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Blame {
    Client { counted: bool },
    Application,
}

/// How the message content arrives.
#[derive(Debug, Clone, PartialEq, Eq)]
enum BodyState {
    None,
    /// BDAT chunks so far; octets declared.
    Chunks(u64),
    /// A BDAT was refused: later chunks of this transaction are discarded with
    /// this reply.
    ChunksFailed(Reply, Blame),
}

#[derive(Debug)]
struct Transaction {
    smtputf8: bool,
    binary: bool,
    accepted_rcpts: usize,
    rcpt_commands: usize,
    body: BodyState,
    findings: MessageFindings,
    oversize: bool,
}

/// A sans-IO SMTP or LMTP server connection.
///
/// See the [module documentation](self) for the drain loop.
#[derive(Debug)]
pub struct ServerSession {
    config: Arc<ServerConfig>,
    now: Instant,
    input: BytesMut,
    out: BytesMut,
    events: VecDeque<ServerEvent>,
    phase: Phase,
    hello: Option<HelloKind>,
    tls: bool,
    authenticated: bool,
    tx: Option<Transaction>,
    errors: u32,
    deadline: Option<Instant>,
    data_progress: u64,
    skipping_line: bool,
    /// The application refused the last MAIL: the RCPTs and DATA a pipelining
    /// client sent behind it are answered but not counted as errors.
    mail_refused: bool,
    starttls_pending: bool,
    closing: bool,
    /// The paths of the transaction in progress, for [`ServerSession::envelope`].
    envelope: EnvelopeStore,
    /// Scratch list of content pieces, reused (no allocation per read).
    pieces: alloc::vec::Vec<handlers::Piece>,
    /// Scratch copy of the command line being parsed, reused.
    line: alloc::vec::Vec<u8>,
    /// The small input block, set aside while a long read has a block of its
    /// own (see `make_room`).
    spare: BytesMut,
}

/// The sender and accepted recipients of the transaction in progress, kept as
/// their wire text in one reused buffer (no allocation per path once warm).
#[derive(Debug, Default)]
struct EnvelopeStore {
    text: String,
    /// End offsets in `text`: the sender, then each accepted recipient.
    ends: alloc::vec::Vec<usize>,
    /// The last recipient awaits the application's decision.
    tentative: bool,
}

impl EnvelopeStore {
    fn clear(&mut self) {
        self.tentative = false;
        self.text.clear();
        self.ends.clear();
        if self.text.capacity() > IDLE_KEEP {
            self.text = String::new();
        }
        if self.ends.capacity() > 128 {
            self.ends = alloc::vec::Vec::new();
        }
    }

    /// Appends the wire form of a path as its `Display` writes it (the
    /// common cases without the formatting machinery).
    fn push_reverse(&mut self, path: &ReversePath<'_>) {
        match path {
            ReversePath::Mailbox(m) => self.push_mailbox(m, path),
            ReversePath::Null => self.push_display(path),
        }
    }

    fn push_forward(&mut self, path: &ForwardPath<'_>) {
        match path {
            ForwardPath::Mailbox(m) => self.push_mailbox(m, path),
            ForwardPath::Postmaster => self.push_display(path),
        }
    }

    /// `<local@domain>`; an address literal goes through `Display`.
    fn push_mailbox(&mut self, m: &Mailbox<'_>, path: &dyn core::fmt::Display) {
        let Host::Domain(domain) = &m.host else {
            return self.push_display(path);
        };
        let (local, domain) = (m.local_part.as_wire(), domain.as_str());
        self.text.reserve(local.len() + domain.len() + 3);
        self.text.push('<');
        self.text.push_str(local);
        self.text.push('@');
        self.text.push_str(domain);
        self.text.push('>');
        self.ends.push(self.text.len());
    }

    fn push_display(&mut self, path: &dyn core::fmt::Display) {
        use core::fmt::Write;
        let _ = write!(self.text, "{path}");
        self.ends.push(self.text.len());
    }

    /// Drops the last path (a recipient the application refused).
    fn pop(&mut self) {
        self.tentative = false;
        if self.ends.len() > 1 {
            self.ends.pop();
            let end = self.ends.last().copied().unwrap_or(0);
            self.text.truncate(end);
        }
    }

    fn part(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.text[start..self.ends[i]]
    }
}

/// The envelope of the transaction in progress: what MAIL and the accepted
/// RCPTs said (RFC 5321 §3.3), from [`ServerSession::envelope`].
#[derive(Debug, Clone, Copy)]
pub struct TransactionEnvelope<'a> {
    store: &'a EnvelopeStore,
}

impl<'a> TransactionEnvelope<'a> {
    /// The reverse-path of MAIL FROM (`<>` for the null sender).
    pub fn sender(&self) -> ReversePath<'a> {
        use crate::wire::path::{PathOptions, parse_reverse_path};
        parse_reverse_path(self.store.part(0), &PathOptions::smtputf8())
            .map(|(path, _)| path)
            .unwrap_or(ReversePath::Null)
    }

    /// The accepted recipients, in RCPT order.
    pub fn recipients(&self) -> impl Iterator<Item = ForwardPath<'a>> + 'a {
        use crate::wire::path::{PathOptions, parse_forward_path};
        let store = self.store;
        (1..=self.recipient_count()).filter_map(move |i| {
            parse_forward_path(store.part(i), &PathOptions::smtputf8())
                .ok()
                .map(|(path, _)| path)
        })
    }

    /// How many recipients were accepted.
    pub fn recipient_count(&self) -> usize {
        self.store
            .ends
            .len()
            .saturating_sub(1 + usize::from(self.store.tentative))
    }
}

impl ServerSession {
    /// A new connection on a plaintext port. The first output is the
    /// [`ServerEvent::Connected`] decision.
    pub fn new(config: Arc<ServerConfig>, now: Instant) -> ServerSession {
        let mut session = ServerSession {
            config,
            now,
            input: BytesMut::new(),
            out: BytesMut::new(),
            events: VecDeque::new(),
            phase: Phase::Pending(Pending::Greeting),
            hello: None,
            tls: false,
            authenticated: false,
            tx: None,
            errors: 0,
            deadline: None,
            data_progress: 0,
            skipping_line: false,
            mail_refused: false,
            starttls_pending: false,
            closing: false,
            envelope: EnvelopeStore::default(),
            pieces: alloc::vec::Vec::new(),
            line: alloc::vec::Vec::new(),
            spare: BytesMut::new(),
        };
        session.events.push_back(ServerEvent::Connected);
        session
    }

    /// A new connection whose TLS was set up before SMTP started (implicit TLS,
    /// port 465, RFC 8314 §3.3): STARTTLS is not offered, AUTH is.
    pub fn new_tls(config: Arc<ServerConfig>, now: Instant) -> ServerSession {
        let mut session = ServerSession::new(config, now);
        session.tls = true;
        session
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// Whether the connection is protected by TLS.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// Whether the client authenticated successfully.
    pub fn is_authenticated(&self) -> bool {
        self.authenticated
    }

    /// Octets received and not yet processed.
    pub fn buffered_input(&self) -> usize {
        self.input.len()
    }

    /// Whether the session has decided to close (QUIT, the peer's EOF, a
    /// timeout, `421`): every input method now answers [`ApiMisuse::Closed`].
    pub fn is_closed(&self) -> bool {
        self.closing || matches!(self.phase, Phase::Closed)
    }

    /// The decision the session waits for: `Some` once the event that asks for
    /// it was handed out by [`poll_output`](Self::poll_output), until
    /// [`respond`](Self::respond).
    pub fn pending_decision(&self) -> Option<DecisionPoint> {
        if self.is_closed() || self.events.iter().any(ServerEvent::needs_decision) {
            return None;
        }
        match &self.phase {
            Phase::Pending(p) => Some(p.point()),
            _ => None,
        }
    }

    /// The sender and accepted recipients of the transaction in progress
    /// (from the accepted MAIL to the final reply or a reset), so an adapter
    /// need not mirror them from events. `None` between transactions.
    pub fn envelope(&self) -> Option<TransactionEnvelope<'_>> {
        (self.tx.is_some() && !self.envelope.ends.is_empty()).then_some(TransactionEnvelope {
            store: &self.envelope,
        })
    }

    /// Bytes from the peer. The session takes **at most what fits** in its
    /// input buffer ([`ServerConfig::max_input_buffer`]) and returns how many
    /// octets it took: the caller keeps the rest and offers it again after the
    /// next drain of [`poll_output`](Self::poll_output). `Ok(0)` means the
    /// buffer is full (`wants_read` was false). Bytes arriving during a TLS
    /// upgrade are taken and discarded: they were sent in plaintext after
    /// STARTTLS (RFC 3207 §4.2).
    pub fn handle_bytes(&mut self, now: Instant, bytes: &[u8]) -> Result<usize, ApiMisuse> {
        if self.is_closed() {
            return Err(ApiMisuse::Closed);
        }
        self.now = now;
        if matches!(self.phase, Phase::TlsHandshake) {
            return Ok(bytes.len());
        }
        let capacity = self.config.input_capacity();
        self.make_room(bytes.len().min(capacity));
        Ok(take_bounded(&mut self.input, capacity, bytes))
    }

    /// Picks the block an empty input buffer takes `n` octets into. Short
    /// reads (commands) go into a small block kept across transactions; a
    /// longer one (content, usually) gets a block of its own (`take_bounded`
    /// makes it), which DATA hands out whole, while the small block waits
    /// in `spare` for the next short read. No allocation per transaction for
    /// the commands.
    fn make_room(&mut self, n: usize) {
        if !self.input.is_empty() || n == 0 || self.input.try_reclaim(n) {
            return;
        }
        if n <= SMALL_READ {
            self.input = if self.spare.try_reclaim(SMALL_READ) {
                core::mem::take(&mut self.spare)
            } else {
                BytesMut::with_capacity(SMALL_READ)
            };
        } else if self.input.try_reclaim(SMALL_READ) && self.input.capacity() <= SMALL_READ {
            self.spare = core::mem::take(&mut self.input);
        }
    }

    /// The peer closed its side. The session closes; a transaction in progress
    /// is lost, and a pending decision is dropped (nothing more is written; an
    /// event asking for a decision that was not handed out yet never is).
    pub fn handle_eof(&mut self, now: Instant) -> Result<(), ApiMisuse> {
        if self.is_closed() {
            return Err(ApiMisuse::Closed);
        }
        self.now = now;
        // Nobody is left to answer: a decision not yet handed out is dropped.
        self.events.retain(|e| !e.needs_decision());
        self.reset_tx();
        self.closing = true;
        Ok(())
    }

    /// Time passed. If the deadline is reached the session answers
    /// `421 4.4.2` and closes (RFC 5321 §4.5.3.2). A call before the deadline
    /// does nothing.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), ApiMisuse> {
        if self.is_closed() {
            return Err(ApiMisuse::Closed);
        }
        self.now = now;
        if let Some(deadline) = self.deadline
            && now >= deadline
        {
            self.deadline = None;
            if matches!(self.phase, Phase::TlsHandshake) {
                self.closing = true;
                return Ok(());
            }
            let text = format!("{} Error: timeout exceeded", self.config.hostname);
            self.send(421, (4, 4, 2), &text);
            self.close();
        }
        Ok(())
    }

    /// The server is shutting down (RFC 5321 §3.8): the session answers
    /// `421 4.3.2 <hostname> Service shutting down` and closes, whatever it was
    /// doing. A transaction in progress is abandoned (its content is never
    /// committed: [`ServerEvent::TransactionReset`]) and a pending decision is
    /// dropped, as at the end of input. During a TLS handshake nothing can be
    /// written in plaintext: the session just closes.
    ///
    /// Adapters call it when a graceful shutdown's grace period is over; a
    /// session that is still busy then is cut off with a reply the client
    /// understands (a 4yz: it will try again later) instead of a silent close.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use smtp_proto::output::Output;
    /// use smtp_proto::server::{ServerConfig, ServerSession};
    /// use smtp_proto::time::Instant;
    ///
    /// let now = Instant::ZERO;
    /// let mut session = ServerSession::new(Arc::new(ServerConfig::new("mx.example.net")), now);
    /// session.handle_shutdown(now).unwrap();
    /// let mut wire = Vec::new();
    /// loop {
    ///     match session.poll_output() {
    ///         Output::Transmit(bytes) => wire.extend_from_slice(&bytes),
    ///         Output::Close => break,
    ///         _ => {}
    ///     }
    /// }
    /// assert_eq!(wire, b"421 4.3.2 mx.example.net Service shutting down\r\n");
    /// ```
    pub fn handle_shutdown(&mut self, now: Instant) -> Result<(), ApiMisuse> {
        if self.is_closed() {
            return Err(ApiMisuse::Closed);
        }
        self.now = now;
        self.deadline = None;
        // Nobody will answer a decision now.
        self.events.retain(|e| !e.needs_decision());
        if !matches!(self.phase, Phase::TlsHandshake) {
            let text = format!("{} Service shutting down", self.config.hostname);
            self.send(421, (4, 3, 2), &text);
        }
        self.close();
        Ok(())
    }

    /// The TLS handshake that [`Output::StartTls`] asked for is done. Everything
    /// learnt before it (HELO name, authentication, transaction) is forgotten
    /// (RFC 3207 §4.2); the client must send EHLO again.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use smtp_proto::output::Output;
    /// use smtp_proto::server::{Decision, ServerConfig, ServerEvent, ServerSession};
    /// use smtp_proto::time::Instant;
    /// use smtp_proto::wire::sasl::{Credentials, Mechanism};
    ///
    /// let mut config = ServerConfig::new("mx.example.net");
    /// config.extensions.starttls = true;
    /// config.extensions.auth = vec![Mechanism::Plain];
    /// let now = Instant::ZERO;
    /// let mut session = ServerSession::new(Arc::new(config), now);
    /// // `user\0user\0secret`, base64.
    /// let mut script: Vec<&[u8]> = vec![
    ///     b"EHLO c.example\r\nSTARTTLS\r\n",
    ///     b"EHLO c.example\r\nAUTH PLAIN AHVzZXIAc2VjcmV0\r\nQUIT\r\n",
    /// ];
    /// script.reverse();
    /// let (mut wire, mut user) = (Vec::new(), None);
    /// loop {
    ///     match session.poll_output() {
    ///         Output::Transmit(bytes) => wire.extend_from_slice(&bytes),
    ///         Output::Event(ServerEvent::Auth { credentials, .. }) => {
    ///             let ok = matches!(&credentials,
    ///                 Credentials::Password { username, password, .. }
    ///                     if username == "user" && password == "secret");
    ///             if let Credentials::Password { username, .. } = credentials {
    ///                 user = Some(username);
    ///             }
    ///             let decision = if ok { Decision::Accept } else {
    ///                 Decision::Reject(smtp_proto::reply::Reply::new(
    ///                     smtp_proto::reply::ReplyCode::new(535).unwrap(), None, "no"))
    ///             };
    ///             session.respond(now, decision).unwrap();
    ///         }
    ///         Output::Event(e) if e.needs_decision() => session.respond(now, Decision::Accept).unwrap(),
    ///         Output::Event(_) => {}
    ///         // An adapter runs the TLS handshake on the socket here.
    ///         Output::StartTls => session.handle_tls_established(now).unwrap(),
    ///         Output::Wait { .. } => {
    ///             let bytes = script.pop().expect("more input");
    ///             assert_eq!(session.handle_bytes(now, bytes).unwrap(), bytes.len());
    ///         }
    ///         Output::Close => break,
    ///         _ => {}
    ///     }
    /// }
    /// let wire = String::from_utf8(wire).unwrap();
    /// assert!(wire.contains("250 STARTTLS\r\n") && wire.contains("220 2.0.0 Ready to start TLS\r\n"));
    /// assert!(wire.contains("250 AUTH PLAIN\r\n") && wire.contains("235 2.7.0 "));
    /// assert_eq!(user.as_deref(), Some("user"));
    /// assert!(session.is_authenticated() && session.is_tls());
    /// ```
    pub fn handle_tls_established(&mut self, now: Instant) -> Result<(), ApiMisuse> {
        if self.is_closed() {
            return Err(ApiMisuse::Closed);
        }
        if !matches!(self.phase, Phase::TlsHandshake) || self.starttls_pending {
            return Err(ApiMisuse::NoTlsUpgrade);
        }
        self.now = now;
        self.tls = true;
        self.hello = None;
        self.authenticated = false;
        self.tx = None;
        self.envelope.clear();
        self.input.clear();
        self.phase = Phase::Command;
        self.events.push_back(ServerEvent::TlsEstablished);
        self.await_command();
        Ok(())
    }

    /// The application's decision on the event that paused the session (the
    /// one [`pending_decision`](Self::pending_decision) names).
    pub fn respond(&mut self, now: Instant, decision: Decision) -> Result<(), ApiMisuse> {
        if self.is_closed() {
            return Err(ApiMisuse::Closed);
        }
        if self.pending_decision().is_none() {
            return Err(ApiMisuse::NoPendingDecision);
        }
        let Phase::Pending(pending) = &self.phase else {
            return Err(ApiMisuse::NoPendingDecision);
        };
        // Checked first, while nothing has changed: a decision that does not
        // fit is refused whole.
        let lmtp = self.config.protocol == Protocol::Lmtp;
        match (&decision, pending) {
            (Decision::PerRecipient(replies), Pending::MessageEnd) if lmtp => {
                let wanted = self.tx.as_ref().map_or(0, |t| t.accepted_rcpts);
                if replies.len() != wanted || replies.iter().any(|r| r.code().get() >= 600) {
                    return Err(ApiMisuse::InvalidDecision);
                }
            }
            (Decision::PerRecipient(_), _) => return Err(ApiMisuse::InvalidDecision),
            (Decision::Accept, _) => {}
            (Decision::AcceptWith(reply), p) => {
                let code = reply.code().get();
                let fits = match p {
                    Pending::Data => code == 354,
                    Pending::Auth(_) => code == 235,
                    _ => (200..300).contains(&code),
                };
                if !fits {
                    return Err(ApiMisuse::InvalidDecision);
                }
            }
            (Decision::Reject(reply), _) => {
                if reply.code().get() < 400 {
                    return Err(ApiMisuse::InvalidDecision);
                }
            }
        }
        self.now = now;
        let Phase::Pending(pending) = core::mem::replace(&mut self.phase, Phase::Command) else {
            return Err(ApiMisuse::NoPendingDecision);
        };
        // The decision's reply is moved where it goes, not copied.
        match decision {
            Decision::Accept => self.accept(pending, None),
            Decision::AcceptWith(reply) => self.accept(pending, Some(reply)),
            Decision::Reject(reply) => self.reject(pending, reply),
            Decision::PerRecipient(replies) => {
                for reply in &replies {
                    self.send_app_reply(reply);
                }
                self.finish_tx();
            }
        }
        // Waiting for the client again, after the greeting was refused (it may
        // still send QUIT) or inside an AUTH exchange too: the command timeout runs.
        if matches!(self.phase, Phase::Command | Phase::Refused | Phase::Sasl(_)) {
            self.await_command();
        }
        Ok(())
    }

    /// [`respond`](Self::respond), checking that the decision is for the event
    /// the caller means: `point` is that event's
    /// [`decision_point`](ServerEvent::decision_point). When another decision
    /// is awaited the answer is [`ApiMisuse::Awaiting`] with that one, and
    /// nothing changes.
    pub fn respond_to(
        &mut self,
        now: Instant,
        point: DecisionPoint,
        decision: Decision,
    ) -> Result<(), ApiMisuse> {
        if self.is_closed() {
            return Err(ApiMisuse::Closed);
        }
        match self.pending_decision() {
            None => Err(ApiMisuse::NoPendingDecision),
            Some(awaited) if awaited != point => Err(ApiMisuse::Awaiting(awaited)),
            Some(_) => self.respond(now, decision),
        }
    }

    /// The next thing for the adapter to do. Call it until it returns
    /// [`Output::Wait`] or [`Output::Close`].
    pub fn poll_output(&mut self) -> Output<ServerEvent> {
        self.process();
        // Events first (the order `Output` promises), built straight into the
        // return value: an event is large, and this is the hot path.
        if let Some(event) = self.events.pop_front() {
            return Output::Event(event);
        }
        self.poll_other_output()
    }

    /// [`poll_output`](Self::poll_output) when no event is queued. A function
    /// of its own: merged into the event path, the code below made the
    /// compiler copy every event twice more on its way out.
    #[inline(never)]
    fn poll_other_output(&mut self) -> Output<ServerEvent> {
        // No event is queued: `poll_output` handed those out first.
        if let Some(ready) = ready_output(&mut self.out, &mut self.starttls_pending, self.closing) {
            if ready == Ready::Close {
                self.phase = Phase::Closed;
                self.input = BytesMut::new();
                self.out = BytesMut::new();
                self.envelope = EnvelopeStore::default();
                self.events = VecDeque::new();
                self.pieces = alloc::vec::Vec::new();
                self.line = alloc::vec::Vec::new();
                self.spare = BytesMut::new();
            }
            return ready.into();
        }
        // About to wait: give back what an idle session does not need.
        // Between transactions (after EHLO, after a message) the command
        // block goes too: an idle connection then holds no input buffer at
        // all, at the cost of one allocation when the next transaction's
        // commands arrive (the `spare` block only saves allocations within
        // a transaction whose commands come in several reads).
        if self.tx.is_none() && self.input.is_empty() && matches!(self.phase, Phase::Command) {
            self.input = BytesMut::new();
            self.spare = BytesMut::new();
        }
        release_if_idle(&mut self.input, IDLE_KEEP);
        release_if_idle(&mut self.out, IDLE_KEEP);
        if self.events.capacity() > 16 {
            self.events.shrink_to(16);
        }
        if self.pieces.capacity() > 16 {
            self.pieces = alloc::vec::Vec::new();
        }
        if self.line.capacity() > IDLE_LINE {
            self.line = alloc::vec::Vec::new();
        }
        let wants_read = match self.phase {
            Phase::TlsHandshake | Phase::Closed => false,
            _ => self.input.len() < self.config.input_capacity(),
        };
        let deadline = match self.phase {
            Phase::Pending(_) => None,
            _ => self.deadline,
        };
        Output::Wait {
            deadline,
            wants_read,
        }
    }

    // ----- the engine -------------------------------------------------------

    /// Turns buffered input into replies and events until blocked.
    fn process(&mut self) {
        while !self.closing && self.out.len() < OUTPUT_HIGH_WATER && self.events.len() < 64 {
            let progressed = match &self.phase {
                Phase::Command | Phase::Refused => self.step_command(),
                // Content waits while a few of its pieces are not handed out
                // yet: the event queue stays short (and small when idle).
                Phase::Data(_) if self.events.len() >= DATA_EVENTS => false,
                Phase::Data(_) => self.step_data(),
                Phase::Bdat { .. } => self.step_bdat(),
                Phase::Sasl(_) => self.step_sasl(),
                Phase::Pending(_) | Phase::TlsHandshake | Phase::Closed => false,
            };
            if !progressed {
                break;
            }
        }
    }

    fn step_command(&mut self) -> bool {
        if self.skipping_line {
            let (n, done) = skip_line(&self.input);
            self.input.advance(n);
            self.skipping_line = !done;
            return done;
        }
        if self.input.is_empty() {
            return false;
        }
        // RFC 8314 §3.3 clients on the wrong port: a TLS ClientHello is not SMTP.
        if !self.tls && self.input[0] == 0x16 {
            if self.input.len() < 2 {
                return false;
            }
            if self.input[1] == 0x03 {
                let text = format!(
                    "{} Error: TLS handshake on a plaintext port",
                    self.config.hostname
                );
                self.fatal_fault(421, (4, 7, 0), &text);
                return true;
            }
        }
        let limits = self.config.limits.clamped();
        let max = limits.command_line.max(limits.sasl_line);
        let (line_len, consumed) =
            match frame_line(&self.input, max, self.config.command_line_ending) {
                Framed::Partial => return false,
                Framed::Invalid {
                    error,
                    consumed,
                    complete,
                } => {
                    self.input.advance(consumed);
                    self.skipping_line = !complete;
                    match error {
                        LineError::TooLong => self.error(500, (5, 5, 6), "Error: line too long"),
                        _ => self.error(500, (5, 5, 2), "Error: bare CR or LF in command"),
                    }
                    return true;
                }
                Framed::Line { line, consumed } => (line.len(), consumed),
            };
        // The line is copied out (short: no allocation once warm) rather than
        // split off as `Bytes`, which would share the input buffer.
        let mut scratch = core::mem::take(&mut self.line);
        scratch.clear();
        scratch.reserve(line_len.max(128));
        scratch.extend_from_slice(&self.input[..line_len]);
        self.input.advance(consumed);
        self.step_line(&scratch, consumed, &limits);
        self.line = scratch;
        true
    }

    /// Parses and carries out one command line.
    fn step_line(&mut self, line: &[u8], consumed: usize, limits: &crate::limits::Limits) {
        let is_auth = line.len() >= 5 && line[..5].eq_ignore_ascii_case(b"AUTH ");
        if consumed > limits.command_line && !is_auth {
            self.error(500, (5, 5, 6), "Error: line too long");
            return;
        }
        let opts = ParseOptions {
            smtputf8: self.config.extensions.smtputf8 && self.is_extended(),
            utf8_transaction: self.tx.as_ref().is_some_and(|t| t.smtputf8),
            path: PathOptions::default(),
            helo: self.config.helo_syntax,
        };
        match &parse_command(line, &opts) {
            Ok(cmd) => self.dispatch(cmd),
            Err(e) => self.command_error(e),
        }
        // RFC 5321 §4.5.3.2.7: the server timeout runs while it awaits the next
        // command (or the next SASL line), from the moment the last one was answered.
        if matches!(self.phase, Phase::Command | Phase::Refused | Phase::Sasl(_)) {
            self.await_command();
        }
    }

    fn command_error(&mut self, e: &CommandError) {
        if matches!(self.phase, Phase::Refused) {
            self.error(503, (5, 5, 1), "Error: service refused; send QUIT");
            return;
        }
        match e {
            // A BDAT whose size cannot be read: the octets that follow may be
            // chunk data, and there is no knowing how many. Reading on would take
            // them for commands (chunk content smuggled in as commands), so the
            // session answers 554 and closes, as it does for improper pipelining.
            CommandError::Syntax(Verb::Bdat) => {
                self.fatal_fault(
                    554,
                    (5, 5, 4),
                    "Syntax: BDAT size [LAST]; the stream cannot be resynchronized",
                );
            }
            CommandError::Syntax(verb) => {
                let text = format!("Syntax: {}", syntax_hint(*verb));
                self.error(501, (5, 5, 4), &text)
            }
            // Postfix's answers: 501 with the address-syntax enhanced codes of
            // RFC 3463 (X.1.7 sender, X.1.3 recipient).
            CommandError::Path { verb, error } => {
                let enh = match verb {
                    Verb::Mail => (5, 1, 7),
                    Verb::Rcpt => (5, 1, 3),
                    _ => (5, 5, 4),
                };
                let text = format!("Error: {error}");
                self.error(501, enh, &text)
            }
            // RFC 1870 §6.1: a SIZE beyond any number we can hold is beyond the limit.
            CommandError::Params {
                error: ParamError::SizeOverflow,
                ..
            } => self.error(
                552,
                (5, 3, 4),
                "Message size exceeds fixed maximum message size",
            ),
            // RFC 5321 §4.1.1.11 keeps 555 for parameters that are not recognised
            // or not implemented; a malformed one is a syntax error (501), as in Postfix.
            CommandError::Params { error, .. } => {
                let text = format!("Error: {error}");
                self.error(501, (5, 5, 4), &text)
            }
            CommandError::Utf8RequiresSmtpUtf8(_) => {
                self.error(553, (5, 6, 7), "Error: non-ASCII address requires SMTPUTF8")
            }
            _ => self.error(500, (5, 5, 2), "Error: command not recognized"),
        }
    }
}

/// The usage hint in a `501` reply.
fn syntax_hint(verb: Verb) -> &'static str {
    match verb {
        Verb::Helo => "HELO hostname",
        Verb::Ehlo => "EHLO hostname",
        Verb::Lhlo => "LHLO hostname",
        Verb::Mail => "MAIL FROM:<address>",
        Verb::Rcpt => "RCPT TO:<address>",
        Verb::Bdat => "BDAT size [LAST]",
        Verb::Vrfy => "VRFY address",
        Verb::Expn => "EXPN list",
        Verb::Auth => "AUTH mechanism [initial-response]",
        Verb::Data => "DATA",
        Verb::Rset => "RSET",
        Verb::Quit => "QUIT",
        Verb::StartTls => "STARTTLS",
        Verb::Noop => "NOOP [text]",
        Verb::Help => "HELP [topic]",
    }
}
