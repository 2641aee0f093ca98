//! TLS with rustls 0.23 and its *ring* provider: the server's certificate and
//! the client's trust anchors.

use std::io;
use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::{DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};

/// The *ring* provider: pure Rust and assembly, no C toolchain, no
/// aws-lc. rustls 0.23.48 marks it deprecated because it has no post-quantum
/// key exchange; it remains the project's choice until that changes (the
/// classical suites it offers are the ones mail servers speak today).
#[allow(deprecated)]
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn invalid(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

/// The server's certificate chain and key, ready for STARTTLS and implicit TLS.
///
/// ```no_run
/// # fn main() -> std::io::Result<()> {
/// use smtp_adapter::tls::TlsIdentity;
/// let identity = TlsIdentity::from_pem_files("/etc/ssl/mx.pem", "/etc/ssl/mx.key")?;
/// let for_tests = TlsIdentity::self_signed("localhost")?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct TlsIdentity {
    config: Arc<rustls::ServerConfig>,
    certificate_pem: Option<String>,
}

impl std::fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsIdentity").finish_non_exhaustive()
    }
}

impl TlsIdentity {
    /// A PEM file with the certificate chain (leaf first) and one with the
    /// private key (PKCS#8, PKCS#1 or SEC1).
    pub fn from_pem_files(chain: impl AsRef<Path>, key: impl AsRef<Path>) -> io::Result<Self> {
        let certs = CertificateDer::pem_file_iter(chain.as_ref())
            .map_err(invalid)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(invalid)?;
        if certs.is_empty() {
            return Err(invalid("no certificate in the PEM file"));
        }
        let key = PrivateKeyDer::from_pem_file(key.as_ref()).map_err(invalid)?;
        Self::from_der(certs, key, None)
    }

    /// A self-signed certificate for `hostname`, made now (for tests and
    /// development: clients must be told to trust it, see
    /// [`TlsIdentity::certificate_pem`]).
    pub fn self_signed(hostname: &str) -> io::Result<Self> {
        let made =
            rcgen::generate_simple_self_signed(vec![hostname.to_string()]).map_err(invalid)?;
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(made.key_pair.serialize_der()));
        let pem = made.cert.pem();
        Self::from_der(vec![made.cert.der().clone()], key, Some(pem))
    }

    /// A rustls configuration of the application's own (client certificates,
    /// session resumption, another provider, ...).
    pub fn from_config(config: Arc<rustls::ServerConfig>) -> Self {
        TlsIdentity {
            config,
            certificate_pem: None,
        }
    }

    fn from_der(
        certs: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
        certificate_pem: Option<String>,
    ) -> io::Result<Self> {
        let config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(invalid)?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(invalid)?;
        Ok(TlsIdentity {
            config: Arc::new(config),
            certificate_pem,
        })
    }

    /// The certificate in PEM, when it was made by [`TlsIdentity::self_signed`]:
    /// what a client needs as its trust anchor.
    pub fn certificate_pem(&self) -> Option<&str> {
        self.certificate_pem.as_deref()
    }

    /// The rustls configuration, for the adapter's TLS acceptor.
    pub fn server_config(&self) -> Arc<rustls::ServerConfig> {
        self.config.clone()
    }
}

/// What the client trusts to vouch for the server's certificate.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub enum Trust {
    /// The Mozilla root store (webpki-roots), with the host name checked.
    #[default]
    WebPki,
    /// These CA certificates (DER) instead, with the host name checked.
    Certificates(Vec<CertificateDer<'static>>),
    /// Accept any certificate. The connection is encrypted but not
    /// authenticated: an active attacker can read it. For tests, and for
    /// opportunistic relay where nothing better is known (RFC 7435).
    Insecure,
}

impl Trust {
    /// The CA certificates of a PEM file.
    pub fn ca_file(path: impl AsRef<Path>) -> io::Result<Trust> {
        let certs = CertificateDer::pem_file_iter(path.as_ref())
            .map_err(invalid)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(invalid)?;
        if certs.is_empty() {
            return Err(invalid("no certificate in the PEM file"));
        }
        Ok(Trust::Certificates(certs))
    }

    /// The CA certificates of a PEM text.
    pub fn ca_pem(pem: &str) -> io::Result<Trust> {
        let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(invalid)?;
        Ok(Trust::Certificates(certs))
    }

    /// The rustls client configuration for this trust.
    pub fn client_config(&self) -> io::Result<Arc<rustls::ClientConfig>> {
        let builder = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(invalid)?;
        let config = match self {
            Trust::WebPki => {
                let roots = rustls::RootCertStore {
                    roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
                };
                builder.with_root_certificates(roots).with_no_client_auth()
            }
            Trust::Certificates(certs) => {
                let mut roots = rustls::RootCertStore::empty();
                for cert in certs {
                    roots.add(cert.clone()).map_err(invalid)?;
                }
                builder.with_root_certificates(roots).with_no_client_auth()
            }
            Trust::Insecure => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoVerification(
                    provider().signature_verification_algorithms,
                )))
                .with_no_client_auth(),
        };
        Ok(Arc::new(config))
    }
}

/// [`Trust::Insecure`]: the certificate is not checked; the handshake
/// signatures still are (the peer must hold the key it presents).
#[derive(Debug)]
struct NoVerification(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}
