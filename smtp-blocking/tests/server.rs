//! The blocking server's library API over real sockets: graceful shutdown
//! (sessions finish within the grace period, the rest get 421; a session
//! that ends early ends the server early) and the worker pool's bound. (The
//! example server's deadlines and hostile peers: `examples.rs`.)

#[path = "../../smtp-tokio/tests/common/mod.rs"]
mod common;
#[path = "../../smtp-tokio/tests/common/server_checks.rs"]
mod server_checks;

use std::io::Write;
use std::net::SocketAddr;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::{connect, read_until};
use smtp_blocking::maildir::Maildir;
use smtp_blocking::proto::server::ServerConfig;
use smtp_blocking::server::{Server, ServerBuilder, Stop};

/// Binds the server `builder` makes on a free loopback port, with a Maildir
/// for `mx.example` in `dir` to run it with: (its address, the server, the
/// handler).
fn bind(builder: ServerBuilder, dir: &std::path::Path) -> (SocketAddr, Server, Maildir) {
    let server = builder
        .listen("127.0.0.1:0".parse().unwrap())
        .bind()
        .unwrap();
    let handler = Maildir::new(dir, "mx.example").unwrap();
    (server.local_addrs()[0], server, handler)
}

/// Binds as [`bind`] and runs the server on a thread until `Stop` is used
/// (`Server::run_until`): (its address, the stop, the thread).
fn run(
    builder: ServerBuilder,
    dir: &std::path::Path,
) -> (SocketAddr, Stop, JoinHandle<std::io::Result<()>>) {
    let (addr, server, handler) = bind(builder, dir);
    let stop = Stop::new();
    let running = {
        let stop = stop.clone();
        std::thread::spawn(move || server.run_until(handler, stop))
    };
    (addr, stop, running)
}

#[test]
fn graceful_shutdown_lets_sessions_finish_then_answers_421() {
    let dir = tempfile::tempdir().unwrap();
    let builder =
        Server::builder(ServerConfig::new("mx.example")).grace_period(server_checks::GRACE);
    let (addr, stop, running) = run(builder, dir.path());
    server_checks::graceful_shutdown(addr, || stop.stop());
    running.join().unwrap().unwrap();
}

#[test]
fn a_session_that_ends_within_the_grace_period_ends_the_server_early() {
    let dir = tempfile::tempdir().unwrap();
    let builder =
        Server::builder(ServerConfig::new("mx.example")).grace_period(Duration::from_secs(30));
    let (addr, stop, running) = run(builder, dir.path());
    let mut s = connect(addr);
    read_until(&mut s, "220 ");
    let asked = Instant::now();
    stop.stop();
    s.write_all(b"QUIT\r\n").unwrap();
    read_until(&mut s, "221 ");
    running.join().unwrap().unwrap();
    assert!(asked.elapsed() < Duration::from_secs(5));
}

#[test]
fn the_worker_pool_holds_the_next_client_until_one_ends() {
    let dir = tempfile::tempdir().unwrap();
    let builder = Server::builder(ServerConfig::new("mx.example")).max_connections(2);
    let (addr, server, handler) = bind(builder, dir.path());
    std::thread::spawn(move || server.run(handler));
    server_checks::connection_limit_of_two(addr);
}

#[test]
fn the_client_connects_from_its_source_address() {
    server_checks::client_connects_from_its_source_address(|options| {
        assert!(smtp_blocking::client::Connection::connect(&options).is_err());
    });
}
