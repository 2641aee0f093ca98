//! SMTP commands (RFC 5321 §4.1.1) and the extension commands this crate speaks:
//! LHLO (RFC 2033 §4.1), BDAT (RFC 3030 §2), STARTTLS (RFC 3207 §4) and AUTH
//! (RFC 4954 §4).
//!
//! [`parse_command`] takes one command line *without* its CRLF (frame it first with
//! [`frame_line`](crate::wire::line::frame_line)); [`Command::encode`] writes the
//! canonical form *with* CRLF. Verbs are case-insensitive on input and upper-case on
//! output. Syntax is strict; the one leniency knob is [`HeloSyntax`]. Trailing
//! white space before the line end is always tolerated and stripped, as RFC
//! 5321 §4.1.1 asks of receivers.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::wire::params::{
    MailParameters, ParamError, ParamOptions, RcptParameters, parse_mail_parameters,
    parse_rcpt_parameters,
};
use crate::wire::path::{
    ForwardPath, Host, PathError, PathOptions, ReversePath, is_qtext, is_quoted_pair_char,
    parse_forward_path, parse_reverse_path,
};
use crate::wire::sasl::Mechanism;
use crate::wire::{fast, split_once_byte};

/// The verb of a command this crate knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Verb {
    /// HELO (RFC 5321 §4.1.1.1).
    Helo,
    /// EHLO (RFC 5321 §4.1.1.1).
    Ehlo,
    /// LHLO (RFC 2033 §4.1).
    Lhlo,
    /// MAIL (RFC 5321 §4.1.1.2).
    Mail,
    /// RCPT (RFC 5321 §4.1.1.3).
    Rcpt,
    /// DATA (RFC 5321 §4.1.1.4).
    Data,
    /// BDAT (RFC 3030 §2).
    Bdat,
    /// RSET (RFC 5321 §4.1.1.5).
    Rset,
    /// VRFY (RFC 5321 §4.1.1.6).
    Vrfy,
    /// EXPN (RFC 5321 §4.1.1.7).
    Expn,
    /// HELP (RFC 5321 §4.1.1.8).
    Help,
    /// NOOP (RFC 5321 §4.1.1.9).
    Noop,
    /// QUIT (RFC 5321 §4.1.1.10).
    Quit,
    /// STARTTLS (RFC 3207 §4).
    StartTls,
    /// AUTH (RFC 4954 §4).
    Auth,
}

impl Verb {
    /// Every verb.
    const ALL: [Verb; 15] = [
        Verb::Helo,
        Verb::Ehlo,
        Verb::Lhlo,
        Verb::Mail,
        Verb::Rcpt,
        Verb::Data,
        Verb::Bdat,
        Verb::Rset,
        Verb::Vrfy,
        Verb::Expn,
        Verb::Help,
        Verb::Noop,
        Verb::Quit,
        Verb::StartTls,
        Verb::Auth,
    ];

    /// The verb as it goes on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Verb::Helo => "HELO",
            Verb::Ehlo => "EHLO",
            Verb::Lhlo => "LHLO",
            Verb::Mail => "MAIL",
            Verb::Rcpt => "RCPT",
            Verb::Data => "DATA",
            Verb::Bdat => "BDAT",
            Verb::Rset => "RSET",
            Verb::Vrfy => "VRFY",
            Verb::Expn => "EXPN",
            Verb::Help => "HELP",
            Verb::Noop => "NOOP",
            Verb::Quit => "QUIT",
            Verb::StartTls => "STARTTLS",
            Verb::Auth => "AUTH",
        }
    }

    /// Looks a verb up, case-insensitively.
    #[inline]
    pub fn from_name(name: &str) -> Option<Verb> {
        Verb::from_bytes(name.as_bytes())
    }

    /// [`Verb::from_name`] on bytes: one word compare instead of a search.
    ///
    /// Every verb is letters only, and OR-ing 0x20 into a byte maps exactly two
    /// bytes onto a lower-case letter, the letter and its upper case, so a
    /// folded word equals a folded verb exactly when the bytes match it
    /// case-insensitively. A four-letter word is looked up by a perfect hash
    /// of its folded form (a multiply and a shift), so the lookup costs the
    /// same, and predicts as well, whatever the verb.
    #[inline]
    fn from_bytes(name: &[u8]) -> Option<Verb> {
        const STARTTLS: u64 = u64::from_le_bytes(*b"STARTTLS") | 0x2020_2020_2020_2020;
        match name.len() {
            4 => {
                let w = u32::from_le_bytes(*name.first_chunk::<4>()?) | 0x2020_2020;
                // Empty slots hold 0, which no folded word equals.
                let (word, verb) = VERB_TABLE[verb_slot(w)];
                (word == w).then_some(verb)
            }
            8 => {
                let w = u64::from_le_bytes(*name.first_chunk::<8>()?) | 0x2020_2020_2020_2020;
                (w == STARTTLS).then_some(Verb::StartTls)
            }
            _ => None,
        }
    }

    /// Whether a client must wait for this command's reply before sending more
    /// (RFC 2920 §3.1: the last command of a pipelined group is EHLO, DATA, VRFY,
    /// EXPN, TURN, QUIT or NOOP; RFC 3207 §4.2 adds STARTTLS and RFC 4954 §4 AUTH,
    /// and HELO/LHLO behave as EHLO). BDAT chunks may be pipelined (RFC 3030 §4.2).
    pub const fn ends_pipeline_group(self) -> bool {
        matches!(
            self,
            Verb::Helo
                | Verb::Ehlo
                | Verb::Lhlo
                | Verb::Data
                | Verb::Vrfy
                | Verb::Expn
                | Verb::Help
                | Verb::Noop
                | Verb::Quit
                | Verb::StartTls
                | Verb::Auth
        )
    }
}

/// The slot of a folded four-letter word in [`VERB_TABLE`]: a
/// multiplicative hash, its multiplier picked so that the verbs' slots
/// differ (checked when the table is built).
const fn verb_slot(folded: u32) -> usize {
    (folded.wrapping_mul(0x787c_d8df) >> 28) as usize
}

/// Each four-letter verb in its [`verb_slot`], with its folded word; 0 in the
/// empty slots.
const VERB_TABLE: [(u32, Verb); 16] = {
    let mut table = [(0u32, Verb::Helo); 16];
    let mut i = 0;
    while i < Verb::ALL.len() {
        let verb = Verb::ALL[i];
        let name = verb.as_str().as_bytes();
        i += 1;
        if name.len() != 4 {
            continue;
        }
        let folded = u32::from_le_bytes([name[0], name[1], name[2], name[3]]) | 0x2020_2020;
        let slot = verb_slot(folded);
        // Two verbs in one slot: the build fails here.
        assert!(
            table[slot].0 == 0,
            "verb_slot's multiplier must separate the verbs"
        );
        table[slot] = (folded, verb);
    }
    table
};

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How strictly the HELO/EHLO/LHLO argument is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HeloSyntax {
    /// RFC 5321 §4.1.1.1: a domain (or, for EHLO/LHLO, an address literal).
    #[default]
    Strict,
    /// Any single token of printable characters is accepted, as Postfix does unless
    /// `reject_invalid_helo_hostname` is set: many real clients announce names with
    /// underscores or bare IP addresses. Invalid names become [`HeloName::Unchecked`].
    Lenient,
}

