//! Plays a [`Script`] against a bare [`ServerSession`].

use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::common::{Chunking, Driver, Runner, TranscriptError, matches, written};
use super::script::{Script, Step, apply_config};
use crate::reply::{EnhancedCode, Reply, ReplyCode};
use crate::server::{Decision, HelloKind, ServerConfig, ServerEvent, ServerSession};
use crate::time::Instant;
use crate::wire::sasl::Credentials;

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

struct Run<'s> {
    driver: Driver<ServerSession>,
    /// The `E:` steps still to come: step index, pattern, prefix, decision.
    decisions: VecDeque<(usize, &'s str, bool, &'s str)>,
    /// The content of the message being received.
    content: Vec<u8>,
    last_message: Option<Vec<u8>>,
}

impl Runner for Run<'_> {
    type Session = ServerSession;
    type Step = Step;
    const TAG: &'static str = "S";
    const WHO: &'static str = "server";

    fn driver(&self) -> &Driver<ServerSession> {
        &self.driver
    }

    fn driver_mut(&mut self) -> &mut Driver<ServerSession> {
        &mut self.driver
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
                "event mismatch:\n  expected E: {}\n  got      E: {described}",
                written(pattern, prefix)
            )));
        }
        if let ServerEvent::MessageEnd(_) = event {
            self.last_message = Some(core::mem::take(&mut self.content));
        }
        let decision = parse_decision(decision).map_err(|e| self.fail(e))?;
        let d = &mut self.driver;
        let result = d.session.respond(d.now, decision);
        result.map_err(|e| self.fail(format!("respond failed: {e}")))
    }

    fn step(&mut self, step: &Step) -> Result<(), TranscriptError> {
        match step {
            Step::Client(bytes) => self.peer_sends(bytes),
            Step::Server { text, prefix } => self.expect_line(text, *prefix),
            Step::ExpectClose => self.expect_close(),
            Step::ExpectStartTls => self.start_tls(),
            Step::ExpectSilence => self.expect_silence(),
            Step::Event { .. } => {
                self.drain()?;
                let index = self.driver.step;
                if self.decisions.iter().any(|d| d.0 == index) {
                    return Err(self.fail("the event did not happen".to_string()));
                }
                Ok(())
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
                Ok(())
            }
            Step::Advance(d) => self.advance(*d),
            Step::Eof => self.eof(),
        }
    }
}

/// Plays `script` against a fresh server session with the given chunking.
pub fn run_server_transcript(script: &Script, chunking: Chunking) -> Result<(), TranscriptError> {
    let mut config = ServerConfig::new("mx.test");
    for (k, v) in &script.config {
        apply_config(&mut config, k, v).map_err(|e| TranscriptError::setup(script, chunking, e))?;
    }
    let config = Arc::new(config);
    let session = if script.implicit_tls {
        ServerSession::new_tls(config, Instant::ZERO)
    } else {
        ServerSession::new(config, Instant::ZERO)
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
    let mut run = Run {
        driver: Driver::new(script, chunking, session),
        decisions,
        content: Vec::new(),
        last_message: None,
    };
    run.play(&script.steps)?;
    if let Some((i, pattern, _, _)) = run.decisions.front() {
        return Err(run.fail(format!("event of step {i} never happened: E: {pattern}")));
    }
    Ok(())
}
