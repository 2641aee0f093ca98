//! The tokio adapter of [`smtp_proto`]: an SMTP/LMTP [`server`] with a
//! [`Handler`](server::Handler) API, a mail-sending [`client`], TLS with
//! rustls (STARTTLS and implicit TLS, [`tls`]) and Maildir delivery
//! ([`maildir`]). The handler API, TLS configuration, client options and the
//! Maildir are `smtp-adapter`'s, shared with the other adapters and
//! re-exported here.
//!
//! The protocol is all in the sans-IO core, re-exported as [`proto`]; the
//! drain loops (ARCHITECTURE.md, "The drain loop") are `smtp-adapter`'s,
//! shared with the other asynchronous adapter. This crate gives them tokio
//! sockets with tokio-rustls and tokio's timers, and owns the listeners,
//! tasks and connection limits: reads feed the session, each batch of output
//! is one write, timers come from the session's deadlines, and a decision of
//! the application may await while pipelined input waits in the session.

#![forbid(unsafe_code)]

pub mod client;
pub mod server;
mod stream;

pub use smtp_adapter::{maildir, tls};
pub use smtp_proto as proto;

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeExamples;
