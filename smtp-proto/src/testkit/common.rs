//! What the server and the client runners share: the script text helpers
//! (escapes, patterns, durations, `@config` values), the lines every
//! transcript has (`# name:`, `@config`, `@implicit-tls`), the chunking of the
//! peer's bytes, and the [`Runner`] that drives a session through the steps
//! both sides have in common.

use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use core::time::Duration;

use crate::client::{ClientEvent, ClientSession};
use crate::output::{ApiMisuse, Output};
use crate::server::{ServerEvent, ServerSession};
use crate::time::Instant;

// ---------------------------------------------------------------------------
// The script format
// ---------------------------------------------------------------------------

/// A parsed transcript: the lines every transcript may have, and its steps
/// ([`Step`](super::Step) for a server transcript, [`ClientStep`](super::ClientStep)
/// for a client one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transcript<S> {
    /// From `# name:`, if given.
    pub name: String,
    /// `@config` settings, in order.
    pub config: Vec<(String, String)>,
    /// The steps.
    pub steps: Vec<S>,
    /// `@implicit-tls`: the session starts with TLS already up.
    pub implicit_tls: bool,
    /// The 1-based line number of each step in the text it was parsed from.
    pub step_lines: Vec<usize>,
}

impl<S> Default for Transcript<S> {
    fn default() -> Self {
        Transcript {
            name: String::new(),
            config: Vec::new(),
            steps: Vec::new(),
            implicit_tls: false,
            step_lines: Vec::new(),
        }
    }
}

/// Parses a transcript: blank lines, comments (`# name:` names it), `@config`
/// and `@implicit-tls` are handled here; every other line is a step, parsed by
/// `step(line, line_no)`.
pub(crate) fn parse_transcript<S>(
    text: &str,
    mut step: impl FnMut(&str, usize) -> Result<S, String>,
) -> Result<Transcript<S>, String> {
    let mut script = Transcript::default();
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            if let Some(name) = comment.trim().strip_prefix("name:") {
                script.name = name.trim().to_string();
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix("@config") {
            for kv in rest.split_whitespace() {
                let (k, v) = kv.split_once('=').unwrap_or((kv, "true"));
                script.config.push((k.to_string(), v.to_string()));
            }
            continue;
        }
        if line.trim() == "@implicit-tls" {
            script.implicit_tls = true;
            continue;
        }
        script.steps.push(step(line, line_no)?);
        script.step_lines.push(line_no);
    }
    Ok(script)
}

/// Splits a step line into its three-character tag (`C: `, `S~ `, ...) and the
/// rest, without the space that may follow the tag.
pub(crate) fn split_tag(line: &str, line_no: usize) -> Result<(&str, &str), String> {
    let (tag, rest) = line
        .split_at_checked(3)
        .ok_or_else(|| format!("line {line_no}: too short: {line}"))?;
    Ok((tag, rest.strip_prefix(' ').unwrap_or(rest)))
}

/// The bytes of a `C* N bytes` / `S* N bytes` line: `bytes` (escaped) N times.
pub(crate) fn repeated(rest: &str, tag: &str, line_no: usize) -> Result<Vec<u8>, String> {
    let (n, bytes) = rest
        .split_once(' ')
        .ok_or_else(|| format!("line {line_no}: {tag} needs a count"))?;
    let n: usize = n
        .parse()
        .map_err(|_| format!("line {line_no}: bad count"))?;
    Ok(unescape(bytes, line_no)?.repeat(n))
}

/// Decodes the escapes of a line of bytes (`\r \n \t \0 \\ \* \xHH`, and
/// `\z` for nothing).
pub(crate) fn unescape(s: &str, line_no: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(s.len());
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b != b'\\' {
            out.push(b);
            i += 1;
            continue;
        }
        let esc = *bytes
            .get(i + 1)
            .ok_or_else(|| format!("line {line_no}: dangling backslash"))?;
        i += 2;
        match esc {
            b'r' => out.push(b'\r'),
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'0' => out.push(0),
            b'\\' => out.push(b'\\'),
            b'*' => out.push(b'*'),
            b'z' => {}
            b'x' => {
                let hex = s
                    .get(i..i + 2)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| format!("line {line_no}: bad \\x escape"))?;
                out.push(hex);
                i += 2;
            }
            other => {
                return Err(format!(
                    "line {line_no}: unknown escape \\{}",
                    other as char
                ));
            }
        }
    }
    Ok(out)
}