/// What the client called itself in HELO, EHLO or LHLO.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HeloName<'a> {
    /// A syntactically valid domain or address literal.
    Host(Host<'a>),
    /// A name that is not RFC 5321 syntax, accepted under [`HeloSyntax::Lenient`].
    Unchecked(Cow<'a, str>),
}

impl HeloName<'_> {
    /// A `'static` copy.
    pub fn into_owned(self) -> HeloName<'static> {
        match self {
            HeloName::Host(h) => HeloName::Host(h.into_owned()),
            HeloName::Unchecked(s) => HeloName::Unchecked(Cow::Owned(s.into_owned())),
        }
    }
}

impl fmt::Display for HeloName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeloName::Host(h) => h.fmt(f),
            HeloName::Unchecked(s) => f.write_str(s),
        }
    }
}

/// Options for [`parse_command`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ParseOptions {
    /// The server offers SMTPUTF8 (RFC 6531 §3.1): a MAIL command that carries the
    /// SMTPUTF8 parameter may have a UTF-8 reverse-path and parameter values.
    pub smtputf8: bool,
    /// The current transaction was started with SMTPUTF8 (RFC 6531 §3.4): RCPT
    /// paths and parameter values may be UTF-8.
    pub utf8_transaction: bool,
    /// Path length limits (`allow_utf8` is ignored: the two fields above decide).
    pub path: PathOptions,
    /// HELO/EHLO/LHLO argument checking.
    pub helo: HeloSyntax,
}

