//! The drain loops of ARCHITECTURE.md, written once for every asynchronous
//! adapter: a server connection ([`serve_connection`]) and a client
//! connection ([`ClientConnection`]). An adapter supplies only what is its
//! own: a [`Transport`] (its socket, with its TLS library) and a [`Runtime`]
//! (its timers); spawning, listening and connecting stay in the adapter.

mod client;
mod server;
mod stream;

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::BytesMut;
use rustls_pki_types::ServerName;

pub use client::{Body, ClientConnection, Connect};
pub use server::{ConnectionSettings, serve_connection};
pub use stream::{Io, Stream, Tls};

/// A connection's byte stream, plaintext or TLS, as an adapter provides it.
pub trait Transport: Send {
    /// Reads what is available into `buf` (reserving about `size` octets only
    /// once there is something to read, so an idle connection holds no
    /// buffer); `Ok(0)` at the end of input.
    fn read_into(
        &mut self,
        buf: &mut BytesMut,
        size: usize,
    ) -> impl Future<Output = io::Result<usize>> + Send;

    /// Writes all of `bytes` and flushes.
    fn write_all(&mut self, bytes: &[u8]) -> impl Future<Output = io::Result<()>> + Send;

    /// The server side of a TLS handshake on this plaintext connection.
    fn accept_tls(
        &mut self,
        config: Arc<rustls::ServerConfig>,
    ) -> impl Future<Output = io::Result<()>> + Send;

    /// The client side of a TLS handshake on this plaintext connection.
    fn connect_tls(
        &mut self,
        config: Arc<rustls::ClientConfig>,
        name: ServerName<'static>,
    ) -> impl Future<Output = io::Result<()>> + Send;

    /// Closes the writing side (TLS close_notify first, under TLS).
    fn shutdown(&mut self) -> impl Future<Output = io::Result<()>> + Send;

    /// For a transport whose reads block the thread (smtp-blocking): the next
    /// [`Transport::read_into`] must give up by `deadline` with
    /// [`io::ErrorKind::TimedOut`] (`None`: no limit). An asynchronous
    /// transport keeps the default, which does nothing: the drain loops race
    /// its reads against the runtime's timer instead.
    fn read_deadline(&mut self, deadline: Option<std::time::Instant>) -> io::Result<()> {
        let _ = deadline;
        Ok(())
    }
}

/// An adapter's timers.
pub trait Runtime: Send + Sync + 'static {
    /// Completes at `deadline`. (A runtime without an executor, like
    /// smtp-blocking's, may simply block the thread until then: the drain
    /// loops poll a read before the timer, and a blocking read never waits
    /// beyond [`Transport::read_deadline`].)
    fn sleep_until(deadline: std::time::Instant) -> impl Future<Output = ()> + Send;
}

/// The adapters' clock: the core takes time as an input (ARCHITECTURE.md R5).
/// Every session of the process measures time from one origin, taken the
/// first time the clock is read, so deadlines of different sessions compare.
pub mod clock {
    use std::sync::OnceLock;

    use smtp_proto::time::Instant;

    fn origin() -> std::time::Instant {
        static ORIGIN: OnceLock<std::time::Instant> = OnceLock::new();
        *ORIGIN.get_or_init(std::time::Instant::now)
    }

    /// Now, as the core counts it.
    pub fn now() -> Instant {
        Instant::from_duration(origin().elapsed())
    }

    /// A core deadline as a std instant.
    pub fn deadline(at: Instant) -> std::time::Instant {
        origin() + at.as_duration()
    }
}

/// A graceful shutdown's last step, shared by a server and its connections:
/// once [`Shutdown::now`] is called every connection answers `421 4.3.2`
/// and closes (the server calls it when its grace period is over).
#[derive(Debug, Clone, Default)]
pub struct Shutdown(Arc<ShutdownState>);

#[derive(Debug, Default)]
struct ShutdownState {
    now: AtomicBool,
    event: event_listener::Event,
}

impl Shutdown {
    /// Not shut down yet.
    pub fn new() -> Shutdown {
        Shutdown::default()
    }

    /// Cuts every connection off now.
    pub fn now(&self) {
        self.0.now.store(true, Ordering::SeqCst);
        self.0.event.notify(usize::MAX);
    }

    /// Whether [`Shutdown::now`] was called.
    pub fn is_now(&self) -> bool {
        self.0.now.load(Ordering::SeqCst)
    }

