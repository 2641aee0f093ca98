//! The client half of SMTP and LMTP as a sans-IO state machine.
//!
//! A [`ClientSession`] has the server's shape: it is fed the server's bytes,
//! end-of-input and timeouts through the `handle_*` methods and drained through
//! [`ClientSession::poll_output`] until it returns [`Output::Wait`]. What the
//! application wants done — send a message, stream its body, RSET, NOOP, QUIT —
//! it asks with methods that enqueue commands; results come back as
//! [`ClientEvent`]s.
//!
//! # What the core does by itself
//!
//! Connection setup is protocol logic, so it lives here (ARCHITECTURE.md R6): the
//! greeting (220, or a typed refusal on 554 or 421), EHLO with a HELO fallback on
//! 500/502 (LHLO in LMTP), STARTTLS per [`TlsPolicy`] and EHLO again over TLS
//! (only the post-TLS capabilities are used), AUTH when [`Credentials`](crate::wire::sasl::Credentials) are
//! configured, and then [`ClientEvent::Ready`].
//!
//! Transactions follow [`ClientSession::send_mail`]: MAIL with the parameters the
//! [`Envelope`] asks for (checked against the capabilities before anything is
//! written), one RCPT per recipient, then the content with DATA (dot-stuffed,
//! bare CR and LF turned into CRLF, so the client never emits an SMTP smuggling
//! sequence) or BDAT (RFC 3030) when CHUNKING is offered.
//!
//! With PIPELINING (RFC 2920) MAIL, every RCPT and DATA go in one group and
//! every reply is matched to its command through a FIFO of written commands;
//! without it the session writes one command at a time. The application code is
//! the same either way. Replies are parsed strictly and within the configured
//! limits; a malformed, unexpected, unsolicited or premature reply is a fatal
//! [`ServerFault`] — replies are never re-aligned with commands.
//!
//! # Design decisions
//!
//! * **No decisions, only events.** Unlike the server, nothing here waits for
//!   the application: a client has nothing to decide in the middle of a
//!   command exchange. The application acts when it likes.
//! * **One transaction at a time** from the application's point of view:
//!   `send_mail` is refused while a transaction is in progress; the next may
//!   start as soon as [`ClientEvent::TransactionComplete`] or
//!   [`ClientEvent::TransactionFailed`] is out. Internally an RSET after a failure
//!   and the next MAIL share a pipelined group.
//! * **The body is streamed through a bounded buffer.** [`ClientSession::body`]
//!   takes what fits ([`ClientConfig::max_body_buffer`]) and says how much it
//!   took; [`ClientEvent::BodyWanted`] says when there is room again. An
//!   application that has the whole message may hand it over at once (when it
//!   fits) right after `send_mail`.
//! * **Text bodies are normalised under BDAT too**: bare CR and LF become CRLF
//!   and a final line ending is added ([`LineNormalizer`](crate::wire::data::LineNormalizer),
//!   the same code that does it for the DATA encoder), so the server receives
//!   the same message whichever way it was sent. Only
//!   `BODY=BINARYMIME` content is sent verbatim.
//! * **LMTP with BDAT ends with a separate `BDAT 0 LAST`**, written only after
//!   every content chunk was accepted, and chunks are not pipelined: the reply
//!   count after the last chunk (one per accepted recipient, RFC 2033 §4.2) is
//!   then never in doubt, even when the server refuses a chunk.
//! * **Fatal conditions close the session.** A timeout, a malformed or
//!   unsolicited reply or a 421 closes at once; a refusal the server answered in
//!   step (greeting 554, EHLO refused, TLS or AUTH failure) is followed by QUIT.
//!
//! # The adapter contract
//!
//! The same as the server's (see [`crate::server`], "The adapter contract"):
//! drain [`poll_output`](ClientSession::poll_output) until
//! [`Output::Wait`] or [`Output::Close`] (which repeats once the session is
//! over); the commands to write come last, as one [`Output::Transmit`] per
//! drain; [`handle_bytes`](ClientSession::handle_bytes) takes at most what fits
//! in the input buffer and returns how much it took (keep the rest); once the
//! session has decided to close, every input answers
//! [`ApiMisuse::Closed`]. Feed the server's
//! bytes only after draining: a reply is matched only with a command that was
//! already handed out when its bytes were fed, and one that arrives ahead of
//! its command is [`ServerFault::PrematureReply`].
//!
//! # Drain loop
//!
//! ```
//! use std::collections::VecDeque;
//! use std::sync::Arc;
//! use smtp_proto::client::{ClientConfig, ClientEvent, ClientSession, Envelope};
//! use smtp_proto::output::Output;
//! use smtp_proto::time::Instant;
//!
//! let config = Arc::new(ClientConfig::new("client.example").unwrap());
//! let mut now = Instant::ZERO;
//! let mut client = ClientSession::new(config, now);
//!
//! // What the server says, each piece once the client waits for it (in an
//! // adapter, this comes from the socket).
//! let mut server: VecDeque<&[u8]> = VecDeque::from([
//!     &b"220 mx.example.net ESMTP\r\n"[..],
//!     b"250-mx.example.net\r\n250-PIPELINING\r\n250 8BITMIME\r\n",
//!     b"250 2.1.0 Ok\r\n550 5.1.1 No such user\r\n250 2.1.5 Ok\r\n354 Go ahead\r\n",
//!     b"250 2.0.0 Ok: queued\r\n",
//!     b"221 2.0.0 Bye\r\n",
//! ]);
//! let mut body: &[u8] = b"Subject: hi\r\n\r\n.hello\n";
//! let mut wire = Vec::new();
//! loop {
//!     match client.poll_output() {
//!         Output::Transmit(bytes) => wire.extend_from_slice(&bytes), // write to the socket
//!         Output::Event(ClientEvent::Ready(_caps)) => {
//!             let envelope = Envelope::parse(
//!                 "<alice@client.example>",
//!                 ["<nobody@example.net>", "<bob@example.net>"],
//!             )
//!             .unwrap();
//!             client.send_mail(now, envelope).unwrap();
//!         }
//!         Output::Event(ClientEvent::BodyWanted) => {
//!             let n = client.body(now, body).unwrap();
//!             body = &body[n..];
//!             if body.is_empty() {
//!                 client.end_body(now).unwrap();
//!             }
//!         }
//!         Output::Event(ClientEvent::TransactionComplete(result)) => {
//!             let delivered: Vec<String> =
//!                 result.delivered().map(|r| r.path.to_string()).collect();
//!             assert_eq!(delivered, ["<bob@example.net>"]);
//!             client.quit(now).unwrap();
//!         }
//!         Output::Event(event) => panic!("{event:?}"),
//!         // The bytes to write come last in a drain: one write per batch.
//!         Output::StartTls => unreachable!("the server does not offer STARTTLS"),
//!         Output::Close => break,
//!         Output::Wait { deadline, wants_read } => {
//!             match server.front_mut() {
//!                 Some(bytes) if wants_read => {
//!                     // The session takes what fits; keep the rest for later.
//!                     let taken = client.handle_bytes(now, bytes).unwrap();
//!                     *bytes = &bytes[taken..];
//!                     if bytes.is_empty() {
//!                         server.pop_front();
//!                     }
//!                 }
//!                 _ => {
//!                     // An adapter would sleep until `deadline` here.
//!                     now = deadline.expect("a deadline while waiting for the server");
//!                     client.handle_timeout(now).unwrap();
//!                 }
//!             }
//!         }
//!         _ => {}
//!     }
//! }
//! let wire = String::from_utf8(wire).unwrap();
//! assert!(wire.starts_with("EHLO client.example\r\nMAIL FROM:<alice@client.example>\r\n"));
//! assert!(wire.contains("DATA\r\nSubject: hi\r\n\r\n..hello\r\n.\r\nQUIT\r\n"));
//! ```

