//! Events a server session hands to the application, and the application's decisions.

use alloc::vec::Vec;
use bytes::Bytes;

use crate::reply::Reply;
use crate::wire::command::HeloName;
use crate::wire::params::{MailParameters, RcptParameters};
use crate::wire::path::{ForwardPath, ReversePath};
use crate::wire::sasl::{Credentials, Mechanism};

/// Which greeting command the client used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelloKind {
    /// HELO: plain SMTP, no extensions.
    Helo,
    /// EHLO: extended SMTP.
    Ehlo,
    /// LHLO: LMTP.
    Lhlo,
}

/// Why a message is suspicious, found while reading it to its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MessageFindings {
    /// Octets of content (after dot-unstuffing).
    pub size: u64,
    /// A bare CR or LF was seen (normalised under `BareLineEnding::Normalize`).
    pub bare_line_ending: bool,
    /// An octet above 127 was seen.
    pub eight_bit: bool,
    /// A NUL octet was seen (RFC 5321 §4.5.2 does not forbid it, but many
    /// downstream systems mishandle it: the application decides).
    pub nul: bool,
}

/// Something the application is told, or asked to decide.
///
/// Events marked *decision* pause the session until
/// [`ServerSession::respond`](super::ServerSession::respond) (or
/// [`respond_to`](super::ServerSession::respond_to)) is called; input that
/// arrives meanwhile waits, in order. Every other event is information the
/// application must not answer: check [`ServerEvent::needs_decision`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerEvent {
    /// *Decision*: a client connected. Accept for `220`, or reject with `554`
    /// (the session then answers `503` to everything but QUIT, RFC 5321 §3.1) or `421`.
    Connected,
    /// *Decision*: HELO, EHLO or LHLO. Any transaction in progress was reset.
    Hello {
        /// The command.
        kind: HelloKind,
        /// The name the client gave.
        name: HeloName<'static>,
    },
    /// *Decision*: credentials to check. Accept for `235 2.7.0`, reject with
    /// `535 5.7.8` (bad credentials) or `454 4.7.0` (temporary).
    Auth {
        /// The mechanism used.
        mechanism: Mechanism<'static>,
        /// What the client sent.
        credentials: Credentials,
    },
    /// *Decision*: MAIL FROM.
    MailFrom {
        /// The reverse-path.
        from: ReversePath<'static>,
        /// Its parameters (already checked against what was advertised).
        params: MailParameters<'static>,
    },
    /// *Decision*: RCPT TO.
    RcptTo {
        /// The forward-path.
        to: ForwardPath<'static>,
        /// Its parameters.
        params: RcptParameters<'static>,
    },
    /// *Decision*: the client wants to send the message (DATA, or the first BDAT).
    /// Accept for `354` (DATA) or to start reading chunks.
    DataStart,
    /// A piece of the message content, in order (dot-unstuffed). No decision.
    ///
    /// A piece is a slice of the session's input buffer (no copy), so it is
    /// never longer than [`ServerConfig::max_input_buffer`](super::ServerConfig::max_input_buffer)
    /// (raised to the line limits); a message arrives in as many pieces as it
    /// takes. Holding on to pieces keeps their part of the input buffer alive.
    MessageData(Bytes),
    /// *Decision*: the message is complete. Accept for `250 2.0.0`; in LMTP
    /// answer with [`Decision::PerRecipient`] (or Accept/Reject for all).
    MessageEnd(MessageFindings),
    /// The transaction was abandoned before a final reply to its content (RSET,
    /// HELO/EHLO/LHLO, STARTTLS, QUIT, a timeout, the end of the connection):
    /// forget the content received so far. No decision.
    TransactionReset,
    /// The final reply to the transaction's content went out: the message was
    /// accepted (after [`ServerEvent::MessageEnd`]) or refused (by the
    /// application, or by the session: too large, bare line endings, a refused
    /// BDAT chunk). The session's [`envelope`](super::ServerSession::envelope)
    /// is empty again. Content is committed only if the application accepted
    /// `MessageEnd`. No decision.
    TransactionFinished,
    /// The TLS handshake finished; everything known before it was forgotten. No decision.
    TlsEstablished,
    /// The **client** broke a rule and the session answered it, on its own,
    /// with this error reply: a syntax error, a command out of sequence, a
    /// limit, improper pipelining. Refusals that only follow from the
    /// application's own decisions are reported too (and not counted against
    /// the error budget). No decision.
    ClientFault(Reply),
}

