//! What a client session tells the application, what the application asks of
//! it, and the errors of both.

use alloc::string::String;
use alloc::vec::Vec;

use crate::ext::Capabilities;
use crate::output::ApiMisuse;
use crate::reply::{Reply, ReplyError};
use crate::wire::command::{CommandError, Verb};
use crate::wire::params::{Body, Notify, OriginalRecipient, Ret};
use crate::wire::path::{ForwardPath, PathError, ReversePath};
use crate::wire::sasl::{Mechanism, SaslError};

/// Something the client session tells the application. No event needs an
/// answer; the application acts on them when it likes (sends the next message,
/// feeds the body, quits).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// The connection is set up: greeting, EHLO (or HELO, or LHLO), STARTTLS
    /// and EHLO again, and AUTH, as configured. These are the capabilities in
    /// force (after TLS, only the post-TLS ones, RFC 3207 §4.2). Transactions
    /// can start ([`ClientSession::send_mail`](super::ClientSession::send_mail)).
    Ready(Capabilities),
    /// AUTH succeeded with this mechanism (RFC 4954 §4, `235`).
    Authenticated(Mechanism<'static>),
    /// The session has room for more of the current message's body: call
    /// [`ClientSession::body`](super::ClientSession::body) (and eventually
    /// [`ClientSession::end_body`](super::ClientSession::end_body)). Sent again
    /// after each `body` call once the buffer has drained.
    BodyWanted,
    /// The content was sent and the server gave its final word on it: one
    /// result per recipient. Some may have been refused at RCPT, some (in
    /// LMTP) after the content, while others were delivered.
    TransactionComplete(TransactionResult),
    /// The transaction ended before the content was sent. The session stays
    /// usable (it sent RSET if the server might still hold the transaction).
    TransactionFailed(TransactionFailure),
    /// The reply to an explicit [`rset`](super::ClientSession::rset) or
    /// [`noop`](super::ClientSession::noop).
    Reply {
        /// The command: [`Verb::Rset`] or [`Verb::Noop`].
        verb: Verb,
        /// Its reply.
        reply: Reply,
    },
    /// The session cannot go on; [`Output::Close`](crate::output::Output::Close)
    /// follows (after a QUIT exchange when the server is still in step).
    Error(SessionError),
}

/// The result of a transaction whose content was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionResult {
    /// Every recipient of the envelope, in order.
    pub recipients: Vec<RecipientResult>,
    /// SMTP: the one reply to the end of the content (the final `.` or
    /// `BDAT … LAST`, or the refusal of a BDAT chunk), which is also every
    /// accepted recipient's `final_reply`. LMTP: `None` (each recipient has its
    /// own reply, RFC 2033 §4.2), unless a BDAT chunk was refused.
    pub data_reply: Option<Reply>,
}

impl TransactionResult {
    /// The recipients the message was delivered to.
    pub fn delivered(&self) -> impl Iterator<Item = &RecipientResult> {
        self.recipients.iter().filter(|r| r.is_delivered())
    }

    /// Whether the message was delivered to every recipient.
    pub fn all_delivered(&self) -> bool {
        self.recipients.iter().all(RecipientResult::is_delivered)
    }
}

/// What happened to one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientResult {
    /// The recipient.
    pub path: ForwardPath<'static>,
    /// The reply to its RCPT command.
    pub rcpt_reply: Reply,
    /// For a recipient whose RCPT was accepted and whose transaction reached
    /// the content: the reply to the content (see
    /// [`TransactionResult::data_reply`]). `None` otherwise.
    pub final_reply: Option<Reply>,
}

impl RecipientResult {
    /// Whether the server accepted the message for this recipient.
    pub fn is_delivered(&self) -> bool {
        self.rcpt_reply.code().is_positive_completion()
            && self
                .final_reply
                .as_ref()
                .is_some_and(|r| r.code().is_positive_completion())
    }

