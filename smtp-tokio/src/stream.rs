//! A TCP connection that is plaintext or TLS, and can be upgraded in place
//! (STARTTLS, RFC 3207).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls_pki_types::ServerName;
use smtp_adapter::driver::{Runtime, Transport};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

/// The tokio runtime, as the shared code sees it: its timers for the drain
/// loops, and how a [`ServerBuilder`](crate::server::ServerBuilder) binds.
#[derive(Debug, Clone, Copy)]
pub struct Tokio;

impl Runtime for Tokio {
    fn sleep_until(deadline: std::time::Instant) -> impl std::future::Future<Output = ()> + Send {
        tokio::time::sleep_until(tokio::time::Instant::from_std(deadline))
    }
}

impl Transport for Stream {
    async fn read_into(&mut self, buf: &mut bytes::BytesMut, size: usize) -> io::Result<usize> {
        Stream::read_into(self, buf, size).await
    }

    async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        AsyncWriteExt::write_all(self, bytes).await?;
        self.flush().await
    }

    async fn accept_tls(&mut self, config: Arc<rustls::ServerConfig>) -> io::Result<()> {
        Stream::accept_tls(self, config).await
    }

    async fn connect_tls(
        &mut self,
        config: Arc<rustls::ClientConfig>,
        name: ServerName<'static>,
    ) -> io::Result<()> {
        Stream::connect_tls(self, config, name).await
    }

    async fn shutdown(&mut self) -> io::Result<()> {
        AsyncWriteExt::shutdown(self).await
    }
}

/// The connection under a session.
pub(crate) enum Stream {
    Plain(TcpStream),
    Server(Box<tokio_rustls::server::TlsStream<TcpStream>>),
    Client(Box<tokio_rustls::client::TlsStream<TcpStream>>),
    /// Only while a handshake has the socket; any I/O is an error.
    Upgrading,
}

fn upgrading() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "the TLS handshake failed")
}

impl Stream {
    /// Reads into `buf`, reserving `size` octets only once there is something
    /// to read on a plaintext connection: an idle connection holds no read
    /// buffer. (Under TLS, rustls buffers the records itself.)
    pub(crate) async fn read_into(
        &mut self,
        buf: &mut bytes::BytesMut,
        size: usize,
    ) -> io::Result<usize> {
        use tokio::io::AsyncReadExt;
        let reserve = |buf: &mut bytes::BytesMut| {
            if buf.capacity() - buf.len() < size / 4 {
                buf.reserve(size);
            }
        };
        match self {
            Stream::Plain(tcp) => loop {
                tcp.readable().await?;
                reserve(buf);
                match tcp.try_read_buf(buf) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        // A wake-up with nothing to read: give the buffer back.
                        if buf.is_empty() {
                            *buf = bytes::BytesMut::new();
                        }
                        continue;
                    }
                    result => return result,
                }
            },
            other => {
                reserve(buf);
                other.read_buf(buf).await
            }
        }
    }

    /// The server side of a TLS handshake on this (plaintext) connection.
    pub(crate) async fn accept_tls(&mut self, config: Arc<rustls::ServerConfig>) -> io::Result<()> {
        let Stream::Plain(tcp) = std::mem::replace(self, Stream::Upgrading) else {
            return Err(io::Error::other("TLS is already up"));
        };
        let tls = tokio_rustls::TlsAcceptor::from(config).accept(tcp).await?;
        *self = Stream::Server(Box::new(tls));
        Ok(())
    }

    /// The client side of a TLS handshake on this (plaintext) connection.
    pub(crate) async fn connect_tls(
        &mut self,
        config: Arc<rustls::ClientConfig>,
        name: ServerName<'static>,
    ) -> io::Result<()> {
        let Stream::Plain(tcp) = std::mem::replace(self, Stream::Upgrading) else {
            return Err(io::Error::other("TLS is already up"));
        };
        let tls = tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await?;
        *self = Stream::Client(Box::new(tls));
        Ok(())
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Server(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Client(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Upgrading => Poll::Ready(Err(upgrading())),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Server(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Client(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Upgrading => Poll::Ready(Err(upgrading())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Server(s) => Pin::new(s).poll_flush(cx),
            Stream::Client(s) => Pin::new(s).poll_flush(cx),
            Stream::Upgrading => Poll::Ready(Err(upgrading())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Server(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Client(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Upgrading => Poll::Ready(Ok(())),
        }
    }
}