/// Which decision the session waits for: one per kind of event that needs
/// one. Pair a decision with its event through
/// [`ServerSession::respond_to`](super::ServerSession::respond_to), or ask
/// [`ServerSession::pending_decision`](super::ServerSession::pending_decision).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DecisionPoint {
    /// [`ServerEvent::Connected`].
    Connected,
    /// [`ServerEvent::Hello`].
    Hello,
    /// [`ServerEvent::Auth`].
    Auth,
    /// [`ServerEvent::MailFrom`].
    MailFrom,
    /// [`ServerEvent::RcptTo`].
    RcptTo,
    /// [`ServerEvent::DataStart`].
    DataStart,
    /// [`ServerEvent::MessageEnd`].
    MessageEnd,
}

impl ServerEvent {
    /// Whether the session is paused until the application calls
    /// [`ServerSession::respond`](super::ServerSession::respond) for this event.
    pub fn needs_decision(&self) -> bool {
        self.decision_point().is_some()
    }

    /// The decision this event asks for, if any.
    pub fn decision_point(&self) -> Option<DecisionPoint> {
        Some(match self {
            ServerEvent::Connected => DecisionPoint::Connected,
            ServerEvent::Hello { .. } => DecisionPoint::Hello,
            ServerEvent::Auth { .. } => DecisionPoint::Auth,
            ServerEvent::MailFrom { .. } => DecisionPoint::MailFrom,
            ServerEvent::RcptTo { .. } => DecisionPoint::RcptTo,
            ServerEvent::DataStart => DecisionPoint::DataStart,
            ServerEvent::MessageEnd(_) => DecisionPoint::MessageEnd,
            ServerEvent::MessageData(_)
            | ServerEvent::TransactionReset
            | ServerEvent::TransactionFinished
            | ServerEvent::TlsEstablished
            | ServerEvent::ClientFault(_) => return None,
        })
    }
}

/// The application's answer to an event that needs a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decision {
    /// Accept with the standard reply.
    Accept,
    /// Accept with this reply (it must be positive: 2xx, or 354 for DATA).
    AcceptWith(Reply),
    /// Refuse with this reply (it must be 4xx or 5xx). `421` also closes the connection.
    Reject(Reply),
    /// LMTP only, for [`ServerEvent::MessageEnd`]: one reply per accepted
    /// recipient, in RCPT order (RFC 2033 §4.2).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use smtp_proto::Protocol;
    /// use smtp_proto::output::Output;
    /// use smtp_proto::reply::{EnhancedCode, Reply, ReplyCode};
    /// use smtp_proto::server::{Decision, ServerConfig, ServerEvent, ServerSession};
    /// use smtp_proto::time::Instant;
    ///
    /// let mut config = ServerConfig::new("store.example");
    /// config.protocol = Protocol::Lmtp;
    /// let now = Instant::ZERO;
    /// let mut session = ServerSession::new(Arc::new(config), now);
    /// let mut input: Vec<&[u8]> = vec![
    ///     b"LHLO mx.example\r\nMAIL FROM:<a@x.example>\r\nRCPT TO:<full@store.example>\r\nRCPT TO:<ok@store.example>\r\nDATA\r\n",
    ///     b"hi\r\n.\r\n",
    /// ];
    /// input.reverse();
    /// let mut wire = Vec::new();
    /// loop {
    ///     match session.poll_output() {
    ///         Output::Transmit(bytes) => wire.extend_from_slice(&bytes),
    ///         Output::Event(ServerEvent::MessageEnd(_)) => {
    ///             // The mailbox of the first recipient is full, the second gets it.
    ///             let full = Reply::new(ReplyCode::new(452).unwrap(), EnhancedCode::new(4, 2, 2), "mailbox full");
    ///             let ok = Reply::new(ReplyCode::new(250).unwrap(), EnhancedCode::new(2, 0, 0), "delivered");
    ///             session.respond(now, Decision::PerRecipient(vec![full, ok])).unwrap();
    ///         }
    ///         Output::Event(e) if e.needs_decision() => session.respond(now, Decision::Accept).unwrap(),
    ///         Output::Event(_) => {}
    ///         Output::Wait { .. } => match input.pop() {
    ///             Some(bytes) => { session.handle_bytes(now, bytes).unwrap(); }
    ///             None => break,
    ///         },
    ///         other => panic!("{other:?}"),
    ///     }
    /// }
    /// let wire = String::from_utf8(wire).unwrap();
    /// assert!(wire.ends_with("452 4.2.2 mailbox full\r\n250 2.0.0 delivered\r\n"));
    /// ```
    PerRecipient(Vec<Reply>),
}
