//! Sending mail on tokio: a [`Connection`] to one server, set up as
//! [`ClientOptions`] say (plain, STARTTLS required or opportunistic, implicit
//! TLS; AUTH), that sends messages one after another, and a small [`Pool`].
//!
//! ```no_run
//! use smtp_tokio::client::{ClientOptions, Connection};
//! use smtp_tokio::proto::client::Envelope;
//!
//! # async fn send() -> Result<(), smtp_tokio::client::Error> {
//! let options = ClientOptions::from_url("smtp://me%40example.com:app-password@smtp.example.com:587?tls=required")?;
//! let mut connection = Connection::connect(&options).await?;
//! let envelope = Envelope::parse("me@example.com", ["you@example.org"]).expect("valid addresses");
//! let result = connection
//!     .send(envelope, &b"Subject: hello\r\n\r\nHi!\r\n"[..])
//!     .await?;
//! for rcpt in &result.recipients {
//!     println!("{} {}", rcpt.path, rcpt.reply());
//! }
//! connection.quit().await?;
//! # Ok(()) }
//! ```
//!
//! # Settings of well-known providers
//!
//! Each takes an app password (made in the account's security settings when
//! two-step verification is on) or an OAuth 2.0 access token (`auth=xoauth2`);
//! `%40` is the `@` of the user name.
//!
//! | provider | URL |
//! |---|---|
//! | Gmail / Google Workspace | `smtp://me%40gmail.com:APP-PASSWORD@smtp.gmail.com:587?tls=required` or `smtps://…@smtp.gmail.com:465`; OAuth: `…?tls=required&auth=xoauth2` with the access token as password |
//! | Outlook.com / Microsoft 365 | `smtp://me%40outlook.com:TOKEN@smtp-mail.outlook.com:587?tls=required&auth=xoauth2` (Microsoft 365: `smtp.office365.com:587`; basic AUTH is being retired there, so use the token) |
//! | Yahoo Mail | `smtps://me%40yahoo.com:APP-PASSWORD@smtp.mail.yahoo.com:465` |
//! | Zoho Mail | `smtps://me%40zoho.com:APP-PASSWORD@smtp.zoho.com:465` (`smtppro.zoho.com` for a domain of your own) |
//! | Fastmail | `smtps://me%40fastmail.com:APP-PASSWORD@smtp.fastmail.com:465` |

mod pool;

use std::io;

use bytes::BytesMut;
use smtp_adapter::driver::{Body, ClientConnection, within};
use smtp_proto::client::{Envelope, TransactionResult};
use smtp_proto::ext::Capabilities;
use smtp_proto::reply::Reply;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::TcpStream;

pub use pool::Pool;
pub use smtp_adapter::options::{ClientOptions, Error, Security, UrlError};

use crate::stream::{Stream, Tokio};

/// A message body read from any tokio reader.
struct TokioBody<R>(R);

impl<R: AsyncRead + Unpin + Send> Body for TokioBody<R> {
    async fn read_into(&mut self, buf: &mut BytesMut) -> io::Result<usize> {
        self.0.read_buf(buf).await
    }
}

/// One connection to a server, set up and ready to send (the shared client
/// drain loop over a tokio socket).
#[derive(Debug)]
pub struct Connection(ClientConnection<Stream, Tokio>);

impl Connection {
    /// Connects and sets the session up: TLS first with implicit TLS, then
    /// greeting, EHLO, STARTTLS and EHLO again, AUTH, as the options say.
    pub async fn connect(options: &ClientOptions) -> Result<Connection, Error> {
        let tcp = within::<Tokio, _>(
            options.connect_timeout,
            "connect",
            TcpStream::connect((options.host.as_str(), options.port)),
        )
        .await
        .map_err(Error::Io)?;
        let _ = tcp.set_nodelay(true);
        ClientConnection::start(Stream::Plain(tcp), options)
            .await
            .map(Connection)
    }

    /// What the server offers (after TLS, what it offers under TLS).
    pub fn capabilities(&self) -> Option<&Capabilities> {
        self.0.capabilities()
    }

    /// Whether TLS is up.
    pub fn is_tls(&self) -> bool {
        self.0.is_tls()
    }

    /// Whether the session is ready for another message.
    pub fn is_ready(&self) -> bool {
        self.0.is_ready()
    }

    /// Sends one message: the envelope, then the body read to its end (bytes,
    /// `&[u8]`, or any tokio reader). The body is the message as it should
    /// arrive (headers, empty line, text); dot-stuffing and line endings are
    /// the session's job. Returns one result per recipient (some may be
    /// refused while others are delivered); a transaction refused as a whole
    /// is [`Error::Refused`], and the connection stays usable.
    pub async fn send<R: AsyncRead + Unpin + Send>(
        &mut self,
        envelope: Envelope,
        body: R,
    ) -> Result<TransactionResult, Error> {
        self.0.send(envelope, TokioBody(body)).await
    }

    /// `RSET` (RFC 5321 §4.1.1.5), e.g. before reusing a connection; returns the reply.
    pub async fn rset(&mut self) -> Result<Reply, Error> {
        self.0.rset().await
    }

    /// `NOOP` (RFC 5321 §4.1.1.9), to check that the connection is alive.
    pub async fn noop(&mut self) -> Result<Reply, Error> {
        self.0.noop().await
    }

    /// `QUIT` and close (RFC 5321 §4.1.1.10).
    pub async fn quit(self) -> Result<(), Error> {
        self.0.quit().await
    }
}
