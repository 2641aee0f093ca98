//! A `ClientSession` and a `ServerSession` talking in memory (ARCHITECTURE.md R7), for
//! the pair proptest (`tests/pair.rs`) and the `pair` fuzz target: bytes move both
//! ways in pieces; the server's application refuses senders, recipients, DATA/BDAT
//! starts and messages as the [`Scenario`] says; PIPELINING, CHUNKING, BINARYMIME
//! and LMTP vary, and so do the client's chunk size and body buffer.

use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use crate::Protocol;
use crate::client::{ClientConfig, ClientEvent, ClientSession, Envelope, TransactionFailure};
use crate::output::Output;
use crate::reply::{EnhancedCode, Reply, ReplyCode};
use crate::server::{Decision, ServerConfig, ServerEvent, ServerSession};
use crate::time::Instant;
use crate::wire::data::DotStuffer;
use crate::wire::params::Body;

/// What the server's application answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Accept.
    Accept,
    /// Refuse with a 4xx reply.
    Temporary,
    /// Refuse with a 5xx reply.
    Permanent,
}

impl Verdict {
    fn decision(self) -> Decision {
        match self {
            Verdict::Accept => Decision::Accept,
            Verdict::Temporary => Decision::Reject(reply(450, (4, 2, 1), "try later")),
            Verdict::Permanent => Decision::Reject(reply(550, (5, 1, 1), "no")),
        }
    }

    fn reply(self) -> Reply {
        match self {
            Verdict::Accept => reply(250, (2, 0, 0), "delivered"),
            Verdict::Temporary => reply(452, (4, 2, 2), "over quota"),
            Verdict::Permanent => reply(554, (5, 6, 0), "refused"),
        }
    }
}

fn reply(code: u16, e: (u8, u16, u16), text: &str) -> Reply {
    Reply::new(
        ReplyCode::new(code).unwrap(),
        EnhancedCode::new(e.0, e.1, e.2),
        text,
    )
}

/// One message of a [`Scenario`] and what the server's application answers for it.
#[derive(Debug, Clone)]
pub struct Message {
    /// The answer to MAIL.
    pub mail: Verdict,
    /// The answer to each RCPT (one recipient each).
    pub rcpts: Vec<Verdict>,
    /// The answer to DATA or the first BDAT.
    pub data: Verdict,
    /// SMTP: the first is the message's verdict; LMTP: one per accepted recipient
    /// (cycled). Must not be empty.
    pub finals: Vec<Verdict>,
    /// The body the client's application hands over.
    pub body: Vec<u8>,
    /// Send it as BINARYMIME when the server offers it and BDAT is used.
    pub binary: bool,
    /// Declare SIZE.
    pub size_hint: bool,
    /// The sizes of the pieces the body is handed over in (cycled). Must not be empty.
    pub pieces: Vec<usize>,
}

/// A connection: what the server offers, how the client behaves, how bytes are
/// split on the way, and the messages sent.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// LMTP instead of SMTP.
    pub lmtp: bool,
    /// The server offers PIPELINING.
    pub pipelining: bool,
    /// The server offers CHUNKING.
    pub chunking: bool,
    /// The server offers BINARYMIME.
    pub binarymime: bool,
    /// The client uses PIPELINING when offered.
    pub client_pipelining: bool,
    /// The client uses CHUNKING when offered.
    pub client_chunking: bool,
    /// The client's BDAT chunk size.
    pub chunk_size: usize,
    /// The client's body buffer.
    pub body_buffer: usize,
    /// Piece sizes for client-to-server bytes (cycled). Must not be empty.
    pub c2s: Vec<usize>,
    /// Piece sizes for server-to-client bytes (cycled). Must not be empty.
    pub s2c: Vec<usize>,
    /// The messages, sent one after another over the connection.
    pub messages: Vec<Message>,
}

/// The content the server must receive: line endings normalised to CRLF and
/// a final CRLF added, as a DATA client sends it (before dot-stuffing).
pub fn normalised(body: &[u8]) -> Vec<u8> {
    let mut wire = Vec::new();
    let mut stuffer = DotStuffer::new();
    stuffer.encode(body, &mut wire);
    stuffer.finish(&mut wire);
    // Undo the dot-stuffing and drop the terminator: what the server delivers.
    wire.truncate(wire.len() - 3);
    let mut out = Vec::with_capacity(wire.len());
    let mut line_start = true;
    for (i, &b) in wire.iter().enumerate() {
        if !(line_start && b == b'.') {
            out.push(b);
        }
        line_start = b == b'\n' && i > 0 && wire[i - 1] == b'\r';
    }
    out
}

