//! SMTP replies (RFC 5321 §4.2) and enhanced status codes (RFC 3463, RFC 2034).
//!
//! * [`ReplyCode`] and [`ReplyClass`]: the three-digit code (RFC 5321 §4.2, §4.2.1).
//! * [`EnhancedCode`]: `class.subject.detail` (RFC 3463 §2), which a server that
//!   advertises ENHANCEDSTATUSCODES puts at the start of every line of its
//!   `2yz`, `4yz` and `5yz` replies (RFC 2034 §4).
//! * [`Reply`]: a whole, possibly multi-line, reply. [`Reply::new`] is the safe
//!   builder for application text; [`Reply::encode`] writes the wire form.
//! * [`parse_reply`]: the bounded, incremental parser for the client side.
//!
//! For every `Reply` the public API can build (with [`Reply::new`],
//! [`Reply::from_lines`] or [`parse_reply`]), encoding and parsing again gives
//! the same `Reply` (with options that admit its size).
//!
//! ```
//! use smtp_proto::reply::{parse_reply, EnhancedCode, Reply, ReplyCode, ReplyParse, ReplyParseOptions};
//!
//! let reply = Reply::new(ReplyCode::MAILBOX_UNAVAILABLE, Some(EnhancedCode::BAD_DESTINATION_MAILBOX), "User unknown");
//! assert_eq!(reply.to_bytes(), b"550 5.1.1 User unknown\r\n");
//!
//! let opts = ReplyParseOptions::default();
//! match parse_reply(b"250-mx.example.org\r\n250 PIPELINING\r\nextra", &opts)? {
//!     ReplyParse::Complete { reply, consumed } => {
//!         assert_eq!(reply.code(), ReplyCode::OK);
//!         assert!(reply.lines().eq(["mx.example.org", "PIPELINING"]));
//!         assert_eq!(consumed, 36);
//!     }
//!     ReplyParse::Partial => unreachable!(),
//! }
//! assert_eq!(parse_reply(b"250-mx.example.org\r\n250 PIPE", &opts)?, ReplyParse::Partial);
//! # Ok::<(), smtp_proto::reply::ReplyError>(())
//! ```

mod code;
mod enhanced;

pub use code::{ReplyClass, ReplyCode};
pub use enhanced::EnhancedCode;

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::limits::{Limits, REPLY_LINE_MIN};
use crate::wire::line::LineEnding;
use crate::wire::swar;

/// Why bytes are not a valid reply (RFC 5321 §4.2).
///
/// Parse errors are final for the connection: a reply stream that broke the
/// grammar cannot be resynchronised reliably, so a client should give up on
/// the session (RFC 5321 §4.2 leaves no room for guessing).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplyError {
    /// A line is longer than [`ReplyParseOptions::max_line_len`] octets, line
    /// ending included (RFC 5321 §4.5.3.1.5).
    #[error("reply line too long")]
    LineTooLong,
    /// A multi-line reply has more than [`ReplyParseOptions::max_lines`] lines.
    #[error("too many lines in reply")]
    TooManyLines,
    /// A line does not start with three digits (RFC 5321 §4.2).
    #[error("reply line does not start with a three-digit code")]
    InvalidCode,
    /// Three digits that are not a reply code: first digit outside 2-5 or
    /// second outside 0-5 (RFC 5321 §4.2).
    #[error("reply code out of range")]
    CodeOutOfRange,
    /// The lines of a multi-line reply carry different codes (RFC 5321 §4.2.1).
    #[error("lines of a multi-line reply have different codes")]
    InconsistentCode,
    /// The code is followed by something other than SP, `-` or the line end
    /// (RFC 5321 §4.2).
    #[error("reply code not followed by SP, '-' or CRLF")]
    BadSeparator,
    /// The text holds a control character or is not UTF-8 (RFC 5321 §4.2
    /// `textstring`; RFC 6531 §3.7.4.2 for UTF-8).
    #[error("invalid character in reply text")]
    InvalidText,
    /// A CR not followed by LF, or (under [`LineEnding::Strict`]) a LF without CR
    /// (RFC 5321 §2.3.8).
    #[error("bare CR or LF in reply")]
    BareLineEnding,
}

