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

/// How an adapter turns a [`ServerBuilder`] into its [`Server`].
pub trait Bind: Sized {
    /// The adapter's listening socket.
    type Listener: Send;
    /// `io::Result<Server<Self>>`, or a future of it.
    type Output;
    /// What [`Server::run`] waits on: a signal that never comes.
    type Forever;
    /// How many connections at once, unless [`ServerBuilder::max_connections`] says.
    const MAX_CONNECTIONS: usize;

    /// Opens the listeners ([`ServerBuilder::open`]) and makes the server.
    fn bind(builder: ServerBuilder<Self>) -> Self::Output;
    /// A listener's address.
    fn local_addr(listener: &Self::Listener) -> io::Result<SocketAddr>;
    /// A signal that never comes.
    fn forever() -> Self::Forever;
}

/// How an adapter runs a [`Server`] with a handler `H` until a signal `S`.
pub trait Serve<H, S>: Bind {
    /// `io::Result<()>` once the server stopped, or a future of it.
    type Serving;
    /// Serves (see [`Server::run_until`]).
    fn serve(server: Server<Self>, handler: H, signal: S) -> Self::Serving;
}

/// A bound server of adapter `B`, ready to run (each adapter names it
/// `server::Server`).
pub struct Server<B: Bind>(Opened<B::Listener>);

impl<B: Bind> std::fmt::Debug for Server<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("local_addrs", &self.local_addrs())
            .finish_non_exhaustive()
    }
}

impl<B: Bind> Server<B> {
    /// A builder around the core's configuration (hostname, extensions,
    /// limits, timeouts, policy).
    pub fn builder(config: ServerConfig) -> ServerBuilder<B> {
        ServerBuilder::new(config, B::MAX_CONNECTIONS)
    }

    /// The bound addresses: plaintext listeners first, then implicit-TLS
    /// ones, each in the order given.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        (self.0.listeners.iter())
            .filter_map(|(l, _)| B::local_addr(l).ok())
            .collect()
    }

    /// The core configuration the sessions run with.
    pub fn config(&self) -> &ServerConfig {
        &self.0.settings.config
    }

    /// Serves until the process ends (see [`Server::run_until`]).
    pub fn run<H>(self, handler: H) -> <B as Serve<H, <B as Bind>::Forever>>::Serving
    where
        B: Serve<H, <B as Bind>::Forever>,
    {
        B::serve(self, handler, B::forever())
    }

    /// Serves until `signal` (a future under an async runtime, a `Stop` for
    /// smtp-blocking), then shuts down gracefully: stops accepting, lets
    /// sessions finish for the grace period, then answers `421 4.3.2` on
    /// those still open (RFC 5321 §3.8) and closes them. Each connection gets
    /// a clone of `handler`. Under an async runtime this is a future to await.
    pub fn run_until<H, S>(self, handler: H, signal: S) -> <B as Serve<H, S>>::Serving
    where
        B: Serve<H, S>,
    {
        B::serve(self, handler, signal)
    }

    /// For adapters: the server made of its bound listeners and settings.
    pub fn from_parts(parts: Opened<B::Listener>) -> Self {
        Server(parts)
    }

    /// For adapters: the listeners and settings, to run.
    pub fn into_parts(self) -> Opened<B::Listener> {
        self.0
    }
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
/// std sockets, for the adapter to hand to its runtime: then `L` is the
/// runtime's) and the settings.
#[derive(Debug)]
pub struct Opened<L = TcpListener> {
    /// Each listener, and whether it is implicit TLS (RFC 8314).
    pub listeners: Vec<(L, bool)>,
    /// What every connection shares.
    pub settings: Arc<ConnectionSettings>,
    /// At most this many connections at once.
    pub max_connections: usize,
    /// How long sessions may go on after a shutdown was asked for.
    pub grace_period: Duration,
}

impl Opened {
    /// The same with each listener handed to the adapter's runtime.
    pub fn map_listeners<L>(
        self,
        mut f: impl FnMut(TcpListener) -> io::Result<L>,
    ) -> io::Result<Opened<L>> {
        let mut listeners = Vec::new();
        for (listener, implicit_tls) in self.listeners {
            listeners.push((f(listener)?, implicit_tls));
        }
        Ok(Opened {
            listeners,
            settings: self.settings,
            max_connections: self.max_connections,
            grace_period: self.grace_period,
        })
    }
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
        type Listener = TcpListener;
        type Output = io::Result<Opened>;
        type Forever = ();
        const MAX_CONNECTIONS: usize = 10;
        fn bind(builder: ServerBuilder<Self>) -> Self::Output {
            builder.open()
        }
        fn local_addr(listener: &TcpListener) -> io::Result<SocketAddr> {
            listener.local_addr()
        }
        fn forever() {}
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