/// `300s` or `250ms`.
pub(crate) fn parse_duration(s: &str, line_no: usize) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num
        .parse()
        .map_err(|_| format!("line {line_no}: bad duration {s}"))?;
    match unit {
        "s" => Ok(Duration::from_secs(n)),
        "ms" => Ok(Duration::from_millis(n)),
        _ => Err(format!("line {line_no}: duration unit must be s or ms")),
    }
}

/// A pattern of an `S:`, `C:` or `E:` line: its bytes (escapes decoded, see
/// [`unescape`]) and whether it is a prefix. A trailing `*` matches any rest;
/// `\*` is a literal star (so a line that is exactly `*` is written `\*`).
pub(crate) fn pattern(s: &str, line_no: usize) -> Result<(Vec<u8>, bool), String> {
    if let Some(head) = s.strip_suffix('*') {
        let backslashes = head.len() - head.trim_end_matches('\\').len();
        if backslashes % 2 == 0 {
            return Ok((unescape(head, line_no)?, true));
        }
    }
    Ok((unescape(s, line_no)?, false))
}

/// Whether `actual` is `pattern`, byte for byte, or (with `prefix`) starts
/// with it: how the runners check `S:`, `C:` and `E:` lines (the `pattern`
/// and `prefix` of a parsed [`Step`](super::Step) or
/// [`ClientStep`](super::ClientStep)).
pub fn matches(actual: &[u8], pattern: &[u8], prefix: bool) -> bool {
    if prefix {
        actual.starts_with(pattern)
    } else {
        actual == pattern
    }
}

/// Bytes written the way a pattern line would give them back exactly: valid
/// UTF-8 as is, `\\ \r \n \t`, other control bytes and invalid UTF-8 as
/// `\xHH`, and a trailing `*` as `\*`. For error messages that show what a
/// session wrote.
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\r' => out.push_str("\\r"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                c if c.is_ascii_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    if out.ends_with('*') {
        out.pop();
        out.push_str("\\*");
    }
    out
}

/// A pattern as it was written in the transcript: escaped (see [`escape`]),
/// with its `*` when it is a prefix.
pub fn written(pattern: &[u8], prefix: bool) -> String {
    let mut s = escape(pattern);
    if prefix {
        s.push('*');
    }
    s
}

/// Whether an error pattern (an `A: ... -> error` outcome, matched against a
/// `Debug` form, so not unescaped) ends in the `*` wildcard.
pub(crate) fn glob(s: &str) -> (String, bool) {
    match s.strip_suffix('*') {
        Some(p) => (p.to_string(), true),
        None => (s.to_string(), false),
    }
}

/// An `@config` boolean.
pub(crate) fn flag(v: &str) -> Result<bool, String> {
    match v {
        "true" | "on" | "yes" => Ok(true),
        "false" | "off" | "no" => Ok(false),
        _ => Err(format!("not a boolean: {v}")),
    }
}

/// An `@config` number.
pub(crate) fn number<T: core::str::FromStr>(v: &str) -> Result<T, String> {
    v.parse().map_err(|_| format!("not a number: {v}"))
}

// ---------------------------------------------------------------------------
// Running a transcript
// ---------------------------------------------------------------------------

/// How the peer's bytes are split before they reach the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chunking {
    /// Each step of peer bytes in one piece.
    Whole,
    /// One byte at a time, draining the session after each.
    ByteByByte,
    /// Pieces of 1 to 17 bytes, from a xorshift generator with this seed.
    Random(u64),
}

/// Cuts the peer's bytes into pieces as a [`Chunking`] says: the runners'
/// own splitter, for adapters that replay transcripts over real connections
/// and want the same pieces.
#[derive(Debug, Clone)]
pub struct Splitter {
    chunking: Chunking,
    rng: Xorshift,
}

