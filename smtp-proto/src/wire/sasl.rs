//! SASL for SMTP AUTH (RFC 4954): mechanism names and the framing of PLAIN
//! (RFC 4616), LOGIN, XOAUTH2 and OAUTHBEARER (RFC 7628).

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::limits::SASL_LINE_MIN;

/// A SASL mechanism name (RFC 4422 §3.1: 1 to 20 of `A-Z 0-9 - _`, case-insensitive).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Mechanism<'a> {
    /// PLAIN (RFC 4616).
    Plain,
    /// LOGIN (draft-murchison-sasl-login).
    Login,
    /// XOAUTH2 (Google and Microsoft).
    XOAuth2,
    /// OAUTHBEARER (RFC 7628).
    OAuthBearer,
    /// Any other syntactically valid mechanism name, upper-cased.
    Other(Cow<'a, str>),
}

impl<'a> Mechanism<'a> {
    /// Parses a mechanism name; `None` if it is not RFC 4422 syntax.
    pub fn parse(name: &'a str) -> Option<Mechanism<'a>> {
        if name.is_empty()
            || name.len() > 20
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return None;
        }
        Some(if name.eq_ignore_ascii_case("PLAIN") {
            Mechanism::Plain
        } else if name.eq_ignore_ascii_case("LOGIN") {
            Mechanism::Login
        } else if name.eq_ignore_ascii_case("XOAUTH2") {
            Mechanism::XOAuth2
        } else if name.eq_ignore_ascii_case("OAUTHBEARER") {
            Mechanism::OAuthBearer
        } else if name.bytes().any(|b| b.is_ascii_lowercase()) {
            Mechanism::Other(Cow::Owned(name.to_ascii_uppercase()))
        } else {
            Mechanism::Other(Cow::Borrowed(name))
        })
    }

    /// The mechanism's name as it goes on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
            Mechanism::XOAuth2 => "XOAUTH2",
            Mechanism::OAuthBearer => "OAUTHBEARER",
            Mechanism::Other(name) => name,
        }
    }

    /// A `'static` copy.
    pub fn into_owned(self) -> Mechanism<'static> {
        match self {
            Mechanism::Plain => Mechanism::Plain,
            Mechanism::Login => Mechanism::Login,
            Mechanism::XOAuth2 => Mechanism::XOAuth2,
            Mechanism::OAuthBearer => Mechanism::OAuthBearer,
            Mechanism::Other(name) => Mechanism::Other(Cow::Owned(name.into_owned())),
        }
    }
}

impl fmt::Display for Mechanism<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

// ---------------------------------------------------------------------------
// AUTH framing (RFC 4954 §4)
// ---------------------------------------------------------------------------

/// The recommended `max_len` for the decode functions of this module: the octets
/// of base64 text that fit in a SASL line of [`SASL_LINE_MIN`] (12288) octets
/// once its CRLF is removed (RFC 4954 §4). A session with a larger configured
/// [`Limits::sasl_line`](crate::limits::Limits::sasl_line) can pass that instead.
pub const MAX_ENCODED_LEN: usize = SASL_LINE_MIN - 2;

/// The client's line that cancels an exchange (RFC 4954 §4), CRLF included.
pub const CANCEL_LINE: &[u8] = b"*\r\n";

/// Why SASL data could not be decoded.
///
/// How a server session should answer (RFC 4954 §4, §6):
///
/// | error | reply |
/// |---|---|
/// | [`TooLong`](SaslError::TooLong) | `500 5.5.6 Authentication Exchange line is too long` |
/// | [`Base64`](SaslError::Base64) | `501 5.5.2 Cannot Base64-decode Client responses` |
/// | every other variant (a malformed mechanism message) | `535 5.7.8 Authentication credentials invalid` |
///
/// A cancelled exchange is not an error but [`SaslResponse::Cancel`], answered
/// with `501 5.0.0 Authentication cancelled`. In every case the exchange ends.
/// A client should treat an error decoding a challenge by cancelling (`*`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SaslError {
    /// The encoded input is longer than the allowed maximum.
    #[error("SASL line too long")]
    TooLong,
    /// The input is not strict base64 (RFC 4648 §4: padding required, no
    /// whitespace, no non-alphabet characters, no non-zero trailing bits).
    #[error("invalid base64")]
    Base64,
    /// A PLAIN message without exactly two NUL separators (RFC 4616 §2).
    #[error("wrong number of fields")]
    FieldCount,
    /// A required field is empty (PLAIN authcid or passwd, a LOGIN field,
    /// an XOAUTH2 user or token, an OAUTHBEARER token).
    #[error("empty field")]
    EmptyField,
    /// A PLAIN field is longer than 255 octets (RFC 4616 §2).
    #[error("field too long")]
    FieldTooLong,
    /// A field that must be UTF-8 is not.
    #[error("invalid UTF-8")]
    Utf8,
    /// A field contains a character its syntax forbids (NUL, a separator, a
    /// control character).
    #[error("forbidden character in field")]
    ForbiddenChar,
    /// Any other violation of the mechanism's message syntax; the text says which.
    #[error("malformed SASL message: {0}")]
    Malformed(&'static str),
}

/// A client response to a `334` challenge (RFC 4954 §4).
#[derive(Clone, PartialEq, Eq)]
pub enum SaslResponse {
    /// The client cancelled the exchange with `*`.
    Cancel,
    /// The decoded response (possibly empty).
    Data(Vec<u8>),
}

