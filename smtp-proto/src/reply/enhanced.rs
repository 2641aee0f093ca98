//! Enhanced mail system status codes (RFC 3463), as carried in SMTP replies
//! (RFC 2034).

use core::fmt;

/// An enhanced status code `class.subject.detail` (RFC 3463 §2).
///
/// RFC 3463 §2: `status-code = class "." subject "." detail`, with
/// `class = "2" / "4" / "5"`, `subject = 1*3digit` and `detail = 1*3digit`.
/// So `class` is 2, 4 or 5 and `subject` and `detail` are at most 999.
///
/// **Leading zeros.** `1*3digit` allows them, so [`EnhancedCode::parse`]
/// accepts `2.0.00` and `5.01.1` and reads each number by its value: `5.01.1`
/// is 5.1.1. Codes compare by value, so the prefix on every line of a reply
/// (RFC 2034 §4) is recognised however it is spelled. [`Display`](fmt::Display)
/// writes the one form without leading zeros, which keeps
/// `parse(encode(reply)) == reply`. A number still has at most three digits
/// (`5.0001.1` is not a code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EnhancedCode {
    class: u8,
    subject: u16,
    detail: u16,
}

const fn code(class: u8, subject: u16, detail: u16) -> EnhancedCode {
    EnhancedCode {
        class,
        subject,
        detail,
    }
}

