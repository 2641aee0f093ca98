//! Property tests for `smtp_proto::wire::path`: encoding then parsing gives the
//! same value, `LocalPart::from_value` round-trips, the IP literal parsers agree
//! with the standard library, and no input panics a parser.

use std::net::{Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;
use smtp_proto::wire::path::{
    AddressLiteral, Domain, ForwardPath, Host, LocalPart, Mailbox, PathOptions, ReversePath,
    parse_forward_path, parse_reverse_path,
};

fn opts(utf8: bool) -> PathOptions {
    PathOptions {
        allow_utf8: utf8,
        ..PathOptions::default()
    }
}

// ----- Strategies ----------------------------------------------------------

/// An Atom (RFC 5322 §3.2.3), with some non-ASCII atext under UTF-8.
fn atom(utf8: bool) -> BoxedStrategy<String> {
    if utf8 {
        "[A-Za-z0-9!#$%&'*+/=?^_`{|}~äöüßñж用户例\\-]{1,4}".boxed()
    } else {
        "[A-Za-z0-9!#$%&'*+/=?^_`{|}~\\-]{1,6}".boxed()
    }
}

fn dot_string(utf8: bool) -> impl Strategy<Value = String> {
    prop::collection::vec(atom(utf8), 1..5).prop_map(|atoms| atoms.join("."))
}

/// A Quoted-string (RFC 5321 §4.1.2) in wire form, with escapes.
fn quoted_string(utf8: bool) -> impl Strategy<Value = String> {
    let qtext = if utf8 {
        "[ !#-\\[\\]-~äöü用户ж]".boxed()
    } else {
        "[ !#-\\[\\]-~]".boxed()
    };
    let piece = prop_oneof![3 => qtext, 1 => "\\\\[ -~]"];
    prop::collection::vec(piece, 0..14).prop_map(|p| format!("\"{}\"", p.concat()))
}

fn local_part(utf8: bool) -> impl Strategy<Value = String> {
    prop_oneof![dot_string(utf8), quoted_string(utf8)]
}

fn label(utf8: bool) -> BoxedStrategy<String> {
    let ascii = "[a-zA-Z0-9]([a-zA-Z0-9-]{0,8}[a-zA-Z0-9])?";
    if utf8 {
        prop_oneof![
            2 => ascii,
            2 => "[a-z0-9äöüß例子广告пример]{1,5}",
            1 => prop::sample::select(vec!["ไทย", "ตัวอย่าง", "हिन्दी", "भारत", "xn--p1ai", "δοκιμή"])
                .prop_map(String::from),
        ]
        .boxed()
    } else {
        ascii.boxed()
    }
}

fn domain(utf8: bool) -> impl Strategy<Value = String> {
    prop::collection::vec(label(utf8), 1..5).prop_map(|l| l.join("."))
}

fn ipv6_addr() -> impl Strategy<Value = Ipv6Addr> {
    prop_oneof![
        any::<u128>().prop_map(Ipv6Addr::from),
        prop::array::uniform8(prop_oneof![3 => Just(0u16), 1 => any::<u16>()])
            .prop_map(Ipv6Addr::from),
        any::<[u8; 4]>().prop_map(|o| Ipv4Addr::from(o).to_ipv6_mapped()),
    ]
}

/// Text forms of an IPv6 address: RFC 5952 (core's Display), the full form with
/// leading zeros, and the full form ending in dotted IPv4 (RFC 4291 §2.2).
fn ipv6_text() -> impl Strategy<Value = (Ipv6Addr, String)> {
    (ipv6_addr(), 0..3u8, any::<bool>()).prop_map(|(a, form, upper)| {
        let s = a.segments();
        let text = match form {
            0 => a.to_string(),
            1 => s
                .iter()
                .map(|g| format!("{g:04x}"))
                .collect::<Vec<_>>()
                .join(":"),
            _ => {
                let o = a.octets();
                let head: Vec<String> = s[..6].iter().map(|g| format!("{g:x}")).collect();
                format!("{}:{}.{}.{}.{}", head.join(":"), o[12], o[13], o[14], o[15])
            }
        };
        (a, if upper { text.to_uppercase() } else { text })
    })
}

fn tag() -> impl Strategy<Value = String> {
    "[A-Za-z0-9]([A-Za-z0-9-]{0,6}[A-Za-z0-9])?".prop_filter("IPv6 is not a general tag", |t| {
        !t.eq_ignore_ascii_case("IPv6")
    })
}

/// An address literal in wire form.
fn literal() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|o| format!("[{}]", Ipv4Addr::from(o))),
        (
            ipv6_text(),
            prop::sample::select(vec!["IPv6", "ipv6", "IPV6"])
        )
            .prop_map(|((_, t), tag)| format!("[{tag}:{t}]")),
        (tag(), "[!-Z^-~]{1,12}").prop_map(|(t, c)| format!("[{t}:{c}]")),
    ]
}