/// Limits and leniency for [`parse_reply`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyParseOptions {
    /// Longest line accepted, line ending included. Values below 512 count as
    /// 512, the minimum RFC 5321 §4.5.3.1.5 requires.
    pub max_line_len: usize,
    /// Most lines in one reply. Values below 1 count as 1.
    pub max_lines: usize,
    /// Whether a bare LF ends a line (RFC 5321 §2.3.8 says no).
    pub line_ending: LineEnding,
}

impl ReplyParseOptions {
    /// Options from the reply limits of `limits`, with `line_ending`.
    pub fn from_limits(limits: &Limits, line_ending: LineEnding) -> ReplyParseOptions {
        ReplyParseOptions {
            max_line_len: limits.reply_line,
            max_lines: limits.reply_lines,
            line_ending,
        }
    }
}

impl Default for ReplyParseOptions {
    /// [`Limits::default`] (512-octet lines, 100 lines) and [`LineEnding::Strict`].
    fn default() -> Self {
        ReplyParseOptions::from_limits(&Limits::default(), LineEnding::Strict)
    }
}

/// The outcome of [`parse_reply`] on a buffer that holds no error (so far).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyParse {
    /// A whole reply; drop `consumed` bytes from the front of the buffer.
    Complete {
        /// The reply.
        reply: Reply,
        /// Bytes the reply took, final CRLF included.
        consumed: usize,
    },
    /// The reply has not ended yet and nothing wrong was seen: read more and
    /// call again with the whole buffer.
    Partial,
}

/// An SMTP reply: a code, an optional enhanced status code and one or more
/// lines of text (RFC 5321 §4.2; RFC 2034 §4).
///
/// `lines` hold the text after the code and separator and, when
/// [`enhanced`](Reply::enhanced) is `Some`, after the enhanced code and its SP.
/// There is always at least one line; a line may be empty.
///
/// Invariants kept by every constructor, which make `parse(encode(r)) == r`:
/// lines hold no CR, LF or other control character except HT; when `enhanced`
/// is `Some`, its class equals the code's first digit; when it is `None`, the
/// first line does not begin with an enhanced code of the code's class followed
/// by SP or the end of the line (a parser would take it for one).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reply {
    code: ReplyCode,
    enhanced: Option<EnhancedCode>,
    /// The lines' text joined with `"\n"` (no line holds a CR or LF): one
    /// allocation per reply, however many lines it has.
    text: String,
}

/// The longest line [`Reply::new`] writes: 512 octets with CRLF (RFC 5321 §4.5.3.1.5).
const BUILD_LINE_MAX: usize = REPLY_LINE_MIN;

impl Reply {
    /// Builds a reply from application text, safely.
    ///
    /// * The text is split into lines at CRLF, LF and lone CR, so a line end in
    ///   `text` can only ever start a new line *of this reply* (with this code):
    ///   it can never end the reply early or inject another one (RFC 5321 §4.2.1).
    /// * Other control characters (NUL, DEL, ESC, …) are replaced with `?`; HT is
    ///   kept, as RFC 5321 §4.2 `textstring = 1*(%d09 / %d32-126)` allows it.
    ///   Non-ASCII characters are kept (SMTPUTF8 replies, RFC 6531 §3.7.4.2); only
    ///   send them to a client that negotiated SMTPUTF8.
    /// * Lines are wrapped so that each encoded line, code, separator, enhanced
    ///   code and CRLF included, fits in 512 octets (RFC 5321 §4.5.3.1.5). Wrapping
    ///   prefers to break after a space in the second half of the line, and never
    ///   splits a UTF-8 character.
    /// * An `enhanced` code whose class differs from the reply code's first digit
    ///   is dropped: RFC 2034 §4 and RFC 3463 §2 tie the two together (a `3yz`
    ///   reply never has one), and a reader would not recognise it.
    /// * With `enhanced` `None`, text that begins with an enhanced code of the
    ///   right class followed by SP or the line end is read as that code, just as
    ///   a client would read it: `Reply::new(ReplyCode::OK, None, "2.1.0 Ok")`
    ///   equals `Reply::new(ReplyCode::OK, Some(EnhancedCode::SENDER_OK), "Ok")`,
    ///   and the code is then removed from every line that starts with it, as
    ///   [`parse_reply`] does.
    ///
    /// An empty `text` gives a single empty line. A reply built from a very long
    /// text may have more lines than a peer's [`ReplyParseOptions::max_lines`].
    ///
    /// ```
    /// use smtp_proto::reply::{Reply, ReplyCode};
    /// let r = Reply::new(ReplyCode::OK, None, "a\r\n550 evil\r\nb");
    /// assert_eq!(r.to_bytes(), b"250-a\r\n250-550 evil\r\n250 b\r\n");
    /// ```
    pub fn new(code: ReplyCode, enhanced: Option<EnhancedCode>, text: &str) -> Reply {
        Reply::from_lines(code, enhanced, [text])
    }

