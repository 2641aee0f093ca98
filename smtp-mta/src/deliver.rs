//! Delivery: the queue runner. Every message due is delivered recipient by
//! recipient, grouped per destination domain: local domains into each user's
//! Maildir, other domains to their MX hosts (or all to a smart host), one
//! connection per domain, reused for the next message to it. A 2xx delivers,
//! a 4xx or a failed connection is retried with exponential backoff until the
//! message is too old, a 5xx fails the recipient; failed recipients get a
//! bounce (RFC 3464) unless the sender is null.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use smtp_proto::client::{Envelope, TransactionFailure};
use smtp_proto::reply::Reply;
use smtp_proto::wire::path::{ForwardPath, PathOptions};
use smtp_tokio::client::Connection;
use smtp_tokio::client::{ClientOptions, Error, Security};
use smtp_tokio::maildir::{MaildirStore, Trace};
use smtp_tokio::server::Envelope as StoreEnvelope;
use smtp_tokio::tls::Trust;
use tracing::{info, warn};

use crate::Shared;
use crate::bounce;
use crate::dns::Route;
use crate::queue::{Record, Status, now};
use crate::receive::reverse_path;

/// What became of one recipient in one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Delivered (the reply or a note).
    Delivered(String),
    /// Try again later (why).
    Later(String),
    /// Failed for good (why, with an enhanced status code first).
    Failed(String),
}

/// One reply, on one line: `CODE ENHANCED TEXT`.
pub fn reply_line(reply: &Reply) -> String {
    let enhanced = reply.enhanced().map_or(String::new(), |e| format!("{e} "));
    format!(
        "{} {enhanced}{}",
        reply.code(),
        reply.text().replace(['\r', '\n'], " ")
    )
}

fn outcome_of(reply: &Reply) -> Outcome {
    let line = reply_line(reply);
    if reply.code().is_positive_completion() {
        Outcome::Delivered(line)
    } else if reply.code().is_transient_negative() {
        Outcome::Later(line)
    } else {
        Outcome::Failed(line)
    }
}

/// Idle connections per destination, for the next message there.
#[derive(Default)]
pub struct Connections(Mutex<HashMap<String, Vec<Connection>>>);

impl Connections {
    fn take(&self, key: &str) -> Option<Connection> {
        let mut idle = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let list = idle.get_mut(key)?;
        while let Some(c) = list.pop() {
            if c.is_ready() {
                return Some(c);
            }
        }
        None
    }

    /// Says QUIT on every idle connection (at shutdown).
    pub async fn close_all(&self) {
        let all: Vec<Connection> = {
            let mut idle = self.0.lock().unwrap_or_else(|e| e.into_inner());
            idle.drain().flat_map(|(_, list)| list).collect()
        };
        for c in all {
            let _ = c.quit().await;
        }
    }

    fn give(&self, key: &str, c: Connection) {
        if c.is_ready() {
            let mut idle = self.0.lock().unwrap_or_else(|e| e.into_inner());
            let list = idle.entry(key.to_string()).or_default();
            if list.len() < 4 {
                list.push(c);
            }
        }
    }
}

/// Runs the queue until the process ends: scans for messages due every
/// `scan_secs` or when woken (a message was queued, `queue flush`).
pub async fn run(shared: Arc<Shared>) {
    let in_flight: Arc<Mutex<HashSet<String>>> = Arc::default();
    let slots = Arc::new(tokio::sync::Semaphore::new(
        shared.config.delivery.concurrency.max(1),
    ));
    loop {
        let limit = slots.available_permits().max(1);
        let records = match shared.queue.claim_due(&shared.config.hostname, limit).await {
            Ok(r) => r,
            Err(e) => {
                warn!(error = %e, "cannot read the queue");
                Vec::new()
            }
        };
        for record in records {
            if !in_flight
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(record.id.clone())
            {
                continue;
            }
            let Ok(slot) = slots.clone().acquire_owned().await else {
                return;
            };
            let (shared, in_flight) = (shared.clone(), in_flight.clone());
            tokio::spawn(async move {
                let id = record.id.clone();
                attempt(&shared, record).await;
                in_flight
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&id);
                drop(slot);
            });
        }
        let scan = Duration::from_secs(shared.config.delivery.scan_secs.max(1));
        let _ = tokio::time::timeout(scan, shared.wake.notified()).await;
    }
}

