//! Mail transactions: MAIL, RCPT, DATA or BDAT, and the body.

use alloc::borrow::Cow;
use alloc::vec::Vec;

use bytes::{Buf, BytesMut};

use super::{
    ClientError, ClientEvent, ClientSession, Envelope, Expect, OUTPUT_HIGH_WATER, RecipientResult,
    RequiredExtension, TransactionFailure, TransactionResult,
};
use crate::Protocol;
use crate::output::ApiMisuse;
use crate::reply::Reply;
use crate::time::Instant;
use crate::wire::command::{Command, CommandError, HeloSyntax, ParseOptions, parse_command};
use crate::wire::data::{DotStuffer, LineNormalizer};
use crate::wire::params::{Body, MailParameters, RcptParameters};
use crate::wire::path::{ForwardPath, PathOptions};

/// Most body octets encoded in one step.
const BODY_STEP: usize = 16 * 1024;

/// How the content goes.
#[derive(Debug)]
enum Mode {
    /// DATA, dot-stuffed.
    Data(Option<DotStuffer>),
    /// BDAT chunks; `normalizer` is `None` for BINARYMIME (verbatim).
    Bdat {
        normalizer: Option<LineNormalizer>,
        chunk: Vec<u8>,
    },
}

/// Where DATA stands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum DataState {
    NotSent,
    Sent,
    Go,
    Refused(Reply),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// MAIL, RCPT (and DATA) replies outstanding.
    Envelope,
    /// The content is being sent.
    Body,
    /// The content was sent (or a chunk refused): final replies outstanding.
    Final,
    /// The transaction is over but the application may still hand over body
    /// (it is discarded) and call `end_body`.
    Abandoned,
}

#[derive(Debug)]
struct Rcpt {
    path: ForwardPath<'static>,
    reply: Option<Reply>,
    final_reply: Option<Reply>,
}

/// The transaction in progress.
#[derive(Debug)]
pub(super) struct Message {
    rcpts: Vec<Rcpt>,
    mail_reply: Option<Reply>,
    accepted: usize,
    mode: Mode,
    data: DataState,
    phase: Phase,
    staged: BytesMut,
    ended: bool,
    wanted_signalled: bool,
    /// The first refusal of a BDAT chunk.
    bdat_failure: Option<Reply>,
    /// When the application last handed over body (or the content phase began).
    last_progress: Instant,
}

impl Message {
    pub(super) fn is_abandoned(&self) -> bool {
        self.phase == Phase::Abandoned
    }

    pub(super) fn accepts_body(&self) -> bool {
        !self.ended && matches!(self.phase, Phase::Envelope | Phase::Body)
    }

    pub(super) fn staged_len(&self) -> usize {
        self.staged.len()
    }

    /// RFC 5321 §4.5.3.2.5, as the core sees it: a gap in the body while the
    /// content is being sent.
    pub(super) fn body_deadline(&self, data_block: core::time::Duration) -> Option<Instant> {
        (self.phase == Phase::Body && !self.ended && self.staged.is_empty())
            .then(|| self.last_progress + data_block)
    }

    fn mail_ok(&self) -> bool {
        self.mail_reply
            .as_ref()
            .is_some_and(|r| r.code().is_positive_completion())
    }

    fn results(&self) -> Vec<RecipientResult> {
        self.rcpts
            .iter()
            .filter_map(|r| {
                Some(RecipientResult {
                    path: r.path.clone(),
                    rcpt_reply: r.reply.clone()?,
                    final_reply: r.final_reply.clone(),
                })
            })
            .collect()
    }

    /// [`results`](Self::results), moved out of the message.
    fn take_results(&mut self) -> Vec<RecipientResult> {
        self.rcpts
            .drain(..)
            .filter_map(|r| {
                Some(RecipientResult {
                    path: r.path,
                    rcpt_reply: r.reply?,
                    final_reply: r.final_reply,
                })
            })
            .collect()
    }

    fn accepted_rcpts(&mut self) -> impl Iterator<Item = &mut Rcpt> {
        self.rcpts.iter_mut().filter(|r| {
            r.reply
                .as_ref()
                .is_some_and(|r| r.code().is_positive_completion())
        })
    }
}

