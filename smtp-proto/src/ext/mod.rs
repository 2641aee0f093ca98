//! The EHLO capability model (RFC 5321 §4.1.1.1, §2.2.2).
//!
//! A server answers EHLO with a `250` reply whose first line is
//! `Domain [ SP ehlo-greet ]` and whose further lines each advertise one
//! service extension (RFC 5321 §4.1.1.1):
//!
//! ```text
//! ehlo-line    = ehlo-keyword *( SP ehlo-param )
//! ehlo-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
//! ehlo-param   = 1*(%d33-126)
//! ```
//!
//! [`Capabilities`] is that reply as data: [`Capabilities::from_ehlo_reply`]
//! reads it on the client side, tolerating garbage; [`Capabilities::to_reply`]
//! writes it on the server side.
//!
//! ```
//! use smtp_proto::ext::{Capabilities, Extension};
//! use smtp_proto::reply::{Reply, ReplyCode};
//! use smtp_proto::wire::sasl::Mechanism;
//!
//! let reply = Reply::from_lines(ReplyCode::OK, None, [
//!     "mx.example.org Hello",
//!     "PIPELINING",
//!     "SIZE 10240000",
//!     "AUTH PLAIN LOGIN",
//!     "X-FANCY on",
//! ]);
//! let caps = Capabilities::from_ehlo_reply(&reply).unwrap();
//! assert_eq!(caps.domain, "mx.example.org");
//! assert!(caps.pipelining());
//! assert_eq!(caps.max_message_size(), Some(10240000));
//! assert_eq!(caps.auth_mechanisms(), [Mechanism::Plain, Mechanism::Login]);
//! assert!(caps.has("x-fancy"));
//! assert_eq!(caps.to_reply(), reply);
//! ```

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use crate::reply::{EnhancedCode, Reply, ReplyCode};
use crate::wire::sasl::Mechanism;

/// Limits a server announces with LIMITS (RFC 9422 §4, §5).
///
/// Canonical form (what [`Extension::parse`] produces, and what round-trips):
/// `other` holds upper-case names that are valid limit names (RFC 9422 §4:
/// `1*(ALPHA / DIGIT / "-" / "_")`), are not `MAILMAX`, `RCPTMAX` or
/// `RCPTDOMAINMAX` and are not repeated; values are 1 or more of `%x21-3A /
/// %x3C-7E`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServerLimits {
    /// MAILMAX: most transactions (MAIL commands) per session (RFC 9422 §5.1).
    pub mail_max: Option<u32>,
    /// RCPTMAX: most RCPT commands per transaction (RFC 9422 §5.2).
    pub rcpt_max: Option<u32>,
    /// RCPTDOMAINMAX: most distinct recipient domains per transaction
    /// (RFC 9422 §5.3).
    pub rcpt_domain_max: Option<u32>,
    /// Other limits, upper-cased name and optional value, in order
    /// (RFC 9422 §4: `limit-name ["=" limit-value]`).
    pub other: Vec<(String, Option<String>)>,
}

