use super::*;
use alloc::string::ToString;
use alloc::vec;

fn opts() -> ReplyParseOptions {
    ReplyParseOptions::default()
}

fn parse(buf: &[u8]) -> Result<ReplyParse, ReplyError> {
    parse_reply(buf, &opts())
}

fn complete(buf: &[u8]) -> (Reply, usize) {
    match parse(buf) {
        Ok(ReplyParse::Complete { reply, consumed }) => (reply, consumed),
        other => panic!("{:?}: {other:?}", core::str::from_utf8(buf)),
    }
}

fn round_trip(r: &Reply) {
    let bytes = r.to_bytes();
    assert_eq!(bytes.len(), r.encoded_len());
    let big = ReplyParseOptions {
        max_lines: 100_000,
        ..opts()
    };
    assert_eq!(
        parse_reply(&bytes, &big),
        Ok(ReplyParse::Complete {
            reply: r.clone(),
            consumed: bytes.len()
        }),
        "{:?}",
        core::str::from_utf8(&bytes)
    );
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        assert!(line.len() <= 512, "{} octets", line.len());
        assert_eq!(&line[..3], &r.code().digits());
    }
    assert_eq!(&Reply::new(r.code(), r.enhanced(), r.text()), r);
}

#[test]
fn rfc5321_multiline_example() {
    // RFC 5321 §4.2.1.
    let wire = b"250-First line\r\n250-Second line\r\n250-234 Text beginning with numbers\r\n250 The last line\r\n";
    let (r, n) = complete(wire);
    assert_eq!(n, wire.len());
    assert_eq!(r.code(), ReplyCode::OK);
    assert_eq!(r.enhanced(), None);
    assert_eq!(
        r.lines().collect::<Vec<_>>(),
        [
            "First line",
            "Second line",
            "234 Text beginning with numbers",
            "The last line"
        ]
    );
    assert!(r.is_multiline());
    assert_eq!(r.to_bytes(), wire);
}

#[test]
fn rfc5321_appendix_d_ehlo() {
    let wire = b"250-foo.com greets bar.com\r\n250-8BITMIME\r\n250-SIZE\r\n250-DSN\r\n250 HELP\r\n";
    let (r, n) = complete(wire);
    assert_eq!(n, wire.len());
    assert_eq!(
        r.lines().collect::<Vec<_>>(),
        ["foo.com greets bar.com", "8BITMIME", "SIZE", "DSN", "HELP"]
    );
    assert_eq!(r.to_bytes(), wire);
    assert_eq!(
        r.to_string(),
        "250-foo.com greets bar.com\n250-8BITMIME\n250-SIZE\n250-DSN\n250 HELP"
    );
}

#[test]
fn single_lines() {
    let (r, n) = complete(b"250 OK\r\n");
    assert_eq!(
        (r.code(), r.lines().collect::<Vec<_>>(), n),
        (ReplyCode::OK, vec!["OK"], 8)
    );
    assert!(!r.is_multiline());

    let (r, n) = complete(b"250\r\n");
    assert_eq!((r.lines().collect::<Vec<_>>(), n), (vec![""], 5));
    assert_eq!(r.to_bytes(), b"250\r\n");

    // Lenient: "250 " with empty text.
    let (r, _) = complete(b"250 \r\n");
    assert_eq!(r.lines().collect::<Vec<_>>(), [""]);
    assert_eq!(r.to_bytes(), b"250\r\n");

    let wire = b"354 Start mail input; end with <CRLF>.<CRLF>\r\n";
    let (r, _) = complete(wire);
    assert_eq!(r.code(), ReplyCode::START_MAIL_INPUT);
    assert_eq!(r.class(), ReplyClass::PositiveIntermediate);
    assert_eq!(
        r.lines().collect::<Vec<_>>(),
        ["Start mail input; end with <CRLF>.<CRLF>"]
    );
    assert_eq!(r.to_bytes(), wire);

    let (r, _) = complete(b"220 mx.example.org ESMTP\ttab \xc3\xa9t\xc3\xa9\r\n");
    assert_eq!(
        r.lines().collect::<Vec<_>>(),
        ["mx.example.org ESMTP\ttab été"]
    );

    // Empty continuation lines.
    let (r, _) = complete(b"250-\r\n250-\r\n250 x\r\n");
    assert_eq!(r.lines().collect::<Vec<_>>(), ["", "", "x"]);
    assert_eq!(r.to_bytes(), b"250-\r\n250-\r\n250 x\r\n");
}