/// `DATA`, as `Command::Data` encodes it.
const DATA_LINE: &[u8] = b"DATA\r\n";

/// The wire form of `cmd`, checked as [`Command::validate`] checks it (one
/// line, no CR, LF or NUL smuggled in, parsing back to the same command), on
/// the one encoding that is sent.
fn encode_checked(cmd: &Command<'_>, opts: &ParseOptions) -> Result<Vec<u8>, CommandError> {
    let mut bytes = Vec::with_capacity(128);
    cmd.encode(&mut bytes);
    let line = &bytes[..bytes.len() - 2];
    if line.contains(&b'\r') || line.contains(&b'\n') {
        return Err(CommandError::ControlCharacter);
    }
    if parse_command(line, opts)? == *cmd {
        Ok(bytes)
    } else {
        Err(cmd.verb().map_or(CommandError::Empty, CommandError::Syntax))
    }
}

fn is_rcpt_or_data(e: &Expect) -> bool {
    matches!(e, Expect::Rcpt(_) | Expect::Data)
}

fn is_envelope(e: &Expect) -> bool {
    matches!(e, Expect::Mail | Expect::Rcpt(_) | Expect::Data)
}

fn is_bdat(e: &Expect) -> bool {
    matches!(e, Expect::Bdat { .. })
}