/// One service extension advertised in an EHLO reply (RFC 5321 §2.2.2, §4.1.1.1).
///
/// Known keywords get typed variants; any other syntactically valid keyword is
/// kept as [`Extension::Other`]. The values inside are always valid: parsing
/// drops what is not.
///
/// Canonical form (what [`Extension::parse`] produces, and what round-trips
/// through [`Display`](fmt::Display)): `Other` has an upper-case keyword
/// that is valid and not one of the known ones, and params that are valid
/// `ehlo-param`s; [`Extension::MtPriority`] holds an upper-case
/// `ehlo-keyword`-like profile; interval and time values fit their 9 digits;
/// `max_datetime` is an RFC 3339 `date-time`; [`ServerLimits`] is canonical;
/// and the displayed line fits a reply line (about 500 octets).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Extension {
    /// PIPELINING (RFC 2920).
    Pipelining,
    /// 8BITMIME (RFC 6152).
    EightBitMime,
    /// ENHANCEDSTATUSCODES (RFC 2034).
    EnhancedStatusCodes,
    /// CHUNKING: the BDAT command (RFC 3030).
    Chunking,
    /// BINARYMIME (RFC 3030).
    BinaryMime,
    /// SMTPUTF8 (RFC 6531).
    SmtpUtf8,
    /// DSN (RFC 3461).
    Dsn,
    /// STARTTLS (RFC 3207).
    StartTls,
    /// AUTH with the SASL mechanisms offered, in order, without duplicates
    /// (RFC 4954 §3). The pre-standard `AUTH=mech …` line is read as AUTH too.
    Auth(Vec<Mechanism<'static>>),
    /// SIZE, with the fixed maximum message size if given (RFC 1870 §4:
    /// `"SIZE" [SP 1*DIGIT]`). `Some(0)` means no fixed limit, like `None`.
    Size(Option<u64>),
    /// REQUIRETLS (RFC 8689).
    RequireTls,
    /// LIMITS (RFC 9422).
    Limits(ServerLimits),
    /// MT-PRIORITY with its optional priority assignment policy, upper-cased,
    /// e.g. `MIXER` (RFC 6710 §3).
    MtPriority(Option<String>),
    /// FUTURERELEASE (RFC 4865 §3).
    FutureRelease {
        /// Longest hold interval accepted, in seconds (`1*9DIGIT`).
        max_interval: u32,
        /// Latest release time accepted: an RFC 3339 `date-time`, as sent.
        max_datetime: String,
    },
    /// DELIVERBY with the optional minimum by-time in seconds (RFC 2852 §4:
    /// `1*9DIGIT`).
    DeliverBy(Option<u32>),
    /// Any other extension: the keyword (upper-cased) and its parameters
    /// (RFC 5321 §4.1.1.1), e.g. VRFY, ETRN or XCLIENT.
    Other {
        /// The ehlo-keyword, upper-case.
        keyword: String,
        /// The ehlo-params, as sent.
        params: Vec<String>,
    },
}

/// ehlo-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-") (RFC 5321 §4.1.1.1).
fn is_keyword(s: &str) -> bool {
    let b = s.as_bytes();
    matches!(b.first(), Some(c) if c.is_ascii_alphanumeric())
        && b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'-')
}

/// ehlo-param = 1*(%d33-126) (RFC 5321 §4.1.1.1).
fn is_param(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|c| (33..=126).contains(&c))
}

/// 1 to `max_digits` ASCII digits, as a number that fits in `u64`.
fn digits(s: &str, max_digits: usize) -> Option<u64> {
    if s.is_empty() || s.len() > max_digits || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.bytes().try_fold(0u64, |acc, c| {
        acc.checked_mul(10)?.checked_add(u64::from(c - b'0'))
    })
}

/// 1*9DIGIT (RFC 4865 §3, RFC 2852 §4); always fits in `u32`.
fn nine_digits(s: &str) -> Option<u32> {
    digits(s, 9).and_then(|n| u32::try_from(n).ok())
}

/// Two ASCII digits at `b[i..i + 2]`, within `min..=max`.
fn two_digits(b: &[u8], i: usize, min: u8, max: u8) -> bool {
    match b.get(i..i + 2) {
        Some(&[x, y]) if x.is_ascii_digit() && y.is_ascii_digit() => {
            let n = (x - b'0') * 10 + (y - b'0');
            (min..=max).contains(&n)
        }
        _ => false,
    }
}

/// RFC 3339 §5.6 `date-time`:
/// `YYYY-MM-DD "T" hh:mm:ss [ "." 1*DIGIT ] ( "Z" / ("+" / "-") hh:mm )`,
/// with `T` and `Z` in either case.
fn is_rfc3339_date_time(s: &str) -> bool {
    let b = s.as_bytes();
    let fixed = b.len() >= 20
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && two_digits(b, 5, 1, 12)
        && b[7] == b'-'
        && two_digits(b, 8, 1, 31)
        && matches!(b[10], b'T' | b't')
        && two_digits(b, 11, 0, 23)
        && b[13] == b':'
        && two_digits(b, 14, 0, 59)
        && b[16] == b':'
        && two_digits(b, 17, 0, 60);
    if !fixed {
        return false;
    }
    let mut rest = &b[19..];
    if let Some(frac) = rest.strip_prefix(b".") {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return false;
        }
        rest = &frac[n..];
    }
    match rest {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', _, _, b':', _, _] => two_digits(rest, 1, 0, 23) && two_digits(rest, 4, 0, 59),
        _ => false,
    }
}

/// limit-name = 1*(ALPHA / DIGIT / "-" / "_") (RFC 9422 §4).
fn is_limit_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
}