impl fmt::Debug for SaslResponse {
    /// Responses carry secrets: only their length is shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SaslResponse::Cancel => f.write_str("Cancel"),
            SaslResponse::Data(d) => write!(f, "Data(<{} octets>)", d.len()),
        }
    }
}

fn decode_base64(text: &[u8], max_len: usize) -> Result<Vec<u8>, SaslError> {
    if text.len() > max_len {
        return Err(SaslError::TooLong);
    }
    STANDARD.decode(text).map_err(|_| SaslError::Base64)
}

/// Decodes a client's continuation line (the line after a `334` reply, CRLF
/// removed) (RFC 4954 §4): `*` cancels, an empty line is an empty response,
/// anything else must be strict base64. Input longer than `max_len` octets is
/// refused with [`SaslError::TooLong`] without being decoded.
pub fn decode_response(line: &[u8], max_len: usize) -> Result<SaslResponse, SaslError> {
    if line.len() > max_len {
        return Err(SaslError::TooLong);
    }
    match line {
        b"*" => Ok(SaslResponse::Cancel),
        b"" => Ok(SaslResponse::Data(Vec::new())),
        _ => decode_base64(line, max_len).map(SaslResponse::Data),
    }
}

/// Decodes the optional initial-response argument of `AUTH mechanism
/// [initial-response]` (RFC 4954 §4): `=` is an empty response, anything else
/// must be strict base64. `*` is not valid here (it fails as base64), and an
/// empty argument is [`SaslError::Malformed`].
pub fn decode_initial_response(arg: &str, max_len: usize) -> Result<SaslResponse, SaslError> {
    match arg {
        _ if arg.len() > max_len => Err(SaslError::TooLong),
        "=" => Ok(SaslResponse::Data(Vec::new())),
        "" => Err(SaslError::Malformed("empty initial response")),
        _ => decode_base64(arg.as_bytes(), max_len).map(SaslResponse::Data),
    }
}

/// Encodes a client's continuation line (RFC 4954 §4): base64 and CRLF; an
/// empty response is a line with just CRLF.
pub fn encode_response(data: &[u8], out: &mut Vec<u8>) {
    let mut text = String::new();
    STANDARD.encode_string(data, &mut text);
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Encodes the initial-response argument of AUTH (RFC 4954 §4): base64, or `=`
/// for an empty response.
pub fn encode_initial_response(data: &[u8]) -> String {
    if data.is_empty() {
        String::from("=")
    } else {
        STANDARD.encode(data)
    }
}

/// Encodes a server challenge, the text of a `334` reply (RFC 4954 §4): base64
/// of `data`, empty for an empty challenge.
pub fn encode_challenge(data: &[u8]) -> String {
    STANDARD.encode(data)
}

/// Decodes a server challenge (the text of a `334` reply, client side): empty
/// text is an empty challenge, anything else must be strict base64.
pub fn decode_challenge(text: &str, max_len: usize) -> Result<Vec<u8>, SaslError> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    decode_base64(text.as_bytes(), max_len)
}

// ---------------------------------------------------------------------------
// PLAIN (RFC 4616)
// ---------------------------------------------------------------------------

/// Longest PLAIN field, in octets (RFC 4616 §2: `1*255SAFE`).
pub const PLAIN_FIELD_MAX: usize = 255;

/// PLAIN credentials (RFC 4616 §2): `[authzid] NUL authcid NUL passwd`.
///
/// `Debug` does not show the password.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct PlainCredentials {
    /// The authorization identity; empty when absent (the client acts as itself).
    pub authzid: String,
    /// The authentication identity (user name); not empty.
    pub authcid: String,
    /// The password; not empty.
    pub password: String,
}

impl PlainCredentials {
    /// The authorization identity, if one was given.
    pub fn authzid(&self) -> Option<&str> {
        (!self.authzid.is_empty()).then_some(self.authzid.as_str())
    }
}

impl fmt::Debug for PlainCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlainCredentials")
            .field("authzid", &self.authzid)
            .field("authcid", &self.authcid)
            .field("password", &"<redacted>")
            .finish()
    }
}

fn plain_field(field: &[u8], required: bool) -> Result<String, SaslError> {
    if required && field.is_empty() {
        return Err(SaslError::EmptyField);
    }
    if field.len() > PLAIN_FIELD_MAX {
        return Err(SaslError::FieldTooLong);
    }
    core::str::from_utf8(field)
        .map(String::from)
        .map_err(|_| SaslError::Utf8)
}

/// Decodes a PLAIN message (already base64-decoded) (RFC 4616 §2): exactly two
/// NULs, a non-empty authcid and password, each field at most 255 octets of UTF-8.
pub fn decode_plain(message: &[u8]) -> Result<PlainCredentials, SaslError> {
    let mut fields = message.split(|&b| b == 0);
    let (Some(authzid), Some(authcid), Some(password), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err(SaslError::FieldCount);
    };
    Ok(PlainCredentials {
        authzid: plain_field(authzid, false)?,
        authcid: plain_field(authcid, true)?,
        password: plain_field(password, true)?,
    })
}