impl ClientSession {
    /// Starts a transaction: MAIL, one RCPT per recipient and, with PIPELINING,
    /// DATA, all in one group (RFC 2920 §3.1); without it, one at a time.
    /// The body follows with [`body`](Self::body) and [`end_body`](Self::end_body);
    /// the result comes as [`ClientEvent::TransactionComplete`] or
    /// [`ClientEvent::TransactionFailed`].
    ///
    /// Everything is checked before anything is written: the envelope against
    /// the server's capabilities (a UTF-8 address needs SMTPUTF8, RFC 6531 §3.4;
    /// `BODY=8BITMIME` needs 8BITMIME; BINARYMIME needs BINARYMIME and CHUNKING,
    /// RFC 3030 §3; DSN parameters need DSN; REQUIRETLS needs REQUIRETLS; a size
    /// over the SIZE limit is refused, RFC 1870 §4), and every command line
    /// against the command grammar (no CR, LF, NUL or other control character).
    pub fn send_mail(&mut self, now: Instant, envelope: Envelope) -> Result<(), ClientError> {
        self.check_idle()?;
        let caps = self.caps.as_ref().ok_or(ApiMisuse::InvalidState)?;
        if envelope.recipients.is_empty() {
            return Err(ClientError::NoRecipients);
        }
        let needs = |ok: bool, ext| {
            if ok {
                Ok(())
            } else {
                Err(ClientError::NeedsExtension(ext))
            }
        };
        let utf8 = envelope.smtputf8
            || envelope.from.mailbox().is_some_and(|m| !m.is_ascii())
            || envelope.envid.as_ref().is_some_and(|e| !e.is_ascii())
            || envelope.recipients.iter().any(|r| {
                r.path.mailbox().is_some_and(|m| !m.is_ascii())
                    || r.orcpt.as_ref().is_some_and(|o| !o.address.is_ascii())
            });
        needs(!utf8 || caps.smtputf8(), RequiredExtension::SmtpUtf8)?;
        let binary = envelope.body == Some(Body::BinaryMime);
        match envelope.body {
            Some(Body::EightBitMime) => {
                needs(caps.eight_bit_mime(), RequiredExtension::EightBitMime)?;
            }
            Some(Body::BinaryMime) => {
                needs(caps.binary_mime(), RequiredExtension::BinaryMime)?;
                needs(
                    caps.chunking() && self.config.use_chunking,
                    RequiredExtension::Chunking,
                )?;
            }
            Some(Body::SevenBit) | None => {}
        }
        let dsn = envelope.ret.is_some()
            || envelope.envid.is_some()
            || envelope
                .recipients
                .iter()
                .any(|r| r.notify.is_some() || r.orcpt.is_some());
        needs(!dsn || caps.dsn(), RequiredExtension::Dsn)?;
        needs(
            !envelope.requiretls || caps.requiretls(),
            RequiredExtension::RequireTls,
        )?;
        if let (Some(size), Some(max)) = (envelope.size, caps.max_message_size())
            && size > max
        {
            return Err(ClientError::MessageTooLarge { size, max });
        }

        // RFC 6152 §2: BODY only when 8BITMIME is offered (BINARYMIME implies it).
        let body_param = match envelope.body {
            Some(Body::SevenBit) if !caps.eight_bit_mime() => None,
            other => other,
        };
        let params = MailParameters {
            size: envelope.size.filter(|_| caps.supports_size()),
            body: body_param,
            smtputf8: utf8,
            ret: envelope.ret,
            envid: envelope.envid.clone().map(Cow::Owned),
            requiretls: envelope.requiretls,
            ..MailParameters::default()
        };
        let opts = ParseOptions {
            smtputf8: caps.smtputf8(),
            utf8_transaction: utf8,
            path: PathOptions::default(),
            helo: HeloSyntax::Strict,
        };
        // Each line is encoded once and checked on those bytes; the paths are
        // moved into the commands and back out (no copies).
        let mut lines = Vec::with_capacity(envelope.recipients.len() + 1);
        let mail = Command::Mail {
            from: envelope.from,
            params,
        };
        lines.push(encode_checked(&mail, &opts).map_err(ClientError::InvalidCommand)?);
        let mut rcpts = Vec::with_capacity(envelope.recipients.len());
        for r in envelope.recipients {
            let rcpt = Command::Rcpt {
                to: r.path,
                params: RcptParameters {
                    notify: r.notify,
                    orcpt: r.orcpt,
                    other: Vec::new(),
                },
            };
            lines.push(encode_checked(&rcpt, &opts).map_err(ClientError::InvalidCommand)?);
            if let Command::Rcpt { to, .. } = rcpt {
                rcpts.push(Rcpt {
                    path: to,
                    reply: None,
                    final_reply: None,
                });
            }
        }

        // Valid: nothing can fail from here on.
        self.now = now;
        let mode = if binary || (caps.chunking() && self.config.use_chunking) {
            Mode::Bdat {
                normalizer: (!binary).then(LineNormalizer::new),
                chunk: Vec::new(),
            }
        } else {
            Mode::Data(Some(DotStuffer::new()))
        };
        let pipelined_data = matches!(mode, Mode::Data(_)) && self.pipelining;
        let mut lines = lines.into_iter();
        if let Some(mail) = lines.next() {
            self.enqueue(mail, Expect::Mail);
        }
        for (i, rcpt) in lines.enumerate() {
            self.enqueue(rcpt, Expect::Rcpt(i));
        }
        if pipelined_data {
            self.enqueue(DATA_LINE, Expect::Data);
        }
        self.msg = Some(Message {
            rcpts,
            mail_reply: None,
            accepted: 0,
            mode,
            data: if pipelined_data {
                DataState::Sent
            } else {
                DataState::NotSent
            },
            phase: Phase::Envelope,
            staged: BytesMut::new(),
            ended: false,
            wanted_signalled: false,
            bdat_failure: None,
            last_progress: now,
        });
        Ok(())
    }

    /// Hands over the next piece of the current message's body and returns how
    /// many octets were taken (fewer than given when the buffer is full: wait
    /// for [`ClientEvent::BodyWanted`]). The body may come before the server
    /// has accepted the envelope; it is held until then.
    ///
    /// Once the transaction has failed (or a BDAT chunk was refused) the body
    /// is no longer needed: it is taken and discarded.
    pub fn body(&mut self, now: Instant, bytes: &[u8]) -> Result<usize, ClientError> {
        if self.closing {
            return Err(ApiMisuse::Closed.into());
        }
        let capacity = self.config.body_capacity();
        let Some(msg) = self.msg.as_mut() else {
            return Err(ApiMisuse::InvalidState.into());
        };
        if msg.ended {
            return Err(ApiMisuse::InvalidState.into());
        }
        self.now = now;
        if !msg.accepts_body() || msg.bdat_failure.is_some() {
            return Ok(bytes.len());
        }
        let n = bytes.len().min(capacity.saturating_sub(msg.staged.len()));
        if n > 0 {
            msg.staged.extend_from_slice(&bytes[..n]);
            // Taking something re-arms BodyWanted; an empty call does not, so an
            // application that has nothing yet cannot make the session spin.
            msg.wanted_signalled = false;
            msg.last_progress = now;
        }
        Ok(n)
    }

