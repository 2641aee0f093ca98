//! The command parser (`wire::command::parse_command`) and line framing
//! (`wire::line::frame_line`).
//!
//! Input: one option byte, then a command line (without CRLF) or a stream.
//!
//! Asserts:
//! * no input panics `frame_line` or `parse_command`; a framed line never holds
//!   CR or LF and `consumed` stays within the buffer (and within `max_len + 1`);
//! * whatever parses re-encodes (`Command::encode`) to exactly one CRLF-terminated
//!   line without CR, LF or NUL inside, which parses back to the same command;
//!   encoding is idempotent, `validate` accepts it and `into_owned` preserves it;
//! * verbs are case-insensitive: upper-casing the verb of a known command gives
//!   the same result (value or error);
//! * an all-ASCII line parses the same whatever the SMTPUTF8 options say (they
//!   only widen what non-ASCII input may do);
//! * every line framed from the input as a stream parses or fails without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smtp_proto::wire::command::{Command, HeloSyntax, ParseOptions, parse_command};
use smtp_proto::wire::line::{Framed, LineEnding, frame_line};
use smtp_proto::wire::path::PathOptions;

fn options(flags: u8) -> ParseOptions {
    ParseOptions {
        smtputf8: flags & 1 != 0,
        utf8_transaction: flags & 2 != 0,
        helo: if flags & 4 != 0 {
            HeloSyntax::Lenient
        } else {
            HeloSyntax::Strict
        },
        path: if flags & 8 != 0 {
            PathOptions {
                allow_utf8: false,
                max_local_part: 1000,
                max_domain: 1000,
                max_path: 4000,
            }
        } else {
            PathOptions::default()
        },
    }
}

fn check_line(line: &[u8], opts: &ParseOptions) {
    let parsed = parse_command(line, opts);
    if let Ok(cmd) = &parsed {
        let bytes = cmd.to_bytes();
        assert!(bytes.ends_with(b"\r\n"), "{cmd:?}");
        let body = &bytes[..bytes.len() - 2];
        assert!(
            !body.iter().any(|&b| b == b'\r' || b == b'\n' || b == 0),
            "{cmd:?} encodes to {body:?}"
        );
        let again = parse_command(body, opts)
            .unwrap_or_else(|e| panic!("{cmd:?} encodes to {body:?}, which fails: {e}"));
        assert_eq!(
            &again,
            cmd,
            "re-parse of {:?}",
            String::from_utf8_lossy(body)
        );
        assert_eq!(again.to_bytes(), bytes, "encoding is not idempotent");
        assert_eq!(cmd.validate(opts), Ok(()), "{cmd:?}");
        assert_eq!(&cmd.clone().into_owned(), cmd);
        let _ = cmd.to_string();
    }
    // The verb is case-insensitive.
    let verb_known = match &parsed {
        Ok(cmd) => cmd.verb().is_some(),
        Err(e) => e.verb().is_some(),
    };
    if verb_known {
        let end = line.iter().position(|&b| b == b' ').unwrap_or(line.len());
        let mut upper = line.to_vec();
        upper[..end].make_ascii_uppercase();
        let mut lower = line.to_vec();
        lower[..end].make_ascii_lowercase();
        assert_eq!(parse_command(&upper, opts), parsed, "upper-case verb");
        assert_eq!(parse_command(&lower, opts), parsed, "lower-case verb");
    }
    // SMTPUTF8 options only matter to non-ASCII input.
    if line.is_ascii() {
        let plain = ParseOptions {
            smtputf8: false,
            utf8_transaction: false,
            ..*opts
        };
        let utf8 = ParseOptions {
            smtputf8: true,
            utf8_transaction: true,
            ..*opts
        };
        let a = parse_command(line, &plain).map(Command::into_owned);
        let b = parse_command(line, &utf8).map(Command::into_owned);
        assert_eq!(a, b, "SMTPUTF8 changed the parse of an ASCII line");
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, line)) = data.split_first() else {
        return;
    };
    let opts = options(flags);
    check_line(line, &opts);

    // The same bytes as a stream of lines.
    let ending = if flags & 16 != 0 {
        LineEnding::Lenient
    } else {
        LineEnding::Strict
    };
    let max = if flags & 32 != 0 { 512 } else { 64 };
    let mut rest = line;
    let mut skipping = false;
    while !rest.is_empty() {
        if skipping {
            let (n, done) = smtp_proto::wire::line::skip_line(rest);
            assert!(n > 0 && n <= rest.len());
            rest = &rest[n..];
            skipping = !done;
            continue;
        }
        match frame_line(rest, max, ending) {
            Framed::Partial => {
                assert!(rest.len() <= max, "Partial with {} bytes", rest.len());
                break;
            }
            Framed::Line { line, consumed } => {
                assert!(consumed > 0 && consumed <= rest.len() && consumed <= max);
                assert!(!line.contains(&b'\r') && !line.contains(&b'\n'));
                assert!(consumed == line.len() + 1 || consumed == line.len() + 2);
                check_line(line, &opts);
                rest = &rest[consumed..];
            }
            Framed::Invalid {
                consumed, complete, ..
            } => {
                assert!(consumed > 0 && consumed <= rest.len() && consumed <= max + 1);
                assert_eq!(complete, rest[consumed - 1] == b'\n');
                rest = &rest[consumed..];
                skipping = !complete;
            }
        }
    }
});
