//! Plays a [`Script`] against a bare [`ServerSession`].

use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::common::{Chunking, Driver, Runner, TranscriptError, escape, matches, written};
use super::script::{Script, Step, apply_config, parse_script};
use crate::reply::{EnhancedCode, Reply, ReplyCode};
use crate::server::{Decision, HelloKind, ServerConfig, ServerEvent, ServerSession};
use crate::time::Instant;
use crate::wire::sasl::Credentials;

/// Describes a server event the way `E:` lines are written: `Connected`,
/// `Hello EHLO name`, `Auth MECH [authzid=A] user=U password=P` (or
/// `user=U token=T`), `MailFrom <path> PARAMS`, `RcptTo <path> PARAMS`,
/// `DataStart`, `MessageEnd size=N [bare] [8bit] [nul]`, `ClientFault REPLY`,
/// and the `Debug` form of the others (`TransactionReset`,
/// `TransactionFinished`, `TlsEstablished`).
///
/// An adapter that replays transcripts describes what its application saw
/// with this, so that its `E:` lines read the same as the core's.
pub fn describe_server_event(event: &ServerEvent) -> String {
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
        ServerEvent::ClientFault(reply) => format!("ClientFault {reply}"),
        // TransactionReset, TlsEstablished, and whatever comes next.
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

/// Parses the decision of an `E: ... -> decision` or `R: decision` line:
/// `accept`, `accept CODE [X.Y.Z] text`, `reject CODE [X.Y.Z] text`, or (LMTP)
/// `per CODE [X.Y.Z] text | CODE [X.Y.Z] text ...` (`hold` is not a decision:
/// it is the runner's, and is refused here).
pub fn parse_decision(s: &str) -> Result<Decision, String> {
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

/// For each step (by 1-based index, `[0]` unused), the input step it comes
/// after: the index of the last input step before it, or 0 (the session's
/// start). An `E:` line must be matched by an event of its input step.
fn input_windows(steps: &[Step]) -> Vec<usize> {
    let mut windows = Vec::with_capacity(steps.len() + 1);
    let mut current = 0;
    windows.push(0);
    for (i, step) in steps.iter().enumerate() {
        windows.push(current);
        if step.is_input() {
            current = i + 1;
        }
    }
    windows
}

/// An `E:` line still to be matched.
struct Expected<'s> {
    /// Its 1-based step index.
    step: usize,
    pattern: &'s [u8],
    prefix: bool,
    decision: Option<&'s str>,
}

struct Run<'s> {
    driver: Driver<ServerSession>,
    /// The `E:` steps still to come, in order.
    expected: VecDeque<Expected<'s>>,
    /// See [`input_windows`].
    windows: Vec<usize>,
    /// The step index of the last `E:` line matched (0: none yet).
    last_matched: usize,
    /// Bless mode: informational events are not matched but recorded here,
    /// with the step index after which their `E:` line goes.
    blessed: Option<Vec<(usize, String)>>,
    /// The content of the message being received.
    content: Vec<u8>,
    last_message: Option<Vec<u8>>,
    /// A decision is held (`-> hold`) until an `R:` step.
    held: bool,
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
            ServerEvent::MessageData(bytes) => {
                // Checked by `D:` lines.
                self.content.extend_from_slice(bytes);
                return Ok(());
            }
            ServerEvent::TransactionReset | ServerEvent::DataStart => self.content.clear(),
            _ => {}
        }
        let described = describe_server_event(&event);
        let informational = !event.needs_decision();
        let step = self.driver.step;
        if informational && let Some(blessed) = &mut self.blessed {
            blessed.push((step.max(self.last_matched), described));
            return Ok(());
        }
        let Some(expected) = self.expected.pop_front() else {
            return Err(self.fail(format!(
                "unexpected event: E: {}",
                escape(described.as_bytes())
            )));
        };
        if !matches(described.as_bytes(), expected.pattern, expected.prefix) {
            return Err(self.fail(format!(
                "event mismatch:\n  expected E: {}\n  got      E: {}",
                written(expected.pattern, expected.prefix),
                escape(described.as_bytes())
            )));
        }
        let window = self.windows[expected.step];
        if window != step {
            return Err(self.fail(format!(
                "event {described} happened at step {step}, but its E: line (step {}) \
                 belongs to the input of step {window}",
                expected.step
            )));
        }
        self.last_matched = expected.step;
        let decision = match (expected.decision, informational) {
            (None, true) => return Ok(()),
            (Some(decision), false) => decision,
            (Some(_), true) => {
                return Err(self.fail(format!(
                    "E: {described} needs no decision (write it without ' -> ...')"
                )));
            }
            (None, false) => {
                return Err(self.fail(format!("E: {described} needs ' -> decision'")));
            }
        };
        if let ServerEvent::MessageEnd(_) = event {
            self.last_message = Some(core::mem::take(&mut self.content));
        }
        if decision == "hold" {
            // Answered later by an `R:` step; meanwhile input keeps arriving.
            self.held = true;
            return Ok(());
        }
        let decision = parse_decision(decision).map_err(|e| self.fail(e))?;
        let d = &mut self.driver;
        let result = d.session.respond(d.now, decision);
        result.map_err(|e| self.fail(format!("respond failed: {e}")))
    }

    fn step(&mut self, step: &Step) -> Result<(), TranscriptError> {
        match step {
            Step::Client(bytes) => self.peer_sends(bytes),
            Step::ClientAtOnce(bytes) => self.peer_sends_at_once(bytes),
            Step::Server { text, prefix } => self.expect_line(text, *prefix),
            Step::ExpectClose => self.expect_close(),
            Step::ExpectStartTls => self.start_tls(),
            Step::StartTlsPending => self.tls_pending(),
            Step::Unterminated(bytes) => self.expect_unterminated(bytes),
            Step::ExpectSilence => self.expect_silence(),
            Step::Release(decision) => {
                if !core::mem::take(&mut self.held) {
                    return Err(self.fail("R: without a held decision".to_string()));
                }
                let decision = parse_decision(decision).map_err(|e| self.fail(e))?;
                let d = &mut self.driver;
                let result = d.session.respond(d.now, decision);
                result.map_err(|e| self.fail(format!("respond failed: {e}")))?;
                self.drain()?;
                self.feed()
            }
            Step::ExpectNotReading => {
                self.drain()?;
                if self.driver.wants_read {
                    return Err(self.fail("the session still wants input".to_string()));
                }
                Ok(())
            }
            Step::Event { .. } => {
                self.drain()?;
                let index = self.driver.step;
                if self.expected.iter().any(|e| e.step == index) {
                    return Err(self.fail("the event did not happen".to_string()));
                }
                Ok(())
            }
            Step::Content(expected) => {
                self.drain()?;
                if self.last_message.as_deref() != Some(expected.as_slice()) {
                    return Err(self.fail(format!(
                        "message content mismatch:\n  expected {}\n  got      {}",
                        escape(expected),
                        self.last_message
                            .as_deref()
                            .map_or("no message".into(), escape)
                    )));
                }
                Ok(())
            }
            Step::Advance(d) => self.advance(*d),
            Step::Eof => self.eof(),
        }
    }
}