/// limit-value = 1*(%x21-3A / %x3C-7E) (RFC 9422 §4).
fn is_limit_value(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|c| (0x21..=0x7e).contains(&c) && c != b';')
}

impl ServerLimits {
    /// Whether no limit at all is set.
    pub fn is_empty(&self) -> bool {
        self.mail_max.is_none()
            && self.rcpt_max.is_none()
            && self.rcpt_domain_max.is_none()
            && self.other.is_empty()
    }

    /// Parses the LIMITS parameters (RFC 9422 §4). Entries with a bad name or
    /// value, and repeats of a name already seen, are ignored.
    fn parse<'a>(params: impl Iterator<Item = &'a str>) -> ServerLimits {
        let mut limits = ServerLimits::default();
        let mut seen: Vec<String> = Vec::new();
        for param in params {
            let (name, value) = match param.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (param, None),
            };
            if !is_limit_name(name) || value.is_some_and(|v| !is_limit_value(v)) {
                continue;
            }
            let name = name.to_ascii_uppercase();
            if seen.contains(&name) {
                continue;
            }
            // RFC 9422 §5: the registered limits take a number.
            let number = value
                .and_then(|v| digits(v, 10))
                .and_then(|n| u32::try_from(n).ok());
            let slot = match name.as_str() {
                "MAILMAX" => Some(&mut limits.mail_max),
                "RCPTMAX" => Some(&mut limits.rcpt_max),
                "RCPTDOMAINMAX" => Some(&mut limits.rcpt_domain_max),
                _ => None,
            };
            match slot {
                Some(slot) => {
                    let Some(n) = number else { continue };
                    *slot = Some(n);
                }
                None => limits.other.push((name.clone(), value.map(String::from))),
            }
            seen.push(name);
        }
        limits
    }
}

impl fmt::Display for ServerLimits {
    /// The LIMITS parameters: `MAILMAX=n RCPTMAX=n RCPTDOMAINMAX=n`, then the
    /// others in order, separated by SP (RFC 9422 §4).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        let mut sep = |f: &mut fmt::Formatter<'_>| {
            let s = if first { "" } else { " " };
            first = false;
            f.write_str(s)
        };
        for (name, value) in [
            ("MAILMAX", self.mail_max),
            ("RCPTMAX", self.rcpt_max),
            ("RCPTDOMAINMAX", self.rcpt_domain_max),
        ] {
            if let Some(v) = value {
                sep(f)?;
                write!(f, "{name}={v}")?;
            }
        }
        for (name, value) in &self.other {
            sep(f)?;
            f.write_str(name)?;
            if let Some(v) = value {
                write!(f, "={v}")?;
            }
        }
        Ok(())
    }
}

