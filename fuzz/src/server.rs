//! A conforming adapter around [`ServerSession`] that checks the session's
//! invariants after every call, and the op-stream format the `server` target reads.
//!
//! # Input format (`server` target)
//!
//! `[header: HEADER_LEN bytes][op]*` — see [`ServerSpec::from_header`] for the
//! header and [`Op`] for the ops. `cargo xtask fuzz-seed` writes the
//! conformance transcripts in this format. [`run_ops`] plays an input twice,
//! under different read sizes, and compares the two runs.
//!
//! # Invariants
//!
//! The harness behaves like a correct adapter (it drains `poll_output` until
//! `Wait`, reads only while `wants_read`, upgrades TLS when asked, answers only
//! events that need a decision) and asserts, with the model it keeps of what it
//! has seen and decided:
//!
//! * **no panic**, and `poll_output` reaches `Wait` within a number of calls
//!   linear in the input buffered (`drain`);
//! * **bounded memory**: after `handle_bytes(chunk)`, `buffered_input()` is at most
//!   the configured input capacity plus `chunk.len()`, and every byte fed is
//!   buffered (nothing is lost while the session reads); one `Transmit` is at most
//!   the output high-water mark plus what one step can produce;
//! * **replies are well formed**: the transmitted bytes are a sequence of
//!   complete replies (RFC 5321 §4.2), and each `Transmit` ends on a reply
//!   boundary, whatever the peer sent and whatever text the application used;
//! * **at most one reply per line**: the number of replies never exceeds the
//!   greeting, plus the line feeds fed, plus one closing `421`, plus one reply to
//!   a line still being discarded (too long, bare CR), plus in LMTP one extra reply
//!   per accepted recipient;
//! * **no reply or event after `Close`**, nothing but `Wait` afterwards; nothing at
//!   all during a TLS handshake; no reply before the greeting was decided;
//! * **liveness**: when the session waits for the peer (not closed, no decision
//!   outstanding, no handshake), it wants to read, has a deadline, and holds no
//!   complete line (every line fed was answered or is being answered);
//!   while a decision is outstanding there is no deadline;
//! * **one decision at a time**: no second event that needs a decision before
//!   `respond`; `respond` succeeds exactly when the documented rules say so
//!   (`Accept` always, `Reject` with 4xx/5xx always, LMTP `PerRecipient` with one
//!   reply per accepted recipient at the end of a message; positive replies to
//!   reject, negative ones to accept and `PerRecipient` outside LMTP never), and a
//!   refused `respond` has no effect at all;
//! * **events follow the protocol**: HELO/EHLO in SMTP and LHLO in LMTP only; no
//!   event needing a decision after the greeting was refused; AUTH only when
//!   offered (mechanism configured, TLS or `auth_without_tls`, after EHLO, not
//!   authenticated, no transaction); MAIL only after an accepted hello, outside a
//!   transaction, after TLS under `require_tls` and AUTH under `require_auth`;
//!   RCPT only inside a transaction; DATA start only with an accepted recipient;
//!   **at most one `MessageEnd` per accepted data start**, and message content
//!   only between the two, adding up to the size `MessageEnd` reports;
//! * **deadlines**: `handle_timeout` at or after the reported deadline closes the
//!   session (with a `421` unless in a TLS handshake); before it, has no effect;
//! * **read sizes do not matter** (ARCHITECTURE.md R7, [`run_ops`]): played again with
//!   other read sizes, the dialogue sends the same bytes and produces the same
//!   events, content, `StartTls` and `Close` (except how much content of a message
//!   that never reaches `MessageEnd` was handed out, see [`Log::complete_messages_only`]);
//! * **TLS**: `StartTls` only when offered; at that point the input buffer is
//!   empty (pipelined plaintext discarded); `handle_tls_established` succeeds
//!   exactly after `StartTls`, and is followed by `TlsEstablished`, after which
//!   the hello, authentication and transaction are forgotten; a `421` decision and
//!   EOF close the session.

use std::sync::Arc;
use std::time::Duration;

use smtp_proto::output::{ApiMisuse, Output};
use smtp_proto::reply::Reply;
use smtp_proto::server::{
    Decision, HelloKind, ServerConfig, ServerEvent, ServerSession, VrfyPolicy,
};
use smtp_proto::Protocol;
use smtp_proto::time::Instant;
use smtp_proto::wire::command::HeloSyntax;
use smtp_proto::wire::data::BareLineEnding;
use smtp_proto::wire::line::LineEnding;
use smtp_proto::wire::sasl::Mechanism;

use crate::decisions::{self, Choice, MAX_REPLY_LEN};
use crate::input::{Input, pick};
use crate::replies::ReplyStream;

/// Whether to print every call and output to stderr (`SMTP_FUZZ_TRACE=1`), for
/// reading a crash: `SMTP_FUZZ_TRACE=1 target/.../server crash-file`.
fn trace() -> bool {
    static TRACE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *TRACE.get_or_init(|| std::env::var_os("SMTP_FUZZ_TRACE").is_some())
}

macro_rules! trace {
    ($($arg:tt)*) => {
        if trace() {
            eprintln!($($arg)*);
        }
    };
}

/// Bytes of configuration at the start of a `server` input.
pub const HEADER_LEN: usize = 12;