    /// Like [`Reply::new`] with the lines of `lines` joined by line ends: each
    /// item gives at least one line (more if it holds line ends or is long).
    ///
    /// ```
    /// use smtp_proto::reply::{Reply, ReplyCode};
    /// let r = Reply::from_lines(ReplyCode::OK, None, ["mx.example.org", "PIPELINING", "8BITMIME"]);
    /// assert_eq!(r.to_bytes(), b"250-mx.example.org\r\n250-PIPELINING\r\n250 8BITMIME\r\n");
    /// ```
    pub fn from_lines<I, S>(code: ReplyCode, enhanced: Option<EnhancedCode>, lines: I) -> Reply
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut enhanced = enhanced.filter(|e| e.class() == code.first_digit());
        let mut logical: Vec<String> = Vec::new();
        for item in lines {
            split_and_sanitise(item.as_ref(), &mut logical);
        }
        if logical.is_empty() {
            logical.push(String::new());
        }
        if enhanced.is_none()
            && let Some((found, _)) = logical
                .first()
                .and_then(|l| detect_enhanced(l.as_bytes(), code))
        {
            enhanced = Some(found);
            for line in &mut logical {
                if let Some(n) = strip_len(line.as_bytes(), code, found) {
                    line.drain(..n);
                }
            }
        }
        // Code, separator, optional "X.Y.Z " and CRLF.
        let overhead = 4 + enhanced.map_or(0, |e| e.text_len() + 1) + 2;
        let budget = BUILD_LINE_MAX - overhead;
        let mut wrapped = Vec::with_capacity(logical.len());
        for line in logical {
            wrap(line, budget, &mut wrapped);
        }
        Reply {
            code,
            enhanced,
            text: wrapped.join("\n"),
        }
    }

    /// The reply code.
    pub fn code(&self) -> ReplyCode {
        self.code
    }

    /// The enhanced status code carried on every line, if any (RFC 2034 §4).
    pub fn enhanced(&self) -> Option<EnhancedCode> {
        self.enhanced
    }

    /// The lines' text, without code, separator or enhanced code: at least
    /// one line, none holding a CR or LF.
    ///
    /// ```
    /// use smtp_proto::reply::{Reply, ReplyCode};
    /// let r = Reply::from_lines(ReplyCode::OK, None, ["mx.example.org", "PIPELINING"]);
    /// assert!(r.lines().eq(["mx.example.org", "PIPELINING"]));
    /// assert_eq!(r.lines().count(), r.line_count());
    /// ```
    pub fn lines(&self) -> Lines<'_> {
        Lines(self.text.split('\n'))
    }

    /// How many lines the reply has (at least one).
    pub fn line_count(&self) -> usize {
        memchr::memchr_iter(b'\n', self.text.as_bytes()).count() + 1
    }

    /// The lines, consuming the reply.
    pub fn into_lines(self) -> Vec<String> {
        self.lines().map(String::from).collect()
    }

    /// The lines joined with `"\n"`. `Reply::new(r.code(), r.enhanced(), r.text())`
    /// gives back `r` whenever every line of `r` fits a 512-octet reply line
    /// (always for replies built with [`Reply::new`]; a parsed reply can have
    /// longer lines if [`ReplyParseOptions::max_line_len`] allowed them).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The reply's class (RFC 5321 §4.2.1).
    pub fn class(&self) -> ReplyClass {
        self.code.class()
    }

    /// Whether the reply has more than one line (RFC 5321 §4.2.1).
    pub fn is_multiline(&self) -> bool {
        self.text.contains('\n')
    }

    /// How many bytes [`encode`](Reply::encode) appends.
    pub fn encoded_len(&self) -> usize {
        let esc = self.enhanced.map_or(0, |e| e.text_len());
        self.lines_with_last()
            .map(|(l, last)| {
                let text = match (self.enhanced.is_some(), l.is_empty()) {
                    (true, true) => 1 + esc,
                    (true, false) => 1 + esc + 1 + l.len(),
                    (false, true) => usize::from(!last),
                    (false, false) => 1 + l.len(),
                };
                3 + text + 2
            })
            .sum()
    }

    /// Each line, and whether it is the last (one pass over the text).
    fn lines_with_last(&self) -> impl Iterator<Item = (&str, bool)> {
        let mut lines = self.lines().peekable();
        core::iter::from_fn(move || {
            let line = lines.next()?;
            Some((line, lines.peek().is_none()))
        })
    }

    /// Appends the wire form (RFC 5321 §4.2.1, RFC 2034 §4) to `out`.
    ///
    /// Every line but the last is `code "-" text CRLF`, the last `code SP text
    /// CRLF`. With an enhanced code, the text of every line is `X.Y.Z SP text`,
    /// or just `X.Y.Z` when the line is empty. An empty last line without
    /// enhanced code is the bare code (`250 CRLF`, as `Reply-code [ SP textstring ]`
    /// allows); an empty continuation line is `250-CRLF`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        self.encode_to(out);
    }

    /// [`encode`](Reply::encode) into any buffer (the sessions write straight
    /// into their output buffer).
    pub(crate) fn encode_to<B: bytes::BufMut + ?Sized>(&self, out: &mut B) {
        for (line, last) in self.lines_with_last() {
            out.put_slice(&self.code.digits());
            let sep = if last { b' ' } else { b'-' };
            match self.enhanced {
                Some(e) => {
                    out.put_u8(sep);
                    e.write_to(out);
                    if !line.is_empty() {
                        out.put_u8(b' ');
                        out.put_slice(line.as_bytes());
                    }
                }
                None => {
                    if !last || !line.is_empty() {
                        out.put_u8(sep);
                        out.put_slice(line.as_bytes());
                    }
                }
            }
            out.put_slice(b"\r\n");
        }
    }

    /// The wire form, see [`encode`](Reply::encode).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }
}