/// One delivery attempt of one message; the record is saved (or removed once
/// nothing is left) before it returns.
pub async fn attempt(shared: &Arc<Shared>, mut record: Record) {
    let content = match shared.queue.content(&record.id).await {
        Ok(c) => c,
        Err(e) => {
            warn!(id = %record.id, error = %e, "queued message without content; dropped");
            let _ = shared.queue.remove(&record.id).await;
            return;
        }
    };
    record.attempts += 1;
    // Pending recipients per destination domain, in order.
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in record.pending() {
        let domain = r
            .address
            .rsplit_once('@')
            .map_or("", |(_, d)| d)
            .to_ascii_lowercase();
        groups.entry(domain).or_default().push(r.address.clone());
    }
    let mut outcomes: HashMap<String, Outcome> = HashMap::new();
    for (domain, rcpts) in groups {
        let results = if shared.config.is_local(&domain) {
            deliver_local(shared, &record, &content, &rcpts).await
        } else {
            deliver_remote(shared, &record, &content, &domain, &rcpts).await
        };
        for (rcpt, outcome) in rcpts.iter().zip(results) {
            info!(
                id = %record.id,
                to = %rcpt,
                attempt = record.attempts,
                status = match &outcome {
                    Outcome::Delivered(_) => "delivered",
                    Outcome::Later(_) => "deferred",
                    Outcome::Failed(_) => "bounced",
                },
                detail = match &outcome {
                    Outcome::Delivered(s) | Outcome::Later(s) | Outcome::Failed(s) => s.as_str(),
                },
                "delivery attempt"
            );
            outcomes.insert(rcpt.clone(), outcome);
        }
    }
    let expired = now().saturating_sub(record.created) >= shared.config.delivery.max_age_secs;
    let mut failed = Vec::new();
    for r in &mut record.recipients {
        let Some(outcome) = outcomes.remove(&r.address) else {
            continue;
        };
        r.status = match outcome {
            Outcome::Delivered(reply) => {
                shared.counters.delivered();
                Status::Delivered { reply }
            }
            Outcome::Later(why) if expired => {
                let reply = format!(
                    "4.4.7 message expired after {} attempts: {why}",
                    record.attempts
                );
                failed.push((r.address.clone(), reply.clone()));
                Status::Failed { reply }
            }
            Outcome::Later(why) => {
                shared.counters.deferred();
                Status::Pending { last: Some(why) }
            }
            Outcome::Failed(reply) => {
                failed.push((r.address.clone(), reply.clone()));
                Status::Failed { reply }
            }
        };
    }
    if !failed.is_empty() {
        shared.counters.bounced(failed.len());
        if record.sender.is_empty() {
            info!(id = %record.id, "a bounce failed: not bounced again (null sender)");
        } else if let Err(e) = bounce::queue(shared, &record, &content, &failed).await {
            warn!(id = %record.id, error = %e, "cannot queue the bounce");
        }
    }
    record.next_attempt = now() + shared.config.delivery.backoff(record.attempts).as_secs();
    let saved = if record.is_done() {
        shared.queue.remove(&record.id).await
    } else {
        shared.queue.save(&record).await
    };
    if let Err(e) = saved {
        warn!(id = %record.id, error = %e, "cannot update the queue");
    }
}

/// Into `<maildirs>/<local part>/` for each recipient.
async fn deliver_local(
    shared: &Arc<Shared>,
    record: &Record,
    content: &[u8],
    rcpts: &[String],
) -> Vec<Outcome> {
    let n = rcpts.len();
    let (shared, sender, rcpts, content) = (
        shared.clone(),
        record.sender.clone(),
        rcpts.to_vec(),
        content.to_vec(),
    );
    let task = tokio::task::spawn_blocking(move || {
        rcpts
            .iter()
            .map(|rcpt| store_local(&shared, &sender, rcpt, &content))
            .collect::<Vec<_>>()
    });
    match task.await {
        Ok(outcomes) => outcomes,
        Err(e) => vec![Outcome::Later(format!("4.3.0 local delivery failed: {e}")); n],
    }
}

fn store_local(shared: &Shared, sender: &str, rcpt: &str, content: &[u8]) -> Outcome {
    let local = rcpt
        .rsplit_once('@')
        .map_or(rcpt, |(l, _)| l)
        .to_ascii_lowercase();
    if local.is_empty() || local.starts_with('.') || local.contains(['/', '\\', '\0']) {
        return Outcome::Failed("5.1.3 bad destination mailbox address".into());
    }
    let dir: PathBuf = shared.config.maildirs.join(&local);
    let store = match MaildirStore::new(&dir, &shared.config.hostname) {
        Ok(s) => s,
        Err(e) => return Outcome::Later(format!("4.3.0 mailbox unavailable: {e}")),
    };
    let (Some(sender), Ok(to)) = (
        reverse_path(sender),
        ForwardPath::parse_address(rcpt, &PathOptions::smtputf8()),
    ) else {
        return Outcome::Failed("5.1.3 bad address".into());
    };
    let envelope = StoreEnvelope {
        sender,
        recipients: vec![to.into_owned()],
    };
    let written = store.begin(&envelope, &Trace::default()).and_then(|mut d| {
        d.write(content)?;
        d.commit()
    });
    match written {
        Ok(()) => Outcome::Delivered(format!("delivered to maildir {}", dir.display())),
        Err(e) => Outcome::Later(format!("4.3.0 cannot write the mailbox: {e}")),
    }
}

