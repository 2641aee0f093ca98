//! The blocking server's library API over real sockets: graceful shutdown
//! (sessions finish within the grace period, the rest get 421; a session
//! that ends early ends the server early) and the worker pool's bound. (The
//! example server's deadlines and hostile peers: `examples.rs`.)

#[path = "../../smtp-tokio/tests/common/mod.rs"]
mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use smtp_blocking::maildir::Maildir;
use smtp_blocking::proto::server::ServerConfig;
use smtp_blocking::server::{Server, Stop};

fn read_until(s: &mut TcpStream, want: &str) -> String {
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    read_until_in(s, want)
}

fn read_until_in(s: &mut impl Read, want: &str) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains(want) {
        let n = s.read(&mut buf).unwrap();
        assert!(
            n > 0,
            "closed before {want:?}: {:?}",
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&got).into_owned()
}

#[test]
fn graceful_shutdown_lets_sessions_finish_then_answers_421() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::builder(ServerConfig::new("mx.example"))
        .listen("127.0.0.1:0".parse().unwrap())
        .grace_period(Duration::from_millis(800))
        .bind()
        .unwrap();
    let addr = server.local_addrs()[0];
    let stop = Stop::new();
    let handler = Maildir::new(dir.path(), "mx.example").unwrap();
    let running = {
        let stop = stop.clone();
        std::thread::spawn(move || server.run_until(handler, stop))
    };
    let mut s = TcpStream::connect(addr).unwrap();
    read_until(&mut s, "220 ");
    s.write_all(b"EHLO c.example\r\nMAIL FROM:<a@example.org>\r\n")
        .unwrap();
    read_until(&mut s, "250 2.1.0 ");
    let asked = Instant::now();
    stop.stop();
    // During the grace period the session goes on...
    std::thread::sleep(Duration::from_millis(200));
    s.write_all(b"RCPT TO:<b@example.org>\r\n").unwrap();
    read_until(&mut s, "250 2.1.5 ");
    // ...new connections are not accepted...
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
        waited >= Duration::from_millis(700) && waited < Duration::from_secs(5),
        "{waited:?} {text}"
    );
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
    running.join().unwrap().unwrap();
}

#[test]
fn a_session_that_ends_within_the_grace_period_ends_the_server_early() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::builder(ServerConfig::new("mx.example"))
        .listen("127.0.0.1:0".parse().unwrap())
        .grace_period(Duration::from_secs(30))
        .bind()
        .unwrap();
    let addr = server.local_addrs()[0];
    let stop = Stop::new();
    let handler = Maildir::new(dir.path(), "mx.example").unwrap();
    let running = {
        let stop = stop.clone();
        std::thread::spawn(move || server.run_until(handler, stop))
    };
    let mut s = TcpStream::connect(addr).unwrap();
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
    let server = Server::builder(ServerConfig::new("mx.example"))
        .listen("127.0.0.1:0".parse().unwrap())
        .max_connections(2)
        .bind()
        .unwrap();
    let addr = server.local_addrs()[0];
    let handler = Maildir::new(dir.path(), "mx.example").unwrap();
    std::thread::spawn(move || server.run(handler));
    let mut a = TcpStream::connect(addr).unwrap();
    read_until(&mut a, "220 ");
    let mut b = TcpStream::connect(addr).unwrap();
    read_until(&mut b, "220 ");
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut buf = [0u8; 64];
    assert!(c.read(&mut buf).is_err(), "a third connection was served");
    a.write_all(b"QUIT\r\n").unwrap();
    read_until(&mut a, "221 ");
    read_until(&mut c, "220 ");
    // The worker that served `a` serves `c`; `b` still works.
    b.write_all(b"NOOP\r\n").unwrap();
    read_until(&mut b, "250 ");
}
