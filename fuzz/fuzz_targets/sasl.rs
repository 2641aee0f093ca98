//! SASL decoding (`wire::sasl`): AUTH lines, PLAIN, LOGIN, XOAUTH2, OAUTHBEARER
//! and mechanism names.
//!
//! Input: a byte choosing the length limit, then bytes used both as a SASL line
//! (base64 text) and as a decoded mechanism message.
//!
//! Asserts:
//! * no panic, and no input longer than the limit is decoded (`TooLong`);
//! * base64 is strict, so decoding is the inverse of encoding: a continuation
//!   line, an initial response or a challenge that decodes re-encodes to exactly
//!   the same text (`=` for an empty initial response, `*` cancels a continuation);
//! * a decoded PLAIN message re-encodes to exactly the same bytes; LOGIN fields
//!   are the input itself;
//! * decoded XOAUTH2 and OAUTHBEARER credentials re-encode (the encoders accept
//!   them) to messages that decode to the same credentials;
//! * mechanism names parse case-insensitively to their canonical upper-case form;
//!   LOGIN prompts classify their own challenges.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smtp_proto::wire::sasl::{
    LoginPrompt, MAX_ENCODED_LEN, Mechanism, SaslError, SaslResponse, decode_challenge,
    decode_initial_response, decode_login_field, decode_oauthbearer, decode_plain, decode_response,
    decode_xoauth2, encode_challenge, encode_initial_response, encode_oauthbearer, encode_plain,
    encode_response, encode_xoauth2,
};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, bytes)) = data.split_first() else {
        return;
    };
    let max = [MAX_ENCODED_LEN, 0, 4, 16, 100, 1000][usize::from(sel) % 6];

    // Base64 framing.
    match decode_response(bytes, max) {
        Ok(SaslResponse::Cancel) => assert_eq!(bytes, b"*"),
        Ok(SaslResponse::Data(d)) => {
            assert!(bytes.len() <= max);
            let mut line = Vec::new();
            encode_response(&d, &mut line);
            assert_eq!(&line[..line.len() - 2], bytes, "base64 is not canonical");
        }
        Err(SaslError::TooLong) => assert!(bytes.len() > max),
        Err(e) => assert_eq!(e, SaslError::Base64),
    }
    if bytes.len() > max {
        assert_eq!(decode_response(bytes, max), Err(SaslError::TooLong));
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        if let Ok(SaslResponse::Data(d)) = decode_initial_response(text, max) {
            assert_eq!(encode_initial_response(&d), text);
        }
        if let Ok(d) = decode_challenge(text, max) {
            assert_eq!(encode_challenge(&d), text);
        }
        if let Some(m) = Mechanism::parse(text) {
            assert_eq!(m.as_str(), text.to_ascii_uppercase());
            assert_eq!(Mechanism::parse(m.as_str()), Some(m.clone()));
            assert_eq!(m.to_string(), m.as_str());
            assert_eq!(m.clone().into_owned(), m);
        }
    }

    // Mechanism messages (already decoded).
    if let Ok(creds) = decode_plain(bytes) {
        let mut out = Vec::new();
        encode_plain(&creds, &mut out).expect("decoded PLAIN credentials re-encode");
        assert_eq!(out, bytes);
        let _ = format!("{creds:?}");
    }
    if let Ok(field) = decode_login_field(bytes) {
        assert_eq!(field.as_bytes(), bytes);
    }
    if let Ok(creds) = decode_xoauth2(bytes) {
        let mut out = Vec::new();
        encode_xoauth2(&creds, &mut out).expect("decoded XOAUTH2 credentials re-encode");
        assert_eq!(decode_xoauth2(&out), Ok(creds));
    }
    if let Ok(creds) = decode_oauthbearer(bytes) {
        let mut out = Vec::new();
        encode_oauthbearer(&creds, &mut out).expect("decoded OAUTHBEARER credentials re-encode");
        assert_eq!(decode_oauthbearer(&out), Ok(creds));
    }
    if let Some(prompt) = LoginPrompt::classify(bytes) {
        assert_eq!(LoginPrompt::classify(prompt.challenge()), Some(prompt));
    }
});