/// Encodes a PLAIN message (the raw bytes, to be base64-encoded with
/// [`encode_initial_response`] or [`encode_response`]) (RFC 4616 §2).
///
/// Refuses credentials that [`decode_plain`] would refuse (a NUL inside a
/// field, an empty authcid or password, a field over 255 octets), so a field
/// can never spill into the next one. Nothing is written on error.
pub fn encode_plain(creds: &PlainCredentials, out: &mut Vec<u8>) -> Result<(), SaslError> {
    for (field, required) in [
        (&creds.authzid, false),
        (&creds.authcid, true),
        (&creds.password, true),
    ] {
        if required && field.is_empty() {
            return Err(SaslError::EmptyField);
        }
        if field.len() > PLAIN_FIELD_MAX {
            return Err(SaslError::FieldTooLong);
        }
        if field.as_bytes().contains(&0) {
            return Err(SaslError::ForbiddenChar);
        }
    }
    out.extend_from_slice(creds.authzid.as_bytes());
    out.push(0);
    out.extend_from_slice(creds.authcid.as_bytes());
    out.push(0);
    out.extend_from_slice(creds.password.as_bytes());
    Ok(())
}

// ---------------------------------------------------------------------------
// LOGIN (draft-murchison-sasl-login)
// ---------------------------------------------------------------------------

/// The first LOGIN challenge, before base64 (`334 VXNlcm5hbWU6`).
pub const LOGIN_USERNAME_CHALLENGE: &[u8] = b"Username:";
/// The second LOGIN challenge, before base64 (`334 UGFzc3dvcmQ6`).
pub const LOGIN_PASSWORD_CHALLENGE: &[u8] = b"Password:";

/// What a LOGIN challenge asks for (client side).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginPrompt {
    /// The user name (`Username:`, or variants such as `User Name`).
    Username,
    /// The password (`Password:`).
    Password,
}

impl LoginPrompt {
    /// Classifies a decoded LOGIN challenge, case-insensitively by its first
    /// word (`user…` or `pass…`); `None` for anything else, in which case a
    /// client answers by the order of the challenges.
    pub fn classify(challenge: &[u8]) -> Option<LoginPrompt> {
        let starts = |prefix: &[u8]| {
            challenge.len() >= prefix.len()
                && challenge[..prefix.len()].eq_ignore_ascii_case(prefix)
        };
        if starts(b"user") {
            Some(LoginPrompt::Username)
        } else if starts(b"pass") {
            Some(LoginPrompt::Password)
        } else {
            None
        }
    }

    /// The standard challenge for this prompt, before base64 (server side).
    pub fn challenge(self) -> &'static [u8] {
        match self {
            LoginPrompt::Username => LOGIN_USERNAME_CHALLENGE,
            LoginPrompt::Password => LOGIN_PASSWORD_CHALLENGE,
        }
    }
}

/// Checks a decoded LOGIN response (user name or password, server side):
/// non-empty UTF-8 without NUL.
pub fn decode_login_field(data: &[u8]) -> Result<&str, SaslError> {
    if data.is_empty() {
        return Err(SaslError::EmptyField);
    }
    if data.contains(&0) {
        return Err(SaslError::ForbiddenChar);
    }
    core::str::from_utf8(data).map_err(|_| SaslError::Utf8)
}

// ---------------------------------------------------------------------------
// Bearer tokens, XOAUTH2 and OAUTHBEARER (RFC 7628)
// ---------------------------------------------------------------------------

/// The OAUTHBEARER separator (RFC 7628 §3.1 `kvsep`).
const KVSEP: u8 = 0x01;

/// What an OAUTHBEARER client sends after the server's error challenge (RFC 7628
/// §3.2.3: a single `kvsep`), before base64; the server then fails the exchange
/// with `535 5.7.8`. Servers compare a decoded response against it.
pub const OAUTHBEARER_FAILURE_ACK: &[u8] = b"\x01";

/// RFC 6750 §2.1 `b64token`: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn valid_b64token(token: &[u8]) -> bool {
    let body_len = token
        .iter()
        .position(|&b| !(b.is_ascii_alphanumeric() || b"-._~+/".contains(&b)))
        .unwrap_or(token.len());
    body_len > 0 && token[body_len..].iter().all(|&b| b == b'=')
}

/// Parses an `auth` value `Bearer <b64token>` (RFC 7628 §3.1, RFC 6750 §2.1;
/// the scheme is case-insensitive).
fn parse_bearer(value: &[u8]) -> Result<String, SaslError> {
    const SCHEME: &[u8] = b"Bearer ";
    if value.len() < SCHEME.len() || !value[..SCHEME.len()].eq_ignore_ascii_case(SCHEME) {
        return Err(SaslError::Malformed("auth is not a Bearer token"));
    }
    let token = &value[SCHEME.len()..];
    if token.is_empty() {
        return Err(SaslError::EmptyField);
    }
    if !valid_b64token(token) {
        return Err(SaslError::Malformed("invalid bearer token"));
    }
    core::str::from_utf8(token)
        .map(String::from)
        .map_err(|_| SaslError::Utf8)
}

fn check_token(token: &str) -> Result<(), SaslError> {
    if token.is_empty() {
        Err(SaslError::EmptyField)
    } else if !valid_b64token(token.as_bytes()) {
        Err(SaslError::Malformed("invalid bearer token"))
    } else {
        Ok(())
    }
}

/// A `key=value` pair, borrowed from the message.
type KvPair<'a> = (&'a [u8], &'a [u8]);

