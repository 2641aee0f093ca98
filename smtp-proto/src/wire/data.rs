//! The DATA codec (RFC 5321 §4.1.1.4, §4.5.2) and BDAT chunk framing (RFC 3030).
//!
//! * [`LineNormalizer`] (client side) normalises the line endings of message
//!   content to CRLF (RFC 5321 §2.3.8): the form of a text body in BDAT chunks.
//! * [`DotStuffer`] (client side) turns message content into the bytes sent after
//!   the 354 reply: line endings normalised as by [`LineNormalizer`], a '.' at the
//!   start of a line doubled (§4.5.2) and the end-of-data sequence appended.
//! * [`DataDecoder`] (server side) turns the bytes received after the 354 reply back
//!   into message content, stopping exactly after the end-of-data sequence
//!   `<CRLF>.<CRLF>`. It is written against SMTP smuggling (CVE-2023-51764,
//!   CVE-2023-51765, CVE-2023-51766): only a real CRLF, a '.', and a real CRLF end the
//!   data, under every [`BareLineEnding`] policy.
//! * [`BdatChunk`] (server side) takes exactly the octets announced by a
//!   `BDAT <size> [LAST]` command, verbatim (RFC 3030 §2).
//!
//! All of them are streaming: they keep O(1) state, never buffer input internally,
//! and give the same result whatever way the input is split into chunks.

use alloc::vec::Vec;
use core::ops::Range;

use crate::limits::TEXT_LINE_MIN;

/// The end-of-data sequence sent alone for an empty message, and after the last
/// line of content otherwise (RFC 5321 §4.1.1.4).
const END_OF_DATA: &[u8] = b".\r\n";

// ---------------------------------------------------------------------------
// Client side: line-ending normalisation and dot-stuffing
// ---------------------------------------------------------------------------

/// Streaming line-ending normaliser for message content, client side
/// (RFC 5321 §2.3.8): the form of a text body sent in BDAT chunks (RFC 3030),
/// and the first half of what [`DotStuffer`] does for DATA.
///
/// * Every bare CR and every bare LF becomes CRLF; a CRLF stays one CRLF even
///   when the CR ends one chunk and the LF starts the next.
/// * Nothing else changes: no dot-stuffing, no end-of-data sequence.
/// * [`finish`](LineNormalizer::finish) ends the last line with CRLF if the
///   content did not end with a line ending.
///
/// The output never contains a bare CR or a bare LF, and is the same whatever
/// the chunking of the input.
///
/// ```
/// use smtp_proto::wire::data::LineNormalizer;
/// let mut out = Vec::new();
/// let mut normalizer = LineNormalizer::new();
/// normalizer.encode(b"Subject: hi\n\n.signature\r", &mut out);
/// normalizer.encode(b"\nbye", &mut out);
/// normalizer.finish(&mut out);
/// assert_eq!(out, b"Subject: hi\r\n\r\n.signature\r\nbye\r\n");
/// ```
#[derive(Debug, Clone)]
pub struct LineNormalizer {
    /// The next byte starts a line (true at the start of the content).
    line_start: bool,
    /// The last byte was a CR, already written as CRLF: an LF right after it is
    /// the second half of that CRLF and is dropped.
    after_cr: bool,
}

impl Default for LineNormalizer {
    fn default() -> Self {
        LineNormalizer::new()
    }
}

impl LineNormalizer {
    /// A normaliser at the start of the content.
    pub fn new() -> Self {
        LineNormalizer {
            line_start: true,
            after_cr: false,
        }
    }

    /// Normalises the next piece of content, appending the result to `out`.
    pub fn encode(&mut self, input: &[u8], out: &mut Vec<u8>) {
        self.encode_lines::<false>(input, out);
    }

    /// Ends the content: a CRLF if it did not end with a line ending. Empty
    /// content stays empty.
    pub fn finish(self, out: &mut Vec<u8>) {
        if !self.line_start {
            out.extend_from_slice(b"\r\n");
        }
    }

    /// The one loop behind [`LineNormalizer::encode`] and
    /// [`DotStuffer::encode`]: with `STUFF_DOTS`, a '.' at the start of a line
    /// is doubled as well. A const parameter, so each caller gets its own
    /// specialised loop and the normaliser pays nothing for the dots.
    #[inline]
    fn encode_lines<const STUFF_DOTS: bool>(&mut self, input: &[u8], out: &mut Vec<u8>) {
        out.reserve(input.len().saturating_add(2));
        let mut i = 0;
        while i < input.len() {
            if self.after_cr {
                self.after_cr = false;
                if input[i] == b'\n' {
                    i += 1;
                    continue;
                }
            }
            let rest = &input[i..];
            if STUFF_DOTS && self.line_start && rest[0] == b'.' {
                out.push(b'.');
            }
            match memchr::memchr2(b'\r', b'\n', rest) {
                None => {
                    out.extend_from_slice(rest);
                    self.line_start = false;
                    return;
                }
                Some(pos) => {
                    out.extend_from_slice(&rest[..pos]);
                    out.extend_from_slice(b"\r\n");
                    self.line_start = true;
                    i += pos + 1;
                    if rest[pos] == b'\r' {
                        match input.get(i) {
                            Some(b'\n') => i += 1,
                            Some(_) => {}
                            None => self.after_cr = true,
                        }
                    }
                }
            }
        }
    }
}

/// Streaming encoder for the DATA phase, client side (RFC 5321 §4.5.2 transparency,
/// §2.3.8 line endings, §4.1.1.4 end of data): a [`LineNormalizer`] that also
/// stuffs dots and ends the data.
///
/// * Every bare CR and every bare LF becomes CRLF; a CRLF stays one CRLF even
///   when the CR ends one chunk and the LF starts the next.
/// * A '.' at the start of a line is doubled.
/// * [`finish`](DotStuffer::finish) ends the last line with CRLF if the content
///   did not end with a line ending, then appends `.` CRLF.
///
/// The output never contains a bare CR, a bare LF or an undoubled '.' at the start
/// of a line, whatever the chunking of the input; it contains exactly one
/// end-of-data sequence, at its very end.
///
/// ```
/// use smtp_proto::wire::data::DotStuffer;
/// let mut out = Vec::new();
/// let mut stuffer = DotStuffer::new();
/// stuffer.encode(b"Subject: hi\n\n.signature\r", &mut out);
/// stuffer.encode(b"\nbye", &mut out);
/// stuffer.finish(&mut out);
/// assert_eq!(out, b"Subject: hi\r\n\r\n..signature\r\nbye\r\n.\r\n");
/// ```
#[derive(Debug, Clone, Default)]
pub struct DotStuffer {
    /// Line endings and line starts.
    lines: LineNormalizer,
}

impl DotStuffer {
    /// A stuffer at the start of a message.
    pub fn new() -> Self {
        DotStuffer {
            lines: LineNormalizer::new(),
        }
    }

    /// Encodes the next piece of message content, appending wire bytes to `out`.
    pub fn encode(&mut self, input: &[u8], out: &mut Vec<u8>) {
        self.lines.encode_lines::<true>(input, out);
    }

    /// Ends the message: a CRLF if the content did not end with a line ending,
    /// then the end-of-data `.` CRLF (RFC 5321 §4.1.1.4). An empty message is
    /// just `.` CRLF.
    pub fn finish(self, out: &mut Vec<u8>) {
        self.lines.finish(out);
        out.extend_from_slice(END_OF_DATA);
    }
}

// ---------------------------------------------------------------------------
// Server side: end-of-data detection and dot-unstuffing
// ---------------------------------------------------------------------------