    /// The body is complete. The content's end (`.` or `BDAT … LAST`) goes out
    /// once everything before it has.
    pub fn end_body(&mut self, now: Instant) -> Result<(), ClientError> {
        if self.closing {
            return Err(ApiMisuse::Closed.into());
        }
        let Some(msg) = self.msg.as_mut() else {
            return Err(ApiMisuse::InvalidState.into());
        };
        if msg.ended {
            return Err(ApiMisuse::InvalidState.into());
        }
        self.now = now;
        msg.ended = true;
        msg.last_progress = now;
        if msg.phase == Phase::Abandoned {
            self.msg = None;
        }
        Ok(())
    }

    // ----- replies ------------------------------------------------------------

    /// The reply to MAIL (RFC 5321 §4.1.1.2). If refused, RCPT and DATA not yet
    /// written are dropped; those already written get their replies read.
    pub(super) fn on_mail(&mut self, reply: Reply) {
        let Some(msg) = self.msg.as_mut() else {
            return;
        };
        let ok = reply.code().is_positive_completion();
        msg.mail_reply = Some(reply);
        if !ok {
            self.queue.retain(|q| !is_rcpt_or_data(&q.expect));
        }
        self.envelope_progress();
    }

    /// The reply to one RCPT (RFC 5321 §4.1.1.3).
    pub(super) fn on_rcpt(&mut self, index: usize, reply: Reply) {
        let Some(msg) = self.msg.as_mut() else {
            return;
        };
        if reply.code().is_positive_completion() {
            msg.accepted += 1;
        }
        if let Some(r) = msg.rcpts.get_mut(index) {
            r.reply = Some(reply);
        }
        self.envelope_progress();
    }

    /// The reply to DATA (RFC 5321 §4.1.1.4). A 354 with nobody to deliver to
    /// is ended with a lone `.` (RFC 2920 §3.1).
    pub(super) fn on_data(&mut self, reply: Reply) {
        let now = self.now;
        let Some(msg) = self.msg.as_mut() else {
            if reply.code().get() == 354 {
                self.abort_data();
            }
            return;
        };
        if reply.code().get() == 354 {
            if msg.mail_ok() && msg.accepted > 0 && msg.phase == Phase::Envelope {
                msg.data = DataState::Go;
                msg.phase = Phase::Body;
                msg.last_progress = now;
            } else {
                self.abort_data();
            }
        } else {
            msg.data = DataState::Refused(reply);
        }
        self.envelope_progress();
    }

    fn abort_data(&mut self) {
        self.out.extend_from_slice(b".\r\n");
        self.written(Expect::DataEnd {
            remaining: 1,
            abort: true,
        });
    }

    /// Once every envelope reply is in: fail, send DATA, or start the content.
    fn envelope_progress(&mut self) {
        if self.pending(is_envelope) {
            return;
        }
        let now = self.now;
        let Some(msg) = self.msg.as_mut() else {
            return;
        };
        if msg.phase != Phase::Envelope {
            return;
        }
        if !msg.mail_ok() {
            let reply = msg.mail_reply.clone();
            // Only a (wrongly) accepted DATA leaves a transaction behind.
            let rset = self.pending(|e| matches!(e, Expect::DataEnd { abort: true, .. }));
            if let Some(reply) = reply {
                self.fail(TransactionFailure::MailRefused(reply), rset);
            }
            return;
        }
        if msg.accepted == 0 {
            let results = msg.results();
            self.fail(TransactionFailure::NoRecipientAccepted(results), true);
            return;
        }
        match (&msg.mode, &msg.data) {
            (Mode::Data(_), DataState::NotSent) => {
                msg.data = DataState::Sent;
                self.enqueue(DATA_LINE, Expect::Data);
            }
            (Mode::Data(_), DataState::Refused(reply)) => {
                let failure = TransactionFailure::DataRefused {
                    recipients: msg.results(),
                    reply: reply.clone(),
                };
                self.fail(failure, true);
            }
            (Mode::Data(_), DataState::Sent | DataState::Go) => {}
            (Mode::Bdat { .. }, _) => {
                msg.phase = Phase::Body;
                msg.last_progress = now;
            }
        }
    }