    /// Completes once [`Shutdown::now`] is called.
    pub async fn wait(&self) {
        loop {
            if self.is_now() {
                return;
            }
            // On the stack, inside this future: no allocation per wait.
            event_listener::listener!(self.0.event => listener);
            if self.is_now() {
                return;
            }
            listener.await;
        }
    }
}

/// `f`, unless it takes longer than `timeout`: then `TimedOut` ("`what` timed
/// out").
pub async fn within<R: Runtime, T>(
    timeout: Duration,
    what: &str,
    f: impl Future<Output = io::Result<T>>,
) -> io::Result<T> {
    let deadline = std::time::Instant::now() + timeout;
    futures_lite::future::or(f, async {
        R::sleep_until(deadline).await;
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("{what} timed out"),
        ))
    })
    .await
}

/// What ended a wait.
enum Wake<T> {
    Read(T),
    Deadline,
    Shutdown,
}

/// Waits for the first of: the read (if any), the session's deadline (if
/// any), a shutdown (if watched). Reads win ties.
async fn wait<R: Runtime, F: Future>(
    read: Option<F>,
    deadline: Option<smtp_proto::time::Instant>,
    shutdown: Option<&Shutdown>,
) -> Wake<F::Output> {
    let read = async {
        match read {
            Some(f) => Wake::Read(f.await),
            None => std::future::pending().await,
        }
    };
    let timer = async {
        match deadline {
            Some(at) => {
                R::sleep_until(clock::deadline(at)).await;
                Wake::Deadline
            }
            None => std::future::pending().await,
        }
    };
    let stop = async {
        match shutdown {
            Some(s) => {
                s.wait().await;
                Wake::Shutdown
            }
            None => std::future::pending().await,
        }
    };
    futures_lite::future::or(read, futures_lite::future::or(timer, stop)).await
}

/// What came of waiting for input ([`wait_input`]).
enum Input {
    /// Bytes were read into the buffer.
    Read,
    /// The peer closed its side.
    Eof,
    /// The session's deadline passed.
    Deadline,
    /// The server's grace period is over.
    Shutdown,
    /// A blocking read gave up a little before the deadline: wait again.
    Again,
}

/// Step 2 of the drain loop: reads into `unread` (if the session wants
/// input) while watching the session's deadline and the shutdown. A blocking
/// transport is told the deadline first ([`Transport::read_deadline`]); its
/// read timing out is the deadline, and a shutdown wins over what a read
/// brought (the blocking server wakes reads by closing their sockets).
async fn wait_input<R: Runtime, T: Transport>(
    stream: &mut T,
    unread: &mut BytesMut,
    wants_read: bool,
    deadline: Option<smtp_proto::time::Instant>,
    shutdown: Option<&Shutdown>,
) -> io::Result<Input> {
    let shut = || shutdown.is_some_and(Shutdown::is_now);
    if shut() {
        return Ok(Input::Shutdown);
    }
    if wants_read {
        stream.read_deadline(deadline.map(clock::deadline))?;
    }
    let read = stream.read_into(unread, READ_SIZE);
    Ok(
        match wait::<R, _>(wants_read.then_some(read), deadline, shutdown).await {
            _ if shut() => Input::Shutdown,
            Wake::Read(Ok(0)) => Input::Eof,
            Wake::Read(Ok(_)) => Input::Read,
            Wake::Read(Err(e))
                if matches!(
                    e.kind(),
                    io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
                ) =>
            {
                if deadline.is_some_and(|at| clock::now() >= at) {
                    Input::Deadline
                } else {
                    Input::Again
                }
            }
            Wake::Read(Err(e)) if e.kind() == io::ErrorKind::Interrupted => Input::Again,
            Wake::Read(Err(e)) => return Err(e),
            Wake::Deadline => Input::Deadline,
            Wake::Shutdown => Input::Shutdown,
        },
    )
}

/// How much is read from the socket at a time; reserved only while reading.
const READ_SIZE: usize = 8 * 1024;

/// The session refused a call: a bug in the adapter, reported as an error
/// of the connection.
fn misuse<T>(result: Result<T, smtp_proto::output::ApiMisuse>) -> io::Result<T> {
    result.map_err(|e| io::Error::other(format!("smtp-proto API misuse: {e}")))
}
