//! Unit tests of the client session (the protocol flows are covered by the
//! client transcripts and the pair test).

use alloc::borrow::Cow;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::time::Duration;

use super::*;
use crate::wire::path::{AddressLiteral, ForwardPath, Host, Mailbox, PathOptions, ReversePath};
use crate::wire::sasl::Credentials;

struct Harness {
    session: ClientSession,
    now: Instant,
    wire: Vec<u8>,
    events: Vec<ClientEvent>,
    closed: bool,
    starttls: bool,
    deadline: Option<Instant>,
    wants_read: bool,
}

impl Harness {
    fn new(config: ClientConfig) -> Harness {
        Harness::with(ClientSession::new(Arc::new(config), Instant::ZERO))
    }

    fn with(session: ClientSession) -> Harness {
        let mut h = Harness {
            session,
            now: Instant::ZERO,
            wire: Vec::new(),
            events: Vec::new(),
            closed: false,
            starttls: false,
            deadline: None,
            wants_read: false,
        };
        h.drain();
        h
    }

    fn drain(&mut self) {
        for _ in 0..10_000 {
            match self.session.poll_output() {
                Output::Transmit(b) => self.wire.extend_from_slice(&b),
                Output::Event(e) => self.events.push(e),
                Output::StartTls => self.starttls = true,
                Output::Close => {
                    self.closed = true;
                    self.deadline = None;
                    self.wants_read = false;
                    return;
                }
                Output::Wait {
                    deadline,
                    wants_read,
                } => {
                    self.deadline = deadline;
                    self.wants_read = wants_read;
                    return;
                }
            }
        }
        panic!("no Wait");
    }

    fn feed(&mut self, bytes: &str) {
        let _ = self.session.handle_bytes(self.now, bytes.as_bytes());
        self.drain();
    }

    fn take_wire(&mut self) -> String {
        String::from_utf8(core::mem::take(&mut self.wire)).unwrap()
    }

    fn take_events(&mut self) -> Vec<ClientEvent> {
        core::mem::take(&mut self.events)
    }

    /// Greeting and EHLO with these extension lines.
    fn ready(config: ClientConfig, extensions: &[&str]) -> Harness {
        let mut h = Harness::new(config);
        h.feed("220 mx.test ESMTP\r\n");
        assert_eq!(h.take_wire(), "EHLO client.test\r\n");
        let mut reply = String::from("250");
        reply.push(if extensions.is_empty() { ' ' } else { '-' });
        reply.push_str("mx.test\r\n");
        for (i, e) in extensions.iter().enumerate() {
            let sep = if i + 1 == extensions.len() { ' ' } else { '-' };
            reply.push_str(&format!("250{sep}{e}\r\n"));
        }
        h.feed(&reply);
        assert!(
            matches!(h.take_events().as_slice(), [ClientEvent::Ready(_)]),
            "not ready"
        );
        h
    }
}

fn config() -> ClientConfig {
    ClientConfig::new("client.test").unwrap()
}

fn envelope(to: &[&str]) -> Envelope {
    Envelope::parse("<a@client.test>", to.iter().copied()).unwrap()
}

/// A mailbox whose host is a general address literal built directly, with
/// text that the validated constructors would refuse.
fn smuggled_mailbox(content: &str) -> Mailbox<'static> {
    Mailbox {
        local_part: crate::wire::path::LocalPart::parse("x", &PathOptions::default())
            .unwrap()
            .into_owned(),
        host: Host::Literal(AddressLiteral::General {
            tag: Cow::Owned("tag".to_string()),
            content: Cow::Owned(content.to_string()),
        }),
    }
}

#[test]
fn crlf_smuggled_into_a_path_is_refused_before_writing() {
    let mut h = Harness::ready(config(), &["PIPELINING"]);
    let mut env = envelope(&["<b@mx.test>"]);
    env.recipients
        .push(Recipient::new(ForwardPath::Mailbox(smuggled_mailbox(
            "a\r\nRCPT TO:<evil@x>",
        ))));
    let err = h.session.send_mail(h.now, env).unwrap_err();
    assert!(matches!(err, ClientError::InvalidCommand(_)), "{err:?}");
    let mut env = envelope(&["<b@mx.test>"]);
    env.from = ReversePath::Mailbox(smuggled_mailbox("a\0b"));
    let err = h.session.send_mail(h.now, env).unwrap_err();
    assert!(matches!(err, ClientError::InvalidCommand(_)), "{err:?}");
    h.drain();
    assert_eq!(h.take_wire(), "");
    // The session is unharmed.
    h.session
        .send_mail(h.now, envelope(&["<b@mx.test>"]))
        .unwrap();
    h.drain();
    assert!(h.take_wire().starts_with("MAIL FROM:<a@client.test>\r\n"));
}

