//! The smtp-async-std client, on smol and on async-std, against real servers
//! we did not write: Postfix's smtpd (STARTTLS with its CA, SMTPUTF8, BDAT)
//! and aiosmtpd (STARTTLS required, AUTH). (The example programs against
//! real peers: `examples.rs`.)
//!
//! The helpers are smtp-tokio's (`#[path]`); a missing peer skips its part
//! with a message unless `SMTP_INTEROP_REQUIRED` is set; Postfix needs root.

#[path = "../../smtp-tokio/tests/common/mod.rs"]
mod common;
#[path = "../../smtp-tokio/tests/common/peers.rs"]
mod peers;

use smtp_async_std::client::Connection;

#[test]
fn async_client_to_postfix_smtpd_and_aiosmtpd_on_both_runtimes() {
    for rt in ["smol", "async-std"] {
        if let Some(postfix) = peers::Postfix::start() {
            block_on(rt, async {
                let mut c = Connection::connect(&peers::postfix_options(&postfix))
                    .await
                    .unwrap();
                assert!(c.is_tls());
                let result = c
                    .send(peers::postfix_envelope(), peers::POSTFIX_MESSAGE)
                    .await
                    .unwrap();
                assert!(result.all_delivered(), "{rt}: {result:?}");
                c.quit().await.unwrap();
            });
            peers::postfix_logged_starttls_smtputf8_bdat(&postfix);
        }
        if let Some(aiosmtpd) = peers::Aiosmtpd::start() {
            block_on(rt, async {
                let mut c = Connection::connect(&peers::aiosmtpd_options(&aiosmtpd))
                    .await
                    .unwrap();
                assert!(c.is_tls());
                let result = c
                    .send(peers::aiosmtpd_envelope(), peers::AIOSMTPD_MESSAGE)
                    .await
                    .unwrap();
                assert!(result.all_delivered(), "{rt}: {result:?}");
                c.quit().await.unwrap();
            });
            peers::aiosmtpd_stored(&aiosmtpd);
        }
    }
}

/// Runs `f` on the runtime named `rt`.
fn block_on(rt: &str, f: impl Future<Output = ()>) {
    match rt {
        "smol" => smol::block_on(f),
        _ => async_std::task::block_on(f),
    }
}
