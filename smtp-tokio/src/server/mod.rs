//! An SMTP (or LMTP) server on tokio: listeners, TLS, a connection limit,
//! graceful shutdown, and the application's [`Handler`].
//!
//! ```no_run
//! use smtp_tokio::proto::server::ServerConfig;
//! use smtp_tokio::server::{Handler, Message, Server};
//! use smtp_tokio::proto::server::Decision;
//!
//! #[derive(Clone)]
//! struct Print;
//!
//! impl Handler for Print {
//!     const BUFFER_CONTENT: bool = true;
//!     async fn message(&mut self, message: &Message) -> Decision {
//!         println!("{} octets from {}", message.content.len(), message.envelope.sender);
//!         Decision::Accept
//!     }
//! }
//!
//! # async fn run() -> std::io::Result<()> {
//! let server = Server::builder(ServerConfig::new("mx.example.org"))
//!     .listen("127.0.0.1:2525".parse().unwrap())
//!     .bind()
//!     .await?;
//! println!("listening on {}", server.local_addrs()[0]);
//! server.run_until(Print, async { let _ = tokio::signal::ctrl_c().await; }).await
//! # }
//! ```

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use smtp_proto::server::ServerConfig;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tracing::{debug, info, warn};

pub use smtp_adapter::handler::{ConnectionInfo, Envelope, Handler, Message};

use smtp_adapter::driver::{ConnectionSettings as Shared, Shutdown, serve_connection};

use smtp_adapter::server::Bind;

use crate::stream::Stream;
pub use crate::stream::Tokio;

/// Builds a [`Server`]: listeners, TLS and limits around a core
/// [`ServerConfig`] (the settings are `smtp-adapter`'s, the same for every
/// adapter); `bind().await` opens the listeners.
pub type ServerBuilder = smtp_adapter::server::ServerBuilder<Tokio>;

impl Bind for Tokio {
    type Output = Pin<Box<dyn Future<Output = io::Result<Server>> + Send>>;

    fn bind(builder: ServerBuilder) -> Self::Output {
        Box::pin(async move {
            let opened = builder.open()?;
            let mut listeners = Vec::new();
            for (listener, implicit_tls) in opened.listeners {
                listener.set_nonblocking(true)?;
                listeners.push((TcpListener::from_std(listener)?, implicit_tls));
            }
            Ok(Server {
                listeners,
                shared: opened.settings,
                max_connections: opened.max_connections,
                grace_period: opened.grace_period,
            })
        })
    }
}

/// A bound server, ready to run.
#[derive(Debug)]
pub struct Server {
    listeners: Vec<(TcpListener, bool)>,
    shared: Arc<Shared>,
    max_connections: usize,
    grace_period: Duration,
}

impl Server {
    /// A builder around the core's configuration (hostname, extensions,
    /// limits, timeouts, policy).
    pub fn builder(config: ServerConfig) -> ServerBuilder {
        ServerBuilder::new(config, 1000)
    }

    /// The bound addresses: plaintext listeners first, then implicit-TLS
    /// ones, each in the order given.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .filter_map(|(l, _)| l.local_addr().ok())
            .collect()
    }

    /// The core configuration the sessions run with.
    pub fn config(&self) -> &ServerConfig {
        &self.shared.config
    }

    /// Serves until the process ends.
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
        let shutdown = Shutdown::new();
        let permits = Arc::new(Semaphore::new(self.max_connections));
        let mut sessions = JoinSet::new();
        let mut acceptors = JoinSet::new();
        let (conn_tx, mut conn_rx) = tokio::sync::mpsc::channel(16);
        for (listener, implicit_tls) in self.listeners {
            let conn_tx = conn_tx.clone();
            let permits = permits.clone();
            acceptors.spawn(async move {
                loop {
                    let Ok(permit) = permits.clone().acquire_owned().await else {
                        return;
                    };
                    match listener.accept().await {
                        Ok((tcp, peer)) => {
                            if conn_tx
                                .send((tcp, peer, implicit_tls, permit))
                                .await
                                .is_err()
                            {
                                return;
                            }
                        }
                        Err(e) => {
                            // Out of file descriptors and the like: wait a little.
                            warn!(error = %e, "accept failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    }
                }
            });
        }
        drop(conn_tx);
        let mut signal = std::pin::pin!(signal);
        loop {
            tokio::select! {
                () = &mut signal => break,
                next = conn_rx.recv() => {
                    let Some((tcp, peer, implicit_tls, permit)) = next else { break };
                    let local = tcp.local_addr().unwrap_or(peer);
                    let info = ConnectionInfo { peer, local, implicit_tls };
                    let shared = self.shared.clone();
                    let handler = handler.clone();
                    let shutdown = shutdown.clone();
                    sessions.spawn(async move {
                        let _ = tcp.set_nodelay(true);
                        serve_connection::<Tokio, _, _>(Stream::Plain(tcp), info, shared, handler, shutdown)
                            .await;
                        drop(permit);
                    });
                }
                Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
            }
        }
        info!(sessions = sessions.len(), "shutting down");
        acceptors.abort_all();
        drop(conn_rx);
        let grace = tokio::time::sleep(self.grace_period);
        tokio::pin!(grace);
        loop {
            tokio::select! {
                next = sessions.join_next() => if next.is_none() { break },
                () = &mut grace => {
                    debug!(sessions = sessions.len(), "grace period over");
                    shutdown.now();
                    while sessions.join_next().await.is_some() {}
                    break;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    /// An idle connection costs its task (this future), the session and the
    /// socket, nothing else: the future stays small (2.9 KB in a debug build
    /// when this was written) so that thousands of idle connections are cheap.
    #[tokio::test]
    async fn the_connection_future_is_small() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let shared = std::sync::Arc::new(super::Shared {
            config: std::sync::Arc::new(smtp_proto::server::ServerConfig::new("x")),
            tls: None,
            write_timeout: std::time::Duration::from_secs(1),
            handshake_timeout: std::time::Duration::from_secs(1),
        });
        let info = super::ConnectionInfo {
            peer: addr,
            local: addr,
            implicit_tls: false,
        };
        let dir = tempfile::tempdir().unwrap();
        let m = crate::maildir::Maildir::new(dir.path(), "x").unwrap();
        let fut = super::serve_connection::<super::Tokio, _, _>(
            super::Stream::Plain(tcp),
            info,
            shared,
            m,
            super::Shutdown::new(),
        );
        let size = std::mem::size_of_val(&fut);
        assert!(size < 6 * 1024, "the connection future is {size} bytes");
    }
}