/// Splits `key=value` pairs, each terminated by `kvsep`, ending with an extra
/// `kvsep` (RFC 7628 §3.1 `*kvpair kvsep`). `body` is what follows the
/// gs2-header's kvsep (or the whole XOAUTH2 message).
fn kv_pairs(body: &[u8]) -> Result<Vec<KvPair<'_>>, SaslError> {
    let Some(body) = body.strip_suffix(&[KVSEP]) else {
        return Err(SaslError::Malformed("missing final separator"));
    };
    let mut pairs = Vec::new();
    if body.is_empty() {
        return Ok(pairs);
    }
    let Some(body) = body.strip_suffix(&[KVSEP]) else {
        return Err(SaslError::Malformed("missing final separator"));
    };
    for pair in body.split(|&b| b == KVSEP) {
        let eq = pair
            .iter()
            .position(|&b| b == b'=')
            .ok_or(SaslError::Malformed("key without value"))?;
        let (key, value) = (&pair[..eq], &pair[eq + 1..]);
        if key.is_empty() || !key.iter().all(u8::is_ascii_alphabetic) {
            return Err(SaslError::Malformed("invalid key"));
        }
        pairs.push((key, value));
    }
    Ok(pairs)
}

/// XOAUTH2 credentials (Google's and Microsoft's format):
/// `user=` user `^Aauth=Bearer ` token `^A^A`.
///
/// `Debug` does not show the token.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct XOAuth2 {
    /// The user (usually an e-mail address); not empty.
    pub user: String,
    /// The bearer token (RFC 6750 `b64token`), without the `Bearer ` prefix.
    pub token: String,
}

impl fmt::Debug for XOAuth2 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XOAuth2")
            .field("user", &self.user)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// A free-text field value: UTF-8 without control characters.
fn text_value(value: &[u8]) -> Result<String, SaslError> {
    if value.iter().any(u8::is_ascii_control) {
        return Err(SaslError::ForbiddenChar);
    }
    core::str::from_utf8(value)
        .map(String::from)
        .map_err(|_| SaslError::Utf8)
}

/// Decodes an XOAUTH2 message (already base64-decoded). Exactly the keys `user`
/// and `auth`, in either order, each once.
pub fn decode_xoauth2(message: &[u8]) -> Result<XOAuth2, SaslError> {
    let mut user = None;
    let mut token = None;
    for (key, value) in kv_pairs(message)? {
        let slot_is_set = match key {
            b"user" => user.replace(text_value(value)?).is_some(),
            b"auth" => token.replace(parse_bearer(value)?).is_some(),
            _ => return Err(SaslError::Malformed("unknown key")),
        };
        if slot_is_set {
            return Err(SaslError::Malformed("duplicate key"));
        }
    }
    let (Some(user), Some(token)) = (user, token) else {
        return Err(SaslError::Malformed("missing user or auth"));
    };
    if user.is_empty() {
        return Err(SaslError::EmptyField);
    }
    Ok(XOAuth2 { user, token })
}

/// Encodes an XOAUTH2 message (raw bytes, before base64). Refuses an empty
/// user, a user with control characters, or a token that is not a `b64token`.
/// Nothing is written on error.
pub fn encode_xoauth2(creds: &XOAuth2, out: &mut Vec<u8>) -> Result<(), SaslError> {
    if creds.user.is_empty() {
        return Err(SaslError::EmptyField);
    }
    if creds.user.bytes().any(|b| b.is_ascii_control()) {
        return Err(SaslError::ForbiddenChar);
    }
    check_token(&creds.token)?;
    out.extend_from_slice(b"user=");
    out.extend_from_slice(creds.user.as_bytes());
    out.extend_from_slice(b"\x01auth=Bearer ");
    out.extend_from_slice(creds.token.as_bytes());
    out.extend_from_slice(b"\x01\x01");
    Ok(())
}

/// OAUTHBEARER client credentials (RFC 7628 §3.1).
///
/// `Debug` does not show the token.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct OAuthBearer {
    /// The authorization identity from the gs2-header (`a=`), unescaped.
    pub authzid: Option<String>,
    /// The bearer token (RFC 6750 `b64token`), without the `Bearer ` prefix.
    pub token: String,
    /// The `host` key: the server name the client connected to.
    pub host: Option<String>,
    /// The `port` key: the port the client connected to.
    pub port: Option<u16>,
    /// Other key/value pairs, in order (keys are `1*ALPHA`, values printable
    /// ASCII, space, tab, CR or LF).
    pub extra: Vec<(String, String)>,
}

impl fmt::Debug for OAuthBearer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthBearer")
            .field("authzid", &self.authzid)
            .field("token", &"<redacted>")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("extra", &self.extra)
            .finish()
    }
}

