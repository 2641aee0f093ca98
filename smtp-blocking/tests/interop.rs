//! The blocking client against real servers we did not write: Postfix's
//! smtpd (STARTTLS with its CA, SMTPUTF8, BDAT) and aiosmtpd (STARTTLS
//! required, AUTH). (The blocking example programs against real peers:
//! `examples.rs`.)
//!
//! The helpers are smtp-tokio's (`#[path]`); a missing peer skips its part
//! with a message unless `SMTP_INTEROP_REQUIRED` is set; Postfix needs root.

#[path = "../../smtp-tokio/tests/common/mod.rs"]
mod common;
#[path = "../../smtp-tokio/tests/common/peers.rs"]
mod peers;

use smtp_adapter::options::ClientOptions;
use smtp_blocking::client::Connection;
use smtp_proto::client::Envelope;

fn session(options: &ClientOptions, envelope: Envelope, message: &[u8]) {
    let mut c = Connection::connect(options).unwrap();
    assert!(c.is_tls());
    let result = c.send(envelope, message).unwrap();
    assert!(result.all_delivered(), "{result:?}");
    c.quit().unwrap();
}

#[test]
fn blocking_client_to_postfix_smtpd_and_aiosmtpd() {
    peers::client_to_postfix(session);
    peers::client_to_aiosmtpd(session);
}