#[test]
fn enhanced_codes() {
    let (r, _) = complete(b"550 5.1.1 User unknown\r\n");
    assert_eq!(r.enhanced(), Some(EnhancedCode::BAD_DESTINATION_MAILBOX));
    assert_eq!(r.lines().collect::<Vec<_>>(), ["User unknown"]);
    assert_eq!(r.to_bytes(), b"550 5.1.1 User unknown\r\n");

    // Wrong class: stays in the text.
    let (r, _) = complete(b"250 5.1.1 x\r\n");
    assert_eq!(r.enhanced(), None);
    assert_eq!(r.lines().collect::<Vec<_>>(), ["5.1.1 x"]);
    assert_eq!(r.to_bytes(), b"250 5.1.1 x\r\n");

    let (r, _) = complete(b"250-2.1.0 a\r\n250 2.1.0 b\r\n");
    assert_eq!(r.enhanced(), Some(EnhancedCode::SENDER_OK));
    assert_eq!(r.lines().collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(r.to_bytes(), b"250-2.1.0 a\r\n250 2.1.0 b\r\n");

    // A line without the prefix keeps its text; re-encoding adds the prefix.
    let (r, _) = complete(b"250-2.1.0 a\r\n250 b\r\n");
    assert_eq!(r.lines().collect::<Vec<_>>(), ["a", "b"]);
    // Another code on a later line is not stripped.
    let (r, _) = complete(b"250-2.1.0 a\r\n250 2.1.5 b\r\n");
    assert_eq!(r.lines().collect::<Vec<_>>(), ["a", "2.1.5 b"]);
    round_trip(&r);

    // The code alone, and the code followed by something other than SP.
    let (r, _) = complete(b"221 2.0.0\r\n");
    assert_eq!(
        (r.enhanced(), r.lines().collect::<Vec<_>>()),
        (Some(EnhancedCode::OK), vec![""])
    );
    assert_eq!(r.to_bytes(), b"221 2.0.0\r\n");
    let (r, _) = complete(b"250 2.0.0x\r\n");
    assert_eq!(
        (r.enhanced(), r.lines().collect::<Vec<_>>()),
        (None, vec!["2.0.0x"])
    );
    let (r, _) = complete(b"250 2.0.0\tx\r\n");
    assert_eq!(r.enhanced(), None);
    // Leading zeros are allowed (RFC 3463 §2, 1*3digit): read by value, and
    // stripped from every line whose code has the same value however spelled.
    let (r, _) = complete(b"550 5.01.1 x\r\n");
    assert_eq!(
        (r.enhanced(), r.lines().collect::<Vec<_>>()),
        (Some(EnhancedCode::BAD_DESTINATION_MAILBOX), vec!["x"])
    );
    assert_eq!(r.to_bytes(), b"550 5.1.1 x\r\n");
    let (r, _) = complete(b"250-2.0.00 a\r\n250-2.0.0 b\r\n250 2.000.000\r\n");
    assert_eq!(
        (r.enhanced(), r.lines().collect::<Vec<_>>()),
        (Some(EnhancedCode::OK), vec!["a", "b", ""])
    );
    let (r, _) = complete(b"250 2.0.0000 x\r\n");
    assert_eq!(
        (r.enhanced(), r.lines().collect::<Vec<_>>()),
        (None, vec!["2.0.0000 x"])
    );
    // 3yz replies never carry one.
    let (r, _) = complete(b"334 2.0.0 x\r\n");
    assert_eq!(r.enhanced(), None);
    // Detection is on the first line only.
    let (r, _) = complete(b"250-a\r\n250 2.0.0 b\r\n");
    assert_eq!(
        (r.enhanced(), r.lines().collect::<Vec<_>>()),
        (None, vec!["a", "2.0.0 b"])
    );
    // Stripped once only.
    let (r, _) = complete(b"250 2.0.0 2.0.0 x\r\n");
    assert_eq!(r.lines().collect::<Vec<_>>(), ["2.0.0 x"]);
    round_trip(&r);
}

#[test]
fn partial_at_every_byte() {
    let wire: &[u8] =
        b"250-mx.example.org Hello\r\n250-2.0.0 PIPELINING\r\n250-\r\n250 2.0.0 8BITMIME\r\n";
    for n in 0..wire.len() {
        assert_eq!(parse(&wire[..n]), Ok(ReplyParse::Partial), "{n}");
    }
    let (r, consumed) = complete(wire);
    assert_eq!(consumed, wire.len());
    // Detection happened on the first line, which had no enhanced code.
    assert_eq!(r.enhanced(), None);
    let mut more = wire.to_vec();
    more.extend_from_slice(b"250 next\r\n");
    assert_eq!(complete(&more), (r, wire.len()));
}

#[test]
fn code_errors() {
    assert_eq!(
        parse(b"250-a\r\n251 b\r\n"),
        Err(ReplyError::InconsistentCode)
    );
    // Reported as soon as the code is seen.
    assert_eq!(parse(b"250-a\r\n251"), Err(ReplyError::InconsistentCode));
    for bad in [
        &b"199 x\r\n"[..],
        b"600 x\r\n",
        b"260 x\r\n",
        b"099 x\r\n",
        b"000\r\n",
    ] {
        assert_eq!(parse(bad), Err(ReplyError::CodeOutOfRange), "{bad:?}");
    }
    for bad in [
        &b"25a x\r\n"[..],
        b"a",
        b"2 0 x\r\n",
        b"25\r\n",
        b"\r\n",
        b" 250 x\r\n",
        b"+OK\r\n",
    ] {
        assert_eq!(parse(bad), Err(ReplyError::InvalidCode), "{bad:?}");
    }
    for bad in [
        &b"250x\r\n"[..],
        b"250\tx\r\n",
        b"2500 x\r\n",
        b"250=x",
        b"250-a\r\n250_b\r\n",
    ] {
        assert_eq!(parse(bad), Err(ReplyError::BadSeparator), "{bad:?}");
    }
    assert_eq!(parse(b""), Ok(ReplyParse::Partial));
    assert_eq!(parse(b"25"), Ok(ReplyParse::Partial));
    assert_eq!(parse(b"250"), Ok(ReplyParse::Partial));
    assert_eq!(parse(b"250\r"), Ok(ReplyParse::Partial));
}

#[test]
fn line_length() {
    // Exactly 512 octets with CRLF.
    let mut ok = b"250 ".to_vec();
    ok.extend(vec![b'a'; 512 - 6]);
    ok.extend_from_slice(b"\r\n");
    assert_eq!(ok.len(), 512);
    assert_eq!(complete(&ok).1, 512);
    let mut long = b"250 ".to_vec();
    long.extend(vec![b'a'; 512 - 5]);
    long.extend_from_slice(b"\r\n");
    assert_eq!(parse(&long), Err(ReplyError::LineTooLong));
    // Detected without waiting for the line end.
    assert_eq!(parse(&long[..511]), Err(ReplyError::LineTooLong));
    assert_eq!(parse(&long[..510]), Ok(ReplyParse::Partial));
    assert_eq!(
        parse(
            &vec![b'5'; 3]
                .into_iter()
                .chain(vec![b' '; 10_000])
                .collect::<Vec<_>>()
        ),
        Err(ReplyError::LineTooLong)
    );

    // Lenient: a bare LF is one octet of line ending.
    let lenient = ReplyParseOptions {
        line_ending: LineEnding::Lenient,
        ..opts()
    };
    let mut lf = b"250 ".to_vec();
    lf.extend(vec![b'a'; 512 - 5]);
    lf.push(b'\n');
    assert_eq!(lf.len(), 512);
    assert!(matches!(
        parse_reply(&lf, &lenient),
        Ok(ReplyParse::Complete { consumed: 512, .. })
    ));
    let mut crlf = lf.clone();
    crlf.insert(511, b'\r');
    assert_eq!(parse_reply(&crlf, &lenient), Err(ReplyError::LineTooLong));

    // A larger limit, and a limit below the RFC minimum counts as 512.
    let big = ReplyParseOptions {
        max_line_len: 1000,
        ..opts()
    };
    assert!(matches!(
        parse_reply(&long, &big),
        Ok(ReplyParse::Complete { .. })
    ));
    let small = ReplyParseOptions {
        max_line_len: 10,
        ..opts()
    };
    assert!(matches!(
        parse_reply(&ok, &small),
        Ok(ReplyParse::Complete { .. })
    ));
}

#[test]
fn too_many_lines() {
    let three = ReplyParseOptions {
        max_lines: 3,
        ..opts()
    };
    assert!(matches!(
        parse_reply(b"250-a\r\n250-b\r\n250 c\r\n", &three),
        Ok(ReplyParse::Complete { .. })
    ));
    assert_eq!(
        parse_reply(b"250-a\r\n250-b\r\n250-c\r\n250 d\r\n", &three),
        Err(ReplyError::TooManyLines)
    );
    // Known as soon as the third line turns out to be a continuation.
    assert_eq!(
        parse_reply(b"250-a\r\n250-b\r\n250-c\r\n", &three),
        Err(ReplyError::TooManyLines)
    );
    let zero = ReplyParseOptions {
        max_lines: 0,
        ..opts()
    };
    assert!(matches!(
        parse_reply(b"250 a\r\n", &zero),
        Ok(ReplyParse::Complete { .. })
    ));
    assert_eq!(
        parse_reply(b"250-a\r\n", &zero),
        Err(ReplyError::TooManyLines)
    );
}

#[test]
fn bad_text_and_line_endings() {
    assert_eq!(parse(b"250 a\0b\r\n"), Err(ReplyError::InvalidText));
    assert_eq!(parse(b"250 a\0"), Err(ReplyError::InvalidText));
    assert_eq!(parse(b"250 a\x1bb\r\n"), Err(ReplyError::InvalidText));
    assert_eq!(parse(b"250 a\x7fb\r\n"), Err(ReplyError::InvalidText));
    assert_eq!(parse(b"250 a\xffb\r\n"), Err(ReplyError::InvalidText));
    assert_eq!(parse(b"250 \xc3\r\n"), Err(ReplyError::InvalidText));
    assert_eq!(
        parse(b"250-\xc3\r\n250 a\r\n"),
        Err(ReplyError::InvalidText)
    );
    assert_eq!(parse(b"250 a\rb\r\n"), Err(ReplyError::BareLineEnding));
    assert_eq!(parse(b"250 a\rb"), Err(ReplyError::BareLineEnding));
    assert_eq!(parse(b"250\rx"), Err(ReplyError::BareLineEnding));
    assert_eq!(parse(b"250 a\n"), Err(ReplyError::BareLineEnding));
    assert_eq!(parse(b"250\n"), Err(ReplyError::BareLineEnding));
    assert_eq!(parse(b"250-a\r\n250 b\n"), Err(ReplyError::BareLineEnding));

    let lenient = ReplyParseOptions {
        line_ending: LineEnding::Lenient,
        ..opts()
    };
    match parse_reply(b"250-a\n250-b\r\n250\nrest", &lenient) {
        Ok(ReplyParse::Complete { reply, consumed }) => {
            assert_eq!(reply.lines().collect::<Vec<_>>(), ["a", "b", ""]);
            assert_eq!(consumed, 17);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        parse_reply(b"250 a\rb\n", &lenient),
        Err(ReplyError::BareLineEnding)
    );
}

#[test]
fn builder_cannot_inject() {
    let r = Reply::new(ReplyCode::OK, None, "a\r\n550 evil\r\nb");
    assert_eq!(r.lines().collect::<Vec<_>>(), ["a", "550 evil", "b"]);
    let bytes = r.to_bytes();
    assert_eq!(bytes, b"250-a\r\n250-550 evil\r\n250 b\r\n");
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        assert!(line.starts_with(b"250"));
    }
    // The whole thing is one reply, nothing after it.
    assert_eq!(complete(&bytes), (r.clone(), bytes.len()));
    round_trip(&r);

    // Lone CR, lone LF, CRLF, LFCR.
    let r = Reply::new(ReplyCode::OK, None, "a\rb\nc\r\nd\n\re");
    assert_eq!(r.lines().collect::<Vec<_>>(), ["a", "b", "c", "d", "", "e"]);
    round_trip(&r);
    // A trailing line end gives an empty last line.
    let r = Reply::new(ReplyCode::OK, None, "a\r\n");
    assert_eq!(r.lines().collect::<Vec<_>>(), ["a", ""]);
    assert_eq!(r.to_bytes(), b"250-a\r\n250\r\n");
    round_trip(&r);
    // A line that would end the reply early: "250 " within the text.
    let r = Reply::new(ReplyCode::OK, None, "x\n250 done\n550 bad");
    round_trip(&r);

    // Controls.
    let r = Reply::new(ReplyCode::OK, None, "a\0b\x1b[31mc\x7f\td\u{e9}");
    assert_eq!(r.lines().collect::<Vec<_>>(), ["a?b?[31mc?\td\u{e9}"]);
    round_trip(&r);
    let r = Reply::new(ReplyCode::OK, None, "");
    assert_eq!(r.lines().collect::<Vec<_>>(), [""]);
    assert_eq!(r.to_bytes(), b"250\r\n");
    round_trip(&r);
}

#[test]
fn builder_enhanced() {
    let r = Reply::new(ReplyCode::OK, Some(EnhancedCode::OK), "");
    assert_eq!(r.to_bytes(), b"250 2.0.0\r\n");
    round_trip(&r);
    let r = Reply::new(ReplyCode::OK, Some(EnhancedCode::OK), "a\n\nb");
    assert_eq!(r.to_bytes(), b"250-2.0.0 a\r\n250-2.0.0\r\n250 2.0.0 b\r\n");
    round_trip(&r);
    // Text that starts with the same code keeps it.
    let r = Reply::new(ReplyCode::OK, Some(EnhancedCode::OK), "2.0.0 x");
    assert_eq!(r.lines().collect::<Vec<_>>(), ["2.0.0 x"]);
    round_trip(&r);

    // Wrong class: dropped.
    let r = Reply::new(ReplyCode::OK, Some(EnhancedCode::SYNTAX_ERROR), "x");
    assert_eq!(r.enhanced(), None);
    assert_eq!(r.to_bytes(), b"250 x\r\n");
    let r = Reply::new(ReplyCode::START_MAIL_INPUT, Some(EnhancedCode::OK), "go");
    assert_eq!(r.enhanced(), None);

    // Text that looks like an enhanced code is read as one.
    let r = Reply::new(ReplyCode::OK, None, "2.1.0 Ok");
    assert_eq!(
        r,
        Reply::new(ReplyCode::OK, Some(EnhancedCode::SENDER_OK), "Ok")
    );
    round_trip(&r);
    let r = Reply::new(ReplyCode::OK, None, "2.1.0 a\n2.1.0 b\n2.1.5 c\nd");
    assert_eq!(r.enhanced(), Some(EnhancedCode::SENDER_OK));
    assert_eq!(r.lines().collect::<Vec<_>>(), ["a", "b", "2.1.5 c", "d"]);
    round_trip(&r);
    let r = Reply::new(ReplyCode::OK, None, "2.1.0");
    assert_eq!(
        (r.enhanced(), r.lines().collect::<Vec<_>>()),
        (Some(EnhancedCode::SENDER_OK), vec![""])
    );
    round_trip(&r);
    // Leading zeros are read by value (RFC 3463 §2).
    let r = Reply::new(ReplyCode::OK, None, "2.01.0 a\n2.1.00 b");
    assert_eq!(r.enhanced(), Some(EnhancedCode::SENDER_OK));
    assert_eq!(r.lines().collect::<Vec<_>>(), ["a", "b"]);
    round_trip(&r);
    // ... but only with the right class, a delimiter and on the first line.
    for text in ["5.1.1 x", "2.1.0x", "2.01.0x", "2.0001.0 x", "a\n2.1.0 b"] {
        let r = Reply::new(ReplyCode::OK, None, text);
        assert_eq!(r.enhanced(), None, "{text}");
        assert_eq!(r.text(), text);
        round_trip(&r);
    }
}

#[test]
fn builder_wraps_long_lines() {
    let long: String = (0..2000)
        .map(|i| if i % 7 == 6 { ' ' } else { 'x' })
        .collect();
    for enhanced in [None, Some(EnhancedCode::new(2, 999, 999).unwrap())] {
        let r = Reply::new(ReplyCode::OK, enhanced, &long);
        assert!(r.lines().collect::<Vec<_>>().len() >= 4);
        assert_eq!(r.lines().collect::<Vec<_>>().concat(), long);
        round_trip(&r);
    }
    // No spaces: hard breaks.
    let solid = "y".repeat(1500);
    let r = Reply::new(ReplyCode::OK, None, &solid);
    assert_eq!(r.lines().collect::<Vec<_>>()[0].len(), 506);
    assert_eq!(r.lines().collect::<Vec<_>>().concat(), solid);
    round_trip(&r);
    // Multi-byte characters are never split.
    let wide = "\u{20ac}".repeat(600);
    let r = Reply::new(ReplyCode::OK, Some(EnhancedCode::OK), &wide);
    assert_eq!(r.lines().collect::<Vec<_>>().concat(), wide);
    round_trip(&r);
    let emoji = "a\u{1f600}".repeat(300);
    let r = Reply::new(ReplyCode::OK, None, &emoji);
    round_trip(&r);
}

#[test]
fn from_lines_and_accessors() {
    let r = Reply::from_lines(ReplyCode::OK, None, ["mx", "PIPELINING", "SIZE 1000"]);
    assert_eq!(r.text(), "mx\nPIPELINING\nSIZE 1000");
    assert_eq!(r.clone().into_lines(), ["mx", "PIPELINING", "SIZE 1000"]);
    let empty: [&str; 0] = [];
    let r = Reply::from_lines(ReplyCode::CLOSING, None, empty);
    assert_eq!(r.lines().collect::<Vec<_>>(), [""]);
    assert_eq!(r.to_string(), "221");
    let r = Reply::new(
        ReplyCode::MAILBOX_UNAVAILABLE,
        Some(EnhancedCode::BAD_DESTINATION_MAILBOX),
        "User unknown",
    );
    assert_eq!(r.to_string(), "550 5.1.1 User unknown");
    assert_eq!(r.class(), ReplyClass::PermanentNegative);
}

#[test]
fn trailing_data_does_not_change_the_result() {
    let cases: [&[u8]; 8] = [
        b"250 OK\r\n",
        b"250-a\r\n251 b\r\n",
        b"250 a\0",
        b"2x",
        b"250 a\rb",
        b"250-2.0.0 a\r\n250 2.0.0 b\r\n",
        b"600",
        b"250 \xff\r\n",
    ];
    for case in cases {
        let base = parse(case);
        assert_ne!(base, Ok(ReplyParse::Partial));
        for extra in [&b""[..], b"\r\n", b"250 more\r\n", b"\0\0\0", b"\n"] {
            let mut buf = case.to_vec();
            buf.extend_from_slice(extra);
            assert_eq!(parse(&buf), base, "{case:?} + {extra:?}");
        }
    }
}

#[test]
fn options() {
    let o = ReplyParseOptions::default();
    assert_eq!(
        (o.max_line_len, o.max_lines, o.line_ending),
        (512, 100, LineEnding::Strict)
    );
    let o = ReplyParseOptions::from_limits(&Limits::RFC_MINIMUM, LineEnding::Lenient);
    assert_eq!(
        (o.max_line_len, o.max_lines, o.line_ending),
        (512, 32, LineEnding::Lenient)
    );
}

/// The word-at-a-time text scan against the byte-by-byte rule, for every
/// byte value at every offset of texts of 1 to 17 bytes, amid other bytes.
#[test]
fn scan_text_matches_the_byte_rule() {
    for len in 1..=17usize {
        for at in 0..len {
            for fill in [b'a', b'\t', 0x7e, 0xff] {
                for b in 0..=255u8 {
                    let mut text = alloc::vec![fill; len];
                    text[at] = b;
                    let eol = text.iter().position(|&b| b == b'\r' || b == b'\n');
                    let before = &text[..eol.unwrap_or(len)];
                    let control = before
                        .iter()
                        .any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f);
                    let high = before.iter().any(|&b| b >= 0x80);
                    assert_eq!(
                        super::scan_text(&text),
                        (eol, control, high),
                        "{b:#x} at {at}/{len}"
                    );
                }
            }
        }
    }
}

