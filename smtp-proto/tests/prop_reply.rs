//! Property tests for `smtp_proto::reply`: builder/encoder/parser round trips,
//! robustness against arbitrary bytes, and independence from trailing data.

use proptest::prelude::*;
use smtp_proto::reply::{
    EnhancedCode, Reply, ReplyCode, ReplyError, ReplyParse, ReplyParseOptions, parse_reply,
};
use smtp_proto::wire::line::LineEnding;

fn reply_code() -> impl Strategy<Value = ReplyCode> {
    (2u16..=5, 0u16..=5, 0u16..=9)
        .prop_map(|(a, b, c)| ReplyCode::new(a * 100 + b * 10 + c).unwrap())
}

fn enhanced_code() -> impl Strategy<Value = EnhancedCode> {
    (
        prop_oneof![Just(2u8), Just(4), Just(5)],
        prop_oneof![0u16..=9, 0u16..=999],
        prop_oneof![0u16..=9, 0u16..=999],
    )
        .prop_map(|(c, s, d)| EnhancedCode::new(c, s, d).unwrap())
}

/// Text with everything that could confuse an encoder: line ends, controls,
/// things that look like codes and enhanced codes, non-ASCII, long runs.
fn hostile_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[ -~]{0,20}",
        "[a-z ]{0,300}",
        Just("\r\n".to_string()),
        Just("\n".to_string()),
        Just("\r".to_string()),
        Just("\t".to_string()),
        Just(" ".to_string()),
        Just("250 ".to_string()),
        Just("550-".to_string()),
        Just("\0".to_string()),
        Just("\u{7f}\u{1b}".to_string()),
        "[245]\\.[0-9]{1,3}\\.[0-9]{1,3}[ x]?",
        "[245]\\.0[0-9]\\.[0-9] ",
        any::<String>().prop_map(|s| s.chars().take(10).collect()),
        "[\u{80}-\u{10ffff}]{0,8}",
        "\u{20ac}{100,200}",
        "x{400,600}",
    ];
    prop::collection::vec(piece, 0..16).prop_map(|v| v.concat())
}

fn big_opts() -> ReplyParseOptions {
    ReplyParseOptions {
        max_lines: usize::MAX,
        ..ReplyParseOptions::default()
    }
}

fn reply_like_bytes() -> impl Strategy<Value = Vec<u8>> {
    let line = (
        prop_oneof![
            8 => Just(b"250".to_vec()),
            1 => Just(b"550".to_vec()),
            1 => Just(b"260".to_vec()),
            1 => "[0-9]{0,4}".prop_map(String::into_bytes),
        ],
        prop_oneof![
            4 => Just(b"-".to_vec()),
            4 => Just(b" ".to_vec()),
            1 => Just(Vec::new()),
            1 => Just(b"x".to_vec()),
        ],
        prop_oneof![
            4 => "[ -~]{0,20}".prop_map(String::into_bytes),
            2 => Just(b"2.1.0 ok".to_vec()),
            1 => Just(b"5.1.1".to_vec()),
            1 => "[\u{80}-\u{10ffff}]{0,4}".prop_map(String::into_bytes),
            1 => prop::collection::vec(any::<u8>(), 0..8),
            1 => Just(vec![b'a'; 520]),
        ],
        prop_oneof![
            8 => Just(b"\r\n".to_vec()),
            1 => Just(b"\n".to_vec()),
            1 => Just(b"\r".to_vec()),
            1 => Just(Vec::new()),
        ],
    )
        .prop_map(|(a, b, c, d)| [a, b, c, d].concat());
    prop::collection::vec(line, 0..6).prop_map(|v| v.concat())
}

fn line_ending() -> impl Strategy<Value = LineEnding> {
    prop_oneof![Just(LineEnding::Strict), Just(LineEnding::Lenient)]
}

