//! Connection setup: greeting, EHLO/HELO/LHLO, STARTTLS and AUTH.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::{AuthError, ClientEvent, ClientSession, ConfigError, Expect, SessionError, TlsPolicy};
use crate::Protocol;
use crate::client::config::ClientConfig;
use crate::ext::Capabilities;
use crate::limits::COMMAND_LINE_MIN;
use crate::reply::Reply;
use crate::wire::command::{Command, HeloName, Verb};
use crate::wire::sasl::Credentials;
use crate::wire::sasl::{
    self, LoginPrompt, MAX_ENCODED_LEN, Mechanism, OAuthBearer, PlainCredentials, SaslError,
    XOAuth2,
};

/// An AUTH exchange in progress (RFC 4954 §4).
#[derive(Debug)]
pub(super) struct AuthExchange {
    mechanism: Mechanism<'static>,
    step: AuthStep,
}

#[derive(Debug)]
enum AuthStep {
    /// `AUTH mech` went without its initial response (it would have made the
    /// line longer than 512 octets): the next `334` asks for it.
    AwaitChallenge(Vec<u8>),
    /// The response went: `235` or a failure is next (or, for the bearer
    /// mechanisms, an error challenge).
    AwaitOutcome,
    /// LOGIN: which prompts were answered.
    Login { user: bool, password: bool },
    /// A bearer error challenge was acknowledged: the failure reply is next.
    AwaitFailure,
    /// `*` went: the server's reply to the cancellation is next.
    Cancelled,
}

/// The encoded message of a mechanism with an initial response.
fn initial_message(creds: &Credentials, mechanism: &Mechanism<'_>) -> Result<Vec<u8>, SaslError> {
    let mut out = Vec::new();
    match (creds, mechanism) {
        (
            Credentials::Password {
                authzid,
                username,
                password,
            },
            Mechanism::Plain,
        ) => sasl::encode_plain(
            &PlainCredentials {
                authzid: authzid.clone().unwrap_or_default(),
                authcid: username.clone(),
                password: password.clone(),
            },
            &mut out,
        )?,
        (
            Credentials::Bearer {
                user: Some(user),
                token,
            },
            Mechanism::XOAuth2,
        ) => sasl::encode_xoauth2(
            &XOAuth2 {
                user: user.clone(),
                token: token.clone(),
            },
            &mut out,
        )?,
        (Credentials::Bearer { user, token }, Mechanism::OAuthBearer) => sasl::encode_oauthbearer(
            &OAuthBearer {
                authzid: user.clone(),
                token: token.clone(),
                ..OAuthBearer::default()
            },
            &mut out,
        )?,
        _ => {
            return Err(SaslError::Malformed(
                "mechanism does not fit the credentials",
            ));
        }
    }
    Ok(out)
}

/// The mechanisms the credentials allow, best first.
fn candidates(creds: &Credentials) -> Vec<Mechanism<'static>> {
    match creds {
        Credentials::Password { authzid: None, .. } => [Mechanism::Plain, Mechanism::Login].into(),
        // LOGIN cannot carry an authorization identity.
        Credentials::Password { .. } => [Mechanism::Plain].into(),
        Credentials::Bearer { user: Some(_), .. } => {
            [Mechanism::OAuthBearer, Mechanism::XOAuth2].into()
        }
        // XOAUTH2 cannot go without a user.
        Credentials::Bearer { user: None, .. } => [Mechanism::OAuthBearer].into(),
    }
}

/// Checks what the session will send on the configuration's behalf before it
/// sends anything.
pub(super) fn check_config(config: &ClientConfig) -> Result<(), ConfigError> {
    let hello = Command::Ehlo(HeloName::Host(config.hello_name.clone())).to_string();
    if !hello.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
        return Err(ConfigError::HelloName);
    }
    match &config.credentials {
        None => {}
        Some(creds @ Credentials::Password { .. }) => {
            initial_message(creds, &Mechanism::Plain).map_err(ConfigError::Credentials)?;
        }
        Some(creds @ Credentials::Bearer { user, .. }) => {
            if user.is_some() {
                initial_message(creds, &Mechanism::XOAuth2).map_err(ConfigError::Credentials)?;
            }
            initial_message(creds, &Mechanism::OAuthBearer).map_err(ConfigError::Credentials)?;
        }
    }
    Ok(())
}

fn line(text: &str) -> Vec<u8> {
    let mut bytes = text.as_bytes().to_vec();
    bytes.extend_from_slice(b"\r\n");
    bytes
}

impl ClientSession {
    /// The greeting (RFC 5321 §3.1, §4.3.2): 220 to go on; a refusal (554) is
    /// answered with QUIT. 421 was handled by the caller.
    pub(super) fn on_greeting(&mut self, reply: Reply) {
        if reply.code().get() == 220 {
            if !self.quit_queued {
                self.send_hello();
            }
        } else {
            self.fail_and_quit(SessionError::GreetingRefused(reply));
        }
    }

