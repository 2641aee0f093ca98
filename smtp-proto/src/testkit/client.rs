//! Client transcripts: the script format from the client's point of view, and a
//! runner that plays a script against a bare [`ClientSession`].

use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::time::Duration;

use super::common::{
    Chunking, Driver, Runner, Transcript, TranscriptError, escape, flag, glob, matches, number,
    parse_duration, parse_transcript, pattern, repeated, split_tag, unescape, written,
};
use crate::Protocol;
use crate::client::{
    AuthError, ClientConfig, ClientError, ClientEvent, ClientSession, Envelope, RecipientResult,
    ServerFault, SessionError, TlsPolicy, TransactionFailure, Waiting,
};
use crate::time::Instant;
use crate::wire::line::LineEnding;
use crate::wire::params::{Body, Notify, OriginalRecipient, Ret};
use crate::wire::path::{Host, PathOptions};
use crate::wire::sasl::Credentials;

/// One step of a client transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientStep {
    /// `S:` / `S*`: bytes the scripted server sends.
    Server(Vec<u8>),
    /// `S!`: bytes the scripted server sends that arrive in one read,
    /// whatever the chunking.
    ServerAtOnce(Vec<u8>),
    /// `C:`: the next line the client wrote (without CRLF); `prefix` when the
    /// pattern ended in `*`.
    Client {
        /// The expected line, or its beginning.
        text: Vec<u8>,
        /// Whether only the beginning must match.
        prefix: bool,
    },
    /// `A:`: an application call, and what it must return.
    App {
        /// The call, e.g. `send_mail from=<a@b> to=<c@d> body="hi"`.
        call: String,
        /// `None`: must succeed; else the error's `Debug` form (or its beginning).
        error: Option<(String, bool)>,
    },
    /// `E:`: the next client event looks like this.
    Event {
        /// What the event's description must be.
        pattern: Vec<u8>,
        /// Whether only the beginning must match.
        prefix: bool,
    },
    /// `C~ close`: the client has closed.
    ExpectClose,
    /// `C~ silent`: the client has written nothing more.
    ExpectSilence,
    /// `S~ starttls` (or `C~ starttls`): the client asked for the TLS upgrade;
    /// the handshake happens here.
    StartTls,
    /// `S~ starttls-pending` (or `C~ starttls-pending`): the client asked for
    /// the TLS upgrade; the handshake never finishes.
    StartTlsPending,
    /// `C+ bytes`: the client's output continues with these bytes, without
    /// CRLF (BDAT chunk data at the end of the output).
    Unterminated(Vec<u8>),
    /// `S~ eof`: the server closes the connection.
    Eof,
    /// `T+`: the clock advances.
    Advance(Duration),
}

impl ClientStep {
    /// Whether the step gives the session something to act on (the server's
    /// bytes or their end, an application call, the clock, the TLS
    /// handshake): only these make events happen. Every `E:` line belongs to
    /// the input step before it.
    pub fn is_input(&self) -> bool {
        matches!(
            self,
            ClientStep::Server(_)
                | ClientStep::ServerAtOnce(_)
                | ClientStep::App { .. }
                | ClientStep::StartTls
                | ClientStep::Eof
                | ClientStep::Advance(_)
        )
    }
}

/// A parsed client transcript.
pub type ClientScript = Transcript<ClientStep>;