#[test]
fn invalid_hello_name_fails_before_writing() {
    let mut c = config();
    c.hello_name = Host::Literal(AddressLiteral::General {
        tag: Cow::Borrowed("x"),
        content: Cow::Borrowed("a\r\nMAIL FROM:<>"),
    });
    let mut h = Harness::new(c);
    assert_eq!(
        h.take_events(),
        [ClientEvent::Error(SessionError::Config(
            ConfigError::HelloName
        ))]
    );
    assert!(h.closed);
    h.feed("220 mx.test\r\n");
    assert_eq!(h.take_wire(), "");
}

#[test]
fn invalid_credentials_fail_before_writing() {
    let mut c = config();
    c.credentials = Some(Credentials::password("tim", ""));
    let mut h = Harness::new(c);
    assert!(matches!(
        h.take_events().as_slice(),
        [ClientEvent::Error(SessionError::Config(
            ConfigError::Credentials(_)
        ))]
    ));
    let mut c = config();
    c.credentials = Some(Credentials::bearer("tim", "not a token"));
    let mut h = Harness::new(c);
    assert!(matches!(
        h.take_events().as_slice(),
        [ClientEvent::Error(SessionError::Config(
            ConfigError::Credentials(_)
        ))]
    ));
    assert!(h.closed && h.wire.is_empty());
}

#[test]
fn credentials_debug_hides_secrets() {
    let text = format!("{:?}", Credentials::password("tim", "hunter2"));
    assert!(text.contains("tim") && !text.contains("hunter2"));
    let text = format!("{:?}", Credentials::bearer("tim", "tok3n"));
    assert!(!text.contains("tok3n"));
}

#[test]
fn bearer_without_user_is_valid_and_never_tries_xoauth2() {
    let mut c = config();
    c.credentials = Some(Credentials::bearer_without_user("abc123"));
    c.auth_without_tls = true;
    let mut h = Harness::new(c);
    h.feed("220 mx.test\r\n");
    assert_eq!(h.take_wire(), "EHLO client.test\r\n");
    h.feed("250-mx.test\r\n250 AUTH XOAUTH2\r\n");
    assert!(matches!(
        h.take_events().as_slice(),
        [ClientEvent::Error(SessionError::Auth(
            AuthError::NoMechanism
        ))]
    ));
    assert_eq!(h.take_wire(), "QUIT\r\n");
}

#[test]
fn deadlines_follow_rfc_5321_timeouts() {
    let mut h = Harness::new(config());
    assert_eq!(
        h.deadline,
        Some(Instant::from_duration(Duration::from_secs(300)))
    );
    assert!(h.wants_read);
    h.now = Instant::from_duration(Duration::from_secs(10));
    h.feed("220 mx.test\r\n");
    h.feed("250 mx.test\r\n");
    assert_eq!(h.take_wire(), "EHLO client.test\r\n");
    assert!(matches!(
        h.take_events().as_slice(),
        [ClientEvent::Ready(_)]
    ));
    assert_eq!(h.deadline, None, "idle: no deadline");
    h.session
        .send_mail(h.now, envelope(&["<b@mx.test>"]))
        .unwrap();
    h.drain();
    assert_eq!(
        h.deadline,
        Some(Instant::from_duration(Duration::from_secs(310)))
    );
    h.feed("250 ok\r\n");
    h.feed("250 ok\r\n");
    // DATA: 2 minutes.
    assert_eq!(
        h.take_wire(),
        "MAIL FROM:<a@client.test>\r\nRCPT TO:<b@mx.test>\r\nDATA\r\n"
    );
    assert_eq!(
        h.deadline,
        Some(Instant::from_duration(Duration::from_secs(130)))
    );
    h.feed("354 go\r\n");
    // The whole (empty) body was handed over: the final dot, 10 minutes.
    assert_eq!(h.take_wire(), "");
    assert_eq!(h.take_events(), [ClientEvent::BodyWanted]);
    h.session.end_body(h.now).unwrap();
    h.drain();
    assert_eq!(h.take_wire(), ".\r\n");
    assert_eq!(
        h.deadline,
        Some(Instant::from_duration(Duration::from_secs(610)))
    );
    let _ = h
        .session
        .handle_timeout(Instant::from_duration(Duration::from_secs(609)));
    h.drain();
    assert!(!h.closed);
    let _ = h
        .session
        .handle_timeout(Instant::from_duration(Duration::from_secs(610)));
    h.drain();
    assert_eq!(
        h.take_events(),
        [ClientEvent::Error(SessionError::Timeout(
            Waiting::EndOfData
        ))]
    );
    assert!(h.closed);
    assert_eq!(h.deadline, None);
    assert!(!h.wants_read);
}

