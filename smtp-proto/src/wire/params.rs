//! MAIL and RCPT parameters: RFC 5321 §4.1.2 `Mail-parameters` and
//! `Rcpt-parameters`, and the extensions that define them.
//!
//! ```text
//! Mail-parameters = esmtp-param *(SP esmtp-param)
//! Rcpt-parameters = esmtp-param *(SP esmtp-param)
//! esmtp-param     = esmtp-keyword ["=" esmtp-value]
//! esmtp-keyword   = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
//! esmtp-value     = 1*(%d33-60 / %d62-126)
//!                 ; any CHAR excluding "=", SP, and control characters;
//!                 ; RFC 6531 §3.3 adds UTF8-non-ascii under SMTPUTF8
//! ```
//!
//! The parsers take the text that follows the path's closing `>`: either nothing
//! or one or more `SP esmtp-param`. They are strict: parameters are separated by
//! exactly one space, and a trailing space is a syntax error. Keywords are
//! case-insensitive; a parameter may appear at most once.
//!
//! Known parameters are decoded into typed fields. Parameters this module does not
//! know, and known ones given on the wrong command (NOTIFY on MAIL, SIZE on RCPT),
//! are kept verbatim in `other`, in order, for the server to judge.
//!
//! [`MailParameters`] and [`RcptParameters`] display as their canonical wire
//! form, each parameter preceded by a space, so
//! `format!("MAIL FROM:{path}{params}")` is a complete command (without CRLF).
//!
//! ```
//! use smtp_proto::wire::params::{parse_mail_parameters, Body, ParamOptions};
//!
//! let params = parse_mail_parameters(" SIZE=1024 body=8bitmime ENVID=QQ+2B1", &ParamOptions::default())?;
//! assert_eq!(params.size, Some(1024));
//! assert_eq!(params.body, Some(Body::EightBitMime));
//! assert_eq!(params.envid.as_deref(), Some("QQ+1"));
//! assert_eq!(params.to_string(), " SIZE=1024 BODY=8BITMIME ENVID=QQ+2B1");
//! # Ok::<(), smtp_proto::wire::params::ParamError>(())
//! ```

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;
use core::cmp::Ordering;
use core::fmt;

use super::xtext;
use super::{SplitByte, split_byte, split_once_byte, swar};

/// Longest ENVID, in octets after xtext decoding (RFC 3461 §4.4: "no longer than
/// 100 characters").
pub const ENVID_MAX: usize = 100;

/// Options for [`parse_mail_parameters`] and [`parse_rcpt_parameters`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ParamOptions {
    /// Accept UTF-8 (non-ASCII) characters in parameter values. RFC 6531 §3.3
    /// allows them only when the transaction uses SMTPUTF8. On MAIL, a `SMTPUTF8`
    /// parameter in the same list also enables them.
    pub allow_utf8: bool,
}

/// Why a parameter list was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParamError {
    /// The list does not match the RFC 5321 §4.1.2 grammar: missing or doubled
    /// space, bad keyword, empty value, or a forbidden character (control
    /// character, NUL, DEL, `=`) in a value.
    #[error("syntax error in MAIL/RCPT parameters")]
    Syntax,
    /// A parameter appeared twice (keywords compared case-insensitively). Carries
    /// the keyword in upper case.
    #[error("duplicate parameter {0}")]
    DuplicateParameter(String),
    /// A known parameter's value does not match its grammar.
    #[error("invalid value for parameter {keyword}")]
    InvalidValue {
        /// The parameter's keyword.
        keyword: &'static str,
    },
    /// A SIZE value that does not fit in 64 bits (RFC 1870 §3).
    #[error("SIZE value too large")]
    SizeOverflow,
    /// A known parameter that needs a value was given without one.
    #[error("parameter {keyword} requires a value")]
    MissingValue {
        /// The parameter's keyword.
        keyword: &'static str,
    },
    /// A known parameter that takes no value was given one.
    #[error("parameter {keyword} does not take a value")]
    UnexpectedValue {
        /// The parameter's keyword.
        keyword: &'static str,
    },
    /// A non-ASCII character in a value while SMTPUTF8 is not in use (RFC 6531 §3.3).
    #[error("non-ASCII parameter value without SMTPUTF8")]
    Utf8NotAllowed,
    /// A value longer than its parameter allows (ENVID: RFC 3461 §4.4).
    #[error("value of parameter {keyword} longer than {max} octets")]
    ValueTooLong {
        /// The parameter's keyword.
        keyword: &'static str,
        /// The limit, in octets.
        max: usize,
    },
    /// Two parameters that exclude each other (HOLDFOR and HOLDUNTIL, RFC 4865 §5.1).
    #[error("parameters {first} and {second} cannot be used together")]
    Conflict {
        /// The keyword seen first.
        first: &'static str,
        /// The keyword seen second.
        second: &'static str,
    },
}

/// The BODY parameter of MAIL: RFC 6152 §2 (7BIT, 8BITMIME) and RFC 3030 §3
/// (BINARYMIME). The value is case-insensitive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Body {
    /// `BODY=7BIT`.
    SevenBit,
    /// `BODY=8BITMIME` (RFC 6152 §2).
    EightBitMime,
    /// `BODY=BINARYMIME` (RFC 3030 §3).
    BinaryMime,
}

impl Body {
    /// The canonical (upper-case) value.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Body::SevenBit => "7BIT",
            Body::EightBitMime => "8BITMIME",
            Body::BinaryMime => "BINARYMIME",
        }
    }
}

impl fmt::Display for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The RET parameter of MAIL (RFC 3461 §4.3): how much of the message a DSN returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ret {
    /// `RET=FULL`: the whole message.
    Full,
    /// `RET=HDRS`: the headers only.
    Headers,
}

impl Ret {
    /// The canonical (upper-case) value.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Ret::Full => "FULL",
            Ret::Headers => "HDRS",
        }
    }
}

impl fmt::Display for Ret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The NOTIFY parameter of RCPT (RFC 3461 §4.1): `NEVER`, or a comma-separated
/// list of `SUCCESS`, `FAILURE` and `DELAY`. All flags false means `NEVER`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Notify {
    /// Notify on successful delivery.
    pub success: bool,
    /// Notify on failure.
    pub failure: bool,
    /// Notify on delay.
    pub delay: bool,
}

impl Notify {
    /// `NOTIFY=NEVER`.
    pub const NEVER: Notify = Notify {
        success: false,
        failure: false,
        delay: false,
    };

    /// Whether this is `NEVER` (no flag set).
    #[must_use]
    pub fn is_never(&self) -> bool {
        !(self.success || self.failure || self.delay)
    }
}

impl fmt::Display for Notify {
    /// The canonical value: `NEVER`, or the set flags in the order
    /// SUCCESS, FAILURE, DELAY separated by commas.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_never() {
            return f.write_str("NEVER");
        }
        let mut sep = "";
        for (set, name) in [
            (self.success, "SUCCESS"),
            (self.failure, "FAILURE"),
            (self.delay, "DELAY"),
        ] {
            if set {
                f.write_str(sep)?;
                f.write_str(name)?;
                sep = ",";
            }
        }
        Ok(())
    }
}

/// The ORCPT parameter of RCPT (RFC 3461 §4.2): `addr-type ";" xtext`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OriginalRecipient<'a> {
    /// The address type, an atom such as `rfc822` or `utf-8`, as given (not case-folded).
    pub addr_type: Cow<'a, str>,
    /// The original recipient address, xtext-decoded.
    pub address: Cow<'a, str>,
}

impl OriginalRecipient<'_> {
    /// Converts into a value that owns its data.
    #[must_use]
    pub fn into_owned(self) -> OriginalRecipient<'static> {
        OriginalRecipient {
            addr_type: own(self.addr_type),
            address: own(self.address),
        }
    }
}

/// The AUTH parameter of MAIL (RFC 4954 §5).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AuthParam<'a> {
    /// `AUTH=<>`: the submitter is unknown or not trusted.
    Unknown,
    /// `AUTH=mailbox`: the authenticated submitter, xtext-decoded.
    Mailbox(Cow<'a, str>),
}

