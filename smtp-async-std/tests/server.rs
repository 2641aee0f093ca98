//! The smtp-async-std server's library API on smol and on async-std, over
//! real sockets: graceful shutdown (sessions go on during the grace period,
//! new connections are refused, then `421 4.3.2` and close) and the
//! connection limit. (The example server: `examples.rs`.)

#[path = "../../smtp-tokio/tests/common/mod.rs"]
mod common;
#[path = "../../smtp-tokio/tests/common/server_checks.rs"]
mod server_checks;

use std::net::SocketAddr;
use std::thread::JoinHandle;

use smtp_async_std::maildir::Maildir;
use smtp_async_std::proto::server::ServerConfig;
use smtp_async_std::server::{Server, ServerBuilder};

const RUNTIMES: [&str; 2] = ["smol", "async-std"];

/// Runs the server `builder` makes (hostname `mx.example`, a Maildir) on a
/// thread with the runtime named `rt` until the sender is used: (its
/// address, the stop sender, the thread).
fn run(
    rt: &'static str,
    builder: ServerBuilder,
    dir: &std::path::Path,
) -> (
    SocketAddr,
    async_channel::Sender<()>,
    JoinHandle<std::io::Result<()>>,
) {
    let server = builder
        .listen("127.0.0.1:0".parse().unwrap())
        .bind()
        .unwrap();
    let addr = server.local_addrs()[0];
    let maildir = Maildir::new(dir, "mx.example").unwrap();
    let (stop_tx, stop_rx) = async_channel::bounded::<()>(1);
    let run = server.run_until(maildir, async move {
        let _ = stop_rx.recv().await;
    });
    let handle = std::thread::spawn(move || match rt {
        "smol" => smol::block_on(run),
        _ => async_std::task::block_on(run),
    });
    (addr, stop_tx, handle)
}

#[test]
fn graceful_shutdown_on_both_runtimes() {
    for rt in RUNTIMES {
        let dir = tempfile::tempdir().unwrap();
        let builder =
            Server::builder(ServerConfig::new("mx.example")).grace_period(server_checks::GRACE);
        let (addr, stop, running) = run(rt, builder, dir.path());
        server_checks::graceful_shutdown(addr, || stop.send_blocking(()).unwrap());
        running.join().unwrap().unwrap();
    }
}

#[test]
fn the_connection_limit_on_both_runtimes() {
    for rt in RUNTIMES {
        let dir = tempfile::tempdir().unwrap();
        let builder = Server::builder(ServerConfig::new("mx.example")).max_connections(2);
        let (addr, stop, running) = run(rt, builder, dir.path());
        server_checks::connection_limit_of_two(addr);
        stop.send_blocking(()).unwrap();
        running.join().unwrap().unwrap();
    }
}

#[test]
fn the_client_connects_from_its_source_address() {
    server_checks::client_connects_from_its_source_address(|options| {
        let connected = smol::block_on(smtp_async_std::client::Connection::connect(&options));
        assert!(connected.is_err());
    });
}
