//! An SMTP (or LMTP) server on `std::net`: listeners, TLS, a bounded pool of
//! worker threads (one connection per worker), graceful shutdown, and the
//! application's [`SyncHandler`].
//!
//! ```no_run
//! use smtp_blocking::proto::server::{Decision, ServerConfig};
//! use smtp_blocking::server::{Message, Server, Stop, SyncHandler};
//!
//! #[derive(Clone)]
//! struct Print;
//!
//! impl SyncHandler for Print {
//!     const BUFFER_CONTENT: bool = true;
//!     fn message(&mut self, message: &Message) -> Decision {
//!         println!("{} octets from {}", message.content.len(), message.envelope.sender);
//!         Decision::Accept
//!     }
//! }
//!
//! # fn run() -> std::io::Result<()> {
//! let server = Server::builder(ServerConfig::new("mx.example.org"))
//!     .listen("127.0.0.1:2525".parse().unwrap())
//!     .max_connections(64)
//!     .bind()?;
//! println!("listening on {}", server.local_addrs()[0]);
//! let stop = Stop::new();
//! // Hand `stop.clone()` to whatever decides when to stop (a signal handler).
//! server.run_until(Print, stop)
//! # }
//! ```

use std::collections::HashMap;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tracing::{debug, info, warn};

pub use smtp_adapter::handler::{ConnectionInfo, Envelope, Message, SyncHandler};

use smtp_adapter::driver::{ConnectionSettings, Shutdown, serve_connection};
use smtp_adapter::handler::FromSync;

use crate::stream::{Plain, Stream, Threads, block_on};
use smtp_adapter::server::{Bind, Opened, Serve};

/// Builds a [`Server`]: listeners, TLS and limits around a core
/// [`ServerConfig`](smtp_proto::server::ServerConfig) (the settings are `smtp-adapter`'s, the same for every
/// adapter); `bind()` opens the listeners. Here `max_connections` is the size
/// of the worker pool (default 256): each connection has a thread of its own;
/// more wait in the listen backlog until a worker is free. Workers are
/// started as connections come and kept for the next ones.
pub type ServerBuilder = smtp_adapter::server::ServerBuilder<Blocking>;

/// The blocking adapter, as the shared code sees it: how a [`ServerBuilder`]
/// binds.
#[derive(Debug, Clone, Copy)]
pub struct Blocking;

impl Bind for Blocking {
    type Listener = TcpListener;
    type Output = io::Result<Server>;
    type Forever = Stop;
    /// Each connection holds a thread.
    const MAX_CONNECTIONS: usize = 256;

    fn bind(builder: ServerBuilder) -> io::Result<Server> {
        Ok(Server::from_parts(builder.open()?))
    }

    fn local_addr(listener: &TcpListener) -> io::Result<SocketAddr> {
        listener.local_addr()
    }

    fn forever() -> Stop {
        Stop::new()
    }
}

/// A bound server, ready to run: `run(handler)` serves until the process
/// ends, `run_until(handler, stop)` until [`Stop::stop`].
pub type Server = smtp_adapter::server::Server<Blocking>;

impl<H: SyncHandler> Serve<H, Stop> for Blocking {
    type Serving = io::Result<()>;

    fn serve(server: Server, handler: H, stop: Stop) -> io::Result<()> {
        serve(server.into_parts(), handler, stop)
    }
}

/// Asks a running server to stop: cloned freely, [`Stop::stop`] from any
/// thread (a signal handler's thread, a test) makes
/// [`Server::run_until`] shut down gracefully.
#[derive(Debug, Clone, Default)]
pub struct Stop(Arc<(Mutex<bool>, Condvar)>);

impl Stop {
    /// A handle that has not been used yet.
    pub fn new() -> Stop {
        Stop::default()
    }

    /// Asks for the shutdown.
    pub fn stop(&self) {
        *lock(&self.0.0) = true;
        self.0.1.notify_all();
    }

    /// Whether the shutdown was asked for.
    pub fn is_stopped(&self) -> bool {
        *lock(&self.0.0)
    }

