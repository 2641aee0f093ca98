//! Line framing: splitting a byte stream into CRLF-terminated lines.
//!
//! RFC 5321 §2.3.8: lines end with CRLF, and "the CR and LF characters MUST NOT
//! appear elsewhere" in commands and replies. A bare LF is a line end only under
//! [`LineEnding::Lenient`] (what Postfix calls `smtpd_forbid_bare_newline = normalize`);
//! a bare CR inside a line is always an error.

/// How a line must end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LineEnding {
    /// Only CRLF ends a line; a bare LF is an error (RFC 5321 §2.3.8).
    #[default]
    Strict,
    /// CRLF or a bare LF ends a line (interoperability with broken peers).
    Lenient,
}

/// Why a line could not be framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LineError {
    /// The line is longer than the limit.
    #[error("line too long")]
    TooLong,
    /// A LF without a CR before it, under [`LineEnding::Strict`].
    #[error("bare LF in line")]
    BareLf,
    /// A CR not followed by LF.
    #[error("bare CR in line")]
    BareCr,
}

/// The result of [`frame_line`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framed<'a> {
    /// A complete line, without its line ending, and the bytes it took (line ending included).
    Line {
        /// The line's content, never containing CR or LF.
        line: &'a [u8],
        /// Bytes to drop from the front of the buffer.
        consumed: usize,
    },
    /// No line end yet and the limit is not reached: read more.
    Partial,
    /// A malformed line. Drop `consumed` bytes. If `complete` is false the line
    /// has not ended yet: the caller keeps discarding input up to and including the
    /// next LF (see [`skip_line`]) before framing again.
    Invalid {
        /// What was wrong.
        error: LineError,
        /// Bytes to drop from the front of the buffer.
        consumed: usize,
        /// Whether the bad line's end (its LF) was included in `consumed`.
        complete: bool,
    },
}

/// Frames one line from the start of `buf`.
///
/// `max_len` counts the line ending (CRLF), as the RFC 5321 §4.5.3.1 limits do;
/// a line of exactly `max_len` octets including CRLF is accepted. Never reads
/// beyond `max_len + 1` bytes of `buf`, so a flood without line ends costs O(max_len).
///
/// ```
/// use smtp_proto::wire::line::{frame_line, Framed, LineEnding};
/// assert_eq!(
///     frame_line(b"NOOP\r\nQUIT\r\n", 512, LineEnding::Strict),
///     Framed::Line { line: b"NOOP", consumed: 6 }
/// );
/// assert_eq!(frame_line(b"NOO", 512, LineEnding::Strict), Framed::Partial);
/// ```
#[inline]
pub fn frame_line(buf: &[u8], max_len: usize, ending: LineEnding) -> Framed<'_> {
    let window = &buf[..buf.len().min(max_len.saturating_add(1))];
    // Fast path, one scan: the first CR or LF is a CR, an LF follows it and
    // the line fits. Then no bare CR or LF can come before it, and this is
    // the verdict of the full checks below, which handle everything else.
    if let Some(i) = first_line_end(window)
        && window[i] == b'\r'
        && window.get(i + 1) == Some(&b'\n')
        && i + 2 <= max_len
    {
        return Framed::Line {
            line: &window[..i],
            consumed: i + 2,
        };
    }
    frame_line_checked(window, max_len, ending)
}

/// The first CR or LF in `buf`: the first 64 bytes eight at a time in a
/// register (commands are short, and a `memchr` call costs more than that),
/// then `memchr2` for the rest of a long line.
#[inline]
fn first_line_end(buf: &[u8]) -> Option<usize> {
    use crate::wire::swar;
    let head = buf.len().min(64);
    let mut at = 0;
    while at < head {
        let found = swar::line_end(swar::load(&buf[at..head]));
        if found != 0 {
            return Some(at + swar::first(found));
        }
        at += 8;
    }
    memchr::memchr2(b'\r', b'\n', &buf[head..]).map(|i| head + i)
}

/// [`frame_line`] for every other case, `window` being at most `max_len + 1`
/// bytes.
fn frame_line_checked(window: &[u8], max_len: usize, ending: LineEnding) -> Framed<'_> {
    let lf = memchr::memchr(b'\n', window);
    let region = &window[..lf.unwrap_or(window.len())];
    // A CR with another byte of the line after it is bare. It is the verdict
    // whenever it lies within the first `max_len` octets, whatever else is wrong
    // further on, so the verdict is the same however much of the line has
    // arrived (found by the `server` fuzz target's read-size differential).
    let bare_cr =
        memchr::memchr(b'\r', region).is_some_and(|i| i + 1 < region.len() && i + 1 < max_len);
    if bare_cr {
        return Framed::Invalid {
            error: LineError::BareCr,
            consumed: lf.map_or(window.len(), |lf| lf + 1),
            complete: lf.is_some(),
        };
    }
    let Some(lf) = lf else {
        if window.len() >= max_len {
            return Framed::Invalid {
                error: LineError::TooLong,
                consumed: window.len(),
                complete: false,
            };
        }
        return Framed::Partial;
    };
    let consumed = lf + 1;
    let (content, has_cr) = if lf > 0 && window[lf - 1] == b'\r' {
        (&window[..lf - 1], true)
    } else {
        (&window[..lf], false)
    };
    let error = if consumed > max_len {
        Some(LineError::TooLong)
    } else if !has_cr && ending == LineEnding::Strict {
        Some(LineError::BareLf)
    } else {
        None
    };
    match error {
        Some(error) => Framed::Invalid {
            error,
            consumed,
            complete: true,
        },
        None => Framed::Line {
            line: content,
            consumed,
        },
    }
}

