//! A blocking TCP connection that is plaintext or TLS (rustls `StreamOwned`),
//! and can be upgraded in place (STARTTLS, RFC 3207), as the shared drain
//! loops of `smtp_adapter::driver` take it; and the thread as their runtime.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use rustls::{ClientConnection, ServerConnection, StreamOwned};
use rustls_pki_types::ServerName;
use smtp_adapter::driver::{Connect, Io, Runtime, Tls};
use smtp_adapter::options::ClientOptions;

/// The runtime of this adapter, as the shared drain loops see it: no
/// executor, just the thread. Its timer sleeps; reads block with the socket's
/// read timeout set to the session's deadline ([`Transport::read_deadline`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Threads;

impl Runtime for Threads {
    async fn sleep_until(deadline: std::time::Instant) {
        std::thread::sleep(deadline.saturating_duration_since(std::time::Instant::now()));
    }
}

/// Runs a drain loop on this thread. Every future of this adapter completes
/// when first polled (its I/O blocks instead of returning `Pending`), except
/// a wait for nothing but a shutdown, which parks the thread until then.
pub(crate) fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    futures_lite::future::block_on(f)
}

/// A connection of this adapter.
pub(crate) type Stream = smtp_adapter::driver::Stream<Threads>;

impl Connect for Threads {
    type Stream = Stream;

    /// The first address of `host:port` that answers within the connect
    /// timeout; writes then give up after the write timeout.
    async fn connect(options: &ClientOptions) -> io::Result<Stream> {
        let (timeout, mut last) = (options.connect_timeout, None);
        for addr in (options.host.as_str(), options.port).to_socket_addrs()? {
            let attempt = match options.source_address {
                None => TcpStream::connect_timeout(&addr, timeout),
                Some(source) => smtp_adapter::options::bound_socket(addr, source)
                    .and_then(|s| s.connect_timeout(&addr.into(), timeout).map(|()| s.into())),
            };
            match attempt {
                Ok(tcp) => return Plain::new(tcp, options.write_timeout, timeout).map(Stream::new),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address")))
    }
}

impl Tls for Threads {
    type Tcp = Plain;
    type Server = Owned<ServerConnection>;
    type Client = Owned<ClientConnection>;

    async fn accept(config: Arc<rustls::ServerConfig>, tcp: Plain) -> io::Result<Self::Server> {
        let conn = ServerConnection::new(config).map_err(tls_error)?;
        let mut tls = StreamOwned::new(conn, tcp.tcp);
        handshake(&mut tls.conn, &mut tls.sock, tcp.handshake_timeout)?;
        Ok(Owned(tls))
    }

    async fn connect(
        config: Arc<rustls::ClientConfig>,
        name: ServerName<'static>,
        tcp: Plain,
    ) -> io::Result<Self::Client> {
        let conn = ClientConnection::new(config, name).map_err(tls_error)?;
        let mut tls = StreamOwned::new(conn, tcp.tcp);
        handshake(&mut tls.conn, &mut tls.sock, tcp.handshake_timeout)?;
        Ok(Owned(tls))
    }
}

fn tls_error(e: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

/// A plaintext blocking socket.
pub(crate) struct Plain {
    tcp: TcpStream,
    /// How long a TLS handshake on it may take (a blocking handshake cannot
    /// be raced against a timer: it sets the socket's timeouts instead).
    handshake_timeout: Duration,
}

impl Plain {
    /// A socket whose writes give up after `write_timeout` (RFC 5321
    /// §4.5.3.2: a peer that does not read is cut off) and whose TLS
    /// handshakes after `handshake_timeout`.
    pub(crate) fn new(
        tcp: TcpStream,
        write_timeout: Duration,
        handshake_timeout: Duration,
    ) -> io::Result<Plain> {
        let _ = tcp.set_nodelay(true);
        tcp.set_write_timeout(Some(write_timeout.max(Duration::from_millis(1))))?;
        Ok(Plain {
            tcp,
            handshake_timeout,
        })
    }
}

impl Io for Plain {
    async fn read_into(&mut self, buf: &mut BytesMut, size: usize) -> io::Result<usize> {
        read_into(&mut self.tcp, buf, size)
    }

    async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.tcp.write_all(bytes)
    }

    async fn shutdown(&mut self) -> io::Result<()> {
        self.tcp.shutdown(Shutdown::Write)
    }

    fn read_deadline(&mut self, deadline: Option<std::time::Instant>) -> io::Result<()> {
        read_deadline(&self.tcp, deadline)
    }
}

/// A rustls `StreamOwned` over a blocking socket.
pub(crate) struct Owned<C>(StreamOwned<C, TcpStream>);

impl<C, S> Io for Owned<C>
where
    C: std::ops::DerefMut<Target = rustls::ConnectionCommon<S>> + Send,
    S: rustls::SideData,
{
    async fn read_into(&mut self, buf: &mut BytesMut, size: usize) -> io::Result<usize> {
        match read_into(&mut self.0, buf, size) {
            // A peer gone without close_notify is an end of input too.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
            other => other,
        }
    }

    async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.0.write_all(bytes)?;
        self.0.flush()
    }

    /// `close_notify`, then the sending half of the socket.
    async fn shutdown(&mut self) -> io::Result<()> {
        self.0.conn.send_close_notify();
        let _ = self.0.flush();
        self.0.sock.shutdown(Shutdown::Write)
    }

    fn read_deadline(&mut self, deadline: Option<std::time::Instant>) -> io::Result<()> {
        read_deadline(&self.0.sock, deadline)
    }
}

/// Reads into a buffer on the stack and keeps only what was read: an idle
/// connection holds no read buffer on the heap.
fn read_into(reader: &mut impl Read, buf: &mut BytesMut, size: usize) -> io::Result<usize> {
    let mut chunk = [0u8; 8 * 1024];
    let n = reader.read(&mut chunk[..size.min(8 * 1024)])?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n)
}

/// The socket's read timeout (`None`: block; a deadline that passed is a
/// millisecond, as zero is not allowed).
fn read_deadline(tcp: &TcpStream, deadline: Option<std::time::Instant>) -> io::Result<()> {
    let timeout = deadline.map(|at| {
        at.saturating_duration_since(std::time::Instant::now())
            .max(Duration::from_millis(1))
    });
    tcp.set_read_timeout(timeout)
}

/// Runs a handshake to its end under a time limit.
fn handshake<C, S>(conn: &mut C, tcp: &mut TcpStream, timeout: Duration) -> io::Result<()>
where
    C: std::ops::DerefMut<Target = rustls::ConnectionCommon<S>>,
{
    let end = std::time::Instant::now() + timeout;
    let (read, write) = (tcp.read_timeout()?, tcp.write_timeout()?);
    while conn.is_handshaking() {
        let left = end.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "TLS handshake timed out",
            ));
        }
        tcp.set_read_timeout(Some(left))?;
        tcp.set_write_timeout(Some(left))?;
        match conn.complete_io(tcp) {
            Ok((0, 0)) if conn.is_handshaking() => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "closed during the TLS handshake",
                ));
            }
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "TLS handshake timed out",
                ));
            }
            Err(e) => return Err(e),
        }
    }
    // Whatever the handshake left to send (the server's last flight).
    while conn.wants_write() {
        conn.write_tls(tcp)?;
    }
    tcp.set_read_timeout(read)?;
    tcp.set_write_timeout(write)?;
    Ok(())
}
