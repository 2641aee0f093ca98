//! Property tests for MAIL/RCPT parameters (RFC 5321 §4.1.2) and xtext (RFC 3461 §4).

use std::borrow::Cow;

use proptest::prelude::*;
use smtp_proto::wire::params::{
    AuthParam, Body, By, ByMode, ENVID_MAX, Hold, MailParameters, Notify, OriginalRecipient,
    ParamOptions, Parameter, RcptParameters, Ret, parse_mail_parameters, parse_rcpt_parameters,
};
use smtp_proto::wire::xtext;

const STRICT: ParamOptions = ParamOptions { allow_utf8: false };
const UTF8: ParamOptions = ParamOptions { allow_utf8: true };

/// Every keyword either parser interprets; generated unknown parameters avoid them.
const KNOWN: &[&str] = &[
    "SIZE",
    "BODY",
    "SMTPUTF8",
    "RET",
    "ENVID",
    "AUTH",
    "REQUIRETLS",
    "MT-PRIORITY",
    "HOLDFOR",
    "HOLDUNTIL",
    "BY",
    "NOTIFY",
    "ORCPT",
];

/// Printable text (no control characters), any script; at most 4 octets per
/// character, so 25 characters stay within ENVID's 100 octets.
fn printable(max_chars: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("\\PC{{1,{max_chars}}}")).expect("valid regex")
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        Just(Body::SevenBit),
        Just(Body::EightBitMime),
        Just(Body::BinaryMime)
    ]
}

fn ret() -> impl Strategy<Value = Ret> {
    prop_oneof![Just(Ret::Full), Just(Ret::Headers)]
}

fn auth() -> impl Strategy<Value = AuthParam<'static>> {
    prop_oneof![
        Just(AuthParam::Unknown),
        printable(30)
            .prop_filter("<> means Unknown", |s| s != "<>")
            .prop_map(|s| AuthParam::Mailbox(Cow::Owned(s))),
    ]
}

fn date_time() -> impl Strategy<Value = String> {
    (
        (0u32..=9999, 1u32..=12, 1u32..=28),
        (0u32..=23, 0u32..=59, 0u32..=60),
        proptest::option::of("[0-9]{1,6}"),
        prop_oneof![
            Just("Z".to_string()),
            Just("z".to_string()),
            ("[+-]", 0u32..=23, 0u32..=59).prop_map(|(s, h, m)| format!("{s}{h:02}:{m:02}")),
        ],
        prop_oneof![Just('T'), Just('t')],
    )
        .prop_map(|((y, mo, d), (h, mi, s), frac, off, t)| {
            let frac = frac.map(|f| format!(".{f}")).unwrap_or_default();
            format!("{y:04}-{mo:02}-{d:02}{t}{h:02}:{mi:02}:{s:02}{frac}{off}")
        })
}

fn hold() -> impl Strategy<Value = Hold<'static>> {
    prop_oneof![
        (0u32..=999_999_999).prop_map(Hold::For),
        date_time().prop_map(|t| Hold::Until(Cow::Owned(t))),
    ]
}

fn by() -> impl Strategy<Value = By> {
    (
        -999_999_999i32..=999_999_999,
        prop_oneof![Just(ByMode::Notify), Just(ByMode::Return)],
        any::<bool>(),
    )
        .prop_filter("R needs a positive by-time", |(t, m, _)| {
            *m == ByMode::Notify || *t > 0
        })
        .prop_map(|(time, mode, trace)| By { time, mode, trace })
}

/// Unknown parameters with distinct (case-insensitive) keywords. With `utf8`,
/// values may contain non-ASCII characters.
fn others(utf8: bool) -> impl Strategy<Value = Vec<Parameter<'static>>> {
    let value = if utf8 {
        "[!-<>-~\u{a0}-\u{10ffff}]{1,12}"
    } else {
        "[!-<>-~]{1,12}"
    };
    proptest::collection::vec(
        ("[A-Za-z0-9][A-Za-z0-9-]{0,12}", proptest::option::of(value)),
        0..5,
    )
    .prop_map(|params| {
        let mut out: Vec<Parameter<'static>> = Vec::new();
        for (k, v) in params {
            let clash = KNOWN.iter().any(|known| known.eq_ignore_ascii_case(&k))
                || out.iter().any(|p| p.keyword.eq_ignore_ascii_case(&k));
            if !clash {
                out.push(Parameter {
                    keyword: Cow::Owned(k),
                    value: v.map(Cow::Owned),
                });
            }
        }
        out
    })
}

fn mail_params(utf8: bool) -> impl Strategy<Value = MailParameters<'static>> {
    (
        (
            proptest::option::of(any::<u64>()),
            proptest::option::of(body()),
            any::<bool>(),
            proptest::option::of(ret()),
            proptest::option::of(printable(ENVID_MAX / 4)),
            proptest::option::of(auth()),
        ),
        (
            any::<bool>(),
            proptest::option::of(-9i8..=9),
            proptest::option::of(hold()),
            proptest::option::of(by()),
            others(utf8),
        ),
    )
        .prop_map(
            |(
                (size, body, smtputf8, ret, envid, auth),
                (requiretls, mt_priority, hold, by, other),
            )| MailParameters {
                size,
                body,
                smtputf8,
                ret,
                envid: envid.map(Cow::Owned),
                auth,
                requiretls,
                mt_priority,
                hold,
                by,
                other,
            },
        )
}

