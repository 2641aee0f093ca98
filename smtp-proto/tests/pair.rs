//! A [`ClientSession`] talking to a [`ServerSession`] in memory (ARCHITECTURE.md R7):
//! bytes move both ways in random pieces; the server's application refuses
//! random senders, recipients, DATA/BDAT starts and messages; bodies are random
//! (bare CR and LF, lines starting with dots, NUL, 8-bit and binary content);
//! PIPELINING, CHUNKING, BINARYMIME and LMTP vary, and so do the client's chunk
//! size and body buffer.
//!
//! Checked for every message: the client's per-recipient results match the
//! server's decisions, and the content the server received is byte for byte
//! the body with line endings normalised (or the body itself for BINARYMIME).
//! Several messages go over each connection; nothing may panic, stall or fail.

use std::sync::Arc;

use proptest::prelude::*;
use smtp_proto::client::{ClientConfig, ClientEvent, ClientSession, Envelope};
use smtp_proto::output::Output;
use smtp_proto::reply::{EnhancedCode, Reply, ReplyCode};
use smtp_proto::server::{Decision, ServerConfig, ServerEvent, ServerSession};
use smtp_proto::testkit::pair::{Message, Scenario, Verdict, normalised, run_pair};
use smtp_proto::time::Instant;

fn reply(code: u16, e: (u8, u16, u16), text: &str) -> Reply {
    Reply::new(
        ReplyCode::new(code).unwrap(),
        EnhancedCode::new(e.0, e.1, e.2),
        text,
    )
}

fn verdict(accept_weight: u32) -> impl Strategy<Value = Verdict> {
    prop_oneof![
        accept_weight => Just(Verdict::Accept),
        1 => Just(Verdict::Temporary),
        1 => Just(Verdict::Permanent),
    ]
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        6 => b'a'..=b'z',
        2 => Just(b'\r'),
        2 => Just(b'\n'),
        2 => Just(b'.'),
        1 => Just(b' '),
        1 => Just(0u8),
        1 => any::<u8>(),
    ];
    let text = prop::collection::vec(byte, 0..400);
    let lines = prop::collection::vec(
        prop::sample::select(vec![
            &b".\r\n"[..],
            b"\r\n.\r\n",
            b"\n.\n",
            b"\r.\r",
            b"..",
            b"\r\n",
            b"line\r\n",
        ]),
        0..6,
    );
    (text, lines).prop_map(|(mut text, lines)| {
        for (i, l) in lines.into_iter().enumerate() {
            let at = (i * 37) % (text.len() + 1);
            text.splice(at..at, l.iter().copied());
        }
        text
    })
}

