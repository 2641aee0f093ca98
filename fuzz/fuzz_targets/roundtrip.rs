//! parse ∘ encode round trips from structured inputs (`arbitrary`): values are
//! built through the public constructors and struct fields, within each field's
//! documented grammar, then encoded, parsed back and compared.
//!
//! Asserts, for every value built:
//! * replies (`Reply::new`, `Reply::from_lines`, any text): the encoding parses
//!   back to the same reply, `encoded_len` is exact, every line fits 512 octets,
//!   and `Reply::new(code, enhanced, &text())` rebuilds it;
//! * commands with valid parts (HELO/EHLO/LHLO, MAIL and RCPT with paths and every
//!   kind of parameter, BDAT, AUTH with an initial response, ...): the encoding is
//!   one line that parses back to the same command, and `validate` agrees; for
//!   free-text commands (VRFY, NOOP, unknown verbs), `validate` accepts exactly
//!   those that are one line parsing back to themselves;
//! * MAIL/RCPT parameter lists: display then parse gives the same parameters;
//! * EHLO capabilities (canonical): `to_reply`, the wire and `from_ehlo_reply`
//!   give them back;
//! * SASL: whatever the PLAIN, XOAUTH2 and OAUTHBEARER encoders accept decodes to
//!   the same credentials; base64 responses, initial responses and challenges
//!   round-trip;
//! * xtext and `LocalPart::from_value` round-trip.
#![no_main]

use std::borrow::Cow;
use std::net::{Ipv4Addr, Ipv6Addr};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use smtp_proto::ext::{Capabilities, Extension, ServerLimits};
use smtp_proto::reply::{EnhancedCode, Reply, ReplyParse, ReplyParseOptions, parse_reply};
use smtp_proto::wire::command::{Command, HeloName, ParseOptions, parse_command};
use smtp_proto::wire::line::{Framed, LineEnding, frame_line};
use smtp_proto::wire::params::{
    AuthParam, Body, By, ByMode, Hold, MailParameters, Notify, OriginalRecipient, ParamOptions,
    Parameter, RcptParameters, Ret, parse_mail_parameters, parse_rcpt_parameters,
};
use smtp_proto::wire::path::{
    AddressLiteral, Domain, ForwardPath, Host, LocalPart, Mailbox, PathOptions, ReversePath,
};
use smtp_proto::wire::sasl::{
    MAX_ENCODED_LEN, Mechanism, OAuthBearer, PlainCredentials, SaslResponse, XOAuth2,
    decode_challenge, decode_initial_response, decode_oauthbearer, decode_plain, decode_response,
    decode_xoauth2, encode_challenge, encode_initial_response, encode_oauthbearer, encode_plain,
    encode_response, encode_xoauth2,
};
use smtp_proto::wire::xtext;

// ----- generators: raw arbitrary values mapped into a grammar -----------------

const LDH: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-";
const ATEXT: &[u8] =
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~";
const VCHAR_NO_EQ: &[u8] =
    b"!\"#$%&'()*+,-./0123456789:;<>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";

fn from_set(raw: &[u8], set: &[u8], max: usize) -> String {
    raw.iter()
        .take(max)
        .map(|&b| char::from(set[usize::from(b) % set.len()]))
        .collect()
}

/// A label: letters, digits and inner hyphens, 1 to 63 octets.
fn label(raw: &[u8]) -> String {
    let mut s = from_set(raw, LDH, 63);
    if s.is_empty() {
        s.push('a');
    }
    let fix = |c: char| if c == '-' { 'x' } else { c };
    let first = fix(s.remove(0));
    s.insert(0, first);
    let last = fix(s.pop().unwrap_or('x'));
    s.push(last);
    s.truncate(63);
    s
}

#[derive(Arbitrary, Debug)]
struct RawDomain {
    labels: Vec<Vec<u8>>,
    /// Non-ASCII labels (U-labels), used under SMTPUTF8.
    unicode: Option<String>,
}

