//! The core's figures beside its peers', measured interleaved in one run:
//! command framing + parsing and EHLO reply parsing against Stalwart's
//! `smtp-proto` 0.2.5, DATA decoding against Stalwart's `DataReceiver` and
//! against `memchr::memmem` merely finding `CRLF.CRLF`, dot-stuffing.
//!
//! `cargo run --release --bin core -- [--json FILE] [--quick] [--sessions]
//! [--profile server|mailin|client]`; `cargo xtask
//! bench` runs it with the end-to-end figures and draws the chart.

#[path = "core/sessions.rs"]
mod sessions;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

use smtp_bench::corpus::{COMMANDS, EHLO, message};
use smtp_bench::{Args, Plan, Record, keep, throughput};
use smtp_proto::reply::{ReplyParseOptions, parse_reply};
use smtp_proto::wire::command::{ParseOptions, parse_command};
use smtp_proto::wire::data::{DataDecoder, DataDecoderConfig, DotStuffer};
use smtp_proto::wire::line::{Framed, LineEnding, frame_line};
use stalwart_smtp_proto as peer;

/// The system allocator, counting allocations (a realloc counts as one) while
/// `COUNTING` is on. Off, it costs one relaxed load per call.
struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is passed on to `System` unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Relaxed) {
            ALLOCS.fetch_add(1, Relaxed);
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Relaxed) {
            ALLOCS.fetch_add(1, Relaxed);
        }
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Relaxed) {
            ALLOCS.fetch_add(1, Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs `f` with allocations counted and returns their number.
fn count_allocations(f: &mut dyn FnMut()) -> u64 {
    let before = ALLOCS.load(Relaxed);
    COUNTING.store(true, Relaxed);
    f();
    COUNTING.store(false, Relaxed);
    ALLOCS.load(Relaxed) - before
}

const STALWART: &str = "Stalwart smtp-proto 0.2.5";

fn commands(plan: Plan) -> Record {
    let opts = ParseOptions::default();
    throughput(
        plan,
        "command framing + parsing",
        "commands/s",
        COMMANDS.len() as f64,
        STALWART,
        Some(1.2),
        &mut || {
            for bytes in COMMANDS {
                if let Framed::Line { line, .. } = frame_line(keep(bytes), 512, LineEnding::Strict)
                {
                    let _ = keep(parse_command(line, &opts));
                }
            }
        },
        &mut || {
            for bytes in COMMANDS {
                let _ = keep(peer::Request::parse(&mut keep(bytes).iter()));
            }
        },
    )
}

fn replies(plan: Plan) -> Record {
    let opts = ReplyParseOptions::default();
    throughput(
        plan,
        "EHLO reply parsing",
        "replies/s",
        1.0,
        STALWART,
        Some(1.2),
        &mut || {
            let _ = keep(parse_reply(keep(EHLO), &opts));
        },
        &mut || {
            let mut receiver = peer::response::parser::ResponseReceiver::default();
            let _ = keep(receiver.parse(&mut keep(EHLO).iter()));
        },
    )
}

/// Decodes `stuffed` in `read`-sized pieces with our decoder.
fn decode(stuffed: &[u8], read: usize, out: &mut Vec<u8>) {
    out.clear();
    let mut dec = DataDecoder::new(DataDecoderConfig::default());
    for chunk in stuffed.chunks(read) {
        if dec.decode(chunk, out).done {
            break;
        }
    }
}

fn data(plan: Plan) -> Vec<Record> {
    let body = message(4 << 20);
    let mut stuffed = Vec::new();
    let mut stuffer = DotStuffer::new();
    stuffer.encode(&body, &mut stuffed);
    stuffer.finish(&mut stuffed);
    let mib = stuffed.len() as f64 / (1 << 20) as f64;
    let read = 64 * 1024;
    let mut out = Vec::with_capacity(stuffed.len());
    let mut out2 = Vec::with_capacity(stuffed.len());
    decode(&stuffed, read, &mut out);
    assert_eq!(out, body, "our decoder gives the body back");
    {
        let mut dec = peer::request::receiver::DataReceiver::new();
        for chunk in stuffed.chunks(read) {
            if dec.ingest(&mut chunk.iter(), &mut out2) {
                break;
            }
        }
        assert_eq!(out2.len(), body.len(), "the peer gives the body back");
    }
    let stalwart = throughput(
        plan,
        "DATA decoding, 64 KiB reads",
        "MiB/s",
        mib,
        "Stalwart DataReceiver",
        Some(1.2),
        &mut || decode(&stuffed, read, &mut out),
        &mut || {
            out2.clear();
            let mut dec = peer::request::receiver::DataReceiver::new();
            for chunk in stuffed.chunks(read) {
                if dec.ingest(&mut chunk.iter(), &mut out2) {
                    break;
                }
            }
            keep(out2.len());
        },
    );
    let finder = memchr::memmem::Finder::new(b"\r\n.\r\n");
    let memmem = throughput(
        plan,
        "DATA decoding vs finding CRLF.CRLF",
        "MiB/s",
        mib,
        "memchr::memmem (search only)",
        Some(0.5),
        &mut || decode(&stuffed, read, &mut out),
        &mut || {
            let mut n = 0usize;
            for chunk in stuffed.chunks(read) {
                n += finder.find_iter(chunk).count();
            }
            keep(n);
        },
    );
    let mut stuffed_out = Vec::with_capacity(stuffed.len());
    let stuffing = throughput(
        plan,
        "dot-stuffing (client) vs DATA decoding",
        "MiB/s",
        body.len() as f64 / (1 << 20) as f64,
        "our DATA decoder",
        None,
        &mut || {
            stuffed_out.clear();
            let mut enc = DotStuffer::new();
            for chunk in body.chunks(read) {
                enc.encode(chunk, &mut stuffed_out);
            }
            enc.finish(&mut stuffed_out);
            keep(stuffed_out.len());
        },
        &mut || decode(&stuffed, read, &mut out),
    );
    vec![stalwart, memmem, stuffing]
}

fn main() {
    let args = Args::parse();
    let plan = if args.quick {
        Plan {
            rounds: 3,
            per_side: std::time::Duration::from_millis(100),
        }
    } else {
        Plan::default()
    };
    let raw: Vec<String> = std::env::args().skip(1).collect();
    if let Some(who) = (raw.iter().position(|a| a == "--profile")).and_then(|i| raw.get(i + 1)) {
        sessions::profile(who, 5.0);
        return;
    }
    // `--sessions`: only the session records.
    let mut records = Vec::new();
    if !raw.iter().any(|a| a == "--sessions") {
        records.extend([commands(plan), replies(plan)]);
        records.extend(data(plan));
    }
    records.extend(sessions::records(plan));
    records.extend(sessions::allocation_records(&count_allocations));
    args.finish(&records);
}
