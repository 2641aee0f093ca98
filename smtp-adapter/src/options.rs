//! Where and how a client connects ([`ClientOptions`], also from a URL), and
//! why sending failed ([`Error`]): the same for every adapter's client.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::ServerName;
use smtp_proto::Protocol;
use smtp_proto::client::{
    AuthError, ClientConfig, ClientError, SessionError, TlsPolicy, TransactionFailure,
};
use smtp_proto::reply::Reply;
use smtp_proto::wire::sasl::Credentials;

use crate::tls::Trust;
pub use crate::url::UrlError;

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Plaintext; STARTTLS is never sent.
    Plain,
    /// STARTTLS before anything else, or fail: never falls back to plaintext
    /// (RFC 3207, RFC 8314 §3.2). Submission on port 587.
    StartTlsRequired,
    /// STARTTLS when offered, plaintext otherwise (RFC 3207 §4.1; relay on port
    /// 25). Protects against passive eavesdropping only.
    StartTlsOpportunistic,
    /// TLS from the first byte (RFC 8314 §3.3, port 465).
    ImplicitTls,
}

/// Where and how to connect.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientOptions {
    /// The server's host name or address (also the name its certificate must carry).
    pub host: String,
    /// The server's port.
    pub port: u16,
    /// TLS.
    pub security: Security,
    /// What vouches for the server's certificate.
    pub trust: Trust,
    /// AUTH credentials (RFC 4954): PLAIN is preferred, then LOGIN; bearer
    /// tokens use XOAUTH2 or OAUTHBEARER.
    pub credentials: Option<Credentials>,
    /// The name given in EHLO/LHLO.
    pub hello_name: String,
    /// Speak LMTP (RFC 2033).
    pub lmtp: bool,
    /// Send content with BDAT when the server offers CHUNKING (RFC 3030).
    pub chunking: bool,
    /// How long connecting (TCP and TLS) may take.
    pub connect_timeout: Duration,
    /// How long writing one batch of commands or content may take.
    pub write_timeout: Duration,
    /// The local address to connect from (Postfix's `smtp_bind_address`):
    /// an MTA sends from the address its SPF record lists. `None`: the
    /// system chooses.
    pub source_address: Option<IpAddr>,
}

/// A TCP socket for a connection to `addr` from `source` (address bound, any
/// port), for the adapters to connect in their own way.
pub fn bound_socket(addr: SocketAddr, source: IpAddr) -> io::Result<socket2::Socket> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    socket.bind(&SocketAddr::new(source, 0).into())?;
    Ok(socket)
}

impl ClientOptions {
    /// A server, with opportunistic STARTTLS, webpki roots, no AUTH, and
    /// `localhost` as the EHLO name.
    pub fn new(host: &str, port: u16) -> ClientOptions {
        ClientOptions {
            host: host.to_string(),
            port,
            security: Security::StartTlsOpportunistic,
            trust: Trust::WebPki,
            credentials: None,
            hello_name: "localhost".to_string(),
            lmtp: false,
            chunking: false,
            connect_timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(180),
            source_address: None,
        }
    }

    /// Settings from a URL:
    ///
    /// * `smtp://host[:port]` (default port 25): opportunistic STARTTLS;
    ///   `?tls=required` makes it mandatory (submission, port 587),
    ///   `?tls=none` turns it off;
    /// * `smtps://host[:port]` (default port 465): implicit TLS (RFC 8314);
    /// * `lmtp://host[:port]` (default port 24): LMTP;
    /// * `user:password@` before the host gives AUTH credentials
    ///   (percent-encoded: `%40` for `@`); with `?auth=xoauth2` the password
    ///   is an OAuth 2.0 access token;
    /// * `?helo=NAME` sets the EHLO name.
    ///
    /// ```
    /// use smtp_adapter::options::{ClientOptions, Security};
    /// let o = ClientOptions::from_url("smtp://user:pass@mail.example.com:587?tls=required").unwrap();
    /// assert_eq!((o.host.as_str(), o.port, o.security), ("mail.example.com", 587, Security::StartTlsRequired));
    /// let o = ClientOptions::from_url("smtps://user:pass@mail.example.com").unwrap();
    /// assert_eq!((o.port, o.security), (465, Security::ImplicitTls));
    /// ```
    pub fn from_url(url: &str) -> Result<ClientOptions, UrlError> {
        crate::url::parse(url)
    }