impl EnhancedCode {
    /// 2.0.0 Other undefined status: success (RFC 3463 §3.1).
    pub const OK: EnhancedCode = code(2, 0, 0);
    /// 2.1.0 Other address status, conventionally "sender OK" after MAIL
    /// (RFC 3463 §3.2).
    pub const SENDER_OK: EnhancedCode = code(2, 1, 0);
    /// 2.1.5 Destination address valid (RFC 3463 §3.2).
    pub const DESTINATION_VALID: EnhancedCode = code(2, 1, 5);
    /// 2.7.0 Other security status: authentication succeeded (RFC 4954 §6).
    pub const AUTH_SUCCEEDED: EnhancedCode = code(2, 7, 0);
    /// 4.0.0 Other undefined transient status (RFC 3463 §3.1).
    pub const TRANSIENT_FAILURE: EnhancedCode = code(4, 0, 0);
    /// 4.2.2 Mailbox full, transient (RFC 3463 §3.3).
    pub const MAILBOX_FULL_TRANSIENT: EnhancedCode = code(4, 2, 2);
    /// 4.3.1 Mail system full (RFC 3463 §3.4).
    pub const SYSTEM_FULL: EnhancedCode = code(4, 3, 1);
    /// 4.3.2 System not accepting network messages, e.g. shutting down (RFC 3463 §3.4).
    pub const SYSTEM_NOT_ACCEPTING: EnhancedCode = code(4, 3, 2);
    /// 4.4.2 Bad connection, e.g. a timeout (RFC 3463 §3.5).
    pub const BAD_CONNECTION: EnhancedCode = code(4, 4, 2);
    /// 4.5.3 Too many recipients (RFC 3463 §3.6; 452 per RFC 5321 §4.5.3.1.10).
    pub const TOO_MANY_RECIPIENTS: EnhancedCode = code(4, 5, 3);
    /// 4.7.0 Temporary authentication failure (RFC 4954 §6).
    pub const TEMPORARY_AUTH_FAILURE: EnhancedCode = code(4, 7, 0);
    /// 4.7.12 A password transition is needed (RFC 4954 §6, RFC 5248).
    pub const PASSWORD_TRANSITION_NEEDED: EnhancedCode = code(4, 7, 12);
    /// 5.0.0 Other undefined permanent status (RFC 3463 §3.1).
    pub const PERMANENT_FAILURE: EnhancedCode = code(5, 0, 0);
    /// 5.1.1 Bad destination mailbox address: user unknown (RFC 3463 §3.2).
    pub const BAD_DESTINATION_MAILBOX: EnhancedCode = code(5, 1, 1);
    /// 5.1.2 Bad destination system address (RFC 3463 §3.2).
    pub const BAD_DESTINATION_SYSTEM: EnhancedCode = code(5, 1, 2);
    /// 5.1.3 Bad destination mailbox address syntax (RFC 3463 §3.2).
    pub const BAD_DESTINATION_SYNTAX: EnhancedCode = code(5, 1, 3);
    /// 5.1.7 Bad sender's mailbox address syntax (RFC 3463 §3.2).
    pub const BAD_SENDER_SYNTAX: EnhancedCode = code(5, 1, 7);
    /// 5.1.8 Bad sender's system address (RFC 3463 §3.2).
    pub const BAD_SENDER_SYSTEM: EnhancedCode = code(5, 1, 8);
    /// 5.2.1 Mailbox disabled, not accepting messages (RFC 3463 §3.3).
    pub const MAILBOX_DISABLED: EnhancedCode = code(5, 2, 1);
    /// 5.2.2 Mailbox full (RFC 3463 §3.3).
    pub const MAILBOX_FULL: EnhancedCode = code(5, 2, 2);
    /// 5.2.3 Message length exceeds administrative limit (RFC 3463 §3.3).
    pub const MESSAGE_TOO_LONG: EnhancedCode = code(5, 2, 3);
    /// 5.3.4 Message too big for system (RFC 3463 §3.4; RFC 1870 §6).
    pub const MESSAGE_TOO_BIG_FOR_SYSTEM: EnhancedCode = code(5, 3, 4);
    /// 5.5.1 Invalid command (RFC 3463 §3.6).
    pub const INVALID_COMMAND: EnhancedCode = code(5, 5, 1);
    /// 5.5.2 Syntax error (RFC 3463 §3.6).
    pub const SYNTAX_ERROR: EnhancedCode = code(5, 5, 2);
    /// 5.5.3 Too many recipients, permanent (RFC 3463 §3.6).
    pub const TOO_MANY_RECIPIENTS_PERMANENT: EnhancedCode = code(5, 5, 3);
    /// 5.5.4 Invalid command arguments (RFC 3463 §3.6).
    pub const INVALID_ARGUMENTS: EnhancedCode = code(5, 5, 4);
    /// 5.5.5 Wrong protocol version (RFC 3463 §3.6).
    pub const WRONG_PROTOCOL_VERSION: EnhancedCode = code(5, 5, 5);
    /// 5.5.6 Authentication exchange line is too long (RFC 4954 §4).
    pub const AUTH_LINE_TOO_LONG: EnhancedCode = code(5, 5, 6);
    /// 5.6.7 Non-ASCII addresses not permitted for that sender/recipient
    /// (RFC 6531 §3.7.4.2, RFC 5248).
    pub const NON_ASCII_ADDRESS_NOT_PERMITTED: EnhancedCode = code(5, 6, 7);
    /// 5.7.0 Other security status, e.g. "authentication required" (RFC 4954 §6).
    pub const SECURITY_POLICY: EnhancedCode = code(5, 7, 0);
    /// 5.7.1 Delivery not authorized, message refused (RFC 3463 §3.8).
    pub const DELIVERY_NOT_AUTHORIZED: EnhancedCode = code(5, 7, 1);
    /// 5.7.8 Authentication credentials invalid (RFC 4954 §6).
    pub const AUTH_CREDENTIALS_INVALID: EnhancedCode = code(5, 7, 8);
    /// 5.7.9 Authentication mechanism is too weak (RFC 4954 §6).
    pub const AUTH_MECHANISM_TOO_WEAK: EnhancedCode = code(5, 7, 9);
    /// 5.7.11 Encryption required for requested authentication mechanism (RFC 4954 §6).
    pub const ENCRYPTION_REQUIRED: EnhancedCode = code(5, 7, 11);
    /// 5.7.30 REQUIRETLS support required (RFC 8689 §5).
    pub const REQUIRETLS_REQUIRED: EnhancedCode = code(5, 7, 30);

    /// An enhanced code; `None` unless `class` is 2, 4 or 5 and `subject` and
    /// `detail` are at most 999 (RFC 3463 §2).
    pub const fn new(class: u8, subject: u16, detail: u16) -> Option<EnhancedCode> {
        if matches!(class, 2 | 4 | 5) && subject <= 999 && detail <= 999 {
            Some(code(class, subject, detail))
        } else {
            None
        }
    }