mod config;
mod event;
mod setup;
#[cfg(test)]
mod tests;
mod transaction;

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use core::time::Duration;

use bytes::{Buf, BytesMut};

pub use config::{ClientConfig, ClientTimeouts, TlsPolicy};
pub use event::{
    AuthError, ClientError, ClientEvent, ConfigError, Envelope, Recipient, RecipientResult,
    RequiredExtension, ServerFault, SessionError, TransactionFailure, TransactionResult, Waiting,
};

use crate::ext::Capabilities;
use crate::output::{ApiMisuse, Output, Ready, ready_output, release_if_idle, take_bounded};
use crate::reply::{Reply, ReplyParse, ReplyParseOptions, parse_reply};
use crate::time::Instant;
use crate::wire::command::{Command, Verb};

/// Stop producing body output once this much waits to be taken.
const OUTPUT_HIGH_WATER: usize = 64 * 1024;

/// An idle session keeps buffers up to this size; larger ones are released.
const IDLE_KEEP: usize = 1024;

/// What a written command (or the connection itself) waits for: one entry of
/// the outstanding-command FIFO.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// The greeting.
    Greeting,
    /// The reply to EHLO, HELO or LHLO.
    Hello(Verb),
    /// The reply to STARTTLS.
    StartTls,
    /// The reply to AUTH or to a SASL response line.
    Auth,
    /// The reply to MAIL.
    Mail,
    /// The reply to the RCPT of this recipient (index in the envelope).
    Rcpt(usize),
    /// The reply to DATA.
    Data,
    /// The replies to the end of the content: `remaining` of them (LMTP: one per
    /// accepted recipient). `abort`: the lone `.` that ends a DATA the server
    /// accepted although no recipient was (RFC 2920 §3.1).
    DataEnd { remaining: usize, abort: bool },
    /// The reply (LMTP `LAST`: replies) to a BDAT chunk. `sync`: nothing may be
    /// written before it is answered.
    Bdat {
        last: bool,
        remaining: usize,
        sync: bool,
    },
    /// The reply to RSET; `internal` when the session sent it on its own.
    Rset { internal: bool },
    /// The reply to NOOP.
    Noop,
    /// The reply to QUIT.
    Quit,
}