/// What the client should report for one message.
#[derive(Debug, PartialEq, Eq)]
enum Expected {
    MailRefused,
    NoRecipient,
    DataRefused,
    /// Per recipient: delivered or not.
    Complete(Vec<bool>),
    /// Not a transaction outcome.
    Other,
}

struct Pair<'a> {
    sc: &'a Scenario,
    now: Instant,
    client: ClientSession,
    server: ServerSession,
    c2s: VecDeque<u8>,
    s2c: VecDeque<u8>,
    c2s_i: usize,
    s2c_i: usize,
    /// Client side: the message being sent and how far its body got.
    current: Option<usize>,
    body_pos: usize,
    piece_i: usize,
    ended: bool,
    next: usize,
    outcomes: Vec<Option<ClientEvent>>,
    client_closed: bool,
    server_closed: bool,
    /// Server side.
    srv_msg: Option<usize>,
    srv_content: Vec<u8>,
    srv_accepted: usize,
    received: Vec<Option<Vec<u8>>>,
    uses_bdat: bool,
}

fn index(s: &str, prefix: char) -> Option<(usize, usize)> {
    let local = s.strip_prefix('<')?.split('@').next()?;
    let rest = local.strip_prefix(prefix)?;
    let (m, i) = rest.split_once('_')?;
    Some((m.parse().ok()?, i.parse().ok()?))
}