    /// The reply (one of the replies, in LMTP) to the end of the content.
    pub(super) fn on_final(&mut self, reply: Reply) {
        let lmtp = self.config.protocol == Protocol::Lmtp;
        let Some(msg) = self.msg.as_mut() else {
            return;
        };
        if lmtp {
            // RFC 2033 §4.2: one reply per accepted recipient, in RCPT order.
            if let Some(r) = msg.accepted_rcpts().find(|r| r.final_reply.is_none()) {
                r.final_reply = Some(reply);
            }
            if msg.accepted_rcpts().all(|r| r.final_reply.is_some()) {
                self.complete(None);
            }
        } else {
            for r in msg.accepted_rcpts() {
                r.final_reply = Some(reply.clone());
            }
            self.complete(Some(reply));
        }
    }

    /// The reply to a BDAT chunk (RFC 3030 §2). A refused chunk fails the
    /// message (RFC 3030 §4.2): no more chunks, the replies of those already
    /// written are read, then RSET.
    pub(super) fn on_bdat(&mut self, last: bool, reply: Reply) {
        let Some(msg) = self.msg.as_mut() else {
            return;
        };
        if msg.bdat_failure.is_none() {
            if last {
                self.on_final(reply);
                return;
            }
            if reply.code().is_positive_completion() {
                return;
            }
            msg.bdat_failure = Some(reply);
            msg.phase = Phase::Final;
            msg.staged.clear();
            self.queue.retain(|q| !is_bdat(&q.expect));
        }
        if self.pending(is_bdat) {
            return;
        }
        let Some(msg) = self.msg.as_mut() else {
            return;
        };
        let Some(failure) = msg.bdat_failure.clone() else {
            return;
        };
        for r in msg.accepted_rcpts() {
            r.final_reply = Some(failure.clone());
        }
        self.complete(Some(failure));
        self.enqueue(Command::Rset.to_bytes(), Expect::Rset { internal: true });
    }

    // ----- outcomes -------------------------------------------------------------

    fn complete(&mut self, data_reply: Option<Reply>) {
        let Some(msg) = self.msg.as_mut() else {
            return;
        };
        // A message whose content ended is dropped just below (`abandon`):
        // its results move out instead of being copied.
        let recipients = if msg.ended {
            msg.take_results()
        } else {
            msg.results()
        };
        let result = TransactionResult {
            recipients,
            data_reply,
        };
        self.events
            .push_back(ClientEvent::TransactionComplete(result));
        self.abandon();
    }

    fn fail(&mut self, failure: TransactionFailure, rset: bool) {
        self.events
            .push_back(ClientEvent::TransactionFailed(failure));
        if rset {
            self.enqueue(Command::Rset.to_bytes(), Expect::Rset { internal: true });
        }
        self.abandon();
    }

    /// The transaction is over; the application may still be sending body.
    fn abandon(&mut self) {
        if let Some(msg) = self.msg.as_mut() {
            if msg.ended {
                self.msg = None;
            } else {
                msg.phase = Phase::Abandoned;
                msg.staged = BytesMut::new();
            }
        }
    }

    // ----- content ----------------------------------------------------------------