impl Expect {
    /// Whether nothing may be written after this command until it is answered
    /// (RFC 2920 §3.1, [`Verb::ends_pipeline_group`]).
    fn ends_group(self) -> bool {
        match self {
            Expect::Greeting => true,
            Expect::Bdat { sync, .. } => sync,
            Expect::DataEnd { .. } => false,
            _ => self.verb().is_some_and(Verb::ends_pipeline_group),
        }
    }

    /// The command answered, for error reports.
    fn verb(self) -> Option<Verb> {
        Some(match self {
            Expect::Greeting | Expect::DataEnd { .. } => return None,
            Expect::Hello(v) => v,
            Expect::StartTls => Verb::StartTls,
            Expect::Auth => Verb::Auth,
            Expect::Mail => Verb::Mail,
            Expect::Rcpt(_) => Verb::Rcpt,
            Expect::Data => Verb::Data,
            Expect::Bdat { .. } => Verb::Bdat,
            Expect::Rset { .. } => Verb::Rset,
            Expect::Noop => Verb::Noop,
            Expect::Quit => Verb::Quit,
        })
    }

    fn waiting(self) -> Waiting {
        match self {
            Expect::Greeting => Waiting::Greeting,
            Expect::DataEnd { .. } | Expect::Bdat { last: true, .. } => Waiting::EndOfData,
            other => other.verb().map_or(Waiting::EndOfData, Waiting::Reply),
        }
    }

    /// RFC 5321 §4.5.3.2.
    fn timeout(self, t: &ClientTimeouts) -> Duration {
        match self {
            Expect::Greeting => t.greeting,
            Expect::Mail => t.mail,
            Expect::Rcpt(_) => t.rcpt,
            Expect::Data => t.data_init,
            Expect::DataEnd { .. } | Expect::Bdat { last: true, .. } => t.data_end,
            Expect::Bdat { last: false, .. } => t.data_block,
            _ => t.command,
        }
    }