    /// EHLO (RFC 5321 §4.1.1.1), or LHLO in LMTP (RFC 2033 §4.1).
    pub(super) fn send_hello(&mut self) {
        let name = HeloName::Host(self.config.hello_name.clone());
        let (cmd, verb) = match self.config.protocol {
            Protocol::Smtp => (Command::Ehlo(name), Verb::Ehlo),
            Protocol::Lmtp => (Command::Lhlo(name), Verb::Lhlo),
        };
        self.enqueue(cmd.to_bytes(), Expect::Hello(verb));
    }

    /// The reply to EHLO, HELO or LHLO.
    pub(super) fn on_hello(&mut self, verb: Verb, reply: Reply) {
        let code = reply.code().get();
        if code == 250 {
            let caps = match verb {
                // RFC 5321 §4.1.1.1: HELO's reply offers no extensions.
                Verb::Helo => {
                    let domain = reply
                        .lines()
                        .next()
                        .map_or("", |l| l.split(' ').next().unwrap_or_default());
                    Capabilities::new(domain.to_string())
                }
                _ => Capabilities::from_ehlo_reply(&reply).unwrap_or_default(),
            };
            self.caps = Some(caps);
            self.after_hello();
        } else if verb == Verb::Ehlo && (code == 500 || code == 502) {
            // RFC 5321 §3.2: a server that does not know EHLO gets HELO.
            if !self.quit_queued {
                let name = HeloName::Host(self.config.hello_name.clone());
                self.enqueue(Command::Helo(name).to_bytes(), Expect::Hello(Verb::Helo));
            }
        } else {
            self.fail_and_quit(SessionError::HelloRefused(reply));
        }
    }

    /// After a successful hello: STARTTLS per policy, then AUTH, then ready.
    fn after_hello(&mut self) {
        if self.quit_queued {
            return;
        }
        let offered = self.caps.as_ref().is_some_and(Capabilities::starttls);
        if !self.tls {
            match self.config.tls {
                TlsPolicy::Required | TlsPolicy::Opportunistic if offered => {
                    self.enqueue(Command::StartTls.to_bytes(), Expect::StartTls);
                    return;
                }
                TlsPolicy::Required => {
                    self.fail_and_quit(SessionError::TlsUnavailable);
                    return;
                }
                TlsPolicy::Opportunistic | TlsPolicy::Disabled => {}
            }
        }
        self.after_tls();
    }

    /// The reply to STARTTLS (RFC 3207 §4). On 220, everything the server sent
    /// after it is discarded (a man in the middle could have injected it) and
    /// the adapter is asked for the handshake.
    pub(super) fn on_starttls(&mut self, reply: Reply) {
        if reply.code().get() == 220 {
            self.input.clear();
            self.handshake = Some(self.now + self.config.timeouts.command);
            self.starttls_output = true;
        } else if self.config.tls == TlsPolicy::Required {
            self.fail_and_quit(SessionError::TlsRefused(reply));
        } else if !self.quit_queued {
            // RFC 3207 §4.1: the client may carry on without TLS.
            self.after_tls();
        }
    }

    fn after_tls(&mut self) {
        if self.config.credentials.is_some() && !self.authenticated {
            self.start_auth();
        } else {
            self.become_ready();
        }
    }

    fn become_ready(&mut self) {
        let caps = self.caps.clone().unwrap_or_default();
        self.pipelining = self.config.use_pipelining && caps.pipelining();
        self.ready = true;
        self.events.push_back(ClientEvent::Ready(caps));
    }

    /// AUTH (RFC 4954 §4) with the best mechanism offered that the credentials
    /// allow. An initial response that would make the line longer than 512
    /// octets (RFC 4954 §4, RFC 5321 §4.5.3.1.4) waits for an empty challenge.
    fn start_auth(&mut self) {
        let Some(creds) = self.config.credentials.clone() else {
            return;
        };
        if !self.tls && !self.config.auth_without_tls {
            self.fail_and_quit(SessionError::Auth(AuthError::RequiresTls));
            return;
        }
        let caps = self.caps.clone().unwrap_or_default();
        let Some(mechanism) = candidates(&creds)
            .into_iter()
            .find(|m| caps.supports_auth(m))
        else {
            self.fail_and_quit(SessionError::Auth(AuthError::NoMechanism));
            return;
        };
        let step = if mechanism == Mechanism::Login {
            self.enqueue(line("AUTH LOGIN"), Expect::Auth);
            AuthStep::Login {
                user: false,
                password: false,
            }
        } else {
            let message = match initial_message(&creds, &mechanism) {
                Ok(m) => m,
                Err(e) => {
                    // Checked at construction; kept for safety.
                    self.fatal(SessionError::Config(ConfigError::Credentials(e)));
                    return;
                }
            };
            let with_ir = format!(
                "AUTH {mechanism} {}",
                sasl::encode_initial_response(&message)
            );
            if with_ir.len() + 2 <= COMMAND_LINE_MIN {
                self.enqueue(line(&with_ir), Expect::Auth);
                AuthStep::AwaitOutcome
            } else {
                self.enqueue(line(&format!("AUTH {mechanism}")), Expect::Auth);
                AuthStep::AwaitChallenge(message)
            }
        };
        self.auth = Some(AuthExchange { mechanism, step });
    }

