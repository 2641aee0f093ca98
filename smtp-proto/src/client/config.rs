//! Client configuration: who the client says it is, its TLS and AUTH policy,
//! how it uses the server's extensions, limits and timeouts.

use core::time::Duration;

use crate::limits::Limits;
use crate::wire::line::LineEnding;
use crate::wire::path::{Host, PathError, PathOptions};

use crate::Protocol;
use crate::wire::sasl::Credentials;

/// What the client does about STARTTLS (RFC 3207) on a plaintext connection.
///
/// On a connection made with [`ClientSession::new_tls`](super::ClientSession::new_tls)
/// (implicit TLS, RFC 8314 §3.3) the policy is moot: TLS is already up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsPolicy {
    /// Upgrade with STARTTLS before anything else, or give up: a server that does
    /// not offer STARTTLS, or answers it with an error (e.g. `454 4.7.0`), ends the
    /// session with [`SessionError::TlsUnavailable`](super::SessionError::TlsUnavailable)
    /// or [`SessionError::TlsRefused`](super::SessionError::TlsRefused). Neither AUTH
    /// nor MAIL is ever sent in plaintext (RFC 3207 §4, RFC 8314 §3.2).
    Required,
    /// Upgrade when STARTTLS is offered; carry on in plaintext when it is not
    /// offered or is refused (RFC 3207 §4.1). Protects only against passive
    /// eavesdroppers.
    #[default]
    Opportunistic,
    /// Never send STARTTLS.
    Disabled,
}

/// How long the client waits for each reply (RFC 5321 §4.5.3.2). The defaults
/// are the RFC's. The session turns them into the deadline of
/// [`Output::Wait`](crate::output::Output::Wait); when one passes, the session
/// reports [`SessionError::Timeout`](super::SessionError::Timeout) and closes
/// without QUIT.
///
/// A reply's timer starts when the session begins waiting for it: when its
/// command is written, or, for a pipelined command, when the reply before it
/// arrived. Bytes of a reply trickling in do not extend it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientTimeouts {
    /// The initial 220 greeting (RFC 5321 §4.5.3.2.1): 5 minutes.
    pub greeting: Duration,
    /// The reply to MAIL (RFC 5321 §4.5.3.2.2): 5 minutes.
    pub mail: Duration,
    /// The reply to each RCPT (RFC 5321 §4.5.3.2.3): 5 minutes.
    pub rcpt: Duration,
    /// The 354 reply to DATA (RFC 5321 §4.5.3.2.4): 2 minutes.
    pub data_init: Duration,
    /// Sending the content (RFC 5321 §4.5.3.2.5, "data block"): 3 minutes. The
    /// core cannot see socket writes complete (the adapter enforces this limit on
    /// its writes), so here it bounds the gaps in the application's body while
    /// the content is being sent, and the wait for the reply to a BDAT chunk
    /// other than the last.
    pub data_block: Duration,
    /// The reply to the end of the content, the final `.` or `BDAT … LAST`
    /// (RFC 5321 §4.5.3.2.6): 10 minutes, because the server may be busy with
    /// the message.
    pub data_end: Duration,
    /// Every other reply (EHLO, HELO, LHLO, STARTTLS, AUTH, RSET, NOOP, QUIT) and
    /// the TLS handshake: 5 minutes (RFC 5321 §4.5.3.2 gives no value; this is
    /// the one of §4.5.3.2.7).
    pub command: Duration,
}

impl Default for ClientTimeouts {
    fn default() -> Self {
        ClientTimeouts {
            greeting: Duration::from_secs(300),
            mail: Duration::from_secs(300),
            rcpt: Duration::from_secs(300),
            data_init: Duration::from_secs(120),
            data_block: Duration::from_secs(180),
            data_end: Duration::from_secs(600),
            command: Duration::from_secs(300),
        }
    }
}

