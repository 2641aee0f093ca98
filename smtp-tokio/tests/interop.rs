//! The library client against aiosmtpd (Python), a server we did not write:
//! STARTTLS required with its CA, AUTH, a wrong password, an untrusted
//! certificate. (The example programs against real peers:
//! `common/example_tests.rs`; against Postfix: `postfix.rs`.)
//!
//! A missing aiosmtpd skips the test with a message, unless
//! `SMTP_INTEROP_REQUIRED` is set (as in CI, where `.ci/run` installs it),
//! which makes it a failure.

mod common;
#[path = "common/peers.rs"]
mod peers;

use smtp_tokio::client::{Connection, Error};
use smtp_tokio::proto::wire::sasl::Credentials;
use smtp_tokio::tls::Trust;

#[test]
fn library_client_to_aiosmtpd_with_starttls_and_auth() {
    let Some(aiosmtpd) = peers::client_to_aiosmtpd(peers::tokio_session) else {
        return;
    };
    let mut options = peers::aiosmtpd_options(&aiosmtpd);
    common::block_on_tokio(async {
        // A wrong password is a session error carrying the 535.
        options.credentials = Some(Credentials::password("user", "nope"));
        let err = Connection::connect(&options).await.unwrap_err();
        assert!(matches!(err, Error::Session(_)), "{err:?}");
        // An untrusted certificate fails the TLS handshake: never plaintext.
        options.trust = Trust::WebPki;
        let err = Connection::connect(&options).await.unwrap_err();
        assert!(matches!(err, Error::Tls(_)), "{err:?}");
    });
}
