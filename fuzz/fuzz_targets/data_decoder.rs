//! The DATA codec (`wire::data`): `DataDecoder` (server side) and `DotStuffer`
//! (client side).
//!
//! Input: a flags byte (bare line ending policy, line limit), a split pattern
//! (4 bytes), a split seed (8 bytes), then the bytes received after `354`.
//!
//! Asserts:
//! * no panic;
//! * **split invariance** (the same input split differently gives identical
//!   output): whole, by the pattern, at random cut points and byte by byte, the
//!   content, the total `consumed`, `done` and every finding are identical;
//!   once done, further calls consume nothing;
//! * **a reference model**: a plain byte-at-a-time reading of RFC 5321 §4.1.1.4 and
//!   §4.5.2 (only a real CRLF `.` CRLF ends the data; a line-start dot is deleted;
//!   bare CR/LF never start a line) gives the same content, `consumed`, `done` and
//!   bare CR/LF findings; `content_len`, NUL, 8-bit and the line-length verdict agree with
//!   the content produced; content is at most the input (Reject) or twice it
//!   (Normalize);
//! * **DotStuffer → DataDecoder round trip**: the input as message content, stuffed
//!   under two splits (identical output), decodes to the content with line endings
//!   made CRLF (and a final CRLF added), ending exactly at the end of the stuffed
//!   bytes with no bare line ending seen.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smtp_proto::wire::data::{
    BareLineEnding, DataDecoder, DataDecoderConfig, DataFindings, DotStuffer,
};
use smtp_proto_fuzz::chunks::{split, split_random};
use smtp_proto_fuzz::input::Input;

#[derive(Debug, PartialEq, Eq)]
struct Run {
    content: Vec<u8>,
    consumed: usize,
    done: bool,
    findings: DataFindings,
}

fn run(config: DataDecoderConfig, pieces: &[&[u8]]) -> Run {
    let mut dec = DataDecoder::new(config);
    let mut content = Vec::new();
    let mut consumed = 0;
    let mut done = false;
    for piece in pieces {
        let status = dec.decode(piece, &mut content);
        assert!(status.consumed <= piece.len());
        if done {
            assert_eq!(status.consumed, 0, "consumed after done");
        }
        if !status.done {
            assert_eq!(status.consumed, piece.len(), "not done but input left over");
        }
        consumed += status.consumed;
        done = status.done;
        assert_eq!(dec.is_done(), done);
    }
    let f = dec.findings();
    assert_eq!(f.bare_cr, dec.bare_cr_seen());
    assert_eq!(f.bare_lf, dec.bare_lf_seen());
    assert_eq!(f.nul, dec.nul_seen());
    assert_eq!(f.eight_bit, dec.eight_bit_seen());
    assert_eq!(f.line_too_long, dec.line_too_long());
    assert_eq!(f.content_len, dec.content_len());
    Run {
        content,
        consumed,
        done,
        findings: f,
    }
}