#[test]
fn body_backpressure_and_body_wanted() {
    let mut c = config();
    c.max_body_buffer = 10;
    let mut h = Harness::ready(c, &["PIPELINING"]);
    h.session
        .send_mail(h.now, envelope(&["<b@mx.test>"]))
        .unwrap();
    assert_eq!(h.session.body_capacity(), 10);
    assert_eq!(h.session.body(h.now, b"0123456789abcdef").unwrap(), 10);
    assert_eq!(h.session.body(h.now, b"x").unwrap(), 0);
    h.drain();
    // Full: no BodyWanted until the buffer drains.
    assert!(h.take_events().is_empty());
    h.feed("250 ok\r\n250 ok\r\n354 go\r\n");
    assert_eq!(h.take_events(), [ClientEvent::BodyWanted]);
    // Asked once; not again until body() is called.
    h.drain();
    assert!(h.take_events().is_empty());
    assert_eq!(h.session.body(h.now, b"abcdef\n").unwrap(), 7);
    h.drain();
    assert_eq!(h.take_events(), [ClientEvent::BodyWanted]);
    h.session.end_body(h.now).unwrap();
    assert!(h.session.end_body(h.now).is_err());
    assert!(h.session.body(h.now, b"late").is_err());
    h.drain();
    assert!(h.take_wire().ends_with("DATA\r\n0123456789abcdef\r\n.\r\n"));
}

#[test]
fn large_body_is_emitted_in_bounded_pieces() {
    let mut c = config();
    c.max_body_buffer = 1 << 20;
    let mut h = Harness::ready(c, &["PIPELINING"]);
    h.session
        .send_mail(h.now, envelope(&["<b@mx.test>"]))
        .unwrap();
    let body = vec![b'x'; 500_000];
    assert_eq!(h.session.body(h.now, &body).unwrap(), body.len());
    h.session.end_body(h.now).unwrap();
    h.drain();
    let _ = h
        .session
        .handle_bytes(h.now, b"250 ok\r\n250 ok\r\n354 go\r\n");
    let mut biggest = 0;
    let mut total = 0;
    loop {
        match h.session.poll_output() {
            Output::Transmit(b) => {
                biggest = biggest.max(b.len());
                total += b.len();
            }
            Output::Wait { .. } => break,
            _ => {}
        }
    }
    assert!(total > 500_000);
    assert!(biggest <= OUTPUT_HIGH_WATER + 2 * 16 * 1024, "{biggest}");
}

