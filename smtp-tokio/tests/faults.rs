//! Hostile and unlucky peers against the example server and the library
//! client, over real sockets: a peer that never reads, commands injected
//! behind STARTTLS (both sides), a client that vanishes mid-DATA, a Maildir
//! that cannot be written or fills up. (A thousand idle connections:
//! `idle_memory.rs`.)

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::ExampleServer;

/// Reads until `want` has arrived (or panics after 10 s); returns all read.
fn read_until(s: &mut impl Read, want: &str) -> String {
    let mut got = Vec::new();
    let end = Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains(want) {
        assert!(
            Instant::now() < end,
            "waited for {want:?}, got {:?}",
            String::from_utf8_lossy(&got)
        );
        match s.read(&mut buf) {
            Ok(0) => panic!(
                "closed while waiting for {want:?}; got {:?}",
                String::from_utf8_lossy(&got)
            ),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(e) => panic!("{e}"),
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

fn connect(server: &ExampleServer) -> TcpStream {
    let s = TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

#[test]
fn a_peer_that_never_reads_is_cut_off_with_memory_flat() {
    let server = ExampleServer::start(false, &["--timeout", "2"]);
    let mut s = connect(&server);
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
    let took = started.elapsed();
    assert!(sent > 1_000_000, "the flood was {sent} octets");
    eprintln!("flood: {sent} octets, cut off after {took:?}, RSS {before} KiB -> peak {peak} KiB");
    // Bounded buffers: the server holds at most a batch, whatever was sent.
    assert!(
        peak < before + 8 * 1024,
        "RSS grew from {before} to {peak} KiB"
    );
    assert!(server.stop().success());
}

/// A TLS client over a std socket that trusts anything (the server's
/// certificate is self-signed).
fn tls_client(tcp: TcpStream) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    let config = smtp_tokio::tls::Trust::Insecure.client_config().unwrap();
    let conn = rustls::ClientConnection::new(config, "localhost".try_into().unwrap()).unwrap();
    rustls::StreamOwned::new(conn, tcp)
}

#[test]
fn a_command_injected_after_starttls_is_never_executed_by_the_server() {
    let server = ExampleServer::start(true, &[]);
    let mut s = connect(&server);
    read_until(&mut s, "220 ");
    s.write_all(b"EHLO c.example\r\n").unwrap();
    read_until(&mut s, "250 ");
    // One packet: STARTTLS and a command behind it, in plaintext.
    s.write_all(b"STARTTLS\r\nMAIL FROM:<injected@evil.example>\r\n")
        .unwrap();
    let reply = read_until(&mut s, "\r\n");
    assert!(reply.starts_with("220 2.0.0 "), "{reply}");
    let mut tls = tls_client(s);
    tls.write_all(b"EHLO c.example\r\n").unwrap();
    read_until(&mut tls, "250 ");
    // Had the injected MAIL survived, this RCPT would be accepted.
    tls.write_all(b"RCPT TO:<victim@example.org>\r\n").unwrap();
    let reply = read_until(&mut tls, "\r\n");
    assert!(reply.starts_with("503 5.5.1 "), "{reply}");
    tls.write_all(b"QUIT\r\n").unwrap();
    read_until(&mut tls, "221 ");
}

#[test]
fn a_reply_injected_after_starttls_is_never_read_by_the_client() {
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let made = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let key = rustls_pki_types::PrivateKeyDer::Pkcs8(made.key_pair.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![made.cert.der().clone()], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let peer = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut tcp = BufReader::new(tcp);
            let mut line = String::new();
            tcp.get_mut()
                .write_all(b"220 mx.example ESMTP\r\n")
                .await
                .unwrap();
            tcp.read_line(&mut line).await.unwrap();
            assert!(line.starts_with("EHLO "), "{line}");
            tcp.get_mut()
                .write_all(b"250-mx.example\r\n250 STARTTLS\r\n")
                .await
                .unwrap();
            line.clear();
            tcp.read_line(&mut line).await.unwrap();
            assert_eq!(line, "STARTTLS\r\n");
            // The 220 and, in the same packet, a forged EHLO reply offering
            // AUTH and a fake name, as a man in the middle would send.
            tcp.get_mut()
                .write_all(b"220 go ahead\r\n250-forged.example\r\n250 AUTH PLAIN\r\n")
                .await
                .unwrap();
            let tls = acceptor.accept(tcp.into_inner()).await.unwrap();
            let mut tls = BufReader::new(tls);
            line.clear();
            tls.read_line(&mut line).await.unwrap();
            assert!(
                line.starts_with("EHLO "),
                "the client must say EHLO again, not {line:?}"
            );
            tls.get_mut()
                .write_all(b"250-mx.example\r\n250 8BITMIME\r\n")
                .await
                .unwrap();
            line.clear();
            tls.read_line(&mut line).await.unwrap();
            assert_eq!(line, "QUIT\r\n");
            tls.get_mut().write_all(b"221 bye\r\n").await.unwrap();
            let _ = tls.get_mut().shutdown().await;
        });
        let mut options = smtp_tokio::client::ClientOptions::new("localhost", port);
        options.security = smtp_tokio::client::Security::StartTlsRequired;
        options.trust = smtp_tokio::tls::Trust::Insecure;
        let c = smtp_tokio::client::Connection::connect(&options)
            .await
            .expect("connected");
        let caps = c.capabilities().unwrap();
        assert_eq!(caps.domain, "mx.example", "{caps:?}");
        assert!(
            caps.extensions
                .iter()
                .all(|e| !e.to_string().starts_with("AUTH")),
            "{caps:?}"
        );
        c.quit().await.unwrap();
        peer.await.unwrap();
    });
}