/// What [`DataDecoder`] does with a CR not followed by LF, or an LF not preceded
/// by CR (RFC 5321 §2.3.8: they "MUST NOT" appear in SMTP text).
///
/// Under both policies a bare line ending is recorded
/// ([`DataDecoder::bare_cr_seen`], [`DataDecoder::bare_lf_seen`]) and is never a
/// line start for the purposes of end-of-data detection or dot-unstuffing: the
/// data ends only at a real `<CR><LF>.<CR><LF>` (this is what defeats SMTP
/// smuggling, CVE-2023-51764/51765/51766).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BareLineEnding {
    /// Pass bare CR and bare LF through to the content unchanged and record them,
    /// so the server can reject the message once the data has ended (e.g. with
    /// `550 5.6.0` or `554 5.6.11`).
    #[default]
    Reject,
    /// Replace each bare CR and bare LF by CRLF in the content (and record them).
    /// The line start this creates is still not a line start for end-of-data or
    /// dot-unstuffing, as with Postfix's `smtpd_forbid_bare_newline = normalize`
    /// ("Require the standard End-of-DATA sequence `<CR><LF>.<CR><LF>`").
    Normalize,
}

/// Configuration of a [`DataDecoder`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataDecoderConfig {
    /// What to do with bare CR and bare LF.
    pub bare_line_ending: BareLineEnding,
    /// Longest text line, in octets including the CRLF and not counting a
    /// stuffing dot (RFC 5321 §4.5.3.1.6). Values below
    /// [`TEXT_LINE_MIN`] (1000) are raised to it. Longer lines are not an error
    /// for the decoder: they are reported by [`DataDecoder::line_too_long`].
    pub max_line_len: usize,
}

impl Default for DataDecoderConfig {
    /// Reject bare line endings; lines of 1000 octets.
    fn default() -> Self {
        DataDecoderConfig {
            bare_line_ending: BareLineEnding::Reject,
            max_line_len: TEXT_LINE_MIN,
        }
    }
}

/// The result of one [`DataDecoder::decode`] call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeStatus {
    /// Bytes of the input that were used. When `done` is false this is the whole
    /// input; when `done` is true the bytes after `consumed` were not looked at
    /// and belong to whatever follows the data (a pipelined command).
    pub consumed: usize,
    /// The end-of-data sequence has been read: the message content is complete.
    pub done: bool,
}

/// A snapshot of what [`DataDecoder`] has noticed in the content so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DataFindings {
    /// A CR not followed by LF was seen (RFC 5321 §2.3.8).
    pub bare_cr: bool,
    /// An LF not preceded by CR was seen (RFC 5321 §2.3.8).
    pub bare_lf: bool,
    /// A NUL octet was seen (not allowed in SMTP text, RFC 5321 §4.5.2 / RFC 5322 §2.2).
    pub nul: bool,
    /// An octet ≥ 0x80 was seen: the content is not 7-bit (RFC 6152).
    pub eight_bit: bool,
    /// A line longer than the configured limit was seen (RFC 5321 §4.5.3.1.6;
    /// see [`DataDecoder::line_too_long`]).
    pub line_too_long: bool,
    /// Octets of content produced so far (saturating).
    pub content_len: u64,
}

/// Decoder state: which bytes have been consumed but not yet interpreted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a real line: after a real CRLF or at the start of the data.
    LineStart,
    /// A '.' at the start of a real line (not yet written).
    Dot,
    /// '.' CR at the start of a real line (not yet written).
    DotCr,
    /// Inside a line (or after a bare CR/LF, which never starts a line).
    Mid,
    /// A CR inside a line or at a line start (not yet written).
    Cr,
    /// The end-of-data sequence has been consumed.
    Done,
}

/// Streaming decoder for the DATA phase, server side (RFC 5321 §4.1.1.4, §4.5.2).
///
/// Feed it the bytes received after the 354 reply. It appends the message
/// content to the caller's buffer and stops right after the end-of-data sequence:
///
/// * The data ends **only** at CRLF `.` CRLF where both CRLFs are real (or with
///   `.` CRLF as the very first bytes: an empty message). Bare CR or bare LF
///   anywhere never start a line, under either [`BareLineEnding`] policy, so
///   `\n.\n`, `\n.\r\n`, `\r\n.\n`, `\r.\r` and friends are content.
/// * Dot-unstuffing (§4.5.2): a '.' at the start of a real line that is not the
///   end-of-data sequence is deleted ("If the first character is a period and
///   there are other characters on the line, the first character is deleted").
///   A bare CR or bare LF right after the dot counts as "other characters": the
///   dot is deleted.
/// * Real CRLFs stay CRLF in the content, including the one that ends the last
///   line (it is part of the content, §4.1.1.4); the terminating `.` CRLF is not.
/// * Bare CR, bare LF, NUL, 8-bit octets and over-long lines are recorded, never
///   acted upon, so the server reads to the real end of the data and then decides
///   (e.g. `550 5.6.0` or `554 5.6.11` for bare line endings).
///
/// The decoder holds no buffer (a few bytes of state). It checks clean text
/// 64 octets at a time in one branch-free pass, which the compiler turns into
/// vector instructions (every octet against the next: CR and LF only paired,
/// no line-start dot, no NUL, no 8-bit octet), and falls back to a line at a
/// time only around what needs the state machine. Its output, `consumed`
/// counts and findings are the same for every split of the input into chunks. Under [`BareLineEnding::Reject`] the
/// content is never longer than the input; under [`BareLineEnding::Normalize`]
/// at most twice as long.
///
/// ```
/// use smtp_proto::wire::data::{DataDecoder, DataDecoderConfig};
/// let mut dec = DataDecoder::new(DataDecoderConfig::default());
/// let mut content = Vec::new();
/// let input = b"Subject: hi\r\n\r\n..dots\r\n.\r\nQUIT\r\n";
/// let status = dec.decode(input, &mut content);
/// assert!(status.done);
/// assert_eq!(&input[status.consumed..], b"QUIT\r\n");
/// assert_eq!(content, b"Subject: hi\r\n\r\n.dots\r\n");
/// ```
#[derive(Debug, Clone)]
pub struct DataDecoder {
    state: State,
    normalize: bool,
    max_line_len: u64,
    line_len: u64,
    findings: DataFindings,
}

impl Default for DataDecoder {
    fn default() -> Self {
        DataDecoder::new(DataDecoderConfig::default())
    }
}

impl DataDecoder {
    /// A decoder at the start of the data (right after the 354 reply).
    pub fn new(config: DataDecoderConfig) -> Self {
        DataDecoder {
            state: State::LineStart,
            normalize: config.bare_line_ending == BareLineEnding::Normalize,
            max_line_len: u64::try_from(config.max_line_len.max(TEXT_LINE_MIN)).unwrap_or(u64::MAX),
            line_len: 0,
            findings: DataFindings::default(),
        }
    }

    /// Decodes as much of `input` as possible, appending message content to `out`
    /// (dot-unstuffed), and stops right after the end-of-data sequence.
    ///
    /// Every byte before the end of data is consumed, even when it cannot be
    /// interpreted yet (a trailing CR or a line-start '.' waits in the decoder's
    /// state for the next call). Once done, further calls consume nothing; use a
    /// new decoder for the next message.
    #[must_use = "the bytes after `consumed` belong to the next command"]
    pub fn decode(&mut self, input: &[u8], out: &mut Vec<u8>) -> DecodeStatus {
        self.decode_into(input, out)
    }