/// The session's output high-water mark (`OUTPUT_HIGH_WATER` in `server/mod.rs`).
const OUTPUT_HIGH_WATER: usize = 16 * 1024;

/// A server configuration and how the harness drives it.
#[derive(Debug, Clone)]
pub struct ServerSpec {
    /// The configuration.
    pub config: ServerConfig,
    /// Start with TLS already up (`ServerSession::new_tls`).
    pub implicit_tls: bool,
    /// Accept every decision as soon as it is asked for (explicit respond ops
    /// then exercise API misuse).
    pub autopilot: bool,
}

impl ServerSpec {
    /// Decodes the header. Each byte is one group of settings, so that a mutation
    /// changes one thing; all-zero bytes are the default configuration with
    /// hostname `mx.test` (what the transcripts start from) and explicit decisions.
    ///
    /// | byte | bits |
    /// |---|---|
    /// | 0 | 1 LMTP, 2 implicit TLS, 4 autopilot, 8 `auth_without_tls`, 16 `require_tls`, 32 `require_auth`, 64 HELO lenient, 128 bare LF ends commands |
    /// | 1 | turn off: 1 PIPELINING, 2 8BITMIME, 4 ENHANCEDSTATUSCODES, 8 CHUNKING, 16 SMTPUTF8, 32 DSN; turn on: 64 BINARYMIME, 128 REQUIRETLS |
    /// | 2 | 1 STARTTLS; bits 1-2 AUTH (none, PLAIN+LOGIN, XOAUTH2+OAUTHBEARER, all four and SCRAM-SHA-256); 8 normalise bare LF in DATA; 16 VRFY disabled; 32 EXPN enabled; 64 custom banner; 128 odd hostname |
    /// | 3 | max message size (table) |
    /// | 4 | low nibble max recipients, high nibble max errors (tables) |
    /// | 5 | low nibble command line limit, high nibble SASL line limit |
    /// | 6 | text line limit |
    /// | 7 | max input buffer |
    /// | 8 | command timeout |
    /// | 9 | data timeout |
    /// | 10 | data progress octets |
    /// | 11 | hostname (with byte 2 bit 128); read size of the second play (`run_ops`) |
    pub fn from_header(h: [u8; HEADER_LEN]) -> ServerSpec {
        let bit = |byte: u8, mask: u8| byte & mask != 0;
        let mut c = ServerConfig::new("mx.test");
        c.protocol = if bit(h[0], 1) {
            Protocol::Lmtp
        } else {
            Protocol::Smtp
        };
        c.auth_without_tls = bit(h[0], 8);
        c.require_tls = bit(h[0], 16);
        c.require_auth = bit(h[0], 32);
        if bit(h[0], 64) {
            c.helo_syntax = HeloSyntax::Lenient;
        }
        if bit(h[0], 128) {
            c.command_line_ending = LineEnding::Lenient;
        }
        let e = &mut c.extensions;
        e.pipelining = !bit(h[1], 1);
        e.eight_bit_mime = !bit(h[1], 2);
        e.enhanced_status_codes = !bit(h[1], 4);
        e.chunking = !bit(h[1], 8);
        e.smtputf8 = !bit(h[1], 16);
        e.dsn = !bit(h[1], 32);
        e.binary_mime = bit(h[1], 64);
        e.requiretls = bit(h[1], 128);
        e.starttls = bit(h[2], 1);
        let scram = Mechanism::parse("SCRAM-SHA-256").map(Mechanism::into_owned);
        e.auth = match (h[2] >> 1) & 3 {
            0 => Vec::new(),
            1 => vec![Mechanism::Plain, Mechanism::Login],
            2 => vec![Mechanism::XOAuth2, Mechanism::OAuthBearer],
            _ => [
                Mechanism::Plain,
                Mechanism::Login,
                Mechanism::XOAuth2,
                Mechanism::OAuthBearer,
            ]
            .into_iter()
            .chain(scram)
            .collect(),
        };
        if bit(h[2], 8) {
            c.bare_line_ending = BareLineEnding::Normalize;
        }
        if bit(h[2], 16) {
            c.vrfy = VrfyPolicy::Disabled;
        }
        c.expn_disabled = !bit(h[2], 32);
        if bit(h[2], 64) {
            c.banner = Some("ESMTP ready\r\n550 injected".into());
        }
        if bit(h[2], 128) {
            c.hostname = pick(&["2.0.0", "mx.\u{4f8b}\u{5b50}.test", LONG_HOST], h[11]).into();
        }
        c.max_message_size = pick(
            &[
                Some(10 * 1024 * 1024),
                None,
                Some(100),
                Some(0),
                Some(u64::MAX),
                Some(1000),
                Some(65536),
                Some(1),
            ],
            h[3],
        );
        c.max_recipients = pick(&[100, 0, 1, 1000, usize::MAX], h[4] & 15);
        c.max_errors = pick(&[20, 0, 1, 3, 100, u32::MAX], h[4] >> 4);
        c.limits.command_line = pick(&[2048, 512, 0, 513, 100_000], h[5] & 15);
        c.limits.sasl_line = pick(&[12288, 0, 20_000], h[5] >> 4);
        c.limits.text_line = pick(&[1000, 0, 1001, 100_000], h[6]);
        c.max_input_buffer = pick(&[64 * 1024, 0, 1024, 4096, 1 << 20], h[7]);
        let secs = |s: u64| Duration::from_secs(s);
        let timeouts = [secs(300), secs(1), Duration::ZERO, secs(60), secs(u64::MAX)];
        c.timeouts.command = pick(&timeouts, h[8]);
        c.timeouts.data = pick(&timeouts, h[9]);
        c.timeouts.data_progress = pick(&[1024, 0, 1, u64::MAX], h[10]);
        ServerSpec {
            config: c,
            implicit_tls: bit(h[0], 2),
            autopilot: bit(h[0], 4),
        }
    }
}

