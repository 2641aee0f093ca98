//! Property tests for the command layer: every command the generators build
//! encodes to one line that parses back to the same command, and no input, however
//! hostile, panics the parser.

use proptest::prelude::*;
use smtp_proto::wire::command::{Command, HeloSyntax, ParseOptions, parse_command};
use smtp_proto::wire::line::{Framed, LineEnding, frame_line};

fn label() -> impl Strategy<Value = String> {
    "[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?"
}

fn domain() -> impl Strategy<Value = String> {
    prop::collection::vec(label(), 1..4).prop_map(|l| l.join("."))
}

fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => domain(),
        1 => any::<[u8; 4]>().prop_map(|a| format!("[{}.{}.{}.{}]", a[0], a[1], a[2], a[3])),
        1 => any::<[u16; 8]>().prop_map(|a| format!("[IPv6:{}]", std::net::Ipv6Addr::from(a))),
    ]
}

fn local_part() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,10}(\\.[A-Za-z0-9_-]{1,8}){0,2}",
        1 => "[ a-z@,:;<>()\\[\\]]{0,10}".prop_map(|s| format!("\"{s}\"")),
    ]
}

fn mailbox() -> impl Strategy<Value = String> {
    (local_part(), host()).prop_map(|(l, h)| format!("{l}@{h}"))
}

fn mail_params() -> impl Strategy<Value = String> {
    (
        prop::option::of(any::<u64>()),
        prop::option::of(prop_oneof![
            Just("7BIT"),
            Just("8BITMIME"),
            Just("BINARYMIME")
        ]),
        any::<bool>(),
        prop::option::of(prop_oneof![Just("FULL"), Just("HDRS")]),
        prop::option::of("[A-Za-z0-9.]{1,20}"),
        any::<bool>(),
        prop::option::of(("X[A-Z0-9]{1,6}", prop::option::of("[A-Za-z0-9.]{1,8}"))),
    )
        .prop_map(|(size, body, utf8, ret, envid, requiretls, other)| {
            let mut s = String::new();
            if let Some(n) = size {
                s += &format!(" SIZE={n}");
            }
            if let Some(b) = body {
                s += &format!(" BODY={b}");
            }
            if utf8 {
                s += " SMTPUTF8";
            }
            if let Some(r) = ret {
                s += &format!(" RET={r}");
            }
            if let Some(e) = envid {
                s += &format!(" ENVID={e}");
            }
            if requiretls {
                s += " REQUIRETLS";
            }
            if let Some((k, v)) = other {
                s += &format!(" {k}");
                if let Some(v) = v {
                    s += &format!("={v}");
                }
            }
            s
        })
}

fn rcpt_params() -> impl Strategy<Value = String> {
    (
        prop::option::of(prop_oneof![
            Just("NEVER"),
            Just("SUCCESS"),
            Just("SUCCESS,FAILURE"),
            Just("FAILURE,DELAY"),
            Just("SUCCESS,FAILURE,DELAY"),
        ]),
        prop::option::of(mailbox()),
    )
        .prop_map(|(notify, orcpt)| {
            let mut s = String::new();
            if let Some(n) = notify {
                s += &format!(" NOTIFY={n}");
            }
            if let Some(o) = orcpt {
                s += &format!(" ORCPT=rfc822;{}", smtp_proto::wire::xtext::encode(&o));
            }
            s
        })
}

/// Lines in canonical form (upper-case verbs, canonical parameter order).
fn command_line() -> impl Strategy<Value = String> {
    prop_oneof![
        domain().prop_map(|d| format!("HELO {d}")),
        host().prop_map(|h| format!("EHLO {h}")),
        host().prop_map(|h| format!("LHLO {h}")),
        (prop::option::of(mailbox()), mail_params())
            .prop_map(|(m, p)| format!("MAIL FROM:<{}>{p}", m.unwrap_or_default())),
        (mailbox(), rcpt_params()).prop_map(|(m, p)| format!("RCPT TO:<{m}>{p}")),
        rcpt_params().prop_map(|p| format!("RCPT TO:<Postmaster>{p}")),
        Just("DATA".to_string()),
        (any::<u64>(), any::<bool>()).prop_map(|(n, last)| if last {
            format!("BDAT {n} LAST")
        } else {
            format!("BDAT {n}")
        }),
        Just("RSET".to_string()),
        // Not starting with '"': a quoted-string argument is decoded, and its
        // canonical form may differ (see `string_arguments_roundtrip`).
        "[!#-~][!-~]{0,19}( [!-~]{1,10})?".prop_map(|s| format!("VRFY {s}")),
        "[!#-~][!-~]{0,19}".prop_map(|s| format!("EXPN {s}")),
        prop::option::of("[!#-~][!-~]{0,19}")
            .prop_map(|s| s.map_or("HELP".into(), |s| format!("HELP {s}"))),
        prop::option::of("[!-~]{1,20}")
            .prop_map(|s| s.map_or("NOOP".into(), |s| format!("NOOP {s}"))),
        Just("QUIT".to_string()),
        Just("STARTTLS".to_string()),
        (
            prop_oneof![
                Just("PLAIN"),
                Just("LOGIN"),
                Just("XOAUTH2"),
                Just("OAUTHBEARER"),
                Just("SCRAM-SHA-256")
            ],
            prop::option::of(prop_oneof![
                Just("=".to_string()),
                "[A-Za-z0-9+/]{4,40}={0,2}"
            ]),
        )
            .prop_map(|(m, ir)| match ir {
                Some(ir) => format!("AUTH {m} {ir}"),
                None => format!("AUTH {m}"),
            }),
        "X[A-Z]{2,8}( [!-~]{1,10}){0,3}",
    ]
}