/// Parses a client transcript.
pub fn parse_client_script(text: &str) -> Result<ClientScript, String> {
    parse_transcript(text, |line, line_no| {
        if line == "C:" {
            // An empty line (a trailing space is easily lost).
            return Ok(ClientStep::Client {
                text: Vec::new(),
                prefix: false,
            });
        }
        let (tag, rest) = split_tag(line, line_no)?;
        Ok(match tag {
            "S: " | "S:" => ClientStep::Server(unescape(rest, line_no)?),
            "S* " => ClientStep::Server(repeated(rest, "S*", line_no)?),
            "S! " | "S!" => ClientStep::ServerAtOnce(unescape(rest, line_no)?),
            "C: " => {
                let (text, prefix) = pattern(rest, line_no)?;
                ClientStep::Client { text, prefix }
            }
            "A: " => {
                let (call, error) = match rest.rfind(" -> ") {
                    Some(at) => {
                        let outcome = rest[at + 4..].trim();
                        let error = match outcome.strip_prefix("error ") {
                            Some(e) => Some(glob(e.trim())),
                            None if outcome == "ok" => None,
                            None => return Err(format!("line {line_no}: bad outcome {outcome}")),
                        };
                        (&rest[..at], error)
                    }
                    None => (rest, None),
                };
                ClientStep::App {
                    call: call.trim().to_string(),
                    error,
                }
            }
            "E: " => {
                let (pattern, prefix) = pattern(rest.trim(), line_no)?;
                ClientStep::Event { pattern, prefix }
            }
            "C+ " => ClientStep::Unterminated(unescape(rest, line_no)?),
            "T+ " => ClientStep::Advance(parse_duration(rest, line_no)?),
            "C~ " | "S~ " => match (tag, rest.trim()) {
                ("C~ ", "close") => ClientStep::ExpectClose,
                ("C~ ", "silent") => ClientStep::ExpectSilence,
                (_, "starttls") => ClientStep::StartTls,
                (_, "starttls-pending") => ClientStep::StartTlsPending,
                ("S~ ", "eof") => ClientStep::Eof,
                (_, other) => return Err(format!("line {line_no}: unknown {tag}{other}")),
            },
            _ => return Err(format!("line {line_no}: unknown step: {line}")),
        })
    })
}

/// Applies one `@config key=value` setting to a client configuration.
///
/// Keys: `hello=NAME`, `lmtp`, `tls=required|opportunistic|disabled`,
/// `user=`, `password=`, `authzid=`, `token=` (a bearer token, for `user` if
/// one is given: without it only OAUTHBEARER can be used),
/// `auth_without_tls`, `pipelining`, `chunking` (use them when offered),
/// `chunk_size=N`, `body_buffer=N`, `reply_line=N`, `reply_lines=N`,
/// `reply_lf=strict|lenient`, and the timeouts `greeting_timeout`,
/// `mail_timeout`, `rcpt_timeout`, `data_timeout`, `block_timeout`,
/// `end_timeout`, `command_timeout` (`Ns` or `Nms`).
pub fn apply_client_config(
    config: &mut ClientConfig,
    key: &str,
    value: &str,
) -> Result<(), String> {
    let duration = |v: &str| parse_duration(v, 0);
    let t = &mut config.timeouts;
    match key {
        "hello" => {
            config.hello_name = Host::parse(value, &PathOptions::default())
                .map_err(|e| format!("hello={value}: {e}"))?
                .into_owned()
        }
        "lmtp" => {
            config.protocol = if flag(value)? {
                Protocol::Lmtp
            } else {
                Protocol::Smtp
            }
        }
        "tls" => {
            config.tls = match value {
                "required" => TlsPolicy::Required,
                "opportunistic" => TlsPolicy::Opportunistic,
                "disabled" => TlsPolicy::Disabled,
                _ => return Err(format!("tls={value}")),
            }
        }
        "user" | "password" | "authzid" | "token" => {
            let creds = config
                .credentials
                .take()
                .unwrap_or_else(|| Credentials::password("", ""));
            let v = value.to_string();
            config.credentials = Some(match (key, creds) {
                (
                    "user",
                    Credentials::Password {
                        authzid, password, ..
                    },
                ) => Credentials::Password {
                    authzid,
                    username: v,
                    password,
                },
                ("user", Credentials::Bearer { token, .. }) => Credentials::Bearer {
                    user: Some(v),
                    token,
                },
                (
                    "password",
                    Credentials::Password {
                        authzid, username, ..
                    },
                ) => Credentials::Password {
                    authzid,
                    username,
                    password: v,
                },
                (
                    "authzid",
                    Credentials::Password {
                        username, password, ..
                    },
                ) => Credentials::Password {
                    authzid: Some(v),
                    username,
                    password,
                },
                ("token", Credentials::Password { username, .. }) => Credentials::Bearer {
                    user: Some(username).filter(|u| !u.is_empty()),
                    token: v,
                },
                ("token", Credentials::Bearer { user, .. }) => {
                    Credentials::Bearer { user, token: v }
                }
                _ => return Err(format!("{key}= does not fit the credentials")),
            });
        }
        "auth_without_tls" => config.auth_without_tls = flag(value)?,
        "pipelining" => config.use_pipelining = flag(value)?,
        "chunking" => config.use_chunking = flag(value)?,
        "chunk_size" => config.bdat_chunk_size = number(value)?,
        "body_buffer" => config.max_body_buffer = number(value)?,
        "reply_line" => config.limits.reply_line = number(value)?,
        "reply_lines" => config.limits.reply_lines = number(value)?,
        "reply_lf" => {
            config.reply_line_ending = match value {
                "strict" => LineEnding::Strict,
                "lenient" => LineEnding::Lenient,
                _ => return Err(format!("reply_lf={value}")),
            }
        }
        "greeting_timeout" => t.greeting = duration(value)?,
        "mail_timeout" => t.mail = duration(value)?,
        "rcpt_timeout" => t.rcpt = duration(value)?,
        "data_timeout" => t.data_init = duration(value)?,
        "block_timeout" => t.data_block = duration(value)?,
        "end_timeout" => t.data_end = duration(value)?,
        "command_timeout" => t.command = duration(value)?,
        _ => return Err(format!("unknown @config key {key}")),
    }
    Ok(())
}