const LONG_HOST: &str = "a-very-long-host-name-label-that-goes-on-and-on-for-sixty-chars.\
second-label-of-the-very-long-host-name-that-goes-on-for-a-while.\
third-label-of-the-very-long-host-name-that-goes-on-for-a-while.\
fourth-label-of-the-very-long-host-name-that-goes-on-for-awhile.example";

/// The input capacity as the session computes it (`ServerConfig::input_capacity`).
pub fn input_capacity(c: &ServerConfig) -> usize {
    let l = c.limits.clamped();
    c.max_input_buffer.max(l.command_line).max(l.sasl_line)
}

/// What the harness knows about the session, from what it saw and decided.
#[derive(Debug, Default)]
struct Model {
    /// `Close` was seen.
    closed: bool,
    /// `StartTls` was seen and `handle_tls_established` not yet called.
    in_handshake: bool,
    /// A `TlsEstablished` event is due.
    expect_tls_event: bool,
    /// TLS is up.
    tls: bool,
    /// The event that needs a decision and has not been answered.
    outstanding: Option<ServerEvent>,
    /// `Connected` was seen.
    connected_seen: bool,
    /// The greeting was decided.
    greeting_decided: bool,
    /// The greeting was refused (not with 421): only QUIT is served.
    refused: bool,
    /// The last accepted hello since TLS.
    hello: Option<HelloKind>,
    /// AUTH succeeded since TLS.
    authed: bool,
    /// A transaction is open (MAIL accepted, not yet ended).
    tx_open: bool,
    /// Recipients accepted in the transaction.
    rcpts: usize,
    /// A data start was accepted and its message has not ended.
    data_open: bool,
    /// Content octets seen since the data start.
    data_bytes: u64,
    /// Line feeds in the bytes the session accepted.
    lf_fed: u64,
    /// LMTP: recipients ever accepted (each can add one reply after a message).
    lmtp_extra: u64,
    /// Replies transmitted.
    replies: u64,
    /// The last `Wait`.
    last_wait: (Option<Instant>, bool),
    /// Counters for "no effect" checks.
    outputs: u64,
}

/// A correct adapter around a `ServerSession`, checking invariants (see the module docs).
pub struct ServerHarness {
    /// The session under test.
    pub session: ServerSession,
    spec: ServerSpec,
    capacity: usize,
    now: Instant,
    /// Bytes the peer sent that the session has not been given yet.
    backlog: Vec<u8>,
    backlog_pos: usize,
    /// Read size of this adapter (0: everything available).
    chunk: usize,
    /// Bytes the session accepted since its buffer was last cleared; its buffer is
    /// always the last `buffered_input()` of them.
    accepted: Vec<u8>,
    /// `accepted[..lf_free]` was checked: what of it is still buffered holds no LF.
    lf_free: usize,
    stream: ReplyStream,
    /// Transmitted bytes not yet taken with [`ServerHarness::take_sent`].
    sent: Vec<u8>,
    /// Everything transmitted, and every output but `Transmit` and `Wait`, in order
    /// (consecutive `MessageData` merged): what must not depend on read sizes.
    pub log: Log,
    m: Model,
}

/// What a dialogue produced, independent of how the input was split.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Log {
    /// Every byte transmitted.
    pub sent: Vec<u8>,
    /// Events (`MessageData` merged), `Close` and `StartTls`, in order.
    pub outputs: Vec<Logged>,
}

impl Log {
    /// The log without the content of messages that did not reach `MessageEnd`.
    ///
    /// How much content of a message refused for its size reaches the
    /// application before the `TransactionReset` depends on the read sizes: the
    /// session stops handing out content once the total passes the limit, so a
    /// read that crosses it withholds its whole piece. The application discards
    /// that content anyway; what it is asked to accept does not vary.
    pub fn complete_messages_only(mut self) -> Log {
        let ends_message = |o: &Logged| {
            matches!(
                o,
                Logged::Close
                    | Logged::Event(
                        ServerEvent::MessageEnd(_)
                            | ServerEvent::TransactionReset
                            | ServerEvent::DataStart
                    )
            )
        };
        let mut keep = vec![true; self.outputs.len()];
        for (i, o) in self.outputs.iter().enumerate() {
            if matches!(o, Logged::Event(ServerEvent::MessageData(_))) {
                let end = self.outputs[i + 1..].iter().find(|o| ends_message(o));
                keep[i] = matches!(end, Some(Logged::Event(ServerEvent::MessageEnd(_))));
            }
        }
        let mut k = keep.into_iter();
        self.outputs.retain(|_| k.next().unwrap_or(true));
        self
    }
}

/// One entry of [`Log::outputs`].
#[derive(Debug, PartialEq, Eq)]
pub enum Logged {
    /// An event.
    Event(ServerEvent),
    /// `Output::StartTls`.
    StartTls,
    /// `Output::Close`.
    Close,
}