/// The wire form without line endings: lines as [`Reply::encode`] writes them,
/// separated by `"\n"`, with no final newline. Meant for logs and messages.
///
/// ```
/// use smtp_proto::reply::{Reply, ReplyCode};
/// let r = Reply::new(ReplyCode::OK, None, "first\nsecond");
/// assert_eq!(r.to_string(), "250-first\n250 second");
/// ```
impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut bytes = Vec::new();
        self.encode(&mut bytes);
        // Lines are Strings and the rest is ASCII, so this is valid UTF-8.
        let text = core::str::from_utf8(&bytes).map_err(|_| fmt::Error)?;
        let text = text.strip_suffix("\r\n").unwrap_or(text);
        for (i, line) in text.split("\r\n").enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            f.write_str(line)?;
        }
        Ok(())
    }
}

/// The lines of a [`Reply`], from [`Reply::lines`].
#[derive(Debug, Clone)]
pub struct Lines<'a>(core::str::Split<'a, char>);

impl<'a> Iterator for Lines<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        self.0.next()
    }
}

impl<'a> DoubleEndedIterator for Lines<'a> {
    fn next_back(&mut self) -> Option<&'a str> {
        self.0.next_back()
    }
}

impl core::iter::FusedIterator for Lines<'_> {}

/// Splits `text` at CRLF, LF and lone CR and pushes each piece, with control
/// characters other than HT replaced by `?`.
fn split_and_sanitise(text: &str, out: &mut Vec<String>) {
    let mut current = String::new();
    let mut after_cr = false;
    for c in text.chars() {
        match c {
            '\r' => {
                out.push(core::mem::take(&mut current));
                after_cr = true;
                continue;
            }
            '\n' if after_cr => {}
            '\n' => out.push(core::mem::take(&mut current)),
            '\t' => current.push('\t'),
            c if c.is_ascii_control() => current.push('?'),
            c => current.push(c),
        }
        after_cr = false;
    }
    out.push(current);
}

