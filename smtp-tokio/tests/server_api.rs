//! The library's server and client APIs over real sockets, in one process:
//! a handler that buffers content and answers LMTP per recipient, graceful
//! shutdown (sessions finish within the grace period, the rest get 421), the
//! connection limit, and the client's pool.

mod common;
#[path = "common/server_checks.rs"]
mod server_checks;

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::{connect, read_until};
use server_checks::{run_tokio, spawn_tokio};

use smtp_tokio::client::{ClientOptions, Pool, Security};
use smtp_tokio::proto::Protocol;
use smtp_tokio::proto::client::Envelope;
use smtp_tokio::proto::reply::{EnhancedCode, Reply, ReplyCode};
use smtp_tokio::proto::server::{Decision, ServerConfig};
use smtp_tokio::server::{Handler, Message, Server, ServerBuilder};

/// Collects whole messages; refuses recipients whose local part is `full`
/// after the content (LMTP only: a per-recipient answer).
#[derive(Clone, Default)]
struct Collect(Arc<Mutex<Vec<Message>>>, Arc<AtomicUsize>);

impl Handler for Collect {
    const BUFFER_CONTENT: bool = true;

    async fn connect(&mut self, _: &smtp_tokio::server::ConnectionInfo) -> Decision {
        self.1.fetch_add(1, Ordering::Relaxed);
        Decision::Accept
    }

    async fn message(&mut self, message: &Message) -> Decision {
        self.0.lock().unwrap().push(message.clone());
        if !message
            .envelope
            .recipients
            .iter()
            .any(|r| r.to_string().starts_with("<full@"))
        {
            return Decision::Accept;
        }
        let replies: Vec<Reply> = message
            .envelope
            .recipients
            .iter()
            .map(|r| {
                if r.to_string().starts_with("<full@") {
                    Reply::new(
                        ReplyCode::new(452).unwrap(),
                        EnhancedCode::new(4, 2, 2),
                        "mailbox full",
                    )
                } else {
                    Reply::new(
                        ReplyCode::new(250).unwrap(),
                        EnhancedCode::new(2, 0, 0),
                        "delivered",
                    )
                }
            })
            .collect();
        Decision::PerRecipient(replies)
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A server for `mx.example` on a free loopback port.
fn mx() -> ServerBuilder {
    Server::builder(ServerConfig::new("mx.example")).listen("127.0.0.1:0".parse().unwrap())
}

#[test]
fn lmtp_per_recipient_with_buffered_content() {
    let rt = runtime();
    let mut config = ServerConfig::new("store.example");
    config.protocol = Protocol::Lmtp;
    let collect = Collect::default();
    let addr = spawn_tokio(
        &rt,
        Server::builder(config).listen("127.0.0.1:0".parse().unwrap()),
        collect.clone(),
    );
    let mut s = connect(addr);
    read_until(&mut s, "220 ");
    s.write_all(b"LHLO c.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<full@store.example>\r\nRCPT TO:<ok@store.example>\r\nDATA\r\n").unwrap();
    read_until(&mut s, "354 ");
    s.write_all(b"Subject: lmtp\r\n\r\n..dot\r\n.\r\n").unwrap();
    let text = read_until(&mut s, "250 2.0.0 delivered\r\n");
    assert!(
        text.contains("452 4.2.2 mailbox full\r\n250 2.0.0 delivered\r\n"),
        "{text}"
    );
    let messages = collect.0.lock().unwrap();
    assert_eq!(&messages[0].content[..], b"Subject: lmtp\r\n\r\n.dot\r\n");
    assert_eq!(messages[0].envelope.recipients.len(), 2);
    assert_eq!(messages[0].findings.size, 23);
}

#[test]
fn graceful_shutdown_lets_sessions_finish_then_answers_421() {
    let rt = runtime();
    let (addr, stop, running) = run_tokio(
        &rt,
        mx().grace_period(server_checks::GRACE),
        Collect::default(),
    );
    server_checks::graceful_shutdown(addr, || stop.send(()).unwrap());
    rt.block_on(running).unwrap().unwrap();
}

#[test]
fn the_connection_limit_holds_the_next_client_until_one_ends() {
    let rt = runtime();
    let addr = spawn_tokio(&rt, mx().max_connections(2), Collect::default());
    server_checks::connection_limit_of_two(addr);
}

#[test]
fn the_pool_reuses_connections() {
    let rt = runtime();
    let collect = Collect::default();
    let addr = spawn_tokio(&rt, mx(), collect.clone());
    rt.block_on(async {
        let mut options = ClientOptions::new("127.0.0.1", addr.port());
        options.security = Security::Plain;
        let pool = Arc::new(Pool::new(options, 3));
        let mut sends = tokio::task::JoinSet::new();
        for i in 0..30 {
            let pool = pool.clone();
            sends.spawn(async move {
                let envelope =
                    Envelope::parse("a@example.org", [format!("r{i}@example.org").as_str()])
                        .unwrap();
                pool.send(envelope, &b"Subject: pooled\r\n\r\nx\r\n"[..])
                    .await
            });
        }
        while let Some(r) = sends.join_next().await {
            assert!(r.unwrap().unwrap().all_delivered());
        }
        pool.close().await;
    });
    assert_eq!(collect.0.lock().unwrap().len(), 30);
    let connections = collect.1.load(Ordering::Relaxed);
    assert!(
        (1..=3).contains(&connections),
        "{connections} connections for 30 messages"
    );
}

#[test]
fn the_client_connects_from_its_source_address() {
    server_checks::client_connects_from_its_source_address(|options| {
        let connected = common::block_on_tokio(smtp_tokio::client::Connection::connect(&options));
        assert!(connected.is_err());
    });
}
