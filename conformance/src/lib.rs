//! The conformance matrix (ARCHITECTURE.md, "Conformance transcripts").
//!
//! This crate has no code of its own: its `conformance` test replays every
//! transcript of `smtp-proto/tests/transcripts/` against every driver (the
//! bare core, smtp-tokio, smtp-async-std on smol and on async-std, and
//! smtp-blocking) over loopback sockets, printing one
//! `CONFORMANCE <kind> <transcript> <driver> <outcome>` line per cell;
//! `cargo xtask conformance` runs it and prints the matrix.
