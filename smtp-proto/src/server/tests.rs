//! Unit tests of the server session: API misuse, backpressure, bounded buffers
//! and reply hygiene. Protocol behaviour is covered by the transcripts in
//! `tests/transcripts/server/`.

use alloc::string::{String, ToString};
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

/// Feeds everything, which must fit.
fn feed(s: &mut ServerSession, bytes: &[u8]) {
    assert_eq!(s.handle_bytes(Instant::ZERO, bytes), Ok(bytes.len()));
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
    feed(&mut s, b"EHLO c.test\r\nMAIL FROM:<a@c.test>\r\n");
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
    feed(&mut s, b"EHLO c.test\r\nMAIL FROM:<a@c.test>\r\n");
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
                fed += s.handle_bytes(Instant::ZERO, &chunk).unwrap();
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
    assert_eq!(fed, capacity, "takes exactly what fits");
    assert_eq!(s.buffered_input(), capacity);
    assert_eq!(s.handle_bytes(Instant::ZERO, &chunk), Ok(0));
}

#[test]
fn output_per_poll_is_bounded_for_a_pipelining_flood() {
    let mut s = session(ServerConfig::default());
    let _ = drain(&mut s, &mut accept_all);
    let flood = b"NOOP\r\n".repeat(20_000);
    let mut rest = &flood[..];
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
            Output::Wait { .. } if rest.is_empty() => break,
            Output::Wait { .. } => {
                let taken = s.handle_bytes(Instant::ZERO, rest).unwrap();
                rest = &rest[taken..];
            }
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
    feed(&mut s, b"X\r\nY\r\nZ\r\nW\r\n");
    let out = text(&drain(&mut s, &mut accept_all));
    assert_eq!(out.matches("500 5.5.2").count(), 3, "{out}");
    assert!(
        out.ends_with("421 4.7.0 localhost Error: too many errors\r\n"),
        "{out}"
    );
    assert_eq!(s.poll_output(), Output::Close);
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
    )
    .unwrap();
    let Output::Wait {
        deadline: Some(d2), ..
    } = s.poll_output()
    else {
        panic!()
    };
    assert_eq!(d, d2);
}

/// Drains with `decide`, counting the `Transmit`s.
fn drain_counting(
    s: &mut ServerSession,
    decide: &mut dyn FnMut(&ServerEvent) -> Option<Decision>,
) -> (Vec<u8>, usize) {
    let mut out = Vec::new();
    let mut transmits = 0;
    loop {
        match s.poll_output() {
            Output::Transmit(b) => {
                transmits += 1;
                out.extend_from_slice(&b);
            }
            Output::Event(e) => {
                if let Some(d) = decide(&e) {
                    s.respond(Instant::ZERO, d).unwrap();
                }
            }
            Output::Wait { .. } | Output::Close => return (out, transmits),
            Output::StartTls => {}
        }
    }
}

#[test]
fn one_transmit_per_pipelined_batch() {
    let mut s = session(ServerConfig::default());
    feed(&mut s, b"EHLO c.test\r\n");
    let (_, n) = drain_counting(&mut s, &mut accept_all);
    assert_eq!(n, 1, "greeting and EHLO reply in one write");
    feed(
        &mut s,
        b"MAIL FROM:<a@c.test>\r\nRCPT TO:<b@x.test>\r\nRCPT TO:<c@x.test>\r\nRCPT TO:<d@x.test>\r\nDATA\r\n",
    );
    let (out, n) = drain_counting(&mut s, &mut accept_all);
    assert_eq!(n, 1, "{}", text(&out));
    assert_eq!(text(&out).lines().count(), 5);
}

#[test]
fn replies_go_out_before_waiting_on_a_decision() {
    let mut s = session(ServerConfig::default());
    feed(
        &mut s,
        b"EHLO c.test\r\nMAIL FROM:<a@c.test>\r\nRCPT TO:<b@x.test>\r\n",
    );
    // The application takes its time over RCPT: what was answered so far is
    // handed out before the session waits.
    let (out, n) = drain_counting(&mut s, &mut |e| match e {
        ServerEvent::RcptTo { .. } => None,
        e => accept_all(e),
    });
    assert_eq!(n, 1);
    assert!(text(&out).ends_with("250 2.1.0 Ok\r\n"), "{}", text(&out));
    assert_eq!(s.pending_decision(), Some(DecisionPoint::RcptTo));
    assert!(matches!(
        s.poll_output(),
        Output::Wait { deadline: None, .. }
    ));
}

