//! async-io as the shared code sees it: its timers (they work under smol and
//! async-std alike), its sockets and futures-rustls, under the
//! [`Stream`](smtp_adapter::driver::Stream) every adapter shares.

use std::io::{self, Read};
use std::net::{TcpStream, ToSocketAddrs};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use async_io::Async;
use bytes::BytesMut;
use futures_lite::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use rustls_pki_types::ServerName;
use smtp_adapter::driver::{Connect, Io, Runtime, Tls};
use smtp_adapter::options::ClientOptions;

/// async-io, as the shared code sees it: its timers for the drain loops, its
/// sockets and TLS library, how a [`ServerBuilder`](crate::server::ServerBuilder)
/// binds and how a [`Connection`](crate::client::Connection) connects.
#[derive(Debug, Clone, Copy)]
pub struct AsyncIo;

/// A connection of this adapter.
pub(crate) type Stream = smtp_adapter::driver::Stream<AsyncIo>;

impl Runtime for AsyncIo {
    async fn sleep_until(deadline: std::time::Instant) {
        async_io::Timer::at(deadline).await;
    }
}

impl Connect for AsyncIo {
    type Stream = Stream;

    async fn connect(options: &ClientOptions) -> io::Result<Stream> {
        let target = (options.host.clone(), options.port);
        let addrs: Vec<_> =
            blocking::unblock(move || target.to_socket_addrs().map(Iterator::collect)).await?;
        let mut last = io::Error::new(io::ErrorKind::NotFound, "no address for the host");
        for addr in addrs {
            let attempt = match options.source_address {
                None => Async::<TcpStream>::connect(addr).await,
                Some(source) => connect_from(addr, source).await,
            };
            match attempt {
                Ok(tcp) => {
                    let _ = tcp.get_ref().set_nodelay(true);
                    return Ok(Stream::new(Plain(tcp)));
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }
}

impl Tls for AsyncIo {
    type Tcp = Plain;
    type Server = TlsIo;
    type Client = TlsIo;

    async fn accept(config: Arc<rustls::ServerConfig>, tcp: Plain) -> io::Result<Self::Server> {
        let acceptor = futures_rustls::TlsAcceptor::from(config);
        acceptor.accept(tcp.0).await.map(|s| TlsIo(s.into()))
    }

    async fn connect(
        config: Arc<rustls::ClientConfig>,
        name: ServerName<'static>,
        tcp: Plain,
    ) -> io::Result<Self::Client> {
        let connector = futures_rustls::TlsConnector::from(config);
        connector
            .connect(name, tcp.0)
            .await
            .map(|s| TlsIo(s.into()))
    }
}

/// Connects to `addr` from `source`: a non-blocking connect, then waiting
/// for the socket to be writable (what `Async::<TcpStream>::connect` does).
async fn connect_from(
    addr: std::net::SocketAddr,
    source: std::net::IpAddr,
) -> io::Result<Async<TcpStream>> {
    let socket = smtp_adapter::options::bound_socket(addr, source)?;
    socket.set_nonblocking(true)?;
    match socket.connect(&addr.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(115) || e.kind() == io::ErrorKind::WouldBlock => {}
        Err(e) => return Err(e),
    }
    let tcp = Async::new(TcpStream::from(socket))?;
    tcp.writable().await?;
    match tcp.get_ref().take_error()? {
        Some(e) => Err(e),
        None => Ok(tcp),
    }
}

/// A plaintext async-io socket.
pub struct Plain(pub(crate) Async<TcpStream>);

impl Io for Plain {
    /// Waits for readiness first: an idle connection holds no buffer.
    async fn read_into(&mut self, buf: &mut BytesMut, size: usize) -> io::Result<usize> {
        loop {
            self.0.readable().await?;
            let mut socket: &TcpStream = self.0.get_ref();
            let len = buf.len();
            buf.resize(len + size, 0);
            let result = socket.read(&mut buf[len..]);
            buf.truncate(len + *result.as_ref().unwrap_or(&0));
            match result {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if buf.is_empty() {
                        *buf = BytesMut::new();
                    }
                }
                result => return result,
            }
        }
    }

    async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        write_flush(&mut self.0, bytes).await
    }

    async fn shutdown(&mut self) -> io::Result<()> {
        self.0.get_ref().shutdown(std::net::Shutdown::Write)
    }
}

/// A futures-rustls stream (server or client side) as the shared code sees it.
pub struct TlsIo(futures_rustls::TlsStream<Async<TcpStream>>);

impl Io for TlsIo {
    /// rustls buffers the records itself.
    async fn read_into(&mut self, buf: &mut BytesMut, size: usize) -> io::Result<usize> {
        read_buf(&mut self.0, buf, size).await
    }

    async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        write_flush(&mut self.0, bytes).await
    }

    /// Sends `close_notify`; but async-io's `poll_close` only flushes, and
    /// the peer sees the end of the connection only once the write half is
    /// shut, as tokio's `shutdown` and the blocking adapter do.
    async fn shutdown(&mut self) -> io::Result<()> {
        self.0.close().await?;
        self.0
            .get_ref()
            .0
            .get_ref()
            .shutdown(std::net::Shutdown::Write)
    }
}

async fn write_flush(s: &mut (impl AsyncWrite + Unpin), bytes: &[u8]) -> io::Result<()> {
    s.write_all(bytes).await?;
    s.flush().await
}

/// Reads from any futures-io reader into `size` octets of room at the end of
/// `buf`. The room is made, filled and trimmed within one poll, so a read
/// that loses a race (and is dropped) leaves `buf` as it was.
pub(crate) async fn read_buf(
    reader: &mut (impl AsyncRead + Unpin),
    buf: &mut BytesMut,
    size: usize,
) -> io::Result<usize> {
    futures_lite::future::poll_fn(|cx| {
        let len = buf.len();
        buf.resize(len + size, 0);
        let poll = Pin::new(&mut *reader).poll_read(cx, &mut buf[len..]);
        let n = match &poll {
            Poll::Ready(Ok(n)) => *n,
            _ => 0,
        };
        buf.truncate(len + n);
        poll
    })
    .await
}
