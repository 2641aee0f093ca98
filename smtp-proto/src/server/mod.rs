//! The server half of SMTP and LMTP as a sans-IO state machine.
//!
//! A [`ServerSession`] is fed bytes, end-of-input and timeouts through the
//! `handle_*` methods, and drained through [`ServerSession::poll_output`] until it
//! returns [`Output::Wait`]. Events that need a decision (see [`ServerEvent`]) pause
//! the session until [`ServerSession::respond`]; pipelined input waits, in order.
//!
//! ## Choices, and where they differ from the reference design
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
//!   after [`Timeouts::data_progress`] octets. No deadline runs while the
//!   application is deciding.
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
//! session.handle_bytes(now, b"EHLO client.example\r\nQUIT\r\n");
//! loop {
//!     match session.poll_output() {
//!         Output::Transmit(bytes) => wire.extend_from_slice(&bytes),
//!         Output::Event(ServerEvent::Connected | ServerEvent::Hello { .. }) => {
//!             session.respond(now, Decision::Accept).unwrap();
//!         }
//!         Output::Event(_) => {}
//!         Output::Close => break,
//!         Output::Wait { .. } => unreachable!("QUIT closes"),
//!         Output::StartTls => unreachable!(),
//!         _ => {}
//!     }
//! }
//! let text = String::from_utf8(wire).unwrap();
//! assert!(text.starts_with("220 mx.example.net ESMTP\r\n250-mx.example.net"));
//! assert!(text.ends_with("221 2.0.0 Bye\r\n"));
//! ```

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

/// The one SASL credentials type, shared with the client (`client::Credentials`).
pub use crate::wire::sasl::Credentials;
pub use config::{Extensions, Protocol, ServerConfig, Timeouts, VrfyPolicy};
pub use event::{Decision, HelloKind, MessageFindings, ServerEvent};

use crate::output::{ApiMisuse, Output, ready_output};
use crate::reply::Reply;
use crate::time::Instant;
use crate::wire::command::{CommandError, ParseOptions, Verb, parse_command};
use crate::wire::data::{BdatChunk, DataDecoder};
use crate::wire::line::{Framed, LineError, frame_line, skip_line};
use crate::wire::params::ParamError;
use crate::wire::path::PathOptions;
use crate::wire::sasl::Mechanism;

