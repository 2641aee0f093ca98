//! Property tests for SASL framing (RFC 4954, RFC 4616, RFC 7628).

use proptest::prelude::*;
use smtp_proto::wire::sasl::{
    MAX_ENCODED_LEN, OAuthBearer, PlainCredentials, SaslResponse, XOAuth2, decode_challenge,
    decode_initial_response, decode_login_field, decode_oauthbearer, decode_plain, decode_response,
    decode_xoauth2, encode_challenge, encode_initial_response, encode_oauthbearer, encode_plain,
    encode_response, encode_xoauth2,
};

/// A PLAIN field: 1 to 255 octets of UTF-8 without NUL.
fn plain_field(min: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::char::any().prop_filter("no NUL", |c| *c != '\0'),
        min..80,
    )
    .prop_map(|v| v.into_iter().collect::<String>())
    .prop_filter("≤ 255 octets", |s| s.len() <= 255)
}

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9._~+/-]{1,60}={0,2}"
}

fn user() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::char::any().prop_filter("no controls", |c| !c.is_ascii_control()),
        1..40,
    )
    .prop_map(|v| v.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn base64_responses_round_trip(data in prop::collection::vec(any::<u8>(), 0..300)) {
        let mut line = Vec::new();
        encode_response(&data, &mut line);
        let text = line.strip_suffix(b"\r\n").unwrap();
        prop_assert_eq!(decode_response(text, MAX_ENCODED_LEN), Ok(SaslResponse::Data(data.clone())));
        let initial = encode_initial_response(&data);
        prop_assert_eq!(decode_initial_response(&initial, MAX_ENCODED_LEN), Ok(SaslResponse::Data(data.clone())));
        let challenge = encode_challenge(&data);
        prop_assert_eq!(decode_challenge(&challenge, MAX_ENCODED_LEN), Ok(data));
    }

    #[test]
    fn plain_round_trips(
        authzid in prop_oneof![Just(String::new()), plain_field(1)],
        authcid in plain_field(1),
        password in plain_field(1),
    ) {
        let creds = PlainCredentials { authzid, authcid, password };
        let mut raw = Vec::new();
        encode_plain(&creds, &mut raw).unwrap();
        prop_assert_eq!(decode_plain(&raw), Ok(creds));
    }

    #[test]
    fn xoauth2_round_trips(user in user(), token in token()) {
        let creds = XOAuth2 { user, token };
        let mut raw = Vec::new();
        encode_xoauth2(&creds, &mut raw).unwrap();
        prop_assert_eq!(decode_xoauth2(&raw), Ok(creds));
    }

    #[test]
    fn oauthbearer_round_trips(
        authzid in prop::option::of(plain_field(1)),
        token in token(),
        host in prop::option::of("[!-~]{0,30}"),
        port in prop::option::of(any::<u16>()),
        extra in prop::collection::vec(("[a-zA-Z]{1,8}", "[ -~\t\r\n]{0,20}"), 0..4),
    ) {
        let extra: Vec<(String, String)> = extra
            .into_iter()
            .filter(|(k, _)| !matches!(k.as_str(), "auth" | "host" | "port"))
            .collect();
        let creds = OAuthBearer { authzid, token, host, port, extra };
        let mut raw = Vec::new();
        encode_oauthbearer(&creds, &mut raw).unwrap();
        prop_assert_eq!(decode_oauthbearer(&raw), Ok(creds));
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..400), max in 0usize..500) {
        let _ = decode_response(&data, max);
        let _ = decode_plain(&data);
        let _ = decode_xoauth2(&data);
        let _ = decode_oauthbearer(&data);
        let _ = decode_login_field(&data);
        if let Ok(s) = core::str::from_utf8(&data) {
            let _ = decode_initial_response(s, max);
            let _ = decode_challenge(s, max);
        }
        if data.len() > max {
            prop_assert!(decode_response(&data, max).is_err());
        }
    }

    #[test]
    fn structured_garbage_never_panics(
        parts in prop::collection::vec(prop_oneof![
            Just(&b"\x01"[..]), Just(&b"="[..]), Just(&b","[..]), Just(&b"\0"[..]),
            Just(&b"n,"[..]), Just(&b"a="[..]), Just(&b"auth=Bearer "[..]), Just(&b"user="[..]),
            Just(&b"host="[..]), Just(&b"port="[..]), Just(&b"=2C"[..]), Just(&b"x"[..]), Just(&b"9"[..]),
        ], 0..20),
    ) {
        let data: Vec<u8> = parts.concat();
        let _ = decode_plain(&data);
        let _ = decode_xoauth2(&data);
        let _ = decode_oauthbearer(&data);
    }
}