/// RFC 7628 §3.1 `value = *(VCHAR / SP / HTAB / CR / LF)`.
fn valid_kv_value(value: &[u8]) -> bool {
    value
        .iter()
        .all(|&b| b.is_ascii_graphic() || matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}

/// RFC 5801 §4 `saslname`: `=2C` is ',', `=3D` is '='; ',' and '=' may not
/// appear otherwise, nor NUL; not empty.
fn unescape_saslname(name: &[u8]) -> Result<String, SaslError> {
    if name.is_empty() {
        return Err(SaslError::EmptyField);
    }
    let mut out = Vec::with_capacity(name.len());
    let mut i = 0;
    while i < name.len() {
        match name[i] {
            b'=' => {
                match name.get(i + 1..i + 3) {
                    Some(b"2C") => out.push(b','),
                    Some(b"3D") => out.push(b'='),
                    _ => return Err(SaslError::Malformed("bad saslname escape")),
                }
                i += 3;
            }
            0 | b',' => return Err(SaslError::ForbiddenChar),
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| SaslError::Utf8)
}

fn escape_saslname(name: &str, out: &mut Vec<u8>) {
    for b in name.bytes() {
        match b {
            b',' => out.extend_from_slice(b"=2C"),
            b'=' => out.extend_from_slice(b"=3D"),
            _ => out.push(b),
        }
    }
}

/// Decodes an OAUTHBEARER initial client response (already base64-decoded)
/// (RFC 7628 §3.1): a gs2-header `n,[a=authzid],` (or `y,...`; channel binding
/// `p=` is refused), a kvsep, key/value pairs each ended by kvsep, and a final
/// kvsep. `auth` is required; `auth`, `host` and `port` may appear once each.
///
/// The failure acknowledgement [`OAUTHBEARER_FAILURE_ACK`] is not credentials
/// and is refused here: compare against it first.
pub fn decode_oauthbearer(message: &[u8]) -> Result<OAuthBearer, SaslError> {
    // gs2-header = gs2-cbind-flag "," [ authzid ] ","
    let rest = match message {
        [b'n' | b'y', b',', rest @ ..] => rest,
        [b'p', b'=', ..] => return Err(SaslError::Malformed("channel binding not supported")),
        _ => return Err(SaslError::Malformed("bad gs2-header")),
    };
    let comma = rest
        .iter()
        .position(|&b| b == b',')
        .ok_or(SaslError::Malformed("bad gs2-header"))?;
    let (authz, rest) = (&rest[..comma], &rest[comma + 1..]);
    let authzid = match authz {
        [] => None,
        [b'a', b'=', name @ ..] => Some(unescape_saslname(name)?),
        _ => return Err(SaslError::Malformed("bad gs2-header")),
    };
    let Some(body) = rest.strip_prefix(&[KVSEP]) else {
        return Err(SaslError::Malformed("missing separator after gs2-header"));
    };
    let mut creds = OAuthBearer {
        authzid,
        ..OAuthBearer::default()
    };
    let mut token = None;
    for (key, value) in kv_pairs(body)? {
        if !valid_kv_value(value) {
            return Err(SaslError::ForbiddenChar);
        }
        let duplicate = match key {
            b"auth" => token.replace(parse_bearer(value)?).is_some(),
            b"host" => {
                let host = value.iter().all(u8::is_ascii_graphic).then(|| {
                    // All VCHAR: ASCII, so always UTF-8.
                    String::from_utf8_lossy(value).into_owned()
                });
                let host = host.ok_or(SaslError::ForbiddenChar)?;
                creds.host.replace(host).is_some()
            }
            b"port" => {
                if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
                    return Err(SaslError::Malformed("invalid port"));
                }
                let port = core::str::from_utf8(value)
                    .ok()
                    .and_then(|v| v.parse::<u16>().ok())
                    .ok_or(SaslError::Malformed("invalid port"))?;
                creds.port.replace(port).is_some()
            }
            _ => {
                // Keys are ALPHA and values are ASCII here: both UTF-8.
                creds.extra.push((
                    String::from_utf8_lossy(key).into_owned(),
                    String::from_utf8_lossy(value).into_owned(),
                ));
                false
            }
        };
        if duplicate {
            return Err(SaslError::Malformed("duplicate key"));
        }
    }
    creds.token = token.ok_or(SaslError::Malformed("missing auth"))?;
    Ok(creds)
}

/// Encodes an OAUTHBEARER initial client response (raw bytes, before base64)
/// (RFC 7628 §3.1): `n,a=<authzid>,^Ahost=…^Aport=…^A<extra>…^Aauth=Bearer <token>^A^A`.
///
/// Refuses (writing nothing) an empty authzid or one with NUL, a token that is
/// not a `b64token`, a host that is not VCHARs, extra keys that are not
/// `1*ALPHA` or are `auth`/`host`/`port`, and extra values outside RFC 7628's
/// `value` syntax.
pub fn encode_oauthbearer(creds: &OAuthBearer, out: &mut Vec<u8>) -> Result<(), SaslError> {
    if let Some(authzid) = &creds.authzid {
        if authzid.is_empty() {
            return Err(SaslError::EmptyField);
        }
        if authzid.as_bytes().contains(&0) {
            return Err(SaslError::ForbiddenChar);
        }
    }
    check_token(&creds.token)?;
    if let Some(host) = &creds.host
        && !host.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(SaslError::ForbiddenChar);
    }
    for (key, value) in &creds.extra {
        if key.is_empty()
            || !key.bytes().all(|b| b.is_ascii_alphabetic())
            || matches!(key.as_str(), "auth" | "host" | "port")
        {
            return Err(SaslError::Malformed("invalid key"));
        }
        if !valid_kv_value(value.as_bytes()) {
            return Err(SaslError::ForbiddenChar);
        }
    }
    out.extend_from_slice(b"n,");
    if let Some(authzid) = &creds.authzid {
        out.extend_from_slice(b"a=");
        escape_saslname(authzid, out);
    }
    out.extend_from_slice(b",\x01");
    if let Some(host) = &creds.host {
        out.extend_from_slice(b"host=");
        out.extend_from_slice(host.as_bytes());
        out.push(KVSEP);
    }
    if let Some(port) = creds.port {
        out.extend_from_slice(alloc::format!("port={port}\x01").as_bytes());
    }
    for (key, value) in &creds.extra {
        out.extend_from_slice(key.as_bytes());
        out.push(b'=');
        out.extend_from_slice(value.as_bytes());
        out.push(KVSEP);
    }
    out.extend_from_slice(b"auth=Bearer ");
    out.extend_from_slice(creds.token.as_bytes());
    out.extend_from_slice(b"\x01\x01");
    Ok(())
}