/// Splits `line` into pieces of at most `budget` bytes, at char boundaries,
/// preferring to break after a space in the second half.
fn wrap(mut line: String, budget: usize, out: &mut Vec<String>) {
    while line.len() > budget {
        let mut cut = budget;
        while cut > 0 && !line.is_char_boundary(cut) {
            cut -= 1;
        }
        if let Some(space) = line
            .as_bytes()
            .get(budget / 2..cut)
            .and_then(|half| half.iter().rposition(|&b| b == b' '))
        {
            cut = budget / 2 + space + 1;
        }
        if cut == 0 {
            // Unreachable with a budget of hundreds of bytes; stay safe anyway.
            break;
        }
        let rest = line.split_off(cut);
        out.push(line);
        line = rest;
    }
    out.push(line);
}

/// If `text` starts with an enhanced code of `code`'s class followed by SP or
/// the end (RFC 2034 §4), the code and how many bytes to strip (with the SP).
fn detect_enhanced(text: &[u8], code: ReplyCode) -> Option<(EnhancedCode, usize)> {
    let (found, len) = EnhancedCode::parse_bytes(text)?;
    if found.class() != code.first_digit() {
        return None;
    }
    match text.get(len) {
        None => Some((found, len)),
        Some(b' ') => Some((found, len + 1)),
        Some(_) => None,
    }
}

/// How many bytes to strip from a line that carries `expected`.
fn strip_len(text: &[u8], code: ReplyCode, expected: EnhancedCode) -> Option<usize> {
    match detect_enhanced(text, code) {
        Some((found, n)) if found == expected => Some(n),
        _ => None,
    }
}

/// Parses one complete, possibly multi-line, reply from the start of `buf`
/// (RFC 5321 §4.2, §4.2.1).
///
/// Grammar (RFC 5321 §4.2): `*( Reply-code "-" [ textstring ] CRLF ) Reply-code
/// [ SP textstring ] CRLF`, with the same code on every line. A line that is
/// just the code ends the reply with empty text; as a small leniency, so does
/// `code SP CRLF`. Text is HT, printable ASCII and UTF-8 (RFC 6531 §3.7.4.2);
/// any other control character is [`ReplyError::InvalidText`].
///
/// Enhanced codes (RFC 2034 §4, RFC 3463 §2): if the first line's text starts
/// with an enhanced code whose class is the reply code's first digit, followed
/// by SP or the line end, it becomes [`Reply::enhanced`] and is removed, with
/// its SP, from every line that starts with the same code. Numbers may have
/// leading zeros (`1*3digit`, RFC 3463 §2): `250 2.0.00 Ok` carries 2.0.0, and
/// a line's code is "the same" when its value is. An enhanced code of another
/// class stays in the text.
///
/// Returns [`ReplyParse::Partial`] while the reply has not ended and nothing
/// wrong was seen; the caller reads more and calls again with the whole buffer.
/// Nothing is allocated until the reply is complete.
///
/// Errors depend only on the bytes up to the offending one: once a buffer
/// gives an error (or a complete reply), any longer buffer with the same
/// start gives the same result. At most `max_lines × max_line_len` bytes are
/// examined, and each call is linear in what it examines.
pub fn parse_reply(buf: &[u8], opts: &ReplyParseOptions) -> Result<ReplyParse, ReplyError> {
    let mut spans = Spans::default();
    let Some(scanned) = scan(buf, opts, &mut spans)? else {
        return Ok(ReplyParse::Partial);
    };
    let reply = build_parsed(buf, &scanned, &spans)?;
    Ok(ReplyParse::Complete {
        reply,
        consumed: scanned.end,
    })
}

