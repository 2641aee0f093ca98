//! Three-digit reply codes (RFC 5321 §4.2, §4.2.1, §4.2.3).

use core::fmt;

/// The class of a reply: the meaning of its code's first digit (RFC 5321 §4.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReplyClass {
    /// `2yz`: the requested action was completed (RFC 5321 §4.2.1).
    PositiveCompletion,
    /// `3yz`: the command was accepted, more information is needed (RFC 5321 §4.2.1).
    PositiveIntermediate,
    /// `4yz`: the command failed, but the condition is temporary (RFC 5321 §4.2.1).
    TransientNegative,
    /// `5yz`: the command failed permanently (RFC 5321 §4.2.1).
    PermanentNegative,
}

impl ReplyClass {
    /// The first digit of the codes of this class (2, 3, 4 or 5).
    pub const fn digit(self) -> u8 {
        match self {
            ReplyClass::PositiveCompletion => 2,
            ReplyClass::PositiveIntermediate => 3,
            ReplyClass::TransientNegative => 4,
            ReplyClass::PermanentNegative => 5,
        }
    }
}

/// An SMTP reply code.
///
/// RFC 5321 §4.2: `Reply-code = %x32-35 %x30-35 %x30-39`, i.e. three digits, the
/// first 2 to 5, the second 0 to 5 and the third 0 to 9. A `ReplyCode` always
/// satisfies this grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReplyCode(u16);

impl ReplyCode {
    /// 220 `<domain>` Service ready (RFC 5321 §4.2.3).
    pub const SERVICE_READY: ReplyCode = ReplyCode(220);
    /// 221 `<domain>` Service closing transmission channel (RFC 5321 §4.2.3).
    pub const CLOSING: ReplyCode = ReplyCode(221);
    /// 235 Authentication succeeded (RFC 4954 §6).
    pub const AUTH_SUCCEEDED: ReplyCode = ReplyCode(235);
    /// 250 Requested mail action okay, completed (RFC 5321 §4.2.3).
    pub const OK: ReplyCode = ReplyCode(250);
    /// 251 User not local; will forward (RFC 5321 §4.2.3).
    pub const USER_NOT_LOCAL_WILL_FORWARD: ReplyCode = ReplyCode(251);
    /// 252 Cannot VRFY user, but will accept message and attempt delivery
    /// (RFC 5321 §4.2.3, §3.5.3).
    pub const CANNOT_VRFY: ReplyCode = ReplyCode(252);
    /// 334 SASL continuation, the text is a base64 challenge (RFC 4954 §4).
    pub const AUTH_CONTINUE: ReplyCode = ReplyCode(334);
    /// 354 Start mail input; end with `<CRLF>.<CRLF>` (RFC 5321 §4.2.3).
    pub const START_MAIL_INPUT: ReplyCode = ReplyCode(354);
    /// 421 `<domain>` Service not available, closing transmission channel
    /// (RFC 5321 §4.2.3).
    pub const SERVICE_UNAVAILABLE: ReplyCode = ReplyCode(421);
    /// 432 A password transition is needed (RFC 4954 §6).
    pub const PASSWORD_TRANSITION_NEEDED: ReplyCode = ReplyCode(432);
    /// 450 Requested mail action not taken: mailbox unavailable (busy or
    /// temporarily blocked) (RFC 5321 §4.2.3).
    pub const MAILBOX_BUSY: ReplyCode = ReplyCode(450);
    /// 451 Requested action aborted: local error in processing (RFC 5321 §4.2.3).
    pub const LOCAL_ERROR: ReplyCode = ReplyCode(451);
    /// 452 Requested action not taken: insufficient system storage; also "too
    /// many recipients" (RFC 5321 §4.2.3, §4.5.3.1.10).
    pub const INSUFFICIENT_STORAGE: ReplyCode = ReplyCode(452);
    /// 454 Temporary authentication failure (RFC 4954 §6); also TLS not
    /// available due to temporary reason (RFC 3207 §4).
    pub const TEMPORARY_AUTH_FAILURE: ReplyCode = ReplyCode(454);
    /// 455 Server unable to accommodate parameters (RFC 5321 §4.2.3).
    pub const UNABLE_TO_ACCOMMODATE_PARAMS: ReplyCode = ReplyCode(455);
    /// 500 Syntax error, command unrecognized; also "line too long"
    /// (RFC 5321 §4.2.3).
    pub const SYNTAX_ERROR: ReplyCode = ReplyCode(500);
    /// 501 Syntax error in parameters or arguments (RFC 5321 §4.2.3).
    pub const PARAMETER_SYNTAX_ERROR: ReplyCode = ReplyCode(501);
    /// 502 Command not implemented (RFC 5321 §4.2.3).
    pub const COMMAND_NOT_IMPLEMENTED: ReplyCode = ReplyCode(502);
    /// 503 Bad sequence of commands (RFC 5321 §4.2.3).
    pub const BAD_SEQUENCE: ReplyCode = ReplyCode(503);
    /// 504 Command parameter not implemented (RFC 5321 §4.2.3).
    pub const PARAMETER_NOT_IMPLEMENTED: ReplyCode = ReplyCode(504);
    /// 521 Host does not accept mail (RFC 7504 §3).
    pub const DOES_NOT_ACCEPT_MAIL: ReplyCode = ReplyCode(521);
    /// 530 Authentication required (RFC 4954 §6); also "must issue STARTTLS
    /// first" (RFC 3207 §4).
    pub const AUTH_REQUIRED: ReplyCode = ReplyCode(530);
    /// 534 Authentication mechanism is too weak (RFC 4954 §6).
    pub const AUTH_MECHANISM_TOO_WEAK: ReplyCode = ReplyCode(534);
    /// 535 Authentication credentials invalid (RFC 4954 §6).
    pub const AUTH_FAILED: ReplyCode = ReplyCode(535);
    /// 538 Encryption required for requested authentication mechanism (RFC 4954 §6).
    pub const ENCRYPTION_REQUIRED: ReplyCode = ReplyCode(538);
    /// 550 Requested action not taken: mailbox unavailable (RFC 5321 §4.2.3).
    pub const MAILBOX_UNAVAILABLE: ReplyCode = ReplyCode(550);
    /// 551 User not local; please try `<forward-path>` (RFC 5321 §4.2.3).
    pub const USER_NOT_LOCAL: ReplyCode = ReplyCode(551);
    /// 552 Requested mail action aborted: exceeded storage allocation
    /// (RFC 5321 §4.2.3; RFC 1870 §6 for SIZE).
    pub const EXCEEDED_STORAGE: ReplyCode = ReplyCode(552);
    /// 553 Requested action not taken: mailbox name not allowed (RFC 5321 §4.2.3).
    pub const MAILBOX_NAME_NOT_ALLOWED: ReplyCode = ReplyCode(553);
    /// 554 Transaction failed, or "no SMTP service here" as a greeting
    /// (RFC 5321 §4.2.3).
    pub const TRANSACTION_FAILED: ReplyCode = ReplyCode(554);
    /// 555 MAIL FROM/RCPT TO parameters not recognized or not implemented
    /// (RFC 5321 §4.2.3).
    pub const PARAMETERS_NOT_RECOGNIZED: ReplyCode = ReplyCode(555);
    /// 556 Domain does not accept mail (RFC 7504 §3).
    pub const DOMAIN_DOES_NOT_ACCEPT_MAIL: ReplyCode = ReplyCode(556);

