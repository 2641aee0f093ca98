//! The configuration file (TOML); `examples/mta.toml` documents every key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// This MTA's name: the greeting, EHLO, `Received:` and bounces.
    pub hostname: String,
    /// The spool directory: the queue lives here.
    pub spool: PathBuf,
    /// Domains delivered here; mail for any other domain is relayed only for
    /// authenticated users (never an open relay).
    #[serde(default)]
    pub local_domains: Vec<String>,
    /// Where local mail goes: `<maildirs>/<local part>/` is each user's
    /// Maildir.
    pub maildirs: PathBuf,
    /// Listeners.
    #[serde(default)]
    pub listen: Listen,
    /// The certificate for STARTTLS and implicit TLS.
    #[serde(default)]
    pub tls: Option<Tls>,
    /// Users who may submit mail (AUTH).
    #[serde(default)]
    pub users: Vec<User>,
    /// Outbound delivery.
    #[serde(default)]
    pub delivery: Delivery,
    /// DKIM keys: mail submitted from these domains is signed.
    #[serde(default)]
    pub dkim: Vec<crate::auth::DkimKey>,
    /// SPF, DKIM and DMARC checks of inbound mail.
    #[serde(default)]
    pub verify: crate::auth::Verify,
    /// Where the queue is: the spool directory, or PostgreSQL.
    #[serde(default)]
    pub queue: QueueConfig,
    /// At shutdown, how long sessions in progress may go on before they get
    /// `421` (seconds).
    #[serde(default = "default_grace")]
    pub shutdown_grace_secs: u64,
    /// Largest message accepted, in octets (SIZE, RFC 1870).
    #[serde(default = "default_max_size")]
    pub max_size: u64,
}

fn default_grace() -> u64 {
    30
}

fn default_max_size() -> u64 {
    25 * 1024 * 1024
}

/// The queue's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueConfig {
    /// A PostgreSQL connection string (`host=127.0.0.1 port=5432 user=mta
    /// dbname=mta`): the queue is shared with every node using the same
    /// database, instead of the spool directory.
    #[serde(default)]
    pub postgres: Option<String>,
    /// How long a node's claim on a message lasts, in seconds: a message
    /// whose node died is retried by another after this.
    #[serde(default = "default_claim")]
    pub claim_secs: u64,
}

fn default_claim() -> u64 {
    600
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            postgres: None,
            claim_secs: default_claim(),
        }
    }
}

/// The three kinds of listener.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Listen {
    /// Inbound relay (port 25): mail for the local domains, or from
    /// authenticated users; STARTTLS offered when a certificate is set.
    #[serde(default)]
    pub relay: Vec<SocketAddr>,
    /// Submission (port 587, RFC 6409): STARTTLS and AUTH required before MAIL.
    #[serde(default)]
    pub submission: Vec<SocketAddr>,
    /// Submission over implicit TLS (port 465, RFC 8314): AUTH required.
    #[serde(default)]
    pub submissions: Vec<SocketAddr>,
}

/// A certificate: PEM files, or one made up at start (tests).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tls {
    /// The certificate chain (PEM).
    #[serde(default)]
    pub cert: Option<PathBuf>,
    /// Its private key (PEM).
    #[serde(default)]
    pub key: Option<PathBuf>,
    /// A self-signed certificate for the hostname instead.
    #[serde(default)]
    pub self_signed: bool,
}

/// A user who may authenticate.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    /// The AUTH user name.
    pub name: String,
    /// The password.
    pub password: String,
}