proptest! {
    /// Every reply the builder makes encodes to lines of at most 512 octets,
    /// each starting with the code, and parses back to itself.
    #[test]
    fn builder_round_trip(code in reply_code(), enhanced in proptest::option::of(enhanced_code()), text in hostile_text()) {
        let reply = Reply::new(code, enhanced, &text);
        let bytes = reply.to_bytes();
        prop_assert_eq!(bytes.len(), reply.encoded_len());
        let lines: Vec<&[u8]> = bytes.split_inclusive(|&b| b == b'\n').collect();
        prop_assert_eq!(lines.len(), reply.line_count());
        for (i, line) in lines.iter().enumerate() {
            prop_assert!(line.len() <= 512);
            prop_assert!(line.starts_with(&code.digits()));
            prop_assert!(line.ends_with(b"\r\n"));
            let last = i + 1 == lines.len();
            prop_assert_eq!(line[3] == b'-', !last);
        }
        let parsed = parse_reply(&bytes, &big_opts());
        prop_assert_eq!(parsed, Ok(ReplyParse::Complete { reply: reply.clone(), consumed: bytes.len() }));
        // Rebuilding from the text is the identity.
        prop_assert_eq!(Reply::new(code, reply.enhanced(), reply.text()), reply.clone());
        // The enhanced code is kept exactly when it matches the class.
        if let Some(e) = enhanced {
            if e.class() == code.first_digit() {
                prop_assert_eq!(reply.enhanced(), Some(e));
            }
        }
    }

    /// Multi-line replies built line by line round-trip too.
    #[test]
    fn from_lines_round_trip(code in reply_code(), enhanced in proptest::option::of(enhanced_code()), lines in prop::collection::vec(hostile_text(), 0..8)) {
        let reply = Reply::from_lines(code, enhanced, &lines);
        let bytes = reply.to_bytes();
        prop_assert_eq!(parse_reply(&bytes, &big_opts()), Ok(ReplyParse::Complete { reply, consumed: bytes.len() }));
    }

    /// Every strict prefix of an encoded reply is Partial; trailing data
    /// after it changes nothing.
    #[test]
    fn prefixes_and_trailing_data(code in reply_code(), enhanced in proptest::option::of(enhanced_code()), text in "[ -~\n]{0,200}", extra in prop::collection::vec(any::<u8>(), 0..64)) {
        let reply = Reply::new(code, enhanced, &text);
        let bytes = reply.to_bytes();
        for n in 0..bytes.len() {
            prop_assert_eq!(parse_reply(&bytes[..n], &big_opts()), Ok(ReplyParse::Partial));
        }
        let mut longer = bytes.clone();
        longer.extend_from_slice(&extra);
        prop_assert_eq!(parse_reply(&longer, &big_opts()), Ok(ReplyParse::Complete { reply, consumed: bytes.len() }));
    }

    /// Arbitrary bytes never panic, and a Complete result is consistent.
    #[test]
    fn arbitrary_bytes_never_panic(buf in prop::collection::vec(any::<u8>(), 0..2048), ending in line_ending(), max_lines in 0usize..8) {
        let opts = ReplyParseOptions { max_line_len: 0, max_lines, line_ending: ending };
        if let Ok(ReplyParse::Complete { reply, consumed }) = parse_reply(&buf, &opts) {
            prop_assert!(consumed <= buf.len());
            prop_assert!(reply.line_count() >= 1);
            prop_assert!(reply.line_count() <= max_lines.max(1));
        }
    }

    /// Once a buffer gives a result other than Partial, any extension of it
    /// gives the same result (errors included).
    #[test]
    fn result_independent_of_trailing_data(buf in reply_like_bytes(), extra in prop::collection::vec(any::<u8>(), 0..32), ending in line_ending()) {
        let opts = ReplyParseOptions { line_ending: ending, max_lines: 4, ..ReplyParseOptions::default() };
        let base = parse_reply(&buf, &opts);
        if base != Ok(ReplyParse::Partial) {
            let mut longer = buf.clone();
            longer.extend_from_slice(&extra);
            prop_assert_eq!(parse_reply(&longer, &opts), base);
        }
    }

    /// What the parser accepts re-encodes to something it parses to the same reply.
    #[test]
    fn parsed_replies_reencode(buf in reply_like_bytes(), ending in line_ending()) {
        let opts = ReplyParseOptions { line_ending: ending, ..ReplyParseOptions::default() };
        if let Ok(ReplyParse::Complete { reply, .. }) = parse_reply(&buf, &opts) {
            let bytes = reply.to_bytes();
            let strict = ReplyParseOptions { max_line_len: 4096, ..ReplyParseOptions::default() };
            prop_assert_eq!(parse_reply(&bytes, &strict), Ok(ReplyParse::Complete { reply, consumed: bytes.len() }));
        }
    }

    /// Enhanced codes: text form round-trips, and parse never panics.
    #[test]
    fn enhanced_code_text(code in enhanced_code(), s in "\\PC{0,12}") {
        let text = code.to_string();
        prop_assert_eq!(EnhancedCode::parse(&text), Some((code, "")));
        if let Some((c, rest)) = EnhancedCode::parse(&s) {
            prop_assert!(s.ends_with(rest));
            prop_assert!(!rest.starts_with(|ch: char| ch.is_ascii_digit()));
            // The code as written: the canonical form, give or take leading
            // zeros (RFC 3463 §2, 1*3digit).
            let written = &s[..s.len() - rest.len()];
            let unpadded: Vec<String> = written
                .split('.')
                .map(|n| n.parse::<u16>().map(|v| v.to_string()).unwrap_or_default())
                .collect();
            prop_assert_eq!(unpadded.join("."), c.to_string());
        }
    }

    /// Leading zeros (RFC 3463 §2, 1*3digit) read by value, in codes and in
    /// the replies that carry them.
    #[test]
    fn enhanced_code_leading_zeros(code in enhanced_code(), pad in (0usize..3, 0usize..3), text in "[a-z ]{0,20}") {
        let subject = format!("{:0w$}", code.subject(), w = (code.subject().to_string().len() + pad.0).min(3));
        let detail = format!("{:0w$}", code.detail(), w = (code.detail().to_string().len() + pad.1).min(3));
        let written = format!("{}.{subject}.{detail}", code.class());
        prop_assert_eq!(EnhancedCode::parse(&written), Some((code, "")));
        let r = u16::from(code.class()) * 100 + 50;
        let wire = format!("{r}-{written} {text}\r\n{r} {written} end\r\n");
        match parse_reply(wire.as_bytes(), &big_opts()) {
            Ok(ReplyParse::Complete { reply, .. }) => {
                prop_assert_eq!(reply.enhanced(), Some(code));
                prop_assert_eq!(reply.lines().collect::<Vec<_>>(), &[text.clone(), "end".to_string()][..]);
            }
            other => prop_assert!(false, "{:?}", other),
        }
    }

    /// Codes: `new` accepts exactly the RFC 5321 §4.2 range.
    #[test]
    fn reply_code_range(n in any::<u16>()) {
        let valid = (200..=599).contains(&n) && (n / 10) % 10 <= 5;
        prop_assert_eq!(ReplyCode::new(n).is_some(), valid);
        prop_assert_eq!(ReplyCode::try_from(n).is_ok(), valid);
        if let Some(c) = ReplyCode::new(n) {
            prop_assert_eq!(ReplyCode::from_digits(c.digits()), Some(c));
        }
        let _: Result<ReplyCode, ReplyError> = ReplyCode::try_from(n);
    }
}
