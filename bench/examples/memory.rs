//! Memory figures of the sans-IO sessions, measured with a counting global
//! allocator: allocations and bytes per message on the server and client paths,
//! `Transmit`s per pipelined batch, heap growth under unpolled input, idle heap
//! after traffic, and the sizes of the session and event types.
//!
//! Run with `cargo run -j 1 --release --example memory` from `bench/`. It only
//! prints: it is a measurement, not a test.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};

use smtp_proto::client::{ClientConfig, ClientEvent, ClientSession, Envelope};
use smtp_proto::output::Output;
use smtp_proto::server::{Decision, ServerConfig, ServerEvent, ServerSession};
use smtp_proto::time::Instant;

// ---------------------------------------------------------------------------
// The counting allocator.

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

/// With `--trace`: allocations of at least `TRACE_MIN` octets made while
/// `TRACING` is on, with their backtraces, to find what an idle session holds.
static TRACING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
const TRACE_MIN: usize = 4096;
thread_local! {
    static IN_TRACE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static TRACED: std::cell::RefCell<Vec<(usize, usize, String)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// With `--sites`: every allocation of one steady-state client transaction,
/// counted by the innermost smtp_proto frame.
static SITES_ON: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
thread_local! {
    static SITES: std::cell::RefCell<Vec<(String, usize)>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn site_alloc(size: usize) {
    if !SITES_ON.load(Relaxed) || IN_TRACE.with(|t| t.replace(true)) {
        return;
    }
    let bt = std::backtrace::Backtrace::force_capture().to_string();
    let mut frames = bt.lines().filter(|l| {
        l.trim_start()
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit())
    });
    let site = frames
        .find(|l| l.contains("smtp_proto::") && !l.contains("smtp_proto::alloc"))
        .map_or_else(
            || "?".to_string(),
            |l| l.split_once(": ").map_or(l, |x| x.1).trim().to_string(),
        );
    SITES.with(|t| t.borrow_mut().push((site, size)));
    IN_TRACE.with(|t| t.set(false));
}

fn sites_report(what: &str, per: usize) {
    SITES_ON.store(false, Relaxed);
    let all = SITES.with(|t| std::mem::take(&mut *t.borrow_mut()));
    let mut by: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
    for (site, size) in all {
        let e = by.entry(site).or_default();
        e.0 += 1;
        e.1 += size;
    }
    let mut rows: Vec<_> = by.into_iter().collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.1.0));
    println!("   [sites {what}, per message: allocations / bytes / innermost smtp_proto frame]");
    for (site, (n, bytes)) in rows {
        println!(
            "      {:>6.2} {:>8.1}  {site}",
            n as f64 / per as f64,
            bytes as f64 / per as f64
        );
    }
}

fn trace_alloc(p: *mut u8, size: usize) {
    site_alloc(size);
    if size < TRACE_MIN || !TRACING.load(Relaxed) || IN_TRACE.with(|t| t.replace(true)) {
        return;
    }
    let bt = std::backtrace::Backtrace::force_capture().to_string();
    TRACED.with(|t| t.borrow_mut().push((p as usize, size, bt)));
    IN_TRACE.with(|t| t.set(false));
}

fn trace_free(p: *mut u8) {
    if !TRACING.load(Relaxed) || IN_TRACE.with(|t| t.replace(true)) {
        return;
    }
    TRACED.with(|t| t.borrow_mut().retain(|(q, _, _)| *q != p as usize));
    IN_TRACE.with(|t| t.set(false));
}

/// Prints the traced allocations still live (the frames in smtp_proto only).
fn trace_report(what: &str) {
    TRACING.store(false, Relaxed);
    let traced = TRACED.with(|t| std::mem::take(&mut *t.borrow_mut()));
    for (_, size, bt) in traced {
        println!("   [trace {what}] {size} bytes still live, allocated at:");
        let frames: Vec<&str> = bt
            .lines()
            .filter(|l| l.contains("smtp_proto") || l.contains("bytes::"))
            .collect();
        for f in frames.iter().take(12) {
            println!("      {}", f.trim());
        }
    }
}

