//! What the adapters of [`smtp_proto`] (smtp-tokio, smtp-async-std,
//! smtp-blocking) share, written once: the application-facing
//! [`Handler`](handler::Handler) API and its types, TLS configuration from PEM
//! files or a self-signed certificate ([`tls`]), client options and URLs with
//! the client's error type ([`options`]), Maildir delivery ([`maildir`]), and
//! the example programs' command lines ([`cli`], feature `cli`), and the
//! drain loops of a server and a client connection ([`driver`]), generic over
//! an adapter's transport and timers.
//!
//! Nothing here parses or writes SMTP: that is the core's. Nothing here
//! opens a socket or spawns a task: that is each adapter's.

#![forbid(unsafe_code)]

#[cfg(feature = "cli")]
pub mod cli;
pub mod driver;
pub mod handler;
pub mod maildir;
pub mod options;
pub mod server;
pub mod tls;
mod url;
