//! SMTP paths and addresses: mailboxes, domains, address literals and the
//! `<...>` paths of `MAIL FROM` and `RCPT TO`.
//!
//! Grammar (RFC 5321 §4.1.2, §4.1.3, extended for SMTPUTF8 by RFC 6531 §3.3):
//!
//! ```text
//! Reverse-path   = Path / "<>"
//! Forward-path   = Path                      ; plus "<Postmaster>" (§4.1.1.3)
//! Path           = "<" [ A-d-l ":" ] Mailbox ">"
//! A-d-l          = At-domain *( "," At-domain )
//! At-domain      = "@" Domain
//! Mailbox        = Local-part "@" ( Domain / address-literal )
//! Local-part     = Dot-string / Quoted-string
//! Domain         = sub-domain *("." sub-domain)
//! sub-domain     = Let-dig [Ldh-str]         ; or a U-label under SMTPUTF8
//! address-literal = "[" ( IPv4-address-literal / IPv6-address-literal /
//!                         General-address-literal ) "]"
//! ```
//!
//! Every parser is a linear scan over its input that never panics, slices only
//! at character boundaries and allocates at most a copy of its input. Parsed
//! values borrow from the input; `into_owned` makes them `'static`. Each type's
//! [`Display`](core::fmt::Display) produces its wire form, and parsing that wire
//! form gives back an equal value.

use alloc::borrow::Cow;
use alloc::string::String;
use core::fmt;
use core::net::{Ipv4Addr, Ipv6Addr};

use crate::limits::{DOMAIN_MAX, LOCAL_PART_MAX, PATH_MAX};

/// RFC 1035 §2.3.4 (as referenced by RFC 5321 §2.3.5): a label is at most 63 octets.
pub(crate) const LABEL_MAX: usize = 63;

/// Options for path parsing.
///
/// The length limits are those of RFC 5321 §4.5.3.1.1-3. A limit below its RFC
/// value is treated as that value: limits can be raised, never lowered below
/// what the RFC requires an implementation to accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathOptions {
    /// Accept non-ASCII UTF-8 in local parts and domains (RFC 6531 §3.3, the
    /// `SMTPUTF8` extension). When false, any non-ASCII character is reported as
    /// [`PathError::Utf8NotAllowed`].
    pub allow_utf8: bool,
    /// Longest local part, in octets (RFC 5321 §4.5.3.1.1; at least 64).
    pub max_local_part: usize,
    /// Longest domain, in octets (RFC 5321 §4.5.3.1.2; at least 255).
    pub max_domain: usize,
    /// Longest path, in octets including the angle brackets (RFC 5321
    /// §4.5.3.1.3; at least 256).
    pub max_path: usize,
}

impl Default for PathOptions {
    /// ASCII only, with the RFC 5321 §4.5.3.1 limits: 64, 255 and 256 octets.
    fn default() -> Self {
        PathOptions {
            allow_utf8: false,
            max_local_part: LOCAL_PART_MAX,
            max_domain: DOMAIN_MAX,
            max_path: PATH_MAX,
        }
    }
}

impl PathOptions {
    /// The defaults with UTF-8 allowed, for a transaction that uses the
    /// `SMTPUTF8` extension (RFC 6531 §3.3).
    #[must_use]
    pub fn smtputf8() -> Self {
        PathOptions {
            allow_utf8: true,
            ..PathOptions::default()
        }
    }

    pub(crate) fn local_part_limit(&self) -> usize {
        self.max_local_part.max(LOCAL_PART_MAX)
    }

    pub(crate) fn domain_limit(&self) -> usize {
        self.max_domain.max(DOMAIN_MAX)
    }

    pub(crate) fn path_limit(&self) -> usize {
        self.max_path.max(PATH_MAX)
    }
}

/// Why a path, mailbox or one of its parts could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PathError {
    /// Malformed input that no more specific variant describes, such as
    /// unexpected characters after a mailbox (RFC 5321 §4.1.2).
    #[error("syntax error in path")]
    Syntax,
    /// A path does not start with `<` or has no closing `>` (RFC 5321 §4.1.2).
    #[error("path must be enclosed in angle brackets")]
    MissingAngleBrackets,
    /// A mailbox has no `@` after its local part (RFC 5321 §4.1.2).
    #[error("missing '@' between local part and domain")]
    MissingAt,
    /// The local part is neither a Dot-string nor a Quoted-string (RFC 5321 §4.1.2).
    #[error("invalid local part")]
    InvalidLocalPart,
    /// The domain does not match the sub-domain grammar (RFC 5321 §4.1.2).
    #[error("invalid domain")]
    InvalidDomain,
    /// A malformed address literal (RFC 5321 §4.1.3).
    #[error("invalid address literal")]
    InvalidAddressLiteral,
    /// A malformed source route (A-d-l, RFC 5321 §4.1.2).
    #[error("invalid source route")]
    InvalidSourceRoute,
    /// The local part is longer than the limit (RFC 5321 §4.5.3.1.1).
    #[error("local part too long")]
    LocalPartTooLong,
    /// The domain is longer than the limit (RFC 5321 §4.5.3.1.2).
    #[error("domain too long")]
    DomainTooLong,
    /// The path is longer than the limit (RFC 5321 §4.5.3.1.3).
    #[error("path too long")]
    PathTooLong,
    /// A domain label is longer than 63 octets (RFC 1035 §2.3.4).
    #[error("domain label longer than 63 octets")]
    LabelTooLong,
    /// Non-ASCII characters without UTF-8 enabled (RFC 6531 §3.3); RFC 6531
    /// has a server answer 553 with enhanced code 5.6.7 ("Non-ASCII addresses not
    /// permitted for that sender/recipient").
    #[error("non-ASCII address without SMTPUTF8")]
    Utf8NotAllowed,
    /// A control character (CR, LF, NUL, DEL, ...), which no part of a path may
    /// contain (RFC 5321 §4.1.2).
    #[error("control character in path")]
    ControlCharacter,
    /// `RCPT TO:<>`: the null path is only a reverse path (RFC 5321 §4.1.1.3).
    #[error("null path is not a valid forward path")]
    NullForwardPath,
}

/// Classifies the character that made a parse stop: control characters and
/// (without SMTPUTF8) non-ASCII characters have their own errors.
fn unexpected(c: Option<char>, opts: &PathOptions, default: PathError) -> PathError {
    match c {
        Some(c) if c.is_control() => PathError::ControlCharacter,
        Some(c) if !c.is_ascii() && !opts.allow_utf8 => PathError::Utf8NotAllowed,
        _ => default,
    }
}

/// The character starting at byte `at`, if any.
fn char_at(s: &str, at: usize) -> Option<char> {
    s.get(at..).and_then(|r| r.chars().next())
}

// ---------------------------------------------------------------------------
// Character classes
// ---------------------------------------------------------------------------

/// `atext` (RFC 5322 §3.2.3), plus `UTF8-non-ascii` under SMTPUTF8 (RFC 6531 §3.3).
fn is_atext(c: char, utf8: bool) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c)
    } else {
        utf8 && !c.is_control()
    }
}

/// `qtextSMTP` (RFC 5321 §4.1.2), plus `UTF8-non-ascii` under SMTPUTF8 (RFC 6531 §3.3).
pub(crate) fn is_qtext(c: char, utf8: bool) -> bool {
    match c {
        ' ' | '!' | '#'..='[' | ']'..='~' => true,
        c if !c.is_ascii() => utf8 && !c.is_control(),
        _ => false,
    }
}

/// The second octet of `quoted-pairSMTP` (RFC 5321 §4.1.2): %d32-126.
pub(crate) fn is_quoted_pair_char(c: char) -> bool {
    matches!(c, ' '..='~')
}

/// `dcontent` (RFC 5321 §4.1.3): %d33-90 / %d94-126.
fn is_dcontent(b: u8) -> bool {
    matches!(b, 33..=90 | 94..=126)
}

/// `Ldh-str` (RFC 5321 §4.1.2): `*( ALPHA / DIGIT / "-" ) Let-dig`.
fn is_ldh_str(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && s.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric())
}

/// Whether `s` is a `Dot-string` (RFC 5321 §4.1.2): `Atom *("." Atom)`.
fn is_dot_string(s: &str, utf8: bool) -> bool {
    !s.is_empty()
        && s.split('.')
            .all(|atom| !atom.is_empty() && atom.chars().all(|c| is_atext(c, utf8)))
}

/// A character that may appear in a U-label (RFC 6531 §3.3, RFC 5890 §2.3.2.1).
/// Without a full IDNA table this accepts letters and digits, plus combining
/// marks (which IDNA2008 allows, e.g. Devanagari virama, Thai tone marks) except
/// at the start of a label (RFC 5891 §4.2.3.2).
fn is_u_label_char(c: char, at_label_start: bool) -> bool {
    c.is_alphanumeric() || (!at_label_start && is_combining_mark(c))
}

/// Whether `c` has General Category Mn or Mc (Unicode 14.0).
fn is_combining_mark(c: char) -> bool {
    // A sorted list of half-open ranges [start, end): an odd number of
    // boundaries at or below `c` means `c` is inside a range.
    let cp = u32::from(c);
    COMBINING_MARKS.partition_point(|&b| b <= cp) % 2 == 1
}

