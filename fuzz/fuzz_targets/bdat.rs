//! BDAT framing (RFC 3030 §2): `BDAT <size> [LAST]` command lines
//! (`parse_command`) each followed by exactly `size` octets read with
//! `wire::data::BdatChunk`, as a server reads a CHUNKING stream.
//!
//! Input: a mode byte, a split pattern (4 bytes) and seed (8 bytes), then either
//! a raw stream (mode even) or a list of chunks to send (mode odd: each is a
//! `u16` length, a LAST flag byte and the content).
//!
//! Asserts:
//! * no panic, whatever sizes are announced (up to `u64::MAX`: nothing is
//!   allocated for a size, only for octets that arrive);
//! * `BdatChunk::take` returns a prefix of its input, never more than the octets
//!   still owed, and `remaining` drops by exactly what was taken;
//! * **split invariance**: a streaming framer fed the stream whole, by the pattern
//!   and at random cut points produces the same commands and chunks;
//! * **a reference**: the same items as slicing the whole buffer directly (the line,
//!   then the next `size` octets);
//! * in chunk mode, the framer gives back exactly the chunks that were sent, and
//!   chunk content is never read as commands (even when it looks like one).
#![no_main]

use libfuzzer_sys::fuzz_target;
use smtp_proto::wire::command::{Command, CommandError, ParseOptions, parse_command};
use smtp_proto::wire::data::BdatChunk;
use smtp_proto::wire::line::{Framed, LineEnding, frame_line, skip_line};
use smtp_proto_fuzz::chunks::{split, split_random};
use smtp_proto_fuzz::input::Input;

const MAX_LINE: usize = 512;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    /// A command line and how it parsed.
    Line(Vec<u8>, Result<Command<'static>, CommandError>),
    /// A bad line (too long, bare CR or LF).
    BadLine,
    /// The octets of a BDAT chunk: complete, or cut short by the end of the input.
    Chunk {
        size: u64,
        last: bool,
        data: Vec<u8>,
        complete: bool,
    },
}

/// A streaming reader, as a server reads: bytes arrive piece by piece into a
/// buffer; command lines are framed from it, and after a BDAT line the chunk's
/// octets are taken from it with `BdatChunk::take`, whatever is there.
#[derive(Default)]
struct Framer {
    buf: Vec<u8>,
    /// Bytes of `buf` already used.
    pos: usize,
    skipping: bool,
    chunk: Option<(BdatChunk, u64, Vec<u8>)>,
    items: Vec<Item>,
}