/// How many lines' text positions [`scan`] notes on the stack for
/// [`build_parsed`]: enough for the EHLO replies of real servers. A longer
/// reply's lines are found again.
const SPANS: usize = 24;

/// Where the text of each of the first [`SPANS`] lines lies in the buffer.
struct Spans([(u32, u32); SPANS]);

impl Default for Spans {
    fn default() -> Self {
        Spans([(0, 0); SPANS])
    }
}

/// What [`scan`] found in a whole reply.
struct Scanned {
    /// The reply ends here, its last line end included.
    end: usize,
    /// How many lines it has.
    lines: usize,
    /// The code on every line.
    code: ReplyCode,
}

/// Scans reply text up to its line end: the offset of the first CR or LF in
/// `text` (if any), and what the bytes before it hold: a control character
/// other than HT, as RFC 5321 §4.2 `textstring` forbids; a non-ASCII byte,
/// after which the text must be checked as UTF-8.
///
/// Eight bytes at a time (see [`swar`]): reply lines are short, so one such
/// pass beats a `memchr` call plus a per-byte loop.
#[inline]
fn scan_text(text: &[u8]) -> (Option<usize>, bool, bool) {
    let mut control = 0;
    let mut high = 0;
    let mut at = 0;
    while at < text.len() {
        let w = swar::load(&text[at..]);
        let eol = swar::line_end(w);
        // Only the bytes before the line end count (all of them if none).
        let before = swar::before_first(eol);
        control |= swar::control(w) & before;
        high |= w & swar::HIGH & before;
        if eol != 0 {
            return (Some(at + swar::first(eol)), control != 0, high != 0);
        }
        at += 8;
    }
    (None, control != 0, high != 0)
}

/// Validates `buf`; `Some((end, lines))` when a whole reply of `lines` lines
/// is in `buf[..end]`.
///
/// The verdict is the one a byte-by-byte check in order gives (the first
/// offending byte decides), reached with one `memchr2` per line for its end
/// and one pass over the text before it.
fn scan(
    buf: &[u8],
    opts: &ReplyParseOptions,
    spans: &mut Spans,
) -> Result<Option<Scanned>, ReplyError> {
    let max_len = opts.max_line_len.max(REPLY_LINE_MIN);
    let max_lines = opts.max_lines.max(1);
    let lenient = opts.line_ending == LineEnding::Lenient;
    // The shortest possible line ending at a content byte: CRLF, or LF if lenient.
    let min_ending = if lenient { 1 } else { 2 };
    // The last offset a text byte may have: it and the shortest line ending
    // after it fit in `max_len` (max_len ≥ 512, so no underflow).
    let cap = max_len - 1 - min_ending;
    let mut pos = 0usize;
    let mut first: Option<(ReplyCode, [u8; 3])> = None;
    let mut lines = 0usize;
    loop {
        if lines == max_lines {
            return Err(ReplyError::TooManyLines);
        }
        let line = buf.get(pos..).unwrap_or_default();
        // Reply-code: three digits, in range, the same on every line. A line
        // after the first that repeats its digits needs no other check.
        let code = match (first, line.first_chunk::<3>()) {
            (Some((code, digits)), Some(head)) if *head == digits => code,
            _ => {
                let head = &line[..line.len().min(3)];
                if !head.iter().all(u8::is_ascii_digit) {
                    return Err(ReplyError::InvalidCode);
                }
                let [a, b, c, ..] = *line else {
                    return Ok(None);
                };
                let code = ReplyCode::from_digits([a, b, c]).ok_or(ReplyError::CodeOutOfRange)?;
                match first {
                    None => first = Some((code, [a, b, c])),
                    Some((f, _)) if f != code => return Err(ReplyError::InconsistentCode),
                    Some(_) => {}
                }
                code
            }
        };
        // Separator.
        let Some(&sep) = line.get(3) else {
            return Ok(None);
        };
        let (last, text_start) = match sep {
            b' ' => (true, 4),
            b'-' => (false, 4),
            b'\r' | b'\n' => (true, 3),
            _ => return Err(ReplyError::BadSeparator),
        };
        // Text bytes up to offset `cap`, and the line end among them.
        let limit = line.len().min(cap + 1);
        let (eol, control, non_ascii) = scan_text(&line[text_start..limit]);
        if control {
            return Err(ReplyError::InvalidText);
        }
        let i = match eol {
            Some(k) => text_start + k,
            // Past `cap` only a line end may follow; anything else makes the
            // line too long.
            None => match line.get(cap + 1) {
                _ if limit < cap + 1 => return Ok(None),
                None => return Ok(None),
                Some(b'\r' | b'\n') => cap + 1,
                Some(_) => return Err(ReplyError::LineTooLong),
            },
        };
        let line_len = if line[i] == b'\r' {
            if i + 2 > max_len {
                return Err(ReplyError::LineTooLong);
            }
            match line.get(i + 1) {
                None => return Ok(None),
                Some(b'\n') => i + 2,
                Some(_) => return Err(ReplyError::BareLineEnding),
            }
        } else {
            if !lenient {
                return Err(ReplyError::BareLineEnding);
            }
            i + 1
        };
        if non_ascii && core::str::from_utf8(&line[text_start..i]).is_err() {
            return Err(ReplyError::InvalidText);
        }
        if let (Some(span), Ok(from), Ok(to)) = (
            spans.0.get_mut(lines),
            u32::try_from(pos + text_start.min(i)),
            u32::try_from(pos + i),
        ) {
            *span = (from, to);
        }
        lines += 1;
        pos += line_len;
        if last {
            return Ok(Some(Scanned {
                end: pos,
                lines,
                code,
            }));
        }
    }
}