fn host(utf8: bool) -> impl Strategy<Value = String> {
    prop_oneof![3 => domain(utf8), 1 => literal()]
}

/// A valid mailbox in wire form (at most 64 + 1 + 63 + ... octets, well under
/// the path limit).
fn mailbox(utf8: bool) -> impl Strategy<Value = String> {
    (local_part(utf8), host(utf8)).prop_map(|(l, h)| format!("{l}@{h}"))
}

fn source_route() -> impl Strategy<Value = String> {
    prop::collection::vec(domain(false), 0..3).prop_map(|ds| {
        if ds.is_empty() {
            String::new()
        } else {
            let ats: Vec<String> = ds.iter().map(|d| format!("@{d}")).collect();
            format!("{}:", ats.join(","))
        }
    })
}

/// Strings over the characters that matter to the path grammar.
fn nasty() -> impl Strategy<Value = String> {
    "<?[<>@\"\\\\\\[\\]:.,;a-zA-Z0-9 \\t\\r\\n\\x00\\x7fü用\\u{94d}\\-]{0,80}"
}

fn is_ipv6_literal(h: &Host<'_>) -> bool {
    matches!(h, Host::Literal(AddressLiteral::Ipv6(_)))
}

// ----- Round trips ---------------------------------------------------------

proptest! {
    #[test]
    fn mailbox_roundtrip((utf8, l, h) in any::<bool>().prop_flat_map(|u| (Just(u), local_part(u), host(u)))) {
        let o = opts(utf8);
        let s = format!("{l}@{h}");
        let m = Mailbox::parse(&s, &o).unwrap();
        prop_assert_eq!(m.local_part.as_wire(), l.as_str());
        let enc = m.to_string();
        if !is_ipv6_literal(&m.host) {
            prop_assert_eq!(&enc, &s);
        }
        prop_assert_eq!(Mailbox::parse(&enc, &o).unwrap(), m.clone());
        prop_assert_eq!(m.is_ascii(), s.is_ascii());
        prop_assert_eq!(m.clone().into_owned(), m);
    }

    #[test]
    fn reverse_path_roundtrip(utf8 in any::<bool>(), mb in mailbox(true), adl in source_route(), rest in "[ -~]{0,10}") {
        let o = opts(utf8 || !mb.is_ascii());
        let input = format!("<{adl}{mb}>{rest}");
        let (p, r) = parse_reverse_path(&input, &o).unwrap();
        prop_assert_eq!(r, rest.as_str());
        let expected = Mailbox::parse(&mb, &o).unwrap();
        prop_assert_eq!(p.mailbox(), Some(&expected));
        let enc = p.to_string();
        prop_assert_eq!(parse_reverse_path(&enc, &o).unwrap(), (p.clone(), ""));
        prop_assert_eq!(p.clone().into_owned(), p);
    }

    #[test]
    fn forward_path_roundtrip(mb in mailbox(false), adl in source_route(), rest in "[ -~]{0,10}") {
        let o = opts(false);
        let input = format!("<{adl}{mb}>{rest}");
        let (p, r) = parse_forward_path(&input, &o).unwrap();
        prop_assert_eq!(r, rest.as_str());
        let enc = p.to_string();
        prop_assert_eq!(parse_forward_path(&enc, &o).unwrap(), (p.clone(), ""));
    }

    /// `ReversePath::parse_address` and `ForwardPath::parse_address` take a
    /// mailbox with or without angle brackets, surrounding white space ignored,
    /// and read back the bracketed form `Display` writes.
    #[test]
    fn addresses_with_or_without_brackets(mb in mailbox(true), lead in "[ \t\r\n]{0,2}", trail in "[ \t\r\n]{0,2}") {
        let o = opts(!mb.is_ascii());
        let expected = Mailbox::parse(&mb, &o).unwrap();
        for text in [format!("{lead}{mb}{trail}"), format!("{lead}<{mb}>{trail}")] {
            let from = ReversePath::parse_address(&text, &o);
            prop_assert_eq!(from, Ok(ReversePath::Mailbox(expected.clone())));
            let to = ForwardPath::parse_address(&text, &o);
            prop_assert_eq!(to, Ok(ForwardPath::Mailbox(expected.clone())));
        }
        let path = ForwardPath::Mailbox(expected.clone());
        let (shown, bare) = (path.to_string(), expected.to_string());
        prop_assert_eq!(&shown, &format!("<{bare}>"));
        prop_assert_eq!(ForwardPath::parse_address(&shown, &o), Ok(path.clone()));
        prop_assert_eq!(ForwardPath::parse_address(&bare, &o), Ok(path));
    }

    #[test]
    fn special_paths_roundtrip(pm in "[pP][oO][sS][tT][mM][aA][sS][tT][eE][rR]", rest in "[ -~]{0,10}") {
        let o = opts(false);
        let input = format!("<{pm}>{rest}");
        prop_assert_eq!(parse_forward_path(&input, &o).unwrap(), (ForwardPath::Postmaster, rest.as_str()));
        let enc = ForwardPath::Postmaster.to_string();
        prop_assert_eq!(parse_forward_path(&enc, &o).unwrap(), (ForwardPath::Postmaster, ""));
        let input = format!("<>{rest}");
        prop_assert_eq!(parse_reverse_path(&input, &o).unwrap(), (ReversePath::Null, rest.as_str()));
    }

    #[test]
    fn domain_roundtrip(utf8 in any::<bool>(), d in domain(true)) {
        let o = opts(utf8);
        match Domain::parse(&d, &o) {
            Ok(parsed) => {
                prop_assert_eq!(parsed.as_str(), d.as_str());
                let enc = parsed.to_string();
                prop_assert_eq!(Domain::parse(&enc, &o).unwrap(), parsed.clone());
                prop_assert_eq!(Host::parse(&enc, &o).unwrap(), Host::Domain(parsed));
            }
            Err(e) => {
                prop_assert!(!utf8 && !d.is_ascii());
                prop_assert_eq!(e, smtp_proto::wire::path::PathError::Utf8NotAllowed);
            }
        }
    }

    #[test]
    fn address_literal_roundtrip(l in literal()) {
        let parsed = AddressLiteral::parse(&l).unwrap();
        let enc = parsed.to_string();
        prop_assert_eq!(AddressLiteral::parse(&enc).unwrap(), parsed.clone());
        prop_assert_eq!(Host::parse(&enc, &opts(false)).unwrap(), Host::Literal(parsed.clone()));
        prop_assert_eq!(parsed.clone().into_owned(), parsed);
    }

    #[test]
    fn ipv6_text_forms_parse_to_their_address((a, text) in ipv6_text()) {
        let lit = format!("[IPv6:{text}]");
        prop_assert_eq!(AddressLiteral::parse(&lit).unwrap(), AddressLiteral::Ipv6(a));
        prop_assert_eq!(AddressLiteral::Ipv6(a).to_string(), format!("[IPv6:{a}]"));
    }

    #[test]
    fn ipv4_literal_value(o in any::<[u8; 4]>()) {
        let a = Ipv4Addr::from(o);
        let text = format!("[{a}]");
        prop_assert_eq!(AddressLiteral::parse(&text).unwrap(), AddressLiteral::Ipv4(a));
    }

    // ----- Local part values -----------------------------------------------

    #[test]
    fn from_value_roundtrip_ascii(v in "[ -~]{0,40}") {
        let o = opts(false);
        let lp = LocalPart::from_value(&v, &o).unwrap();
        prop_assert_eq!(lp.value(), v.as_str());
        prop_assert_eq!(LocalPart::parse(lp.as_wire(), &o).unwrap(), lp.clone());
        // Dot-string whenever possible (RFC 5321 §4.1.2 SHOULD).
        prop_assert_eq!(lp.is_quoted(), lp.as_wire() != v);
    }

    #[test]
    fn from_value_roundtrip_utf8(v in "\\PC{0,12}") {
        let o = opts(true);
        let lp = LocalPart::from_value(&v, &o).unwrap();
        prop_assert_eq!(lp.value(), v.as_str());
        prop_assert_eq!(LocalPart::parse(lp.as_wire(), &o).unwrap(), lp.clone());
        if !v.is_ascii() {
            prop_assert_eq!(LocalPart::from_value(&v, &opts(false)), Err(smtp_proto::wire::path::PathError::Utf8NotAllowed));
        }
    }

    #[test]
    fn from_value_any_string(v in any::<String>(), utf8 in any::<bool>()) {
        let o = opts(utf8);
        if let Ok(lp) = LocalPart::from_value(&v, &o) {
            prop_assert_eq!(lp.value(), v.as_str());
            prop_assert!(lp.as_wire().len() <= 64);
            prop_assert_eq!(LocalPart::parse(lp.as_wire(), &o).unwrap(), lp.clone());
        }
    }

    // ----- Agreement with the standard library -----------------------------

    #[test]
    fn ipv6_agrees_with_std(parts in prop::collection::vec(
        prop_oneof![
            4 => "[0-9a-fA-F]{1,5}",
            4 => Just(":".to_string()),
            1 => Just("::".to_string()),
            1 => Just(".".to_string()),
            1 => "[0-9]{1,4}",
        ],
        0..18,
    )) {
        let s = parts.concat();
        let ours = match AddressLiteral::parse(&format!("[IPv6:{s}]")) {
            Ok(AddressLiteral::Ipv6(a)) => Some(a),
            Ok(other) => panic!("{other:?}"),
            Err(_) => None,
        };
        prop_assert_eq!(ours, s.parse::<Ipv6Addr>().ok(), "{}", s);
    }

    #[test]
    fn ipv4_agrees_with_std(parts in prop::collection::vec(
        prop_oneof![3 => "[0-9]{1,4}", 2 => Just(".".to_string()), 1 => "[a-f+-]"],
        0..9,
    )) {
        let s = parts.concat();
        let ours = match AddressLiteral::parse(&format!("[{s}]")) {
            Ok(AddressLiteral::Ipv4(a)) => Some(a),
            Ok(other) => panic!("{other:?}"),
            Err(_) => None,
        };
        prop_assert_eq!(ours, s.parse::<Ipv4Addr>().ok(), "{}", s);
    }

    // ----- Hostile input ---------------------------------------------------

    #[test]
    fn arbitrary_strings_never_panic(s in prop_oneof![any::<String>(), nasty()], utf8 in any::<bool>()) {
        let o = opts(utf8);
        if let Ok((p, rest)) = parse_reverse_path(&s, &o) {
            prop_assert!(s.ends_with(rest));
            prop_assert!(s.len() - rest.len() <= 256);
            let enc = p.to_string();
            prop_assert_eq!(parse_reverse_path(&enc, &o).unwrap(), (p, ""));
        }
        if let Ok((p, rest)) = parse_forward_path(&s, &o) {
            prop_assert!(s.ends_with(rest));
            let enc = p.to_string();
            prop_assert_eq!(parse_forward_path(&enc, &o).unwrap(), (p, ""));
        }
        if let Ok(m) = Mailbox::parse(&s, &o) {
            let enc = m.to_string();
            prop_assert_eq!(Mailbox::parse(&enc, &o).unwrap(), m);
        }
        if let Ok(l) = LocalPart::parse(&s, &o) {
            prop_assert!(l.as_wire().len() <= 64);
            let v = l.value();
            let again = LocalPart::from_value(&v, &o).unwrap();
            prop_assert_eq!(again.value(), v);
        }
        if let Ok(d) = Domain::parse(&s, &o) {
            prop_assert!(d.as_str().len() <= 255);
        }
        let _ = Host::parse(&s, &o);
        let _ = AddressLiteral::parse(&s);
        if !utf8 {
            // Without SMTPUTF8 nothing non-ASCII gets through.
            if let Ok((_, rest)) = parse_reverse_path(&s, &o) {
                prop_assert!(s[..s.len() - rest.len()].is_ascii());
            }
            prop_assert!(Mailbox::parse(&s, &o).is_err() || s.is_ascii());
            prop_assert!(Host::parse(&s, &o).is_err() || s.is_ascii());
        }
    }

    #[test]
    fn nasty_paths_never_panic(s in nasty(), utf8 in any::<bool>()) {
        let o = opts(utf8);
        let _ = parse_reverse_path(&s, &o);
        let _ = parse_forward_path(&s, &o);
        let _ = Mailbox::parse(s.trim_start_matches('<'), &o);
        let _ = Host::parse(&s, &o);
    }
}
