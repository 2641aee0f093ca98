//! Property tests of the server session: whatever the client sends and however
//! it is split, the session never panics, keeps its buffers bounded, always
//! comes back to `Wait`, and produces the same bytes and events for every
//! chunking of the same input (ARCHITECTURE.md R7).

use std::sync::Arc;

use proptest::prelude::*;
use smtp_proto::output::Output;
use smtp_proto::reply::{Reply, ReplyCode};
use smtp_proto::server::{Decision, ServerConfig, ServerEvent, ServerSession};
use smtp_proto::time::Instant;

/// Pieces of SMTP, valid and not, that the generator strings together.
fn piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"EHLO c.test\r\n".to_vec()),
        Just(b"HELO c.test\r\n".to_vec()),
        Just(b"MAIL FROM:<a@c.test>\r\n".to_vec()),
        Just(b"MAIL FROM:<a@c.test> SIZE=100 BODY=8BITMIME\r\n".to_vec()),
        Just(b"RCPT TO:<b@mx.test>\r\n".to_vec()),
        Just(b"RCPT TO:<c@mx.test> NOTIFY=NEVER\r\n".to_vec()),
        Just(b"DATA\r\n".to_vec()),
        Just(b"Subject: x\r\n\r\nbody\r\n.\r\n".to_vec()),
        Just(b"line\n.\nsmuggled\r\n.\r\n".to_vec()),
        Just(b"BDAT 5\r\nhello".to_vec()),
        Just(b"BDAT 3 LAST\r\nxyz".to_vec()),
        Just(b"RSET\r\n".to_vec()),
        Just(b"NOOP\r\n".to_vec()),
        Just(b"VRFY x\r\n".to_vec()),
        Just(b"STARTTLS\r\n".to_vec()),
        Just(b"AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n".to_vec()),
        Just(b"AUTH LOGIN\r\n".to_vec()),
        Just(b"dGlt\r\n".to_vec()),
        Just(b"*\r\n".to_vec()),
        Just(b"QUIT\r\n".to_vec()),
        Just(b"GET / HTTP/1.1\r\n".to_vec()),
        prop::collection::vec(any::<u8>(), 0..40),
        "[ -~]{0,30}\r\n".prop_map(String::into_bytes),
    ]
}

fn config(flags: u8) -> ServerConfig {
    let mut c = ServerConfig::new("mx.test");
    c.max_message_size = Some(200);
    c.max_errors = 10;
    c.max_input_buffer = 1024;
    c.extensions.starttls = flags & 1 != 0;
    c.extensions.auth = vec![
        smtp_proto::wire::sasl::Mechanism::Plain,
        smtp_proto::wire::sasl::Mechanism::Login,
    ];
    c.auth_without_tls = flags & 2 != 0;
    c.extensions.pipelining = flags & 4 != 0;
    c.extensions.chunking = flags & 8 != 0;
    c
}

/// Decisions depend only on the event, so they do not depend on chunking.
fn decide(event: &ServerEvent) -> Option<Decision> {
    let no = || Decision::Reject(Reply::new(ReplyCode::new(550).unwrap(), None, "no"));
    match event {
        ServerEvent::RcptTo { to, .. } if to.to_string().contains("c@") => Some(no()),
        ServerEvent::Auth { .. } => Some(no()),
        ServerEvent::Connected
        | ServerEvent::Hello { .. }
        | ServerEvent::MailFrom { .. }
        | ServerEvent::RcptTo { .. }
        | ServerEvent::DataStart
        | ServerEvent::MessageEnd(_) => Some(Decision::Accept),
        _ => None,
    }
}

/// Runs the input split at `cuts`; returns everything observable.
fn run(flags: u8, input: &[u8], chunk_sizes: &[usize]) -> (Vec<u8>, Vec<String>) {
    let config = config(flags);
    let capacity = config.max_input_buffer.max(12288);
    let mut s = ServerSession::new(Arc::new(config), Instant::ZERO);
    let (mut sent, mut events) = (Vec::new(), Vec::new());
    let mut closed = false;
    let mut rest = input;
    let mut sizes = chunk_sizes.iter().cycle();
    loop {
        let mut wants_read = false;
        for _ in 0..100_000 {
            match s.poll_output() {
                Output::Transmit(b) => {
                    assert!(!closed, "output after Close");
                    sent.extend_from_slice(&b);
                }
                Output::Event(e) => {
                    if !matches!(e, ServerEvent::MessageData(_)) {
                        events.push(format!("{e:?}"));
                    }
                    if let Some(d) = decide(&e) {
                        s.respond(Instant::ZERO, d).unwrap();
                    }
                }
                Output::StartTls => {
                    // Whatever the client sent after STARTTLS was plaintext that a
                    // TLS layer would never deliver: the upgraded stream starts empty.
                    rest = &[];
                    s.handle_tls_established(Instant::ZERO).unwrap();
                }
                Output::Close => {
                    closed = true;
                    break;
                }
                Output::Wait { wants_read: w, .. } => {
                    wants_read = w;
                    break;
                }
                _ => unreachable!(),
            }
        }
        if rest.is_empty() || !wants_read || closed {
            break;
        }
        let n = (*sizes.next().unwrap()).clamp(1, rest.len());
        let taken = s.handle_bytes(Instant::ZERO, &rest[..n]).expect("open");
        assert!(taken > 0, "wanted input but took none");
        rest = &rest[taken..];
        assert!(
            s.buffered_input() <= capacity,
            "input buffer grew past its bound"
        );
    }
    (sent, events)
}

const SYNC: &[u8] = b"Error: SMTP protocol synchronization\r\n";

/// Where the line carrying `needle` starts.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let at = haystack.windows(needle.len()).position(|w| w == needle)?;
    Some(
        haystack[..at]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn chunking_never_changes_the_outcome(
        flags in any::<u8>(),
        pieces in prop::collection::vec(piece(), 0..25),
        sizes in prop::collection::vec(1usize..40, 1..10),
    ) {
        let input: Vec<u8> = pieces.concat();
        let whole = run(flags, &input, &[usize::MAX]);
        let split = run(flags, &input, &sizes);
        let bytewise = run(flags, &input, &[1]);
        // The one timing rule (RFC 2920 §3.1): input that had already arrived
        // behind a refused DATA ends the session with a synchronization error.
        // Whether it had arrived depends on the reads, so the runs agree up to
        // that reply, and a run that does not see the error never differs
        // before it either.
        let cut = [&whole, &split, &bytewise]
            .iter()
            .filter_map(|(sent, _)| find(sent, SYNC))
            .min();
        match cut {
            Some(cut) => {
                prop_assert_eq!(&whole.0[..cut], &split.0[..cut]);
                prop_assert_eq!(&whole.0[..cut], &bytewise.0[..cut]);
            }
            None => {
                prop_assert_eq!(&whole, &split);
                prop_assert_eq!(&whole, &bytewise);
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(flags in any::<u8>(), input in prop::collection::vec(any::<u8>(), 0..2000)) {
        let _ = run(flags, &input, &[7, 1, 64]);
    }
}
