use super::*;
use crate::reply::{EnhancedCode, ReplyParse, ReplyParseOptions, parse_reply};
use alloc::borrow::Cow;
use alloc::vec;

fn parse_wire(wire: &[u8]) -> Reply {
    match parse_reply(wire, &ReplyParseOptions::default()) {
        Ok(ReplyParse::Complete { reply, consumed }) => {
            assert_eq!(consumed, wire.len());
            reply
        }
        other => panic!("{other:?}"),
    }
}

fn other(keyword: &str, params: &[&str]) -> Extension {
    Extension::Other {
        keyword: keyword.to_string(),
        params: params.iter().map(|p| p.to_string()).collect(),
    }
}

fn round_trip(caps: &Capabilities) {
    let reply = caps.to_reply();
    assert_eq!(Capabilities::from_ehlo_reply(&reply).as_ref(), Some(caps));
    assert_eq!(
        Capabilities::from_ehlo_reply(&parse_wire(&reply.to_bytes())).as_ref(),
        Some(caps)
    );
}

#[test]
fn postfix() {
    let wire = b"250-mail.example.com\r\n\
        250-PIPELINING\r\n\
        250-SIZE 10240000\r\n\
        250-VRFY\r\n\
        250-ETRN\r\n\
        250-STARTTLS\r\n\
        250-AUTH PLAIN LOGIN\r\n\
        250-AUTH=PLAIN LOGIN\r\n\
        250-ENHANCEDSTATUSCODES\r\n\
        250-8BITMIME\r\n\
        250-DSN\r\n\
        250-SMTPUTF8\r\n\
        250 CHUNKING\r\n";
    let caps = Capabilities::from_ehlo_reply(&parse_wire(wire)).unwrap();
    assert_eq!(caps.domain, "mail.example.com");
    assert_eq!(caps.greeting, "");
    assert_eq!(
        caps.extensions,
        vec![
            Extension::Pipelining,
            Extension::Size(Some(10240000)),
            other("VRFY", &[]),
            other("ETRN", &[]),
            Extension::StartTls,
            Extension::Auth(vec![Mechanism::Plain, Mechanism::Login]),
            Extension::EnhancedStatusCodes,
            Extension::EightBitMime,
            Extension::Dsn,
            Extension::SmtpUtf8,
            Extension::Chunking,
        ]
    );
    assert!(caps.pipelining() && caps.starttls() && caps.enhanced_status_codes());
    assert!(caps.eight_bit_mime() && caps.dsn() && caps.smtputf8() && caps.chunking());
    assert!(!caps.binary_mime() && !caps.requiretls());
    assert!(caps.supports_size());
    assert_eq!(caps.max_message_size(), Some(10240000));
    assert_eq!(caps.auth_mechanisms(), [Mechanism::Plain, Mechanism::Login]);
    assert!(caps.supports_auth(&Mechanism::Login));
    assert!(!caps.supports_auth(&Mechanism::XOAuth2));
    assert!(caps.has("vrfy") && caps.has("Etrn") && !caps.has("EXPN"));
    assert_eq!(caps.limits(), None);
    assert_eq!(caps.mt_priority(), None);
    assert_eq!(caps.deliver_by(), None);
    assert_eq!(caps.future_release(), None);
    // The duplicate AUTH= line is gone from the canonical form.
    let mut expected = wire.to_vec();
    let dup = b"250-AUTH=PLAIN LOGIN\r\n";
    let at = expected.windows(dup.len()).position(|w| w == dup).unwrap();
    expected.drain(at..at + dup.len());
    assert_eq!(caps.to_reply().to_bytes(), expected);
    round_trip(&caps);
}

#[test]
fn rfc5321_appendix_d() {
    let wire = b"250-foo.com greets bar.com\r\n250-8BITMIME\r\n250-SIZE\r\n250-DSN\r\n250 HELP\r\n";
    let caps = Capabilities::from_ehlo_reply(&parse_wire(wire)).unwrap();
    assert_eq!(caps.domain, "foo.com");
    assert_eq!(caps.greeting, "greets bar.com");
    assert_eq!(
        caps.extensions,
        vec![
            Extension::EightBitMime,
            Extension::Size(None),
            Extension::Dsn,
            other("HELP", &[]),
        ]
    );
    assert!(caps.supports_size());
    assert_eq!(caps.max_message_size(), None);
    assert_eq!(caps.to_reply().to_bytes(), wire);
    round_trip(&caps);
}

