//! Across runtimes, over real sockets: the smtp-async-std client on smol and
//! on async-std sends to the tokio, blocking and smtp-async-std servers, and
//! the tokio and blocking clients send to the smtp-async-std server on each
//! runtime: STARTTLS, AUTH, PIPELINING, CHUNKING (BDAT), the body byte for
//! byte in the Maildir. (Tokio and blocking with each other:
//! `smtp-blocking/tests/cross_runtime.rs`.)

#[path = "../../smtp-tokio/tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use clap::Parser;
use common::{certificate, split_delivered};
use smtp_adapter::cli::{ServerArgs, ServerSetup};
use smtp_adapter::options::{ClientOptions, Security};
use smtp_adapter::tls::Trust;
use smtp_proto::client::Envelope;
use smtp_proto::wire::sasl::Credentials;

/// What is easy to get wrong: leading dots, a lone `.` line, an 8-bit
/// octet, and enough for several BDAT chunks.
fn body() -> Vec<u8> {
    let mut b =
        b"Subject: across runtimes\r\n\r\n.leading dot\r\n.\r\n..two\r\nbinary \xff\r\n".to_vec();
    for i in 0..20_000 {
        b.extend_from_slice(format!("{i:06} {}\r\n", "z".repeat(60)).as_bytes());
    }
    b
}

#[derive(Clone, Copy, Debug)]
enum Rt {
    Smol,
    AsyncStd,
}

fn block_on<T>(rt: Rt, f: impl Future<Output = T>) -> T {
    match rt {
        Rt::Smol => smol::block_on(f),
        Rt::AsyncStd => async_std::task::block_on(f),
    }
}

/// The example server's setup (same flags for every adapter) with a
/// certificate, AUTH u:p and a Maildir in `dir`.
fn setup(dir: &Path) -> (ServerSetup, PathBuf, PathBuf) {
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

fn options(port: u16, ca: &Path) -> ClientOptions {
    let mut o = ClientOptions::new("localhost", port);
    o.security = Security::StartTlsRequired;
    o.trust = Trust::ca_file(ca).unwrap();
    o.credentials = Some(Credentials::password("u", "p"));
    o.chunking = true;
    o
}

fn check_delivered(maildir: &Path, n: usize, body: &[u8]) {
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

/// Which server.
#[derive(Clone, Copy, Debug)]
enum Side {
    Tokio,
    Blocking,
    Async(Rt),
}

/// Starts a server of that kind on a thread of its own; returns its port,
/// the CA to trust, the Maildir, and a stop function.
fn start_server(side: Side, dir: &Path) -> (u16, PathBuf, PathBuf, Box<dyn FnOnce()>) {
    let (setup, cert, maildir) = setup(dir);
    let (tx, rx) = std::sync::mpsc::channel::<u16>();
    let stop: Box<dyn FnOnce()>;
    let handle: JoinHandle<()>;
    match side {
        Side::Tokio => {
            let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
            handle = std::thread::spawn(move || {
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
            stop = Box::new(move || {
                let _ = stop_tx.send(());
                handle.join().unwrap();
            });
        }
        Side::Blocking => {
            let server = smtp_blocking::server::Server::builder(setup.config)
                .listen(setup.listen[0])
                .tls(setup.tls.unwrap())
                .bind()
                .unwrap();
            tx.send(server.local_addrs()[0].port()).unwrap();
            let s = smtp_blocking::server::Stop::new();
            let s2 = s.clone();
            handle = std::thread::spawn(move || server.run_until(setup.handler, s2).unwrap());
            stop = Box::new(move || {
                s.stop();
                handle.join().unwrap();
            });
        }
        Side::Async(rt) => {
            let server = smtp_async_std::server::Server::builder(setup.config)
                .listen(setup.listen[0])
                .tls(setup.tls.unwrap())
                .grace_period(std::time::Duration::from_secs(1))
                .bind()
                .unwrap();
            tx.send(server.local_addrs()[0].port()).unwrap();
            let (stop_tx, stop_rx) = async_channel::bounded::<()>(1);
            handle = std::thread::spawn(move || {
                block_on(
                    rt,
                    server.run_until(setup.handler, async move {
                        let _ = stop_rx.recv().await;
                    }),
                )
                .unwrap();
            });
            stop = Box::new(move || {
                let _ = stop_tx.send_blocking(());
                handle.join().unwrap();
            });
        }
    }
    (rx.recv().unwrap(), cert, maildir, stop)
}

fn async_client_sends(rt: Rt, options: &ClientOptions, body: &[u8]) {
    block_on(rt, async {
        let mut c = smtp_async_std::client::Connection::connect(options)
            .await
            .unwrap();
        assert!(c.is_tls());
        assert!(c.capabilities().unwrap().chunking());
        for _ in 0..2 {
            let envelope =
                Envelope::parse("a@example.org", ["b@example.org", "c@example.org"]).unwrap();
            let result = c.send(envelope, body).await.unwrap();
            assert!(result.all_delivered(), "{result:?}");
        }
        assert_eq!(c.noop().await.unwrap().code().get(), 250);
        c.quit().await.unwrap();
    });
}

#[test]
fn the_async_client_on_both_runtimes_to_every_server() {
    let body = body();
    for rt in [Rt::Smol, Rt::AsyncStd] {
        for side in [
            Side::Tokio,
            Side::Blocking,
            Side::Async(Rt::Smol),
            Side::Async(Rt::AsyncStd),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let (port, cert, maildir, stop) = start_server(side, dir.path());
            async_client_sends(rt, &options(port, &cert), &body);
            stop();
            eprintln!("{rt:?} client -> {side:?} server: ok");
            check_delivered(&maildir, 2, &body);
        }
    }
}

#[test]
fn the_tokio_and_blocking_clients_to_the_async_server_on_both_runtimes() {
    let body = body();
    for rt in [Rt::Smol, Rt::AsyncStd] {
        let dir = tempfile::tempdir().unwrap();
        let (port, cert, maildir, stop) = start_server(Side::Async(rt), dir.path());
        let options = options(port, &cert);
        let tokio_rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        tokio_rt.block_on(async {
            let mut c = smtp_tokio::client::Connection::connect(&options)
                .await
                .unwrap();
            let envelope = Envelope::parse("a@example.org", ["b@example.org"]).unwrap();
            assert!(c.send(envelope, &body[..]).await.unwrap().all_delivered());
            c.quit().await.unwrap();
        });
        let mut c = smtp_blocking::client::Connection::connect(&options).unwrap();
        let envelope = Envelope::parse("a@example.org", ["b@example.org"]).unwrap();
        assert!(c.send(envelope, &body[..]).unwrap().all_delivered());
        c.quit().unwrap();
        stop();
        check_delivered(&maildir, 2, &body);
    }
}
