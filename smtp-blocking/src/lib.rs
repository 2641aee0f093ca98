//! The blocking `std::net` adapter of [`smtp_proto`], for programs without an
//! async runtime: an SMTP/LMTP [`server`] that serves each connection on one
//! thread of a bounded pool of workers, with a synchronous
//! [`SyncHandler`](server::SyncHandler) API, a mail-sending [`client`], and
//! TLS with rustls (`StreamOwned`; STARTTLS and implicit TLS, [`tls`]). The
//! handler API, TLS configuration, client options and the Maildir are
//! `smtp-adapter`'s, shared with the other adapters and re-exported here.
//!
//! The protocol is all in the sans-IO core, re-exported as [`proto`]; this
//! crate only runs its drain loop (ARCHITECTURE.md, "The drain loop") over
//! blocking sockets: reads feed the session, each batch of output is one
//! write under a write timeout, and the socket's read timeout is set from the
//! session's deadline, so a read that times out is the session's timeout.

#![forbid(unsafe_code)]

pub mod client;
pub mod server;
mod stream;

pub use smtp_adapter::{maildir, tls};
pub use smtp_proto as proto;
