//! Plays a [`Script`] against a bare [`ServerSession`].

use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;

use super::script::{Script, Step, apply_config};
use crate::output::Output;
use crate::reply::{EnhancedCode, Reply, ReplyCode};
use crate::server::{Credentials, Decision, HelloKind, ServerConfig, ServerEvent, ServerSession};
use crate::time::Instant;

/// How the client's bytes are split before they reach the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chunking {
    /// Each `C:` step in one piece.
    Whole,
    /// One byte at a time, draining the session after each.
    ByteByByte,
    /// Pieces of 1 to 17 bytes, from a xorshift generator with this seed.
    Random(u64),
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
    /// What went wrong.
    pub message: String,
    /// The lines the session under test wrote so far (server transcripts:
    /// the server's replies; client transcripts: the client's commands).
    pub server_lines: Vec<String>,
}

impl fmt::Display for TranscriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "transcript {:?} ({:?}), step {}: {}",
            self.name, self.chunking, self.step, self.message
        )?;
        writeln!(f, "the session under test wrote:")?;
        for line in &self.server_lines {
            writeln!(f, "  > {line}")?;
        }
        Ok(())
    }
}

/// Describes an event the way `E:` lines are written.
pub(crate) fn describe(event: &ServerEvent) -> String {
    match event {
        ServerEvent::Connected => "Connected".to_string(),
        ServerEvent::Hello { kind, name } => {
            let verb = match kind {
                HelloKind::Helo => "HELO",
                HelloKind::Ehlo => "EHLO",
                HelloKind::Lhlo => "LHLO",
            };
            format!("Hello {verb} {name}")
        }
        ServerEvent::Auth {
            mechanism,
            credentials,
        } => match credentials {
            Credentials::Password {
                authzid,
                username,
                password,
            } => {
                let authz = authzid
                    .as_deref()
                    .map(|a| format!(" authzid={a}"))
                    .unwrap_or_default();
                format!("Auth {mechanism}{authz} user={username} password={password}")
            }
            Credentials::Bearer { user, token } => format!(
                "Auth {mechanism} user={} token={token}",
                user.as_deref().unwrap_or("")
            ),
        },
        ServerEvent::MailFrom { from, params } => format!("MailFrom {from}{params}"),
        ServerEvent::RcptTo { to, params } => format!("RcptTo {to}{params}"),
        ServerEvent::DataStart => "DataStart".to_string(),
        ServerEvent::MessageEnd(f) => {
            let mut s = format!("MessageEnd size={}", f.size);
            if f.bare_line_ending {
                s.push_str(" bare");
            }
            if f.eight_bit {
                s.push_str(" 8bit");
            }
            if f.nul {
                s.push_str(" nul");
            }
            s
        }
        other => format!("{other:?}"),
    }
}

/// `CODE [X.Y.Z] text`.
fn parse_reply(s: &str) -> Result<Reply, String> {
    let s = s.trim();
    let (code, rest) = s.split_once(' ').unwrap_or((s, ""));
    let code = code
        .parse()
        .ok()
        .and_then(ReplyCode::new)
        .ok_or_else(|| format!("bad reply code in {s:?}"))?;
    let (enhanced, text) = match rest.split_once(' ').unwrap_or((rest, "")) {
        (first, tail) if first.split('.').count() == 3 => {
            let mut parts = first.split('.').map(str::parse::<u16>);
            match (parts.next(), parts.next(), parts.next()) {
                (Some(Ok(c)), Some(Ok(sub)), Some(Ok(det))) => {
                    let enhanced = u8::try_from(c)
                        .ok()
                        .and_then(|c| EnhancedCode::new(c, sub, det));
                    (enhanced, if enhanced.is_some() { tail } else { rest })
                }
                _ => (None, rest),
            }
        }
        _ => (None, rest),
    };
    Ok(Reply::new(code, enhanced, text))
}

fn parse_decision(s: &str) -> Result<Decision, String> {
    let (word, rest) = s.split_once(' ').unwrap_or((s, ""));
    match word {
        "accept" if rest.is_empty() => Ok(Decision::Accept),
        "accept" => Ok(Decision::AcceptWith(parse_reply(rest)?)),
        "reject" => Ok(Decision::Reject(parse_reply(rest)?)),
        "per" => Ok(Decision::PerRecipient(
            rest.split(" | ")
                .map(parse_reply)
                .collect::<Result<_, _>>()?,
        )),
        _ => Err(format!("unknown decision {s:?}")),
    }
}