/// Boundaries of the half-open ranges of characters with General Category Mn
/// or Mc (nonspacing and spacing combining marks) above U+007F, from the
/// Unicode 14.0 character database.
#[rustfmt::skip]
const COMBINING_MARKS: &[u32] = &[
    0x300, 0x370, 0x483, 0x488, 0x591, 0x5BE, 0x5BF, 0x5C0, 0x5C1, 0x5C3, 0x5C4, 0x5C6, 0x5C7,
    0x5C8, 0x610, 0x61B, 0x64B, 0x660, 0x670, 0x671, 0x6D6, 0x6DD, 0x6DF, 0x6E5, 0x6E7, 0x6E9,
    0x6EA, 0x6EE, 0x711, 0x712, 0x730, 0x74B, 0x7A6, 0x7B1, 0x7EB, 0x7F4, 0x7FD, 0x7FE, 0x816,
    0x81A, 0x81B, 0x824, 0x825, 0x828, 0x829, 0x82E, 0x859, 0x85C, 0x898, 0x8A0, 0x8CA, 0x8E2,
    0x8E3, 0x904, 0x93A, 0x93D, 0x93E, 0x950, 0x951, 0x958, 0x962, 0x964, 0x981, 0x984, 0x9BC,
    0x9BD, 0x9BE, 0x9C5, 0x9C7, 0x9C9, 0x9CB, 0x9CE, 0x9D7, 0x9D8, 0x9E2, 0x9E4, 0x9FE, 0x9FF,
    0xA01, 0xA04, 0xA3C, 0xA3D, 0xA3E, 0xA43, 0xA47, 0xA49, 0xA4B, 0xA4E, 0xA51, 0xA52, 0xA70,
    0xA72, 0xA75, 0xA76, 0xA81, 0xA84, 0xABC, 0xABD, 0xABE, 0xAC6, 0xAC7, 0xACA, 0xACB, 0xACE,
    0xAE2, 0xAE4, 0xAFA, 0xB00, 0xB01, 0xB04, 0xB3C, 0xB3D, 0xB3E, 0xB45, 0xB47, 0xB49, 0xB4B,
    0xB4E, 0xB55, 0xB58, 0xB62, 0xB64, 0xB82, 0xB83, 0xBBE, 0xBC3, 0xBC6, 0xBC9, 0xBCA, 0xBCE,
    0xBD7, 0xBD8, 0xC00, 0xC05, 0xC3C, 0xC3D, 0xC3E, 0xC45, 0xC46, 0xC49, 0xC4A, 0xC4E, 0xC55,
    0xC57, 0xC62, 0xC64, 0xC81, 0xC84, 0xCBC, 0xCBD, 0xCBE, 0xCC5, 0xCC6, 0xCC9, 0xCCA, 0xCCE,
    0xCD5, 0xCD7, 0xCE2, 0xCE4, 0xD00, 0xD04, 0xD3B, 0xD3D, 0xD3E, 0xD45, 0xD46, 0xD49, 0xD4A,
    0xD4E, 0xD57, 0xD58, 0xD62, 0xD64, 0xD81, 0xD84, 0xDCA, 0xDCB, 0xDCF, 0xDD5, 0xDD6, 0xDD7,
    0xDD8, 0xDE0, 0xDF2, 0xDF4, 0xE31, 0xE32, 0xE34, 0xE3B, 0xE47, 0xE4F, 0xEB1, 0xEB2, 0xEB4,
    0xEBD, 0xEC8, 0xECE, 0xF18, 0xF1A, 0xF35, 0xF36, 0xF37, 0xF38, 0xF39, 0xF3A, 0xF3E, 0xF40,
    0xF71, 0xF85, 0xF86, 0xF88, 0xF8D, 0xF98, 0xF99, 0xFBD, 0xFC6, 0xFC7, 0x102B, 0x103F,
    0x1056, 0x105A, 0x105E, 0x1061, 0x1062, 0x1065, 0x1067, 0x106E, 0x1071, 0x1075, 0x1082,
    0x108E, 0x108F, 0x1090, 0x109A, 0x109E, 0x135D, 0x1360, 0x1712, 0x1716, 0x1732, 0x1735,
    0x1752, 0x1754, 0x1772, 0x1774, 0x17B4, 0x17D4, 0x17DD, 0x17DE, 0x180B, 0x180E, 0x180F,
    0x1810, 0x1885, 0x1887, 0x18A9, 0x18AA, 0x1920, 0x192C, 0x1930, 0x193C, 0x1A17, 0x1A1C,
    0x1A55, 0x1A5F, 0x1A60, 0x1A7D, 0x1A7F, 0x1A80, 0x1AB0, 0x1ABE, 0x1ABF, 0x1ACF, 0x1B00,
    0x1B05, 0x1B34, 0x1B45, 0x1B6B, 0x1B74, 0x1B80, 0x1B83, 0x1BA1, 0x1BAE, 0x1BE6, 0x1BF4,
    0x1C24, 0x1C38, 0x1CD0, 0x1CD3, 0x1CD4, 0x1CE9, 0x1CED, 0x1CEE, 0x1CF4, 0x1CF5, 0x1CF7,
    0x1CFA, 0x1DC0, 0x1E00, 0x20D0, 0x20DD, 0x20E1, 0x20E2, 0x20E5, 0x20F1, 0x2CEF, 0x2CF2,
    0x2D7F, 0x2D80, 0x2DE0, 0x2E00, 0x302A, 0x3030, 0x3099, 0x309B, 0xA66F, 0xA670, 0xA674,
    0xA67E, 0xA69E, 0xA6A0, 0xA6F0, 0xA6F2, 0xA802, 0xA803, 0xA806, 0xA807, 0xA80B, 0xA80C,
    0xA823, 0xA828, 0xA82C, 0xA82D, 0xA880, 0xA882, 0xA8B4, 0xA8C6, 0xA8E0, 0xA8F2, 0xA8FF,
    0xA900, 0xA926, 0xA92E, 0xA947, 0xA954, 0xA980, 0xA984, 0xA9B3, 0xA9C1, 0xA9E5, 0xA9E6,
    0xAA29, 0xAA37, 0xAA43, 0xAA44, 0xAA4C, 0xAA4E, 0xAA7B, 0xAA7E, 0xAAB0, 0xAAB1, 0xAAB2,
    0xAAB5, 0xAAB7, 0xAAB9, 0xAABE, 0xAAC0, 0xAAC1, 0xAAC2, 0xAAEB, 0xAAF0, 0xAAF5, 0xAAF7,
    0xABE3, 0xABEB, 0xABEC, 0xABEE, 0xFB1E, 0xFB1F, 0xFE00, 0xFE10, 0xFE20, 0xFE30, 0x101FD,
    0x101FE, 0x102E0, 0x102E1, 0x10376, 0x1037B, 0x10A01, 0x10A04, 0x10A05, 0x10A07, 0x10A0C,
    0x10A10, 0x10A38, 0x10A3B, 0x10A3F, 0x10A40, 0x10AE5, 0x10AE7, 0x10D24, 0x10D28, 0x10EAB,
    0x10EAD, 0x10F46, 0x10F51, 0x10F82, 0x10F86, 0x11000, 0x11003, 0x11038, 0x11047, 0x11070,
    0x11071, 0x11073, 0x11075, 0x1107F, 0x11083, 0x110B0, 0x110BB, 0x110C2, 0x110C3, 0x11100,
    0x11103, 0x11127, 0x11135, 0x11145, 0x11147, 0x11173, 0x11174, 0x11180, 0x11183, 0x111B3,
    0x111C1, 0x111C9, 0x111CD, 0x111CE, 0x111D0, 0x1122C, 0x11238, 0x1123E, 0x1123F, 0x112DF,
    0x112EB, 0x11300, 0x11304, 0x1133B, 0x1133D, 0x1133E, 0x11345, 0x11347, 0x11349, 0x1134B,
    0x1134E, 0x11357, 0x11358, 0x11362, 0x11364, 0x11366, 0x1136D, 0x11370, 0x11375, 0x11435,
    0x11447, 0x1145E, 0x1145F, 0x114B0, 0x114C4, 0x115AF, 0x115B6, 0x115B8, 0x115C1, 0x115DC,
    0x115DE, 0x11630, 0x11641, 0x116AB, 0x116B8, 0x1171D, 0x1172C, 0x1182C, 0x1183B, 0x11930,
    0x11936, 0x11937, 0x11939, 0x1193B, 0x1193F, 0x11940, 0x11941, 0x11942, 0x11944, 0x119D1,
    0x119D8, 0x119DA, 0x119E1, 0x119E4, 0x119E5, 0x11A01, 0x11A0B, 0x11A33, 0x11A3A, 0x11A3B,
    0x11A3F, 0x11A47, 0x11A48, 0x11A51, 0x11A5C, 0x11A8A, 0x11A9A, 0x11C2F, 0x11C37, 0x11C38,
    0x11C40, 0x11C92, 0x11CA8, 0x11CA9, 0x11CB7, 0x11D31, 0x11D37, 0x11D3A, 0x11D3B, 0x11D3C,
    0x11D3E, 0x11D3F, 0x11D46, 0x11D47, 0x11D48, 0x11D8A, 0x11D8F, 0x11D90, 0x11D92, 0x11D93,
    0x11D98, 0x11EF3, 0x11EF7, 0x16AF0, 0x16AF5, 0x16B30, 0x16B37, 0x16F4F, 0x16F50, 0x16F51,
    0x16F88, 0x16F8F, 0x16F93, 0x16FE4, 0x16FE5, 0x16FF0, 0x16FF2, 0x1BC9D, 0x1BC9F, 0x1CF00,
    0x1CF2E, 0x1CF30, 0x1CF47, 0x1D165, 0x1D16A, 0x1D16D, 0x1D173, 0x1D17B, 0x1D183, 0x1D185,
    0x1D18C, 0x1D1AA, 0x1D1AE, 0x1D242, 0x1D245, 0x1DA00, 0x1DA37, 0x1DA3B, 0x1DA6D, 0x1DA75,
    0x1DA76, 0x1DA84, 0x1DA85, 0x1DA9B, 0x1DAA0, 0x1DAA1, 0x1DAB0, 0x1E000, 0x1E007, 0x1E008,
    0x1E019, 0x1E01B, 0x1E022, 0x1E023, 0x1E025, 0x1E026, 0x1E02B, 0x1E130, 0x1E137, 0x1E2AE,
    0x1E2AF, 0x1E2EC, 0x1E2F0, 0x1E8D0, 0x1E8D7, 0x1E944, 0x1E94B, 0xE0100, 0xE01F0,
];

// ---------------------------------------------------------------------------
// Scanners: each returns how many bytes at the start of its input it matched.
// ---------------------------------------------------------------------------

/// Scans a `Local-part` (RFC 5321 §4.1.2, RFC 6531 §3.3) at the start of `s`,
/// checking its length.
fn scan_local_part(s: &str, opts: &PathOptions) -> Result<usize, PathError> {
    let utf8 = opts.allow_utf8;
    let end = if let Some(body) = s.strip_prefix('"') {
        // Quoted-string = DQUOTE *QcontentSMTP DQUOTE
        let mut chars = body.char_indices();
        loop {
            let Some((i, c)) = chars.next() else {
                return Err(PathError::InvalidLocalPart);
            };
            match c {
                '"' => break i + 2,
                '\\' => match chars.next() {
                    Some((_, e)) if is_quoted_pair_char(e) => {}
                    other => {
                        return Err(unexpected(
                            other.map(|(_, e)| e),
                            opts,
                            PathError::InvalidLocalPart,
                        ));
                    }
                },
                c if is_qtext(c, utf8) => {}
                c => return Err(unexpected(Some(c), opts, PathError::InvalidLocalPart)),
            }
        }
    } else if let Some((end, need_atom, stop)) = scan_dot_string_ascii(s.as_bytes()) {
        if need_atom {
            return Err(unexpected(stop, opts, PathError::InvalidLocalPart));
        }
        end
    } else {
        // Dot-string = Atom *("." Atom), with non-ASCII characters.
        let mut need_atom = true;
        let mut end = s.len();
        let mut stop = None;
        for (i, c) in s.char_indices() {
            if is_atext(c, utf8) {
                need_atom = false;
            } else if c == '.' && !need_atom {
                need_atom = true;
            } else {
                end = i;
                stop = Some(c);
                break;
            }
        }
        if need_atom {
            return Err(unexpected(stop, opts, PathError::InvalidLocalPart));
        }
        end
    };
    if end > opts.local_part_limit() {
        return Err(PathError::LocalPartTooLong);
    }
    Ok(end)
}

/// Byte classes for the ASCII fast paths: `atext` (RFC 5322 §3.2.3) and
/// `Let-dig` (RFC 5321 §4.1.2).
pub(crate) const ATEXT: u8 = 1;
const LET_DIG: u8 = 2;
/// Letter, digit or hyphen (the bytes of an `Ldh-str`, RFC 5321 §4.1.2).
pub(crate) const LDH: u8 = 4;
pub(crate) const CLASSES: [u8; 128] = {
    let mut t = [0u8; 128];
    let mut i = 0;
    while i < 128 {
        let c = i as u8;
        if c.is_ascii_alphanumeric() {
            t[i] = ATEXT | LET_DIG | LDH;
        } else if matches!(
            c,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'/'
                | b'='
                | b'?'
                | b'^'
                | b'_'
                | b'`'
                | b'{'
                | b'|'
                | b'}'
                | b'~'
        ) {
            t[i] = if c == b'-' { ATEXT | LDH } else { ATEXT };
        }
        i += 1;
    }
    t
};

/// The Dot-string loop of [`scan_local_part`] over ASCII bytes, with a table
/// lookup per byte instead of a character class test: returns where the
/// Dot-string stops, whether it ended wanting an atom, and the character it
/// stopped at. `None` at the first non-ASCII byte: the caller then scans
/// characters.
#[inline]
fn scan_dot_string_ascii(s: &[u8]) -> Option<(usize, bool, Option<char>)> {
    let mut need_atom = true;
    for (i, &b) in s.iter().enumerate() {
        let class = *CLASSES.get(usize::from(b))?;
        if class & ATEXT != 0 {
            need_atom = false;
        } else if b == b'.' && !need_atom {
            need_atom = true;
        } else {
            return Some((i, need_atom, Some(char::from(b))));
        }
    }
    Some((s.len(), need_atom, None))
}

/// [`scan_domain`] over ASCII bytes, a label at a time: `None` when it meets
/// a non-ASCII byte (the caller then scans characters), otherwise the same
/// result. Each label is one tight loop to its first byte that is not a
/// letter, digit or hyphen, and then a few checks on its ends and length.
#[inline]
fn scan_domain_ascii(s: &[u8], opts: &PathOptions) -> Option<Result<usize, PathError>> {
    let mut pos = 0;
    loop {
        let label = &s[pos..];
        let len = label
            .iter()
            .position(|&b| CLASSES.get(usize::from(b)).is_none_or(|c| c & LDH == 0))
            .unwrap_or(label.len());
        let stop = match label.get(len) {
            Some(&b) if b >= 0x80 => return None,
            other => other.map(|&b| char::from(b)),
        };
        // `sub-domain = Let-dig [Ldh-str]`: no leading hyphen, and not empty.
        // (The byte-by-byte rule stops at a leading hyphen, which is then
        // the offending character.)
        if label.first() == Some(&b'-') {
            return Some(Err(unexpected(Some('-'), opts, PathError::InvalidDomain)));
        }
        if len == 0 {
            return Some(Err(unexpected(stop, opts, PathError::InvalidDomain)));
        }
        if len > LABEL_MAX {
            return Some(Err(PathError::LabelTooLong));
        }
        let trailing_hyphen = label[len - 1] == b'-';
        pos += len;
        if stop == Some('.') {
            if trailing_hyphen {
                return Some(Err(PathError::InvalidDomain));
            }
            pos += 1;
            continue;
        }
        if trailing_hyphen {
            return Some(Err(unexpected(stop, opts, PathError::InvalidDomain)));
        }
        if pos > opts.domain_limit() {
            return Some(Err(PathError::DomainTooLong));
        }
        return Some(Ok(pos));
    }
}