#[test]
fn single_line_and_non_250() {
    let caps = Capabilities::from_ehlo_reply(&parse_wire(b"250 mx.example.org\r\n")).unwrap();
    assert_eq!(caps, Capabilities::new("mx.example.org"));
    round_trip(&caps);
    assert_eq!(
        Capabilities::from_ehlo_reply(&parse_wire(b"502 no EHLO\r\n")),
        None
    );
    assert_eq!(
        Capabilities::from_ehlo_reply(&parse_wire(b"251 x\r\n")),
        None
    );
    // An empty first line.
    let caps = Capabilities::from_ehlo_reply(&parse_wire(b"250-\r\n250 DSN\r\n")).unwrap();
    assert_eq!((caps.domain.as_str(), caps.greeting.as_str()), ("", ""));
    assert!(caps.dsn());
    round_trip(&caps);
}

#[test]
fn garbage_lines_are_ignored() {
    let reply = Reply::from_lines(
        ReplyCode::OK,
        None,
        [
            "mx Hi there",
            "",
            "   ",
            "-PIPELINING",
            "PIPE_LINING",
            "SIZE abc",
            "SIZE 1 2",
            "SIZE 99999999999999999999999",
            "SIZE -1",
            "AUTH=",
            "DELIVERBY x",
            "DELIVERBY 1234567890",
            "FUTURERELEASE 604800",
            "FUTURERELEASE 604800 yesterday",
            "FUTURERELEASE 1234567890 2024-01-01T00:00:00Z",
            "MT-PRIORITY a_b",
            "MT-PRIORITY A B",
            "X-PARAM caf\u{e9}",
            "X-TAB a\tb",
            "\u{e9}T\u{e9}",
            "8bitmime",
            "SIZE 2000",
            "8BITMIME",
            "starttls   extra  words",
        ],
    );
    let caps = Capabilities::from_ehlo_reply(&reply).unwrap();
    assert_eq!(caps.domain, "mx");
    assert_eq!(caps.greeting, "Hi there");
    assert_eq!(
        caps.extensions,
        vec![
            Extension::Auth(vec![]),
            Extension::EightBitMime,
            Extension::Size(Some(2000)),
            Extension::StartTls,
        ]
    );
    assert_eq!(caps.auth_mechanisms(), []);
    // Every line not understood is reported, in order; the ones understood are not.
    for garbage in [
        "",
        "   ",
        "-PIPELINING",
        "PIPE_LINING",
        "SIZE abc",
        "X-TAB a\tb",
    ] {
        assert!(caps.ignored.iter().any(|l| l == garbage), "{garbage:?}");
    }
    for understood in ["AUTH=", "8bitmime", "SIZE 2000", "starttls   extra  words"] {
        assert!(
            !caps.ignored.iter().any(|l| l == understood),
            "{understood:?}"
        );
    }
    let mut caps = caps;
    caps.ignored.clear();
    round_trip(&caps);
}

