//! Where mail for a domain goes: MX lookup with hickory (RFC 5321 §5.1).

use std::net::{IpAddr, SocketAddr};

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RData;

/// What the DNS says about a destination domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Try these hosts in this order: MX hosts by preference (equal
    /// preferences in random order), or the domain itself when it has no MX
    /// (the implicit MX, RFC 5321 §5.1).
    Hosts(Vec<String>),
    /// The domain publishes a null MX (RFC 7505): it accepts no mail.
    NullMx,
    /// The domain does not exist.
    NoSuchDomain,
}

/// A resolver: the system's, or one name server (tests run their own).
#[derive(Clone)]
pub struct Dns(TokioResolver);

impl std::fmt::Debug for Dns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Dns")
    }
}

/// A DNS failure that may pass (a timeout, SERVFAIL): retry later.
#[derive(Debug, thiserror::Error)]
#[error("DNS lookup failed: {0}")]
pub struct DnsError(String);

/// A resolver configuration that asks only the name server at `addr`,
/// over UDP and TCP (the DNS checks of [`crate::auth`] use it too).
pub fn one_server(addr: SocketAddr) -> ResolverConfig {
    let mut ns = NameServerConfig::udp_and_tcp(addr.ip());
    for c in &mut ns.connections {
        c.port = addr.port();
    }
    ResolverConfig::from_name_servers(vec![ns])
}

impl Dns {
    /// The system's resolver (`/etc/resolv.conf`), or the one name server at
    /// `server` (UDP and TCP).
    pub fn new(server: Option<SocketAddr>) -> Result<Dns, DnsError> {
        let provider = TokioRuntimeProvider::default();
        let builder = match server {
            Some(addr) => TokioResolver::builder_with_config(one_server(addr), provider),
            None => TokioResolver::builder(provider).map_err(|e| DnsError(e.to_string()))?,
        };
        builder
            .build()
            .map(Dns)
            .map_err(|e| DnsError(e.to_string()))
    }

    /// Where mail for `domain` goes (RFC 5321 §5.1, RFC 7505).
    pub async fn route(&self, domain: &str) -> Result<Route, DnsError> {
        let fqdn = format!("{}.", domain.trim_end_matches('.'));
        match self.0.mx_lookup(fqdn.as_str()).await {
            Ok(lookup) => {
                let mut mx: Vec<(u16, String)> = lookup
                    .answers()
                    .iter()
                    .filter_map(|r| match &r.data {
                        RData::MX(mx) => Some((
                            mx.preference,
                            mx.exchange.to_string().trim_end_matches('.').to_string(),
                        )),
                        _ => None,
                    })
                    .collect();
                // RFC 7505 §3: a single MX with an empty exchange (".").
                if mx.len() == 1 && mx[0].1.is_empty() {
                    return Ok(Route::NullMx);
                }
                mx.retain(|(_, host)| !host.is_empty());
                if mx.is_empty() {
                    return Ok(Route::Hosts(vec![domain.to_string()]));
                }
                Ok(Route::Hosts(order(mx, seed())))
            }
            Err(e) if e.is_nx_domain() => Ok(Route::NoSuchDomain),
            // No MX record: the domain itself is the implicit MX.
            Err(e) if e.is_no_records_found() => Ok(Route::Hosts(vec![domain.to_string()])),
            Err(e) => Err(DnsError(e.to_string())),
        }
    }

    /// The addresses of `host` (A and AAAA).
    pub async fn addresses(&self, host: &str) -> Result<Vec<IpAddr>, DnsError> {
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(vec![ip]);
        }
        let fqdn = format!("{}.", host.trim_end_matches('.'));
        match self.0.lookup_ip(fqdn.as_str()).await {
            Ok(ips) => Ok(ips.iter().collect()),
            Err(e) if e.is_nx_domain() || e.is_no_records_found() => Ok(Vec::new()),
            Err(e) => Err(DnsError(e.to_string())),
        }
    }
}

/// MX hosts by preference, lowest first; hosts of equal preference in an
/// order shuffled by `seed` (RFC 5321 §5.1: "randomize them to spread the
/// load"). A host listed twice is kept once, at its best preference.
pub fn order(mut mx: Vec<(u16, String)>, mut seed: u64) -> Vec<String> {
    // Shuffle first (Fisher-Yates with a xorshift), then a stable sort by
    // preference keeps the shuffled order within a preference.
    for i in (1..mx.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        mx.swap(i, (seed % (i as u64 + 1)) as usize);
    }
    mx.sort_by_key(|(preference, _)| *preference);
    let mut hosts: Vec<String> = Vec::new();
    for (_, host) in mx {
        if !hosts.iter().any(|h| h.eq_ignore_ascii_case(&host)) {
            hosts.push(host);
        }
    }
    hosts
}

/// A seed that differs from call to call.
fn seed() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    (nanos ^ COUNTER.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)) | 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preference_order_with_equal_preferences_shuffled() {
        let mx = vec![
            (20, "c".to_string()),
            (10, "a".to_string()),
            (10, "b".to_string()),
            (30, "a".to_string()),
        ];
        let mut firsts = std::collections::HashSet::new();
        for seed in 1..50 {
            let hosts = order(mx.clone(), seed);
            assert_eq!(hosts.len(), 3);
            assert_eq!(hosts[2], "c");
            firsts.insert(hosts[0].clone());
        }
        // Both preference-10 hosts come first sometimes.
        assert_eq!(firsts.len(), 2);
    }
}
