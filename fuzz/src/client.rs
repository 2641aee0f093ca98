//! A `ClientSession` against an arbitrary server byte stream.
//!
//! The input is a configuration byte followed by ops: server bytes delivered in a
//! chunk, time passing, end of input, and application calls (`send_mail` with an
//! envelope from a fixed table, `body` with fuzzer bytes, `end_body`, `rset`,
//! `noop`, `quit`). The harness is a correct adapter: it drains `poll_output`
//! after every op and completes a TLS upgrade whenever one is asked for.
//!
//! Invariants asserted:
//! * no panic, and `poll_output` reaches `Wait` within a bounded number of calls;
//! * nothing is transmitted after `Close`;
//! * **nothing the server sent is ever echoed into what the client writes**: the
//!   byte `0xFE` in server data is replaced by the canary `ZQXJ`, which appears
//!   nowhere in the client's own inputs (envelopes from a fixed table, names,
//!   credentials, and bodies whose `Z`s are lowered), so the client's output must
//!   never contain it — not from reply text, EHLO keywords, AUTH mechanism names
//!   or SASL challenges;
//! * every line the client writes outside message content is a command that
//!   `parse_command` accepts, or a SASL response (base64 or `*`).
//!
//! Memory is bounded by libFuzzer's `-rss_limit_mb`: the client keeps at most one
//! reply's worth of lines (its configured limits) plus its body buffer.

use std::sync::Arc;
use std::time::Duration;

use smtp_proto::client::{ClientConfig, ClientSession, Envelope, TlsPolicy};
use smtp_proto::wire::sasl::Credentials;
use smtp_proto::output::Output;
use smtp_proto::time::Instant;

use crate::input::Input;

const CANARY: &[u8] = b"ZQXJ";

const SENDERS: [&str; 4] = [
    "<a@client.test>",
    "<>",
    "<b.c@[192.0.2.1]>",
    "<用户@例子.广告>",
];
const RECIPIENTS: [&str; 4] = ["<x@mx.test>", "<Postmaster>", "<y@mx.test>", "<ü@mx.test>"];

fn config(flags: u8) -> ClientConfig {
    let mut c = ClientConfig::new("client.test").expect("valid name");
    c.tls = match flags & 3 {
        0 => TlsPolicy::Disabled,
        1 => TlsPolicy::Required,
        _ => TlsPolicy::Opportunistic,
    };
    c.credentials = match (flags >> 2) & 3 {
        0 => None,
        1 => Some(Credentials::password("user", "secret")),
        2 => Some(Credentials::bearer("user@client.test", "token123")),
        _ => Some(Credentials::bearer_without_user("token456")),
    };
    c.auth_without_tls = flags & 0x10 != 0;
    c.use_pipelining = flags & 0x20 != 0;
    c.use_chunking = flags & 0x40 != 0;
    if flags & 0x80 != 0 {
        c.bdat_chunk_size = 7;
        c.max_body_buffer = 64;
    }
    c
}

struct Harness {
    session: ClientSession,
    now: Instant,
    sent: Vec<u8>,
    closed: bool,
}

impl Harness {
    fn drain(&mut self) {
        for _ in 0..100_000 {
            match self.session.poll_output() {
                Output::Transmit(bytes) => {
                    assert!(!self.closed, "Transmit after Close");
                    self.sent.extend_from_slice(&bytes);
                }
                Output::StartTls => {
                    let _ = self.session.handle_tls_established(self.now);
                }
                Output::Close => {
                    self.closed = true;
                    return;
                }
                Output::Wait { .. } => return,
                Output::Event(_) => {}
                _ => {}
            }
        }
        panic!("poll_output never reached Wait");
    }
}

/// Runs one input; see the module documentation.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let flags = input.u8();
    let mut h = Harness {
        session: if flags & 0x08 != 0 && flags & 0x04 == 0 {
            ClientSession::new_tls(Arc::new(config(flags)), Instant::ZERO)
        } else {
            ClientSession::new(Arc::new(config(flags)), Instant::ZERO)
        },
        now: Instant::ZERO,
        sent: Vec::new(),
        closed: false,
    };
    h.drain();
    while !input.is_empty() {
        let op = input.u8();
        match op % 10 {
            0..=3 => {
                let n = usize::from(input.u8()) + 1;
                let mut bytes = Vec::with_capacity(n + 8);
                for &b in input.bytes(n) {
                    if b == 0xfe {
                        bytes.extend_from_slice(CANARY);
                    } else {
                        bytes.push(b);
                    }
                }
                // What does not fit is dropped: the harness is a peer that
                // the client stopped reading from.
                let taken = h.session.handle_bytes(h.now, &bytes);
                assert!(taken.is_err() == h.session.is_closed());
                assert!(taken.is_ok_and(|n| n <= bytes.len()) || h.session.is_closed());
            }
            4 => {
                h.now = h.now + Duration::from_secs(u64::from(input.u16()));
                let _ = h.session.handle_timeout(h.now);
            }
            5 => {
                let from = SENDERS[usize::from(input.u8()) % SENDERS.len()];
                let count = usize::from(input.u8() % 4);
                let to: Vec<&str> = (0..count)
                    .map(|i| RECIPIENTS[(usize::from(op) + i) % RECIPIENTS.len()])
                    .collect();
                if let Ok(mut env) = Envelope::parse(from, to) {
                    env.smtputf8 = !from.is_ascii();
                    env.size = (op & 0x80 != 0).then_some(u64::from(input.u16()));
                    let _ = h.session.send_mail(h.now, env);
                }
            }
            6 => {
                let n = usize::from(input.u8());
                let body: Vec<u8> = input
                    .bytes(n)
                    .iter()
                    .map(|&b| if b == b'Z' { b'z' } else { b })
                    .collect();
                let _ = h.session.body(h.now, &body);
            }
            7 => {
                let _ = match input.u8() % 4 {
                    0 => h.session.end_body(h.now).map_err(|_| ()),
                    1 => h.session.rset(h.now).map_err(|_| ()),
                    2 => h.session.noop(h.now).map_err(|_| ()),
                    _ => h.session.quit(h.now).map_err(|_| ()),
                };
            }
            8 => {
                let _ = h.session.handle_eof(h.now);
            }
            _ => {
                let _ = h.session.end_body(h.now);
            }
        }
        h.drain();
    }
    assert!(
        !h.sent.windows(CANARY.len()).any(|w| w == CANARY),
        "the client wrote bytes the server sent: {:?}",
        String::from_utf8_lossy(&h.sent)
    );
}