/// The fast scanner agrees with the byte-by-byte one (verdict and length) on
/// replies built from line-ending, control, non-ASCII and ordinary bytes,
/// around the line-length limit, under both line-ending policies.
#[test]
fn scan_matches_byte_by_byte_scan() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    let piece = prop_oneof![
        Just(&b"250-"[..]),
        Just(&b"250 "[..]),
        Just(&b"251 "[..]),
        Just(&b"250"[..]),
        Just(&b"\r\n"[..]),
        Just(&b"\r"[..]),
        Just(&b"\n"[..]),
        Just(&b"\t"[..]),
        Just(&b"\x01"[..]),
        Just(&b"\x7f"[..]),
        Just(&b"\xc3\xa9"[..]),
        Just(&b"\xc3"[..]),
        Just(&b"abcdefgh"[..]),
        Just(&[b'x'; 100][..]),
    ];
    let mut runner = TestRunner::new(Config {
        cases: 4000,
        ..Config::default()
    });
    runner
        .run(
            &(proptest::collection::vec(piece, 0..40), any::<bool>()),
            |(pieces, lenient)| {
                let mut buf = b"250-".to_vec();
                for p in pieces {
                    buf.extend_from_slice(p);
                }
                let opts = ReplyParseOptions {
                    line_ending: if lenient {
                        LineEnding::Lenient
                    } else {
                        LineEnding::Strict
                    },
                    ..opts()
                };
                for n in [buf.len(), buf.len() / 2, buf.len() / 3] {
                    let fast = super::scan(&buf[..n], &opts, &mut super::Spans::default())
                        .map(|r| r.map(|s| s.end));
                    prop_assert_eq!(fast, byte_by_byte_scan(&buf[..n], &opts));
                }
                Ok(())
            },
        )
        .unwrap();
}