impl Pair<'_> {
    fn binary(&self, m: &Message) -> bool {
        m.binary && self.uses_bdat && self.sc.binarymime
    }

    fn start_next(&mut self) -> Result<(), String> {
        if self.next == self.sc.messages.len() {
            self.current = None;
            return self.client.quit(self.now).map_err(|e| format!("quit: {e}"));
        }
        let m = self.next;
        self.next += 1;
        let msg = &self.sc.messages[m];
        let from = format!("<s{m}_0@client.test>");
        let to: Vec<String> = (0..msg.rcpts.len())
            .map(|i| format!("<r{m}_{i}@mx.test>"))
            .collect();
        let mut envelope =
            Envelope::parse(&from, to.iter().map(String::as_str)).map_err(|e| e.to_string())?;
        envelope.body = if self.binary(msg) {
            Some(Body::BinaryMime)
        } else if msg.body.is_ascii() {
            None
        } else {
            Some(Body::EightBitMime)
        };
        if msg.size_hint {
            envelope.size = Some(msg.body.len() as u64 + 2);
        }
        self.client
            .send_mail(self.now, envelope)
            .map_err(|e| format!("send_mail: {e:?}"))?;
        self.current = Some(m);
        self.body_pos = 0;
        self.piece_i = 0;
        self.ended = false;
        self.feed_body()
    }

    fn feed_body(&mut self) -> Result<(), String> {
        let Some(m) = self.current else {
            return Ok(());
        };
        if self.ended {
            return Ok(());
        }
        let msg = &self.sc.messages[m];
        while self.body_pos < msg.body.len() {
            let piece = msg.pieces[self.piece_i % msg.pieces.len()];
            self.piece_i += 1;
            let end = (self.body_pos + piece).min(msg.body.len());
            let wanted = end - self.body_pos;
            let n = self
                .client
                .body(self.now, &msg.body[self.body_pos..end])
                .map_err(|e| format!("body: {e:?}"))?;
            self.body_pos += n;
            if n < wanted {
                // The buffer is full: wait for BodyWanted.
                return Ok(());
            }
        }
        self.ended = true;
        self.client
            .end_body(self.now)
            .map_err(|e| format!("end_body: {e:?}"))
    }

    fn client_event(&mut self, event: ClientEvent) -> Result<(), String> {
        match event {
            ClientEvent::Ready(caps) => {
                self.uses_bdat = caps.chunking() && self.sc.client_chunking;
                self.start_next()
            }
            ClientEvent::BodyWanted => self.feed_body(),
            e @ (ClientEvent::TransactionComplete(_) | ClientEvent::TransactionFailed(_)) => {
                let m = self.current.ok_or("result without a message")?;
                self.outcomes[m] = Some(e);
                self.start_next()
            }
            other => Err(format!("client event {other:?}")),
        }
    }

    fn server_event(&mut self, event: ServerEvent) -> Result<(), String> {
        let now = self.now;
        let decision = match event {
            ServerEvent::Connected | ServerEvent::Hello { .. } => Decision::Accept,
            ServerEvent::MailFrom { from, .. } => {
                let (m, _) = index(&from.to_string(), 's').ok_or("bad sender")?;
                self.srv_msg = Some(m);
                self.srv_accepted = 0;
                self.sc.messages[m].mail.decision()
            }
            ServerEvent::RcptTo { to, .. } => {
                let (m, i) = index(&to.to_string(), 'r').ok_or("bad recipient")?;
                let v = self.sc.messages[m].rcpts[i];
                if v == Verdict::Accept {
                    self.srv_accepted += 1;
                }
                v.decision()
            }
            ServerEvent::DataStart => {
                self.srv_content.clear();
                let m = self.srv_msg.ok_or("DATA without MAIL")?;
                self.sc.messages[m].data.decision()
            }
            ServerEvent::MessageData(bytes) => {
                self.srv_content.extend_from_slice(&bytes);
                return Ok(());
            }
            ServerEvent::MessageEnd(_) => {
                let m = self.srv_msg.ok_or("end without MAIL")?;
                self.received[m] = Some(std::mem::take(&mut self.srv_content));
                let finals = &self.sc.messages[m].finals;
                if self.sc.lmtp {
                    Decision::PerRecipient(
                        (0..self.srv_accepted)
                            .map(|i| finals[i % finals.len()].reply())
                            .collect(),
                    )
                } else {
                    match finals[0] {
                        Verdict::Accept => Decision::Accept,
                        v => Decision::Reject(v.reply()),
                    }
                }
            }
            ServerEvent::TransactionReset | ServerEvent::TransactionFinished => {
                self.srv_content.clear();
                return Ok(());
            }
            ServerEvent::ClientFault(_) | ServerEvent::TlsEstablished => return Ok(()),
            other => return Err(format!("server event {other:?}")),
        };
        self.server
            .respond(now, decision)
            .map_err(|e| format!("respond: {e}"))
    }

    /// Drains both sessions; true if anything happened.
    fn drain(&mut self) -> Result<bool, String> {
        let mut progress = false;
        while !self.client_closed {
            match self.client.poll_output() {
                Output::Transmit(b) => self.c2s.extend(b.iter().copied()),
                Output::Event(e) => self.client_event(e)?,
                Output::Close => self.client_closed = true,
                Output::Wait { .. } => break,
                other => return Err(format!("client output {other:?}")),
            }
            progress = true;
        }
        while !self.server_closed {
            match self.server.poll_output() {
                Output::Transmit(b) => self.s2c.extend(b.iter().copied()),
                Output::Event(e) => self.server_event(e)?,
                Output::Close => self.server_closed = true,
                Output::Wait { .. } => break,
                other => return Err(format!("server output {other:?}")),
            }
            progress = true;
        }
        Ok(progress)
    }

    fn shuttle(&mut self) -> bool {
        let mut moved = false;
        if !self.c2s.is_empty() {
            let n = self.sc.c2s[self.c2s_i % self.sc.c2s.len()].min(self.c2s.len());
            self.c2s_i += 1;
            let piece: Vec<u8> = self.c2s.iter().take(n).copied().collect();
            // The session takes what fits; the rest waits for the next round.
            let taken = match self.server.handle_bytes(self.now, &piece) {
                Ok(taken) => taken,
                Err(_) => n,
            };
            self.c2s.drain(..taken);
            moved |= taken > 0;
        }
        if !self.s2c.is_empty() {
            let n = self.sc.s2c[self.s2c_i % self.sc.s2c.len()].min(self.s2c.len());
            self.s2c_i += 1;
            let piece: Vec<u8> = self.s2c.iter().take(n).copied().collect();
            let taken = match self.client.handle_bytes(self.now, &piece) {
                Ok(taken) => taken,
                Err(_) => n,
            };
            self.s2c.drain(..taken);
            moved |= taken > 0;
        }
        moved
    }
}

fn expected(sc: &Scenario, m: &Message, uses_bdat: bool) -> Expected {
    if m.mail != Verdict::Accept {
        return Expected::MailRefused;
    }
    let accepted = m.rcpts.iter().filter(|&&v| v == Verdict::Accept).count();
    if accepted == 0 {
        return Expected::NoRecipient;
    }
    if m.data != Verdict::Accept {
        if !uses_bdat {
            return Expected::DataRefused;
        }
        return Expected::Complete(vec![false; m.rcpts.len()]);
    }
    let mut k = 0;
    Expected::Complete(
        m.rcpts
            .iter()
            .map(|&v| {
                if v != Verdict::Accept {
                    return false;
                }
                let f = if sc.lmtp {
                    m.finals[k % m.finals.len()]
                } else {
                    m.finals[0]
                };
                k += 1;
                f == Verdict::Accept
            })
            .collect(),
    )
}