/// Stop turning input into replies once this much output waits to be taken.
const OUTPUT_HIGH_WATER: usize = 16 * 1024;

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
        /// The reply that ends the chunk when it was refused, and whether the
        /// refusal counts against the error budget.
        refusal: Option<(Reply, bool)>,
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
enum Pending {
    Greeting,
    Hello(HelloKind),
    Auth(Mechanism<'static>),
    Mail { smtputf8: bool, binary: bool },
    Rcpt,
    Data,
    Bdat { size: u64, last: bool },
    MessageEnd,
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

/// How the message content arrives.
#[derive(Debug, Clone, PartialEq, Eq)]
enum BodyState {
    None,
    /// BDAT chunks so far; octets declared.
    Chunks(u64),
    /// A BDAT was refused: later chunks of this transaction are discarded with this reply.
    ChunksFailed(Reply),
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
    close_emitted: bool,
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
            close_emitted: false,
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

    /// Bytes from the peer. Bytes that arrive while the session does not want to
    /// read are still accepted (the adapter's read buffer is the only excess).
    /// Bytes arriving during a TLS upgrade are discarded: they were sent in
    /// plaintext after STARTTLS (RFC 3207 §4.2).
    pub fn handle_bytes(&mut self, now: Instant, bytes: &[u8]) {
        self.now = now;
        if matches!(self.phase, Phase::TlsHandshake | Phase::Closed) || self.closing {
            return;
        }
        self.input.extend_from_slice(bytes);
    }

    /// The peer closed its side. The session closes; a transaction in progress is lost.
    pub fn handle_eof(&mut self, now: Instant) {
        self.now = now;
        if self.tx.take().is_some() {
            self.events.push_back(ServerEvent::TransactionReset);
        }
        self.closing = true;
    }

    /// Time passed. If the deadline is reached the session answers
    /// `421 4.4.2` and closes (RFC 5321 §4.5.3.2).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        if let Some(deadline) = self.deadline
            && now >= deadline
            && !self.closing
        {
            self.deadline = None;
            if matches!(self.phase, Phase::TlsHandshake) {
                self.closing = true;
                return;
            }
            let text = format!("{} Error: timeout exceeded", self.config.hostname);
            self.send(421, (4, 4, 2), &text);
            self.close();
        }
    }

    /// The TLS handshake that [`Output::StartTls`] asked for is done. Everything
    /// learnt before it (HELO name, authentication, transaction) is forgotten
    /// (RFC 3207 §4.2); the client must send EHLO again.
    pub fn handle_tls_established(&mut self, now: Instant) -> Result<(), ApiMisuse> {
        if !matches!(self.phase, Phase::TlsHandshake) || self.starttls_pending {
            return Err(ApiMisuse::NoTlsUpgrade);
        }
        self.now = now;
        self.tls = true;
        self.hello = None;
        self.authenticated = false;
        self.tx = None;
        self.input.clear();
        self.phase = Phase::Command;
        self.events.push_back(ServerEvent::TlsEstablished);
        self.await_command();
        Ok(())
    }

    /// The application's decision on the event that paused the session.
    pub fn respond(&mut self, now: Instant, decision: Decision) -> Result<(), ApiMisuse> {
        if matches!(self.phase, Phase::Closed) {
            return Err(ApiMisuse::Closed);
        }
        let Phase::Pending(pending) = &self.phase else {
            return Err(ApiMisuse::NoPendingDecision);
        };
        if !self.events.is_empty() && self.events.iter().any(ServerEvent::needs_decision) {
            // The event has not been handed out yet.
            return Err(ApiMisuse::NoPendingDecision);
        }
        let lmtp = self.config.protocol == Protocol::Lmtp;
        let outcome = match (&decision, pending) {
            (Decision::PerRecipient(replies), Pending::MessageEnd) if lmtp => {
                let wanted = self.tx.as_ref().map_or(0, |t| t.accepted_rcpts);
                if replies.len() != wanted || replies.iter().any(|r| r.code().get() >= 600) {
                    return Err(ApiMisuse::InvalidDecision);
                }
                Outcome::PerRecipient
            }
            (Decision::PerRecipient(_), _) => return Err(ApiMisuse::InvalidDecision),
            (Decision::Accept, _) => Outcome::Accept(None),
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
                Outcome::Accept(Some(reply.clone()))
            }
            (Decision::Reject(reply), _) => {
                if reply.code().get() < 400 {
                    return Err(ApiMisuse::InvalidDecision);
                }
                Outcome::Reject(reply.clone())
            }
        };
        self.now = now;
        let Phase::Pending(pending) = core::mem::replace(&mut self.phase, Phase::Command) else {
            return Err(ApiMisuse::NoPendingDecision);
        };
        match outcome {
            Outcome::Accept(reply) => self.accept(pending, reply),
            Outcome::Reject(reply) => self.reject(pending, reply),
            Outcome::PerRecipient => {
                if let Decision::PerRecipient(replies) = decision {
                    for reply in &replies {
                        let reply = self.with_enhanced(reply.clone());
                        self.send_reply(&reply);
                    }
                }
                self.tx = None;
            }
        }
        // Waiting for the client again, after the greeting was refused (it may
        // still send QUIT) or inside an AUTH exchange too: the command timeout runs.
        if matches!(self.phase, Phase::Command | Phase::Refused | Phase::Sasl(_)) {
            self.await_command();
        }
        Ok(())
    }

    /// The next thing for the adapter to do. Call it until it returns
    /// [`Output::Wait`].
    pub fn poll_output(&mut self) -> Output<ServerEvent> {
        self.process();
        if let Some(output) = ready_output(
            &mut self.out,
            &mut self.events,
            &mut self.starttls_pending,
            self.closing,
            &mut self.close_emitted,
        ) {
            if matches!(output, Output::Close | Output::Wait { .. }) {
                // Everything was handed out: the session is over.
                self.phase = Phase::Closed;
            }
            return output;
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
                self.send(421, (4, 7, 0), &text);
                self.close();
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
        let line = self.input.split_to(consumed).freeze();
        let line = &line[..line_len];
        let is_auth = line.len() >= 5 && line[..5].eq_ignore_ascii_case(b"AUTH ");
        if consumed > limits.command_line && !is_auth {
            self.error(500, (5, 5, 6), "Error: line too long");
            return true;
        }
        let opts = ParseOptions {
            smtputf8: self.config.extensions.smtputf8 && self.is_extended(),
            utf8_transaction: self.tx.as_ref().is_some_and(|t| t.smtputf8),
            path: PathOptions::default(),
            helo: self.config.helo_syntax,
        };
        match parse_command(line, &opts) {
            Ok(cmd) => self.dispatch(cmd),
            Err(e) => self.command_error(&e),
        }
        // RFC 5321 §4.5.3.2.7: the server timeout runs while it awaits the next
        // command (or the next SASL line), from the moment the last one was answered.
        if matches!(self.phase, Phase::Command | Phase::Refused | Phase::Sasl(_)) {
            self.await_command();
        }
        true
    }

    fn command_error(&mut self, e: &CommandError) {
        if matches!(self.phase, Phase::Refused) {
            self.error(503, (5, 5, 1), "Error: service refused; send QUIT");
            return;
        }
        match e {
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

/// The outcome of a decision, checked before any state changes.
enum Outcome {
    Accept(Option<Reply>),
    Reject(Reply),
    PerRecipient,
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