    /// The class: 2 (success), 4 (persistent transient failure) or 5 (permanent
    /// failure) (RFC 3463 §3.1).
    pub const fn class(self) -> u8 {
        self.class
    }

    /// The subject, 0 to 999 (RFC 3463 §2).
    pub const fn subject(self) -> u16 {
        self.subject
    }

    /// The detail, 0 to 999 (RFC 3463 §2).
    pub const fn detail(self) -> u16 {
        self.detail
    }

    /// Parses an enhanced code at the start of `s`, returning it and the rest of `s`.
    ///
    /// `None` if `s` does not start with `class "." subject "." detail` (RFC 3463
    /// §2, `subject = 1*3digit`, `detail = 1*3digit`), or if a number runs on to
    /// a fourth digit. Leading zeros are allowed and the numbers are read by
    /// value (`2.0.00` is 2.0.0). What follows the code is not examined: in a
    /// reply the caller wants a space or the end of the line there (RFC 2034 §4).
    ///
    /// ```
    /// use smtp_proto::reply::EnhancedCode;
    /// let (code, rest) = EnhancedCode::parse("5.1.1 User unknown").unwrap();
    /// assert_eq!(code, EnhancedCode::BAD_DESTINATION_MAILBOX);
    /// assert_eq!(rest, " User unknown");
    /// let (code, rest) = EnhancedCode::parse("5.01.001 x").unwrap();
    /// assert_eq!((code, rest), (EnhancedCode::BAD_DESTINATION_MAILBOX, " x"));
    /// assert_eq!(code.to_string(), "5.1.1");
    /// assert_eq!(EnhancedCode::parse("5.0001.1"), None);
    /// assert_eq!(EnhancedCode::parse("3.1.1"), None);
    /// assert_eq!(EnhancedCode::parse("5.1.1000"), None);
    /// ```
    pub fn parse(s: &str) -> Option<(EnhancedCode, &str)> {
        let (code, len) = Self::parse_bytes(s.as_bytes())?;
        // `len` is just after an ASCII digit, so it is a char boundary.
        Some((code, s.get(len..)?))
    }

    /// Byte-level [`parse`](Self::parse): the code and how many bytes it took.
    pub(crate) fn parse_bytes(b: &[u8]) -> Option<(EnhancedCode, usize)> {
        let class = match b.first()? {
            b'2' => 2,
            b'4' => 4,
            b'5' => 5,
            _ => return None,
        };
        if b.get(1) != Some(&b'.') {
            return None;
        }
        let (subject, i) = number(b, 2)?;
        if b.get(i) != Some(&b'.') {
            return None;
        }
        let (detail, end) = number(b, i + 1)?;
        Some((code(class, subject, detail), end))
    }

    /// The length of the textual form, e.g. 5 for `2.0.0`.
    pub(crate) fn text_len(self) -> usize {
        2 + digits_len(self.subject) + 1 + digits_len(self.detail)
    }

    /// Appends the textual form to `out`.
    pub(crate) fn write_to<B: bytes::BufMut + ?Sized>(self, out: &mut B) {
        out.put_u8(b'0' + self.class);
        out.put_u8(b'.');
        push_number(out, self.subject);
        out.put_u8(b'.');
        push_number(out, self.detail);
    }
}

/// `1*3digit` (RFC 3463 §2), leading zeros allowed, starting at `start`;
/// returns the value and the index after it. Fails if a fourth digit follows.
fn number(b: &[u8], start: usize) -> Option<(u16, usize)> {
    let mut value: u16 = 0;
    let mut i = start;
    while let Some(&d) = b.get(i) {
        if !d.is_ascii_digit() {
            break;
        }
        if i - start == 3 {
            // A fourth digit.
            return None;
        }
        value = value * 10 + u16::from(d - b'0');
        i += 1;
    }
    if i == start { None } else { Some((value, i)) }
}

fn digits_len(n: u16) -> usize {
    match n {
        0..=9 => 1,
        10..=99 => 2,
        _ => 3,
    }
}