/// One SMTP command.
///
/// Borrowed from the command line it was parsed from; [`Command::into_owned`]
/// makes it `'static`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command<'a> {
    /// `HELO domain` (RFC 5321 §4.1.1.1).
    Helo(HeloName<'a>),
    /// `EHLO domain-or-literal` (RFC 5321 §4.1.1.1).
    Ehlo(HeloName<'a>),
    /// `LHLO domain-or-literal` (RFC 2033 §4.1).
    Lhlo(HeloName<'a>),
    /// `MAIL FROM:<reverse-path> [params]` (RFC 5321 §4.1.1.2).
    Mail {
        /// The reverse-path; [`ReversePath::Null`] for bounces.
        from: ReversePath<'a>,
        /// The ESMTP parameters.
        params: MailParameters<'a>,
    },
    /// `RCPT TO:<forward-path> [params]` (RFC 5321 §4.1.1.3).
    Rcpt {
        /// The forward-path (source routes already dropped).
        to: ForwardPath<'a>,
        /// The ESMTP parameters.
        params: RcptParameters<'a>,
    },
    /// `DATA` (RFC 5321 §4.1.1.4).
    Data,
    /// `BDAT size [LAST]` (RFC 3030 §2): `size` octets of message follow the line.
    Bdat {
        /// The chunk's size in octets.
        size: u64,
        /// Whether this is the last chunk.
        last: bool,
    },
    /// `RSET` (RFC 5321 §4.1.1.5).
    Rset,
    /// `VRFY string` (RFC 5321 §4.1.1.6). The value: a quoted-string argument
    /// (RFC 5321 §4.1.2) is decoded, `VRFY "John Smith"` giving `John Smith`;
    /// any other argument is kept as sent.
    Vrfy(Cow<'a, str>),
    /// `EXPN string` (RFC 5321 §4.1.1.7), decoded as for [`Command::Vrfy`].
    Expn(Cow<'a, str>),
    /// `HELP [string]` (RFC 5321 §4.1.1.8), decoded as for [`Command::Vrfy`].
    Help(Option<Cow<'a, str>>),
    /// `NOOP [string]` (RFC 5321 §4.1.1.9). The server SHOULD ignore the
    /// string, so it is kept exactly as sent.
    Noop(Option<Cow<'a, str>>),
    /// `QUIT` (RFC 5321 §4.1.1.10).
    Quit,
    /// `STARTTLS` (RFC 3207 §4).
    StartTls,
    /// `AUTH mechanism [initial-response]` (RFC 4954 §4).
    Auth {
        /// The SASL mechanism.
        mechanism: Mechanism<'a>,
        /// The initial response as sent: base64, or `=` for an empty one. Decode it
        /// with [`decode_initial_response`](crate::wire::sasl::decode_initial_response).
        initial_response: Option<Cow<'a, str>>,
    },
    /// A verb this crate does not know, kept for the application
    /// (RFC 5321 §4.2.4: the server answers 500 unless it knows better).
    Unknown {
        /// The verb, as sent.
        verb: Cow<'a, str>,
        /// Everything after the first space, if anything, without trailing
        /// white space (RFC 5321 §4.1.1).
        args: Option<Cow<'a, str>>,
    },
}

/// Why a command line could not be parsed.
///
/// Each kind maps to a reply class: [`CommandError::Syntax`] and
/// [`CommandError::Path`] are 501 (or 553 for a bad mailbox),
/// [`CommandError::Params`] is 501/555 (RFC 5321 §4.1.1.11),
/// [`CommandError::Utf8RequiresSmtpUtf8`] is 553 5.6.7 (RFC 6531 §3.5).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// The line is empty, or holds nothing but white space.
    #[error("empty command line")]
    Empty,
    /// The line is not valid UTF-8.
    #[error("command line is not valid UTF-8")]
    InvalidUtf8,
    /// The line contains NUL or another control character (CR and LF cannot
    /// appear: line framing removed them).
    #[error("control character in command line")]
    ControlCharacter,
    /// A known verb with arguments that do not fit its grammar.
    #[error("syntax error in {0} arguments")]
    Syntax(Verb),
    /// A bad reverse- or forward-path, or HELO name.
    #[error("{verb}: {error}")]
    Path {
        /// The command.
        verb: Verb,
        /// What was wrong with the path.
        error: PathError,
    },
    /// Bad MAIL or RCPT parameters.
    #[error("{verb}: {error}")]
    Params {
        /// The command.
        verb: Verb,
        /// What was wrong with the parameters.
        error: ParamError,
    },
    /// A non-ASCII address or parameter without SMTPUTF8 (RFC 6531 §3.5).
    #[error("{0}: UTF-8 address without SMTPUTF8")]
    Utf8RequiresSmtpUtf8(Verb),
}

impl CommandError {
    /// The command the error is about, when the verb was recognised.
    pub fn verb(&self) -> Option<Verb> {
        match self {
            CommandError::Empty | CommandError::InvalidUtf8 | CommandError::ControlCharacter => {
                None
            }
            CommandError::Syntax(v) | CommandError::Utf8RequiresSmtpUtf8(v) => Some(*v),
            CommandError::Path { verb, .. } | CommandError::Params { verb, .. } => Some(*verb),
        }
    }
}

/// Parses one command line, without its CRLF.
///
/// RFC 5321 §4.1.1: verbs are case-insensitive, separated from their arguments
/// by one SP. `MAIL FROM:` and `RCPT TO:` are followed directly by the path
/// (RFC 5321 §3.3 forbids the space some clients put after the colon; Postfix
/// rejects it too under `strict_rfc821_envelopes`).
///
/// Trailing white space (SP and HT) before the line end is ignored, for every
/// verb: RFC 5321 §4.1.1 says receivers SHOULD tolerate it, and real clients
/// send it (`DATA `, `MAIL FROM:<a@b.example> `). It is stripped before the
/// line is parsed, so it never shows in an argument. A line of nothing but
/// white space is [`CommandError::Empty`].
///
/// ```
/// use smtp_proto::wire::command::{parse_command, Command, ParseOptions};
/// let cmd = parse_command(b"bdat 1000 last", &ParseOptions::default()).unwrap();
/// assert_eq!(cmd, Command::Bdat { size: 1000, last: true });
/// let cmd = parse_command(b"DATA \t", &ParseOptions::default()).unwrap();
/// assert_eq!(cmd, Command::Data);
/// ```
pub fn parse_command<'a>(line: &'a [u8], opts: &ParseOptions) -> Result<Command<'a>, CommandError> {
    // A line that is a four-letter verb and nothing else (DATA, RSET, QUIT,
    // NOOP): a verb is letters only, so the line is printable, has no
    // trailing blank and no argument; the checks below would find the same.
    if let Some(four) = line.first_chunk::<4>()
        && line.len() == 4
        && let Some(verb) = Verb::from_bytes(four)
    {
        return match verb {
            Verb::Data => Ok(Command::Data),
            Verb::Rset => Ok(Command::Rset),
            Verb::Quit => Ok(Command::Quit),
            Verb::Noop => Ok(Command::Noop(None)),
            Verb::Help => Ok(Command::Help(None)),
            // The others take an argument.
            _ => Err(CommandError::Syntax(verb)),
        };
    }
    parse_line(line, opts)
}

/// [`parse_command`] without its shortcut for a verb alone: every check.
#[inline(always)]
fn parse_line<'a>(line: &'a [u8], opts: &ParseOptions) -> Result<Command<'a>, CommandError> {
    // The usual line is printable ASCII: one branch-free pass proves it is
    // UTF-8 without control characters. Anything else takes the full checks
    // first, which also decide which error comes first.
    let printable = is_printable_ascii(line);
    if !printable {
        core::str::from_utf8(line).map_err(|_| CommandError::InvalidUtf8)?;
    }
    // RFC 5321 §4.1.1: "receivers SHOULD tolerate trailing white space before
    // the terminating <CRLF>".
    let line = trim_end_blanks(line);
    if line.is_empty() {
        return Err(CommandError::Empty);
    }
    if !printable && has_control(line) {
        return Err(CommandError::ControlCharacter);
    }
    // The line is valid UTF-8 and split at ASCII bytes, so both sides are too;
    // only an argument is made a `str` (a verb alone never needs one).
    let text = |b: &'a [u8]| core::str::from_utf8(b).map_err(|_| CommandError::InvalidUtf8);
    // Every verb but STARTTLS has four letters: one and a space needs no
    // search for the verb's end (a verb alone was answered above).
    let (verb_bytes, args) = match (line.first_chunk::<4>(), line.get(4)) {
        (Some(four), Some(b' ')) if Verb::from_bytes(four).is_some() => {
            (&four[..], Some(&line[5..]))
        }
        _ => match verb_end(line) {
            Some(sp) => (&line[..sp], Some(&line[sp + 1..])),
            None => (line, None),
        },
    };
    let Some(verb) = Verb::from_bytes(verb_bytes) else {
        return Ok(Command::Unknown {
            verb: Cow::Borrowed(text(verb_bytes)?),
            args: args.map(text).transpose()?.map(Cow::Borrowed),
        });
    };
    // BDAT's arguments are read as bytes (the hot path of CHUNKING).
    if verb == Verb::Bdat {
        return match args.and_then(parse_bdat) {
            Some((size, last)) => Ok(Command::Bdat { size, last }),
            None => Err(CommandError::Syntax(verb)),
        };
    }
    let args = args.map(text).transpose()?;
    let syntax = || CommandError::Syntax(verb);
    // Each arm builds its command in place: a command passed through a helper
    // would be built in a temporary and copied out (200 bytes).
    match verb {
        Verb::Helo | Verb::Ehlo | Verb::Lhlo => {
            let arg = args.ok_or_else(syntax)?;
            // The usual name in one pass (see `wire::fast`); anything else,
            // and every error, from the full parser.
            let name = if printable && let Some(name) = fast::helo_domain(arg, opts) {
                name
            } else {
                parse_helo_name(verb, arg, opts)?
            };
            Ok(match verb {
                Verb::Helo => Command::Helo(name),
                Verb::Ehlo => Command::Ehlo(name),
                _ => Command::Lhlo(name),
            })
        }
        // The usual shape in one pass (see `wire::fast`); anything else, and
        // every error, from the full parsers.
        Verb::Mail => {
            let args = args.ok_or_else(syntax)?;
            if printable && let Some(command) = fast::mail(args, opts) {
                return Ok(command);
            }
            parse_mail(args, opts)
        }
        Verb::Rcpt => {
            let args = args.ok_or_else(syntax)?;
            if printable && let Some(command) = fast::rcpt(args, opts) {
                return Ok(command);
            }
            parse_rcpt(args, opts)
        }
        Verb::Data | Verb::Rset | Verb::Quit | Verb::StartTls if args.is_some() => Err(syntax()),
        Verb::Data => Ok(Command::Data),
        Verb::Rset => Ok(Command::Rset),
        Verb::Quit => Ok(Command::Quit),
        Verb::StartTls => Ok(Command::StartTls),
        // Answered above, from the bytes.
        Verb::Bdat => Err(syntax()),
        Verb::Vrfy | Verb::Expn => {
            let arg = args.filter(|a| !a.is_empty()).ok_or_else(syntax)?;
            let arg = parse_string_arg(arg);
            Ok(if verb == Verb::Vrfy {
                Command::Vrfy(arg)
            } else {
                Command::Expn(arg)
            })
        }
        Verb::Help | Verb::Noop => {
            if args.is_some_and(str::is_empty) {
                return Err(syntax());
            }
            Ok(if verb == Verb::Help {
                Command::Help(args.map(parse_string_arg))
            } else {
                // RFC 5321 §4.1.1.9: the server SHOULD ignore NOOP's string, so
                // it is kept as sent (quotes included).
                Command::Noop(args.map(Cow::Borrowed))
            })
        }
        Verb::Auth => match parse_auth(args.ok_or_else(syntax)?) {
            Some((mechanism, ir)) => Ok(Command::Auth {
                mechanism,
                initial_response: ir.map(Cow::Borrowed),
            }),
            None => Err(syntax()),
        },
    }
}

/// The argument of VRFY, EXPN or HELP: `String = Atom / Quoted-string`
/// (RFC 5321 §4.1.2, §4.1.1.6-8). A quoted-string that spans the whole argument
/// is decoded (quotes removed, quoted-pairs undone); anything else is taken as
/// it stands, as real clients send `VRFY John Smith` and `VRFY <a@b.example>`.
fn parse_string_arg(arg: &str) -> Cow<'_, str> {
    decode_quoted_string(arg).unwrap_or(Cow::Borrowed(arg))
}