impl ServerHarness {
    /// A new session at time zero, drained once (so `Connected` is outstanding,
    /// or answered under autopilot).
    pub fn new(spec: ServerSpec) -> ServerHarness {
        let config = Arc::new(spec.config.clone());
        let now = Instant::ZERO;
        let session = if spec.implicit_tls {
            ServerSession::new_tls(config, now)
        } else {
            ServerSession::new(config, now)
        };
        let capacity = input_capacity(&spec.config);
        let m = Model {
            tls: spec.implicit_tls,
            last_wait: (None, true),
            ..Model::default()
        };
        let mut h = ServerHarness {
            session,
            spec,
            capacity,
            now,
            backlog: Vec::new(),
            backlog_pos: 0,
            chunk: 0,
            accepted: Vec::new(),
            lf_free: 0,
            stream: ReplyStream::new(),
            sent: Vec::new(),
            log: Log::default(),
            m,
        };
        h.drain();
        h
    }

    /// Whether the session has closed.
    pub fn closed(&self) -> bool {
        self.m.closed
    }

    /// The event waiting for a decision, if any.
    pub fn outstanding(&self) -> Option<&ServerEvent> {
        self.m.outstanding.as_ref()
    }

    /// Bytes transmitted since the last call (for a client peer).
    pub fn take_sent(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.sent)
    }

    /// The current time.
    pub fn now(&self) -> Instant {
        self.now
    }

    // ----- inputs -----------------------------------------------------------

    /// The peer sends `bytes`; the adapter reads them `chunk` at a time (0: all
    /// that is available), only while the session wants to read.
    pub fn feed(&mut self, bytes: &[u8], chunk: usize) {
        if self.m.closed {
            return;
        }
        self.backlog.extend_from_slice(bytes);
        self.chunk = chunk;
        self.pump();
    }

    /// Gives the session backlog bytes while it wants them.
    pub fn pump(&mut self) {
        while !self.m.closed
            && !self.m.in_handshake
            && self.m.last_wait.1
            && self.backlog_pos < self.backlog.len()
        {
            let available = self.backlog.len() - self.backlog_pos;
            let n = if self.chunk == 0 {
                available
            } else {
                self.chunk.min(available)
            };
            let before = self.session.buffered_input();
            assert!(
                before < self.capacity,
                "wants_read with {before} octets buffered (capacity {})",
                self.capacity
            );
            let piece = &self.backlog[self.backlog_pos..self.backlog_pos + n];
            trace!("> handle_bytes {:?}", String::from_utf8_lossy(piece));
            let taken = self
                .session
                .handle_bytes(self.now, piece)
                .expect("an open session takes bytes");
            // The bound is structural: exactly what fits is taken.
            assert_eq!(taken, n.min(self.capacity - before), "took {taken} of {n}");
            let piece = &piece[..taken];
            let after = self.session.buffered_input();
            assert_eq!(
                after,
                before + taken,
                "bytes taken were not all buffered"
            );
            assert!(after <= self.capacity);
            self.m.lf_fed += piece.iter().filter(|&&b| b == b'\n').count() as u64;
            self.accepted.extend_from_slice(piece);
            self.backlog_pos += taken;
            if self.backlog_pos > 4096 && self.backlog_pos * 2 > self.backlog.len() {
                self.backlog.drain(..self.backlog_pos);
                self.backlog_pos = 0;
            }
            self.drain();
        }
    }

    /// Time passes by `d`; with `fire`, the adapter's timer goes off
    /// (`handle_timeout`), else the next input just carries the later time.
    pub fn advance(&mut self, d: Duration, fire: bool) {
        self.now = self.now + d;
        if !fire {
            return;
        }
        let (deadline, _) = self.m.last_wait;
        let was_closed = self.m.closed;
        let in_handshake = self.m.in_handshake;
        let replies = self.m.replies;
        let snapshot = self.snapshot();
        trace!("> handle_timeout {:?} (deadline {deadline:?})", self.now);
        let result = self.session.handle_timeout(self.now);
        assert_eq!(result.is_err(), was_closed, "handle_timeout: {result:?}");
        if was_closed {
            self.expect_no_effect(snapshot, "handle_timeout after close");
            return;
        }
        match deadline {
            Some(t) if self.now >= t => {
                self.drain();
                assert!(
                    self.m.closed,
                    "the deadline passed but the session did not close"
                );
                if !in_handshake {
                    assert!(self.m.replies > replies, "timeout without a 421");
                }
            }
            _ => self.expect_no_effect(snapshot, "handle_timeout before the deadline"),
        }
        self.pump();
    }

    /// The peer closed its side.
    pub fn eof(&mut self) {
        let was_closed = self.m.closed;
        let snapshot = self.snapshot();
        trace!("> handle_eof");
        let result = self.session.handle_eof(self.now);
        assert_eq!(result.is_err(), was_closed, "handle_eof: {result:?}");
        if was_closed {
            self.expect_no_effect(snapshot, "handle_eof after close");
            return;
        }
        self.drain();
        assert!(self.m.closed, "EOF did not close the session");
    }

    /// The adapter finished a TLS handshake (or claims to).
    pub fn tls_established(&mut self) {
        let expect_ok = self.m.in_handshake && !self.m.closed;
        let snapshot = self.snapshot();
        let result = self.session.handle_tls_established(self.now);
        trace!("> handle_tls_established: {result:?}");
        match result {
            Ok(()) => {
                assert!(
                    expect_ok,
                    "handle_tls_established accepted without StartTls"
                );
                assert_eq!(self.session.buffered_input(), 0);
                self.m.in_handshake = false;
                self.m.tls = true;
                self.m.hello = None;
                self.m.authed = false;
                assert!(!self.m.tx_open, "a transaction survived STARTTLS");
                self.m.expect_tls_event = true;
                self.accepted.clear();
                self.lf_free = 0;
                self.drain();
                assert!(!self.m.expect_tls_event, "no TlsEstablished event");
                self.pump();
            }
            Err(e) => {
                assert!(
                    !expect_ok,
                    "handle_tls_established refused after StartTls: {e}"
                );
                if self.m.closed {
                    assert_eq!(e, ApiMisuse::Closed);
                } else {
                    assert_eq!(e, ApiMisuse::NoTlsUpgrade);
                }
                self.expect_no_effect(snapshot, "refused handle_tls_established");
            }
        }
    }

    /// Answers the outstanding event (or tries to, when there is none).
    pub fn decide(&mut self, choice: Choice) {
        let snapshot = self.snapshot();
        if self.respond(choice) {
            self.drain();
            self.pump();
        } else {
            self.expect_no_effect(snapshot, "refused respond");
        }
    }

    /// Ends the dialogue: answers what is outstanding, completes handshakes, feeds
    /// the backlog, then closes the connection.
    pub fn finish(&mut self) {
        for _ in 0..100_000 {
            if self.m.closed {
                break;
            }
            if self.m.outstanding.is_some() {
                self.decide(Choice::Accept);
            } else if self.m.in_handshake {
                self.tls_established();
            } else if self.m.last_wait.1 && self.backlog_pos < self.backlog.len() {
                self.pump();
            } else {
                break;
            }
        }
        self.eof();
    }

    // ----- decisions --------------------------------------------------------

    /// Calls `respond`; returns whether it succeeded, having checked that it
    /// succeeds exactly when it must.
    fn respond(&mut self, choice: Choice) -> bool {
        let decision = match choice {
            Choice::Accept => Decision::Accept,
            Choice::Reply { decision } => decision,
            Choice::PerRecipient { count, code, text } => {
                let n = count.unwrap_or(self.m.rcpts).min(1000);
                Decision::PerRecipient(vec![decisions::reply(code, text); n])
            }
        };
        let result = self.session.respond(self.now, decision.clone());
        trace!("> respond {decision:?}: {result:?}");
        let Some(event) = self.m.outstanding.clone() else {
            match result {
                Ok(()) => panic!("respond accepted {decision:?} with nothing outstanding"),
                Err(e) if self.m.closed => assert_eq!(e, ApiMisuse::Closed),
                Err(e) => assert_eq!(e, ApiMisuse::NoPendingDecision),
            }
            return false;
        };
        let lmtp = self.spec.config.protocol == Protocol::Lmtp;
        let code = |r: &Reply| r.code().get();
        let must_succeed = match &decision {
            Decision::Accept => true,
            Decision::Reject(r) => code(r) >= 400,
            Decision::PerRecipient(rs) => {
                lmtp && matches!(event, ServerEvent::MessageEnd(_)) && rs.len() == self.m.rcpts
            }
            _ => false,
        };
        let must_fail = match &decision {
            Decision::Reject(r) => code(r) < 400,
            Decision::AcceptWith(r) => code(r) >= 300 && code(r) != 354,
            Decision::PerRecipient(rs) => {
                !lmtp || !matches!(event, ServerEvent::MessageEnd(_)) || rs.len() != self.m.rcpts
            }
            _ => false,
        };
        match result {
            Err(e) => {
                assert!(
                    !must_succeed,
                    "respond refused {decision:?} for {event:?}: {e}"
                );
                assert_eq!(e, ApiMisuse::InvalidDecision, "for {decision:?}");
                false
            }
            Ok(()) => {
                assert!(!must_fail, "respond accepted {decision:?} for {event:?}");
                self.m.outstanding = None;
                self.apply(&event, &decision);
                true
            }
        }
    }

    /// Updates the model after a successful `respond`.
    fn apply(&mut self, event: &ServerEvent, decision: &Decision) {
        let accepted = matches!(decision, Decision::Accept | Decision::AcceptWith(_));
        let closes = matches!(decision, Decision::Reject(r) if r.code().get() == 421);
        let m = &mut self.m;
        match event {
            ServerEvent::Connected => {
                m.greeting_decided = true;
                m.refused = !accepted && !closes;
            }
            ServerEvent::Hello { kind, .. } if accepted => m.hello = Some(*kind),
            ServerEvent::Auth { .. } if accepted => m.authed = true,
            ServerEvent::MailFrom { .. } if accepted => {
                m.tx_open = true;
                m.rcpts = 0;
            }
            ServerEvent::RcptTo { .. } if accepted => {
                m.rcpts += 1;
                if self.spec.config.protocol == Protocol::Lmtp {
                    m.lmtp_extra += 1;
                }
            }
            ServerEvent::DataStart if accepted => {
                m.data_open = true;
                m.data_bytes = 0;
            }
            ServerEvent::MessageEnd(_) => {
                m.tx_open = false;
                m.data_open = false;
                m.rcpts = 0;
            }
            _ => {}
        }
        if closes {
            // Checked once the output is drained.
            self.drain();
            assert!(self.m.closed, "a 421 decision did not close the session");
        }
    }

    // ----- outputs ----------------------------------------------------------

    /// Drains `poll_output` until `Wait`, checking each output.
    pub fn drain(&mut self) {
        if self.m.closed {
            // A closed session says Close, and nothing else, at every call.
            assert_eq!(self.session.poll_output(), Output::Close, "output after Close");
            return;
        }
        let budget = 1000 + 64 * (self.session.buffered_input() as u64 + 1);
        let mut polls = 0u64;
        loop {
            polls += 1;
            assert!(
                polls <= budget,
                "poll_output did not reach Wait in {budget} calls"
            );
            let output = self.session.poll_output();
            match &output {
                Output::Transmit(b) => trace!("< Transmit {:?}", String::from_utf8_lossy(b)),
                other => trace!("< {other:?}"),
            }
            match output {
                Output::Transmit(bytes) => self.on_transmit(&bytes),
                Output::Event(event) => self.on_event(event),
                Output::StartTls => self.on_starttls(),
                Output::Close => {
                    self.log.outputs.push(Logged::Close);
                    assert!(!self.m.closed, "Close twice");
                    self.m.outputs += 1;
                    self.m.closed = true;
                    self.m.in_handshake = false;
                    self.m.outstanding = None;
                    // Close repeats from now on.
                    assert_eq!(self.session.poll_output(), Output::Close);
                    return;
                }
                Output::Wait {
                    deadline,
                    wants_read,
                } => {
                    self.on_wait(deadline, wants_read);
                    return;
                }
                other => panic!("unknown output {other:?}"),
            }
        }
    }

    fn on_transmit(&mut self, bytes: &[u8]) {
        self.m.outputs += 1;
        assert!(!self.m.closed, "Transmit after Close");
        assert!(!self.m.in_handshake, "Transmit during the TLS handshake");
        assert!(
            self.m.greeting_decided,
            "Transmit before the greeting was decided"
        );
        assert!(!bytes.is_empty(), "empty Transmit");
        let bound = OUTPUT_HIGH_WATER
            + 4096
            + MAX_REPLY_LEN * (2 + usize::try_from(self.m.lmtp_extra).unwrap_or(usize::MAX));
        assert!(bytes.len() <= bound, "Transmit of {} octets", bytes.len());
        let replies = self.stream.push(bytes).unwrap_or_else(|e| panic!("{e}"));
        assert!(self.stream.at_boundary(), "Transmit ends inside a reply");
        self.m.replies += replies.len() as u64;
        let allowed = 1 + self.m.lf_fed + 3 + self.m.lmtp_extra;
        assert!(
            self.m.replies <= allowed,
            "{} replies for {} line feeds",
            self.m.replies,
            self.m.lf_fed
        );
        self.sent.extend_from_slice(bytes);
        self.log.sent.extend_from_slice(bytes);
    }

    fn on_starttls(&mut self) {
        self.m.outputs += 1;
        assert!(!self.m.closed, "StartTls after Close");
        assert!(!self.m.in_handshake, "StartTls twice");
        assert!(
            self.spec.config.extensions.starttls && !self.m.tls,
            "StartTls when it is not offered"
        );
        assert!(self.m.outstanding.is_none());
        assert!(!self.m.tx_open, "STARTTLS inside a transaction");
        assert_eq!(
            self.session.buffered_input(),
            0,
            "input pipelined after STARTTLS was kept"
        );
        self.accepted.clear();
        self.lf_free = 0;
        self.m.in_handshake = true;
        // What the peer sent in plaintext after STARTTLS and the session has not
        // read cannot be read after the handshake either: drop it, as the
        // session dropped what it had buffered.
        self.backlog_pos = self.backlog.len();
        self.log.outputs.push(Logged::StartTls);
    }

    fn on_event(&mut self, event: ServerEvent) {
        self.m.outputs += 1;
        assert!(!self.m.closed, "event after Close: {event:?}");
        assert!(
            !self.m.in_handshake,
            "event during the TLS handshake: {event:?}"
        );
        let cfg = &self.spec.config;
        let lmtp = cfg.protocol == Protocol::Lmtp;
        let m = &mut self.m;
        if event.needs_decision() {
            assert!(
                m.outstanding.is_none(),
                "{event:?} while {:?} is outstanding",
                m.outstanding
            );
            assert!(!m.refused, "{event:?} after the greeting was refused");
            assert!(
                matches!(event, ServerEvent::Connected) || m.greeting_decided,
                "{event:?} before the greeting"
            );
        }
        let offered_auth = !cfg.extensions.auth.is_empty() && (m.tls || cfg.auth_without_tls);
        match &event {
            ServerEvent::Connected => {
                assert!(!m.connected_seen, "Connected twice");
                m.connected_seen = true;
            }
            ServerEvent::Hello { kind, .. } => {
                assert_eq!(
                    *kind == HelloKind::Lhlo,
                    lmtp,
                    "{kind:?} in {:?}",
                    cfg.protocol
                );
            }
            ServerEvent::Auth { mechanism, .. } => {
                assert!(offered_auth, "AUTH when not offered");
                assert!(cfg.extensions.auth.contains(mechanism));
                assert!(matches!(m.hello, Some(HelloKind::Ehlo | HelloKind::Lhlo)));
                assert!(!m.authed, "AUTH twice");
                assert!(!m.tx_open, "AUTH inside a transaction");
                assert!(!cfg.require_tls || m.tls);
            }
            ServerEvent::MailFrom { .. } => {
                assert!(m.hello.is_some(), "MAIL before an accepted hello");
                assert!(!m.tx_open, "nested MAIL");
                assert!(!cfg.require_tls || m.tls, "MAIL before TLS");
                assert!(!cfg.require_auth || m.authed, "MAIL before AUTH");
            }
            ServerEvent::RcptTo { .. } => {
                assert!(m.tx_open, "RCPT outside a transaction");
            }
            ServerEvent::DataStart => {
                assert!(m.tx_open && m.rcpts > 0, "data start without a recipient");
                assert!(!m.data_open, "a second data start for one message");
            }
            ServerEvent::MessageData(bytes) => {
                assert!(m.data_open, "message content outside a message");
                m.data_bytes += bytes.len() as u64;
                assert!(!bytes.is_empty(), "empty MessageData");
            }
            ServerEvent::MessageEnd(findings) => {
                assert!(m.data_open, "MessageEnd without an accepted data start");
                assert_eq!(
                    findings.size, m.data_bytes,
                    "size differs from the content given"
                );
            }
            ServerEvent::TransactionReset => {
                assert!(m.tx_open, "TransactionReset without a transaction");
                m.tx_open = false;
                m.data_open = false;
                m.rcpts = 0;
            }
            // After the final reply to content: the model may already have
            // closed the transaction when the application answered MessageEnd.
            ServerEvent::TransactionFinished => {
                m.tx_open = false;
                m.data_open = false;
                m.rcpts = 0;
            }
            ServerEvent::TlsEstablished => {
                assert!(m.expect_tls_event, "TlsEstablished without a handshake");
                m.expect_tls_event = false;
            }
            ServerEvent::ClientFault(reply) => {
                assert!(reply.code().get() >= 400, "ClientFault with {reply:?}");
            }
            other => panic!("unknown event {other:?}"),
        }
        match (self.log.outputs.last_mut(), &event) {
            (
                Some(Logged::Event(ServerEvent::MessageData(prev))),
                ServerEvent::MessageData(more),
            ) => {
                let mut joined = prev.to_vec();
                joined.extend_from_slice(more);
                *prev = joined.into();
            }
            _ => self.log.outputs.push(Logged::Event(event.clone())),
        }
        if event.needs_decision() {
            self.m.outstanding = Some(event);
            if self.spec.autopilot {
                assert!(self.respond(Choice::Accept));
            }
        }
    }

    fn on_wait(&mut self, deadline: Option<Instant>, wants_read: bool) {
        let m = &mut self.m;
        m.last_wait = (deadline, wants_read);
        if m.closed {
            assert_eq!((deadline, wants_read), (None, false), "Wait after Close");
            return;
        }
        let buffered = self.session.buffered_input();
        assert!(
            buffered <= self.accepted.len(),
            "{buffered} octets buffered, {} fed",
            self.accepted.len()
        );
        let mut start = self.accepted.len() - buffered;
        if start > 1 << 16 {
            self.accepted.drain(..start);
            self.lf_free = self.lf_free.saturating_sub(start);
            start = 0;
        }
        if m.in_handshake {
            assert!(!wants_read, "reading during the TLS handshake");
            assert!(deadline.is_some(), "no deadline for the TLS handshake");
        } else if m.outstanding.is_some() {
            assert!(
                deadline.is_none(),
                "a deadline runs while the application decides"
            );
        } else {
            assert!(wants_read, "waiting for the peer without reading");
            assert!(
                deadline.is_some(),
                "waiting for the peer without a deadline"
            );
            // Only bytes not yet known to be free of LF need a look: the buffer
            // is a suffix of what was fed, and it only loses bytes at the front.
            let from = start.max(self.lf_free);
            let tail = &self.accepted[start..];
            assert!(
                !self.accepted[from..].contains(&b'\n'),
                "a complete line is buffered and unanswered: {:?}",
                String::from_utf8_lossy(&tail[..tail.len().min(200)])
            );
            self.lf_free = self.accepted.len();
        }
    }

    // ----- "no effect" checks -------------------------------------------------

    fn snapshot(&self) -> (u64, (Option<Instant>, bool), usize) {
        (
            self.m.outputs,
            self.m.last_wait,
            self.session.buffered_input(),
        )
    }

    /// Drains and checks that nothing happened since `before`.
    fn expect_no_effect(&mut self, before: (u64, (Option<Instant>, bool), usize), what: &str) {
        self.drain();
        assert_eq!(self.snapshot(), before, "{what} had an effect");
    }
}

