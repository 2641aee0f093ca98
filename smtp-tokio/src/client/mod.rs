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
use smtp_adapter::driver::{Body, ClientConnection};
use tokio::io::{AsyncRead, AsyncReadExt};

pub use pool::Pool;
pub use smtp_adapter::options::{ClientOptions, Error, Security, UrlError};

use crate::stream::Tokio;

/// One connection to a server, set up and ready to send: the shared client
/// drain loop over a tokio socket. [`Connection::connect`] opens it;
/// [`Connection::send`] takes the body as bytes (`&[u8]`) or any tokio
/// reader in a [`Reader`].
pub type Connection = ClientConnection<Tokio>;

/// A message body read from a tokio reader (a file, a pipe, a socket), to
/// [`Connection::send`] a large message without holding it in memory.
#[derive(Debug)]
pub struct Reader<R>(pub R);

impl<R: AsyncRead + Unpin + Send> Body for Reader<R> {
    async fn read_into(&mut self, buf: &mut BytesMut) -> io::Result<usize> {
        self.0.read_buf(buf).await
    }
}