impl AuthParam<'_> {
    /// Converts into a value that owns its data.
    #[must_use]
    pub fn into_owned(self) -> AuthParam<'static> {
        match self {
            AuthParam::Unknown => AuthParam::Unknown,
            AuthParam::Mailbox(m) => AuthParam::Mailbox(own(m)),
        }
    }
}

/// What happens when a Deliver By deadline passes (RFC 2852 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ByMode {
    /// `N`: send a delay DSN and keep trying.
    Notify,
    /// `R`: return the message as undeliverable.
    Return,
}

/// The BY parameter of MAIL (RFC 2852 §4): `by-time ";" by-mode ["T"]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct By {
    /// Seconds until the deadline: `["-" / "+"] 1*9DIGIT`, so within
    /// ±999 999 999. With [`ByMode::Return`] it must be positive.
    pub time: i32,
    /// What to do when the deadline passes.
    pub mode: ByMode,
    /// Whether trace (`T`) was requested.
    pub trace: bool,
}

impl fmt::Display for By {
    /// The canonical value, e.g. `120;R` or `-10;NT`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = match self.mode {
            ByMode::Notify => "N",
            ByMode::Return => "R",
        };
        let trace = if self.trace { "T" } else { "" };
        write!(f, "{};{mode}{trace}", self.time)
    }
}

/// The FUTURERELEASE parameters of MAIL (RFC 4865 §5.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Hold<'a> {
    /// `HOLDFOR=1*9DIGIT`: hold for this many seconds.
    For(u32),
    /// `HOLDUNTIL=date-time`: hold until this RFC 3339 §5.6 timestamp, stored as given
    /// (syntax and field ranges are checked).
    Until(Cow<'a, str>),
}

impl Hold<'_> {
    /// Converts into a value that owns its data.
    #[must_use]
    pub fn into_owned(self) -> Hold<'static> {
        match self {
            Hold::For(s) => Hold::For(s),
            Hold::Until(t) => Hold::Until(own(t)),
        }
    }
}

/// A parameter this module does not interpret, preserved as given
/// (RFC 5321 §4.1.2 `esmtp-param`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Parameter<'a> {
    /// The keyword, as given (case preserved).
    pub keyword: Cow<'a, str>,
    /// The value after `=`, if any, as given (not decoded).
    pub value: Option<Cow<'a, str>>,
}

impl Parameter<'_> {
    /// Converts into a value that owns its data.
    #[must_use]
    pub fn into_owned(self) -> Parameter<'static> {
        Parameter {
            keyword: own(self.keyword),
            value: self.value.map(own),
        }
    }
}

impl fmt::Display for Parameter<'_> {
    /// `KEYWORD` or `KEYWORD=value`, without a leading space.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.keyword)?;
        if let Some(v) = &self.value {
            write!(f, "={v}")?;
        }
        Ok(())
    }
}

/// The parameters of a MAIL command (RFC 5321 §4.1.2 `Mail-parameters`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MailParameters<'a> {
    /// `SIZE=1*20DIGIT`: declared message size in octets (RFC 1870 §3).
    pub size: Option<u64>,
    /// `BODY=`: body type (RFC 6152 §2, RFC 3030 §3).
    pub body: Option<Body>,
    /// `SMTPUTF8`, no value (RFC 6531 §3.4).
    pub smtputf8: bool,
    /// `RET=FULL|HDRS` (RFC 3461 §4.3).
    pub ret: Option<Ret>,
    /// `ENVID=xtext`: envelope identifier (RFC 3461 §4.4), xtext-decoded, at most
    /// [`ENVID_MAX`] octets.
    pub envid: Option<Cow<'a, str>>,
    /// `AUTH=`: the authenticated submitter (RFC 4954 §5).
    pub auth: Option<AuthParam<'a>>,
    /// `REQUIRETLS`, no value (RFC 8689 §4.1).
    pub requiretls: bool,
    /// `MT-PRIORITY=["+"/"-"]DIGIT`: priority -9..=9 (RFC 6710 §3).
    pub mt_priority: Option<i8>,
    /// `HOLDFOR=` or `HOLDUNTIL=` (RFC 4865 §5.1).
    pub hold: Option<Hold<'a>>,
    /// `BY=`: Deliver By (RFC 2852 §4).
    pub by: Option<By>,
    /// Every other parameter, in the order given.
    pub other: Vec<Parameter<'a>>,
}

impl MailParameters<'_> {
    /// A `'static` copy, made straight from borrowed parameters (the
    /// server's events own theirs): [`into_owned`](Self::into_owned) of a
    /// `clone` without copying the whole value twice.
    pub(crate) fn to_static(&self) -> MailParameters<'static> {
        MailParameters {
            size: self.size,
            body: self.body,
            smtputf8: self.smtputf8,
            ret: self.ret,
            envid: self.envid.clone().map(own),
            auth: self.auth.clone().map(AuthParam::into_owned),
            requiretls: self.requiretls,
            mt_priority: self.mt_priority,
            hold: self.hold.clone().map(Hold::into_owned),
            by: self.by,
            other: owned_copies(&self.other),
        }
    }

    /// Converts into a value that owns its data.
    #[must_use]
    pub fn into_owned(self) -> MailParameters<'static> {
        MailParameters {
            size: self.size,
            body: self.body,
            smtputf8: self.smtputf8,
            ret: self.ret,
            envid: self.envid.map(own),
            auth: self.auth.map(AuthParam::into_owned),
            requiretls: self.requiretls,
            mt_priority: self.mt_priority,
            hold: self.hold.map(Hold::into_owned),
            by: self.by,
            other: self.other.into_iter().map(Parameter::into_owned).collect(),
        }
    }

    /// Whether no parameter is set.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.size.is_none()
            && self.body.is_none()
            && !self.smtputf8
            && self.ret.is_none()
            && self.envid.is_none()
            && self.auth.is_none()
            && !self.requiretls
            && self.mt_priority.is_none()
            && self.hold.is_none()
            && self.by.is_none()
            && self.other.is_empty()
    }
}

impl fmt::Display for MailParameters<'_> {
    /// The canonical wire form: ` SIZE= BODY= SMTPUTF8 RET= ENVID= AUTH= REQUIRETLS
    /// MT-PRIORITY= HOLDFOR=|HOLDUNTIL= BY=`, those present, then `other` in
    /// order; each parameter preceded by one space. ENVID and AUTH are xtext-encoded.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(size) = self.size {
            write!(f, " SIZE={size}")?;
        }
        if let Some(body) = self.body {
            write!(f, " BODY={body}")?;
        }
        if self.smtputf8 {
            f.write_str(" SMTPUTF8")?;
        }
        if let Some(ret) = self.ret {
            write!(f, " RET={ret}")?;
        }
        if let Some(envid) = &self.envid {
            write!(f, " ENVID={}", xtext::encode(envid))?;
        }
        match &self.auth {
            None => {}
            Some(AuthParam::Unknown) => f.write_str(" AUTH=<>")?,
            Some(AuthParam::Mailbox(m)) => write!(f, " AUTH={}", xtext::encode(m))?,
        }
        if self.requiretls {
            f.write_str(" REQUIRETLS")?;
        }
        if let Some(p) = self.mt_priority {
            write!(f, " MT-PRIORITY={p}")?;
        }
        match &self.hold {
            None => {}
            Some(Hold::For(secs)) => write!(f, " HOLDFOR={secs}")?,
            Some(Hold::Until(t)) => write!(f, " HOLDUNTIL={t}")?,
        }
        if let Some(by) = &self.by {
            write!(f, " BY={by}")?;
        }
        for p in &self.other {
            write!(f, " {p}")?;
        }
        Ok(())
    }
}

/// The parameters of a RCPT command (RFC 5321 §4.1.2 `Rcpt-parameters`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RcptParameters<'a> {
    /// `NOTIFY=` (RFC 3461 §4.1).
    pub notify: Option<Notify>,
    /// `ORCPT=` (RFC 3461 §4.2).
    pub orcpt: Option<OriginalRecipient<'a>>,
    /// Every other parameter, in the order given.
    pub other: Vec<Parameter<'a>>,
}