#[test]
fn many_recipients_go_in_one_pipelined_write() {
    let mut h = Harness::ready(config(), &["PIPELINING"]);
    let to: Vec<String> = (0..150).map(|i| format!("<r{i}@mx.test>")).collect();
    let env = Envelope::parse("<a@client.test>", to.iter().map(String::as_str)).unwrap();
    h.session.send_mail(h.now, env).unwrap();
    let transmits = core::iter::from_fn(|| match h.session.poll_output() {
        Output::Wait { .. } => None,
        other => Some(other),
    })
    .filter_map(|o| match o {
        Output::Transmit(bytes) => Some(bytes),
        _ => None,
    })
    .collect::<Vec<_>>();
    assert_eq!(transmits.len(), 1, "one write for the whole group");
    let text = String::from_utf8(transmits[0].to_vec()).unwrap();
    assert_eq!(text.matches("RCPT TO:").count(), 150);
    assert!(text.ends_with("DATA\r\n"));
    // Every reply is matched: the 150th recipient's refusal lands on it.
    let mut replies = String::from("250 ok\r\n");
    for i in 0..150 {
        replies.push_str(if i == 149 { "550 no\r\n" } else { "250 ok\r\n" });
    }
    replies.push_str("354 go\r\n");
    h.session.end_body(h.now).unwrap();
    h.feed(&replies);
    assert_eq!(h.take_wire(), ".\r\n", "the (empty) content went out");
    h.feed("250 queued\r\n");
    let events = h.take_events();
    let Some(ClientEvent::TransactionComplete(result)) = events.last() else {
        panic!("{events:?}");
    };
    assert_eq!(result.delivered().count(), 149);
    assert!(!result.recipients[149].is_delivered());
    assert_eq!(result.recipients[149].reply().code().get(), 550);
    assert!(!result.all_delivered());
}

#[test]
fn tls_upgrade_misuse_and_discarded_bytes() {
    let mut c = config();
    c.tls = TlsPolicy::Required;
    let mut h = Harness::new(c);
    assert_eq!(
        h.session.handle_tls_established(h.now),
        Err(ApiMisuse::NoTlsUpgrade)
    );
    h.feed("220 mx.test\r\n");
    h.feed("250-mx.test\r\n250 STARTTLS\r\n");
    assert_eq!(h.take_wire(), "EHLO client.test\r\nSTARTTLS\r\n");
    let _ = h.session.handle_bytes(h.now, b"220 go\r\n");
    // StartTls not handed out yet: too early.
    assert_eq!(
        h.session.handle_tls_established(h.now),
        Err(ApiMisuse::NoTlsUpgrade)
    );
    h.drain();
    assert!(h.starttls);
    assert!(!h.wants_read);
    // Plaintext bytes during the handshake are dropped.
    h.feed("250 injected\r\n");
    assert!(h.take_events().is_empty());
    h.session.handle_tls_established(h.now).unwrap();
    assert_eq!(
        h.session.handle_tls_established(h.now),
        Err(ApiMisuse::NoTlsUpgrade)
    );
    assert!(h.session.is_tls());
    assert!(h.session.capabilities().is_none());
    h.drain();
    assert_eq!(h.take_wire(), "EHLO client.test\r\n");
    h.feed("250 mx.test\r\n");
    assert!(matches!(
        h.take_events().as_slice(),
        [ClientEvent::Ready(_)]
    ));
    assert!(h.session.is_ready());
}

#[test]
fn calls_after_close_are_refused() {
    let mut h = Harness::ready(config(), &[]);
    h.session.quit(h.now).unwrap();
    assert_eq!(h.session.quit(h.now), Err(ApiMisuse::InvalidState));
    h.feed("221 bye\r\n");
    assert!(h.closed && h.session.is_closed());
    assert_eq!(h.session.quit(h.now), Err(ApiMisuse::Closed));
    assert_eq!(h.session.noop(h.now), Err(ApiMisuse::Closed));
    assert_eq!(
        h.session.send_mail(h.now, envelope(&["<b@mx.test>"])),
        Err(ClientError::Misuse(ApiMisuse::Closed))
    );
    assert_eq!(
        h.session.body(h.now, b"x"),
        Err(ClientError::Misuse(ApiMisuse::Closed))
    );
    assert_eq!(
        h.session.handle_tls_established(h.now),
        Err(ApiMisuse::Closed)
    );
    // Close is handed out again at every call.
    assert_eq!(h.session.poll_output(), Output::Close);
    assert_eq!(h.session.poll_output(), Output::Close);
    assert_eq!(
        h.session.handle_bytes(h.now, b"250 ok\r\n"),
        Err(ApiMisuse::Closed)
    );
    assert_eq!(h.session.handle_eof(h.now), Err(ApiMisuse::Closed));
    assert_eq!(h.session.handle_timeout(h.now), Err(ApiMisuse::Closed));
}