// ---------------------------------------------------------------------------
// Credentials, as the application sees them
// ---------------------------------------------------------------------------

/// Credentials for SMTP AUTH (RFC 4954), the same type on both sides: what a
/// server session hands the application to verify
/// ([`ServerEvent::Auth`](crate::server::ServerEvent::Auth)) and what a client
/// session authenticates with
/// ([`ClientConfig::credentials`](crate::client::ClientConfig::credentials)).
/// Re-exported as `smtp_proto::server::Credentials` and
/// `smtp_proto::client::Credentials`.
///
/// A client chooses the mechanism from those the server offers: OAUTHBEARER
/// (RFC 7628) then XOAUTH2 for a bearer token (XOAUTH2 only when a `user` is
/// given: it cannot go without one); PLAIN (RFC 4616) then LOGIN for a password
/// (LOGIN only without an authorization identity, which it cannot carry).
///
/// `Debug` does not show the password or the token.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Credentials {
    /// PLAIN (RFC 4616) and LOGIN: an identity and a password.
    Password {
        /// The identity to act as, if different from `username` (PLAIN's authzid).
        authzid: Option<String>,
        /// Who is authenticating.
        username: String,
        /// The password.
        password: String,
    },
    /// XOAUTH2 or OAUTHBEARER (RFC 7628): an OAuth 2.0 bearer token (RFC 6750).
    Bearer {
        /// The user, usually an e-mail address (XOAUTH2 `user=`, OAUTHBEARER
        /// `a=`), if given. XOAUTH2 always carries one; OAUTHBEARER may not.
        user: Option<String>,
        /// The token, without the `Bearer ` prefix.
        token: String,
    },
}

impl Credentials {
    /// Password credentials without an authorization identity.
    pub fn password(username: impl Into<String>, password: impl Into<String>) -> Credentials {
        Credentials::Password {
            authzid: None,
            username: username.into(),
            password: password.into(),
        }
    }

    /// Bearer-token credentials for `user` (OAUTHBEARER or XOAUTH2).
    pub fn bearer(user: impl Into<String>, token: impl Into<String>) -> Credentials {
        Credentials::Bearer {
            user: Some(user.into()),
            token: token.into(),
        }
    }