pub(crate) fn matches(actual: &str, pattern: &str, prefix: bool) -> bool {
    if prefix {
        actual.starts_with(pattern)
    } else {
        actual == pattern
    }
}

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

struct Run<'s> {
    script: &'s Script,
    chunking: Chunking,
    rng: Xorshift,
    session: ServerSession,
    now: Instant,
    out: Vec<u8>,
    lines: Vec<String>,
    cursor: usize,
    decisions: VecDeque<(usize, &'s str, bool, &'s str)>,
    decided: usize,
    pending_client: VecDeque<u8>,
    wants_read: bool,
    content: Vec<u8>,
    last_message: Option<Vec<u8>>,
    closed: bool,
    starttls: bool,
    step: usize,
}

impl Run<'_> {
    fn fail(&self, message: String) -> TranscriptError {
        TranscriptError {
            name: self.script.name.clone(),
            chunking: self.chunking,
            step: self.step,
            message,
            server_lines: self.lines.clone(),
        }
    }

    fn drain(&mut self) -> Result<(), TranscriptError> {
        for _ in 0..1_000_000 {
            match self.session.poll_output() {
                Output::Transmit(bytes) => {
                    if self.closed {
                        return Err(self.fail("output after Close".to_string()));
                    }
                    self.out.extend_from_slice(&bytes);
                    while let Some(pos) = self.out.windows(2).position(|w| w == b"\r\n") {
                        let line: Vec<u8> = self.out.drain(..pos + 2).collect();
                        let text = String::from_utf8_lossy(&line[..pos]).into_owned();
                        self.lines.push(text);
                    }
                }
                Output::Event(event) => self.event(event)?,
                Output::StartTls => self.starttls = true,
                Output::Close => self.closed = true,
                Output::Wait { wants_read, .. } => {
                    self.wants_read = wants_read;
                    return Ok(());
                }
            }
        }
        Err(self.fail("poll_output never returned Wait".to_string()))
    }

    fn event(&mut self, event: ServerEvent) -> Result<(), TranscriptError> {
        match &event {
            ServerEvent::MessageData(bytes) => self.content.extend_from_slice(bytes),
            ServerEvent::TransactionReset | ServerEvent::DataStart => self.content.clear(),
            _ => {}
        }
        if !event.needs_decision() {
            return Ok(());
        }
        let described = describe(&event);
        let Some((_, pattern, prefix, decision)) = self.decisions.pop_front() else {
            return Err(self.fail(format!("unexpected event: {described}")));
        };
        if !matches(&described, pattern, prefix) {
            return Err(self.fail(format!(
                "event mismatch:\n  expected E: {pattern}{}\n  got      E: {described}",
                if prefix { "*" } else { "" }
            )));
        }
        if let ServerEvent::MessageEnd(_) = event {
            self.last_message = Some(core::mem::take(&mut self.content));
        }
        let decision = parse_decision(decision).map_err(|e| self.fail(e))?;
        self.decided += 1;
        self.session
            .respond(self.now, decision)
            .map_err(|e| self.fail(format!("respond failed: {e}")))
    }

    fn feed(&mut self) -> Result<(), TranscriptError> {
        while !self.pending_client.is_empty() && self.wants_read && !self.closed {
            let n = match self.chunking {
                Chunking::Whole => self.pending_client.len(),
                Chunking::ByteByByte => 1,
                Chunking::Random(_) => 1 + (self.rng.next() % 17) as usize,
            }
            .min(self.pending_client.len());
            let chunk: Vec<u8> = self.pending_client.drain(..n).collect();
            self.session.handle_bytes(self.now, &chunk);
            self.drain()?;
        }
        Ok(())
    }

    fn step(&mut self, step: &Step) -> Result<(), TranscriptError> {
        match step {
            Step::Client(bytes) => {
                if !self.closed {
                    self.pending_client.extend(bytes.iter().copied());
                }
                self.feed()?;
            }
            Step::Server { text, prefix } => {
                self.drain()?;
                let Some(line) = self.lines.get(self.cursor) else {
                    return Err(
                        self.fail(format!("expected S: {text}, but the server said nothing"))
                    );
                };
                if !matches(line, text, *prefix) {
                    return Err(self.fail(format!(
                        "server line mismatch:\n  expected S: {text}{}\n  got      S: {line}",
                        if *prefix { "*" } else { "" }
                    )));
                }
                self.cursor += 1;
            }
            Step::ExpectClose => {
                self.drain()?;
                if !self.closed {
                    return Err(self.fail("expected the session to close".to_string()));
                }
                self.pending_client.clear();
            }
            Step::ExpectStartTls => {
                self.drain()?;
                if !self.starttls {
                    return Err(self.fail("expected a STARTTLS upgrade".to_string()));
                }
                self.starttls = false;
                // Whatever the client sent before the handshake was plaintext.
                self.pending_client.clear();
                self.session
                    .handle_tls_established(self.now)
                    .map_err(|e| self.fail(format!("handle_tls_established: {e}")))?;
                self.drain()?;
            }
            Step::ExpectSilence => {
                self.drain()?;
                if self.cursor != self.lines.len() || !self.out.is_empty() {
                    let extra = self.lines.get(self.cursor).cloned().unwrap_or_default();
                    return Err(self.fail(format!("expected silence, got S: {extra}")));
                }
            }
            Step::Event { .. } => {
                self.drain()?;
                let index = self.step;
                if self.decisions.iter().any(|d| d.0 == index) {
                    return Err(self.fail("the event did not happen".to_string()));
                }
            }
            Step::Content(expected) => {
                self.drain()?;
                if self.last_message.as_deref() != Some(expected.as_slice()) {
                    return Err(self.fail(format!(
                        "message content mismatch:\n  expected {:?}\n  got      {:?}",
                        String::from_utf8_lossy(expected),
                        self.last_message.as_deref().map(String::from_utf8_lossy)
                    )));
                }
            }
            Step::Advance(d) => {
                self.now = self.now + *d;
                self.session.handle_timeout(self.now);
                self.drain()?;
                self.feed()?;
            }
            Step::Eof => {
                self.pending_client.clear();
                self.session.handle_eof(self.now);
                self.drain()?;
            }
        }
        Ok(())
    }
}

