//! Sending mail on async-io (smol, async-std): a [`Connection`] to one server,
//! set up as [`ClientOptions`] say (plain, STARTTLS required or opportunistic,
//! implicit TLS; AUTH), that sends messages one after another.
//!
//! ```no_run
//! use smtp_async_std::client::{ClientOptions, Connection};
//! use smtp_async_std::proto::client::Envelope;
//!
//! # fn main() -> Result<(), smtp_async_std::client::Error> {
//! smol::block_on(async {
//!     let options = ClientOptions::from_url("smtp://user:pass@smtp.example.com:587?tls=required")?;
//!     let mut connection = Connection::connect(&options).await?;
//!     let envelope = Envelope::parse("me@example.com", ["you@example.org"]).expect("addresses");
//!     connection.send(envelope, &b"Subject: hi\r\n\r\nHello!\r\n"[..]).await?;
//!     connection.quit().await
//! })
//! # }
//! ```

use std::io;

use bytes::BytesMut;
use futures_lite::io::AsyncRead;
use smtp_adapter::driver::{Body, ClientConnection};

pub use smtp_adapter::options::{ClientOptions, Error, Security, UrlError};

use crate::stream::{AsyncIo, read_buf};

/// One connection to a server, set up and ready to send: the shared client
/// drain loop over an async-io socket. [`Connection::connect`] opens it;
/// [`Connection::send`] takes the body as bytes (`&[u8]`) or any futures-io
/// reader in a [`Reader`].
pub type Connection = ClientConnection<AsyncIo>;

/// A message body read from a futures-io reader (a file, a pipe, a socket),
/// to [`Connection::send`] a large message without holding it in memory.
#[derive(Debug)]
pub struct Reader<R>(pub R);

impl<R: AsyncRead + Unpin + Send> Body for Reader<R> {
    async fn read_into(&mut self, buf: &mut BytesMut) -> io::Result<usize> {
        read_buf(&mut self.0, buf, 64 * 1024).await
    }
}