#[test]
fn decisions_are_paired_with_their_event() {
    let mut s = session(ServerConfig::default());
    assert_eq!(s.pending_decision(), None, "not handed out yet");
    let Output::Event(e) = s.poll_output() else {
        panic!()
    };
    assert_eq!(e.decision_point(), Some(DecisionPoint::Connected));
    assert_eq!(s.pending_decision(), Some(DecisionPoint::Connected));
    assert_eq!(
        s.respond_to(Instant::ZERO, DecisionPoint::MailFrom, Decision::Accept),
        Err(ApiMisuse::Awaiting(DecisionPoint::Connected))
    );
    s.respond_to(Instant::ZERO, DecisionPoint::Connected, Decision::Accept)
        .unwrap();
    assert_eq!(s.pending_decision(), None);
    assert_eq!(
        s.respond_to(Instant::ZERO, DecisionPoint::Connected, Decision::Accept),
        Err(ApiMisuse::NoPendingDecision)
    );
    assert_eq!(ServerEvent::TransactionFinished.decision_point(), None);
}

#[test]
fn envelope_follows_the_transaction() {
    let mut s = session(ServerConfig::default());
    feed(
        &mut s,
        b"EHLO c.test\r\nMAIL FROM:<a@c.test>\r\nRCPT TO:<b@x.test>\r\nRCPT TO:<no@x.test>\r\nRCPT TO:<c@x.test>\r\nDATA\r\n",
    );
    let _ = drain(&mut s, &mut |e| match e {
        ServerEvent::RcptTo { to, .. } if to.to_string() == "<no@x.test>" => Some(
            Decision::Reject(Reply::new(ReplyCode::new(550).unwrap(), None, "no")),
        ),
        ServerEvent::RcptTo { .. } => Some(Decision::Accept),
        ServerEvent::DataStart => None,
        e => accept_all(e),
    });
    let env = s.envelope().expect("a transaction");
    assert_eq!(env.sender().to_string(), "<a@c.test>");
    let rcpts: Vec<String> = env.recipients().map(|r| r.to_string()).collect();
    assert_eq!(rcpts, ["<b@x.test>", "<c@x.test>"]);
    assert_eq!(env.recipient_count(), 2);
    s.respond(Instant::ZERO, Decision::Accept).unwrap();
    feed(&mut s, b"hi\r\n.\r\n");
    let mut events = Vec::new();
    let _ = drain(&mut s, &mut |e| {
        events.push(e.clone());
        accept_all(e)
    });
    assert!(
        matches!(events.last(), Some(ServerEvent::TransactionFinished)),
        "{events:?}"
    );
    assert!(s.envelope().is_none());
}

#[test]
fn a_pending_recipient_is_not_in_the_envelope() {
    let mut s = session(ServerConfig::default());
    feed(
        &mut s,
        b"EHLO c.test\r\nMAIL FROM:<>\r\nRCPT TO:<b@x.test>\r\n",
    );
    let _ = drain(&mut s, &mut |e| match e {
        ServerEvent::RcptTo { .. } => None,
        e => accept_all(e),
    });
    let env = s.envelope().expect("MAIL accepted");
    assert_eq!(env.sender(), crate::wire::path::ReversePath::Null);
    assert_eq!(env.recipient_count(), 0);
    assert_eq!(env.recipients().count(), 0);
}

#[test]
fn every_entry_point_answers_closed_after_close() {
    let mut s = session(ServerConfig::default());
    feed(&mut s, b"QUIT\r\n");
    let _ = drain(&mut s, &mut accept_all);
    assert_eq!(s.poll_output(), Output::Close);
    assert_eq!(s.poll_output(), Output::Close, "Close repeats");
    assert!(s.is_closed());
    assert_eq!(
        s.handle_bytes(Instant::ZERO, b"NOOP\r\n"),
        Err(ApiMisuse::Closed)
    );
    assert_eq!(s.handle_eof(Instant::ZERO), Err(ApiMisuse::Closed));
    assert_eq!(s.handle_timeout(Instant::ZERO), Err(ApiMisuse::Closed));
    assert_eq!(
        s.handle_tls_established(Instant::ZERO),
        Err(ApiMisuse::Closed)
    );
    assert_eq!(
        s.respond(Instant::ZERO, Decision::Accept),
        Err(ApiMisuse::Closed)
    );
}