impl Extension {
    /// Parses one `ehlo-line` (RFC 5321 §4.1.1.1); `None` if it is malformed.
    ///
    /// Keywords are case-insensitive. Parameters are separated by one or more
    /// spaces. A known keyword with parameters its RFC does not allow is
    /// malformed (`SIZE abc`, `SIZE 1 2`, `FUTURERELEASE 10`), except that
    /// parameters after a keyword that takes none (`PIPELINING x`) are
    /// ignored. Invalid SASL mechanism names are dropped from AUTH, and invalid
    /// entries from LIMITS. `AUTH=mech …` is read as AUTH.
    ///
    /// ```
    /// use smtp_proto::ext::Extension;
    /// use smtp_proto::wire::sasl::Mechanism;
    /// assert_eq!(Extension::parse("size 1000"), Some(Extension::Size(Some(1000))));
    /// assert_eq!(Extension::parse("SIZE abc"), None);
    /// assert_eq!(Extension::parse("AUTH=LOGIN PLAIN"), Some(Extension::Auth(vec![Mechanism::Login, Mechanism::Plain])));
    /// assert_eq!(Extension::parse("-BAD"), None);
    /// ```
    pub fn parse(line: &str) -> Option<Extension> {
        let mut words = line.split(' ').filter(|w| !w.is_empty());
        let first = words.next()?;
        let (keyword, auth_first) = match first.as_bytes().get(..5) {
            Some(prefix) if prefix.eq_ignore_ascii_case(b"AUTH=") => {
                ("AUTH", first.get(5..).filter(|m| !m.is_empty()))
            }
            _ => (first, None),
        };
        if !is_keyword(keyword) {
            return None;
        }
        let params: Vec<&str> = auth_first.into_iter().chain(words).collect();
        if !params.iter().all(|p| is_param(p)) {
            return None;
        }
        let upper = keyword.to_ascii_uppercase();
        let ext = match upper.as_str() {
            "PIPELINING" => Extension::Pipelining,
            "8BITMIME" => Extension::EightBitMime,
            "ENHANCEDSTATUSCODES" => Extension::EnhancedStatusCodes,
            "CHUNKING" => Extension::Chunking,
            "BINARYMIME" => Extension::BinaryMime,
            "SMTPUTF8" => Extension::SmtpUtf8,
            "DSN" => Extension::Dsn,
            "STARTTLS" => Extension::StartTls,
            "REQUIRETLS" => Extension::RequireTls,
            "AUTH" => {
                let mut mechs: Vec<Mechanism<'static>> = Vec::new();
                for m in params.iter().filter_map(|p| Mechanism::parse(p)) {
                    let m = m.into_owned();
                    if !mechs.contains(&m) {
                        mechs.push(m);
                    }
                }
                Extension::Auth(mechs)
            }
            "SIZE" => match params.as_slice() {
                [] => Extension::Size(None),
                [n] => Extension::Size(Some(digits(n, 20)?)),
                _ => return None,
            },
            "LIMITS" => Extension::Limits(ServerLimits::parse(params.iter().copied())),
            "MT-PRIORITY" => match params.as_slice() {
                [] => Extension::MtPriority(None),
                [p] if is_keyword(p) => Extension::MtPriority(Some(p.to_ascii_uppercase())),
                _ => return None,
            },
            "FUTURERELEASE" => match params.as_slice() {
                [interval, datetime] if is_rfc3339_date_time(datetime) => {
                    Extension::FutureRelease {
                        max_interval: nine_digits(interval)?,
                        max_datetime: (*datetime).to_string(),
                    }
                }
                _ => return None,
            },
            "DELIVERBY" => match params.as_slice() {
                [] => Extension::DeliverBy(None),
                [t] => Extension::DeliverBy(Some(nine_digits(t)?)),
                _ => return None,
            },
            _ => Extension::Other {
                keyword: upper,
                params: params.into_iter().map(String::from).collect(),
            },
        };
        Some(ext)
    }

    /// The ehlo-keyword, upper-case (RFC 5321 §4.1.1.1).
    pub fn keyword(&self) -> &str {
        match self {
            Extension::Pipelining => "PIPELINING",
            Extension::EightBitMime => "8BITMIME",
            Extension::EnhancedStatusCodes => "ENHANCEDSTATUSCODES",
            Extension::Chunking => "CHUNKING",
            Extension::BinaryMime => "BINARYMIME",
            Extension::SmtpUtf8 => "SMTPUTF8",
            Extension::Dsn => "DSN",
            Extension::StartTls => "STARTTLS",
            Extension::Auth(_) => "AUTH",
            Extension::Size(_) => "SIZE",
            Extension::RequireTls => "REQUIRETLS",
            Extension::Limits(_) => "LIMITS",
            Extension::MtPriority(_) => "MT-PRIORITY",
            Extension::FutureRelease { .. } => "FUTURERELEASE",
            Extension::DeliverBy(_) => "DELIVERBY",
            Extension::Other { keyword, .. } => keyword,
        }
    }
}