/// Builds the reply [`scan`] accepted: from the text positions it noted, or,
/// for a reply with more lines than that, by finding the lines again.
fn build_parsed(buf: &[u8], scanned: &Scanned, spans: &Spans) -> Result<Reply, ReplyError> {
    let code = scanned.code;
    let reply = &buf[..scanned.end];
    // The text is shorter than the wire form: one allocation, never grown.
    let mut joined = Vec::with_capacity(reply.len().saturating_sub(4 * scanned.lines));
    let mut enhanced = None;
    let mut add = |i: usize, text: &[u8]| add_line(&mut joined, &mut enhanced, code, i, text);
    match spans.0.get(..scanned.lines) {
        Some(noted) => {
            for (i, &(from, to)) in noted.iter().enumerate() {
                add(i, &reply[from as usize..to as usize]);
            }
        }
        None => {
            let mut rest = reply;
            let mut i = 0;
            while let Some(lf) = find_lf(rest) {
                let content = &rest[..lf];
                let content = content.strip_suffix(b"\r").unwrap_or(content);
                add(i, content.get(4..).unwrap_or_default());
                rest = &rest[lf + 1..];
                i += 1;
            }
        }
    }
    // `scan` checked the text of every line: it is UTF-8, and the lines were
    // cut at ASCII positions. One check for all of it.
    let text = String::from_utf8(joined).map_err(|_| ReplyError::InvalidText)?;
    Ok(Reply {
        code,
        enhanced,
        text,
    })
}

/// Appends line `i` of a parsed reply, its `text` found at `code`, to
/// `joined`: the first line decides the enhanced code, every line that starts
/// with it loses it.
#[inline(always)]
fn add_line(
    joined: &mut Vec<u8>,
    enhanced: &mut Option<EnhancedCode>,
    code: ReplyCode,
    i: usize,
    text: &[u8],
) {
    if i == 0 {
        *enhanced = detect_enhanced(text, code).map(|(e, _)| e);
    } else {
        joined.push(b'\n');
    }
    let n = match *enhanced {
        Some(e) => strip_len(text, code, e).unwrap_or(0),
        None => 0,
    };
    joined.extend_from_slice(&text[n..]);
}

/// The first LF in `buf`, eight bytes at a time (reply lines are short).
#[inline]
fn find_lf(buf: &[u8]) -> Option<usize> {
    let mut at = 0;
    while at < buf.len() {
        let found = swar::eq(swar::load(&buf[at..]), b'\n');
        if found != 0 {
            return Some(at + swar::first(found));
        }
        at += 8;
    }
    None
}

#[cfg(test)]
mod tests;