#[test]
fn utf8_envid_and_orcpt_need_smtputf8() {
    let mut h = Harness::ready(config(), &["DSN"]);
    let mut env = envelope(&["<b@mx.test>"]);
    env.envid = Some("идентификатор".to_string());
    assert_eq!(
        h.session.send_mail(h.now, env),
        Err(ClientError::NeedsExtension(RequiredExtension::SmtpUtf8))
    );
    let mut env = envelope(&["<b@mx.test>"]);
    env.recipients[0].orcpt = Some(crate::wire::params::OriginalRecipient {
        addr_type: Cow::Borrowed("utf-8"),
        address: Cow::Borrowed("jörg@mx.test"),
    });
    assert_eq!(
        h.session.send_mail(h.now, env),
        Err(ClientError::NeedsExtension(RequiredExtension::SmtpUtf8))
    );
    assert_eq!(
        h.session.send_mail(h.now, envelope(&[])),
        Err(ClientError::NoRecipients)
    );
}

#[test]
fn envelope_parse_rejects_bad_paths() {
    assert!(matches!(
        Envelope::parse("<a@b>x", ["<c@d>"]),
        Err(ClientError::InvalidAddress(_))
    ));
    assert!(matches!(
        Envelope::parse("<a@b>", ["<>"]),
        Err(ClientError::InvalidAddress(_))
    ));
    let env = Envelope::parse("<>", ["<Postmaster>"]).unwrap();
    assert_eq!(env.from, ReversePath::Null);
    assert_eq!(env.recipients[0].path, ForwardPath::Postmaster);
}

#[test]
fn hello_name_must_be_a_host() {
    assert!(ClientConfig::new("client.test").is_ok());
    assert!(ClientConfig::new("[192.0.2.1]").is_ok());
    assert!(ClientConfig::new("bad name").is_err());
    assert!(ClientConfig::new("a\r\nb").is_err());
    assert!(ClientConfig::new("").is_err());
}

#[test]
fn rset_and_noop_need_an_idle_session() {
    let mut h = Harness::new(config());
    assert_eq!(h.session.rset(h.now), Err(ApiMisuse::InvalidState));
    h.feed("220 mx.test\r\n");
    h.feed("250 mx.test\r\n");
    h.take_events();
    h.take_wire();
    h.session
        .send_mail(h.now, envelope(&["<b@mx.test>"]))
        .unwrap();
    assert_eq!(h.session.noop(h.now), Err(ApiMisuse::InvalidState));
    assert_eq!(h.session.rset(h.now), Err(ApiMisuse::InvalidState));
    h.drain();
    h.feed("550 no\r\n");
    assert!(matches!(
        h.take_events().as_slice(),
        [
            ClientEvent::BodyWanted,
            ClientEvent::TransactionFailed(TransactionFailure::MailRefused(_))
        ]
    ));
    // Abandoned: body is discarded, RSET and NOOP are allowed.
    assert_eq!(h.session.body(h.now, b"ignored").unwrap(), 7);
    h.session.rset(h.now).unwrap();
    h.drain();
    assert_eq!(h.take_wire(), "MAIL FROM:<a@client.test>\r\nRSET\r\n");
}

/// What a session did after some input, in order.
#[derive(Debug)]
enum Did {
    Wrote(Vec<u8>),
    Event(ClientEvent),
    StartTls,
    Close,
}

/// Polls until `Wait`, recording everything in order; returns `wants_read`.
fn record(session: &mut ClientSession, did: &mut Vec<Did>) -> bool {
    for _ in 0..10_000 {
        match session.poll_output() {
            Output::Transmit(b) => did.push(Did::Wrote(b.to_vec())),
            Output::Event(e) => did.push(Did::Event(e)),
            Output::StartTls => did.push(Did::StartTls),
            Output::Close => {
                did.push(Did::Close);
                return false;
            }
            Output::Wait { wants_read, .. } => return wants_read,
        }
    }
    panic!("no Wait");
}

