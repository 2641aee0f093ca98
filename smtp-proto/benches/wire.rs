//! Criterion benchmarks of the wire layer: command parsing, reply parsing and the
//! DATA codec. Run with `cargo xtask bench` (or `cargo bench -p smtp-proto`).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use smtp_proto::reply::{ReplyParseOptions, parse_reply};
use smtp_proto::wire::command::{ParseOptions, parse_command};
use smtp_proto::wire::data::{DataDecoder, DataDecoderConfig, DotStuffer};

const COMMANDS: &[&[u8]] = &[
    b"EHLO client.example.org",
    b"MAIL FROM:<sender.name@example.org> SIZE=123456 BODY=8BITMIME",
    b"RCPT TO:<first.recipient@example.net>",
    b"RCPT TO:<second@example.net> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;second@example.net",
    b"DATA",
    b"BDAT 65536 LAST",
    b"RSET",
    b"NOOP",
    b"QUIT",
];

/// A realistic message body: header block, text lines, some lines starting with dots.
fn message(size: usize) -> Vec<u8> {
    let mut m = Vec::with_capacity(size + 100);
    m.extend_from_slice(b"From: a@example.org\r\nTo: b@example.net\r\nSubject: benchmark\r\n\r\n");
    let mut i = 0u32;
    while m.len() < size {
        if i % 17 == 0 {
            m.extend_from_slice(b".a line that starts with a dot\r\n");
        }
        m.extend_from_slice(
            b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.\r\n",
        );
        i += 1;
    }
    m
}

fn commands(c: &mut Criterion) {
    let opts = ParseOptions::default();
    let bytes: usize = COMMANDS.iter().map(|c| c.len()).sum();
    let mut g = c.benchmark_group("command");
    g.throughput(Throughput::Elements(COMMANDS.len() as u64));
    g.bench_function("parse_typical_session", |b| {
        b.iter(|| {
            for line in COMMANDS {
                let _ = black_box(parse_command(black_box(line), &opts));
            }
        })
    });
    g.finish();
    let _ = bytes;
}

fn replies(c: &mut Criterion) {
    let ehlo = b"250-mx.example.net Hello\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n";
    let opts = ReplyParseOptions::default();
    let mut g = c.benchmark_group("reply");
    g.throughput(Throughput::Bytes(ehlo.len() as u64));
    g.bench_function("parse_ehlo_reply", |b| {
        b.iter(|| black_box(parse_reply(black_box(ehlo), &opts)))
    });
    g.finish();
}

fn data(c: &mut Criterion) {
    let body = message(1 << 20);
    let mut stuffed = Vec::new();
    let mut stuffer = DotStuffer::new();
    stuffer.encode(&body, &mut stuffed);
    stuffer.finish(&mut stuffed);

    let mut g = c.benchmark_group("data");
    g.throughput(Throughput::Bytes(stuffed.len() as u64));
    g.bench_function("decode_1MiB_in_16KiB_reads", |b| {
        let mut out = Vec::with_capacity(stuffed.len());
        b.iter(|| {
            out.clear();
            let mut dec = DataDecoder::new(DataDecoderConfig::default());
            for chunk in stuffed.chunks(16 * 1024) {
                let status = dec.decode(chunk, &mut out);
                if status.done {
                    break;
                }
            }
            black_box(out.len())
        })
    });
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.bench_function("dot_stuff_1MiB", |b| {
        let mut out = Vec::with_capacity(stuffed.len());
        b.iter(|| {
            out.clear();
            let mut enc = DotStuffer::new();
            enc.encode(black_box(&body), &mut out);
            enc.finish(&mut out);
            black_box(out.len())
        })
    });
    g.finish();
}

criterion_group!(benches, commands, replies, data);
criterion_main!(benches);
