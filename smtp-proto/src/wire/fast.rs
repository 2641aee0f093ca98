//! The usual MAIL and RCPT lines, parsed in one pass.
//!
//! Nearly every MAIL FROM and RCPT TO a server sees has the same shape: a
//! Dot-string local part, a domain of letters, digits and hyphens, and a few
//! well-known parameters. This scanner reads that shape in one left-to-right
//! pass over the bytes and builds the [`Command`] once, at the end, from the
//! positions it found. It checks everything the full parsers check for that
//! shape (RFC 5321 §4.1.2 grammar, the §4.5.3.1 length limits, the parameter
//! grammar and duplicates) and gives up, returning `None`, at the first thing
//! outside it: a quoted local part, a source route, an address literal, an
//! unknown or repeated parameter, an xtext escape, or any error at all. The
//! full parsers then decide, so they alone produce errors.
//!
//! Both parsers must agree whenever this one answers: the
//! `fast_and_full_parsers_agree` property test holds them to it, on lines
//! built to sit on either side of every check here. The `command` fuzz
//! target reaches this scanner through `parse_command`.
//!
//! The caller passes only printable ASCII (the command line was checked), so
//! every byte offset is a char boundary.

use alloc::borrow::Cow;
use alloc::vec::Vec;

use super::command::{Command, HeloName, ParseOptions};
use super::params::{
    MailParameters, Notify, OriginalRecipient, RcptParameters, check_value, is_atom, notify_flags,
    parse_body, parse_size,
};
use super::path::{
    ATEXT, CLASSES, Domain, ForwardPath, Host, LABEL_MAX, LDH, Mailbox, PathOptions, ReversePath,
};
use super::swar;

/// The class bits of `b` (none for a byte outside ASCII, which the caller
/// never passes).
#[inline(always)]
fn class(b: u8) -> u8 {
    CLASSES.get(usize::from(b)).copied().unwrap_or(0)
}

/// Where the parts of `<local@domain>` lie: the path starts at `b[open]`.
struct Spans {
    /// One past the local part (the `@`).
    at: usize,
    /// One past the domain (the `>`).
    close: usize,
}

impl Spans {
    /// The mailbox these positions of `args` delimit, for a path whose `<`
    /// is at `open`.
    #[inline(always)]
    fn mailbox<'a>(&self, args: &'a str, open: usize) -> Mailbox<'a> {
        Mailbox::from_checked(&args[open + 1..self.at], &args[self.at + 1..self.close])
    }
}

/// Scans `prefix` (case-insensitively), then `"<" Dot-string "@" Domain
/// ">"` (RFC 5321 §4.1.2) with the local part, domain and path length limits
/// (RFC 5321 §4.5.3.1), at the start of `b`.
#[inline(always)]
fn path(b: &[u8], prefix: &[u8], limits: &PathOptions) -> Option<Spans> {
    let open = prefix.len();
    if !b.get(..open)?.eq_ignore_ascii_case(prefix) || b.get(open) != Some(&b'<') {
        return None;
    }
    // Dot-string = Atom *("." Atom), up to the "@".
    let mut i = open + 1;
    let mut need_atom = true;
    loop {
        let c = *b.get(i)?;
        if class(c) & ATEXT != 0 {
            need_atom = false;
        } else if c == b'.' && !need_atom {
            need_atom = true;
        } else if c == b'@' && !need_atom {
            break;
        } else {
            return None;
        }
        i += 1;
    }
    let at = i;
    if at - (open + 1) > limits.local_part_limit() {
        return None;
    }
    // A domain of letters, digits and hyphens, up to the ">".
    let close = ldh_domain(b, i + 1)?;
    if b.get(close) != Some(&b'>') {
        return None;
    }
    if close - (at + 1) > limits.domain_limit() || close + 1 - open > limits.path_limit() {
        return None;
    }
    Some(Spans { at, close })
}

/// `Domain = sub-domain *("." sub-domain)`, `sub-domain = Let-dig
/// [Ldh-str]` (RFC 5321 §4.1.2) with labels of at most 63 octets, from
/// `b[i]`: the index of the first octet after it (neither a label's nor a dot
/// between two labels). Only letters, digits and hyphens: a U-label is the
/// full parser's.
#[inline(always)]
fn ldh_domain(b: &[u8], mut i: usize) -> Option<usize> {
    loop {
        let label = i;
        while b.get(i).is_some_and(|&c| class(c) & LDH != 0) {
            i += 1;
        }
        let len = i - label;
        if len == 0 || len > LABEL_MAX || b[label] == b'-' || b[i - 1] == b'-' {
            return None;
        }
        if b.get(i) != Some(&b'.') {
            return Some(i);
        }
        i += 1;
    }
}

