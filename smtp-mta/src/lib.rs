//! A reference MTA built only on the public API of `smtp-proto` and
//! `smtp-tokio`: the whole path of an e-mail from a mail client to the
//! recipient's server, the way an application of the library builds one.
//!
//! * **Receive** ([`receive`]): port 25 for inbound relay (mail for the local
//!   domains, or from authenticated users: never an open relay), 587
//!   submission (STARTTLS and AUTH before MAIL), 465 implicit TLS.
//! * **Queue** ([`queue`]): a spool directory, or PostgreSQL shared by a
//!   fleet ([`pg`]); a message is durable before its `250`, and never lost
//!   after it.
//! * **Deliver** ([`deliver`]): local domains into a Maildir per user; other
//!   domains to their MX hosts ([`dns`]: RFC 5321 §5.1 order, implicit MX,
//!   null MX) with opportunistic STARTTLS, or to a smart host; retries with
//!   exponential backoff; bounces ([`bounce`], RFC 3464).
//! * **Authenticate** ([`auth`]): DKIM signing of submitted mail, SPF, DKIM
//!   and DMARC checks of inbound mail into `Authentication-Results`.
//!
//! `smtp-mta run --config FILE` runs it; `smtp-mta queue ...` looks at and
//! acts on the queue. `examples/mta.toml` documents the configuration.

#![forbid(unsafe_code)]

pub mod auth;
pub mod bounce;
pub mod config;
pub mod deliver;
pub mod dns;
pub mod pg;
pub mod queue;
pub mod receive;

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use smtp_proto::server::ServerConfig;
use smtp_proto::wire::sasl::Mechanism;
use smtp_tokio::server::Server;
use smtp_tokio::tls::TlsIdentity;
use tokio::sync::Notify;
use tracing::info;

pub use config::Config;

use crate::deliver::Connections;
use crate::dns::Dns;
use crate::queue::Queue;
use crate::receive::{Receiver, Role};

/// Messages received, delivered, deferred and bounced, logged as a summary.
#[derive(Debug, Default)]
pub struct Counters {
    received: AtomicU64,
    delivered: AtomicU64,
    deferred: AtomicU64,
    bounced: AtomicU64,
}

impl Counters {
    fn received(&self) {
        self.received.fetch_add(1, Ordering::Relaxed);
    }
    fn delivered(&self) {
        self.delivered.fetch_add(1, Ordering::Relaxed);
    }
    fn deferred(&self) {
        self.deferred.fetch_add(1, Ordering::Relaxed);
    }
    fn bounced(&self, n: usize) {
        self.bounced.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// `(received, delivered, deferred, bounced)` so far.
    pub fn snapshot(&self) -> (u64, u64, u64, u64) {
        (
            self.received.load(Ordering::Relaxed),
            self.delivered.load(Ordering::Relaxed),
            self.deferred.load(Ordering::Relaxed),
            self.bounced.load(Ordering::Relaxed),
        )
    }

    fn log(&self) {
        let (received, delivered, deferred, bounced) = self.snapshot();
        info!(received, delivered, deferred, bounced, "counters");
    }
}

/// What the listeners and the queue runner share.
pub struct Shared {
    /// The configuration.
    pub config: Config,
    /// The queue.
    pub queue: Queue,
    /// The resolver (none with a smart host).
    pub dns: Option<Dns>,
    /// Wakes the queue runner (a message was queued).
    pub wake: Notify,
    /// The counters.
    pub counters: Counters,
    /// The DKIM keys for outbound mail.
    pub signers: auth::Signers,
    /// SPF, DKIM and DMARC checks of inbound mail (when enabled).
    pub authenticator: Option<mail_auth::MessageAuthenticator>,
    connections: Connections,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("hostname", &self.config.hostname)
            .finish_non_exhaustive()
    }
}

impl Shared {
    /// Opens the queue (the spool, or PostgreSQL) and the resolver of `config`.
    pub async fn new(config: Config) -> io::Result<Arc<Shared>> {
        let queue = Queue::open(&config).await?;
        let dns = match &config.delivery.relay {
            Some(_) => None,
            None => Some(Dns::new(config.delivery.dns).map_err(io::Error::other)?),
        };
        let signers = auth::Signers::load(&config.dkim)?;
        let authenticator = match config.verify.enabled {
            true => Some(auth::authenticator(config.delivery.dns)?),
            false => None,
        };
        Ok(Arc::new(Shared {
            signers,
            authenticator,
            config,
            queue,
            dns,
            wake: Notify::new(),
            counters: Counters::default(),
            connections: Connections::default(),
        }))
    }
}

/// The core configuration of a listener role.
fn server_config(config: &Config, role: Role, tls: bool) -> ServerConfig {
    let mut c = ServerConfig::new(config.hostname.clone());
    c.max_message_size = Some(config.max_size);
    c.extensions.starttls = tls;
    if !config.users.is_empty() {
        c.extensions.auth = vec![Mechanism::Plain, Mechanism::Login];
    }
    if role == Role::Submission {
        // RFC 6409 §4.3, RFC 8314: AUTH, under TLS, before MAIL.
        c.require_tls = true;
        c.require_auth = true;
    }
    c
}

/// Runs the MTA until `signal` completes: the listeners of the configuration
/// and the queue runner. The servers shut down gracefully.
pub async fn run(
    shared: Arc<Shared>,
    signal: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let config = &shared.config;
    let tls = match &config.tls {
        Some(t) if t.self_signed => Some(TlsIdentity::self_signed(&config.hostname)?),
        Some(t) => match (&t.cert, &t.key) {
            (Some(cert), Some(key)) => Some(TlsIdentity::from_pem_files(cert, key)?),
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "[tls] needs cert and key, or self_signed = true",
                ));
            }
        },
        None => None,
    };
    let (stop, _) = tokio::sync::broadcast::channel::<()>(1);
    let mut servers = tokio::task::JoinSet::new();
    let roles = [
        (Role::Relay, &config.listen.relay, false),
        (Role::Submission, &config.listen.submission, false),
        (Role::Submission, &config.listen.submissions, true),
    ];
    for (role, addrs, implicit) in roles {
        if addrs.is_empty() {
            continue;
        }
        let mut builder = Server::builder(server_config(config, role, tls.is_some()));
        for addr in addrs {
            builder = if implicit {
                builder.listen_tls(*addr)
            } else {
                builder.listen(*addr)
            };
        }
        if let Some(tls) = &tls {
            builder = builder.tls(tls.clone());
        }
        builder = builder.grace_period(Duration::from_secs(config.shutdown_grace_secs));
        let server = builder.bind().await?;
        for addr in server.local_addrs() {
            info!(%addr, ?role, implicit_tls = implicit, "listening");
        }
        let mut stopped = stop.subscribe();
        let handler = Receiver::new(shared.clone(), role);
        servers.spawn(server.run_until(handler, async move {
            let _ = stopped.recv().await;
        }));
    }
    let runner = tokio::spawn(deliver::run(shared.clone()));
    let counters = {
        let shared = shared.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(60)).await;
                shared.counters.log();
            }
        })
    };
    signal.await;
    info!("shutting down");
    let _ = stop.send(());
    // Our idle client connections hold sessions open on other servers.
    shared.connections.close_all().await;
    while let Some(r) = servers.join_next().await {
        r.map_err(io::Error::other)??;
    }
    runner.abort();
    counters.abort();
    shared.counters.log();
    Ok(())
}
