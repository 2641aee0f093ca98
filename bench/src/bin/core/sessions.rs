//! Whole sessions in memory: our `ServerSession` beside the `mailin` crate's
//! `Session`, both fed the same dialogue (EHLO, then 50 transactions of a
//! 1 KiB message, then QUIT), every decision accepted at once; our
//! `ClientSession` sending the same 50 messages with canned replies; and the
//! allocations per message of both servers, counted by the bin's allocator.
//!
//! The dialogue comes in the reads a well-behaved pipelining client causes
//! (RFC 2920 §3.1: DATA ends a group, the client waits for 354): the EHLO line,
//! then per transaction `MAIL`, `RCPT` and `DATA` in one read and the content
//! (dot-stuffed, with its final `.`) in one read, then `QUIT`. mailin takes one
//! line at a time, so its driver splits each read on LF with `memchr`, as a
//! mailin server does, carrying a line cut by a read over to the next (data
//! lines too); it gets the lines as slices of the read (a `BufRead::read_until`
//! server would also copy each one). Its replies are written into one reused
//! buffer; our `Transmit`s are dropped.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use mailin::{Action, Handler, Response, SessionBuilder};
use smtp_bench::{Plan, Record, corpus, keep, throughput};
use smtp_proto::client::{ClientConfig, ClientEvent, ClientSession, Envelope};
use smtp_proto::output::Output;
use smtp_proto::server::{Decision, ServerConfig, ServerEvent, ServerSession};
use smtp_proto::time::Instant;

const NOW: Instant = Instant::ZERO;
const MAILIN: &str = "mailin 0.6.5 Session";
/// Transactions per dialogue.
pub const MESSAGES: usize = 50;

const EHLO: &[u8] = b"EHLO client.example.org\r\n";
const PIPELINE: &[u8] =
    b"MAIL FROM:<sender.name@client.example.org> BODY=8BITMIME\r\nRCPT TO:<recipient@mx.example.net>\r\nDATA\r\n";
const QUIT: &[u8] = b"QUIT\r\n";

/// The client's side of the dialogue: its configuration, the envelope and
/// the 1 KiB body it sends each time.
fn client_dialogue() -> (Arc<ClientConfig>, Envelope, Vec<u8>) {
    let config = Arc::new(ClientConfig::new("client.example.org").expect("a domain"));
    let env = Envelope::parse(
        "<sender.name@client.example.org>",
        ["<recipient@mx.example.net>"],
    )
    .expect("valid");
    (config, env, body(1024))
}

/// A text body of about `size` octets (CRLF lines, some starting with a dot).
fn body(size: usize) -> Vec<u8> {
    corpus::text(
        size,
        b"From: sender.name@client.example.org\r\nTo: recipient@mx.example.net\r\nSubject: benchmark\r\n\r\n",
        7,
        b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do.\r\n",
    )
}

/// The body as DATA content: dot-stuffed, with the `.` line.
fn data_content(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 64);
    for line in body.split_inclusive(|&b| b == b'\n') {
        if line[0] == b'.' {
            out.push(b'.');
        }
        out.extend_from_slice(line);
    }
    out.extend_from_slice(b".\r\n");
    out
}

/// The client's side of a dialogue of `messages` transactions of a body of
/// `size` octets, as the reads the server gets; content longer than `read`
/// comes in several reads.
pub struct Dialogue {
    pub reads: Vec<Vec<u8>>,
    pub messages: usize,
    /// Octets of each message body (after unstuffing).
    pub body_len: usize,
}

impl Dialogue {
    pub fn new(messages: usize, size: usize, read: usize) -> Dialogue {
        let body = body(size);
        let content = data_content(&body);
        let mut reads = vec![EHLO.to_vec()];
        for _ in 0..messages {
            reads.push(PIPELINE.to_vec());
            for piece in content.chunks(read) {
                reads.push(piece.to_vec());
            }
        }
        reads.push(QUIT.to_vec());
        Dialogue {
            reads,
            messages,
            body_len: body.len(),
        }
    }
}

// ---------------------------------------------------------------------------
// Our server.

/// What a server run saw: messages accepted, content octets, reply octets.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    pub messages: usize,
    pub content: usize,
    pub replies: usize,
    pub closed: bool,
}