#[test]
fn hostile_replies_never_panic() {
    // A few nasty inputs at every point of a session, and what must follow.
    enum Nasty {
        /// Not a reply line: one `MalformedReply` error, then Close, and
        /// nothing written (the dialogue is out of sync: not even QUIT).
        Malformed,
        /// An incomplete reply: the session keeps waiting, silently.
        Partial,
        /// A well-formed reply at the wrong time: anything but a panic, as
        /// long as an error ends the session cleanly (see below).
        Unexpected,
    }
    let nasty: [(&[u8], Nasty); 8] = [
        (b"\xff\xfe\r\n", Nasty::Malformed),
        (b"2", Nasty::Partial),
        (b"250-\r\n250", Nasty::Partial),
        (b"354 \r\n", Nasty::Unexpected),
        (b"\r\n\r\n", Nasty::Malformed),
        (b"221 bye\r\n", Nasty::Unexpected),
        (b"334 ====\r\n", Nasty::Unexpected),
        (b"999 x\r\n", Nasty::Malformed),
    ];
    let script: [&str; 5] = [
        "220 mx.test\r\n",
        "250-mx.test\r\n250-PIPELINING\r\n250 AUTH LOGIN\r\n",
        "334 VXNlcm5hbWU6\r\n",
        "334 UGFzc3dvcmQ6\r\n",
        "235 ok\r\n",
    ];
    for at in 0..6 {
        for (bytes, kind) in &nasty {
            let case = format!("{:?} at {at}", String::from_utf8_lossy(bytes));
            let mut c = config();
            c.credentials = Some(Credentials::password("tim", "pw"));
            c.auth_without_tls = true;
            let mut session = ClientSession::new(Arc::new(c), Instant::ZERO);
            let mut before = Vec::new();
            record(&mut session, &mut before);
            for s in &script[..at.min(script.len())] {
                let _ = session.handle_bytes(Instant::ZERO, s.as_bytes());
                record(&mut session, &mut before);
            }
            assert!(
                !before
                    .iter()
                    .any(|d| matches!(d, Did::Close | Did::Event(ClientEvent::Error(_)))),
                "{case}: the script alone failed: {before:?}"
            );
            if at == script.len() {
                assert!(session.is_ready(), "{case}: not ready after the script");
                session
                    .send_mail(Instant::ZERO, envelope(&["<b@mx.test>"]))
                    .expect("send_mail");
                record(&mut session, &mut before);
            }
            let mut after = Vec::new();
            let _ = session.handle_bytes(Instant::ZERO, bytes);
            let wants_read = record(&mut session, &mut after);
            match kind {
                Nasty::Malformed => {
                    assert!(
                        matches!(
                            after.as_slice(),
                            [
                                Did::Event(ClientEvent::Error(SessionError::ServerFault(
                                    ServerFault::MalformedReply(_)
                                ))),
                                Did::Close
                            ]
                        ),
                        "{case}: {after:?}"
                    );
                    assert!(!wants_read, "{case}: still reading after Close");
                }
                Nasty::Partial => {
                    assert!(after.is_empty(), "{case}: {after:?}");
                    assert!(wants_read, "{case}: stopped reading");
                }
                Nasty::Unexpected => match after.as_slice() {
                    [
                        Did::Event(ClientEvent::Error(SessionError::ServerFault(
                            ServerFault::UnexpectedReply { .. },
                        ))),
                        Did::Close,
                    ] => assert!(!wants_read, "{case}: still reading after Close"),
                    // During AUTH LOGIN a challenge that is not base64 is
                    // answered by cancelling (RFC 4954 §4), and the session goes on.
                    [Did::Wrote(w)]
                        if w == b"*\r\n" && bytes.starts_with(b"334") && (2..=4).contains(&at) =>
                    {
                        assert!(wants_read, "{case}: stopped reading");
                    }
                    other => panic!("{case}: {other:?}"),
                },
            }
            // Whatever comes next, a closed session refuses input and says
            // nothing but Close again.
            if after.iter().any(|d| matches!(d, Did::Close)) {
                let mut more = Vec::new();
                for s in &script[at.min(script.len())..] {
                    assert_eq!(
                        session.handle_bytes(Instant::ZERO, s.as_bytes()),
                        Err(ApiMisuse::Closed),
                        "{case}"
                    );
                    record(&mut session, &mut more);
                }
                assert_eq!(session.handle_eof(Instant::ZERO), Err(ApiMisuse::Closed));
                record(&mut session, &mut more);
                assert!(
                    more.iter().all(|d| matches!(d, Did::Close)),
                    "{case}: after Close: {more:?}"
                );
            }
        }
    }
}