fn recipients(s: &mut String, rcpts: &[RecipientResult]) {
    for r in rcpts {
        s.push_str(&format!(" {}={}", r.path, r.rcpt_reply.code()));
        if let Some(f) = &r.final_reply {
            s.push_str(&format!("/{}", f.code()));
        }
    }
}

/// Describes a session error the way `E: Error ...` lines are written.
fn describe_error(error: &SessionError) -> String {
    match error {
        SessionError::Config(c) => format!("Config {c:?}"),
        SessionError::GreetingRefused(r) => format!("GreetingRefused {}", r.code()),
        SessionError::ServiceUnavailable(r) => format!("ServiceUnavailable {}", r.code()),
        SessionError::HelloRefused(r) => format!("HelloRefused {}", r.code()),
        SessionError::TlsUnavailable => "TlsUnavailable".to_string(),
        SessionError::TlsRefused(r) => format!("TlsRefused {}", r.code()),
        SessionError::Auth(a) => match a {
            AuthError::Temporary(r) => format!("Auth Temporary {}", r.code()),
            AuthError::Rejected(r) => format!("Auth Rejected {}", r.code()),
            AuthError::Cancelled(r) => format!("Auth Cancelled {}", r.code()),
            other => format!("Auth {other:?}"),
        },
        SessionError::ServerFault(p) => match p {
            ServerFault::MalformedReply(e) => format!("ServerFault MalformedReply {e:?}"),
            ServerFault::UnexpectedReply { command, reply } => format!(
                "ServerFault UnexpectedReply {} {}",
                command.map_or("-", |v| v.as_str()),
                reply.code()
            ),
            ServerFault::UnsolicitedReply(r) => {
                format!("ServerFault UnsolicitedReply {}", r.code())
            }
            ServerFault::PrematureReply(r) => format!("ServerFault PrematureReply {}", r.code()),
        },
        SessionError::Timeout(w) => match w {
            Waiting::Reply(verb) => format!("Timeout {verb}"),
            other => format!("Timeout {other:?}"),
        },
        SessionError::ConnectionClosed => "ConnectionClosed".to_string(),
    }
}

/// Describes a client event the way `E:` lines are written:
/// `Ready DOMAIN[: EXT, EXT]`, `Authenticated MECH`,
/// `Complete [data=CODE] <rcpt>=RCPT[/FINAL] ...`,
/// `Failed MailRefused CODE`, `Failed NoRecipientAccepted <rcpt>=CODE ...`,
/// `Failed DataRefused CODE <rcpt>=CODE ...`, `Reply VERB CODE`, `Error ...`.
pub fn describe_client_event(event: &ClientEvent) -> String {
    match event {
        ClientEvent::Ready(caps) => {
            let ext: Vec<String> = caps.extensions.iter().map(ToString::to_string).collect();
            if ext.is_empty() {
                format!("Ready {}", caps.domain)
            } else {
                format!("Ready {}: {}", caps.domain, ext.join(", "))
            }
        }
        ClientEvent::Authenticated(m) => format!("Authenticated {m}"),
        ClientEvent::BodyWanted => "BodyWanted".to_string(),
        ClientEvent::TransactionComplete(result) => {
            let mut s = String::from("Complete");
            if let Some(d) = &result.data_reply {
                s.push_str(&format!(" data={}", d.code()));
            }
            recipients(&mut s, &result.recipients);
            s
        }
        ClientEvent::TransactionFailed(failure) => match failure {
            TransactionFailure::MailRefused(r) => format!("Failed MailRefused {}", r.code()),
            TransactionFailure::NoRecipientAccepted(rcpts) => {
                let mut s = String::from("Failed NoRecipientAccepted");
                recipients(&mut s, rcpts);
                s
            }
            TransactionFailure::DataRefused {
                recipients: rcpts,
                reply,
            } => {
                let mut s = format!("Failed DataRefused {}", reply.code());
                recipients(&mut s, rcpts);
                s
            }
        },
        ClientEvent::Reply { verb, reply } => format!("Reply {verb} {}", reply.code()),
        ClientEvent::Error(e) => format!("Error {}", describe_error(e)),
    }
}