    /// Turns buffered body into output while there is room, ends the content
    /// once the body is complete, and asks for more body when there is room.
    pub(super) fn pump_body(&mut self) {
        let Some(mut msg) = self.msg.take() else {
            return;
        };
        if msg.phase == Phase::Body {
            match &mut msg.mode {
                Mode::Data(stuffer) => self.pump_data(stuffer, &mut msg.staged),
                Mode::Bdat { .. } => self.pump_bdat(&mut msg),
            }
            if msg.ended && msg.staged.is_empty() && msg.phase == Phase::Body {
                if let Mode::Data(stuffer) = &mut msg.mode {
                    let replies = match self.config.protocol {
                        Protocol::Smtp => 1,
                        Protocol::Lmtp => msg.accepted,
                    };
                    let mut out = Vec::new();
                    if let Some(s) = stuffer.take() {
                        s.finish(&mut out);
                    }
                    self.out.extend_from_slice(&out);
                    self.written(Expect::DataEnd {
                        remaining: replies.max(1),
                        abort: false,
                    });
                }
                msg.phase = Phase::Final;
            }
        }
        let capacity = self.config.body_capacity();
        if msg.accepts_body() && !msg.wanted_signalled && msg.staged.len() <= capacity / 2 {
            msg.wanted_signalled = true;
            self.events.push_back(ClientEvent::BodyWanted);
        }
        self.msg = Some(msg);
    }

    fn pump_data(&mut self, stuffer: &mut Option<DotStuffer>, staged: &mut BytesMut) {
        let Some(stuffer) = stuffer.as_mut() else {
            return;
        };
        if staged.is_empty() {
            return;
        }
        // Sized for a step and some stuffing; the staged body is read in place
        // (splitting it off would share, and allocate).
        let mut encoded = Vec::with_capacity(staged.len().min(BODY_STEP) + 64);
        while self.out.len() < OUTPUT_HIGH_WATER && !staged.is_empty() {
            let n = staged.len().min(BODY_STEP);
            encoded.clear();
            stuffer.encode(&staged[..n], &mut encoded);
            staged.advance(n);
            self.out.extend_from_slice(&encoded);
        }
    }

    /// BDAT chunks (RFC 3030 §2) of `bdat_chunk_size` octets; the last carries
    /// LAST. In LMTP a separate `BDAT 0 LAST` follows the content, and chunks
    /// wait for each other's replies (see the module documentation).
    fn pump_bdat(&mut self, msg: &mut Message) {
        let lmtp = self.config.protocol == Protocol::Lmtp;
        let size = self.config.bdat_chunk_size();
        let Mode::Bdat { normalizer, chunk } = &mut msg.mode else {
            return;
        };
        loop {
            self.flush();
            if self.out.len() >= OUTPUT_HIGH_WATER || self.queue.iter().any(|q| is_bdat(&q.expect))
            {
                return;
            }
            while chunk.len() < size && !msg.staged.is_empty() {
                let take = msg.staged.len().min(size - chunk.len()).min(BODY_STEP);
                let piece = msg.staged.split_to(take);
                match normalizer {
                    Some(n) => n.encode(&piece, chunk),
                    None => chunk.extend_from_slice(&piece),
                }
            }
            let done = msg.ended && msg.staged.is_empty();
            if done {
                if let Some(n) = normalizer.take() {
                    n.finish(chunk);
                }
                let content = core::mem::take(chunk);
                if lmtp {
                    self.send_chunk(content, false, 1, true);
                    self.send_chunk(Vec::new(), true, msg.accepted.max(1), true);
                } else {
                    self.send_chunk(content, true, 1, false);
                }
                msg.phase = Phase::Final;
                self.flush();
                return;
            }
            if chunk.len() < size {
                return;
            }
            let content = core::mem::take(chunk);
            self.send_chunk(content, false, 1, lmtp);
        }
    }

    fn send_chunk(&mut self, content: Vec<u8>, last: bool, replies: usize, sync: bool) {
        let size = u64::try_from(content.len()).unwrap_or(u64::MAX);
        let mut bytes = Command::Bdat { size, last }.to_bytes();
        bytes.extend_from_slice(&content);
        self.enqueue(
            bytes,
            Expect::Bdat {
                last,
                remaining: replies,
                sync,
            },
        );
    }
}
