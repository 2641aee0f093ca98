//! The smtp-async-std server's graceful shutdown on smol and on async-std:
//! sessions go on during the grace period, new connections are refused, then
//! `421 4.3.2` and close.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use smtp_async_std::maildir::Maildir;
use smtp_async_std::proto::server::ServerConfig;
use smtp_async_std::server::Server;

fn read_until(s: &mut TcpStream, want: &str) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
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
fn graceful_shutdown_on_both_runtimes() {
    for rt in ["smol", "async-std"] {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::builder(ServerConfig::new("mx.example"))
            .listen("127.0.0.1:0".parse().unwrap())
            .grace_period(Duration::from_millis(600))
            .bind()
            .unwrap();
        let addr = server.local_addrs()[0];
        let maildir = Maildir::new(dir.path(), "mx.example").unwrap();
        let (stop_tx, stop_rx) = async_channel::bounded::<()>(1);
        let run = server.run_until(maildir, async move {
            let _ = stop_rx.recv().await;
        });
        let handle = std::thread::spawn(move || match rt {
            "smol" => smol::block_on(run),
            _ => async_std::task::block_on(run),
        });
        let mut s = TcpStream::connect(addr).unwrap();
        read_until(&mut s, "220 ");
        s.write_all(b"EHLO c.example\r\n").unwrap();
        read_until(&mut s, "250 ");
        let asked = Instant::now();
        stop_tx.send_blocking(()).unwrap();
        std::thread::sleep(Duration::from_millis(150));
        s.write_all(b"NOOP\r\n").unwrap();
        read_until(&mut s, "250 2.0.0 Ok\r\n");
        let refused = TcpStream::connect(addr).map(|mut c| {
            c.set_read_timeout(Some(Duration::from_millis(300)))
                .unwrap();
            let mut b = [0u8; 16];
            c.read(&mut b).unwrap_or(0)
        });
        assert!(
            matches!(refused, Err(_) | Ok(0)),
            "{rt}: greeted after shutdown"
        );
        read_until(&mut s, "421 4.3.2 mx.example Service shutting down\r\n");
        let waited = asked.elapsed();
        assert!(
            waited >= Duration::from_millis(500) && waited < Duration::from_secs(5),
            "{rt}: {waited:?}"
        );
        handle.join().unwrap().unwrap();
    }
}