impl Splitter {
    /// A splitter at the start of a transcript.
    pub fn new(chunking: Chunking) -> Self {
        let seed = match chunking {
            Chunking::Random(seed) => seed | 1,
            _ => 1,
        };
        Splitter {
            chunking,
            rng: Xorshift(seed),
        }
    }

    /// The length of the next piece when `remaining` bytes wait: all of them
    /// ([`Chunking::Whole`]), one, or 1 to 17 from the seeded generator;
    /// never more than `remaining`, and at least one if any remain.
    pub fn next_len(&mut self, remaining: usize) -> usize {
        match self.chunking {
            Chunking::Whole => remaining,
            Chunking::ByteByByte => 1,
            Chunking::Random(_) => 1 + (self.rng.next() % 17) as usize,
        }
        .min(remaining)
    }
}

/// Why a transcript failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranscriptError {
    /// The transcript's name.
    pub name: String,
    /// The chunking in use.
    pub chunking: Chunking,
    /// The 1-based index of the step that failed (0: setup or the end).
    pub step: usize,
    /// The line of that step in the transcript (0: setup or the end).
    pub line: usize,
    /// What went wrong.
    pub message: String,
    /// The lines the session under test wrote so far (server transcripts:
    /// the server's replies; client transcripts: the client's commands),
    /// escaped the way `S:`/`C:` patterns are written.
    pub server_lines: Vec<String>,
}

impl fmt::Display for TranscriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "transcript {:?} ({:?}), step {} (line {}): {}",
            self.name, self.chunking, self.step, self.line, self.message
        )?;
        writeln!(f, "the session under test wrote:")?;
        for line in &self.server_lines {
            writeln!(f, "  > {line}")?;
        }
        Ok(())
    }
}

impl TranscriptError {
    /// A failure before the first step (a bad `@config`, say).
    pub(crate) fn setup<S>(script: &Transcript<S>, chunking: Chunking, message: String) -> Self {
        TranscriptError {
            name: script.name.clone(),
            chunking,
            step: 0,
            line: 0,
            message,
            server_lines: Vec::new(),
        }
    }
}

/// The generator behind [`Chunking::Random`].
#[derive(Debug, Clone)]
pub(crate) struct Xorshift(pub(crate) u64);

impl Xorshift {
    pub(crate) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

/// What the runners need of a session: the calls both sessions have.
pub(crate) trait Session {
    /// What `poll_output` hands to the application.
    type Event;
    fn poll_output(&mut self) -> Output<Self::Event>;
    fn handle_bytes(&mut self, now: Instant, bytes: &[u8]) -> Result<usize, ApiMisuse>;
    fn handle_eof(&mut self, now: Instant) -> Result<(), ApiMisuse>;
    fn handle_timeout(&mut self, now: Instant) -> Result<(), ApiMisuse>;
    fn handle_tls_established(&mut self, now: Instant) -> Result<(), ApiMisuse>;
}

/// Forwards [`Session`] to the session type's own methods of the same names.
macro_rules! session {
    ($session:ty, $event:ty) => {
        impl Session for $session {
            type Event = $event;
            fn poll_output(&mut self) -> Output<$event> {
                <$session>::poll_output(self)
            }
            fn handle_bytes(&mut self, now: Instant, bytes: &[u8]) -> Result<usize, ApiMisuse> {
                <$session>::handle_bytes(self, now, bytes)
            }
            fn handle_eof(&mut self, now: Instant) -> Result<(), ApiMisuse> {
                <$session>::handle_eof(self, now)
            }
            fn handle_timeout(&mut self, now: Instant) -> Result<(), ApiMisuse> {
                <$session>::handle_timeout(self, now)
            }
            fn handle_tls_established(&mut self, now: Instant) -> Result<(), ApiMisuse> {
                <$session>::handle_tls_established(self, now)
            }
        }
    };
}

session!(ServerSession, ServerEvent);
session!(ClientSession, ClientEvent);

/// The session under test and the state both runners keep around it.
pub(crate) struct Driver<S> {
    pub(crate) session: S,
    /// The transcript's name, for errors.
    name: String,
    chunking: Chunking,
    splitter: Splitter,
    /// The virtual clock.
    pub(crate) now: Instant,
    /// The 1-based index of the step being played (0: before or after them).
    pub(crate) step: usize,
    /// The line of each step in the transcript.
    step_lines: Vec<usize>,
    /// Output not yet ended by CRLF.
    out: Vec<u8>,
    /// The session's output, line by line (without CRLF).
    pub(crate) lines: Vec<Vec<u8>>,
    /// How many of `lines` were matched.
    cursor: usize,
    /// Bytes the peer sent that the session has not been given yet.
    pending: VecDeque<u8>,
    pub(crate) wants_read: bool,
    closed: bool,
    /// A `close` step has seen the session closed.
    close_expected: bool,
    starttls: bool,
}

impl<S> Driver<S> {
    /// A driver for a session just created at [`Instant::ZERO`].
    pub(crate) fn new<St>(script: &Transcript<St>, chunking: Chunking, session: S) -> Self {
        Driver {
            session,
            name: script.name.clone(),
            chunking,
            splitter: Splitter::new(chunking),
            now: Instant::ZERO,
            step: 0,
            step_lines: script.step_lines.clone(),
            out: Vec::new(),
            lines: Vec::new(),
            cursor: 0,
            pending: VecDeque::new(),
            wants_read: true,
            closed: false,
            close_expected: false,
            starttls: false,
        }
    }