/// Splits an `A:` call into words, keeping quoted values (with `\"`) together.
fn words(call: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut chars = call.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if quoted => {
                current.push(c);
                if let Some(n) = chars.next() {
                    current.push(n);
                }
            }
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            ' ' if !quoted => {
                if !current.is_empty() {
                    out.push(core::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// A quoted value with escapes (`\"` for a quote).
fn quoted(value: &str) -> Result<Vec<u8>, String> {
    let inner = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .ok_or_else(|| format!("not a quoted value: {value}"))?;
    unescape(&inner.replace("\\\"", "\\x22"), 0)
}

/// An application call of an `A:` line ([`parse_app_call`]), for adapters
/// that replay client transcripts through their own API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppCall {
    /// `send_mail ...`: the envelope, and the body handed over at once
    /// (`None` with `stream`: `A: body` and `A: end_body` follow).
    SendMail {
        /// The envelope the arguments describe.
        envelope: Envelope,
        /// The whole body (empty by default), or `None` when it is streamed.
        body: Option<Vec<u8>>,
    },
    /// `body "..."`: a piece of a streamed body.
    Body(Vec<u8>),
    /// `end_body`: the streamed body is complete.
    EndBody,
    /// `quit`.
    Quit,
    /// `rset`.
    Rset,
    /// `noop`.
    Noop,
}

/// Parses the call of an `A:` line (the [`ClientStep::App`] `call`, without
/// its `-> outcome`): `send_mail from=<a@b> to=<c@d>,<e@f> [body="..."]
/// [stream] ...`, `body "..."`, `end_body`, `rset`, `noop`, `quit` (see the
/// [format](super#client-transcripts)).
pub fn parse_app_call(call: &str) -> Result<AppCall, String> {
    let words = words(call);
    let Some((verb, args)) = words.split_first() else {
        return Err("empty A: line".to_string());
    };
    match verb.as_str() {
        "quit" => return Ok(AppCall::Quit),
        "rset" => return Ok(AppCall::Rset),
        "noop" => return Ok(AppCall::Noop),
        "end_body" => return Ok(AppCall::EndBody),
        "body" => {
            let text = args.first().ok_or("body needs a quoted value")?;
            return Ok(AppCall::Body(quoted(text)?));
        }
        "send_mail" => {}
        other => return Err(format!("unknown call {other}")),
    }
    let mut from = None;
    let mut to = Vec::new();
    let mut body = Some(Vec::new());
    let mut extra: Vec<(&str, &str)> = Vec::new();
    for arg in args {
        let (k, v) = arg.split_once('=').unwrap_or((arg.as_str(), ""));
        match k {
            "from" => from = Some(v.to_string()),
            "to" => to.extend(v.split(',').map(str::to_string)),
            "body" => body = Some(quoted(v)?),
            "stream" => body = None,
            _ => extra.push((k, v)),
        }
    }
    let from = from.ok_or("send_mail needs from=")?;
    let mut envelope = Envelope::parse(&from, to.iter().map(String::as_str))
        .map_err(|e| format!("send_mail: {e}"))?;
    for (k, v) in extra {
        match k {
            "size" => envelope.size = Some(number(v)?),
            "body_type" => {
                envelope.body = Some(match v {
                    "7bit" => Body::SevenBit,
                    "8bitmime" => Body::EightBitMime,
                    "binarymime" => Body::BinaryMime,
                    _ => return Err(format!("body_type={v}")),
                })
            }
            "smtputf8" => envelope.smtputf8 = true,
            "requiretls" => envelope.requiretls = true,
            "ret" => {
                envelope.ret = Some(match v {
                    "full" => Ret::Full,
                    "hdrs" => Ret::Headers,
                    _ => return Err(format!("ret={v}")),
                })
            }
            "envid" => {
                envelope.envid = Some(String::from_utf8_lossy(&unescape(v, 0)?).into_owned())
            }
            "notify" => {
                let mut notify = Notify::NEVER;
                for flag in v.split(',') {
                    match flag {
                        "success" => notify.success = true,
                        "failure" => notify.failure = true,
                        "delay" => notify.delay = true,
                        "never" => {}
                        _ => return Err(format!("notify={v}")),
                    }
                }
                for r in &mut envelope.recipients {
                    r.notify = Some(notify);
                }
            }
            "orcpt" => {
                let (addr_type, address) = v.split_once(';').ok_or("orcpt=TYPE;ADDRESS")?;
                let address = String::from_utf8_lossy(&unescape(address, 0)?).into_owned();
                for r in &mut envelope.recipients {
                    r.orcpt = Some(OriginalRecipient {
                        addr_type: addr_type.to_string().into(),
                        address: address.clone().into(),
                    });
                }
            }
            other => return Err(format!("unknown send_mail argument {other}")),
        }
    }
    Ok(AppCall::SendMail { envelope, body })
}

struct Run {
    driver: Driver<ClientSession>,
    /// Every event but `BodyWanted`, described, in order, with the step
    /// during which it came.
    events: Vec<(usize, String)>,
    /// For each step (1-based), the input step before it (0: the start).
    windows: Vec<usize>,
    /// How many of `events` were matched.
    event_cursor: usize,
    /// Body the application handed over that the session has not taken yet.
    body: VecDeque<u8>,
    /// `end_body` is due once `body` is taken.
    end_pending: bool,
}

impl Runner for Run {
    type Session = ClientSession;
    type Step = ClientStep;
    const TAG: &'static str = "C";
    const WHO: &'static str = "client";

    fn driver(&self) -> &Driver<ClientSession> {
        &self.driver
    }

    fn driver_mut(&mut self) -> &mut Driver<ClientSession> {
        &mut self.driver
    }

    /// Also lists the events not matched yet.
    fn fail(&self, message: String) -> TranscriptError {
        let mut message = message;
        if self.event_cursor < self.events.len() {
            message.push_str("\nunmatched events:");
            for (_, e) in &self.events[self.event_cursor..] {
                message.push_str("\n  E: ");
                message.push_str(&escape(e.as_bytes()));
            }
        }
        self.driver.error(message)
    }

    fn event(&mut self, event: ClientEvent) -> Result<(), TranscriptError> {
        match event {
            ClientEvent::BodyWanted => self.feed_body(),
            event => {
                let step = self.driver.step;
                self.events.push((step, describe_client_event(&event)));
                Ok(())
            }
        }
    }

    fn step(&mut self, step: &ClientStep) -> Result<(), TranscriptError> {
        match step {
            ClientStep::Server(bytes) => self.peer_sends(bytes),
            ClientStep::ServerAtOnce(bytes) => self.peer_sends_at_once(bytes),
            ClientStep::Client { text, prefix } => self.expect_line(text, *prefix),
            ClientStep::App { call, error } => self.app(call, error),
            ClientStep::Event { pattern, prefix } => {
                self.drain()?;
                let Some((at, event)) = self.events.get(self.event_cursor) else {
                    return Err(self.fail(format!(
                        "expected E: {}, but no event came",
                        written(pattern, *prefix)
                    )));
                };
                if !matches(event.as_bytes(), pattern, *prefix) {
                    return Err(self.fail(format!(
                        "event mismatch:\n  expected E: {}\n  got      E: {}",
                        written(pattern, *prefix),
                        escape(event.as_bytes())
                    )));
                }
                let window = self.windows[self.driver.step];
                if *at != window {
                    return Err(self.fail(format!(
                        "event {event} happened at step {at}, but this E: line belongs to \
                         the input of step {window}"
                    )));
                }
                self.event_cursor += 1;
                Ok(())
            }
            ClientStep::ExpectClose => self.expect_close(),
            ClientStep::ExpectSilence => self.expect_silence(),
            ClientStep::StartTls => self.start_tls(),
            ClientStep::StartTlsPending => self.tls_pending(),
            ClientStep::Unterminated(bytes) => self.expect_unterminated(bytes),
            ClientStep::Eof => self.eof(),
            ClientStep::Advance(d) => self.advance(*d),
        }
    }
}

impl Run {
    /// Hands the application's pending body to the session, as much as it takes.
    fn feed_body(&mut self) -> Result<(), TranscriptError> {
        while !self.body.is_empty() {
            let piece: Vec<u8> = self.body.iter().copied().collect();
            let d = &mut self.driver;
            let n = d
                .session
                .body(d.now, &piece)
                .map_err(|e| self.fail(format!("body: {e:?}")))?;
            self.body.drain(..n);
            if n == 0 {
                return Ok(());
            }
        }
        if self.end_pending {
            self.end_pending = false;
            let d = &mut self.driver;
            let result = d.session.end_body(d.now);
            result.map_err(|e| self.fail(format!("end_body: {e:?}")))?;
        }
        Ok(())
    }

    fn app(&mut self, call: &str, error: &Option<(String, bool)>) -> Result<(), TranscriptError> {
        let parsed = parse_app_call(call).map_err(|e| self.fail(e))?;
        let now = self.driver.now;
        let session = &mut self.driver.session;
        let result: Result<(), ClientError> = match parsed {
            AppCall::SendMail { envelope, body } => {
                let r = session.send_mail(now, envelope);
                if r.is_ok()
                    && let Some(body) = body
                {
                    self.body.extend(body);
                    self.end_pending = true;
                }
                r
            }
            AppCall::Body(bytes) if self.body.is_empty() => session.body(now, &bytes).map(|n| {
                self.body.extend(&bytes[n..]);
            }),
            AppCall::Body(bytes) => {
                self.body.extend(bytes);
                Ok(())
            }
            AppCall::EndBody if self.body.is_empty() => session.end_body(now),
            AppCall::EndBody => {
                self.end_pending = true;
                Ok(())
            }
            AppCall::Quit => session.quit(now).map_err(Into::into),
            AppCall::Rset => session.rset(now).map_err(Into::into),
            AppCall::Noop => session.noop(now).map_err(Into::into),
        };
        match (result, error) {
            (Ok(()), None) => {}
            (Ok(()), Some((pattern, _))) => {
                return Err(self.fail(format!("{call}: expected error {pattern}, got Ok")));
            }
            (Err(e), None) => return Err(self.fail(format!("{call}: {e:?}"))),
            (Err(e), Some((pattern, prefix))) => {
                let got = format!("{e:?}");
                if !matches(got.as_bytes(), pattern.as_bytes(), *prefix) {
                    return Err(self.fail(format!(
                        "{call}:\n  expected error {pattern}\n  got            {got}"
                    )));
                }
            }
        }
        self.feed_body()?;
        self.drain()
    }
}

/// Plays `script` against a fresh client session, splitting the scripted
/// server's bytes with `chunking`.
pub fn run_client_transcript(
    script: &ClientScript,
    chunking: Chunking,
) -> Result<(), TranscriptError> {
    let setup_error = |message: String| TranscriptError::setup(script, chunking, message);
    let mut config = ClientConfig::new("client.test").map_err(|e| setup_error(e.to_string()))?;
    for (k, v) in &script.config {
        apply_client_config(&mut config, k, v).map_err(setup_error)?;
    }
    let config = Arc::new(config);
    let session = if script.implicit_tls {
        ClientSession::new_tls(config, Instant::ZERO)
    } else {
        ClientSession::new(config, Instant::ZERO)
    };
    let mut windows = vec![0];
    let mut current = 0;
    for (i, step) in script.steps.iter().enumerate() {
        windows.push(current);
        if step.is_input() {
            current = i + 1;
        }
    }
    let mut run = Run {
        driver: Driver::new(script, chunking, session),
        events: Vec::new(),
        windows,
        event_cursor: 0,
        body: VecDeque::new(),
        end_pending: false,
    };
    run.play(&script.steps)?;
    if run.event_cursor < run.events.len() {
        return Err(run.fail("events left unmatched".to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! Each check of the client runner, proven by a transcript that the
    //! runner before it let through.

    use super::*;

    fn run_all(text: &str) -> Result<(), String> {
        super::super::common::check_transcript(text, parse_client_script, run_client_transcript)
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

    const CANCEL: &str = "@implicit-tls
@config user=tim password=secret
S: 220 mx.test ESMTP\\r\\n
C: EHLO client.test
S: 250-mx.test\\r\\n250 AUTH LOGIN\\r\\n
C: AUTH LOGIN
S: 334 not base64!\\r\\n
C: CANCEL
S: 501 5.0.0 Authentication cancelled\\r\\n
E: Error Auth Cancelled 501
C: QUIT
S: 221 Bye\\r\\n
C~ close
";

    #[test]
    fn the_sasl_cancel_line_is_matched_exactly() {
        passes(&CANCEL.replace("C: CANCEL", "C: \\*"));
        // `C: *` matches any line: it cannot tell the cancel from an answer.
        passes(&CANCEL.replace("C: CANCEL", "C: *"));
        fails(&CANCEL.replace("C: CANCEL", "C: \\*x"), "line mismatch");
        fails(&CANCEL.replace("C: CANCEL", "C: \\*\\*"), "line mismatch");
    }

    const BODY: &str = "S: 220 old.test SMTP\\r\\n
C: EHLO client.test
S: 250 old.test\\r\\n
E: Ready old.test
A: send_mail from=<a@client.test> to=<b@old.test> body=\"\\xff\\xfe\\r\\n\"
C: MAIL FROM:<a@client.test>
S: 250 Ok\\r\\n
C: RCPT TO:<b@old.test>
S: 250 Ok\\r\\n
C: DATA
S: 354 Go\\r\\n
C: BODY
C: .
S: 250 Ok\\r\\n
E: Complete data=250 <b@old.test>=250/250
";

    #[test]
    fn output_is_compared_byte_for_byte() {
        passes(&BODY.replace("C: BODY", "C: \\xff\\xfe"));
        fails(&BODY.replace("C: BODY", "C: \\xfe\\xff"), "line mismatch");
        // Lossy decoding made both bytes U+FFFD.
        fails(
            &BODY.replace("C: BODY", "C: \u{fffd}\u{fffd}"),
            "line mismatch",
        );
    }

    const BDAT: &str = "@implicit-tls
S: 220 mx.test ESMTP\\r\\n
C: EHLO client.test
S: 250-mx.test\\r\\n250-PIPELINING\\r\\n250-CHUNKING\\r\\n250 BINARYMIME\\r\\n
E: Ready*
A: send_mail from=<a@client.test> to=<b@mx.test> body_type=binarymime body=\"a\\nb\\r\"
C: MAIL FROM:<a@client.test> BODY=BINARYMIME
C: RCPT TO:<b@mx.test>
S: 250 Ok\\r\\n250 Ok\\r\\n
C: BDAT 4 LAST
";

    #[test]
    fn output_without_crlf_at_the_end_fails() {
        fails(BDAT, "unexpected client output without CRLF: a\\nb\\r");
        passes(&format!("{BDAT}C+ a\\nb\\r\n"));
        fails(
            &format!("{BDAT}C+ a\\nb\n"),
            "unexpected client output without CRLF: \\r",
        );
        fails(&format!("{BDAT}C+ a\\nx\n"), "expected C+ a\\nx");
    }

    #[test]
    fn an_unexpected_close_fails() {
        let text =
            "S: 554 go away\\r\\n\nE: Error GreetingRefused 554\nC: QUIT\nS: 221 Bye\\r\\n\n";
        fails(text, "closed, but the transcript does not say so");
        passes(&format!("{text}C~ close\n"));
    }

    #[test]
    fn an_event_belongs_to_the_input_before_its_line() {
        let late = "S: 220 mx.test ESMTP\\r\\n
C: EHLO client.test
S: 250-mx.test\\r\\n250 PIPELINING\\r\\n
E: Ready*
S: 421 4.3.2 Bye\\r\\n
S~ eof
E: Error ServiceUnavailable 421
C~ close
";
        fails(late, "belongs to the input of step");
        passes(&late.replace(
            "S~ eof\nE: Error ServiceUnavailable 421\n",
            "E: Error ServiceUnavailable 421\nS~ eof\n",
        ));
    }
}