/// Scans a `Domain` (RFC 5321 §4.1.2, RFC 6531 §3.3) at the start of `s`,
/// checking label and domain lengths. No trailing dot.
fn scan_domain(s: &str, opts: &PathOptions) -> Result<usize, PathError> {
    match scan_domain_ascii(s.as_bytes(), opts) {
        Some(result) => result,
        None => scan_domain_chars(s, opts),
    }
}

/// [`scan_domain`] a character at a time, for domains with non-ASCII text.
fn scan_domain_chars(s: &str, opts: &PathOptions) -> Result<usize, PathError> {
    let utf8 = opts.allow_utf8;
    let mut label_start = 0;
    let mut at_label_start = true;
    let mut last = '.';
    let mut end = s.len();
    let mut stop = None;
    for (i, c) in s.char_indices() {
        if c == '.' && !at_label_start {
            if last == '-' {
                return Err(PathError::InvalidDomain);
            }
            label_start = i + 1;
            at_label_start = true;
            last = c;
            continue;
        }
        let ok = if c.is_ascii() {
            c.is_ascii_alphanumeric() || (c == '-' && !at_label_start)
        } else {
            utf8 && is_u_label_char(c, at_label_start)
        };
        if !ok {
            end = i;
            stop = Some(c);
            break;
        }
        at_label_start = false;
        last = c;
        if i + c.len_utf8() - label_start > LABEL_MAX {
            return Err(PathError::LabelTooLong);
        }
    }
    if at_label_start || last == '-' {
        return Err(unexpected(stop, opts, PathError::InvalidDomain));
    }
    if end > opts.domain_limit() {
        return Err(PathError::DomainTooLong);
    }
    Ok(end)
}

/// Scans a `Mailbox` (RFC 5321 §4.1.2) at the start of `s`.
#[inline]
fn scan_mailbox<'a>(s: &'a str, opts: &PathOptions) -> Result<(Mailbox<'a>, usize), PathError> {
    let local_len = scan_local_part(s, opts)?;
    let (local, rest) = s.split_at(local_len);
    let host_str = match rest.strip_prefix('@') {
        Some(h) => h,
        None => {
            return Err(match char_at(rest, 0) {
                None | Some('>') => PathError::MissingAt,
                c => unexpected(c, opts, PathError::InvalidLocalPart),
            });
        }
    };
    let (host, host_len) = if host_str.starts_with('[') {
        let Some(close) = host_str.find(']') else {
            // Unclosed: report a bad character before the end of the path, if any.
            let bad = host_str
                .chars()
                .take_while(|&c| c != '>')
                .find(|c| c.is_control() || !c.is_ascii());
            return Err(unexpected(bad, opts, PathError::InvalidAddressLiteral));
        };
        let lit = &host_str[..=close];
        (Host::Literal(parse_literal(lit, Some(opts))?), lit.len())
    } else {
        let n = scan_domain(host_str, opts)?;
        (Host::Domain(Domain(Cow::Borrowed(&host_str[..n]))), n)
    };
    let mailbox = Mailbox {
        local_part: LocalPart {
            wire: Cow::Borrowed(local),
        },
        host,
    };
    Ok((mailbox, local_len + 1 + host_len))
}

/// Scans an `A-d-l ":"` source route (RFC 5321 §4.1.2) at the start of `s`.
fn scan_adl(s: &str, opts: &PathOptions) -> Result<usize, PathError> {
    let mut pos = 0;
    loop {
        match char_at(s, pos) {
            Some('@') => pos += 1,
            c => return Err(unexpected(c, opts, PathError::InvalidSourceRoute)),
        }
        pos += scan_domain(s.get(pos..).unwrap_or(""), opts)?;
        match char_at(s, pos) {
            Some(',') => pos += 1,
            Some(':') => return Ok(pos + 1),
            c => return Err(unexpected(c, opts, PathError::InvalidSourceRoute)),
        }
    }
}

/// Parses `"<" [ A-d-l ":" ] Mailbox ">"` after the caller has checked the `<`.
#[inline]
fn parse_path<'a>(input: &'a str, opts: &PathOptions) -> Result<(Mailbox<'a>, &'a str), PathError> {
    let mut pos = 1;
    if char_at(input, pos) == Some('@') {
        pos += scan_adl(input.get(pos..).unwrap_or(""), opts)?;
    }
    let (mailbox, len) = scan_mailbox(input.get(pos..).unwrap_or(""), opts)?;
    pos += len;
    match char_at(input, pos) {
        Some('>') => pos += 1,
        None => return Err(PathError::MissingAngleBrackets),
        c => return Err(unexpected(c, opts, PathError::Syntax)),
    }
    if pos > opts.path_limit() {
        return Err(PathError::PathTooLong);
    }
    Ok((mailbox, input.get(pos..).unwrap_or("")))
}

// ---------------------------------------------------------------------------
// Domain
// ---------------------------------------------------------------------------

/// A validated domain name (RFC 5321 §4.1.2; U-labels per RFC 6531 §3.3).
///
/// Stored exactly as given. Equality is structural (case-sensitive); use
/// [`Domain::eq_ignore_case`] to compare as DNS does.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Domain<'a>(Cow<'a, str>);

impl<'a> Domain<'a> {
    /// Parses a whole string as a `Domain`: `sub-domain *("." sub-domain)`,
    /// `sub-domain = Let-dig [Ldh-str]` (RFC 5321 §4.1.2), labels of at most 63
    /// octets, no trailing dot. Under `allow_utf8` a label may also be a U-label
    /// (RFC 6531 §3.3) made of letters, digits, hyphens and combining marks.
    #[inline]
    pub fn parse(s: &'a str, opts: &PathOptions) -> Result<Domain<'a>, PathError> {
        let n = scan_domain(s, opts)?;
        if n != s.len() {
            return Err(unexpected(char_at(s, n), opts, PathError::InvalidDomain));
        }
        Ok(Domain(Cow::Borrowed(s)))
    }

    /// A domain that the caller has already checked (the one-pass scanner
    /// of the command parser).
    #[inline(always)]
    pub(crate) fn from_checked(s: &'a str) -> Self {
        Domain(Cow::Borrowed(s))
    }

    /// The domain as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the domain is all ASCII (no U-labels).
    pub fn is_ascii(&self) -> bool {
        self.0.is_ascii()
    }

    /// The labels, left to right.
    pub fn labels(&self) -> core::str::Split<'_, char> {
        self.0.split('.')
    }

    /// Compares two domains ignoring ASCII case, as DNS does (RFC 1035 §2.3.3).
    pub fn eq_ignore_case(&self, other: &Domain<'_>) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }

    /// Copies any borrowed data so the domain is `'static`.
    pub fn into_owned(self) -> Domain<'static> {
        Domain(Cow::Owned(self.0.into_owned()))
    }
}

impl fmt::Display for Domain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

// ---------------------------------------------------------------------------
// Address literals
// ---------------------------------------------------------------------------

/// An address literal (RFC 5321 §4.1.3): `[192.0.2.1]`, `[IPv6:2001:db8::1]`
/// or a general `[tag:content]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AddressLiteral<'a> {
    /// `IPv4-address-literal = Snum 3("." Snum)` (RFC 5321 §4.1.3).
    Ipv4(Ipv4Addr),
    /// `IPv6-address-literal = "IPv6:" IPv6-addr` (RFC 5321 §4.1.3).
    Ipv6(Ipv6Addr),
    /// `General-address-literal = Standardized-tag ":" 1*dcontent`
    /// (RFC 5321 §4.1.3). Construct with [`AddressLiteral::general`] to have the
    /// parts validated.
    General {
        /// The `Standardized-tag`, an `Ldh-str` other than `IPv6`.
        tag: Cow<'a, str>,
        /// The content, `1*dcontent`.
        content: Cow<'a, str>,
    },
}

impl<'a> AddressLiteral<'a> {
    /// Parses an address literal including its brackets (RFC 5321 §4.1.3).
    ///
    /// IPv4 parts must be decimal without leading zeros. The `IPv6` tag is
    /// case-insensitive and every RFC 4291 §2.2 text form is accepted, including
    /// `::` standing for a single zero group.
    pub fn parse(s: &'a str) -> Result<Self, PathError> {
        parse_literal(s, None)
    }

    /// A general address literal, validating `tag` (an `Ldh-str` that is not
    /// `IPv6`) and `content` (`1*dcontent`) (RFC 5321 §4.1.3).
    pub fn general(
        tag: impl Into<Cow<'a, str>>,
        content: impl Into<Cow<'a, str>>,
    ) -> Result<Self, PathError> {
        let (tag, content) = (tag.into(), content.into());
        if !is_ldh_str(&tag)
            || tag.eq_ignore_ascii_case("IPv6")
            || content.is_empty()
            || !content.bytes().all(is_dcontent)
        {
            return Err(PathError::InvalidAddressLiteral);
        }
        Ok(AddressLiteral::General { tag, content })
    }

    /// Copies any borrowed data so the literal is `'static`.
    pub fn into_owned(self) -> AddressLiteral<'static> {
        match self {
            AddressLiteral::Ipv4(a) => AddressLiteral::Ipv4(a),
            AddressLiteral::Ipv6(a) => AddressLiteral::Ipv6(a),
            AddressLiteral::General { tag, content } => AddressLiteral::General {
                tag: Cow::Owned(tag.into_owned()),
                content: Cow::Owned(content.into_owned()),
            },
        }
    }

    fn is_ascii(&self) -> bool {
        match self {
            AddressLiteral::General { tag, content } => tag.is_ascii() && content.is_ascii(),
            _ => true,
        }
    }
}

impl fmt::Display for AddressLiteral<'_> {
    /// The wire form with brackets; IPv6 in RFC 5952 form after `IPv6:`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddressLiteral::Ipv4(a) => write!(f, "[{a}]"),
            AddressLiteral::Ipv6(a) => write!(f, "[IPv6:{a}]"),
            AddressLiteral::General { tag, content } => write!(f, "[{tag}:{content}]"),
        }
    }
}

/// Parses a bracketed address literal. `opts` is given when the literal is part
/// of a path, so that non-ASCII is reported as [`PathError::Utf8NotAllowed`]
/// without SMTPUTF8.
fn parse_literal<'a>(
    s: &'a str,
    opts: Option<&PathOptions>,
) -> Result<AddressLiteral<'a>, PathError> {
    let inner = s
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .ok_or(PathError::InvalidAddressLiteral)?;
    if let Some(c) = inner.chars().find(|c| c.is_control() || !c.is_ascii()) {
        return Err(match opts {
            Some(o) => unexpected(Some(c), o, PathError::InvalidAddressLiteral),
            None if c.is_control() => PathError::ControlCharacter,
            None => PathError::InvalidAddressLiteral,
        });
    }
    match inner.split_once(':') {
        Some((tag, addr)) if tag.eq_ignore_ascii_case("IPv6") => parse_ipv6(addr)
            .map(AddressLiteral::Ipv6)
            .ok_or(PathError::InvalidAddressLiteral),
        Some((tag, content)) => AddressLiteral::general(tag, content),
        None => parse_ipv4(inner)
            .map(AddressLiteral::Ipv4)
            .ok_or(PathError::InvalidAddressLiteral),
    }
}

/// `IPv4-address-literal = Snum 3("." Snum)` (RFC 5321 §4.1.3), each `Snum` in
/// 0-255 and, to avoid octal ambiguity, without leading zeros.
fn parse_ipv4(s: &str) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut parts = s.split('.');
    for octet in &mut octets {
        let p = parts.next()?;
        if p.is_empty()
            || p.len() > 3
            || !p.bytes().all(|b| b.is_ascii_digit())
            || (p.len() > 1 && p.starts_with('0'))
        {
            return None;
        }
        *octet = p.parse().ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    Some(Ipv4Addr::from(octets))
}

