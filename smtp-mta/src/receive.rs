//! Receiving: the [`Handler`] behind each listener. Port 25 takes mail for
//! the local domains, or from users who authenticated; submission (587, 465)
//! takes mail only after AUTH (the core enforces that: `require_auth`). A
//! message is in the queue, on disk, before the `250` goes out.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::SystemTime;

use smtp_proto::reply::{EnhancedCode, Reply, ReplyCode};
use smtp_proto::server::{Decision, HelloKind, ServerEvent};
use smtp_proto::wire::command::HeloName;
use smtp_proto::wire::params::RcptParameters;
use smtp_proto::wire::path::{ForwardPath, Host, ReversePath};
use smtp_proto::wire::sasl::{Credentials, Mechanism};
use smtp_tokio::maildir::{Trace, rfc5322_date};
use smtp_tokio::server::{ConnectionInfo, Handler, Message};
use tracing::{info, warn};

use crate::Shared;

/// Which listener a connection came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Inbound relay, port 25.
    Relay,
    /// Submission, port 587 or 465.
    Submission,
}

/// One connection's handler.
#[derive(Clone)]
pub struct Receiver {
    shared: Arc<Shared>,
    role: Role,
    trace: Trace,
    /// Who authenticated, if anybody.
    user: Option<String>,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("role", &self.role)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

fn reply(code: u16, enhanced: (u8, u16, u16), text: &str) -> Decision {
    Decision::Reject(Reply::new(
        ReplyCode::new(code).expect("a reply code"),
        EnhancedCode::new(enhanced.0, enhanced.1, enhanced.2),
        text,
    ))
}

/// The bare address of a path (`""` for the null sender).
pub fn bare(path: &impl std::fmt::Display) -> String {
    path.to_string().trim_matches(['<', '>']).to_string()
}

impl Receiver {
    /// The handler of a listener with `role`.
    pub fn new(shared: Arc<Shared>, role: Role) -> Receiver {
        Receiver {
            shared,
            role,
            trace: Trace::default(),
            user: None,
        }
    }

    /// The `Received:` header of a message from this connection (RFC 5321
    /// §4.4, with the RFC 3848 `with`).
    fn received(&self, id_hint: &str) -> String {
        let helo = self.trace.helo.as_ref().map_or("unknown", |h| h.1.as_str());
        let peer = self
            .trace
            .peer
            .map_or_else(|| "unknown".to_string(), |ip: IpAddr| ip.to_string());
        format!(
            "Received: from {helo} ([{peer}])\r\n\tby {} with {} id {id_hint};\r\n\t{}\r\n",
            self.shared.config.hostname,
            self.trace.protocol(),
            rfc5322_date(SystemTime::now())
        )
    }
}

impl Handler for Receiver {
    const BUFFER_CONTENT: bool = true;

    async fn connect(&mut self, info: &ConnectionInfo) -> Decision {
        self.trace.peer = Some(info.peer.ip());
        self.trace.tls = info.implicit_tls;
        Decision::Accept
    }

    async fn hello(&mut self, kind: HelloKind, name: &HeloName<'static>) -> Decision {
        self.trace.helo = Some((kind, name.to_string()));
        Decision::Accept
    }

    async fn auth(&mut self, _: &Mechanism<'static>, credentials: &Credentials) -> Decision {
        let Credentials::Password {
            username, password, ..
        } = credentials
        else {
            return reply(504, (5, 5, 4), "Mechanism not supported");
        };
        let known = self.shared.config.users.iter().any(|u| {
            u.name.eq_ignore_ascii_case(username) && u.password.as_bytes() == password.as_bytes()
        });
        if known {
            self.user = Some(username.clone());
            self.trace.authenticated = true;
            Decision::Accept
        } else {
            warn!(user = %username, "authentication failed");
            reply(535, (5, 7, 8), "Authentication credentials invalid")
        }
    }

    /// Local domains for anybody; other domains only for authenticated
    /// users: never an open relay (RFC 5321 §3.6.2, RFC 2505). Postfix's
    /// answer: `554 5.7.1 Relay access denied`.
    async fn rcpt_to(
        &mut self,
        to: &ForwardPath<'static>,
        _: &RcptParameters<'static>,
    ) -> Decision {
        let local = match to {
            ForwardPath::Postmaster => true,
            ForwardPath::Mailbox(m) => match &m.host {
                Host::Domain(d) => self.shared.config.is_local(d.as_str()),
                Host::Literal(_) => false,
            },
        };
        if local || self.user.is_some() {
            Decision::Accept
        } else {
            reply(554, (5, 7, 1), "Relay access denied")
        }
    }

    async fn message(&mut self, message: &Message) -> Decision {
        let sender = bare(&message.envelope.sender);
        let recipients: Vec<String> = message
            .envelope
            .recipients
            .iter()
            .map(|r| match r {
                // RFC 5321 §4.5.1: postmaster of this host's first domain.
                ForwardPath::Postmaster => format!(
                    "postmaster@{}",
                    self.shared
                        .config
                        .local_domains
                        .first()
                        .unwrap_or(&self.shared.config.hostname)
                ),
                other => bare(other),
            })
            .collect();
        let received = self.received("queued");
        // Submitted mail is signed (RFC 6376) for its sender's domain;
        // inbound mail is checked (SPF, DKIM, DMARC) and the results added.
        let mut added = String::new();
        if self.user.is_some() {
            let domain = sender.rsplit_once('@').map_or("", |(_, d)| d);
            if let Some(signature) = self.shared.signers.sign(domain, &message.content) {
                added = signature;
            }
        } else if let Some(auth) = &self.shared.authenticator {
            let helo = self.trace.helo.as_ref().map_or("", |h| h.1.as_str());
            let ip = self.trace.peer.unwrap_or(IpAddr::from([0, 0, 0, 0]));
            let verdict = crate::auth::verify(
                auth,
                &self.shared.config.hostname,
                ip,
                helo,
                &sender,
                &message.content,
            )
            .await;
            if verdict.dmarc_reject && self.shared.config.verify.reject_dmarc {
                info!(from = %sender, %ip, "refused: DMARC policy reject");
                return reply(550, (5, 7, 1), "Email rejected per DMARC policy");
            }
            added = verdict.header;
        }
        let parts: [&[u8]; 3] = [received.as_bytes(), added.as_bytes(), &message.content];
        let result = self
            .shared
            .queue
            .enqueue(&sender, &recipients, &parts)
            .await;
        match result {
            Ok(record) => {
                info!(
                    id = %record.id,
                    from = %record.sender,
                    recipients = record.recipients.len(),
                    size = record.size,
                    user = self.user.as_deref().unwrap_or(""),
                    "queued"
                );
                self.shared.counters.received();
                self.shared.wake.notify_one();
                Decision::Accept
            }
            Err(e) => {
                warn!(error = %e, "cannot queue a message");
                reply(451, (4, 3, 0), "Error: queue file write error")
            }
        }
    }

    async fn notice(&mut self, event: &ServerEvent) {
        self.trace.notice(event);
        if matches!(event, ServerEvent::TlsEstablished) {
            self.user = None;
        }
    }
}

/// A mailbox's sender as a path, for a bounce's or a delivery's envelope.
pub fn reverse_path(sender: &str) -> Option<ReversePath<'static>> {
    if sender.is_empty() {
        return Some(ReversePath::Null);
    }
    ReversePath::parse_address(sender, &smtp_proto::wire::path::PathOptions::smtputf8())
        .ok()
        .map(ReversePath::into_owned)
}