fn observed(event: &ClientEvent) -> Expected {
    match event {
        ClientEvent::TransactionFailed(TransactionFailure::MailRefused(_)) => Expected::MailRefused,
        ClientEvent::TransactionFailed(TransactionFailure::NoRecipientAccepted(_)) => {
            Expected::NoRecipient
        }
        ClientEvent::TransactionFailed(TransactionFailure::DataRefused { .. }) => {
            Expected::DataRefused
        }
        ClientEvent::TransactionComplete(r) => {
            Expected::Complete(r.recipients.iter().map(|r| r.is_delivered()).collect())
        }
        _ => Expected::Other,
    }
}

/// Plays `sc`: a `ClientSession` and a `ServerSession` exchange bytes in the
/// scenario's pieces until both close. Checks that the client's per-recipient
/// results match the server application's verdicts and that the content the
/// server received is byte for byte the body with line endings normalised (or
/// the body itself for BINARYMIME). Returns what went wrong, if anything.
pub fn run_pair(sc: &Scenario) -> Result<(), String> {
    if sc.c2s.is_empty()
        || sc.s2c.is_empty()
        || sc
            .messages
            .iter()
            .any(|m| m.finals.is_empty() || m.pieces.is_empty())
    {
        return Err("a piece-size or verdict list is empty".to_string());
    }
    let mut server_config = ServerConfig::new("mx.test");
    server_config.protocol = if sc.lmtp {
        Protocol::Lmtp
    } else {
        Protocol::Smtp
    };
    server_config.extensions.pipelining = sc.pipelining;
    server_config.extensions.chunking = sc.chunking;
    server_config.extensions.binary_mime = sc.binarymime;
    server_config.max_errors = 1_000_000;
    let mut client_config = ClientConfig::new("client.test").unwrap();
    client_config.protocol = server_config.protocol;
    client_config.use_pipelining = sc.client_pipelining;
    client_config.use_chunking = sc.client_chunking;
    client_config.bdat_chunk_size = sc.chunk_size;
    client_config.max_body_buffer = sc.body_buffer;
    let now = Instant::ZERO;
    let mut pair = Pair {
        sc,
        now,
        client: ClientSession::new(Arc::new(client_config), now),
        server: ServerSession::new(Arc::new(server_config), now),
        c2s: VecDeque::new(),
        s2c: VecDeque::new(),
        c2s_i: 0,
        s2c_i: 0,
        current: None,
        body_pos: 0,
        piece_i: 0,
        ended: false,
        next: 0,
        outcomes: vec![None; sc.messages.len()],
        client_closed: false,
        server_closed: false,
        srv_msg: None,
        srv_content: Vec::new(),
        srv_accepted: 0,
        received: vec![None; sc.messages.len()],
        uses_bdat: false,
    };
    let mut idle = 0;
    while !(pair.client_closed && pair.server_closed) {
        let progress = pair.drain()? | pair.shuttle();
        idle = if progress { 0 } else { idle + 1 };
        if idle > 2 {
            return Err(format!(
                "stalled after {} of {} messages (client closed: {}, server closed: {})",
                pair.next,
                sc.messages.len(),
                pair.client_closed,
                pair.server_closed
            ));
        }
    }
    for (m, msg) in sc.messages.iter().enumerate() {
        let outcome = pair.outcomes[m]
            .as_ref()
            .ok_or_else(|| format!("message {m}: no outcome"))?;
        let want = expected(sc, msg, pair.uses_bdat);
        let got = observed(outcome);
        if want != got {
            return Err(format!(
                "message {m}: expected {want:?}, got {got:?} ({outcome:?})"
            ));
        }
        let content_sent = msg.mail == Verdict::Accept
            && msg.rcpts.contains(&Verdict::Accept)
            && msg.data == Verdict::Accept;
        let body = if pair.binary(msg) {
            msg.body.clone()
        } else {
            normalised(&msg.body)
        };
        match (&pair.received[m], content_sent) {
            (Some(got), true) if *got == body => {}
            (None, false) => {}
            (got, _) => {
                return Err(format!(
                    "message {m}: server content {:?}, expected {:?} (sent: {content_sent})",
                    got.as_deref().map(String::from_utf8_lossy),
                    String::from_utf8_lossy(&body)
                ));
            }
        }
    }
    Ok(())
}