    /// Whether a reply with this code can answer the command at all. Anything
    /// else is a fatal protocol error: the reply stream is out of step.
    fn admits(self, code: u16) -> bool {
        let negative = code >= 400;
        match self {
            Expect::Greeting | Expect::StartTls => code == 220 || negative,
            Expect::Hello(_) => code == 250 || negative,
            Expect::Auth => code == 235 || code == 334 || negative,
            Expect::Data => code == 354 || negative,
            Expect::Quit => true,
            // RFC 5321 §4.3.2: RCPT succeeds with 250 or 251 (§3.4).
            Expect::Rcpt(_) => matches!(code, 250 | 251) || negative,
            // RFC 5321 §4.3.2 (and RFC 3030 §2, RFC 2033 §4.2): MAIL, the end
            // of the content, BDAT, RSET and NOOP succeed with 250 only; any
            // other positive code (a 221, say) is out of step.
            _ => code == 250 || negative,
        }
    }
}

/// A command not written yet.
#[derive(Debug)]
struct Queued {
    /// The line (a constant one is not copied).
    bytes: alloc::borrow::Cow<'static, [u8]>,
    expect: Expect,
}

/// A sans-IO SMTP or LMTP client connection.
///
/// See the [module documentation](self) for the drain loop.
#[derive(Debug)]
pub struct ClientSession {
    config: Arc<ClientConfig>,
    now: Instant,
    reply_opts: ReplyParseOptions,
    input: BytesMut,
    out: BytesMut,
    events: VecDeque<ClientEvent>,
    /// Commands not yet written, in order.
    queue: VecDeque<Queued>,
    /// Commands written and not fully answered, in order.
    inflight: VecDeque<Expect>,
    /// When the reply at the head of `inflight` is overdue.
    head_deadline: Option<Instant>,
    /// PIPELINING offered and used.
    pipelining: bool,
    tls: bool,
    /// STARTTLS was accepted: waiting for `handle_tls_established`.
    handshake: Option<Instant>,
    /// `Output::StartTls` not handed out yet.
    starttls_output: bool,
    caps: Option<Capabilities>,
    ready: bool,
    authenticated: bool,
    auth: Option<setup::AuthExchange>,
    msg: Option<transaction::Message>,
    quit_queued: bool,
    eof: bool,
    closing: bool,
    /// Commands written into `out` so far (the greeting counts as one).
    written_count: u64,
    /// Commands answered in full so far: the head of `inflight` is command
    /// number `answered_count`.
    answered_count: u64,
    /// `written_count` when `out` was last handed out: commands up to here
    /// can have been seen by the server.
    handed_out: u64,
    /// For the buffered input, in order: up to which offset (exclusive) the
    /// octets were fed while `handed_out` had this value. A reply may only
    /// answer a command that had been handed out when its last octet was fed.
    segments: VecDeque<(usize, u64)>,
}

impl ClientSession {
    /// A new connection on a plaintext port (25, 587, or an LMTP socket): the
    /// session waits for the greeting.
    pub fn new(config: Arc<ClientConfig>, now: Instant) -> ClientSession {
        let reply_opts =
            ReplyParseOptions::from_limits(&config.limits.clamped(), config.reply_line_ending);
        let mut session = ClientSession {
            head_deadline: Some(now + config.timeouts.greeting),
            config,
            now,
            reply_opts,
            input: BytesMut::new(),
            out: BytesMut::new(),
            events: VecDeque::new(),
            queue: VecDeque::new(),
            inflight: VecDeque::from([Expect::Greeting]),
            pipelining: false,
            tls: false,
            handshake: None,
            starttls_output: false,
            caps: None,
            ready: false,
            authenticated: false,
            auth: None,
            msg: None,
            quit_queued: false,
            eof: false,
            closing: false,
            written_count: 1,
            answered_count: 0,
            handed_out: 1,
            segments: VecDeque::new(),
        };
        if let Err(e) = setup::check_config(&session.config) {
            session.fatal(SessionError::Config(e));
        }
        session
    }

