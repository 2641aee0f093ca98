//! A TCP connection that is plaintext or TLS (rustls `StreamOwned`), and can
//! be upgraded in place (STARTTLS, RFC 3207).

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use rustls::{ClientConnection, ServerConnection, StreamOwned};
use rustls_pki_types::ServerName;

/// The connection under a session.
pub(crate) enum Stream {
    Plain(TcpStream),
    Server(Box<StreamOwned<ServerConnection, TcpStream>>),
    Client(Box<StreamOwned<ClientConnection, TcpStream>>),
    /// Only while a handshake has the socket; any I/O is an error.
    Upgrading,
}

fn upgrading() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "the TLS handshake failed")
}

fn tls_error(e: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

impl Stream {
    /// The socket under it.
    pub(crate) fn tcp(&self) -> io::Result<&TcpStream> {
        match self {
            Stream::Plain(s) => Ok(s),
            Stream::Server(s) => Ok(&s.sock),
            Stream::Client(s) => Ok(&s.sock),
            Stream::Upgrading => Err(upgrading()),
        }
    }

    /// Whether TLS is up.
    pub(crate) fn is_tls(&self) -> bool {
        matches!(self, Stream::Server(_) | Stream::Client(_))
    }

    /// Sets the read timeout of the socket (`None`: block; a zero duration
    /// is raised to a millisecond, as zero is not allowed).
    pub(crate) fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.tcp()?
            .set_read_timeout(timeout.map(|d| d.max(Duration::from_millis(1))))
    }

    /// Writes one batch and flushes it (under TLS, the records too).
    pub(crate) fn write_batch(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.write_all(bytes)?;
        self.flush()
    }

    /// Closes: `close_notify` under TLS, then the sending half of the socket.
    pub(crate) fn close(&mut self) {
        match self {
            Stream::Server(s) => {
                s.conn.send_close_notify();
                let _ = s.flush();
            }
            Stream::Client(s) => {
                s.conn.send_close_notify();
                let _ = s.flush();
            }
            _ => {}
        }
        if let Ok(tcp) = self.tcp() {
            let _ = tcp.shutdown(Shutdown::Write);
        }
    }

    /// The server side of a TLS handshake on this (plaintext) connection,
    /// bounded by `timeout` (the socket's read and write timeouts meanwhile).
    pub(crate) fn accept_tls(
        &mut self,
        config: Arc<rustls::ServerConfig>,
        timeout: Duration,
    ) -> io::Result<()> {
        let Stream::Plain(tcp) = std::mem::replace(self, Stream::Upgrading) else {
            return Err(io::Error::other("TLS is already up"));
        };
        let conn = ServerConnection::new(config).map_err(tls_error)?;
        let mut tls = StreamOwned::new(conn, tcp);
        handshake(&mut tls.conn, &mut tls.sock, timeout)?;
        *self = Stream::Server(Box::new(tls));
        Ok(())
    }

    /// The client side of a TLS handshake on this (plaintext) connection.
    pub(crate) fn connect_tls(
        &mut self,
        config: Arc<rustls::ClientConfig>,
        name: ServerName<'static>,
        timeout: Duration,
    ) -> io::Result<()> {
        let Stream::Plain(tcp) = std::mem::replace(self, Stream::Upgrading) else {
            return Err(io::Error::other("TLS is already up"));
        };
        let conn = ClientConnection::new(config, name).map_err(tls_error)?;
        let mut tls = StreamOwned::new(conn, tcp);
        handshake(&mut tls.conn, &mut tls.sock, timeout)?;
        *self = Stream::Client(Box::new(tls));
        Ok(())
    }
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

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Server(s) => s.read(buf),
            Stream::Client(s) => s.read(buf),
            Stream::Upgrading => Err(upgrading()),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Server(s) => s.write(buf),
            Stream::Client(s) => s.write(buf),
            Stream::Upgrading => Err(upgrading()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Server(s) => s.flush(),
            Stream::Client(s) => s.flush(),
            Stream::Upgrading => Err(upgrading()),
        }
    }
}

/// Whether a read error is the socket's read timeout.
pub(crate) fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}
