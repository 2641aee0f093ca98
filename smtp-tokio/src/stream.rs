//! tokio as the shared code sees it: its timers, its sockets and tokio-rustls,
//! under the [`Stream`](smtp_adapter::driver::Stream) every adapter shares.

use std::io;
use std::sync::Arc;

use bytes::BytesMut;
use rustls_pki_types::ServerName;
use smtp_adapter::driver::{Connect, Io, Runtime, Tls};
use smtp_adapter::options::ClientOptions;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// The tokio runtime, as the shared code sees it: its timers for the drain
/// loops, its sockets and TLS library, how a
/// [`ServerBuilder`](crate::server::ServerBuilder) binds and how a
/// [`Connection`](crate::client::Connection) connects.
#[derive(Debug, Clone, Copy)]
pub struct Tokio;

/// A connection of this adapter.
pub(crate) type Stream = smtp_adapter::driver::Stream<Tokio>;

impl Runtime for Tokio {
    fn sleep_until(deadline: std::time::Instant) -> impl std::future::Future<Output = ()> + Send {
        tokio::time::sleep_until(tokio::time::Instant::from_std(deadline))
    }
}

impl Connect for Tokio {
    type Stream = Stream;

    async fn connect(options: &ClientOptions) -> io::Result<Stream> {
        let tcp = match options.source_address {
            None => TcpStream::connect((options.host.as_str(), options.port)).await?,
            Some(source) => {
                let mut last = io::Error::new(io::ErrorKind::NotFound, "no address for the host");
                let mut connected = None;
                for addr in tokio::net::lookup_host((options.host.as_str(), options.port)).await? {
                    let socket = smtp_adapter::options::bound_socket(addr, source)?;
                    socket.set_nonblocking(true)?;
                    let socket = tokio::net::TcpSocket::from_std_stream(socket.into());
                    match socket.connect(addr).await {
                        Ok(tcp) => {
                            connected = Some(tcp);
                            break;
                        }
                        Err(e) => last = e,
                    }
                }
                connected.ok_or(last)?
            }
        };
        let _ = tcp.set_nodelay(true);
        Ok(Stream::new(Plain(tcp)))
    }
}

impl Tls for Tokio {
    type Tcp = Plain;
    type Server = Wrap<tokio_rustls::server::TlsStream<TcpStream>>;
    type Client = Wrap<tokio_rustls::client::TlsStream<TcpStream>>;

    async fn accept(config: Arc<rustls::ServerConfig>, tcp: Plain) -> io::Result<Self::Server> {
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        acceptor.accept(tcp.0).await.map(Wrap)
    }

    async fn connect(
        config: Arc<rustls::ClientConfig>,
        name: ServerName<'static>,
        tcp: Plain,
    ) -> io::Result<Self::Client> {
        let connector = tokio_rustls::TlsConnector::from(config);
        connector.connect(name, tcp.0).await.map(Wrap)
    }
}

/// A plaintext tokio socket.
pub struct Plain(pub(crate) TcpStream);

impl Io for Plain {
    /// Reserves `size` octets only once there is something to read: an idle
    /// connection holds no read buffer.
    async fn read_into(&mut self, buf: &mut BytesMut, size: usize) -> io::Result<usize> {
        loop {
            self.0.readable().await?;
            reserve(buf, size);
            match self.0.try_read_buf(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // A wake-up with nothing to read: give the buffer back.
                    if buf.is_empty() {
                        *buf = BytesMut::new();
                    }
                }
                result => return result,
            }
        }
    }

    async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        Wrap(&mut self.0).write_all(bytes).await
    }

    async fn shutdown(&mut self) -> io::Result<()> {
        Wrap(&mut self.0).shutdown().await
    }
}

/// Any tokio stream (here, a TLS stream) as the shared code sees it.
pub struct Wrap<S>(S);

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Io for Wrap<S> {
    /// Under TLS, rustls buffers the records itself.
    async fn read_into(&mut self, buf: &mut BytesMut, size: usize) -> io::Result<usize> {
        reserve(buf, size);
        self.0.read_buf(buf).await
    }

    async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        AsyncWriteExt::write_all(&mut self.0, bytes).await?;
        self.0.flush().await
    }

    async fn shutdown(&mut self) -> io::Result<()> {
        AsyncWriteExt::shutdown(&mut self.0).await
    }
}

/// Makes room for about `size` octets unless a quarter of that is free.
fn reserve(buf: &mut BytesMut, size: usize) {
    if buf.capacity() - buf.len() < size / 4 {
        buf.reserve(size);
    }
}
