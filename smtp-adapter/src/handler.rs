//! What the application decides: the [`Handler`] trait, the same for every
//! asynchronous adapter (smtp-tokio, smtp-async-std), so an application moves
//! between runtimes without touching it, and its synchronous twin
//! [`SyncHandler`] for the blocking adapter (smtp-blocking).

use std::future::Future;
use std::net::SocketAddr;

use bytes::Bytes;
use smtp_proto::reply::{EnhancedCode, Reply, ReplyCode};
use smtp_proto::server::{Decision, HelloKind, MessageFindings, ServerEvent, ServerSession};
use smtp_proto::wire::command::HeloName;
use smtp_proto::wire::params::{MailParameters, RcptParameters};
use smtp_proto::wire::path::{ForwardPath, ReversePath};
use smtp_proto::wire::sasl::{Credentials, Mechanism};

/// Where a connection comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionInfo {
    /// The client's address.
    pub peer: SocketAddr,
    /// Our address the client connected to.
    pub local: SocketAddr,
    /// Whether the connection came in on an implicit-TLS listener (RFC 8314).
    pub implicit_tls: bool,
}

/// The envelope of the transaction in progress: the sender and the recipients
/// accepted so far, in RCPT order (RFC 5321 §3.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The reverse-path (`<>` for the null sender).
    pub sender: ReversePath<'static>,
    /// The accepted recipients.
    pub recipients: Vec<ForwardPath<'static>>,
}

impl Envelope {
    /// The envelope of the session's transaction in progress (the null
    /// sender and no recipients outside a transaction), for an adapter to
    /// hand to the handler.
    pub fn of(session: &ServerSession) -> Envelope {
        match session.envelope() {
            Some(e) => Envelope {
                sender: e.sender().into_owned(),
                recipients: e.recipients().map(|r| r.into_owned()).collect(),
            },
            None => Envelope {
                sender: ReversePath::Null,
                recipients: Vec::new(),
            },
        }
    }
}

/// `451 4.3.0`: what an adapter answers in place of a handler's decision
/// that does not fit the session's state (a bug of the handler).
pub fn internal_error() -> Decision {
    Decision::Reject(Reply::new(
        ReplyCode::new(451).expect("a reply code"),
        EnhancedCode::new(4, 3, 0),
        "Error: internal error",
    ))
}

/// A complete message, handed to [`Handler::message`].
#[derive(Debug, Clone)]
pub struct Message {
    /// Who sent it and to whom.
    pub envelope: Envelope,
    /// Its size and what was odd about it.
    pub findings: MessageFindings,
    /// The content (dot-unstuffed, line endings as received), when the
    /// handler asked for it with [`Handler::BUFFER_CONTENT`]; empty otherwise
    /// (the content went to [`Handler::data`] piece by piece).
    pub content: Bytes,
}

