//! Unit tests of the server session: API misuse, backpressure, bounded buffers
//! and reply hygiene. Protocol behaviour is covered by the transcripts in
//! `tests/transcripts/server/`.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::*;
use crate::reply::{EnhancedCode, Reply, ReplyCode};

fn session(config: ServerConfig) -> ServerSession {
    ServerSession::new(Arc::new(config), Instant::ZERO)
}

/// Drains until Wait, answering decisions with `decide`; returns the bytes sent.
fn drain(
    s: &mut ServerSession,
    decide: &mut dyn FnMut(&ServerEvent) -> Option<Decision>,
) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        match s.poll_output() {
            Output::Transmit(b) => out.extend_from_slice(&b),
            Output::Event(e) => {
                if let Some(d) = decide(&e) {
                    s.respond(Instant::ZERO, d).unwrap();
                }
            }
            Output::Wait { .. } | Output::Close => return out,
            Output::StartTls => {}
        }
    }
}

fn accept_all(e: &ServerEvent) -> Option<Decision> {
    e.needs_decision().then_some(Decision::Accept)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn api_misuse_is_an_error_not_a_panic() {
    let mut s = session(ServerConfig::default());
    // The Connected event has not been handed out yet.
    assert_eq!(
        s.respond(Instant::ZERO, Decision::Accept),
        Err(ApiMisuse::NoPendingDecision)
    );
    assert!(matches!(
        s.poll_output(),
        Output::Event(ServerEvent::Connected)
    ));
    let ok = Reply::new(ReplyCode::new(250).unwrap(), None, "fine");
    assert_eq!(
        s.respond(Instant::ZERO, Decision::Reject(ok)),
        Err(ApiMisuse::InvalidDecision)
    );
    let no = Reply::new(ReplyCode::new(550).unwrap(), None, "no");
    assert_eq!(
        s.respond(Instant::ZERO, Decision::AcceptWith(no.clone())),
        Err(ApiMisuse::InvalidDecision)
    );
    assert_eq!(
        s.respond(Instant::ZERO, Decision::PerRecipient(alloc::vec![no])),
        Err(ApiMisuse::InvalidDecision)
    );
    assert_eq!(
        s.handle_tls_established(Instant::ZERO),
        Err(ApiMisuse::NoTlsUpgrade)
    );
    s.respond(Instant::ZERO, Decision::Accept).unwrap();
    assert_eq!(
        s.respond(Instant::ZERO, Decision::Accept),
        Err(ApiMisuse::NoPendingDecision)
    );
}

#[test]
fn application_reply_text_cannot_inject_lines() {
    let mut s = session(ServerConfig::default());
    s.handle_bytes(Instant::ZERO, b"EHLO c.test\r\nMAIL FROM:<a@c.test>\r\n");
    let evil = Reply::new(
        ReplyCode::new(550).unwrap(),
        EnhancedCode::new(5, 7, 1),
        "no\r\n250 2.1.0 Ok\r\n\x00 354 go",
    );
    let out = drain(&mut s, &mut |e| match e {
        ServerEvent::MailFrom { .. } => Some(Decision::Reject(evil.clone())),
        e => accept_all(e),
    });
    let out = text(&out);
    let mail_reply: Vec<&str> = out.lines().skip_while(|l| l.starts_with("2")).collect();
    assert!(!mail_reply.is_empty());
    for line in mail_reply {
        assert!(
            line.starts_with("550-5.7.1 ") || line.starts_with("550 5.7.1 "),
            "{line:?}"
        );
        assert!(!line.contains('\0'));
    }
}

#[test]
fn a_paused_session_stops_reading() {
    let config = ServerConfig {
        max_input_buffer: 8 * 1024,
        ..ServerConfig::default()
    };
    let capacity = config.input_capacity();
    let mut s = session(config);
    s.handle_bytes(Instant::ZERO, b"EHLO c.test\r\nMAIL FROM:<a@c.test>\r\n");
    // Accept everything but never answer MAIL: the session stays paused.
    let _ = drain(&mut s, &mut |e| match e {
        ServerEvent::MailFrom { .. } => None,
        e => accept_all(e),
    });
    let chunk = b"NOOP\r\n".repeat(700);
    let mut fed = 0usize;
    for _ in 0..1000 {
        match s.poll_output() {
            Output::Wait {
                wants_read: true, ..
            } => {
                s.handle_bytes(Instant::ZERO, &chunk);
                fed += chunk.len();
            }
            Output::Wait {
                wants_read: false, ..
            } => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(matches!(
        s.poll_output(),
        Output::Wait {
            wants_read: false,
            ..
        }
    ));
    assert!(fed < 1000 * chunk.len(), "the session never pushed back");
    assert!(s.buffered_input() <= capacity + chunk.len());
}

#[test]
fn output_per_poll_is_bounded_for_a_pipelining_flood() {
    let mut s = session(ServerConfig::default());
    let _ = drain(&mut s, &mut accept_all);
    s.handle_bytes(Instant::ZERO, &b"NOOP\r\n".repeat(20_000));
    let mut replies = 0;
    loop {
        match s.poll_output() {
            Output::Transmit(b) => {
                assert!(
                    b.len() <= OUTPUT_HIGH_WATER + 512,
                    "{} bytes at once",
                    b.len()
                );
                replies += b.split(|&c| c == b'\n').filter(|l| !l.is_empty()).count();
            }
            Output::Wait { .. } => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    // Every NOOP is answered, one reply each, however many polls it takes.
    assert_eq!(replies, 20_000);
}

#[test]
fn counters_saturate_and_errors_close() {
    let config = ServerConfig {
        max_errors: 3,
        ..ServerConfig::default()
    };
    let mut s = session(config);
    let _ = drain(&mut s, &mut accept_all);
    s.handle_bytes(Instant::ZERO, b"X\r\nY\r\nZ\r\nW\r\n");
    let out = text(&drain(&mut s, &mut accept_all));
    assert_eq!(out.matches("500 5.5.2").count(), 3, "{out}");
    assert!(
        out.ends_with("421 4.7.0 localhost Error: too many errors\r\n"),
        "{out}"
    );
    assert!(matches!(
        s.poll_output(),
        Output::Wait {
            wants_read: false,
            ..
        }
    ));
}

#[test]
fn deadlines_are_reported_and_not_reset_by_trickling() {
    let mut s = session(ServerConfig::default());
    let _ = drain(&mut s, &mut accept_all);
    let Output::Wait {
        deadline: Some(d), ..
    } = s.poll_output()
    else {
        panic!()
    };
    assert_eq!(d, Instant::ZERO + core::time::Duration::from_secs(300));
    s.handle_bytes(
        Instant::from_duration(core::time::Duration::from_secs(299)),
        b"NO",
    );
    let Output::Wait {
        deadline: Some(d2), ..
    } = s.poll_output()
    else {
        panic!()
    };
    assert_eq!(d, d2);
}