impl RcptParameters<'_> {
    /// A `'static` copy, made straight from borrowed parameters (see
    /// [`MailParameters::to_static`]).
    pub(crate) fn to_static(&self) -> RcptParameters<'static> {
        RcptParameters {
            notify: self.notify,
            orcpt: self.orcpt.clone().map(OriginalRecipient::into_owned),
            other: owned_copies(&self.other),
        }
    }

    /// Converts into a value that owns its data.
    #[must_use]
    pub fn into_owned(self) -> RcptParameters<'static> {
        RcptParameters {
            notify: self.notify,
            orcpt: self.orcpt.map(OriginalRecipient::into_owned),
            other: self.other.into_iter().map(Parameter::into_owned).collect(),
        }
    }

    /// Whether no parameter is set.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.notify.is_none() && self.orcpt.is_none() && self.other.is_empty()
    }
}

impl fmt::Display for RcptParameters<'_> {
    /// The canonical wire form: ` NOTIFY= ORCPT=`, those present, then `other` in
    /// order; each parameter preceded by one space. The ORCPT address is
    /// xtext-encoded.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(n) = &self.notify {
            write!(f, " NOTIFY={n}")?;
        }
        if let Some(o) = &self.orcpt {
            write!(f, " ORCPT={};{}", o.addr_type, xtext::encode(&o.address))?;
        }
        for p in &self.other {
            write!(f, " {p}")?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------

const SIZE: &str = "SIZE";
const BODY: &str = "BODY";
const SMTPUTF8: &str = "SMTPUTF8";
const RET: &str = "RET";
const ENVID: &str = "ENVID";
const AUTH: &str = "AUTH";
const REQUIRETLS: &str = "REQUIRETLS";
const MT_PRIORITY: &str = "MT-PRIORITY";
const HOLDFOR: &str = "HOLDFOR";
const HOLDUNTIL: &str = "HOLDUNTIL";
const BY: &str = "BY";
const NOTIFY: &str = "NOTIFY";
const ORCPT: &str = "ORCPT";

fn own(c: Cow<'_, str>) -> Cow<'static, str> {
    Cow::Owned(c.into_owned())
}

/// `'static` copies of unknown parameters (the `to_static`s).
fn owned_copies(other: &[Parameter<'_>]) -> Vec<Parameter<'static>> {
    other.iter().cloned().map(Parameter::into_owned).collect()
}

/// A keyword one of the parameter parsers knows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Keyword {
    Size,
    Body,
    SmtpUtf8,
    Ret,
    EnvId,
    Auth,
    RequireTls,
    MtPriority,
    HoldFor,
    HoldUntil,
    By,
    Notify,
    Orcpt,
}

/// Recognises a known keyword, case-insensitively. The length picks the one
/// or two candidates, so each keyword costs at most two short compares.
#[inline]
fn lookup(keyword: &str) -> Option<Keyword> {
    let is = |name: &str| keyword.eq_ignore_ascii_case(name);
    let k = match keyword.len() {
        2 if is(BY) => Keyword::By,
        3 if is(RET) => Keyword::Ret,
        4 if is(SIZE) => Keyword::Size,
        4 if is(BODY) => Keyword::Body,
        4 if is(AUTH) => Keyword::Auth,
        5 if is(ENVID) => Keyword::EnvId,
        5 if is(ORCPT) => Keyword::Orcpt,
        6 if is(NOTIFY) => Keyword::Notify,
        7 if is(HOLDFOR) => Keyword::HoldFor,
        8 if is(SMTPUTF8) => Keyword::SmtpUtf8,
        9 if is(HOLDUNTIL) => Keyword::HoldUntil,
        10 if is(REQUIRETLS) => Keyword::RequireTls,
        11 if is(MT_PRIORITY) => Keyword::MtPriority,
        _ => return None,
    };
    Some(k)
}

/// RFC 5321 §4.1.2 `esmtp-keyword`.
fn is_keyword(s: &str) -> bool {
    let b = s.as_bytes();
    match b.split_first() {
        Some((first, rest)) => {
            first.is_ascii_alphanumeric()
                && rest.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'-')
        }
        None => false,
    }
}

/// RFC 5321 §4.1.2 `esmtp-value`, extended by RFC 6531 §3.3 with UTF-8.
#[inline]
pub(crate) fn check_value(v: &str, allow_utf8: bool) -> Result<(), ParamError> {
    if v.is_empty() {
        return Err(ParamError::Syntax);
    }
    // The usual value, eight bytes at a time; anything else byte by byte,
    // which also picks the error.
    if swar::none(v.as_bytes(), |w| swar::not_graphic(w) | swar::eq(w, b'=')) {
        return Ok(());
    }
    for b in v.bytes() {
        if b >= 0x80 {
            if !allow_utf8 {
                return Err(ParamError::Utf8NotAllowed);
            }
        } else if !(33..=126).contains(&b) || b == b'=' {
            return Err(ParamError::Syntax);
        }
    }
    Ok(())
}

/// Splits `input` (empty, or `1*(SP esmtp-param)`) into raw parameters. Empty
/// items (from a doubled or trailing space) are left for [`split_param`] to reject.
fn raw_params(input: &str) -> Result<SplitByte<'_>, ParamError> {
    if input.is_empty() {
        return Ok(SplitByte::empty(b' '));
    }
    let rest = input.strip_prefix(' ').ok_or(ParamError::Syntax)?;
    Ok(split_byte(rest, b' '))
}

/// Splits one raw `esmtp-param` into keyword and optional value, checking both.
#[inline(always)]
fn split_param(raw: &str, allow_utf8: bool) -> Result<(&str, Option<&str>), ParamError> {
    let (keyword, value) = match split_once_byte(raw, b'=') {
        Some((k, v)) => (k, Some(v)),
        None => (raw, None),
    };
    if !is_keyword(keyword) {
        return Err(ParamError::Syntax);
    }
    if let Some(v) = value {
        check_value(v, allow_utf8)?;
    }
    Ok((keyword, value))
}

fn require_value<'a>(keyword: &'static str, v: Option<&'a str>) -> Result<&'a str, ParamError> {
    v.ok_or(ParamError::MissingValue { keyword })
}

fn forbid_value(keyword: &'static str, v: Option<&str>) -> Result<(), ParamError> {
    match v {
        Some(_) => Err(ParamError::UnexpectedValue { keyword }),
        None => Ok(()),
    }
}

fn set_once<T>(slot: &mut Option<T>, keyword: &'static str, value: T) -> Result<(), ParamError> {
    if slot.is_some() {
        return Err(ParamError::DuplicateParameter(keyword.into()));
    }
    *slot = Some(value);
    Ok(())
}

fn set_flag(flag: &mut bool, keyword: &'static str) -> Result<(), ParamError> {
    if *flag {
        return Err(ParamError::DuplicateParameter(keyword.into()));
    }
    *flag = true;
    Ok(())
}

/// Parses `1*max_digits DIGIT` as a `u32` (`max_digits` ≤ 9, so no overflow; checked anyway).
fn parse_digits(s: &str, max_digits: usize, keyword: &'static str) -> Result<u32, ParamError> {
    let invalid = ParamError::InvalidValue { keyword };
    if s.is_empty() || s.len() > max_digits || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid);
    }
    s.bytes().try_fold(0u32, |n, b| {
        n.checked_mul(10)
            .and_then(|n| n.checked_add(u32::from(b - b'0')))
            .ok_or(ParamError::InvalidValue { keyword })
    })
}