/// The application's side of a server: one clone per connection, asked for a
/// [`Decision`] at each point where SMTP lets a server refuse.
///
/// Every method has a default (accept, except [`Handler::auth`], which refuses:
/// a server that offers AUTH must say whom it knows). Each may await (a DNS
/// lookup, a database, a policy service): the connection's pipelined input
/// waits meanwhile, in order. A handler is cloned for each connection, so
/// `&mut self` state is per connection; share state between connections with
/// an `Arc` inside.
///
/// ```
/// use smtp_adapter::handler::{Handler, Message};
/// use smtp_proto::reply::{EnhancedCode, Reply, ReplyCode};
/// use smtp_proto::server::Decision;
/// use smtp_proto::wire::params::RcptParameters;
/// use smtp_proto::wire::path::ForwardPath;
///
/// /// Takes mail for one domain and prints the subject line.
/// #[derive(Clone)]
/// struct Inbox;
///
/// impl Handler for Inbox {
///     const BUFFER_CONTENT: bool = true;
///
///     async fn rcpt_to(&mut self, to: &ForwardPath<'static>, _: &RcptParameters<'static>) -> Decision {
///         match to.mailbox() {
///             Some(m) if m.host.to_string().eq_ignore_ascii_case("example.org") => Decision::Accept,
///             _ => Decision::Reject(Reply::new(
///                 ReplyCode::new(550).unwrap(),
///                 EnhancedCode::new(5, 7, 1),
///                 "Relaying denied",
///             )),
///         }
///     }
///
///     async fn message(&mut self, message: &Message) -> Decision {
///         let text = String::from_utf8_lossy(&message.content);
///         if let Some(subject) = text.lines().find(|l| l.starts_with("Subject:")) {
///             println!("{subject}");
///         }
///         Decision::Accept
///     }
/// }
/// ```
pub trait Handler: Clone + Send + Sync + 'static {
    /// Whether the server collects the content and hands it whole to
    /// [`Handler::message`] (in [`Message::content`]), instead of piece by
    /// piece to [`Handler::data`]. The size limit of the configuration bounds
    /// it (RFC 1870); without a limit, prefer streaming.
    const BUFFER_CONTENT: bool = false;

    /// A client connected: accept for the `220` greeting, or refuse (`554`, or
    /// `421` to close at once).
    fn connect(&mut self, info: &ConnectionInfo) -> impl Future<Output = Decision> + Send {
        let _ = info;
        async { Decision::Accept }
    }

    /// HELO, EHLO or LHLO.
    fn hello(
        &mut self,
        kind: HelloKind,
        name: &HeloName<'static>,
    ) -> impl Future<Output = Decision> + Send {
        let _ = (kind, name);
        async { Decision::Accept }
    }

    /// AUTH credentials to check: accept for `235 2.7.0`. The default refuses
    /// everybody with `535 5.7.8`.
    fn auth(
        &mut self,
        mechanism: &Mechanism<'static>,
        credentials: &Credentials,
    ) -> impl Future<Output = Decision> + Send {
        let _ = (mechanism, credentials);
        async { auth_refused() }
    }

    /// MAIL FROM.
    fn mail_from(
        &mut self,
        from: &ReversePath<'static>,
        params: &MailParameters<'static>,
    ) -> impl Future<Output = Decision> + Send {
        let _ = (from, params);
        async { Decision::Accept }
    }

    /// RCPT TO.
    fn rcpt_to(
        &mut self,
        to: &ForwardPath<'static>,
        params: &RcptParameters<'static>,
    ) -> impl Future<Output = Decision> + Send {
        let _ = (to, params);
        async { Decision::Accept }
    }

    /// The client wants to send the content (DATA or the first BDAT) to these
    /// recipients.
    fn data_start(&mut self, envelope: &Envelope) -> impl Future<Output = Decision> + Send {
        let _ = envelope;
        async { Decision::Accept }
    }

    /// A piece of the content, in order (not called with
    /// [`Handler::BUFFER_CONTENT`]).
    fn data(&mut self, piece: Bytes) -> impl Future<Output = ()> + Send {
        let _ = piece;
        async {}
    }

    /// The content is complete: accept (`250`) only once the message is safe
    /// (RFC 5321 §6.1). In LMTP answer [`Decision::PerRecipient`].
    fn message(&mut self, message: &Message) -> impl Future<Output = Decision> + Send {
        let _ = message;
        async { Decision::Accept }
    }

    /// Information that needs no answer: [`ServerEvent::TransactionReset`]
    /// (forget the content received so far), `TransactionFinished`,
    /// `TlsEstablished`, `ClientFault`.
    fn notice(&mut self, event: &ServerEvent) -> impl Future<Output = ()> + Send {
        let _ = event;
        async {}
    }
}