    /// A new connection whose TLS was set up before SMTP started (implicit TLS,
    /// port 465, RFC 8314 §3.3): STARTTLS is never sent and AUTH is allowed.
    pub fn new_tls(config: Arc<ClientConfig>, now: Instant) -> ClientSession {
        let mut session = ClientSession::new(config, now);
        session.tls = true;
        session
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The capabilities in force: from the last EHLO (or LHLO) reply, or empty
    /// after HELO. `None` before the first one.
    pub fn capabilities(&self) -> Option<&Capabilities> {
        self.caps.as_ref()
    }

    /// Whether setup is over ([`ClientEvent::Ready`] was queued) and the
    /// session has not closed.
    pub fn is_ready(&self) -> bool {
        self.ready && !self.closing
    }

    /// Whether the connection is protected by TLS.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// Whether AUTH succeeded.
    pub fn is_authenticated(&self) -> bool {
        self.authenticated
    }

    /// Whether the session is over (or about to hand out [`Output::Close`]).
    pub fn is_closed(&self) -> bool {
        self.closing
    }

    /// How many octets [`ClientSession::body`] would accept now.
    pub fn body_capacity(&self) -> usize {
        match &self.msg {
            Some(m) if m.accepts_body() => {
                self.config.body_capacity().saturating_sub(m.staged_len())
            }
            _ => 0,
        }
    }

    // ----- inputs -------------------------------------------------------------

    /// Bytes from the server. The session takes **at most what fits** in its
    /// input buffer ([`ClientConfig::max_input_buffer`], raised to hold one
    /// reply of the configured limits) and returns how many octets it took:
    /// keep the rest and offer it again after the next drain. Bytes that
    /// arrive while a TLS upgrade is pending are taken and discarded: they were
    /// sent in plaintext after the server's 220 to STARTTLS (RFC 3207 §4.2,
    /// response injection).
    ///
    /// The replies in these bytes may only answer commands that were already
    /// handed out by [`poll_output`](Self::poll_output): a reply to a command
    /// not yet written is [`ServerFault::PrematureReply`].
    pub fn handle_bytes(&mut self, now: Instant, bytes: &[u8]) -> Result<usize, ApiMisuse> {
        if self.closing {
            return Err(ApiMisuse::Closed);
        }
        self.now = now;
        if self.handshake.is_some() {
            return Ok(bytes.len());
        }
        let taken = take_bounded(&mut self.input, self.config.input_capacity(), bytes);
        if taken > 0 {
            let end = self.input.len();
            match self.segments.back_mut() {
                Some((last_end, limit)) if *limit == self.handed_out => *last_end = end,
                _ => self.segments.push_back((end, self.handed_out)),
            }
        }
        Ok(taken)
    }

    /// The server closed its side. Replies already received are still read; then
    /// the session closes, quietly after QUIT, else with
    /// [`SessionError::ConnectionClosed`].
    pub fn handle_eof(&mut self, now: Instant) -> Result<(), ApiMisuse> {
        if self.closing {
            return Err(ApiMisuse::Closed);
        }
        self.now = now;
        self.eof = true;
        Ok(())
    }

    /// Time passed. If the deadline of [`Output::Wait`] is reached, the session
    /// reports [`SessionError::Timeout`] and closes (RFC 5321 §4.5.3.2); a QUIT
    /// left unanswered just closes.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), ApiMisuse> {
        if self.closing {
            return Err(ApiMisuse::Closed);
        }
        self.now = now;
        let Some(deadline) = self.deadline() else {
            return Ok(());
        };
        if now < deadline {
            return Ok(());
        }
        let waiting = if self.handshake.is_some() {
            Waiting::TlsHandshake
        } else {
            match self.inflight.front() {
                Some(Expect::Quit) => {
                    self.shutdown();
                    return Ok(());
                }
                Some(e) => e.waiting(),
                None => Waiting::Body,
            }
        };
        self.fatal(SessionError::Timeout(waiting));
        Ok(())
    }

