//! The server transcript format: its steps, parsing them, and applying `@config` lines.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::time::Duration;

use super::common::{
    Transcript, flag, number, parse_duration, parse_transcript, pattern, repeated, split_tag,
    unescape,
};
use crate::Protocol;
use crate::server::{ServerConfig, VrfyPolicy};
use crate::wire::command::HeloSyntax;
use crate::wire::data::BareLineEnding;
use crate::wire::line::LineEnding;
use crate::wire::sasl::Mechanism;

/// One step of a transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `C:` / `C*`: bytes from the client.
    Client(Vec<u8>),
    /// `C!`: bytes from the client that arrive in one read, whatever the
    /// chunking: the client sent them before it could have read a reply.
    ClientAtOnce(Vec<u8>),
    /// `S:`: the next server line; `prefix` is true when it ended in `*`.
    Server {
        /// The expected line (without CRLF), or its beginning.
        text: Vec<u8>,
        /// Whether only the beginning must match.
        prefix: bool,
    },
    /// `S~ close`.
    ExpectClose,
    /// `S~ starttls`.
    ExpectStartTls,
    /// `S~ starttls-pending`: the upgrade was asked for; the handshake never finishes.
    StartTlsPending,
    /// `S+ bytes`: the server's output continues with these bytes, without CRLF.
    Unterminated(Vec<u8>),
    /// `S~ silent`.
    ExpectSilence,
    /// `E:`: an event pattern and, for an event that needs one, the decision
    /// to give.
    Event {
        /// What the event's description must be.
        pattern: Vec<u8>,
        /// Whether only the beginning must match.
        prefix: bool,
        /// The decision, as written; `None` for an informational event.
        decision: Option<String>,
    },
    /// `D:`: the content of the last completed message.
    Content(Vec<u8>),
    /// `T+`: advance the clock.
    Advance(Duration),
    /// `C~ eof`.
    Eof,
    /// `R: decision`: the application answers the decision it held (an `E:`
    /// line with `-> hold`), now.
    Release(String),
    /// `S~ not-reading`: the session does not want input (backpressure).
    ExpectNotReading,
}

impl Step {
    /// Whether the step gives the session something to act on (the client's
    /// bytes or their end, a held decision, the clock, the TLS handshake):
    /// only these make events happen. Every `E:` line belongs to the input
    /// step before it (see the [format](super#events)).
    pub fn is_input(&self) -> bool {
        matches!(
            self,
            Step::Client(_)
                | Step::ClientAtOnce(_)
                | Step::Release(_)
                | Step::Advance(_)
                | Step::Eof
                | Step::ExpectStartTls
        )
    }
}

/// A parsed server transcript.
pub type Script = Transcript<Step>;

/// Parses a server transcript.
pub fn parse_script(text: &str) -> Result<Script, String> {
    parse_transcript(text, |line, line_no| {
        let (tag, rest) = split_tag(line, line_no)?;
        Ok(match tag {
            "C: " | "C:" => Step::Client(unescape(rest, line_no)?),
            "C* " => Step::Client(repeated(rest, "C*", line_no)?),
            "C! " | "C!" => Step::ClientAtOnce(unescape(rest, line_no)?),
            "S: " => {
                let (text, prefix) = pattern(rest, line_no)?;
                Step::Server { text, prefix }
            }
            "S~ " => match rest.trim() {
                "close" => Step::ExpectClose,
                "starttls" => Step::ExpectStartTls,
                "starttls-pending" => Step::StartTlsPending,
                "silent" => Step::ExpectSilence,
                "not-reading" => Step::ExpectNotReading,
                other => return Err(format!("line {line_no}: unknown S~ {other}")),
            },
            "E: " => {
                let (described, decision) = match rest.split_once(" -> ") {
                    Some((d, decision)) => (d, Some(decision.trim().to_string())),
                    None => (rest, None),
                };
                let (pattern, prefix) = pattern(described.trim(), line_no)?;
                Step::Event {
                    pattern,
                    prefix,
                    decision,
                }
            }
            "S+ " => Step::Unterminated(unescape(rest, line_no)?),
            "D: " => Step::Content(unescape(rest, line_no)?),
            "T+ " => Step::Advance(parse_duration(rest, line_no)?),
            "C~ " if rest.trim() == "eof" => Step::Eof,
            "R: " => Step::Release(rest.trim().to_string()),
            _ => return Err(format!("line {line_no}: unknown step: {line}")),
        })
    })
}