fn domain(raw: &RawDomain, utf8: bool) -> Option<Domain<'static>> {
    let mut labels: Vec<String> = raw.labels.iter().take(8).map(|l| label(l)).collect();
    if utf8 {
        if let Some(u) = &raw.unicode {
            let l: String = u.chars().filter(|c| c.is_alphanumeric()).take(20).collect();
            if !l.is_empty() {
                labels.push(l);
            }
        }
    }
    if labels.is_empty() {
        labels.push("example".into());
    }
    let text = labels.join(".");
    let opts = PathOptions {
        allow_utf8: utf8,
        ..PathOptions::default()
    };
    Domain::parse(&text, &opts).ok().map(Domain::into_owned)
}

#[derive(Arbitrary, Debug)]
enum RawHost {
    Domain(RawDomain),
    V4([u8; 4]),
    V6([u16; 8]),
    General(Vec<u8>, Vec<u8>),
}

fn host(raw: &RawHost, utf8: bool) -> Option<Host<'static>> {
    Some(match raw {
        RawHost::Domain(d) => Host::Domain(domain(d, utf8)?),
        RawHost::V4(o) => Host::Literal(AddressLiteral::Ipv4(Ipv4Addr::from(*o))),
        RawHost::V6(g) => Host::Literal(AddressLiteral::Ipv6(Ipv6Addr::from(*g))),
        RawHost::General(tag, content) => {
            let dcontent: Vec<u8> = (33u8..=126).filter(|b| !(91..=93).contains(b)).collect();
            let tag = label(tag);
            let content = from_set(content, &dcontent, 40);
            Host::Literal(AddressLiteral::general(tag, content).ok()?.into_owned())
        }
    })
}

#[derive(Arbitrary, Debug)]
enum RawLocal {
    Atoms(Vec<Vec<u8>>),
    Value(String),
}

fn local_part(raw: &RawLocal, utf8: bool) -> Option<LocalPart<'static>> {
    let opts = PathOptions {
        allow_utf8: utf8,
        ..PathOptions::default()
    };
    match raw {
        RawLocal::Atoms(atoms) => {
            let atoms: Vec<String> = atoms
                .iter()
                .take(6)
                .map(|a| from_set(a, ATEXT, 12))
                .filter(|a| !a.is_empty())
                .collect();
            if atoms.is_empty() {
                return None;
            }
            let s = atoms.join(".");
            LocalPart::parse(&s, &opts).ok().map(LocalPart::into_owned)
        }
        RawLocal::Value(v) => LocalPart::from_value(v, &opts).ok(),
    }
}

#[derive(Arbitrary, Debug)]
struct RawMailbox {
    local: RawLocal,
    host: RawHost,
}

fn mailbox(raw: &RawMailbox, utf8: bool) -> Option<Mailbox<'static>> {
    let m = Mailbox {
        local_part: local_part(&raw.local, utf8)?,
        host: host(&raw.host, utf8)?,
    };
    // A path is at most 256 octets with its brackets (RFC 5321 §4.5.3.1.3):
    // longer mailboxes are valid mailboxes but not valid paths.
    (m.to_string().len() + 2 <= 256).then_some(m)
}

/// An esmtp-keyword that is none of `known`.
fn keyword(raw: &[u8], known: &[&str]) -> Option<String> {
    let mut k = from_set(raw, LDH, 12);
    if k.is_empty() {
        return None;
    }
    if k.starts_with('-') {
        k.replace_range(..1, "X");
    }
    (!known.iter().any(|n| n.eq_ignore_ascii_case(&k))).then_some(k)
}

/// An esmtp-value (printable, no `=`, no space), with non-ASCII under SMTPUTF8.
fn value(raw: &[u8], extra: &Option<String>, utf8: bool) -> Option<String> {
    let mut v = from_set(raw, VCHAR_NO_EQ, 20);
    if utf8 {
        if let Some(e) = extra {
            v.extend(
                e.chars()
                    .filter(|c| !c.is_ascii() && !c.is_control())
                    .take(4),
            );
        }
    }
    (!v.is_empty()).then_some(v)
}