fn message() -> impl Strategy<Value = Message> {
    (
        verdict(12),
        prop::collection::vec(verdict(3), 1..6),
        verdict(10),
        prop::collection::vec(verdict(4), 6),
        body(),
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(1usize..300, 1..4),
    )
        .prop_map(
            |(mail, rcpts, data, finals, body, binary, size_hint, pieces)| Message {
                mail,
                rcpts,
                data,
                finals,
                body,
                binary,
                size_hint,
                pieces,
            },
        )
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (
        (
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            prop::bool::weighted(0.85),
            prop::bool::weighted(0.85),
        ),
        1usize..200,
        1usize..500,
        prop::collection::vec(1usize..80, 1..5),
        prop::collection::vec(1usize..80, 1..5),
        prop::collection::vec(message(), 1..8),
    )
        .prop_map(
            |(
                (lmtp, pipelining, chunking, binarymime, client_pipelining, client_chunking),
                chunk_size,
                body_buffer,
                c2s,
                s2c,
                messages,
            )| Scenario {
                lmtp,
                pipelining,
                chunking,
                binarymime,
                client_pipelining,
                client_chunking,
                chunk_size,
                body_buffer,
                c2s,
                s2c,
                messages,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn client_and_server_agree(sc in scenario()) {
        if let Err(e) = run_pair(&sc) {
            return Err(TestCaseError::fail(e));
        }
    }
}

#[test]
fn normalised_is_what_data_delivers() {
    assert_eq!(normalised(b""), b"");
    assert_eq!(normalised(b"a"), b"a\r\n");
    assert_eq!(normalised(b".a\n.\r..\r"), b".a\r\n.\r\n..\r\n");
}

/// STARTTLS and AUTH between the two real sessions: the in-memory "handshake"
/// is both sides calling `handle_tls_established`. The client must not send
/// AUTH or MAIL before TLS, must use only the post-TLS capabilities, and each
/// side discards what the other sent before its upgrade.
#[test]
fn starttls_and_auth_between_the_two_sessions() {
    use smtp_proto::client::TlsPolicy;
    use smtp_proto::wire::sasl::Credentials;
    use smtp_proto::wire::sasl::Credentials as Offered;
    use smtp_proto::wire::sasl::Mechanism;

    for (password, delivered) in [("secret", true), ("wrong", false)] {
        let mut server_config = ServerConfig::new("mx.test");
        server_config.extensions.starttls = true;
        server_config.extensions.auth = vec![Mechanism::Login, Mechanism::Plain];
        server_config.require_tls = true;
        server_config.require_auth = true;
        let mut client_config = ClientConfig::new("client.test").unwrap();
        client_config.tls = TlsPolicy::Required;
        client_config.credentials = Some(Credentials::password("tim", password));
        let now = Instant::ZERO;
        let mut client = ClientSession::new(Arc::new(client_config), now);
        let mut server = ServerSession::new(Arc::new(server_config), now);
        let (mut c2s, mut s2c) = (Vec::new(), Vec::new());
        let (mut client_tls, mut server_tls) = (false, false);
        let mut log = Vec::new();
        let mut content = Vec::new();
        let mut client_closed = false;
        for _ in 0..1000 {
            while !client_closed {
                match client.poll_output() {
                    Output::Transmit(b) => c2s.extend_from_slice(&b),
                    Output::StartTls => client_tls = true,
                    Output::Event(ClientEvent::Ready(caps)) => {
                        assert!(client.is_tls() && client.is_authenticated());
                        assert!(!caps.starttls(), "post-TLS capabilities only");
                        let env = Envelope::parse("<tim@client.test>", ["<b@mx.test>"]).unwrap();
                        client.send_mail(now, env).unwrap();
                        client.body(now, b"hello\n").unwrap();
                        client.end_body(now).unwrap();
                    }
                    Output::Event(ClientEvent::TransactionComplete(r)) => {
                        log.push(format!("complete {}", r.all_delivered()));
                        client.quit(now).unwrap();
                    }
                    Output::Event(e) => log.push(format!("{e:?}")),
                    Output::Close => {
                        log.push("client closed".to_string());
                        client_closed = true;
                    }
                    Output::Wait { .. } => break,
                    _ => {}
                }
            }
            loop {
                match server.poll_output() {
                    Output::Transmit(b) => s2c.extend_from_slice(&b),
                    Output::StartTls => server_tls = true,
                    Output::Event(ServerEvent::Auth { credentials, .. }) => {
                        let ok = matches!(&credentials,
                            Offered::Password { username, password, .. }
                                if username == "tim" && password == "secret");
                        let d = if ok {
                            Decision::Accept
                        } else {
                            Decision::Reject(reply(535, (5, 7, 8), "bad credentials"))
                        };
                        server.respond(now, d).unwrap();
                    }
                    Output::Event(ServerEvent::MessageData(b)) => content.extend_from_slice(&b),
                    Output::Event(ServerEvent::MessageEnd(_)) => {
                        server.respond(now, Decision::Accept).unwrap()
                    }
                    Output::Event(
                        ServerEvent::Connected
                        | ServerEvent::Hello { .. }
                        | ServerEvent::MailFrom { .. }
                        | ServerEvent::RcptTo { .. }
                        | ServerEvent::DataStart,
                    ) => server.respond(now, Decision::Accept).unwrap(),
                    Output::Event(_) => {}
                    Output::Close | Output::Wait { .. } => break,
                    _ => {}
                }
            }
            // Bytes move once both sides have flushed; the handshake happens
            // when both asked for it.
            if client_tls && server_tls {
                client_tls = false;
                server_tls = false;
                client.handle_tls_established(now).unwrap();
                server.handle_tls_established(now).unwrap();
                continue;
            }
            if c2s.is_empty() && s2c.is_empty() {
                break;
            }
            let text = String::from_utf8_lossy(&c2s).into_owned();
            if !server.is_tls() {
                assert!(!text.contains("AUTH") && !text.contains("MAIL"), "{text}");
            }
            let taken = server.handle_bytes(now, &c2s).unwrap_or(c2s.len());
            c2s.drain(..taken);
            let taken = client.handle_bytes(now, &s2c).unwrap_or(s2c.len());
            s2c.drain(..taken);
        }
        if delivered {
            assert_eq!(
                log,
                ["Authenticated(Plain)", "complete true", "client closed"]
            );
            assert_eq!(content, b"hello\r\n");
        } else {
            assert_eq!(log.len(), 2, "{log:?}");
            assert!(log[0].starts_with("Error(Auth(Rejected"), "{log:?}");
            assert_eq!(log[1], "client closed");
            assert!(content.is_empty());
        }
    }
}
