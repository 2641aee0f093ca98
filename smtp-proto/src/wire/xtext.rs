//! The `xtext` encoding of RFC 3461 §4, used by the ENVID and ORCPT parameters
//! (RFC 3461 §4.2, §4.4) and by the AUTH parameter of MAIL (RFC 4954 §5).
//!
//! ```text
//! xtext   = *( xchar / hexchar )
//! xchar   = any ASCII CHAR between "!" (33) and "~" (126) inclusive,
//!           except for "+" and "="
//! hexchar = ASCII "+" immediately followed by two upper case
//!           hexadecimal digits
//! ```
//!
//! [`decode`] and [`encode`] borrow their input when there is nothing to change.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

use super::swar;

/// Why a string is not valid `xtext` (RFC 3461 §4).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum XtextError {
    /// A byte that is neither an `xchar` nor the start of a `hexchar`: a control
    /// character, space, `=`, DEL or a non-ASCII byte (RFC 3461 §4).
    #[error("invalid character in xtext at offset {offset}")]
    InvalidChar {
        /// Byte offset of the offending character in the input.
        offset: usize,
    },
    /// A `+` not followed by two upper-case hexadecimal digits (RFC 3461 §4).
    #[error(
        "invalid xtext escape at offset {offset}: '+' must be followed by two upper-case hex digits"
    )]
    InvalidEscape {
        /// Byte offset of the `+` in the input.
        offset: usize,
    },
    /// The decoded octets are not valid UTF-8.
    #[error("decoded xtext is not valid UTF-8")]
    InvalidUtf8,
}

/// Upper-case hexadecimal digits, as `hexchar` requires (RFC 3461 §4).
const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Whether `b` is an `xchar` (RFC 3461 §4): ASCII 33..=126 except `+` and `=`.
#[inline]
fn is_xchar(b: u8) -> bool {
    (33..=126).contains(&b) && b != b'+' && b != b'='
}

/// Value of an upper-case hexadecimal digit (RFC 3461 §4 allows only `0-9A-F`).
#[inline]
fn upper_hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Checks the grammar and reports whether there is any `hexchar` to decode.
///
/// With `allow_non_ascii`, non-ASCII characters (which a `&str` always holds as
/// whole UTF-8 sequences) are accepted literally.
fn scan(s: &str, allow_non_ascii: bool) -> Result<bool, XtextError> {
    let bytes = s.as_bytes();
    // The usual xtext, plain `xchar`s, eight bytes at a time.
    if swar::none(bytes, |w| {
        swar::not_graphic(w) | swar::eq(w, b'+') | swar::eq(w, b'=')
    }) {
        return Ok(false);
    }
    let mut escaped = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'+' {
            let hi = bytes.get(i + 1).copied().and_then(upper_hex_value);
            let lo = bytes.get(i + 2).copied().and_then(upper_hex_value);
            if hi.is_none() || lo.is_none() {
                return Err(XtextError::InvalidEscape { offset: i });
            }
            escaped = true;
            i += 3;
        } else if is_xchar(b) || (allow_non_ascii && b >= 0x80) {
            i += 1;
        } else {
            return Err(XtextError::InvalidChar { offset: i });
        }
    }
    Ok(escaped)
}

fn decode_impl(s: &str, allow_non_ascii: bool) -> Result<Cow<'_, str>, XtextError> {
    if !scan(s, allow_non_ascii)? {
        return Ok(Cow::Borrowed(s));
    }
    // Decoding never lengthens the text, so the input length bounds the buffer.
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'+' {
            // `scan` validated both digits; re-check rather than index blindly.
            let hi = bytes.get(i + 1).copied().and_then(upper_hex_value);
            let lo = bytes.get(i + 2).copied().and_then(upper_hex_value);
            match (hi, lo) {
                (Some(hi), Some(lo)) => out.push((hi << 4) | lo),
                _ => return Err(XtextError::InvalidEscape { offset: i }),
            }
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out)
        .map(Cow::Owned)
        .map_err(|_| XtextError::InvalidUtf8)
}

/// Decodes `xtext` (RFC 3461 §4).
///
/// Borrows `s` when it contains no `+XX` escape. Hex digits must be upper case
/// (`+2b` is rejected), every other byte must be an `xchar`, and the decoded
/// octets must form valid UTF-8.
///
/// # Errors
///
/// [`XtextError::InvalidChar`] for a byte outside the grammar,
/// [`XtextError::InvalidEscape`] for a malformed `+XX`, and
/// [`XtextError::InvalidUtf8`] when the decoded octets are not UTF-8.
///
/// ```
/// use smtp_proto::wire::xtext::decode;
/// assert_eq!(decode("bob+2Bfoo@example.com").unwrap(), "bob+foo@example.com");
/// assert!(decode("bob+2bfoo").is_err());
/// ```
pub fn decode(s: &str) -> Result<Cow<'_, str>, XtextError> {
    decode_impl(s, false)
}

/// Decodes `xtext` (RFC 3461 §4), also accepting non-ASCII UTF-8 characters
/// literally.
///
/// RFC 6531 §3.3 lets an `esmtp-value` carry UTF-8 when the transaction uses
/// SMTPUTF8; this is the decoder the parameter parser uses then. ASCII bytes
/// follow the strict grammar of [`decode`].
///
/// # Errors
///
/// As [`decode`], except that non-ASCII characters are not
/// [`XtextError::InvalidChar`].
pub fn decode_utf8(s: &str) -> Result<Cow<'_, str>, XtextError> {
    decode_impl(s, true)
}

