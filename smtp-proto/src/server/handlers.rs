//! The server's command handlers, decisions and content readers.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;
use core::ops::Range;

use bytes::{Buf, Bytes};

use super::{
    Blame, BodyState, HelloKind, MessageFindings, Pending, Phase, SaslStep, ServerEvent,
    ServerSession, Transaction, VrfyPolicy,
};
use crate::Protocol;
use crate::ext::{Capabilities, Extension};
use crate::reply::{EnhancedCode, Reply, ReplyCode};
use crate::wire::command::{Command, HeloName};
use crate::wire::data::{BareLineEnding, BdatChunk, ContentSink, DataDecoder, DataDecoderConfig};
use crate::wire::line::{Framed, frame_line};
use crate::wire::params::{Body, MailParameters, RcptParameters};
use crate::wire::sasl::Credentials;
use crate::wire::sasl::{self, Mechanism, SaslResponse};

/// One of the session's own fixed one-line replies, in both wire forms:
/// without an enhanced code, and with one (RFC 2034 §3, used when
/// ENHANCEDSTATUSCODES is on). Made by [`fixed_reply!`].
#[derive(Clone, Copy)]
pub(super) struct FixedReply {
    plain: &'static [u8],
    enhanced: &'static [u8],
}

/// A [`FixedReply`] written at compile time: `fixed_reply!(250, 2, 1, 0,
/// "Ok")` is `250 Ok` and `250 2.1.0 Ok`. The enhanced code's class must be
/// the reply's first digit (RFC 3463 §2; checked when compiling); a reply
/// without one (a 3xx) leaves it out: `fixed_reply!(354, "...")`.
macro_rules! fixed_reply {
    ($code:literal, $class:literal, $subject:literal, $detail:literal, $text:literal) => {{
        const {
            assert!($code / 100 == $class && $subject < 1000 && $detail < 1000);
        }
        FixedReply {
            plain: concat!(stringify!($code), " ", $text, "\r\n").as_bytes(),
            enhanced: concat!(
                stringify!($code),
                " ",
                stringify!($class),
                ".",
                stringify!($subject),
                ".",
                stringify!($detail),
                " ",
                $text,
                "\r\n"
            )
            .as_bytes(),
        }
    }};
    ($code:literal, $text:literal) => {{
        const {
            assert!($code / 100 == 3);
        }
        let wire = concat!(stringify!($code), " ", $text, "\r\n").as_bytes();
        FixedReply {
            plain: wire,
            enhanced: wire,
        }
    }};
}

/// `250 2.0.0 Ok`: RSET and NOOP.
const OK: FixedReply = fixed_reply!(250, 2, 0, 0, "Ok");
/// `221 2.0.0 Bye`: QUIT, in every state.
const BYE: FixedReply = fixed_reply!(221, 2, 0, 0, "Bye");
/// `501 5.0.0`: the client cancelled an AUTH exchange (RFC 4954 §4).
const AUTH_CANCELLED: FixedReply = fixed_reply!(501, 5, 0, 0, "Authentication cancelled");

/// HTTP methods: a browser or proxy probe on the SMTP port.
const HTTP_METHODS: [&str; 7] = ["GET", "POST", "HEAD", "PUT", "CONNECT", "OPTIONS", "DELETE"];

/// A refusal computed by a check: code, enhanced code, text.
type Refusal = (u16, (u8, u16, u16), &'static str);

const NEED_MAIL: &str = "Error: need MAIL command";
const NO_VALID_RECIPIENTS: &str = "Error: no valid recipients";

/// Whether `text` goes into a reply line unchanged: printable ASCII and
/// spaces only (nothing for [`Reply::new`] to split or replace), not empty,
/// and far below the line limit (nothing to wrap).
fn plain_line(text: &[u8]) -> bool {
    !text.is_empty() && text.len() <= 400 && text.iter().all(|&b| (b' '..=b'~').contains(&b))
}

/// The most DATA content decoded in one step (and handed out as one
/// [`ServerEvent::MessageData`], but for octets the decoder puts in).
const DATA_BATCH: usize = 4096;

/// A piece of DATA content: a run of the input read in this step, or octets
/// the decoder puts in on its own (a CRLF split across reads, a normalised
/// or bare line ending).
#[derive(Debug, Clone)]
pub(super) enum Piece {
    Input(Range<usize>),
    Literal(&'static [u8]),
}

/// Collects [`Piece`]s, merging adjacent runs, so that content is handed out as
/// slices of the input buffer (no copy).
struct Pieces<'a>(&'a mut Vec<Piece>);

impl ContentSink for Pieces<'_> {
    fn run(&mut self, _input: &[u8], range: Range<usize>) {
        if range.is_empty() {
            return;
        }
        if let Some(Piece::Input(last)) = self.0.last_mut()
            && last.end == range.start
        {
            last.end = range.end;
            return;
        }
        self.0.push(Piece::Input(range));
    }

    fn literal(&mut self, bytes: &'static [u8]) {
        self.0.push(Piece::Literal(bytes));
    }
}

/// Closes the gaps dot-unstuffing leaves between the runs of `buf` that
/// `pieces` lists, moving each run down to the end of the one before, in place,
/// so that the content of one read goes out as one piece (more only around
/// octets the decoder puts in on its own). A memmove of the content costs less
/// than an event per stuffed line.
fn compact(buf: &mut [u8], pieces: &mut Vec<Piece>) {
    // Where the compacted content ends so far.
    let mut end: Option<usize> = None;
    // The index of the input piece being extended (none after a literal).
    let mut open: Option<usize> = None;
    let mut kept = 0;
    for i in 0..pieces.len() {
        match pieces[i].clone() {
            Piece::Input(range) => {
                // Runs come in order and only move down: `dest <= range.start`.
                let dest = end.unwrap_or(range.start);
                if range.start != dest {
                    buf.copy_within(range.clone(), dest);
                }
                let new_end = dest + range.len();
                match open {
                    Some(at) => {
                        if let Piece::Input(r) = &mut pieces[at] {
                            r.end = new_end;
                        }
                    }
                    None => {
                        pieces[kept] = Piece::Input(dest..new_end);
                        open = Some(kept);
                        kept += 1;
                    }
                }
                end = Some(new_end);
            }
            literal @ Piece::Literal(_) => {
                pieces[kept] = literal;
                kept += 1;
                open = None;
            }
        }
    }
    pieces.truncate(kept);
}