    /// Bearer-token credentials without a user: only OAUTHBEARER can carry
    /// them (the server learns the user from the token).
    pub fn bearer_without_user(token: impl Into<String>) -> Credentials {
        Credentials::Bearer {
            user: None,
            token: token.into(),
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Password {
                authzid, username, ..
            } => f
                .debug_struct("Password")
                .field("authzid", authzid)
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            Credentials::Bearer { user, .. } => f
                .debug_struct("Bearer")
                .field("user", user)
                .field("token", &"<redacted>")
                .finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    const M: usize = MAX_ENCODED_LEN;

    #[test]
    fn credentials_debug_hides_secrets() {
        let password = Credentials::Password {
            authzid: Some("boss".into()),
            username: "tim".into(),
            password: "hunter2".into(),
        };
        let text = alloc::format!("{password:?}");
        assert!(text.contains("boss") && text.contains("tim"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        for bearer in [
            Credentials::bearer("tim", "tok3n"),
            Credentials::bearer_without_user("tok3n"),
        ] {
            let text = alloc::format!("{bearer:?}");
            assert!(!text.contains("tok3n"), "{text}");
        }
        assert_eq!(
            Credentials::bearer("tim", "t"),
            Credentials::Bearer {
                user: Some("tim".into()),
                token: "t".into()
            }
        );
    }

    fn data(v: &[u8]) -> Result<SaslResponse, SaslError> {
        Ok(SaslResponse::Data(v.to_vec()))
    }

    #[test]
    fn responses() {
        assert_eq!(decode_response(b"*", M), Ok(SaslResponse::Cancel));
        assert_eq!(decode_response(b"", M), data(b""));
        assert_eq!(
            decode_response(b"AHRpbQB0YW5zdGFhZnRhbnN0YWFm", M),
            data(b"\0tim\0tanstaaftanstaaf")
        );
        for bad in [
            &b"AHRpbQB0YW5zdGFhZnRhbnN0YWF"[..], // missing padding
            b"AHRpbQB0YW5zdGFhZnRhbnN0YWFm=",    // extra padding
            b"dGVzdA",                           // unpadded
            b"dGVzdA=",                          // short padding
            b"dGVzdB==",                         // non-zero trailing bits
            b"dGVz dA==",                        // whitespace
            b" dGVzdA==",
            b"dGVzdA==\r\n",
            b"dGVz!A==",
            b"dGVzdA==dGVzdA==",
            b"=",
            b"**",
        ] {
            assert_eq!(decode_response(bad, M), Err(SaslError::Base64), "{bad:?}");
        }
        assert_eq!(decode_response(b"dGVzdA==", M), data(b"test"));
        assert_eq!(decode_response(b"dGVzdA==", 7), Err(SaslError::TooLong));
        assert_eq!(decode_response(b"*", 0), Err(SaslError::TooLong));
        let huge = vec![b'A'; MAX_ENCODED_LEN + 4];
        assert_eq!(decode_response(&huge, M), Err(SaslError::TooLong));
    }

    #[test]
    fn initial_responses() {
        assert_eq!(decode_initial_response("=", M), data(b""));
        assert_eq!(decode_initial_response("*", M), Err(SaslError::Base64));
        assert!(matches!(
            decode_initial_response("", M),
            Err(SaslError::Malformed(_))
        ));
        assert_eq!(decode_initial_response("dGVzdA==", M), data(b"test"));
        assert_eq!(decode_initial_response("dGVzdA", M), Err(SaslError::Base64));
        assert_eq!(encode_initial_response(b""), "=");
        assert_eq!(encode_initial_response(b"test"), "dGVzdA==");
        let mut out = Vec::new();
        encode_response(b"", &mut out);
        assert_eq!(out, b"\r\n");
        out.clear();
        encode_response(b"test", &mut out);
        assert_eq!(out, b"dGVzdA==\r\n");
        assert_eq!(CANCEL_LINE, b"*\r\n");
    }

    #[test]
    fn challenges() {
        assert_eq!(encode_challenge(b""), "");
        assert_eq!(encode_challenge(LOGIN_USERNAME_CHALLENGE), "VXNlcm5hbWU6");
        assert_eq!(encode_challenge(LOGIN_PASSWORD_CHALLENGE), "UGFzc3dvcmQ6");
        assert_eq!(decode_challenge("", M), Ok(Vec::new()));
        assert_eq!(
            decode_challenge("VXNlcm5hbWU6", M),
            Ok(b"Username:".to_vec())
        );
        assert_eq!(decode_challenge("VXNlcm5hbWU", M), Err(SaslError::Base64));
        assert_eq!(
            LoginPrompt::classify(b"Username:"),
            Some(LoginPrompt::Username)
        );
        assert_eq!(
            LoginPrompt::classify(b"User Name\0"),
            Some(LoginPrompt::Username)
        );
        assert_eq!(
            LoginPrompt::classify(b"PASSWORD:"),
            Some(LoginPrompt::Password)
        );
        assert_eq!(LoginPrompt::classify(b"Pas"), None);
        assert_eq!(LoginPrompt::Password.challenge(), b"Password:");
        assert_eq!(decode_login_field(b"tim"), Ok("tim"));
        assert_eq!(decode_login_field(b""), Err(SaslError::EmptyField));
        assert_eq!(decode_login_field(b"t\0m"), Err(SaslError::ForbiddenChar));
        assert_eq!(decode_login_field(b"\xff"), Err(SaslError::Utf8));
    }

    #[test]
    fn plain_rfc4616_examples() {
        let c = decode_plain(b"\0tim\0tanstaaftanstaaf").unwrap();
        assert_eq!(c.authzid(), None);
        assert_eq!(
            (c.authcid.as_str(), c.password.as_str()),
            ("tim", "tanstaaftanstaaf")
        );
        let c = decode_plain(b"Ursel\0Kurt\0xipj3plmq").unwrap();
        assert_eq!(c.authzid(), Some("Ursel"));
        assert_eq!(
            (c.authcid.as_str(), c.password.as_str()),
            ("Kurt", "xipj3plmq")
        );
        let mut out = Vec::new();
        encode_plain(&c, &mut out).unwrap();
        assert_eq!(out, b"Ursel\0Kurt\0xipj3plmq");
        assert!(!alloc::format!("{c:?}").contains("xipj3plmq"));
    }

    #[test]
    fn plain_errors() {
        assert_eq!(decode_plain(b""), Err(SaslError::FieldCount));
        assert_eq!(decode_plain(b"tim\0pw"), Err(SaslError::FieldCount));
        assert_eq!(decode_plain(b"\0tim\0pw\0"), Err(SaslError::FieldCount));
        assert_eq!(decode_plain(b"a\0b\0c\0d"), Err(SaslError::FieldCount));
        assert_eq!(decode_plain(b"\0\0pw"), Err(SaslError::EmptyField));
        assert_eq!(decode_plain(b"\0tim\0"), Err(SaslError::EmptyField));
        assert_eq!(decode_plain(b"\0\xfftim\0pw"), Err(SaslError::Utf8));
        let mut long = b"\0tim\0".to_vec();
        long.extend_from_slice(&[b'p'; 255]);
        assert!(decode_plain(&long).is_ok());
        long.push(b'p');
        assert_eq!(decode_plain(&long), Err(SaslError::FieldTooLong));
        let mut out = Vec::new();
        let bad = PlainCredentials {
            authzid: String::new(),
            authcid: "tim".into(),
            password: "a\0b".into(),
        };
        assert_eq!(encode_plain(&bad, &mut out), Err(SaslError::ForbiddenChar));
        let bad = PlainCredentials {
            password: String::new(),
            ..bad
        };
        assert_eq!(encode_plain(&bad, &mut out), Err(SaslError::EmptyField));
        assert!(out.is_empty());
    }

    #[test]
    fn xoauth2() {
        let raw = decode_initial_response(
            "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==",
            M,
        )
        .unwrap();
        let SaslResponse::Data(raw) = raw else {
            panic!()
        };
        let x = decode_xoauth2(&raw).unwrap();
        assert_eq!(x.user, "someuser@example.com");
        assert_eq!(x.token, "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg");
        let mut out = Vec::new();
        encode_xoauth2(&x, &mut out).unwrap();
        assert_eq!(out, raw);
        assert!(!alloc::format!("{x:?}").contains("ya29"));
        for bad in [
            &b"user=a\x01auth=Bearer t\x01"[..],
            b"user=a\x01auth=Bearer t",
            b"user=a\x01\x01",
            b"auth=Bearer t\x01\x01",
            b"user=\x01auth=Bearer t\x01\x01",
            b"user=a\x01auth=Basic t\x01\x01",
            b"user=a\x01auth=Bearer \x01\x01",
            b"user=a\x01auth=Bearer t t\x01\x01",
            b"user=a\x01user=b\x01auth=Bearer t\x01\x01",
            b"user=a\x01auth=Bearer t\x01x=y\x01\x01",
            b"user=a\x01auth\x01\x01",
            b"\x01",
            b"",
        ] {
            assert!(decode_xoauth2(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            decode_xoauth2(b"auth=bearer t==\x01user=a\x01\x01").map(|x| x.token),
            Ok("t==".into())
        );
    }

    #[test]
    fn oauthbearer_rfc7628_example() {
        let raw = decode_initial_response(
            "bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9MTQzAWF1dGg9QmVhcmVyIHZGOWRmdDRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2c9PQEB",
            M,
        )
        .unwrap();
        let SaslResponse::Data(raw) = raw else {
            panic!()
        };
        assert_eq!(
            raw,
            b"n,a=user@example.com,\x01host=server.example.com\x01port=143\x01auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01"
        );
        let o = decode_oauthbearer(&raw).unwrap();
        assert_eq!(o.authzid.as_deref(), Some("user@example.com"));
        assert_eq!(o.host.as_deref(), Some("server.example.com"));
        assert_eq!(o.port, Some(143));
        assert_eq!(o.token, "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==");
        assert!(o.extra.is_empty());
        let mut out = Vec::new();
        encode_oauthbearer(&o, &mut out).unwrap();
        assert_eq!(out, raw);
        assert!(!alloc::format!("{o:?}").contains("vF9d"));
        // The failure dance (RFC 7628 §3.2.2, §4.3): the client acknowledges with kvsep.
        assert_eq!(encode_initial_response(OAUTHBEARER_FAILURE_ACK), "AQ==");
        assert_eq!(decode_response(b"AQ==", M), data(OAUTHBEARER_FAILURE_ACK));
        assert!(decode_oauthbearer(OAUTHBEARER_FAILURE_ACK).is_err());
    }

    #[test]
    fn oauthbearer_variants() {
        let o = decode_oauthbearer(b"n,,\x01auth=Bearer abc\x01\x01").unwrap();
        assert_eq!(o.authzid, None);
        assert_eq!((o.host, o.port), (None, None));
        let o =
            decode_oauthbearer(b"y,a=a=2Cb=3Dc,\x01auth=Bearer abc\x01mode=x y\x01\x01").unwrap();
        assert_eq!(o.authzid.as_deref(), Some("a,b=c"));
        assert_eq!(o.extra, vec![("mode".into(), "x y".into())]);
        let mut out = Vec::new();
        encode_oauthbearer(&o, &mut out).unwrap();
        assert_eq!(
            out,
            b"n,a=a=2Cb=3Dc,\x01mode=x y\x01auth=Bearer abc\x01\x01"
        );
        for bad in [
            &b"p=tls-unique,,\x01auth=Bearer abc\x01\x01"[..],
            b"n,a=,\x01auth=Bearer abc\x01\x01",
            b"n,a=x=2D,\x01auth=Bearer abc\x01\x01",
            b"n,a=x=2,\x01auth=Bearer abc\x01\x01",
            b"n,b=x,\x01auth=Bearer abc\x01\x01",
            b"n,\x01auth=Bearer abc\x01\x01",
            b"n,,auth=Bearer abc\x01\x01",
            b"n,,\x01\x01",
            b"n,,\x01host=h\x01\x01",
            b"n,,\x01auth=Bearer abc\x01auth=Bearer abc\x01\x01",
            b"n,,\x01auth=Bearer abc\x01port=65536\x01\x01",
            b"n,,\x01auth=Bearer abc\x01port=\x01\x01",
            b"n,,\x01auth=Bearer abc\x01port=+1\x01\x01",
            b"n,,\x01auth=Bearer abc\x01host=a b\x01\x01",
            b"n,,\x01auth=Bearer abc\x01k1=v\x01\x01",
            b"n,,\x01auth=Bearer abc\x01k=\x00\x01\x01",
            b"n,,\x01auth=Bearer abc\x01",
            b"n,,\x01auth=Bearer abc",
            b"x,,\x01auth=Bearer abc\x01\x01",
            b"n",
            b"",
        ] {
            assert!(decode_oauthbearer(bad).is_err(), "{bad:?}");
        }
        let mut out = Vec::new();
        let bad = OAuthBearer {
            token: "abc".into(),
            extra: vec![("auth".into(), "x".into())],
            ..OAuthBearer::default()
        };
        assert!(encode_oauthbearer(&bad, &mut out).is_err());
        let bad = OAuthBearer {
            token: "a c".into(),
            ..OAuthBearer::default()
        };
        assert!(encode_oauthbearer(&bad, &mut out).is_err());
        assert!(out.is_empty());
    }
}
