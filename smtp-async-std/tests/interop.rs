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

use smtp_adapter::options::ClientOptions;
use smtp_async_std::client::Connection;
use smtp_proto::client::Envelope;

/// A session of the client on the runtime named `rt` (see
/// [`peers::Session`]).
fn session(rt: &str) -> impl peers::Session {
    move |options: &ClientOptions, envelope: Envelope, message: &[u8]| {
        let run = async {
            let mut c = Connection::connect(options).await.unwrap();
            assert!(c.is_tls(), "{rt}");
            let result = c.send(envelope, message).await.unwrap();
            assert!(result.all_delivered(), "{rt}: {result:?}");
            c.quit().await.unwrap();
        };
        match rt {
            "smol" => smol::block_on(run),
            _ => async_std::task::block_on(run),
        }
    }
}

#[test]
fn async_client_to_postfix_smtpd_and_aiosmtpd_on_both_runtimes() {
    for rt in ["smol", "async-std"] {
        peers::client_to_postfix(session(rt));
        peers::client_to_aiosmtpd(session(rt));
    }
}