/// Moves the runs of `buf` that `pieces` lists (input runs only, in order)
/// up against the end of `buf`, in place, and returns where the content now
/// starts: `buf[start..]` is the runs joined.
fn compact_to_end(buf: &mut [u8], pieces: &[Piece]) -> usize {
    let mut end = buf.len();
    for piece in pieces.iter().rev() {
        if let Piece::Input(range) = piece {
            // Runs come in order and only move up: `dest >= range.start`.
            let dest = end - range.len();
            if range.start != dest {
                buf.copy_within(range.clone(), dest);
            }
            end = dest;
        }
    }
    end
}

impl ServerSession {
    // ----- replies ----------------------------------------------------------

    /// A reply with the enhanced code when ENHANCEDSTATUSCODES is on (RFC 2034 §3:
    /// every reply but the greeting and the HELO/EHLO response; none on 3xx).
    pub(super) fn build(&self, code: u16, enhanced: (u8, u16, u16), text: &str) -> Reply {
        let code = ReplyCode::new(code).unwrap_or(ReplyCode::new(451).expect("451 is valid"));
        // `Reply::new` drops a code whose class is not the reply's (a 3xx has none).
        let enhanced = self
            .config
            .enhanced_codes()
            .then(|| EnhancedCode::new(enhanced.0, enhanced.1, enhanced.2))
            .flatten();
        Reply::new(code, enhanced, text)
    }

    /// Sends a reply built from any text (made safe by [`Reply::new`]).
    pub(super) fn send(&mut self, code: u16, enhanced: (u8, u16, u16), text: &str) {
        let reply = self.build(code, enhanced, text);
        self.send_reply(&reply);
    }

    /// Sends one of the session's own fixed one-line replies: both wire forms
    /// were written at compile time ([`fixed_reply!`]), so this is one copy
    /// into the output buffer, with no allocation.
    pub(super) fn send_static(&mut self, reply: FixedReply) {
        let bytes = if self.config.enhanced_codes() {
            reply.enhanced
        } else {
            reply.plain
        };
        self.out.extend_from_slice(bytes);
    }

    pub(super) fn send_reply(&mut self, reply: &Reply) {
        reply.encode_to(&mut self.out);
    }

    /// Adds a generic enhanced code (`class.0.0`) to an application reply that
    /// has none, when ENHANCEDSTATUSCODES is on.
    pub(super) fn with_enhanced(&self, reply: Reply) -> Reply {
        self.generic_enhanced(&reply).unwrap_or(reply)
    }

    /// Sends an application reply as [`with_enhanced`](Self::with_enhanced)
    /// makes it, without copying a reply that needs no change.
    pub(super) fn send_app_reply(&mut self, reply: &Reply) {
        match self.generic_enhanced(reply) {
            Some(changed) => self.send_reply(&changed),
            None => self.send_reply(reply),
        }
    }

    /// The application reply with a generic enhanced code added, when it
    /// needs one; `None` when it goes out as it is.
    fn generic_enhanced(&self, reply: &Reply) -> Option<Reply> {
        if reply.enhanced().is_some() || !self.config.enhanced_codes() {
            return None;
        }
        let class = (reply.code().get() / 100) as u8;
        // RFC 3463 §3.1: classes 2, 4 and 5 only (a 3xx reply has none).
        let generic = EnhancedCode::new(class, 0, 0)?;
        Some(Reply::new(reply.code(), Some(generic), reply.text()))
    }

    /// An error reply caused by the peer: counted against the error budget
    /// (Postfix's `smtpd_hard_error_limit`) and reported as an event.
    pub(super) fn error(&mut self, code: u16, enhanced: (u8, u16, u16), text: &str) {
        let reply = self.build(code, enhanced, text);
        self.send_reply(&reply);
        self.events.push_back(ServerEvent::ClientFault(reply));
        self.count_error();
    }

    /// A fault after which the stream cannot be trusted to be in step (improper
    /// pipelining behind a refused DATA, a BDAT without a readable size): the
    /// reply, the event, and close. Not counted: the session ends anyway.
    pub(super) fn fatal_fault(&mut self, code: u16, enhanced: (u8, u16, u16), text: &str) {
        let reply = self.build(code, enhanced, text);
        self.send_reply(&reply);
        self.events.push_back(ServerEvent::ClientFault(reply));
        self.close();
    }

    /// RFC 2920 §3.1: DATA ends a pipelined group, so a client must wait for
    /// its reply. Input already buffered behind a DATA that was just refused
    /// was sent before the client could see the refusal: it is most likely the
    /// message content, and parsing it as commands would let a body carrying
    /// `MAIL`, `RCPT`, `DATA` lines start a transaction of its own (a
    /// smuggling vector). Like Postfix 3.9+ with `smtpd_forbid_unauth_pipelining`
    /// (and Exim's synchronisation check), the session answers
    /// `554 5.5.0 Error: SMTP protocol synchronization` and closes; nothing of
    /// that input is parsed. A well-behaved client, which waits, never sees it.
    fn check_sync_after_refused_data(&mut self) {
        if !self.input.is_empty() || self.skipping_line {
            self.input.clear();
            self.skipping_line = false;
            self.fatal_fault(554, (5, 5, 0), "Error: SMTP protocol synchronization");
        }
    }

    /// One more error against the budget; at the limit, `421 4.7.0` and close.
    fn count_error(&mut self) {
        self.errors = self.errors.saturating_add(1);
        if self.errors >= self.config.max_errors.max(1) {
            let text = format!("{} Error: too many errors", self.config.hostname);
            self.fatal_fault(421, (4, 7, 0), &text);
        }
    }

    /// Refuses a command. Refusals that only follow from an application decision
    /// (RCPT or DATA pipelined behind a refused MAIL, DATA after every RCPT was
    /// refused) are not the client's fault (RFC 2920 §3.1 lets it send them
    /// before seeing the replies), so they do not count against the error budget.
    fn refuse(&mut self, refusal: Refusal) {
        let consequence =
            refusal.2 == NO_VALID_RECIPIENTS || (refusal.2 == NEED_MAIL && self.mail_refused);
        if consequence {
            self.refuse_uncounted(refusal);
        } else {
            self.error(refusal.0, refusal.1, refusal.2);
        }
    }

    /// A refusal that is policy, not misbehaviour: reported, not counted
    /// (Postfix does not count `452 4.5.3` for excess recipients either).
    fn refuse_uncounted(&mut self, refusal: Refusal) {
        let reply = self.build(refusal.0, refusal.1, refusal.2);
        self.send_reply(&reply);
        self.events.push_back(ServerEvent::ClientFault(reply));
    }

    /// After the end of data: one reply in SMTP, one per accepted recipient in
    /// LMTP (RFC 2033 §4.2).
    fn end_of_data_reply(&mut self, reply: &Reply) {
        for _ in 0..self.end_of_data_count() {
            self.send_reply(reply);
        }
    }

