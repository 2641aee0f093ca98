//! Size limits, with the RFC minimums every parser honours.
//!
//! Every buffer in this crate is bounded. Limits are configurable, but a
//! configuration can never go below what the RFCs require an implementation to
//! accept ([`Limits::clamped`] raises values that are too low).

/// RFC 5321 §4.5.3.1.4: a command line is at most 512 octets, CRLF included.
pub const COMMAND_LINE_MIN: usize = 512;
/// RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets, CRLF included.
pub const REPLY_LINE_MIN: usize = 512;
/// RFC 5321 §4.5.3.1.6: a text line is at most 1000 octets, CRLF included.
pub const TEXT_LINE_MIN: usize = 1000;
/// RFC 4954 §4: a SASL line (AUTH command or continuation) is at most 12288
/// octets, CRLF included.
pub const SASL_LINE_MIN: usize = 12288;
/// RFC 5321 §4.5.3.1.1: a local part is at most 64 octets.
pub const LOCAL_PART_MAX: usize = 64;
/// RFC 5321 §4.5.3.1.2: a domain is at most 255 octets.
pub const DOMAIN_MAX: usize = 255;
/// RFC 5321 §4.5.3.1.3: a path is at most 256 octets, angle brackets included.
pub const PATH_MAX: usize = 256;

/// Line-length limits, in octets including the terminating CRLF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest command line accepted (RFC 5321 §4.5.3.1.4; at least 512).
    pub command_line: usize,
    /// Longest reply line accepted (RFC 5321 §4.5.3.1.5; at least 512).
    pub reply_line: usize,
    /// Most lines in one multi-line reply.
    pub reply_lines: usize,
    /// Longest text line in a message body (RFC 5321 §4.5.3.1.6; at least 1000).
    pub text_line: usize,
    /// Longest AUTH command or SASL continuation line (RFC 4954 §4; at least 12288).
    pub sasl_line: usize,
}

impl Limits {
    /// The RFC minimums, which are also the defaults except where Postfix is more generous.
    pub const RFC_MINIMUM: Limits = Limits {
        command_line: COMMAND_LINE_MIN,
        reply_line: REPLY_LINE_MIN,
        reply_lines: 32,
        text_line: TEXT_LINE_MIN,
        sasl_line: SASL_LINE_MIN,
    };

    /// Raise every field that is below its RFC minimum to that minimum.
    #[must_use]
    pub fn clamped(self) -> Limits {
        let min = Limits::RFC_MINIMUM;
        Limits {
            command_line: self.command_line.max(min.command_line),
            reply_line: self.reply_line.max(min.reply_line),
            reply_lines: self.reply_lines.max(1),
            text_line: self.text_line.max(min.text_line),
            sasl_line: self.sasl_line.max(min.sasl_line),
        }
    }
}

impl Default for Limits {
    /// Command lines of 2048 octets (Postfix's `line_length_limit` is 2048 for
    /// commands too), replies per RFC, 100 reply lines, text lines of 1000 and SASL
    /// lines of 12288.
    fn default() -> Self {
        Limits {
            command_line: 2048,
            reply_line: REPLY_LINE_MIN,
            reply_lines: 100,
            text_line: TEXT_LINE_MIN,
            sasl_line: SASL_LINE_MIN,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamped_never_goes_below_rfc() {
        let l = Limits {
            command_line: 1,
            reply_line: 2,
            reply_lines: 0,
            text_line: 3,
            sasl_line: 4,
        }
        .clamped();
        assert_eq!(l.command_line, 512);
        assert_eq!(l.reply_line, 512);
        assert_eq!(l.reply_lines, 1);
        assert_eq!(l.text_line, 1000);
        assert_eq!(l.sasl_line, 12288);
        assert_eq!(Limits::default().clamped(), Limits::default());
    }
}