fn trace_start() {
    if std::env::args().any(|a| a == "--trace") {
        TRACED.with(|t| t.borrow_mut().clear());
        TRACING.store(true, Relaxed);
    }
}

fn grow(n: usize) {
    let live = LIVE.fetch_add(n, Relaxed) + n;
    PEAK.fetch_max(live, Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            ALLOCS.fetch_add(1, Relaxed);
            BYTES.fetch_add(layout.size() as u64, Relaxed);
            grow(layout.size());
            trace_alloc(p, layout.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            ALLOCS.fetch_add(1, Relaxed);
            BYTES.fetch_add(layout.size() as u64, Relaxed);
            grow(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        trace_free(ptr);
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Relaxed);
    }
    /// A realloc counts as one allocation of the new size (and frees the old).
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            ALLOCS.fetch_add(1, Relaxed);
            BYTES.fetch_add(new_size as u64, Relaxed);
            LIVE.fetch_sub(layout.size(), Relaxed);
            grow(new_size);
            trace_free(ptr);
            trace_alloc(p, new_size);
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[derive(Clone, Copy)]
struct Snap {
    allocs: u64,
    bytes: u64,
    live: usize,
}

fn snap() -> Snap {
    Snap {
        allocs: ALLOCS.load(Relaxed),
        bytes: BYTES.load(Relaxed),
        live: LIVE.load(Relaxed),
    }
}

/// Resets the peak to the current live size and returns it.
fn reset_peak() -> usize {
    let live = LIVE.load(Relaxed);
    PEAK.store(live, Relaxed);
    live
}

fn live_delta(before: Snap) -> isize {
    LIVE.load(Relaxed) as isize - before.live as isize
}

// ---------------------------------------------------------------------------
// A per-call breakdown: allocations and bytes charged to each API call.

#[derive(Clone, Copy, PartialEq, Eq)]
enum Call {
    HandleBytes,
    PollTransmit,
    PollEvent,
    PollWait,
    Respond,
    SendMail,
    Body,
    EndBody,
}

const CALLS: [(Call, &str); 8] = [
    (Call::HandleBytes, "handle_bytes"),
    (Call::PollTransmit, "poll_output -> Transmit"),
    (Call::PollEvent, "poll_output -> Event"),
    (Call::PollWait, "poll_output -> Wait"),
    (Call::Respond, "respond"),
    (Call::SendMail, "send_mail"),
    (Call::Body, "body"),
    (Call::EndBody, "end_body"),
];

#[derive(Default, Clone, Copy)]
struct Cell {
    calls: u64,
    allocs: u64,
    bytes: u64,
}

#[derive(Default)]
struct Tally {
    cells: [Cell; 8],
}

impl Tally {
    fn charge(&mut self, call: Call, before: Snap) {
        let now = snap();
        let cell = &mut self.cells[call as usize];
        cell.calls += 1;
        cell.allocs += now.allocs - before.allocs;
        cell.bytes += now.bytes - before.bytes;
    }

    fn print(&self, title: &str, per: u64) {
        println!("  breakdown ({title}, per message; calls / allocations / bytes):");
        for (call, name) in CALLS {
            let c = self.cells[call as usize];
            if c.calls == 0 {
                continue;
            }
            println!(
                "    {name:<26} {:>6.2} calls  {:>6.2} allocs  {:>9.1} bytes",
                c.calls as f64 / per as f64,
                c.allocs as f64 / per as f64,
                c.bytes as f64 / per as f64
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Traffic.

const NOW: Instant = Instant::ZERO;
const PIPELINE: &[u8] = b"MAIL FROM:<a@client.test>\r\nRCPT TO:<b@mx.test>\r\nDATA\r\n";

/// A text body of `size` octets (CRLF lines, some starting with a dot), not stuffed.
fn body(size: usize) -> Vec<u8> {
    let mut m = smtp_bench::corpus::text(
        size,
        b"From: a@client.test\r\nTo: b@mx.test\r\nSubject: memory\r\n\r\n",
        7,
        b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do.\r\n",
    );
    m.truncate(size - 2);
    if m.last() == Some(&b'\r') {
        *m.last_mut().unwrap() = b'x'; // no bare CR
    }
    m.extend_from_slice(b"\r\n");
    m
}

/// The body as DATA content: dot-stuffed, with the `.` terminator line.
fn data_content(size: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for line in body(size).split_inclusive(|&b| b == b'\n') {
        if line[0] == b'.' {
            out.push(b'.');
        }
        out.extend_from_slice(line);
    }
    out.extend_from_slice(b".\r\n");
    out
}

// ---------------------------------------------------------------------------
// Server driving.

fn server() -> ServerSession {
    ServerSession::new(Arc::new(ServerConfig::new("mx.test")), NOW)
}

/// Drains until `Wait`, answering every decision with Accept and dropping every
/// Transmit and event at once. Returns the number of Transmits.
fn drain_server(s: &mut ServerSession, tally: &mut Tally) -> usize {
    let mut transmits = 0;
    loop {
        let before = snap();
        match s.poll_output() {
            Output::Transmit(bytes) => {
                drop(bytes);
                tally.charge(Call::PollTransmit, before);
                transmits += 1;
            }
            Output::Event(event) => {
                let decide = event.needs_decision();
                drop(event);
                tally.charge(Call::PollEvent, before);
                if decide {
                    let before = snap();
                    s.respond(NOW, Decision::Accept).expect("pending decision");
                    tally.charge(Call::Respond, before);
                }
            }
            Output::Wait { .. } => {
                tally.charge(Call::PollWait, before);
                return transmits;
            }
            Output::Close => panic!("server closed"),
            _ => panic!("unexpected output"),
        }
    }
}

/// Feeds `input` in reads of at most `read` octets, draining after each.
fn feed_server(s: &mut ServerSession, mut input: &[u8], read: usize, tally: &mut Tally) {
    while !input.is_empty() {
        let chunk = &input[..input.len().min(read)];
        let before = snap();
        let n = s.handle_bytes(NOW, chunk).expect("open");
        tally.charge(Call::HandleBytes, before);
        input = &input[n..];
        drain_server(s, tally);
    }
}

/// A server after its greeting and EHLO, waiting for MAIL.
fn server_after_ehlo(tally: &mut Tally) -> ServerSession {
    let mut s = server();
    drain_server(&mut s, tally);
    feed_server(&mut s, b"EHLO client.test\r\n", usize::MAX, tally);
    s
}

/// One transaction: the pipelined commands, then (after 354) the content in reads
/// of at most `read` octets.
fn server_transaction(s: &mut ServerSession, content: &[u8], read: usize, tally: &mut Tally) {
    feed_server(s, PIPELINE, usize::MAX, tally);
    feed_server(s, content, read, tally);
}

// ---------------------------------------------------------------------------
// Client driving.

const GREETING: &[u8] = b"220 mx.test ESMTP\r\n";
const EHLO_REPLY: &[u8] = b"250-mx.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SIZE 104857600\r\n250 ENHANCEDSTATUSCODES\r\n";
const PIPELINE_REPLIES: &[u8] =
    b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n";
const QUEUED: &[u8] = b"250 2.0.0 Ok: queued as 1234\r\n";

fn client_config() -> Arc<ClientConfig> {
    Arc::new(ClientConfig::new("client.test").expect("a domain"))
}

fn envelope() -> Envelope {
    Envelope::parse("<a@client.test>", ["<b@mx.test>"]).expect("valid")
}

/// The client's application for one transaction.
struct Sending<'a> {
    body: &'a [u8],
    read: usize,
    ended: bool,
    done: bool,
    ready: bool,
}

fn feed_body(c: &mut ClientSession, app: &mut Sending, tally: &mut Tally) {
    if app.ended {
        return;
    }
    let piece = &app.body[..app.body.len().min(app.read)];
    let before = snap();
    let n = c.body(NOW, piece).expect("a message is open");
    tally.charge(Call::Body, before);
    app.body = &app.body[n..];
    if app.body.is_empty() {
        let before = snap();
        c.end_body(NOW).expect("a message is open");
        tally.charge(Call::EndBody, before);
        app.ended = true;
    }
}

/// Drains until `Wait`, dropping every Transmit at once.
fn drain_client(c: &mut ClientSession, app: &mut Sending, tally: &mut Tally) {
    loop {
        let before = snap();
        match c.poll_output() {
            Output::Transmit(bytes) => {
                drop(bytes);
                tally.charge(Call::PollTransmit, before);
            }
            Output::Event(event) => {
                let body_wanted = matches!(event, ClientEvent::BodyWanted);
                match &event {
                    ClientEvent::Ready(_) => app.ready = true,
                    ClientEvent::TransactionComplete(r) => {
                        assert!(r.all_delivered());
                        app.done = true;
                    }
                    ClientEvent::BodyWanted => {}
                    other => panic!("{other:?}"),
                }
                drop(event);
                tally.charge(Call::PollEvent, before);
                if body_wanted {
                    feed_body(c, app, tally);
                }
            }
            Output::Wait { .. } => {
                tally.charge(Call::PollWait, before);
                return;
            }
            Output::Close => panic!("client closed"),
            _ => panic!("unexpected output"),
        }
    }
}

fn feed_client(c: &mut ClientSession, mut input: &[u8], app: &mut Sending, tally: &mut Tally) {
    while !input.is_empty() {
        let before = snap();
        let n = c.handle_bytes(NOW, input).expect("open");
        tally.charge(Call::HandleBytes, before);
        input = &input[n..];
        drain_client(c, app, tally);
    }
}

fn client_ready(tally: &mut Tally) -> ClientSession {
    let mut c = ClientSession::new(client_config(), NOW);
    let mut app = Sending {
        body: b"",
        read: 0,
        ended: true,
        done: false,
        ready: false,
    };
    drain_client(&mut c, &mut app, tally);
    feed_client(&mut c, GREETING, &mut app, tally);
    feed_client(&mut c, EHLO_REPLY, &mut app, tally);
    assert!(app.ready);
    c
}

/// One transaction with canned replies; the body is handed over in pieces of at
/// most `read` octets (the application offers it as soon as the session wants it).
fn client_transaction(
    c: &mut ClientSession,
    env: Envelope,
    body: &[u8],
    read: usize,
    tally: &mut Tally,
) {
    let mut app = Sending {
        body,
        read,
        ended: false,
        done: false,
        ready: false,
    };
    let before = snap();
    c.send_mail(NOW, env).expect("idle");
    tally.charge(Call::SendMail, before);
    drain_client(c, &mut app, tally);
    feed_client(c, PIPELINE_REPLIES, &mut app, tally);
    // Body pieces go out as BodyWanted comes; the client waits for nothing
    // from the server until the content is written.
    while !app.ended {
        drain_client(c, &mut app, tally);
        feed_body(c, &mut app, tally);
    }
    drain_client(c, &mut app, tally);
    feed_client(c, QUEUED, &mut app, tally);
    assert!(app.done, "transaction complete");
}

// ---------------------------------------------------------------------------
// Measurements.

fn per_message(title: &str, n: u64, before: Snap, tally: &Tally) {
    let after = snap();
    println!(
        "{title}: {:.2} allocations/message, {:.1} bytes/message (target: as few as possible)",
        (after.allocs - before.allocs) as f64 / n as f64,
        (after.bytes - before.bytes) as f64 / n as f64
    );
    tally.print(title, n);
}

fn server_path() {
    const N: u64 = 1000;
    let content = data_content(1024);
    let mut setup = Tally::default();
    let mut s = server_after_ehlo(&mut setup);
    // One transaction to warm up buffers, outside the measurement.
    server_transaction(&mut s, &content, usize::MAX, &mut setup);
    let mut tally = Tally::default();
    let before = snap();
    for _ in 0..N {
        server_transaction(&mut s, &content, usize::MAX, &mut tally);
    }
    per_message("a. server path, 1,000 x 1 KiB", N, before, &tally);
}

fn client_path() {
    const N: usize = 1000;
    let body = body(1024);
    let mut setup = Tally::default();
    let mut c = client_ready(&mut setup);
    client_transaction(&mut c, envelope(), &body, usize::MAX, &mut setup);
    // The envelopes are built beforehand: building one is the application's work.
    let envelopes: Vec<Envelope> = (0..N).map(|_| envelope()).collect();
    let mut tally = Tally::default();
    let before = snap();
    for env in envelopes {
        client_transaction(&mut c, env, &body, usize::MAX, &mut tally);
    }
    per_message("b. client path, 1,000 x 1 KiB", N as u64, before, &tally);
    if std::env::args().any(|a| a == "--sites") {
        let envelopes: Vec<Envelope> = (0..10).map(|_| envelope()).collect();
        SITES_ON.store(true, Relaxed);
        for env in envelopes {
            client_transaction(&mut c, env, &body, usize::MAX, &mut tally);
        }
        sites_report("client", 10);
        let mut s = server_after_ehlo(&mut tally);
        let content = data_content(1024);
        server_transaction(&mut s, &content, usize::MAX, &mut tally);
        SITES_ON.store(true, Relaxed);
        for _ in 0..10 {
            server_transaction(&mut s, &content, usize::MAX, &mut tally);
        }
        sites_report("server", 10);
    }
    let before = snap();
    for _ in 0..N {
        drop(envelope());
    }
    let after = snap();
    println!(
        "  (not counted above: Envelope::parse with one recipient = {:.2} allocations, {:.1} bytes)",
        (after.allocs - before.allocs) as f64 / N as f64,
        (after.bytes - before.bytes) as f64 / N as f64
    );
}

fn transmits_per_batch() {
    let mut tally = Tally::default();
    let mut s = server_after_ehlo(&mut tally);
    let batch = b"MAIL FROM:<a@client.test>\r\nRCPT TO:<b1@mx.test>\r\nRCPT TO:<b2@mx.test>\r\nRCPT TO:<b3@mx.test>\r\nDATA\r\n";
    let n = s.handle_bytes(NOW, batch).expect("open");
    assert_eq!(n, batch.len());
    let transmits = drain_server(&mut s, &mut tally);
    println!("c. Transmits for MAIL + 3 RCPT + DATA in one read: {transmits} (target: 1)");
}

fn unpolled() {
    const TOTAL: usize = 10 << 20;
    let chunk = vec![b'x'; 64 * 1024];
    let lines: Vec<u8> = b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do.\r\n"
        .iter()
        .copied()
        .cycle()
        .take(64 * 1024)
        .collect();

    // Server: after 354, offer 10 MiB of body without polling.
    for (what, data) in [("text lines", &lines), ("one endless line", &chunk)] {
        let mut tally = Tally::default();
        let mut s = server_after_ehlo(&mut tally);
        feed_server(&mut s, PIPELINE, usize::MAX, &mut tally);
        let before = snap();
        reset_peak();
        let (mut offered, mut taken) = (0, 0);
        while offered < TOTAL {
            taken += s.handle_bytes(NOW, data).expect("open");
            offered += data.len();
        }
        let peak = PEAK.load(Relaxed) - before.live;
        println!(
            "d. server, 10 MiB of body ({what}) offered unpolled after 354: took {taken} octets, live heap +{} bytes, peak +{peak} (target: <= 1 MiB)",
            live_delta(before)
        );
    }

    // Client: in a transaction waiting for MAIL's reply, offer 10 MiB without polling.
    let endless_reply: Vec<u8> = b"250-a continuation line of a reply that never ends\r\n"
        .iter()
        .copied()
        .cycle()
        .take(64 * 1024)
        .collect();
    let many_replies: Vec<u8> = b"250 2.1.0 Ok\r\n"
        .iter()
        .copied()
        .cycle()
        .take(64 * 1024)
        .collect();
    for (what, data) in [
        ("an endless multiline reply", &endless_reply),
        ("complete 250 replies", &many_replies),
        ("garbage, no line end", &chunk),
    ] {
        let mut tally = Tally::default();
        let mut c = client_ready(&mut tally);
        let body = body(1024);
        let mut app = Sending {
            body: &body,
            read: usize::MAX,
            ended: false,
            done: false,
            ready: false,
        };
        c.send_mail(NOW, envelope()).expect("idle");
        drain_client(&mut c, &mut app, &mut tally);
        let before = snap();
        reset_peak();
        let (mut offered, mut taken) = (0, 0);
        while offered < TOTAL {
            match c.handle_bytes(NOW, data) {
                Ok(n) => taken += n,
                Err(_) => break, // closed: a fault on the replies
            }
            offered += data.len();
        }
        let peak = PEAK.load(Relaxed) - before.live;
        println!(
            "d. client, 10 MiB of {what} offered unpolled: took {taken} octets (offered {offered}), live heap +{} bytes, peak +{peak} (target: <= 1 MiB)",
            live_delta(before)
        );
    }
}

fn idle_heap() {
    let mut tally = Tally::default();
    // Server (i): one transaction whose 64 KiB content comes in one read.
    {
        let content = data_content(64 * 1024 - 3);
        let mut s = server_after_ehlo(&mut tally);
        let before = snap();
        server_transaction(&mut s, &content, 64 * 1024, &mut tally);
        println!(
            "e. server idle heap after one 64 KiB read (a 64 KiB message): {:+} bytes (target: <= 4096)",
            live_delta(before)
        );
    }
    // Server (ii): 10 MiB of messages (10 x 1 MiB) in 64 KiB reads.
    {
        let content = data_content(1 << 20);
        let mut s = server_after_ehlo(&mut tally);
        let before = snap();
        for _ in 0..10 {
            server_transaction(&mut s, &content, 64 * 1024, &mut tally);
        }
        println!(
            "e. server idle heap after 10 MiB of messages in 64 KiB reads: {:+} bytes (target: <= 4096)",
            live_delta(before)
        );
    }
    // Client (i): one 64 KiB message handed over in one piece.
    {
        let body = body(64 * 1024);
        let mut c = client_ready(&mut tally);
        let env = envelope();
        let before = snap();
        trace_start();
        client_transaction(&mut c, env, &body, 64 * 1024, &mut tally);
        trace_report("client, one 64 KiB message");
        println!(
            "e. client idle heap after one 64 KiB message in one piece: {:+} bytes (target: <= 4096; the envelope handed in is freed)",
            live_delta(before)
        );
    }
    // Client (ii): 10 x 1 MiB messages in 64 KiB pieces.
    {
        let body = body(1 << 20);
        let mut c = client_ready(&mut tally);
        let envelopes: Vec<Envelope> = (0..10).map(|_| envelope()).collect();
        let mut envelopes = envelopes.into_iter();
        let before = snap();
        for env in envelopes.by_ref() {
            client_transaction(&mut c, env, &body, 64 * 1024, &mut tally);
        }
        println!(
            "e. client idle heap after 10 MiB of messages in 64 KiB pieces: {:+} bytes (target: <= 4096; the envelopes handed in are freed)",
            live_delta(before)
        );
    }
    // For scale: what a fresh session holds.
    let before = snap();
    let s = server();
    println!(
        "   (a fresh ServerSession holds {} heap bytes before its greeting is polled)",
        live_delta(before)
    );
    drop(s);
    let config = client_config();
    let before = snap();
    let c = ClientSession::new(config, NOW);
    println!(
        "   (a fresh ClientSession holds {} heap bytes)",
        live_delta(before)
    );
    drop(c);
}

fn sizes() {
    println!(
        "f. size_of::<ServerSession>() = {}",
        size_of::<ServerSession>()
    );
    println!(
        "f. size_of::<ClientSession>() = {}",
        size_of::<ClientSession>()
    );
    println!("f. size_of::<ServerEvent>() = {}", size_of::<ServerEvent>());
    println!("f. size_of::<ClientEvent>() = {}", size_of::<ClientEvent>());
    println!(
        "f. size_of::<Output<ServerEvent>>() = {}",
        size_of::<Output<ServerEvent>>()
    );
    println!(
        "f. size_of::<Output<ClientEvent>>() = {}",
        size_of::<Output<ClientEvent>>()
    );
}

fn main() {
    server_path();
    println!();
    client_path();
    println!();
    transmits_per_batch();
    println!();
    unpolled();
    println!();
    idle_heap();
    println!();
    sizes();
}