fn push_number<B: bytes::BufMut + ?Sized>(out: &mut B, n: u16) {
    if n >= 100 {
        out.put_u8(b'0' + (n / 100 % 10) as u8);
    }
    if n >= 10 {
        out.put_u8(b'0' + (n / 10 % 10) as u8);
    }
    out.put_u8(b'0' + (n % 10) as u8);
}

impl fmt::Display for EnhancedCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec::Vec;

    #[test]
    fn parse_and_display() {
        for (text, code, rest) in [
            ("2.0.0", EnhancedCode::OK, ""),
            (
                "5.1.1 User unknown",
                EnhancedCode::BAD_DESTINATION_MAILBOX,
                " User unknown",
            ),
            ("4.7.12", EnhancedCode::PASSWORD_TRANSITION_NEEDED, ""),
            ("5.999.999x", EnhancedCode::new(5, 999, 999).unwrap(), "x"),
            ("2.1.0.", EnhancedCode::SENDER_OK, "."),
        ] {
            assert_eq!(EnhancedCode::parse(text), Some((code, rest)), "{text}");
            let shown = code.to_string();
            assert_eq!(shown.len(), code.text_len());
            let mut bytes = Vec::new();
            code.write_to(&mut bytes);
            assert_eq!(bytes, shown.as_bytes());
        }
        for bad in [
            "", "2", "2.", "2.0", "2.0.", "3.0.0", "1.0.0", "6.0.0", "2.1000.0", "2.0.1000",
            "2.0000.0", "2.0.0000", "2.0001.1", "02.0.0", "2..0", "2.a.0", "20.0.0", " 2.0.0",
            "2.-1.0", "2.+1.0", "2. 1.0", "2.1 .0",
        ] {
            assert_eq!(EnhancedCode::parse(bad), None, "{bad}");
        }
        assert_eq!(EnhancedCode::new(3, 0, 0), None);
        assert_eq!(EnhancedCode::new(5, 1000, 0), None);
        assert_eq!(EnhancedCode::new(5, 0, 1000), None);
        assert_eq!(
            EnhancedCode::new(5, 7, 30),
            Some(EnhancedCode::REQUIRETLS_REQUIRED)
        );
        let c = EnhancedCode::new(4, 10, 100).unwrap();
        assert_eq!((c.class(), c.subject(), c.detail()), (4, 10, 100));
        assert_eq!(c.to_string(), "4.10.100");
    }

    /// RFC 3463 §2: `subject = 1*3digit`, `detail = 1*3digit`, so leading
    /// zeros are allowed; the value counts.
    #[test]
    fn leading_zeros_are_read_by_value() {
        for (text, code, rest) in [
            ("2.0.00", EnhancedCode::OK, ""),
            ("2.00.0 Ok", EnhancedCode::OK, " Ok"),
            ("2.000.000", EnhancedCode::OK, ""),
            ("5.01.1 x", EnhancedCode::BAD_DESTINATION_MAILBOX, " x"),
            ("5.001.001", EnhancedCode::BAD_DESTINATION_MAILBOX, ""),
            ("4.7.012", EnhancedCode::PASSWORD_TRANSITION_NEEDED, ""),
            ("5.7.030.", EnhancedCode::REQUIRETLS_REQUIRED, "."),
            ("5.099.9", EnhancedCode::new(5, 99, 9).unwrap(), ""),
        ] {
            assert_eq!(EnhancedCode::parse(text), Some((code, rest)), "{text}");
            assert_eq!(
                EnhancedCode::parse_bytes(text.as_bytes()),
                Some((code, text.len() - rest.len()))
            );
        }
        assert_eq!(
            EnhancedCode::parse("5.01.1").unwrap().0.to_string(),
            "5.1.1"
        );
    }

    #[test]
    fn every_code_round_trips_through_text() {
        for class in [2u8, 4, 5] {
            for n in (0..=999u16).step_by(7).chain([0, 9, 10, 99, 100, 999]) {
                let c = EnhancedCode::new(class, n, 999 - n).unwrap();
                let s = c.to_string();
                assert_eq!(EnhancedCode::parse(&s), Some((c, "")));
            }
        }
    }
}