fn drain_ours(s: &mut ServerSession, seen: &mut Seen) {
    loop {
        match s.poll_output() {
            Output::Transmit(bytes) => seen.replies += bytes.len(),
            Output::Event(event) => {
                match &event {
                    ServerEvent::MessageData(bytes) => seen.content += bytes.len(),
                    ServerEvent::MessageEnd(_) => seen.messages += 1,
                    _ => {}
                }
                if event.needs_decision() {
                    s.respond(NOW, Decision::Accept)
                        .expect("a pending decision");
                }
            }
            Output::Wait { .. } => return,
            Output::Close => {
                seen.closed = true;
                return;
            }
            _ => panic!("unexpected output"),
        }
    }
}

/// One whole dialogue through a new `ServerSession`.
pub fn ours(config: &Arc<ServerConfig>, d: &Dialogue) -> Seen {
    let mut seen = Seen::default();
    let mut s = ServerSession::new(config.clone(), NOW);
    drain_ours(&mut s, &mut seen);
    for read in &d.reads {
        let mut rest = &read[..];
        while !rest.is_empty() {
            let n = s.handle_bytes(NOW, rest).expect("open");
            rest = &rest[n..];
            drain_ours(&mut s, &mut seen);
        }
    }
    seen
}

// ---------------------------------------------------------------------------
// mailin.

/// Accepts everything (mailin's defaults do) and counts what it gets.
#[derive(Default)]
struct Accepting {
    messages: usize,
    content: usize,
}

impl Handler for &mut Accepting {
    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.content += buf.len();
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        self.messages += 1;
        mailin::response::OK
    }
}

/// One whole dialogue through a new mailin `Session`, lines split on LF.
pub fn mailin(builder: &SessionBuilder, d: &Dialogue, out: &mut Vec<u8>) -> Seen {
    let mut handler = Accepting::default();
    let mut seen = Seen::default();
    let mut session = builder.build(IpAddr::V4(Ipv4Addr::LOCALHOST), &mut handler);
    out.clear();
    let _ = session.greeting().write_to(out);
    // A line cut by the end of a read waits here for its end.
    let mut carry: Vec<u8> = Vec::new();
    let respond = |response: Response, out: &mut Vec<u8>, seen: &mut Seen| {
        if response.action != Action::NoReply {
            let _ = response.write_to(out);
        }
        if response.action == Action::Close {
            seen.closed = true;
        }
    };
    'reads: for read in &d.reads {
        let mut rest = &read[..];
        while let Some(i) = memchr::memchr(b'\n', rest) {
            let (line, tail) = rest.split_at(i + 1);
            rest = tail;
            let response = if carry.is_empty() {
                session.process(line)
            } else {
                carry.extend_from_slice(line);
                let r = session.process(&carry);
                carry.clear();
                r
            };
            respond(response, out, &mut seen);
            if seen.closed {
                break 'reads;
            }
        }
        carry.extend_from_slice(rest);
        // The replies to this read go out (a flush), the buffer is reused.
        seen.replies += out.len();
        out.clear();
    }
    seen.replies += out.len();
    drop(session);
    seen.messages = handler.messages;
    seen.content = handler.content;
    seen
}

// ---------------------------------------------------------------------------
// Our client.

const GREETING: &[u8] = b"220 mx.example.net ESMTP\r\n";
const EHLO_REPLY: &[u8] = b"250-mx.example.net\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SIZE 104857600\r\n250 ENHANCEDSTATUSCODES\r\n";
const PIPELINE_REPLIES: &[u8] =
    b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n";
const QUEUED: &[u8] = b"250 2.0.0 Ok: queued as 1234\r\n";
const BYE: &[u8] = b"221 2.0.0 Bye\r\n";

/// What a client run saw: messages delivered, octets written.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    pub delivered: usize,
    pub written: usize,
    pub closed: bool,
}

struct App<'a> {
    body: &'a [u8],
    ended: bool,
    ready: bool,
    sent: Sent,
}