/// `IPv6-addr` (RFC 5321 §4.1.3) in all the text forms of RFC 4291 §2.2: full,
/// compressed with one `::`, and either of those ending in a dotted IPv4 address.
fn parse_ipv6(s: &str) -> Option<Ipv6Addr> {
    let mut head = [0u16; 8];
    let mut tail = [0u16; 8];
    match s.find("::") {
        None => {
            let n = parse_ipv6_groups(s, true, &mut head)?;
            (n == 8).then(|| Ipv6Addr::from(head))
        }
        Some(i) => {
            let h = parse_ipv6_groups(&s[..i], false, &mut head)?;
            let t = parse_ipv6_groups(&s[i + 2..], true, &mut tail)?;
            // "::" stands for at least one group of zeros.
            if h + t > 7 {
                return None;
            }
            let mut groups = [0u16; 8];
            groups[..h].copy_from_slice(&head[..h]);
            groups[8 - t..].copy_from_slice(&tail[..t]);
            Some(Ipv6Addr::from(groups))
        }
    }
}

/// Parses `IPv6-hex *(":" IPv6-hex)` (possibly empty), the last of which may be
/// a dotted IPv4 address when `v4_last`, into `out`. Returns the group count.
fn parse_ipv6_groups(s: &str, v4_last: bool, out: &mut [u16; 8]) -> Option<usize> {
    if s.is_empty() {
        return Some(0);
    }
    let mut n = 0;
    let mut parts = s.split(':').peekable();
    while let Some(p) = parts.next() {
        if v4_last && parts.peek().is_none() && p.contains('.') {
            let [a, b, c, d] = parse_ipv4(p)?.octets();
            let slots = out.get_mut(n..n + 2)?;
            slots[0] = u16::from_be_bytes([a, b]);
            slots[1] = u16::from_be_bytes([c, d]);
            n += 2;
        } else {
            if p.is_empty() || p.len() > 4 || !p.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            *out.get_mut(n)? = u16::from_str_radix(p, 16).ok()?;
            n += 1;
        }
    }
    Some(n)
}

// ---------------------------------------------------------------------------
// Host
// ---------------------------------------------------------------------------

/// The right side of a mailbox, or a HELO/EHLO/LHLO argument: a domain or an
/// address literal (RFC 5321 §4.1.2, §4.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host<'a> {
    /// A domain name.
    Domain(Domain<'a>),
    /// An address literal.
    Literal(AddressLiteral<'a>),
}

impl<'a> Host<'a> {
    /// Parses a whole string as `Domain / address-literal` (RFC 5321 §4.1.2).
    #[inline]
    pub fn parse(s: &'a str, opts: &PathOptions) -> Result<Host<'a>, PathError> {
        if s.starts_with('[') {
            parse_literal(s, Some(opts)).map(Host::Literal)
        } else {
            Domain::parse(s, opts).map(Host::Domain)
        }
    }

    /// Whether the host is all ASCII.
    pub fn is_ascii(&self) -> bool {
        match self {
            Host::Domain(d) => d.is_ascii(),
            Host::Literal(l) => l.is_ascii(),
        }
    }

    /// Copies any borrowed data so the host is `'static`.
    pub fn into_owned(self) -> Host<'static> {
        match self {
            Host::Domain(d) => Host::Domain(d.into_owned()),
            Host::Literal(l) => Host::Literal(l.into_owned()),
        }
    }
}

impl fmt::Display for Host<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Domain(d) => d.fmt(f),
            Host::Literal(l) => l.fmt(f),
        }
    }
}

// ---------------------------------------------------------------------------
// Local part
// ---------------------------------------------------------------------------

/// The local part of a mailbox (RFC 5321 §4.1.2), stored exactly as on the
/// wire: a Dot-string, or a Quoted-string with its quotes and backslash escapes.
///
/// Equality is on the wire form, so `"a"` and `a` are different values even
/// though they name the same mailbox; compare [`LocalPart::value`]s for that.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LocalPart<'a> {
    wire: Cow<'a, str>,
}

impl<'a> LocalPart<'a> {
    /// Parses a whole string as a `Local-part = Dot-string / Quoted-string`
    /// (RFC 5321 §4.1.2; RFC 6531 §3.3 under `allow_utf8`), of at most
    /// `max_local_part` octets (RFC 5321 §4.5.3.1.1).
    pub fn parse(s: &'a str, opts: &PathOptions) -> Result<Self, PathError> {
        let n = scan_local_part(s, opts)?;
        if n != s.len() {
            return Err(unexpected(char_at(s, n), opts, PathError::InvalidLocalPart));
        }
        Ok(LocalPart {
            wire: Cow::Borrowed(s),
        })
    }

    /// Encodes a local part from its value (RFC 5321 §4.1.2): as a Dot-string
    /// when the value is one (which the RFC says SHOULD be used), otherwise as a
    /// Quoted-string that escapes only `"` and `\`.
    ///
    /// Fails on control characters, which cannot appear even quoted, on
    /// non-ASCII without `allow_utf8`, and when the encoding is longer than
    /// `max_local_part`.
    pub fn from_value(value: &str, opts: &PathOptions) -> Result<LocalPart<'static>, PathError> {
        let mut escapes = 0;
        for c in value.chars() {
            if c.is_control() {
                return Err(PathError::ControlCharacter);
            }
            if !c.is_ascii() && !opts.allow_utf8 {
                return Err(PathError::Utf8NotAllowed);
            }
            if c == '"' || c == '\\' {
                escapes += 1;
            }
        }
        let limit = opts.local_part_limit();
        if is_dot_string(value, opts.allow_utf8) {
            if value.len() > limit {
                return Err(PathError::LocalPartTooLong);
            }
            return Ok(LocalPart {
                wire: Cow::Owned(value.into()),
            });
        }
        let len = value.len() + escapes + 2;
        if len > limit {
            return Err(PathError::LocalPartTooLong);
        }
        let mut wire = String::with_capacity(len);
        wire.push('"');
        for c in value.chars() {
            if c == '"' || c == '\\' {
                wire.push('\\');
            }
            wire.push(c);
        }
        wire.push('"');
        Ok(LocalPart {
            wire: Cow::Owned(wire),
        })
    }

    /// The wire form, exactly as parsed or encoded.
    pub fn as_wire(&self) -> &str {
        &self.wire
    }

    /// Whether the wire form is a Quoted-string.
    pub fn is_quoted(&self) -> bool {
        self.wire.starts_with('"')
    }

    /// The value: a Quoted-string's content with the quotes and backslash
    /// escapes removed (`"a\ b"` gives `a b`), or the Dot-string as it is.
    /// Borrows unless there are escapes to remove.
    pub fn value(&self) -> Cow<'_, str> {
        if !self.is_quoted() {
            return Cow::Borrowed(&self.wire);
        }
        let inner = self
            .wire
            .get(1..self.wire.len().saturating_sub(1))
            .unwrap_or("");
        if !inner.contains('\\') {
            return Cow::Borrowed(inner);
        }
        let mut out = String::with_capacity(inner.len());
        let mut escaped = false;
        for c in inner.chars() {
            if c == '\\' && !escaped {
                escaped = true;
            } else {
                out.push(c);
                escaped = false;
            }
        }
        Cow::Owned(out)
    }

    /// Copies any borrowed data so the local part is `'static`.
    pub fn into_owned(self) -> LocalPart<'static> {
        LocalPart {
            wire: Cow::Owned(self.wire.into_owned()),
        }
    }
}

impl fmt::Display for LocalPart<'_> {
    /// The wire form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.wire)
    }
}

// ---------------------------------------------------------------------------
// Mailbox
// ---------------------------------------------------------------------------

/// A mailbox, `Local-part "@" ( Domain / address-literal )` (RFC 5321 §4.1.2).
///
/// [`Display`](fmt::Display) prints the bare mailbox, `local@host`, **without**
/// angle brackets; the paths that carry a mailbox, [`ReversePath`] and
/// [`ForwardPath`], print it with them.
///
/// ```
/// use smtp_proto::wire::path::{ForwardPath, Mailbox, PathOptions};
/// let m = Mailbox::parse("user@example.com", &PathOptions::default()).unwrap();
/// assert_eq!(m.to_string(), "user@example.com");
/// assert_eq!(ForwardPath::Mailbox(m).to_string(), "<user@example.com>");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Mailbox<'a> {
    /// The part before the `@`.
    pub local_part: LocalPart<'a>,
    /// The part after the `@`.
    pub host: Host<'a>,
}

impl<'a> Mailbox<'a> {
    /// A mailbox from a Dot-string local part and a domain that the caller
    /// has already checked (the one-pass scanner of the command parser).
    #[inline(always)]
    pub(crate) fn from_checked(local: &'a str, domain: &'a str) -> Self {
        Mailbox {
            local_part: LocalPart {
                wire: Cow::Borrowed(local),
            },
            host: Host::Domain(Domain::from_checked(domain)),
        }
    }

    /// Parses a whole string as a `Mailbox` (`local@host`, no angle brackets;
    /// RFC 5321 §4.1.2). The local part ends where its grammar ends, so a quoted
    /// local part may contain `@`. The path length limit does not apply here;
    /// the local part and domain limits do.
    pub fn parse(s: &'a str, opts: &PathOptions) -> Result<Self, PathError> {
        let (mailbox, n) = scan_mailbox(s, opts)?;
        if n != s.len() {
            return Err(unexpected(char_at(s, n), opts, PathError::Syntax));
        }
        Ok(mailbox)
    }

    /// Whether the mailbox is all ASCII, i.e. needs no SMTPUTF8 (RFC 6531 §3.4).
    pub fn is_ascii(&self) -> bool {
        self.local_part.as_wire().is_ascii() && self.host.is_ascii()
    }

    /// A `'static` copy, made straight from a borrowed mailbox (the server's
    /// events own theirs): [`into_owned`](Self::into_owned) of a `clone`
    /// without the clone.
    pub(crate) fn to_static(&self) -> Mailbox<'static> {
        Mailbox {
            local_part: LocalPart {
                wire: Cow::Owned(String::from(self.local_part.as_wire())),
            },
            host: match &self.host {
                Host::Domain(d) => Host::Domain(Domain(Cow::Owned(String::from(d.as_str())))),
                Host::Literal(l) => Host::Literal(l.clone().into_owned()),
            },
        }
    }

    /// Copies any borrowed data so the mailbox is `'static`.
    pub fn into_owned(self) -> Mailbox<'static> {
        Mailbox {
            local_part: self.local_part.into_owned(),
            host: self.host.into_owned(),
        }
    }
}

impl fmt::Display for Mailbox<'_> {
    /// `local@host`, without angle brackets, the local part in its wire form
    /// (quoted if it was).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.local_part, self.host)
    }
}

// ---------------------------------------------------------------------------
// Paths
// ---------------------------------------------------------------------------

/// The argument of `MAIL FROM:` (RFC 5321 §4.1.2 `Reverse-path`).
///
/// [`Display`](fmt::Display) prints the wire form, **with** angle brackets:
/// `<user@example.com>`, or `<>` for the null path. Parse one from the wire
/// with [`parse_reverse_path`], or from an address as people write it, with or
/// without brackets, with [`ReversePath::parse_address`].
///
/// ```
/// use smtp_proto::wire::path::{PathOptions, ReversePath};
/// let opts = PathOptions::default();
/// let from = ReversePath::parse_address("user@example.com", &opts).unwrap();
/// assert_eq!(from.to_string(), "<user@example.com>");
/// assert_eq!(from.mailbox().unwrap().to_string(), "user@example.com");
/// assert_eq!(ReversePath::Null.to_string(), "<>");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ReversePath<'a> {
    /// The null path `<>`, used for notifications (RFC 5321 §4.5.5).
    Null,
    /// A mailbox. A source route given before it is dropped (RFC 5321 §3.3).
    Mailbox(Mailbox<'a>),
}

