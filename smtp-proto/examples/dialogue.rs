//! Plays one SMTP dialogue in memory and prints it: a [`ClientSession`] sends
//! two messages to a [`ServerSession`].
//!
//! Both sides are the sans-IO state machines, driven through their
//! `handle_bytes` / `poll_output` loops; this program only moves bytes between
//! them (in a real program, a socket does) and plays both applications: the
//! client's sends a message with PIPELINING (one recipient is unknown), then a
//! second one over the same connection, then quits; the server's accepts
//! everything but `nobody@example.net` and collects the messages.
//!
//! Run with `cargo run -p smtp-proto --example dialogue`.

use std::sync::Arc;

use smtp_proto::client::{ClientConfig, ClientEvent, ClientSession, Envelope};
use smtp_proto::output::Output;
use smtp_proto::reply::{EnhancedCode, Reply, ReplyCode};
use smtp_proto::server::{Decision, ServerConfig, ServerEvent, ServerSession};
use smtp_proto::time::Instant;
use smtp_proto::wire::path::ForwardPath;

/// Prints what one side wrote, line by line.
fn show(prefix: &str, bytes: &[u8]) {
    for line in String::from_utf8_lossy(bytes).split_inclusive("\r\n") {
        println!("{prefix} {}", line.trim_end_matches("\r\n"));
    }
}

/// The client's application: two messages, handed over as they are asked for.
struct Sender {
    messages: Vec<(Envelope, &'static [u8])>,
    body: &'static [u8],
}

impl Sender {
    fn next(&mut self, client: &mut ClientSession, now: Instant) {
        if self.messages.is_empty() {
            client.quit(now).expect("idle");
            return;
        }
        let (envelope, body) = self.messages.remove(0);
        client.send_mail(now, envelope).expect("valid envelope");
        self.body = body;
    }

    fn feed(&mut self, client: &mut ClientSession, now: Instant) {
        let n = client.body(now, self.body).expect("a message is open");
        self.body = &self.body[n..];
        if self.body.is_empty() {
            client.end_body(now).expect("a message is open");
        }
    }

    fn on_event(&mut self, client: &mut ClientSession, now: Instant, event: ClientEvent) {
        match event {
            ClientEvent::Ready(caps) => {
                let names: Vec<String> = caps.extensions.iter().map(|e| e.to_string()).collect();
                println!("   [client: ready, server offers {}]", names.join(", "));
                self.next(client, now);
            }
            ClientEvent::BodyWanted => self.feed(client, now),
            ClientEvent::TransactionComplete(result) => {
                for r in &result.recipients {
                    let verdict = if r.is_delivered() {
                        "delivered"
                    } else {
                        "refused"
                    };
                    println!("   [client: {} {verdict}: {}]", r.path, r.reply());
                }
                self.next(client, now);
            }
            ClientEvent::TransactionFailed(failure) => {
                println!("   [client: transaction failed: {failure:?}]");
                self.next(client, now);
            }
            other => println!("   [client: {other:?}]"),
        }
    }
}

/// The server's application.
fn decide(event: &ServerEvent, message: &mut Vec<u8>) -> Option<Decision> {
    match event {
        ServerEvent::RcptTo {
            to: ForwardPath::Mailbox(m),
            ..
        } if m.local_part.as_wire() == "nobody" => Some(Decision::Reject(Reply::new(
            ReplyCode::MAILBOX_UNAVAILABLE,
            Some(EnhancedCode::BAD_DESTINATION_MAILBOX),
            "No such user",
        ))),
        ServerEvent::MessageData(bytes) => {
            message.extend_from_slice(bytes);
            None
        }
        ServerEvent::MessageEnd(findings) => {
            println!("   [server: message of {} octets queued]", findings.size);
            Some(Decision::Accept)
        }
        event if event.needs_decision() => Some(Decision::Accept),
        // Information only: TransactionFinished, TransactionReset, ClientFault, ...
        _ => None,
    }
}

fn main() {
    let now = Instant::ZERO;
    let client_config = ClientConfig::new("client.example.org").expect("a domain");
    let mut client = ClientSession::new(Arc::new(client_config), now);
    let mut server_config = ServerConfig::new("mx.example.net");
    // Without CHUNKING the content goes with DATA, dot-stuffed (turn it back on
    // to see BDAT chunks instead).
    server_config.extensions.chunking = false;
    let mut server = ServerSession::new(Arc::new(server_config), now);

    let first = Envelope::parse(
        "<alice@example.org>",
        [
            "<bob@example.net>",
            "<nobody@example.net>",
            "<carol@example.net>",
        ],
    )
    .expect("valid paths");
    let second = Envelope::parse("<alice@example.org>", ["<dave@example.net>"]).expect("valid");
    // A line starting with a dot and a bare LF: the client dot-stuffs the one
    // and turns the other into CRLF.
    let mut sender = Sender {
        messages: vec![
            (first, b"Subject: hello\r\n\r\n.signature line\nbye\r\n"),
            (second, b"Subject: again\r\n\r\nsecond message\r\n"),
        ],
        body: b"",
    };
    let mut message = Vec::new();
    let (mut client_closed, mut server_closed) = (false, false);
    // What each side wrote and the other has not taken yet: a session takes
    // only what fits in its buffer, the rest waits (as in a socket).
    let (mut to_client, mut to_server) = (Vec::new(), Vec::new());
    while !(client_closed && server_closed) {
        let mut progress = false;
        // The server side: output goes to the client, decisions are made at once.
        while !server_closed {
            match server.poll_output() {
                Output::Transmit(bytes) => {
                    show("S:", &bytes);
                    to_client.extend_from_slice(&bytes);
                }
                Output::Event(event) => {
                    if let Some(decision) = decide(&event, &mut message) {
                        server.respond(now, decision).expect("pending decision");
                    }
                }
                Output::Close => server_closed = true,
                Output::Wait { .. } => break,
                Output::StartTls => unreachable!("not offered"),
                _ => break,
            }
            progress = true;
        }
        // The client side: output goes to the server.
        while !client_closed {
            match client.poll_output() {
                Output::Transmit(bytes) => {
                    show("C:", &bytes);
                    to_server.extend_from_slice(&bytes);
                }
                Output::Event(event) => sender.on_event(&mut client, now, event),
                Output::Close => client_closed = true,
                Output::Wait { .. } => break,
                Output::StartTls => unreachable!("not offered"),
                _ => break,
            }
            progress = true;
        }
        // Move the bytes across; a closed side reads nothing more.
        let n = client
            .handle_bytes(now, &to_client)
            .unwrap_or(to_client.len());
        progress |= n > 0;
        to_client.drain(..n);
        let n = server
            .handle_bytes(now, &to_server)
            .unwrap_or(to_server.len());
        progress |= n > 0;
        to_server.drain(..n);
        assert!(progress, "the dialogue stalled");
    }
    assert_eq!(
        message,
        b"Subject: hello\r\n\r\n.signature line\r\nbye\r\nSubject: again\r\n\r\nsecond message\r\n"
    );
}