/// RFC 1870 §3: `size-value = 1*20DIGIT`. Values beyond `u64::MAX` are
/// [`ParamError::SizeOverflow`]; more than 20 digits that still fit (leading
/// zeros) are invalid.
#[inline]
pub(crate) fn parse_size(v: &str) -> Result<u64, ParamError> {
    const INVALID: ParamError = ParamError::InvalidValue { keyword: SIZE };
    // Up to 19 digits cannot overflow: one pass, no overflow checks.
    if v.len() <= 19 {
        return v.bytes().try_fold(0u64, |n, b| match b {
            b'0'..=b'9' => Ok(n * 10 + u64::from(b - b'0')),
            _ => Err(INVALID),
        });
    }
    if !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(INVALID);
    }
    let n = v.bytes().try_fold(0u64, |n, b| {
        n.checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(b - b'0')))
            .ok_or(ParamError::SizeOverflow)
    })?;
    if v.len() > 20 {
        return Err(INVALID);
    }
    Ok(n)
}

#[inline]
pub(crate) fn parse_body(v: &str) -> Result<Body, ParamError> {
    [Body::SevenBit, Body::EightBitMime, Body::BinaryMime]
        .into_iter()
        .find(|b| b.as_str().eq_ignore_ascii_case(v))
        .ok_or(ParamError::InvalidValue { keyword: BODY })
}

fn parse_ret(v: &str) -> Result<Ret, ParamError> {
    [Ret::Full, Ret::Headers]
        .into_iter()
        .find(|r| r.as_str().eq_ignore_ascii_case(v))
        .ok_or(ParamError::InvalidValue { keyword: RET })
}

/// Decodes an xtext value (RFC 3461 §4). Decoded ASCII control characters are
/// refused: none of ENVID (printable US-ASCII, RFC 3461 §4.4), ORCPT addresses or
/// AUTH mailboxes may contain them, and they could smuggle CR LF into DSNs or
/// trace headers.
fn decode_xtext<'a>(
    v: &'a str,
    allow_utf8: bool,
    keyword: &'static str,
) -> Result<Cow<'a, str>, ParamError> {
    let decoded = if allow_utf8 {
        xtext::decode_utf8(v)
    } else {
        xtext::decode(v)
    }
    .map_err(|_| ParamError::InvalidValue { keyword })?;
    if decoded.bytes().any(|b| b.is_ascii_control()) {
        return Err(ParamError::InvalidValue { keyword });
    }
    Ok(decoded)
}

fn parse_envid(v: &str, allow_utf8: bool) -> Result<Cow<'_, str>, ParamError> {
    let envid = decode_xtext(v, allow_utf8, ENVID)?;
    if envid.len() > ENVID_MAX {
        return Err(ParamError::ValueTooLong {
            keyword: ENVID,
            max: ENVID_MAX,
        });
    }
    Ok(envid)
}

/// RFC 4954 §5: `AUTH=<>` or `AUTH=` xtext-encoded mailbox.
fn parse_auth(v: &str, allow_utf8: bool) -> Result<AuthParam<'_>, ParamError> {
    let decoded = decode_xtext(v, allow_utf8, AUTH)?;
    if decoded == "<>" {
        Ok(AuthParam::Unknown)
    } else {
        Ok(AuthParam::Mailbox(decoded))
    }
}

/// RFC 6710 §3: `priority-value = ["+" / "-"] DIGIT`.
fn parse_mt_priority(v: &str) -> Result<i8, ParamError> {
    let (negative, digit) = match v.as_bytes() {
        [b'-', d] => (true, *d),
        [b'+', d] => (false, *d),
        [d] => (false, *d),
        _ => {
            return Err(ParamError::InvalidValue {
                keyword: MT_PRIORITY,
            });
        }
    };
    if !digit.is_ascii_digit() {
        return Err(ParamError::InvalidValue {
            keyword: MT_PRIORITY,
        });
    }
    // A single digit always fits in i8.
    let n = i8::try_from(digit - b'0').map_err(|_| ParamError::InvalidValue {
        keyword: MT_PRIORITY,
    })?;
    Ok(if negative { -n } else { n })
}

/// RFC 2852 §4: `by-value = by-time ";" by-mode [by-trace]`,
/// `by-time = ["-" / "+"] 1*9DIGIT`, `by-mode = "N" / "R"`, `by-trace = "T"`,
/// case-insensitive; a by-time of zero or less is not allowed with mode R.
fn parse_by(v: &str) -> Result<By, ParamError> {
    let invalid = ParamError::InvalidValue { keyword: BY };
    let (time, mode) = split_once_byte(v, b';').ok_or(invalid.clone())?;
    let (negative, digits) = if let Some(d) = time.strip_prefix('-') {
        (true, d)
    } else {
        (false, time.strip_prefix('+').unwrap_or(time))
    };
    let magnitude = parse_digits(digits, 9, BY)?;
    let magnitude = i32::try_from(magnitude).map_err(|_| invalid.clone())?;
    let time = if negative { -magnitude } else { magnitude };
    let (mode, trace) = match mode.as_bytes() {
        [m] => (*m, false),
        [m, b'T' | b't'] => (*m, true),
        _ => return Err(invalid),
    };
    let mode = match mode {
        b'N' | b'n' => ByMode::Notify,
        b'R' | b'r' => ByMode::Return,
        _ => return Err(invalid),
    };
    if mode == ByMode::Return && time <= 0 {
        return Err(invalid);
    }
    Ok(By { time, mode, trace })
}

/// A cursor over ASCII bytes for the RFC 3339 check.
struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    /// Reads exactly `n` digits as a number (`n` ≤ 4, so no overflow).
    fn digits(&mut self, n: usize) -> Option<u32> {
        let end = self.pos.checked_add(n)?;
        let slice = self.b.get(self.pos..end)?;
        let mut v = 0u32;
        for &c in slice {
            if !c.is_ascii_digit() {
                return None;
            }
            v = v.checked_mul(10)?.checked_add(u32::from(c - b'0'))?;
        }
        self.pos = end;
        Some(v)
    }

    fn byte(&mut self, want: impl Fn(u8) -> bool) -> Option<u8> {
        let c = *self.b.get(self.pos)?;
        if want(c) {
            self.pos += 1;
            Some(c)
        } else {
            None
        }
    }
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// RFC 3339 §5.6 `date-time`, with the §5.7 range restrictions (days per month,
/// leap years, leap second 60). `T` and `Z` may be lower case (§5.6 NOTE).
fn is_rfc3339_date_time(s: &str) -> bool {
    fn check(c: &mut Cursor<'_>) -> Option<()> {
        let year = c.digits(4)?;
        c.byte(|b| b == b'-')?;
        let month = c.digits(2)?;
        c.byte(|b| b == b'-')?;
        let day = c.digits(2)?;
        if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
            return None;
        }
        c.byte(|b| b == b'T' || b == b't')?;
        let hour = c.digits(2)?;
        c.byte(|b| b == b':')?;
        let minute = c.digits(2)?;
        c.byte(|b| b == b':')?;
        let second = c.digits(2)?;
        if hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        if c.byte(|b| b == b'.').is_some() {
            c.byte(|b| b.is_ascii_digit())?;
            while c.byte(|b| b.is_ascii_digit()).is_some() {}
        }
        if c.byte(|b| b == b'Z' || b == b'z').is_none() {
            c.byte(|b| b == b'+' || b == b'-')?;
            let oh = c.digits(2)?;
            c.byte(|b| b == b':')?;
            let om = c.digits(2)?;
            if oh > 23 || om > 59 {
                return None;
            }
        }
        (c.pos == c.b.len()).then_some(())
    }
    check(&mut Cursor {
        b: s.as_bytes(),
        pos: 0,
    })
    .is_some()
}

/// RFC 4865 §5.1: HOLDFOR and HOLDUNTIL share one slot and exclude each other.
fn set_hold<'a>(
    slot: &mut Option<Hold<'a>>,
    keyword: &'static str,
    hold: Hold<'a>,
) -> Result<(), ParamError> {
    match slot {
        None => {
            *slot = Some(hold);
            Ok(())
        }
        Some(existing) => {
            let first = match existing {
                Hold::For(_) => HOLDFOR,
                Hold::Until(_) => HOLDUNTIL,
            };
            if first == keyword {
                Err(ParamError::DuplicateParameter(keyword.into()))
            } else {
                Err(ParamError::Conflict {
                    first,
                    second: keyword,
                })
            }
        }
    }
}