    /// The reply that decided this recipient's fate: the final reply if there
    /// is one, else the RCPT reply.
    pub fn reply(&self) -> &Reply {
        self.final_reply.as_ref().unwrap_or(&self.rcpt_reply)
    }
}

/// Why a transaction ended before its content was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransactionFailure {
    /// MAIL was refused (RFC 5321 §4.1.1.2); no recipient was tried, or (when
    /// pipelining) their replies do not count.
    MailRefused(Reply),
    /// Every RCPT was refused, so no content was sent (RFC 5321 §3.3); each
    /// recipient's reply is here.
    NoRecipientAccepted(Vec<RecipientResult>),
    /// DATA was refused (RFC 5321 §4.1.1.4) although recipients were accepted.
    DataRefused {
        /// Every recipient with its RCPT reply (no final reply).
        recipients: Vec<RecipientResult>,
        /// The reply to DATA.
        reply: Reply,
    },
}

/// Why the session cannot go on. Reported as [`ClientEvent::Error`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The configuration cannot be used: nothing was sent.
    #[error("invalid configuration")]
    Config(#[source] ConfigError),
    /// The server greeted with a refusal, usually `554` (RFC 5321 §3.1); the
    /// client sent QUIT.
    #[error("greeting refused: {0}")]
    GreetingRefused(Reply),
    /// The server said `421`: it is closing the connection (RFC 5321 §3.8).
    #[error("service unavailable: {0}")]
    ServiceUnavailable(Reply),
    /// EHLO, HELO or LHLO was refused (and HELO was not an option).
    #[error("hello refused: {0}")]
    HelloRefused(Reply),
    /// TLS is required but the server does not offer STARTTLS (RFC 3207 §4).
    #[error("STARTTLS required but not offered")]
    TlsUnavailable,
    /// TLS is required but STARTTLS was refused, e.g. `454 4.7.0` (RFC 3207 §4).
    #[error("STARTTLS refused: {0}")]
    TlsRefused(Reply),
    /// Authentication failed (RFC 4954 §6).
    #[error("authentication failed")]
    Auth(#[source] AuthError),
    /// The **server** broke the protocol; the connection cannot be trusted to
    /// be in step any more.
    #[error("the server broke the protocol")]
    ServerFault(#[source] ServerFault),
    /// A timeout of RFC 5321 §4.5.3.2 expired.
    #[error("timed out waiting for {0:?}")]
    Timeout(Waiting),
    /// The server closed the connection unexpectedly.
    #[error("connection closed by the server")]
    ConnectionClosed,
}

/// A configuration the session refuses, before writing anything.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The hello name does not encode to a valid EHLO line (e.g. a general
    /// address literal built with a control character).
    #[error("invalid hello name")]
    HelloName,
    /// The credentials cannot be encoded by any mechanism they allow (empty
    /// user name or password, NUL in a field, a token that is not a `b64token`).
    #[error("invalid credentials: {0}")]
    Credentials(SaslError),
}

/// How authentication failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The server offers no mechanism the credentials can use (or no AUTH).
    #[error("no usable mechanism offered")]
    NoMechanism,
    /// Credentials are configured, the connection is not protected by TLS, and
    /// [`ClientConfig::auth_without_tls`](super::ClientConfig::auth_without_tls) is off.
    #[error("authentication requires TLS")]
    RequiresTls,
    /// A temporary failure, `4yz` such as `454 4.7.0` (RFC 4954 §6): try later.
    #[error("temporary failure: {0}")]
    Temporary(Reply),
    /// A permanent failure, `5yz` such as `535 5.7.8` (RFC 4954 §6).
    #[error("rejected: {0}")]
    Rejected(Reply),
    /// The server sent a challenge the mechanism does not expect or that is not
    /// base64; the client cancelled with `*` (RFC 4954 §4) and got this reply.
    #[error("cancelled after an unexpected challenge: {0}")]
    Cancelled(Reply),
}

