//! Across runtimes, over real sockets: the smtp-async-std client on smol and
//! on async-std sends to the tokio, blocking and smtp-async-std servers, and
//! the tokio and blocking clients send to the smtp-async-std server on each
//! runtime: STARTTLS, AUTH, PIPELINING, CHUNKING (BDAT), the body byte for
//! byte in the Maildir. (Tokio and blocking with each other:
//! `smtp-blocking/tests/cross_runtime.rs`.)

#[path = "../../smtp-tokio/tests/common/mod.rs"]
mod common;
#[path = "../../smtp-tokio/tests/common/cross.rs"]
mod cross;

use std::path::{Path, PathBuf};

use cross::{
    StopServer, blocking_client_sends, body, check_delivered, options, setup, start_blocking,
    start_tokio, tokio_client_sends,
};
use smtp_adapter::options::ClientOptions;
use smtp_proto::client::Envelope;

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

/// Which server.
#[derive(Clone, Copy, Debug)]
enum Side {
    Tokio,
    Blocking,
    Async(Rt),
}

/// Starts a server of that kind on a thread of its own; returns its port,
/// the CA to trust, the Maildir, and a stop function.
fn start_server(side: Side, dir: &Path) -> (u16, PathBuf, PathBuf, StopServer) {
    let (setup, cert, maildir) = setup(dir);
    let (port, stop) = match side {
        Side::Tokio => start_tokio(setup),
        Side::Blocking => start_blocking(setup),
        Side::Async(rt) => {
            let server = smtp_async_std::server::Server::builder(setup.config)
                .listen(setup.listen[0])
                .tls(setup.tls.unwrap())
                .grace_period(std::time::Duration::from_secs(1))
                .bind()
                .unwrap();
            let port = server.local_addrs()[0].port();
            let (stop_tx, stop_rx) = async_channel::bounded::<()>(1);
            let handle = std::thread::spawn(move || {
                block_on(
                    rt,
                    server.run_until(setup.handler, async move {
                        let _ = stop_rx.recv().await;
                    }),
                )
                .unwrap();
            });
            let stop: StopServer = Box::new(move || {
                let _ = stop_tx.send_blocking(());
                handle.join().unwrap();
            });
            (port, stop)
        }
    };
    (port, cert, maildir, stop)
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
        tokio_client_sends(&options, &body, 1);
        blocking_client_sends(&options, &body, 1);
        stop();
        check_delivered(&maildir, 2, &body);
    }
}