/// Plays `script` with the given chunking; in bless mode, returns the
/// informational events instead of matching them.
fn run(
    script: &Script,
    chunking: Chunking,
    bless: bool,
) -> Result<Vec<(usize, String)>, TranscriptError> {
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
    let expected = script
        .steps
        .iter()
        .enumerate()
        .filter_map(|(i, s)| match s {
            Step::Event {
                pattern,
                prefix,
                decision,
            } => Some(Expected {
                step: i + 1,
                pattern: pattern.as_slice(),
                prefix: *prefix,
                decision: decision.as_deref(),
            }),
            _ => None,
        })
        .collect();
    let mut run = Run {
        driver: Driver::new(script, chunking, session),
        expected,
        windows: input_windows(&script.steps),
        last_matched: 0,
        blessed: bless.then(Vec::new),
        content: Vec::new(),
        last_message: None,
        held: false,
    };
    run.play(&script.steps)?;
    if let Some(e) = run.expected.front() {
        return Err(run.fail(format!(
            "event of step {} never happened: E: {}",
            e.step,
            written(e.pattern, e.prefix)
        )));
    }
    Ok(run.blessed.unwrap_or_default())
}

/// Plays `script` against a fresh server session with the given chunking.
pub fn run_server_transcript(script: &Script, chunking: Chunking) -> Result<(), TranscriptError> {
    run(script, chunking, false).map(drop)
}

