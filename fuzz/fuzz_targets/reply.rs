//! The reply parser (`reply::parse_reply`), as a client reads a server's stream.
//!
//! Input: one option byte (line ending, line and line-count limits), then bytes.
//!
//! Asserts:
//! * no panic; `consumed` is within the buffer; a reply has 1 to `max_lines` lines;
//! * prefix consistency (the documented contract): a `Partial` result means every
//!   prefix is `Partial` too; an error or a complete reply on a prefix is the same
//!   error or reply on the whole buffer;
//! * a parsed reply re-encodes (`Reply::encode`, `encoded_len` exact) to bytes that
//!   parse back to the same reply with nothing left over; `Display` does not panic;
//! * `Reply::new(code, enhanced, &text())` rebuilds the reply whenever every line
//!   fits a 512-octet reply line (the documented round trip of `text`);
//! * the rest of the buffer is read as further replies, as a client would.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smtp_proto::reply::{Reply, ReplyParse, ReplyParseOptions, parse_reply};
use smtp_proto::wire::line::LineEnding;

fn options(flags: u8) -> ReplyParseOptions {
    ReplyParseOptions {
        max_line_len: [512, 0, 600, 4096][usize::from(flags & 3)],
        max_lines: [100, 0, 1, 2, 3, 1000, 32, 5][usize::from((flags >> 2) & 7)],
        line_ending: if flags & 32 != 0 {
            LineEnding::Lenient
        } else {
            LineEnding::Strict
        },
    }
}

fn check_reply(reply: &Reply, opts: &ReplyParseOptions) {
    assert!(reply.line_count() >= 1 && reply.lines().count() == reply.line_count());
    assert!(reply.line_count() <= opts.max_lines.max(1));
    if let Some(e) = reply.enhanced() {
        assert_eq!(e.class(), reply.code().first_digit());
    }
    let bytes = reply.to_bytes();
    assert_eq!(bytes.len(), reply.encoded_len());
    let longest = bytes
        .split(|&b| b == b'\n')
        .map(|l| l.len() + 1)
        .max()
        .unwrap_or(0);
    let wide = ReplyParseOptions {
        max_line_len: longest.max(512),
        max_lines: reply.line_count(),
        line_ending: LineEnding::Strict,
    };
    match parse_reply(&bytes, &wide) {
        Ok(ReplyParse::Complete {
            reply: again,
            consumed,
        }) => {
            assert_eq!(
                consumed,
                bytes.len(),
                "{:?}",
                String::from_utf8_lossy(&bytes)
            );
            assert_eq!(&again, reply, "{:?}", String::from_utf8_lossy(&bytes));
        }
        other => panic!(
            "{reply:?} encodes to {:?}, which parses to {other:?}",
            String::from_utf8_lossy(&bytes)
        ),
    }
    let _ = reply.to_string();
    if longest <= 512 {
        let rebuilt = Reply::new(reply.code(), reply.enhanced(), reply.text());
        assert_eq!(&rebuilt, reply, "Reply::new from text()");
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, buf)) = data.split_first() else {
        return;
    };
    let opts = options(flags);
    let whole = parse_reply(buf, &opts);

    // Prefixes: every one when short, a few otherwise.
    let cuts: Vec<usize> = if buf.len() <= 128 {
        (0..buf.len()).collect()
    } else {
        let mut c = vec![0, 1, buf.len() / 2, buf.len() - 1];
        if let Ok(ReplyParse::Complete { consumed, .. }) = &whole {
            c.push(consumed - 1);
            c.push(*consumed);
        }
        c
    };
    for cut in cuts {
        let part = parse_reply(&buf[..cut], &opts);
        match (&part, &whole) {
            (Ok(ReplyParse::Partial), _) => {}
            (_, Ok(ReplyParse::Partial)) => {
                panic!("prefix of {cut} gives {part:?}, the whole buffer Partial")
            }
            _ => assert_eq!(part, whole, "prefix of {cut} bytes"),
        }
    }

    // The stream, reply after reply.
    let mut rest = buf;
    for _ in 0..64 {
        match parse_reply(rest, &opts) {
            Ok(ReplyParse::Complete { reply, consumed }) => {
                assert!(consumed > 0 && consumed <= rest.len());
                check_reply(&reply, &opts);
                rest = &rest[consumed..];
            }
            Ok(ReplyParse::Partial) | Err(_) => break,
        }
    }
});