/// Decodes `Quoted-string = DQUOTE *QcontentSMTP DQUOTE` (RFC 5321 §4.1.2,
/// with `UTF8-non-ascii` in `qtextSMTP` per RFC 6531 §3.3) when it is the
/// whole of `s`; `None` otherwise. Borrows unless there is a quoted-pair.
fn decode_quoted_string(s: &str) -> Option<Cow<'_, str>> {
    let inner = s.strip_prefix('"')?;
    let mut owned: Option<String> = None;
    let mut chars = inner.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => {
                if i + 1 != inner.len() {
                    return None;
                }
                return Some(owned.map_or(Cow::Borrowed(&inner[..i]), Cow::Owned));
            }
            '\\' => {
                let (_, q) = chars.next()?;
                if !is_quoted_pair_char(q) {
                    return None;
                }
                owned
                    .get_or_insert_with(|| String::from(&inner[..i]))
                    .push(q);
            }
            c if is_qtext(c, true) => {
                if let Some(o) = owned.as_mut() {
                    o.push(c);
                }
            }
            _ => return None,
        }
    }
    None
}

/// Writes a VRFY, EXPN or HELP argument so that [`parse_string_arg`] reads it
/// back: as it stands when that works, otherwise as a quoted-string (RFC 5321
/// §4.1.2), i.e. when it is empty, ends in white space (which the parser strips,
/// RFC 5321 §4.1.1) or would itself read as a quoted-string.
fn write_string_arg(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    let plain = !s.is_empty() && !s.ends_with([' ', '\t']) && decode_quoted_string(s).is_none();
    if plain {
        return f.write_str(s);
    }
    f.write_str("\"")?;
    for c in s.chars() {
        if matches!(c, '"' | '\\') {
            f.write_str("\\")?;
        }
        write!(f, "{c}")?;
    }
    f.write_str("\"")
}

/// The first SP, which ends the verb. Known verbs are at most 8 bytes, so
/// it is nearly always among the first 9: a plain loop there, `memchr` for
/// the rest of a line whose verb is longer.
#[inline]
fn verb_end(line: &[u8]) -> Option<usize> {
    let head = line.len().min(9);
    match line[..head].iter().position(|&b| b == b' ') {
        Some(i) => Some(i),
        None if line.len() > head => memchr::memchr(b' ', &line[head..]).map(|i| head + i),
        None => None,
    }
}

/// `line` without trailing SP and HT.
#[inline]
fn trim_end_blanks(line: &[u8]) -> &[u8] {
    let mut end = line.len();
    while end > 0 && matches!(line[end - 1], b' ' | b'\t') {
        end -= 1;
    }
    &line[..end]
}

/// Whether every byte is HT or printable ASCII (0x20..=0x7E), eight bytes at
/// a time (see [`swar`](crate::wire::swar)).
#[inline]
fn is_printable_ascii(b: &[u8]) -> bool {
    use crate::wire::swar;
    swar::none(b, |w| swar::control(w) | (w & swar::HIGH))
}

/// Whether `b` holds a control character other than HT: C0, DEL, or C1
/// (U+0080..=U+009F, encoded in UTF-8 as `C2 80`..`C2 9F`). A byte scan: `b` is
/// valid UTF-8, so a `C2` byte always starts a two-byte character.
fn has_control(b: &[u8]) -> bool {
    b.iter().enumerate().any(|(i, &c)| {
        (c < 0x20 && c != b'\t')
            || c == 0x7f
            || (c == 0xc2 && b.get(i + 1).is_some_and(|n| (0x80..=0x9f).contains(n)))
    })
}

/// RFC 5321 §4.1.1.1 (and RFC 2033 §4.1): `Domain` for HELO, `Domain /
/// address-literal` for EHLO and LHLO.
#[inline(always)]
pub(crate) fn parse_helo_name<'a>(
    verb: Verb,
    arg: &'a str,
    opts: &ParseOptions,
) -> Result<HeloName<'a>, CommandError> {
    if arg.is_empty() {
        return Err(CommandError::Syntax(verb));
    }
    let path = PathOptions {
        allow_utf8: opts.smtputf8,
        ..opts.path
    };
    let strict = match Host::parse(arg, &path) {
        Ok(Host::Literal(_)) if verb == Verb::Helo => Err(PathError::Syntax),
        other => other,
    };
    // Neither grammar admits SP or HT, so only a refused name can hold one:
    // more than one argument is a syntax error, whatever the leniency.
    match (strict, opts.helo) {
        (Ok(host), _) => Ok(HeloName::Host(host)),
        (Err(_), _) if arg.bytes().any(|b| b == b' ' || b == b'\t') => {
            Err(CommandError::Syntax(verb))
        }
        (Err(_), HeloSyntax::Lenient) if arg.len() <= path.max_domain.max(255) + 2 => {
            Ok(HeloName::Unchecked(Cow::Borrowed(arg)))
        }
        (Err(error), _) => Err(CommandError::Path { verb, error }),
    }
}

/// Splits `prefix` (case-insensitive, e.g. `FROM:`) off the front of `args`.
fn strip_prefix_ci<'a>(args: &'a str, prefix: &str) -> Option<&'a str> {
    let head = args.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &args[prefix.len()..])
}

/// RFC 5321 §4.1.1.2: `"MAIL FROM:" Reverse-path [SP Mail-parameters]`.
pub(crate) fn parse_mail<'a>(
    args: &'a str,
    opts: &ParseOptions,
) -> Result<Command<'a>, CommandError> {
    let verb = Verb::Mail;
    let rest = strip_prefix_ci(args, "FROM:").ok_or(CommandError::Syntax(verb))?;
    let utf8 = opts.smtputf8 || opts.utf8_transaction;
    let path_opts = PathOptions {
        allow_utf8: utf8,
        ..opts.path
    };
    let (from, rest) =
        parse_reverse_path(rest, &path_opts).map_err(|error| CommandError::Path { verb, error })?;
    let params = parse_mail_parameters(rest, &ParamOptions { allow_utf8: utf8 })
        .map_err(|error| CommandError::Params { verb, error })?;
    if !params.smtputf8 && !opts.utf8_transaction && !args.is_ascii() {
        return Err(CommandError::Utf8RequiresSmtpUtf8(verb));
    }
    Ok(Command::Mail { from, params })
}

/// RFC 5321 §4.1.1.3: `"RCPT TO:" ( "<Postmaster@" Domain ">" / "<Postmaster>" /
/// Forward-path ) [SP Rcpt-parameters]`.
pub(crate) fn parse_rcpt<'a>(
    args: &'a str,
    opts: &ParseOptions,
) -> Result<Command<'a>, CommandError> {
    let verb = Verb::Rcpt;
    let rest = strip_prefix_ci(args, "TO:").ok_or(CommandError::Syntax(verb))?;
    if !opts.utf8_transaction && !rest.is_ascii() {
        return Err(CommandError::Utf8RequiresSmtpUtf8(verb));
    }
    let path_opts = PathOptions {
        allow_utf8: opts.utf8_transaction,
        ..opts.path
    };
    let (to, rest) =
        parse_forward_path(rest, &path_opts).map_err(|error| CommandError::Path { verb, error })?;
    let params = parse_rcpt_parameters(
        rest,
        &ParamOptions {
            allow_utf8: opts.utf8_transaction,
        },
    )
    .map_err(|error| CommandError::Params { verb, error })?;
    Ok(Command::Rcpt { to, params })
}