impl Framer {
    fn feed(&mut self, piece: &[u8]) {
        self.buf.extend_from_slice(piece);
        loop {
            let rest = &self.buf[self.pos..];
            if let Some((chunk, size, data)) = &mut self.chunk {
                let before = chunk.remaining();
                let (bytes, n) = chunk.take(rest);
                assert_eq!(bytes.len(), n);
                assert_eq!(bytes, &rest[..n]);
                assert!(n as u64 <= before);
                assert_eq!(chunk.remaining(), before - n as u64);
                assert!(n == rest.len() || chunk.is_complete());
                data.extend_from_slice(bytes);
                self.pos += n;
                if !chunk.is_complete() {
                    break;
                }
                let item = Item::Chunk {
                    size: *size,
                    last: chunk.is_last(),
                    data: std::mem::take(data),
                    complete: true,
                };
                self.items.push(item);
                self.chunk = None;
                continue;
            }
            if self.skipping {
                let (n, done) = skip_line(rest);
                self.pos += n;
                self.skipping = !done;
                if !done {
                    break;
                }
                continue;
            }
            match frame_line(rest, MAX_LINE, LineEnding::Strict) {
                Framed::Partial => break,
                Framed::Invalid {
                    consumed, complete, ..
                } => {
                    self.pos += consumed;
                    self.skipping = !complete;
                    self.items.push(Item::BadLine);
                }
                Framed::Line { line, consumed } => {
                    let parsed =
                        parse_command(line, &ParseOptions::default()).map(Command::into_owned);
                    let line = line.to_vec();
                    self.pos += consumed;
                    if let Ok(Command::Bdat { size, last }) = &parsed {
                        self.chunk = Some((BdatChunk::new(*size, *last), *size, Vec::new()));
                    }
                    self.items.push(Item::Line(line, parsed));
                }
            }
        }
        if self.pos > 4096 && self.pos * 2 > self.buf.len() {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
    }

    fn finish(mut self) -> Vec<Item> {
        if let Some((chunk, size, data)) = self.chunk.take() {
            self.items.push(Item::Chunk {
                size,
                last: chunk.is_last(),
                data,
                complete: false,
            });
        }
        self.items
    }
}

fn framed(pieces: &[&[u8]]) -> Vec<Item> {
    let mut f = Framer::default();
    for p in pieces {
        f.feed(p);
    }
    f.finish()
}

/// The whole buffer at once, by slicing.
fn reference(mut buf: &[u8]) -> Vec<Item> {
    let mut items = Vec::new();
    while !buf.is_empty() {
        match frame_line(buf, MAX_LINE, LineEnding::Strict) {
            Framed::Partial => break,
            Framed::Invalid {
                consumed, complete, ..
            } => {
                items.push(Item::BadLine);
                buf = &buf[consumed..];
                if !complete {
                    let (n, _) = skip_line(buf);
                    buf = &buf[n..];
                }
            }
            Framed::Line { line, consumed } => {
                let parsed = parse_command(line, &ParseOptions::default()).map(Command::into_owned);
                items.push(Item::Line(line.to_vec(), parsed.clone()));
                buf = &buf[consumed..];
                if let Ok(Command::Bdat { size, last }) = parsed {
                    let n = usize::try_from(size).unwrap_or(usize::MAX).min(buf.len());
                    items.push(Item::Chunk {
                        size,
                        last,
                        data: buf[..n].to_vec(),
                        complete: n as u64 == size,
                    });
                    buf = &buf[n..];
                }
            }
        }
    }
    items
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let mode = input.u8();
    let pattern = input.array::<4>();
    let seed = u64::from_be_bytes(input.array::<8>());

    let mut sent = Vec::new();
    let stream: Vec<u8> = if mode & 1 == 0 {
        input.rest().to_vec()
    } else {
        let mut s = Vec::new();
        while !input.is_empty() && sent.len() < 64 {
            let len = usize::from(input.u16() % 1024);
            let last = input.u8() & 1 != 0;
            let content = input.bytes(len).to_vec();
            let head = if last {
                format!("BDAT {} LAST\r\n", content.len())
            } else {
                format!("BDAT {}\r\n", content.len())
            };
            s.extend_from_slice(head.as_bytes());
            s.extend_from_slice(&content);
            sent.push((content, last));
        }
        s
    };

    let whole = framed(&[&stream]);
    assert_eq!(
        whole,
        reference(&stream),
        "streaming framer differs from slicing"
    );
    assert_eq!(framed(&split(&stream, &pattern)), whole, "pattern split");
    assert_eq!(
        framed(&split_random(&stream, seed, 1 + usize::from(mode >> 1))),
        whole,
        "random split"
    );

    if mode & 1 != 0 {
        let chunks: Vec<(Vec<u8>, bool)> = whole
            .iter()
            .filter_map(|item| match item {
                Item::Chunk {
                    data,
                    last,
                    complete: true,
                    ..
                } => Some((data.clone(), *last)),
                _ => None,
            })
            .collect();
        assert_eq!(chunks, sent, "chunks sent and chunks read differ");
        let lines = whole.iter().filter(|i| matches!(i, Item::Line(..))).count();
        assert_eq!(lines, sent.len(), "chunk content was read as commands");
    }
});