fn drain_client(c: &mut ClientSession, app: &mut App) {
    loop {
        match c.poll_output() {
            Output::Transmit(bytes) => app.sent.written += bytes.len(),
            Output::Event(ClientEvent::BodyWanted) => {
                if !app.ended {
                    let n = c.body(NOW, app.body).expect("a message is open");
                    app.body = &app.body[n..];
                    if app.body.is_empty() {
                        c.end_body(NOW).expect("a message is open");
                        app.ended = true;
                    }
                }
            }
            Output::Event(ClientEvent::Ready(_)) => app.ready = true,
            Output::Event(ClientEvent::TransactionComplete(r)) => {
                assert!(r.all_delivered());
                app.sent.delivered += 1;
            }
            Output::Event(other) => panic!("{other:?}"),
            Output::Wait { .. } => return,
            Output::Close => {
                app.sent.closed = true;
                return;
            }
            _ => panic!("unexpected output"),
        }
    }
}

fn feed_client(c: &mut ClientSession, mut input: &[u8], app: &mut App) {
    while !input.is_empty() {
        let n = c.handle_bytes(NOW, input).expect("open");
        input = &input[n..];
        drain_client(c, app);
    }
}

/// One whole dialogue through a new `ClientSession`: greeting, EHLO, then
/// `messages` transactions of `body` (each envelope a clone of `env`), QUIT.
pub fn client(config: &Arc<ClientConfig>, env: &Envelope, body: &[u8], messages: usize) -> Sent {
    let mut c = ClientSession::new(config.clone(), NOW);
    let mut app = App {
        body: b"",
        ended: true,
        ready: false,
        sent: Sent::default(),
    };
    drain_client(&mut c, &mut app);
    feed_client(&mut c, GREETING, &mut app);
    feed_client(&mut c, EHLO_REPLY, &mut app);
    assert!(app.ready, "the client is ready");
    for _ in 0..messages {
        app.body = body;
        app.ended = false;
        c.send_mail(NOW, env.clone()).expect("idle");
        drain_client(&mut c, &mut app);
        feed_client(&mut c, PIPELINE_REPLIES, &mut app);
        while !app.ended {
            let n = c.body(NOW, app.body).expect("a message is open");
            app.body = &app.body[n..];
            if app.body.is_empty() {
                c.end_body(NOW).expect("a message is open");
                app.ended = true;
            }
            drain_client(&mut c, &mut app);
        }
        feed_client(&mut c, QUEUED, &mut app);
    }
    c.quit(NOW).expect("open");
    drain_client(&mut c, &mut app);
    feed_client(&mut c, BYE, &mut app);
    app.sent
}

// ---------------------------------------------------------------------------
// The records.

pub fn server_config() -> Arc<ServerConfig> {
    Arc::new(ServerConfig::new("mx.example.net"))
}

pub fn mailin_builder() -> SessionBuilder {
    SessionBuilder::new("mx.example.net")
}

/// Runs both servers once and checks they accepted every message whole.
pub fn check_servers(config: &Arc<ServerConfig>, builder: &SessionBuilder, d: &Dialogue) {
    let a = ours(config, d);
    let b = mailin(builder, d, &mut Vec::new());
    for (who, seen) in [("ours", a), ("mailin", b)] {
        assert_eq!(seen.messages, d.messages, "{who}: every message accepted");
        assert_eq!(
            seen.content,
            d.messages * d.body_len,
            "{who}: every body whole"
        );
        assert!(seen.closed, "{who}: QUIT closed the session");
        assert!(seen.replies > 0);
    }
}

pub fn records(plan: Plan) -> Vec<Record> {
    let config = server_config();
    let builder = mailin_builder();
    let d = Dialogue::new(MESSAGES, 1024, 64 * 1024);
    check_servers(&config, &builder, &d);
    let mut out = Vec::with_capacity(4096);
    let server = throughput(
        plan,
        "server session, 50 pipelined 1 KiB transactions",
        "messages/s",
        MESSAGES as f64,
        MAILIN,
        Some(1.5),
        &mut || {
            keep(ours(&config, keep(&d)));
        },
        &mut || {
            keep(mailin(&builder, keep(&d), &mut out));
        },
    );

    let (client_config, env, body) = client_dialogue();
    let sent = client(&client_config, &env, &body, MESSAGES);
    assert_eq!(sent.delivered, MESSAGES, "every message delivered");
    assert!(sent.closed);
    let client = throughput(
        plan,
        "client session, same dialogue (vs our server)",
        "messages/s",
        MESSAGES as f64,
        "our ServerSession",
        None,
        &mut || {
            keep(client(&client_config, keep(&env), keep(&body), MESSAGES));
        },
        &mut || {
            keep(ours(&config, keep(&d)));
        },
    );
    vec![server, client]
}

