//! Property tests for `smtp_proto::ext`: canonical capabilities round-trip
//! through an EHLO reply, and any EHLO reply is read without panicking into
//! capabilities that are themselves canonical.

use proptest::prelude::*;
use smtp_proto::ext::{Capabilities, Extension, ServerLimits};
use smtp_proto::reply::{Reply, ReplyCode, ReplyParse, ReplyParseOptions, parse_reply};
use smtp_proto::wire::sasl::Mechanism;

const KNOWN: [&str; 15] = [
    "PIPELINING",
    "8BITMIME",
    "ENHANCEDSTATUSCODES",
    "CHUNKING",
    "BINARYMIME",
    "SMTPUTF8",
    "DSN",
    "STARTTLS",
    "AUTH",
    "SIZE",
    "REQUIRETLS",
    "LIMITS",
    "MT-PRIORITY",
    "FUTURERELEASE",
    "DELIVERBY",
];

fn mechanisms() -> impl Strategy<Value = Vec<Mechanism<'static>>> {
    let name = prop_oneof![
        Just("PLAIN".to_string()),
        Just("LOGIN".to_string()),
        Just("XOAUTH2".to_string()),
        Just("OAUTHBEARER".to_string()),
        "[A-Z0-9_-]{1,20}",
    ];
    prop::collection::vec(name, 0..6).prop_map(|names| {
        let mut out: Vec<Mechanism<'static>> = Vec::new();
        for n in names {
            let m = Mechanism::parse(&n).unwrap().into_owned();
            if !out.contains(&m) {
                out.push(m);
            }
        }
        out
    })
}

fn server_limits() -> impl Strategy<Value = ServerLimits> {
    (
        proptest::option::of(any::<u32>()),
        proptest::option::of(any::<u32>()),
        proptest::option::of(any::<u32>()),
        prop::collection::vec(
            ("[A-Z0-9_-]{1,12}", proptest::option::of("[!-:<-~]{1,10}")),
            0..4,
        ),
    )
        .prop_map(|(mail_max, rcpt_max, rcpt_domain_max, raw)| {
            let mut other: Vec<(String, Option<String>)> = Vec::new();
            for (name, value) in raw {
                if ["MAILMAX", "RCPTMAX", "RCPTDOMAINMAX"].contains(&name.as_str())
                    || other.iter().any(|(n, _)| *n == name)
                {
                    continue;
                }
                other.push((name, value));
            }
            ServerLimits {
                mail_max,
                rcpt_max,
                rcpt_domain_max,
                other,
            }
        })
}

fn date_time() -> impl Strategy<Value = String> {
    (
        0u32..=9999,
        1u32..=12,
        1u32..=31,
        0u32..=23,
        0u32..=59,
        0u32..=60,
        proptest::option::of("[0-9]{1,6}"),
        prop_oneof![
            Just("Z".to_string()),
            Just("z".to_string()),
            (prop_oneof![Just('+'), Just('-')], 0u32..=23, 0u32..=59)
                .prop_map(|(s, h, m)| format!("{s}{h:02}:{m:02}")),
        ],
        prop_oneof![Just('T'), Just('t')],
    )
        .prop_map(|(y, mo, d, h, mi, s, frac, off, t)| {
            let frac = frac.map(|f| format!(".{f}")).unwrap_or_default();
            format!("{y:04}-{mo:02}-{d:02}{t}{h:02}:{mi:02}:{s:02}{frac}{off}")
        })
}

fn extension() -> impl Strategy<Value = Extension> {
    prop_oneof![
        Just(Extension::Pipelining),
        Just(Extension::EightBitMime),
        Just(Extension::EnhancedStatusCodes),
        Just(Extension::Chunking),
        Just(Extension::BinaryMime),
        Just(Extension::SmtpUtf8),
        Just(Extension::Dsn),
        Just(Extension::StartTls),
        Just(Extension::RequireTls),
        mechanisms().prop_map(Extension::Auth),
        proptest::option::of(any::<u64>()).prop_map(Extension::Size),
        server_limits().prop_map(Extension::Limits),
        proptest::option::of("[A-Z0-9][A-Z0-9-]{0,10}").prop_map(Extension::MtPriority),
        (0u32..=999_999_999, date_time()).prop_map(|(max_interval, max_datetime)| {
            Extension::FutureRelease {
                max_interval,
                max_datetime,
            }
        }),
        proptest::option::of(0u32..=999_999_999).prop_map(Extension::DeliverBy),
        (
            "[A-Z0-9][A-Z0-9-]{0,15}"
                .prop_filter("known keyword", |k| !KNOWN.contains(&k.as_str())),
            prop::collection::vec("[!-~]{1,10}", 0..5),
        )
            .prop_map(|(keyword, params)| Extension::Other { keyword, params }),
    ]
}