/// Bless mode: plays the server transcript `text` (whole) without its
/// informational `E:` lines (those without ` -> decision`), and returns the
/// text with an `E:` line for each informational event the session emitted,
/// where it emitted it: right after the line of the input step that caused
/// it, or after the `E:` line of the event before it from the same input.
/// Every other line is left as it was.
pub fn bless_server_transcript(text: &str) -> Result<String, String> {
    let script = parse_script(text)?;
    let informational = |s: &Step| matches!(s, Step::Event { decision: None, .. });
    let dropped: Vec<usize> = script
        .steps
        .iter()
        .zip(&script.step_lines)
        .filter(|(s, _)| informational(s))
        .map(|(_, &line)| line)
        .collect();
    let (steps, step_lines) = script
        .steps
        .iter()
        .zip(&script.step_lines)
        .filter(|(s, _)| !informational(s))
        .map(|(s, &line)| (s.clone(), line))
        .unzip();
    let kept = Script {
        steps,
        step_lines,
        ..script.clone()
    };
    let events = run(&kept, Chunking::Whole, true).map_err(|e| e.to_string())?;
    let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
    // Inserted lines by the line they follow (0: before the first step).
    let mut inserts: Vec<(usize, String)> = events
        .into_iter()
        .map(|(step, described)| {
            let after = step.checked_sub(1).map_or(0, |i| kept.step_lines[i]);
            (after, format!("E: {}{eol}", escape(described.as_bytes())))
        })
        .collect();
    let first_step = kept.step_lines.first().copied().unwrap_or(usize::MAX);
    let mut out = String::with_capacity(text.len());
    let mut next = inserts.drain(..).peekable();
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let line_no = i + 1;
        let mut emit = |out: &mut String, after: usize| {
            while let Some((_, line)) = next.next_if(|(a, _)| *a == after) {
                out.push_str(&line);
            }
        };
        if line_no == first_step {
            emit(&mut out, 0);
        }
        if !dropped.contains(&line_no) {
            out.push_str(line);
            if line_no >= first_step && !line.ends_with('\n') {
                out.push_str(eol);
            }
        }
        if line_no >= first_step {
            emit(&mut out, line_no);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    //! Each check of the runner, proven by a transcript that the runner
    //! before it let through.

    use super::*;

    const EHLO: &str = "E: Connected -> accept
S: 220 mx.test ESMTP
C: EHLO c.test\\r\\n
E: Hello EHLO c.test -> accept
S: 250-mx.test
S: 250-PIPELINING
S: 250-SIZE 10485760
S: 250-8BITMIME
S: 250-ENHANCEDSTATUSCODES
S: 250-CHUNKING
S: 250-SMTPUTF8
S: 250 DSN
";

    fn run_all(text: &str) -> Result<(), String> {
        super::super::common::check_transcript(text, parse_script, run_server_transcript)
    }

    #[track_caller]
    fn fails(text: &str, why: &str) {
        super::super::common::expect_failure(run_all(text), text, why);
    }

    #[track_caller]
    fn passes(text: &str) {
        if let Err(e) = run_all(text) {
            panic!("{e}");
        }
    }

    #[test]
    fn escaped_star_is_a_literal_star() {
        let t = |reply: &str, pattern: &str| {
            format!(
                "{EHLO}C: MAIL FROM:<a@b.test>\\r\\n\nE: MailFrom <a@b.test> -> reject {reply}\nS: {pattern}\n"
            )
        };
        passes(&t("550 5.7.1 no*", "550 5.7.1 no\\*"));
        // Before, `S: 550 5.7.1 no*` was the only way to write it: a prefix.
        passes(&t("550 5.7.1 nope", "550 5.7.1 no*"));
        fails(&t("550 5.7.1 nope", "550 5.7.1 no\\*"), "line mismatch");
        // `\\` then the wildcard.
        passes(&t("550 5.7.1 a\\b", "550 5.7.1 a\\\\*"));
    }

    #[test]
    fn informational_events_must_be_matched() {
        let rset = format!(
            "{EHLO}C: MAIL FROM:<a@b.test>\\r\\n\nE: MailFrom <a@b.test> -> accept\nS: 250 2.1.0 Ok\nC: RSET\\r\\n\nS: 250 2.0.0 Ok\n"
        );
        fails(&rset, "unexpected event: E: TransactionReset");
        passes(&rset.replace("C: RSET\\r\\n\n", "C: RSET\\r\\n\nE: TransactionReset\n"));

        let error = format!("{EHLO}C: XYZZY\\r\\n\nS: 500 5.5.2 Error: command not recognized\n");
        fails(&error, "unexpected event: E: ClientFault 500 5.5.2");
        passes(&error.replace(
            "C: XYZZY\\r\\n\n",
            "C: XYZZY\\r\\n\nE: ClientFault 500 5.5.2 Error: command not recognized\n",
        ));
        fails(
            &error.replace(
                "C: XYZZY\\r\\n\n",
                "C: XYZZY\\r\\n\nE: ClientFault 500 5.5.2 Error: no\n",
            ),
            "event mismatch",
        );

        let tls = format!(
            "@config starttls=on\n{}C: STARTTLS\\r\\n\nS: 220 2.0.0 Ready to start TLS\nS~ starttls\n",
            EHLO.replace("S: 250 DSN", "S: 250-DSN\nS: 250 STARTTLS")
        );
        fails(&tls, "unexpected event: E: TlsEstablished");
        passes(&format!("{tls}E: TlsEstablished\n"));
    }

    #[test]
    fn decisions_and_informational_events_are_told_apart() {
        let error = format!("{EHLO}C: XYZZY\\r\\n\nE: ClientFault * -> accept\n");
        fails(&error, "needs no decision");
        let mail = format!("{EHLO}C: MAIL FROM:<a@b.test>\\r\\n\nE: MailFrom <a@b.test>\n");
        fails(&mail, "needs ' -> decision'");
    }

    #[test]
    fn an_event_belongs_to_the_input_before_its_line() {
        // The MailFrom decision came with the first C: line; its E: line
        // after the next input used to be accepted.
        let late = format!(
            "{EHLO}C: MAIL FROM:<a@b.test>\\r\\n\nS: 250 2.1.0 Ok\nC: NOOP\\r\\n\nE: MailFrom <a@b.test> -> accept\nS: 250 2.0.0 Ok\n"
        );
        fails(&late, "belongs to the input of step");
        let early = format!(
            "{EHLO}E: ClientFault 500 5.5.2 Error: command not recognized\nC: XYZZY\\r\\n\nS: 500 5.5.2 Error: command not recognized\n"
        );
        fails(&early, "the event did not happen");
    }

    #[test]
    fn an_unexpected_close_fails() {
        let quit = format!("{EHLO}C: QUIT\\r\\n\nS: 221 2.0.0 Bye\n");
        fails(&quit, "closed, but the transcript does not say so");
        passes(&format!("{quit}S~ close\n"));
    }

    #[test]
    fn an_unexpected_starttls_fails() {
        let tls = format!(
            "@config starttls=on\n{}C: STARTTLS\\r\\n\nS: 220 2.0.0 Ready to start TLS\n",
            EHLO.replace("S: 250 DSN", "S: 250-DSN\nS: 250 STARTTLS")
        );
        fails(&tls, "STARTTLS upgrade the transcript does not complete");
        passes(&format!("{tls}S~ starttls-pending\n"));
        passes(&format!("{tls}S~ starttls\nE: TlsEstablished\n"));
    }

    #[test]
    fn an_unmatched_line_fails() {
        fails(
            &format!("{EHLO}C: NOOP\\r\\n\n"),
            "unexpected server output: S: 250 2.0.0 Ok",
        );
    }

    #[test]
    fn bless_inserts_informational_events_and_keeps_the_rest() {
        let text = format!(
            "# comment\n{EHLO}C: MAIL FROM:<a@b.test>\\r\\nXYZZY\\r\\nRSET\\r\\n\nE: MailFrom <a@b.test> -> accept\n# kept\nE: TransactionReset\nS: 250 2.1.0 Ok\nS: 500 5.5.2 Error: command not recognized\nS: 250 2.0.0 Ok\nC: QUIT\\r\\n\nE: Stale\nS: 221 2.0.0 Bye\nS~ close\n"
        );
        let blessed = bless_server_transcript(&text).unwrap();
        let expected = text
            .replace(
                "E: MailFrom <a@b.test> -> accept\n# kept\nE: TransactionReset\n",
                "E: MailFrom <a@b.test> -> accept\nE: ClientFault 500 5.5.2 Error: command not recognized\nE: TransactionReset\n# kept\n",
            )
            .replace("E: Stale\n", "");
        assert_eq!(blessed, expected);
        passes(&blessed);
        assert_eq!(bless_server_transcript(&blessed).unwrap(), blessed);
    }
}