/// Allocations per message of a whole dialogue (new session, EHLO, the
/// transactions, QUIT), counted by `count`, which runs its argument with the
/// counting allocator on and gives the number of allocations.
pub fn allocation_records(count: &dyn Fn(&mut dyn FnMut()) -> u64) -> Vec<Record> {
    let config = server_config();
    let builder = mailin_builder();
    let mut out = Vec::with_capacity(64 * 1024);
    let mut records = Vec::new();
    let mut per_message = |d: &Dialogue| {
        check_servers(&config, &builder, d);
        // Warm the reply buffer to what the dialogue needs.
        mailin(&builder, d, &mut out);
        let a = count(&mut || {
            keep(ours(&config, d));
        });
        let b = count(&mut || {
            keep(mailin(&builder, d, &mut out));
        });
        (
            a as f64 / d.messages as f64,
            b as f64 / d.messages as f64,
            a,
            b,
        )
    };
    let record = |name: &str, target: Option<f64>, ours: f64, peer: f64| Record {
        name: name.into(),
        ours,
        peer,
        unit: "allocations/message".into(),
        peer_name: MAILIN.into(),
        ratio: ours / peer,
        target,
        higher_is_better: false,
        rounds: 1,
    };
    let small = per_message(&Dialogue::new(MESSAGES, 1024, 64 * 1024));
    let small2 = per_message(&Dialogue::new(2 * MESSAGES, 1024, 64 * 1024));
    // 64 KiB messages: 30 times the content lines, two reads each.
    let large = per_message(&Dialogue::new(MESSAGES, 64 * 1024, 64 * 1024));
    // The target is absolute, ours <= 8; as a bound on the ratio to
    // mailin that is 8 / mailin's figure.
    records.push(record(
        "server allocations per message, whole dialogue / 50 (target: ours <= 8 absolute, shown as ratio <= 8/mailin)",
        Some(8.0 / small.1),
        small.0,
        small.1,
    ));
    records.push(record(
        "server allocations per message, steady state (100 vs 50 transactions)",
        None,
        (small2.2 - small.2) as f64 / MESSAGES as f64,
        (small2.3 - small.3) as f64 / MESSAGES as f64,
    ));
    records.push(record(
        "server allocations per message, 64 KiB messages (vs 1 KiB: none per content line)",
        None,
        large.0,
        large.1,
    ));
    // The client on the same dialogue, beside our server; the envelope clone
    // each message takes (the application's work) is counted apart.
    let (client_config, env, body) = client_dialogue();
    keep(client(&client_config, &env, &body, MESSAGES));
    let total = count(&mut || {
        keep(client(&client_config, &env, &body, MESSAGES));
    });
    let clones = count(&mut || {
        for _ in 0..MESSAGES {
            keep(env.clone());
        }
    });
    let mut r = record(
        "client allocations per message, whole dialogue / 50, envelope clones not counted (vs our server)",
        None,
        (total - clones) as f64 / MESSAGES as f64,
        small.0,
    );
    r.peer_name = "our ServerSession".into();
    records.push(r);
    records
}

/// Runs one side alone for `secs` seconds, for a profiler (`--profile WHO`:
/// `server`, `mailin` or `client`).
pub fn profile(who: &str, secs: f64) {
    let config = server_config();
    let builder = mailin_builder();
    let d = Dialogue::new(MESSAGES, 1024, 64 * 1024);
    let (client_config, env, body) = client_dialogue();
    let mut out = Vec::new();
    let mut f: Box<dyn FnMut()> = match who {
        "server" => Box::new(|| {
            keep(ours(&config, keep(&d)));
        }),
        "mailin" => Box::new(|| {
            keep(mailin(&builder, keep(&d), &mut out));
        }),
        "client" => Box::new(|| {
            keep(client(&client_config, keep(&env), keep(&body), MESSAGES));
        }),
        _ => panic!("--profile server|mailin|client"),
    };
    let rate = smtp_bench::rate(std::time::Duration::from_secs_f64(secs), &mut *f);
    println!("{who}: {:.0} messages/s", rate * MESSAGES as f64);
}