/// RFC 5321 §4.1.1.4 and §4.5.2, one byte at a time over the whole input.
/// Returns content, consumed, done, bare CR seen, bare LF seen.
fn reference(input: &[u8], normalize: bool) -> (Vec<u8>, usize, bool, bool, bool) {
    let mut out = Vec::new();
    let (mut bare_cr, mut bare_lf) = (false, false);
    let bare = |out: &mut Vec<u8>, b: u8| {
        if normalize {
            out.extend_from_slice(b"\r\n");
        } else {
            out.push(b);
        }
    };
    let n = input.len();
    let mut i = 0;
    let mut line_start = true;
    while i < n {
        if line_start && input[i] == b'.' {
            match (input.get(i + 1), input.get(i + 2)) {
                // A dot, or dot CR, waiting for more input.
                (None, _) | (Some(b'\r'), None) => return (out, n, false, bare_cr, bare_lf),
                (Some(b'\r'), Some(b'\n')) => return (out, i + 3, true, bare_cr, bare_lf),
                (Some(b'\r'), Some(_)) => {
                    // ".<CR>x": the dot is deleted, the CR is bare.
                    bare_cr = true;
                    bare(&mut out, b'\r');
                    i += 2;
                    line_start = false;
                    continue;
                }
                // The dot is deleted; the rest is an ordinary line.
                (Some(_), _) => {
                    i += 1;
                    line_start = false;
                    continue;
                }
            }
        }
        line_start = false;
        match input[i] {
            b'\r' => match input.get(i + 1) {
                None => return (out, n, false, bare_cr, bare_lf),
                Some(b'\n') => {
                    out.extend_from_slice(b"\r\n");
                    i += 2;
                    line_start = true;
                }
                Some(_) => {
                    bare_cr = true;
                    bare(&mut out, b'\r');
                    i += 1;
                }
            },
            b'\n' => {
                bare_lf = true;
                bare(&mut out, b'\n');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    (out, n, false, bare_cr, bare_lf)
}

/// The longest CRLF-terminated line of `content` (CRLF included), or the
/// unterminated last line.
fn longest_line(content: &[u8]) -> u64 {
    let mut longest = 0u64;
    let mut start = 0;
    let mut i = 0;
    while i + 1 < content.len() {
        if content[i] == b'\r' && content[i + 1] == b'\n' {
            longest = longest.max((i + 2 - start) as u64);
            start = i + 2;
            i += 2;
        } else {
            i += 1;
        }
    }
    longest.max((content.len() - start) as u64)
}

/// What `DotStuffer` is documented to send, before the end-of-data line: every CR
/// LF, bare CR and bare LF as CRLF, and a CRLF after an unterminated last line.
fn normalised(content: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < content.len() {
        match content[i] {
            b'\r' => {
                out.extend_from_slice(b"\r\n");
                i += if content.get(i + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
            }
            b'\n' => {
                out.extend_from_slice(b"\r\n");
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    if !out.is_empty() && !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn stuff(pieces: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut s = DotStuffer::new();
    for p in pieces {
        s.encode(p, &mut out);
    }
    s.finish(&mut out);
    out
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let flags = input.u8();
    let pattern = input.array::<4>();
    let seed = u64::from_be_bytes(input.array::<8>());
    let bytes = input.rest();
    let normalize = flags & 1 != 0;
    let config = DataDecoderConfig {
        bare_line_ending: if normalize {
            BareLineEnding::Normalize
        } else {
            BareLineEnding::Reject
        },
        max_line_len: [1000, 0, 1001, 20, 5000][usize::from(flags >> 1) % 5],
    };

    // Split invariance.
    let whole = run(config, &[bytes]);
    let by_pattern = run(config, &split(bytes, &pattern));
    assert_eq!(by_pattern, whole, "pattern split {pattern:?}");
    let random = run(
        config,
        &split_random(bytes, seed, 1 + usize::from(flags >> 4) * 8),
    );
    assert_eq!(random, whole, "random split {seed}");
    if bytes.len() <= 4096 {
        let singles: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(run(config, &singles), whole, "byte by byte");
    }

    // The reference model.
    let (content, consumed, done, bare_cr, bare_lf) = reference(bytes, normalize);
    assert_eq!(whole.content, content, "content differs from the reference");
    assert_eq!((whole.consumed, whole.done), (consumed, done));
    let f = whole.findings;
    assert_eq!((f.bare_cr, f.bare_lf), (bare_cr, bare_lf));
    assert_eq!(f.content_len, content.len() as u64);
    assert_eq!(f.nul, content.contains(&0));
    assert_eq!(f.eight_bit, !content.is_ascii());
    assert_eq!(
        f.line_too_long,
        longest_line(&content) > config.max_line_len.max(1000) as u64
    );
    let limit = if normalize { 2 * consumed } else { consumed };
    assert!(content.len() <= limit);

    // DotStuffer -> DataDecoder.
    let stuffed = stuff(&split(bytes, &pattern));
    let stuffed_b = stuff(&split_random(bytes, seed, 7));
    assert_eq!(stuffed, stuffed_b, "DotStuffer depends on the split");
    let mut with_next = stuffed.clone();
    with_next.extend_from_slice(b"QUIT\r\n");
    let decoded = run(DataDecoderConfig::default(), &split(&with_next, &pattern));
    assert!(decoded.done, "stuffed data never ended");
    assert_eq!(decoded.consumed, stuffed.len(), "data ended early or late");
    assert_eq!(decoded.content, normalised(bytes));
    assert!(!decoded.findings.bare_cr && !decoded.findings.bare_lf);
});