    /// [`decode`](Self::decode), handing the content to a [`ContentSink`] as
    /// ranges of `input` and a few literal octets, so that a caller holding the
    /// input in a shared buffer can pass content on without copying it.
    #[must_use = "the bytes after `consumed` belong to the next command"]
    pub fn decode_into<S: ContentSink + ?Sized>(
        &mut self,
        input: &[u8],
        out: &mut S,
    ) -> DecodeStatus {
        let mut i = 0;
        while i < input.len() {
            match self.state {
                State::Done => break,
                State::Mid => i += self.mid(input, i, out),
                State::LineStart => match input[i] {
                    b'.' => {
                        i += 1;
                        self.state = State::Dot;
                    }
                    b'\r' => {
                        i += 1;
                        self.state = State::Cr;
                    }
                    // Anything else, bare LF included, is handled as inside a line.
                    _ => self.state = State::Mid,
                },
                State::Dot => {
                    if input[i] == b'\r' {
                        i += 1;
                        self.state = State::DotCr;
                    } else {
                        // Other characters on the line: the dot is deleted.
                        self.state = State::Mid;
                    }
                }
                State::DotCr => {
                    if input[i] == b'\n' {
                        i += 1;
                        self.state = State::Done;
                    } else {
                        // ".<CR>x": the dot is deleted, the CR is bare.
                        self.bare_cr(out);
                        self.state = State::Mid;
                    }
                }
                State::Cr => {
                    if input[i] == b'\n' {
                        // The CR was the octet before, in this input, or the
                        // last octet of the previous one.
                        if i > 0 {
                            self.crlf_at(input, i - 1, out);
                        } else {
                            self.crlf(out);
                        }
                        i += 1;
                        self.state = State::LineStart;
                    } else {
                        self.bare_cr(out);
                        self.state = State::Mid;
                    }
                }
            }
        }
        DecodeStatus {
            consumed: i,
            done: self.state == State::Done,
        }
    }

    /// Whether the end-of-data sequence has been read.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// A CR not followed by LF was seen.
    pub fn bare_cr_seen(&self) -> bool {
        self.findings.bare_cr
    }

    /// An LF not preceded by CR was seen.
    pub fn bare_lf_seen(&self) -> bool {
        self.findings.bare_lf
    }

    /// A NUL octet was seen.
    pub fn nul_seen(&self) -> bool {
        self.findings.nul
    }

    /// An octet ≥ 0x80 was seen (not allowed in a 7BIT body, RFC 6152).
    pub fn eight_bit_seen(&self) -> bool {
        self.findings.eight_bit
    }

    /// Whether a line longer than the configured `max_line_len` was seen
    /// (RFC 5321 §4.5.3.1.6), in octets including its CRLF and excluding a
    /// deleted stuffing dot. Lines are the CRLF-terminated lines of the decoded
    /// content: under [`BareLineEnding::Normalize`] a bare CR or LF ends a
    /// line, under [`BareLineEnding::Reject`] it counts as one octet of the
    /// line. A line still in progress counts with the octets seen so far.
    ///
    /// Only the verdict is kept, not the length of the longest line: over
    /// clean text the decoder bounds line lengths a 64-octet block at a time
    /// and looks for the last line end once per run, where the exact longest
    /// line would take a look at every line end.
    pub fn line_too_long(&self) -> bool {
        self.findings.line_too_long || self.line_len > self.max_line_len
    }

    /// Octets of content produced so far (saturating at `u64::MAX`).
    pub fn content_len(&self) -> u64 {
        self.findings.content_len
    }

    /// Everything recorded so far, in one value.
    pub fn findings(&self) -> DataFindings {
        DataFindings {
            line_too_long: self.line_too_long(),
            ..self.findings
        }
    }

    /// Inside a line: hands out runs of ordinary lines as one range, stopping
    /// only where the state machine is needed. `start` is where the run begins
    /// in `input`; returns the octets consumed (at least one).
    ///
    /// Clean text goes by [`clean_run`](Self::clean_run), a block at a time;
    /// the block it stops at goes by [`lines`](Self::lines), a line at a time.
    ///
    /// A stuffed dot where a run stops (a line that starts with '.' and goes
    /// on with anything but CR) is deleted here and the line read on, in the
    /// same call: the state machine would do the same, a state at a time.
    #[inline]
    fn mid<S: ContentSink + ?Sized>(&mut self, input: &[u8], start: usize, out: &mut S) -> usize {
        let mut at = start;
        loop {
            at += match self.clean_run(input, at, out) {
                0 => self.lines(input, at, out),
                n => n,
            };
            // RFC 5321 §4.5.2: "If the first character is a period and there
            // are other characters on the line, the first character is
            // deleted." A CR after it may be the end of data: that, and a
            // dot last in the input, are left to the state machine.
            if self.state == State::LineStart
                && input.get(at) == Some(&b'.')
                && input.get(at + 1).is_some_and(|&c| c != b'\r')
            {
                at += 1;
                self.state = State::Mid;
                continue;
            }
            return at - start;
        }
    }

    /// The fast path of [`mid`](Self::mid): the longest run of whole
    /// [`BLOCK`]s of clean text from `start` — where every CR is followed by
    /// LF, every LF follows a CR, and no line starts with '.' — handed out as
    /// one range (no line end inside it needs the state machine). Returns its length,
    /// 0 when the first block is not clean or the input is shorter than a
    /// block.
    fn clean_run<S: ContentSink + ?Sized>(
        &mut self,
        input: &[u8],
        start: usize,
        out: &mut S,
    ) -> usize {
        let rest = &input[start..];
        // Inside a line the octet before is never a CR waiting for its LF (the
        // `Cr` state holds those): an LF first is bare.
        if rest.first() == Some(&b'\n') {
            return 0;
        }
        let (mut len, mut seen) = (0, Seen::default());
        // An upper bound on the octets of the line in progress, kept a block
        // at a time: a line ending in a block is at most the bound before it
        // plus the block. While that stays within the limit, no line of the
        // run is too long, and only the last line end needs finding.
        let (mut bound, mut fits) = (self.line_len, true);
        let block_len = BLOCK as u64;
        while let Some(window) = rest[len..].first_chunk::<{ BLOCK + 1 }>() {
            let block = scan_block(window);
            if block.bad_line_end {
                break;
            }
            if block.dot_line {
                // The block is clean up to its first line that starts with
                // '.': the run takes it up to that line's start, and the
                // state machine takes the dot (stuffing, or the end of data).
                let k = first_dot_line(window);
                let part = &window[..k];
                seen.nul |= memchr::memchr(0, part).is_some();
                seen.eight_bit |= !part.is_ascii();
                // `part` ends with an LF: no line reaches past it.
                fits &= bound.saturating_add(k as u64) <= self.max_line_len;
                len += k;
                break;
            }
            seen.lanes.merge(&block.lanes);
            bound = bound.saturating_add(block_len);
            fits &= bound <= self.max_line_len;
            if block.lf {
                bound = block_len;
            }
            len += BLOCK;
        }
        // A CR last is followed by its LF (the check ran over the octet after
        // the block): leave the pair whole for the next step.
        if len > 0 && rest[len - 1] == b'\r' {
            len -= 1;
        }
        if len == 0 {
            return 0;
        }
        let run = &rest[..len];
        self.findings.nul |= seen.nul || seen.lanes.nul();
        self.findings.eight_bit |= seen.eight_bit || seen.lanes.eight_bit();
        if self.findings.line_too_long {
            // The verdict is in: lengths no longer matter.
        } else if fits {
            self.line_len = match memchr::memrchr(b'\n', run) {
                Some(at) => (len - at - 1) as u64,
                None => self.line_len + len as u64,
            };
        } else {
            self.clean_lines(run);
        }
        self.emit(input, start..start + len, out);
        if run[len - 1] == b'\n' {
            self.state = State::LineStart;
        }
        len
    }