    fn end_of_data_count(&self) -> usize {
        match self.config.protocol {
            Protocol::Lmtp => self.tx.as_ref().map_or(1, |t| t.accepted_rcpts.max(1)),
            Protocol::Smtp => 1,
        }
    }

    // ----- state helpers ----------------------------------------------------

    pub(super) fn is_extended(&self) -> bool {
        matches!(self.hello, Some(HelloKind::Ehlo | HelloKind::Lhlo))
    }

    pub(super) fn close(&mut self) {
        self.reset_tx();
        self.closing = true;
    }

    /// The transaction is abandoned without a final reply to its content.
    pub(super) fn reset_tx(&mut self) {
        self.mail_refused = false;
        self.envelope.clear();
        if self.tx.take().is_some() {
            self.events.push_back(ServerEvent::TransactionReset);
        }
    }

    /// The final reply to the content went out: the transaction is over.
    pub(super) fn finish_tx(&mut self) {
        self.envelope.clear();
        if self.tx.take().is_some() {
            self.events.push_back(ServerEvent::TransactionFinished);
        }
    }

    pub(super) fn await_command(&mut self) {
        self.deadline = Some(self.now + self.config.timeouts.command);
    }

    fn await_data(&mut self) {
        self.data_progress = 0;
        self.deadline = Some(self.now + self.config.timeouts.data);
    }

    /// Content arrived: move the data deadline once enough of it did. Octets past
    /// the threshold count towards the next move, so the deadline does not depend
    /// on how the content was split into reads.
    fn data_progressed(&mut self, octets: usize) {
        let step = self.config.timeouts.data_progress;
        let progress = self.data_progress.saturating_add(octets as u64);
        if progress >= step {
            self.await_data();
            self.data_progress = progress.checked_rem(step).unwrap_or(0);
        } else {
            self.data_progress = progress;
        }
    }

    fn pause(&mut self, pending: Pending, event: ServerEvent) {
        self.phase = Phase::Pending(pending);
        self.events.push_back(event);
        self.deadline = None;
    }

    fn auth_offered(&self) -> bool {
        !self.config.extensions.auth.is_empty() && (self.tls || self.config.auth_without_tls)
    }

    /// The extensions the EHLO/LHLO response offers (RFC 5321 §4.1.1.1) in the
    /// session's current state, in order.
    fn for_each_extension(&self, f: &mut dyn FnMut(Extension)) {
        let e = &self.config.extensions;
        let lmtp = self.config.protocol == Protocol::Lmtp;
        if e.pipelining || lmtp {
            f(Extension::Pipelining);
        }
        f(Extension::Size(self.config.max_message_size));
        if e.eight_bit_mime {
            f(Extension::EightBitMime);
        }
        if e.enhanced_status_codes || lmtp {
            f(Extension::EnhancedStatusCodes);
        }
        if e.chunking {
            f(Extension::Chunking);
            if e.binary_mime {
                f(Extension::BinaryMime);
            }
        }
        if e.smtputf8 {
            f(Extension::SmtpUtf8);
        }
        if e.dsn {
            f(Extension::Dsn);
        }
        if e.starttls && !self.tls {
            f(Extension::StartTls);
        }
        if e.requiretls && self.tls {
            f(Extension::RequireTls);
        }
        if self.auth_offered() && !self.authenticated {
            f(Extension::Auth(e.auth.clone()));
        }
    }

    /// The EHLO/LHLO response (RFC 5321 §4.1.1.1): what the configuration offers
    /// in the session's current state.
    pub(super) fn capabilities(&self) -> Reply {
        let mut ext = Vec::new();
        self.for_each_extension(&mut |x| ext.push(x));
        Capabilities {
            domain: self.config.hostname.clone(),
            greeting: String::new(),
            extensions: ext,
            ignored: Vec::new(),
        }
        .to_reply()
    }

    /// Sends the standard `220 <hostname> <banner>` greeting straight into the
    /// output when its text is plain (see [`plain_line`]): what building the
    /// reply would encode it to. Returns false, having sent nothing, otherwise.
    pub(super) fn send_plain_greeting(&mut self) -> bool {
        let banner = match (&self.config.banner, self.config.protocol) {
            (Some(banner), _) => banner.as_str(),
            (None, Protocol::Smtp) => "ESMTP",
            (None, Protocol::Lmtp) => "LMTP",
        };
        let host = self.config.hostname.as_bytes();
        if !plain_line(host)
            || host[0].is_ascii_digit()
            || !plain_line(banner.as_bytes())
            || host.len() + banner.len() > 400
        {
            return false;
        }
        self.out.extend_from_slice(b"220 ");
        self.out.extend_from_slice(host);
        self.out.extend_from_slice(b" ");
        self.out.extend_from_slice(banner.as_bytes());
        self.out.extend_from_slice(b"\r\n");
        true
    }

    /// Sends the EHLO/LHLO response. When every line is plain (see
    /// [`plain_line`]) it is written straight into the output, octet for octet
    /// what [`capabilities`](Self::capabilities) encodes to, without building
    /// the reply; otherwise the reply is built.
    pub(super) fn send_capabilities(&mut self) {
        let mut out = core::mem::take(&mut self.out);
        let start = out.len();
        let host = self.config.hostname.as_bytes();
        // A first line that starts with a digit might read as an enhanced code.
        let mut plain = plain_line(host) && !host[0].is_ascii_digit();
        if plain {
            let mut count = 0;
            self.for_each_extension(&mut |_| count += 1);
            out.extend_from_slice(if count == 0 { b"250 " } else { b"250-" });
            out.extend_from_slice(host);
            out.extend_from_slice(b"\r\n");
            let mut i = 0;
            self.for_each_extension(&mut |x| {
                i += 1;
                out.extend_from_slice(if i == count { b"250 " } else { b"250-" });
                let at = out.len();
                let _ = write!(out, "{x}");
                plain &= plain_line(&out[at..]);
                out.extend_from_slice(b"\r\n");
            });
        }
        if plain {
            self.out = out;
        } else {
            out.truncate(start);
            self.out = out;
            let reply = self.capabilities();
            self.send_reply(&reply);
        }
    }

    // ----- commands ---------------------------------------------------------