    /// The TLS handshake that [`Output::StartTls`] asked for is done. What was
    /// learnt before it is forgotten (RFC 3207 §4.2) and EHLO (or LHLO) is sent again.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use smtp_proto::client::{ClientConfig, ClientEvent, ClientSession, TlsPolicy};
    /// use smtp_proto::output::Output;
    /// use smtp_proto::time::Instant;
    ///
    /// let mut config = ClientConfig::new("client.example").unwrap();
    /// config.tls = TlsPolicy::Required; // never AUTH or MAIL in plaintext
    /// let now = Instant::ZERO;
    /// let mut client = ClientSession::new(Arc::new(config), now);
    /// let mut server: Vec<&[u8]> = vec![
    ///     b"220 mx.example ESMTP\r\n",
    ///     b"250-mx.example\r\n250 STARTTLS\r\n",
    ///     b"220 2.0.0 Ready to start TLS\r\n",
    ///     b"250-mx.example\r\n250 8BITMIME\r\n", // over TLS: no STARTTLS any more
    /// ];
    /// server.reverse();
    /// let mut wire = Vec::new();
    /// let caps = loop {
    ///     match client.poll_output() {
    ///         Output::Transmit(bytes) => wire.extend_from_slice(&bytes),
    ///         // An adapter runs the TLS handshake on the socket here.
    ///         Output::StartTls => client.handle_tls_established(now).unwrap(),
    ///         Output::Event(ClientEvent::Ready(caps)) => break caps,
    ///         Output::Wait { .. } => {
    ///             let bytes = server.pop().expect("the server's next words");
    ///             assert_eq!(client.handle_bytes(now, bytes).unwrap(), bytes.len());
    ///         }
    ///         other => panic!("{other:?}"),
    ///     }
    /// };
    /// assert!(client.is_tls() && caps.eight_bit_mime() && !caps.starttls());
    /// assert_eq!(wire, b"EHLO client.example\r\nSTARTTLS\r\nEHLO client.example\r\n");
    /// ```
    pub fn handle_tls_established(&mut self, now: Instant) -> Result<(), ApiMisuse> {
        if self.closing {
            return Err(ApiMisuse::Closed);
        }
        if self.handshake.is_none() || self.starttls_output {
            return Err(ApiMisuse::NoTlsUpgrade);
        }
        self.now = now;
        self.handshake = None;
        self.tls = true;
        self.caps = None;
        self.input.clear();
        self.segments.clear();
        if !self.quit_queued {
            self.send_hello();
        }
        Ok(())
    }

    // ----- commands -----------------------------------------------------------

    /// Sends RSET (RFC 5321 §4.1.1.5); its reply comes as [`ClientEvent::Reply`].
    /// Only between transactions (a failed one counts as over).
    pub fn rset(&mut self, now: Instant) -> Result<(), ApiMisuse> {
        self.check_idle()?;
        self.now = now;
        self.msg = None;
        self.enqueue(Command::Rset.to_bytes(), Expect::Rset { internal: false });
        Ok(())
    }

    /// Sends NOOP (RFC 5321 §4.1.1.9); its reply comes as [`ClientEvent::Reply`].
    /// Only between transactions.
    pub fn noop(&mut self, now: Instant) -> Result<(), ApiMisuse> {
        self.check_idle()?;
        self.now = now;
        self.enqueue(Command::Noop(None).to_bytes(), Expect::Noop);
        Ok(())
    }

    /// Ends the session with QUIT (RFC 5321 §4.1.1.10): [`Output::Close`]
    /// follows the server's reply. Allowed at any time but during a transaction;
    /// during setup, the setup stops at the next reply.
    pub fn quit(&mut self, now: Instant) -> Result<(), ApiMisuse> {
        if self.closing {
            return Err(ApiMisuse::Closed);
        }
        if self.quit_queued || self.transaction_in_progress() {
            return Err(ApiMisuse::InvalidState);
        }
        self.now = now;
        self.msg = None;
        self.enqueue_quit();
        Ok(())
    }

    // ----- output -------------------------------------------------------------

    /// The next thing for the adapter to do. Call it until it returns
    /// [`Output::Wait`] or [`Output::Close`].
    pub fn poll_output(&mut self) -> Output<ClientEvent> {
        self.process();
        if let Some(event) = self.events.pop_front() {
            return Output::Event(event);
        }
        if let Some(ready) = ready_output(&mut self.out, &mut self.starttls_output, self.closing) {
            match ready {
                Ready::Transmit(_) => self.handed_out = self.written_count,
                Ready::Close => {
                    self.input = BytesMut::new();
                    self.out = BytesMut::new();
                    self.events = VecDeque::new();
                    self.segments = VecDeque::new();
                }
                Ready::StartTls => {}
            }
            return ready.into();
        }
        // About to wait: give back what an idle session does not need.
        release_if_idle(&mut self.input, IDLE_KEEP);
        release_if_idle(&mut self.out, IDLE_KEEP);
        if self.events.capacity() > 16 {
            self.events.shrink_to(16);
        }
        if self.queue.is_empty() && self.queue.capacity() > 16 {
            self.queue.shrink_to(16);
        }
        Output::Wait {
            deadline: self.deadline(),
            wants_read: self.handshake.is_none(),
        }
    }