impl<'a> ReversePath<'a> {
    /// Parses a sender address written either as a path, `<user@example.com>`,
    /// or as a bare mailbox, `user@example.com` (RFC 5321 §4.1.2), with nothing
    /// else around it but leading and trailing ASCII white space, which is
    /// ignored. `<>` and the empty string are the null path (RFC 5321 §4.5.5).
    ///
    /// Meant for building envelopes from configuration or user input; on the
    /// wire, `MAIL FROM:` always has the brackets ([`parse_reverse_path`]). A
    /// source route in the bracketed form is dropped (RFC 5321 §3.3). The
    /// path length limit (RFC 5321 §4.5.3.1.3) counts the brackets in either
    /// form, since the path is sent with them.
    ///
    /// ```
    /// use smtp_proto::wire::path::{PathOptions, ReversePath};
    /// let opts = PathOptions::default();
    /// let bare = ReversePath::parse_address("user@example.com", &opts).unwrap();
    /// let path = ReversePath::parse_address(" <user@example.com>\n", &opts).unwrap();
    /// assert_eq!(bare, path);
    /// assert_eq!(ReversePath::parse_address("<>", &opts), Ok(ReversePath::Null));
    /// assert_eq!(ReversePath::parse_address("", &opts), Ok(ReversePath::Null));
    /// assert!(ReversePath::parse_address("Alice <user@example.com>", &opts).is_err());
    /// ```
    pub fn parse_address(text: &'a str, opts: &PathOptions) -> Result<ReversePath<'a>, PathError> {
        let text = trim_address(text);
        if text.is_empty() {
            Ok(ReversePath::Null)
        } else if text.starts_with('<') {
            whole_path(parse_reverse_path(text, opts), opts)
        } else {
            parse_bare_mailbox(text, opts).map(ReversePath::Mailbox)
        }
    }
}

impl ReversePath<'_> {
    /// The mailbox, unless this is the null path.
    pub fn mailbox(&self) -> Option<&Mailbox<'_>> {
        match self {
            ReversePath::Null => None,
            ReversePath::Mailbox(m) => Some(m),
        }
    }

    /// A `'static` copy, made straight from a borrowed path.
    pub(crate) fn to_static(&self) -> ReversePath<'static> {
        match self {
            ReversePath::Null => ReversePath::Null,
            ReversePath::Mailbox(m) => ReversePath::Mailbox(m.to_static()),
        }
    }

    /// Copies any borrowed data so the path is `'static`.
    pub fn into_owned(self) -> ReversePath<'static> {
        match self {
            ReversePath::Null => ReversePath::Null,
            ReversePath::Mailbox(m) => ReversePath::Mailbox(m.into_owned()),
        }
    }
}

impl fmt::Display for ReversePath<'_> {
    /// `<>` or `<local@host>`: always with angle brackets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReversePath::Null => f.write_str("<>"),
            ReversePath::Mailbox(m) => write!(f, "<{m}>"),
        }
    }
}

/// The argument of `RCPT TO:` (RFC 5321 §4.1.2 `Forward-path`, §4.1.1.3).
///
/// [`Display`](fmt::Display) prints the wire form, **with** angle brackets:
/// `<user@example.com>`, or `<Postmaster>`. Parse one from the wire with
/// [`parse_forward_path`], or from an address as people write it, with or
/// without brackets, with [`ForwardPath::parse_address`].
///
/// ```
/// use smtp_proto::wire::path::{ForwardPath, PathOptions};
/// let opts = PathOptions::default();
/// let to = ForwardPath::parse_address("user@example.com", &opts).unwrap();
/// assert_eq!(to.to_string(), "<user@example.com>");
/// assert_eq!(to.mailbox().unwrap().to_string(), "user@example.com");
/// assert_eq!(ForwardPath::Postmaster.to_string(), "<Postmaster>");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ForwardPath<'a> {
    /// `<Postmaster>` without a domain (any case), which every server must
    /// accept (RFC 5321 §4.1.1.3, §4.5.1).
    Postmaster,
    /// A mailbox. A source route given before it is dropped (RFC 5321 §3.3).
    Mailbox(Mailbox<'a>),
}

impl<'a> ForwardPath<'a> {
    /// Parses a recipient address written either as a path,
    /// `<user@example.com>`, or as a bare mailbox, `user@example.com` (RFC 5321
    /// §4.1.2), with nothing else around it but leading and trailing ASCII
    /// white space, which is ignored. `Postmaster`, bracketed or not and in any
    /// case, is [`ForwardPath::Postmaster`] (RFC 5321 §4.1.1.3). `<>` and the
    /// empty string are [`PathError::NullForwardPath`]: the null path is only
    /// a reverse path.
    ///
    /// Meant for building envelopes from configuration or user input; on the
    /// wire, `RCPT TO:` always has the brackets ([`parse_forward_path`]).
    /// Source routes and the path length limit are handled as in
    /// [`ReversePath::parse_address`].
    ///
    /// ```
    /// use smtp_proto::wire::path::{ForwardPath, PathError, PathOptions};
    /// let opts = PathOptions::default();
    /// let bare = ForwardPath::parse_address("user@example.com", &opts).unwrap();
    /// let path = ForwardPath::parse_address("<user@example.com> ", &opts).unwrap();
    /// assert_eq!(bare, path);
    /// assert_eq!(ForwardPath::parse_address("postmaster", &opts), Ok(ForwardPath::Postmaster));
    /// assert_eq!(ForwardPath::parse_address("<>", &opts), Err(PathError::NullForwardPath));
    /// ```
    pub fn parse_address(text: &'a str, opts: &PathOptions) -> Result<ForwardPath<'a>, PathError> {
        let text = trim_address(text);
        if text.is_empty() {
            Err(PathError::NullForwardPath)
        } else if text.starts_with('<') {
            whole_path(parse_forward_path(text, opts), opts)
        } else if text.eq_ignore_ascii_case("postmaster") {
            Ok(ForwardPath::Postmaster)
        } else {
            parse_bare_mailbox(text, opts).map(ForwardPath::Mailbox)
        }
    }
}

impl ForwardPath<'_> {
    /// The mailbox, unless this is the bare `<Postmaster>`.
    pub fn mailbox(&self) -> Option<&Mailbox<'_>> {
        match self {
            ForwardPath::Postmaster => None,
            ForwardPath::Mailbox(m) => Some(m),
        }
    }

    /// A `'static` copy, made straight from a borrowed path.
    pub(crate) fn to_static(&self) -> ForwardPath<'static> {
        match self {
            ForwardPath::Postmaster => ForwardPath::Postmaster,
            ForwardPath::Mailbox(m) => ForwardPath::Mailbox(m.to_static()),
        }
    }

    /// Copies any borrowed data so the path is `'static`.
    pub fn into_owned(self) -> ForwardPath<'static> {
        match self {
            ForwardPath::Postmaster => ForwardPath::Postmaster,
            ForwardPath::Mailbox(m) => ForwardPath::Mailbox(m.into_owned()),
        }
    }
}

impl fmt::Display for ForwardPath<'_> {
    /// `<Postmaster>` or `<local@host>`: always with angle brackets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ForwardPath::Postmaster => f.write_str("<Postmaster>"),
            ForwardPath::Mailbox(m) => write!(f, "<{m}>"),
        }
    }
}

/// An address as given to [`ReversePath::parse_address`] or
/// [`ForwardPath::parse_address`], without surrounding ASCII white space.
fn trim_address(text: &str) -> &str {
    text.trim_matches(|c: char| c.is_ascii_whitespace())
}

/// A bracketed path that must be the whole of its input: anything after the
/// `>` is an error.
fn whole_path<T>(parsed: Result<(T, &str), PathError>, opts: &PathOptions) -> Result<T, PathError> {
    let (path, rest) = parsed?;
    if rest.is_empty() {
        Ok(path)
    } else {
        Err(unexpected(char_at(rest, 0), opts, PathError::Syntax))
    }
}

/// A bare `Mailbox` (RFC 5321 §4.1.2) that will be sent as a path: the path
/// length limit (RFC 5321 §4.5.3.1.3) counts the two brackets it will get.
fn parse_bare_mailbox<'a>(text: &'a str, opts: &PathOptions) -> Result<Mailbox<'a>, PathError> {
    let mailbox = Mailbox::parse(text, opts)?;
    if text.len() + 2 > opts.path_limit() {
        return Err(PathError::PathTooLong);
    }
    Ok(mailbox)
}

/// Parses a Reverse-path (RFC 5321 §4.1.2) at the start of `input` ('<' must be
/// the first char). Returns the path and the rest of the input after '>'.
///
/// `<>` is the null path. A source route (`<@a,@b:user@c>`) is accepted and
/// dropped (RFC 5321 §3.3, §4.1.2); the path length limit (RFC 5321
/// §4.5.3.1.3) applies to the whole path as given, brackets included.
#[inline]
pub fn parse_reverse_path<'a>(
    input: &'a str,
    opts: &PathOptions,
) -> Result<(ReversePath<'a>, &'a str), PathError> {
    let rest = input
        .strip_prefix('<')
        .ok_or(PathError::MissingAngleBrackets)?;
    if let Some(rest) = rest.strip_prefix('>') {
        return Ok((ReversePath::Null, rest));
    }
    let (mailbox, rest) = parse_path(input, opts)?;
    Ok((ReversePath::Mailbox(mailbox), rest))
}

