//! Paths and addresses (`wire::path`): reverse and forward paths, mailboxes,
//! local parts, domains, hosts and address literals.
//!
//! Input: one option byte (SMTPUTF8, raised limits), then text (invalid UTF-8 is
//! replaced, so every input reaches the parsers).
//!
//! Asserts:
//! * no panic;
//! * every value that parses displays as a wire form that parses back to an
//!   equal value (with nothing left over), and `into_owned` preserves it;
//! * `parse_reverse_path` / `parse_forward_path` return a rest that is a suffix of
//!   the input, after the consumed `>`;
//! * a parse that succeeds without SMTPUTF8 succeeds identically with it, and an
//!   ASCII mailbox is `is_ascii`;
//! * `LocalPart::from_value` round-trips through `value()` and through parsing its
//!   wire form; the value of a parsed local part re-encodes to a local part with
//!   the same value;
//! * `Domain::eq_ignore_case` is reflexive and agrees with ASCII case folding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smtp_proto::wire::path::{
    AddressLiteral, Domain, Host, LocalPart, Mailbox, PathOptions, parse_forward_path,
    parse_reverse_path,
};

fn options(flags: u8) -> PathOptions {
    let big = flags & 2 != 0;
    PathOptions {
        allow_utf8: flags & 1 != 0,
        max_local_part: if big { 200 } else { 0 },
        max_domain: if big { 600 } else { 0 },
        max_path: if big { 1000 } else { 0 },
    }
}

fn suffix_of(rest: &str, input: &str) -> bool {
    input.ends_with(rest) && rest.len() < input.len()
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, bytes)) = data.split_first() else {
        return;
    };
    let opts = options(flags);
    let utf8 = PathOptions {
        allow_utf8: true,
        ..opts
    };
    let s = smtp_proto_fuzz::input::text(bytes);
    let s: &str = &s;

    if let Ok((path, rest)) = parse_reverse_path(s, &opts) {
        assert!(suffix_of(rest, s));
        assert!(s[..s.len() - rest.len()].ends_with('>'));
        let wire = path.to_string();
        let (again, tail) = parse_reverse_path(&wire, &opts)
            .unwrap_or_else(|e| panic!("{path:?} displays as {wire:?}: {e}"));
        assert_eq!(again, path, "{wire:?}");
        assert!(tail.is_empty());
        assert_eq!(path.clone().into_owned(), path);
        assert_eq!(parse_reverse_path(s, &utf8), Ok((path.clone(), rest)));
        if let Some(m) = path.mailbox() {
            assert_eq!(m.is_ascii(), wire.is_ascii());
        }
    }
    if let Ok((path, rest)) = parse_forward_path(s, &opts) {
        assert!(suffix_of(rest, s));
        let wire = path.to_string();
        let (again, tail) = parse_forward_path(&wire, &opts)
            .unwrap_or_else(|e| panic!("{path:?} displays as {wire:?}: {e}"));
        assert_eq!(again, path, "{wire:?}");
        assert!(tail.is_empty());
        assert_eq!(parse_forward_path(s, &utf8), Ok((path.clone(), rest)));
    }
    if let Ok(m) = Mailbox::parse(s, &opts) {
        let wire = m.to_string();
        assert_eq!(Mailbox::parse(&wire, &opts), Ok(m.clone()), "{wire:?}");
        assert_eq!(m.clone().into_owned(), m);
        assert_eq!(Mailbox::parse(s, &utf8), Ok(m.clone()));
        let value = m.local_part.value();
        let lp = LocalPart::from_value(&value, &utf8)
            .unwrap_or_else(|e| panic!("value {value:?} of {:?}: {e}", m.local_part));
        assert_eq!(lp.value(), value);
    }
    if let Ok(d) = Domain::parse(s, &opts) {
        assert_eq!(d.as_str(), s);
        assert_eq!(d.to_string(), s);
        assert!(d.eq_ignore_case(&d));
        let upper = s.to_ascii_uppercase();
        let du = Domain::parse(&upper, &opts).expect("case does not matter");
        assert!(d.eq_ignore_case(&du));
        assert!(d.labels().all(|l| !l.is_empty() && l.len() <= 63));
        assert_eq!(d.is_ascii(), s.is_ascii());
    }
    if let Ok(h) = Host::parse(s, &opts) {
        let wire = h.to_string();
        assert_eq!(Host::parse(&wire, &opts), Ok(h.clone()), "{wire:?}");
        assert_eq!(h.clone().into_owned(), h);
    }
    if let Ok(l) = AddressLiteral::parse(s) {
        let wire = l.to_string();
        assert_eq!(AddressLiteral::parse(&wire), Ok(l.clone()), "{wire:?}");
    }
    if let Ok(lp) = LocalPart::parse(s, &opts) {
        assert_eq!(lp.as_wire(), s);
        assert_eq!(lp.is_quoted(), s.starts_with('"'));
        let value = lp.value();
        if let Ok(again) = LocalPart::from_value(&value, &opts) {
            assert_eq!(again.value(), value);
            assert_eq!(LocalPart::parse(again.as_wire(), &opts), Ok(again.clone()));
        }
    }
    match LocalPart::from_value(s, &opts) {
        Ok(lp) => {
            assert_eq!(lp.value(), s);
            assert_eq!(LocalPart::parse(lp.as_wire(), &opts), Ok(lp.clone()));
        }
        Err(_) => {}
    }
});