/// How the **server** broke the protocol (the server session's
/// [`ServerEvent::ClientFault`](crate::server::ServerEvent::ClientFault) is the
/// other way round).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ServerFault {
    /// Bytes that are not a valid reply (RFC 5321 §4.2): bad or out-of-range
    /// code, bad separator, mixed codes in a multi-line reply, control
    /// characters, bare CR or LF, a line or reply over the limits.
    #[error("malformed reply: {0}")]
    MalformedReply(ReplyError),
    /// A reply whose code cannot answer the command it is matched with, e.g.
    /// `354` to RCPT or `250` to DATA. Replies are never re-aligned.
    #[error("unexpected reply to {command:?}: {reply}")]
    UnexpectedReply {
        /// The command it answers (`None`: the greeting, or the end of the content).
        command: Option<Verb>,
        /// The reply.
        reply: Reply,
    },
    /// A reply when no command was waiting for one: an extra reply, or one
    /// the server sent on its own.
    #[error("unsolicited reply: {0}")]
    UnsolicitedReply(Reply),
    /// A reply that arrived before the command it would answer had been
    /// handed out to be written: the server answered ahead (an extra reply to
    /// an earlier command), so matching it to that command would shift every
    /// later reply by one. Replies are never re-aligned.
    #[error("reply ahead of its command: {0}")]
    PrematureReply(Reply),
}

/// What the client was waiting for when a timeout expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Waiting {
    /// The greeting (RFC 5321 §4.5.3.2.1).
    Greeting,
    /// The reply to this command.
    Reply(Verb),
    /// The reply to the end of the content (RFC 5321 §4.5.3.2.6).
    EndOfData,
    /// [`handle_tls_established`](super::ClientSession::handle_tls_established).
    TlsHandshake,
    /// More body from the application while sending content (RFC 5321 §4.5.3.2.5).
    Body,
}

/// An extension a request needs and the server does not offer (or the
/// configuration does not use).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequiredExtension {
    /// SMTPUTF8 (RFC 6531), for non-ASCII addresses or a message that asks for it.
    SmtpUtf8,
    /// 8BITMIME (RFC 6152), for `BODY=8BITMIME`.
    EightBitMime,
    /// BINARYMIME (RFC 3030), for `BODY=BINARYMIME`.
    BinaryMime,
    /// CHUNKING (RFC 3030), which BINARYMIME content needs.
    Chunking,
    /// DSN (RFC 3461), for RET, ENVID, NOTIFY or ORCPT.
    Dsn,
    /// REQUIRETLS (RFC 8689).
    RequireTls,
}

/// A request refused before anything was written: the session is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The call does not fit the session's state.
    #[error(transparent)]
    Misuse(#[from] ApiMisuse),
    /// The message needs an extension the server does not offer.
    #[error("the server does not offer {0:?}")]
    NeedsExtension(RequiredExtension),
    /// The declared size is over the server's SIZE limit (RFC 1870 §4).
    #[error("message of {size} octets exceeds the server's limit of {max}")]
    MessageTooLarge {
        /// The envelope's size.
        size: u64,
        /// The server's fixed maximum.
        max: u64,
    },
    /// The envelope has no recipient.
    #[error("no recipients")]
    NoRecipients,
    /// A path or parameter does not make one valid command line (CR, LF, NUL or
    /// another control character, a value its grammar forbids).
    #[error("invalid command: {0}")]
    InvalidCommand(CommandError),
    /// A path that does not parse (from [`Envelope::parse`]).
    #[error("invalid address: {0}")]
    InvalidAddress(PathError),
}

/// One recipient of an [`Envelope`], with its DSN parameters (RFC 3461 §4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// The forward-path.
    pub path: ForwardPath<'static>,
    /// `NOTIFY=` (RFC 3461 §4.1).
    pub notify: Option<Notify>,
    /// `ORCPT=` (RFC 3461 §4.2).
    pub orcpt: Option<OriginalRecipient<'static>>,
}

impl Recipient {
    /// A recipient without DSN parameters.
    pub fn new(path: ForwardPath<'static>) -> Recipient {
        Recipient {
            path,
            notify: None,
            orcpt: None,
        }
    }
}