/// Encodes `s` as `xtext` (RFC 3461 §4).
///
/// `+`, `=` and every byte outside 33..=126 (including each octet of a non-ASCII
/// UTF-8 sequence) become `+XX` with upper-case hex digits. Borrows `s` when
/// nothing needs escaping. `decode(&encode(s)) == s` for every string.
///
/// ```
/// use smtp_proto::wire::xtext::encode;
/// assert_eq!(encode("a+b=c d"), "a+2Bb+3Dc+20d");
/// assert_eq!(encode("plain"), "plain");
/// ```
#[must_use]
pub fn encode(s: &str) -> Cow<'_, str> {
    let bytes = s.as_bytes();
    let escapes = bytes.iter().filter(|&&b| !is_xchar(b)).count();
    if escapes == 0 {
        return Cow::Borrowed(s);
    }
    // Each escaped byte grows by two; saturate (cannot overflow for a real &str).
    let cap = bytes.len().saturating_add(escapes.saturating_mul(2));
    let mut out = String::with_capacity(cap);
    for &b in bytes {
        if is_xchar(b) {
            out.push(char::from(b));
        } else {
            out.push('+');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
    Cow::Owned(out)
}

/// Whether `s` matches the `xtext` grammar of RFC 3461 §4.
///
/// This is a purely syntactic check: `+FF` is valid xtext, although [`decode`]
/// rejects it on its own because the decoded octet is not UTF-8.
#[must_use]
pub fn is_xtext(s: &str) -> bool {
    scan(s, false).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_borrowed_without_escapes() {
        assert!(matches!(
            decode("abc@example.com"),
            Ok(Cow::Borrowed("abc@example.com"))
        ));
        assert!(matches!(decode(""), Ok(Cow::Borrowed(""))));
    }

    #[test]
    fn decode_rfc3461_example() {
        // RFC 3461 §4.2 ORCPT example address.
        assert_eq!(
            decode("bob+2Bfoo@example.com").unwrap(),
            "bob+foo@example.com"
        );
        assert_eq!(decode("+2B+3D+20").unwrap(), "+= ");
    }

    #[test]
    fn decode_rejects_lowercase_hex() {
        assert_eq!(
            decode("bob+2bfoo"),
            Err(XtextError::InvalidEscape { offset: 3 })
        );
        assert_eq!(decode("+a0"), Err(XtextError::InvalidEscape { offset: 0 }));
    }

    #[test]
    fn decode_rejects_truncated_escape() {
        assert_eq!(decode("ab+"), Err(XtextError::InvalidEscape { offset: 2 }));
        assert_eq!(decode("ab+4"), Err(XtextError::InvalidEscape { offset: 2 }));
        assert_eq!(decode("+G0"), Err(XtextError::InvalidEscape { offset: 0 }));
    }

    #[test]
    fn decode_rejects_non_xchars() {
        assert_eq!(decode("a=b"), Err(XtextError::InvalidChar { offset: 1 }));
        assert_eq!(decode("a b"), Err(XtextError::InvalidChar { offset: 1 }));
        assert_eq!(decode("a\0b"), Err(XtextError::InvalidChar { offset: 1 }));
        assert_eq!(decode("\x7f"), Err(XtextError::InvalidChar { offset: 0 }));
        assert_eq!(decode("\r\n"), Err(XtextError::InvalidChar { offset: 0 }));
        assert_eq!(decode("é"), Err(XtextError::InvalidChar { offset: 0 }));
    }

    #[test]
    fn decode_utf8_accepts_literal_non_ascii() {
        assert_eq!(decode_utf8("jösé+2B").unwrap(), "jösé+");
        assert!(matches!(decode_utf8("ü"), Ok(Cow::Borrowed("ü"))));
        assert!(decode_utf8("a b").is_err());
    }

    #[test]
    fn decode_requires_utf8() {
        assert_eq!(decode("+FF"), Err(XtextError::InvalidUtf8));
        assert_eq!(decode("+C3+A9").unwrap(), "é");
        assert_eq!(decode("+C3"), Err(XtextError::InvalidUtf8));
    }

    #[test]
    fn encode_escapes() {
        assert!(matches!(encode("abc"), Cow::Borrowed("abc")));
        assert_eq!(encode("a+b"), "a+2Bb");
        assert_eq!(encode("a=b"), "a+3Db");
        assert_eq!(encode(" \0\x7f"), "+20+00+7F");
        assert_eq!(encode("é"), "+C3+A9");
        assert_eq!(encode(""), "");
    }

    #[test]
    fn is_xtext_grammar() {
        assert!(is_xtext(""));
        assert!(is_xtext("abc+2B"));
        assert!(is_xtext("+FF"));
        assert!(!is_xtext("+2b"));
        assert!(!is_xtext("a=b"));
        assert!(!is_xtext("é"));
    }

    #[test]
    fn roundtrip_samples() {
        for s in [
            "",
            "a",
            "+",
            "=",
            "a b",
            "\0",
            "héllo wörld",
            "日本+=",
            "~!",
        ] {
            assert_eq!(decode(&encode(s)).unwrap(), s);
        }
    }
}