    /// Takes the command by reference: moved in, it was one more 200-byte copy.
    pub(super) fn dispatch(&mut self, cmd: &Command<'_>) {
        if matches!(self.phase, Phase::Refused) {
            if *cmd == Command::Quit {
                self.send_static(BYE);
                self.close();
            } else {
                self.error(503, (5, 5, 1), "Error: service refused; send QUIT");
            }
            return;
        }
        let tls_gate = self.config.require_tls
            && !self.tls
            && !matches!(
                cmd,
                Command::Helo(_)
                    | Command::Ehlo(_)
                    | Command::Lhlo(_)
                    | Command::StartTls
                    | Command::Noop(_)
                    | Command::Rset
                    | Command::Quit
                    | Command::Unknown { .. }
            );
        if tls_gate {
            self.error(530, (5, 7, 0), "Must issue a STARTTLS command first");
            return;
        }
        match cmd {
            Command::Helo(name) => self.hello_command(HelloKind::Helo, name),
            Command::Ehlo(name) => self.hello_command(HelloKind::Ehlo, name),
            Command::Lhlo(name) => self.hello_command(HelloKind::Lhlo, name),
            Command::Mail { from, params } => self.mail(from, params),
            Command::Rcpt { to, params } => self.rcpt(to, params),
            Command::Data => self.data(),
            Command::Bdat { size, last } => self.bdat(*size, *last),
            Command::Rset => {
                self.reset_tx();
                self.send_static(OK);
            }
            Command::Noop(_) => self.send_static(OK),
            Command::Vrfy(_) => match self.config.vrfy {
                VrfyPolicy::CannotVerify => self.send(
                    252,
                    (2, 5, 0),
                    "Cannot VRFY user, but will accept message and attempt delivery",
                ),
                VrfyPolicy::Disabled => self.send(502, (5, 5, 1), "VRFY command is disabled"),
            },
            Command::Expn(_) if self.config.expn_disabled => {
                self.send(502, (5, 5, 1), "EXPN command is disabled")
            }
            Command::Expn(_) => self.send(252, (2, 5, 0), "Cannot EXPN list"),
            Command::Help(_) => {
                let e = &self.config.extensions;
                let mut text = String::from(match self.config.protocol {
                    Protocol::Smtp => "Commands: HELO EHLO MAIL RCPT DATA",
                    Protocol::Lmtp => "Commands: LHLO MAIL RCPT DATA",
                });
                if e.chunking {
                    text.push_str(" BDAT");
                }
                text.push_str(" RSET NOOP QUIT VRFY HELP");
                if e.starttls && !self.tls {
                    text.push_str(" STARTTLS");
                }
                if self.auth_offered() {
                    text.push_str(" AUTH");
                }
                self.send(214, (2, 0, 0), &text);
            }
            Command::Quit => {
                self.send_static(BYE);
                self.close();
            }
            Command::StartTls => self.starttls(),
            Command::Auth {
                mechanism,
                initial_response,
            } => self.auth(mechanism.clone().into_owned(), initial_response.as_deref()),
            Command::Unknown { verb, args } => {
                let http = HTTP_METHODS.contains(&&**verb)
                    && args.as_deref().is_some_and(|a| a.contains(" HTTP/"));
                if http {
                    let text = format!(
                        "{} Error: this is an SMTP server, not HTTP",
                        self.config.hostname
                    );
                    self.fatal_fault(421, (4, 7, 0), &text);
                } else {
                    self.error(500, (5, 5, 2), "Error: command not recognized");
                }
            }
        }
    }

    /// HELO/EHLO/LHLO (RFC 5321 §4.1.1.1, RFC 2033 §4.1): an implicit RSET, then
    /// the application's decision.
    fn hello_command(&mut self, kind: HelloKind, name: &HeloName<'_>) {
        let lmtp = self.config.protocol == Protocol::Lmtp;
        if lmtp != (kind == HelloKind::Lhlo) {
            if lmtp {
                self.error(500, (5, 5, 1), "Error: this is LMTP; send LHLO");
            } else {
                self.error(500, (5, 5, 2), "Error: command not recognized");
            }
            return;
        }
        self.reset_tx();
        self.pause(
            Pending::Hello(kind),
            ServerEvent::Hello {
                kind,
                name: name.clone().into_owned(),
            },
        );
    }

    /// The order of the transaction's checks follows Postfix: sequence first,
    /// then policy, then parameters.
    fn transaction_ready(&self) -> Result<(), Refusal> {
        if self.hello.is_none() {
            return Err((503, (5, 5, 1), "Error: send HELO/EHLO first"));
        }
        Ok(())
    }

    /// MAIL (RFC 5321 §4.1.1.2) with parameters checked against what was advertised.
    fn mail(&mut self, from: &crate::wire::path::ReversePath<'_>, params: &MailParameters<'_>) {
        if let Err(refusal) = self.transaction_ready().and_then(|()| {
            if self.tx.is_some() {
                Err((503, (5, 5, 1), "Error: nested MAIL command"))
            } else if self.config.require_auth && !self.authenticated {
                Err((530, (5, 7, 0), "Authentication required"))
            } else {
                self.check_mail_params(params)
            }
        }) {
            self.refuse(refusal);
            return;
        }
        let smtputf8 = params.smtputf8;
        let binary = params.body == Some(Body::BinaryMime);
        // Kept for `envelope()`; it counts once the application accepts.
        self.envelope.clear();
        self.envelope.push_reverse(from);
        self.pause(
            Pending::Mail { smtputf8, binary },
            ServerEvent::MailFrom {
                from: from.to_static(),
                params: params.to_static(),
            },
        );
    }

    fn check_mail_params(&self, p: &MailParameters<'_>) -> Result<(), Refusal> {
        let e = &self.config.extensions;
        let unsupported = (555, (5, 5, 4), "Error: unsupported MAIL parameter");
        if !self.is_extended() && !p.is_empty() {
            return Err(unsupported);
        }
        if let (Some(size), Some(max)) = (p.size, self.config.max_message_size)
            && size > max
        {
            return Err((
                552,
                (5, 3, 4),
                "Message size exceeds fixed maximum message size",
            ));
        }
        let body_ok = match p.body {
            None | Some(Body::SevenBit) => true,
            Some(Body::EightBitMime) => e.eight_bit_mime,
            Some(Body::BinaryMime) => e.binary_mime && e.chunking,
        };
        let ok = body_ok
            && (!p.smtputf8 || e.smtputf8)
            && ((p.ret.is_none() && p.envid.is_none()) || e.dsn)
            && (p.auth.is_none() || self.auth_offered())
            && (!p.requiretls || (e.requiretls && self.tls))
            && p.mt_priority.is_none()
            && p.hold.is_none()
            && p.by.is_none()
            && p.other.is_empty();
        if ok { Ok(()) } else { Err(unsupported) }
    }