    /// Line-length accounting over clean text (every LF ends a real line),
    /// for runs with lines near or over the limit: one backward search per
    /// window of the octets the current line may still take. Every line
    /// ending inside the window fits, so the search jumps to the last one; a
    /// window with none holds a line too long.
    fn clean_lines(&mut self, text: &[u8]) {
        let mut pos = 0;
        while !self.findings.line_too_long {
            let room = self.max_line_len.saturating_sub(self.line_len);
            let end = usize::try_from(room).map_or(text.len(), |r| text.len().min(pos + r));
            match memchr::memrchr(b'\n', &text[pos..end]) {
                Some(at) => {
                    pos += at + 1;
                    self.line_len = 0;
                }
                None if end == text.len() => {
                    self.line_len += (end - pos) as u64;
                    return;
                }
                None => self.findings.line_too_long = true,
            }
        }
    }

    /// The slow path of [`mid`](Self::mid): a line at a time, stopping where
    /// the state machine is needed — a CR or LF that is not part of a CRLF, a
    /// line that starts with `.` or CR, the end of the input — or at the first
    /// line end past two blocks, to give the fast path its turn again.
    fn lines<S: ContentSink + ?Sized>(&mut self, input: &[u8], start: usize, out: &mut S) -> usize {
        let rest = &input[start..];
        let mut pos = 0;
        let mut line_start = 0;
        loop {
            let Some(off) = memchr::memchr2(b'\r', b'\n', &rest[pos..]) else {
                self.span(input, start..input.len(), out);
                self.line_len = self
                    .line_len
                    .saturating_add((rest.len() - line_start) as u64);
                return rest.len();
            };
            let p = pos + off;
            if rest[p] == b'\r' && rest.get(p + 1) == Some(&b'\n') {
                let after = p + 2;
                let line = self.line_len.saturating_add((after - line_start) as u64);
                self.line_ended_at(line);
                match rest.get(after) {
                    Some(&b) if b != b'.' && b != b'\r' && after <= 2 * BLOCK => {
                        pos = after;
                        line_start = after;
                    }
                    _ => {
                        self.span(input, start..start + after, out);
                        self.state = State::LineStart;
                        return after;
                    }
                }
            } else {
                self.span(input, start..start + p, out);
                self.line_len = self.line_len.saturating_add((p - line_start) as u64);
                if rest[p] == b'\r' {
                    // Maybe the first half of a CRLF split across reads.
                    self.state = State::Cr;
                } else {
                    self.bare_lf(out);
                }
                return p + 1;
            }
        }
    }

    /// Content passed on verbatim (lines already accounted for by the caller).
    #[inline]
    fn span<S: ContentSink + ?Sized>(&mut self, input: &[u8], range: Range<usize>, out: &mut S) {
        if range.is_empty() {
            return;
        }
        let run = &input[range.clone()];
        if !self.findings.nul && memchr::memchr(0, run).is_some() {
            self.findings.nul = true;
        }
        if !self.findings.eight_bit && !run.is_ascii() {
            self.findings.eight_bit = true;
        }
        self.emit(input, range, out);
    }

    /// Content passed on verbatim, its octets already looked at.
    #[inline]
    fn emit<S: ContentSink + ?Sized>(&mut self, input: &[u8], range: Range<usize>, out: &mut S) {
        let len = u64::try_from(range.len()).unwrap_or(u64::MAX);
        self.findings.content_len = self.findings.content_len.saturating_add(len);
        out.run(input, range);
    }

    /// A real CRLF at `input[at..at + 2]`: ends the current line.
    #[inline]
    fn crlf_at<S: ContentSink + ?Sized>(&mut self, input: &[u8], at: usize, out: &mut S) {
        out.run(input, at..at + 2);
        self.line_ended();
    }

    /// A real CRLF split across two inputs, or a normalised bare line ending:
    /// ends the current line.
    #[inline]
    fn crlf<S: ContentSink + ?Sized>(&mut self, out: &mut S) {
        out.literal(b"\r\n");
        self.line_ended();
    }

    fn line_ended(&mut self) {
        self.findings.content_len = self.findings.content_len.saturating_add(2);
        self.line_ended_at(self.line_len.saturating_add(2));
    }

    /// A line of `len` octets (CRLF included) has ended.
    #[inline]
    fn line_ended_at(&mut self, len: u64) {
        if len > self.max_line_len {
            self.findings.line_too_long = true;
        }
        self.line_len = 0;
    }

    fn bare<S: ContentSink + ?Sized>(&mut self, byte: &'static [u8], out: &mut S) {
        if self.normalize {
            self.crlf(out);
        } else {
            out.literal(byte);
            self.findings.content_len = self.findings.content_len.saturating_add(1);
            self.line_len = self.line_len.saturating_add(1);
        }
    }

    fn bare_cr<S: ContentSink + ?Sized>(&mut self, out: &mut S) {
        self.findings.bare_cr = true;
        self.bare(b"\r", out);
    }

    fn bare_lf<S: ContentSink + ?Sized>(&mut self, out: &mut S) {
        self.findings.bare_lf = true;
        self.bare(b"\n", out);
    }
}

/// Octets [`DataDecoder`]'s fast path checks at a time: a loop over a fixed
/// number of octets, which the compiler turns into vector instructions.
const BLOCK: usize = 64;

/// Lanes of the vector accumulators of [`scan_block`]: 16 octets, the width
/// of the vector registers every x86-64 and AArch64 processor has.
const LANES: usize = 16;

/// What [`scan_block`] gathers over a run of clean blocks, lane by lane:
/// every octet OR-ed together (0x80 set: 8-bit content), and whether each
/// was a NUL (0xFF where one was).
#[derive(Clone, Copy, Default)]
struct Lanes {
    octets: [u8; LANES],
    nul: [u8; LANES],
}

impl Lanes {
    #[inline(always)]
    fn add(&mut self, l: usize, octet: u8) {
        self.octets[l] |= octet;
        self.nul[l] |= mask(octet == 0);
    }

    #[inline(always)]
    fn merge(&mut self, other: &Lanes) {
        for l in 0..LANES {
            self.octets[l] |= other.octets[l];
            self.nul[l] |= other.nul[l];
        }
    }

    fn eight_bit(&self) -> bool {
        u128::from_ne_bytes(self.octets) & u128::from_ne_bytes([0x80; LANES]) != 0
    }

    fn nul(&self) -> bool {
        u128::from_ne_bytes(self.nul) != 0
    }
}

/// What [`DataDecoder::clean_run`] has seen of a run: the lanes of its
/// whole blocks, and what it found in a part of a block at its end.
#[derive(Default)]
struct Seen {
    lanes: Lanes,
    nul: bool,
    eight_bit: bool,
}