#[test]
fn extension_parse_and_display() {
    for (line, ext, shown) in [
        ("PIPELINING", Extension::Pipelining, "PIPELINING"),
        ("pipelining x", Extension::Pipelining, "PIPELINING"),
        ("BINARYMIME", Extension::BinaryMime, "BINARYMIME"),
        ("REQUIRETLS", Extension::RequireTls, "REQUIRETLS"),
        ("SIZE 0", Extension::Size(Some(0)), "SIZE 0"),
        ("SIZE  007", Extension::Size(Some(7)), "SIZE 7"),
        (
            "SIZE 18446744073709551615",
            Extension::Size(Some(u64::MAX)),
            "SIZE 18446744073709551615",
        ),
        (
            "auth plain login xoauth2 oauthbearer scram-sha-256 PLAIN bad!name",
            Extension::Auth(vec![
                Mechanism::Plain,
                Mechanism::Login,
                Mechanism::XOAuth2,
                Mechanism::OAuthBearer,
                Mechanism::Other(Cow::Borrowed("SCRAM-SHA-256")),
            ]),
            "AUTH PLAIN LOGIN XOAUTH2 OAUTHBEARER SCRAM-SHA-256",
        ),
        ("AUTH", Extension::Auth(vec![]), "AUTH"),
        (
            "auth=login",
            Extension::Auth(vec![Mechanism::Login]),
            "AUTH LOGIN",
        ),
        ("MT-PRIORITY", Extension::MtPriority(None), "MT-PRIORITY"),
        (
            "mt-priority mixer",
            Extension::MtPriority(Some("MIXER".into())),
            "MT-PRIORITY MIXER",
        ),
        ("DELIVERBY", Extension::DeliverBy(None), "DELIVERBY"),
        (
            "DELIVERBY 240",
            Extension::DeliverBy(Some(240)),
            "DELIVERBY 240",
        ),
        (
            "FUTURERELEASE 604800 2024-12-31T23:59:60.5+01:00",
            Extension::FutureRelease {
                max_interval: 604800,
                max_datetime: "2024-12-31T23:59:60.5+01:00".into(),
            },
            "FUTURERELEASE 604800 2024-12-31T23:59:60.5+01:00",
        ),
        (
            "x-thing A=b c",
            other("X-THING", &["A=b", "c"]),
            "X-THING A=b c",
        ),
        (
            "XCLIENT NAME ADDR",
            other("XCLIENT", &["NAME", "ADDR"]),
            "XCLIENT NAME ADDR",
        ),
    ] {
        assert_eq!(Extension::parse(line), Some(ext.clone()), "{line}");
        assert_eq!(ext.to_string(), shown);
        assert_eq!(Extension::parse(shown), Some(ext));
    }
    for bad in [
        "",
        " ",
        "-X",
        "X_Y",
        "SIZE x",
        "SIZE 18446744073709551616",
        "AUTH=PLAIN=x\u{e9}",
        "FUTURERELEASE 1 2024-13-01T00:00:00Z",
        "FUTURERELEASE 1 2024-01-01 00:00:00Z",
        "FUTURERELEASE 1 2024-01-01T00:00:00",
        "FUTURERELEASE 1 2024-01-01T00:00:00.Z",
        "FUTURERELEASE 1 2024-01-01T24:00:00Z",
        "FUTURERELEASE 1 2024-01-01T00:00:00+0100",
        "DELIVERBY 1 2",
        "MT-PRIORITY -X",
        "X\u{e9}",
    ] {
        assert_eq!(Extension::parse(bad), None, "{bad}");
    }
    assert_eq!(
        Extension::parse("SIZE 5").map(|e| e.keyword().to_string()),
        Some("SIZE".into())
    );
}

#[test]
fn limits_rfc9422() {
    let reply = parse_wire(
        b"250-mx.example.net\r\n250-LIMITS RCPTMAX=20 MAILMAX=1000 RCPTDOMAINMAX=1\r\n250 PIPELINING\r\n",
    );
    let caps = Capabilities::from_ehlo_reply(&reply).unwrap();
    let limits = caps.limits().unwrap();
    assert_eq!(limits.rcpt_max, Some(20));
    assert_eq!(limits.mail_max, Some(1000));
    assert_eq!(limits.rcpt_domain_max, Some(1));
    assert!(limits.other.is_empty());
    assert_eq!(
        caps.extensions[0].to_string(),
        "LIMITS MAILMAX=1000 RCPTMAX=20 RCPTDOMAINMAX=1"
    );
    round_trip(&caps);

    // Unknown limits are kept, with or without a value; bad entries are dropped;
    // a repeated name keeps its first value.
    let ext = Extension::parse(
        "LIMITS rcptmax=5 RCPTMAX=6 MAILMAX=x FUTURE-LIMIT=a;b X_Y=7 FLAG bad!name=1 RCPTDOMAINMAX x_y=8",
    )
    .unwrap();
    let Extension::Limits(l) = &ext else { panic!() };
    assert_eq!(l.rcpt_max, Some(5));
    assert_eq!(l.mail_max, None);
    assert_eq!(l.rcpt_domain_max, None);
    assert_eq!(
        l.other,
        vec![
            ("X_Y".to_string(), Some("7".to_string())),
            ("FLAG".to_string(), None)
        ]
    );
    assert_eq!(ext.to_string(), "LIMITS RCPTMAX=5 X_Y=7 FLAG");
    assert_eq!(Extension::parse(&ext.to_string()), Some(ext));
    assert_eq!(
        Extension::parse("LIMITS"),
        Some(Extension::Limits(ServerLimits::default()))
    );
    assert_eq!(
        Extension::parse("LIMITS RCPTMAX=99999999999"),
        Some(Extension::Limits(ServerLimits::default()))
    );
}