/// RFC 3030 §2: `"BDAT" SP chunk-size [ SP end-marker ]`, `chunk-size = 1*DIGIT`,
/// `end-marker = "LAST"`. A size that does not fit in 64 bits is a syntax error.
/// Returns the size and whether LAST was given.
fn parse_bdat(args: &[u8]) -> Option<(u64, bool)> {
    let (size, last) = match args.iter().position(|&b| b == b' ') {
        Some(sp) if args[sp + 1..].eq_ignore_ascii_case(b"LAST") => (&args[..sp], true),
        Some(_) => return None,
        None => (args, false),
    };
    if size.is_empty() {
        return None;
    }
    let size = size.iter().try_fold(0u64, |n, &b| {
        let digit = b.checked_sub(b'0').filter(|d| *d < 10)?;
        n.checked_mul(10)?.checked_add(u64::from(digit))
    })?;
    Some((size, last))
}

/// RFC 4954 §4: `"AUTH" SP sasl-mech [SP initial-response]`, where the initial
/// response is base64 or `=`. The base64 itself is checked by the SASL decoder, so
/// that the server can answer 501 with the right text.
///
/// Returns the mechanism and the initial response.
fn parse_auth(args: &str) -> Option<(Mechanism<'_>, Option<&str>)> {
    let (mech, ir) = match split_once_byte(args, b' ') {
        Some((mech, ir)) => (mech, Some(ir)),
        None => (args, None),
    };
    let mechanism = Mechanism::parse(mech)?;
    if let Some(ir) = ir
        && (ir.is_empty() || !ir.bytes().all(|b| b.is_ascii_graphic()))
    {
        return None;
    }
    Some((mechanism, ir))
}

impl<'a> Command<'a> {
    /// The verb, or `None` for [`Command::Unknown`].
    pub fn verb(&self) -> Option<Verb> {
        Some(match self {
            Command::Helo(_) => Verb::Helo,
            Command::Ehlo(_) => Verb::Ehlo,
            Command::Lhlo(_) => Verb::Lhlo,
            Command::Mail { .. } => Verb::Mail,
            Command::Rcpt { .. } => Verb::Rcpt,
            Command::Data => Verb::Data,
            Command::Bdat { .. } => Verb::Bdat,
            Command::Rset => Verb::Rset,
            Command::Vrfy(_) => Verb::Vrfy,
            Command::Expn(_) => Verb::Expn,
            Command::Help(_) => Verb::Help,
            Command::Noop(_) => Verb::Noop,
            Command::Quit => Verb::Quit,
            Command::StartTls => Verb::StartTls,
            Command::Auth { .. } => Verb::Auth,
            Command::Unknown { .. } => return None,
        })
    }

    /// Appends the command's wire form, CRLF included, to `out`.
    ///
    /// The output is exactly what [`parse_command`] accepts back. The
    /// `String` argument of VRFY, EXPN and HELP (RFC 5321 §4.1.2) is written as
    /// it is unless it is empty, ends in white space or reads as a
    /// quoted-string: then it is written as a quoted-string, so that it parses
    /// back to the same value. Other free-text fields (NOOP, unknown commands)
    /// are written as they are. A caller that builds a command from untrusted
    /// text checks it with [`Command::validate`] first.
    pub fn encode(&self, out: &mut Vec<u8>) {
        use core::fmt::Write;
        let mut w = VecWriter(out);
        // Writing into a Vec cannot fail.
        let _ = write!(w, "{self}\r\n");
    }

    /// The wire form, CRLF included.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    /// Checks that encoding this command produces one well-formed line that
    /// parses back to the same command (no CR, LF or NUL smuggled in through
    /// free-text fields). Use it before sending commands built from caller input.
    pub fn validate(&self, opts: &ParseOptions) -> Result<(), CommandError> {
        let mut bytes = self.to_bytes();
        bytes.truncate(bytes.len() - 2);
        if bytes.contains(&b'\r') || bytes.contains(&b'\n') {
            return Err(CommandError::ControlCharacter);
        }
        let parsed = parse_command(&bytes, opts)?;
        if parsed == *self {
            Ok(())
        } else {
            Err(self
                .verb()
                .map_or(CommandError::Empty, CommandError::Syntax))
        }
    }

    /// A `'static` copy.
    pub fn into_owned(self) -> Command<'static> {
        fn own(s: Cow<'_, str>) -> Cow<'static, str> {
            Cow::Owned(s.into_owned())
        }
        match self {
            Command::Helo(n) => Command::Helo(n.into_owned()),
            Command::Ehlo(n) => Command::Ehlo(n.into_owned()),
            Command::Lhlo(n) => Command::Lhlo(n.into_owned()),
            Command::Mail { from, params } => Command::Mail {
                from: from.into_owned(),
                params: params.into_owned(),
            },
            Command::Rcpt { to, params } => Command::Rcpt {
                to: to.into_owned(),
                params: params.into_owned(),
            },
            Command::Data => Command::Data,
            Command::Bdat { size, last } => Command::Bdat { size, last },
            Command::Rset => Command::Rset,
            Command::Vrfy(s) => Command::Vrfy(own(s)),
            Command::Expn(s) => Command::Expn(own(s)),
            Command::Help(s) => Command::Help(s.map(own)),
            Command::Noop(s) => Command::Noop(s.map(own)),
            Command::Quit => Command::Quit,
            Command::StartTls => Command::StartTls,
            Command::Auth {
                mechanism,
                initial_response,
            } => Command::Auth {
                mechanism: mechanism.into_owned(),
                initial_response: initial_response.map(own),
            },
            Command::Unknown { verb, args } => Command::Unknown {
                verb: own(verb),
                args: args.map(own),
            },
        }
    }
}

/// The wire form without CRLF.
impl fmt::Display for Command<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let opt = |f: &mut fmt::Formatter<'_>, v: &str, arg: &Option<Cow<'_, str>>| match arg {
            Some(a) => write!(f, "{v} {a}"),
            None => f.write_str(v),
        };
        match self {
            Command::Helo(n) => write!(f, "HELO {n}"),
            Command::Ehlo(n) => write!(f, "EHLO {n}"),
            Command::Lhlo(n) => write!(f, "LHLO {n}"),
            Command::Mail { from, params } => write!(f, "MAIL FROM:{from}{params}"),
            Command::Rcpt { to, params } => write!(f, "RCPT TO:{to}{params}"),
            Command::Bdat { size, last: true } => write!(f, "BDAT {size} LAST"),
            Command::Bdat { size, last: false } => write!(f, "BDAT {size}"),
            Command::Vrfy(s) => {
                f.write_str("VRFY ")?;
                write_string_arg(f, s)
            }
            Command::Expn(s) => {
                f.write_str("EXPN ")?;
                write_string_arg(f, s)
            }
            Command::Help(None) => f.write_str("HELP"),
            Command::Help(Some(s)) => {
                f.write_str("HELP ")?;
                write_string_arg(f, s)
            }
            Command::Noop(s) => opt(f, "NOOP", s),
            Command::Auth {
                mechanism,
                initial_response,
            } => match initial_response {
                Some(ir) => write!(f, "AUTH {mechanism} {ir}"),
                None => write!(f, "AUTH {mechanism}"),
            },
            Command::Unknown { verb, args } => opt(f, verb, args),
            Command::Data | Command::Rset | Command::Quit | Command::StartTls => {
                f.write_str(self.verb().map_or("", Verb::as_str))
            }
        }
    }
}