fn other_params(
    raw: &[(Vec<u8>, Option<Vec<u8>>)],
    extra: &Option<String>,
    known: &[&str],
    utf8: bool,
) -> Vec<Parameter<'static>> {
    let mut out: Vec<Parameter<'static>> = Vec::new();
    for (k, v) in raw.iter().take(5) {
        let Some(k) = keyword(k, known) else { continue };
        if out.iter().any(|p| p.keyword.eq_ignore_ascii_case(&k)) {
            continue;
        }
        let v = match v {
            Some(v) => match value(v, extra, utf8) {
                Some(v) => Some(Cow::Owned(v)),
                None => continue,
            },
            None => None,
        };
        out.push(Parameter {
            keyword: Cow::Owned(k),
            value: v,
        });
    }
    out
}

const MAIL_KNOWN: [&str; 11] = [
    "SIZE",
    "BODY",
    "SMTPUTF8",
    "RET",
    "ENVID",
    "AUTH",
    "REQUIRETLS",
    "MT-PRIORITY",
    "HOLDFOR",
    "HOLDUNTIL",
    "BY",
];
const RCPT_KNOWN: [&str; 2] = ["NOTIFY", "ORCPT"];

/// Free text without ASCII control characters, non-empty, at most `max` octets.
fn free_text(s: &str, max: usize) -> Option<String> {
    let mut out = String::new();
    for c in s.chars().filter(|c| !c.is_ascii_control()) {
        if out.len() + c.len_utf8() > max {
            break;
        }
        out.push(c);
    }
    (!out.is_empty()).then_some(out)
}

#[derive(Arbitrary, Debug)]
struct RawDateTime {
    year: u16,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
    frac: Option<u32>,
    offset: Option<(bool, u8, u8)>,
    lower: bool,
}

fn date_time(r: &RawDateTime) -> String {
    let (t, z) = if r.lower { ('t', 'z') } else { ('T', 'Z') };
    let frac = r.frac.map(|f| format!(".{f}")).unwrap_or_default();
    let off = match r.offset {
        None => z.to_string(),
        Some((neg, h, m)) => format!("{}{:02}:{:02}", if neg { '-' } else { '+' }, h % 24, m % 60),
    };
    format!(
        "{:04}-{:02}-{:02}{t}{:02}:{:02}:{:02}{frac}{off}",
        r.year % 10000,
        1 + r.month % 12,
        1 + r.day % 28,
        r.hour % 24,
        r.minute % 60,
        r.second % 61,
    )
}

#[derive(Arbitrary, Debug)]
struct RawMailParams {
    size: Option<u64>,
    body: Option<u8>,
    smtputf8: bool,
    ret: Option<bool>,
    envid: Option<String>,
    auth: Option<Option<String>>,
    requiretls: bool,
    mt_priority: Option<i8>,
    hold: Option<Result<u32, RawDateTime>>,
    by: Option<(i32, bool, bool)>,
    other: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    utf8_extra: Option<String>,
}

fn mail_params(r: &RawMailParams) -> MailParameters<'static> {
    let utf8 = r.smtputf8;
    MailParameters {
        size: r.size,
        body: r
            .body
            .map(|b| [Body::SevenBit, Body::EightBitMime, Body::BinaryMime][usize::from(b % 3)]),
        smtputf8: r.smtputf8,
        ret: r
            .ret
            .map(|full| if full { Ret::Full } else { Ret::Headers }),
        envid: r
            .envid
            .as_deref()
            .and_then(|e| free_text(e, 100))
            .map(Cow::Owned),
        auth: r.auth.as_ref().and_then(|a| match a {
            None => Some(AuthParam::Unknown),
            Some(m) => free_text(m, 200)
                .filter(|m| m != "<>")
                .map(|m| AuthParam::Mailbox(Cow::Owned(m))),
        }),
        requiretls: r.requiretls,
        mt_priority: r.mt_priority.map(|p| p % 10),
        hold: r.hold.as_ref().map(|h| match h {
            Ok(secs) => Hold::For(secs % 1_000_000_000),
            Err(dt) => Hold::Until(Cow::Owned(date_time(dt))),
        }),
        by: r.by.map(|(t, ret, trace)| {
            let mut time = t % 1_000_000_000;
            let mode = if ret { ByMode::Return } else { ByMode::Notify };
            if ret && time <= 0 {
                time = time.unsigned_abs().max(1).min(999_999_999) as i32;
            }
            By { time, mode, trace }
        }),
        other: other_params(&r.other, &r.utf8_extra, &MAIL_KNOWN, utf8),
    }
}

