//! Plays one SMTP dialogue in memory and prints it: a scripted client built from
//! the wire layer talks to a real [`ServerSession`].
//!
//! The client encodes commands with [`Command::encode`], dot-stuffs the message
//! with [`DotStuffer`] and parses every reply with [`parse_reply`] (reading the
//! EHLO capabilities with [`Capabilities`]); the server is the sans-IO state
//! machine, driven through its `handle_bytes` / `poll_output` / `respond` loop
//! with an application that accepts everything and collects the message.
//!
//! Run with `cargo run -p smtp-proto --example dialogue`.

use std::sync::Arc;

use smtp_proto::ext::Capabilities;
use smtp_proto::output::Output;
use smtp_proto::reply::{Reply, ReplyParse, ReplyParseOptions, parse_reply};
use smtp_proto::server::{Decision, ServerConfig, ServerEvent, ServerSession};
use smtp_proto::time::Instant;
use smtp_proto::wire::command::{Command, ParseOptions, parse_command};
use smtp_proto::wire::data::DotStuffer;

fn show(prefix: &str, bytes: &[u8]) {
    for line in String::from_utf8_lossy(bytes).split_inclusive("\r\n") {
        println!("{prefix} {}", line.trim_end_matches("\r\n"));
    }
}

/// The server side: feeds bytes in, drives the session until it waits, and
/// returns what it transmitted. The "application" accepts every decision.
struct Server {
    session: ServerSession,
    message: Vec<u8>,
}

impl Server {
    fn exchange(&mut self, input: &[u8]) -> Vec<u8> {
        let now = Instant::ZERO;
        if !input.is_empty() {
            self.session.handle_bytes(now, input);
        }
        let mut wire = Vec::new();
        loop {
            match self.session.poll_output() {
                Output::Transmit(bytes) => wire.extend_from_slice(&bytes),
                Output::Event(ServerEvent::MessageData(bytes)) => {
                    self.message.extend_from_slice(&bytes)
                }
                Output::Event(ServerEvent::MessageEnd(findings)) => {
                    println!(
                        "   [server application: message of {} octets queued]",
                        findings.size
                    );
                    self.session
                        .respond(now, Decision::Accept)
                        .expect("pending decision");
                }
                Output::Event(
                    ServerEvent::Connected
                    | ServerEvent::Hello { .. }
                    | ServerEvent::MailFrom { .. }
                    | ServerEvent::RcptTo { .. }
                    | ServerEvent::DataStart,
                ) => self
                    .session
                    .respond(now, Decision::Accept)
                    .expect("pending decision"),
                Output::Event(_) => {}
                Output::Close | Output::Wait { .. } => return wire,
                Output::StartTls => unreachable!("not offered"),
                _ => return wire,
            }
        }
    }
}

/// The client side: parses one complete reply.
fn read_reply(bytes: &[u8]) -> Reply {
    match parse_reply(bytes, &ReplyParseOptions::default()) {
        Ok(ReplyParse::Complete { reply, .. }) => reply,
        other => panic!("bad reply: {other:?}"),
    }
}

fn main() {
    let config = ServerConfig::new("mx.example.net");
    let mut server = Server {
        session: ServerSession::new(Arc::new(config), Instant::ZERO),
        message: Vec::new(),
    };
    let greeting = server.exchange(b"");
    show("S:", &greeting);
    assert_eq!(read_reply(&greeting).code().get(), 220);

    for text in [
        "EHLO client.example.org",
        "MAIL FROM:<alice@example.org> SIZE=64 BODY=8BITMIME",
        "RCPT TO:<bob@example.net>",
        "DATA",
    ] {
        let command =
            parse_command(text.as_bytes(), &ParseOptions::default()).expect("valid command");
        let bytes = command.to_bytes();
        show("C:", &bytes);
        let reply_bytes = server.exchange(&bytes);
        show("S:", &reply_bytes);
        let reply = read_reply(&reply_bytes);
        if text.starts_with("EHLO") {
            let caps = Capabilities::from_ehlo_reply(&reply).expect("EHLO reply");
            println!(
                "   [client: {} extensions, SIZE limit {:?}]",
                caps.extensions.len(),
                caps.max_message_size()
            );
        }
        assert!(reply.code().is_positive(), "{reply}");
    }

    // The message: a line starting with a dot and a bare LF, which the client repairs.
    let body = b"Subject: hello\r\n\r\n.signature line\nbye\r\n";
    let mut wire = Vec::new();
    let mut stuffer = DotStuffer::new();
    stuffer.encode(body, &mut wire);
    stuffer.finish(&mut wire);
    show("C:", &wire);
    let reply = server.exchange(&wire);
    show("S:", &reply);
    assert_eq!(read_reply(&reply).code().get(), 250);
    assert_eq!(
        server.message,
        b"Subject: hello\r\n\r\n.signature line\r\nbye\r\n"
    );

    let quit = Command::Quit.to_bytes();
    show("C:", &quit);
    show("S:", &server.exchange(&quit));
}
