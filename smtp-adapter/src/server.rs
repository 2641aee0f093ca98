//! The settings every adapter's server builder takes, written once:
//! [`ServerBuilder`] collects listeners, TLS, limits and timeouts around the
//! core's [`ServerConfig`]; each adapter supplies [`Bind`], which opens the
//! listeners ([`ServerBuilder::open`]) on its runtime.

use std::io;
use std::marker::PhantomData;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use smtp_proto::server::ServerConfig;

use crate::driver::ConnectionSettings;
use crate::tls::TlsIdentity;

/// How an adapter turns a [`ServerBuilder`] into its server.
pub trait Bind: Sized {
    /// The adapter's bound server (or a future of it).
    type Output;
    /// Opens the listeners and makes the server.
    fn bind(builder: ServerBuilder<Self>) -> Self::Output;
}

/// Builds an adapter's server: listeners, TLS and limits around a core
/// [`ServerConfig`]. `B` is the adapter (its `Server::builder` makes one).
#[derive(Debug)]
pub struct ServerBuilder<B> {
    config: ServerConfig,
    plain: Vec<SocketAddr>,
    implicit_tls: Vec<SocketAddr>,
    tls: Option<TlsIdentity>,
    max_connections: usize,
    backlog: i32,
    write_timeout: Duration,
    handshake_timeout: Duration,
    grace_period: Duration,
    adapter: PhantomData<fn() -> B>,
}

/// What [`ServerBuilder::open`] gives an adapter: bound listeners (blocking
/// std sockets, for the adapter to hand to its runtime) and the settings.
#[derive(Debug)]
pub struct Opened {
    /// Each listener, and whether it is implicit TLS (RFC 8314).
    pub listeners: Vec<(TcpListener, bool)>,
    /// What every connection shares.
    pub settings: Arc<ConnectionSettings>,
    /// At most this many connections at once.
    pub max_connections: usize,
    /// How long sessions may go on after a shutdown was asked for.
    pub grace_period: Duration,
}

impl<B: Bind> ServerBuilder<B> {
    /// A builder around the core's configuration, with at most
    /// `max_connections` connections by default.
    pub fn new(config: ServerConfig, max_connections: usize) -> Self {
        let write_timeout = config.timeouts.command;
        ServerBuilder {
            config,
            plain: Vec::new(),
            implicit_tls: Vec::new(),
            tls: None,
            max_connections,
            backlog: 1024,
            write_timeout,
            handshake_timeout: Duration::from_secs(60),
            grace_period: Duration::from_secs(30),
            adapter: PhantomData,
        }
    }

    /// A plaintext listener (port 25 or 587 in production; port 0 picks a free
    /// one). STARTTLS is offered on it when a certificate is configured.
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.plain.push(addr);
        self
    }

    /// An implicit-TLS listener (RFC 8314 §3.3, port 465): the TLS handshake
    /// comes before the greeting. Needs [`ServerBuilder::tls`].
    pub fn listen_tls(mut self, addr: SocketAddr) -> Self {
        self.implicit_tls.push(addr);
        self
    }

    /// The certificate: enables STARTTLS on the plaintext listeners (RFC 3207)
    /// and serves the implicit-TLS ones.
    pub fn tls(mut self, identity: TlsIdentity) -> Self {
        self.tls = Some(identity);
        self
    }

    /// At most this many connections at once; more wait in the listen
    /// backlog until one ends.
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// The listen backlog: connections the kernel completes while the server
    /// has not accepted them yet (default 1,024; the standard library's 128
    /// drops SYNs under a burst of connections, and clients retry only a
    /// second later).
    pub fn backlog(mut self, backlog: u32) -> Self {
        self.backlog = i32::try_from(backlog.max(1)).unwrap_or(i32::MAX);
        self
    }

    /// How long writing one batch of replies may take before the connection
    /// is dropped (default: the core's command timeout, 5 minutes): a peer
    /// that never reads is cut off, and its replies do not pile up.
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.write_timeout = timeout;
        self
    }

    /// How long a TLS handshake may take (default 60 s).
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// How long sessions may go on after a shutdown was asked for before they
    /// get `421` and are closed (default 30 s).
    pub fn grace_period(mut self, grace: Duration) -> Self {
        self.grace_period = grace;
        self
    }

    /// Binds every listener and makes the server.
    pub fn bind(self) -> B::Output {
        B::bind(self)
    }

    /// For adapters: checks the settings and binds every listener (address
    /// reuse on, the configured backlog), plaintext ones first. STARTTLS is
    /// offered when a certificate is set.
    pub fn open(mut self) -> io::Result<Opened> {
        if self.plain.is_empty() && self.implicit_tls.is_empty() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "no listener"));
        }
        if !self.implicit_tls.is_empty() && self.tls.is_none() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "an implicit-TLS listener needs a certificate",
            ));
        }
        self.config.extensions.starttls = self.tls.is_some();
        let mut listeners = Vec::new();
        for (addrs, implicit_tls) in [(&self.plain, false), (&self.implicit_tls, true)] {
            for addr in addrs {
                let socket = socket2::Socket::new(
                    socket2::Domain::for_address(*addr),
                    socket2::Type::STREAM,
                    None,
                )?;
                socket.set_reuse_address(true)?;
                socket.bind(&(*addr).into())?;
                socket.listen(self.backlog)?;
                listeners.push((socket.into(), implicit_tls));
            }
        }
        Ok(Opened {
            listeners,
            settings: Arc::new(ConnectionSettings {
                config: Arc::new(self.config),
                tls: self.tls.map(|t| t.server_config()),
                write_timeout: self.write_timeout,
                handshake_timeout: self.handshake_timeout,
            }),
            max_connections: self.max_connections,
            grace_period: self.grace_period,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Test;
    impl Bind for Test {
        type Output = io::Result<Opened>;
        fn bind(builder: ServerBuilder<Self>) -> Self::Output {
            builder.open()
        }
    }

    #[test]
    fn opens_what_was_asked_for() {
        let err = ServerBuilder::<Test>::new(ServerConfig::new("x"), 10)
            .bind()
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let any = "127.0.0.1:0".parse().unwrap();
        let err = ServerBuilder::<Test>::new(ServerConfig::new("x"), 10)
            .listen_tls(any)
            .bind()
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let opened = ServerBuilder::<Test>::new(ServerConfig::new("x"), 10)
            .listen(any)
            .max_connections(0)
            .write_timeout(Duration::from_secs(7))
            .handshake_timeout(Duration::from_secs(8))
            .grace_period(Duration::from_secs(9))
            .backlog(16)
            .bind()
            .unwrap();
        assert_eq!(opened.listeners.len(), 1);
        assert!(!opened.listeners[0].1);
        assert_eq!(opened.max_connections, 1);
        assert_eq!(opened.grace_period, Duration::from_secs(9));
        assert_eq!(opened.settings.write_timeout, Duration::from_secs(7));
        assert_eq!(opened.settings.handshake_timeout, Duration::from_secs(8));
        assert!(!opened.settings.config.extensions.starttls);
        let tls = TlsIdentity::self_signed("localhost").unwrap();
        let opened = ServerBuilder::<Test>::new(ServerConfig::new("x"), 10)
            .listen(any)
            .listen_tls(any)
            .tls(tls)
            .bind()
            .unwrap();
        assert_eq!(
            opened.listeners.iter().map(|l| l.1).collect::<Vec<_>>(),
            [false, true]
        );
        assert!(opened.settings.config.extensions.starttls && opened.settings.tls.is_some());
    }
}