    // ----- the engine -----------------------------------------------------------

    /// Writes what may be written and produces body output, then reads a
    /// reply, and again: output is produced between any two replies the same
    /// way whether they arrived together or apart, so nothing depends on how
    /// the input was split (ARCHITECTURE.md R7).
    fn process(&mut self) {
        while !self.closing && self.handshake.is_none() {
            self.flush();
            self.pump_body();
            if !self.step_reply() {
                break;
            }
        }
        if self.eof && !self.closing {
            if self.quit_queued {
                self.shutdown();
            } else {
                self.fatal(SessionError::ConnectionClosed);
            }
        }
    }

    /// Parses and handles one reply, if a whole one is buffered.
    fn step_reply(&mut self) -> bool {
        if self.input.is_empty() {
            return false;
        }
        let parsed = match parse_reply(&self.input, &self.reply_opts) {
            Err(e) if matches!(self.inflight.front(), Some(Expect::Hello(_))) => {
                // One capability line the client cannot read must not make the
                // server unusable: the EHLO reply is read with such lines
                // defused, and the capability model ignores (and reports) them.
                setup::parse_ehlo_leniently(&self.input, &self.reply_opts).ok_or(e)
            }
            other => other,
        };
        match parsed {
            Err(e) => {
                self.fatal(SessionError::ServerFault(ServerFault::MalformedReply(e)));
                true
            }
            Ok(ReplyParse::Partial) => false,
            Ok(ReplyParse::Complete { reply, consumed }) => {
                // The reply's last octet was fed when only the commands up to
                // `limit` had been handed out.
                let limit = self
                    .segments
                    .iter()
                    .find(|(end, _)| *end >= consumed)
                    .map_or(self.handed_out, |&(_, limit)| limit);
                self.input.advance(consumed);
                self.segments.retain_mut(|(end, _)| {
                    *end = end.saturating_sub(consumed);
                    *end > 0
                });
                if !self.inflight.is_empty() && self.answered_count >= limit {
                    self.fatal(SessionError::ServerFault(ServerFault::PrematureReply(
                        reply,
                    )));
                    return true;
                }
                self.on_reply(reply);
                true
            }
        }
    }

    /// Matches a reply with the command at the head of the FIFO.
    fn on_reply(&mut self, reply: Reply) {
        let code = reply.code().get();
        let Some(&expect) = self.inflight.front() else {
            let error = if code == 421 {
                SessionError::ServiceUnavailable(reply)
            } else {
                SessionError::ServerFault(ServerFault::UnsolicitedReply(reply))
            };
            self.fatal(error);
            return;
        };
        // RFC 5321 §3.8: 421 at any point means the server is closing.
        if code == 421 && expect != Expect::Quit {
            self.fatal(SessionError::ServiceUnavailable(reply));
            return;
        }
        if !expect.admits(code) {
            self.fatal(SessionError::ServerFault(ServerFault::UnexpectedReply {
                command: expect.verb(),
                reply,
            }));
            return;
        }
        match self.inflight.front_mut() {
            Some(Expect::DataEnd { remaining, .. } | Expect::Bdat { remaining, .. })
                if *remaining > 1 =>
            {
                *remaining -= 1;
            }
            _ => {
                self.inflight.pop_front();
                self.answered_count += 1;
            }
        }
        self.head_deadline = self
            .inflight
            .front()
            .map(|e| self.now + e.timeout(&self.config.timeouts));
        match expect {
            Expect::Greeting => self.on_greeting(reply),
            Expect::Hello(verb) => self.on_hello(verb, reply),
            Expect::StartTls => self.on_starttls(reply),
            Expect::Auth => self.on_auth(reply),
            Expect::Mail => self.on_mail(reply),
            Expect::Rcpt(i) => self.on_rcpt(i, reply),
            Expect::Data => self.on_data(reply),
            Expect::DataEnd { abort, .. } => {
                if !abort {
                    self.on_final(reply);
                }
            }
            Expect::Bdat { last, .. } => self.on_bdat(last, reply),
            Expect::Rset { internal } => {
                if !internal {
                    self.events.push_back(ClientEvent::Reply {
                        verb: Verb::Rset,
                        reply,
                    });
                }
            }
            Expect::Noop => self.events.push_back(ClientEvent::Reply {
                verb: Verb::Noop,
                reply,
            }),
            Expect::Quit => self.shutdown(),
        }
    }