proptest! {
    #[test]
    fn canonical_lines_roundtrip(line in command_line()) {
        let opts = ParseOptions::default();
        let cmd = parse_command(line.as_bytes(), &opts)
            .map_err(|e| TestCaseError::fail(format!("{line}: {e}")))?;
        let bytes = cmd.to_bytes();
        prop_assert_eq!(String::from_utf8_lossy(&bytes), format!("{line}\r\n"));
        // The encoding is exactly one line, which parses back to the same command.
        match frame_line(&bytes, 4096, LineEnding::Strict) {
            Framed::Line { line: again, consumed } => {
                prop_assert_eq!(consumed, bytes.len());
                prop_assert_eq!(parse_command(again, &opts).unwrap(), cmd.clone());
            }
            other => prop_assert!(false, "not one line: {:?}", other),
        }
        prop_assert!(cmd.validate(&opts).is_ok());
        prop_assert_eq!(cmd.clone().into_owned(), cmd);
    }

    #[test]
    fn verbs_are_case_insensitive(line in command_line(), mask in any::<u64>()) {
        let opts = ParseOptions::default();
        let (verb, rest) = line.split_once(' ').unwrap_or((&line, ""));
        let mixed: String = verb
            .chars()
            .enumerate()
            .map(|(i, c)| if mask >> (i % 64) & 1 == 1 { c.to_ascii_lowercase() } else { c })
            .collect();
        let mixed = if rest.is_empty() { mixed } else { format!("{mixed} {rest}") };
        let a = parse_command(line.as_bytes(), &opts).unwrap();
        // Unknown verbs are kept as sent, so only known ones compare equal.
        if a.verb().is_some() {
            prop_assert_eq!(parse_command(mixed.as_bytes(), &opts).unwrap(), a);
        }
    }

    /// RFC 5321 §4.1.1: trailing white space before CRLF is tolerated and
    /// stripped, whatever the command.
    #[test]
    fn trailing_white_space_is_ignored(line in command_line(), tail in "[ \t]{1,8}") {
        let opts = ParseOptions::default();
        let plain = parse_command(line.as_bytes(), &opts).unwrap();
        let padded = format!("{line}{tail}");
        let cmd = parse_command(padded.as_bytes(), &opts)
            .map_err(|e| TestCaseError::fail(format!("{padded:?}: {e}")))?;
        prop_assert_eq!(&cmd, &plain);
        let bytes = cmd.to_bytes();
        prop_assert_eq!(String::from_utf8_lossy(&bytes), format!("{line}\r\n"));
    }

    /// RFC 5321 §4.1.2: the VRFY, EXPN and HELP argument is `Atom /
    /// Quoted-string`. Any value encodes (quoted when needed) to a line that
    /// parses back to it, and a quoted-string of the value, trailing white
    /// space and all, decodes to it.
    #[test]
    fn string_arguments_roundtrip(value in "[ -~\u{a0}-\u{17f}]{0,20}", verb in 0..3u8, tail in "[ \t]{0,3}") {
        let opts = ParseOptions::default();
        let cmd = match verb {
            0 => Command::Vrfy(value.clone().into()),
            1 => Command::Expn(value.clone().into()),
            _ => Command::Help(Some(value.clone().into())),
        };
        let bytes = cmd.to_bytes();
        prop_assert_eq!(parse_command(&bytes[..bytes.len() - 2], &opts), Ok(cmd.clone()));
        prop_assert!(cmd.validate(&opts).is_ok());
        let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
        let quoted = format!("VRFY \"{escaped}\"{tail}");
        prop_assert_eq!(parse_command(quoted.as_bytes(), &opts), Ok(Command::Vrfy(value.into())));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600), utf8 in any::<bool>(), lenient in any::<bool>()) {
        let opts = ParseOptions {
            smtputf8: utf8,
            utf8_transaction: utf8,
            helo: if lenient { HeloSyntax::Lenient } else { HeloSyntax::Strict },
            ..ParseOptions::default()
        };
        if let Ok(cmd) = parse_command(&bytes, &opts) {
            // Whatever parses re-encodes to one line without CR, LF or NUL.
            let out = cmd.to_bytes();
            prop_assert!(!out[..out.len() - 2].iter().any(|&b| b == b'\r' || b == b'\n' || b == 0));
            let again = parse_command(&out[..out.len() - 2], &opts);
            prop_assert_eq!(again.map(Command::into_owned), Ok(cmd.into_owned()));
        }
    }

    #[test]
    fn grammar_shaped_garbage_never_panics(line in "(MAIL FROM:|RCPT TO:|EHLO |BDAT |AUTH )[<>@\\[\\]:.\"\\\\a-zA-Z0-9 =+,;-]{0,80}") {
        let _ = parse_command(line.as_bytes(), &ParseOptions::default());
    }
}
