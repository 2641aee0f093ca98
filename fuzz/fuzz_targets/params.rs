//! MAIL and RCPT parameters (`wire::params`) and xtext (`wire::xtext`).
//!
//! Input: one option byte (UTF-8 allowed), then the text after a path's `>`.
//!
//! Asserts:
//! * no panic;
//! * parsed parameters display as their canonical wire form, which parses back to
//!   equal parameters and displays identically (idempotent); `is_empty` agrees
//!   with an empty wire form; `into_owned` preserves the value;
//! * typed values stay within their grammar (ENVID at most 100 octets and free of
//!   control characters, MT-PRIORITY in -9..=9, BY within ±999 999 999 and
//!   positive with R, HOLDFOR at most 9 digits);
//! * UTF-8 leniency only widens: what parses without it parses identically with it;
//! * xtext: `encode` always gives valid xtext that `decode`s back; whatever
//!   `decode`s re-encodes to xtext that decodes to the same text; `decode` success
//!   implies `is_xtext` and `decode_utf8` success with the same result.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smtp_proto::wire::params::{
    ByMode, ENVID_MAX, Hold, ParamOptions, parse_mail_parameters, parse_rcpt_parameters,
};
use smtp_proto::wire::xtext;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, bytes)) = data.split_first() else {
        return;
    };
    let opts = ParamOptions {
        allow_utf8: flags & 1 != 0,
    };
    let wide = ParamOptions { allow_utf8: true };
    let text = smtp_proto_fuzz::input::text(bytes);
    let s: &str = &text;

    if let Ok(p) = parse_mail_parameters(s, &opts) {
        let wire = p.to_string();
        let again = parse_mail_parameters(&wire, &opts)
            .unwrap_or_else(|e| panic!("{p:?} displays as {wire:?}: {e}"));
        assert_eq!(again, p, "{wire:?}");
        assert_eq!(again.to_string(), wire);
        assert_eq!(p.is_empty(), wire.is_empty());
        assert_eq!(p.clone().into_owned(), p);
        assert_eq!(parse_mail_parameters(s, &wide).as_ref(), Ok(&p));
        if let Some(envid) = &p.envid {
            assert!(envid.len() <= ENVID_MAX);
            assert!(!envid.bytes().any(|b| b.is_ascii_control()));
        }
        if let Some(prio) = p.mt_priority {
            assert!((-9..=9).contains(&prio));
        }
        if let Some(by) = p.by {
            assert!(by.time.unsigned_abs() <= 999_999_999);
            assert!(by.mode != ByMode::Return || by.time > 0);
        }
        if let Some(Hold::For(secs)) = p.hold {
            assert!(secs <= 999_999_999);
        }
    }
    if let Ok(p) = parse_rcpt_parameters(s, &opts) {
        let wire = p.to_string();
        let again = parse_rcpt_parameters(&wire, &opts)
            .unwrap_or_else(|e| panic!("{p:?} displays as {wire:?}: {e}"));
        assert_eq!(again, p, "{wire:?}");
        assert_eq!(again.to_string(), wire);
        assert_eq!(p.is_empty(), wire.is_empty());
        assert_eq!(p.clone().into_owned(), p);
        assert_eq!(parse_rcpt_parameters(s, &wide).as_ref(), Ok(&p));
        if let Some(o) = &p.orcpt {
            assert!(!o.address.is_empty());
            assert!(!o.address.bytes().any(|b| b.is_ascii_control()));
        }
    }

    // xtext
    let enc = xtext::encode(s);
    assert!(xtext::is_xtext(&enc), "{enc:?}");
    assert_eq!(xtext::decode(&enc).as_deref(), Ok(s));
    match xtext::decode(s) {
        Ok(dec) => {
            assert!(xtext::is_xtext(s));
            assert_eq!(xtext::decode_utf8(s).as_deref(), Ok(&*dec));
            let re = xtext::encode(&dec);
            assert_eq!(xtext::decode(&re).as_deref(), Ok(&*dec));
        }
        Err(_) => {
            if let Ok(dec) = xtext::decode_utf8(s) {
                assert!(
                    !s.is_ascii(),
                    "decode_utf8 accepted ASCII that decode refused"
                );
                let re = xtext::encode(&dec);
                assert_eq!(xtext::decode(&re).as_deref(), Ok(&*dec));
            }
        }
    }
});