/// The ops of a `server` input (after the header). Each op is one byte, whose
/// high nibble is the kind and low nibble an argument, then its operands:
///
/// | op | operands | meaning |
/// |---|---|---|
/// | `0x0n`, `0x6n`-`0xFn` | `len: u16`, `len` bytes | the peer sends the bytes; the adapter reads `chunks::SIZES[n]` at a time |
/// | `0x1n` | see [`decisions::read`] | respond (n = 0 accept, 1 accept-with, 2 reject, 3 LMTP per-recipient) |
/// | `0x20` | `ms: u32` | time passes by `ms` milliseconds; the timer fires |
/// | `0x2n` | | time passes by `DURATIONS[n]`; the timer fires |
/// | `0x3n` | | time passes by `DURATIONS[n]`; no timer call |
/// | `0x4n` | | EOF from the peer |
/// | `0x5n` | | the TLS handshake completes |
#[derive(Debug, Clone)]
pub enum Op<'a> {
    /// The peer sends bytes; the adapter reads `chunk` at a time (0: all).
    Feed(&'a [u8], usize),
    /// The application answers.
    Respond(Choice),
    /// Time passes; with `true` the timer fires.
    Advance(Duration, bool),
    /// The peer closes.
    Eof,
    /// The TLS handshake completes.
    Tls,
}

