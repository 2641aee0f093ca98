//! The connection under a session, written once for every adapter: a
//! [`Stream`] is a runtime's TCP socket, then (after STARTTLS, RFC 3207, or
//! from the start with implicit TLS, RFC 8314) a TLS stream over it. An
//! adapter supplies its socket and TLS streams as [`Io`] and its TLS library
//! (tokio-rustls, futures-rustls, rustls' `StreamOwned`) as [`Tls`].

use std::future::Future;
use std::io;
use std::sync::Arc;

use bytes::BytesMut;
use rustls_pki_types::ServerName;

use super::Transport;

/// A byte stream of a runtime: its TCP socket, or a TLS stream over it.
pub trait Io: Send {
    /// As [`Transport::read_into`].
    fn read_into(
        &mut self,
        buf: &mut BytesMut,
        size: usize,
    ) -> impl Future<Output = io::Result<usize>> + Send;

    /// Writes all of `bytes` and flushes (under TLS, the records too).
    fn write_all(&mut self, bytes: &[u8]) -> impl Future<Output = io::Result<()>> + Send;

    /// Closes the writing side: TLS `close_notify` first under TLS, then the
    /// socket's sending half, so the peer sees the end of the connection.
    fn shutdown(&mut self) -> impl Future<Output = io::Result<()>> + Send;

    /// As [`Transport::read_deadline`] (for streams whose reads block).
    fn read_deadline(&mut self, deadline: Option<std::time::Instant>) -> io::Result<()> {
        let _ = deadline;
        Ok(())
    }
}

/// A runtime's TLS library: how a plaintext socket becomes a TLS stream.
pub trait Tls: Send + Sync + 'static {
    /// The plaintext socket.
    type Tcp: Io;
    /// A server-side TLS stream over it.
    type Server: Io;
    /// A client-side TLS stream over it.
    type Client: Io;

    /// The server side of a handshake.
    fn accept(
        config: Arc<rustls::ServerConfig>,
        tcp: Self::Tcp,
    ) -> impl Future<Output = io::Result<Self::Server>> + Send;

    /// The client side of a handshake, checking the certificate for `name`.
    fn connect(
        config: Arc<rustls::ClientConfig>,
        name: ServerName<'static>,
        tcp: Self::Tcp,
    ) -> impl Future<Output = io::Result<Self::Client>> + Send;
}

/// The connection under a session: plaintext, or TLS once upgraded in place.
pub struct Stream<L: Tls>(Layer<L>);

enum Layer<L: Tls> {
    Plain(L::Tcp),
    /// Boxed: a TLS stream is large, and idle plaintext connections should
    /// not pay for it.
    Server(Box<L::Server>),
    Client(Box<L::Client>),
    /// Only while a handshake has the socket (and after it failed).
    Upgrading,
}

impl<L: Tls> std::fmt::Debug for Stream<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let layer = match self.0 {
            Layer::Plain(_) => "plain",
            Layer::Server(_) | Layer::Client(_) => "TLS",
            Layer::Upgrading => "upgrading",
        };
        f.debug_tuple("Stream").field(&layer).finish()
    }
}

/// Runs `$io` with `$s` bound to the stream that is up.
macro_rules! with_io {
    ($layer:expr, $s:ident => $io:expr) => {
        match $layer {
            Layer::Plain($s) => $io,
            Layer::Server($s) => $io,
            Layer::Client($s) => $io,
            Layer::Upgrading => Err(upgrading()),
        }
    };
}

fn upgrading() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "the TLS handshake failed")
}

impl<L: Tls> Stream<L> {
    /// A plaintext connection.
    pub fn new(tcp: L::Tcp) -> Stream<L> {
        Stream(Layer::Plain(tcp))
    }

    /// The plaintext socket, for a handshake; `Upgrading` meanwhile.
    fn take_plain(&mut self) -> io::Result<L::Tcp> {
        match std::mem::replace(&mut self.0, Layer::Upgrading) {
            Layer::Plain(tcp) => Ok(tcp),
            other => {
                self.0 = other;
                Err(io::Error::other("TLS is already up"))
            }
        }
    }
}

impl<L: Tls> Transport for Stream<L> {
    async fn read_into(&mut self, buf: &mut BytesMut, size: usize) -> io::Result<usize> {
        with_io!(&mut self.0, s => s.read_into(buf, size).await)
    }

    async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        with_io!(&mut self.0, s => s.write_all(bytes).await)
    }

    async fn accept_tls(&mut self, config: Arc<rustls::ServerConfig>) -> io::Result<()> {
        let tls = L::accept(config, self.take_plain()?).await?;
        self.0 = Layer::Server(Box::new(tls));
        Ok(())
    }

    async fn connect_tls(
        &mut self,
        config: Arc<rustls::ClientConfig>,
        name: ServerName<'static>,
    ) -> io::Result<()> {
        let tls = L::connect(config, name, self.take_plain()?).await?;
        self.0 = Layer::Client(Box::new(tls));
        Ok(())
    }

    async fn shutdown(&mut self) -> io::Result<()> {
        with_io!(&mut self.0, s => s.shutdown().await)
    }

    fn read_deadline(&mut self, deadline: Option<std::time::Instant>) -> io::Result<()> {
        with_io!(&mut self.0, s => s.read_deadline(deadline))
    }
}