    fn sasl_line(&mut self, data: &[u8]) {
        let mut bytes = Vec::new();
        sasl::encode_response(data, &mut bytes);
        self.enqueue(bytes, Expect::Auth);
    }

    /// The reply to AUTH or to a response line.
    pub(super) fn on_auth(&mut self, reply: Reply) {
        let Some(mut auth) = self.auth.take() else {
            return;
        };
        let code = reply.code().get();
        if code == 235 {
            self.authenticated = true;
            self.events
                .push_back(ClientEvent::Authenticated(auth.mechanism));
            if !self.quit_queued {
                self.become_ready();
            }
            return;
        }
        if code != 334 {
            let error = match auth.step {
                AuthStep::Cancelled => AuthError::Cancelled(reply),
                _ if code < 500 => AuthError::Temporary(reply),
                _ => AuthError::Rejected(reply),
            };
            self.fail_and_quit(SessionError::Auth(error));
            return;
        }
        let text: String = reply.lines().collect();
        let step = core::mem::replace(&mut auth.step, AuthStep::Cancelled);
        auth.step = match step {
            AuthStep::AwaitChallenge(message) => {
                self.sasl_line(&message);
                AuthStep::AwaitOutcome
            }
            // RFC 7628 §3.2.3: the error challenge is acknowledged with a lone
            // kvsep; XOAUTH2 servers take an empty line.
            AuthStep::AwaitOutcome if auth.mechanism == Mechanism::OAuthBearer => {
                self.sasl_line(sasl::OAUTHBEARER_FAILURE_ACK);
                AuthStep::AwaitFailure
            }
            AuthStep::AwaitOutcome if auth.mechanism == Mechanism::XOAuth2 => {
                self.sasl_line(b"");
                AuthStep::AwaitFailure
            }
            AuthStep::Login { user, password } => {
                let prompt = sasl::decode_challenge(&text, MAX_ENCODED_LEN)
                    .ok()
                    .map(|c| {
                        LoginPrompt::classify(&c).unwrap_or(if user {
                            LoginPrompt::Password
                        } else {
                            LoginPrompt::Username
                        })
                    });
                match (prompt, &self.config.credentials) {
                    (Some(LoginPrompt::Username), Some(Credentials::Password { username, .. }))
                        if !user =>
                    {
                        let username = username.clone();
                        self.sasl_line(username.as_bytes());
                        AuthStep::Login {
                            user: true,
                            password,
                        }
                    }
                    (
                        Some(LoginPrompt::Password),
                        Some(Credentials::Password { password: pw, .. }),
                    ) if !password => {
                        let pw = pw.clone();
                        self.sasl_line(pw.as_bytes());
                        AuthStep::Login {
                            user,
                            password: true,
                        }
                    }
                    _ => self.cancel_auth(),
                }
            }
            AuthStep::AwaitOutcome => self.cancel_auth(),
            AuthStep::AwaitFailure | AuthStep::Cancelled => {
                self.fatal(SessionError::ServerFault(
                    super::ServerFault::UnexpectedReply {
                        command: Some(Verb::Auth),
                        reply,
                    },
                ));
                return;
            }
        };
        self.auth = Some(auth);
    }

    /// RFC 4954 §4: `*` ends the exchange; the server answers 501.
    fn cancel_auth(&mut self) -> AuthStep {
        self.enqueue(sasl::CANCEL_LINE.to_vec(), Expect::Auth);
        AuthStep::Cancelled
    }
}

/// Reads an EHLO reply that [`parse_reply`](crate::reply::parse_reply)
/// refused, with the text of its lines defused: every control character
/// (but HT) and every octet of a line that is not UTF-8 becomes `?`, so that
/// one odd capability line does not make the server unusable. The framing is
/// not relaxed: line ends, codes, separators, line length and count are
/// checked as strictly as ever (the copy has the same length, so `consumed`
/// is true of the original). `None` when even that copy is no valid reply;
/// `Partial` when it has not ended yet.
pub(super) fn parse_ehlo_leniently(
    input: &[u8],
    opts: &crate::reply::ReplyParseOptions,
) -> Option<crate::reply::ReplyParse> {
    use crate::reply::parse_reply;
    // Only as much as one reply can take, so the copy stays bounded.
    let max = opts
        .max_line_len
        .max(crate::limits::REPLY_LINE_MIN)
        .saturating_mul(opts.max_lines.max(1));
    let input = &input[..input.len().min(max)];
    let mut copy = Vec::with_capacity(input.len());
    for line in input.split_inclusive(|&b| b == b'\n') {
        let body_len = line.strip_suffix(b"\r\n").map_or(line.len(), <[u8]>::len);
        let (body, end) = line.split_at(body_len);
        let utf8 = core::str::from_utf8(body).is_ok();
        copy.extend(body.iter().map(|&b| match b {
            b'\t' => b,
            b if b.is_ascii_control() || (!utf8 && !b.is_ascii()) => b'?',
            b => b,
        }));
        copy.extend_from_slice(end);
    }
    // A partial reply waits for more, as any other; a complete one stands
    // for the original (same length).
    parse_reply(&copy, opts).ok()
}