    /// A failure at the current step.
    pub(crate) fn error(&self, message: String) -> TranscriptError {
        TranscriptError {
            name: self.name.clone(),
            chunking: self.chunking,
            step: self.step,
            line: self
                .step
                .checked_sub(1)
                .and_then(|i| self.step_lines.get(i))
                .copied()
                .unwrap_or(0),
            message,
            server_lines: self.lines.iter().map(|l| escape(l)).collect(),
        }
    }
}

/// A server or client runner: what it adds to the [`Driver`] (how it parses
/// steps and handles events), and, provided, the steps both runners have.
///
/// Decisions and checks happen as soon as their event or step comes, and
/// expected lines are checked after everything before them was fed, so a
/// transcript's result does not depend on the [`Chunking`].
pub(crate) trait Runner {
    /// The session under test.
    type Session: Session;
    /// One step of this runner's transcripts.
    type Step;
    /// The tag of the session's lines in a transcript (`S` for the server's
    /// replies, `C` for the client's commands).
    const TAG: &'static str;
    /// Who the session under test is (`server` or `client`).
    const WHO: &'static str;

    fn driver(&self) -> &Driver<Self::Session>;
    fn driver_mut(&mut self) -> &mut Driver<Self::Session>;
    /// Handles one event from `poll_output`.
    fn event(&mut self, event: <Self::Session as Session>::Event) -> Result<(), TranscriptError>;
    /// Plays one step.
    fn step(&mut self, step: &Self::Step) -> Result<(), TranscriptError>;

    /// A failure at the current step.
    fn fail(&self, message: String) -> TranscriptError {
        self.driver().error(message)
    }

    /// Calls `poll_output` until `Wait`, splitting the output into lines and
    /// handing events to [`Runner::event`].
    fn drain(&mut self) -> Result<(), TranscriptError> {
        for _ in 0..1_000_000 {
            match self.driver_mut().session.poll_output() {
                Output::Transmit(bytes) => {
                    if self.driver().closed {
                        return Err(self.fail("output after Close".to_string()));
                    }
                    let d = self.driver_mut();
                    d.out.extend_from_slice(&bytes);
                    while let Some(pos) = d.out.windows(2).position(|w| w == b"\r\n") {
                        let mut line: Vec<u8> = d.out.drain(..pos + 2).collect();
                        line.truncate(pos);
                        d.lines.push(line);
                    }
                }
                Output::Event(event) => self.event(event)?,
                Output::StartTls => self.driver_mut().starttls = true,
                Output::Close => {
                    // `Close` repeats from now on: the drain is over.
                    self.driver_mut().closed = true;
                    return Ok(());
                }
                Output::Wait { wants_read, .. } => {
                    self.driver_mut().wants_read = wants_read;
                    return Ok(());
                }
            }
        }
        Err(self.fail("poll_output never returned Wait".to_string()))
    }