/// RFC 5322 §3.2.3 `atext`, for the ORCPT `addr-type` atom.
pub(crate) fn is_atom(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b))
}

/// RFC 3461 §4.1: `"NEVER"` or `1#( "SUCCESS" / "FAILURE" / "DELAY" )`.
fn parse_notify(v: &str) -> Result<Notify, ParamError> {
    notify_flags(v)
        .map(Notify::from_flags)
        .ok_or(ParamError::InvalidValue { keyword: NOTIFY })
}

/// [`parse_notify`]'s flags, SUCCESS 1, FAILURE 2 and DELAY 4, gathered in a
/// register: three separate byte stores read back as one word would stall
/// the copy of the result.
#[inline]
pub(crate) fn notify_flags(v: &str) -> Option<u8> {
    if v.eq_ignore_ascii_case("NEVER") {
        return Some(0);
    }
    let mut seen = 0u8;
    for item in split_byte(v, b',') {
        let flag = if item.eq_ignore_ascii_case("SUCCESS") {
            1
        } else if item.eq_ignore_ascii_case("FAILURE") {
            2
        } else if item.eq_ignore_ascii_case("DELAY") {
            4
        } else {
            // Includes NEVER in a list, empty items and unknown words.
            return None;
        };
        if seen & flag != 0 {
            return None;
        }
        seen |= flag;
    }
    Some(seen)
}

impl Notify {
    /// The value of [`notify_flags`]' flags.
    #[inline(always)]
    pub(crate) fn from_flags(flags: u8) -> Notify {
        Notify {
            success: flags & 1 != 0,
            failure: flags & 2 != 0,
            delay: flags & 4 != 0,
        }
    }
}

/// RFC 3461 §4.2: `addr-type ";" xtext`.
fn parse_orcpt(v: &str, allow_utf8: bool) -> Result<OriginalRecipient<'_>, ParamError> {
    let invalid = ParamError::InvalidValue { keyword: ORCPT };
    let (addr_type, address) = split_once_byte(v, b';').ok_or(invalid.clone())?;
    if !is_atom(addr_type) {
        return Err(invalid);
    }
    let address = decode_xtext(address, allow_utf8, ORCPT)?;
    if address.is_empty() {
        return Err(invalid);
    }
    Ok(OriginalRecipient {
        addr_type: Cow::Borrowed(addr_type),
        address,
    })
}

/// ASCII-case-insensitive ordering.
fn cmp_ignore_case(a: &str, b: &str) -> Ordering {
    a.bytes()
        .map(|c| c.to_ascii_lowercase())
        .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
}

/// Rejects two `other` parameters with the same keyword, in O(n log n).
#[inline]
fn check_unique(other: &[Parameter<'_>]) -> Result<(), ParamError> {
    if other.len() < 2 {
        return Ok(());
    }
    check_unique_slow(other)
}

/// [`check_unique`] for two or more parameters.
fn check_unique_slow(other: &[Parameter<'_>]) -> Result<(), ParamError> {
    let mut keys: Vec<&str> = other.iter().map(|p| p.keyword.as_ref()).collect();
    keys.sort_unstable_by(|a, b| cmp_ignore_case(a, b));
    for pair in keys.windows(2) {
        if let [a, b] = pair {
            if a.eq_ignore_ascii_case(b) {
                return Err(ParamError::DuplicateParameter(a.to_ascii_uppercase()));
            }
        }
    }
    Ok(())
}

fn unknown<'a>(keyword: &'a str, value: Option<&'a str>) -> Parameter<'a> {
    Parameter {
        keyword: Cow::Borrowed(keyword),
        value: value.map(Cow::Borrowed),
    }
}

/// Parses the parameters of MAIL FROM (RFC 5321 §4.1.2 `Mail-parameters`).
///
/// `input` is the text after the reverse-path's `>`: empty, or one or more
/// `SP esmtp-param`. Recognised: SIZE (RFC 1870 §3), BODY (RFC 6152 §2,
/// RFC 3030 §3), SMTPUTF8 (RFC 6531 §3.4), RET and ENVID (RFC 3461 §4.3, §4.4),
/// AUTH (RFC 4954 §5), REQUIRETLS (RFC 8689 §4.1), MT-PRIORITY (RFC 6710 §3),
/// HOLDFOR and HOLDUNTIL (RFC 4865 §5.1) and BY (RFC 2852 §4). Everything else,
/// including NOTIFY and ORCPT, lands in [`MailParameters::other`].
///
/// UTF-8 in values is accepted when `opts.allow_utf8` is set or the list itself
/// contains SMTPUTF8, which makes the transaction an SMTPUTF8 one (RFC 6531 §3.3).
///
/// # Errors
///
/// Any [`ParamError`]: the first problem found, left to right, except that
/// duplicates among unknown parameters are reported after the whole list is read.
#[inline]
pub fn parse_mail_parameters<'a>(
    input: &'a str,
    opts: &ParamOptions,
) -> Result<MailParameters<'a>, ParamError> {
    // SMTPUTF8 in the list only matters for non-ASCII values, so an ASCII
    // list (the usual one) skips looking for it.
    let allow_utf8 = opts.allow_utf8
        || !input.is_ascii()
            && raw_params(input)?.any(|raw| {
                let keyword = split_once_byte(raw, b'=').map_or(raw, |(k, _)| k);
                keyword.eq_ignore_ascii_case(SMTPUTF8)
            });
    let mut p = MailParameters::default();
    for raw in raw_params(input)? {
        let (keyword, value) = split_param(raw, allow_utf8)?;
        let Some(known) = lookup(keyword) else {
            p.other.push(unknown(keyword, value));
            continue;
        };
        match known {
            Keyword::Size => {
                let size = parse_size(require_value(SIZE, value)?)?;
                set_once(&mut p.size, SIZE, size)?;
            }
            Keyword::Body => {
                let body = parse_body(require_value(BODY, value)?)?;
                set_once(&mut p.body, BODY, body)?;
            }
            Keyword::SmtpUtf8 => {
                forbid_value(SMTPUTF8, value)?;
                set_flag(&mut p.smtputf8, SMTPUTF8)?;
            }
            Keyword::Ret => {
                let ret = parse_ret(require_value(RET, value)?)?;
                set_once(&mut p.ret, RET, ret)?;
            }
            Keyword::EnvId => {
                let envid = parse_envid(require_value(ENVID, value)?, allow_utf8)?;
                set_once(&mut p.envid, ENVID, envid)?;
            }
            Keyword::Auth => {
                let auth = parse_auth(require_value(AUTH, value)?, allow_utf8)?;
                set_once(&mut p.auth, AUTH, auth)?;
            }
            Keyword::RequireTls => {
                forbid_value(REQUIRETLS, value)?;
                set_flag(&mut p.requiretls, REQUIRETLS)?;
            }
            Keyword::MtPriority => {
                let prio = parse_mt_priority(require_value(MT_PRIORITY, value)?)?;
                set_once(&mut p.mt_priority, MT_PRIORITY, prio)?;
            }
            Keyword::HoldFor => {
                let secs = parse_digits(require_value(HOLDFOR, value)?, 9, HOLDFOR)?;
                set_hold(&mut p.hold, HOLDFOR, Hold::For(secs))?;
            }
            Keyword::HoldUntil => {
                let v = require_value(HOLDUNTIL, value)?;
                if !is_rfc3339_date_time(v) {
                    return Err(ParamError::InvalidValue { keyword: HOLDUNTIL });
                }
                set_hold(&mut p.hold, HOLDUNTIL, Hold::Until(Cow::Borrowed(v)))?;
            }
            Keyword::By => {
                let by = parse_by(require_value(BY, value)?)?;
                set_once(&mut p.by, BY, by)?;
            }
            // RCPT parameters (NOTIFY, ORCPT) are unknown to MAIL.
            Keyword::Notify | Keyword::Orcpt => p.other.push(unknown(keyword, value)),
        }
    }
    check_unique(&p.other)?;
    Ok(p)
}