    /// What a TLS handshake with this server needs, or `None` with
    /// [`Security::Plain`]: the rustls configuration for the trust anchors,
    /// and the name the server's certificate must carry.
    pub fn tls_settings(&self) -> Result<Option<TlsSettings>, Error> {
        if self.security == Security::Plain {
            return Ok(None);
        }
        let name = ServerName::try_from(self.host.clone())
            .map_err(|e| Error::Config(format!("server name: {e}")))?;
        let config = self.trust.client_config().map_err(Error::Tls)?;
        Ok(Some(TlsSettings { config, name }))
    }

    /// The core's configuration for these options (EHLO name, TLS policy,
    /// credentials, protocol, CHUNKING).
    pub fn session_config(&self) -> Result<ClientConfig, Error> {
        let mut config = ClientConfig::new(&self.hello_name)
            .map_err(|e| Error::Config(format!("EHLO name: {e}")))?;
        config.tls = match self.security {
            Security::Plain => TlsPolicy::Disabled,
            Security::StartTlsRequired => TlsPolicy::Required,
            Security::StartTlsOpportunistic | Security::ImplicitTls => TlsPolicy::Opportunistic,
        };
        config.credentials = self.credentials.clone();
        config.protocol = if self.lmtp {
            Protocol::Lmtp
        } else {
            Protocol::Smtp
        };
        config.use_chunking = self.chunking;
        Ok(config)
    }
}

/// What a client's TLS handshake needs ([`ClientOptions::tls_settings`]).
#[derive(Debug, Clone)]
pub struct TlsSettings {
    /// The rustls configuration (trust anchors, provider).
    pub config: Arc<rustls::ClientConfig>,
    /// The name the server's certificate must carry.
    pub name: ServerName<'static>,
}

impl TlsSettings {
    /// The settings for a handshake the session asked for. The session asks
    /// only when the options allow TLS, so `None` here is a bug in the
    /// adapter, reported as [`Error::Config`].
    pub fn for_handshake(settings: &Option<TlsSettings>) -> Result<TlsSettings, Error> {
        settings
            .clone()
            .ok_or_else(|| Error::Config("a TLS handshake without TLS settings".into()))
    }
}