/// Decodes a `server` input into its configuration and ops.
pub fn parse_ops(data: &[u8]) -> (ServerSpec, Vec<Op<'_>>) {
    let mut input = Input::new(data);
    let spec = ServerSpec::from_header(input.array::<HEADER_LEN>());
    let mut ops = Vec::new();
    while !input.is_empty() && ops.len() < 4096 {
        let op = input.u8();
        let arg = op & 15;
        ops.push(match op >> 4 {
            1 => Op::Respond(decisions::read(arg, &mut input)),
            2 => {
                let d = if arg == 0 {
                    Duration::from_millis(u64::from(input.u32()))
                } else {
                    DURATIONS[usize::from(arg)]
                };
                Op::Advance(d, true)
            }
            3 => Op::Advance(DURATIONS[usize::from(arg)], false),
            4 => Op::Eof,
            5 => Op::Tls,
            _ => {
                let len = usize::from(input.u16());
                Op::Feed(input.bytes(len), crate::chunks::SIZES[usize::from(arg)])
            }
        });
    }
    (spec, ops)
}

/// Plays `ops` against a new session (reads of `chunk` octets instead of each
/// feed's own, when given), then [`ServerHarness::finish`]es; returns the log.
pub fn play(spec: &ServerSpec, ops: &[Op<'_>], chunk: Option<usize>) -> Log {
    trace!("{spec:#?}");
    let mut h = ServerHarness::new(spec.clone());
    for op in ops {
        match op {
            Op::Feed(bytes, c) => h.feed(bytes, chunk.unwrap_or(*c)),
            Op::Respond(choice) => h.decide(choice.clone()),
            Op::Advance(d, fire) => h.advance(*d, *fire),
            Op::Eof => h.eof(),
            Op::Tls => h.tls_established(),
        }
    }
    h.finish();
    h.log
}

/// The `server` target: plays the ops with the read sizes they give, then again
/// with the reads of `chunks::SIZES[header byte 11]` (13 octets when that is
/// the same), and checks that both produced the same bytes, events, STARTTLS and
/// Close (ARCHITECTURE.md R7: results never depend on how input is split).
pub fn run_ops(data: &[u8]) {
    let (spec, ops) = parse_ops(data);
    let first = play(&spec, &ops, None);
    let mut alt =
        crate::chunks::SIZES[usize::from(data.get(HEADER_LEN - 1).copied().unwrap_or(0)) % 16];
    if ops
        .iter()
        .all(|op| !matches!(op, Op::Feed(_, c) if *c != alt))
    {
        alt = 13;
    }
    let second = play(&spec, &ops, Some(alt));
    let (first, second) = (
        first.complete_messages_only(),
        second.complete_messages_only(),
    );
    // The one timing rule (RFC 2920 §3.1): input that had already arrived behind
    // a refused DATA ends the session with a synchronization error; whether it
    // had arrived depends on the reads. Up to that reply both runs agree.
    // The start of the line that carries it (with or without enhanced code).
    let sync = |sent: &[u8]| {
        let at = sent.windows(SYNC.len()).position(|w| w == SYNC)?;
        Some(sent[..at].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1))
    };
    if let Some(cut) = [sync(&first.sent), sync(&second.sent)]
        .into_iter()
        .flatten()
        .min()
    {
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        assert_eq!(
            text(&first.sent[..cut]),
            text(&second.sent[..cut]),
            "the replies before a synchronization error depend on the read size ({alt})"
        );
        return;
    }
    if first != second {
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        assert_eq!(
            text(&first.sent),
            text(&second.sent),
            "the replies depend on the read size ({alt})"
        );
        assert_eq!(
            first.outputs, second.outputs,
            "the events depend on the read size ({alt})"
        );
    }
}

/// The reply to improper pipelining behind a refused DATA.
const SYNC: &[u8] = b"Error: SMTP protocol synchronization\r\n";

/// Time steps for the advance ops (index 0 of the firing op reads an explicit value).
pub const DURATIONS: [Duration; 16] = [
    Duration::from_secs(1),
    Duration::from_millis(1),
    Duration::from_secs(1),
    Duration::from_secs(59),
    Duration::from_secs(60),
    Duration::from_secs(61),
    Duration::from_secs(299),
    Duration::from_secs(300),
    Duration::from_secs(301),
    Duration::from_secs(600),
    Duration::from_secs(3600),
    Duration::from_secs(86_400),
    Duration::ZERO,
    Duration::from_secs(30),
    Duration::from_secs(u64::MAX / 4),
    Duration::from_secs(u64::MAX),
];