/// Parses the parameters of RCPT TO (RFC 5321 §4.1.2 `Rcpt-parameters`).
///
/// `input` is the text after the forward-path's `>`: empty, or one or more
/// `SP esmtp-param`. Recognised: NOTIFY and ORCPT (RFC 3461 §4.1, §4.2).
/// Everything else, including MAIL parameters such as SIZE, lands in
/// [`RcptParameters::other`]. UTF-8 in values needs `opts.allow_utf8`
/// (RFC 6531 §3.3).
///
/// # Errors
///
/// Any [`ParamError`]: the first problem found, left to right, except that
/// duplicates among unknown parameters are reported after the whole list is read.
#[inline(always)]
pub fn parse_rcpt_parameters<'a>(
    input: &'a str,
    opts: &ParamOptions,
) -> Result<RcptParameters<'a>, ParamError> {
    let allow_utf8 = opts.allow_utf8;
    let mut p = RcptParameters::default();
    for raw in raw_params(input)? {
        let (keyword, value) = split_param(raw, allow_utf8)?;
        match lookup(keyword) {
            Some(Keyword::Notify) => {
                let notify = parse_notify(require_value(NOTIFY, value)?)?;
                set_once(&mut p.notify, NOTIFY, notify)?;
            }
            Some(Keyword::Orcpt) => {
                let orcpt = parse_orcpt(require_value(ORCPT, value)?, allow_utf8)?;
                set_once(&mut p.orcpt, ORCPT, orcpt)?;
            }
            _ => p.other.push(unknown(keyword, value)),
        }
    }
    check_unique(&p.other)?;
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    const STRICT: ParamOptions = ParamOptions { allow_utf8: false };
    const UTF8: ParamOptions = ParamOptions { allow_utf8: true };

    fn mail(s: &str) -> Result<MailParameters<'_>, ParamError> {
        parse_mail_parameters(s, &STRICT)
    }

    fn rcpt(s: &str) -> Result<RcptParameters<'_>, ParamError> {
        parse_rcpt_parameters(s, &STRICT)
    }

    fn invalid(keyword: &'static str) -> ParamError {
        ParamError::InvalidValue { keyword }
    }

    #[test]
    fn to_static_copies_every_parameter() {
        let all = mail(
            " SIZE=10 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=QQ+2B1 AUTH=<a@b.example> \
             REQUIRETLS MT-PRIORITY=3 HOLDFOR=60 BY=120;R X-ONE X-TWO=2",
        )
        .unwrap();
        assert!(all.envid.is_some() && all.auth.is_some() && all.hold.is_some());
        assert!(all.by.is_some() && all.mt_priority.is_some() && all.other.len() == 2);
        assert_eq!(all.to_static(), all.clone().into_owned());
        let all = rcpt(" NOTIFY=SUCCESS,DELAY ORCPT=rfc822;a+2Bb@c.example X-ONE=1").unwrap();
        assert!(all.notify.is_some() && all.orcpt.is_some() && all.other.len() == 1);
        assert_eq!(all.to_static(), all.clone().into_owned());
    }

    fn dup(k: &str) -> ParamError {
        ParamError::DuplicateParameter(k.to_string())
    }

    /// Parses, checks the canonical form, and checks that it parses back equal.
    fn mail_canonical(input: &str, canonical: &str) {
        let p = mail(input).unwrap();
        assert_eq!(p.to_string(), canonical, "input {input:?}");
        assert_eq!(mail(canonical).unwrap(), p);
    }

    #[test]
    fn empty() {
        let m = mail("").unwrap();
        assert!(m.is_empty());
        assert_eq!(m.to_string(), "");
        let r = rcpt("").unwrap();
        assert!(r.is_empty());
        assert_eq!(r.to_string(), "");
    }

    #[test]
    fn spacing_is_strict() {
        for bad in [
            " ",
            "SIZE=1",
            "  SIZE=1",
            " SIZE=1 ",
            " SIZE=1  BODY=7BIT",
            "\tSIZE=1",
        ] {
            assert_eq!(mail(bad), Err(ParamError::Syntax), "{bad:?}");
            assert_eq!(rcpt(bad), Err(ParamError::Syntax), "{bad:?}");
        }
    }

    #[test]
    fn keyword_grammar() {
        assert_eq!(mail(" -X"), Err(ParamError::Syntax));
        assert_eq!(mail(" X_Y"), Err(ParamError::Syntax));
        assert_eq!(mail(" =1"), Err(ParamError::Syntax));
        assert_eq!(mail(" SIZÉ=1"), Err(ParamError::Syntax));
        let m = mail(" X- 9Z-Q=1").unwrap();
        assert_eq!(m.other.len(), 2);
    }

    // RFC 1870 §3 / §4.
    #[test]
    fn size() {
        assert_eq!(mail(" SIZE=0").unwrap().size, Some(0));
        assert_eq!(mail(" size=1000000").unwrap().size, Some(1_000_000));
        assert_eq!(
            mail(" SIZE=18446744073709551615").unwrap().size,
            Some(u64::MAX)
        );
        assert_eq!(
            mail(" SIZE=18446744073709551616"),
            Err(ParamError::SizeOverflow)
        );
        assert_eq!(
            mail(" SIZE=999999999999999999999"),
            Err(ParamError::SizeOverflow)
        );
        // 21 digits that fit: the grammar allows at most 20.
        assert_eq!(mail(" SIZE=000000000000000000001"), Err(invalid(SIZE)));
        assert_eq!(mail(" SIZE=00000000000000000001").unwrap().size, Some(1));
        assert_eq!(mail(" SIZE="), Err(ParamError::Syntax));
        assert_eq!(
            mail(" SIZE"),
            Err(ParamError::MissingValue { keyword: SIZE })
        );
        assert_eq!(mail(" SIZE=-1"), Err(invalid(SIZE)));
        assert_eq!(mail(" SIZE=+1"), Err(invalid(SIZE)));
        assert_eq!(mail(" SIZE=1k"), Err(invalid(SIZE)));
        assert_eq!(mail(" SIZE=1 SIZE=2"), Err(dup(SIZE)));
        assert_eq!(mail(" SIZE=1 size=1"), Err(dup(SIZE)));
        mail_canonical(" size=0042", " SIZE=42");
    }

    // RFC 6152 §2, RFC 3030 §3.
    #[test]
    fn body() {
        assert_eq!(mail(" BODY=7BIT").unwrap().body, Some(Body::SevenBit));
        assert_eq!(
            mail(" BODY=8bitmime").unwrap().body,
            Some(Body::EightBitMime)
        );
        assert_eq!(
            mail(" Body=BinaryMIME").unwrap().body,
            Some(Body::BinaryMime)
        );
        assert_eq!(mail(" BODY=8BIT"), Err(invalid(BODY)));
        assert_eq!(
            mail(" BODY"),
            Err(ParamError::MissingValue { keyword: BODY })
        );
        mail_canonical(" body=binarymime", " BODY=BINARYMIME");
    }

    // RFC 6531 §3.4, RFC 8689 §4.1.
    #[test]
    fn flags() {
        let m = mail(" SMTPUTF8 REQUIRETLS").unwrap();
        assert!(m.smtputf8 && m.requiretls);
        assert!(!m.is_empty());
        assert_eq!(
            mail(" SMTPUTF8=yes"),
            Err(ParamError::UnexpectedValue { keyword: SMTPUTF8 })
        );
        assert_eq!(
            mail(" REQUIRETLS=1"),
            Err(ParamError::UnexpectedValue {
                keyword: REQUIRETLS
            })
        );
        assert_eq!(mail(" SMTPUTF8 smtputf8"), Err(dup(SMTPUTF8)));
        mail_canonical(" requiretls smtputf8", " SMTPUTF8 REQUIRETLS");
    }

    // RFC 3461 §4.3, §4.4.
    #[test]
    fn ret_and_envid() {
        let m = mail(" RET=HDRS ENVID=QQ314159").unwrap();
        assert_eq!(m.ret, Some(Ret::Headers));
        assert!(matches!(m.envid, Some(Cow::Borrowed("QQ314159"))));
        assert_eq!(mail(" ret=full").unwrap().ret, Some(Ret::Full));
        assert_eq!(mail(" RET=HEADERS"), Err(invalid(RET)));

        let m = mail(" ENVID=a+2Bb+3Dc+20d").unwrap();
        assert_eq!(m.envid.as_deref(), Some("a+b=c d"));
        assert_eq!(m.to_string(), " ENVID=a+2Bb+3Dc+20d");
        assert_eq!(mail(" ENVID=a+2bb"), Err(invalid(ENVID)));
        assert_eq!(mail(" ENVID=a+2"), Err(invalid(ENVID)));
        assert_eq!(mail(" ENVID=+0D+0A"), Err(invalid(ENVID)));
        assert_eq!(mail(" ENVID=+00"), Err(invalid(ENVID)));
        assert_eq!(mail(" ENVID=+FF"), Err(invalid(ENVID)));

        let long = "x".repeat(ENVID_MAX);
        let ok = alloc::format!(" ENVID={long}");
        assert_eq!(mail(&ok).unwrap().envid.as_deref(), Some(long.as_str()));
        let too_long = alloc::format!(" ENVID={long}y");
        assert_eq!(
            mail(&too_long),
            Err(ParamError::ValueTooLong {
                keyword: ENVID,
                max: ENVID_MAX
            })
        );
        // The limit applies after decoding: 100 escaped characters are fine.
        let escaped = alloc::format!(" ENVID={}", "+2B".repeat(ENVID_MAX));
        assert_eq!(mail(&escaped).unwrap().envid.unwrap().len(), ENVID_MAX);
    }

    // RFC 4954 §5.
    #[test]
    fn auth() {
        assert_eq!(mail(" AUTH=<>").unwrap().auth, Some(AuthParam::Unknown));
        assert_eq!(mail(" AUTH=+3C+3E").unwrap().auth, Some(AuthParam::Unknown));
        assert_eq!(
            mail(" AUTH=e+3Dmc2@example.com").unwrap().auth,
            Some(AuthParam::Mailbox("e=mc2@example.com".into()))
        );
        mail_canonical(" auth=<>", " AUTH=<>");
        mail_canonical(" AUTH=e+3Dmc2@example.com", " AUTH=e+3Dmc2@example.com");
        assert_eq!(
            mail(" AUTH"),
            Err(ParamError::MissingValue { keyword: AUTH })
        );
        assert_eq!(mail(" AUTH=a+2b"), Err(invalid(AUTH)));
    }

    // RFC 6710 §3.
    #[test]
    fn mt_priority() {
        for (v, want) in [
            ("-9", -9),
            ("9", 9),
            ("+9", 9),
            ("0", 0),
            ("-0", 0),
            ("+3", 3),
        ] {
            let s = alloc::format!(" MT-PRIORITY={v}");
            assert_eq!(mail(&s).unwrap().mt_priority, Some(want), "{v}");
        }
        for v in ["10", "-10", "+", "-", "a", "++1", "1-", "09"] {
            let s = alloc::format!(" MT-PRIORITY={v}");
            assert_eq!(mail(&s), Err(invalid(MT_PRIORITY)), "{v}");
        }
        mail_canonical(" mt-priority=+4", " MT-PRIORITY=4");
        mail_canonical(" MT-PRIORITY=-4", " MT-PRIORITY=-4");
    }

    // RFC 2852 §4 and §5 examples.
    #[test]
    fn by() {
        assert_eq!(
            mail(" BY=120;R").unwrap().by,
            Some(By {
                time: 120,
                mode: ByMode::Return,
                trace: false
            })
        );
        assert_eq!(
            mail(" BY=-10;NT").unwrap().by,
            Some(By {
                time: -10,
                mode: ByMode::Notify,
                trace: true
            })
        );
        assert_eq!(
            mail(" by=+999999999;rt").unwrap().by,
            Some(By {
                time: 999_999_999,
                mode: ByMode::Return,
                trace: true
            })
        );
        assert_eq!(
            mail(" BY=-999999999;N").unwrap().by.unwrap().time,
            -999_999_999
        );
        assert_eq!(mail(" BY=0;N").unwrap().by.unwrap().time, 0);
        for v in [
            "1000000000;N",
            "120",
            "120;",
            ";R",
            "120;X",
            "120;RR",
            "120;TR",
            "120;RTT",
            "0;R",
            "-5;R",
            "--1;N",
            "1;N;T",
        ] {
            let s = alloc::format!(" BY={v}");
            assert_eq!(mail(&s), Err(invalid(BY)), "{v}");
        }
        mail_canonical(" by=+120;nt", " BY=120;NT");
        mail_canonical(" BY=-10;N", " BY=-10;N");
    }

    // RFC 4865 §5.1.
    #[test]
    fn hold() {
        assert_eq!(mail(" HOLDFOR=0").unwrap().hold, Some(Hold::For(0)));
        assert_eq!(
            mail(" HOLDFOR=999999999").unwrap().hold,
            Some(Hold::For(999_999_999))
        );
        assert_eq!(mail(" HOLDFOR=1000000000"), Err(invalid(HOLDFOR)));
        assert_eq!(mail(" HOLDFOR=-1"), Err(invalid(HOLDFOR)));
        for t in [
            "2025-04-02T10:30:00Z",
            "1985-04-12T23:20:50.52Z",
            "1996-12-19T16:39:57-08:00",
            "1990-12-31T23:59:60Z",
            "1937-01-01T12:00:27.87+00:20",
            "2024-02-29t00:00:00z",
        ] {
            let s = alloc::format!(" HOLDUNTIL={t}");
            assert_eq!(mail(&s).unwrap().hold, Some(Hold::Until(t.into())), "{t}");
            mail_canonical(&s, &s);
        }
        for t in [
            "2025-04-02",
            "2025-04-02T10:30:00",
            "2025-13-01T00:00:00Z",
            "2025-00-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2025-04-31T00:00:00Z",
            "2025-04-02T24:00:00Z",
            "2025-04-02T10:60:00Z",
            "2025-04-02T10:30:61Z",
            "2025-04-02T10:30:00.Z",
            "2025-04-02T10:30:00+0100",
            "2025-04-02T10:30:00+24:00",
            "2025-04-02 10:30:00Z",
            "2025-04-02T10:30:00ZZ",
            "25-04-02T10:30:00Z",
        ] {
            let s = alloc::format!(" HOLDUNTIL={t}");
            assert!(mail(&s).is_err(), "{t}");
        }
        assert_eq!(
            mail(" HOLDFOR=10 HOLDUNTIL=2025-04-02T10:30:00Z"),
            Err(ParamError::Conflict {
                first: HOLDFOR,
                second: HOLDUNTIL
            })
        );
        assert_eq!(
            mail(" HOLDUNTIL=2025-04-02T10:30:00Z HOLDFOR=10"),
            Err(ParamError::Conflict {
                first: HOLDUNTIL,
                second: HOLDFOR
            })
        );
        assert_eq!(mail(" HOLDFOR=1 holdfor=1"), Err(dup(HOLDFOR)));
    }

    #[test]
    fn unknown_preserved() {
        let m = mail(" X-Foo=Bar XYZZY SIZE=5 NOTIFY=NEVER").unwrap();
        assert_eq!(m.size, Some(5));
        assert_eq!(
            m.other,
            vec![
                Parameter {
                    keyword: "X-Foo".into(),
                    value: Some("Bar".into())
                },
                Parameter {
                    keyword: "XYZZY".into(),
                    value: None
                },
                Parameter {
                    keyword: "NOTIFY".into(),
                    value: Some("NEVER".into())
                },
            ]
        );
        assert_eq!(m.to_string(), " SIZE=5 X-Foo=Bar XYZZY NOTIFY=NEVER");
        // Known MAIL keywords on RCPT are not interpreted, not even checked.
        let r = rcpt(" SIZE=huge BODY").unwrap();
        assert_eq!(r.other.len(), 2);
        assert_eq!(r.to_string(), " SIZE=huge BODY");
    }

    #[test]
    fn duplicates_of_unknown() {
        assert_eq!(mail(" X-A=1 x-a=2"), Err(dup("X-A")));
        assert_eq!(mail(" X-A X-B X-A"), Err(dup("X-A")));
        assert_eq!(mail(" NOTIFY=NEVER NOTIFY=NEVER"), Err(dup(NOTIFY)));
        assert_eq!(rcpt(" SIZE=1 size=2"), Err(dup(SIZE)));
        assert!(mail(" X-A X-AB X-B").is_ok());
    }

    #[test]
    fn control_characters_rejected() {
        for bad in [
            " X=a\0b",
            " X=a\rb",
            " X=a\nb",
            " X=\x7f",
            " X=a\tb",
            " SIZE=1\0",
            " ENVID=\x01",
            " X=a=b",
            " X\0",
            " X\r\n",
        ] {
            assert_eq!(mail(bad), Err(ParamError::Syntax), "{bad:?}");
            assert_eq!(rcpt(bad), Err(ParamError::Syntax), "{bad:?}");
        }
    }

    // RFC 6531 §3.3.
    #[test]
    fn non_ascii() {
        assert_eq!(mail(" X=caf\u{e9}"), Err(ParamError::Utf8NotAllowed));
        assert_eq!(rcpt(" X=caf\u{e9}"), Err(ParamError::Utf8NotAllowed));
        assert_eq!(mail(" ENVID=\u{e9}"), Err(ParamError::Utf8NotAllowed));
        let m = parse_mail_parameters(" X=caf\u{e9}", &UTF8).unwrap();
        assert_eq!(m.other[0].value.as_deref(), Some("caf\u{e9}"));
        let r = parse_rcpt_parameters(" ORCPT=utf-8;j\u{f6}rg@example.com", &UTF8).unwrap();
        assert_eq!(r.orcpt.as_ref().unwrap().address, "j\u{f6}rg@example.com");
        assert_eq!(r.to_string(), " ORCPT=utf-8;j+C3+B6rg@example.com");
        // SMTPUTF8 in the list itself enables UTF-8 for MAIL, wherever it is.
        let m = mail(" ENVID=\u{e9}t\u{e9} SMTPUTF8").unwrap();
        assert_eq!(m.envid.as_deref(), Some("\u{e9}t\u{e9}"));
        assert_eq!(m.to_string(), " SMTPUTF8 ENVID=+C3+A9t+C3+A9");
        assert_eq!(
            mail(" ENVID=+C3+A9t+C3+A9 SMTPUTF8").unwrap().envid,
            m.envid
        );
        // Non-ASCII in a typed value is still invalid under SMTPUTF8.
        assert_eq!(
            parse_mail_parameters(" BODY=\u{e9}", &UTF8),
            Err(invalid(BODY))
        );
        // Keywords are always ASCII.
        assert_eq!(
            parse_mail_parameters(" \u{e9}=1", &UTF8),
            Err(ParamError::Syntax)
        );
    }

    // RFC 3461 §4.1.
    #[test]
    fn notify() {
        let n = |s: &str| {
            parse_rcpt_parameters(&alloc::format!(" NOTIFY={s}"), &STRICT).map(|r| r.notify)
        };
        assert_eq!(n("NEVER"), Ok(Some(Notify::NEVER)));
        assert_eq!(n("never"), Ok(Some(Notify::NEVER)));
        assert_eq!(
            n("SUCCESS"),
            Ok(Some(Notify {
                success: true,
                failure: false,
                delay: false
            }))
        );
        assert_eq!(
            n("failure,delay"),
            Ok(Some(Notify {
                success: false,
                failure: true,
                delay: true
            }))
        );
        assert_eq!(
            n("DELAY,SUCCESS,FAILURE"),
            Ok(Some(Notify {
                success: true,
                failure: true,
                delay: true
            }))
        );
        for bad in [
            "NEVER,SUCCESS",
            "SUCCESS,NEVER",
            "NEVER,NEVER",
            "SUCCESS,SUCCESS",
            "SUCCESS,",
            ",SUCCESS",
            "SUCCESS,,DELAY",
            ",",
            "ALWAYS",
        ] {
            assert_eq!(n(bad), Err(invalid(NOTIFY)), "{bad}");
        }
        assert_eq!(rcpt(" NOTIFY="), Err(ParamError::Syntax));
        assert_eq!(
            rcpt(" NOTIFY"),
            Err(ParamError::MissingValue { keyword: NOTIFY })
        );
        let r = rcpt(" notify=delay,success").unwrap();
        assert_eq!(r.to_string(), " NOTIFY=SUCCESS,DELAY");
        assert_eq!(rcpt(" NOTIFY=NEVER notify=DELAY"), Err(dup(NOTIFY)));
    }

    // RFC 3461 §4.2 and the §6 examples.
    #[test]
    fn orcpt() {
        let r = rcpt(" ORCPT=rfc822;bob+2Bfoo@example.com").unwrap();
        let o = r.orcpt.as_ref().unwrap();
        assert_eq!(o.addr_type, "rfc822");
        assert_eq!(o.address, "bob+foo@example.com");
        assert_eq!(r.to_string(), " ORCPT=rfc822;bob+2Bfoo@example.com");

        let r = rcpt(" NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;Carol@Ivory.EDU").unwrap();
        assert!(matches!(
            r.orcpt.as_ref().unwrap().address,
            Cow::Borrowed("Carol@Ivory.EDU")
        ));
        assert_eq!(r.orcpt.as_ref().unwrap().addr_type, "rfc822");
        assert_eq!(
            r.to_string(),
            " NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;Carol@Ivory.EDU"
        );

        assert_eq!(
            rcpt(" ORCPT=RFC822;a@b").unwrap().orcpt.unwrap().addr_type,
            "RFC822"
        );
        for bad in [
            "rfc822",
            ";a@b",
            "rfc822;",
            "rfc 822;a@b",
            "rfc822;bob+2bfoo@example.com",
            "rfc822;a+0D+0Ab",
            "rf(c;a@b",
        ] {
            let s = alloc::format!(" ORCPT={bad}");
            assert!(rcpt(&s).is_err(), "{bad}");
        }
        assert_eq!(rcpt(" ORCPT=rfc822;a+0Db"), Err(invalid(ORCPT)));
        assert_eq!(rcpt(" ORCPT=rfc822;a@b ORCPT=rfc822;a@b"), Err(dup(ORCPT)));
        // ORCPT on MAIL is not interpreted.
        let m = mail(" ORCPT=rfc822;a+2b").unwrap();
        assert_eq!(m.other[0].value.as_deref(), Some("rfc822;a+2b"));
    }

    #[test]
    fn full_mail_roundtrip() {
        let input = " SIZE=1024 BODY=8BITMIME SMTPUTF8 RET=FULL ENVID=QQ314159 AUTH=<> \
                     REQUIRETLS MT-PRIORITY=-3 HOLDFOR=60 BY=120;RT X-EXT=1 X-FLAG";
        let m = mail(input).unwrap();
        assert_eq!(m.to_string(), input);
        let owned: MailParameters<'static> = m.clone().into_owned();
        assert_eq!(owned, m);
    }

    #[test]
    fn into_owned_rcpt() {
        let input = String::from(" NOTIFY=NEVER ORCPT=rfc822;a+2Bb@c X=1");
        let r = rcpt(&input).unwrap().into_owned();
        drop(input);
        assert_eq!(r.to_string(), " NOTIFY=NEVER ORCPT=rfc822;a+2Bb@c X=1");
    }

    #[test]
    fn errors_display() {
        assert_eq!(dup("SIZE").to_string(), "duplicate parameter SIZE");
        assert_eq!(
            invalid(BODY).to_string(),
            "invalid value for parameter BODY"
        );
        assert_eq!(
            ParamError::MissingValue { keyword: SIZE }.to_string(),
            "parameter SIZE requires a value"
        );
    }
}