#[test]
fn size_zero_means_no_limit() {
    let mut caps = Capabilities::new("mx");
    assert!(caps.push(Extension::Size(Some(0))));
    assert!(!caps.push(Extension::Size(Some(5))));
    assert!(caps.supports_size());
    assert_eq!(caps.max_message_size(), None);
    assert_eq!(caps.extensions.len(), 1);
}

#[test]
fn typed_getters() {
    let mut caps = Capabilities::new("[192.0.2.1]");
    caps.greeting = "ESMTP ready \u{2713}".into();
    for ext in [
        Extension::BinaryMime,
        Extension::RequireTls,
        Extension::MtPriority(Some("STANAG4406".into())),
        Extension::MtPriority(None),
        Extension::DeliverBy(Some(60)),
        Extension::FutureRelease {
            max_interval: 86400,
            max_datetime: "2030-01-01t00:00:00z".into(),
        },
        Extension::Limits(ServerLimits {
            mail_max: Some(3),
            rcpt_max: None,
            rcpt_domain_max: Some(0),
            other: vec![("NEWLIMIT".into(), None)],
        }),
        other("X-A", &["b"]),
    ] {
        caps.push(ext);
    }
    assert!(caps.binary_mime() && caps.requiretls());
    assert_eq!(caps.mt_priority(), Some(Some("STANAG4406")));
    assert_eq!(caps.deliver_by(), Some(Some(60)));
    assert_eq!(caps.future_release(), Some((86400, "2030-01-01t00:00:00z")));
    assert_eq!(caps.limits().and_then(|l| l.mail_max), Some(3));
    assert_eq!(caps.get("x-a"), Some(&other("X-A", &["b"])));
    assert_eq!(caps.extensions.len(), 7);
    round_trip(&caps);
}

#[test]
fn enhanced_prefix_on_ehlo_lines_is_tolerated() {
    // Some servers put an enhanced code on EHLO lines too.
    let reply = parse_wire(b"250-2.0.0 mx.example.org hi\r\n250 2.0.0 PIPELINING\r\n");
    assert_eq!(reply.enhanced(), Some(EnhancedCode::OK));
    let caps = Capabilities::from_ehlo_reply(&reply).unwrap();
    assert_eq!(caps.domain, "mx.example.org");
    assert_eq!(caps.greeting, "hi");
    assert!(caps.pipelining());
}

#[test]
fn domain_spelled_like_an_enhanced_code() {
    let mut caps = Capabilities::new("2.0.0");
    caps.greeting = "x".into();
    caps.push(Extension::Pipelining);
    assert_eq!(
        caps.to_reply().to_bytes(),
        b"250-2.0.0 2.0.0 x\r\n250 2.0.0 PIPELINING\r\n"
    );
    round_trip(&caps);
    let caps = Capabilities::new("2.0.0");
    round_trip(&caps);
    let caps = Capabilities::new("5.0.0");
    assert_eq!(caps.to_reply().to_bytes(), b"250 5.0.0\r\n");
    round_trip(&caps);
}