/// While discarding the rest of a bad line: returns how many bytes of `buf` to
/// drop, and whether the line's LF was among them (discarding is then over).
pub fn skip_line(buf: &[u8]) -> (usize, bool) {
    match memchr::memchr(b'\n', buf) {
        Some(lf) => (lf + 1, true),
        None => (buf.len(), false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_limit_is_accepted() {
        let mut line = alloc::vec![b'a'; 510];
        line.extend_from_slice(b"\r\n");
        match frame_line(&line, 512, LineEnding::Strict) {
            Framed::Line { line, consumed } => {
                assert_eq!(line.len(), 510);
                assert_eq!(consumed, 512);
            }
            other => panic!("{other:?}"),
        }
        let mut long = alloc::vec![b'a'; 511];
        long.extend_from_slice(b"\r\n");
        assert!(matches!(
            frame_line(&long, 512, LineEnding::Strict),
            Framed::Invalid {
                error: LineError::TooLong,
                complete: true,
                ..
            }
        ));
    }

    /// Mutation-testing finds: a bare CR is the verdict only when the octet
    /// after it is within the limit; an LF as the very first octet is a line.
    #[test]
    fn bare_cr_at_the_limit_and_lf_first() {
        let mut line = alloc::vec![b'a'; 511];
        line.extend_from_slice(b"\rX");
        assert!(matches!(
            frame_line(&line, 512, LineEnding::Strict),
            Framed::Invalid {
                error: LineError::TooLong,
                ..
            }
        ));
        let mut line = alloc::vec![b'a'; 510];
        line.extend_from_slice(b"\rX");
        assert!(matches!(
            frame_line(&line, 512, LineEnding::Strict),
            Framed::Invalid {
                error: LineError::BareCr,
                ..
            }
        ));
        assert_eq!(
            frame_line(b"\nNOOP", 512, LineEnding::Lenient),
            Framed::Line {
                line: b"",
                consumed: 1
            }
        );
        assert!(matches!(
            frame_line(b"\nNOOP", 512, LineEnding::Strict),
            Framed::Invalid {
                error: LineError::BareLf,
                consumed: 1,
                complete: true
            }
        ));
    }

    #[test]
    fn partial_at_limit_waiting_for_lf() {
        let mut line = alloc::vec![b'a'; 510];
        line.push(b'\r');
        assert_eq!(frame_line(&line, 512, LineEnding::Strict), Framed::Partial);
        let flood = alloc::vec![b'a'; 4000];
        assert_eq!(
            frame_line(&flood, 512, LineEnding::Strict),
            Framed::Invalid {
                error: LineError::TooLong,
                consumed: 513,
                complete: false
            }
        );
        assert_eq!(skip_line(b"aaa\r\nNOOP"), (5, true));
        assert_eq!(skip_line(b"aaa"), (3, false));
    }

    /// The verdict on a line never depends on how much of it has arrived: every
    /// prefix is either Partial or gives the whole buffer's verdict.
    #[test]
    fn verdict_is_independent_of_arrival() {
        let mut long_bare_cr = alloc::vec![b'a'; 20];
        long_bare_cr.extend_from_slice(b"\rb");
        long_bare_cr.extend(core::iter::repeat_n(b'c', 600));
        long_bare_cr.extend_from_slice(b"\r\n");
        let mut long_then_cr = alloc::vec![b'a'; 600];
        long_then_cr.extend_from_slice(b"\rb\r\n");
        let cases: [&[u8]; 6] = [
            &long_bare_cr,
            &long_then_cr,
            b"NO\rOP\r\n",
            b"NOOP\n",
            b"NOOP\r\r\n",
            b"NOOP\r\n",
        ];
        for case in cases {
            for ending in [LineEnding::Strict, LineEnding::Lenient] {
                let whole = frame_line(case, 512, ending);
                for n in 0..=case.len() {
                    match (frame_line(&case[..n], 512, ending), whole) {
                        (Framed::Partial, _) => {}
                        (Framed::Invalid { error: a, .. }, Framed::Invalid { error: b, .. }) => {
                            assert_eq!(a, b, "{case:?} at {n}")
                        }
                        (a, b) => assert_eq!(a, b, "{case:?} at {n}"),
                    }
                }
            }
        }
    }

    #[test]
    fn bare_endings() {
        assert_eq!(
            frame_line(b"NOOP\nQUIT", 512, LineEnding::Strict),
            Framed::Invalid {
                error: LineError::BareLf,
                consumed: 5,
                complete: true
            }
        );
        assert_eq!(
            frame_line(b"NOOP\nQUIT", 512, LineEnding::Lenient),
            Framed::Line {
                line: b"NOOP",
                consumed: 5
            }
        );
        assert_eq!(
            frame_line(b"NO\rOP\r\n", 512, LineEnding::Lenient),
            Framed::Invalid {
                error: LineError::BareCr,
                consumed: 7,
                complete: true
            }
        );
        assert_eq!(
            frame_line(b"NO\rOP", 512, LineEnding::Strict),
            Framed::Invalid {
                error: LineError::BareCr,
                consumed: 5,
                complete: false
            }
        );
        assert_eq!(
            frame_line(b"NOOP\r", 512, LineEnding::Strict),
            Framed::Partial
        );
    }
}
