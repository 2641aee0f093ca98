//! An SMTP (or LMTP) server on async-io: listeners, TLS, a connection limit,
//! graceful shutdown, and the application's [`Handler`] (the same trait as
//! smtp-tokio's). It runs under smol and under async-std alike.
//!
//! Connections run as tasks of an executor owned by the server future, so
//! they make progress on whatever task runs [`Server::run_until`] (one
//! thread); run one server per core for more.
//!
//! ```no_run
//! use smtp_async_std::maildir::Maildir;
//! use smtp_async_std::proto::server::ServerConfig;
//! use smtp_async_std::server::Server;
//!
//! fn main() -> std::io::Result<()> {
//!     smol::block_on(async {
//!         let server = Server::builder(ServerConfig::new("mx.example.org"))
//!             .listen("127.0.0.1:2525".parse().unwrap())
//!             .bind()?;
//!         let maildir = Maildir::new("/var/mail/inbox", "mx.example.org")?;
//!         server.run(maildir).await
//!     })
//! }
//! ```

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_executor::Executor;
use async_io::Async;
use smtp_adapter::driver::{ConnectionSettings, Runtime, Shutdown, serve_connection};
use smtp_proto::server::ServerConfig;
use tracing::{info, warn};

pub use smtp_adapter::handler::{ConnectionInfo, Envelope, Handler, Message};

use smtp_adapter::server::Bind;

pub use crate::stream::AsyncIo;
use crate::stream::Stream;

/// Builds a [`Server`]: listeners, TLS and limits around a core
/// [`ServerConfig`] (the settings are `smtp-adapter`'s, the same for every
/// adapter); `bind()` opens the listeners.
pub type ServerBuilder = smtp_adapter::server::ServerBuilder<AsyncIo>;

impl Bind for AsyncIo {
    type Output = io::Result<Server>;

    fn bind(builder: ServerBuilder) -> io::Result<Server> {
        let opened = builder.open()?;
        let mut listeners = Vec::new();
        for (listener, implicit_tls) in opened.listeners {
            listeners.push((Async::new(listener)?, implicit_tls));
        }
        Ok(Server {
            listeners,
            settings: opened.settings,
            max_connections: opened.max_connections,
            grace_period: opened.grace_period,
        })
    }
}

/// A bound server, ready to run.
#[derive(Debug)]
pub struct Server {
    listeners: Vec<(Async<TcpListener>, bool)>,
    settings: Arc<ConnectionSettings>,
    max_connections: usize,
    grace_period: Duration,
}

/// Connections in progress, and a wake-up when one ends.
#[derive(Default)]
struct Active {
    count: AtomicUsize,
    ended: event_listener::Event,
}

impl Active {
    async fn wait_none(&self) {
        loop {
            if self.count.load(Ordering::SeqCst) == 0 {
                return;
            }
            event_listener::listener!(self.ended => listener);
            if self.count.load(Ordering::SeqCst) == 0 {
                return;
            }
            listener.await;
        }
    }
}

impl Server {
    /// A builder around the core's configuration.
    pub fn builder(config: ServerConfig) -> ServerBuilder {
        ServerBuilder::new(config, 1000)
    }

    /// The bound addresses: plaintext listeners first, then implicit-TLS ones.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .filter_map(|(l, _)| l.get_ref().local_addr().ok())
            .collect()
    }

    /// Serves until the future is dropped.
    pub async fn run<H: Handler>(self, handler: H) -> io::Result<()> {
        self.run_until(handler, std::future::pending()).await
    }

    /// Serves until `signal` completes, then shuts down gracefully: stops
    /// accepting, lets sessions finish for the grace period, then answers
    /// `421 4.3.2` on those still open (RFC 5321 §3.8) and closes them.
    pub async fn run_until<H: Handler>(
        self,
        handler: H,
        signal: impl Future<Output = ()> + Send,
    ) -> io::Result<()> {
        let executor = Arc::new(Executor::new());
        let shutdown = Shutdown::new();
        let active = Arc::new(Active::default());
        let permits = Arc::new(async_lock::Semaphore::new(self.max_connections));
        let mut acceptors = Vec::new();
        for (listener, implicit_tls) in self.listeners {
            let (executor2, settings, handler) =
                (executor.clone(), self.settings.clone(), handler.clone());
            let (shutdown, active, permits) = (shutdown.clone(), active.clone(), permits.clone());
            acceptors.push(executor.spawn(async move {
                loop {
                    let permit = permits.acquire_arc().await;
                    let (tcp, peer) = match listener.accept().await {
                        Ok(accepted) => accepted,
                        Err(e) => {
                            warn!(error = %e, "accept failed");
                            async_io::Timer::after(Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    let _ = tcp.get_ref().set_nodelay(true);
                    let local = tcp.get_ref().local_addr().unwrap_or(peer);
                    let info = ConnectionInfo {
                        peer,
                        local,
                        implicit_tls,
                    };
                    let (settings, handler, shutdown, active) = (
                        settings.clone(),
                        handler.clone(),
                        shutdown.clone(),
                        active.clone(),
                    );
                    active.count.fetch_add(1, Ordering::SeqCst);
                    executor2
                        .spawn(async move {
                            serve_connection::<AsyncIo, _, _>(
                                Stream::Plain(tcp),
                                info,
                                settings,
                                handler,
                                shutdown,
                            )
                            .await;
                            drop(permit);
                            active.count.fetch_sub(1, Ordering::SeqCst);
                            active.ended.notify(usize::MAX);
                        })
                        .detach();
                }
            }));
        }
        let grace = self.grace_period;
        executor
            .run(async {
                signal.await;
                info!(
                    sessions = active.count.load(Ordering::SeqCst),
                    "shutting down"
                );
                // Stop accepting: dropping a task cancels it.
                drop(acceptors);
                let deadline = std::time::Instant::now() + grace;
                futures_lite::future::or(active.wait_none(), AsyncIo::sleep_until(deadline)).await;
                shutdown.now();
                active.wait_none().await;
            })
            .await;
        Ok(())
    }
}
