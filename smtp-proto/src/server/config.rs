//! Server configuration: what to advertise, what to enforce, limits and timeouts.

use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

use crate::Protocol;
use crate::limits::Limits;
use crate::wire::command::HeloSyntax;
use crate::wire::data::BareLineEnding;
use crate::wire::line::LineEnding;
use crate::wire::sasl::Mechanism;

/// The ESMTP extensions the server advertises after EHLO/LHLO, and so accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extensions {
    /// PIPELINING (RFC 2920).
    pub pipelining: bool,
    /// 8BITMIME (RFC 6152).
    pub eight_bit_mime: bool,
    /// ENHANCEDSTATUSCODES (RFC 2034): enhanced codes on every reply but the greeting
    /// and the EHLO response.
    pub enhanced_status_codes: bool,
    /// CHUNKING (RFC 3030): the BDAT command.
    pub chunking: bool,
    /// BINARYMIME (RFC 3030); only offered together with CHUNKING.
    pub binary_mime: bool,
    /// SMTPUTF8 (RFC 6531).
    pub smtputf8: bool,
    /// DSN (RFC 3461): RET, ENVID, NOTIFY and ORCPT are accepted and handed to the application.
    pub dsn: bool,
    /// STARTTLS (RFC 3207); only offered before TLS is up.
    pub starttls: bool,
    /// REQUIRETLS (RFC 8689); only offered once TLS is up.
    pub requiretls: bool,
    /// AUTH mechanisms (RFC 4954), in the order advertised; empty: no AUTH.
    pub auth: Vec<Mechanism<'static>>,
}

impl Default for Extensions {
    /// What Postfix offers out of the box: PIPELINING, 8BITMIME,
    /// ENHANCEDSTATUSCODES, CHUNKING, SMTPUTF8 and DSN. STARTTLS and AUTH need
    /// certificates and a credential store, so the adapter turns them on.
    fn default() -> Self {
        Extensions {
            pipelining: true,
            eight_bit_mime: true,
            enhanced_status_codes: true,
            chunking: true,
            binary_mime: false,
            smtputf8: true,
            dsn: true,
            starttls: false,
            requiretls: false,
            auth: Vec::new(),
        }
    }
}

/// What VRFY answers (RFC 5321 §3.5.3, §7.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VrfyPolicy {
    /// `252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery`:
    /// what most servers do, since VRFY leaks who exists.
    #[default]
    CannotVerify,
    /// `502 5.5.1 VRFY command is disabled` (Postfix's `disable_vrfy_command = yes`).
    Disabled,
}

/// Server timeouts (RFC 5321 §4.5.3.2). The session turns them into deadlines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerTimeouts {
    /// Waiting for the next command, from the moment the session became ready for
    /// it; trickling bytes of a command does not extend it. RFC 5321 §4.5.3.2.7:
    /// at least 5 minutes (the default, also Postfix's `smtpd_timeout`).
    pub command: Duration,
    /// Waiting for DATA or BDAT content: the deadline moves only when at least
    /// [`ServerTimeouts::data_progress`] octets arrived since it last moved.
    pub data: Duration,
    /// See [`ServerTimeouts::data`]; default 1024 octets.
    pub data_progress: u64,
}

impl Default for ServerTimeouts {
    fn default() -> Self {
        ServerTimeouts {
            command: Duration::from_secs(300),
            data: Duration::from_secs(300),
            data_progress: 1024,
        }
    }
}

/// Everything a [`ServerSession`](super::ServerSession) needs to know.
///
/// Shared between sessions through an `Arc`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// The name the server calls itself, in the greeting and replies.
    pub hostname: String,
    /// Text after the hostname in the greeting (`220 <hostname> <banner>`);
    /// `None` says `ESMTP` or `LMTP`.
    pub banner: Option<String>,
    /// SMTP or LMTP.
    pub protocol: Protocol,
    /// Extensions to advertise and accept.
    pub extensions: Extensions,
    /// Largest message accepted, in octets; advertised as `SIZE n` (RFC 1870).
    /// `None`: no limit is advertised, and none is enforced beyond the buffers.
    pub max_message_size: Option<u64>,
    /// Most recipients in one transaction; beyond it RCPT gets `452 4.5.3`
    /// (RFC 5321 §4.5.3.1.10: at least 100 must be accepted, so lower values are raised).
    pub max_recipients: usize,
    /// Protocol errors tolerated before `421 4.7.0` and close (Postfix's
    /// `smtpd_hard_error_limit`, 20).
    pub max_errors: u32,
    /// Offer and accept AUTH without TLS (RFC 4954 §4 discourages plaintext passwords).
    pub auth_without_tls: bool,
    /// Refuse everything but EHLO, STARTTLS, NOOP, RSET and QUIT before TLS
    /// (`530 5.7.0`, RFC 3207 §4). For submission on port 587.
    pub require_tls: bool,
    /// Refuse MAIL before AUTH (`530 5.7.0`, RFC 4954 §6). For submission.
    pub require_auth: bool,
    /// HELO/EHLO argument checking.
    pub helo_syntax: HeloSyntax,
    /// Whether a bare LF ends a command line (never in DATA).
    pub command_line_ending: LineEnding,
    /// What a bare CR or LF in DATA does: `Reject` (the default) reads the message
    /// to its real end and answers `550 5.6.0`; `Normalize` turns it into CRLF.
    pub bare_line_ending: BareLineEnding,
    /// VRFY's answer.
    pub vrfy: VrfyPolicy,
    /// Whether EXPN is answered `502 5.5.1` (true) or `252` (false).
    pub expn_disabled: bool,
    /// Line-length limits.
    pub limits: Limits,
    /// Most unprocessed input octets buffered; past it the session stops asking
    /// for input (backpressure). Raised to at least the longest line limit.
    pub max_input_buffer: usize,
    /// Timeouts.
    pub timeouts: ServerTimeouts,
}

impl ServerConfig {
    /// A configuration with the defaults and this hostname.
    pub fn new(hostname: impl Into<String>) -> ServerConfig {
        ServerConfig {
            hostname: hostname.into(),
            ..ServerConfig::default()
        }
    }

    /// Whether replies carry enhanced status codes: when configured, and always
    /// in LMTP, which requires ENHANCEDSTATUSCODES (RFC 2033 §5).
    pub(crate) fn enhanced_codes(&self) -> bool {
        self.extensions.enhanced_status_codes || self.protocol == Protocol::Lmtp
    }

    pub(crate) fn input_capacity(&self) -> usize {
        let limits = self.limits.clamped();
        self.max_input_buffer
            .max(limits.command_line)
            .max(limits.sasl_line)
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            hostname: String::from("localhost"),
            banner: None,
            protocol: Protocol::Smtp,
            extensions: Extensions::default(),
            max_message_size: Some(10 * 1024 * 1024),
            max_recipients: 100,
            max_errors: 20,
            auth_without_tls: false,
            require_tls: false,
            require_auth: false,
            helo_syntax: HeloSyntax::Strict,
            command_line_ending: LineEnding::Strict,
            bare_line_ending: BareLineEnding::Reject,
            vrfy: VrfyPolicy::CannotVerify,
            expn_disabled: true,
            limits: Limits::default(),
            max_input_buffer: 64 * 1024,
            timeouts: ServerTimeouts::default(),
        }
    }
}
