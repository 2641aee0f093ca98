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
use std::net::{TcpStream, ToSocketAddrs};
use std::pin::Pin;

use async_io::Async;
use bytes::BytesMut;
use futures_lite::io::AsyncRead;
use smtp_adapter::driver::{Body, ClientConnection, within};
use smtp_proto::client::{Envelope, TransactionResult};
use smtp_proto::ext::Capabilities;
use smtp_proto::reply::Reply;

pub use smtp_adapter::options::{ClientOptions, Error, Security, UrlError};

use crate::stream::{AsyncIo, Stream};

/// A message body read from any futures-io reader.
struct FuturesBody<R>(R);

impl<R: AsyncRead + Unpin + Send> Body for FuturesBody<R> {
    async fn read_into(&mut self, buf: &mut BytesMut) -> io::Result<usize> {
        futures_lite::future::poll_fn(|cx| {
            let len = buf.len();
            buf.resize(len + 64 * 1024, 0);
            let poll = Pin::new(&mut self.0).poll_read(cx, &mut buf[len..]);
            let n = match &poll {
                std::task::Poll::Ready(Ok(n)) => *n,
                _ => 0,
            };
            buf.truncate(len + n);
            poll
        })
        .await
    }
}

/// One connection to a server, set up and ready to send.
#[derive(Debug)]
pub struct Connection(ClientConnection<Stream, AsyncIo>);

async fn connect_tcp(host: &str, port: u16) -> io::Result<Async<TcpStream>> {
    let target = (host.to_string(), port);
    let addrs: Vec<_> =
        blocking::unblock(move || target.to_socket_addrs().map(Iterator::collect)).await?;
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no address for the host");
    for addr in addrs {
        match Async::<TcpStream>::connect(addr).await {
            Ok(tcp) => return Ok(tcp),
            Err(e) => last = e,
        }
    }
    Err(last)
}

impl Connection {
    /// Connects and sets the session up: TLS first with implicit TLS, then
    /// greeting, EHLO, STARTTLS and EHLO again, AUTH, as the options say.
    pub async fn connect(options: &ClientOptions) -> Result<Connection, Error> {
        let tcp = within::<AsyncIo, _>(
            options.connect_timeout,
            "connect",
            connect_tcp(&options.host, options.port),
        )
        .await
        .map_err(Error::Io)?;
        let _ = tcp.get_ref().set_nodelay(true);
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

    /// Sends one message (see smtp-tokio's `Connection::send`): the body from
    /// bytes or any futures-io reader; one result per recipient; a
    /// transaction refused as a whole is [`Error::Refused`].
    pub async fn send<R: AsyncRead + Unpin + Send>(
        &mut self,
        envelope: Envelope,
        body: R,
    ) -> Result<TransactionResult, Error> {
        self.0.send(envelope, FuturesBody(body)).await
    }

    /// `RSET` (RFC 5321 §4.1.1.5).
    pub async fn rset(&mut self) -> Result<Reply, Error> {
        self.0.rset().await
    }

    /// `NOOP` (RFC 5321 §4.1.1.9).
    pub async fn noop(&mut self) -> Result<Reply, Error> {
        self.0.noop().await
    }

    /// `QUIT` and close (RFC 5321 §4.1.1.10).
    pub async fn quit(self) -> Result<(), Error> {
        self.0.quit().await
    }
}