    /// RCPT (RFC 5321 §4.1.1.3).
    fn rcpt(&mut self, to: &crate::wire::path::ForwardPath<'_>, params: &RcptParameters<'_>) {
        let max = self.config.max_recipients.max(100);
        let dsn = self.config.extensions.dsn;
        let check = match &mut self.tx {
            None => Err((503, (5, 5, 1), NEED_MAIL)),
            Some(tx) => {
                tx.rcpt_commands = tx.rcpt_commands.saturating_add(1);
                if tx.accepted_rcpts >= max {
                    Err((452, (4, 5, 3), "Error: too many recipients"))
                } else if !params.other.is_empty()
                    || (!dsn && (params.notify.is_some() || params.orcpt.is_some()))
                {
                    Err((555, (5, 5, 4), "Error: unsupported RCPT parameter"))
                } else {
                    Ok(())
                }
            }
        };
        match check {
            Err(refusal) if refusal.0 == 452 => return self.refuse_uncounted(refusal),
            Err(refusal) => return self.refuse(refusal),
            Ok(()) => {}
        }
        // Kept for `envelope()`, dropped again if the application refuses.
        self.envelope.push_forward(to);
        self.envelope.tentative = true;
        self.pause(
            Pending::Rcpt,
            ServerEvent::RcptTo {
                to: to.to_static(),
                params: params.to_static(),
            },
        );
    }

    /// What DATA and BDAT need: a transaction with an accepted recipient
    /// (RFC 5321 §3.3: 503, or 554 when every RCPT was refused, as Postfix does).
    fn content_ready(&self) -> Result<&Transaction, Refusal> {
        self.transaction_ready()?;
        let tx = self.tx.as_ref().ok_or((503, (5, 5, 1), NEED_MAIL))?;
        if tx.accepted_rcpts == 0 {
            // RFC 2033 §4.2: in LMTP, DATA MUST fail with 503 then.
            let code = match self.config.protocol {
                Protocol::Smtp => 554,
                Protocol::Lmtp => 503,
            };
            return Err(if tx.rcpt_commands > 0 {
                (code, (5, 5, 1), NO_VALID_RECIPIENTS)
            } else {
                (503, (5, 5, 1), "Error: need RCPT command")
            });
        }
        Ok(tx)
    }

    /// DATA (RFC 5321 §4.1.1.4).
    fn data(&mut self) {
        let check = self.content_ready().and_then(|tx| {
            if tx.binary {
                // RFC 3030 §3: BINARYMIME content can only be sent with BDAT.
                Err((503, (5, 5, 1), "Error: BINARYMIME requires BDAT"))
            } else if tx.body != BodyState::None {
                Err((503, (5, 5, 1), "Error: DATA after BDAT"))
            } else {
                Ok(())
            }
        });
        match check {
            Err(refusal) => {
                self.refuse(refusal);
                self.check_sync_after_refused_data();
            }
            Ok(()) => self.pause(Pending::Data, ServerEvent::DataStart),
        }
    }

    /// BDAT (RFC 3030 §2). A refused chunk is still read, and discarded, so the
    /// stream stays in step: its octets are never taken for commands.
    fn bdat(&mut self, size: u64, last: bool) {
        let chunk = BdatChunk::new(size, last);
        let refusal = if !self.config.extensions.chunking {
            Some((502, (5, 5, 1), "Error: BDAT is not offered"))
        } else {
            self.content_ready().err()
        };
        if let Some(refusal) = refusal {
            let counted = !(refusal.2 == NO_VALID_RECIPIENTS
                || (refusal.2 == NEED_MAIL && self.mail_refused));
            let reply = self.build(refusal.0, refusal.1, refusal.2);
            self.phase = Phase::Bdat {
                chunk,
                keep: false,
                refusal: Some((reply, Blame::Client { counted })),
            };
            self.await_data();
            return;
        }
        let max = self.config.max_message_size;
        let Some(tx) = self.tx.as_mut() else { return };
        match &tx.body {
            BodyState::ChunksFailed(reply, blame) => {
                let (reply, blame) = (reply.clone(), *blame);
                // A consequence of the first refusal: never counted again.
                let blame = match blame {
                    Blame::Client { .. } => Blame::Client { counted: false },
                    Blame::Application => Blame::Application,
                };
                self.phase = Phase::Bdat {
                    chunk,
                    keep: false,
                    refusal: Some((reply, blame)),
                };
            }
            BodyState::None => {
                tx.body = BodyState::Chunks(size);
                if max.is_some_and(|m| size > m) {
                    self.oversize_chunk(chunk);
                } else {
                    self.pause(Pending::Bdat { size, last }, ServerEvent::DataStart);
                }
            }
            BodyState::Chunks(total) => {
                let total = total.saturating_add(size);
                tx.body = BodyState::Chunks(total);
                if max.is_some_and(|m| total > m) {
                    self.oversize_chunk(chunk);
                } else {
                    self.phase = Phase::Bdat {
                        chunk,
                        keep: true,
                        refusal: None,
                    };
                }
            }
        }
        // No deadline while the application decides on the first chunk: its
        // decision starts the data timeout.
        if !matches!(self.phase, Phase::Pending(_)) {
            self.await_data();
        }
    }

    /// RFC 1870 §6.3 for BDAT: the chunk that takes the message over the limit
    /// is discarded with `552 5.3.4`, and so is the rest of the transaction.
    fn oversize_chunk(&mut self, chunk: BdatChunk) {
        let reply = self.build(
            552,
            (5, 3, 4),
            "Message size exceeds fixed maximum message size",
        );
        let blame = Blame::Client { counted: false };
        if let Some(tx) = self.tx.as_mut() {
            tx.body = BodyState::ChunksFailed(reply.clone(), blame);
        }
        self.phase = Phase::Bdat {
            chunk,
            keep: false,
            refusal: Some((reply, blame)),
        };
    }

    /// STARTTLS (RFC 3207 §4): `220`, then everything the client pipelined after
    /// the command is discarded (CVE-2011-0411) and the adapter is asked to
    /// run the handshake.
    fn starttls(&mut self) {
        let refusal = if !self.config.extensions.starttls {
            Some((502, (5, 5, 1), "Error: command not implemented"))
        } else if self.tls {
            Some((503, (5, 5, 1), "Error: TLS already active"))
        } else if self.tx.is_some() {
            Some((503, (5, 5, 1), "Error: MAIL transaction in progress"))
        } else {
            None
        };
        if let Some(refusal) = refusal {
            self.refuse(refusal);
            return;
        }
        self.send(220, (2, 0, 0), "Ready to start TLS");
        self.input.clear();
        self.skipping_line = false;
        self.phase = Phase::TlsHandshake;
        self.starttls_pending = true;
        self.await_command();
    }

