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

use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tracing::{debug, info, warn};

pub use smtp_adapter::handler::{ConnectionInfo, Envelope, Handler, Message};

use smtp_adapter::driver::{Shutdown, serve_connection};

use smtp_adapter::server::{Bind, Opened, Serve};

use crate::stream::Stream;
pub use crate::stream::Tokio;

/// Builds a [`Server`]: listeners, TLS and limits around a core
/// [`ServerConfig`](smtp_proto::server::ServerConfig) (the settings are `smtp-adapter`'s, the same for every
/// adapter); `bind().await` opens the listeners.
pub type ServerBuilder = smtp_adapter::server::ServerBuilder<Tokio>;

impl Bind for Tokio {
    type Listener = TcpListener;
    type Output = Pin<Box<dyn Future<Output = io::Result<Server>> + Send>>;
    type Forever = std::future::Pending<()>;
    const MAX_CONNECTIONS: usize = 1000;

    fn bind(builder: ServerBuilder) -> Self::Output {
        Box::pin(async move {
            let opened = builder.open()?.map_listeners(|listener| {
                listener.set_nonblocking(true)?;
                TcpListener::from_std(listener)
            })?;
            Ok(Server::from_parts(opened))
        })
    }

    fn local_addr(listener: &TcpListener) -> io::Result<SocketAddr> {
        listener.local_addr()
    }

    fn forever() -> Self::Forever {
        std::future::pending()
    }
}

/// A bound server, ready to run: `run(handler).await` serves until the
/// process ends, `run_until(handler, signal).await` until `signal` completes.
pub type Server = smtp_adapter::server::Server<Tokio>;

impl<H: Handler, S: Future<Output = ()> + Send + 'static> Serve<H, S> for Tokio {
    type Serving = Pin<Box<dyn Future<Output = io::Result<()>> + Send>>;

    fn serve(server: Server, handler: H, signal: S) -> Self::Serving {
        Box::pin(serve(server.into_parts(), handler, signal))
    }
}

async fn serve<H: Handler>(
    server: Opened<TcpListener>,
    handler: H,
    signal: impl Future<Output = ()> + Send,
) -> io::Result<()> {
    let shutdown = Shutdown::new();
    let permits = Arc::new(Semaphore::new(server.max_connections));
    let mut sessions = JoinSet::new();
    let mut acceptors = JoinSet::new();
    let (conn_tx, mut conn_rx) = tokio::sync::mpsc::channel(16);
    for (listener, implicit_tls) in server.listeners {
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
                let shared = server.settings.clone();
                let handler = handler.clone();
                let shutdown = shutdown.clone();
                sessions.spawn(async move {
                    let _ = tcp.set_nodelay(true);
                    serve_connection::<Tokio, _, _>(Stream::new(crate::stream::Plain(tcp)), info, shared, handler, shutdown)
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
    let grace = tokio::time::sleep(server.grace_period);
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
        let shared = std::sync::Arc::new(smtp_adapter::driver::ConnectionSettings {
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
            super::Stream::new(crate::stream::Plain(tcp)),
            info,
            shared,
            m,
            super::Shutdown::new(),
        );
        let size = std::mem::size_of_val(&fut);
        assert!(size < 6 * 1024, "the connection future is {size} bytes");
    }
}