    /// Gives the session the peer's pending bytes, chunked, while it reads.
    fn feed(&mut self) -> Result<(), TranscriptError> {
        loop {
            let d = self.driver_mut();
            if d.pending.is_empty() || !d.wants_read || d.closed {
                break;
            }
            let n = d.splitter.next_len(d.pending.len());
            let chunk: Vec<u8> = d.pending.iter().take(n).copied().collect();
            match d.session.handle_bytes(d.now, &chunk) {
                Ok(taken) => {
                    d.pending.drain(..taken);
                }
                // Closed: nothing reads the rest.
                Err(ApiMisuse::Closed) => d.pending.clear(),
                Err(e) => return Err(self.fail(format!("handle_bytes: {e}"))),
            }
            self.drain()?;
        }
        let d = self.driver_mut();
        if d.closed {
            // Nothing reads them any more.
            d.pending.clear();
        }
        Ok(())
    }

    /// The peer sends `bytes` (`C:` in a server transcript, `S:` in a client one).
    fn peer_sends(&mut self, bytes: &[u8]) -> Result<(), TranscriptError> {
        let d = self.driver_mut();
        if !d.closed {
            d.pending.extend(bytes.iter().copied());
        }
        self.feed()
    }

    /// The peer sends `bytes` in one piece that arrives in one read (`C!`,
    /// `S!`): as much as the session takes goes in one `handle_bytes` call,
    /// before it produces any output; the rest follows as usual.
    fn peer_sends_at_once(&mut self, bytes: &[u8]) -> Result<(), TranscriptError> {
        self.feed()?;
        let d = self.driver_mut();
        if d.closed {
            return Ok(());
        }
        if !d.pending.is_empty() || !d.wants_read {
            return Err(self.fail("C!/S! while earlier input still waits".to_string()));
        }
        match d.session.handle_bytes(d.now, bytes) {
            Ok(taken) => d.pending.extend(bytes[taken..].iter().copied()),
            Err(ApiMisuse::Closed) => {}
            Err(e) => return Err(self.fail(format!("handle_bytes: {e}"))),
        }
        self.drain()?;
        self.feed()
    }

    /// The session's next line is `text` (or, with `prefix`, starts with it).
    fn expect_line(&mut self, text: &[u8], prefix: bool) -> Result<(), TranscriptError> {
        self.drain()?;
        let (tag, who) = (Self::TAG, Self::WHO);
        let d = self.driver();
        let Some(line) = d.lines.get(d.cursor) else {
            return Err(self.fail(format!(
                "expected {tag}: {}, but the {who} wrote nothing",
                written(text, prefix)
            )));
        };
        if !matches(line, text, prefix) {
            return Err(self.fail(format!(
                "{who} line mismatch:\n  expected {tag}: {}\n  got      {tag}: {}",
                written(text, prefix),
                escape(line)
            )));
        }
        self.driver_mut().cursor += 1;
        Ok(())
    }

    /// The session's output continues with exactly `bytes`, not ended by CRLF
    /// (BDAT chunk data at the end of the output): every complete line before
    /// them was matched.
    fn expect_unterminated(&mut self, bytes: &[u8]) -> Result<(), TranscriptError> {
        self.drain()?;
        let (tag, who) = (Self::TAG, Self::WHO);
        let d = self.driver();
        if let Some(line) = d.lines.get(d.cursor) {
            return Err(self.fail(format!(
                "expected {tag}+ {}, but the {who} wrote {tag}: {}",
                escape(bytes),
                escape(line)
            )));
        }
        if !d.out.starts_with(bytes) {
            return Err(self.fail(format!(
                "expected {tag}+ {}, but the {who} wrote {}",
                escape(bytes),
                escape(&d.out)
            )));
        }
        self.driver_mut().out.drain(..bytes.len());
        Ok(())
    }

    /// The session asked for the TLS upgrade, and the handshake does not
    /// finish (`starttls-pending`: a stalled handshake).
    fn tls_pending(&mut self) -> Result<(), TranscriptError> {
        self.drain()?;
        if !self.driver().starttls {
            return Err(self.fail("expected a STARTTLS upgrade".to_string()));
        }
        self.driver_mut().starttls = false;
        Ok(())
    }