/// The argument of HELO, EHLO or LHLO when it is a domain of letters,
/// digits and hyphens (RFC 5321 §4.1.1.1, §4.1.2) within the domain limit:
/// the usual greeting. `None` for anything else (an address literal, a
/// U-label, a name the grammar refuses), which the full parser decides.
#[inline(always)]
pub(crate) fn helo_domain<'a>(arg: &'a str, opts: &ParseOptions) -> Option<HeloName<'a>> {
    let end = ldh_domain(arg.as_bytes(), 0)?;
    (end == arg.len() && end <= opts.path.domain_limit())
        .then(|| HeloName::Host(Host::Domain(Domain::from_checked(arg))))
}

/// The parameters after the path: `b[from..]` is empty or `1*(SP param)`.
/// Calls `param(keyword, value)` for each, in order, every value checked as
/// an `esmtp-value` first (as the full parser does); `None` as soon as
/// `param` does, or at a malformed item.
#[inline(always)]
fn params<'a>(
    args: &'a str,
    from: usize,
    mut param: impl FnMut(&'a str, Option<&'a str>) -> Option<()>,
) -> Option<()> {
    let b = args.as_bytes();
    let mut i = from;
    while i < b.len() {
        if b[i] != b' ' {
            return None;
        }
        let start = i + 1;
        let end = swar::position(&b[start..], |w| swar::eq(w, b' ')).map_or(b.len(), |n| start + n);
        let item = &args[start..end];
        match swar::position(item.as_bytes(), |w| swar::eq(w, b'=')) {
            Some(eq) => {
                let value = &item[eq + 1..];
                check_value(value, false).ok()?;
                param(&item[..eq], Some(value))?;
            }
            None => param(item, None)?,
        }
        i = end;
    }
    Some(())
}

/// `MAIL FROM:<local@domain>` with SIZE, BODY and SMTPUTF8 at most once
/// each; `args` is everything after `MAIL `.
#[inline(always)]
pub(crate) fn mail<'a>(args: &'a str, opts: &ParseOptions) -> Option<Command<'a>> {
    const PREFIX: &[u8] = b"FROM:";
    let spans = path(args.as_bytes(), PREFIX, &opts.path)?;
    let mut size = None;
    let mut body = None;
    let mut smtputf8 = false;
    params(args, spans.close + 1, |keyword, value| {
        match (keyword.len(), value) {
            (4, Some(v)) if size.is_none() && keyword.eq_ignore_ascii_case("SIZE") => {
                size = Some(parse_size(v).ok()?);
            }
            (4, Some(v)) if body.is_none() && keyword.eq_ignore_ascii_case("BODY") => {
                body = Some(parse_body(v).ok()?);
            }
            // RFC 6531 §3.4: no value.
            (8, None) if !smtputf8 && keyword.eq_ignore_ascii_case("SMTPUTF8") => smtputf8 = true,
            _ => return None,
        }
        Some(())
    })?;
    Some(Command::Mail {
        from: ReversePath::Mailbox(spans.mailbox(args, PREFIX.len())),
        params: MailParameters {
            size,
            body,
            smtputf8,
            ret: None,
            envid: None,
            auth: None,
            requiretls: false,
            mt_priority: None,
            hold: None,
            by: None,
            other: Vec::new(),
        },
    })
}