#[test]
fn a_client_gone_mid_data_leaves_nothing_in_the_maildir() {
    let server = ExampleServer::start(false, &[]);
    let mut s = connect(&server);
    read_until(&mut s, "220 ");
    s.write_all(
        b"EHLO c.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n",
    )
    .unwrap();
    read_until(&mut s, "354 ");
    s.write_all(&b"Subject: half\r\n\r\n".repeat(2000)).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    drop(s);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(server.in_tmp(), 0, "a half message stayed in tmp/");
    assert!(server.delivered().is_empty());
}

/// Sends one message by hand; returns the reply to the end of data (or to
/// DATA, if that was refused).
fn send_by_hand(server: &ExampleServer, body: &[u8]) -> String {
    let mut s = connect(server);
    read_until(&mut s, "220 ");
    s.write_all(b"EHLO c.example\r\n").unwrap();
    read_until(&mut s, "250 ");
    s.write_all(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n")
        .unwrap();
    // Three replies: MAIL, RCPT, DATA.
    let mut got = String::new();
    while got.matches("\r\n").count() < 3 {
        got.push_str(&read_until(&mut s, "\r\n"));
    }
    if got.contains("451 ") {
        return got
            .lines()
            .find(|l| l.starts_with("451 "))
            .unwrap()
            .to_string();
    }
    s.write_all(body).unwrap();
    s.write_all(b"\r\n.\r\n").unwrap();
    let reply = read_until(&mut s, "\r\n");
    s.write_all(b"QUIT\r\n").unwrap();
    reply
}

#[test]
fn an_unwritable_maildir_answers_451() {
    let server = ExampleServer::start(false, &[]);
    let tmp = server.maildir.join("tmp");
    std::fs::remove_dir(&tmp).unwrap();
    std::fs::write(&tmp, b"not a directory").unwrap();
    let reply = send_by_hand(&server, b"Subject: x\r\n\r\nhello");
    assert!(reply.starts_with("451 4.3.0 "), "{reply}");
    assert!(server.delivered().is_empty());
}

#[test]
fn a_full_disk_answers_451_and_leaves_nothing() {
    let server = ExampleServer::start(false, &[]);
    // A 256 KiB tmpfs over the Maildir (needs root, as in CI).
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=256k", "tmpfs"])
        .arg(&server.maildir)
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        assert!(
            std::env::var_os("SMTP_INTEROP_REQUIRED").is_none(),
            "cannot mount a tmpfs (CI runs as root)"
        );
        eprintln!("SKIPPED: cannot mount a tmpfs here");
        return;
    }
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(server.maildir.clone());
    for sub in ["tmp", "new", "cur"] {
        std::fs::create_dir(server.maildir.join(sub)).unwrap();
    }
    let big =
        b"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n".repeat(8 * 1024);
    let reply = send_by_hand(&server, &big);
    assert!(reply.starts_with("451 4.3.0 "), "{reply}");
    assert!(server.delivered().is_empty());
    assert_eq!(server.in_tmp(), 0, "the partial file stayed in tmp/");
    // A message that fits still goes through.
    let reply = send_by_hand(&server, b"Subject: small\r\n\r\nfits");
    assert!(reply.starts_with("250 "), "{reply}");
    assert_eq!(server.delivered().len(), 1);
}
