//! EHLO capabilities (`ext`): `Capabilities::from_ehlo_reply`, `to_reply` and
//! `Extension::parse`.
//!
//! Input: one mode byte, then either a server's reply bytes (mode even: parsed with
//! `parse_reply`, as a client would) or lines of text (mode odd: built into a
//! `250` reply with `Reply::from_lines`).
//!
//! Asserts:
//! * no panic, in parsing or in any accessor;
//! * a `250` reply always gives capabilities, any other code none;
//! * what is read is canonical: `from_ehlo_reply(caps.to_reply()) == caps`, also
//!   through the wire (`to_bytes` then `parse_reply`); no keyword appears twice;
//! * every extension displays as an ehlo-line that parses back to itself, with the
//!   keyword it reports;
//! * `Extension::parse` of every input line round-trips the same way.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smtp_proto::ext::{Capabilities, Extension};
use smtp_proto::reply::{Reply, ReplyCode, ReplyParse, ReplyParseOptions, parse_reply};
use smtp_proto::wire::line::LineEnding;

fn check_extension(ext: &Extension) {
    let line = ext.to_string();
    assert_eq!(Extension::parse(&line).as_ref(), Some(ext), "{line:?}");
    assert!(line.starts_with(ext.keyword()));
    assert!(line.len() <= 506, "extension line of {} octets", line.len());
}

fn check_caps(reply: &Reply) {
    let caps = Capabilities::from_ehlo_reply(reply);
    assert_eq!(caps.is_some(), reply.code() == ReplyCode::OK);
    let Some(caps) = caps else { return };
    for (i, e) in caps.extensions.iter().enumerate() {
        check_extension(e);
        assert!(
            !caps.extensions[..i]
                .iter()
                .any(|x| x.keyword().eq_ignore_ascii_case(e.keyword())),
            "{} twice",
            e.keyword()
        );
        assert!(caps.has(e.keyword()));
    }
    let _ = (
        caps.pipelining(),
        caps.max_message_size(),
        caps.auth_mechanisms(),
        caps.limits(),
        caps.mt_priority(),
        caps.future_release(),
        caps.deliver_by(),
        caps.supports_size(),
        caps.chunking(),
        caps.smtputf8(),
    );
    // Lines not understood are reported, never written back out.
    assert!(caps.ignored.len() + caps.extensions.len() < reply.line_count().max(1));
    let mut caps = caps;
    caps.ignored.clear();
    let caps = caps;
    let out = caps.to_reply();
    assert_eq!(out.code(), ReplyCode::OK);
    assert_eq!(
        Capabilities::from_ehlo_reply(&out).as_ref(),
        Some(&caps),
        "to_reply: {out}"
    );
    let bytes = out.to_bytes();
    match parse_reply(&bytes, &ReplyParseOptions::default()) {
        Ok(ReplyParse::Complete { reply, consumed }) => {
            assert_eq!(consumed, bytes.len());
            assert_eq!(reply, out);
            assert_eq!(Capabilities::from_ehlo_reply(&reply).as_ref(), Some(&caps));
        }
        other => panic!("{:?} parses to {other:?}", String::from_utf8_lossy(&bytes)),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 {
        let opts = ReplyParseOptions {
            max_line_len: 512,
            max_lines: 200,
            line_ending: if mode & 2 != 0 {
                LineEnding::Lenient
            } else {
                LineEnding::Strict
            },
        };
        if let Ok(ReplyParse::Complete { reply, .. }) = parse_reply(rest, &opts) {
            check_caps(&reply);
            for line in reply.lines().skip(1) {
                if let Some(ext) = Extension::parse(line) {
                    check_extension(&ext);
                }
            }
        }
    } else {
        let text = smtp_proto_fuzz::input::text(rest);
        let lines: Vec<&str> = text.split('\n').take(200).collect();
        let code = if mode & 2 != 0 {
            ReplyCode::MAILBOX_UNAVAILABLE
        } else {
            ReplyCode::OK
        };
        let reply = Reply::from_lines(code, None, &lines);
        check_caps(&reply);
        for line in &lines {
            if let Some(ext) = Extension::parse(line) {
                let l = ext.to_string();
                assert_eq!(Extension::parse(&l).as_ref(), Some(&ext), "{l:?}");
            }
        }
    }
});
