//! A TCP connection on async-io, plaintext or TLS (futures-rustls), that can
//! be upgraded in place (STARTTLS, RFC 3207), and the async-io timers: what
//! the shared drain loops of `smtp_adapter::driver` need.

use std::io::{self, Read};
use std::net::TcpStream;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use async_io::Async;
use bytes::BytesMut;
use futures_lite::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use rustls_pki_types::ServerName;
use smtp_adapter::driver::{Runtime, Transport};

/// async-io, as the shared code sees it: its timers for the drain loops
/// (they work under smol and async-std alike), and how a
/// [`ServerBuilder`](crate::server::ServerBuilder) binds.
#[derive(Debug, Clone, Copy)]
pub struct AsyncIo;

impl Runtime for AsyncIo {
    async fn sleep_until(deadline: std::time::Instant) {
        async_io::Timer::at(deadline).await;
    }
}

/// The connection under a session.
pub(crate) enum Stream {
    Plain(Async<TcpStream>),
    Server(Box<futures_rustls::server::TlsStream<Async<TcpStream>>>),
    Client(Box<futures_rustls::client::TlsStream<Async<TcpStream>>>),
    /// Only while a handshake has the socket; any I/O is an error.
    Upgrading,
}

fn upgrading() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "the TLS handshake failed")
}

/// Reads into the spare room of `buf` (`size` octets made available).
fn read_with(
    buf: &mut BytesMut,
    size: usize,
    read: impl FnOnce(&mut [u8]) -> io::Result<usize>,
) -> io::Result<usize> {
    let len = buf.len();
    buf.resize(len + size, 0);
    let result = read(&mut buf[len..]);
    buf.truncate(len + *result.as_ref().unwrap_or(&0));
    result
}

impl Transport for Stream {
    async fn read_into(&mut self, buf: &mut BytesMut, size: usize) -> io::Result<usize> {
        match self {
            // Wait for readiness first: an idle connection holds no buffer.
            Stream::Plain(tcp) => loop {
                tcp.readable().await?;
                let mut socket: &TcpStream = tcp.get_ref();
                match read_with(buf, size, |spare| socket.read(spare)) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        if buf.is_empty() {
                            *buf = BytesMut::new();
                        }
                    }
                    result => return result,
                }
            },
            // Under TLS, rustls buffers the records itself. The room is made,
            // filled and trimmed within one poll, so a read that loses a race
            // (and is dropped) leaves `buf` as it was.
            tls => {
                futures_lite::future::poll_fn(|cx| {
                    let len = buf.len();
                    buf.resize(len + size, 0);
                    let poll = Pin::new(&mut *tls).poll_read(cx, &mut buf[len..]);
                    let n = match &poll {
                        Poll::Ready(Ok(n)) => *n,
                        _ => 0,
                    };
                    buf.truncate(len + n);
                    poll
                })
                .await
            }
        }
    }

    async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        AsyncWriteExt::write_all(self, bytes).await?;
        self.flush().await
    }

    async fn accept_tls(&mut self, config: Arc<rustls::ServerConfig>) -> io::Result<()> {
        let Stream::Plain(tcp) = std::mem::replace(self, Stream::Upgrading) else {
            return Err(io::Error::other("TLS is already up"));
        };
        let tls = futures_rustls::TlsAcceptor::from(config)
            .accept(tcp)
            .await?;
        *self = Stream::Server(Box::new(tls));
        Ok(())
    }

    async fn connect_tls(
        &mut self,
        config: Arc<rustls::ClientConfig>,
        name: ServerName<'static>,
    ) -> io::Result<()> {
        let Stream::Plain(tcp) = std::mem::replace(self, Stream::Upgrading) else {
            return Err(io::Error::other("TLS is already up"));
        };
        let tls = futures_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await?;
        *self = Stream::Client(Box::new(tls));
        Ok(())
    }

    async fn shutdown(&mut self) -> io::Result<()> {
        // Flushes (and sends TLS close_notify under TLS)...
        self.close().await?;
        // ...but async-io's `poll_close` only flushes: the peer sees the end
        // of the connection only once the write half is shut, as tokio's
        // `shutdown` and the blocking adapter do.
        let tcp = match self {
            Stream::Plain(s) => s.get_ref(),
            Stream::Server(s) => s.get_ref().0.get_ref(),
            Stream::Client(s) => s.get_ref().0.get_ref(),
            Stream::Upgrading => return Err(upgrading()),
        };
        tcp.shutdown(std::net::Shutdown::Write)
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
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

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_close(cx),
            Stream::Server(s) => Pin::new(s).poll_close(cx),
            Stream::Client(s) => Pin::new(s).poll_close(cx),
            Stream::Upgrading => Poll::Ready(Ok(())),
        }
    }
}