/// Plays `script` against a fresh server session with the given chunking.
pub fn run_server_transcript(script: &Script, chunking: Chunking) -> Result<(), TranscriptError> {
    let setup_error = |message: String| TranscriptError {
        name: script.name.clone(),
        chunking,
        step: 0,
        message,
        server_lines: Vec::new(),
    };
    let mut config = ServerConfig::new("mx.test");
    for (k, v) in &script.config {
        apply_config(&mut config, k, v).map_err(setup_error)?;
    }
    let config = Arc::new(config);
    let now = Instant::ZERO;
    let session = if script.implicit_tls {
        ServerSession::new_tls(config, now)
    } else {
        ServerSession::new(config, now)
    };
    let decisions = script
        .steps
        .iter()
        .enumerate()
        .filter_map(|(i, s)| match s {
            Step::Event {
                pattern,
                prefix,
                decision,
            } => Some((i + 1, pattern.as_str(), *prefix, decision.as_str())),
            _ => None,
        })
        .collect();
    let seed = match chunking {
        Chunking::Random(seed) => seed | 1,
        _ => 1,
    };
    let mut run = Run {
        script,
        chunking,
        rng: Xorshift(seed),
        session,
        now,
        out: Vec::new(),
        lines: Vec::new(),
        cursor: 0,
        decisions,
        decided: 0,
        pending_client: VecDeque::new(),
        wants_read: true,
        content: Vec::new(),
        last_message: None,
        closed: false,
        starttls: false,
        step: 0,
    };
    run.drain()?;
    for (i, step) in script.steps.iter().enumerate() {
        run.step = i + 1;
        run.step(step)?;
    }
    run.step = 0;
    run.drain()?;
    if let Some(line) = run.lines.get(run.cursor) {
        return Err(run.fail(format!("unexpected server output: S: {line}")));
    }
    if let Some((i, pattern, _, _)) = run.decisions.front() {
        return Err(run.fail(format!("event of step {i} never happened: E: {pattern}")));
    }
    let _ = run.decided;
    Ok(())
}
