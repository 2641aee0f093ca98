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

use smtp_blocking::client::Connection;

#[test]
fn blocking_client_to_postfix_smtpd_and_aiosmtpd() {
    if let Some(postfix) = peers::Postfix::start() {
        let mut c = Connection::connect(&peers::postfix_options(&postfix)).unwrap();
        assert!(c.is_tls());
        let result = c
            .send(peers::postfix_envelope(), peers::POSTFIX_MESSAGE)
            .unwrap();
        assert!(result.all_delivered(), "{result:?}");
        c.quit().unwrap();
        peers::postfix_logged_starttls_smtputf8_bdat(&postfix);
    }
    if let Some(aiosmtpd) = peers::Aiosmtpd::start() {
        let mut c = Connection::connect(&peers::aiosmtpd_options(&aiosmtpd)).unwrap();
        assert!(c.is_tls());
        let result = c
            .send(peers::aiosmtpd_envelope(), peers::AIOSMTPD_MESSAGE)
            .unwrap();
        assert!(result.all_delivered(), "{result:?}");
        c.quit().unwrap();
        peers::aiosmtpd_stored(&aiosmtpd);
    }
}