/// The synchronous twin of [`Handler`], for the blocking adapter
/// (smtp-blocking): the same methods with the same defaults, each returning
/// its answer directly. A method may block (a DNS lookup, a database, a
/// file): it holds only its own connection's worker thread, and the
/// connection's pipelined input waits meanwhile, in order. A handler is
/// cloned for each connection, so `&mut self` state is per connection; share
/// state between connections with an `Arc` inside.
///
/// ```
/// use smtp_adapter::handler::{Message, SyncHandler};
/// use smtp_proto::server::Decision;
///
/// /// Prints the size of each message.
/// #[derive(Clone)]
/// struct Print;
///
/// impl SyncHandler for Print {
///     const BUFFER_CONTENT: bool = true;
///
///     fn message(&mut self, message: &Message) -> Decision {
///         println!("{} octets from {}", message.content.len(), message.envelope.sender);
///         Decision::Accept
///     }
/// }
/// ```
pub trait SyncHandler: Clone + Send + 'static {
    /// As [`Handler::BUFFER_CONTENT`]: the content whole in
    /// [`Message::content`] instead of piece by piece to [`SyncHandler::data`].
    const BUFFER_CONTENT: bool = false;

    /// A client connected: accept for the `220` greeting, or refuse (`554`, or
    /// `421` to close at once).
    fn connect(&mut self, info: &ConnectionInfo) -> Decision {
        let _ = info;
        Decision::Accept
    }

    /// HELO, EHLO or LHLO.
    fn hello(&mut self, kind: HelloKind, name: &HeloName<'static>) -> Decision {
        let _ = (kind, name);
        Decision::Accept
    }

    /// AUTH credentials to check: accept for `235 2.7.0`. The default refuses
    /// everybody with `535 5.7.8`.
    fn auth(&mut self, mechanism: &Mechanism<'static>, credentials: &Credentials) -> Decision {
        let _ = (mechanism, credentials);
        auth_refused()
    }

    /// MAIL FROM.
    fn mail_from(
        &mut self,
        from: &ReversePath<'static>,
        params: &MailParameters<'static>,
    ) -> Decision {
        let _ = (from, params);
        Decision::Accept
    }

    /// RCPT TO.
    fn rcpt_to(&mut self, to: &ForwardPath<'static>, params: &RcptParameters<'static>) -> Decision {
        let _ = (to, params);
        Decision::Accept
    }

    /// The client wants to send the content (DATA or the first BDAT) to these
    /// recipients.
    fn data_start(&mut self, envelope: &Envelope) -> Decision {
        let _ = envelope;
        Decision::Accept
    }

    /// A piece of the content, in order (not called with
    /// [`SyncHandler::BUFFER_CONTENT`]).
    fn data(&mut self, piece: Bytes) {
        let _ = piece;
    }

    /// The content is complete: accept (`250`) only once the message is safe
    /// (RFC 5321 §6.1). In LMTP answer [`Decision::PerRecipient`].
    fn message(&mut self, message: &Message) -> Decision {
        let _ = message;
        Decision::Accept
    }

    /// Information that needs no answer: [`ServerEvent::TransactionReset`]
    /// (forget the content received so far), `TransactionFinished`,
    /// `TlsEstablished`, `ClientFault`.
    fn notice(&mut self, event: &ServerEvent) {
        let _ = event;
    }
}

/// `535 5.7.8`, the default answer to AUTH.
fn auth_refused() -> Decision {
    Decision::Reject(Reply::new(
        ReplyCode::new(535).expect("a reply code"),
        EnhancedCode::new(5, 7, 8),
        "Error: authentication failed",
    ))
}

/// A [`SyncHandler`] where a [`Handler`] is wanted: each call runs the
/// synchronous method and is complete when first polled. This is how the
/// blocking adapter runs its handlers on the shared drain loop
/// ([`crate::driver`]); under an async runtime it would block the runtime's
/// thread for as long as the method takes.
#[derive(Debug)]
pub struct FromSync<H>(std::sync::Mutex<H>);

impl<H> FromSync<H> {
    /// Wraps `handler`.
    pub fn new(handler: H) -> FromSync<H> {
        FromSync(std::sync::Mutex::new(handler))
    }

    /// The handler (a connection's own: `&mut`, so no lock is taken).
    fn get(&mut self) -> &mut H {
        self.0.get_mut().unwrap_or_else(|e| e.into_inner())
    }
}

impl<H: Clone> Clone for FromSync<H> {
    fn clone(&self) -> Self {
        FromSync::new(self.0.lock().unwrap_or_else(|e| e.into_inner()).clone())
    }
}

impl<H: SyncHandler> Handler for FromSync<H> {
    const BUFFER_CONTENT: bool = H::BUFFER_CONTENT;

    async fn connect(&mut self, info: &ConnectionInfo) -> Decision {
        self.get().connect(info)
    }

    async fn hello(&mut self, kind: HelloKind, name: &HeloName<'static>) -> Decision {
        self.get().hello(kind, name)
    }

    async fn auth(
        &mut self,
        mechanism: &Mechanism<'static>,
        credentials: &Credentials,
    ) -> Decision {
        self.get().auth(mechanism, credentials)
    }

    async fn mail_from(
        &mut self,
        from: &ReversePath<'static>,
        params: &MailParameters<'static>,
    ) -> Decision {
        self.get().mail_from(from, params)
    }

    async fn rcpt_to(
        &mut self,
        to: &ForwardPath<'static>,
        params: &RcptParameters<'static>,
    ) -> Decision {
        self.get().rcpt_to(to, params)
    }

    async fn data_start(&mut self, envelope: &Envelope) -> Decision {
        self.get().data_start(envelope)
    }

    async fn data(&mut self, piece: Bytes) {
        self.get().data(piece)
    }

    async fn message(&mut self, message: &Message) -> Decision {
        self.get().message(message)
    }

    async fn notice(&mut self, event: &ServerEvent) {
        self.get().notice(event)
    }
}
