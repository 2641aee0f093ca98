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

use std::future::Future;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_executor::Executor;
use async_io::Async;
use smtp_adapter::driver::{Runtime, Shutdown, serve_connection};
use tracing::{info, warn};

pub use smtp_adapter::handler::{ConnectionInfo, Envelope, Handler, Message};

use smtp_adapter::server::{Bind, Opened, Serve};

pub use crate::stream::AsyncIo;
use crate::stream::Stream;

/// Builds a [`Server`]: listeners, TLS and limits around a core
/// [`ServerConfig`](smtp_proto::server::ServerConfig) (the settings are `smtp-adapter`'s, the same for every
/// adapter); `bind()` opens the listeners.
pub type ServerBuilder = smtp_adapter::server::ServerBuilder<AsyncIo>;

impl Bind for AsyncIo {
    type Listener = Async<TcpListener>;
    type Output = io::Result<Server>;
    type Forever = std::future::Pending<()>;
    const MAX_CONNECTIONS: usize = 1000;

    fn bind(builder: ServerBuilder) -> io::Result<Server> {
        let opened = builder.open()?.map_listeners(Async::new)?;
        Ok(Server::from_parts(opened))
    }

    fn local_addr(listener: &Async<TcpListener>) -> io::Result<SocketAddr> {
        listener.get_ref().local_addr()
    }

    fn forever() -> Self::Forever {
        std::future::pending()
    }
}

/// A bound server, ready to run: `run(handler).await` serves until the
/// future is dropped, `run_until(handler, signal).await` until `signal`
/// completes. The future owns the executor its connections run on.
pub type Server = smtp_adapter::server::Server<AsyncIo>;

impl<H: Handler, S: Future<Output = ()> + Send + 'static> Serve<H, S> for AsyncIo {
    type Serving = Pin<Box<dyn Future<Output = io::Result<()>> + Send>>;

    fn serve(server: Server, handler: H, signal: S) -> Self::Serving {
        Box::pin(serve(server.into_parts(), handler, signal))
    }
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

async fn serve<H: Handler>(
    server: Opened<Async<TcpListener>>,
    handler: H,
    signal: impl Future<Output = ()> + Send,
) -> io::Result<()> {
    let executor = Arc::new(Executor::new());
    let shutdown = Shutdown::new();
    let active = Arc::new(Active::default());
    let permits = Arc::new(async_lock::Semaphore::new(server.max_connections));
    let mut acceptors = Vec::new();
    for (listener, implicit_tls) in server.listeners {
        let (executor2, settings, handler) =
            (executor.clone(), server.settings.clone(), handler.clone());
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
                            Stream::new(crate::stream::Plain(tcp)),
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
    let grace = server.grace_period;
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