/// Checks the first [`BLOCK`] octets of `window` in one pass, each against
/// the octet after it (the last against `window[BLOCK]`), branch-free, so
/// that it vectorises.
#[inline(always)]
fn scan_block(window: &[u8; BLOCK + 1]) -> Block {
    let (mut bad, mut dot, mut lf) = ([0u8; LANES], [0u8; LANES], [0u8; LANES]);
    let mut lanes = Lanes::default();
    for c in 0..BLOCK / LANES {
        for l in 0..LANES {
            let (x, y) = (window[c * LANES + l], window[c * LANES + l + 1]);
            // RFC 5321 §2.3.8: CR and LF only as a pair. A CR not before an
            // LF, or an LF not after a CR, makes exactly one side true.
            bad[l] |= mask(x == b'\r') ^ mask(y == b'\n');
            // §4.5.2: a line starting with '.' (every LF here ends a CRLF).
            dot[l] |= mask(x == b'\n') & mask(y == b'.');
            lf[l] |= mask(x == b'\n');
            lanes.add(l, x);
        }
    }
    Block {
        bad_line_end: u128::from_ne_bytes(bad) != 0,
        dot_line: u128::from_ne_bytes(dot) != 0,
        lf: u128::from_ne_bytes(lf) != 0,
        lanes,
    }
}

/// Where the first line that starts with '.' starts in a block that has one
/// (see [`scan_block`]): the index of that '.', 1 to [`BLOCK`]. Eight octets
/// at a time, each LF against the octet after it.
#[inline]
fn first_dot_line(window: &[u8; BLOCK + 1]) -> usize {
    use crate::wire::swar;
    let mut at = 0;
    while at < BLOCK {
        let hit = swar::eq(swar::load(&window[at..]), b'\n')
            & swar::eq(swar::load(&window[at + 1..]), b'.');
        if hit != 0 {
            return at + swar::first(hit) + 1;
        }
        at += 8;
    }
    // `scan_block` found one, so this is not reached; were it, an empty
    // part leaves the block to the line-at-a-time path.
    0
}

/// 0xFF for true, 0 for false: the form a vector compare produces, so the
/// compiler keeps it as it is.
#[inline(always)]
fn mask(b: bool) -> u8 {
    0u8.wrapping_sub(u8::from(b))
}

/// What [`scan_block`] found in one block.
struct Block {
    /// The block holds a CR or LF outside a CRLF: the state machine must
    /// read it.
    bad_line_end: bool,
    /// A line starting with '.' starts in the block (the state machine must
    /// read its dot).
    dot_line: bool,
    /// The block holds an LF (a line ends in it).
    lf: bool,
    /// What its octets are.
    lanes: Lanes,
}

/// Where [`DataDecoder::decode_into`] puts the content: runs of the input, by
/// position, and octets the decoder supplies itself. The content is every
/// `run` and `literal`, in call order.
pub trait ContentSink {
    /// `input[range]` is content (`input` is the slice given to `decode_into`).
    fn run(&mut self, input: &[u8], range: Range<usize>);
    /// These octets are content: a CRLF whose CR came in an earlier input, a
    /// normalised line ending, or a bare CR or LF kept as it is.
    fn literal(&mut self, bytes: &'static [u8]);
}

impl ContentSink for Vec<u8> {
    fn run(&mut self, input: &[u8], range: Range<usize>) {
        self.extend_from_slice(&input[range]);
    }

    fn literal(&mut self, bytes: &'static [u8]) {
        self.extend_from_slice(bytes);
    }
}

// ---------------------------------------------------------------------------
// BDAT
// ---------------------------------------------------------------------------

/// Reader for the octets of one BDAT chunk, server side (RFC 3030 §2, §4).
///
/// After a `BDAT <size> [LAST]` command the next `size` octets are message
/// content, taken verbatim: no dot-unstuffing, no end-of-data sequence, no
/// line-ending changes. This type only counts: it never allocates, so a declared
/// size of `18446744073709551615` costs nothing until octets arrive (the session
/// enforces SIZE limits against the declared size).
///
/// ```
/// use smtp_proto::wire::data::BdatChunk;
/// let mut chunk = BdatChunk::new(5, true);
/// let (bytes, consumed) = chunk.take(b"abc");
/// assert_eq!((bytes, consumed), (&b"abc"[..], 3));
/// let (bytes, consumed) = chunk.take(b"de\r\nQUIT\r\n");
/// assert_eq!((bytes, consumed), (&b"de"[..], 2));
/// assert!(chunk.is_complete() && chunk.is_last());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BdatChunk {
    remaining: u64,
    last: bool,
}

impl BdatChunk {
    /// A chunk of `size` octets; `last` if the command had the LAST keyword.
    pub fn new(size: u64, last: bool) -> Self {
        BdatChunk {
            remaining: size,
            last,
        }
    }