/// To the smart host, or to the MX hosts of `domain` in order.
async fn deliver_remote(
    shared: &Arc<Shared>,
    record: &Record,
    content: &[u8],
    domain: &str,
    rcpts: &[String],
) -> Vec<Outcome> {
    let all = |o: Outcome| vec![o; rcpts.len()];
    let envelope = match Envelope::parse(
        if record.sender.is_empty() {
            "<>"
        } else {
            &record.sender
        },
        rcpts.iter().map(String::as_str),
    ) {
        Ok(e) => e,
        Err(e) => return all(Outcome::Failed(format!("5.1.3 bad address: {e}"))),
    };
    if let Some(url) = &shared.config.delivery.relay {
        let options = match ClientOptions::from_url(url) {
            Ok(mut o) => {
                o.hello_name = shared.config.hostname.clone();
                o.source_address = shared.config.delivery.source;
                o
            }
            Err(e) => return all(Outcome::Later(format!("4.3.5 bad relay URL: {e}"))),
        };
        return send(shared, "relay", options, envelope, content, rcpts.len()).await;
    }
    let Some(dns) = &shared.dns else {
        return all(Outcome::Later("4.4.3 no resolver".into()));
    };
    let hosts = match dns.route(domain).await {
        Ok(Route::Hosts(hosts)) => hosts,
        Ok(Route::NullMx) => {
            return all(Outcome::Failed(format!(
                "5.1.10 {domain} does not accept mail (null MX, RFC 7505)"
            )));
        }
        Ok(Route::NoSuchDomain) => {
            return all(Outcome::Failed(format!("5.1.2 no such domain: {domain}")));
        }
        Err(e) => return all(Outcome::Later(format!("4.4.3 {e}"))),
    };
    let mut last = Outcome::Later(format!("4.4.4 no address for the MX hosts of {domain}"));
    for host in hosts {
        let addresses = match dns.addresses(&host).await {
            Ok(a) => a,
            Err(e) => {
                last = Outcome::Later(format!("4.4.3 {host}: {e}"));
                continue;
            }
        };
        for ip in addresses {
            let mut options = ClientOptions::new(&ip.to_string(), shared.config.delivery.port);
            options.hello_name = shared.config.hostname.clone();
            // Opportunistic STARTTLS (RFC 3207): MX certificates are not
            // checked (MTA-STS and DANE would make them checkable).
            options.security = Security::StartTlsOpportunistic;
            options.trust = Trust::Insecure;
            options.connect_timeout = Duration::from_secs(30);
            options.source_address = shared.config.delivery.source;
            let key = format!("{domain} {ip}");
            let outcomes = send(
                shared,
                &key,
                options,
                envelope.clone(),
                content,
                rcpts.len(),
            )
            .await;
            // A host that could not be reached: the next one.
            match outcomes.first() {
                Some(Outcome::Later(why)) if why.starts_with("4.4.1") => {
                    last = outcomes[0].clone();
                }
                _ => return outcomes,
            }
        }
    }
    all(last)
}

/// Sends over an idle connection to `key` or a new one; per recipient.
async fn send(
    shared: &Arc<Shared>,
    key: &str,
    options: ClientOptions,
    envelope: Envelope,
    content: &[u8],
    n: usize,
) -> Vec<Outcome> {
    let all = |o: Outcome| vec![o; n];
    let reused = shared.connections.take(key);
    let was_reused = reused.is_some();
    let mut connection = match reused {
        Some(c) => c,
        None => match Connection::connect(&options).await {
            Ok(c) => c,
            Err(e) => return all(connect_failure(&e)),
        },
    };
    let mut result = connection.send(envelope.clone(), content).await;
    if was_reused
        && matches!(
            result,
            Err(Error::Io(_) | Error::Closed | Error::Session(_))
        )
    {
        // The idle connection had gone stale: once more on a new one.
        connection = match Connection::connect(&options).await {
            Ok(c) => c,
            Err(e) => return all(connect_failure(&e)),
        };
        result = connection.send(envelope, content).await;
    }
    let outcomes = match result {
        Ok(r) => r
            .recipients
            .iter()
            .map(|rcpt| outcome_of(rcpt.reply()))
            .collect(),
        Err(Error::Refused(TransactionFailure::NoRecipientAccepted(rcpts))) => {
            rcpts.iter().map(|r| outcome_of(r.reply())).collect()
        }
        Err(Error::Refused(TransactionFailure::MailRefused(reply)))
        | Err(Error::Refused(TransactionFailure::DataRefused { reply, .. })) => {
            all(outcome_of(&reply))
        }
        Err(e) => all(if e.is_transient() {
            Outcome::Later(format!("4.4.2 {e}"))
        } else {
            Outcome::Failed(format!("5.0.0 {e}"))
        }),
    };
    shared.connections.give(key, connection);
    // Which host answered, for the log line of each attempt.
    let relay = format!(" (relay {}:{})", options.host, options.port);
    outcomes
        .into_iter()
        .map(|o| match o {
            Outcome::Delivered(s) => Outcome::Delivered(s + &relay),
            Outcome::Later(s) => Outcome::Later(s + &relay),
            Outcome::Failed(s) => Outcome::Failed(s + &relay),
        })
        .collect()
}

fn connect_failure(e: &Error) -> Outcome {
    match e.reply() {
        // The greeting or EHLO said no.
        Some(reply) => outcome_of(reply),
        None => Outcome::Later(format!("4.4.1 connection failed: {e}")),
    }
}