    /// AUTH (RFC 4954 §4).
    fn auth(&mut self, mechanism: Mechanism<'static>, initial: Option<&str>) {
        let refusal = if self.config.extensions.auth.is_empty() {
            Some((502, (5, 5, 1), "Error: authentication not enabled"))
        } else if !self.auth_offered() {
            // RFC 4954 §6: 538 when the mechanism needs an encrypted connection.
            Some((
                538,
                (5, 7, 11),
                "Encryption required for requested authentication mechanism",
            ))
        } else if !self.is_extended() {
            Some((503, (5, 5, 1), "Error: send EHLO first"))
        } else if self.authenticated {
            Some((503, (5, 5, 1), "Error: already authenticated"))
        } else if self.tx.is_some() {
            Some((503, (5, 5, 1), "Error: MAIL transaction in progress"))
        } else if !self.config.extensions.auth.contains(&mechanism) {
            Some((
                504,
                (5, 5, 4),
                "Error: unsupported authentication mechanism",
            ))
        } else {
            None
        };
        if let Some(refusal) = refusal {
            self.refuse(refusal);
            return;
        }
        match initial {
            Some(ir) => match sasl::decode_initial_response(ir, self.sasl_max()) {
                Ok(SaslResponse::Data(data)) => self.sasl_data(mechanism, data),
                // RFC 4954 §4: the client may cancel; that breaks no rule.
                Ok(SaslResponse::Cancel) => self.send_static(AUTH_CANCELLED),
                Err(_) => self.error(501, (5, 5, 2), "Error: invalid base64 data"),
            },
            None => {
                if mechanism == Mechanism::Login {
                    self.send_challenge(sasl::LOGIN_USERNAME_CHALLENGE);
                    self.phase = Phase::Sasl(SaslStep::LoginUser);
                } else {
                    self.send_challenge(b"");
                    self.phase = Phase::Sasl(SaslStep::Response(mechanism));
                }
            }
        }
    }

    /// The longest base64 text a SASL line may carry.
    fn sasl_max(&self) -> usize {
        self.config.limits.clamped().sasl_line - 2
    }

    /// RFC 4954 §4: `continue-req = "334" SP [base64] CRLF` — the space is there
    /// even when the challenge is empty, as Postfix sends it.
    fn send_challenge(&mut self, data: &[u8]) {
        let text = sasl::encode_challenge(data);
        self.out.extend_from_slice(b"334 ");
        self.out.extend_from_slice(text.as_bytes());
        self.out.extend_from_slice(b"\r\n");
    }

    /// A complete SASL message for `mechanism`.
    fn sasl_data(&mut self, mechanism: Mechanism<'static>, data: Vec<u8>) {
        let credentials = match &mechanism {
            Mechanism::Plain => sasl::decode_plain(&data)
                .ok()
                .map(|c| Credentials::Password {
                    authzid: Some(c.authzid).filter(|a| !a.is_empty()),
                    username: c.authcid,
                    password: c.password,
                }),
            Mechanism::Login => match String::from_utf8(data) {
                Ok(user) if !user.is_empty() => {
                    self.send_challenge(sasl::LOGIN_PASSWORD_CHALLENGE);
                    self.phase = Phase::Sasl(SaslStep::LoginPassword(user));
                    return;
                }
                _ => None,
            },
            Mechanism::XOAuth2 => sasl::decode_xoauth2(&data)
                .ok()
                .map(|x| Credentials::Bearer {
                    user: Some(x.user),
                    token: x.token,
                }),
            Mechanism::OAuthBearer => {
                sasl::decode_oauthbearer(&data)
                    .ok()
                    .map(|o| Credentials::Bearer {
                        user: o.authzid,
                        token: o.token,
                    })
            }
            _ => None,
        };
        match credentials {
            Some(credentials) => self.pause(
                Pending::Auth(mechanism.clone()),
                ServerEvent::Auth {
                    mechanism,
                    credentials,
                },
            ),
            None => self.error(535, (5, 7, 8), "Error: malformed authentication data"),
        }
    }

    /// One line of an AUTH exchange (RFC 4954 §4): base64, or `*` to cancel.
    pub(super) fn step_sasl(&mut self) -> bool {
        let limit = self.config.limits.clamped().sasl_line;
        let (len, consumed) = match frame_line(&self.input, limit, self.config.command_line_ending)
        {
            Framed::Partial => return false,
            Framed::Invalid {
                consumed, complete, ..
            } => {
                self.input.advance(consumed);
                self.skipping_line = !complete;
                self.phase = Phase::Command;
                self.error(
                    500,
                    (5, 5, 6),
                    "Error: authentication line too long or malformed",
                );
                self.await_command();
                return true;
            }
            Framed::Line { line, consumed } => (line.len(), consumed),
        };
        let line = self.input.split_to(consumed).freeze();
        let line = &line[..len];
        let Phase::Sasl(step) = core::mem::replace(&mut self.phase, Phase::Command) else {
            return false;
        };
        if let SaslStep::FailureAck(reply) = step {
            self.send_reply(&reply);
            self.await_command();
            return true;
        }
        match sasl::decode_response(line, self.sasl_max()) {
            // RFC 4954 §4: the client may cancel; that breaks no rule.
            Ok(SaslResponse::Cancel) => self.send_static(AUTH_CANCELLED),
            Err(_) => self.error(501, (5, 5, 2), "Error: invalid base64 data"),
            Ok(SaslResponse::Data(data)) => match step {
                SaslStep::Response(mechanism) => self.sasl_data(mechanism, data),
                SaslStep::LoginUser => self.sasl_data(Mechanism::Login, data),
                SaslStep::LoginPassword(username) => match String::from_utf8(data) {
                    Ok(password) => self.pause(
                        Pending::Auth(Mechanism::Login),
                        ServerEvent::Auth {
                            mechanism: Mechanism::Login,
                            credentials: Credentials::Password {
                                authzid: None,
                                username,
                                password,
                            },
                        },
                    ),
                    Err(_) => self.error(535, (5, 7, 8), "Error: malformed authentication data"),
                },
                SaslStep::FailureAck(_) => {}
            },
        }
        if matches!(self.phase, Phase::Command) {
            self.await_command();
        }
        true
    }

    // ----- message content ---------------------------------------------------

