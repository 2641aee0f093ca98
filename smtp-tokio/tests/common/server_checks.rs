//! What every adapter's library server must do, seen from plain std clients
//! over real sockets, whatever runs the server: graceful shutdown and the
//! connection limit. Each adapter's server tests start the server their
//! way and call these. Include beside `common` with
//! `#[path = ".../common/server_checks.rs"] mod server_checks;`.
#![allow(dead_code, unreachable_pub)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::common::{connect, read_until};

/// The grace period the servers under [`graceful_shutdown`] are built with.
pub const GRACE: Duration = Duration::from_millis(800);

/// Graceful shutdown: a session open when `stop` is called goes on during
/// the grace period ([`GRACE`]), new connections are not greeted, and at
/// its end the session gets `421 4.3.2` and is closed. `stop` asks the
/// server at `addr` (hostname `mx.example`) to stop.
pub fn graceful_shutdown(addr: SocketAddr, stop: impl FnOnce()) {
    let mut s = connect(addr);
    read_until(&mut s, "220 ");
    s.write_all(b"EHLO c.example\r\nMAIL FROM:<a@example.org>\r\n")
        .unwrap();
    read_until(&mut s, "250 2.1.0 ");
    let asked = Instant::now();
    stop();
    // During the grace period the session goes on...
    std::thread::sleep(Duration::from_millis(200));
    s.write_all(b"RCPT TO:<b@example.org>\r\n").unwrap();
    read_until(&mut s, "250 2.1.5 ");
    s.write_all(b"NOOP\r\n").unwrap();
    read_until(&mut s, "250 2.0.0 Ok\r\n");
    // ...new connections are not accepted...
    std::thread::sleep(Duration::from_millis(100));
    let refused = TcpStream::connect(addr).map(|mut c| {
        c.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let mut b = [0u8; 16];
        c.read(&mut b).unwrap_or(0)
    });
    assert!(
        matches!(refused, Err(_) | Ok(0)),
        "a connection was greeted after shutdown"
    );
    // ...and at the end of it the session gets 421 and is closed.
    let text = read_until(&mut s, "421 4.3.2 mx.example Service shutting down\r\n");
    let waited = asked.elapsed();
    assert!(
        waited >= GRACE - Duration::from_millis(100) && waited < Duration::from_secs(5),
        "{waited:?} {text}"
    );
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "{rest:?}");
}

/// A server at `addr` with a limit of 2 connections holds a third client
/// (not greeted) until one of the two quits; the other still works.
pub fn connection_limit_of_two(addr: SocketAddr) {
    let mut a = connect(addr);
    read_until(&mut a, "220 ");
    let mut b = connect(addr);
    read_until(&mut b, "220 ");
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut buf = [0u8; 64];
    assert!(c.read(&mut buf).is_err(), "a third connection was served");
    a.write_all(b"QUIT\r\n").unwrap();
    read_until(&mut a, "221 ");
    read_until(&mut c, "220 ");
    // The slot `a` had serves `c`; `b` still works.
    b.write_all(b"NOOP\r\n").unwrap();
    read_until(&mut b, "250 ");
}

/// Binds a tokio server on `rt` and runs it there with `handler`
/// (`Server::run`, for as long as the runtime lives): its first address.
pub fn spawn_tokio<H: smtp_tokio::server::Handler>(
    rt: &tokio::runtime::Runtime,
    builder: smtp_tokio::server::ServerBuilder,
    handler: H,
) -> SocketAddr {
    let server = rt.block_on(builder.bind()).unwrap();
    let addr = server.local_addrs()[0];
    rt.spawn(server.run(handler));
    addr
}

/// Binds a tokio server on `rt` and runs it there with `handler` until the
/// returned sender is used (or dropped; `Server::run_until`): (its first
/// address, the stop sender, the running server).
pub fn run_tokio<H: smtp_tokio::server::Handler>(
    rt: &tokio::runtime::Runtime,
    builder: smtp_tokio::server::ServerBuilder,
    handler: H,
) -> (
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let server = rt.block_on(builder.bind()).unwrap();
    let addr = server.local_addrs()[0];
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = rt.spawn(server.run_until(handler, async {
        let _ = stopped.await;
    }));
    (addr, stop, running)
}

/// A client with `ClientOptions::source_address` connects from that address:
/// `connect` runs the adapter's `Connection::connect` with the options (it
/// fails once the scripted server closes after its greeting); the server
/// side sees the connection come from 127.0.0.7.
pub fn client_connects_from_its_source_address(
    connect: impl FnOnce(smtp_adapter::options::ClientOptions),
) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut tcp, peer) = listener.accept().unwrap();
        let _ = tcp.write_all(b"554 go away\r\n");
        peer
    });
    let mut options = smtp_adapter::options::ClientOptions::new("127.0.0.1", port);
    options.source_address = Some(std::net::Ipv4Addr::new(127, 0, 0, 7).into());
    connect(options);
    assert_eq!(server.join().unwrap().ip().to_string(), "127.0.0.7");
}