    /// The session has closed.
    fn expect_close(&mut self) -> Result<(), TranscriptError> {
        self.drain()?;
        if !self.driver().closed {
            return Err(self.fail(format!("expected the {} to close", Self::WHO)));
        }
        self.driver_mut().close_expected = true;
        Ok(())
    }

    /// The session has written nothing more.
    fn expect_silence(&mut self) -> Result<(), TranscriptError> {
        self.drain()?;
        let d = self.driver();
        if d.cursor != d.lines.len() || !d.out.is_empty() {
            let extra = escape(d.lines.get(d.cursor).unwrap_or(&d.out));
            return Err(self.fail(format!("expected silence, got {}: {extra}", Self::TAG)));
        }
        Ok(())
    }

    /// The session asked for the TLS upgrade: the handshake happens here.
    fn start_tls(&mut self) -> Result<(), TranscriptError> {
        self.drain()?;
        if !self.driver().starttls {
            return Err(self.fail("expected a STARTTLS upgrade".to_string()));
        }
        let d = self.driver_mut();
        d.starttls = false;
        // Whatever the peer sent before the handshake was plaintext.
        d.pending.clear();
        let result = d.session.handle_tls_established(d.now);
        result.map_err(|e| self.fail(format!("handle_tls_established: {e}")))?;
        self.drain()
    }

    /// The peer closes the connection.
    fn eof(&mut self) -> Result<(), TranscriptError> {
        let d = self.driver_mut();
        d.pending.clear();
        // A session that already closed answers `Closed`: nothing to do.
        let _ = d.session.handle_eof(d.now);
        self.drain()
    }

    /// The clock advances by `by`.
    fn advance(&mut self, by: Duration) -> Result<(), TranscriptError> {
        let d = self.driver_mut();
        d.now = d.now + by;
        let _ = d.session.handle_timeout(d.now);
        self.drain()?;
        self.feed()
    }

    /// Plays every step, then checks that the session did nothing the
    /// transcript did not expect: no line left unmatched, no output without
    /// its CRLF, no close without `close` step, no STARTTLS upgrade asked for
    /// and not completed.
    fn play(&mut self, steps: &[Self::Step]) -> Result<(), TranscriptError> {
        self.drain()?;
        for (i, step) in steps.iter().enumerate() {
            self.driver_mut().step = i + 1;
            self.step(step)?;
        }
        self.driver_mut().step = 0;
        self.drain()?;
        let (tag, who) = (Self::TAG, Self::WHO);
        let d = self.driver();
        if let Some(line) = d.lines.get(d.cursor) {
            return Err(self.fail(format!("unexpected {who} output: {tag}: {}", escape(line))));
        }
        if !d.out.is_empty() {
            return Err(self.fail(format!(
                "unexpected {who} output without CRLF: {}",
                escape(&d.out)
            )));
        }
        if d.closed && !d.close_expected {
            return Err(self.fail(format!(
                "the {who} closed, but the transcript does not say so"
            )));
        }
        if d.starttls {
            return Err(self.fail(format!(
                "the {who} asked for a STARTTLS upgrade the transcript does not complete"
            )));
        }
        Ok(())
    }
}

/// Plays `text` under three chunkings (tests of the runners themselves).
#[cfg(test)]
pub(crate) fn check_transcript<S>(
    text: &str,
    parse: fn(&str) -> Result<S, String>,
    run: fn(&S, Chunking) -> Result<(), TranscriptError>,
) -> Result<(), String> {
    let script = parse(text)?;
    for chunking in [Chunking::Whole, Chunking::ByteByByte, Chunking::Random(7)] {
        run(&script, chunking).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The transcript must fail, for a reason containing `why`.
#[cfg(test)]
#[track_caller]
pub(crate) fn expect_failure(result: Result<(), String>, text: &str, why: &str) {
    match result {
        Ok(()) => panic!("passed, but should fail ({why}):\n{text}"),
        Err(e) => assert!(e.contains(why), "failed, but not because {why}: {e}"),
    }
}