/// `RCPT TO:<local@domain>` with NOTIFY and ORCPT (RFC 3461 §4.1, §4.2) at
/// most once each, ORCPT without xtext escapes; `args` is everything after
/// `RCPT `.
#[inline(always)]
pub(crate) fn rcpt<'a>(args: &'a str, opts: &ParseOptions) -> Option<Command<'a>> {
    const PREFIX: &[u8] = b"TO:";
    let spans = path(args.as_bytes(), PREFIX, &opts.path)?;
    let mut notify = None;
    let mut orcpt = None;
    params(args, spans.close + 1, |keyword, value| {
        let v = value?;
        match keyword.len() {
            6 if notify.is_none() && keyword.eq_ignore_ascii_case("NOTIFY") => {
                notify = Some(notify_flags(v)?);
            }
            // addr-type ";" xtext, here with no "+" escape to decode.
            5 if orcpt.is_none() && keyword.eq_ignore_ascii_case("ORCPT") => {
                let semi = v.bytes().position(|c| c == b';')?;
                let (addr_type, address) = (&v[..semi], &v[semi + 1..]);
                let escaped = !swar::none(address.as_bytes(), |w| swar::eq(w, b'+'));
                if !is_atom(addr_type) || address.is_empty() || escaped {
                    return None;
                }
                orcpt = Some(OriginalRecipient {
                    addr_type: Cow::Borrowed(addr_type),
                    address: Cow::Borrowed(address),
                });
            }
            _ => return None,
        }
        Some(())
    })?;
    Some(Command::Rcpt {
        to: ForwardPath::Mailbox(spans.mailbox(args, PREFIX.len())),
        params: RcptParameters {
            notify: notify.map(Notify::from_flags),
            orcpt,
            other: Vec::new(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::command::{
        parse_command, parse_mail as parse_mail_full, parse_rcpt as parse_rcpt_full,
    };
    use alloc::format;
    use alloc::string::String;
    use alloc::vec;
    use alloc::vec::Vec as StdVec;
    use proptest::prelude::*;
    use proptest::test_runner::{TestCaseError, TestRunner};

    /// A piece of a path: mostly what the scanner takes, with every kind of
    /// byte it must refuse or hand over mixed in.
    fn piece() -> impl Strategy<Value = String> {
        prop_oneof![
            6 => "[a-zA-Z0-9]{1,6}",
            2 => "[a-z0-9-]{1,5}",
            2 => Just(String::from(".")),
            1 => "[!#$%&'*+/=?^_`{|}~]{1,2}",
            1 => prop::sample::select(&["@", "\"", "[", "]", ">", "<", " ", "\t", ":", ",", "\\"][..])
                .prop_map(String::from),
            1 => "[a-z]{63,65}",
        ]
    }

    /// Any run of pieces: mostly refused somewhere.
    fn noise() -> impl Strategy<Value = String> {
        prop::collection::vec(piece(), 0..6).prop_map(|p| p.concat())
    }

    /// A Dot-string, near its length limit at times; or noise.
    fn local() -> impl Strategy<Value = String> {
        prop_oneof![
            6 => "[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]{1,8}(\\.[a-z0-9_-]{1,6}){0,2}",
            1 => (60usize..70).prop_map(|n| "l".repeat(n)),
            2 => noise(),
        ]
    }

    /// A domain, with labels near their length limit and hyphens at times;
    /// or noise.
    fn domain() -> impl Strategy<Value = String> {
        let label = prop_oneof![
            6 => "[a-zA-Z0-9]([a-z0-9-]{0,5}[a-z0-9])?",
            1 => "-?[a-z]{1,3}-?",
            1 => (62usize..65).prop_map(|n| "d".repeat(n)),
        ];
        prop_oneof![
            6 => prop::collection::vec(label, 1..5).prop_map(|l| l.join(".")),
            1 => (1usize..6).prop_map(|n| alloc::vec!["d".repeat(63); n].join(".")),
            2 => noise(),
        ]
    }

    fn param() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(
                &[
                    "SIZE",
                    "size",
                    "Size",
                    "BODY",
                    "SMTPUTF8",
                    "smtputf8",
                    "NOTIFY",
                    "ORCPT",
                    "RET",
                    "X-A",
                    "",
                    "SIZE=",
                    "BODY=8bitmime",
                    "=1"
                ][..]
            )
            .prop_map(String::from),
            "(SIZE|size)=[0-9]{0,21}",
            "SIZE=[0-9]{1,3}[a=+ ]?[0-9]?",
            "BODY=(7BIT|8BITMIME|BINARYMIME|8bitMime|binary|7bit=)",
            "(NOTIFY|notify)=(NEVER|SUCCESS|FAILURE|DELAY|success|,){1,4}",
            "(ORCPT|orcpt)=[a-z0-9=+-]{0,7};?[a-zA-Z0-9@.+=;-]{0,12}",
            "ORCPT=rfc822;[a-z]{1,8}\\+[0-9A-Fa-f]{0,2}[a-z]{0,3}",
            "[A-Z]{1,10}(=([A-Za-z0-9]{1,4}|NEVER|SUCCESS|8BITMIME|12|rfc822;a@b))?",
            Just(String::from("SMTPUTF8 SMTPUTF8")),
            Just(String::from("NOTIFY=NEVER NOTIFY=DELAY")),
            Just(String::from("ORCPT=a;b ORCPT=a;b")),
            Just(String::from("BODY=7BIT BODY=7BIT")),
        ]
    }

    fn line() -> impl Strategy<Value = String> {
        (
            prop::sample::select(
                &[
                    "FROM:<", "from:<", "TO:<", "to:<", "From:<", "FROM:", "TO: <", "FROM:<@",
                ][..],
            ),
            local(),
            prop::option::weighted(0.9, domain()),
            prop::option::weighted(0.9, Just(">")),
            prop::collection::vec(param(), 0..3),
            prop::sample::select(&[" ", " ", " ", " ", " ", "  ", "\t", ""][..]),
        )
            .prop_map(|(prefix, local, domain, close, params, sep)| {
                let mut s = format!("{prefix}{local}");
                if let Some(d) = domain {
                    s += &format!("@{d}");
                }
                s += close.unwrap_or("");
                for p in params {
                    s += sep;
                    s += &p;
                }
                s
            })
    }

    fn options() -> impl Strategy<Value = ParseOptions> {
        // Domain limits around the lengths `domain` builds (four or five
        // labels of 63: 255 and 319 octets), path limits near and far above
        // them, so that each limit is the one that bites at times.
        let path = prop_oneof![250usize..262, 315usize..330, Just(4000)];
        (any::<u8>(), 60usize..70, 250usize..330, path).prop_map(|(flags, local, domain, path)| {
            ParseOptions {
                smtputf8: flags & 1 != 0,
                utf8_transaction: flags & 2 != 0,
                path: PathOptions {
                    allow_utf8: flags & 4 != 0,
                    max_local_part: local,
                    max_domain: domain,
                    max_path: path,
                },
                ..ParseOptions::default()
            }
        })
    }

    /// Runs `check` on `cases` values of `strategy` and returns the fast
    /// answers it counted (each check returns its own). Failures are not
    /// persisted: the generators reach the edges in every run.
    fn fast_answers<S: Strategy>(
        cases: u32,
        strategy: S,
        check: impl Fn(S::Value) -> Result<u32, TestCaseError>,
    ) -> u32 {
        let mut runner = TestRunner::new(ProptestConfig {
            failure_persistence: None,
            ..ProptestConfig::with_cases(cases)
        });
        let hits = core::cell::Cell::new(0u32);
        let result = runner.run(&strategy, |value| {
            hits.set(hits.get() + check(value)?);
            Ok(())
        });
        if let Err(e) = result {
            panic!("{e}");
        }
        hits.get()
    }

    /// Whenever the one-pass scanner answers, the full parser gives the
    /// same command; and `parse_command` gives what the full parser does.
    /// The scanner must answer for a fair share of the cases, or this
    /// would prove nothing.
    #[test]
    fn fast_and_full_parsers_agree() {
        let hits = fast_answers(8192, (line(), options()), |(args, opts)| {
            let mut hits = 0;
            if let Some(fast) = mail(&args, &opts) {
                hits += 1;
                prop_assert_eq!(Ok(fast), parse_mail_full(&args, &opts));
            }
            if let Some(fast) = rcpt(&args, &opts) {
                hits += 1;
                prop_assert_eq!(Ok(fast), parse_rcpt_full(&args, &opts));
            }
            // `parse_command` drops trailing blanks before it looks further.
            let trimmed = args.trim_end_matches([' ', '\t']);
            let line = if args.len() >= 3 && args[..3].eq_ignore_ascii_case("TO:") {
                format!("RCPT {args}")
            } else {
                format!("MAIL {args}")
            };
            let full = if line.starts_with("RCPT") {
                parse_rcpt_full(trimmed, &opts)
            } else {
                parse_mail_full(trimmed, &opts)
            };
            prop_assert_eq!(parse_command(line.as_bytes(), &opts), full);
            Ok(hits)
        });
        assert!(hits > 8192 / 16, "only {hits} fast answers");
    }

    /// The same for HELO, EHLO and LHLO names, strict and lenient: whenever
    /// the scanner answers, the full parser gives the same name.
    #[test]
    fn fast_and_full_helo_names_agree() {
        use crate::wire::command::{HeloSyntax, Verb, parse_helo_name};
        let cases = (domain(), options(), any::<bool>(), 0usize..3);
        let hits = fast_answers(4096, cases, |(name, mut opts, lenient, verb)| {
            if lenient {
                opts.helo = HeloSyntax::Lenient;
            }
            let verb = [Verb::Helo, Verb::Ehlo, Verb::Lhlo][verb];
            let fast = helo_domain(&name, &opts);
            let hit = u32::from(fast.is_some());
            if let Some(fast) = fast {
                prop_assert_eq!(Ok(fast), parse_helo_name(verb, &name, &opts));
            }
            let line = format!("{verb} {name}");
            let full = parse_helo_name(verb, name.trim_end_matches([' ', '\t']), &opts);
            let command = parse_command(line.as_bytes(), &opts);
            match (verb, full) {
                (Verb::Helo, Ok(n)) => prop_assert_eq!(command, Ok(Command::Helo(n))),
                (Verb::Ehlo, Ok(n)) => prop_assert_eq!(command, Ok(Command::Ehlo(n))),
                (_, Ok(n)) => prop_assert_eq!(command, Ok(Command::Lhlo(n))),
                (_, Err(_)) => prop_assert!(command.is_err()),
            }
            Ok(hit)
        });
        assert!(hits > 4096 / 4, "only {hits} fast answers");
        // Up to the domain limit and not past it.
        let opts = ParseOptions::default();
        let at_limit = [&*"d".repeat(63); 4].join(".");
        assert_eq!(at_limit.len(), 255);
        assert!(helo_domain(&at_limit, &opts).is_some());
        assert!(helo_domain(&format!("{at_limit}x"), &opts).is_none());
        assert!(helo_domain("client.example.org", &opts).is_some());
        for refused in [
            "",
            "a.",
            ".a",
            "a..b",
            "-a",
            "a-",
            "a_b",
            "[192.0.2.1]",
            "a b",
        ] {
            assert!(helo_domain(refused, &opts).is_none(), "{refused:?}");
        }
    }

    /// The scanner does answer for the usual lines (the property above would
    /// hold for one that never does), up to each limit and not past it.
    #[test]
    fn the_usual_lines_take_the_fast_path() {
        let opts = ParseOptions::default();
        for args in [
            "FROM:<sender.name@example.org> SIZE=123456 BODY=8BITMIME",
            "from:<a@b>",
            "FROM:<a!#$%&'*+/=?^_`{|}~-z@x-1.example> smtputf8 size=0000000000000000001 body=7bit",
            "FROM:<a@b> SIZE=18446744073709551615",
        ] {
            assert!(mail(args, &opts).is_some(), "{args}");
        }
        for args in [
            "TO:<first.recipient@example.net>",
            "TO:<second@example.net> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;second@example.net",
            "to:<x@y.z> notify=never orcpt=utf-8;a@b",
        ] {
            assert!(rcpt(args, &opts).is_some(), "{args}");
        }
        let label = "a".repeat(63);
        let local = "l".repeat(64);
        let edge: StdVec<String> = StdVec::from([
            format!("FROM:<{local}@{label}.example>"),
            format!("TO:<a@{label}>"),
        ]);
        for args in &edge {
            let verb = if args.starts_with("TO") {
                rcpt(args, &opts)
            } else {
                mail(args, &opts)
            };
            assert!(verb.is_some(), "{args}");
        }
        // A domain of exactly its limit, and a path of exactly its limit
        // (brackets included), each with the other limit out of the way;
        // one octet more is left to the full parser. (The limits never go
        // below RFC 5321's, so these are above them.)
        let roomy = |max_domain, max_path| ParseOptions {
            path: PathOptions {
                max_domain,
                max_path,
                ..PathOptions::default()
            },
            ..ParseOptions::default()
        };
        let domain = |len: usize| {
            let four = [label.as_str(); 4].join(".");
            format!("{four}.{}", "b".repeat(len - four.len() - 1))
        };
        let at_limit = format!("TO:<a@{}>", domain(300));
        assert!(rcpt(&at_limit, &roomy(300, 4000)).is_some());
        assert!(rcpt(&at_limit, &roomy(299, 4000)).is_none());
        let path_len = at_limit.len() - 3;
        assert!(rcpt(&at_limit, &roomy(4000, path_len)).is_some());
        assert!(rcpt(&at_limit, &roomy(4000, path_len - 1)).is_none());
        for args in [
            format!("FROM:<{local}l@a.example>"),
            format!("TO:<a@{label}a>"),
            // Beyond u64: the full parser says SizeOverflow (RFC 1870 §6.1).
            "FROM:<a@b> SIZE=18446744073709551616".into(),
            "FROM:<a@b> SIZE=1 SIZE=1".into(),
            "TO:<a@b> ORCPT=rfc822;a+2Bb".into(),
            // RFC 3461 §4.2: the addr-type is an atom; and an empty
            // address, which the full parser refuses.
            "TO:<a@b> ORCPT=;a@b".into(),
            "TO:<a@b> ORCPT=rfc822;".into(),
            "TO:<postmaster>".into(),
            "FROM:<>".into(),
        ] {
            let none = if args.starts_with("TO") {
                rcpt(&args, &opts)
            } else {
                mail(&args, &opts)
            };
            assert!(none.is_none(), "{args}");
        }
    }
}
