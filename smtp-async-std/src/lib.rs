//! futures-io adapter for smtp-proto, for async-std and smol (not yet implemented).
//!
//! This crate is a skeleton: the adapter is built on the `smtp-proto` session state
//! machines, which land first. It re-exports the core so that the dependency is real.
#![forbid(unsafe_code)]

pub use smtp_proto as proto;