/// Why sending failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server refused the transaction (the sender, every recipient, or
    /// DATA), with its replies. The connection is still usable.
    #[error("refused by the server: {}", refusal_text(.0))]
    Refused(TransactionFailure),
    /// The session ended: greeting or EHLO refused, STARTTLS unavailable or
    /// refused, AUTH failed, a protocol fault of the server, a timeout.
    #[error("SMTP session failed: {0}")]
    Session(#[source] SessionError),
    /// The envelope cannot be sent to this server (an extension it lacks, a
    /// size over its limit, a bad address), or the connection is not ready.
    #[error("cannot send this envelope: {0}")]
    Envelope(#[source] ClientError),
    /// The TLS handshake failed (certificate not trusted, no common cipher...).
    #[error("TLS failed: {0}")]
    Tls(#[source] io::Error),
    /// Connecting, reading or writing failed, or timed out.
    #[error("connection failed: {0}")]
    Io(#[source] io::Error),
    /// Bad settings.
    #[error("bad configuration: {0}")]
    Config(String),
    /// A URL that could not be read.
    #[error(transparent)]
    Url(#[from] UrlError),
    /// The connection is closed.
    #[error("the connection is closed")]
    Closed,
}

fn refusal_text(failure: &TransactionFailure) -> String {
    match failure {
        TransactionFailure::MailRefused(r) => format!("MAIL: {r}"),
        TransactionFailure::NoRecipientAccepted(rcpts) => rcpts
            .iter()
            .map(|r| format!("{}: {}", r.path, r.reply()))
            .collect::<Vec<_>>()
            .join("; "),
        TransactionFailure::DataRefused { reply, .. } => format!("DATA: {reply}"),
        other => format!("{other:?}"),
    }
}

impl Error {
    /// The server's reply, when it refused something.
    pub fn reply(&self) -> Option<&Reply> {
        match self {
            Error::Refused(TransactionFailure::MailRefused(r))
            | Error::Refused(TransactionFailure::DataRefused { reply: r, .. }) => Some(r),
            Error::Refused(TransactionFailure::NoRecipientAccepted(rcpts)) => {
                rcpts.first().map(|r| r.reply())
            }
            Error::Session(
                SessionError::GreetingRefused(r)
                | SessionError::ServiceUnavailable(r)
                | SessionError::HelloRefused(r)
                | SessionError::TlsRefused(r)
                | SessionError::Auth(
                    AuthError::Temporary(r) | AuthError::Rejected(r) | AuthError::Cancelled(r),
                ),
            ) => Some(r),
            _ => None,
        }
    }

    /// Whether trying again later may work (a 4yz reply, a timeout, a
    /// connection error), as opposed to a permanent refusal (5yz).
    pub fn is_transient(&self) -> bool {
        match self.reply() {
            Some(r) => r.code().is_transient_negative(),
            None => !matches!(self, Error::Config(_) | Error::Url(_) | Error::Envelope(_)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smtp_proto::reply::{EnhancedCode, ReplyCode};

    fn reply(code: u16) -> Reply {
        Reply::new(
            ReplyCode::new(code).unwrap(),
            EnhancedCode::new((code / 100) as u8, 0, 0),
            "x",
        )
    }

    #[test]
    fn session_config_follows_the_options() {
        let mut o = ClientOptions::new("mx.example", 25);
        let cases = [
            (Security::Plain, TlsPolicy::Disabled),
            (Security::StartTlsRequired, TlsPolicy::Required),
            (Security::StartTlsOpportunistic, TlsPolicy::Opportunistic),
            (Security::ImplicitTls, TlsPolicy::Opportunistic),
        ];
        for (security, policy) in cases {
            o.security = security;
            assert_eq!(o.session_config().unwrap().tls, policy);
        }
        let c = o.session_config().unwrap();
        assert_eq!(
            (c.protocol, c.use_chunking, c.credentials.is_some()),
            (Protocol::Smtp, false, false)
        );
        o.lmtp = true;
        o.chunking = true;
        o.credentials = Some(Credentials::password("u", "p"));
        o.hello_name = "client.example".into();
        let c = o.session_config().unwrap();
        assert_eq!((c.protocol, c.use_chunking), (Protocol::Lmtp, true));
        assert_eq!(c.credentials, Some(Credentials::password("u", "p")));
        assert_eq!(c.hello_name.to_string(), "client.example");
        o.hello_name = "not a name".into();
        assert!(matches!(o.session_config(), Err(Error::Config(_))));
    }

    #[test]
    fn tls_settings_follow_the_security() {
        let mut o = ClientOptions::new("mx.example", 25);
        o.security = Security::Plain;
        assert!(o.tls_settings().unwrap().is_none());
        assert!(matches!(
            TlsSettings::for_handshake(&None),
            Err(Error::Config(_))
        ));
        o.security = Security::StartTlsRequired;
        let t = o.tls_settings().unwrap().expect("settings");
        assert_eq!(t.name, ServerName::try_from("mx.example").unwrap());
        assert!(TlsSettings::for_handshake(&Some(t)).is_ok());
        o.host = "not a host name".into();
        assert!(matches!(o.tls_settings(), Err(Error::Config(_))));
    }

    #[test]
    fn replies_and_transience() {
        let refused = Error::Refused(TransactionFailure::MailRefused(reply(451)));
        assert_eq!(refused.reply(), Some(&reply(451)));
        assert!(refused.is_transient());
        let refused = Error::Refused(TransactionFailure::MailRefused(reply(550)));
        assert!(!refused.is_transient());
        assert!(refused.to_string().contains("MAIL: 550"), "{refused}");
        let greeting = Error::Session(SessionError::GreetingRefused(reply(554)));
        assert_eq!(greeting.reply(), Some(&reply(554)));
        assert!(!greeting.is_transient());
        let auth = Error::Session(SessionError::Auth(AuthError::Rejected(reply(535))));
        assert_eq!(auth.reply(), Some(&reply(535)));
        assert!(!auth.is_transient());
        let rcpts = vec![smtp_proto::client::RecipientResult {
            path: smtp_proto::wire::path::ForwardPath::Postmaster,
            rcpt_reply: reply(450),
            final_reply: None,
        }];
        let nobody = Error::Refused(TransactionFailure::NoRecipientAccepted(rcpts));
        assert_eq!(nobody.reply(), Some(&reply(450)));
        assert!(nobody.is_transient());
        assert!(nobody.to_string().contains("<Postmaster>: 450"), "{nobody}");
        let io = Error::Io(io::Error::other("reset"));
        assert_eq!(io.reply(), None);
        assert!(io.is_transient());
        assert!(!Error::Config("x".into()).is_transient());
        assert!(!Error::Url(UrlError::Authority).is_transient());
        assert!(Error::Closed.is_transient());
    }
}
