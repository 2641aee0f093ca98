//! Authentication of mail with the `mail-auth` crate (pure-Rust crypto):
//! DKIM signing of outbound mail (RFC 6376; RSA-SHA256 and Ed25519-SHA256
//! keys from PEM files, one selector per sending domain), and SPF (RFC
//! 7208), DKIM and DMARC (RFC 7489) checks of inbound mail, recorded in an
//! `Authentication-Results` header (RFC 8601), with an optional rejection of
//! DMARC `p=reject` failures.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use mail_auth::common::crypto::{Ed25519Key, RsaKey, Sha256};
use mail_auth::common::headers::HeaderWriter;
use mail_auth::dkim::{DkimSigner, Done};
use mail_auth::dmarc::Policy;
use mail_auth::dmarc::verify::DmarcParameters;
use mail_auth::hickory_resolver::config::ResolverOpts;
use mail_auth::spf::verify::SpfParameters;
use mail_auth::{AuthenticatedMessage, AuthenticationResults, DmarcResult, MessageAuthenticator};
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject;
use serde::Deserialize;

/// One DKIM key of the configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DkimKey {
    /// The signing domain (`d=`): mail whose sender is in it is signed.
    pub domain: String,
    /// The selector (`s=`): the key's record is `<selector>._domainkey.<domain>`.
    pub selector: String,
    /// The private key, PEM (PKCS#1 or PKCS#8 for RSA, PKCS#8 for Ed25519).
    pub key: PathBuf,
    /// `rsa-sha256` (default) or `ed25519-sha256`.
    #[serde(default = "default_algorithm")]
    pub algorithm: String,
}

fn default_algorithm() -> String {
    "rsa-sha256".into()
}

/// The checks of inbound mail.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verify {
    /// Check SPF, DKIM and DMARC on port 25 and add `Authentication-Results`.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Refuse (`550 5.7.1`) a message that fails DMARC when the author
    /// domain's policy is `p=reject`.
    #[serde(default = "yes")]
    pub reject_dmarc: bool,
}

fn yes() -> bool {
    true
}

impl Default for Verify {
    fn default() -> Self {
        Verify {
            enabled: true,
            reject_dmarc: true,
        }
    }
}

enum Signer {
    Rsa(DkimSigner<RsaKey<Sha256>, Done>),
    Ed25519(DkimSigner<Ed25519Key, Done>),
}

/// The headers signed (RFC 6376 §5.4.1: From is required; these are the
/// ones a reader sees and a forger would change).
const SIGNED: [&str; 10] = [
    "From",
    "To",
    "Cc",
    "Subject",
    "Date",
    "Message-ID",
    "Reply-To",
    "In-Reply-To",
    "References",
    "MIME-Version",
];

/// The DKIM keys, by signing domain.
#[derive(Default)]
pub struct Signers(HashMap<String, Signer>);

impl std::fmt::Debug for Signers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

fn bad(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, what)
}

impl Signers {
    /// Loads the keys of the configuration.
    pub fn load(keys: &[DkimKey]) -> io::Result<Signers> {
        let mut signers = HashMap::new();
        for k in keys {
            let pem =
                std::fs::read(&k.key).map_err(|e| bad(format!("{}: {e}", k.key.display())))?;
            let der = PrivateKeyDer::from_pem_slice(&pem)
                .map_err(|e| bad(format!("{}: {e}", k.key.display())))?;
            let key_error = |e: mail_auth::Error| bad(format!("{}: {e}", k.key.display()));
            let signer = match k.algorithm.as_str() {
                "rsa-sha256" => Signer::Rsa(
                    DkimSigner::from_key(RsaKey::<Sha256>::from_key_der(der).map_err(key_error)?)
                        .domain(&k.domain)
                        .selector(&k.selector)
                        .headers(SIGNED),
                ),
                "ed25519-sha256" => {
                    let PrivateKeyDer::Pkcs8(pkcs8) = der else {
                        return Err(bad(format!("{}: not PKCS#8", k.key.display())));
                    };
                    let key =
                        Ed25519Key::from_pkcs8_der(pkcs8.secret_pkcs8_der()).map_err(key_error)?;
                    Signer::Ed25519(
                        DkimSigner::from_key(key)
                            .domain(&k.domain)
                            .selector(&k.selector)
                            .headers(SIGNED),
                    )
                }
                other => return Err(bad(format!("unknown DKIM algorithm {other}"))),
            };
            signers.insert(k.domain.to_ascii_lowercase(), signer);
        }
        Ok(Signers(signers))
    }

    /// The `DKIM-Signature` header for `message` from `domain`, if there is
    /// a key for it.
    pub fn sign(&self, domain: &str, message: &[u8]) -> Option<String> {
        let signature = match self.0.get(&domain.to_ascii_lowercase())? {
            Signer::Rsa(s) => s.sign(message),
            Signer::Ed25519(s) => s.sign(message),
        };
        match signature {
            Ok(s) => Some(s.to_header()),
            Err(e) => {
                tracing::warn!(domain, error = %e, "DKIM signing failed");
                None
            }
        }
    }
}

/// The checks' resolver: the system's, or the one name server at `server`.
pub fn authenticator(server: Option<SocketAddr>) -> io::Result<MessageAuthenticator> {
    match server {
        Some(addr) => {
            MessageAuthenticator::new(crate::dns::one_server(addr), ResolverOpts::default())
        }
        None => MessageAuthenticator::new_system_conf(),
    }
    .map_err(io::Error::other)
}

/// What the checks of one message say.
#[derive(Debug)]
pub struct Verdict {
    /// The `Authentication-Results:` header to add.
    pub header: String,
    /// The message fails DMARC and its domain says `p=reject`.
    pub dmarc_reject: bool,
}

/// Checks SPF (the MAIL FROM identity of `ip` after `helo`), the DKIM
/// signatures and DMARC of `message`.
pub async fn verify(
    auth: &MessageAuthenticator,
    hostname: &str,
    ip: IpAddr,
    helo: &str,
    sender: &str,
    message: &[u8],
) -> Verdict {
    let Some(parsed) = AuthenticatedMessage::parse(message) else {
        return Verdict {
            header: format!("Authentication-Results: {hostname}; none (unparsable message)\r\n"),
            dmarc_reject: false,
        };
    };
    let dkim = auth.verify_dkim(&parsed).await;
    let spf = auth
        .verify_spf(SpfParameters::verify_mail_from(ip, helo, hostname, sender))
        .await;
    let mail_from_domain = sender.rsplit_once('@').map_or(helo, |(_, d)| d);
    let dmarc = auth
        .verify_dmarc(DmarcParameters::new(&parsed, &dkim, mail_from_domain, &spf))
        .await;
    // RFC 7489 §6.6.2: the message passes if either aligned identifier
    // passes; otherwise the author domain's policy applies.
    let passed =
        *dmarc.dkim_result() == DmarcResult::Pass || *dmarc.spf_result() == DmarcResult::Pass;
    let dmarc_reject = !passed && dmarc.policy() == Policy::Reject;
    let header_from = parsed.from.first().map_or("", String::as_str);
    let header = AuthenticationResults::new(hostname)
        .with_dkim_results(&dkim, header_from)
        .with_spf_mailfrom_result(&spf, ip, sender, helo)
        .with_dmarc_result(&dmarc)
        .to_header();
    Verdict {
        header,
        dmarc_reject,
    }
}