/// `fmt::Write` into a byte vector.
struct VecWriter<'v>(&'v mut Vec<u8>);

impl fmt::Write for VecWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::string::ToString;

    fn parse(line: &str) -> Result<Command<'_>, CommandError> {
        parse_command(line.as_bytes(), &ParseOptions::default())
    }

    fn roundtrip(line: &str) {
        let cmd = parse(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!(cmd.to_string(), line, "canonical form of {line}");
        let bytes = cmd.to_bytes();
        let again = parse_command(&bytes[..bytes.len() - 2], &ParseOptions::default()).unwrap();
        assert_eq!(again, cmd);
    }

    /// The word-compare verb lookup against a plain case-insensitive search,
    /// over every verb in mixed case and near misses (a byte off by 0x20 that
    /// is not a case change, wrong lengths).
    #[test]
    fn verb_lookup_matches_a_plain_search() {
        let plain = |name: &[u8]| {
            Verb::ALL
                .into_iter()
                .find(|v| v.as_str().as_bytes().eq_ignore_ascii_case(name))
        };
        for v in Verb::ALL {
            let name = v.as_str().as_bytes();
            for mask in 0u32..(1 << name.len()) {
                let mut n = name.to_vec();
                for (i, b) in n.iter_mut().enumerate() {
                    if mask & (1 << i) != 0 {
                        b.make_ascii_lowercase();
                    }
                }
                assert_eq!(Verb::from_bytes(&n), Some(v));
                // The same byte with bit 5 flipped on a non-letter position
                // never matches: '@' for 'A'... here, each byte minus 0x20.
                for i in 0..n.len() {
                    let mut m = n.clone();
                    m[i] = m[i].to_ascii_uppercase() - 0x20;
                    assert_eq!(Verb::from_bytes(&m), plain(&m), "{m:?}");
                }
            }
            assert_eq!(Verb::from_bytes(&name[..name.len() - 1]), None);
            let mut longer = name.to_vec();
            longer.push(b'X');
            assert_eq!(Verb::from_bytes(&longer), None);
        }
    }

    #[test]
    fn rfc5321_examples_roundtrip() {
        for line in [
            "EHLO bar.com",
            "HELO relay.example.org",
            "EHLO [192.0.2.1]",
            "EHLO [IPv6:2001:db8::1]",
            "LHLO foo.edu",
            "MAIL FROM:<Smith@bar.com>",
            "MAIL FROM:<>",
            "RCPT TO:<Jones@foo.com>",
            "RCPT TO:<Postmaster>",
            "RCPT TO:<Postmaster@foo.com>",
            "DATA",
            "RSET",
            "VRFY Smith",
            "EXPN Example-People",
            "HELP",
            "HELP MAIL",
            "NOOP",
            "NOOP hello there",
            "QUIT",
            "STARTTLS",
            "BDAT 0 LAST",
            "BDAT 86",
            "AUTH PLAIN",
            "AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm",
            "AUTH LOGIN =",
            "MAIL FROM:<a@b.example> SIZE=1000 BODY=8BITMIME",
            "RCPT TO:<a@b.example> NOTIFY=SUCCESS,FAILURE",
        ] {
            roundtrip(line);
        }
    }

    #[test]
    fn verbs_are_case_insensitive() {
        assert_eq!(parse("quit").unwrap(), Command::Quit);
        assert_eq!(parse("StartTLS").unwrap(), Command::StartTls);
        let cmd = parse("mail from:<a@b.example>").unwrap();
        assert_eq!(cmd.to_string(), "MAIL FROM:<a@b.example>");
        let cmd = parse("rcpt To:<postmaster>").unwrap();
        assert_eq!(cmd.to_string(), "RCPT TO:<Postmaster>");
    }

    #[test]
    fn source_routes_are_dropped() {
        let cmd = parse("RCPT TO:<@hosta.int,@jkl.org:userc@d.bar.org>").unwrap();
        assert_eq!(cmd.to_string(), "RCPT TO:<userc@d.bar.org>");
    }

    #[test]
    fn strict_syntax_errors() {
        for (line, verb) in [
            ("DATA x", Verb::Data),
            ("QUIT now", Verb::Quit),
            ("STARTTLS x", Verb::StartTls),
            ("EHLO", Verb::Ehlo),
            ("EHLO ", Verb::Ehlo),
            ("EHLO a b", Verb::Ehlo),
            ("MAIL", Verb::Mail),
            ("MAIL TO:<a@b.example>", Verb::Mail),
            ("RCPT FROM:<a@b.example>", Verb::Rcpt),
            ("VRFY", Verb::Vrfy),
            ("VRFY ", Verb::Vrfy),
            ("VRFY \t ", Verb::Vrfy),
            ("EHLO \t", Verb::Ehlo),
            ("MAIL FROM: ", Verb::Mail),
            ("BDAT", Verb::Bdat),
            ("BDAT x", Verb::Bdat),
            ("BDAT -1", Verb::Bdat),
            ("BDAT 10 FIRST", Verb::Bdat),
            ("BDAT 10 LAST x", Verb::Bdat),
            ("BDAT 18446744073709551616", Verb::Bdat),
            ("AUTH", Verb::Auth),
            ("AUTH NOT/A/MECH", Verb::Auth),
        ] {
            let err = parse(line).expect_err(line);
            assert_eq!(err.verb(), Some(verb), "{line}: {err}");
        }
        assert_eq!(parse(""), Err(CommandError::Empty));
        assert_eq!(
            parse_command(b"NOOP \xff", &ParseOptions::default()),
            Err(CommandError::InvalidUtf8)
        );
        assert_eq!(parse("NOOP a\0b"), Err(CommandError::ControlCharacter));
        assert_eq!(
            parse("MAIL FROM:<a\0@b>"),
            Err(CommandError::ControlCharacter)
        );
        assert_eq!(parse("EHLO a\x7fb"), Err(CommandError::ControlCharacter));
        assert_eq!(parse("NOOP a\u{85}b"), Err(CommandError::ControlCharacter));
        assert!(parse("NOOP a\u{a0}\u{100}b").is_ok());
    }

    /// RFC 5321 §4.1.1: receivers SHOULD tolerate trailing white space.
    #[test]
    fn trailing_white_space_is_tolerated() {
        for line in [
            "EHLO bar.com",
            "HELO relay.example.org",
            "LHLO foo.edu",
            "EHLO [192.0.2.1]",
            "MAIL FROM:<a@b.example>",
            "MAIL FROM:<>",
            "MAIL FROM:<a@b.example> SIZE=1000 BODY=8BITMIME",
            "RCPT TO:<b@mx.test>",
            "RCPT TO:<Postmaster>",
            "RCPT TO:<a@b.example> NOTIFY=SUCCESS,FAILURE",
            "DATA",
            "RSET",
            "NOOP",
            "NOOP hello there",
            "QUIT",
            "STARTTLS",
            "BDAT 86",
            "BDAT 0 LAST",
            "AUTH PLAIN",
            "AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm",
            "AUTH LOGIN =",
            "VRFY Smith",
            "EXPN Example-People",
            "HELP",
            "HELP MAIL",
            "XFOO",
            "XFOO bar baz",
        ] {
            let plain = parse(line).unwrap_or_else(|e| panic!("{line}: {e}"));
            for tail in [" ", "\t", "  ", " \t ", "\t\t"] {
                let padded = format!("{line}{tail}");
                assert_eq!(parse(&padded).as_ref(), Ok(&plain), "{padded:?}");
            }
        }
        assert_eq!(
            parse("XFOO ").unwrap(),
            Command::Unknown {
                verb: "XFOO".into(),
                args: None
            }
        );
        assert_eq!(parse("NOOP \t").unwrap(), Command::Noop(None));
        assert_eq!(parse("HELP ").unwrap(), Command::Help(None));
        assert_eq!(parse(" "), Err(CommandError::Empty));
        assert_eq!(parse(" \t "), Err(CommandError::Empty));
        // Only trailing white space: a space after the colon is still refused.
        assert!(matches!(
            parse("MAIL FROM: <a@b.example> "),
            Err(CommandError::Path { .. })
        ));
    }

    /// RFC 5321 §4.1.2: `String = Atom / Quoted-string` for VRFY, EXPN, HELP.
    #[test]
    fn string_arguments_are_decoded() {
        for (line, value) in [
            (r#"VRFY "x y""#, "x y"),
            (r#"VRFY "x y" "#, "x y"),
            ("VRFY \"x y\"\t", "x y"),
            (r#"VRFY "a\"b\\c""#, r#"a"b\c"#),
            (r#"VRFY "\a""#, "a"),
            (r#"VRFY """#, ""),
            (r#"VRFY "用户""#, "用户"),
            ("VRFY Smith ", "Smith"),
            ("VRFY John Smith\t", "John Smith"),
            ("VRFY <a@b.example> ", "<a@b.example>"),
            // Not one whole quoted-string: kept as sent.
            (r#"VRFY "x y"z"#, r#""x y"z"#),
            (r#"VRFY "x" "y""#, r#""x" "y""#),
            (r#"VRFY "unterminated"#, r#""unterminated"#),
            (r#"VRFY "a\"#, r#""a\"#),
            ("VRFY \"tab\there\"", "\"tab\there\""),
        ] {
            assert_eq!(parse(line), Ok(Command::Vrfy(value.into())), "{line}");
        }
        assert_eq!(
            parse(r#"EXPN "staff list" "#),
            Ok(Command::Expn("staff list".into()))
        );
        assert_eq!(
            parse(r#"HELP "MAIL""#),
            Ok(Command::Help(Some("MAIL".into())))
        );
        assert_eq!(parse("HELP MAIL\t"), Ok(Command::Help(Some("MAIL".into()))));
        // NOOP's string is ignored by the server: kept as sent.
        assert_eq!(
            parse(r#"NOOP "x y" "#),
            Ok(Command::Noop(Some(r#""x y""#.into())))
        );
        // Borrowed unless there is a quoted-pair to undo.
        assert!(matches!(
            parse(r#"VRFY "x y""#),
            Ok(Command::Vrfy(Cow::Borrowed("x y")))
        ));
    }

    #[test]
    fn string_arguments_are_quoted_when_needed() {
        let opts = ParseOptions::default();
        for (cmd, wire) in [
            (Command::Vrfy("Smith".into()), "VRFY Smith"),
            (Command::Vrfy("John Smith".into()), "VRFY John Smith"),
            (Command::Vrfy("".into()), r#"VRFY """#),
            (Command::Vrfy("x ".into()), r#"VRFY "x ""#),
            (Command::Vrfy(r#""x""#.into()), r#"VRFY "\"x\"""#),
            (Command::Vrfy(r#""a\b""#.into()), r#"VRFY "\"a\\b\"""#),
            (Command::Vrfy(r#""open"#.into()), r#"VRFY "open"#),
            (Command::Expn("list ".into()), r#"EXPN "list ""#),
            (Command::Help(Some(" ".into())), r#"HELP " ""#),
            (Command::Help(Some("".into())), r#"HELP """#),
            (Command::Help(None), "HELP"),
        ] {
            assert_eq!(cmd.to_string(), wire);
            assert_eq!(parse(wire).as_ref(), Ok(&cmd), "{wire}");
            assert_eq!(cmd.validate(&opts), Ok(()), "{wire}");
        }
        // HT cannot be quoted (quoted-pairSMTP is %d32-126): refused by validate.
        assert!(Command::Vrfy("x\t".into()).validate(&opts).is_err());
    }

    #[test]
    fn space_after_colon_is_rejected() {
        assert!(matches!(
            parse("MAIL FROM: <a@b.example>"),
            Err(CommandError::Path { .. })
        ));
    }

    #[test]
    fn bdat_limits() {
        assert_eq!(
            parse("BDAT 18446744073709551615 LAST").unwrap(),
            Command::Bdat {
                size: u64::MAX,
                last: true
            }
        );
        assert_eq!(
            parse("bdat 7 last").unwrap(),
            Command::Bdat {
                size: 7,
                last: true
            }
        );
        assert_eq!(
            parse("BDAT 0009").unwrap(),
            Command::Bdat {
                size: 9,
                last: false
            }
        );
        // The bytes just outside the digits, and empty sizes.
        for bad in [
            "BDAT 1/",
            "BDAT :1",
            "BDAT  5",
            "BDAT 5  LAST",
            "BDAT  LAST",
        ] {
            assert_eq!(parse(bad), Err(CommandError::Syntax(Verb::Bdat)), "{bad}");
        }
    }

    /// The shortcut for a four-letter line gives what every check gives:
    /// each verb in every mix of cases, and four bytes of anything.
    #[test]
    fn a_verb_alone_parses_as_the_full_checks_say() {
        let opts = ParseOptions::default();
        let verbs = [
            "HELO", "EHLO", "LHLO", "MAIL", "RCPT", "DATA", "BDAT", "RSET", "VRFY",
        ];
        let more = [
            "EXPN", "HELP", "NOOP", "QUIT", "AUTH", "XYZW", "DAT ", " DAT", "DA\tA",
        ];
        for word in verbs.iter().chain(&more) {
            for case in 0..16u8 {
                let line: Vec<u8> = word
                    .bytes()
                    .enumerate()
                    .map(|(i, b)| {
                        if case >> i & 1 == 1 {
                            b.to_ascii_lowercase()
                        } else {
                            b
                        }
                    })
                    .collect();
                assert_eq!(
                    parse_command(&line, &opts),
                    parse_line(&line, &opts),
                    "{line:?}"
                );
            }
        }
        let mut x = 0x9e37_79b9u32;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let line = x.to_le_bytes();
            assert_eq!(
                parse_command(&line, &opts),
                parse_line(&line, &opts),
                "{line:?}"
            );
        }
    }

    /// The verb ends at the first space, wherever it is: four letters and a
    /// space is the usual case, but a shorter or longer word is a verb too.
    #[test]
    fn verbs_end_at_the_first_space() {
        fn unknown(verb: &'static str, args: Option<&'static str>) -> Command<'static> {
            Command::Unknown {
                verb: verb.into(),
                args: args.map(Into::into),
            }
        }
        assert_eq!(parse("A BC DEF").unwrap(), unknown("A", Some("BC DEF")));
        assert_eq!(parse("ABC DE").unwrap(), unknown("ABC", Some("DE")));
        assert_eq!(parse("ABCD E").unwrap(), unknown("ABCD", Some("E")));
        assert_eq!(parse("ABCD").unwrap(), unknown("ABCD", None));
        assert_eq!(parse("DATAX").unwrap(), unknown("DATAX", None));
        assert_eq!(parse("DATA X"), Err(CommandError::Syntax(Verb::Data)));
        assert_eq!(parse("RSET"), Ok(Command::Rset));
        assert_eq!(parse("STARTTLS"), Ok(Command::StartTls));
        assert_eq!(
            parse("STARTTLS x"),
            Err(CommandError::Syntax(Verb::StartTls))
        );
        assert_eq!(parse("MAIL"), Err(CommandError::Syntax(Verb::Mail)));
    }

    #[test]
    fn unknown_verbs_are_preserved() {
        assert_eq!(
            parse("GET / HTTP/1.1").unwrap(),
            Command::Unknown {
                verb: "GET".into(),
                args: Some("/ HTTP/1.1".into())
            }
        );
        assert_eq!(
            parse("XCLIENT").unwrap(),
            Command::Unknown {
                verb: "XCLIENT".into(),
                args: None
            }
        );
        roundtrip("XFOO bar baz");
    }

    #[test]
    fn helo_leniency() {
        assert!(parse("EHLO my_host").is_err());
        assert!(parse("HELO [192.0.2.1]").is_err());
        let lenient = ParseOptions {
            helo: HeloSyntax::Lenient,
            ..ParseOptions::default()
        };
        assert_eq!(
            parse_command(b"EHLO my_host", &lenient).unwrap(),
            Command::Ehlo(HeloName::Unchecked("my_host".into()))
        );
        // More than one argument is a syntax error in both modes, even when
        // the first word alone would be a good name.
        for line in [&b"EHLO a b"[..], b"EHLO a.example\tb", b"HELO my_host x"] {
            let verb = Verb::from_bytes(&line[..4]).unwrap();
            assert_eq!(
                parse_command(line, &lenient),
                Err(CommandError::Syntax(verb))
            );
            assert_eq!(
                parse_command(line, &ParseOptions::default()),
                Err(CommandError::Syntax(verb))
            );
        }
        // Mutation-testing find: lenient names are bounded like a domain (255
        // octets, brackets allowed for): 257 accepted, 258 refused.
        let name = "x_".repeat(128) + "x";
        let line = alloc::format!("EHLO {name}");
        assert_eq!(
            parse_command(line.as_bytes(), &lenient).unwrap(),
            Command::Ehlo(HeloName::Unchecked(name.as_str().into()))
        );
        let line = alloc::format!("EHLO {name}x");
        assert!(parse_command(line.as_bytes(), &lenient).is_err());
    }

    /// Mutation-testing finds: an AUTH initial response must be one base64
    /// token; `validate` refuses a lone CR as well as a lone LF; `into_owned`
    /// keeps every text field.
    #[test]
    fn auth_initial_response_validate_and_into_owned() {
        assert!(parse("AUTH PLAIN  dGVzdA==").is_err(), "two spaces");
        assert!(parse("AUTH PLAIN dGVz dA==").is_err());
        let opts = ParseOptions::default();
        for text in ["a\rb", "a\nb"] {
            assert_eq!(
                Command::Noop(Some(text.into())).validate(&opts),
                Err(CommandError::ControlCharacter),
                "{text:?}"
            );
        }
        for line in [
            "NOOP hello",
            "VRFY someone",
            "EXPN list",
            "HELP topic",
            "XFOO bar baz",
            "AUTH PLAIN dGVzdA==",
            "EHLO my.host",
            "MAIL FROM:<a@b.example> ENVID=x+2By",
        ] {
            let cmd = parse(line).unwrap();
            assert_eq!(cmd.clone().into_owned(), cmd, "{line}");
        }
    }

    /// Mutation-testing find: under SMTPUTF8 an EHLO name may be a U-label
    /// domain (RFC 6531 §3.7.1); without it, not.
    #[test]
    fn ehlo_utf8_name_needs_smtputf8() {
        let utf8 = ParseOptions {
            smtputf8: true,
            ..ParseOptions::default()
        };
        let line = "EHLO bücher.example".as_bytes();
        assert!(matches!(
            parse_command(line, &utf8).unwrap(),
            Command::Ehlo(HeloName::Host(_))
        ));
        assert!(parse_command(line, &ParseOptions::default()).is_err());
    }

    #[test]
    fn smtputf8_rules() {
        let line = "MAIL FROM:<用户@例子.广告> SMTPUTF8";
        assert!(matches!(
            parse(line),
            Err(CommandError::Path {
                verb: Verb::Mail,
                ..
            })
        ));
        let offered = ParseOptions {
            smtputf8: true,
            ..ParseOptions::default()
        };
        let cmd = parse_command(line.as_bytes(), &offered).unwrap();
        assert_eq!(cmd.to_string(), line);
        assert_eq!(
            parse_command("MAIL FROM:<用户@例子.广告>".as_bytes(), &offered),
            Err(CommandError::Utf8RequiresSmtpUtf8(Verb::Mail))
        );
        let rcpt = "RCPT TO:<用户@例子.广告>";
        assert_eq!(
            parse_command(rcpt.as_bytes(), &offered),
            Err(CommandError::Utf8RequiresSmtpUtf8(Verb::Rcpt))
        );
        let in_tx = ParseOptions {
            smtputf8: true,
            utf8_transaction: true,
            ..ParseOptions::default()
        };
        assert_eq!(
            parse_command(rcpt.as_bytes(), &in_tx).unwrap().to_string(),
            rcpt
        );
    }

    #[test]
    fn validate_catches_injection() {
        let opts = ParseOptions::default();
        let bad = Command::Vrfy("x\r\nRCPT TO:<evil@example.com>".into());
        assert_eq!(bad.validate(&opts), Err(CommandError::ControlCharacter));
        let bad = Command::Noop(Some("a\0".into()));
        assert!(bad.validate(&opts).is_err());
        assert!(Command::Noop(Some("".into())).validate(&opts).is_err());
        assert!(Command::Quit.validate(&opts).is_ok());
    }

    #[test]
    fn pipeline_groups() {
        assert!(Verb::Data.ends_pipeline_group());
        assert!(Verb::Ehlo.ends_pipeline_group());
        assert!(!Verb::Mail.ends_pipeline_group());
        assert!(!Verb::Rcpt.ends_pipeline_group());
        assert!(!Verb::Bdat.ends_pipeline_group());
        assert!(!Verb::Rset.ends_pipeline_group());
    }
}