fn capabilities() -> impl Strategy<Value = Capabilities> {
    (
        prop_oneof![
            "[a-z0-9][a-z0-9.-]{0,30}",
            "\\[[0-9.]{1,15}\\]",
            "[245]\\.[0-9]\\.[0-9]",
            Just(String::new()),
        ],
        prop_oneof!["[ -~]{0,60}", "[ -~\u{a0}-\u{2fff}]{0,30}"],
        prop::collection::vec(extension(), 0..12),
    )
        .prop_map(|(domain, greeting, exts)| {
            let mut caps = Capabilities::new(domain);
            caps.greeting = greeting;
            for e in exts {
                caps.push(e);
            }
            caps
        })
}

fn garbage_line() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ -~]{0,40}",
        "(SIZE|AUTH|AUTH=|LIMITS|MT-PRIORITY|FUTURERELEASE|DELIVERBY|8bitmime|x-y)( [ -~]{0,12}){0,4}",
        "(SIZE|DELIVERBY) [0-9]{0,22}",
        "LIMITS( [a-zA-Z_=;0-9-]{0,14}){0,5}",
        "2\\.[0-9]\\.[0-9]( [ -~]{0,10})?",
        "FUTURERELEASE [0-9]{1,10} [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2})",
    ]
}

proptest! {
    /// Canonical capabilities survive to_reply → bytes → parse_reply → from_ehlo_reply.
    #[test]
    fn capabilities_round_trip(caps in capabilities()) {
        let reply = caps.to_reply();
        prop_assert_eq!(reply.code(), ReplyCode::OK);
        prop_assert_eq!(Capabilities::from_ehlo_reply(&reply), Some(caps.clone()));
        let bytes = reply.to_bytes();
        let parsed = match parse_reply(&bytes, &ReplyParseOptions::default()) {
            Ok(ReplyParse::Complete { reply, consumed }) => {
                prop_assert_eq!(consumed, bytes.len());
                reply
            }
            other => return Err(TestCaseError::fail(format!("{other:?}"))),
        };
        prop_assert_eq!(Capabilities::from_ehlo_reply(&parsed), Some(caps));
    }

    /// Every extension line parses back to itself.
    #[test]
    fn extension_display_round_trip(ext in extension()) {
        let line = ext.to_string();
        prop_assert_eq!(Extension::parse(&line), Some(ext));
    }

    /// Arbitrary EHLO replies never panic, and what is read is canonical:
    /// writing it out and reading it again gives the same capabilities.
    #[test]
    fn garbage_is_tolerated(lines in prop::collection::vec(garbage_line(), 0..10)) {
        let reply = Reply::from_lines(ReplyCode::OK, None, &lines);
        let caps = Capabilities::from_ehlo_reply(&reply);
        prop_assert!(caps.is_some());
        let mut caps = caps.unwrap();
        // Every extension line is either understood or reported as ignored.
        prop_assert!(caps.extensions.len() + caps.ignored.len() <= lines.len().saturating_sub(1) + 1);
        caps.ignored.clear();
        prop_assert_eq!(Capabilities::from_ehlo_reply(&caps.to_reply()), Some(caps.clone()));
        for ext in &caps.extensions {
            let again = Extension::parse(&ext.to_string());
            prop_assert_eq!(again.as_ref(), Some(ext));
        }
        let other = Reply::from_lines(ReplyCode::MAILBOX_UNAVAILABLE, None, &lines);
        prop_assert_eq!(Capabilities::from_ehlo_reply(&other), None);
    }

    /// Extension::parse never panics on any string.
    #[test]
    fn extension_parse_never_panics(line in any::<String>()) {
        let _ = Extension::parse(&line);
    }
}