/// Applies one `@config key=value` setting to a server configuration.
///
/// Keys: `hostname`, `lmtp`, `pipelining`, `8bitmime`, `enhancedstatuscodes`,
/// `chunking`, `binarymime`, `smtputf8`, `dsn`, `starttls`, `requiretls`,
/// `auth=PLAIN,LOGIN,...` (or `none`), `auth_without_tls`, `require_tls`,
/// `require_auth`, `max_size=N` (or `none`), `max_recipients=N`, `max_errors=N`,
/// `helo=strict|lenient`, `bare_lf=reject|normalize`, `command_lf=strict|lenient`,
/// `vrfy=252|disabled`, `expn=disabled|252`, `command_line=N`, `max_input=N`,
/// `timeout=Ns`, `data_timeout=Ns`.
pub fn apply_config(config: &mut ServerConfig, key: &str, value: &str) -> Result<(), String> {
    let e = &mut config.extensions;
    match key {
        "hostname" => config.hostname = value.to_string(),
        "lmtp" => {
            config.protocol = if flag(value)? {
                Protocol::Lmtp
            } else {
                Protocol::Smtp
            }
        }
        "pipelining" => e.pipelining = flag(value)?,
        "8bitmime" => e.eight_bit_mime = flag(value)?,
        "enhancedstatuscodes" => e.enhanced_status_codes = flag(value)?,
        "chunking" => e.chunking = flag(value)?,
        "binarymime" => e.binary_mime = flag(value)?,
        "smtputf8" => e.smtputf8 = flag(value)?,
        "dsn" => e.dsn = flag(value)?,
        "starttls" => e.starttls = flag(value)?,
        "requiretls" => e.requiretls = flag(value)?,
        "auth" => {
            e.auth = if value == "none" {
                Vec::new()
            } else {
                value
                    .split(',')
                    .map(|m| {
                        Mechanism::parse(m)
                            .map(Mechanism::into_owned)
                            .ok_or_else(|| format!("bad mechanism {m}"))
                    })
                    .collect::<Result<_, _>>()?
            }
        }
        "auth_without_tls" => config.auth_without_tls = flag(value)?,
        "require_tls" => config.require_tls = flag(value)?,
        "require_auth" => config.require_auth = flag(value)?,
        "max_size" => {
            config.max_message_size = if value == "none" {
                None
            } else {
                Some(number(value)?)
            }
        }
        "max_recipients" => config.max_recipients = number(value)?,
        "max_errors" => config.max_errors = number(value)?,
        "helo" => {
            config.helo_syntax = match value {
                "strict" => HeloSyntax::Strict,
                "lenient" => HeloSyntax::Lenient,
                _ => return Err(format!("helo={value}")),
            }
        }
        "bare_lf" => {
            config.bare_line_ending = match value {
                "reject" => BareLineEnding::Reject,
                "normalize" => BareLineEnding::Normalize,
                _ => return Err(format!("bare_lf={value}")),
            }
        }
        "command_lf" => {
            config.command_line_ending = match value {
                "strict" => LineEnding::Strict,
                "lenient" => LineEnding::Lenient,
                _ => return Err(format!("command_lf={value}")),
            }
        }
        "vrfy" => {
            config.vrfy = match value {
                "252" => VrfyPolicy::CannotVerify,
                "disabled" => VrfyPolicy::Disabled,
                _ => return Err(format!("vrfy={value}")),
            }
        }
        "expn" => config.expn_disabled = value == "disabled",
        "command_line" => config.limits.command_line = number(value)?,
        "max_input" => config.max_input_buffer = number(value)?,
        "timeout" => config.timeouts.command = parse_duration(value, 0)?,
        "data_timeout" => config.timeouts.data = parse_duration(value, 0)?,
        _ => return Err(format!("unknown @config key {key}")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_step() {
        let script = parse_script(
            "# name: demo\n@config starttls=on max_size=100\nS: 220 *\nC: EHLO a\\r\\n\nC* 3 x\nE: Hello EHLO a -> accept\nS~ close\nT+ 5s\nD: a\\x00b\nC~ eof\n",
        )
        .unwrap();
        assert_eq!(script.name, "demo");
        assert_eq!(script.config.len(), 2);
        assert_eq!(script.steps[1], Step::Client(b"EHLO a\r\n".to_vec()));
        assert_eq!(script.steps[2], Step::Client(b"xxx".to_vec()));
        assert_eq!(script.steps[5], Step::Advance(Duration::from_secs(5)));
        assert_eq!(script.steps[6], Step::Content(b"a\0b".to_vec()));
        assert!(parse_script("Q: what").is_err());
    }
}
