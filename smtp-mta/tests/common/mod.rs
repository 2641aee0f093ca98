//! What smtp-mta's tests share: free ports, a smart host that counts what it
//! gets, and a submitting client.
#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use smtp_proto::client::Envelope;
use smtp_proto::server::{Decision, HelloKind, ServerConfig};
use smtp_proto::wire::command::HeloName;
use smtp_proto::wire::sasl::Credentials;
use smtp_tokio::client::{ClientOptions, Connection, Security};
use smtp_tokio::server::{Handler, Message, Server};
use smtp_tokio::tls::Trust;

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A smart host on a loopback port: each message takes `delay` to accept;
/// it counts messages by subject and by the node (EHLO name) that sent them.
#[derive(Clone, Default)]
pub struct SmartHost {
    delay: Duration,
    helo: String,
    pub subjects: Arc<Mutex<BTreeMap<String, usize>>>,
    pub nodes: Arc<Mutex<BTreeMap<String, usize>>>,
}

impl Handler for SmartHost {
    const BUFFER_CONTENT: bool = true;

    async fn hello(&mut self, _: HelloKind, name: &HeloName<'static>) -> Decision {
        self.helo = name.to_string();
        Decision::Accept
    }

    async fn message(&mut self, message: &Message) -> Decision {
        tokio::time::sleep(self.delay).await;
        let text = String::from_utf8_lossy(&message.content).into_owned();
        let subject = text
            .lines()
            .find_map(|l| l.strip_prefix("Subject: "))
            .unwrap_or("?");
        *self
            .subjects
            .lock()
            .unwrap()
            .entry(subject.to_string())
            .or_default() += 1;
        *self
            .nodes
            .lock()
            .unwrap()
            .entry(self.helo.clone())
            .or_default() += 1;
        Decision::Accept
    }
}

impl SmartHost {
    /// Starts one; returns it and its port.
    pub async fn start(delay: Duration) -> (SmartHost, u16) {
        let host = SmartHost {
            delay,
            ..SmartHost::default()
        };
        let server = Server::builder(ServerConfig::new("relay.test"))
            .listen(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .bind()
            .await
            .unwrap();
        let port = server.local_addrs()[0].port();
        tokio::spawn(server.run(host.clone()));
        (host, port)
    }
}

/// Submits `n` messages, `Subject: msg I`, as `user` (password `secret`)
/// over STARTTLS on `port` of 127.0.0.1; every one must be accepted.
pub async fn submit_numbered(port: u16, user: &str, n: usize) {
    let mut options = ClientOptions::new("127.0.0.1", port);
    options.security = Security::StartTlsRequired;
    options.trust = Trust::Insecure;
    options.credentials = Some(Credentials::password(user, "secret"));
    let mut c = Connection::connect(&options).await.unwrap();
    for i in 0..n {
        let envelope = Envelope::parse(user, ["x@remote.test"]).unwrap();
        let body = format!("Subject: msg {i}\r\n\r\nbody {i}\r\n");
        assert!(
            c.send(envelope, body.as_bytes())
                .await
                .unwrap()
                .all_delivered()
        );
    }
    let _ = c.quit().await;
}