/// Everything a [`ClientSession`](super::ClientSession) needs to know.
///
/// Shared between sessions through an `Arc`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// The name the client gives in EHLO, HELO or LHLO (RFC 5321 §4.1.1.1: its
    /// fully-qualified domain name, or an address literal).
    pub hello_name: Host<'static>,
    /// SMTP (EHLO, HELO fallback) or LMTP (LHLO, one reply per recipient).
    pub protocol: Protocol,
    /// STARTTLS policy.
    pub tls: TlsPolicy,
    /// Authenticate after the (post-TLS) EHLO, when set. A failure ends the session.
    pub credentials: Option<Credentials>,
    /// Allow AUTH on a connection without TLS (RFC 4954 §4 discourages it;
    /// off by default, so credentials without TLS end the session with
    /// [`AuthError::RequiresTls`](super::AuthError::RequiresTls)).
    pub auth_without_tls: bool,
    /// Pipeline commands (RFC 2920) when the server offers PIPELINING.
    pub use_pipelining: bool,
    /// Send the content with BDAT (RFC 3030) when the server offers CHUNKING.
    /// BINARYMIME bodies need it.
    pub use_chunking: bool,
    /// Octets of content per BDAT chunk (at least 1).
    pub bdat_chunk_size: usize,
    /// Most octets of body the session holds for the application before
    /// [`ClientSession::body`](super::ClientSession::body) accepts fewer than it
    /// is given (at least 1).
    pub max_body_buffer: usize,
    /// Reply limits: `reply_line` (at least 512 octets, RFC 5321 §4.5.3.1.5) and
    /// `reply_lines`. A longer reply is a fatal protocol error.
    pub limits: Limits,
    /// Whether a bare LF ends a reply line (RFC 5321 §2.3.8 says no).
    pub reply_line_ending: LineEnding,
    /// Most unprocessed input octets buffered: [`ClientSession::handle_bytes`](super::ClientSession::handle_bytes)
    /// takes no more. Raised to hold one reply of the `limits` (lines × line length).
    pub max_input_buffer: usize,
    /// Reply timeouts.
    pub timeouts: ClientTimeouts,
}

impl ClientConfig {
    /// The defaults, calling itself `hello_name` (a domain, or an address
    /// literal such as `[192.0.2.1]`).
    pub fn new(hello_name: &str) -> Result<ClientConfig, PathError> {
        let host = Host::parse(hello_name, &PathOptions::default())?.into_owned();
        Ok(ClientConfig {
            hello_name: host,
            ..ClientConfig::default()
        })
    }

    pub(crate) fn bdat_chunk_size(&self) -> usize {
        self.bdat_chunk_size.max(1)
    }

    pub(crate) fn input_capacity(&self) -> usize {
        let limits = self.limits.clamped();
        self.max_input_buffer
            .max(limits.reply_line.saturating_mul(limits.reply_lines.max(1)))
    }

    pub(crate) fn body_capacity(&self) -> usize {
        self.max_body_buffer.max(1)
    }
}

impl Default for ClientConfig {
    /// Calls itself `localhost`, SMTP, opportunistic TLS, no credentials,
    /// pipelining and chunking when offered, 64 KiB chunks and body buffer,
    /// default limits and RFC timeouts.
    fn default() -> Self {
        let localhost = Host::parse("localhost", &PathOptions::default())
            .expect("localhost is a domain")
            .into_owned();
        ClientConfig {
            hello_name: localhost,
            protocol: Protocol::Smtp,
            tls: TlsPolicy::Opportunistic,
            credentials: None,
            auth_without_tls: false,
            use_pipelining: true,
            use_chunking: true,
            bdat_chunk_size: 64 * 1024,
            max_body_buffer: 64 * 1024,
            limits: Limits::default(),
            reply_line_ending: LineEnding::Strict,
            max_input_buffer: 64 * 1024,
            timeouts: ClientTimeouts::default(),
        }
    }
}