/// Mutation-testing finds: the body buffer's capacity follows what is staged
/// and closes when the body ended or the transaction failed.
#[test]
fn body_capacity_follows_staging_and_the_transaction() {
    let mut c = config();
    c.max_body_buffer = 100;
    let mut h = Harness::ready(c, &["PIPELINING"]);
    assert_eq!(h.session.body_capacity(), 0, "no transaction");
    h.session
        .send_mail(h.now, envelope(&["<b@mx.test>"]))
        .unwrap();
    assert_eq!(h.session.body_capacity(), 100);
    assert_eq!(h.session.body(h.now, b"0123456789").unwrap(), 10);
    assert_eq!(h.session.body_capacity(), 90, "staged octets count");
    h.session.end_body(h.now).unwrap();
    assert_eq!(h.session.body_capacity(), 0, "the body ended");
    h.drain();
    h.feed("550 no\r\n503 need MAIL\r\n503 need MAIL\r\n");
    assert!(matches!(
        h.take_events().last(),
        Some(ClientEvent::TransactionFailed(
            TransactionFailure::MailRefused(_)
        ))
    ));
    assert_eq!(h.session.body_capacity(), 0, "the transaction failed");
}

/// Mutation-testing find: a transaction that failed before any body was given
/// leaves nothing to wait for (no body deadline).
#[test]
fn no_body_deadline_after_a_refused_mail() {
    let mut h = Harness::ready(config(), &["PIPELINING"]);
    h.session
        .send_mail(h.now, envelope(&["<b@mx.test>"]))
        .unwrap();
    h.drain();
    h.feed("550 no\r\n503 need MAIL\r\n503 need MAIL\r\n");
    h.drain();
    let events = h.take_events();
    assert!(
        matches!(
            events.last(),
            Some(ClientEvent::TransactionFailed(
                TransactionFailure::MailRefused(_)
            ))
        ),
        "{events:?}"
    );
    assert_eq!(h.deadline, None);
    assert!(h.wants_read);
}

/// Mutation-testing find: `BODY=7BIT` goes out when 8BITMIME is offered (RFC
/// 6152 §2), and only then.
#[test]
fn body_7bit_only_with_8bitmime() {
    for (offer, expected) in [
        (&["8BITMIME"][..], "MAIL FROM:<a@client.test> BODY=7BIT\r\n"),
        (&["PIPELINING"][..], "MAIL FROM:<a@client.test>\r\n"),
    ] {
        let mut h = Harness::ready(config(), offer);
        let mut env = envelope(&["<b@mx.test>"]);
        env.body = Some(crate::wire::params::Body::SevenBit);
        h.session.send_mail(h.now, env).unwrap();
        h.drain();
        assert!(h.take_wire().starts_with(expected), "{offer:?}");
    }
}

/// Mutation-testing find: REQUIRETLS asked for and offered goes on MAIL.
#[test]
fn requiretls_goes_on_mail() {
    let mut h = Harness::with(ClientSession::new_tls(Arc::new(config()), Instant::ZERO));
    h.feed("220 mx.test ESMTP\r\n");
    h.take_wire();
    h.feed("250-mx.test\r\n250 REQUIRETLS\r\n");
    h.take_events();
    let mut env = envelope(&["<b@mx.test>"]);
    env.requiretls = true;
    h.session.send_mail(h.now, env).unwrap();
    h.drain();
    assert!(
        h.take_wire()
            .starts_with("MAIL FROM:<a@client.test> REQUIRETLS\r\n")
    );
}

/// Mutation-testing finds: after a failed transaction every body octet is
/// taken (and dropped), however much; an empty `body` call does not re-arm
/// `BodyWanted`.
#[test]
fn body_after_failure_and_empty_body_calls() {
    let mut c = config();
    c.max_body_buffer = 10;
    let mut h = Harness::ready(c, &["PIPELINING"]);
    h.session
        .send_mail(h.now, envelope(&["<b@mx.test>"]))
        .unwrap();
    h.drain();
    assert_eq!(h.take_events(), [ClientEvent::BodyWanted]);
    assert_eq!(h.session.body(h.now, b"").unwrap(), 0);
    h.drain();
    assert_eq!(
        h.take_events(),
        [],
        "an empty call does not re-arm BodyWanted"
    );
    h.feed("550 no\r\n503 need MAIL\r\n503 need MAIL\r\n");
    h.take_events();
    let lots = [b'x'; 100];
    assert_eq!(h.session.body(h.now, &lots).unwrap(), 100, "all dropped");
}