fn notify() -> impl Strategy<Value = Notify> {
    (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(success, failure, delay)| Notify {
        success,
        failure,
        delay,
    })
}

fn orcpt() -> impl Strategy<Value = OriginalRecipient<'static>> {
    (
        prop_oneof![
            Just("rfc822".to_string()),
            Just("utf-8".to_string()),
            "[A-Za-z0-9!#$%&'*+/?^_`{|}~-]{1,10}",
        ],
        printable(40),
    )
        .prop_map(|(t, a)| OriginalRecipient {
            addr_type: Cow::Owned(t),
            address: Cow::Owned(a),
        })
}

fn rcpt_params(utf8: bool) -> impl Strategy<Value = RcptParameters<'static>> {
    (
        proptest::option::of(notify()),
        proptest::option::of(orcpt()),
        others(utf8),
    )
        .prop_map(|(notify, orcpt, other)| RcptParameters {
            notify,
            orcpt,
            other,
        })
}

/// Input made of the characters that matter to the grammar, to reach deep paths.
fn grammar_soup() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just(" ".to_string()),
            Just("=".to_string()),
            Just("+".to_string()),
            Just(";".to_string()),
            Just(",".to_string()),
            Just("-".to_string()),
            Just(":".to_string()),
            Just("<>".to_string()),
            Just("\u{e9}".to_string()),
            Just("\0".to_string()),
            "[0-9A-Fa-z]{1,3}",
            proptest::sample::select(KNOWN).prop_map(str::to_string),
            proptest::sample::select(
                &[
                    "NEVER", "SUCCESS", "DELAY", "FULL", "8BITMIME", "rfc822", "T", "Z"
                ][..]
            )
            .prop_map(str::to_string),
        ],
        0..24,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #[test]
    fn xtext_roundtrip(s in any::<String>()) {
        let encoded = xtext::encode(&s);
        prop_assert!(xtext::is_xtext(&encoded));
        prop_assert!(encoded.bytes().all(|b| (33..=126).contains(&b) && b != b'='));
        prop_assert_eq!(xtext::decode(&encoded).unwrap(), s.as_str());
        prop_assert_eq!(xtext::decode_utf8(&encoded).unwrap(), s.as_str());
    }

    #[test]
    fn xtext_decode_never_panics(s in any::<String>()) {
        let decoded = xtext::decode(&s);
        if decoded.is_ok() {
            prop_assert!(xtext::is_xtext(&s));
        }
        let _ = xtext::decode_utf8(&s);
    }

    #[test]
    fn xtext_decode_reencodes(s in "([!-*,-<>-~]|\\+[0-9A-F]{2}){0,20}") {
        if let Ok(d) = xtext::decode(&s) {
            let encoded = xtext::encode(&d);
            prop_assert_eq!(xtext::decode(&encoded).unwrap(), d.as_ref());
        }
    }

    #[test]
    fn mail_roundtrip(p in mail_params(false)) {
        let wire = p.to_string();
        prop_assert_eq!(parse_mail_parameters(&wire, &STRICT), Ok(p.clone()), "wire {:?}", wire);
        prop_assert!(wire.is_ascii());
        prop_assert_eq!(p.is_empty(), wire.is_empty());
    }

    #[test]
    fn mail_roundtrip_utf8(p in mail_params(true)) {
        let wire = p.to_string();
        prop_assert_eq!(parse_mail_parameters(&wire, &UTF8), Ok(p.clone()), "wire {:?}", wire);
        prop_assert_eq!(p.clone().into_owned(), p);
    }

    #[test]
    fn rcpt_roundtrip(p in rcpt_params(false)) {
        let wire = p.to_string();
        prop_assert_eq!(parse_rcpt_parameters(&wire, &STRICT), Ok(p.clone()), "wire {:?}", wire);
        prop_assert!(wire.is_ascii());
        prop_assert_eq!(p.is_empty(), wire.is_empty());
    }

    #[test]
    fn rcpt_roundtrip_utf8(p in rcpt_params(true)) {
        let wire = p.to_string();
        prop_assert_eq!(parse_rcpt_parameters(&wire, &UTF8), Ok(p.clone()), "wire {:?}", wire);
        prop_assert_eq!(p.clone().into_owned(), p);
    }

    #[test]
    fn arbitrary_input_never_panics(s in any::<String>()) {
        for opts in [STRICT, UTF8] {
            let _ = parse_mail_parameters(&s, &opts);
            let _ = parse_rcpt_parameters(&s, &opts);
            let spaced = format!(" {s}");
            let _ = parse_mail_parameters(&spaced, &opts);
            let _ = parse_rcpt_parameters(&spaced, &opts);
        }
    }

    /// Whatever parses displays to a canonical form that parses back to the same value.
    #[test]
    fn parsed_input_is_stable(s in grammar_soup()) {
        let input = format!(" {s}");
        for opts in [STRICT, UTF8] {
            if let Ok(p) = parse_mail_parameters(&input, &opts) {
                let wire = p.to_string();
                prop_assert_eq!(parse_mail_parameters(&wire, &opts), Ok(p), "wire {:?}", wire);
            }
            if let Ok(p) = parse_rcpt_parameters(&input, &opts) {
                let wire = p.to_string();
                prop_assert_eq!(parse_rcpt_parameters(&wire, &opts), Ok(p), "wire {:?}", wire);
            }
        }
    }
}