/// How mail leaves.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Delivery {
    /// The SMTP port of MX hosts (25; tests use others).
    #[serde(default = "default_port")]
    pub port: u16,
    /// Smart host: relay everything through this URL
    /// (`smtp://user:pass@smtp.example.com:587?tls=required`) instead of MX.
    #[serde(default)]
    pub relay: Option<String>,
    /// The local address outbound connections come from (the one the
    /// domain's SPF record lists); the system chooses without it.
    #[serde(default)]
    pub source: Option<std::net::IpAddr>,
    /// A name server to ask instead of the system's (`127.0.0.1:5353`).
    #[serde(default)]
    pub dns: Option<SocketAddr>,
    /// The first retry after a temporary failure, in seconds; each next one
    /// waits twice as long.
    #[serde(default = "default_retry_initial")]
    pub retry_initial_secs: u64,
    /// The longest wait between retries, in seconds.
    #[serde(default = "default_retry_max")]
    pub retry_max_secs: u64,
    /// How long a message is retried before it bounces, in seconds (default
    /// 5 days, RFC 5321 §4.5.4.1).
    #[serde(default = "default_max_age")]
    pub max_age_secs: u64,
    /// Deliveries in progress at once.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Seconds between scans of the queue for messages due.
    #[serde(default = "default_scan")]
    pub scan_secs: u64,
}

fn default_port() -> u16 {
    25
}
fn default_retry_initial() -> u64 {
    300
}
fn default_retry_max() -> u64 {
    4 * 3600
}
fn default_max_age() -> u64 {
    5 * 24 * 3600
}
fn default_concurrency() -> usize {
    20
}
fn default_scan() -> u64 {
    5
}

impl Default for Delivery {
    fn default() -> Self {
        Delivery {
            port: default_port(),
            relay: None,
            source: None,
            dns: None,
            retry_initial_secs: default_retry_initial(),
            retry_max_secs: default_retry_max(),
            max_age_secs: default_max_age(),
            concurrency: default_concurrency(),
            scan_secs: default_scan(),
        }
    }
}

impl Delivery {
    /// How long to wait before attempt `attempts + 1`: exponential backoff
    /// from `retry_initial_secs`, at most `retry_max_secs`.
    pub fn backoff(&self, attempts: u32) -> Duration {
        let secs = self
            .retry_initial_secs
            .saturating_mul(1u64 << attempts.saturating_sub(1).min(30));
        Duration::from_secs(secs.min(self.retry_max_secs))
    }
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("{0}: {1}")]
    Read(PathBuf, std::io::Error),
    /// The file is not valid TOML for this configuration.
    #[error("{0}: {1}")]
    Parse(PathBuf, toml::de::Error),
    /// The settings contradict each other.
    #[error("{0}")]
    Invalid(String),
}

impl Config {
    /// Reads and checks a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read(path.into(), e))?;
        Config::parse(&text).map_err(|e| match e {
            ConfigError::Parse(_, e) => ConfigError::Parse(path.into(), e),
            other => other,
        })
    }

    /// Parses and checks a configuration.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let config: Config =
            toml::from_str(text).map_err(|e| ConfigError::Parse(PathBuf::new(), e))?;
        let secure = !config.listen.submission.is_empty() || !config.listen.submissions.is_empty();
        if secure && config.tls.is_none() {
            return Err(ConfigError::Invalid(
                "submission listeners need [tls] (AUTH only under TLS)".into(),
            ));
        }
        Ok(config)
    }

    /// Whether `domain` is delivered here.
    pub fn is_local(&self, domain: &str) -> bool {
        self.local_domains
            .iter()
            .any(|d| d.eq_ignore_ascii_case(domain.trim_end_matches('.')))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example_parses() {
        let text = include_str!("../examples/mta.toml");
        let config = Config::parse(text).unwrap();
        assert_eq!(config.delivery.port, 25);
        assert!(config.is_local("Example.ORG."));
        assert!(!config.is_local("example.net"));
        assert_eq!(config.delivery.max_age_secs, 5 * 24 * 3600);
    }

    #[test]
    fn backoff_doubles_up_to_the_maximum() {
        let d = Delivery {
            retry_initial_secs: 60,
            retry_max_secs: 600,
            ..Delivery::default()
        };
        let waits: Vec<u64> = (1..7).map(|a| d.backoff(a).as_secs()).collect();
        assert_eq!(waits, [60, 120, 240, 480, 600, 600]);
    }

    #[test]
    fn submission_without_tls_is_refused() {
        let text = "hostname = \"h\"\nspool = \"s\"\nmaildirs = \"m\"\n[listen]\nsubmission = [\"127.0.0.1:587\"]\n";
        assert!(matches!(Config::parse(text), Err(ConfigError::Invalid(_))));
    }
}
