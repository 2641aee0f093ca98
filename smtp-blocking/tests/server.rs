//! The blocking server over real sockets: graceful shutdown (sessions finish
//! within the grace period, the rest get 421), the worker pool's bound, an
//! idle connection cut off at its deadline with 421 4.4.2, a client gone
//! mid-DATA leaving nothing in the Maildir, and plaintext read ahead of
//! STARTTLS dropped (ARCHITECTURE.md R9).

#[path = "../../smtp-tokio/tests/common/mod.rs"]
mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::ExampleServer;
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

#[test]
fn an_idle_connection_is_closed_at_its_deadline_with_421() {
    let server = ExampleServer::start_program("blocking-server", false, &["--timeout", "1"]);
    let mut s = TcpStream::connect(server.addr).unwrap();
    read_until(&mut s, "220 ");
    s.write_all(b"EHLO c.example\r\n").unwrap();
    read_until(&mut s, "250 ");
    let idle = Instant::now();
    let text = read_until(&mut s, "\r\n");
    let waited = idle.elapsed();
    assert!(text.starts_with("421 4.4.2 "), "{text}");
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(4),
        "{waited:?}"
    );
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "{rest:?}");
}

#[test]
fn a_client_gone_mid_data_leaves_nothing_in_the_maildir() {
    let server = ExampleServer::start_program("blocking-server", false, &[]);
    let mut s = TcpStream::connect(server.addr).unwrap();
    read_until(&mut s, "220 ");
    s.write_all(
        b"EHLO c.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n",
    )
    .unwrap();
    read_until(&mut s, "354 ");
    s.write_all(&b"Subject: half\r\n\r\n".repeat(2000)).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    // Something was written to tmp/ meanwhile...
    assert_eq!(server.in_tmp(), 1, "no message in progress in tmp/");
    drop(s);
    std::thread::sleep(Duration::from_millis(300));
    // ...and is gone with the client.
    assert_eq!(server.in_tmp(), 0, "a half message stayed in tmp/");
    assert!(server.delivered().is_empty());
    assert!(server.stop().success());
}

#[test]
fn a_command_injected_after_starttls_is_never_executed() {
    let server = ExampleServer::start_program("blocking-server", true, &[]);
    let mut s = TcpStream::connect(server.addr).unwrap();
    read_until(&mut s, "220 ");
    s.write_all(b"EHLO c.example\r\n").unwrap();
    read_until(&mut s, "250 ");
    // One packet: STARTTLS and a command behind it, in plaintext.
    s.write_all(b"STARTTLS\r\nMAIL FROM:<injected@evil.example>\r\n")
        .unwrap();
    let reply = read_until(&mut s, "\r\n");
    assert!(reply.starts_with("220 2.0.0 "), "{reply}");
    let config = smtp_blocking::tls::Trust::Insecure.client_config().unwrap();
    let conn = rustls::ClientConnection::new(config, "localhost".try_into().unwrap()).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, s);
    tls.write_all(b"EHLO c.example\r\n").unwrap();
    read_until_in(&mut tls, "250 ");
    // Had the injected MAIL survived, this RCPT would be accepted.
    tls.write_all(b"RCPT TO:<victim@example.org>\r\n").unwrap();
    let reply = read_until_in(&mut tls, "\r\n");
    assert!(reply.starts_with("503 5.5.1 "), "{reply}");
    tls.write_all(b"QUIT\r\n").unwrap();
    read_until_in(&mut tls, "221 ");
}

#[test]
fn a_peer_that_never_reads_is_cut_off_at_the_write_timeout_with_memory_flat() {
    let server = ExampleServer::start_program("blocking-server", false, &["--timeout", "2"]);
    let mut s = TcpStream::connect(server.addr).unwrap();
    read_until(&mut s, "220 ");
    let before = server.rss_kib();
    s.set_write_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let flood = b"NOOP\r\n".repeat(10_000);
    let started = Instant::now();
    let mut sent = 0usize;
    let mut peak = before;
    // Write until the server gives up on us: its replies fill our receive
    // buffer and its send buffer, its write times out, it closes.
    let closed = loop {
        match s.write(&flood) {
            Ok(n) => sent += n,
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => break true,
        }
        peak = peak.max(server.rss_kib());
        if started.elapsed() > Duration::from_secs(30) {
            break false;
        }
    };
    assert!(closed, "still connected after 30 s ({sent} octets sent)");
    assert!(sent > 1_000_000, "the flood was {sent} octets");
    eprintln!(
        "flood: {sent} octets, cut off after {:?}, RSS {before} KiB -> peak {peak} KiB",
        started.elapsed()
    );
    // Bounded buffers: the server holds at most a batch, whatever was sent.
    assert!(
        peak < before + 8 * 1024,
        "RSS grew from {before} to {peak} KiB"
    );
    assert!(server.stop().success());
}