    /// Writes queued commands as far as pipelining allows: without PIPELINING
    /// one at a time; with it, until a command that ends a group (RFC 2920 §3.1).
    fn flush(&mut self) {
        while !self.queue.is_empty() {
            if let Some(last) = self.inflight.back()
                && (!self.pipelining || last.ends_group())
            {
                break;
            }
            let Some(q) = self.queue.pop_front() else {
                break;
            };
            self.out.extend_from_slice(&q.bytes);
            self.written(q.expect);
        }
    }

    /// A command (or the end of the content) went out: its reply is awaited.
    fn written(&mut self, expect: Expect) {
        self.written_count += 1;
        if self.inflight.is_empty() {
            self.head_deadline = Some(self.now + expect.timeout(&self.config.timeouts));
        }
        self.inflight.push_back(expect);
    }

    /// Queues a command, unless QUIT is already queued.
    fn enqueue(&mut self, bytes: impl Into<alloc::borrow::Cow<'static, [u8]>>, expect: Expect) {
        if !self.quit_queued {
            self.queue.push_back(Queued {
                bytes: bytes.into(),
                expect,
            });
        }
    }

    fn enqueue_quit(&mut self) {
        if !self.quit_queued {
            self.queue.push_back(Queued {
                bytes: Command::Quit.to_bytes().into(),
                expect: Expect::Quit,
            });
            self.quit_queued = true;
        }
    }

    /// Whether a command matching `pred` is queued or awaits its reply.
    fn pending(&self, pred: impl Fn(&Expect) -> bool) -> bool {
        self.inflight.iter().any(&pred) || self.queue.iter().any(|q| pred(&q.expect))
    }

    fn deadline(&self) -> Option<Instant> {
        if let Some(handshake) = self.handshake {
            return Some(handshake);
        }
        if !self.inflight.is_empty() {
            return self.head_deadline;
        }
        self.msg
            .as_ref()
            .and_then(|m| m.body_deadline(self.config.timeouts.data_block))
    }

    fn check_idle(&self) -> Result<(), ApiMisuse> {
        if self.closing {
            return Err(ApiMisuse::Closed);
        }
        if !self.ready || self.quit_queued || self.transaction_in_progress() {
            return Err(ApiMisuse::InvalidState);
        }
        Ok(())
    }

    fn transaction_in_progress(&self) -> bool {
        self.msg.as_ref().is_some_and(|m| !m.is_abandoned())
    }

    /// The session cannot go on: report, and close without another word.
    fn fatal(&mut self, error: SessionError) {
        if self.closing {
            return;
        }
        self.events.push_back(ClientEvent::Error(error));
        self.out.clear();
        self.shutdown();
    }

    /// The session cannot go on, but the server is in step: report, QUIT, close.
    fn fail_and_quit(&mut self, error: SessionError) {
        self.events.push_back(ClientEvent::Error(error));
        self.msg = None;
        self.auth = None;
        self.queue.retain(|q| q.expect == Expect::Quit);
        self.enqueue_quit();
    }

    fn shutdown(&mut self) {
        self.closing = true;
        self.queue.clear();
        self.inflight.clear();
        self.input.clear();
        self.segments.clear();
        self.msg = None;
        self.auth = None;
        self.head_deadline = None;
        self.handshake = None;
        self.starttls_output = false;
    }
}
