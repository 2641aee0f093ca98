//! The transcript file format: parsing scripts and applying `@config` lines.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::time::Duration;

use crate::server::{Protocol, ServerConfig, VrfyPolicy};
use crate::wire::command::HeloSyntax;
use crate::wire::data::BareLineEnding;
use crate::wire::line::LineEnding;
use crate::wire::sasl::Mechanism;

/// One step of a transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `C:` / `C*`: bytes from the client.
    Client(Vec<u8>),
    /// `S:`: the next server line; `prefix` is true when it ended in `*`.
    Server {
        /// The expected line (without CRLF), or its beginning.
        text: String,
        /// Whether only the beginning must match.
        prefix: bool,
    },
    /// `S~ close`.
    ExpectClose,
    /// `S~ starttls`.
    ExpectStartTls,
    /// `S~ silent`.
    ExpectSilence,
    /// `E:`: an event pattern and the decision to give.
    Event {
        /// What the event must look like.
        pattern: String,
        /// Whether only the beginning must match.
        prefix: bool,
        /// The decision, as written.
        decision: String,
    },
    /// `D:`: the content of the last completed message.
    Content(Vec<u8>),
    /// `T+`: advance the clock.
    Advance(Duration),
    /// `C~ eof`.
    Eof,
}

/// A parsed transcript.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Script {
    /// From `# name:`, if given.
    pub name: String,
    /// `@config` settings, in order.
    pub config: Vec<(String, String)>,
    /// The steps.
    pub steps: Vec<Step>,
    /// `@implicit-tls`: the session starts with TLS already up.
    pub implicit_tls: bool,
}

/// Decodes the escapes of a `C:`/`D:` line.
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

/// Strips one trailing `*` (a prefix match) from a pattern.
pub(crate) fn glob(s: &str) -> (String, bool) {
    match s.strip_suffix('*') {
        Some(p) => (p.to_string(), true),
        None => (s.to_string(), false),
    }
}

/// Parses a transcript.
pub fn parse_script(text: &str) -> Result<Script, String> {
    let mut script = Script::default();
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
        let (tag, rest) = line
            .split_at_checked(3)
            .ok_or_else(|| format!("line {line_no}: too short: {line}"))?;
        let rest = rest.strip_prefix(' ').unwrap_or(rest);
        let step = match tag {
            "C: " | "C:" => Step::Client(unescape(rest, line_no)?),
            "C* " => {
                let (n, bytes) = rest
                    .split_once(' ')
                    .ok_or_else(|| format!("line {line_no}: C* needs a count"))?;
                let n: usize = n
                    .parse()
                    .map_err(|_| format!("line {line_no}: bad count"))?;
                let one = unescape(bytes, line_no)?;
                Step::Client(one.repeat(n))
            }
            "S: " => {
                let (text, prefix) = glob(rest);
                Step::Server { text, prefix }
            }
            "S~ " => match rest.trim() {
                "close" => Step::ExpectClose,
                "starttls" => Step::ExpectStartTls,
                "silent" => Step::ExpectSilence,
                other => return Err(format!("line {line_no}: unknown S~ {other}")),
            },
            "E: " => {
                let (pattern, decision) = rest
                    .split_once(" -> ")
                    .ok_or_else(|| format!("line {line_no}: E: needs ' -> decision'"))?;
                let (pattern, prefix) = glob(pattern.trim());
                Step::Event {
                    pattern,
                    prefix,
                    decision: decision.trim().to_string(),
                }
            }
            "D: " => Step::Content(unescape(rest, line_no)?),
            "T+ " => Step::Advance(parse_duration(rest, line_no)?),
            "C~ " if rest.trim() == "eof" => Step::Eof,
            _ => return Err(format!("line {line_no}: unknown step: {line}")),
        };
        script.steps.push(step);
    }
    Ok(script)
}

pub(crate) fn flag(v: &str) -> Result<bool, String> {
    match v {
        "true" | "on" | "yes" => Ok(true),
        "false" | "off" | "no" => Ok(false),
        _ => Err(format!("not a boolean: {v}")),
    }
}

pub(crate) fn number<T: core::str::FromStr>(v: &str) -> Result<T, String> {
    v.parse().map_err(|_| format!("not a number: {v}"))
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
