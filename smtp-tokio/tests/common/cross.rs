//! For the tests that send across adapters, over real sockets (STARTTLS,
//! AUTH, CHUNKING): the message, the client options, the example server's
//! setup for in-process servers, and the check of the Maildir. Include
//! beside `common` with `#[path = ".../common/cross.rs"] mod cross;`.
#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};

use clap::Parser;
use smtp_adapter::cli::{ServerArgs, ServerSetup};
use smtp_adapter::options::{ClientOptions, Security};
use smtp_adapter::tls::Trust;
use smtp_proto::client::Envelope;
use smtp_proto::wire::sasl::Credentials;

use crate::common::{certificate, split_delivered};

/// A message with what is easy to get wrong: leading dots, a lone `.` line,
/// an 8-bit octet, a long line, and enough of it for several BDAT chunks.
pub fn body() -> Vec<u8> {
    let mut b =
        b"Subject: across runtimes\r\n\r\n.leading dot\r\n.\r\n..two\r\nbinary \xff\r\n".to_vec();
    for i in 0..20_000 {
        b.extend_from_slice(format!("{i:06} {}\r\n", "y".repeat(60)).as_bytes());
    }
    b.extend_from_slice(b"end\r\n");
    b
}

/// The example server's setup (the same flags for every adapter) with a
/// certificate, AUTH `u:p` and a Maildir in `dir`: (setup, certificate,
/// Maildir).
pub fn setup(dir: &Path) -> (ServerSetup, PathBuf, PathBuf) {
    let (cert, key) = certificate(dir);
    let maildir = dir.join("maildir");
    let args = ServerArgs::try_parse_from([
        "server".as_ref(),
        "--listen".as_ref(),
        "127.0.0.1:0".as_ref(),
        "--maildir".as_ref(),
        maildir.as_os_str(),
        "--tls-cert".as_ref(),
        cert.as_os_str(),
        "--tls-key".as_ref(),
        key.as_os_str(),
        "--auth".as_ref(),
        "u:p".as_ref(),
    ])
    .unwrap();
    (args.setup().unwrap(), cert, maildir)
}

/// A client's options for such a server: STARTTLS required with `ca`, AUTH
/// `u:p`, CHUNKING on.
pub fn options(port: u16, ca: &Path) -> ClientOptions {
    let mut o = ClientOptions::new("localhost", port);
    o.security = Security::StartTlsRequired;
    o.trust = Trust::ca_file(ca).unwrap();
    o.credentials = Some(Credentials::password("u", "p"));
    o.chunking = true;
    o
}

/// `n` messages in the Maildir, each `body` byte for byte, sent with TLS and
/// AUTH (RFC 3848: `ESMTPSA` in the trace header).
pub fn check_delivered(maildir: &Path, n: usize, body: &[u8]) {
    let mut names: Vec<_> = std::fs::read_dir(maildir.join("new"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    assert_eq!(names.len(), n, "delivered");
    for name in names {
        let file = std::fs::read(name).unwrap();
        let (headers, got) = split_delivered(&file);
        assert!(headers.contains(" with ESMTPSA id "), "{headers}");
        assert!(got == body, "the body was not delivered byte for byte");
    }
}

/// The tokio client sends `body` to `b@example.org` `times` times over one
/// session with `options` (TLS and CHUNKING checked), then NOOP, RSET and
/// QUIT.
pub fn tokio_client_sends(options: &ClientOptions, body: &[u8], times: usize) {
    crate::common::block_on_tokio(async {
        let mut c = smtp_tokio::client::Connection::connect(options)
            .await
            .unwrap();
        assert!(c.is_tls());
        assert!(c.capabilities().unwrap().chunking());
        for _ in 0..times {
            let envelope = Envelope::parse("a@example.org", ["b@example.org"]).unwrap();
            let result = c.send(envelope, body).await.unwrap();
            assert!(result.all_delivered(), "{result:?}");
        }
        assert_eq!(c.noop().await.unwrap().code().get(), 250);
        assert_eq!(c.rset().await.unwrap().code().get(), 250);
        c.quit().await.unwrap();
    });
}

/// [`tokio_client_sends`] with the blocking client.
pub fn blocking_client_sends(options: &ClientOptions, body: &[u8], times: usize) {
    let mut c = smtp_blocking::client::Connection::connect(options).unwrap();
    assert!(c.is_tls());
    assert!(c.capabilities().unwrap().chunking());
    for _ in 0..times {
        let envelope = Envelope::parse("a@example.org", ["b@example.org"]).unwrap();
        let result = c.send(envelope, body).unwrap();
        assert!(result.all_delivered(), "{result:?}");
    }
    assert_eq!(c.noop().unwrap().code().get(), 250);
    assert_eq!(c.rset().unwrap().code().get(), 250);
    c.quit().unwrap();
}

/// How a test stops a server it started in-process (and waits for it).
pub type StopServer = Box<dyn FnOnce()>;

/// Starts the tokio server with `setup` on a thread of its own: its port and
/// how to stop it.
pub fn start_tokio(setup: ServerSetup) -> (u16, StopServer) {
    let (tx, rx) = std::sync::mpsc::channel::<u16>();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let handle = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let server = smtp_tokio::server::Server::builder(setup.config)
                .listen(setup.listen[0])
                .tls(setup.tls.unwrap())
                .bind()
                .await
                .unwrap();
            tx.send(server.local_addrs()[0].port()).unwrap();
            server
                .run_until(setup.handler, async {
                    let _ = stop_rx.await;
                })
                .await
                .unwrap();
        });
    });
    let stop = Box::new(move || {
        let _ = stop_tx.send(());
        handle.join().unwrap();
    });
    (rx.recv().unwrap(), stop)
}

/// Starts the blocking server with `setup` on a thread of its own: its port
/// and how to stop it.
pub fn start_blocking(setup: ServerSetup) -> (u16, StopServer) {
    let server = smtp_blocking::server::Server::builder(setup.config)
        .listen(setup.listen[0])
        .tls(setup.tls.unwrap())
        .bind()
        .unwrap();
    let port = server.local_addrs()[0].port();
    let s = smtp_blocking::server::Stop::new();
    let s2 = s.clone();
    let handle = std::thread::spawn(move || server.run_until(setup.handler, s2).unwrap());
    let stop = Box::new(move || {
        s.stop();
        handle.join().unwrap();
    });
    (port, stop)
}