/// Parses a Forward-path (RFC 5321 §4.1.2) at the start of `input` ('<' must be
/// the first char), accepting `<Postmaster>` in any case (RFC 5321 §4.1.1.3).
/// Returns the path and the rest of the input after '>'.
///
/// `<>` is [`PathError::NullForwardPath`]. Source routes and length limits are
/// handled as in [`parse_reverse_path`].
#[inline]
pub fn parse_forward_path<'a>(
    input: &'a str,
    opts: &PathOptions,
) -> Result<(ForwardPath<'a>, &'a str), PathError> {
    let rest = input
        .strip_prefix('<')
        .ok_or(PathError::MissingAngleBrackets)?;
    if rest.starts_with('>') {
        return Err(PathError::NullForwardPath);
    }
    const POSTMASTER: &[u8] = b"postmaster>";
    if rest
        .as_bytes()
        .get(..POSTMASTER.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(POSTMASTER))
    {
        let rest = rest.get(POSTMASTER.len()..).unwrap_or("");
        return Ok((ForwardPath::Postmaster, rest));
    }
    let (mailbox, rest) = parse_path(input, opts)?;
    Ok((ForwardPath::Mailbox(mailbox), rest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::string::ToString;
    use alloc::vec::Vec;

    fn ascii() -> PathOptions {
        PathOptions::default()
    }

    fn utf8() -> PathOptions {
        PathOptions::smtputf8()
    }

    fn rev(s: &str) -> Result<(ReversePath<'_>, &str), PathError> {
        parse_reverse_path(s, &ascii())
    }

    #[test]
    fn to_static_copies_the_whole_path() {
        for text in [
            "<>",
            "<a.b@mx.example>",
            "<\"a b\"@[192.0.2.1]>",
            "<x@[IPv6:2001:db8::1]>",
            "<y@[tag:content]>",
        ] {
            let (path, _) = rev(text).unwrap();
            assert_eq!(path.to_static(), path.clone().into_owned(), "{text}");
        }
        for text in ["<Postmaster>", "<a.b@mx.example>", "<\"q\"@[192.0.2.1]>"] {
            let (path, _) = parse_forward_path(text, &ascii()).unwrap();
            assert_eq!(path.to_static(), path.clone().into_owned(), "{text}");
        }
    }

    fn fwd(s: &str) -> Result<(ForwardPath<'_>, &str), PathError> {
        parse_forward_path(s, &ascii())
    }

    fn mailbox(s: &str) -> Mailbox<'_> {
        Mailbox::parse(s, &ascii()).unwrap()
    }

    fn lit(s: &str) -> Result<AddressLiteral<'_>, PathError> {
        AddressLiteral::parse(s)
    }

    fn v6(s: &str) -> Option<Ipv6Addr> {
        match lit(&format!("[IPv6:{s}]")) {
            Ok(AddressLiteral::Ipv6(a)) => Some(a),
            Ok(other) => panic!("not IPv6: {other:?}"),
            Err(_) => None,
        }
    }

    fn repeat(c: char, n: usize) -> String {
        core::iter::repeat_n(c, n).collect()
    }

    /// A valid domain of exactly `n` octets (n >= 1), labels of at most 63.
    fn domain_of_len(n: usize) -> String {
        let mut labels = Vec::new();
        let mut left = n;
        while left > 0 {
            let take = left.min(63);
            // A label can't be followed by a lone dot with nothing after it.
            let take = if left - take == 1 { take - 1 } else { take };
            labels.push(repeat('a', take));
            left -= take;
            left = left.saturating_sub(1); // the dot
        }
        let d = labels.join(".");
        assert_eq!(d.len(), n);
        d
    }

    // ----- RFC 5321 examples -------------------------------------------------

    /// The label-at-a-time ASCII domain scan gives what the character scan
    /// gives, whenever it gives anything, on strings made of label bytes,
    /// dots, hyphens, stop characters, controls and non-ASCII text, long
    /// enough to cross the label and domain limits.
    #[test]
    fn ascii_domain_scan_matches_char_scan() {
        use proptest::prelude::*;
        use proptest::test_runner::{Config, TestRunner};
        let piece = prop_oneof![
            Just("a"),
            Just("Z9"),
            Just("-"),
            Just("."),
            Just(">"),
            Just("@"),
            Just(" "),
            Just("\u{1}"),
            Just("é"),
            Just("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
        ];
        let mut runner = TestRunner::new(Config {
            cases: 4000,
            ..Config::default()
        });
        runner
            .run(
                &(proptest::collection::vec(piece, 0..24), any::<bool>()),
                |(pieces, utf8)| {
                    let s: String = pieces.concat();
                    let opts = if utf8 { self::utf8() } else { self::ascii() };
                    if let Some(fast) = scan_domain_ascii(s.as_bytes(), &opts) {
                        prop_assert_eq!(fast, scan_domain_chars(&s, &opts), "{:?}", s);
                    }
                    Ok(())
                },
            )
            .unwrap();
    }

    #[test]
    fn rfc5321_examples() {
        let (p, rest) = rev("<Smith@bar.com>").unwrap();
        assert_eq!(rest, "");
        let m = p.mailbox().unwrap();
        assert_eq!(m.local_part.as_wire(), "Smith");
        assert_eq!(
            m.host,
            Host::Domain(Domain::parse("bar.com", &ascii()).unwrap())
        );
        assert_eq!(p.to_string(), "<Smith@bar.com>");

        // RFC 5321 §3.3: the source route is accepted and dropped.
        let (p, rest) = fwd("<@hosta.int,@jkl.org:userc@d.bar.org> NOTIFY=NEVER").unwrap();
        assert_eq!(rest, " NOTIFY=NEVER");
        assert_eq!(p, ForwardPath::Mailbox(mailbox("userc@d.bar.org")));
        assert_eq!(p.to_string(), "<userc@d.bar.org>");

        assert_eq!(fwd("<Postmaster>").unwrap(), (ForwardPath::Postmaster, ""));
        assert_eq!(ForwardPath::Postmaster.to_string(), "<Postmaster>");
    }

    #[test]
    fn null_paths() {
        assert_eq!(rev("<>").unwrap(), (ReversePath::Null, ""));
        assert_eq!(rev("<> SIZE=10").unwrap(), (ReversePath::Null, " SIZE=10"));
        assert_eq!(ReversePath::Null.to_string(), "<>");
        assert_eq!(fwd("<>"), Err(PathError::NullForwardPath));
    }

    #[test]
    fn postmaster_forms() {
        for s in ["<postmaster>", "<POSTMASTER>", "<PostMaster>"] {
            assert_eq!(fwd(s).unwrap(), (ForwardPath::Postmaster, ""), "{s}");
        }
        let (p, _) = fwd("<Postmaster@example.com>").unwrap();
        assert_eq!(p, ForwardPath::Mailbox(mailbox("Postmaster@example.com")));
        assert_eq!(
            fwd("<Postmaster>x").unwrap(),
            (ForwardPath::Postmaster, "x")
        );
        // Only RCPT TO has the bare Postmaster.
        assert_eq!(rev("<Postmaster>"), Err(PathError::MissingAt));
        assert_eq!(fwd("<Postmaster"), Err(PathError::MissingAt));
        assert_eq!(fwd("<Postmaster >"), Err(PathError::InvalidLocalPart));
    }

    #[test]
    fn source_routes() {
        let (p, _) = rev("<@a.example:u@c.example>").unwrap();
        assert_eq!(p, ReversePath::Mailbox(mailbox("u@c.example")));
        let (p, _) = rev("<@a.example,@b.example:u@c.example>").unwrap();
        assert_eq!(p.to_string(), "<u@c.example>");
        for bad in [
            "<@a.example u@c.example>",
            "<@a.example,u@c.example>",
            "<@a.example,:u@c.example>",
            "<@:u@c.example>",
            "<@a..b:u@c.example>",
            "<@[1.2.3.4]:u@c.example>",
            "<@example.com>",
        ] {
            assert!(rev(bad).is_err(), "{bad}");
        }
        assert_eq!(rev("<@a.example:>"), Err(PathError::InvalidLocalPart));
    }

    #[test]
    fn rest_and_trailing_junk() {
        let (p, rest) = rev("<a@b.c> BODY=8BITMIME").unwrap();
        assert_eq!(p.to_string(), "<a@b.c>");
        assert_eq!(rest, " BODY=8BITMIME");
        assert_eq!(rev("<a@b.c>>").unwrap().1, ">");
        assert_eq!(rev("<a@b.c x>"), Err(PathError::Syntax));
        assert_eq!(rev("<a@b.c"), Err(PathError::MissingAngleBrackets));
        assert_eq!(rev("a@b.c"), Err(PathError::MissingAngleBrackets));
        assert_eq!(rev("a@b.c>"), Err(PathError::MissingAngleBrackets));
        assert_eq!(rev(" <a@b.c>"), Err(PathError::MissingAngleBrackets));
        assert_eq!(rev(""), Err(PathError::MissingAngleBrackets));
        assert_eq!(fwd("a@b.c"), Err(PathError::MissingAngleBrackets));
        assert_eq!(rev("<"), Err(PathError::InvalidLocalPart));
        assert_eq!(rev("< a@b.c>"), Err(PathError::InvalidLocalPart));
        assert_eq!(rev("<a@b.c >"), Err(PathError::Syntax));
        assert_eq!(rev("<a@>"), Err(PathError::InvalidDomain));
        assert_eq!(rev("<@>"), Err(PathError::InvalidDomain));
        assert_eq!(rev("<a>"), Err(PathError::MissingAt));
        assert_eq!(rev("<a@b@c>"), Err(PathError::Syntax));
        assert_eq!(Mailbox::parse("a@b.c ", &ascii()), Err(PathError::Syntax));
        assert_eq!(Mailbox::parse("a@b.c>", &ascii()), Err(PathError::Syntax));
        assert_eq!(Mailbox::parse("a", &ascii()), Err(PathError::MissingAt));
        assert_eq!(
            Mailbox::parse("", &ascii()),
            Err(PathError::InvalidLocalPart)
        );
    }

    // ----- Local parts -------------------------------------------------------

    #[test]
    fn dot_strings() {
        for ok in [
            "a",
            "a.b",
            "first.last",
            "!#$%&'*+-/=?^_`{|}~",
            "user+tag",
            "0",
            "a.b.c.d",
        ] {
            let lp = LocalPart::parse(ok, &ascii()).unwrap();
            assert_eq!(lp.as_wire(), ok);
            assert_eq!(lp.value(), ok);
            assert!(!lp.is_quoted());
        }
        for bad in [
            "", ".a", "a.", "a..b", "a b", "a(b)", "a,b", "a:b", "a;b", "a[b", "a\"b",
        ] {
            assert_eq!(
                LocalPart::parse(bad, &ascii()),
                Err(PathError::InvalidLocalPart),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn quoted_strings() {
        let cases = [
            (r#""""#, ""),
            (r#""a b""#, "a b"),
            (r#""a\ b""#, "a b"),
            (r#""a\"b""#, "a\"b"),
            (r#""a\\b""#, "a\\b"),
            (r#""a@b""#, "a@b"),
            (r#""<>""#, "<>"),
            (r#""a..b""#, "a..b"),
            (r#""\a""#, "a"),
            (r#""\\""#, "\\"),
            (r#""(),:;[]""#, "(),:;[]"),
        ];
        for (wire, value) in cases {
            let lp = LocalPart::parse(wire, &ascii()).unwrap();
            assert!(lp.is_quoted());
            assert_eq!(lp.as_wire(), wire);
            assert_eq!(lp.value(), value, "{wire}");
        }
        // Borrowed when there is nothing to unescape.
        assert!(matches!(
            LocalPart::parse(r#""a b""#, &ascii()).unwrap().value(),
            Cow::Borrowed("a b")
        ));
        for bad in [
            r#"""#,
            r#""a"#,
            r#""a\""#,
            r#""a"b"#,
            r#""a""b""#,
            r#""\"#,
            "\"a\\\tb\"",
            "a\"b\"",
        ] {
            assert!(LocalPart::parse(bad, &ascii()).is_err(), "{bad:?}");
        }
        assert_eq!(
            LocalPart::parse("\"a\tb\"", &ascii()),
            Err(PathError::ControlCharacter)
        );
    }

    #[test]
    fn quoted_local_parts_in_paths() {
        let (p, rest) = rev(r#"<"john \"doe\"@work"@example.com> X"#).unwrap();
        assert_eq!(rest, " X");
        let m = p.mailbox().unwrap();
        assert_eq!(m.local_part.as_wire(), r#""john \"doe\"@work""#);
        assert_eq!(m.local_part.value(), r#"john "doe"@work"#);
        assert_eq!(m.host.to_string(), "example.com");
        assert_eq!(p.to_string(), r#"<"john \"doe\"@work"@example.com>"#);

        let m = mailbox(r#""a>b\\"@x.y"#);
        assert_eq!(m.local_part.value(), "a>b\\");
        let m = mailbox(r#"""@x.y"#);
        assert_eq!(m.local_part.value(), "");
        assert_eq!(m.to_string(), r#"""@x.y"#);
    }

    #[test]
    fn from_value_encoding() {
        let o = ascii();
        let enc = |v: &str| LocalPart::from_value(v, &o).map(|l| l.as_wire().to_string());
        assert_eq!(enc("john.doe").unwrap(), "john.doe");
        assert_eq!(enc("john doe").unwrap(), r#""john doe""#);
        assert_eq!(enc("").unwrap(), r#""""#);
        assert_eq!(enc("a..b").unwrap(), r#""a..b""#);
        assert_eq!(enc(".a").unwrap(), r#"".a""#);
        assert_eq!(enc("a\"b").unwrap(), r#""a\"b""#);
        assert_eq!(enc("a\\b").unwrap(), r#""a\\b""#);
        assert_eq!(enc("a@b").unwrap(), r#""a@b""#);
        assert_eq!(enc("a\rb"), Err(PathError::ControlCharacter));
        assert_eq!(enc("a\nb"), Err(PathError::ControlCharacter));
        assert_eq!(enc("a\0b"), Err(PathError::ControlCharacter));
        assert_eq!(enc("a\u{7f}"), Err(PathError::ControlCharacter));
        assert_eq!(enc("a\u{85}"), Err(PathError::ControlCharacter));
        assert_eq!(enc("ü"), Err(PathError::Utf8NotAllowed));
        assert_eq!(
            LocalPart::from_value("用户", &utf8()).unwrap().as_wire(),
            "用户"
        );
        assert_eq!(
            LocalPart::from_value("用 户", &utf8()).unwrap().as_wire(),
            "\"用 户\""
        );
        // Lengths: the encoded form counts.
        assert_eq!(enc(&repeat('a', 64)).unwrap().len(), 64);
        assert_eq!(enc(&repeat('a', 65)), Err(PathError::LocalPartTooLong));
        assert_eq!(enc(&repeat(' ', 62)).unwrap().len(), 64);
        assert_eq!(enc(&repeat(' ', 63)), Err(PathError::LocalPartTooLong));
        assert_eq!(enc(&repeat('"', 31)).unwrap().len(), 64);
        assert_eq!(enc(&repeat('"', 32)), Err(PathError::LocalPartTooLong));
        for v in ["a b", "", "\"", "\\", "x\\\"y", "a..b", "tab-free"] {
            let lp = LocalPart::from_value(v, &o).unwrap();
            assert_eq!(lp.value(), v);
            assert_eq!(LocalPart::parse(lp.as_wire(), &o).unwrap(), lp);
        }
    }

    // ----- Domains -----------------------------------------------------------

    #[test]
    fn domains() {
        for ok in [
            "a",
            "example.com",
            "EXAMPLE.com",
            "a-b.c",
            "a--b.c",
            "xn--bcher-kva.example",
            "1.2.3.4",
            "123",
            "a1.b2",
        ] {
            let d = Domain::parse(ok, &ascii()).unwrap();
            assert_eq!(d.as_str(), ok);
            assert_eq!(d.to_string(), ok);
            assert!(d.is_ascii());
        }
        for bad in [
            "", ".", "a.", ".a", "a..b", "-a", "a-", "a-.b", "a.-b", "a_b", "a b", "a.b.", "[a]",
            "a:b", "a@b",
        ] {
            assert_eq!(
                Domain::parse(bad, &ascii()),
                Err(PathError::InvalidDomain),
                "{bad:?}"
            );
        }
        let d = Domain::parse("a.b.c", &ascii()).unwrap();
        assert_eq!(d.labels().collect::<Vec<_>>(), ["a", "b", "c"]);
        let upper = Domain::parse("Example.COM", &ascii()).unwrap();
        let lower = Domain::parse("example.com", &ascii()).unwrap();
        assert_ne!(upper, lower);
        assert!(upper.eq_ignore_case(&lower));
        assert_eq!(upper.clone().into_owned(), upper);
    }

    #[test]
    fn label_length() {
        let l63 = repeat('a', 63);
        let l64 = repeat('a', 64);
        assert!(Domain::parse(&l63, &ascii()).is_ok());
        assert!(Domain::parse(&format!("{l63}.{l63}"), &ascii()).is_ok());
        assert_eq!(Domain::parse(&l64, &ascii()), Err(PathError::LabelTooLong));
        assert_eq!(
            Domain::parse(&format!("a.{l64}.b"), &ascii()),
            Err(PathError::LabelTooLong)
        );
        // 21 three-octet characters are 63 octets; 22 are too many.
        let u21 = repeat('例', 21);
        let u22 = repeat('例', 22);
        assert!(Domain::parse(&u21, &utf8()).is_ok());
        assert_eq!(Domain::parse(&u22, &utf8()), Err(PathError::LabelTooLong));
    }

    #[test]
    fn domain_length() {
        let d255 = domain_of_len(255);
        let d256 = domain_of_len(256);
        assert!(Domain::parse(&d255, &ascii()).is_ok());
        assert_eq!(
            Domain::parse(&d256, &ascii()),
            Err(PathError::DomainTooLong)
        );
        // Raising the limit works; lowering it below the RFC does not.
        let raised = PathOptions {
            max_domain: 300,
            ..ascii()
        };
        assert!(Domain::parse(&d256, &raised).is_ok());
        let lowered = PathOptions {
            max_domain: 10,
            ..ascii()
        };
        assert!(Domain::parse(&d255, &lowered).is_ok());
        assert!(Mailbox::parse(&format!("a@{d255}"), &ascii()).is_ok());
        assert_eq!(
            Mailbox::parse(&format!("a@{d256}"), &ascii()),
            Err(PathError::DomainTooLong)
        );
    }

    #[test]
    fn utf8_domains() {
        let d = Domain::parse("例子.广告", &utf8()).unwrap();
        assert!(!d.is_ascii());
        assert_eq!(d.as_str(), "例子.广告");
        for ok in [
            "bücher.example",
            "пример.рф",
            "ไทย.ตัวอย่าง",
            "हिन्दी.भारत",
            "a-ü.b",
            "١٢٣.مثال",
        ] {
            assert!(Domain::parse(ok, &utf8()).is_ok(), "{ok}");
            assert_eq!(
                Domain::parse(ok, &ascii()),
                Err(PathError::Utf8NotAllowed),
                "{ok}"
            );
        }
        for bad in [
            "a\u{a0}b",
            "a\u{3000}b",
            "a\u{3002}b",
            "a\u{200b}b",
            "a—b",
            "a→b",
            "\u{301}a",
            "a.\u{94d}b",
            "ü-",
            "-ü",
        ] {
            assert_eq!(
                Domain::parse(bad, &utf8()),
                Err(PathError::InvalidDomain),
                "{bad:?}"
            );
        }
        assert_eq!(
            Domain::parse("a\u{85}b", &utf8()),
            Err(PathError::ControlCharacter)
        );
    }

    // ----- Address literals --------------------------------------------------

    #[test]
    fn ipv4_literals() {
        assert_eq!(
            lit("[192.0.2.1]"),
            Ok(AddressLiteral::Ipv4(Ipv4Addr::new(192, 0, 2, 1)))
        );
        assert_eq!(
            lit("[0.0.0.0]"),
            Ok(AddressLiteral::Ipv4(Ipv4Addr::UNSPECIFIED))
        );
        assert_eq!(
            lit("[255.255.255.255]"),
            Ok(AddressLiteral::Ipv4(Ipv4Addr::BROADCAST))
        );
        assert_eq!(lit("[10.0.0.1]").unwrap().to_string(), "[10.0.0.1]");
        for bad in [
            "[256.0.0.1]",
            "[1.2.3]",
            "[1.2.3.4.5]",
            "[01.2.3.4]",
            "[1.2.3.00]",
            "[1.2.3.0x1]",
            "[1.2.3.-1]",
            "[+1.2.3.4]",
            "[1..2.3]",
            "[1.2.3.4.]",
            "[.1.2.3.4]",
            "[1234.1.1.1]",
            "[ 1.2.3.4]",
            "[]",
            "[1.2.3.4",
            "1.2.3.4]",
            "1.2.3.4",
            "[1.2.3.4]]",
            "[[1.2.3.4]",
        ] {
            assert_eq!(lit(bad), Err(PathError::InvalidAddressLiteral), "{bad}");
        }
    }

    #[test]
    fn ipv6_literals() {
        let seg = |s: [u16; 8]| Some(Ipv6Addr::from(s));
        assert_eq!(
            v6("2001:db8:0:0:0:0:0:1"),
            seg([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1])
        );
        assert_eq!(v6("2001:DB8::1"), seg([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]));
        assert_eq!(v6("::"), Some(Ipv6Addr::UNSPECIFIED));
        assert_eq!(v6("::1"), Some(Ipv6Addr::LOCALHOST));
        assert_eq!(v6("1::"), seg([1, 0, 0, 0, 0, 0, 0, 0]));
        assert_eq!(v6("1:2:3:4:5:6:7:8"), seg([1, 2, 3, 4, 5, 6, 7, 8]));
        assert_eq!(v6("1:2:3:4:5:6:7::"), seg([1, 2, 3, 4, 5, 6, 7, 0]));
        assert_eq!(v6("::2:3:4:5:6:7:8"), seg([0, 2, 3, 4, 5, 6, 7, 8]));
        assert_eq!(v6("1::8"), seg([1, 0, 0, 0, 0, 0, 0, 8]));
        assert_eq!(v6("0001:00:0::ffff"), seg([1, 0, 0, 0, 0, 0, 0, 0xffff]));
        assert_eq!(
            v6("::ffff:192.0.2.1"),
            Some(Ipv4Addr::new(192, 0, 2, 1).to_ipv6_mapped())
        );
        assert_eq!(v6("::192.0.2.1"), seg([0, 0, 0, 0, 0, 0, 0xc000, 0x0201]));
        assert_eq!(
            v6("1:2:3:4:5:6:1.2.3.4"),
            seg([1, 2, 3, 4, 5, 6, 0x0102, 0x0304])
        );
        assert_eq!(
            v6("1:2:3:4:5::1.2.3.4"),
            seg([1, 2, 3, 4, 5, 0, 0x0102, 0x0304])
        );
        assert_eq!(
            v6("64:ff9b::1.2.3.4"),
            seg([0x64, 0xff9b, 0, 0, 0, 0, 0x0102, 0x0304])
        );
        for bad in [
            "1::2::3",
            "::1::",
            ":::",
            "1:::2",
            ":1::",
            "1::2:",
            ":1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7:8:",
            "1:2:3:4:5:6:7",
            "1:2:3:4:5:6:7:8:9",
            "1:2:3:4:5:6:7::8",
            "1::2:3:4:5:6:7:8",
            "12345::",
            "g::",
            "::g",
            "1:2:3:4:5:6:7:1.2.3.4",
            "1:2:3:4:5:6::1.2.3.4",
            "::1.2.3",
            "::1.2.3.4.5",
            "::01.2.3.4",
            "::256.2.3.4",
            "1.2.3.4::",
            "::1.2.3.4:1",
            "1.2.3.4",
            "",
            ":",
            "::%eth0",
            " ::1",
        ] {
            assert_eq!(v6(bad), None, "{bad}");
            assert_eq!(
                bad.parse::<Ipv6Addr>().ok(),
                None,
                "core disagrees on {bad}"
            );
        }
        // Tag case, and the encoding (RFC 5952 text after "IPv6:").
        for tag in ["IPv6", "ipv6", "IPV6", "iPv6"] {
            let s = format!("[{tag}:2001:DB8:0:0:0:0:0:1]");
            assert_eq!(lit(&s).unwrap().to_string(), "[IPv6:2001:db8::1]");
        }
        assert_eq!(lit("[IPv6:::]").unwrap().to_string(), "[IPv6:::]");
        assert_eq!(
            lit("[IPv6:::ffff:192.0.2.1]").unwrap().to_string(),
            "[IPv6:::ffff:192.0.2.1]"
        );
        assert_eq!(lit("[IPv6:]"), Err(PathError::InvalidAddressLiteral));
        assert_eq!(lit("[IPv6]"), Err(PathError::InvalidAddressLiteral));
        assert_eq!(lit("[::1]"), Err(PathError::InvalidAddressLiteral));
        assert_eq!(lit("[IPv6:1.2.3.4]"), Err(PathError::InvalidAddressLiteral));
    }

    #[test]
    fn general_literals() {
        let l = lit("[x400:c=us;a=;p=x]").unwrap();
        assert_eq!(
            l,
            AddressLiteral::General {
                tag: "x400".into(),
                content: "c=us;a=;p=x".into()
            }
        );
        assert_eq!(l.to_string(), "[x400:c=us;a=;p=x]");
        assert!(lit("[tag:a:b]").is_ok());
        assert!(lit("[IPv4:1.2.3.4]").is_ok());
        assert!(lit("[a-1:^~!Z]").is_ok());
        for bad in [
            "[tag:]",
            "[:x]",
            "[tag-:x]",
            "[ta_g:x]",
            "[tag:a b]",
            "[tag:a\\b]",
            "[tag:a[b]",
            "[tag:a]b]",
            "[t g:x]",
        ] {
            assert_eq!(lit(bad), Err(PathError::InvalidAddressLiteral), "{bad}");
        }
        assert_eq!(lit("[tag:ü]"), Err(PathError::InvalidAddressLiteral));
        assert_eq!(lit("[tag:a\rb]"), Err(PathError::ControlCharacter));
        assert!(AddressLiteral::general("x", "y").is_ok());
        assert_eq!(
            AddressLiteral::general("ipv6", "::1"),
            Err(PathError::InvalidAddressLiteral)
        );
        assert_eq!(
            AddressLiteral::general("x", ""),
            Err(PathError::InvalidAddressLiteral)
        );
        let owned = l.clone().into_owned();
        assert_eq!(owned, l);
    }

    #[test]
    fn literal_hosts() {
        assert_eq!(
            rev("<user@[1.2.3.4> ü"),
            Err(PathError::InvalidAddressLiteral)
        );
        assert_eq!(rev("<user@[1.2.3.ü>"), Err(PathError::Utf8NotAllowed));
        assert_eq!(rev("<user@[1.2.3.\r>"), Err(PathError::ControlCharacter));
        let m = mailbox("user@[192.0.2.1]");
        assert_eq!(
            m.host,
            Host::Literal(AddressLiteral::Ipv4(Ipv4Addr::new(192, 0, 2, 1)))
        );
        let m = mailbox("user@[IPv6:::1]");
        assert_eq!(
            m.host,
            Host::Literal(AddressLiteral::Ipv6(Ipv6Addr::LOCALHOST))
        );
        assert_eq!(m.to_string(), "user@[IPv6:::1]");
        let (p, rest) = rev("<user@[IPv6:2001:db8::1]> SIZE=1").unwrap();
        assert_eq!(p.to_string(), "<user@[IPv6:2001:db8::1]>");
        assert_eq!(rest, " SIZE=1");
        let (p, _) = rev("<\"a]\"@[x:y>z]>").unwrap();
        assert_eq!(p.to_string(), "<\"a]\"@[x:y>z]>");
        assert_eq!(
            rev("<user@[1.2.3.4>"),
            Err(PathError::InvalidAddressLiteral)
        );
        assert_eq!(rev("<user@[1.2.3.4]x>"), Err(PathError::Syntax));
        assert_eq!(
            rev("<user@[300.2.3.4]>"),
            Err(PathError::InvalidAddressLiteral)
        );
        assert_eq!(rev("<user@[1.2.3.ü]>"), Err(PathError::Utf8NotAllowed));
        assert_eq!(
            parse_reverse_path("<user@[1.2.3.ü]>", &utf8()),
            Err(PathError::InvalidAddressLiteral)
        );
        assert_eq!(
            Host::parse("[1.2.3.4]", &ascii()),
            Ok(Host::Literal(AddressLiteral::Ipv4(Ipv4Addr::new(
                1, 2, 3, 4
            ))))
        );
        assert_eq!(
            Host::parse("mx.example", &ascii()).unwrap().to_string(),
            "mx.example"
        );
        assert_eq!(
            Host::parse("[1.2.3.4", &ascii()),
            Err(PathError::InvalidAddressLiteral)
        );
        assert_eq!(Host::parse("[ü]", &ascii()), Err(PathError::Utf8NotAllowed));
        assert_eq!(Host::parse("", &ascii()), Err(PathError::InvalidDomain));
        assert!(Host::parse("[1.2.3.4]", &ascii()).unwrap().is_ascii());
    }

    // ----- Length limits -----------------------------------------------------

    #[test]
    fn local_part_length() {
        let l64 = repeat('a', 64);
        let l65 = repeat('a', 65);
        assert!(LocalPart::parse(&l64, &ascii()).is_ok());
        assert_eq!(
            LocalPart::parse(&l65, &ascii()),
            Err(PathError::LocalPartTooLong)
        );
        assert!(rev(&format!("<{l64}@x>")).is_ok());
        assert_eq!(rev(&format!("<{l65}@x>")), Err(PathError::LocalPartTooLong));
        // Quoted: the wire form counts, quotes and escapes included.
        let q64 = format!("\"{}\"", repeat('\\', 62));
        let q65 = format!("\"{}a\"", repeat('\\', 62));
        assert!(LocalPart::parse(&q64, &ascii()).is_ok());
        assert_eq!(
            LocalPart::parse(&q65, &ascii()),
            Err(PathError::LocalPartTooLong)
        );
        // Octets, not characters: 21 × 3 + 1 = 64, 22 × 3 = 66.
        let u64 = format!("{}a", repeat('用', 21));
        assert_eq!(u64.len(), 64);
        assert!(LocalPart::parse(&u64, &utf8()).is_ok());
        assert_eq!(
            LocalPart::parse(&repeat('用', 22), &utf8()),
            Err(PathError::LocalPartTooLong)
        );
        let raised = PathOptions {
            max_local_part: 100,
            ..ascii()
        };
        assert!(LocalPart::parse(&l65, &raised).is_ok());
        let lowered = PathOptions {
            max_local_part: 0,
            ..ascii()
        };
        assert!(LocalPart::parse(&l64, &lowered).is_ok());
    }

    #[test]
    fn path_length() {
        // "<" + 64 + "@" + 189 + ">" = 256.
        let local = repeat('a', 64);
        let p256 = format!("<{local}@{}>", domain_of_len(189));
        let p257 = format!("<{local}@{}>", domain_of_len(190));
        assert_eq!(p256.len(), 256);
        assert!(rev(&p256).is_ok());
        assert!(fwd(&p256).is_ok());
        assert_eq!(rev(&p257), Err(PathError::PathTooLong));
        assert_eq!(fwd(&p257), Err(PathError::PathTooLong));
        // The source route counts towards the limit.
        let adl = "@r.example:";
        let d = domain_of_len(189 - adl.len());
        let routed = format!("<{adl}{local}@{d}>");
        assert_eq!(routed.len(), 256);
        assert!(rev(&routed).is_ok());
        let d = domain_of_len(190 - adl.len());
        assert_eq!(
            rev(&format!("<{adl}{local}@{d}>")),
            Err(PathError::PathTooLong)
        );
        let raised = PathOptions {
            max_path: 300,
            ..ascii()
        };
        assert!(parse_reverse_path(&p257, &raised).is_ok());
        let lowered = PathOptions {
            max_path: 3,
            ..ascii()
        };
        assert!(parse_reverse_path(&p256, &lowered).is_ok());
        // Mailbox::parse alone has no path limit.
        assert!(Mailbox::parse(&p257[1..p257.len() - 1], &ascii()).is_ok());
    }

    // ----- UTF-8 and control characters -------------------------------------

    #[test]
    fn utf8_paths() {
        let s = "<用户@例子.广告>";
        assert_eq!(rev(s), Err(PathError::Utf8NotAllowed));
        assert_eq!(fwd(s), Err(PathError::Utf8NotAllowed));
        let (p, rest) = parse_reverse_path(s, &utf8()).unwrap();
        assert_eq!(rest, "");
        let m = p.mailbox().unwrap();
        assert!(!m.is_ascii());
        assert_eq!(m.local_part.as_wire(), "用户");
        assert_eq!(p.to_string(), s);
        // Non-ASCII in each position, without SMTPUTF8.
        for s in [
            "<ü@x.y>",
            "<aü@x.y>",
            "<a.ü@x.y>",
            "<\"ü\"@x.y>",
            "<a@ü.y>",
            "<a@xü.y>",
            "<a@x.ü>",
            "<@ü:a@x.y>",
            "<a@x.yü>",
        ] {
            assert_eq!(rev(s), Err(PathError::Utf8NotAllowed), "{s}");
        }
        // UTF-8 in quoted strings, ASCII domain.
        let (p, _) = parse_forward_path("<\"José Ñ\"@example.com>", &utf8()).unwrap();
        assert_eq!(p.mailbox().unwrap().local_part.value(), "José Ñ");
        assert!(mailbox("a@b.c").is_ascii());
        // An escaped non-ASCII character is not a quoted-pairSMTP.
        assert_eq!(
            LocalPart::parse("\"\\ü\"", &utf8()),
            Err(PathError::InvalidLocalPart)
        );
    }

    #[test]
    fn control_characters() {
        for s in [
            "<a\r@b.c>",
            "<a\n@b.c>",
            "<a\0@b.c>",
            "<a@b\r.c>",
            "<a@b.c\r\n>",
            "<\"a\rb\"@b.c>",
            "<\"a\\\r\"@b.c>",
            "<\"a\0\"@b.c>",
            "<\"\u{7f}\"@b.c>",
            "<a@[1.2.3.4\r]>",
            "<@a\r:b@c>",
            "<\u{1b}@b.c>",
            "<\t@b.c>",
        ] {
            assert_eq!(rev(s), Err(PathError::ControlCharacter), "{s:?}");
            assert_eq!(
                parse_reverse_path(s, &utf8()),
                Err(PathError::ControlCharacter),
                "{s:?}"
            );
        }
        assert_eq!(
            parse_reverse_path("<\"\u{85}\"@b.c>", &utf8()),
            Err(PathError::ControlCharacter)
        );
        assert_eq!(
            parse_reverse_path("<a\u{9f}@b.c>", &utf8()),
            Err(PathError::ControlCharacter)
        );
    }

    // ----- Ownership and display --------------------------------------------

    #[test]
    fn into_owned_preserves_values() {
        let input = String::from("<@r.example:\"x y\"@[tag:v]> rest");
        let (p, _) = rev(&input).unwrap();
        let owned: ReversePath<'static> = p.clone().into_owned();
        drop(input);
        assert_eq!(owned.to_string(), "<\"x y\"@[tag:v]>");
        let input = String::from("<a@b.c>");
        let (f, _) = fwd(&input).unwrap();
        let owned: ForwardPath<'static> = f.into_owned();
        drop(input);
        assert_eq!(owned.mailbox().unwrap().to_string(), "a@b.c");
        assert_eq!(
            ForwardPath::Postmaster.into_owned(),
            ForwardPath::Postmaster
        );
        assert_eq!(ReversePath::Null.into_owned(), ReversePath::Null);
    }

    #[test]
    fn errors_display() {
        assert_eq!(PathError::PathTooLong.to_string(), "path too long");
        assert_eq!(
            PathError::Utf8NotAllowed.to_string(),
            "non-ASCII address without SMTPUTF8"
        );
    }

    #[test]
    fn combining_mark_table() {
        assert!(is_combining_mark('\u{300}'));
        assert!(is_combining_mark('\u{36f}'));
        assert!(!is_combining_mark('\u{370}'));
        assert!(is_combining_mark('\u{94d}'));
        assert!(is_combining_mark('\u{e48}'));
        assert!(!is_combining_mark('a'));
        assert!(!is_combining_mark('\u{10ffff}'));
        assert!(COMBINING_MARKS.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(COMBINING_MARKS.len() % 2, 0);
    }

    /// Addresses for envelopes: `<a@b>` or bare `a@b` (RFC 5321 §4.1.2).
    #[test]
    fn addresses_with_or_without_brackets() {
        let o = ascii();
        let m = mailbox("user@example.com");
        for text in [
            "user@example.com",
            "<user@example.com>",
            "  user@example.com\t",
            "\t<user@example.com> \r\n",
            "<@relay.example:user@example.com>",
        ] {
            assert_eq!(
                ReversePath::parse_address(text, &o),
                Ok(ReversePath::Mailbox(m.clone())),
                "{text:?}"
            );
            assert_eq!(
                ForwardPath::parse_address(text, &o),
                Ok(ForwardPath::Mailbox(m.clone())),
                "{text:?}"
            );
        }
        let quoted = ReversePath::parse_address(r#""a b"@example.com"#, &o).unwrap();
        assert_eq!(quoted.to_string(), r#"<"a b"@example.com>"#);
        // The null path: sender only.
        for text in ["", "<>", " ", " <> "] {
            assert_eq!(ReversePath::parse_address(text, &o), Ok(ReversePath::Null));
            assert_eq!(
                ForwardPath::parse_address(text, &o),
                Err(PathError::NullForwardPath)
            );
        }
        // Postmaster, with or without brackets, in any case (RFC 5321 §4.1.1.3).
        for text in ["Postmaster", "postmaster", "<POSTMASTER>", " <Postmaster> "] {
            assert_eq!(
                ForwardPath::parse_address(text, &o),
                Ok(ForwardPath::Postmaster)
            );
        }
        assert_eq!(
            ReversePath::parse_address("Postmaster", &o),
            Err(PathError::MissingAt)
        );
        // Nothing else on the line.
        for (text, err) in [
            ("<a@b.example> x", PathError::Syntax),
            ("a@b.example x", PathError::Syntax),
            ("<a@b.example><c@d.example>", PathError::Syntax),
            ("<a@b.example", PathError::MissingAngleBrackets),
            ("a@b.example>", PathError::Syntax),
            ("alice", PathError::MissingAt),
            ("<a@b.example>\0", PathError::ControlCharacter),
            ("a@b.example\0", PathError::ControlCharacter),
        ] {
            assert_eq!(
                ReversePath::parse_address(text, &o),
                Err(err.clone()),
                "{text:?}"
            );
            assert_eq!(ForwardPath::parse_address(text, &o), Err(err), "{text:?}");
        }
        assert!(ReversePath::parse_address("Alice <a@b.example>", &o).is_err());
        assert!(ForwardPath::parse_address("a @b.example", &o).is_err());
        // UTF-8 only when allowed (RFC 6531 §3.3).
        assert_eq!(
            ForwardPath::parse_address("用户@例子.广告", &o),
            Err(PathError::Utf8NotAllowed)
        );
        assert!(ForwardPath::parse_address("用户@例子.广告", &utf8()).is_ok());
        // The path limit counts the brackets in both forms (RFC 5321 §4.5.3.1.3).
        for (n, ok) in [(252, true), (253, false)] {
            let bare = format!("a@{}", domain_of_len(n));
            let path = format!("<{bare}>");
            for text in [&bare, &path] {
                let r = ReversePath::parse_address(text, &o);
                assert_eq!(r.is_ok(), ok, "{n}");
                if !ok {
                    assert_eq!(r, Err(PathError::PathTooLong));
                }
            }
        }
    }
}