impl From<ForwardPath<'static>> for Recipient {
    fn from(path: ForwardPath<'static>) -> Recipient {
        Recipient::new(path)
    }
}

/// A message's envelope: what goes into MAIL and RCPT.
///
/// Parameters go on the wire only when the server offers their extension;
/// when it does not, [`ClientSession::send_mail`](super::ClientSession::send_mail)
/// fails with [`ClientError::NeedsExtension`] rather than silently dropping them.
/// SIZE is sent when the server offers it; `BODY=7BIT` only when it offers
/// 8BITMIME (RFC 6152 §2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The reverse-path (`<>` for notifications, RFC 5321 §4.5.5).
    pub from: ReversePath<'static>,
    /// The recipients, in order (at least one).
    pub recipients: Vec<Recipient>,
    /// The message size in octets, if known (`SIZE=`, RFC 1870 §3). Checked
    /// against the server's limit before anything is sent.
    pub size: Option<u64>,
    /// The body type (`BODY=`, RFC 6152 §2, RFC 3030 §3). With
    /// [`Body::BinaryMime`] the content is sent verbatim with BDAT; otherwise
    /// line endings are normalised to CRLF.
    pub body: Option<Body>,
    /// Ask for SMTPUTF8 (RFC 6531 §3.4) even when every address is ASCII (e.g.
    /// for UTF-8 headers). Non-ASCII addresses set it by themselves.
    pub smtputf8: bool,
    /// `RET=` (RFC 3461 §4.3).
    pub ret: Option<Ret>,
    /// `ENVID=` (RFC 3461 §4.4), before xtext encoding.
    pub envid: Option<String>,
    /// `REQUIRETLS` (RFC 8689 §4.1).
    pub requiretls: bool,
}

impl Envelope {
    /// An envelope with these paths and no parameters.
    pub fn new(
        from: ReversePath<'static>,
        recipients: impl IntoIterator<Item = ForwardPath<'static>>,
    ) -> Envelope {
        Envelope {
            from,
            recipients: recipients.into_iter().map(Recipient::new).collect(),
            size: None,
            body: None,
            smtputf8: false,
            ret: None,
            envid: None,
            requiretls: false,
        }
    }

    /// An envelope from addresses written with or without angle brackets,
    /// `<a@example.org>` or `a@example.org`, UTF-8 allowed (RFC 6531). Each
    /// address is the whole string, leading and trailing white space ignored;
    /// `<>` or the empty string is the null sender (RFC 5321 §4.5.5). See
    /// [`ReversePath::parse_address`] and [`ForwardPath::parse_address`].
    ///
    /// ```
    /// use smtp_proto::client::Envelope;
    /// let env = Envelope::parse("<alice@example.org>", ["<bob@example.net>"]).unwrap();
    /// assert_eq!(env.recipients.len(), 1);
    /// let bare = Envelope::parse("alice@example.org", ["bob@example.net"]).unwrap();
    /// assert_eq!(bare, env);
    /// assert_eq!(bare.from.to_string(), "<alice@example.org>");
    /// assert!(Envelope::parse("<>", ["postmaster"]).is_ok());
    /// assert!(Envelope::parse("Alice <alice@example.org>", ["<bob@example.net>"]).is_err());
    /// ```
    pub fn parse<'a>(
        from: &str,
        recipients: impl IntoIterator<Item = &'a str>,
    ) -> Result<Envelope, ClientError> {
        use crate::wire::path::PathOptions;
        let opts = PathOptions::smtputf8();
        let from = ReversePath::parse_address(from, &opts).map_err(ClientError::InvalidAddress)?;
        let mut paths = Vec::new();
        for to in recipients {
            let to = ForwardPath::parse_address(to, &opts).map_err(ClientError::InvalidAddress)?;
            paths.push(to.into_owned());
        }
        Ok(Envelope::new(from.into_owned(), paths))
    }
}