    /// DATA content (RFC 5321 §4.1.1.4): read to the real `CRLF.CRLF`, whatever
    /// is wrong with the message, so nothing inside it is ever taken for a command.
    pub(super) fn step_data(&mut self) -> bool {
        let Phase::Data(decoder) = &mut self.phase else {
            return false;
        };
        if self.input.is_empty() {
            return false;
        }
        let mut pieces = core::mem::take(&mut self.pieces);
        pieces.clear();
        // At most `DATA_BATCH` octets per step: the list of pieces (one per
        // stuffed line) then stays short and needs no allocation per message,
        // whatever the size of the read.
        let batch = self.input.len().min(DATA_BATCH);
        let status = decoder.decode_into(&self.input[..batch], &mut Pieces(&mut pieces));
        let found = decoder.findings();
        self.data_progressed(status.consumed);
        let whole = status.consumed == self.input.len();
        if whole && !pieces.is_empty() && pieces.iter().all(|p| matches!(p, Piece::Input(_))) {
            // The usual case: all of the buffer was read, and its content is
            // runs of it. They are moved up against its end, and the whole
            // buffer goes out as one piece, its head skipped: freezing a
            // whole buffer and skipping its head need no allocation, where
            // splitting, slicing or truncating it would.
            let start = compact_to_end(&mut self.input[..status.consumed], &pieces);
            let mut read = core::mem::take(&mut self.input).freeze();
            read.advance(start);
            pieces.clear();
            self.take_content(read);
        } else {
            compact(&mut self.input[..status.consumed], &mut pieces);
            // The content is handed out as slices of what was read: no copy.
            let read = if whole {
                core::mem::take(&mut self.input).freeze()
            } else {
                self.input.split_to(status.consumed).freeze()
            };
            for piece in pieces.drain(..) {
                let content = match piece {
                    Piece::Input(range) => read.slice(range),
                    Piece::Literal(bytes) => Bytes::from_static(bytes),
                };
                self.take_content(content);
            }
        }
        self.pieces = pieces;
        if status.done {
            self.phase = Phase::Command;
            // The decoder looked at every octet of the content already.
            if let Some(tx) = self.tx.as_mut() {
                tx.findings.eight_bit |= found.eight_bit;
                tx.findings.nul |= found.nul;
            }
            self.message_complete(found.bare_cr || found.bare_lf);
        }
        // The decoder takes every octet up to the end of data, so a step on
        // input always progresses.
        true
    }

    /// Accounts for and hands out a piece of content (its 8-bit octets and
    /// NULs are recorded where it is read).
    fn take_content(&mut self, content: Bytes) {
        let max = self.config.max_message_size;
        let Some(tx) = self.tx.as_mut() else { return };
        tx.findings.size = tx.findings.size.saturating_add(content.len() as u64);
        if max.is_some_and(|m| tx.findings.size > m) {
            tx.oversize = true;
        }
        if !tx.oversize && !content.is_empty() {
            self.events.push_back(ServerEvent::MessageData(content));
        }
    }

    /// The end of the content: refuse what breaks the rules, else ask the application.
    fn message_complete(&mut self, bare_line_ending: bool) {
        let Some(tx) = self.tx.as_mut() else { return };
        tx.findings.bare_line_ending |= bare_line_ending;
        let findings = tx.findings;
        let refusal = if tx.oversize {
            Some(self.build(
                552,
                (5, 3, 4),
                "Message size exceeds fixed maximum message size",
            ))
        } else if bare_line_ending && self.config.bare_line_ending == BareLineEnding::Reject {
            // RFC 5321 §2.3.8: CR and LF only as CRLF. Postfix's
            // `smtpd_forbid_bare_newline = reject` refuses such mail too.
            Some(self.build(550, (5, 6, 0), "Error: bare CR or LF in message content"))
        } else {
            None
        };
        match refusal {
            Some(reply) => {
                self.end_of_data_reply(&reply);
                self.events.push_back(ServerEvent::ClientFault(reply));
                self.finish_tx();
                self.await_command();
            }
            None => self.pause(Pending::MessageEnd, ServerEvent::MessageEnd(findings)),
        }
    }

    /// BDAT content (RFC 3030 §2): exactly `size` octets, verbatim.
    pub(super) fn step_bdat(&mut self) -> bool {
        let Phase::Bdat { chunk, keep, .. } = &mut self.phase else {
            return false;
        };
        let keep = *keep;
        let (_, n) = chunk.take(&self.input);
        let complete = chunk.is_complete();
        if n == 0 && !complete {
            return false;
        }
        let piece = self.input.split_to(n).freeze();
        self.data_progressed(n);
        if keep {
            // The decoder of DATA looks at every octet; a chunk is taken
            // verbatim, so it is looked at here.
            if let Some(tx) = self.tx.as_mut() {
                tx.findings.eight_bit |= !piece.is_ascii();
                tx.findings.nul |= memchr::memchr(0, &piece).is_some();
            }
            self.take_content(piece);
        }
        if complete {
            self.chunk_complete();
        }
        true
    }

    fn chunk_complete(&mut self) {
        let Phase::Bdat { chunk, refusal, .. } =
            core::mem::replace(&mut self.phase, Phase::Command)
        else {
            return;
        };
        let last = chunk.is_last();
        match refusal {
            Some((reply, blame)) => {
                if last {
                    // RFC 2033 §4.2: after the last chunk, LMTP answers per recipient.
                    self.end_of_data_reply(&reply);
                } else {
                    self.send_reply(&reply);
                }
                if let Blame::Client { counted } = blame {
                    self.events.push_back(ServerEvent::ClientFault(reply));
                    if counted {
                        self.count_error();
                    }
                }
                if last {
                    self.finish_tx();
                }
            }
            None if last => {
                self.message_complete(false);
                return;
            }
            None => {
                let size = self.tx.as_ref().map_or(0, |t| t.findings.size);
                if self.config.enhanced_codes() {
                    let _ = write!(self.out, "250 2.0.0 Ok: {size} octets received\r\n");
                } else {
                    let _ = write!(self.out, "250 Ok: {size} octets received\r\n");
                }
            }
        }
        self.await_command();
    }

    // ----- decisions --------------------------------------------------------