#[derive(Arbitrary, Debug)]
struct RawRcptParams {
    notify: Option<(bool, bool, bool)>,
    orcpt: Option<(Vec<u8>, String)>,
    other: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    utf8_extra: Option<String>,
}

fn rcpt_params(r: &RawRcptParams, utf8: bool) -> RcptParameters<'static> {
    RcptParameters {
        notify: r.notify.map(|(success, failure, delay)| Notify {
            success,
            failure,
            delay,
        }),
        orcpt: r.orcpt.as_ref().and_then(|(t, a)| {
            // An atom (RFC 3461 §4.2) that fits an esmtp-value, which excludes "=".
            let t: String = from_set(t, ATEXT, 10)
                .chars()
                .filter(|&c| c != '=')
                .collect();
            let a = free_text(a, 200)?;
            (!t.is_empty()).then(|| OriginalRecipient {
                addr_type: Cow::Owned(t),
                address: Cow::Owned(a),
            })
        }),
        other: other_params(&r.other, &r.utf8_extra, &RCPT_KNOWN, utf8),
    }
}

#[derive(Arbitrary, Debug)]
enum RawCommand {
    Helo(RawDomain),
    Ehlo(RawHost),
    Lhlo(RawHost),
    Mail(Option<RawMailbox>, RawMailParams),
    Rcpt(Option<RawMailbox>, RawRcptParams, bool),
    Data,
    Bdat(u64, bool),
    Rset,
    Quit,
    StartTls,
    Auth(Vec<u8>, Option<Vec<u8>>),
    Vrfy(String),
    Expn(String),
    Help(Option<String>),
    Noop(Option<String>),
    Unknown(String, Option<String>),
}