    /// A reply code, if `code` satisfies RFC 5321 §4.2 (`2..=5`, `0..=5`, `0..=9`).
    ///
    /// ```
    /// use smtp_proto::reply::ReplyCode;
    /// assert_eq!(ReplyCode::new(250), Some(ReplyCode::OK));
    /// assert_eq!(ReplyCode::new(199), None);
    /// assert_eq!(ReplyCode::new(260), None); // second digit above 5
    /// assert_eq!(ReplyCode::new(600), None);
    /// ```
    pub const fn new(code: u16) -> Option<ReplyCode> {
        if code >= 200 && code <= 599 && (code / 10) % 10 <= 5 {
            Some(ReplyCode(code))
        } else {
            None
        }
    }

    /// A reply code from its three ASCII digits, as they appear on the wire
    /// (RFC 5321 §4.2). `None` if a byte is not a digit or the code is out of range.
    pub const fn from_digits(digits: [u8; 3]) -> Option<ReplyCode> {
        // The range checks of `new` on the digits themselves: 2-5, 0-5, 0-9.
        match digits {
            [a @ b'2'..=b'5', b @ b'0'..=b'5', c @ b'0'..=b'9'] => Some(ReplyCode(
                (a - b'0') as u16 * 100 + (b - b'0') as u16 * 10 + (c - b'0') as u16,
            )),
            _ => None,
        }
    }

    /// The numeric value, e.g. 250.
    pub const fn get(self) -> u16 {
        self.0
    }

    /// The three ASCII digits of the code, as they appear on the wire.
    pub const fn digits(self) -> [u8; 3] {
        // Each digit is < 10, so the casts cannot truncate.
        [
            b'0' + (self.0 / 100) as u8,
            b'0' + ((self.0 / 10) % 10) as u8,
            b'0' + (self.0 % 10) as u8,
        ]
    }

    /// The first digit (2 to 5), which is the [`ReplyClass`].
    pub const fn first_digit(self) -> u8 {
        (self.0 / 100) as u8
    }

    /// The class of the reply (RFC 5321 §4.2.1).
    pub fn class(self) -> ReplyClass {
        match self.first_digit() {
            2 => ReplyClass::PositiveCompletion,
            3 => ReplyClass::PositiveIntermediate,
            4 => ReplyClass::TransientNegative,
            _ => ReplyClass::PermanentNegative,
        }
    }