    pub(super) fn accept(&mut self, pending: Pending, custom: Option<Reply>) {
        // The application's reply if it gave one, else the standard one,
        // written without an allocation.
        let reply = |s: &mut Self, fixed: FixedReply| match &custom {
            Some(r) => s.send_app_reply(r),
            None => s.send_static(fixed),
        };
        match pending {
            Pending::Greeting => {
                if custom.is_none() && self.send_plain_greeting() {
                    return;
                }
                let r = custom.clone().unwrap_or_else(|| {
                    let banner = match (&self.config.banner, self.config.protocol) {
                        (Some(banner), _) => banner.as_str(),
                        (None, Protocol::Smtp) => "ESMTP",
                        (None, Protocol::Lmtp) => "LMTP",
                    };
                    let text = format!("{} {banner}", self.config.hostname);
                    Reply::new(ReplyCode::new(220).expect("valid"), None, &text)
                });
                self.send_reply(&r);
            }
            Pending::Hello(kind) => {
                self.hello = Some(kind);
                let r = match (&custom, kind) {
                    (Some(r), HelloKind::Helo) => r.clone(),
                    (_, HelloKind::Helo) => Reply::new(
                        ReplyCode::new(250).expect("valid"),
                        None,
                        &self.config.hostname,
                    ),
                    _ => return self.send_capabilities(),
                };
                self.send_reply(&r);
            }
            Pending::Auth(_) => {
                self.authenticated = true;
                reply(
                    self,
                    fixed_reply!(235, 2, 7, 0, "Authentication successful"),
                );
            }
            Pending::Mail { smtputf8, binary } => {
                self.mail_refused = false;
                self.tx = Some(Transaction {
                    smtputf8,
                    binary,
                    accepted_rcpts: 0,
                    rcpt_commands: 0,
                    body: BodyState::None,
                    findings: MessageFindings::default(),
                    oversize: false,
                });
                reply(self, fixed_reply!(250, 2, 1, 0, "Ok"));
            }
            Pending::Rcpt => {
                self.envelope.tentative = false;
                if let Some(tx) = self.tx.as_mut() {
                    tx.accepted_rcpts += 1;
                }
                reply(self, fixed_reply!(250, 2, 1, 5, "Ok"));
            }
            Pending::Data => {
                reply(self, fixed_reply!(354, "End data with <CR><LF>.<CR><LF>"));
                let limits = self.config.limits.clamped();
                self.phase = Phase::Data(DataDecoder::new(DataDecoderConfig {
                    bare_line_ending: self.config.bare_line_ending,
                    max_line_len: limits.text_line,
                }));
                self.await_data();
            }
            Pending::Bdat { size, last } => {
                self.phase = Phase::Bdat {
                    chunk: BdatChunk::new(size, last),
                    keep: true,
                    refusal: None,
                };
                self.await_data();
            }
            Pending::MessageEnd => {
                let count = self.end_of_data_count();
                for _ in 0..count {
                    reply(self, fixed_reply!(250, 2, 0, 0, "Ok: queued"));
                }
                self.finish_tx();
            }
        }
    }

    pub(super) fn reject(&mut self, pending: Pending, reply: Reply) {
        let closes = reply.code().get() == 421;
        let reply = match pending {
            Pending::Greeting => reply,
            _ => self.with_enhanced(reply),
        };
        match pending {
            Pending::Greeting => {
                self.send_reply(&reply);
                self.phase = Phase::Refused;
            }
            Pending::Auth(Mechanism::OAuthBearer | Mechanism::XOAuth2) if !closes => {
                // RFC 7628 §3.2.2 (and XOAUTH2 as Google and Microsoft run it): the
                // error goes in a challenge; the client acknowledges it and then
                // gets the final reply.
                self.send_challenge(br#"{"status":"invalid_token"}"#);
                self.phase = Phase::Sasl(SaslStep::FailureAck(reply));
            }
            Pending::Bdat { size, last } => {
                if let Some(tx) = self.tx.as_mut() {
                    tx.body = BodyState::ChunksFailed(reply.clone(), Blame::Application);
                }
                self.phase = Phase::Bdat {
                    chunk: BdatChunk::new(size, last),
                    keep: false,
                    refusal: Some((reply, Blame::Application)),
                };
                self.await_data();
            }
            Pending::MessageEnd => {
                self.end_of_data_reply(&reply);
                self.finish_tx();
            }
            Pending::Mail { .. } => {
                self.mail_refused = true;
                self.envelope.clear();
                self.send_reply(&reply);
            }
            Pending::Rcpt => {
                self.envelope.pop();
                self.send_reply(&reply);
            }
            Pending::Data => {
                self.send_reply(&reply);
                self.check_sync_after_refused_data();
            }
            Pending::Hello(_) | Pending::Auth(_) => {
                self.send_reply(&reply);
            }
        }
        if closes {
            self.close();
        }
    }
}

#[cfg(test)]
mod compact_tests {
    use super::{Piece, compact};
    use alloc::vec;
    use alloc::vec::Vec;

    /// The content the pieces stand for.
    fn content(buf: &[u8], pieces: &[Piece]) -> Vec<u8> {
        let mut out = Vec::new();
        for p in pieces {
            match p {
                Piece::Input(r) => out.extend_from_slice(&buf[r.clone()]),
                Piece::Literal(b) => out.extend_from_slice(b),
            }
        }
        out
    }

    #[test]
    fn compact_to_end_joins_runs_at_the_end() {
        let original = b"ab.cd.ef.\r\n".to_vec();
        let pieces = vec![Piece::Input(0..2), Piece::Input(3..5), Piece::Input(6..8)];
        let want = content(&original, &pieces);
        let mut buf = original.clone();
        let start = super::compact_to_end(&mut buf, &pieces);
        assert_eq!(&buf[start..], &want[..]);
        assert_eq!(start, buf.len() - want.len());
        let mut none = b"x".to_vec();
        assert_eq!(super::compact_to_end(&mut none, &[]), 1);
    }

    #[test]
    fn compact_joins_runs_and_keeps_literals_in_place() {
        let original = b"ab.cd.ef\rgh.ij".to_vec();
        let pieces = vec![
            Piece::Input(0..2),
            Piece::Input(3..5),
            Piece::Input(6..8),
            Piece::Literal(b"\r\n"),
            Piece::Input(9..11),
            Piece::Input(12..14),
        ];
        let want = content(&original, &pieces);
        let mut buf = original.clone();
        let mut compacted = pieces.clone();
        compact(&mut buf, &mut compacted);
        assert_eq!(compacted.len(), 3);
        assert!(matches!(compacted[0], Piece::Input(ref r) if *r == (0..6)));
        assert!(matches!(compacted[2], Piece::Input(ref r) if *r == (6..10)));
        assert_eq!(content(&buf, &compacted), want);
        let (mut empty, mut none) = (Vec::new(), Vec::new());
        compact(&mut empty, &mut none);
        assert!(none.is_empty());
        let mut lit = vec![Piece::Literal(b"x"), Piece::Input(2..4)];
        let mut buf = b"..yz".to_vec();
        compact(&mut buf, &mut lit);
        assert_eq!(content(&buf, &lit), b"xyz");
    }
}

#[cfg(test)]
mod fixed_reply_tests {
    use super::{AUTH_CANCELLED, FixedReply};

    #[test]
    fn both_wire_forms_are_written_at_compile_time() {
        let rcpt = fixed_reply!(250, 2, 1, 5, "Ok");
        assert_eq!(rcpt.plain, b"250 Ok\r\n");
        assert_eq!(rcpt.enhanced, b"250 2.1.5 Ok\r\n");
        assert_eq!(
            AUTH_CANCELLED.enhanced,
            b"501 5.0.0 Authentication cancelled\r\n"
        );
        // RFC 3463: a 3xx reply has no enhanced code.
        let data = fixed_reply!(354, "End data with <CR><LF>.<CR><LF>");
        assert_eq!(data.plain, b"354 End data with <CR><LF>.<CR><LF>\r\n");
        assert_eq!(data.enhanced, data.plain);
    }
}