    /// Takes the chunk's octets from the front of `input`: returns them (a prefix
    /// of `input`) and how many bytes were consumed (their length). Never takes
    /// more than the octets still owed; the rest of `input` is the next command.
    pub fn take<'a>(&mut self, input: &'a [u8]) -> (&'a [u8], usize) {
        let n = usize::try_from(self.remaining).map_or(input.len(), |r| r.min(input.len()));
        // n <= remaining, so this never underflows; u64 holds any usize.
        self.remaining = self
            .remaining
            .saturating_sub(u64::try_from(n).unwrap_or(u64::MAX));
        (&input[..n], n)
    }

    /// Octets of the chunk not yet taken.
    pub fn remaining(&self) -> u64 {
        self.remaining
    }

    /// All octets of the chunk have been taken.
    pub fn is_complete(&self) -> bool {
        self.remaining == 0
    }

    /// The chunk was announced with LAST: the message ends with it (RFC 3030 §2).
    pub fn is_last(&self) -> bool {
        self.last
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    const BOTH: [BareLineEnding; 2] = [BareLineEnding::Reject, BareLineEnding::Normalize];

    fn decoder(policy: BareLineEnding) -> DataDecoder {
        DataDecoder::new(DataDecoderConfig {
            bare_line_ending: policy,
            max_line_len: 1000,
        })
    }

    /// Mutation-testing finds: `is_done` follows the end of data, and content
    /// that arrived in one input comes out as one run of it (no copies of
    /// line ends, not even of empty lines).
    #[test]
    fn done_flag_and_one_run_per_input() {
        struct Runs(Vec<Range<usize>>, usize);
        impl ContentSink for Runs {
            fn run(&mut self, _input: &[u8], range: Range<usize>) {
                match self.0.last_mut() {
                    Some(last) if last.end == range.start => last.end = range.end,
                    _ => self.0.push(range),
                }
            }
            fn literal(&mut self, _bytes: &'static [u8]) {
                self.1 += 1;
            }
        }
        let mut dec = decoder(BareLineEnding::Reject);
        assert!(!dec.is_done());
        let input = b"Subject: x\r\n\r\n\r\nbody\r\n.\r\n";
        let mut runs = Runs(Vec::new(), 0);
        let status = dec.decode_into(input, &mut runs);
        assert!(status.done && dec.is_done());
        assert_eq!(runs.0, alloc::vec![0..input.len() - 3], "one run");
        assert_eq!(runs.1, 0, "no literals");
        let mut dec = decoder(BareLineEnding::Reject);
        let mut out = Vec::new();
        let _ = dec.decode(b"abc\r\n", &mut out);
        assert!(!dec.is_done());
    }

    /// Mutation-testing finds: the fast path hands out a stretch of ordinary
    /// lines as **one** `run` call (not one per line, and a CRLF inside it is
    /// never a separate run or a literal); it stops only before a line that
    /// starts with `.` or CR, which the state machine must look at.
    #[test]
    #[allow(clippy::single_range_in_vec_init)]
    fn ordinary_lines_are_one_run_call() {
        struct Calls(Vec<Range<usize>>, usize);
        impl ContentSink for Calls {
            fn run(&mut self, _input: &[u8], range: Range<usize>) {
                self.0.push(range);
            }
            fn literal(&mut self, _bytes: &'static [u8]) {
                self.1 += 1;
            }
        }
        let cases: [(&[u8], &[Range<usize>]); 4] = [
            (b"abc\r\ndef\r\nghi\r\n.\r\n", &[0..15]),
            // A line starting with CR (here an empty one) goes to the state machine.
            (b"abc\r\n\r\ndef\r\n.\r\n", &[0..5, 5..7, 7..12]),
            // So does one starting with a dot (the stuffing dot is dropped).
            (b"abc\r\n..x\r\nyz\r\n.\r\n", &[0..5, 6..14]),
            // A line not ended yet runs on in the same run.
            (b"a\r\nb", &[0..4]),
        ];
        for (input, expected) in cases {
            let mut dec = decoder(BareLineEnding::Reject);
            let mut calls = Calls(Vec::new(), 0);
            let _ = dec.decode_into(input, &mut calls);
            assert_eq!(calls.0, expected, "{input:?}");
            assert_eq!(calls.1, 0, "no literals: {input:?}");
        }
    }

    /// Clean text of any line length goes out as one `run` per stretch between
    /// dot lines (the block-wise path), not one per line or per two blocks
    /// (the line-wise path, which gives the same content). Mutation-testing
    /// finds: a block check that stops more often than it must only costs
    /// speed, so this is the test that tells.
    #[test]
    fn clean_text_is_one_run_per_stretch() {
        struct Runs(usize);
        impl ContentSink for Runs {
            fn run(&mut self, _input: &[u8], _range: Range<usize>) {
                self.0 += 1;
            }
            fn literal(&mut self, _bytes: &'static [u8]) {}
        }
        for line_len in [1, 30, 63, 64, 65, 200, 997] {
            let mut line = vec![b'x'; line_len];
            line.extend_from_slice(b"\r\n");
            let stretch = line.repeat(8192 / line.len() + 1);
            let mut input = stretch.clone();
            input.extend_from_slice(b"..dot\r\n");
            input.extend_from_slice(&stretch);
            input.extend_from_slice(b".\r\n");
            let mut dec = decoder(BareLineEnding::Reject);
            let mut runs = Runs(0);
            let status = dec.decode_into(&input, &mut runs);
            assert!(status.done && !dec.line_too_long(), "lines of {line_len}");
            // Each stretch: one run up to the dot line (the block scan takes
            // the block it starts in up to its dot), then one for what is
            // left after the last whole window, before the end.
            assert!(runs.0 <= 3, "lines of {line_len}: {} runs", runs.0);
        }
    }

    /// Dot-stuffed lines cost a run each, not a trip line by line through
    /// the blocks around them: the text between two of them is one run, and
    /// every line's dot is deleted.
    #[test]
    fn each_dot_line_ends_one_run() {
        struct Runs(usize, Vec<u8>);
        impl ContentSink for Runs {
            fn run(&mut self, input: &[u8], range: Range<usize>) {
                self.0 += 1;
                self.1.extend_from_slice(&input[range]);
            }
            fn literal(&mut self, bytes: &'static [u8]) {
                self.1.extend_from_slice(bytes);
            }
        }
        for every in [1, 2, 5, 13] {
            let line = b"Lorem ipsum dolor sit amet, consectetur adipiscing elit.\r\n";
            let (mut input, mut content) = (Vec::new(), Vec::new());
            let dots = 200;
            for i in 0..dots * every {
                if i % every == 0 {
                    input.extend_from_slice(b"..x\r\n");
                    content.extend_from_slice(b".x\r\n");
                }
                input.extend_from_slice(line);
                content.extend_from_slice(line);
            }
            input.extend_from_slice(b".\r\n");
            let mut dec = decoder(BareLineEnding::Reject);
            let mut runs = Runs(0, Vec::new());
            let status = dec.decode_into(&input, &mut runs);
            assert!(status.done && status.consumed == input.len());
            assert_eq!(runs.1, content, "a dot line every {every}");
            assert!(
                runs.0 <= dots + 2,
                "a dot line every {every}: {} runs",
                runs.0
            );
        }
    }

    /// Octets after the end of data, in the block that holds it, are not
    /// content: they say nothing about the message.
    #[test]
    fn what_follows_the_end_is_not_looked_at() {
        for before in [0, 1, 30, 61, 62, 63, 64, 65, 130] {
            let mut input = b"x".repeat(before);
            input.extend_from_slice(b"\r\n.\r\n");
            let end = input.len();
            input.extend_from_slice(b"\x80\x00MAIL FROM:<\xc3\xa9@example.org>\r\n");
            input.extend_from_slice(&[b'y'; 80]);
            let (out, status, dec) = decode_all(BareLineEnding::Reject, &input);
            assert_eq!((status.consumed, status.done), (end, true), "{before}");
            assert_eq!(out.len(), before + 2);
            assert!(!dec.eight_bit_seen() && !dec.nul_seen(), "{before}");
        }
    }

    /// A NUL or an 8-bit octet is found wherever it sits in clean text that
    /// the block scan takes whole (several blocks of lines, in one input),
    /// each for what it is; clean text has neither.
    #[test]
    fn findings_anywhere_in_clean_blocks() {
        let line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-,\r\n";
        let text = line.repeat(6);
        let (_, _, dec) = decode_all(BareLineEnding::Reject, &[&text[..], b".\r\n"].concat());
        assert!(!dec.nul_seen() && !dec.eight_bit_seen());
        for at in (0..text.len()).filter(|&i| !matches!(text[i], b'\r' | b'\n')) {
            for octet in [0x00, 0x80, 0xe9, 0xff] {
                let mut input = text.clone();
                input[at] = octet;
                input.extend_from_slice(b".\r\n");
                let (out, status, dec) = decode_all(BareLineEnding::Reject, &input);
                assert!(status.done && out.len() == text.len(), "{octet:#x} at {at}");
                assert_eq!(dec.nul_seen(), octet == 0, "{octet:#x} at {at}");
                assert_eq!(dec.eight_bit_seen(), octet >= 0x80, "{octet:#x} at {at}");
            }
        }
    }

    /// A line over the limit is found where the block scan takes it whole,
    /// with more lines after it in the same input, and one at the limit is
    /// not, wherever in a block it starts and ends.
    #[test]
    fn line_length_inside_clean_blocks() {
        for lead in 0..70 {
            for (len, too_long) in [(998, false), (999, true), (1200, true)] {
                let mut input = b"y".repeat(lead);
                input.extend_from_slice(b"\r\n");
                input.extend_from_slice(&b"x".repeat(len));
                input.extend_from_slice(b"\r\n");
                input.extend_from_slice(&b"a short line\r\n".repeat(12));
                input.extend_from_slice(b".\r\n");
                let (_, status, dec) = decode_all(BareLineEnding::Reject, &input);
                assert!(status.done, "{lead}, {len}");
                assert_eq!(dec.line_too_long(), too_long, "{lead}, {len}");
            }
        }
    }

    /// Decodes `input` in one go.
    fn decode_all(policy: BareLineEnding, input: &[u8]) -> (Vec<u8>, DecodeStatus, DataDecoder) {
        let mut dec = decoder(policy);
        let mut out = Vec::new();
        let status = dec.decode(input, &mut out);
        (out, status, dec)
    }

    /// Decodes `input` byte by byte and checks it matches one-shot decoding.
    fn decode_bytewise(policy: BareLineEnding, input: &[u8]) -> (Vec<u8>, DecodeStatus) {
        let mut dec = decoder(policy);
        let mut out = Vec::new();
        let mut consumed = 0;
        let mut done = false;
        for i in 0..input.len() {
            let st = dec.decode(&input[i..=i], &mut out);
            consumed += st.consumed;
            if st.done {
                done = true;
                break;
            }
            assert_eq!(st.consumed, 1);
        }
        (out, DecodeStatus { consumed, done })
    }

    fn stuff(chunks: &[&[u8]]) -> Vec<u8> {
        let mut s = DotStuffer::new();
        let mut out = Vec::new();
        for c in chunks {
            s.encode(c, &mut out);
        }
        s.finish(&mut out);
        out
    }

    #[test]
    fn empty_message() {
        for p in BOTH {
            let (out, st, _) = decode_all(p, b".\r\nQUIT\r\n");
            assert_eq!(out, b"");
            assert_eq!(
                st,
                DecodeStatus {
                    consumed: 3,
                    done: true
                }
            );
        }
    }

    #[test]
    fn simple_message_and_pipelining() {
        for p in BOTH {
            let input = b"a\r\nb\r\n.\r\nMAIL FROM:<>\r\n";
            let (out, st, dec) = decode_all(p, input);
            assert_eq!(out, b"a\r\nb\r\n");
            assert!(st.done);
            assert_eq!(&input[st.consumed..], b"MAIL FROM:<>\r\n");
            assert_eq!(dec.content_len(), 6);
            assert!(!dec.bare_cr_seen() && !dec.bare_lf_seen());
            assert_eq!(decode_bytewise(p, input), (out, st));
            // After done, nothing more is consumed.
            let mut dec = dec;
            let mut more = Vec::new();
            assert_eq!(
                dec.decode(b"NOOP\r\n", &mut more),
                DecodeStatus {
                    consumed: 0,
                    done: true
                }
            );
            assert!(more.is_empty());
        }
    }

    #[test]
    fn unstuffing() {
        for p in BOTH {
            assert_eq!(decode_all(p, b"..\r\n.\r\n").0, b".\r\n");
            assert_eq!(decode_all(p, b"..foo\r\n.\r\n").0, b".foo\r\n");
            assert_eq!(decode_all(p, b".foo\r\n.\r\n").0, b"foo\r\n");
            assert_eq!(decode_all(p, b"x\r\n...\r\n.\r\n").0, b"x\r\n..\r\n");
            assert_eq!(decode_all(p, b"a.b\r\n.\r\n").0, b"a.b\r\n");
            // A dot line followed by more bytes on the same line.
            let (out, st, _) = decode_all(p, b"x\r\n. \r\n.\r\n");
            assert_eq!(out, b"x\r\n \r\n");
            assert!(st.done);
            // Dot then CR then not-LF: the dot goes, the CR is bare.
            let (out, st, dec) = decode_all(p, b".\rx\r\n.\r\n");
            assert!(st.done && dec.bare_cr_seen());
            match p {
                BareLineEnding::Reject => assert_eq!(out, b"\rx\r\n"),
                BareLineEnding::Normalize => assert_eq!(out, b"\r\nx\r\n"),
            }
        }
    }

    #[test]
    fn smuggling_variants_do_not_end_data() {
        let variants: &[&[u8]] = &[
            b"a\n.\nMAIL FROM:<evil>\n",
            b"a\n.\r\nMAIL FROM:<evil>\r\n",
            b"a\r\n.\nMAIL FROM:<evil>\r\n",
            b"a\r.\rMAIL FROM:<evil>\r\n",
            b"a\r.\r\nMAIL FROM:<evil>\r\n",
            b"a\r\n.\rMAIL FROM:<evil>\r\n",
            b"a\r\n\x00.\r\nMAIL FROM:<evil>\r\n",
            b"\n.\r\nMAIL FROM:<evil>\r\n",
            b"\r.\r\nMAIL FROM:<evil>\r\n",
            b"a\r\n \r\n.\n",
            b"a\r\r\n.\n\r\n",
            b".\n.\n",
            b".\r.\r\n",
            b"a\n\r\n.\n",
        ];
        for p in BOTH {
            for v in variants {
                let (out, st, dec) = decode_all(p, v);
                assert!(!st.done, "{p:?} {v:?} ended the data");
                assert_eq!(st.consumed, v.len());
                assert_eq!(decode_bytewise(p, v), (out.clone(), st));
                // A later real CRLF . CRLF ends it (a CRLF first ends any open line).
                let mut full = v.to_vec();
                full.extend_from_slice(b"\r\n.\r\nRSET\r\n");
                let (out2, st2, _) = decode_all(p, &full);
                assert!(st2.done, "{p:?} {v:?}");
                assert_eq!(&full[st2.consumed..], b"RSET\r\n");
                assert_eq!(decode_bytewise(p, &full), (out2.clone(), st2));
                assert!(out2.starts_with(&out));
                assert!(
                    dec.bare_cr_seen() || dec.bare_lf_seen() || dec.nul_seen(),
                    "{v:?} should be recorded"
                );
            }
        }
    }

    #[test]
    fn bare_endings_policies() {
        let input = b"a\nb\rc\r\n.\r\n";
        let (out, st, dec) = decode_all(BareLineEnding::Reject, input);
        assert!(st.done);
        assert_eq!(out, b"a\nb\rc\r\n");
        assert!(dec.bare_cr_seen() && dec.bare_lf_seen());
        let (out, st, dec) = decode_all(BareLineEnding::Normalize, input);
        assert!(st.done);
        assert_eq!(out, b"a\r\nb\r\nc\r\n");
        assert!(dec.bare_cr_seen() && dec.bare_lf_seen());
        // A line start produced by normalisation is not a line start: no unstuffing.
        let (out, _, _) = decode_all(BareLineEnding::Normalize, b"a\n..b\r\n.\r\n");
        assert_eq!(out, b"a\r\n..b\r\n");
        let (out, _, _) = decode_all(BareLineEnding::Reject, b"a\n..b\r\n.\r\n");
        assert_eq!(out, b"a\n..b\r\n");
        // CR CR LF: one bare CR, then a real CRLF.
        let (out, st, _) = decode_all(BareLineEnding::Normalize, b"a\r\r\n.\r\n");
        assert!(st.done);
        assert_eq!(out, b"a\r\n\r\n");
    }

    #[test]
    fn findings() {
        let (_, _, dec) = decode_all(BareLineEnding::Reject, b"a\x00b\r\n\xc3\xa9\r\n.\r\n");
        assert!(dec.nul_seen() && dec.eight_bit_seen());
        assert!(!dec.bare_cr_seen() && !dec.bare_lf_seen());
        assert!(!dec.line_too_long());
        let f = dec.findings();
        assert!(f.nul && f.eight_bit && !f.line_too_long);
        assert_eq!(f.content_len, 9);
        let (_, _, dec) = decode_all(BareLineEnding::Reject, b"plain ascii\r\n.\r\n");
        assert!(!dec.nul_seen() && !dec.eight_bit_seen());
    }

    #[test]
    fn line_length() {
        // 998 octets + CRLF = 1000: fine. A stuffing dot does not count.
        let mut ok = vec![b'.'; 1];
        ok.extend_from_slice(&[b'x'; 998]);
        ok.extend_from_slice(b"\r\n.\r\n");
        let (_, st, dec) = decode_all(BareLineEnding::Reject, &ok);
        assert!(st.done);
        assert!(!dec.line_too_long());
        let mut long = vec![b'x'; 999];
        long.extend_from_slice(b"\r\n.\r\n");
        let (_, st, dec) = decode_all(BareLineEnding::Reject, &long);
        assert!(st.done && dec.line_too_long());
        // Configured limits below the RFC minimum are raised.
        let dec = DataDecoder::new(DataDecoderConfig {
            bare_line_ending: BareLineEnding::Reject,
            max_line_len: 10,
        });
        assert_eq!(dec.max_line_len, 1000);
        // Normalised bare LFs end lines; under Reject they do not.
        let mut input = Vec::new();
        for _ in 0..3 {
            input.extend_from_slice(&[b'y'; 600]);
            input.push(b'\n');
        }
        input.extend_from_slice(b"\r\n.\r\n");
        let (_, _, dec) = decode_all(BareLineEnding::Normalize, &input);
        assert!(!dec.line_too_long());
        let (_, _, dec) = decode_all(BareLineEnding::Reject, &input);
        assert!(dec.line_too_long());
        // A line still in progress counts with what it has so far, in the
        // findings too.
        let mut dec = DataDecoder::default();
        let mut out = Vec::new();
        let st = dec.decode(&[b'z'; 1001], &mut out);
        assert!(!st.done && dec.line_too_long() && dec.findings().line_too_long);
    }

    #[test]
    fn long_line_with_lookalikes() {
        let mut line = Vec::new();
        while line.len() < 5000 {
            line.extend_from_slice(b"ab.....\n.\n\r.\r..x");
        }
        // Remove bare line endings for the Reject check of a clean line, keep dots.
        let clean: Vec<u8> = line
            .iter()
            .copied()
            .filter(|b| *b != b'\r' && *b != b'\n')
            .collect();
        for p in BOTH {
            for body in [&line, &clean] {
                let mut input = body.clone();
                input.extend_from_slice(b"\r\n.\r\nQUIT\r\n");
                let (out, st, _) = decode_all(p, &input);
                assert!(st.done);
                assert_eq!(&input[st.consumed..], b"QUIT\r\n");
                if body == &clean {
                    let mut expect = clean.clone();
                    expect.extend_from_slice(b"\r\n");
                    assert_eq!(out, expect);
                }
                assert_eq!(decode_bytewise(p, &input), (out.clone(), st));
                // Every split into two chunks.
                for cut in 0..st.consumed {
                    let mut dec = decoder(p);
                    let mut o = Vec::new();
                    let a = dec.decode(&input[..cut], &mut o);
                    assert!(!a.done);
                    let b = dec.decode(&input[cut..], &mut o);
                    assert!(b.done);
                    assert_eq!(a.consumed + b.consumed, st.consumed);
                    assert_eq!(o, out);
                }
            }
        }
    }

    #[test]
    fn stuffer_cases() {
        assert_eq!(stuff(&[]), b".\r\n");
        let mut out = Vec::new();
        let mut s = DotStuffer::default();
        s.encode(b".", &mut out);
        s.finish(&mut out);
        assert_eq!(out, b"..\r\n.\r\n");
        assert_eq!(stuff(&[b""]), b".\r\n");
        assert_eq!(stuff(&[b"a"]), b"a\r\n.\r\n");
        assert_eq!(stuff(&[b"a\r\n"]), b"a\r\n.\r\n");
        assert_eq!(stuff(&[b"."]), b"..\r\n.\r\n");
        assert_eq!(stuff(&[b"\n.\n"]), b"\r\n..\r\n.\r\n");
        assert_eq!(stuff(&[b"\r"]), b"\r\n.\r\n");
        assert_eq!(stuff(&[b"\r\r\n"]), b"\r\n\r\n.\r\n");
        assert_eq!(stuff(&[b"x\r", b"\n"]), b"x\r\n.\r\n");
        assert_eq!(stuff(&[b"x\r", b"\ny"]), b"x\r\ny\r\n.\r\n");
        assert_eq!(stuff(&[b"x\r", b"", b"\n."]), b"x\r\n..\r\n.\r\n");
        assert_eq!(stuff(&[b"x\r", b"\r"]), b"x\r\n\r\n.\r\n");
        assert_eq!(
            stuff(&[b"..a\r\n.b\r\n..."]),
            b"...a\r\n..b\r\n....\r\n.\r\n"
        );
        assert_eq!(stuff(&[b"a.", b".b"]), b"a..b\r\n.\r\n");
        assert_eq!(stuff(&[b"a\r\n", b".", b"."]), b"a\r\n...\r\n.\r\n");
        assert_eq!(stuff(&[b"\n\n"]), b"\r\n\r\n.\r\n");
    }

    /// The BDAT form of a text body (normalised, not stuffed) is the content
    /// that DATA delivers, for every split of the input.
    #[test]
    fn bdat_normalisation_matches_data() {
        let inputs: [&[u8]; 8] = [
            b"",
            b"a",
            b"a\r\nb",
            b"\r\r\n\n",
            b".\r\n..\n.",
            b"x\ry\nz\r\n",
            b"\r",
            b"end\r\n",
        ];
        for input in inputs {
            let mut data = Vec::new();
            let mut stuffer = DotStuffer::new();
            stuffer.encode(input, &mut data);
            stuffer.finish(&mut data);
            // Un-stuff DATA's wire form to get the content it delivers.
            let mut delivered = Vec::new();
            for line in data[..data.len() - 3].split_inclusive(|&b| b == b'\n') {
                delivered.extend_from_slice(line.strip_prefix(b".").unwrap_or(line));
            }
            for split in 0..=input.len() {
                let mut normalizer = LineNormalizer::new();
                let mut got = Vec::new();
                normalizer.encode(&input[..split], &mut got);
                normalizer.encode(&input[split..], &mut got);
                normalizer.finish(&mut got);
                assert_eq!(got, delivered, "{input:?} split at {split}");
            }
        }
    }

    #[test]
    fn stuffer_then_decoder() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"", b""),
            (b"a", b"a\r\n"),
            (b"a\r\n", b"a\r\n"),
            (b".", b".\r\n"),
            (b"\n.\n", b"\r\n.\r\n"),
            (b"\r", b"\r\n"),
            (b"\r\r\n", b"\r\n\r\n"),
            (b".\r\n.\r\n..\r\n", b".\r\n.\r\n..\r\n"),
            (b"x\n.\ry", b"x\r\n.\r\ny\r\n"),
        ];
        for (input, expect) in cases {
            let wire = stuff(&[input]);
            for p in BOTH {
                let (out, st, dec) = decode_all(p, &wire);
                assert!(st.done);
                assert_eq!(st.consumed, wire.len());
                assert_eq!(&out, expect, "{input:?}");
                assert!(!dec.bare_cr_seen() && !dec.bare_lf_seen());
            }
        }
    }

    #[test]
    fn bdat() {
        let mut c = BdatChunk::new(u64::MAX, false);
        let (b, n) = c.take(b"hello");
        assert_eq!((b, n), (&b"hello"[..], 5));
        assert_eq!(c.remaining(), u64::MAX - 5);
        assert!(!c.is_complete() && !c.is_last());
        let mut c = BdatChunk::new(0, true);
        assert!(c.is_complete());
        assert_eq!(c.take(b"QUIT\r\n"), (&b""[..], 0));
        // Verbatim: no unstuffing, no line-ending changes, no end-of-data.
        let mut c = BdatChunk::new(7, true);
        let (b, n) = c.take(b"..\n.\r\n\rQUIT");
        assert_eq!((b, n), (&b"..\n.\r\n\r"[..], 7));
        assert!(c.is_complete());
        assert_eq!(c.take(b"more"), (&b""[..], 0));
    }
}