    /// `2yz` or `3yz`: a positive reply (RFC 5321 §4.2.1).
    pub fn is_positive(self) -> bool {
        matches!(self.first_digit(), 2 | 3)
    }

    /// `2yz`: positive completion (RFC 5321 §4.2.1).
    pub fn is_positive_completion(self) -> bool {
        self.first_digit() == 2
    }

    /// `3yz`: positive intermediate (RFC 5321 §4.2.1).
    pub fn is_positive_intermediate(self) -> bool {
        self.first_digit() == 3
    }

    /// `4yz`: transient negative completion (RFC 5321 §4.2.1).
    pub fn is_transient_negative(self) -> bool {
        self.first_digit() == 4
    }

    /// `5yz`: permanent negative completion (RFC 5321 §4.2.1).
    pub fn is_permanent_negative(self) -> bool {
        self.first_digit() == 5
    }

    /// `4yz` or `5yz`: the command failed (RFC 5321 §4.2.1).
    pub fn is_negative(self) -> bool {
        matches!(self.first_digit(), 4 | 5)
    }
}

impl fmt::Display for ReplyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl From<ReplyCode> for u16 {
    fn from(code: ReplyCode) -> u16 {
        code.0
    }
}

impl TryFrom<u16> for ReplyCode {
    type Error = super::ReplyError;

    /// Fails with [`ReplyError::CodeOutOfRange`](super::ReplyError::CodeOutOfRange).
    fn try_from(code: u16) -> Result<Self, Self::Error> {
        ReplyCode::new(code).ok_or(super::ReplyError::CodeOutOfRange)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range() {
        for code in 0..=1000u16 {
            let valid = (200..600).contains(&code) && (code / 10) % 10 <= 5;
            assert_eq!(ReplyCode::new(code).is_some(), valid, "{code}");
        }
        assert_eq!(ReplyCode::from_digits(*b"250"), Some(ReplyCode::OK));
        assert_eq!(ReplyCode::from_digits(*b"099"), None);
        assert_eq!(ReplyCode::from_digits(*b"2a0"), None);
        assert_eq!(ReplyCode::OK.digits(), *b"250");
        assert_eq!(
            ReplyCode::START_MAIL_INPUT.class(),
            ReplyClass::PositiveIntermediate
        );
        assert!(ReplyCode::SERVICE_UNAVAILABLE.is_transient_negative());
        assert!(ReplyCode::MAILBOX_UNAVAILABLE.is_permanent_negative());
        assert!(ReplyCode::AUTH_CONTINUE.is_positive());
        assert_eq!(
            ReplyCode::try_from(600u16),
            Err(super::super::ReplyError::CodeOutOfRange)
        );
    }

    #[test]
    fn named_codes_are_valid() {
        for c in [
            ReplyCode::SERVICE_READY,
            ReplyCode::CLOSING,
            ReplyCode::AUTH_SUCCEEDED,
            ReplyCode::OK,
            ReplyCode::USER_NOT_LOCAL_WILL_FORWARD,
            ReplyCode::CANNOT_VRFY,
            ReplyCode::AUTH_CONTINUE,
            ReplyCode::START_MAIL_INPUT,
            ReplyCode::SERVICE_UNAVAILABLE,
            ReplyCode::PASSWORD_TRANSITION_NEEDED,
            ReplyCode::MAILBOX_BUSY,
            ReplyCode::LOCAL_ERROR,
            ReplyCode::INSUFFICIENT_STORAGE,
            ReplyCode::TEMPORARY_AUTH_FAILURE,
            ReplyCode::UNABLE_TO_ACCOMMODATE_PARAMS,
            ReplyCode::SYNTAX_ERROR,
            ReplyCode::PARAMETER_SYNTAX_ERROR,
            ReplyCode::COMMAND_NOT_IMPLEMENTED,
            ReplyCode::BAD_SEQUENCE,
            ReplyCode::PARAMETER_NOT_IMPLEMENTED,
            ReplyCode::DOES_NOT_ACCEPT_MAIL,
            ReplyCode::AUTH_REQUIRED,
            ReplyCode::AUTH_MECHANISM_TOO_WEAK,
            ReplyCode::AUTH_FAILED,
            ReplyCode::ENCRYPTION_REQUIRED,
            ReplyCode::MAILBOX_UNAVAILABLE,
            ReplyCode::USER_NOT_LOCAL,
            ReplyCode::EXCEEDED_STORAGE,
            ReplyCode::MAILBOX_NAME_NOT_ALLOWED,
            ReplyCode::TRANSACTION_FAILED,
            ReplyCode::PARAMETERS_NOT_RECOGNIZED,
            ReplyCode::DOMAIN_DOES_NOT_ACCEPT_MAIL,
        ] {
            assert_eq!(ReplyCode::new(c.get()), Some(c));
        }
    }
}