/// The reply scanner as it was written first, one byte at a time in order:
/// the reference the fast scanner must agree with.
fn byte_by_byte_scan(buf: &[u8], opts: &ReplyParseOptions) -> Result<Option<usize>, ReplyError> {
    let max_len = opts.max_line_len.max(REPLY_LINE_MIN);
    let max_lines = opts.max_lines.max(1);
    let lenient = opts.line_ending == LineEnding::Lenient;
    // The shortest possible line ending at a content byte: CRLF, or LF if lenient.
    let min_ending = if lenient { 1 } else { 2 };
    let mut pos = 0usize;
    let mut first: Option<ReplyCode> = None;
    let mut lines = 0usize;
    loop {
        if lines == max_lines {
            return Err(ReplyError::TooManyLines);
        }
        let line = buf.get(pos..).unwrap_or_default();
        // Reply-code: three digits, in range, the same on every line.
        let head = &line[..line.len().min(3)];
        if !head.iter().all(u8::is_ascii_digit) {
            return Err(ReplyError::InvalidCode);
        }
        let [a, b, c, ..] = *line else {
            return Ok(None);
        };
        let code = ReplyCode::from_digits([a, b, c]).ok_or(ReplyError::CodeOutOfRange)?;
        match first {
            None => first = Some(code),
            Some(f) if f != code => return Err(ReplyError::InconsistentCode),
            Some(_) => {}
        }
        // Separator.
        let Some(&sep) = line.get(3) else {
            return Ok(None);
        };
        let (last, text_start) = match sep {
            b' ' => (true, 4),
            b'-' => (false, 4),
            b'\r' | b'\n' => (true, 3),
            _ => return Err(ReplyError::BadSeparator),
        };
        // Text up to the line end; every byte is checked in order.
        let mut i = text_start;
        let (text_end, line_len) = loop {
            let Some(&byte) = line.get(i) else {
                return Ok(None);
            };
            match byte {
                b'\r' => {
                    if i + 2 > max_len {
                        return Err(ReplyError::LineTooLong);
                    }
                    match line.get(i + 1) {
                        None => return Ok(None),
                        Some(b'\n') => break (i, i + 2),
                        Some(_) => return Err(ReplyError::BareLineEnding),
                    }
                }
                b'\n' => {
                    if !lenient {
                        return Err(ReplyError::BareLineEnding);
                    }
                    // i + 1 <= max_len: the byte before passed the check below.
                    break (i, i + 1);
                }
                _ => {
                    if i + 1 + min_ending > max_len {
                        return Err(ReplyError::LineTooLong);
                    }
                    if (byte < 0x20 && byte != b'\t') || byte == 0x7f {
                        return Err(ReplyError::InvalidText);
                    }
                    i += 1;
                }
            }
        };
        if core::str::from_utf8(&line[text_start..text_end]).is_err() {
            return Err(ReplyError::InvalidText);
        }
        lines += 1;
        pos += line_len;
        if last {
            return Ok(Some(pos));
        }
    }
}

/// Replies with more lines than `parse_reply` notes on the stack are built by
/// finding the lines again: the same reply either way, enhanced code and all.
#[test]
fn long_replies_parse_the_same_as_short_ones() {
    let opts = ReplyParseOptions {
        max_lines: 100,
        ..ReplyParseOptions::default()
    };
    for count in [1, super::SPANS - 1, super::SPANS, super::SPANS + 1, 60] {
        for enhanced in [None, Some(EnhancedCode::OK)] {
            let lines: Vec<String> = (0..count).map(|i| alloc::format!("line {i}")).collect();
            let built = Reply::from_lines(ReplyCode::OK, enhanced, &lines);
            let wire = built.to_bytes();
            match parse_reply(&wire, &opts) {
                Ok(ReplyParse::Complete { reply, consumed }) => {
                    assert_eq!(consumed, wire.len());
                    assert_eq!(reply, built, "{count} lines, {enhanced:?}");
                    assert_eq!(reply.line_count(), count);
                    assert!(reply.lines().eq(lines.iter().map(String::as_str)));
                }
                other => panic!("{count} lines: {other:?}"),
            }
        }
    }
}