/// Mutation-testing find: once a chunk is refused, the chunks still queued
/// behind it (without PIPELINING each waits for the reply before it) are
/// never written.
#[test]
fn no_more_chunks_after_a_refused_chunk() {
    let mut c = config();
    c.bdat_chunk_size = 4;
    let mut h = Harness::ready(c, &["CHUNKING"]);
    h.session
        .send_mail(h.now, envelope(&["<b@mx.test>"]))
        .unwrap();
    assert_eq!(h.session.body(h.now, b"abcdefghijkl").unwrap(), 12);
    h.session.end_body(h.now).unwrap();
    h.drain();
    assert_eq!(h.take_wire(), "MAIL FROM:<a@client.test>\r\n");
    h.feed("250 ok\r\n");
    assert_eq!(h.take_wire(), "RCPT TO:<b@mx.test>\r\n");
    h.feed("250 ok\r\n");
    assert_eq!(h.take_wire(), "BDAT 4\r\nabcd");
    h.feed("552 too big\r\n");
    assert_eq!(
        h.take_wire(),
        "RSET\r\n",
        "no chunk after the refusal, an RSET"
    );
    let events = h.take_events();
    let Some(ClientEvent::TransactionComplete(result)) = events.last() else {
        panic!("{events:?}");
    };
    assert!(!result.all_delivered());
    assert_eq!(result.recipients[0].reply().code().get(), 552);
}

/// Mutation-testing find: `BodyWanted` comes as soon as half the body buffer
/// is free, before the output that frees it is even taken.
#[test]
fn body_wanted_at_half_the_buffer() {
    let mut c = config();
    c.max_body_buffer = 200_000;
    let mut h = Harness::ready(c, &["PIPELINING"]);
    h.session
        .send_mail(h.now, envelope(&["<b@mx.test>"]))
        .unwrap();
    h.drain();
    h.take_events();
    h.feed("250 ok\r\n250 ok\r\n354 go\r\n");
    h.take_events();
    h.take_wire();
    assert_eq!(h.session.body(h.now, &[b'x'; 150_000]).unwrap(), 150_000);
    // 64 KiB go to the output at once; the rest (under half the buffer) waits.
    assert_eq!(
        h.session.poll_output(),
        Output::Event(ClientEvent::BodyWanted)
    );
}

/// Mutation-testing find: without PIPELINING a BDAT chunk waits for the reply
/// to the one before, and the session builds no more than the next one: the
/// rest of the body stays in the (bounded) body buffer.
#[test]
fn one_chunk_ahead_without_pipelining() {
    let mut c = config();
    c.bdat_chunk_size = 4;
    c.max_body_buffer = 100;
    let mut h = Harness::ready(c, &["CHUNKING"]);
    h.session
        .send_mail(h.now, envelope(&["<b@mx.test>"]))
        .unwrap();
    assert_eq!(h.session.body(h.now, &[b'x'; 100]).unwrap(), 100);
    h.drain();
    h.feed("250 ok\r\n");
    h.feed("250 ok\r\n");
    assert_eq!(h.take_wire().matches("BDAT 4\r\n").count(), 1);
    // One chunk written, one built and queued behind it: 92 octets wait.
    assert_eq!(h.session.body_capacity(), 8);
}

/// Mutation-testing find: a chunk is filled up to the chunk size, taking only
/// what is missing (here after the normaliser held back a CR).
#[test]
fn chunks_are_filled_to_their_size_only() {
    let mut c = config();
    c.bdat_chunk_size = 4;
    let mut h = Harness::ready(c, &["PIPELINING", "CHUNKING"]);
    h.session
        .send_mail(h.now, envelope(&["<b@mx.test>"]))
        .unwrap();
    assert_eq!(h.session.body(h.now, b"abc\rdefgh").unwrap(), 9);
    h.drain();
    h.feed("250 ok\r\n250 ok\r\n");
    let wire = h.take_wire();
    assert!(
        wire.ends_with("BDAT 5\r\nabc\r\nBDAT 4\r\ndefg"),
        "{wire:?}"
    );
}