impl fmt::Display for Extension {
    /// The ehlo-line: keyword and parameters separated by SP (RFC 5321 §4.1.1.1).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.keyword())?;
        match self {
            Extension::Auth(mechs) => {
                for m in mechs {
                    write!(f, " {m}")?;
                }
            }
            Extension::Size(Some(n)) => write!(f, " {n}")?,
            Extension::Limits(limits) if !limits.is_empty() => write!(f, " {limits}")?,
            Extension::MtPriority(Some(p)) => write!(f, " {p}")?,
            Extension::FutureRelease {
                max_interval,
                max_datetime,
            } => write!(f, " {max_interval} {max_datetime}")?,
            Extension::DeliverBy(Some(t)) => write!(f, " {t}")?,
            Extension::Other { params, .. } => {
                for p in params {
                    write!(f, " {p}")?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// What a server said it supports in its EHLO reply (RFC 5321 §4.1.1.1).
///
/// Canonical form (what [`Capabilities::from_ehlo_reply`] produces, and what
/// round-trips through [`Capabilities::to_reply`]): `domain` holds no SP and
/// `greeting` no line end, both hold only reply text characters (RFC 5321 §4.2
/// `textstring`, or UTF-8), the first line and every extension line fit a
/// reply line (about 500 octets), extensions are canonical and no keyword
/// appears twice.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Capabilities {
    /// The domain (or address literal) the server names itself by, from the
    /// first line (RFC 5321 §4.1.1.1 `Domain`). Not validated.
    pub domain: String,
    /// The rest of the first line after the domain and one SP (`ehlo-greet`);
    /// may be empty.
    pub greeting: String,
    /// The extensions, in the order advertised.
    pub extensions: Vec<Extension>,
    /// Extension lines of the reply that could not be understood (malformed
    /// keywords or parameters, control characters, shown as `?`), in order.
    /// They are ignored; kept here so an application can report them. Not
    /// written by [`Capabilities::to_reply`].
    pub ignored: Vec<String>,
}

impl Capabilities {
    /// Capabilities with no greeting and no extensions.
    pub fn new(domain: impl Into<String>) -> Capabilities {
        Capabilities {
            domain: domain.into(),
            greeting: String::new(),
            extensions: Vec::new(),
            ignored: Vec::new(),
        }
    }

    /// Reads an EHLO reply (RFC 5321 §4.1.1.1). `None` unless the code is 250.
    ///
    /// The first line is `Domain [SP ehlo-greet]`: everything up to the first SP
    /// is the domain, the rest the greeting. Every further line is parsed with
    /// [`Extension::parse`]; malformed lines are ignored (and listed in
    /// [`Capabilities::ignored`]), and when a keyword appears twice, the first
    /// one wins. Never fails otherwise.
    ///
    /// A server that (against RFC 2034 §4) prefixes its EHLO lines with an
    /// enhanced status code is understood: [`parse_reply`](crate::reply::parse_reply)
    /// has already removed the prefix.
    pub fn from_ehlo_reply(reply: &Reply) -> Option<Capabilities> {
        if reply.code() != ReplyCode::OK {
            return None;
        }
        let mut rest = reply.lines();
        let first = rest.next()?;
        let (domain, greeting) = first.split_once(' ').unwrap_or((first, ""));
        let mut caps = Capabilities {
            domain: domain.to_string(),
            greeting: greeting.to_string(),
            extensions: Vec::new(),
            ignored: Vec::new(),
        };
        for line in rest {
            match Extension::parse(line) {
                Some(ext) => {
                    caps.push(ext);
                }
                None => caps.ignored.push(line.to_string()),
            }
        }
        Some(caps)
    }

    /// The EHLO reply (RFC 5321 §4.1.1.1): 250, the first line `domain
    /// [SP greeting]`, then one line per extension, in order. No enhanced code
    /// (RFC 2034 §4 exempts EHLO replies), except in the odd case of a domain
    /// spelled like one (`2.15.0`): then every line carries `2.0.0`, so that a
    /// reader strips that prefix and still finds the domain.
    pub fn to_reply(&self) -> Reply {
        let mut lines = Vec::with_capacity(self.extensions.len() + 1);
        let mut first = self.domain.clone();
        if !self.greeting.is_empty() {
            first.push(' ');
            first.push_str(&self.greeting);
        }
        // A domain spelled like an enhanced code ("2.15.0") would be read as one
        // (RFC 2034 §4); prefixing every line with a code keeps the domain intact.
        // The shortest code, 2.0.0, leaves each line the most room: a reply read
        // from the wire had some prefix of at least that length on its first line,
        // so that line still fits and the capabilities round-trip.
        let enhanced = EnhancedCode::parse(&first)
            .filter(|(e, rest)| e.class() == 2 && (rest.is_empty() || rest.starts_with(' ')))
            .map(|_| EnhancedCode::OK);
        lines.push(first);
        lines.extend(self.extensions.iter().map(Extension::to_string));
        Reply::from_lines(ReplyCode::OK, enhanced, lines)
    }

    /// Adds `ext` unless an extension with the same keyword is already there
    /// (then returns `false`).
    pub fn push(&mut self, ext: Extension) -> bool {
        if self.has(ext.keyword()) {
            return false;
        }
        self.extensions.push(ext);
        true
    }

    /// The extension with this keyword (case-insensitive), if advertised.
    pub fn get(&self, keyword: &str) -> Option<&Extension> {
        self.extensions
            .iter()
            .find(|e| e.keyword().eq_ignore_ascii_case(keyword))
    }

    /// Whether the extension with this keyword (case-insensitive) is advertised.
    pub fn has(&self, keyword: &str) -> bool {
        self.get(keyword).is_some()
    }

    fn has_ext(&self, ext: &Extension) -> bool {
        self.extensions.contains(ext)
    }

    /// PIPELINING (RFC 2920).
    pub fn pipelining(&self) -> bool {
        self.has_ext(&Extension::Pipelining)
    }

    /// 8BITMIME (RFC 6152).
    pub fn eight_bit_mime(&self) -> bool {
        self.has_ext(&Extension::EightBitMime)
    }

    /// ENHANCEDSTATUSCODES (RFC 2034).
    pub fn enhanced_status_codes(&self) -> bool {
        self.has_ext(&Extension::EnhancedStatusCodes)
    }

    /// CHUNKING (RFC 3030).
    pub fn chunking(&self) -> bool {
        self.has_ext(&Extension::Chunking)
    }

    /// BINARYMIME (RFC 3030).
    pub fn binary_mime(&self) -> bool {
        self.has_ext(&Extension::BinaryMime)
    }

    /// SMTPUTF8 (RFC 6531).
    pub fn smtputf8(&self) -> bool {
        self.has_ext(&Extension::SmtpUtf8)
    }

    /// DSN (RFC 3461).
    pub fn dsn(&self) -> bool {
        self.has_ext(&Extension::Dsn)
    }

    /// STARTTLS (RFC 3207).
    pub fn starttls(&self) -> bool {
        self.has_ext(&Extension::StartTls)
    }

    /// REQUIRETLS (RFC 8689).
    pub fn requiretls(&self) -> bool {
        self.has_ext(&Extension::RequireTls)
    }

    /// Whether SIZE is advertised, so that MAIL may carry `SIZE=` (RFC 1870 §5).
    pub fn supports_size(&self) -> bool {
        self.has("SIZE")
    }

    /// The fixed maximum message size (RFC 1870 §4): `None` when SIZE is not
    /// advertised, has no number, or is `SIZE 0` ("no fixed maximum").
    pub fn max_message_size(&self) -> Option<u64> {
        match self.get("SIZE") {
            Some(Extension::Size(Some(n))) if *n > 0 => Some(*n),
            _ => None,
        }
    }

    /// The SASL mechanisms offered with AUTH (RFC 4954 §3); empty without AUTH.
    pub fn auth_mechanisms(&self) -> &[Mechanism<'static>] {
        match self.get("AUTH") {
            Some(Extension::Auth(mechs)) => mechs,
            _ => &[],
        }
    }

    /// Whether AUTH offers `mechanism` (RFC 4954 §3).
    pub fn supports_auth(&self, mechanism: &Mechanism<'_>) -> bool {
        self.auth_mechanisms()
            .iter()
            .any(|m| m.as_str() == mechanism.as_str())
    }

    /// The LIMITS the server announced (RFC 9422).
    pub fn limits(&self) -> Option<&ServerLimits> {
        match self.get("LIMITS") {
            Some(Extension::Limits(l)) => Some(l),
            _ => None,
        }
    }

    /// MT-PRIORITY (RFC 6710 §3): `None` if not advertised, else the policy name
    /// if one was given.
    pub fn mt_priority(&self) -> Option<Option<&str>> {
        match self.get("MT-PRIORITY") {
            Some(Extension::MtPriority(p)) => Some(p.as_deref()),
            _ => None,
        }
    }

    /// FUTURERELEASE (RFC 4865 §3): the longest interval in seconds and the
    /// latest date-time.
    pub fn future_release(&self) -> Option<(u32, &str)> {
        match self.get("FUTURERELEASE") {
            Some(Extension::FutureRelease {
                max_interval,
                max_datetime,
            }) => Some((*max_interval, max_datetime)),
            _ => None,
        }
    }

    /// DELIVERBY (RFC 2852 §4): `None` if not advertised, else the minimum
    /// by-time in seconds if one was given.
    pub fn deliver_by(&self) -> Option<Option<u32>> {
        match self.get("DELIVERBY") {
            Some(Extension::DeliverBy(t)) => Some(*t),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