#[test]
fn no_reply_after_eof_with_a_decision_pending() {
    let mut s = session(ServerConfig::default());
    feed(&mut s, b"EHLO c.test\r\nMAIL FROM:<a@c.test>\r\n");
    let _ = drain(&mut s, &mut |e| match e {
        ServerEvent::MailFrom { .. } => None,
        e => accept_all(e),
    });
    assert_eq!(s.pending_decision(), Some(DecisionPoint::MailFrom));
    s.handle_eof(Instant::ZERO).unwrap();
    assert_eq!(
        s.respond(Instant::ZERO, Decision::Accept),
        Err(ApiMisuse::Closed)
    );
    assert_eq!(s.pending_decision(), None);
    // Nothing but Close comes out.
    assert_eq!(s.poll_output(), Output::Close);
}

#[test]
fn ten_mebibytes_unpolled_are_bounded() {
    let mut s = session(ServerConfig::default());
    feed(
        &mut s,
        b"EHLO c.test\r\nMAIL FROM:<a@c.test>\r\nRCPT TO:<b@x.test>\r\nDATA\r\n",
    );
    let _ = drain(&mut s, &mut accept_all);
    let body = alloc::vec![b'x'; 10 * 1024 * 1024];
    let taken = s.handle_bytes(Instant::ZERO, &body).unwrap();
    assert_eq!(taken, s.config().input_capacity());
    assert!(taken <= 1024 * 1024);
    assert_eq!(s.handle_bytes(Instant::ZERO, &body[taken..]), Ok(0));
    // Content comes out in pieces no larger than the buffer.
    let mut got = 0;
    loop {
        match s.poll_output() {
            Output::Event(ServerEvent::MessageData(b)) => {
                assert!(b.len() <= s.config().input_capacity());
                got += b.len();
            }
            Output::Wait { .. } => break,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(got, taken);
}

#[test]
fn an_idle_session_gives_its_buffers_back() {
    let mut s = session(ServerConfig::default());
    let _ = drain(&mut s, &mut accept_all);
    let mut flood = b"NOOP\r\n".repeat(10_000);
    flood.truncate(60 * 1024);
    let cut = flood.len() - flood.len() % 6;
    feed(&mut s, &flood[..cut]);
    let _ = drain(&mut s, &mut accept_all);
    assert_eq!(s.buffered_input(), 0);
    assert!(s.input.capacity() <= IDLE_KEEP, "{}", s.input.capacity());
    assert!(s.out.capacity() <= IDLE_KEEP, "{}", s.out.capacity());
    assert!(s.events.capacity() <= 16);
}

#[test]
fn an_idle_session_gives_back_its_event_piece_and_line_lists() {
    let mut config = ServerConfig {
        max_errors: 1000,
        ..ServerConfig::default()
    };
    config.extensions.starttls = true;
    let mut s = session(config);
    let _ = drain(&mut s, &mut accept_all);
    // Forty refused commands at once: forty events queued before a drain.
    feed(&mut s, &b"XYZZY\r\n".repeat(40));
    assert!(matches!(
        s.poll_output(),
        Output::Event(ServerEvent::ClientFault(_))
    ));
    assert!(s.events.capacity() >= 39, "{}", s.events.capacity());
    // A line longer than the command limit goes through the scratch line.
    let mut long = b"NOOP ".to_vec();
    long.resize(900, b'x');
    long.extend_from_slice(b"\r\n");
    feed(&mut s, &long);
    let _ = drain(&mut s, &mut accept_all);
    assert!(s.events.capacity() <= 16, "{}", s.events.capacity());
    assert!(s.line.capacity() <= IDLE_LINE, "{}", s.line.capacity());
    // Content with a stuffed dot on every line: one piece per line.
    feed(
        &mut s,
        b"EHLO c.test\r\nMAIL FROM:<a@c.test>\r\nRCPT TO:<b@x.test>\r\nDATA\r\n",
    );
    let _ = drain(&mut s, &mut accept_all);
    let mut content = b"..x\r\n".repeat(40);
    content.extend_from_slice(b"\r\n");
    feed(&mut s, &content);
    let mut seen_pieces = 0;
    loop {
        match s.poll_output() {
            Output::Event(_) => seen_pieces = seen_pieces.max(s.pieces.capacity()),
            Output::Transmit(_) => {}
            other => {
                assert!(matches!(other, Output::Wait { .. }), "{other:?}");
                break;
            }
        }
    }
    assert!(seen_pieces > 16, "{seen_pieces}");
    assert!(s.pieces.capacity() <= 16, "{}", s.pieces.capacity());
    // While the application decides, no deadline runs (the timeouts of
    // RFC 5321 §4.5.3.2 are the client's).
    feed(&mut s, b".\r\n");
    let _ = drain(&mut s, &mut |_| None);
    assert_eq!(s.pending_decision(), Some(DecisionPoint::MessageEnd));
    assert!(matches!(
        s.poll_output(),
        Output::Wait { deadline: None, .. }
    ));
    s.respond(Instant::ZERO, Decision::Accept).unwrap();
    let _ = drain(&mut s, &mut accept_all);
    assert!(matches!(
        s.poll_output(),
        Output::Wait {
            deadline: Some(_),
            ..
        }
    ));
    // While TLS is being set up, nothing is read.
    feed(&mut s, b"STARTTLS\r\n");
    let _ = drain(&mut s, &mut accept_all);
    assert!(matches!(
        s.poll_output(),
        Output::Wait {
            wants_read: false,
            ..
        }
    ));
}

#[test]
fn eof_drops_a_decision_not_yet_handed_out() {
    let mut s = session(ServerConfig::default());
    let _ = drain(&mut s, &mut accept_all);
    feed(&mut s, b"EHLO c.test\r\n");
    // The Hello event is queued by the next poll; the peer goes away first.
    let Output::Event(ServerEvent::Hello { .. }) = s.poll_output() else {
        panic!("Hello first")
    };
    s.respond(Instant::ZERO, Decision::Accept).unwrap();
    feed(&mut s, b"MAIL FROM:<a@c.test>\r\n");
    // Make the session queue the MailFrom event without handing it out.
    s.process();
    assert_eq!(s.pending_decision(), None, "not handed out yet");
    s.handle_eof(Instant::ZERO).unwrap();
    let mut seen = Vec::new();
    loop {
        match s.poll_output() {
            Output::Event(e) => seen.push(e),
            Output::Close => break,
            Output::Transmit(_) => {}
            other => panic!("{other:?}"),
        }
    }
    assert!(seen.iter().all(|e| !e.needs_decision()), "{seen:?}");
}

/// Sends `lines` after EHLO, every decision accepted; returns what came back
/// after the EHLO reply.
fn after_ehlo(config: ServerConfig, lines: &[u8]) -> String {
    let mut s = session(config);
    feed(&mut s, b"EHLO c.test\r\n");
    let _ = drain(&mut s, &mut accept_all);
    feed(&mut s, lines);
    text(&drain(&mut s, &mut accept_all))
}

/// Mutation-testing find: HELP lists STARTTLS only when it is offered.
#[test]
fn help_lists_starttls_only_when_offered() {
    let mut config = ServerConfig::new("mx.test");
    let out = after_ehlo(config.clone(), b"HELP\r\n");
    assert!(
        out.starts_with("214 ") && !out.contains("STARTTLS"),
        "{out}"
    );
    config.extensions.starttls = true;
    let out = after_ehlo(config, b"HELP\r\n");
    assert!(out.contains(" STARTTLS"), "{out}");
}

/// Mutation-testing find: only an HTTP method *with* an HTTP version is taken
/// for an HTTP request (421 and close); anything else is an unknown command.
#[test]
fn http_probe_needs_method_and_version() {
    let config = ServerConfig::new("mx.test");
    for line in [&b"GET\r\n"[..], b"GET /\r\n", b"FETCH / HTTP/1.1\r\n"] {
        let out = after_ehlo(config.clone(), line);
        assert!(out.starts_with("500 5.5.2 "), "{line:?}: {out}");
    }
    let out = after_ehlo(config, b"GET / HTTP/1.1\r\n");
    assert!(out.starts_with("421 4.7.0 "), "{out}");
}

/// Mutation-testing find: BODY=BINARYMIME needs both BINARYMIME and CHUNKING
/// (RFC 3030 §3).
#[test]
fn binarymime_needs_chunking_too() {
    let mut config = ServerConfig::new("mx.test");
    config.extensions.binary_mime = true;
    config.extensions.chunking = false;
    let out = after_ehlo(config.clone(), b"MAIL FROM:<a@c.test> BODY=BINARYMIME\r\n");
    assert!(out.starts_with("555 "), "{out}");
    config.extensions.chunking = true;
    let out = after_ehlo(config, b"MAIL FROM:<a@c.test> BODY=BINARYMIME\r\n");
    assert!(out.starts_with("250 "), "{out}");
}

/// Mutation-testing find: a refused BDAT counts against the error budget,
/// unless it only follows from a refused MAIL (RFC 2920 §3.1).
#[test]
fn refused_bdat_counts_unless_mail_was_refused() {
    let mut config = ServerConfig::new("mx.test");
    config.max_errors = 3;
    let three = b"BDAT 1\r\nxBDAT 1\r\nxBDAT 1\r\nx";
    // No MAIL at all: three sequence errors end the session.
    let out = after_ehlo(config.clone(), three);
    assert!(
        out.ends_with("421 4.7.0 mx.test Error: too many errors\r\n"),
        "{out}"
    );
    // Behind a refused MAIL they are consequences: not counted.
    let mut s = session(config);
    feed(&mut s, b"EHLO c.test\r\n");
    let _ = drain(&mut s, &mut accept_all);
    feed(&mut s, b"MAIL FROM:<a@c.test>\r\n");
    feed(&mut s, three);
    let out = text(&drain(&mut s, &mut |e| match e {
        ServerEvent::MailFrom { .. } => Some(Decision::Reject(Reply::new(
            ReplyCode::new(550).unwrap(),
            None,
            "no",
        ))),
        e => accept_all(e),
    }));
    assert!(!out.contains("421"), "{out}");
    assert_eq!(
        out.matches("503 5.5.1 Error: need MAIL command").count(),
        3,
        "{out}"
    );
}

/// Mutation-testing find: a BDAT message of exactly the size limit is
/// accepted, one octet more is not (RFC 1870 §6.3), per chunk and in total.
#[test]
fn bdat_size_limit_is_inclusive() {
    let mut config = ServerConfig::new("mx.test");
    config.max_message_size = Some(10);
    let tx = |chunks: &[u8]| {
        let mut line = b"MAIL FROM:<a@c.test>\r\nRCPT TO:<b@x.test>\r\n".to_vec();
        line.extend_from_slice(chunks);
        after_ehlo(config.clone(), &line)
    };
    assert!(tx(b"BDAT 10 LAST\r\n0123456789").ends_with("250 2.0.0 Ok: queued\r\n"));
    assert!(tx(b"BDAT 11 LAST\r\n0123456789a").contains("552 5.3.4"));
    assert!(tx(b"BDAT 5\r\n01234BDAT 5 LAST\r\n56789").ends_with("250 2.0.0 Ok: queued\r\n"));
    assert!(tx(b"BDAT 5\r\n01234BDAT 6 LAST\r\n56789a").contains("552 5.3.4"));
}

/// Mutation-testing finds: a DATA message of exactly the size limit is
/// accepted and one octet more refused; content past the limit is never
/// handed out, and no piece is empty.
#[test]
fn data_size_limit_is_inclusive_and_content_stops_at_it() {
    let mut config = ServerConfig::new("mx.test");
    config.max_message_size = Some(10);
    let tx = |body: &[u8]| {
        let mut s = session(config.clone());
        feed(
            &mut s,
            b"EHLO c.test\r\nMAIL FROM:<a@c.test>\r\nRCPT TO:<b@x.test>\r\nDATA\r\n",
        );
        let _ = drain(&mut s, &mut accept_all);
        let mut pieces = Vec::new();
        for byte in body {
            feed(&mut s, &[*byte]);
            let _ = drain(&mut s, &mut |e| {
                if let ServerEvent::MessageData(b) = e {
                    pieces.push(b.len());
                }
                accept_all(e)
            });
        }
        feed(&mut s, b".\r\n");
        let out = text(&drain(&mut s, &mut |e| {
            if let ServerEvent::MessageData(b) = e {
                pieces.push(b.len());
            }
            accept_all(e)
        }));
        (out, pieces)
    };
    let (out, pieces) = tx(b"01234567\r\n");
    assert_eq!(out, "250 2.0.0 Ok: queued\r\n");
    assert_eq!(pieces.iter().sum::<usize>(), 10);
    let (out, pieces) = tx(b"0123456789abcdef\r\n");
    assert!(out.starts_with("552 5.3.4 "), "{out}");
    assert!(pieces.iter().sum::<usize>() <= 10, "{pieces:?}");
    assert!(pieces.iter().all(|&n| n > 0), "{pieces:?}");
}

/// The findings handed out with MessageEnd describe the content, for DATA
/// (where the decoder gathers them) and for BDAT (where the session does).
#[test]
fn message_end_findings_describe_the_content() {
    let findings = |body: &[u8], bdat: bool| {
        let mut s = session(ServerConfig::new("mx.test"));
        let mut wire = b"EHLO c.test\r\nMAIL FROM:<a@c.test>\r\nRCPT TO:<b@x.test>\r\n".to_vec();
        if bdat {
            wire.extend_from_slice(format!("BDAT {} LAST\r\n", body.len()).as_bytes());
            wire.extend_from_slice(body);
        } else {
            wire.extend_from_slice(b"DATA\r\n");
            wire.extend_from_slice(body);
            wire.extend_from_slice(b".\r\n");
        }
        feed(&mut s, &wire);
        let mut found = None;
        let _ = drain(&mut s, &mut |e| {
            if let ServerEvent::MessageEnd(f) = e {
                found = Some(*f);
            }
            accept_all(e)
        });
        found.expect("the message ended")
    };
    let long = "Subject: a line of text long enough for whole blocks\r\n".repeat(8);
    for bdat in [false, true] {
        let f = findings(long.as_bytes(), bdat);
        assert!(!f.eight_bit && !f.nul && !f.bare_line_ending, "{f:?}");
        assert_eq!(f.size, long.len() as u64);
        for odd in [&b"caf\xc3\xa9"[..], b"nul \x00 here"] {
            for at in [0, long.len() / 2] {
                let mut body = long.clone().into_bytes();
                body.splice(at..at, odd.iter().copied());
                let f = findings(&body, bdat);
                assert_eq!(f.eight_bit, odd[3] >= 0x80, "{odd:?} at {at}, bdat {bdat}");
                assert_eq!(f.nul, odd.contains(&0), "{odd:?} at {at}, bdat {bdat}");
            }
        }
    }
}

/// Mutation-testing find: AUTH LOGIN with an empty user name is malformed.
#[test]
fn auth_login_with_an_empty_user_name_is_refused() {
    let mut config = ServerConfig::new("mx.test");
    config.extensions.auth = alloc::vec![crate::wire::sasl::Mechanism::Login];
    config.auth_without_tls = true;
    let out = after_ehlo(config, b"AUTH LOGIN\r\n\r\n");
    assert!(out.starts_with("334 VXNlcm5hbWU6\r\n"), "{out}");
    assert!(
        out.ends_with("535 5.7.8 Error: malformed authentication data\r\n"),
        "{out}"
    );
}

/// Mutation-testing find: the application's own reply to HELO is used.
#[test]
fn helo_accepted_with_a_custom_reply() {
    let mut s = session(ServerConfig::new("mx.test"));
    feed(&mut s, b"HELO c.test\r\n");
    let out = text(&drain(&mut s, &mut |e| match e {
        ServerEvent::Hello { .. } => Some(Decision::AcceptWith(Reply::new(
            ReplyCode::new(250).unwrap(),
            None,
            "mx.test greets c.test",
        ))),
        e => accept_all(e),
    }));
    assert!(out.ends_with("250 mx.test greets c.test\r\n"), "{out}");
}

/// Mutation-testing find: refusing an OAuth token with 421 closes at once,
/// without the error-challenge exchange of RFC 7628 §3.2.2.
#[test]
fn oauth_refused_with_421_closes_without_a_challenge() {
    let mut config = ServerConfig::new("mx.test");
    config.extensions.auth = alloc::vec![crate::wire::sasl::Mechanism::XOAuth2];
    config.auth_without_tls = true;
    let mut s = session(config);
    feed(&mut s, b"EHLO c.test\r\n");
    let _ = drain(&mut s, &mut accept_all);
    // user=u^Aauth=Bearer t^A^A
    feed(&mut s, b"AUTH XOAUTH2 dXNlcj11AWF1dGg9QmVhcmVyIHQBAQ==\r\n");
    let out = text(&drain(&mut s, &mut |e| match e {
        ServerEvent::Auth { .. } => Some(Decision::Reject(Reply::new(
            ReplyCode::new(421).unwrap(),
            None,
            "shutting down",
        ))),
        e => accept_all(e),
    }));
    assert_eq!(out, "421 4.0.0 shutting down\r\n");
    assert!(s.is_closed());
}

/// RFC 5321 §3.8: a shutdown in the middle of a message answers 421, abandons
/// the transaction (its content is never committed) and closes for good.
#[test]
fn shutdown_mid_message_answers_421_and_resets() {
    let mut s = session(ServerConfig::new("mx.example"));
    drain(&mut s, &mut accept_all);
    feed(
        &mut s,
        b"EHLO c.example\r\nMAIL FROM:<a@c.example>\r\nRCPT TO:<b@mx.example>\r\nDATA\r\n",
    );
    drain(&mut s, &mut accept_all);
    feed(&mut s, b"Subject: half a message\r\n");
    let mut events = Vec::new();
    drain(&mut s, &mut |e| {
        events.push(e.clone());
        None
    });
    s.handle_shutdown(Instant::ZERO).unwrap();
    let mut after = Vec::new();
    let out = drain(&mut s, &mut |e| {
        after.push(e.clone());
        None
    });
    assert_eq!(text(&out), "421 4.3.2 mx.example Service shutting down\r\n");
    assert_eq!(after, [ServerEvent::TransactionReset]);
    assert!(s.is_closed());
    assert_eq!(s.poll_output(), Output::Close);
    assert_eq!(s.handle_shutdown(Instant::ZERO), Err(ApiMisuse::Closed));
    assert_eq!(
        s.respond(Instant::ZERO, Decision::Accept),
        Err(ApiMisuse::Closed)
    );
}

/// A decision the application has not been asked for yet is dropped at
/// shutdown: nobody will answer it, and nothing but the 421 is written.
#[test]
fn shutdown_drops_a_decision_not_handed_out() {
    let mut s = session(ServerConfig::new("mx.example"));
    s.handle_shutdown(Instant::ZERO).unwrap();
    assert!(
        matches!(s.poll_output(), Output::Transmit(b) if b[..] == b"421 4.3.2 mx.example Service shutting down\r\n"[..])
    );
    assert_eq!(s.poll_output(), Output::Close);
}

#[test]
fn plain_greeting_and_capabilities_are_what_the_built_replies_encode_to() {
    use crate::wire::sasl::Mechanism;
    let mut configs = Vec::new();
    for host in ["mx.test", "163.example", "2.0.0", "a b", "bad\x01host", ""] {
        for (lmtp, tls, auth, all) in [
            (false, false, false, false),
            (true, false, false, true),
            (false, true, true, true),
            (false, false, true, false),
        ] {
            let mut c = ServerConfig::new(host);
            if lmtp {
                c.protocol = crate::Protocol::Lmtp;
            }
            if all {
                c.extensions.chunking = true;
                c.extensions.binary_mime = true;
                c.extensions.dsn = true;
                c.extensions.smtputf8 = true;
                c.extensions.starttls = true;
                c.extensions.requiretls = true;
                c.max_message_size = None;
            }
            if auth {
                c.extensions.auth = alloc::vec![Mechanism::Plain, Mechanism::Login];
                c.auth_without_tls = true;
            }
            c.banner = (host == "mx.test" && tls).then(|| "Hello there".to_string());
            configs.push((c, tls));
        }
    }
    for (config, tls) in configs {
        let s = if tls {
            ServerSession::new_tls(Arc::new(config.clone()), Instant::ZERO)
        } else {
            session(config.clone())
        };
        let mut fast = s;
        fast.out.clear();
        fast.send_capabilities();
        let mut want = Vec::new();
        fast.capabilities().encode(&mut want);
        assert_eq!(&fast.out[..], &want[..], "{config:?}");
        fast.out.clear();
        let banner = match (&config.banner, config.protocol) {
            (Some(b), _) => b.clone(),
            (None, crate::Protocol::Smtp) => "ESMTP".to_string(),
            (None, crate::Protocol::Lmtp) => "LMTP".to_string(),
        };
        let built = Reply::new(
            ReplyCode::new(220).unwrap(),
            None,
            &alloc::format!("{} {banner}", config.hostname),
        );
        if fast.send_plain_greeting() {
            assert_eq!(&fast.out[..], &built.to_bytes()[..], "{config:?}");
        } else {
            assert!(fast.out.is_empty());
        }
    }
}