    fn wait(&self) {
        let mut stopped = lock(&self.0.0);
        while !*stopped {
            stopped = self.0.1.wait(stopped).unwrap_or_else(|e| e.into_inner());
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A connection for a worker.
struct Job {
    tcp: TcpStream,
    info: ConnectionInfo,
}

/// The worker pool's books.
#[derive(Default)]
struct PoolState {
    /// Connections being served (at most `max_connections`).
    busy: usize,
    /// Workers waiting for a connection.
    idle: usize,
    /// No more connections are accepted.
    stopping: bool,
    /// The sockets of the connections being served, to wake their workers
    /// when the grace period is over.
    sockets: HashMap<u64, TcpStream>,
    next_id: u64,
}

struct Pool<H> {
    state: Mutex<PoolState>,
    changed: Condvar,
    max: usize,
    jobs: Mutex<Option<Sender<Job>>>,
    queue: Mutex<Receiver<Job>>,
    workers: Mutex<Vec<JoinHandle<()>>>,
    shared: Arc<ConnectionSettings>,
    /// The grace period is over: `421` and close.
    shutdown: Shutdown,
    /// Cloned for each connection (a handler need not be `Sync`).
    handler: Mutex<H>,
}

impl<H: SyncHandler> Pool<H> {
    /// Waits for a free worker slot; `false` once the server stops.
    fn acquire(&self) -> bool {
        let mut state = lock(&self.state);
        while state.busy >= self.max && !state.stopping {
            state = self.changed.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        if state.stopping {
            return false;
        }
        state.busy += 1;
        true
    }

    fn release(&self) {
        lock(&self.state).busy -= 1;
        self.changed.notify_all();
    }

    /// Hands a connection to an idle worker, starting one if none is idle.
    fn dispatch(self: &Arc<Self>, job: Job) {
        let spawn = {
            let mut state = lock(&self.state);
            if state.idle > 0 {
                state.idle -= 1;
                false
            } else {
                true
            }
        };
        if spawn {
            let pool = self.clone();
            let worker = std::thread::Builder::new()
                .name("smtp-worker".into())
                .spawn(move || pool.work());
            match worker {
                Ok(handle) => lock(&self.workers).push(handle),
                Err(e) => {
                    warn!(error = %e, "cannot start a worker thread");
                    self.release();
                    return;
                }
            }
        }
        if let Some(jobs) = lock(&self.jobs).as_ref() {
            let _ = jobs.send(job);
        }
    }

    /// A worker: serves connections one after another until the server stops.
    fn work(&self) {
        loop {
            let job = lock(&self.queue).recv();
            let Ok(Job { tcp, info }) = job else { return };
            let id = {
                let mut state = lock(&self.state);
                state.next_id += 1;
                let id = state.next_id;
                if let Ok(clone) = tcp.try_clone() {
                    state.sockets.insert(id, clone);
                }
                id
            };
            let handler = lock(&self.handler).clone();
            match Plain::new(
                tcp,
                self.shared.write_timeout,
                self.shared.handshake_timeout,
            ) {
                Ok(tcp) => block_on(serve_connection::<Threads, _, _>(
                    Stream::new(tcp),
                    info,
                    self.shared.clone(),
                    FromSync::new(handler),
                    self.shutdown.clone(),
                )),
                Err(e) => debug!(error = %e, "cannot set the socket up"),
            }
            {
                let mut state = lock(&self.state);
                state.sockets.remove(&id);
                state.busy -= 1;
                state.idle += 1;
            }
            self.changed.notify_all();
        }
    }

    /// Accepts on one listener while workers are free, until the server stops.
    fn accept(self: &Arc<Self>, listener: &TcpListener, implicit_tls: bool) {
        loop {
            if !self.acquire() {
                return;
            }
            match listener.accept() {
                Ok((tcp, peer)) => {
                    if lock(&self.state).stopping {
                        self.release();
                        return;
                    }
                    let local = tcp.local_addr().unwrap_or(peer);
                    let info = ConnectionInfo {
                        peer,
                        local,
                        implicit_tls,
                    };
                    self.dispatch(Job { tcp, info });
                }
                Err(e) => {
                    self.release();
                    // Out of file descriptors and the like: wait a little.
                    warn!(error = %e, "accept failed");
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
    }
}

fn serve<H: SyncHandler>(server: Opened, handler: H, stop: Stop) -> io::Result<()> {
    let (tx, rx) = std::sync::mpsc::channel();
    let pool = Arc::new(Pool {
        state: Mutex::new(PoolState::default()),
        changed: Condvar::new(),
        max: server.max_connections,
        jobs: Mutex::new(Some(tx)),
        queue: Mutex::new(rx),
        workers: Mutex::new(Vec::new()),
        shared: server.settings.clone(),
        shutdown: Shutdown::new(),
        handler: Mutex::new(handler),
    });
    let mut wake = Vec::new();
    let mut acceptors = Vec::new();
    for (listener, implicit_tls) in server.listeners {
        if let Ok(addr) = listener.local_addr() {
            wake.push(addr);
        }
        let pool = pool.clone();
        acceptors.push(
            std::thread::Builder::new()
                .name("smtp-accept".into())
                .spawn(move || pool.accept(&listener, implicit_tls))?,
        );
    }
    stop.wait();
    info!("shutting down");
    lock(&pool.state).stopping = true;
    pool.changed.notify_all();
    // An acceptor blocked in accept() wakes up on a connection of its own.
    for mut addr in wake {
        if addr.ip().is_unspecified() {
            addr.set_ip(if addr.is_ipv4() {
                std::net::Ipv4Addr::LOCALHOST.into()
            } else {
                std::net::Ipv6Addr::LOCALHOST.into()
            });
        }
        let _ = TcpStream::connect_timeout(&addr, Duration::from_secs(1));
    }
    for acceptor in acceptors {
        let _ = acceptor.join();
    }
    // Idle workers end once the queue is closed.
    *lock(&pool.jobs) = None;
    let end = Instant::now() + server.grace_period;
    let mut state = lock(&pool.state);
    while state.busy > 0 {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            debug!(sessions = state.busy, "grace period over");
            pool.shutdown.now();
            // Wake the workers blocked in a read: the session learns of
            // the shutdown and answers 421 before closing.
            for tcp in state.sockets.values() {
                let _ = tcp.shutdown(std::net::Shutdown::Read);
            }
            while state.busy > 0 {
                state = pool.changed.wait(state).unwrap_or_else(|e| e.into_inner());
            }
            break;
        }
        state = pool
            .changed
            .wait_timeout(state, left)
            .unwrap_or_else(|e| e.into_inner())
            .0;
    }
    drop(state);
    let workers = std::mem::take(&mut *lock(&pool.workers));
    for worker in workers {
        let _ = worker.join();
    }
    Ok(())
}