/// Builds a command; `true` when its parts are all valid (so it must round-trip),
/// `false` for free text (which `validate` must judge correctly).
fn command(raw: &RawCommand) -> Option<(Command<'static>, bool)> {
    let own = |s: &str| Cow::Owned(s.to_owned());
    Some(match raw {
        RawCommand::Helo(d) => (
            Command::Helo(HeloName::Host(Host::Domain(domain(d, false)?))),
            true,
        ),
        RawCommand::Ehlo(h) => (Command::Ehlo(HeloName::Host(host(h, false)?)), true),
        RawCommand::Lhlo(h) => (Command::Lhlo(HeloName::Host(host(h, false)?)), true),
        RawCommand::Mail(m, p) => {
            let params = mail_params(p);
            let from = match m {
                None => ReversePath::Null,
                Some(m) => ReversePath::Mailbox(mailbox(m, params.smtputf8)?),
            };
            (Command::Mail { from, params }, true)
        }
        RawCommand::Rcpt(m, p, utf8) => {
            let to = match m {
                None => ForwardPath::Postmaster,
                Some(m) => ForwardPath::Mailbox(mailbox(m, *utf8)?),
            };
            (
                Command::Rcpt {
                    to,
                    params: rcpt_params(p, *utf8),
                },
                true,
            )
        }
        RawCommand::Data => (Command::Data, true),
        RawCommand::Bdat(size, last) => (
            Command::Bdat {
                size: *size,
                last: *last,
            },
            true,
        ),
        RawCommand::Rset => (Command::Rset, true),
        RawCommand::Quit => (Command::Quit, true),
        RawCommand::StartTls => (Command::StartTls, true),
        RawCommand::Auth(name, ir) => {
            let name = from_set(name, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", 20);
            let mechanism = Mechanism::parse(&name)?.into_owned();
            let initial_response = ir.as_ref().map(|d| Cow::Owned(encode_initial_response(d)));
            (
                Command::Auth {
                    mechanism,
                    initial_response,
                },
                true,
            )
        }
        RawCommand::Vrfy(s) => (Command::Vrfy(own(s)), false),
        RawCommand::Expn(s) => (Command::Expn(own(s)), false),
        RawCommand::Help(s) => (Command::Help(s.as_deref().map(own)), false),
        RawCommand::Noop(s) => (Command::Noop(s.as_deref().map(own)), false),
        RawCommand::Unknown(v, a) => (
            Command::Unknown {
                verb: own(v),
                args: a.as_deref().map(own),
            },
            false,
        ),
    })
}

#[derive(Arbitrary, Debug)]
enum RawExt {
    Pipelining,
    EightBitMime,
    Enhanced,
    Chunking,
    BinaryMime,
    SmtpUtf8,
    Dsn,
    StartTls,
    RequireTls,
    Auth(Vec<Vec<u8>>),
    Size(Option<u64>),
    Limits(
        Option<u32>,
        Option<u32>,
        Option<u32>,
        Vec<(Vec<u8>, Option<Vec<u8>>)>,
    ),
    MtPriority(Option<Vec<u8>>),
    FutureRelease(u32, RawDateTime),
    DeliverBy(Option<u32>),
    Other(Vec<u8>, Vec<Vec<u8>>),
}

const KNOWN_EXT: [&str; 15] = [
    "PIPELINING",
    "8BITMIME",
    "ENHANCEDSTATUSCODES",
    "CHUNKING",
    "BINARYMIME",
    "SMTPUTF8",
    "DSN",
    "STARTTLS",
    "AUTH",
    "SIZE",
    "REQUIRETLS",
    "LIMITS",
    "MT-PRIORITY",
    "FUTURERELEASE",
    "DELIVERBY",
];

fn extension(raw: &RawExt) -> Option<Extension> {
    let upper_kw = |r: &[u8]| {
        let k = from_set(r, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-", 16);
        let k = k.trim_start_matches('-').to_string();
        (!k.is_empty()).then_some(k)
    };
    Some(match raw {
        RawExt::Pipelining => Extension::Pipelining,
        RawExt::EightBitMime => Extension::EightBitMime,
        RawExt::Enhanced => Extension::EnhancedStatusCodes,
        RawExt::Chunking => Extension::Chunking,
        RawExt::BinaryMime => Extension::BinaryMime,
        RawExt::SmtpUtf8 => Extension::SmtpUtf8,
        RawExt::Dsn => Extension::Dsn,
        RawExt::StartTls => Extension::StartTls,
        RawExt::RequireTls => Extension::RequireTls,
        RawExt::Auth(names) => {
            let mut mechs: Vec<Mechanism<'static>> = Vec::new();
            for n in names.iter().take(6) {
                let n = from_set(n, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", 20);
                if let Some(m) = Mechanism::parse(&n) {
                    let m = m.into_owned();
                    if !mechs.contains(&m) {
                        mechs.push(m);
                    }
                }
            }
            Extension::Auth(mechs)
        }
        RawExt::Size(n) => Extension::Size(*n),
        RawExt::Limits(a, b, c, other) => {
            let mut others: Vec<(String, Option<String>)> = Vec::new();
            for (name, value) in other.iter().take(4) {
                let name = from_set(name, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", 12);
                if name.is_empty()
                    || ["MAILMAX", "RCPTMAX", "RCPTDOMAINMAX"].contains(&name.as_str())
                    || others.iter().any(|(n, _)| *n == name)
                {
                    continue;
                }
                let limit_chars: Vec<u8> = (0x21u8..=0x7e).filter(|&b| b != b';').collect();
                let value = value.as_ref().map(|v| from_set(v, &limit_chars, 10));
                if value.as_ref().is_some_and(String::is_empty) {
                    continue;
                }
                others.push((name, value));
            }
            Extension::Limits(ServerLimits {
                mail_max: *a,
                rcpt_max: *b,
                rcpt_domain_max: *c,
                other: others,
            })
        }
        RawExt::MtPriority(p) => Extension::MtPriority(match p {
            None => None,
            Some(p) => Some(upper_kw(p)?),
        }),
        RawExt::FutureRelease(i, dt) => Extension::FutureRelease {
            max_interval: i % 1_000_000_000,
            max_datetime: date_time(dt),
        },
        RawExt::DeliverBy(t) => Extension::DeliverBy(t.map(|t| t % 1_000_000_000)),
        RawExt::Other(k, params) => {
            let keyword = upper_kw(k)?;
            if KNOWN_EXT.contains(&keyword.as_str()) {
                return None;
            }
            let params = params
                .iter()
                .take(5)
                .map(|p| from_set(p, &(33u8..=126).collect::<Vec<u8>>(), 12))
                .filter(|p| !p.is_empty())
                .collect();
            Extension::Other { keyword, params }
        }
    })
}

#[derive(Arbitrary, Debug)]
struct RawOAuthBearer {
    authzid: Option<String>,
    token: Vec<u8>,
    host: Option<String>,
    port: Option<u16>,
    extra: Vec<(Vec<u8>, String)>,
}

#[derive(Arbitrary, Debug)]
enum Case {
    Reply(u16, Option<(u8, u16, u16)>, Vec<String>),
    Command(RawCommand),
    MailParams(RawMailParams),
    RcptParams(RawRcptParams, bool),
    Caps(String, String, Vec<RawExt>),
    Plain(String, String, String),
    XOAuth2(String, Vec<u8>),
    OAuthBearer(RawOAuthBearer),
    Base64(Vec<u8>),
    Xtext(String),
    LocalPart(String, bool),
}

// ----- checks -------------------------------------------------------------

fn check_reply(r: &Reply) {
    let bytes = r.to_bytes();
    assert_eq!(bytes.len(), r.encoded_len());
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        assert!(line.len() <= 512, "reply line of {} octets", line.len());
    }
    let opts = ReplyParseOptions {
        max_line_len: 512,
        max_lines: r.line_count(),
        line_ending: LineEnding::Strict,
    };
    match parse_reply(&bytes, &opts) {
        Ok(ReplyParse::Complete { reply, consumed }) => {
            assert_eq!(consumed, bytes.len());
            assert_eq!(&reply, r, "{:?}", String::from_utf8_lossy(&bytes));
        }
        other => panic!(
            "{r:?} encodes to {:?}: {other:?}",
            String::from_utf8_lossy(&bytes)
        ),
    }
    assert_eq!(&Reply::new(r.code(), r.enhanced(), r.text()), r);
}

fn check_command(cmd: &Command<'static>, structured: bool) {
    let opts = ParseOptions {
        smtputf8: true,
        utf8_transaction: true,
        ..ParseOptions::default()
    };
    let bytes = cmd.to_bytes();
    let one_line = match frame_line(&bytes, usize::MAX - 1, LineEnding::Strict) {
        Framed::Line { line, consumed } if consumed == bytes.len() => Some(line),
        _ => None,
    };
    let round_trips = one_line.is_some_and(|line| parse_command(line, &opts).as_ref() == Ok(cmd));
    if structured {
        assert!(
            round_trips,
            "{cmd:?} encodes to {:?}, parsed as {:?}",
            String::from_utf8_lossy(&bytes),
            one_line.map(|l| parse_command(l, &opts))
        );
    }
    assert_eq!(
        cmd.validate(&opts).is_ok(),
        round_trips,
        "validate of {cmd:?}"
    );
}

fn check_caps(caps: &Capabilities) {
    let reply = caps.to_reply();
    let bytes = reply.to_bytes();
    match parse_reply(&bytes, &ReplyParseOptions::default()) {
        Ok(ReplyParse::Complete { reply: parsed, .. }) => {
            assert_eq!(parsed, reply);
            assert_eq!(Capabilities::from_ehlo_reply(&parsed).as_ref(), Some(caps));
        }
        other => panic!("{:?}: {other:?}", String::from_utf8_lossy(&bytes)),
    }
}

fuzz_target!(|case: Case| {
    match case {
        Case::Reply(code, enhanced, lines) => {
            let code = smtp_proto_fuzz::decisions::code(code);
            let enhanced = enhanced.and_then(|(c, s, d)| EnhancedCode::new(c, s, d));
            let lines: Vec<String> = lines.into_iter().take(20).collect();
            check_reply(&Reply::from_lines(code, enhanced, &lines));
            check_reply(&Reply::new(code, enhanced, &lines.join("\r\n")));
        }
        Case::Command(raw) => {
            if let Some((cmd, structured)) = command(&raw) {
                check_command(&cmd, structured);
            }
        }
        Case::MailParams(raw) => {
            let p = mail_params(&raw);
            let wire = p.to_string();
            let opts = ParamOptions {
                allow_utf8: p.smtputf8,
            };
            assert_eq!(
                parse_mail_parameters(&wire, &opts),
                Ok(p.clone()),
                "{wire:?}"
            );
        }
        Case::RcptParams(raw, utf8) => {
            let p = rcpt_params(&raw, utf8);
            let wire = p.to_string();
            let opts = ParamOptions { allow_utf8: utf8 };
            assert_eq!(
                parse_rcpt_parameters(&wire, &opts),
                Ok(p.clone()),
                "{wire:?}"
            );
        }
        Case::Caps(domain, greeting, exts) => {
            let domain: String = domain
                .chars()
                .filter(|c| !c.is_control() && *c != ' ')
                .take(60)
                .collect();
            let greeting = free_text(&greeting, 200)
                .unwrap_or_default()
                .chars()
                .filter(|c| !c.is_control())
                .collect();
            let mut caps = Capabilities::new(domain);
            caps.greeting = greeting;
            for e in exts.iter().take(20) {
                if let Some(e) = extension(e) {
                    let line = e.to_string();
                    assert_eq!(Extension::parse(&line).as_ref(), Some(&e), "{line:?}");
                    if line.len() <= 500 {
                        caps.push(e);
                    }
                }
            }
            check_caps(&caps);
        }
        Case::Plain(authzid, authcid, password) => {
            let creds = PlainCredentials {
                authzid,
                authcid,
                password,
            };
            let mut raw = Vec::new();
            if encode_plain(&creds, &mut raw).is_ok() {
                assert_eq!(decode_plain(&raw), Ok(creds));
            } else {
                assert!(raw.is_empty(), "a refused encoding wrote bytes");
            }
        }
        Case::XOAuth2(user, token) => {
            let token = from_set(&token, b"abcXYZ0189-._~+/=", 40);
            let creds = XOAuth2 { user, token };
            let mut raw = Vec::new();
            if encode_xoauth2(&creds, &mut raw).is_ok() {
                assert_eq!(decode_xoauth2(&raw), Ok(creds));
            } else {
                assert!(raw.is_empty(), "a refused encoding wrote bytes");
            }
        }
        Case::OAuthBearer(r) => {
            let creds = OAuthBearer {
                authzid: r.authzid,
                token: from_set(&r.token, b"abcXYZ0189-._~+/=", 40),
                host: r.host,
                port: r.port,
                extra: r
                    .extra
                    .into_iter()
                    .take(4)
                    .map(|(k, v)| (from_set(&k, b"abcdefghijklmnopqrstuvwxyzAUTH", 8), v))
                    .collect(),
            };
            let mut raw = Vec::new();
            if encode_oauthbearer(&creds, &mut raw).is_ok() {
                assert_eq!(decode_oauthbearer(&raw), Ok(creds));
            } else {
                assert!(raw.is_empty(), "a refused encoding wrote bytes");
            }
        }
        Case::Base64(data) => {
            let mut line = Vec::new();
            encode_response(&data, &mut line);
            let text = &line[..line.len() - 2];
            if text.len() <= MAX_ENCODED_LEN {
                assert_eq!(
                    decode_response(text, MAX_ENCODED_LEN),
                    Ok(SaslResponse::Data(data.clone()))
                );
                assert_eq!(
                    decode_initial_response(&encode_initial_response(&data), MAX_ENCODED_LEN),
                    Ok(SaslResponse::Data(data.clone()))
                );
                assert_eq!(
                    decode_challenge(&encode_challenge(&data), MAX_ENCODED_LEN),
                    Ok(data)
                );
            }
        }
        Case::Xtext(s) => {
            let enc = xtext::encode(&s);
            assert!(xtext::is_xtext(&enc));
            assert_eq!(xtext::decode(&enc).as_deref(), Ok(s.as_str()));
        }
        Case::LocalPart(v, utf8) => {
            let opts = PathOptions {
                allow_utf8: utf8,
                ..PathOptions::default()
            };
            if let Ok(lp) = LocalPart::from_value(&v, &opts) {
                assert_eq!(lp.value(), v);
                assert_eq!(LocalPart::parse(lp.as_wire(), &opts), Ok(lp.clone()));
            }
        }
    }
});
