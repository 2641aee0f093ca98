//! The futures-io adapter of [`smtp_proto`], for **smol** and **async-std**:
//! an SMTP/LMTP [`server`] with the same [`Handler`](server::Handler) API as
//! smtp-tokio, a mail-sending [`client`], TLS with rustls through
//! futures-rustls (STARTTLS and implicit TLS, [`tls`]) and Maildir delivery
//! ([`maildir`]).
//!
//! It is written against async-io (sockets and timers) and the futures-io
//! traits, which both runtimes use, and runs the drain loops shared with
//! smtp-tokio (`smtp-adapter`'s `driver`); its tests run it under both.
//! async-std is discontinued upstream in favour of smol: new code should use
//! smol, and async-std users keep working meanwhile.

#![forbid(unsafe_code)]

pub mod client;
pub mod server;
mod stream;

pub use smtp_adapter::{maildir, tls};
pub use smtp_proto as proto;
